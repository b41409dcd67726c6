//! `--emit pyspark`: the chain as a self-contained PySpark program
//! (Structured Streaming for streams, a batch job for bounded input) that
//! prints what spate prints, so that the two can be compared with `diff`.
//!
//! Every field of a record is one Spark column, a struct of its text, its
//! kind (text, integer, float, boolean, JSON) and its number, so that the
//! program keeps spate's rules: text that reads as a number is one, a JSON
//! number prints as a number, a missing field is null. The emitter walks
//! the plan: each stage's operator maps itself (`Operator::spark`, in its
//! own file) through the [`SparkCx`] implemented here, reading its own
//! parsed arguments, and appends DataFrame code or declares the
//! aggregation; the operators after the aggregation (`top`, `sort`,
//! `head`) and the output format run on the driver in the runtime
//! (`runtime.py`), which is the same in every program. What Spark
//! cannot do as spate does is refused with the reason.
//!
//! Here: walking the plan and the state of the program as it is mapped
//! (the fields' columns, the lines so far), which mappings reach through
//! [`SparkCx`]; beside it: the checks of what Spark can honour
//! (`checks.rs`), the Python text (`render.rs`), the translation of regexes
//! to Java's syntax (`java.rs`) and the runtime (`columns.py`, the Spark
//! expressions the operators use; `runtime.py`, reading, running, printing).

mod checks;
mod java;
mod render;

use std::collections::BTreeSet;
use std::time::Duration;

use clap::ArgMatches;

use crate::batch::{Batching, EventTime, WindowSpec};
use crate::ops::spark::{JavaRegex, Spark, SparkAggregate, SparkCx, py};
use crate::ops::{Operator, Stage};
use crate::plan::{Plan, StagePlan};
use crate::record::CURRENT;

type Result<T> = std::result::Result<T, String>;

fn refuse<T>(why: impl std::fmt::Display) -> Result<T> {
    Err(format!("spate: --emit pyspark: {why}"))
}

/// The program for a plan, or why it cannot be written.
pub fn program(plan: &Plan, command_line: &str) -> Result<String> {
    let source = checks::options(plan)?;
    let mut e = Emitter::new(&plan.batching, &plan.stages);
    for stage in &plan.stages {
        e.stage(stage.pos, stage.op, &stage.args)?;
    }
    checks::finish(&e, &plan.batching)?;
    Ok(render::program(plan, &e, source, command_line))
}

/// The chain's aggregation: the operator that declared it, and what it is.
#[derive(Debug, Clone, PartialEq)]
struct Declared {
    /// The runtime orders the rows by it: `count-by-key` by count
    /// descending, `stats` by group.
    op: &'static str,
    agg: SparkAggregate,
}

/// The fields of the records as the chain goes: each name and the Spark
/// column that holds it, in spate's output order.
#[derive(Debug, Default)]
struct Model {
    fields: Vec<(String, String)>,
    next: usize,
}

impl Model {
    fn col(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.as_str())
    }

    fn fresh(&mut self) -> String {
        self.next += 1;
        format!("f{}", self.next)
    }

    /// `name` is now held by `col`; an existing field keeps its place.
    fn assign(&mut self, name: &str, col: String) {
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = col,
            None => self.fields.push((name.to_string(), col)),
        }
    }

    /// The Python expression of a field's column (a typed null when the
    /// chain never makes the field).
    fn expr(&self, name: &str) -> String {
        match self.col(name) {
            Some(c) => format!("F.col({})", py(c)),
            None => "missing()".into(),
        }
    }
}

/// The program being mapped.
struct Emitter<'p> {
    batching: &'p Batching,
    model: Model,
    /// The body of `prepare(df)`: the per-record operators.
    body: Vec<String>,
    /// Every field name any operator of the chain reads, for the parsers
    /// whose keys are only known from the data (json, logfmt, csv).
    referenced: BTreeSet<String>,
    /// Parsers that make fields only known from the data, since the last
    /// `fields`.
    open_parsers: Vec<&'static str>,
    aggregation: Option<Declared>,
    /// The operator being mapped.
    current: &'static str,
    order: checks::ChainOrder,
    window: Option<WindowSpec>,
    /// The body of `post_ops(rows)`.
    post: Vec<String>,
    /// Notes for the program's header: where Spark differs in degree.
    notes: Vec<String>,
}

impl<'p> Emitter<'p> {
    /// A program whose records hold `_`, the line, for a chain of
    /// `stages`.
    fn new(batching: &'p Batching, stages: &[StagePlan]) -> Self {
        let mut e = Emitter {
            batching,
            model: Model::default(),
            body: Vec::new(),
            referenced: BTreeSet::new(),
            open_parsers: Vec::new(),
            aggregation: None,
            current: "",
            order: checks::ChainOrder::default(),
            window: None,
            post: Vec::new(),
            notes: Vec::new(),
        };
        for stage in stages {
            if let Spark::Map(map) = stage.op.spark() {
                e.referenced.extend((map.reads)(&stage.args));
            }
        }
        if let Some(EventTime::Field(f)) = &batching.event_time {
            e.referenced.insert(f.clone());
        }
        e.referenced.insert(CURRENT.to_string());
        let first = e.model.fresh();
        e.body.push(format!(
            "df = df.select(text_value(F.col(\"_\")).alias({}), F.col(\"_\").alias(\"__raw\"))",
            py(&first)
        ));
        e.model.assign(CURRENT, first);
        e
    }

    /// Maps the operator at `pos`, where the chain lets Spark run it.
    fn stage(&mut self, pos: usize, op: &dyn Operator, m: &ArgMatches) -> Result<()> {
        let name = op.name();
        self.order
            .admit(pos, name, op.stage(), self.aggregation.is_some())?;
        let at = |why: &str| refuse(format!("operator {pos} ({name}): {why}"));
        self.current = name;
        match op.spark() {
            Spark::Map(map) => {
                if let Err(why) = (map.map)(m, self) {
                    return at(&why);
                }
            }
            Spark::Refused(why) => return at(why),
            Spark::Unstated => return at(&format!("--emit pyspark has no mapping for {name} yet")),
        }
        if op.stage() == Stage::Aggregation && self.aggregation.is_none() {
            return at("internal error: its Spark mapping declared no aggregation");
        }
        Ok(())
    }
}

impl SparkCx for Emitter<'_> {
    fn expr(&self, name: &str) -> String {
        self.model.expr(name)
    }

    fn has(&self, name: &str) -> bool {
        self.model.col(name).is_some()
    }

    fn wanted(&self) -> Vec<String> {
        self.referenced.iter().cloned().collect()
    }

    fn line(&mut self, line: String) {
        self.body.push(line);
    }

    fn set(&mut self, name: &str, expr: String) {
        let col = self.model.fresh();
        self.body
            .push(format!("df = df.withColumn({}, {expr})", py(&col)));
        self.model.assign(name, col);
    }

    fn set_maybe(&mut self, name: &str, expr: String) {
        let expr = match self.model.col(name) {
            Some(old) => format!("F.coalesce({expr}, F.col({}))", py(old)),
            None => expr,
        };
        SparkCx::set(self, name, expr);
    }

    fn keep(&mut self, names: &[String]) {
        let kept = names
            .iter()
            .filter_map(|n| self.model.col(n).map(|c| (n.clone(), c.to_string())))
            .collect();
        self.model.fields = kept;
        self.open_parsers.clear();
    }

    fn open_fields(&mut self, parser: &'static str) {
        self.open_parsers.push(parser);
    }

    fn java_regex(&self, pattern: &str) -> std::result::Result<JavaRegex, String> {
        java::java_regex(pattern)
    }

    fn java_replacement(&self, repl: &str, re: &JavaRegex) -> std::result::Result<String, String> {
        java::java_replacement(repl, re)
    }

    fn java_quote(&self, text: &str) -> String {
        java::java_quote(text)
    }

    fn interval(&self) -> Option<Duration> {
        self.batching.interval()
    }

    fn window(&mut self, spec: WindowSpec) {
        self.window = Some(spec);
    }

    fn aggregate(&mut self, agg: SparkAggregate) {
        self.aggregation = Some(Declared {
            op: self.current,
            agg,
        });
    }

    fn aggregated(&self) -> bool {
        self.aggregation.is_some()
    }

    fn post(&mut self, line: String) {
        self.post.push(line);
    }

    fn note(&mut self, text: String) {
        self.notes.push(text);
    }
}

#[cfg(test)]
mod tests {
    use clap::Arg;

    use super::*;
    use crate::batch::BatchMode;
    use crate::ops::spark::{SparkMap, arg, reads_field};
    use crate::ops::{BuildCx, Built, command_for};

    /// An operator as the next ones will be added: its mapping, or its
    /// refusal, stated in its own impl and nowhere else.
    struct Fake {
        stage: Stage,
        spark: Spark,
    }

    impl Operator for Fake {
        fn name(&self) -> &'static str {
            "fake"
        }
        fn summary(&self) -> &'static str {
            "an operator of the tests"
        }
        fn args(&self, cmd: clap::Command) -> clap::Command {
            cmd.arg(Arg::new("field").short('f'))
        }
        fn stage(&self) -> Stage {
            self.stage
        }
        fn build(&self, _: &ArgMatches, _: &BuildCx) -> std::result::Result<Built, String> {
            Err("the tests never run it".into())
        }
        fn spark(&self) -> Spark {
            self.spark
        }
    }

    fn upper(m: &ArgMatches, cx: &mut dyn SparkCx) -> std::result::Result<(), String> {
        let field = arg(m, "field").unwrap_or_else(|| CURRENT.into());
        let c = cx.expr(&field);
        cx.set("up", format!("text_value(F.upper(txt({c})))"));
        Ok(())
    }

    fn declares_nothing(_: &ArgMatches, _: &mut dyn SparkCx) -> std::result::Result<(), String> {
        Ok(())
    }

    static MAPPED: Fake = Fake {
        stage: Stage::PerRecord,
        spark: Spark::Map(SparkMap {
            reads: reads_field,
            map: upper,
        }),
    };
    static REFUSED: Fake = Fake {
        stage: Stage::PerRecord,
        spark: Spark::Refused("Spark has no such thing; do this instead"),
    };
    static UNSTATED: Fake = Fake {
        stage: Stage::PerRecord,
        spark: Spark::Unstated,
    };
    static SILENT_AGGREGATION: Fake = Fake {
        stage: Stage::Aggregation,
        spark: Spark::Map(SparkMap {
            reads: reads_field,
            map: declares_nothing,
        }),
    };

    fn batching() -> Batching {
        Batching {
            mode: BatchMode::Eof,
            event_time: None,
            lateness: Duration::ZERO,
            emit_empty: false,
            zone: None,
            reader: crate::batch::event::Reader::default(),
        }
    }

    /// Maps `words` of `op` as operator 2 of a chain.
    fn map_one(
        op: &'static dyn Operator,
        words: &[&str],
    ) -> (Result<()>, Vec<String>, Vec<String>) {
        let args = command_for(op).get_matches_from(words);
        let stages = [StagePlan {
            pos: 2,
            op,
            words: words.iter().map(|w| w.to_string()).collect(),
            args,
        }];
        let b = batching();
        let mut e = Emitter::new(&b, &stages);
        let r = e.stage(2, op, &stages[0].args);
        (r, e.body.clone(), e.wanted())
    }

    #[test]
    fn emit_mapping_stated_beside_its_operator_is_all_it_takes() {
        let (r, body, wanted) = map_one(&MAPPED, &["fake", "-f", "msg"]);
        assert_eq!(r, Ok(()));
        // the field it reads is known before any stage is mapped
        assert_eq!(wanted, ["_", "msg"]);
        assert_eq!(
            body.last().map(String::as_str),
            Some("df = df.withColumn(\"f2\", text_value(F.upper(txt(missing()))))")
        );
    }

    #[test]
    fn emit_named_refusal_says_which_operator_and_why() {
        let (r, _, _) = map_one(&REFUSED, &["fake"]);
        assert_eq!(
            r,
            Err(
                "spate: --emit pyspark: operator 2 (fake): Spark has no such thing; do this instead"
                    .into()
            )
        );
    }

    #[test]
    fn emit_unstated_mapping_is_refused() {
        let (r, _, _) = map_one(&UNSTATED, &["fake"]);
        assert_eq!(
            r,
            Err(
                "spate: --emit pyspark: operator 2 (fake): --emit pyspark has no mapping for fake yet"
                    .into()
            )
        );
    }

    #[test]
    fn emit_aggregation_mapping_must_declare_one() {
        let (r, _, _) = map_one(&SILENT_AGGREGATION, &["fake"]);
        assert!(r.is_err_and(|e| e.contains("declared no aggregation")));
    }

    #[test]
    fn emit_stats_reads_aggregate_names_as_stats_does() {
        // one table of aggregate names (agg::stats): what stats refuses,
        // its Spark mapping refuses with the same words, and no more
        use crate::ops::stats::Stats;
        for agg in [
            "count", "p99.9", "p050", "avg", "median", "p101", "p1e1", "p", "mean,max",
        ] {
            let words = ["stats", "-f", "x", "-a", agg];
            let built = Stats
                .build(
                    &command_for(&Stats).get_matches_from(words),
                    &BuildCx::default(),
                )
                .err();
            let mapped = map_one(&Stats, &words).0.err().map(|e| {
                e.strip_prefix("spate: --emit pyspark: operator 2 (stats): ")
                    .map(str::to_string)
                    .unwrap_or(e)
            });
            assert_eq!(mapped, built, "stats -a {agg}");
        }
    }
}
