//! Inputs, batches and diagnostics end to end: files and stdin merged,
//! line endings, bad UTF-8, long lines, `--strict`, a closed stdout, and the
//! batch triggers.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::util::{normalize_times, spate, tsv_body};

#[test]
fn inputs_files_and_stdin_merge() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.txt");
    let b = dir.path().join("b.txt");
    std::fs::write(&a, "x y\nx\n").unwrap();
    std::fs::write(&b, "y\nz").unwrap(); // no final newline: the last line counts
    let out = spate([
        "-b",
        "eof",
        "-o",
        "tsv",
        "-i",
        a.to_str().unwrap(),
        "-i",
        b.to_str().unwrap(),
        "-i",
        "-",
        "split",
        "then",
        "count-by-key",
    ])
    .stdin("z z\n")
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(tsv_body(&out.stdout), ["z\t3", "x\t2", "y\t2"]);
}

#[test]
fn inputs_missing_file_is_exit_1_with_name() {
    let out = spate(["-i", "/nonexistent/access.log", "count"]).run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("/nonexistent/access.log"),
        "{}",
        out.stderr
    );
}

#[test]
fn inputs_crlf_is_stripped() {
    let out = spate(["-b", "eof", "-o", "tsv", "count-by-key"])
        .stdin("a\r\na\r\nb\n")
        .run();
    assert_eq!(tsv_body(&out.stdout), ["a\t2", "b\t1"]);
}

#[test]
fn inputs_bad_utf8_is_replaced_and_counted() {
    let out = spate(["-b", "eof", "-o", "tsv", "count-by-key"])
        .stdin(b"a\xffb\nok\n".to_vec())
        .run();
    assert_eq!(out.code, 0);
    assert_eq!(tsv_body(&out.stdout), ["a\u{fffd}b\t1", "ok\t1"]);
    assert!(out.stderr.contains("1 bad UTF-8"), "{}", out.stderr);
    crate::util::assert_balanced(&out.stderr);
}

#[test]
fn inputs_long_lines_are_cut_and_counted() {
    let mut input = "x".repeat(50);
    input.push('\n');
    input.push_str("short\n");
    let out = spate([
        "-b",
        "eof",
        "-o",
        "tsv",
        "--max-line-bytes",
        "10",
        "count-by-key",
    ])
    .stdin(input)
    .run();
    assert_eq!(out.code, 0);
    assert_eq!(tsv_body(&out.stdout), ["short\t1", "xxxxxxxxxx\t1"]);
    assert!(out.stderr.contains("1 cut"), "{}", out.stderr);
    crate::util::assert_balanced(&out.stderr);
}

#[test]
fn inputs_huge_partial_line_is_cut_without_buffering_it() {
    // 8 MiB without a newline, then a short line
    let mut input = vec![b'y'; 8 << 20];
    input.extend_from_slice(b"\nend\n");
    let out = spate([
        "-b",
        "eof",
        "-o",
        "tsv",
        "--max-line-bytes",
        "4",
        "count-by-key",
    ])
    .stdin(input)
    .timeout(Duration::from_secs(60))
    .run();
    assert_eq!(tsv_body(&out.stdout), ["end\t1", "yyyy\t1"]);
}

#[test]
fn inputs_strict_stops_at_the_line() {
    let out = spate([
        "-b",
        "eof",
        "--strict",
        "parse",
        r"(?P<n>\d+)",
        "then",
        "count",
    ])
    .stdin("1\n2\nthree\n4\n")
    .run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("line 3"), "{}", out.stderr);
    assert!(out.stderr.contains("unparsed"), "{}", out.stderr);
    let out = spate(["-b", "eof", "--strict", "count"])
        .stdin(b"ok\n\xfe\n".to_vec())
        .run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("line 2") && out.stderr.contains("UTF-8"),
        "{}",
        out.stderr
    );
}

#[test]
fn inputs_drop_summary_on_stderr() {
    let out = spate([
        "-b",
        "eof",
        "-o",
        "tsv",
        "parse",
        r"^(?P<n>\d+)$",
        "then",
        "count",
    ])
    .stdin("1\nx\n2\ny\n")
    .run();
    assert_eq!(out.code, 0);
    assert_eq!(tsv_body(&out.stdout), ["2"]);
    assert!(out.stderr.contains("4 lines read"), "{}", out.stderr);
    assert!(out.stderr.contains("2 unparsed"), "{}", out.stderr);
    assert!(
        out.stderr.contains("2 processed, 0 filtered, 2 dropped"),
        "{}",
        out.stderr
    );
    crate::util::assert_balanced(&out.stderr);
    // nothing dropped: nothing said
    let out = spate(["-b", "eof", "count"]).stdin("1\n").run();
    assert_eq!(out.stderr, "");
}

#[test]
fn inputs_closed_stdout_ends_quietly() {
    // `spate ... | head -1`: a reader that goes away
    let mut child = spate(["--batch-lines", "1", "-o", "tsv", "count"]).spawn();
    let mut sin = child.stdin.take();
    drop(child.stdout.take()); // close the read end of spate's stdout
    let _ = &mut sin;
    let data = "line\n".repeat(100_000);
    let writer = std::thread::spawn(move || {
        if let Some(mut s) = sin {
            let _ = s.write_all(data.as_bytes());
        }
    });
    let out = crate::util::wait_output_stderr_only(child, Duration::from_secs(20));
    let _ = writer.join();
    assert_eq!(
        out.1, 0,
        "exit status after a closed stdout; stderr: {}",
        out.0
    );
    assert_eq!(out.0, "", "nothing on stderr");
}

#[test]
fn inputs_batch_lines_cut_every_n() {
    let out = spate(["--batch-lines", "2", "-o", "tsv", "count"])
        .stdin("a\nb\nc\nd\ne\n")
        .run();
    assert_eq!(tsv_body(&out.stdout), ["2", "2", "1"]);
    let times = normalize_times(&out.stdout);
    assert!(times.starts_with("TIME\t2\n"), "{times}");
}

#[test]
fn inputs_max_batches_stops() {
    let out = spate([
        "--batch-lines",
        "1",
        "--max-batches",
        "2",
        "-o",
        "tsv",
        "count-by-key",
    ])
    .stdin("a\nb\nc\n")
    .run();
    assert_eq!(out.code, 0);
    assert_eq!(tsv_body(&out.stdout), ["a\t1", "b\t1"]);
}

#[test]
fn inputs_emit_empty_shows_zero_count() {
    let out = spate([
        "-b",
        "eof",
        "--emit-empty",
        "-o",
        "tsv",
        "grep",
        "nomatch",
        "then",
        "count",
    ])
    .stdin("a\n")
    .run();
    assert_eq!(tsv_body(&out.stdout), ["0"]);
    // -b eof writes its one batch whatever (changed from 0.1, which
    // printed nothing here)
    let out = spate(["-b", "eof", "-o", "tsv", "grep", "nomatch", "then", "count"])
        .stdin("a\n")
        .run();
    assert_eq!(tsv_body(&out.stdout), ["0"]);
}

#[test]
fn inputs_processing_time_batches_align_to_interval() {
    // a slow writer: lines arrive over ~0.6 s, batches of 200ms
    let mut child = spate([
        "-b",
        "200ms",
        "-o",
        "tsv",
        "--time-format",
        "epoch-ms",
        "count",
    ])
    .spawn();
    let mut sin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        for _ in 0..6 {
            let _ = sin.write_all(b"x\n");
            let _ = sin.flush();
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let started = Instant::now();
    let out = crate::util::wait_output(child, Duration::from_secs(20));
    writer.join().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut total = 0;
    for line in out.stdout.lines() {
        let (t, n) = line.split_once('\t').unwrap();
        let t: i64 = t.parse().unwrap();
        assert_eq!(t % 200, 0, "batch time {t} on a multiple of 200 ms");
        total += n.parse::<i64>().unwrap();
    }
    assert_eq!(total, 6, "{}", out.stdout);
    assert!(
        out.stdout.lines().count() >= 2,
        "several batches: {}",
        out.stdout
    );
}

#[test]
fn inputs_duration_stops_a_quiet_stream() {
    // stdin stays open and silent: --duration ends the run
    let mut child = spate(["-b", "100ms", "--duration", "300ms", "-o", "tsv", "count"]).spawn();
    let sin = child.stdin.take();
    let started = Instant::now();
    let out = crate::util::wait_output(child, Duration::from_secs(20));
    drop(sin);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn inputs_stdin_default_and_dash() {
    let a = spate(["-b", "eof", "-o", "tsv", "count"])
        .stdin("1\n2\n")
        .run();
    let b = spate(["-b", "eof", "-o", "tsv", "-i", "-", "count"])
        .stdin("1\n2\n")
        .run();
    assert_eq!(tsv_body(&a.stdout), tsv_body(&b.stdout));
}

#[test]
fn inputs_csv_header_holds_on_a_large_parallel_input() {
    let mut csv = String::from("city,n\n");
    for i in 0..200_000 {
        csv.push_str(["Paris,1\n", "Rome,2\n"][i % 2]);
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.csv");
    std::fs::write(&p, csv).unwrap();
    let out = spate([
        "--threads",
        "2",
        "-b",
        "eof",
        "-o",
        "tsv",
        "-i",
        p.to_str().unwrap(),
        "csv",
        "--header",
        "then",
        "count-by-key",
        "city",
    ])
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(tsv_body(&out.stdout), ["Paris\t100000", "Rome\t100000"]);
}

/// A large batch straight to a row-by-row format has its rows made as they
/// are written, on the workers; the output is the one a single thread
/// writes from rows made first, in every format.
#[test]
fn inputs_large_batch_rows_made_as_written_equal_one_thread() {
    let mut text = String::new();
    for i in 0..60_000u32 {
        // 20,000 keys, counts 1 to 3, some needing escapes
        let k = i % 20_000;
        let sep = if k % 997 == 0 { "\\" } else { "" };
        text.push_str(&format!("k{sep}{}\n", k * 7 % 20_011));
        if i % 3 == 0 {
            text.push_str(&format!("{}\n", k));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("keys.txt");
    std::fs::write(&p, text).unwrap();
    let time = regex::Regex::new(r"\b\d{10}(\.\d+)?\b").unwrap();
    for format in ["tsv", "jsonl", "csv", "json"] {
        // --header is tsv's (with another format it is bad usage)
        let header = if format == "tsv" {
            "--header"
        } else {
            "--emit-empty"
        };
        let run = |threads: &str| {
            let out = spate([
                "--threads",
                threads,
                "-b",
                "eof",
                header,
                "--time-format",
                "epoch",
                "-o",
                format,
                "-i",
                p.to_str().unwrap(),
                "count-by-key",
            ])
            .run();
            assert_eq!(out.code, 0, "{}", out.stderr);
            // the batch time is when the input ended: not compared
            out.stdout
                .lines()
                .map(|l| time.replace_all(l, "T").into_owned())
                .collect::<Vec<String>>()
        };
        let (one, two) = (run("1"), run("2"));
        let bytes: usize = one.iter().map(String::len).sum();
        assert!(bytes > 200_000, "{format}: {bytes} bytes");
        assert_eq!(one.len(), two.len(), "{format}");
        if let Some((a, b)) = one.iter().zip(&two).find(|(a, b)| a != b) {
            panic!("{format}: one thread wrote {a:?}, two {b:?}");
        }
    }
}

/// A pipe delivers 64 KiB reads; the engine gathers the queued ones into
/// one parallel step. Every line is counted once, and a chain with no
/// aggregation keeps the input's order across the gathered chunks.
#[test]
fn inputs_pipe_chunks_gathered_keep_counts_and_order() {
    let lines: Vec<String> = (0..200_000)
        .map(|i| format!("w{} x{i}", i % 1000))
        .collect();
    let input = lines.join("\n") + "\n";
    let out = spate([
        "--threads",
        "2",
        "-b",
        "eof",
        "split",
        "then",
        "count-by-key",
    ])
    .stdin(input.clone())
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows = tsv_body(&out.stdout);
    assert_eq!(rows.len(), 1000 + 200_000, "{}", out.stderr);
    for r in &rows {
        let (key, count) = r.split_once('\t').expect("key and count");
        let want = if key.starts_with('w') { "200" } else { "1" };
        assert_eq!(count, want, "{key}");
    }
    let out = spate(["--threads", "2", "-b", "eof", "grep", "x"])
        .stdin(input)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(tsv_body(&out.stdout), lines);
}

/// A file of many chunks, through maps (`-i`, `< FILE`) and through a
/// decoder: the engine takes the chunks queued behind a full one into one
/// step, each cut into parts as on its own, and a line longer than a chunk
/// (cut, read the plain way) among them. Every line is counted once, as on
/// one thread, and a chain with no aggregation keeps the input's order.
#[test]
fn inputs_file_chunks_gathered_keep_counts_and_order() {
    const LINES: usize = 500_000;
    let mut input = String::new();
    for i in 0..LINES {
        if i == LINES / 2 {
            // past --max-line-bytes (1 MiB): cut, its first MiB counted
            input.push_str(&"q ".repeat(600_000));
            input.push('\n');
        }
        input.push_str(&format!("w{} v{} padding-{}\n", i % 1000, i % 7919, i % 3));
    }
    assert!(input.len() > 11 << 20, "{} bytes", input.len());
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("lines.txt");
    std::fs::write(&plain, &input).unwrap();
    let packed = dir.path().join("lines.txt.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(input.as_bytes()).unwrap();
    std::fs::write(&packed, gz.finish().unwrap()).unwrap();
    let count = ["-b", "eof", "-o", "tsv", "split", "then", "count-by-key"];
    let run = |threads: &str, path: &std::path::Path, redirect: bool, chain: &[&str]| {
        let mut args = vec!["--threads", threads];
        let name = path.to_str().unwrap();
        if !redirect {
            args.extend(["-i", name]);
        }
        args.extend(chain);
        let mut r = spate(&args).timeout(Duration::from_secs(120));
        if redirect {
            r = r.stdin_file(std::fs::File::open(path).unwrap());
        }
        let out = r.run();
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("1 cut"), "{args:?}: {}", out.stderr);
        tsv_body(&out.stdout)
    };
    let one = run("1", &plain, false, &count);
    let mut seen = 0;
    for r in &one {
        let (key, n) = r.split_once('\t').expect("key and count");
        let n: usize = n.parse().expect("a count");
        let want = match key.as_bytes()[0] {
            b'w' => LINES / 1000,
            b'v' => {
                let k: usize = key[1..].parse().expect("a number");
                LINES / 7919 + usize::from(k < LINES % 7919)
            }
            b'p' => {
                let k: usize = key[8..].parse().expect("a number");
                LINES / 3 + usize::from(k < LINES % 3)
            }
            _ => continue,
        };
        assert_eq!(n, want, "{key}");
        seen += n;
    }
    assert_eq!(seen, 3 * LINES);
    assert!(one.contains(&"q\t524288".to_string()), "{:?}", &one[..3]);
    for (path, redirect) in [(&plain, false), (&plain, true), (&packed, false)] {
        let two = run("2", path, redirect, &count);
        assert!(
            one == two,
            "{path:?} (redirected: {redirect}): two threads differ"
        );
    }
    let grep = ["-b", "eof", "-o", "tsv", "grep", "w17 "];
    let want: Vec<String> = input
        .lines()
        .filter(|l| l.contains("w17 "))
        .map(String::from)
        .collect();
    assert!(want.len() > 100);
    let got = run("2", &plain, false, &grep);
    let first = got.iter().zip(&want).position(|(g, w)| g != w);
    assert!(
        got.len() == want.len() && first.is_none(),
        "{} lines for {}; first difference at {first:?}",
        got.len(),
        want.len()
    );
}

/// `prefix` and a zero-padded number, one a line, `n` lines.
fn numbered_lines(prefix: &str, n: usize) -> String {
    (0..n).map(|i| format!("{prefix}{i:07}\n")).collect()
}

#[test]
fn inputs_that_end_are_read_one_after_another() {
    // files of two megabytes each: several chunks, which 0.1 interleaved
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.txt");
    let b = dir.path().join("b.txt");
    std::fs::write(&a, numbered_lines("a", 200_000)).unwrap();
    std::fs::write(&b, numbered_lines("b", 200_000)).unwrap();
    let stdin = numbered_lines("s", 50_000);
    let every_1000th = |p: &str, n: usize| -> Vec<String> {
        (0..n)
            .filter(|i| i % 1000 == 0)
            .map(|i| format!("{p}{i:07}"))
            .collect()
    };
    let mut want = every_1000th("a", 200_000);
    want.extend(every_1000th("s", 50_000));
    want.extend(every_1000th("b", 200_000));
    for threads in ["1", "4"] {
        for _ in 0..3 {
            let out = spate([
                "-i",
                a.to_str().unwrap(),
                "-i",
                "-",
                "-i",
                b.to_str().unwrap(),
                "--threads",
                threads,
                "-b",
                "eof",
                "-o",
                "tsv",
                "grep",
                "000$",
            ])
            .stdin(stdin.clone())
            .run();
            assert_eq!(out.code, 0, "{}", out.stderr);
            assert_eq!(tsv_body(&out.stdout), want, "--threads {threads}");
        }
    }
}

#[test]
fn inputs_bom_before_a_json_line_is_removed() {
    let out = spate([
        "-b",
        "eof",
        "-o",
        "tsv",
        "--strict",
        "json",
        "then",
        "count-by-key",
        "a",
    ])
    .stdin("\u{feff}{\"a\":1}\n{\"a\":2}\n")
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(tsv_body(&out.stdout), ["1\t1", "2\t1"]);
}

#[test]
fn inputs_bom_is_not_part_of_a_csv_header() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("excel.csv");
    std::fs::write(&f, "\u{feff}name,age\nbob,3\n").unwrap();
    let out = spate([
        "-i",
        f.to_str().unwrap(),
        "-b",
        "eof",
        "-o",
        "jsonl",
        "csv",
        "--header",
        "then",
        "fields",
        "name,age",
    ])
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(r#""name":"bob""#), "{}", out.stdout);
    assert!(!out.stdout.contains('\u{feff}'), "{}", out.stdout);
}

#[test]
fn inputs_bom_removed_at_the_start_of_each_input_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // each file of a pattern, a compressed file and standard input have
    // their own start; a mark later in an input is data
    std::fs::write(d.join("1.txt"), "\u{feff}one\n\u{feff}kept\n").unwrap();
    std::fs::write(d.join("2.txt"), "\u{feff}two\n").unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all("\u{feff}three\n".as_bytes()).unwrap();
    std::fs::write(d.join("3.gz"), gz.finish().unwrap()).unwrap();
    let pattern = format!("{}/*", d.display());
    let out = spate(["-i", &pattern, "-i", "-", "-b", "eof", "-o", "tsv", "head"])
        .stdin("\u{feff}four\n")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        tsv_body(&out.stdout),
        ["one", "\u{feff}kept", "two", "three", "four"]
    );
}

#[test]
fn inputs_a_short_first_line_on_a_pipe_is_not_held_back() {
    // shorter than any compression magic, and nothing after it yet: it is
    // read as plain text at once, not held until more bytes come
    let mut child = spate(["--batch-lines", "1", "-o", "tsv", "count"]).spawn();
    let mut stdin = child.stdin.take().expect("stdin piped");
    stdin.write_all(b"a\n").expect("write to spate");
    stdin.flush().expect("flush");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout piped"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut stdout, &mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(10));
    drop(stdin);
    let _ = child.wait();
    let line = line.expect("the first line's batch came while stdin stayed open");
    assert!(line.ends_with("\t1\n"), "{line:?}");
}

/// `csv --header` takes a header per input: the second file's header is
/// not a data row, and its columns in another order land under their
/// names (0.1 took the first file's header only and swapped the values).
#[test]
fn inputs_csv_header_per_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    std::fs::write(&a, "city,temp\nParis,12\nLyon,14\n").expect("write a");
    std::fs::write(&b, "temp,city\n20,Nice\n").expect("write b");
    for threads in ["1", "2"] {
        let out = spate([
            "-i",
            a.to_str().expect("utf-8"),
            "-i",
            b.to_str().expect("utf-8"),
            "--threads",
            threads,
            "-b",
            "eof",
            "-o",
            "tsv",
            "csv",
            "--header",
            "then",
            "fields",
            "city,temp",
        ])
        .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(
            tsv_body(&out.stdout),
            ["Paris\t12", "Lyon\t14", "Nice\t20"],
            "--threads {threads}"
        );
    }
}

/// A header per connection: two clients of one `listen://` input send
/// their columns in different orders; each row lands under its names.
#[test]
fn inputs_csv_header_per_connection() {
    use std::io::BufRead;

    use crate::util::{connect_within, free_port, kill, wait_code};
    let port = free_port();
    let mut child = spate([
        "-i",
        &format!("listen://127.0.0.1:{port}"),
        "--batch-lines",
        "1",
        "-o",
        "tsv",
        "csv",
        "--header",
        "then",
        "fields",
        "k,v",
    ])
    .spawn();
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut rows = Vec::new();
    for text in ["k,v\na,1\n", "v,k\n2,b\n"] {
        let mut c = connect_within(port, Duration::from_secs(10));
        c.write_all(text.as_bytes()).expect("send");
        drop(c);
        // this client's row is written before the next one connects
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => rows.push(
                line.split_once('\t')
                    .map_or(line.clone(), |(_, r)| r.to_string()),
            ),
            Err(_) => break,
        }
    }
    kill(child.id(), "INT");
    let code = wait_code(&mut child, Duration::from_secs(10));
    assert_eq!(rows, ["a\t1", "b\t2"]);
    assert_eq!(code, 130);
}

/// A file truncated while spate reads it (through memory maps: its pages
/// behind the new end are gone) ends the run with exit 1 and a message
/// naming it, never a crash by SIGBUS.
#[test]
fn inputs_file_truncated_while_read_is_exit_1_naming_it() {
    truncated_while_read(false);
}

#[test]
fn inputs_stdin_file_truncated_while_read_is_exit_1_saying_so() {
    truncated_while_read(true);
}

/// A 40 MB file truncated while spate reads it (named with -i, or as
/// standard input redirected from it): exit 1, the message names it.
fn truncated_while_read(stdin: bool) {
    use std::io::Read;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shrinks.log");
    let mut data = Vec::new();
    let mut i = 0u64;
    while data.len() < 40 << 20 {
        data.extend_from_slice(format!("line {i} of a file that will shrink\n").as_bytes());
        i += 1;
    }
    std::fs::write(&path, &data).expect("write input");
    let name = path.to_str().expect("utf-8 temp path");
    // every line out: standard output, unread, fills and stops the engine,
    // while the reader fills the channel with mapped chunks
    let args = ["--batch-lines", "1000", "-o", "tsv", "fields", "_"];
    let mut child = if stdin {
        let file = std::fs::File::open(&path).expect("open input");
        spate(args).stdin_file(file).spawn()
    } else {
        spate(["-i", name].into_iter().chain(args)).spawn()
    };
    let mut stdout = child.stdout.take().expect("stdout piped");
    let err = crate::util::read_on_thread(child.stderr.take());
    let mut first = [0u8; 4096];
    stdout.read_exact(&mut first).expect("spate writes");
    std::thread::sleep(Duration::from_millis(300));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(0))
        .expect("truncate the input");
    // let it go on: it meets the missing pages
    let out = crate::util::read_on_thread(Some(stdout));
    let code = crate::util::wait_code(&mut child, Duration::from_secs(60));
    let (out, err) = (
        out.join().expect("stdout reader"),
        err.join().expect("stderr reader"),
    );
    assert_eq!(code, 1, "stderr: {err}");
    let said = if stdin { "stdin (a file)" } else { name };
    assert!(
        err.contains(&format!("{said} was truncated while it was read")),
        "{err}"
    );
    // what was written before is whole lines of the file
    let lines = out.lines().count();
    assert!(lines > 0 && (lines as u64) < i, "{lines} of {i} lines");
}

/// A file of `n` bytes or more whose lines test the reads' edges: long
/// lines (one over a map's window and over --max-line-bytes), CRLF, bytes
/// that are not UTF-8, empty lines; no newline at its end.
fn edgy_file(n: usize) -> Vec<u8> {
    let mut data = Vec::new();
    let mut i = 0u64;
    while data.len() < n {
        match i % 997 {
            5 => data.extend_from_slice(b"\xff\xfe not utf-8\n"),
            7 => data.extend_from_slice(b"crlf line\r\n"),
            11 => data.push(b'\n'),
            13 if i < 2000 => {
                data.extend(std::iter::repeat_n(
                    b'x',
                    (1 << 20) + 5000 * (i as usize % 3),
                ));
                data.push(b'\n');
            }
            _ => data.extend_from_slice(format!("line {i} w{} w{}\n", i % 7, i % 50).as_bytes()),
        }
        i += 1;
    }
    data.extend_from_slice(b"last line without its newline");
    data
}

#[test]
fn inputs_stdin_redirected_from_a_file_reads_as_a_pipe_does() {
    use std::io::{Seek, SeekFrom};
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("in.txt");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&edgy_file(300 << 10)).expect("gzip");
    let gz = gz.finish().expect("gzip");
    let plain = edgy_file(6 << 20);
    let mut bom = b"head line\n\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(&plain);
    let mut zipped = b"head line\n".to_vec();
    zipped.extend_from_slice(&gz);
    // (file, where standard input's offset stands when spate starts)
    let cases: [(&[u8], u64); 6] = [
        (&plain, 0),
        (&plain, 16),      // a line's start
        (&plain, 20),      // inside a line: the stream starts there
        (&plain, 3 << 20), // past the long lines
        (&bom, 10),        // a byte order mark where the stream starts
        (&zipped, 10),     // a gzip stream there
    ];
    let args = [
        "--max-line-bytes",
        "1048576",
        "--batch-lines",
        "5000",
        "-o",
        "tsv",
        "fields",
        "_",
    ];
    for (data, at) in cases {
        std::fs::write(&path, data).expect("write input");
        let mut file = std::fs::File::open(&path).expect("open input");
        file.seek(SeekFrom::Start(at)).expect("seek");
        let from_file = spate(args).stdin_file(file).run();
        let piped = spate(args).stdin(&data[at as usize..]).run();
        assert_eq!(piped.code, 0, "{}", piped.stderr);
        assert_eq!(from_file.code, piped.code, "at {at}: {}", from_file.stderr);
        assert!(
            normalize_times(&from_file.stdout) == normalize_times(&piped.stdout),
            "at {at}: the redirected file's lines differ from the pipe's ({} vs {} bytes)",
            from_file.stdout.len(),
            piped.stdout.len()
        );
        assert_eq!(from_file.stderr, piped.stderr, "at {at}");
    }
}
