//! Where batches begin and end: processing-time intervals aligned to the
//! epoch (or, with `--tz`, to local midnight: `grid.rs`), line-count
//! batches, and the whole input as one batch. (Event time and its
//! watermark are handled by the engine with a [`Grid`]; windows over closed
//! batches live in `window.rs`.)

pub mod grid;
pub mod window;

pub use grid::Grid;

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

/// [`interval_end`] counted in `zone` (see [`Grid`]): the end of the
/// interval of length `step` that holds `t`; an interval of an hour or more
/// falls on local multiples from local midnight.
pub fn zoned_interval_end(t: Nanos, step: Nanos, zone: Option<crate::zone::Zone>) -> Nanos {
    Grid::new(step, zone).end_of(t)
}

/// The boundary after boundary `e` of intervals of length `step` counted
/// in `zone` (`e + step` on the epoch; 23 or 25 hours for a local day
/// across a DST change).
pub fn next_boundary(e: Nanos, step: Nanos, zone: Option<crate::zone::Zone>) -> Nanos {
    Grid::new(step, zone).next(e)
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

    #[test]
    fn batch_zoned_functions_follow_local_midnight() {
        let paris = crate::zone::Zone::parse("Europe/Paris").ok();
        let day = 86_400 * 1_000_000_000;
        // 2024-03-31T12:00:00Z: in the local day that ends at 22:00Z
        let t = 1_711_886_400 * 1_000_000_000;
        let end = zoned_interval_end(t, day, paris);
        assert_eq!(end, 1_711_922_400 * 1_000_000_000);
        assert_eq!(next_boundary(end, day, paris) - end, day);
        assert_eq!(zoned_interval_end(t, day, None), interval_end(t, day));
        assert_eq!(next_boundary(end, day, None), end + day);
    }
}
