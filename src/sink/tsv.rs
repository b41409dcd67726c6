//! `-o tsv`: one line per row, the batch time then each field, separated by
//! tabs; a tab, newline or backslash inside a value is written `\t`, `\n`,
//! `\\` (and a carriage return `\r`). The cells are laid out under the
//! columns as [`super::columns`] says, so a value never moves under another
//! field; `--header` prints a header line, its first column `time`, and a
//! new header block after an empty line when a field outside the columns
//! comes; without it the columns grow in the same way, silently.

use std::io::{self, Write};

use super::columns::{Dialect, Table};
use super::{BatchOut, Carried, Formatter, Options, RowSource};
use crate::timestamp::Nanos;

pub struct Tsv(Table<TsvCells>);

/// tsv's separator and escaping.
pub struct TsvCells;

impl Dialect for TsvCells {
    const SEP: char = '\t';
    fn escape(out: &mut String, s: &str) {
        escape_into(out, s)
    }
}

impl Tsv {
    /// `known`: the chain's own columns, when it knows them.
    pub fn new(opts: Options, known: Option<Vec<String>>) -> Self {
        Tsv(Table::new(opts, opts.header, known))
    }
}

/// Appends `s` with TSV escapes.
pub fn escape_into(out: &mut String, s: &str) {
    if !s
        .bytes()
        .any(|b| matches!(b, b'\t' | b'\n' | b'\\' | b'\r'))
    {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
}

impl Formatter for Tsv {
    fn carried(&self) -> Carried {
        self.0.carried()
    }
    fn carry_on(&mut self, c: Carried) {
        self.0.carry_on(c);
    }
    fn rows_carry_time(&self) -> bool {
        true
    }

    fn batch(&mut self, b: &BatchOut<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.0.write(b.time, b.start, b.rows, out)
    }

    fn batch_lazy(
        &mut self,
        time: Nanos,
        start: Option<Nanos>,
        rows: &dyn RowSource,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        self.0.write(time, start, rows, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_escapes_specials() {
        let mut s = String::new();
        escape_into(&mut s, "a\tb\nc\\d");
        assert_eq!(s, "a\\tb\\nc\\\\d");
    }
}
