//! `-F/--follow`: read a file as it grows (placeholder).

use std::fs::File;

use crossbeam_channel::Sender;

use super::{Msg, SourceOptions};

pub fn run(
    _name: &str,
    file: File,
    id: u32,
    opts: &SourceOptions,
    tx: &Sender<Msg>,
) -> anyhow::Result<()> {
    super::read_chunks(file, id, opts.max_line_bytes, tx)?;
    Ok(())
}
