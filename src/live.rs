//! `--live`: the table of the latest batch or window, redrawn in place like
//! top, cut to the terminal's height and width; and [`Screen`], which keeps
//! the live view, the progress bar and `--stats` lines from garbling each
//! other on one terminal.
//!
//! Where it draws: on standard output when that is a terminal (the view
//! replaces the normal output); else on standard error when that is one,
//! while every batch still goes down standard output in its format
//! (watching and piping at once); else nowhere (`--live` does nothing).
//! With standard error on the terminal, the `--stats` lines of the latest
//! batch show under the table instead of scrolling it away.
//!
//! The engine renders a frame after each written batch (the pretty table of
//! the rows that fit); a drawer thread writes the newest frame at most 20
//! times a second, so a burst of batches costs no terminal time and the last
//! frame is always drawn. Each frame homes the cursor and overwrites the
//! screen line by line, so nothing flickers; the last one stays at exit.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::ProgressBar;

use crate::engine::Watch;
use crate::progress::Progress;
use crate::sink::pretty::{Pretty, char_width};
use crate::sink::{BatchOut, Formatter, Options};

/// The shortest time between two frames.
const FRAME: Duration = Duration::from_millis(50);
/// At most this many `--stats` lines under the table.
const MAX_NOTES: usize = 4;

const HOME: &str = "\x1b[H";
const CLEAR_LINE_REST: &str = "\x1b[K";
const CLEAR_SCREEN_REST: &str = "\x1b[J";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// The terminal the live view draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Stdout,
    Stderr,
}

impl Place {
    /// Standard output when it is a terminal, else standard error when it
    /// is one, else none.
    pub fn choose(stdout_tty: bool, stderr_tty: bool) -> Option<Place> {
        if stdout_tty {
            Some(Place::Stdout)
        } else if stderr_tty {
            Some(Place::Stderr)
        } else {
            None
        }
    }

    /// Columns and rows (80×24 when the size cannot be read).
    fn size(self) -> (usize, usize) {
        let size = match self {
            Place::Stdout => terminal_size::terminal_size_of(io::stdout()),
            Place::Stderr => terminal_size::terminal_size_of(io::stderr()),
        };
        size.map_or((80, 24), |(w, h)| (usize::from(w.0), usize::from(h.0)))
    }

    /// Its own handle on the terminal: the drawer must not wait for the
    /// lock the output writer holds on standard output.
    fn open(self) -> io::Result<File> {
        let fd = match self {
            Place::Stdout => io::stdout().as_fd().try_clone_to_owned()?,
            Place::Stderr => io::stderr().as_fd().try_clone_to_owned()?,
        };
        Ok(File::from(fd))
    }
}

/// The newest frame not drawn yet, and whether the run has ended.
#[derive(Default)]
struct Mailbox {
    state: Mutex<(Option<String>, bool)>,
    bell: Condvar,
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, (Option<String>, bool)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct Live {
    place: Place,
    opts: Options,
    /// `--stats` lines go under the table (standard error is this
    /// terminal or shares the screen with it).
    notes_here: bool,
    /// Lines kept free below the frame (the progress bar).
    reserve: usize,
    /// The current table, one terminal line each ending in `\n`.
    table: String,
    notes: Vec<String>,
    /// The notes belong to the batch before the one shown.
    notes_stale: bool,
    mailbox: Arc<Mailbox>,
    drawer: Option<JoinHandle<()>>,
}

impl Live {
    /// Starts the drawer on `place`. `stderr_tty`: whether `--stats` lines
    /// belong under the table. `bar`: the progress bar, hidden while a
    /// frame is drawn and kept on the line below it.
    pub fn new(
        place: Place,
        opts: Options,
        stderr_tty: bool,
        bar: Option<ProgressBar>,
    ) -> io::Result<Live> {
        let mut term = place.open()?;
        let mailbox = Arc::new(Mailbox::default());
        let mb = Arc::clone(&mailbox);
        let reserve = usize::from(bar.is_some());
        let drawer = std::thread::Builder::new()
            .name("spate-live".into())
            .spawn(move || draw_frames(&mb, &mut term, bar.as_ref()))?;
        Ok(Live {
            place,
            opts,
            notes_here: stderr_tty,
            reserve,
            table: String::new(),
            notes: Vec::new(),
            notes_stale: false,
            mailbox,
            drawer: Some(drawer),
        })
    }

    pub fn place(&self) -> Place {
        self.place
    }

    /// A batch or window was written: it becomes the frame.
    pub fn show(&mut self, b: &BatchOut<'_>) {
        let (cols, rows) = self.place.size();
        let height = rows.saturating_sub(1 + self.reserve + self.notes.len());
        self.table = render(b, self.opts, cols, height);
        self.notes_stale = true;
        self.post(cols);
    }

    /// Whether `--stats` lines go under the table.
    pub fn takes_notes(&self) -> bool {
        self.notes_here
    }

    /// A `--stats` line (or warning) for under the table.
    pub fn note(&mut self, line: &str) {
        if self.notes_stale {
            self.notes.clear();
            self.notes_stale = false;
        }
        if self.notes.len() == MAX_NOTES {
            self.notes.remove(0);
        }
        self.notes.push(line.to_string());
        let (cols, _) = self.place.size();
        self.post(cols);
    }

    fn post(&self, cols: usize) {
        let mut frame = String::with_capacity(self.table.len() + 64);
        frame.push_str(HOME);
        frame.push_str(&self.table);
        for n in &self.notes {
            push_line(&mut frame, n, cols, false);
        }
        frame.push_str(CLEAR_SCREEN_REST);
        self.mailbox.lock().0 = Some(frame);
        self.mailbox.bell.notify_one();
    }

    /// Draws the last frame and stops the drawer.
    pub fn finish(&mut self) {
        let Some(drawer) = self.drawer.take() else {
            return;
        };
        self.mailbox.lock().1 = true;
        self.mailbox.bell.notify_one();
        let _ = drawer.join();
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The drawer: the newest frame, then a pause, until the run ends.
fn draw_frames(mailbox: &Mailbox, term: &mut File, bar: Option<&ProgressBar>) {
    loop {
        let frame = {
            let mut st = mailbox.lock();
            loop {
                if let Some(f) = st.0.take() {
                    break Some(f);
                }
                if st.1 {
                    break None;
                }
                st = mailbox.bell.wait(st).unwrap_or_else(|e| e.into_inner());
            }
        };
        let Some(frame) = frame else {
            return;
        };
        let mut draw = || term.write_all(frame.as_bytes()).and_then(|()| term.flush());
        // a terminal that went away is no reason to stop the run
        let _ = match bar {
            Some(b) => b.suspend(draw),
            None => draw(),
        };
        let st = mailbox.lock();
        let _ = mailbox
            .bell
            .wait_timeout_while(st, FRAME, |st| !st.1)
            .unwrap_or_else(|e| e.into_inner());
    }
}

/// The batch as a pretty table of at most `height` lines (its banner
/// counting every row), each cut to `cols` columns.
fn render(b: &BatchOut<'_>, opts: Options, cols: usize, height: usize) -> String {
    let n = b.rows.len();
    // the banner, the header and the rule take three lines
    let fit = height.saturating_sub(3);
    let shown = if n <= fit { n } else { fit.saturating_sub(1) };
    let mut out = String::new();
    let mut banner = String::from("── ");
    if let Some(start) = b.start {
        banner.push_str("window ");
        banner.push_str(&opts.local_time_text(start));
        banner.push_str(" .. ");
    }
    banner.push_str(&opts.local_time_text(b.time));
    banner.push_str(&format!(" ── {n} {}", if n == 1 { "row" } else { "rows" }));
    if shown < n {
        banner.push_str(&format!(" ({shown} shown)"));
    }
    push_line(&mut out, &banner, cols, opts.color);
    if shown > 0 || n == 0 {
        let mut text = Vec::new();
        let mut part = BatchOut::new(b.time, b.start, &b.rows[..shown]);
        part.starts = b.starts.map(|s| &s[..shown.min(s.len())]);
        // writing into memory cannot fail
        let _ = Pretty::new(opts).batch(&part, &mut text);
        let text = String::from_utf8_lossy(&text);
        // its own banner is replaced by the one above
        for line in text.lines().skip(1) {
            push_line(&mut out, line, cols, false);
        }
    }
    if shown < n {
        push_line(
            &mut out,
            &format!("… {} more rows", n - shown),
            cols,
            opts.color,
        );
    }
    out
}

/// Appends `line` cut to fit `cols` columns (one less, so that the cursor
/// never waits at the margin), clearing the rest of the terminal line.
/// Escape sequences (pretty's colours; cells are escaped) take no room.
fn push_line(out: &mut String, line: &str, cols: usize, dim: bool) {
    if dim {
        out.push_str(DIM);
    }
    let room = cols.saturating_sub(1);
    let mut used = 0;
    let mut cut = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            out.push(c);
            for e in chars.by_ref() {
                out.push(e);
                if e.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        let w = char_width(c);
        if used + w > room {
            cut = true;
            break;
        }
        used += w;
        out.push(c);
    }
    if dim || (cut && line.contains('\x1b')) {
        out.push_str(RESET);
    }
    out.push_str(CLEAR_LINE_REST);
    out.push('\n');
}

/// What a person sees while spate runs: the progress bar and the live
/// view, as the engine's [`Watch`].
#[derive(Default)]
pub struct Screen {
    pub progress: Option<Progress>,
    pub live: Option<Live>,
}

impl Screen {
    pub fn is_empty(&self) -> bool {
        self.progress.is_none() && self.live.is_none()
    }

    /// Draws the live view's last frame and clears the progress bar, before
    /// the summary line.
    pub fn finish(&mut self) {
        if let Some(l) = &mut self.live {
            l.finish();
        }
        if let Some(p) = &self.progress {
            p.finish();
        }
    }
}

impl Watch for Screen {
    fn lines(&mut self, lines: u64) {
        if let Some(p) = &mut self.progress {
            p.lines(lines);
        }
    }

    fn batch(&mut self, b: &BatchOut<'_>) -> io::Result<()> {
        if let Some(p) = &mut self.progress {
            p.batch();
        }
        if let Some(l) = &mut self.live {
            l.show(b);
        }
        Ok(())
    }

    fn note(&mut self, line: &str) {
        match (&mut self.live, &self.progress) {
            (Some(l), _) if l.takes_notes() => l.note(line),
            (_, Some(p)) => p.suspend(|| eprintln!("{line}")),
            _ => eprintln!("{line}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::record::Record;
    use crate::sink::testing::{T, opts};
    use crate::value::Value;

    fn rows(n: i64) -> Vec<Record<'static>> {
        (0..n)
            .map(|i| {
                Record::row(vec![
                    (Cow::Borrowed("key"), Value::str("a-rather-long-key")),
                    (Cow::Borrowed("count"), Value::Int(i)),
                ])
            })
            .collect()
    }

    fn batch<'a>(rows: &'a [Record<'static>]) -> BatchOut<'a> {
        BatchOut::new(T, None, rows)
    }

    fn plain(frame: &str) -> Vec<String> {
        frame
            .lines()
            .map(|l| l.trim_end_matches(CLEAR_LINE_REST).to_string())
            .collect()
    }

    #[test]
    fn live_fits_the_table_to_the_terminal_height() {
        let r = rows(10);
        let lines = plain(&render(&batch(&r), opts(), 80, 7));
        assert_eq!(
            lines,
            [
                "── 2026-11-24T01:02:04Z ── 10 rows (3 shown)",
                "key                count",
                "─────────────────  ─────",
                "a-rather-long-key      0",
                "a-rather-long-key      1",
                "a-rather-long-key      2",
                "… 7 more rows",
            ]
        );
    }

    #[test]
    fn live_cuts_lines_to_the_terminal_width() {
        let r = rows(1);
        let lines = plain(&render(&batch(&r), opts(), 11, 24));
        assert_eq!(lines[3], "a-rather-l");
        assert!(lines.iter().all(|l| l.chars().count() <= 10), "{lines:?}");
    }

    #[test]
    fn live_whole_batch_when_it_fits_and_empty_batches() {
        let r = rows(2);
        let lines = plain(&render(&batch(&r), opts(), 80, 24));
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0], "── 2026-11-24T01:02:04Z ── 2 rows");
        let lines = plain(&render(&batch(&[]), opts(), 80, 24));
        assert_eq!(lines, ["── 2026-11-24T01:02:04Z ── 0 rows", "(no rows)"]);
    }

    #[test]
    fn live_cut_keeps_escapes_whole_and_resets_colour() {
        let mut out = String::new();
        push_line(&mut out, "\x1b[1mabcdef\x1b[0m", 4, false);
        assert_eq!(out, "\x1b[1mabc\x1b[0m\x1b[K\n");
    }

    #[test]
    fn live_place_prefers_stdout_then_stderr() {
        assert_eq!(Place::choose(true, true), Some(Place::Stdout));
        assert_eq!(Place::choose(false, true), Some(Place::Stderr));
        assert_eq!(Place::choose(false, false), None);
    }
}
