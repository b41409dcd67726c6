//! Where batches begin and end: processing-time intervals aligned to the
//! epoch, line-count batches, and the whole input as one batch. (Event time
//! and its watermark are handled by the engine with `interval_end`;
//! windows over closed batches live in `window.rs`.)

pub mod window;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::timestamp::Nanos;

/// Wall-clock time now, in nanoseconds since the epoch.
pub fn now() -> Nanos {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub fn nanos(d: Duration) -> Nanos {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// The end of the interval of length `step` that holds `t`: the next
/// multiple of `step` after `t` (intervals are `[k·step, (k+1)·step)`).
pub fn interval_end(t: Nanos, step: Nanos) -> Nanos {
    (t.div_euclid(step) + 1).saturating_mul(step)
}

/// How long from `now` until `deadline`, for a timed wait.
pub fn until(deadline: Nanos, now: Nanos) -> Duration {
    Duration::from_nanos(u64::try_from(deadline.saturating_sub(now)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_interval_end_is_next_multiple() {
        assert_eq!(interval_end(0, 10), 10);
        assert_eq!(interval_end(9, 10), 10);
        assert_eq!(interval_end(10, 10), 20);
        assert_eq!(interval_end(-1, 10), 0);
    }
}
