//! `top` (placeholder until the operator lands).

use clap::ArgMatches;

use crate::ops::{BuildCx, Built, Operator, Stage};

pub struct Top;

impl Operator for Top {
    fn name(&self) -> &'static str {
        "top"
    }
    fn summary(&self) -> &'static str {
        "(not yet available)"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(clap::Arg::new("args").num_args(0..).allow_hyphen_values(true))
    }
    fn stage(&self) -> Stage {
        Stage::AfterAggregation
    }
    fn build(&self, _m: &ArgMatches, _cx: &BuildCx) -> Result<Built, String> {
        Err("not available yet".into())
    }
}
