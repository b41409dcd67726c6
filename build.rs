//! Lists the golden case files (`tests/cases/*.toml`) for the integration
//! tests, so that each file is a test of its own (`golden_<file>`) and a new
//! file, such as a new operator's, needs no line anywhere else.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=tests/cases");
    println!("cargo::rerun-if-changed=build.rs");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut stems: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(String::from))
                .collect()
        })
        .unwrap_or_default();
    stems.sort();
    let mut text = String::from("golden_files! {\n");
    for stem in &stems {
        let test: String = stem
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let _ = writeln!(text, "    golden_{test} => {stem:?},");
    }
    text.push_str("}\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("golden_files.rs"), text).expect("writing the list of case files");
}
