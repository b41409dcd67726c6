//! `count-by-key [FIELD...]`: how many records per distinct key (default
//! `_`, printed as `key`); rows by count descending, then key ascending in
//! `sort`'s order. Keys are one key when they print alike
//! ([`crate::agg::key`]); a record without a key field counts under the
//! empty key, which sorts last.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use clap::{Arg, ArgAction, ArgMatches};

use crate::agg::key::{Key, KeyTable, MISSING, Pos, Rank, with_bytes};
use crate::agg::limit::{KeyLimit, OTHER};
use crate::agg::textmap::{PAR_ROWS, Sorted, TextCounts};
use crate::agg::{AggState, Aggregation, VALUE_FIELDS, same, value_field};
use crate::ops::spark::{
    Spark, SparkAggregate, SparkCx, SparkMap, SparkValue, ValueKind, reads_fields,
};
use crate::ops::{BuildCx, Built, Operator, Stage, name_list};
use crate::record::{CURRENT, Name, Record, column_name};
use crate::sink::RowSource;
use crate::state::codec::{self, Decoder, Encoder};
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
             ascending. Values that print the same are one key (the number 200, 200.0 and \
             the text 200; not 007 and 7). A record without a key field counts under an \
             empty key (null in jsonl), which sorts last. Past --max-keys distinct keys \
             (default 1000000) in a batch or window, the first keys in input order keep \
             their rows and records with further keys are counted in one last row whose key \
             fields read (other).\n\nExamples:\n  spate -b eof split then count-by-key\n  \
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
            fields: fields.into(),
            columns,
            hint: Arc::default(),
            limit: Arc::clone(&cx.keys),
            spare: Arc::default(),
        })))
    }
    fn spark(&self) -> Spark {
        Spark::Map(SparkMap {
            reads: reads_fields,
            map: to_spark,
        })
    }
}

/// A group per key (`_` printed as `key`) and its count; the runtime
/// orders the rows as spate does (by `AGGREGATION = "count-by-key"`).
fn to_spark(m: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    let mut fields = Vec::new();
    for s in m.get_many::<String>("fields").into_iter().flatten() {
        fields.extend(name_list(s)?);
    }
    if fields.is_empty() {
        fields.push(CURRENT.to_string());
    }
    let keys = fields
        .iter()
        .map(|f| {
            let shown = if f == CURRENT { "key" } else { f.as_str() };
            (shown.to_string(), cx.expr(f))
        })
        .collect();
    cx.aggregate(SparkAggregate {
        keys,
        values: vec![SparkValue {
            name: "count".into(),
            expr: "F.count(F.lit(1))".into(),
            kind: ValueKind::Int,
        }],
    });
    Ok(())
}

pub struct CountByKeyAgg {
    fields: Arc<[String]>,
    /// The rows' column names: `key` for `_`, else the field's name.
    columns: Arc<[Name<'static>]>,
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
            fields: Arc::clone(&self.fields),
            columns: Arc::clone(&self.columns),
            map: KeyTable::new(self.limit.max),
            text: TextCounts::with_capacity(self.hint.load(Ordering::Relaxed)),
            sealed: false,
            all_other: false,
            pos: 0,
            hint: Arc::clone(&self.hint),
            limit: Arc::clone(&self.limit),
            other: 0,
            spare: Arc::clone(&self.spare),
        })
    }

    fn load(&self, d: &mut Decoder<'_>) -> codec::Result<Box<dyn AggState>> {
        let (all_other, sealed, pos, other) = (d.bool()?, d.bool()?, d.u64()?, d.u64()?);
        let text = TextCounts::load(d)?;
        let map = KeyTable::load(d, |d| d.u64())?;
        Ok(Box::new(Counts {
            fields: Arc::clone(&self.fields),
            columns: Arc::clone(&self.columns),
            map,
            text,
            sealed,
            all_other,
            pos,
            hint: Arc::clone(&self.hint),
            limit: Arc::clone(&self.limit),
            other,
            spare: Arc::clone(&self.spare),
        }))
    }

    fn key_fields(&self) -> &[String] {
        &self.fields
    }

    fn value_fields(&self) -> Option<&[String]> {
        let f = &self.fields;
        let plain = f.len() <= VALUE_FIELDS
            && f.iter().all(|n| value_field(n))
            && f.iter().enumerate().all(|(i, n)| !f[..i].contains(n));
        plain.then_some(&self.fields[..])
    }

    /// Count descending, then the key ascending in `sort`'s order, as
    /// [`Counts::rows`] orders them.
    fn row_cmp(&self, a: &Record<'_>, b: &Record<'_>) -> std::cmp::Ordering {
        let n = self.fields.len();
        let count = |r: &Record<'_>| match r.fields.get(n) {
            Some((_, Value::Int(c))) => *c,
            _ => 0,
        };
        count(b).cmp(&count(a)).then_with(|| {
            let ka = a.fields.iter().take(n).map(|(_, v)| SortKey::of(v));
            ka.cmp(b.fields.iter().take(n).map(|(_, v)| SortKey::of(v)))
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

/// Aligned to two cache lines: the workers' states are allocated one
/// after the other, and each writes its own (`pos`, per record): unaligned,
/// two cores would trade the line they share (false sharing).
#[repr(align(128))]
struct Counts {
    /// Shared by every accumulator of the aggregation (`window session`
    /// makes one per key and slice of time).
    fields: Arc<[String]>,
    /// Column names; `key` (the default) is borrowed, so its rows copy no
    /// name, and a named field's is copied into each row, as `stats` does.
    columns: Arc<[Name<'static>]>,
    /// Every key counts under `(other)` ([`AggState::other`]).
    all_other: bool,
    hint: Arc<AtomicUsize>,
    /// `--max-keys`: past it, once settled, records with a new key are
    /// only counted in `other`, the `(other)` row.
    limit: Arc<KeyLimit>,
    other: u64,
    /// Several key fields: keyed by their values.
    map: KeyTable<u64>,
    /// One key field, the common case (words, statuses, services): keyed
    /// by the text it prints as, one indirection less per lookup.
    text: TextCounts,
    /// `text` holds the first keys of all it counted (see
    /// [`KeyTable`]): a new key goes to `(other)`.
    sealed: bool,
    /// The input position of the next record added.
    pos: Pos,
    spare: Spare,
}

impl Counts {
    /// The rows of text-keyed entries, in order: an earlier batch's rows
    /// overwritten where there are any.
    fn text_rows(&self, sorted: &Sorted<'_>) -> Vec<Record<'static>> {
        let text = &sorted.keys;
        let mut rows = match self.spare.lock() {
            Ok(mut spare) => std::mem::take(&mut *spare),
            Err(_) => Vec::new(),
        };
        rows.truncate(text.len());
        let split = rows.len();
        let (old, new) = text.split_at(split);
        if rayon::current_thread_index().is_some() && text.len() >= PAR_ROWS {
            use rayon::prelude::*;
            rows.par_iter_mut()
                .zip(old)
                .enumerate()
                .for_each(|(i, (r, &(t, c)))| self.fill(r, t, c, sorted.rank(i)));
            rows.par_extend(
                new.par_iter()
                    .enumerate()
                    .map(|(i, &(t, c))| self.text_row(t, c, sorted.rank(split + i))),
            );
            return rows;
        }
        for (i, (r, &(t, c))) in rows.iter_mut().zip(old).enumerate() {
            self.fill(r, t, c, sorted.rank(i));
        }
        rows.extend(
            new.iter()
                .enumerate()
                .map(|(i, &(t, c))| self.text_row(t, c, sorted.rank(split + i))),
        );
        rows
    }

    /// Makes `r` the row of a text key, reusing its memory when it is
    /// such a row already.
    fn fill(&self, r: &mut Record<'static>, key: &str, count: u64, rank: Rank) {
        if rank == Rank::Text && !key.is_empty() {
            if let (
                [
                    (
                        name,
                        Value::Str(Text {
                            s: Cow::Owned(k),
                            quoted: false,
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
                    *c = count as i64;
                    return;
                }
            }
        }
        *r = self.text_row(key, count, rank);
    }

    /// The rows: count descending, then key ascending in `sort`'s order.
    fn rows(&self) -> Vec<Record<'static>> {
        if self.fields.len() == 1 {
            return self.text_rows(&self.text.sorted());
        }
        // sort keys computed once per row, not per comparison
        let mut general: Vec<(u64, Vec<SortKey<'_>>, &Key)> = self
            .map
            .iter()
            .filter(|e| e.val > 0)
            .map(|e| (e.val, e.key.sort_keys(), &e.key))
            .collect();
        general.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        general
            .into_iter()
            .map(|(c, _, k)| self.row(k.0.to_vec(), c))
            .collect()
    }

    /// The row of a key of the one key field that prints as `key`.
    fn text_row(&self, key: &str, count: u64, rank: Rank) -> Record<'static> {
        let v = if rank == Rank::Text && !key.is_empty() {
            Value::text_of(Cow::Owned(key.to_owned()))
        } else {
            rank.value(key)
        };
        let mut fields: Vec<(Cow<'static, str>, Value<'static>)> = Vec::with_capacity(2);
        if let Some(n) = self.columns.first() {
            fields.push((n.clone(), v));
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

    /// Whether a new text key may be added: always until the table is
    /// settled, then while it is within the bound.
    #[inline]
    fn room(&self) -> bool {
        !self.all_other && (!self.sealed || self.text.len() < self.limit.max)
    }

    #[inline]
    fn bump_text(&mut self, t: &str, n: u64) {
        let room = self.room();
        if !self.text.add_at(t.as_bytes(), n, self.pos, room) {
            self.other += n;
        }
        self.pos += 1;
    }

    /// A key value of the one key field that is not text.
    fn bump_value(&mut self, v: &Value<'_>, n: u64) {
        let (room, pos, rank) = (self.room(), self.pos, Rank::of(v));
        let counted = with_bytes(v, |t| self.text.add_ranked(t, n, pos, room, rank));
        if !counted {
            self.other += n;
        }
        self.pos += 1;
    }

    fn bump(&mut self, key: &[&Value<'_>], n: u64) {
        match self.map.entry(key, self.pos, || 0) {
            Some(c) => *c += n,
            None => self.other += n,
        }
        self.pos += 1;
    }

    /// Back within `--max-keys`: the first keys by position keep their
    /// rows, the others' counts go to `other`, and the table is settled.
    fn bound(&mut self) {
        if self.text.len() > self.limit.max {
            self.other = self.other.saturating_add(self.text.bound(self.limit.max));
            self.sealed = true;
        }
        let dropped: u64 = self.map.bound().iter().sum();
        self.other = self.other.saturating_add(dropped);
    }

    /// A copy within `--max-keys` when this state is past it (a state
    /// that was only added to: the engine's parts are merged, and
    /// merging bounds).
    fn bounded(&self) -> Option<Counts> {
        if !self.over() {
            return None;
        }
        let mut c = self.copy(self.text.clone(), self.map.clone(), self.other);
        c.bound();
        Some(c)
    }

    fn over(&self) -> bool {
        self.text.len() > self.limit.max || self.map.over()
    }

    fn copy(&self, text: TextCounts, map: KeyTable<u64>, other: u64) -> Counts {
        Counts {
            fields: Arc::clone(&self.fields),
            columns: Arc::clone(&self.columns),
            all_other: self.all_other,
            hint: Arc::clone(&self.hint),
            limit: Arc::clone(&self.limit),
            other,
            map,
            text,
            sealed: self.sealed,
            pos: self.pos,
            spare: Arc::clone(&self.spare),
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

    /// The text keys of this state and `parts` taken together, sorted, and
    /// their `(other)` count: the parts' tables read side by side, unless
    /// the keys are values of several fields or together could pass
    /// --max-keys (merging decides then which keys keep a row).
    fn union<'s>(&'s self, parts: &'s [Box<dyn AggState>]) -> Option<(Sorted<'s>, u64)> {
        if self.fields.len() != 1 {
            return None;
        }
        let all: Vec<&Counts> = std::iter::once(self)
            .chain(
                parts
                    .iter()
                    .map(|p| same::<Counts>(p.as_ref(), "count-by-key")),
            )
            .collect();
        let keys: usize = all.iter().map(|c| c.text.len()).sum();
        if keys > self.limit.max {
            return None;
        }
        let tables: Vec<&TextCounts> = all.iter().map(|c| &c.text).collect();
        let text = TextCounts::sorted_union(&tables);
        self.hint.fetch_max(text.len(), Ordering::Relaxed);
        let other = all.iter().fold(0u64, |a, c| a.saturating_add(c.other));
        Some((text, other))
    }
}

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
    keys: Sorted<'s>,
    other: u64,
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
        let end = range.end.min(self.keys.len());
        let keys = self.keys.keys.get(range.start..end).unwrap_or_default();
        let reused = rows.len().min(keys.len());
        for (i, (r, &(t, c))) in rows.iter_mut().zip(&keys[..reused]).enumerate() {
            self.counts.fill(r, t, c, self.keys.rank(range.start + i));
        }
        rows.truncate(keys.len());
        rows.extend(keys[reused..].iter().enumerate().map(|(i, &(t, c))| {
            self.counts
                .text_row(t, c, self.keys.rank(range.start + reused + i))
        }));
        if range.end > self.keys.len() {
            rows = self.counts.with_other_row(rows, self.other);
        }
        let done = f(&rows);
        SCRATCH.with(|s| s.replace(rows));
        done
    }

    fn key_counts(&self, range: Range<usize>) -> Option<&[(&str, u64)]> {
        // one key column, keys that print as themselves, not the (other) row
        if self.counts.columns.len() != 1 || !self.keys.plain(range.clone()) {
            return None;
        }
        self.keys.keys.get(range)
    }
}

impl AggState for Counts {
    fn save(&self, e: &mut Encoder) {
        e.bool(self.all_other);
        e.bool(self.sealed);
        e.u64(self.pos);
        e.u64(self.other);
        self.text.save(e);
        self.map.save(e, |c, e| e.u64(*c));
    }

    fn add(&mut self, rec: &Record<'_>) {
        if let [f] = &self.fields[..] {
            // the hot path: one key field, usually present as is
            // (a JSON string ranks above made text: `jsonl` keeps it one)
            match rec.get(f) {
                Some(Value::Str(t)) if !t.quoted => self.bump_text(t, 1),
                Some(v) => self.bump_value(v, 1),
                None => match rec.lookup(f).as_deref() {
                    Some(Value::Str(t)) if !t.quoted => self.bump_text(t, 1),
                    Some(v) => self.bump_value(v, 1),
                    None => self.bump_text("", 1),
                },
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

    fn add_values(&mut self, _names: &[String], vals: &[Option<Value<'_>>]) {
        // `vals` are the key fields' values, in order (value_fields)
        if let [v] = vals {
            match v {
                Some(Value::Str(t)) if !t.quoted => self.bump_text(t, 1),
                Some(v) => self.bump_value(v, 1),
                None => self.bump_text("", 1),
            }
            return;
        }
        let mut key: [&Value<'_>; VALUE_FIELDS] = [&MISSING; VALUE_FIELDS];
        for (k, v) in key.iter_mut().zip(vals) {
            *k = v.as_ref().unwrap_or(&MISSING);
        }
        self.bump(&key[..vals.len().min(VALUE_FIELDS)], 1);
    }

    fn at(&mut self, pos: Pos) {
        self.pos = pos;
    }

    fn merge(&mut self, other: &dyn AggState) {
        self.combine(other);
        self.bound();
    }

    fn combine(&mut self, other: &dyn AggState) {
        let o: &Counts = same(other, "count-by-key");
        if self.all_other {
            // every key is `(other)` here (a session past --max-keys)
            let keyed = o.text.iter().map(|(_, n)| n);
            let keyed = keyed.chain(o.map.iter().map(|e| e.val));
            self.other = keyed.fold(self.other.saturating_add(o.other), u64::saturating_add);
            return;
        }
        self.text.merge(&o.text);
        self.map.merge(&o.map, |a, b| *a += b, |b| *b);
        self.other = self.other.saturating_add(o.other);
        self.sealed |= o.sealed;
    }

    fn over_keys(&self) -> bool {
        self.over()
    }

    fn seal(&mut self, copies: usize) -> Vec<Box<dyn AggState>> {
        self.bound();
        self.sealed = true;
        let dropped: u64 = self.map.seal().iter().sum();
        self.other = self.other.saturating_add(dropped);
        (0..copies)
            .map(|_| {
                let mut c = self.copy(self.text.frozen(), self.map.frozen(|_| 0), 0);
                c.sealed = true;
                Box::new(c) as Box<dyn AggState>
            })
            .collect()
    }

    fn add_ascii_words(&mut self, block: &[u8]) -> Option<(u64, u64, u64)> {
        if !matches!(&self.fields[..], [f] if f == CURRENT) {
            return None;
        }
        let base = self.pos;
        let mut n = 0u64;
        let (with, without) = if self.sealed || self.all_other {
            let limit = if self.all_other { 0 } else { self.limit.max };
            let (text, other) = (&mut self.text, &mut self.other);
            crate::ops::split::ascii_words_spans(block, |s, e| {
                let room = text.len() < limit;
                if !text.add_span(block, s, e, base + n, room) {
                    *other += 1;
                }
                n += 1;
            })
        } else {
            // the common case: every key is taken, nothing to decide
            let text = &mut self.text;
            crate::ops::split::ascii_words_spans(block, |s, e| {
                text.add_span(block, s, e, base + n, true);
                n += 1;
            })
        };
        self.pos = base + n;
        Some((with, without, n))
    }

    fn add_current_ascii(&mut self, text: &[u8]) {
        if let [f] = &self.fields[..] {
            if f == CURRENT {
                let room = self.room();
                if !self.text.add_at(text, 1, self.pos, room) {
                    self.other += 1;
                }
                self.pos += 1;
                return;
            }
        }
        if let Ok(t) = std::str::from_utf8(text) {
            self.add_current(t);
        }
    }

    fn add_current(&mut self, text: &str) {
        if let [f] = &self.fields[..] {
            if f == CURRENT {
                self.bump_text(text, 1);
                return;
            }
        }
        self.add(&Record::from_line(Cow::Borrowed(text), text));
    }

    fn emit(&self, _emit_empty: bool) -> Vec<Record<'static>> {
        // past the bound (a state only added to): a copy within it
        let bounded = self.bounded();
        let me = bounded.as_ref().unwrap_or(self);
        me.with_other(me.rows(), me.other)
    }

    fn into_rows(self: Box<Self>, _emit_empty: bool) -> Vec<Record<'static>> {
        let mut me = self;
        me.bound();
        me.hint.fetch_max(me.text.len(), Ordering::Relaxed);
        me.with_other(me.rows(), me.other)
    }

    fn merge_into_rows(
        self: Box<Self>,
        parts: Vec<Box<dyn AggState>>,
        emit_empty: bool,
    ) -> Vec<Record<'static>> {
        let Some((text, other)) = self.union(&parts) else {
            let mut me = self;
            for p in parts {
                me.combine(p.as_ref());
            }
            return me.into_rows(emit_empty);
        };
        self.with_other(self.text_rows(&text), other)
    }

    fn lazy_rows<'s>(&'s self, parts: &'s [Box<dyn AggState>]) -> Option<Box<dyn RowSource + 's>> {
        let (keys, other) = self.union(parts)?;
        self.note_other(other);
        Some(Box::new(CountRows {
            counts: self,
            keys,
            other,
        }))
    }

    fn key_records(&self) -> Option<crate::agg::KeyRecords> {
        // as the rows show it: within --max-keys
        let bounded = self.bounded();
        let c = bounded.as_ref().unwrap_or(self);
        let text = c.text.iter().map(|(t, n)| {
            let mut k = (t.len() as u64).to_le_bytes().to_vec();
            k.extend_from_slice(t.as_bytes());
            (k, n)
        });
        let map = c
            .map
            .iter()
            .map(|e| (crate::agg::key::key_bytes(e.key.0.iter()), e.val));
        Some((text.chain(map).collect(), c.other))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty() && self.text.is_empty() && self.other == 0
    }

    fn other(&self) -> Option<Box<dyn AggState>> {
        let mut c = self.copy(TextCounts::default(), KeyTable::closed(), 0);
        c.all_other = true;
        Some(Box::new(c))
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
            if max == 10 {
                // the parts hold more keys than the bound: merging decides
                // which keep a row (the first 10 by position)
                assert!(p.lazy_rows(&rest).is_none());
                assert_eq!(want.len(), 11);
                assert_eq!(show(&want).last().map(String::as_str), Some("(other),7"));
                continue;
            }
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
        }
    }

    /// Text keys that were JSON strings stay JSON strings in the rows (each
    /// key by its own kind: a JSON string ranks above made text of the same
    /// characters), whichever part saw them and whichever path makes the
    /// rows; other text keys are made text.
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
        // "200" twice (made text) first, then "3" (a JSON string)
        assert_eq!(quoted(&merged.emit(false)), [false, true]);
        let rows = a.merge_into_rows(vec![b], false);
        assert_eq!(quoted(&rows), [false, true]);
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

    /// The parallel algorithm equals the naive one: records cut into
    /// parts (numbered in input order), the parts dealt to workers in any
    /// way, each worker's share taking every key, the shares combined:
    /// the rows are the first `max` keys in input order with their full
    /// counts, and every other record under `(other)`.
    mod parts {
        use super::*;
        use crate::agg::key::pos;
        use proptest::prelude::*;

        fn naive(keys: &[String], max: usize) -> Vec<String> {
            let mut order: Vec<(&str, u64)> = Vec::new();
            let mut other = 0;
            for k in keys {
                let room = order.len() < max;
                match order.iter_mut().find(|(o, _)| o == k) {
                    Some((_, c)) => *c += 1,
                    None if room => order.push((k, 1)),
                    None => other += 1,
                }
            }
            order.sort_by(|a, b| {
                b.1.cmp(&a.1)
                    .then_with(|| SortKey::of_text(a.0).cmp(&SortKey::of_text(b.0)))
            });
            let mut rows: Vec<String> = order.iter().map(|(k, c)| format!("{k},{c}")).collect();
            if other > 0 {
                rows.push(format!("(other),{other}"));
            }
            rows
        }

        proptest! {
            #[test]
            fn count_by_key_shares_combine_into_the_first_keys(
                keys in prop::collection::vec((0u8..40).prop_map(|k| format!("k{k}")), 0..200),
                cuts in prop::collection::vec(0usize..200, 0..8),
                workers in prop::collection::vec(0usize..3, 8),
                max in 1usize..12,
                fused in any::<bool>(),
            ) {
                let (a, _) = aggregation_capped(&["count-by-key"], max).expect("valid count-by-key");
                let mut bounds: Vec<usize> = cuts.iter().map(|c| (*c).min(keys.len())).collect();
                bounds.extend([0, keys.len()]);
                bounds.sort_unstable();
                let mut shares = vec![a.new_state(), a.new_state(), a.new_state()];
                for (seq, w) in bounds.windows(2).enumerate() {
                    let share = &mut shares[workers[seq % workers.len()]];
                    share.at(pos(seq as u64, 0));
                    let part = &keys[w[0]..w[1]];
                    if fused {
                        let block: String = part.iter().map(|k| format!("{k}\n")).collect();
                        share.add_ascii_words(block.as_bytes()).expect("the fused path");
                    } else {
                        for k in part {
                            share.add_current(k);
                        }
                    }
                }
                let first = shares.remove(0);
                let got = show(&first.merge_into_rows(shares, false));
                prop_assert_eq!(got, naive(&keys, max));
            }
        }

        proptest! {
            /// `--state`: the workers' shares written and read back after
            /// every part (settled past `--max-keys` as the engine settles
            /// them, so frozen copies and sealed tables too) go on exactly
            /// as they would have: the same rows, each key shown as the
            /// same value (a number, a JSON string, null).
            #[test]
            fn count_by_key_state_saved_and_loaded_goes_on_alike(
                keys in prop::collection::vec(0u8..60, 0..200),
                cuts in prop::collection::vec(0usize..200, 0..8),
                workers in prop::collection::vec(0usize..3, 8),
                max in 1usize..12,
                mode in 0u8..3,
            ) {
                let args: &[&str] = match mode {
                    0 => &["count-by-key"],
                    1 => &["count-by-key", "a"],
                    _ => &["count-by-key", "a", "f"],
                };
                let (a, _) = aggregation_capped(args, max).expect("valid count-by-key");
                let a = a.as_ref();
                let value = |k: u8| match k % 6 {
                    0 => Value::Int(i64::from(k / 6)),
                    1 => Value::owned_str(format!("{}", k / 6)),
                    2 => Value::json_str(Cow::Owned(format!("q{}", k / 6))),
                    3 => Value::Float(f64::from(k) / 4.0),
                    4 => Value::Null,
                    _ => Value::owned_str(format!("k{k}")),
                };
                let rec = |k: u8| {
                    let mut fields = vec![(Cow::Borrowed("f"), Value::Int(i64::from(k % 3)))];
                    if k % 7 != 0 {
                        fields.push((Cow::Borrowed("a"), value(k)));
                    }
                    Record::row(fields)
                };
                let mut bounds: Vec<usize> = cuts.iter().map(|c| (*c).min(keys.len())).collect();
                bounds.extend([0, keys.len()]);
                bounds.sort_unstable();
                let shown = |rows: &[Record<'static>]| -> Vec<String> {
                    rows.iter().map(|r| format!("{:?}", r.fields)).collect()
                };
                let run = |restore: bool| -> Vec<String> {
                    let mut shares = vec![a.new_state(), a.new_state(), a.new_state()];
                    for (seq, w) in bounds.windows(2).enumerate() {
                        let share = &mut shares[workers[seq % workers.len()]];
                        share.at(pos(seq as u64, 0));
                        for &k in &keys[w[0]..w[1]] {
                            match mode {
                                0 => share.add_current(&format!("k{}", k % 30)),
                                _ => share.add(&rec(k)),
                            }
                        }
                        // the engine's settling past --max-keys
                        if shares.iter().any(|s| s.over_keys()) {
                            let mut first = shares.remove(0);
                            for s in shares.drain(..) {
                                first.combine(s.as_ref());
                            }
                            let copies = first.seal(2);
                            shares = std::iter::once(first).chain(copies).collect();
                        }
                        if restore {
                            shares = shares
                                .iter()
                                .map(|s| crate::agg::saved_and_loaded(a, s.as_ref()))
                                .collect();
                        }
                    }
                    let first = shares.remove(0);
                    shown(&first.merge_into_rows(shares, false))
                };
                prop_assert_eq!(run(true), run(false));
            }
        }
    }
}
