//! `window LENGTH [--slide SLIDE]` / `window all` / `window session GAP`:
//! the aggregation after it covers the last LENGTH of batches, emitted
//! every SLIDE; or everything since the start; or each key's sessions, runs
//! of records less than GAP apart. Only the span is decided here; the
//! engine keeps one partial aggregate per batch and combines them (see
//! `batch/window.rs`), or keeps the sessions open per key (see
//! `batch/session.rs`).

use std::time::Duration;

use clap::{Arg, ArgMatches};

use crate::batch::WindowSpec;
use crate::duration::{format_duration, parse_duration};
use crate::ops::spark::{Spark, SparkCx, SparkMap, reads_nothing};
use crate::ops::{BuildCx, Built, Operator, Stage};

pub struct Window;

impl Operator for Window {
    fn name(&self) -> &'static str {
        "window"
    }
    fn summary(&self) -> &'static str {
        "Make the next aggregation cover the last LENGTH of batches (sliding), all of them, or each key's sessions"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new("length")
                .value_name("LENGTH|all|session")
                .required(true)
                .help(
                    "How much time each window covers, 'all' for running totals, or 'session' \
                     for sessions per key",
                ),
        )
        .arg(
            Arg::new("gap")
                .value_name("GAP")
                .help("With 'session': records less than GAP apart are one session"),
        )
        .arg(
            Arg::new("slide")
                .long("slide")
                .value_name("SLIDE")
                .help("How often a window is emitted [default: the batch interval]"),
        )
        .after_help(
            "Must come right before count, count-by-key or stats. LENGTH and SLIDE must be \
             multiples of the batch interval, SLIDE no longer than LENGTH; windows end on \
             multiples of SLIDE since the epoch, \
             and a window's time is its end. Each batch's partial result is kept once and \
             combined into every window that covers it.\n\n\
             window session GAP (Spark's session_window): per key of the aggregation after it \
             (count-by-key's fields, stats -g; one stream for count), a session is a run of \
             records less than GAP apart, in event time (--event-time) or in processing time \
             (the time each record was read). A session closes when the watermark (event time) \
             or the clock reaches its last record's time + GAP, or at end of input, and is \
             written with the first batch whose end is at or after that session_end. Its row: \
             the key fields, session_start (its first record's time), session_end, then the \
             aggregates, times printed as batch times are; in tsv, csv and jsonl the row's time \
             is its session_end. Sessions \
             written together are in the aggregation's order of rows, then by session_start. \
             A late record (--lateness) that falls between two sessions of its key joins them \
             into one. Needs time batches (-b DURATION): not -b eof or --batch-lines. Memory: \
             the sessions open per key, not their records.\n\nExamples:\n  \
             spate -b 10s split then window 1m then count-by-key\n  \
             spate -i access.log --event-time auto -b 1m parse '\" (?P<status>\\d{3}) ' then window 1h --slide 1m then count-by-key status\n  \
             spate -b 1s split then window all then count-by-key\n  \
             spate -i access.log --event-time auto -b 1m parse '^(?P<ip>\\S+)' then window session 5m then count-by-key ip\n  \
             spate -i events.jsonl --event-time ts -b 10s json then window session 30s then stats -f latency_ms -a count,p99 -g user",
        )
    }
    fn stage(&self) -> Stage {
        Stage::Window
    }
    fn memory(&self, m: &ArgMatches) -> Option<String> {
        session_memory(m)
    }
    fn build(&self, m: &ArgMatches, cx: &BuildCx) -> Result<Built, String> {
        Ok(Built::Window(spec(m, cx.interval)?))
    }
    fn spark(&self) -> Spark {
        Spark::Map(SparkMap {
            reads: reads_nothing,
            map: to_spark,
        })
    }
}

/// The span `m` asks for, on batches of `interval` (when cut by time).
fn spec(m: &ArgMatches, interval: Option<Duration>) -> Result<WindowSpec, String> {
    let length = m
        .get_one::<String>("length")
        .map(String::as_str)
        .unwrap_or("");
    let gap = m.get_one::<String>("gap");
    if length == "session" {
        return session(gap.map(String::as_str), m, interval);
    }
    if let Some(g) = gap {
        return Err(format!(
            "unexpected argument '{g}': only window session takes a second argument (window session GAP)"
        ));
    }
    if length == "all" {
        if m.get_one::<String>("slide").is_some() {
            return Err("--slide does not apply to window all".into());
        }
        return Ok(WindowSpec::All);
    }
    let length = parse_duration(length)?;
    let Some(interval) = interval else {
        return Err(
            "a window LENGTH needs time batches (-b DURATION), not -b eof or --batch-lines; \
             use window all for running totals"
                .into(),
        );
    };
    let slide = match m.get_one::<String>("slide") {
        Some(s) => parse_duration(s).map_err(|e| format!("--slide: {e}"))?,
        None => interval,
    };
    check_multiple("LENGTH", length, interval)?;
    check_multiple("--slide", slide, interval)?;
    if slide > length {
        // records between two windows would be in none (Spark's window()
        // refuses it too)
        return Err(format!(
            "--slide {} is longer than the window {}: records between windows would be counted in none; use --slide {} or less",
            format_duration(slide),
            format_duration(length),
            format_duration(length)
        ));
    }
    Ok(WindowSpec::Sliding { length, slide })
}

/// The span, on the batch interval the run has.
fn to_spark(m: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    let spec = spec(m, cx.interval())?;
    cx.window(spec);
    Ok(())
}

/// `window session GAP`: a GAP longer than 0, and time batches.
fn session(
    gap: Option<&str>,
    m: &ArgMatches,
    interval: Option<Duration>,
) -> Result<WindowSpec, String> {
    let Some(gap) = gap else {
        return Err(
            "window session needs a GAP: records less than GAP apart are one session (window session 5m)"
                .into(),
        );
    };
    let gap = parse_duration(gap).map_err(|e| format!("GAP: {e}"))?;
    if gap.is_zero() {
        return Err("GAP must be longer than 0 (window session 30s)".into());
    }
    if m.get_one::<String>("slide").is_some() {
        return Err(
            "--slide does not apply to window session: a session ends GAP after its last record"
                .into(),
        );
    }
    if interval.is_none() {
        return Err(
            "window session needs time batches (-b DURATION, by the clock or with --event-time), \
             not -b eof or --batch-lines: a session is a run of records close in time, written \
             with the first batch that ends at or after its end"
                .into(),
        );
    }
    Ok(WindowSpec::Session { gap })
}

/// What `window` keeps in memory, for `--explain`, when it is a session.
pub fn session_memory(m: &ArgMatches) -> Option<String> {
    let gap = m.get_one::<String>("gap")?;
    (m.get_one::<String>("length").map(String::as_str) == Some("session"))
        .then(|| format!("the sessions open per key (one partial result each, runs of records less than {gap} apart), not their records"))
}

/// `what` must be a positive multiple of the batch interval; the error
/// names the nearest multiples that would work.
fn check_multiple(what: &str, d: Duration, interval: Duration) -> Result<(), String> {
    let (d_ns, i_ns) = (d.as_nanos(), interval.as_nanos());
    if d_ns != 0 && i_ns != 0 && d_ns % i_ns == 0 {
        return Ok(());
    }
    let below = (d_ns / i_ns).max(1);
    let lo = Duration::from_nanos(u64::try_from(below * i_ns).unwrap_or(u64::MAX));
    let hi = Duration::from_nanos(u64::try_from((below + 1) * i_ns).unwrap_or(u64::MAX));
    let hint = if d_ns < i_ns {
        format!("use {} or more", format_duration(interval))
    } else {
        format!("use {} or {}", format_duration(lo), format_duration(hi))
    };
    Err(format!(
        "{what} {} is not a multiple of the batch interval {}; {hint}",
        format_duration(d),
        format_duration(interval)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::build_words;

    /// The window of `window ARGS...` under batches of `interval` seconds.
    fn build(args: &[&str], interval: Option<u64>) -> Result<WindowSpec, String> {
        let cx = BuildCx {
            interval: interval.map(Duration::from_secs),
            ..BuildCx::default()
        };
        match build_words(&[&["window"], args].concat(), &cx)? {
            Built::Window(w) => Ok(w),
            _ => Err("not a window".into()),
        }
    }

    #[test]
    fn window_sliding_defaults_slide_to_interval() {
        assert_eq!(
            build(&["60s"], Some(10)),
            Ok(WindowSpec::Sliding {
                length: Duration::from_secs(60),
                slide: Duration::from_secs(10)
            })
        );
    }

    #[test]
    fn window_not_a_multiple_says_which_would_work() {
        let e = build(&["90s"], Some(60)).unwrap_err();
        assert!(e.contains("use 1m or 2m"), "{e}");
        let e = build(&["1m", "--slide", "15s"], Some(10)).unwrap_err();
        assert!(
            e.contains("--slide 15s") && e.contains("use 10s or 20s"),
            "{e}"
        );
        let e = build(&["5s"], Some(10)).unwrap_err();
        assert!(e.contains("use 10s or more"), "{e}");
    }

    #[test]
    fn window_slide_longer_than_the_window_is_refused() {
        let e = build(&["1m", "--slide", "2m"], Some(60)).unwrap_err();
        assert!(
            e.contains("--slide 2m is longer than the window 1m")
                && e.contains("--slide 1m or less"),
            "{e}"
        );
        assert!(build(&["2m", "--slide", "2m"], Some(60)).is_ok());
    }

    #[test]
    fn window_session_takes_a_gap_and_time_batches() {
        assert_eq!(
            build(&["session", "5m"], Some(60)),
            Ok(WindowSpec::Session {
                gap: Duration::from_secs(300)
            })
        );
        // any GAP: it need not be a multiple of the batch interval
        assert_eq!(
            build(&["session", "90s"], Some(60)),
            Ok(WindowSpec::Session {
                gap: Duration::from_secs(90)
            })
        );
        let e = build(&["session"], Some(1)).unwrap_err();
        assert!(e.contains("needs a GAP"), "{e}");
        let e = build(&["session", "0s"], Some(1)).unwrap_err();
        assert!(e.contains("longer than 0"), "{e}");
        let e = build(&["session", "soon"], Some(1)).unwrap_err();
        assert!(e.starts_with("GAP: "), "{e}");
        let e = build(&["session", "1m", "--slide", "1m"], Some(60)).unwrap_err();
        assert!(e.contains("--slide"), "{e}");
        let e = build(&["session", "1m"], None).unwrap_err();
        assert!(e.contains("-b eof or --batch-lines"), "{e}");
        let e = build(&["5m", "1m"], Some(60)).unwrap_err();
        assert!(e.contains("only window session"), "{e}");
        assert!(build(&["all", "1m"], Some(60)).is_err());
    }

    #[test]
    fn window_all_and_no_time_batches() {
        assert_eq!(build(&["all"], None), Ok(WindowSpec::All));
        assert!(build(&["1m"], None).is_err());
        assert!(build(&["all", "--slide", "1m"], Some(60)).is_err());
    }
}
