//! `--tz` and `--event-time-format` read: the zone and the format parsed,
//! and an interval that a zone's wall clock cannot count refused. (Where
//! the format would do nothing is one of `noop.rs`'s rules.)

use crate::batch::BatchMode;
use crate::duration::format_duration;
use crate::strftime::Strftime;
use crate::zone::Zone;

/// The compiled format and the zone, or the usage error (one line).
pub fn options(
    tz: Option<&str>,
    format: Option<&str>,
    event_time: Option<&str>,
    batch: BatchMode,
) -> Result<(Option<Strftime>, Option<Zone>), String> {
    let zone = tz
        .map(|s| Zone::parse(s).map_err(|e| format!("--tz: {e}")))
        .transpose()?;
    if let (Some(_), BatchMode::Interval(d)) = (zone, batch) {
        crate::batch::grid::check(crate::batch::nanos(d))
            .map_err(|e| format!("--batch {}: {e}", format_duration(d)))?;
    }
    let Some(fmt) = format else {
        return Ok((None, zone));
    };
    // where it does nothing (no --event-time FIELD) is cli/noop.rs's rule
    let _ = event_time;
    let f = Strftime::compile(fmt).map_err(|e| format!("--event-time-format: {e}"))?;
    Ok((Some(f), zone))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const MINUTE: BatchMode = BatchMode::Interval(Duration::from_secs(60));

    #[test]
    fn time_options_compile_the_format() {
        let f = Some("%Y/%m/%d %H:%M:%S");
        let (fmt, zone) = options(None, f, Some("ts"), MINUTE).unwrap();
        assert!(fmt.is_some() && zone.is_none());
    }

    #[test]
    fn time_options_check_the_zone_and_the_interval() {
        let e = options(Some("Europe/Pari"), None, None, MINUTE).unwrap_err();
        assert!(e.starts_with("--tz: unknown time zone"), "{e}");
        let five_hours = BatchMode::Interval(Duration::from_secs(5 * 3_600));
        let e = options(Some("Europe/Paris"), None, None, five_hours).unwrap_err();
        assert!(e.starts_with("--batch 5h: with --tz"), "{e}");
        assert!(
            options(None, None, None, five_hours).is_ok(),
            "epoch multiples without --tz"
        );
        let day = BatchMode::Interval(Duration::from_secs(86_400));
        assert!(options(Some("+05:30"), None, None, day).is_ok());
        assert!(options(Some("UTC"), None, None, BatchMode::Eof).is_ok());
    }
}
