//! `-F/--follow`: a file read as it grows, like `tail -F`, by polling. It
//! survives rename-and-recreate rotation (the old file is read to its end,
//! then the new one from its start) and truncation (read again from offset
//! 0), and waits while the path does not exist. A line is sent only once
//! its `\n` has arrived: the writer may still be writing it. The source
//! never ends on its own; the run ends by `--duration`, `--max-batches` or
//! a signal.

use std::fs::{File, Metadata};
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

use crossbeam_channel::Sender;

use super::bom::BomCheck;
use super::reader::{CHUNK_BYTES, Chunk, cut_point};
use super::watch::Claims;
use super::{Msg, SourceOptions};

/// How long to wait before looking again at an idle file.
const POLL: Duration = Duration::from_millis(50);

/// How much of a file to read at once when searching backwards.
const BACK_BLOCK: usize = 64 * 1024;

pub fn run(
    name: &str,
    file: File,
    id: u32,
    opts: &SourceOptions,
    tx: &Sender<Msg>,
) -> anyhow::Result<()> {
    run_claimed(name, file, id, opts, tx, None)
}

/// [`run`] for a file of a followed pattern: a file its path is rotated
/// to is read only if `claims` says no other follower of the pattern has
/// it (else this follower stops: that file is read under its other name).
pub fn run_claimed(
    name: &str,
    file: File,
    id: u32,
    opts: &SourceOptions,
    tx: &Sender<Msg>,
    claims: Option<&Claims>,
) -> anyhow::Result<()> {
    let mut f = Follower::new(name, file, id, opts.max_line_bytes)?;
    f.claims = claims;
    let from = super::identity::start_of(opts.resume.as_deref(), name);
    if from.offset > 0 || from.skip_line {
        // --state: on from where the last run read this same file to
        f.start_at(from)?;
    } else if opts.from_end {
        f.start_at_end()?;
    }
    f.follow(tx)?;
    Ok(())
}

/// What identifies a file behind its path: a new one after rotation has
/// another.
pub type FileId = (u64, u64);

#[cfg(unix)]
pub fn file_id(m: &Metadata) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    Some((m.dev(), m.ino()))
}

/// Without inode numbers, rotation cannot be told from growth; truncation
/// still can.
#[cfg(not(unix))]
pub fn file_id(_: &Metadata) -> Option<FileId> {
    None
}

/// Whether the engine still listens.
enum Flow {
    Go,
    Gone,
}

fn send(tx: &Sender<Msg>, chunk: Chunk) -> Flow {
    match tx.send(Msg::Chunk(chunk)) {
        Ok(()) => Flow::Go,
        Err(_) => Flow::Gone,
    }
}

/// What changed behind a file that reads nothing more.
enum Change {
    None,
    Truncated,
    /// The path names another file now, opened.
    Replaced {
        file: File,
        id: Option<FileId>,
        regular: bool,
    },
}

struct Follower<'a> {
    name: &'a str,
    path: PathBuf,
    file: File,
    id: Option<FileId>,
    /// A regular file, with a size and offsets (not a FIFO or a device,
    /// which are only read as they come).
    regular: bool,
    /// Bytes read from `file` so far: its size falling below this is a
    /// truncation.
    pos: u64,
    lines: Lines,
    /// The path could not be opened and we said so (said once until it
    /// can be again).
    warned: bool,
    /// A followed pattern's record of the files its followers read.
    claims: Option<&'a Claims>,
}

impl<'a> Follower<'a> {
    fn new(name: &'a str, file: File, source: u32, max: usize) -> std::io::Result<Self> {
        let meta = file.metadata()?;
        Ok(Follower {
            name,
            path: PathBuf::from(name),
            file,
            id: file_id(&meta),
            regular: meta.is_file(),
            pos: 0,
            lines: Lines::new(source, max),
            warned: false,
            claims: None,
        })
    }

    /// Starts at a resumed run's point of this file.
    fn start_at(&mut self, from: super::reader::Resume) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(from.offset))?;
        self.pos = from.offset;
        self.lines.restart(from.offset);
        self.lines.skipping = from.skip_line;
        Ok(())
    }

    /// `--from-end`: skips what the file holds, except a last line still
    /// without its `\n`, which is being written and will be read whole.
    fn start_at_end(&mut self) -> std::io::Result<()> {
        if !self.regular {
            return Ok(());
        }
        let len = self.file.seek(SeekFrom::End(0))?;
        match line_start_before(&mut self.file, len, self.lines.max)? {
            Some(at) => {
                self.file.seek(SeekFrom::Start(at))?;
                self.pos = at;
                self.lines.restart(at);
            }
            None => {
                // the line being written is already too long: its rest is
                // skipped as an existing line
                self.file.seek(SeekFrom::Start(len))?;
                self.pos = len;
                self.lines.skipping = true;
                self.lines.restart(len);
            }
        }
        Ok(())
    }

    fn follow(&mut self, tx: &Sender<Msg>) -> std::io::Result<()> {
        loop {
            if let Flow::Gone = self.read_available(tx)? {
                return Ok(());
            }
            if let Some(c) = self.claims {
                c.read(self.id, self.pos);
            }
            match self.change()? {
                Change::None => std::thread::sleep(POLL),
                Change::Truncated => {
                    eprintln!(
                        "spate: {}: file truncated; reading from its start",
                        self.name
                    );
                    if let Flow::Gone = self.finish_lines(tx) {
                        return Ok(());
                    }
                    self.file.seek(SeekFrom::Start(0))?;
                    self.pos = 0;
                    self.lines.restart(0);
                    if tx.send(Msg::Begin(self.lines.source)).is_err() {
                        return Ok(());
                    }
                }
                Change::Replaced { file, id, regular } => {
                    // what the old file got since it last read nothing
                    if let Flow::Gone = self.read_available(tx)? {
                        return Ok(());
                    }
                    if let Flow::Gone = self.finish_lines(tx) {
                        return Ok(());
                    }
                    let size = file.metadata().map_or(0, |m| m.len());
                    if self.claims.is_some_and(|c| !c.claim(id, size)) {
                        // another follower of the pattern reads it
                        return Ok(());
                    }
                    self.file = file;
                    self.id = id;
                    self.regular = regular;
                    self.pos = 0;
                    self.lines.restart(0);
                    if tx.send(Msg::Begin(self.lines.source)).is_err() {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Reads the current file to its present end, sending whole lines.
    fn read_available(&mut self, tx: &Sender<Msg>) -> std::io::Result<Flow> {
        loop {
            let n = self.lines.read(&mut self.file)?;
            if n == 0 {
                return Ok(Flow::Go);
            }
            self.pos += n as u64;
            super::BYTES_READ.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
            let mut sent = false;
            while let Some(chunk) = self.lines.take() {
                sent = true;
                if let Flow::Gone = send(tx, chunk) {
                    return Ok(Flow::Gone);
                }
            }
            // the unfinished line grew
            if let (false, Some(t)) = (sent, self.lines.partial()) {
                if tx.send(Msg::Tail(self.lines.source, t)).is_err() {
                    return Ok(Flow::Gone);
                }
            }
        }
    }

    /// The current file will not be read further: its last line counts
    /// even without a `\n`, as at the end of a plain file.
    fn finish_lines(&mut self, tx: &Sender<Msg>) -> Flow {
        match self.lines.finish() {
            Some(chunk) => send(tx, chunk),
            None => Flow::Go,
        }
    }

    /// Looks at the open file and at its path, once the file reads
    /// nothing more.
    fn change(&mut self) -> std::io::Result<Change> {
        if self.regular && self.file.metadata()?.len() < self.pos {
            return Ok(Change::Truncated);
        }
        let Some(old) = self.id else {
            return Ok(Change::None);
        };
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            // between rename and recreate: wait for the new file
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Change::None),
            Err(e) => {
                self.warn(&e);
                return Ok(Change::None);
            }
        };
        if meta.is_dir() || file_id(&meta) == Some(old) {
            return Ok(Change::None);
        }
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Change::None),
            Err(e) => {
                self.warn(&e);
                return Ok(Change::None);
            }
        };
        self.warned = false;
        // the file opened decides, in case the path changed again since
        let meta = file.metadata()?;
        let id = file_id(&meta);
        if id == Some(old) {
            return Ok(Change::None);
        }
        Ok(Change::Replaced {
            file,
            id,
            regular: meta.is_file(),
        })
    }

    fn warn(&mut self, e: &std::io::Error) {
        if !self.warned {
            eprintln!("spate: {}: cannot open: {e}; still trying", self.name);
            self.warned = true;
        }
    }
}

/// Where the last line of the first `len` bytes of `file` starts when it
/// has no `\n` yet (`len` when there is none), looking back at most `max`
/// bytes; `None` when that line is already longer than `max`.
fn line_start_before(file: &mut File, len: u64, max: usize) -> std::io::Result<Option<u64>> {
    let limit = len.min(max as u64 + 1);
    let mut block = vec![0u8; BACK_BLOCK];
    let mut end = len;
    while len - end < limit {
        let n = (BACK_BLOCK as u64).min(limit - (len - end)) as usize;
        let at = end - n as u64;
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(&mut block[..n])?;
        if let Some(i) = memchr::memrchr(b'\n', &block[..n]) {
            return Ok(Some(at + i as u64 + 1));
        }
        end = at;
    }
    // no newline in reach: the whole file is one line, or too long a one
    Ok(if len <= max as u64 { Some(0) } else { None })
}

/// Bytes read but not sent yet: a line without its `\n`, kept across
/// reads that find the end of the file, cut at `--max-line-bytes` as the
/// plain reader cuts it.
struct Lines {
    source: u32,
    max: usize,
    cap: usize,
    buf: Vec<u8>,
    /// Skipping the rest of a cut line up to its `\n`.
    skipping: bool,
    /// How much of the buffer to offer a read: zeroing a whole buffer for
    /// every small read would cost more than the read.
    offer: usize,
    /// A byte order mark at the start of the file being read.
    bom: BomCheck,
    /// Bytes of the file read so far (where a chunk ends is this less
    /// what is still buffered).
    consumed: u64,
}

impl Lines {
    fn new(source: u32, max: usize) -> Self {
        let cap = CHUNK_BYTES.max(max.saturating_add(1).min(64 << 20));
        Lines {
            source,
            max,
            cap,
            buf: Vec::with_capacity(cap),
            skipping: false,
            offer: 64 * 1024,
            bom: BomCheck::new(),
            consumed: 0,
        }
    }

    /// Reads once from `r` after what is buffered; 0 at the end of the
    /// file for now.
    fn read<R: Read>(&mut self, r: &mut R) -> std::io::Result<usize> {
        if self.buf.capacity() - self.buf.len() < 64 * 1024 {
            self.buf.reserve(self.cap.max(self.buf.len()));
        }
        let start = self.buf.len();
        let spare = (self.buf.capacity() - start).min(self.offer);
        self.buf.resize(start + spare, 0);
        let n = loop {
            match r.read(&mut self.buf[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(start);
                    return Err(e);
                }
            }
        };
        self.buf.truncate(start + n);
        self.consumed += n as u64;
        // while undecided nothing was taken: the buffer holds the file
        // from its start
        let drop = self.bom.strip(&self.buf, false);
        self.buf.drain(..drop);
        if n == spare {
            self.offer = (self.offer * 2).min(self.cap);
        } else if n == 0 {
            // an idle file: small reads until it is busy again
            self.offer = 64 * 1024;
        }
        if n > 0 && self.skipping {
            match memchr::memchr(b'\n', &self.buf[start..]) {
                Some(i) => {
                    self.buf.drain(..start + i + 1);
                    self.skipping = false;
                }
                None => self.buf.truncate(start),
            }
        }
        Ok(n)
    }

    fn chunk(&self, data: Vec<u8>, last_cut: bool, last_unterminated: bool, end: u64) -> Chunk {
        Chunk {
            source: self.source,
            data: data.into(),
            last_cut,
            last_unterminated,
            end,
            times: None,
            mark: None,
            tail: None,
        }
    }

    /// Reading starts over at offset `at` of a file (a new one, or the same
    /// after truncation, or where a resumed run left it).
    fn restart(&mut self, at: u64) {
        self.consumed = at;
        self.bom = if at == 0 {
            BomCheck::new()
        } else {
            BomCheck::done()
        };
    }

    /// The next chunk ready to send: the whole lines buffered, else the
    /// head of a line already too long (its rest then skipped).
    fn take(&mut self) -> Option<Chunk> {
        if let Some(last) = memchr::memrchr(b'\n', &self.buf) {
            let mut rest = Vec::with_capacity(self.cap);
            rest.extend_from_slice(&self.buf[last + 1..]);
            self.buf.truncate(last + 1);
            let data = std::mem::replace(&mut self.buf, rest);
            let end = self.consumed - self.buf.len() as u64;
            let mut c = self.chunk(data, false, false, end);
            c.tail = self.partial();
            return Some(c);
        }
        if self.buf.len() > self.max {
            let keep = cut_point(&self.buf, self.max);
            self.buf.truncate(keep);
            self.buf.push(b'\n');
            let data = std::mem::replace(&mut self.buf, Vec::with_capacity(self.cap));
            self.skipping = true;
            return Some(self.chunk(data, true, false, self.consumed));
        }
        None
    }

    /// The unfinished line buffered (see [`Chunk::tail`]), if any.
    fn partial(&self) -> Option<Vec<u8>> {
        let open = !self.buf.is_empty() && !self.skipping && self.bom.decided();
        open.then(|| self.buf.clone())
    }

    /// The line without `\n` left at the end of a file that is done with.
    fn finish(&mut self) -> Option<Chunk> {
        self.skipping = false;
        self.bom.strip(&self.buf, true);
        if self.buf.is_empty() {
            return None;
        }
        self.buf.push(b'\n');
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(self.cap));
        Some(self.chunk(data, false, true, self.consumed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Feeds `parts` one read each, returning (data, last_cut) of every
    /// chunk taken after each read.
    fn feed(parts: &[&[u8]], max: usize) -> Vec<(Vec<u8>, bool)> {
        let mut lines = Lines::new(0, max);
        let mut out = Vec::new();
        for p in parts {
            let mut r: &[u8] = p;
            while lines.read(&mut r).unwrap_or(0) > 0 {
                while let Some(c) = lines.take() {
                    out.push((c.data.into_vec(), c.last_cut));
                }
            }
        }
        out
    }

    #[test]
    fn follow_lines_hold_a_partial_line_until_its_newline() {
        let out = feed(&[b"a\nhal", b"f", b"\nb"], 100);
        assert_eq!(out, [(b"a\n".to_vec(), false), (b"half\n".to_vec(), false)]);
    }

    #[test]
    fn follow_lines_cut_a_long_partial_line_once() {
        let out = feed(&[b"ok\nxxxxxx", b"xxxxxxxx", b"xxx\nnext\n"], 4);
        assert_eq!(
            out,
            [
                (b"ok\n".to_vec(), false),
                (b"xxxx\n".to_vec(), true),
                (b"next\n".to_vec(), false)
            ]
        );
    }

    #[test]
    fn follow_lines_finish_sends_the_unterminated_line() {
        let mut lines = Lines::new(0, 100);
        let mut r: &[u8] = b"a\nb";
        while lines.read(&mut r).unwrap_or(0) > 0 {}
        assert_eq!(
            lines.take().map(|c| c.data.into_vec()),
            Some(b"a\n".to_vec())
        );
        let c = lines
            .finish()
            .map(|c| (c.data.into_vec(), c.last_unterminated));
        assert_eq!(c, Some((b"b\n".to_vec(), true)));
        assert!(lines.finish().is_none());
    }

    #[test]
    fn follow_from_end_starts_at_the_line_being_written() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("f");
        let mut f = File::create(&path)?;
        f.write_all(b"one\ntwo\nthr")?;
        let mut f = File::open(&path)?;
        assert_eq!(line_start_before(&mut f, 11, 100)?, Some(8));
        assert_eq!(line_start_before(&mut f, 8, 100)?, Some(8));
        assert_eq!(line_start_before(&mut f, 8, 2)?, Some(8));
        assert_eq!(line_start_before(&mut f, 3, 100)?, Some(0));
        // "thr" is longer than 2 bytes: skipped
        assert_eq!(line_start_before(&mut f, 11, 2)?, None);
        assert_eq!(line_start_before(&mut f, 11, 3)?, Some(8));
        assert_eq!(line_start_before(&mut f, 0, 3)?, Some(0));
        Ok(())
    }
}
