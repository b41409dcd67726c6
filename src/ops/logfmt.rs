//! `logfmt`: parses `key=value key2="quoted value"` pairs of `_` (or
//! `-f FIELD`) into text fields, borrowed from the line unless a quoted value
//! holds escapes; `_` is kept. A line without any pair, or with an
//! unterminated quote, is dropped and counted as unparsed.

use std::borrow::Cow;

use clap::{Arg, ArgMatches};

use crate::accounting::{Ctx, Reason};
use crate::ops::spark::{Spark, SparkCx, SparkMap, py, reads_field};
use crate::ops::{BuildCx, Built, Operator, RecordOp, Stage};
use crate::record::{CURRENT, Record};
use crate::value::{Text, Value};

pub struct Logfmt;

impl Operator for Logfmt {
    fn name(&self) -> &'static str {
        "logfmt"
    }
    fn summary(&self) -> &'static str {
        "Parse key=value key2=\"quoted value\" pairs of _ into fields"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new("field")
                .short('f')
                .long("field")
                .value_name("FIELD")
                .default_value(CURRENT)
                .help("Parse this field instead of _"),
        )
        .after_help(
            "Pairs are separated by whitespace. A key is any run of characters other than \
             whitespace, '=' and '\"'. A value is either quoted, with the escapes \\\" \\\\ \\n \
             \\t \\r \\/ \\b \\f \\uXXXX (any other backslash is kept as is; a UTF-16 \
             surrogate pair such as \\ud83d\\ude00 is one character, half a pair alone is \
             U+FFFD, as go-logfmt reads them), or runs to the next whitespace. A bare key \
             (no '=') and 'key=' both give empty text, as go-logfmt does. Every value is \
             text. A key seen twice keeps its last value. _ is kept. A line with no key=value \
             pair at all, or with an unterminated quote, is dropped and counted as unparsed \
             (--strict stops at it); stray text in a line that has pairs is read as bare keys.\n\n\
             Examples:\n  \
             spate logfmt then count-by-key level\n  \
             spate logfmt then where status '>=' 500 then count-by-key path\n  \
             spate -b 10s logfmt then stats -f duration_ms -a p50,p99 -g handler",
        )
    }
    fn stage(&self) -> Stage {
        Stage::PerRecord
    }
    fn build(&self, m: &ArgMatches, _cx: &BuildCx) -> Result<Built, String> {
        let field = crate::ops::field_or_current(m);
        Ok(Built::Record(Box::new(LogfmtOp { field })))
    }
    fn spark(&self) -> Spark {
        Spark::Map(SparkMap {
            reads: reads_field,
            map: to_spark,
        })
    }
}

/// The pairs as a map (the runtime's `logfmt_pairs`: keys and values by
/// `regexp_extract_all`, the last value of a key wins, quoted values
/// unescaped); each name the chain reads is looked up in it.
fn to_spark(m: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    let c = cx.expr(&crate::ops::field_or_current(m));
    cx.line(format!(
        "df = df.withColumn(\"__l\", logfmt_pairs(txt({c}))).filter(F.col(\"__l\").isNotNull())"
    ));
    for name in cx.wanted() {
        cx.set_maybe(
            &name,
            format!("logfmt_value(F.col(\"__l\"), {})", py(&name)),
        );
    }
    cx.line("df = df.drop(\"__l\")".into());
    cx.open_fields("logfmt");
    Ok(())
}

struct LogfmtOp {
    field: String,
}

/// Why a line is not logfmt.
#[derive(Debug, PartialEq, Eq)]
enum Unparsed {
    NoPair,
    /// The 1-based column of the opening quote.
    Unterminated(usize),
}

impl std::fmt::Display for Unparsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unparsed::NoPair => f.write_str("no key=value pair"),
            Unparsed::Unterminated(col) => write!(f, "unterminated quote at column {col}"),
        }
    }
}

fn is_space(b: u8) -> bool {
    b <= b' '
}

/// The pairs of a logfmt line, in order. Keys and unescaped values borrow
/// from `s`.
fn scan(s: &str) -> Result<Vec<(&str, Cow<'_, str>)>, Unparsed> {
    let b = s.as_bytes();
    let mut pairs = Vec::new();
    let mut with_value = false;
    let mut i = 0;
    while i < b.len() {
        if is_space(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_space(b[i]) && b[i] != b'=' && b[i] != b'"' {
            i += 1;
        }
        let key = &s[start..i];
        let value = if b.get(i) == Some(&b'=') {
            i += 1;
            with_value |= !key.is_empty();
            Some(value_at(s, &mut i)?)
        } else if b.get(i) == Some(&b'"') {
            // a quoted string where a key belongs: read past it, keep nothing
            quoted(s, &mut i)?;
            None
        } else {
            Some(Cow::Borrowed(""))
        };
        if let (false, Some(v)) = (key.is_empty(), value) {
            pairs.push((key, v));
        }
    }
    if with_value {
        Ok(pairs)
    } else {
        Err(Unparsed::NoPair)
    }
}

/// The value starting at `*i` (just after `=`): quoted, or up to the next
/// whitespace.
fn value_at<'t>(s: &'t str, i: &mut usize) -> Result<Cow<'t, str>, Unparsed> {
    let b = s.as_bytes();
    if b.get(*i) == Some(&b'"') {
        return quoted(s, i);
    }
    let start = *i;
    while *i < b.len() && !is_space(b[*i]) {
        *i += 1;
    }
    Ok(Cow::Borrowed(&s[start..*i]))
}

/// The quoted string starting at `*i` (on its `"`), unescaped; `*i` ends
/// just past the closing quote.
fn quoted<'t>(s: &'t str, i: &mut usize) -> Result<Cow<'t, str>, Unparsed> {
    let b = s.as_bytes();
    let open = *i;
    let start = open + 1;
    let mut j = start;
    let mut escaped = false;
    loop {
        match b.get(j) {
            None => return Err(Unparsed::Unterminated(s[..open].chars().count() + 1)),
            Some(b'"') => break,
            Some(b'\\') => {
                escaped = true;
                j += 2;
            }
            Some(_) => j += 1,
        }
    }
    *i = j + 1;
    let inner = &s[start..j];
    Ok(if escaped {
        Cow::Owned(unescape(inner))
    } else {
        Cow::Borrowed(inner)
    })
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('/') => out.push('/'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('u') => match hex4(chars.as_str()) {
                Some(high @ 0xD800..=0xDBFF) => {
                    chars.nth(3);
                    // a pair of UTF-16 halves, `\ud83d\ude00`, is one
                    // character, as encoding/json (go-logfmt) reads it
                    let rest = chars.as_str();
                    match rest.strip_prefix("\\u").and_then(hex4) {
                        Some(low @ 0xDC00..=0xDFFF) => {
                            let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                            out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                            chars.nth(5);
                        }
                        // half a pair alone: U+FFFD (the line itself is
                        // valid UTF-8: nothing to count as repaired)
                        _ => out.push(char::REPLACEMENT_CHARACTER),
                    }
                }
                Some(code) => {
                    out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                    chars.nth(3);
                }
                None => out.push_str("\\u"),
            },
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The code of the four hex digits `s` starts with.
fn hex4(s: &str) -> Option<u32> {
    let hex = s.get(..4)?;
    if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

impl RecordOp for LogfmtOp {
    fn gives_values(&self, _names: &[String]) -> bool {
        // the line itself is parsed; its record has `_` and the pairs
        self.field == CURRENT
    }

    fn values<'t>(&self, text: &'t str, names: &[String], out: &mut [Option<Value<'t>>]) -> bool {
        // a line `process` drops (with its reason) goes the record way
        let Ok(pairs) = scan(text) else {
            return false;
        };
        // in order: a repeated key's last value wins, as `Record::set` does
        for (k, v) in pairs {
            if let Some(slot) = names
                .iter()
                .position(|n| n == k)
                .and_then(|i| out.get_mut(i))
            {
                *slot = Some(Value::text_of(v));
            }
        }
        true
    }

    fn process<'a>(&self, mut rec: Record<'a>, out: &mut Vec<Record<'a>>, cx: &mut Ctx) {
        if let Some(Value::Str(Text {
            s: Cow::Borrowed(s),
            ..
        })) = rec.get(&self.field)
        {
            // the common case: the line as read, borrowed from the input
            let s: &'a str = s;
            match scan(s) {
                Ok(pairs) => {
                    rec.fields.reserve(pairs.len());
                    for (k, v) in pairs {
                        rec.set(Cow::Borrowed(k), Value::text_of(v));
                    }
                    out.push(rec);
                }
                Err(e) => cx.drop_line(Reason::Unparsed, e),
            }
            return;
        }
        let Some(text) = rec.lookup(&self.field).map(|v| v.text().into_owned()) else {
            cx.drop_line(
                Reason::Unparsed,
                format_args!("no field '{}' to parse", self.field),
            );
            return;
        };
        match scan(&text) {
            Ok(pairs) => {
                for (k, v) in pairs {
                    rec.set(Cow::Owned(k.to_owned()), Value::owned_str(v.into_owned()));
                }
                out.push(rec);
            }
            Err(e) => cx.drop_line(Reason::Unparsed, e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::record_op;

    fn run_rec<'a>(args: &[&str], rec: Record<'a>) -> (Vec<Record<'a>>, Ctx) {
        let op = record_op(&[&["logfmt"], args].concat()).expect("valid logfmt");
        let mut out = Vec::new();
        let mut cx = Ctx::new(true);
        op.process(rec, &mut out, &mut cx);
        (out, cx)
    }

    /// The fields parsed from a line, or the drop detail.
    fn run(line: &str) -> Result<Vec<(String, String)>, String> {
        let (out, cx) = run_rec(&[], Record::from_line(Cow::Borrowed(line), line));
        match out.first() {
            Some(r) => {
                assert_eq!(r.get("_").and_then(Value::as_str), Some(line), "_ is kept");
                Ok(r.fields
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.text().into_owned()))
                    .collect())
            }
            None => {
                assert_eq!(cx.counts.get(Reason::Unparsed), 1);
                Err(cx.offence.map(|o| o.detail).unwrap_or_default())
            }
        }
    }

    fn pairs(p: &[(&str, &str)]) -> Result<Vec<(String, String)>, String> {
        Ok(p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    #[test]
    fn logfmt_pairs_quoted_and_bare() {
        assert_eq!(
            run(r#"level=info msg="hello world" n=3"#),
            pairs(&[("level", "info"), ("msg", "hello world"), ("n", "3")])
        );
        assert_eq!(
            run("  a=1\tb=  c= d=\"\" "),
            pairs(&[("a", "1"), ("b", ""), ("c", ""), ("d", "")])
        );
    }

    #[test]
    fn logfmt_bare_key_is_empty_and_last_value_wins() {
        assert_eq!(
            run("debug a=1 verbose a=2"),
            pairs(&[("debug", ""), ("a", "2"), ("verbose", "")])
        );
    }

    #[test]
    fn logfmt_escapes() {
        assert_eq!(
            run(r#"m="a \"q\" \\ \n\t\/ \u00e9 \x""#),
            pairs(&[("m", "a \"q\" \\ \n\t/ é \\x")])
        );
        assert_eq!(run(r#"m="\u12""#), pairs(&[("m", "\\u12")]));
        assert_eq!(run(r#"m="\u+0e9""#), pairs(&[("m", "\\u+0e9")]));
        assert_eq!(run(r#"m="é\"""#), pairs(&[("m", "é\"")]));
    }

    #[test]
    fn logfmt_surrogate_pair_escapes_make_one_character() {
        // as go-logfmt (encoding/json's unquoting) and spate's json do
        assert_eq!(
            run(r#"g="\ud83d\ude00" h="x\uD83D\uDE00y""#),
            pairs(&[("g", "\u{1f600}"), ("h", "x\u{1f600}y")])
        );
        // half a pair alone is U+FFFD; what follows it is read as usual
        assert_eq!(
            run(r#"a="\ud83d" b="\ude00" c="\ud83dx" d="\ud83d\u00e9" e="\ud83d\n""#),
            pairs(&[
                ("a", "\u{fffd}"),
                ("b", "\u{fffd}"),
                ("c", "\u{fffd}x"),
                ("d", "\u{fffd}\u{e9}"),
                ("e", "\u{fffd}\n"),
            ])
        );
        // two high halves, then a pair; a high half before a bad \u
        assert_eq!(
            run(r#"a="\ud83d\ud83d\ude00" b="\ud83d\u12""#),
            pairs(&[("a", "\u{fffd}\u{1f600}"), ("b", "\u{fffd}\\u12")])
        );
    }

    #[test]
    fn logfmt_values_borrow_unless_escaped() {
        let line = r#"a=x b="y z" c="q\"""#;
        let (out, _) = run_rec(&[], Record::from_line(Cow::Borrowed(line), line));
        let f = &out[0].fields;
        assert!(matches!(
            &f[0],
            (
                Cow::Borrowed("a"),
                Value::Str(Text {
                    s: Cow::Borrowed("x"),
                    ..
                })
            )
        ));
        assert!(matches!(
            &f[1].1,
            Value::Str(Text {
                s: Cow::Borrowed("y z"),
                ..
            })
        ));
        assert!(matches!(&f[2].1, Value::Str(Text { s: Cow::Owned(s), .. }) if s == "q\""));
    }

    #[test]
    fn logfmt_lenient_with_stray_text() {
        assert_eq!(
            run(r#"=x "junk" a="1"b k=v=w"#),
            pairs(&[("a", "1"), ("b", ""), ("k", "v=w")])
        );
        assert_eq!(run("url=http://x/?a=b"), pairs(&[("url", "http://x/?a=b")]));
    }

    #[test]
    fn logfmt_drops_unparsable_lines() {
        assert_eq!(run("just some words"), Err("no key=value pair".into()));
        assert_eq!(run(""), Err("no key=value pair".into()));
        assert_eq!(run("=x"), Err("no key=value pair".into()));
        assert_eq!(
            run(r#"a=1 é="open"#),
            Err("unterminated quote at column 7".into())
        );
        assert_eq!(
            run(r#"a="x\""#),
            Err("unterminated quote at column 3".into())
        );
        assert_eq!(
            run(r#"a="x\"#),
            Err("unterminated quote at column 3".into())
        );
    }

    #[test]
    fn logfmt_other_field() {
        let mut rec = Record::from_line(Cow::Borrowed("x"), "x");
        rec.set(Cow::Borrowed("msg"), Value::owned_str("k=v".into()));
        let (out, _) = run_rec(&["-f", "msg"], rec.clone());
        assert_eq!(out[0].get("k").and_then(Value::as_str), Some("v"));
        let (out, cx) = run_rec(&["-f", "nope"], rec);
        assert!(out.is_empty());
        assert_eq!(
            cx.offence.map(|o| o.detail),
            Some("no field 'nope' to parse".into())
        );
    }
}
