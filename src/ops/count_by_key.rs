//! `count-by-key [FIELD...]`: how many records per distinct key (default
//! `_`, printed as `key`); rows by count descending, then key ascending in
//! `sort`'s order.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::{Arg, ArgAction, ArgMatches};

use crate::agg::key::{Key, KeyRef, MISSING, Map};
use crate::agg::limit::{KeyLimit, OTHER};
use crate::agg::textmap::{PAR_ROWS, TextCounts};
use crate::ops::{AggState, Aggregation, BuildCx, Built, Operator, Stage, same};
use crate::record::{CURRENT, Name, Record};
use crate::value::{SortKey, Value};

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
}

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
        })
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
}

impl Counts {
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
            if rayon::current_thread_index().is_some() && text.len() >= PAR_ROWS {
                use rayon::prelude::*;
                return text.par_iter().map(|&(t, c)| self.text_row(t, c)).collect();
            }
            return text.iter().map(|&(t, c)| self.text_row(t, c)).collect();
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
                out.push(self.text_row(t, c));
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
    fn text_row(&self, key: &str, count: u64) -> Record<'static> {
        let mut fields: Vec<(Cow<'static, str>, Value<'static>)> = Vec::with_capacity(2);
        if let Some(n) = self.columns.first() {
            fields.push((n.clone(), Value::Str(Cow::Owned(key.to_owned()))));
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
    fn with_other(&self, mut rows: Vec<Record<'static>>) -> Vec<Record<'static>> {
        if self.other > 0 {
            let key = self.columns.iter().map(|_| Value::str(OTHER)).collect();
            rows.push(self.row(key, self.other));
            self.limit.note("count-by-key", self.other);
        }
        rows
    }
}

impl AggState for Counts {
    fn add(&mut self, rec: &Record<'_>) {
        if let [f] = self.fields.as_slice() {
            // the hot path: one key field, usually present as is
            if let Some(v) = rec.get(f) {
                match v {
                    Value::Str(t) => self.bump_text(t, 1),
                    _ => self.bump(&[v], 1),
                }
                return;
            }
            match rec.lookup(f).as_deref() {
                Some(Value::Str(t)) => self.bump_text(t, 1),
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
        self.with_other(self.rows())
    }

    fn into_rows(self: Box<Self>, _emit_empty: bool) -> Vec<Record<'static>> {
        self.hint.fetch_max(self.text.len(), Ordering::Relaxed);
        self.with_other(self.rows())
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
    use crate::agg::limit::KeyLimit;

    fn agg(args: &[&str], max_keys: usize) -> (Box<dyn Aggregation>, Arc<KeyLimit>) {
        let m = crate::ops::command_for(&CountByKey)
            .try_get_matches_from(std::iter::once("count-by-key").chain(args.iter().copied()))
            .expect("valid count-by-key arguments");
        let keys = Arc::new(KeyLimit::new(max_keys));
        let cx = BuildCx {
            keys: Arc::clone(&keys),
            ..BuildCx::default()
        };
        match CountByKey.build(&m, &cx) {
            Ok(Built::Aggregation(a)) => (a, keys),
            _ => panic!("count-by-key builds an aggregation"),
        }
    }

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
        let (a, keys) = agg(&[], 2);
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
        let (a, _) = agg(&["x", "y"], 1);
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
        let (a, keys) = agg(&[], 3);
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

    #[test]
    fn count_by_key_without_overflow_notes_nothing() {
        let (a, keys) = agg(&[], 10);
        let mut s = a.new_state();
        s.add_current("a");
        assert_eq!(show(&s.emit(false)), ["a,1"]);
        assert_eq!(keys.overflow().summary(), None);
        assert!(!s.is_empty());
    }
}
