//! Output formats: one file per format behind the [`Formatter`] trait. The
//! engine hands each emitted batch (or window) to the formatter with its
//! time; the formatter writes it to one buffered writer.

pub mod csv;
pub mod json;
pub mod jsonl;
pub mod pretty;
pub mod spark;
pub mod tsv;

use std::io::{self, Write};

use crate::cli::OutputFormat;
use crate::record::Record;
use crate::timestamp::{Nanos, TimeFormat, format_time};

/// One emitted batch or window.
pub struct BatchOut<'r> {
    /// The batch's (or window's) end: its time.
    pub time: Nanos,
    /// A window's start, when the batch is a window of several batches.
    pub start: Option<Nanos>,
    pub rows: &'r [Record<'static>],
}

/// What every format needs to know.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub time_format: TimeFormat,
    /// Times with milliseconds (sub-second intervals, line-count and eof
    /// batches).
    pub millis: bool,
    /// tsv: print a header line once.
    pub header: bool,
    /// pretty: colours (only on a terminal, never with NO_COLOR).
    pub color: bool,
}

impl Options {
    /// A batch time as the format prints it.
    pub fn time_text(&self, t: Nanos) -> String {
        format_time(t, self.time_format, self.millis)
    }
}

/// An output format.
pub trait Formatter: Send {
    fn batch(&mut self, b: &BatchOut<'_>, out: &mut dyn Write) -> io::Result<()>;
    /// Called once after the last batch.
    fn finish(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

pub fn formatter(format: OutputFormat, opts: Options) -> Box<dyn Formatter> {
    match format {
        OutputFormat::Tsv => Box::new(tsv::Tsv::new(opts)),
        OutputFormat::Csv => Box::new(csv::Csv::new(opts)),
        OutputFormat::Jsonl => Box::new(jsonl::Jsonl::new(opts)),
        OutputFormat::Json => Box::new(json::Json::new(opts)),
        OutputFormat::Pretty => Box::new(pretty::Pretty::new(opts)),
        OutputFormat::Spark => Box::new(spark::Spark::new(opts)),
    }
}

/// The column names of a row, in output order.
pub fn column_names(row: &Record<'_>) -> Vec<String> {
    row.columns().map(|(n, _)| n.to_string()).collect()
}
