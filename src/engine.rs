//! The engine: receives chunks of lines from the sources, runs the
//! per-record operators over them (in parallel for large chunks: each
//! worker keeps its own partial aggregate, merged when the batch closes),
//! closes batches as the batcher says, runs what comes after the barrier,
//! and hands each batch to the formatter.

use std::borrow::Cow;
use std::io::Write;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use rayon::prelude::*;

use crate::accounting::{Counts, Ctx, Offence, Reason};
use crate::batch::{interval_end, nanos, now, until};
use crate::cli::{BatchMode, Config};
use crate::ops::AggState;
use crate::plan::{Barrier, Plan, PostOp};
use crate::record::Record;
use crate::sink::{BatchOut, Formatter};
use crate::source::{Chunk, Msg};
use crate::timestamp::Nanos;

/// Chunks at least this large are split across the workers.
const PAR_MIN_BYTES: usize = 128 * 1024;

/// Why a run stopped early with an error.
#[derive(Debug)]
pub enum Stop {
    /// `--strict` refused a line.
    Strict { source: String, offence: Offence },
    /// Writing the output failed (a closed pipe among others).
    Output(std::io::Error),
    /// A source failed.
    Source(anyhow::Error),
}

/// What a worker accumulates for the open batch.
enum Sink {
    Agg(Box<dyn AggState>),
    /// Records in input order: (sequence number of the part, records).
    Rows(Vec<(u64, Vec<Record<'static>>)>),
}

struct Worker {
    sink: Sink,
    cx: Ctx,
}

/// The open batch.
struct Open {
    /// Its end (processing time), when batches are cut by time.
    end: Option<Nanos>,
    /// Input lines in it so far.
    lines: u64,
    /// Records that reached the barrier.
    records: u64,
    started: Instant,
}

pub struct Engine<'r> {
    plan: &'r Plan,
    cfg: &'r Config,
    names: Vec<String>,
    workers: Vec<Worker>,
    pool: Option<rayon::ThreadPool>,
    next_line: Vec<u64>,
    seq: u64,
    counts: Counts,
    open: Open,
    fmt: Box<dyn Formatter>,
    out: &'r mut dyn Write,
    emitted: u64,
    done: bool,
}

fn new_sink(plan: &Plan) -> Sink {
    match &plan.barrier {
        Barrier::Aggregate { agg, .. } => Sink::Agg(agg.new_state()),
        Barrier::Collect => Sink::Rows(Vec::new()),
    }
}

impl<'r> Engine<'r> {
    pub fn new(
        plan: &'r Plan,
        cfg: &'r Config,
        names: Vec<String>,
        fmt: Box<dyn Formatter>,
        out: &'r mut dyn Write,
    ) -> Self {
        let threads = cfg.threads.max(1);
        let pool = if threads > 1 {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("spate-worker-{i}"))
                .build()
                .ok()
        } else {
            None
        };
        let n_workers = if pool.is_some() { threads } else { 1 };
        let workers = (0..n_workers)
            .map(|_| Worker {
                sink: new_sink(plan),
                cx: Ctx::new(cfg.strict),
            })
            .collect();
        let sources = names.len();
        Engine {
            plan,
            cfg,
            names,
            workers,
            pool,
            next_line: vec![1; sources],
            seq: 0,
            counts: Counts::default(),
            open: Open {
                end: None,
                lines: 0,
                records: 0,
                started: Instant::now(),
            },
            fmt,
            out,
            emitted: 0,
            done: false,
        }
    }

    /// All counters so far (for the exit summary).
    pub fn counts(&self) -> Counts {
        let mut c = self.counts.clone();
        for w in &self.workers {
            c.merge(&w.cx.counts);
        }
        c
    }

    /// Runs until every source has ended (or a stop condition holds).
    pub fn run(&mut self, rx: &Receiver<Msg>) -> Result<(), Stop> {
        let started = now();
        let stop_at = self.cfg.duration.map(|d| started.saturating_add(nanos(d)));
        let mut live = self.names.len();
        if let BatchMode::Interval(d) = self.cfg.batch {
            self.open.end = Some(interval_end(started, nanos(d)));
        }
        while live > 0 && !self.done {
            let deadline = match (self.open.end, stop_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let msg = match deadline {
                Some(d) => match rx.recv_timeout(until(d, now())) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match rx.recv() {
                    Ok(m) => Some(m),
                    Err(_) => break,
                },
            };
            let t = now();
            if stop_at.is_some_and(|s| t >= s) {
                if let Some(Msg::Chunk(c)) = msg {
                    // arrived at the stop: it still belongs to the run
                    self.chunk(c)?;
                }
                break;
            }
            self.advance_clock(t)?;
            match msg {
                Some(Msg::Chunk(c)) => self.chunk(c)?,
                Some(Msg::End(_)) => live -= 1,
                Some(Msg::Failed(_, e)) => return Err(Stop::Source(e)),
                None => {}
            }
        }
        if !self.done {
            self.close_batch(true)?;
        }
        self.fmt.finish(self.out).map_err(Stop::Output)?;
        self.out.flush().map_err(Stop::Output)
    }

    /// Processing time: closes every batch whose end has passed.
    fn advance_clock(&mut self, t: Nanos) -> Result<(), Stop> {
        let BatchMode::Interval(d) = self.cfg.batch else {
            return Ok(());
        };
        let step = nanos(d);
        while let Some(end) = self.open.end {
            if t < end || self.done {
                break;
            }
            self.close_batch(false)?;
            // skip empty intervals unless they are to be shown
            let next = if self.cfg.emit_empty {
                end + step
            } else {
                interval_end(t, step).max(end + step)
            };
            self.open.end = Some(next);
        }
        Ok(())
    }

    fn chunk(&mut self, c: Chunk) -> Result<(), Stop> {
        if let BatchMode::Lines(n) = self.cfg.batch {
            // cut the chunk where the open batch fills up
            let mut data = &c.data[..];
            while !data.is_empty() && !self.done {
                let room = n - self.open.lines;
                let cut = nth_line_end(data, room);
                let (head, tail) = data.split_at(cut);
                let last_cut = c.last_cut && tail.is_empty();
                self.process(c.source, head, last_cut)?;
                data = tail;
                if self.open.lines >= n {
                    self.close_batch(false)?;
                }
            }
            return Ok(());
        }
        self.process(c.source, &c.data, c.last_cut)
    }

    /// Runs the per-record operators over whole lines of one source.
    fn process(&mut self, source: u32, data: &[u8], last_cut: bool) -> Result<(), Stop> {
        let src = source as usize;
        let first_line = self.next_line[src];
        let plan = self.plan;
        let max = self.cfg.max_line_bytes;
        let parts = if self.pool.is_some() && data.len() >= PAR_MIN_BYTES {
            split_parts(data, self.workers.len())
        } else {
            vec![data]
        };
        // line numbers where each part starts
        let mut starts = Vec::with_capacity(parts.len());
        let mut line = first_line;
        for p in &parts {
            starts.push(line);
            line += memchr::memchr_iter(b'\n', p).count() as u64;
        }
        let lines = line - first_line;
        let seq0 = self.seq;
        self.seq += parts.len() as u64;
        let n_parts = parts.len();
        let run = |(i, (w, part)): (usize, (&mut Worker, &&[u8]))| {
            let cut_last = last_cut && i + 1 == n_parts;
            process_part(plan, part, starts[i], max, cut_last, seq0 + i as u64, w);
        };
        if n_parts == 1 {
            run((0, (&mut self.workers[0], &parts[0])));
        } else if let Some(pool) = &self.pool {
            let workers = &mut self.workers[..n_parts];
            pool.install(|| {
                workers
                    .par_iter_mut()
                    .zip(parts.par_iter())
                    .enumerate()
                    .for_each(run)
            });
        }
        self.next_line[src] = line;
        self.open.lines += lines;
        if let Some(offence) = self.workers.iter_mut().find_map(|w| w.cx.offence.take()) {
            return Err(Stop::Strict {
                source: self.names.get(src).cloned().unwrap_or_default(),
                offence,
            });
        }
        Ok(())
    }

    /// Closes the open batch: merges the workers' partials, runs the
    /// operators after the barrier and writes the rows.
    fn close_batch(&mut self, at_end: bool) -> Result<(), Stop> {
        let mut merged: Option<Box<dyn AggState>> = None;
        let mut parts: Vec<(u64, Vec<Record<'static>>)> = Vec::new();
        for w in &mut self.workers {
            match std::mem::replace(&mut w.sink, new_sink(self.plan)) {
                Sink::Agg(s) => match &mut merged {
                    None => merged = Some(s),
                    Some(m) => m.merge(s.as_ref()),
                },
                Sink::Rows(r) => parts.extend(r),
            }
            self.counts.merge(&std::mem::take(&mut w.cx.counts));
        }
        let had_input = self.open.lines > 0;
        let mut rows: Vec<Record<'static>> = match merged {
            Some(m) => m.emit(self.cfg.emit_empty),
            None => {
                parts.sort_unstable_by_key(|(s, _)| *s);
                parts.into_iter().flat_map(|(_, r)| r).collect()
            }
        };
        let records_in = rows.len();
        let mut cx = Ctx::new(false);
        for op in &self.plan.post {
            rows = match op {
                PostOp::Record(r) => {
                    let mut out = Vec::with_capacity(rows.len());
                    for row in rows {
                        r.process(row, &mut out, &mut cx);
                    }
                    out
                }
                PostOp::Rows(r) => r.apply(rows),
                PostOp::Aggregate(a) => {
                    let mut s = a.new_state();
                    for row in &rows {
                        s.add(row);
                    }
                    s.emit(self.cfg.emit_empty)
                }
            };
        }
        let time = match (self.cfg.batch, self.open.end) {
            (BatchMode::Interval(_), Some(end)) => end,
            _ => now(),
        };
        let lines = self.open.lines;
        self.open.lines = 0;
        self.open.records = 0;
        let took = self.open.started.elapsed();
        self.open.started = Instant::now();
        let show = !rows.is_empty() || self.cfg.emit_empty;
        // at end of input an open batch that saw nothing is not a batch
        let show = show && !(at_end && !had_input && self.emitted > 0 && rows.is_empty());
        if show {
            let b = BatchOut {
                time,
                start: None,
                rows: &rows,
            };
            self.fmt.batch(&b, self.out).map_err(Stop::Output)?;
            self.out.flush().map_err(Stop::Output)?;
            self.emitted += 1;
            if self.cfg.max_batches.is_some_and(|m| self.emitted >= m) {
                self.done = true;
            }
        }
        if self.cfg.stats {
            self.stats_line(time, lines, records_in, rows.len(), took);
        }
        Ok(())
    }

    fn stats_line(&self, time: Nanos, lines: u64, rows_in: usize, rows_out: usize, took: Duration) {
        let delay = Duration::from_nanos(u64::try_from(now().saturating_sub(time)).unwrap_or(0));
        let secs = took.as_secs_f64();
        let rate = if secs > 0.0 { lines as f64 / secs } else { 0.0 };
        eprintln!(
            "spate: batch {}: {} lines in, {} rows before post-ops, {} rows out, open {:.1} ms, delay {:.1} ms, {:.0} lines/s",
            crate::timestamp::format_time(time, crate::timestamp::TimeFormat::Rfc3339, true),
            lines,
            rows_in,
            rows_out,
            secs * 1e3,
            delay.as_secs_f64() * 1e3,
            rate
        );
        if let Some(iv) = self.cfg.interval() {
            if took > iv {
                eprintln!(
                    "spate: warning: batch took {:.1} ms, longer than the {} interval",
                    secs * 1e3,
                    crate::duration::format_duration(iv)
                );
            }
        }
    }
}

/// The byte offset just after the `n`-th newline of `data` (or its end).
fn nth_line_end(data: &[u8], n: u64) -> usize {
    if n == 0 {
        return 0;
    }
    let mut seen = 0;
    for i in memchr::memchr_iter(b'\n', data) {
        seen += 1;
        if seen == n {
            return i + 1;
        }
    }
    data.len()
}

/// Splits whole lines into up to `n` parts of similar size, at newlines.
fn split_parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut parts = Vec::with_capacity(n);
    let mut rest = data;
    for k in (1..=n).rev() {
        if rest.is_empty() {
            break;
        }
        if k == 1 {
            parts.push(rest);
            break;
        }
        let target = rest.len() / k;
        let cut = match memchr::memchr(b'\n', &rest[target..]) {
            Some(i) => target + i + 1,
            None => rest.len(),
        };
        let (a, b) = rest.split_at(cut);
        parts.push(a);
        rest = b;
    }
    parts
}

/// Processes one part of a chunk (whole lines) into a worker's sink.
fn process_part(
    plan: &Plan,
    data: &[u8],
    first_line: u64,
    max_line_bytes: usize,
    last_cut: bool,
    seq: u64,
    w: &mut Worker,
) {
    let Worker { sink, cx } = w;
    let mut cur: Vec<Record<'_>> = Vec::with_capacity(16);
    let mut next: Vec<Record<'_>> = Vec::with_capacity(16);
    let mut kept: Vec<Record<'static>> = Vec::new();
    let mut line_no = first_line;
    let mut start = 0;
    let n_lines_total = data.len();
    for nl in memchr::memchr_iter(b'\n', data) {
        let mut line = &data[start..nl];
        let is_last = nl + 1 == n_lines_total;
        start = nl + 1;
        cx.line = line_no;
        line_no += 1;
        cx.counts.lines += 1;
        cx.line_drops = 0;
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if line.len() > max_line_bytes {
            line = &line[..crate::source::reader::cut_point(line, max_line_bytes)];
            cx.drop_line(Reason::Cut, format!("longer than {max_line_bytes} bytes"));
        } else if is_last && last_cut {
            cx.drop_line(Reason::Cut, format!("longer than {max_line_bytes} bytes"));
        }
        let (text, raw): (Cow<'_, str>, &str) = match std::str::from_utf8(line) {
            Ok(s) => (Cow::Borrowed(s), s),
            Err(e) => {
                let valid = std::str::from_utf8(&line[..e.valid_up_to()]).unwrap_or("");
                cx.drop_line(Reason::BadUtf8, "invalid UTF-8 replaced with U+FFFD");
                (String::from_utf8_lossy(line), valid)
            }
        };
        cur.clear();
        cur.push(Record::from_line(text, raw));
        for op in &plan.pre {
            next.clear();
            for rec in cur.drain(..) {
                op.process(rec, &mut next, cx);
            }
            std::mem::swap(&mut cur, &mut next);
            if cur.is_empty() {
                break;
            }
        }
        if cur.is_empty() {
            if cx.line_drops == 0 {
                cx.counts.filtered += 1;
            }
        } else {
            cx.counts.records += cur.len() as u64;
            match sink {
                Sink::Agg(s) => {
                    for rec in &cur {
                        s.add(rec);
                    }
                }
                Sink::Rows(_) => kept.extend(cur.drain(..).map(Record::into_owned)),
            }
        }
        if cx.offence.is_some() {
            break;
        }
    }
    if let Sink::Rows(r) = sink {
        if !kept.is_empty() {
            r.push((seq, kept));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_split_parts_cut_at_newlines() {
        let data = b"aa\nbb\ncc\ndd\n";
        let parts = split_parts(data, 2);
        assert_eq!(parts.concat(), data.to_vec());
        assert!(parts.iter().all(|p| p.ends_with(b"\n")));
        assert_eq!(parts.len(), 2);
    }

    #[test]
    fn engine_nth_line_end() {
        assert_eq!(nth_line_end(b"a\nb\nc\n", 2), 4);
        assert_eq!(nth_line_end(b"a\nb\n", 5), 4);
        assert_eq!(nth_line_end(b"a\n", 0), 0);
    }
}
