//! Running the built binary: arguments, standard input, environment, a
//! deadline; and normalising wall-clock times for comparisons.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_spate");

/// Says a test was skipped, and why, on the real stderr (`eprintln!` is
/// captured by the test harness and shown only for failures): a test whose
/// component is missing never passes silently.
pub fn skipped(why: &str) {
    let _ = writeln!(std::io::stderr().lock(), "skipped: {why}");
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    /// The exit status, or 128 + signal.
    pub code: i32,
}

/// A run of spate being prepared.
pub struct Run {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    /// Standard input is a file given with [`Run::stdin_file`].
    stdin_file: bool,
    timeout: Duration,
}

pub fn spate<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("NO_COLOR")
        .env("TZ", "UTC")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    Run {
        cmd,
        stdin: None,
        stdin_file: false,
        timeout: Duration::from_secs(30),
    }
}

impl Run {
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(data.into());
        self.cmd.stdin(Stdio::piped());
        self
    }
    /// Standard input redirected from `file` (`spate ... < FILE`), from
    /// where its offset stands.
    pub fn stdin_file(mut self, file: std::fs::File) -> Self {
        self.stdin = None;
        self.stdin_file = true;
        self.cmd.stdin(Stdio::from(file));
        self
    }
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.cmd.env(k, v);
        self
    }
    pub fn current_dir(mut self, d: &Path) -> Self {
        self.cmd.current_dir(d);
        self
    }
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Starts it without waiting.
    pub fn spawn(mut self) -> Child {
        if !self.stdin_file {
            self.cmd.stdin(Stdio::piped());
        }
        self.cmd.spawn().expect("spawn spate")
    }

    pub fn run(mut self) -> Output {
        let mut child = self.cmd.spawn().expect("spawn spate");
        if let Some(data) = self.stdin.take() {
            let mut sin = child.stdin.take().expect("stdin piped");
            std::thread::spawn(move || {
                let _ = sin.write_all(&data);
            });
        }
        wait_output(child, self.timeout)
    }
}

/// Waits for a child (bounded), collecting its output (empty for a pipe
/// the caller took away).
pub fn wait_output(mut child: Child, timeout: Duration) -> Output {
    let out = read_on_thread(child.stdout.take());
    let err = read_on_thread(child.stderr.take());
    let code = wait_code(&mut child, timeout);
    Output {
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
        code,
    }
}

/// Reads a child's pipe to its end on a thread of its own, so that a full
/// pipe never stalls the child; none reads as empty.
pub fn read_on_thread<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut s);
        }
        String::from_utf8_lossy(&s).into_owned()
    })
}

/// Waits for a child to exit, at most `timeout` (past it the child is
/// killed and the test fails); its exit status, or 128 + signal.
pub fn wait_code(child: &mut Child, timeout: Duration) -> i32 {
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("spate did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        128 + status.signal().unwrap_or(0)
    })
}

/// Rows of TSV output without their first column (the batch time).
pub fn tsv_body(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| l.split_once('\t').map_or(l, |(_, r)| r).to_string())
        .collect()
}

/// Replaces wall-clock batch times (RFC 3339 with milliseconds, epoch with
/// three decimals, epoch-ms, spark's local time with microseconds) by
/// `TIME`, for batches closed by line count or end of input.
pub fn normalize_times(s: &str) -> String {
    use std::sync::OnceLock;
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z|\b1\d{9}\.\d{3}\b|\b1\d{12}\b|\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?",
        )
        .expect("valid regex")
    });
    re.replace_all(s, "TIME").into_owned()
}

/// A readable diff for assertion messages.
pub fn diff(expected: &str, actual: &str) -> String {
    let mut out = String::new();
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i), a.get(i));
        if x != y {
            out.push_str(&format!(
                "line {}:\n  expected: {:?}\n  actual:   {:?}\n",
                i + 1,
                x.unwrap_or(&"<none>"),
                y.unwrap_or(&"<none>")
            ));
        }
    }
    out
}

/// Asserts equality with a line diff.
#[track_caller]
pub fn assert_text(expected: &str, actual: &str, what: &str) {
    if expected != actual {
        panic!(
            "{what} differs:\n{}\n--- expected ---\n{expected}\n--- actual ---\n{actual}",
            diff(expected, actual)
        );
    }
}

/// Waits for a child whose stdout was taken away; returns (stderr, code).
pub fn wait_output_stderr_only(child: Child, timeout: Duration) -> (String, i32) {
    let out = wait_output(child, timeout);
    (out.stderr, out.code)
}

/// Checks the exit summary, when there is one: every line read is
/// processed, filtered, dropped or unemitted, and the drops add up by
/// reason.
#[track_caller]
pub fn assert_balanced(stderr: &str) {
    use std::sync::OnceLock;
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"spate: (\d+) lines read: (\d+) processed, (\d+) filtered, (\d+) dropped(?: \(([^)]*)\))?(?:, (\d+) unemitted)?",
        )
        .expect("valid regex")
    });
    for c in re.captures_iter(stderr) {
        let n = |i: usize| c[i].parse::<u64>().expect("number");
        let unemitted = c
            .get(6)
            .map_or(0, |m| m.as_str().parse::<u64>().expect("number"));
        assert_eq!(
            n(1),
            n(2) + n(3) + n(4) + unemitted,
            "lines read = processed + filtered + dropped + unemitted: {stderr}"
        );
        let by_reason: u64 = c
            .get(5)
            .map(|m| {
                m.as_str()
                    .split(", ")
                    .filter_map(|p| p.split(' ').next()?.parse::<u64>().ok())
                    .sum()
            })
            .unwrap_or(0);
        assert_eq!(by_reason, n(4), "drops by reason add up: {stderr}");
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local address").port()
}

/// Connects to spate's listener on 127.0.0.1, retrying (bounded) while
/// spate starts.
pub fn connect_within(port: u16, timeout: Duration) -> std::net::TcpStream {
    let deadline = Instant::now() + timeout;
    loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => return s,
            Err(e) if Instant::now() >= deadline => panic!("connecting to spate on {port}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Accepts one connection, giving up after `timeout`.
pub fn accept_within(l: &std::net::TcpListener, timeout: Duration) -> Option<std::net::TcpStream> {
    l.set_nonblocking(true).expect("nonblocking listener");
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).expect("blocking stream");
                return Some(s);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
    None
}

/// Sends `kill -SIG pid`.
pub fn kill(pid: u32, sig: &str) {
    let st = std::process::Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .expect("kill");
    assert!(st.success(), "kill -{sig} {pid}");
}

/// Waits (bounded) until process `pid` catches SIGINT and SIGTERM, as
/// /proc says: a signal sent before that ends it at once instead of
/// draining (a debug build on a loaded machine can take a while to get
/// there).
pub fn wait_signals_caught(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(60);
    // SIGINT is 2, SIGTERM 15: bits 1 and 14 of SigCgt
    let want = (1u64 << 1) | (1u64 << 14);
    loop {
        let caught = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("SigCgt:"))
                    .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
            });
        match caught {
            Some(mask) if mask & want == want => return,
            // no /proc: nothing to wait for
            None if !Path::new("/proc/self/status").exists() => return,
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "process {pid} never caught SIGINT and SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
