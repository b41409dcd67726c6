//! `eval NAME = EXPR`: sets a field to the value of an expression over the
//! record's fields, or removes it when the expression has none (a missing
//! field, text where a number is needed, a division by zero): never a 0
//! made up. The expression is parsed once at start ([`parse`]) and
//! evaluated per record by a walk over its tree ([`compute`]).

mod compute;
pub mod parse;

use clap::{Arg, ArgMatches};

use crate::accounting::Ctx;
use crate::ops::spark::Spark;
use crate::ops::{BuildCx, Built, Operator, RecordOp, Stage};
use crate::record::Record;

pub use parse::{Assignment, ParseError};

pub struct Eval;

impl Operator for Eval {
    fn name(&self) -> &'static str {
        "eval"
    }
    fn summary(&self) -> &'static str {
        "Set a field to an expression: arithmetic and a few functions on fields"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.override_usage("spate eval NAME = EXPR\n       spate eval 'NAME = EXPR'")
            .arg(
                Arg::new("expr")
                    .value_name("NAME = EXPR")
                    .num_args(1..)
                    .trailing_var_arg(true)
                    .allow_hyphen_values(true)
                    .help("The assignment; the words after eval are joined with spaces"),
            )
            .after_help(
                "Values: numbers (12, 1.5, 1e3); fields by name (bytes, user.id; _ is the \
                 current value), any other name as ${name} (csv's ${1}, ${latency-ms}); text \
                 in quotes ('GET' or \"GET\"). Text that reads as a number is one where a \
                 number is needed.\n\n\
                 Operators: + - * / % and parentheses, unary minus. Integers stay integers \
                 while the result is exact (2 + 3 is 5; an overflow goes on in floats); / \
                 divides as floats (7 / 2 is 3.5); % keeps the dividend's sign (-7 % 3 is \
                 -1).\n\n\
                 Functions: round(x[, digits]) (half away from zero; a negative digits \
                 rounds to tens, hundreds...), floor(x), ceil(x), abs(x), min(a, b), max(a, \
                 b), num(x) (the number a text starts with: num('12ms') is 12), len(x) (in \
                 characters), lower(x), upper(x), concat(a, b, ...).\n\n\
                 When the expression has no value (a field is missing or null, text stands \
                 where a number is needed, a division by zero), NAME is removed from the \
                 record, never set to 0. A new NAME is the record's last field; an existing \
                 one keeps its place. Quote the assignment for the shell (* and parentheses \
                 are special to it). A mistake in the expression is reported at start with \
                 its column.\n\n\
                 Examples:\n  \
                 spate -b 10s json then eval 'kb = round(bytes / 1024, 1)' then stats -f kb -a sum\n  \
                 spate -b eof logfmt then eval 'ms = num(latency)' then stats -f ms -a mean -g svc\n  \
                 spate -b eof csv then eval 'total = ${2} * ${3}' then fields 1,total\n  \
                 spate -b eof json then eval \"tag = concat(lower(svc), '/', level)\" then count-by-key tag",
            )
    }
    fn stage(&self) -> Stage {
        Stage::PerRecord
    }
    fn spark(&self) -> Spark {
        Spark::Refused(
            "--emit pyspark does not translate eval's expressions into Spark's; compute the \
             field before spate reads the lines, or emit the chain without eval",
        )
    }
    fn fields(&self, m: &ArgMatches) -> Vec<String> {
        let mut names = Vec::new();
        if let Ok(a) = parse::parse(&text(m)) {
            a.expr.fields(&mut names);
        }
        names
    }
    fn build(&self, m: &ArgMatches, _cx: &BuildCx) -> Result<Built, String> {
        let mut assign = compile(&text(m))?;
        assign.expr.leak_literals();
        if let std::borrow::Cow::Owned(name) = &mut assign.name {
            // one name for the life of the run, so that records borrow it
            let name: &'static str = Box::leak(std::mem::take(name).into_boxed_str());
            assign.name = std::borrow::Cow::Borrowed(name);
        }
        Ok(Built::Record(Box::new(EvalOp { assign })))
    }
}

/// The assignment as written: the words after `eval` joined with spaces.
fn text(m: &ArgMatches) -> String {
    let words: Vec<&str> = m
        .get_many::<String>("expr")
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    words.join(" ")
}

/// Parses an assignment, with an error that says where in `text` it is:
/// `at column 14 of 'kb = bytes / )': expected ...`.
pub fn compile(text: &str) -> Result<Assignment, String> {
    parse::parse(text).map_err(|e| {
        if text.trim().is_empty() {
            e.message
        } else {
            format!("at column {} of '{text}': {}", e.column, e.message)
        }
    })
}

struct EvalOp {
    assign: Assignment,
}

impl RecordOp for EvalOp {
    /// The columns it takes, then its NAME when new: set, or removed
    /// when the expression has no value (an empty cell).
    fn columns(&self, input: Option<&[String]>) -> Option<Vec<String>> {
        crate::ops::with_columns(input, [self.assign.name.as_ref()])
    }

    fn process<'a>(&self, mut rec: Record<'a>, out: &mut Vec<Record<'a>>, _cx: &mut Ctx) {
        self.assign.apply(&mut rec);
        out.push(rec);
    }
}

#[cfg(test)]
mod tests;
