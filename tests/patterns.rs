//! Patterns and directories as inputs, without `-F`: spate expands `*`,
//! `?` and `[...]` itself, reads the files in name order one after
//! another (each its own input for line numbers and messages), and a
//! pattern or directory with nothing in it is exit 1. (`-F` with a
//! pattern is in `follow.rs`.)

use std::path::Path;

use crate::util::spate;

fn write(dir: &Path, name: &str, data: &[u8]) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("create test dirs");
    }
    std::fs::write(p, data).expect("write test input");
}

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 temp path").to_string()
}

/// The rows of a `-b eof -o tsv` run without aggregation, time dropped.
fn rows(args: &[String]) -> Vec<String> {
    let out = spate(args).run();
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    out.stdout
        .lines()
        .map(|l| l.split_once('\t').map_or(l, |(_, r)| r).to_string())
        .collect()
}

fn args(inputs: &[String], chain: &[&str]) -> Vec<String> {
    let mut a = Vec::new();
    for i in inputs {
        a.push("-i".to_string());
        a.push(i.clone());
    }
    a.extend(["-b", "eof", "-o", "tsv"].map(String::from));
    a.extend(chain.iter().map(|w| w.to_string()));
    a
}

#[test]
fn patterns_files_read_in_name_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "b.log", b"b1\nb2\n");
    write(d, "a.log", b"a1\na2\n");
    write(d, "a.log.10", b"ten\n");
    write(d, "a.log.2", b"two\n");
    write(d, "c.txt", b"not matched\n");
    write(d, ".hidden.log", b"hidden\n");
    std::fs::create_dir(d.join("dir.log")).expect("a directory that matches");
    // a gzipped file in the pattern is decompressed like any other
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, b"gz1\n").expect("gzip");
    write(d, "a.log.3.gz", &gz.finish().expect("gzip"));
    let pattern = format!("{}/*.log*", s(d));
    for _ in 0..3 {
        assert_eq!(
            rows(&args(std::slice::from_ref(&pattern), &["head", "100"])),
            ["a1", "a2", "ten", "two", "gz1", "b1", "b2"]
        );
    }
    // ? and [...]
    let pattern = format!("{}/[ab].lo?", s(d));
    assert_eq!(
        rows(&args(&[pattern], &["head", "100"])),
        ["a1", "a2", "b1", "b2"]
    );
}

#[test]
fn patterns_wildcards_in_directories_and_relative_paths() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "web2/access.log", b"two\n");
    write(d, "web1/access.log", b"one\n");
    write(d, "db/access.log", b"db\n");
    let out = spate(["-i", "web*/access.log", "-b", "eof", "-o", "tsv", "head"])
        .current_dir(d)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let got: Vec<&str> = out.stdout.lines().map(|l| &l[l.len() - 3..]).collect();
    assert_eq!(got, ["one", "two"]);
}

#[test]
fn patterns_directory_means_every_file_in_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "2024-03-02.log", b"second\n");
    write(d, "2024-03-01.log", b"first\n");
    write(d, "sub/nested.log", b"not read\n");
    for form in [s(d), format!("{}/", s(d))] {
        assert_eq!(rows(&args(&[form], &["head", "100"])), ["first", "second"]);
    }
}

#[test]
fn patterns_matching_nothing_is_exit_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "app.txt", b"x\n");
    let pattern = format!("{}/*.log", s(d));
    let out = spate(["-i", &pattern, "count"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("{pattern}: no file matches")),
        "{}",
        out.stderr
    );
    let empty = d.join("empty");
    std::fs::create_dir(&empty).expect("empty dir");
    std::fs::create_dir(empty.join("only-a-subdirectory")).expect("subdir");
    let out = spate(["-i", &s(&empty), "count"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("{}: no file in this directory", s(&empty))),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn patterns_each_file_is_its_own_input_in_messages() {
    // --strict numbers lines within each file and names the file
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "a.log", b"ok\nok\nok\n");
    write(d, "b.log", b"ok\n\xff bad\n");
    let pattern = format!("{}/*.log", s(d));
    let out = spate(["-i", &pattern, "--strict", "-b", "eof", "count"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let b = d.join("b.log");
    assert!(
        out.stderr.contains(&format!("line 2 of {}", s(&b))),
        "{}",
        out.stderr
    );
}

#[test]
fn patterns_a_file_named_with_brackets_is_read_as_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "a[1].log", b"literal\n");
    write(d, "a1.log", b"matched by the pattern\n");
    let named = format!("{}/a[1].log", s(d));
    assert_eq!(rows(&args(&[named], &["head"])), ["literal"]);
}
