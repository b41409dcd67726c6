//! `where FIELD OP VALUE`: keeps the records for which a comparison holds;
//! numeric when both sides read as numbers (as in awk), else by bytes, or a
//! regex match (`~`, `!~`). A silent filter.

use std::cmp::Ordering;

use clap::{Arg, ArgMatches};

use crate::accounting::Ctx;
use crate::ops::parse::LocalRegex;
use crate::ops::spark::{Spark, SparkCx, SparkMap, py, py_bool};
use crate::ops::{BuildCx, Built, Operator, RecordOp, Stage, compile_regex};
use crate::record::Record;
use crate::value::{Num, parse_num};

pub struct Where;

/// Every operator as written, longest first so that a one-word condition
/// (`status>=500`) splits at `>=` rather than at `>`.
const OPS: [(&str, Op); 10] = [
    ("==", Op::Eq),
    ("!=", Op::Ne),
    ("<=", Op::Le),
    (">=", Op::Ge),
    ("!~", Op::NotMatch),
    ("=~", Op::Match),
    ("=", Op::Eq),
    ("<", Op::Lt),
    (">", Op::Gt),
    ("~", Op::Match),
];

const HOW: &str = "needs FIELD OP VALUE, e.g. where status == 200 or where count '>' 5 \
                   (quote < and > so that the shell does not take them as redirections)";

impl Operator for Where {
    fn name(&self) -> &'static str {
        "where"
    }
    fn summary(&self) -> &'static str {
        "Keep records where a comparison holds: == != < <= > >= (numeric or text), ~ !~ (regex)"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.override_usage("spate where FIELD OP VALUE\n       spate where FIELDOPVALUE")
            .arg(
                Arg::new("field")
                    .value_name("FIELD")
                    .help("The field to test (dotted names reach into JSON)"),
            )
            .arg(
                Arg::new("op")
                    .value_name("OP")
                    .help("== != < <= > >= (= is ==), ~ !~ (=~ is ~)"),
            )
            .arg(
                Arg::new("value")
                    .value_name("VALUE")
                    .allow_hyphen_values(true)
                    .help("A number, text, or for ~ and !~ a regex"),
            )
            .after_help(
                "The comparisons are numeric when both sides read as numbers (text that \
                 looks numeric included, as in awk: 007 == 7), else they compare the text \
                 byte by byte. ~ keeps the records whose field matches the regex VALUE \
                 anywhere, !~ those whose field does not. A record without FIELD fails every \
                 test except != and !~, which it passes. Quote < and > from the shell; the \
                 condition may also be one word, such as 'status>=500'. Records are dropped \
                 silently, as by a filter.\n\n\
                 Examples:\n  \
                 spate parse '\" (?P<status>\\d{3}) ' then where status '>=' 500 then count\n  \
                 spate json then where service == api then stats -f latency_ms -a p99\n  \
                 spate logfmt then where msg '~' '(?i)timeout' then count-by-key host",
            )
    }
    fn stage(&self) -> Stage {
        Stage::PerRecord
    }
    fn fields(&self, m: &ArgMatches) -> Vec<String> {
        let words: Vec<&str> = ["field", "op", "value"]
            .iter()
            .filter_map(|id| m.get_one::<String>(id).map(String::as_str))
            .collect();
        match words.as_slice() {
            [field, _, _] => vec![field.to_string()],
            [one] => split_condition(one)
                .map(|(f, _, _)| vec![f.to_string()])
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
    fn build(&self, m: &ArgMatches, _cx: &BuildCx) -> Result<Built, String> {
        let words: Vec<&str> = ["field", "op", "value"]
            .iter()
            .filter_map(|id| m.get_one::<String>(id).map(String::as_str))
            .collect();
        let (field, op_word, value) = match words.as_slice() {
            [field, op, value] => (*field, *op, *value),
            [one] => split_condition(one)?,
            _ => return Err(HOW.into()),
        };
        if field.is_empty() {
            return Err(format!("empty field name in '{}'", words.join(" ")));
        }
        let Some(op) = OPS.iter().find(|(w, _)| *w == op_word).map(|(_, o)| *o) else {
            return Err(format!(
                "unknown comparison '{op_word}'; expected one of == != < <= > >= ~ !~"
            ));
        };
        let test = match op {
            Op::Match | Op::NotMatch => Test::Regex(LocalRegex::new(compile_regex(value)?)),
            _ => Test::Cmp {
                num: parse_num(value),
                text: value.to_string(),
            },
        };
        Ok(Built::Record(Box::new(WhereOp {
            field: field.to_string(),
            op,
            test,
        })))
    }
    fn spark(&self) -> Spark {
        Spark::Map(SparkMap {
            reads: spark_reads,
            map: to_spark,
        })
    }
}

/// The field, comparison and value, from three words or one.
fn condition(m: &ArgMatches) -> Option<(String, String, String)> {
    let words: Vec<&str> = ["field", "op", "value"]
        .iter()
        .filter_map(|id| m.get_one::<String>(id).map(String::as_str))
        .collect();
    let (f, o, v) = match words.as_slice() {
        [f, o, v] => (*f, *o, *v),
        [one] => split_condition(one).ok()?,
        _ => return None,
    };
    Some((f.to_string(), o.to_string(), v.to_string()))
}

fn spark_reads(m: &ArgMatches) -> Vec<String> {
    condition(m).map(|(f, _, _)| vec![f]).unwrap_or_default()
}

/// A numeric comparison when both sides read as numbers, else text by
/// bytes (the runtime's `where_cmp`); `~` and `!~` as `rlike`.
fn to_spark(m: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    let Some((field, op, value)) = condition(m) else {
        return Err("needs FIELD OP VALUE".into());
    };
    let c = cx.expr(&field);
    let cond = match op.as_str() {
        "~" | "=~" | "!~" => {
            let re = cx.java_regex(&value)?;
            format!(
                "where_match({c}, {}, {})",
                py(&re.pattern),
                py_bool(op == "!~")
            )
        }
        "==" | "=" | "!=" | "<" | "<=" | ">" | ">=" => {
            let op = if op == "=" { "==" } else { op.as_str() };
            let num = match parse_num(&value) {
                Some(Num::Int(i)) => i.to_string(),
                Some(Num::Float(f)) => format!("{f:?}"),
                None => "None".into(),
            };
            format!("where_cmp({c}, {}, {num}, {})", py(op), py(&value))
        }
        other => return Err(format!("unknown comparison '{other}'")),
    };
    cx.line(format!("df = df.filter({cond})"));
    Ok(())
}

/// Splits a one-word condition (`status>=500`) at its first operator.
fn split_condition(word: &str) -> Result<(&str, &str, &str), String> {
    let Some(at) = word.find(['=', '!', '<', '>', '~']) else {
        return Err(HOW.into());
    };
    let rest = &word[at..];
    let Some((op, _)) = OPS.iter().find(|(w, _)| rest.starts_with(w)) else {
        return Err(format!("no comparison in '{word}'; {HOW}"));
    };
    Ok((&word[..at], op, &rest[op.len()..]))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Match,
    NotMatch,
}

impl Op {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
            Op::Match | Op::NotMatch => false,
        }
    }
}

enum Test {
    /// VALUE as a number, when it reads as one, and as text.
    Cmp {
        num: Option<Num>,
        text: String,
    },
    Regex(LocalRegex),
}

struct WhereOp {
    field: String,
    op: Op,
    test: Test,
}

impl WhereOp {
    fn holds(&self, rec: &Record<'_>) -> bool {
        let Some(v) = rec.lookup(&self.field) else {
            return matches!(self.op, Op::Ne | Op::NotMatch);
        };
        match &self.test {
            Test::Regex(re) => re.is_match(&v.text()) == (self.op == Op::Match),
            Test::Cmp { num, text } => {
                let ord = match (v.as_num(), num) {
                    (Some(a), Some(b)) => a.cmp_num(*b),
                    _ => v.text().as_bytes().cmp(text.as_bytes()),
                };
                self.op.holds(ord)
            }
        }
    }
}

impl RecordOp for WhereOp {
    /// A filter: the columns it takes.
    fn columns(&self, input: Option<&[String]>) -> Option<Vec<String>> {
        input.map(<[String]>::to_vec)
    }

    fn process<'a>(&self, rec: Record<'a>, out: &mut Vec<Record<'a>>, _cx: &mut Ctx) {
        if self.holds(&rec) {
            out.push(rec);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::record_op;
    use crate::value::Value;
    use std::borrow::Cow;

    fn keeps(args: &[&str], rec: &Record<'_>) -> bool {
        let op = record_op(&[&["where"], args].concat())
            .unwrap_or_else(|e| panic!("where {args:?}: {e}"));
        let mut out = Vec::new();
        let mut cx = Ctx::default();
        op.process(rec.clone(), &mut out, &mut cx);
        assert_eq!(cx.line_drops, 0, "a filter drops silently");
        out.len() == 1
    }

    fn rec() -> Record<'static> {
        let mut r = Record::from_line(Cow::Borrowed("the line"), "the line");
        r.set(Cow::Borrowed("status"), Value::str("200"));
        r.set(Cow::Borrowed("code"), Value::str("007"));
        r.set(Cow::Borrowed("count"), Value::Int(12));
        r.set(Cow::Borrowed("ratio"), Value::Float(0.5));
        r.set(Cow::Borrowed("name"), Value::str("bob"));
        r.set(
            Cow::Borrowed("user"),
            Value::Json(Box::new(serde_json::json!({"id": 7, "tier": "gold"}))),
        );
        r
    }

    #[test]
    fn where_numeric_comparisons() {
        let r = rec();
        assert!(keeps(&["status", "==", "200"], &r));
        assert!(keeps(&["status", "==", "200.0"], &r));
        assert!(keeps(&["code", "==", "7"], &r));
        assert!(
            keeps(&["count", ">", "9"], &r),
            "12 > 9 numerically, not as text"
        );
        assert!(!keeps(&["count", "<", "9"], &r));
        assert!(keeps(&["count", ">=", "12"], &r));
        assert!(keeps(&["count", "<=", "12"], &r));
        assert!(keeps(&["ratio", "<", "1"], &r));
        assert!(keeps(&["count", "!=", "13"], &r));
        assert!(keeps(&["count", ">", "-5"], &r));
        assert!(keeps(&["user.id", "==", "7"], &r));
    }

    #[test]
    fn where_text_comparisons_by_bytes() {
        let r = rec();
        assert!(keeps(&["name", "==", "bob"], &r));
        assert!(!keeps(&["name", "==", "Bob"], &r));
        assert!(
            keeps(&["name", ">", "Bob"], &r),
            "lower case sorts after upper"
        );
        assert!(keeps(&["name", "<", "bobby"], &r));
        assert!(
            keeps(&["status", "<", "abc"], &r),
            "number against text: as text"
        );
        assert!(keeps(&["_", "=", "the line"], &r));
        assert!(keeps(&["user.tier", "!=", "silver"], &r));
    }

    #[test]
    fn where_regex_match() {
        let r = rec();
        assert!(keeps(&["name", "~", "^b"], &r));
        assert!(!keeps(&["name", "!~", "^b"], &r));
        assert!(keeps(&["name", "=~", "o"], &r));
        assert!(keeps(&["count", "~", "^1"], &r));
        assert!(keeps(&["name", "!~", "-x"], &r));
    }

    #[test]
    fn where_missing_field_passes_only_negations() {
        let r = rec();
        for op in ["==", "<", "<=", ">", ">=", "~"] {
            assert!(!keeps(&["nope", op, "1"], &r), "{op}");
        }
        assert!(keeps(&["nope", "!=", "1"], &r));
        assert!(keeps(&["nope", "!~", "1"], &r));
    }

    #[test]
    fn where_one_word_condition() {
        let r = rec();
        assert!(keeps(&["status>=200"], &r));
        assert!(!keeps(&["status>200"], &r));
        assert!(keeps(&["name~^bo"], &r));
        assert!(keeps(&["name!~x"], &r));
        assert!(keeps(&["name=bob"], &r));
        assert!(!keeps(&["count<-1"], &r));
        assert!(keeps(&["user.tier==gold"], &r));
    }

    #[test]
    fn where_errors() {
        let e = |args: &[&str]| {
            record_op(&[&["where"], args].concat())
                .err()
                .unwrap_or_default()
        };
        assert!(e(&[]).contains("needs FIELD OP VALUE"));
        assert!(e(&["count"]).contains("needs FIELD OP VALUE"));
        assert!(e(&["count", ">"]).contains("needs FIELD OP VALUE"));
        assert!(e(&["count", "===", "1"]).contains("unknown comparison '==='"));
        assert!(e(&["count", "lt", "1"]).contains("unknown comparison 'lt'"));
        assert!(e(&[">=5"]).contains("empty field name"));
        assert!(e(&["name", "~", "(x"]).starts_with("bad regex"));
        assert!(e(&["a", "b", "c", "d"]).contains("unexpected argument"));
    }
}
