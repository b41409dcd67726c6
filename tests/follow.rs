//! Following files: growth, rotation, truncation, `--from-end`, partial
//! lines, several files at once. Each test runs `spate -F` on files in a
//! temp dir, reads its output as it comes to know when to change the
//! files next, and lets `--duration` end the run.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::util::{spate, wait_output_stderr_only};

/// How long each run lasts: every change below is read well within it.
const DURATION: &str = "2s";

/// A running `spate -F ... count-by-key -o tsv`, its rows summed per key
/// as they come.
struct Following {
    child: Child,
    counts: Arc<Mutex<BTreeMap<String, i64>>>,
    reader: JoinHandle<()>,
}

impl Following {
    /// Starts spate on these inputs with these extra options, counting
    /// lines by key.
    fn start(inputs: &[&Path], extra: &[&str]) -> Following {
        Following::start_for(inputs, extra, DURATION)
    }

    /// [`Following::start`] for a run of `duration`.
    fn start_for(inputs: &[&Path], extra: &[&str], duration: &str) -> Following {
        let mut args: Vec<String> = vec!["-F".into(), "--duration".into(), duration.into()];
        for p in inputs {
            args.push("-i".into());
            args.push(p.to_str().expect("utf-8 temp path").into());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(["-o", "tsv", "count-by-key"].map(String::from));
        let mut child = spate(&args).spawn();
        let stdout = child.stdout.take().expect("stdout piped");
        let counts = Arc::new(Mutex::new(BTreeMap::new()));
        let sums = Arc::clone(&counts);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // time, key, count
                let f: Vec<&str> = line.split('\t').collect();
                let [_, key, n] = f[..] else {
                    panic!("unexpected row {line:?}")
                };
                let n: i64 = n.parse().expect("a count");
                *sums.lock().unwrap().entry(key.to_string()).or_insert(0) += n;
            }
        });
        Following {
            child,
            counts,
            reader,
        }
    }

    fn counts(&self) -> BTreeMap<String, i64> {
        self.counts.lock().unwrap().clone()
    }

    /// Waits (bounded) until every key has been counted at least once.
    #[track_caller]
    fn wait_for(&self, keys: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let c = self.counts();
            if keys.iter().all(|k| c.contains_key(*k)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {keys:?}, counted so far: {c:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Lets `--duration` end the run; returns the counts and stderr.
    fn finish(self) -> (BTreeMap<String, i64>, String) {
        let (stderr, code) = wait_output_stderr_only(self.child, Duration::from_secs(15));
        self.reader.join().expect("stdout reader");
        assert_eq!(code, 0, "exit status; stderr: {stderr}");
        let c = self.counts.lock().unwrap().clone();
        (c, stderr)
    }
}

fn append(path: &Path, data: &str) {
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    f.write_all(data.as_bytes()).unwrap();
}

/// `prefix1\n` … `prefixN\n` for `range`.
fn numbered(prefix: &str, range: std::ops::RangeInclusive<u32>) -> String {
    range.map(|i| format!("{prefix}{i}\n")).collect()
}

/// Each key once.
fn once(keys: &[String]) -> BTreeMap<String, i64> {
    keys.iter().map(|k| (k.clone(), 1)).collect()
}

fn keys(prefix: &str, range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i}")).collect()
}

#[test]
fn follow_growth_counts_every_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(&log, numbered("g", 1..=6)).unwrap();
    let run = Following::start(&[&log], &["--batch-lines", "3"]);
    run.wait_for(&["g6"]);
    append(&log, &numbered("g", 7..=9));
    run.wait_for(&["g9"]);
    // small writes, then a large one read at once
    for i in 10..=20 {
        append(&log, &format!("g{i}\n"));
    }
    append(&log, &numbered("g", 21..=50_000));
    run.wait_for(&["g49998"]);
    let (counts, stderr) = run.finish();
    assert_eq!(counts, once(&keys("g", 1..=50_000)), "{stderr}");
}

#[test]
fn follow_rotation_reads_old_then_new() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let old = dir.path().join("app.log.1");
    std::fs::write(&log, numbered("r", 1..=3)).unwrap();
    let run = Following::start(&[&log], &["-b", "100ms"]);
    run.wait_for(&["r3"]);
    std::fs::rename(&log, &old).unwrap();
    // the path missing for a while, the writer still on the old file
    std::thread::sleep(Duration::from_millis(150));
    append(&old, &numbered("r", 4..=5));
    append(&log, &numbered("r", 6..=8));
    run.wait_for(&["r5", "r8"]);
    // a second rotation, this one quick
    std::fs::rename(&log, &old).unwrap();
    append(&log, &numbered("r", 9..=10));
    run.wait_for(&["r10"]);
    append(&log, "r11\n");
    let (counts, stderr) = run.finish();
    assert_eq!(counts, once(&keys("r", 1..=11)), "{stderr}");
    assert!(!stderr.contains("truncated"), "{stderr}");
}

#[test]
fn follow_truncation_restarts_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(&log, numbered("old", 1..=4)).unwrap();
    let run = Following::start(&[&log], &["-b", "100ms"]);
    run.wait_for(&["old4"]);
    // shorter than what was read: seen as truncated
    let mut f = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    f.write_all(b"new1\n").unwrap();
    run.wait_for(&["new1"]);
    f.write_all(b"new2\n").unwrap();
    run.wait_for(&["new2"]);
    let (counts, stderr) = run.finish();
    let mut expected = once(&keys("old", 1..=4));
    expected.extend(once(&keys("new", 1..=2)));
    assert_eq!(counts, expected, "{stderr}");
    let said = format!(
        "spate: {}: file truncated; reading from its start",
        log.display()
    );
    assert_eq!(stderr.matches(&said).count(), 1, "{stderr}");
}

#[test]
fn follow_from_end_skips_existing_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(&log, numbered("existing", 1..=5)).unwrap();
    let run = Following::start(&[&log], &["-b", "100ms", "--from-end"]);
    // nothing shows until spate is at the end: probe until a line does
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut probes = 0;
    while !run.counts().contains_key("probe") {
        assert!(Instant::now() < deadline, "no probe line counted");
        append(&log, "probe\n");
        probes += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    append(&log, &numbered("new", 1..=3));
    run.wait_for(&["new3"]);
    let (counts, stderr) = run.finish();
    assert!(
        counts.keys().all(|k| !k.starts_with("existing")),
        "{counts:?}"
    );
    assert_eq!(counts["new1"] + counts["new2"] + counts["new3"], 3);
    assert!(counts["probe"] <= probes, "{counts:?}; {stderr}");
}

#[test]
fn follow_partial_line_waits_for_its_newline() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(&log, "first\npar").unwrap();
    let run = Following::start(&[&log], &["-b", "100ms"]);
    run.wait_for(&["first"]);
    // several polls and batches go by with the line unfinished
    std::thread::sleep(Duration::from_millis(300));
    append(&log, "ti");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(run.counts().len(), 1, "{:?}", run.counts());
    append(&log, "al\nlast\n");
    run.wait_for(&["last"]);
    let (counts, stderr) = run.finish();
    assert_eq!(
        counts,
        once(&["first", "partial", "last"].map(String::from)),
        "{stderr}"
    );
}

#[test]
fn follow_long_line_is_cut_as_in_plain_files() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(&log, "ok\n").unwrap();
    let run = Following::start(&[&log], &["-b", "100ms", "--max-line-bytes", "10"]);
    run.wait_for(&["ok"]);
    // over the limit before its newline comes: cut, the rest skipped
    append(&log, &"x".repeat(30));
    std::thread::sleep(Duration::from_millis(200));
    append(&log, &format!("{}\nshort\n", "y".repeat(30)));
    run.wait_for(&["short"]);
    let (counts, stderr) = run.finish();
    let expected = once(&["ok", "xxxxxxxxxx", "short"].map(String::from));
    assert_eq!(counts, expected, "{stderr}");
    assert!(stderr.contains("1 cut"), "{stderr}");
}

#[test]
fn follow_two_files_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.log");
    let b = dir.path().join("b.log");
    std::fs::write(&a, numbered("a", 1..=2)).unwrap();
    std::fs::write(&b, numbered("b", 1..=2)).unwrap();
    let run = Following::start(&[&a, &b], &["-b", "100ms"]);
    run.wait_for(&["a2", "b2"]);
    for i in 3..=6 {
        append(&a, &format!("a{i}\n"));
        append(&b, &format!("b{i}\n"));
    }
    run.wait_for(&["a6", "b6"]);
    let (counts, stderr) = run.finish();
    let mut expected = once(&keys("a", 1..=6));
    expected.extend(once(&keys("b", 1..=6)));
    assert_eq!(counts, expected, "{stderr}");
}

/// A gzip file of `text`.
fn gzipped(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

#[test]
fn follow_pattern_picks_up_a_new_file_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("2024-03-01.log"), numbered("first", 1..=3)).unwrap();
    std::fs::write(d.join("notes.txt"), numbered("unmatched", 1..=2)).unwrap();
    let pattern = d.join("*.log");
    let run = Following::start_for(&[&pattern], &["-b", "100ms"], "4s");
    run.wait_for(&["first3"]);
    // a new day's file, with lines already in it when it is found
    let next = d.join("2024-03-02.log");
    std::fs::write(&next, numbered("second", 1..=2)).unwrap();
    run.wait_for(&["second2"]);
    append(&next, &numbered("second", 3..=4));
    append(&d.join("2024-03-01.log"), "first4\n");
    append(&d.join("notes.txt"), "unmatched3\n");
    run.wait_for(&["second4", "first4"]);
    let (counts, stderr) = run.finish();
    let mut expected = once(&keys("first", 1..=4));
    expected.extend(once(&keys("second", 1..=4)));
    assert_eq!(counts, expected, "{stderr}");
}

#[test]
fn follow_pattern_matching_nothing_waits_for_files() {
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("app-*.log");
    let run = Following::start_for(&[&pattern], &["-b", "100ms"], "3s");
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(dir.path().join("app-1.log"), numbered("late", 1..=2)).unwrap();
    run.wait_for(&["late2"]);
    let (counts, stderr) = run.finish();
    assert_eq!(counts, once(&keys("late", 1..=2)), "{stderr}");
    assert!(stderr.contains("waiting"), "{stderr}");
}

#[test]
fn follow_directory_picks_up_new_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a"), numbered("a", 1..=2)).unwrap();
    let run = Following::start_for(&[d], &["-b", "100ms"], "3s");
    run.wait_for(&["a2"]);
    std::fs::write(d.join("b"), numbered("b", 1..=2)).unwrap();
    run.wait_for(&["b2"]);
    let (counts, stderr) = run.finish();
    let mut expected = once(&keys("a", 1..=2));
    expected.extend(once(&keys("b", 1..=2)));
    assert_eq!(counts, expected, "{stderr}");
}

#[test]
fn follow_pattern_reads_a_rotated_file_once() {
    // logrotate with delaycompress: app.log becomes app.log.1, which the
    // pattern also matches, then app.log.1 becomes app.log.2.gz
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("app.log");
    let one = d.join("app.log.1");
    std::fs::write(&log, numbered("r", 1..=3)).unwrap();
    let pattern = d.join("app.log*");
    let run = Following::start_for(&[&pattern], &["-b", "100ms"], "4s");
    run.wait_for(&["r3"]);
    std::fs::rename(&log, &one).unwrap();
    append(&one, "r4\n");
    append(&log, "r5\n");
    run.wait_for(&["r4", "r5"]);
    // let the pattern be looked at again a few times
    std::thread::sleep(Duration::from_millis(600));
    // the next rotation: the old one compressed, the current one renamed
    let gz = d.join("app.log.2.gz");
    std::fs::write(&gz, gzipped(&numbered("r", 1..=4))).unwrap();
    std::fs::remove_file(&one).unwrap();
    std::fs::rename(&log, &one).unwrap();
    append(&log, "r6\n");
    run.wait_for(&["r6"]);
    std::thread::sleep(Duration::from_millis(600));
    append(&log, "r7\n");
    run.wait_for(&["r7"]);
    let (counts, stderr) = run.finish();
    assert_eq!(counts, once(&keys("r", 1..=7)), "{stderr}");
    let said = format!("spate: {}: a gzip file", gz.display());
    assert_eq!(stderr.matches(&said).count(), 1, "{stderr}");
}

#[test]
fn follow_pattern_skips_a_compressed_file_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("old.log.gz"), gzipped("zipped\n")).unwrap();
    std::fs::write(d.join("app.log"), "plain\n").unwrap();
    let pattern = d.join("*");
    let run = Following::start_for(&[&pattern], &["-b", "100ms"], "3s");
    run.wait_for(&["plain"]);
    std::fs::write(
        d.join("later.zst"),
        zstd::encode_all(&b"zipped\n"[..], 3).unwrap(),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let (counts, stderr) = run.finish();
    assert_eq!(counts, once(&["plain".to_string()]), "{stderr}");
    for name in ["old.log.gz", "later.zst"] {
        let said = format!("spate: {}: a ", d.join(name).display());
        assert_eq!(stderr.matches(&said).count(), 1, "{name}: {stderr}");
    }
}

#[test]
fn follow_bom_removed_from_each_file_the_path_rotates_to() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "\u{feff}first\n").unwrap();
    let run = Following::start(&[&log], &["-b", "100ms"]);
    run.wait_for(&["first"]);
    std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    std::fs::write(&log, "\u{feff}second\n").unwrap();
    run.wait_for(&["second"]);
    let (counts, stderr) = run.finish();
    assert_eq!(
        counts,
        once(&["first".to_string(), "second".to_string()]),
        "{stderr}"
    );
}

/// `csv --header` with `-F`: the file a followed path is rotated to has its
/// own header (here with its columns in another order), read as one.
#[test]
fn follow_csv_header_per_rotated_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("app.csv");
    std::fs::write(&path, "k,v\na,1\n").expect("write");
    let mut child = spate([
        "-F",
        "-i",
        path.to_str().expect("utf-8 temp path"),
        "--batch-lines",
        "1",
        "-o",
        "tsv",
        "csv",
        "--header",
        "then",
        "fields",
        "k,v",
    ])
    .spawn();
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut rows = Vec::new();
    let take = |rows: &mut Vec<String>| {
        if let Ok(line) = rx.recv_timeout(Duration::from_secs(10)) {
            rows.push(
                line.split_once('\t')
                    .map_or(line.clone(), |(_, r)| r.to_string()),
            );
        }
    };
    take(&mut rows);
    // rotate: rename away, a new file with its own header
    std::fs::rename(&path, dir.path().join("app.csv.1")).expect("rotate");
    std::fs::write(&path, "v,k\n2,b\n").expect("write the new file");
    take(&mut rows);
    crate::util::kill(child.id(), "INT");
    let code = crate::util::wait_code(&mut child, Duration::from_secs(10));
    assert_eq!(rows, ["a\t1", "b\t2"]);
    assert_eq!(code, 130);
}
