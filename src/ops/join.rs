//! `join FILE --on FIELD[=COLUMN] [--missing keep|drop]`: stream-static
//! enrichment. Each record whose FIELD prints as a row's COLUMN gets that
//! row's other columns as fields (a field it has keeps its value). The table
//! ([`table`]) is read when the run starts (a file that cannot be read is a
//! runtime failure, exit 1) and read again after a batch closes when the
//! file's modification time, size or inode changed; a failed reload keeps
//! the table there is, with one warning. The workers share the table behind
//! an [`ArcSwap`]: a record costs one atomic load to find it, a reload one
//! store. On Spark (`to_spark`) the table is a broadcast DataFrame read
//! once when the job starts.

pub mod table;

use std::borrow::Cow;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use clap::{Arg, ArgMatches};

use crate::accounting::Ctx;
use crate::ops::spark::{Spark, SparkCx, SparkMap, py, py_bool, py_list};
use crate::ops::{BuildCx, Built, Operator, RecordOp, Stage};
use crate::record::Record;
use crate::value::Value;

use table::{Format, Table};

pub struct Join;

impl Operator for Join {
    fn name(&self) -> &'static str {
        "join"
    }
    fn summary(&self) -> &'static str {
        "Add the columns of the matching row of a lookup table (CSV, TSV, JSON lines)"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new("file")
                .value_name("FILE")
                .required(true)
                .help("The lookup table: .csv or .tsv with a header line, or .jsonl"),
        )
        .arg(
            Arg::new("on")
                .long("on")
                .value_name("FIELD[=COLUMN]")
                .required(true)
                .help("Match the record's FIELD with the table's COLUMN (default: the same name)"),
        )
        .arg(
            Arg::new("missing")
                .long("missing")
                .value_name("WHAT")
                .value_parser(["keep", "drop"])
                .default_value("keep")
                .help("A record with no matching row: keep it unchanged, or drop it"),
        )
        .after_help(
            "FILE's extension says how it is read: .csv (a header line names the columns, \
             then one record per line, quoted as csv reads it), .tsv (the same with tabs), \
             .jsonl (one JSON object per line; values keep their JSON types, and COLUMN may \
             be a dotted path into the object). CSV and TSV values are text.\n\n\
             The row whose COLUMN prints the same as the record's FIELD (as tsv prints \
             them: the number 200, 200.0 and the text 200 match; 007 and 7 do not) adds \
             its other columns to the record, after its fields; a field the record already \
             has keeps its value. Of rows with the same key, the last one counts. A record \
             without FIELD (or with a null one) matches no row; with no matching row it \
             passes on unchanged, or with --missing drop is dropped as a filter drops it.\n\n\
             FILE is read whole when the run starts (a file that cannot be read, or a bad \
             line in it, is exit 1) and held in memory. After each batch closes, FILE is read \
             again when its modification time, size or inode changed, and the records after \
             that use the new table; when that read fails, the table read before stays and \
             one warning says why. The job that --emit pyspark writes reads FILE once, \
             when it starts, and broadcasts it; it does not read it again.\n\n\
             Examples:\n  \
             spate -b 10s parse '\" (?P<status>\\d{3}) ' then join codes.csv --on status\n  \
             spate -b 1m json then join teams.tsv --on ip=addr --missing drop then count-by-key team\n  \
             spate -b eof logfmt then join users.jsonl --on user=id then stats -f ms -a p99 -g tier",
        )
    }
    fn stage(&self) -> Stage {
        Stage::PerRecord
    }
    fn spark(&self) -> Spark {
        Spark::Map(SparkMap {
            reads: reads_on,
            map: to_spark,
        })
    }
    fn memory(&self, m: &ArgMatches) -> Option<String> {
        let file = m.get_one::<String>("file")?;
        // looked at, not read: --explain reads no input
        let size = std::fs::metadata(file)
            .map(|md| format!(", {} on disk now", human_bytes(md.len())))
            .unwrap_or_default();
        Some(format!(
            "the lookup table {file} whole, every row by its key{size}; read again when it changes"
        ))
    }
    fn fields(&self, m: &ArgMatches) -> Vec<String> {
        reads_on(m)
    }
    fn build(&self, m: &ArgMatches, _cx: &BuildCx) -> Result<Built, String> {
        let Target {
            file,
            format,
            field,
            column,
            drop,
        } = target(m)?;
        Ok(Built::Record(Box::new(JoinOp {
            path: PathBuf::from(file),
            format,
            field,
            column,
            drop,
            table: ArcSwap::from_pointee(Table::default()),
            watch: Mutex::new(Watch::default()),
        })))
    }
}

/// What join's arguments name: the table, how it is read, and the key.
struct Target {
    file: String,
    format: Format,
    field: String,
    column: String,
    /// `--missing drop`.
    drop: bool,
}

fn target(m: &ArgMatches) -> Result<Target, String> {
    let file = m
        .get_one::<String>("file")
        .ok_or("needs FILE, the lookup table")?;
    let format = Format::of(Path::new(file)).ok_or_else(|| {
        format!(
            "'{file}': the lookup table's name must end in .csv, .tsv or .jsonl, which \
             says how it is read"
        )
    })?;
    let on = m.get_one::<String>("on").ok_or("needs --on FIELD")?;
    let (field, column) = match on.split_once('=') {
        Some((f, c)) => (f, c),
        None => (on.as_str(), on.as_str()),
    };
    if field.is_empty() || column.is_empty() {
        return Err(format!(
            "--on '{on}': needs FIELD or FIELD=COLUMN, both non-empty (--on status, --on ip=addr)"
        ));
    }
    Ok(Target {
        file: file.clone(),
        format,
        field: field.to_string(),
        column: column.to_string(),
        drop: m.get_one::<String>("missing").is_some_and(|w| w == "drop"),
    })
}

/// The field join reads: `--on`'s FIELD.
fn reads_on(m: &ArgMatches) -> Vec<String> {
    target(m).map(|t| vec![t.field]).unwrap_or_default()
}

/// Spark: a stream-static join with the table as a broadcast DataFrame.
/// The runtime's `join_table` reads FILE on the driver, once, when the job
/// starts (the program does not read it again when it changes: a note in
/// its header says so), as spate's `table` reads it (the same CSV quoting,
/// duplicates' last row, JSON types), keyed by the text the key prints as;
/// the stream's rows join it on their FIELD's text, left outer (`keep`) or
/// inner (`drop`). The table's columns are only known from the file, so
/// the join takes the columns the chain reads, each where the record lacks
/// the field (a field the record has keeps its value), and a chain
/// without an aggregation must end with `fields`, as after `json`.
fn to_spark(m: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    let Target {
        file,
        format,
        field,
        column,
        drop,
    } = target(m)?;
    let names = cx.wanted();
    let key = cx.expr(&field);
    cx.line(format!(
        "df = join_table(df, {key}, {}, {}, {}, {}, {})",
        py(&file),
        py(format.name()),
        py(&column),
        py_list(&names.iter().map(|n| py(n)).collect::<Vec<_>>()),
        py_bool(drop)
    ));
    let mut added = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let col = format!("__jv{i}");
        let from_table = format!("F.col({})", py(&col));
        let expr = if cx.has(name) {
            format!("F.coalesce({}, {from_table})", cx.expr(name))
        } else {
            from_table
        };
        cx.set(name, expr);
        added.push(py(&col));
    }
    if !added.is_empty() {
        cx.line(format!("df = df.drop({})", added.join(", ")));
    }
    cx.open_fields("join");
    cx.note(format!(
        "join {file}: the table is read once, on the driver, when the job starts, and \
         broadcast to the executors; spate reads it again after a batch when the file \
         changed, the job keeps the rows it read at start."
    ));
    Ok(())
}

/// A size for people: `512 B`, `12.5 KiB`, `3.2 MiB`.
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// What tells one version of a file from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
}

impl FileId {
    fn of(m: &std::fs::Metadata) -> Self {
        FileId {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
        }
    }
}

/// Which version of the file the table holds, and which failure was
/// already warned about (`Some(None)`: the file could not be looked at).
#[derive(Debug, Default)]
struct Watch {
    loaded: Option<FileId>,
    warned: Option<Option<FileId>>,
}

struct JoinOp {
    path: PathBuf,
    format: Format,
    field: String,
    column: String,
    drop: bool,
    table: ArcSwap<Table>,
    watch: Mutex<Watch>,
}

impl JoinOp {
    /// Reads the file: its identity is taken before it is read, so that a
    /// change made while it is read is seen at the next look.
    fn load(&self) -> Result<(Option<FileId>, Table), String> {
        let id = std::fs::metadata(&self.path).ok().map(|m| FileId::of(&m));
        let t = table::load(&self.path, self.format, &self.column)?;
        Ok((id, t))
    }

    /// The key a record's FIELD makes, borrowed when it is text.
    fn key<'r>(v: &'r Value<'_>, buf: &'r mut itoa::Buffer) -> Cow<'r, str> {
        match v {
            Value::Str(s) => Cow::Borrowed(s),
            Value::Int(i) => Cow::Borrowed(buf.format(*i)),
            other => other.text(),
        }
    }
}

impl RecordOp for JoinOp {
    fn start(&self) -> Result<(), String> {
        let (id, t) = self.load().map_err(|e| format!("join: {e}"))?;
        self.table.store(Arc::new(t));
        let mut w = self.watch.lock().unwrap_or_else(|e| e.into_inner());
        w.loaded = id;
        Ok(())
    }

    fn batch_closed(&self) -> Option<String> {
        let mut w = self.watch.lock().unwrap_or_else(|e| e.into_inner());
        let shown = self.path.display();
        let id = match std::fs::metadata(&self.path) {
            Ok(m) => FileId::of(&m),
            Err(e) => {
                if w.warned == Some(None) {
                    return None;
                }
                w.warned = Some(None);
                return Some(format!(
                    "spate: join: {shown}: {e}; the table read before stays"
                ));
            }
        };
        if w.loaded == Some(id) {
            w.warned = None;
            return None;
        }
        if w.warned == Some(Some(id)) {
            return None;
        }
        match self.load() {
            Ok((id, t)) => {
                self.table.store(Arc::new(t));
                w.loaded = id;
                w.warned = None;
                None
            }
            Err(e) => {
                w.warned = Some(Some(id));
                Some(format!(
                    "spate: join: reading it again failed: {e}; the table read before stays"
                ))
            }
        }
    }

    fn process<'a>(&self, mut rec: Record<'a>, out: &mut Vec<Record<'a>>, _cx: &mut Ctx) {
        let table = self.table.load();
        let row = {
            let mut buf = itoa::Buffer::new();
            match rec.lookup(&self.field) {
                None => None,
                Some(v) if v.is_null() => None,
                Some(v) => table.get(&Self::key(&v, &mut buf)),
            }
        };
        match row {
            Some(row) => {
                for (name, v) in row.iter() {
                    if rec.get(name).is_none() {
                        rec.set(Cow::Borrowed(name), v.clone());
                    }
                }
            }
            None if self.drop => return,
            None => {}
        }
        out.push(rec);
    }
}

#[cfg(test)]
mod tests;
