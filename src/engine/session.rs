//! The close step of `window session GAP`: each closing batch's pieces go
//! into the sessions open per key (`batch/session.rs`), and a session whose
//! end (its last record's time + GAP) is at or before a batch's end is
//! written with the first such batch: the closing batch, or, when the
//! watermark passes the end of a batch that holds no records (event time),
//! that batch, written for its sessions alone; at end of input, every
//! session left, each with the batch its end falls in. A session's rows
//! are its aggregate's with `session_start` and `session_end` after the key
//! columns; sessions written together are in the aggregation's order of
//! rows, then by start, `(other)` last.
//!
//! A line is written once every session that holds its records is: the
//! lines of batches that end by the earliest start of a session not yet
//! written are, the others wait (and count as unemitted if the run stops
//! first).

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::agg::{AggState, Aggregation};
use crate::batch::event::Cap;
use crate::batch::pieces::{Pieces, SessionKey, to_other};
use crate::batch::session::{Session, Sessions};
use crate::batch::{Batching, Grid, Meter, Partial as _, WindowSpec, nanos};
use crate::ops::chain::Chain;
use crate::record::Record;
use crate::state::codec::{self, Decoder, Encoder};
use crate::timestamp::{Nanos, TimeFormat, format_time_in, parse_timestamp};
use crate::value::Value;
use crate::zone::Zone;

use super::parallel::Partial;
use super::{Engine, Stop};

/// Sessions taken out to be written, by the batch they are written with.
type Due = BTreeMap<Nanos, Vec<(SessionKey, Session<Box<dyn AggState>>)>>;

/// The sessions open per key, and where batches end.
pub(super) struct Track {
    sessions: Sessions<SessionKey, Box<dyn AggState>>,
    /// The batches' boundaries: a session is written with the batch that
    /// ends at the first boundary at or after its end.
    grid: Grid,
    /// `--max-keys`: keys with sessions open, `(other)` aside.
    max_keys: usize,
    /// The latest batch written: an empty batch shown later at that time
    /// is not written twice, and in event time `--emit-empty` shows the
    /// batches after it before the next one written.
    shown: Option<Nanos>,
    /// Event time with `--emit-empty`: the batches between those written
    /// (which hold no records and end no session) are written empty here,
    /// at most [`crate::batch::event::MAX_EMPTY_RUN`] in a row.
    fills: bool,
    cap: Cap,
    /// The last boundary the watermark reached: sessions are looked over
    /// again only when it moves on (once a batch), not after every step.
    advanced: Option<Nanos>,
}

impl Track {
    /// The track of a chain with `window session`.
    pub(super) fn new(chain: &Chain, batching: &Batching) -> Option<Track> {
        let Some(WindowSpec::Session { gap }) = chain.window() else {
            return None;
        };
        Some(Track {
            sessions: Sessions::new(nanos(gap)),
            grid: Grid::new(batching.interval().map_or(1, nanos), batching.zone),
            max_keys: chain.keys.max,
            shown: None,
            fills: batching.emit_empty && batching.event_time.is_some(),
            cap: Cap::new("empty batches", "--emit-empty shows"),
            advanced: None,
        })
    }

    /// Writes the open sessions for `--state`.
    pub(super) fn save(&self, e: &mut Encoder) {
        e.opt_i64(self.shown);
        e.opt_i64(self.advanced);
        let open: Vec<_> = self.sessions.open().collect();
        e.usize(open.len());
        for (key, list) in open {
            e.bytes(key.as_bytes());
            e.usize(list.len());
            for s in list {
                e.i64(s.start);
                e.i64(s.last);
                s.partial.save(e);
            }
        }
    }

    /// Reads back what [`Track::save`] wrote (into a track with no session
    /// open).
    pub(super) fn load(&mut self, agg: &dyn Aggregation, d: &mut Decoder<'_>) -> codec::Result<()> {
        self.shown = d.opt_i64()?;
        self.advanced = d.opt_i64()?;
        let keys = d.count()?;
        for _ in 0..keys {
            let key = SessionKey::from_bytes(d.bytes()?);
            let n = d.count()?;
            let mut list = Vec::with_capacity(n);
            for _ in 0..n {
                list.push(Session {
                    start: d.i64()?,
                    last: d.i64()?,
                    partial: agg.load(d)?,
                });
            }
            self.sessions.restore(key, list);
        }
        Ok(())
    }

    /// Takes in a closed batch's pieces; the pieces of a key that is not
    /// open when `--max-keys` keys are go to `(other)`.
    fn add(&mut self, pieces: Pieces) {
        let other = SessionKey::other();
        let mut has_other = self.sessions.has(&other);
        for (key, piece) in pieces.into_pieces() {
            let open = self.sessions.keys() - usize::from(has_other);
            if key.is_other() || open < self.max_keys || self.sessions.has(&key) {
                has_other |= key.is_other();
                self.sessions.add(key, piece);
            } else {
                has_other = true;
                self.sessions.add(other.clone(), to_other(piece));
            }
        }
    }

    /// What `--stats` reports of a batch of no records of its own.
    fn alone_meter(&self) -> Meter {
        Meter {
            records: 0,
            busy: std::time::Duration::ZERO,
            began: std::time::Instant::now(),
            scheduling_delay: None,
            end: None,
            span: std::time::Duration::from_nanos(u64::try_from(self.grid.step()).unwrap_or(0)),
        }
    }

    /// Takes out the sessions that end by `upto` (every one with `None`),
    /// by the end of the batch each is written with.
    fn close(&mut self, upto: Option<Nanos>) -> Due {
        let gap = self.sessions.gap();
        let mut due = Due::new();
        for (k, s) in self.sessions.close(upto) {
            due.entry(self.grid.ceil(s.end(gap)))
                .or_default()
                .push((k, s));
        }
        due
    }
}

impl Engine<'_> {
    /// A batch closed with sessions in the chain: its pieces into the
    /// sessions, then the sessions that end by its end written, those of
    /// earlier batches (with no records) first.
    pub(super) fn sessions_closed(
        &mut self,
        time: Nanos,
        parts: Vec<Partial>,
        meter: Meter,
    ) -> Result<(), Stop> {
        let Some(track) = &mut self.sessions else {
            return Ok(());
        };
        if parts.is_empty() && track.shown.is_some_and(|w| time <= w) {
            // an empty batch shown by --emit-empty, already written
            return Ok(());
        }
        let mut pieces: Option<Pieces> = None;
        for p in parts {
            if let Partial::Sessions(p) = p {
                match &mut pieces {
                    Some(all) => all.absorb(p),
                    None => pieces = Some(p),
                }
            }
        }
        // the sessions that ended before this batch began are closed
        // before its keys come in, so that a key past --max-keys finds the
        // same sessions open whenever the watermark last moved
        let mut due = track.close(Some(track.grid.prev(time)));
        if let Some(mut p) = pieces {
            p.bound();
            track.add(p);
        }
        for (t, list) in track.close(Some(time)) {
            due.entry(t).or_default().extend(list);
        }
        due.entry(time).or_default();
        self.write_due(due, Some((time, meter)))
    }

    /// Time has reached `upto` (the watermark) with no batch closing:
    /// sessions written with the batches that end by then, which hold no
    /// records.
    pub(super) fn sessions_advance(&mut self, upto: Nanos) -> Result<(), Stop> {
        let Some(track) = &mut self.sessions else {
            return Ok(());
        };
        // the last boundary at or before the watermark: a record may still
        // come for the batch that holds the watermark
        let last = track.grid.prev(track.grid.end_of(upto));
        if track.advanced.is_some_and(|a| last <= a) {
            return Ok(());
        }
        track.advanced = Some(last);
        let due = track.close(Some(last));
        self.write_due(due, None)?;
        // --emit-empty: the batches the watermark passed are complete
        match self.sessions.as_ref().map(|t| t.grid.next(last)) {
            Some(after) if after > last => self.sessions_fill(after),
            _ => Ok(()),
        }
    }

    /// Event time with `--emit-empty`: the batches that end after the last
    /// one written and before `upto` are written empty, at most
    /// [`crate::batch::event::MAX_EMPTY_RUN`] in a row (the next one
    /// written says how many more were not).
    fn sessions_fill(&mut self, upto: Nanos) -> Result<(), Stop> {
        loop {
            let Some(track) = &mut self.sessions else {
                return Ok(());
            };
            let Some(shown) = track.shown.filter(|_| track.fills && !self.done) else {
                return Ok(());
            };
            let e = track.grid.next(shown);
            if e >= upto || e <= shown {
                return Ok(());
            }
            if !track.cap.take() {
                // boundaries are a step apart (about one, with --tz)
                track.cap.skip((upto - e) / track.grid.step().max(1));
                track.shown = Some(track.grid.prev(upto).max(shown));
                return Ok(());
            }
            track.shown = Some(e);
            let meter = track.alone_meter();
            let n = self.write(e, None, Vec::new(), None)?;
            self.report(e, n, meter);
        }
    }

    /// End of input: every session left, each with its batch.
    pub(super) fn sessions_finish(&mut self) -> Result<(), Stop> {
        let Some(track) = &mut self.sessions else {
            return Ok(());
        };
        let due = track.close(None);
        self.write_due(due, None)
    }

    /// Writes the sessions taken out, batch by batch in time order; the
    /// batch `closing` (a batch that closed, with what `--stats` measured)
    /// is written even without a session, the others only with one.
    fn write_due(&mut self, due: Due, closing: Option<(Nanos, Meter)>) -> Result<(), Stop> {
        let Some(track) = self.sessions.as_ref().filter(|_| !due.is_empty()) else {
            return Ok(());
        };
        // the earliest start of a session not written after each batch
        let mut rest = vec![track.sessions.earliest_start(); due.len() + 1];
        for (i, list) in due.values().enumerate().rev() {
            let first = list.iter().map(|(_, s)| s.start).min();
            rest[i] = match (rest[i + 1], first) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        let mut meter = closing;
        for (i, (time, list)) in due.into_iter().enumerate() {
            // --emit-empty: the batches before it since the last written
            self.sessions_fill(time)?;
            if self.done {
                break;
            }
            if let Some(track) = &mut self.sessions {
                track.shown = Some(track.shown.map_or(time, |s| s.max(time)));
                if let Some(line) = track.fills.then(|| track.cap.reset(time)).flatten() {
                    self.note(&line);
                }
            }
            let n = self.write_sessions(time, list)?;
            match meter.take() {
                Some((t, m)) if t == time => self.report(time, n, m),
                other => {
                    meter = other;
                    // --stats: a batch of no records of its own
                    if let Some(alone) = self.sessions.as_ref().map(Track::alone_meter) {
                        self.report(time, n, alone);
                    }
                }
            }
            // the lines of batches that end by then are all written
            self.pending
                .written_upto(rest[i + 1].map_or(time, |s| s.min(time)));
        }
        Ok(())
    }

    /// Writes one batch's sessions; returns how many rows were written.
    fn write_sessions(
        &mut self,
        time: Nanos,
        list: Vec<(SessionKey, Session<Box<dyn AggState>>)>,
    ) -> Result<usize, Stop> {
        let (Some(agg), Some(track)) = (self.chain.aggregation(), &self.sessions) else {
            return Ok(0);
        };
        let gap = track.sessions.gap();
        let keys = agg.key_fields().len();
        let mut made: Vec<(bool, Nanos, Nanos, Vec<Record<'static>>)> = list
            .into_iter()
            .map(|(k, s)| {
                let end = s.end(gap);
                (k.is_other(), s.start, end, s.partial.into_rows(false))
            })
            .collect();
        // the aggregation's order of rows, then by start; (other) last
        made.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| match (a.3.first(), b.3.first()) {
                    (Some(x), Some(y)) => agg.row_cmp(x, y),
                    _ => std::cmp::Ordering::Equal,
                })
                .then(a.1.cmp(&b.1))
        });
        let (format, millis, zone) = (self.opts.time_format, self.opts.millis, self.opts.row_zone);
        let mut rows = Vec::with_capacity(made.len());
        for (_, start, end, list) in made {
            for mut row in list {
                let at = keys.min(row.fields.len());
                let times = [
                    (
                        Cow::Borrowed(START),
                        time_value(start, format, millis, zone),
                    ),
                    (Cow::Borrowed(END), time_value(end, format, millis, zone)),
                ];
                row.fields.splice(at..at, times);
                rows.push(row);
            }
        }
        let rows = self.post(rows);
        let own = |r: &Record<'static>| -> Option<(Option<Nanos>, Nanos)> {
            let end = time_back(r.get(END)?, format)?;
            Some((r.get(START).and_then(|v| time_back(v, format)), end))
        };
        self.write(time, None, rows, Some(&own))
    }
}

/// The fields a session's row carries its times in.
const START: &str = "session_start";
const END: &str = "session_end";

/// A time as a row carries it: as the output prints batch times (on
/// `zone`'s wall clock, with its offset, for `pretty` and `spark` under
/// `--tz`), a number where that is a whole number of seconds or
/// milliseconds.
fn time_value(t: Nanos, format: TimeFormat, millis: bool, zone: Option<Zone>) -> Value<'static> {
    match (format, millis) {
        (TimeFormat::Epoch, false) => Value::Int(t.div_euclid(1_000_000_000)),
        (TimeFormat::EpochMs, _) => Value::Int(t.div_euclid(1_000_000)),
        _ => Value::owned_str(format_time_in(t, format, millis, zone)),
    }
}

/// The time a value made by [`time_value`] stands for (as printed: cut to
/// the second or millisecond); `None` for any other value.
fn time_back(v: &Value<'_>, format: TimeFormat) -> Option<Nanos> {
    match (format, v) {
        (TimeFormat::Rfc3339, Value::Str(s)) => parse_timestamp(s),
        (TimeFormat::Epoch, Value::Int(s)) => s.checked_mul(1_000_000_000),
        (TimeFormat::EpochMs, Value::Int(ms)) => ms.checked_mul(1_000_000),
        (TimeFormat::Epoch, Value::Str(s)) => {
            let ms = (s.parse::<f64>().ok()? * 1000.0).round();
            (ms.abs() < 9e15).then(|| ms as i64 * 1_000_000)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::format_time;

    #[test]
    fn session_times_read_back_as_printed() {
        let t = 1_710_072_005_250_000_000;
        for format in [TimeFormat::Rfc3339, TimeFormat::Epoch, TimeFormat::EpochMs] {
            for millis in [false, true] {
                let v = time_value(t, format, millis, None);
                let back = time_back(&v, format).expect("a time value reads back");
                assert_eq!(
                    format_time(back, format, millis),
                    format_time(t, format, millis),
                    "{format:?}, millis {millis}"
                );
            }
        }
        assert_eq!(
            time_value(t, TimeFormat::Rfc3339, false, None).text(),
            "2024-03-10T12:00:05Z"
        );
        assert!(matches!(
            time_value(t, TimeFormat::Epoch, false, None),
            Value::Int(1_710_072_005)
        ));
        assert_eq!(time_back(&Value::str("soon"), TimeFormat::Rfc3339), None);
        assert_eq!(time_back(&Value::Int(3), TimeFormat::Rfc3339), None);
    }
}
