//! `count-by-key [FIELD...]`: how many records per distinct key (default
//! `_`, printed as `key`); rows by count descending, then key ascending in
//! `sort`'s order.

use std::borrow::Cow;

use clap::{Arg, ArgAction, ArgMatches};

use crate::agg::key::{Key, KeyRef, MISSING, Map};
use crate::agg::textmap::TextCounts;
use crate::ops::{AggState, Aggregation, BuildCx, Built, Operator, Stage, same};
use crate::record::{CURRENT, Record};
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
             ascending.\n\nExamples:\n  spate -b eof split then count-by-key\n  \
             spate parse '(?P<ip>\\S+) .*\" (?P<status>\\d{3}) ' then count-by-key ip status",
        )
    }
    fn stage(&self) -> Stage {
        Stage::Aggregation
    }
    fn build(&self, m: &ArgMatches, _cx: &BuildCx) -> Result<Built, String> {
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
                    "key".to_string()
                } else {
                    f.clone()
                }
            })
            .collect();
        Ok(Built::Aggregation(Box::new(CountByKeyAgg {
            fields,
            columns,
        })))
    }
}

pub struct CountByKeyAgg {
    fields: Vec<String>,
    columns: Vec<String>,
}

impl Aggregation for CountByKeyAgg {
    fn new_state(&self) -> Box<dyn AggState> {
        Box::new(Counts {
            fields: self.fields.clone(),
            columns: self.columns.clone(),
            map: Map::default(),
            text: TextCounts::default(),
        })
    }
}

struct Counts {
    fields: Vec<String>,
    columns: Vec<String>,
    map: Map<Key, u64>,
    /// One text key field, the common case (words, statuses, services):
    /// keyed by the text itself, one indirection less per lookup.
    text: TextCounts,
}

impl Counts {
    fn bump_text(&mut self, t: &str) {
        self.text.add(t, 1);
    }

    fn bump(&mut self, key: &[&Value<'_>], n: u64) {
        let r = KeyRef(key);
        match self.map.get_mut(&r) {
            Some(c) => *c += n,
            None => {
                self.map.insert(r.to_key(), n);
            }
        }
    }
}

impl AggState for Counts {
    fn add(&mut self, rec: &Record<'_>) {
        if let [f] = self.fields.as_slice() {
            // the hot path: one key field, usually present as is
            if let Some(v) = rec.get(f) {
                match v {
                    Value::Str(t) => self.bump_text(t),
                    _ => self.bump(&[v], 1),
                }
                return;
            }
            match rec.lookup(f).as_deref() {
                Some(Value::Str(t)) => self.bump_text(t),
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
        self.map.reserve(o.map.len());
        for (k, c) in &o.map {
            *self.map.entry(k.clone()).or_insert(0) += c;
        }
        self.text.merge(&o.text);
    }

    fn add_current(&mut self, text: &str) {
        if let [f] = self.fields.as_slice() {
            if f == CURRENT {
                self.bump_text(text);
                return;
            }
        }
        self.add(&Record::from_line(Cow::Borrowed(text), text));
    }

    fn emit(&self, _emit_empty: bool) -> Vec<Record<'static>> {
        // sort keys computed once per row, not per comparison
        let mut rows: Vec<(u64, Vec<SortKey<'_>>, Vec<Value<'static>>)> =
            Vec::with_capacity(self.map.len() + self.text.len());
        for (k, c) in &self.map {
            rows.push((*c, k.0.iter().map(SortKey::of).collect(), k.0.to_vec()));
        }
        for (t, c) in self.text.iter() {
            rows.push((
                c,
                vec![SortKey::of_text(t)],
                vec![Value::owned_str(t.to_string())],
            ));
        }
        rows.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        rows.into_iter()
            .map(|(c, _, key)| {
                let mut fields: Vec<(Cow<'static, str>, Value<'static>)> = self
                    .columns
                    .iter()
                    .zip(key)
                    .map(|(n, v)| (Cow::Owned(n.clone()), v))
                    .collect();
                fields.push((Cow::Borrowed("count"), Value::Int(c as i64)));
                Record::row(fields)
            })
            .collect()
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty() && self.text.is_empty()
    }
}
