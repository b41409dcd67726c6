//! `--max-keys`: the bound on the distinct keys one accumulator of
//! `count-by-key` or `stats` holds (one batch, one worker's part of it, one
//! pane, one window), and the tally of what went over it. The first keys in
//! input order keep their rows (which keys those are is decided by input
//! position, [`super::key::KeyTable`]); records with further keys are
//! folded into a single overflow row whose key fields read `(other)`, so
//! memory stays bounded whatever the input, and the overflow is said once
//! on stderr when it first shows and in a summary line at exit.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The default `--max-keys`: about 100 MB of short text keys per
/// accumulator.
pub const DEFAULT_MAX_KEYS: usize = 1_000_000;

pub use crate::accounting::{OTHER, Overflow};

/// The bound and what overflowed it, shared by every accumulator of a run.
#[derive(Debug)]
pub struct KeyLimit {
    /// Distinct keys one accumulator may hold.
    pub max: usize,
    /// Results (batches, windows) written with an overflow row.
    results: AtomicU64,
    /// Records counted in those overflow rows.
    records: AtomicU64,
    warned: AtomicBool,
}

impl Default for KeyLimit {
    fn default() -> Self {
        KeyLimit::new(DEFAULT_MAX_KEYS)
    }
}

impl KeyLimit {
    pub fn new(max: usize) -> Self {
        KeyLimit {
            max: max.max(1),
            results: AtomicU64::new(0),
            records: AtomicU64::new(0),
            warned: AtomicBool::new(false),
        }
    }

    /// An accumulator is emitting a result whose overflow row holds
    /// `records` records (none: nothing to note). The first time, says so
    /// on stderr: a run that loses keys to `(other)` is never silent.
    pub fn note(&self, operator: &str, records: u64) {
        if records == 0 {
            return;
        }
        self.results.fetch_add(1, Ordering::Relaxed);
        self.records.fetch_add(records, Ordering::Relaxed);
        if !self.warned.swap(true, Ordering::Relaxed) {
            eprintln!(
                "spate: warning: {operator}: more than {} distinct keys in one batch or window \
                 (--max-keys); records with further keys are counted in one row keyed {OTHER}",
                self.max
            );
        }
    }

    /// Of the records a result's `(other)` row noted, `records` that an
    /// earlier result already counted (windows overlap, and a running
    /// total holds every earlier one): each record counts once.
    pub fn uncount(&self, records: u64) {
        if records > 0 {
            let _ = self
                .records
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| {
                    Some(r.saturating_sub(records))
                });
        }
    }

    pub fn overflow(&self) -> Overflow {
        Overflow {
            max_keys: self.max as u64,
            results: self.results.load(Ordering::Relaxed),
            records: self.records.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_notes_only_overflowing_results() {
        let l = KeyLimit::new(10);
        l.note("count-by-key", 0);
        assert_eq!(l.overflow().summary(), None);
        l.note("count-by-key", 5);
        l.note("count-by-key", 1);
        assert_eq!(
            l.overflow(),
            Overflow {
                max_keys: 10,
                results: 2,
                records: 6
            }
        );
        assert_eq!(
            l.overflow().summary().as_deref(),
            Some("spate: --max-keys 10: 2 results went over it; 6 records counted under (other)")
        );
    }

    #[test]
    fn limit_is_at_least_one() {
        assert_eq!(KeyLimit::new(0).max, 1);
    }
}
