//! What the engine keeps for `--state`, and when it hands it over: at a
//! point between two steps (a chunk read whole), the partial results of
//! every open batch and window, the batcher's clock and watermark, the
//! accounting, what the output format carries from batch to batch, and
//! how far each source was read. Every line before those
//! positions is in a written batch or in these partials, and nothing after
//! them is; a run restored from it and fed the rest of the input writes
//! what one uninterrupted run writes.

use crate::accounting::Counts;
use crate::batch::Partial as _;
use crate::ops::chain::Chain;
use crate::record::Record;
use crate::sink::Carried;
use crate::source::PartitionOffset;
use crate::state::codec::{self, DecodeError, Decoder, Encoder};

use super::Engine;
use super::parallel::{Kept, LineRef, Partial};

/// How far a source was read: the end of its last chunk read whole in its
/// byte stream, whether that chunk ended inside a cut line (whose rest a
/// resumed reader skips), and the number of its next line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    pub end: u64,
    pub skip_line: bool,
    pub next_line: u64,
    /// How many times the source began a new input before this one (which
    /// file of a followed path it is).
    pub generation: u32,
}

/// The engine's part of a state, at a consistent point.
#[derive(Clone)]
pub struct Snapshot {
    /// The engine's own encoding (see [`Engine::load`]).
    pub engine: Vec<u8>,
    /// Per source id, how far it was read (`None`: not at all).
    pub positions: Vec<Option<Position>>,
    /// Per source id, a Kafka input's partitions with the next offset
    /// after what was read (empty for any other input).
    pub offsets: Vec<Vec<PartitionOffset>>,
    /// The run reached the end of every input and wrote every batch: a
    /// restart has nothing more to write.
    pub finished: bool,
    /// Batches written after this state, to be closed again by a run that
    /// goes on from it and not written (see [`Engine::commit`]).
    pub ahead: u64,
}

/// Where the engine hands its state over (`--state`): after a step that
/// wrote batches, and when the run ends or is suspended.
pub trait Checkpoint {
    /// Keeps `snap` durably; the output and the dead letters written so
    /// far were flushed just before. An error stops the run (exit 1).
    fn commit(&mut self, snap: &Snapshot) -> Result<(), String>;
    /// The run stopped inside a step after writing batches the last state
    /// does not have: that state stands, with the output as it is now and
    /// `ahead` batches written after it (the output was flushed just
    /// before); `read`: per source id, the input (by its generation) the
    /// step read, where it read any.
    fn written_ahead(&mut self, ahead: u64, read: &[Option<u32>]) -> Result<(), String>;
}

fn save_counts(c: &Counts, e: &mut Encoder) {
    e.u64(c.lines);
    e.u64(c.processed);
    e.u64(c.filtered);
    e.u64(c.unemitted);
    e.u64(c.records);
    for n in c.by_reason {
        e.u64(n);
    }
}

fn load_counts(d: &mut Decoder<'_>) -> codec::Result<Counts> {
    let mut c = Counts {
        lines: d.u64()?,
        processed: d.u64()?,
        filtered: d.u64()?,
        unemitted: d.u64()?,
        records: d.u64()?,
        ..Counts::default()
    };
    for n in c.by_reason.iter_mut() {
        *n = d.u64()?;
    }
    Ok(c)
}

fn save_partial(p: &Partial, e: &mut Encoder) {
    match p {
        Partial::Agg(state) => {
            e.u8(0);
            state.save(e);
        }
        Partial::Sessions(pieces) => {
            e.u8(2);
            pieces.save(e);
        }
        Partial::Rows(parts) => {
            e.u8(1);
            e.usize(parts.len());
            for kept in parts {
                e.u64(kept.seq);
                e.usize(kept.recs.len());
                for r in &kept.recs {
                    e.record(r);
                }
                e.usize(kept.starts.len());
                for &s in &kept.starts {
                    e.u64(u64::from(s));
                }
                e.usize(kept.lines.len());
                for l in &kept.lines {
                    e.u64(u64::from(l.input));
                    e.u64(l.line);
                    e.str(&l.text);
                }
            }
        }
    }
}

fn load_partial(chain: &Chain, d: &mut Decoder<'_>) -> codec::Result<Partial> {
    {
        let fresh = Partial::new(chain);
        match (d.u8()?, chain.aggregation(), fresh) {
            (0, Some(agg), Partial::Agg(_)) => Ok(Partial::Agg(agg.load(d)?)),
            (2, Some(agg), Partial::Sessions(mut pieces)) => {
                pieces.load(agg, d)?;
                Ok(Partial::Sessions(pieces))
            }
            (1, None, Partial::Rows(_)) => {
                let n = d.count()?;
                let mut parts = Vec::with_capacity(n);
                for _ in 0..n {
                    let seq = d.u64()?;
                    let m = d.count()?;
                    let mut recs: Vec<Record<'static>> = Vec::with_capacity(m);
                    for _ in 0..m {
                        recs.push(d.record()?);
                    }
                    let k = d.count()?;
                    let mut starts = Vec::with_capacity(k);
                    for _ in 0..k {
                        let s = u32::try_from(d.u64()?)
                            .ok()
                            .filter(|&s| (s as usize) < m && starts.last().is_none_or(|&l| l < s))
                            .ok_or_else(|| DecodeError("a line's start out of order".into()))?;
                        starts.push(s);
                    }
                    let k = d.count()?;
                    let mut lines = Vec::with_capacity(k);
                    for _ in 0..k {
                        let input = u32::try_from(d.u64()?)
                            .map_err(|_| DecodeError("a kept line's input out of range".into()))?;
                        let line = d.u64()?;
                        let text = d.str()?.to_string();
                        lines.push(LineRef { input, line, text });
                    }
                    parts.push(Kept {
                        seq,
                        recs,
                        starts,
                        lines,
                    });
                }
                Ok(Partial::Rows(parts))
            }
            (t, _, _) => Err(DecodeError(format!(
                "a partial result of kind {t}, which this chain does not make"
            ))),
        }
    }
}

impl Engine<'_> {
    /// The engine's state now (call between steps).
    pub fn snapshot(&self) -> Snapshot {
        let mut e = Encoder::new();
        save_counts(&self.counts, &mut e);
        let pending: Vec<(i64, u64)> = self.pending.entries().collect();
        e.usize(pending.len());
        for (end, n) in pending {
            e.i64(end);
            e.u64(n);
        }
        e.u64(self.emitted);
        e.bool(self.wrote_row);
        save_counts(&self.post_moved, &mut e);
        // --with-start: where the next line-count or eof batch starts, and
        // `window all`'s start
        e.i64(self.last_close);
        e.bool(self.first_start.is_some());
        e.i64(self.first_start.unwrap_or(0));
        self.batcher.save(&mut e, &mut |p, e| save_partial(p, e));
        // the open batch's partials and counters, worker by worker
        e.usize(self.work.workers.len());
        for w in &self.work.workers {
            save_partial(&w.partial, &mut e);
            save_counts(&w.cx.counts, &mut e);
        }
        e.u64(self.work.seq());
        match &self.windows {
            Some(w) => {
                e.bool(true);
                w.save(&mut e);
            }
            None => e.bool(false),
        }
        match &self.sessions {
            Some(t) => {
                e.bool(true);
                t.save(&mut e);
            }
            None => e.bool(false),
        }
        // what the operators learnt from each input's first records
        let mut learnt = Vec::new();
        for (k, op) in self.chain.pre.iter().enumerate() {
            for id in 0..self.names.len() as u32 {
                if let Some(l) = op.learnt(id) {
                    learnt.push((k, self.names.name(id), l));
                }
            }
        }
        e.usize(learnt.len());
        for (k, name, l) in learnt {
            e.usize(k);
            e.str(&name);
            e.usize(l.len());
            for x in &l {
                e.str(x);
            }
        }
        let carried = self.fmt.carried();
        e.usize(carried.columns.len());
        for c in &carried.columns {
            e.str(c);
        }
        e.bool(carried.set);
        e.bool(carried.headed);
        e.u64(carried.batches);
        let lines = self.work.next_lines();
        let positions: Vec<Option<Position>> = (0..self.positions.len().max(lines.len()))
            .map(|i| {
                self.positions
                    .get(i)
                    .copied()
                    .flatten()
                    .map(|(end, cut)| Position {
                        end,
                        skip_line: cut,
                        next_line: lines.get(i).copied().unwrap_or(1),
                        generation: self.begins.get(i).copied().unwrap_or(0),
                    })
            })
            .collect();
        Snapshot {
            engine: e.buf,
            positions,
            offsets: self.offsets.clone(),
            finished: self.finished,
            ahead: self.ahead,
        }
    }

    /// Restores what [`Engine::snapshot`] saved (before the run starts), and
    /// where each source was read to; `ahead`: the batches written after
    /// the state (see [`Snapshot::ahead`]).
    pub fn load(
        &mut self,
        bytes: &[u8],
        positions: &[Option<Position>],
        offsets: &[Vec<PartitionOffset>],
        ahead: u64,
    ) -> codec::Result<()> {
        self.ahead = ahead;
        let mut d = Decoder::new(bytes);
        self.counts = load_counts(&mut d)?;
        let n = d.count()?;
        for _ in 0..n {
            let end = d.i64()?;
            let lines = d.u64()?;
            self.pending.add(end, lines);
        }
        self.emitted = d.u64()?;
        self.wrote_row = d.bool()?;
        self.post_moved = load_counts(&mut d)?;
        self.last_close = d.i64()?;
        let has_first = d.bool()?;
        let first = d.i64()?;
        self.first_start = has_first.then_some(first);
        let chain = self.chain;
        self.batcher.load(&mut d, &mut |d| load_partial(chain, d))?;
        let n = d.count()?;
        let mut open: Option<Partial> = None;
        let mut counts = Counts::default();
        for _ in 0..n {
            let p = load_partial(chain, &mut d)?;
            // the workers' shares of one batch, whose records interleave
            // in the input: combined, as the batch's close combines them
            match (&mut open, p) {
                (Some(Partial::Agg(a)), Partial::Agg(b)) => a.combine(b.as_ref()),
                (Some(o), p) => o.absorb(p),
                (None, p) => open = Some(p),
            }
            counts.merge(&load_counts(&mut d)?);
        }
        self.work.restore(open, counts, d.u64()?);
        if d.bool()? {
            match (&mut self.windows, self.chain.aggregation()) {
                (Some(w), Some(agg)) => w.load(agg, &mut d)?,
                _ => return Err(DecodeError("windows this chain does not have".into())),
            }
        }
        if d.bool()? {
            match (&mut self.sessions, self.chain.aggregation()) {
                (Some(t), Some(agg)) => t.load(agg, &mut d)?,
                _ => return Err(DecodeError("sessions this chain does not have".into())),
            }
        }
        // given back for the inputs resumed in their middle (one read
        // again from its start learns again)
        let n = d.count()?;
        for _ in 0..n {
            let k = d.usize()?;
            let name = d.str()?;
            let m = d.count()?;
            let mut l = Vec::with_capacity(m);
            for _ in 0..m {
                l.push(d.str()?.to_string());
            }
            let op =
                self.chain.pre.get(k).ok_or_else(|| {
                    DecodeError(format!("an operator {k} this chain does not have"))
                })?;
            let resumed = (0..self.names.len() as u32).find(|&id| {
                self.names.name(id) == name
                    && positions.get(id as usize).is_some_and(|p| p.is_some())
            });
            if let Some(id) = resumed {
                op.relearn(id, l);
            }
        }
        let n = d.count()?;
        let mut columns = Vec::with_capacity(n);
        for _ in 0..n {
            columns.push(d.str()?.to_string());
        }
        self.fmt.carry_on(Carried {
            columns,
            set: d.bool()?,
            headed: d.bool()?,
            batches: d.u64()?,
        });
        d.finish()?;
        self.offsets = offsets.to_vec();
        self.committed_offsets.clone_from(&self.offsets);
        self.positions = positions
            .iter()
            .map(|p| p.map(|p| (p.end, p.skip_line)))
            .collect();
        self.committed_positions.clone_from(&self.positions);
        let lines: Vec<u64> = positions
            .iter()
            .map(|p| p.map_or(1, |p| p.next_line))
            .collect();
        self.work.set_next_lines(&lines);
        self.committed = self.emitted;
        if self
            .opts
            .max_batches
            .is_some_and(|m| self.emitted.saturating_add(ahead) >= m)
        {
            // every batch the run was to write is written
            self.done = true;
        }
        Ok(())
    }
}
