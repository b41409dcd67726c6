//! Results to a file (`--output-file`) and dropped lines kept
//! (`--dead-letter`): what lands in each, in order, whatever the threads or
//! the chunking, and what stays on standard output.

use crate::util::spate;

/// A mixed input: valid JSON lines, invalid ones, bad UTF-8, lines without
/// a time and late ones, spread so that chunks and parts cut through them.
fn mixed(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        let minute = (i / 50) % 60;
        match i % 17 {
            3 => out.extend_from_slice(format!("not json {i}\n").as_bytes()),
            5 => out.extend_from_slice(b"{\"ts\":\"2024-03-10T11:00:00Z\",\"v\":1}\n"),
            7 => out.extend_from_slice(format!("{{\"v\":{i}}}\n").as_bytes()),
            11 => {
                out.extend_from_slice(b"{\"ts\":\"2024-03-10T12:00:00Z\",\"x\":\"\xff\"");
                out.extend_from_slice(b"\n");
            }
            _ => out.extend_from_slice(
                format!(
                    "{{\"ts\":\"2024-03-10T12:{minute:02}:{:02}Z\",\"v\":{i}}}\n",
                    i % 60
                )
                .as_bytes(),
            ),
        }
    }
    out
}

#[test]
fn results_dead_letter_same_bytes_whatever_the_threads_and_chunks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, mixed(60_000)).expect("write input");
    let inp = input.to_str().expect("utf-8");
    let mut first: Option<String> = None;
    for (k, (threads, max_line, pipe)) in [
        ("1", "1MiB", false),
        ("2", "1MiB", false),
        ("4", "1MiB", true),
        ("2", "300", true),
    ]
    .into_iter()
    .enumerate()
    {
        let dead = dir.path().join(format!("dead{k}.jsonl"));
        let mut args = vec![
            "--event-time".to_string(),
            "ts".into(),
            "-b".into(),
            "1m".into(),
            "--threads".into(),
            threads.into(),
            "--max-line-bytes".into(),
            max_line.into(),
            "--dead-letter".into(),
            dead.to_str().expect("utf-8").into(),
        ];
        if !pipe {
            args.extend(["-i".to_string(), inp.to_string()]);
        }
        args.extend(["json", "then", "count"].map(String::from));
        let run = spate(&args);
        let out = if pipe {
            run.stdin(std::fs::read(&input).expect("read input")).run()
        } else {
            run.run()
        };
        assert_eq!(out.code, 0, "{}", out.stderr);
        let text = std::fs::read_to_string(&dead).expect("dead letters written");
        // one line per dropped line, in input order
        let lines: Vec<u64> = text
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("a JSON object");
                v["line"].as_u64().expect("a line number")
            })
            .collect();
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "not in input order");
        assert!(text.contains("\"reason\":\"invalid_json\""));
        assert!(text.contains("\"reason\":\"late\""));
        assert!(text.contains("\"reason\":\"untimed\""));
        // the input is named as given (- for standard input)
        let name = if pipe {
            "\"input\":\"-\""
        } else {
            "\"input\":\""
        };
        assert!(text.contains(name), "{}", &text[..200.min(text.len())]);
        let body: String = text
            .lines()
            .map(|l| l.replace(&format!("\"input\":\"{inp}\""), "\"input\":\"-\""))
            .collect::<Vec<_>>()
            .join("\n");
        match &first {
            None => first = Some(body),
            Some(f) => assert!(
                *f == body,
                "--threads {threads} --max-line-bytes {max_line} pipe {pipe}: other dead letters"
            ),
        }
        // every dropped line is there: the summary's count
        let dropped: u64 = out
            .stderr
            .split(" dropped")
            .next()
            .and_then(|s| s.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("a summary with the dropped count");
        assert_eq!(lines.len() as u64, dropped, "{}", out.stderr);
    }
}

#[test]
fn results_dead_letter_shape_and_repaired_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dead = dir.path().join("dead.jsonl");
    let out = spate([
        "-b",
        "eof",
        "--dead-letter",
        dead.to_str().expect("utf-8"),
        "parse",
        "^(?P<n>\\d+)$",
        "then",
        "count",
    ])
    .stdin(b"1\nabc\n2\n\"q\"\t\xff\n".to_vec())
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(&dead).expect("dead letters"),
        "{\"reason\":\"unparsed\",\"input\":\"-\",\"line\":2,\"text\":\"abc\"}\n\
         {\"reason\":\"unparsed\",\"input\":\"-\",\"line\":4,\"text\":\"\\\"q\\\"\\t\u{fffd}\"}\n"
    );
}

#[test]
fn results_output_file_appends_tsv_and_stats_json_stays_on_stdout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("out.tsv");
    std::fs::write(&file, "earlier\n").expect("write");
    let f = file.to_str().expect("utf-8");
    let out = spate([
        "-b",
        "eof",
        "--output-file",
        f,
        "split",
        "then",
        "count-by-key",
    ])
    .stdin("a b a\n")
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    let text = std::fs::read_to_string(&file).expect("read");
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "earlier");
    assert!(
        rows[1].ends_with("\ta\t2") && rows[2].ends_with("\tb\t1"),
        "{text}"
    );
    let out = spate([
        "-b",
        "eof",
        "-o",
        "jsonl",
        "--stats-json",
        "--output-file",
        f,
        "count",
    ])
    .stdin("x\n")
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("{\"accounting\":"), "{}", out.stdout);
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.contains("\"count\":1")),
        "{text}"
    );
}

#[test]
fn results_output_file_unwritable_is_exit_1_naming_it() {
    let out = spate([
        "-b",
        "eof",
        "--output-file",
        "/nonexistent/dir/out.tsv",
        "count",
    ])
    .stdin("x\n")
    .run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("/nonexistent/dir/out.tsv"),
        "{}",
        out.stderr
    );
}
