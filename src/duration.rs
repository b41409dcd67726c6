//! Durations as the command line spells them (`-b 2s`, `--lateness 500ms`,
//! `window 1m30s`): parsing user text into [`std::time::Duration`] and writing
//! a duration back in the same notation for error messages.
//!
//! The grammar is one or more `NUMBER UNIT` parts with no spaces between them,
//! where NUMBER is `DIGITS` or `DIGITS.DIGITS` and UNIT is exactly one of `ms`,
//! `s`, `m`, `h`, `d` (lower case). Parts add up, in any order: `1m30s`,
//! `1h0.5m`, `1.5s`. A fraction finer than a nanosecond is truncated. Zero is a
//! valid duration; callers that need a positive one reject zero themselves.

use std::time::Duration;

const NANOS_PER_MS: u128 = 1_000_000;
const NANOS_PER_SEC: u128 = 1_000_000_000;

/// The largest duration `Duration` can hold, in nanoseconds.
const MAX_NANOS: u128 = u64::MAX as u128 * NANOS_PER_SEC + (NANOS_PER_SEC - 1);

/// Fraction digits past this many cannot change a whole-nanosecond result even
/// for days (8.64e13 ns), and capping them keeps the arithmetic inside u128.
const MAX_FRACTION_DIGITS: u32 = 20;

const HINT: &str = "expected a number followed by ms, s, m, h or d (e.g. 250ms, 2s, 1m)";

fn invalid(s: &str, detail: &str) -> String {
    if detail.is_empty() {
        format!("invalid duration '{s}': {HINT}")
    } else {
        format!("invalid duration '{s}': {detail}; {HINT}")
    }
}

/// Parses a duration such as `250ms`, `2s`, `1.5m`, `1h`, `1d` or `1m30s`.
///
/// Surrounding whitespace is ignored. Errors name the offending text and
/// repeat the accepted notation, so they can be shown to the user as they are.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let text = s.trim();
    let b = text.as_bytes();
    if b.is_empty() {
        return Err(invalid(s, "it is empty"));
    }
    if b[0] == b'-' {
        return Err(invalid(s, "it is negative"));
    }
    let mut total: u128 = 0;
    let mut i = 0;
    while i < b.len() {
        let int_start = i;
        let mut whole: u128 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            whole = whole
                .checked_mul(10)
                .and_then(|v| v.checked_add(u128::from(b[i] - b'0')))
                .ok_or_else(|| invalid(s, "it is too large"))?;
            i += 1;
        }
        if i == int_start {
            return Err(match text[i..].chars().next() {
                Some(c) if c.is_alphabetic() || c == '.' => invalid(s, "a number is missing"),
                Some(c) => invalid(s, &format!("unexpected '{c}'")),
                None => invalid(s, "a number is missing"),
            });
        }
        let mut frac: u128 = 0;
        let mut frac_digits: u32 = 0;
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let frac_start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if frac_digits < MAX_FRACTION_DIGITS {
                    frac = frac * 10 + u128::from(b[i] - b'0');
                    frac_digits += 1;
                }
                i += 1;
            }
            if i == frac_start {
                return Err(invalid(s, "digits must follow the decimal point"));
            }
        }
        let unit_start = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit_nanos = match &text[unit_start..i] {
            "ms" => NANOS_PER_MS,
            "s" => NANOS_PER_SEC,
            "m" => 60 * NANOS_PER_SEC,
            "h" => 3_600 * NANOS_PER_SEC,
            "d" => 86_400 * NANOS_PER_SEC,
            "" if i < b.len() => {
                // Not a letter: quote the character rather than the empty unit.
                let bad = text[i..].chars().next().unwrap_or(' ');
                return Err(invalid(s, &format!("unexpected '{bad}'")));
            }
            "" => return Err(invalid(s, "the unit is missing")),
            other => return Err(invalid(s, &format!("unknown unit '{other}'"))),
        };
        let part = whole
            .checked_mul(unit_nanos)
            .and_then(|v| v.checked_add(frac * unit_nanos / 10u128.pow(frac_digits)))
            .ok_or_else(|| invalid(s, "it is too large"))?;
        total = total
            .checked_add(part)
            .filter(|t| *t <= MAX_NANOS)
            .ok_or_else(|| invalid(s, "it is too large"))?;
    }
    let secs = u64::try_from(total / NANOS_PER_SEC).map_err(|_| invalid(s, "it is too large"))?;
    // The remainder is below 1e9, so it always fits.
    let nanos = (total % NANOS_PER_SEC) as u32;
    Ok(Duration::new(secs, nanos))
}

/// Writes `d` in the notation [`parse_duration`] reads, using the largest
/// units first (`90s` is `1m30s`, `1h` stays `1h`, zero is `0s`).
///
/// Whole seconds with a fraction read as decimal seconds (`1.6s`, not
/// `1s600ms`); a fraction alone reads in milliseconds (`250ms`, and a
/// part finer than a millisecond as a decimal number of them: `1.5ms`),
/// so the text always parses back to exactly `d`.
pub fn format_duration(d: Duration) -> String {
    let total = d.as_nanos();
    if total == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = total;
    let units: [(u128, &str); 3] = [
        (86_400 * NANOS_PER_SEC, "d"),
        (3_600 * NANOS_PER_SEC, "h"),
        (60 * NANOS_PER_SEC, "m"),
    ];
    for (size, name) in units {
        let n = rest / size;
        rest %= size;
        if n > 0 {
            out.push_str(&n.to_string());
            out.push_str(name);
        }
    }
    let (secs, sub) = (rest / NANOS_PER_SEC, rest % NANOS_PER_SEC);
    match (secs, sub) {
        (0, 0) => {}
        (s, 0) => out.push_str(&format!("{s}s")),
        (0, sub) => {
            out.push_str(&(sub / NANOS_PER_MS).to_string());
            let finer = sub % NANOS_PER_MS;
            if finer > 0 {
                out.push('.');
                out.push_str(format!("{finer:06}").trim_end_matches('0'));
            }
            out.push_str("ms");
        }
        (s, sub) => {
            out.push_str(&format!("{s}."));
            out.push_str(format!("{sub:09}").trim_end_matches('0'));
            out.push('s');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn single_units() {
        assert_eq!(parse_duration("250ms"), Ok(ms(250)));
        assert_eq!(parse_duration("2s"), Ok(ms(2_000)));
        assert_eq!(parse_duration("1m"), Ok(ms(60_000)));
        assert_eq!(parse_duration("1h"), Ok(ms(3_600_000)));
        assert_eq!(parse_duration("1d"), Ok(ms(86_400_000)));
    }

    #[test]
    fn zero_is_allowed() {
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0ms"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0.0d"), Ok(Duration::ZERO));
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_duration("1.5s"), Ok(ms(1_500)));
        assert_eq!(parse_duration("0.5m"), Ok(ms(30_000)));
        assert_eq!(parse_duration("0.25h"), Ok(ms(900_000)));
        assert_eq!(parse_duration("1.5ms"), Ok(Duration::from_micros(1_500)));
        assert_eq!(parse_duration("0.000000001s"), Ok(Duration::from_nanos(1)));
        // Below a nanosecond: truncated.
        assert_eq!(parse_duration("0.0000000019s"), Ok(Duration::from_nanos(1)));
        // A long fraction is accepted; only its leading digits matter.
        assert_eq!(
            parse_duration("1.000000000000000000000000000001s"),
            Ok(ms(1_000))
        );
        // A third of a minute is 20s exactly only up to the nanosecond.
        assert_eq!(
            parse_duration("0.3333333333333m"),
            Ok(Duration::new(19, 999_999_999))
        );
    }

    #[test]
    fn compound_forms() {
        assert_eq!(parse_duration("1m30s"), Ok(ms(90_000)));
        assert_eq!(parse_duration("1h1m1s1ms"), Ok(ms(3_661_001)));
        assert_eq!(parse_duration("1d12h"), Ok(ms(129_600_000)));
        assert_eq!(parse_duration("30s1m"), Ok(ms(90_000)));
        assert_eq!(parse_duration("1m0.5s"), Ok(ms(60_500)));
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        assert_eq!(parse_duration(" 2s\n"), Ok(ms(2_000)));
    }

    #[test]
    fn leading_zeros() {
        assert_eq!(parse_duration("007s"), Ok(ms(7_000)));
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "", " ", "s", "ms", "-1s", "+1s", "1", "1.s", ".5s", "1..5s", "1.5.5s", "1 s", "1s 2s",
            "5x", "1S", "1sec", "1us", "1min", "1m30", "eof", "1e3s", "1,5s", "1s,", "١s", "2s!",
            "NaNs",
        ] {
            let err = parse_duration(bad).expect_err(bad);
            assert!(
                err.starts_with(&format!("invalid duration '{bad}'")),
                "{bad}: {err}"
            );
            assert!(err.contains("ms, s, m, h or d"), "{bad}: {err}");
        }
    }

    #[test]
    fn error_messages_say_what_is_wrong() {
        assert_eq!(
            parse_duration("5x").unwrap_err(),
            "invalid duration '5x': unknown unit 'x'; expected a number followed by \
             ms, s, m, h or d (e.g. 250ms, 2s, 1m)"
        );
        assert!(parse_duration("").unwrap_err().contains("empty"));
        assert!(parse_duration("-1s").unwrap_err().contains("negative"));
        assert!(
            parse_duration("10")
                .unwrap_err()
                .contains("unit is missing")
        );
        assert!(
            parse_duration("s")
                .unwrap_err()
                .contains("number is missing")
        );
        assert!(
            parse_duration("1 s")
                .unwrap_err()
                .contains("unexpected ' '")
        );
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        let max_secs = u64::MAX.to_string();
        assert_eq!(
            parse_duration(&format!("{max_secs}s")),
            Ok(Duration::new(u64::MAX, 0))
        );
        for bad in [
            format!("{max_secs}1s"),
            format!("{max_secs}s1s"),
            format!("{max_secs}d"),
            "9".repeat(50) + "ms",
            "1".repeat(400) + "s",
        ] {
            let err = parse_duration(&bad).expect_err(&bad);
            assert!(err.contains("too large"), "{bad}: {err}");
        }
    }

    #[test]
    fn formats_largest_units_first() {
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(ms(250)), "250ms");
        assert_eq!(format_duration(ms(1_000)), "1s");
        assert_eq!(format_duration(ms(90_000)), "1m30s");
        assert_eq!(format_duration(ms(3_600_000)), "1h");
        assert_eq!(format_duration(ms(86_400_000)), "1d");
        assert_eq!(format_duration(ms(90_061_001)), "1d1h1m1.001s");
        assert_eq!(format_duration(ms(1_600)), "1.6s");
        assert_eq!(format_duration(ms(60_500)), "1m500ms");
        assert_eq!(format_duration(ms(86_400_000 + 1)), "1d1ms");
        assert_eq!(format_duration(Duration::from_micros(1_500)), "1.5ms");
        assert_eq!(format_duration(Duration::from_nanos(1)), "0.000001ms");
        assert_eq!(format_duration(Duration::new(1, 500)), "1.0000005s");
    }

    #[test]
    fn formats_the_largest_duration() {
        let text = format_duration(Duration::MAX);
        assert_eq!(parse_duration(&text), Ok(Duration::MAX));
    }

    proptest! {
        #[test]
        fn round_trips_whole_milliseconds(n in 0u64..=u64::MAX / 1_000) {
            let d = ms(n);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }

        #[test]
        fn round_trips_nanoseconds(secs in any::<u64>(), nanos in 0u32..1_000_000_000) {
            let d = Duration::new(secs, nanos);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = parse_duration(&s);
        }

        #[test]
        fn never_panics_on_near_misses(s in "[0-9.msdhx -]{0,12}") {
            let _ = parse_duration(&s);
        }
    }
}
