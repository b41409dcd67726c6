//! `count-by-key [FIELD...]`: how many records per distinct key (default
//! `_`, printed as `key`); rows by count descending, then key ascending in
//! `sort`'s order.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use clap::{Arg, ArgAction, ArgMatches};

use crate::agg::key::{Key, KeyRef, MISSING, Map};
use crate::agg::limit::{KeyLimit, OTHER};
use crate::agg::textmap::{PAR_ROWS, TextCounts};
use crate::agg::{AggState, Aggregation, same};
use crate::ops::{BuildCx, Built, Operator, Stage};
use crate::record::{CURRENT, Name, Record, column_name};
use crate::sink::RowSource;
use crate::value::{SortKey, Text, Value};

pub struct CountByKey;

impl Operator for CountByKey {
    fn name(&self) -> &'static str {
        "count-by-key"
    }
    fn summary(&self) -> &'static str {
        "Count records per distinct key (Spark's countByValue / reduceByKey)"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new("fields")
                .value_name("FIELD")
                .action(ArgAction::Append)
                .help("Key fields (default: _, printed as 'key'); commas also separate"),
        )
        .after_help(
            "Output fields: the key fields, then count. Rows by count descending, then key \
             ascending. Past --max-keys distinct keys (default 1000000) in a batch or window, \
             records with further keys are counted in one last row whose key fields read \
             (other).\n\nExamples:\n  spate -b eof split then count-by-key\n  \
             spate parse '(?P<ip>\\S+) .*\" (?P<status>\\d{3}) ' then count-by-key ip status",
        )
    }
    fn stage(&self) -> Stage {
        Stage::Aggregation
    }
    fn fields(&self, m: &ArgMatches) -> Vec<String> {
        crate::ops::listed(m, "fields")
    }
    fn build(&self, m: &ArgMatches, cx: &BuildCx) -> Result<Built, String> {
        let mut fields = Vec::new();
        for f in m.get_many::<String>("fields").into_iter().flatten() {
            fields.extend(crate::ops::name_list(f)?);
        }
        if fields.is_empty() {
            fields.push(CURRENT.to_string());
        }
        let columns = fields
            .iter()
            .map(|f| {
                if f == CURRENT {
                    Cow::Borrowed("key")
                } else {
                    Cow::Owned(f.clone())
                }
            })
            .collect();
        Ok(Built::Aggregation(Box::new(CountByKeyAgg {
            fields,
            columns,
            hint: Arc::default(),
            limit: Arc::clone(&cx.keys),
            spare: Arc::default(),
        })))
    }
}

pub struct CountByKeyAgg {
    fields: Vec<String>,
    /// The rows' column names: `key` for `_`, else the field's name.
    columns: Vec<Name<'static>>,
    /// How many text keys the last emitted state had: the next batch's
    /// table starts that large instead of growing (and rehashing) again.
    hint: Arc<AtomicUsize>,
    limit: Arc<KeyLimit>,
    spare: Spare,
}

/// Rows of an earlier batch, given back once written: the next batch's
/// text rows overwrite their key strings and counts in place. A live
/// word count makes some 50,000 rows a batch; allocating and freeing two
/// blocks for each was a third of closing the batch.
type Spare = Arc<Mutex<Vec<Record<'static>>>>;

impl Aggregation for CountByKeyAgg {
    fn new_state(&self) -> Box<dyn AggState> {
        Box::new(Counts {
            fields: self.fields.clone(),
            columns: self.columns.clone(),
            map: Map::default(),
            text: TextCounts::with_capacity(self.hint.load(Ordering::Relaxed)),
            hint: Arc::clone(&self.hint),
            limit: Arc::clone(&self.limit),
            other: 0,
            quoted: false,
            spare: Arc::clone(&self.spare),
        })
    }

    fn columns(&self) -> Option<Vec<String>> {
        let keys = self.columns.iter().map(|c| column_name(c).to_string());
        Some(keys.chain(["count".to_string()]).collect())
    }

    fn recycle(&self, rows: Vec<Record<'static>>) -> Vec<Record<'static>> {
        match self.spare.lock() {
            // the larger set is kept
            Ok(mut spare) if spare.len() < rows.len() => std::mem::replace(&mut *spare, rows),
            _ => rows,
        }
    }
}

struct Counts {
    fields: Vec<String>,
    /// Column names; `key` (the default) is borrowed, so its rows copy no
    /// name, and a named field's is copied into each row, as `stats` does.
    columns: Vec<Name<'static>>,
    hint: Arc<AtomicUsize>,
    /// `--max-keys`: past it, records with a new key are only counted in
    /// `other`, the `(other)` row.
    limit: Arc<KeyLimit>,
    other: u64,
    map: Map<Key, u64>,
    /// One text key field, the common case (words, statuses, services):
    /// keyed by the text itself, one indirection less per lookup.
    text: TextCounts,
    /// Some text key was a JSON string: the text keys' rows hold JSON
    /// strings (`jsonl` keeps `"3"` a string), as the table keeps only
    /// the characters. Mixed kinds in one key column are rare; the JSON
    /// string wins, whatever the order, so the output stays the same.
    quoted: bool,
    spare: Spare,
}

impl Counts {
    /// The rows of text-keyed entries, in order: an earlier batch's rows
    /// overwritten where there are any.
    fn text_rows(&self, text: &[(&str, u64)], quoted: bool) -> Vec<Record<'static>> {
        let mut rows = match self.spare.lock() {
            Ok(mut spare) => std::mem::take(&mut *spare),
            Err(_) => Vec::new(),
        };
        rows.truncate(text.len());
        let (old, new) = text.split_at(rows.len());
        if rayon::current_thread_index().is_some() && text.len() >= PAR_ROWS {
            use rayon::prelude::*;
            rows.par_iter_mut()
                .zip(old)
                .for_each(|(r, &(t, c))| self.refill(r, t, c, quoted));
            rows.par_extend(new.par_iter().map(|&(t, c)| self.text_row(t, c, quoted)));
            return rows;
        }
        for (r, &(t, c)) in rows.iter_mut().zip(old) {
            self.refill(r, t, c, quoted);
        }
        rows.extend(new.iter().map(|&(t, c)| self.text_row(t, c, quoted)));
        rows
    }

    /// Makes `r` the row of a text key, reusing its memory when it is
    /// such a row already.
    fn refill(&self, r: &mut Record<'static>, key: &str, count: u64, quoted: bool) {
        if let (
            [
                (
                    name,
                    Value::Str(Text {
                        s: Cow::Owned(k),
                        quoted: q,
                    }),
                ),
                (cname, Value::Int(c)),
            ],
            Some(col),
        ) = (r.fields.as_mut_slice(), self.columns.first())
        {
            if name == col && cname == "count" && r.value.is_none() {
                k.clear();
                k.push_str(key);
                *q = quoted;
                *c = count as i64;
                return;
            }
        }
        *r = self.text_row(key, count, quoted);
    }

    /// The rows: count descending, then key ascending in `sort`'s order;
    /// the text-keyed entries come sorted from their table.
    fn rows(&self) -> Vec<Record<'static>> {
        // sort keys computed once per row, not per comparison
        let mut general: Vec<(u64, Vec<SortKey<'_>>, &Key)> = self
            .map
            .iter()
            .map(|(k, c)| (*c, k.0.iter().map(SortKey::of).collect(), k))
            .collect();
        general.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let text = self.text.sorted();
        if general.is_empty() {
            return self.text_rows(&text, self.quoted);
        }
        // merge the two sorted runs
        let mut out = Vec::with_capacity(text.len() + general.len());
        let (mut i, mut j) = (0, 0);
        while i < text.len() || j < general.len() {
            let take_text = match (text.get(i), general.get(j)) {
                (Some(&(t, tc)), Some((gc, gk, _))) => {
                    let tk = SortKey::of_text(t);
                    gc.cmp(&tc)
                        .then_with(|| std::slice::from_ref(&tk).cmp(&gk[..]))
                        != std::cmp::Ordering::Greater
                }
                (Some(_), None) => true,
                _ => false,
            };
            if take_text {
                let (t, c) = text[i];
                out.push(self.text_row(t, c, self.quoted));
                i += 1;
            } else {
                let (c, _, k) = &general[j];
                out.push(self.row(k.0.to_vec(), *c));
                j += 1;
            }
        }
        out
    }

    /// The row of a text key (one key column).
    fn text_row(&self, key: &str, count: u64, quoted: bool) -> Record<'static> {
        let mut fields: Vec<(Cow<'static, str>, Value<'static>)> = Vec::with_capacity(2);
        if let Some(n) = self.columns.first() {
            let key = Text {
                s: Cow::Owned(key.to_owned()),
                quoted,
            };
            fields.push((n.clone(), Value::Str(key)));
        }
        fields.push((Cow::Borrowed("count"), Value::Int(count as i64)));
        Record::row(fields)
    }

    fn row(&self, key: Vec<Value<'static>>, count: u64) -> Record<'static> {
        let mut fields: Vec<(Cow<'static, str>, Value<'static>)> =
            Vec::with_capacity(self.columns.len() + 1);
        fields.extend(self.columns.iter().zip(key).map(|(n, v)| (n.clone(), v)));
        fields.push((Cow::Borrowed("count"), Value::Int(count as i64)));
        Record::row(fields)
    }

    /// Whether a new key may still get a row of its own.
    #[inline]
    fn room(&self) -> bool {
        self.map.len() + self.text.len() < self.limit.max
    }

    fn bump_text(&mut self, t: &str, n: u64) {
        let room = self.room();
        if !self.text.add_if_room(t, n, room) {
            self.other += n;
        }
    }

    fn bump(&mut self, key: &[&Value<'_>], n: u64) {
        let r = KeyRef(key);
        let room = self.room();
        match self.map.get_mut(&r) {
            Some(c) => *c += n,
            None if room => {
                self.map.insert(r.to_key(), n);
            }
            None => self.other += n,
        }
    }

    /// The `(other)` row last, whatever its count, so that `head` and
    /// `top` see the real keys first; and the overflow tallied for the
    /// summary.
    fn with_other(&self, rows: Vec<Record<'static>>, other: u64) -> Vec<Record<'static>> {
        self.note_other(other);
        self.with_other_row(rows, other)
    }

    /// A result with an `(other)` row of `other` records, for the summary.
    fn note_other(&self, other: u64) {
        if other > 0 {
            self.limit.note("count-by-key", other);
        }
    }

    /// `rows` and the `(other)` row, when there is one.
    fn with_other_row(&self, mut rows: Vec<Record<'static>>, other: u64) -> Vec<Record<'static>> {
        if other > 0 {
            let key = self.columns.iter().map(|_| Value::str(OTHER)).collect();
            rows.push(self.row(key, other));
        }
        rows
    }

    /// The text keys of this state and `parts` taken together, sorted,
    /// their `(other)` count and whether some key was a JSON string: the
    /// parts' tables read side by side, unless a key other than text is
    /// counted or the keys together could pass --max-keys (merging decides
    /// then which keys keep a row).
    fn union<'s>(&'s self, parts: &'s [Box<dyn AggState>]) -> Option<Union<'s>> {
        let all: Vec<&Counts> = std::iter::once(self)
            .chain(
                parts
                    .iter()
                    .map(|p| same::<Counts>(p.as_ref(), "count-by-key")),
            )
            .collect();
        let keys: usize = all.iter().map(|c| c.map.len() + c.text.len()).sum();
        if keys > self.limit.max || all.iter().any(|c| !c.map.is_empty()) {
            return None;
        }
        let tables: Vec<&TextCounts> = all.iter().map(|c| &c.text).collect();
        let text = TextCounts::sorted_union(&tables);
        self.hint.fetch_max(text.len(), Ordering::Relaxed);
        let other = all.iter().fold(0u64, |a, c| a.saturating_add(c.other));
        let quoted = all.iter().any(|c| c.quoted);
        Some((text, other, quoted))
    }
}

/// What [`Counts::union`] gives: the sorted keys, the `(other)` count,
/// whether a key was a JSON string.
type Union<'s> = (Vec<(&'s str, u64)>, u64, bool);

thread_local! {
    /// A thread's rows for [`CountRows`]: refilled block after block, so
    /// they stay in its cache.
    static SCRATCH: RefCell<Vec<Record<'static>>> = const { RefCell::new(Vec::new()) };
}

/// A batch's count rows made as the output formats them: the sorted keys
/// of the workers' tables, a block at a time made into the formatting
/// thread's own rows ([`SCRATCH`]), instead of a row per key made first
/// (tens of thousands of rows written, then read back cold).
struct CountRows<'s> {
    counts: &'s Counts,
    keys: Vec<(&'s str, u64)>,
    other: u64,
    quoted: bool,
}

impl RowSource for CountRows<'_> {
    fn len(&self) -> usize {
        self.keys.len() + usize::from(self.other > 0)
    }

    fn block(
        &self,
        range: Range<usize>,
        f: &mut dyn FnMut(&[Record<'static>]) -> io::Result<()>,
    ) -> io::Result<()> {
        // taken out while in use: nothing else on this thread sees it
        let mut rows = SCRATCH.with(|s| s.take());
        rows.truncate(range.len());
        let keys = self
            .keys
            .get(range.start..range.end.min(self.keys.len()))
            .unwrap_or_default();
        let reused = rows.len().min(keys.len());
        for (r, &(t, c)) in rows.iter_mut().zip(&keys[..reused]) {
            self.counts.refill(r, t, c, self.quoted);
        }
        rows.truncate(keys.len());
        rows.extend(
            keys[reused..]
                .iter()
                .map(|&(t, c)| self.counts.text_row(t, c, self.quoted)),
        );
        if range.end > self.keys.len() {
            rows = self.counts.with_other_row(rows, self.other);
        }
        let done = f(&rows);
        SCRATCH.with(|s| s.replace(rows));
        done
    }

    fn key_counts(&self, range: Range<usize>) -> Option<&[(&str, u64)]> {
        // one key column, of text that was no JSON string, and not the
        // (other) row
        if self.counts.columns.len() != 1 || self.quoted {
            return None;
        }
        self.keys.get(range)
    }
}

impl AggState for Counts {
    fn add(&mut self, rec: &Record<'_>) {
        if let [f] = self.fields.as_slice() {
            // the hot path: one key field, usually present as is
            if let Some(v) = rec.get(f) {
                match v {
                    Value::Str(t) => {
                        self.quoted |= t.quoted;
                        self.bump_text(t, 1)
                    }
                    _ => self.bump(&[v], 1),
                }
                return;
            }
            match rec.lookup(f).as_deref() {
                Some(Value::Str(t)) => {
                    self.quoted |= t.quoted;
                    self.bump_text(t, 1)
                }
                v => self.bump(&[v.unwrap_or(&MISSING)], 1),
            }
            return;
        }
        let vals: Vec<Option<Cow<'_, Value<'_>>>> =
            self.fields.iter().map(|f| rec.lookup(f)).collect();
        let refs: Vec<&Value<'_>> = vals
            .iter()
            .map(|v| v.as_deref().unwrap_or(&MISSING))
            .collect();
        self.bump(&refs, 1);
    }

    fn merge(&mut self, other: &dyn AggState) {
        let o: &Counts = same(other, "count-by-key");
        // never more keys than the bound, whatever the parts held
        let free = self
            .limit
            .max
            .saturating_sub(self.map.len() + self.text.len());
        self.map.reserve(o.map.len().min(free));
        for (k, c) in &o.map {
            let room = self.room();
            match self.map.get_mut(k) {
                Some(mine) => *mine += c,
                None if room => {
                    self.map.insert(k.clone(), *c);
                }
                None => self.other += c,
            }
        }
        self.text.reserve(o.text.len().min(free));
        for (t, c) in o.text.iter() {
            self.bump_text(t, c);
        }
        self.other += o.other;
        self.quoted |= o.quoted;
    }

    fn add_ascii_words(&mut self, block: &[u8]) -> Option<(u64, u64, u64)> {
        if !matches!(self.fields.as_slice(), [f] if f == CURRENT) {
            return None;
        }
        let limit = self.limit.max;
        let map_len = self.map.len();
        let (text, other) = (&mut self.text, &mut self.other);
        let mut n = 0u64;
        let (with, without) = crate::ops::split::ascii_words_lines(block, |t| {
            let room = map_len + text.len() < limit;
            if !text.add_bytes_if_room(t, 1, room) {
                *other += 1;
            }
            n += 1;
        });
        Some((with, without, n))
    }

    fn add_current_ascii(&mut self, text: &[u8]) {
        if let [f] = self.fields.as_slice() {
            if f == CURRENT {
                let room = self.room();
                if !self.text.add_bytes_if_room(text, 1, room) {
                    self.other += 1;
                }
                return;
            }
        }
        if let Ok(t) = std::str::from_utf8(text) {
            self.add_current(t);
        }
    }

    fn add_current(&mut self, text: &str) {
        if let [f] = self.fields.as_slice() {
            if f == CURRENT {
                self.bump_text(text, 1);
                return;
            }
        }
        self.add(&Record::from_line(Cow::Borrowed(text), text));
    }

    fn emit(&self, _emit_empty: bool) -> Vec<Record<'static>> {
        self.with_other(self.rows(), self.other)
    }

    fn into_rows(self: Box<Self>, _emit_empty: bool) -> Vec<Record<'static>> {
        self.hint.fetch_max(self.text.len(), Ordering::Relaxed);
        self.with_other(self.rows(), self.other)
    }

    fn merge_into_rows(
        self: Box<Self>,
        parts: Vec<Box<dyn AggState>>,
        emit_empty: bool,
    ) -> Vec<Record<'static>> {
        let Some((text, other, quoted)) = self.union(&parts) else {
            let mut me = self;
            for p in parts {
                me.merge(p.as_ref());
            }
            return me.into_rows(emit_empty);
        };
        self.with_other(self.text_rows(&text, quoted), other)
    }

    fn lazy_rows<'s>(&'s self, parts: &'s [Box<dyn AggState>]) -> Option<Box<dyn RowSource + 's>> {
        let (keys, other, quoted) = self.union(parts)?;
        self.note_other(other);
        Some(Box::new(CountRows {
            counts: self,
            keys,
            other,
            quoted,
        }))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty() && self.text.is_empty() && self.other == 0
    }

    fn rows_hint(&self) -> usize {
        self.map.len() + self.text.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::aggregation_capped;

    /// Rows as `key,...=count` text.
    fn show(rows: &[Record<'static>]) -> Vec<String> {
        rows.iter()
            .map(|r| {
                let vals: Vec<String> = r.columns().map(|(_, v)| v.text().into_owned()).collect();
                vals.join(",")
            })
            .collect()
    }

    #[test]
    fn count_by_key_max_keys_folds_new_keys_into_other() {
        let (a, keys) = aggregation_capped(&["count-by-key"], 2).expect("valid count-by-key");
        let mut s = a.new_state();
        for w in ["a", "b", "a", "c", "d", "b", "c", "a"] {
            s.add_current(w);
        }
        // a and b came first and keep their rows; c, c, d overflow, last
        assert_eq!(show(&s.emit(false)), ["a,3", "b,2", "(other),3"]);
        let o = keys.overflow();
        assert_eq!((o.results, o.records), (1, 3));
    }

    #[test]
    fn count_by_key_max_keys_holds_for_several_fields_and_non_text() {
        let (a, _) =
            aggregation_capped(&["count-by-key", "x", "y"], 1).expect("valid count-by-key");
        let mut s = a.new_state();
        for (x, y) in [(1, "p"), (2, "q"), (1, "p"), (3, "r")] {
            s.add(&Record::row(vec![
                (Cow::Borrowed("x"), Value::Int(x)),
                (Cow::Borrowed("y"), Value::str(y)),
            ]));
        }
        assert_eq!(show(&s.emit(false)), ["1,p,2", "(other),(other),2"]);
    }

    #[test]
    fn count_by_key_merge_respects_max_keys() {
        let (a, keys) = aggregation_capped(&["count-by-key"], 3).expect("valid count-by-key");
        let mut x = a.new_state();
        let mut y = a.new_state();
        for w in ["a", "b", "c", "d"] {
            x.add_current(w);
        }
        for w in ["c", "e", "f", "f"] {
            y.add_current(w);
        }
        // x: a b c + (other) 1; y: c e f(2)
        x.merge(y.as_ref());
        let rows = show(&x.into_rows(false));
        assert_eq!(rows, ["c,2", "a,1", "b,1", "(other),4"]);
        assert_eq!(keys.overflow().records, 4);
        // what every row counts still adds up to the records
        let total: u64 = rows
            .iter()
            .map(|r| r.rsplit(',').next().unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(total, 8);
    }

    /// The parts' states made into rows at once (the engine's close)
    /// equal merging them first: text keys, numbers and other values,
    /// with and without --max-keys overflow, on one thread and in a pool.
    #[test]
    fn count_by_key_merge_into_rows_equals_merging_first() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("a pool");
        let words: Vec<String> = (0..20_000).map(|i| format!("w{}", i % 9_000)).collect();
        for max_keys in [3, 8_999, 1_000_000] {
            for with_ints in [false, true] {
                for in_pool in [false, true] {
                    let (a, _) = aggregation_capped(&["count-by-key"], max_keys)
                        .expect("valid count-by-key");
                    let parts = || {
                        let mut p = vec![a.new_state(), a.new_state(), a.new_state()];
                        for (i, w) in words.iter().enumerate() {
                            p[i % 3].add_current(w);
                            if i % 5 == 0 {
                                p[(i + 1) % 3].add_current(w);
                            }
                        }
                        if with_ints {
                            p[1].add(&Record::row(vec![(Cow::Borrowed("_"), Value::Int(7))]));
                        }
                        p
                    };
                    let mut want = parts();
                    let mut first = want.remove(0);
                    for p in want {
                        first.merge(p.as_ref());
                    }
                    let want = show(&first.into_rows(false));
                    let mut got = parts();
                    let first = got.remove(0);
                    let got = if in_pool {
                        pool.install(move || first.merge_into_rows(got, false))
                    } else {
                        first.merge_into_rows(got, false)
                    };
                    let got = show(&got);
                    let sum = |rows: &[String]| -> u64 {
                        rows.iter()
                            .filter_map(|r| r.rsplit(',').next()?.parse::<u64>().ok())
                            .sum()
                    };
                    let case = format!("max_keys {max_keys}, ints {with_ints}, pool {in_pool}");
                    if max_keys < 9_001 {
                        // past the bound, which keys keep a row depends on
                        // the tables' order: the counts still add up
                        assert_eq!(sum(&got), sum(&want), "{case}");
                        assert_eq!(got.len(), want.len(), "{case}");
                        let other = |rows: &[String]| {
                            rows.last().is_some_and(|r| r.starts_with("(other),"))
                        };
                        assert!(other(&got) && other(&want), "{case}");
                    } else {
                        let first_diff = got.iter().zip(&want).position(|(g, w)| g != w);
                        assert_eq!(first_diff, None, "{case}");
                        assert_eq!(got.len(), want.len(), "{case}");
                    }
                }
            }
        }
    }

    /// Rows given back are overwritten for the next batch: the next
    /// batch's rows are the same as fresh ones, whether it has more rows
    /// or fewer, and a row changed after the aggregation (renamed, more
    /// fields) is not taken for a row of its own.
    #[test]
    fn count_by_key_recycled_rows_equal_fresh_ones() {
        let (a, _) =
            aggregation_capped(&["count-by-key", "word"], 1_000_000).expect("valid count-by-key");
        let batch = |words: &[&str]| {
            let mut s = a.new_state();
            for w in words {
                s.add(&Record::row(vec![(Cow::Borrowed("word"), Value::str(w))]));
            }
            s
        };
        let mut first = batch(&["a", "b", "b", "c", "d"]).into_rows(false);
        first[0].fields[1].0 = Cow::Borrowed("n");
        first[1]
            .fields
            .push((Cow::Borrowed("extra"), Value::Int(1)));
        assert!(a.recycle(first).is_empty(), "the first rows are kept");
        let second = ["x", "a", "y", "y", "y", "z"];
        let got = batch(&second).into_rows(false);
        let (fresh, _) =
            aggregation_capped(&["count-by-key", "word"], 1_000_000).expect("valid count-by-key");
        let mut s = fresh.new_state();
        for w in second {
            s.add(&Record::row(vec![(Cow::Borrowed("word"), Value::str(w))]));
        }
        let want = s.into_rows(false);
        assert_eq!(show(&got), show(&want));
        let names = |rows: &[Record<'static>]| -> Vec<Vec<String>> {
            rows.iter()
                .map(|r| r.columns().map(|(n, _)| n.to_string()).collect())
                .collect()
        };
        assert_eq!(names(&got), names(&want));
        // fewer rows than were given back
        let fewer = a.recycle(got);
        assert!(fewer.len() <= 5);
        assert_eq!(show(&batch(&["q"]).into_rows(false)), ["q,1"]);
    }

    /// Rows made a block at a time as they are formatted (`lazy_rows`)
    /// are the rows `merge_into_rows` makes, however the blocks are cut,
    /// the `(other)` row included.
    #[test]
    fn count_by_key_lazy_rows_equal_merged_rows() {
        // (max keys, keys of the first part, keys of the second)
        for (max, a_keys, b_keys) in [(1_000_000, 0..3000, 1500..5000), (10, 0..12, 0..0)] {
            let (a, _) = aggregation_capped(&["count-by-key"], max).expect("valid count-by-key");
            let parts = || {
                let (mut p, mut q) = (a.new_state(), a.new_state());
                for i in a_keys.clone() {
                    for _ in 0..1 + i % 4 {
                        p.add_current(&format!("w{i}"));
                    }
                }
                for i in b_keys.clone() {
                    q.add_current(&format!("w{i}"));
                }
                (p, q)
            };
            let (p, q) = parts();
            let want = p.merge_into_rows(vec![q], false);
            let (p, q) = parts();
            let rest = vec![q];
            let lazy = p.lazy_rows(&rest).expect("text keys within --max-keys");
            assert_eq!(lazy.len(), want.len());
            for size in [1, 2, 7, 1000, 4096] {
                let mut got = Vec::new();
                for at in (0..lazy.len()).step_by(size) {
                    let range = at..(at + size).min(lazy.len());
                    lazy.block(range, &mut |rows| {
                        got.extend(rows.iter().cloned());
                        Ok(())
                    })
                    .expect("no output error");
                }
                assert_eq!(show(&got), show(&want), "blocks of {size}");
                // the same rows as pairs, where a block has no (other) row
                let mut pairs = Vec::new();
                for at in (0..lazy.len()).step_by(size) {
                    let range = at..(at + size).min(lazy.len());
                    match lazy.key_counts(range.clone()) {
                        Some(p) => pairs.extend(p.iter().map(|(k, c)| format!("{k},{c}"))),
                        None => lazy
                            .block(range, &mut |rows| {
                                assert!(
                                    rows.iter().any(
                                        |r| show(std::slice::from_ref(r))[0].starts_with(OTHER)
                                    )
                                );
                                pairs.extend(show(rows));
                                Ok(())
                            })
                            .expect("no output error"),
                    }
                }
                assert_eq!(pairs, show(&want), "pairs in blocks of {size}");
                let names = |r: &Record<'static>| -> Vec<String> {
                    r.columns().map(|(n, _)| n.to_string()).collect()
                };
                assert!(got.iter().zip(&want).all(|(g, w)| names(g) == names(w)));
            }
            if max == 10 {
                assert_eq!(show(&want).last().map(String::as_str), Some("(other),7"));
            }
        }
    }

    /// Text keys that were JSON strings stay JSON strings in the rows,
    /// whichever part saw them and whichever path makes the rows; other
    /// text keys are made text.
    #[test]
    fn count_by_key_keeps_json_string_keys_quoted() {
        let agg = crate::ops::aggregation(&["count-by-key", "s"]).expect("valid");
        let rec = |v: Value<'static>| Record::row(vec![(Cow::Borrowed("s"), v)]);
        let quoted = |rows: &[Record<'static>]| -> Vec<bool> {
            rows.iter()
                .map(|r| matches!(r.get("s"), Some(Value::Str(t)) if t.quoted))
                .collect()
        };
        let mut a = agg.new_state();
        a.add(&rec(Value::str("200")));
        assert_eq!(quoted(&a.emit(false)), [false]);
        let mut b = agg.new_state();
        b.add(&rec(Value::json_str(Cow::Borrowed("3"))));
        a.add(&rec(Value::str("200")));
        // merged first, or made from the parts side by side
        let mut merged = agg.new_state();
        merged.merge(a.as_ref());
        merged.merge(b.as_ref());
        assert_eq!(quoted(&merged.emit(false)), [true, true]);
        let rows = a.merge_into_rows(vec![b], false);
        assert_eq!(quoted(&rows), [true, true]);
        let mut c = agg.new_state();
        c.add(&rec(Value::json_str(Cow::Borrowed("3"))));
        let parts = [agg.new_state()];
        let lazy = c.lazy_rows(&parts).expect("text keys only");
        assert!(lazy.key_counts(0..1).is_none(), "pairs would lose the kind");
        let mut seen = Vec::new();
        lazy.block(0..1, &mut |r| {
            seen.extend(quoted(r));
            Ok(())
        })
        .expect("in memory");
        assert_eq!(seen, [true]);
    }

    #[test]
    fn count_by_key_without_overflow_notes_nothing() {
        let (a, keys) = aggregation_capped(&["count-by-key"], 10).expect("valid count-by-key");
        let mut s = a.new_state();
        s.add_current("a");
        assert_eq!(show(&s.emit(false)), ["a,1"]);
        assert_eq!(keys.overflow().summary(), None);
        assert!(!s.is_empty());
    }
}
