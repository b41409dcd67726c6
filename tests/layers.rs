//! The shape stays: every module of `src/` imports only from the layers
//! below its own (a scan of the `crate::` paths in each file, `use` lines
//! and inline paths alike), and the modules' imports have no cycle. When a
//! new top-level module is added it must be placed in [`LAYERS`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top to bottom. A module may import from its own layer only where the
/// layer is marked shared (the base types import one another, acyclically).
const LAYERS: &[(&[&str], bool)] = &[
    (&["run"], false),
    (&["checkpoint"], false),
    (&["cli"], false),
    (&["emit", "explain"], true),
    (&["plan"], false),
    (&["live"], false),
    (&["progress"], false),
    (&["engine"], false),
    (&["ops"], false),
    (&["batch"], false),
    (&["agg"], false),
    (&["sink", "source", "state"], false),
    (
        &[
            "accounting",
            "record",
            "value",
            "timestamp",
            "duration",
            "numfmt",
            "suggest",
            "strftime",
            "zone",
            "civil",
            "simd",
        ],
        true,
    ),
];

fn layer_of(module: &str) -> Option<(usize, bool)> {
    LAYERS
        .iter()
        .position(|(mods, _)| mods.contains(&module))
        .map(|i| (i, LAYERS[i].1))
}

/// The top-level module a file belongs to (`src/ops/map.rs` -> `ops`).
fn module_of(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

/// The top-level modules a source text names as `crate::NAME`.
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let tail = &rest[i + "crate::".len()..];
            let name: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name.clone());
            }
            // `use crate::{a, b::c}`: each name in the group
            if tail.starts_with('{') {
                let group: String = tail
                    .strip_prefix('{')
                    .unwrap_or("")
                    .chars()
                    .take_while(|c| *c != '}')
                    .collect();
                for part in group.split(',') {
                    let n: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !n.is_empty() {
                        out.insert(n);
                    }
                }
            }
            rest = tail;
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Module -> the modules it imports, over every file of `src/`.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).expect("under src");
        let Some(module) = module_of(rel) else {
            continue;
        };
        if module == "main" || module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("read a source file");
        let entry = g.entry(module.clone()).or_default();
        for m in imports(&text) {
            if m != module {
                entry.insert(m);
            }
        }
    }
    g
}

#[test]
fn layers_every_module_is_placed() {
    let unplaced: Vec<String> = graph()
        .keys()
        .filter(|m| layer_of(m).is_none())
        .cloned()
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules not in tests/layers.rs LAYERS: {unplaced:?}"
    );
}

#[test]
fn layers_imports_go_down_only() {
    let mut wrong = Vec::new();
    for (module, deps) in graph() {
        let Some((mine, shared)) = layer_of(&module) else {
            continue;
        };
        for d in deps {
            let Some((theirs, _)) = layer_of(&d) else {
                continue;
            };
            if theirs < mine || (theirs == mine && !shared) {
                wrong.push(format!("{module} imports {d}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers (top to bottom: {:?}):\n{}",
        LAYERS.iter().map(|(m, _)| m).collect::<Vec<_>>(),
        wrong.join("\n")
    );
}

#[test]
fn layers_have_no_import_cycle() {
    let g = graph();
    // depth-first search for a back edge
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(m) {
            Some(1) => {
                let at = path.iter().position(|p| p == m).unwrap_or(0);
                let mut cycle = path[at..].to_vec();
                cycle.push(m.to_string());
                return Some(cycle);
            }
            Some(2) => return None,
            _ => {}
        }
        state.insert(m.to_string(), 1);
        path.push(m.to_string());
        for d in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, g, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(m.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in g.keys() {
        if let Some(cycle) = visit(m, &g, &mut state, &mut Vec::new()) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn layers_scan_finds_grouped_and_inline_imports() {
    let found =
        imports("use crate::{ops::Chain, sink};\nfn f() { crate::batch::now(); } // crate::cli");
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        ["batch", "ops", "sink"]
    );
}
