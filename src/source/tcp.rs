//! `tcp://HOST:PORT`: connect as a client and read lines until the peer
//! closes, as Spark's `socketTextStream` does. With `--reconnect`, a closed,
//! reset or refused connection is retried forever with capped exponential
//! backoff (100ms doubling to 5s, back to 100ms once a connection has
//! delivered data), each step said in one line on stderr; the run then ends
//! by `--duration`, `--max-batches` or a signal.
//!
//! A connection reset by the peer is treated like a close, not a failure:
//! every byte received is delivered (a partial last line counts as a line)
//! and the reset is said on stderr. Any other read error delivers what was
//! received too, then fails the run (or, with `--reconnect`, is retried).
//! This file also holds [`Conn`], which `listen://` shares.

use std::io::{self, ErrorKind, Read};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::anyhow;
use crossbeam_channel::Sender;

use super::{Msg, SourceOptions};
use crate::duration::format_duration;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Per resolved address: a host that drops SYNs should not hang the start
/// for the two minutes the OS would wait.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects at start so that a refused connection fails before anything
/// runs; with `reconnect`, a failure here is retried later instead. An
/// address that is not `HOST:PORT` fails in either case.
pub fn connect_first(addr: &str, reconnect: bool) -> anyhow::Result<Option<TcpStream>> {
    check_addr(addr).map_err(|e| anyhow!("tcp://{addr}: {e}"))?;
    match connect(addr) {
        Ok(s) => Ok(Some(s)),
        // `run` tries again at once and says why it failed
        Err(_) if reconnect => Ok(None),
        Err(e) => Err(anyhow!("connecting to {addr}: {e}")),
    }
}

/// Reads the connection (made by [`connect_first`], or made here) until
/// the peer closes; with `--reconnect`, forever.
pub fn run(
    addr: &str,
    stream: Option<TcpStream>,
    id: u32,
    opts: &SourceOptions,
    tx: &Sender<Msg>,
) -> anyhow::Result<()> {
    let name = format!("tcp://{addr}");
    let mut stream = stream;
    let mut backoff = Backoff::default();
    loop {
        let s = match stream.take() {
            Some(s) => s,
            None => match connect(addr) {
                Ok(s) => {
                    eprintln!("spate: {name}: connected");
                    s
                }
                Err(e) if opts.reconnect => {
                    let wait = backoff.next_wait();
                    eprintln!("{}", retry_note(&name, &format!("connecting: {e}"), wait));
                    std::thread::sleep(wait);
                    continue;
                }
                Err(e) => return Err(anyhow!("connecting to {addr}: {e}")),
            },
        };
        // each connection is an input of its own: lines from 1, a header
        if tx.send(Msg::Begin(id)).is_err() {
            return Ok(());
        }
        let mut conn = Conn::new(s);
        super::read_chunks(&mut conn, id, opts.max_line_bytes, tx)?;
        if !conn.ended {
            // the engine stopped listening: the run is over
            return Ok(());
        }
        if !opts.reconnect {
            return match conn.error {
                None => Ok(()),
                Some(e) if is_reset(&e) => {
                    eprintln!("spate: {name}: connection reset by peer; the stream ends there");
                    Ok(())
                }
                Some(e) => Err(e.into()),
            };
        }
        let why = match conn.error {
            None => "connection closed".to_string(),
            Some(e) if is_reset(&e) => "connection reset by peer".to_string(),
            Some(e) => e.to_string(),
        };
        if conn.bytes > 0 {
            backoff = Backoff::default();
        }
        let wait = backoff.next_wait();
        eprintln!("{}", retry_note(&name, &why, wait));
        std::thread::sleep(wait);
    }
}

/// Checks the `HOST:PORT` form (`[::1]:9999` included) before any lookup,
/// so that a typo is not retried forever under `--reconnect`.
pub(super) fn check_addr(addr: &str) -> Result<(), String> {
    let bad = || format!("expected HOST:PORT such as 127.0.0.1:9999, got '{addr}'");
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(bad());
    }
    Ok(())
}

/// Tries every address the name resolves to, in order.
fn connect(addr: &str) -> io::Result<TcpStream> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(ErrorKind::NotFound, "no address found")))
}

pub(super) fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
    )
}

/// The most one socket read takes. Smaller than a file's reads: a batch
/// closes once the data read before its end is processed, so a read's size
/// bounds how late a batch closes when data arrives in bursts (a 1 MiB read
/// is about 3 ms of work on two cores, 256 KiB under 1 ms).
const SOCKET_READ_BYTES: usize = 256 * 1024;
/// The most one socket read takes after [`BEHIND_READS`] reads in a row
/// each filled what it was offered: the sender is ahead, more is waiting
/// in the socket, and fewer, larger chunks keep up with it.
const SOCKET_BEHIND_BYTES: usize = 1 << 20;
/// How many full reads in a row tell a sender that stays ahead from a
/// burst: a sender paced at 100 sends a second (1 MB each at 2M lines
/// a second) fills four reads at most.
const BEHIND_READS: u32 = 4;

/// A connection read to its end: a read error ends it like a close (kept
/// in `error`), so that `read_chunks` delivers the partial last line
/// instead of dropping it with the error.
pub(super) struct Conn<R> {
    inner: R,
    /// Bytes received.
    pub bytes: u64,
    /// The peer closed or the read failed (as opposed to the engine having
    /// stopped listening).
    pub ended: bool,
    pub error: Option<io::Error>,
    /// Reads in a row that filled what they were offered.
    full: u32,
}

impl<R: Read> Conn<R> {
    pub fn new(inner: R) -> Self {
        Conn {
            inner,
            bytes: 0,
            ended: false,
            error: None,
            full: 0,
        }
    }
}

impl<R: Read> Read for Conn<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ended {
            return Ok(0);
        }
        let most = if self.full >= BEHIND_READS {
            SOCKET_BEHIND_BYTES
        } else {
            SOCKET_READ_BYTES
        };
        let most = buf.len().min(most);
        let buf = &mut buf[..most];
        loop {
            match self.inner.read(buf) {
                Ok(0) => {
                    self.ended = true;
                    return Ok(0);
                }
                Ok(n) => {
                    self.full = if n == most {
                        self.full.saturating_add(1)
                    } else {
                        0
                    };
                    self.bytes += n as u64;
                    super::BYTES_READ.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.ended = true;
                    self.error = Some(e);
                    return Ok(0);
                }
            }
        }
    }
}

/// The line said before a wait: `spate: tcp://…: connection closed;
/// reconnecting in 1.6s`.
fn retry_note(name: &str, why: &str, wait: Duration) -> String {
    format!(
        "spate: {name}: {why}; reconnecting in {}",
        format_duration(wait)
    )
}

/// Capped exponential backoff.
pub(super) struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: FIRST_BACKOFF,
        }
    }
}

impl Backoff {
    pub(super) fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(MAX_BACKOFF);
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out its parts one read at a time, then fails with `end`.
    struct Script {
        parts: Vec<&'static [u8]>,
        end: Option<ErrorKind>,
    }

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.parts.is_empty() {
                return match self.end {
                    Some(k) => Err(io::Error::from(k)),
                    None => Ok(0),
                };
            }
            let p = self.parts.remove(0);
            buf[..p.len()].copy_from_slice(p);
            Ok(p.len())
        }
    }

    fn delivered(script: Script) -> (Vec<u8>, Conn<Script>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut conn = Conn::new(script);
        super::super::read_chunks(&mut conn, 0, 1 << 20, &tx).unwrap();
        drop(tx);
        let data = rx
            .iter()
            .flat_map(|m| match m {
                Msg::Chunk(c) => c.data.into_vec(),
                _ => Vec::new(),
            })
            .collect();
        (data, conn)
    }

    /// A sender with `waiting` bytes in the socket at each read, noting
    /// how much each read offered.
    struct Ahead {
        waiting: Vec<usize>,
        offered: Vec<usize>,
    }

    impl Read for Ahead {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.offered.push(buf.len());
            let n = if self.waiting.is_empty() {
                0
            } else {
                self.waiting.remove(0).min(buf.len())
            };
            buf[..n].fill(b'x');
            Ok(n)
        }
    }

    #[test]
    fn tcp_reads_grow_while_the_sender_stays_ahead() {
        // megabytes counted as read: not while the progress bar's test
        // counts its own
        let _alone = super::super::MEGABYTES.lock();
        let lots = 8 << 20;
        // four full reads, then larger ones while they fill; a read that
        // does not fill (a burst's end) goes back to the usual size
        let waiting = vec![lots, lots, lots, lots, lots, lots, 1000, lots, lots];
        let mut conn = Conn::new(Ahead {
            waiting,
            offered: Vec::new(),
        });
        let mut buf = vec![0u8; 4 << 20];
        let mut got = Vec::new();
        while let Ok(n @ 1..) = conn.read(&mut buf) {
            got.push(n);
        }
        let (small, large) = (SOCKET_READ_BYTES, SOCKET_BEHIND_BYTES);
        assert_eq!(
            got,
            [small, small, small, small, large, large, 1000, small, small]
        );
        assert_eq!(conn.inner.offered[4..7], [large, large, large]);
        assert_eq!(
            conn.bytes,
            (4 * small + 2 * large + 1000 + 2 * small) as u64
        );
        // a paced sender's burst of four reads and a bit is read as before
        let mut conn = Conn::new(Ahead {
            waiting: vec![small, small, small, small, 50_000, small],
            offered: Vec::new(),
        });
        let mut got = Vec::new();
        while let Ok(n @ 1..) = conn.read(&mut buf) {
            got.push(n);
        }
        assert_eq!(got, [small, small, small, small, 50_000, small]);
    }

    #[test]
    fn tcp_reset_mid_line_delivers_the_partial_line() {
        let (data, conn) = delivered(Script {
            parts: vec![b"a\nb", b"c"],
            end: Some(ErrorKind::ConnectionReset),
        });
        assert_eq!(data, b"a\nbc\n");
        assert!(conn.ended);
        assert!(conn.error.as_ref().is_some_and(is_reset));
        assert_eq!(conn.bytes, 4);
    }

    #[test]
    fn tcp_close_is_not_an_error() {
        let (data, conn) = delivered(Script {
            parts: vec![b"x\n"],
            end: None,
        });
        assert_eq!(data, b"x\n");
        assert!(conn.ended && conn.error.is_none());
    }

    #[test]
    fn tcp_backoff_doubles_to_its_cap() {
        let mut b = Backoff::default();
        let waits: Vec<u128> = (0..8).map(|_| b.next_wait().as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    }

    #[test]
    fn tcp_retry_note_writes_decimal_seconds() {
        let mut b = Backoff::default();
        let notes: Vec<String> = (0..6)
            .map(|_| retry_note("tcp://h:1", "connection closed", b.next_wait()))
            .collect();
        assert_eq!(
            notes[4],
            "spate: tcp://h:1: connection closed; reconnecting in 1.6s"
        );
        assert!(notes[0].ends_with("in 100ms") && notes[5].ends_with("in 3.2s"));
    }

    #[test]
    fn tcp_address_form_is_checked() {
        assert!(check_addr("127.0.0.1:9999").is_ok());
        assert!(check_addr("localhost:80").is_ok());
        assert!(check_addr("[::1]:9999").is_ok());
        assert!(check_addr("127.0.0.1").is_err());
        assert!(check_addr(":9999").is_err());
        assert!(check_addr("host:99999").is_err());
    }
}
