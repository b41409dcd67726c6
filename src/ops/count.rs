//! `count`: the number of records in the batch (or window).

use std::borrow::Cow;

use clap::ArgMatches;

use crate::agg::{AggState, Aggregation, same};
use crate::ops::spark::{
    Spark, SparkAggregate, SparkCx, SparkMap, SparkValue, ValueKind, reads_nothing,
};
use crate::ops::{BuildCx, Built, Operator, Stage};
use crate::record::Record;
use crate::state::codec::{self, Decoder, Encoder};
use crate::value::Value;

pub struct Count;

impl Operator for Count {
    fn name(&self) -> &'static str {
        "count"
    }
    fn summary(&self) -> &'static str {
        "Count the records of each batch (Spark's count)"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.after_help(
            "Output field: count. An empty batch has no row, or a row of 0 with --emit-empty.\n\n\
             Example:\n  spate -b 10s grep ERROR then count",
        )
    }
    fn stage(&self) -> Stage {
        Stage::Aggregation
    }
    fn build(&self, _m: &ArgMatches, _cx: &BuildCx) -> Result<Built, String> {
        Ok(Built::Aggregation(Box::new(CountAgg)))
    }
    fn spark(&self) -> Spark {
        Spark::Map(SparkMap {
            reads: reads_nothing,
            map: to_spark,
        })
    }
}

/// One row: the number of records.
fn to_spark(_: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    cx.aggregate(SparkAggregate {
        keys: Vec::new(),
        values: vec![SparkValue {
            name: "count".into(),
            expr: "F.count(F.lit(1))".into(),
            kind: ValueKind::Int,
        }],
    });
    Ok(())
}

struct CountAgg;

impl Aggregation for CountAgg {
    fn new_state(&self) -> Box<dyn AggState> {
        Box::new(Counter(0))
    }
    fn load(&self, d: &mut Decoder<'_>) -> codec::Result<Box<dyn AggState>> {
        Ok(Box::new(Counter(d.u64()?)))
    }
    fn columns(&self) -> Option<Vec<String>> {
        Some(vec!["count".into()])
    }
}

struct Counter(u64);

impl AggState for Counter {
    fn save(&self, e: &mut Encoder) {
        e.u64(self.0);
    }
    fn add(&mut self, _rec: &Record<'_>) {
        self.0 += 1;
    }
    fn add_current(&mut self, _text: &str) {
        self.0 += 1;
    }
    fn add_current_ascii(&mut self, _text: &[u8]) {
        self.0 += 1;
    }
    fn counts_only(&self) -> bool {
        true
    }
    fn add_lines(&mut self, lines: u64) {
        self.0 += lines;
    }
    fn add_ascii_words(&mut self, block: &[u8]) -> Option<(u64, u64, u64)> {
        let mut n = 0u64;
        let (with, without) = crate::ops::split::ascii_words_lines(block, |_| n += 1);
        self.0 += n;
        Some((with, without, n))
    }
    fn merge(&mut self, other: &dyn AggState) {
        self.0 += same::<Counter>(other, "count").0;
    }
    fn emit(&self, emit_empty: bool) -> Vec<Record<'static>> {
        if self.0 == 0 && !emit_empty {
            return Vec::new();
        }
        vec![Record::row(vec![(
            Cow::Borrowed("count"),
            Value::Int(self.0 as i64),
        )])]
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn is_empty(&self) -> bool {
        self.0 == 0
    }
}
