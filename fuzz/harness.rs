//! What each fuzz target does with its input, and what it checks. Shared
//! by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`, nightly flags) and
//! by the regression tests that replay the seeds and the crash cases on
//! stable (`tests/fuzz_regressions.rs`), so both run the same code paths.
//!
//! Every function takes arbitrary bytes and must return without panicking;
//! a panic (or a failed assertion) is a finding.

use std::borrow::Cow;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::sync::OnceLock;

use spate::accounting::Ctx;
use spate::cli::{self, Parsed};
use spate::ops::RecordOp;
use spate::record::Record;
use spate::timestamp::{self, TimeFormat};
use spate::value::Value;

/// `chain`: the input is a command line, its words separated by NUL bytes
/// (any bytes, not only UTF-8), run through what `spate` does before it
/// reads any input: `cli::parse` (which builds the plan) and `--emit`'s program.
pub fn chain(data: &[u8]) {
    let mut argv = vec![OsString::from("spate")];
    if !data.is_empty() {
        argv.extend(
            data.split(|b| *b == 0)
                .map(|w| OsString::from_vec(w.to_vec())),
        );
    }
    let words: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let Ok(Parsed::Run(plan)) = cli::parse(argv) else {
        return;
    };
    if let Some(target) = &plan.emit {
        let _ = spate::emit::program(target, &plan, &words);
    }
}

/// Builds a per-record operator from its words (name first), as the plan
/// does. The argument sets here are fixed, so they must build.
fn record_op(words: &[&str]) -> Box<dyn RecordOp> {
    spate::ops::record_op(words).unwrap_or_else(|e| panic!("{words:?}: {e}"))
}

/// Runs one record through `op` as the engine runs a line's record, with
/// the line's accounting, which must balance afterwards.
fn run_one<'a>(op: &dyn RecordOp, rec: Record<'a>, cx: &mut Ctx) -> Vec<Record<'a>> {
    let mut out = Vec::new();
    cx.counts.lines += 1;
    op.process(rec, &mut out, cx);
    cx.end_line(out.len() as u64);
    assert!(cx.counts.balanced(), "unbalanced: {:?}", cx.counts);
    // every record handed on can be printed
    for r in &out {
        for (_, v) in r.columns() {
            let _ = v.text();
        }
    }
    out
}

/// Feeds `data` to the operator built from `words`: each line as the
/// engine makes it (a trailing `\r` dropped, bad UTF-8 replaced; also in
/// a field named `msg` for `-f msg`), then the whole input as one value in
/// the shapes a value can reach an operator in: borrowed from the input,
/// owned (a repaired line), in a field named `msg`, and as parsed JSON
/// there when it is JSON (after the lines, so `csv --header` has its
/// header by then).
pub fn feed(words: &[&str], op: &dyn RecordOp, data: &[u8]) {
    let by_field = words.contains(&"-f");
    let mut cx = Ctx::new(false);
    for mut line in data.split(|b| *b == b'\n') {
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        let (text, raw): (Cow<'_, str>, &str) = match std::str::from_utf8(line) {
            Ok(s) => (Cow::Borrowed(s), s),
            Err(e) => (
                String::from_utf8_lossy(line),
                std::str::from_utf8(&line[..e.valid_up_to()]).unwrap_or(""),
            ),
        };
        let mut rec = Record::from_line(text.clone(), raw);
        if by_field {
            rec.set(Cow::Borrowed("msg"), Value::text_of(text));
        }
        run_one(op, rec, &mut cx);
    }
    let whole = String::from_utf8_lossy(data);
    run_one(
        op,
        Record::from_line(Cow::Borrowed(&whole), &whole),
        &mut cx,
    );
    run_one(
        op,
        Record::from_line(Cow::Owned(whole.to_string()), ""),
        &mut cx,
    );
    let mut rec = Record::from_line(Cow::Borrowed("x"), "x");
    rec.set(Cow::Borrowed("msg"), Value::str(&whole));
    run_one(op, rec, &mut cx);
    if let Ok(j) = serde_json::from_str::<serde_json::Value>(&whole) {
        let mut rec = Record::from_line(Cow::Borrowed("x"), "x");
        rec.set(Cow::Borrowed("msg"), Value::from_json(j));
        run_one(op, rec, &mut cx);
    }
}

/// Runs `data` through an operator of each argument set. Operators
/// without state are built once per process (compiling a regex per input
/// would make the fuzzer a regex-compiler benchmark); `csv --header` is
/// built anew for each input, since its first record names the columns.
fn feed_all(sets: &[&[&str]], cache: &'static OnceLock<Vec<Box<dyn RecordOp>>>, data: &[u8]) {
    let built = cache.get_or_init(|| sets.iter().map(|w| record_op(w)).collect());
    for (words, op) in sets.iter().zip(built) {
        if words.contains(&"--header") {
            feed(words, record_op(words).as_ref(), data);
        } else {
            feed(words, op.as_ref(), data);
        }
    }
}

/// The argument sets each record parser is fuzzed with.
pub const PARSE_ARGS: &[&[&str]] = &[
    &["parse", r"(?P<k>\w+)=(?P<v>\S*)"],
    &[
        "parse",
        r#"^(?P<ip>\S+) \S+ \S+ \[(?P<ts>[^\]]+)\] "(?P<req>[^"]*)" (?P<status>\d{3}) (?P<bytes>\d+|-)"#,
    ],
    &["parse", r"(?P<_>\d+)(?P<rest>x.*)?(?P<w>\p{L}+)?"],
    &["parse", "-f", "msg", r"(?P<a>.)(?P<b>.)?"],
    &["parse", "-f", "msg.user", r"(?P<user>\w+)"],
];
pub const JSON_ARGS: &[&[&str]] = &[&["json"], &["json", "-f", "msg"], &["json", "-f", "msg.a"]];
pub const CSV_ARGS: &[&[&str]] = &[
    &["csv"],
    &["csv", "--header"],
    &["csv", "-d", ";", "--columns", "a,b,_,a,3"],
    &["csv", "-d", "tab", "--header", "-f", "msg"],
    &["csv", "--columns", "x,y"],
];
pub const LOGFMT_ARGS: &[&[&str]] = &[&["logfmt"], &["logfmt", "-f", "msg"]];

pub fn parse_op(data: &[u8]) {
    static OPS: OnceLock<Vec<Box<dyn RecordOp>>> = OnceLock::new();
    feed_all(PARSE_ARGS, &OPS, data);
}

pub fn json_op(data: &[u8]) {
    static OPS: OnceLock<Vec<Box<dyn RecordOp>>> = OnceLock::new();
    feed_all(JSON_ARGS, &OPS, data);
}

pub fn csv_op(data: &[u8]) {
    static OPS: OnceLock<Vec<Box<dyn RecordOp>>> = OnceLock::new();
    feed_all(CSV_ARGS, &OPS, data);
}

pub fn logfmt_op(data: &[u8]) {
    static OPS: OnceLock<Vec<Box<dyn RecordOp>>> = OnceLock::new();
    feed_all(LOGFMT_ARGS, &OPS, data);
}

/// Records of every shape an eval expression meets: text that reads as a
/// number and text that does not, integers at the edges, a float, null,
/// a boolean, nested JSON, an empty and a non-ASCII text.
fn eval_records() -> Vec<Record<'static>> {
    let mut full = Record::from_line(Cow::Borrowed("12ms"), "12ms");
    for (name, v) in [
        ("a", Value::str("2048")),
        ("b", Value::Int(7)),
        ("n", Value::Int(i64::MIN)),
        ("m", Value::Int(i64::MAX)),
        ("f", Value::Float(-2.5)),
        ("s", Value::str("Ünïcode 12.5e3x")),
        ("e", Value::str("")),
        ("z", Value::Int(0)),
        ("t", Value::Bool(true)),
        ("u", Value::Null),
        ("1", Value::str("-0.0")),
        (
            "j",
            Value::Json(Box::new(serde_json::json!({"id": 7, "x": [1.5, "a"]}))),
        ),
    ] {
        full.set(Cow::Borrowed(name), v);
    }
    vec![
        full,
        Record::from_line(Cow::Borrowed(""), ""),
        Record::row(Vec::new()),
    ]
}

/// `eval_expr`: the input (bad UTF-8 replaced) as eval's assignment, and
/// as the expression of `x = ...`, parsed as a run parses it. An error
/// points at a column of the text (or just past its end); what parses is
/// evaluated on [`eval_records`], and every field it leaves can be printed.
pub fn eval_expr(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for text in [text.to_string(), format!("x = {text}")] {
        match spate::ops::eval::parse::parse(&text) {
            Err(e) => {
                let end = text.chars().count() + 1;
                assert!(
                    (1..=end).contains(&e.column),
                    "column {} of {text:?} ({} characters): {}",
                    e.column,
                    end - 1,
                    e.message
                );
            }
            Ok(assign) => {
                for mut rec in eval_records() {
                    assign.apply(&mut rec);
                    for (_, v) in rec.columns() {
                        let _ = v.text();
                        let _ = v.to_json();
                    }
                }
            }
        }
    }
}

const MS: i64 = 1_000_000;

/// `timestamp`: `parse_timestamp` and `find_timestamp` on the input (bad
/// UTF-8 replaced), each time read printed in every format; a time read
/// from a whole value is also found in a line that is only that value, and
/// a time printed as RFC 3339 reads back as itself (to the millisecond).
pub fn timestamp(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let parsed = timestamp::parse_timestamp(&s);
    let found = timestamp::find_timestamp(&s);
    for t in [parsed, found].into_iter().flatten() {
        for fmt in [TimeFormat::Rfc3339, TimeFormat::Epoch, TimeFormat::EpochMs] {
            let _ = timestamp::format_time(t, fmt, false);
            let _ = timestamp::format_time(t, fmt, true);
        }
        let _ = timestamp::format_spark_time(t);
        let printed = timestamp::format_time(t, TimeFormat::Rfc3339, true);
        assert_eq!(
            timestamp::parse_timestamp(&printed),
            Some(t.div_euclid(MS) * MS),
            "{printed} from {s:?}"
        );
    }
    if let Some(t) = parsed {
        assert_eq!(found, Some(t), "{s:?} reads as a time but is not found");
    }
}

/// `duration`: `parse_duration` on the input; what it reads prints in a
/// notation that reads back as the same duration.
pub fn duration(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    if let Ok(d) = spate::duration::parse_duration(&s) {
        let text = spate::duration::format_duration(d);
        assert_eq!(
            spate::duration::parse_duration(&text),
            Ok(d),
            "{s:?} printed as {text:?}"
        );
    }
}

/// The chains `pipeline` runs every input through: every aggregation,
/// window kind, batch mode, output format and record parser.
pub const PIPELINES: &[&[&str]] = &[
    &["-b", "eof", "split", "then", "count-by-key"],
    &[
        "--event-time",
        "auto",
        "-b",
        "1m",
        "parse",
        r"(?P<k>[a-z]+) n=(?P<n>\S+)",
        "then",
        "window",
        "2m",
        "then",
        "stats",
        "-f",
        "n",
        "-a",
        "mean,p99",
        "-g",
        "k",
    ],
    &[
        "-b",
        "eof",
        "-o",
        "jsonl",
        "json",
        "then",
        "stats",
        "-f",
        "n,v",
        "-a",
        "count,sum,mean,min,max,p50,p99.9,distinct",
        "-g",
        "k",
    ],
    &[
        "--batch-lines",
        "3",
        "-o",
        "csv",
        "csv",
        "--header",
        "then",
        "count-by-key",
        "1",
    ],
    &[
        "-b", "eof", "-o", "spark", "logfmt", "then", "where", "n", ">", "5", "then", "sort", "-r",
        "n", "then", "head", "3",
    ],
    &[
        "--event-time",
        "ts",
        "--lateness",
        "30s",
        "-b",
        "10s",
        "-o",
        "json",
        "json",
        "then",
        "window",
        "all",
        "then",
        "count-by-key",
        "level",
        "then",
        "top",
        "2",
    ],
    &[
        "--batch-lines",
        "2",
        "--max-line-bytes",
        "16",
        "-o",
        "pretty",
        "map",
        "lower",
        "then",
        "grep",
        "-v",
        "x",
        "then",
        "count",
    ],
    &[
        "--event-time",
        "auto",
        "-b",
        "1s",
        "--lateness",
        "5s",
        "split",
        "-r",
        "[,;]",
        "then",
        "window",
        "3s",
        "--slide",
        "1s",
        "then",
        "count-by-key",
        "then",
        "top",
        "3",
    ],
    &[
        "--event-time",
        "auto",
        "-b",
        "10s",
        "--lateness",
        "20s",
        "-o",
        "jsonl",
        "parse",
        r"(?P<k>[a-z]+) n=(?P<n>\S+)",
        "then",
        "window",
        "session",
        "30s",
        "then",
        "stats",
        "-f",
        "n",
        "-a",
        "count,max",
        "-g",
        "k",
    ],
];

/// The number of lines in `data`: a last line without `\n` counts.
pub fn line_count(data: &[u8]) -> u64 {
    let newlines = data.iter().filter(|b| **b == b'\n').count() as u64;
    newlines + u64::from(data.last().is_some_and(|b| *b != b'\n'))
}

/// `pipeline`: the whole run, in memory, over every chain of
/// [`PIPELINES`]: it must succeed, read every line, and account for each
/// one (`lines == processed + filtered + dropped`).
pub fn pipeline(data: &[u8]) {
    for args in PIPELINES {
        let (_, counts) = spate::run::run_in_memory(args, data.to_vec())
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert_eq!(counts.lines, line_count(data), "{args:?}: {counts:?}");
        assert!(counts.balanced(), "{args:?}: unbalanced: {counts:?}");
    }
}
