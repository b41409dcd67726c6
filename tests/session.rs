//! `window session GAP`: on random streams of keyed, timestamped records
//! (out of order within the lateness), spate writes exactly the sessions
//! of a naive sessionisation (per key, runs of records less than GAP
//! apart), each with the first batch whose end is at or after its end, in
//! the aggregation's order, whatever the threads, from a file or a pipe fed
//! in pieces of any size; and in processing time, sessions split where the
//! input paused. Also what counts batches, `--max-keys` and the usage
//! errors.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use proptest::prelude::*;

use crate::util::{spate, wait_output};

const BASE: i64 = 1_710_072_000; // 2024-03-10T12:00:00Z
const B: i64 = 10; // the batch interval, seconds

fn rfc3339(t: i64) -> String {
    let s = t - BASE;
    format!(
        "2024-03-10T{:02}:{:02}:{:02}Z",
        12 + s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

#[derive(Debug, Clone)]
struct Rec {
    ts: i64,
    /// None: the record has no `user` field (the empty key).
    user: Option<&'static str>,
    v: i64,
}

const USERS: [Option<&str>; 5] = [Some("a"), Some("b"), Some("c"), Some("d"), None];

/// Records in arrival order: each may be delayed by less than the
/// lateness, so none is late.
fn stream(lateness: i64) -> impl Strategy<Value = Vec<Rec>> {
    prop::collection::vec(
        (
            0i64..900,
            0usize..USERS.len(),
            0i64..100,
            0i64..lateness.max(1),
        ),
        1..400,
    )
    .prop_map(move |v| {
        let mut arrivals: Vec<(i64, usize, Rec)> = v
            .into_iter()
            .enumerate()
            .map(|(i, (t, u, v, d))| {
                let d = if lateness == 0 { 0 } else { d };
                let r = Rec {
                    ts: BASE + t,
                    user: USERS[u],
                    v,
                };
                (BASE + t + d, i, r)
            })
            .collect();
        arrivals.sort_by_key(|(a, i, _)| (*a, *i));
        arrivals.into_iter().map(|(_, _, r)| r).collect()
    })
}

/// JSON lines, padded so that the whole is over 150 kB: large enough to
/// be cut into parts for several workers.
fn input(recs: &[Rec]) -> Vec<u8> {
    let pad = "x".repeat(150_000 / recs.len().max(1));
    let mut out = String::new();
    for r in recs {
        let user = r
            .user
            .map_or(String::new(), |u| format!(",\"user\":\"{u}\""));
        out.push_str(&format!(
            "{{\"ts\":\"{}\"{user},\"v\":{},\"pad\":\"{pad}\"}}\n",
            rfc3339(r.ts),
            r.v
        ));
    }
    out.into_bytes()
}

/// One session of the naive sessionisation.
#[derive(Debug, Clone)]
struct Naive {
    user: Option<&'static str>,
    start: i64,
    last: i64,
    vals: Vec<i64>,
}

/// Per key, the records in time order cut where two are GAP or more
/// apart.
fn sessionise(recs: &[Rec], gap: i64, per_key: bool) -> Vec<Naive> {
    let mut by_key: BTreeMap<Option<&str>, Vec<(i64, i64)>> = BTreeMap::new();
    for r in recs {
        let k = if per_key { r.user } else { None };
        by_key.entry(k).or_default().push((r.ts, r.v));
    }
    let mut out: Vec<Naive> = Vec::new();
    for (user, mut list) in by_key {
        list.sort_unstable();
        let mut cur: Option<Naive> = None;
        for (t, v) in list {
            match &mut cur {
                Some(s) if t - s.last < gap => {
                    s.last = t;
                    s.vals.push(v);
                }
                _ => {
                    out.extend(cur.take());
                    cur = Some(Naive {
                        user,
                        start: t,
                        last: t,
                        vals: vec![v],
                    });
                }
            }
        }
        out.extend(cur);
    }
    out
}

/// The aggregation after the window, and how it names and orders rows.
#[derive(Debug, Clone, Copy)]
enum Agg {
    Count,
    CountByKey,
    Stats,
}

impl Agg {
    fn words(self) -> Vec<&'static str> {
        match self {
            Agg::Count => vec!["count"],
            Agg::CountByKey => vec!["count-by-key", "user"],
            Agg::Stats => vec!["stats", "-f", "v", "-a", "count,sum,max", "-g", "user"],
        }
    }

    /// The row spate writes for a session (JSON, without the time).
    fn row(self, s: &Naive, gap: i64) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        if !matches!(self, Agg::Count) {
            m.insert(
                "user".into(),
                s.user.map_or(serde_json::Value::Null, Into::into),
            );
        }
        m.insert("session_start".into(), rfc3339(s.start).into());
        m.insert("session_end".into(), rfc3339(s.last + gap).into());
        let n = s.vals.len() as i64;
        m.insert("count".into(), n.into());
        if let Agg::Stats = self {
            m.insert("sum".into(), s.vals.iter().sum::<i64>().into());
            m.insert("max".into(), s.vals.iter().max().copied().into());
        }
        serde_json::Value::Object(m)
    }

    /// Sessions written together: as the aggregation orders its rows,
    /// then by start.
    fn order(self, a: &Naive, b: &Naive) -> std::cmp::Ordering {
        // the empty key sorts last
        let key = |s: &Naive| (s.user.is_none(), s.user);
        let by_agg = match self {
            Agg::Count => std::cmp::Ordering::Equal,
            Agg::CountByKey => b.vals.len().cmp(&a.vals.len()).then(key(a).cmp(&key(b))),
            Agg::Stats => key(a).cmp(&key(b)),
        };
        by_agg.then(a.start.cmp(&b.start))
    }
}

/// What spate must print with `-o json`: each session with the batch at
/// or after its end, batches in time order.
fn expected(recs: &[Rec], gap: i64, agg: Agg) -> Vec<serde_json::Value> {
    let sessions = sessionise(recs, gap, !matches!(agg, Agg::Count));
    let mut by_batch: BTreeMap<i64, Vec<Naive>> = BTreeMap::new();
    for s in sessions {
        let end = s.last + gap;
        let batch = (end + B - 1).div_euclid(B) * B;
        by_batch.entry(batch).or_default().push(s);
    }
    by_batch
        .into_iter()
        .map(|(t, mut list)| {
            list.sort_by(|a, b| agg.order(a, b));
            let rows: Vec<serde_json::Value> = list.iter().map(|s| agg.row(s, gap)).collect();
            serde_json::json!({"time": rfc3339(t), "rows": rows})
        })
        .collect()
}

/// Feeds `data` to spate's standard input in pieces of `piece` bytes, a
/// moment apart, so that it reads them as separate chunks.
fn run_piecewise(args: &[String], data: &[u8], piece: usize) -> crate::util::Output {
    let mut child = spate(args).spawn();
    let mut sin = child.stdin.take().expect("stdin piped");
    let data = data.to_vec();
    let feeder = std::thread::spawn(move || {
        for p in data.chunks(piece.max(1)) {
            if sin.write_all(p).is_err() {
                return;
            }
            let _ = sin.flush();
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    let out = wait_output(child, Duration::from_secs(60));
    let _ = feeder.join();
    out
}

/// Runs the chain on `recs` with 1, 2 and 3 threads, from a file and from
/// a pipe fed in pieces: every run writes the same bytes; returns them.
fn run_every_way(recs: &[Rec], gap: i64, lateness: i64, agg: Agg, piece: usize) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("events.jsonl");
    let data = input(recs);
    std::fs::write(&path, &data).expect("write input");
    let mut chain: Vec<String> = [
        "--event-time",
        "ts",
        "-b",
        "10s",
        "--lateness",
        &format!("{lateness}s"),
        "-o",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let ops = [
        "json",
        "then",
        "window",
        "session",
        &format!("{gap}s"),
        "then",
    ];
    let mut first: Option<String> = None;
    for threads in ["1", "2", "3"] {
        for from_file in [true, false] {
            let mut args = vec!["--threads".to_string(), threads.to_string()];
            if from_file {
                args.extend(["-i".to_string(), path.display().to_string()]);
            }
            args.extend(chain.iter().cloned());
            args.extend(ops.iter().map(|s| s.to_string()));
            args.extend(agg.words().iter().map(|s| s.to_string()));
            let out = if from_file {
                spate(&args).run()
            } else {
                run_piecewise(&args, &data, piece)
            };
            assert_eq!(out.code, 0, "spate {}: {}", args.join(" "), out.stderr);
            assert_eq!(out.stderr, "", "nothing late or dropped");
            match &first {
                None => first = Some(out.stdout),
                Some(f) => assert!(
                    *f == out.stdout,
                    "{threads} threads, from a file {from_file}: the output differs"
                ),
            }
        }
    }
    chain.clear();
    first.unwrap_or_default()
}

fn check(recs: &[Rec], gap: i64, lateness: i64, agg: Agg, piece: usize) {
    let out = run_every_way(recs, gap, lateness, agg, piece);
    let got: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object per batch"))
        .collect();
    let want = expected(recs, gap, agg);
    if got != want {
        let show =
            |v: &[serde_json::Value]| -> String { v.iter().map(|b| format!("{b}\n")).collect() };
        panic!(
            "gap {gap}s, lateness {lateness}s, {agg:?}\n--- expected ---\n{}--- got ---\n{}",
            show(&want),
            show(&got)
        );
    }
}

fn gap() -> impl Strategy<Value = i64> {
    prop_oneof![Just(1i64), Just(7), Just(10), Just(25), Just(60)]
}

fn agg() -> impl Strategy<Value = Agg> {
    prop_oneof![Just(Agg::Count), Just(Agg::CountByKey), Just(Agg::Stats)]
}

fn piece() -> impl Strategy<Value = usize> {
    prop_oneof![Just(997usize), Just(16_384), Just(200_000)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// In order: the sessions of the naive sessionisation, each with the
    /// batch its end falls in, whatever the threads and the chunking.
    #[test]
    fn session_event_time_equals_naive(recs in stream(0), gap in gap(), agg in agg(), piece in piece()) {
        check(&recs, gap, 0, agg, piece);
    }

    /// Out of order within the lateness: records that come late but in
    /// time join (and bridge) the sessions they belong to.
    #[test]
    fn session_out_of_order_within_lateness_equals_naive(recs in stream(40), gap in gap(), agg in agg(), piece in piece()) {
        check(&recs, gap, 40, agg, piece);
    }
}

/// Processing time: lines fed in bursts with pauses longer than GAP make
/// a session per key and burst; a session's row carries its own times.
#[test]
fn session_processing_time_splits_at_pauses() {
    let mut child = spate([
        "-b",
        "100ms",
        "window",
        "session",
        "400ms",
        "then",
        "count-by-key",
    ])
    .spawn();
    let mut sin = child.stdin.take().expect("stdin piped");
    let feeder = std::thread::spawn(move || {
        for burst in ["a\nb\na\n", "a\nc\n", "c\nc\n"] {
            if sin.write_all(burst.as_bytes()).is_err() {
                return;
            }
            let _ = sin.flush();
            std::thread::sleep(Duration::from_millis(1_200));
        }
    });
    let out = wait_output(child, Duration::from_secs(30));
    let _ = feeder.join();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows: Vec<Vec<String>> = out
        .stdout
        .lines()
        .map(|l| l.split('\t').map(String::from).collect())
        .collect();
    let keys: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[1].as_str(), r[4].as_str()))
        .collect();
    assert_eq!(
        keys,
        [("a", "2"), ("b", "1"), ("a", "1"), ("c", "1"), ("c", "2")],
        "{}",
        out.stdout
    );
    let ms = |t: &str| -> i64 {
        // 2026-12-06T05:39:40.178Z: the milliseconds of the day suffice
        let (hms, frac) = t[11..t.len() - 1].split_once('.').expect("milliseconds");
        let p: Vec<i64> = hms
            .split(':')
            .map(|x| x.parse().expect("a number"))
            .collect();
        ((p[0] * 60 + p[1]) * 60 + p[2]) * 1000 + frac.parse::<i64>().expect("ms")
    };
    for r in &rows {
        assert_eq!(r[0], r[3], "the row's time is its session_end: {r:?}");
        let (start, end) = (ms(&r[2]), ms(&r[3]));
        // a burst is read at once: its records share their time
        assert_eq!(end - start, 400, "{r:?}");
    }
    // the bursts are 1.2 s apart
    let starts: Vec<i64> = rows.iter().map(|r| ms(&r[2])).collect();
    assert!(
        starts[2] - starts[0] >= 1_000 && starts[4] - starts[2] >= 1_000,
        "{starts:?}"
    );
}

/// A session is written with the batch at or after its end: one batch for
/// `--max-batches`, whatever number of sessions it holds; a batch is
/// counted once by `--exit-on-row`.
#[test]
fn session_max_batches_and_exit_on_row_count_batches() {
    let input = "2024-03-10T12:00:01Z a\n2024-03-10T12:00:02Z b\n\
                 2024-03-10T12:00:31Z a\n2024-03-10T12:01:40Z c\n";
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        v.extend(
            [
                "--event-time",
                "auto",
                "-b",
                "10s",
                "map",
                "field",
                "2",
                "then",
                "window",
                "session",
                "5s",
                "then",
                "count-by-key",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        v
    };
    let out = spate(args(&[])).stdin(input).run();
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        [
            "2024-03-10T12:00:06Z\ta\t2024-03-10T12:00:01Z\t2024-03-10T12:00:06Z\t1",
            "2024-03-10T12:00:07Z\tb\t2024-03-10T12:00:02Z\t2024-03-10T12:00:07Z\t1",
            "2024-03-10T12:00:36Z\ta\t2024-03-10T12:00:31Z\t2024-03-10T12:00:36Z\t1",
            "2024-03-10T12:01:45Z\tc\t2024-03-10T12:01:40Z\t2024-03-10T12:01:45Z\t1",
        ]
    );
    // the first batch (ending 12:00:10) holds two sessions
    let out = spate(args(&["--max-batches", "1", "--stats-json", "-o", "jsonl"]))
        .stdin(input)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert!(lines[2].contains("\"unemitted\":2"), "{}", lines[2]);
    let out = spate(args(&["--exit-on-row", "-o", "json"]))
        .stdin(input)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(out.stdout.contains("\"b\""), "{}", out.stdout);
}

/// Past `--max-keys` keys with sessions open, the sessions of further keys
/// are written under `(other)`, last, and the summary says so.
#[test]
fn session_max_keys_folds_further_keys_into_other() {
    let input = "2024-03-10T12:00:01Z a\n2024-03-10T12:00:02Z b\n\
                 2024-03-10T12:00:03Z c\n2024-03-10T12:00:04Z a\n\
                 2024-03-10T12:00:04Z d\n2024-03-10T12:00:30Z d\n";
    let out = spate([
        "--event-time",
        "auto",
        "-b",
        "10s",
        "--max-keys",
        "2",
        "map",
        "field",
        "2",
        "then",
        "window",
        "session",
        "5s",
        "then",
        "count-by-key",
    ])
    .stdin(input)
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        [
            "2024-03-10T12:00:09Z\ta\t2024-03-10T12:00:01Z\t2024-03-10T12:00:09Z\t2",
            "2024-03-10T12:00:07Z\tb\t2024-03-10T12:00:02Z\t2024-03-10T12:00:07Z\t1",
            "2024-03-10T12:00:09Z\t(other)\t2024-03-10T12:00:03Z\t2024-03-10T12:00:09Z\t2",
            "2024-03-10T12:00:35Z\td\t2024-03-10T12:00:30Z\t2024-03-10T12:00:35Z\t1",
        ]
    );
    assert!(out.stderr.contains("--max-keys 2"), "{}", out.stderr);
}

/// Sessions need time: `-b eof` and `--batch-lines` are bad usage.
#[test]
fn session_needs_time_batches() {
    for batch in [["-b", "eof"], ["--batch-lines", "10"]] {
        let out = spate([
            batch[0], batch[1], "window", "session", "5s", "then", "count",
        ])
        .stdin("a\n")
        .run();
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr.contains("window session needs time batches"),
            "{}",
            out.stderr
        );
    }
}

/// `--max-keys` with sessions: which keys keep sessions of their own, and
/// the percentiles, are the same whatever the threads and file or pipe
/// (a part of a chunk once sent a key to `(other)` that an earlier part
/// had kept, so the rows changed with the thread count).
#[test]
fn session_max_keys_same_bytes_whatever_the_threads_and_the_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("in.log");
    let mut data = String::new();
    let (mut t, mut x) = (1_710_072_000_000u64, 12345u64);
    for _ in 0..150_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        t += (x >> 33) % 50;
        data.push_str(&format!(
            "{} k{} {}\n",
            t / 1000,
            (x >> 40) % 40,
            (x >> 20) % 1000
        ));
    }
    std::fs::write(&path, &data).expect("write");
    let args = |threads: &str| -> Vec<String> {
        [
            "--threads",
            threads,
            "--event-time",
            "auto",
            "-b",
            "10s",
            "--max-keys",
            "5",
            "parse",
            r"^\d+ (?P<k>\S+) (?P<v>\d+)",
            "then",
            "window",
            "session",
            "2s",
            "then",
            "stats",
            "-g",
            "k",
            "-f",
            "v",
            "-a",
            "count,p99,distinct",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let mut first: Option<String> = None;
    for threads in ["1", "2", "8"] {
        for pipe in [false, true] {
            let mut a = args(threads);
            let run = if pipe {
                spate(a).stdin(data.clone()).run()
            } else {
                a.splice(0..0, ["-i".to_string(), path.display().to_string()]);
                spate(a).run()
            };
            assert_eq!(run.code, 0, "{}", run.stderr);
            assert!(run.stdout.contains("(other)"), "the bound is reached");
            match &first {
                None => first = Some(run.stdout),
                Some(f) => assert!(
                    *f == run.stdout,
                    "--threads {threads}, pipe {pipe}:\n{}",
                    crate::util::diff(f, &run.stdout)
                ),
            }
        }
    }
}
