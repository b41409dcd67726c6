//! Plain files read through memory maps, one window per chunk: the
//! engine reads the file's pages where the kernel keeps them, with no copy
//! into a buffer of ours (on one core, a JSON job runs 5% faster and a
//! line count a quarter faster). A window is mapped, its pages
//! entered up front (`MAP_POPULATE`, on the reader's thread), cut after
//! its last newline, sent as a chunk, and unmapped when the engine drops
//! the chunk: the memory held stays that of the chunks in flight, as with
//! the plain reads. (Windows of several chunks, unmapped less often, cost
//! the same CPU but ran a fifth slower on two cores.)
//!
//! Only what the plain reads would give unchanged is taken this way: a
//! regular file that is not compressed and does not start with a byte
//! order mark, from a point where a line starts, up to its last newline
//! at the time it was opened. The rest (a last line without a newline,
//! what was appended since, a line longer than a window, a file a map is
//! refused for) is read the plain way from where the maps stopped.
//!
//! The one hazard of a map: a file truncated while a window of it is
//! mapped has no bytes behind its new end, and reading there raises
//! SIGBUS.
//! A handler, installed with the first window, looks the faulting address
//! up among the live windows and ends the run with exit 1 and a message
//! naming the file (a plain read would have ended that input early and
//! silently); any other SIGBUS gets the action there was before. This
//! module holds the project's only unsafe code: the map itself and the
//! handler.

#![allow(unsafe_code)]

use std::fs::File;
use std::ops::Deref;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crossbeam_channel::Sender;

use super::bom::BOM;
use super::decompress::Codec;
use super::reader::{CHUNK_BYTES, Chunk, ChunkData};
use super::{BYTES_READ, Msg};

/// A file shorter than this (from where reading starts) is read the plain
/// way: a map saves nothing on a few pages.
const MIN_BYTES: u64 = (CHUNK_BYTES / 4) as u64;

/// The mapped bytes of one chunk; unmapped when dropped.
pub struct Window {
    map: memmap2::Mmap,
    /// Its entry among the live windows.
    slot: usize,
    /// The message the handler writes for this window's file; kept alive
    /// while the window is registered.
    _msg: Arc<[u8]>,
}

impl Deref for Window {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        let live = &LIVE[self.slot];
        live.start.store(0, Ordering::Release);
        live.used.store(false, Ordering::Release);
    }
}

/// What [`send`] took of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Nothing: the file is read the plain way from where it was to start.
    Nothing,
    /// Every line up to this offset; the rest, if any, is read the plain
    /// way from there.
    Upto(u64),
    /// The engine stopped listening.
    Stopped,
}

/// Sends `file`'s lines from `offset` (where a line starts) as chunks of
/// mapped windows, as far as they can be taken (see the module's
/// comment). The input starts at `base` in the file (0 for a named file;
/// standard input redirected from a file starts where its offset was):
/// the compression and the byte order mark are looked for there, and the
/// chunks' ends count from there, as the plain reads' do. `name` (none
/// for standard input) is for the message if the file shrinks meanwhile.
pub fn send(
    file: &File,
    name: Option<&str>,
    source: u32,
    base: u64,
    offset: u64,
    tx: &Sender<Msg>,
) -> Taken {
    let Ok(meta) = file.metadata() else {
        return Taken::Nothing;
    };
    let size = meta.len();
    if !meta.is_file() || size < offset.saturating_add(MIN_BYTES) {
        return Taken::Nothing;
    }
    // the plain reads decode a compressed file and strip a byte order mark
    let mut head = [0u8; 8];
    let Ok(n) = file.read_at(&mut head, base) else {
        return Taken::Nothing;
    };
    let head = &head[..n];
    if Codec::sniff(head).is_some() || (offset == base && head.starts_with(BOM)) {
        return Taken::Nothing;
    }
    let msg: Arc<[u8]> = Arc::from(shrank_message(name).into_bytes());
    let mut pos = offset;
    while pos < size {
        let len = (size - pos).min(CHUNK_BYTES as u64) as usize;
        let Some(window) = map(file, pos, len, &msg) else {
            break;
        };
        // the whole lines in the window; none (a line longer than a chunk,
        // a last line without a newline) is left to the plain reads
        let Some(last) = memchr::memrchr(b'\n', &window) else {
            break;
        };
        let len = last + 1;
        let chunk = Chunk {
            source,
            data: ChunkData::mapped(window, len),
            last_cut: false,
            last_unterminated: false,
            end: pos - base + len as u64,
            times: None,
            mark: None,
            tail: None,
        };
        BYTES_READ.fetch_add(len as u64, Ordering::Relaxed);
        if tx.send(Msg::Chunk(chunk)).is_err() {
            return Taken::Stopped;
        }
        pos += len as u64;
    }
    if pos > offset {
        Taken::Upto(pos)
    } else {
        Taken::Nothing
    }
}

fn shrank_message(name: Option<&str>) -> String {
    let Some(name) = name else {
        return "spate: stdin (a file) was truncated while it was read (it is read through a \
                memory map): the run stops here. To read a file that may be truncated \
                meanwhile, pipe it: cat FILE | spate ... rather than spate ... < FILE\n"
            .to_string();
    };
    format!(
        "spate: {name} was truncated while it was read (it is read through a memory map): \
         the run stops here. To read a file that may be truncated meanwhile, pipe it: \
         cat {name} | spate ...\n"
    )
}

/// `len` bytes of `file` from `offset`, mapped, their pages entered, the
/// window registered for the SIGBUS handler before any byte is read.
fn map(file: &File, offset: u64, len: usize, msg: &Arc<[u8]>) -> Option<Window> {
    install_handler();
    // SAFETY: the map is read-only. The one way its bytes can go is a
    // truncation of the file while it is mapped; a read there raises
    // SIGBUS, which the handler installed above turns into exit 1 with a
    // message (the window is registered before its first read, or not
    // used). A file rewritten in place while it is read (not appended to:
    // logs are) may show old and new bytes mixed, as a read of it may.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .offset(offset)
            .len(len)
            .populate()
            .map(file)
    }
    .ok()?;
    // every live window is known to the handler: with none left, the
    // plain reads go on
    let slot = register(map.as_ptr() as usize, map.len(), msg)?;
    Some(Window {
        map,
        slot,
        _msg: Arc::clone(msg),
    })
}

/// How many windows can be live at once: the chunks the channel holds,
/// those the engine works on and the one being cut, with room to spare
/// (past it, the plain reads take over).
const SLOTS: usize = 64;

/// A live window's address range and its message.
struct Live {
    used: AtomicBool,
    /// 0: no window (written last when registering, first when leaving).
    start: AtomicUsize,
    end: AtomicUsize,
    msg: AtomicPtr<u8>,
    msg_len: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const NO_WINDOW: Live = Live {
    used: AtomicBool::new(false),
    start: AtomicUsize::new(0),
    end: AtomicUsize::new(0),
    msg: AtomicPtr::new(std::ptr::null_mut()),
    msg_len: AtomicUsize::new(0),
};

static LIVE: [Live; SLOTS] = [NO_WINDOW; SLOTS];

fn register(start: usize, len: usize, msg: &Arc<[u8]>) -> Option<usize> {
    let i = LIVE.iter().position(|l| {
        l.used
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    })?;
    let l = &LIVE[i];
    l.msg.store(msg.as_ptr().cast_mut(), Ordering::Release);
    l.msg_len.store(msg.len(), Ordering::Release);
    l.end.store(start + len, Ordering::Release);
    l.start.store(start, Ordering::Release);
    Some(i)
}

/// The action SIGBUS had before ours, for a SIGBUS that is not a window's.
static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

fn install_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a plain sigaction call with a zeroed, then filled, struct;
        // the handler only reads atomics, writes to stderr and exits.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut action.sa_mask);
            let mut previous: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGBUS, &action, &mut previous) == 0 {
                let _ = PREVIOUS.set(previous);
            }
        }
    });
}

extern "C" fn on_sigbus(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel hands a valid siginfo to an SA_SIGINFO handler;
    // only async-signal-safe calls follow (write, _exit, sigaction).
    unsafe {
        let addr = (*info).si_addr() as usize;
        for l in &LIVE {
            let start = l.start.load(Ordering::Acquire);
            if start != 0 && start <= addr && addr < l.end.load(Ordering::Acquire) {
                let msg = l.msg.load(Ordering::Acquire);
                let len = l.msg_len.load(Ordering::Acquire);
                libc::write(2, msg.cast(), len);
                libc::_exit(1);
            }
        }
        // not a window's: the previous action, which the faulting access
        // meets when it runs again
        match PREVIOUS.get() {
            Some(previous) => libc::sigaction(libc::SIGBUS, previous, std::ptr::null_mut()),
            None => {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut())
            }
        };
    }
}
