//! Golden cases: `tests/cases/*.toml`, each a list of `[[case]]` tables
//! with args, input (stdin and/or files), and the exact stdout, stderr and
//! exit status. Wall-clock batch times are normalised to `TIME` unless a
//! case says `normalize = false`. `SPATE_BLESS=1 cargo test --test tests
//! cases` rewrites the expectations from what spate prints now.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::util::{assert_text, normalize_times, spate};

#[derive(Debug, Deserialize, Serialize)]
struct File {
    case: Vec<Case>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct Case {
    name: String,
    args: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stdin: Option<String>,
    /// Files to create in the case's working directory.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    files: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    env: BTreeMap<String, String>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    normalize: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stdout: Option<String>,
    /// Exact stderr; when absent, only `stderr_contains` is checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stderr: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    stderr_contains: Vec<String>,
    #[serde(default)]
    exit: i32,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn case_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/cases exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

fn run_case(c: &Case) -> (String, String, i32) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, content) in &c.files {
        std::fs::write(dir.path().join(name), content).expect("write case file");
    }
    let mut run = spate(&c.args).current_dir(dir.path());
    for (k, v) in &c.env {
        run = run.env(k, v);
    }
    if let Some(s) = &c.stdin {
        run = run.stdin(s.clone());
    }
    let out = run.run();
    let (mut o, mut e) = (out.stdout, out.stderr);
    if c.normalize {
        o = normalize_times(&o);
        e = normalize_times(&e);
    }
    (o, e, out.code)
}

#[test]
fn golden_cases() {
    let bless = std::env::var_os("SPATE_BLESS").is_some();
    let mut failures = Vec::new();
    let mut total = 0;
    for path in case_files() {
        let text = std::fs::read_to_string(&path).expect("read case file");
        let mut file: File =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for c in &mut file.case {
            total += 1;
            let (o, e, code) = run_case(c);
            if bless {
                c.stdout = Some(o);
                if c.stderr.is_some() || c.stderr_contains.is_empty() {
                    c.stderr = Some(e);
                }
                c.exit = code;
                continue;
            }
            let res = std::panic::catch_unwind(|| {
                if let Some(x) = &c.stdout {
                    assert_text(x, &o, "stdout");
                }
                if let Some(x) = &c.stderr {
                    assert_text(x, &e, "stderr");
                }
                for needle in &c.stderr_contains {
                    assert!(e.contains(needle.as_str()), "stderr lacks {needle:?}:\n{e}");
                }
                assert_eq!(code, c.exit, "exit status; stderr:\n{e}");
                crate::util::assert_balanced(&e);
            });
            if let Err(p) = res {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!(
                    "{} [{}] spate {}\n{msg}",
                    path.file_name()
                        .map(|f| f.to_string_lossy())
                        .unwrap_or_default(),
                    c.name,
                    c.args.join(" ")
                ));
            }
        }
        if bless {
            let text = toml::to_string_pretty(&file).expect("serialise cases");
            std::fs::write(&path, text).expect("write blessed cases");
        }
    }
    assert!(total > 0, "no golden cases found");
    assert!(
        failures.is_empty(),
        "{} of {total} golden cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
