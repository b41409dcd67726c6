//! `-o csv`: RFC 4180. A header line, its first column `time`, then one
//! line per row, the batch time and then each field, laid out under the
//! columns as [`super::columns`] says: a row never has more or fewer cells
//! than the header above it, and a field outside the columns starts a new
//! header block after an empty line. A field that holds a comma, a double
//! quote, a carriage return or a newline is quoted, its double quotes
//! doubled. Lines end with `\n`, as most Unix tools (and the `csv` crate's
//! writer) expect.

use std::io::{self, Write};

use super::columns::{Dialect, Table};
use super::{BatchOut, Carried, Formatter, Options, RowSource};
use crate::timestamp::Nanos;

pub struct Csv(Table<CsvCells>);

/// csv's separator and escaping.
pub struct CsvCells;

impl Dialect for CsvCells {
    const SEP: char = ',';
    fn escape(out: &mut String, s: &str) {
        field_into(out, s)
    }
}

impl Csv {
    /// `known`: the chain's own columns, when it knows them.
    pub fn new(opts: Options, known: Option<Vec<String>>) -> Self {
        Csv(Table::new(opts, true, known))
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
    use std::borrow::Cow;

    use super::*;
    use crate::record::Record;
    use crate::sink::testing::{T, kv, opts, render, render_at};
    use crate::timestamp::TimeFormat;
    use crate::value::Value;

    #[test]
    fn csv_prints_the_header_once() {
        let mut f = Csv::new(opts(), None);
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
        let mut f = Csv::new(opts(), None);
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
        let mut f = Csv::new(opts(), None);
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
        let mut f = Csv::new(opts(), None);
        assert_eq!(render(&mut f, &[]), "");
        assert_eq!(
            render(&mut f, &[kv("a", 1)]),
            "time,key,count\n2026-11-24T01:02:04Z,a,1\n"
        );
    }

    #[test]
    fn csv_epoch_times_with_millis() {
        let mut f = Csv::new(
            Options {
                time_format: TimeFormat::Epoch,
                millis: true,
                ..opts()
            },
            None,
        );
        assert_eq!(
            render_at(&mut f, T + 250_000_000, None, &[kv("a", 1)]),
            "time,key,count\n1795482124.250,a,1\n"
        );
    }

    #[test]
    fn csv_output_reads_back_with_the_csv_crate() {
        let mut f = Csv::new(opts(), None);
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
