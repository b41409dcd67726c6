//! The parallel work of the engine: the workers (each with its own partial
//! result of the open batch and its own counters), cutting a chunk into
//! parts, running the per-record operators over each part on the pool, and
//! delivering what survives to the open batch or, in event time, to fresh
//! per-batch partials. Event time decides lateness per record exactly as if
//! the stream were read sequentially: a part that assumed too low a
//! watermark is redone.
//!
//! Results never depend on how the input was cut: parts are numbered in
//! input order and each aggregation state is told the position of a part's
//! first record (`AggState::at`), so `--max-keys` keeps the first keys in
//! input order ([`Work::settle`] once a worker's share passes the bound);
//! an aggregation whose result depends on the order of its records
//! (percentiles) gets one state per part, merged in input order
//! ([`Work::ordered_step`]).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::accounting::{Counts, Ctx, DeadLine, Offence, Reason};
use crate::agg::key::pos;
use crate::agg::{AggState, Aggregation, VALUE_FIELDS, value_field};
use crate::batch::event::Reader;
use crate::batch::event::{Rules, Step};
use crate::batch::pieces::Pieces;
use crate::batch::{EventTime, WindowSpec};
use crate::ops::chain::{At, Barrier, Chain};
use crate::record::{Field, Record};
use crate::source::LineTimes;
use crate::timestamp::Nanos;
use crate::value::Value;

use super::seen::Seen;

/// Chunks at least this large are split across the workers.
pub(super) const PAR_MIN_BYTES: usize = 128 * 1024;
/// The smallest part a chunk is cut into for the free workers.
const PART_MIN_BYTES: usize = 64 * 1024;

/// What accumulates for one batch: a partial aggregate, the records
/// kept in input order (sequence number of the part, records), or under
/// `window session` the aggregate's pieces by key and time.
pub(super) enum Partial {
    Agg(Box<dyn AggState>),
    Rows(Vec<Kept>),
    Sessions(Pieces),
}

/// A part's kept records (no aggregation first), under the part's
/// sequence number, with where each line's records start among them: the
/// operators after them (`sort`, `head`, then filters and parsers) are
/// followed back to the lines, for the accounting. With `--dead-letter`
/// or `--strict`, when an operator after them may drop records, also
/// each line's input, number and text.
#[derive(Default)]
pub(super) struct Kept {
    pub seq: u64,
    pub recs: Vec<Record<'static>>,
    pub starts: Vec<u32>,
    pub lines: Vec<LineRef>,
}

/// A kept line's input, number and text (after repair), for a drop after
/// the barrier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LineRef {
    pub input: u32,
    pub line: u64,
    pub text: String,
}

impl LineRef {
    /// The current line of `cx`, when a drop after the barrier must name
    /// it (`--dead-letter`, `--strict`, and an operator there that drops).
    fn of(chain: &Chain, raw: &str, cx: &mut Ctx) -> Option<LineRef> {
        if !(cx.dead.is_some() || cx.strict) || !chain.post_drops() {
            return None;
        }
        Some(LineRef {
            input: cx.input,
            line: cx.line,
            text: cx.repaired.take().unwrap_or_else(|| raw.to_string()),
        })
    }
}

impl Partial {
    pub(super) fn new(chain: &Chain) -> Partial {
        match &chain.barrier {
            Barrier::Aggregate {
                agg,
                window: Some(WindowSpec::Session { gap }),
            } => Partial::Sessions(Pieces::new(
                crate::batch::nanos(*gap),
                chain.keys.max,
                agg.key_fields().into(),
            )),
            Barrier::Aggregate { agg, .. } => Partial::Agg(agg.new_state()),
            Barrier::Collect => Partial::Rows(Vec::new()),
        }
    }

    /// A part's partial: its kept records under its sequence number, or
    /// the aggregation's state of a part (see [`Aggregation::new_part`]).
    fn part(chain: &Chain, seq: u64) -> Partial {
        match &chain.barrier {
            Barrier::Aggregate {
                window: Some(WindowSpec::Session { .. }),
                ..
            } => Partial::new(chain),
            Barrier::Aggregate { agg, .. } => Partial::Agg(agg.new_part()),
            Barrier::Collect => Partial::Rows(vec![Kept {
                seq,
                ..Kept::default()
            }]),
        }
    }
}

impl crate::batch::Partial for Partial {
    fn absorb(&mut self, other: Partial) {
        match (self, other) {
            (Partial::Agg(a), Partial::Agg(b)) => a.merge(b.as_ref()),
            (Partial::Rows(a), Partial::Rows(b)) => a.extend(b),
            (Partial::Sessions(a), Partial::Sessions(b)) => a.absorb(b),
            _ => unreachable!("invariant: one chain makes one kind of partial"),
        }
    }
}

/// Aligned to two cache lines (a pair of them is fetched together): the
/// workers sit side by side in a `Vec` and each writes its counters per
/// line, which would otherwise make the cores trade a shared line back and
/// forth (false sharing).
#[repr(align(128))]
pub(super) struct Worker {
    /// The open batch's partial (processing time, line count, eof).
    pub(super) partial: Partial,
    pub(super) cx: Ctx,
    /// Which of the fields the chain names its records had.
    pub(super) seen: Seen,
}

/// What the options say about the per-record work, and when the step runs.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub max_line_bytes: usize,
    pub strict: bool,
    /// `--dead-letter`: dropped lines are kept, with their numbers.
    pub dead: bool,
    /// `--stats`: count event-time records per batch.
    pub stats: bool,
    /// The step's wall-clock time (within the open batch): each record's
    /// time for `window session` in processing time.
    pub clock: Nanos,
}

/// What a step made.
pub(super) struct StepOut {
    /// Input lines it read.
    pub lines: u64,
    /// Event time: its partials by batch end.
    pub event: Option<Step<Partial>>,
    /// Event time: the lines it delivered, by the end of the (earliest)
    /// batch each went to.
    pub lines_by_end: BTreeMap<Nanos, u64>,
    /// `--strict`: the first line refused.
    pub offence: Option<Offence>,
    /// `--dead-letter`: the lines it dropped, in input order.
    pub dead: Vec<DeadLine>,
}

/// The workers and the pool they run on.
pub(super) struct Work {
    pub(super) workers: Vec<Worker>,
    pub(super) pool: Option<rayon::ThreadPool>,
    /// Per source: the number of its next line.
    next_line: Vec<u64>,
    /// Sequence number of the next part (input order of kept records).
    seq: u64,
    /// While the pool's threads are kept awake ([`Work::wake`]).
    awake: Option<Arc<Awake>>,
}

impl Work {
    /// Keeps every thread of the pool awake until [`Work::rest`], or for
    /// `most` at most ([`keep_awake`]): a batch's close hands its rows to
    /// the pool, and a thread that has slept a while can take milliseconds
    /// to run again on a virtual machine (its idle core is halted and must
    /// be woken by the host: 1.4-2.3 ms median, up to 5 ms, on this
    /// project's 2-core machine), which the close would wait for. Called
    /// between steps, when nothing on the pool waits on a join: a thread
    /// waiting on one could take its keep-awake job there, and its wait
    /// would last as long.
    pub(super) fn wake(&mut self, most: Duration) {
        if let (Some(pool), None) = (&self.pool, &self.awake) {
            self.awake = Some(keep_awake(pool, most));
        }
    }

    /// The threads kept awake by [`Work::wake`] may sleep again.
    pub(super) fn rest(&mut self) {
        if let Some(a) = self.awake.take() {
            a.rest.store(true, AtomicOrdering::Relaxed);
        }
    }

    pub(super) fn is_awake(&self) -> bool {
        self.awake.is_some()
    }

    pub(super) fn new(
        threads: usize,
        sources: usize,
        chain: &Chain,
        strict: bool,
        seen: &Seen,
    ) -> Self {
        let threads = threads.max(1);
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
                partial: Partial::new(chain),
                cx: Ctx::new(strict),
                seen: seen.clone(),
            })
            .collect();
        Work {
            workers,
            pool,
            next_line: vec![1; sources],
            seq: 0,
            awake: None,
        }
    }

    /// The open batch's partials, one per worker, replaced by fresh ones;
    /// the workers' counters go into `counts`.
    pub(super) fn take_open(&mut self, chain: &Chain, counts: &mut Counts) -> Vec<Partial> {
        let mut parts = Vec::with_capacity(self.workers.len());
        for w in &mut self.workers {
            parts.push(std::mem::replace(&mut w.partial, Partial::new(chain)));
            counts.merge(&std::mem::take(&mut w.cx.counts));
        }
        parts
    }

    /// Source `source` begins a new input: its lines count from 1 again.
    pub(super) fn restart_lines(&mut self, source: u32) {
        let src = source as usize;
        if src >= self.next_line.len() {
            self.next_line.resize(src + 1, 1);
        }
        self.next_line[src] = 1;
    }

    /// The sequence number of the next part (`--state`).
    pub(super) fn seq(&self) -> u64 {
        self.seq
    }

    /// Per source: the number of its next line (`--state`).
    pub(super) fn next_lines(&self) -> &[u64] {
        &self.next_line
    }

    pub(super) fn set_next_lines(&mut self, lines: &[u64]) {
        if self.next_line.len() < lines.len() {
            self.next_line.resize(lines.len(), 1);
        }
        self.next_line[..lines.len()].copy_from_slice(lines);
    }

    /// A restored open batch: its partial (into the first worker), its
    /// counters, and the sequence number parts go on from.
    pub(super) fn restore(&mut self, open: Option<Partial>, counts: Counts, seq: u64) {
        if let (Some(p), Some(w)) = (open, self.workers.first_mut()) {
            w.partial = p;
            w.cx.counts = counts;
        }
        self.seq = seq;
    }

    /// Every worker's counters so far.
    pub(super) fn counts(&self, into: &mut Counts) {
        for w in &self.workers {
            into.merge(&w.cx.counts);
        }
    }

    /// What every worker's records had of the named fields.
    pub(super) fn seen(&self, into: &mut Seen) {
        for w in &self.workers {
            into.merge(&w.seen);
        }
    }

    /// Cuts one chunk into parts for the workers. In processing time parts
    /// go to whichever worker is free, so more, smaller parts keep both busy
    /// when one is descheduled; event time redoes a part on the worker that
    /// ran it, one each.
    pub(super) fn parts<'d>(
        &self,
        chain: &Chain,
        source: u32,
        data: &'d [u8],
        event: bool,
    ) -> Vec<&'d [u8]> {
        let ordered = chain.pre.iter().all(|op| op.ready(source));
        // a plain count of lines: counting a chunk's newlines here costs
        // less than waking the workers for it (`-b eof count` on 200 MB:
        // 0.051 -> 0.042 s)
        let counts_only = !event
            && chain.pre.is_empty()
            && matches!(self.workers.first().map(|w| &w.partial),
                Some(Partial::Agg(s)) if s.counts_only());
        if ordered && !counts_only && self.pool.is_some() && data.len() >= PAR_MIN_BYTES {
            let n = self.workers.len();
            let fine = if event {
                n
            } else {
                (data.len() / PART_MIN_BYTES).clamp(n, n * 8)
            };
            split_parts(data, fine)
        } else {
            vec![data]
        }
    }

    /// Runs the per-record operators over parts of one source, in order
    /// (`cuts`: whether each part's last line was cut by its reader), into
    /// the open batch or, with `event` (its rules and the lines' own
    /// times), into per-batch partials.
    pub(super) fn step(
        &mut self,
        chain: &Chain,
        limits: Limits,
        source: u32,
        parts: Vec<&[u8]>,
        cuts: Vec<bool>,
        event: Option<(Rules<'_>, Option<&LineTimes>)>,
    ) -> StepOut {
        let src = source as usize;
        if src >= self.next_line.len() {
            // a file a followed pattern found after the start
            self.next_line.resize(src + 1, 1);
        }
        let first_line = self.next_line[src];
        // Line numbers matter to --strict (the offending line), to
        // --dead-letter (also when event time redoes a part) and to Kafka's
        // message times (found by line); otherwise the workers count the
        // lines as they go, and this thread does not read the chunk once
        // more first.
        let numbered = limits.strict || limits.dead || matches!(event, Some((_, Some(_))));
        if limits.dead {
            for w in &mut self.workers {
                w.cx.dead.get_or_insert_with(Vec::new);
            }
        }
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
            chain,
            input: source,
            max_line_bytes: limits.max_line_bytes,
            cuts: &cuts,
        };
        let mut lines_by_end = BTreeMap::new();
        let event = match event {
            Some((rules, times)) => {
                let (step, lines) = self.event_step(
                    &job,
                    (rules, times.map(|t| (t, first_line))),
                    limits.stats,
                    &parts,
                    &starts,
                    seq0,
                );
                lines_by_end = lines;
                Some(step)
            }
            None => {
                let sessions = matches!(
                    self.workers.first().map(|w| &w.partial),
                    Some(Partial::Sessions(_))
                );
                match chain.aggregation().filter(|a| a.ordered() && !sessions) {
                    Some(agg) => self.ordered_step(&job, agg, &parts, &starts, seq0, limits.clock),
                    None => {
                        let run = |(i, (w, part)): (usize, (&mut Worker, &&[u8]))| {
                            let Worker { partial, cx, seen } = w;
                            match partial {
                                Partial::Agg(s) => s.at(pos(seq0 + i as u64, 0)),
                                Partial::Sessions(p) => p.at(pos(seq0 + i as u64, 0)),
                                Partial::Rows(_) => {}
                            }
                            let mut to = ToOpen {
                                partial,
                                kept: Kept {
                                    seq: seq0 + i as u64,
                                    ..Kept::default()
                                },
                                chain,
                                clock: limits.clock,
                            };
                            job.run(part, i, starts[i], cx, seen, &mut to);
                            if let (Partial::Rows(r), false) =
                                (&mut to.partial, to.kept.recs.is_empty())
                            {
                                r.push(to.kept);
                            }
                        };
                        on_free_workers(&mut self.workers, self.pool.as_ref(), &parts, run);
                        self.settle();
                    }
                }
                None
            }
        };
        if !numbered {
            let lines_after: u64 = self.workers.iter().map(|w| w.cx.counts.lines).sum();
            line += lines_after - lines_before;
        }
        self.next_line[src] = line;
        let offence = self
            .workers
            .iter_mut()
            .filter_map(|w| w.cx.offence.take())
            .min_by_key(|o| o.line);
        // one source per step: its line numbers put the parts back in order
        let mut dead: Vec<DeadLine> = Vec::new();
        for w in &mut self.workers {
            if let Some(d) = &mut w.cx.dead {
                dead.append(d);
            }
        }
        dead.sort_unstable_by_key(|d| d.line);
        StepOut {
            lines: line - first_line,
            event,
            lines_by_end,
            offence,
            dead,
        }
    }

    /// An aggregation whose result depends on the order records come in
    /// ([`Aggregation::ordered`]): each part into a state of its own, on
    /// the free workers, then merged in input order into the open batch's
    /// (the first worker's), so that the batch's state is the one of
    /// adding every record in order, however the input was cut.
    fn ordered_step(
        &mut self,
        job: &Job<'_>,
        agg: &dyn Aggregation,
        parts: &[&[u8]],
        starts: &[u64],
        seq0: u64,
        clock: Nanos,
    ) {
        let mut results: Vec<Option<Box<dyn AggState>>> = (0..parts.len()).map(|_| None).collect();
        {
            let slots: Vec<std::sync::Mutex<&mut Option<Box<dyn AggState>>>> =
                results.iter_mut().map(std::sync::Mutex::new).collect();
            let run = |(i, (w, part)): (usize, (&mut Worker, &&[u8]))| {
                let mut state = agg.new_part();
                state.at(pos(seq0 + i as u64, 0));
                let mut p = Partial::Agg(state);
                let mut to = ToOpen {
                    partial: &mut p,
                    kept: Kept::default(),
                    chain: job.chain,
                    clock,
                };
                job.run(part, i, starts[i], &mut w.cx, &mut w.seen, &mut to);
                if let (Ok(mut slot), Partial::Agg(s)) = (slots[i].lock(), p) {
                    **slot = Some(s);
                }
            };
            on_free_workers(&mut self.workers, self.pool.as_ref(), parts, run);
        }
        if let Some(Worker {
            partial: Partial::Agg(batch),
            ..
        }) = self.workers.first_mut()
        {
            for s in results.into_iter().flatten() {
                batch.merge(s.as_ref());
            }
        }
    }

    /// `--max-keys`: once a worker's share of the open batch holds more
    /// keys than the bound (each takes every key it meets, not knowing the
    /// others'), the shares are merged, which keeps the first keys by input
    /// position, and every worker goes on with those keys settled: a known
    /// key counts, a new one (later in the input than all of them) goes to
    /// `(other)`. So the keys that keep a row are the first in the input
    /// however it was cut, and no share holds more than the bound past a
    /// step.
    fn settle(&mut self) {
        self.settle_sessions();
        let over = self
            .workers
            .iter()
            .any(|w| matches!(&w.partial, Partial::Agg(s) if s.over_keys()));
        if !over {
            return;
        }
        let mut states = Vec::with_capacity(self.workers.len());
        for w in &mut self.workers {
            if let Partial::Agg(s) = std::mem::replace(&mut w.partial, Partial::Rows(Vec::new())) {
                states.push(s);
            }
        }
        let mut rest = states.split_off(1);
        let Some(mut first) = states.pop() else {
            return;
        };
        for s in rest.drain(..) {
            first.combine(s.as_ref());
        }
        let copies = first.seal(self.workers.len() - 1);
        let mut settled = std::iter::once(first).chain(copies);
        for w in &mut self.workers {
            if let Some(s) = settled.next() {
                w.partial = Partial::Agg(s);
            }
        }
    }

    /// `window session` past `--max-keys`: once a worker's share holds
    /// more keys than the bound, the shares are merged into the first
    /// worker's (which keeps the first keys by input position) and the
    /// others start afresh, so no share grows past the bound and a step.
    fn settle_sessions(&mut self) {
        let over = self
            .workers
            .iter()
            .any(|w| matches!(&w.partial, Partial::Sessions(p) if p.over()));
        if !over {
            return;
        }
        let mut rest = self.workers.iter_mut();
        let Some(Worker {
            partial: Partial::Sessions(first),
            ..
        }) = rest.next()
        else {
            return;
        };
        for w in rest {
            if let Partial::Sessions(p) = &mut w.partial {
                let fresh = p.fresh();
                crate::batch::Partial::absorb(first, std::mem::replace(p, fresh));
            }
        }
        first.bound();
    }

    /// Event time: each part into fresh per-batch partials, checked against
    /// the watermark the sequential stream would have had; and the lines
    /// delivered, by batch end.
    fn event_step(
        &mut self,
        job: &Job<'_>,
        (rules, times): (Rules<'_>, Option<(&LineTimes, u64)>),
        stats: bool,
        parts: &[&[u8]],
        starts: &[u64],
        seq0: u64,
    ) -> (Step<Partial>, BTreeMap<Nanos, u64>) {
        let start_max = rules.max_ts;
        let mut results: Vec<Option<(ToEvent, Counts)>> = (0..parts.len()).map(|_| None).collect();
        {
            let slots: Vec<std::sync::Mutex<&mut Option<(ToEvent, Counts)>>> =
                results.iter_mut().map(std::sync::Mutex::new).collect();
            let run = |(i, (w, part)): (usize, (&mut Worker, &&[u8]))| {
                let before = w.cx.counts.clone();
                let mut to =
                    ToEvent::new(rules, times, job.chain, stats, start_max, seq0 + i as u64);
                job.run(part, i, starts[i], &mut w.cx, &mut w.seen, &mut to);
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
                (Some(m), Some(_)) => prefix != start_max && rules.is_late(m, prefix),
                _ => false,
            };
            if wrong {
                // a record counted as on time was late given the parts
                // before it: redo this part with the right watermark
                let n = self.workers.len();
                let w = &mut self.workers[i % n];
                w.cx.counts = before.clone();
                w.cx.offence = None;
                // and the lines it dropped, to be dropped again or not
                let (from, to_line) = (starts[i], starts.get(i + 1).copied());
                if let Some(d) = &mut w.cx.dead {
                    d.retain(|e| e.line < from || to_line.is_some_and(|t| e.line >= t));
                }
                let mut redo = ToEvent::new(rules, times, job.chain, stats, prefix, to.seq);
                job.run(parts[i], i, starts[i], &mut w.cx, &mut w.seen, &mut redo);
                *to = redo;
            }
            prefix = match (prefix, to.max_ts) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
        let mut step = Step {
            batches: Vec::new(),
            counted: BTreeMap::new(),
            max_ts: prefix,
        };
        let mut lines: BTreeMap<Nanos, u64> = BTreeMap::new();
        for (to, _) in results.into_iter().flatten() {
            for (end, n) in to.counted {
                *step.counted.entry(end).or_default() += n;
            }
            for (end, n) in to.lines.into_iter().chain(to.line_run) {
                *lines.entry(end).or_default() += n;
            }
            step.batches.extend(to.batches);
        }
        (step, lines)
    }
}

/// A pool's threads kept awake by [`keep_awake`].
struct Awake {
    /// Set: they may sleep again.
    rest: AtomicBool,
    /// How many have woken, and how many of those have gone back to sleep.
    woken: AtomicUsize,
    slept: AtomicUsize,
}

/// Keeps every thread of `pool` running until told to rest, or for `most`
/// at most: each takes whatever work the pool is given meanwhile, and
/// otherwise yields its core to the other threads.
fn keep_awake(pool: &rayon::ThreadPool, most: Duration) -> Arc<Awake> {
    let awake = Arc::new(Awake {
        rest: AtomicBool::new(false),
        woken: AtomicUsize::new(0),
        slept: AtomicUsize::new(0),
    });
    let a = Arc::clone(&awake);
    pool.spawn_broadcast(move |_| {
        a.woken.fetch_add(1, AtomicOrdering::Relaxed);
        let woke = Instant::now();
        while !a.rest.load(AtomicOrdering::Relaxed) && woke.elapsed() < most {
            if !matches!(rayon::yield_now(), Some(rayon::Yield::Executed)) {
                std::thread::yield_now();
            }
        }
        a.slept.fetch_add(1, AtomicOrdering::Relaxed);
    });
    awake
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
    chain: &'p Chain,
    /// The source id of every part.
    input: u32,
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

    /// Whether [`Deliver::deliver_values`] may be called: the records go
    /// to an aggregation's state, and nothing but their values is read.
    fn takes_values(&self) -> bool {
        false
    }

    /// The field a record's time is read from, when it needs its value
    /// besides the aggregation's (`--event-time FIELD`).
    fn time_field(&self) -> Option<&str> {
        None
    }

    /// Takes a line's one record as the values of the fields `v` names;
    /// returns how many records it accepted, as [`Deliver::deliver`] does.
    fn deliver_values(
        &mut self,
        v: &ValueNames,
        vals: &[Option<Value<'_>>],
        raw: &str,
        cx: &mut Ctx,
    ) -> u64;
}

/// The fields a line's values are asked for on the values path: the
/// aggregation's ([`Aggregation::value_fields`]) first, then the time
/// field when it is not one of them.
struct ValueNames {
    names: Vec<String>,
    /// How many of `names` are the aggregation's.
    agg: usize,
    /// Where the time field is among them.
    time: Option<usize>,
}

impl ValueNames {
    /// The aggregation's names and values (`vals` in the order of `names`).
    fn agg<'v, 'a>(
        &'v self,
        vals: &'v [Option<Value<'a>>],
    ) -> (&'v [String], &'v [Option<Value<'a>>]) {
        let n = self.agg.min(vals.len());
        (&self.names[..n], &vals[..n])
    }
}

/// Into the open batch's partial.
struct ToOpen<'s> {
    partial: &'s mut Partial,
    kept: Kept,
    chain: &'s Chain,
    /// The step's wall-clock time: each record's time for `window
    /// session` in processing time.
    clock: Nanos,
}

impl Deliver for ToOpen<'_> {
    fn fused(&mut self) -> Option<&mut dyn AggState> {
        match self.partial {
            Partial::Agg(s) => Some(s.as_mut()),
            Partial::Rows(_) | Partial::Sessions(_) => None,
        }
    }

    fn takes_values(&self) -> bool {
        matches!(self.partial, Partial::Agg(_))
    }

    fn deliver_values(
        &mut self,
        v: &ValueNames,
        vals: &[Option<Value<'_>>],
        _raw: &str,
        cx: &mut Ctx,
    ) -> u64 {
        match self.partial {
            Partial::Agg(s) => {
                let (names, vals) = v.agg(vals);
                s.add_values(names, vals);
                cx.counts.records += 1;
                1
            }
            Partial::Rows(_) | Partial::Sessions(_) => {
                unreachable!("invariant: values go only to an aggregation's state")
            }
        }
    }

    fn deliver<'a>(&mut self, recs: &mut Vec<Record<'a>>, raw: &'a str, cx: &mut Ctx) -> u64 {
        let n = recs.len() as u64;
        cx.counts.records += n;
        match self.partial {
            Partial::Agg(s) => {
                for rec in recs.iter() {
                    s.add(rec);
                }
            }
            Partial::Rows(_) => {
                if !recs.is_empty() {
                    let at = self.kept.recs.len();
                    self.kept.starts.push(u32::try_from(at).unwrap_or(u32::MAX));
                    if let Some(l) = LineRef::of(self.chain, raw, cx) {
                        self.kept.lines.push(l);
                    }
                }
                self.kept
                    .recs
                    .extend(recs.iter_mut().map(Record::take_owned));
            }
            Partial::Sessions(p) => {
                if let Some(agg) = self.chain.aggregation() {
                    for rec in recs.iter() {
                        p.add(rec, self.clock, agg);
                    }
                }
            }
        }
        n
    }
}

/// Into fresh per-batch partials, by each record's own time.
struct ToEvent<'c> {
    rules: Rules<'c>,
    /// `--event-time kafka`: the chunk's line times and its first line's
    /// number.
    times: Option<(&'c LineTimes, u64)>,
    chain: &'c Chain,
    /// Count records per batch for `--stats`.
    stats: bool,
    seq: u64,
    /// The index within the part of the next record placed.
    idx: u64,
    max_ts: Option<Nanos>,
    min_end_accepted: Option<Nanos>,
    batches: BTreeMap<Nanos, Partial>,
    /// `--stats`: records accepted, by batch end.
    counted: BTreeMap<Nanos, u64>,
    /// The last interval looked up on a local (`--tz`) grid: records come
    /// mostly in order, and a local boundary costs a zone lookup.
    last: Option<(Nanos, Nanos)>,
    /// Lines with a record accepted, by the end of the earliest batch one
    /// went to (what `--max-batches` leaves unemitted when it is not
    /// written).
    lines: BTreeMap<Nanos, u64>,
    /// The latest run of lines into one batch, not yet in `lines` (most
    /// lines go where the line before went).
    line_run: Option<(Nanos, u64)>,
    /// The batches the current line's records went to so far (kept
    /// records: where each line's start).
    line_ends: Vec<Nanos>,
    /// The current line, when kept records must name it (see [`LineRef`]).
    line_ref: Option<LineRef>,
}

impl<'c> ToEvent<'c> {
    /// The end of the batch that holds `ts`.
    fn end_of(&mut self, ts: Nanos) -> Nanos {
        let grid = self.rules.grid;
        if grid.is_epoch() {
            return grid.end_of(ts);
        }
        match self.last {
            Some((start, end)) if start <= ts && ts < end => end,
            _ => {
                let (start, end) = grid.interval_of(ts);
                self.last = Some((start, end));
                end
            }
        }
    }

    fn new(
        rules: Rules<'c>,
        times: Option<(&'c LineTimes, u64)>,
        chain: &'c Chain,
        stats: bool,
        start_max: Option<Nanos>,
        seq: u64,
    ) -> Self {
        ToEvent {
            rules,
            times,
            chain,
            stats,
            seq,
            idx: 0,
            max_ts: start_max,
            min_end_accepted: None,
            batches: BTreeMap::new(),
            counted: BTreeMap::new(),
            last: None,
            lines: BTreeMap::new(),
            line_run: None,
            line_ends: Vec::new(),
            line_ref: None,
        }
    }

    /// A line delivered records, the earliest to the batch ending at `end`.
    fn count_line(&mut self, end: Nanos) {
        match &mut self.line_run {
            Some((e, n)) if *e == end => *n += 1,
            run => {
                if let Some((e, n)) = run.replace((end, 1)) {
                    *self.lines.entry(e).or_default() += n;
                }
            }
        }
    }
}

/// A record's timestamp from a field: text in any supported format (or
/// `--event-time-format`'s), or a number of epoch seconds (10 digits) or
/// milliseconds (13 digits).
fn value_time(v: &Value<'_>, reader: &Reader) -> Option<Nanos> {
    match v {
        Value::Str(s) => reader.parse(s),
        Value::Int(_) | Value::Float(_) => reader.parse(&v.text()),
        _ => None,
    }
}

/// One record for [`ToEvent`] to place: whole, or as the values of the
/// aggregation's fields (see [`Deliver::deliver_values`]).
enum One<'r, 'a> {
    Record(&'r mut Record<'a>),
    Values(&'r [String], &'r [Option<Value<'a>>]),
}

/// What became of a line's records in [`ToEvent`].
#[derive(Default)]
struct LineFate {
    accepted: u64,
    /// The end of the earliest batch a record went to.
    first_end: Option<Nanos>,
    untimed: bool,
    late: bool,
}

impl ToEvent<'_> {
    /// The time of the line itself (`--event-time auto`) or of its
    /// message (`kafka`); `None` for a field's time.
    fn line_time(&self, raw: &str, cx: &Ctx) -> Option<Nanos> {
        match self.rules.source {
            EventTime::Auto => self.rules.reader.find(raw),
            EventTime::Kafka => self
                .times
                .and_then(|(t, first)| t.get(cx.line.wrapping_sub(first))),
            EventTime::Field(_) => None,
        }
    }

    /// Places one record of time `ts` into its batch's partial, unless it
    /// has no time or its batch was emitted.
    fn place(&mut self, one: One<'_, '_>, ts: Option<Nanos>, fate: &mut LineFate, cx: &mut Ctx) {
        let Some(ts) = ts else {
            fate.untimed = true;
            return;
        };
        let end = self.end_of(ts);
        if self.rules.is_late(end, self.max_ts) {
            fate.late = true;
            return;
        }
        self.min_end_accepted = Some(self.min_end_accepted.map_or(end, |x| x.min(end)));
        fate.first_end = Some(fate.first_end.map_or(end, |x| x.min(end)));
        self.max_ts = Some(self.max_ts.map_or(ts, |m| m.max(ts)));
        cx.counts.records += 1;
        fate.accepted += 1;
        if self.stats {
            *self.counted.entry(end).or_default() += 1;
        }
        let (chain, seq, idx) = (self.chain, self.seq, self.idx);
        self.idx += 1;
        let partial = self
            .batches
            .entry(end)
            .or_insert_with(|| Partial::part(chain, seq));
        match (partial, one) {
            (Partial::Agg(s), One::Record(rec)) => {
                s.at(pos(seq, idx));
                s.add(rec);
            }
            (Partial::Agg(s), One::Values(names, vals)) => {
                s.at(pos(seq, idx));
                s.add_values(names, vals);
            }
            (Partial::Rows(r), One::Record(rec)) => {
                if let Some(kept) = r.last_mut() {
                    // the line's first record in this batch
                    if !self.line_ends.contains(&end) {
                        self.line_ends.push(end);
                        let at = kept.recs.len();
                        kept.starts.push(u32::try_from(at).unwrap_or(u32::MAX));
                        if let Some(l) = &self.line_ref {
                            kept.lines.push(l.clone());
                        }
                    }
                    kept.recs.push(rec.take_owned());
                }
            }
            (Partial::Sessions(p), One::Record(rec)) => {
                if let Some(agg) = chain.aggregation() {
                    p.at(pos(seq, idx));
                    p.add(rec, ts, agg);
                }
            }
            (Partial::Rows(_) | Partial::Sessions(_), One::Values(..)) => {
                unreachable!("invariant: values go only to an aggregation's state")
            }
        }
    }

    /// Accounts for a line whose records were placed: returns how many
    /// were accepted.
    fn end_line(&mut self, fate: LineFate, cx: &mut Ctx) -> u64 {
        self.line_ends.clear();
        if let Some(end) = fate.first_end {
            self.count_line(end);
        }
        if fate.untimed {
            let what = match self.rules.source {
                EventTime::Auto => "no timestamp found in the line".to_string(),
                EventTime::Field(f) => match self.rules.reader.format() {
                    Some(fmt) => format!(
                        "field '{f}' is missing or does not fit --event-time-format '{fmt}'"
                    ),
                    None => format!("no readable timestamp in field '{f}'"),
                },
                EventTime::Kafka => "the Kafka message has no timestamp".to_string(),
            };
            cx.drop_line(Reason::Untimed, what);
        }
        if fate.late {
            cx.drop_line(
                Reason::Late,
                "its batch was already emitted (the watermark had passed it)",
            );
        }
        fate.accepted
    }
}

impl Deliver for ToEvent<'_> {
    fn deliver<'a>(&mut self, recs: &mut Vec<Record<'a>>, raw: &'a str, cx: &mut Ctx) -> u64 {
        let mut fate = LineFate::default();
        if matches!(self.chain.barrier, Barrier::Collect) {
            self.line_ref = LineRef::of(self.chain, raw, cx);
        }
        // the line's time, found once for all its records
        let mut line_ts: Option<Option<Nanos>> = None;
        for rec in recs.iter_mut() {
            let ts = match self.rules.source {
                EventTime::Field(f) => rec
                    .lookup(f)
                    .and_then(|v| value_time(&v, self.rules.reader)),
                EventTime::Auto | EventTime::Kafka => {
                    *line_ts.get_or_insert_with(|| self.line_time(raw, cx))
                }
            };
            self.place(One::Record(rec), ts, &mut fate, cx);
        }
        self.end_line(fate, cx)
    }

    fn takes_values(&self) -> bool {
        // the line's time is the line's own, its message's, or a plain
        // field's (asked for with the aggregation's); the partials are an
        // aggregation's states
        !matches!(self.rules.source, EventTime::Field(f) if !value_field(f))
            && matches!(
                self.chain.barrier,
                Barrier::Aggregate { ref window, .. }
                    if !matches!(window, Some(WindowSpec::Session { .. }))
            )
    }

    fn time_field(&self) -> Option<&str> {
        match self.rules.source {
            EventTime::Field(f) => Some(f),
            EventTime::Auto | EventTime::Kafka => None,
        }
    }

    fn deliver_values(
        &mut self,
        v: &ValueNames,
        vals: &[Option<Value<'_>>],
        raw: &str,
        cx: &mut Ctx,
    ) -> u64 {
        let mut fate = LineFate::default();
        let ts = match self.rules.source {
            EventTime::Field(_) => v
                .time
                .and_then(|i| vals.get(i))
                .and_then(Option::as_ref)
                .and_then(|t| value_time(t, self.rules.reader)),
            EventTime::Auto | EventTime::Kafka => self.line_time(raw, cx),
        };
        let (names, vals) = v.agg(vals);
        self.place(One::Values(names, vals), ts, &mut fate, cx);
        self.end_line(fate, cx)
    }
}

impl Job<'_> {
    /// Runs the per-record operators over one part (whole lines).
    fn run<D: Deliver>(
        &self,
        data: &[u8],
        part: usize,
        first_line: u64,
        cx: &mut Ctx,
        seen: &mut Seen,
        d: &mut D,
    ) {
        cx.input = self.input;
        let max = self.max_line_bytes;
        let cut_last = self.cuts.get(part).copied().unwrap_or(false);
        let mut cur: Vec<Record<'_>> = Vec::with_capacity(16);
        let mut next: Vec<Record<'_>> = Vec::with_capacity(16);
        // the field lists of a line's records, emptied, for the next
        // line's: one allocation per part, not one per line
        let mut spare: Vec<Vec<Field<'_>>> = Vec::new();
        // a lone splitter before the aggregation: tokens go straight in
        let fused = match self.chain.pre.as_slice() {
            [op] => Some(op.as_ref()),
            _ => None,
        };
        // the whole part in one pass when nothing about a line can need a
        // repair, a cut or a drop: ASCII, no line over the limit (looked
        // at only for the splitter that can take a block)
        if let (Some(op), false) = (fused, cut_last) {
            if op.splits_ascii_whitespace()
                && data.is_ascii()
                && (data.len() <= max || longest_line(data) <= max)
            {
                if let Some(state) = d.fused() {
                    // no records: only _ reaches the aggregation, by the
                    // state's own split and insert, else by the splitter
                    // handing it each token
                    let counted = state.add_ascii_words(data).or_else(|| {
                        let mut n = 0u64;
                        op.tokens_block(data, &mut |t| {
                            state.add_current_ascii(t);
                            n += 1;
                        })
                        .map(|(with, without)| (with, without, n))
                    });
                    if let Some((with, without, n)) = counted {
                        if n > 0 && seen.open {
                            seen.bare_at_barrier();
                        }
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
        if self.chain.pre.is_empty()
            && !cut_last
            && (data.len() <= max || longest_line(data) <= max)
        {
            if let Some(state) = d.fused() {
                // a count reads no line: valid UTF-8 is all it asks (a
                // line's `\r` or non-ASCII text changes nothing)
                let counted = if state.counts_only() {
                    utf8_newlines(data)
                } else {
                    None
                };
                let n = if let Some(n) = counted {
                    state.add_lines(n);
                    Some(n)
                } else if data.is_ascii() && memchr::memchr(b'\r', data).is_none() {
                    let mut n = 0;
                    let mut start = 0;
                    for nl in crate::simd::Newlines::new(data) {
                        state.add_current_ascii(&data[start..nl]);
                        start = nl + 1;
                        n += 1;
                    }
                    Some(n)
                } else {
                    None
                };
                if let Some(n) = n {
                    if n > 0 && seen.open {
                        seen.bare_at_barrier();
                    }
                    cx.counts.lines += n;
                    cx.counts.processed += n;
                    cx.counts.records += n;
                    return;
                }
            }
        }
        // a lone field-making operator before an aggregation that reads a
        // few plain fields: their values go straight in, with no record
        let value_names: Option<ValueNames> = match (fused, self.chain.aggregation()) {
            (Some(op), Some(agg)) if d.takes_values() => agg
                .value_fields()
                .map(|names| {
                    let mut names = names.to_vec();
                    let agg = names.len();
                    let time = d.time_field().map(|f| {
                        names.iter().position(|n| n == f).unwrap_or_else(|| {
                            names.push(f.to_string());
                            agg
                        })
                    });
                    ValueNames { names, agg, time }
                })
                .filter(|v| v.names.len() <= VALUE_FIELDS && op.gives_values(&v.names)),
            _ => None,
        };
        // the part checked as UTF-8 once, not line by line (simdutf8: 32
        // bytes a step where std takes 8, and far more on non-ASCII text)
        let whole = simdutf8::basic::from_utf8(data).ok();
        let mut start = 0;
        for (line_no, nl) in (first_line..).zip(crate::simd::Newlines::new(data)) {
            let line_start = start;
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
            let checked = whole.and_then(|w| w.get(line_start..line_start + line.len()));
            let (text, raw): (Cow<'_, str>, &str) =
                match checked.map_or_else(|| std::str::from_utf8(line), Ok) {
                    Ok(s) => (Cow::Borrowed(s), s),
                    Err(e) => {
                        let valid = std::str::from_utf8(&line[..e.valid_up_to()]).unwrap_or("");
                        cx.drop_line(Reason::BadUtf8, "invalid UTF-8 replaced with U+FFFD");
                        (String::from_utf8_lossy(line), valid)
                    }
                };
            let direct = match (fused, &value_names, seen.open) {
                (Some(op), Some(v), false) => {
                    // all None, as `values` expects; only the slots in use
                    // can be filled, and only they are dropped (a drop of
                    // all eight cost more than the aggregation's add)
                    let mut all =
                        std::mem::ManuallyDrop::new(<[Option<Value<'_>>; VALUE_FIELDS]>::default());
                    let vals = &mut all[..v.names.len().min(VALUE_FIELDS)];
                    cx.project = true;
                    let delivered = op
                        .values(&text, &v.names, vals)
                        .then(|| d.deliver_values(v, vals, raw, cx));
                    vals.iter_mut().for_each(|v| drop(v.take()));
                    delivered
                }
                _ => None,
            };
            if let (Some(op), None, Some(state)) = (fused, &value_names, d.fused()) {
                let mut n = 0u64;
                if op.tokens(&text, &mut |t| {
                    state.add_current(t);
                    n += 1;
                }) {
                    if n > 0 && seen.open {
                        seen.bare_at_barrier();
                    }
                    cx.counts.records += n;
                    cx.end_line(n);
                    if cx.offence.is_some() {
                        break;
                    }
                    continue;
                }
            }
            let delivered = match direct {
                Some(delivered) => delivered,
                None => {
                    for rec in cur.drain(..) {
                        recycle(&mut spare, rec.fields);
                    }
                    if cx.dead.is_some() || cx.strict {
                        // a drop after the barrier names it as repaired
                        cx.repaired = match &text {
                            Cow::Owned(repaired) => Some(repaired.clone()),
                            Cow::Borrowed(_) => None,
                        };
                    }
                    let mut rec = Record::from_line(text, raw);
                    rec.fields = spare.pop().unwrap_or_default();
                    cur.push(rec);
                    cx.project = !seen.open;
                    for (k, op) in self.chain.pre.iter().enumerate() {
                        if seen.open {
                            seen.look(At::Pre(k), &cur);
                        }
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
                        0
                    } else {
                        if seen.open {
                            seen.look(At::Barrier, &cur);
                        }
                        d.deliver(&mut cur, raw, cx)
                    }
                }
            };
            if let Some(reason) = cx.end_line(delivered) {
                if let Some(d) = &mut cx.dead {
                    // the line as read, after repair
                    d.push(DeadLine {
                        reason,
                        line: line_no,
                        text: String::from_utf8_lossy(line).into_owned(),
                    });
                }
            }
            if cx.offence.is_some() {
                break;
            }
        }
    }
}

/// How many emptied field lists a worker keeps for its next lines.
const SPARE_LISTS: usize = 16;

/// Keeps `fields`' allocation, emptied, for a later record (unless it has
/// none, is outsized, or enough are kept).
fn recycle<'a>(spare: &mut Vec<Vec<Field<'a>>>, mut fields: Vec<Field<'a>>) {
    if fields.capacity() > 0 && fields.capacity() <= 64 && spare.len() < SPARE_LISTS {
        fields.clear();
        spare.push(fields);
    }
}

/// The newlines of `data` if it is valid UTF-8: ASCII checked as they are
/// counted, in one pass ([`crate::simd::ascii_newlines`]); other text
/// validated, then counted.
fn utf8_newlines(data: &[u8]) -> Option<u64> {
    crate::simd::ascii_newlines(data).or_else(|| {
        simdutf8::basic::from_utf8(data)
            .is_ok()
            .then(|| memchr::memchr_iter(b'\n', data).count() as u64)
    })
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
pub(super) fn nth_line_end(data: &[u8], n: u64) -> usize {
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

    /// Waits up to 10 s for `count` to reach `n`.
    fn reaches(count: &AtomicUsize, n: usize) -> bool {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if count.load(AtomicOrdering::Relaxed) == n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    }

    /// Threads kept awake still take the pool's work (a batch's close, in
    /// parallel), and sleep again when told or when their time is up.
    #[test]
    fn engine_threads_kept_awake_take_work_and_rest() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("a two-thread pool");
        let a = keep_awake(&pool, Duration::from_secs(60));
        assert!(reaches(&a.woken, 2), "both threads awake");
        let sum: u64 = pool.install(|| (1..=100_000u64).into_par_iter().sum());
        assert_eq!(sum, 5_000_050_000);
        let (x, y) = pool.install(|| rayon::join(|| 1, || 2));
        assert_eq!((x, y), (1, 2));
        // the work was taken while they were awake, not after
        assert_eq!(a.slept.load(AtomicOrdering::Relaxed), 0);
        a.rest.store(true, AtomicOrdering::Relaxed);
        assert!(reaches(&a.slept, 2), "told to rest, both sleep");
        // not told: for `most` at most
        let b = keep_awake(&pool, Duration::from_millis(50));
        assert!(reaches(&b.slept, 2), "both sleep after their time");
        assert_eq!(b.woken.load(AtomicOrdering::Relaxed), 2);
        assert!(!b.rest.load(AtomicOrdering::Relaxed));
    }

    #[test]
    fn engine_nth_line_end() {
        assert_eq!(nth_line_end(b"a\nb\nc\n", 2), 4);
        assert_eq!(nth_line_end(b"a\nb\n", 5), 4);
        assert_eq!(nth_line_end(b"a\n", 0), 0);
    }
}
