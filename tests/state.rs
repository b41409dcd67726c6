//! `--state`: a run killed at any instant (SIGKILL) and started again with
//! the same arguments, as often as it takes, leaves in `--output-file` and
//! `--dead-letter` exactly the bytes of one uninterrupted run; a damaged,
//! cut, foreign or mismatched state is refused with the stated exit and
//! the output untouched; a full disk stops the run with the previous state
//! still good.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::util::{kill, spate, wait_code, wait_signals_caught};

/// xorshift: the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Access-log lines over a day from 2024-03-10T12:00:00Z, a line about
/// every 0.3 s, one in 9 stamped up to 20 s early (some then late), one in
/// 101 not a log line at all (dropped as unparsed).
fn access_log(n: usize) -> Vec<String> {
    let mut rng = Rng(0x5eed_cafe);
    (0..n)
        .map(|i| {
            if i % 101 == 50 {
                return format!("garbage line {i}");
            }
            let mut ms = i as i64 * 300;
            if rng.below(9) == 0 {
                ms -= rng.below(20_000) as i64;
            }
            let secs = 1_710_072_000 + ms.max(0) / 1000;
            let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
            let day = 10 + (secs - 1_710_028_800) / 86_400;
            format!(
                "10.0.{}.{} - - [{day:02}/{}/2024:{h:02}:{m:02}:{s:02} +0000] \"GET /p{} HTTP/1.1\" {} {}",
                rng.below(4),
                rng.below(250),
                MONTHS[2],
                rng.below(40),
                [200, 200, 200, 404, 500, 302][rng.below(6) as usize],
                rng.below(50_000) + 1,
            )
        })
        .collect()
}

const PARSE: &str = r#"" (?P<status>\d{3}) (?P<bytes>\d+)$"#;

/// A temp dir with the log, and the paths a run uses.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn arg(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }
}

/// The options and chain of a run over `log` into `out` and `dead`, state
/// in `state` (none: no `--state`).
fn args(
    s: &Setup,
    follow: bool,
    batching: &[&str],
    state: Option<&str>,
    suffix: &str,
    chain: &[&str],
) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    if follow {
        a.push("-F".into());
    }
    a.extend(["-i".to_string(), s.arg("access.log")]);
    a.extend(batching.iter().map(|x| x.to_string()));
    if let Some(st) = state {
        a.extend(["--state".to_string(), s.arg(st)]);
    }
    a.extend([
        "--output-file".to_string(),
        s.arg(&format!("out{suffix}")),
        "--dead-letter".to_string(),
        s.arg(&format!("dead{suffix}")),
    ]);
    a.extend(chain.iter().map(|x| x.to_string()));
    a
}

/// Appends `lines` to the log in slices, `pause_ms` apart.
fn write_slowly(path: PathBuf, lines: Vec<String>, pause_ms: u64) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .expect("open the log");
        for slice in lines.chunks(1500) {
            let mut text = slice.join("\n");
            text.push('\n');
            f.write_all(text.as_bytes()).expect("append to the log");
            std::thread::sleep(Duration::from_millis(pause_ms));
        }
    })
}

/// The log's length now.
fn log_len(s: &Setup) -> u64 {
    std::fs::metadata(s.path("access.log"))
        .expect("the log")
        .len()
}

/// The crash test: a growing log followed with `--state`, killed at 30 or
/// more random instants and started again, then stopped with SIGINT once
/// everything is read; its output and dead letters against one run over
/// the whole log (written in slices `pause_ms` apart; runs killed within
/// `max_wait_ms`). Returns (kills, bytes compared).
fn crash(
    batching: &[&str],
    chain: &[&str],
    (max_wait_ms, pause_ms): (u64, u64),
    compare: impl Fn(&str, &str),
) -> (usize, usize) {
    let s = Setup::new();
    let lines = access_log(200_000);
    std::fs::write(s.path("access.log"), "").expect("create the log");
    let writer = write_slowly(s.path("access.log"), lines, pause_ms);
    let mut rng = Rng(0xdead_beef);
    let mut kills = 0;
    let mut writing = true;
    let run_args = args(&s, true, batching, Some("state"), "", chain);
    // how far each state says the runs got
    let mut committed: Vec<u64> = Vec::new();
    // the window a run is killed in: doubled after each run that got no
    // further (a debug build on a loaded machine can take longer than
    // `max_wait_ms` to restore its state before it reads on; 22 runs in a
    // row killed while restoring failed a CI run), back to `max_wait_ms`
    // once one did
    let mut window = max_wait_ms;
    while writing || kills < 30 {
        let mut child = spate(&run_args).spawn();
        let wait = 5 + rng.below(window);
        std::thread::sleep(Duration::from_millis(wait));
        kill(child.id(), "KILL");
        let code = wait_code(&mut child, Duration::from_secs(20));
        assert!(code == 137 || code == 0, "a run ended with {code}");
        kills += 1;
        writing = !writer.is_finished();
        let now = committed_output(&run_args, &s.path("state"));
        let stalled = committed.last().is_some_and(|&last| now <= last);
        window = if stalled {
            (window * 2).min(max_wait_ms.max(4_000))
        } else {
            max_wait_ms
        };
        committed.push(now);
    }
    // each run went on from the last one's state: what was committed only
    // grows, and it grew across the runs (a run that started afresh each
    // time would also end right, but not this way)
    assert!(
        committed.windows(2).all(|w| w[0] <= w[1]),
        "a state went back: {committed:?}"
    );
    let grew = committed.windows(2).filter(|w| w[0] < w[1]).count();
    assert!(
        grew >= 3,
        "runs did not go on from their state: {committed:?}"
    );
    writer.join().expect("the writer");
    // the last run: it reads what is left, then SIGINT drains it
    let mut child = spate(&run_args).spawn();
    // SIGINT ends a followed run where it has read to: wait until its
    // state says the whole log was read (a quiet state file was not
    // enough: a debug build on a loaded machine restoring a state of
    // sketches can stay quiet for seconds before it reads on)
    wait_signals_caught(child.id());
    wait_read(&run_args, &s.path("state"), log_len(&s));
    kill(child.id(), "INT");
    assert_eq!(wait_code(&mut child, Duration::from_secs(30)), 130);
    // one uninterrupted run over the whole log
    let whole = spate(args(&s, false, batching, None, ".ref", chain)).run();
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let read = |n: &str| std::fs::read_to_string(s.path(n)).expect("read a result file");
    let (out, reference) = (read("out"), read("out.ref"));
    compare(&out, &reference);
    let (dead, dead_ref) = (read("dead"), read("dead.ref"));
    // the dead letters name the input as given: the same path
    assert!(dead == dead_ref, "dead letters differ after {kills} kills");
    (kills, out.len() + dead.len())
}

/// How far the state at `path` for a run of `args` has got: the input read
/// and the output committed.
fn committed_output(args: &[String], path: &Path) -> u64 {
    let argv = std::iter::once("spate".to_string()).chain(args.iter().cloned());
    let Ok(spate::cli::Parsed::Run(plan)) = spate::cli::parse(argv) else {
        panic!("the run's arguments parse");
    };
    let fp = spate::checkpoint::fingerprint(&plan);
    match spate::checkpoint::read(path, &fp) {
        Ok(Some(saved)) => saved.read_upto() + saved.output_len.unwrap_or(0),
        Ok(None) => 0,
        Err(_) => panic!("the state at {} is not readable", path.display()),
    }
}

fn same_bytes(out: &str, reference: &str) {
    assert!(!reference.is_empty());
    if out != reference {
        let diff = out
            .lines()
            .zip(reference.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(out.lines().count().min(reference.lines().count()));
        panic!(
            "output differs from the uninterrupted run's at line {}: {:?} vs {:?} ({} vs {} lines)",
            diff + 1,
            out.lines().nth(diff),
            reference.lines().nth(diff),
            out.lines().count(),
            reference.lines().count()
        );
    }
}

/// Rows without their wall-clock batch time.
fn without_time(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_once('\t').map_or(l, |(_, r)| r).to_string())
        .collect()
}

#[test]
fn state_crash_event_time_windows_exactly_once() {
    let (kills, bytes) = crash(
        &["--event-time", "auto", "-b", "1m", "--lateness", "10s"],
        &[
            "parse", PARSE, "then", "window", "5m", "--slide", "1m", "then", "count",
        ],
        (120, 4),
        same_bytes,
    );
    eprintln!("state crash (event time, windows): {kills} kills, {bytes} bytes compared");
}

/// The same with `stats` over hour-long windows sliding by 5 minutes:
/// about 12,000 values a window, so the windows' percentiles are sketches
/// (past 4,096 values, with their coins) and their distinct counts
/// HyperLogLogs (past 10,000 values), merged from per-batch panes that
/// are in the state when a run is killed.
#[test]
fn state_crash_stats_sketches_exactly_once() {
    let (kills, bytes) = crash(
        &["--event-time", "auto", "-b", "1m", "--lateness", "10s"],
        &[
            "parse",
            PARSE,
            "then",
            "window",
            "1h",
            "--slide",
            "5m",
            "then",
            "stats",
            "-f",
            "bytes",
            "-a",
            "count,sum,mean,min,max,p50,p99,distinct",
        ],
        (120, 4),
        same_bytes,
    );
    eprintln!(
        "state crash (stats p99 and distinct sketches): {kills} kills, {bytes} bytes compared"
    );
}

#[test]
fn state_crash_batch_lines_exactly_once() {
    let (kills, bytes) = crash(
        &["--batch-lines", "1000"],
        &["parse", PARSE, "then", "count"],
        (120, 4),
        |out, reference| assert_eq!(without_time(out), without_time(reference)),
    );
    eprintln!("state crash (--batch-lines): {kills} kills, {bytes} bytes compared");
}

#[test]
fn state_crash_eof_exactly_once() {
    let (kills, bytes) = crash(
        &["-b", "eof"],
        &["parse", PARSE, "then", "count"],
        // nothing is written before the end: the state is written every
        // second as input is read, so the log grows over some seconds
        (1500, 60),
        |out, reference| assert_eq!(without_time(out), without_time(reference)),
    );
    eprintln!("state crash (-b eof): {kills} kills, {bytes} bytes compared");
}

/// Processing time: batches fall where the clock says, but every line is
/// counted in exactly one written batch over all the runs.
#[test]
fn state_crash_processing_time_counts_every_line_once() {
    let (kills, _) = crash(&["-b", "100ms"], &["count"], (250, 20), |out, _| {
        let total: u64 = out
            .lines()
            .map(|l| {
                l.rsplit('\t')
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .expect("a count")
            })
            .sum();
        assert_eq!(total, 200_000, "lines counted over every batch");
    });
    eprintln!("state crash (processing time): {kills} kills");
}

/// A run with a state over a small log, to damage its state afterwards.
fn small_run(s: &Setup) -> (Vec<String>, String) {
    let lines = access_log(3000);
    std::fs::write(s.path("access.log"), lines.join("\n") + "\n").expect("write the log");
    let a = args(
        s,
        false,
        &["--event-time", "auto", "-b", "1m"],
        Some("state"),
        "",
        &["parse", PARSE, "then", "count"],
    );
    let out = spate(&a).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let written = std::fs::read_to_string(s.path("out")).expect("output");
    (a, written)
}

/// A state cut at every length, a byte flipped anywhere, another format
/// version: exit 1 naming the state file, and the output left as it was.
#[test]
fn state_damaged_cut_or_foreign_is_exit_1_and_output_untouched() {
    let s = Setup::new();
    let (a, written) = small_run(&s);
    let good = std::fs::read(s.path("state")).expect("the state");
    // a longer output than the state committed: a resumed run would cut it
    std::fs::write(s.path("out"), format!("{written}extra\n")).expect("write");
    let check = |bytes: &[u8], what: &str| {
        std::fs::write(s.path("state"), bytes).expect("write the damaged state");
        let out = spate(&a).run();
        assert_eq!(out.code, 1, "{what}: {}", out.stderr);
        assert!(
            out.stderr.contains(&s.arg("state")),
            "{what}: names the file: {}",
            out.stderr
        );
        assert_eq!(
            std::fs::read_to_string(s.path("out")).expect("output"),
            format!("{written}extra\n"),
            "{what}: the output was touched"
        );
    };
    for n in 0..good.len() {
        check(&good[..n], &format!("cut at {n}"));
    }
    for i in (0..good.len()).step_by(good.len().div_ceil(97).max(1)) {
        let mut bad = good.clone();
        bad[i] ^= 0x55;
        check(&bad, &format!("byte {i} flipped"));
    }
    let mut other = good.clone();
    other[8] = 9;
    check(&other, "another version");
    std::fs::write(s.path("state"), &good).expect("restore the state");
}

/// A state written for another chain or another result-shaping option is
/// exit 2 naming the first difference.
#[test]
fn state_for_other_arguments_is_exit_2_naming_the_difference() {
    let s = Setup::new();
    let (mut a, _) = small_run(&s);
    let before = std::fs::read(s.path("out")).expect("output");
    let last = a.len() - 1;
    a[last] = "count-by-key".into();
    let out = spate(&a).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("the chain"), "{}", out.stderr);
    let (b, _) = (
        args(
            &s,
            false,
            &["--event-time", "auto", "-b", "2m"],
            Some("state"),
            "",
            &["parse", PARSE, "then", "count"],
        ),
        (),
    );
    let out = spate(&b).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--batch: the state was written with '1m', this run has '2m'"),
        "{}",
        out.stderr
    );
    // --with-start changes every row: part of what the state was made for
    let c = args(
        &s,
        false,
        &["--event-time", "auto", "-b", "1m", "--with-start"],
        Some("state"),
        "",
        &["parse", PARSE, "then", "count"],
    );
    let out = spate(&c).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--with-start"), "{}", out.stderr);
    assert_eq!(std::fs::read(s.path("out")).expect("output"), before);
}

/// The output and dead-letter files are part of what a state was made
/// for: their committed lengths are in it. Another file (or standard
/// output) is exit 2 naming the option, and the other file is left as it
/// was (it was cut back to the state's length for the first file).
#[test]
fn state_for_another_output_file_is_exit_2_and_leaves_it_alone() {
    let s = Setup::new();
    let (a, _) = small_run(&s);
    let kept = "a file of the user's\n".repeat(50);
    std::fs::write(s.path("out2"), &kept).expect("write another file");
    let b = args(
        &s,
        false,
        &["--event-time", "auto", "-b", "1m"],
        Some("state"),
        "2",
        &["parse", PARSE, "then", "count"],
    );
    let out = spate(&b).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--output-file"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(s.path("out2")).expect("it"), kept);
    // to standard output instead
    let at = a
        .iter()
        .position(|w| w == "--output-file")
        .expect("the option");
    let mut c = a.clone();
    c.drain(at..at + 2);
    let out = spate(&c).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--output-file"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    // another dead-letter file
    let at = a
        .iter()
        .position(|w| w == "--dead-letter")
        .expect("the option");
    let mut d = a.clone();
    d[at + 1] = s.arg("dead2");
    std::fs::write(s.path("dead2"), &kept).expect("write another file");
    let out = spate(&d).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--dead-letter"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(s.path("dead2")).expect("it"), kept);
}

/// Inputs that cannot be read again are refused with --state.
#[test]
fn state_refuses_inputs_that_cannot_be_read_again() {
    // a named pipe (it was read, then opened again at its end: the run
    // waited for a writer forever), and /dev/stdin
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let fifo = fifo.to_string_lossy().into_owned();
    for input in [
        "-",
        "tcp://127.0.0.1:9",
        "listen://127.0.0.1:0",
        &fifo,
        "/dev/stdin",
    ] {
        let out = spate(["-i", input, "--state", "/tmp/never-written", "count"]).run();
        assert_eq!(out.code, 2, "{input}: {}", out.stderr);
        assert!(
            out.stderr.contains("--state cannot resume"),
            "{}",
            out.stderr
        );
    }
    assert!(!Path::new("/tmp/never-written").exists());
}

/// A finished state: a restart writes nothing more and exits 0.
#[test]
fn state_finished_run_restarts_to_nothing() {
    let s = Setup::new();
    let (a, written) = small_run(&s);
    let out = spate(&a).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(s.path("out")).expect("output"),
        written
    );
}

/// A finished state goes on with what its inputs hold since: lines
/// appended are read from where it stopped, a replaced file is warned
/// about and read from its start, and inputs as they were make a restart
/// write nothing (no `-b eof` batch, no `--stats-json` line). Each batching
/// kind: a line count goes on counting, `-b eof` writes a new batch of the
/// new lines, event time keeps its watermark (a line in a written batch
/// is late). A finished restart used to return at once, the appended
/// lines and the replaced file skipped for good.
#[test]
fn state_finished_run_goes_on_with_appended_lines_and_a_replaced_file() {
    let s = Setup::new();
    let log = s.path("r.txt");
    let append = |text: &str| {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .expect("open the log");
        f.write_all(text.as_bytes()).expect("append");
    };
    let read = |n: &str| std::fs::read_to_string(s.path(n)).expect("read a result file");
    let run = |batching: &[&str], out: &str| {
        let mut a = vec![
            "--state".to_string(),
            s.arg(&format!("{out}.st")),
            "-i".into(),
            s.arg("r.txt"),
            "-o".into(),
            "jsonl".into(),
            "--stats-json".into(),
            "--output-file".into(),
            s.arg(out),
        ];
        a.extend(batching.iter().map(|x| x.to_string()));
        a.push("count".into());
        let o = spate(&a).run();
        assert_eq!(o.code, 0, "{batching:?}: {}", o.stderr);
        o
    };
    let counts = |out: &str| -> Vec<String> {
        read(out)
            .lines()
            .map(|l| l.rsplit(':').next().unwrap_or(l).to_string())
            .collect()
    };
    let lines = |o: &crate::util::Output| -> u64 {
        let v: serde_json::Value = serde_json::from_str(o.stdout.trim()).expect("stats json");
        v["accounting"]["lines"].as_u64().expect("lines")
    };
    for batching in [&["--batch-lines", "2"][..], &["-b", "eof"][..]] {
        std::fs::write(&log, "a\nb\n").expect("write the log");
        let out = if batching[0] == "-b" { "eof" } else { "lines" };
        run(batching, out);
        // nothing new: nothing written, not even --stats-json
        let again = run(batching, out);
        assert_eq!(again.stdout, "", "{batching:?}");
        assert_eq!(again.stderr, "", "{batching:?}");
        assert_eq!(counts(out), ["2}"], "{batching:?}");
        append("c\nd\n");
        let more = run(batching, out);
        assert_eq!(lines(&more), 4, "{batching:?}: {}", more.stdout);
        assert_eq!(counts(out), ["2}", "2}"], "{batching:?}");
        assert_eq!(run(batching, out).stdout, "", "{batching:?}");
        // replaced while spate was stopped: warned about, read whole
        std::fs::write(s.path("new"), "x\ny\nz\n").expect("write");
        std::fs::rename(s.path("new"), &log).expect("replace the log");
        let replaced = run(batching, out);
        assert!(
            replaced
                .stderr
                .contains("is not the file the state was written for"),
            "{batching:?}: {}",
            replaced.stderr
        );
        assert_eq!(lines(&replaced), 7, "{batching:?}");
        let want: &[&str] = if batching[0] == "-b" {
            &["2}", "2}", "3}"]
        } else {
            &["2}", "2}", "2}", "1}"]
        };
        assert_eq!(counts(out), want, "{batching:?}");
    }
    // event time: the watermark stays; a line in a written batch is late
    let batching = ["--event-time", "auto", "-b", "10s"];
    std::fs::write(&log, "2024-01-01T00:00:01Z a\n2024-01-01T00:00:12Z b\n")
        .expect("write the log");
    run(&batching, "event");
    append("2024-01-01T00:00:13Z late\n2024-01-01T00:00:25Z c\n");
    let more = run(&batching, "event");
    let v: serde_json::Value = serde_json::from_str(more.stdout.trim()).expect("stats json");
    assert_eq!(v["accounting"]["by_reason"]["late"], 1, "{}", more.stdout);
    assert_eq!(
        read("event"),
        concat!(
            r#"{"time":"2024-01-01T00:00:10Z","count":1}"#,
            "\n",
            r#"{"time":"2024-01-01T00:00:20Z","count":1}"#,
            "\n",
            r#"{"time":"2024-01-01T00:00:30Z","count":1}"#,
            "\n"
        )
    );
}

/// A finished state over a compressed file, which is only known to hold
/// nothing new once read again: a restart writes nothing, `-b eof` no
/// second batch.
#[test]
fn state_finished_compressed_input_restarts_to_nothing() {
    let s = Setup::new();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"a\nb\nc\n").expect("gzip");
    std::fs::write(s.path("r.gz"), gz.finish().expect("gzip")).expect("write");
    let a = [
        "--state",
        &s.arg("st"),
        "-i",
        &s.arg("r.gz"),
        "-b",
        "eof",
        "-o",
        "jsonl",
        "--stats-json",
        "--output-file",
        &s.arg("out"),
        "count",
    ];
    let first = spate(a).run();
    assert_eq!(first.code, 0, "{}", first.stderr);
    let written = std::fs::read_to_string(s.path("out")).expect("output");
    assert!(written.ends_with("\"count\":3}\n"), "{written}");
    let again = spate(a).run();
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout, "");
    assert_eq!(
        std::fs::read_to_string(s.path("out")).expect("output"),
        written
    );
}

/// A state left by `--max-batches` whose step read the whole small file,
/// then the file replaced: the restart warns and writes every line of the
/// new file (the batches the old file's step wrote after the state were
/// not the new file's; they were skipped as written, with no warning).
#[test]
fn state_max_batches_then_a_replaced_file_skips_none_of_it() {
    let s = Setup::new();
    let log = s.path("r.txt");
    std::fs::write(&log, "a\nb\nc\nd\ne\n").expect("write the log");
    let run = |more: &[&str]| {
        let mut a = vec![
            "--state".to_string(),
            s.arg("st"),
            "-i".into(),
            s.arg("r.txt"),
            "--batch-lines".into(),
            "2".into(),
        ];
        a.extend(more.iter().map(|x| x.to_string()));
        a.extend(["head", "100"].map(String::from));
        let o = spate(&a).run();
        assert_eq!(o.code, 0, "{}", o.stderr);
        o
    };
    let cells = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| l.split_once('\t').map_or(l, |(_, r)| r).to_string())
            .collect()
    };
    assert_eq!(cells(&run(&["--max-batches", "1"]).stdout), ["a", "b"]);
    std::fs::write(s.path("new"), "1\n2\n3\n4\n5\n").expect("write");
    std::fs::rename(s.path("new"), &log).expect("replace the log");
    let o = run(&[]);
    assert!(
        o.stderr
            .contains("is not the file the state was written for"),
        "{}",
        o.stderr
    );
    assert_eq!(cells(&o.stdout), ["1", "2", "3", "4", "5"]);
}

/// A full disk: the state cannot be written, the run stops with exit 1
/// naming it, the previous state stays as it was and a restart goes on from
/// it to what one uninterrupted run writes.
#[test]
fn state_full_disk_stops_the_run_and_the_last_state_stands() {
    let s = Setup::new();
    let lines = access_log(8000);
    std::fs::write(s.path("access.log"), lines[..4000].join("\n") + "\n").expect("write the log");
    let batching = ["--event-time", "auto", "-b", "1m"];
    let chain = ["parse", PARSE, "then", "count"];
    let a = args(&s, true, &batching, Some("state"), "", &chain);
    // a followed run, suspended: its state goes on from there
    let mut child = spate(&a).spawn();
    wait_signals_caught(child.id());
    wait_read(&a, &s.path("state"), log_len(&s));
    kill(child.id(), "TERM");
    assert_eq!(wait_code(&mut child, Duration::from_secs(20)), 143);
    let good = std::fs::read(s.path("state")).expect("the state");
    // more log, and the next state's temporary file on a full device
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(s.path("access.log"))
        .expect("open the log");
    f.write_all((lines[4000..].join("\n") + "\n").as_bytes())
        .expect("append");
    std::os::unix::fs::symlink("/dev/full", s.path("state.tmp")).expect("symlink");
    let mut child = spate(&a).spawn();
    let code = wait_code(&mut child, Duration::from_secs(20));
    let err = std::io::read_to_string(child.stderr.take().expect("stderr")).expect("stderr");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&s.arg("state")), "{err}");
    assert_eq!(std::fs::read(s.path("state")).expect("the state"), good);
    // room again: a restart goes on from the last good state
    let _ = std::fs::remove_file(s.path("state.tmp"));
    let mut child = spate(&a).spawn();
    wait_signals_caught(child.id());
    wait_read(&a, &s.path("state"), log_len(&s));
    kill(child.id(), "INT");
    assert_eq!(wait_code(&mut child, Duration::from_secs(20)), 130);
    let whole = spate(args(&s, false, &batching, None, ".ref", &chain)).run();
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let read = |n: &str| std::fs::read_to_string(s.path(n)).expect("read a result file");
    same_bytes(&read("out"), &read("out.ref"));
    assert_eq!(read("dead"), read("dead.ref"));
}

/// Waits (bounded) until the state at `path` for a run of `args` says the
/// inputs were read up to `bytes`.
fn wait_read(args: &[String], path: &Path, bytes: u64) {
    let argv = std::iter::once("spate".to_string()).chain(args.iter().cloned());
    let Ok(spate::cli::Parsed::Run(plan)) = spate::cli::parse(argv) else {
        panic!("the run's arguments parse");
    };
    let fp = spate::checkpoint::fingerprint(&plan);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(Some(saved)) = spate::checkpoint::read(path, &fp) {
            if saved.read_upto() >= bytes {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the state never read {bytes} bytes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `csv --header` resumed in the middle of its file keeps the file's
/// header (the next line read is a record, not a header), and `-o csv`
/// writes its own header once over the runs.
#[test]
fn state_csv_header_resumed_in_the_middle_of_its_input() {
    let s = Setup::new();
    let mut lines = vec!["when,user,ms".to_string()];
    lines.extend((0..3000).map(|i| {
        format!(
            "2024-03-10T12:{:02}:{:02}Z,u{},{}",
            i / 60,
            i % 60,
            i % 7,
            i % 1000
        )
    }));
    let half = lines[..1500].join("\n") + "\n";
    let rest = lines[1500..].join("\n") + "\n";
    let batching = ["--event-time", "when", "-b", "1m", "-o", "csv"];
    let chain = ["csv", "--header", "then", "count-by-key", "user"];
    std::fs::write(s.path("access.log"), &half).expect("write the log");
    let a = args(&s, true, &batching, Some("state"), "", &chain);
    let mut child = spate(&a).spawn();
    wait_read(&a, &s.path("state"), half.len() as u64);
    kill(child.id(), "TERM");
    assert_eq!(wait_code(&mut child, Duration::from_secs(20)), 143);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(s.path("access.log"))
        .expect("open the log");
    f.write_all(rest.as_bytes()).expect("append");
    let second = spate(args(&s, false, &batching, Some("state"), "", &chain)).run();
    assert_eq!(second.code, 0, "{}", second.stderr);
    let whole = spate(args(&s, false, &batching, None, ".ref", &chain)).run();
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let read = |n: &str| std::fs::read_to_string(s.path(n)).expect("read a result file");
    let out = read("out");
    assert_eq!(out.matches("time,user,count").count(), 1, "{out}");
    same_bytes(&out, &read("out.ref"));
    assert_eq!(read("dead"), "", "no line was taken for a header");
}

/// `--max-batches` stops a run inside a step (a chunk's lines, the
/// windows and sessions a watermark closes at once): run again with the
/// same N it writes nothing new, and a run without it goes on to exactly
/// the output of one uninterrupted run — nothing of that step lost (event
/// time lost the step's other closed batches, windows and sessions, and
/// a line count re-read its input from the start).
#[test]
fn state_max_batches_then_go_on_equals_one_run() {
    let lines: Vec<String> = (0..60_000)
        .filter(|i| i % 50 < 30)
        .map(|i| {
            let (h, m, s) = (i / 3600, (i / 60) % 60, i % 60);
            format!("2024-03-10T{h:02}:{m:02}:{s:02}Z {i} k{}", i % 7)
        })
        .collect();
    let parse = r"(?P<n>\d+) (?P<k>k\d)$";
    let cases: [(&[&str], &[&str]); 6] = [
        (
            &["--event-time", "auto", "-b", "1h"],
            &["stats", "-f", "n", "-a", "count,sum,p50"],
        ),
        // no aggregation: the open batches' records kept in the state, and
        // a parser after `sort` drops some (dead letters at the close)
        (
            &["--event-time", "auto", "-b", "1h"],
            &[
                "sort",
                "-r",
                "n",
                "then",
                "parse",
                "(?P<kk>k[0-5])$",
                "then",
                "head",
                "700",
            ],
        ),
        (
            &["--event-time", "auto", "-b", "1m"],
            &["window", "3h", "--slide", "1h", "then", "count-by-key", "k"],
        ),
        (
            &["--event-time", "auto", "-b", "1h"],
            &["window", "session", "10s", "then", "count-by-key", "k"],
        ),
        (
            &["--batch-lines", "1000"],
            &["stats", "-f", "n", "-a", "sum"],
        ),
        (&["-b", "eof"], &["count-by-key", "k"]),
    ];
    for (batching, chain) in cases {
        let s = Setup::new();
        std::fs::write(s.path("access.log"), lines.join("\n") + "\n").expect("write the log");
        let run = |state: bool, more: &[&str], suffix: &str| {
            let mut a = args(
                &s,
                false,
                batching,
                state.then_some("state"),
                suffix,
                &[&["parse", parse, "then"][..], chain].concat(),
            );
            // the options go before the chain
            let at = a.len() - chain.len() - 3;
            for (k, m) in more.iter().enumerate() {
                a.insert(at + k, m.to_string());
            }
            let out = spate(&a).run();
            assert_eq!(out.code, 0, "{batching:?} {chain:?}: {}", out.stderr);
        };
        run(false, &[], ".ref");
        run(true, &["--max-batches", "3"], "");
        let first = std::fs::read_to_string(s.path("out")).expect("output");
        run(true, &["--max-batches", "3"], "");
        let read = |n: &str| std::fs::read_to_string(s.path(n)).expect("read a result file");
        assert_eq!(
            without_time(&read("out")),
            without_time(&first),
            "{batching:?} {chain:?}: the same N again"
        );
        run(true, &[], "");
        let (out, reference) = (read("out"), read("out.ref"));
        if batching[0] == "--event-time" {
            same_bytes(&out, &reference);
        } else {
            assert_eq!(
                without_time(&out),
                without_time(&reference),
                "{batching:?} {chain:?}"
            );
        }
        assert_eq!(read("dead"), read("dead.ref"), "{batching:?} {chain:?}");
    }
}

/// `--max-batches` counts the batches of every run on standard output
/// too: a run that goes on writes none of the batches the run before it
/// wrote (its state stays before the step that stopped it, with the count
/// of batches written after it; the step done again closes them without
/// writing them), the same N again writes nothing, and the runs' outputs
/// put end to end are one uninterrupted run's (the csv header once). The
/// step used to be written again: a small file is one step, so each run
/// wrote every batch from the first.
#[test]
fn state_max_batches_on_standard_output_writes_each_batch_once() {
    let lines: String = (0..2000)
        .map(|i| {
            let (m, s) = ((i * 3) / 60, (i * 3) % 60);
            format!(
                "2024-03-10T{:02}:{:02}:{s:02}Z k{}\n",
                12 + m / 60,
                m % 60,
                i % 7
            )
        })
        .collect();
    let cases: [&[&str]; 2] = [
        &["--event-time", "auto", "-b", "10m"],
        &["--batch-lines", "150"],
    ];
    for batching in cases {
        let s = Setup::new();
        std::fs::write(s.path("log"), &lines).expect("write the log");
        let run = |state: bool, more: &[&str]| {
            let mut a = vec!["-i".to_string(), s.arg("log"), "-o".into(), "csv".into()];
            a.extend(batching.iter().map(|x| x.to_string()));
            if state {
                a.extend(["--state".to_string(), s.arg("state")]);
            }
            a.extend(more.iter().map(|x| x.to_string()));
            a.extend(["map", "field", "2", "then", "count-by-key"].map(String::from));
            let out = spate(&a).run();
            assert_eq!(out.code, 0, "{batching:?}: {}", out.stderr);
            out.stdout
        };
        let reference = run(false, &[]);
        let runs = [
            run(true, &["--max-batches", "2"]),
            run(true, &["--max-batches", "2"]),
            run(true, &["--max-batches", "5"]),
            run(true, &[]),
        ];
        assert!(runs[1].is_empty(), "{batching:?}: {}", runs[1]);
        assert_eq!(runs[0].matches("time,").count(), 1, "{}", runs[0]);
        let all = runs.concat();
        // the time of a line-count batch is the wall clock's
        let cells = |t: &str| -> Vec<String> {
            t.lines()
                .map(|l| l.split_once(',').map_or(l, |(_, r)| r).to_string())
                .collect()
        };
        assert_eq!(cells(&all), cells(&reference), "{batching:?}");
        if batching[0] == "--event-time" {
            assert_eq!(all, reference);
        }
    }
}
