//! spate's integration tests: one binary, modules by theme. Every test runs
//! the built `spate` on real input.

mod util;

mod cases;
mod cli;
mod determinism;
mod distinct;
mod faults;
mod follow;
mod fuzz_regressions;
mod generated;
mod inputs;
mod layers;
mod net;
mod props;
mod pyspark;
mod readme;
mod replay;
mod signals;
mod stats;
mod tty;
