//! `window LENGTH [--slide SLIDE]` / `window all`: the aggregation after it
//! covers the last LENGTH of batches, emitted every SLIDE; or everything
//! since the start. Only the span is decided here; the engine keeps one
//! partial aggregate per batch and combines them (see `batch/window.rs`).

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
        "Make the next aggregation cover the last LENGTH of batches (sliding), or all of them"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new("length")
                .value_name("LENGTH|all")
                .required(true)
                .help("How much time each window covers, or 'all' for running totals"),
        )
        .arg(
            Arg::new("slide")
                .long("slide")
                .value_name("SLIDE")
                .help("How often a window is emitted [default: the batch interval]"),
        )
        .after_help(
            "Must come right before count, count-by-key or stats. LENGTH and SLIDE must be \
             multiples of the batch interval; windows end on multiples of SLIDE since the epoch, \
             and a window's time is its end. Each batch's partial result is kept once and \
             combined into every window that covers it.\n\nExamples:\n  \
             spate -b 10s split then window 1m then count-by-key\n  \
             spate -i access.log --event-time auto -b 1m parse '\" (?P<status>\\d{3}) ' then window 1h --slide 1m then count-by-key status\n  \
             spate -b 1s split then window all then count-by-key",
        )
    }
    fn stage(&self) -> Stage {
        Stage::Window
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
    Ok(WindowSpec::Sliding { length, slide })
}

/// The span, on the batch interval the run has.
fn to_spark(m: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    let spec = spec(m, cx.interval())?;
    cx.window(spec);
    Ok(())
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
    fn window_all_and_no_time_batches() {
        assert_eq!(build(&["all"], None), Ok(WindowSpec::All));
        assert!(build(&["1m"], None).is_err());
        assert!(build(&["all", "--slide", "1m"], Some(60)).is_err());
    }
}
