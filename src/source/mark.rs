//! What a chunk may carry besides its lines, for sources that need the
//! engine to tell them something back or that know more about each line:
//!
//! - a [`Mark`]: where the source stands once the chunk's lines are
//!   consumed (for Kafka, the next offset of each partition the chunk holds
//!   messages of). The engine keeps it until every line of the chunk is in
//!   a written batch, then calls [`Mark::written`]; a chunk whose batch is
//!   never written (the run stopped first) drops its mark unreported.
//!   Marks of one source are reported in the order their chunks came, so
//!   the source may take the latest report as covering all before it.
//! - [`LineTimes`]: each line's own timestamp (Kafka's message
//!   timestamps, for `--event-time kafka`), one per line of the chunk.

use std::sync::Arc;

use crossbeam_channel::Sender;

use crate::timestamp::Nanos;

/// A partition's position: the offset of the next message to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionOffset {
    pub topic: Arc<str>,
    pub partition: i32,
    pub next: i64,
}

/// Where a source stands after a chunk; see the module's text.
#[derive(Debug)]
pub struct Mark {
    offsets: Vec<PartitionOffset>,
    home: Sender<Vec<PartitionOffset>>,
}

impl Mark {
    /// A mark that reports to `home`.
    pub fn new(offsets: Vec<PartitionOffset>, home: Sender<Vec<PartitionOffset>>) -> Self {
        Mark { offsets, home }
    }

    /// The positions reached after the chunk, of the partitions it holds
    /// messages of (others have not moved). `--state` keeps these.
    pub fn offsets(&self) -> &[PartitionOffset] {
        &self.offsets
    }

    /// Every line of the chunk is in a written batch: the source may
    /// commit its position. Never blocks.
    pub fn written(self) {
        // a source that has stopped listening has nothing left to commit
        let _ = self.home.send(self.offsets);
    }
}

/// One timestamp per line of a chunk, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineTimes {
    /// Milliseconds since the epoch; negative for a line without one.
    ms: Vec<i64>,
}

impl LineTimes {
    pub fn with_capacity(n: usize) -> Self {
        LineTimes {
            ms: Vec::with_capacity(n),
        }
    }

    /// `n` more lines stamped `ms` (negative: no timestamp).
    pub fn push(&mut self, ms: i64, n: usize) {
        self.ms.extend(std::iter::repeat_n(ms, n));
    }

    pub fn len(&self) -> usize {
        self.ms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ms.is_empty()
    }

    /// The timestamp of the chunk's line `i` (0-based), if it has one.
    pub fn get(&self, i: u64) -> Option<Nanos> {
        let ms = *self.ms.get(usize::try_from(i).ok()?)?;
        if ms < 0 {
            return None;
        }
        ms.checked_mul(1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_written_reports_its_offsets_and_a_dropped_one_does_not() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let at = |next| {
            vec![PartitionOffset {
                topic: "t".into(),
                partition: 0,
                next,
            }]
        };
        Mark::new(at(5), tx.clone()).written();
        drop(Mark::new(at(9), tx.clone()));
        drop(tx);
        assert_eq!(rx.iter().collect::<Vec<_>>(), vec![at(5)]);
    }

    #[test]
    fn mark_line_times_index_by_line() {
        let mut t = LineTimes::default();
        t.push(1_000, 2);
        t.push(-1, 1);
        t.push(2_000, 1);
        assert_eq!(t.len(), 4);
        assert_eq!(t.get(1), Some(1_000_000_000));
        assert_eq!(t.get(2), None);
        assert_eq!(t.get(3), Some(2_000_000_000));
        assert_eq!(t.get(4), None);
    }
}
