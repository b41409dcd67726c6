//! `-o json`: one compact JSON object per batch (or window) on one line,
//! `{"time":...,"rows":[...]}`, each row an object of its fields as in
//! `-o jsonl` but without `"time"`. An empty batch, printed only with
//! `--emit-empty`, has `"rows":[]`. A window is printed like a batch: its
//! time is its end.

use std::io::{self, Write};

use super::jsonl::{write_fields, write_time};
use super::{BatchOut, Carried, Formatter, Options};

pub struct Json {
    opts: Options,
    buf: Vec<u8>,
    scratch: String,
}

impl Json {
    pub fn new(opts: Options) -> Self {
        Json {
            opts,
            buf: Vec::new(),
            scratch: String::new(),
        }
    }
}

impl Formatter for Json {
    /// Nothing: each batch stands alone.
    fn carried(&self) -> Carried {
        Carried::default()
    }
    fn carry_on(&mut self, _c: Carried) {}
    fn batch(&mut self, b: &BatchOut<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.buf.clear();
        self.buf.extend_from_slice(b"{\"time\":");
        write_time(&mut self.buf, &self.opts, b.time)?;
        self.buf.extend_from_slice(b",\"rows\":[");
        for (i, row) in b.rows.iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            self.buf.push(b'{');
            if self.opts.with_start {
                self.buf.extend_from_slice(b"\"start\":");
                write_time(&mut self.buf, &self.opts, b.start_of(i))?;
            }
            write_fields(&mut self.buf, row, self.opts.with_start, &mut self.scratch)?;
            self.buf.push(b'}');
            // A big batch is still one line, written in pieces.
            if self.buf.len() > 1 << 16 {
                out.write_all(&self.buf)?;
                self.buf.clear();
            }
        }
        self.buf.extend_from_slice(b"]}\n");
        out.write_all(&self.buf)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::record::Record;
    use crate::sink::testing::{T, kv, opts, render, render_at};
    use crate::timestamp::TimeFormat;
    use crate::value::Value;

    #[test]
    fn json_one_line_per_batch() {
        let mut f = Json::new(opts());
        let line = render(&mut f, &[kv("a", 2), kv("b\"", 1)]);
        assert_eq!(
            line,
            "{\"time\":\"2026-11-24T01:02:04Z\",\"rows\":[\
             {\"key\":\"a\",\"count\":2},{\"key\":\"b\\\"\",\"count\":1}]}\n"
        );
        let back: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(back["rows"][1]["key"], "b\"");
    }

    #[test]
    fn json_empty_batch_has_no_rows() {
        let mut f = Json::new(opts());
        assert_eq!(
            render(&mut f, &[]),
            "{\"time\":\"2026-11-24T01:02:04Z\",\"rows\":[]}\n"
        );
    }

    #[test]
    fn json_window_prints_its_end_only() {
        let mut f = Json::new(opts());
        assert_eq!(
            render_at(&mut f, T, Some(T - 60_000_000_000), &[kv("a", 1)]),
            "{\"time\":\"2026-11-24T01:02:04Z\",\"rows\":[{\"key\":\"a\",\"count\":1}]}\n"
        );
    }

    #[test]
    fn json_numbers_and_epoch_time() {
        let mut f = Json::new(Options {
            time_format: TimeFormat::Epoch,
            ..opts()
        });
        let mut r = Record::from_line(Cow::Borrowed("x"), "");
        r.set(Cow::Borrowed("mean"), Value::Float(2.5));
        r.set(Cow::Borrowed("big"), Value::Float(1e21));
        r.set(Cow::Borrowed("n"), Value::Int(-3));
        let line = render(&mut f, &[r]);
        assert_eq!(
            line,
            "{\"time\":1795482124,\"rows\":[{\"value\":\"x\",\"mean\":2.5,\"big\":1e+21,\"n\":-3}]}\n"
        );
        let back: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(back["rows"][0]["big"], 1e21);
    }
}
