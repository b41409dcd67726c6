//! Whether the fields the chain names were ever in a record: the fields of
//! the operators' arguments ([`Named`]) and `--event-time FIELD`, each
//! looked for in the records that reach its operator until one has it.
//! A flag per field is set then, and once every field was found the hot
//! path looks at one bool per line. A field that records reached but none
//! had, over the whole run, is one warning at exit, with the fields the
//! records had and the closest of them. Each worker keeps its own, merged
//! at exit; the rows after the aggregation are looked at by the engine's.

use std::collections::BTreeSet;

use crate::ops::chain::{At, Chain, Named};
use crate::record::{CURRENT, Record};

/// How many records, per field and worker, give their field names for the
/// warning while the field is missing (the lookups go on for the whole
/// run).
const SAMPLE: u32 = 1000;

/// The most field names kept for one warning.
const MOST_NAMES: usize = 64;

/// One field to look for.
#[derive(Debug, Clone)]
struct Field {
    name: String,
    /// `operator 2, count-by-key` or `--event-time`.
    label: String,
    found: bool,
    /// A record reached the place where it is looked for.
    reached: bool,
    /// Records that gave their field names.
    sampled: u32,
    /// The field names of the records that reached it while it was
    /// missing.
    names: BTreeSet<String>,
}

/// What one worker (or the engine, for rows) saw.
#[derive(Debug, Clone, Default)]
pub(super) struct Seen {
    fields: Vec<Field>,
    /// Per place (each `pre` operator, the barrier, each `post` operator),
    /// the fields looked for there and not found yet.
    places: Vec<Vec<usize>>,
    pre: usize,
    /// [`Seen::bare_at_barrier`] was said.
    bare: bool,
    /// Some field is still missing: all the hot path reads.
    pub(super) open: bool,
}

impl Seen {
    /// The chain's named fields, and `--event-time FIELD` (looked for in
    /// the records that reach the barrier, where event time reads it).
    /// `rows`: the engine's, which looks at the rows after the barrier
    /// (else a worker's, which looks at the records up to it); both list
    /// every field, in the same order, so that they merge.
    pub(super) fn new(chain: &Chain, event_field: Option<&str>, rows: bool) -> Seen {
        Seen::places(
            chain.pre.len(),
            chain.post.len(),
            &chain.named,
            event_field,
            rows,
        )
    }

    /// [`Seen::new`] for a chain of `pre` operators before its barrier and
    /// `post` after it.
    fn places(
        pre: usize,
        post: usize,
        named: &[Named],
        event_field: Option<&str>,
        rows: bool,
    ) -> Seen {
        let mut seen = Seen {
            fields: Vec::new(),
            places: vec![Vec::new(); pre + 1 + post],
            pre,
            bare: false,
            open: false,
        };
        for Named { pos, op, field, at } in named {
            seen.add(field, format!("operator {pos}, {op}"), *at, rows);
        }
        if let Some(f) = event_field.filter(|f| *f != CURRENT) {
            seen.add(f, "--event-time".to_string(), At::Barrier, rows);
        }
        seen
    }

    fn add(&mut self, name: &str, label: String, at: At, rows: bool) {
        let place = self.place(at);
        if rows == matches!(at, At::Post(_)) {
            if let Some(list) = self.places.get_mut(place) {
                list.push(self.fields.len());
                self.open = true;
            }
        }
        self.fields.push(Field {
            name: name.to_string(),
            label,
            found: false,
            reached: false,
            sampled: 0,
            names: BTreeSet::new(),
        });
    }

    fn place(&self, at: At) -> usize {
        match at {
            At::Pre(i) => i,
            At::Barrier => self.pre,
            At::Post(i) => self.pre + 1 + i,
        }
    }

    /// Looks for the fields of place `at` in `recs` (call only when
    /// [`Seen::open`]).
    pub(super) fn look(&mut self, at: At, recs: &[Record<'_>]) {
        let place = self.place(at);
        let Some(list) = self.places.get_mut(place) else {
            return;
        };
        if list.is_empty() || recs.is_empty() {
            return;
        }
        let mut list = std::mem::take(list);
        list.retain(|&i| {
            let f = &mut self.fields[i];
            f.reached = true;
            for rec in recs {
                if rec.lookup(&f.name).is_some() {
                    f.found = true;
                    f.names.clear();
                    return false;
                }
                if f.sampled < SAMPLE {
                    f.sampled += 1;
                    for (n, _) in &rec.fields {
                        if f.names.len() >= MOST_NAMES {
                            break;
                        }
                        if n != CURRENT && !f.names.contains(n.as_ref()) {
                            f.names.insert(n.to_string());
                        }
                    }
                }
            }
            true
        });
        self.places[place] = list;
        self.open = self.places.iter().any(|l| !l.is_empty());
    }

    /// Records with nothing but `_` reached the barrier (the fused paths,
    /// which make no records): every field looked for there is missing
    /// from them.
    pub(super) fn bare_at_barrier(&mut self) {
        if std::mem::replace(&mut self.bare, true) {
            return;
        }
        if let Some(list) = self.places.get(self.pre) {
            for &i in list {
                self.fields[i].reached = true;
            }
        }
    }

    /// Takes in what another worker saw.
    pub(super) fn merge(&mut self, other: &Seen) {
        self.bare |= other.bare;
        for (mine, theirs) in self.fields.iter_mut().zip(&other.fields) {
            mine.found |= theirs.found;
            mine.reached |= theirs.reached;
            if !mine.found {
                for n in &theirs.names {
                    if mine.names.len() < MOST_NAMES {
                        mine.names.insert(n.clone());
                    }
                }
            } else {
                mine.names.clear();
            }
        }
    }

    /// One warning per field that records reached and none had.
    pub(super) fn warnings(&self) -> Vec<String> {
        self.fields
            .iter()
            .filter(|f| f.reached && !f.found)
            .map(|f| {
                let mut s = format!(
                    "spate: warning: field '{}' ({}) was in no record",
                    f.name, f.label
                );
                if f.names.is_empty() {
                    s.push_str(
                        "; the records had only _ (the line itself): make fields first with parse, json, csv or logfmt",
                    );
                    return s;
                }
                let names: Vec<&str> = f.names.iter().map(String::as_str).collect();
                s.push_str("; fields seen: ");
                s.push_str(&names.join(", "));
                if f.names.len() >= MOST_NAMES {
                    s.push_str(", …");
                }
                if let Some(c) = closest(&f.name, &names) {
                    s.push_str(&format!("; did you mean '{c}'?"));
                }
                s
            })
            .collect()
    }
}

/// The field name `name` is most likely a typo of: one edit away, two
/// for a name of four letters or more, or its letters in order (`cnt`,
/// `count`); short names are not matched to anything that looks alike.
fn closest<'n>(name: &str, names: &[&'n str]) -> Option<&'n str> {
    let in_order = |short: &str, long: &str| {
        let mut rest = long.chars();
        short.chars().all(|c| rest.any(|l| l == c))
    };
    names
        .iter()
        .map(|n| (crate::suggest::distance(name, n), *n))
        .filter(|(d, n)| {
            let len = name.chars().count();
            *d <= 1 || (*d <= 2 && len >= 4) || (len >= 3 && in_order(name, n))
        })
        .min_by_key(|(d, n)| (*d, n.chars().count().abs_diff(name.chars().count())))
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    use crate::value::Value;

    fn rec(fields: &[(&'static str, &'static str)]) -> Record<'static> {
        let mut r = Record::from_line(Cow::Borrowed("line"), "line");
        for (n, v) in fields {
            r.set(Cow::Borrowed(n), Value::str(v));
        }
        r
    }

    fn seen(named: &[(&str, At)], event: Option<&str>) -> Seen {
        let named: Vec<Named> = named
            .iter()
            .map(|(f, at)| Named {
                pos: 1,
                op: "op",
                field: f.to_string(),
                at: *at,
            })
            .collect();
        // one that looks everywhere, for the tests
        let mut s = Seen::places(2, 1, &named, event, false);
        let rows = Seen::places(2, 1, &named, event, true);
        for (place, list) in s.places.iter_mut().enumerate().skip(3) {
            list.clone_from(&rows.places[place]);
        }
        s.open = s.places.iter().any(|l| !l.is_empty());
        s
    }

    #[test]
    fn seen_a_missing_field_is_one_warning_with_the_closest() {
        let mut s = seen(&[("servce", At::Barrier), ("status", At::Barrier)], None);
        let recs = [rec(&[("host", "a"), ("service", "b"), ("status", "200")])];
        s.look(At::Barrier, &recs);
        assert!(s.open, "servce is still missing");
        assert_eq!(
            s.warnings(),
            [
                "spate: warning: field 'servce' (operator 1, op) was in no record; \
              fields seen: host, service, status; did you mean 'service'?"
            ]
        );
    }

    #[test]
    fn seen_found_fields_close_the_watch() {
        let mut s = seen(&[("a", At::Pre(0)), ("b", At::Post(0))], Some("ts"));
        assert!(s.open);
        s.look(At::Pre(0), &[rec(&[("a", "1")])]);
        s.look(At::Barrier, &[rec(&[("ts", "1")])]);
        assert!(s.open);
        s.look(At::Post(0), &[rec(&[("b", "1")])]);
        assert!(!s.open, "every field found");
        assert!(s.warnings().is_empty());
    }

    #[test]
    fn seen_suggests_only_a_likely_typo() {
        let names = ["count", "n", "service", "time"];
        assert_eq!(closest("servce", &names), Some("service"));
        assert_eq!(closest("cnt", &names), Some("count"));
        assert_eq!(closest("tme", &names), Some("time"));
        assert_eq!(closest("ts", &names), None);
        assert_eq!(closest("mgs", &["host", "ms", "msg"]), Some("msg"));
        assert_eq!(closest("host", &names), None);
    }

    #[test]
    fn seen_no_warning_where_no_record_reached() {
        let s = seen(&[("x", At::Post(0))], None);
        assert!(s.warnings().is_empty());
    }

    #[test]
    fn seen_bare_records_and_event_time_field() {
        let mut s = seen(&[], Some("ts"));
        s.bare_at_barrier();
        assert_eq!(
            s.warnings(),
            [
                "spate: warning: field 'ts' (--event-time) was in no record; the records had only \
              _ (the line itself): make fields first with parse, json, csv or logfmt"
            ]
        );
    }

    #[test]
    fn seen_merges_workers() {
        let mut a = seen(&[("x", At::Barrier)], None);
        let mut b = a.clone();
        a.look(At::Barrier, &[rec(&[("y", "1")])]);
        b.look(At::Barrier, &[rec(&[("x", "1")])]);
        let mut all = a.clone();
        all.merge(&b);
        assert!(all.warnings().is_empty());
        let mut c = seen(&[("x", At::Barrier)], None);
        c.look(At::Barrier, &[rec(&[("z", "1")])]);
        a.merge(&c);
        assert!(
            a.warnings()[0].contains("fields seen: y, z"),
            "{:?}",
            a.warnings()
        );
    }
}
