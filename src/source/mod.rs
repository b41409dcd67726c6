//! Sources: each runs on its own thread and hands chunks of whole lines to
//! the engine over one bounded crossbeam channel, so a slow consumer slows
//! the readers (and, through TCP flow control, the senders) and nothing is
//! dropped.
//!
//! Inputs that end (files, the files of patterns and directories without
//! `-F`, standard input) are read one after another, in the order given,
//! by one thread ([`sequence`]): the same input gives the same stream of
//! lines every run. Live inputs (`-F` files and patterns, `tcp://`,
//! `listen://`) each have their own thread and merge as lines arrive.
//!
//! Every file is a source of its own, with its own id (each file of a
//! pattern too): the engine numbers lines and keeps per-source state by
//! the id a chunk carries, and names the source by the [`Roster`].

pub mod bom;
pub mod decompress;
pub mod follow;
pub mod identity;
pub mod kafka;
pub mod listen;
pub mod mapped;
pub mod mark;
pub mod pattern;
pub mod reader;
pub mod sequence;
pub mod tcp;
pub mod watch;

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use anyhow::Context;
use crossbeam_channel::Sender;

pub use mark::{LineTimes, Mark, PartitionOffset};
pub use reader::{Chunk, read_chunks};

use decompress::Codec;
use pattern::Matcher;
pub use sequence::Ending;

/// What a source sends.
pub enum Msg {
    Chunk(Chunk),
    /// Source `id` begins a new input: a followed file's path now names
    /// another file (or the file was truncated), a connection (re)opened.
    /// Its lines are numbered from 1 again and a header is looked for
    /// again; sent before the input's first chunk.
    Begin(u32),
    /// A reader is done: it read every source it had to its end (the id
    /// is the last one it read). The run's input ends when each of the
    /// [`Roster::readers`] has sent this.
    End(u32),
    /// The source `id` failed; the run stops with this error.
    Failed(u32, anyhow::Error),
    /// Source `id`'s unfinished line grew without a newline: its bytes so
    /// far (see [`Chunk::tail`]).
    Tail(u32, Vec<u8>),
}

/// Bytes read from every input so far, for the progress bar: what was
/// read from the file or socket, so compressed bytes for a compressed
/// file.
pub static BYTES_READ: AtomicU64 = AtomicU64::new(0);

/// Held by the unit tests that read megabytes, so that the progress bar's
/// test counts its own bytes in [`BYTES_READ`].
#[cfg(test)]
pub(crate) static MEGABYTES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Clients `listen://` refused (`--max-connections`), for the summary.
pub static CONNECTIONS_REFUSED: AtomicU64 = AtomicU64::new(0);

/// How many chunks may wait in the channel: with 1 MiB chunks this bounds
/// the memory between readers and engine to a few MiB.
pub const CHANNEL_CHUNKS: usize = 8;

/// What every source needs to know.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    pub max_line_bytes: usize,
    pub follow: bool,
    pub from_end: bool,
    pub reconnect: bool,
    pub max_connections: usize,
    /// `--event-time kafka`: Kafka chunks carry each line's timestamp.
    pub kafka_times: bool,
    /// `--state`: where the files read before resume.
    pub resume: Option<std::sync::Arc<identity::ResumeMap>>,
    /// `--state`: every Kafka chunk carries its partitions' offsets (a
    /// [`Mark`]), which the state keeps.
    pub state: bool,
    /// `--state`: where each Kafka input's partitions resume, by input
    /// name (before a group's committed offsets and `from=`).
    pub kafka_resume: Option<std::sync::Arc<KafkaResume>>,
}

/// Per Kafka input (by name), the next offset of each partition it read.
pub type KafkaResume = std::collections::HashMap<String, Vec<PartitionOffset>>;

/// Bad usage found while opening the inputs (`-F` on a compressed file):
/// exit 2, not 1.
#[derive(Debug)]
pub struct BadUsage(pub String);

impl std::fmt::Display for BadUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadUsage {}

/// A file read to its end.
pub struct EndingFile {
    pub id: u32,
    pub name: String,
    /// Opened at start when named with `-i`; a pattern's or directory's
    /// files are opened when their turn comes (so that a pattern matching
    /// thousands of files holds no more than one open).
    pub file: Option<File>,
    /// Its size when opened or listed: for the progress bar.
    pub size: Option<u64>,
}

/// A file followed with `-F`.
pub struct FollowedFile {
    pub id: u32,
    pub name: String,
    pub file: File,
}

/// An input, opened (so that a missing file, a refused connection or a
/// busy port fails before anything runs).
pub enum Input {
    /// Read to its end, in turn with the others that end.
    Ending(Ending),
    /// Read as its lines arrive, by a reader of its own.
    Live(Live),
}

/// An input that does not end by itself.
pub enum Live {
    /// `-F`: a file followed as it grows and across rotation.
    Follow(FollowedFile),
    /// `-F` with a pattern or a directory: the files it names now, and
    /// what finds the ones that come later.
    Watch(watch::Watch),
    /// `tcp://HOST:PORT`: `stream` is `None` when `--reconnect` lets the
    /// first connection wait.
    Tcp {
        id: u32,
        name: String,
        addr: String,
        stream: Option<TcpStream>,
    },
    /// `listen://ADDR:PORT`, bound.
    Listen {
        id: u32,
        name: String,
        listener: TcpListener,
    },
    /// `kafka://BROKERS/TOPICS`: a broker answered and the topics exist
    /// (or `--reconnect` lets the first connection wait).
    Kafka {
        id: u32,
        name: String,
        opened: Box<kafka::Opened>,
    },
}

impl Input {
    /// Whether it reads files (for the progress bar).
    pub fn is_file(&self) -> bool {
        matches!(
            self,
            Input::Ending(Ending::File(_)) | Input::Live(Live::Follow(_) | Live::Watch(_))
        )
    }

    /// The size to show progress against: a regular file read once.
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::Ending(Ending::File(f)) => f.size,
            _ => None,
        }
    }
}

/// Who the sources are, shared by the readers and the engine: the name of
/// every source id (a followed pattern adds its new files' names as it
/// finds them), how many readers will each send one [`Msg::End`] or
/// [`Msg::Failed`], and what ended an input early without stopping the
/// run (a damaged compressed stream), for the exit status.
#[derive(Debug, Clone)]
pub struct Roster {
    names: Arc<RwLock<Vec<String>>>,
    readers: usize,
    damage: Arc<Mutex<Vec<String>>>,
    /// Standard input's id, when it is an input.
    stdin: Option<u32>,
}

impl Roster {
    /// One reader per name, each a source (for a run over one in-memory
    /// input).
    pub fn fixed(names: Vec<String>) -> Roster {
        Roster {
            readers: names.len(),
            names: Arc::new(RwLock::new(names)),
            damage: Arc::default(),
            stdin: None,
        }
    }

    /// The roster of opened inputs: ids were given in order by [`open`].
    pub fn of(inputs: &[Input]) -> Roster {
        let mut names: Vec<(u32, String)> = Vec::new();
        for input in inputs {
            match input {
                Input::Ending(Ending::Stdin { id }) => names.push((*id, "stdin".into())),
                Input::Ending(Ending::File(f)) => names.push((f.id, f.name.clone())),
                Input::Live(Live::Follow(f)) => names.push((f.id, f.name.clone())),
                Input::Live(Live::Watch(w)) => {
                    let files = &w.files;
                    names.extend(files.iter().map(|f| (f.id, f.name.clone())));
                }
                Input::Live(
                    Live::Tcp { id, name, .. }
                    | Live::Listen { id, name, .. }
                    | Live::Kafka { id, name, .. },
                ) => {
                    names.push((*id, name.clone()));
                }
            }
        }
        names.sort_by_key(|(id, _)| *id);
        debug_assert!(names.iter().enumerate().all(|(i, (id, _))| i as u32 == *id));
        let sequential = usize::from(inputs.iter().any(|i| matches!(i, Input::Ending(_))));
        let live = inputs
            .iter()
            .filter(|i| matches!(i, Input::Live(_)))
            .count();
        let stdin = inputs.iter().find_map(|i| match i {
            Input::Ending(Ending::Stdin { id }) => Some(*id),
            _ => None,
        });
        Roster {
            names: Arc::new(RwLock::new(names.into_iter().map(|(_, n)| n).collect())),
            readers: sequential + live,
            damage: Arc::default(),
            stdin,
        }
    }

    /// The name of source `id` (empty for an id it does not know).
    pub fn name(&self, id: u32) -> String {
        let names = self.names.read().unwrap_or_else(|p| p.into_inner());
        names.get(id as usize).cloned().unwrap_or_default()
    }

    /// The input as `--dead-letter` names it: the path as given, the
    /// address, `-` for standard input.
    pub fn input_name(&self, id: u32) -> String {
        if self.stdin == Some(id) {
            return "-".to_string();
        }
        self.name(id)
    }

    /// How many sources there are so far.
    pub fn len(&self) -> usize {
        self.names.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many readers will each end with one message.
    pub fn readers(&self) -> usize {
        self.readers
    }

    /// A new source: its id.
    fn add(&self, name: String) -> u32 {
        let mut names = self.names.write().unwrap_or_else(|p| p.into_inner());
        names.push(name);
        (names.len() - 1) as u32
    }

    /// An input ended early: the run goes on and exits 1 with `what`.
    fn damaged(&self, what: String) {
        self.damage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(what);
    }

    /// What ended inputs early, in the order it happened: each a message
    /// naming the input.
    pub fn damage(&self) -> Vec<String> {
        self.damage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Hands out source ids in order.
struct Ids(u32);

impl Ids {
    fn next(&mut self) -> u32 {
        self.0 += 1;
        self.0 - 1
    }
}

/// The compression a regular file starts with, read without moving its
/// offset (and without reading a FIFO, whose bytes would be lost).
pub(crate) fn codec_of(file: &File) -> Option<Codec> {
    use std::os::unix::fs::FileExt;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return None;
    }
    let mut head = [0u8; decompress::MAGIC_BYTES];
    let mut got = 0;
    while got < head.len() {
        match file.read_at(&mut head[got..], got as u64) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    Codec::sniff(&head[..got])
}

/// Opens every `-i` input; a missing or unreadable one is an error that
/// names it, a compressed file named with `-F` a [`BadUsage`].
pub fn open(inputs: &[String], opts: &SourceOptions) -> anyhow::Result<Vec<Input>> {
    let mut ids = Ids(0);
    let mut out = Vec::new();
    for src in inputs {
        if src == "-" {
            out.push(Input::Ending(Ending::Stdin { id: ids.next() }));
            continue;
        }
        if let Some(addr) = src.strip_prefix("tcp://") {
            let stream = tcp::connect_first(addr, opts.reconnect)?;
            out.push(Input::Live(Live::Tcp {
                id: ids.next(),
                name: src.clone(),
                addr: addr.to_string(),
                stream,
            }));
            continue;
        }
        if let Some(addr) = src.strip_prefix("listen://") {
            let listener = listen::bind(addr)?;
            out.push(Input::Live(Live::Listen {
                id: ids.next(),
                name: src.clone(),
                listener,
            }));
            continue;
        }
        if src.starts_with("kafka://") {
            out.push(Input::Live(Live::Kafka {
                id: ids.next(),
                name: src.clone(),
                opened: Box::new(kafka::open(src, opts.reconnect)?),
            }));
            continue;
        }
        if let Some((scheme, _)) = src.split_once("://") {
            anyhow::bail!(
                "{src}: unknown input scheme '{scheme}://' (inputs are -, a file, a pattern, a directory, tcp://HOST:PORT, listen://ADDR:PORT or kafka://HOST:PORT/TOPIC)"
            );
        }
        let path = std::path::Path::new(src);
        let exists = std::fs::metadata(path);
        let matcher = if exists.as_ref().is_ok_and(|m| m.is_dir()) {
            Some(Matcher::Dir(path.to_path_buf()))
        } else if exists.is_err() && pattern::is_pattern(src) {
            Some(Matcher::Pattern(pattern::Glob::parse(src)))
        } else {
            None
        };
        if let Some(matcher) = matcher {
            if opts.follow {
                let w = watch::Watch::open(src, matcher, &mut ids)?;
                out.push(Input::Live(Live::Watch(w)));
                continue;
            }
            let paths = matcher
                .files()
                .with_context(|| format!("cannot list the directory {src}"))?;
            if paths.is_empty() {
                match matcher {
                    Matcher::Dir(_) => anyhow::bail!("{src}: no file in this directory"),
                    Matcher::Pattern(_) => anyhow::bail!("{src}: no file matches this pattern"),
                }
            }
            for p in paths {
                // opened now to fail early, opened again when read
                let name = p.to_string_lossy().into_owned();
                let f = File::open(&p).with_context(|| format!("cannot open {name}"))?;
                let size = f.metadata().ok().map(|m| m.len());
                out.push(Input::Ending(Ending::File(EndingFile {
                    id: ids.next(),
                    name,
                    file: None,
                    size,
                })));
            }
            continue;
        }
        let file = File::open(src).with_context(|| format!("cannot open {src}"))?;
        let name = src.clone();
        if opts.follow {
            if let Some(codec) = codec_of(&file) {
                return Err(BadUsage(format!(
                    "spate: {src}: a {} file cannot be followed (-F): it is read whole without -F; follow the file it was rotated from instead",
                    codec.name()
                ))
                .into());
            }
            out.push(Input::Live(Live::Follow(FollowedFile {
                id: ids.next(),
                name,
                file,
            })));
        } else {
            let size = file
                .metadata()
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len());
            out.push(Input::Ending(Ending::File(EndingFile {
                id: ids.next(),
                name,
                file: Some(file),
                size,
            })));
        }
    }
    Ok(out)
}

/// The reader threads of a run, and what must finish after the engine:
/// the Kafka offset commits of the last written batches.
pub struct Readers {
    pub threads: Vec<JoinHandle<()>>,
    committers: Vec<kafka::Committer>,
}

impl Readers {
    /// Call once the engine is dropped (every chunk it held released):
    /// waits for the last offset commits (a bounded time).
    pub fn finish(self) {
        for c in self.committers {
            c.finish();
        }
    }
}

/// Starts the readers: one for every input that ends, in order, and one
/// per live input.
pub fn spawn(inputs: Vec<Input>, tx: Sender<Msg>, opts: SourceOptions, roster: &Roster) -> Readers {
    let mut committers = Vec::new();
    let mut ending = Vec::new();
    let mut live = Vec::new();
    for input in inputs {
        match input {
            Input::Ending(e) => ending.push(e),
            Input::Live(l) => live.push(l),
        }
    }
    let mut handles = Vec::new();
    if !ending.is_empty() {
        let (tx, roster, opts) = (tx.clone(), roster.clone(), opts.clone());
        handles.push(start("spate-src-seq".into(), move || {
            sequence::run(ending, &tx, &opts, &roster);
        }));
    }
    for (i, input) in live.into_iter().enumerate() {
        let (tx, roster, opts) = (tx.clone(), roster.clone(), opts.clone());
        let home = match &input {
            Live::Kafka { name, opened, .. } => {
                kafka::Committer::start(name, &opened.url).map(|c| {
                    let home = c.home();
                    committers.push(c);
                    home
                })
            }
            _ => None,
        };
        handles.push(start(format!("spate-src-{i}"), move || {
            let (id, name, res) = match input {
                Live::Follow(f) => {
                    let res = follow::run(&f.name, f.file, f.id, &opts, &tx);
                    (f.id, f.name, res)
                }
                Live::Watch(w) => {
                    // it looks for files until the process ends; its
                    // followers report their own failures
                    watch::run(w, &opts, &tx, &roster);
                    return;
                }
                Live::Tcp {
                    id,
                    name,
                    addr,
                    stream,
                } => (id, name, tcp::run(&addr, stream, id, &opts, &tx)),
                Live::Listen { id, name, listener } => {
                    (id, name, listen::run(listener, id, &opts, &tx, &roster))
                }
                Live::Kafka { id, name, opened } => {
                    let res = kafka::run(&name, *opened, id, &opts, &tx, home);
                    (id, name, res)
                }
            };
            let msg = match res {
                Ok(()) => Msg::End(id),
                Err(e) => Msg::Failed(id, e.context(format!("reading {name}"))),
            };
            // the engine may have stopped already; nothing to tell then
            let _ = tx.send(msg);
        }));
    }
    Readers {
        threads: handles,
        committers,
    }
}

/// Starts a reader thread.
fn start(name: String, f: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name(name)
        .spawn(f)
        .expect("invariant: the OS lets spate start a reader thread")
}
