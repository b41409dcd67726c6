//! Event time formats and zones on the built binary, where the expected
//! output depends on the clock (the current year of syslog times and of
//! formats without a year, processing-time batch ends) and so cannot be a
//! golden case; and event-time batching checked over several options.

use spate::zone::Zone;

use crate::util::{assert_text, spate};

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs() as i64
}

/// The year on `zone`'s wall clock now.
fn year_in(zone: &str) -> i64 {
    Zone::parse(zone).expect("a zone").year_at(now_secs())
}

#[test]
fn tz_reads_syslog_times_in_the_zone() {
    let line = "Mar 10 13:30:00 host sshd[1]: accepted\n";
    let args = ["--event-time", "auto", "-b", "1h", "-o", "tsv", "count"];
    // --tz wins over the local zone (TZ)
    let out = spate(["--tz", "Europe/Paris"].iter().chain(&args))
        .env("TZ", "America/New_York")
        .stdin(line)
        .run();
    let year = year_in("Europe/Paris");
    assert_eq!(
        out.stdout,
        format!("{year}-03-10T13:00:00Z\t1\n"),
        "{}",
        out.stderr
    );
    // without --tz, syslog is local time, as before
    let out = spate(args).env("TZ", "Europe/Paris").stdin(line).run();
    assert_eq!(
        out.stdout,
        format!("{year}-03-10T13:00:00Z\t1\n"),
        "{}",
        out.stderr
    );
    let out = spate(["--tz", "UTC"].iter().chain(&args))
        .env("TZ", "Europe/Paris")
        .stdin(line)
        .run();
    let year = year_in("UTC");
    assert_eq!(
        out.stdout,
        format!("{year}-03-10T14:00:00Z\t1\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn event_time_format_without_a_year_reads_the_current_one() {
    let out = spate([
        "--event-time",
        "ts",
        "--event-time-format",
        "%b %d %H:%M:%S",
        "-b",
        "1m",
        "-o",
        "tsv",
        "json",
        "then",
        "count",
    ])
    .stdin("{\"ts\":\"Mar 10 12:00:09\"}\n{\"ts\":\"Mar 10 12:00:09 2024\"}\n")
    .run();
    let year = year_in("UTC");
    assert_eq!(out.stdout, format!("{year}-03-10T12:01:00Z\t1\n"));
    assert!(
        out.stderr.contains("1 dropped (1 untimed)"),
        "{}",
        out.stderr
    );
}

/// The time a processing-time batch of `args` prints for one line read at
/// once (the end of the interval open at start), in epoch seconds.
fn first_batch_end(args: &[&str]) -> i64 {
    let started = now_secs();
    let mut all = vec!["-o", "tsv", "--time-format", "epoch"];
    all.extend_from_slice(args);
    all.push("count");
    let out = spate(&all).stdin("a\n").run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (time, count) = out
        .stdout
        .trim_end()
        .split_once('\t')
        .expect("time and count");
    assert_eq!(count, "1");
    let end: i64 = time.parse().expect("epoch seconds");
    assert!(end > started, "{end} after {started}");
    end
}

#[test]
fn tz_processing_time_batches_end_on_local_boundaries() {
    let kolkata = first_batch_end(&["-b", "1h", "--tz", "Asia/Kolkata"]);
    assert_eq!(kolkata.rem_euclid(3_600), 1_800, "local hours are :30 UTC");
    assert!(kolkata - now_secs() <= 3_600);
    let paris = Zone::parse("Europe/Paris").expect("a zone");
    let day = first_batch_end(&["-b", "1d", "--tz", "Europe/Paris"]);
    let wall = day + i64::from(paris.offset_at(day));
    assert_eq!(wall.rem_euclid(86_400), 0, "local midnight");
    assert!(day - now_secs() <= 25 * 3_600);
    let utc = first_batch_end(&["-b", "1d"]);
    assert_eq!(utc.rem_euclid(86_400), 0, "UTC midnight without --tz");
    let minute = first_batch_end(&["-b", "1m", "--tz", "Asia/Kolkata"]);
    assert_eq!(minute.rem_euclid(60), 0, "under an hour: epoch multiples");
}

#[test]
fn tz_and_event_time_format_are_refused_by_emit_pyspark() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("in.log");
    std::fs::write(&file, "x\n").expect("write input");
    let path = file.to_str().expect("utf-8 path");
    let out = spate([
        "--emit",
        "pyspark",
        "-i",
        path,
        "--tz",
        "Europe/Paris",
        "count",
    ])
    .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--tz Europe/Paris"), "{}", out.stderr);
    let out = spate([
        "--emit",
        "pyspark",
        "-i",
        path,
        "--event-time",
        "ts",
        "--event-time-format",
        "%s",
        "json",
        "then",
        "count",
    ])
    .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("--event-time-format '%s'"),
        "{}",
        out.stderr
    );
}

mod props {
    //! On random records around the DST changes of a real zone, batches
    //! and windows cut with `--tz` equal a brute-force recomputation from
    //! the definition: a boundary is a second at which the wall clock reads
    //! a multiple of the interval, or jumps forward onto or over one.

    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use spate::zone::Zone;

    /// (zone, first second, span in seconds): ten hours around a change.
    const SCENES: [(&str, i64, i64); 4] = [
        ("Europe/Paris", 1_711_828_800, 36_000), // 2024-03-30T20:00Z
        ("Europe/Paris", 1_729_972_800, 36_000), // 2024-10-26T20:00Z
        ("Australia/Lord_Howe", 1_712_412_000, 36_000), // 2024-04-06T14:00Z, 30 minutes back
        ("Australia/Lord_Howe", 1_728_122_400, 36_000), // 2024-10-05T10:00Z, 30 minutes on
    ];

    fn ceil_to(t: i64, s: i64) -> i64 {
        t + (s - t.rem_euclid(s)) % s
    }

    /// Every boundary of `step` seconds in `[from, to]`, minute by minute
    /// (these zones' offsets and changes are whole minutes).
    fn boundaries(zone: Zone, step: i64, from: i64, to: i64) -> Vec<i64> {
        let wall = |t: i64| t + i64::from(zone.offset_at(t));
        (from / 60..=to / 60)
            .map(|m| m * 60)
            .filter(|&t| wall(t) % step == 0 || ceil_to(wall(t - 60) + 60, step) <= wall(t))
            .collect()
    }

    fn rfc3339(t: i64) -> String {
        spate::timestamp::format_time(
            t * 1_000_000_000,
            spate::timestamp::TimeFormat::Rfc3339,
            false,
        )
    }

    type Table = BTreeMap<(String, String), (u64, i64)>;

    /// (end, key) -> (count, sum) of the records in each window
    /// `[b[i - n], b[i])` that holds any.
    fn naive(recs: &[(i64, &str, i64)], b: &[i64], n: usize) -> Table {
        let mut t = Table::new();
        for i in n..b.len() {
            for (ts, k, v) in recs {
                if b[i - n] <= *ts && *ts < b[i] {
                    let e = t.entry((rfc3339(b[i]), k.to_string())).or_insert((0, 0));
                    e.0 += 1;
                    e.1 += v;
                }
            }
        }
        t
    }

    fn records(scene: usize) -> impl Strategy<Value = Vec<(i64, &'static str, i64)>> {
        let (_, from, span) = SCENES[scene];
        prop::collection::vec((0..span, 0usize..2, 0i64..100), 1..60).prop_map(move |v| {
            let mut r: Vec<(i64, &'static str, i64)> = v
                .into_iter()
                .map(|(t, k, x)| (from + t, ["a", "b"][k], x))
                .collect();
            r.sort_by_key(|x| x.0);
            r
        })
    }

    /// The scene the records were drawn from (their spans do not overlap).
    fn scene_of(recs: &[(i64, &str, i64)]) -> usize {
        let t = recs.first().map_or(0, |r| r.0);
        SCENES
            .iter()
            .position(|(_, from, span)| t >= *from && t < from + span)
            .expect("records lie in a scene")
    }

    fn check(scene: usize, step: i64, window: &[&str], n: usize, recs: &[(i64, &str, i64)]) {
        let (name, from, span) = SCENES[scene];
        let zone = Zone::parse(name).expect("a zone");
        let b = boundaries(zone, step, from - 2 * 86_400, from + span + 2 * 86_400);
        let expected = naive(recs, &b, n);
        let mut args = vec!["-b", "1h", "parse", r"^\S+ (?P<k>\w+) (?P<v>\d+)$", "then"];
        args.extend_from_slice(window);
        if !window.is_empty() {
            args.push("then");
        }
        args.extend(["stats", "-f", "v", "-a", "count,sum", "-g", "k"]);
        let mut full = vec!["--tz", name, "--event-time", "auto", "-o", "jsonl"];
        full.extend_from_slice(&args);
        let input: String = recs
            .iter()
            .map(|(ts, k, v)| format!("{} {k} {v}\n", rfc3339(*ts)))
            .collect();
        let (out, counts) =
            spate::run::run_in_memory(&full, input.into_bytes()).expect("spate runs");
        assert_eq!(counts.dropped(), 0);
        let mut actual = Table::new();
        for line in String::from_utf8_lossy(&out).lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("jsonl");
            let time = v["time"].as_str().expect("time").to_string();
            let key = v["k"].as_str().expect("key").to_string();
            let count = v["count"].as_u64().expect("count");
            let sum = v["sum"].as_i64().expect("sum");
            actual.insert((time, key), (count, sum));
        }
        assert_eq!(expected, actual, "{name} step {step} window {window:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

        #[test]
        fn tz_hour_batches_equal_brute_force(recs in (0..SCENES.len()).prop_flat_map(records)) {
            check(scene_of(&recs), 3_600, &[], 1, &recs);
        }

        #[test]
        fn tz_local_windows_equal_brute_force(recs in (0..SCENES.len()).prop_flat_map(records)) {
            let s = scene_of(&recs);
            // tumbling two hours, and three hours sliding by one
            check(s, 7_200, &["window", "2h", "--slide", "2h"], 1, &recs);
            check(s, 3_600, &["window", "3h", "--slide", "1h"], 3, &recs);
            check(s, 86_400, &["window", "1d", "--slide", "1d"], 1, &recs);
        }
    }
}

/// Windows at the end of time (event times near 2262-04-11, where
/// nanoseconds since 1970 run out, or a window of 200,000 days): every
/// window that holds the record is written, the last at the clamped end,
/// and the run ends. (The last window's next end was itself, and the run
/// wrote it until memory ran out.)
#[test]
fn time_windows_at_the_end_of_time_end() {
    let cases: [(&str, &[&str], usize); 3] = [
        (
            "2262-04-11T22:00:00Z a\n",
            &[
                "--event-time",
                "auto",
                "-b",
                "1h",
                "window",
                "2h",
                "then",
                "count",
            ],
            2,
        ),
        (
            "2262-04-10T22:00:00Z a\n",
            &[
                "--event-time",
                "auto",
                "-b",
                "1d",
                "window",
                "2d",
                "then",
                "count",
            ],
            2,
        ),
        (
            "a\n",
            &["-b", "50000d", "window", "200000d", "then", "count"],
            3,
        ),
    ];
    for (input, args, windows) in cases {
        // under a 2 GB address space: a regression fails, not the machine
        let mut sh = vec![
            "-c",
            "ulimit -v 2000000; exec \"$0\" \"$@\"",
            crate::util::BIN,
        ];
        sh.extend(args);
        let mut child = std::process::Command::new("sh")
            .args(&sh)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("sh starts");
        {
            use std::io::Write;
            let mut sin = child.stdin.take().expect("stdin");
            sin.write_all(input.as_bytes()).expect("write");
        }
        let out = child.wait_with_output().expect("spate ends");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        let rows: Vec<&str> = stdout.lines().collect();
        assert_eq!(rows.len(), windows, "{args:?}: {stdout}");
        assert!(rows.iter().all(|r| r.ends_with("\t1")), "{stdout}");
        assert!(
            rows.last()
                .is_some_and(|r| r.starts_with("2262-04-11T23:47:16")),
            "{stdout}"
        );
    }
}

/// `--emit-empty` with sessions in event time writes every batch from the
/// first to the last once, in order: the empty one after a record's batch
/// and before the batch its session is written with too, mid-stream and at
/// end of input. (The batches ending 00:00:02 and 00:00:12 were lost:
/// a session written ahead of the empty batches made them count as
/// written.)
#[test]
fn time_emit_empty_sessions_write_every_batch_once() {
    let input = "2024-01-01T00:00:00Z a\n2024-01-01T00:00:10Z b\n";
    let session = |s: u32| {
        format!(
            r#"{{"session_start":"2024-01-01T00:00:{s:02}Z","session_end":"2024-01-01T00:00:{:02}Z","count":1}}"#,
            s + 3
        )
    };
    let expected: String = (1..=13)
        .map(|t| {
            let rows = match t {
                3 => session(0),
                13 => session(10),
                _ => String::new(),
            };
            format!("{{\"time\":\"2024-01-01T00:00:{t:02}Z\",\"rows\":[{rows}]}}\n")
        })
        .collect();
    for threads in ["1", "3"] {
        let out = spate([
            "--event-time",
            "auto",
            "-b",
            "1s",
            "-o",
            "json",
            "--emit-empty",
            "--threads",
            threads,
            "window",
            "session",
            "3s",
            "then",
            "count",
        ])
        .stdin(input)
        .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_text(&expected, &out.stdout, "every batch once");
    }
    // spark: one block per batch, 00:00:01 to 00:00:13
    let out = spate([
        "--event-time",
        "auto",
        "-b",
        "1s",
        "-o",
        "spark",
        "--emit-empty",
        "window",
        "session",
        "3s",
        "then",
        "count",
    ])
    .stdin(input)
    .run();
    let times: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Time: 2024-01-01 00:00:"))
        .collect();
    let want: Vec<String> = (1..=13).map(|t| format!("{t:02}")).collect();
    assert_eq!(times, want, "{}", out.stdout);
}

/// `window all` in event time writes its running totals at every batch,
/// as processing time does, not only at the batches that got records;
/// `--max-batches`, `--exit-on-row` and `--with-start` (the first batch's
/// start) count and print them as batches. (Only 12:00:01 and 12:00:04
/// were written.)
#[test]
fn time_window_all_writes_its_totals_at_every_batch() {
    let input = "2024-03-10T12:00:00Z a\n2024-03-10T12:00:03.5Z b\n";
    let run = |extra: &[&str]| {
        let mut args = vec!["--event-time", "auto", "-b", "1s", "-o", "tsv"];
        args.extend(extra);
        args.extend(["window", "all", "then", "count"]);
        let out = spate(args).stdin(input).run();
        assert_eq!(out.code, 0, "{extra:?}: {}", out.stderr);
        out.stdout
    };
    let all = "2024-03-10T12:00:01Z\t1\n2024-03-10T12:00:02Z\t1\n\
               2024-03-10T12:00:03Z\t1\n2024-03-10T12:00:04Z\t2\n";
    assert_text(all, &run(&[]), "window all");
    assert_text(all, &run(&["--threads", "1"]), "one thread");
    assert_text(all, &run(&["--emit-empty"]), "--emit-empty");
    assert_text(all, &run(&["--lateness", "5s"]), "lateness");
    assert_text(
        "2024-03-10T12:00:01Z\t1\n2024-03-10T12:00:02Z\t1\n",
        &run(&["--max-batches", "2"]),
        "--max-batches",
    );
    assert_text(
        "2024-03-10T12:00:01Z\t1\n",
        &run(&["--exit-on-row"]),
        "--exit-on-row",
    );
    assert_text(
        "2024-03-10T12:00:01Z\t2024-03-10T12:00:00Z\t1\n\
         2024-03-10T12:00:02Z\t2024-03-10T12:00:00Z\t1\n\
         2024-03-10T12:00:03Z\t2024-03-10T12:00:00Z\t1\n\
         2024-03-10T12:00:04Z\t2024-03-10T12:00:00Z\t2\n",
        &run(&["--with-start"]),
        "--with-start",
    );
}
