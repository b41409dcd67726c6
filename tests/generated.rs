//! The man page and the completions are generated from the clap
//! definitions and checked in; this fails when they are stale.

use std::path::Path;

#[test]
fn generated_docs_are_fresh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var_os("SPATE_BLESS").is_some();
    let mut stale = Vec::new();
    for (path, content) in spate::cli::docs::generated_files() {
        let p = root.join(&path);
        if bless {
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir).expect("create dir");
            }
            std::fs::write(&p, &content).expect("write generated file");
            continue;
        }
        let on_disk = std::fs::read_to_string(&p).unwrap_or_default();
        if on_disk != content {
            stale.push(path);
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files: {}\nregenerate them with: SPATE_BLESS=1 cargo test --test tests generated",
        stale.join(", ")
    );
}
