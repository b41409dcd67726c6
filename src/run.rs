//! One run from parsed arguments to exit status: plan, open the inputs,
//! start the readers, drive the engine, print the summary.

use std::io::{BufWriter, IsTerminal, Write};
use std::sync::atomic::Ordering;

use crate::accounting::Extra;

use crate::cli::{self, Parsed};
use crate::engine::{Engine, Stop};
use crate::live::{Live, Place, Screen};
use crate::plan::Plan;
use crate::progress::{self, Progress};
use crate::sink::{self, Options};
use crate::source;

/// Exit statuses.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILURE: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

/// SIGINT and SIGTERM: the first is handed to the engine, which ends the
/// input as at end of input; a second one exits at once.
fn watch_signals() -> std::io::Result<crossbeam_channel::Receiver<i32>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::Builder::new()
        .name("spate-signals".into())
        .spawn(move || {
            let mut seen = false;
            for sig in signals.forever() {
                if seen {
                    std::process::exit(128 + sig);
                }
                seen = true;
                let _ = tx.try_send(sig);
            }
        })?;
    Ok(rx)
}

/// Whether an error is a closed output pipe, anywhere in its chain.
fn is_broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}

/// Runs spate with these arguments (the program name first) and returns
/// the exit status. Diagnostics go to stderr.
pub fn main_with_args(args: Vec<std::ffi::OsString>) -> i32 {
    let args_text = args.clone();
    let parsed = match cli::parse(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_USAGE;
        }
    };
    let plan = match parsed {
        Parsed::Print(text) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            return EXIT_OK;
        }
        Parsed::Run(plan) => plan,
    };
    if plan.explain {
        let mut out = std::io::stdout().lock();
        return match out
            .write_all(crate::explain::explain(&plan).as_bytes())
            .and_then(|()| out.flush())
        {
            Err(e) if !is_broken_pipe(&e) => {
                eprintln!("spate: writing the plan: {e}");
                EXIT_FAILURE
            }
            _ => EXIT_OK,
        };
    }
    if let Some(target) = &plan.emit {
        let argv: Vec<String> = args_text
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return match crate::emit::program(target, &plan, &argv) {
            Ok(program) => {
                let mut out = std::io::stdout().lock();
                match out.write_all(program.as_bytes()).and_then(|()| out.flush()) {
                    Err(e) if !is_broken_pipe(&e) => {
                        eprintln!("spate: writing the program: {e}");
                        EXIT_FAILURE
                    }
                    _ => EXIT_OK,
                }
            }
            Err(why) => {
                eprintln!("{why}");
                EXIT_USAGE
            }
        };
    }
    let mut source_opts = plan.source.clone();
    // --state: refused, resumed, or a fresh start
    let fingerprint = crate::checkpoint::fingerprint(&plan);
    let saved = match &plan.state {
        None => None,
        Some(path) => match crate::checkpoint::read(path, &fingerprint) {
            Ok(s) => s,
            Err(crate::checkpoint::Refusal::Usage(m)) => {
                eprintln!("spate: {m}");
                return EXIT_USAGE;
            }
            Err(crate::checkpoint::Refusal::Failure(m)) => {
                eprintln!("spate: {m}");
                return EXIT_FAILURE;
            }
        },
    };
    let (resumed, replaced) = saved.as_ref().map(|s| s.resume_map()).unwrap_or_default();
    if let Some(s) = &saved {
        source_opts.resume = Some(std::sync::Arc::new(resumed.clone()));
        source_opts.kafka_resume = Some(std::sync::Arc::new(s.kafka_resume()));
    }
    let inputs = match source::open(&plan.inputs, &source_opts) {
        Ok(i) => i,
        Err(e) => {
            if let Some(bad) = e.downcast_ref::<source::BadUsage>() {
                eprintln!("{bad}");
                return EXIT_USAGE;
            }
            eprintln!("spate: {e:#}");
            return EXIT_FAILURE;
        }
    };
    let roster = source::Roster::of(&inputs);
    if saved.as_ref().is_some_and(|s| s.nothing_new(&roster)) {
        // every input was read to its end and every batch written, and
        // the inputs are as they were: nothing more to read or write
        return EXIT_OK;
    }
    if let Err(e) = plan.chain.start() {
        eprintln!("spate: {e}");
        return EXIT_FAILURE;
    }
    let stderr_tty = std::io::stderr().is_terminal();
    let show_progress = progress::wanted(plan.watchers.progress, &inputs, stderr_tty);
    let total_bytes = progress::total_size(&inputs);
    let (tx, rx) = crossbeam_channel::bounded(source::CHANNEL_CHUNKS);
    let readers = source::spawn(inputs, tx, source_opts, &roster);
    let opts = plan.output.options;
    let fmt = sink::formatter(plan.output.format, opts, plan.chain.columns());
    let signals = match watch_signals() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("spate: installing signal handlers: {e}");
            return EXIT_FAILURE;
        }
    };
    let mut screen = match watchers(&plan, opts, show_progress, total_bytes, stderr_tty) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("spate: starting the live view: {e}");
            return EXIT_FAILURE;
        }
    };
    let stdout = std::io::stdout();
    // with --state, cut back to what the state says was committed
    let keep = |f: fn(&crate::checkpoint::Saved) -> Option<u64>| saved.as_ref().and_then(f);
    let file = match plan.output.file.as_deref().map(|p| {
        crate::checkpoint::Tracked::open(p, keep(|s| s.output_len))
            .map_err(|e| format!("{}: {e}", p.display()))
    }) {
        None => None,
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => {
            eprintln!("spate: --output-file {e}");
            return EXIT_FAILURE;
        }
    };
    let dead_file = match plan.output.dead_letter.as_deref().map(|p| {
        crate::checkpoint::Tracked::open(p, keep(|s| s.dead_len))
            .map_err(|e| format!("{}: {e}", p.display()))
    }) {
        None => None,
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => {
            eprintln!("spate: --dead-letter {e}");
            return EXIT_FAILURE;
        }
    };
    let mut dead = dead_file
        .clone()
        .map(|f| BufWriter::with_capacity(1 << 16, f));
    let tracked_out = file.clone();
    // on the bar's own terminal the output makes the bar give way
    let mut out: Box<dyn Write> = match (&screen.progress, file) {
        (_, Some(f)) => Box::new(BufWriter::with_capacity(1 << 16, f)),
        (Some(p), None) if screen.live.is_none() && progress::shares_terminal() => {
            Box::new(p.writer(stdout.lock()))
        }
        _ => Box::new(BufWriter::with_capacity(1 << 16, stdout.lock())),
    };
    // the live view on the terminal replaces the output
    let mut nowhere = std::io::sink();
    let target: &mut dyn Write = match &screen.live {
        Some(l) if l.place() == Place::Stdout => &mut nowhere,
        _ => &mut *out,
    };
    let mut engine = Engine::new(
        &plan.chain,
        &plan.batching,
        &plan.engine,
        roster.clone(),
        fmt,
        target,
    );
    if !screen.is_empty() {
        engine.watch(&mut screen);
    }
    if let Some(d) = &mut dead {
        engine.dead_letter(d);
    }
    let mut keeper = None;
    if let Some(path) = &plan.state {
        if let Some(saved) = &saved {
            let positions = saved.positions(&roster, &resumed);
            let offsets = saved.offsets(&roster);
            // batches written after the state were of a file replaced
            // since: none of the new file's is skipped
            let ahead = if replaced { 0 } else { saved.ahead };
            if let Err(e) = engine.load(&saved.engine, &positions, &offsets, ahead) {
                eprintln!(
                    "spate: state file {}: {e}; it cannot be resumed from (move it away to start afresh)",
                    path.display()
                );
                return EXIT_FAILURE;
            }
            if saved.finished {
                // what was appended since is read, and written
                engine.went_on();
            }
        }
        let mut k = crate::checkpoint::Keeper::new(
            path.clone(),
            fingerprint.clone(),
            roster.clone(),
            tracked_out,
            dead_file,
        );
        if plan.engine.max_batches.is_some() || plan.engine.exit_on_row {
            // a stop inside a step keeps the state before it
            k.keep_last(saved.is_some().then(|| engine.snapshot()));
        }
        if saved.is_none() {
            // a fresh start: the state first, with the output files'
            // lengths now (results go after what they hold)
            use crate::engine::Checkpoint;
            if let Err(e) = k.commit(&engine.snapshot()) {
                eprintln!("spate: {e}");
                return EXIT_FAILURE;
            }
        }
        keeper = Some(k);
    }
    if let Some(k) = &mut keeper {
        engine.checkpoint(k);
    }
    let result = engine.run(&rx, &signals);
    if matches!(result, Ok(None)) && engine.idle() {
        // a finished state and nothing new in its inputs after all (a
        // compressed file, an empty one, a replaced one now empty): as
        // when they are seen unchanged, nothing is written
        std::mem::forget(engine);
        drop(rx);
        readers.finish();
        screen.finish();
        return EXIT_OK;
    }
    let counts = engine.counts();
    let wrote_row = engine.wrote_row();
    let field_warnings = engine.field_warnings();
    // the process ends next: its partial results (a million keys are
    // millions of allocations, a second to free) go with it, unfreed; the
    // output was flushed by the run, and a mark not reported is one whose
    // batch was never written
    std::mem::forget(engine);
    drop(rx);
    // Kafka: the offsets of the last written batches are committed
    readers.finish();
    screen.finish();
    let dead_flushed = dead.as_mut().map_or(Ok(()), Write::flush);
    let mut status = match result {
        // --exit-on-row: a row is success, as a match is for grep
        Ok(None) if plan.engine.exit_on_row && !wrote_row => EXIT_FAILURE,
        Ok(None) => EXIT_OK,
        Ok(Some(sig)) => 128 + sig,
        Err(Stop::Output(e)) if is_broken_pipe(&e) => {
            // `| head` closed the pipe: end quietly, successfully
            return EXIT_OK;
        }
        Err(Stop::Output(e)) => {
            eprintln!("spate: writing the output: {e}");
            return EXIT_FAILURE;
        }
        Err(Stop::Source(e)) => {
            let _ = out.flush();
            eprintln!("spate: {e:#}");
            EXIT_FAILURE
        }
        Err(Stop::DeadLetter(e)) => {
            let _ = out.flush();
            eprintln!("spate: writing --dead-letter: {e}");
            return EXIT_FAILURE;
        }
        Err(Stop::State(e)) => {
            eprintln!("spate: {e}");
            return EXIT_FAILURE;
        }
        Err(Stop::Strict { source, offence }) => {
            let _ = out.flush();
            eprintln!(
                "spate: --strict: line {} of {}: {}: {}",
                offence.line,
                source,
                offence.reason.label(),
                offence.detail
            );
            return EXIT_FAILURE;
        }
    };
    let extra = Extra {
        overflow: plan.chain.keys.overflow(),
        connections_refused: source::CONNECTIONS_REFUSED.load(Ordering::Relaxed),
    };
    if let Err(e) = dead_flushed {
        eprintln!("spate: writing --dead-letter: {e}");
        return EXIT_FAILURE;
    }
    if plan.watchers.stats_json {
        let line = crate::accounting::stats_json(&counts, &extra);
        // on standard output, even with --output-file
        let written = match plan.output.file {
            Some(_) => out.flush().and_then(|()| {
                let mut so = stdout.lock();
                writeln!(so, "{line}").and_then(|()| so.flush())
            }),
            None => writeln!(out, "{line}").and_then(|()| out.flush()),
        };
        match written {
            Err(e) if is_broken_pipe(&e) => return EXIT_OK,
            Err(e) => {
                eprintln!("spate: writing the output: {e}");
                return EXIT_FAILURE;
            }
            Ok(()) => {}
        }
    }
    for w in &field_warnings {
        eprintln!("{w}");
    }
    if let Some(s) = counts.summary() {
        eprintln!("{s}");
    }
    for s in extra.summary() {
        eprintln!("{s}");
    }
    // an input that ended early (a damaged compressed stream): its lines
    // and the batches are written, the run still failed
    let damage = roster.damage();
    for d in &damage {
        eprintln!("spate: {d}");
    }
    if !damage.is_empty() && status == EXIT_OK {
        status = EXIT_FAILURE;
    }
    status
}

/// The progress bar and the live view, as the options and the terminals
/// say.
fn watchers(
    plan: &Plan,
    opts: Options,
    show_progress: bool,
    total_bytes: Option<u64>,
    stderr_tty: bool,
) -> std::io::Result<Screen> {
    let progress = show_progress.then(|| Progress::start(total_bytes));
    let place = if plan.watchers.live {
        Place::choose(std::io::stdout().is_terminal(), stderr_tty)
    } else {
        None
    };
    let live = match place {
        Some(place) => {
            // the live view is on a terminal: colour unless NO_COLOR
            let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            let opts = Options { color, ..opts };
            let bar = progress.as_ref().map(|p| p.bar().clone());
            Some(Live::new(place, opts, stderr_tty, bar)?)
        }
        None => None,
    };
    Ok(Screen { progress, live })
}

/// Runs a chain over in-memory input and returns what it printed, for
/// benchmarks and property tests (no threads beyond one reader, no signals).
/// `args` are the options and chain, without the program name.
pub fn run_in_memory(
    args: &[&str],
    input: Vec<u8>,
) -> Result<(Vec<u8>, crate::accounting::Counts), String> {
    let parsed = cli::parse(std::iter::once("spate").chain(args.iter().copied()))
        .map_err(|e| e.to_string())?;
    let Parsed::Run(plan) = parsed else {
        return Err("help requested".into());
    };
    plan.chain.start()?;
    let (tx, rx) = crossbeam_channel::bounded(source::CHANNEL_CHUNKS);
    let max = plan.source.max_line_bytes;
    let reader = std::thread::spawn(move || {
        let res = source::read_chunks(std::io::Cursor::new(input), 0, max, &tx);
        let _ = tx.send(match res {
            Ok(()) => source::Msg::End(0),
            Err(e) => source::Msg::Failed(0, e.into()),
        });
    });
    let opts = Options {
        color: false,
        ..plan.output.options
    };
    let fmt = sink::formatter(plan.output.format, opts, plan.chain.columns());
    let mut out = Vec::new();
    let (_sig_tx, sig_rx) = crossbeam_channel::bounded::<i32>(1);
    let roster = source::Roster::fixed(vec!["memory".into()]);
    let mut engine = Engine::new(
        &plan.chain,
        &plan.batching,
        &plan.engine,
        roster,
        fmt,
        &mut out,
    );
    let res = engine.run(&rx, &sig_rx);
    let counts = engine.counts();
    drop(engine);
    drop(rx);
    let _ = reader.join();
    if plan.watchers.stats_json && res.is_ok() {
        let extra = Extra {
            overflow: plan.chain.keys.overflow(),
            connections_refused: 0,
        };
        out.extend_from_slice(crate::accounting::stats_json(&counts, &extra).as_bytes());
        out.push(b'\n');
    }
    match res {
        Ok(_) => Ok((out, counts)),
        Err(Stop::Strict { offence, .. }) => Err(format!(
            "line {}: {}: {}",
            offence.line,
            offence.reason.label(),
            offence.detail
        )),
        Err(Stop::Output(e) | Stop::DeadLetter(e)) => Err(e.to_string()),
        Err(Stop::State(e)) => Err(e),
        Err(Stop::Source(e)) => Err(format!("{e:#}")),
    }
}

#[cfg(test)]
mod tests {
    //! The engine's side of what Kafka chunks carry (marks released once
    //! their lines are written, each line's own time), through a real
    //! engine over hand-made chunks.

    use super::*;
    use crate::source::{Chunk, LineTimes, Mark, Msg, PartitionOffset};

    /// Runs `args` (options and chain) over `chunks`, as one source.
    fn run_chunks(args: &[&str], chunks: Vec<Chunk>) -> String {
        let Ok(Parsed::Run(plan)) =
            cli::parse(std::iter::once("spate").chain(args.iter().copied()))
        else {
            panic!("bad test arguments {args:?}");
        };
        let (tx, rx) = crossbeam_channel::unbounded();
        for c in chunks {
            tx.send(Msg::Chunk(c)).expect("send");
        }
        tx.send(Msg::End(0)).expect("send");
        let (_sig, signals) = crossbeam_channel::bounded(1);
        let mut out = Vec::new();
        let opts = Options {
            color: false,
            ..plan.output.options
        };
        let fmt = sink::formatter(plan.output.format, opts, plan.chain.columns());
        let mut engine = Engine::new(
            &plan.chain,
            &plan.batching,
            &plan.engine,
            source::Roster::fixed(vec!["k".into()]),
            fmt,
            &mut out,
        );
        engine.run(&rx, &signals).expect("the run");
        drop(engine);
        String::from_utf8(out).expect("UTF-8")
    }

    /// A chunk of one partition's messages, one line each, from offset
    /// `first`; its mark reports to `home`.
    fn kafka_chunk(
        lines: &[&str],
        first: i64,
        times: Option<Vec<i64>>,
        home: &crossbeam_channel::Sender<Vec<PartitionOffset>>,
    ) -> Chunk {
        let data: Vec<u8> = lines
            .iter()
            .flat_map(|l| format!("{l}\n").into_bytes())
            .collect();
        let n = lines.len() as i64;
        let steps = (0..n)
            .map(|i| (i as u32 + 1, 0, first + i + 1, first + i + 1))
            .collect();
        let offsets = vec![PartitionOffset::at("t".into(), 0, first + n)];
        Chunk {
            source: 0,
            data: data.into(),
            last_cut: false,
            last_unterminated: false,
            end: 0,
            times: times.map(|t| {
                let mut lt = LineTimes::default();
                for ms in t {
                    lt.push(ms, 1);
                }
                lt
            }),
            mark: Some(Mark::new(offsets, Some(home.clone())).with_steps(steps)),
            tail: None,
        }
    }

    fn reports(rx: &crossbeam_channel::Receiver<Vec<PartitionOffset>>) -> Vec<i64> {
        rx.try_iter().map(|v| v[0].next).collect()
    }

    #[test]
    fn run_kafka_marks_are_released_once_their_lines_are_written() {
        let (home, rx) = crossbeam_channel::unbounded();
        // --batch-lines 3 over chunks of 2 and 2 lines: the first batch
        // ends inside the second chunk, the last one at end of input
        let chunks = vec![
            kafka_chunk(&["a", "b"], 10, None, &home),
            kafka_chunk(&["c", "d"], 12, None, &home),
        ];
        let out = run_chunks(&["--batch-lines", "3", "-o", "tsv", "count"], chunks);
        assert_eq!(out.lines().count(), 2, "{out}");
        // after batch 1: the first chunk, and the second up to line c;
        // after batch 2: the rest
        assert_eq!(reports(&rx), [12, 13, 14]);
    }

    #[test]
    fn run_kafka_marks_of_a_stopped_run_are_not_released() {
        let (home, rx) = crossbeam_channel::unbounded();
        let chunks = vec![kafka_chunk(&["a", "b", "c", "d", "e"], 0, None, &home)];
        let args = [
            "--batch-lines",
            "2",
            "--max-batches",
            "1",
            "-o",
            "tsv",
            "count",
        ];
        let out = run_chunks(&args, chunks);
        assert_eq!(out.lines().count(), 1, "{out}");
        // the two written lines' messages, nothing after them
        assert_eq!(reports(&rx), [2]);
    }

    #[test]
    fn run_kafka_marks_in_processing_time_go_with_their_batch() {
        let (home, rx) = crossbeam_channel::unbounded();
        let chunks = vec![
            kafka_chunk(&["a", "b"], 0, None, &home),
            kafka_chunk(&["c"], 2, None, &home),
        ];
        let out = run_chunks(&["-b", "eof", "-o", "tsv", "count"], chunks);
        assert!(out.ends_with("\t3\n"), "{out}");
        assert_eq!(reports(&rx), [2, 3]);
    }

    #[test]
    fn run_event_time_kafka_reads_each_lines_time_and_releases_by_batch() {
        let (home, rx) = crossbeam_channel::unbounded();
        let s = 1_700_000_000_000i64;
        let chunks = vec![
            kafka_chunk(&["x", "y"], 0, Some(vec![s, s + 1_000]), &home),
            // the second chunk opens a batch the watermark has not passed
            kafka_chunk(&["z"], 2, Some(vec![s + 5_000]), &home),
        ];
        let args = [
            "-i",
            "kafka://127.0.0.1:9/t",
            "--event-time",
            "kafka",
            "-b",
            "5s",
            "-o",
            "tsv",
            "count",
        ];
        let out = run_chunks(&args, chunks);
        assert_eq!(out, "2023-11-14T22:13:25Z\t2\n2023-11-14T22:13:30Z\t1\n");
        // the first chunk's batch is written when the second chunk moves
        // the watermark; the second's at end of input
        assert_eq!(reports(&rx), [2, 3]);
    }
}
