//! `-o spark`: what PySpark's `DStream.pprint()` prints, byte for byte:
//!
//! ```text
//! -------------------------------------------
//! Time: 2026-11-24 02:02:04
//! -------------------------------------------
//! ('hello', 3)
//! ('world', 1)
//!
//! ```
//!
//! The time is local (see [`crate::timestamp::write_spark_time`]), cut to
//! whole milliseconds as Spark's batch times are (`.772000`); at most
//! ten rows follow, then `...` when there are more, then an empty line. A
//! one-field row prints as Python's `print()` shows that value (text bare,
//! `2.0`, `None`, `True`); a longer row as a Python tuple of the values'
//! `repr`s. Numbers print as Python prints them (a float always with a
//! fraction or an exponent); nested JSON prints as the dict or list that
//! `json.loads` would give (`{'id': 7, 'tags': ['a']}`). Text prints as
//! Python prints a `str`, whatever it looks like (`'200'`). When the chain
//! knows its columns (an aggregation's, `fields`' list), every row is a
//! tuple of those, a field it lacks as `None` (`fields a,b,c` over a record
//! of `c` alone prints `(None, None, 5)`, as Spark prints a row with
//! nulls); otherwise a row is the tuple of the fields it has. An empty
//! batch (with `--emit-empty`, or `-b eof`'s) is the banner and the empty
//! line, as pprint shows one.

use std::io::{self, Write};

use super::columns::place;
use super::{BatchOut, Carried, Formatter, Options};
use crate::numfmt::{write_int, write_py_float, write_py_str_repr};
use crate::timestamp::write_spark_time_in;
use crate::value::Value;

/// pprint's default `num`.
const SHOWN: usize = 10;

const MILLI: i64 = 1_000_000;

const DASHES: &str = "-------------------------------------------\n";

pub struct Spark {
    buf: String,
    /// `--tz` (else the local zone, as PySpark prints).
    zone: Option<crate::zone::Zone>,
    /// The chain's own columns, when it knows them.
    known: Vec<String>,
}

impl Spark {
    pub fn new(opts: Options) -> Self {
        Spark {
            buf: String::new(),
            zone: opts.zone,
            known: Vec::new(),
        }
    }

    /// Every row is a tuple of these columns (the chain's own).
    pub fn with_columns(mut self, known: Option<Vec<String>>) -> Self {
        self.known = known.unwrap_or_default();
        self
    }
}

/// A missing field: Python's `None`.
static NONE: Value<'static> = Value::Null;

/// Appends what Python's `print(v)` shows (`str(v)`).
fn write_py_str(out: &mut String, v: &Value<'_>) {
    match v {
        Value::Str(s) => out.push_str(s),
        other => write_py_repr(out, other),
    }
}

/// Appends Python's `repr(v)`.
fn write_py_repr(out: &mut String, v: &Value<'_>) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Value::Int(i) => write_int(out, *i),
        Value::Float(f) => write_py_float(out, *f),
        Value::Str(s) => write_py_str_repr(out, s),
        Value::Json(j) => write_py_json(out, j),
    }
}

/// Appends the `repr` of what `json.loads` makes of `j`.
fn write_py_json(out: &mut String, j: &serde_json::Value) {
    use serde_json::Value as J;
    match j {
        J::Null => out.push_str("None"),
        J::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        J::Number(n) => match n.as_f64() {
            Some(f) if !(n.is_i64() || n.is_u64()) => write_py_float(out, f),
            _ => out.push_str(&n.to_string()),
        },
        J::String(s) => write_py_str_repr(out, s),
        J::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py_json(out, x);
            }
            out.push(']');
        }
        J::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py_str_repr(out, k);
                out.push_str(": ");
                write_py_json(out, x);
            }
            out.push('}');
        }
    }
}

impl Formatter for Spark {
    /// Nothing: each batch stands alone.
    fn carried(&self) -> Carried {
        Carried::default()
    }
    fn carry_on(&mut self, _c: Carried) {}
    fn batch(&mut self, b: &BatchOut<'_>, out: &mut dyn Write) -> io::Result<()> {
        let buf = &mut self.buf;
        buf.clear();
        buf.push_str(DASHES);
        buf.push_str("Time: ");
        // Spark's batch times are whole milliseconds.
        write_spark_time_in(buf, b.time - b.time.rem_euclid(MILLI), self.zone);
        buf.push('\n');
        buf.push_str(DASHES);
        let mut slots = Vec::new();
        let mut values: Vec<&Value<'_>> = Vec::new();
        for row in b.rows.iter().take(SHOWN) {
            values.clear();
            if self.known.is_empty() {
                values.extend(row.columns().map(|(_, v)| v));
            } else {
                // the known columns, then any field beyond them
                let extra = place(row, &self.known, &mut slots);
                values.extend(slots.iter().map(|v| v.unwrap_or(&NONE)));
                values.extend(extra.into_iter().map(|(_, v)| v));
            }
            let mut cols = values.iter().copied();
            match (cols.next(), cols.next()) {
                (None, _) => buf.push_str("()"),
                (Some(v), None) => write_py_str(buf, v),
                (Some(first), Some(second)) => {
                    buf.push('(');
                    write_py_repr(buf, first);
                    buf.push_str(", ");
                    write_py_repr(buf, second);
                    for v in cols {
                        buf.push_str(", ");
                        write_py_repr(buf, v);
                    }
                    buf.push(')');
                }
            }
            buf.push('\n');
        }
        if b.rows.len() > SHOWN {
            buf.push_str("...\n");
        }
        buf.push('\n');
        out.write_all(buf.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::record::Record;
    use crate::sink::testing::{T, kv, opts, render, render_at};
    use crate::timestamp::{Nanos, format_spark_time};

    fn banner(time: Nanos) -> String {
        format!("{DASHES}Time: {}\n{DASHES}", format_spark_time(time))
    }

    #[test]
    fn spark_time_is_whole_milliseconds_like_spark() {
        let text = render_at(&mut Spark::new(opts()), T + 772_313_999, None, &[]);
        assert_eq!(text, format!("{}\n", banner(T + 772_000_000)));
        assert!(text.contains(".772000\n"), "{text}");
    }

    fn one(v: Value<'static>) -> Record<'static> {
        Record::row(vec![(Cow::Borrowed("x"), v)])
    }

    #[test]
    fn spark_banner_is_43_dashes_and_the_local_time() {
        assert_eq!(DASHES.len(), 44);
        assert!(DASHES.trim_end().bytes().all(|b| b == b'-'));
        let text = render(&mut Spark::new(opts()), &[kv("hello", 3)]);
        assert_eq!(text, format!("{}('hello', 3)\n\n", banner(T)));
    }

    #[test]
    fn spark_fractional_time_has_microseconds() {
        let t = T + 500_000_000;
        let text = render_at(&mut Spark::new(opts()), t, None, &[]);
        assert!(format_spark_time(t).ends_with(".500000"));
        assert_eq!(text, format!("{}\n", banner(t)));
    }

    #[test]
    fn spark_empty_batch_is_banner_and_blank_line() {
        assert_eq!(
            render(&mut Spark::new(opts()), &[]),
            format!("{}\n", banner(T))
        );
    }

    #[test]
    fn spark_one_field_rows_print_bare() {
        let rows = [
            Record::from_line(Cow::Borrowed("it's a line"), ""),
            one(Value::Int(42)),
            one(Value::Float(2.0)),
            one(Value::Float(1.0 / 3.0)),
            one(Value::Null),
            one(Value::Bool(true)),
            one(Value::str("")),
        ];
        assert_eq!(
            render(&mut Spark::new(opts()), &rows),
            format!(
                "{}it's a line\n42\n2.0\n0.3333333333333333\nNone\nTrue\n\n\n",
                banner(T)
            )
        );
    }

    #[test]
    fn spark_tuples_use_python_reprs() {
        let rows = [
            kv("it's", 2),
            Record::row(vec![
                (Cow::Borrowed("a"), Value::str("say \"hi\"\n")),
                (Cow::Borrowed("mean"), Value::Float(2.0)),
                (Cow::Borrowed("n"), Value::Null),
                (Cow::Borrowed("ok"), Value::Bool(false)),
                (Cow::Borrowed("big"), Value::Float(1e16)),
                (Cow::Borrowed("both"), Value::str("'\"")),
            ]),
        ];
        assert_eq!(
            render(&mut Spark::new(opts()), &rows),
            format!(
                "{}(\"it's\", 2)\n('say \"hi\"\\n', 2.0, None, False, 1e+16, '\\'\"')\n\n",
                banner(T)
            )
        );
    }

    #[test]
    fn spark_nested_json_prints_as_python_objects() {
        let j = serde_json::json!({"id": 7, "f": 1.0, "tags": ["a", null, true], "o": {}});
        let rows = [
            one(Value::Json(Box::new(j.clone()))),
            Record::row(vec![
                (Cow::Borrowed("k"), Value::str("x")),
                (Cow::Borrowed("j"), Value::Json(Box::new(j))),
            ]),
        ];
        assert_eq!(
            render(&mut Spark::new(opts()), &rows),
            format!(
                "{b}{{'id': 7, 'f': 1.0, 'tags': ['a', None, True], 'o': {{}}}}\n\
                 ('x', {{'id': 7, 'f': 1.0, 'tags': ['a', None, True], 'o': {{}}}})\n\n",
                b = banner(T)
            )
        );
    }

    #[test]
    fn spark_shows_ten_rows_then_dots() {
        let rows: Vec<Record<'static>> = (0..11).map(|i| one(Value::Int(i))).collect();
        assert_eq!(
            render(&mut Spark::new(opts()), &rows),
            format!("{}0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n...\n\n", banner(T))
        );
        assert_eq!(
            render(&mut Spark::new(opts()), &rows[..10]),
            format!("{}0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n\n", banner(T))
        );
    }

    /// With the chain's columns, a row is a tuple of them, a missing field
    /// `None`, and a field beyond them after; without, the fields it has.
    #[test]
    fn spark_rows_follow_the_chain_columns() {
        let rec = |fields: &[(&'static str, i64)]| {
            Record::row(
                fields
                    .iter()
                    .map(|&(n, v)| (Cow::Borrowed(n), Value::Int(v)))
                    .collect(),
            )
        };
        let rows = [
            rec(&[("a", 1), ("b", 2)]),
            rec(&[("c", 5)]),
            rec(&[("d", 7), ("b", 3)]),
        ];
        let known = Some(vec!["a".to_string(), "b".to_string(), "c".to_string()]);
        assert_eq!(
            render(&mut Spark::new(opts()).with_columns(known), &rows),
            format!(
                "{}(1, 2, None)\n(None, None, 5)\n(None, 3, None, 7)\n\n",
                banner(T)
            )
        );
        assert_eq!(
            render(&mut Spark::new(opts()), &rows),
            format!("{}(1, 2)\n5\n(7, 3)\n\n", banner(T))
        );
        let one = Some(vec!["n".to_string()]);
        assert_eq!(
            render(
                &mut Spark::new(opts()).with_columns(one),
                &[Record::row(Vec::new())]
            ),
            format!("{}None\n\n", banner(T))
        );
    }

    #[test]
    fn spark_current_value_comes_first() {
        let mut r = Record::from_line(Cow::Borrowed("GET /"), "");
        r.set(Cow::Borrowed("status"), Value::str("200"));
        assert_eq!(
            render(&mut Spark::new(opts()), &[r]),
            format!("{}('GET /', '200')\n\n", banner(T))
        );
    }
}
