//! `kafka://HOST:PORT[,HOST:PORT...]/TOPIC[,TOPIC...]?group=&from=&until=`:
//! read every partition of the topics from Kafka brokers, each message
//! value a line (a value holding newlines gives several, a leading byte
//! order mark is removed, a null value gives none), in large chunks.
//!
//! spate speaks the wire protocol itself ([`client`], [`wire`],
//! [`records`]): blocking sockets on the reader's thread, one fetch in
//! flight per broker for all the partitions it leads, record batches
//! decoded straight from the response into the chunk's buffer. It needs
//! no C library, and it reads as fast as a librdkafka consumer (see the
//! README's Performance section).
//!
//! Positions: without `group=`, where `from=` says (default earliest);
//! with it, the group's committed offsets first. spate reads every
//! partition itself and never joins the group's rebalance protocol: it
//! commits as a consumer outside the group (generation -1), which Kafka
//! accepts while the group has no active members. Commits happen on a
//! thread of their own ([`Committer`]), each time the engine reports a
//! chunk's [`Mark`] written, so a commit never waits for a fetch, and the
//! last one is made before spate exits ([`super::Readers::finish`]).
//!
//! `until=now` asks each partition's end offset at start and stops there.
//! An unreachable broker fails the run naming it, unless `--reconnect`:
//! then every connection failure is retried with capped backoff, one line
//! on stderr each, keeping the positions reached; a broker that comes back
//! with a shorter log (an in-memory broker restarted) has the positions
//! past its end reset as `from=` says, with a warning.

pub mod client;
pub mod group;
pub mod records;
pub mod url;
pub mod wire;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use crossbeam_channel::Sender;

use self::client::{Conn, KafkaError, c_protocol};
pub use self::group::Committer;
use self::records::{Decoder, Message};
pub use self::url::{KafkaUrl, Start, UrlError};
use self::wire::{Api, code};
use super::mark::{LineTimes, Mark, PartitionOffset, Step};
use super::tcp::Backoff;
use super::{Chunk, Msg, SourceOptions};
use crate::duration::format_duration;

/// Send a chunk once it holds this much (a message's lines are never
/// split across chunks).
const CHUNK_BYTES: usize = 1 << 20;
/// How long a fetch waits at the broker for new messages when there are
/// none; also how late a new message can be seen.
const MAX_WAIT_MS: i32 = 200;
/// The most a fetch response holds, and the most of one partition.
const FETCH_MAX_BYTES: i32 = 32 << 20;
const PARTITION_MAX_BYTES: i32 = 8 << 20;
/// The first pause after a fetch round that moved nothing.
const IDLE_FIRST: Duration = Duration::from_millis(5);
/// Empty answers in a row, from a partition whose log goes further,
/// before spate says so.
const STALLED_SAY: u32 = 100;
/// Without `--reconnect`, how often a retriable broker answer (a leader
/// being elected) is retried before the run fails.
const RETRIES: u32 = 10;

/// A Kafka input, checked at start: the address, and the connection made
/// to see that a broker answers and the topics exist.
pub struct Opened {
    pub url: KafkaUrl,
    first: Option<(Conn, wire::Metadata)>,
}

/// Connects to the first broker that answers and checks that the topics
/// exist, so that a wrong address fails before anything runs; with
/// `--reconnect`, a failure here is retried by [`run`] instead.
pub fn open(src: &str, reconnect: bool) -> anyhow::Result<Opened> {
    let url = KafkaUrl::parse(src)?;
    match bootstrap(&url) {
        Ok(first) => Ok(Opened {
            url,
            first: Some(first),
        }),
        Err(_) if reconnect => Ok(Opened { url, first: None }),
        Err(e) => Err(anyhow!("{src}: {e}")),
    }
}

/// The first broker of the list that answers, and the topics' metadata
/// (every topic must exist).
fn bootstrap(url: &KafkaUrl) -> Result<(Conn, wire::Metadata), KafkaError> {
    let mut last = None;
    for b in &url.brokers {
        match Conn::connect(b).and_then(|mut c| {
            let m = metadata(&mut c, &url.topics)?;
            Ok((c, m))
        }) {
            Ok((c, m)) => {
                for t in &m.topics {
                    if t.error != code::NONE {
                        let what = if t.error == code::UNKNOWN_TOPIC_OR_PARTITION {
                            format!("topic '{}' does not exist", t.name)
                        } else {
                            format!("topic '{}'", t.name)
                        };
                        return Err(KafkaError::Broker {
                            broker: c.addr.clone(),
                            what,
                            code: t.error,
                        });
                    }
                }
                return Ok((c, m));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| KafkaError::Protocol {
        broker: String::new(),
        what: "no broker given".into(),
    }))
}

fn metadata(c: &mut Conn, topics: &[String]) -> Result<wire::Metadata, KafkaError> {
    let addr = c.addr.clone();
    let (mut r, version) = {
        c.send(Api::Metadata, |w, v| wire::metadata_request(w, v, topics))?;
        c.receive()?
    };
    let mut m = wire::metadata_response(&mut r, version).map_err(|e| c_protocol(&addr, e))?;
    // a broker answers in any order; keep the order asked
    m.topics.sort_by_key(|t| {
        topics
            .iter()
            .position(|n| *n == t.name)
            .unwrap_or(usize::MAX)
    });
    Ok(m)
}

/// One partition being read.
struct Part {
    topic: Arc<str>,
    partition: i32,
    leader: i32,
    /// The next offset to read (-1 until known).
    next: i64,
    /// Where to fetch `next` from when not `next` itself (-1): the first
    /// offset of its batch, as a state says (see
    /// `PartitionOffset::fetch`).
    fetch: i64,
    /// `until=now`: the end offset at start (`i64::MAX` without it, and
    /// until the first fetch says it).
    stop: i64,
    /// `until=now`: `stop` is the high watermark of the first fetch.
    stop_at_watermark: bool,
    /// `from=latest`: start at the high watermark of the first fetch.
    skip_to_watermark: bool,
    /// Empty answers in a row while the log goes further.
    stalled: u32,
}

impl Part {
    fn done(&self) -> bool {
        self.next >= self.stop
    }
}

/// The chunk being filled: lines, their times, and each partition's
/// position after the messages it holds.
struct Builder {
    source: u32,
    buf: Vec<u8>,
    times: Option<LineTimes>,
    /// Per partition index: its next offset after this chunk and where to
    /// fetch from to read on, or -1.
    at: Vec<(i64, i64)>,
    touched: Vec<usize>,
    max_line: usize,
    /// With a group: after each message, the chunk's lines so far, the
    /// partition index and its next offset (see [`Mark::upto`]).
    steps: Option<Vec<Step>>,
    lines: u32,
    /// Every chunk carries a mark, also without a group (`--state`).
    marks: bool,
}

impl Builder {
    fn new(source: u32, want_times: bool, max_line: usize, want_steps: bool) -> Self {
        Builder {
            source,
            buf: Vec::with_capacity(CHUNK_BYTES + (64 << 10)),
            times: want_times.then(|| LineTimes::with_capacity(CHUNK_BYTES / 32)),
            at: Vec::new(),
            touched: Vec::new(),
            max_line,
            steps: want_steps.then(Vec::new),
            lines: 0,
            marks: want_steps,
        }
    }

    /// A message's value as lines.
    fn push(&mut self, part: usize, m: &Message<'_>) {
        self.moved(part, m.offset + 1, m.fetch);
        let Some(mut v) = m.value else {
            return;
        };
        if let Some(rest) = v.strip_prefix(b"\xEF\xBB\xBF") {
            v = rest;
        }
        let lines = if v.len() <= self.max_line {
            self.buf.extend_from_slice(v);
            let mut n = memchr::memchr_iter(b'\n', v).count();
            if v.last() != Some(&b'\n') {
                self.buf.push(b'\n');
                n += 1;
            }
            n
        } else {
            // a line over the limit keeps one byte past it: the engine
            // cuts and counts it as it would from a file, and a huge
            // value is not copied whole
            let v = v.strip_suffix(b"\n").unwrap_or(v);
            let mut n = 0;
            for line in v.split(|&b| b == b'\n') {
                let keep = line.len().min(self.max_line.saturating_add(1));
                self.buf.extend_from_slice(&line[..keep]);
                self.buf.push(b'\n');
                n += 1;
            }
            n
        };
        if let Some(t) = &mut self.times {
            t.push(m.timestamp_ms, lines);
        }
        self.lines = self.lines.saturating_add(lines as u32);
        if let Some(s) = &mut self.steps {
            s.push((self.lines, part as u32, m.offset + 1, m.fetch));
        }
    }

    /// A partition's position moved (past messages that gave no line,
    /// too).
    fn moved(&mut self, part: usize, next: i64, fetch: i64) {
        if self.at.len() <= part {
            self.at.resize(part + 1, (-1, -1));
        }
        if self.at[part].0 < 0 {
            self.touched.push(part);
        }
        self.at[part] = (next, fetch);
    }

    fn full(&self) -> bool {
        self.buf.len() >= CHUNK_BYTES
    }

    /// The chunk so far (`None` when it has no line), its mark reporting
    /// to `home`.
    fn take(
        &mut self,
        parts: &[Part],
        home: Option<&Sender<Vec<PartitionOffset>>>,
    ) -> Option<Chunk> {
        if self.buf.is_empty() {
            return None;
        }
        // steps name partitions by their place in the mark's offsets
        let mut place = vec![0u32; self.at.len()];
        for (k, &i) in self.touched.iter().enumerate() {
            place[i] = k as u32;
        }
        let steps = self.steps.as_mut().map(|s| {
            let mut s = std::mem::take(s);
            for step in &mut s {
                step.1 = place.get(step.1 as usize).copied().unwrap_or(0);
            }
            s
        });
        self.lines = 0;
        let offsets: Vec<PartitionOffset> = self
            .touched
            .drain(..)
            .map(|i| {
                let (next, fetch) = std::mem::replace(&mut self.at[i], (-1, -1));
                PartitionOffset {
                    topic: parts[i].topic.clone(),
                    partition: parts[i].partition,
                    next,
                    fetch,
                }
            })
            .collect();
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES + (64 << 10)));
        let times = self
            .times
            .as_mut()
            .map(|t| std::mem::replace(t, LineTimes::with_capacity(CHUNK_BYTES / 32)));
        // a mark for a group's commits, or for --state alone
        let mark = (home.is_some() || self.marks)
            .then(|| Mark::new(offsets, home.cloned()).with_steps(steps.unwrap_or_default()));
        Some(Chunk {
            source: self.source,
            data: data.into(),
            last_cut: false,
            last_unterminated: false,
            // a topic's place is its partitions' offsets (the mark's)
            end: 0,
            times,
            mark,
            tail: None,
        })
    }
}

/// The engine stopped listening: the run is over.
struct Gone;

/// A reader's failure: the engine is gone, or a broker failed.
enum Stop {
    Gone,
    Kafka(KafkaError),
}

impl From<KafkaError> for Stop {
    fn from(e: KafkaError) -> Self {
        Stop::Kafka(e)
    }
}

impl From<Gone> for Stop {
    fn from(_: Gone) -> Self {
        Stop::Gone
    }
}

/// The reader: its partitions and the connections to their leaders.
struct Consumer<'a> {
    name: &'a str,
    url: &'a KafkaUrl,
    tx: &'a Sender<Msg>,
    home: Option<Sender<Vec<PartitionOffset>>>,
    parts: Vec<Part>,
    index: HashMap<(Arc<str>, i32), usize>,
    brokers: HashMap<i32, String>,
    conns: HashMap<String, Conn>,
    decoder: Decoder,
    builder: Builder,
    /// A chunk was sent since the last failure.
    delivered: bool,
    /// `--state`: where the partitions resume (taken at the first
    /// session; a reconnect keeps the positions reached).
    resume: Vec<PartitionOffset>,
}

/// Reads the topics until `until=now` is reached, the engine stops
/// listening or (without `--reconnect`) a broker fails.
pub fn run(
    name: &str,
    opened: Opened,
    id: u32,
    opts: &SourceOptions,
    tx: &Sender<Msg>,
    home: Option<Sender<Vec<PartitionOffset>>>,
) -> anyhow::Result<()> {
    let Opened { url, mut first } = opened;
    // a group commits, or --state keeps, where each chunk leaves off
    let with_steps = home.is_some() || opts.state;
    let resume = opts
        .kafka_resume
        .as_ref()
        .and_then(|r| r.get(name))
        .cloned()
        .unwrap_or_default();
    let mut c = Consumer {
        name,
        url: &url,
        tx,
        home,
        parts: Vec::new(),
        index: HashMap::new(),
        brokers: HashMap::new(),
        conns: HashMap::new(),
        decoder: Decoder::default(),
        builder: Builder::new(id, opts.kafka_times, opts.max_line_bytes, with_steps),
        delivered: false,
        resume,
    };
    let mut backoff = Backoff::default();
    let mut tries = 0;
    let mut failed = false;
    loop {
        let res = c.session(first.take(), failed);
        match res {
            Ok(()) | Err(Stop::Gone) => return Ok(()),
            Err(Stop::Kafka(e)) => {
                let io = matches!(e, KafkaError::Io { .. });
                if std::mem::take(&mut c.delivered) {
                    // it worked for a while: start the backoff afresh
                    backoff = Backoff::default();
                    tries = 0;
                }
                tries += 1;
                let retry = e.retriable() && (opts.reconnect || (!io && tries <= RETRIES));
                if !retry {
                    return Err(anyhow!("{e}"));
                }
                let wait = backoff.next_wait();
                eprintln!(
                    "spate: {name}: {e}; {} in {}",
                    if io { "reconnecting" } else { "trying again" },
                    format_duration(wait)
                );
                c.conns.clear();
                failed = true;
                std::thread::sleep(wait);
            }
        }
    }
}

impl Consumer<'_> {
    /// Connects (or uses the connection made at open), learns the
    /// partitions and their leaders, finds where to start, and fetches.
    fn session(
        &mut self,
        first: Option<(Conn, wire::Metadata)>,
        after_failure: bool,
    ) -> Result<(), Stop> {
        let (conn, meta) = match first {
            Some(f) => f,
            None => bootstrap(self.url)?,
        };
        if after_failure {
            eprintln!("spate: {}: connected to broker {}", self.name, conn.addr);
        }
        self.learn(&meta);
        self.conns.insert(conn.addr.clone(), conn);
        // at start; after a reconnect, only partitions new since then
        self.position()?;
        self.fetch_loop()
    }

    /// The partitions and leaders from metadata; positions already
    /// reached are kept.
    fn learn(&mut self, meta: &wire::Metadata) {
        self.brokers = meta
            .brokers
            .iter()
            .map(|b| (b.id, b.addr.clone()))
            .collect();
        for t in &meta.topics {
            let topic: Arc<str> = match self.parts.iter().find(|p| *p.topic == *t.name) {
                Some(p) => p.topic.clone(),
                None => t.name.as_str().into(),
            };
            for &(partition, _, leader) in &t.partitions {
                match self.index.get(&(topic.clone(), partition)) {
                    Some(&i) => self.parts[i].leader = leader,
                    None => {
                        self.index
                            .insert((topic.clone(), partition), self.parts.len());
                        self.parts.push(Part {
                            topic: topic.clone(),
                            partition,
                            leader,
                            next: -1,
                            stop: i64::MAX,
                            stop_at_watermark: false,
                            skip_to_watermark: false,
                            stalled: 0,
                            fetch: -1,
                        });
                    }
                }
            }
        }
    }

    /// A connection to broker `id` (a partition's leader).
    fn conn(&mut self, leader: i32) -> Result<&mut Conn, KafkaError> {
        let addr = self
            .brokers
            .get(&leader)
            .cloned()
            .ok_or_else(|| KafkaError::Broker {
                broker: self.url.brokers.join(","),
                what: format!("partition leader {leader} is not among the brokers"),
                code: code::LEADER_NOT_AVAILABLE,
            })?;
        if !self.conns.contains_key(&addr) {
            let c = Conn::connect(&addr)?;
            self.conns.insert(addr.clone(), c);
        }
        Ok(self
            .conns
            .get_mut(&addr)
            .expect("invariant: the connection was just made"))
    }

    /// Offsets at `at` (EARLIEST, LATEST) of these partitions, asked of
    /// their leaders.
    fn list_offsets(&mut self, which: &[usize], at: i64) -> Result<Vec<(usize, i64)>, KafkaError> {
        let mut by_leader: HashMap<i32, Vec<usize>> = HashMap::new();
        for &i in which {
            by_leader.entry(self.parts[i].leader).or_default().push(i);
        }
        let mut out = Vec::new();
        for (leader, idx) in by_leader {
            let asked: Vec<(Arc<str>, i32)> = idx
                .iter()
                .map(|&i| (self.parts[i].topic.clone(), self.parts[i].partition))
                .collect();
            let c = self.conn(leader)?;
            let addr = c.addr.clone();
            let list: Vec<(&str, i32)> = asked.iter().map(|(t, p)| (&**t, *p)).collect();
            let got = {
                let mut r = c.call(Api::ListOffsets, |w, _| {
                    wire::list_offsets_request(w, at, &list)
                })?;
                wire::list_offsets_response(&mut r).map_err(|e| c_protocol(&addr, e))?
            };
            for (t, p, err, off) in got {
                let Some(&i) = self.index.get(&(Arc::from(t.as_str()), p)) else {
                    continue;
                };
                if err != code::NONE {
                    return Err(KafkaError::Broker {
                        broker: addr,
                        what: format!("offsets of {t}/{p}"),
                        code: err,
                    });
                }
                out.push((i, off));
            }
        }
        Ok(out)
    }

    /// Start positions of the partitions without one (all at start, the
    /// new ones after a reconnect): the group's committed offsets, else
    /// `from=`; stops for `until=now`.
    ///
    /// The newest offsets (`from=latest`, `until=now`) are taken from the
    /// high watermark of each partition's first fetch, not from
    /// ListOffsets: on Kafka the two are the same, and some brokers
    /// (tansu 0.6) answer ListOffsets with the start of their last batch
    /// instead of its end.
    fn position(&mut self) -> Result<(), KafkaError> {
        let fresh: Vec<usize> = (0..self.parts.len())
            .filter(|&i| self.parts[i].next < 0)
            .collect();
        if fresh.is_empty() {
            return Ok(());
        }
        // --state: where the state says each partition was read to, before
        // anything else (a group's commits lag behind what the state holds)
        for o in std::mem::take(&mut self.resume) {
            if let Some(&i) = self.index.get(&(o.topic.clone(), o.partition)) {
                if self.parts[i].next < 0 {
                    self.parts[i].next = o.next;
                    self.parts[i].fetch = if o.fetch < o.next { o.fetch } else { -1 };
                }
            }
        }
        if let Some(group) = &self.url.group {
            let asked: Vec<(&str, i32)> = fresh
                .iter()
                .map(|&i| (&*self.parts[i].topic, self.parts[i].partition))
                .collect();
            let got = group::committed(self.url, group, &asked)?;
            for (k, off) in got {
                let p = &mut self.parts[fresh[k]];
                if p.next < 0 {
                    p.next = off;
                }
            }
        }
        let unknown: Vec<usize> = fresh
            .iter()
            .copied()
            .filter(|&i| self.parts[i].next < 0)
            .collect();
        let at = match self.url.from {
            Start::Earliest => wire::EARLIEST,
            Start::Latest => wire::LATEST,
        };
        for (i, off) in self.list_offsets(&unknown, at)? {
            self.parts[i].next = off;
            self.parts[i].skip_to_watermark = at == wire::LATEST;
        }
        for &i in &fresh {
            self.parts[i].stop_at_watermark = self.url.until_now;
        }
        Ok(())
    }

    /// Sends what is buffered.
    fn flush(&mut self) -> Result<(), Gone> {
        if let Some(chunk) = self.builder.take(&self.parts, self.home.as_ref()) {
            self.tx.send(Msg::Chunk(chunk)).map_err(|_| Gone)?;
            self.delivered = true;
        }
        Ok(())
    }

    /// Fetches from every leader until every partition is done (never,
    /// without `until=now`).
    fn fetch_loop(&mut self) -> Result<(), Stop> {
        let mut idle = Duration::ZERO;
        loop {
            let mut by_leader: Vec<(i32, Vec<usize>)> = Vec::new();
            for (i, p) in self.parts.iter().enumerate() {
                if p.done() {
                    continue;
                }
                match by_leader.iter_mut().find(|(l, _)| *l == p.leader) {
                    Some((_, v)) => v.push(i),
                    None => by_leader.push((p.leader, vec![i])),
                }
            }
            if by_leader.is_empty() {
                self.flush()?;
                return Ok(());
            }
            // one request to each leader, then each answer in turn: the
            // brokers work at once
            let mut sent = Vec::with_capacity(by_leader.len());
            for (leader, idx) in &by_leader {
                let asked: Vec<(Arc<str>, i32, i64)> = idx
                    .iter()
                    .map(|&i| {
                        let p = &self.parts[i];
                        let at = if p.fetch >= 0 { p.fetch } else { p.next };
                        (p.topic.clone(), p.partition, at)
                    })
                    .collect();
                let list: Vec<(&str, i32, i64)> =
                    asked.iter().map(|(t, p, o)| (&**t, *p, *o)).collect();
                let wait = if by_leader.len() > 1 {
                    MAX_WAIT_MS / 4
                } else {
                    MAX_WAIT_MS
                };
                let c = self.conn(*leader)?;
                c.send(Api::Fetch, |w, _| {
                    wire::fetch_request(w, wait, FETCH_MAX_BYTES, PARTITION_MAX_BYTES, &list)
                })?;
                sent.push(c.addr.clone());
            }
            let mut refresh = None;
            let before: i64 = self.parts.iter().map(|p| p.next).sum();
            for addr in sent {
                if let Some(e) = self.take_fetch(&addr)? {
                    refresh = Some(e);
                }
            }
            self.flush()?;
            if let Some(e) = refresh {
                return Err(Stop::Kafka(e));
            }
            if self.parts.iter().map(|p| p.next).sum::<i64>() == before {
                // nothing moved: a broker that answers at once without
                // waiting for data is not asked again in a tight loop
                idle = (idle * 2).clamp(IDLE_FIRST, Duration::from_millis(MAX_WAIT_MS as u64));
                std::thread::sleep(idle);
            } else {
                idle = Duration::ZERO;
            }
        }
    }

    /// Reads one fetch response from `addr` into chunks. Returns a
    /// retriable partition error (after reading the rest).
    fn take_fetch(&mut self, addr: &str) -> Result<Option<KafkaError>, Stop> {
        let (name, url) = (self.name, self.url);
        let Consumer {
            conns,
            index,
            parts,
            decoder,
            builder,
            tx,
            home,
            delivered,
            ..
        } = self;
        let c = conns
            .get_mut(addr)
            .expect("invariant: a fetch was sent on this connection");
        let (mut r, _) = c.receive()?;
        let fetched = wire::fetch_response(&mut r).map_err(|e| c_protocol(addr, e))?;
        let mut retry = None;
        let mut resets = Vec::new();
        for f in fetched {
            let Some(&i) = index.get(&(Arc::from(f.topic), f.partition)) else {
                continue;
            };
            let from = parts[i].next;
            if f.error == code::OFFSET_OUT_OF_RANGE
                || (f.error == code::NONE && f.records.is_empty() && f.high_watermark < from)
            {
                resets.push(i);
                continue;
            }
            if f.error != code::NONE {
                let e = KafkaError::Broker {
                    broker: addr.to_string(),
                    what: format!("fetching {}/{}", f.topic, f.partition),
                    code: f.error,
                };
                if !e.retriable() {
                    return Err(Stop::Kafka(e));
                }
                retry = Some(e);
                continue;
            }
            let p = &mut parts[i];
            if std::mem::take(&mut p.stop_at_watermark) {
                p.stop = f.high_watermark;
            }
            if std::mem::take(&mut p.skip_to_watermark) {
                p.next = p.next.max(f.high_watermark);
                continue;
            }
            let stop = p.stop;
            let mut gone = false;
            let next = decoder
                .walk(f.records, from, stop, |m| {
                    builder.push(i, &m);
                    if builder.full() {
                        if let Some(chunk) = builder.take(parts, home.as_ref()) {
                            if tx.send(Msg::Chunk(chunk)).is_err() {
                                gone = true;
                                return false;
                            }
                            *delivered = true;
                        }
                    }
                    true
                })
                .map_err(|e| KafkaError::Protocol {
                    broker: addr.to_string(),
                    what: format!("{}/{}: {e}", f.topic, f.partition),
                })?;
            if gone {
                return Err(Stop::Gone);
            }
            let p = &mut parts[i];
            if next > p.next {
                p.next = next;
                p.stalled = 0;
                // at a batch's end (or the end asked)
                builder.moved(i, next, next);
                p.fetch = -1;
            } else if f.high_watermark > p.next && p.next < p.stop {
                // Kafka returns the batch holding the offset asked;
                // a broker that does not (tansu 0.6, asked for an offset
                // inside a batch) would leave spate waiting in silence
                p.stalled += 1;
                if p.stalled == STALLED_SAY {
                    eprintln!(
                        "spate: {name}: broker {addr} returns no messages of {}/{} from offset {} although its log goes to {}; still asking",
                        p.topic, p.partition, p.next, f.high_watermark
                    );
                }
            }
        }
        for i in resets {
            let at = match url.from {
                Start::Earliest => wire::EARLIEST,
                Start::Latest => wire::LATEST,
            };
            let was = self.parts[i].next;
            let got = self.list_offsets(&[i], at)?;
            for (i, off) in got {
                let p = &mut self.parts[i];
                eprintln!(
                    "spate: {name}: offset {was} of {}/{} is past the broker's log; reading from offset {off} ({})",
                    p.topic,
                    p.partition,
                    if url.from == Start::Earliest {
                        "from=earliest"
                    } else {
                        "from=latest"
                    },
                );
                p.next = off;
                p.fetch = -1;
                p.skip_to_watermark = at == wire::LATEST;
            }
        }
        Ok(retry)
    }
}

#[cfg(test)]
mod tests {
    use super::records::build::batch;
    use super::*;

    fn parts(n: usize) -> Vec<Part> {
        (0..n)
            .map(|i| Part {
                topic: "t".into(),
                partition: i as i32,
                leader: 0,
                next: 0,
                stop: i64::MAX,
                stop_at_watermark: false,
                skip_to_watermark: false,
                stalled: 0,
                fetch: -1,
            })
            .collect()
    }

    fn msg(offset: i64, ts: i64, v: &[u8]) -> Message<'_> {
        Message {
            offset,
            fetch: offset + 1,
            timestamp_ms: ts,
            value: Some(v),
        }
    }

    #[test]
    fn kafka_values_become_lines() {
        let mut b = Builder::new(3, true, 1 << 20, true);
        for (i, v) in [
            &b"plain"[..],
            b"two\nlines",
            b"ends\n",
            b"",
            b"\xEF\xBB\xBFbom",
            b"crlf\r\n",
        ]
        .iter()
        .enumerate()
        {
            b.push(0, &msg(i as i64, 1000 + i as i64, v));
        }
        b.push(
            1,
            &Message {
                offset: 4,
                fetch: 5,
                timestamp_ms: 5,
                value: None,
            },
        );
        let (tx, rx) = crossbeam_channel::unbounded();
        let c = b.take(&parts(2), Some(&tx)).unwrap();
        assert_eq!(c.source, 3);
        assert_eq!(&c.data[..], b"plain\ntwo\nlines\nends\n\nbom\ncrlf\r\n");
        let t = c.times.as_ref().unwrap();
        let got: Vec<_> = (0..t.len() as u64)
            .map(|i| t.get(i).unwrap() / 1_000_000)
            .collect();
        assert_eq!(got, [1000, 1001, 1001, 1002, 1003, 1004, 1005]);
        c.mark.unwrap().written();
        let mut offsets = rx.recv().unwrap();
        offsets.sort_by_key(|o| o.partition);
        assert_eq!(
            offsets
                .iter()
                .map(|o| (o.partition, o.next))
                .collect::<Vec<_>>(),
            [(0, 6), (1, 5)]
        );
        // nothing more: no chunk, and the positions start afresh
        assert!(b.take(&parts(2), Some(&tx)).is_none());
        b.push(1, &msg(9, 0, b"x"));
        let c = b.take(&parts(2), Some(&tx)).unwrap();
        assert_eq!(c.mark.unwrap().offsets().len(), 1);
    }

    #[test]
    fn kafka_long_values_keep_one_byte_past_the_limit_per_line() {
        let mut b = Builder::new(0, false, 4, false);
        b.push(0, &msg(0, 0, b"abcdefgh\nab\nabcde\n"));
        let c = b.take(&parts(1), None).unwrap();
        assert_eq!(&c.data[..], b"abcde\nab\nabcde\n");
        assert!(c.times.is_none() && c.mark.is_none());
    }

    #[test]
    fn kafka_decoded_batches_fill_chunks_with_whole_messages() {
        // 3,000 messages of 1 KiB: three chunks' worth, no message split
        let value = vec![b'x'; 1023];
        let msgs: Vec<(i64, Option<&[u8]>)> = (0..3000).map(|i| (i, Some(&value[..]))).collect();
        let data = batch(100, &msgs, 1, 0);
        let mut b = Builder::new(0, false, 1 << 20, true);
        let (tx, rx) = crossbeam_channel::unbounded();
        let ps = parts(1);
        let mut chunks = Vec::new();
        let next = Decoder::default()
            .walk(&data, 100, i64::MAX, |m| {
                b.push(0, &m);
                if b.full() {
                    chunks.extend(b.take(&ps, Some(&tx)));
                }
                true
            })
            .unwrap();
        chunks.extend(b.take(&ps, Some(&tx)));
        assert_eq!(next, 3100);
        let lines: usize = chunks.iter().map(|c| c.data.len() / 1024).sum();
        assert_eq!(lines, 3000);
        assert!(chunks.iter().all(|c| c.data.len() % 1024 == 0));
        for c in chunks {
            c.mark.unwrap().written();
        }
        drop(tx);
        let last = rx.iter().last().unwrap();
        assert_eq!(last[0].next, 3100);
    }
}
