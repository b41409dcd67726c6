//! `--state FILE` for one run: what the state file holds besides the
//! engine's part (the arguments that shape results, how far each input
//! file was read and which file that was, how long `--output-file` and
//! `--dead-letter` were), reading it back at start (refusing it, never
//! guessing), cutting the output files back to their committed length, and
//! writing it after each step that wrote (the files synced first).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::duration::format_duration;
use crate::emit::shell_line;
use crate::engine::{Checkpoint, Position, Snapshot};
use crate::plan::Plan;
use crate::source::identity::{Identity, ResumeMap};
use crate::source::reader::Resume;
use crate::source::{KafkaResume, PartitionOffset, Roster};
use crate::state::codec::{self, Decoder, Encoder};
use crate::state::{self, Fingerprint, StateError};

/// Why a run cannot go on from its state.
pub enum Refusal {
    /// Another chain or result-shaping option, or inputs that cannot be read
    /// again: exit 2.
    Usage(String),
    /// Damaged, cut short, another version, unreadable: exit 1.
    Failure(String),
}

/// The arguments that shape results, as the user spells them.
pub fn fingerprint(plan: &Plan) -> Fingerprint {
    let b = &plan.batching;
    let mut f = Fingerprint::default();
    f.push("-i", shell_line(&plan.inputs));
    let chain: Vec<String> = plan.stages.iter().map(|s| shell_line(&s.words)).collect();
    f.push("the chain", chain.join(" then "));
    f.push(
        "--batch",
        match b.mode {
            crate::batch::BatchMode::Interval(d) => format_duration(d),
            crate::batch::BatchMode::Lines(n) => format!("--batch-lines {n}"),
            crate::batch::BatchMode::Eof => "eof".into(),
        },
    );
    f.push(
        "--event-time",
        match &b.event_time {
            None => "none".to_string(),
            Some(crate::batch::EventTime::Auto) => "auto".into(),
            Some(crate::batch::EventTime::Kafka) => "kafka".into(),
            Some(crate::batch::EventTime::Field(x)) => x.clone(),
        },
    );
    f.push("--lateness", format_duration(b.lateness));
    f.push("--event-time-format", b.reader.format().unwrap_or("none"));
    f.push(
        "--tz",
        b.zone.map_or_else(|| "none".to_string(), |z| z.to_string()),
    );
    f.push("--emit-empty", b.emit_empty);
    f.push("--max-keys", plan.chain.keys.max);
    f.push("--max-line-bytes", plan.source.max_line_bytes);
    let o = &plan.output;
    f.push("--output", format!("{:?}", o.format).to_lowercase());
    f.push("--header", o.options.header);
    f.push("--time-format", format!("{:?}", o.options.time_format));
    f.push("--with-start", o.options.with_start);
    // the files the state's committed lengths are of: another file (or
    // none) would be cut back to this one's length
    let path = |p: &Option<std::path::PathBuf>| {
        p.as_ref()
            .map_or_else(|| "none".to_string(), |p| p.display().to_string())
    };
    f.push("--output-file", path(&o.file));
    f.push("--dead-letter", path(&o.dead_letter));
    f
}

/// A file the run appends to (`--output-file`, `--dead-letter`), with how
/// long it is: its committed length goes into the state.
#[derive(Clone)]
pub struct Tracked {
    file: Arc<File>,
    len: Arc<AtomicU64>,
}

impl Tracked {
    /// Opens `path` to append to it, first cut back to `keep` bytes (what
    /// the state says was committed) when it is longer.
    pub fn open(path: &Path, keep: Option<u64>) -> io::Result<Tracked> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)?;
        let mut len = file.metadata()?.len();
        if let Some(k) = keep.filter(|k| *k < len) {
            file.set_len(k)?;
            len = k;
        }
        Ok(Tracked {
            file: Arc::new(file),
            len: Arc::new(AtomicU64::new(len)),
        })
    }

    pub fn len(&self) -> u64 {
        self.len.load(Ordering::SeqCst)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

impl Write for Tracked {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = (&*self.file).write(buf)?;
        self.len.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self.file).flush()
    }
}

/// One input as the state keeps it.
struct SavedInput {
    name: String,
    identity: Option<Identity>,
    position: Option<Position>,
    /// A Kafka input's partitions, each with the next offset to read.
    offsets: Vec<PartitionOffset>,
}

/// A state read back.
pub struct Saved {
    pub finished: bool,
    /// Batches written after the state (see [`Snapshot::ahead`]).
    pub ahead: u64,
    pub output_len: Option<u64>,
    pub dead_len: Option<u64>,
    inputs: Vec<SavedInput>,
    pub engine: Vec<u8>,
}

fn opt_u64(e: &mut Encoder, v: Option<u64>) {
    match v {
        Some(x) => {
            e.bool(true);
            e.u64(x);
        }
        None => e.bool(false),
    }
}

fn load_opt_u64(d: &mut Decoder<'_>) -> codec::Result<Option<u64>> {
    Ok(if d.bool()? { Some(d.u64()?) } else { None })
}

fn decode(payload: &[u8], fp: &Fingerprint) -> Result<Saved, Refusal> {
    let damaged = |e: codec::DecodeError| Refusal::Failure(e.to_string());
    let mut d = Decoder::new(payload);
    let saved_fp = Fingerprint::load(&mut d).map_err(damaged)?;
    if let Some(diff) = fp.first_difference(&saved_fp) {
        return Err(Refusal::Usage(format!(
            "it was written for other arguments: {diff}; run with the same arguments, or move the state file away to start afresh"
        )));
    }
    let body = (|| -> codec::Result<Saved> {
        let finished = d.bool()?;
        let ahead = d.u64()?;
        let output_len = load_opt_u64(&mut d)?;
        let dead_len = load_opt_u64(&mut d)?;
        let n = d.count()?;
        let mut inputs = Vec::with_capacity(n);
        for _ in 0..n {
            let name = d.str()?.to_string();
            let identity = if d.bool()? {
                Some(Identity {
                    dev: d.u64()?,
                    ino: d.u64()?,
                    head_len: d.u64()?,
                    head_crc: u32::try_from(d.u64()?)
                        .map_err(|_| codec::DecodeError("a checksum out of range".into()))?,
                })
            } else {
                None
            };
            let position = if d.bool()? {
                Some(Position {
                    end: d.u64()?,
                    skip_line: d.bool()?,
                    next_line: d.u64()?,
                    generation: u32::try_from(d.u64()?)
                        .map_err(|_| codec::DecodeError("a count out of range".into()))?,
                })
            } else {
                None
            };
            let m = d.count()?;
            let mut offsets = Vec::with_capacity(m);
            for _ in 0..m {
                offsets.push(PartitionOffset {
                    topic: d.str()?.into(),
                    partition: i32::try_from(d.i64()?)
                        .map_err(|_| codec::DecodeError("a partition out of range".into()))?,
                    next: d.i64()?,
                    fetch: d.i64()?,
                });
            }
            inputs.push(SavedInput {
                name,
                identity,
                position,
                offsets,
            });
        }
        let engine = d.bytes()?.to_vec();
        d.finish()?;
        Ok(Saved {
            finished,
            ahead,
            output_len,
            dead_len,
            inputs,
            engine,
        })
    })();
    body.map_err(damaged)
}

/// The state at `path` for a run of `fp`, or `None` when there is none yet.
pub fn read(path: &Path, fp: &Fingerprint) -> Result<Option<Saved>, Refusal> {
    let payload = match state::read(path) {
        Ok(p) => p,
        Err(e @ StateError::Io(..)) => return Err(Refusal::Failure(e.to_string())),
        Err(e @ StateError::Damaged(..)) => return Err(Refusal::Failure(e.to_string())),
    };
    let Some(payload) = payload else {
        return Ok(None);
    };
    decode(&payload, fp).map(Some).map_err(|r| match r {
        Refusal::Usage(m) => Refusal::Usage(format!("state file {}: {m}", path.display())),
        Refusal::Failure(m) => Refusal::Failure(format!(
            "state file {}: {m}; it cannot be resumed from (move it away to start afresh)",
            path.display()
        )),
    })
}

impl Saved {
    /// How far the inputs were read, summed over them (for tests and
    /// diagnostics).
    pub fn read_upto(&self) -> u64 {
        self.inputs
            .iter()
            .filter_map(|i| i.position.map(|p| p.end))
            .sum()
    }

    /// Where each input file resumes: only those still the file the state
    /// was written for (the others are said on stderr, and read from their
    /// start); and whether any was replaced (then batches written after
    /// the state, [`Saved::ahead`], were of the file that is gone: a run
    /// that goes on writes the new file's batches, none skipped).
    pub fn resume_map(&self) -> (ResumeMap, bool) {
        let mut map = ResumeMap::new();
        let mut replaced = false;
        for i in &self.inputs {
            // a file read after the state only (by a step --max-batches
            // stopped) has its identity and no position
            let Some(id) = &i.identity else {
                continue;
            };
            if !id.matches(Path::new(&i.name)) {
                replaced = true;
                eprintln!(
                    "spate: warning: {} is not the file the state was written for (it was replaced while spate was stopped); reading it from its start",
                    i.name
                );
                continue;
            }
            if let Some(pos) = &i.position {
                map.insert(
                    i.name.clone(),
                    Resume {
                        offset: pos.end,
                        skip_line: pos.skip_line,
                    },
                );
            }
        }
        (map, replaced)
    }

    /// A finished state (every input read to its end, every batch
    /// written) whose inputs are still what it read: the files of `roster`
    /// (as they are now) are each the file the state read, not compressed,
    /// and as long as the state read them. Then a restart has nothing to
    /// read or write.
    pub fn nothing_new(&self, roster: &Roster) -> bool {
        if !self.finished {
            return false;
        }
        (0..roster.len() as u32).all(|id| {
            let name = roster.name(id);
            let Some(saved) = self.inputs.iter().find(|i| i.name == name) else {
                return false;
            };
            if !saved.offsets.is_empty() {
                // Kafka: new messages are only seen by reading
                return false;
            }
            let path = Path::new(&name);
            let Ok(file) = File::open(path) else {
                return false;
            };
            let Ok(meta) = file.metadata() else {
                return false;
            };
            if !meta.is_file() {
                return false;
            }
            match (&saved.identity, &saved.position) {
                (Some(id), Some(pos)) => {
                    // a compressed file's position is in what it decodes to
                    id.matches(path)
                        && crate::source::codec_of(&file).is_none()
                        && meta.len() == pos.end
                }
                // nothing read from it: it was empty, and still is
                (None, None) => meta.len() == 0,
                _ => false,
            }
        })
    }

    /// Where each Kafka input's partitions resume, by input name.
    pub fn kafka_resume(&self) -> KafkaResume {
        self.inputs
            .iter()
            .filter(|i| !i.offsets.is_empty())
            .map(|i| (i.name.clone(), i.offsets.clone()))
            .collect()
    }

    /// The saved partition offsets of each source of this run (Kafka's),
    /// by its name.
    pub fn offsets(&self, roster: &Roster) -> Vec<Vec<PartitionOffset>> {
        let by_name = self.kafka_resume();
        (0..roster.len() as u32)
            .map(|id| by_name.get(&roster.name(id)).cloned().unwrap_or_default())
            .collect()
    }

    /// The saved position of each source of this run, by its name: the
    /// files resumed in their middle, and the Kafka inputs resumed at
    /// their offsets.
    pub fn positions(&self, roster: &Roster, resumed: &ResumeMap) -> Vec<Option<Position>> {
        let by_name: HashMap<&str, &Position> = self
            .inputs
            .iter()
            .filter(|i| resumed.contains_key(&i.name) || !i.offsets.is_empty())
            .filter_map(|i| i.position.as_ref().map(|p| (i.name.as_str(), p)))
            .collect();
        (0..roster.len() as u32)
            .map(|id| {
                by_name.get(roster.name(id).as_str()).map(|p| Position {
                    generation: 0,
                    ..**p
                })
            })
            .collect()
    }
}

/// Keeps the state of a running run.
pub struct Keeper {
    path: PathBuf,
    fp: Fingerprint,
    roster: Roster,
    output: Option<Tracked>,
    dead: Option<Tracked>,
    /// The identity of each source's file, by (id, generation).
    identities: HashMap<(u32, u32), Identity>,
    /// The last state kept (or read back), with the dead-letter file's
    /// length then: kept when `--max-batches` or `--exit-on-row` may stop
    /// the run inside a step (see [`Checkpoint::written_ahead`]).
    last: Option<(Snapshot, Option<u64>)>,
    keep_last: bool,
}

impl Keeper {
    pub fn new(
        path: PathBuf,
        fp: Fingerprint,
        roster: Roster,
        output: Option<Tracked>,
        dead: Option<Tracked>,
    ) -> Self {
        Keeper {
            path,
            fp,
            roster,
            output,
            dead,
            identities: HashMap::new(),
            last: None,
            keep_last: false,
        }
    }

    /// Keeps the last state for [`Checkpoint::written_ahead`] (a run that
    /// `--max-batches` or `--exit-on-row` may stop); `now`: the state read
    /// back, as the engine has it after loading it (none on a fresh start:
    /// its first commit comes before the run).
    pub fn keep_last(&mut self, now: Option<Snapshot>) {
        self.keep_last = true;
        let dead = self.dead.as_ref().map(Tracked::len);
        self.last = now.map(|s| (s, dead));
    }

    /// The state's bytes: `snap`, `ahead` batches written after it, the
    /// output's length now and the dead letters' length `dead`; `read`:
    /// per source, the file (by generation) read after `snap` by the step
    /// that wrote those batches, whose identity is kept even where `snap`
    /// has no position (a file replaced before the restart does not have
    /// its batches skipped as written).
    fn payload(
        &mut self,
        snap: &Snapshot,
        ahead: u64,
        dead: Option<u64>,
        read: &[Option<u32>],
    ) -> Vec<u8> {
        let mut e = Encoder::new();
        self.fp.save(&mut e);
        e.bool(snap.finished);
        e.u64(ahead);
        opt_u64(&mut e, self.output.as_ref().map(Tracked::len));
        opt_u64(&mut e, dead);
        e.usize(snap.positions.len());
        for (id, pos) in snap.positions.iter().enumerate() {
            let id = id as u32;
            let name = self.roster.name(id);
            e.str(&name);
            let generation = pos
                .map(|p| p.generation)
                .or_else(|| read.get(id as usize).copied().flatten());
            let identity = generation.and_then(|generation| {
                let key = (id, generation);
                if let Some(i) = self.identities.get(&key) {
                    return Some(*i);
                }
                let i = Identity::of(Path::new(&name)).ok()?;
                self.identities.insert(key, i);
                Some(i)
            });
            match identity {
                Some(i) => {
                    e.bool(true);
                    e.u64(i.dev);
                    e.u64(i.ino);
                    e.u64(i.head_len);
                    e.u64(u64::from(i.head_crc));
                }
                None => e.bool(false),
            }
            match pos {
                Some(p) => {
                    e.bool(true);
                    e.u64(p.end);
                    e.bool(p.skip_line);
                    e.u64(p.next_line);
                    e.u64(u64::from(p.generation));
                }
                None => e.bool(false),
            }
            let offsets = snap.offsets.get(id as usize).map_or(&[][..], |o| &o[..]);
            e.usize(offsets.len());
            for o in offsets {
                e.str(&o.topic);
                e.i64(i64::from(o.partition));
                e.i64(o.next);
                e.i64(o.fetch);
            }
        }
        e.bytes(&snap.engine);
        e.buf
    }
}

impl Checkpoint for Keeper {
    fn commit(&mut self, snap: &Snapshot) -> Result<(), String> {
        let name = self.path.display().to_string();
        for t in self.output.iter().chain(self.dead.iter()) {
            t.sync()
                .map_err(|e| format!("syncing the output before the state file {name}: {e}"))?;
        }
        let dead = self.dead.as_ref().map(Tracked::len);
        let payload = self.payload(snap, snap.ahead, dead, &[]);
        state::write(&self.path, &payload).map_err(|e| e.to_string())?;
        if self.keep_last {
            self.last = Some((snap.clone(), dead));
        }
        Ok(())
    }

    fn written_ahead(&mut self, ahead: u64, read: &[Option<u32>]) -> Result<(), String> {
        let Some((snap, dead)) = self.last.take() else {
            return Ok(());
        };
        let name = self.path.display().to_string();
        if let Some(t) = &self.output {
            t.sync()
                .map_err(|e| format!("syncing the output before the state file {name}: {e}"))?;
        }
        let payload = self.payload(&snap, ahead, dead, read);
        let res = state::write(&self.path, &payload).map_err(|e| e.to_string());
        self.last = Some((snap, dead));
        res
    }
}
