//! Property tests: on random streams of timestamped records, arriving out
//! of order within the lateness, every windowed result spate prints equals
//! a naive recomputation from the raw records: for each aggregate, for
//! tumbling batches, sliding windows and `window all`.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

const BASE: i64 = 1_710_072_000; // 2024-03-10T12:00:00Z
const B: i64 = 10; // batch interval, seconds

#[derive(Debug, Clone)]
struct Rec {
    ts: i64,
    key: &'static str,
    v: i64,
}

fn rfc3339(t: i64) -> String {
    let s = t - BASE;
    format!(
        "2024-03-10T{:02}:{:02}:{:02}Z",
        12 + s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

/// Records with their arrival order: each may be delayed by less than the
/// lateness, so none is late.
fn stream(lateness: i64) -> impl Strategy<Value = Vec<Rec>> {
    prop::collection::vec(
        (0i64..600, 0usize..3, 0i64..100, 0i64..lateness.max(1)),
        1..120,
    )
    .prop_map(move |v| {
        let mut with_arrival: Vec<(i64, Rec)> = v
            .into_iter()
            .map(|(t, k, val, d)| {
                let d = if lateness == 0 { 0 } else { d };
                (
                    BASE + t + d,
                    Rec {
                        ts: BASE + t,
                        key: ["a", "b", "c"][k],
                        v: val,
                    },
                )
            })
            .collect();
        with_arrival.sort_by_key(|(a, _)| *a);
        with_arrival.into_iter().map(|(_, r)| r).collect()
    })
}

fn input(recs: &[Rec]) -> Vec<u8> {
    recs.iter()
        .map(|r| format!("{} {} {}\n", rfc3339(r.ts), r.key, r.v))
        .collect::<String>()
        .into_bytes()
}

/// The naive aggregates of a set of values, as spate names them.
fn naive_stats(vals: &[i64]) -> BTreeMap<String, f64> {
    let mut s: Vec<i64> = vals.to_vec();
    s.sort_unstable();
    let n = s.len();
    let rank = |p: f64| s[((p / 100.0 * n as f64).ceil() as usize).clamp(1, n) - 1] as f64;
    let sum: i64 = s.iter().sum();
    let distinct = s.iter().collect::<BTreeSet<_>>().len();
    BTreeMap::from([
        ("count".to_string(), n as f64),
        ("sum".to_string(), sum as f64),
        ("mean".to_string(), sum as f64 / n as f64),
        ("min".to_string(), s[0] as f64),
        ("max".to_string(), s[n - 1] as f64),
        ("p50".to_string(), rank(50.0)),
        ("p90".to_string(), rank(90.0)),
        ("distinct".to_string(), distinct as f64),
    ])
}

type Table = BTreeMap<(String, String), BTreeMap<String, f64>>;

/// spate's jsonl output as (time, key) -> aggregate -> value.
fn parse_output(out: &[u8]) -> Table {
    let mut t = Table::new();
    for line in String::from_utf8_lossy(out).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("jsonl");
        let obj = v.as_object().expect("object");
        let time = obj["time"].as_str().expect("time").to_string();
        let key = obj
            .get("k")
            .and_then(|k| k.as_str())
            .unwrap_or("")
            .to_string();
        // numbers print with up to 6 decimals: compared within 1e-6
        let mut aggs = BTreeMap::new();
        for (name, val) in obj {
            if let Some(x) = val.as_f64() {
                aggs.insert(name.clone(), x);
            }
        }
        t.insert((time, key), aggs);
    }
    t
}

/// The naive table: for each window (start, end) that holds a record, the
/// aggregates per key of the records in it.
fn naive(recs: &[Rec], windows: &[(i64, i64)]) -> Table {
    let mut t = Table::new();
    for &(start, end) in windows {
        let mut by_key: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for r in recs.iter().filter(|r| r.ts >= start && r.ts < end) {
            by_key.entry(r.key).or_default().push(r.v);
        }
        for (k, vals) in by_key {
            t.insert((rfc3339(end), k.to_string()), naive_stats(&vals));
        }
    }
    t
}

fn batch_ends(recs: &[Rec]) -> BTreeSet<i64> {
    recs.iter().map(|r| (r.ts.div_euclid(B) + 1) * B).collect()
}

fn sliding_windows(recs: &[Rec], length: i64, slide: i64) -> Vec<(i64, i64)> {
    let lo = recs.iter().map(|r| r.ts).min().unwrap_or(BASE);
    let hi = recs.iter().map(|r| r.ts).max().unwrap_or(BASE);
    let first = (lo.div_euclid(slide) + 1) * slide;
    let mut out = Vec::new();
    let mut e = first;
    while e - length <= hi {
        out.push((e - length, e));
        e += slide;
    }
    out
}

fn run(args: &[&str], recs: &[Rec]) -> Table {
    let mut full = vec!["--event-time", "auto", "-b", "10s", "-o", "jsonl"];
    full.extend_from_slice(args);
    let (out, counts) = spate::run::run_in_memory(&full, input(recs)).expect("spate runs");
    assert_eq!(counts.dropped(), 0, "nothing late within the lateness");
    parse_output(&out)
}

const STATS: [&str; 9] = [
    "parse",
    r"^\S+ (?P<k>\w+) (?P<v>\d+)$",
    "then",
    "stats",
    "-f",
    "v",
    "-a",
    "count,sum,mean,min,max,p50,p90,distinct",
    "-g",
];

fn with_window(window: &[&'static str]) -> Vec<&'static str> {
    let mut v: Vec<&str> = STATS[..3].to_vec();
    v.extend_from_slice(window);
    if !window.is_empty() {
        v.push("then");
    }
    v.extend_from_slice(&STATS[3..]);
    v.push("k");
    v
}

fn assert_tables(expected: &Table, actual: &Table) {
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        actual.keys().collect::<Vec<_>>(),
        "the same windows and keys"
    );
    for (k, e) in expected {
        let a = &actual[k];
        for (name, x) in e {
            let y = a.get(name).copied().unwrap_or(f64::NAN);
            assert!(
                (x - y).abs() <= 1e-6 * x.abs().max(1.0),
                "{k:?} {name}: expected {x}, got {y}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, .. ProptestConfig::default() })]

    #[test]
    fn props_tumbling_batches_equal_naive(recs in stream(0)) {
        let expected = naive(&recs, &batch_ends(&recs).iter().map(|&e| (e - B, e)).collect::<Vec<_>>());
        assert_tables(&expected, &run(&with_window(&[]), &recs));
    }

    #[test]
    fn props_tumbling_out_of_order_within_lateness(recs in stream(25)) {
        let expected = naive(&recs, &batch_ends(&recs).iter().map(|&e| (e - B, e)).collect::<Vec<_>>());
        let mut args = vec!["--lateness", "25s"];
        args.extend(with_window(&[]));
        assert_tables(&expected, &run(&args, &recs));
    }

    #[test]
    fn props_sliding_windows_equal_naive(recs in stream(15)) {
        let expected = naive(&recs, &sliding_windows(&recs, 30, 10));
        let mut args = vec!["--lateness", "15s"];
        args.extend(with_window(&["window", "30s"]));
        assert_tables(&expected, &run(&args, &recs));
    }

    #[test]
    fn props_hopping_windows_equal_naive(recs in stream(5)) {
        let expected = naive(&recs, &sliding_windows(&recs, 60, 20));
        let mut args = vec!["--lateness", "5s"];
        args.extend(with_window(&["window", "60s", "--slide", "20s"]));
        assert_tables(&expected, &run(&args, &recs));
    }

    #[test]
    fn props_window_all_equals_running_totals(recs in stream(10)) {
        // running totals at every batch from the first record's to the
        // last, those that got no records included
        let ends = batch_ends(&recs);
        let (first, last) = (ends.first().copied().unwrap_or(B), ends.last().copied().unwrap_or(B));
        let every: Vec<(i64, i64)> = (0..=(last - first) / B).map(|i| (i64::MIN / 2, first + i * B)).collect();
        let expected = naive(&recs, &every);
        let mut args = vec!["--lateness", "10s"];
        args.extend(with_window(&["window", "all"]));
        assert_tables(&expected, &run(&args, &recs));
    }

    #[test]
    fn props_count_by_key_sliding_equals_naive(recs in stream(0)) {
        let expected: Table = naive(&recs, &sliding_windows(&recs, 40, 10))
            .into_iter()
            .map(|(k, m)| (k, BTreeMap::from([("count".to_string(), m["count"])])))
            .collect();
        let args = ["parse", r"^\S+ (?P<k>\w+) ", "then", "window", "40s", "then", "count-by-key", "k"];
        assert_tables(&expected, &run(&args, &recs));
    }
}
