//! Every `spate …` example in README.md runs: each line of a ```sh block
//! that starts with `spate ` or that pipes into `spate` is run with `sh -c`
//! in a directory holding the sample files (access.log, events.jsonl,
//! words.txt, and status.csv for join), with the built spate first on
//! PATH. Examples that need a network peer (tcp://, listen://, kafka://:
//! tests/kafka.rs runs Kafka against a real broker) or follow a file are
//! skipped here.

use std::path::Path;
use std::time::Duration;

fn examples() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in readme.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_sh = !in_sh && (t == "```sh" || t == "```bash" || t == "```shell");
            continue;
        }
        if in_sh {
            let cmd = t.split(" # ").next().unwrap_or(t).trim();
            if cmd.starts_with("spate ") || cmd.contains("| spate ") {
                out.push(cmd.to_string());
            }
        }
    }
    out
}

#[test]
fn readme_examples_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for f in ["access.log", "events.jsonl", "words.txt", "status.csv"] {
        std::fs::copy(data.join(f), dir.path().join(f)).expect("copy sample");
    }
    let bin_dir = Path::new(crate::util::BIN)
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let list = examples();
    assert!(list.len() >= 10, "README has {} spate examples", list.len());
    let mut failures = Vec::new();
    for ex in &list {
        let live = ex.contains("tcp://")
            || ex.contains("listen://")
            || ex.contains("kafka://")
            || ex.contains(" -F")
            || ex.contains("tail -F")
            || ex.contains("nc ");
        if live {
            continue;
        }
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c")
            .arg(ex)
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("TZ", "UTC")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = cmd.spawn().expect("sh");
        let out = crate::util::wait_output(child, Duration::from_secs(30));
        if out.code != 0 || out.stdout.is_empty() {
            failures.push(format!("{ex}\n  exit {}; stderr: {}", out.code, out.stderr));
        }
    }
    assert!(
        failures.is_empty(),
        "README examples failed:\n{}",
        failures.join("\n")
    );
}
