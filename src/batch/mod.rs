//! When batches and windows open and close: processing-time intervals
//! aligned to the epoch (or, with `--tz`, to local midnight: `grid.rs`),
//! line-count batches, the whole input as one batch, and event-time batches
//! under a watermark, behind one [`Batcher`] trait; windows over closed
//! batches live in `window.rs`, sessions in `session.rs` (built from each
//! batch's `pieces.rs`). The engine feeds a batcher what it read and asks
//! it what is due; the partial results of a batch are the engine's (`P`),
//! never looked into here.

pub mod clock;
pub mod event;
pub mod grid;
pub mod pieces;
pub mod session;
pub mod window;

pub use grid::Grid;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::state::codec::{self, Decoder, Encoder};
use crate::timestamp::Nanos;

pub use clock::{EofBatches, LineBatches, TimeBatches};
pub use event::EventBatches;
pub use window::{WindowOut, WindowSpec, Windows};

/// How batches are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchMode {
    /// Processing time: boundaries on multiples of the interval.
    Interval(Duration),
    /// Every N input lines.
    Lines(u64),
    /// The whole input is one batch.
    Eof,
}

/// Where the event time of a record comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTime {
    Auto,
    Field(String),
    /// Each Kafka message's own timestamp (`--event-time kafka`).
    Kafka,
}

/// Batching's part of the plan: how batches are cut and what is shown.
#[derive(Debug, Clone)]
pub struct Batching {
    pub mode: BatchMode,
    pub event_time: Option<EventTime>,
    /// `--lateness`: how far behind the newest timestamp a record may be.
    pub lateness: Duration,
    /// `--emit-empty`: batches (and windows) with no rows are written too.
    pub emit_empty: bool,
    /// `--tz`: where boundaries of an hour or more fall.
    pub zone: Option<crate::zone::Zone>,
    /// `--tz` and `--event-time-format`: how event times are read.
    pub reader: event::Reader,
}

impl Batching {
    /// The interval, when batches are cut by time.
    pub fn interval(&self) -> Option<Duration> {
        match self.mode {
            BatchMode::Interval(d) => Some(d),
            _ => None,
        }
    }

    /// Whether batch times print with milliseconds: for sub-second
    /// intervals and for batches closed by line count or end of input.
    pub fn millis(&self) -> bool {
        match self.mode {
            BatchMode::Interval(d) => d.as_nanos() % 1_000_000_000 != 0,
            BatchMode::Lines(_) | BatchMode::Eof => true,
        }
    }
}

/// What `--stats` measured of a batch by the time it began to close.
#[derive(Debug, Clone)]
pub struct Meter {
    /// Input records: lines read in the batch (event time: records whose
    /// timestamp falls in it).
    pub records: u64,
    /// Wall time spent processing its input.
    pub busy: Duration,
    /// When closing began.
    pub began: std::time::Instant,
    /// From its end on the wall clock to when closing began (processing
    /// time only).
    pub scheduling_delay: Option<Duration>,
    /// Its end on the wall clock, for the total delay (not in event time).
    pub end: Option<Nanos>,
    /// The time its input arrived over, for the rate.
    pub span: Duration,
}

/// A batch's partial result as a batcher keeps it (event time keeps one per
/// open batch): it can take in another of the same batch.
pub trait Partial {
    fn absorb(&mut self, other: Self);
}

/// Where a closing batch's partial results are.
pub enum Held<P> {
    /// The open batch of processing time, line count or eof: the workers
    /// hold its partials.
    Open,
    /// Kept by the batcher (event time).
    Kept(P),
    /// None: an empty batch shown by `--emit-empty`.
    Empty,
}

/// What a batcher says is due, in the order it must be written.
pub enum Due<P> {
    /// A batch closes; its time is `time`.
    Batch {
        time: Nanos,
        held: Held<P>,
        meter: Meter,
    },
    /// Windows that end by this time are complete (the watermark).
    Windows(Nanos),
    /// A line for standard error.
    Note(String),
}

/// When batches open and close. The engine tells it what was read and asks
/// it what is due; it never sees records.
pub trait Batcher<P: Partial>: Send {
    /// The wall-clock instant at which the clock closes the open batch
    /// (processing time).
    fn deadline(&self) -> Option<Nanos> {
        None
    }
    /// Lines the open batch still takes before it closes (line count).
    fn room(&self) -> Option<u64> {
        None
    }
    /// Event time's rules for placing records in batches; `None` when
    /// every record goes into the one open batch.
    fn event(&self) -> Option<event::Rules<'_>> {
        None
    }
    /// A step read `lines` lines into the open batch in `busy` time.
    fn took(&mut self, lines: u64, busy: Duration);
    /// Event time: a step's partials, by batch end, and what it saw.
    fn absorb(&mut self, _step: event::Step<P>) {}
    /// What is due: after a step (`None`), or by the wall clock at `now`
    /// as well.
    fn due(&mut self, now: Option<Nanos>) -> Vec<Due<P>>;
    /// End of input: everything still open, in order.
    fn finish(&mut self, now: Nanos) -> Vec<Due<P>>;
    /// Writes what it keeps for `--state` (the partials it holds through
    /// `part`).
    fn save(&self, e: &mut Encoder, part: &mut dyn FnMut(&P, &mut Encoder));
    /// Reads back what [`Batcher::save`] wrote.
    fn load(
        &mut self,
        d: &mut Decoder<'_>,
        part: &mut dyn FnMut(&mut Decoder<'_>) -> codec::Result<P>,
    ) -> codec::Result<()>;
}

/// The batcher for a run's batching.
pub fn batcher<P: Partial + Send + 'static>(b: &Batching, started: Nanos) -> Box<dyn Batcher<P>> {
    match (&b.event_time, b.mode) {
        (Some(source), BatchMode::Interval(d)) => Box::new(EventBatches::new(
            Grid::new(nanos(d), b.zone),
            nanos(b.lateness),
            source.clone(),
            b.reader.clone(),
            b.emit_empty,
        )),
        (_, BatchMode::Interval(d)) => Box::new(TimeBatches::new(
            Grid::new(nanos(d), b.zone),
            b.emit_empty,
            started,
        )),
        (_, BatchMode::Lines(n)) => Box::new(LineBatches::new(n, started)),
        (_, BatchMode::Eof) => Box::new(EofBatches::new(started)),
    }
}

/// A wall-clock difference as a duration (none when negative).
pub fn span(from: Nanos, to: Nanos) -> Duration {
    Duration::from_nanos(u64::try_from(to.saturating_sub(from)).unwrap_or(0))
}

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
