//! The progress bar on standard error: bytes read of the inputs' total size
//! (when every input is a file read once; a compressed file counts its
//! compressed bytes, against its size on disk), input lines per second and batches
//! written. Shown by default when standard error is a terminal (and `TERM`
//! is not `dumb`) and an input is a file; `--progress` forces it anywhere,
//! `--no-progress` refuses it. indicatif draws it at most 10 times a
//! second; spate clears it at exit before the summary line. When standard
//! output is the same terminal, the output goes through [`BarWriter`],
//! which clears the bar before each write of whole lines and draws it
//! again below them.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::style::ProgressTracker;
use indicatif::{
    HumanBytes, HumanCount, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle, TermLike,
};

use crate::source::{BYTES_READ, Input};

/// How often the bar is redrawn.
const REFRESH: Duration = Duration::from_millis(100);

pub struct Progress {
    bar: ProgressBar,
    counters: Arc<Counters>,
}

/// Lines processed and batches written, shared with the bar's text.
#[derive(Debug, Default)]
struct Counters {
    lines: AtomicU64,
    batches: AtomicU64,
}

/// Whether to show a bar: `--progress`/`--no-progress`, else when standard
/// error is a terminal that can move its cursor and an input is a file.
pub fn wanted(choice: Option<bool>, inputs: &[Input], stderr_tty: bool) -> bool {
    choice.unwrap_or_else(|| {
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        stderr_tty && !dumb && inputs.iter().any(Input::is_file)
    })
}

/// The inputs' total size, when every one is a regular file read once.
pub fn total_size(inputs: &[Input]) -> Option<u64> {
    inputs.iter().map(Input::size).sum()
}

impl Progress {
    /// Starts the bar on standard error, a bar towards `total` bytes or a
    /// counter without it (drawn whether or not standard error is a
    /// terminal: [`wanted`] decides).
    pub fn start(total: Option<u64>) -> Progress {
        let target = ProgressDrawTarget::term_like_with_hz(Box::new(Stderr::default()), 10);
        Progress::on(total, target)
    }

    fn on(total: Option<u64>, target: ProgressDrawTarget) -> Progress {
        let bar = ProgressBar::with_draw_target(total, target);
        let (template, fixed) = if total.is_some() {
            ("{spinner} [{bar:20}] {numbers}", 25)
        } else {
            ("{spinner} {numbers}", 2)
        };
        let counters = Arc::new(Counters::default());
        let now = Instant::now();
        let numbers = Numbers {
            counters: Arc::clone(&counters),
            fixed,
            started: now,
            sample: (now, 0),
            rate: 0.0,
        };
        let style = ProgressStyle::with_template(template)
            .expect("invariant: the progress template is valid")
            .progress_chars("=> ")
            .with_key("numbers", numbers);
        bar.set_style(style);
        let mut p = Progress { bar, counters };
        // a first frame now (later ones come from the ticker), so that a
        // short run shows its bar too
        p.refresh();
        p.bar.enable_steady_tick(REFRESH);
        p
    }

    /// A chunk of `n` input lines was processed. The bytes read are set
    /// first: they are never behind the lines a frame shows.
    pub fn lines(&mut self, n: u64) {
        self.refresh();
        self.counters.lines.fetch_add(n, Ordering::Relaxed);
    }

    /// A batch or window was written.
    pub fn batch(&mut self) {
        self.refresh();
        self.counters.batches.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `f` (which writes to the terminal) with the bar hidden.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// The bar, for drawing other things around it from another thread.
    pub fn bar(&self) -> &ProgressBar {
        &self.bar
    }

    /// The bytes read so far, every time (an atomic store: the ticker
    /// draws), so that the last frames of a run that read its input in a
    /// moment show all of it.
    fn refresh(&mut self) {
        self.bar.set_position(BYTES_READ.load(Ordering::Relaxed));
    }

    /// `out` (standard output, the same terminal as the bar's) with the bar
    /// cleared before the output is written and drawn again below it.
    pub fn writer<W: Write>(&self, out: W) -> BarWriter<W> {
        BarWriter {
            bar: self.bar.clone(),
            out,
            buf: Vec::new(),
        }
    }
}

/// Whether standard output and standard error are one terminal (as at a
/// prompt): then the bar must make way for the output.
pub fn shares_terminal() -> bool {
    use std::io::IsTerminal;
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let device = |fd: std::os::fd::BorrowedFd<'_>| -> Option<u64> {
        let f = std::fs::File::from(fd.try_clone_to_owned().ok()?);
        f.metadata().ok().map(|m| m.rdev())
    };
    let (out, err) = (std::io::stdout(), std::io::stderr());
    out.is_terminal()
        && err.is_terminal()
        && device(out.as_fd()).is_some_and(|d| Some(d) == device(err.as_fd()))
}

/// Standard output on the bar's terminal: what is written is kept until a
/// flush (the engine flushes after each batch) or until it holds 64 KiB,
/// then its whole lines are written with the bar cleared, and the bar
/// drawn again below them. A line is never cut by the bar, and a batch
/// costs one redraw, not one per row.
pub struct BarWriter<W: Write> {
    bar: ProgressBar,
    out: W,
    buf: Vec<u8>,
}

impl<W: Write> BarWriter<W> {
    const HOLD: usize = 1 << 16;

    /// Writes the first `n` bytes held, with the bar out of the way.
    fn put(&mut self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        let (bar, out, buf) = (&self.bar, &mut self.out, &mut self.buf);
        bar.suspend(|| out.write_all(&buf[..n]).and_then(|()| out.flush()))?;
        self.buf.drain(..n);
        Ok(())
    }
}

impl<W: Write> Write for BarWriter<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= Self::HOLD {
            let whole = memchr::memrchr(b'\n', &self.buf).map_or(0, |i| i + 1);
            self.put(whole)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.put(self.buf.len())
    }
}

impl<W: Write> Drop for BarWriter<W> {
    fn drop(&mut self) {
        // what is left is written as BufWriter would; an error has no one
        // to go to
        let _ = self.flush();
    }
}

/// The bar's text: bytes read (of the total), lines, lines per second over
/// the last second, batches; cut to the terminal's width. Recomputed on
/// every tick, so the rate falls to 0 when the input goes quiet.
#[derive(Debug, Clone)]
struct Numbers {
    counters: Arc<Counters>,
    /// Columns the rest of the template takes.
    fixed: usize,
    started: Instant,
    /// The last rate sample: when, and the lines by then.
    sample: (Instant, u64),
    rate: f64,
}

impl ProgressTracker for Numbers {
    fn clone_box(&self) -> Box<dyn ProgressTracker> {
        Box::new(self.clone())
    }

    fn tick(&mut self, _: &ProgressState, now: Instant) {
        let lines = self.counters.lines.load(Ordering::Relaxed);
        let (t, n) = self.sample;
        let dt = now.saturating_duration_since(t).as_secs_f64();
        if dt >= 1.0 {
            self.rate = lines.saturating_sub(n) as f64 / dt;
            self.sample = (now, lines);
        } else if t == self.started && dt > 0.0 {
            // the first second: the rate since the start
            self.rate = lines as f64 / dt;
        }
    }

    fn reset(&mut self, _: &ProgressState, now: Instant) {
        self.sample = (now, self.counters.lines.load(Ordering::Relaxed));
    }

    fn write(&self, state: &ProgressState, w: &mut dyn fmt::Write) {
        let read = state.pos();
        let bytes = match state.len() {
            Some(t) => {
                let pct = (read.min(t) * 100).checked_div(t).unwrap_or(100);
                format!("{pct:>3}%  {} of {}", HumanBytes(read), HumanBytes(t))
            }
            None => format!("{} read", HumanBytes(read)),
        };
        let batches = self.counters.batches.load(Ordering::Relaxed);
        let text = format!(
            "{bytes}  {} lines  {} lines/s  {batches} {}",
            HumanCount(self.counters.lines.load(Ordering::Relaxed)),
            HumanCount(self.rate.round() as u64),
            if batches == 1 { "batch" } else { "batches" }
        );
        let width = terminal_size::terminal_size_of(std::io::stderr()).map_or(80, |(w, _)| w.0);
        let room = usize::from(width).saturating_sub(self.fixed + 1);
        // the text is ASCII
        let _ = w.write_str(text.get(..room).unwrap_or(&text));
    }
}

/// Standard error as indicatif's terminal, with plain ANSI cursor moves:
/// it draws even where `TERM` is unset (indicatif's own terminal would
/// hide), and `--progress` draws into a file or pipe too.
#[derive(Debug, Default)]
struct Stderr {
    buf: Mutex<Vec<u8>>,
}

impl Stderr {
    fn put(&self, s: &str) -> std::io::Result<()> {
        let mut buf = self
            .buf
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?;
        buf.extend_from_slice(s.as_bytes());
        Ok(())
    }

    fn moved(&self, n: usize, dir: char) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.put(&format!("\x1b[{n}{dir}"))
    }
}

impl TermLike for Stderr {
    fn width(&self) -> u16 {
        terminal_size::terminal_size_of(std::io::stderr()).map_or(80, |(w, _)| w.0)
    }

    fn height(&self) -> u16 {
        terminal_size::terminal_size_of(std::io::stderr()).map_or(24, |(_, h)| h.0)
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.moved(n, 'A')
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.moved(n, 'B')
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.moved(n, 'C')
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.moved(n, 'D')
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.put(s)?;
        self.put("\n")
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.put(s)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.put("\r\x1b[2K")
    }

    fn flush(&self) -> std::io::Result<()> {
        let mut buf = self
            .buf
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?;
        let mut err = std::io::stderr().lock();
        let res = err.write_all(&buf).and_then(|()| err.flush());
        buf.clear();
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{SourceOptions, open};

    fn opts(follow: bool) -> SourceOptions {
        SourceOptions {
            max_line_bytes: 1 << 20,
            follow,
            from_end: false,
            reconnect: false,
            max_connections: 1,
            kafka_times: false,
            resume: None,
            state: false,
            kafka_resume: None,
        }
    }

    #[test]
    fn progress_bytes_are_never_behind_the_lines() {
        let mut p = Progress::on(Some(1 << 30), ProgressDrawTarget::hidden());
        // chunks in quick succession, as a file read in a moment gives
        for _ in 0..3 {
            let read = BYTES_READ.fetch_add(4096, Ordering::Relaxed) + 4096;
            p.lines(10);
            assert!(
                p.bar().position() >= read,
                "{} < {read}",
                p.bar().position()
            );
        }
        p.finish();
    }

    #[test]
    fn progress_bar_writer_writes_whole_lines_when_flushed() -> std::io::Result<()> {
        let p = Progress::on(None, ProgressDrawTarget::hidden());
        let mut out = Vec::new();
        {
            let mut w = p.writer(&mut out);
            w.write_all(b"a\tb\n")?;
            w.write_all(b"c")?;
            // held until the batch is flushed
            w.flush()?;
            w.write_all(b"\n")?;
            let big = vec![b'x'; BarWriter::<Vec<u8>>::HOLD];
            w.write_all(&big)?;
            w.write_all(b"\nrest")?;
        }
        assert!(out.starts_with(b"a\tb\nc\n"));
        assert!(out.ends_with(b"x\nrest"));
        p.finish();
        Ok(())
    }

    #[test]
    fn progress_wanted_follows_the_flags_and_the_terminal() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("f");
        std::fs::write(&path, "abc\n")?;
        let files = open(&[path.to_string_lossy().into_owned()], &opts(false))?;
        let stdin = open(&["-".to_string()], &opts(false))?;
        assert!(wanted(Some(true), &stdin, false));
        assert!(!wanted(Some(false), &files, true));
        assert!(!wanted(None, &files, false));
        assert!(!wanted(None, &stdin, true));
        Ok(())
    }

    #[test]
    fn progress_total_for_files_read_once_compressed_at_their_size() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("a"), "abc\n")?;
        // gzip's magic and more: counted at its size on disk
        std::fs::write(
            dir.path().join("b.gz"),
            [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3],
        )?;
        let all = dir.path().to_string_lossy().into_owned();
        assert_eq!(total_size(&open(&[all], &opts(false))?), Some(14));
        let a = dir.path().join("a").to_string_lossy().into_owned();
        let with_stdin = open(&[a.clone(), "-".into()], &opts(false))?;
        assert_eq!(total_size(&with_stdin), None);
        // followed files grow: no total
        assert_eq!(total_size(&open(&[a], &opts(true))?), None);
        Ok(())
    }
}
