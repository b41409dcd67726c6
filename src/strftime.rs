//! `--event-time-format FMT`: a strftime format, read exactly as chrono's
//! parser reads it (`chrono::format::parse`), compiled once.
//!
//! chrono's generic parser costs 150-300 ns a timestamp (it walks the
//! items, trims Unicode whitespace and cross-checks every date field), far
//! more than the rest of a line's work, so a format made of the common
//! items (numbers, month and weekday names, AM/PM, fractions, numeric
//! offsets, `%s`) is also compiled to a small program that scans ASCII
//! text in one pass. The program only ever answers for text it is sure of:
//! anything unusual (a sign, a non-ASCII byte where chrono would trim
//! Unicode space, a field given twice, a weekday to check) makes it step
//! aside and chrono's parser decide. A property test checks that both
//! agree on text that fits and text that nearly does.
//!
//! Beyond chrono: a format without a year reads the current year (as
//! syslog times do), and one without a time of day reads midnight. A
//! timestamp with no offset in it (`%z`) is wall-clock time in the `--tz`
//! zone, or UTC without `--tz`; `%s` is absolute.

use std::fmt::Write as _;

use chrono::format::{Fixed, Item, Numeric, Parsed, StrftimeItems};

use crate::civil::{days_from_civil, is_leap};
use crate::timestamp::Nanos;
use crate::zone::Zone;

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// A compiled `--event-time-format`.
#[derive(Clone, Debug)]
pub struct Strftime {
    text: String,
    items: Vec<Item<'static>>,
    /// The one-pass program, when every item has one.
    fast: Option<Vec<Step>>,
    /// The format names no year: read the current one.
    fill_year: bool,
    /// The format names no time of day: read midnight.
    fill_time: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum Step {
    /// A one-byte literal (`/`, `:`, `.`).
    Byte(u8),
    Literal(Box<[u8]>),
    Space,
    /// Up to `max` digits after ASCII spaces, into a field.
    Number(Field, usize),
    /// `%Y`: up to 4 digits (a sign makes chrono read any number: aside).
    Year,
    /// `%s`: any number of digits.
    Timestamp,
    MonthName {
        long: bool,
    },
    WeekdayName {
        long: bool,
    },
    AmPm,
    /// `%.f`: when a `.` follows, 1 to 9 digits (more are skipped).
    DotFraction,
    /// `%.3f` and kin: when a `.` follows, exactly this many digits.
    DotFixed(usize),
    /// `%3f` and kin: exactly this many digits, no dot.
    Fixed(usize),
    /// `%z` and kin; `zulu` also takes `Z`.
    Offset {
        zulu: bool,
    },
}

/// The fields a program reads, each a slot of [`Fields`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Field {
    Year,
    YearMod100,
    Month,
    Day,
    Ordinal,
    Hour,
    Hour12,
    Minute,
    Second,
    /// `%f` (nanoseconds as written, not scaled) and the fractions.
    Nanosecond,
    Timestamp,
    Offset,
    /// 1 for PM, 0 for AM.
    Pm,
}

/// A slot not given.
const UNSET: i64 = i64::MIN;

/// What the program read, by [`Field`]; `UNSET` is "not given".
struct Fields {
    v: [i64; 13],
    weekday: bool,
}

impl Fields {
    fn get(&self, f: Field) -> Option<i64> {
        let x = self.v[f as usize];
        (x != UNSET).then_some(x)
    }

    /// chrono refuses a field given twice with two values: aside then.
    #[inline]
    fn set(&mut self, f: Field, x: i64) -> Result<(), Aside> {
        let slot = &mut self.v[f as usize];
        if *slot != UNSET && *slot != x {
            return Err(Aside);
        }
        *slot = x;
        Ok(())
    }
}

/// The fast program cannot answer for this text: let chrono decide.
struct Aside;

/// The reference instant a format must be able to read back (2001-02-03
/// 04:05:06.789 UTC, a Saturday).
const PROBE_SECS: i64 = 981_173_106;

impl Strftime {
    /// Compiles `fmt`; the error says why it cannot be used.
    pub fn compile(fmt: &str) -> Result<Strftime, String> {
        let items = StrftimeItems::new(fmt).parse_to_owned().map_err(|_| {
            format!(
                "'{fmt}' is not a strftime format: check each %-specifier (%Y %m %d %H %M %S %b %z %s %.f, or %% for a percent sign)"
            )
        })?;
        let has = |pred: &dyn Fn(&Item<'static>) -> bool| items.iter().any(pred);
        let fill_year = !has(&|i| {
            matches!(
                i,
                Item::Numeric(
                    Numeric::Year
                        | Numeric::YearDiv100
                        | Numeric::YearMod100
                        | Numeric::IsoYear
                        | Numeric::IsoYearDiv100
                        | Numeric::IsoYearMod100
                        | Numeric::Timestamp,
                    _
                ) | Item::Fixed(Fixed::RFC2822 | Fixed::RFC3339)
            )
        });
        let fill_time = !has(&|i| {
            matches!(
                i,
                Item::Numeric(
                    Numeric::Hour
                        | Numeric::Hour12
                        | Numeric::Minute
                        | Numeric::Second
                        | Numeric::Timestamp,
                    _
                ) | Item::Fixed(
                    Fixed::LowerAmPm | Fixed::UpperAmPm | Fixed::RFC2822 | Fixed::RFC3339
                )
            )
        });
        let fast = compile_fast(&items);
        let f = Strftime {
            text: fmt.to_string(),
            items,
            fast,
            fill_year,
            fill_time,
        };
        // A format that cannot read back what it writes names no instant
        // (`%H:%M` has no day): better said now than every line untimed.
        let probe = chrono::DateTime::from_timestamp(PROBE_SECS, 789_000_000)
            .expect("invariant: the probe instant is in range")
            .fixed_offset();
        let mut written = String::new();
        // chrono cannot write every item it reads (`%#z`): no probe then
        let wrote = write!(written, "{}", probe.format_with_items(f.items.iter())).is_ok();
        if wrote && f.slow(&written, None).is_none() {
            return Err(format!(
                "'{fmt}' does not name a day: it needs a date (%Y-%m-%d, %d.%m.%Y, %b %d, %j) or %s"
            ));
        }
        Ok(f)
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the one-pass program is used (else chrono's parser).
    pub fn is_compiled(&self) -> bool {
        self.fast.is_some()
    }

    /// Reads `s` whole; `zone` is the zone of a time written without an
    /// offset (`None`: UTC).
    pub fn parse(&self, s: &str, zone: Option<Zone>) -> Option<Nanos> {
        if let Some(steps) = &self.fast
            && let Ok(t) = self.run(steps, s.as_bytes(), zone)
        {
            return t;
        }
        self.slow(s, zone)
    }

    /// [`Strftime::parse`] by chrono's parser alone (for benchmarks and
    /// comparisons: the answer is the same).
    #[doc(hidden)]
    pub fn parse_with_chrono(&self, s: &str, zone: Option<Zone>) -> Option<Nanos> {
        self.slow(s, zone)
    }

    /// chrono's parser, with the year and midnight filled in.
    fn slow(&self, s: &str, zone: Option<Zone>) -> Option<Nanos> {
        let mut p = Parsed::new();
        if self.fill_year {
            p.set_year(current_year(zone)).ok()?;
        }
        if self.fill_time {
            p.set_hour(0).ok()?;
            p.set_minute(0).ok()?;
        }
        chrono::format::parse(&mut p, s, self.items.iter()).ok()?;
        let given = p.offset().map(i64::from);
        let naive = p
            .to_naive_datetime_with_offset(given.unwrap_or(0) as i32)
            .ok()?;
        let utc = naive.and_utc();
        let nanos = i64::from(utc.timestamp_subsec_nanos());
        let wall = utc.timestamp();
        let secs = match (given, p.timestamp()) {
            (Some(o), _) => wall - o,
            (None, Some(_)) => wall,
            (None, None) => zone.map_or(wall, |z| z.to_utc(wall)),
        };
        secs.checked_mul(NANOS_PER_SEC)?.checked_add(nanos)
    }

    /// The one-pass program: `Ok(answer)` when it is sure, `Err(Aside)`
    /// when chrono must decide.
    fn run(&self, steps: &[Step], b: &[u8], zone: Option<Zone>) -> Result<Option<Nanos>, Aside> {
        let mut f = Fields {
            v: [UNSET; 13],
            weekday: false,
        };
        let mut i = 0;
        for step in steps {
            match step {
                Step::Byte(c) => {
                    if b.get(i) != Some(c) {
                        return Err(Aside);
                    }
                    i += 1;
                }
                Step::Literal(lit) => {
                    if !b[i..].starts_with(lit) {
                        return Err(Aside);
                    }
                    i += lit.len();
                }
                Step::Space => i = skip_space(b, i)?,
                Step::Number(field, max) => {
                    if !b.get(i).is_some_and(u8::is_ascii_digit) {
                        i = skip_space(b, i)?;
                    }
                    let (v, end) = digits(b, i, 1, *max)?;
                    i = end;
                    f.set(*field, v)?;
                }
                Step::Year => {
                    if !b.get(i).is_some_and(u8::is_ascii_digit) {
                        i = skip_space(b, i)?;
                    }
                    if matches!(b.get(i), Some(b'+' | b'-')) {
                        return Err(Aside);
                    }
                    let (v, end) = digits(b, i, 1, 4)?;
                    i = end;
                    f.set(Field::Year, v)?;
                }
                Step::Timestamp => {
                    i = skip_space(b, i)?;
                    let (v, end) = digits(b, i, 1, 18)?;
                    if b.get(end).is_some_and(u8::is_ascii_digit) {
                        return Err(Aside);
                    }
                    i = end;
                    f.set(Field::Timestamp, v)?;
                }
                Step::MonthName { long } => {
                    let m = name_at(b, i, &MONTHS)?;
                    i += 3;
                    if *long {
                        i += long_suffix(b, i, MONTH_SUFFIXES[m]);
                    }
                    f.set(Field::Month, m as i64 + 1)?;
                }
                Step::WeekdayName { long } => {
                    let d = name_at(b, i, &WEEKDAYS)?;
                    i += 3;
                    if *long {
                        i += long_suffix(b, i, WEEKDAY_SUFFIXES[d]);
                    }
                    // chrono checks it against the date: rare enough to
                    // leave to chrono
                    f.weekday = true;
                }
                Step::AmPm => {
                    let pm = match (b.get(i).map(|c| c | 32), b.get(i + 1).map(|c| c | 32)) {
                        (Some(b'a'), Some(b'm')) => false,
                        (Some(b'p'), Some(b'm')) => true,
                        _ => return Err(Aside),
                    };
                    f.set(Field::Pm, i64::from(pm))?;
                    i += 2;
                }
                Step::DotFraction => {
                    if b.get(i) == Some(&b'.') {
                        let (v, end) = digits(b, i + 1, 1, 9)?;
                        let scaled = v * 10_i64.pow((9 - (end - i - 1)) as u32);
                        i = end;
                        while b.get(i).is_some_and(u8::is_ascii_digit) {
                            i += 1;
                        }
                        f.set(Field::Nanosecond, scaled)?;
                    }
                }
                Step::DotFixed(n) => {
                    if b.get(i) == Some(&b'.') {
                        let (v, end) = digits(b, i + 1, *n, *n)?;
                        i = end;
                        f.set(Field::Nanosecond, v * 10_i64.pow((9 - n) as u32))?;
                    }
                }
                Step::Fixed(n) => {
                    let (v, end) = digits(b, i, *n, *n)?;
                    i = end;
                    f.set(Field::Nanosecond, v * 10_i64.pow((9 - n) as u32))?;
                }
                Step::Offset { zulu } => {
                    i = skip_space(b, i)?;
                    let (o, end) = offset_at(b, i, *zulu)?;
                    i = end;
                    f.set(Field::Offset, o)?;
                }
            }
        }
        if i != b.len() {
            return Err(Aside);
        }
        self.instant(&f, zone)
    }

    /// The instant the fields name, with chrono's checks.
    fn instant(&self, f: &Fields, zone: Option<Zone>) -> Result<Option<Nanos>, Aside> {
        if f.weekday {
            return Err(Aside);
        }
        let nanosecond = f.get(Field::Nanosecond);
        let nanos = match nanosecond {
            None => 0,
            Some(n) if n <= 999_999_999 => n,
            Some(_) => return Ok(None),
        };
        if let Some(ts) = f.get(Field::Timestamp) {
            // `%s` with nothing else but a fraction and an offset
            return Ok(ts
                .checked_mul(NANOS_PER_SEC)
                .and_then(|s| s.checked_add(nanos)));
        }
        let year = match (f.get(Field::Year), f.get(Field::YearMod100)) {
            (Some(y), None) => y,
            (None, Some(r)) => r + if r < 70 { 2_000 } else { 1_900 },
            (None, None) if self.fill_year => current_year(zone),
            _ => return Err(Aside),
        };
        let days = match (
            f.get(Field::Month),
            f.get(Field::Day),
            f.get(Field::Ordinal),
        ) {
            (Some(m), Some(d), None) => {
                if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
                    return Ok(None);
                }
                if d > i64::from(days_in_month(year, m as u32)) {
                    return Ok(None);
                }
                days_from_civil(year, m as u32, d as u32)
            }
            (None, None, Some(o)) => {
                let len = if is_leap(year) { 366 } else { 365 };
                if !(1..=len).contains(&o) {
                    return Ok(None);
                }
                days_from_civil(year, 1, 1) + o - 1
            }
            _ => return Err(Aside),
        };
        let hour = match (f.get(Field::Hour), f.get(Field::Hour12), f.get(Field::Pm)) {
            (Some(h), None, None) => h,
            (None, Some(h), Some(pm)) => {
                if !(1..=12).contains(&h) {
                    return Ok(None);
                }
                h % 12 + 12 * pm
            }
            (None, None, None) if self.fill_time => 0,
            _ => return Err(Aside),
        };
        let minute = match f.get(Field::Minute) {
            Some(m) => m,
            None if self.fill_time => 0,
            None => return Err(Aside),
        };
        let second = f.get(Field::Second);
        if nanosecond.is_some() && second.is_none() {
            return Err(Aside);
        }
        let second = second.unwrap_or(0);
        if hour > 23 || minute > 59 || second > 60 {
            return Ok(None);
        }
        let wall = days * 86_400 + hour * 3_600 + minute * 60 + second;
        let secs = match f.get(Field::Offset) {
            Some(o) => wall - o,
            None => zone.map_or(wall, |z| z.to_utc(wall)),
        };
        Ok(secs
            .checked_mul(NANOS_PER_SEC)
            .and_then(|s| s.checked_add(nanos)))
    }
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

/// The current year on the zone's wall clock (UTC without one).
fn current_year(zone: Option<Zone>) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    zone.unwrap_or_else(Zone::utc).year_at(now)
}

/// Skips ASCII whitespace; a non-ASCII byte might be Unicode space that
/// chrono trims: aside.
fn skip_space(b: &[u8], mut i: usize) -> Result<usize, Aside> {
    while let Some(&c) = b.get(i) {
        if c.is_ascii_whitespace() || c == 0x0b {
            i += 1;
        } else if c >= 0x80 {
            return Err(Aside);
        } else {
            break;
        }
    }
    Ok(i)
}

/// `min..=max` digits at `i`, as chrono's `scan::number` reads them.
fn digits(b: &[u8], i: usize, min: usize, max: usize) -> Result<(i64, usize), Aside> {
    let mut v: i64 = 0;
    let mut j = i;
    while j - i < max {
        match b.get(j) {
            Some(c) if c.is_ascii_digit() => {
                v = v * 10 + i64::from(c - b'0');
                j += 1;
            }
            _ => break,
        }
    }
    if j - i < min {
        return Err(Aside);
    }
    Ok((v, j))
}

const MONTHS: [&[u8; 3]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];
const MONTH_SUFFIXES: [&[u8]; 12] = [
    b"uary", b"ruary", b"ch", b"il", b"", b"e", b"y", b"ust", b"tember", b"ober", b"ember",
    b"ember",
];
const WEEKDAYS: [&[u8; 3]; 7] = [b"mon", b"tue", b"wed", b"thu", b"fri", b"sat", b"sun"];
const WEEKDAY_SUFFIXES: [&[u8]; 7] = [
    b"day", b"sday", b"nesday", b"rsday", b"day", b"urday", b"day",
];

/// The index of the three-letter name at `i`, any case.
fn name_at(b: &[u8], i: usize, names: &[&[u8; 3]]) -> Result<usize, Aside> {
    let w = b.get(i..i + 3).ok_or(Aside)?;
    let lower = [w[0] | 32, w[1] | 32, w[2] | 32];
    names.iter().position(|n| **n == lower).ok_or(Aside)
}

/// The length of a long name's rest at `i` when it is there (any case).
fn long_suffix(b: &[u8], i: usize, suffix: &[u8]) -> usize {
    match b.get(i..i + suffix.len()) {
        Some(w) if w.eq_ignore_ascii_case(suffix) => suffix.len(),
        _ => 0,
    }
}

/// `±HH[:]MM` (or `Z` when allowed) at `i`, as chrono's `timezone_offset`
/// reads the plain forms; anything else is left to chrono.
fn offset_at(b: &[u8], i: usize, zulu: bool) -> Result<(i64, usize), Aside> {
    if zulu && matches!(b.get(i), Some(b'Z' | b'z')) {
        return Ok((0, i + 1));
    }
    let sign = match b.get(i) {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(Aside),
    };
    let (h, mut j) = digits(b, i + 1, 2, 2)?;
    if b.get(j) == Some(&b':') {
        j += 1;
    }
    let (m, end) = digits(b, j, 2, 2)?;
    if m > 59
        || b.get(end)
            .is_some_and(|c| c.is_ascii_digit() || *c == b':' || *c >= 0x80)
    {
        return Err(Aside);
    }
    Ok((sign * (h * 3_600 + m * 60), end))
}

/// The one-pass program for `items`, when each has a step.
fn compile_fast(items: &[Item<'static>]) -> Option<Vec<Step>> {
    let internal = |spec: &'static str| StrftimeItems::new(spec).next();
    let (nodot3, nodot6, nodot9) = (internal("%3f"), internal("%6f"), internal("%9f"));
    let mut steps = Vec::new();
    let mut timestamp = false;
    let mut other_fields = false;
    for item in items {
        let step = match item {
            Item::Literal(s) if s.len() == 1 => Step::Byte(s.as_bytes()[0]),
            Item::OwnedLiteral(s) if s.len() == 1 => Step::Byte(s.as_bytes()[0]),
            Item::Literal(s) => Step::Literal(s.as_bytes().into()),
            Item::OwnedLiteral(s) => Step::Literal(s.as_bytes().into()),
            Item::Space(_) | Item::OwnedSpace(_) => Step::Space,
            Item::Numeric(n, _) => {
                let step = match n {
                    Numeric::Year => Step::Year,
                    Numeric::YearMod100 => Step::Number(Field::YearMod100, 2),
                    Numeric::Month => Step::Number(Field::Month, 2),
                    Numeric::Day => Step::Number(Field::Day, 2),
                    Numeric::Ordinal => Step::Number(Field::Ordinal, 3),
                    Numeric::Hour => Step::Number(Field::Hour, 2),
                    Numeric::Hour12 => Step::Number(Field::Hour12, 2),
                    Numeric::Minute => Step::Number(Field::Minute, 2),
                    Numeric::Second => Step::Number(Field::Second, 2),
                    Numeric::Nanosecond => Step::Number(Field::Nanosecond, 9),
                    Numeric::Timestamp => Step::Timestamp,
                    _ => return None,
                };
                match step {
                    Step::Timestamp => timestamp = true,
                    Step::Number(Field::Nanosecond, _) => {}
                    _ => other_fields = true,
                }
                step
            }
            Item::Fixed(f) => match f {
                Fixed::ShortMonthName => Step::MonthName { long: false },
                Fixed::LongMonthName => Step::MonthName { long: true },
                Fixed::ShortWeekdayName => Step::WeekdayName { long: false },
                Fixed::LongWeekdayName => Step::WeekdayName { long: true },
                Fixed::LowerAmPm | Fixed::UpperAmPm => Step::AmPm,
                Fixed::Nanosecond => Step::DotFraction,
                Fixed::Nanosecond3 => Step::DotFixed(3),
                Fixed::Nanosecond6 => Step::DotFixed(6),
                Fixed::Nanosecond9 => Step::DotFixed(9),
                Fixed::TimezoneOffset
                | Fixed::TimezoneOffsetColon
                | Fixed::TimezoneOffsetDoubleColon
                | Fixed::TimezoneOffsetTripleColon => Step::Offset { zulu: false },
                Fixed::TimezoneOffsetColonZ | Fixed::TimezoneOffsetZ => Step::Offset { zulu: true },
                _ if Some(item) == nodot3.as_ref() => Step::Fixed(3),
                _ if Some(item) == nodot6.as_ref() => Step::Fixed(6),
                _ if Some(item) == nodot9.as_ref() => Step::Fixed(9),
                _ => return None,
            },
            _ => return None,
        };
        if matches!(
            step,
            Step::MonthName { .. } | Step::WeekdayName { .. } | Step::AmPm
        ) {
            other_fields = true;
        }
        steps.push(step);
    }
    // `%s` beside date fields is cross-checked by chrono: its path
    if timestamp && other_fields {
        return None;
    }
    Some(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: i64 = NANOS_PER_SEC;
    /// 2024-03-10T12:00:09Z.
    const T: i64 = 1_710_072_009 * S;

    fn fmt(f: &str) -> Strftime {
        Strftime::compile(f).unwrap_or_else(|e| panic!("{f}: {e}"))
    }

    #[test]
    fn strftime_reads_the_documented_examples() {
        let f = fmt("%Y/%m/%d %H:%M:%S");
        assert!(f.is_compiled());
        assert_eq!(f.parse("2024/03/10 12:00:09", None), Some(T));
        let f = fmt("%d.%m.%Y %H:%M:%S");
        assert_eq!(f.parse("10.03.2024 12:00:09", None), Some(T));
        let f = fmt("%s");
        assert_eq!(f.parse("1710072009", None), Some(T));
        assert_eq!(f.parse("1710072009.5", None), None);
        // the one-pass program answers these itself
        for (f, s) in [
            ("%Y/%m/%d %H:%M:%S", "2024/03/10 12:00:09"),
            ("%d.%m.%Y %H:%M:%S", "10.03.2024 12:00:09"),
            ("%s", "1710072009"),
            ("%d/%b/%Y:%H:%M:%S %z", "10/Mar/2024:13:00:09 +0100"),
        ] {
            let c = fmt(f);
            let steps = c.fast.as_deref().expect("compiled");
            assert!(
                matches!(c.run(steps, s.as_bytes(), None), Ok(Some(_))),
                "{f}"
            );
        }
    }

    #[test]
    fn strftime_text_that_does_not_fit_reads_nothing() {
        let f = fmt("%Y/%m/%d %H:%M:%S");
        for bad in [
            "2024-03-10 12:00:09",
            "2024/03/10 12:00:09 extra",
            "2024/13/10 12:00:09",
            "2024/02/30 12:00:09",
            "2024/03/10 24:00:09",
            "2024/03/10",
            "",
            "10.03.2024 12:00:09",
        ] {
            assert_eq!(f.parse(bad, None), None, "{bad}");
        }
    }

    #[test]
    fn strftime_zone_applies_only_without_an_offset() {
        let paris = Zone::parse("Europe/Paris").ok();
        let f = fmt("%Y-%m-%d %H:%M:%S");
        assert_eq!(f.parse("2024-03-10 13:00:09", paris), Some(T));
        let f = fmt("%Y-%m-%d %H:%M:%S %z");
        assert_eq!(f.parse("2024-03-10 14:00:09 +0200", paris), Some(T));
        let f = fmt("%s");
        assert_eq!(f.parse("1710072009", paris), Some(T), "epoch is absolute");
        // summer time
        let f = fmt("%d.%m.%Y %H:%M");
        assert_eq!(f.parse("10.07.2024 14:00", paris), Some(1_720_612_800 * S));
    }

    #[test]
    fn strftime_fills_the_year_and_midnight() {
        let f = fmt("%b %d %H:%M:%S");
        let t = f.parse("Mar 10 12:00:09", None).expect("a time");
        let year = current_year(None);
        let jan1 = days_from_civil(year, 1, 1) * 86_400 * S;
        assert!(t >= jan1, "this year");
        let d = fmt("%Y-%m-%d");
        assert_eq!(d.parse("2024-03-10", None), Some(1_710_028_800 * S));
    }

    #[test]
    fn strftime_rejects_formats_that_name_no_day() {
        for bad in ["%H:%M:%S", "hello", "%Q", "%Y-%m"] {
            assert!(Strftime::compile(bad).is_err(), "{bad}");
        }
        let e = Strftime::compile("%H:%M").unwrap_err();
        assert!(e.contains("does not name a day"), "{e}");
        let e = Strftime::compile("%Y-%m-%d %Q").unwrap_err();
        assert!(e.contains("is not a strftime format"), "{e}");
    }

    #[test]
    fn strftime_common_formats_are_compiled() {
        for f in [
            "%Y-%m-%dT%H:%M:%S%.f%:z",
            "%d/%b/%Y:%H:%M:%S %z",
            "%a %b %e %H:%M:%S %Y",
            "%m/%d/%y %I:%M:%S %p",
            "%Y%m%d%H%M%S",
            "%s%.3f",
            "%Y-%j",
        ] {
            assert!(fmt(f).is_compiled(), "{f}");
        }
        assert!(!fmt("%+").is_compiled());
    }

    #[test]
    fn strftime_fast_and_chrono_agree_on_examples() {
        let cases = [
            ("%d/%b/%Y:%H:%M:%S %z", "10/Mar/2024:13:00:09 +0100"),
            ("%a %b %e %H:%M:%S %Y", "Sun Mar 10 12:00:09 2024"),
            ("%a %b %e %H:%M:%S %Y", "Mon Mar 10 12:00:09 2024"),
            ("%m/%d/%y %I:%M:%S %p", "03/10/24 12:00:09 PM"),
            ("%m/%d/%y %I:%M:%S %p", "03/10/24 12:00:09 am"),
            ("%Y%m%d%H%M%S", "20240310120009"),
            ("%s%.3f", "1710072009.250"),
            (
                "%Y-%m-%dT%H:%M:%S%.f%:z",
                "2024-03-10T12:00:09.123456789+00:00",
            ),
            ("%Y-%m-%dT%H:%M:%S%.f%:z", "2024-03-10T12:00:09Z"),
            ("%Y-%m-%d %H:%M:%S%#z", "2024-03-10 12:00:09+01"),
            ("%Y-%j %H:%M", "2024-070 12:00"),
            ("%Y-%m-%d %H:%M:%S", "2016-12-31 23:59:60"),
            ("%Y-%m-%d %H:%M:%S", " 2024-3-1  1:2:3"),
        ];
        for (f, s) in cases {
            let c = fmt(f);
            assert_eq!(c.parse(s, None), c.slow(s, None), "{f} on {s:?}");
        }
        assert_eq!(
            fmt("%s%.3f").parse("1710072009.250", None),
            Some(T + 250_000_000)
        );
    }

    const FORMATS: [&str; 10] = [
        "%Y/%m/%d %H:%M:%S",
        "%d.%m.%Y %H:%M:%S",
        "%s",
        "%d/%b/%Y:%H:%M:%S %z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%m/%d/%y %I:%M:%S %p",
        "%Y%m%d %H%M%S%.3f",
        "%B %e, %Y %H:%M",
        "%Y-%j %H:%M:%S%3f",
        "%a, %d %b %Y %H:%M:%S %z",
    ];

    proptest! {
        /// On text a format wrote, and on that text cut, grown and
        /// garbled, the fast program says what chrono's parser says.
        #[test]
        fn strftime_fast_equals_chrono(
            which in 0..FORMATS.len(),
            secs in -2_000_000_000i64..4_000_000_000,
            nanos in 0u32..1_000_000_000,
            offset in -50_400i32..50_400,
            edits in proptest::collection::vec((0usize..40, 0usize..4, "[0-9a-zA-Z :/.,+\\-\u{a0}]"), 0..3),
        ) {
            let f = fmt(FORMATS[which]);
            prop_assert!(f.is_compiled());
            let tz = chrono::FixedOffset::east_opt(offset / 60 * 60).expect("in range");
            let dt = chrono::DateTime::from_timestamp(secs, nanos).expect("in range").with_timezone(&tz);
            let mut text = dt.format_with_items(f.items.iter()).to_string();
            for (at, kind, with) in edits {
                let mut at = at.min(text.len());
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                match kind {
                    0 => text.insert_str(at, &with),
                    1 => { if at < text.len() { let c = text[at..].chars().next().expect("a char"); text.replace_range(at..at + c.len_utf8(), &with); } }
                    2 => { if at < text.len() { let c = text[at..].chars().next().expect("a char"); text.replace_range(at..at + c.len_utf8(), ""); } }
                    _ => text.truncate(at),
                }
            }
            let paris = Zone::parse("Europe/Paris").ok();
            prop_assert_eq!(f.parse(&text, None), f.slow(&text, None), "{} on {:?}", FORMATS[which], text);
            prop_assert_eq!(f.parse(&text, paris), f.slow(&text, paris), "{} on {:?}", FORMATS[which], text);
        }
    }
}
