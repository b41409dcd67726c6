//! One run from parsed arguments to exit status: plan, open the inputs,
//! start the readers, drive the engine, print the summary.

use std::io::{BufWriter, Write};

use crate::cli::{self, Parsed};
use crate::engine::{Engine, Stop};
use crate::sink::{self, Options};
use crate::source;

/// Exit statuses.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILURE: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

/// Whether an error is a closed output pipe, anywhere in its chain.
fn is_broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}

/// Runs spate with these arguments (the program name first) and returns
/// the exit status. Diagnostics go to stderr.
pub fn main_with_args(args: Vec<std::ffi::OsString>) -> i32 {
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
    let source_opts = source::SourceOptions {
        max_line_bytes: config.max_line_bytes,
        follow: config.follow,
        from_end: config.from_end,
        reconnect: config.reconnect,
        max_connections: config.max_connections,
    };
    let inputs = match source::open(&config.inputs, &source_opts) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("spate: {e:#}");
            return EXIT_FAILURE;
        }
    };
    let names: Vec<String> = inputs.iter().map(|i| i.name().to_string()).collect();
    let (tx, rx) = crossbeam_channel::bounded(source::CHANNEL_CHUNKS);
    let _readers = source::spawn(inputs, tx, source_opts);
    let opts = Options {
        time_format: config.time_format,
        millis: config.millis(),
        header: config.header,
        color: config.color,
    };
    let fmt = sink::formatter(config.output, opts);
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut engine = Engine::new(&plan, &config, names, fmt, &mut out);
    let result = engine.run(&rx);
    let counts = engine.counts();
    drop(engine);
    drop(rx);
    let status = match result {
        Ok(()) => EXIT_OK,
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
    if let Some(s) = counts.summary() {
        eprintln!("{s}");
    }
    status
}
