//! `top N [-f FIELD]`: the N rows of an aggregation's result with the
//! largest FIELD (default `count`), largest first; ties by the other fields
//! ascending in `sort`'s order, column by column.

use std::cmp::Ordering;

use clap::{Arg, ArgMatches};

use crate::ops::sort::{SortKey, permute};
use crate::ops::{BuildCx, Built, Operator, RowsOp, Stage};
use crate::record::Record;

pub struct Top;

impl Operator for Top {
    fn name(&self) -> &'static str {
        "top"
    }
    fn summary(&self) -> &'static str {
        "Keep the N rows with the largest FIELD (default count), largest first"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new("n")
                .value_name("N")
                .required(true)
                .value_parser(parse_n)
                .help("How many rows to keep (1 or more)"),
        )
        .arg(
            Arg::new("field")
                .short('f')
                .long("field")
                .value_name("FIELD")
                .default_value("count")
                .help("Rank rows by this field"),
        )
        .after_help(
            "Only after an aggregation. Numbers, and text that reads as a number, compare \
             numerically and rank above any other text, which ranks by its bytes, \
             descending; rows lacking FIELD (or where it is empty, as a mean of no numbers) \
             rank last. Ties are broken by the row's other fields ascending, in sort's \
             order, column by column.\n\nExamples:\n  \
             spate -b eof split then count-by-key then top 10\n  \
             spate -b 10s json then stats -f latency_ms -a p99 -g service then top 3 -f p99",
        )
    }
    fn stage(&self) -> Stage {
        Stage::AfterAggregation
    }
    fn fields(&self, m: &ArgMatches) -> Vec<String> {
        crate::ops::one(m, "field")
    }
    fn build(&self, m: &ArgMatches, _cx: &BuildCx) -> Result<Built, String> {
        let n = m
            .get_one::<usize>("n")
            .copied()
            .ok_or("needs N, the number of rows to keep")?;
        let field = m
            .get_one::<String>("field")
            .cloned()
            .unwrap_or_else(|| "count".into());
        if field.is_empty() {
            return Err("the field name must not be empty".into());
        }
        Ok(Built::Rows(Box::new(TopOp { n, field })))
    }
}

fn parse_n(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("N must be a whole number of rows, 1 or more".to_string()),
    }
}

struct TopOp {
    n: usize,
    field: String,
}

/// A row's rank: its FIELD, then its other columns for ties.
struct Rank<'r> {
    key: SortKey<'r>,
    rest: Vec<SortKey<'r>>,
}

impl<'r> Rank<'r> {
    fn of(row: &'r Record<'static>, field: &str) -> Self {
        // The ranked column is skipped in the tie-break by identity, which
        // finds it whichever way it is named (`_` is printed as `value`).
        let ranked = row.get(field).map(std::ptr::from_ref);
        let rest = row
            .columns()
            .filter(|(_, v)| Some(std::ptr::from_ref(*v)) != ranked)
            .map(|(_, v)| SortKey::from_value(std::borrow::Cow::Borrowed(v)))
            .collect();
        Rank {
            key: SortKey::of(row, field),
            rest,
        }
    }

    fn cmp(&self, other: &Rank<'_>) -> Ordering {
        let key = match (&self.key, &other.key) {
            // numbers rank above other text whichever way we sort
            (SortKey::Num(..), SortKey::Text(_)) => Ordering::Less,
            (SortKey::Text(_), SortKey::Num(..)) => Ordering::Greater,
            (a, b) => a.cmp(b, true),
        };
        key.then_with(|| {
            self.rest
                .iter()
                .zip(&other.rest)
                .map(|(a, b)| a.cmp(b, false))
                .find(|o| o.is_ne())
                .unwrap_or_else(|| self.rest.len().cmp(&other.rest.len()))
        })
    }
}

impl RowsOp for TopOp {
    fn apply(&self, rows: Vec<Record<'static>>) -> Vec<Record<'static>> {
        let order: Vec<usize> = {
            let ranks: Vec<Rank<'_>> = rows.iter().map(|r| Rank::of(r, &self.field)).collect();
            // The index makes the order total, so the unstable selection
            // below is deterministic and keeps equal rows in input order.
            let cmp = |a: &usize, b: &usize| ranks[*a].cmp(&ranks[*b]).then(a.cmp(b));
            let mut idx: Vec<usize> = (0..rows.len()).collect();
            if self.n < idx.len() {
                idx.select_nth_unstable_by(self.n - 1, cmp);
                idx.truncate(self.n);
            }
            idx.sort_unstable_by(cmp);
            idx
        };
        permute(rows, &order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::rows_op;
    use crate::value::Value;
    use std::borrow::Cow;

    fn kc(key: &'static str, count: i64) -> Record<'static> {
        Record::row(vec![
            (Cow::Borrowed("key"), Value::str(key)),
            (Cow::Borrowed("count"), Value::Int(count)),
        ])
    }

    fn keys(rows: &[Record<'static>]) -> Vec<String> {
        rows.iter()
            .map(|r| {
                r.get("key")
                    .map(|v| v.text().into_owned())
                    .unwrap_or("-".into())
            })
            .collect()
    }

    #[test]
    fn top_largest_first_ties_by_other_fields() {
        let op = rows_op(&["top", "3"]).expect("valid");
        let rows = vec![
            kc("b", 2),
            kc("z", 1),
            kc("c", 5),
            kc("a", 2),
            kc("10", 2),
            kc("9", 2),
        ];
        assert_eq!(keys(&op.apply(rows.clone())), ["c", "9", "10"]);
        let all = rows_op(&["top", "100"]).expect("valid").apply(rows);
        assert_eq!(keys(&all), ["c", "9", "10", "a", "b", "z"]);
    }

    #[test]
    fn top_ties_compare_columns_in_order() {
        let row = |g: &'static str, h: i64, n: i64| {
            Record::row(vec![
                (Cow::Borrowed("g"), Value::str(g)),
                (Cow::Borrowed("n"), Value::Int(n)),
                (Cow::Borrowed("h"), Value::Int(h)),
            ])
        };
        let op = rows_op(&["top", "4", "-f", "n"]).expect("valid");
        let out = op.apply(vec![
            row("b", 1, 7),
            row("a", 9, 7),
            row("a", 2, 7),
            row("c", 0, 8),
        ]);
        let got: Vec<String> = out
            .iter()
            .map(|r| {
                r.columns()
                    .map(|(_, v)| v.text().into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(got, ["c 8 0", "a 7 2", "a 7 9", "b 7 1"]);
    }

    #[test]
    fn top_missing_and_text_rank_last() {
        let op = rows_op(&["top", "5", "-f", "mean"]).expect("valid");
        let row = |k: &'static str, mean: Option<Value<'static>>| {
            let mut f = vec![(Cow::Borrowed("key"), Value::str(k))];
            if let Some(m) = mean {
                f.push((Cow::Borrowed("mean"), m));
            }
            Record::row(f)
        };
        let out = op.apply(vec![
            row("none", None),
            row("null", Some(Value::Null)),
            row("text", Some(Value::str("n/a"))),
            row("small", Some(Value::Float(0.5))),
            row("big", Some(Value::str("12.5"))),
        ]);
        assert_eq!(keys(&out), ["big", "small", "text", "none", "null"]);
    }

    #[test]
    fn top_by_current_value() {
        let op = rows_op(&["top", "2", "-f", "_"]).expect("valid");
        let rows: Vec<Record<'static>> = ["3", "20", "x", "100"]
            .iter()
            .map(|l| Record::from_line(Cow::Borrowed(*l), "").into_owned())
            .collect();
        let out = op.apply(rows);
        let got: Vec<String> = out
            .iter()
            .map(|r| {
                r.get("_")
                    .map(|v| v.text().into_owned())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(got, ["100", "20"]);
    }

    #[test]
    fn top_needs_n_of_at_least_one() {
        for bad in [&["0"][..], &["-3"], &["x"], &[]] {
            assert!(rows_op(&[&["top"], bad].concat()).is_err(), "{bad:?}");
        }
        let e = rows_op(&["top", "0"]).err().unwrap_or_default();
        assert!(e.contains("1 or more"), "{e}");
        assert!(
            rows_op(&["top", "1"])
                .expect("valid")
                .apply(Vec::new())
                .is_empty()
        );
    }
}
