//! `join` on the built binary across batches: its lookup file rewritten
//! between batches of a live stream that the test feeds through a pipe,
//! two lines a batch (`--batch-lines 2`). Each step waits for the batch
//! before it to be written (bounded), so the order of the rewrites and the
//! batches is fixed without a sleep.

use std::io::{BufRead, BufReader, Write};
use std::process::ChildStdin;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use crate::util::{read_on_thread, spate, wait_code};

/// The next `n` lines spate writes, waiting at most 20 s for each.
fn next_lines(rx: &Receiver<String>, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            rx.recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("line {} of a batch did not come", i + 1))
        })
        .collect()
}

/// Feeds a batch (two lines) and returns what it printed, without the time.
fn batch(stdin: &mut ChildStdin, rx: &Receiver<String>, status: &str) -> Vec<String> {
    writeln!(stdin, "{status}\n{status}").expect("feed spate");
    stdin.flush().expect("flush");
    next_lines(rx, 2)
        .into_iter()
        .map(|l| l.split_once('\t').map_or(l.clone(), |(_, r)| r.to_string()))
        .collect()
}

/// Writes `text` to a sibling of `path`, then renames it over `path`.
fn replace(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write the new table");
    std::fs::rename(&tmp, path).expect("rename it over the table");
}

#[test]
fn join_reloads_a_table_rewritten_between_batches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let table = dir.path().join("codes.csv");
    std::fs::write(&table, "status,meaning\n200,OK\n").expect("write table");
    let mut child = spate([
        "--batch-lines",
        "2",
        "-o",
        "tsv",
        "join",
        "codes.csv",
        "--on",
        "_=status",
    ])
    .current_dir(dir.path())
    .spawn();
    let mut stdin = child.stdin.take().expect("stdin piped");
    let stdout = child.stdout.take().expect("stdout piped");
    let stderr = read_on_thread(child.stderr.take());
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    assert_eq!(batch(&mut stdin, &rx, "200"), ["200\tOK", "200\tOK"]);
    // rewritten whole at once (as an editor saves it): a reader never
    // sees it half written
    replace(&table, "status,meaning\n200,Fine\n");
    // this batch may still see the old table (the look after the first
    // batch may come before the rewrite); its key is in neither
    assert_eq!(batch(&mut stdin, &rx, "404"), ["404\t", "404\t"]);
    // the look after that batch came after the rewrite
    assert_eq!(batch(&mut stdin, &rx, "200"), ["200\tFine", "200\tFine"]);

    // a rewrite that cannot be read: the table stays, one warning
    replace(&table, "status,meaning\n200,\"Broken\n");
    assert_eq!(batch(&mut stdin, &rx, "404"), ["404\t", "404\t"]);
    assert_eq!(batch(&mut stdin, &rx, "200"), ["200\tFine", "200\tFine"]);
    assert_eq!(batch(&mut stdin, &rx, "200"), ["200\tFine", "200\tFine"]);

    // replaced by a good file (a new inode): read again
    let next = dir.path().join("next.csv");
    std::fs::write(&next, "status,meaning\n200,Good\n404,Gone\n").expect("write");
    std::fs::rename(&next, &table).expect("rename over the table");
    assert_eq!(batch(&mut stdin, &rx, "500"), ["500\t", "500\t"]);
    assert_eq!(batch(&mut stdin, &rx, "404"), ["404\tGone", "404\tGone"]);

    drop(stdin);
    assert_eq!(wait_code(&mut child, Duration::from_secs(20)), 0);
    let err = stderr.join().expect("stderr reader");
    let warnings: Vec<&str> = err.lines().collect();
    assert_eq!(warnings.len(), 1, "one warning for the bad version:\n{err}");
    assert!(
        warnings[0].starts_with("spate: join: reading it again failed: ")
            && warnings[0].contains("codes.csv line 2: unterminated quoted value")
            && warnings[0].ends_with("; the table read before stays"),
        "{err}"
    );
}

#[test]
fn join_an_unreadable_table_at_start_is_exit_1_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = spate(["-b", "eof", "join", "missing.csv", "--on", "k"])
        .current_dir(dir.path())
        .stdin("a\n")
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .starts_with("spate: join: reading missing.csv: No such file or directory"),
        "{}",
        out.stderr
    );
    // a usage error elsewhere in the chain is found first: exit 2
    let out = spate([
        "-b",
        "eof",
        "join",
        "missing.csv",
        "--on",
        "k",
        "then",
        "cuont",
    ])
    .current_dir(dir.path())
    .stdin("a\n")
    .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn join_drop_is_counted_as_filtered() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("t.jsonl"), "{\"k\":\"a\",\"n\":1}\n").expect("write");
    let out = spate([
        "-b",
        "eof",
        "-o",
        "jsonl",
        "--stats-json",
        "join",
        "t.jsonl",
        "--on",
        "_=k",
        "--missing",
        "drop",
    ])
    .current_dir(dir.path())
    .stdin("a\nb\na\nc\n")
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert!(
        lines[0].ends_with("\"value\":\"a\",\"n\":1}"),
        "{}",
        lines[0]
    );
    let acc: serde_json::Value = serde_json::from_str(lines[2]).expect("stats json");
    assert_eq!(acc["accounting"]["lines"], 4);
    assert_eq!(acc["accounting"]["processed"], 2);
    assert_eq!(acc["accounting"]["filtered"], 2);
    assert_eq!(acc["accounting"]["dropped"], 0);
}
