//! `fields F1,F2,...`: keeps only the listed fields, in the listed order;
//! `_` stays only when listed. Values move, they are not copied.

use std::borrow::Cow;

use clap::{Arg, ArgAction, ArgMatches};

use crate::accounting::Ctx;
use crate::ops::spark::{Spark, SparkCx, SparkMap, reads_fields};
use crate::ops::{BuildCx, Built, Operator, RecordOp, Stage, name_list};
use crate::record::{CURRENT, Name, Record, column_name};
use crate::value::Value;

pub struct Fields;

impl Operator for Fields {
    fn name(&self) -> &'static str {
        "fields"
    }
    fn summary(&self) -> &'static str {
        "Keep only these fields, in this order"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new("fields")
                .value_name("FIELD")
                .action(ArgAction::Append)
                .help("Fields to keep, comma- or space-separated; _ keeps the current value"),
        )
        .after_help(
            "A listed field that a record lacks is left out of that record: absent in \
             jsonl and json, an empty cell in csv, tsv and pretty, whose columns are the \
             list. _ is kept only when listed, in its place among the others \
             (printed as 'value'). A dotted name reaches into JSON and keeps the \
             nested value as a field of that dotted name. A name listed twice counts once. \
             After an aggregation it picks and orders the columns of the rows.\n\n\
             Examples:\n  \
             spate json then fields ts,service,latency_ms\n  \
             spate logfmt then fields level msg\n  \
             spate -b eof split then count-by-key then fields count,key",
        )
    }
    fn stage(&self) -> Stage {
        Stage::PerRecord
    }
    fn fields(&self, m: &ArgMatches) -> Vec<String> {
        crate::ops::listed(m, "fields")
    }
    fn build(&self, m: &ArgMatches, _cx: &BuildCx) -> Result<Built, String> {
        let mut names: Vec<String> = Vec::new();
        for word in m.get_many::<String>("fields").into_iter().flatten() {
            for name in name_list(word)? {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        // `_` listed first stays the record's current value; listed later
        // it moves among the fields, in its place
        let keep_value = names.first().is_some_and(|n| n == CURRENT);
        if keep_value {
            names.remove(0);
        }
        if names.is_empty() && !keep_value {
            return Err("needs at least one field name, e.g. fields status,path".into());
        }
        let dotted = names.iter().any(|n| n.contains('.'));
        Ok(Built::Record(Box::new(FieldsOp {
            names,
            keep_value,
            dotted,
        })))
    }
    fn spark(&self) -> Spark {
        Spark::Map(SparkMap {
            reads: reads_fields,
            map: to_spark,
        })
    }
}

/// The program's records keep only these fields: `_` first when listed,
/// then the others in the listed order, each once.
fn to_spark(m: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    let mut keep_value = false;
    let mut names: Vec<String> = Vec::new();
    for word in m.get_many::<String>("fields").into_iter().flatten() {
        for n in name_list(word)? {
            if n == CURRENT {
                keep_value = true;
            } else if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    if keep_value {
        names.insert(0, CURRENT.to_string());
    }
    cx.keep(&names);
    Ok(())
}

struct FieldsOp {
    /// The names to keep, in order (`_` when listed after another name).
    names: Vec<String>,
    keep_value: bool,
    /// Whether any name may be a path into JSON.
    dotted: bool,
}

impl RecordOp for FieldsOp {
    /// Its list, whatever it takes: a record that lacks a listed field
    /// gets an empty cell in `csv` and `tsv`.
    fn columns(&self, _input: Option<&[String]>) -> Option<Vec<String>> {
        let value = self.keep_value.then_some(CURRENT);
        let names = value
            .into_iter()
            .chain(self.names.iter().map(String::as_str));
        Some(names.map(|n| column_name(n).to_string()).collect())
    }

    fn process<'a>(&self, mut rec: Record<'a>, out: &mut Vec<Record<'a>>, _cx: &mut Ctx) {
        if self.keep_value {
            if rec.value.is_none() {
                // an aggregation's `_` group column is one of the row's
                // fields: it becomes the current value, first
                rec.value = rec.take_current();
            }
        } else {
            if let Some(v) = rec.value.take() {
                if self.names.iter().any(|n| n == CURRENT) {
                    // into the fields, where the list puts it below
                    rec.fields.push((Cow::Borrowed(CURRENT), v));
                }
            }
        }
        // Paths into JSON are resolved before any field moves, so that
        // `fields user,user.id` still finds `user` for the second name.
        let mut nested: Vec<Option<Value<'a>>> = if self.dotted {
            self.names
                .iter()
                .map(|n| {
                    let exact = rec.fields.iter().any(|(f, _)| f == n);
                    if exact || !n.contains('.') {
                        None
                    } else {
                        rec.lookup(n).map(Cow::into_owned)
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut old = std::mem::take(&mut rec.fields);
        let mut kept: Vec<(Name<'a>, Value<'a>)> = Vec::with_capacity(self.names.len());
        for (i, name) in self.names.iter().enumerate() {
            if let Some(slot) = old.iter_mut().find(|(f, _)| f == name) {
                // names are non-empty, so a moved-out slot never matches again
                kept.push((
                    std::mem::take(&mut slot.0),
                    std::mem::replace(&mut slot.1, Value::Null),
                ));
            } else if let Some(v) = nested.get_mut(i).and_then(Option::take) {
                kept.push((Cow::Owned(name.clone()), v));
            }
        }
        rec.fields = kept;
        out.push(rec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::record_op;

    /// The record's columns after `fields`, as (name, text).
    fn run(args: &[&str], rec: Record<'_>) -> Vec<(String, String)> {
        let op = record_op(&[&["fields"], args].concat())
            .unwrap_or_else(|e| panic!("fields {args:?}: {e}"));
        let mut out = Vec::new();
        op.process(rec, &mut out, &mut Ctx::default());
        assert_eq!(out.len(), 1, "fields never drops a record");
        out[0]
            .columns()
            .map(|(n, v)| (n.to_string(), v.text().into_owned()))
            .collect()
    }

    fn rec() -> Record<'static> {
        let mut r = Record::from_line(Cow::Borrowed("line"), "line");
        r.set(Cow::Borrowed("a"), Value::str("1"));
        r.set(Cow::Borrowed("b"), Value::Int(2));
        r.set(Cow::Borrowed("c"), Value::str("3"));
        r
    }

    fn cols(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fields_keeps_listed_in_order() {
        assert_eq!(run(&["c,a"], rec()), cols(&[("c", "3"), ("a", "1")]));
        assert_eq!(
            run(&["c", "b,a"], rec()),
            cols(&[("c", "3"), ("b", "2"), ("a", "1")])
        );
        assert_eq!(run(&[" b , a "], rec()), cols(&[("b", "2"), ("a", "1")]));
    }

    #[test]
    fn fields_current_value_only_when_listed() {
        assert_eq!(run(&["_,b"], rec()), cols(&[("value", "line"), ("b", "2")]));
        assert_eq!(run(&["_"], rec()), cols(&[("value", "line")]));
    }

    /// 0.1 printed `_` first whatever the list said (`fields n,_`).
    #[test]
    fn fields_current_value_keeps_its_listed_place() {
        assert_eq!(run(&["b,_"], rec()), cols(&[("b", "2"), ("value", "line")]));
        assert_eq!(
            run(&["c", "_", "a"], rec()),
            cols(&[("c", "3"), ("value", "line"), ("a", "1")])
        );
        // still the current value for what comes next
        let op = record_op(&["fields", "b,_"]).expect("valid");
        let mut out = Vec::new();
        op.process(rec(), &mut out, &mut Ctx::default());
        let mut r = out.remove(0);
        assert_eq!(
            r.get("_").map(|v| v.text().into_owned()),
            Some("line".into())
        );
        r.set(Cow::Borrowed("_"), Value::str("new"));
        let names: Vec<(String, String)> = r
            .columns()
            .map(|(n, v)| (n.to_string(), v.text().into_owned()))
            .collect();
        assert_eq!(names, cols(&[("b", "2"), ("value", "new")]));
        assert_eq!(
            r.take_current().map(|v| v.text().into_owned()),
            Some("new".into())
        );
        assert!(r.get("_").is_none());
    }

    #[test]
    fn fields_missing_omitted_and_duplicates_once() {
        assert_eq!(run(&["x,a,y"], rec()), cols(&[("a", "1")]));
        assert_eq!(run(&["a,a", "a"], rec()), cols(&[("a", "1")]));
        assert!(run(&["nope"], rec()).is_empty());
    }

    #[test]
    fn fields_moves_borrowed_values() {
        let op = record_op(&["fields", "a"]).expect("valid");
        let mut out = Vec::new();
        op.process(rec(), &mut out, &mut Ctx::default());
        assert!(matches!(
            out[0].fields[0],
            (
                Cow::Borrowed("a"),
                Value::Str(crate::value::Text {
                    s: Cow::Borrowed("1"),
                    ..
                })
            )
        ));
    }

    #[test]
    fn fields_dotted_names_reach_into_json() {
        let mut r = rec();
        r.set(
            Cow::Borrowed("user"),
            Value::Json(Box::new(serde_json::json!({"id": 7, "geo": {"cc": "fr"}}))),
        );
        assert_eq!(
            run(&["user.geo.cc,a,user.nope"], r.clone()),
            cols(&[("user.geo.cc", "fr"), ("a", "1")])
        );
        assert_eq!(
            run(&["user,user.id"], r),
            cols(&[("user", r#"{"id":7,"geo":{"cc":"fr"}}"#), ("user.id", "7")])
        );
    }

    #[test]
    fn fields_on_rows() {
        let row = Record::row(vec![
            (Cow::Borrowed("key"), Value::str("x")),
            (Cow::Borrowed("count"), Value::Int(3)),
        ]);
        assert_eq!(
            run(&["count,key"], row),
            cols(&[("count", "3"), ("key", "x")])
        );
    }

    /// A `stats -g _` row holds `_` among its fields: listed first, it
    /// was dropped (`fields _,count` gave only the count).
    #[test]
    fn fields_value_first_on_rows_of_a_group_by_value() {
        let row = || {
            Record::row(vec![
                (Cow::Borrowed("_"), Value::str("x")),
                (Cow::Borrowed("a"), Value::Int(1)),
                (Cow::Borrowed("count"), Value::Int(3)),
            ])
        };
        assert_eq!(
            run(&["_,count"], row()),
            cols(&[("value", "x"), ("count", "3")])
        );
        assert_eq!(
            run(&["_,a,count"], row()),
            cols(&[("value", "x"), ("a", "1"), ("count", "3")])
        );
        assert_eq!(
            run(&["count,_"], row()),
            cols(&[("count", "3"), ("value", "x")])
        );
        assert_eq!(run(&["count"], row()), cols(&[("count", "3")]));
    }

    #[test]
    fn fields_errors() {
        assert!(
            record_op(&["fields"])
                .err()
                .unwrap_or_default()
                .contains("at least one field")
        );
        assert!(
            record_op(&["fields", "a,,b"])
                .err()
                .unwrap_or_default()
                .contains("empty name")
        );
    }
}
