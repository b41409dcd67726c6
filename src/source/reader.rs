//! Reads any byte stream into chunks of whole lines sliced out of large
//! buffers. A line longer than `--max-line-bytes` that would not fit is cut
//! here (its rest skipped) so that no line is ever buffered whole.
//!
//! A byte order mark at the start of the input is removed (see [`super::bom`]).
//! Bytes are counted for the progress bar by whatever reads the input
//! itself (a file's raw reader, a connection), not here: a compressed
//! file's progress is its compressed bytes.
//!
//! The buffers go round: a chunk's memory returns to its reader's pool when
//! the engine drops the chunk, so a steady read neither allocates nor zeroes
//! (safe Rust can only read into initialised memory, and a buffer keeps
//! what it has initialised for its next use).

use std::fmt;
use std::io::{ErrorKind, Read};
use std::ops::Deref;

use crossbeam_channel::{Receiver, Sender};

use super::bom::BomCheck;
use super::mapped::Window;
use super::{CHANNEL_CHUNKS, Msg};

/// The read size: large enough for fast scans and parallel splits.
pub const CHUNK_BYTES: usize = 1 << 20;

/// How many spare buffers a reader keeps: enough for every chunk the
/// channel holds, the one the engine works on and the one being filled.
const POOL_BUFFERS: usize = CHANNEL_CHUNKS + 4;

/// Whole lines of one source, each ending in `\n`.
pub struct Chunk {
    pub source: u32,
    pub data: ChunkData,
    /// The last line of `data` was cut at `--max-line-bytes` by the reader.
    pub last_cut: bool,
    /// The last line of `data` had no `\n` in the input (end of input).
    pub last_unterminated: bool,
    /// Where the chunk ends in its input's byte stream (decompressed, from
    /// the stream's first byte): a run resumed with `--state` reads on from
    /// here (past the rest of the line first when `last_cut`).
    pub end: u64,
    /// Each line's own timestamp, when the source has them and they are
    /// wanted (`--event-time kafka`).
    pub times: Option<super::LineTimes>,
    /// Where the source stands after this chunk: to be reported with
    /// [`super::Mark::written`] once every line of it is in a written
    /// batch (Kafka commits its offsets then).
    pub mark: Option<super::Mark>,
    /// The source's unfinished line after this chunk (the bytes read after
    /// its last newline), if any: a stop by signal or `--duration` counts
    /// it as the input's last line, as the end of input would.
    pub tail: Option<Vec<u8>>,
}

/// The bytes of a chunk: the first `len` of a buffer or of a mapped window
/// of a file. Dropping it sends a buffer back to the reader that filled
/// it, if that reader still runs and its pool has room (otherwise the
/// memory is freed), and unmaps a window.
pub struct ChunkData {
    /// Every byte of `mem` is initialised; the data is its first `len`
    /// (when not `mapped`).
    mem: Vec<u8>,
    len: usize,
    home: Option<Sender<Vec<u8>>>,
    /// A window of a file, the data its first `len` bytes.
    mapped: Option<Window>,
}

impl ChunkData {
    /// The first `len` bytes of `window` (at most all of them).
    pub fn mapped(window: Window, len: usize) -> Self {
        ChunkData {
            mem: Vec::new(),
            len: len.min(window.len()),
            home: None,
            mapped: Some(window),
        }
    }

    /// Whether the bytes are a mapped window of a file's.
    pub fn is_mapped(&self) -> bool {
        self.mapped.is_some()
    }

    /// The data as a plain vector (which then goes to no pool).
    pub fn into_vec(mut self) -> Vec<u8> {
        if self.mapped.is_some() {
            return self.to_vec();
        }
        let mut v = std::mem::take(&mut self.mem);
        v.truncate(self.len);
        self.home = None;
        v
    }
}

impl Deref for ChunkData {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.mapped {
            Some(window) => &window[..self.len],
            None => &self.mem[..self.len],
        }
    }
}

impl From<Vec<u8>> for ChunkData {
    fn from(mem: Vec<u8>) -> Self {
        ChunkData {
            len: mem.len(),
            mem,
            home: None,
            mapped: None,
        }
    }
}

impl fmt::Debug for ChunkData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkData")
            .field("len", &self.len)
            .field("pooled", &self.home.is_some())
            .field("mapped", &self.mapped.is_some())
            .finish()
    }
}

impl Drop for ChunkData {
    fn drop(&mut self) {
        if let Some(home) = self.home.take() {
            // never blocks: a full pool or a finished reader frees it here
            let _ = home.try_send(std::mem::take(&mut self.mem));
        }
    }
}

/// The buffer being filled: `mem` is initialised throughout (its length is
/// how much of its capacity has ever been written), the data is `mem[..len]`.
struct Fill {
    mem: Vec<u8>,
    len: usize,
}

/// A reader's spare buffers, returned by dropped chunks.
struct Pool {
    home: Sender<Vec<u8>>,
    spare: Receiver<Vec<u8>>,
    cap: usize,
}

impl Pool {
    fn new(cap: usize) -> Self {
        let (home, spare) = crossbeam_channel::bounded(POOL_BUFFERS);
        Pool { home, spare, cap }
    }

    /// An empty buffer: a returned one if there is one, else a new one,
    /// zeroed by the allocator (fresh pages from the OS need no memset).
    fn take(&self) -> Fill {
        let mem = self.spare.try_recv().unwrap_or_else(|_| vec![0; self.cap]);
        Fill { mem, len: 0 }
    }

    /// `fill`'s data as a chunk's, its memory to come back here.
    fn wrap(&self, fill: Fill) -> ChunkData {
        let Fill { mem, len } = fill;
        ChunkData {
            mem,
            len,
            home: Some(self.home.clone()),
            mapped: None,
        }
    }
}

/// Reads `r` to its end, sending chunks of whole lines on `tx`. Returns when
/// the input ends or the engine stops listening.
pub fn read_chunks<R: Read>(
    r: R,
    source: u32,
    max_line_bytes: usize,
    tx: &Sender<Msg>,
) -> std::io::Result<()> {
    read_chunks_from(r, source, max_line_bytes, tx, Resume::default())
}

/// Where reading an input starts: at `offset` of its byte stream (the
/// reader is there already), past the rest of a cut line first when
/// `skip_line`. A byte order mark is only looked for at offset 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resume {
    pub offset: u64,
    pub skip_line: bool,
}

/// [`read_chunks`] from a [`Resume`] point.
pub fn read_chunks_from<R: Read>(
    mut r: R,
    source: u32,
    max_line_bytes: usize,
    tx: &Sender<Msg>,
    from: Resume,
) -> std::io::Result<()> {
    let cap = CHUNK_BYTES.max(max_line_bytes.saturating_add(1).min(64 << 20));
    let pool = Pool::new(cap);
    let mut buf = pool.take();
    // bytes of the stream read so far, the byte order mark included
    let mut consumed = from.offset;
    let send = |data: ChunkData,
                last_cut: bool,
                last_unterminated: bool,
                end: u64,
                tail: Option<Vec<u8>>| {
        let chunk = Chunk {
            source,
            data,
            last_cut,
            last_unterminated,
            end,
            times: None,
            mark: None,
            tail,
        };
        tx.send(Msg::Chunk(chunk)).is_ok()
    };
    // while skipping the rest of a cut line
    let mut skipping = from.skip_line;
    let mut bom = if from.offset == 0 {
        BomCheck::new()
    } else {
        BomCheck::done()
    };
    // How much of the buffer to offer a read. Pool buffers are initialised
    // to `cap` (new ones zeroed by the allocator), and what is initialised
    // is offered at no cost; only a buffer grown past that for a long line
    // has to be zeroed, and there the offer grows while reads fill it.
    let mut offer = 64 * 1024;
    loop {
        let start = buf.len;
        if buf.mem.capacity() - start < 64 * 1024 {
            let want = start + cap.max(start);
            buf.mem.reserve(want.saturating_sub(buf.mem.len()));
        }
        let spare = (buf.mem.capacity() - start)
            .min(cap)
            .min(offer.max(buf.mem.len() - start));
        if buf.mem.len() < start + spare {
            buf.mem.resize(start + spare, 0);
        }
        let n = loop {
            match r.read(&mut buf.mem[start..start + spare]) {
                Ok(n) => break n.min(spare),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        buf.len = start + n;
        consumed += n as u64;
        // nothing was sent while the mark is undecided: the buffer holds
        // the input from its start
        let drop = bom.strip(&buf.mem[..buf.len], n == 0);
        if drop > 0 {
            buf.mem.copy_within(drop..buf.len, 0);
            buf.len -= drop;
        }
        if n == spare {
            offer = (offer * 2).min(cap);
        }
        if n == 0 {
            if buf.len > 0 && !skipping {
                if buf.len < buf.mem.len() {
                    buf.mem[buf.len] = b'\n';
                } else {
                    buf.mem.push(b'\n');
                }
                buf.len += 1;
                let _ = send(pool.wrap(buf), false, true, consumed, None);
            }
            return Ok(());
        }
        if skipping {
            match memchr::memchr(b'\n', &buf.mem[start..buf.len]) {
                Some(i) => {
                    let next = start + i + 1;
                    buf.mem.copy_within(next..buf.len, 0);
                    buf.len -= next;
                    skipping = false;
                }
                None => {
                    buf.len = start;
                    continue;
                }
            }
        }
        match memchr::memrchr(b'\n', &buf.mem[..buf.len]) {
            Some(last) => {
                let rest = last + 1..buf.len;
                let mut next = pool.take();
                if next.mem.len() < rest.len() {
                    next.mem.resize(rest.len(), 0);
                }
                next.mem[..rest.len()].copy_from_slice(&buf.mem[rest.clone()]);
                next.len = rest.len();
                buf.len = last + 1;
                let full = std::mem::replace(&mut buf, next);
                let end = consumed - buf.len as u64;
                let tail = (buf.len > 0).then(|| buf.mem[..buf.len].to_vec());
                if !send(pool.wrap(full), false, false, end, tail) {
                    return Ok(());
                }
            }
            None if buf.len > max_line_bytes => {
                // a partial line already over the limit: keep its head, skip
                // the rest up to the next newline
                let keep = cut_point(&buf.mem[..buf.len], max_line_bytes);
                // keep < len <= mem.len(): room for the newline
                buf.mem[keep] = b'\n';
                buf.len = keep + 1;
                skipping = true;
                let full = std::mem::replace(&mut buf, pool.take());
                if !send(pool.wrap(full), true, false, consumed, None) {
                    return Ok(());
                }
            }
            // the unfinished line grew
            None if !skipping && bom.decided() => {
                let heard = tx.send(Msg::Tail(source, buf.mem[..buf.len].to_vec()));
                if heard.is_err() {
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
                Msg::Chunk(c) => Some((c.data.into_vec(), c.last_cut)),
                _ => None,
            })
            .collect()
    }

    /// Every chunk's `end` is where its data ends in the input (less the
    /// byte order mark and plus a cut line's rest, which resuming skips),
    /// and reading on from any chunk's end gives the rest of the input.
    #[test]
    fn reader_chunk_ends_resume_where_they_stop() {
        let mut input = b"\xEF\xBB\xBFfirst\n".to_vec();
        for i in 0..40_000 {
            input.extend_from_slice(format!("line {i}\n").as_bytes());
            if i == 20_000 {
                input.extend(std::iter::repeat_n(b'y', 3000));
                input.push(b'\n');
            }
        }
        input.extend_from_slice(b"tail");
        let read = |from: Resume| {
            let (tx, rx) = crossbeam_channel::unbounded();
            let start = usize::try_from(from.offset).unwrap_or(0);
            read_chunks_from(&input[start..], 0, 2048, &tx, from).unwrap();
            drop(tx);
            rx.iter()
                .filter_map(|m| match m {
                    Msg::Chunk(c) => Some((c.end, c.last_cut, c.data.into_vec())),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        let whole = read(Resume::default());
        assert_eq!(whole.last().map(|c| c.0), Some(input.len() as u64));
        let all: Vec<u8> = whole.iter().flat_map(|c| c.2.clone()).collect();
        for (i, (end, cut, _)) in whole.iter().enumerate() {
            // what a resumed run reads is what the rest of this run read
            let rest: Vec<u8> = read(Resume {
                offset: *end,
                skip_line: *cut,
            })
            .into_iter()
            .flat_map(|c| c.2)
            .collect();
            let after: Vec<u8> = whole[i + 1..].iter().flat_map(|c| c.2.clone()).collect();
            assert_eq!(rest, after, "resumed after chunk {i} (end {end})");
        }
        assert!(all.starts_with(b"first\n"));
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

    /// Hands out its input in pieces of varying size, as pipes and sockets
    /// do.
    struct Pieces {
        input: Vec<u8>,
        at: usize,
        seed: u64,
        most: usize,
    }

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.seed = self.seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let want = 1 + (self.seed >> 33) as usize % self.most;
            let n = want.min(buf.len()).min(self.input.len() - self.at);
            buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    /// Lines of varying length (some far over `max`, some not UTF-8 at the
    /// cut), the last one without its newline.
    fn varied_lines(seed: u64, lines: usize, max: usize) -> Vec<u8> {
        let mut s = seed;
        let mut out = Vec::new();
        for i in 0..lines {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = match (s >> 60) % 4 {
                0 => (s >> 20) as usize % (4 * max),
                1 => max + 1,
                _ => (s >> 20) as usize % max,
            };
            out.extend((0..len).map(|j| {
                if (i + j) % 7 == 3 {
                    0xC3
                } else {
                    b'a' + (j % 26) as u8
                }
            }));
            out.push(b'\n');
        }
        out.pop();
        out
    }

    /// Each line cut at `max` as the engine cuts it, so that the reader's
    /// early cuts and the engine's agree.
    fn cut_lines(data: &[u8], max: usize) -> Vec<Vec<u8>> {
        data.split(|&b| b == b'\n')
            .map(|l| l[..cut_point(l, max)].to_vec())
            .collect()
    }

    /// Reads `input` on a thread while this one drops each chunk as it
    /// comes, so that buffers go round the pool as they do in a run.
    fn read_recycling(r: Pieces, max: usize) -> (Vec<u8>, usize) {
        let (tx, rx) = crossbeam_channel::bounded(CHANNEL_CHUNKS);
        let reader = std::thread::spawn(move || read_chunks(r, 0, max, &tx));
        let mut all = Vec::new();
        let mut n = 0;
        for m in rx.iter() {
            if let Msg::Chunk(c) = m {
                assert_eq!(c.data.last(), Some(&b'\n'));
                all.extend_from_slice(&c.data);
                n += 1;
            }
        }
        assert!(matches!(reader.join(), Ok(Ok(()))));
        (all, n)
    }

    #[test]
    fn reader_keeps_lines_whole_across_any_reads_and_recycled_buffers() {
        for (seed, max, most) in [(1, 10, 7), (2, 10, 100), (3, 300, 5000), (4, 1000, 1 << 21)] {
            let input = varied_lines(seed, 3000, max);
            let r = Pieces {
                input: input.clone(),
                at: 0,
                seed,
                most,
            };
            let (all, n) = read_recycling(r, max);
            assert!(n > 1);
            let mut want = cut_lines(&input, max);
            want.push(Vec::new());
            assert_eq!(cut_lines(&all, max), want, "seed {seed}");
        }
    }

    #[test]
    fn reader_chunks_of_a_large_input_reuse_their_buffers() {
        let line = b"the quick brown fox\n";
        let input: Vec<u8> = line
            .iter()
            .copied()
            .cycle()
            .take(line.len() * 1_000_000)
            .collect();
        let r = Pieces {
            input: input.clone(),
            at: 0,
            seed: 9,
            most: 3 * CHUNK_BYTES,
        };
        let (all, n) = read_recycling(r, 1 << 20);
        assert!(n > POOL_BUFFERS);
        assert_eq!(all, input);
    }

    #[test]
    fn dropped_chunk_data_returns_initialised_to_its_pool() {
        let pool = Pool::new(64);
        let mut fill = pool.take();
        assert_eq!((fill.mem.len(), fill.len), (64, 0));
        fill.mem[..3].copy_from_slice(b"ab\n");
        fill.mem.resize(100, 7);
        fill.len = 3;
        let data = pool.wrap(fill);
        assert_eq!(&data[..], b"ab\n");
        drop(data);
        let again = pool.take();
        assert_eq!((again.mem.len(), again.len), (100, 0));
        // a chunk kept as a vector goes to no pool
        let mut fill = pool.take();
        fill.len = 3;
        assert_eq!(pool.wrap(fill).into_vec(), vec![0; 3]);
        assert!(pool.spare.is_empty());
    }
}
