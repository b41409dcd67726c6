//! Event time: batches are the intervals `[k·B, (k+1)·B)` of the records'
//! own timestamps. The watermark is the newest timestamp seen minus the
//! lateness; a batch is due once the watermark reaches its end, batches are
//! written in time order, and a record whose batch is already written is
//! late. The engine places records by [`Rules`] (in parallel, each part of
//! a chunk into its own partials) and hands each step's partials here.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{Batcher, Due, EventTime, Grid, Held, Meter, Partial, span};
use std::sync::Arc;

use crate::state::codec::{self, Decoder, Encoder};
use crate::strftime::Strftime;
use crate::timestamp::{Nanos, TimeFormat, find_timestamp_in, format_time, parse_timestamp_in};
use crate::zone::Zone;

/// `--emit-empty` in event time: the most empty batches shown in a row
/// (a gap of 40 years at `-b 1s` would otherwise print a billion).
pub const MAX_EMPTY_RUN: i64 = 10_000;

/// The cap of [`MAX_EMPTY_RUN`] for what is shown in a row with nothing
/// new in it (empty batches and windows with `--emit-empty`, `window
/// all`'s rows that only repeat the totals): how
/// many were shown since the last with something new, and how many were
/// not since the cap was reached.
#[derive(Debug, Clone, Copy)]
pub struct Cap {
    run: i64,
    skipped: i64,
    /// What is not shown ("empty batches"), and the rule that says so.
    what: &'static str,
    rule: &'static str,
}

impl Cap {
    pub fn new(what: &'static str, rule: &'static str) -> Cap {
        Cap {
            run: 0,
            skipped: 0,
            what,
            rule,
        }
    }

    /// Whether one more in a row is shown (counted when it is).
    pub fn take(&mut self) -> bool {
        let room = self.run < MAX_EMPTY_RUN;
        if room {
            self.run += 1;
        }
        room
    }

    /// `n` more in a row are not shown.
    pub fn skip(&mut self, n: i64) {
        self.skipped = self.skipped.saturating_add(n.max(0));
    }

    /// One with something new is shown at `at`: the run ends; the line for
    /// standard error when some before it were not shown.
    pub fn reset(&mut self, at: Nanos) -> Option<String> {
        self.run = 0;
        let n = std::mem::take(&mut self.skipped);
        (n > 0).then(|| {
            format!(
                "spate: event time jumped to {}: {n} {} before it not shown ({} at most {MAX_EMPTY_RUN} in a row)",
                format_time(at, TimeFormat::Rfc3339, false),
                self.what,
                self.rule
            )
        })
    }
}

/// How a run reads event timestamps: the `--tz` zone for times written
/// without an offset and, with `--event-time-format`, the format a field's
/// text must fit (instead of the built-in formats).
#[derive(Clone, Debug, Default)]
pub struct Reader {
    zone: Option<Zone>,
    format: Option<Arc<Strftime>>,
}

impl Reader {
    pub fn new(zone: Option<Zone>, format: Option<Arc<Strftime>>) -> Reader {
        Reader { zone, format }
    }

    /// `--event-time-format`'s text, when one is given.
    pub fn format(&self) -> Option<&str> {
        self.format.as_deref().map(Strftime::text)
    }

    /// `--event-time auto` on a raw line.
    pub fn find(&self, line: &str) -> Option<Nanos> {
        find_timestamp_in(line, self.zone)
    }

    /// `--event-time FIELD` on a field's text: the whole text in the
    /// format, or in one of the built-in formats.
    pub fn parse(&self, text: &str) -> Option<Nanos> {
        match &self.format {
            Some(f) => f.parse(text, self.zone),
            None => parse_timestamp_in(text, self.zone),
        }
    }
}

/// How records are placed: what a parallel step needs to know.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub grid: Grid,
    pub lateness: Nanos,
    pub source: &'a EventTime,
    /// `--tz` and `--event-time-format`.
    pub reader: &'a Reader,
    /// The newest timestamp seen before this step.
    pub max_ts: Option<Nanos>,
    /// The end of the last batch written: past the watermark only once
    /// the end of input wrote every batch (`--state` going on from a
    /// finished state).
    pub written: Option<Nanos>,
}

impl Rules<'_> {
    /// The end of the batch that holds time `ts`.
    pub fn end_of(&self, ts: Nanos) -> Nanos {
        self.grid.end_of(ts)
    }

    /// Whether a batch ending at `end` was already written when the newest
    /// timestamp seen was `max_ts`.
    pub fn is_late(&self, end: Nanos, max_ts: Option<Nanos>) -> bool {
        max_ts.is_some_and(|m| end <= m.saturating_sub(self.lateness))
            || self.written.is_some_and(|w| end <= w)
    }
}

/// What one step (the parts of a chunk, in order) made.
pub struct Step<P> {
    /// Partials by batch end, in input order (several per end when several
    /// parts fed the same batch).
    pub batches: Vec<(Nanos, P)>,
    /// `--stats`: records accepted, by batch end.
    pub counted: BTreeMap<Nanos, u64>,
    /// The newest timestamp seen after the step.
    pub max_ts: Option<Nanos>,
}

pub struct EventBatches<P> {
    grid: Grid,
    lateness: Nanos,
    source: EventTime,
    reader: Reader,
    emit_empty: bool,
    /// The newest timestamp seen.
    max_ts: Option<Nanos>,
    open: BTreeMap<Nanos, P>,
    /// The end of the last batch written.
    last_emitted: Option<Nanos>,
    /// `--stats`: records of the step being processed, by batch end.
    fresh: BTreeMap<Nanos, u64>,
    /// `--stats`: records and processing time of the open batches.
    meter: BTreeMap<Nanos, (u64, Duration)>,
}

impl<P> EventBatches<P> {
    pub fn new(
        grid: Grid,
        lateness: Nanos,
        source: EventTime,
        reader: Reader,
        emit_empty: bool,
    ) -> Self {
        EventBatches {
            grid,
            lateness,
            source,
            reader,
            emit_empty,
            max_ts: None,
            open: BTreeMap::new(),
            last_emitted: None,
            fresh: BTreeMap::new(),
            meter: BTreeMap::new(),
        }
    }

    fn watermark(&self) -> Option<Nanos> {
        self.max_ts.map(|m| m.saturating_sub(self.lateness))
    }

    /// Batches ending by `wm` (all of them with `None`), in time order,
    /// with the empty ones between them when `--emit-empty` shows those.
    fn emit(&mut self, wm: Option<Nanos>) -> Vec<Due<P>> {
        let mut due = Vec::new();
        let grid = self.grid;
        let meter = |end: Nanos, records, busy| Meter {
            records,
            busy,
            began: Instant::now(),
            scheduling_delay: None,
            end: None,
            span: span(grid.prev(end), end),
        };
        while let Some((&end, _)) = self.open.first_key_value() {
            if wm.is_some_and(|w| end > w) {
                break;
            }
            let partial = self.open.remove(&end);
            let gap_from = self.last_emitted.map(|l| grid.next(l));
            self.last_emitted = Some(end);
            let (records, busy) = self.meter.remove(&end).unwrap_or_default();
            if let (true, Some(mut e)) = (self.emit_empty, gap_from) {
                // event time may leap (a bad clock, a years-old line): not
                // billions of empty batches
                let mut cap = Cap::new("empty batches", "--emit-empty shows");
                while e < end {
                    if !cap.take() {
                        cap.skip((end - e) / grid.step());
                        break;
                    }
                    due.push(Due::Batch {
                        time: e,
                        held: Held::Empty,
                        meter: meter(e, 0, Duration::ZERO),
                    });
                    e = grid.next(e);
                }
                if let Some(line) = cap.reset(end) {
                    due.push(Due::Note(line));
                }
            }
            due.push(Due::Batch {
                time: end,
                held: partial.map_or(Held::Empty, Held::Kept),
                meter: meter(end, records, busy),
            });
        }
        due
    }
}

impl<P: Partial + Send> Batcher<P> for EventBatches<P> {
    fn event(&self) -> Option<Rules<'_>> {
        Some(Rules {
            grid: self.grid,
            lateness: self.lateness,
            source: &self.source,
            reader: &self.reader,
            max_ts: self.max_ts,
            written: self.last_emitted,
        })
    }

    /// `--stats`: a step's processing time is shared among the batches its
    /// records went to, by record count.
    fn took(&mut self, _lines: u64, busy: Duration) {
        let total: u64 = self.fresh.values().sum();
        for (end, n) in std::mem::take(&mut self.fresh) {
            let m = self.meter.entry(end).or_default();
            m.0 += n;
            m.1 += busy.mul_f64(n as f64 / total as f64);
        }
    }

    fn absorb(&mut self, step: Step<P>) {
        self.max_ts = step.max_ts;
        for (end, n) in step.counted {
            *self.fresh.entry(end).or_default() += n;
        }
        for (end, p) in step.batches {
            match self.open.get_mut(&end) {
                Some(open) => open.absorb(p),
                None => {
                    self.open.insert(end, p);
                }
            }
        }
    }

    fn due(&mut self, _now: Option<Nanos>) -> Vec<Due<P>> {
        let Some(wm) = self.watermark() else {
            return Vec::new();
        };
        let mut due = self.emit(Some(wm));
        // windows that end by the watermark are complete too
        due.push(Due::Windows(wm));
        due
    }

    fn finish(&mut self, _now: Nanos) -> Vec<Due<P>> {
        self.emit(None)
    }

    fn save(&self, e: &mut Encoder, part: &mut dyn FnMut(&P, &mut Encoder)) {
        e.opt_i64(self.max_ts);
        e.opt_i64(self.last_emitted);
        e.usize(self.open.len());
        for (end, p) in &self.open {
            e.i64(*end);
            part(p, e);
        }
    }

    fn load(
        &mut self,
        d: &mut Decoder<'_>,
        part: &mut dyn FnMut(&mut Decoder<'_>) -> codec::Result<P>,
    ) -> codec::Result<()> {
        self.max_ts = d.opt_i64()?;
        self.last_emitted = d.opt_i64()?;
        let n = d.count()?;
        self.open.clear();
        for _ in 0..n {
            let end = d.i64()?;
            let p = part(d)?;
            self.open.insert(end, p);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct P(u64);
    impl Partial for P {
        fn absorb(&mut self, o: P) {
            self.0 += o.0;
        }
    }

    fn batches(due: Vec<Due<P>>) -> Vec<(Nanos, u64)> {
        due.into_iter()
            .filter_map(|d| match d {
                Due::Batch { time, held, .. } => Some((
                    time,
                    match held {
                        Held::Kept(p) => p.0,
                        _ => 0,
                    },
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn reader_uses_the_format_for_fields_and_builtins_for_lines() {
        let paris = Zone::parse("Europe/Paris").ok();
        let f = Strftime::compile("%d.%m.%Y %H:%M:%S").ok().map(Arc::new);
        let r = Reader::new(paris, f);
        let t0 = 1_710_072_000 * 1_000_000_000;
        assert_eq!(r.parse("10.03.2024 13:00:00"), Some(t0));
        assert_eq!(r.parse("2024-03-10T12:00:00Z"), None, "must fit the format");
        assert_eq!(r.format(), Some("%d.%m.%Y %H:%M:%S"));
        assert_eq!(r.find("at 2024-03-10T13:00:00 ok"), Some(t0));
        let plain = Reader::default();
        assert_eq!(plain.parse("2024-03-10T12:00:00"), Some(t0));
        assert_eq!(plain.format(), None);
    }

    #[test]
    fn batch_event_due_once_the_watermark_passes_in_order() {
        let mut b = EventBatches::new(
            Grid::new(10, None),
            5,
            EventTime::Auto,
            Reader::default(),
            false,
        );
        let rules = Batcher::<P>::event(&b).map(|r| (r.end_of(12), r.is_late(10, Some(14))));
        assert_eq!(rules, Some((20, false)));
        b.absorb(Step {
            batches: vec![(20, P(1)), (10, P(2)), (20, P(3))],
            counted: BTreeMap::new(),
            max_ts: Some(22),
        });
        // watermark 17: nothing ends by then but the batch ending at 10
        assert_eq!(batches(b.due(None)), [(10, 2)]);
        assert_eq!(batches(b.finish(0)), [(20, 4)]);
    }

    #[test]
    fn batch_event_emit_empty_fills_gaps() {
        let mut b = EventBatches::new(
            Grid::new(10, None),
            0,
            EventTime::Auto,
            Reader::default(),
            true,
        );
        b.absorb(Step {
            batches: vec![(10, P(1)), (40, P(1))],
            counted: BTreeMap::new(),
            max_ts: Some(35),
        });
        assert_eq!(batches(b.due(None)), [(10, 1)]);
        assert_eq!(batches(b.finish(0)), [(20, 0), (30, 0), (40, 1)]);
    }
}
