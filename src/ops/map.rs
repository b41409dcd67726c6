//! `map FUNC [ARGS]`: rewrites `_` (or `-f FIELD`) with one function:
//! `lower`, `upper`, `trim`, `replace`, `extract`, `field`, `template`.
//! Results are text, borrowed from the input wherever the function only
//! picks a part of it.

use std::borrow::Cow;

use clap::{Arg, ArgMatches};
use regex::Regex;

use crate::accounting::Ctx;
use crate::ops::parse::LocalRegex;
use crate::ops::spark::{
    JAVA_TRIM, JAVA_WHITESPACE, Spark, SparkCx, SparkMap, arg, py, reads_field,
};
use crate::ops::{BuildCx, Built, Operator, RecordOp, Stage, compile_regex};
use crate::record::{CURRENT, Record};
use crate::value::{Text, Value};

pub struct Map;

/// The functions, with their arguments, for messages.
const FUNCS: [(&str, &str); 7] = [
    ("lower", ""),
    ("upper", ""),
    ("trim", ""),
    ("replace", " REGEX REPL"),
    ("extract", " REGEX"),
    ("field", " N"),
    ("template", " TEXT"),
];

impl Operator for Map {
    fn name(&self) -> &'static str {
        "map"
    }
    fn summary(&self) -> &'static str {
        "Rewrite _ (or a field): lower, upper, trim, replace, extract, field, template"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new("func")
                .value_name("FUNC")
                .help("lower, upper, trim, replace, extract, field or template (see below)"),
        )
        // Two single positionals rather than one list: clap then still
        // reads `-d ,` after them as the option, while an argument such as
        // `-+` that is no known option is taken as a value.
        .arg(
            Arg::new("arg1")
                .value_name("ARG")
                .allow_hyphen_values(true)
                .help("The function's first argument: REGEX, N or TEXT"),
        )
        .arg(
            Arg::new("arg2")
                .value_name("ARG")
                .allow_hyphen_values(true)
                .help("The function's second argument: replace's REPL"),
        )
        .arg(
            Arg::new("field")
                .short('f')
                .long("field")
                .value_name("FIELD")
                .default_value(CURRENT)
                .help("Rewrite this field instead of _ (dotted names reach into JSON)"),
        )
        .arg(
            Arg::new("delim")
                .short('d')
                .long("delim")
                .value_name("DELIM")
                .help("For 'field': split at this literal text instead of at runs of whitespace"),
        )
        .after_help(
            "Functions:\n  \
             lower, upper        change the case of every letter\n  \
             trim                remove leading and trailing whitespace\n  \
             replace REGEX REPL  replace every match; REPL may use $1, ${1}, ${name},\n  \
             \x20                   and $$ for a literal $\n  \
             extract REGEX       the first capture group (empty if it took no part), or\n  \
             \x20                   the whole match when REGEX has no group; a record\n  \
             \x20                   that does not match is dropped, as by a filter\n  \
             field N [-d DELIM]  the Nth field (1-based as in awk; -1 is the last), split\n  \
             \x20                   at runs of whitespace, leading and trailing ignored, or\n  \
             \x20                   at every DELIM (empty fields count); past the last\n  \
             \x20                   field: empty text\n  \
             template TEXT       each {name} in TEXT becomes that field's text ({_} is\n  \
             \x20                   the current value, a missing field gives nothing, dotted\n  \
             \x20                   names reach into JSON); {{ and }} are literal braces\n\n\
             The result is text. A record without FIELD passes unchanged, except with\n\
             template, which creates FIELD. An argument spelt like one of map's options\n\
             (-f, -d) goes after --, as in map replace -- -d x\n\n\
             Examples:\n  \
             spate -b eof map lower then split -r '[^a-z]+' then count-by-key\n  \
             spate json then map -f path replace '\\?.*' '' then count-by-key path\n  \
             spate map field 1 -d , then map template 'user {_}' then count-by-key",
        )
    }
    fn stage(&self) -> Stage {
        Stage::PerRecord
    }
    fn fields(&self, m: &ArgMatches) -> Vec<String> {
        // template makes its target when it is missing: only the fields it
        // reads count
        if m.get_one::<String>("func").is_some_and(|f| f == "template") {
            return m
                .get_one::<String>("arg1")
                .and_then(|t| parse_template(t).ok())
                .into_iter()
                .flatten()
                .filter_map(|p| match p {
                    Piece::Field(name) => Some(name),
                    Piece::Text(_) => None,
                })
                .collect();
        }
        crate::ops::one(m, "field")
    }
    fn build(&self, m: &ArgMatches, _cx: &BuildCx) -> Result<Built, String> {
        let Some(name) = m.get_one::<String>("func") else {
            return Err(format!("needs a function: {}", usage_list()));
        };
        let args: Vec<&str> = ["arg1", "arg2"]
            .iter()
            .filter_map(|id| m.get_one::<String>(id).map(String::as_str))
            .collect();
        let delim = m.get_one::<String>("delim");
        let func = match name.as_str() {
            "lower" | "upper" | "trim" => {
                arity(name, &args, 0)?;
                match name.as_str() {
                    "lower" => Func::Lower,
                    "upper" => Func::Upper,
                    _ => Func::Trim,
                }
            }
            "replace" => {
                arity(name, &args, 2)?;
                let re = compile_regex(args[0])?;
                check_replacement(&re, args[1])?;
                Func::Replace(LocalRegex::new(re), args[1].to_string())
            }
            "extract" => {
                arity(name, &args, 1)?;
                let re = compile_regex(args[0])?;
                let group = re.captures_len() > 1;
                Func::Extract(LocalRegex::new(re), group)
            }
            "field" => {
                arity(name, &args, 1)?;
                let n = field_number(args[0])?;
                let delim = match delim {
                    Some(d) if d.is_empty() => return Err("the delimiter must not be empty".into()),
                    d => d.cloned(),
                };
                Func::Field(n, delim)
            }
            "template" => {
                arity(name, &args, 1)?;
                Func::Template(parse_template(args[0])?)
            }
            other => {
                let hint = match suggest(other) {
                    Some(s) => format!("did you mean '{s}'?"),
                    None => format!("expected one of {}", usage_list()),
                };
                return Err(format!("unknown function '{other}'; {hint}"));
            }
        };
        if delim.is_some() && !matches!(func, Func::Field(..)) {
            return Err(format!(
                "-d/--delim applies only to 'field', not to '{name}'"
            ));
        }
        let field = m.get_one::<String>("field").map_or(CURRENT, String::as_str);
        // Names live for the whole run; leaking the one target name gives
        // every record a `&'static str` to borrow instead of a copy per line
        // when map creates the field (see parse.rs).
        let field: &'static str = Box::leak(field.to_owned().into_boxed_str());
        Ok(Built::Record(Box::new(MapOp { func, field })))
    }
    fn spark(&self) -> Spark {
        Spark::Map(SparkMap {
            reads: spark_reads,
            map: to_spark,
        })
    }
}

/// The field `-f` names, and those a template reads.
fn spark_reads(m: &ArgMatches) -> Vec<String> {
    let mut v = reads_field(m);
    if arg(m, "func").as_deref() == Some("template") {
        if let Some(t) = arg(m, "arg1") {
            v.extend(
                parse_template(&t)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| match p {
                        Piece::Field(f) => Some(f),
                        Piece::Text(_) => None,
                    }),
            );
        }
    }
    v
}

/// `lower`, `upper`, trim (Unicode white space), `regexp_replace`,
/// `regexp_extract` (a filter drops what does not match), `element_at` of
/// `split`, and `concat` for template.
fn to_spark(m: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    let field = crate::ops::field_or_current(m);
    let func = arg(m, "func").unwrap_or_default();
    let arg1 = arg(m, "arg1").unwrap_or_default();
    let arg2 = arg(m, "arg2").unwrap_or_default();
    if func == "template" {
        let parts: Vec<String> = parse_template(&arg1)?
            .into_iter()
            .map(|p| match p {
                Piece::Text(t) => format!("F.lit({})", py(&t)),
                Piece::Field(f) => format!("F.coalesce(txt({}), F.lit(\"\"))", cx.expr(&f)),
            })
            .collect();
        let concat = if parts.is_empty() {
            "F.lit(\"\")".to_string()
        } else {
            format!("F.concat({})", parts.join(", "))
        };
        cx.set(&field, format!("text_value({concat})"));
        return Ok(());
    }
    if !cx.has(&field) {
        // a record without FIELD passes unchanged
        return Ok(());
    }
    let c = cx.expr(&field);
    let t = format!("txt({c})");
    let expr = match func.as_str() {
        "lower" => format!("F.lower({t})"),
        "upper" => format!("F.upper({t})"),
        "trim" => format!("F.regexp_replace({t}, {}, \"\")", py(JAVA_TRIM)),
        "replace" => {
            let re = cx.java_regex(&arg1)?;
            let repl = cx.java_replacement(&arg2, &re)?;
            format!("F.regexp_replace({t}, {}, {})", py(&re.pattern), py(&repl))
        }
        "extract" => {
            let re = cx.java_regex(&arg1)?;
            let group = usize::from(re.groups > 0);
            cx.line(format!(
                "df = df.filter({c}.isNull() | {t}.rlike({}))",
                py(&re.pattern)
            ));
            format!("F.regexp_extract({t}, {}, {group})", py(&re.pattern))
        }
        "field" => {
            let n = field_number(&arg1)?;
            let arr = match arg(m, "delim") {
                Some(d) => format!("F.split({t}, {}, -1)", py(&cx.java_quote(&d))),
                None => format!(
                    "F.split(F.regexp_replace({t}, {}, \"\"), {}, -1)",
                    py(JAVA_TRIM),
                    py(JAVA_WHITESPACE)
                ),
            };
            format!("F.coalesce(F.element_at({arr}, {n}), F.lit(\"\"))")
        }
        other => return Err(format!("map {other} has no PySpark mapping")),
    };
    cx.set(
        &field,
        format!("F.when({c}.isNotNull(), text_value({expr}))"),
    );
    Ok(())
}

fn usage_list() -> String {
    FUNCS
        .iter()
        .map(|(n, a)| format!("{n}{a}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn arity(name: &str, args: &[&str], n: usize) -> Result<(), String> {
    if args.len() == n {
        return Ok(());
    }
    let want = FUNCS
        .iter()
        .find(|(f, _)| *f == name)
        .map_or("", |(_, a)| *a);
    Err(match (n, args.len()) {
        (0, _) => format!("'{name}' takes no arguments, got '{}'", args.join(" ")),
        (_, got) if got < n => format!("'{name}' needs{want}, e.g. {}", example(name)),
        _ => format!(
            "'{name}' takes{want}; unexpected '{}' (quote an argument that holds spaces)",
            args[n..].join(" ")
        ),
    })
}

fn example(name: &str) -> &'static str {
    match name {
        "replace" => "map replace '\\s+' ' '",
        "extract" => "map extract 'id=(\\d+)'",
        "field" => "map field 2",
        _ => "map template '{host}:{port}'",
    }
}

/// The closest function name, when one is close enough to be a typo.
fn suggest(name: &str) -> Option<&'static str> {
    crate::suggest::closest(name, FUNCS.iter().map(|(f, _)| *f))
}

/// A field number: 1 is the first, -1 the last; 0 is refused (awk's `$0`
/// is the whole value, which needs no function).
fn field_number(s: &str) -> Result<i64, String> {
    match s.trim().parse::<i64>() {
        Ok(0) => Err("field numbers start at 1 (-1 is the last field)".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "'field' needs a field number such as 1, 2 or -1, not '{s}'"
        )),
    }
}

/// Refuses a replacement that names a group REGEX does not have, which the
/// regex crate would silently replace with nothing (`$1a` names group `1a`).
fn check_replacement(re: &Regex, repl: &str) -> Result<(), String> {
    let b = repl.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        let (name, next) = if b.get(i + 1) == Some(&b'$') {
            i += 2;
            continue;
        } else if b.get(i + 1) == Some(&b'{') {
            match repl[i + 2..].find('}') {
                Some(end) => (&repl[i + 2..i + 2 + end], i + 3 + end),
                None => (&repl[i..i], b.len()),
            }
        } else {
            let len = repl[i + 1..]
                .bytes()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                .count();
            (&repl[i + 1..i + 1 + len], i + 1 + len)
        };
        i = next.max(i + 1);
        if name.is_empty() {
            continue;
        }
        let known = match name.parse::<usize>() {
            Ok(n) => n < re.captures_len(),
            Err(_) => re.capture_names().flatten().any(|n| n == name),
        };
        if !known {
            return Err(missing_group(re, name));
        }
    }
    Ok(())
}

/// Why a replacement's `$name` names no group of `re`, and what to write:
/// the groups it has; for `$1x` (read as the group `1x`), `${1}x`.
fn missing_group(re: &Regex, name: &str) -> String {
    let groups = re.captures_len() - 1;
    let named: Vec<&str> = re.capture_names().flatten().collect();
    let has = match (groups, named.is_empty()) {
        (0, _) => "the regex has no group (put one in parentheses)".to_string(),
        (1, true) => "the regex has one group: $1".to_string(),
        (n, true) => format!("the regex has groups $1 to ${n}"),
        (n, false) => format!(
            "the regex has groups $1 to ${n}, named {}",
            named
                .iter()
                .map(|n| format!("${{{n}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    let tip = if digits > 0 && digits < name.len() {
        let (n, rest) = name.split_at(digits);
        format!("; write ${{{n}}}{rest} for group {n} followed by {rest}")
    } else {
        String::new()
    };
    format!(
        "the replacement refers to group '{name}', which the regex does not have: {has}{tip} ($$ for a literal $)"
    )
}

/// One piece of a template.
#[derive(Debug, PartialEq)]
enum Piece {
    Text(String),
    Field(String),
}

fn parse_template(t: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = t.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|p| p.1) == Some('{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek().map(|p| p.1) == Some('}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let rest = &t[i + 1..];
                let Some(end) = rest
                    .find(['{', '}'])
                    .filter(|&e| rest[e..].starts_with('}'))
                else {
                    return Err(format!(
                        "template '{t}': unclosed '{{' at position {} (write {{{{ for a literal \
                         brace)",
                        i + 1
                    ));
                };
                let name = rest[..end].trim();
                if name.is_empty() {
                    return Err(format!(
                        "template '{t}': empty field name at position {}",
                        i + 1
                    ));
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Field(name.to_string()));
                while chars.next_if(|&(j, _)| j <= i + 1 + end).is_some() {}
            }
            '}' => {
                return Err(format!(
                    "template '{t}': unmatched '}}' at position {} (write }}}} for a literal \
                     brace)",
                    i + 1
                ));
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

enum Func {
    Lower,
    Upper,
    Trim,
    Replace(LocalRegex, String),
    /// The regex, and whether it has a group to take.
    Extract(LocalRegex, bool),
    /// 1-based from the start, or -1 for the last; the literal delimiter.
    Field(i64, Option<String>),
    Template(Vec<Piece>),
}

struct MapOp {
    func: Func,
    field: &'static str,
}

impl Func {
    /// The function on one text; `None` drops the record (extract without
    /// a match).
    fn on_str<'t>(&self, s: &'t str) -> Option<Cow<'t, str>> {
        Some(match self {
            Func::Lower if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_uppercase()) => {
                Cow::Borrowed(s)
            }
            Func::Lower => Cow::Owned(s.to_lowercase()),
            Func::Upper if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_lowercase()) => {
                Cow::Borrowed(s)
            }
            Func::Upper => Cow::Owned(s.to_uppercase()),
            Func::Trim => Cow::Borrowed(s.trim()),
            Func::Replace(re, repl) => re.replace_all(s, repl.as_str()),
            Func::Extract(re, false) => {
                let (a, b) = re.find(s)?;
                Cow::Borrowed(s.get(a..b).unwrap_or(""))
            }
            Func::Extract(re, true) => {
                let span = re.captures(s, |locs| locs.get(1))?;
                Cow::Borrowed(span.and_then(|(a, b)| s.get(a..b)).unwrap_or(""))
            }
            Func::Field(n, delim) => Cow::Borrowed(nth_field(s, *n, delim.as_deref())),
            // rendered from the whole record in `process`
            Func::Template(_) => Cow::Borrowed(s),
        })
    }

    fn apply<'a>(&self, v: Value<'a>) -> Option<Value<'a>> {
        match v {
            // what map gives is text it made, whatever it was given
            Value::Str(Text {
                s: Cow::Borrowed(s),
                ..
            }) => self.on_str(s).map(Value::text_of),
            Value::Str(s) => self.on_str(&s).map(|r| own(r.into_owned())),
            other => self.on_str(&other.text()).map(|r| own(r.into_owned())),
        }
    }
}

fn own<'a>(s: String) -> Value<'a> {
    Value::owned_str(s)
}

fn nth_field<'t>(s: &'t str, n: i64, delim: Option<&str>) -> &'t str {
    let k = usize::try_from(n.unsigned_abs() - 1).unwrap_or(usize::MAX);
    let found = match (delim, n > 0) {
        (Some(d), true) => s.split(d).nth(k),
        (Some(d), false) => s.rsplit(d).nth(k),
        (None, true) if s.is_ascii() => s.split_ascii_whitespace().nth(k),
        (None, false) if s.is_ascii() => s.split_ascii_whitespace().nth_back(k),
        (None, true) => s.split_whitespace().nth(k),
        (None, false) => s.split_whitespace().nth_back(k),
    };
    found.unwrap_or("")
}

fn render(pieces: &[Piece], rec: &Record<'_>) -> String {
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Field(name) => {
                if let Some(v) = rec.lookup(name) {
                    v.write_text(&mut out);
                }
            }
        }
    }
    out
}

impl RecordOp for MapOp {
    /// The columns it takes, then the field it may add: a template's
    /// field, a dotted name's result. Any other function rewrites a field
    /// in place, or leaves the record as it is when the field is missing.
    fn columns(&self, input: Option<&[String]>) -> Option<Vec<String>> {
        let adds = matches!(self.func, Func::Template(_)) || self.field.contains('.');
        crate::ops::with_columns(input, adds.then_some(self.field))
    }

    fn process<'a>(&self, mut rec: Record<'a>, out: &mut Vec<Record<'a>>, _cx: &mut Ctx) {
        if let Func::Template(pieces) = &self.func {
            let text = render(pieces, &rec);
            rec.set(Cow::Borrowed(self.field), own(text));
            out.push(rec);
            return;
        }
        if let Some(slot) = rec.get_mut(self.field) {
            let v = std::mem::replace(slot, Value::Null);
            match self.func.apply(v) {
                Some(new) => *slot = new,
                None => return,
            }
        } else if self.field.contains('.') {
            // a path into JSON: the result becomes a field of that dotted
            // name, which shadows the path for the operators after this one
            if let Some(v) = rec.lookup(self.field).map(Cow::into_owned) {
                match self.func.apply(v) {
                    Some(new) => rec.set(Cow::Borrowed(self.field), new),
                    None => return,
                }
            }
        }
        out.push(rec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::record_op;

    fn run_rec<'a>(args: &[&str], rec: Record<'a>) -> Vec<Record<'a>> {
        let op =
            record_op(&[&["map"], args].concat()).unwrap_or_else(|e| panic!("map {args:?}: {e}"));
        let mut out = Vec::new();
        op.process(rec, &mut out, &mut Ctx::default());
        out
    }

    /// `_` after the map, or `None` when the record was dropped.
    fn run(args: &[&str], line: &str) -> Option<String> {
        let out = run_rec(args, Record::from_line(Cow::Borrowed(line), line));
        assert!(out.len() <= 1);
        out.first().map(|r| {
            r.get("_")
                .map(|v| v.text().into_owned())
                .unwrap_or_default()
        })
    }

    fn err(args: &[&str]) -> String {
        record_op(&[&["map"], args].concat())
            .err()
            .unwrap_or_else(|| panic!("map {args:?} should fail"))
    }

    #[test]
    fn map_case_and_trim() {
        assert_eq!(run(&["lower"], "HeLLo Ü").as_deref(), Some("hello ü"));
        assert_eq!(run(&["upper"], "straße").as_deref(), Some("STRASSE"));
        assert_eq!(run(&["trim"], " \t a b \u{a0}").as_deref(), Some("a b"));
    }

    #[test]
    fn map_borrows_where_it_can() {
        let line = "  already lower  ";
        let out = run_rec(&["trim"], Record::from_line(Cow::Borrowed(line), line));
        assert!(matches!(
            out[0].value,
            Some(Value::Str(Text {
                s: Cow::Borrowed("already lower"),
                ..
            }))
        ));
        let out = run_rec(&["lower"], Record::from_line(Cow::Borrowed(line), line));
        assert!(matches!(
            out[0].value,
            Some(Value::Str(Text {
                s: Cow::Borrowed(_),
                ..
            }))
        ));
        let out = run_rec(
            &["field", "2"],
            Record::from_line(Cow::Borrowed(line), line),
        );
        assert!(matches!(
            out[0].value,
            Some(Value::Str(Text {
                s: Cow::Borrowed("lower"),
                ..
            }))
        ));
    }

    #[test]
    fn map_replace_every_match_with_groups() {
        assert_eq!(
            run(&["replace", "o", "0"], "foo boo").as_deref(),
            Some("f00 b00")
        );
        assert_eq!(
            run(&["replace", r"(\w+)=(?P<v>\w+)", "${v}:$1"], "a=1 b=2").as_deref(),
            Some("1:a 2:b")
        );
        assert_eq!(run(&["replace", "x", "$$"], "axb").as_deref(), Some("a$b"));
        assert_eq!(
            run(&["replace", "-+", "-"], "a---b").as_deref(),
            Some("a-b")
        );
        assert_eq!(run(&["replace", "z", ""], "abc").as_deref(), Some("abc"));
    }

    #[test]
    fn map_replace_refuses_unknown_group() {
        let e = err(&["replace", "(a)", "$1b"]);
        assert!(e.contains("group '1b'"), "{e}");
        assert!(err(&["replace", "(a)", "$2"]).contains("group '2'"));
        assert!(err(&["replace", "(a)", "${x}"]).contains("group 'x'"));
        assert!(record_op(&["map", "replace", "(?P<x>a)", "${x}$0${1}$$y $"]).is_ok());
        // each message says which groups there are; the `${1}x` tip only
        // where a number ran into letters
        assert!(e.contains("write ${1}b for group 1 followed by b"), "{e}");
        let two = err(&["replace", "(a)", "$2"]);
        assert!(two.contains("the regex has one group: $1"), "{two}");
        assert!(!two.contains("followed by"), "{two}");
        let named = err(&["replace", "(?P<y>a)(b)", "${x}"]);
        assert!(named.contains("groups $1 to $2, named ${y}"), "{named}");
        let none = err(&["replace", "a", "$1"]);
        assert!(none.contains("has no group"), "{none}");
    }

    #[test]
    fn map_extract_group_match_and_drop() {
        assert_eq!(
            run(&["extract", r"id=(\d+)"], "x id=42 y").as_deref(),
            Some("42")
        );
        assert_eq!(
            run(&["extract", r"\d+"], "ab 123 4").as_deref(),
            Some("123")
        );
        assert_eq!(run(&["extract", r"(x)?y"], "y").as_deref(), Some(""));
        assert_eq!(run(&["extract", r"\d+"], "none"), None);
        assert_eq!(run(&["extract", r"(\d+)"], "none"), None);
    }

    #[test]
    fn map_field_awk_like() {
        assert_eq!(run(&["field", "2"], "  a   b\tc ").as_deref(), Some("b"));
        assert_eq!(run(&["field", "-1"], "a b c  ").as_deref(), Some("c"));
        assert_eq!(run(&["field", "4"], "a b c").as_deref(), Some(""));
        assert_eq!(run(&["field", "1"], "").as_deref(), Some(""));
        assert_eq!(run(&["field", "2"], "é\u{a0}ü x").as_deref(), Some("ü"));
        assert_eq!(run(&["field", "2", "-d", ","], "a,,c").as_deref(), Some(""));
        assert_eq!(
            run(&["field", "3", "-d", ","], "a,,c").as_deref(),
            Some("c")
        );
        assert_eq!(
            run(&["-d", "::", "field", "-1"], "a::b::c").as_deref(),
            Some("c")
        );
        assert_eq!(run(&["field", "-5", "-d", ","], "a,b").as_deref(), Some(""));
        assert_eq!(
            run(&["--delim", ",", "field", "1"], ",b").as_deref(),
            Some("")
        );
    }

    #[test]
    fn map_template_fields_braces_and_missing() {
        let mut rec = Record::from_line(Cow::Borrowed("v"), "v");
        rec.set(Cow::Borrowed("host"), Value::str("h"));
        rec.set(Cow::Borrowed("port"), Value::Int(80));
        rec.set(
            Cow::Borrowed("j"),
            Value::Json(Box::new(serde_json::json!({"a": {"b": 1.5}}))),
        );
        let out = run_rec(
            &["template", "{host}:{ port } {{{_}}} [{nope}] {j.a.b}"],
            rec.clone(),
        );
        assert_eq!(
            out[0].get("_").map(|v| v.text().into_owned()),
            Some("h:80 {v} [] 1.5".into())
        );
        let out = run_rec(&["-f", "url", "template", "http://{host}/"], rec);
        assert_eq!(
            out[0].get("url").map(|v| v.text().into_owned()),
            Some("http://h/".into())
        );
        assert_eq!(
            out[0].get("_").map(|v| v.text().into_owned()),
            Some("v".into())
        );
    }

    #[test]
    fn map_template_pieces() {
        // the pieces the Spark mapping concatenates (once emit's own copy)
        assert_eq!(
            parse_template("a{x}{{b}}{ y }").unwrap(),
            vec![
                Piece::Text("a".into()),
                Piece::Field("x".into()),
                Piece::Text("{b}".into()),
                Piece::Field("y".into())
            ]
        );
    }

    #[test]
    fn map_template_errors() {
        assert!(err(&["template", "a {b"]).contains("unclosed '{' at position 3"));
        assert!(err(&["template", "a {b{c}"]).contains("unclosed '{' at position 3"));
        assert!(err(&["template", "a }"]).contains("unmatched '}' at position 3"));
        assert!(err(&["template", "{ }"]).contains("empty field name"));
        assert_eq!(
            parse_template("é{a}}}x{{"),
            Ok(vec![
                Piece::Text("é".into()),
                Piece::Field("a".into()),
                Piece::Text("}x{".into())
            ])
        );
    }

    #[test]
    fn map_other_field_numbers_and_missing() {
        let mut rec = Record::from_line(Cow::Borrowed("Keep"), "Keep");
        rec.set(Cow::Borrowed("name"), Value::owned_str("  Bob ".into()));
        rec.set(Cow::Borrowed("n"), Value::Int(12345));
        let out = run_rec(&["-f", "name", "trim"], rec.clone());
        assert_eq!(
            out[0].get("name").map(|v| v.text().into_owned()),
            Some("Bob".into())
        );
        assert_eq!(
            out[0].get("_").map(|v| v.text().into_owned()),
            Some("Keep".into())
        );
        let out = run_rec(&["-f", "n", "extract", "^..."], rec.clone());
        assert!(matches!(out[0].get("n"), Some(Value::Str(s)) if s == "123"));
        // a missing field: unchanged, not dropped, even for extract
        let out = run_rec(&["-f", "nope", "extract", "x"], rec);
        assert_eq!(out.len(), 1);
        assert!(out[0].get("nope").is_none());
    }

    #[test]
    fn map_dotted_field_reaches_into_json() {
        let mut rec = Record::default();
        rec.set(
            Cow::Borrowed("user"),
            Value::Json(Box::new(serde_json::json!({"name": "BOB"}))),
        );
        let out = run_rec(&["-f", "user.name", "lower"], rec);
        assert_eq!(
            out[0].lookup("user.name").map(|v| v.text().into_owned()),
            Some("bob".into())
        );
    }

    #[test]
    fn map_hyphen_arguments_and_options_anywhere() {
        assert_eq!(run(&["replace", "-+", "-"], "a--b").as_deref(), Some("a-b"));
        assert_eq!(run(&["template", "-> {_}"], "x").as_deref(), Some("-> x"));
        assert_eq!(
            run(&["replace", "--", "-d", "x"], "a-d").as_deref(),
            Some("ax")
        );
        assert_eq!(run(&["field", "-d", ",", "2"], "a,b").as_deref(), Some("b"));
        let e = record_op(&["map", "replace", "a", "b", "c"])
            .err()
            .expect("three arguments");
        assert!(e.contains("unexpected argument 'c'"), "{e}");
    }

    #[test]
    fn map_function_errors() {
        assert!(err(&[]).starts_with("needs a function: lower, upper"));
        assert_eq!(
            err(&["lowr"]),
            "unknown function 'lowr'; did you mean 'lower'?"
        );
        assert_eq!(
            err(&["temp"]),
            "unknown function 'temp'; did you mean 'template'?"
        );
        assert!(err(&["frobnicate"]).contains("expected one of lower, upper"));
        assert!(err(&["lower", "x"]).contains("takes no arguments"));
        assert!(err(&["replace", "a"]).contains("needs REGEX REPL"));
        assert!(err(&["extract"]).contains("needs REGEX"));
        assert!(err(&["extract", "a", "b"]).contains("unexpected 'b'"));
        assert!(err(&["extract", "(a"]).starts_with("bad regex"));
        assert!(err(&["replace", "(a", "b"]).starts_with("bad regex"));
        assert!(err(&["field", "0"]).contains("start at 1"));
        assert!(err(&["field", "x"]).contains("field number"));
        assert!(err(&["field", "1", "-d", ""]).contains("must not be empty"));
        assert!(err(&["-d", ",", "lower"]).contains("only to 'field'"));
        assert!(err(&["template"]).contains("needs TEXT"));
    }
}
