//! `head [N]`: the first N rows of each batch (default 10). Before an
//! aggregation the rows are the batch's records, in arrival order; after one
//! they are its result rows, in the aggregation's order.

use clap::{Arg, ArgMatches};

use crate::ops::spark::{Spark, SparkCx, SparkMap, reads_nothing};
use crate::ops::{BuildCx, Built, Operator, RowsOp, Stage};
use crate::record::Record;

pub struct Head;

impl Operator for Head {
    fn name(&self) -> &'static str {
        "head"
    }
    fn summary(&self) -> &'static str {
        "Keep the first N rows of each batch"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new("n")
                .value_name("N")
                .default_value("10")
                .value_parser(parse_count)
                .help("How many rows to keep"),
        )
        .after_help(
            "Valid before or after an aggregation. Before one, the batch's records are kept \
             until the batch closes and the first N, in input order, are printed; after one, \
             the first N result rows in the aggregation's order. `head 0` keeps no rows, as \
             `head -n 0` does.\n\nExamples:\n  \
             spate -b eof split then count-by-key then head 3\n  \
             spate -b 10s json then fields service,latency_ms then head 5",
        )
    }
    fn stage(&self) -> Stage {
        Stage::Rows
    }
    fn build(&self, m: &ArgMatches, _cx: &BuildCx) -> Result<Built, String> {
        let n = m.get_one::<usize>("n").copied().unwrap_or(10);
        Ok(Built::Rows(Box::new(HeadOp { n })))
    }
    fn spark(&self) -> Spark {
        Spark::Map(SparkMap {
            reads: reads_nothing,
            map: to_spark,
        })
    }
}

/// The runtime's `op_head`, on each batch's rows on the driver.
fn to_spark(m: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    let n = m.get_one::<usize>("n").copied().unwrap_or(10);
    cx.post(format!("rows = op_head(rows, {n})"));
    Ok(())
}

/// A row count: a whole number, 0 included.
fn parse_count(s: &str) -> Result<usize, String> {
    s.trim()
        .parse::<usize>()
        .map_err(|_| "N must be a whole number of rows, 0 or more".to_string())
}

struct HeadOp {
    n: usize,
}

impl RowsOp for HeadOp {
    fn apply(&self, mut rows: Vec<Record<'static>>) -> Vec<Record<'static>> {
        rows.truncate(self.n);
        rows
    }

    fn order(&self, rows: &[Record<'static>]) -> Option<Vec<usize>> {
        Some((0..rows.len().min(self.n)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::rows_op;
    use crate::value::Value;
    use std::borrow::Cow;

    fn rows(n: i64) -> Vec<Record<'static>> {
        (0..n)
            .map(|i| Record::row(vec![(Cow::Borrowed("i"), Value::Int(i))]))
            .collect()
    }

    fn ids(rows: &[Record<'static>]) -> Vec<String> {
        rows.iter()
            .map(|r| {
                r.get("i")
                    .map(|v| v.text().into_owned())
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn head_keeps_the_first_n_rows() {
        let op = rows_op(&["head", "2"]).expect("valid");
        assert_eq!(ids(&op.apply(rows(5))), ["0", "1"]);
        assert_eq!(ids(&op.apply(rows(1))), ["0"]);
        assert!(op.apply(Vec::new()).is_empty());
    }

    #[test]
    fn head_defaults_to_ten_and_allows_zero() {
        assert_eq!(rows_op(&["head"]).expect("valid").apply(rows(20)).len(), 10);
        assert!(
            rows_op(&["head", "0"])
                .expect("valid")
                .apply(rows(3))
                .is_empty()
        );
    }

    #[test]
    fn head_rejects_bad_counts() {
        for bad in ["-1", "x", "1.5", ""] {
            let e = rows_op(&["head", bad]).err().unwrap_or_default();
            assert!(e.contains("whole number"), "{bad}: {e}");
        }
    }

    #[test]
    fn head_keeps_raw_records() {
        let op = rows_op(&["head", "1"]).expect("valid");
        let recs = vec![
            Record::from_line(Cow::Borrowed("a"), "").into_owned(),
            Record::from_line(Cow::Borrowed("b"), "").into_owned(),
        ];
        let out = op.apply(recs);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].get("_").map(|v| v.text().into_owned()),
            Some("a".into())
        );
    }
}
