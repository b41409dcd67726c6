//! `cargo fuzz run eval_expr`: see fuzz/README.md. The checks live in
//! fuzz/harness.rs, which tests/fuzz_regressions.rs shares.
#![no_main]

#[path = "../harness.rs"]
#[allow(dead_code)]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::eval_expr(data));
