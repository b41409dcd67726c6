//! The output formats on the built binary: columns that never shift in
//! `csv` and `tsv` (the chain's own, or the first batch's with a new header
//! block for a new field), text that reads as a number written as a JSON
//! number, compact JSON, and the `-b eof` batch written even when empty, in
//! every format.

use std::collections::BTreeMap;

use crate::util::{normalize_times, spate};

const FORMATS: [&str; 6] = ["tsv", "csv", "jsonl", "json", "pretty", "spark"];

/// The SPEC's example, `json then fields a,b,c` over records that each
/// lack some of the fields, in every format.
#[test]
fn output_spec_example_in_every_format() {
    let input = "{\"a\":1,\"b\":2}\n{\"b\":3,\"c\":4}\n{\"c\":5}\n";
    let expected: &[(&[&str], &str)] = &[
        (
            &["-o", "csv"],
            "time,a,b,c\nTIME,1,2,\nTIME,,3,4\nTIME,,,5\n",
        ),
        (
            &["-o", "tsv", "--header"],
            "time\ta\tb\tc\nTIME\t1\t2\t\nTIME\t\t3\t4\nTIME\t\t\t5\n",
        ),
        (&["-o", "tsv"], "TIME\t1\t2\t\nTIME\t\t3\t4\nTIME\t\t\t5\n"),
        (
            &["-o", "jsonl"],
            "{\"time\":\"TIME\",\"a\":1,\"b\":2}\n{\"time\":\"TIME\",\"b\":3,\"c\":4}\n\
             {\"time\":\"TIME\",\"c\":5}\n",
        ),
        (
            &["-o", "json"],
            "{\"time\":\"TIME\",\"rows\":[{\"a\":1,\"b\":2},{\"b\":3,\"c\":4},{\"c\":5}]}\n",
        ),
        (
            &["-o", "pretty"],
            "── TIME ── 3 rows\na  b  c\n─  ─  ─\n1  2\n   3  4\n      5\n",
        ),
        (
            &["-o", "spark"],
            "-------------------------------------------\nTime: TIME\n\
             -------------------------------------------\n(1, 2, None)\n(None, 3, 4)\n(None, None, 5)\n\n",
        ),
    ];
    for (opts, want) in expected {
        let mut args = vec!["-b", "eof"];
        args.extend_from_slice(opts);
        args.extend(["json", "then", "fields", "a,b,c"]);
        let out = spate(&args).stdin(input).run();
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert_eq!(normalize_times(&out.stdout), *want, "{args:?}");
    }
}

/// A deterministic stream of logfmt records, each with some of the fields
/// `a`..`f` in a shuffled order; a field's value names its line and field
/// (`a17`), so a cell under the wrong column is seen at once.
fn mixed_records(n: usize) -> (String, Vec<Vec<(String, String)>>) {
    let names = ["a", "b", "c", "d", "e", "f"];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut text = String::new();
    let mut recs = Vec::new();
    for i in 0..n {
        // the later fields come rarely, and later in the stream
        let reach = 2 + (i * 4 / n).min(4);
        let mut fields: Vec<(String, String)> = names[..reach]
            .iter()
            .filter(|_| next() % 3 != 0)
            .map(|f| (f.to_string(), format!("{f}{i}")))
            .collect();
        if fields.is_empty() {
            fields.push(("a".into(), format!("a{i}")));
        }
        for k in (1..fields.len()).rev() {
            let j = (next() % (k as u64 + 1)) as usize;
            fields.swap(k, j);
        }
        let line: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        text.push_str(&line.join(" "));
        text.push('\n');
        recs.push(fields);
    }
    (text, recs)
}

/// Rows of a csv or `tsv --header` output as maps from column to cell,
/// checking on the way that every row has exactly as many cells as the
/// header above it and that a header block after the first starts with
/// the columns before it.
fn read_blocks(text: &str, csv: bool) -> Vec<BTreeMap<String, String>> {
    let mut rows = Vec::new();
    let mut header: Option<Vec<String>> = None;
    let mut after_gap = false;
    for line in text.lines() {
        if line.is_empty() {
            after_gap = true;
            continue;
        }
        let cells: Vec<String> = if csv {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(line.as_bytes());
            let rec = r.records().next().expect("a record").expect("valid csv");
            rec.iter().map(str::to_string).collect()
        } else {
            line.split('\t').map(str::to_string).collect()
        };
        if cells[0] == "time" {
            if let Some(old) = &header {
                assert!(after_gap, "a new header block starts after an empty line");
                assert!(
                    cells.len() > old.len() && cells[..old.len()] == old[..],
                    "{line}"
                );
            }
            header = Some(cells);
            after_gap = false;
            continue;
        }
        assert!(!after_gap, "an empty line is followed by a header");
        let h = header.as_ref().expect("a header before the rows");
        assert_eq!(cells.len(), h.len(), "cells of {line:?} under {h:?}");
        rows.push(
            h.iter()
                .zip(cells)
                .skip(1)
                .filter(|(_, c)| !c.is_empty())
                .map(|(n, c)| (n.clone(), c))
                .collect(),
        );
    }
    rows
}

/// What each record should print, without `_`.
fn expected_rows(recs: &[Vec<(String, String)>]) -> Vec<BTreeMap<String, String>> {
    recs.iter().map(|r| r.iter().cloned().collect()).collect()
}

/// A mixed-fields stream cut into batches of several sizes: in csv and
/// `tsv --header` every value is under its own column; plain tsv is the
/// same rows without the header lines; jsonl has each record's own fields;
/// and no column ever shifts with several threads either.
#[test]
fn output_mixed_fields_never_shift_across_batches() {
    let (input, recs) = mixed_records(300);
    let want = expected_rows(&recs);
    for batch in [
        ["--batch-lines", "1"],
        ["--batch-lines", "7"],
        ["-b", "eof"],
    ] {
        let run = |format: &[&str], threads: &str| {
            let mut args: Vec<&str> = batch.to_vec();
            args.extend(["--threads", threads]);
            args.extend_from_slice(format);
            args.extend(["logfmt", "then", "fields", "a,b,c,d,e,f"]);
            let dynamic: Vec<&str> = args[..args.len() - 3].to_vec();
            let known = spate(&args).stdin(input.clone()).run();
            assert_eq!(known.code, 0, "{}", known.stderr);
            let dynamic = spate(&dynamic).stdin(input.clone()).run();
            assert_eq!(dynamic.code, 0, "{}", dynamic.stderr);
            (known.stdout, dynamic.stdout)
        };
        let (known, dynamic) = run(&["-o", "csv"], "1");
        // fields' list: one header, no block
        assert_eq!(known.lines().filter(|l| l.starts_with("time")).count(), 1);
        assert_eq!(read_blocks(&known, true), want, "{batch:?}");
        // the data's own columns: `_` printed as value, then blocks
        let mut got = read_blocks(&dynamic, true);
        for r in &mut got {
            assert!(r.remove("value").is_some());
        }
        assert_eq!(got, want, "{batch:?}");
        let (tsv_known, tsv_dynamic) = run(&["-o", "tsv", "--header"], "1");
        assert_eq!(read_blocks(&tsv_known, false), want);
        let mut got = read_blocks(&tsv_dynamic, false);
        for r in &mut got {
            assert!(r.remove("value").is_some());
        }
        assert_eq!(got, want, "{batch:?}");
        // plain tsv: the same lines, without headers and empty lines
        let (plain_known, plain_dynamic) = run(&["-o", "tsv"], "1");
        let body = |t: &str| -> String {
            t.lines()
                .filter(|l| !l.is_empty() && !l.starts_with("time"))
                .map(|l| format!("{l}\n"))
                .collect()
        };
        let same =
            |a: &str, b: &str| assert!(normalize_times(a) == normalize_times(b), "{batch:?}");
        same(&plain_known, &body(&tsv_known));
        same(&plain_dynamic, &body(&tsv_dynamic));
        // the same bytes whatever the threads (times aside)
        let (k2, d2) = run(&["-o", "csv"], "2");
        same(&k2, &known);
        same(&d2, &dynamic);
        // jsonl: each record's own fields, absent when missing
        let (jsonl, _) = run(&["-o", "jsonl"], "1");
        let got: Vec<BTreeMap<String, String>> = jsonl
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("valid JSON");
                let o = v.as_object().expect("an object");
                o.iter()
                    .filter(|(k, _)| *k != "time")
                    .map(|(k, v)| (k.clone(), v.as_str().expect("text").to_string()))
                    .collect()
            })
            .collect();
        assert_eq!(got, want);
    }
}

/// Windows write rows with the aggregation's columns: the csv header comes
/// once, before the first window, and a missing group field is an empty
/// cell in its column, window after window; json and jsonl leave nothing
/// out of an aggregation's row (null).
#[test]
fn output_windows_keep_one_header_and_their_columns() {
    let mut input = String::new();
    for i in 0..240 {
        let zone = match i % 4 {
            0 => String::new(),
            k => format!(" zone=z{k}"),
        };
        input.push_str(&format!(
            "ts=2024-03-10T12:{:02}:{:02}Z svc=s{}{zone} ms={}\n",
            i / 60,
            i % 60,
            i % 3,
            i % 17
        ));
    }
    let chain = [
        "--event-time",
        "ts",
        "-b",
        "1m",
        "logfmt",
        "then",
        "window",
        "2m",
        "then",
        "stats",
        "-f",
        "ms",
        "-a",
        "count,max",
        "-g",
        "svc,zone",
    ];
    for (format, csv) in [
        (&["-o", "csv"][..], true),
        (&["-o", "tsv", "--header"][..], false),
    ] {
        let mut args = format.to_vec();
        args.extend(chain);
        let out = spate(&args).stdin(input.clone()).run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let headers: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.starts_with("time"))
            .collect();
        assert_eq!(headers.len(), 1, "{}", out.stdout);
        let sep = if csv { "," } else { "\t" };
        assert_eq!(
            headers[0],
            ["time", "svc", "zone", "count", "max"].join(sep)
        );
        let rows = read_blocks(&out.stdout, csv);
        // 5 windows (the last ends after the last batch), 3 services, 4 zones
        assert_eq!(rows.len(), 5 * 12, "{}", out.stdout);
        assert_eq!(
            rows.iter().filter(|r| !r.contains_key("zone")).count(),
            5 * 3
        );
        assert!(
            rows.iter()
                .all(|r| r.contains_key("count") && r.contains_key("max"))
        );
    }
    let mut args = vec!["-o", "jsonl"];
    args.extend(chain);
    let out = spate(&args).stdin(input).run();
    for line in out.stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
        let keys: Vec<&String> = v.as_object().expect("an object").keys().collect();
        assert_eq!(keys, ["time", "svc", "zone", "count", "max"], "{line}");
    }
}

/// Text made by the parsers, split and map is a JSON number when it is
/// written exactly as spate writes a number; JSON strings and other text
/// stay strings; `spark` prints text as Python prints a str.
#[test]
fn output_number_text_is_a_json_number_in_jsonl_and_json() {
    let line = "GET /a 200 0.5 007 1.50 1e5 -12 {\"s\":\"3\",\"n\":4}\n";
    let re = r"^(?P<m>\S+) (?P<p>\S+) (?P<status>\S+) (?P<f>\S+) (?P<z>\S+) (?P<t>\S+) (?P<e>\S+) (?P<neg>\S+) (?P<j>.*)$";
    let chain = [
        "parse",
        re,
        "then",
        "json",
        "-f",
        "j",
        "then",
        "fields",
        "m,status,f,z,t,e,neg,s,n",
    ];
    let want = "\"m\":\"GET\",\"status\":200,\"f\":0.5,\"z\":\"007\",\"t\":\"1.50\",\"e\":\"1e5\",\
                \"neg\":-12,\"s\":\"3\",\"n\":4";
    let mut args = vec!["-b", "eof", "-o", "jsonl"];
    args.extend(chain);
    let out = spate(&args).stdin(line).run();
    assert_eq!(
        normalize_times(&out.stdout),
        format!("{{\"time\":\"TIME\",{want}}}\n")
    );
    args[3] = "json";
    let out = spate(&args).stdin(line).run();
    assert_eq!(
        normalize_times(&out.stdout),
        format!("{{\"time\":\"TIME\",\"rows\":[{{{want}}}]}}\n")
    );
    args[3] = "spark";
    let out = spate(&args).stdin(line).run();
    assert!(
        out.stdout
            .contains("('GET', '200', '0.5', '007', '1.50', '1e5', '-12', '3', 4)\n"),
        "{}",
        out.stdout
    );
    // what split and map make, through an aggregation's keys too
    let out = spate([
        "-b",
        "eof",
        "-o",
        "jsonl",
        "split",
        "then",
        "map",
        "trim",
        "then",
        "count-by-key",
    ])
    .stdin("10 10 2.50 x\n")
    .run();
    assert_eq!(
        normalize_times(&out.stdout),
        "{\"time\":\"TIME\",\"key\":10,\"count\":2}\n{\"time\":\"TIME\",\"key\":\"2.50\",\"count\":1}\n\
         {\"time\":\"TIME\",\"key\":\"x\",\"count\":1}\n"
    );
}

/// Every JSON spate writes is compact: written back by serde_json (keys
/// in order) it is the same bytes.
#[test]
fn output_all_json_is_compact() {
    let input = "{\"svc\":\"a b\",\"ms\":12,\"tags\":[1,{\"k\":\"v, w\"}],\"note\":\"x: y\"}\n\
                 {\"svc\":\"c\",\"ms\":0.25,\"tags\":[],\"note\":null}\n";
    for format in ["jsonl", "json"] {
        for chain in [
            &["json"][..],
            &[
                "json",
                "then",
                "stats",
                "-f",
                "ms",
                "-a",
                "mean,max,p50,count",
                "-g",
                "svc",
            ][..],
        ] {
            let mut args = vec!["-b", "eof", "-o", format, "--stats-json"];
            args.extend_from_slice(chain);
            let out = spate(&args).stdin(input).run();
            assert_eq!(out.code, 0, "{}", out.stderr);
            let lines: Vec<&str> = out.stdout.lines().collect();
            assert!(
                lines
                    .last()
                    .is_some_and(|l| l.starts_with("{\"accounting\":"))
            );
            for line in lines {
                let v: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
                assert_eq!(serde_json::to_string(&v).expect("JSON"), line, "{args:?}");
            }
        }
    }
}

/// `-b eof` writes its one batch even when it is empty: count's `0` row,
/// the known columns' header in csv and `tsv --header`, json's batch
/// object, pretty's banner and spark's block; nothing where there is
/// neither a row nor a header to write.
#[test]
fn output_eof_batch_is_written_even_empty_in_every_format() {
    let banner = "-------------------------------------------\nTime: TIME\n\
                  -------------------------------------------\n";
    let chains: [&[&str]; 4] = [
        &["count"],
        &["count-by-key"],
        &[
            "logfmt", "then", "stats", "-f", "ms", "-a", "mean", "-g", "level",
        ],
        &["grep", "x"],
    ];
    // per chain: tsv, tsv --header, csv, jsonl, json, pretty, spark
    let expected: [[String; 7]; 4] = [
        [
            "TIME\t0\n".into(),
            "time\tcount\nTIME\t0\n".into(),
            "time,count\nTIME,0\n".into(),
            "{\"time\":\"TIME\",\"count\":0}\n".into(),
            "{\"time\":\"TIME\",\"rows\":[{\"count\":0}]}\n".into(),
            "── TIME ── 1 row\ncount\n─────\n    0\n".into(),
            format!("{banner}0\n\n"),
        ],
        [
            String::new(),
            "time\tkey\tcount\n".into(),
            "time,key,count\n".into(),
            String::new(),
            "{\"time\":\"TIME\",\"rows\":[]}\n".into(),
            "── TIME ── 0 rows\n(no rows)\n".into(),
            format!("{banner}\n"),
        ],
        [
            String::new(),
            "time\tlevel\tmean\n".into(),
            "time,level,mean\n".into(),
            String::new(),
            "{\"time\":\"TIME\",\"rows\":[]}\n".into(),
            "── TIME ── 0 rows\n(no rows)\n".into(),
            format!("{banner}\n"),
        ],
        [
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            "{\"time\":\"TIME\",\"rows\":[]}\n".into(),
            "── TIME ── 0 rows\n(no rows)\n".into(),
            format!("{banner}\n"),
        ],
    ];
    let formats: [&[&str]; 7] = [
        &["-o", "tsv"],
        &["-o", "tsv", "--header"],
        &["-o", "csv"],
        &["-o", "jsonl"],
        &["-o", "json"],
        &["-o", "pretty"],
        &["-o", "spark"],
    ];
    assert_eq!(FORMATS.len() + 1, formats.len());
    for (chain, want) in chains.iter().zip(&expected) {
        for (format, want) in formats.iter().zip(want) {
            let mut args = vec!["-b", "eof"];
            args.extend_from_slice(format);
            args.extend_from_slice(chain);
            // empty input, and for grep input it keeps nothing of
            let inputs: &[&str] = if chain[0] == "grep" {
                &["", "nothing=here\n"]
            } else {
                &[""]
            };
            for input in inputs {
                let out = spate(&args).stdin(*input).run();
                assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
                assert_eq!(normalize_times(&out.stdout), *want, "{args:?} on {input:?}");
            }
        }
    }
}
