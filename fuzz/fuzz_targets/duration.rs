//! `cargo fuzz run duration`: see fuzz/README.md. The checks live in
//! fuzz/harness.rs, which tests/fuzz_regressions.rs shares.
#![no_main]

#[path = "../harness.rs"]
#[allow(dead_code)]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::duration(data));
