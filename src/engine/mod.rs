//! The engine: a small loop that receives chunks of lines from the sources
//! and signals, hands each chunk to the parallel work ([`parallel`]), asks
//! the batcher (`batch/`) what is due and closes it ([`close`]).
//!
//! Processing time, line count and eof: each worker keeps its own partial
//! result of the open batch, combined when it closes (an aggregation that
//! depends on record order merges each part's state in input order into
//! the first worker's instead). Event time: each part
//! of a chunk builds fresh per-batch partials, which the batcher keeps
//! until the watermark passes them.

mod close;
mod parallel;
mod state;

pub use state::{Checkpoint, Position, Snapshot};
mod seen;
mod session;

use std::io::Write;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, select};

use crate::accounting::{Counts, Offence, Pending};
use crate::batch::{
    self, BatchMode, Batcher, Batching, Due, Grid, Held, WindowSpec, Windows, nanos, now, until,
};
use crate::ops::chain::Chain;
use crate::sink::{BatchOut, Formatter};
use crate::source::{Chunk, LineTimes, Mark, Msg, PartitionOffset, Roster};
use crate::timestamp::Nanos;

/// How long before a processing-time batch's end the workers are woken
/// for its close, when the batch before it closed with many rows
/// ([`Work::wake`]): T4 (2,000,000 lines/s, 100 ms batches of 50,000
/// distinct words) closed in 7.3 ms (median) without, 4.8-5.3 ms with 2 to
/// 8 ms ahead.
const WAKE_AHEAD: Nanos = 4_000_000;
/// The longest the workers stay awake for one close.
const WAKE_MOST: Duration = Duration::from_millis(40);
/// Only batches at least this many times [`WAKE_AHEAD`] long wake their
/// workers early (at most a twentieth of the time spent awake waiting).
const WAKE_SHARE: i64 = 20;
use parallel::{Limits, PAR_MIN_BYTES, Partial, Work, nth_line_end};
use seen::Seen;

/// `--state`: how often it is written while input is read and no batch is
/// written (besides after each written batch).
const COMMIT_EVERY: Duration = Duration::from_secs(1);
/// SIGTERM's number: with `--state` it suspends instead of draining.
const SIGTERM: i32 = 15;
/// How much queued input [`Engine::gather`] takes behind a small chunk.
const GATHER_BYTES: usize = 1 << 18;
/// How much queued input [`Engine::gather`] takes behind a full chunk
/// when no batch end is to be met (`-b eof`).
const GATHER_MOST: usize = 4 << 20;
/// `--speed`: lines processed between two looks at the clock while the
/// replay is behind (one at a time otherwise).
const PACE_LINES: u64 = 64;
/// `--speed`: how late lines may be read for the replay to count as
/// keeping up.
const PACE_BEHIND: Duration = Duration::from_millis(2);

/// What the run left of a chunk when it stopped inside it.
enum Left {
    /// Nothing: every line was taken.
    None,
    /// Its last bytes, and the Kafka offsets after the lines taken.
    Bytes(usize, Vec<PartitionOffset>),
}

impl Left {
    fn of(bytes: usize, offsets: Vec<PartitionOffset>) -> Left {
        if bytes == 0 {
            Left::None
        } else {
            Left::Bytes(bytes, offsets)
        }
    }
}

/// The engine's part of the plan.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Worker threads (`--threads`); results never depend on it.
    pub threads: usize,
    /// `--strict`: the first dropped, cut or repaired line stops the run.
    pub strict: bool,
    /// `--stats`: a line per batch on standard error.
    pub stats: bool,
    /// `--max-batches`: stop after this many written batches or windows.
    pub max_batches: Option<u64>,
    /// `--duration`: stop after this long.
    pub duration: Option<Duration>,
    /// `--exit-on-row`: stop after the first batch or window that writes a
    /// row.
    pub exit_on_row: bool,
    /// `--speed X`: replay event time at X times the pace it was recorded.
    pub speed: Option<f64>,
    pub max_line_bytes: usize,
    /// `--state`: SIGTERM and `--duration` suspend (nothing more is
    /// written; the open batches stay in the state) instead of draining.
    pub suspend: bool,
    /// How the times a row carries (a session's start and end) print: as
    /// the output prints batch times (`--time-format`, and whether with
    /// milliseconds).
    pub time_format: crate::timestamp::TimeFormat,
    pub millis: bool,
    /// The zone those times print in: `--tz` for `pretty` and `spark`,
    /// which print batch times there too (else UTC).
    pub row_zone: Option<crate::zone::Zone>,
    /// `--with-start`: every batch is written with its start (see
    /// [`Engine::batch_start`]).
    pub with_start: bool,
}

/// Why a run stopped early with an error.
#[derive(Debug)]
pub enum Stop {
    /// `--strict` refused a line.
    Strict { source: String, offence: Offence },
    /// Writing the output failed (a closed pipe among others).
    Output(std::io::Error),
    /// A source failed.
    Source(anyhow::Error),
    /// Writing `--dead-letter`'s file failed.
    DeadLetter(std::io::Error),
    /// Writing `--state`'s file failed (the message names it).
    State(String),
}

/// What the engine's loop wakes up for: one at a time, on the stack, moved
/// out at once (a chunk is a message's size; boxing it would cost an
/// allocation per chunk for nothing).
#[allow(clippy::large_enum_variant)]
enum Event {
    Msg(Msg),
    Signal(i32),
    Timeout,
    Closed,
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

pub struct Engine<'r> {
    chain: &'r Chain,
    opts: &'r EngineOptions,
    emit_empty: bool,
    /// `--stats`: the interval to warn against (processing time only).
    interval: Option<Duration>,
    names: Roster,
    work: Work,
    batcher: Box<dyn Batcher<Partial>>,
    counts: Counts,
    /// Lines in batches closed into windows, or kept by event time, that
    /// are not written yet.
    pending: Pending,
    /// Once the run is over: the lines read whose batch was never written.
    unemitted: u64,
    /// Which of the fields the chain names the rows after the barrier had
    /// (the workers keep their own for the records before it).
    seen: Seen,
    windows: Option<Windows>,
    /// `window session GAP`: the sessions open per key.
    sessions: Option<session::Track>,
    fmt: Box<dyn Formatter>,
    /// A large batch's text, formatted on the workers before it is
    /// written (kept from batch to batch).
    text: Vec<u8>,
    out: &'r mut dyn Write,
    emitted: u64,
    /// Whether any batch or window wrote a row.
    wrote_row: bool,
    /// `--speed`: when the replay began and the event time it began at.
    pace: Option<(Instant, Nanos)>,
    /// `--speed`: the last lines' time had come already when they were
    /// read (the replay is behind: lines are taken more at a time).
    pace_behind: bool,
    /// The signals, to be heard while `--speed` waits.
    signals: Option<Receiver<i32>>,
    /// A signal heard while `--speed` waited.
    interrupted: Option<i32>,
    done: bool,
    /// `--max-batches` or `--exit-on-row` stopped the run inside a step:
    /// that step is not committed to the state (its other batches and
    /// windows, and what it read, would be lost to a run that goes on);
    /// a restart does it again, the output file cut back to the state.
    stopped: bool,
    /// Batches the run a state is of wrote after the state, in the step
    /// `--max-batches` or `--exit-on-row` stopped it in: a run that goes on
    /// does that step again and closes them again, formatted but not
    /// written (see [`Engine::commit`]).
    ahead: u64,
    /// Lines of written batches kept with no aggregation first that the
    /// operators after the barrier (`sort`, `head`, then filters and
    /// parsers) left no record of: counted processed by the workers, in
    /// the end filtered (`filtered`) or dropped (`by_reason`).
    post_moved: Counts,
    /// Per source, its unfinished line (see [`Chunk::tail`]).
    tails: std::collections::BTreeMap<u32, Vec<u8>>,
    /// The batches are cut by what was read (event time, line count, end
    /// of input), not by the wall clock: a step done again closes the same
    /// batches, in the same order.
    replays: bool,
    watch: Option<&'r mut dyn Watch>,
    /// Chunks taken so far; numbers the marks.
    chunk_no: u64,
    /// The marks of chunks not yet wholly in a written batch, oldest
    /// first, with their chunk's number.
    marks: std::collections::VecDeque<(u64, Mark)>,
    /// Event time: per open batch, the number of the first chunk that put
    /// a record in it (the chunks before the oldest are wholly written).
    first_chunk: std::collections::BTreeMap<Nanos, u64>,
    /// `--dead-letter`: where dropped lines go.
    dead: Option<&'r mut dyn Write>,
    /// Where `-b DURATION`'s batches begin and end, its step the batch's
    /// length (on `--tz`'s wall clock for an hour or more: a day across a
    /// DST change is 23 or 25 hours); none for `--batch-lines` and `-b
    /// eof`, whose batches start where the one before closed.
    grid: Option<Grid>,
    /// When the last batch closed (the run's start before the first).
    last_close: Nanos,
    /// The last batch written had many rows (its close ran on the pool):
    /// the workers are woken ahead of the next one's end.
    big_close: bool,
    /// The first batch's start (`window all`'s, with `--with-start`).
    first_start: Option<Nanos>,
    /// `--state`: where the state goes after each step that wrote.
    checkpoint: Option<&'r mut dyn Checkpoint>,
    /// Per source id: the end of its last chunk read whole, and whether
    /// that ended inside a cut line.
    positions: Vec<Option<(u64, bool)>>,
    /// Per source id: a Kafka input's partitions, each with the next
    /// offset after its last chunk read whole.
    offsets: Vec<Vec<PartitionOffset>>,
    /// Per source id: how many times it began a new input (a followed
    /// path's new file), so that the state knows which file a position is in.
    begins: Vec<u32>,
    /// Batches written when the state was last handed over.
    committed: u64,
    /// The positions and offsets then, and when it was.
    committed_positions: Vec<Option<(u64, bool)>>,
    committed_offsets: Vec<Vec<PartitionOffset>>,
    last_commit: Instant,
    /// Every input ended and every batch was written.
    finished: bool,
    /// `--state`'s SIGTERM or `--duration`: stopped without writing the
    /// open batches.
    suspended: bool,
    /// `--state`: the run goes on from a finished state (to read what was
    /// appended since, or a replaced file).
    went_on: bool,
    /// A chunk of input was read.
    read_any: bool,
}

impl<'r> Engine<'r> {
    pub fn new(
        chain: &'r Chain,
        batching: &Batching,
        opts: &'r EngineOptions,
        names: Roster,
        fmt: Box<dyn Formatter>,
        out: &'r mut dyn Write,
    ) -> Self {
        let event_field = match &batching.event_time {
            Some(batch::EventTime::Field(f)) => Some(f.as_str()),
            _ => None,
        };
        let work = Work::new(
            opts.threads,
            names.len(),
            chain,
            opts.strict,
            &Seen::new(chain, event_field, false),
        );
        let seen = Seen::new(chain, event_field, true);
        Engine {
            chain,
            opts,
            // `-b eof`: the one batch is always written, even empty (count
            // prints 0, as `wc -l` does)
            emit_empty: batching.emit_empty || batching.mode == BatchMode::Eof,
            interval: batching
                .interval()
                .filter(|_| batching.event_time.is_none()),
            names,
            work,
            batcher: batch::batcher(&Self::batcher_batching(chain, batching), now()),
            grid: batching
                .interval()
                .map(|d| Grid::new(nanos(d), batching.zone)),
            last_close: now(),
            big_close: false,
            first_start: None,
            counts: Counts::default(),
            pending: Pending::default(),
            unemitted: 0,
            seen,
            windows: chain
                .window()
                .filter(|w| !matches!(w, WindowSpec::Session { .. }))
                .map(|w| {
                    Windows::new(w)
                        .in_zone(batching.interval().map_or(1, nanos), batching.zone)
                        .event_time(batching.event_time.is_some())
                }),
            sessions: session::Track::new(chain, batching),
            fmt,
            text: Vec::new(),
            out,
            emitted: 0,
            wrote_row: false,
            pace: None,
            pace_behind: false,
            signals: None,
            interrupted: None,
            done: false,
            stopped: false,
            ahead: 0,
            post_moved: Counts::default(),
            tails: std::collections::BTreeMap::new(),
            replays: batching.event_time.is_some() || batching.interval().is_none(),
            watch: None,
            chunk_no: 0,
            marks: Default::default(),
            first_chunk: Default::default(),
            dead: None,
            checkpoint: None,
            positions: Vec::new(),
            offsets: Vec::new(),
            begins: Vec::new(),
            committed: 0,
            committed_positions: Vec::new(),
            committed_offsets: Vec::new(),
            last_commit: Instant::now(),
            finished: false,
            suspended: false,
            went_on: false,
            read_any: false,
        }
    }

    /// The batching the batcher works to: in event time, windows and
    /// sessions show their empty windows and batches themselves (each
    /// under its own cap, see [`batch::event::Cap`]), so the batcher gives
    /// them only the batches that got records.
    fn batcher_batching(chain: &Chain, batching: &Batching) -> Batching {
        let mut b = batching.clone();
        if b.event_time.is_some() && chain.window().is_some() {
            b.emit_empty = false;
        }
        b
    }

    /// Lets `w` see every chunk and written batch, and the `--stats` lines.
    /// `--dead-letter`: every dropped line is written to `w` as one JSON
    /// object, in input order.
    pub fn dead_letter(&mut self, w: &'r mut dyn Write) {
        self.dead = Some(w);
    }

    /// Writes a step's dropped lines (of source `source`) to the dead
    /// letters.
    fn dead_letters(
        &mut self,
        source: u32,
        lines: &[crate::accounting::DeadLine],
    ) -> Result<(), Stop> {
        let Some(w) = &mut self.dead else {
            return Ok(());
        };
        let input = self.names.input_name(source);
        let mut text = String::new();
        for d in lines {
            text.push_str(&d.json(&input));
            text.push('\n');
        }
        w.write_all(text.as_bytes()).map_err(Stop::DeadLetter)
    }

    pub fn watch(&mut self, w: &'r mut dyn Watch) {
        self.watch = Some(w);
    }

    /// Whether any batch or window wrote a row (`--exit-on-row`).
    pub fn wrote_row(&self) -> bool {
        self.wrote_row
    }

    /// All counters so far (for the exit summary).
    pub fn counts(&self) -> Counts {
        let mut c = self.counts.clone();
        self.work.counts(&mut c);
        c.hold_back(self.unemitted);
        // lines the operators after the barrier left nothing of: filtered
        // or dropped, though they reached the batch
        let moved = &self.post_moved;
        if moved.filtered + moved.dropped() <= c.processed {
            c.processed -= moved.filtered + moved.dropped();
            c.merge(moved);
        }
        c
    }

    /// One warning per field the chain names that records reached and none
    /// had, over the run so far.
    pub fn field_warnings(&self) -> Vec<String> {
        let mut seen = self.seen.clone();
        self.work.seen(&mut seen);
        seen.warnings()
    }

    /// Runs until every source has ended or a stop condition holds; returns
    /// the signal that ended it, if one did (the open batch is flushed as
    /// at end of input). Afterwards the lines of batches never written
    /// count as unemitted.
    pub fn run(
        &mut self,
        rx: &Receiver<Msg>,
        signals: &Receiver<i32>,
    ) -> Result<Option<i32>, Stop> {
        let res = self.run_to_end(rx, signals);
        // the state at the end (or suspended), unless the run failed: then
        // the last one stands
        let res = match res {
            Ok(None) if self.idle() => Ok(None),
            Ok(sig) => self.commit().map(|()| sig),
            Err(e) => Err(e),
        };
        // the open batch's lines are the workers' (processing time, line
        // count, eof); event time's and the windows' are pending
        let mut open = Counts::default();
        if self.batcher.event().is_none() {
            self.work.counts(&mut open);
        }
        self.unemitted = self.pending.total() + open.processed;
        res
    }

    fn run_to_end(
        &mut self,
        rx: &Receiver<Msg>,
        signals: &Receiver<i32>,
    ) -> Result<Option<i32>, Stop> {
        let started = now();
        let stop_at = self.opts.duration.map(|d| started.saturating_add(nanos(d)));
        self.signals = Some(signals.clone());
        let mut live = self.names.readers();
        let mut signal = None;
        while live > 0 && !self.done {
            // --state: input read since the last commit is committed within
            // COMMIT_EVERY, also when no more comes (a followed file at rest)
            let commit_at = (self.checkpoint.is_some() && self.read_since_commit()).then(|| {
                let left = COMMIT_EVERY.saturating_sub(self.last_commit.elapsed());
                now().saturating_add(nanos(left))
            });
            let wake_at = self.wake_at();
            let deadline = [self.batcher.deadline(), stop_at, commit_at, wake_at]
                .into_iter()
                .flatten()
                .min();
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
                if self.opts.suspend {
                    // --state: what is open stays open, in the state
                    self.suspended = true;
                    break;
                }
                match ev {
                    // it arrived by the stop: it still belongs to the run
                    Event::Msg(Msg::Chunk(c)) => self.chunk(c)?,
                    Event::Msg(Msg::Begin(id)) => self.begin(id),
                    Event::Msg(Msg::Tail(id, t)) => self.tail(id, Some(t)),
                    _ => {}
                }
                self.drain(rx)?;
                self.last_lines()?;
                break;
            }
            if wake_at.is_some_and(|w| t >= w) {
                self.work.wake(WAKE_MOST);
            }
            let due = self.batcher.due(Some(t));
            let closing = !due.is_empty();
            self.close_due(due)?;
            if closing {
                self.work.rest();
            }
            match ev {
                Event::Msg(Msg::Chunk(c)) => {
                    let (group, ended) = self.gather(c, rx);
                    self.chunks(group)?;
                    match ended {
                        Some(Msg::Chunk(c)) => self.chunk(c)?,
                        Some(Msg::Begin(id)) => self.begin(id),
                        Some(Msg::End(_)) => live -= 1,
                        Some(Msg::Failed(_, e)) => return Err(Stop::Source(e)),
                        Some(Msg::Tail(id, t)) => self.tail(id, Some(t)),
                        None => {}
                    }
                    if let Some(n) = self.interrupted.take() {
                        // heard while --speed waited: as a signal here
                        signal = Some(n);
                        if self.opts.suspend && n == SIGTERM {
                            self.suspended = true;
                        } else {
                            self.drain(rx)?;
                            self.last_lines()?;
                        }
                        break;
                    }
                }
                Event::Msg(Msg::Begin(id)) => self.begin(id),
                Event::Msg(Msg::End(_)) => live -= 1,
                Event::Msg(Msg::Failed(_, e)) => return Err(Stop::Source(e)),
                Event::Msg(Msg::Tail(id, t)) => self.tail(id, Some(t)),
                Event::Signal(n) => {
                    signal = Some(n);
                    if self.opts.suspend && n == SIGTERM {
                        // --state: stop without draining (as Flink's stop)
                        self.suspended = true;
                    } else {
                        self.drain(rx)?;
                        self.last_lines()?;
                    }
                    break;
                }
                Event::Closed => {
                    live = 0;
                    break;
                }
                Event::Timeout => {}
            }
            // after a step that wrote, and now and then while reading on
            // (a long -b eof run killed late need not start afresh)
            if self.emitted != self.committed
                || (self.checkpoint.is_some()
                    && self.last_commit.elapsed() >= COMMIT_EVERY
                    && self.read_since_commit())
            {
                self.commit()?;
            }
        }
        if self.idle() {
            // gone on from a finished state and found nothing new: that
            // state stands (`-b eof` writes no second, empty batch)
            self.finished = true;
        } else if !self.done && !self.suspended {
            self.finish()?;
            // every input read to its end and every batch written
            self.finished = live == 0 && signal.is_none();
        }
        self.fmt.finish(self.out).map_err(Stop::Output)?;
        self.out.flush().map_err(Stop::Output)?;
        Ok(signal)
    }

    /// Hands the state to the checkpoint (`--state`), the output and the
    /// dead letters flushed first.
    ///
    /// A step that `--max-batches` or `--exit-on-row` stopped the run in is
    /// not committed: it may have read more lines and closed more batches,
    /// windows or sessions than it wrote, and a run that goes on does it
    /// again from the state before it. When batches are cut by what was
    /// read (they close again the same), that state is kept with the
    /// output as it is now and the count of batches written after it:
    /// the run that goes on closes those again without writing them, so
    /// that nothing is written twice, on standard output too, and a run
    /// with the same `--max-batches` writes nothing more. By the wall
    /// clock the step's lines would fall into other batches: the state
    /// stays as it was, and the output file is cut back to it.
    fn commit(&mut self) -> Result<(), Stop> {
        if self.stopped && !self.replays {
            return Ok(());
        }
        let Some(cp) = self.checkpoint.take() else {
            return Ok(());
        };
        let flushed = self
            .out
            .flush()
            .map_err(Stop::Output)
            .and_then(|()| match &mut self.dead {
                Some(d) => d.flush().map_err(Stop::DeadLetter),
                None => Ok(()),
            });
        if self.stopped {
            let ahead = (self.emitted - self.committed) + self.ahead;
            // the inputs the step read after the state
            let read: Vec<Option<u32>> = (0..self.positions.len())
                .map(|i| {
                    let now = self.positions.get(i).copied().flatten();
                    let then = self.committed_positions.get(i).copied().flatten();
                    (now.is_some() && now != then).then(|| self.begins.get(i).copied().unwrap_or(0))
                })
                .collect();
            let res = flushed.and_then(|()| cp.written_ahead(ahead, &read).map_err(Stop::State));
            self.checkpoint = Some(cp);
            return res;
        }
        let res = flushed.and_then(|()| cp.commit(&self.snapshot()).map_err(Stop::State));
        self.checkpoint = Some(cp);
        self.committed = self.emitted;
        self.committed_positions.clone_from(&self.positions);
        self.committed_offsets.clone_from(&self.offsets);
        self.last_commit = Instant::now();
        res
    }

    /// `--state`: the run goes on from a finished state: what its inputs
    /// hold past where it read them (lines appended, a replaced file) is
    /// read and written; when there is nothing, the run writes nothing
    /// (see [`Engine::idle`]).
    pub fn went_on(&mut self) {
        self.went_on = true;
    }

    /// The run went on from a finished state and read nothing: it wrote
    /// nothing, and its state stands as it was.
    pub fn idle(&self) -> bool {
        self.went_on && !self.read_any && self.emitted == self.committed
    }

    /// `--state`: the state goes to `cp` after each step that wrote a batch
    /// and when the run ends.
    pub fn checkpoint(&mut self, cp: &'r mut dyn Checkpoint) {
        self.checkpoint = Some(cp);
    }

    /// At a stop: what the readers had already read belongs to the run.
    fn drain(&mut self, rx: &Receiver<Msg>) -> Result<(), Stop> {
        // no more waiting for --speed
        self.opts_speed_off();
        for _ in 0..rx.len() {
            match rx.try_recv() {
                Ok(Msg::Chunk(c)) if !self.done => self.chunk(c)?,
                Ok(Msg::Begin(id)) => self.begin(id),
                Ok(Msg::Tail(id, t)) => self.tail(id, Some(t)),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(())
    }

    /// Source `id`'s unfinished line is now `t` (none: it has none).
    fn tail(&mut self, id: u32, t: Option<Vec<u8>>) {
        match t {
            Some(t) => {
                self.tails.insert(id, t);
            }
            None => {
                self.tails.remove(&id);
            }
        }
    }

    /// A stop by signal or `--duration` ends the input as its end would: an
    /// unfinished last line counts, as at the end of input. Not with
    /// `--state`, where the state stays before it and a run that goes on
    /// reads it again, whole.
    fn last_lines(&mut self) -> Result<(), Stop> {
        let tails = std::mem::take(&mut self.tails);
        if self.checkpoint.is_some() || self.done {
            return Ok(());
        }
        for (source, mut t) in tails {
            t.push(b'\n');
            let c = Chunk {
                source,
                end: 0,
                data: t.into(),
                last_cut: false,
                last_unterminated: true,
                times: None,
                mark: None,
                tail: None,
            };
            self.chunk(c)?;
        }
        Ok(())
    }

    /// End of input: every open batch and the windows that still hold them.
    fn finish(&mut self) -> Result<(), Stop> {
        let due = self.batcher.finish(now());
        self.close_due(due)?;
        if let (Some(w), Some(agg)) = (&mut self.windows, self.chain.aggregation()) {
            let outs = w.finish(agg);
            self.print_windows(outs)?;
        }
        self.sessions_finish()
    }

    /// Closes what the batcher says is due, in order.
    fn close_due(&mut self, due: Vec<Due<Partial>>) -> Result<(), Stop> {
        for d in due {
            if self.done {
                break;
            }
            match d {
                Due::Batch { time, held, meter } => {
                    let open = matches!(held, Held::Open);
                    let parts = match held {
                        Held::Open => {
                            let before = self.counts.processed;
                            let parts = self.work.take_open(self.chain, &mut self.counts);
                            self.pending.add(time, self.counts.processed - before);
                            parts
                        }
                        Held::Kept(p) => vec![p],
                        Held::Empty => Vec::new(),
                    };
                    if self.windows.is_none() && self.sessions.is_none() {
                        // written now (the windows and sessions say when
                        // theirs are)
                        self.pending.written_upto(time);
                    }
                    self.closed(time, parts, meter)?;
                    self.batch_closed();
                    if open {
                        // every chunk taken so far is in it or written before
                        for (_, m) in self.marks.drain(..) {
                            m.written();
                        }
                    } else {
                        self.first_chunk.remove(&time);
                        self.release_event_marks();
                    }
                }
                Due::Windows(upto) => {
                    if let (Some(w), Some(agg)) = (&mut self.windows, self.chain.aggregation()) {
                        let outs = w.advance(agg, upto, self.emit_empty);
                        self.print_windows(outs)?;
                    }
                    self.sessions_advance(upto)?;
                }
                Due::Note(line) => self.note(&line),
            }
        }
        Ok(())
    }

    fn chunk(&mut self, mut c: Chunk) -> Result<(), Stop> {
        self.tail(c.source, c.tail.take());
        let (source, end, cut) = (c.source, c.end, c.last_cut);
        let offsets = self.wants_offsets(&c);
        match self.chunk_lines(c)? {
            Left::None => {
                self.read_to(source, end, cut);
                self.offsets_to(source, offsets);
            }
            // the run stopped inside the chunk (--max-batches or
            // --exit-on-row by line count, a signal while --speed waited):
            // the state goes on after the lines taken
            Left::Bytes(left, offsets) => {
                // (a topic's chunks have no byte position: 0, their
                // offsets say where they end)
                self.read_to(source, end.saturating_sub(left as u64), false);
                self.offsets_to(source, offsets);
            }
        }
        Ok(())
    }

    /// `--state`: the partition offsets a chunk leaves off at (Kafka).
    fn wants_offsets(&self, c: &Chunk) -> Vec<PartitionOffset> {
        match (&self.checkpoint, &c.mark) {
            (Some(_), Some(m)) => m.offsets().to_vec(),
            _ => Vec::new(),
        }
    }

    /// `--state`: source `source`'s partitions were read whole up to these
    /// offsets (the others stay where they were).
    fn offsets_to(&mut self, source: u32, offsets: Vec<PartitionOffset>) {
        if offsets.is_empty() {
            return;
        }
        let i = source as usize;
        if self.offsets.len() <= i {
            self.offsets.resize(i + 1, Vec::new());
        }
        let known = &mut self.offsets[i];
        for o in offsets {
            match known
                .iter_mut()
                .find(|k| k.topic == o.topic && k.partition == o.partition)
            {
                Some(k) => (k.next, k.fetch) = (o.next, o.fetch),
                None => known.push(o),
            }
        }
    }

    /// When to wake the workers for the open batch's close: [`WAKE_AHEAD`]
    /// before its end on the wall clock, when the batch before it closed
    /// with many rows and batches are long enough (processing time only).
    fn wake_at(&self) -> Option<Nanos> {
        let end = self.batcher.deadline()?;
        let long = self.grid?.step() >= WAKE_SHARE * WAKE_AHEAD;
        (long && self.big_close && self.work.pool.is_some() && !self.work.is_awake())
            .then(|| end.saturating_sub(WAKE_AHEAD))
    }

    /// Input was read since the state was last handed over.
    fn read_since_commit(&self) -> bool {
        self.positions != self.committed_positions || self.offsets != self.committed_offsets
    }

    /// `--state`: source `source` was read whole up to `end` of its stream.
    fn read_to(&mut self, source: u32, end: u64, cut: bool) {
        let i = source as usize;
        if self.positions.len() <= i {
            self.positions.resize(i + 1, None);
        }
        self.positions[i] = Some((end, cut));
        self.read_any = true;
    }

    /// Runs a chunk's lines through the chain; says what was left of it
    /// when the run stopped inside it.
    fn chunk_lines(&mut self, mut c: Chunk) -> Result<Left, Stop> {
        self.chunk_no += 1;
        let mut mark = c.mark.take();
        let mut data = &c.data[..];
        if self.opts.speed.is_some() && self.signals.is_some() {
            // --speed: a few lines at a time, each when its time comes
            // (file inputs only: no marks, no line times)
            while !data.is_empty() && !self.done && self.interrupted.is_none() {
                // a line at a time while the replay keeps up, so that each
                // batch closes when its last line's time comes; more at
                // once while behind
                let lines = if self.pace_behind { PACE_LINES } else { 1 };
                let cut = nth_line_end(data, lines);
                let (head, tail) = data.split_at(cut);
                let last_cut = c.last_cut && tail.is_empty();
                self.process(c.source, head, last_cut, None)?;
                data = tail;
            }
            return Ok(Left::of(data.len(), Vec::new()));
        }
        // line count: cut the chunk where the open batch fills up
        let mut taken = 0;
        let mut upto = Vec::new();
        while let Some(room) = self.batcher.room() {
            if data.is_empty() || self.done {
                return Ok(Left::of(data.len(), upto));
            }
            let cut = nth_line_end(data, room);
            let (head, tail) = data.split_at(cut);
            let last_cut = c.last_cut && tail.is_empty();
            if tail.is_empty() {
                // its last line goes into the open batch
                self.keep_mark(mark.take());
            } else if let Some(m) = &mark {
                // the batch ends inside the chunk: the messages wholly
                // before its end go with it
                taken += room;
                let part = m.upto(taken);
                upto = part.as_ref().map_or(Vec::new(), |p| p.offsets().to_vec());
                self.keep_mark(part);
            }
            self.process(c.source, head, last_cut, None)?;
            data = tail;
        }
        self.process(c.source, data, c.last_cut, c.times.as_ref())?;
        self.keep_mark(mark);
        if self.batcher.event().is_some() {
            // its lines may all have gone to batches already written
            self.release_event_marks();
        }
        Ok(Left::None)
    }

    /// Holds a chunk's mark until its lines are in a written batch.
    fn keep_mark(&mut self, mark: Option<Mark>) {
        if let Some(m) = mark {
            self.marks.push_back((self.chunk_no, m));
        }
    }

    /// Event time: the chunks older than the oldest open batch's first
    /// chunk are wholly written (or dropped as late or untimed).
    fn release_event_marks(&mut self) {
        let frontier = self.first_chunk.values().min().copied().unwrap_or(u64::MAX);
        while self.marks.front().is_some_and(|(no, _)| *no < frontier) {
            if let Some((_, m)) = self.marks.pop_front() {
                m.written();
            }
        }
    }

    /// `--speed X`: waits until the newest event time seen is due, X times
    /// faster than it was recorded since the first; a signal ends the wait.
    fn pace_wait(&mut self) {
        let (Some(speed), Some(max_ts)) =
            (self.opts.speed, self.batcher.event().and_then(|r| r.max_ts))
        else {
            return;
        };
        let (began, first) = *self.pace.get_or_insert((Instant::now(), max_ts));
        let ahead = (max_ts.saturating_sub(first)) as f64 / speed;
        let due = began + Duration::from_nanos(ahead.clamp(0.0, 1e18) as u64);
        let at = Instant::now();
        let wait = due.saturating_duration_since(at);
        // behind: these lines' time had come a while ago (not the first
        // line, whose time is now)
        self.pace_behind = at.saturating_duration_since(due) > PACE_BEHIND;
        if wait.is_zero() {
            return;
        }
        if let Some(rx) = &self.signals {
            if let Ok(n) = rx.recv_timeout(wait) {
                self.interrupted = Some(n);
            }
        }
    }

    /// Stops `--speed`'s waiting (a stop drains what was read at once).
    fn opts_speed_off(&mut self) {
        self.signals = None;
    }

    /// Whether chunks may be gathered into one parallel step (see
    /// [`Engine::gather`]).
    fn gathers(&self) -> bool {
        self.work.pool.is_some()
            && self.batcher.event().is_none()
            && self.batcher.room().is_none()
            && !self.opts.strict
    }

    /// Source `id` begins a new input: its lines count from 1, and the
    /// operators forget what they learnt from the input before.
    fn begin(&mut self, id: u32) {
        self.work.restart_lines(id);
        // --state: another file (or connection) under this source now
        let i = id as usize;
        if self.begins.len() <= i {
            self.begins.resize(i + 1, 0);
        }
        self.begins[i] += 1;
        if let Some(p) = self.positions.get_mut(i) {
            *p = None;
        }
        for op in &self.chain.pre {
            op.input_began(id);
        }
    }

    /// The chunks already queued behind one, from the same source, go with
    /// it into one parallel step. A pipe delivers at most 64 KiB per read,
    /// too little to split across workers: behind a small chunk, up to
    /// [`GATHER_BYTES`]. Each step hands its parts to the pool and waits for
    /// the last, so a step of several 1 MiB chunks spends less of its time
    /// waking the workers and waiting for them: behind a full chunk, up to
    /// [`GATHER_MOST`] when no batch end is to be met (`-b eof`; T1 on two
    /// cores in 0.88x the time). Returns the group and the message that
    /// ended it, if one did.
    fn gather(&self, first: Chunk, rx: &Receiver<Msg>) -> (Vec<Chunk>, Option<Msg>) {
        let mut total = first.data.len();
        let source = first.source;
        let mut group = vec![first];
        if !self.gathers() || !self.chain.pre.iter().all(|op| op.ready(source)) {
            return (group, None);
        }
        // not past the open batch's end: what is taken after it belongs
        // to the next batch, as it would one chunk at a time
        let end = self.batcher.deadline();
        // behind a full chunk before a batch's end, none: in a live word
        // count, steps of what was queued (up to 4 MiB, kept to what the
        // workers would finish 5 ms before the end) took 9.0 -> 12.0M
        // lines/s as fast as fed, but the delay's p99 at 2M lines/s 1-2 ms
        // higher (60 s runs, interleaved)
        let most = match (total < PAR_MIN_BYTES, end) {
            (true, _) => GATHER_BYTES,
            (false, None) => GATHER_MOST,
            (false, Some(_)) => 0,
        };
        while total < most && end.is_none_or(|end| now() < end) {
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

    /// Processes a group made by [`Engine::gather`]: each chunk cut into
    /// parts as it would be on its own.
    fn chunks(&mut self, mut group: Vec<Chunk>) -> Result<(), Stop> {
        if group.len() == 1 {
            for c in group {
                self.chunk(c)?;
            }
            return Ok(());
        }
        // (never in event time nor by line count: see `gathers`)
        for c in &mut group {
            self.tail(c.source, c.tail.take());
        }
        self.chunk_no += 1;
        let offsets: Vec<PartitionOffset> =
            group.iter().flat_map(|c| self.wants_offsets(c)).collect();
        let marks: Vec<Mark> = group.iter_mut().filter_map(|c| c.mark.take()).collect();
        for m in marks {
            self.keep_mark(Some(m));
        }
        let source = group[0].source;
        let mut parts: Vec<&[u8]> = Vec::new();
        let mut cuts: Vec<bool> = Vec::new();
        for c in &group {
            let (p, k) = self.parts_of(source, &c.data[..], c.last_cut);
            parts.extend(p);
            cuts.extend(k);
        }
        self.step(source, parts, cuts, None)?;
        if let Some(last) = group.last() {
            // every line of the group was taken (also when the run then
            // stopped: they are in the open batch)
            self.read_to(source, last.end, last.last_cut);
            self.offsets_to(source, offsets);
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
        let (parts, cuts) = self.parts_of(source, data, last_cut);
        self.step(source, parts, cuts, times)
    }

    /// One chunk's parts for the workers ([`Work::parts`]), and for each
    /// whether its last line was cut by the reader: only the last part's
    /// can be, when the chunk's was.
    fn parts_of<'d>(
        &self,
        source: u32,
        data: &'d [u8],
        last_cut: bool,
    ) -> (Vec<&'d [u8]>, Vec<bool>) {
        let parts = self
            .work
            .parts(self.chain, source, data, self.batcher.event().is_some());
        let mut cuts = vec![false; parts.len()];
        if let Some(c) = cuts.last_mut() {
            *c = last_cut;
        }
        (parts, cuts)
    }

    /// One parallel step over parts of one source, then what it made due
    /// (`times`: each line's own timestamp, for `--event-time kafka`).
    fn step(
        &mut self,
        source: u32,
        parts: Vec<&[u8]>,
        cuts: Vec<bool>,
        times: Option<&LineTimes>,
    ) -> Result<(), Stop> {
        let t0 = Instant::now();
        let limits = Limits {
            dead: self.dead.is_some(),
            max_line_bytes: self.opts.max_line_bytes,
            strict: self.opts.strict,
            stats: self.opts.stats,
            // processing time: the step's time, within the open batch
            clock: match self.batcher.deadline() {
                Some(end) => now().min(end.saturating_sub(1)),
                None => now(),
            },
        };
        let out = self.work.step(
            self.chain,
            limits,
            source,
            parts,
            cuts,
            self.batcher.event().map(|r| (r, times)),
        );
        for (end, n) in out.lines_by_end {
            self.pending.add(end, n);
        }
        if let Some(step) = out.event {
            for (end, _) in &step.batches {
                self.first_chunk.entry(*end).or_insert(self.chunk_no);
            }
            self.batcher.absorb(step);
            if self.opts.speed.is_some() && self.signals.is_some() {
                // --speed: what these lines make due closes when their
                // time comes
                self.pace_wait();
            }
        }
        self.batcher.took(out.lines, t0.elapsed());
        if let Some(w) = &mut self.watch {
            w.lines(out.lines);
        }
        if !out.dead.is_empty() {
            self.dead_letters(source, &out.dead)?;
        }
        if let Some(offence) = out.offence {
            return Err(Stop::Strict {
                source: self.names.name(source),
                offence,
            });
        }
        let due = self.batcher.due(None);
        self.close_due(due)
    }
}
