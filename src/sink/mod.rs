//! Output formats: one file per format behind the [`Formatter`] trait. The
//! engine hands each emitted batch (or window) to the formatter with its
//! time; the formatter writes it to one buffered writer.

pub mod columns;
pub mod csv;
pub mod json;
pub mod jsonl;
pub mod pretty;
pub mod spark;
#[cfg(test)]
pub(crate) mod testing;
pub mod tsv;

use std::io::{self, Write};
use std::ops::Range;

use crate::record::Record;
use crate::timestamp::{Nanos, TimeFormat, format_time, format_time_in};
use crate::zone::Zone;

/// The output formats (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Pretty,
    Tsv,
    Csv,
    Jsonl,
    Json,
    Spark,
}

impl OutputFormat {
    pub const NAMES: [&'static str; 6] = ["pretty", "tsv", "csv", "jsonl", "json", "spark"];

    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "pretty" => OutputFormat::Pretty,
            "tsv" => OutputFormat::Tsv,
            "csv" => OutputFormat::Csv,
            "jsonl" => OutputFormat::Jsonl,
            "json" => OutputFormat::Json,
            "spark" => OutputFormat::Spark,
            _ => return None,
        })
    }
}

/// One emitted batch or window.
pub struct BatchOut<'r> {
    /// The batch's (or window's) end: its time.
    pub time: Nanos,
    /// The batch's start: a window's, or with `--with-start` every
    /// batch's (see [`Options::with_start`]).
    pub start: Option<Nanos>,
    /// With `--with-start`, rows whose starts are their own (sessions'),
    /// one per row, for the formats that write a batch as one block.
    pub starts: Option<&'r [Nanos]>,
    pub rows: &'r [Record<'static>],
}

impl<'r> BatchOut<'r> {
    /// A batch (or window) ending at `time`, starting at `start` when
    /// known.
    pub fn new(time: Nanos, start: Option<Nanos>, rows: &'r [Record<'static>]) -> BatchOut<'r> {
        BatchOut {
            time,
            start,
            starts: None,
            rows,
        }
    }

    /// The start row `i` carries with `--with-start`: its own, else the
    /// batch's (the batch's end when nothing else is known).
    pub fn start_of(&self, i: usize) -> Nanos {
        self.starts
            .and_then(|s| s.get(i).copied())
            .or(self.start)
            .unwrap_or(self.time)
    }
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
    /// `--tz`: the zone `pretty` and `spark` print times in (the other
    /// formats keep UTC).
    pub zone: Option<Zone>,
    /// `--with-start`: every row also carries `start` right after `time`
    /// (json: each row's first key; pretty: the banner reads start .. end).
    pub with_start: bool,
}

impl Options {
    /// A batch time as the format prints it.
    pub fn time_text(&self, t: Nanos) -> String {
        format_time(t, self.time_format, self.millis)
    }

    /// A batch time on the `--tz` zone's wall clock (`pretty`, the live
    /// view): RFC 3339 with the zone's offset.
    pub fn local_time_text(&self, t: Nanos) -> String {
        format_time_in(t, self.time_format, self.millis, self.zone)
    }
}

/// A text buffer rows are formatted into ([`write_rows`]).
pub trait Buf: Default + Send + AsRef<[u8]> {
    fn clear(&mut self);
}

impl Buf for String {
    fn clear(&mut self) {
        String::clear(self)
    }
}

impl Buf for Vec<u8> {
    fn clear(&mut self) {
        Vec::clear(self)
    }
}

/// Rows per block formatted at once.
const BLOCK_ROWS: usize = 2048;
/// The most block buffers [`write_rows`] keeps for the next batch (128k
/// rows' worth, a few MB).
const KEEP_BUFS: usize = 64;
/// From how many rows a batch is formatted on several threads.
pub const PAR_FORMAT_ROWS: usize = 8192;

/// A batch's rows as a format reads them, a block at a time: made
/// beforehand (a slice), or made as they are written (count-by-key's rows
/// straight from its sorted keys, see [`Formatter::batch_lazy`]).
pub trait RowSource: Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Calls `f` with the rows in `range` (within `0..len`).
    fn block(
        &self,
        range: Range<usize>,
        f: &mut dyn FnMut(&[Record<'static>]) -> io::Result<()>,
    ) -> io::Result<()>;
    /// The rows in `range` as (key, count) pairs, when each is a text key
    /// column then its count (count-by-key's rows of one key field), and
    /// no key was a JSON string: a format may write them without rows
    /// being made. None otherwise.
    fn key_counts(&self, _range: Range<usize>) -> Option<&[(&str, u64)]> {
        None
    }
}

/// A block of rows for [`write_rows`]'s formatting function.
pub enum Block<'a> {
    Rows(&'a [Record<'static>]),
    /// Rows of a text key column and a count ([`RowSource::key_counts`]).
    KeyCounts(&'a [(&'a str, u64)]),
}

impl RowSource for [Record<'static>] {
    fn len(&self) -> usize {
        <[Record<'static>]>::len(self)
    }
    fn block(
        &self,
        range: Range<usize>,
        f: &mut dyn FnMut(&[Record<'static>]) -> io::Result<()>,
    ) -> io::Result<()> {
        f(&self[range])
    }
}

/// The first row's column names (a header's).
pub fn first_columns<R: RowSource + ?Sized>(rows: &R) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    if !rows.is_empty() {
        rows.block(0..1, &mut |r| {
            names.extend(r.iter().take(1).flat_map(column_names));
            Ok(())
        })?;
    }
    Ok(names)
}

/// Writes `rows` formatted block by block by `block`, each row on its own
/// (a format whose rows do not depend on one another: tsv, csv, jsonl).
/// Called inside a rayon pool with many rows (the engine formats a large
/// batch on its workers, idle while a batch closes), the blocks are
/// formatted on all of the pool's threads, each into its own buffer of
/// `bufs` (kept from batch to batch: no allocation or page fault for them
/// on a live stream's next batch), then written in order; otherwise one
/// after another through the first buffer.
pub fn write_rows<R, B, F>(
    rows: &R,
    out: &mut dyn Write,
    bufs: &mut Vec<B>,
    block: F,
) -> io::Result<()>
where
    R: RowSource + ?Sized,
    B: Buf,
    F: Fn(Block<'_>, &mut B) -> io::Result<()> + Sync,
{
    let n = rows.len();
    let blocks = n.div_ceil(BLOCK_ROWS);
    let range = |at: usize| at..(at + BLOCK_ROWS).min(n);
    let one = |at: usize, buf: &mut B| {
        buf.clear();
        match rows.key_counts(range(at)) {
            Some(pairs) => block(Block::KeyCounts(pairs), buf),
            None => rows.block(range(at), &mut |r| block(Block::Rows(r), buf)),
        }
    };
    if rayon::current_thread_index().is_some() && n >= PAR_FORMAT_ROWS {
        use rayon::prelude::*;
        if bufs.len() < blocks {
            bufs.resize_with(blocks, B::default);
        }
        let done: Vec<io::Result<()>> = bufs[..blocks]
            .par_iter_mut()
            .enumerate()
            .map(|(i, b)| one(i * BLOCK_ROWS, b))
            .collect();
        for (d, b) in done.into_iter().zip(bufs.iter()) {
            d?;
            out.write_all(b.as_ref())?;
        }
        // a huge batch's buffers are not all kept
        bufs.truncate(KEEP_BUFS);
        return Ok(());
    }
    if bufs.is_empty() {
        bufs.push(B::default());
    }
    let buf = &mut bufs[0];
    for at in (0..n).step_by(BLOCK_ROWS) {
        one(at, buf)?;
        out.write_all(buf.as_ref())?;
    }
    buf.clear();
    Ok(())
}

/// What a format carries from one batch to the next: the columns laid out
/// so far (`csv`, `tsv`), whether their first header is written, and how
/// many batches were (`pretty` puts a blank line between two). `--state`
/// keeps it, so that a format goes on after a restart as it would have
/// without one: `csv` prints its header once, a `tsv` row keeps its cells
/// under the columns of the rows before it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carried {
    pub columns: Vec<String>,
    /// The columns are set (the chain's own, or by a batch with rows).
    pub set: bool,
    /// The first header is due already (a next one starts a new block).
    pub headed: bool,
    pub batches: u64,
}

/// An output format.
pub trait Formatter: Send {
    /// What it carries to the next batch (see [`Carried`]); every format
    /// says, none by default, so that a new one cannot forget `--state`.
    fn carried(&self) -> Carried;
    /// Goes on from what [`Formatter::carried`] gave (a restart with
    /// `--state`), before any batch.
    fn carry_on(&mut self, c: Carried);
    fn batch(&mut self, b: &BatchOut<'_>, out: &mut dyn Write) -> io::Result<()>;
    /// A batch (not a window) whose rows are made as they are written:
    /// formats that write row by row (tsv, jsonl) take them a block at a
    /// time; the others have them all made first, then [`Formatter::batch`].
    fn batch_lazy(
        &mut self,
        time: Nanos,
        start: Option<Nanos>,
        rows: &dyn RowSource,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let mut all = Vec::with_capacity(rows.len());
        rows.block(0..rows.len(), &mut |r| {
            all.extend_from_slice(r);
            Ok(())
        })?;
        self.batch(&BatchOut::new(time, start, &all), out)
    }
    /// Called once after the last batch.
    fn finish(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
    /// Whether the format writes a time on every row (tsv, csv, jsonl):
    /// a batch whose rows have times of their own (sessions, their
    /// `session_end`) is then written a run of rows at a time, each run
    /// with its time. The others write a batch as one block, at its time.
    fn rows_carry_time(&self) -> bool {
        false
    }
}

/// The formatter of `format`; `columns`: the chain's own columns when it
/// knows them (see [`columns`]), which `csv`, `tsv` and `pretty` lay their
/// cells out under.
pub fn formatter(
    format: OutputFormat,
    opts: Options,
    columns: Option<Vec<String>>,
) -> Box<dyn Formatter> {
    match format {
        OutputFormat::Tsv => Box::new(tsv::Tsv::new(opts, columns)),
        OutputFormat::Csv => Box::new(csv::Csv::new(opts, columns)),
        OutputFormat::Jsonl => Box::new(jsonl::Jsonl::new(opts)),
        OutputFormat::Json => Box::new(json::Json::new(opts)),
        OutputFormat::Pretty => Box::new(pretty::Pretty::new(opts).with_columns(columns)),
        OutputFormat::Spark => Box::new(spark::Spark::new(opts).with_columns(columns)),
    }
}

/// The column names of a row, in output order.
pub fn column_names(row: &Record<'_>) -> Vec<String> {
    row.columns().map(|(n, _)| n.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::sink::testing::{T, opts};
    use crate::value::Value;

    /// A large batch formatted on a pool's threads is byte for byte what
    /// one thread writes, for each format that formats blocks apart.
    #[test]
    fn write_rows_in_a_pool_equals_one_thread() {
        let rows: Vec<Record<'static>> = (0..(PAR_FORMAT_ROWS * 2 + 17) as i64)
            .map(|i| {
                Record::row(vec![
                    (Cow::Borrowed("key"), Value::owned_str(format!("k\t{i}"))),
                    (Cow::Borrowed("n"), Value::Int(i)),
                    (Cow::Borrowed("x"), Value::Float(i as f64 / 7.0)),
                ])
            })
            .collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("a pool");
        for format in [OutputFormat::Tsv, OutputFormat::Jsonl, OutputFormat::Csv] {
            let opts = Options {
                millis: true,
                header: true,
                ..opts()
            };
            let b = BatchOut::new(T, None, &rows);
            let mut one = Vec::new();
            formatter(format, opts, None)
                .batch(&b, &mut one)
                .expect("writing to memory");
            let mut many = Vec::new();
            let mut f = formatter(format, opts, None);
            pool.install(|| f.batch(&b, &mut many))
                .expect("writing to memory");
            assert_eq!(one.len(), many.len(), "{format:?}");
            assert!(one == many, "{format:?}");
            assert_eq!(
                one.iter().filter(|&&c| c == b'\n').count(),
                rows.len()
                    + usize::from(format == OutputFormat::Tsv)
                    + usize::from(format == OutputFormat::Csv),
                "{format:?}"
            );
            // the next, smaller batches through the same formatter (its
            // block buffers kept from the first): as from a fresh one
            for n in [PAR_FORMAT_ROWS + 5, BLOCK_ROWS * 3] {
                let b = BatchOut::new(T + 1_000_000_000, None, &rows[..n]);
                let mut fresh = Vec::new();
                let mut first = formatter(format, opts, None);
                first.batch(&b, &mut Vec::new()).expect("writing to memory");
                first.batch(&b, &mut fresh).expect("writing to memory");
                let mut again = Vec::new();
                pool.install(|| f.batch(&b, &mut again))
                    .expect("writing to memory");
                assert!(again == fresh, "{format:?}, {n} rows");
            }
        }
    }
}
