//! The chain's words into stages and the built chain: each operator found
//! in the registry (a did-you-mean for a misspelt name), its words parsed
//! once by its own clap command, built, and checked for where it stands
//! (an aggregation before `top`, one window, right before an aggregation).

use std::sync::Arc;

use crate::agg::limit::KeyLimit;
use crate::batch::{BatchMode, Batching, WindowSpec};
use crate::ops::chain::{At, Barrier, Chain, Named, PostOp};
use crate::ops::{BuildCx, Built, REGISTRY, Stage, command_for, find};
use crate::plan::{StagePlan, UsageError};

/// The closest operator name, if one is close enough to be a typo.
pub fn suggest(name: &str) -> Option<&'static str> {
    crate::suggest::closest(name, REGISTRY.iter().map(|op| op.name()))
}

/// Cuts the chain at each bare `then`.
pub fn cut(chain: &[String]) -> Result<Vec<Vec<String>>, UsageError> {
    if chain.is_empty() {
        return Err(UsageError::global("no operator given")
            .hint("for example: spate split then count-by-key (see spate --help)"));
    }
    let mut ops: Vec<Vec<String>> = vec![Vec::new()];
    for w in chain {
        if w == "then" {
            ops.push(Vec::new());
        } else if let Some(last) = ops.last_mut() {
            last.push(w.clone());
        }
    }
    for (i, op) in ops.iter().enumerate() {
        if op.is_empty() {
            let place = if i == 0 {
                "at the start of the chain"
            } else if i == ops.len() - 1 {
                "at the end of the chain"
            } else {
                "twice in a row"
            };
            return Err(UsageError::at(
                i + 1,
                None,
                format!("empty operator ('then' {place})"),
            ));
        }
    }
    Ok(ops)
}

/// Each operator's words parsed by its own command, or why they cannot
/// be (reported in chain order by [`build`], after the global options'
/// errors). `Err(text)`: `spate OP --help` anywhere in the chain, to print.
/// `before`: the command line's words before the chain, for the hint
/// when one of spate's options is written after it.
pub fn stages(
    ops: Vec<Vec<String>>,
    before: &[String],
) -> Result<Vec<Result<StagePlan, UsageError>>, String> {
    let all = ops.clone();
    let mut stages = Vec::with_capacity(ops.len());
    for (i, words) in ops.into_iter().enumerate() {
        let pos = i + 1;
        let name = words[0].as_str();
        let Some(op) = find(name) else {
            let hint = match suggest(name) {
                Some(s) => format!("did you mean '{s}'?"),
                None => "see spate --help for the list".to_string(),
            };
            stages.push(Err(
                UsageError::at(pos, Some(name), "unknown operator").hint(hint)
            ));
            continue;
        };
        match command_for(op).try_get_matches_from(&words) {
            Ok(args) => stages.push(Ok(StagePlan {
                pos,
                op,
                words,
                args,
            })),
            Err(e) => {
                use clap::error::{ContextKind, ContextValue, ErrorKind};
                // `spate OP --help` prints that operator's help (as clap
                // sees it: `grep -- --help` greps for "--help")
                if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                    return Err(super::help::operator(op, &words)
                        .unwrap_or_else(|| super::help::styled(&e)));
                }
                // one of spate's options after the chain
                let misplaced = match (e.kind(), e.get(ContextKind::InvalidArg)) {
                    (ErrorKind::UnknownArgument, Some(ContextValue::String(arg))) => {
                        super::options::after_chain(&super::command(), arg, pos, before, &all)
                    }
                    _ => None,
                };
                if let Some(m) = misplaced {
                    stages.push(Err(m));
                    continue;
                }
                stages.push(Err(operator_error(pos, op, &words, &e)));
            }
        }
    }
    Ok(stages)
}

/// An operator's words that its command refused, as one line that says
/// what to type: clap's message, without its tips that do not hold in a
/// chain (`use '-- -1'` for `-1s`, where `-1` is the short clap read);
/// the long option a misspelt one is close to; how to give a word like an
/// option as a value; then the operator's usage, as clap renders it, and
/// where its help is.
fn operator_error(
    pos: usize,
    op: &dyn crate::ops::Operator,
    words: &[String],
    e: &clap::Error,
) -> UsageError {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let mut cmd = command_for(op);
    let invalid = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(a)) if e.kind() == ErrorKind::UnknownArgument => Some(a.as_str()),
        _ => None,
    };
    let mut parts: Vec<String> = super::clap_parts(e)
        .into_iter()
        .filter(|p| {
            !(p.starts_with("tip: to pass ")
                || p.starts_with("tip: a similar argument exists")
                || p.starts_with("tip: some similar arguments exist"))
        })
        .collect();
    // clap names the short it could not read (`-1` of `-1s`): the word
    if let (Some(arg), Some(first)) = (invalid, parts.first_mut()) {
        let mut from = words
            .iter()
            .skip(1)
            .filter(|w| w.len() > arg.len() && w.starts_with(arg));
        if let (false, Some(word), None) =
            (words.iter().any(|w| w == arg), from.next(), from.next())
        {
            *first = first.replace(&format!("'{arg}'"), &format!("'{word}'"));
        }
    }
    let similar = match e.get(ContextKind::SuggestedArg) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => super::options::misspelt_long(&cmd, words),
    };
    if let Some(s) = similar {
        parts.push(format!("did you mean '{s}'?"));
    }
    if let Some(tip) = invalid.and_then(|arg| super::options::as_value(&cmd, words, arg)) {
        parts.push(tip);
    }
    let usage = super::usage_line(&mut cmd, e);
    UsageError::at(pos, Some(op.name()), super::one_line(&parts))
        .hint(format!("usage: {usage} (spate {} --help)", op.name()))
}

/// Builds the chain from its stages, in order: the first error met, an
/// operator's words or where it stands, is the one reported.
pub fn build(
    parsed: Vec<Result<StagePlan, UsageError>>,
    batching: &Batching,
    max_keys: usize,
) -> Result<(Vec<StagePlan>, Chain), UsageError> {
    let cx = BuildCx {
        interval: batching.interval(),
        keys: Arc::new(KeyLimit::new(max_keys)),
    };
    let mut pre = Vec::new();
    let mut barrier: Option<Barrier> = None;
    let mut post = Vec::new();
    let mut aggregates = false;
    let mut pending_window: Option<(usize, WindowSpec)> = None;
    let mut seen_window = false;

    let mut stages = Vec::with_capacity(parsed.len());
    let mut named = Vec::new();
    // what each operator of `pre` reads, and the first aggregation
    let mut pre_reads = Vec::new();
    let mut agg_reads = None;
    for stage in parsed {
        let stage = stage?;
        let (pos, op, name) = (stage.pos, stage.op, stage.name());
        let err = |msg: String| UsageError::at(pos, Some(name), msg);
        let built = op.build(&stage.args, &cx).map_err(err)?;
        // the fields it reads, as its Spark mapping lists them (`json`
        // extracts these on Spark too); one without a mapping may read any
        let reads = match op.spark() {
            crate::ops::spark::Spark::Map(map) => Some((map.reads)(&stage.args)),
            _ => None,
        };
        // where records reach it, once built in its place
        let at = match (op.stage(), &barrier) {
            (Stage::PerRecord, None) => At::Pre(pre.len()),
            (Stage::Aggregation, None) => At::Barrier,
            _ => At::Post(post.len()),
        };
        for field in op.fields(&stage.args) {
            let n = Named {
                pos,
                op: name,
                field,
                at,
            };
            // `_` is every line itself
            if n.field != crate::record::CURRENT && !named.contains(&n) {
                named.push(n);
            }
        }
        if let Some((wpos, _)) = pending_window {
            if op.stage() == Stage::Window {
                return Err(err("only one window per chain".into()));
            }
            if op.stage() != Stage::Aggregation {
                return Err(UsageError::at(
                    wpos,
                    Some("window"),
                    format!("must be followed by count, count-by-key or stats, not by {name}"),
                ));
            }
        }
        match (op.stage(), built) {
            (Stage::PerRecord, Built::Record(r)) => match barrier {
                None => {
                    pre.push(r);
                    pre_reads.push(reads);
                }
                Some(_) => post.push(PostOp::Record(r)),
            },
            (Stage::Rows, Built::Rows(r)) => {
                if barrier.is_none() {
                    barrier = Some(Barrier::Collect);
                }
                post.push(PostOp::Rows(r));
            }
            (Stage::AfterAggregation, Built::Rows(r)) => {
                if !aggregates {
                    return Err(err(
                        "needs an aggregation before it (count, count-by-key or stats)".into(),
                    ));
                }
                post.push(PostOp::Rows(r));
            }
            (Stage::Window, Built::Window(w)) => {
                if seen_window {
                    return Err(err("only one window per chain".into()));
                }
                if barrier.is_some() {
                    return Err(err(
                        "must come before the first aggregation, sort or head (only per-record operators may precede it)".into(),
                    ));
                }
                if let (WindowSpec::Sliding { .. }, BatchMode::Eof) = (w, batching.mode) {
                    return Err(err(
                        "a window LENGTH needs time batches; -b eof makes the whole input one batch (use window all, or -b 1m)".into(),
                    ));
                }
                if let (WindowSpec::Sliding { slide, .. }, Some(zone), Some(b)) =
                    (w, batching.zone, batching.interval())
                {
                    let (slide, b) = (crate::batch::nanos(slide), crate::batch::nanos(b));
                    crate::batch::grid::check_slide(slide, b, zone).map_err(err)?;
                }
                seen_window = true;
                pending_window = Some((pos, w));
            }
            (Stage::Aggregation, Built::Aggregation(a)) => {
                aggregates = true;
                match barrier {
                    None => {
                        agg_reads = reads;
                        barrier = Some(Barrier::Aggregate {
                            agg: a,
                            window: pending_window.take().map(|(_, w)| w),
                        })
                    }
                    Some(_) => post.push(PostOp::Aggregate(a)),
                }
            }
            _ => {
                return Err(err("internal error: operator built the wrong kind".into()));
            }
        }
        stages.push(stage);
    }
    if let Some((wpos, _)) = pending_window {
        return Err(UsageError::at(
            wpos,
            Some("window"),
            "must be followed by count, count-by-key or stats",
        ));
    }
    if let Some(mut after) = agg_reads {
        // `_` unlisted, as the mappings leave it (an operator's default)
        after.push(crate::record::CURRENT.to_string());
        if let Some(crate::batch::EventTime::Field(f)) = &batching.event_time {
            after.push(f.clone());
        }
        keep_only(&mut pre, &pre_reads, after);
    }
    let chain = Chain {
        pre,
        barrier: barrier.unwrap_or(Barrier::Collect),
        post,
        aggregates,
        keys: cx.keys,
        named,
    };
    Ok((stages, chain))
}

/// Tells each per-record operator before the aggregation which fields the
/// ones after it read (`after`: the aggregation's, `_` and event time's),
/// as far back as every operator's Spark mapping lists what it reads.
fn keep_only(
    pre: &mut [Box<dyn crate::ops::RecordOp>],
    reads: &[Option<Vec<String>>],
    mut after: Vec<String>,
) {
    for (op, reads) in pre.iter_mut().zip(reads).rev() {
        op.keep_only(&after);
        match reads {
            Some(r) => after.extend(r.iter().cloned()),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn cli_suggests_close_names() {
        assert_eq!(suggest("count-by-kee"), Some("count-by-key"));
        assert_eq!(suggest("splt"), Some("split"));
        assert_eq!(suggest("zzzzzzzz"), None);
    }

    #[test]
    fn cli_cuts_chain_at_then() {
        let ops = cut(&words("split then count-by-key status then head 3")).unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[1], ["count-by-key", "status"]);
    }

    /// The columns the built chain tells the output formats, as the
    /// words say them.
    fn columns(chain: &str) -> Option<Vec<String>> {
        let parsed = stages(cut(&words(chain)).expect("a chain"), &[]).expect("no --help");
        let batching = Batching {
            mode: BatchMode::Eof,
            event_time: None,
            lateness: std::time::Duration::ZERO,
            emit_empty: false,
            zone: None,
            reader: crate::batch::event::Reader::default(),
        };
        let (_, chain) = build(parsed, &batching, 100).expect("a valid chain");
        chain.columns()
    }

    #[test]
    fn cli_chain_knows_its_columns_where_the_words_say_them() {
        let cols = |c: &str| columns(c).map(|v| v.join(","));
        // only the data can say
        assert_eq!(cols("json"), None);
        assert_eq!(cols("json then where a > 1 then head 3"), None);
        assert_eq!(cols("fields a then json"), None);
        assert_eq!(cols("count-by-key then json -f key"), None);
        assert_eq!(cols("json then eval c = 1"), None);
        // `_` and a field named `value` both print as `value`
        assert_eq!(cols("json then fields _,a then eval value = 1"), None);
        assert_eq!(cols("json then fields value then split"), None);
        // fields' list, `_` as value, in its place
        assert_eq!(cols("json then fields a,_,b").as_deref(), Some("a,value,b"));
        assert_eq!(cols("json then fields _,a").as_deref(), Some("value,a"));
        assert_eq!(
            cols("json then fields a,b then where a > 1 then map upper -f a then sort b")
                .as_deref(),
            Some("a,b")
        );
        // the aggregations', through what keeps them
        assert_eq!(
            cols("split then count-by-key").as_deref(),
            Some("key,count")
        );
        assert_eq!(
            cols("count-by-key a b then top 3").as_deref(),
            Some("a,b,count")
        );
        assert_eq!(
            cols("json then stats -f x -a mean,p99 -g service then sort -r p99 then head 2")
                .as_deref(),
            Some("service,mean,p99")
        );
        assert_eq!(
            cols("stats -f x,y -a sum,max -g _").as_deref(),
            Some("value,sum_x,max_x,sum_y,max_y")
        );
        assert_eq!(
            cols("fields a then window all then count").as_deref(),
            Some("count")
        );
        assert_eq!(cols("count then where count > 0").as_deref(), Some("count"));
        assert_eq!(
            cols("count-by-key then fields count").as_deref(),
            Some("count")
        );
        assert_eq!(cols("head 3 then count").as_deref(), Some("count"));
        // a missing field stays missing
        assert_eq!(
            cols("count-by-key then map upper -f nope").as_deref(),
            Some("key,count")
        );
    }

    /// An operator that adds a field keeps the columns the chain knows
    /// and puts the new one after them (it made `fields`' list unknown).
    #[test]
    fn cli_chain_columns_grow_by_the_fields_an_operator_adds() {
        let cols = |c: &str| columns(c).map(|v| v.join(","));
        assert_eq!(
            cols("logfmt then fields a,b then eval c = 1").as_deref(),
            Some("a,b,c")
        );
        assert_eq!(
            cols("logfmt then fields a,b then eval a = 1").as_deref(),
            Some("a,b")
        );
        assert_eq!(
            cols("logfmt then fields a,b then map template {a} -f t then where t ~ x").as_deref(),
            Some("a,b,t")
        );
        assert_eq!(
            cols("json then fields u then map upper -f u.x").as_deref(),
            Some("u,u.x")
        );
        assert_eq!(
            cols("logfmt then fields a then parse -f a (?P<x>.)(?P<a>.)").as_deref(),
            Some("a,x")
        );
        assert_eq!(
            cols("logfmt then fields a then split -f a").as_deref(),
            Some("a,value")
        );
        assert_eq!(
            cols("split then count-by-key then eval k = key then sort k").as_deref(),
            Some("key,count,k")
        );
        assert_eq!(
            cols("stats -f _ -a count -g _ then eval _ = 1").as_deref(),
            None
        );
    }

    #[test]
    fn cli_rejects_empty_operators() {
        assert!(cut(&words("then split")).is_err());
        assert!(cut(&words("split then")).is_err());
        assert!(cut(&words("split then then count")).is_err());
    }
}
