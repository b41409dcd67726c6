//! The Plan: everything the command line says, typed, in the parts each
//! layer takes: the inputs (sources), how batches are cut (batch), the
//! chain as written and as built (emitters, the engine), the engine's
//! options, the output (sink) and what watches the run. The CLI builds it;
//! nothing below reads the command line. Usage errors are typed here and
//! rendered in one place (their `Display`).

use std::fmt;

use crate::batch::Batching;
use crate::engine::EngineOptions;
use crate::ops::Operator;
use crate::ops::chain::Chain;
use crate::sink::{Options, OutputFormat};
use crate::source::SourceOptions;

/// One operator of the chain as the user wrote it.
pub struct StagePlan {
    /// 1-based position in the chain.
    pub pos: usize,
    pub op: &'static dyn Operator,
    /// Its words, name first.
    pub words: Vec<String>,
    /// Its arguments as its own clap command parsed them.
    pub args: clap::ArgMatches,
}

impl StagePlan {
    pub fn name(&self) -> &'static str {
        self.op.name()
    }
}

/// The output's part.
#[derive(Debug, Clone)]
pub struct Output {
    pub format: OutputFormat,
    pub options: Options,
    /// `--output-file`: results appended to this file, not standard output.
    pub file: Option<std::path::PathBuf>,
    /// `--dead-letter`: every dropped line appended to this file.
    pub dead_letter: Option<std::path::PathBuf>,
}

/// What watches the run besides its output.
#[derive(Debug, Clone, Copy, Default)]
pub struct Watchers {
    /// `--stats-json`: a final `{"accounting": ...}` record on stdout.
    pub stats_json: bool,
    /// `--progress` / `--no-progress` (`None`: when stderr is a terminal).
    pub progress: Option<bool>,
    /// `--live`: redraw the latest batch's table in place.
    pub live: bool,
}

pub struct Plan {
    /// The `-i` inputs, as written (`-` when none).
    pub inputs: Vec<String>,
    pub source: SourceOptions,
    pub batching: Batching,
    /// The chain as written.
    pub stages: Vec<StagePlan>,
    /// The chain as built.
    pub chain: Chain,
    pub engine: EngineOptions,
    pub output: Output,
    pub watchers: Watchers,
    /// `--emit TARGET`: print a program for TARGET instead of running.
    pub emit: Option<String>,
    /// `--explain`: print the plan in words instead of running it.
    pub explain: bool,
    /// `--state FILE`: the run's progress kept there, resumed from there.
    pub state: Option<std::path::PathBuf>,
}

/// A usage error: exit status 2, one line on standard error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    /// The operator's 1-based position in the chain, when it is an
    /// operator's error.
    pub pos: Option<usize>,
    /// The operator's name, when known.
    pub op: Option<String>,
    pub message: String,
    /// What to type instead.
    pub hint: Option<String>,
}

impl UsageError {
    /// An error of the command line as a whole.
    pub fn global(message: impl Into<String>) -> Self {
        UsageError {
            pos: None,
            op: None,
            message: message.into(),
            hint: None,
        }
    }

    /// An error of the operator at `pos`.
    pub fn at(pos: usize, op: Option<&str>, message: impl Into<String>) -> Self {
        UsageError {
            pos: Some(pos),
            op: op.map(str::to_string),
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("spate: ")?;
        if let Some(pos) = self.pos {
            write!(f, "operator {pos}")?;
            if let Some(op) = &self.op {
                write!(f, " ({op})")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "; {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for UsageError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_usage_error_renders_position_operator_and_hint() {
        let e = UsageError::at(2, Some("count-by-kee"), "unknown operator")
            .hint("did you mean 'count-by-key'?");
        assert_eq!(
            e.to_string(),
            "spate: operator 2 (count-by-kee): unknown operator; did you mean 'count-by-key'?"
        );
        assert_eq!(
            UsageError::global("--batch: bad").to_string(),
            "spate: --batch: bad"
        );
        assert_eq!(
            UsageError::at(1, None, "empty operator").to_string(),
            "spate: operator 1: empty operator"
        );
    }
}
