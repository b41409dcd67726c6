//! SIGINT and SIGTERM: the open batch is flushed, the summary printed, and
//! spate exits 128 + the signal's number; a second signal exits at once.

use std::io::Write;
use std::time::Duration;

use crate::util::{kill, spate, tsv_body, wait_code, wait_output};

/// Starts spate with a long batch, feeds lines, waits until they were read.
fn running(args: &[&str], lines: &str) -> std::process::Child {
    let mut child = spate(args).spawn();
    let mut sin = child.stdin.take().expect("stdin");
    sin.write_all(lines.as_bytes()).expect("write");
    sin.flush().expect("flush");
    // keep stdin open: spate must be stopped by the signal
    std::mem::forget(sin);
    std::thread::sleep(Duration::from_millis(400));
    child
}

#[test]
fn signals_sigint_flushes_open_batch() {
    let child = running(
        &["-b", "1h", "-o", "tsv", "split", "then", "count-by-key"],
        "a b a\n",
    );
    kill(child.id(), "INT");
    let out = wait_output(child, Duration::from_secs(10));
    assert_eq!(out.code, 130, "stderr: {}", out.stderr);
    assert_eq!(tsv_body(&out.stdout), ["a\t2", "b\t1"]);
}

#[test]
fn signals_sigterm_exit_143_with_summary() {
    let child = running(
        &[
            "-b",
            "1h",
            "-o",
            "tsv",
            "parse",
            r"(?P<n>\d+)",
            "then",
            "count",
        ],
        "1\nx\n2\n",
    );
    kill(child.id(), "TERM");
    let out = wait_output(child, Duration::from_secs(10));
    assert_eq!(out.code, 143);
    assert!(out.stdout.ends_with("\t2\n"), "{}", out.stdout);
    assert!(out.stderr.contains("1 unparsed"), "{}", out.stderr);
}

#[test]
fn signals_event_time_flushes_open_batches_and_windows() {
    let child = running(
        &[
            "--event-time",
            "auto",
            "-b",
            "1m",
            "-o",
            "tsv",
            "window",
            "2m",
            "then",
            "count",
        ],
        "2024-03-10T12:00:00Z a\n2024-03-10T12:00:30Z b\n",
    );
    kill(child.id(), "INT");
    let out = wait_output(child, Duration::from_secs(10));
    assert_eq!(out.code, 130);
    assert_eq!(
        out.stdout,
        "2024-03-10T12:01:00Z\t2\n2024-03-10T12:02:00Z\t2\n"
    );
}

#[test]
fn signals_second_signal_exits_at_once() {
    // a blocked stdout keeps spate from finishing its flush: the second
    // signal must still end it
    let mut child = spate([
        "--batch-lines",
        "1",
        "-o",
        "tsv",
        "map",
        "template",
        "{_}{_}{_}{_}",
    ])
    .spawn();
    let mut sin = child.stdin.take().expect("stdin");
    let line = "x".repeat(1000) + "\n";
    // fill spate's stdout pipe (nobody reads it) so that it blocks writing;
    // the writer blocks in turn and is left behind
    std::thread::spawn(move || {
        for _ in 0..5000 {
            if sin.write_all(line.as_bytes()).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    kill(child.id(), "INT");
    std::thread::sleep(Duration::from_millis(200));
    kill(child.id(), "INT");
    // a second SIGINT ends it even while its output is blocked (a run
    // that ignored it would fail the bounded wait)
    assert_eq!(wait_code(&mut child, Duration::from_secs(10)), 130);
}

/// SIGINT, SIGTERM and `--duration` end the input as its end would: an
/// unfinished last line (no `\n` yet) counts, from a pipe (in one read or
/// grown over several) and from a followed file. (It was left unread and
/// uncounted: `lines` missed it.)
#[test]
fn signals_count_an_unfinished_last_line_as_end_of_input_does() {
    let stats = |stdout: &str| -> (Vec<String>, String) {
        let rows: Vec<String> = stdout
            .lines()
            .filter(|l| l.starts_with("{\"time\""))
            .map(|l| l.split("\"value\":").nth(1).unwrap_or(l).to_string())
            .collect();
        let acc = stdout.lines().last().unwrap_or_default().to_string();
        (rows, acc)
    };
    let args = ["-b", "1h", "-o", "jsonl", "--stats-json", "fields", "_"];
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let child = running(&args, "a\nnoeol");
        kill(child.id(), signal);
        let out = wait_output(child, Duration::from_secs(10));
        assert_eq!(out.code, code, "stderr: {}", out.stderr);
        let (rows, acc) = stats(&out.stdout);
        assert_eq!(rows, ["\"a\"}", "\"noeol\"}"], "{}", out.stdout);
        assert!(acc.contains("\"lines\":2,\"processed\":2"), "{acc}");
    }
    // the line grows over several reads, then --duration ends the run
    let mut child = spate(["--duration", "2s", "-b", "1h", "-o", "jsonl", "fields", "_"]).spawn();
    let mut sin = child.stdin.take().expect("stdin");
    for part in ["a\n", "no", "eo", "l"] {
        sin.write_all(part.as_bytes()).expect("write");
        sin.flush().expect("flush");
        std::thread::sleep(Duration::from_millis(150));
    }
    let out = wait_output(child, Duration::from_secs(10));
    drop(sin);
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    assert_eq!(
        stats(&out.stdout).0,
        ["\"a\"}", "\"noeol\"}"],
        "{}",
        out.stdout
    );
    // a followed file
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("f.log");
    std::fs::write(&path, "a\nnoeol").expect("write");
    let p = path.to_string_lossy().into_owned();
    let mut a = vec!["-F", "-i", &p];
    a.extend(args);
    let child = spate(&a).spawn();
    std::thread::sleep(Duration::from_millis(400));
    kill(child.id(), "INT");
    let out = wait_output(child, Duration::from_secs(10));
    assert_eq!(out.code, 130, "stderr: {}", out.stderr);
    assert_eq!(
        stats(&out.stdout).0,
        ["\"a\"}", "\"noeol\"}"],
        "{}",
        out.stdout
    );
}
