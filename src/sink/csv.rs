//! `-o csv`: RFC 4180. A header line once (before the first row spate
//! prints), its first column `time` and then the first row's column names;
//! then one line per row, the batch time and then each field. A field that
//! holds a comma, a double quote, a carriage return or a newline is quoted,
//! its double quotes doubled. Lines end with `\n`, as most Unix tools (and
//! the `csv` crate's writer) expect. Rows are written field by field, like
//! `tsv`: a row whose fields differ from the header's is not realigned.

use std::io::{self, Write};

use super::{BatchOut, Formatter, Options};

pub struct Csv {
    opts: Options,
    header_done: bool,
    line: String,
    scratch: String,
}

impl Csv {
    pub fn new(opts: Options) -> Self {
        Csv {
            opts,
            header_done: false,
            line: String::new(),
            scratch: String::new(),
        }
    }
}

/// Appends `s` as one CSV field, quoted only when it must be.
pub fn field_into(out: &mut String, s: &str) {
    if !s.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        out.push_str(s);
        return;
    }
    out.push('"');
    let mut rest = s;
    while let Some(i) = rest.find('"') {
        out.push_str(&rest[..=i]);
        out.push('"');
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out.push('"');
}

impl Formatter for Csv {
    fn rows_carry_time(&self) -> bool {
        true
    }

    fn batch(&mut self, b: &BatchOut<'_>, out: &mut dyn Write) -> io::Result<()> {
        // An empty batch has no line to print and no columns for a header.
        let Some(first) = b.rows.first() else {
            return Ok(());
        };
        self.line.clear();
        if !self.header_done {
            self.header_done = true;
            self.line.push_str("time");
            for (name, _) in first.columns() {
                self.line.push(',');
                field_into(&mut self.line, name);
            }
            self.line.push('\n');
        }
        self.scratch.clear();
        field_into(&mut self.scratch, &self.opts.time_text(b.time));
        let time = std::mem::take(&mut self.scratch);
        for row in b.rows {
            self.line.push_str(&time);
            for (_, v) in row.columns() {
                self.line.push(',');
                match v.as_str() {
                    Some(s) => field_into(&mut self.line, s),
                    None => {
                        self.scratch.clear();
                        v.write_text(&mut self.scratch);
                        field_into(&mut self.line, &self.scratch);
                    }
                }
            }
            self.line.push('\n');
            if self.line.len() > 1 << 16 {
                out.write_all(self.line.as_bytes())?;
                self.line.clear();
            }
        }
        self.scratch = time;
        out.write_all(self.line.as_bytes())
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
    fn csv_prints_the_header_once() {
        let mut f = Csv::new(opts());
        assert_eq!(
            render(&mut f, &[kv("a", 2), kv("b", 1)]),
            "time,key,count\n\
             2026-11-24T01:02:04Z,a,2\n\
             2026-11-24T01:02:04Z,b,1\n"
        );
        assert_eq!(
            render_at(&mut f, T + 1_000_000_000, None, &[kv("c", 5)]),
            "2026-11-24T01:02:05Z,c,5\n"
        );
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut f = Csv::new(opts());
        let row = Record::row(vec![
            (Cow::Borrowed("a,b"), Value::str("say \"hi\"")),
            (Cow::Borrowed("c"), Value::str("two\nlines")),
            (Cow::Borrowed("d"), Value::str("cr\r")),
            (Cow::Borrowed("e"), Value::str("plain 'text'; ok")),
        ]);
        assert_eq!(
            render(&mut f, &[row]),
            "time,\"a,b\",c,d,e\n\
             2026-11-24T01:02:04Z,\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\",plain 'text'; ok\n"
        );
    }

    #[test]
    fn csv_names_the_current_value_and_formats_numbers() {
        let mut f = Csv::new(opts());
        let mut r = Record::from_line(Cow::Borrowed("hello, world"), "");
        r.set(Cow::Borrowed("mean"), Value::Float(2.0));
        r.set(Cow::Borrowed("third"), Value::Float(1.0 / 3.0));
        r.set(Cow::Borrowed("none"), Value::Null);
        r.set(Cow::Borrowed("ok"), Value::Bool(true));
        r.set(
            Cow::Borrowed("obj"),
            Value::Json(Box::new(serde_json::json!({"a": [1, "x"]}))),
        );
        assert_eq!(
            render(&mut f, &[r]),
            "time,value,mean,third,none,ok,obj\n\
             2026-11-24T01:02:04Z,\"hello, world\",2,0.333333,,true,\"{\"\"a\"\":[1,\"\"x\"\"]}\"\n"
        );
    }

    #[test]
    fn csv_skips_empty_batches_and_waits_for_a_header() {
        let mut f = Csv::new(opts());
        assert_eq!(render(&mut f, &[]), "");
        assert_eq!(
            render(&mut f, &[kv("a", 1)]),
            "time,key,count\n2026-11-24T01:02:04Z,a,1\n"
        );
    }

    #[test]
    fn csv_epoch_times_with_millis() {
        let mut f = Csv::new(Options {
            time_format: TimeFormat::Epoch,
            millis: true,
            ..opts()
        });
        assert_eq!(
            render_at(&mut f, T + 250_000_000, None, &[kv("a", 1)]),
            "time,key,count\n1795482124.250,a,1\n"
        );
    }

    #[test]
    fn csv_output_reads_back_with_the_csv_crate() {
        let mut f = Csv::new(opts());
        let row = Record::row(vec![
            (Cow::Borrowed("x"), Value::str("a \"b\", c\r\nd")),
            (Cow::Borrowed("y"), Value::str("")),
        ]);
        let text = render(&mut f, &[row]);
        let mut r = ::csv::Reader::from_reader(text.as_bytes());
        let headers = r.headers().expect("a header").clone();
        assert_eq!(headers.iter().collect::<Vec<_>>(), ["time", "x", "y"]);
        let rec = r.records().next().expect("one record").expect("valid csv");
        assert_eq!(
            rec.iter().collect::<Vec<_>>(),
            ["2026-11-24T01:02:04Z", "a \"b\", c\r\nd", ""]
        );
    }
}
