//! `stats -a distinct` on a high-cardinality field: exact below 10,000
//! values per group, an estimate within a few percent above, and memory that
//! does not grow with the number of distinct values.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{BIN, spate, wait_output};

const USERS: usize = 300_000;

/// `USERS` distinct users in shard `big` (the first thousand twice), and
/// 50 users, each three times, in shard `small`.
fn input() -> String {
    let mut s = String::with_capacity(USERS * 32);
    for i in 0..USERS {
        s.push_str(&format!("user=u{i:07} shard=big\n"));
        if i < 1_000 {
            s.push_str(&format!("user=u{i:07} shard=big\n"));
        }
        if i < 150 {
            s.push_str(&format!("user=s{} shard=small\n", i % 50));
        }
    }
    s
}

/// The chain, with `agg` as the aggregates.
fn chain(agg: &str) -> Vec<&str> {
    vec![
        "-b", "eof", "logfmt", "then", "stats", "-f", "user", "-a", agg, "-g", "shard",
    ]
}

#[test]
fn distinct_estimates_a_high_cardinality_field() {
    let out = spate(chain("distinct,count"))
        .stdin(input())
        .timeout(Duration::from_secs(180))
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split('\t').skip(1).collect())
        .collect();
    assert_eq!(rows.len(), 2, "{}", out.stdout);
    assert_eq!(rows[0][0], "big");
    let estimate: f64 = rows[0][1].parse().expect("an integer estimate");
    let err = (estimate - USERS as f64).abs() / USERS as f64;
    assert!(err < 0.05, "{estimate} for {USERS} ({:.2}%)", err * 100.0);
    assert_eq!(rows[0][2], (USERS + 1_000).to_string());
    // a group below the threshold stays exact
    assert_eq!(rows[1], ["small", "50", "150"]);
}

/// The peak resident set (KiB) of spate running `args` on `data`, if
/// `/usr/bin/time` is there to measure it.
fn peak_kib(args: &[&str], data: &str) -> Option<u64> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        return None;
    }
    let mut child = Command::new(time)
        .args(["-f", "peak_kib=%M", BIN])
        .args(args)
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let mut sin = child.stdin.take()?;
    let data = data.as_bytes().to_vec();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = sin.write_all(&data);
    });
    let out = wait_output(child, Duration::from_secs(180));
    let _ = writer.join();
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_kib="))
        .and_then(|k| k.trim().parse().ok())
}

#[test]
fn distinct_memory_does_not_grow_with_the_values() {
    let data = input();
    let (Some(count), Some(distinct)) = (
        peak_kib(&chain("count"), &data),
        peak_kib(&chain("distinct"), &data),
    ) else {
        eprintln!("no /usr/bin/time: peak memory not measured");
        return;
    };
    // keeping all 300,000 values would take some 25 MB more than counting
    // them; the sets of at most 10,000 values and 16 KiB sketches, a few
    assert!(
        distinct < count + 8 * 1024,
        "distinct peaked at {distinct} KiB, count at {count} KiB"
    );
}
