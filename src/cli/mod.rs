//! The command line into one typed [`Plan`]: the global clap command (its
//! options, then the chain as trailing words), the chain cut at each bare
//! `then` and built ([`chain`]). The same definitions feed `--help`, the man
//! page and the shell completions (see [`docs`]). Nothing below this layer
//! reads the command line.

pub mod chain;
pub mod docs;
pub mod help;
pub mod inputs;
pub mod noop;
pub mod options;
pub mod time;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};

use crate::batch::{BatchMode, Batching, EventTime};
use crate::duration::parse_duration;
use crate::engine::EngineOptions;
use crate::ops::REGISTRY;
use crate::plan::{Output, Plan, UsageError, Watchers};
use crate::sink::{Options, OutputFormat};
use crate::source::SourceOptions;
use crate::timestamp::TimeFormat;

const ABOUT: &str = "A micro-batch stream processor for the shell";

const LONG_ABOUT: &str = "spate cuts a stream of lines into batches (by processing time, line count, \
or the records' own event time), runs a chain of operators on each batch and prints a result per \
batch: Spark Streaming's model in one fast binary that reads lines and writes lines.\n\n\
The chain is every argument after the options, cut into operators at each bare word 'then'. \
Each operator has its own options: spate OPERATOR --help.";

fn after_help() -> String {
    let mut s = String::from("Operators:\n");
    let width = REGISTRY.iter().map(|o| o.name().len()).max().unwrap_or(0);
    for op in REGISTRY {
        s.push_str(&format!("  {:width$}  {}\n", op.name(), op.summary()));
    }
    s.push_str(
        "\nExamples:\n  \
         spate -i tcp://127.0.0.1:9999 -b 2s split then count-by-key\n  \
         tail -F access.log | spate -b 10s parse '\" (?P<status>\\d{3}) ' then count-by-key status\n  \
         spate -i words.txt -b eof split then count-by-key then head 10\n\n\
         Exit status: 0 done, 1 runtime failure, 2 bad usage, 128+N after signal N.",
    );
    s
}

/// The global command: options, then the chain as trailing arguments.
pub fn command() -> Command {
    global_args(
        Command::new("spate")
            .version(env!("CARGO_PKG_VERSION"))
            .about(ABOUT)
            .long_about(LONG_ABOUT)
            .override_usage("spate [OPTIONS] OPERATOR [ARGS] [then OPERATOR [ARGS]]...")
            .after_help(after_help())
            .max_term_width(100),
    )
    .arg(
        Arg::new("chain")
            .value_name("CHAIN")
            .num_args(1..)
            .trailing_var_arg(true)
            .allow_hyphen_values(true)
            .help("OPERATOR [ARGS] [then OPERATOR [ARGS]]..."),
    )
}

fn global_args(cmd: Command) -> Command {
    cmd.next_help_heading("Input")
        .arg(
            Arg::new("input")
                .short('i')
                .long("input")
                .value_name("SRC")
                .action(ArgAction::Append)
                .help("Read from SRC: - (standard input, the default), a file, a quoted 'PATTERN' with *, ? or [...] (its files in name order), a directory (every file in it), tcp://HOST:PORT, listen://ADDR:PORT (ADDR required: 127.0.0.1, or 0.0.0.0 for every interface) or kafka://HOST:PORT/TOPIC[?group=NAME&from=earliest|latest&until=now]; repeatable. Files and standard input are read one after another in the order given; gzip, zstd, bzip2 and xz are decompressed, whatever the name. A malformed address or an unknown scheme is bad usage"),
        )
        .arg(
            Arg::new("follow")
                .short('F')
                .long("follow")
                .action(ArgAction::SetTrue)
                .help("Keep reading files as they grow, across rotation and truncation, like tail -F; a pattern or directory also picks up files that appear later (compressed files cannot be followed)"),
        )
        .arg(
            Arg::new("from-end")
                .long("from-end")
                .action(ArgAction::SetTrue)
                .help("With -F: start at the end of each file instead of its start"),
        )
        .arg(
            Arg::new("reconnect")
                .long("reconnect")
                .action(ArgAction::SetTrue)
                .help("tcp:// and kafka:// inputs: when the peer or broker closes or refuses, retry with capped exponential backoff (bad usage without such an input)"),
        )
        .arg(
            Arg::new("max-connections")
                .long("max-connections")
                .value_name("N")
                .value_parser(value_parser!(u64).range(1..=65536))
                .default_value("1024")
                .help("listen:// inputs: refuse clients beyond N at once"),
        )
        .arg(
            Arg::new("max-keys")
                .long("max-keys")
                .value_name("N")
                .value_parser(value_parser!(u64).range(1..))
                .default_value("1000000")
                .help("count-by-key and stats: hold at most N distinct keys per batch or window; records with further keys are counted in one row keyed (other), and the summary says how many"),
        )
        .arg(
            Arg::new("max-line-bytes")
                .long("max-line-bytes")
                .value_name("N")
                .default_value("1MiB")
                .help("Cut longer lines to their first N bytes (and count them); accepts K, KiB, M, MiB"),
        )
        .next_help_heading("Batches")
        .arg(
            Arg::new("batch")
                .short('b')
                .long("batch")
                .value_name("DURATION|eof")
                .help("Batch interval (250ms, 2s, 1m, 1h, 1d) or 'eof' for the whole input as one batch, written even when empty (count prints 0) [default: 1s]"),
        )
        .arg(
            Arg::new("batch-lines")
                .long("batch-lines")
                .value_name("N")
                .value_parser(value_parser!(u64).range(1..))
                .conflicts_with("batch")
                .help("Close a batch every N input lines instead"),
        )
        .arg(
            Arg::new("event-time")
                .long("event-time")
                .value_name("FIELD|auto|kafka")
                .help("Cut batches by each record's own timestamp: a field, 'auto' (the first timestamp in the raw line), or 'kafka' (each Kafka message's timestamp)"),
        )
        .arg(
            Arg::new("event-time-format")
                .long("event-time-format")
                .value_name("FMT")
                .help("With --event-time FIELD: read the field with this strftime format (as chrono reads it) instead of the built-in formats: '%Y/%m/%d %H:%M:%S', '%d.%m.%Y %H:%M:%S', '%s'; no year reads the current one, no time of day midnight; a value that does not fit is untimed"),
        )
        .arg(
            Arg::new("tz")
                .long("tz")
                .value_name("ZONE")
                .help("An IANA time zone (Europe/Paris) or offset (+02:00): the zone of event times written without one (syslog and --event-time-format included; epoch numbers are absolute), of the times pretty and spark print, and of batch and window boundaries of 1h or more, which then fall on local multiples from local midnight (-b 1d: local days, 23 or 25 hours across a DST change)"),
        )
        .arg(
            Arg::new("lateness")
                .long("lateness")
                .value_name("DURATION")
                .default_value("0s")
                .help("With --event-time: how far behind the newest timestamp seen a record may arrive"),
        )
        .arg(
            Arg::new("duration")
                .long("duration")
                .value_name("DURATION")
                .help("Stop after this long"),
        )
        .arg(
            Arg::new("max-batches")
                .long("max-batches")
                .value_name("N")
                .value_parser(value_parser!(u64).range(1..))
                .help("Stop after N emitted batches or windows (the lines of batches left open count as unemitted)"),
        )
        .arg(
            Arg::new("speed")
                .long("speed")
                .value_name("X")
                .help("With --event-time and file inputs: replay at the pace the timestamps were recorded, X times faster (--speed 60: an hour a minute); the output is what it would be without --speed"),
        )
        .arg(
            Arg::new("exit-on-row")
                .long("exit-on-row")
                .action(ArgAction::SetTrue)
                .help("Stop after the first batch or window that writes a row: exit 0; exit 1 when input ends (or --duration, --max-batches stop the run) with none, as grep does"),
        )
        .arg(
            Arg::new("with-start")
                .long("with-start")
                .action(ArgAction::SetTrue)
                .help("Every row also carries `start` right after `time` (json: each row's first key): end - interval for a batch, end - LENGTH for a window, session_start for a session, the previous close (or the run's start) for --batch-lines and -b eof, the first batch's start for window all"),
        )
        .arg(
            Arg::new("emit-empty")
                .long("emit-empty")
                .action(ArgAction::SetTrue)
                .help("Also print batches that have no rows (-b eof always prints its one batch)"),
        )
        .next_help_heading("Output")
        .arg(
            Arg::new("output")
                .short('o')
                .long("output")
                .value_name("FORMAT")
                .value_parser(OutputFormat::NAMES)
                .help("Output format [default: pretty on a terminal, else tsv]")
                .long_help(
                    "Output format [default: pretty on a terminal, else tsv]. csv and tsv keep \
                     every value under its own column: the chain's columns when it knows them (an \
                     aggregation's fields, fields' list; a missing field is an empty cell), else \
                     the first batch's fields, and a field outside them starts a new header block \
                     (csv, tsv --header: an empty line, then the columns so far and the new ones). \
                     jsonl and json write text that reads exactly as spate writes a number (200, \
                     -3, 0.25) as a JSON number, other text (007, 1.50, 1e5) and every string \
                     that json read as a string.",
                ),
        )
        .arg(
            Arg::new("header")
                .long("header")
                .action(ArgAction::SetTrue)
                .help("With -o tsv: print a header line (its first column 'time'), and a new header block after an empty line when a field outside the columns comes; bad usage with any other format"),
        )
        .arg(
            Arg::new("state")
                .long("state")
                .value_name("FILE")
                .help("Keep the run's progress in FILE (written atomically after each written batch and at exit) and go on from it when started again with the same arguments: nothing written twice, no line counted twice or skipped; SIGTERM and --duration then suspend (the open batches stay in FILE) and SIGINT drains"),
        )
        .arg(
            Arg::new("output-file")
                .long("output-file")
                .value_name("FILE")
                .help("Append the results to FILE instead of standard output (the default format is then tsv); with --state, what FILE holds is exactly-once"),
        )
        .arg(
            Arg::new("time-format")
                .long("time-format")
                .value_name("FORMAT")
                .value_parser(["rfc3339", "epoch", "epoch-ms"])
                .default_value("rfc3339")
                .help("How batch times print"),
        )
        .arg(
            Arg::new("live")
                .long("live")
                .action(ArgAction::SetTrue)
                .help("Redraw the latest batch's table in place, sized to the terminal, like top: instead of the output on a terminal, on stderr when stdout is piped (every batch still goes down the pipe); nothing when neither is a terminal"),
        )
        .arg(
            Arg::new("emit")
                .long("emit")
                .value_name("TARGET")
                .value_parser(crate::emit::TARGETS)
                .help("Print a program that runs the chain on TARGET (pyspark: a PySpark Structured Streaming job with the same output) instead of running it"),
        )
        .arg(
            Arg::new("explain")
                .long("explain")
                .action(ArgAction::SetTrue)
                .help("Print the plan in words (inputs, batches, each operator with its stage and what it keeps in memory, the output) instead of running it"),
        )
        .next_help_heading("Diagnostics")
        .arg(
            Arg::new("dead-letter")
                .long("dead-letter")
                .value_name("FILE")
                .help("Append every dropped line to FILE as one JSON object: {\"reason\":\"late\",\"input\":\"access.log\",\"line\":1234,\"text\":\"...\"} (reason as --stats-json's by_reason keys, input as given, - for standard input, line 1-based within its input, text after repair)"),
        )
        .arg(
            Arg::new("strict")
                .long("strict")
                .action(ArgAction::SetTrue)
                .help("Exit 1 at the first dropped, cut or repaired line, with its number and the reason"),
        )
        .arg(
            Arg::new("stats")
                .long("stats")
                .action(ArgAction::SetTrue)
                .help("Print a line per batch on stderr with Spark Streaming's batch metrics (records=, rows=, processing=, scheduling_delay=, total_delay=, rate=) and the running accounting (total_lines=, total_processed=, total_filtered=, total_dropped=), and warn when processing takes longer than the interval"),
        )
        .arg(
            Arg::new("stats-json")
                .long("stats-json")
                .action(ArgAction::SetTrue)
                .help("With -o json or jsonl: after the last batch, write one record {\"accounting\": {...}} to stdout with the lines read, processed, filtered, dropped (by reason) and unemitted"),
        )
        .arg(
            Arg::new("progress")
                .long("progress")
                .action(ArgAction::SetTrue)
                .overrides_with("no-progress")
                .help("Show a progress bar on stderr for file inputs (default when stderr is a terminal)"),
        )
        .arg(
            Arg::new("no-progress")
                .long("no-progress")
                .action(ArgAction::SetTrue)
                .overrides_with("progress")
                .help("Never show a progress bar"),
        )
        .next_help_heading("Performance")
        .arg(
            Arg::new("threads")
                .long("threads")
                .value_name("N")
                .value_parser(value_parser!(u64).range(1..=1024))
                .help("Worker threads for large batches [default: all cores]"),
        )
}

/// Parses `1048576`, `64K`, `64KiB`, `1M`, `1MiB` (K and M are 1024-based).
pub fn parse_bytes(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num.parse().map_err(|_| {
        format!("invalid size '{s}': expected a number of bytes such as 4096, 64KiB or 1MiB")
    })?;
    let mul = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("invalid size '{s}': unknown unit '{unit}'")),
    };
    let v = n
        .checked_mul(mul)
        .ok_or_else(|| format!("invalid size '{s}': too large"))?;
    if v == 0 {
        return Err(format!("invalid size '{s}': must be at least 1 byte"));
    }
    Ok(v)
}

/// The parsed command line.
pub enum Parsed {
    Run(Box<Plan>),
    /// `--help`, `--version` or `spate OP --help`: print and exit 0.
    Print(String),
}

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError::global(msg)
}

/// A clap error as one line: its message and details (a missing argument's
/// name, a tip), without the `error: ` prefix and the usage block.
pub fn clap_one_line(e: &clap::Error) -> String {
    one_line(&clap_parts(e))
}

/// A clap error's lines before its usage block, trimmed, without the
/// `error: ` prefix and the empty ones.
pub fn clap_parts(e: &clap::Error) -> Vec<String> {
    let text = e.to_string();
    let mut parts = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("Usage:") || t.starts_with("For more information") {
            break;
        }
        if !t.is_empty() {
            parts.push(t.strip_prefix("error: ").unwrap_or(t).to_string());
        }
    }
    parts
}

/// Lines as one: `; ` between them, a space after a line that ends in `:`.
pub fn one_line(parts: &[String]) -> String {
    let mut out = String::new();
    for p in parts {
        if !out.is_empty() {
            out.push_str(if out.ends_with(':') { " " } else { "; " });
        }
        out.push_str(p);
    }
    if out.is_empty() {
        out.push_str("invalid arguments");
    }
    out
}

/// The usage clap rendered for the error `e` of `cmd` (or renders for
/// `cmd`) on one line: `spate grep [OPTIONS] [REGEX]`, its forms joined
/// with ` or `.
pub fn usage_line(cmd: &mut Command, e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let text = match e.get(ContextKind::Usage) {
        Some(ContextValue::StyledStr(u)) => u.to_string(),
        _ => cmd.render_usage().to_string(),
    };
    let text = text.trim();
    let text = text.strip_prefix("Usage:").unwrap_or(text);
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Whether the path `input` names a stream that cannot be read again (a
/// named pipe, a terminal, a socket, `/dev/stdin`): not a file or a
/// directory.
#[cfg(unix)]
fn streamed(input: &str) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(input).is_ok_and(|m| {
        let t = m.file_type();
        t.is_fifo() || t.is_char_device() || t.is_socket()
    })
}

#[cfg(not(unix))]
fn streamed(_input: &str) -> bool {
    false
}

/// Parses the whole command line into the plan.
pub fn parse<I, T>(args: I) -> Result<Parsed, UsageError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // `-beof` and `-b=eof` as `-b eof`, as getopt reads them
    let args = options::split_attached(command(), args);
    let argv: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let m = match command().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp => Ok(Parsed::Print(
                    help::render(command(), &argv).unwrap_or_else(|| help::styled(&e)),
                )),
                ErrorKind::DisplayVersion => Ok(Parsed::Print(help::styled(&e))),
                _ => Err(usage(clap_one_line(&e))),
            };
        }
    };
    let words: Vec<String> = m
        .get_many::<String>("chain")
        .map(|v| v.cloned().collect())
        .unwrap_or_default();
    if let Some(text) = help::help_word(&words) {
        return Ok(Parsed::Print(text));
    }
    let ops = chain::cut(&words)?;
    // the chain starts at the first word that is not one of spate's
    // options: one that looks like an option is one spate does not have
    if let Some(first) = words.first().filter(|w| w.starts_with('-') && w.len() > 1) {
        return Err(options::unknown(&command(), first, &ops));
    }
    let before = &argv[..argv.len().saturating_sub(words.len())];
    let before = before.strip_suffix(&["--".to_string()]).unwrap_or(before);
    let parsed = match chain::stages(ops, before) {
        Ok(p) => p,
        Err(help) => return Ok(Parsed::Print(help)),
    };
    plan_from(&m, parsed).map(|p| Parsed::Run(Box::new(p)))
}

fn plan_from(
    m: &ArgMatches,
    parsed: Vec<Result<crate::plan::StagePlan, UsageError>>,
) -> Result<Plan, UsageError> {
    let dur = |name: &str| -> Result<Option<Duration>, UsageError> {
        m.get_one::<String>(name)
            .map(|s| parse_duration(s).map_err(|e| usage(format!("--{name}: {e}"))))
            .transpose()
    };
    let batch = if let Some(n) = m.get_one::<u64>("batch-lines") {
        BatchMode::Lines(*n)
    } else {
        match m.get_one::<String>("batch").map(String::as_str) {
            // `EOF`, `Eof`: plainly meant
            Some(s) if s.trim().eq_ignore_ascii_case("eof") => BatchMode::Eof,
            None => BatchMode::Interval(Duration::from_secs(1)),
            Some(_) => {
                let d = dur("batch")?.unwrap_or(Duration::from_secs(1));
                if d.is_zero() {
                    return Err(usage("--batch: the interval must be longer than 0"));
                }
                if d.as_nanos() % 1_000_000 != 0 {
                    return Err(usage("--batch: the interval must be whole milliseconds"));
                }
                BatchMode::Interval(d)
            }
        }
    };
    let event_time = m.get_one::<String>("event-time").map(|s| match s.as_str() {
        "auto" => EventTime::Auto,
        "kafka" => EventTime::Kafka,
        _ => EventTime::Field(s.clone()),
    });
    let kafka_times = event_time == Some(EventTime::Kafka);
    if event_time.is_some() {
        match batch {
            BatchMode::Eof => {
                return Err(usage(
                    "-b eof cannot be used with --event-time: event-time batches need an interval such as -b 1m",
                ));
            }
            BatchMode::Lines(_) => {
                return Err(usage(
                    "--batch-lines cannot be used with --event-time: event-time batches need an interval such as -b 1m",
                ));
            }
            BatchMode::Interval(_) => {}
        }
    }
    let (event_time_format, tz) = time::options(
        m.get_one::<String>("tz").map(String::as_str),
        m.get_one::<String>("event-time-format").map(String::as_str),
        m.get_one::<String>("event-time").map(String::as_str),
        batch,
    )
    .map_err(usage)?;
    let stdout_tty = std::io::stdout().is_terminal();
    let output = match m.get_one::<String>("output") {
        Some(s) => OutputFormat::from_name(s)
            .ok_or_else(|| usage(format!("unknown output format '{s}'")))?,
        None if stdout_tty && m.get_one::<String>("output-file").is_none() => OutputFormat::Pretty,
        None => OutputFormat::Tsv,
    };
    let time_format = match m.get_one::<String>("time-format").map(String::as_str) {
        Some("epoch") => TimeFormat::Epoch,
        Some("epoch-ms") => TimeFormat::EpochMs,
        _ => TimeFormat::Rfc3339,
    };
    let max_line_bytes = m
        .get_one::<String>("max-line-bytes")
        .map(|s| parse_bytes(s))
        .transpose()
        .map_err(|e| usage(format!("--max-line-bytes: {e}")))?
        .unwrap_or(1 << 20);
    let inputs: Vec<String> = m
        .get_many::<String>("input")
        .map(|v| v.cloned().collect())
        .unwrap_or_else(|| vec!["-".to_string()]);
    inputs::check_all(&inputs)?;
    if m.get_one::<String>("state").is_some() {
        // a resumed run reads its inputs again from where it stopped
        let again: Vec<&str> = inputs
            .iter()
            .filter(|i| {
                *i == "-" || i.starts_with("tcp://") || i.starts_with("listen://") || streamed(i)
            })
            .map(String::as_str)
            .collect();
        if let Some(first) = again.first() {
            let what = if *first == "-" {
                "standard input"
            } else {
                first
            };
            return Err(usage(format!(
                "--state cannot resume {what}: a restarted run reads its inputs again from where it stopped, and it cannot be read again; give files (-i FILE, a pattern or a directory, -F to follow them) or kafka:// topics"
            )));
        }
    }
    noop::check(&noop::Facts {
        matches: m,
        inputs: &inputs,
        output,
    })?;
    let stats_json = m.get_flag("stats-json");
    if stats_json && !matches!(output, OutputFormat::Json | OutputFormat::Jsonl) {
        return Err(usage(
            "--stats-json needs -o json or -o jsonl (its record is JSON on standard output)",
        ));
    }
    let progress = if m.get_flag("progress") {
        Some(true)
    } else if m.get_flag("no-progress") {
        Some(false)
    } else {
        None
    };
    let threads = m
        .get_one::<u64>("threads")
        .map(|n| *n as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let output_file = m
        .get_one::<String>("output-file")
        .map(std::path::PathBuf::from);
    let color = stdout_tty
        && output_file.is_none()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let speed = match m.get_one::<String>("speed") {
        None => None,
        Some(s) => match s.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => Some(x),
            _ => {
                return Err(usage(format!(
                    "--speed: '{s}' is not a positive number (e.g. --speed 60 for an hour a minute)"
                )));
            }
        },
    };
    let batching = Batching {
        mode: batch,
        event_time,
        lateness: dur("lateness")?.unwrap_or_default(),
        emit_empty: m.get_flag("emit-empty"),
        zone: tz,
        reader: crate::batch::event::Reader::new(tz, event_time_format.map(std::sync::Arc::new)),
    };
    let max_keys = m
        .get_one::<u64>("max-keys")
        .map_or(crate::agg::limit::DEFAULT_MAX_KEYS, |n| {
            usize::try_from(*n).unwrap_or(usize::MAX)
        });
    let (stages, chain) = chain::build(parsed, &batching, max_keys)?;
    // sessions of a fraction of a second are told apart to the millisecond
    let millis = batching.millis()
        || matches!(chain.window(), Some(crate::batch::WindowSpec::Session { gap }) if gap.subsec_nanos() != 0);
    let with_start = m.get_flag("with-start");
    if with_start && output == OutputFormat::Spark {
        return Err(usage(
            "--with-start does not go with -o spark (its batches are Spark's, with no start \
             column); use -o tsv, csv, jsonl, json or pretty",
        ));
    }
    let engine = EngineOptions {
        threads,
        strict: m.get_flag("strict"),
        stats: m.get_flag("stats"),
        max_batches: m.get_one::<u64>("max-batches").copied(),
        duration: dur("duration")?,
        exit_on_row: m.get_flag("exit-on-row"),
        speed,
        suspend: m.get_one::<String>("state").is_some(),
        max_line_bytes,
        time_format,
        millis,
        row_zone: tz.filter(|_| matches!(output, OutputFormat::Pretty | OutputFormat::Spark)),
        with_start,
    };
    let source = SourceOptions {
        max_line_bytes,
        follow: m.get_flag("follow"),
        from_end: m.get_flag("from-end"),
        reconnect: m.get_flag("reconnect"),
        max_connections: m
            .get_one::<u64>("max-connections")
            .map_or(1024, |n| *n as usize),
        kafka_times,
        resume: None,
        state: m.get_one::<String>("state").is_some(),
        kafka_resume: None,
    };
    let output = Output {
        format: output,
        options: Options {
            time_format,
            millis,
            header: m.get_flag("header"),
            color,
            zone: tz,
            with_start,
        },
        file: output_file,
        dead_letter: m
            .get_one::<String>("dead-letter")
            .map(std::path::PathBuf::from),
    };
    Ok(Plan {
        inputs,
        source,
        batching,
        stages,
        chain,
        engine,
        output,
        watchers: Watchers {
            stats_json,
            progress,
            live: m.get_flag("live"),
        },
        emit: m.get_one::<String>("emit").cloned(),
        explain: m.get_flag("explain"),
        state: m.get_one::<String>("state").map(std::path::PathBuf::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }
    #[test]
    fn cli_command_passes_clap_debug_asserts() {
        command().debug_assert();
    }

    #[test]
    fn cli_parse_bytes_units() {
        assert_eq!(parse_bytes("10"), Ok(10));
        assert_eq!(parse_bytes("64KiB"), Ok(65536));
        assert_eq!(parse_bytes("1M"), Ok(1 << 20));
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("x").is_err());
    }

    #[test]
    fn cli_options_before_chain_only() {
        let p = parse(words("spate -b eof split -r , then count-by-key")).unwrap();
        let Parsed::Run(plan) = p else { panic!() };
        assert_eq!(plan.batching.mode, BatchMode::Eof);
        assert_eq!(plan.stages[0].words, ["split", "-r", ","]);
    }
}
