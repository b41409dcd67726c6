//! spate's integration tests: one binary, modules by theme. Every test runs
//! the built `spate` on real input.

mod util;

mod cases;
mod cli;
mod compressed;
mod determinism;
mod distinct;
mod faults;
mod follow;
mod fuzz_regressions;
mod generated;
mod inputs;
mod join;
mod kafka;
mod layers;
mod net;
mod output;
mod patterns;
mod props;
mod pyspark;
mod readme;
mod replay;
mod results;
mod session;
mod signals;
mod state;
mod state_props;
mod stats;
mod time;
mod tty;
