//! Determinism: the same input bytes and arguments give the same output
//! bytes whatever `--threads` is, however the input is cut into chunks
//! (`--max-line-bytes` sets the read size) and whether it comes from a
//! file named with `-i`, a pipe or a file redirected to standard input.
//! Every aggregate and sketch is run on inputs large enough to be cut
//! into many parts: count-by-key of one and of several fields,
//! stats with every aggregate (percentiles over more than 4096 values a
//! group, distinct over more than 10,000), `--max-keys` far below the
//! number of keys, event time with sliding windows, and `--batch-lines`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use crate::util::{normalize_times, spate};

/// Where one run's input comes from.
#[derive(Clone, Copy, PartialEq)]
enum Source {
    /// `-i FILE`
    File,
    /// a pipe on standard input
    Pipe,
    /// `< FILE`
    Redirect,
}

/// How one run reads its input.
struct Variant {
    threads: &'static str,
    source: Source,
    /// `--max-line-bytes`: above 1 MiB it sets the size of a read.
    max_line: Option<&'static str>,
}

const VARIANTS: &[Variant] = &[
    Variant {
        threads: "1",
        source: Source::File,
        max_line: None,
    },
    Variant {
        threads: "2",
        source: Source::File,
        max_line: None,
    },
    Variant {
        threads: "4",
        source: Source::File,
        max_line: None,
    },
    Variant {
        threads: "2",
        source: Source::Pipe,
        max_line: None,
    },
    Variant {
        threads: "4",
        source: Source::Pipe,
        max_line: None,
    },
    Variant {
        threads: "3",
        source: Source::File,
        max_line: Some("2500000"),
    },
    Variant {
        threads: "1",
        source: Source::Pipe,
        max_line: Some("2500000"),
    },
    Variant {
        threads: "2",
        source: Source::File,
        max_line: Some("5000000"),
    },
    Variant {
        threads: "4",
        source: Source::Redirect,
        max_line: None,
    },
];

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// The inputs, written once: words (about 3 MB, some 40,000 distinct,
/// skewed, some long and some numbers) and JSON events (about 5 MB).
struct Inputs {
    _dir: tempfile::TempDir,
    words: PathBuf,
    small_words: PathBuf,
    events: PathBuf,
}

fn inputs() -> &'static Inputs {
    static INPUTS: OnceLock<Inputs> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut r = Lcg(42);
        let mut words = String::new();
        while words.len() < 3_000_000 {
            let n = 1 + r.next(12);
            for i in 0..n {
                if i > 0 {
                    words.push(' ');
                }
                // skewed: small indexes far more often
                let a = r.next(200);
                let idx = a * a + r.next(1 + a * 5);
                match r.next(20) {
                    0 => write!(words, "a-rather-long-word-number-{idx}"),
                    1 => write!(words, "{}", idx % 500),
                    2 => write!(words, "{:03}", idx % 50),
                    _ => write!(words, "w{idx}"),
                }
                .expect("write to a String");
            }
            words.push('\n');
        }
        let small = words[..words[..300_000].rfind('\n').expect("a line") + 1].to_string();
        let mut events = String::new();
        let base = 1_710_072_000i64;
        let services = ["api", "auth", "db"];
        for i in 0..36_000i64 {
            // 120 s of events, some up to 2 s out of order
            let ms = i * 10 / 3 - r.next(2000) as i64;
            let t = base * 1000 + ms.max(0);
            let ts = format!(
                "2024-03-10T12:{:02}:{:02}.{:03}Z",
                (t / 1000 - base) / 60,
                (t / 1000 - base) % 60,
                t % 1000
            );
            let latency = match r.next(4) {
                0 => r.next(900).to_string(),
                _ => format!("{}.{:03}", r.next(900), r.next(1000)),
            };
            let code = ["200", "200.0", "\"200\"", "404", "\"404\"", "2e2"][r.next(6) as usize];
            let user = r.next(60_000);
            let service = if r.next(50) == 0 {
                String::new()
            } else {
                format!(",\"service\":\"{}\"", services[r.next(3) as usize])
            };
            writeln!(
                events,
                "{{\"ts\":\"{ts}\"{service},\"latency_ms\":{latency},\"code\":{code},\"user\":\"u{user}\"}}"
            )
            .expect("write to a String");
        }
        let words_path = dir.path().join("words.txt");
        let small_path = dir.path().join("small_words.txt");
        let events_path = dir.path().join("events.jsonl");
        std::fs::write(&words_path, words).expect("write words");
        std::fs::write(&small_path, small).expect("write small words");
        std::fs::write(&events_path, events).expect("write events");
        Inputs {
            _dir: dir,
            words: words_path,
            small_words: small_path,
            events: events_path,
        }
    })
}

/// Runs `args` on `file` in every variant; fails naming the first variant
/// whose output (or summary on standard error) differs from the first's.
fn assert_deterministic(file: &Path, args: &[&str]) {
    let data = std::fs::read(file).expect("read input");
    let path = file.to_str().expect("utf-8 temp path");
    let mut first: Option<(String, String, String)> = None;
    for v in VARIANTS {
        let mut full: Vec<&str> = vec!["--threads", v.threads, "--no-progress"];
        if let Some(m) = v.max_line {
            full.extend(["--max-line-bytes", m]);
        }
        if v.source == Source::File {
            full.extend(["-i", path]);
        }
        full.extend_from_slice(args);
        let mut run = spate(&full).timeout(Duration::from_secs(300));
        match v.source {
            Source::File => {}
            Source::Pipe => run = run.stdin(data.clone()),
            Source::Redirect => {
                run = run.stdin_file(std::fs::File::open(file).expect("open input"))
            }
        }
        let out = run.run();
        assert_eq!(out.code, 0, "spate {full:?}: {}", out.stderr);
        let label = format!(
            "--threads {} {} --max-line-bytes {}",
            v.threads,
            match v.source {
                Source::File => "file",
                Source::Pipe => "pipe",
                Source::Redirect => "redirected file",
            },
            v.max_line.unwrap_or("default")
        );
        let got = (normalize_times(&out.stdout), out.stderr);
        match &first {
            None => {
                assert!(!got.0.is_empty(), "{label}: no output for {args:?}");
                first = Some((label, got.0, got.1));
            }
            Some((l0, stdout, stderr)) => {
                if *stdout != got.0 {
                    panic!(
                        "{args:?}: {label} differs from {l0}:\n{}",
                        crate::util::diff(stdout, &got.0)
                    );
                }
                assert_eq!(*stderr, got.1, "{args:?}: stderr of {label} and {l0}");
            }
        }
    }
}

#[test]
fn determinism_count_by_key_words() {
    let i = inputs();
    assert_deterministic(&i.words, &["-b", "eof", "split", "then", "count-by-key"]);
    assert_deterministic(
        &i.small_words,
        &["-b", "eof", "split", "then", "count-by-key"],
    );
}

#[test]
fn determinism_count_by_key_max_keys_keeps_the_first_keys() {
    let i = inputs();
    for max in ["1", "500", "20000"] {
        let args = [
            "--max-keys",
            max,
            "-b",
            "eof",
            "split",
            "then",
            "count-by-key",
        ];
        assert_deterministic(&i.words, &args);
    }
    let args = [
        "--max-keys",
        "300",
        "-b",
        "eof",
        "split",
        "then",
        "count-by-key",
    ];
    assert_deterministic(&i.small_words, &args);
}

#[test]
fn determinism_count_by_key_several_fields_and_kinds() {
    let i = inputs();
    let args = [
        "-b",
        "eof",
        "-o",
        "jsonl",
        "json",
        "then",
        "count-by-key",
        "service",
        "code",
    ];
    assert_deterministic(&i.events, &args);
    let args = [
        "-b",
        "eof",
        "-o",
        "jsonl",
        "json",
        "then",
        "count-by-key",
        "code",
    ];
    assert_deterministic(&i.events, &args);
    let args = [
        "--max-keys",
        "3",
        "-b",
        "eof",
        "json",
        "then",
        "count-by-key",
        "user",
        "code",
    ];
    assert_deterministic(&i.events, &args);
}

#[test]
fn determinism_stats_every_aggregate() {
    let i = inputs();
    let args = [
        "-b",
        "eof",
        "-o",
        "jsonl",
        "json",
        "then",
        "stats",
        "-f",
        "latency_ms,user",
        "-a",
        "count,sum,mean,min,max,p50,p90,p95,p99,p99.9,distinct",
        "-g",
        "service",
    ];
    assert_deterministic(&i.events, &args);
    // one group: percentiles over 36,000 values, distinct over 26,000
    let args = [
        "-b",
        "eof",
        "json",
        "then",
        "stats",
        "-f",
        "latency_ms,user",
        "-a",
        "sum,mean,p50,p99,distinct",
    ];
    assert_deterministic(&i.events, &args);
}

#[test]
fn determinism_stats_max_keys() {
    let i = inputs();
    let args = [
        "--max-keys",
        "40",
        "-b",
        "eof",
        "json",
        "then",
        "stats",
        "-f",
        "latency_ms",
        "-a",
        "count,sum,p50,distinct",
        "-g",
        "user",
    ];
    assert_deterministic(&i.events, &args);
    // the (other) row's percentiles too, batch by batch and over windows
    let args = [
        "--max-keys",
        "40",
        "--event-time",
        "ts",
        "--lateness",
        "5s",
        "-b",
        "30s",
        "json",
        "then",
        "window",
        "1m",
        "--slide",
        "30s",
        "then",
        "stats",
        "-f",
        "latency_ms",
        "-a",
        "count,p50,p99",
        "-g",
        "user",
    ];
    assert_deterministic(&i.events, &args);
}

#[test]
fn determinism_event_time_windows() {
    let i = inputs();
    let args = [
        "--event-time",
        "ts",
        "--lateness",
        "5s",
        "-b",
        "30s",
        "-o",
        "jsonl",
        "json",
        "then",
        "window",
        "1m",
        "--slide",
        "30s",
        "then",
        "stats",
        "-f",
        "latency_ms",
        "-a",
        "count,sum,mean,min,max,p50,p99,distinct",
        "-g",
        "service",
    ];
    assert_deterministic(&i.events, &args);
    let args = [
        "--max-keys",
        "100",
        "--event-time",
        "ts",
        "--lateness",
        "5s",
        "-b",
        "30s",
        "json",
        "then",
        "window",
        "1m",
        "--slide",
        "30s",
        "then",
        "count-by-key",
        "user",
    ];
    assert_deterministic(&i.events, &args);
    let args = [
        "--event-time",
        "ts",
        "--lateness",
        "1s",
        "-b",
        "1m",
        "json",
        "then",
        "stats",
        "-f",
        "latency_ms",
        "-a",
        "p50,p90,p99,sum",
        "-g",
        "service",
    ];
    assert_deterministic(&i.events, &args);
}

#[test]
fn determinism_batch_lines() {
    let i = inputs();
    let args = [
        "--batch-lines",
        "7000",
        "json",
        "then",
        "stats",
        "-f",
        "latency_ms",
        "-a",
        "p50,p99,sum,mean",
        "-g",
        "service",
    ];
    assert_deterministic(&i.events, &args);
    let args = [
        "--batch-lines",
        "9999",
        "--max-keys",
        "700",
        "split",
        "then",
        "count-by-key",
    ];
    assert_deterministic(&i.words, &args);
    assert_deterministic(&i.words, &["-b", "eof", "count"]);
}

/// A plain count reads no line: over ASCII, other UTF-8, CRLF and
/// invalid lines alike it is the number of lines, the invalid ones still
/// reported, whatever the threads and however the input is cut.
#[test]
fn determinism_count_of_mixed_text_is_every_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut r = Lcg(7);
    let mut data: Vec<u8> = Vec::new();
    let mut lines = 0u64;
    let mut invalid = 0u64;
    while data.len() < 3_000_000 {
        // long runs of one kind, so that many chunks are all of a kind
        let kind = r.next(5);
        for _ in 0..1 + r.next(4000) {
            match kind {
                0 | 1 => data.extend_from_slice(b"plain ascii words here"),
                2 => data.extend_from_slice("caf\u{e9} na\u{ef}ve \u{65e5}\u{672c}".as_bytes()),
                3 => data.extend_from_slice(b"windows line\r"),
                _ if r.next(50) == 0 => {
                    data.extend_from_slice(b"bad \xff byte");
                    invalid += 1;
                }
                _ => data.extend_from_slice("\u{e9}t\u{e9}\r".as_bytes()),
            }
            data.push(b'\n');
            lines += 1;
        }
    }
    assert!(invalid > 0);
    let path = dir.path().join("mixed.txt");
    std::fs::write(&path, &data).expect("write the input");
    assert_deterministic(&path, &["-b", "eof", "-o", "tsv", "count"]);
    let out = spate([
        "-i",
        path.to_str().expect("utf-8"),
        "-b",
        "eof",
        "-o",
        "tsv",
        "count",
    ])
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.ends_with(&format!("\t{lines}\n")),
        "{lines} lines: {}",
        out.stdout
    );
    assert!(
        out.stderr.contains(&format!(
            "{lines} lines read: {lines} processed, 0 filtered, 0 dropped; repaired ({invalid} bad UTF-8)"
        )),
        "every line counted, the invalid ones repaired: {}",
        out.stderr
    );
}

/// `json` alone before `stats` hands the fields stats reads straight to it
/// (no record): on every shape of line (repeated, escaped, missing and
/// null keys, `_` as a key, nested values, numbers at serde_json's edges,
/// text where a number is read, invalid JSON, bad UTF-8, CRLF) the result,
/// the summary and the dead letters equal those of the record path, which
/// an operator between the two forces.
#[test]
fn determinism_json_stats_values_equal_the_record_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut r = Lcg(11);
    let services = ["auth", "api", "search", "caf\u{e9}", "a\\\"b", "x y"];
    let levels = ["\"info\"", "\"warn\"", "null", "7", "true"];
    let numbers = [
        "61.921",
        "-0",
        "0",
        "12345678901234567890",
        "-9223372036854775808",
        "1.5e3",
        "1e400",
        "\"12\"",
        "\"n/a\"",
        "null",
        "1234567890.1234567",
        "0.1",
        "-3",
    ];
    let mut data: Vec<u8> = Vec::new();
    let mut t: i64 = 1000;
    while data.len() < 2_500_000 {
        let s = services[r.next(services.len() as u64) as usize];
        let l = levels[r.next(levels.len() as u64) as usize];
        let n = numbers[r.next(numbers.len() as u64) as usize];
        let line = match r.next(20) {
            0 => format!(r#"{{"service":"{s}","service":"other","latency_ms":{n}}}"#),
            1 => format!(r#"{{"serv\u0069ce":"{s}","latency_ms":{n},"level":{l}}}"#),
            2 => format!(r#"{{"_":"{s}","service":null,"latency_ms":{n}}}"#),
            3 => format!(r#"{{"service":"{s}","meta":{{"k":[1,2]}},"latency_ms":{n}}}"#),
            4 => format!(r#"{{"service":"{s}","latency_ms":{n},}}"#),
            5 => format!(r#"{{"latency_ms":{n}}}"#),
            6 => format!(r#"  {{ "service" : "{s}" , "latency_ms" : {n} }}  "#),
            7 => format!("{{\"service\":\"{s}\",\"latency_ms\":{n}}}\r"),
            8 => format!(r#"{{"service":{n},"level":"{s}"}}"#),
            9 => "[1,2]".to_string(),
            10 => String::new(),
            11 => format!(r#"{{"service":"{s}","latency_ms":{n}}} x"#),
            12 => format!(r#"{{"ts":null,"service":"{s}","latency_ms":{n}}}"#),
            13 => format!(
                r#"{{"ts":{},"service":"{s}","latency_ms":{n}}}"#,
                1_710_072_000_000 + t * 1000
            ),
            _ => {
                // now and then a time well before (late by event time)
                let at = if r.next(300) == 0 { t - 900 } else { t };
                format!(
                    r#"{{"ts":"2024-03-10T{:02}:{:02}:{:02}.000Z","service":"{s}","level":{l},"latency_ms":{n},"user":"u{}"}}"#,
                    12 + at / 3600,
                    (at / 60) % 60,
                    at % 60,
                    r.next(1000)
                )
            }
        };
        t += r.next(2) as i64;
        data.extend_from_slice(line.as_bytes());
        if r.next(200) == 0 {
            data.extend_from_slice(b"{\"service\":\"bad \xff\",\"latency_ms\":1}");
        }
        data.push(b'\n');
    }
    let path = dir.path().join("events.jsonl");
    std::fs::write(&path, &data).expect("write the input");
    let stats = latency_stats("count,sum,mean,min,max,distinct,p50");
    let (rows, dead) = eof_values_deterministic(&path, "json", &stats);
    assert!(rows.lines().count() > 20, "{rows}");
    assert!(dead.lines().count() > 100, "lines dropped: {dead}");
    // by event time read from a field the aggregation does not read
    let (rows, _, dead) = values_equal_records(
        &path,
        &["--event-time", "ts", "--lateness", "5m", "-b", "1m"],
        &["json"],
        "ts,service,level,latency_ms",
        &stats,
    );
    assert!(rows.lines().count() > 100, "{rows}");
    for reason in ["late", "untimed"] {
        assert!(dead.contains(reason), "no {reason} line: {dead}");
    }
}

/// `stats` of latency_ms by service and level, with these aggregates.
fn latency_stats(aggs: &str) -> [&str; 7] {
    [
        "stats",
        "-f",
        "latency_ms",
        "-a",
        aggs,
        "-g",
        "service,level",
    ]
}

/// `-b eof OP then STATS` (stats of latency_ms by service and level) over
/// `input`: the same bytes whatever the threads and reads, and the same
/// rows, summary and dead letters as the record path; returns the rows and
/// the dead letters.
fn eof_values_deterministic(input: &Path, op: &str, stats: &[&str]) -> (String, String) {
    let direct: Vec<&str> = ["-b", "eof", "-o", "tsv", op, "then"]
        .into_iter()
        .chain(stats.iter().copied())
        .collect();
    assert_deterministic(input, &direct);
    let (rows, _, dead) = values_equal_records(
        input,
        &["-b", "eof"],
        &[op],
        "service,level,latency_ms",
        stats,
    );
    (rows, dead)
}

/// Runs `OP then AGG` and `OP then fields MADE then AGG` (which makes
/// records) over `input` with `options`, and checks that the rows, the
/// summary and the dead letters are equal; returns the first run's.
fn values_equal_records(
    input: &Path,
    options: &[&str],
    op: &[&str],
    made: &str,
    agg: &[&str],
) -> (String, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |between: &[&str], dead: &Path| {
        let mut args = vec![
            "--threads",
            "2",
            "--no-progress",
            "-i",
            input.to_str().expect("utf-8"),
            "--dead-letter",
            dead.to_str().expect("utf-8"),
            "-o",
            "tsv",
        ];
        args.extend_from_slice(options);
        args.extend_from_slice(op);
        args.push("then");
        args.extend_from_slice(between);
        args.extend_from_slice(agg);
        let out = spate(&args).run();
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        let dead = std::fs::read_to_string(dead).expect("dead letters");
        (normalize_times(&out.stdout), out.stderr, dead)
    };
    let direct = run(&[], &dir.path().join("dead1"));
    let records = run(&["fields", made, "then"], &dir.path().join("dead2"));
    assert_eq!(direct.0, records.0, "{op:?} {agg:?}: rows");
    assert_eq!(direct.1, records.1, "{op:?} {agg:?}: summary");
    assert_eq!(direct.2, records.2, "{op:?} {agg:?}: dead letters");
    direct
}

/// The values path by event time: `parse` alone before `count-by-key` or
/// `stats` (one field and several, a fixed-width pattern and one the regex
/// engine runs, sliding windows) hands the groups straight to the batch's
/// state; lines out of order past the lateness, without a time, or not
/// matching give the same rows, summary and dead letters as the record
/// path, which an operator between the two forces.
#[test]
fn determinism_parse_values_by_event_time_equal_the_record_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut r = Lcg(5);
    let mut data = String::new();
    let mut t: i64 = 0;
    while data.len() < 2_000_000 {
        t += r.next(3) as i64;
        // now and then a line from well before (late), or no time at all
        let at = if r.next(500) == 0 { t - 900 } else { t };
        let stamp = format!(
            "10/Mar/2024:{:02}:{:02}:{:02} +0000",
            12 + at / 3600,
            (at / 60) % 60,
            at % 60
        );
        let method = ["GET", "POST", "PUT"][r.next(3) as usize];
        let status = ["200", "304", "404", "500", "20x"][r.next(5) as usize];
        let line = match r.next(100) {
            0 => format!(
                "10.0.0.{} - - [no time] \"{method} /x HTTP/1.1\" {status} 12\n",
                r.next(9)
            ),
            1 => format!("garbage line {}\n", r.next(1000)),
            _ => format!(
                "10.0.0.{} - - [{stamp}] \"{method} /p/{} HTTP/1.1\" {status} {}\n",
                r.next(9),
                r.next(50),
                r.next(5000)
            ),
        };
        data.push_str(&line);
    }
    let path = dir.path().join("access.log");
    std::fs::write(&path, &data).expect("write the input");
    let cases: [(&str, &str, &[&str]); 3] = [
        (
            r#"" (?P<status>\d{3}) "#,
            "status",
            &["count-by-key", "status"],
        ),
        (
            r#""(?P<method>[A-Z]+) \S+ \S+" (?P<status>\S+) (?P<bytes>\d+)"#,
            "method,status,bytes",
            &["count-by-key", "method,status"],
        ),
        (
            r#""(?P<method>[A-Z]+) \S+ \S+" (?P<status>\S+) (?P<bytes>\d+)"#,
            "method,status,bytes",
            &[
                "window",
                "10m",
                "--slide",
                "1m",
                "then",
                "stats",
                "-f",
                "bytes",
                "-a",
                "count,sum,p90",
                "-g",
                "status",
            ],
        ),
    ];
    for (regex, made, agg) in cases {
        let options = ["--event-time", "auto", "--lateness", "5m", "-b", "1m"];
        let direct = values_equal_records(&path, &options, &["parse", regex], made, agg);
        assert!(direct.0.lines().count() > 100, "{}", direct.0);
        for reason in ["late", "untimed", "unparsed"] {
            assert!(
                direct.2.contains(reason),
                "{agg:?}: no {reason} line: {}",
                direct.1
            );
        }
    }
}

/// The values path of `logfmt`: quoted values with escapes, repeated and
/// bare keys, `_` as a key, numbers and text, lines with no pair or an
/// unterminated quote give the same rows, summary and dead letters as the
/// record path, whatever the threads and the reads.
#[test]
fn determinism_logfmt_values_equal_the_record_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut r = Lcg(17);
    let services = [
        "auth",
        "\"api gw\"",
        "\"a \\\"q\\\" b\"",
        "caf\u{e9}",
        "\"\"",
    ];
    let numbers = [
        "61.9",
        "-0",
        "12345678901234567890",
        "1e400",
        "n/a",
        "\"7\"",
        "",
    ];
    let mut data = String::new();
    while data.len() < 2_000_000 {
        let s = services[r.next(services.len() as u64) as usize];
        let n = numbers[r.next(numbers.len() as u64) as usize];
        let line = match r.next(16) {
            0 => format!("service={s} latency_ms={n} service=other"),
            1 => format!("_={s} service latency_ms={n}"),
            2 => format!("service={s} latency_ms=\"{n}"),
            3 => "just words here".to_string(),
            4 => format!("\"quoted\" service={s} level=warn latency_ms={n}"),
            5 => format!("latency_ms={n}"),
            _ => format!(
                "ts=2024-03-10T12:00:00.000Z service={s} level=info latency_ms={n} user=u{}",
                r.next(1000)
            ),
        };
        data.push_str(&line);
        data.push('\n');
    }
    let path = dir.path().join("events.logfmt");
    std::fs::write(&path, &data).expect("write the input");
    let stats = latency_stats("count,sum,mean,max,distinct,p50");
    let (rows, dead) = eof_values_deterministic(&path, "logfmt", &stats);
    assert!(rows.lines().count() > 10, "{rows}");
    assert!(dead.lines().count() > 100, "lines dropped: {dead}");
    values_equal_records(
        &path,
        &["-b", "eof"],
        &["logfmt"],
        "service,level",
        &["count-by-key", "service,level"],
    );
}

/// `--max-keys`' tally counts each record once, the first time it goes
/// to `(other)`, whatever the windows it is in: a sliding window's
/// batches are in several windows, and `window all`'s running total holds
/// every earlier batch (the tally added up every window's `(other)` row:
/// 96 records of 40, and 6 of 4).
#[test]
fn determinism_max_keys_tally_counts_each_record_once_over_windows() {
    // one line a second over four keys: the 10 s batches keep k0 or k2,
    // the 30 s windows one key of their three batches
    let input: String = (0..40)
        .map(|i| format!("{} k{}\n", 1_700_000_000 + i, i % 4))
        .collect();
    let overflow = |args: &[&str]| -> (u64, u64) {
        let out = spate(args).stdin(input.clone()).run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let last = out.stdout.lines().last().unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(last).expect("stats json");
        let o = &v["accounting"]["key_overflow"];
        (
            o["results"].as_u64().expect("results"),
            o["records"].as_u64().expect("records"),
        )
    };
    for threads in ["1", "4"] {
        for agg in [
            &["count-by-key"][..],
            &["stats", "-f", "_", "-a", "count", "-g", "_"],
        ] {
            let mut a = vec![
                "--threads",
                threads,
                "--event-time",
                "auto",
                "-b",
                "10s",
                "--max-keys",
                "1",
                "-o",
                "jsonl",
                "--stats-json",
                "split",
                "then",
                "where",
                "_",
                "~",
                "^k",
                "then",
                "window",
                "30s",
                "then",
            ];
            a.extend(agg);
            // 6 windows over it; k0's 3 records of the first batch kept
            // their row in every window they are in, the 37 others went
            // to (other) in one at least
            assert_eq!(overflow(&a), (6, 37), "{threads} {agg:?}");
        }
        // the running total: b, c and d, each once
        let out = spate([
            "--threads",
            threads,
            "--batch-lines",
            "1",
            "--max-keys",
            "1",
            "window",
            "all",
            "then",
            "count-by-key",
        ])
        .stdin("a\nb\nc\nd\n")
        .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stderr
                .contains("--max-keys 1: 3 results went over it; 3 records counted under (other)"),
            "{}",
            out.stderr
        );
    }
}
