//! Sources: each runs on its own thread and hands chunks of whole lines to
//! the engine over one bounded crossbeam channel, so a slow consumer slows
//! the readers (and, through TCP flow control, the senders) and nothing is
//! dropped.

pub mod follow;
pub mod kafka;
pub mod listen;
pub mod mark;
pub mod reader;
pub mod tcp;

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::AtomicU64;
use std::thread::JoinHandle;

use anyhow::Context;
use crossbeam_channel::Sender;

pub use mark::{LineTimes, Mark, PartitionOffset};
pub use reader::{Chunk, read_chunks};

/// What a source sends.
pub enum Msg {
    Chunk(Chunk),
    /// The source `id` reached its end.
    End(u32),
    /// The source `id` failed; the run stops with this error.
    Failed(u32, anyhow::Error),
}

/// Bytes read from every input so far, for the progress bar.
pub static BYTES_READ: AtomicU64 = AtomicU64::new(0);

/// Clients `listen://` refused (`--max-connections`), for the summary.
pub static CONNECTIONS_REFUSED: AtomicU64 = AtomicU64::new(0);

/// How many chunks may wait in the channel: with 1 MiB chunks this bounds
/// the memory between readers and engine to a few MiB.
pub const CHANNEL_CHUNKS: usize = 8;

/// What every source needs to know.
#[derive(Debug, Clone, Copy)]
pub struct SourceOptions {
    pub max_line_bytes: usize,
    pub follow: bool,
    pub from_end: bool,
    pub reconnect: bool,
    pub max_connections: usize,
    /// `--event-time kafka`: Kafka chunks carry each line's timestamp.
    pub kafka_times: bool,
}

/// An input, opened (so that a missing file, a refused connection or a
/// busy port fails before anything runs).
pub enum Input {
    Stdin,
    File {
        name: String,
        file: File,
    },
    /// `-F`: a file followed as it grows and across rotation.
    Follow {
        name: String,
        file: File,
    },
    /// `tcp://HOST:PORT`: `stream` is `None` when `--reconnect` lets the
    /// first connection wait.
    Tcp {
        name: String,
        addr: String,
        stream: Option<TcpStream>,
    },
    /// `listen://ADDR:PORT`, bound.
    Listen {
        name: String,
        listener: TcpListener,
    },
    /// `kafka://BROKERS/TOPICS`: a broker answered and the topics exist
    /// (or `--reconnect` lets the first connection wait).
    Kafka {
        name: String,
        opened: Box<kafka::Opened>,
    },
}

impl Input {
    pub fn name(&self) -> &str {
        match self {
            Input::Stdin => "stdin",
            Input::File { name, .. }
            | Input::Follow { name, .. }
            | Input::Tcp { name, .. }
            | Input::Listen { name, .. }
            | Input::Kafka { name, .. } => name,
        }
    }

    /// Whether the input has a known size to show progress against.
    pub fn file(&self) -> Option<&File> {
        match self {
            Input::File { file, .. } => Some(file),
            _ => None,
        }
    }
}

/// Opens every `-i` input; a missing or unreadable one is an error that
/// names it.
pub fn open(inputs: &[String], opts: &SourceOptions) -> anyhow::Result<Vec<Input>> {
    inputs
        .iter()
        .map(|src| {
            if src == "-" {
                return Ok(Input::Stdin);
            }
            if let Some(addr) = src.strip_prefix("tcp://") {
                let stream = tcp::connect_first(addr, opts.reconnect)?;
                return Ok(Input::Tcp {
                    name: src.clone(),
                    addr: addr.to_string(),
                    stream,
                });
            }
            if let Some(addr) = src.strip_prefix("listen://") {
                let listener = listen::bind(addr)?;
                return Ok(Input::Listen {
                    name: src.clone(),
                    listener,
                });
            }
            if src.starts_with("kafka://") {
                return Ok(Input::Kafka {
                    name: src.clone(),
                    opened: Box::new(kafka::open(src, opts.reconnect)?),
                });
            }
            if let Some((scheme, _)) = src.split_once("://") {
                anyhow::bail!(
                    "{src}: unknown input scheme '{scheme}://' (inputs are -, a file, tcp://HOST:PORT, listen://ADDR:PORT or kafka://HOST:PORT/TOPIC)"
                );
            }
            let file = File::open(src).with_context(|| format!("cannot open {src}"))?;
            if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                anyhow::bail!("cannot read {src}: it is a directory");
            }
            let name = src.clone();
            Ok(if opts.follow {
                Input::Follow { name, file }
            } else {
                Input::File { name, file }
            })
        })
        .collect()
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

/// Starts a reader thread per input.
pub fn spawn(inputs: Vec<Input>, tx: Sender<Msg>, opts: SourceOptions) -> Readers {
    let mut committers = Vec::new();
    let threads = inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| {
            let tx = tx.clone();
            let id = i as u32;
            let home = match &input {
                Input::Kafka { name, opened } => {
                    kafka::Committer::start(name, &opened.url).map(|c| {
                        let home = c.home();
                        committers.push(c);
                        home
                    })
                }
                _ => None,
            };
            std::thread::Builder::new()
                .name(format!("spate-src-{i}"))
                .spawn(move || {
                    let name = input.name().to_string();
                    let max = opts.max_line_bytes;
                    let res: anyhow::Result<()> = match input {
                        Input::Stdin => {
                            read_chunks(std::io::stdin().lock(), id, max, &tx).map_err(Into::into)
                        }
                        Input::File { file, .. } => {
                            read_chunks(file, id, max, &tx).map_err(Into::into)
                        }
                        Input::Follow { name, file } => follow::run(&name, file, id, &opts, &tx),
                        Input::Tcp { addr, stream, .. } => tcp::run(&addr, stream, id, &opts, &tx),
                        Input::Listen { listener, .. } => listen::run(listener, id, &opts, &tx),
                        Input::Kafka { name, opened } => {
                            kafka::run(&name, *opened, id, &opts, &tx, home)
                        }
                    };
                    let msg = match res {
                        Ok(()) => Msg::End(id),
                        Err(e) => Msg::Failed(id, e.context(format!("reading {name}"))),
                    };
                    // the engine may have stopped already; nothing to tell then
                    let _ = tx.send(msg);
                })
                .expect("invariant: the OS lets spate start a reader thread")
        })
        .collect();
    Readers {
        threads,
        committers,
    }
}
