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

/// A partition's position: the offset of the next message to read, and
/// the offset to fetch from to read on from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionOffset {
    pub topic: Arc<str>,
    pub partition: i32,
    pub next: i64,
    /// `next` at a record batch's end; inside a batch, the batch's first
    /// offset (its messages before `next` are skipped when read again).
    /// Kafka answers a fetch with the batch holding the offset asked, but
    /// some brokers (tansu) with the batch after it: asked for `next`,
    /// they would skip the rest of its batch.
    pub fetch: i64,
}

impl PartitionOffset {
    /// At a batch boundary: fetched from `next` itself.
    pub fn at(topic: Arc<str>, partition: i32, next: i64) -> Self {
        PartitionOffset {
            topic,
            partition,
            next,
            fetch: next,
        }
    }
}

/// After a message of a chunk: (the chunk's lines up to its end, its
/// partition's index in the mark's offsets, the next offset, the offset
/// to fetch from).
pub type Step = (u32, u32, i64, i64);

/// Where a source stands after a chunk; see the module's text.
#[derive(Debug)]
pub struct Mark {
    offsets: Vec<PartitionOffset>,
    /// Within the chunk, after each message: (lines of the chunk up to
    /// its end, index into `offsets` of its partition, its next offset,
    /// where to fetch from to read on), so that part of a chunk can be
    /// reported ([`Mark::upto`]).
    steps: Vec<Step>,
    /// Where [`Mark::written`] reports (a consumer group's committer);
    /// none when only `--state` keeps the offsets.
    home: Option<Sender<Vec<PartitionOffset>>>,
}

impl Mark {
    /// A mark that reports to `home`, if any.
    pub fn new(offsets: Vec<PartitionOffset>, home: Option<Sender<Vec<PartitionOffset>>>) -> Self {
        Mark {
            offsets,
            steps: Vec::new(),
            home,
        }
    }

    /// The same, knowing where each message of the chunk ends (see
    /// `steps`).
    pub fn with_steps(mut self, steps: Vec<Step>) -> Self {
        self.steps = steps;
        self
    }

    /// A mark for the chunk's first `lines` lines only (`--batch-lines`
    /// closing a batch inside a chunk): the positions after the messages
    /// whose lines all lie within them. `None` when no message does, or
    /// the chunk's steps are unknown.
    pub fn upto(&self, lines: u64) -> Option<Mark> {
        let mut offsets: Vec<PartitionOffset> = Vec::new();
        for &(end, part, next, fetch) in &self.steps {
            if u64::from(end) > lines {
                break;
            }
            let Some(p) = self.offsets.get(part as usize) else {
                continue;
            };
            match offsets
                .iter_mut()
                .find(|o| o.topic == p.topic && o.partition == p.partition)
            {
                Some(o) => (o.next, o.fetch) = (next, fetch),
                None => offsets.push(PartitionOffset {
                    next,
                    fetch,
                    ..p.clone()
                }),
            }
        }
        (!offsets.is_empty()).then(|| Mark::new(offsets, self.home.clone()))
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
        if let Some(h) = &self.home {
            let _ = h.send(self.offsets);
        }
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
        let at = |next| vec![PartitionOffset::at("t".into(), 0, next)];
        Mark::new(at(5), Some(tx.clone())).written();
        drop(Mark::new(at(9), Some(tx.clone())));
        // one without a home reports nowhere
        Mark::new(at(7), None).written();
        drop(tx);
        assert_eq!(rx.iter().collect::<Vec<_>>(), vec![at(5)]);
    }

    #[test]
    fn mark_upto_reports_the_messages_wholly_within() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let p = |partition, next| PartitionOffset::at("t".into(), partition, next);
        // partition 0: messages of 1 and 2 lines (the first inside a
        // batch from offset 10); partition 1: 1 line
        let m = Mark::new(vec![p(0, 12), p(1, 8)], Some(tx.clone())).with_steps(vec![
            (1, 0, 11, 10),
            (2, 1, 8, 8),
            (4, 0, 12, 12),
        ]);
        assert!(m.upto(0).is_none());
        assert!(Mark::new(vec![p(0, 1)], Some(tx.clone())).upto(5).is_none());
        m.upto(1).unwrap().written();
        m.upto(3).unwrap().written();
        m.upto(4).unwrap().written();
        // every sender gone, so that the reports can be read to their end
        drop((m, tx));
        let got: Vec<Vec<(i32, i64, i64)>> = rx
            .iter()
            .map(|v| v.iter().map(|o| (o.partition, o.next, o.fetch)).collect())
            .collect();
        assert_eq!(
            got,
            [
                vec![(0, 11, 10)],
                vec![(0, 11, 10), (1, 8, 8)],
                vec![(0, 12, 12), (1, 8, 8)]
            ]
        );
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
