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

use std::io::Write;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, select};

use crate::accounting::{Counts, Offence};
use crate::batch::{self, Batcher, Batching, Due, Held, Windows, nanos, now, until};
use crate::ops::chain::Chain;
use crate::sink::{BatchOut, Formatter};
use crate::source::{Chunk, Msg};

use parallel::{Limits, PAR_MIN_BYTES, Partial, Work, nth_line_end};

/// How much queued input [`Engine::gather`] takes behind a small chunk.
const GATHER_BYTES: usize = 1 << 18;

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
    pub max_line_bytes: usize,
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
}

/// What the engine's loop wakes up for.
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
    names: Vec<String>,
    work: Work,
    batcher: Box<dyn Batcher<Partial>>,
    counts: Counts,
    windows: Option<Windows>,
    fmt: Box<dyn Formatter>,
    /// A large batch's text, formatted on the workers before it is
    /// written (kept from batch to batch).
    text: Vec<u8>,
    out: &'r mut dyn Write,
    emitted: u64,
    done: bool,
    watch: Option<&'r mut dyn Watch>,
}

impl<'r> Engine<'r> {
    pub fn new(
        chain: &'r Chain,
        batching: &Batching,
        opts: &'r EngineOptions,
        names: Vec<String>,
        fmt: Box<dyn Formatter>,
        out: &'r mut dyn Write,
    ) -> Self {
        let work = Work::new(opts.threads, names.len(), chain, opts.strict);
        Engine {
            chain,
            opts,
            emit_empty: batching.emit_empty,
            interval: batching
                .interval()
                .filter(|_| batching.event_time.is_none()),
            names,
            work,
            batcher: batch::batcher(batching, now()),
            counts: Counts::default(),
            windows: chain.window().map(Windows::new),
            fmt,
            text: Vec::new(),
            out,
            emitted: 0,
            done: false,
            watch: None,
        }
    }

    /// Lets `w` see every chunk and written batch, and the `--stats` lines.
    pub fn watch(&mut self, w: &'r mut dyn Watch) {
        self.watch = Some(w);
    }

    /// All counters so far (for the exit summary).
    pub fn counts(&self) -> Counts {
        let mut c = self.counts.clone();
        self.work.counts(&mut c);
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
        let stop_at = self.opts.duration.map(|d| started.saturating_add(nanos(d)));
        let mut live = self.names.len();
        let mut signal = None;
        while live > 0 && !self.done {
            let deadline = match (self.batcher.deadline(), stop_at) {
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
            let due = self.batcher.due(Some(t));
            self.close_due(due)?;
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

    /// End of input: every open batch and the windows that still hold them.
    fn finish(&mut self) -> Result<(), Stop> {
        let due = self.batcher.finish(now());
        self.close_due(due)?;
        if let (Some(w), Some(agg)) = (&mut self.windows, self.chain.aggregation()) {
            let outs = w.finish(agg);
            self.print_windows(outs)?;
        }
        Ok(())
    }

    /// Closes what the batcher says is due, in order.
    fn close_due(&mut self, due: Vec<Due<Partial>>) -> Result<(), Stop> {
        for d in due {
            if self.done {
                break;
            }
            match d {
                Due::Batch { time, held, meter } => {
                    let parts = match held {
                        Held::Open => self.work.take_open(self.chain, &mut self.counts),
                        Held::Kept(p) => vec![p],
                        Held::Empty => Vec::new(),
                    };
                    self.closed(time, parts, meter)?;
                }
                Due::Windows(upto) => {
                    if let (Some(w), Some(agg)) = (&mut self.windows, self.chain.aggregation()) {
                        let outs = w.advance(agg, upto, self.emit_empty);
                        self.print_windows(outs)?;
                    }
                }
                Due::Note(line) => self.note(&line),
            }
        }
        Ok(())
    }

    fn chunk(&mut self, c: Chunk) -> Result<(), Stop> {
        // line count: cut the chunk where the open batch fills up
        let mut data = &c.data[..];
        while let Some(room) = self.batcher.room() {
            if data.is_empty() || self.done {
                return Ok(());
            }
            let cut = nth_line_end(data, room);
            let (head, tail) = data.split_at(cut);
            let last_cut = c.last_cut && tail.is_empty();
            self.process(c.source, head, last_cut)?;
            data = tail;
        }
        self.process(c.source, data, c.last_cut)
    }

    /// Whether small chunks may be gathered into one parallel step (see
    /// [`Engine::gather`]).
    fn gathers(&self) -> bool {
        self.work.pool.is_some()
            && self.batcher.event().is_none()
            && self.batcher.room().is_none()
            && !self.opts.strict
            && self.chain.pre.iter().all(|op| op.ready())
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
        let end = self.batcher.deadline();
        while total < GATHER_BYTES && end.is_none_or(|end| now() < end) {
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
    fn chunks(&mut self, group: Vec<Chunk>) -> Result<(), Stop> {
        if group.len() == 1 {
            for c in group {
                self.chunk(c)?;
            }
            return Ok(());
        }
        let source = group[0].source;
        let parts: Vec<&[u8]> = group.iter().map(|c| &c.data[..]).collect();
        let cuts: Vec<bool> = group.iter().map(|c| c.last_cut).collect();
        self.step(source, parts, cuts)
    }

    /// Runs the per-record operators over whole lines of one source.
    fn process(&mut self, source: u32, data: &[u8], last_cut: bool) -> Result<(), Stop> {
        let parts = self
            .work
            .parts(self.chain, data, self.batcher.event().is_some());
        let mut cuts = vec![false; parts.len()];
        if let Some(c) = cuts.last_mut() {
            *c = last_cut;
        }
        self.step(source, parts, cuts)
    }

    /// One parallel step over parts of one source, then what it made due.
    fn step(&mut self, source: u32, parts: Vec<&[u8]>, cuts: Vec<bool>) -> Result<(), Stop> {
        let t0 = Instant::now();
        let limits = Limits {
            max_line_bytes: self.opts.max_line_bytes,
            strict: self.opts.strict,
            stats: self.opts.stats,
        };
        let out = self.work.step(
            self.chain,
            limits,
            source,
            parts,
            cuts,
            self.batcher.event(),
        );
        if let Some(step) = out.event {
            self.batcher.absorb(step);
        }
        self.batcher.took(out.lines, t0.elapsed());
        if let Some(w) = &mut self.watch {
            w.lines(out.lines);
        }
        if let Some(offence) = out.offence {
            return Err(Stop::Strict {
                source: self.names.get(source as usize).cloned().unwrap_or_default(),
                offence,
            });
        }
        let due = self.batcher.due(None);
        self.close_due(due)
    }
}
