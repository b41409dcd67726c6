//! The batchers with one open batch at a time: processing time (the clock
//! closes it on multiples of the interval since the epoch), line count
//! (every N input lines) and end of input (`-b eof`). The workers hold the
//! open batch's partial results; these only say when it closes, and keep
//! what `--stats` reports of it.

use std::time::{Duration, Instant};

use super::{Batcher, Due, Grid, Held, Meter, Partial, span};
use crate::state::codec::{self, Decoder, Encoder};
use crate::timestamp::Nanos;

/// What is known of the open batch.
#[derive(Debug)]
struct Open {
    /// Lines read into it.
    lines: u64,
    /// When it began taking input (the previous close, or the start).
    since: Nanos,
    /// Wall time spent processing its input.
    busy: Duration,
    /// Whether a batch was closed before it.
    closed_any: bool,
}

impl Open {
    fn new(started: Nanos) -> Self {
        Open {
            lines: 0,
            since: started,
            busy: Duration::ZERO,
            closed_any: false,
        }
    }

    fn took(&mut self, lines: u64, busy: Duration) {
        self.lines += lines;
        self.busy += busy;
    }

    /// Closes it at wall-clock `now`: its time is `time`, its end on the
    /// wall clock `end` (`deadline` when the clock closed it).
    fn close<P>(&mut self, time: Nanos, now: Nanos, deadline: Option<Nanos>) -> Due<P> {
        let began = Instant::now();
        let lines = std::mem::take(&mut self.lines);
        let busy = std::mem::take(&mut self.busy);
        let since = std::mem::replace(&mut self.since, now);
        self.closed_any = true;
        // a batch flushed before its end (end of input, a signal) ended then
        let (end, scheduling_delay) = match deadline {
            Some(d) => {
                let end = d.min(now);
                (end, Some(span(end, now)))
            }
            None => (time, None),
        };
        Due::Batch {
            time,
            held: Held::Open,
            meter: Meter {
                records: lines,
                busy,
                began,
                scheduling_delay,
                end: Some(end),
                span: span(since, end),
            },
        }
    }

    fn save(&self, e: &mut Encoder) {
        e.u64(self.lines);
        e.bool(self.closed_any);
    }

    fn load(&mut self, d: &mut Decoder<'_>) -> codec::Result<()> {
        self.lines = d.u64()?;
        self.closed_any = d.bool()?;
        Ok(())
    }

    /// At end of input: an open batch that saw nothing after an earlier
    /// one is no batch.
    fn is_leftover(&self) -> bool {
        self.lines == 0 && self.closed_any
    }
}

/// Processing time: batches end on multiples of the interval since the
/// epoch (with `--tz`, local boundaries for an hour or more), by the wall
/// clock; a batch's time is its end.
#[derive(Debug)]
pub struct TimeBatches {
    grid: Grid,
    emit_empty: bool,
    end: Nanos,
    open: Open,
}

impl TimeBatches {
    pub fn new(grid: Grid, emit_empty: bool, started: Nanos) -> Self {
        TimeBatches {
            grid,
            emit_empty,
            end: grid.end_of(started),
            open: Open::new(started),
        }
    }
}

impl<P: Partial> Batcher<P> for TimeBatches {
    fn deadline(&self) -> Option<Nanos> {
        Some(self.end)
    }

    fn took(&mut self, lines: u64, busy: Duration) {
        self.open.took(lines, busy);
    }

    fn due(&mut self, now: Option<Nanos>) -> Vec<Due<P>> {
        let mut due = Vec::new();
        let Some(now) = now else {
            return due;
        };
        while now >= self.end {
            due.push(self.open.close(self.end, now, Some(self.end)));
            // skip empty intervals unless they are to be shown
            self.end = if self.emit_empty {
                self.grid.next(self.end)
            } else {
                self.grid.end_of(now).max(self.grid.next(self.end))
            };
        }
        due
    }

    fn finish(&mut self, now: Nanos) -> Vec<Due<P>> {
        if self.open.is_leftover() {
            return Vec::new();
        }
        vec![self.open.close(self.end, now, Some(self.end))]
    }

    fn save(&self, e: &mut Encoder, _part: &mut dyn FnMut(&P, &mut Encoder)) {
        self.open.save(e);
    }

    fn load(
        &mut self,
        d: &mut Decoder<'_>,
        _part: &mut dyn FnMut(&mut Decoder<'_>) -> codec::Result<P>,
    ) -> codec::Result<()> {
        self.open.load(d)
    }
}

/// `--batch-lines N`: a batch closes every N input lines; its time is the
/// wall-clock time at which it closed.
#[derive(Debug)]
pub struct LineBatches {
    lines: u64,
    open: Open,
}

impl LineBatches {
    pub fn new(lines: u64, started: Nanos) -> Self {
        LineBatches {
            lines,
            open: Open::new(started),
        }
    }
}

impl<P: Partial> Batcher<P> for LineBatches {
    fn room(&self) -> Option<u64> {
        Some(self.lines.saturating_sub(self.open.lines))
    }

    fn took(&mut self, lines: u64, busy: Duration) {
        self.open.took(lines, busy);
    }

    fn due(&mut self, _now: Option<Nanos>) -> Vec<Due<P>> {
        if self.open.lines >= self.lines {
            let now = super::now();
            vec![self.open.close(now, now, None)]
        } else {
            Vec::new()
        }
    }

    fn finish(&mut self, now: Nanos) -> Vec<Due<P>> {
        if self.open.is_leftover() {
            return Vec::new();
        }
        vec![self.open.close(now, now, None)]
    }

    fn save(&self, e: &mut Encoder, _part: &mut dyn FnMut(&P, &mut Encoder)) {
        self.open.save(e);
    }

    fn load(
        &mut self,
        d: &mut Decoder<'_>,
        _part: &mut dyn FnMut(&mut Decoder<'_>) -> codec::Result<P>,
    ) -> codec::Result<()> {
        self.open.load(d)
    }
}

/// `-b eof`: the whole input is one batch, closed at end of input.
#[derive(Debug)]
pub struct EofBatches {
    open: Open,
}

impl EofBatches {
    pub fn new(started: Nanos) -> Self {
        EofBatches {
            open: Open::new(started),
        }
    }
}

impl<P: Partial> Batcher<P> for EofBatches {
    fn took(&mut self, lines: u64, busy: Duration) {
        self.open.took(lines, busy);
    }

    fn due(&mut self, _now: Option<Nanos>) -> Vec<Due<P>> {
        Vec::new()
    }

    fn finish(&mut self, now: Nanos) -> Vec<Due<P>> {
        vec![self.open.close(now, now, None)]
    }

    fn save(&self, e: &mut Encoder, _part: &mut dyn FnMut(&P, &mut Encoder)) {
        self.open.save(e);
    }

    fn load(
        &mut self,
        d: &mut Decoder<'_>,
        _part: &mut dyn FnMut(&mut Decoder<'_>) -> codec::Result<P>,
    ) -> codec::Result<()> {
        self.open.load(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct P;
    impl Partial for P {
        fn absorb(&mut self, _: P) {}
    }

    fn times(due: &[Due<P>]) -> Vec<Nanos> {
        due.iter()
            .filter_map(|d| match d {
                Due::Batch { time, .. } => Some(*time),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn batch_time_closes_on_interval_multiples() {
        let mut b = TimeBatches::new(Grid::new(10, None), false, 3);
        assert_eq!(Batcher::<P>::deadline(&b), Some(10));
        Batcher::<P>::took(&mut b, 5, Duration::ZERO);
        assert!(times(&Batcher::<P>::due(&mut b, Some(9))).is_empty());
        assert_eq!(times(&Batcher::<P>::due(&mut b, Some(10))), [10]);
        // a stall past several ends closes one and skips the empty ones
        assert_eq!(times(&Batcher::<P>::due(&mut b, Some(45))), [20]);
        assert_eq!(Batcher::<P>::deadline(&b), Some(50));
    }

    #[test]
    fn batch_time_with_emit_empty_closes_every_interval() {
        let mut b = TimeBatches::new(Grid::new(10, None), true, 3);
        assert_eq!(times(&Batcher::<P>::due(&mut b, Some(35))), [10, 20, 30]);
    }

    #[test]
    fn batch_lines_close_when_full_and_leftover_is_no_batch() {
        let mut b = LineBatches::new(3, 0);
        assert_eq!(Batcher::<P>::room(&b), Some(3));
        Batcher::<P>::took(&mut b, 3, Duration::ZERO);
        assert_eq!(Batcher::<P>::room(&b), Some(0));
        assert_eq!(times(&Batcher::<P>::due(&mut b, None)).len(), 1);
        assert!(times(&Batcher::<P>::finish(&mut b, 8)).is_empty());
    }

    #[test]
    fn batch_eof_always_closes_its_one_batch() {
        let mut b = EofBatches::new(0);
        assert!(times(&Batcher::<P>::due(&mut b, Some(5))).is_empty());
        assert_eq!(times(&Batcher::<P>::finish(&mut b, 9)), [9]);
    }
}
