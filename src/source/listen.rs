//! `listen://ADDR:PORT`: accept any number of TCP clients and merge their
//! lines into one source. Each client has its own thread reading through
//! `read_chunks`, so a client's lines stay whole and in order, and a client
//! that disconnects mid-line loses nothing it sent. The channel is bounded:
//! a slow engine blocks the client threads, which stop reading, and TCP flow
//! control slows the senders; nothing is buffered without bound.
//!
//! `--max-connections` (default 1024) bounds the clients connected at once: one more is
//! accepted and closed at once, with a line on stderr (at most one a
//! second in a flood, saying how many more were refused meanwhile; the exit
//! summary gives the total). A client's reset or
//! read error is said on stderr and ends that client only. The listener
//! never ends on its own; the run ends by `--duration`, `--max-batches` or
//! a signal.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use crossbeam_channel::Sender;

use super::tcp::{Conn, check_addr, is_reset};
use super::{Msg, SourceOptions};

/// How long to wait before accepting again after a failure such as too
/// many open files, so that the failure does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// At most one line about refused clients per this long.
const REFUSAL_QUIET: Duration = Duration::from_secs(1);

/// Says refusals on stderr without flooding it: the first at once, then
/// one line a second at most, with how many were refused meanwhile.
#[derive(Default)]
struct Refusals {
    last: Option<Instant>,
    held: u64,
}

impl Refusals {
    fn refused(&mut self, say: impl FnOnce(&str)) {
        super::CONNECTIONS_REFUSED.fetch_add(1, Ordering::Relaxed);
        if self.last.is_some_and(|t| t.elapsed() < REFUSAL_QUIET) {
            self.held += 1;
            return;
        }
        let more = match std::mem::take(&mut self.held) {
            0 => String::new(),
            n => format!(" ({n} more refused since the last message)"),
        };
        say(&more);
        self.last = Some(Instant::now());
    }
}

/// Binds exactly the address given; a busy port or an address that is not
/// this host's fails with the address in the message. With port 0, the
/// port the OS chose is said on stderr.
pub fn bind(addr: &str) -> anyhow::Result<TcpListener> {
    check_addr(addr).map_err(|e| anyhow!("listen://{addr}: {e}"))?;
    let listener = TcpListener::bind(addr).map_err(|e| anyhow!("listening on {addr}: {e}"))?;
    if addr
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>() == Ok(0))
    {
        if let Ok(local) = listener.local_addr() {
            eprintln!("spate: listen://{addr}: listening on {local}");
        }
    }
    Ok(listener)
}

/// Accepts clients until the process ends.
pub fn run(
    listener: TcpListener,
    id: u32,
    opts: &SourceOptions,
    tx: &Sender<Msg>,
    roster: &super::Roster,
) -> anyhow::Result<()> {
    let ids = Arc::new(ConnIds {
        first: id,
        roster: roster.clone(),
        free: Mutex::new(vec![id]),
    });
    let name: Arc<str> = match listener.local_addr() {
        Ok(a) => format!("listen://{a}").into(),
        Err(_) => "listen://".into(),
    };
    let connected = Arc::new(AtomicUsize::new(0));
    // say a failing accept once, not every retry
    let mut failing = false;
    let mut refusals = Refusals::default();
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(c) => {
                failing = false;
                c
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Interrupted
                        | ErrorKind::ConnectionAborted
                        | ErrorKind::ConnectionReset
                ) =>
            {
                continue;
            }
            Err(e) => {
                if !failing {
                    eprintln!("spate: {name}: accepting a connection: {e}; retrying");
                    failing = true;
                }
                std::thread::sleep(ACCEPT_RETRY);
                continue;
            }
        };
        // counted here, not in the client's thread, so that the next
        // accept sees it
        let now = connected.load(Ordering::SeqCst);
        if now >= opts.max_connections {
            drop(stream);
            refusals.refused(|more| {
                eprintln!(
                    "spate: {name}: refusing a connection from {peer}: {now} clients already connected (--max-connections){more}"
                );
            });
            continue;
        }
        connected.fetch_add(1, Ordering::SeqCst);
        let slot = Slot(Arc::clone(&connected));
        let (tx, name2, max) = (tx.clone(), Arc::clone(&name), opts.max_line_bytes);
        let conn_id = ConnId::take(&ids, &name);
        let spawned = std::thread::Builder::new()
            .name("spate-client".to_string())
            .spawn(move || {
                let _slot = slot;
                // each connection is an input of its own: its lines from
                // 1, its header; the id goes back when it ends
                if tx.send(Msg::Begin(conn_id.id)).is_ok() {
                    client(stream, peer, &name2, conn_id.id, max, &tx);
                }
                drop(conn_id);
            });
        if let Err(e) = spawned {
            // the closure, its stream and its slot are dropped: the client
            // is closed and not counted
            refusals.refused(|more| {
                eprintln!("spate: {name}: refusing a connection from {peer}: {e}{more}");
            });
        }
    }
}

/// Reads one client to its end.
fn client(stream: TcpStream, peer: SocketAddr, name: &str, id: u32, max: usize, tx: &Sender<Msg>) {
    let mut conn = Conn::new(stream);
    if let Err(e) = super::read_chunks(&mut conn, id, max, tx) {
        // Conn turns read errors into the end of input; kept for safety
        conn.error = Some(e);
    }
    match conn.error {
        None => {}
        Some(e) if is_reset(&e) => {
            eprintln!("spate: {name}: connection from {peer} reset by peer");
        }
        Some(e) => eprintln!("spate: {name}: reading from {peer}: {e}"),
    }
}

/// The source ids of connections: the listener's own first, then new
/// ones from the roster only while every known one is in use, so that
/// they stay as many as the most clients ever connected at once.
struct ConnIds {
    first: u32,
    roster: super::Roster,
    free: Mutex<Vec<u32>>,
}

/// A connection's source id, given back when it is dropped (after the
/// connection's last chunk was sent, so the engine sees that chunk before
/// the next connection's `Begin` for the same id).
struct ConnId {
    id: u32,
    ids: Arc<ConnIds>,
}

impl ConnId {
    fn take(ids: &Arc<ConnIds>, name: &str) -> ConnId {
        let reused = ids.free.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let id = reused.unwrap_or_else(|| ids.roster.add(name.to_string()));
        ConnId {
            id,
            ids: Arc::clone(ids),
        }
    }
}

impl Drop for ConnId {
    fn drop(&mut self) {
        let mut free = self.ids.free.lock().unwrap_or_else(|p| p.into_inner());
        // the listener's own id first, then the lowest
        free.push(self.id);
        let first = self.ids.first;
        free.sort_unstable_by_key(|&i| std::cmp::Reverse((i != first, i)));
    }
}

/// A connected client, counted until its thread ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
