//! join's lookup table: a file read whole into a map from a key (the key
//! column's value as it prints) to the row's other columns. CSV and TSV
//! (with a header line, each line one record, read as `csv --header` and
//! `csv -d tab --header` read a line) give text values; JSON lines keep
//! their JSON types. Column names are interned for the life of the run, so
//! that records borrow them instead of copying one per record.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;
use std::sync::{LazyLock, Mutex};

use crate::agg::key::Map;
use crate::ops::csv::parse_record;
use crate::record::Record;
use crate::value::Value;

/// How a lookup file is read, by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Tsv,
    Jsonl,
}

impl Format {
    /// The format a file's name says (`.csv`, `.tsv`, `.jsonl`, any case).
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "tsv" => Some(Format::Tsv),
            "jsonl" => Some(Format::Jsonl),
            _ => None,
        }
    }

    /// Its name, as its file's extension says it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Jsonl => "jsonl",
        }
    }
}

/// The columns a row adds to a record, in the file's order.
pub type Row = Box<[(&'static str, Value<'static>)]>;

/// The table: rows by key.
#[derive(Debug, Default)]
pub struct Table {
    rows: Map<Box<str>, Row>,
    /// About how many bytes the table holds (keys, names' slots, values).
    bytes: usize,
}

impl Table {
    /// The row whose key prints as `key`.
    pub fn get(&self, key: &str) -> Option<&Row> {
        self.rows.get(key)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// About how much memory the table takes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn insert(&mut self, key: String, row: Row) {
        let slot = std::mem::size_of::<(&str, Value<'static>)>();
        let size = |r: &Row| {
            r.iter()
                .map(|(_, v)| slot + v.as_str().map_or(0, str::len))
                .sum::<usize>()
        };
        self.bytes += key.len() + size(&row) + 48;
        // of duplicate keys the last row wins
        if let Some(old) = self.rows.insert(key.into_boxed_str(), row) {
            self.bytes = self.bytes.saturating_sub(size(&old) + 48);
        }
    }
}

/// Names for the life of the run: each distinct name is leaked once, however
/// often a table is read again.
fn intern(name: &str) -> &'static str {
    static NAMES: LazyLock<Mutex<HashSet<&'static str>>> =
        LazyLock::new(|| Mutex::new(HashSet::new()));
    // a panic while holding the lock leaves the set as it was: still good
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = names.get(name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(n);
    n
}

/// The key a value makes: its text as it prints, none for null.
fn key_of(v: &Value<'_>) -> Option<String> {
    (!v.is_null()).then(|| v.text().into_owned())
}

/// Reads FILE into a table keyed by `column`. The error names the file and,
/// for a bad line, its number.
pub fn load(path: &Path, format: Format, column: &str) -> Result<Table, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("reading {shown}: {e}"))?;
    let text = String::from_utf8_lossy(&bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    match format {
        Format::Csv => delimited(lines, b',', column).map_err(|e| format!("{shown}{e}")),
        Format::Tsv => delimited(lines, b'\t', column).map_err(|e| format!("{shown}{e}")),
        Format::Jsonl => jsonl(lines, column).map_err(|e| format!("{shown}{e}")),
    }
}

/// CSV or TSV with a header line. Errors start with what follows the file's
/// name (`: no column ...`, ` line 3: ...`).
fn delimited<'t>(
    mut lines: impl Iterator<Item = (usize, &'t str)>,
    delim: u8,
    column: &str,
) -> Result<Table, String> {
    let Some((n, header)) = lines.next() else {
        return Err(": empty; a lookup table needs a header line naming its columns".into());
    };
    let mut names: Vec<&'static str> = Vec::new();
    parse_record(header, delim, |v| {
        let name = if v.is_empty() {
            (names.len() + 1).to_string()
        } else {
            v.into_owned()
        };
        names.push(intern(&name));
    })
    .map_err(|e| format!(" line {}: {e}", n + 1))?;
    if !names.contains(&column) {
        return Err(format!(
            ": no column '{column}' in its header (its columns: {})",
            names.join(", ")
        ));
    }
    let mut table = Table::default();
    let mut cells: Vec<(&'static str, Value<'static>)> = Vec::with_capacity(names.len());
    for (n, line) in lines {
        cells.clear();
        parse_record(line, delim, |v| {
            let i = cells.len();
            let name = match names.get(i) {
                Some(name) => name,
                None => intern(&(i + 1).to_string()),
            };
            cells.push((name, Value::owned_str(v.into_owned())));
        })
        .map_err(|e| format!(" line {}: {e}", n + 1))?;
        // when names repeat, the last value wins, as in `csv --header`
        let mut row: Vec<(&'static str, Value<'static>)> = Vec::with_capacity(cells.len());
        let mut key = None;
        for (name, v) in cells.drain(..) {
            if name == column {
                key = key_of(&v);
                continue;
            }
            match row.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = v,
                None => row.push((name, v)),
            }
        }
        // a short line without the key column matches nothing
        if let Some(key) = key {
            table.insert(key, row.into_boxed_slice());
        }
    }
    Ok(table)
}

/// JSON lines: each line an object; its key by `column`, which may be a
/// dotted path into it.
fn jsonl<'t>(lines: impl Iterator<Item = (usize, &'t str)>, column: &str) -> Result<Table, String> {
    let mut table = Table::default();
    for (n, line) in lines {
        let obj = match serde_json::from_str::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(o)) => o,
            Ok(_) => return Err(format!(" line {}: not a JSON object", n + 1)),
            Err(e) => return Err(format!(" line {}: invalid JSON: {e}", n + 1)),
        };
        let fields: Vec<(Cow<'static, str>, Value<'static>)> = obj
            .into_iter()
            .map(|(k, v)| (Cow::Borrowed(intern(&k)), Value::from_json(v)))
            .collect();
        let rec = Record::row(fields);
        let Some(key) = rec.lookup(column).and_then(|v| key_of(&v)) else {
            continue;
        };
        let row: Row = rec
            .fields
            .into_iter()
            .filter(|(name, _)| name != column)
            .map(|(name, v)| match name {
                Cow::Borrowed(n) => (n, v),
                Cow::Owned(n) => (intern(&n), v),
            })
            .collect();
        table.insert(key, row);
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(name: &str, text: &str, column: &str) -> Result<Table, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write table");
        let format = Format::of(&path).expect("a known extension");
        load(&path, format, column)
    }

    /// A row as `name=value` cells.
    fn row(t: &Table, key: &str) -> Option<Vec<String>> {
        t.get(key)
            .map(|r| r.iter().map(|(n, v)| format!("{n}={}", v.text())).collect())
    }

    #[test]
    fn join_table_format_by_extension() {
        assert_eq!(Format::of(Path::new("a.csv")), Some(Format::Csv));
        assert_eq!(Format::of(Path::new("dir.d/a.TSV")), Some(Format::Tsv));
        assert_eq!(Format::of(Path::new("a.jsonl")), Some(Format::Jsonl));
        assert_eq!(Format::of(Path::new("a.json")), None);
        assert_eq!(Format::of(Path::new("csv")), None);
    }

    #[test]
    fn join_table_csv_rows_by_key_last_duplicate_wins() {
        let t = load_text(
            "codes.csv",
            "\u{feff}status,meaning,class\r\n200,OK,2xx\n\n404,\"Not Found, really\",4xx\n200,Fine,2xx\n",
            "status",
        )
        .expect("valid table");
        assert_eq!(t.len(), 2);
        assert_eq!(
            row(&t, "200").unwrap_or_default(),
            ["meaning=Fine", "class=2xx"]
        );
        assert_eq!(
            row(&t, "404").unwrap_or_default(),
            ["meaning=Not Found, really", "class=4xx"]
        );
        assert!(t.get("500").is_none());
        assert!(t.bytes() > 0);
    }

    #[test]
    fn join_table_csv_cells_beyond_and_short_of_the_header() {
        let t = load_text("t.csv", "k,,v,v\na,1,2,3,4\nb\nc,x\n", "k").expect("valid table");
        // an empty header cell is named by its position; of repeated names
        // the last value wins; a cell beyond the header by its position
        assert_eq!(row(&t, "a").unwrap_or_default(), ["2=1", "v=3", "5=4"]);
        assert_eq!(row(&t, "b").unwrap_or_default(), Vec::<String>::new());
        assert_eq!(row(&t, "c").unwrap_or_default(), ["2=x"]);
        // a line short of the key column matches nothing
        let t = load_text("t.csv", "a,k\n1,x\n2\n", "k").expect("valid table");
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn join_table_tsv_is_read_as_csv_with_tabs() {
        let t = load_text(
            "t.tsv",
            "ip\tteam\n10.0.0.1\tcore\n10.0.0.2\t\"a\tb\"\n",
            "ip",
        )
        .expect("valid table");
        assert_eq!(row(&t, "10.0.0.1").unwrap_or_default(), ["team=core"]);
        assert_eq!(row(&t, "10.0.0.2").unwrap_or_default(), ["team=a\tb"]);
    }

    #[test]
    fn join_table_jsonl_keeps_types_and_keys_print() {
        let t = load_text(
            "u.jsonl",
            "{\"id\":7,\"tier\":\"gold\",\"limit\":2.5,\"tags\":[1]}\n{\"id\":\"8\",\"tier\":null}\n{\"tier\":\"none\"}\n{\"id\":null}\n{\"id\":200.0,\"x\":true}\n",
            "id",
        )
        .expect("valid table");
        assert_eq!(
            t.len(),
            3,
            "rows without a key or with a null key are left out"
        );
        let r = t.get("7").expect("the number 7 keys as 7");
        assert!(matches!(r[1], ("limit", Value::Float(f)) if f == 2.5));
        assert!(matches!(r[2], ("tags", Value::Json(_))));
        assert_eq!(row(&t, "8").unwrap_or_default(), ["tier="]);
        assert!(t.get("200").is_some(), "200.0 prints as 200");
        // a dotted key column reaches into an object
        let t = load_text("n.jsonl", "{\"u\":{\"id\":1},\"n\":2}\n", "u.id").expect("valid");
        assert_eq!(row(&t, "1").unwrap_or_default(), ["u={\"id\":1}", "n=2"]);
    }

    #[test]
    fn join_table_errors_name_the_file_and_line() {
        let e = |name: &str, text: &str| load_text(name, text, "k").err().unwrap_or_default();
        assert!(
            e("t.csv", "")
                .ends_with("t.csv: empty; a lookup table needs a header line naming its columns")
        );
        assert!(
            e("t.csv", "a,b\n1,2\n")
                .ends_with("t.csv: no column 'k' in its header (its columns: a, b)")
        );
        assert!(e("t.csv", "k,v\n1,\"x\n").contains("t.csv line 2: unterminated quoted value"));
        assert!(e("t.jsonl", "{\"k\":1}\n[1]\n").ends_with("t.jsonl line 2: not a JSON object"));
        assert!(e("t.jsonl", "{\"k\":1}\n\n{nope\n").contains("t.jsonl line 3: invalid JSON"));
        let missing = load(Path::new("/nonexistent/t.csv"), Format::Csv, "k")
            .err()
            .unwrap_or_default();
        assert!(
            missing.starts_with("reading /nonexistent/t.csv: "),
            "{missing}"
        );
        // an empty JSON lines file is an empty table
        assert!(load_text("t.jsonl", "", "k").is_ok_and(|t| t.is_empty()));
    }

    #[test]
    fn join_table_names_are_interned_once() {
        assert!(std::ptr::eq(intern("team"), intern("team")));
    }
}
