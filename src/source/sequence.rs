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
use std::io::{Read, Seek, SeekFrom};

use anyhow::Context;
use crossbeam_channel::Sender;

use super::decompress::{Codec, Decoded, Raw};
use super::mapped::{self, Taken};
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
                let res = match stdin_file() {
                    // redirected from a file: mapped as a named file is,
                    // from where its offset stands
                    Some((file, base)) => {
                        read_file(file, None, id, opts, tx, Resume::default(), base)
                    }
                    None => read_one(std::io::stdin().lock(), id, opts, tx, Resume::default()),
                };
                (id, "stdin".to_string(), res)
            }
            Ending::File(f) => {
                let res = match f.file {
                    Some(file) => Ok(file),
                    None => File::open(&f.name).with_context(|| format!("cannot open {}", f.name)),
                };
                let from = super::identity::start_of(opts.resume.as_deref(), &f.name);
                let res =
                    res.and_then(|file| read_file(file, Some(&f.name), f.id, opts, tx, from, 0));
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

/// Standard input when it is a regular file (`spate ... < FILE`), as a
/// file of its own on the same open file description, with the offset
/// it stands at: reading it moves standard input's offset as reading
/// standard input would.
fn stdin_file() -> Option<(File, u64)> {
    use std::os::fd::AsFd;
    let fd = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
    let mut file = File::from(fd);
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let base = file.stream_position().ok()?;
    Some((file, base))
}

/// Reads a file to its end: through memory maps as far as they take it
/// (see [`super::mapped`]), the plain way from there. The input starts at
/// `base` in the file and is read from `from.offset` past that; `file`
/// stands at `base`. `name`: the file's, none for standard input.
fn read_file(
    mut file: File,
    name: Option<&str>,
    id: u32,
    opts: &SourceOptions,
    tx: &Sender<Msg>,
    from: Resume,
    base: u64,
) -> anyhow::Result<Option<super::decompress::Damage>> {
    if from.skip_line {
        return read_one(file, id, opts, tx, from);
    }
    match mapped::send(&file, name, id, base, base + from.offset, tx) {
        Taken::Nothing => read_one(file, id, opts, tx, from),
        Taken::Stopped => Ok(None),
        Taken::Upto(at) => {
            // a plain file (the maps took none other), from a line's start
            file.seek(SeekFrom::Start(at))?;
            let from = Resume {
                offset: at - base,
                skip_line: false,
            };
            read_chunks_from(Raw::new(file), id, opts.max_line_bytes, tx, from)?;
            Ok(None)
        }
    }
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
    use super::super::bom::BOM;
    use super::super::reader::CHUNK_BYTES;
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
                Msg::Begin(_) | Msg::Tail(..) => {}
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

    use super::super::MEGABYTES;

    #[test]
    fn sequence_counts_compressed_bytes_for_the_progress_bar() {
        let _alone = MEGABYTES.lock();
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

    /// No line is cut in these tests: where a line is cut depends on how
    /// the reads fell (the engine cuts the rest alike).
    const LONGEST: usize = 4 << 20;

    /// The chunks of `data` as a file read from `offset`: each chunk's
    /// bytes, its end and whether it was mapped. With `base` > 0, `data`
    /// follows `base` other bytes (a gzip stream's magic first) in the
    /// file, which stands at `base` when read (standard input redirected
    /// from a file that was partly read).
    fn file_chunks(data: &[u8], offset: u64, base: u64) -> Vec<(Vec<u8>, u64, bool)> {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        let mut before = vec![b'-'; base as usize];
        before
            .iter_mut()
            .zip([0x1f, 0x8b])
            .for_each(|(b, m)| *b = m);
        f.write_all(&before).expect("write test input");
        f.write_all(data).expect("write test input");
        let mut file = File::open(f.path()).expect("reopen");
        file.seek(SeekFrom::Start(base)).expect("seek");
        let (tx, rx) = crossbeam_channel::unbounded();
        let from = Resume {
            offset,
            skip_line: false,
        };
        let opts = SourceOptions {
            max_line_bytes: LONGEST,
            ..opts()
        };
        let damage = read_file(file, Some("test"), 0, &opts, &tx, from, base).expect("read");
        assert!(damage.is_none());
        drop(tx);
        rx.iter()
            .filter_map(|m| match m {
                Msg::Chunk(c) => Some((c.data.to_vec(), c.end, c.data.is_mapped())),
                _ => None,
            })
            .collect()
    }

    /// The plain reads' chunks of the same bytes from the same offset.
    fn plain_chunks(data: &[u8], offset: u64) -> Vec<(Vec<u8>, u64)> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let from = Resume {
            offset,
            skip_line: false,
        };
        let rest = data.get(offset as usize..).unwrap_or_default();
        read_chunks_from(rest, 0, LONGEST, &tx, from).expect("read");
        drop(tx);
        rx.iter()
            .filter_map(|m| match m {
                Msg::Chunk(c) => Some((c.data.to_vec(), c.end)),
                _ => None,
            })
            .collect()
    }

    /// A plain file read through maps gives the bytes the plain reads
    /// give, in chunks of whole lines whose ends say where they end in the
    /// file (what a resumed run starts from), whatever its lines: long
    /// ones (over a chunk: the plain reads take over there), CRLF, empty
    /// lines, a last line with or without a newline, a resume point
    /// anywhere, the input starting further on in its file.
    #[test]
    fn mapped_files_read_as_plain_reads_do() {
        let _alone = MEGABYTES.lock();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n.max(1)
        };
        let mut mapped_any = false;
        for case in 0..12 {
            let mut data = Vec::new();
            let size = [300_000, 1 << 20, 3_500_000][case % 3];
            while data.len() < size {
                let len = match next(100) {
                    0 if case % 4 == 1 => 1_100_000 + next(300_000) as usize,
                    0..=4 => 0,
                    _ => next(400) as usize,
                };
                data.extend((0..len).map(|i| b'a' + (i % 26) as u8));
                if next(10) == 0 {
                    data.push(b'\r');
                }
                data.push(b'\n');
            }
            if case % 2 == 0 {
                data.extend_from_slice(b"last line without a newline");
            }
            // from the start, and from a line's start further on
            let at = data.len() as u64 * next(4) / 4;
            let line_start = match memchr::memrchr(b'\n', &data[..at as usize]) {
                Some(i) => i as u64 + 1,
                None => 0,
            };
            let base = [0, 4099][case % 2];
            for offset in [0, line_start] {
                let got = file_chunks(&data, offset, base);
                let want = plain_chunks(&data, offset);
                let joined =
                    |c: Vec<&Vec<u8>>| c.into_iter().flatten().copied().collect::<Vec<u8>>();
                let (g, w) = (
                    joined(got.iter().map(|c| &c.0).collect()),
                    joined(want.iter().map(|c| &c.0).collect()),
                );
                let differ = g.iter().zip(&w).position(|(a, b)| a != b);
                assert!(
                    g == w,
                    "case {case} from {offset} (base {base}): {} bytes vs {}, first difference at {differ:?}; chunks {:?} vs {:?}",
                    g.len(),
                    w.len(),
                    got.iter()
                        .map(|c| (c.0.len(), c.1, c.2))
                        .collect::<Vec<_>>(),
                    want.iter().map(|c| (c.0.len(), c.1)).collect::<Vec<_>>()
                );
                // each chunk ends where its whole lines end in the file (the
                // plain reads give an unterminated last line its newline)
                let unterminated = data.last() != Some(&b'\n');
                let mut end = offset;
                for (k, (bytes, e, mapped)) in got.iter().enumerate() {
                    assert_eq!(bytes.last(), Some(&b'\n'), "case {case}");
                    assert!(!mapped || bytes.len() <= CHUNK_BYTES, "case {case}");
                    end += bytes.len() as u64;
                    let last = k + 1 == got.len();
                    let want_end = end - u64::from(last && unterminated);
                    assert_eq!(*e, want_end, "case {case} chunk {k}");
                    mapped_any |= mapped;
                }
            }
        }
        assert!(mapped_any, "no chunk was mapped");
    }

    /// Compressed files, files starting with a byte order mark and small
    /// files are left to the plain reads, where the input starts.
    #[test]
    fn maps_leave_compressed_marked_and_small_files_alone() {
        let _alone = MEGABYTES.lock();
        let text = b"some line of text\n".repeat(60_000);
        let mut marked = BOM.to_vec();
        marked.extend_from_slice(&text);
        for (data, want) in [
            (gzip(&b"a\n".repeat(400_000)), b"a\n".repeat(400_000)),
            (marked, text.clone()),
            (b"a\nb\n".to_vec(), b"a\nb\n".to_vec()),
        ] {
            // the input at its file's start, or after other bytes
            for base in [0, 4099] {
                let got = file_chunks(&data, 0, base);
                assert!(got.iter().all(|c| !c.2), "a chunk was mapped");
                let got = got.into_iter().flat_map(|c| c.0).collect::<Vec<u8>>();
                assert!(got == want, "base {base}: {} bytes", got.len());
            }
        }
        // a gzip magic before the input is not the input's
        for base in [0, 4099] {
            assert!(file_chunks(&text, 0, base).iter().any(|c| c.2));
        }
    }
}
