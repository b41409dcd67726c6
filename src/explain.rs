//! `--explain`: the plan in words, printed instead of running it: the
//! inputs, how batches are cut, each operator in order with its stage and
//! what it keeps in memory, and the output (where it goes, with the
//! `--dead-letter` and `--state` files when given). It walks the same plan the run
//! would use, after every check made before input is read, and opens
//! nothing.

use std::fmt::Write as _;

use crate::batch::{BatchMode, EventTime, WindowSpec};
use crate::duration::format_duration;
use crate::ops::Stage;
use crate::plan::Plan;
use crate::sink::OutputFormat;
use crate::timestamp::TimeFormat;

/// The explanation of a plan, as lines of text.
pub fn explain(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "inputs (read as one stream):");
    for (i, src) in plan.inputs.iter().enumerate() {
        let _ = writeln!(s, "  {}. {}", i + 1, input(src, plan));
    }
    let _ = writeln!(s, "batches: {}", batches(plan));
    let _ = writeln!(s, "chain:");
    let width = plan
        .stages
        .iter()
        .map(|st| crate::emit::shell_line(&st.words).chars().count())
        .max()
        .unwrap_or(0)
        .min(48);
    let mut aggregated = false;
    let mut window: Option<(usize, WindowSpec)> = None;
    for st in &plan.stages {
        let stage = st.op.stage();
        let (what, keeps) = match stage {
            Stage::PerRecord if aggregated => (
                "per row, after the aggregation",
                "nothing (works on the batch's rows)".to_string(),
            ),
            Stage::PerRecord => ("per record", "nothing".to_string()),
            Stage::Window => {
                window = st
                    .op
                    .build(
                        &st.args,
                        &crate::ops::BuildCx {
                            interval: plan.batching.interval(),
                            ..Default::default()
                        },
                    )
                    .ok()
                    .and_then(|b| match b {
                        crate::ops::Built::Window(w) => Some((st.pos, w)),
                        _ => None,
                    });
                (
                    "window over the aggregation after it",
                    format!("its panes (counted at operator {})", st.pos + 1),
                )
            }
            Stage::Aggregation if aggregated => (
                "aggregation of the rows",
                "the batch's rows, while it closes".to_string(),
            ),
            Stage::Aggregation => {
                aggregated = true;
                let keyed = st.name() != "count";
                let per = if keyed {
                    format!("up to {} keys (--max-keys)", plan.chain.keys.max)
                } else {
                    "one count".to_string()
                };
                let (wpos, w) = window.take().unzip();
                let keeps = match w {
                    Some(WindowSpec::All) => format!("one running total since the start, {per}"),
                    Some(WindowSpec::Sliding { length, slide }) => {
                        let step = plan.batching.interval().unwrap_or(slide);
                        let panes = length.as_nanos() / step.as_nanos().max(1);
                        format!(
                            "one partial result per batch and thread, {per}; {panes} panes (one per batch of the {} window, every {}) x keys",
                            format_duration(length),
                            format_duration(slide)
                        )
                    }
                    Some(WindowSpec::Session { gap }) => format!(
                        "one partial result per key, GAP-wide slice of time ({}), open batch and thread, {per}; the sessions open per key (counted at operator {})",
                        format_duration(gap),
                        wpos.unwrap_or(st.pos)
                    ),
                    None => format!("one partial result per open batch and thread, {per}"),
                };
                ("aggregation", keeps)
            }
            Stage::Rows if !aggregated => (
                "on the batch's records",
                "the batch's records until it closes".to_string(),
            ),
            Stage::Rows | Stage::AfterAggregation => (
                "on the batch's rows",
                "the batch's rows, while it closes".to_string(),
            ),
        };
        let keeps = st.op.memory(&st.args).unwrap_or(keeps);
        let words = crate::emit::shell_line(&st.words);
        let _ = writeln!(s, "  {}. {words:<width$}  {what}; keeps {keeps}", st.pos);
    }
    let _ = writeln!(s, "output: {}", output(plan));
    if let Some(d) = &plan.output.dead_letter {
        let _ = writeln!(
            s,
            "dropped lines: appended to {}, a JSON object each (--dead-letter)",
            d.display()
        );
    }
    if let Some(st) = &plan.state {
        let _ = writeln!(
            s,
            "state: kept in {}, written after each written batch and at exit; started again with the same arguments, the run goes on from it (--state)",
            st.display()
        );
    }
    s
}

fn input(src: &str, plan: &Plan) -> String {
    if src == "-" {
        return "standard input".into();
    }
    if let Some(a) = src.strip_prefix("tcp://") {
        let again = if plan.source.reconnect {
            ", reconnecting when it closes (--reconnect)"
        } else {
            ", until it closes"
        };
        return format!("tcp://{a}: connect and read lines{again}");
    }
    if let Some(a) = src.strip_prefix("listen://") {
        return format!(
            "listen://{a}: accept clients (at most {} at once) and merge their lines",
            plan.source.max_connections
        );
    }
    if src.starts_with("kafka://") {
        let again = if plan.source.reconnect {
            ", reconnecting when a broker fails (--reconnect)"
        } else {
            ""
        };
        return format!("{src}: every partition of the topics, a message value per line{again}");
    }
    if plan.source.follow {
        let at = if plan.source.from_end {
            "its end"
        } else {
            "its start"
        };
        return format!("{src}: followed from {at} as it grows and across rotation (-F)");
    }
    format!("{src}: read to its end")
}

fn batches(plan: &Plan) -> String {
    let b = &plan.batching;
    let mut s = match (&b.event_time, b.mode) {
        (Some(et), BatchMode::Interval(d)) => {
            let from = match et {
                EventTime::Auto => "the first timestamp in each line".to_string(),
                EventTime::Field(f) => format!("field '{f}'"),
                EventTime::Kafka => "each Kafka message's timestamp".to_string(),
            };
            format!(
                "event time from {from}, every {}, lateness {}: a batch is written once the watermark (the newest timestamp seen minus the lateness) passes its end; a record for a batch already written is late and dropped",
                format_duration(d),
                format_duration(b.lateness)
            )
        }
        (_, BatchMode::Interval(d)) => format!(
            "processing time, every {} by the wall clock (on multiples of {} since the epoch)",
            format_duration(d),
            format_duration(d)
        ),
        (_, BatchMode::Lines(n)) => format!("every {n} input lines"),
        (_, BatchMode::Eof) => {
            "the whole input as one batch, written at its end (-b eof)".to_string()
        }
    };
    if b.emit_empty {
        s.push_str("; empty batches are written too");
    }
    if let Some(d) = plan.engine.duration {
        let _ = write!(s, "; stops after {}", format_duration(d));
    }
    if let Some(n) = plan.engine.max_batches {
        let _ = write!(s, "; stops after {n} written batches");
    }
    s
}

fn output(plan: &Plan) -> String {
    let o = &plan.output;
    let format = match o.format {
        OutputFormat::Pretty => "pretty (a table per batch)",
        OutputFormat::Tsv if o.options.header => "tsv with a header line",
        OutputFormat::Tsv => "tsv",
        OutputFormat::Csv => "csv with a header line",
        OutputFormat::Jsonl => "jsonl (a JSON object per row)",
        OutputFormat::Json => "json (a JSON object per batch)",
        OutputFormat::Spark => "spark (as PySpark's pprint)",
    };
    let times = match o.options.time_format {
        TimeFormat::Rfc3339 => "RFC 3339 in UTC",
        TimeFormat::Epoch => "epoch seconds",
        TimeFormat::EpochMs => "epoch milliseconds",
    };
    // csv, tsv and pretty lay their cells out under these
    let columns = match (o.format, plan.chain.columns()) {
        (OutputFormat::Jsonl | OutputFormat::Json | OutputFormat::Spark, _) => String::new(),
        (_, Some(cols)) => format!("; columns time, {}", cols.join(", ")),
        (_, None) => "; columns time, then the first batch's fields as first seen".into(),
    };
    let to = match &o.file {
        Some(f) => format!("appended to {} (--output-file)", f.display()),
        None => "on standard output".to_string(),
    };
    format!("{format} {to}{columns}; batch times as {times}")
}
