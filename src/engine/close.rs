//! The close step: a batch's partial results made into rows (on the
//! workers when it is large, formatted as they are made when nothing comes
//! between), fed to the windows, run through the operators after the
//! aggregation and written; `--max-batches` and `--stats` counted here.

use crate::accounting::{BatchStats, Ctx, DeadLine, Offence, Reason};
use crate::agg::AggState;
use crate::batch::{Meter, Partial as _, WindowOut, now, span};
use crate::ops::chain::{At, PostOp};
use crate::record::Record;
use crate::sink::BatchOut;
use crate::timestamp::Nanos;

use super::parallel::{Kept, LineRef, Partial};
use super::{Engine, Stop};

/// How a row tells its own time and start (a session's end and start),
/// when it has them.
pub(super) type RowTimes<'f> = &'f dyn Fn(&Record<'static>) -> Option<(Option<Nanos>, Nanos)>;

impl Engine<'_> {
    /// A batch closed: into the windows, or straight to the output.
    /// `parts` are its partial sinks (one per worker; none for an empty
    /// batch).
    pub(super) fn closed(
        &mut self,
        time: Nanos,
        mut parts: Vec<Partial>,
        meter: Meter,
    ) -> Result<(), Stop> {
        let start = self.batch_start(time);
        if self.sessions.is_some() {
            return self.sessions_closed(time, parts, meter);
        }
        let emit_empty = self.emit_empty;
        let rows = if self.windows.is_none() && matches!(parts.first(), Some(Partial::Agg(_))) {
            // straight to the output: the aggregation makes its rows from
            // the workers' parts, on all of them (idle while a batch
            // closes) when there are many
            let states = parts.into_iter().filter_map(|p| match p {
                Partial::Agg(a) => Some(a),
                Partial::Rows(_) | Partial::Sessions(_) => None,
            });
            let mut states: Vec<Box<dyn AggState>> = states.collect();
            let first = states.remove(0);
            let hint: usize =
                first.rows_hint() + states.iter().map(|s| s.rows_hint()).sum::<usize>();
            // a large batch printed as it is: its rows made by the workers
            // as they format them, when nothing comes between
            if let Some(pool) = self.work.pool.as_ref().filter(|_| {
                hint >= crate::agg::textmap::PAR_ROWS
                    && self.chain.post.is_empty()
                    && self.watch.is_none()
            }) {
                let (fmt, text) = (&mut self.fmt, &mut self.text);
                text.clear();
                let printed = pool.install(|| {
                    first.lazy_rows(&states).map(|rows| {
                        let n = rows.len();
                        fmt.batch_lazy(time, start, rows.as_ref(), text).map(|()| n)
                    })
                });
                if let Some(n) = printed {
                    let n = n.map_err(Stop::Output)?;
                    if self.ahead == 0 {
                        self.out.write_all(&self.text).map_err(Stop::Output)?;
                        self.out.flush().map_err(Stop::Output)?;
                    }
                    // the tables freed on a worker, as rows are
                    pool.spawn(move || drop((first, states)));
                    self.printed(n);
                    self.report(time, n, meter);
                    return Ok(());
                }
            }
            match &self.work.pool {
                Some(pool) if hint >= crate::agg::textmap::PAR_ROWS => {
                    pool.install(|| first.merge_into_rows(states, emit_empty))
                }
                _ => first.merge_into_rows(states, emit_empty),
            }
        } else {
            let mut partial = if parts.is_empty() {
                Partial::new(self.chain)
            } else {
                parts.remove(0)
            };
            // the workers' shares of the batch
            for p in parts {
                match (&mut partial, p) {
                    (Partial::Agg(a), Partial::Agg(b)) => a.combine(b.as_ref()),
                    (a, b) => a.absorb(b),
                }
            }
            match partial {
                Partial::Agg(state) => {
                    if let (Some(w), Some(agg)) = (&mut self.windows, self.chain.aggregation()) {
                        // a pane is a batch's state: not a part's that keeps
                        // every value (an event-time batch of one part), nor
                        // one past --max-keys
                        let state = if agg.ordered() || state.over_keys() {
                            let mut pane = agg.new_state();
                            pane.merge(state.as_ref());
                            pane
                        } else {
                            state
                        };
                        let outs = w.close_batch(agg, time, state, emit_empty);
                        let n = self.print_windows(outs)?;
                        self.report(time, n, meter);
                        return Ok(());
                    }
                    state.into_rows(emit_empty)
                }
                Partial::Rows(parts) => {
                    // the operators after the barrier, followed back to
                    // the lines
                    let rows = self.post_kept(parts)?;
                    let n = self.write(time, start, rows, None)?;
                    self.report(time, n, meter);
                    return Ok(());
                }
                // the sessions' batches close above
                Partial::Sessions(_) => Vec::new(),
            }
        };
        let n = self.print(time, start, rows)?;
        self.report(time, n, meter);
        Ok(())
    }

    /// The start of the batch that ends at `time`, which closes now:
    /// written with `--with-start` (none without). A batch of `-b
    /// DURATION` starts at the boundary before its end (that long before
    /// it, but for a day across a DST change under `--tz`); one of `--batch-lines`
    /// or `-b eof` where the batch before closed (the first where the run
    /// began).
    fn batch_start(&mut self, time: Nanos) -> Option<Nanos> {
        let start = match self.grid {
            Some(g) => g.prev(time),
            None => self.last_close,
        };
        self.last_close = time;
        self.first_start.get_or_insert(start);
        self.opts.with_start.then_some(start)
    }

    /// After a batch closed (written or empty), between two steps: the
    /// operators' hook ([`crate::ops::RecordOp::batch_closed`]), which
    /// `join` reloads its table in; their warnings go where notes go.
    pub(super) fn batch_closed(&mut self) {
        for warning in self.chain.batch_closed() {
            self.note(&warning);
        }
    }

    /// Prints windows; returns how many rows were written.
    pub(super) fn print_windows(&mut self, outs: Vec<WindowOut>) -> Result<usize, Stop> {
        let mut rows = 0;
        for w in outs {
            if self.done {
                break;
            }
            // --max-keys: a record is counted under (other) once
            self.chain.keys.uncount(w.counted_before);
            // a window written covers every batch that ends by its end
            // (earlier ones were in earlier windows)
            self.pending.written_upto(w.end);
            if let Some(line) = &w.note {
                self.note(line);
            }
            // `window all` starts where the first batch did
            let start = match w.start {
                Some(s) => Some(s),
                None => self.first_start.filter(|_| self.opts.with_start),
            };
            rows += self.print(w.end, start, w.rows)?;
        }
        Ok(rows)
    }

    /// Runs the operators after the barrier and writes the rows; returns
    /// how many were written.
    fn print(
        &mut self,
        time: Nanos,
        start: Option<Nanos>,
        rows: Vec<Record<'static>>,
    ) -> Result<usize, Stop> {
        let rows = self.post(rows);
        self.write(time, start, rows, None)
    }

    /// A batch's kept records (no aggregation first) through the
    /// operators after the barrier, each row followed back to its input
    /// line: a line none of whose records come out of them (or reach an
    /// aggregation there) counts as filtered, or as dropped when one of
    /// them dropped one of its records (a parser after `sort` or `head`),
    /// with its dead letter, and `--strict` stops the run at the first.
    fn post_kept(&mut self, mut parts: Vec<Kept>) -> Result<Vec<Record<'static>>, Stop> {
        parts.sort_unstable_by_key(|k| k.seq);
        if self.chain.post.is_empty() {
            // the records are the rows: each line processed
            return Ok(parts.into_iter().flat_map(|k| k.recs).collect());
        }
        let mut track = Track::default();
        let mut refs: Vec<LineRef> = Vec::new();
        let mut rows = Vec::new();
        let mut lines = 0u32;
        for k in parts {
            // a part's lines start where its `starts` say, in order
            let mut next = k.starts.iter().map(|&s| s as usize).peekable();
            let first = lines;
            for i in 0..k.recs.len() {
                while next.peek().is_some_and(|&s| s <= i) {
                    next.next();
                    lines += 1;
                }
                track.owner.push(lines.saturating_sub(1).max(first));
            }
            // records with no start said (never made so): one line
            if !k.recs.is_empty() && k.starts.is_empty() {
                lines += 1;
            }
            refs.extend(k.lines);
            rows.extend(k.recs);
        }
        track.reasons = vec![None; lines as usize];
        let rows = self.post_tracked(rows, Some(&mut track));
        let reached = track.reached.take().unwrap_or_default();
        let refs = (refs.len() == lines as usize).then_some(refs);
        for (l, reason) in track.reasons.iter().enumerate() {
            if reached.get(l).copied().unwrap_or(true) {
                continue;
            }
            let Some((reason, detail)) = reason else {
                self.post_moved.filtered += 1;
                continue;
            };
            self.post_moved.add(*reason);
            let Some(r) = refs.as_ref().and_then(|r| r.get(l)) else {
                continue;
            };
            if self.opts.strict {
                return Err(Stop::Strict {
                    source: self.names.name(r.input),
                    offence: Offence {
                        line: r.line,
                        reason: *reason,
                        detail: detail.clone(),
                    },
                });
            }
            let dead = DeadLine {
                reason: *reason,
                line: r.line,
                text: r.text.clone(),
            };
            self.dead_letters(r.input, &[dead])?;
        }
        Ok(rows)
    }

    /// Runs the operators after the barrier on a batch's rows.
    pub(super) fn post(&mut self, rows: Vec<Record<'static>>) -> Vec<Record<'static>> {
        self.post_tracked(rows, None)
    }

    /// [`Engine::post`], following each row back to its line with `track`
    /// until an operator that cannot say which rows it kept, or an
    /// aggregation.
    fn post_tracked(
        &mut self,
        mut rows: Vec<Record<'static>>,
        mut track: Option<&mut Track>,
    ) -> Vec<Record<'static>> {
        let mut cx = Ctx::new(track.is_some());
        for (k, op) in self.chain.post.iter().enumerate() {
            if self.seen.open {
                self.seen.look(At::Post(k), &rows);
            }
            let order = match op {
                PostOp::Rows(r) if track.is_some() => r.order(&rows),
                _ => None,
            };
            let stops = match op {
                PostOp::Record(_) => false,
                PostOp::Rows(_) => order.is_none(),
                PostOp::Aggregate(_) => true,
            };
            if stops {
                if let Some(t) = track.take() {
                    t.reach();
                }
            }
            rows = match op {
                PostOp::Record(r) => {
                    let mut out = Vec::with_capacity(rows.len());
                    match track.as_deref_mut() {
                        Some(t) => {
                            let mut owner = Vec::with_capacity(rows.len());
                            for (row, o) in rows.into_iter().zip(std::mem::take(&mut t.owner)) {
                                r.process(row, &mut out, &mut cx);
                                owner.resize(out.len(), o);
                                if let Some(reason) = cx.line_reason.take() {
                                    let detail = cx.offence.take().map(|o| o.detail);
                                    if let Some(slot) = t.reasons.get_mut(o as usize) {
                                        slot.get_or_insert((reason, detail.unwrap_or_default()));
                                    }
                                }
                                cx.line_drops = 0;
                                cx.offence = None;
                            }
                            t.owner = owner;
                        }
                        None => {
                            for row in rows {
                                r.process(row, &mut out, &mut cx);
                            }
                        }
                    }
                    out
                }
                PostOp::Rows(r) => match (&order, track.as_deref_mut()) {
                    (Some(order), Some(t)) => {
                        t.owner = order
                            .iter()
                            .filter_map(|&i| t.owner.get(i).copied())
                            .collect();
                        crate::ops::sort::permute(rows, order)
                    }
                    _ => r.apply(rows),
                },
                PostOp::Aggregate(a) => {
                    let mut s = a.new_state();
                    for row in &rows {
                        s.add(row);
                    }
                    s.into_rows(self.emit_empty)
                }
            };
        }
        if let Some(t) = track {
            t.reach();
        }
        rows
    }

    /// Writes a batch's rows (after [`Engine::post`]); returns how many
    /// were written. `own`: how a row tells its own time and start (a
    /// session's), for the formats that write a time on every row.
    pub(super) fn write(
        &mut self,
        time: Nanos,
        start: Option<Nanos>,
        mut rows: Vec<Record<'static>>,
        own: Option<RowTimes<'_>>,
    ) -> Result<usize, Stop> {
        if rows.is_empty() && !self.emit_empty {
            return Ok(0);
        }
        // --with-start: rows with starts of their own (sessions') written
        // in one block carry them one by one
        let starts: Vec<Nanos> = match own {
            Some(own) if self.opts.with_start && !self.fmt.rows_carry_time() => rows
                .iter()
                .map(|r| own(r).and_then(|(s, _)| s).unwrap_or(time))
                .collect(),
            _ => Vec::new(),
        };
        let mut b = BatchOut::new(time, start, &rows);
        if !starts.is_empty() {
            b.starts = Some(&starts);
        }
        let own = own.filter(|_| !rows.is_empty() && self.fmt.rows_carry_time());
        // written by the run the state is of, after it (see
        // [`Engine::ahead`]): formatted, so that the format goes on as it
        // did, and not written again
        let mut nowhere = std::io::sink();
        let out: &mut dyn std::io::Write = if self.ahead > 0 {
            &mut nowhere
        } else {
            &mut *self.out
        };
        match (&self.work.pool, own) {
            // rows with times of their own: a run of rows at a time
            (_, Some(own)) => {
                let mut at = 0;
                while at < rows.len() {
                    let t = own(&rows[at]);
                    let n = rows[at..].iter().take_while(|r| own(r) == t).count();
                    let (time, start) = t.map_or((time, start), |(s, e)| (e, s));
                    let run = BatchOut::new(time, start, &rows[at..at + n]);
                    self.fmt.batch(&run, out).map_err(Stop::Output)?;
                    at += n;
                }
            }
            // a large batch is formatted on the workers (idle while a
            // batch closes), then written
            (Some(pool), None) if rows.len() >= crate::sink::PAR_FORMAT_ROWS => {
                let (fmt, text) = (&mut self.fmt, &mut self.text);
                text.clear();
                pool.install(|| fmt.batch(&b, text)).map_err(Stop::Output)?;
                out.write_all(text).map_err(Stop::Output)?;
            }
            _ => self.fmt.batch(&b, out).map_err(Stop::Output)?,
        }
        out.flush().map_err(Stop::Output)?;
        if let Some(w) = &mut self.watch {
            w.batch(&b).map_err(Stop::Output)?;
        }
        self.printed(rows.len());
        let n = rows.len();
        if let (Some(agg), None) = (self.chain.aggregation(), &self.sessions) {
            rows = agg.recycle(rows);
        }
        // freeing tens of thousands of rows takes milliseconds: a worker
        // does it while this thread goes back to the input
        match &self.work.pool {
            Some(pool) if rows.len() > 1024 => pool.spawn(move || drop(rows)),
            _ => drop(rows),
        }
        Ok(n)
    }

    /// A batch of `rows` rows was printed: `--max-batches` counts it, and
    /// `--exit-on-row` stops at the first one with a row.
    fn printed(&mut self, rows: usize) {
        self.emitted += 1;
        self.ahead = self.ahead.saturating_sub(1);
        self.big_close = rows >= crate::agg::textmap::PAR_ROWS;
        if rows > 0 {
            self.wrote_row = true;
        }
        if self.opts.max_batches.is_some_and(|m| self.emitted >= m)
            || (self.opts.exit_on_row && self.wrote_row)
        {
            self.done = true;
            self.stopped = true;
        }
    }

    /// `--stats`: the batch's line, and a warning when its processing took
    /// longer than the interval.
    pub(super) fn report(&mut self, time: Nanos, rows: usize, m: Meter) {
        if !self.opts.stats {
            return;
        }
        let stats = BatchStats {
            time,
            records: m.records,
            rows: rows as u64,
            processing: m.busy + m.began.elapsed(),
            scheduling_delay: m.scheduling_delay,
            total_delay: m.end.map(|e| span(e, now())),
            span: m.span,
            interval: self.interval,
            totals: Some(self.counts()),
        };
        self.note(&stats.line());
        if let Some(w) = stats.behind() {
            self.note(&w);
        }
    }

    pub(super) fn note(&mut self, line: &str) {
        match &mut self.watch {
            Some(w) => w.note(line),
            None => eprintln!("{line}"),
        }
    }
}

/// Which line each row of a batch came from, while the operators after
/// the barrier can say (see [`Engine::post_kept`]).
#[derive(Default)]
struct Track {
    /// Each row's line, numbered in input order within the batch.
    owner: Vec<u32>,
    /// Per line, the first drop an operator after the barrier made of one
    /// of its records, and what it said.
    reasons: Vec<Option<(Reason, String)>>,
    /// Per line, whether a record of it was left when the following
    /// stopped (at the output, or at an aggregation).
    reached: Option<Vec<bool>>,
}

impl Track {
    /// The rows left now are the ones that reach the output.
    fn reach(&mut self) {
        let mut reached = vec![false; self.reasons.len()];
        for &o in &self.owner {
            if let Some(r) = reached.get_mut(o as usize) {
                *r = true;
            }
        }
        self.reached = Some(reached);
    }
}
