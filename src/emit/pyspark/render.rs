//! The Python text of a program: its header (the command line, the
//! notes where Spark differs in degree), its settings (the plan's inputs,
//! batching, windows and output as constants the runtime reads), the three
//! functions the chain fills in (`prepare`, `aggregate`, `post_ops`), and
//! the runtime, the same in every program: the Spark expressions the
//! operators use (`columns.py`), then what reads, runs and prints
//! (`runtime.py`).

use std::fmt::Write as _;
use std::time::Duration;

use super::Emitter;
use super::checks::SourceKind;
use crate::batch::{BatchMode, EventTime, WindowSpec};
use crate::ops::spark::{py, py_bool, py_list};
use crate::plan::Plan;
use crate::record::CURRENT;
use crate::sink::OutputFormat;
use crate::timestamp::TimeFormat;

/// The parts of every program that do not depend on the chain: the Spark
/// expressions the operators use, then what reads, runs and prints (which
/// ends with the program's `main` guard).
const COLUMNS: &str = include_str!("columns.py");
const RUNTIME: &str = include_str!("runtime.py");

fn millis(d: Duration) -> u128 {
    d.as_millis()
}

/// The program: `e` is the mapped chain of `plan`.
pub(super) fn program(
    plan: &Plan,
    e: &Emitter<'_>,
    source: SourceKind,
    command_line: &str,
) -> String {
    let mut p = String::new();
    header(&mut p, plan, e, source, command_line);
    settings(&mut p, plan, e, source, command_line);
    functions(&mut p, plan, e);
    p.push_str(COLUMNS);
    p.push_str(RUNTIME);
    p
}

/// What wrote the program and from what, the notes, and the imports.
fn header(p: &mut String, plan: &Plan, e: &Emitter<'_>, source: SourceKind, chain_text: &str) {
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
    let mut notes = e.notes.clone();
    notes.extend(standard_notes(plan, e, source));
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
}

/// The constants the runtime reads: the plan's inputs, batching, windows,
/// aggregation and output.
fn settings(p: &mut String, plan: &Plan, e: &Emitter<'_>, source: SourceKind, chain_text: &str) {
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
    } else if plan.batching.event_time.is_some() && e.aggregation.is_none() {
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
    let (length, slide) = match e.window {
        Some(WindowSpec::Sliding { length, slide }) => (length, slide),
        Some(WindowSpec::All | WindowSpec::Session { .. }) | None => (interval, interval),
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
    // Spark merges sessions whose gap is GAP or less; spate's sessions are
    // runs of records less than GAP apart: on Spark's microseconds, a gap
    // of GAP - 1µs merges exactly those (the end printed adds the 1µs back)
    let session = match e.window {
        Some(WindowSpec::Session { gap }) => py(&format!(
            "{} microseconds",
            gap.as_micros().saturating_sub(1).max(1)
        )),
        Some(WindowSpec::All | WindowSpec::Sliding { .. }) | None => "None".into(),
    };
    let _ = writeln!(
        p,
        "# window session: each key's sessions, Spark's gap being GAP - 1µs"
    );
    let _ = writeln!(p, "SESSION = {session}");
    let _ = writeln!(
        p,
        "LATENESS = {}",
        py(&format!("{} milliseconds", millis(plan.batching.lateness)))
    );
    let _ = writeln!(
        p,
        "RUNNING = {}",
        py_bool(e.window == Some(WindowSpec::All))
    );
    let agg_name = match &e.aggregation {
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
    let (columns, _) = aggregation_code(e);
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
}

/// The functions the chain fills in: `prepare` (the per-record
/// operators), `aggregate` and `post_ops` (what runs on a batch's rows).
fn functions(p: &mut String, plan: &Plan, e: &Emitter<'_>) {
    let (_, aggregate) = aggregation_code(e);
    let _ = writeln!(p);
    let _ = writeln!(p);
    let _ = writeln!(p, "def prepare(df):");
    let _ = writeln!(
        p,
        "    \"\"\"The per-record operators: one column per field.\"\"\""
    );
    for l in &e.body {
        let _ = writeln!(p, "    {l}");
    }
    if let Some(et) = &plan.batching.event_time {
        let ts = match et {
            EventTime::Auto => "find_ts(F.col(\"__raw\"))".to_string(),
            EventTime::Field(f) => format!("parse_ts(txt({}))", e.model.expr(f)),
            // refused in `checks::options`
            EventTime::Kafka => "F.lit(None)".to_string(),
        };
        let _ = writeln!(p, "    df = df.withColumn(\"__ts\", {ts})");
    }
    let mut keep: Vec<String> = e.model.fields.iter().map(|(_, col)| py(col)).collect();
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
    for l in &e.post {
        let _ = writeln!(p, "    {l}");
    }
    let _ = writeln!(p, "    return rows");
    let _ = writeln!(p);
    let _ = writeln!(p);
}

/// COLUMNS, and the body of `aggregate(df, by)`.
fn aggregation_code(e: &Emitter<'_>) -> (String, Vec<String>) {
    let Some(agg) = &e.aggregation else {
        let cols: Vec<String> = e
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
        for (i, (n, _)) in e.model.fields.iter().enumerate() {
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
    for (i, (shown, expr)) in agg.agg.keys.iter().enumerate() {
        // grouped by the text a key prints as (spate's key identity),
        // shown as the highest-ranked value of the group
        let (g, k) = (format!("g{i}"), format!("k{i}"));
        keys.push(format!("key_text({expr}).alias({})", py(&g)));
        reps.push(format!("key_rep({expr}).alias({})", py(&k)));
        columns.push(format!("({}, {}, \"key\")", py(shown), py(&k)));
    }
    if let Some(WindowSpec::Session { .. }) = e.window {
        // after the keys, as spate writes a session's row
        columns.push("(\"session_start\", \"__ss\", \"time\")".into());
        columns.push("(\"session_end\", \"__se\", \"time\")".into());
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
    reps.extend(aggs);
    let body = vec![
        format!(
            "out = df.groupBy(*by{}{}).agg({})",
            if keys.is_empty() { "" } else { ", " },
            keys.join(", "),
            reps.join(", ")
        ),
        "if by:".into(),
        "    out = window_times(out)".into(),
        "return out".into(),
    ];
    (py_list(&columns), body)
}

fn standard_notes(plan: &Plan, e: &Emitter<'_>, source: SourceKind) -> Vec<String> {
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
    if let Some(WindowSpec::Session { .. }) = e.window {
        n.push(
            "window session is Spark's session_window per key in append mode: a session is \
             written once the watermark passes its end, with the first batch at or after its \
             end, as spate writes it; a stream stopped before the watermark passes a session's \
             end does not write that session (spate writes its open sessions at end of input)."
                .into(),
        );
    }
    if e.window == Some(WindowSpec::All) {
        n.push(
            "window all is a streaming aggregation in complete mode: Spark prints the running \
             totals after each micro-batch that had data (spate also after quiet intervals)."
                .into(),
        );
    }
    if matches!(plan.batching.mode, BatchMode::Interval(_)) && plan.batching.event_time.is_none() {
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
