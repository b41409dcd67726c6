//! `csv [-d DELIM] [--header | --columns a,b,c]`: parses `_` (or `-f
//! FIELD`) as one CSV record (RFC 4180 quoting) into text fields named by
//! position, by `--columns`, or by the header record. Owns the one-record
//! parser: values borrow from the line unless they hold `""` escapes.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex};

use arc_swap::ArcSwap;

use clap::{Arg, ArgAction, ArgMatches};

use crate::accounting::{Ctx, Reason};
use crate::ops::spark::{Spark, SparkCx, SparkMap, arg, py, reads_field};
use crate::ops::{BuildCx, Built, Operator, RecordOp, Stage, name_list};
use crate::record::{CURRENT, Name, Record};
use crate::value::{Text, Value};

pub struct Csv;

impl Operator for Csv {
    fn name(&self) -> &'static str {
        "csv"
    }
    fn summary(&self) -> &'static str {
        "Parse _ as one CSV record into fields (named 1, 2, ... or by a header)"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new("delimiter")
                .short('d')
                .long("delimiter")
                .value_name("DELIM")
                .default_value(",")
                .help("The field delimiter: one ASCII character; \\t or tab for a tab"),
        )
        .arg(
            Arg::new("header")
                .long("header")
                .action(ArgAction::SetTrue)
                .conflicts_with("columns")
                .help("The first record names the columns and is not output"),
        )
        .arg(
            Arg::new("columns")
                .long("columns")
                .value_name("NAMES")
                .help("Name the columns a,b,c (values beyond the names keep their position)"),
        )
        .arg(
            Arg::new("field")
                .short('f')
                .long("field")
                .value_name("FIELD")
                .default_value(CURRENT)
                .help("Parse this field instead of _"),
        )
        .after_help(
            "Each line is one record: quoted values (\"a, b\", with \"\" for a quote) may \
             hold the delimiter but not a line break. Values are text; _ is kept. Without \
             --header or --columns, fields are named 1, 2, ...; values beyond the named \
             columns are named by their position, and a record with fewer values leaves the \
             other columns unset. An empty header cell is named by its position; when names \
             repeat, the last value wins; a column named _ replaces _. A quote inside an \
             unquoted value is kept as is.\n\n\
             With --header, each input's first record that reaches csv names its columns and \
             is not output: a header per file (each file of a pattern, each file a followed \
             path rotates to) and per connection, so files with their columns in another order \
             are read right. Empty lines are skipped, silently.\n\n\
             A record with an unterminated quote, or text after a closing quote, is dropped \
             and counted as invalid CSV.\n\n\
             Examples:\n  \
             spate -i cities.csv -b eof csv --header then count-by-key city\n  \
             spate csv --header then count-by-key city\n  \
             spate -b eof csv -d tab --columns ts,host,status then count-by-key status\n  \
             spate -b eof csv then stats -f 3 -a mean,max -g 1",
        )
    }
    fn stage(&self) -> Stage {
        Stage::PerRecord
    }
    fn build(&self, m: &ArgMatches, _cx: &BuildCx) -> Result<Built, String> {
        let delim = m
            .get_one::<String>("delimiter")
            .map_or(Ok(b','), |d| delimiter(d))?;
        let names = if m.get_flag("header") {
            Names::Header(ArcSwap::default())
        } else if let Some(cols) = m.get_one::<String>("columns") {
            Names::Fixed(Columns::new(
                name_list(cols)?.into_iter().map(leak).collect(),
            ))
        } else {
            Names::Fixed(Columns::new(Vec::new()))
        };
        let field = crate::ops::field_or_current(m);
        if field.is_empty() {
            return Err("the field name must not be empty".into());
        }
        Ok(Built::Record(Box::new(CsvOp {
            delim,
            names,
            field,
        })))
    }
    fn spark(&self) -> Spark {
        Spark::Map(SparkMap {
            reads: reads_field,
            map: to_spark,
        })
    }
}

/// The line cut into values (RFC 4180 quotes) by the runtime's
/// `csv_values`; each name the chain reads picks its position.
fn to_spark(m: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    if m.get_flag("header") {
        return Err(
            "--header: a distributed stream has no first line to take the names from; name \
             the columns with --columns a,b,c"
                .into(),
        );
    }
    let delim = match arg(m, "delimiter").as_deref().unwrap_or(",") {
        "\\t" | "tab" | "\t" => "\t".to_string(),
        d => d.to_string(),
    };
    let columns: Vec<String> = match arg(m, "columns") {
        Some(c) => name_list(&c)?,
        None => Vec::new(),
    };
    let c = cx.expr(&crate::ops::field_or_current(m));
    cx.line(format!(
        "df = df.filter(txt({c}) != \"\").withColumn(\"__c\", csv_values(txt({c}), {}))",
        py(&delim)
    ));
    for name in cx.wanted() {
        let mut positions: Vec<usize> = columns
            .iter()
            .enumerate()
            .filter(|(_, n)| **n == name)
            .map(|(i, _)| i + 1)
            .collect();
        if let Ok(p) = name.parse::<usize>() {
            if p > columns.len() && !name.starts_with('0') {
                positions.push(p);
            }
        }
        if positions.is_empty() {
            continue;
        }
        let picks: Vec<String> = positions
            .iter()
            .rev()
            .map(|p| format!("F.element_at(F.col(\"__c\"), {p})"))
            .collect();
        let pick = if picks.len() == 1 {
            picks[0].clone()
        } else {
            format!("F.coalesce({})", picks.join(", "))
        };
        cx.set_maybe(&name, format!("text_value({pick})"));
    }
    cx.line("df = df.drop(\"__c\")".into());
    cx.open_fields("csv");
    Ok(())
}

/// Reads `-d`: one ASCII character other than a quote or a line break;
/// `\t` and `tab` name the tab.
fn delimiter(d: &str) -> Result<u8, String> {
    match d {
        "\\t" | "tab" | "\t" => return Ok(b'\t'),
        _ => {}
    }
    match d.as_bytes() {
        [b] if b.is_ascii() && !matches!(b, b'"' | b'\n' | b'\r') => Ok(*b),
        _ => Err(format!(
            "the delimiter must be one ASCII character other than a quote (or \\t / tab), \
             not '{d}'"
        )),
    }
}

/// A column name for the life of the run. Records borrow their field names
/// for `'a` (the input buffer's lifetime), which an operator's own strings
/// cannot give; the few names an operator holds are leaked once instead of
/// copied into every record.
fn leak(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}

/// A header's name, leaked once for the whole run however many inputs
/// repeat it (a header per file, per connection).
fn interned(name: String) -> &'static str {
    static NAMES: LazyLock<Mutex<HashSet<&'static str>>> = LazyLock::new(Mutex::default);
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = names.get(name.as_str()) {
        return n;
    }
    let n = leak(name);
    names.insert(n);
    n
}

/// Positions named without an allocation per record.
const STATIC_POSITIONS: usize = 256;

static POSITIONS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    (1..=STATIC_POSITIONS)
        .map(|i| leak(i.to_string()))
        .collect()
});

/// The name of the value at 0-based index `i`: its 1-based position.
fn position(i: usize) -> Name<'static> {
    match POSITIONS.get(i) {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned((i + 1).to_string()),
    }
}

enum Names {
    /// By `--columns`, or by position alone (no names).
    Fixed(Columns),
    /// Per input (source id), set by the first record the operator sees
    /// from it. The operator is shared by the worker threads: this relies on
    /// the engine giving that record to the operator before any other one
    /// of the same input (see `ready`), and forgotten when the input begins
    /// anew (a file a followed path now names, a new connection).
    Header(ArcSwap<HashMap<u32, Arc<Columns>>>),
}

struct Columns {
    names: Vec<&'static str>,
    /// No two values of a record can get the same name, nor the name `_`:
    /// values can be appended to a record that has no fields yet without
    /// looking for one of the same name.
    distinct: bool,
}

impl Columns {
    fn new(names: Vec<&'static str>) -> Self {
        // a name of digits may be the position of a value beyond the names
        let distinct = names.iter().enumerate().all(|(i, n)| {
            *n != CURRENT && !n.bytes().all(|c| c.is_ascii_digit()) && !names[..i].contains(n)
        });
        Columns { names, distinct }
    }
}

struct CsvOp {
    delim: u8,
    names: Names,
    field: String,
}

/// What there is to parse, taken out of the record so that the record can
/// be written while the text is read.
enum Source<'a> {
    Borrowed(&'a str),
    Owned(String),
    Missing,
}

fn source<'a>(rec: &Record<'a>, field: &str) -> Source<'a> {
    match rec.lookup(field).as_deref() {
        None => Source::Missing,
        Some(Value::Str(Text {
            s: Cow::Borrowed(s),
            ..
        })) => Source::Borrowed(s),
        Some(other) => Source::Owned(other.text().into_owned()),
    }
}

impl CsvOp {
    /// Sets the fields of `rec` from `text`, naming value `i` by `cols`.
    fn fill<'a, 's>(
        &self,
        text: &'s str,
        cols: &Columns,
        rec: &mut Record<'a>,
        conv: impl Fn(Cow<'s, str>) -> Cow<'a, str>,
    ) -> Result<(), String> {
        let append = cols.distinct && rec.fields.is_empty();
        if rec.fields.is_empty() {
            rec.fields.reserve(cols.names.len().max(8));
        }
        let mut i = 0;
        parse_record(text, self.delim, |v| {
            let name = match cols.names.get(i) {
                Some(n) => Cow::Borrowed(*n),
                None => position(i),
            };
            let value = Value::text_of(conv(v));
            if append {
                rec.fields.push((name, value));
            } else {
                rec.set(name, value);
            }
            i += 1;
        })
    }

    /// Takes a record as input `input`'s header, unless it is malformed.
    fn take_header(
        &self,
        text: &str,
        headers: &ArcSwap<HashMap<u32, Arc<Columns>>>,
        input: u32,
    ) -> Result<(), String> {
        let mut names = Vec::new();
        parse_record(text, self.delim, |v| {
            names.push(if v.is_empty() {
                position(names.len()).into_owned()
            } else {
                v.into_owned()
            })
        })?;
        let cols = Arc::new(Columns::new(names.into_iter().map(interned).collect()));
        headers.rcu(|m| {
            let mut m = HashMap::clone(m);
            m.entry(input).or_insert_with(|| Arc::clone(&cols));
            m
        });
        Ok(())
    }
}

impl RecordOp for CsvOp {
    fn ready(&self, input: u32) -> bool {
        match &self.names {
            Names::Header(h) => h.load().contains_key(&input),
            _ => true,
        }
    }

    fn input_began(&self, input: u32) {
        if let Names::Header(h) = &self.names {
            if h.load().contains_key(&input) {
                h.rcu(|m| {
                    let mut m = HashMap::clone(m);
                    m.remove(&input);
                    m
                });
            }
        }
    }

    fn learnt(&self, input: u32) -> Option<Vec<String>> {
        match &self.names {
            Names::Header(h) => h
                .load()
                .get(&input)
                .map(|c| c.names.iter().map(|n| n.to_string()).collect()),
            Names::Fixed(_) => None,
        }
    }

    fn relearn(&self, input: u32, learnt: Vec<String>) {
        if let Names::Header(h) = &self.names {
            let cols = Arc::new(Columns::new(learnt.into_iter().map(interned).collect()));
            h.rcu(|m| {
                let mut m = HashMap::clone(m);
                m.insert(input, Arc::clone(&cols));
                m
            });
        }
    }

    fn process<'a>(&self, mut rec: Record<'a>, out: &mut Vec<Record<'a>>, cx: &mut Ctx) {
        let src = source(&rec, &self.field);
        let text: &str = match &src {
            Source::Borrowed(s) => s,
            Source::Owned(s) => s,
            Source::Missing => {
                cx.drop_line(Reason::InvalidCsv, format!("no field '{}'", self.field));
                return;
            }
        };
        if text.is_empty() {
            return;
        }
        // the headers' map held for this record, not an Arc cloned
        // (a shared count the workers would fight over)
        let headers = match &self.names {
            Names::Header(h) => Some(h.load()),
            Names::Fixed(_) => None,
        };
        let cols = match (&self.names, &headers) {
            (Names::Fixed(c), _) => c,
            (Names::Header(h), Some(map)) => match map.get(&cx.input) {
                Some(n) => n,
                None => {
                    if let Err(e) = self.take_header(text, h, cx.input) {
                        cx.drop_line(Reason::InvalidCsv, e);
                    }
                    return;
                }
            },
            (Names::Header(_), None) => return,
        };
        let filled = match src {
            Source::Borrowed(s) => self.fill(s, cols, &mut rec, |v| v),
            Source::Owned(s) => self.fill(&s, cols, &mut rec, |v| Cow::Owned(v.into_owned())),
            Source::Missing => return,
        };
        match filled {
            Ok(()) => out.push(rec),
            Err(e) => cx.drop_line(Reason::InvalidCsv, e),
        }
    }
}

/// Splits one CSV record into its values, handing each to `each` in order:
/// borrowed from `line` unless a quoted value holds `""`. A value that
/// starts with a quote is quoted and must end with a quote followed by the
/// delimiter or the end of the line; a quote elsewhere is an ordinary
/// character. `delim` must be ASCII (so every cut falls on a character
/// boundary). On an error some values may already have been handed over.
pub fn parse_record<'s>(
    line: &'s str,
    delim: u8,
    mut each: impl FnMut(Cow<'s, str>),
) -> Result<(), String> {
    let b = line.as_bytes();
    let mut i = 0;
    loop {
        if b.get(i) != Some(&b'"') {
            match memchr::memchr(delim, &b[i..]) {
                Some(k) => {
                    each(Cow::Borrowed(&line[i..i + k]));
                    i += k + 1;
                    continue;
                }
                None => {
                    each(Cow::Borrowed(&line[i..]));
                    return Ok(());
                }
            }
        }
        let open = i;
        let start = i + 1;
        let mut seg = start;
        let mut unescaped: Option<String> = None;
        let close = loop {
            let Some(k) = memchr::memchr(b'"', &b[seg..]) else {
                return Err(format!(
                    "unterminated quoted value starting at column {}",
                    open + 1
                ));
            };
            let q = seg + k;
            if b.get(q + 1) == Some(&b'"') {
                // `""`: keep one quote
                unescaped
                    .get_or_insert_with(String::new)
                    .push_str(&line[seg..=q]);
                seg = q + 2;
            } else {
                break q;
            }
        };
        each(match unescaped {
            None => Cow::Borrowed(&line[start..close]),
            Some(mut s) => {
                s.push_str(&line[seg..close]);
                Cow::Owned(s)
            }
        });
        i = close + 1;
        match b.get(i) {
            None => return Ok(()),
            Some(&c) if c == delim => i += 1,
            Some(_) => {
                return Err(format!(
                    "text after the closing quote at column {} (a quote inside a quoted value is \
                     written \"\")",
                    i + 1
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::record_op;

    /// Runs lines through one operator: per line, its fields as
    /// `name=value` (`None` when the line gave no record), and the context.
    fn run_lines(args: &[&str], lines: &[&str]) -> (Vec<Option<Vec<String>>>, Ctx) {
        let op = record_op(&[&["csv"], args].concat()).expect("valid csv");
        let mut cx = Ctx::new(true);
        let mut res = Vec::new();
        for line in lines {
            let mut out = Vec::new();
            op.process(
                Record::from_line(Cow::Borrowed(line), line),
                &mut out,
                &mut cx,
            );
            res.push(out.first().map(|r| {
                assert_eq!(r.get("_").and_then(Value::as_str), Some(*line), "_ is kept");
                r.fields
                    .iter()
                    .map(|(n, v)| format!("{n}={}", v.text()))
                    .collect()
            }));
        }
        (res, cx)
    }

    fn run(args: &[&str], line: &str) -> Option<Vec<String>> {
        run_lines(args, &[line]).0.into_iter().next().flatten()
    }

    /// The values `parse_record` gives, or its error.
    fn values(line: &str, delim: u8) -> Result<Vec<String>, String> {
        let mut v = Vec::new();
        parse_record(line, delim, |s| v.push(s.into_owned())).map(|()| v)
    }

    fn detail(cx: &Ctx) -> String {
        cx.offence
            .as_ref()
            .map(|o| o.detail.clone())
            .unwrap_or_default()
    }

    #[test]
    fn csv_positional_names() {
        assert_eq!(
            run(&[], "a,b,,d").unwrap_or_default(),
            ["1=a", "2=b", "3=", "4=d"]
        );
        assert_eq!(run(&[], "x").unwrap_or_default(), ["1=x"]);
        assert_eq!(run(&[], ",").unwrap_or_default(), ["1=", "2="]);
        assert_eq!(run(&[], "a,").unwrap_or_default(), ["1=a", "2="]);
    }

    #[test]
    fn csv_quoted_values_and_escapes() {
        assert_eq!(
            values(r#""a,b","say ""hi""","",x"#, b','),
            Ok(vec![
                "a,b".into(),
                "say \"hi\"".into(),
                "".into(),
                "x".into()
            ])
        );
        assert_eq!(values(r#""""""#, b','), Ok(vec!["\"".into()]));
        assert_eq!(values(r#""a""""#, b','), Ok(vec!["a\"".into()]));
        assert_eq!(
            values(r#""é, ü",ß"#, b','),
            Ok(vec!["é, ü".into(), "ß".into()])
        );
        assert_eq!(values(r#""a","#, b','), Ok(vec!["a".into(), "".into()]));
    }

    #[test]
    fn csv_bare_quote_inside_unquoted_value_is_literal() {
        assert_eq!(
            values(r#"a"b,5" disk, "x""#, b','),
            Ok(vec!["a\"b".into(), "5\" disk".into(), " \"x\"".into()])
        );
    }

    #[test]
    fn csv_values_borrow_unless_escaped() {
        let line = r#"plain,"quoted","es""caped""#;
        let op = record_op(&["csv"]).expect("valid csv");
        let mut out = Vec::new();
        op.process(
            Record::from_line(Cow::Borrowed(line), line),
            &mut out,
            &mut Ctx::default(),
        );
        let r = &out[0];
        assert!(matches!(
            r.get("1"),
            Some(Value::Str(Text {
                s: Cow::Borrowed("plain"),
                ..
            }))
        ));
        assert!(matches!(
            r.get("2"),
            Some(Value::Str(Text {
                s: Cow::Borrowed("quoted"),
                ..
            }))
        ));
        assert!(
            matches!(r.get("3"), Some(Value::Str(Text { s: Cow::Owned(s), .. })) if s == "es\"caped")
        );
        assert!(r.fields.iter().all(|(n, _)| matches!(n, Cow::Borrowed(_))));
    }

    #[test]
    fn csv_columns_name_values_and_positions_name_the_rest() {
        let args = ["--columns", "city, pop"];
        assert_eq!(
            run(&args, "Oslo,700000,x").unwrap_or_default(),
            ["city=Oslo", "pop=700000", "3=x"]
        );
        assert_eq!(run(&args, "Bergen").unwrap_or_default(), ["city=Bergen"]);
        assert!(
            record_op(&["csv", "--columns", "a,,b"])
                .err()
                .unwrap_or_default()
                .contains("empty name")
        );
    }

    #[test]
    fn csv_header_names_columns_and_is_consumed() {
        let (res, cx) = run_lines(
            &["--header"],
            &["city,,pop", "Oslo,N,700000", "Bergen", "a,b,c,d"],
        );
        assert_eq!(res[0], None);
        assert_eq!(
            res[1].clone().unwrap_or_default(),
            ["city=Oslo", "2=N", "pop=700000"]
        );
        assert_eq!(res[2].clone().unwrap_or_default(), ["city=Bergen"]);
        assert_eq!(
            res[3].clone().unwrap_or_default(),
            ["city=a", "2=b", "pop=c", "4=d"]
        );
        // the header is filtered, not dropped
        assert_eq!(cx.counts.dropped(), 0);
        assert!(cx.offence.is_none());
    }

    #[test]
    fn csv_header_with_quotes_and_repeated_names() {
        let (res, _) = run_lines(&["--header"], &[r#""a b",a,"a""q""#, "1,2,3"]);
        assert_eq!(
            res[1].clone().unwrap_or_default(),
            ["a b=1", "a=2", "a\"q=3"]
        );
        let (res, _) = run_lines(&["--header"], &["a,b,a", "1,2,3"]);
        assert_eq!(res[1].clone().unwrap_or_default(), ["a=3", "b=2"]);
    }

    #[test]
    fn csv_number_names_meet_positions_last_wins() {
        assert_eq!(
            run(&["--columns", "3,a"], "x,y,z").unwrap_or_default(),
            ["3=z", "a=y"]
        );
        let line = "p,q";
        let mut rec = Record::from_line(Cow::Borrowed(line), line);
        rec.set(Cow::Borrowed("2"), Value::str("old"));
        rec.set(Cow::Borrowed("k"), Value::str("kept"));
        let mut out = Vec::new();
        record_op(&["csv"])
            .expect("valid csv")
            .process(rec, &mut out, &mut Ctx::default());
        let f: Vec<String> = out[0]
            .fields
            .iter()
            .map(|(n, v)| format!("{n}={}", v.text()))
            .collect();
        assert_eq!(f, ["2=q", "k=kept", "1=p"]);
    }

    #[test]
    fn csv_header_malformed_is_dropped_and_next_record_is_header() {
        let (res, cx) = run_lines(&["--header"], &["\"a,b", "x,y", "1,2"]);
        assert_eq!(res, [None, None, Some(vec!["x=1".into(), "y=2".into()])]);
        assert_eq!(cx.counts.get(Reason::InvalidCsv), 1);
        assert_eq!(
            cx.offence.as_ref().map(|o| o.reason),
            Some(Reason::InvalidCsv)
        );
    }

    #[test]
    fn csv_empty_line_is_skipped_silently() {
        let (res, cx) = run_lines(&["--header"], &["", "a", "", "1"]);
        assert_eq!(res, [None, None, None, Some(vec!["a=1".into()])]);
        assert_eq!(cx.counts.dropped(), 0);
    }

    #[test]
    fn csv_delimiters() {
        assert_eq!(
            run(&["-d", ";"], "a;b,c").unwrap_or_default(),
            ["1=a", "2=b,c"]
        );
        for tab in ["tab", "\\t", "\t"] {
            assert_eq!(
                run(&["-d", tab], "a\t\"b\tc\"").unwrap_or_default(),
                ["1=a", "2=b\tc"]
            );
        }
        assert_eq!(run(&["-d", "|"], "|").unwrap_or_default(), ["1=", "2="]);
        for bad in ["", "ab", "\"", "é", "\n"] {
            assert!(
                record_op(&["csv", "-d", bad])
                    .err()
                    .unwrap_or_default()
                    .contains("delimiter"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn csv_header_conflicts_with_columns() {
        assert!(
            crate::ops::command_for(&Csv)
                .try_get_matches_from(["csv", "--header", "--columns", "a"])
                .is_err()
        );
    }

    #[test]
    fn csv_unterminated_quote_is_dropped() {
        let (res, cx) = run_lines(&[], &[r#"a,"b,c"#]);
        assert_eq!(res, [None]);
        assert_eq!(cx.counts.get(Reason::InvalidCsv), 1);
        assert_eq!(
            detail(&cx),
            "unterminated quoted value starting at column 3"
        );
        for bad in ["\"", "\"a\"\"", "x,\"\"\"", "\"a\"\"b"] {
            assert!(values(bad, b',').is_err(), "{bad:?}");
        }
    }

    #[test]
    fn csv_text_after_closing_quote_is_dropped() {
        let (res, cx) = run_lines(&[], &[r#""a"b,c"#]);
        assert_eq!(res, [None]);
        assert_eq!(cx.counts.get(Reason::InvalidCsv), 1);
        assert!(detail(&cx).starts_with("text after the closing quote at column 4"));
        assert!(values(r#"x,"a" ,y"#, b',').is_err());
    }

    #[test]
    fn csv_field_option_and_missing_field() {
        let op = record_op(&["csv", "-f", "row"]).expect("valid csv");
        let line = "whole line";
        let mut rec = Record::from_line(Cow::Borrowed(line), line);
        rec.set(Cow::Borrowed("row"), Value::str("p,q"));
        let mut out = Vec::new();
        let mut cx = Ctx::new(true);
        op.process(rec, &mut out, &mut cx);
        let names: Vec<String> = out[0]
            .fields
            .iter()
            .map(|(n, v)| format!("{n}={}", v.text()))
            .collect();
        assert_eq!(names, ["row=p,q", "1=p", "2=q"]);
        out.clear();
        op.process(
            Record::from_line(Cow::Borrowed(line), line),
            &mut out,
            &mut cx,
        );
        assert!(out.is_empty());
        assert_eq!(cx.counts.get(Reason::InvalidCsv), 1);
        assert_eq!(detail(&cx), "no field 'row'");
    }

    #[test]
    fn csv_owned_line_gives_owned_values() {
        let op = record_op(&["csv"]).expect("valid csv");
        let mut out = Vec::new();
        let rec = Record::from_line(Cow::Owned("\u{fffd},\"b\"".to_string()), "");
        op.process(rec, &mut out, &mut Ctx::default());
        let r = out.into_iter().next().map(Record::into_owned);
        let texts: Vec<String> = r
            .map(|r| {
                r.fields
                    .iter()
                    .map(|(_, v)| v.text().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(texts, ["\u{fffd}", "b"]);
    }

    #[test]
    fn csv_many_values_are_named_past_the_static_table() {
        let line = vec!["v"; STATIC_POSITIONS + 2].join(",");
        let fields = run(&[], &line).unwrap_or_default();
        assert_eq!(fields.len(), STATIC_POSITIONS + 2);
        assert_eq!(fields.last().map(String::as_str), Some("258=v"));
    }

    /// Records written by the csv crate read back as they were; for any
    /// line, what this parser accepts, the csv crate reads the same way.
    #[test]
    fn csv_agrees_with_the_csv_crate() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let cell = prop::collection::vec(
            prop::sample::select(vec!['a', ',', '"', ' ', 'é', ';']),
            0..6,
        )
        .prop_map(|v| v.into_iter().collect::<String>());
        let mut runner = TestRunner::new(Config {
            cases: 2000,
            ..Config::default()
        });
        runner
            .run(
                &(
                    prop::collection::vec(cell.clone(), 1..5),
                    any::<bool>(),
                    cell,
                ),
                |(cells, always, noise)| {
                    let mut w = csv::WriterBuilder::new()
                        .quote_style(if always {
                            csv::QuoteStyle::Always
                        } else {
                            csv::QuoteStyle::Necessary
                        })
                        .terminator(csv::Terminator::Any(b'\n'))
                        .from_writer(Vec::new());
                    w.write_record(&cells)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let bytes = w
                        .into_inner()
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let line =
                        String::from_utf8(bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let line = line.trim_end_matches('\n');
                    if !line.is_empty() {
                        prop_assert_eq!(values(line, b','), Ok(cells.clone()));
                    }
                    // arbitrary text: when accepted, read as the csv crate reads it
                    if let Ok(mine) = values(&noise, b',') {
                        if !noise.is_empty() {
                            let mut rd = csv::ReaderBuilder::new()
                                .has_headers(false)
                                .flexible(true)
                                .from_reader(noise.as_bytes());
                            let theirs: Vec<String> = rd
                                .records()
                                .next()
                                .and_then(Result::ok)
                                .map(|r| r.iter().map(str::to_string).collect())
                                .unwrap_or_default();
                            prop_assert_eq!(mine, theirs, "{:?}", noise);
                        }
                    }
                    Ok(())
                },
            )
            .expect("csv agrees with the csv crate");
    }
}
