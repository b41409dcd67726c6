//! Event timestamps: reading them from text (`--event-time FIELD` and
//! `--event-time auto`, through a [`Reader`] that knows `--tz` and
//! `--event-time-format`) and writing batch times in the output formats.
//!
//! A time is an `i64` count of nanoseconds since the Unix epoch in UTC
//! ([`Nanos`]) everywhere in the crate, which covers 1677-09-21 to 2262-04-11;
//! text outside that span does not parse. The formats read are RFC 3339 /
//! ISO 8601, Common Log Format, 10-digit epoch seconds, 13-digit epoch
//! milliseconds and syslog (`Oct 10 13:55:36`, local zone, current year).
//! RFC 3339 and CLF are parsed by hand at fixed byte positions because
//! `--event-time auto` tries them on every line.
//!
//! Choices the SPEC leaves open:
//! - A seconds field of `60` (a leap second) is accepted and reads as the
//!   first second of the next minute, since an `i64` count cannot name it.
//! - Month names (CLF, syslog) are matched in title case only (`Oct`), which
//!   keeps `--event-time auto` from reading ordinary words as dates.
//! - RFC 3339 fractions have 1 to 9 digits; epoch-seconds fractions may be
//!   longer (floats printed by other tools) and are truncated to nanoseconds.
//! - An RFC 3339 time may also have its numeric offset after one space
//!   (`2024-03-10 12:00:00 +0100`, as git and many loggers write), but only in
//!   the `±HHMM` or `±HH:MM` form.
//! - Syslog times use the current year even when that puts them in the
//!   future (a December log replayed in January), exactly as the SPEC says.
//! - With `--tz`, every time written without an offset (RFC 3339, CLF,
//!   syslog) is wall-clock time in that zone: a reading the clock shows
//!   twice is the earlier instant, one it skips is read with the offset
//!   before the jump ([`Zone::to_utc`]).
//! - `--event-time auto` takes the first formatted time in the line (RFC
//!   3339, CLF, syslog); only a line with none falls back to the first epoch
//!   number standing alone: 10 or 13 digits not touching a letter, a digit,
//!   `.`, `/` or `_` (so not `/img/1710000000.png`, `user_1710072000`, a
//!   version `1.1710072000`), the 10-digit form with its fraction.
//! - Times are written truncated (towards the past), never rounded, so a
//!   batch time never prints as a later instant than it is.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{Datelike, Local, LocalResult, NaiveDate, Offset, TimeZone};

use crate::civil::{civil_from_days, days_from_civil, days_in_month};
use crate::zone::Zone;

/// Nanoseconds since 1970-01-01T00:00:00Z.
pub type Nanos = i64;

const NANOS_PER_SEC: i64 = 1_000_000_000;
const NANOS_PER_MS: i64 = 1_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// How batch times are written (`--time-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeFormat {
    /// `2026-11-24T01:02:04Z`, in UTC.
    Rfc3339,
    /// Seconds since the epoch: `1764000000`.
    Epoch,
    /// Milliseconds since the epoch: `1764000000123`.
    EpochMs,
}

/// A wall-clock reading as written in the text, before its zone is applied.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: i64,
}

impl Civil {
    fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && self.hour < 24
            && self.minute < 60
            && self.second <= 60
    }

    /// The instant this reading names at `offset_secs` east of UTC.
    fn to_nanos(&self, offset_secs: i64) -> Option<Nanos> {
        if !self.is_valid() {
            return None;
        }
        let secs = days_from_civil(self.year, self.month, self.day) * SECS_PER_DAY
            + i64::from(self.hour) * 3_600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - offset_secs;
        // In i128 because the last second before i64::MIN + 1s overflows
        // before its fraction brings it back into range.
        let nanos = i128::from(secs) * i128::from(NANOS_PER_SEC) + i128::from(self.nanos);
        Nanos::try_from(nanos).ok()
    }

    /// The instant this reading names on `zone`'s wall clock (`None`: UTC).
    fn in_zone(&self, zone: Option<Zone>) -> Option<Nanos> {
        let Some(z) = zone else {
            return self.to_nanos(0);
        };
        if !self.is_valid() {
            return None;
        }
        let wall = days_from_civil(self.year, self.month, self.day) * SECS_PER_DAY
            + i64::from(self.hour) * 3_600
            + i64::from(self.minute) * 60
            + i64::from(self.second);
        let offset = wall - z.to_utc(wall);
        self.to_nanos(offset)
    }
}

// ---------------------------------------------------------------------------
// Byte-level helpers. Every access goes through `get`, so a candidate cut
// short by the end of the line simply fails to match.

#[inline]
fn digit(b: &[u8], i: usize) -> Option<u32> {
    let c = *b.get(i)?;
    c.is_ascii_digit().then(|| u32::from(c - b'0'))
}

#[inline]
fn num2(b: &[u8], i: usize) -> Option<u32> {
    Some(digit(b, i)? * 10 + digit(b, i + 1)?)
}

#[inline]
fn num4(b: &[u8], i: usize) -> Option<u32> {
    Some(num2(b, i)? * 100 + num2(b, i + 2)?)
}

#[inline]
fn byte_is(b: &[u8], i: usize, c: u8) -> bool {
    b.get(i) == Some(&c)
}

#[inline]
fn is_digit_at(b: &[u8], i: usize) -> bool {
    b.get(i).is_some_and(u8::is_ascii_digit)
}

fn month_at(b: &[u8], i: usize) -> Option<u32> {
    let m = match b.get(i..i + 3)? {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    Some(m)
}

/// `HH:MM:SS` at `i`.
fn hms_at(b: &[u8], i: usize) -> Option<(u32, u32, u32)> {
    if !byte_is(b, i + 2, b':') || !byte_is(b, i + 5, b':') {
        return None;
    }
    Some((num2(b, i)?, num2(b, i + 3)?, num2(b, i + 6)?))
}

/// An optional fraction of a second at `i` (`.5`, `,123`), with at most
/// `max_digits` digits; digits past 9 are read but ignored. A separator not
/// followed by a digit is not a fraction.
fn fraction_at(b: &[u8], i: usize, comma: bool, max_digits: usize) -> Option<(i64, usize)> {
    let sep_ok = byte_is(b, i, b'.') || (comma && byte_is(b, i, b','));
    if !sep_ok || !is_digit_at(b, i + 1) {
        return Some((0, i));
    }
    let mut j = i + 1;
    let mut value: i64 = 0;
    let mut scale = NANOS_PER_SEC;
    while let Some(d) = digit(b, j) {
        if j - i > max_digits {
            return None;
        }
        if scale > 1 {
            scale /= 10;
            value += i64::from(d) * scale;
        }
        j += 1;
    }
    Some((value, j))
}

/// A numeric UTC offset `±HH:MM`, `±HHMM` or (if `allow_hours_only`) `±HH`
/// at `i`, as seconds east of UTC and the end position.
fn numeric_offset_at(b: &[u8], i: usize, allow_hours_only: bool) -> Option<(i64, usize)> {
    let sign = match b.get(i)? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours = num2(b, i + 1)?;
    let (minutes, end) = if byte_is(b, i + 3, b':') {
        (num2(b, i + 4)?, i + 6)
    } else if let Some(m) = num2(b, i + 3) {
        (m, i + 5)
    } else if allow_hours_only {
        (0, i + 3)
    } else {
        return None;
    };
    if hours >= 24 || minutes >= 60 {
        return None;
    }
    Some((sign * i64::from(hours * 3_600 + minutes * 60), end))
}

// ---------------------------------------------------------------------------
// Prefix parsers: each reads one format starting at `start` and returns the
// time and the position just past it; what follows is the caller's business.

/// `YYYY-MM-DD[T ]HH:MM:SS[.frac][zone]`; without an offset, on `zone`'s
/// wall clock (`None`: UTC).
fn rfc3339_at(b: &[u8], start: usize, zone: Option<Zone>) -> Option<(Nanos, usize)> {
    let p = start;
    if !byte_is(b, p + 4, b'-') || !byte_is(b, p + 7, b'-') {
        return None;
    }
    let year = i64::from(num4(b, p)?);
    let month = num2(b, p + 5)?;
    let day = num2(b, p + 8)?;
    if !matches!(b.get(p + 10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (hour, minute, second) = hms_at(b, p + 11)?;
    let (nanos, mut i) = fraction_at(b, p + 19, true, 9)?;
    let mut offset = None;
    match b.get(i) {
        Some(b'Z' | b'z') => {
            offset = Some(0);
            i += 1;
        }
        Some(b'+' | b'-') => {
            // A sign that does not start a valid offset is not part of the
            // time (`... 12:00:00-garbage`); the caller judges what follows.
            if let Some((o, end)) = numeric_offset_at(b, i, true) {
                offset = Some(o);
                i = end;
            }
        }
        Some(b' ') => {
            if let Some((o, end)) = numeric_offset_at(b, i + 1, false) {
                offset = Some(o);
                i = end;
            }
        }
        _ => {}
    }
    let civil = Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
    };
    let t = match offset {
        Some(o) => civil.to_nanos(o)?,
        None => civil.in_zone(zone)?,
    };
    Some((t, i))
}

/// `DD/Mon/YYYY:HH:MM:SS[.frac][ ±HHMM]` (Common Log Format); without an
/// offset, on `zone`'s wall clock (`None`: UTC).
fn clf_at(b: &[u8], start: usize, zone: Option<Zone>) -> Option<(Nanos, usize)> {
    let p = start;
    if !byte_is(b, p + 2, b'/') || !byte_is(b, p + 6, b'/') || !byte_is(b, p + 11, b':') {
        return None;
    }
    let day = num2(b, p)?;
    let month = month_at(b, p + 3)?;
    let year = i64::from(num4(b, p + 7)?);
    let (hour, minute, second) = hms_at(b, p + 12)?;
    let (nanos, mut i) = fraction_at(b, p + 20, false, 9)?;
    let mut offset = None;
    if byte_is(b, i, b' ')
        && let Some((o, end)) = numeric_offset_at(b, i + 1, false)
    {
        offset = Some(o);
        i = end;
    }
    let civil = Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
    };
    let t = match offset {
        Some(o) => civil.to_nanos(o)?,
        None => civil.in_zone(zone)?,
    };
    Some((t, i))
}

/// A CLF time at `start`: the usual shape read at fixed positions, any
/// other by [`clf_at`].
#[inline]
fn clf(b: &[u8], start: usize, zone: Option<Zone>) -> Option<(Nanos, usize)> {
    clf_common_at(b, start).or_else(|| clf_at(b, start, zone))
}

/// The usual Common Log Format time, `DD/Mon/YYYY:HH:MM:SS ±HHMM` with no
/// fraction, read at fixed positions: what [`clf_at`] reads there, or `None`
/// when the text has any other shape or a field is out of range, and then
/// [`clf_at`] decides. Access logs carry this time on every line, and
/// consecutive lines share their date, so the date's day count comes from
/// [`clf_days`]'s one-entry cache.
#[inline(always)]
fn clf_common_at(b: &[u8], p: usize) -> Option<(Nanos, usize)> {
    let s: &[u8; 26] = b.get(p..p + 26)?.try_into().ok()?;
    if s[2] != b'/' || s[6] != b'/' || s[11] != b':' || s[14] != b':' || s[17] != b':' {
        return None;
    }
    if s[20] != b' ' {
        return None;
    }
    let sign = match s[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let two = |i: usize| -> Option<i64> {
        let (hi, lo) = (s[i].wrapping_sub(b'0'), s[i + 1].wrapping_sub(b'0'));
        (hi < 10 && lo < 10).then(|| i64::from(hi * 10 + lo))
    };
    let (hour, minute, second) = (two(12)?, two(15)?, two(18)?);
    let (off_h, off_m) = (two(22)?, two(24)?);
    if hour >= 24 || minute >= 60 || second > 60 || off_h >= 24 || off_m >= 60 {
        return None;
    }
    let date: &[u8; 11] = s[..11].try_into().ok()?;
    let secs = clf_days(date)? * SECS_PER_DAY + hour * 3_600 + minute * 60 + second
        - sign * (off_h * 3_600 + off_m * 60);
    // Out of the i64 range of nanoseconds: clf_at says so too.
    Some((secs.checked_mul(NANOS_PER_SEC)?, p + 26))
}

thread_local! {
    /// The last CLF date read (`10/Mar/2024`) and its days since the epoch.
    /// The key starts zeroed, which no date matches.
    static CLF_DATE: Cell<([u8; 11], i64)> = const { Cell::new(([0; 11], 0)) };
}

/// Days since the epoch of a CLF date `DD/Mon/YYYY` (its separators
/// already checked); `None` when it is no date (`31/Feb`, `10/mar`).
#[inline]
fn clf_days(date: &[u8; 11]) -> Option<i64> {
    if let Ok((key, days)) = CLF_DATE.try_with(Cell::get)
        && key == *date
    {
        return Some(days);
    }
    let day = num2(date, 0)?;
    let month = month_at(date, 3)?;
    let year = i64::from(num4(date, 7)?);
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // Only a valid date is kept; a thread shutting down just misses.
    let _ = CLF_DATE.try_with(|c| c.set((*date, days)));
    Some(days)
}

/// Exactly 10 digits of epoch seconds at `start`, with an optional fraction.
fn epoch_secs_at(b: &[u8], start: usize) -> Option<(Nanos, usize)> {
    let mut secs: i64 = 0;
    for i in start..start + 10 {
        secs = secs * 10 + i64::from(digit(b, i)?);
    }
    let (frac, end) = fraction_at(b, start + 10, false, usize::MAX)?;
    Some((secs.checked_mul(NANOS_PER_SEC)?.checked_add(frac)?, end))
}

/// Exactly 13 digits of epoch milliseconds at `start`.
fn epoch_ms_at(b: &[u8], start: usize) -> Option<(Nanos, usize)> {
    let mut ms: i64 = 0;
    for i in start..start + 13 {
        ms = ms * 10 + i64::from(digit(b, i)?);
    }
    Some((ms.checked_mul(NANOS_PER_MS)?, start + 13))
}

/// `Mon DD HH:MM:SS[.frac]` in the current year, on `zone`'s wall clock
/// (`None`: the local zone). The day may be two digits, a space and one
/// digit (`Oct  1`), or one digit (`Oct 1`).
fn syslog_at(b: &[u8], start: usize, zone: Option<Zone>) -> Option<(Nanos, usize)> {
    let p = start;
    let month = month_at(b, p)?;
    if !byte_is(b, p + 3, b' ') {
        return None;
    }
    let (day, after_day) = if byte_is(b, p + 4, b' ') {
        (digit(b, p + 5)?, p + 6)
    } else if let Some(d) = num2(b, p + 4) {
        (d, p + 6)
    } else {
        (digit(b, p + 4)?, p + 5)
    };
    if !byte_is(b, after_day, b' ') {
        return None;
    }
    let (hour, minute, second) = hms_at(b, after_day + 1)?;
    let (nanos, end) = fraction_at(b, after_day + 9, false, 9)?;
    let civil = Civil {
        year: match zone {
            Some(z) => current_zone_year(z),
            None => current_local_year(),
        },
        month,
        day,
        hour,
        minute,
        second,
        nanos,
    };
    if !civil.is_valid() {
        return None;
    }
    if zone.is_some() {
        return Some((civil.in_zone(zone)?, end));
    }
    let offset = local_offset_for(&civil)?;
    Some((civil.to_nanos(offset)?, end))
}

// ---------------------------------------------------------------------------
// Local time (syslog).

thread_local! {
    /// The local year and the Unix second until which it may be reused: the
    /// zone lookup is far dearer than a clock read, and syslog lines come by
    /// the million.
    static LOCAL_YEAR: Cell<(i64, i64)> = const { Cell::new((0, i64::MIN)) };
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

thread_local! {
    /// As [`LOCAL_YEAR`], for the `--tz` zone: (zone, year, valid until).
    static ZONE_YEAR: Cell<Option<(Zone, i64, i64)>> = const { Cell::new(None) };
}

/// The current year on `zone`'s wall clock.
fn current_zone_year(zone: Zone) -> i64 {
    let now = now_secs();
    ZONE_YEAR.with(|cell| {
        if let Some((z, year, valid_until)) = cell.get()
            && z == zone
            && now < valid_until
        {
            return year;
        }
        let year = zone.year_at(now);
        cell.set(Some((zone, year, now.saturating_add(1))));
        year
    })
}

fn current_local_year() -> i64 {
    let now = now_secs();
    LOCAL_YEAR.with(|cell| {
        let (year, valid_until) = cell.get();
        if now < valid_until {
            return year;
        }
        let year = i64::from(Local::now().year());
        cell.set((year, now.saturating_add(1)));
        year
    })
}

/// The local zone's offset (seconds east of UTC) for a local wall-clock
/// reading. A reading the clock passes twice takes the earlier instant; one
/// it skips (a DST gap) takes the offset in force around it.
fn local_offset_for(c: &Civil) -> Option<i64> {
    let year = i32::try_from(c.year).ok()?;
    let date = NaiveDate::from_ymd_opt(year, c.month, c.day)?;
    // chrono has no second 60; the offset of second 59 is the same.
    let naive = date.and_hms_opt(c.hour, c.minute, c.second.min(59))?;
    let offset = match Local.offset_from_local_datetime(&naive) {
        LocalResult::Single(o) => o.fix(),
        LocalResult::Ambiguous(a, b) => {
            // The earlier instant is the one further east of UTC.
            let (a, b) = (a.fix(), b.fix());
            if a.local_minus_utc() >= b.local_minus_utc() {
                a
            } else {
                b
            }
        }
        LocalResult::None => Local.offset_from_utc_datetime(&naive).fix(),
    };
    Some(i64::from(offset.local_minus_utc()))
}

// ---------------------------------------------------------------------------
// Public parsing.

/// Strips whitespace, then one pair of enclosing `[ ]`, `" "` or `' '`.
fn strip_enclosing(s: &str) -> &str {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() >= 2 {
        let (first, last) = (b[0], b[b.len() - 1]);
        if (first == b'[' && last == b']') || ((first == b'"' || first == b'\'') && first == last) {
            // Both ends are ASCII, so these are character boundaries.
            return s[1..s.len() - 1].trim();
        }
    }
    s
}

/// Reads a whole field value as a timestamp in any of the supported formats
/// (see the module docs). Surrounding whitespace and one pair of enclosing
/// brackets or quotes are ignored; anything else around the time is not.
pub fn parse_timestamp(s: &str) -> Option<Nanos> {
    parse_timestamp_in(s, None)
}

/// [`parse_timestamp`], with times written without an offset read on
/// `zone`'s wall clock (`None`: RFC 3339 and CLF in UTC, syslog local).
pub fn parse_timestamp_in(s: &str, zone: Option<Zone>) -> Option<Nanos> {
    let b = strip_enclosing(s).as_bytes();
    let first = *b.first()?;
    let parsed = if first.is_ascii_digit() {
        if byte_is(b, 4, b'-') {
            rfc3339_at(b, 0, zone)
        } else if byte_is(b, 2, b'/') {
            clf(b, 0, zone)
        } else {
            let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
            match digits {
                10 => epoch_secs_at(b, 0),
                13 => epoch_ms_at(b, 0),
                _ => None,
            }
        }
    } else {
        syslog_at(b, 0, zone)
    };
    match parsed {
        Some((t, end)) if end == b.len() => Some(t),
        _ => None,
    }
}

const NOT_KEY: u8 = 0;
/// `-` or `/`: the digits before it may be a year or a day.
const SEPARATOR: u8 = 1;
const MONTH_INITIAL: u8 = 2;

/// The bytes that mark a formatted time: the `-` after an RFC 3339 year,
/// the `/` after a CLF day, the initial of a syslog month. The scan stops
/// only at these, with one table load per byte, and looks back for the
/// digits: stopping at every run of digits (an access log's IP address has
/// four) cost more than reading the CLF time itself.
static KEY: [u8; 256] = {
    let mut table = [NOT_KEY; 256];
    table[b'-' as usize] = SEPARATOR;
    table[b'/' as usize] = SEPARATOR;
    let initials = b"JFMASOND";
    let mut i = 0;
    while i < initials.len() {
        table[initials[i] as usize] = MONTH_INITIAL;
        i += 1;
    }
    table
};

/// Whether a byte may touch an epoch number standing alone: anything but
/// a letter, a digit, `.`, `/` or `_`.
#[inline]
fn loose(c: u8) -> bool {
    !(c.is_ascii_alphanumeric() || c == b'.' || c == b'/' || c == b'_')
}

/// The formatted time (RFC 3339 or CLF) that starts with the digit run
/// `b[start..end]` (which is not preceded by a digit).
#[inline]
fn formatted_at_digits(b: &[u8], start: usize, end: usize, zone: Option<Zone>) -> Option<Nanos> {
    let (t, stop) = match end - start {
        4 if byte_is(b, end, b'-') => rfc3339_at(b, start, zone)?,
        2 if byte_is(b, end, b'/') => clf(b, start, zone)?,
        _ => return None,
    };
    // no timestamp ends in the middle of a run of digits
    if is_digit_at(b, stop) {
        return None;
    }
    Some(t)
}

/// The epoch number (10 digits of seconds with an optional fraction, or 13
/// of milliseconds) that is the digit run `b[start..end]`, when it stands
/// alone.
fn epoch_at_digits(b: &[u8], start: usize, end: usize) -> Option<Nanos> {
    if start > 0 && !loose(b[start - 1]) {
        return None;
    }
    let (t, stop) = match end - start {
        10 => epoch_secs_at(b, start)?,
        13 => epoch_ms_at(b, start)?,
        _ => return None,
    };
    match b.get(stop) {
        Some(&c) if !loose(c) => None,
        _ => Some(t),
    }
}

/// `--event-time auto`: the first formatted timestamp (RFC 3339, CLF,
/// syslog) in a raw line, scanning left to right; only when there is none,
/// the first epoch number standing alone (see the module docs). No
/// timestamp may start or end in the middle of a run of digits.
pub fn find_timestamp(line: &str) -> Option<Nanos> {
    find_timestamp_in(line, None)
}

/// [`find_timestamp`], with times written without an offset read on
/// `zone`'s wall clock.
///
/// Two passes: the formatted times, then (on a line with none) the epoch
/// numbers. The first pass stops only at [`KEY`] bytes, so a line with a
/// formatted time, the usual case, is never looked at digit by digit; a
/// line without one is read twice, the second time up to its first epoch
/// number.
pub fn find_timestamp_in(line: &str, zone: Option<Zone>) -> Option<Nanos> {
    let b = line.as_bytes();
    find_formatted(b, zone).or_else(|| find_epoch(b))
}

/// The first formatted time in `b`. Each candidate is tried at its key
/// byte, and keys come in the order of the times they would start: the
/// digits before a `-` or `/` cannot hold an earlier key.
fn find_formatted(b: &[u8], zone: Option<Zone>) -> Option<Nanos> {
    let mut i = 0;
    loop {
        i += b
            .get(i..)?
            .iter()
            .position(|&c| KEY[usize::from(c)] != NOT_KEY)?;
        let found = match KEY[usize::from(b[i])] {
            // the digit run before the key: formatted_at_digits takes a
            // year before a `-` and a day before a `/`
            SEPARATOR => match digits_before(b, i) {
                n @ (2 | 4) => formatted_at_digits(b, i - n, i, zone),
                _ => None,
            },
            _ => {
                if (i == 0 || !b[i - 1].is_ascii_alphanumeric())
                    && let Some((t, end)) = syslog_at(b, i, zone)
                    && !is_digit_at(b, end)
                {
                    Some(t)
                } else {
                    None
                }
            }
        };
        if found.is_some() {
            return found;
        }
        i += 1;
    }
}

/// The length of the run of digits that ends just before `i`, counted up
/// to 5 (enough to tell a year or a day from anything else).
#[inline]
fn digits_before(b: &[u8], i: usize) -> usize {
    b[..i]
        .iter()
        .rev()
        .take(5)
        .take_while(|c| c.is_ascii_digit())
        .count()
}

/// The first epoch number standing alone in `b`.
fn find_epoch(b: &[u8]) -> Option<Nanos> {
    let mut i = 0;
    loop {
        i += b.get(i..)?.iter().position(u8::is_ascii_digit)?;
        // a number starts only at the first digit of a run
        let start = i;
        i += b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if let 10 | 13 = i - start
            && let Some(t) = epoch_at_digits(b, start, i)
        {
            return Some(t);
        }
    }
}

// ---------------------------------------------------------------------------
// Formatting.

#[inline]
fn push2(out: &mut String, v: u32) {
    out.push(char::from(b'0' + (v / 10 % 10) as u8));
    out.push(char::from(b'0' + (v % 10) as u8));
}

fn push_year(out: &mut String, y: i64) {
    if (0..=9_999).contains(&y) {
        push2(out, (y / 100) as u32);
        push2(out, (y % 100) as u32);
    } else {
        // Unreachable for an i64 of nanoseconds, kept so no input can panic.
        out.push_str(itoa::Buffer::new().format(y));
    }
}

fn push_padded(out: &mut String, v: i64, width: usize) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(v);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(digits);
}

/// `YYYY-MM-DD?HH:MM:SS` for a count of seconds since the epoch on some
/// clock (UTC, or local time already shifted by its offset).
fn push_civil(out: &mut String, secs: i64, separator: char) {
    let (y, m, d) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
    let sod = secs.rem_euclid(SECS_PER_DAY) as u32;
    push_year(out, y);
    out.push('-');
    push2(out, m);
    out.push('-');
    push2(out, d);
    out.push(separator);
    push2(out, sod / 3_600);
    out.push(':');
    push2(out, sod / 60 % 60);
    out.push(':');
    push2(out, sod % 60);
}

/// Writes a signed count of `unit`s with `decimals` decimal places, exactly
/// (`-1500` ms as seconds is `-1.500`).
fn push_decimal(out: &mut String, value: i64, per_unit: i64, decimals: usize) {
    if value < 0 {
        out.push('-');
    }
    let magnitude = value.unsigned_abs();
    let per_unit = per_unit.unsigned_abs();
    out.push_str(itoa::Buffer::new().format(magnitude / per_unit));
    out.push('.');
    let frac = i64::try_from(magnitude % per_unit).unwrap_or(0);
    push_padded(out, frac, decimals);
}

/// Appends `t` in `fmt` to `out`. With `millis`, RFC 3339 gets `.mmm` and
/// epoch seconds get three decimals; the time is truncated to what is shown.
pub fn write_time(out: &mut String, t: Nanos, fmt: TimeFormat, millis: bool) {
    match fmt {
        TimeFormat::Rfc3339 => {
            push_civil(out, t.div_euclid(NANOS_PER_SEC), 'T');
            if millis {
                out.push('.');
                push_padded(out, t.rem_euclid(NANOS_PER_SEC) / NANOS_PER_MS, 3);
            }
            out.push('Z');
        }
        TimeFormat::Epoch if millis => {
            push_decimal(out, t.div_euclid(NANOS_PER_MS), 1_000, 3);
        }
        TimeFormat::Epoch => {
            out.push_str(itoa::Buffer::new().format(t.div_euclid(NANOS_PER_SEC)));
        }
        TimeFormat::EpochMs => {
            out.push_str(itoa::Buffer::new().format(t.div_euclid(NANOS_PER_MS)));
        }
    }
}

/// [`write_time`] into a new string.
pub fn format_time(t: Nanos, fmt: TimeFormat, millis: bool) -> String {
    let mut out = String::with_capacity(24);
    write_time(&mut out, t, fmt, millis);
    out
}

/// [`write_time`] on `zone`'s wall clock: RFC 3339 with the zone's offset
/// at that instant (`2024-03-31T03:00:00+02:00`); the epoch forms, and UTC
/// itself, as [`write_time`] writes them.
pub fn write_time_in(
    out: &mut String,
    t: Nanos,
    fmt: TimeFormat,
    millis: bool,
    zone: Option<Zone>,
) {
    match (fmt, zone) {
        (TimeFormat::Rfc3339, Some(z)) if !z.is_utc() => {
            let secs = t.div_euclid(NANOS_PER_SEC);
            let offset = z.offset_at(secs);
            push_civil(out, secs + i64::from(offset), 'T');
            if millis {
                out.push('.');
                push_padded(out, t.rem_euclid(NANOS_PER_SEC) / NANOS_PER_MS, 3);
            }
            crate::zone::push_offset(out, offset);
        }
        _ => write_time(out, t, fmt, millis),
    }
}

/// [`write_time_in`] into a new string.
pub fn format_time_in(t: Nanos, fmt: TimeFormat, millis: bool, zone: Option<Zone>) -> String {
    let mut out = String::with_capacity(30);
    write_time_in(&mut out, t, fmt, millis, zone);
    out
}

/// Python's `str(datetime)` for a local wall-clock reading given as seconds
/// since the epoch on the local clock: microseconds only when there are some.
fn push_python_datetime(out: &mut String, local_secs: i64, micros: u32) {
    push_civil(out, local_secs, ' ');
    if micros != 0 {
        out.push('.');
        push_padded(out, i64::from(micros), 6);
    }
}

/// Appends the `Time: ` value of PySpark's `pprint()`: `t` in the local zone
/// (chrono's `Local`, which follows `TZ`) as `YYYY-MM-DD HH:MM:SS`, plus
/// `.ffffff` when it is not a whole second. Nanoseconds are truncated to
/// microseconds, as a Python `datetime` holds no finer.
pub fn write_spark_time(out: &mut String, t: Nanos) {
    write_spark_time_in(out, t, None);
}

/// [`write_spark_time`] on `zone`'s wall clock (`None`: the local zone).
pub fn write_spark_time_in(out: &mut String, t: Nanos, zone: Option<Zone>) {
    let secs = t.div_euclid(NANOS_PER_SEC);
    let micros = (t.rem_euclid(NANOS_PER_SEC) / 1_000) as u32;
    if let Some(z) = zone {
        push_python_datetime(out, secs + i64::from(z.offset_at(secs)), micros);
        return;
    }
    match Local.timestamp_opt(secs, 0) {
        LocalResult::Single(dt) => {
            let offset = i64::from(dt.offset().fix().local_minus_utc());
            push_python_datetime(out, secs + offset, micros);
        }
        // chrono cannot place this instant; the raw number is still true.
        _ => out.push_str(itoa::Buffer::new().format(t)),
    }
}

/// [`write_spark_time`] into a new string.
pub fn format_spark_time(t: Nanos) -> String {
    let mut out = String::with_capacity(26);
    write_spark_time(&mut out, t);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::civil::is_leap;
    use chrono::{NaiveDateTime, Timelike};
    use proptest::prelude::*;

    const S: i64 = NANOS_PER_SEC;
    const MS: i64 = NANOS_PER_MS;
    /// 2024-03-10T12:00:00Z.
    const T0: i64 = 1_710_072_000 * S;

    fn utc(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Nanos {
        (days_from_civil(y, mo, d) * SECS_PER_DAY + i64::from(h * 3_600 + mi * 60 + s)) * S
    }

    /// What chrono makes of a local wall-clock reading, for syslog checks.
    fn local(mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<Nanos> {
        let year = Local::now().year();
        let naive = NaiveDate::from_ymd_opt(year, mo, d)?.and_hms_opt(h, mi, s)?;
        let dt = Local.from_local_datetime(&naive).earliest()?;
        dt.timestamp_nanos_opt()
    }

    #[test]
    fn calendar_round_trips_and_matches_known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(1600, 2, 29), -135_081);
        for days in -200_000..200_000 {
            let (y, m, d) = civil_from_days(days);
            assert!(d >= 1 && d <= days_in_month(y, m), "{days}");
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn leap_years() {
        assert!(is_leap(2024) && is_leap(2000) && is_leap(1600));
        assert!(!is_leap(2023) && !is_leap(2100) && !is_leap(1900));
    }

    #[test]
    fn rfc3339_forms() {
        let p = parse_timestamp;
        assert_eq!(p("2024-03-10T12:00:00Z"), Some(T0));
        assert_eq!(p("2024-03-10t12:00:00z"), Some(T0));
        assert_eq!(p("2024-03-10 12:00:00"), Some(T0));
        assert_eq!(p("2024-03-10T12:00:00"), Some(T0));
        assert_eq!(p("2024-03-10T13:00:00+01:00"), Some(T0));
        assert_eq!(p("2024-03-10T13:00:00+0100"), Some(T0));
        assert_eq!(p("2024-03-10T13:00:00+01"), Some(T0));
        assert_eq!(p("2024-03-10T05:00:00-0700"), Some(T0));
        assert_eq!(p("2024-03-10T17:30:00+05:30"), Some(T0));
        assert_eq!(p("2024-03-10T12:00:00-00:00"), Some(T0));
        assert_eq!(p("2024-03-10 13:00:00 +0100"), Some(T0));
        assert_eq!(p("2024-03-10 13:00:00 +01:00"), Some(T0));
        assert_eq!(p("2026-11-24T01:02:03Z"), Some(utc(2026, 11, 24, 1, 2, 3)));
        assert_eq!(p("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(p("1969-12-31T23:59:59Z"), Some(-S));
    }

    #[test]
    fn rfc3339_fractions() {
        let p = parse_timestamp;
        assert_eq!(p("2024-03-10T12:00:00.5Z"), Some(T0 + 500 * MS));
        assert_eq!(p("2024-03-10 12:00:00,123"), Some(T0 + 123 * MS));
        assert_eq!(p("2024-03-10T12:00:00.123456Z"), Some(T0 + 123_456_000));
        assert_eq!(p("2024-03-10T12:00:00.123456789Z"), Some(T0 + 123_456_789));
        assert_eq!(p("2024-03-10T12:00:00.000000001+00:00"), Some(T0 + 1));
        assert_eq!(p("2024-03-10T13:00:00.25+01:00"), Some(T0 + 250 * MS));
        assert_eq!(p("2024-03-10T12:00:00.1234567890Z"), None);
        assert_eq!(p("2024-03-10T12:00:00.Z"), None);
        assert_eq!(p("2024-03-10T12:00:00."), None);
        assert_eq!(p("2024-03-10T12:00:00,5Z"), Some(T0 + 500 * MS));
    }

    #[test]
    fn rfc3339_ranges() {
        let p = parse_timestamp;
        assert_eq!(p("2024-02-29T00:00:00Z"), Some(utc(2024, 2, 29, 0, 0, 0)));
        assert_eq!(p("2000-02-29T00:00:00Z"), Some(utc(2000, 2, 29, 0, 0, 0)));
        assert_eq!(p("2023-02-29T00:00:00Z"), None);
        assert_eq!(p("2100-02-29T00:00:00Z"), None);
        assert_eq!(p("2024-13-01T00:00:00Z"), None);
        assert_eq!(p("2024-00-10T00:00:00Z"), None);
        assert_eq!(p("2024-04-31T00:00:00Z"), None);
        assert_eq!(p("2024-04-00T00:00:00Z"), None);
        assert_eq!(
            p("2024-12-31T23:59:59Z"),
            Some(utc(2024, 12, 31, 23, 59, 59))
        );
        assert_eq!(p("2024-03-10T24:00:00Z"), None);
        assert_eq!(p("2024-03-10T12:60:00Z"), None);
        assert_eq!(p("2024-03-10T12:00:61Z"), None);
        // A leap second reads as the first second of the next minute.
        assert_eq!(p("2016-12-31T23:59:60Z"), p("2017-01-01T00:00:00Z"));
        assert_eq!(p("2024-03-10T12:00:00+24:00"), None);
        assert_eq!(p("2024-03-10T12:00:00+01:60"), None);
        // Outside what an i64 of nanoseconds holds.
        assert_eq!(p("1677-09-21T00:12:43.145224192Z"), Some(i64::MIN));
        assert_eq!(p("2262-04-11T23:47:16.854775807Z"), Some(i64::MAX));
        assert_eq!(p("2262-04-11T23:47:16.854775808Z"), None);
        assert_eq!(p("1600-01-01T00:00:00Z"), None);
        assert_eq!(p("9999-12-31T23:59:59Z"), None);
        assert_eq!(p("0000-01-01T00:00:00Z"), None);
    }

    #[test]
    fn rfc3339_near_misses() {
        for bad in [
            "2024-3-10T12:00:00Z",
            "2024-03-10T12:00Z",
            "2024-03-10",
            "2024-03-10X12:00:00Z",
            "2024/03/10 12:00:00",
            "2024-03-10T12:00:00ZZ",
            "2024-03-10T12:00:00 Z",
            "2024-03-10T12:00:00+1",
            "2024-03-10T12:00:00+01:0",
            "2024-03-10T12:00:00 +01",
            "2024-03-10T12:00:00 UTC",
            "2024-03-10T12:00:00x",
            "2024-03-10T1a:00:00Z",
            "20240310T120000Z",
            "12024-03-10T12:00:00Z",
            "2024-03-10  12:00:00",
            "2024-03-10T12:00:00\u{e9}",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn common_log_format() {
        let p = parse_timestamp;
        let t = utc(2000, 10, 10, 20, 55, 36);
        assert_eq!(p("10/Oct/2000:13:55:36 -0700"), Some(t));
        assert_eq!(p("10/Oct/2000:20:55:36 +0000"), Some(t));
        assert_eq!(p("10/Oct/2000:20:55:36"), Some(t));
        assert_eq!(p("10/Oct/2000:22:55:36 +02:00"), Some(t));
        assert_eq!(p("[10/Oct/2000:13:55:36 -0700]"), Some(t));
        assert_eq!(p("10/Oct/2000:20:55:36.250"), Some(t + 250 * MS));
        assert_eq!(
            p("29/Feb/2024:00:00:00 +0000"),
            Some(utc(2024, 2, 29, 0, 0, 0))
        );
        for bad in [
            "99/Foo/2024:00:00:00 +0000",
            "10/Foo/2000:13:55:36 -0700",
            "10/oct/2000:13:55:36 -0700",
            "10/OCT/2000:13:55:36 -0700",
            "32/Oct/2000:13:55:36 -0700",
            "00/Oct/2000:13:55:36 -0700",
            "29/Feb/2023:00:00:00 +0000",
            "10/Oct/2000:24:00:00 +0000",
            "10/Oct/2000:13:55:36 -07",
            "10/Oct/2000:13:55:36 x",
            "10/Oct/2000:13:55:36-0700",
            "10/Oct/2000:13:55",
            "1/Oct/2000:13:55:36 -0700",
            "10/Oct/00:13:55:36 -0700",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    #[test]
    fn epoch_numbers() {
        let p = parse_timestamp;
        assert_eq!(p("1710072000"), Some(T0));
        assert_eq!(p("1710072000.5"), Some(T0 + 500 * MS));
        assert_eq!(p("1710072000.123"), Some(T0 + 123 * MS));
        assert_eq!(p("1710072000.123456789"), Some(T0 + 123_456_789));
        assert_eq!(p("1710072000.1234567891234"), Some(T0 + 123_456_789));
        assert_eq!(p("1710072000123"), Some(T0 + 123 * MS));
        assert_eq!(p("0000000001"), Some(S));
        assert_eq!(p("9999999999"), None, "past 2262");
        assert_eq!(p("9999999999999"), None, "past 2262");
        assert_eq!(p("9000000000000"), Some(9_000_000_000_000 * MS));
        for bad in [
            "171007200",
            "17100720000",
            "171007200012",
            "17100720001234",
            "1710072000.",
            "1710072000.x",
            "1710072000123.5",
            "1710072000s",
            "-1710072000",
            "+1710072000",
            "1710072000 1",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    #[test]
    fn syslog_in_local_time() {
        let p = parse_timestamp;
        assert_eq!(p("Oct 10 13:55:36"), local(10, 10, 13, 55, 36));
        assert_eq!(p("Oct  1 13:55:36"), local(10, 1, 13, 55, 36));
        assert_eq!(p("Oct 1 13:55:36"), local(10, 1, 13, 55, 36));
        assert_eq!(p("Jan 31 00:00:00"), local(1, 31, 0, 0, 0));
        assert_eq!(
            p("Mar 10 12:00:00.250"),
            local(3, 10, 12, 0, 0).map(|t| t + 250 * MS)
        );
        assert!(p("Oct 10 13:55:36").is_some());
        for bad in [
            "Oct 32 13:55:36",
            "Feb 30 00:00:00",
            "Oct 00 13:55:36",
            "Oct 10 25:55:36",
            "Oct 10 13:55",
            "Oct10 13:55:36",
            "oct 10 13:55:36",
            "Foo 10 13:55:36",
            "Oct 10 13:55:36 host",
            "Oct   1 13:55:36",
            "Oct 123 13:55:36",
            "October 10 13:55:36",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    #[test]
    fn syslog_uses_the_current_year() {
        let year = Local::now().year();
        let t = parse_timestamp("Jun 15 12:00:00").expect("a valid syslog time");
        let dt = Local.timestamp_nanos(t);
        assert_eq!(dt.year(), year);
        assert_eq!((dt.month(), dt.day(), dt.hour()), (6, 15, 12));
    }

    #[test]
    fn strips_enclosing_brackets_quotes_and_space() {
        let p = parse_timestamp;
        assert_eq!(p("  2024-03-10T12:00:00Z\n"), Some(T0));
        assert_eq!(p("\"2024-03-10T12:00:00Z\""), Some(T0));
        assert_eq!(p("'1710072000'"), Some(T0));
        assert_eq!(p("[ 1710072000 ]"), Some(T0));
        assert_eq!(p("\"2024-03-10T12:00:00Z'"), None);
        assert_eq!(p("[2024-03-10T12:00:00Z"), None);
        assert_eq!(p("[[2024-03-10T12:00:00Z]]"), None);
        assert_eq!(p(""), None);
        assert_eq!(p("\"\""), None);
        assert_eq!(p("[]"), None);
        assert_eq!(p("\""), None);
    }

    #[test]
    fn finds_the_documented_examples() {
        let f = find_timestamp;
        assert_eq!(
            f("127.0.0.1 - - [10/Mar/2024:12:00:00 +0000] \"GET / HTTP/1.1\" 200 512"),
            Some(T0)
        );
        assert_eq!(
            f("127.0.0.1 - - [10/Mar/2024:13:00:00 +0100] \"GET / HTTP/1.1\" 200 512"),
            Some(T0)
        );
        assert_eq!(
            f("2024-03-10 12:00:00,123 INFO started"),
            Some(T0 + 123 * MS)
        );
        assert_eq!(
            f("{\"ts\":\"2024-03-10T12:00:00.5Z\",\"x\":1}"),
            Some(T0 + 500 * MS)
        );
        assert_eq!(f("ts=1710072000 level=info"), Some(T0));
        assert_eq!(
            f("Mar 10 12:00:00 host sshd[1]: ok"),
            local(3, 10, 12, 0, 0)
        );
        assert_eq!(f("id=12 2024-03-10T12:00:00Z"), Some(T0));
    }

    #[test]
    fn finds_the_first_timestamp() {
        let f = find_timestamp;
        assert_eq!(f("2024-03-10T12:00:00Z then 1710075600"), Some(T0));
        assert_eq!(f("1710072000 then 1710075600"), Some(T0));
        assert_eq!(f("at 1710072000123 ms"), Some(T0 + 123 * MS));
        assert_eq!(f("t=1710072000.25,"), Some(T0 + 250 * MS));
        assert_eq!(f("<34>Mar 10 12:00:00 host su: x"), local(3, 10, 12, 0, 0));
        assert_eq!(f("- Mar  1 12:00:00 host"), local(3, 1, 12, 0, 0));
        assert_eq!(f("2024-03-10T12:00:00Z"), Some(T0));
        assert_eq!(f("x 2024-03-10T12:00:00"), Some(T0));
        assert_eq!(f("[2024-03-10 13:00:00 +0100] ok"), Some(T0));
        assert_eq!(f("2024-03-10T12:00:00+01x"), Some(T0 - 3_600 * S));
        assert_eq!(f("2024-03-10T12:00:00-x"), Some(T0));
        assert_eq!(f("2024-03-10T12:00:00.x"), Some(T0));
        assert_eq!(f("ünïcødé 2024-03-10T12:00:00Z ✓"), Some(T0));
        assert_eq!(f("v2024-03-10T12:00:00Z"), Some(T0));
        assert_eq!(f("(1710072000)"), Some(T0));
        assert_eq!(f("-1710072000"), Some(T0));
        assert_eq!(f("\"t\":1710072000}"), Some(T0));
    }

    #[test]
    fn auto_prefers_a_formatted_time_to_an_epoch_number() {
        let f = find_timestamp;
        // issue 14: an image name and a JSON id are not the line's time
        assert_eq!(
            f("GET /img/1710000000.png HTTP/1.1 200 2024-03-10T12:00:00Z"),
            Some(T0)
        );
        assert_eq!(
            f("{\"order_id\":1234567890,\"ts\":\"2024-03-10T12:00:00Z\"}"),
            Some(T0)
        );
        assert_eq!(f("1710075600 then 2024-03-10T12:00:00Z"), Some(T0));
        assert_eq!(
            f("id 1710075600 [10/Mar/2024:12:00:00 +0000] GET"),
            Some(T0)
        );
        assert_eq!(
            f("n=1710075600 Mar 10 12:00:00 host"),
            local(3, 10, 12, 0, 0)
        );
        // with no formatted time, the first epoch number standing alone
        assert_eq!(
            f("{\"order_id\":1234567890,\"ts\":1710072000}"),
            Some(1_234_567_890 * S)
        );
        assert_eq!(f("/img/1710075600.png at 1710072000"), Some(T0));
    }

    #[test]
    fn auto_epoch_numbers_must_stand_alone() {
        let f = find_timestamp;
        for glued in [
            "/img/1710072000.png",
            "/img/1710072000",
            "1710072000/x",
            "user_1710072000",
            "1710072000_x",
            "v1.1710072000",
            "1710072000.",
            "1710072000.png",
            "1710072000123.5",
            "x1710072000",
            "1710072000x",
            "1710072000.25s",
        ] {
            assert_eq!(f(glued), None, "{glued}");
        }
        for alone in [
            "1710072000",
            "ts=1710072000,",
            "[1710072000]",
            "-1710072000",
            "\"1710072000\"",
        ] {
            assert_eq!(f(alone), Some(T0), "{alone}");
        }
        assert_eq!(f("t=1710072000.25,"), Some(T0 + 250 * MS));
        assert_eq!(f("t=1710072000123 x"), Some(T0 + 123 * MS));
    }

    #[test]
    fn zone_reads_times_written_without_an_offset() {
        let paris = Zone::parse("Europe/Paris").ok();
        let kolkata = Zone::parse("Asia/Kolkata").ok();
        let p = |s, z| parse_timestamp_in(s, z);
        assert_eq!(p("2024-03-10T13:00:00", paris), Some(T0));
        assert_eq!(p("2024-03-10 13:00:00,000", paris), Some(T0));
        assert_eq!(p("2024-03-10T17:30:00", kolkata), Some(T0));
        assert_eq!(p("10/Mar/2024:13:00:00", paris), Some(T0));
        // an offset or a Z in the text wins over the zone
        assert_eq!(p("2024-03-10T12:00:00Z", paris), Some(T0));
        assert_eq!(p("10/Mar/2024:12:00:00 +0000", paris), Some(T0));
        assert_eq!(p("2024-03-10T14:00:00+02:00", paris), Some(T0));
        // epoch numbers are absolute
        assert_eq!(p("1710072000", paris), Some(T0));
        assert_eq!(find_timestamp_in("x 1710072000 y", paris), Some(T0));
        // summer time, and the hour the clock skips (read as before the jump)
        assert_eq!(p("2024-07-10T14:00:00", paris), Some(1_720_612_800 * S));
        assert_eq!(
            p("2024-03-31T02:30:00", paris),
            p("2024-03-31T01:30:00Z", None)
        );
        assert_eq!(
            p("2024-10-27T02:30:00", paris),
            p("2024-10-27T00:30:00Z", None)
        );
        // syslog in the zone, this year
        let year = Local::now().year();
        let t = p("Mar 10 13:00:00", paris).expect("a syslog time");
        let want = format!("{year}-03-10T12:00:00Z");
        assert_eq!(Some(t), parse_timestamp(&want));
        let fixed = Zone::parse("+02:00").ok();
        assert_eq!(p("2024-03-10T14:00:00", fixed), Some(T0));
    }

    #[test]
    fn formats_in_a_zone() {
        let paris = Zone::parse("Europe/Paris").ok();
        let f = |t, z| format_time_in(t, TimeFormat::Rfc3339, false, z);
        assert_eq!(f(T0, paris), "2024-03-10T13:00:00+01:00");
        assert_eq!(f(1_720_612_800 * S, paris), "2024-07-10T14:00:00+02:00");
        assert_eq!(
            f(T0, Zone::parse("Asia/Kolkata").ok()),
            "2024-03-10T17:30:00+05:30"
        );
        assert_eq!(f(T0, Zone::parse("UTC").ok()), "2024-03-10T12:00:00Z");
        assert_eq!(f(T0, None), "2024-03-10T12:00:00Z");
        assert_eq!(
            format_time_in(T0 + 5 * MS, TimeFormat::Rfc3339, true, paris),
            "2024-03-10T13:00:00.005+01:00"
        );
        assert_eq!(
            format_time_in(T0, TimeFormat::Epoch, false, paris),
            "1710072000"
        );
        let mut out = String::new();
        write_spark_time_in(&mut out, T0, paris);
        assert_eq!(out, "2024-03-10 13:00:00");
    }

    #[test]
    fn skips_things_that_are_not_timestamps() {
        let f = find_timestamp;
        assert_eq!(f(""), None);
        assert_eq!(f("no time here at all"), None);
        assert_eq!(f("id=12 port 8080 10.0.0.1"), None);
        assert_eq!(f("user1710072000"), None);
        assert_eq!(f("1710072000abc"), None);
        assert_eq!(f("1710072000.5s"), None);
        assert_eq!(f("17100720001"), None);
        assert_eq!(f("171007200"), None);
        assert_eq!(f("pi=3.1415926535"), None);
        assert_eq!(f("2024-13-01T00:00:00Z"), None);
        assert_eq!(f("12024-03-10T12:00:00Z"), None);
        assert_eq!(f("2024-03-10T12:00:001"), None);
        assert_eq!(f("99/Foo/2024:00:00:00"), None);
        assert_eq!(f("110/Mar/2024:12:00:00"), None);
        assert_eq!(f("XMar 10 12:00:00"), None);
        assert_eq!(f("Mar 10 12:00:001"), None);
        assert_eq!(f("March 10 12:00:00"), None);
        assert_eq!(f("JFMASOND 012345678"), None);
        assert_eq!(f("2024-03-10"), None);
    }

    #[test]
    fn later_candidates_are_tried_after_a_near_miss() {
        let f = find_timestamp;
        assert_eq!(f("2024-13-01T00:00:00Z 1710072000"), Some(T0));
        assert_eq!(f("Mar 99 x Mar 10 12:00:00"), local(3, 10, 12, 0, 0));
        assert_eq!(f("user1710072000 1710072000"), Some(T0));
    }

    #[test]
    fn formats_rfc3339() {
        let t = utc(2026, 11, 24, 1, 2, 4);
        assert_eq!(
            format_time(t, TimeFormat::Rfc3339, false),
            "2026-11-24T01:02:04Z"
        );
        assert_eq!(
            format_time(t + 123 * MS + 999, TimeFormat::Rfc3339, true),
            "2026-11-24T01:02:04.123Z"
        );
        assert_eq!(
            format_time(t, TimeFormat::Rfc3339, true),
            "2026-11-24T01:02:04.000Z"
        );
        assert_eq!(
            format_time(t + 999_999_999, TimeFormat::Rfc3339, false),
            "2026-11-24T01:02:04Z"
        );
        assert_eq!(
            format_time(0, TimeFormat::Rfc3339, false),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            format_time(-MS, TimeFormat::Rfc3339, true),
            "1969-12-31T23:59:59.999Z"
        );
        assert_eq!(
            format_time(utc(2024, 2, 29, 23, 59, 59), TimeFormat::Rfc3339, false),
            "2024-02-29T23:59:59Z"
        );
        assert_eq!(
            format_time(i64::MIN, TimeFormat::Rfc3339, true),
            "1677-09-21T00:12:43.145Z"
        );
        assert_eq!(
            format_time(i64::MAX, TimeFormat::Rfc3339, true),
            "2262-04-11T23:47:16.854Z"
        );
    }

    #[test]
    fn formats_epochs() {
        let t = 1_764_000_000 * S;
        assert_eq!(format_time(t, TimeFormat::Epoch, false), "1764000000");
        assert_eq!(
            format_time(t + 123 * MS, TimeFormat::Epoch, true),
            "1764000000.123"
        );
        assert_eq!(
            format_time(t + 5 * MS, TimeFormat::Epoch, true),
            "1764000000.005"
        );
        assert_eq!(
            format_time(t + 999 * MS, TimeFormat::Epoch, false),
            "1764000000"
        );
        assert_eq!(
            format_time(t + 123 * MS, TimeFormat::EpochMs, false),
            "1764000000123"
        );
        assert_eq!(
            format_time(t + 123 * MS, TimeFormat::EpochMs, true),
            "1764000000123"
        );
        assert_eq!(format_time(0, TimeFormat::Epoch, true), "0.000");
        assert_eq!(format_time(-1_500 * MS, TimeFormat::Epoch, true), "-1.500");
        assert_eq!(format_time(-1_500 * MS, TimeFormat::Epoch, false), "-2");
        assert_eq!(format_time(-1, TimeFormat::EpochMs, false), "-1");
        assert_eq!(
            format_time(i64::MIN, TimeFormat::Epoch, true),
            "-9223372036.855"
        );
        assert_eq!(
            format_time(i64::MIN, TimeFormat::EpochMs, false),
            "-9223372036855"
        );
        assert_eq!(
            format_time(i64::MAX, TimeFormat::Epoch, true),
            "9223372036.854"
        );
    }

    #[test]
    fn write_time_appends() {
        let mut out = String::from("time=");
        write_time(&mut out, T0, TimeFormat::Rfc3339, false);
        out.push(' ');
        write_time(&mut out, T0, TimeFormat::Epoch, false);
        assert_eq!(out, "time=2024-03-10T12:00:00Z 1710072000");
    }

    #[test]
    fn python_datetime_text() {
        let mut out = String::new();
        push_python_datetime(&mut out, 1_764_000_000, 0);
        assert_eq!(out, "2025-11-24 16:00:00");
        out.clear();
        push_python_datetime(&mut out, 1_764_000_000, 123_000);
        assert_eq!(out, "2025-11-24 16:00:00.123000");
        out.clear();
        push_python_datetime(&mut out, -1, 1);
        assert_eq!(out, "1969-12-31 23:59:59.000001");
    }

    #[test]
    fn spark_time_is_local_wall_clock() {
        for t in [
            T0,
            T0 + 500 * MS,
            T0 + 123_456_789,
            0,
            -S,
            1_764_000_000 * S + 1,
        ] {
            let local: NaiveDateTime = Local.timestamp_nanos(t).naive_local();
            let mut expected = local.format("%Y-%m-%d %H:%M:%S").to_string();
            let micros = local.nanosecond() / 1_000;
            if micros != 0 {
                expected.push_str(&format!(".{micros:06}"));
            }
            assert_eq!(format_spark_time(t), expected, "{t}");
        }
        // No panic at the ends of the range, whatever the zone.
        let _ = format_spark_time(i64::MIN);
        let _ = format_spark_time(i64::MAX);
    }

    #[test]
    fn spark_time_drops_sub_microsecond_remainders() {
        let whole = format_spark_time(T0);
        assert_eq!(format_spark_time(T0 + 999), whole);
        assert!(format_spark_time(T0 + 1_000).ends_with(".000001"));
        assert!(!whole.contains('.'));
    }

    /// `--event-time auto` as it was before the fast paths: the same scan,
    /// reading every candidate with the general parsers only. The fast
    /// paths must give its answer on every line.
    fn find_reference(line: &str, zone: Option<Zone>) -> Option<Nanos> {
        let b = line.as_bytes();
        let mut epoch: Option<Nanos> = None;
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_digit() {
                let start = i;
                while is_digit_at(b, i) {
                    i += 1;
                }
                let parsed = match i - start {
                    4 if byte_is(b, i, b'-') => rfc3339_at(b, start, zone),
                    2 if byte_is(b, i, b'/') => clf_at(b, start, zone),
                    10 | 13 if epoch.is_none() => {
                        epoch = epoch_at_digits(b, start, i);
                        None
                    }
                    _ => None,
                };
                if let Some((t, stop)) = parsed
                    && !is_digit_at(b, stop)
                {
                    return Some(t);
                }
            } else {
                if b"JFMASOND".contains(&b[i])
                    && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
                    && let Some((t, end)) = syslog_at(b, i, zone)
                    && !is_digit_at(b, end)
                {
                    return Some(t);
                }
                i += 1;
            }
        }
        epoch
    }

    /// An access-log line around a CLF time built from `parts`, after
    /// `before` (which may hold a time of another shape), with a few bytes
    /// then overwritten: the near misses of the fast paths.
    fn clf_line(before: &str, parts: &ClfParts, edits: &[(prop::sample::Index, u8)]) -> String {
        let (day, month, year, h, m, s, sep, offset, after) = parts;
        let mut line = format!(
            "{before}212.202.150.172 - - [{day:02}/{month}/{year:04}:{h:02}:{m:02}:{s:02}{sep}{offset}] \
             \"GET /checkout HTTP/1.1\" 200 15241 {after}"
        )
        .into_bytes();
        for (at, byte) in edits {
            let i = at.index(line.len());
            line[i] = *byte;
        }
        // the edits are ASCII, but may have split a character of `before`
        String::from_utf8_lossy(&line).into_owned()
    }

    type ClfParts = (
        u32,
        &'static str,
        u32,
        u32,
        u32,
        u32,
        &'static str,
        &'static str,
        &'static str,
    );

    fn clf_parts() -> impl Strategy<Value = ClfParts> {
        let months = vec![
            "Jan", "Feb", "Mar", "Apr", "Jun", "Sep", "Dec", "mar", "MAR", "Foo", "Ma",
        ];
        let years = vec![
            2024, 2023, 2000, 1900, 1970, 1677, 1678, 2262, 2263, 0, 9999,
        ];
        let seps = vec![
            " ",
            "",
            "  ",
            ".5 ",
            ".123456789 ",
            ",5 ",
            ".1234567890 ",
            ":",
        ];
        let offsets = vec![
            "+0000", "-0000", "+0100", "-0530", "+2359", "+2400", "+0060", "+01:00", "+01", "0100",
            "x0100", "+01000", "",
        ];
        let after = vec![
            "\"-\" \"Mozilla/5.0\"",
            "1710072000",
            "Mar 10 12:00:00",
            "",
            "5",
        ];
        (
            (
                0u32..=40,
                prop::sample::select(months),
                prop::sample::select(years),
            ),
            (0u32..=25, 0u32..=61, 0u32..=61),
            (
                prop::sample::select(seps),
                prop::sample::select(offsets),
                prop::sample::select(after),
            ),
        )
            .prop_map(|((d, mo, y), (h, m, s), (sep, off, after))| {
                (d, mo, y, h, m, s, sep, off, after)
            })
    }

    #[test]
    fn clf_common_reads_the_usual_shape() {
        let line = b"[10/Mar/2024:13:00:00 +0100] x";
        assert_eq!(clf_common_at(line, 1), Some((T0, 27)));
        assert_eq!(clf_common_at(line, 1), clf_at(line, 1, None));
        // twice in a row: the second read comes from the cache
        assert_eq!(
            clf_common_at(b"29/Feb/2024:00:00:00 -0000", 0),
            clf_at(b"29/Feb/2024:00:00:00 -0000", 0, None)
        );
        assert_eq!(
            clf_common_at(b"29/Feb/2024:00:00:00 -0000", 0).map(|(t, _)| t),
            Some(utc(2024, 2, 29, 0, 0, 0))
        );
        // other shapes and bad fields are clf_at's to decide
        for other in [
            "31/Feb/2024:00:00:00 +0000",
            "29/Feb/2023:00:00:00 +0000",
            "00/Mar/2024:00:00:00 +0000",
            "10/mar/2024:00:00:00 +0000",
            "10/Mar/2024:24:00:00 +0000",
            "10/Mar/2024:12:00:00 +2400",
            "10/Mar/2024:12:00:00.5 +0000",
            "10/Mar/2024:12:00:00 +01:00",
            "10/Mar/2024:12:00:00",
            "10/Mar/2024:12:00:00 +010",
            "10/Mar/1677:12:00:00 +0000",
        ] {
            assert_eq!(clf_common_at(other.as_bytes(), 0), None, "{other}");
        }
        assert_eq!(
            find_timestamp("[10/Mar/2024:12:00:00 +01:00]"),
            Some(T0 - 3_600 * S)
        );
        assert_eq!(
            find_timestamp("[31/Feb/2024:12:00:00 +0000] 1710072000"),
            Some(T0)
        );
    }

    /// 1970-01-01 to 2200-01-01, in milliseconds.
    const MS_1970_TO_2200: i64 = 7_258_118_400_000;

    proptest! {
        #[test]
        fn rfc3339_round_trips(ms in 0i64..MS_1970_TO_2200) {
            let t = ms * MS;
            let text = format_time(t, TimeFormat::Rfc3339, true);
            prop_assert_eq!(parse_timestamp(&text), Some(t), "{}", text);
            prop_assert_eq!(find_timestamp(&format!("at {text} ok")), Some(t), "{}", text);
            let whole = format_time(t, TimeFormat::Rfc3339, false);
            prop_assert_eq!(parse_timestamp(&whole), Some(t - t.rem_euclid(S)));
        }

        #[test]
        fn rfc3339_agrees_with_chrono(ms in -MS_1970_TO_2200..MS_1970_TO_2200) {
            let t = ms * MS;
            let ours = format_time(t, TimeFormat::Rfc3339, true);
            let theirs = chrono::DateTime::from_timestamp_millis(ms)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
            prop_assert_eq!(Some(ours), theirs);
        }

        #[test]
        fn epoch_forms_round_trip(secs in 1_000_000_000i64..9_000_000_000, ms in 0i64..1_000) {
            let t = secs * S + ms * MS;
            let text = format_time(t, TimeFormat::Epoch, true);
            prop_assert_eq!(parse_timestamp(&text), Some(t));
            let text = format_time(t, TimeFormat::EpochMs, false);
            prop_assert_eq!(parse_timestamp(&text), Some(t));
            prop_assert_eq!(find_timestamp(&format!("ts={text} x")), Some(t));
        }

        /// The fast paths find what the general scan finds, on access-log
        /// lines and their near misses, with and without a zone.
        #[test]
        fn find_equals_the_reference_on_clf_lines(
            before in prop::sample::select(vec![
                "",
                "2024-03-10T12:00:00Z ",
                "Mar  9 23:59:59 ",
                "1710000000 ",
                "09/Mar/2024:23:59:59 -0130 ",
                "ünï ",
                "12/",
            ]),
            parts in clf_parts(),
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), prop::sample::select(b"0123456789/:+- .[]JMFax".to_vec())),
                0..3,
            ),
        ) {
            let line = clf_line(before, &parts, &edits);
            let paris = Zone::parse("Europe/Paris").ok();
            for zone in [None, paris] {
                prop_assert_eq!(
                    find_timestamp_in(&line, zone),
                    find_reference(&line, zone),
                    "{:?}", line
                );
            }
            let b = line.as_bytes();
            for p in 0..b.len() {
                if let Some(fast) = clf_common_at(b, p) {
                    prop_assert_eq!(Some(fast), clf_at(b, p, None), "{:?} at {}", line, p);
                }
            }
        }

        /// Dates read one after another, sharing their day, month or year,
        /// each read as [`clf_at`] reads it: the cache never answers for
        /// another date.
        #[test]
        fn clf_common_cache_never_goes_stale(
            dates in prop::collection::vec(
                (
                    prop::sample::select(vec![1u32, 10, 28, 29, 30, 31]),
                    prop::sample::select(vec!["Feb", "Mar", "Apr"]),
                    prop::sample::select(vec![1900u32, 2000, 2023, 2024]),
                ),
                1..20,
            ),
        ) {
            for (day, month, year) in dates {
                let text = format!("{day:02}/{month}/{year}:12:00:00 +0000");
                let b = text.as_bytes();
                prop_assert_eq!(clf_common_at(b, 0).map(|(t, _)| t), clf_at(b, 0, None).map(|(t, _)| t), "{}", text);
            }
        }

        /// The same on lines pieced together from times of every shape,
        /// their near misses, digit runs and separators, a few bytes then
        /// overwritten.
        #[test]
        fn find_equals_the_reference_on_mixed_lines(
            pieces in prop::collection::vec(prop::sample::select(vec![
                "2024-03-10T12:00:00Z", "2024-03-10 13:00:00 +0100", "2024-03-10T12:00:00",
                "2024-13-01T00:00:00Z", "12024-03-10T12:00:00Z", "10/Mar/2024:12:00:00 +0000",
                "10/Mar/2024:12:00:00", "31/Feb/2024:00:00:00 +0000", "110/Mar/2024:12:00:00",
                "Mar 10 12:00:00", "Mar  1 12:00:00", "Mar 99", "1710072000", "1710072000123",
                "1710072000.25", "17100720001", "12", "2024", "123", "12345", "-", "/", " ",
                ".", "_", ":", "x", "[", "]", "Oct", "ü", "GET /img/1710000000.png",
            ]), 0..8),
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), prop::sample::select(b"0123456789/:+- .JMax".to_vec())),
                0..3,
            ),
        ) {
            let mut line = pieces.concat().into_bytes();
            if !line.is_empty() {
                for (at, byte) in &edits {
                    let i = at.index(line.len());
                    line[i] = *byte;
                }
            }
            let line = String::from_utf8_lossy(&line);
            let paris = Zone::parse("Europe/Paris").ok();
            for zone in [None, paris] {
                prop_assert_eq!(
                    find_timestamp_in(&line, zone),
                    find_reference(&line, zone),
                    "{:?}", line
                );
            }
        }

        /// The same on short lines of timestamp-like bytes.
        #[test]
        fn find_equals_the_reference_on_near_misses(
            s in "[0-9 :/.,+TZ\\-\\[\\]JanOctMrFebx]{0,48}",
        ) {
            prop_assert_eq!(find_timestamp(&s), find_reference(&s, None), "{:?}", s);
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = parse_timestamp(&s);
            let _ = find_timestamp(&s);
        }

        #[test]
        fn never_panics_on_near_misses(s in "[0-9 :/.,+TZ\\-\\[\\]JanOctMr]{0,40}") {
            let _ = parse_timestamp(&s);
            let _ = find_timestamp(&s);
        }

        #[test]
        fn formats_never_panic(t in any::<i64>(), millis in any::<bool>()) {
            for fmt in [TimeFormat::Rfc3339, TimeFormat::Epoch, TimeFormat::EpochMs] {
                let _ = format_time(t, fmt, millis);
            }
            let _ = format_spark_time(t);
        }
    }
}
