//! Windows over closed batches. Each closed batch's partial aggregate (a
//! pane) is kept once, keyed by the batch's end, and combined into every
//! window that covers it; panes older than the longest reach are evicted,
//! so memory grows with keys × panes, never with records. `window all`
//! keeps one running total instead.
//!
//! Windows end on the slide's boundaries ([`Grid`]: epoch multiples, or
//! with `--tz` local ones for slides of an hour or more). A window's start
//! is LENGTH/SLIDE slide boundaries before its end when the slide divides
//! LENGTH (so with `--tz`, `window 1d --slide 1d` is a local day, 23 or 25
//! hours across a DST change, and every record is still in exactly
//! LENGTH/SLIDE windows), else LENGTH/B batch boundaries before it.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use crate::agg::{AggState, Aggregation};
use crate::batch::Grid;
use crate::batch::event::Cap;
use crate::record::Record;
use crate::state::codec::{self, Decoder, Encoder};
use crate::timestamp::Nanos;
use crate::zone::Zone;

/// `window LENGTH [--slide SLIDE]`, `window all` or `window session GAP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSpec {
    All,
    Sliding {
        length: Duration,
        slide: Duration,
    },
    /// Sessions per key (`session.rs`); the engine keeps them, not
    /// [`Windows`].
    Session {
        gap: Duration,
    },
}

/// One window ready to print.
pub struct WindowOut {
    /// `None` for running totals (`window all`).
    pub start: Option<Nanos>,
    pub end: Nanos,
    pub rows: Vec<Record<'static>>,
    /// A line for standard error before it: how many were not shown
    /// before it (see [`Cap`]).
    pub note: Option<String>,
    /// `--max-keys`' tally: records of its `(other)` row that an earlier
    /// window already counted (each record is counted once, the first
    /// time it goes to `(other)`, whatever the windows it is in).
    pub counted_before: u64,
}

pub struct Windows {
    spec: WindowSpec,
    /// The slide's boundaries, where windows end.
    slide: Grid,
    /// The batches' boundaries (for a LENGTH the slide does not divide).
    batch: Grid,
    panes: BTreeMap<Nanos, Box<dyn AggState>>,
    total: Option<Box<dyn AggState>>,
    /// The end of the next window to emit (`window all`: the next batch
    /// boundary whose totals are not written, in event time).
    next_end: Option<Nanos>,
    /// Event time: `window all` writes its totals at every batch boundary
    /// the watermark passes, not only where a batch got records (the clock
    /// closes every batch of processing time).
    fills: bool,
    /// The most shown in a row with nothing new: empty windows
    /// (`--emit-empty`), totals that only repeat (`window all`).
    cap: Cap,
    /// `--max-keys`' tally, per pane: whether its own `(other)` records
    /// were counted, and its keys whose records a window counted under
    /// `(other)`.
    counted: BTreeMap<Nanos, (bool, HashSet<Vec<u8>>)>,
    /// `window all`: the running total's `(other)` records counted.
    total_counted: u64,
}

impl Windows {
    /// Windows on the epoch (no `--tz`).
    pub fn new(spec: WindowSpec) -> Self {
        let step = match spec {
            WindowSpec::All | WindowSpec::Session { .. } => 1,
            WindowSpec::Sliding { slide, .. } => crate::batch::nanos(slide),
        };
        Windows {
            spec,
            slide: Grid::new(step, None),
            batch: Grid::new(step, None),
            panes: BTreeMap::new(),
            total: None,
            next_end: None,
            fills: false,
            cap: match spec {
                WindowSpec::All => Cap::new("batches", "window all repeats its totals"),
                _ => Cap::new("empty windows", "--emit-empty shows"),
            },
            counted: BTreeMap::new(),
            total_counted: 0,
        }
    }

    /// Event time: `window all` writes its totals at every batch boundary
    /// that the watermark passes.
    pub fn event_time(mut self, event: bool) -> Self {
        self.fills = event;
        self
    }

    /// Slides (and batches of `batch` nanoseconds) counted in `zone`.
    pub fn in_zone(mut self, batch: Nanos, zone: Option<Zone>) -> Self {
        self.slide = Grid::new(self.slide.step(), zone);
        self.batch = Grid::new(batch, zone);
        self
    }

    /// The start of the window that ends at `e`.
    fn start_of(&self, e: Nanos, length: Nanos) -> Nanos {
        let slide = self.slide.step();
        if length % slide == 0 {
            self.slide.back(e, length / slide)
        } else {
            self.batch.back(e, length / self.batch.step())
        }
    }

    fn length_slide(&self) -> Option<(Nanos, Nanos)> {
        match self.spec {
            WindowSpec::All | WindowSpec::Session { .. } => None,
            WindowSpec::Sliding { length, slide } => {
                Some((crate::batch::nanos(length), crate::batch::nanos(slide)))
            }
        }
    }

    /// The batch ending at `end` closed with `state`; returns the windows
    /// that are complete now, in time order.
    pub fn close_batch(
        &mut self,
        agg: &dyn Aggregation,
        end: Nanos,
        state: Box<dyn AggState>,
        emit_empty: bool,
    ) -> Vec<WindowOut> {
        let Some((length, _)) = self.length_slide() else {
            if self.fills && self.next_end.is_some_and(|n| end < n) {
                // written already as the watermark passed it (so it got
                // no records)
                self.total
                    .get_or_insert_with(|| agg.new_state())
                    .merge(state.as_ref());
                return Vec::new();
            }
            // event time: the batches since the last written, which got
            // no records, repeat the totals
            let mut out = Vec::new();
            if self.fills {
                out = self.repeat_totals(self.batch.prev(end), emit_empty);
                self.next_end = Some(self.batch.next(end).max(end));
            }
            let total = self.total.get_or_insert_with(|| agg.new_state());
            total.merge(state.as_ref());
            if total.is_empty() && !emit_empty {
                return out;
            }
            let counted_before = Self::total_tally(total.as_ref(), &mut self.total_counted);
            out.push(WindowOut {
                start: None,
                end,
                rows: total.emit(emit_empty),
                note: self.cap.reset(end),
                counted_before,
            });
            return out;
        };
        if !state.is_empty() {
            self.panes.insert(end, state);
        }
        if self.next_end.is_none() {
            if self.panes.is_empty() && !emit_empty {
                return Vec::new();
            }
            // the first window that can hold this batch
            self.next_end = Some(self.slide.ceil(end));
        }
        self.emit_until(agg, Some(end), length, emit_empty)
    }

    /// Time has reached `upto` (the watermark, or the clock) with no batch
    /// closing: windows ending by then are complete.
    pub fn advance(
        &mut self,
        agg: &dyn Aggregation,
        upto: Nanos,
        emit_empty: bool,
    ) -> Vec<WindowOut> {
        match (self.length_slide(), self.next_end) {
            (Some((length, _)), Some(_)) => self.emit_until(agg, Some(upto), length, emit_empty),
            // the batches the watermark passed are complete
            (None, Some(_)) if self.fills => {
                self.repeat_totals(self.batch.prev(self.batch.end_of(upto)), emit_empty)
            }
            _ => Vec::new(),
        }
    }

    /// `window all`: the totals written again at each batch boundary from
    /// the next one not written through `last`, while the cap allows
    /// (past it they are counted, and the next written says how many).
    fn repeat_totals(&mut self, last: Nanos, emit_empty: bool) -> Vec<WindowOut> {
        let mut out = Vec::new();
        let (Some(mut e), Some(total)) = (self.next_end, &self.total) else {
            return out;
        };
        if total.is_empty() && !emit_empty {
            // no totals yet: nothing to repeat
            self.next_end = Some(self.batch.next(last).max(e));
            return out;
        }
        while e <= last {
            if !self.cap.take() {
                // boundaries are a step apart (about one, with --tz)
                self.cap.skip((last - e) / self.batch.step() + 1);
                e = self.batch.next(last);
                break;
            }
            out.push(WindowOut {
                start: None,
                end: e,
                rows: total.emit(emit_empty),
                note: None,
                counted_before: Self::total_tally(total.as_ref(), &mut self.total_counted),
            });
            let next = self.batch.next(e);
            if next <= e {
                // the end of time
                break;
            }
            e = next;
        }
        self.next_end = Some(e);
        out
    }

    /// End of input: every window that still holds a pane, in order.
    pub fn finish(&mut self, agg: &dyn Aggregation) -> Vec<WindowOut> {
        let Some((length, _)) = self.length_slide() else {
            return Vec::new();
        };
        self.emit_until(agg, None, length, false)
    }

    /// Emits windows ending at or before `upto` (or, with `None`, until no
    /// pane is left).
    fn emit_until(
        &mut self,
        agg: &dyn Aggregation,
        upto: Option<Nanos>,
        length: Nanos,
        emit_empty: bool,
    ) -> Vec<WindowOut> {
        let mut out = Vec::new();
        while let Some(e) = self.next_end {
            if upto.is_some_and(|u| e > u) || (upto.is_none() && self.panes.is_empty()) {
                break;
            }
            let start = self.start_of(e, length);
            let mut in_window = self.panes.range(start + 1..=e).peekable();
            let held = in_window.peek().is_some();
            // --emit-empty: at most MAX_EMPTY_RUN empty windows in a row
            if held || (emit_empty && self.cap.take()) {
                let mut merged = agg.new_state();
                for (_, pane) in in_window {
                    merged.merge(pane.as_ref());
                }
                let counted_before = self.tally(merged.as_ref(), start, e);
                out.push(WindowOut {
                    start: Some(start),
                    end: e,
                    rows: merged.into_rows(emit_empty),
                    note: if held { self.cap.reset(e) } else { None },
                    counted_before,
                });
                self.next_end = Some(self.slide.next(e));
            } else {
                // nothing until the next pane: jump to the first window
                // that holds it, or past `upto` when no pane is left (a
                // pane yet to come ends after it), not one slide at a time
                let after = self.slide.next(e);
                self.next_end = match (self.panes.range(start + 1..).next(), upto) {
                    (Some((p, _)), _) => Some(self.slide.ceil(*p).max(after)),
                    (None, Some(u)) => Some(self.slide.end_of(u).max(after)),
                    (None, None) => Some(after),
                };
                if emit_empty {
                    // the empty windows jumped over
                    let to = self.next_end.unwrap_or(after);
                    self.cap.skip((to - e) / self.slide.step().max(1));
                }
            }
            // the end of time (ends saturate near 2262-04-11): no later
            // window, and the panes left have none to go to
            if self.next_end.is_some_and(|n| n <= e) {
                self.panes.clear();
                self.counted.clear();
                self.next_end = None;
                break;
            }
            // panes no later window can reach
            if let Some(n) = self.next_end {
                let reach = self.start_of(n, length);
                while let Some((&first, _)) = self.panes.first_key_value() {
                    if first > reach {
                        break;
                    }
                    self.panes.remove(&first);
                    self.counted.remove(&first);
                }
            }
        }
        out
    }

    /// `--max-keys`' tally of a running total written: a running total's
    /// `(other)` only grows, and what it holds past the last written one's
    /// (`counted`) is new; returns what was counted before.
    fn total_tally(total: &dyn AggState, counted: &mut u64) -> u64 {
        let other = total.key_records().map_or(0, |(_, o)| o);
        let before = if other > 0 { *counted } else { 0 };
        *counted = (*counted).max(other);
        before
    }

    /// `--max-keys`' tally of the window `(start, end]` whose panes merged
    /// into `merged`: of the records its `(other)` row holds, how many an
    /// earlier window counted there (a pane's own `(other)`, a key a
    /// window put there), the others now marked counted.
    fn tally(&mut self, merged: &dyn AggState, start: Nanos, end: Nanos) -> u64 {
        let Some((kept, other)) = merged.key_records() else {
            return 0;
        };
        if other == 0 {
            return 0;
        }
        let kept: HashSet<&[u8]> = kept.iter().map(|(k, _)| &k[..]).collect();
        let mut fresh = 0u64;
        for (&at, pane) in self.panes.range(start + 1..=end) {
            let Some((keys, pane_other)) = pane.key_records() else {
                continue;
            };
            let (own, keys_counted) = self.counted.entry(at).or_default();
            if !*own {
                *own = true;
                fresh = fresh.saturating_add(pane_other);
            }
            for (k, n) in keys {
                if !kept.contains(&k[..]) && keys_counted.insert(k) {
                    fresh = fresh.saturating_add(n);
                }
            }
        }
        other.saturating_sub(fresh)
    }

    /// Writes its panes and running total for `--state`.
    pub fn save(&self, e: &mut Encoder) {
        e.usize(self.panes.len());
        for (end, pane) in &self.panes {
            e.i64(*end);
            pane.save(e);
        }
        match &self.total {
            Some(t) => {
                e.bool(true);
                t.save(e);
            }
            None => e.bool(false),
        }
        e.opt_i64(self.next_end);
    }

    /// Reads back what [`Windows::save`] wrote.
    pub fn load(&mut self, agg: &dyn Aggregation, d: &mut Decoder<'_>) -> codec::Result<()> {
        let n = d.count()?;
        self.panes.clear();
        for _ in 0..n {
            let end = d.i64()?;
            self.panes.insert(end, agg.load(d)?);
        }
        self.total = if d.bool()? { Some(agg.load(d)?) } else { None };
        self.next_end = d.opt_i64()?;
        Ok(())
    }

    /// Panes held now (for tests and --stats).
    pub fn panes(&self) -> usize {
        self.panes.len()
    }
}
