//! `--emit pyspark`: the chain as a self-contained PySpark program
//! (Structured Streaming for streams, a batch job for bounded input) that
//! prints what spate prints, so that the two can be compared with `diff`.
//!
//! Every field of a record is one Spark column, a struct of its text, its
//! kind (text, integer, float, boolean, JSON) and its number, so that the
//! program keeps spate's rules: text that reads as a number is one, a JSON
//! number prints as a number, a missing field is null. Each operator has
//! one mapping function below that reads the operator's own parsed
//! arguments (the same clap command spate runs) and appends DataFrame code;
//! the operators after the aggregation (`top`, `sort`, `head`) and the
//! output format run on the driver in the runtime (`pyspark_runtime.py`),
//! which is the same in every program. What Spark cannot do as spate does
//! is refused with the reason.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use clap::ArgMatches;
use regex_syntax::ast::{self, Ast, Visitor};

use crate::batch::{BatchMode, EventTime, WindowSpec};
use crate::ops::{BuildCx, Built, Stage, find, name_list};
use crate::plan::Plan;
use crate::record::CURRENT;
use crate::sink::OutputFormat;
use crate::timestamp::TimeFormat;
use crate::value::{Num, parse_num};

/// The part of every program that does not depend on the chain.
const RUNTIME: &str = include_str!("pyspark_runtime.py");

/// Percentiles: the accuracy handed to `percentile_approx` (its relative
/// rank error is 1/accuracy).
const PERCENTILE_ACCURACY: u32 = 10_000;

type Result<T> = std::result::Result<T, String>;

fn refuse<T>(why: impl std::fmt::Display) -> Result<T> {
    Err(format!("spate: --emit pyspark: {why}"))
}

/// A Python string literal (JSON's escapes are Python's too).
fn py(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "''".into())
}

fn py_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
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

/// Where the batch ends (the barrier) and what the aggregation is.
#[derive(Debug, Clone, PartialEq)]
enum Aggregation {
    Count,
    CountByKey(Vec<String>),
    Stats {
        fields: Vec<String>,
        aggs: Vec<String>,
        groups: Vec<String>,
    },
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
struct Emitter<'c> {
    config: &'c Config,
    model: Model,
    /// The body of `prepare(df)`: the per-record operators.
    body: Vec<String>,
    /// Every field name any operator of the chain reads, for the parsers
    /// whose keys are only known from the data (json, logfmt, csv).
    referenced: BTreeSet<String>,
    /// Parsers that make fields only known from the data, since the last
    /// `fields`.
    open_parsers: Vec<&'static str>,
    aggregation: Option<Aggregation>,
    window: Option<WindowSpec>,
    /// The body of `post_ops(rows)`.
    post: Vec<String>,
    /// Notes for the program's header: where Spark differs in degree.
    notes: Vec<String>,
    /// A `sort` or `head` before any aggregation (position, name).
    rows_before: Option<(usize, String)>,
}

/// The options of the plan the emitter reads.
struct Config {
    inputs: Vec<String>,
    batch: BatchMode,
    event_time: Option<EventTime>,
    lateness: Duration,
    duration: Option<Duration>,
    max_batches: Option<u64>,
    emit_empty: bool,
    output: OutputFormat,
    header: bool,
    time_format: TimeFormat,
    follow: bool,
    from_end: bool,
    reconnect: bool,
    strict: bool,
    tz: Option<crate::zone::Zone>,
    event_time_format: Option<String>,
    /// The chain's own columns, when it knows them (csv and tsv lay their
    /// cells out under them).
    columns: Option<Vec<String>>,
}

impl Config {
    fn of(plan: &Plan) -> Self {
        Config {
            inputs: plan.inputs.clone(),
            batch: plan.batching.mode,
            event_time: plan.batching.event_time.clone(),
            lateness: plan.batching.lateness,
            duration: plan.engine.duration,
            max_batches: plan.engine.max_batches,
            emit_empty: plan.batching.emit_empty,
            columns: plan.chain.columns(),
            output: plan.output.format,
            header: plan.output.options.header,
            time_format: plan.output.options.time_format,
            follow: plan.source.follow,
            from_end: plan.source.from_end,
            reconnect: plan.source.reconnect,
            strict: plan.engine.strict,
            tz: plan.batching.zone,
            event_time_format: plan.batching.reader.format().map(str::to_string),
        }
    }

    fn interval(&self) -> Option<Duration> {
        match self.batch {
            BatchMode::Interval(d) => Some(d),
            _ => None,
        }
    }

    fn millis(&self) -> bool {
        match self.batch {
            BatchMode::Interval(d) => d.as_nanos() % 1_000_000_000 != 0,
            BatchMode::Lines(_) | BatchMode::Eof => true,
        }
    }
}

/// The program for a plan, or why it cannot be written.
pub fn program(plan: &Plan, command_line: &str) -> Result<String> {
    let config = &Config::of(plan);
    let source = check_config(config)?;
    if config.event_time == Some(EventTime::Kafka) {
        return refuse(
            "--event-time kafka: the program does not carry Kafka's timestamp column to each line yet; \
             use --event-time FIELD or auto with --emit pyspark",
        );
    }
    let mut e = Emitter {
        config,
        model: Model::default(),
        body: Vec::new(),
        referenced: BTreeSet::new(),
        open_parsers: Vec::new(),
        aggregation: None,
        window: None,
        post: Vec::new(),
        notes: Vec::new(),
        rows_before: None,
    };
    let parsed: Vec<(usize, &str, &ArgMatches)> = plan
        .stages
        .iter()
        .map(|s| (s.pos, s.name(), &s.args))
        .collect();
    for (_, name, m) in &parsed {
        e.referenced.extend(references(name, m));
    }
    if let Some(EventTime::Field(f)) = &config.event_time {
        e.referenced.insert(f.clone());
    }
    e.referenced.insert(CURRENT.to_string());
    let first = e.model.fresh();
    e.body.push(format!(
        "df = df.select(text_value(F.col(\"_\")).alias({}), F.col(\"_\").alias(\"__raw\"))",
        py(&first)
    ));
    e.model.assign(CURRENT, first);
    for (pos, name, m) in parsed {
        e.operator(pos, name, m)?;
    }
    e.finish_checks()?;
    Ok(e.render(source, command_line))
}

/// The global options Spark can honour, and the kind of source.
fn check_config(c: &Config) -> Result<SourceKind> {
    let mut kinds = BTreeSet::new();
    for src in &c.inputs {
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
    let kind = if c.inputs.iter().any(|s| s.starts_with("tcp://")) {
        SourceKind::Socket
    } else if c.inputs.iter().any(|s| s.starts_with("kafka://")) {
        SourceKind::Kafka
    } else {
        SourceKind::Files
    };
    match c.batch {
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
    if c.emit_empty {
        return refuse(
            "--emit-empty: Spark runs no micro-batch when nothing arrived, so it has no empty batch to print",
        );
    }
    if let Some(z) = c.tz {
        return refuse(format!(
            "--tz {z}: the emitted job keeps Spark's own session time zone and epoch-aligned windows; drop --tz (times stay UTC)"
        ));
    }
    if let Some(f) = &c.event_time_format {
        return refuse(format!(
            "--event-time-format '{f}': strftime formats are not mapped to Spark's datetime patterns; drop it, or convert the field to RFC 3339 first"
        ));
    }
    if c.strict {
        return refuse(
            "--strict: a Spark job has no line to stop at; drop the option (Spark skips what it cannot parse)",
        );
    }
    if c.from_end {
        return refuse(
            "--from-end: Spark's file source reads every file it finds; start it on an empty directory instead",
        );
    }
    if c.reconnect {
        return refuse(
            "--reconnect: Spark's socket source does not reconnect (and is for tests); use kafka:// for a stream that must survive restarts",
        );
    }
    match c.output {
        OutputFormat::Tsv | OutputFormat::Csv | OutputFormat::Jsonl | OutputFormat::Json => {}
        OutputFormat::Pretty | OutputFormat::Spark => {
            return refuse(
                "the program prints -o tsv, csv, jsonl or json; add one of them (e.g. -o tsv)",
            );
        }
    }
    Ok(kind)
}

/// The field names an operator reads (a superset is fine: the parsers
/// extract each of them when the data has it).
fn references(name: &str, m: &ArgMatches) -> Vec<String> {
    let one = |id: &str| -> Vec<String> { m.get_one::<String>(id).cloned().into_iter().collect() };
    let many = |id: &str| -> Vec<String> {
        m.get_many::<String>(id)
            .into_iter()
            .flatten()
            .flat_map(|s| name_list(s).unwrap_or_default())
            .collect()
    };
    match name {
        "split" | "grep" | "parse" | "json" | "csv" | "logfmt" => one("field"),
        "map" => {
            let mut v = one("field");
            if m.get_one::<String>("func").map(String::as_str) == Some("template") {
                if let Some(t) = m.get_one::<String>("arg1") {
                    v.extend(template_pieces(t).into_iter().filter_map(|p| match p {
                        Piece::Field(f) => Some(f),
                        Piece::Text(_) => None,
                    }));
                }
            }
            v
        }
        "where" => where_words(m).map(|(f, _, _)| vec![f]).unwrap_or_default(),
        "fields" | "count-by-key" => many("fields"),
        "stats" => {
            let mut v = many("field");
            v.extend(many("group"));
            v
        }
        _ => Vec::new(),
    }
}

#[derive(Debug, PartialEq)]
enum Piece {
    Text(String),
    Field(String),
}

/// `template`'s text as pieces: `{name}` a field, `{{` and `}}` braces
/// (map has already checked the template).
fn template_pieces(t: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = t;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{{") || rest.starts_with("}}") {
            text.push(c);
            rest = &rest[2..];
        } else if c == '{' {
            let end = rest.find('}').unwrap_or(rest.len());
            if !text.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut text)));
            }
            out.push(Piece::Field(rest[1..end].trim().to_string()));
            rest = rest.get(end + 1..).unwrap_or("");
        } else {
            text.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    out
}

/// `where`'s field, comparison and value, from three words or one.
fn where_words(m: &ArgMatches) -> Option<(String, String, String)> {
    const OPS: [&str; 10] = ["==", "!=", "<=", ">=", "!~", "=~", "=", "<", ">", "~"];
    let words: Vec<&str> = ["field", "op", "value"]
        .iter()
        .filter_map(|id| m.get_one::<String>(id).map(String::as_str))
        .collect();
    match words.as_slice() {
        [f, o, v] => Some((f.to_string(), o.to_string(), v.to_string())),
        [one] => {
            let at = one.find(['=', '!', '<', '>', '~'])?;
            let rest = &one[at..];
            let op = OPS.iter().find(|o| rest.starts_with(**o))?;
            Some((
                one[..at].to_string(),
                op.to_string(),
                rest[op.len()..].to_string(),
            ))
        }
        _ => None,
    }
}

impl Emitter<'_> {
    fn line(&mut self, s: impl Into<String>) {
        self.body.push(s.into());
    }

    /// `name` now holds the value of the Python expression `expr`.
    fn set(&mut self, name: &str, expr: String) {
        let col = self.model.fresh();
        self.line(format!("df = df.withColumn({}, {expr})", py(&col)));
        self.model.assign(name, col);
    }

    /// `name` holds `expr` where that is not null, else what it held.
    fn set_maybe(&mut self, name: &str, expr: String) {
        let expr = match self.model.col(name) {
            Some(old) => format!("F.coalesce({expr}, F.col({}))", py(old)),
            None => expr,
        };
        self.set(name, expr);
    }

    fn operator(&mut self, pos: usize, name: &str, m: &ArgMatches) -> Result<()> {
        let Some(op) = find(name) else {
            return refuse(format!("operator {pos}: unknown operator '{name}'"));
        };
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
            Stage::PerRecord => {
                if self.rows_before.is_some() {
                    return Err(at("a per-record operator after sort or head is not supported by --emit pyspark".into()));
                }
                self.per_record(name, m).map_err(at)?;
            }
            Stage::Window => {
                let cx = BuildCx {
                    interval: self.config.interval(),
                    ..BuildCx::default()
                };
                match op.build(m, &cx) {
                    Ok(Built::Window(w)) => self.window = Some(w),
                    Ok(_) => return Err(at("internal error: window built the wrong kind".into())),
                    Err(msg) => return Err(at(msg)),
                }
            }
            Stage::Aggregation => {
                if after {
                    return Err(at(
                        "a second aggregation is not supported by --emit pyspark".into(),
                    ));
                }
                if let Some((p, n)) = &self.rows_before {
                    return Err(format!(
                        "spate: --emit pyspark: operator {p} ({n}): sort or head before an aggregation \
                         is not supported by --emit pyspark (a distributed batch has no order to cut)"
                    ));
                }
                self.aggregation = Some(aggregation(name, m).map_err(at)?);
            }
            Stage::Rows | Stage::AfterAggregation => {
                if !after {
                    self.rows_before = Some((pos, name.to_string()));
                }
                self.rows_op(name, m).map_err(at)?;
            }
        }
        Ok(())
    }

    fn per_record(&mut self, name: &str, m: &ArgMatches) -> std::result::Result<(), String> {
        match name {
            "split" => self.split(m),
            "map" => self.map(m),
            "grep" => self.grep(m),
            "where" => self.where_(m),
            "parse" => self.parse(m),
            "json" => self.json(m),
            "csv" => self.csv(m),
            "logfmt" => self.logfmt(m),
            "fields" => self.fields(m),
            other => Err(format!("'{other}' has no PySpark mapping")),
        }
    }

    fn field_arg(m: &ArgMatches) -> String {
        m.get_one::<String>("field")
            .cloned()
            .unwrap_or_else(|| CURRENT.into())
    }

    /// `split`: explode of split, empty tokens dropped; each token is `_`.
    fn split(&mut self, m: &ArgMatches) -> std::result::Result<(), String> {
        let src = self.model.expr(&Self::field_arg(m));
        let pattern = if let Some(re) = m.get_one::<String>("regex") {
            java_regex(re)?.pattern
        } else if let Some(sep) = m.get_one::<String>("sep") {
            java_quote(sep)
        } else {
            WHITESPACE.to_string()
        };
        self.line(format!(
            "df = df.withColumn(\"__tok\", F.explode(F.split(txt({src}), {}, -1))).filter(F.col(\"__tok\") != \"\")",
            py(&pattern)
        ));
        self.set(CURRENT, "text_value(F.col(\"__tok\"))".into());
        self.line("df = df.drop(\"__tok\")");
        Ok(())
    }

    /// `map`: lower, upper, trim (Unicode white space), regexp_replace,
    /// regexp_extract (a filter drops what does not match), element_at of
    /// split, and concat for template.
    fn map(&mut self, m: &ArgMatches) -> std::result::Result<(), String> {
        let field = Self::field_arg(m);
        let func = m.get_one::<String>("func").map_or("", String::as_str);
        let arg1 = m.get_one::<String>("arg1").map_or("", String::as_str);
        let arg2 = m.get_one::<String>("arg2").map_or("", String::as_str);
        if func == "template" {
            let parts: Vec<String> = template_pieces(arg1)
                .into_iter()
                .map(|p| match p {
                    Piece::Text(t) => format!("F.lit({})", py(&t)),
                    Piece::Field(f) => {
                        format!("F.coalesce(txt({}), F.lit(\"\"))", self.model.expr(&f))
                    }
                })
                .collect();
            let concat = if parts.is_empty() {
                "F.lit(\"\")".to_string()
            } else {
                format!("F.concat({})", parts.join(", "))
            };
            self.set(&field, format!("text_value({concat})"));
            return Ok(());
        }
        let Some(col) = self.model.col(&field).map(str::to_string) else {
            // a record without FIELD passes unchanged
            return Ok(());
        };
        let c = format!("F.col({})", py(&col));
        let t = format!("txt({c})");
        let expr = match func {
            "lower" => format!("F.lower({t})"),
            "upper" => format!("F.upper({t})"),
            "trim" => format!("F.regexp_replace({t}, {}, \"\")", py(TRIM)),
            "replace" => {
                let re = java_regex(arg1)?;
                let repl = java_replacement(arg2, &re)?;
                format!("F.regexp_replace({t}, {}, {})", py(&re.pattern), py(&repl))
            }
            "extract" => {
                let re = java_regex(arg1)?;
                let group = usize::from(re.groups > 0);
                self.line(format!(
                    "df = df.filter({c}.isNull() | {t}.rlike({}))",
                    py(&re.pattern)
                ));
                format!("F.regexp_extract({t}, {}, {group})", py(&re.pattern))
            }
            "field" => {
                let n: i64 = arg1
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad field number '{arg1}'"))?;
                let arr = match m.get_one::<String>("delim") {
                    Some(d) => format!("F.split({t}, {}, -1)", py(&java_quote(d))),
                    None => format!(
                        "F.split(F.regexp_replace({t}, {}, \"\"), {}, -1)",
                        py(TRIM),
                        py(WHITESPACE)
                    ),
                };
                format!("F.coalesce(F.element_at({arr}, {n}), F.lit(\"\"))")
            }
            other => return Err(format!("map {other} has no PySpark mapping")),
        };
        self.set(
            &field,
            format!("F.when({c}.isNotNull(), text_value({expr}))"),
        );
        Ok(())
    }

    /// `grep`: a filter on rlike (Java's regex, translated).
    fn grep(&mut self, m: &ArgMatches) -> std::result::Result<(), String> {
        let pattern = m.get_one::<String>("regex").map_or("", String::as_str);
        let mut pattern = if m.get_flag("fixed") {
            regex_syntax::escape(pattern)
        } else {
            pattern.to_string()
        };
        if m.get_flag("ignore-case") {
            pattern.insert_str(0, "(?i)");
        }
        let re = java_regex(&pattern)?;
        let c = self.model.expr(&Self::field_arg(m));
        let hit = format!(
            "F.coalesce(txt({c}).rlike({}), F.lit(False))",
            py(&re.pattern)
        );
        let keep = if m.get_flag("invert") {
            format!("~{hit}")
        } else {
            hit
        };
        self.line(format!("df = df.filter({keep})"));
        Ok(())
    }

    /// `where`: a numeric comparison when both sides read as numbers, else
    /// text by bytes; `~` and `!~` as rlike.
    fn where_(&mut self, m: &ArgMatches) -> std::result::Result<(), String> {
        let Some((field, op, value)) = where_words(m) else {
            return Err("needs FIELD OP VALUE".into());
        };
        let c = self.model.expr(&field);
        let cond = match op.as_str() {
            "~" | "=~" | "!~" => {
                let re = java_regex(&value)?;
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
        self.line(format!("df = df.filter({cond})"));
        Ok(())
    }

    /// `parse`: one regexp_extract per named group, and a filter that drops
    /// the lines that do not match.
    fn parse(&mut self, m: &ArgMatches) -> std::result::Result<(), String> {
        let pattern = m.get_one::<String>("regex").map_or("", String::as_str);
        let re = java_regex(pattern)?;
        let rust = regex::Regex::new(pattern).map_err(|e| e.to_string())?;
        if rust.static_captures_len().is_none() {
            return Err(
                "a group of this regex may not take part in a match, and Spark's regexp_extract \
                 reads such a group as empty text where spate leaves the field unset; make every \
                 group take part (e.g. (?P<x>a|) instead of (?P<x>a)?)"
                    .into(),
            );
        }
        let c = self.model.expr(&Self::field_arg(m));
        let p = py(&re.pattern);
        self.line(format!(
            "df = df.filter(F.coalesce(txt({c}).rlike({p}), F.lit(False)))"
        ));
        for (name, idx) in &re.names {
            self.set(
                name,
                format!("text_value(F.regexp_extract(txt({c}), {p}, {idx}))"),
            );
        }
        Ok(())
    }

    /// The names the chain reads that a parser with keys from the data
    /// may make.
    fn wanted(&self) -> Vec<String> {
        self.referenced.iter().cloned().collect()
    }

    /// `json`: from_json on the keys the chain reads (typed, so that a
    /// number stays a number); lines that are not a JSON object are dropped.
    fn json(&mut self, m: &ArgMatches) -> std::result::Result<(), String> {
        let c = self.model.expr(&Self::field_arg(m));
        let mut paths = Vec::new();
        for name in self.wanted() {
            let parts: Vec<String> = name.split('.').map(str::to_string).collect();
            if parts.len() > 1
                && parts
                    .iter()
                    .any(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(format!(
                    "'{name}' indexes a JSON array, which --emit pyspark does not support"
                ));
            }
            paths.push((name, parts));
        }
        let spec: Vec<String> = paths
            .iter()
            .map(|(_, parts)| py_list(&parts.iter().map(|p| py(p)).collect::<Vec<_>>()))
            .collect();
        self.line(format!(
            "df = df.withColumn(\"__j\", json_fields(txt({c}), {}))",
            py_list(&spec)
        ));
        self.line("df = df.filter(F.col(\"__j\").isNotNull())");
        for (i, (name, _)) in paths.iter().enumerate() {
            self.set_maybe(name, format!("F.col(\"__j\")[{}]", py(&format!("v{i}"))));
        }
        self.line("df = df.drop(\"__j\")");
        self.open_parsers.push("json");
        Ok(())
    }

    /// `csv`: the line cut into values (RFC 4180 quotes) by
    /// regexp_extract_all; each name the chain reads picks its position.
    fn csv(&mut self, m: &ArgMatches) -> std::result::Result<(), String> {
        if m.get_flag("header") {
            return Err(
                "--header: a distributed stream has no first line to take the names from; name \
                 the columns with --columns a,b,c"
                    .into(),
            );
        }
        let delim = m.get_one::<String>("delimiter").map_or(",", String::as_str);
        let delim = match delim {
            "\\t" | "tab" | "\t" => "\t".to_string(),
            d => d.to_string(),
        };
        let columns: Vec<String> = match m.get_one::<String>("columns") {
            Some(c) => name_list(c)?,
            None => Vec::new(),
        };
        let c = self.model.expr(&Self::field_arg(m));
        self.line(format!(
            "df = df.filter(txt({c}) != \"\").withColumn(\"__c\", csv_values(txt({c}), {}))",
            py(&delim)
        ));
        for name in self.wanted() {
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
            self.set_maybe(&name, format!("text_value({pick})"));
        }
        self.line("df = df.drop(\"__c\")");
        self.open_parsers.push("csv");
        Ok(())
    }

    /// `logfmt`: the pairs as a map (regexp_extract_all of keys and
    /// values; the last value of a key wins); quoted values unescaped.
    fn logfmt(&mut self, m: &ArgMatches) -> std::result::Result<(), String> {
        let c = self.model.expr(&Self::field_arg(m));
        self.line(format!(
            "df = df.withColumn(\"__l\", logfmt_pairs(txt({c}))).filter(F.col(\"__l\").isNotNull())"
        ));
        for name in self.wanted() {
            self.set_maybe(
                &name,
                format!("logfmt_value(F.col(\"__l\"), {})", py(&name)),
            );
        }
        self.line("df = df.drop(\"__l\")");
        self.open_parsers.push("logfmt");
        Ok(())
    }

    /// `fields`: the model keeps only these names, in this order.
    fn fields(&mut self, m: &ArgMatches) -> std::result::Result<(), String> {
        let mut keep_value = false;
        let mut names: Vec<String> = Vec::new();
        for word in m.get_many::<String>("fields").into_iter().flatten() {
            for n in name_list(word)? {
                if n == CURRENT {
                    keep_value = true;
                } else if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        let mut kept = Vec::new();
        if keep_value {
            if let Some(c) = self.model.col(CURRENT) {
                kept.push((CURRENT.to_string(), c.to_string()));
            }
        }
        for n in &names {
            if let Some(c) = self.model.col(n) {
                kept.push((n.clone(), c.to_string()));
            }
        }
        self.model.fields = kept;
        self.open_parsers.clear();
        Ok(())
    }

    /// `top`, `sort` and `head` run on the driver, on each batch's rows.
    fn rows_op(&mut self, name: &str, m: &ArgMatches) -> std::result::Result<(), String> {
        let line = match name {
            "top" => {
                let n = count_arg(m, "n").unwrap_or(10);
                let f = m.get_one::<String>("field").map_or("count", String::as_str);
                format!("rows = op_top(rows, {n}, {})", py(f))
            }
            "sort" => {
                let mut fields = Vec::new();
                for f in m.get_many::<String>("fields").into_iter().flatten() {
                    fields.extend(name_list(f)?);
                }
                let fields: Vec<String> = fields
                    .iter()
                    .map(|f| {
                        py(if f == CURRENT && self.aggregation.is_none() {
                            "value"
                        } else {
                            f
                        })
                    })
                    .collect();
                format!(
                    "rows = op_sort(rows, {}, {})",
                    py_list(&fields),
                    py_bool(m.get_flag("reverse"))
                )
            }
            "head" => format!("rows = op_head(rows, {})", count_arg(m, "n").unwrap_or(10)),
            other => return Err(format!("'{other}' has no PySpark mapping")),
        };
        self.post.push(line);
        Ok(())
    }

    /// What only shows once the whole chain is known.
    fn finish_checks(&self) -> Result<()> {
        let c = self.config;
        if self.aggregation.is_none() && !self.open_parsers.is_empty() {
            return refuse(format!(
                "without an aggregation every field is printed, and {}'s fields are only known from \
                 the data; end the chain with `then fields NAME,...` to say which",
                self.open_parsers[0]
            ));
        }
        match (self.window, c.event_time.is_some()) {
            (Some(WindowSpec::Session { .. }), _) => {
                return refuse(
                    "window session: the Spark job for session windows (session_window) is not \
                     written yet; run this chain with spate itself",
                );
            }
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
        let c = self.config;
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
        let inputs: Vec<String> = c.inputs.iter().map(|s| py(s)).collect();
        let _ = writeln!(p, "DEFAULT_INPUT = {}", py_list(&inputs));
        let bounded =
            matches!(c.batch, BatchMode::Eof) || (source == SourceKind::Files && !c.follow);
        let _ = writeln!(
            p,
            "# read once to the end (a batch job), or as a stream (--stream)"
        );
        let _ = writeln!(p, "BOUNDED = {}", py_bool(bounded));
        let stream_refusal = if matches!(c.batch, BatchMode::Eof) {
            Some("-b eof reads the input to its end: run with --once")
        } else if c.event_time.is_some() && self.aggregation.is_none() {
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
        let batch_ms = match c.batch {
            BatchMode::Interval(d) => millis(d).to_string(),
            _ => "None".into(),
        };
        let _ = writeln!(p, "BATCH_MS = {batch_ms}");
        let _ = writeln!(p, "EVENT_TIME = {}", py_bool(c.event_time.is_some()));
        let interval = c.interval().unwrap_or(Duration::from_secs(1));
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
            py(&format!("{} milliseconds", millis(c.lateness)))
        );
        let _ = writeln!(
            p,
            "RUNNING = {}",
            py_bool(self.window == Some(WindowSpec::All))
        );
        let agg_name = match &self.aggregation {
            None => "None".to_string(),
            Some(Aggregation::Count) => py("count"),
            Some(Aggregation::CountByKey(_)) => py("count-by-key"),
            Some(Aggregation::Stats { .. }) => py("stats"),
        };
        let _ = writeln!(p, "AGGREGATION = {agg_name}");
        let output = match c.output {
            OutputFormat::Csv => "csv",
            OutputFormat::Jsonl => "jsonl",
            OutputFormat::Json => "json",
            _ => "tsv",
        };
        let _ = writeln!(p, "OUTPUT = {}", py(output));
        let _ = writeln!(p, "HEADER = {}", py_bool(c.header));
        let tf = match c.time_format {
            TimeFormat::Rfc3339 => "rfc3339",
            TimeFormat::Epoch => "epoch",
            TimeFormat::EpochMs => "epoch-ms",
        };
        let _ = writeln!(p, "TIME_FORMAT = {}", py(tf));
        let _ = writeln!(p, "MILLIS = {}", py_bool(c.millis()));
        let _ = writeln!(
            p,
            "MAX_BATCHES = {}",
            c.max_batches.map_or("None".into(), |n| n.to_string())
        );
        let _ = writeln!(
            p,
            "DURATION_S = {}",
            c.duration
                .map_or("None".into(), |d| format!("{:?}", d.as_secs_f64()))
        );
        let (columns, aggregate) = self.aggregation_code();
        let _ = writeln!(p, "# the printed columns: (name, Spark column[, kind])");
        let _ = writeln!(p, "COLUMNS = {columns}");
        let known = c.columns.as_ref().map_or("None".into(), |cols| {
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
        if let Some(et) = &c.event_time {
            let ts = match et {
                EventTime::Auto => "find_ts(F.col(\"__raw\"))".to_string(),
                EventTime::Field(f) => format!("parse_ts(txt({}))", self.model.expr(f)),
                // refused in `program`
                EventTime::Kafka => "F.lit(None)".to_string(),
            };
            let _ = writeln!(p, "    df = df.withColumn(\"__ts\", {ts})");
        }
        let mut keep: Vec<String> = self.model.fields.iter().map(|(_, col)| py(col)).collect();
        if c.event_time.is_some() {
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
        let mut reps = Vec::new();
        let mut aggs = vec!["F.count(F.lit(1)).alias(\"__n\")".to_string()];
        let key = |i: usize,
                   shown: &str,
                   name: &str,
                   keys: &mut Vec<String>,
                   reps: &mut Vec<String>,
                   columns: &mut Vec<String>| {
            // grouped by the text a key prints as (spate's key identity),
            // shown as the highest-ranked value of the group
            let (g, k) = (format!("g{i}"), format!("k{i}"));
            let c = self.model.expr(name);
            keys.push(format!("key_text({c}).alias({})", py(&g)));
            reps.push(format!("key_rep({c}).alias({})", py(&k)));
            columns.push(format!("({}, {}, \"key\")", py(shown), py(&k)));
        };
        match agg {
            Aggregation::Count => {
                aggs.push("F.count(F.lit(1)).alias(\"a0\")".into());
                columns.push("(\"count\", \"a0\", \"i\")".into());
            }
            Aggregation::CountByKey(fields) => {
                for (i, f) in fields.iter().enumerate() {
                    let shown = if f == CURRENT { "key" } else { f.as_str() };
                    key(i, shown, f, &mut keys, &mut reps, &mut columns);
                }
                aggs.push("F.count(F.lit(1)).alias(\"a0\")".into());
                columns.push("(\"count\", \"a0\", \"i\")".into());
            }
            Aggregation::Stats {
                fields,
                aggs: names,
                groups,
            } => {
                for (i, g) in groups.iter().enumerate() {
                    key(i, g, g, &mut keys, &mut reps, &mut columns);
                }
                let mut n = 0;
                for f in fields {
                    let c = self.model.expr(f);
                    for a in names {
                        let (expr, kind) = match a.as_str() {
                            "count" => (format!("F.count({c})"), "i"),
                            "distinct" => (format!("F.size(F.collect_set(txt({c})))"), "i"),
                            "sum" => (format!("F.sum(num({c}))"), "f"),
                            "mean" => (format!("F.avg(num({c}))"), "f"),
                            "min" => (format!("F.min(num({c}))"), "f"),
                            "max" => (format!("F.max(num({c}))"), "f"),
                            p => {
                                let pct: f64 = p
                                    .strip_prefix('p')
                                    .and_then(|x| x.parse().ok())
                                    .unwrap_or(50.0);
                                (
                                    format!(
                                        "F.percentile_approx(num({c}), {:?}, {PERCENTILE_ACCURACY})",
                                        pct / 100.0
                                    ),
                                    "f",
                                )
                            }
                        };
                        let shown = if fields.len() > 1 {
                            format!("{a}_{f}")
                        } else {
                            a.clone()
                        };
                        let col = format!("a{n}");
                        n += 1;
                        aggs.push(format!("{expr}.alias({})", py(&col)));
                        columns.push(format!("({}, {}, {})", py(&shown), py(&col), py(kind)));
                    }
                }
            }
        }
        reps.extend(aggs);
        let body = vec![
            format!(
                "out = df.groupBy(*by{}{}).agg({})",
                if keys.is_empty() { "" } else { ", " },
                keys.join(", "),
                reps.join(", ")
            ),
            "if by:".into(),
            "    out = out.withColumn(\"__end\", F.unix_millis(F.col(\"window.end\")))".into(),
            "return out".into(),
        ];
        (py_list(&columns), body)
    }

    fn standard_notes(&self, source: SourceKind) -> Vec<String> {
        let c = self.config;
        let mut n = Vec::new();
        if let Some(Aggregation::Stats { aggs, .. }) = &self.aggregation {
            if aggs.iter().any(|a| a.starts_with('p')) {
                n.push(format!(
                    "Percentiles: Spark streaming has no exact percentile, so they are \
                     percentile_approx(x, p, {PERCENTILE_ACCURACY}): nearest rank, exact up to \
                     {PERCENTILE_ACCURACY} values per group and window, within 1/{PERCENTILE_ACCURACY} \
                     of the rank beyond (spate: exact up to 4096 values, within 1%)."
                ));
            }
            if aggs.iter().any(|a| a == "distinct") {
                n.push(
                    "distinct: Spark streaming allows no COUNT(DISTINCT); this is \
                     size(collect_set(x)), exact, which keeps each distinct value in the state \
                     store (spate: exact up to 10000 values per group, then a HyperLogLog within \
                     about 2.5%; approx_count_distinct would bound Spark's memory likewise)."
                        .into(),
                );
            }
        }
        if c.event_time.is_some() {
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
        if matches!(c.batch, BatchMode::Interval(_)) && c.event_time.is_none() {
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

fn aggregation(name: &str, m: &ArgMatches) -> std::result::Result<Aggregation, String> {
    let many = |id: &str| -> std::result::Result<Vec<String>, String> {
        let mut out: Vec<String> = Vec::new();
        for s in m.get_many::<String>(id).into_iter().flatten() {
            for n in name_list(s)? {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        Ok(out)
    };
    Ok(match name {
        "count" => Aggregation::Count,
        "count-by-key" => {
            let mut f = Vec::new();
            for s in m.get_many::<String>("fields").into_iter().flatten() {
                f.extend(name_list(s)?);
            }
            if f.is_empty() {
                f.push(CURRENT.to_string());
            }
            Aggregation::CountByKey(f)
        }
        "stats" => {
            let aggs = many("agg")?
                .into_iter()
                .map(|a| canonical_agg(&a))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let mut uniq: Vec<String> = Vec::new();
            for a in aggs {
                if !uniq.contains(&a) {
                    uniq.push(a);
                }
            }
            Aggregation::Stats {
                fields: many("field")?,
                aggs: uniq,
                groups: many("group")?,
            }
        }
        other => return Err(format!("'{other}' has no PySpark mapping")),
    })
}

/// A stats aggregate's name as spate prints it (aliases resolved).
fn canonical_agg(a: &str) -> std::result::Result<String, String> {
    let known = ["count", "sum", "mean", "min", "max", "distinct"];
    if known.contains(&a) {
        return Ok(a.to_string());
    }
    let alias = match a {
        "avg" | "average" => "mean",
        "median" => "p50",
        "total" => "sum",
        "minimum" => "min",
        "maximum" => "max",
        "n" | "cnt" => "count",
        "uniq" | "unique" | "nunique" | "dc" | "count_distinct" | "distinct_count"
        | "cardinality" => "distinct",
        p if p.starts_with('p') && p[1..].parse::<f64>().is_ok_and(|x| x > 0.0 && x <= 100.0) => {
            return Ok(p.to_string());
        }
        other => return Err(format!("unknown aggregate '{other}'")),
    };
    Ok(alias.to_string())
}

/// A row count argument, whichever type its value parser gives.
fn count_arg(m: &ArgMatches, id: &str) -> Option<usize> {
    if let Ok(Some(n)) = m.try_get_one::<usize>(id) {
        return Some(*n);
    }
    if let Ok(Some(n)) = m.try_get_one::<u64>(id) {
        return usize::try_from(*n).ok();
    }
    match m.try_get_one::<String>(id) {
        Ok(Some(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

fn py_bool(b: bool) -> String {
    if b { "True" } else { "False" }.into()
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

/// Runs of white space, as Rust's `char::is_whitespace` (Unicode).
const WHITESPACE: &str = "(?U)\\s+";
/// Leading and trailing white space, as `str::trim`.
const TRIM: &str = "(?U)^\\s+|\\s+$";

/// A regex in Java's syntax, with what the mapping needs to know of it.
#[derive(Debug)]
struct JavaRegex {
    pattern: String,
    /// Capture groups, named or not.
    groups: usize,
    /// Named groups and their indexes, in order.
    names: Vec<(String, usize)>,
}

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
    fn emit_template_pieces() {
        assert_eq!(
            template_pieces("a{x}{{b}}{ y }"),
            vec![
                Piece::Text("a".into()),
                Piece::Field("x".into()),
                Piece::Text("{b}".into()),
                Piece::Field("y".into())
            ]
        );
    }

    #[test]
    fn emit_java_quote_escapes_metacharacters() {
        assert_eq!(java_quote("a.b|c"), "a\\.b\\|c");
        assert_eq!(java_quote("::"), "\\:\\:");
    }
}
