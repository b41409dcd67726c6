//! Which plans Spark can honour: the inputs and options (`options`), the
//! order of the chain's operators (`ChainOrder`: what may follow an
//! aggregation, a `sort` or a `head`), and what only shows once the whole
//! chain is mapped (`finish`). Each refusal is one line saying why and,
//! where there is one, what to write instead.

use std::collections::BTreeSet;

use super::{Emitter, Result, refuse};
use crate::batch::{BatchMode, Batching, EventTime, WindowSpec};
use crate::ops::Stage;
use crate::plan::Plan;
use crate::sink::OutputFormat;

/// What kind of source the inputs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SourceKind {
    Files,
    Socket,
    Kafka,
}

/// The global options Spark can honour, and the kind of source.
pub(super) fn options(plan: &Plan) -> Result<SourceKind> {
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
    if plan.output.options.with_start {
        return refuse(
            "--with-start: the program does not write a start column; drop --with-start \
             (Spark's window column holds each window's start)",
        );
    }
    if plan.engine.exit_on_row {
        return refuse(
            "--exit-on-row: a Spark job does not stop at its first row; drop the option, or run \
             spate itself as the condition",
        );
    }
    if plan.engine.speed.is_some() {
        return refuse(
            "--speed: Spark reads a recorded file as fast as it can; drop --speed (replay with \
             spate, or feed Spark through tcp:// or kafka:// at the pace you want)",
        );
    }
    if let Some(f) = plan
        .output
        .file
        .as_ref()
        .or(plan.output.dead_letter.as_ref())
    {
        return refuse(format!(
            "{}: the program prints its batches on standard output and keeps no dropped lines; \
             drop --output-file and --dead-letter (redirect the program's output instead)",
            f.display()
        ));
    }
    if plan.state.is_some() {
        return refuse(
            "--state: Spark keeps its own checkpoints (option checkpointLocation); drop --state",
        );
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
    if plan.batching.event_time == Some(EventTime::Kafka) {
        return refuse(
            "--event-time kafka: the program does not carry Kafka's timestamp column to each line yet; \
             use --event-time FIELD or auto with --emit pyspark",
        );
    }
    Ok(kind)
}

/// Where the chain is, for what may follow: Spark runs the per-record
/// operators and the aggregation distributed, and what works on rows
/// after it on the driver.
#[derive(Debug, Default)]
pub(super) struct ChainOrder {
    /// A `sort` or `head` before any aggregation (position, name).
    rows_before: Option<(usize, &'static str)>,
}

impl ChainOrder {
    /// Whether an operator of `stage` may stand at `pos`, given whether an
    /// aggregation came before it; `Err` is the refusal's whole line.
    pub(super) fn admit(
        &mut self,
        pos: usize,
        name: &'static str,
        stage: Stage,
        after: bool,
    ) -> Result<()> {
        let at = |msg: &str| refuse(format!("operator {pos} ({name}): {msg}"));
        match stage {
            Stage::PerRecord if after => at(
                "per-record operators after an aggregation are not supported by --emit pyspark; \
                 put them before it, or filter the printed rows",
            ),
            Stage::PerRecord if self.rows_before.is_some() => {
                at("a per-record operator after sort or head is not supported by --emit pyspark")
            }
            Stage::Aggregation if after => {
                at("a second aggregation is not supported by --emit pyspark")
            }
            Stage::Aggregation => match self.rows_before {
                Some((p, n)) => refuse(format!(
                    "operator {p} ({n}): sort or head before an aggregation is not supported by \
                     --emit pyspark (a distributed batch has no order to cut)"
                )),
                None => Ok(()),
            },
            Stage::Rows | Stage::AfterAggregation if !after => {
                self.rows_before = Some((pos, name));
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// What only shows once the whole chain is mapped.
pub(super) fn finish(e: &Emitter<'_>, batching: &Batching) -> Result<()> {
    if e.aggregation.is_none() && !e.open_parsers.is_empty() {
        return refuse(format!(
            "without an aggregation every field is printed, and {}'s fields are only known from \
             the data; end the chain with `then fields NAME,...` to say which",
            e.open_parsers[0]
        ));
    }
    match (e.window, batching.event_time.is_some()) {
        (Some(WindowSpec::Session { .. }), false) => refuse(
            "window session in processing time: Spark's session_window needs an event-time \
             column and a watermark, which only advances when data arrives, so a session on \
             arrival time would be written late or never; use --event-time FIELD|auto",
        ),
        (Some(WindowSpec::All), true) => refuse(
            "window all with --event-time: Spark's running aggregation is emitted per \
             trigger, not per event-time batch; use window LENGTH, or drop --event-time",
        ),
        (Some(WindowSpec::Sliding { .. }), false) => refuse(
            "window LENGTH in processing time: Spark's watermark only advances when data \
             arrives, so a window on arrival time would be printed late or never; use \
             --event-time FIELD|auto",
        ),
        // a new kind of window must be placed here, not pass unseen
        (Some(WindowSpec::All), false)
        | (Some(WindowSpec::Sliding { .. } | WindowSpec::Session { .. }), true)
        | (None, _) => Ok(()),
    }
}
