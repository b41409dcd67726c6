//! `-o jsonl`: one compact JSON object per row, `"time"` first and then the
//! fields in column order (`_` as `"value"`); a missing field is absent.
//! Integers and other numbers are JSON numbers, in the SPEC's number format
//! (up to 6 decimals); NaN and the infinities, which JSON cannot hold, are
//! `null`. Text written exactly as spate writes a number
//! ([`numfmt::is_number_text`]: `200`, `0.5`) is a JSON number too, unless
//! it was a JSON string where it was read ([`crate::value::Text::quoted`]);
//! other text (`007`, `1.50`, `1e5`) is a string. Booleans, null and nested
//! JSON are written as they are. The time is a string in RFC 3339 and a number with
//! `--time-format epoch` or `epoch-ms`. A field that shares a name with
//! another (a field called `time`, say) is written as it is, so the object
//! then holds that key twice.
//!
//! The helpers here also serve `-o json`, which nests the same row objects.

use std::io::{self, Write};

use super::{BatchOut, Block, Carried, Formatter, Options, RowSource};
use crate::numfmt;
use crate::record::Record;
use crate::timestamp::{Nanos, TimeFormat};
use crate::value::Value;

pub struct Jsonl {
    opts: Options,
    bufs: Vec<Vec<u8>>,
}

impl Jsonl {
    pub fn new(opts: Options) -> Self {
        Jsonl {
            opts,
            bufs: Vec::new(),
        }
    }
}

/// Appends `s` as a JSON string.
pub fn write_str(buf: &mut Vec<u8>, s: &str) -> io::Result<()> {
    serde_json::to_writer(buf, s).map_err(io::Error::from)
}

/// Appends a batch time as a JSON value: a string in RFC 3339, else a
/// number.
pub fn write_time(buf: &mut Vec<u8>, opts: &Options, t: Nanos) -> io::Result<()> {
    let text = opts.time_text(t);
    match opts.time_format {
        TimeFormat::Rfc3339 => write_str(buf, &text),
        TimeFormat::Epoch | TimeFormat::EpochMs => {
            buf.extend_from_slice(text.as_bytes());
            Ok(())
        }
    }
}

/// Appends text that is not a JSON string where it was read: a JSON number
/// when it is written exactly as spate writes one, else a string.
pub fn write_made_text(buf: &mut Vec<u8>, s: &str) -> io::Result<()> {
    if numfmt::is_number_text(s) {
        buf.extend_from_slice(s.as_bytes());
        Ok(())
    } else {
        write_str(buf, s)
    }
}

/// Appends one value as JSON; `scratch` is reused for number text.
pub fn write_value(buf: &mut Vec<u8>, v: &Value<'_>, scratch: &mut String) -> io::Result<()> {
    match v {
        Value::Null => buf.extend_from_slice(b"null"),
        Value::Bool(b) => buf.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => buf.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Value::Float(f) if f.is_finite() => {
            scratch.clear();
            numfmt::write_float(scratch, *f);
            buf.extend_from_slice(scratch.as_bytes());
        }
        Value::Float(_) => buf.extend_from_slice(b"null"),
        Value::Str(t) if t.quoted => write_str(buf, t)?,
        Value::Str(t) => write_made_text(buf, t)?,
        Value::Json(j) => serde_json::to_writer(&mut *buf, &**j).map_err(io::Error::from)?,
    }
    Ok(())
}

/// Appends the row's fields as `"name":value` pairs, each preceded by a
/// comma when `comma` is set and after the first otherwise.
pub fn write_fields(
    buf: &mut Vec<u8>,
    row: &Record<'_>,
    mut comma: bool,
    scratch: &mut String,
) -> io::Result<()> {
    for (name, v) in row.columns() {
        if comma {
            buf.push(b',');
        }
        comma = true;
        write_str(buf, name)?;
        buf.push(b':');
        write_value(buf, v, scratch)?;
    }
    Ok(())
}

impl Jsonl {
    fn write<R: RowSource + ?Sized>(
        &mut self,
        time: Nanos,
        start: Option<Nanos>,
        rows: &R,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        // `{"time":...` is the same for every row of the batch.
        let mut head = Vec::with_capacity(32);
        head.extend_from_slice(b"{\"time\":");
        write_time(&mut head, &self.opts, time)?;
        if self.opts.with_start {
            head.extend_from_slice(b",\"start\":");
            write_time(&mut head, &self.opts, start.unwrap_or(time))?;
        }
        // key-count rows: `,"name":` before the key and before the count
        let mut names: Vec<Vec<u8>> = Vec::new();
        for name in super::first_columns(rows)? {
            let mut n = vec![b','];
            write_str(&mut n, &name)?;
            n.push(b':');
            names.push(n);
        }
        super::write_rows(rows, out, &mut self.bufs, |block, buf| {
            let rows = match (block, names.as_slice()) {
                (Block::Rows(rows), _) => rows,
                (Block::KeyCounts(pairs), [key_name, count_name]) => {
                    for &(key, count) in pairs {
                        buf.extend_from_slice(&head);
                        buf.extend_from_slice(key_name);
                        // key-count keys are never JSON strings
                        write_made_text(buf, key)?;
                        buf.extend_from_slice(count_name);
                        buf.extend_from_slice(itoa::Buffer::new().format(count).as_bytes());
                        buf.extend_from_slice(b"}\n");
                    }
                    return Ok(());
                }
                (Block::KeyCounts(_), _) => {
                    return Err(io::Error::other("key-count rows without two columns"));
                }
            };
            // number text, once per block
            let scratch = &mut String::new();
            for row in rows {
                buf.extend_from_slice(&head);
                write_fields(buf, row, true, scratch)?;
                buf.extend_from_slice(b"}\n");
            }
            Ok(())
        })
    }
}

impl Formatter for Jsonl {
    /// Nothing: each row stands alone.
    fn carried(&self) -> Carried {
        Carried::default()
    }
    fn carry_on(&mut self, _c: Carried) {}
    fn rows_carry_time(&self) -> bool {
        true
    }

    fn batch(&mut self, b: &BatchOut<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.write(b.time, b.start, b.rows, out)
    }

    fn batch_lazy(
        &mut self,
        time: Nanos,
        start: Option<Nanos>,
        rows: &dyn RowSource,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        self.write(time, start, rows, out)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::sink::testing::{T, kv, opts, render, render_at};

    #[test]
    fn jsonl_one_object_per_row_time_first() {
        let mut f = Jsonl::new(opts());
        assert_eq!(
            render(&mut f, &[kv("a", 2), kv("b", 1)]),
            "{\"time\":\"2026-11-24T01:02:04Z\",\"key\":\"a\",\"count\":2}\n\
             {\"time\":\"2026-11-24T01:02:04Z\",\"key\":\"b\",\"count\":1}\n"
        );
    }

    /// Text written exactly as spate writes a number is a JSON number,
    /// other text a string, and a JSON string stays one whatever it reads.
    #[test]
    fn jsonl_number_text_is_a_number_but_json_strings_stay_strings() {
        let mut f = Jsonl::new(opts());
        let row = Record::row(
            [
                ("status", Value::str("200")),
                ("neg", Value::str("-3.25")),
                ("zero", Value::str("0")),
                ("padded", Value::str("007")),
                ("trailing", Value::str("1.50")),
                ("exp", Value::str("1e5")),
                ("plus", Value::str("+1")),
                ("seven", Value::str("1.0000001")),
                ("quoted", Value::json_str(Cow::Borrowed("3"))),
                ("word", Value::str("ok")),
            ]
            .into_iter()
            .map(|(n, v)| (Cow::Borrowed(n), v))
            .collect(),
        );
        let line = render(&mut f, &[row]);
        assert_eq!(
            line,
            "{\"time\":\"2026-11-24T01:02:04Z\",\"status\":200,\"neg\":-3.25,\"zero\":0,\
             \"padded\":\"007\",\"trailing\":\"1.50\",\"exp\":\"1e5\",\"plus\":\"+1\",\
             \"seven\":\"1.0000001\",\"quoted\":\"3\",\"word\":\"ok\"}\n"
        );
        let back: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(back["status"], 200);
        assert_eq!(back["quoted"], "3");
    }

    #[test]
    fn jsonl_types_numbers_and_keeps_nested_json() {
        let mut f = Jsonl::new(opts());
        let mut r = Record::from_line(Cow::Borrowed("42"), "");
        r.set(Cow::Borrowed("mean"), Value::Float(2.0));
        r.set(Cow::Borrowed("third"), Value::Float(1.0 / 3.0));
        r.set(Cow::Borrowed("nan"), Value::Float(f64::NAN));
        r.set(Cow::Borrowed("none"), Value::Null);
        r.set(Cow::Borrowed("ok"), Value::Bool(false));
        r.set(
            Cow::Borrowed("user"),
            Value::Json(Box::new(serde_json::json!({"id": 7, "tags": ["x"]}))),
        );
        assert_eq!(
            render(&mut f, &[r]),
            "{\"time\":\"2026-11-24T01:02:04Z\",\"value\":42,\"mean\":2,\"third\":0.333333,\
             \"nan\":null,\"none\":null,\"ok\":false,\"user\":{\"id\":7,\"tags\":[\"x\"]}}\n"
        );
    }

    #[test]
    fn jsonl_escapes_strings_and_names() {
        let mut f = Jsonl::new(opts());
        let r = Record::row(vec![(
            Cow::Borrowed("a\"b"),
            Value::str("tab\there \"q\" back\\slash\nnl \u{1} é"),
        )]);
        let line = render(&mut f, &[r]);
        assert_eq!(
            line,
            "{\"time\":\"2026-11-24T01:02:04Z\",\"a\\\"b\":\
             \"tab\\there \\\"q\\\" back\\\\slash\\nnl \\u0001 é\"}\n"
        );
        let back: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(back["a\"b"], "tab\there \"q\" back\\slash\nnl \u{1} é");
    }

    #[test]
    fn jsonl_epoch_times_are_numbers() {
        let mut f = Jsonl::new(Options {
            time_format: TimeFormat::Epoch,
            millis: true,
            ..opts()
        });
        let rows = [kv("a", 1)];
        assert_eq!(
            render_at(&mut f, T + 5_000_000, None, &rows),
            "{\"time\":1795482124.005,\"key\":\"a\",\"count\":1}\n"
        );

        let mut f = Jsonl::new(Options {
            time_format: TimeFormat::EpochMs,
            ..opts()
        });
        assert_eq!(
            render(&mut f, &rows),
            "{\"time\":1795482124000,\"key\":\"a\",\"count\":1}\n"
        );
    }

    #[test]
    fn jsonl_prints_nothing_for_an_empty_batch() {
        let mut f = Jsonl::new(opts());
        assert_eq!(render(&mut f, &[]), "");
    }
}
