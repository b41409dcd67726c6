//! The columns of `csv` and `tsv`, and every row's cells under them, so
//! that a value never lands under another field's name.
//!
//! The columns are the chain's own when it knows them (an aggregation's
//! fields, `fields`' list); otherwise the fields of the first batch's rows,
//! in the order first seen. They persist from batch to batch and window to
//! window, and only ever grow: a row with a field outside them starts a new
//! header block (the current columns followed by its new fields, in its
//! order), and a row that lacks some columns gets empty cells. So a row
//! always has exactly as many cells as the header above it. A field that a
//! row holds twice (`_` printed as `value` beside a field named `value`)
//! takes two columns of that name, in order.
//!
//! [`Table`] writes a batch this way for both formats, which differ only in
//! their [`Dialect`]: `csv` and `tsv --header` print each block's header
//! (after an empty line from the second on), plain `tsv` prints none.

use std::io::{self, Write};
use std::ops::Range;

use super::{Block, Options, RowSource, first_columns, write_rows};
use crate::record::{Record, column_name};
use crate::timestamp::Nanos;
use crate::value::Value;

/// How many rows ahead a key-count row's key is asked for (see
/// [`crate::simd::prefetch`]).
const PREFETCH_ROWS: usize = 8;

/// How a delimited format writes a line: its separator and its escaping
/// (a type, so that each format's cell loop is compiled with its own
/// escaping inlined).
pub trait Dialect: Send + Sync + 'static {
    const SEP: char;
    /// Appends one cell's text, escaped or quoted as the format needs.
    fn escape(out: &mut String, s: &str);
}

/// The columns so far, kept from batch to batch.
#[derive(Debug, Default)]
pub struct Columns {
    names: Vec<String>,
    /// Whether the columns are set: the chain's own from the start, else
    /// by the first batch that has rows.
    set: bool,
    /// Whether the first header was due already: the next one starts a
    /// new block, after an empty line.
    headed: bool,
}

/// A run of a batch's rows under one set of columns (the first `cols`
/// names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stretch {
    pub rows: Range<usize>,
    pub cols: usize,
    /// A header starts before these rows.
    pub header: bool,
    /// It is not the first header: an empty line goes before it.
    pub new_block: bool,
    /// Every row's fields are the first columns, in order (the usual
    /// case): its cells are written without looking at the names again.
    pub ordered: bool,
}

impl Columns {
    /// The chain's own columns, when it knows them; else they are set by
    /// the first batch with rows.
    pub fn new(known: Option<Vec<String>>) -> Self {
        match known {
            Some(names) => Columns {
                names,
                set: true,
                headed: false,
            },
            None => Columns::default(),
        }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// What it carries to the next batch (`--state`).
    pub fn carried(&self) -> super::Carried {
        super::Carried {
            columns: self.names.clone(),
            set: self.set,
            headed: self.headed,
            batches: 0,
        }
    }

    /// Goes on from what [`Columns::carried`] gave.
    pub fn carry_on(&mut self, c: super::Carried) {
        self.names = c.columns;
        self.set = c.set;
        self.headed = c.headed;
    }

    /// Lays a batch out, in one pass over its rows: the stretches of its
    /// rows in order, each with its columns, growing the columns where a
    /// row brings new fields. An empty batch has no stretch, except the
    /// first header of known columns.
    pub fn lay_out<R: RowSource + ?Sized>(&mut self, rows: &R) -> io::Result<Vec<Stretch>> {
        let n = rows.len();
        // the first batch's fields, in the order first seen, are the columns
        let first = !self.set;
        if first && n == 0 {
            return Ok(Vec::new());
        }
        self.set = true;
        let mut out = vec![Stretch {
            rows: 0..n,
            cols: self.names.len(),
            header: !self.headed,
            new_block: false,
            ordered: true,
        }];
        self.headed = true;
        // key-count rows all have the first row's columns
        let mut key_counts_fit: Option<bool> = None;
        let mut at = 0;
        while at < n {
            let end = (at + super::BLOCK_ROWS).min(n);
            if rows.key_counts(at..end).is_some() {
                let fit = match key_counts_fit {
                    Some(f) => f,
                    None => *key_counts_fit
                        .insert(key_count_cells(&first_columns(rows)?, &self.names).is_some()),
                };
                if fit {
                    at = end;
                    continue;
                }
            }
            let names = &mut self.names;
            for_each_row(rows, at..end, &mut |i, r| {
                if in_order(r, names) {
                    return true;
                }
                let new = new_fields(r, names);
                let cur = out.last_mut().expect("invariant: a stretch from the start");
                if new.is_empty() {
                    cur.ordered = false;
                } else if first {
                    names.extend(new);
                    cur.ordered &= in_order(r, names);
                } else {
                    // a field outside the columns: a new header block
                    names.extend(new);
                    cur.rows.end = i;
                    out.push(Stretch {
                        rows: i..n,
                        cols: names.len(),
                        header: true,
                        new_block: true,
                        ordered: in_order(r, names),
                    });
                }
                true
            })?;
            at = end;
        }
        if first {
            out[0].cols = self.names.len();
        }
        // a stretch without rows prints nothing, unless it is a first header
        out.retain(|s| !s.rows.is_empty() || (s.header && !s.new_block));
        Ok(out)
    }
}

/// Calls `f` with each row of `range` and its index, a block at a time,
/// until it returns false.
fn for_each_row<R: RowSource + ?Sized>(
    rows: &R,
    range: Range<usize>,
    f: &mut dyn FnMut(usize, &Record<'static>) -> bool,
) -> io::Result<()> {
    let mut at = range.start;
    while at < range.end {
        let end = (at + super::BLOCK_ROWS).min(range.end);
        let mut go = true;
        rows.block(at..end, &mut |rs| {
            for (i, r) in (at..).zip(rs) {
                if !f(i, r) {
                    go = false;
                    break;
                }
            }
            Ok(())
        })?;
        if !go {
            break;
        }
        at = end;
    }
    Ok(())
}

/// Whether `row`'s fields are the first of `cols`, in order (checked for
/// every row of every batch).
#[inline]
fn in_order(row: &Record<'_>, cols: &[String]) -> bool {
    let skip = usize::from(row.value.is_some());
    if row.fields.len() + skip > cols.len() || (skip == 1 && cols[0] != "value") {
        return false;
    }
    row.fields
        .iter()
        .zip(&cols[skip..])
        .all(|((n, _), c)| column_name(n) == c.as_str())
}

/// The names of `row`'s fields that have no column in `cols`, in its order.
fn new_fields(row: &Record<'_>, cols: &[String]) -> Vec<String> {
    let mut slots = Vec::new();
    place(row, cols, &mut slots)
        .into_iter()
        .map(|(n, _)| n.to_string())
        .collect()
}

/// Places `row`'s values under `cols`: `slots[i]` is the value of column
/// `i` (None: an empty cell). Returns the fields that have no column, in
/// the row's order (a name the row holds twice needs two columns of that
/// name).
pub fn place<'r, 'a>(
    row: &'r Record<'a>,
    cols: &[String],
    slots: &mut Vec<Option<&'r Value<'a>>>,
) -> Vec<(&'r str, &'r Value<'a>)> {
    slots.clear();
    slots.resize(cols.len(), None);
    let mut new = Vec::new();
    for (j, (name, v)) in row.columns().enumerate() {
        let free = |i: usize, slots: &[Option<&Value<'a>>]| cols[i] == name && slots[i].is_none();
        // the same position first: rows usually come in the columns' order
        let at = if j < cols.len() && free(j, slots) {
            Some(j)
        } else {
            (0..cols.len()).find(|&i| free(i, slots))
        };
        match at {
            Some(i) => slots[i] = Some(v),
            None => new.push((name, v)),
        }
    }
    new
}

/// Where the key and the count of key-count rows (`first`: their two
/// column names) go among `cols`: per column, 0 the key, 1 the count,
/// None an empty cell. None when `cols` lacks one of them.
fn key_count_cells(first: &[String], cols: &[String]) -> Option<Vec<Option<u8>>> {
    let [key, count] = first else { return None };
    let k = cols.iter().position(|c| c == key)?;
    let c = cols
        .iter()
        .enumerate()
        .position(|(i, c)| i != k && c == count)?;
    Some(
        (0..cols.len())
            .map(|i| match i {
                _ if i == k => Some(0),
                _ if i == c => Some(1),
                _ => None,
            })
            .collect(),
    )
}

/// `rows` from `range.start` to `range.end`, as a row source of their own.
struct Part<'r, R: ?Sized> {
    rows: &'r R,
    range: Range<usize>,
}

impl<R: RowSource + ?Sized> Part<'_, R> {
    fn shift(&self, r: Range<usize>) -> Range<usize> {
        r.start + self.range.start..r.end + self.range.start
    }
}

impl<R: RowSource + ?Sized> RowSource for Part<'_, R> {
    fn len(&self) -> usize {
        self.range.len()
    }
    fn block(
        &self,
        range: Range<usize>,
        f: &mut dyn FnMut(&[Record<'static>]) -> io::Result<()>,
    ) -> io::Result<()> {
        self.rows.block(self.shift(range), f)
    }
    fn key_counts(&self, range: Range<usize>) -> Option<&[(&str, u64)]> {
        self.rows.key_counts(self.shift(range))
    }
}

/// A delimited format (`csv`, `tsv`): its columns, header blocks and rows.
pub struct Table<D: Dialect> {
    opts: Options,
    dialect: std::marker::PhantomData<D>,
    /// Header lines are printed (`csv`, `tsv --header`).
    headers: bool,
    cols: Columns,
    /// The blocks' text buffers ([`write_rows`]).
    lines: Vec<String>,
}

impl<D: Dialect> Table<D> {
    pub fn new(opts: Options, headers: bool, known: Option<Vec<String>>) -> Self {
        Table {
            opts,
            dialect: std::marker::PhantomData,
            headers,
            cols: Columns::new(known),
            lines: Vec::new(),
        }
    }

    pub fn carried(&self) -> super::Carried {
        self.cols.carried()
    }

    pub fn carry_on(&mut self, c: super::Carried) {
        self.cols.carry_on(c);
    }

    /// Writes one batch: its header blocks, when there are any, and its rows.
    pub fn write<R: RowSource + ?Sized>(
        &mut self,
        time: Nanos,
        start: Option<Nanos>,
        rows: &R,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let stretches = self.cols.lay_out(rows)?;
        if stretches.is_empty() {
            return Ok(());
        }
        let (sep, escape) = (D::SEP, D::escape);
        let mut time_cell = String::new();
        escape(&mut time_cell, &self.opts.time_text(time));
        if self.opts.with_start {
            time_cell.push(sep);
            escape(&mut time_cell, &self.opts.time_text(start.unwrap_or(time)));
        }
        let mut first: Option<Vec<String>> = None;
        for s in stretches {
            let cols = &self.cols.names()[..s.cols];
            if s.header && self.headers {
                let mut line = String::new();
                if s.new_block {
                    line.push('\n');
                }
                escape(&mut line, "time");
                if self.opts.with_start {
                    line.push(sep);
                    escape(&mut line, "start");
                }
                for name in cols {
                    line.push(sep);
                    escape(&mut line, name);
                }
                line.push('\n');
                out.write_all(line.as_bytes())?;
            }
            if s.rows.is_empty() {
                continue;
            }
            let ordered = s.ordered;
            let part = Part {
                rows,
                range: s.rows,
            };
            let key_cells = if part.key_counts(0..part.len().min(1)).is_some() {
                let first = match &first {
                    Some(f) => f,
                    None => first.insert(first_columns(rows)?),
                };
                key_count_cells(first, cols)
            } else {
                None
            };
            let time_cell = &time_cell;
            write_rows(&part, out, &mut self.lines, |block, line| {
                match block {
                    Block::KeyCounts(pairs) => {
                        let Some(cells) = &key_cells else {
                            return Err(io::Error::other(
                                "key-count rows without their two columns",
                            ));
                        };
                        for (j, &(key, count)) in pairs.iter().enumerate() {
                            // the keys are in the workers' tables, in no
                            // order: a key's line asked for some rows ahead
                            if let Some((ahead, _)) = pairs.get(j + PREFETCH_ROWS) {
                                crate::simd::prefetch(ahead.as_bytes());
                            }
                            line.push_str(time_cell);
                            for cell in cells {
                                line.push(sep);
                                match cell {
                                    Some(0) => escape(line, key),
                                    Some(_) => line.push_str(itoa::Buffer::new().format(count)),
                                    None => {}
                                }
                            }
                            line.push('\n');
                        }
                    }
                    Block::Rows(rs) => {
                        // number text and placed cells, once per block
                        let mut scratch = String::new();
                        for row in rs {
                            line.push_str(time_cell);
                            if ordered {
                                write_ordered::<D>(line, row, cols.len(), &mut scratch);
                            } else {
                                write_cells::<D>(line, row, cols, &mut scratch);
                            }
                            line.push('\n');
                        }
                    }
                }
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// Appends the cells of a row whose fields are the first of `width`
/// columns, in order, each after a separator.
fn write_ordered<D: Dialect>(
    line: &mut String,
    row: &Record<'_>,
    width: usize,
    scratch: &mut String,
) {
    let mut i = 0;
    for (_, v) in row.columns() {
        line.push(D::SEP);
        write_cell::<D>(line, v, scratch);
        i += 1;
    }
    for _ in i..width {
        line.push(D::SEP);
    }
}

/// Appends `row`'s cells under `cols`, each after a separator.
fn write_cells<D: Dialect>(
    line: &mut String,
    row: &Record<'_>,
    cols: &[String],
    scratch: &mut String,
) {
    // the usual case: the row's fields are the columns, in order
    let start = line.len();
    let mut i = 0;
    for (name, v) in row.columns() {
        if cols.get(i).is_none_or(|c| c != name) {
            i = usize::MAX;
            break;
        }
        line.push(D::SEP);
        write_cell::<D>(line, v, scratch);
        i += 1;
    }
    if i != usize::MAX {
        for _ in i..cols.len() {
            line.push(D::SEP);
        }
        return;
    }
    line.truncate(start);
    let mut slots = Vec::new();
    place(row, cols, &mut slots);
    for v in slots {
        line.push(D::SEP);
        if let Some(v) = v {
            write_cell::<D>(line, v, scratch);
        }
    }
}

/// Appends one value as a cell: text escaped, numbers in the SPEC's
/// format, null as nothing.
#[inline(always)]
fn write_cell<D: Dialect>(line: &mut String, v: &Value<'_>, scratch: &mut String) {
    match v {
        Value::Str(s) => D::escape(line, s),
        // digits and a sign never need escaping
        Value::Int(i) => line.push_str(itoa::Buffer::new().format(*i)),
        Value::Null => {}
        _ => {
            scratch.clear();
            v.write_text(scratch);
            D::escape(line, scratch);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::sink::csv::Csv;
    use crate::sink::testing::{T, opts, render, render_at};
    use crate::sink::tsv::Tsv;
    use crate::sink::{BatchOut, Formatter, Options};

    /// A row of these fields, each value its name upper-cased (`_` as `V`).
    fn row(names: &[&'static str]) -> Record<'static> {
        let mut r = Record::row(Vec::new());
        for n in names {
            let v = Value::owned_str(n.to_uppercase());
            if *n == "_" {
                r.value = Some(Value::str("V"));
            } else {
                r.fields.push((Cow::Borrowed(*n), v));
            }
        }
        r
    }

    fn strip(text: String) -> String {
        text.replace("2026-11-24T01:02:04Z", "T")
            .replace("2026-11-24T01:02:05Z", "U")
    }

    #[test]
    fn columns_first_batch_is_the_union_in_order_first_seen() {
        let mut f = Csv::new(opts(), None);
        let rows = [row(&["a", "b"]), row(&["b", "c"]), row(&["c"])];
        assert_eq!(
            strip(render(&mut f, &rows)),
            "time,a,b,c\nT,A,B,\nT,,B,C\nT,,,C\n"
        );
    }

    #[test]
    fn columns_a_new_field_starts_a_header_block_a_missing_one_does_not() {
        let mut f = Csv::new(opts(), None);
        assert_eq!(
            strip(render(&mut f, &[row(&["a", "b"])])),
            "time,a,b\nT,A,B\n"
        );
        let next = [
            row(&["b"]),
            row(&["c", "b"]),
            row(&["a"]),
            row(&["d", "e", "a"]),
        ];
        assert_eq!(
            strip(render_at(&mut f, T + 1_000_000_000, None, &next)),
            "U,,B\n\
             \ntime,a,b,c\nU,,B,C\nU,A,,\n\
             \ntime,a,b,c,d,e\nU,A,,,D,E\n"
        );
        // the columns stay as they grew
        assert_eq!(strip(render(&mut f, &[row(&["e"])])), "T,,,,,E\n");
    }

    #[test]
    fn columns_tsv_without_header_lays_cells_out_alike_with_no_empty_line() {
        let mut f = Tsv::new(opts(), None);
        assert_eq!(
            strip(render(&mut f, &[row(&["a"]), row(&["b"])])),
            "T\tA\t\nT\t\tB\n"
        );
        assert_eq!(strip(render(&mut f, &[row(&["c", "a"])])), "T\tA\t\tC\n");
        let mut h = Tsv::new(
            Options {
                header: true,
                ..opts()
            },
            None,
        );
        render(&mut h, &[row(&["a"])]);
        assert_eq!(
            strip(render(&mut h, &[row(&["b"])])),
            "\ntime\ta\tb\nT\t\tB\n"
        );
    }

    #[test]
    fn columns_known_ones_head_even_an_empty_batch_and_place_by_name() {
        let known = Some(vec!["a".to_string(), "b".to_string(), "c".to_string()]);
        let mut f = Csv::new(opts(), known.clone());
        assert_eq!(strip(render(&mut f, &[])), "time,a,b,c\n");
        assert_eq!(strip(render(&mut f, &[])), "");
        assert_eq!(
            strip(render(&mut f, &[row(&["c", "a"]), row(&["b"])])),
            "T,A,,C\nT,,B,\n"
        );
        // plain tsv has no header to print for an empty batch
        assert_eq!(render(&mut Tsv::new(opts(), known), &[]), "");
        // unknown columns wait for a batch with rows
        let mut f = Csv::new(opts(), None);
        assert_eq!(render(&mut f, &[]), "");
        assert_eq!(strip(render(&mut f, &[row(&["x"])])), "time,x\nT,X\n");
    }

    #[test]
    fn columns_a_name_held_twice_takes_two_columns() {
        // `_` prints as `value`, beside a field named `value`
        let mut f = Csv::new(opts(), None);
        let both = row(&["_", "value"]);
        assert_eq!(
            strip(render(&mut f, &[both.clone(), row(&["value"])])),
            "time,value,value\nT,V,VALUE\nT,VALUE,\n"
        );
        let mut slots = Vec::new();
        let cols = ["value".to_string()];
        let new: Vec<&str> = place(&both, &cols, &mut slots)
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(new, ["value"]);
    }

    /// Key-count rows read from their pairs (no rows made) lay out as the
    /// same rows made first would.
    #[test]
    fn columns_key_count_pairs_lay_out_as_rows() {
        struct Pairs(Vec<(&'static str, u64)>, Vec<Record<'static>>);
        impl RowSource for Pairs {
            fn len(&self) -> usize {
                self.0.len()
            }
            fn block(
                &self,
                range: Range<usize>,
                f: &mut dyn FnMut(&[Record<'static>]) -> io::Result<()>,
            ) -> io::Result<()> {
                f(&self.1[range])
            }
            fn key_counts(&self, range: Range<usize>) -> Option<&[(&str, u64)]> {
                self.0.get(range)
            }
        }
        let pairs = vec![("a,b", 2), ("c", 1)];
        let rows: Vec<Record<'static>> = pairs
            .iter()
            .map(|&(k, c)| {
                Record::row(vec![
                    (Cow::Borrowed("key"), Value::str(k)),
                    (Cow::Borrowed("count"), Value::Int(c as i64)),
                ])
            })
            .collect();
        let src = Pairs(pairs, rows.clone());
        for known in [
            None,
            Some(vec!["key".to_string(), "count".to_string()]),
            Some(vec![
                "count".to_string(),
                "x".to_string(),
                "key".to_string(),
            ]),
        ] {
            for header in [false, true] {
                let o = Options { header, ..opts() };
                let mut lazy = Vec::new();
                Tsv::new(o, known.clone())
                    .batch_lazy(T, None, &src, &mut lazy)
                    .expect("writing to memory");
                let made = render(&mut Tsv::new(o, known.clone()), &rows);
                assert_eq!(String::from_utf8_lossy(&lazy), made);
                let mut lazy = Vec::new();
                Csv::new(opts(), known.clone())
                    .batch_lazy(T, None, &src, &mut lazy)
                    .expect("writing to memory");
                let made = render(&mut Csv::new(opts(), known.clone()), &rows);
                assert_eq!(String::from_utf8_lossy(&lazy), made);
            }
        }
        let mut out = Vec::new();
        Csv::new(opts(), Some(vec!["count".into(), "x".into(), "key".into()]))
            .batch_lazy(T, None, &src, &mut out)
            .expect("writing to memory");
        assert_eq!(
            strip(String::from_utf8_lossy(&out).into_owned()),
            "time,count,x,key\nT,2,,\"a,b\"\nT,1,,c\n"
        );
    }

    /// A batch large enough to be formatted on a pool, with rows of new
    /// fields here and there: byte for byte what one thread writes.
    #[test]
    fn columns_header_blocks_in_a_pool_equal_one_thread() {
        let n = crate::sink::PAR_FORMAT_ROWS * 2 + 7;
        let rows: Vec<Record<'static>> = (0..n)
            .map(|i| match i {
                5000 => row(&["a", "b", "c"]),
                12000 => row(&["d", "a"]),
                _ if i % 3 == 0 => row(&["b"]),
                _ => row(&["a", "b"]),
            })
            .collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("a pool");
        for header in [false, true] {
            let o = Options { header, ..opts() };
            let b = |rows| BatchOut::new(T, None, rows);
            let mut one = Vec::new();
            let mut f = Tsv::new(o, None);
            f.batch(&b(&rows[..1]), &mut one).expect("memory");
            f.batch(&b(&rows), &mut one).expect("memory");
            let mut many = Vec::new();
            let mut f = Tsv::new(o, None);
            f.batch(&b(&rows[..1]), &mut many).expect("memory");
            pool.install(|| f.batch(&b(&rows), &mut many))
                .expect("memory");
            assert!(one == many);
            let text = String::from_utf8_lossy(&one);
            let blocks = text.matches("\n\ntime").count();
            // `a` after the first batch's `b`, then `c`, then `d`
            assert_eq!(blocks, if header { 3 } else { 0 });
            // every line under a header has as many cells as it
            let mut width = None;
            for line in text.lines() {
                if line.is_empty() {
                    continue;
                }
                let cells = line.split('\t').count();
                if line.starts_with("time") {
                    width = Some(cells);
                } else if let Some(w) = width {
                    assert_eq!(cells, w, "{line}");
                }
            }
        }
    }
}
