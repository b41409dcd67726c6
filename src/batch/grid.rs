//! Where the boundaries of an interval fall: the batch interval, a
//! window's slide. Without `--tz`, and for intervals under an hour, they
//! are the multiples of the interval since the epoch. With `--tz ZONE`, an
//! interval of an hour or more is counted on the zone's wall clock from
//! local midnight, so `-b 1d` cuts at local midnight and a day across a DST
//! change lasts 23 or 25 hours.
//!
//! The rule, for an interval `S` that divides a day (`1h`, `2h`, `90m`,
//! `12h`) or is whole days (`1d`, `7d`, counted from 1970-01-01 on the wall
//! clock): a boundary is an instant at which the wall clock reads a
//! multiple of `S`, or at which it jumps forward over one (`-b 1h` in
//! Paris on 2024-03-31: 02:00 never shows, so the hour from 01:00 ends at
//! the jump, which reads 03:00; hours stay hours). When the clock is set
//! back, a sub-day multiple shown again is a boundary again (02:00 comes
//! twice in Paris on 2024-10-27: two one-hour batches, not a two-hour one);
//! a day begins only once, at the first midnight.

use crate::timestamp::Nanos;
use crate::zone::Zone;

const NANOS_PER_SEC: i64 = 1_000_000_000;
const HOUR: Nanos = 3_600 * NANOS_PER_SEC;
const DAY: Nanos = 24 * HOUR;

/// The boundaries of one interval, in one zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    step: Nanos,
    /// The zone whose wall clock counts the boundaries; `None` for epoch
    /// multiples (no `--tz`, or an interval under an hour).
    zone: Option<Zone>,
}

/// Why an interval cannot be counted on a zone's wall clock, with the
/// nearest ones that can (for the usage error).
pub fn check(step: Nanos) -> Result<(), String> {
    if step < HOUR || DAY % step == 0 || step % DAY == 0 {
        return Ok(());
    }
    let (below, above) = if step < DAY {
        // the usual ones (90m and 4h48m divide a day too)
        let divisors: Vec<Nanos> = [1, 2, 3, 4, 6, 8, 12, 24].map(|h| h * HOUR).to_vec();
        let below = divisors.iter().rev().find(|&&d| d < step).copied();
        let above = divisors.iter().find(|&&d| d > step).copied();
        (below, above)
    } else {
        let days = step / DAY;
        (Some(days * DAY), Some((days + 1) * DAY))
    };
    let show =
        |d: Nanos| crate::duration::format_duration(std::time::Duration::from_nanos(d as u64));
    let hint = match (below, above) {
        (Some(b), Some(a)) => format!("use {} or {}", show(b), show(a)),
        (Some(x), None) | (None, Some(x)) => format!("use {}", show(x)),
        (None, None) => String::new(),
    };
    Err(format!(
        "with --tz, an interval of 1h or more is counted from local midnight, so it must divide a day (1h, 2h, 3h, 4h, 6h, 8h, 12h) or be whole days; {hint}"
    ))
}

/// With `--tz`, a window's `--slide` of an hour or more is counted on the
/// wall clock too: it must be an interval [`check`] accepts, and its
/// boundaries must be batch boundaries, which an epoch-aligned batch under
/// an hour only gives when it divides every offset the zone has used since
/// 1970 (`-b 20m` ends batches at :10, :30 and :50 in Kolkata, +05:30).
pub fn check_slide(slide: Nanos, batch: Nanos, zone: Zone) -> Result<(), String> {
    let show =
        |d: Nanos| crate::duration::format_duration(std::time::Duration::from_nanos(d as u64));
    if slide < HOUR {
        return Ok(());
    }
    check(slide).map_err(|e| format!("--slide {}: {e}", show(slide)))?;
    if batch >= HOUR || zone.is_utc() {
        return Ok(());
    }
    let off = zone
        .offsets_since(0)
        .find(|o| (i64::from(*o) * NANOS_PER_SEC) % batch != 0);
    if let Some(off) = off {
        let mut text = String::new();
        crate::zone::push_offset(&mut text, off);
        return Err(format!(
            "--slide {} falls on local boundaries in {zone} (UTC{text}), where -b {} batches do not end; use a batch interval that divides the offset, such as 1m or 15m",
            show(slide),
            show(batch)
        ));
    }
    Ok(())
}

impl Grid {
    /// Boundaries every `step` (positive), counted on `zone`'s wall clock
    /// when it is given and `step` is an hour or more (which [`check`] must
    /// have accepted), else on the epoch.
    pub fn new(step: Nanos, zone: Option<Zone>) -> Grid {
        let step = step.max(1);
        let zone = zone.filter(|z| step >= HOUR && !z.is_utc());
        Grid { step, zone }
    }

    pub fn step(&self) -> Nanos {
        self.step
    }

    /// Whether boundaries are plain multiples of the step since the epoch.
    pub fn is_epoch(&self) -> bool {
        self.zone.is_none()
    }

    /// The end of the interval that holds `t`: the first boundary after it.
    pub fn end_of(&self, t: Nanos) -> Nanos {
        match self.zone {
            None => super::interval_end(t, self.step),
            Some(z) => self.next_local(z, t),
        }
    }

    /// The boundary after boundary `e` (the end of the next interval).
    pub fn next(&self, e: Nanos) -> Nanos {
        match self.zone {
            None => e.saturating_add(self.step),
            Some(z) => self.next_local(z, e),
        }
    }

    /// The smallest boundary at or after `t`.
    pub fn ceil(&self, t: Nanos) -> Nanos {
        self.end_of(t.saturating_sub(1))
    }

    /// The boundary before boundary `e` (the start of the interval ending
    /// at `e`).
    pub fn prev(&self, e: Nanos) -> Nanos {
        match self.zone {
            None => e.saturating_sub(self.step),
            Some(z) => self.prev_local(z, e),
        }
    }

    /// The boundary `n` boundaries before boundary `e`.
    pub fn back(&self, e: Nanos, n: i64) -> Nanos {
        match self.zone {
            None => e.saturating_sub(self.step.saturating_mul(n)),
            Some(z) => (0..n).fold(e, |b, _| self.prev_local(z, b)),
        }
    }

    /// The interval `[start, end)` that holds `t`.
    pub fn interval_of(&self, t: Nanos) -> (Nanos, Nanos) {
        let end = self.end_of(t);
        (self.prev(end), end)
    }

    fn days(&self) -> bool {
        self.step % DAY == 0
    }

    /// Span `s` of `z` in nanoseconds: start (`MIN` for the first), end
    /// (`MAX` for the last), offset, and the offset before it.
    fn span(z: Zone, s: usize) -> (Nanos, Nanos, Nanos, Nanos) {
        let (start, end, off) = z.span(s);
        let ns = |x: i64| x.saturating_mul(NANOS_PER_SEC);
        let before = s.checked_sub(1).map_or(off, |p| z.span(p).2);
        (
            start.map_or(Nanos::MIN, ns),
            end.map_or(Nanos::MAX, ns),
            i64::from(off) * NANOS_PER_SEC,
            i64::from(before) * NANOS_PER_SEC,
        )
    }

    /// The first instant of span `s` at which an interior boundary may
    /// fall: for whole days after the clock was set back, not before the
    /// wall clock passes what it had already shown (a day begins once).
    fn first_allowed(&self, start: Nanos, off: Nanos, before: Nanos) -> Nanos {
        if self.days() && off < before {
            start.saturating_add(before - off)
        } else {
            start
        }
    }

    /// Whether the change that starts a span is itself a boundary: the
    /// clock jumped forward onto or over a multiple.
    fn jump_is_boundary(&self, start: Nanos, off: Nanos, before: Nanos) -> bool {
        off > before
            && ceil_to(start.saturating_add(before), self.step) <= start.saturating_add(off)
    }

    fn next_local(&self, z: Zone, t: Nanos) -> Nanos {
        let mut s = z.span_of(t.div_euclid(NANOS_PER_SEC));
        loop {
            let (start, end, off, before) = Self::span(z, s);
            if s > 0 && start > t && self.jump_is_boundary(start, off, before) {
                return start;
            }
            let lo = t
                .saturating_add(1)
                .max(self.first_allowed(start, off, before));
            let u = ceil_to(lo.saturating_add(off), self.step).saturating_sub(off);
            if u < end {
                return u;
            }
            if s + 1 >= z.spans() {
                return Nanos::MAX;
            }
            s += 1;
        }
    }

    fn prev_local(&self, z: Zone, t: Nanos) -> Nanos {
        let mut s = z.span_of(t.saturating_sub(1).div_euclid(NANOS_PER_SEC));
        loop {
            let (start, end, off, before) = Self::span(z, s);
            let hi = t.saturating_sub(1).min(end.saturating_sub(1));
            let u = floor_to(hi.saturating_add(off), self.step).saturating_sub(off);
            if u >= self.first_allowed(start, off, before) && u >= start {
                return u;
            }
            if s > 0 && start <= hi && self.jump_is_boundary(start, off, before) {
                return start;
            }
            if s == 0 {
                return Nanos::MIN;
            }
            s -= 1;
        }
    }
}

/// The smallest multiple of `step` at or after `t`.
fn ceil_to(t: Nanos, step: Nanos) -> Nanos {
    let r = t.rem_euclid(step);
    if r == 0 {
        t
    } else {
        t.saturating_add(step - r)
    }
}

/// The largest multiple of `step` at or before `t`.
fn floor_to(t: Nanos, step: Nanos) -> Nanos {
    t - t.rem_euclid(step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::parse_timestamp;

    fn at(s: &str) -> Nanos {
        parse_timestamp(s).unwrap_or_else(|| panic!("a time: {s}"))
    }

    fn zone(name: &str) -> Option<Zone> {
        Some(Zone::parse(name).expect("a zone"))
    }

    /// Boundaries from `from` while before `until`.
    fn walk(g: Grid, from: &str, until: &str) -> Vec<Nanos> {
        let mut out = vec![g.ceil(at(from))];
        let stop = at(until);
        while *out.last().unwrap() < stop {
            out.push(g.next(*out.last().unwrap()));
        }
        out
    }

    fn hours(b: &[Nanos]) -> Vec<i64> {
        b.windows(2).map(|w| (w[1] - w[0]) / (HOUR / 60)).collect()
    }

    #[test]
    fn grid_without_zone_is_epoch_multiples() {
        let g = Grid::new(10, None);
        assert_eq!(g.end_of(0), 10);
        assert_eq!(g.end_of(9), 10);
        assert_eq!(g.end_of(-1), 0);
        assert_eq!(g.next(10), 20);
        assert_eq!(g.prev(10), 0);
        assert_eq!(g.ceil(10), 10);
        assert_eq!(g.ceil(11), 20);
        assert_eq!(g.back(100, 3), 70);
        // under an hour a zone changes nothing, and UTC is the epoch
        let m = Grid::new(60 * NANOS_PER_SEC, zone("Asia/Kolkata"));
        assert!(m.is_epoch());
        assert!(Grid::new(DAY, zone("UTC")).is_epoch());
    }

    #[test]
    fn grid_paris_days_across_both_dst_changes() {
        let g = Grid::new(DAY, zone("Europe/Paris"));
        let b = walk(g, "2024-03-29T23:00:00Z", "2024-04-01T22:00:00Z");
        assert_eq!(
            b,
            [
                at("2024-03-29T23:00:00Z"),
                at("2024-03-30T23:00:00Z"),
                at("2024-03-31T22:00:00Z"),
                at("2024-04-01T22:00:00Z"),
            ]
        );
        assert_eq!(hours(&b), [24 * 60, 23 * 60, 24 * 60]);
        let b = walk(g, "2024-10-25T22:00:00Z", "2024-10-28T23:00:00Z");
        assert_eq!(hours(&b), [24 * 60, 25 * 60, 24 * 60]);
        assert_eq!(b[2], at("2024-10-27T23:00:00Z"));
        // a time inside the short day
        assert_eq!(
            g.interval_of(at("2024-03-31T12:00:00Z")),
            (at("2024-03-30T23:00:00Z"), at("2024-03-31T22:00:00Z"))
        );
        assert_eq!(
            g.prev(at("2024-10-27T23:00:00Z")),
            at("2024-10-26T22:00:00Z")
        );
    }

    #[test]
    fn grid_paris_hours_stay_hours() {
        let g = Grid::new(HOUR, zone("Europe/Paris"));
        for (from, until) in [
            ("2024-03-30T20:00:00Z", "2024-03-31T05:00:00Z"),
            ("2024-10-26T20:00:00Z", "2024-10-27T05:00:00Z"),
        ] {
            let b = walk(g, from, until);
            assert!(
                hours(&b).iter().all(|&m| m == 60),
                "{from}: {:?}",
                hours(&b)
            );
            for w in b.windows(2) {
                assert_eq!(g.prev(w[1]), w[0]);
                assert_eq!(g.end_of(w[0]), w[1]);
                assert_eq!(g.end_of(w[1] - 1), w[1]);
            }
        }
    }

    #[test]
    fn grid_paris_two_hours_across_the_changes() {
        let g = Grid::new(2 * HOUR, zone("Europe/Paris"));
        // spring: 00:00 CET, then the jump at 02:00 CET (reads 03:00), 04:00 CEST
        let b = walk(g, "2024-03-30T23:00:00Z", "2024-03-31T04:00:00Z");
        assert_eq!(
            b,
            [
                at("2024-03-30T23:00:00Z"),
                at("2024-03-31T01:00:00Z"),
                at("2024-03-31T02:00:00Z"),
                at("2024-03-31T04:00:00Z"),
            ]
        );
        // autumn: 00:00 CEST, 02:00 CEST, 02:00 CET again, 04:00 CET
        let b = walk(g, "2024-10-26T22:00:00Z", "2024-10-27T03:00:00Z");
        assert_eq!(
            b,
            [
                at("2024-10-26T22:00:00Z"),
                at("2024-10-27T00:00:00Z"),
                at("2024-10-27T01:00:00Z"),
                at("2024-10-27T03:00:00Z"),
            ]
        );
        let day = walk(g, "2024-10-26T22:00:00Z", "2024-10-27T23:00:00Z");
        assert_eq!(day.len() - 1, 13, "25 hours in 2h batches, one of them 1h");
    }

    #[test]
    fn grid_kolkata_and_fixed_offsets() {
        let k = Grid::new(HOUR, zone("Asia/Kolkata"));
        assert_eq!(
            k.end_of(at("2024-03-10T12:00:00Z")),
            at("2024-03-10T12:30:00Z")
        );
        let d = Grid::new(DAY, zone("Asia/Kolkata"));
        assert_eq!(
            d.end_of(at("2024-03-10T12:00:00Z")),
            at("2024-03-10T18:30:00Z")
        );
        let two = Grid::new(2 * HOUR, zone("Asia/Kolkata"));
        // 17:30 IST is in [16:00, 18:00) IST
        assert_eq!(
            two.end_of(at("2024-03-10T12:00:00Z")),
            at("2024-03-10T12:30:00Z")
        );
        let f = Grid::new(DAY, zone("+02:00"));
        assert_eq!(
            f.end_of(at("2024-03-10T12:00:00Z")),
            at("2024-03-10T22:00:00Z")
        );
        assert_eq!(
            f.prev(at("2024-03-10T22:00:00Z")),
            at("2024-03-09T22:00:00Z")
        );
        let w = Grid::new(7 * DAY, zone("-05:00"));
        // weeks counted from 1970-01-01 on the wall clock (a Thursday)
        assert_eq!(
            w.end_of(at("2024-03-10T12:00:00Z")),
            at("2024-03-14T05:00:00Z")
        );
    }

    #[test]
    fn grid_havana_midnight_fold_begins_the_day_once() {
        // Cuba sets clocks back from 01:00 to 00:00 on 2024-11-03.
        let g = Grid::new(DAY, zone("America/Havana"));
        let b = walk(g, "2024-11-02T04:00:00Z", "2024-11-04T05:00:00Z");
        assert_eq!(hours(&b), [24 * 60, 25 * 60]);
        let h = Grid::new(HOUR, zone("America/Havana"));
        let b = walk(h, "2024-11-03T03:00:00Z", "2024-11-03T08:00:00Z");
        assert!(hours(&b).iter().all(|&m| m == 60), "{:?}", hours(&b));
    }

    #[test]
    fn grid_back_counts_boundaries() {
        let g = Grid::new(HOUR, zone("Europe/Paris"));
        let e = at("2024-03-31T12:00:00Z");
        assert_eq!(g.back(e, 24), at("2024-03-30T12:00:00Z"));
        let d = Grid::new(DAY, zone("Europe/Paris"));
        assert_eq!(
            d.back(at("2024-04-01T22:00:00Z"), 2),
            at("2024-03-30T23:00:00Z")
        );
    }

    #[test]
    fn grid_check_slide_needs_batches_ending_on_local_boundaries() {
        let kolkata = Zone::parse("Asia/Kolkata").unwrap();
        let paris = Zone::parse("Europe/Paris").unwrap();
        let m = 60 * NANOS_PER_SEC;
        assert!(check_slide(HOUR, m, kolkata).is_ok());
        assert!(check_slide(HOUR, 15 * m, kolkata).is_ok());
        let e = check_slide(HOUR, 20 * m, kolkata).unwrap_err();
        assert!(e.contains("UTC+05:30") && e.contains("-b 20m"), "{e}");
        assert!(check_slide(HOUR, 20 * m, paris).is_ok());
        assert!(
            check_slide(30 * m, 20 * m, kolkata).is_ok(),
            "under an hour: epoch"
        );
        let e = check_slide(5 * HOUR, HOUR, paris).unwrap_err();
        assert!(e.starts_with("--slide 5h: with --tz"), "{e}");
    }

    #[test]
    fn grid_check_names_intervals_that_fit() {
        assert!(check(HOUR).is_ok());
        assert!(check(90 * 60 * NANOS_PER_SEC).is_ok());
        assert!(check(12 * HOUR).is_ok());
        assert!(check(3 * DAY).is_ok());
        assert!(
            check(5 * 60 * NANOS_PER_SEC).is_ok(),
            "under an hour: epoch"
        );
        let e = check(5 * HOUR).unwrap_err();
        assert!(e.contains("use 4h or 6h"), "{e}");
        let e = check(DAY + HOUR).unwrap_err();
        assert!(e.contains("use 1d or 2d"), "{e}");
    }
}
