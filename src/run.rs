//! One run from parsed arguments to exit status: plan, open the inputs,
//! start the readers, drive the engine, print the summary.

use std::io::{BufWriter, IsTerminal, Write};
use std::sync::atomic::Ordering;

use crate::accounting::Extra;

use crate::cli::{self, Parsed};
use crate::engine::{Engine, Stop};
use crate::live::{Live, Place, Screen};
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
    let (config, chain) = match parsed {
        Parsed::Print(text) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            return EXIT_OK;
        }
        Parsed::Run(c, ch) => (c, ch),
    };
    let plan = match crate::plan::build(&config, &chain) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_USAGE;
        }
    };
    if let Some(target) = &config.emit {
        let argv: Vec<String> = args_text
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return match crate::emit::program(target, &config, &chain, &argv) {
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
    let source_opts = source::SourceOptions {
        max_line_bytes: config.max_line_bytes,
        follow: config.follow,
        from_end: config.from_end,
        reconnect: config.reconnect,
        max_connections: config.max_connections,
        kafka_times: config.event_time == Some(cli::EventTime::Kafka),
    };
    let inputs = match source::open(&config.inputs, &source_opts) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("spate: {e:#}");
            return EXIT_FAILURE;
        }
    };
    let names: Vec<String> = inputs.iter().map(|i| i.name().to_string()).collect();
    let stderr_tty = std::io::stderr().is_terminal();
    let show_progress = progress::wanted(config.progress, &inputs, stderr_tty);
    let total_bytes = progress::total_size(&inputs);
    let (tx, rx) = crossbeam_channel::bounded(source::CHANNEL_CHUNKS);
    let readers = source::spawn(inputs, tx, source_opts);
    let opts = Options {
        time_format: config.time_format,
        millis: config.millis(),
        header: config.header,
        color: config.color,
    };
    let fmt = sink::formatter(config.output, opts);
    let signals = match watch_signals() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("spate: installing signal handlers: {e}");
            return EXIT_FAILURE;
        }
    };
    let mut screen = match watchers(&config, opts, show_progress, total_bytes, stderr_tty) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("spate: starting the live view: {e}");
            return EXIT_FAILURE;
        }
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    // the live view on the terminal replaces the output
    let mut nowhere = std::io::sink();
    let target: &mut dyn Write = match &screen.live {
        Some(l) if l.place() == Place::Stdout => &mut nowhere,
        _ => &mut out,
    };
    let mut engine = Engine::new(&plan, &config, names, fmt, target);
    if !screen.is_empty() {
        engine.watch(&mut screen);
    }
    let result = engine.run(&rx, &signals);
    let counts = engine.counts();
    drop(engine);
    drop(rx);
    // Kafka: the offsets of the last written batches are committed
    readers.finish();
    screen.finish();
    let status = match result {
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
        overflow: plan.keys.overflow(),
        connections_refused: source::CONNECTIONS_REFUSED.load(Ordering::Relaxed),
    };
    if config.stats_json {
        let line = crate::accounting::stats_json(&counts, &extra);
        match writeln!(out, "{line}").and_then(|()| out.flush()) {
            Err(e) if is_broken_pipe(&e) => return EXIT_OK,
            Err(e) => {
                eprintln!("spate: writing the output: {e}");
                return EXIT_FAILURE;
            }
            Ok(()) => {}
        }
    }
    if let Some(s) = counts.summary() {
        eprintln!("{s}");
    }
    for s in extra.summary() {
        eprintln!("{s}");
    }
    status
}

/// The progress bar and the live view, as the options and the terminals
/// say.
fn watchers(
    config: &cli::Config,
    opts: Options,
    show_progress: bool,
    total_bytes: Option<u64>,
    stderr_tty: bool,
) -> std::io::Result<Screen> {
    let progress = show_progress.then(|| Progress::start(total_bytes));
    let place = if config.live {
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
    let Parsed::Run(mut config, chain) = parsed else {
        return Err("help requested".into());
    };
    config.color = false;
    let plan = crate::plan::build(&config, &chain).map_err(|e| e.to_string())?;
    let (tx, rx) = crossbeam_channel::bounded(source::CHANNEL_CHUNKS);
    let max = config.max_line_bytes;
    let reader = std::thread::spawn(move || {
        let res = source::read_chunks(std::io::Cursor::new(input), 0, max, &tx);
        let _ = tx.send(match res {
            Ok(()) => source::Msg::End(0),
            Err(e) => source::Msg::Failed(0, e.into()),
        });
    });
    let opts = Options {
        time_format: config.time_format,
        millis: config.millis(),
        header: config.header,
        color: false,
    };
    let fmt = sink::formatter(config.output, opts);
    let mut out = Vec::new();
    let (_sig_tx, sig_rx) = crossbeam_channel::bounded::<i32>(1);
    let mut engine = Engine::new(&plan, &config, vec!["memory".into()], fmt, &mut out);
    let res = engine.run(&rx, &sig_rx);
    let counts = engine.counts();
    drop(engine);
    drop(rx);
    let _ = reader.join();
    if config.stats_json && res.is_ok() {
        let extra = Extra {
            overflow: plan.keys.overflow(),
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
        Err(Stop::Output(e)) => Err(e.to_string()),
        Err(Stop::Source(e)) => Err(format!("{e:#}")),
    }
}
