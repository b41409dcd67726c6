//! `grep REGEX` / `grep -v REGEX`: keeps the records whose `_` (or
//! `-f FIELD`) matches, or with `-v` does not match; a silent filter. On
//! Spark: a filter on `rlike`, the regex translated to Java's syntax.

use clap::{Arg, ArgAction, ArgMatches};

use crate::accounting::Ctx;
use crate::ops::parse::LocalRegex;
use crate::ops::spark::{Spark, SparkCx, SparkMap, arg, py, reads_field};
use crate::ops::{BuildCx, Built, Operator, RecordOp, Stage, compile_regex};
use crate::record::{CURRENT, Record};

pub struct Grep;

impl Operator for Grep {
    fn name(&self) -> &'static str {
        "grep"
    }
    fn summary(&self) -> &'static str {
        "Keep records whose _ (or a field) matches a regex; -v keeps those that do not"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new("regex")
                .value_name("REGEX")
                .allow_hyphen_values(true)
                .help("The regex (Rust syntax; it may match anywhere in the value)"),
        )
        .arg(
            Arg::new("invert")
                .short('v')
                .long("invert-match")
                .action(ArgAction::SetTrue)
                .help("Keep the records that do not match"),
        )
        .arg(
            Arg::new("ignore-case")
                .short('i')
                .long("ignore-case")
                .action(ArgAction::SetTrue)
                .help("Match letters of either case"),
        )
        .arg(
            Arg::new("fixed")
                .short('F')
                .long("fixed-strings")
                .action(ArgAction::SetTrue)
                .help("Take REGEX as literal text"),
        )
        .arg(
            Arg::new("field")
                .short('f')
                .long("field")
                .value_name("FIELD")
                .default_value(CURRENT)
                .help("Match this field instead of _ (dotted names reach into JSON)"),
        )
        .after_help(
            "A number is matched as it prints. A record without FIELD does not match, so \
             grep drops it and grep -v keeps it. Records are dropped silently, as by a \
             filter: they are not counted as unparsed.\n\n\
             Examples:\n  \
             tail -F app.log | spate -b 10s grep -i error then count\n  \
             spate grep -v '^#' then split then count-by-key\n  \
             spate json then grep -f user.email '@example\\.com$' then count-by-key service",
        )
    }
    fn stage(&self) -> Stage {
        Stage::PerRecord
    }
    fn fields(&self, m: &ArgMatches) -> Vec<String> {
        crate::ops::one(m, "field")
    }
    fn build(&self, m: &ArgMatches, _cx: &BuildCx) -> Result<Built, String> {
        let Some(pattern) = m.get_one::<String>("regex") else {
            return Err("needs a REGEX, e.g. grep error or grep -v '^#'".into());
        };
        let mut pattern = if m.get_flag("fixed") {
            regex::escape(pattern)
        } else {
            pattern.clone()
        };
        // checked first as written, so an error's position is the user's
        compile_regex(&pattern)?;
        if m.get_flag("ignore-case") {
            pattern.insert_str(0, "(?i)");
        }
        let re = LocalRegex::new(compile_regex(&pattern)?);
        let field = crate::ops::field_or_current(m);
        Ok(Built::Record(Box::new(GrepOp {
            re,
            invert: m.get_flag("invert"),
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

/// A filter on `rlike`; a record without the field does not match.
fn to_spark(m: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    let pattern = arg(m, "regex").unwrap_or_default();
    let mut pattern = if m.get_flag("fixed") {
        regex::escape(&pattern)
    } else {
        pattern
    };
    if m.get_flag("ignore-case") {
        pattern.insert_str(0, "(?i)");
    }
    let re = cx.java_regex(&pattern)?;
    let field = crate::ops::field_or_current(m);
    let hit = format!(
        "F.coalesce(txt({}).rlike({}), F.lit(False))",
        cx.expr(&field),
        py(&re.pattern)
    );
    let keep = if m.get_flag("invert") {
        format!("~{hit}")
    } else {
        hit
    };
    cx.line(format!("df = df.filter({keep})"));
    Ok(())
}

struct GrepOp {
    re: LocalRegex,
    invert: bool,
    field: String,
}

impl GrepOp {
    fn matches(&self, rec: &Record<'_>) -> bool {
        rec.lookup(&self.field)
            .is_some_and(|v| self.re.is_match(&v.text()))
    }
}

impl RecordOp for GrepOp {
    /// A filter: the columns it takes.
    fn columns(&self, input: Option<&[String]>) -> Option<Vec<String>> {
        input.map(<[String]>::to_vec)
    }

    fn process<'a>(&self, rec: Record<'a>, out: &mut Vec<Record<'a>>, _cx: &mut Ctx) {
        if self.matches(&rec) != self.invert {
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

    fn keeps(args: &[&str], rec: Record<'_>) -> bool {
        let op =
            record_op(&[&["grep"], args].concat()).unwrap_or_else(|e| panic!("grep {args:?}: {e}"));
        let mut out = Vec::new();
        let mut cx = Ctx::default();
        op.process(rec, &mut out, &mut cx);
        assert_eq!(cx.line_drops, 0, "a filter drops silently");
        out.len() == 1
    }

    fn line(s: &str) -> Record<'_> {
        Record::from_line(Cow::Borrowed(s), s)
    }

    #[test]
    fn grep_keeps_matches_and_inverts() {
        assert!(keeps(&["err"], line("an error here")));
        assert!(!keeps(&["err"], line("all fine")));
        assert!(!keeps(&["-v", "err"], line("an error here")));
        assert!(keeps(&["-v", "err"], line("all fine")));
        assert!(keeps(&["^a.c$"], line("abc")));
    }

    #[test]
    fn grep_ignore_case_and_fixed() {
        assert!(keeps(&["-i", "ERROR"], line("an Error")));
        assert!(!keeps(&["ERROR"], line("an Error")));
        assert!(keeps(&["-F", "a.b("], line("x a.b( y")));
        assert!(!keeps(&["-F", "a.b"], line("axb")));
        assert!(keeps(&["-Fi", "A.B"], line("a.b")));
    }

    #[test]
    fn grep_other_field_numbers_and_missing() {
        let mut rec = line("text");
        rec.set(Cow::Borrowed("status"), Value::Int(503));
        rec.set(
            Cow::Borrowed("user"),
            Value::Json(Box::new(serde_json::json!({"mail": "a@example.com"}))),
        );
        assert!(keeps(&["-f", "status", "^5"], rec.clone()));
        assert!(keeps(&["-f", "user.mail", "example"], rec.clone()));
        assert!(!keeps(&["-f", "nope", ""], rec.clone()));
        assert!(keeps(&["-v", "-f", "nope", ""], rec.clone()));
        let mut no_value = rec;
        no_value.value = None;
        assert!(!keeps(&[""], no_value.clone()));
        assert!(keeps(&["-v", "x"], no_value));
    }

    #[test]
    fn grep_regex_may_start_with_hyphen() {
        assert!(keeps(&["-+>"], line("a -> b")));
        assert!(keeps(&["--", "-v"], line("a -v b")));
    }

    #[test]
    fn grep_errors() {
        let e = record_op(&["grep"]).err().expect("missing regex");
        assert!(e.contains("needs a REGEX"), "{e}");
        let e = record_op(&["grep", "-i", "a(b"]).err().expect("bad regex");
        assert!(
            e.starts_with("bad regex 'a(b'") && e.contains("position 2"),
            "{e}"
        );
    }
}
