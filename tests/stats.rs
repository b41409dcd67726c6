//! `--stats`: one `key=value` line per batch on standard error, in the
//! form scripts can parse, for every kind of batch.

use std::io::Write;
use std::time::Duration;

use crate::util::{spate, wait_output};

const MS: &str = r"\d+\.\d+ms";

/// (time, records, rows) of each line of a run's stderr, every one of
/// which must be a stats line with these scheduling and total delays (a
/// regex each).
fn fields(stderr: &str, scheduling: &str, total: &str) -> Vec<(String, u64, u64)> {
    let re = regex::Regex::new(&format!(
        r"^spate: batch (\S+) records=(\d+) rows=(\d+) processing={MS} scheduling_delay={scheduling} total_delay={total} rate=\d+(\.\d)?/s total_lines=(\d+) total_processed=(\d+) total_filtered=(\d+) total_dropped=(\d+)$"
    ))
    .expect("valid regex");
    stderr
        .lines()
        .map(|l| {
            let c = re
                .captures(l)
                .unwrap_or_else(|| panic!("not a stats line: {l:?}"));
            // the running accounting adds up at every batch
            let n = |i: usize| c[i].parse::<u64>().expect("a count");
            assert_eq!(n(5), n(6) + n(7) + n(8), "{l}");
            (
                c[1].to_string(),
                c[2].parse().expect("records"),
                c[3].parse().expect("rows"),
            )
        })
        .collect()
}

#[test]
fn stats_line_per_line_count_batch() {
    let out = spate(["--batch-lines", "3", "--stats", "split", "then", "count"])
        .stdin("a b\nc\nd\ne f g\nh\n")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    // a line-count batch has no deadline to be late for
    let f = fields(&out.stderr, "-", MS);
    let counts: Vec<(u64, u64)> = f.iter().map(|(_, r, n)| (*r, *n)).collect();
    assert_eq!(counts, [(3, 1), (2, 1)], "{}", out.stderr);
    assert!(
        f[0].0.ends_with('Z') && f[0].0.contains('.'),
        "{:?}",
        f[0].0
    );
}

#[test]
fn stats_event_time_has_no_wall_clock_delay() {
    let input = "2026-01-01T00:00:01Z a\n2026-01-01T00:00:02Z b\n2026-01-01T00:00:13Z c\n";
    let out = spate(["--event-time", "auto", "-b", "10s", "--stats", "count"])
        .stdin(input)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let f = fields(&out.stderr, "-", "-");
    assert_eq!(
        f,
        [
            ("2026-01-01T00:00:10.000Z".to_string(), 2, 1),
            ("2026-01-01T00:00:20.000Z".to_string(), 1, 1),
        ]
    );
    // the rate is over the interval: 2 records in 10 s of event time
    assert!(
        out.stderr
            .lines()
            .next()
            .is_some_and(|l| l.contains(" rate=0.2/s "))
    );
}

#[test]
fn stats_processing_time_measures_delays() {
    let mut child = spate(["-b", "200ms", "--stats", "-o", "tsv", "count"]).spawn();
    let mut sin = child.stdin.take().expect("stdin");
    for _ in 0..3 {
        sin.write_all(b"x\ny\n").expect("write");
        sin.flush().expect("flush");
        std::thread::sleep(Duration::from_millis(250));
    }
    drop(sin);
    let out = wait_output(child, Duration::from_secs(10));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let f = fields(&out.stderr, MS, MS);
    // every line read is in exactly one batch's records
    assert_eq!(
        f.iter().map(|(_, r, _)| r).sum::<u64>(),
        6,
        "{}",
        out.stderr
    );
    // an idle interval is a batch too (with no rows): one line per batch
    assert!(f.len() >= 3, "{}", out.stderr);
    let rows: u64 = f.iter().map(|(_, _, n)| n).sum();
    assert_eq!(rows as usize, out.stdout.lines().count(), "{}", out.stdout);
}

#[test]
fn stats_eof_batch_and_windows_count_rows_out() {
    let out = spate(["-b", "eof", "--stats", "split", "then", "count-by-key"])
        .stdin("a b a\nc\n")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let f = fields(&out.stderr, "-", MS);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].1, f[0].2), (2, 3));
    // a batch closing windows counts the rows of all of them
    let input = "2026-01-01T00:00:01Z a\n2026-01-01T00:00:11Z b\n";
    let out = spate([
        "--event-time",
        "auto",
        "-b",
        "10s",
        "--stats",
        "window",
        "20s",
        "then",
        "count",
    ])
    .stdin(input)
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let f = fields(&out.stderr, "-", "-");
    let rows: u64 = f.iter().map(|(_, _, n)| n).sum();
    assert!(rows >= 2, "{}", out.stderr);
    assert!(f.iter().all(|(_, r, _)| *r == 1), "{}", out.stderr);
}

#[test]
fn stats_off_by_default() {
    let out = spate(["-b", "eof", "count"]).stdin("a\n").run();
    assert_eq!(out.stderr, "");
}
