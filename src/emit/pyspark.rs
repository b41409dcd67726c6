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
//! (`pyspark_runtime.py`), which is the same in every program. What Spark
//! cannot do as spate does is refused with the reason.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use clap::ArgMatches;
use regex_syntax::ast::{self, Ast, Visitor};

use crate::batch::{BatchMode, EventTime, WindowSpec};
use crate::ops::spark::{JavaRegex, Spark, SparkAggregate, SparkCx, py, py_bool, py_list};
use crate::ops::{Operator, Stage};
use crate::plan::Plan;
use crate::record::CURRENT;
use crate::sink::OutputFormat;
use crate::timestamp::TimeFormat;

/// The part of every program that does not depend on the chain.
const RUNTIME: &str = include_str!("pyspark_runtime.py");

type Result<T> = std::result::Result<T, String>;

fn refuse<T>(why: impl std::fmt::Display) -> Result<T> {
    Err(format!("spate: --emit pyspark: {why}"))
}

fn millis(d: Duration) -> u128 {
    d.as_millis()
}

/// What kind of source the inputs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceKind {
    Files,
    Socket,
    Kafka,
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

/// The program being written.
struct Emitter<'p> {
    plan: &'p Plan,
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
    window: Option<WindowSpec>,
    /// The body of `post_ops(rows)`.
    post: Vec<String>,
    /// Notes for the program's header: where Spark differs in degree.
    notes: Vec<String>,
    /// A `sort` or `head` before any aggregation (position, name).
    rows_before: Option<(usize, String)>,
}

/// The program for a plan, or why it cannot be written.
pub fn program(plan: &Plan, command_line: &str) -> Result<String> {
    let source = check_config(plan)?;
    if plan.batching.event_time == Some(EventTime::Kafka) {
        return refuse(
            "--event-time kafka: the program does not carry Kafka's timestamp column to each line yet; \
             use --event-time FIELD or auto with --emit pyspark",
        );
    }
    let mut e = Emitter {
        plan,
        model: Model::default(),
        body: Vec::new(),
        referenced: BTreeSet::new(),
        open_parsers: Vec::new(),
        aggregation: None,
        current: "",
        window: None,
        post: Vec::new(),
        notes: Vec::new(),
        rows_before: None,
    };
    for stage in &plan.stages {
        if let Spark::Map(map) = stage.op.spark() {
            e.referenced.extend((map.reads)(&stage.args));
        }
    }
    if let Some(EventTime::Field(f)) = &plan.batching.event_time {
        e.referenced.insert(f.clone());
    }
    e.referenced.insert(CURRENT.to_string());
    let first = e.model.fresh();
    e.body.push(format!(
        "df = df.select(text_value(F.col(\"_\")).alias({}), F.col(\"_\").alias(\"__raw\"))",
        py(&first)
    ));
    e.model.assign(CURRENT, first);
    for stage in &plan.stages {
        e.stage(stage.pos, stage.op, &stage.args)?;
    }
    e.finish_checks()?;
    Ok(e.render(source, command_line))
}

/// The global options Spark can honour, and the kind of source.
fn check_config(plan: &Plan) -> Result<SourceKind> {
    let mut kinds = BTreeSet::new();
    for src in &plan.inputs {
        let kind = if src == "-" {
            return refuse(
                "standard input cannot feed a Spark job: save it to a file (-i FILE), or serve it \
                 with nc -lk PORT and use -i tcp://HOST:PORT, or send it to Kafka (-i kafka://BROKERS/TOPIC)",
            );
        } else if src.starts_with("listen://") {
            return refuse(format!(
                "{src}: Spark's socket source connects as a client and cannot accept connections: \
                 serve the lines (nc -lk PORT) and use -i tcp://HOST:PORT, or use -i kafka://BROKERS/TOPIC"
            ));
        } else if let Some(rest) = src.strip_prefix("tcp://") {
            if !rest.contains(':') {
                return refuse(format!("{src}: expected tcp://HOST:PORT"));
            }
            SourceKind::Socket
        } else if let Some(rest) = src.strip_prefix("kafka://") {
            match rest.split_once('/') {
                Some((b, t)) if !b.is_empty() && !t.is_empty() && !t.contains('/') => {}
                _ => return refuse(format!("{src}: expected kafka://BROKER[,BROKER...]/TOPIC")),
            }
            SourceKind::Kafka
        } else {
            SourceKind::Files
        };
        kinds.insert(kind as u8);
        if kinds.len() > 1 {
            return refuse(
                "inputs of different kinds (files, tcp://, kafka://) cannot be merged into one Spark source",
            );
        }
    }
    let kind = if plan.inputs.iter().any(|s| s.starts_with("tcp://")) {
        SourceKind::Socket
    } else if plan.inputs.iter().any(|s| s.starts_with("kafka://")) {
        SourceKind::Kafka
    } else {
        SourceKind::Files
    };
    match plan.batching.mode {
        BatchMode::Lines(_) => {
            return refuse(
                "--batch-lines: Spark has no line-count trigger (a micro-batch takes whatever \
                 arrived); use -b DURATION, -b eof, or --event-time",
            );
        }
        BatchMode::Eof if kind == SourceKind::Socket => {
            return refuse(
                "-b eof with tcp://: Spark's socket source never ends, so there is no end of \
                 input to wait for; save the stream to a file, or use -b DURATION",
            );
        }
        _ => {}
    }
    if plan.batching.emit_empty {
        return refuse(
            "--emit-empty: Spark runs no micro-batch when nothing arrived, so it has no empty batch to print",
        );
    }
    if let Some(z) = plan.batching.zone {
        return refuse(format!(
            "--tz {z}: the emitted job keeps Spark's own session time zone and epoch-aligned windows; drop --tz (times stay UTC)"
        ));
    }
    if let Some(f) = plan.batching.reader.format() {
        return refuse(format!(
            "--event-time-format '{f}': strftime formats are not mapped to Spark's datetime patterns; drop it, or convert the field to RFC 3339 first"
        ));
    }
    if plan.engine.strict {
        return refuse(
            "--strict: a Spark job has no line to stop at; drop the option (Spark skips what it cannot parse)",
        );
    }
    if plan.source.from_end {
        return refuse(
            "--from-end: Spark's file source reads every file it finds; start it on an empty directory instead",
        );
    }
    if plan.source.reconnect {
        return refuse(
            "--reconnect: Spark's socket source does not reconnect (and is for tests); use kafka:// for a stream that must survive restarts",
        );
    }
    match plan.output.format {
        OutputFormat::Tsv | OutputFormat::Csv | OutputFormat::Jsonl | OutputFormat::Json => {}
        OutputFormat::Pretty | OutputFormat::Spark => {
            return refuse(
                "the program prints -o tsv, csv, jsonl or json; add one of them (e.g. -o tsv)",
            );
        }
    }
    Ok(kind)
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
        java_regex(pattern)
    }

    fn java_replacement(&self, repl: &str, re: &JavaRegex) -> std::result::Result<String, String> {
        java_replacement(repl, re)
    }

    fn java_quote(&self, text: &str) -> String {
        java_quote(text)
    }

    fn interval(&self) -> Option<Duration> {
        self.plan.batching.interval()
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

impl Emitter<'_> {
    /// Maps one operator, where the chain lets Spark run it.
    fn stage(&mut self, pos: usize, op: &'static dyn Operator, m: &ArgMatches) -> Result<()> {
        let name = op.name();
        let at = |msg: String| format!("spate: --emit pyspark: operator {pos} ({name}): {msg}");
        let after = self.aggregation.is_some();
        match op.stage() {
            Stage::PerRecord if after => {
                return Err(at(
                    "per-record operators after an aggregation are not supported by --emit pyspark; \
                     put them before it, or filter the printed rows"
                        .into(),
                ));
            }
            Stage::PerRecord if self.rows_before.is_some() => {
                return Err(at(
                    "a per-record operator after sort or head is not supported by --emit pyspark"
                        .into(),
                ));
            }
            Stage::Aggregation if after => {
                return Err(at(
                    "a second aggregation is not supported by --emit pyspark".into(),
                ));
            }
            Stage::Aggregation => {
                if let Some((p, n)) = &self.rows_before {
                    return Err(format!(
                        "spate: --emit pyspark: operator {p} ({n}): sort or head before an aggregation \
                         is not supported by --emit pyspark (a distributed batch has no order to cut)"
                    ));
                }
            }
            Stage::Rows | Stage::AfterAggregation if !after => {
                self.rows_before = Some((pos, name.to_string()));
            }
            _ => {}
        }
        self.current = name;
        match op.spark() {
            Spark::Map(map) => (map.map)(m, self).map_err(at)?,
            Spark::Refused(why) => return Err(at(why.into())),
            Spark::Unstated => {
                return Err(at(format!("--emit pyspark has no mapping for {name} yet")));
            }
        }
        if op.stage() == Stage::Aggregation && self.aggregation.is_none() {
            return Err(at(
                "internal error: its Spark mapping declared no aggregation".into(),
            ));
        }
        Ok(())
    }

    /// What only shows once the whole chain is known.
    fn finish_checks(&self) -> Result<()> {
        let plan = self.plan;
        if self.aggregation.is_none() && !self.open_parsers.is_empty() {
            return refuse(format!(
                "without an aggregation every field is printed, and {}'s fields are only known from \
                 the data; end the chain with `then fields NAME,...` to say which",
                self.open_parsers[0]
            ));
        }
        match (self.window, plan.batching.event_time.is_some()) {
            (Some(WindowSpec::All), true) => {
                return refuse(
                    "window all with --event-time: Spark's running aggregation is emitted per \
                     trigger, not per event-time batch; use window LENGTH, or drop --event-time",
                );
            }
            (Some(WindowSpec::Sliding { .. }), false) => {
                return refuse(
                    "window LENGTH in processing time: Spark's watermark only advances when data \
                     arrives, so a window on arrival time would be printed late or never; use \
                     --event-time FIELD|auto",
                );
            }
            _ => {}
        }
        Ok(())
    }

    fn render(&self, source: SourceKind, command_line: &str) -> String {
        let plan = self.plan;
        let mut p = String::new();
        let chain_text = command_line;
        let _ = writeln!(p, "#!/usr/bin/env python3");
        let _ = writeln!(
            p,
            "\"\"\"A spate chain as a PySpark job, written by spate --emit pyspark.\n\n\
             Run it with python3 (pip install pyspark) or spark-submit; --help lists its options.\n\"\"\""
        );
        let _ = writeln!(p, "# Written by spate {} from:", env!("CARGO_PKG_VERSION"));
        let _ = writeln!(p, "#   {chain_text}");
        let _ = writeln!(p, "#");
        let _ = writeln!(
            p,
            "# It prints what that command prints (same -o format, time column and row order),"
        );
        let _ = writeln!(
            p,
            "# so the two can be compared with diff. Where Spark differs in degree:"
        );
        let mut notes = self.notes.clone();
        notes.extend(self.standard_notes(source));
        for n in &notes {
            for (i, l) in wrap(n, 76).iter().enumerate() {
                let _ = writeln!(p, "# {}{l}", if i == 0 { "- " } else { "  " });
            }
        }
        let _ = writeln!(p);
        let _ = writeln!(p, "import argparse");
        let _ = writeln!(p, "import datetime");
        let _ = writeln!(p, "import functools");
        let _ = writeln!(p, "import json");
        let _ = writeln!(p, "import math");
        let _ = writeln!(p, "import os");
        let _ = writeln!(p, "import re");
        let _ = writeln!(p, "import sys");
        let _ = writeln!(p, "import tempfile");
        let _ = writeln!(p, "import threading");
        let _ = writeln!(p, "import time");
        let _ = writeln!(p);
        let _ = writeln!(p, "from pyspark.sql import SparkSession");
        let _ = writeln!(p, "from pyspark.sql import functions as F");
        let _ = writeln!(p);
        let _ = writeln!(
            p,
            "APP_NAME = {}",
            py(&format!("spate: {}", truncate(chain_text, 200)))
        );
        let inputs: Vec<String> = plan.inputs.iter().map(|s| py(s)).collect();
        let _ = writeln!(p, "DEFAULT_INPUT = {}", py_list(&inputs));
        let bounded = matches!(plan.batching.mode, BatchMode::Eof)
            || (source == SourceKind::Files && !plan.source.follow);
        let _ = writeln!(
            p,
            "# read once to the end (a batch job), or as a stream (--stream)"
        );
        let _ = writeln!(p, "BOUNDED = {}", py_bool(bounded));
        let stream_refusal = if matches!(plan.batching.mode, BatchMode::Eof) {
            Some("-b eof reads the input to its end: run with --once")
        } else if plan.batching.event_time.is_some() && self.aggregation.is_none() {
            Some(
                "event-time batches of records need the whole input here: run with --once (a stream needs an aggregation)",
            )
        } else {
            None
        };
        let _ = writeln!(
            p,
            "STREAM_REFUSAL = {}",
            stream_refusal.map_or("None".into(), py)
        );
        let _ = writeln!(p, "SPLIT_LINES = {}", py_bool(source == SourceKind::Kafka));
        let batch_ms = match plan.batching.mode {
            BatchMode::Interval(d) => millis(d).to_string(),
            _ => "None".into(),
        };
        let _ = writeln!(p, "BATCH_MS = {batch_ms}");
        let _ = writeln!(
            p,
            "EVENT_TIME = {}",
            py_bool(plan.batching.event_time.is_some())
        );
        let interval = plan.batching.interval().unwrap_or(Duration::from_secs(1));
        let (length, slide) = match self.window {
            Some(WindowSpec::Sliding { length, slide }) => (length, slide),
            _ => (interval, interval),
        };
        let _ = writeln!(
            p,
            "WINDOW = {}",
            py(&format!("{} milliseconds", millis(interval)))
        );
        let _ = writeln!(
            p,
            "WINDOW_ARGS = ({}, {})",
            py(&format!("{} milliseconds", millis(length))),
            py(&format!("{} milliseconds", millis(slide)))
        );
        let _ = writeln!(
            p,
            "LATENESS = {}",
            py(&format!("{} milliseconds", millis(plan.batching.lateness)))
        );
        let _ = writeln!(
            p,
            "RUNNING = {}",
            py_bool(self.window == Some(WindowSpec::All))
        );
        let agg_name = match &self.aggregation {
            None => "None".to_string(),
            Some(d) => py(d.op),
        };
        let _ = writeln!(p, "AGGREGATION = {agg_name}");
        let output = match plan.output.format {
            OutputFormat::Csv => "csv",
            OutputFormat::Jsonl => "jsonl",
            OutputFormat::Json => "json",
            _ => "tsv",
        };
        let _ = writeln!(p, "OUTPUT = {}", py(output));
        let _ = writeln!(p, "HEADER = {}", py_bool(plan.output.options.header));
        let tf = match plan.output.options.time_format {
            TimeFormat::Rfc3339 => "rfc3339",
            TimeFormat::Epoch => "epoch",
            TimeFormat::EpochMs => "epoch-ms",
        };
        let _ = writeln!(p, "TIME_FORMAT = {}", py(tf));
        let _ = writeln!(p, "MILLIS = {}", py_bool(plan.output.options.millis));
        let _ = writeln!(
            p,
            "MAX_BATCHES = {}",
            plan.engine
                .max_batches
                .map_or("None".into(), |n| n.to_string())
        );
        let _ = writeln!(
            p,
            "DURATION_S = {}",
            plan.engine
                .duration
                .map_or("None".into(), |d| format!("{:?}", d.as_secs_f64()))
        );
        let (columns, aggregate) = self.aggregation_code();
        let _ = writeln!(p, "# the printed columns: (name, Spark column[, kind])");
        let _ = writeln!(p, "COLUMNS = {columns}");
        let known = plan.chain.columns().as_ref().map_or("None".into(), |cols| {
            py_list(&cols.iter().map(|n| py(n)).collect::<Vec<_>>())
        });
        let _ = writeln!(
            p,
            "# csv and tsv's columns when the chain knows them, else the first batch's"
        );
        let _ = writeln!(p, "KNOWN = {known}");
        let _ = writeln!(p);
        let _ = writeln!(p);
        let _ = writeln!(p, "def prepare(df):");
        let _ = writeln!(
            p,
            "    \"\"\"The per-record operators: one column per field.\"\"\""
        );
        for l in &self.body {
            let _ = writeln!(p, "    {l}");
        }
        if let Some(et) = &plan.batching.event_time {
            let ts = match et {
                EventTime::Auto => "find_ts(F.col(\"__raw\"))".to_string(),
                EventTime::Field(f) => format!("parse_ts(txt({}))", self.model.expr(f)),
                // refused in `program`
                EventTime::Kafka => "F.lit(None)".to_string(),
            };
            let _ = writeln!(p, "    df = df.withColumn(\"__ts\", {ts})");
        }
        let mut keep: Vec<String> = self.model.fields.iter().map(|(_, col)| py(col)).collect();
        if plan.batching.event_time.is_some() {
            keep.push(py("__ts"));
        }
        let _ = writeln!(p, "    return df.select({})", keep.join(", "));
        let _ = writeln!(p);
        let _ = writeln!(p);
        let _ = writeln!(p, "def aggregate(df, by):");
        let _ = writeln!(
            p,
            "    \"\"\"The aggregation, per window (by) or over the whole batch.\"\"\""
        );
        for l in aggregate {
            let _ = writeln!(p, "    {l}");
        }
        let _ = writeln!(p);
        let _ = writeln!(p);
        let _ = writeln!(p, "def post_ops(rows):");
        let _ = writeln!(
            p,
            "    \"\"\"The operators on a batch's rows, on the driver.\"\"\""
        );
        for l in &self.post {
            let _ = writeln!(p, "    {l}");
        }
        let _ = writeln!(p, "    return rows");
        let _ = writeln!(p);
        let _ = writeln!(p);
        p.push_str(RUNTIME);
        p
    }

    /// COLUMNS, and the body of `aggregate(df, by)`.
    fn aggregation_code(&self) -> (String, Vec<String>) {
        let Some(agg) = &self.aggregation else {
            let cols: Vec<String> = self
                .model
                .fields
                .iter()
                .map(|(n, c)| {
                    let shown = if n == CURRENT { "value" } else { n.as_str() };
                    format!("({}, {})", py(shown), py(c))
                })
                .collect();
            // `_` prints first, as `value`
            let mut cols_sorted = Vec::new();
            for (i, (n, _)) in self.model.fields.iter().enumerate() {
                if n == CURRENT {
                    cols_sorted.insert(0, cols[i].clone());
                } else {
                    cols_sorted.push(cols[i].clone());
                }
            }
            return (py_list(&cols_sorted), vec!["return df".into()]);
        };
        let mut columns = Vec::new();
        let mut keys = Vec::new();
        let mut aggs = vec!["F.count(F.lit(1)).alias(\"__n\")".to_string()];
        for (i, (shown, expr)) in agg.agg.keys.iter().enumerate() {
            let k = format!("k{i}");
            keys.push(format!("{expr}.alias({})", py(&k)));
            columns.push(format!("({}, {}, \"key\")", py(shown), py(&k)));
        }
        for (n, v) in agg.agg.values.iter().enumerate() {
            let col = format!("a{n}");
            aggs.push(format!("{}.alias({})", v.expr, py(&col)));
            columns.push(format!(
                "({}, {}, {})",
                py(&v.name),
                py(&col),
                py(v.kind.tag())
            ));
        }
        let body = vec![
            format!(
                "out = df.groupBy(*by{}{}).agg({})",
                if keys.is_empty() { "" } else { ", " },
                keys.join(", "),
                aggs.join(", ")
            ),
            "if by:".into(),
            "    out = out.withColumn(\"__end\", F.unix_millis(F.col(\"window.end\")))".into(),
            "return out".into(),
        ];
        (py_list(&columns), body)
    }

    fn standard_notes(&self, source: SourceKind) -> Vec<String> {
        let plan = self.plan;
        let mut n = Vec::new();
        if plan.batching.event_time.is_some() {
            n.push(
                "Event time: Spark moves the watermark between micro-batches, spate after every \
                 line, so with records later than --lateness the two may drop different late \
                 records. A stream's last windows wait for the watermark (a streaming query has no \
                 end of input); with --once every window is printed, as spate does at end of input."
                    .into(),
            );
            n.push(
                "Timestamps read: RFC 3339 / ISO 8601, Common Log Format, epoch seconds and \
                 milliseconds; syslog times (no year) are not read."
                    .into(),
            );
        }
        if self.window == Some(WindowSpec::All) {
            n.push(
                "window all is a streaming aggregation in complete mode: Spark prints the running \
                 totals after each micro-batch that had data (spate also after quiet intervals)."
                    .into(),
            );
        }
        if matches!(plan.batching.mode, BatchMode::Interval(_))
            && plan.batching.event_time.is_none()
        {
            n.push(
                "Processing time: a micro-batch's time is its trigger time, on a multiple of the \
                 interval as spate's batch ends are; what falls into which batch depends on \
                 arrival, as in spate."
                    .into(),
            );
        }
        match source {
            SourceKind::Files => n.push(
                "Files: --once (the default without -F) reads them to the end; --stream reads \
                 the files that appear under the path (Spark's file source does not follow a \
                 growing file)."
                    .into(),
            ),
            SourceKind::Socket => n.push(
                "tcp://: Spark's socket source is not fault tolerant (Spark says: for tests); \
                 use kafka:// in production."
                    .into(),
            ),
            SourceKind::Kafka => n.push(
                "kafka://: needs Spark's Kafka connector, e.g. spark-submit --packages \
                 org.apache.spark:spark-sql-kafka-0-10_2.13:SPARK_VERSION; each message is \
                 cut into lines."
                    .into(),
            ),
        }
        n.push(
            "Regexes run as Java regexes, translated from spate's syntax (named groups, \
             replacement references, Unicode classes). A JSON null reads as a missing field; \
             lines are not cut at --max-line-bytes; dropped lines are not counted."
                .into(),
        );
        n
    }
}

fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// Splits a note into lines of at most `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && cur.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

// ---------------------------------------------------------------------------
// Regexes: spate's (Rust) syntax into Java's, which Spark runs.

/// Text that Java's regex reads literally.
fn java_quote(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == ' ' || !c.is_ascii() {
            out.push(c);
        } else {
            out.push('\\');
            out.push(c);
        }
    }
    out
}

/// Collects what differs between the two syntaxes.
#[derive(Default)]
struct Scan {
    /// (start offset, end offset of the opening `(?P<name>`) of named
    /// groups.
    named_opens: Vec<(usize, usize)>,
    names: Vec<(String, usize)>,
    groups: usize,
    problem: Option<String>,
}

impl Visitor for &mut Scan {
    type Output = ();
    type Err = ();

    fn finish(self) -> std::result::Result<(), ()> {
        Ok(())
    }

    fn visit_pre(&mut self, a: &Ast) -> std::result::Result<(), ()> {
        match a {
            Ast::Group(g) => match &g.kind {
                ast::GroupKind::CaptureIndex(_) => self.groups += 1,
                ast::GroupKind::CaptureName { name, .. } => {
                    self.groups += 1;
                    self.names.push((name.name.clone(), self.groups));
                    self.named_opens
                        .push((g.span.start.offset, name.span.end.offset + 1));
                }
                ast::GroupKind::NonCapturing(flags) => self.flags(flags),
            },
            Ast::Flags(f) => self.flags(&f.flags),
            Ast::Assertion(x) => {
                use ast::AssertionKind as K;
                if !matches!(
                    x.kind,
                    K::StartLine
                        | K::EndLine
                        | K::StartText
                        | K::EndText
                        | K::WordBoundary
                        | K::NotWordBoundary
                ) {
                    self.problem = Some("the word-boundary assertions \\b{...}, \\< and \\> have no Java equivalent".into());
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn visit_class_set_item_pre(
        &mut self,
        item: &ast::ClassSetItem,
    ) -> std::result::Result<(), ()> {
        if let ast::ClassSetItem::Ascii(_) = item {
            self.problem = Some("ASCII classes such as [[:alpha:]] read differently in Java; write \\p{Alpha} or [a-zA-Z]".into());
        }
        Ok(())
    }
}

impl Scan {
    fn flags(&mut self, f: &ast::Flags) {
        for item in &f.items {
            if let ast::FlagsItemKind::Flag(flag) = item.kind {
                match flag {
                    ast::Flag::SwapGreed => {
                        self.problem = Some("the flag U (swap greed) has no Java equivalent".into())
                    }
                    ast::Flag::CRLF => {
                        self.problem = Some("the flag R (CRLF) has no Java equivalent".into())
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Translates a spate regex for Spark: named groups become plain groups
/// (Java's names allow no `_`; the mapping uses indexes), and `(?U)` makes
/// `\d`, `\w`, `\s` and `\b` Unicode-aware as they are in spate.
fn java_regex(pattern: &str) -> std::result::Result<JavaRegex, String> {
    crate::ops::compile_regex(pattern)?;
    let parsed = ast::parse::Parser::new()
        .parse(pattern)
        .map_err(|e| format!("bad regex '{pattern}': {e}"))?;
    let mut scan = Scan::default();
    ast::visit(&parsed, &mut scan).map_err(|()| format!("bad regex '{pattern}'"))?;
    if let Some(p) = scan.problem {
        return Err(format!("regex '{pattern}': {p}"));
    }
    let mut out = String::from("(?U)");
    let mut at = 0;
    for &(start, end) in &scan.named_opens {
        out.push_str(&pattern[at..start]);
        out.push('(');
        at = end;
    }
    out.push_str(&pattern[at..]);
    Ok(JavaRegex {
        pattern: out,
        groups: scan.groups,
        names: scan.names,
    })
}

/// A replacement in Java's syntax: `$1`, `${1}`, `${name}` and `$name`
/// become numbered references (`$N`), `$$` a literal `$`, and backslashes
/// are escaped.
fn java_replacement(repl: &str, re: &JavaRegex) -> std::result::Result<String, String> {
    let mut out = String::new();
    let b = repl.as_bytes();
    let mut i = 0;
    let group_ref = |name: &str| -> std::result::Result<usize, String> {
        if let Ok(n) = name.parse::<usize>() {
            if n <= re.groups {
                return Ok(n);
            }
        }
        re.names
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, i)| *i)
            .ok_or_else(|| {
                format!("replacement refers to group '{name}', which the regex does not have")
            })
    };
    while i < b.len() {
        let c = b[i];
        if c == b'$' {
            if b.get(i + 1) == Some(&b'$') {
                out.push_str("\\$");
                i += 2;
                continue;
            }
            let (name, next) = if b.get(i + 1) == Some(&b'{') {
                let Some(close) = repl[i + 2..].find('}') else {
                    out.push_str("\\$");
                    i += 1;
                    continue;
                };
                (&repl[i + 2..i + 2 + close], i + 3 + close)
            } else {
                let len = repl[i + 1..]
                    .bytes()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    .count();
                if len == 0 {
                    out.push_str("\\$");
                    i += 1;
                    continue;
                }
                (&repl[i + 1..i + 1 + len], i + 1 + len)
            };
            let n = group_ref(name)?;
            // Java reads `$n` followed by digits as the longest group
            // number the regex has, and has no `${n}` to close it
            if let Some(d) = repl[next..].chars().next().and_then(|c| c.to_digit(10)) {
                if n * 10 + d as usize <= re.groups {
                    return Err(format!(
                        "replacement '{repl}': a digit right after group {n} would read as group \
                         {}{d} in Java; name the group instead",
                        n
                    ));
                }
            }
            out.push('$');
            out.push_str(&n.to_string());
            i = next;
        } else if c == b'\\' {
            out.push_str("\\\\");
            i += 1;
        } else {
            let ch = repl[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emit_regex_named_groups_become_numbered() {
        let re = java_regex(r#"" (?P<status>\d{3}) (?<b_y>\S+)"#).unwrap();
        assert_eq!(re.pattern, r#"(?U)" (\d{3}) (\S+)"#);
        assert_eq!(
            re.names,
            [("status".to_string(), 1), ("b_y".to_string(), 2)]
        );
        assert_eq!(re.groups, 2);
    }

    #[test]
    fn emit_regex_refuses_what_java_reads_differently() {
        assert!(java_regex("[[:alpha:]]+").is_err());
        assert!(java_regex(r"\<word").is_err());
        assert!(java_regex("(?U)a+").is_err());
        assert!(java_regex("a(?i:b)c").is_ok());
    }

    #[test]
    fn emit_replacement_references() {
        let re = java_regex(r"(\w+)=(?P<v>\w+)").unwrap();
        assert_eq!(java_replacement("${v}:$1", &re).unwrap(), "$2:$1");
        assert_eq!(java_replacement("${1}x$$\\", &re).unwrap(), "$1x\\$\\\\");
        assert_eq!(java_replacement("${1}0", &re).unwrap(), "$10");
        assert!(java_replacement("$3", &re).is_err());
    }

    #[test]
    fn emit_java_quote_escapes_metacharacters() {
        assert_eq!(java_quote("a.b|c"), "a\\.b\\|c");
        assert_eq!(java_quote("::"), "\\:\\:");
    }
}
