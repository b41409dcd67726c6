//! `sort [-r] FIELD...`: a stable sort of a batch's rows in `sort`'s order —
//! numbers, and text that reads as a number, numerically and before any
//! other text, which compares by bytes; a missing (or null) field after
//! every value, in both directions. Also owns [`SortKey`], the pre-parsed
//! form of a value that `top` shares, so that a sort reads each value as a
//! number once rather than at every comparison.

use std::borrow::Cow;
use std::cmp::Ordering;

use clap::{Arg, ArgAction, ArgMatches};

use crate::ops::spark::{Spark, SparkCx, SparkMap, py, py_bool, py_list, reads_nothing};
use crate::ops::{BuildCx, Built, Operator, RowsOp, Stage, name_list};
use crate::record::{CURRENT, Record};
use crate::value::{Num, Value};

pub struct Sort;

impl Operator for Sort {
    fn name(&self) -> &'static str {
        "sort"
    }
    fn summary(&self) -> &'static str {
        "Sort each batch's rows by fields (numbers numerically, then text by bytes)"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new("fields")
                .value_name("FIELD")
                .action(ArgAction::Append)
                .required(true)
                .help("Sort by these fields, the first one first; commas also separate"),
        )
        .arg(
            Arg::new("reverse")
                .short('r')
                .long("reverse")
                .action(ArgAction::SetTrue)
                .help("Descending order (rows lacking a field still come last)"),
        )
        .after_help(
            "Order: numbers, and text that reads as a number, numerically and before any \
             other text; other text by its bytes; a missing or null field after every value, \
             with or without -r. The sort is stable: rows that compare equal keep their \
             order (arrival order before an aggregation). Valid before or after an \
             aggregation; before one, `_` is the whole line.\n\nExamples:\n  \
             spate -b eof split then count-by-key then sort key\n  \
             spate -b eof sort -r _\n  \
             spate -b 10s json then stats -f latency_ms -a p99 -g service then sort -r p99",
        )
    }
    fn stage(&self) -> Stage {
        Stage::Rows
    }
    fn fields(&self, m: &ArgMatches) -> Vec<String> {
        crate::ops::listed(m, "fields")
    }
    fn build(&self, m: &ArgMatches, _cx: &BuildCx) -> Result<Built, String> {
        let mut fields = Vec::new();
        for f in m.get_many::<String>("fields").into_iter().flatten() {
            fields.extend(crate::ops::name_list(f)?);
        }
        if fields.is_empty() {
            return Err("needs at least one FIELD to sort by".into());
        }
        let reverse = m.get_flag("reverse");
        Ok(Built::Rows(Box::new(SortOp { fields, reverse })))
    }
    fn spark(&self) -> Spark {
        Spark::Map(SparkMap {
            reads: reads_nothing,
            map: to_spark,
        })
    }
}

/// The runtime's `op_sort`, on each batch's rows on the driver (where a
/// chain without an aggregation prints `_` as `value`).
fn to_spark(m: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    let mut fields = Vec::new();
    for f in m.get_many::<String>("fields").into_iter().flatten() {
        fields.extend(name_list(f)?);
    }
    let fields: Vec<String> = fields
        .iter()
        .map(|f| {
            py(if f == CURRENT && !cx.aggregated() {
                "value"
            } else {
                f
            })
        })
        .collect();
    cx.post(format!(
        "rows = op_sort(rows, {}, {})",
        py_list(&fields),
        py_bool(m.get_flag("reverse"))
    ));
    Ok(())
}

/// A value made ready for comparing in `sort`'s order.
pub(crate) enum SortKey<'r> {
    /// A number, with its value kept for the text tie-break that
    /// [`Value::sort_cmp`] makes between equal numbers (`1` and `1.0`).
    Num(Num, Cow<'r, Value<'static>>),
    /// Any other value, by the bytes of its text.
    Text(Cow<'r, str>),
    /// The field is missing or null.
    Missing,
}

impl<'r> SortKey<'r> {
    /// The key of `field` in `rec` (dotted names reach into JSON).
    pub(crate) fn of(rec: &'r Record<'static>, field: &str) -> Self {
        match rec.lookup(field) {
            None => SortKey::Missing,
            Some(v) => SortKey::from_value(v),
        }
    }

    pub(crate) fn from_value(v: Cow<'r, Value<'static>>) -> Self {
        if v.is_null() {
            return SortKey::Missing;
        }
        if let Some(n) = v.as_num() {
            return SortKey::Num(n, v);
        }
        SortKey::Text(match v {
            Cow::Borrowed(Value::Str(s)) => Cow::Borrowed(s.as_ref()),
            Cow::Borrowed(other) => Cow::Owned(other.text().into_owned()),
            Cow::Owned(Value::Str(s)) => Cow::Owned(s.s.into_owned()),
            Cow::Owned(other) => Cow::Owned(other.text().into_owned()),
        })
    }

    /// `sort`'s order ([`Value::sort_cmp`]) between present values,
    /// reversed when `reverse`; a missing value comes after every present
    /// one either way.
    pub(crate) fn cmp(&self, other: &SortKey<'_>, reverse: bool) -> Ordering {
        let o = match (self, other) {
            (SortKey::Missing, SortKey::Missing) => return Ordering::Equal,
            (SortKey::Missing, _) => return Ordering::Greater,
            (_, SortKey::Missing) => return Ordering::Less,
            (SortKey::Num(a, va), SortKey::Num(b, vb)) => {
                a.cmp_num(*b).then_with(|| va.text().cmp(&vb.text()))
            }
            (SortKey::Num(..), SortKey::Text(_)) => Ordering::Less,
            (SortKey::Text(_), SortKey::Num(..)) => Ordering::Greater,
            (SortKey::Text(a), SortKey::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
        };
        if reverse { o.reverse() } else { o }
    }
}

struct SortOp {
    fields: Vec<String>,
    reverse: bool,
}

impl RowsOp for SortOp {
    fn apply(&self, rows: Vec<Record<'static>>) -> Vec<Record<'static>> {
        if self.fields.is_empty() || rows.len() < 2 {
            return rows;
        }
        let order = self.sorted(&rows);
        permute(rows, &order)
    }

    fn order(&self, rows: &[Record<'static>]) -> Option<Vec<usize>> {
        Some(self.sorted(rows))
    }
}

impl SortOp {
    /// The indexes of `rows` in sorted order (stable).
    fn sorted(&self, rows: &[Record<'static>]) -> Vec<usize> {
        let Some((first, later)) = self.fields.split_first() else {
            return (0..rows.len()).collect();
        };
        {
            // The first field's key travels with its index, so most
            // comparisons touch no other table; later fields are read from
            // `rest` only on ties.
            let mut keyed: Vec<(SortKey<'_>, usize)> = rows
                .iter()
                .enumerate()
                .map(|(i, r)| (SortKey::of(r, first), i))
                .collect();
            let k = later.len();
            let rest: Vec<SortKey<'_>> = rows
                .iter()
                .flat_map(|r| later.iter().map(move |f| SortKey::of(r, f)))
                .collect();
            // `sort_by` is stable: equal rows keep their order.
            keyed.sort_by(|(ka, a), (kb, b)| {
                ka.cmp(kb, self.reverse).then_with(|| {
                    let (ra, rb) = (&rest[a * k..(a + 1) * k], &rest[b * k..(b + 1) * k]);
                    ra.iter()
                        .zip(rb)
                        .map(|(x, y)| x.cmp(y, self.reverse))
                        .find(|o| o.is_ne())
                        .unwrap_or(Ordering::Equal)
                })
            });
            keyed.into_iter().map(|(_, i)| i).collect()
        }
    }
}

/// The rows at the indexes of `order`, in that order (each index once).
pub(crate) fn permute(rows: Vec<Record<'static>>, order: &[usize]) -> Vec<Record<'static>> {
    let mut slots: Vec<Option<Record<'static>>> = rows.into_iter().map(Some).collect();
    order
        .iter()
        .filter_map(|&i| slots.get_mut(i).and_then(Option::take))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::rows_op;

    fn lines(ls: &[&str]) -> Vec<Record<'static>> {
        ls.iter()
            .map(|l| Record::from_line(Cow::Owned(l.to_string()), "").into_owned())
            .collect()
    }

    fn col(rows: &[Record<'static>], f: &str) -> Vec<String> {
        rows.iter()
            .map(|r| {
                r.get(f)
                    .map(|v| v.text().into_owned())
                    .unwrap_or("-".into())
            })
            .collect()
    }

    fn row(fields: &[(&'static str, Value<'static>)]) -> Record<'static> {
        Record::row(
            fields
                .iter()
                .map(|(n, v)| (Cow::Borrowed(*n), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn sort_mixed_numbers_and_text() {
        let op = rows_op(&["sort", "_"]).expect("valid");
        let out = op.apply(lines(&["b", "10", "9", "a", "-1.5", "B", "9.0", "1e1", ""]));
        assert_eq!(
            col(&out, "_"),
            ["-1.5", "9", "9.0", "10", "1e1", "", "B", "a", "b"]
        );
    }

    #[test]
    fn sort_reverse_keeps_missing_last_and_is_stable() {
        let op = rows_op(&["sort", "-r", "n"]).expect("valid");
        let rows = vec![
            row(&[("n", Value::Int(1)), ("id", Value::str("a"))]),
            row(&[("id", Value::str("missing"))]),
            row(&[("n", Value::str("x")), ("id", Value::str("b"))]),
            row(&[("n", Value::Int(5)), ("id", Value::str("c"))]),
            row(&[("n", Value::Null), ("id", Value::str("null"))]),
            row(&[("n", Value::Float(1.0)), ("id", Value::str("d"))]),
            row(&[("n", Value::Int(5)), ("id", Value::str("e"))]),
        ];
        let out = op.apply(rows.clone());
        assert_eq!(
            col(&out, "id"),
            ["b", "c", "e", "a", "d", "missing", "null"]
        );
        let asc = rows_op(&["sort", "n"]).expect("valid").apply(rows);
        assert_eq!(
            col(&asc, "id"),
            ["a", "d", "c", "e", "b", "missing", "null"]
        );
    }

    #[test]
    fn sort_by_several_fields() {
        let op = rows_op(&["sort", "a,b"]).expect("valid");
        let rows = vec![
            row(&[("a", Value::str("x")), ("b", Value::Int(2))]),
            row(&[("a", Value::str("10")), ("b", Value::Int(3))]),
            row(&[("a", Value::str("x")), ("b", Value::Int(1))]),
            row(&[("a", Value::str("9")), ("b", Value::Int(9))]),
        ];
        let out = op.apply(rows);
        assert_eq!(col(&out, "b"), ["9", "3", "1", "2"]);
        let two = rows_op(&["sort", "a", "b"]).expect("valid");
        assert_eq!(col(&two.apply(out), "b"), ["9", "3", "1", "2"]);
    }

    #[test]
    fn sort_agrees_with_value_sort_cmp() {
        let vals = [
            Value::Int(3),
            Value::Float(2.5),
            Value::str("3"),
            Value::str("03"),
            Value::str(" 3"),
            Value::str("abc"),
            Value::str("Abc"),
            Value::Bool(true),
            Value::str("é"),
            Value::str(""),
            Value::Float(-0.0),
            Value::Int(0),
        ];
        for a in &vals {
            for b in &vals {
                let ka = SortKey::from_value(Cow::Borrowed(a));
                let kb = SortKey::from_value(Cow::Borrowed(b));
                assert_eq!(ka.cmp(&kb, false), a.sort_cmp(b), "{a:?} {b:?}");
                assert_eq!(kb.cmp(&ka, true), a.sort_cmp(b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn sort_reaches_into_json() {
        let op = rows_op(&["sort", "u.id"]).expect("valid");
        let mk = |id: i64| row(&[("u", Value::Json(Box::new(serde_json::json!({ "id": id }))))]);
        let out = op.apply(vec![mk(10), mk(2), row(&[]), mk(7)]);
        let ids: Vec<String> = out
            .iter()
            .map(|r| {
                r.lookup("u.id")
                    .map(|v| v.text().into_owned())
                    .unwrap_or("-".into())
            })
            .collect();
        assert_eq!(ids, ["2", "7", "10", "-"]);
    }

    #[test]
    fn sort_needs_a_field() {
        assert!(rows_op(&["sort"]).is_err());
        assert!(rows_op(&["sort", "a,"]).is_err());
        assert!(rows_op(&["sort", "-r"]).is_err());
    }
}
