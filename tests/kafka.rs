//! `kafka://` against a real Kafka-protocol broker: tansu (a Kafka broker
//! in Rust, in-memory storage) started on a free 127.0.0.1 port for each
//! test and stopped by a guard, fed by confluent-kafka's producer
//! (librdkafka). Every part of a test is bounded in time. Where tansu or
//! confluent_kafka is missing, a test says "skipped: ..." on stderr and
//! returns; the tests that need no broker (bad usage, an unreachable
//! broker) always run.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::{free_port, kill, skipped, spate, wait_output};

/// How long a broker may take to listen after it starts.
const BROKER_START: Duration = Duration::from_secs(30);

/// The tansu binary: on PATH, or where `cargo install` puts it.
fn tansu() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("tansu"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
        Some(home.join("bin").join("tansu")).filter(|p| p.is_file())
    })
}

fn have_producer() -> bool {
    Command::new("python3")
        .args(["-c", "import confluent_kafka"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A running broker; killed (and waited for) when dropped, whatever the
/// test did.
struct Broker {
    bin: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Broker {
    /// A broker on a free port, or `None` (said loudly) when tansu or the
    /// producer is missing.
    fn start(test: &str) -> Option<Broker> {
        let Some(bin) = tansu() else {
            skipped(&format!(
                "{test}: the tansu broker is not installed (cargo install tansu --locked --features dynostore)"
            ));
            return None;
        };
        if !have_producer() {
            skipped(&format!(
                "{test}: python3 cannot import confluent_kafka (pip install confluent-kafka)"
            ));
            return None;
        }
        let mut b = Broker {
            bin,
            port: free_port(),
            child: None,
        };
        b.up();
        Some(b)
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the broker process and waits until it answers.
    fn up(&mut self) {
        let url = format!("tcp://{}", self.addr());
        let child = Command::new(&self.bin)
            .args([
                "broker",
                "--storage-engine",
                "memory://tansu/",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        self.child = Some(child);
        let deadline = Instant::now() + BROKER_START;
        while std::net::TcpStream::connect(self.addr()).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on {} within {BROKER_START:?}",
                self.addr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the broker process (its in-memory topics go with it).
    fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn create_topic(&self, topic: &str, partitions: u32) {
        let out = Command::new(&self.bin)
            .args([
                "topic",
                "create",
                topic,
                "--partitions",
                &partitions.to_string(),
                "--broker",
                &format!("tcp://{}", self.addr()),
            ])
            .env("RUST_LOG", "error")
            .output()
            .expect("run tansu topic create");
        assert!(
            out.status.success(),
            "tansu topic create {topic}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Produces with confluent-kafka: `script` is Python with `p` (the
    /// producer), `topic` and `send(partition, value, timestamp_ms=None)`
    /// in scope; waits until every message is acknowledged.
    fn produce(&self, topic: &str, script: &str) {
        let program = format!(
            r#"
import sys
from confluent_kafka import Producer
p = Producer({{"bootstrap.servers": "{addr}", "linger.ms": 20, "acks": "all",
              "queue.buffering.max.messages": 1000000}})
topic = "{topic}"
failed = []
def done(err, msg):
    if err is not None:
        failed.append(str(err))
def send(partition, value, timestamp_ms=None):
    kw = {{}} if timestamp_ms is None else {{"timestamp": timestamp_ms}}
    while True:
        try:
            p.produce(topic, value=value, partition=partition, on_delivery=done, **kw)
            break
        except BufferError:
            p.poll(0.05)
    p.poll(0)
{script}
left = p.flush(60)
if left or failed:
    sys.exit("not delivered: %d left, %s" % (left, failed[:3]))
"#,
            addr = self.addr()
        );
        let mut child = Command::new("python3")
            .args(["-c", &program])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run python3");
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait for the producer") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the producer did not finish within 120s");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        assert!(status.success(), "producing to {topic}: {err}");
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.down();
    }
}

/// `-o tsv` rows without their time column.
fn body(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|l| l.split_once('\t').map_or(l, |(_, r)| r).to_string())
        .collect()
}

/// The sum of a `count` column (`-o tsv`); no row at all is 0 (an empty
/// `-b eof` batch is written as `0` since spate 0.2).
fn count_of(stdout: &str) -> u64 {
    body(stdout)
        .iter()
        .map(|n| n.parse::<u64>().expect("a count"))
        .sum()
}

/// A running spate whose stdout is collected as it comes.
struct Live {
    child: Child,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
}

impl Live {
    fn start(args: &[&str]) -> Live {
        let mut child = spate(args).spawn();
        let out = Arc::new(Mutex::new(String::new()));
        let err = Arc::new(Mutex::new(String::new()));
        for (pipe, into) in [
            (
                Box::new(child.stdout.take().expect("stdout piped")) as Box<dyn Read + Send>,
                out.clone(),
            ),
            (
                Box::new(child.stderr.take().expect("stderr piped")),
                err.clone(),
            ),
        ] {
            std::thread::spawn(move || {
                let mut pipe = pipe;
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut s) = into.lock() {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            });
        }
        Live { child, out, err }
    }

    /// The sum of the `count` column so far (`-o tsv ... count`).
    fn total(&self) -> u64 {
        let out = self.out.lock().map(|s| s.clone()).unwrap_or_default();
        body(&out)
            .iter()
            .filter_map(|n| n.parse::<u64>().ok())
            .sum()
    }

    fn stderr(&self) -> String {
        self.err.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits (bounded) until the counts add up to `n`.
    fn wait_total(&self, n: u64, within: Duration) {
        let deadline = Instant::now() + within;
        while self.total() < n {
            assert!(
                Instant::now() < deadline,
                "spate counted {} of {n} lines within {within:?}; stderr: {}",
                self.total(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then its exit status (bounded).
    fn stop(mut self) -> (i32, String, u64) {
        kill(self.child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait for spate") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("spate did not stop within 20s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // the pipes' readers finish once spate is gone
        std::thread::sleep(Duration::from_millis(100));
        let code = status.code().unwrap_or(-1);
        (code, self.stderr(), self.total())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn kafka_until_now_counts_every_line_of_three_partitions() {
    let Some(b) = Broker::start("kafka_until_now_counts_every_line_of_three_partitions") else {
        return;
    };
    b.create_topic("lines", 3);
    // 99,000 one-line messages and 500 of two lines: 100,000 lines
    b.produce(
        "lines",
        r#"
for i in range(99000):
    send(i % 3, b"line %d" % i)
for i in range(500):
    send(i % 3, b"first %d\nsecond %d" % (i, i))
"#,
    );
    let src = format!("kafka://{}/lines?until=now", b.addr());
    let out = spate(["-i", &src, "-b", "eof", "-o", "tsv", "count"])
        .timeout(Duration::from_secs(60))
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(body(&out.stdout), ["100000"]);
    assert_eq!(out.stderr, "");
    // the same through count-by-key: every line once
    let out = spate([
        "-i",
        &src,
        "-b",
        "eof",
        "-o",
        "tsv",
        "map",
        "field",
        "1",
        "then",
        "count-by-key",
    ])
    .timeout(Duration::from_secs(60))
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        body(&out.stdout),
        ["line\t99000", "first\t500", "second\t500"]
    );
}

#[test]
fn kafka_values_become_lines() {
    let Some(b) = Broker::start("kafka_values_become_lines") else {
        return;
    };
    b.create_topic("values", 1);
    // a newline inside, a byte order mark, an empty value, a trailing
    // newline, a null value (no line), a CRLF, compressed batches
    b.produce(
        "values",
        r#"
for v in [b"a", b"b\nc", b"\xef\xbb\xbfd", b"", b"e\n", None, b"f\r\n"]:
    send(0, v)
"#,
    );
    let src = format!("kafka://{}/values?until=now", b.addr());
    let out = spate(["-i", &src, "-b", "eof", "-o", "tsv", "count-by-key"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut rows = body(&out.stdout);
    rows.sort();
    assert_eq!(
        rows,
        ["\t1", "a\t1", "b\t1", "c\t1", "d\t1", "e\t1", "f\t1"]
    );
}

#[test]
fn kafka_compressed_batches_are_read() {
    let Some(b) = Broker::start("kafka_compressed_batches_are_read") else {
        return;
    };
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        b.create_topic(codec, 1);
        let script = format!(
            r#"
p = Producer({{"bootstrap.servers": "{addr}", "linger.ms": 50, "compression.type": "{codec}"}})
for i in range(5000):
    send(0, b"%s %d" % (b"{codec}", i % 10))
"#,
            addr = b.addr()
        );
        b.produce(codec, &script);
        let src = format!("kafka://{}/{codec}?until=now", b.addr());
        let out = spate(["-i", &src, "-b", "eof", "-o", "tsv", "count"]).run();
        assert_eq!(out.code, 0, "{codec}: {}", out.stderr);
        assert_eq!(body(&out.stdout), ["5000"], "{codec}");
    }
}

#[test]
fn kafka_group_resumes_after_a_stop_counting_nothing_twice() {
    let Some(b) = Broker::start("kafka_group_resumes_after_a_stop_counting_nothing_twice") else {
        return;
    };
    b.create_topic("events", 2);
    b.produce(
        "events",
        "for i in range(3000):\n    send(i % 2, b'e%d' % i)\n",
    );
    let live = format!("kafka://{}/events?group=g1", b.addr());
    // a live run, stopped by SIGTERM once it has counted everything: its
    // last batch is written, and committed
    let run = Live::start(&["-i", &live, "-b", "200ms", "-o", "tsv", "count"]);
    run.wait_total(3000, Duration::from_secs(30));
    let (code, stderr, total) = run.stop();
    assert_eq!(code, 143, "{stderr}");
    assert_eq!(total, 3000, "{stderr}");
    // more arrives while it is stopped
    b.produce(
        "events",
        "for i in range(1000):\n    send(i % 2, b'late%d' % i)\n",
    );
    let resume = format!("kafka://{}/events?group=g1&until=now", b.addr());
    let out = spate(["-i", &resume, "-b", "eof", "-o", "tsv", "count"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(body(&out.stdout), ["1000"], "only what came after the stop");
    // and once more: nothing left
    let out = spate(["-i", &resume, "-b", "eof", "-o", "tsv", "count"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(count_of(&out.stdout), 0);
    // another group starts where from= says
    let other = format!("kafka://{}/events?group=g2&until=now", b.addr());
    let out = spate(["-i", &other, "-b", "eof", "-o", "tsv", "count"]).run();
    assert_eq!(body(&out.stdout), ["4000"], "{}", out.stderr);
    let latest = format!("kafka://{}/events?group=g3&from=latest&until=now", b.addr());
    let out = spate(["-i", &latest, "-b", "eof", "-o", "tsv", "count"]).run();
    assert_eq!(count_of(&out.stdout), 0, "{}", out.stderr);
}

#[test]
fn kafka_group_stopped_inside_a_chunk_commits_exactly_what_was_written() {
    let Some(b) =
        Broker::start("kafka_group_stopped_inside_a_chunk_commits_exactly_what_was_written")
    else {
        return;
    };
    b.create_topic("jobs", 2);
    // 1,000 lines in one fetch: --max-batches stops the run inside it.
    // One message a batch: tansu 0.6 cannot fetch from an offset inside
    // a batch (Kafka can), and the commit falls inside the fetch
    b.produce(
        "jobs",
        r#"
p = Producer({"bootstrap.servers": "ADDR", "linger.ms": 0, "batch.num.messages": 1})
for i in range(1000):
    send(i % 2, b"j%d" % i)
"#
        .replace("ADDR", &b.addr())
        .as_str(),
    );
    let src = format!("kafka://{}/jobs?group=g&until=now", b.addr());
    let out = spate([
        "-i",
        &src,
        "--batch-lines",
        "300",
        "--max-batches",
        "2",
        "-o",
        "tsv",
        "count",
    ])
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(body(&out.stdout), ["300", "300"]);
    let out = spate(["-i", &src, "-b", "eof", "-o", "tsv", "count"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        body(&out.stdout),
        ["400"],
        "the 600 written lines are not read again"
    );
}

#[test]
fn kafka_reconnect_survives_a_broker_restart() {
    let Some(mut b) = Broker::start("kafka_reconnect_survives_a_broker_restart") else {
        return;
    };
    b.create_topic("t", 1);
    b.produce("t", "for i in range(100):\n    send(0, b'before')\n");
    let src = format!("kafka://{}/t", b.addr());
    let run = Live::start(&[
        "-i",
        &src,
        "--reconnect",
        "-b",
        "200ms",
        "-o",
        "tsv",
        "count",
    ]);
    run.wait_total(100, Duration::from_secs(30));
    b.down();
    // down for a moment: spate says it is retrying
    let deadline = Instant::now() + Duration::from_secs(20);
    while !run.stderr().contains("reconnecting in") {
        assert!(Instant::now() < deadline, "no retry said: {}", run.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
    b.up();
    b.create_topic("t", 1);
    b.produce("t", "for i in range(50):\n    send(0, b'after')\n");
    run.wait_total(150, Duration::from_secs(60));
    let (code, stderr, total) = run.stop();
    assert_eq!(code, 143, "{stderr}");
    assert_eq!(total, 150, "every line once: {stderr}");
    assert!(
        stderr.contains(&format!("spate: {src}: broker {}", b.addr())),
        "the retries name the broker: {stderr}"
    );
    assert!(stderr.contains("connected to broker"), "{stderr}");
}

#[test]
fn kafka_message_timestamps_are_event_time() {
    let Some(b) = Broker::start("kafka_message_timestamps_are_event_time") else {
        return;
    };
    b.create_topic("clock", 2);
    // ten messages a second apart from 2023-11-14T22:13:20Z, the lines
    // themselves without a timestamp; one message of two lines
    b.produce(
        "clock",
        r#"
for k in range(10):
    send(k % 2, b"no time here", timestamp_ms=1700000000000 + k * 1000)
send(0, b"two\nlines", timestamp_ms=1700000009500)
"#,
    );
    let src = format!("kafka://{}/clock?until=now", b.addr());
    let out = spate([
        "-i",
        &src,
        "--event-time",
        "kafka",
        "--lateness",
        "1m",
        "-b",
        "5s",
        "-o",
        "tsv",
        "count",
    ])
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "2023-11-14T22:13:25Z\t5\n2023-11-14T22:13:30Z\t7\n"
    );
}

#[test]
fn kafka_missing_topic_is_exit_1_naming_it() {
    let Some(b) = Broker::start("kafka_missing_topic_is_exit_1_naming_it") else {
        return;
    };
    let src = format!("kafka://{}/nope?until=now", b.addr());
    let out = spate(["-i", &src, "-b", "eof", "count"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("topic 'nope' does not exist"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn kafka_unreachable_broker_is_exit_1_naming_it() {
    let port = free_port();
    let src = format!("kafka://127.0.0.1:{port}/t");
    let out = spate(["-i", &src, "-b", "eof", "count"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("broker 127.0.0.1:{port}")),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn kafka_unreachable_broker_with_reconnect_keeps_trying() {
    let port = free_port();
    let src = format!("kafka://127.0.0.1:{port}/t");
    let child = spate([
        "-i",
        &src,
        "--reconnect",
        "--duration",
        "2s",
        "-o",
        "tsv",
        "count",
    ])
    .spawn();
    let out = wait_output(child, Duration::from_secs(20));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let retries = out.stderr.matches("reconnecting in").count();
    assert!(retries >= 2, "one line per retry: {}", out.stderr);
    assert!(
        out.stderr.contains(&format!("broker 127.0.0.1:{port}")),
        "{}",
        out.stderr
    );
}

#[test]
fn kafka_malformed_address_is_exit_2_before_reading() {
    for (src, says) in [
        ("kafka://127.0.0.1/t", "HOST:PORT"),
        ("kafka://127.0.0.1:9092", "topic is missing"),
        ("kafka://127.0.0.1:9092/t?grup=g", "did you mean 'group'"),
        ("kafka://127.0.0.1:9092/t?from=beginning", "from=earliest"),
    ] {
        let out = spate(["-i", src, "count"]).run();
        assert_eq!(out.code, 2, "{src}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{src}: {}", out.stderr);
    }
    let out = spate(["--event-time", "kafka", "-b", "1s", "count"])
        .stdin("x\n")
        .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("no input is kafka://"),
        "{}",
        out.stderr
    );
}

/// The sum of the next offsets of every partition the state at `path`
/// (for a run of `args`) says was read: how far it got.
fn state_offsets(args: &[String], path: &std::path::Path) -> i64 {
    let argv = std::iter::once("spate".to_string()).chain(args.iter().cloned());
    let Ok(spate::cli::Parsed::Run(plan)) = spate::cli::parse(argv) else {
        panic!("the run's arguments parse");
    };
    let fp = spate::checkpoint::fingerprint(&plan);
    match spate::checkpoint::read(path, &fp) {
        Ok(Some(saved)) => saved
            .kafka_resume()
            .values()
            .flatten()
            .map(|o| o.next)
            .sum(),
        Ok(None) => 0,
        Err(_) => panic!("the state at {} is not readable", path.display()),
    }
}

/// Waits (bounded) until the state at `path` says `total` messages were
/// read, then stops the run with SIGINT (it drains: the open batches are
/// written).
fn interrupt_once_read(mut child: Child, args: &[String], state: &std::path::Path, total: i64) {
    // a state that read every message already is no sign the run is up:
    // wait until it listens for signals (a SIGINT before that ends it
    // without draining)
    crate::util::wait_signals_caught(child.id());
    let deadline = Instant::now() + Duration::from_secs(60);
    while state_offsets(args, state) < total && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let read = state_offsets(args, state);
    kill(child.id(), "INT");
    let code = crate::util::wait_code(&mut child, Duration::from_secs(30));
    assert_eq!(read, total, "the state never said every message was read");
    assert_eq!(code, 130);
}

/// Runs `args` again and again while `producing` says messages are still
/// being produced (and ten times at least), each killed (SIGKILL) at a
/// random instant; then a last run reads the rest and is stopped with
/// SIGINT. Returns the kills and how far each state had got.
fn crash_while_producing(
    args: &[String],
    state: &std::path::Path,
    total: i64,
    producing: impl Fn() -> bool,
) -> (usize, Vec<i64>) {
    let mut x: u64 = 0x5eed_0fca;
    let mut seen = Vec::new();
    let mut kills = 0;
    // a debug build takes longer to connect, fetch and write its first
    // batch: its runs live longer before the kill, or none would commit
    let (least, spread) = if cfg!(debug_assertions) {
        (300, 1500)
    } else {
        (20, 400)
    };
    while (producing() || kills < 10) && kills < 200 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut child = spate(args).spawn();
        std::thread::sleep(Duration::from_millis(least + x % spread));
        kill(child.id(), "KILL");
        let code = crate::util::wait_code(&mut child, Duration::from_secs(20));
        assert!(code == 137 || code == 0, "a run ended with {code}");
        kills += 1;
        seen.push(state_offsets(args, state));
    }
    interrupt_once_read(spate(args).spawn(), args, state, total);
    (kills, seen)
}

/// A producer of `total` lines of an access log in event time (some
/// lines early, some not a log line) to partition 0 of `topic`, in slices
/// a few milliseconds apart.
fn access_script(total: usize) -> String {
    format!(
        r#"
import random, time
random.seed(11)
for i in range({total}):
    if i % 1000 == 999:
        p.flush(30)
        time.sleep(0.02)
    if i % 101 == 50:
        send(0, b"garbage %d" % i)
        continue
    t = 1710072000 + i // 20 - (random.randrange(30) if i % 9 == 0 else 0)
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    line = "%s status=%d bytes=%d" % (ts, random.choice([200, 200, 404, 500]), random.randrange(5000))
    send(0, line.encode())
"#
    )
}

/// `--state` with Kafka: one partition read in event time while it is
/// written, killed (SIGKILL) at random instants and started again, the
/// last run stopped with SIGINT once its state read every message, leaves
/// in `--output-file` and `--dead-letter` exactly the bytes of one
/// uninterrupted run: each run reads on from the offsets its state kept
/// (the partials of the open batches are in the state, the lines after
/// them are not read twice, and line numbers go on).
#[test]
fn kafka_state_killed_anywhere_resumes_from_its_offsets_exactly_once() {
    let Some(b) =
        Broker::start("kafka_state_killed_anywhere_resumes_from_its_offsets_exactly_once")
    else {
        return;
    };
    b.create_topic("access", 1);
    let dir = tempfile::tempdir().expect("temp dir");
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let src = format!("kafka://{}/access", b.addr());
    let args = |state: &str, suffix: &str| -> Vec<String> {
        let mut a: Vec<String> = [
            "-i",
            &src,
            "--event-time",
            "auto",
            "-b",
            "1m",
            "--lateness",
            "10s",
        ]
        .map(String::from)
        .to_vec();
        a.extend(["--state".to_string(), p(state)]);
        a.extend([
            "--output-file".to_string(),
            p(&format!("out{suffix}")),
            "--dead-letter".to_string(),
            p(&format!("dead{suffix}")),
        ]);
        a.extend(
            [
                "parse",
                r"status=(?P<status>\d+) bytes=(?P<bytes>\d+)",
                "then",
                "window",
                "5m",
                "--slide",
                "1m",
                "then",
                "stats",
                "-f",
                "bytes",
                "-a",
                "count,sum,p99,distinct",
                "-g",
                "status",
            ]
            .map(String::from),
        );
        a
    };
    let with_state = args("state", "");
    let producer = std::thread::Builder::new().name("producer".into());
    let (kills, seen) = std::thread::scope(|sc| {
        let writing = producer
            .spawn_scoped(sc, || b.produce("access", &access_script(200_000)))
            .expect("a producer thread");
        let got = crash_while_producing(&with_state, &dir.path().join("state"), 200_000, || {
            !writing.is_finished()
        });
        writing.join().expect("the producer");
        got
    });
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "a state went back: {seen:?}"
    );
    assert!(
        seen.iter().filter(|&&s| s > 0 && s < 200_000).count() >= 3,
        "runs did not go on from their state: {seen:?}"
    );
    // one uninterrupted run (its own state, to see when it read all)
    let reference = args("state.ref", ".ref");
    interrupt_once_read(
        spate(&reference).spawn(),
        &reference,
        &dir.path().join("state.ref"),
        200_000,
    );
    let read = |n: &str| std::fs::read_to_string(p(n)).expect("read a result file");
    let (out, reference) = (read("out"), read("out.ref"));
    assert!(!reference.is_empty());
    assert!(
        out == reference,
        "the output differs from one run's after {kills} kills:\n{}",
        crate::util::diff(&reference, &out)
    );
    assert!(read("dead") == read("dead.ref"), "the dead letters differ");
    eprintln!(
        "state with Kafka: {kills} kills, {} bytes compared",
        out.len() + read("dead").len()
    );
}

/// `--state` with Kafka over three partitions and a consumer group: runs
/// killed at random points count every line in exactly one written batch
/// over all the runs. The state's offsets win over the group's commits,
/// which can be ahead of it (a batch written and committed to the group
/// after the last state: its lines are in the state's partials or read
/// again, and the output file is cut back to the state).
#[test]
fn kafka_state_with_a_group_counts_every_line_once() {
    let Some(b) = Broker::start("kafka_state_with_a_group_counts_every_line_once") else {
        return;
    };
    b.create_topic("t3", 3);
    let dir = tempfile::tempdir().expect("temp dir");
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let src = format!("kafka://{}/t3?group=g", b.addr());
    let args: Vec<String> = [
        "-i",
        &src,
        "-b",
        "20ms",
        "--state",
        &p("state"),
        "--output-file",
        &p("out"),
        "-o",
        "tsv",
        "count",
    ]
    .map(String::from)
    .to_vec();
    // produced over 9 s or more, so that several runs (a debug build's
    // live up to 1.8 s) are killed while it goes on: at 3 s, two runs read
    // it all in one CI run, and the test could not show the runs going on
    let script = "import time\nfor i in range(150000):\n    if i % 1000 == 999:\n        p.flush(30)\n        time.sleep(0.06)\n    send(i % 3, b'line %d' % i)\n";
    let (kills, seen) = std::thread::scope(|sc| {
        let writing = std::thread::Builder::new()
            .spawn_scoped(sc, || b.produce("t3", script))
            .expect("a producer thread");
        let got = crash_while_producing(&args, &dir.path().join("state"), 150_000, || {
            !writing.is_finished()
        });
        writing.join().expect("the producer");
        got
    });
    assert!(
        seen.iter().filter(|&&s| s > 0 && s < 150_000).count() >= 3,
        "runs did not go on from their state: {seen:?}"
    );
    let out = std::fs::read_to_string(p("out")).expect("the output");
    assert_eq!(
        count_of(&out),
        150_000,
        "every line once over {kills} kills"
    );
}

/// `--state` no longer refuses a Kafka input.
#[test]
fn kafka_state_is_accepted() {
    let port = free_port();
    let src = format!("kafka://127.0.0.1:{port}/t");
    let out = spate(["-i", &src, "--state", "/nonexistent/dir/s", "count"]).run();
    assert_eq!(
        out.code, 1,
        "an unreachable broker, not bad usage: {}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("--state cannot resume"),
        "{}",
        out.stderr
    );
}

/// A state taken inside a record batch resumes at the next message:
/// fetched from the batch's start, the messages before it skipped. Asked
/// for the offset itself, tansu answers with the batch after it, and the
/// rest of the batch was lost. (50,000 messages of 100 bytes go in record
/// batches of up to 1 MB, and a chunk ends wherever 1 MB of lines does:
/// the states committed after the batches of 5,000 lines stand inside
/// record batches.)
#[test]
fn kafka_state_resumes_inside_a_record_batch() {
    let Some(b) = Broker::start("kafka_state_resumes_inside_a_record_batch") else {
        return;
    };
    b.create_topic("mid", 1);
    b.produce(
        "mid",
        r#"
for i in range(50000):
    send(0, b"n %d %s" % (i, b"x" * 90))
"#,
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let src = format!("kafka://{}/mid?until=now", b.addr());
    let args = |more: &[&str]| {
        let mut a: Vec<String> = [
            "-i",
            &src,
            "--batch-lines",
            "5000",
            "--state",
            &p("state"),
            "--output-file",
            &p("out"),
            "-o",
            "tsv",
        ]
        .map(String::from)
        .to_vec();
        a.extend(more.iter().map(|s| s.to_string()));
        a.extend(
            [
                "parse",
                r"n (?P<v>\d+) ",
                "then",
                "stats",
                "-f",
                "v",
                "-a",
                "sum",
            ]
            .map(String::from),
        );
        a
    };
    let first = spate(args(&["--max-batches", "4"]))
        .timeout(Duration::from_secs(60))
        .run();
    assert_eq!(first.code, 0, "{}", first.stderr);
    let rest = spate(args(&[])).timeout(Duration::from_secs(60)).run();
    assert_eq!(rest.code, 0, "{}", rest.stderr);
    let out = std::fs::read_to_string(p("out")).expect("the output");
    let sums: Vec<u64> = out
        .lines()
        .map(|l| {
            l.rsplit('\t')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("a sum")
        })
        .collect();
    // batch k holds messages 5000k..5000k+5000: every message once
    let want: Vec<u64> = (0..50_000u64)
        .collect::<Vec<_>>()
        .chunks(5000)
        .map(|c| c.iter().sum())
        .collect();
    assert_eq!(sums, want, "{out}");
}
