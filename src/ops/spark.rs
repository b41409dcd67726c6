//! What an operator becomes on Spark (`--emit pyspark`), stated in the
//! operator's own file: a [`SparkMap`] (the fields it reads, and the code
//! it adds through a [`SparkCx`]), or a named refusal saying why Spark
//! cannot do what it does. [`SparkCx`] is what a mapping may ask of the
//! program being written; the emitter (`emit::pyspark`) implements it, so
//! operators never reach the emitter. Also here: the few pieces of Python
//! and Java text that mappings and the emitter both write.
//!
//! The program's model: every field of a record is one Spark column (a
//! struct of its text, kind and number, made by the runtime's
//! `text_value`), and the per-record operators are lines of `prepare(df)`,
//! each `df = df....`. An aggregation is declared, not written: the emitter
//! renders it per window or per batch. The operators after it run on the
//! driver, each a line `rows = ...` of `post_ops(rows)`.

use std::time::Duration;

use clap::ArgMatches;

use crate::batch::WindowSpec;

/// How an operator runs on Spark: the answer of [`super::Operator::spark`].
#[derive(Clone, Copy)]
pub enum Spark {
    /// The operator's mapping.
    Map(SparkMap),
    /// Spark cannot do what the operator does; why, for the refusal
    /// (`spate: --emit pyspark: operator N (NAME): WHY`).
    Refused(&'static str),
    /// No mapping stated yet (the trait's default): `--emit pyspark`
    /// refuses the chain, and the registry's test fails.
    Unstated,
}

/// An operator's mapping: two plain functions of its parsed arguments.
#[derive(Clone, Copy)]
pub struct SparkMap {
    /// The field names the operator reads (a superset is fine; `_` may be
    /// left out), asked of every stage before any is mapped: the parsers
    /// whose keys are only known from the data (json, csv, logfmt) extract
    /// these. spate's own `json` relies on the list too: before an
    /// aggregation it makes only the fields the operators after it list
    /// ([`crate::ops::RecordOp::keep_only`]), so it must name every field
    /// the operator's result depends on.
    pub reads: fn(&ArgMatches) -> Vec<String>,
    /// Adds the operator's code through the context; `Err` is a refusal
    /// of these arguments, saying why.
    pub map: fn(&ArgMatches, &mut dyn SparkCx) -> Result<(), String>,
}

/// A regex in Java's syntax (which Spark runs), with what a mapping needs
/// to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaRegex {
    pub pattern: String,
    /// Capture groups, named or not.
    pub groups: usize,
    /// Named groups and their indexes, in order (Java's group names allow
    /// no `_`, so the translation numbers them).
    pub names: Vec<(String, usize)>,
}

/// The kind of an aggregate's value, as the runtime prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// An integer (`count`, `distinct`).
    Int,
    /// A float (sum, mean, min, max, percentiles: Spark's numbers).
    Float,
}

impl ValueKind {
    /// The kind's tag in the program's `COLUMNS`.
    pub fn tag(self) -> &'static str {
        match self {
            ValueKind::Int => "i",
            ValueKind::Float => "f",
        }
    }
}

/// One aggregate value of a row.
#[derive(Debug, Clone, PartialEq)]
pub struct SparkValue {
    /// The column's name as spate prints it.
    pub name: String,
    /// A Spark aggregate expression (`F.count(...)`, `F.sum(...)`).
    pub expr: String,
    pub kind: ValueKind,
}

/// An aggregation, declared by its operator and rendered by the emitter
/// (per window, per batch, or running), one row per group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SparkAggregate {
    /// The group keys, in order: (the name printed, the Python expression
    /// of the field's column).
    pub keys: Vec<(String, String)>,
    pub values: Vec<SparkValue>,
}

/// What a mapping may ask of the program being written.
pub trait SparkCx {
    // -- the fields of the records, as the chain has made them so far
    /// The Python expression of a field's column: `F.col("f3")`, or a
    /// typed null (`missing()`) when the chain has not made the field.
    fn expr(&self, name: &str) -> String;
    /// Whether the chain has made the field so far.
    fn has(&self, name: &str) -> bool;
    /// Every field name any operator of the chain reads (`_` and the
    /// event-time field included), sorted: what a parser whose keys are
    /// only known from the data extracts.
    fn wanted(&self) -> Vec<String>;

    // -- per-record code: lines of `prepare(df)`
    /// Adds a line of per-record code (`df = df.filter(...)`).
    fn line(&mut self, line: String);
    /// The field `name` now holds the value of the Python expression
    /// `expr` (a `text_value(...)` or a field's column); an existing field
    /// keeps its place.
    fn set(&mut self, name: &str, expr: String);
    /// The field `name` holds `expr` where that is not null, else what it
    /// held.
    fn set_maybe(&mut self, name: &str, expr: String);
    /// The records keep only these fields, in this order (those the chain
    /// has made); fields only known from the data are no longer printed.
    fn keep(&mut self, names: &[String]);
    /// This parser makes fields only known from the data: a chain without
    /// an aggregation must then say which to print (`then fields ...`).
    fn open_fields(&mut self, parser: &'static str);

    // -- regexes: spate's syntax into Java's
    /// The regex in Java's syntax, or why it cannot be (a construct Java
    /// reads differently).
    fn java_regex(&self, pattern: &str) -> Result<JavaRegex, String>;
    /// A replacement (`$1`, `${name}`, `$$`) in Java's syntax for `re`.
    fn java_replacement(&self, repl: &str, re: &JavaRegex) -> Result<String, String>;
    /// Text that Java's regex reads literally.
    fn java_quote(&self, text: &str) -> String;

    // -- batches, windows, the aggregation and what follows it
    /// The batch interval, when batches are cut by time.
    fn interval(&self) -> Option<Duration>;
    /// The span the next aggregation covers.
    fn window(&mut self, spec: WindowSpec);
    /// Declares the chain's aggregation (the emitter has checked that it
    /// is the first, with no `sort` or `head` before it).
    fn aggregate(&mut self, agg: SparkAggregate);
    /// Whether an aggregation came before this operator.
    fn aggregated(&self) -> bool;
    /// Adds a step on a batch's rows, run on the driver after the
    /// aggregation (`rows = op_head(rows, 3)`, a function of the runtime).
    fn post(&mut self, line: String);
    /// A note for the program's header: where Spark differs in degree.
    fn note(&mut self, text: String);
}

/// Runs of white space, as Rust's `char::is_whitespace` (Unicode), in
/// Java's syntax.
pub const JAVA_WHITESPACE: &str = "(?U)\\s+";
/// Leading and trailing white space, as `str::trim`, in Java's syntax.
pub const JAVA_TRIM: &str = "(?U)^\\s+|\\s+$";

/// A Python string literal (JSON's escapes are Python's too).
pub fn py(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "''".into())
}

/// A Python list of already rendered items.
pub fn py_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

pub fn py_bool(b: bool) -> String {
    if b { "True" } else { "False" }.into()
}

/// A string argument, as given or defaulted.
pub fn arg(m: &ArgMatches, id: &str) -> Option<String> {
    m.get_one::<String>(id).cloned()
}

/// The mapping's `reads` for an operator that reads its `FIELDS` list,
/// as [`crate::ops::Operator::fields`] says (`count-by-key`, `fields`).
pub fn reads_fields(m: &ArgMatches) -> Vec<String> {
    crate::ops::listed(m, "fields")
}

/// The mapping's `reads` for an operator that reads no field by name.
pub fn reads_nothing(_: &ArgMatches) -> Vec<String> {
    Vec::new()
}

/// The mapping's `reads` for an operator that reads only its `-f FIELD`
/// (when given).
pub fn reads_field(m: &ArgMatches) -> Vec<String> {
    arg(m, "field").into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::REGISTRY;

    #[test]
    fn spark_every_operator_states_a_mapping_or_a_named_refusal() {
        let unstated: Vec<&str> = REGISTRY
            .iter()
            .filter(|op| matches!(op.spark(), Spark::Unstated))
            .map(|op| op.name())
            .collect();
        assert!(
            unstated.is_empty(),
            "these operators state no Spark mapping and no refusal: {unstated:?}; add \
             `fn spark(&self) -> Spark` to each one's file (Spark::Map or Spark::Refused(why))"
        );
        for op in REGISTRY {
            if let Spark::Refused(why) = op.spark() {
                assert!(!why.trim().is_empty(), "{}: an empty refusal", op.name());
            }
        }
    }

    #[test]
    fn spark_py_literals() {
        assert_eq!(py("a\"b\\\n"), "\"a\\\"b\\\\\\n\"");
        assert_eq!(py_list(&[py("a"), "1".into()]), "[\"a\", 1]");
        assert_eq!(py_bool(true), "True");
    }
}
