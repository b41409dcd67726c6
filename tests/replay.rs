//! Replaying a generated access log by event time: spate's per-minute
//! counts (and sliding-window counts) equal an independent computation
//! done here from the same lines.

use std::collections::BTreeMap;

use crate::util::spate;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A deterministic access log over ~20 minutes: 3 lines a second, every
/// 7th line stamped up to 3 s early (out of order), statuses by a pattern.
fn access_log() -> (String, Vec<(i64, u16)>) {
    let base = 1_710_072_000i64; // 2024-03-10T12:00:00Z
    let mut out = String::new();
    let mut truth = Vec::new();
    let mut x: u64 = 42;
    for i in 0..3600i64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut t = base + 10 + i / 3;
        if i % 7 == 0 {
            t -= (x % 4) as i64;
        }
        let status = [200u16, 200, 200, 404, 500, 301][(x % 6) as usize];
        let s = t - base;
        out.push_str(&format!(
            "10.0.0.{} - - [10/{}/2024:{:02}:{:02}:{:02} +0000] \"GET /p{} HTTP/1.1\" {} {}\n",
            i % 250,
            MONTHS[2],
            12 + s / 3600,
            (s / 60) % 60,
            s % 60,
            x % 50,
            status,
            x % 9000
        ));
        truth.push((t, status));
    }
    (out, truth)
}

fn minute_label(end: i64) -> String {
    let s = end - 1_710_072_000;
    format!("2024-03-10T{:02}:{:02}:00Z", 12 + s / 3600, (s / 60) % 60)
}

#[test]
fn replay_per_minute_counts_match_independent_computation() {
    let (log, truth) = access_log();
    let out = spate([
        "--event-time",
        "auto",
        "--lateness",
        "5s",
        "-b",
        "1m",
        "-o",
        "tsv",
        "parse",
        r#"" (?P<status>\d{3}) "#,
        "then",
        "count-by-key",
        "status",
    ])
    .stdin(log)
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "", "nothing late within 5 s of lateness");
    let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (t, st) in &truth {
        let end = (t.div_euclid(60) + 1) * 60;
        *expected
            .entry((minute_label(end), st.to_string()))
            .or_default() += 1;
    }
    let mut actual = BTreeMap::new();
    for line in out.stdout.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        actual.insert(
            (f[0].to_string(), f[1].to_string()),
            f[2].parse::<u64>().unwrap(),
        );
    }
    assert_eq!(actual, expected);
    // batches come out in time order
    let times: Vec<&str> = out
        .stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
}

#[test]
fn replay_without_lateness_counts_late_lines() {
    let (log, truth) = access_log();
    let out = spate(["--event-time", "auto", "-b", "1m", "-o", "tsv", "count"])
        .stdin(log)
        .run();
    assert_eq!(out.code, 0);
    // late: the line's minute ends at or before the watermark (the newest
    // timestamp seen before it, lateness 0)
    let mut late_exact = 0;
    let mut newest_ts = i64::MIN;
    let mut exact: BTreeMap<i64, u64> = BTreeMap::new();
    for (t, _) in &truth {
        let end = (t.div_euclid(60) + 1) * 60;
        if newest_ts != i64::MIN && end <= newest_ts {
            late_exact += 1;
            continue;
        }
        *exact.entry(end).or_default() += 1;
        newest_ts = newest_ts.max(*t);
    }
    let got: BTreeMap<i64, u64> = out
        .stdout
        .lines()
        .map(|l| {
            let (t, n) = l.split_once('\t').unwrap();
            let mins: i64 = t[14..16].parse().unwrap();
            let hours: i64 = t[11..13].parse().unwrap();
            (
                1_710_072_000 + (hours - 12) * 3600 + mins * 60,
                n.parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, exact);
    assert!(late_exact > 0, "the generated log has late lines");
    assert!(
        out.stderr.contains(&format!("{late_exact} late")),
        "summary counts {late_exact} late: {}",
        out.stderr
    );
    crate::util::assert_balanced(&out.stderr);
}

#[test]
fn replay_sliding_window_counts_each_line_length_over_slide_times() {
    let (log, truth) = access_log();
    let out = spate([
        "--event-time",
        "auto",
        "--lateness",
        "5s",
        "-b",
        "1m",
        "-o",
        "tsv",
        "window",
        "5m",
        "then",
        "count",
    ])
    .stdin(log)
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let total: u64 = out
        .stdout
        .lines()
        .map(|l| l.split_once('\t').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(
        total,
        5 * truth.len() as u64,
        "each line in exactly 5 windows"
    );
    // and each window equals the lines of its 5 minutes
    for line in out.stdout.lines() {
        let (t, n) = line.split_once('\t').unwrap();
        let hours: i64 = t[11..13].parse().unwrap();
        let mins: i64 = t[14..16].parse().unwrap();
        let end = 1_710_072_000 + (hours - 12) * 3600 + mins * 60;
        let expected = truth
            .iter()
            .filter(|(ts, _)| *ts >= end - 300 && *ts < end)
            .count();
        assert_eq!(n.parse::<usize>().unwrap(), expected, "window ending {t}");
    }
}

/// `--speed 10` replays 100 s of recorded access log in 10 s (within 5%),
/// and writes exactly what a run without `--speed` writes.
#[test]
fn replay_speed_paces_and_changes_nothing_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("access.log");
    let mut log = String::new();
    // 100 s of event time, a line every 20 ms, a few out of order
    for i in 0..5000i64 {
        let ms = i * 20 - if i % 11 == 0 { 300 } else { 0 };
        let t = 1_710_072_000_000i64 + ms.max(0);
        let (secs, milli) = (t / 1000, t % 1000);
        let (m, s) = ((secs / 60) % 60, secs % 60);
        log.push_str(&format!(
            "2024-03-10T12:{m:02}:{s:02}.{milli:03}Z GET /p{} {}\n",
            i % 13,
            [200, 404, 500][(i % 3) as usize]
        ));
    }
    std::fs::write(&path, &log).expect("write the log");
    let p = path.to_string_lossy().into_owned();
    let args = |speed: bool| {
        let mut a = vec!["-i", &p, "--event-time", "auto", "-b", "10s"];
        if speed {
            a.extend(["--speed", "10"]);
        }
        a.extend([
            "map",
            "field",
            "4",
            "then",
            "window",
            "30s",
            "then",
            "count-by-key",
        ]);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let plain = spate(args(false)).run();
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    let began = std::time::Instant::now();
    let paced = spate(args(true))
        .timeout(std::time::Duration::from_secs(30))
        .run();
    let took = began.elapsed().as_secs_f64();
    assert_eq!(paced.code, 0, "{}", paced.stderr);
    assert_eq!(paced.stdout, plain.stdout, "--speed changed the output");
    // the log spans 99.98 s of event time: 10.0 s at --speed 10
    assert!(
        (9.5..=10.5).contains(&took),
        "--speed 10 took {took:.2} s for 100 s of event time"
    );
}

/// `--speed 10` on a few lines a second apart: each batch is written when
/// the line after it is due (a tenth of a second apart), not all at the
/// end, and the run takes the log's 1.9 s of event time over 10. (The
/// lines were taken 64 at a time and each group's wait came after its
/// batches were written: 20 lines were written at once, with no wait.)
#[test]
fn replay_speed_writes_each_batch_when_its_time_comes() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sparse.log");
    let log: String = (0..20)
        .map(|i| format!("2024-03-10T12:00:{i:02}Z GET /x 200\n"))
        .collect();
    std::fs::write(&path, log).expect("write the log");
    let began = std::time::Instant::now();
    let mut child = std::process::Command::new(crate::util::BIN)
        .arg("-i")
        .arg(&path)
        .args(["--event-time", "auto", "-b", "1s", "--speed", "10", "count"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spate starts");
    let out = child.stdout.take().expect("its output");
    let mut at = Vec::new();
    for line in std::io::BufReader::new(out).lines() {
        let line = line.expect("a row");
        at.push((began.elapsed().as_secs_f64(), line));
    }
    let status = child.wait().expect("spate ends");
    let took = began.elapsed().as_secs_f64();
    assert!(status.success(), "{status:?}");
    assert_eq!(at.len(), 20, "{at:?}");
    assert!(at[0].1.starts_with("2024-03-10T12:00:01Z\t1"), "{at:?}");
    // the first batch is due after 0.1 s, the tenth after 1.0 s
    assert!(at[0].0 < 0.6, "the first batch came at {:.2} s", at[0].0);
    assert!(
        (0.8..1.6).contains(&at[9].0),
        "the tenth batch came at {:.2} s",
        at[9].0
    );
    assert!(
        (1.8..=2.8).contains(&took),
        "--speed 10 took {took:.2} s for 1.9 s of event time"
    );
}
