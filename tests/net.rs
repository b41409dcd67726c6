//! Network sources over real sockets on 127.0.0.1: `tcp://` fed by a test
//! server (exact counts, a refused connection, a partial last line,
//! `--reconnect` across a server restart) and `listen://` fed by test
//! clients (concurrent clients merged, `--max-connections`, a busy port,
//! backpressure). Test servers use port 0; a `listen://` port is found by
//! binding port 0 and letting it go. Every wait is bounded.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::util::{accept_within, connect_within, free_port, spate, tsv_body, wait_output};

/// A test server on a port chosen by the OS.
fn server() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind the test server");
    let port = l.local_addr().expect("local address").port();
    (l, port)
}

/// Serves `data` to the first client, then closes.
fn serve_once(l: TcpListener, data: Vec<u8>) -> JoinHandle<bool> {
    std::thread::spawn(move || match accept_within(&l, Duration::from_secs(10)) {
        Some(mut s) => s.write_all(&data).is_ok(),
        None => false,
    })
}

/// TSV rows `time key count`, summed by key over every batch.
fn counts_by_key(stdout: &str) -> HashMap<String, u64> {
    let mut m = HashMap::new();
    for line in stdout.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "row {line:?}");
        *m.entry(cols[1].to_string()).or_insert(0) += cols[2].parse::<u64>().expect("a count");
    }
    m
}

/// TSV rows `time count`, summed.
fn total_count(stdout: &str) -> u64 {
    stdout
        .lines()
        .map(|l| {
            let (_, n) = l.split_once('\t').expect("time\\tcount");
            n.parse::<u64>().expect("a count")
        })
        .sum()
}

#[test]
fn net_tcp_word_count_is_exact() {
    let (l, port) = server();
    let server = serve_once(l, "a b c\nb c\nc\n".repeat(1000).into_bytes());
    let src = format!("tcp://127.0.0.1:{port}");
    let out = spate([
        "-i",
        &src,
        "-b",
        "eof",
        "-o",
        "tsv",
        "split",
        "then",
        "count-by-key",
    ])
    .run();
    assert!(server.join().expect("server thread"), "the server served");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(tsv_body(&out.stdout), ["c\t3000", "b\t2000", "a\t1000"]);
    assert_eq!(out.stderr, "", "nothing to say about a normal close");
}

#[test]
fn net_tcp_batch_lines_and_localhost() {
    let (l, port) = server();
    let server = serve_once(l, "x\n".repeat(2500).into_bytes());
    // `localhost` resolves; ::1 may be tried first and refused
    let src = format!("tcp://localhost:{port}");
    let out = spate(["-i", &src, "--batch-lines", "1000", "-o", "tsv", "count"]).run();
    assert!(server.join().expect("server thread"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(tsv_body(&out.stdout), ["1000", "1000", "500"]);
}

#[test]
fn net_tcp_refused_is_exit_1_with_the_address() {
    let port = free_port();
    let src = format!("tcp://127.0.0.1:{port}");
    let out = spate(["-i", &src, "count"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("connecting to 127.0.0.1:{port}")),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
}

/// Bad usage before anything is read (0.1 said exit 1), even where
/// `--reconnect` would retry a refused connection forever.
#[test]
fn net_tcp_bad_address_is_exit_2() {
    let out = spate(["-i", "tcp://127.0.0.1", "--reconnect", "count"]).run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("HOST:PORT"), "{}", out.stderr);
}

#[test]
fn net_tcp_peer_closing_mid_line_counts_the_partial_line() {
    let (l, port) = server();
    let server = serve_once(l, b"x\nx\ny".to_vec());
    let src = format!("tcp://127.0.0.1:{port}");
    let out = spate(["-i", &src, "-b", "eof", "-o", "tsv", "count-by-key"]).run();
    assert!(server.join().expect("server thread"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(tsv_body(&out.stdout), ["x\t2", "y\t1"]);
}

#[test]
fn net_tcp_reconnect_after_server_restart() {
    let (first, port) = server();
    let server = std::thread::spawn(move || {
        let mut served = 0;
        if let Some(mut s) = accept_within(&first, Duration::from_secs(5)) {
            // the last line has no newline: it still counts
            served += s.write_all("a\n".repeat(100).as_bytes()).is_ok() as u32;
            let _ = s.write_all(b"a");
        }
        drop(first);
        // down for a moment: spate's retries are refused meanwhile
        std::thread::sleep(Duration::from_millis(300));
        let second = TcpListener::bind(("127.0.0.1", port)).expect("rebind the same port");
        if let Some(mut s) = accept_within(&second, Duration::from_secs(2)) {
            served += s.write_all("b\n".repeat(150).as_bytes()).is_ok() as u32;
        }
        served
    });
    let src = format!("tcp://127.0.0.1:{port}");
    let out = spate([
        "-i",
        &src,
        "--reconnect",
        "-b",
        "100ms",
        "--duration",
        "3s",
        "-o",
        "tsv",
        "count-by-key",
    ])
    .run();
    assert_eq!(
        server.join().expect("server thread"),
        2,
        "both servers served"
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let counts = counts_by_key(&out.stdout);
    assert_eq!(counts.get("a"), Some(&101), "{}", out.stdout);
    assert_eq!(counts.get("b"), Some(&150), "{}", out.stdout);
    assert!(
        out.stderr.contains(&format!(
            "spate: {src}: connection closed; reconnecting in 100ms"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("spate: {src}: connected")),
        "{}",
        out.stderr
    );
}

#[test]
fn net_tcp_reconnect_waits_for_a_server_that_is_not_up_yet() {
    let port = free_port();
    let server = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        let l = TcpListener::bind(("127.0.0.1", port)).expect("bind the late server");
        match accept_within(&l, Duration::from_secs(3)) {
            Some(mut s) => s.write_all(b"late\n").is_ok(),
            None => false,
        }
    });
    let src = format!("tcp://127.0.0.1:{port}");
    let out = spate([
        "-i",
        &src,
        "--reconnect",
        "--max-batches",
        "1",
        "--batch-lines",
        "1",
        "-o",
        "tsv",
        "count-by-key",
    ])
    .timeout(Duration::from_secs(20))
    .run();
    assert!(server.join().expect("server thread"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(tsv_body(&out.stdout), ["late\t1"]);
    assert!(out.stderr.contains("reconnecting in"), "{}", out.stderr);
}

#[test]
fn net_listen_merges_concurrent_clients_exactly_once() {
    const CLIENTS: usize = 8;
    const LINES: usize = 5000;
    let port = free_port();
    let src = format!("listen://127.0.0.1:{port}");
    let child = spate([
        "-i",
        &src,
        "-b",
        "200ms",
        "--duration",
        "3s",
        "-o",
        "tsv",
        "count-by-key",
    ])
    .spawn();
    let clients: Vec<JoinHandle<()>> = (0..CLIENTS)
        .map(|c| {
            std::thread::spawn(move || {
                let mut data = String::new();
                for i in 0..LINES {
                    data.push_str(&format!("c{c}-{i}\n"));
                }
                // the last line is cut short of its newline: it counts
                data.pop();
                let mut s = connect_within(port, Duration::from_secs(5));
                // odd-sized writes split lines across reads
                for piece in data.as_bytes().chunks(777) {
                    s.write_all(piece).expect("write to spate");
                }
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client thread");
    }
    let out = wait_output(child, Duration::from_secs(20));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let counts = counts_by_key(&out.stdout);
    assert_eq!(counts.len(), CLIENTS * LINES, "every line arrived");
    for c in 0..CLIENTS {
        for i in [0, LINES / 2, LINES - 1] {
            assert_eq!(counts.get(&format!("c{c}-{i}")), Some(&1), "c{c}-{i}");
        }
    }
    assert!(counts.values().all(|&n| n == 1), "no line counted twice");
}

#[test]
fn net_listen_takes_hundreds_of_clients_at_once_by_default() {
    // SPEC: listen:// accepts any number of clients; 200 connected at
    // once, each holding its connection open until every one has written
    const CLIENTS: usize = 200;
    let port = free_port();
    let src = format!("listen://127.0.0.1:{port}");
    let child = spate([
        "-i",
        &src,
        "-b",
        "100ms",
        "--duration",
        "4s",
        "-o",
        "tsv",
        "count",
    ])
    .spawn();
    let mut held = Vec::new();
    for c in 0..CLIENTS {
        let wait = if c == 0 { 5 } else { 1 };
        let mut s = connect_within(port, Duration::from_secs(wait));
        // a refused client's write may fail: the count says it
        let _ = s.write_all(format!("c{c} a\nc{c} b\n").as_bytes());
        held.push(s);
    }
    let out = wait_output(child, Duration::from_secs(20));
    drop(held);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        total_count(&out.stdout),
        2 * CLIENTS as u64,
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr, "", "no client refused");
}

#[test]
fn net_listen_max_connections_refuses_the_extra_client() {
    let port = free_port();
    let src = format!("listen://127.0.0.1:{port}");
    let child = spate([
        "-i",
        &src,
        "--max-connections",
        "2",
        "-b",
        "100ms",
        "--duration",
        "2s",
        "-o",
        "tsv",
        "count",
    ])
    .spawn();
    let mut one = connect_within(port, Duration::from_secs(5));
    one.write_all(b"one\n").expect("client 1 writes");
    let mut two = connect_within(port, Duration::from_secs(1));
    two.write_all(b"two\n").expect("client 2 writes");
    let mut three = connect_within(port, Duration::from_secs(1));
    three
        .set_read_timeout(Some(Duration::from_secs(1)))
        .expect("read timeout");
    let mut buf = [0u8; 16];
    match three.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("the third client should be closed, got {other:?}"),
    }
    let out = wait_output(child, Duration::from_secs(20));
    drop((one, two));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(total_count(&out.stdout), 2, "{}", out.stdout);
    let expected = format!("spate: {src}: refusing a connection from 127.0.0.1:");
    assert!(out.stderr.contains(&expected), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(": 2 clients already connected (--max-connections)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .ends_with("spate: 1 connection refused (--max-connections)\n"),
        "the exit summary counts it: {}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 2, "{}", out.stderr);
}

#[test]
fn net_listen_busy_port_is_exit_1_with_the_address() {
    let (_busy, port) = server();
    let src = format!("listen://127.0.0.1:{port}");
    let out = spate(["-i", &src, "count"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("127.0.0.1:{port}")),
        "{}",
        out.stderr
    );
}

/// Reads a value in kB from /proc/PID/status.
fn proc_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn net_listen_backpressure_bounds_memory() {
    const LINE: usize = 1000;
    // ~50 MB, whole batches: the listener never ends, so a partial last
    // batch would wait for the end of the run
    const LINES: usize = 52_000;
    let port = free_port();
    let src = format!("listen://127.0.0.1:{port}");
    let mut child = spate([
        "-i",
        &src,
        "--batch-lines",
        "1000",
        "-o",
        "tsv",
        "fields",
        "_",
    ])
    .spawn();
    let pid = child.id();
    let sent = Arc::new(AtomicU64::new(0));
    let client = {
        let sent = Arc::clone(&sent);
        std::thread::spawn(move || {
            let mut s = connect_within(port, Duration::from_secs(5));
            let mut line = vec![b'z'; LINE - 1];
            line.push(b'\n');
            let block = line.repeat(100);
            for _ in 0..LINES / 100 {
                if s.write_all(&block).is_err() {
                    return;
                }
                sent.fetch_add(block.len() as u64, Ordering::SeqCst);
            }
        })
    };
    let total = LINES as u64;
    // nobody reads spate's output for a while: TCP must hold the client back
    std::thread::sleep(Duration::from_millis(1500));
    let stalled = sent.load(Ordering::SeqCst);
    let rss_stalled = proc_kb(pid, "VmRSS:");
    assert!(
        stalled < 40 << 20,
        "the client sent {stalled} bytes while spate's output was not read"
    );
    // now read it all, on a thread so that the wait is bounded
    let mut stdout = child.stdout.take().expect("stdout piped");
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let mut lines = 0u64;
        while lines < total {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64,
            }
        }
        let _ = done_tx.send(lines);
        stdout
    });
    let lines = done_rx.recv_timeout(Duration::from_secs(60)).unwrap_or(0);
    let hwm = proc_kb(pid, "VmHWM:");
    let _ = child.kill();
    let _ = child.wait();
    let _ = client.join();
    let _ = reader.join();
    assert_eq!(lines, total, "every line came out");
    let rss_stalled = rss_stalled.expect("spate's /proc status while stalled");
    let hwm = hwm.expect("spate's /proc status at the end");
    assert!(
        rss_stalled < 200 * 1024,
        "RSS while stalled: {rss_stalled} kB"
    );
    assert!(hwm < 200 * 1024, "peak RSS: {hwm} kB");
}

#[test]
fn net_listen_bom_removed_at_the_start_of_each_connection() {
    let port = free_port();
    let src = format!("listen://127.0.0.1:{port}");
    let child = spate([
        "-i",
        &src,
        "-b",
        "200ms",
        "--duration",
        "2s",
        "-o",
        "tsv",
        "count-by-key",
    ])
    .spawn();
    for c in 0..3 {
        let mut s = connect_within(port, Duration::from_secs(5));
        // the mark split across writes, as a slow client may send it
        s.write_all(b"\xef\xbb").expect("write to spate");
        s.flush().expect("flush");
        std::thread::sleep(Duration::from_millis(30));
        s.write_all(b"\xbfhello\n").expect("write to spate");
        s.write_all(format!("c{c}\n").as_bytes())
            .expect("write to spate");
    }
    let out = wait_output(child, Duration::from_secs(20));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let counts = counts_by_key(&out.stdout);
    assert_eq!(counts.get("hello"), Some(&3), "{counts:?}");
    assert!(counts.keys().all(|k| !k.contains('\u{feff}')), "{counts:?}");
}

/// `--exit-on-row` on a live stream: spate stops with 0 after the first
/// batch that writes a row, while the peer is still connected and sending.
#[test]
fn net_exit_on_row_stops_at_the_first_row_with_0() {
    let (l, port) = server();
    let peer = std::thread::spawn(move || {
        let Some(mut s) = accept_within(&l, Duration::from_secs(10)) else {
            return false;
        };
        // quiet lines for a while, then the one that matters, then more
        // quiet lines until spate hangs up (bounded)
        for i in 0..400 {
            let line = if i == 50 { "ERROR disk full\n" } else { "ok\n" };
            if s.write_all(line.as_bytes()).is_err() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    });
    let out = spate([
        "-i",
        &format!("tcp://127.0.0.1:{port}"),
        "-b",
        "100ms",
        "--exit-on-row",
        "grep",
        "ERROR",
    ])
    .timeout(Duration::from_secs(20))
    .run();
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    assert_eq!(
        out.stdout
            .lines()
            .map(|l| l.split('\t').nth(1))
            .collect::<Vec<_>>(),
        [Some("ERROR disk full")]
    );
    assert!(
        peer.join().expect("peer thread"),
        "spate kept reading after the row"
    );
}

/// `--exit-on-row` when the stream ends with no row: exit 1, like grep.
#[test]
fn net_exit_on_row_ends_without_a_row_with_1() {
    let (l, port) = server();
    let peer = serve_once(l, b"ok\nfine\n".repeat(100));
    let out = spate([
        "-i",
        &format!("tcp://127.0.0.1:{port}"),
        "-b",
        "100ms",
        "--exit-on-row",
        "grep",
        "ERROR",
    ])
    .run();
    assert_eq!(out.code, 1, "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(peer.join().expect("peer thread"));
}

/// A live word count whose 100 ms batches close with tens of thousands of
/// rows: the workers are woken ahead of each batch's end for its close
/// (the engine's `wake_at`), which must neither lose nor double a word,
/// nor keep the run from ending.
#[test]
fn net_tcp_live_batches_with_many_rows_count_every_word() {
    let (l, port) = server();
    let rounds = 16u64;
    let server = std::thread::spawn(move || {
        let Some(mut s) = accept_within(&l, Duration::from_secs(10)) else {
            return false;
        };
        for r in 0..rounds {
            let mut text = String::new();
            for i in 0..20_000u64 {
                text.push_str(&format!("w{} r{r}\n", (i * 7 + r) % 30_000));
            }
            if s.write_all(text.as_bytes()).is_err() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(60));
        }
        true
    });
    let src = format!("tcp://127.0.0.1:{port}");
    let out = spate([
        "-i",
        &src,
        "-b",
        "100ms",
        "--threads",
        "2",
        "--stats",
        "-o",
        "tsv",
        "split",
        "then",
        "count-by-key",
    ])
    .timeout(Duration::from_secs(60))
    .run();
    assert!(server.join().expect("server thread"), "the server served");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut want: HashMap<String, u64> = HashMap::new();
    for r in 0..rounds {
        for i in 0..20_000u64 {
            *want
                .entry(format!("w{}", (i * 7 + r) % 30_000))
                .or_insert(0) += 1;
        }
        want.insert(format!("r{r}"), 20_000);
    }
    assert!(
        counts_by_key(&out.stdout) == want,
        "every word counted once"
    );
    // several batches closed with many rows, so the next ones woke early
    let big = out
        .stderr
        .lines()
        .filter_map(|l| {
            l.split(" rows=")
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .filter(|&rows| rows >= spate::agg::textmap::PAR_ROWS as u64)
        .count();
    assert!(big >= 2, "batches with many rows: {big}\n{}", out.stderr);
    assert!(out.stderr.contains("total_dropped=0"), "{}", out.stderr);
}
