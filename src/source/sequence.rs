//! The inputs that end (files, the files of patterns and directories
//! without `-F`, standard input), read one after another in the order
//! given, on one thread: the engine sees file 1's lines, then file 2's,
//! every run, so results that depend on order (`head`, `--max-keys`'s
//! first keys, the rows of a chain without aggregation) are the same
//! every time.
//!
//! Each input is looked at first: one that starts with a compression's
//! magic bytes is decoded on this thread as it is read. A damaged or
//! truncated stream ends that input as its end would and the next one is
//! read; the damage goes to the [`Roster`], and the run exits 1 naming it
//! once its batches are written.

use std::fs::File;
use std::io::Read;

use anyhow::Context;
use crossbeam_channel::Sender;

use super::decompress::{Codec, Decoded, MAGIC_BYTES, Raw};
use super::{EndingFile, Msg, Roster, SourceOptions, read_chunks};

/// An input read to its end.
pub enum Ending {
    Stdin { id: u32 },
    File(EndingFile),
}

/// Reads every input in turn, then says the reader is done; a read that
/// fails stops the run there.
pub fn run(inputs: Vec<Ending>, tx: &Sender<Msg>, opts: &SourceOptions, roster: &Roster) {
    let mut last = 0;
    for input in inputs {
        let (id, name, res) = match input {
            Ending::Stdin { id } => {
                let res = read_one(std::io::stdin().lock(), id, opts, tx);
                (id, "stdin".to_string(), res)
            }
            Ending::File(f) => {
                let res = match f.file {
                    Some(file) => Ok(file),
                    None => File::open(&f.name).with_context(|| format!("cannot open {}", f.name)),
                };
                let res = res.and_then(|file| read_one(file, f.id, opts, tx));
                (f.id, f.name, res)
            }
        };
        last = id;
        match res {
            Ok(None) => {}
            Ok(Some(damage)) => roster.damaged(format!("{name}: {damage}")),
            Err(e) => {
                let _ = tx.send(Msg::Failed(id, e.context(format!("reading {name}"))));
                return;
            }
        }
    }
    // the engine may have stopped already; nothing to tell then
    let _ = tx.send(Msg::End(last));
}

/// Reads one input to its end (or to the damage that ends it, returned).
fn read_one<R: Read>(
    r: R,
    id: u32,
    opts: &SourceOptions,
    tx: &Sender<Msg>,
) -> anyhow::Result<Option<super::decompress::Damage>> {
    let mut raw = Raw::new(r);
    let codec = Codec::sniff(raw.peek(MAGIC_BYTES)?);
    let max = opts.max_line_bytes;
    match codec {
        None => {
            read_chunks(&mut raw, id, max, tx)?;
            Ok(None)
        }
        Some(codec) => {
            let mut dec = Decoded::new(codec, raw)?;
            read_chunks(&mut dec, id, max, tx)?;
            Ok(dec.damage().cloned())
        }
    }
}
