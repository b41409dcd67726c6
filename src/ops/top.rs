//! `top N [-f FIELD] [-g FIELD,...]`: the N rows of an aggregation's
//! result with the largest FIELD (default `count`), largest first; ties by
//! the other fields ascending in `sort`'s order, column by column. With
//! `-g`, the N largest of each group (values are one group when they print
//! the same), groups in ascending `sort` order, a missing or empty group
//! value last.

use std::borrow::Cow;
use std::cmp::Ordering;

use clap::{Arg, ArgMatches};

use crate::ops::sort::{SortKey, permute};
use crate::ops::spark::{Spark, SparkCx, SparkMap, arg, py, py_list, reads_nothing};
use crate::ops::{BuildCx, Built, Operator, RowsOp, Stage, name_list};
use crate::record::Record;
use crate::value::Value;

pub struct Top;

impl Operator for Top {
    fn name(&self) -> &'static str {
        "top"
    }
    fn summary(&self) -> &'static str {
        "Keep the N rows with the largest FIELD (default count), or the N of each group"
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
        .arg(
            Arg::new("group")
                .short('g')
                .long("group")
                .value_name("FIELD,...")
                .help("The N largest of each group of rows with the same values of these fields"),
        )
        .after_help(
            "Only after an aggregation. Numbers, and text that reads as a number, compare \
             numerically and rank above any other text, which ranks by its bytes, \
             descending; rows lacking FIELD (or where it is empty, as a mean of no numbers) \
             rank last. Ties are broken by the row's other fields ascending, in sort's \
             order, column by column.\n\n\
             With -g, the N largest rows of each group, where a group is the rows whose \
             group fields print the same (200 and 200.0 are one group; 007 and 7 are two); \
             groups come in ascending order, as sort orders them, a row lacking a group \
             field in the group of empty values, last.\n\nExamples:\n  \
             spate -b eof split then count-by-key then top 10\n  \
             spate -b 10s json then stats -f latency_ms -a p99 -g service then top 3 -f p99\n  \
             spate -b eof json then stats -f ms -a p99 -g service,path then top 3 -f p99 -g service",
        )
    }
    fn stage(&self) -> Stage {
        Stage::AfterAggregation
    }
    fn fields(&self, m: &ArgMatches) -> Vec<String> {
        let mut v = crate::ops::one(m, "field");
        v.extend(crate::ops::listed(m, "group"));
        v
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
        let groups = match m.get_one::<String>("group") {
            Some(g) => name_list(g)?,
            None => Vec::new(),
        };
        Ok(Built::Rows(Box::new(TopOp { n, field, groups })))
    }
    fn spark(&self) -> Spark {
        Spark::Map(SparkMap {
            reads: reads_nothing,
            map: to_spark,
        })
    }
}

/// The runtime's `op_top`, on each batch's rows on the driver (where the
/// aggregation's rows already are), with `-g` the N of each group: the
/// rows are ordered and cut there by spate's own rules, which a Spark
/// window's `row_number` would have to spell out again in Spark's order.
fn to_spark(m: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    let n = m.get_one::<usize>("n").copied().unwrap_or(10);
    let field = arg(m, "field").unwrap_or_else(|| "count".into());
    let groups = match m.get_one::<String>("group") {
        Some(g) => name_list(g)?,
        None => Vec::new(),
    };
    if groups.is_empty() {
        cx.post(format!("rows = op_top(rows, {n}, {})", py(&field)));
    } else {
        let groups: Vec<String> = groups.iter().map(|g| py(g)).collect();
        cx.post(format!(
            "rows = op_top(rows, {n}, {}, {})",
            py(&field),
            py_list(&groups)
        ));
    }
    Ok(())
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
    /// `-g`: the group fields; none for one group of every row.
    groups: Vec<String>,
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

/// A row's group: each group field as it prints (a missing or null one
/// prints empty), and its place in `sort`'s order (empty last).
struct Group<'r> {
    texts: Vec<Cow<'r, str>>,
    keys: Vec<SortKey<'r>>,
}

impl<'r> Group<'r> {
    fn of(row: &'r Record<'static>, fields: &[String]) -> Self {
        let texts: Vec<Cow<'r, str>> = fields
            .iter()
            .map(|f| match row.lookup(f) {
                None => Cow::Borrowed(""),
                Some(Cow::Borrowed(v)) => v.text(),
                Some(Cow::Owned(v)) => Cow::Owned(v.text().into_owned()),
            })
            .collect();
        // ordered by the printed text, so that the values of one group
        // are equal in the order too
        let keys = texts
            .iter()
            .map(|t| match t.as_ref() {
                "" => SortKey::Missing,
                t => SortKey::from_value(Cow::Owned(Value::owned_str(t.to_string()))),
            })
            .collect();
        Group { texts, keys }
    }

    fn cmp(&self, other: &Group<'_>) -> Ordering {
        self.keys
            .iter()
            .zip(&other.keys)
            .map(|(a, b)| a.cmp(b, false))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl TopOp {
    /// `-g`: every row ordered by its group, then by rank; the first N of
    /// each run of one group are kept.
    fn apply_grouped(&self, rows: Vec<Record<'static>>) -> Vec<Record<'static>> {
        let order: Vec<usize> = {
            let ranks: Vec<Rank<'_>> = rows.iter().map(|r| Rank::of(r, &self.field)).collect();
            let groups: Vec<Group<'_>> = rows.iter().map(|r| Group::of(r, &self.groups)).collect();
            let mut idx: Vec<usize> = (0..rows.len()).collect();
            idx.sort_unstable_by(|a, b| {
                groups[*a]
                    .cmp(&groups[*b])
                    .then_with(|| ranks[*a].cmp(&ranks[*b]))
                    .then(a.cmp(b))
            });
            let mut kept = Vec::with_capacity(idx.len().min(self.n * 16));
            let mut run = 0;
            for (k, &i) in idx.iter().enumerate() {
                let same = k > 0 && groups[idx[k - 1]].texts == groups[i].texts;
                run = if same { run + 1 } else { 0 };
                if run < self.n {
                    kept.push(i);
                }
            }
            kept
        };
        permute(rows, &order)
    }
}

impl RowsOp for TopOp {
    fn apply(&self, rows: Vec<Record<'static>>) -> Vec<Record<'static>> {
        if !self.groups.is_empty() {
            return self.apply_grouped(rows);
        }
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

    /// Rows of (svc, path, p99) as `svc path p99`.
    fn grouped(args: &[&str], rows: &[(Option<Value<'static>>, &'static str, i64)]) -> Vec<String> {
        let op = rows_op(&[&["top"], args].concat()).expect("valid");
        let rows: Vec<Record<'static>> = rows
            .iter()
            .map(|(svc, path, p99)| {
                let mut f = Vec::new();
                if let Some(s) = svc {
                    f.push((Cow::Borrowed("svc"), s.clone()));
                }
                f.push((Cow::Borrowed("path"), Value::str(path)));
                f.push((Cow::Borrowed("p99"), Value::Int(*p99)));
                Record::row(f)
            })
            .collect();
        op.apply(rows)
            .iter()
            .map(|r| {
                r.columns()
                    .map(|(_, v)| v.text().into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    #[test]
    fn top_per_group_groups_ascending_largest_first() {
        let s = |t: &'static str| Some(Value::str(t));
        let rows = [
            (s("web"), "/a", 5),
            (s("api"), "/x", 9),
            (s("web"), "/b", 50),
            (s("api"), "/y", 90),
            (s("web"), "/c", 7),
            (s("api"), "/z", 1),
            (s("db"), "/q", 3),
        ];
        assert_eq!(
            grouped(&["2", "-f", "p99", "-g", "svc"], &rows),
            ["api /y 90", "api /x 9", "db /q 3", "web /b 50", "web /c 7"]
        );
        // with N beyond every group's size: every row, in group order
        assert_eq!(grouped(&["9", "-f", "p99", "-g", "svc"], &rows).len(), 7);
    }

    #[test]
    fn top_per_group_ties_by_the_other_fields() {
        let s = |t: &'static str| Some(Value::str(t));
        let rows = [(s("a"), "/z", 5), (s("a"), "/b", 5), (s("a"), "/m", 5)];
        assert_eq!(
            grouped(&["2", "-f", "p99", "-g", "svc"], &rows),
            ["a /b 5", "a /m 5"]
        );
    }

    #[test]
    fn top_per_group_keys_are_equal_when_they_print_the_same() {
        let rows = [
            (Some(Value::Int(200)), "/a", 1),
            (Some(Value::str("200")), "/b", 3),
            (Some(Value::Float(200.0)), "/c", 2),
            (Some(Value::str("007")), "/d", 1),
            (Some(Value::str("7")), "/e", 1),
            (Some(Value::str("10")), "/f", 1),
            (Some(Value::str("x")), "/g", 1),
        ];
        // 200, 200 and 200.0 are one group; 007 and 7 two, in sort's order
        // (numerically, then by text); numbers before other text
        assert_eq!(
            grouped(&["1", "-f", "p99", "-g", "svc"], &rows),
            ["007 /d 1", "7 /e 1", "10 /f 1", "200 /b 3", "x /g 1"]
        );
    }

    #[test]
    fn top_per_group_missing_and_empty_are_one_group_last() {
        let rows = [
            (None, "/a", 1),
            (Some(Value::str("")), "/b", 2),
            (Some(Value::Null), "/c", 3),
            (Some(Value::str("b")), "/d", 1),
        ];
        assert_eq!(
            grouped(&["2", "-f", "p99", "-g", "svc"], &rows),
            ["b /d 1", " /c 3", " /b 2"]
        );
    }

    #[test]
    fn top_per_group_of_several_fields() {
        let s = |t: &'static str| Some(Value::str(t));
        let rows = [
            (s("a"), "/x", 1),
            (s("a"), "/x", 2),
            (s("a"), "/y", 3),
            (s("b"), "/x", 4),
        ];
        assert_eq!(
            grouped(&["1", "-f", "p99", "-g", "svc,path"], &rows),
            ["a /x 2", "a /y 3", "b /x 4"]
        );
        assert!(rows_op(&["top", "1", "-g", "a,,b"]).is_err());
    }

    #[test]
    fn top_fields_are_the_ranked_and_the_group_fields() {
        use crate::ops::{Operator, command_for};
        let m = command_for(&Top)
            .try_get_matches_from(["top", "3", "-f", "p99", "-g", "svc,path"])
            .expect("parses");
        assert_eq!(Top.fields(&m), ["p99", "svc", "path"]);
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
