//! The chain turned into stages: the per-record operators that stream, the
//! first barrier (an aggregation fed record by record, or a buffer of the
//! batch's records), and what runs on the batch's rows after it. Misuse is
//! a usage error naming the operator's position, with a did-you-mean.

use crate::cli::{BatchMode, Config, UsageError, clap_one_line};
use crate::ops::{
    Aggregation, BuildCx, Built, REGISTRY, RecordOp, RowsOp, Stage, WindowSpec, command_for, find,
};

/// The first point where a batch's records must all be seen.
pub enum Barrier {
    /// An aggregation, fed record by record (per window when one is set).
    Aggregate {
        agg: Box<dyn Aggregation>,
        window: Option<WindowSpec>,
    },
    /// No aggregation first: the batch's records are kept and become its rows.
    Collect,
}

/// What runs on a batch's rows once it closes.
pub enum PostOp {
    Record(Box<dyn RecordOp>),
    Rows(Box<dyn RowsOp>),
    Aggregate(Box<dyn Aggregation>),
}

pub struct Plan {
    pub pre: Vec<Box<dyn RecordOp>>,
    pub barrier: Barrier,
    pub post: Vec<PostOp>,
    /// Whether the chain aggregates at all (else rows are records).
    pub aggregates: bool,
    /// `--max-keys` and what overflowed it, shared with the aggregations.
    pub keys: std::sync::Arc<crate::agg::limit::KeyLimit>,
}

impl Plan {
    pub fn window(&self) -> Option<WindowSpec> {
        match &self.barrier {
            Barrier::Aggregate { window, .. } => *window,
            Barrier::Collect => None,
        }
    }
}

fn err(pos: usize, name: &str, msg: impl std::fmt::Display) -> UsageError {
    UsageError(format!("spate: operator {pos} ({name}): {msg}"))
}

/// The closest operator name, if one is close enough to be a typo.
pub fn suggest(name: &str) -> Option<&'static str> {
    crate::suggest::closest(name, REGISTRY.iter().map(|op| op.name()))
}

/// Builds the plan for a chain (each operator as its words, name first).
pub fn build(config: &Config, chain: &[Vec<String>]) -> Result<Plan, UsageError> {
    let cx = BuildCx {
        interval: config.interval(),
        keys: std::sync::Arc::new(crate::agg::limit::KeyLimit::new(config.max_keys)),
    };
    let mut pre = Vec::new();
    let mut barrier: Option<Barrier> = None;
    let mut post = Vec::new();
    let mut aggregates = false;
    let mut pending_window: Option<(usize, WindowSpec)> = None;
    let mut seen_window = false;

    for (i, words) in chain.iter().enumerate() {
        let pos = i + 1;
        let name = words[0].as_str();
        let Some(op) = find(name) else {
            let hint = match suggest(name) {
                Some(s) => format!("; did you mean '{s}'?"),
                None => "; see spate --help for the list".to_string(),
            };
            return Err(err(pos, name, format!("unknown operator{hint}")));
        };
        let matches = command_for(op)
            .try_get_matches_from(words)
            .map_err(|e| err(pos, name, clap_one_line(&e)))?;
        let built = op.build(&matches, &cx).map_err(|m| err(pos, name, m))?;
        if let Some((wpos, _)) = pending_window {
            if op.stage() == Stage::Window {
                return Err(err(pos, name, "only one window per chain"));
            }
            if op.stage() != Stage::Aggregation {
                return Err(err(
                    wpos,
                    "window",
                    format!("must be followed by count, count-by-key or stats, not by {name}"),
                ));
            }
        }
        match (op.stage(), built) {
            (Stage::PerRecord, Built::Record(r)) => match barrier {
                None => pre.push(r),
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
                        pos,
                        name,
                        "needs an aggregation before it (count, count-by-key or stats)",
                    ));
                }
                post.push(PostOp::Rows(r));
            }
            (Stage::Window, Built::Window(w)) => {
                if seen_window {
                    return Err(err(pos, name, "only one window per chain"));
                }
                if barrier.is_some() {
                    return Err(err(
                        pos,
                        name,
                        "must come before the first aggregation, sort or head (only per-record operators may precede it)",
                    ));
                }
                if let (WindowSpec::Sliding { .. }, BatchMode::Eof) = (w, config.batch) {
                    return Err(err(
                        pos,
                        name,
                        "a window LENGTH needs time batches; -b eof makes the whole input one batch (use window all, or -b 1m)",
                    ));
                }
                if let (WindowSpec::Sliding { slide, .. }, Some(zone), Some(b)) =
                    (w, config.tz, config.interval())
                {
                    let (slide, b) = (crate::batch::nanos(slide), crate::batch::nanos(b));
                    crate::batch::grid::check_slide(slide, b, zone)
                        .map_err(|m| err(pos, name, m))?;
                }
                seen_window = true;
                pending_window = Some((pos, w));
            }
            (Stage::Aggregation, Built::Aggregation(a)) => {
                aggregates = true;
                match barrier {
                    None => {
                        barrier = Some(Barrier::Aggregate {
                            agg: a,
                            window: pending_window.take().map(|(_, w)| w),
                        })
                    }
                    Some(_) => post.push(PostOp::Aggregate(a)),
                }
            }
            _ => {
                return Err(err(
                    pos,
                    name,
                    "internal error: operator built the wrong kind",
                ));
            }
        }
    }
    if let Some((wpos, _)) = pending_window {
        return Err(err(
            wpos,
            "window",
            "must be followed by count, count-by-key or stats",
        ));
    }
    Ok(Plan {
        pre,
        barrier: barrier.unwrap_or(Barrier::Collect),
        post,
        aggregates,
        keys: cx.keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_suggests_close_names() {
        assert_eq!(suggest("count-by-kee"), Some("count-by-key"));
        assert_eq!(suggest("splt"), Some("split"));
        assert_eq!(suggest("zzzzzzzz"), None);
    }
}
