//! `-o pretty` (the default on a terminal): a banner per batch, then an
//! aligned table, a blank line between batches.
//!
//! ```text
//! ── 2026-11-24T01:02:04Z ── 2 rows
//! key    count
//! ─────  ─────
//! hello      3
//! world      1
//! ```
//!
//! A window's banner shows its span, `── window START .. END ── N rows`. An
//! empty batch (with `--emit-empty`, or `-b eof`'s) is its banner and
//! `(no rows)`. The table's columns are the chain's own when it knows them
//! (an aggregation's fields, `fields`' list), then every other column name
//! met in the batch's rows, in the order first met, so rows with different
//! fields share one table (a missing field is a blank cell). A column is right-aligned when every value
//! in it is a number (text that reads as one included, as `where` and `sort`
//! see it), else left-aligned. Cells are escaped as in `tsv` (`\t`, `\n`,
//! `\r`, `\\`), and any other control character as `\xNN` (`\u0085` for the
//! C1 controls), so data cannot move the cursor or recolour the terminal.
//! Widths count characters, with East Asian wide characters as two columns
//! and combining marks as none. Colours (a dim banner and rule, a bold
//! header) only when [`Options::color`] says so.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{BatchOut, Carried, Formatter, Options};
use crate::value::{Value, parse_num};

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";
const GAP: &str = "  ";

pub struct Pretty {
    opts: Options,
    /// The chain's own columns, when it knows them: every table has them.
    known: Vec<String>,
    batches: u64,
    /// Every cell's escaped text, back to back.
    text: String,
    cells: Vec<Cell>,
    line: String,
    scratch: String,
}

/// One cell of the table, its text in `Pretty::text`.
struct Cell {
    col: usize,
    start: usize,
    end: usize,
    width: usize,
}

struct Column<'n> {
    name: &'n str,
    width: usize,
    /// No value in the column so far is anything but a number or null.
    numeric: bool,
    /// Some value in the column is not null.
    filled: bool,
}

impl Column<'_> {
    fn right(&self) -> bool {
        self.numeric && self.filled
    }
}

impl Pretty {
    pub fn new(opts: Options) -> Self {
        Pretty {
            opts,
            known: Vec::new(),
            batches: 0,
            text: String::new(),
            cells: Vec::new(),
            line: String::new(),
            scratch: String::new(),
        }
    }

    /// Every table starts with these columns (the chain's own).
    pub fn with_columns(mut self, known: Option<Vec<String>>) -> Self {
        self.known = known.unwrap_or_default();
        self
    }

    fn banner(&mut self, b: &BatchOut<'_>) {
        let line = &mut self.line;
        if self.opts.color {
            line.push_str(DIM);
        }
        line.push_str("── ");
        if let Some(start) = b.start {
            if !self.opts.with_start {
                line.push_str("window ");
            }
            line.push_str(&self.opts.local_time_text(start));
            line.push_str(" .. ");
        }
        line.push_str(&self.opts.local_time_text(b.time));
        let n = b.rows.len();
        let _ = write!(line, " ── {n} {}", if n == 1 { "row" } else { "rows" });
        if self.opts.color {
            line.push_str(RESET);
        }
        line.push('\n');
    }
}

/// Appends `s` with tsv's escapes plus `\xNN`/`\uNNNN` for other control
/// characters.
pub fn escape_into(out: &mut String, s: &str) {
    let plain = |c: char| !(c.is_control() || c == '\\');
    if s.chars().all(plain) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let cp = u32::from(c);
                let _ = if cp < 0x80 {
                    write!(out, "\\x{cp:02x}")
                } else {
                    write!(out, "\\u{cp:04x}")
                };
            }
            c => out.push(c),
        }
    }
}

/// Terminal columns a character takes, roughly as `wcwidth` counts them.
pub(crate) fn char_width(c: char) -> usize {
    let cp = u32::from(c);
    if cp < 0x300 {
        return 1;
    }
    let zero = matches!(cp,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A
        | 0x064B..=0x065F | 0x0E31 | 0x0E34..=0x0E3A | 0x0E47..=0x0E4E
        | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x200B..=0x200F | 0x20D0..=0x20FF
        | 0xFE00..=0xFE0F | 0xFE20..=0xFE2F | 0xE0100..=0xE01EF);
    if zero {
        return 0;
    }
    let wide = matches!(cp,
        0x1100..=0x115F | 0x231A..=0x231B | 0x2329..=0x232A | 0x23E9..=0x23EC
        | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xA960..=0xA97F | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE10..=0xFE19 | 0xFE30..=0xFE6F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F | 0x1F900..=0x1F9FF | 0x20000..=0x3FFFD);
    if wide { 2 } else { 1 }
}

fn display_width(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().map(char_width).sum()
    }
}

fn is_number(v: &Value<'_>) -> bool {
    match v {
        Value::Int(_) | Value::Float(_) => true,
        Value::Str(s) => parse_num(s).is_some(),
        Value::Null | Value::Bool(_) | Value::Json(_) => false,
    }
}

/// The column a row's field goes to: the same position when the names
/// agree (the usual case), else the first free column of that name, else a
/// new one. `used` marks the columns this row has filled.
fn slot<'n>(cols: &mut Vec<Column<'n>>, used: &mut Vec<bool>, j: usize, name: &'n str) -> usize {
    let free = |i: usize, cols: &[Column<'_>], used: &[bool]| cols[i].name == name && !used[i];
    let i = if j < cols.len() && free(j, cols, used) {
        j
    } else if let Some(i) = (0..cols.len()).find(|&i| free(i, cols, used)) {
        i
    } else {
        cols.push(Column {
            name,
            width: display_width(name),
            numeric: true,
            filled: false,
        });
        used.push(false);
        cols.len() - 1
    };
    used[i] = true;
    i
}

/// Appends `text` (`text_width` columns wide) padded to `width` columns.
fn push_cell(line: &mut String, text: &str, text_width: usize, width: usize, right: bool) {
    let pad = width.saturating_sub(text_width);
    if right {
        line.extend(std::iter::repeat_n(' ', pad));
        line.push_str(text);
    } else {
        line.push_str(text);
        line.extend(std::iter::repeat_n(' ', pad));
    }
}

impl Formatter for Pretty {
    /// How many batches were written (a blank line goes between two).
    fn carried(&self) -> Carried {
        Carried {
            batches: self.batches,
            ..Carried::default()
        }
    }
    fn carry_on(&mut self, c: Carried) {
        self.batches = c.batches;
    }
    fn batch(&mut self, b: &BatchOut<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.line.clear();
        if self.batches > 0 {
            self.line.push('\n');
        }
        self.batches += 1;
        self.banner(b);
        if b.rows.is_empty() {
            self.line.push_str("(no rows)\n");
            return out.write_all(self.line.as_bytes());
        }

        // Lay the batch out: the columns, and every cell's escaped text.
        let mut cols: Vec<Column<'_>> = self
            .known
            .iter()
            .map(|name| Column {
                name,
                width: display_width(name),
                numeric: true,
                filled: false,
            })
            .collect();
        let mut used: Vec<bool> = vec![false; cols.len()];
        // Where each row's cells start in `cells`.
        let mut row_starts = Vec::with_capacity(b.rows.len() + 1);
        self.text.clear();
        self.cells.clear();
        for row in b.rows {
            row_starts.push(self.cells.len());
            used.iter_mut().for_each(|u| *u = false);
            for (j, (name, v)) in row.columns().enumerate() {
                let col = slot(&mut cols, &mut used, j, name);
                let start = self.text.len();
                match v.as_str() {
                    Some(s) => escape_into(&mut self.text, s),
                    None => {
                        self.scratch.clear();
                        v.write_text(&mut self.scratch);
                        escape_into(&mut self.text, &self.scratch);
                    }
                }
                let width = display_width(&self.text[start..]);
                let c = &mut cols[col];
                c.width = c.width.max(width);
                if !v.is_null() {
                    c.numeric &= is_number(v);
                    c.filled = true;
                }
                self.cells.push(Cell {
                    col,
                    start,
                    end: self.text.len(),
                    width,
                });
            }
        }
        row_starts.push(self.cells.len());
        let Some(last) = cols.len().checked_sub(1) else {
            // Rows with no fields at all (`fields` of names none has).
            self.line.push_str("(no fields)\n");
            return out.write_all(self.line.as_bytes());
        };

        // The header, escaped like the cells, then a rule under it.
        if self.opts.color {
            self.line.push_str(BOLD);
        }
        for (i, c) in cols.iter().enumerate() {
            if i > 0 {
                self.line.push_str(GAP);
            }
            self.scratch.clear();
            escape_into(&mut self.scratch, c.name);
            let w = display_width(&self.scratch);
            let width = if i == last && !c.right() { w } else { c.width };
            push_cell(&mut self.line, &self.scratch, w, width, c.right());
        }
        if self.opts.color {
            self.line.push_str(RESET);
        }
        self.line.push('\n');
        if self.opts.color {
            self.line.push_str(DIM);
        }
        for (i, c) in cols.iter().enumerate() {
            if i > 0 {
                self.line.push_str(GAP);
            }
            self.line.extend(std::iter::repeat_n('─', c.width));
        }
        if self.opts.color {
            self.line.push_str(RESET);
        }
        self.line.push('\n');

        // The rows; a row's trailing blank cells and padding are not printed.
        let mut grid: Vec<Option<usize>> = vec![None; cols.len()];
        for r in 0..b.rows.len() {
            grid.iter_mut().for_each(|g| *g = None);
            for k in row_starts[r]..row_starts[r + 1] {
                grid[self.cells[k].col] = Some(k);
            }
            let mut content_end = self.line.len();
            for (i, c) in cols.iter().enumerate() {
                if i > 0 {
                    self.line.push_str(GAP);
                }
                match grid[i] {
                    Some(k) => {
                        let cell = &self.cells[k];
                        let text = &self.text[cell.start..cell.end];
                        push_cell(&mut self.line, text, cell.width, c.width, c.right());
                        if !text.is_empty() {
                            content_end = self.line.len();
                            if !c.right() {
                                content_end -= c.width.saturating_sub(cell.width);
                            }
                        }
                    }
                    None => self.line.extend(std::iter::repeat_n(' ', c.width)),
                }
            }
            self.line.truncate(content_end);
            self.line.push('\n');
            if self.line.len() > 1 << 16 {
                out.write_all(self.line.as_bytes())?;
                self.line.clear();
            }
        }
        out.write_all(self.line.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::record::Record;
    use crate::sink::testing::{T, kv, opts, render, render_at};

    #[test]
    fn pretty_aligns_text_left_and_numbers_right() {
        let mut f = Pretty::new(opts());
        assert_eq!(
            render(&mut f, &[kv("hello", 3), kv("a", 1234567)]),
            "── 2026-11-24T01:02:04Z ── 2 rows\n\
             key      count\n\
             ─────  ───────\n\
             hello        3\n\
             a      1234567\n"
        );
    }

    #[test]
    fn pretty_blank_line_between_batches_and_no_colour_by_default() {
        let mut f = Pretty::new(opts());
        let first = render(&mut f, &[kv("a", 1)]);
        let second = render(&mut f, &[kv("b", 2)]);
        assert!(!first.starts_with('\n'));
        assert_eq!(
            second,
            "\n── 2026-11-24T01:02:04Z ── 1 row\nkey  count\n───  ─────\nb        2\n"
        );
        assert!(!first.contains('\x1b') && !second.contains('\x1b'));
    }

    #[test]
    fn pretty_colour_when_asked() {
        let mut f = Pretty::new(Options {
            color: true,
            ..opts()
        });
        assert_eq!(
            render(&mut f, &[kv("a", 1)]),
            "\x1b[2m── 2026-11-24T01:02:04Z ── 1 row\x1b[0m\n\
             \x1b[1mkey  count\x1b[0m\n\
             \x1b[2m───  ─────\x1b[0m\n\
             a        1\n"
        );
    }

    #[test]
    fn pretty_window_banner_shows_the_span() {
        let mut f = Pretty::new(opts());
        let text = render_at(&mut f, T, Some(T - 60_000_000_000), &[kv("a", 1)]);
        assert!(
            text.starts_with("── window 2026-11-24T01:01:04Z .. 2026-11-24T01:02:04Z ── 1 row\n"),
            "{text}"
        );
    }

    #[test]
    fn pretty_rows_without_fields_do_not_panic() {
        let mut f = Pretty::new(opts());
        assert_eq!(
            render(&mut f, &[Record::row(Vec::new())]),
            "── 2026-11-24T01:02:04Z ── 1 row\n(no fields)\n"
        );
    }

    #[test]
    fn pretty_empty_batch_says_no_rows() {
        let mut f = Pretty::new(opts());
        assert_eq!(
            render(&mut f, &[]),
            "── 2026-11-24T01:02:04Z ── 0 rows\n(no rows)\n"
        );
    }

    #[test]
    fn pretty_escapes_cells_like_tsv_and_hides_control_characters() {
        let mut f = Pretty::new(opts());
        let rows = [Record::from_line(
            Cow::Borrowed("a\tb\nc\\d \x1b[31mred\u{85}"),
            "",
        )];
        assert_eq!(
            render(&mut f, &rows),
            "── 2026-11-24T01:02:04Z ── 1 row\n\
             value\n\
             ────────────────────────────\n\
             a\\tb\\nc\\\\d \\x1b[31mred\\u0085\n"
        );
    }

    #[test]
    fn pretty_numbers_use_the_spec_format_and_numeric_text_aligns_right() {
        let mut f = Pretty::new(opts());
        let row = |status: &'static str, mean: f64| {
            Record::row(vec![
                (Cow::Borrowed("status"), Value::str(status)),
                (Cow::Borrowed("mean"), Value::Float(mean)),
                (Cow::Borrowed("note"), Value::Null),
            ])
        };
        assert_eq!(
            render(&mut f, &[row("200", 2.0), row("404", 1.0 / 3.0)]),
            "── 2026-11-24T01:02:04Z ── 2 rows\n\
             status      mean  note\n\
             ──────  ────────  ────\n\
             \x20  200         2\n\
             \x20  404  0.333333\n"
        );
    }

    #[test]
    fn pretty_rows_with_different_fields_share_one_table() {
        let mut f = Pretty::new(opts());
        let mut a = Record::from_line(Cow::Borrowed("x"), "");
        a.set(Cow::Borrowed("n"), Value::Int(1));
        let mut b = Record::from_line(Cow::Borrowed("yy"), "");
        b.set(Cow::Borrowed("word"), Value::str("hi"));
        assert_eq!(
            render(&mut f, &[a, b]),
            "── 2026-11-24T01:02:04Z ── 2 rows\n\
             value  n  word\n\
             ─────  ─  ────\n\
             x      1\n\
             yy        hi\n"
        );
    }

    #[test]
    fn pretty_counts_wide_characters_as_two_columns() {
        let mut f = Pretty::new(opts());
        assert_eq!(
            render(&mut f, &[kv("日本", 1), kv("é", 22)]),
            "── 2026-11-24T01:02:04Z ── 2 rows\n\
             key   count\n\
             ────  ─────\n\
             日本      1\n\
             é        22\n"
        );
    }
}
