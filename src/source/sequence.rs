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

use super::decompress::{Codec, Decoded, Raw};
use super::reader::{Resume, read_chunks_from};
use super::{EndingFile, Msg, Roster, SourceOptions};

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
                let res = read_one(std::io::stdin().lock(), id, opts, tx, Resume::default());
                (id, "stdin".to_string(), res)
            }
            Ending::File(f) => {
                let res = match f.file {
                    Some(file) => Ok(file),
                    None => File::open(&f.name).with_context(|| format!("cannot open {}", f.name)),
                };
                let from = super::identity::start_of(opts.resume.as_deref(), &f.name);
                let res = res.and_then(|file| read_one(file, f.id, opts, tx, from));
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
    from: Resume,
) -> anyhow::Result<Option<super::decompress::Damage>> {
    let mut raw = Raw::new(r);
    let codec = Codec::sniff(raw.peek(Codec::undecided)?);
    let max = opts.max_line_bytes;
    match codec {
        None => {
            skip(&mut raw, from.offset)?;
            read_chunks_from(&mut raw, id, max, tx, from)?;
            Ok(None)
        }
        Some(codec) => {
            let mut dec = Decoded::new(codec, raw)?;
            // a resumed compressed file is decoded again up to its point
            skip(&mut dec, from.offset)?;
            read_chunks_from(&mut dec, id, max, tx, from)?;
            Ok(dec.damage().cloned())
        }
    }
}

/// Reads past the first `n` bytes of `r` (a resumed input's, read before).
fn skip<R: Read>(r: &mut R, n: u64) -> std::io::Result<()> {
    if n > 0 {
        std::io::copy(&mut r.take(n), &mut std::io::sink())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::atomic::Ordering;

    fn opts() -> SourceOptions {
        SourceOptions {
            max_line_bytes: 1 << 20,
            follow: false,
            from_end: false,
            reconnect: false,
            max_connections: 1,
            kafka_times: false,
            resume: None,
            state: false,
            kafka_resume: None,
        }
    }

    /// Reads `files` as a run does, returning every line sent and the
    /// roster's damage.
    fn read_all(files: Vec<(String, Vec<u8>)>) -> (Vec<(u32, Vec<u8>)>, Vec<String>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let inputs: Vec<Ending> = files
            .into_iter()
            .enumerate()
            .map(|(i, (name, data))| {
                let path = dir.path().join(&name);
                std::fs::write(&path, data).expect("write test input");
                Ending::File(EndingFile {
                    id: i as u32,
                    name: path.to_string_lossy().into_owned(),
                    file: None,
                    size: None,
                })
            })
            .collect();
        let roster = Roster::fixed(Vec::new());
        let (tx, rx) = crossbeam_channel::bounded(4);
        let r = roster.clone();
        let reader = std::thread::spawn(move || run(inputs, &tx, &opts(), &r));
        let mut got: Vec<(u32, Vec<u8>)> = Vec::new();
        for m in rx.iter() {
            match m {
                // one entry per input, its chunks joined
                Msg::Chunk(c) => match got.last_mut() {
                    Some((id, data)) if *id == c.source => data.extend(c.data.into_vec()),
                    _ => got.push((c.source, c.data.into_vec())),
                },
                Msg::Begin(_) => {}
                Msg::End(_) => break,
                Msg::Failed(_, e) => panic!("{e:#}"),
            }
        }
        reader.join().expect("reader thread");
        (got, roster.damage())
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).expect("gzip in memory");
        e.finish().expect("gzip in memory")
    }

    #[test]
    fn sequence_reads_inputs_in_order_each_with_its_id() {
        let (got, damage) = read_all(vec![
            ("b".into(), b"b1\nb2".to_vec()),
            ("a.gz".into(), gzip(b"a1\n")),
            ("c".into(), b"\xef\xbb\xbfc1\n".to_vec()),
        ]);
        assert!(damage.is_empty(), "{damage:?}");
        assert_eq!(
            got,
            [
                (0, b"b1\nb2\n".to_vec()),
                (1, b"a1\n".to_vec()),
                (2, b"c1\n".to_vec())
            ]
        );
    }

    #[test]
    fn sequence_damage_ends_one_input_and_the_next_is_read() {
        let mut cut = gzip(&b"line\n".repeat(10_000));
        cut.truncate(cut.len() - 10);
        let (got, damage) = read_all(vec![
            ("cut.gz".into(), cut),
            ("next".into(), b"n\n".to_vec()),
        ]);
        assert_eq!(damage.len(), 1);
        assert!(
            damage[0].contains("cut.gz: gzip stream truncated"),
            "{damage:?}"
        );
        assert_eq!(got.len(), 2);
        assert_eq!(got[1], (1, b"n\n".to_vec()));
        let lines = got[0].1.iter().filter(|&&b| b == b'\n').count();
        assert!(lines > 9_000 && lines <= 10_000, "{lines}");
    }

    #[test]
    fn sequence_counts_compressed_bytes_for_the_progress_bar() {
        // 20 MB of text, a few tens of KB compressed: the bar counts the
        // file's bytes, against its size on disk
        let packed = gzip(&b"the same line once more\n".repeat(870_000));
        let len = packed.len() as u64;
        let before = super::super::BYTES_READ.load(Ordering::Relaxed);
        let (got, _) = read_all(vec![("big.gz".into(), packed)]);
        let read = super::super::BYTES_READ.load(Ordering::Relaxed) - before;
        assert!(got.iter().map(|(_, d)| d.len()).sum::<usize>() > 20_000_000);
        // other tests may count bytes meanwhile, but not megabytes
        assert!(read >= len && read < len + 5_000_000, "{read} for {len}");
    }
}
