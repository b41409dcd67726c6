//! Where every input line went: the drop and repair reasons, the counters
//! kept while processing, the exit summary and `--strict`'s first offence.

use std::fmt;
use std::time::Duration;

use crate::duration::format_duration;
use crate::timestamp::{Nanos, TimeFormat, format_time};

/// Why a line was dropped or repaired. Repairs (bad UTF-8, cut) keep the
/// line; drops lose it, with the reason counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    BadUtf8,
    Cut,
    Unparsed,
    InvalidJson,
    InvalidCsv,
    Late,
    Untimed,
}

impl Reason {
    pub const ALL: [Reason; 7] = [
        Reason::BadUtf8,
        Reason::Cut,
        Reason::Unparsed,
        Reason::InvalidJson,
        Reason::InvalidCsv,
        Reason::Late,
        Reason::Untimed,
    ];

    /// Repairs keep the line; everything else drops it.
    pub fn is_repair(self) -> bool {
        matches!(self, Reason::BadUtf8 | Reason::Cut)
    }

    /// The short name used in the summary and `--stats`.
    pub fn label(self) -> &'static str {
        match self {
            Reason::BadUtf8 => "bad UTF-8",
            Reason::Cut => "cut",
            Reason::Unparsed => "unparsed",
            Reason::InvalidJson => "invalid JSON",
            Reason::InvalidCsv => "invalid CSV",
            Reason::Late => "late",
            Reason::Untimed => "untimed",
        }
    }

    /// The name in `--stats-json`'s record.
    pub fn key(self) -> &'static str {
        match self {
            Reason::BadUtf8 => "bad_utf8",
            Reason::Cut => "cut",
            Reason::Unparsed => "unparsed",
            Reason::InvalidJson => "invalid_json",
            Reason::InvalidCsv => "invalid_csv",
            Reason::Late => "late",
            Reason::Untimed => "untimed",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Counters for one run (or one part of one chunk, merged afterwards).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Input lines read.
    pub lines: u64,
    /// Lines that gave at least one record to the aggregation or output
    /// (of a batch that was written, once the run is over).
    pub processed: u64,
    /// Lines every one of whose records a filter removed.
    pub filtered: u64,
    /// Lines read whose batch was never written: the run stopped first
    /// (`--max-batches`). Counted as processed until the run is over.
    pub unemitted: u64,
    /// Records that reached the aggregation or the output.
    pub records: u64,
    pub by_reason: [u64; 7],
}

impl Counts {
    pub fn add(&mut self, r: Reason) {
        self.by_reason[r.index()] += 1;
    }

    pub fn get(&self, r: Reason) -> u64 {
        self.by_reason[r.index()]
    }

    /// Every line read is processed, filtered, dropped or unemitted
    /// (repairs keep a line): `lines == processed + filtered + dropped +
    /// unemitted`.
    pub fn balanced(&self) -> bool {
        self.lines == self.processed + self.filtered + self.dropped() + self.unemitted
    }

    /// The run is over and `n` of the lines counted as processed are in
    /// batches that were never written.
    pub fn hold_back(&mut self, n: u64) {
        let n = n.min(self.processed);
        self.processed -= n;
        self.unemitted += n;
    }

    /// Lines dropped, by all reasons (each dropped line counts once, under
    /// the first reason it met).
    pub fn dropped(&self) -> u64 {
        Reason::ALL
            .iter()
            .filter(|r| !r.is_repair())
            .map(|r| self.get(*r))
            .sum()
    }

    pub fn merge(&mut self, o: &Counts) {
        self.lines += o.lines;
        self.processed += o.processed;
        self.filtered += o.filtered;
        self.unemitted += o.unemitted;
        self.records += o.records;
        for i in 0..self.by_reason.len() {
            self.by_reason[i] += o.by_reason[i];
        }
    }

    /// The one-line exit summary, or `None` when nothing was dropped,
    /// repaired or left unemitted.
    pub fn summary(&self) -> Option<String> {
        let drops: Vec<String> = Reason::ALL
            .iter()
            .filter(|r| !r.is_repair() && self.get(**r) > 0)
            .map(|r| format!("{} {}", self.get(*r), r.label()))
            .collect();
        let repairs: Vec<String> = Reason::ALL
            .iter()
            .filter(|r| r.is_repair() && self.get(**r) > 0)
            .map(|r| format!("{} {}", self.get(*r), r.label()))
            .collect();
        if drops.is_empty() && repairs.is_empty() && self.unemitted == 0 {
            return None;
        }
        let mut s = format!(
            "spate: {} lines read: {} processed, {} filtered, {} dropped",
            self.lines,
            self.processed,
            self.filtered,
            self.dropped()
        );
        if !drops.is_empty() {
            s.push_str(&format!(" ({})", drops.join(", ")));
        }
        if self.unemitted > 0 {
            s.push_str(&format!(
                ", {} unemitted (the run stopped before their batch was written)",
                self.unemitted
            ));
        }
        if !repairs.is_empty() {
            s.push_str(&format!("; repaired ({})", repairs.join(", ")));
        }
        Some(s)
    }
}

/// The text every key field of the `--max-keys` overflow row holds.
pub const OTHER: &str = "(other)";

/// What overflowed in a run, for the summary and `--stats-json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overflow {
    pub max_keys: u64,
    pub results: u64,
    pub records: u64,
}

impl Overflow {
    /// The exit summary's line about the bound, when anything overflowed.
    pub fn summary(&self) -> Option<String> {
        if self.results == 0 {
            return None;
        }
        let plural = |n: u64, one: &str, many: &str| {
            if n == 1 {
                format!("{n} {one}")
            } else {
                format!("{n} {many}")
            }
        };
        Some(format!(
            "spate: --max-keys {}: {} went over it; {} counted under {OTHER}",
            self.max_keys,
            plural(self.results, "result", "results"),
            plural(self.records, "record", "records"),
        ))
    }
}

/// What a run accounts for beyond its lines: keys over `--max-keys` and
/// connections refused by `--max-connections`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extra {
    pub overflow: Overflow,
    pub connections_refused: u64,
}

impl Extra {
    /// The exit summary's lines about them, when there is anything to say.
    pub fn summary(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.overflow.summary().into_iter().collect();
        if self.connections_refused > 0 {
            lines.push(format!(
                "spate: {} connection{} refused (--max-connections)",
                self.connections_refused,
                if self.connections_refused == 1 {
                    ""
                } else {
                    "s"
                }
            ));
        }
        lines
    }
}

/// `--stats-json`: the run's accounting as one JSON object on one line,
/// `{"accounting": {...}}`, every reason present (zero included) so that a
/// script can rely on the keys; `lines == processed + filtered + dropped +
/// unemitted`.
pub fn stats_json(c: &Counts, extra: &Extra) -> String {
    let reasons = |repair: bool| -> serde_json::Map<String, serde_json::Value> {
        Reason::ALL
            .iter()
            .filter(|r| r.is_repair() == repair)
            .map(|r| (r.key().to_string(), c.get(*r).into()))
            .collect()
    };
    let o = &extra.overflow;
    let v = serde_json::json!({
        "accounting": {
            "lines": c.lines,
            "processed": c.processed,
            "filtered": c.filtered,
            "dropped": c.dropped(),
            "unemitted": c.unemitted,
            "by_reason": reasons(false),
            "repaired": reasons(true),
            "records": c.records,
            "key_overflow": {
                "max_keys": o.max_keys,
                "results": o.results,
                "records": o.records,
            },
            "connections_refused": extra.connections_refused,
        }
    });
    v.to_string()
}

/// Lines delivered to batches that are not written yet, by the end of the
/// batch each line counts in (its earliest, when its records went to
/// several): what a run that stops early (`--max-batches`) never wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pending {
    by_end: std::collections::BTreeMap<Nanos, u64>,
}

impl Pending {
    /// `n` lines went into the batch ending at `end`.
    pub fn add(&mut self, end: Nanos, n: u64) {
        if n > 0 {
            *self.by_end.entry(end).or_default() += n;
        }
    }

    /// Everything that ends by `end` was written (a batch, or a window that
    /// covers the batches before its end).
    pub fn written_upto(&mut self, end: Nanos) {
        self.by_end = self.by_end.split_off(&end.saturating_add(1));
    }

    /// Lines in batches not written.
    pub fn total(&self) -> u64 {
        self.by_end.values().sum()
    }

    /// Every batch end with its lines, in order (for `--state`).
    pub fn entries(&self) -> impl Iterator<Item = (Nanos, u64)> + '_ {
        self.by_end.iter().map(|(e, n)| (*e, *n))
    }
}

/// The first line `--strict` refuses: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offence {
    /// 1-based line number within its input.
    pub line: u64,
    pub reason: Reason,
    /// What the operator said, e.g. `expected value at column 3`.
    pub detail: String,
}

/// A dropped line kept for `--dead-letter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLine {
    pub reason: Reason,
    /// 1-based within its input.
    pub line: u64,
    /// The line as read, after repair.
    pub text: String,
}

impl DeadLine {
    /// Its JSON line: `{"reason":..,"input":..,"line":..,"text":..}`
    /// (compact, keys in this order).
    pub fn json(&self, input: &str) -> String {
        let mut s = String::with_capacity(self.text.len() + input.len() + 48);
        s.push_str("{\"reason\":");
        push_json_str(&mut s, self.reason.key());
        s.push_str(",\"input\":");
        push_json_str(&mut s, input);
        s.push_str(",\"line\":");
        s.push_str(&self.line.to_string());
        s.push_str(",\"text\":");
        push_json_str(&mut s, &self.text);
        s.push('}');
        s
    }
}

fn push_json_str(out: &mut String, s: &str) {
    out.push_str(&serde_json::Value::from(s).to_string());
}

/// Per-line context handed to the per-record operators: the line's
/// number (for `--strict`) and the counters.
#[derive(Debug, Default)]
pub struct Ctx {
    pub counts: Counts,
    /// `--dead-letter`: the lines dropped so far, when they are kept.
    pub dead: Option<Vec<DeadLine>>,
    /// The source id of the line being processed (its input).
    pub input: u32,
    pub line: u64,
    /// Drops recorded for the current line.
    pub line_drops: u32,
    /// The first drop reason of the current line.
    pub line_reason: Option<Reason>,
    pub strict: bool,
    pub offence: Option<Offence>,
    /// Operators may leave out of a record the fields no later operator
    /// reads ([`crate::ops::RecordOp::keep_only`]). False while the run
    /// still looks for a field the chain names: the warning for one never
    /// found lists the fields the records had, all of them.
    pub project: bool,
    /// The current line's text after repair, when it had invalid UTF-8
    /// (else its raw text is it): kept records name it for a drop after
    /// the barrier.
    pub repaired: Option<String>,
}

impl Ctx {
    /// Classifies the current line once its records were delivered: a line
    /// that gave any record is processed (even if some of its records were
    /// dropped); one that gave none is dropped if anything dropped it, else
    /// filtered.
    ///
    /// Returns the reason the line was dropped for, when it was.
    pub fn end_line(&mut self, delivered: u64) -> Option<Reason> {
        let mut dropped = None;
        if delivered > 0 {
            self.counts.processed += 1;
            if let Some(r) = self.line_reason {
                self.counts.by_reason[r.index()] -= 1;
            }
        } else if self.line_drops == 0 {
            self.counts.filtered += 1;
        } else {
            dropped = self.line_reason;
        }
        self.line_drops = 0;
        self.line_reason = None;
        dropped
    }

    pub fn new(strict: bool) -> Self {
        Ctx {
            strict,
            ..Ctx::default()
        }
    }

    /// Counts a drop or repair of the current line; under `--strict` the
    /// first one is kept to stop the run.
    pub fn drop_line(&mut self, reason: Reason, detail: impl fmt::Display) {
        if reason.is_repair() {
            self.counts.add(reason);
        } else {
            if self.line_drops == 0 {
                self.counts.add(reason);
                self.line_reason = Some(reason);
            }
            self.line_drops += 1;
        }
        if self.strict && self.offence.is_none() {
            self.offence = Some(Offence {
                line: self.line,
                reason,
                detail: detail.to_string(),
            });
        }
    }
}

/// One batch's `--stats` line: Spark Streaming's batch metrics. spate runs
/// the per-record operators on a batch's lines as they arrive, so only the
/// closing work (merging partials, windows, the operators after the
/// aggregation, writing) lies between a batch's end and its output.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchStats {
    /// The batch's time (its end).
    pub time: Nanos,
    /// Input records: lines read in the batch (in event time, records
    /// whose timestamp falls in it).
    pub records: u64,
    /// Rows written for it, over every window it closed.
    pub rows: u64,
    /// Wall time spent processing its input, plus closing it.
    pub processing: Duration,
    /// From its end on the wall clock to when the engine began closing it;
    /// `None` when its end is no deadline (event time, line count, eof).
    pub scheduling_delay: Option<Duration>,
    /// From its end to its output written; `None` in event time.
    pub total_delay: Option<Duration>,
    /// The time its input arrived over (event time: the interval), for
    /// the rate.
    pub span: Duration,
    /// The batch interval on the wall clock, to warn when processing takes
    /// longer (processing time only).
    pub interval: Option<Duration>,
    /// The run's accounting so far, when known: `total_lines=`,
    /// `total_processed=`, `total_filtered=`, `total_dropped=`.
    pub totals: Option<Counts>,
}

impl BatchStats {
    /// Input records per second over the batch's span.
    pub fn rate(&self) -> f64 {
        let secs = self.span.as_secs_f64();
        if secs > 0.0 {
            self.records as f64 / secs
        } else {
            0.0
        }
    }

    /// `spate: batch TIME records=N rows=N processing=1.2ms
    /// scheduling_delay=0.3ms total_delay=1.5ms rate=6000/s`, then the
    /// running accounting (`total_lines=N total_processed=N
    /// total_filtered=N total_dropped=N`): stable keys, milliseconds
    /// always, `-` where a value does not apply.
    pub fn line(&self) -> String {
        let opt = |d: Option<Duration>| d.map_or_else(|| "-".to_string(), ms);
        let mut s = format!(
            "spate: batch {} records={} rows={} processing={} scheduling_delay={} total_delay={} rate={}/s",
            format_time(self.time, TimeFormat::Rfc3339, true),
            self.records,
            self.rows,
            ms(self.processing),
            opt(self.scheduling_delay),
            opt(self.total_delay),
            per_sec(self.rate()),
        );
        if let Some(c) = &self.totals {
            s.push_str(&format!(
                " total_lines={} total_processed={} total_filtered={} total_dropped={}",
                c.lines,
                c.processed,
                c.filtered,
                c.dropped()
            ));
        }
        s
    }

    /// The warning when processing took longer than the interval: batches
    /// then queue up and the delay grows without bound.
    pub fn behind(&self) -> Option<String> {
        let interval = self.interval.filter(|i| self.processing > *i)?;
        Some(format!(
            "spate: warning: batch {} processing={} is longer than the {} interval: spate is falling behind the input",
            format_time(self.time, TimeFormat::Rfc3339, true),
            ms(self.processing),
            format_duration(interval),
        ))
    }
}

/// Milliseconds with a unit, one decimal (three below a millisecond).
fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1e3;
    if v < 1.0 {
        format!("{v:.3}ms")
    } else {
        format!("{v:.1}ms")
    }
}

/// A rate: whole numbers, one decimal below 10.
fn per_sec(r: f64) -> String {
    if r < 10.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounting_summary_lists_drops_and_repairs() {
        let mut c = Counts {
            lines: 10,
            processed: 7,
            filtered: 1,
            ..Counts::default()
        };
        assert_eq!(c.summary(), None);
        c.add(Reason::Unparsed);
        c.add(Reason::Unparsed);
        c.add(Reason::BadUtf8);
        assert_eq!(
            c.summary().as_deref(),
            Some(
                "spate: 10 lines read: 7 processed, 1 filtered, 2 dropped (2 unparsed); \
                 repaired (1 bad UTF-8)"
            )
        );
    }

    #[test]
    fn accounting_every_line_is_processed_filtered_or_dropped() {
        let mut cx = Ctx::new(false);
        // processed, with a repair
        cx.counts.lines += 1;
        cx.drop_line(Reason::BadUtf8, "x");
        cx.end_line(1);
        // filtered
        cx.counts.lines += 1;
        cx.end_line(0);
        // dropped twice over (two records of one line): counted once
        cx.counts.lines += 1;
        cx.drop_line(Reason::Late, "x");
        cx.drop_line(Reason::Untimed, "x");
        cx.end_line(0);
        // partly dropped, partly delivered: processed
        cx.counts.lines += 1;
        cx.drop_line(Reason::Late, "x");
        cx.end_line(2);
        let c = &cx.counts;
        assert_eq!((c.processed, c.filtered, c.dropped()), (2, 1, 1));
        assert_eq!(c.get(Reason::Late), 1);
        assert_eq!(c.get(Reason::BadUtf8), 1);
        assert!(c.balanced());
    }

    #[test]
    fn accounting_unemitted_is_a_fourth_bucket_in_the_summary() {
        let mut c = Counts {
            lines: 10,
            processed: 9,
            filtered: 1,
            ..Counts::default()
        };
        assert_eq!(c.summary(), None);
        c.hold_back(4);
        assert!(c.balanced());
        assert_eq!(
            c.summary().as_deref(),
            Some(
                "spate: 10 lines read: 5 processed, 1 filtered, 0 dropped, 4 unemitted \
                 (the run stopped before their batch was written)"
            )
        );
        c.add(Reason::Late);
        c.lines += 1;
        assert!(c.balanced());
        assert!(
            c.summary()
                .is_some_and(|s| s.contains("1 dropped (1 late), 4 unemitted")),
            "{:?}",
            c.summary()
        );
    }

    #[test]
    fn accounting_pending_lines_leave_as_their_batches_are_written() {
        let mut p = Pending::default();
        p.add(10, 3);
        p.add(20, 2);
        p.add(20, 1);
        p.add(30, 0);
        assert_eq!(p.total(), 6);
        p.written_upto(10);
        assert_eq!(p.total(), 3);
        p.written_upto(25);
        assert_eq!(p.total(), 0);
    }

    #[test]
    fn accounting_strict_keeps_first_offence() {
        let mut cx = Ctx::new(true);
        cx.line = 3;
        cx.drop_line(Reason::InvalidJson, "x");
        cx.line = 4;
        cx.drop_line(Reason::Unparsed, "y");
        assert_eq!(cx.offence.as_ref().map(|o| o.line), Some(3));
    }

    #[test]
    fn accounting_stats_json_has_every_reason() {
        let mut c = Counts {
            lines: 5,
            processed: 2,
            filtered: 1,
            records: 4,
            ..Counts::default()
        };
        c.add(Reason::InvalidJson);
        c.add(Reason::Late);
        c.add(Reason::Cut);
        let extra = Extra {
            overflow: Overflow {
                max_keys: 10,
                results: 1,
                records: 3,
            },
            connections_refused: 2,
        };
        assert_eq!(
            stats_json(&c, &extra),
            r#"{"accounting":{"lines":5,"processed":2,"filtered":1,"dropped":2,"unemitted":0,"#
                .to_string()
                + r#""by_reason":{"unparsed":0,"invalid_json":1,"invalid_csv":0,"late":1,"untimed":0},"#
                + r#""repaired":{"bad_utf8":0,"cut":1},"records":4,"#
                + r#""key_overflow":{"max_keys":10,"results":1,"records":3},"connections_refused":2}}"#
        );
        assert_eq!(
            extra.summary(),
            [
                "spate: --max-keys 10: 1 result went over it; 3 records counted under (other)",
                "spate: 2 connections refused (--max-connections)"
            ]
        );
        assert!(Extra::default().summary().is_empty());
    }

    fn stats() -> BatchStats {
        BatchStats {
            // 2026-11-24T01:02:04Z
            time: 1_795_482_124_000_000_000,
            records: 12_000,
            rows: 42,
            processing: Duration::from_micros(3_140),
            scheduling_delay: Some(Duration::from_micros(400)),
            total_delay: Some(Duration::from_micros(3_600)),
            span: Duration::from_secs(2),
            interval: Some(Duration::from_secs(2)),
            totals: None,
        }
    }

    #[test]
    fn accounting_stats_line_is_key_value() {
        assert_eq!(
            stats().line(),
            "spate: batch 2026-11-24T01:02:04.000Z records=12000 rows=42 processing=3.1ms \
             scheduling_delay=0.400ms total_delay=3.6ms rate=6000/s"
        );
        let mut totals = Counts {
            lines: 5,
            processed: 3,
            filtered: 1,
            ..Counts::default()
        };
        totals.add(Reason::Late);
        let running = BatchStats {
            totals: Some(totals),
            ..stats()
        };
        assert!(
            running.line().ends_with(
                "rate=6000/s total_lines=5 total_processed=3 total_filtered=1 total_dropped=1"
            ),
            "{}",
            running.line()
        );
        let event = BatchStats {
            scheduling_delay: None,
            total_delay: None,
            records: 3,
            ..stats()
        };
        assert!(
            event
                .line()
                .ends_with("scheduling_delay=- total_delay=- rate=1.5/s"),
            "{}",
            event.line()
        );
    }

    #[test]
    fn accounting_stats_warns_only_past_the_interval() {
        assert_eq!(stats().behind(), None);
        let slow = BatchStats {
            processing: Duration::from_millis(2_500),
            ..stats()
        };
        assert_eq!(
            slow.behind().as_deref(),
            Some(
                "spate: warning: batch 2026-11-24T01:02:04.000Z processing=2500.0ms is longer \
                 than the 2s interval: spate is falling behind the input"
            )
        );
        let no_interval = BatchStats {
            interval: None,
            ..slow
        };
        assert_eq!(no_interval.behind(), None);
    }
}
