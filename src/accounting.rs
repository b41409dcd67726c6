//! Where every input line went: the drop and repair reasons, the counters
//! kept while processing, the exit summary and `--strict`'s first offence.

use std::fmt;

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

    fn index(self) -> usize {
        self as usize
    }
}

/// Counters for one run (or one part of one chunk, merged afterwards).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Input lines read.
    pub lines: u64,
    /// Lines every one of whose records a filter removed.
    pub filtered: u64,
    /// Records that reached the aggregation or the output.
    pub records: u64,
    by_reason: [u64; 7],
}

impl Counts {
    pub fn add(&mut self, r: Reason) {
        self.by_reason[r.index()] += 1;
    }

    pub fn get(&self, r: Reason) -> u64 {
        self.by_reason[r.index()]
    }

    pub fn dropped(&self) -> u64 {
        Reason::ALL
            .iter()
            .filter(|r| !r.is_repair())
            .map(|r| self.get(*r))
            .sum()
    }

    pub fn merge(&mut self, o: &Counts) {
        self.lines += o.lines;
        self.filtered += o.filtered;
        self.records += o.records;
        for i in 0..self.by_reason.len() {
            self.by_reason[i] += o.by_reason[i];
        }
    }

    /// The one-line exit summary, or `None` when nothing was dropped or
    /// repaired.
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
        if drops.is_empty() && repairs.is_empty() {
            return None;
        }
        let mut s = format!("spate: {} lines read", self.lines);
        if !drops.is_empty() {
            let n = self.dropped();
            s.push_str(&format!(
                "; dropped {} {} ({})",
                n,
                if n == 1 { "line" } else { "lines" },
                drops.join(", ")
            ));
        }
        if !repairs.is_empty() {
            s.push_str(&format!("; repaired ({})", repairs.join(", ")));
        }
        Some(s)
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

/// Per-line context handed to the per-record operators: the line's
/// number (for `--strict`) and the counters.
#[derive(Debug, Default)]
pub struct Ctx {
    pub counts: Counts,
    pub line: u64,
    /// Drops recorded for the current line.
    pub line_drops: u32,
    pub strict: bool,
    pub offence: Option<Offence>,
}

impl Ctx {
    pub fn new(strict: bool) -> Self {
        Ctx {
            strict,
            ..Ctx::default()
        }
    }

    /// Counts a drop or repair of the current line; under `--strict` the
    /// first one is kept to stop the run.
    pub fn drop_line(&mut self, reason: Reason, detail: impl fmt::Display) {
        self.counts.add(reason);
        if !reason.is_repair() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounting_summary_lists_drops_and_repairs() {
        let mut c = Counts {
            lines: 10,
            ..Counts::default()
        };
        assert_eq!(c.summary(), None);
        c.add(Reason::Unparsed);
        c.add(Reason::Unparsed);
        c.add(Reason::BadUtf8);
        assert_eq!(
            c.summary().as_deref(),
            Some("spate: 10 lines read; dropped 2 lines (2 unparsed); repaired (1 bad UTF-8)")
        );
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
}
