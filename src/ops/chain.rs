//! The chain as built: the per-record operators that stream, the first
//! barrier (an aggregation fed record by record, or the batch's records
//! kept), and what runs on the batch's rows after it. The engine takes this
//! part of the plan.

use std::sync::Arc;

use crate::agg::Aggregation;
use crate::agg::limit::KeyLimit;
use crate::batch::WindowSpec;
use crate::ops::{RecordOp, RowsOp};

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

pub struct Chain {
    pub pre: Vec<Box<dyn RecordOp>>,
    pub barrier: Barrier,
    pub post: Vec<PostOp>,
    /// Whether the chain aggregates at all (else rows are records).
    pub aggregates: bool,
    /// `--max-keys` and what overflowed it, shared with the aggregations.
    pub keys: Arc<KeyLimit>,
    /// The fields the operators' arguments name, and where records are
    /// looked at for them (a warning at exit names one no record had).
    pub named: Vec<Named>,
}

/// A field an operator's arguments name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The operator's 1-based position and name.
    pub pos: usize,
    pub op: &'static str,
    pub field: String,
    pub at: At,
}

/// Where in the built chain records reach an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// Before `pre[i]`.
    Pre(usize),
    /// At the barrier: the aggregation, or the records a batch keeps.
    Barrier,
    /// Before `post[i]`, on a batch's rows.
    Post(usize),
}

impl Chain {
    pub fn window(&self) -> Option<WindowSpec> {
        match &self.barrier {
            Barrier::Aggregate { window, .. } => *window,
            Barrier::Collect => None,
        }
    }

    /// Every per-record operator, before the barrier and after it.
    fn record_ops(&self) -> impl Iterator<Item = &dyn RecordOp> {
        self.pre
            .iter()
            .map(|op| op.as_ref())
            .chain(self.post.iter().filter_map(|p| match p {
                PostOp::Record(op) => Some(op.as_ref()),
                _ => None,
            }))
    }

    /// Before the run reads input: each operator's [`RecordOp::start`];
    /// the first error is a runtime failure.
    pub fn start(&self) -> Result<(), String> {
        self.record_ops().try_for_each(|op| op.start())
    }

    /// After a batch closed: each operator's [`RecordOp::batch_closed`],
    /// and the warnings they give.
    pub fn batch_closed(&self) -> Vec<String> {
        self.record_ops()
            .filter_map(|op| op.batch_closed())
            .collect()
    }

    /// The columns of the rows the chain writes, as the output formats
    /// name them, when the chain knows them: an aggregation's fields,
    /// `fields`' list, and whatever keeps them (`where`, `sort`, `head`,
    /// ...) or adds a known field after them (`eval`, `map template`).
    /// None when only the data can say (a parser's fields).
    pub fn columns(&self) -> Option<Vec<String>> {
        let mut cols = None;
        for op in &self.pre {
            cols = op.columns(cols.as_deref());
        }
        if let Barrier::Aggregate { agg, window } = &self.barrier {
            cols = agg.columns();
            // a session's times come after the key columns
            if let (Some(c), Some(WindowSpec::Session { .. })) = (&mut cols, window) {
                let at = agg.key_fields().len().min(c.len());
                c.splice(at..at, ["session_start".into(), "session_end".into()]);
            }
        }
        for op in &self.post {
            cols = match op {
                PostOp::Record(r) => r.columns(cols.as_deref()),
                PostOp::Rows(r) => r.columns(cols.as_deref()),
                PostOp::Aggregate(a) => a.columns(),
            };
        }
        cols
    }

    /// Whether an operator after the barrier, before any aggregation
    /// there, may drop a record with a reason (a parser after `sort` or
    /// `head`): its lines are then dropped lines, for `--dead-letter` and
    /// `--strict`.
    pub fn post_drops(&self) -> bool {
        matches!(self.barrier, Barrier::Collect)
            && self
                .post
                .iter()
                .take_while(|op| !matches!(op, PostOp::Aggregate(_)))
                .any(|op| matches!(op, PostOp::Record(_)))
    }

    /// The aggregation at the barrier, if the chain aggregates there.
    pub fn aggregation(&self) -> Option<&dyn Aggregation> {
        match &self.barrier {
            Barrier::Aggregate { agg, .. } => Some(agg.as_ref()),
            Barrier::Collect => None,
        }
    }
}
