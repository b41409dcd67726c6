//! The engine: receives chunks of lines from the sources, runs the
//! per-record operators over them (in parallel for large chunks), assigns
//! records to batches (the open processing-time / line-count / eof batch,
//! or event-time batches under a watermark), closes batches, feeds windows,
//! runs what comes after the barrier and hands each result to the
//! formatter.
//!
//! Processing time: each worker keeps its own partial aggregate of the open
//! batch, merged when it closes. Event time: each part of a chunk builds
//! fresh per-batch partials; lateness is decided per record exactly as if
//! the stream were read sequentially (a part that assumed too low a
//! watermark is redone), then the partials are merged into the open
//! batches, and batches the watermark has passed are emitted in order.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, select};
use rayon::prelude::*;

use crate::accounting::{BatchStats, Counts, Ctx, Offence, Reason};
use crate::batch::window::{WindowOut, Windows};
use crate::batch::{interval_end, nanos, now, until};
use crate::cli::{BatchMode, Config, EventTime};
use crate::ops::AggState;
use crate::plan::{Barrier, Plan, PostOp};
use crate::record::Record;
use crate::sink::{BatchOut, Formatter};
use crate::source::{Chunk, LineTimes, Mark, Msg};
use crate::timestamp::{Nanos, find_timestamp, parse_timestamp};
use crate::value::Value;

/// Chunks at least this large are split across the workers.
const PAR_MIN_BYTES: usize = 128 * 1024;
/// `--emit-empty` in event time: the most empty batches shown in a row
/// (a gap of 40 years at `-b 1s` would otherwise print a billion).
const MAX_EMPTY_RUN: i64 = 10_000;
/// How much queued input [`Engine::gather`] takes behind a small chunk.
const GATHER_BYTES: usize = 1 << 18;
/// The smallest part a chunk is cut into for the free workers.
const PART_MIN_BYTES: usize = 64 * 1024;

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

/// What the engine's loop wakes up for.
enum Event {
    Msg(Msg),
    Signal(i32),
    Timeout,
    Closed,
}

/// What accumulates for one batch.
enum Sink {
    Agg(Box<dyn AggState>),
    /// Records in input order: (sequence number of the part, records).
    Rows(Vec<(u64, Vec<Record<'static>>)>),
}

impl Sink {
    fn new(plan: &Plan) -> Sink {
        match &plan.barrier {
            Barrier::Aggregate { agg, .. } => Sink::Agg(agg.new_state()),
            Barrier::Collect => Sink::Rows(Vec::new()),
        }
    }

    fn absorb(&mut self, other: Sink) {
        match (self, other) {
            (Sink::Agg(a), Sink::Agg(b)) => a.merge(b.as_ref()),
            (Sink::Rows(a), Sink::Rows(b)) => a.extend(b),
            _ => unreachable!("invariant: one plan makes one kind of sink"),
        }
    }
}

struct Worker {
    /// The open batch's partial (processing time, line count, eof).
    sink: Sink,
    cx: Ctx,
}

/// Event time: the watermark and the batches it has not passed yet.
struct EventClock {
    step: Nanos,
    lateness: Nanos,
    source: EventTime,
    /// The newest timestamp seen.
    max_ts: Option<Nanos>,
    open: BTreeMap<Nanos, Sink>,
    /// The end of the last batch emitted.
    last_emitted: Option<Nanos>,
    /// `--stats`: records of the chunk being processed, by batch end.
    fresh: BTreeMap<Nanos, u64>,
    /// `--stats`: records and processing time of the open batches.
    meter: BTreeMap<Nanos, (u64, Duration)>,
    /// Per open batch: the number of the first chunk that put a record
    /// in it (the chunks before the oldest are wholly written).
    first_chunk: BTreeMap<Nanos, u64>,
}

impl EventClock {
    fn watermark(&self) -> Option<Nanos> {
        self.max_ts.map(|m| m.saturating_sub(self.lateness))
    }

    /// `--stats`: shares a chunk's processing time among the batches its
    /// records went to, by record count.
    fn charge(&mut self, busy: Duration) {
        let total: u64 = self.fresh.values().sum();
        for (end, n) in std::mem::take(&mut self.fresh) {
            let m = self.meter.entry(end).or_default();
            m.0 += n;
            m.1 += busy.mul_f64(n as f64 / total as f64);
        }
    }
}

/// The open batch of processing time, line count or eof.
struct Open {
    end: Option<Nanos>,
    lines: u64,
    /// `--stats`: when it began taking input (the previous close).
    since: Nanos,
    /// `--stats`: wall time spent processing its input.
    busy: Duration,
}

/// What `--stats` measured of a batch by the time it began to close.
struct Meter {
    records: u64,
    busy: Duration,
    /// When closing began.
    began: Instant,
    scheduling_delay: Option<Duration>,
    /// Its end on the wall clock, for the total delay (not in event time).
    end: Option<Nanos>,
    span: Duration,
}

/// What watches a run besides its output: the progress bar and `--live`.
pub trait Watch {
    /// A chunk of `lines` input lines was processed.
    fn lines(&mut self, lines: u64);
    /// A batch or window was written to the output.
    fn batch(&mut self, b: &BatchOut<'_>) -> std::io::Result<()>;
    /// A `--stats` line or a warning for standard error.
    fn note(&mut self, line: &str) {
        eprintln!("{line}");
    }
}

/// A wall-clock difference as a duration (none when negative).
fn span(from: Nanos, to: Nanos) -> Duration {
    Duration::from_nanos(u64::try_from(to.saturating_sub(from)).unwrap_or(0))
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
    event: Option<EventClock>,
    windows: Option<Windows>,
    fmt: Box<dyn Formatter>,
    /// A large batch's text, formatted on the workers before it is
    /// written (kept from batch to batch).
    text: Vec<u8>,
    out: &'r mut dyn Write,
    emitted: u64,
    done: bool,
    watch: Option<&'r mut dyn Watch>,
    /// Chunks taken so far; numbers the marks.
    chunk_no: u64,
    /// The marks of chunks not yet wholly in a written batch, oldest
    /// first, with their chunk's number.
    marks: std::collections::VecDeque<(u64, Mark)>,
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
                sink: Sink::new(plan),
                cx: Ctx::new(cfg.strict),
            })
            .collect();
        let event = match (&cfg.event_time, cfg.batch) {
            (Some(source), BatchMode::Interval(d)) => Some(EventClock {
                step: nanos(d),
                lateness: nanos(cfg.lateness),
                source: source.clone(),
                max_ts: None,
                open: BTreeMap::new(),
                last_emitted: None,
                fresh: BTreeMap::new(),
                meter: BTreeMap::new(),
                first_chunk: BTreeMap::new(),
            }),
            _ => None,
        };
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
                since: now(),
                busy: Duration::ZERO,
            },
            event,
            windows: plan.window().map(Windows::new),
            fmt,
            text: Vec::new(),
            out,
            emitted: 0,
            done: false,
            watch: None,
            chunk_no: 0,
            marks: Default::default(),
        }
    }

    /// Lets `w` see every chunk and written batch, and the `--stats` lines.
    pub fn watch(&mut self, w: &'r mut dyn Watch) {
        self.watch = Some(w);
    }

    /// All counters so far (for the exit summary).
    pub fn counts(&self) -> Counts {
        let mut c = self.counts.clone();
        for w in &self.workers {
            c.merge(&w.cx.counts);
        }
        c
    }

    /// Runs until every source has ended or a stop condition holds; returns
    /// the signal that ended it, if one did (the open batch is flushed as
    /// at end of input).
    pub fn run(
        &mut self,
        rx: &Receiver<Msg>,
        signals: &Receiver<i32>,
    ) -> Result<Option<i32>, Stop> {
        let started = now();
        self.open.since = started;
        let stop_at = self.cfg.duration.map(|d| started.saturating_add(nanos(d)));
        let mut live = self.names.len();
        let mut signal = None;
        if let (BatchMode::Interval(d), None) = (self.cfg.batch, &self.event) {
            self.open.end = Some(interval_end(started, nanos(d)));
        }
        while live > 0 && !self.done {
            let deadline = match (self.open.end, stop_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let ev = match deadline {
                Some(d) => select! {
                    recv(rx) -> m => m.map_or(Event::Closed, Event::Msg),
                    recv(signals) -> s => s.map_or(Event::Closed, Event::Signal),
                    default(until(d, now())) => Event::Timeout,
                },
                None => select! {
                    recv(rx) -> m => m.map_or(Event::Closed, Event::Msg),
                    recv(signals) -> s => s.map_or(Event::Closed, Event::Signal),
                },
            };
            let t = now();
            if stop_at.is_some_and(|s| t >= s) {
                if let Event::Msg(Msg::Chunk(c)) = ev {
                    // it arrived by the stop: it still belongs to the run
                    self.chunk(c)?;
                }
                self.drain(rx)?;
                break;
            }
            self.advance_clock(t)?;
            match ev {
                Event::Msg(Msg::Chunk(c)) => {
                    let (group, ended) = self.gather(c, rx);
                    self.chunks(group)?;
                    match ended {
                        Some(Msg::Chunk(c)) => self.chunk(c)?,
                        Some(Msg::End(_)) => live -= 1,
                        Some(Msg::Failed(_, e)) => return Err(Stop::Source(e)),
                        None => {}
                    }
                }
                Event::Msg(Msg::End(_)) => live -= 1,
                Event::Msg(Msg::Failed(_, e)) => return Err(Stop::Source(e)),
                Event::Signal(n) => {
                    signal = Some(n);
                    self.drain(rx)?;
                    break;
                }
                Event::Closed => break,
                Event::Timeout => {}
            }
        }
        if !self.done {
            self.finish()?;
        }
        self.fmt.finish(self.out).map_err(Stop::Output)?;
        self.out.flush().map_err(Stop::Output)?;
        Ok(signal)
    }

    /// At a stop: what the readers had already read belongs to the run.
    fn drain(&mut self, rx: &Receiver<Msg>) -> Result<(), Stop> {
        for _ in 0..rx.len() {
            match rx.try_recv() {
                Ok(Msg::Chunk(c)) if !self.done => self.chunk(c)?,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(())
    }

    /// End of input: the open batch (or every open event-time batch) and
    /// the windows that still hold them.
    fn finish(&mut self) -> Result<(), Stop> {
        if self.event.is_some() {
            self.emit_event_batches(None)?;
        } else {
            self.close_open(true)?;
        }
        if let (Some(w), Barrier::Aggregate { agg, .. }) = (&mut self.windows, &self.plan.barrier) {
            let outs = w.finish(agg.as_ref());
            self.print_windows(outs)?;
        }
        Ok(())
    }

    /// Processing time: closes every batch whose end has passed.
    fn advance_clock(&mut self, t: Nanos) -> Result<(), Stop> {
        let BatchMode::Interval(d) = self.cfg.batch else {
            return Ok(());
        };
        if self.event.is_some() {
            return Ok(());
        }
        let step = nanos(d);
        while let Some(end) = self.open.end {
            if t < end || self.done {
                break;
            }
            self.close_open(false)?;
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

    fn chunk(&mut self, mut c: Chunk) -> Result<(), Stop> {
        self.chunk_no += 1;
        let mut mark = c.mark.take();
        if let BatchMode::Lines(n) = self.cfg.batch {
            // cut the chunk where the open batch fills up
            let mut data = &c.data[..];
            // lines of the chunk taken so far
            let mut taken = 0;
            while !data.is_empty() && !self.done {
                let room = n - self.open.lines;
                let cut = nth_line_end(data, room);
                let (head, tail) = data.split_at(cut);
                let last_cut = c.last_cut && tail.is_empty();
                let before = self.open.lines;
                self.process(c.source, head, last_cut, None)?;
                taken += self.open.lines - before;
                data = tail;
                if data.is_empty() {
                    // its last line is in the open batch
                    self.keep_mark(mark.take());
                }
                if self.open.lines >= n {
                    if let Some(m) = &mark {
                        // the batch ends inside the chunk: the messages
                        // wholly before its end go with it
                        self.keep_mark(m.upto(taken));
                    }
                    self.close_open(false)?;
                }
            }
            return Ok(());
        }
        self.process(c.source, &c.data, c.last_cut, c.times.as_ref())?;
        self.keep_mark(mark);
        if self.event.is_some() {
            // its lines may all have gone to batches already written
            self.release_event_marks();
        }
        Ok(())
    }

    /// Holds a chunk's mark until its lines are in a written batch.
    fn keep_mark(&mut self, mark: Option<Mark>) {
        if let Some(m) = mark {
            self.marks.push_back((self.chunk_no, m));
        }
    }

    /// A batch was written and every chunk processed so far is in it or
    /// in one written before (processing time, line count, eof).
    fn release_marks(&mut self) {
        for (_, m) in self.marks.drain(..) {
            m.written();
        }
    }

    /// Event time: the chunks older than the oldest open batch's first
    /// chunk are wholly written (or dropped as late or untimed).
    fn release_event_marks(&mut self) {
        let Some(clock) = &self.event else {
            return;
        };
        let frontier = clock
            .first_chunk
            .values()
            .min()
            .copied()
            .unwrap_or(u64::MAX);
        while self.marks.front().is_some_and(|(no, _)| *no < frontier) {
            if let Some((_, m)) = self.marks.pop_front() {
                m.written();
            }
        }
    }

    /// Whether small chunks may be gathered into one parallel step (see
    /// [`Engine::gather`]).
    fn gathers(&self) -> bool {
        self.pool.is_some()
            && self.event.is_none()
            && !self.cfg.strict
            && !matches!(self.cfg.batch, BatchMode::Lines(_))
            && self.plan.pre.iter().all(|op| op.ready())
    }

    /// A pipe delivers at most 64 KiB per read, too little to split across
    /// workers: the chunks already queued behind a small one, from the same
    /// source, go with it, up to about a chunk's worth. Returns the group
    /// and the message that ended it, if one did.
    fn gather(&self, first: Chunk, rx: &Receiver<Msg>) -> (Vec<Chunk>, Option<Msg>) {
        let mut total = first.data.len();
        let source = first.source;
        let mut group = vec![first];
        if total >= PAR_MIN_BYTES || !self.gathers() {
            return (group, None);
        }
        // not past the open batch's end: what is taken after it belongs
        // to the next batch, as it would one chunk at a time
        while total < GATHER_BYTES && self.open.end.is_none_or(|end| now() < end) {
            match rx.try_recv() {
                Ok(Msg::Chunk(c)) if c.source == source => {
                    total += c.data.len();
                    group.push(c);
                }
                Ok(other) => return (group, Some(other)),
                Err(_) => break,
            }
        }
        (group, None)
    }

    /// Processes a group made by [`Engine::gather`]: each chunk a part.
    fn chunks(&mut self, mut group: Vec<Chunk>) -> Result<(), Stop> {
        if group.len() == 1 {
            for c in group {
                self.chunk(c)?;
            }
            return Ok(());
        }
        self.chunk_no += 1;
        let marks: Vec<Mark> = group.iter_mut().filter_map(|c| c.mark.take()).collect();
        let source = group[0].source;
        let parts: Vec<&[u8]> = group.iter().map(|c| &c.data[..]).collect();
        let cuts: Vec<bool> = group.iter().map(|c| c.last_cut).collect();
        self.process_parts(source, parts, cuts, None)?;
        for m in marks {
            self.keep_mark(Some(m));
        }
        Ok(())
    }

    /// Runs the per-record operators over whole lines of one source.
    fn process(
        &mut self,
        source: u32,
        data: &[u8],
        last_cut: bool,
        times: Option<&LineTimes>,
    ) -> Result<(), Stop> {
        let ordered = self.plan.pre.iter().all(|op| op.ready());
        let parts = if ordered && self.pool.is_some() && data.len() >= PAR_MIN_BYTES {
            // In processing time parts go to whichever worker is free, so
            // more, smaller parts keep both busy when one is descheduled;
            // event time redoes a part on the worker that ran it, one each.
            let n = self.workers.len();
            let fine = if self.event.is_none() {
                (data.len() / PART_MIN_BYTES).clamp(n, n * 8)
            } else {
                n
            };
            split_parts(data, fine)
        } else {
            vec![data]
        };
        let mut cuts = vec![false; parts.len()];
        if let Some(c) = cuts.last_mut() {
            *c = last_cut;
        }
        self.process_parts(source, parts, cuts, times)
    }

    /// Runs the per-record operators over parts of one source, in order
    /// (`cuts`: whether each part's last line was cut by its reader;
    /// `times`: each line's own timestamp, for `--event-time kafka`).
    fn process_parts(
        &mut self,
        source: u32,
        parts: Vec<&[u8]>,
        cuts: Vec<bool>,
        times: Option<&LineTimes>,
    ) -> Result<(), Stop> {
        let t0 = Instant::now();
        let src = source as usize;
        let first_line = self.next_line[src];
        // Line numbers matter to --strict (the offending line) and event
        // time (parts redone); otherwise the workers count the lines as they
        // go, and this thread does not read the chunk once more first.
        let numbered = self.cfg.strict || self.event.is_some();
        let mut starts = Vec::with_capacity(parts.len());
        let mut line = first_line;
        for p in &parts {
            starts.push(line);
            if numbered {
                line += memchr::memchr_iter(b'\n', p).count() as u64;
            }
        }
        let lines_before: u64 = self.workers.iter().map(|w| w.cx.counts.lines).sum();
        let seq0 = self.seq;
        self.seq += parts.len() as u64;
        let job = Job {
            plan: self.plan,
            max_line_bytes: self.cfg.max_line_bytes,
            cuts: &cuts,
        };
        if self.event.is_some() {
            self.process_event(&job, &parts, &starts, seq0, times.map(|t| (t, first_line)));
        } else {
            let run = |(i, (w, part)): (usize, (&mut Worker, &&[u8]))| {
                let Worker { sink, cx } = w;
                let mut to = ToSink {
                    sink,
                    kept: Vec::new(),
                };
                job.run(part, i, starts[i], cx, &mut to);
                if let (Sink::Rows(r), false) = (&mut to.sink, to.kept.is_empty()) {
                    r.push((seq0 + i as u64, to.kept));
                }
            };
            on_free_workers(&mut self.workers, self.pool.as_ref(), &parts, run);
        }
        if !numbered {
            let lines_after: u64 = self.workers.iter().map(|w| w.cx.counts.lines).sum();
            line += lines_after - lines_before;
        }
        match &mut self.event {
            Some(clock) => clock.charge(t0.elapsed()),
            None => self.open.busy += t0.elapsed(),
        }
        if let Some(w) = &mut self.watch {
            w.lines(line - first_line);
        }
        self.next_line[src] = line;
        self.open.lines += line - first_line;
        if let Some(offence) = self
            .workers
            .iter_mut()
            .filter_map(|w| w.cx.offence.take())
            .min_by_key(|o| o.line)
        {
            return Err(Stop::Strict {
                source: self.names.get(src).cloned().unwrap_or_default(),
                offence,
            });
        }
        if self.event.is_some() {
            let wm = self.event.as_ref().and_then(EventClock::watermark);
            if let Some(wm) = wm {
                self.emit_event_batches(Some(wm))?;
            }
        }
        Ok(())
    }

    /// Event time: each part into fresh per-batch partials, checked against
    /// the watermark the sequential stream would have had, then merged.
    fn process_event(
        &mut self,
        job: &Job<'_>,
        parts: &[&[u8]],
        starts: &[u64],
        seq0: u64,
        times: Option<(&LineTimes, u64)>,
    ) {
        let Some(mut clock) = self.event.take() else {
            return;
        };
        let params = EventParams {
            step: clock.step,
            lateness: clock.lateness,
            source: &clock.source,
            stats: self.cfg.stats,
            times,
        };
        let start_max = clock.max_ts;
        let mut results: Vec<Option<(ToEvent, Counts)>> = (0..parts.len()).map(|_| None).collect();
        {
            let slots: Vec<std::sync::Mutex<&mut Option<(ToEvent, Counts)>>> =
                results.iter_mut().map(std::sync::Mutex::new).collect();
            let run = |(i, (w, part)): (usize, (&mut Worker, &&[u8]))| {
                let before = w.cx.counts.clone();
                let mut to = ToEvent::new(&params, job.plan, start_max, seq0 + i as u64);
                job.run(part, i, starts[i], &mut w.cx, &mut to);
                if let Ok(mut slot) = slots[i].lock() {
                    **slot = Some((to, before));
                }
            };
            on_workers(&mut self.workers, self.pool.as_ref(), parts, run);
        }
        // the watermark each part should have started from
        let mut prefix = start_max;
        for (i, r) in results.iter_mut().enumerate() {
            let Some((to, before)) = r else { continue };
            let wrong = match (to.min_end_accepted, prefix) {
                (Some(m), Some(p)) => prefix != start_max && m <= p.saturating_sub(params.lateness),
                _ => false,
            };
            if wrong {
                // a record counted as on time was late given the parts
                // before it: redo this part with the right watermark
                let n = self.workers.len();
                let w = &mut self.workers[i % n];
                w.cx.counts = before.clone();
                w.cx.offence = None;
                let mut redo = ToEvent::new(&params, job.plan, prefix, to.seq);
                job.run(parts[i], i, starts[i], &mut w.cx, &mut redo);
                *to = redo;
            }
            prefix = match (prefix, to.max_ts) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
        clock.max_ts = prefix;
        for (to, _) in results.into_iter().flatten() {
            let seq = to.seq;
            for (end, n) in to.counted {
                *clock.fresh.entry(end).or_default() += n;
            }
            for end in to.batches.keys().chain(to.kept.keys()) {
                clock.first_chunk.entry(*end).or_insert(self.chunk_no);
            }
            for (end, sink) in to.batches {
                match clock.open.get_mut(&end) {
                    Some(s) => s.absorb(sink),
                    None => {
                        clock.open.insert(end, sink);
                    }
                }
            }
            for (end, kept) in to.kept {
                if let Some(Sink::Rows(r)) = clock.open.get_mut(&end) {
                    r.push((seq, kept));
                } else {
                    clock.open.insert(end, Sink::Rows(vec![(seq, kept)]));
                }
            }
        }
        self.event = Some(clock);
    }

    /// Emits event-time batches the watermark has passed (all of them at
    /// end of input, with `None`), in time order.
    fn emit_event_batches(&mut self, wm: Option<Nanos>) -> Result<(), Stop> {
        loop {
            if self.done {
                return Ok(());
            }
            let Some(clock) = &mut self.event else {
                return Ok(());
            };
            let step = clock.step;
            let Some((&end, _)) = clock.open.first_key_value() else {
                break;
            };
            if wm.is_some_and(|w| end > w) {
                break;
            }
            let sink = clock
                .open
                .remove(&end)
                .unwrap_or_else(|| Sink::new(self.plan));
            clock.first_chunk.remove(&end);
            let gap_from = clock.last_emitted.map(|l| l + step);
            clock.last_emitted = Some(end);
            let (records, busy) = clock.meter.remove(&end).unwrap_or_default();
            let meter = |records, busy| Meter {
                records,
                busy,
                began: Instant::now(),
                scheduling_delay: None,
                end: None,
                span: span(0, step),
            };
            if self.cfg.emit_empty {
                if let Some(mut e) = gap_from {
                    let mut shown = 0;
                    while e < end && !self.done && shown < MAX_EMPTY_RUN {
                        self.closed(e, vec![], meter(0, Duration::ZERO))?;
                        e += step;
                        shown += 1;
                    }
                    if e < end && !self.done {
                        // event time leapt (a bad clock, a years-old line):
                        // not billions of empty batches
                        let skipped = (end - e) / step;
                        self.note(&format!(
                            "spate: event time jumped to {}: {skipped} empty batches before it not shown (--emit-empty shows at most {MAX_EMPTY_RUN} in a row)",
                            crate::timestamp::format_time(end, crate::timestamp::TimeFormat::Rfc3339, false)
                        ));
                    }
                }
            }
            self.closed(end, vec![sink], meter(records, busy))?;
            self.release_event_marks();
        }
        // windows that end by the watermark are complete too
        if let (Some(wm), Some(w), Barrier::Aggregate { agg, .. }) =
            (wm, &mut self.windows, &self.plan.barrier)
        {
            let outs = w.advance(agg.as_ref(), wm, self.cfg.emit_empty);
            self.print_windows(outs)?;
        }
        Ok(())
    }

    /// Closes the open batch of processing time, line count or eof.
    fn close_open(&mut self, at_end: bool) -> Result<(), Stop> {
        let began = Instant::now();
        let began_wall = now();
        let mut parts = Vec::with_capacity(self.workers.len());
        for w in &mut self.workers {
            parts.push(std::mem::replace(&mut w.sink, Sink::new(self.plan)));
            self.counts.merge(&std::mem::take(&mut w.cx.counts));
        }
        let lines = self.open.lines;
        self.open.lines = 0;
        let busy = std::mem::take(&mut self.open.busy);
        let since = std::mem::replace(&mut self.open.since, began_wall);
        if at_end && lines == 0 && self.emitted > 0 {
            // an open batch that saw nothing at end of input is no batch
            self.release_marks();
            return Ok(());
        }
        let time = match (self.cfg.batch, self.open.end) {
            (BatchMode::Interval(_), Some(end)) => end,
            _ => now(),
        };
        // a batch flushed before its end (end of input, a signal) ended then
        let (end, scheduling_delay) = match (self.cfg.batch, self.open.end) {
            (BatchMode::Interval(_), Some(end)) => {
                let end = end.min(began_wall);
                (end, Some(span(end, began_wall)))
            }
            _ => (time, None),
        };
        let meter = Meter {
            records: lines,
            busy,
            began,
            scheduling_delay,
            end: Some(end),
            span: span(since, end),
        };
        self.closed(time, parts, meter)?;
        self.release_marks();
        Ok(())
    }

    /// A batch closed: into the windows, or straight to the output.
    /// `parts` are its partial sinks (one per worker; none for an empty
    /// batch).
    fn closed(&mut self, time: Nanos, mut parts: Vec<Sink>, meter: Meter) -> Result<(), Stop> {
        let emit_empty = self.cfg.emit_empty;
        let rows = if self.windows.is_none() && matches!(parts.first(), Some(Sink::Agg(_))) {
            // straight to the output: the aggregation makes its rows from
            // the workers' parts, on all of them (idle while a batch
            // closes) when there are many
            let states = parts.into_iter().filter_map(|p| match p {
                Sink::Agg(a) => Some(a),
                Sink::Rows(_) => None,
            });
            let mut states: Vec<Box<dyn AggState>> = states.collect();
            let first = states.remove(0);
            let hint: usize =
                first.rows_hint() + states.iter().map(|s| s.rows_hint()).sum::<usize>();
            // a large batch printed as it is: its rows made by the workers
            // as they format them, when nothing comes between
            if let Some(pool) = self.pool.as_ref().filter(|_| {
                hint >= crate::agg::textmap::PAR_ROWS
                    && self.plan.post.is_empty()
                    && self.watch.is_none()
            }) {
                let (fmt, text) = (&mut self.fmt, &mut self.text);
                text.clear();
                let printed = pool.install(|| {
                    first.lazy_rows(&states).map(|rows| {
                        let n = rows.len();
                        fmt.batch_lazy(time, rows.as_ref(), text).map(|()| n)
                    })
                });
                if let Some(n) = printed {
                    let n = n.map_err(Stop::Output)?;
                    self.out.write_all(&self.text).map_err(Stop::Output)?;
                    self.out.flush().map_err(Stop::Output)?;
                    // the tables freed on a worker, as rows are
                    pool.spawn(move || drop((first, states)));
                    self.printed();
                    self.report(time, n, meter);
                    return Ok(());
                }
            }
            match &self.pool {
                Some(pool) if hint >= crate::agg::textmap::PAR_ROWS => {
                    pool.install(|| first.merge_into_rows(states, emit_empty))
                }
                _ => first.merge_into_rows(states, emit_empty),
            }
        } else {
            let mut sink = if parts.is_empty() {
                Sink::new(self.plan)
            } else {
                parts.remove(0)
            };
            for p in parts {
                sink.absorb(p);
            }
            match sink {
                Sink::Agg(state) => {
                    if let (Some(w), Barrier::Aggregate { agg, .. }) =
                        (&mut self.windows, &self.plan.barrier)
                    {
                        let outs = w.close_batch(agg.as_ref(), time, state, emit_empty);
                        let n = self.print_windows(outs)?;
                        self.report(time, n, meter);
                        return Ok(());
                    }
                    state.into_rows(emit_empty)
                }
                Sink::Rows(mut parts) => {
                    parts.sort_unstable_by_key(|(s, _)| *s);
                    parts.into_iter().flat_map(|(_, r)| r).collect()
                }
            }
        };
        let n = self.print(time, None, rows)?;
        self.report(time, n, meter);
        Ok(())
    }

    /// Prints windows; returns how many rows were written.
    fn print_windows(&mut self, outs: Vec<WindowOut>) -> Result<usize, Stop> {
        let mut rows = 0;
        for w in outs {
            if self.done {
                break;
            }
            rows += self.print(w.end, w.start, w.rows)?;
        }
        Ok(rows)
    }

    /// Runs the operators after the barrier and writes the rows; returns
    /// how many were written.
    fn print(
        &mut self,
        time: Nanos,
        start: Option<Nanos>,
        mut rows: Vec<Record<'static>>,
    ) -> Result<usize, Stop> {
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
                    s.into_rows(self.cfg.emit_empty)
                }
            };
        }
        if rows.is_empty() && !self.cfg.emit_empty {
            return Ok(0);
        }
        let b = BatchOut {
            time,
            start,
            rows: &rows,
        };
        match &self.pool {
            // a large batch is formatted on the workers (idle while a
            // batch closes), then written
            Some(pool) if rows.len() >= crate::sink::PAR_FORMAT_ROWS => {
                let (fmt, text) = (&mut self.fmt, &mut self.text);
                text.clear();
                pool.install(|| fmt.batch(&b, text)).map_err(Stop::Output)?;
                self.out.write_all(text).map_err(Stop::Output)?;
            }
            _ => self.fmt.batch(&b, self.out).map_err(Stop::Output)?,
        }
        self.out.flush().map_err(Stop::Output)?;
        if let Some(w) = &mut self.watch {
            w.batch(&b).map_err(Stop::Output)?;
        }
        self.printed();
        let n = rows.len();
        if let Barrier::Aggregate { agg, .. } = &self.plan.barrier {
            rows = agg.recycle(rows);
        }
        // freeing tens of thousands of rows takes milliseconds: a worker
        // does it while this thread goes back to the input
        match &self.pool {
            Some(pool) if rows.len() > 1024 => pool.spawn(move || drop(rows)),
            _ => drop(rows),
        }
        Ok(n)
    }

    /// A batch was printed: `--max-batches` counts it.
    fn printed(&mut self) {
        self.emitted += 1;
        if self.cfg.max_batches.is_some_and(|m| self.emitted >= m) {
            self.done = true;
        }
    }

    /// `--stats`: the batch's line, and a warning when its processing took
    /// longer than the interval.
    fn report(&mut self, time: Nanos, rows: usize, m: Meter) {
        if !self.cfg.stats {
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
            interval: self.cfg.interval().filter(|_| self.event.is_none()),
            totals: Some(self.counts()),
        };
        self.note(&stats.line());
        if let Some(w) = stats.behind() {
            self.note(&w);
        }
    }

    fn note(&mut self, line: &str) {
        match &mut self.watch {
            Some(w) => w.note(line),
            None => eprintln!("{line}"),
        }
    }
}

/// Runs `f` over the parts, one worker each, in parallel when there are
/// several.
fn on_workers<F>(workers: &mut [Worker], pool: Option<&rayon::ThreadPool>, parts: &[&[u8]], f: F)
where
    F: Fn((usize, (&mut Worker, &&[u8]))) + Send + Sync,
{
    match pool {
        Some(pool) if parts.len() > 1 => {
            let workers = &mut workers[..parts.len()];
            pool.install(|| {
                workers
                    .par_iter_mut()
                    .zip(parts.par_iter())
                    .enumerate()
                    .for_each(f)
            });
        }
        _ => {
            for (i, part) in parts.iter().enumerate() {
                f((i, (&mut workers[i % workers.len()], part)));
            }
        }
    }
}

/// Runs `f` over the parts, each taken by whichever worker is free next,
/// so that a worker that is descheduled or slowed delays only its part.
fn on_free_workers<F>(
    workers: &mut [Worker],
    pool: Option<&rayon::ThreadPool>,
    parts: &[&[u8]],
    f: F,
) where
    F: Fn((usize, (&mut Worker, &&[u8]))) + Send + Sync,
{
    let Some(pool) = pool.filter(|_| parts.len() > 1) else {
        return on_workers(workers, pool, parts, f);
    };
    let next = AtomicUsize::new(0);
    pool.install(|| {
        rayon::scope(|s| {
            for w in workers.iter_mut() {
                let (next, f) = (&next, &f);
                s.spawn(move |_| {
                    loop {
                        let i = next.fetch_add(1, AtomicOrdering::Relaxed);
                        let Some(part) = parts.get(i) else { break };
                        f((i, (&mut *w, part)));
                    }
                });
            }
        })
    });
}

/// What every part of one chunk shares.
struct Job<'p> {
    plan: &'p Plan,
    max_line_bytes: usize,
    /// Per part: its last line was cut by the reader.
    cuts: &'p [bool],
}

/// Where a line's surviving records go.
trait Deliver {
    /// Takes the line's records; returns how many it accepted.
    fn deliver<'a>(&mut self, recs: &mut Vec<Record<'a>>, raw: &'a str, cx: &mut Ctx) -> u64;

    /// The aggregation to feed bare tokens to, when the chain is a lone
    /// splitter before it (see [`crate::ops::RecordOp::tokens`]).
    fn fused(&mut self) -> Option<&mut dyn AggState> {
        None
    }
}

/// Into the open batch's sink.
struct ToSink<'s> {
    sink: &'s mut Sink,
    kept: Vec<Record<'static>>,
}

impl Deliver for ToSink<'_> {
    fn fused(&mut self) -> Option<&mut dyn AggState> {
        match self.sink {
            Sink::Agg(s) => Some(s.as_mut()),
            Sink::Rows(_) => None,
        }
    }

    fn deliver<'a>(&mut self, recs: &mut Vec<Record<'a>>, _raw: &'a str, cx: &mut Ctx) -> u64 {
        let n = recs.len() as u64;
        cx.counts.records += n;
        match self.sink {
            Sink::Agg(s) => {
                for rec in recs.iter() {
                    s.add(rec);
                }
            }
            Sink::Rows(_) => self.kept.extend(recs.drain(..).map(Record::into_owned)),
        }
        n
    }
}

struct EventParams<'c> {
    step: Nanos,
    lateness: Nanos,
    source: &'c EventTime,
    /// Count records per batch for `--stats`.
    stats: bool,
    /// `--event-time kafka`: the chunk's line times and its first line's
    /// number.
    times: Option<(&'c LineTimes, u64)>,
}

/// Into fresh per-batch partials, by each record's own time.
struct ToEvent<'c> {
    p: &'c EventParams<'c>,
    plan: &'c Plan,
    seq: u64,
    max_ts: Option<Nanos>,
    min_end_accepted: Option<Nanos>,
    batches: BTreeMap<Nanos, Sink>,
    kept: BTreeMap<Nanos, Vec<Record<'static>>>,
    /// `--stats`: records accepted, by batch end.
    counted: BTreeMap<Nanos, u64>,
}

impl<'c> ToEvent<'c> {
    fn new(p: &'c EventParams<'c>, plan: &'c Plan, start_max: Option<Nanos>, seq: u64) -> Self {
        ToEvent {
            p,
            plan,
            seq,
            max_ts: start_max,
            min_end_accepted: None,
            batches: BTreeMap::new(),
            kept: BTreeMap::new(),
            counted: BTreeMap::new(),
        }
    }
}

/// A record's timestamp from a field: text in any supported format, or a
/// number of epoch seconds (10 digits) or milliseconds (13 digits).
fn value_time(v: &Value<'_>) -> Option<Nanos> {
    match v {
        Value::Str(s) => parse_timestamp(s),
        Value::Int(_) | Value::Float(_) => parse_timestamp(&v.text()),
        _ => None,
    }
}

impl Deliver for ToEvent<'_> {
    fn deliver<'a>(&mut self, recs: &mut Vec<Record<'a>>, raw: &'a str, cx: &mut Ctx) -> u64 {
        let mut line_ts: Option<Option<Nanos>> = None;
        let mut accepted = 0;
        let (mut untimed, mut late) = (false, false);
        for rec in recs.drain(..) {
            let ts = match self.p.source {
                EventTime::Auto => *line_ts.get_or_insert_with(|| find_timestamp(raw)),
                EventTime::Field(f) => rec.lookup(f).and_then(|v| value_time(&v)),
                EventTime::Kafka => *line_ts.get_or_insert_with(|| {
                    self.p
                        .times
                        .and_then(|(t, first)| t.get(cx.line.wrapping_sub(first)))
                }),
            };
            let Some(ts) = ts else {
                untimed = true;
                continue;
            };
            let end = interval_end(ts, self.p.step);
            if let Some(m) = self.max_ts {
                if end <= m.saturating_sub(self.p.lateness) {
                    late = true;
                    continue;
                }
            }
            self.min_end_accepted = Some(self.min_end_accepted.map_or(end, |x| x.min(end)));
            self.max_ts = Some(self.max_ts.map_or(ts, |m| m.max(ts)));
            cx.counts.records += 1;
            accepted += 1;
            if self.p.stats {
                *self.counted.entry(end).or_default() += 1;
            }
            let sink = self
                .batches
                .entry(end)
                .or_insert_with(|| Sink::new(self.plan));
            match sink {
                Sink::Agg(s) => s.add(&rec),
                Sink::Rows(_) => self.kept.entry(end).or_default().push(rec.into_owned()),
            }
        }
        if untimed {
            let what = match self.p.source {
                EventTime::Auto => "no timestamp found in the line".to_string(),
                EventTime::Field(f) => format!("no readable timestamp in field '{f}'"),
                EventTime::Kafka => "the Kafka message has no timestamp".to_string(),
            };
            cx.drop_line(Reason::Untimed, what);
        }
        if late {
            cx.drop_line(
                Reason::Late,
                "its batch was already emitted (the watermark had passed it)",
            );
        }
        accepted
    }
}

impl Job<'_> {
    /// Runs the per-record operators over one part (whole lines).
    fn run<D: Deliver>(&self, data: &[u8], part: usize, first_line: u64, cx: &mut Ctx, d: &mut D) {
        let max = self.max_line_bytes;
        let cut_last = self.cuts.get(part).copied().unwrap_or(false);
        let mut cur: Vec<Record<'_>> = Vec::with_capacity(16);
        let mut next: Vec<Record<'_>> = Vec::with_capacity(16);
        // a lone splitter before the aggregation: tokens go straight in
        let fused = match self.plan.pre.as_slice() {
            [op] => Some(op.as_ref()),
            _ => None,
        };
        // the whole part in one pass when nothing about a line can need a
        // repair, a cut or a drop: ASCII, no line over the limit
        if let (Some(op), false) = (fused, cut_last) {
            if data.is_ascii() && (data.len() <= max || longest_line(data) <= max) {
                if let Some(state) = d.fused() {
                    if op.splits_ascii_whitespace() {
                        if let Some((with, without, n)) = state.add_ascii_words(data) {
                            cx.counts.lines += with + without;
                            cx.counts.processed += with;
                            cx.counts.filtered += without;
                            cx.counts.records += n;
                            return;
                        }
                    }
                    let mut n = 0u64;
                    if let Some((with, without)) = op.tokens_block(data, &mut |t| {
                        state.add_current_ascii(t);
                        n += 1;
                    }) {
                        cx.counts.lines += with + without;
                        cx.counts.processed += with;
                        cx.counts.filtered += without;
                        cx.counts.records += n;
                        return;
                    }
                }
            }
        }
        // no per-record operator at all: each line goes straight in
        if self.plan.pre.is_empty()
            && !cut_last
            && data.is_ascii()
            && memchr::memchr(b'\r', data).is_none()
            && (data.len() <= max || longest_line(data) <= max)
        {
            if let Some(state) = d.fused() {
                let mut n = memchr::memchr_iter(b'\n', data).count() as u64;
                if !state.add_ascii_lines(data, n) {
                    n = 0;
                    let mut start = 0;
                    for nl in memchr::memchr_iter(b'\n', data) {
                        state.add_current_ascii(&data[start..nl]);
                        start = nl + 1;
                        n += 1;
                    }
                }
                cx.counts.lines += n;
                cx.counts.processed += n;
                cx.counts.records += n;
                return;
            }
        }
        let mut start = 0;
        for (line_no, nl) in (first_line..).zip(memchr::memchr_iter(b'\n', data)) {
            let mut line = &data[start..nl];
            let is_last = nl + 1 == data.len();
            start = nl + 1;
            cx.line = line_no;
            cx.counts.lines += 1;
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            if line.len() > max {
                line = &line[..crate::source::reader::cut_point(line, max)];
                cx.drop_line(Reason::Cut, format_args!("longer than {max} bytes"));
            } else if is_last && cut_last {
                cx.drop_line(Reason::Cut, format_args!("longer than {max} bytes"));
            }
            let (text, raw): (Cow<'_, str>, &str) = match std::str::from_utf8(line) {
                Ok(s) => (Cow::Borrowed(s), s),
                Err(e) => {
                    let valid = std::str::from_utf8(&line[..e.valid_up_to()]).unwrap_or("");
                    cx.drop_line(Reason::BadUtf8, "invalid UTF-8 replaced with U+FFFD");
                    (String::from_utf8_lossy(line), valid)
                }
            };
            if let (Some(op), Some(state)) = (fused, d.fused()) {
                let mut n = 0u64;
                if op.tokens(&text, &mut |t| {
                    state.add_current(t);
                    n += 1;
                }) {
                    cx.counts.records += n;
                    cx.end_line(n);
                    if cx.offence.is_some() {
                        break;
                    }
                    continue;
                }
            }
            cur.clear();
            cur.push(Record::from_line(text, raw));
            for op in &self.plan.pre {
                next.clear();
                for rec in cur.drain(..) {
                    op.process(rec, &mut next, cx);
                }
                std::mem::swap(&mut cur, &mut next);
                if cur.is_empty() {
                    break;
                }
            }
            let delivered = if cur.is_empty() {
                0
            } else {
                d.deliver(&mut cur, raw, cx)
            };
            cx.end_line(delivered);
            if cx.offence.is_some() {
                break;
            }
        }
    }
}

/// The length of the longest line of `data` (whole lines).
fn longest_line(data: &[u8]) -> usize {
    let mut start = 0;
    let mut longest = 0;
    for nl in memchr::memchr_iter(b'\n', data) {
        longest = longest.max(nl - start);
        start = nl + 1;
    }
    longest.max(data.len() - start)
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

    use crate::source::PartitionOffset;

    /// Runs `args` (options and chain) over `chunks`, as one source;
    /// returns the output.
    fn run_chunks(args: &[&str], chunks: Vec<Chunk>) -> String {
        let parsed = crate::cli::parse(std::iter::once("spate").chain(args.iter().copied()));
        let Ok(crate::cli::Parsed::Run(cfg, chain)) = parsed else {
            panic!("bad test arguments {args:?}");
        };
        let plan = crate::plan::build(&cfg, &chain).expect("a plan");
        let (tx, rx) = crossbeam_channel::unbounded();
        for c in chunks {
            tx.send(Msg::Chunk(c)).expect("send");
        }
        tx.send(Msg::End(0)).expect("send");
        let (_sig, signals) = crossbeam_channel::bounded(1);
        let mut out = Vec::new();
        let fmt = crate::sink::formatter(
            cfg.output,
            crate::sink::Options {
                time_format: cfg.time_format,
                millis: cfg.millis(),
                header: cfg.header,
                color: false,
            },
        );
        let mut engine = Engine::new(&plan, &cfg, vec!["k".into()], fmt, &mut out);
        engine.run(&rx, &signals).expect("the run");
        drop(engine);
        String::from_utf8(out).expect("UTF-8")
    }

    /// A chunk of one partition's messages, one line each, from `first`;
    /// its mark reports to `home`.
    fn kafka_chunk(
        lines: &[&str],
        first: i64,
        times: Option<Vec<i64>>,
        home: &crossbeam_channel::Sender<Vec<PartitionOffset>>,
    ) -> Chunk {
        let data: Vec<u8> = lines
            .iter()
            .flat_map(|l| format!("{l}\n").into_bytes())
            .collect();
        let n = lines.len() as i64;
        let steps = (0..n).map(|i| (i as u32 + 1, 0, first + i + 1)).collect();
        let offsets = vec![PartitionOffset {
            topic: "t".into(),
            partition: 0,
            next: first + n,
        }];
        Chunk {
            source: 0,
            data: data.into(),
            last_cut: false,
            last_unterminated: false,
            times: times.map(|t| {
                let mut lt = LineTimes::default();
                for ms in t {
                    lt.push(ms, 1);
                }
                lt
            }),
            mark: Some(Mark::new(offsets, home.clone()).with_steps(steps)),
        }
    }

    fn reports(rx: &crossbeam_channel::Receiver<Vec<PartitionOffset>>) -> Vec<i64> {
        rx.try_iter().map(|v| v[0].next).collect()
    }

    #[test]
    fn engine_marks_are_released_once_their_lines_are_written() {
        let (home, rx) = crossbeam_channel::unbounded();
        // --batch-lines 3 over chunks of 2 and 2 lines: the first batch
        // ends inside the second chunk, the last one at end of input
        let chunks = vec![
            kafka_chunk(&["a", "b"], 10, None, &home),
            kafka_chunk(&["c", "d"], 12, None, &home),
        ];
        let out = run_chunks(&["--batch-lines", "3", "-o", "tsv", "count"], chunks);
        assert_eq!(out.lines().count(), 2, "{out}");
        // after batch 1: the first chunk, and the second up to line c;
        // after batch 2: the rest
        assert_eq!(reports(&rx), [12, 13, 14]);
    }

    #[test]
    fn engine_marks_of_a_stopped_run_are_not_released() {
        let (home, rx) = crossbeam_channel::unbounded();
        let chunks = vec![kafka_chunk(&["a", "b", "c", "d", "e"], 0, None, &home)];
        let args = [
            "--batch-lines",
            "2",
            "--max-batches",
            "1",
            "-o",
            "tsv",
            "count",
        ];
        let out = run_chunks(&args, chunks);
        assert_eq!(out.lines().count(), 1, "{out}");
        // the two written lines' messages, nothing after them
        assert_eq!(reports(&rx), [2]);
    }

    #[test]
    fn engine_event_time_kafka_reads_each_lines_time_and_releases_by_batch() {
        let (home, rx) = crossbeam_channel::unbounded();
        let s = 1_700_000_000_000i64;
        let chunks = vec![
            kafka_chunk(&["x", "y"], 0, Some(vec![s, s + 1_000]), &home),
            // the second chunk opens a batch the watermark has not passed
            kafka_chunk(&["z"], 2, Some(vec![s + 5_000]), &home),
        ];
        let args = [
            "-i",
            "kafka://127.0.0.1:9/t",
            "--event-time",
            "kafka",
            "-b",
            "5s",
            "-o",
            "tsv",
            "count",
        ];
        let out = run_chunks(&args, chunks);
        assert_eq!(out, "2023-11-14T22:13:25Z\t2\n2023-11-14T22:13:30Z\t1\n");
        // the first chunk's batch is written when the second chunk moves
        // the watermark; the second's at end of input
        assert_eq!(reports(&rx), [2, 3]);
    }

    #[test]
    fn engine_nth_line_end() {
        assert_eq!(nth_line_end(b"a\nb\nc\n", 2), 4);
        assert_eq!(nth_line_end(b"a\nb\n", 5), 4);
        assert_eq!(nth_line_end(b"a\n", 0), 0);
    }
}
