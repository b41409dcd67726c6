//! spate: a micro-batch stream processor for the shell. The binary is a thin
//! shell around this library, which the tests and benchmarks share.
//!
//! Data flows one way: sources (threads) -> bounded channel -> engine
//! (batcher + per-record operators, in parallel) -> aggregation -> the
//! operators after it -> the output formatter.
//!
//! No unsafe code, but for the memory maps of [`source::mapped`].

#![deny(unsafe_code)]

pub mod accounting;
pub mod agg;
pub mod batch;
pub mod checkpoint;
pub mod civil;
pub mod cli;
pub mod duration;
pub mod emit;
pub mod engine;
pub mod explain;
pub mod live;
pub mod numfmt;
pub mod ops;
pub mod plan;
pub mod progress;
pub mod record;
pub mod run;
pub mod simd;
pub mod sink;
pub mod source;
pub mod state;
pub mod strftime;
pub mod suggest;
pub mod timestamp;
pub mod value;
pub mod zone;
