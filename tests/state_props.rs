//! `--state` as a property: for random event streams and every kind of
//! aggregation (none, `count`, `count-by-key` of one field and of two,
//! `stats` with every aggregate) under every kind of window (none,
//! tumbling, sliding, `window session`, `window all`), a run that reads a
//! random prefix of the input, is killed (SIGKILL, at a random instant) or
//! suspended (SIGTERM) and started again over the whole input writes, with
//! what it wrote before, exactly what one uninterrupted run writes:
//!
//! - to `--output-file`, the same bytes (exactly-once);
//! - to standard output, the same bytes once the repeat at the seam is
//!   taken out (at-least-once): the first run's output is a prefix of the
//!   uninterrupted run's, the second's a suffix, nothing is missing, and
//!   what both wrote starts at a batch's first row. A suspended run
//!   repeats nothing.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::util::{kill, read_on_thread, spate, wait_code};

const BASE: i64 = 1_710_072_000; // 2024-03-10T12:00:00Z

fn rfc3339(t: i64) -> String {
    let s = t - BASE;
    format!(
        "2024-03-10T{:02}:{:02}:{:02}Z",
        12 + s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

/// JSON lines about every `step` seconds, some up to 40 s early (late past
/// the lateness), with user keys of several kinds (text, a number, a JSON
/// string that looks like one, missing) and values (integers, floats, text
/// that reads as a number, text that does not, null); one line in 37 is
/// not JSON.
fn lines(n: usize, step: i64, seed: u64) -> Vec<String> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let r = next();
            if r % 37 == 0 {
                return format!("noise {i}");
            }
            let early = if r % 5 == 0 { (r >> 8) as i64 % 40 } else { 0 };
            let t = BASE + i as i64 * step / 4 - early;
            let user = match (r >> 16) % 7 {
                0 => String::new(),
                1 => r#","u":7"#.to_string(),
                2 => r#","u":"7""#.to_string(),
                k => format!(r#","u":"u{k}""#),
            };
            let v = match (r >> 24) % 6 {
                0 => format!("{}", (r >> 32) % 1000),
                1 => format!("{}.{}", (r >> 32) % 100, (r >> 40) % 100),
                2 => format!(r#""{}""#, (r >> 32) % 50),
                3 => r#""n/a""#.to_string(),
                4 => "null".to_string(),
                _ => format!("-{}.5", (r >> 32) % 10),
            };
            format!(r#"{{"ts":"{}"{user},"v":{v}}}"#, rfc3339(t))
        })
        .collect()
}

const AGGS: &[&[&str]] = &[
    &[],
    &["count"],
    &["count-by-key", "u"],
    &["count-by-key", "u", "v"],
    &[
        "stats",
        "-f",
        "v",
        "-a",
        "count,sum,mean,min,max,p50,p99,distinct",
        "-g",
        "u",
    ],
];

const WINDOWS: &[&[&str]] = &[
    &[],
    &["window", "2m", "--slide", "2m"],
    &["window", "3m", "--slide", "1m"],
    &["window", "session", "45s"],
    &["window", "all"],
];

/// How the first run ends.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// SIGKILL after this many milliseconds.
    Kill(u64),
    /// SIGTERM (a suspend) once the state says the prefix was read.
    Term,
}

#[derive(Debug, Clone)]
struct Case {
    n: usize,
    step: i64,
    seed: u64,
    /// The first run reads this share of the lines, in thousandths.
    cut: usize,
    lateness: &'static str,
    max_keys: Option<&'static str>,
    format: &'static str,
    to_file: bool,
    stop: Stop,
}

fn case() -> impl Strategy<Value = Case> {
    (
        (1usize..5000, 1i64..40, any::<u64>(), 0usize..1000),
        prop::sample::select(vec!["0s", "20s"]),
        prop::option::of(Just("2")),
        prop::sample::select(vec!["tsv", "csv", "jsonl"]),
        any::<bool>(),
        prop_oneof![(0u64..300).prop_map(Stop::Kill), Just(Stop::Term)],
    )
        .prop_map(
            |((n, step, seed, cut), lateness, max_keys, format, to_file, stop)| Case {
                n,
                step,
                seed,
                cut,
                lateness,
                max_keys,
                format,
                to_file,
                stop,
            },
        )
}

/// The arguments of a run of `chain` over `input`.
fn args(c: &Case, dir: &Path, chain: &[&str], state: bool, out: &str) -> Vec<String> {
    let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let mut a: Vec<String> = vec!["-i".into(), p("input")];
    a.extend(
        [
            "--event-time",
            "ts",
            "-b",
            "1m",
            "--lateness",
            c.lateness,
            "-o",
            c.format,
            "--threads",
            "2",
        ]
        .map(String::from),
    );
    if let Some(k) = c.max_keys {
        a.extend(["--max-keys".to_string(), k.to_string()]);
    }
    if state {
        a.extend(["--state".to_string(), p("state")]);
    }
    if c.to_file {
        a.extend(["--output-file".to_string(), p(out)]);
    }
    a.extend(chain.iter().map(|s| s.to_string()));
    a
}

/// How far the state at `dir/state` says the input was read.
fn read_upto(run_args: &[String], dir: &Path) -> u64 {
    let argv = std::iter::once("spate".to_string()).chain(run_args.iter().cloned());
    let Ok(spate::cli::Parsed::Run(plan)) = spate::cli::parse(argv) else {
        panic!("the run's arguments parse");
    };
    let fp = spate::checkpoint::fingerprint(&plan);
    match spate::checkpoint::read(&dir.join("state"), &fp) {
        Ok(Some(saved)) => saved.read_upto(),
        Ok(None) => 0,
        Err(_) => panic!("the state is not readable"),
    }
}

/// The rows of a format's output that a batch's first row starts: where
/// the time column changes (sessions' rows each carry their own time, so
/// for them any row).
fn batch_starts(text: &str, format: &str, sessions: bool) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut last: Option<&str> = None;
    let mut at = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let time = match format {
            "jsonl" => line.split(',').next().unwrap_or(""),
            "csv" => line.split(',').next().unwrap_or(""),
            _ => line.split('\t').next().unwrap_or(""),
        };
        // csv's header is its own stretch
        if sessions || last != Some(time) || (format == "csv" && i == 0) {
            starts.push(at);
        }
        last = Some(time);
        at += line.len();
    }
    starts.push(at);
    starts
}

/// One case for one chain: the first run over a prefix, stopped; the
/// second over the whole input; against one uninterrupted run.
fn check(c: &Case, chain: &[&str]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let all = lines(c.n, c.step, c.seed);
    let cut = all.len() * c.cut / 1000;
    let text = |ls: &[String]| -> String { ls.iter().map(|l| format!("{l}\n")).collect() };
    let (head, tail) = (text(&all[..cut]), text(&all[cut..]));
    std::fs::write(d.join("whole"), format!("{head}{tail}")).expect("write the input");
    // the uninterrupted run
    let mut whole_args = args(c, d, chain, false, "out.ref");
    whole_args[1] = d.join("whole").to_string_lossy().into_owned();
    let whole = spate(&whole_args).run();
    prop_assert_eq!(whole.code, 0, "{}", whole.stderr);
    let expected = if c.to_file {
        std::fs::read_to_string(d.join("out.ref")).expect("read the output file")
    } else {
        whole.stdout
    };
    // the first run follows the prefix, then is stopped
    std::fs::write(d.join("input"), &head).expect("write the input");
    let mut first_args = args(c, d, chain, true, "out");
    first_args.insert(0, "-F".into());
    let mut child = spate(&first_args).spawn();
    let out1 = read_on_thread(child.stdout.take());
    let err1 = read_on_thread(child.stderr.take());
    let mut read_all = true;
    match c.stop {
        Stop::Kill(ms) => {
            std::thread::sleep(Duration::from_millis(ms));
            kill(child.id(), "KILL");
        }
        Stop::Term => {
            let deadline = Instant::now() + Duration::from_secs(20);
            while read_upto(&first_args, d) < head.len() as u64 {
                if Instant::now() > deadline {
                    read_all = false;
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            kill(child.id(), "TERM");
        }
    }
    let code = wait_code(&mut child, Duration::from_secs(20));
    prop_assert!(read_all, "the state never said the prefix was read");
    let (out1, err1) = (
        out1.join().expect("stdout reader"),
        err1.join().expect("stderr reader"),
    );
    prop_assert!([137, 143].contains(&code), "first run: {code}: {err1}");
    // the rest of the input comes; the second run reads it to its end
    std::fs::OpenOptions::new()
        .append(true)
        .open(d.join("input"))
        .and_then(|mut f| f.write_all(tail.as_bytes()))
        .expect("append the rest");
    let second = spate(args(c, d, chain, true, "out")).run();
    prop_assert_eq!(second.code, 0, "second run: {}", second.stderr);
    if c.to_file {
        let got = std::fs::read_to_string(d.join("out")).expect("read the output file");
        prop_assert!(
            got == expected,
            "--output-file differs from one run's:\n{}",
            crate::util::diff(&expected, &got)
        );
        return Ok(());
    }
    let (a, b) = (out1.as_str(), second.stdout.as_str());
    let seam = expected.len().checked_sub(b.len());
    let ok = seam.is_some_and(|k| {
        expected.starts_with(a)
            && expected.ends_with(b)
            && k <= a.len()
            && match c.stop {
                // a suspend writes nothing it did not commit
                Stop::Term => k == a.len(),
                // what was written again starts a batch
                Stop::Kill(_) => {
                    let sessions = chain.contains(&"session");
                    batch_starts(&expected, c.format, sessions).contains(&k)
                }
            }
    });
    prop_assert!(
        ok,
        "the two runs' outputs are not one run's (seam at {seam:?}; {} + {} bytes, one run {}):\nfirst:\n{a}\nsecond:\n{b}\none run:\n{expected}",
        a.len(),
        b.len(),
        expected.len()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn state_restarted_anywhere_writes_one_runs_output(c in case()) {
        for agg in AGGS {
            for window in WINDOWS {
                if agg.is_empty() && !window.is_empty() {
                    // a window needs an aggregation after it
                    continue;
                }
                let mut chain: Vec<&str> = vec!["json"];
                for op in [*window, *agg] {
                    if !op.is_empty() {
                        chain.push("then");
                        chain.extend_from_slice(op);
                    }
                }
                check(&c, &chain).map_err(|e| {
                    TestCaseError::fail(format!("{}: {e}", chain.join(" ")))
                })?;
            }
        }
    }
}
