//! What a person sees on a terminal: the progress bar and `--live`, run in
//! a pseudo-terminal of a known size; and that neither leaves a single
//! escape code when the output and standard error are pipes.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::{BIN, read_on_thread, spate, tsv_body, wait_code, wait_output};

/// What one run in a pseudo-terminal printed.
struct TtyRun {
    /// Everything written to the terminal (stdout and/or stderr).
    screen: String,
    /// Standard output when it was a pipe.
    stdout: String,
    /// Standard error when it was a pipe.
    stderr: String,
    code: i32,
}

/// Runs spate with the chosen streams on a `cols`×`rows` pseudo-terminal
/// and the others on pipes; standard input is empty.
fn in_tty(args: &[&str], stdout_tty: bool, stderr_tty: bool, cols: u16, rows: u16) -> TtyRun {
    let size = nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(&size, None).expect("openpty");
    // close-on-exec copies, so that no other test's child keeps them open
    let master: OwnedFd = pty.master.try_clone().expect("dup master");
    let slave: OwnedFd = pty.slave.try_clone().expect("dup slave");
    drop(pty);
    let stream = |tty: bool| -> Stdio {
        if tty {
            Stdio::from(slave.try_clone().expect("dup slave"))
        } else {
            Stdio::piped()
        }
    };
    let mut child = Command::new(BIN)
        .args(args)
        .env("TERM", "xterm-256color")
        .env("TZ", "UTC")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(stream(stdout_tty))
        .stderr(stream(stderr_tty))
        .spawn()
        .expect("spawn spate");
    drop(slave);
    let screen = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&screen);
    let mut master = File::from(master);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // ends with EIO once every copy of the slave is closed
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.lock()
                .expect("screen lock")
                .extend_from_slice(&buf[..n]);
        }
    });
    let out = read_on_thread(child.stdout.take());
    let err = read_on_thread(child.stderr.take());
    let code = wait_code(&mut child, Duration::from_secs(10));
    // the terminal's last bytes: until the reader ends, or a quiet moment
    // (a child of another test may hold a copy of the slave for a while)
    let mut last = (Instant::now(), 0);
    while !reader.is_finished() {
        let len = screen.lock().expect("screen lock").len();
        if len != last.1 {
            last = (Instant::now(), len);
        } else if last.0.elapsed() > Duration::from_millis(300) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let bytes = screen.lock().expect("screen lock").clone();
    TtyRun {
        screen: String::from_utf8_lossy(&bytes).into_owned(),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
        code,
    }
}

/// A file of `n` lines cycling through `keys` distinct words.
fn words_file(dir: &Path, n: usize, keys: usize) -> String {
    let path = dir.join("words.txt");
    let text: String = (0..n).map(|i| format!("word{:02}\n", i % keys)).collect();
    std::fs::write(&path, text).expect("write input");
    path.to_string_lossy().into_owned()
}

fn has_escape(s: &str) -> bool {
    s.contains('\x1b')
}

#[test]
fn tty_progress_bar_on_a_terminal_stderr_and_cleared_at_exit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = words_file(dir.path(), 20_000, 5);
    let run = in_tty(
        &["-i", &input, "-b", "eof", "count-by-key"],
        false,
        true,
        100,
        24,
    );
    assert_eq!(run.code, 0);
    // the bar: bytes of the total, lines per second, batches
    assert!(run.screen.contains("lines/s"), "{:?}", run.screen);
    assert!(run.screen.contains(" of 136.72 KiB"), "{:?}", run.screen);
    assert!(run.screen.contains("batch"), "{:?}", run.screen);
    // cleared at exit: the last thing drawn erases the bar's line
    assert!(
        run.screen
            .trim_end_matches(['\r', '\n'])
            .ends_with("\r\x1b[2K"),
        "{:?}",
        run.screen
    );
    // the output is untouched
    assert!(!has_escape(&run.stdout), "{:?}", run.stdout);
    assert_eq!(run.stdout.lines().count(), 5, "{}", run.stdout);
}

#[test]
fn tty_progress_flags_refuse_and_force() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = words_file(dir.path(), 100, 5);
    let run = in_tty(
        &["-i", &input, "--no-progress", "-b", "eof", "count"],
        false,
        true,
        100,
        24,
    );
    assert_eq!(run.code, 0);
    assert_eq!(run.screen, "");
    // forced: drawn even into a pipe, even for standard input
    let out = spate(["--progress", "-b", "eof", "count"])
        .stdin("a\nb\n")
        .run();
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("lines/s"), "{:?}", out.stderr);
}

#[test]
fn tty_live_replaces_the_output_on_a_terminal_sized_to_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = words_file(dir.path(), 300, 30);
    let run = in_tty(
        &["-i", &input, "-b", "eof", "--live", "count-by-key"],
        true,
        true,
        60,
        12,
    );
    assert_eq!(run.code, 0);
    let screen = &run.screen;
    assert!(screen.contains("\x1b[H"), "{screen:?}");
    // 12 rows: the progress bar's line and one free line leave 10, of which
    // the banner, the header and the rule take 3, and a last line says
    // how many rows are not shown
    assert!(screen.contains("── 30 rows (6 shown)"), "{screen:?}");
    assert!(screen.contains("… 24 more rows"), "{screen:?}");
    assert!(!screen.contains("word29"), "{screen:?}");
    // the table was not also printed as normal output
    assert_eq!(screen.matches("30 rows").count(), 1, "{screen:?}");
    // every line fits the width
    for line in text_runs(screen) {
        assert!(line.chars().count() <= 60, "{line:?} is too wide");
    }
}

#[test]
fn tty_live_on_stderr_while_every_batch_goes_down_the_pipe() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = words_file(dir.path(), 6, 3);
    let run = in_tty(
        &[
            "-i",
            &input,
            "--batch-lines",
            "2",
            "--live",
            "--no-progress",
            "--stats",
            "count",
        ],
        false,
        true,
        80,
        24,
    );
    assert_eq!(run.code, 0);
    // the pipe gets every batch, as tsv, without escape codes
    assert!(!has_escape(&run.stdout), "{:?}", run.stdout);
    let counts: Vec<&str> = run
        .stdout
        .lines()
        .map(|l| l.split('\t').nth(1).unwrap_or(""))
        .collect();
    assert_eq!(counts, ["2", "2", "2"], "{}", run.stdout);
    // the terminal gets the live table, with the latest --stats line
    assert!(run.screen.contains("\x1b[H"), "{:?}", run.screen);
    assert!(run.screen.contains("count"), "{:?}", run.screen);
    assert!(run.screen.contains("records=2"), "{:?}", run.screen);
}

#[test]
fn tty_nothing_but_plain_text_when_piped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = words_file(dir.path(), 5_000, 7);
    let plain = spate(["-i", &input, "-b", "eof", "split", "then", "count-by-key"]).run();
    let out = spate([
        "-i",
        &input,
        "-b",
        "eof",
        "--live",
        "--stats",
        "split",
        "then",
        "count-by-key",
    ])
    .run();
    assert_eq!(out.code, 0);
    assert!(!has_escape(&out.stdout), "{:?}", out.stdout);
    assert!(!has_escape(&out.stderr), "{:?}", out.stderr);
    // --live is a no-op: the same rows (times aside)
    assert_eq!(tsv_body(&out.stdout), tsv_body(&plain.stdout));
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("spate: batch "), "{}", out.stderr);
}

#[test]
fn tty_no_progress_when_only_stdout_is_a_terminal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = words_file(dir.path(), 1_000, 3);
    let run = in_tty(&["-i", &input, "-b", "eof", "count"], true, false, 80, 24);
    assert_eq!(run.code, 0);
    assert_eq!(run.stderr, "");
    // the output on a terminal is the pretty table
    assert!(run.screen.contains("count"), "{:?}", run.screen);
    assert!(run.screen.contains("1000"), "{:?}", run.screen);
    // and a pipe of both is quiet
    let child = Command::new(BIN)
        .args(["-i", &input, "-b", "eof", "count"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let out = wait_output(child, Duration::from_secs(10));
    assert_eq!(out.stderr, "");
    assert!(!has_escape(&out.stdout));
}

/// The runs of text between line ends, carriage returns and escape
/// sequences: what lands on one terminal line at once.
fn text_runs(s: &str) -> Vec<String> {
    let mut runs = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                for e in chars.by_ref() {
                    if e.is_ascii_alphabetic() {
                        break;
                    }
                }
                runs.push(String::new());
            }
            '\r' | '\n' => runs.push(String::new()),
            c => runs.last_mut().expect("never empty").push(c),
        }
    }
    runs
}

#[test]
fn tty_progress_bar_gives_way_to_the_output_on_the_same_terminal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = words_file(dir.path(), 20_000, 5);
    // stdout and stderr on one terminal, as at a prompt
    let run = in_tty(
        &["-i", &input, "-b", "eof", "-o", "tsv", "count-by-key"],
        true,
        true,
        100,
        24,
    );
    assert_eq!(run.code, 0, "{:?}", run.screen);
    let screen = &run.screen;
    // the bar was drawn, and cleared right before the first row: the row
    // starts a line of its own, not glued to the bar's text
    assert!(screen.contains("lines/s"), "{screen:?}");
    let row = regex::Regex::new(r"\d{4}-\d\d-\d\dT[\d:.]+Z\tword\d\d\t4000").expect("valid regex");
    let first = row.find(screen).expect("a row on the screen");
    assert!(
        screen[..first.start()].ends_with("\r\x1b[2K"),
        "the bar was not cleared before the output: {:?}",
        &screen[..first.start()]
    );
    // every row whole, each on its own line (after the bar's last clear
    // on that line, if it was drawn there)
    let rows: Vec<&str> = screen
        .split("\r\n")
        .map(|l| l.rsplit("\r\x1b[2K").next().unwrap_or(l))
        .filter(|l| row.is_match(l))
        .collect();
    assert_eq!(rows.len(), 5, "{screen:?}");
    for r in &rows {
        assert!(
            row.find(r)
                .is_some_and(|m| m.start() == 0 && m.end() == r.len()),
            "{r:?}"
        );
    }
    // drawn again below the output with every byte counted, and cleared at
    // exit
    let tail = screen.trim_end_matches(['\r', '\n']);
    assert!(tail.ends_with("\r\x1b[2K"), "{screen:?}");
    let last_frame = tail
        .trim_end_matches("\r\x1b[2K")
        .rsplit("\r\x1b[2K")
        .next()
        .unwrap_or_default();
    assert!(
        last_frame.contains("100%  136.72 KiB of 136.72 KiB  20,000 lines"),
        "{last_frame:?}"
    );
}

#[test]
fn tty_progress_of_a_compressed_file_is_against_its_compressed_size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text: String = (0..200_000)
        .map(|i| format!("word{:02}\n", i % 7))
        .collect();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, text.as_bytes()).expect("gzip");
    let packed = e.finish().expect("gzip");
    let path = dir.path().join("words.gz");
    std::fs::write(&path, &packed).expect("write input");
    let run = in_tty(
        &[
            "-i",
            path.to_str().expect("utf-8 path"),
            "-b",
            "eof",
            "count",
        ],
        false,
        true,
        100,
        24,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // the total is the file's size on disk, not the text's
    let total = format!(" of {}", indicatif::HumanBytes(packed.len() as u64));
    assert!(run.screen.contains(&total), "{total}: {:?}", run.screen);
    let text_total = format!(" of {}", indicatif::HumanBytes(text.len() as u64));
    assert!(!run.screen.contains(&text_total), "{:?}", run.screen);
    assert!(run.stdout.ends_with("\t200000\n"), "{}", run.stdout);
}
