//! `tcp://HOST:PORT`: connect as a client and read lines (placeholder).

use std::net::TcpStream;

use crossbeam_channel::Sender;

use super::{Msg, SourceOptions};

/// Connects at start so that a refused connection fails before anything
/// runs; with `reconnect`, a failure here is retried later instead.
pub fn connect_first(addr: &str, reconnect: bool) -> anyhow::Result<Option<TcpStream>> {
    match TcpStream::connect(addr) {
        Ok(s) => Ok(Some(s)),
        Err(_) if reconnect => Ok(None),
        Err(e) => Err(anyhow::anyhow!("connecting to {addr}: {e}")),
    }
}

pub fn run(
    _addr: &str,
    stream: Option<TcpStream>,
    id: u32,
    opts: &SourceOptions,
    tx: &Sender<Msg>,
) -> anyhow::Result<()> {
    if let Some(s) = stream {
        super::read_chunks(s, id, opts.max_line_bytes, tx)?;
    }
    Ok(())
}
