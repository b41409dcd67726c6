//! Usage: help texts, and every misuse is exit 2 with one line that names
//! the operator's position.

use crate::util::spate;

#[track_caller]
fn usage_error(args: &[&str], needle: &str) {
    let out = spate(args).stdin("a\n").run();
    assert_eq!(
        out.code, 2,
        "exit status for {args:?}; stderr: {}",
        out.stderr
    );
    assert_eq!(out.stdout, "", "nothing on stdout for {args:?}");
    let err = out.stderr.trim_end();
    assert!(!err.contains('\n'), "one line for {args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
}

#[test]
fn cli_unknown_operator_suggests() {
    usage_error(
        &["split", "then", "count-by-kee"],
        "operator 2 (count-by-kee): unknown operator; did you mean 'count-by-key'?",
    );
}

#[test]
fn cli_top_before_aggregation_is_refused() {
    usage_error(&["top", "3"], "operator 1 (top)");
}

#[test]
fn cli_two_windows_are_refused() {
    usage_error(
        &[
            "-b", "1s", "window", "2s", "then", "window", "4s", "then", "count",
        ],
        "operator 2 (window)",
    );
}

#[test]
fn cli_bad_regex_names_position() {
    usage_error(&["grep", "ab(c"], "operator 1 (grep): bad regex 'ab(c'");
    usage_error(&["split", "then", "parse", "(?P<x>a"], "operator 2 (parse)");
}

#[test]
fn cli_bad_duration() {
    usage_error(&["-b", "10x", "count"], "--batch");
    usage_error(&["--lateness", "soon", "count"], "--lateness");
}

#[test]
fn cli_bad_operator_option() {
    usage_error(&["split", "--nope"], "operator 1 (split)");
}

#[test]
fn cli_empty_chain_and_stray_then() {
    usage_error(&[], "no operator");
    usage_error(&["split", "then"], "operator 2");
}

#[test]
fn cli_eof_with_event_time_or_window_is_refused() {
    usage_error(&["-b", "eof", "--event-time", "auto", "count"], "-b eof");
    usage_error(
        &["-b", "eof", "window", "1m", "then", "count"],
        "operator 1 (window)",
    );
}

#[test]
fn cli_operator_help_prints_and_exits_0() {
    let out = spate(["split", "then", "count-by-key", "--help"]).run();
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("spate count-by-key"), "{}", out.stdout);
    assert!(out.stdout.contains("Usage"), "{}", out.stdout);
}

#[test]
fn cli_help_lists_every_operator() {
    let out = spate(["--help"]).run();
    assert_eq!(out.code, 0);
    for op in spate::ops::REGISTRY {
        assert!(out.stdout.contains(op.name()), "--help lacks {}", op.name());
    }
}

#[test]
fn cli_version() {
    let out = spate(["--version"]).run();
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("spate "));
}

#[test]
fn cli_help_has_no_escape_codes_in_a_pipe() {
    for args in [vec!["--help"], vec!["split", "--help"], vec!["stats", "-h"]] {
        let out = spate(&args).run();
        assert_eq!(out.code, 0);
        assert!(!out.stdout.contains('\u{1b}'), "escape codes in {args:?}");
    }
}

#[test]
fn cli_help_word_after_double_dash_is_a_value() {
    let out = spate([
        "-b", "eof", "-o", "tsv", "grep", "--", "--help", "then", "count",
    ])
    .stdin("a --help b\nplain\n")
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.ends_with("\t1\n"), "{}", out.stdout);
}

#[test]
fn cli_missing_required_operator_argument_is_named() {
    usage_error(&["stats", "-a", "mean"], "operator 1 (stats)");
    usage_error(&["stats", "-a", "mean"], "--field");
}
