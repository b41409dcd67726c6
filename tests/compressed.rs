//! Compressed input end to end: gzip (multi-member too), zstd, bzip2 and
//! xz files and standard input give the plain file's output byte for byte,
//! in every output format and however the input is chunked; damaged and
//! truncated streams keep the lines before the damage and exit 1 naming
//! the input and the offset; `-F` on a compressed file is bad usage.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::util::{assert_text, normalize_times, spate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

const CODECS: [Codec; 4] = [Codec::Gzip, Codec::Zstd, Codec::Bzip2, Codec::Xz];

impl Codec {
    fn ext(self) -> &'static str {
        match self {
            Codec::Gzip => "gz",
            Codec::Zstd => "zst",
            Codec::Bzip2 => "bz2",
            Codec::Xz => "xz",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
            Codec::Bzip2 => "bzip2",
            Codec::Xz => "xz",
        }
    }

    /// `data` compressed as the format's own tool would (zstd with its
    /// checksum, bzip2 in small blocks so that a cut file still holds
    /// whole ones).
    fn compress(self, data: &[u8]) -> Vec<u8> {
        match self {
            Codec::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
                e.write_all(data).expect("gzip");
                e.finish().expect("gzip")
            }
            Codec::Zstd => {
                let mut e = zstd::stream::Encoder::new(Vec::new(), 3).expect("zstd");
                e.include_checksum(true).expect("zstd");
                e.write_all(data).expect("zstd");
                e.finish().expect("zstd")
            }
            Codec::Bzip2 => {
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(1));
                e.write_all(data).expect("bzip2");
                e.finish().expect("bzip2")
            }
            Codec::Xz => {
                let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
                e.write_all(data).expect("xz");
                e.finish().expect("xz")
            }
        }
    }
}

/// About 2 MB of varied lines (several chunks' worth), with a long line
/// now and then for `--max-line-bytes` to cut, the last without `\n`.
fn text() -> Vec<u8> {
    text_of(60_000)
}

/// `lines` varied lines (and a long one every 5000).
fn text_of(lines: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..lines {
        out.push_str(&format!(
            "w{} k{} é{} {}\n",
            i % 97,
            i % 13,
            i,
            "x".repeat(i % 50)
        ));
        if i % 5000 == 0 {
            out.push_str(&"L".repeat(3000));
            out.push('\n');
        }
    }
    out.push_str("last line w1 k7");
    out.into_bytes()
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).expect("write test input");
    p
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// The output of a run that must succeed, its wall-clock times replaced.
fn output(args: &[&str]) -> String {
    let out = spate(args).run();
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    normalize_times(&out.stdout)
}

/// The chains compared: an aggregation, and rows in input order.
const CHAINS: [&[&str]; 2] = [
    &["split", "then", "count-by-key", "then", "head", "40"],
    &["grep", "k7", "then", "head", "100000"],
];

#[test]
fn compressed_equals_plain_in_every_format() {
    let dir = tempfile::tempdir().expect("temp dir");
    // a chunk or so: the chunking has its own test
    let data = text_of(12_000);
    let plain = write(dir.path(), "plain.txt", &data);
    let packed: Vec<(Codec, PathBuf)> = CODECS
        .iter()
        .map(|&c| {
            (
                c,
                write(dir.path(), &format!("in.{}", c.ext()), &c.compress(&data)),
            )
        })
        .collect();
    for format in ["tsv", "csv", "jsonl", "json", "pretty", "spark"] {
        for chain in CHAINS {
            let args = |input: &Path| -> Vec<String> {
                let mut a: Vec<String> = ["-i", s(input), "-b", "eof", "-o", format]
                    .map(String::from)
                    .to_vec();
                a.extend(chain.iter().map(|w| w.to_string()));
                a
            };
            let a = args(&plain);
            let want = output(&a.iter().map(String::as_str).collect::<Vec<_>>());
            assert!(want.len() > 100, "{format} {chain:?}: {want}");
            for (codec, path) in &packed {
                let a = args(path);
                let got = output(&a.iter().map(String::as_str).collect::<Vec<_>>());
                assert_text(&want, &got, &format!("{codec:?} -o {format} {chain:?}"));
            }
        }
    }
}

#[test]
fn compressed_equals_plain_however_chunked() {
    let dir = tempfile::tempdir().expect("temp dir");
    // over a megabyte: several chunks, cut where each reader cuts them
    let data = text_of(36_000);
    let plain = write(dir.path(), "plain.txt", &data);
    let packed: Vec<PathBuf> = CODECS
        .iter()
        .map(|&c| write(dir.path(), &format!("in.{}", c.ext()), &c.compress(&data)))
        .collect();
    // the reference: one thread, default limits
    for chain in CHAINS {
        let mut reference = vec![
            "-i",
            s(&plain),
            "-b",
            "eof",
            "-o",
            "jsonl",
            "--threads",
            "1",
        ];
        reference.extend(chain);
        let want = output(&reference);
        for threads in ["1", "2"] {
            // a smaller limit cuts the long lines (a different stream, the
            // same for plain and compressed); a larger one reads in larger
            // chunks
            for max in ["1000", "1MiB", "8MiB"] {
                let want = if max == "1000" {
                    let mut a = vec!["-i", s(&plain), "-b", "eof", "-o", "jsonl"];
                    a.extend(["--threads", "1", "--max-line-bytes", max]);
                    a.extend(chain);
                    output(&a)
                } else {
                    want.clone()
                };
                for path in &packed {
                    let mut a = vec!["-i", s(path), "-b", "eof", "-o", "jsonl"];
                    a.extend(["--threads", threads, "--max-line-bytes", max]);
                    a.extend(chain);
                    let got = output(&a);
                    assert_text(
                        &want,
                        &got,
                        &format!("{} --threads {threads} --max-line-bytes {max}", s(path)),
                    );
                }
            }
        }
    }
}

#[test]
fn compressed_members_frames_and_streams_are_all_read() {
    // logrotate and pigz write several gzip members; zstd, bzip2 and xz
    // files may likewise be several frames or streams end to end
    let dir = tempfile::tempdir().expect("temp dir");
    let data = text();
    let (a, b) = data.split_at(data.len() / 3);
    let (b, c) = b.split_at(b.len() / 2);
    let plain = write(dir.path(), "plain.txt", &data);
    let mut want = vec!["-i", s(&plain), "-b", "eof", "-o", "tsv"];
    want.extend(CHAINS[1]);
    let want = output(&want);
    for codec in CODECS {
        let joined = [codec.compress(a), codec.compress(b), codec.compress(c)].concat();
        let path = write(dir.path(), &format!("multi.{}", codec.ext()), &joined);
        let mut args = vec!["-i", s(&path), "-b", "eof", "-o", "tsv"];
        args.extend(CHAINS[1]);
        assert_text(&want, &output(&args), &format!("{codec:?} in three parts"));
    }
}

#[test]
fn compressed_standard_input_is_decoded() {
    let data = text();
    let mut args = vec!["-b", "eof", "-o", "tsv"];
    args.extend(CHAINS[0]);
    let want = spate(&args).stdin(data.clone()).run();
    assert_eq!(want.code, 0, "{}", want.stderr);
    for codec in CODECS {
        let got = spate(&args).stdin(codec.compress(&data)).run();
        assert_eq!(got.code, 0, "{codec:?}: {}", got.stderr);
        assert_text(
            &normalize_times(&want.stdout),
            &normalize_times(&got.stdout),
            &format!("{codec:?} on stdin"),
        );
    }
}

#[test]
fn compressed_is_told_by_content_not_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let gz = write(
        dir.path(),
        "looks-plain.txt",
        &Codec::Gzip.compress(b"a\nb\na\n"),
    );
    let plain = write(dir.path(), "looks-gzipped.gz", b"a\nb\na\n");
    for p in [&gz, &plain] {
        let out = spate(["-i", s(p), "-b", "eof", "-o", "tsv", "count-by-key"]).run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let rows: Vec<&str> = out
            .stdout
            .lines()
            .map(|l| l.split_once('\t').map_or(l, |(_, r)| r))
            .collect();
        assert_eq!(rows, ["a\t2", "b\t1"], "{}", s(p));
    }
}

/// The count a run printed (`-b eof -o tsv count`).
fn count_of(stdout: &str) -> u64 {
    stdout
        .lines()
        .next()
        .and_then(|l| l.split('\t').nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {stdout:?}"))
}

/// The byte offset a damage message gives.
fn offset_in(stderr: &str) -> u64 {
    let at = stderr
        .find("byte ")
        .unwrap_or_else(|| panic!("no offset: {stderr}"));
    stderr[at + 5..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no offset: {stderr}"))
}

#[test]
fn compressed_truncated_stream_keeps_earlier_lines_then_exits_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = text();
    let total = data.split(|&b| b == b'\n').count() as u64;
    for codec in CODECS {
        let packed = codec.compress(&data);
        let cut = &packed[..packed.len() * 2 / 3];
        let path = write(dir.path(), &format!("cut.{}", codec.ext()), cut);
        let out = spate(["-i", s(&path), "-b", "eof", "-o", "tsv", "count"]).run();
        assert_eq!(out.code, 1, "{codec:?}: {}", out.stderr);
        // the batch is written, with the lines decoded before the end
        let n = count_of(&out.stdout);
        assert!(
            n > total / 3 && n < total,
            "{codec:?}: {n} of {total} lines"
        );
        assert!(out.stderr.contains(s(&path)), "{}", out.stderr);
        assert!(out.stderr.contains(codec.name()), "{}", out.stderr);
        assert!(out.stderr.contains("truncated"), "{}", out.stderr);
        assert_eq!(offset_in(&out.stderr), cut.len() as u64, "{}", out.stderr);
    }
}

#[test]
fn compressed_truncated_stream_gives_every_line_decoded_before_the_end() {
    // what a truncated gzip file still holds, line for line as `gzip -dc`
    // gives it: every whole line, then the partial last one
    let dir = tempfile::tempdir().expect("temp dir");
    let data = text();
    let packed = Codec::Gzip.compress(&data);
    let cut = &packed[..packed.len() / 2];
    let mut decoded = Vec::new();
    let mut d = flate2::read::GzDecoder::new(cut);
    let _ = std::io::Read::read_to_end(&mut d, &mut decoded);
    assert!(!decoded.is_empty());
    let want = decoded.split(|&b| b == b'\n').count() as u64;
    let path = write(dir.path(), "half.gz", cut);
    let out = spate(["-i", s(&path), "-b", "eof", "-o", "tsv", "count"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(count_of(&out.stdout), want);
}

#[test]
fn compressed_damaged_stream_exits_1_and_the_next_input_is_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = text();
    let total = data.split(|&b| b == b'\n').count() as u64;
    let after = write(dir.path(), "after.txt", b"one\ntwo\n");
    for codec in CODECS {
        let mut packed = codec.compress(&data);
        let at = packed.len() / 2;
        for b in &mut packed[at..at + 16] {
            *b ^= 0xa5;
        }
        let path = write(dir.path(), &format!("bad.{}", codec.ext()), &packed);
        let out = spate([
            "-i",
            s(&path),
            "-i",
            s(&after),
            "-b",
            "eof",
            "-o",
            "tsv",
            "count-by-key",
        ])
        .run();
        assert_eq!(out.code, 1, "{codec:?}: {}", out.stderr);
        // lines before the damage (some may be garbage decoded from it),
        // and the next input's two
        let rows: Vec<&str> = out
            .stdout
            .lines()
            .map(|l| l.split_once('\t').map_or(l, |(_, r)| r))
            .collect();
        assert!(rows.contains(&"w0 k0 é0 \t1"), "{codec:?}: {rows:?}");
        assert!(
            rows.contains(&"one\t1") && rows.contains(&"two\t1"),
            "{codec:?}"
        );
        assert!(rows.len() < total as usize, "{codec:?}");
        assert!(out.stderr.contains(s(&path)), "{}", out.stderr);
        assert!(out.stderr.contains("damaged"), "{}", out.stderr);
        let off = offset_in(&out.stderr);
        assert!(off <= packed.len() as u64, "{codec:?}: {}", out.stderr);
        // a damage message names one input, not the other
        assert!(!out.stderr.contains(s(&after)), "{}", out.stderr);
    }
}

#[test]
fn compressed_gzip_magic_with_another_method_is_damage_not_text() {
    // SPEC: a file that starts with the gzip magic bytes is decompressed;
    // a header whose method byte is not deflate's is damage at its start
    let dir = tempfile::tempdir().expect("temp dir");
    let mut packed = Codec::Gzip.compress(b"a\nb\n");
    packed[2] = 0;
    let path = write(dir.path(), "odd.gz", &packed);
    let out = spate(["-i", s(&path), "-b", "eof", "-o", "tsv", "count"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(count_of(&out.stdout), 0, "no line of it read as text");
    assert!(out.stderr.contains(s(&path)), "{}", out.stderr);
    assert!(out.stderr.contains("gzip"), "{}", out.stderr);
    assert!(offset_in(&out.stderr) <= 10, "{}", out.stderr);
}

#[test]
fn compressed_truncated_standard_input_names_it() {
    let mut packed = Codec::Gzip.compress(&text());
    packed.truncate(packed.len() / 2);
    let out = spate(["-b", "eof", "-o", "tsv", "count"])
        .stdin(packed.clone())
        .run();
    assert_eq!(out.code, 1);
    assert!(count_of(&out.stdout) > 0);
    assert!(
        out.stderr.contains("stdin: gzip stream truncated"),
        "{}",
        out.stderr
    );
    assert_eq!(offset_in(&out.stderr), packed.len() as u64);
}

#[test]
fn compressed_file_followed_is_usage_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    for codec in CODECS {
        let path = write(
            dir.path(),
            &format!("app.log.1.{}", codec.ext()),
            &codec.compress(b"a\n"),
        );
        let out = spate(["-F", "-i", s(&path), "count"]).run();
        assert_eq!(out.code, 2, "{codec:?}: {}", out.stderr);
        assert!(out.stderr.contains(s(&path)), "{}", out.stderr);
        assert!(out.stderr.contains("-F"), "{}", out.stderr);
        assert!(out.stdout.is_empty());
    }
}
