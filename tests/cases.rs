//! Golden cases: `tests/cases/<operator>.toml`, one file per operator as
//! the CLI names it (cross-cutting themes keep files of their own:
//! `formats`, `event_time`, `limits`), each a list of `[[case]]` tables
//! with args, input (stdin and/or files), and the exact stdout, stderr and
//! exit status. Wall-clock batch times are normalised to `TIME` unless a
//! case says `normalize = false`.
//!
//! Each file is a test of its own, `golden_<file>` with `-` as `_`
//! (`cargo test --test tests golden_count_by_key`), listed by `build.rs`
//! from the directory; a test fails when a registered operator has no file. To run one case,
//! or those whose name contains a text, name it in `SPATE_CASE`:
//! `SPATE_CASE=where_regex cargo test --test tests golden_` (with
//! `-- --nocapture`, each file's test says how many of its cases it ran).
//! `SPATE_BLESS=1 cargo test --test tests cases` rewrites the expectations
//! of the cases it runs from what spate prints now (review the diff).

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

/// Every case file a test runs, by the name of that test.
macro_rules! golden_files {
    ($($test:ident => $file:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                run_file($file);
            }
        )*
        const FILES: &[&str] = &[$($file),*];
    };
}

// one `golden_<file>` test per file of tests/cases, listed by build.rs
include!(concat!(env!("OUT_DIR"), "/golden_files.rs"));

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

/// The names (without `.toml`) of the files in `tests/cases`.
fn file_stems() -> Vec<String> {
    let mut stems: Vec<String> = std::fs::read_dir(cases_dir())
        .expect("tests/cases exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| Some(p.file_stem()?.to_string_lossy().into_owned()))
        .collect();
    stems.sort();
    stems
}

fn read_file(stem: &str) -> (PathBuf, File) {
    let path = cases_dir().join(format!("{stem}.toml"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let file: File = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path, file)
}

/// `SPATE_CASE`: run only the cases whose name contains it.
fn case_filter() -> Option<String> {
    std::env::var("SPATE_CASE").ok()
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

/// Runs the cases of one file (those `SPATE_CASE` selects), or with
/// `SPATE_BLESS` rewrites their expectations.
fn run_file(stem: &str) {
    let bless = std::env::var_os("SPATE_BLESS").is_some();
    let filter = case_filter();
    let (path, mut file) = read_file(stem);
    assert!(!file.case.is_empty(), "{}: no cases", path.display());
    let total = file.case.len();
    let mut failures = Vec::new();
    let mut ran = 0;
    for c in &mut file.case {
        if filter
            .as_ref()
            .is_some_and(|f| !c.name.contains(f.as_str()))
        {
            continue;
        }
        ran += 1;
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
                "{stem}.toml [{}] spate {}\n(again alone: SPATE_CASE={} cargo test --test tests golden_{})\n{msg}",
                c.name,
                c.args.join(" "),
                c.name,
                stem.replace('-', "_"),
            ));
        }
    }
    if let Some(f) = &filter {
        eprintln!("{stem}.toml: SPATE_CASE={f}: ran {ran} of {total} cases");
    }
    if bless && ran > 0 {
        let text = toml::to_string_pretty(&file).expect("serialise cases");
        std::fs::write(&path, text).expect("write blessed cases");
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} golden cases of {stem}.toml failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn golden_every_file_has_its_test() {
    let mut listed: Vec<String> = FILES.iter().map(|f| f.to_string()).collect();
    listed.sort();
    assert_eq!(
        listed,
        file_stems(),
        "build.rs lists tests/cases/*.toml; rebuild to pick a new file up"
    );
}

#[test]
fn golden_every_operator_has_a_file() {
    for op in spate::ops::REGISTRY {
        assert!(
            FILES.contains(&op.name()),
            "operator {} has no golden cases: add tests/cases/{}.toml",
            op.name(),
            op.name()
        );
    }
}

/// Case names are unique across the files, so that `SPATE_CASE` with a
/// whole name runs that case alone; and a `SPATE_CASE` that matches no
/// case fails here rather than letting every file's test pass empty.
#[test]
fn golden_case_names_are_unique() {
    let mut seen = BTreeMap::new();
    for stem in file_stems() {
        for c in read_file(&stem).1.case {
            if let Some(other) = seen.insert(c.name.clone(), stem.clone()) {
                panic!("case {} is in {other}.toml and {stem}.toml", c.name);
            }
        }
    }
    if let Some(f) = case_filter() {
        assert!(
            seen.keys().any(|n| n.contains(f.as_str())),
            "SPATE_CASE={f} matches no golden case"
        );
    }
}
