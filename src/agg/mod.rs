//! Accumulators that can process, emit and merge: grouping keys and the
//! percentile sketch shared by the aggregations in `ops/`.
pub mod hll;
pub mod key;
pub mod limit;
pub mod quantile;
pub mod textmap;
