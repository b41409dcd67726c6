//! join through the operator as a run builds it: matching, --missing, the
//! start and every way a reload goes.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::*;
use crate::ops::record_op;

/// A temp dir holding FILE with TEXT.
fn table_file(name: &str, text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write table");
    let p = path.display().to_string();
    (dir, p)
}

fn started(words: &[&str]) -> Box<dyn RecordOp> {
    let op = record_op(&[&["join"], words].concat()).unwrap_or_else(|e| panic!("{words:?}: {e}"));
    op.start().unwrap_or_else(|e| panic!("start: {e}"));
    op
}

/// A record with these fields.
fn rec(fields: &[(&'static str, Value<'static>)]) -> Record<'static> {
    let mut r = Record::from_line(Cow::Borrowed("line"), "line");
    for (n, v) in fields {
        r.set(Cow::Borrowed(n), v.clone());
    }
    r
}

/// The record's fields after the join as `name=value`, or `None` when it
/// was dropped.
fn joined(op: &dyn RecordOp, r: Record<'static>) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cx = Ctx::new(true);
    op.process(r, &mut out, &mut cx);
    assert!(
        cx.offence.is_none(),
        "join drops as a filter, never with a reason"
    );
    out.first().map(|r| {
        r.fields
            .iter()
            .map(|(n, v)| format!("{n}={}", v.text()))
            .collect()
    })
}

const CODES: &str = "status,meaning,class\n200,OK,2xx\n404,Not Found,4xx\n";

#[test]
fn join_adds_the_other_columns_and_keeps_existing_fields() {
    let (_d, p) = table_file("codes.csv", CODES);
    let op = started(&[&p, "--on", "status"]);
    let r = rec(&[("status", Value::str("404")), ("class", Value::str("mine"))]);
    assert_eq!(
        joined(op.as_ref(), r).unwrap_or_default(),
        ["status=404", "class=mine", "meaning=Not Found"]
    );
}

#[test]
fn join_keys_match_when_they_print_the_same() {
    let (_d, p) = table_file(
        "t.jsonl",
        "{\"k\":200,\"v\":\"int\"}\n{\"k\":\"007\",\"v\":\"text\"}\n",
    );
    let op = started(&[&p, "--on", "k"]);
    let v = |k: Value<'static>| {
        joined(op.as_ref(), rec(&[("k", k)]))
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.starts_with("v="))
    };
    assert_eq!(v(Value::str("200")).as_deref(), Some("v=int"));
    assert_eq!(v(Value::Int(200)).as_deref(), Some("v=int"));
    assert_eq!(v(Value::Float(200.0)).as_deref(), Some("v=int"));
    assert_eq!(v(Value::str("007")).as_deref(), Some("v=text"));
    assert_eq!(v(Value::Int(7)), None, "007 and 7 are two keys");
    assert_eq!(
        v(Value::str("200.0")),
        None,
        "the text 200.0 prints as 200.0"
    );
}

#[test]
fn join_field_to_a_differently_named_column_and_dotted_fields() {
    let (_d, p) = table_file("teams.tsv", "addr\tteam\n10.0.0.1\tcore\n");
    let op = started(&[&p, "--on", "ip=addr"]);
    assert_eq!(
        joined(op.as_ref(), rec(&[("ip", Value::str("10.0.0.1"))])).unwrap_or_default(),
        ["ip=10.0.0.1", "team=core"]
    );
    let (_d2, p2) = table_file("u.csv", "id,tier\n7,gold\n");
    let op = started(&[&p2, "--on", "user.id=id"]);
    let user = Value::Json(Box::new(serde_json::json!({"id": 7})));
    assert_eq!(
        joined(op.as_ref(), rec(&[("user", user)])).unwrap_or_default(),
        ["user={\"id\":7}", "tier=gold"]
    );
}

#[test]
fn join_missing_keep_and_drop() {
    let (_d, p) = table_file("codes.csv", CODES);
    let keep = started(&[&p, "--on", "status"]);
    let drop = started(&[&p, "--on", "status", "--missing", "drop"]);
    let r = || rec(&[("status", Value::str("500"))]);
    assert_eq!(
        joined(keep.as_ref(), r()).unwrap_or_default(),
        ["status=500"]
    );
    assert_eq!(joined(drop.as_ref(), r()), None);
    assert!(joined(drop.as_ref(), rec(&[("status", Value::str("200"))])).is_some());
}

#[test]
fn join_a_record_without_the_field_or_with_null_never_matches() {
    let (_d, p) = table_file("t.csv", "k,v\n,empty\nx,ex\n");
    let op = started(&[&p, "--on", "k", "--missing", "drop"]);
    assert_eq!(joined(op.as_ref(), rec(&[])), None);
    assert_eq!(joined(op.as_ref(), rec(&[("k", Value::Null)])), None);
    // an empty value is a value: it matches the row keyed by an empty cell
    assert_eq!(
        joined(op.as_ref(), rec(&[("k", Value::str(""))])).unwrap_or_default(),
        ["k=", "v=empty"]
    );
    // `_` is a field like any other
    let op = started(&[&p, "--on", "_=k"]);
    let r = Record::from_line(Cow::Borrowed("x"), "x");
    assert_eq!(joined(op.as_ref(), r).unwrap_or_default(), ["v=ex"]);
}

/// Sets the file's modification time, so that a test rewrite can keep or
/// change it on purpose.
fn set_mtime(path: &str, t: SystemTime) {
    let f = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open table");
    f.set_modified(t).expect("set mtime");
}

fn meaning(op: &dyn RecordOp, status: &'static str) -> Option<String> {
    joined(op, rec(&[("status", Value::str(status))]))
        .unwrap_or_default()
        .into_iter()
        .find_map(|c| c.strip_prefix("meaning=").map(str::to_string))
}

#[test]
fn join_reloads_when_size_mtime_or_inode_changes() {
    let (dir, p) = table_file("codes.csv", CODES);
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    set_mtime(&p, t0);
    let op = started(&[&p, "--on", "status"]);
    assert_eq!(meaning(op.as_ref(), "200").as_deref(), Some("OK"));
    assert_eq!(op.batch_closed(), None, "unchanged: nothing to do");

    // a new size
    std::fs::write(&p, "status,meaning\n200,Fine\n").expect("rewrite");
    set_mtime(&p, t0);
    assert_eq!(
        meaning(op.as_ref(), "200").as_deref(),
        Some("OK"),
        "until a batch closes"
    );
    assert_eq!(op.batch_closed(), None);
    assert_eq!(meaning(op.as_ref(), "200").as_deref(), Some("Fine"));
    assert_eq!(meaning(op.as_ref(), "404"), None, "the new table only");

    // the same size, a new modification time
    std::fs::write(&p, "status,meaning\n200,Good\n").expect("rewrite");
    set_mtime(&p, t0 + Duration::from_secs(1));
    assert_eq!(op.batch_closed(), None);
    assert_eq!(meaning(op.as_ref(), "200").as_deref(), Some("Good"));

    // the same size and time, a new file renamed over it: a new inode
    let tmp = Path::new(dir.path()).join("next.csv");
    std::fs::write(&tmp, "status,meaning\n200,Nice\n").expect("write");
    let tmp_s = tmp.display().to_string();
    set_mtime(&tmp_s, t0 + Duration::from_secs(1));
    std::fs::rename(&tmp, &p).expect("rename");
    assert_eq!(op.batch_closed(), None);
    assert_eq!(meaning(op.as_ref(), "200").as_deref(), Some("Nice"));
}

#[test]
fn join_an_unchanged_file_is_not_read_again() {
    let (_d, p) = table_file("codes.csv", "status,meaning\n200,OK\n");
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    set_mtime(&p, t0);
    let op = started(&[&p, "--on", "status"]);
    // same inode, size and time, other bytes: not looked at
    std::fs::write(&p, "status,meaning\n200,KO\n").expect("rewrite");
    set_mtime(&p, t0);
    assert_eq!(op.batch_closed(), None);
    assert_eq!(meaning(op.as_ref(), "200").as_deref(), Some("OK"));
}

#[test]
fn join_a_failed_reload_keeps_the_table_with_one_warning() {
    let (_d, p) = table_file("codes.csv", CODES);
    let op = started(&[&p, "--on", "status"]);
    std::fs::write(&p, "status,meaning\n200,\"broken\n").expect("rewrite");
    let w = op.batch_closed().unwrap_or_default();
    assert!(
        w.starts_with("spate: join: reading it again failed: ") && w.contains("codes.csv line 2"),
        "{w}"
    );
    assert!(w.ends_with("; the table read before stays"), "{w}");
    assert_eq!(meaning(op.as_ref(), "404").as_deref(), Some("Not Found"));
    assert_eq!(op.batch_closed(), None, "one warning for one bad version");
    // fixed: read again, quietly
    std::fs::write(&p, "status,meaning\n404,Gone\n").expect("rewrite");
    assert_eq!(op.batch_closed(), None);
    assert_eq!(meaning(op.as_ref(), "404").as_deref(), Some("Gone"));
    // gone: one warning, the table stays
    std::fs::remove_file(&p).expect("remove");
    let w = op.batch_closed().unwrap_or_default();
    assert!(w.contains("codes.csv: No such file"), "{w}");
    assert_eq!(op.batch_closed(), None);
    assert_eq!(meaning(op.as_ref(), "404").as_deref(), Some("Gone"));
    // back: read again
    std::fs::write(&p, CODES).expect("write");
    assert_eq!(op.batch_closed(), None);
    assert_eq!(meaning(op.as_ref(), "404").as_deref(), Some("Not Found"));
}

#[test]
fn join_start_fails_on_a_file_it_cannot_read() {
    let op = record_op(&["join", "/nonexistent/codes.csv", "--on", "status"]).expect("builds");
    let e = op.start().err().unwrap_or_default();
    assert!(
        e.starts_with("join: reading /nonexistent/codes.csv: "),
        "{e}"
    );
    let (_d, p) = table_file("codes.csv", "a,b\n");
    let op = record_op(&["join", &p, "--on", "status"]).expect("builds");
    let e = op.start().err().unwrap_or_default();
    assert!(e.contains("no column 'status'"), "{e}");
}

#[test]
fn join_usage_errors() {
    let e = |w: &[&str]| {
        record_op(&[&["join"], w].concat())
            .err()
            .unwrap_or_default()
    };
    assert!(e(&["codes.json", "--on", "k"]).contains("must end in .csv, .tsv or .jsonl"));
    assert!(e(&["codes.csv", "--on", "=k"]).contains("both non-empty"));
    assert!(e(&["codes.csv", "--on", "k="]).contains("both non-empty"));
    assert!(e(&["codes.csv"]).contains("--on"));
    assert!(e(&["codes.csv", "--on", "k", "--missing", "skip"]).contains("skip"));
    assert!(e(&[]).contains("FILE"));
}

#[test]
fn join_names_its_field_and_its_memory() {
    use crate::ops::{Operator, command_for};
    let (_d, p) = table_file("codes.csv", CODES);
    let m = command_for(&Join)
        .try_get_matches_from(["join", &p, "--on", "code=status"])
        .expect("parses");
    assert_eq!(Join.fields(&m), ["code"]);
    let mem = Join.memory(&m).unwrap_or_default();
    assert!(
        mem.contains("the lookup table") && mem.contains("50 B on disk"),
        "{mem}"
    );
    let m = command_for(&Join)
        .try_get_matches_from(["join", "/nonexistent.csv", "--on", "k"])
        .expect("parses");
    assert_eq!(Join.fields(&m), ["k"]);
    assert!(Join.memory(&m).is_some_and(|s| !s.contains("on disk")));
    assert_eq!(human_bytes(2048), "2.0 KiB");
    assert_eq!(human_bytes(3 << 20), "3.0 MiB");
}
