//! The fuzz targets' seeds and every input they found a bug with, replayed
//! on stable through the very code the targets run (`fuzz/harness.rs`):
//! no panic, and for `pipeline` every line read and accounted for. See
//! fuzz/README.md for running the fuzzers themselves.

use std::path::Path;
use std::time::{Duration, Instant};

#[path = "../fuzz/harness.rs"]
mod harness;

/// Replays every file of `fuzz/corpus/TARGET/` through the target.
fn replay_seeds(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        run(&data);
        seeds += 1;
    }
    assert!(seeds > 0, "no seeds in {}", dir.display());
}

#[test]
fn fuzz_chain_seeds() {
    replay_seeds("chain", harness::chain);
}

#[test]
fn fuzz_parse_op_seeds() {
    replay_seeds("parse_op", harness::parse_op);
}

#[test]
fn fuzz_json_op_seeds() {
    replay_seeds("json_op", harness::json_op);
}

#[test]
fn fuzz_csv_op_seeds() {
    replay_seeds("csv_op", harness::csv_op);
}

#[test]
fn fuzz_logfmt_op_seeds() {
    replay_seeds("logfmt_op", harness::logfmt_op);
}

#[test]
fn fuzz_eval_expr_seeds() {
    replay_seeds("eval_expr", harness::eval_expr);
}

#[test]
fn fuzz_timestamp_seeds() {
    replay_seeds("timestamp", harness::timestamp);
}

#[test]
fn fuzz_duration_seeds() {
    replay_seeds("duration", harness::duration);
}

#[test]
fn fuzz_pipeline_seeds() {
    replay_seeds("pipeline", harness::pipeline);
}

/// The empty input, which every target must take.
#[test]
fn fuzz_all_targets_take_empty_input() {
    for run in [
        harness::chain,
        harness::parse_op,
        harness::json_op,
        harness::csv_op,
        harness::logfmt_op,
        harness::eval_expr,
        harness::timestamp,
        harness::duration,
        harness::pipeline,
    ] {
        run(b"");
    }
}

/// A line whose event time leaps decades ahead of the last one made a
/// sliding window walk through every empty window in between, one slide at
/// a time: hours of CPU for `window 3s --slide 1s`, before the fix in
/// `Windows::emit_until`.
#[test]
fn fuzz_pipeline_window_gap_hangs() {
    let began = Instant::now();
    harness::pipeline(b"2024-03-10T12:00:01Z a n=1\n2064-03-10T12:00:59Z a n=x\n");
    let (out, counts) = spate::run::run_in_memory(
        &[
            "--event-time",
            "auto",
            "-b",
            "1s",
            "split",
            "then",
            "window",
            "3s",
            "--slide",
            "1s",
            "then",
            "count",
        ],
        b"2024-03-10T12:00:01Z\n2064-03-10T12:00:59Z\n".to_vec(),
    )
    .expect("runs");
    assert!(counts.balanced(), "{counts:?}");
    // each record in its three windows, and nothing in between
    assert_eq!(String::from_utf8_lossy(&out).lines().count(), 6);
    assert!(
        began.elapsed() < Duration::from_secs(60),
        "took {:?}",
        began.elapsed()
    );
}
