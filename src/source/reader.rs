//! Reads any byte stream into chunks of whole lines sliced out of large
//! buffers. A line longer than `--max-line-bytes` that would not fit is cut
//! here (its rest skipped) so that no line is ever buffered whole.

use std::io::{ErrorKind, Read};

use crossbeam_channel::Sender;

use super::Msg;

/// The read size: large enough for fast scans and parallel splits.
pub const CHUNK_BYTES: usize = 1 << 20;

/// Whole lines of one source, each ending in `\n`.
pub struct Chunk {
    pub source: u32,
    pub data: Vec<u8>,
    /// The last line of `data` was cut at `--max-line-bytes` by the reader.
    pub last_cut: bool,
    /// The last line of `data` had no `\n` in the input (end of input).
    pub last_unterminated: bool,
}

/// Reads `r` to its end, sending chunks of whole lines on `tx`. Returns when
/// the input ends or the engine stops listening.
pub fn read_chunks<R: Read>(
    mut r: R,
    source: u32,
    max_line_bytes: usize,
    tx: &Sender<Msg>,
) -> std::io::Result<()> {
    let cap = CHUNK_BYTES.max(max_line_bytes.saturating_add(1).min(64 << 20));
    let mut buf: Vec<u8> = Vec::with_capacity(cap);
    // while skipping the rest of a cut line
    let mut skipping = false;
    // How much of the buffer to offer a read: zeroing the whole buffer for
    // every small pipe read would cost more than the read; grow the offer
    // while reads fill it.
    let mut offer = 64 * 1024;
    loop {
        if buf.capacity() - buf.len() < 64 * 1024 {
            buf.reserve(cap.max(buf.len()));
        }
        let start = buf.len();
        let spare = (buf.capacity() - start).min(offer);
        buf.resize(start + spare, 0);
        let n = loop {
            match r.read(&mut buf[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    buf.truncate(start);
                    return Err(e);
                }
            }
        };
        buf.truncate(start + n);
        super::BYTES_READ.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        if n == spare {
            offer = (offer * 2).min(cap);
        }
        if n == 0 {
            if !buf.is_empty() && !skipping {
                buf.push(b'\n');
                let data = std::mem::take(&mut buf);
                let chunk = Chunk {
                    source,
                    data,
                    last_cut: false,
                    last_unterminated: true,
                };
                if tx.send(Msg::Chunk(chunk)).is_err() {
                    return Ok(());
                }
            }
            return Ok(());
        }
        if skipping {
            match memchr::memchr(b'\n', &buf[start..]) {
                Some(i) => {
                    buf.drain(..start + i + 1);
                    skipping = false;
                }
                None => {
                    buf.truncate(start);
                    continue;
                }
            }
        }
        match memchr::memrchr(b'\n', &buf) {
            Some(last) => {
                let rest = buf[last + 1..].to_vec();
                buf.truncate(last + 1);
                let mut next = Vec::with_capacity(cap);
                next.extend_from_slice(&rest);
                let data = std::mem::replace(&mut buf, next);
                let chunk = Chunk {
                    source,
                    data,
                    last_cut: false,
                    last_unterminated: false,
                };
                if tx.send(Msg::Chunk(chunk)).is_err() {
                    return Ok(());
                }
            }
            None if buf.len() > max_line_bytes => {
                // a partial line already over the limit: keep its head, skip
                // the rest up to the next newline
                let keep = cut_point(&buf, max_line_bytes);
                buf.truncate(keep);
                buf.push(b'\n');
                let data = std::mem::replace(&mut buf, Vec::with_capacity(cap));
                skipping = true;
                let chunk = Chunk {
                    source,
                    data,
                    last_cut: true,
                    last_unterminated: false,
                };
                if tx.send(Msg::Chunk(chunk)).is_err() {
                    return Ok(());
                }
            }
            None => {}
        }
    }
}

/// Where to cut `line` to at most `max` bytes without splitting a UTF-8
/// character (when it is UTF-8 at all).
pub fn cut_point(line: &[u8], max: usize) -> usize {
    if line.len() <= max {
        return line.len();
    }
    let mut cut = max;
    // back off over continuation bytes (at most 3) to a character boundary
    while cut > 0 && max - cut < 3 && (line[cut] & 0b1100_0000) == 0b1000_0000 {
        cut -= 1;
    }
    if (line[cut] & 0b1100_0000) == 0b1000_0000 {
        max
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(input: &[u8], max: usize) -> Vec<(Vec<u8>, bool)> {
        let (tx, rx) = crossbeam_channel::unbounded();
        read_chunks(input, 0, max, &tx).unwrap();
        drop(tx);
        rx.iter()
            .filter_map(|m| match m {
                Msg::Chunk(c) => Some((c.data, c.last_cut)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn reader_adds_newline_to_last_line() {
        let c = chunks(b"a\nb", 100);
        let all: Vec<u8> = c.into_iter().flat_map(|(d, _)| d).collect();
        assert_eq!(all, b"a\nb\n");
    }

    #[test]
    fn reader_cuts_long_partial_lines() {
        let mut input = vec![b'x'; 3 * CHUNK_BYTES];
        input.extend_from_slice(b"\nok\n");
        let c = chunks(&input, 10);
        assert_eq!(c[0], (b"xxxxxxxxxx\n".to_vec(), true));
        let rest: Vec<u8> = c[1..].iter().flat_map(|(d, _)| d.clone()).collect();
        assert_eq!(rest, b"ok\n");
    }

    #[test]
    fn reader_cut_point_respects_utf8() {
        let s = "aé".as_bytes(); // a, 0xC3, 0xA9
        assert_eq!(cut_point(s, 2), 1);
        assert_eq!(cut_point(s, 3), 3);
    }
}
