//! `listen://ADDR:PORT`: accept TCP clients and merge their lines
//! (placeholder).

use std::net::TcpListener;

use crossbeam_channel::Sender;

use super::{Msg, SourceOptions};

pub fn bind(addr: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).map_err(|e| anyhow::anyhow!("listening on {addr}: {e}"))
}

pub fn run(
    listener: TcpListener,
    id: u32,
    opts: &SourceOptions,
    tx: &Sender<Msg>,
) -> anyhow::Result<()> {
    for s in listener.incoming() {
        let s = s?;
        super::read_chunks(s, id, opts.max_line_bytes, tx)?;
    }
    Ok(())
}
