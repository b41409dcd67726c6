//! `-o tsv`: one line per row, the batch time then each field, separated by
//! tabs; a tab, newline or backslash inside a value is written `\t`, `\n`,
//! `\\` (and a carriage return `\r`). `--header` prints a header line once.

use std::io::{self, Write};

use super::{BatchOut, Block, Formatter, Options, RowSource, first_columns};
use crate::timestamp::Nanos;
use crate::value::Value;

pub struct Tsv {
    opts: Options,
    header_done: bool,
    /// The blocks' text buffers ([`super::write_rows`]).
    lines: Vec<String>,
}

impl Tsv {
    pub fn new(opts: Options) -> Self {
        Tsv {
            opts,
            header_done: !opts.header,
            lines: Vec::new(),
        }
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

impl Tsv {
    fn write<R: RowSource + ?Sized>(
        &mut self,
        time: Nanos,
        rows: &R,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let time = self.opts.time_text(time);
        if !self.header_done {
            self.header_done = true;
            let mut line = String::from("time");
            for name in first_columns(rows)? {
                line.push('\t');
                escape_into(&mut line, &name);
            }
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
        super::write_rows(rows, out, &mut self.lines, |block, line| {
            let rows = match block {
                Block::Rows(rows) => rows,
                Block::KeyCounts(pairs) => {
                    // as the rows would be: the key, then the count
                    for &(key, count) in pairs {
                        line.push_str(&time);
                        line.push('\t');
                        escape_into(line, key);
                        line.push('\t');
                        line.push_str(itoa::Buffer::new().format(count));
                        line.push('\n');
                    }
                    return Ok(());
                }
            };
            // number text, once per block
            let scratch = &mut String::new();
            for row in rows {
                line.push_str(&time);
                for (_, v) in row.columns() {
                    line.push('\t');
                    match v {
                        Value::Str(s) => escape_into(line, s),
                        Value::Int(i) => line.push_str(itoa::Buffer::new().format(*i)),
                        _ => {
                            scratch.clear();
                            v.write_text(scratch);
                            escape_into(line, scratch);
                        }
                    }
                }
                line.push('\n');
            }
            Ok(())
        })
    }
}

impl Formatter for Tsv {
    fn rows_carry_time(&self) -> bool {
        true
    }

    fn batch(&mut self, b: &BatchOut<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.write(b.time, b.rows, out)
    }

    fn batch_lazy(
        &mut self,
        time: Nanos,
        rows: &dyn RowSource,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        self.write(time, rows, out)
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
