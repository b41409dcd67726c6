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
fn cli_operator_usage_errors_say_what_to_type() {
    usage_error(
        &["-b", "eof", "grep", "--invert", "a"],
        "spate: operator 1 (grep): unexpected argument 'a' found; \
         did you mean '--invert-match'?; usage: spate grep [OPTIONS] [REGEX] (spate grep --help)",
    );
    usage_error(
        &["count", "x"],
        "spate: operator 1 (count): unexpected argument 'x' found; \
         usage: spate count (spate count --help)",
    );
    usage_error(&["json", "extra"], "usage: spate json");
    usage_error(
        &["head", "3", "4"],
        "usage: spate head [N] (spate head --help)",
    );
    usage_error(
        &["split", "then", "head", "--nmber", "3"],
        "operator 2 (head): unexpected argument '--nmber' found",
    );
    // the word clap could not read, without its tip to write `-- -1`
    let out = spate(["-b", "1s", "window", "session", "-1s", "then", "count"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "spate: operator 1 (window): unexpected argument '-1s' found; usage: spate window"
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("tip"), "{}", out.stderr);
    // usage with a missing argument too; where the operator's form is two
    // lines, both, on one
    usage_error(&["stats", "-a", "mean"], "; usage: spate stats --field");
    usage_error(
        &["where", "a", "b", "c", "d"],
        "usage: spate where FIELD OP VALUE or spate where FIELDOPVALUE (spate where --help)",
    );
}

#[test]
fn cli_missing_required_operator_argument_is_named() {
    usage_error(&["stats", "-a", "mean"], "operator 1 (stats)");
    usage_error(&["stats", "-a", "mean"], "--field");
}

#[test]
fn cli_malformed_or_unknown_inputs_are_usage_errors_before_reading() {
    // nothing is read: a port that would be bound, or a file, stays untouched
    usage_error(
        &["-i", "listen://:9912", "count"],
        "spate: -i listen://:9912: the address is missing",
    );
    usage_error(
        &["-i", "tcp://127.0.0.1", "count"],
        "spate: -i tcp://127.0.0.1: the port is missing; write tcp://HOST:PORT",
    );
    usage_error(
        &["-i", "http://x", "count"],
        "spate: -i http://x: spate does not read 'http://'",
    );
    usage_error(
        &["-i", "kafka://127.0.0.1:9092", "count"],
        "the topic is missing",
    );
    usage_error(
        &["-i", "kafka://127.0.0.1:9092/t?from=start", "count"],
        "from=earliest or from=latest",
    );
    // the form is checked before a missing file is looked for
    usage_error(&["-i", "no-such-file", "-i", "tcp://h", "count"], "tcp://h");
    // a port out of range: the address to write has a port that is one
    usage_error(
        &["-i", "listen://127.0.0.1:99999", "count"],
        "write listen://ADDR:PORT: listen://127.0.0.1:9999 for this host only, \
         listen://0.0.0.0:9999 for every interface",
    );
}

#[test]
fn cli_batch_eof_in_capitals_is_eof() {
    for b in ["EOF", "Eof"] {
        let out = spate(["-b", b, "-o", "tsv", "count"]).stdin("a\nb\n").run();
        assert_eq!(out.code, 0, "{b}: {}", out.stderr);
        assert!(out.stdout.ends_with("\t2\n"), "{b}: {}", out.stdout);
    }
}

#[test]
fn cli_unknown_options_suggest_the_closest() {
    usage_error(
        &["--batchh", "eof", "count"],
        "spate: unknown option '--batchh'; did you mean '--batch'?",
    );
    usage_error(
        &["--event-tme", "auto", "count"],
        "did you mean '--event-time'?",
    );
    usage_error(&["--strcit", "count"], "did you mean '--strict'?");
    usage_error(&["-x", "count"], "spate: unknown option '-x'");
    usage_error(&["-b", "eof", "--emit-emptyy", "count"], "'--emit-empty'");
}

#[test]
fn cli_spate_options_after_the_chain_go_before_it() {
    usage_error(
        &["split", "then", "count", "-o", "json"],
        "spate: operator 2 (count): '-o' is one of spate's options, not an option of count; \
         options go before the chain: spate -o json split then count",
    );
    usage_error(
        &["-b", "eof", "parse", "(?P<a>x)", "--stats"],
        "options go before the chain: spate -b eof --stats parse '(?P<a>x)'",
    );
    // an operator's own options are its own, even when spate has one too
    let out = spate(["-b", "eof", "-o", "tsv", "grep", "-i", "A", "then", "count"])
        .stdin("a\nb\n")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.ends_with("\t1\n"), "{}", out.stdout);
    let out = spate(["-b", "eof", "-o", "tsv", "csv", "--header", "then", "count"])
        .stdin("x,y\n1,2\n")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    // a word meant as the value of the operator's own option is not
    // taken for spate's (the message says how to pass it)
    let out = spate(["split", "-r", "-o", "then", "count"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("operator 1 (split)"), "{}", out.stderr);
    assert!(!out.stderr.contains("spate's options"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("to pass '-o' as the value of -r, write -r=-o"),
        "{}",
        out.stderr
    );
}

#[test]
fn cli_short_options_take_their_value_attached() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("f.txt"), "a\nb\nc\n").expect("write f.txt");
    let runs: [(&[&str], &str); 5] = [
        (&["-beof", "-otsv", "count"], "\t2\n"),
        (&["-b=eof", "-o=tsv", "count"], "\t2\n"),
        (&["-beof", "-ojsonl", "count"], "\"count\":2}\n"),
        (&["-b", "eof", "-if.txt", "-otsv", "count"], "\t3\n"),
        (&["-beof", "-otsv", "-if.txt", "-i-", "count"], "\t5\n"),
    ];
    for (args, end) in runs {
        let out = spate(args).stdin("a\nb\n").current_dir(dir.path()).run();
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(out.stdout.ends_with(end), "{args:?}: {}", out.stdout);
    }
    // the command line the hint for an option after the chain gives runs
    let out = spate(["-b", "eof", "count", "-if.txt"])
        .current_dir(dir.path())
        .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("options go before the chain: spate -b eof -if.txt count"),
        "{}",
        out.stderr
    );
    let out = spate(["-b", "eof", "-if.txt", "-otsv", "count"])
        .current_dir(dir.path())
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn cli_options_that_do_nothing_are_refused_with_the_reason() {
    usage_error(
        &["--lateness", "5s", "count"],
        "spate: --lateness does nothing without --event-time",
    );
    usage_error(
        &["--reconnect", "count"],
        "--reconnect does nothing here: it retries tcp:// and kafka:// inputs",
    );
    usage_error(
        &["-o", "jsonl", "--header", "count"],
        "--header does nothing with -o jsonl",
    );
    usage_error(&["-o", "csv", "--header", "count"], "with -o csv");
    usage_error(
        &["--from-end", "-i", "a.log", "count"],
        "--from-end does nothing without -F",
    );
    // and where they do something they are accepted
    let out = spate([
        "-b",
        "1s",
        "--event-time",
        "auto",
        "--lateness",
        "5s",
        "-o",
        "tsv",
        "--header",
        "count",
    ])
    .stdin("2026-01-01T00:00:00Z a\n")
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("time\tcount\n"), "{}", out.stdout);
}

#[test]
fn cli_help_word_shows_the_help() {
    let out = spate(["help"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Usage: spate"), "{}", out.stdout);
    assert_eq!(out.stdout, spate(["--help"]).run().stdout);
    let out = spate(["help", "window"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, spate(["window", "--help"]).run().stdout);
}

#[test]
fn cli_help_examples_are_never_cut_in_two() {
    let window = spate(["window", "--help"]).env("COLUMNS", "60").run();
    assert!(
        window.stdout.contains(
            "\n  spate -i access.log --event-time auto -b 1m parse '\" (?P<status>\\d{3}) ' \
             then window 1h --slide 1m then count-by-key status\n"
        ),
        "{}",
        window.stdout
    );
    // every example of every operator, and spate's, is one line
    let mut helps = vec![spate(["--help"]).env("COLUMNS", "60").run().stdout];
    for op in spate::ops::REGISTRY {
        helps.push(
            spate([op.name(), "--help"])
                .env("COLUMNS", "60")
                .run()
                .stdout,
        );
    }
    for help in helps {
        let Some((_, examples)) = help.split_once("\nExamples:\n") else {
            continue;
        };
        for line in examples.lines().take_while(|l| !l.is_empty()) {
            assert!(
                line.starts_with("  "),
                "a wrapped example line {line:?} in\n{help}"
            );
            assert!(
                line.trim_start().starts_with("spate ")
                    || line.trim_start().starts_with("tail ")
                    || line.trim_start().starts_with("nc "),
                "a wrapped example line {line:?} in\n{help}"
            );
        }
    }
}
