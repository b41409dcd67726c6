//! The progress bar on standard error: bytes read of the inputs' total size
//! (when every input is a plain file), input lines per second and batches
//! written. Shown by default when standard error is a terminal (and `TERM`
//! is not `dumb`) and an input is a file; `--progress` forces it anywhere,
//! `--no-progress` refuses it. indicatif draws it at most 10 times a
//! second; spate clears it at exit before the summary line.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

use crate::source::{BYTES_READ, Input};

/// How often the numbers in the message are recomputed.
const REFRESH: Duration = Duration::from_millis(100);

pub struct Progress {
    bar: ProgressBar,
    /// `BYTES_READ` when the bar started.
    base: u64,
    lines: u64,
    batches: u64,
    started: Instant,
    /// The last rate sample: when, and the lines by then.
    sample: (Instant, u64),
    rate: f64,
    shown: Option<Instant>,
}

/// Whether to show a bar: `--progress`/`--no-progress`, else when standard
/// error is a terminal that can move its cursor and an input is a file.
pub fn wanted(choice: Option<bool>, inputs: &[Input], stderr_tty: bool) -> bool {
    choice.unwrap_or_else(|| {
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        stderr_tty
            && !dumb
            && inputs
                .iter()
                .any(|i| matches!(i, Input::File { .. } | Input::Follow { .. }))
    })
}

/// The inputs' total size, when every one is a regular file read once.
pub fn total_size(inputs: &[Input]) -> Option<u64> {
    inputs
        .iter()
        .map(|i| match i {
            Input::File { file, .. } => file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len()),
            _ => None,
        })
        .sum()
}

impl Progress {
    /// Starts the bar on standard error, a bar towards `total` bytes or a
    /// counter without it (drawn whether or not standard error is a
    /// terminal: [`wanted`] decides).
    pub fn start(total: Option<u64>) -> Progress {
        let target = ProgressDrawTarget::term_like_with_hz(Box::new(Stderr::default()), 10);
        let bar = ProgressBar::with_draw_target(total, target);
        let template = if total.is_some() {
            "{spinner} [{wide_bar}] {percent:>3}% {bytes}/{total_bytes}  {msg}"
        } else {
            "{spinner} {bytes} read  {msg}"
        };
        let style = ProgressStyle::with_template(template)
            .expect("invariant: the progress template is valid")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.enable_steady_tick(REFRESH);
        let now = Instant::now();
        let mut p = Progress {
            bar,
            base: BYTES_READ.load(Ordering::Relaxed),
            lines: 0,
            batches: 0,
            started: now,
            sample: (now, 0),
            rate: 0.0,
            shown: None,
        };
        p.refresh();
        p
    }

    /// A chunk of `n` input lines was processed.
    pub fn lines(&mut self, n: u64) {
        self.lines += n;
        self.refresh();
    }

    /// A batch or window was written.
    pub fn batch(&mut self) {
        self.batches += 1;
        self.refresh();
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

    fn refresh(&mut self) {
        let now = Instant::now();
        if self.shown.is_some_and(|t| now - t < REFRESH) {
            return;
        }
        self.shown = Some(now);
        let read = BYTES_READ.load(Ordering::Relaxed).saturating_sub(self.base);
        self.bar.set_position(read);
        // lines per second over the last second or so (since the start
        // until a second has passed)
        let (t, n) = self.sample;
        let dt = (now - t).as_secs_f64();
        if dt >= 1.0 {
            self.rate = (self.lines - n) as f64 / dt;
            self.sample = (now, self.lines);
        } else if t == self.started && dt > 0.0 {
            self.rate = self.lines as f64 / dt;
        }
        self.bar.set_message(format!(
            "{} lines  {} lines/s  {} {}",
            HumanCount(self.lines),
            HumanCount(self.rate.round() as u64),
            self.batches,
            if self.batches == 1 { "batch" } else { "batches" }
        ));
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
        let mut buf = self.buf.lock().map_err(|_| std::io::Error::other("poisoned"))?;
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
        let mut buf = self.buf.lock().map_err(|_| std::io::Error::other("poisoned"))?;
        let mut err = std::io::stderr().lock();
        let res = err.write_all(&buf).and_then(|()| err.flush());
        buf.clear();
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_wanted_follows_the_flags_and_the_terminal() {
        let files = || {
            let f = tempfile::tempfile().expect("temp file");
            vec![Input::File {
                name: "f".into(),
                file: f,
            }]
        };
        assert!(wanted(Some(true), &[Input::Stdin], false));
        assert!(!wanted(Some(false), &files(), true));
        assert!(!wanted(None, &files(), false));
        assert!(!wanted(None, &[Input::Stdin], true));
    }

    #[test]
    fn progress_total_only_for_plain_files() -> std::io::Result<()> {
        let mut f = tempfile::tempfile()?;
        f.write_all(b"abc\n")?;
        let inputs = vec![Input::File {
            name: "f".into(),
            file: f,
        }];
        assert_eq!(total_size(&inputs), Some(4));
        assert_eq!(total_size(&[Input::Stdin]), None);
        Ok(())
    }
}
