//! Sources: each runs on its own thread and hands chunks of whole lines to
//! the engine over one bounded crossbeam channel, so a slow consumer slows
//! the readers and nothing is dropped.

pub mod reader;

use std::fs::File;
use std::thread::JoinHandle;

use anyhow::Context;
use crossbeam_channel::Sender;

pub use reader::{Chunk, read_chunks};

/// What a source sends.
pub enum Msg {
    Chunk(Chunk),
    /// The source `id` reached its end.
    End(u32),
    /// The source `id` failed; the run stops with this error.
    Failed(u32, anyhow::Error),
}

/// How many chunks may wait in the channel: with 1 MiB chunks this bounds
/// the memory between readers and engine to a few MiB.
pub const CHANNEL_CHUNKS: usize = 8;

/// An input, opened (so that a missing file fails before anything runs).
pub enum Input {
    Stdin,
    File { name: String, file: File },
}

impl Input {
    pub fn name(&self) -> &str {
        match self {
            Input::Stdin => "stdin",
            Input::File { name, .. } => name,
        }
    }
}

/// Opens every `-i` input; a missing or unreadable one is an error that
/// names it.
pub fn open(inputs: &[String]) -> anyhow::Result<Vec<Input>> {
    inputs
        .iter()
        .map(|src| {
            if src == "-" {
                return Ok(Input::Stdin);
            }
            if let Some((scheme, _)) = src.split_once("://") {
                anyhow::bail!("{src}: the {scheme}:// source is not supported yet");
            }
            let file = File::open(src).with_context(|| format!("cannot open {src}"))?;
            if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                anyhow::bail!("cannot read {src}: it is a directory");
            }
            Ok(Input::File {
                name: src.clone(),
                file,
            })
        })
        .collect()
}

/// Starts a reader thread per input.
pub fn spawn(inputs: Vec<Input>, tx: Sender<Msg>, max_line_bytes: usize) -> Vec<JoinHandle<()>> {
    inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| {
            let tx = tx.clone();
            let id = i as u32;
            std::thread::Builder::new()
                .name(format!("spate-src-{}", input.name()))
                .spawn(move || {
                    let name = input.name().to_string();
                    let res = match input {
                        Input::Stdin => {
                            read_chunks(std::io::stdin().lock(), id, max_line_bytes, &tx)
                        }
                        Input::File { file, .. } => read_chunks(file, id, max_line_bytes, &tx),
                    };
                    let msg = match res {
                        Ok(()) => Msg::End(id),
                        Err(e) => Msg::Failed(
                            id,
                            anyhow::Error::new(e).context(format!("reading {name}")),
                        ),
                    };
                    // the engine may have stopped already; nothing to tell then
                    let _ = tx.send(msg);
                })
                .expect("invariant: the OS lets spate start a reader thread")
        })
        .collect()
}
