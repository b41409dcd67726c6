//! Micro-benchmarks of each hot operator on its own (issue #5), over
//! deterministic generated input held in memory; throughput in bytes, so
//! criterion prints MB/s.
//!
//! How each operator is isolated, all through the crate's public API:
//! - The operators are built from their words as a run builds each stage
//!   (`spate::ops::build_words`, with the defaults of `-b eof`), and then
//!   driven directly on one thread, with no reader thread, engine,
//!   batching or output:
//!   - per-record operators (`ops/*`): `RecordOp::process` on every line,
//!     the engine's general (unfused) per-line path. Throughput is the input
//!     bytes. `where` and `fields` need fields, so they run on records that
//!     `json` made beforehand (outside the timing); their bytes are those of
//!     the JSON lines the records came from.
//!   - aggregations (`agg/*`): `AggState::add` on records made beforehand by
//!     `split`, `json` or `parse` (outside the timing), then `into_rows`;
//!     bytes are those of the lines the records came from. `count` and
//!     `split then count-by-key` use the engine's fused paths
//!     (`add_current_ascii` per line, `add_ascii_words` per block), the
//!     latter including the word splitting; `count_by_key_emit_50k` is
//!     `into_rows` alone, for 50,000 distinct words;
//!     `count_by_key_close_2x50k_*` close a live batch as the engine does,
//!     two workers' tables of the same 50,000 words made into rows on a
//!     two-thread pool, merged first (`merged`) or read side by side
//!     (`union`, what the engine does).
//!     `eval` (arithmetic, text, a constant) runs there too. `join/*`:
//!     `join` on those records against a 20-row table every record matches
//!     and a 10,000-row one none does, then the cost of reaching a
//!     swappable table from two threads (arc-swap against an `RwLock`).
//!   - post-aggregation (`post/*`): `RowsOp::apply` on 50,000 count-by-key
//!     rows (in the order count-by-key emits them; `top -g count` groups
//!     them by count); bytes are the rows as TSV.
//!   - `timestamp/*`: `find_timestamp` (`--event-time auto`) on whole lines
//!     and `parse_timestamp` (`--event-time FIELD`) on RFC 3339 values, the
//!     same without their zone read in Europe/Paris (`--tz`), and in
//!     `%Y/%m/%d %H:%M:%S` read by `--event-time-format`'s compiled program
//!     and by chrono's parser.
//!   - `format/*`: the tsv and json formatters writing one batch of 50,000
//!     rows into memory; bytes are the output's.
//!   - `quantile/*`: the percentile sketch of `stats` alone: a million
//!     values added (four shapes), sixty partial sketches merged, four
//!     percentiles asked; throughput in values, parts or percentiles.
//! - `engine/*` runs whole chains through `run::run_in_memory` (all cores,
//!   as a run would) for the floor the operators add to: `-b eof count` on
//!   each input, and `--event-time auto -b 1m count`, whose difference from
//!   the baseline on the same access log is the timestamp fast path plus
//!   event-time batching.
//!
//! Direct numbers are single-threaded; a real run splits large chunks over
//! the cores. Timings are reported, never asserted. The whole run takes
//! about a minute (`cargo bench --bench ops`; a filter such as
//! `-- agg/` runs one group).

use std::borrow::Cow;
use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BatchSize, BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main, measurement::WallTime,
};
use spate::accounting::Ctx;
use spate::agg::quantile::Quantiles;
use spate::ops::{RecordOp, aggregation, record_op, rows_op};
use spate::record::Record;
use spate::sink::{self, BatchOut, Options, OutputFormat};
use spate::timestamp::{self, TimeFormat};
use spate::value::Value;

/// Bytes of each generated input.
const INPUT_BYTES: usize = 4 << 20;
/// Rows for the post-aggregation operators and the formatters.
const ROWS: usize = 50_000;

// ------------------------------------------------------------------ input

/// xorshift64*: small, fast and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Zipf(1)-like rank in [0, n): rank r with probability about 1/(r+1).
    fn zipf(&mut self, n: usize) -> usize {
        ((n as f64).powf(self.unit()) as usize)
            .saturating_sub(1)
            .min(n - 1)
    }
    /// One of `items` by weight.
    fn pick<'t, T>(&mut self, items: &'t [(T, u32)]) -> &'t T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut r = self.below(total as usize) as u32;
        for (t, w) in items {
            if r < *w {
                return t;
            }
            r -= w;
        }
        &items[items.len() - 1].0
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A vocabulary of `n` distinct lowercase pronounceable words, commonest
/// first (as `gen.py` ranks them), the head of it English.
fn vocabulary(n: usize) -> Vec<String> {
    const HEAD: &str = "the of and to a in is it you that he was for on are with as i his they \
        be at one have this from or had by not word but what some we can out other were all \
        there when up use your how said an each she which do their time if will way about";
    const ONSETS: [&str; 24] = [
        "", "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "br",
        "cr", "st", "sh", "ch", "th", "pl",
    ];
    const VOWELS: [&str; 12] = [
        "a", "e", "i", "o", "u", "a", "e", "ai", "ea", "ou", "oo", "y",
    ];
    const CODAS: [&str; 12] = [
        "", "", "n", "r", "s", "t", "l", "nd", "st", "ng", "ck", "ss",
    ];
    let mut rng = Rng(0x5EED_0001);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(n);
    for w in HEAD.split_whitespace() {
        if seen.insert(w.to_string()) {
            out.push(w.to_string());
        }
    }
    while out.len() < n {
        let syl = 1 + rng.below(3) + usize::from(rng.below(4) == 0);
        let mut w = String::new();
        for _ in 0..syl {
            w.push_str(ONSETS[rng.below(ONSETS.len())]);
            w.push_str(VOWELS[rng.below(VOWELS.len())]);
            w.push_str(CODAS[rng.below(CODAS.len())]);
        }
        if w.len() > 1 && seen.insert(w.clone()) {
            out.push(w);
        }
    }
    out
}

/// words.txt: 5-15 Zipf-distributed words per line over a 50k vocabulary,
/// single spaces; one word in 40 capitalised so that `map lower` has work.
fn words(bytes: usize) -> String {
    let vocab = vocabulary(50_000);
    let mut rng = Rng(0x5EED_0002);
    let mut out = String::with_capacity(bytes + 200);
    while out.len() < bytes {
        let n = 5 + rng.below(11);
        for k in 0..n {
            if k > 0 {
                out.push(' ');
            }
            let w = &vocab[rng.zipf(vocab.len())];
            if rng.below(40) == 0 {
                out.push(w.as_bytes()[0].to_ascii_uppercase() as char);
                out.push_str(&w[1..]);
            } else {
                out.push_str(w);
            }
        }
        out.push('\n');
    }
    out
}

/// access.log: Apache combined format, ~2000 lines per second of log time.
fn access_log(bytes: usize) -> String {
    use std::fmt::Write;
    const AGENTS: [&str; 8] = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
        "curl/8.5.0",
        "python-requests/2.31.0",
        "kube-probe/1.29",
    ];
    const STATUS: [(&str, u32); 7] = [
        ("200", 860),
        ("304", 70),
        ("404", 40),
        ("301", 15),
        ("500", 10),
        ("302", 3),
        ("503", 2),
    ];
    const METHOD: [(&str, u32); 4] = [("GET", 920), ("POST", 60), ("HEAD", 15), ("PUT", 5)];
    const PROTO: [(&str, u32); 3] = [("HTTP/1.1", 80), ("HTTP/2.0", 18), ("HTTP/1.0", 2)];
    let mut rng = Rng(0x5EED_0003);
    let vocab = vocabulary(2_000);
    let paths: Vec<String> = (0..5000)
        .map(|i| match i % 5 {
            0 => format!("/api/v{}/users/{}", 1 + i % 2, rng.below(50_000)),
            1 => format!("/products/{}", 1000 + rng.below(99_000)),
            2 => format!("/category/{}-{}", vocab[i % 2000], vocab[(i * 7) % 2000]),
            3 => format!(
                "/static/js/{}.{:08x}.js",
                vocab[i % 2000],
                rng.next() as u32
            ),
            _ => format!("/blog/{}/{}", 2015 + i % 10, vocab[(i * 3) % 2000]),
        })
        .collect();
    let ips: Vec<String> = (0..20_000)
        .map(|_| {
            format!(
                "{}.{}.{}.{}",
                [23, 45, 66, 103, 142, 176, 203][rng.below(7)],
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            )
        })
        .collect();
    let mut out = String::with_capacity(bytes + 400);
    let mut i = 0u64;
    while out.len() < bytes {
        let sec = i / 2000;
        i += 1;
        let (h, m, s) = (12 + sec / 3600, (sec / 60) % 60, sec % 60);
        let status = *rng.pick(&STATUS);
        let size = if status == "304" {
            "-".to_string()
        } else {
            (200 + rng.below(40_000)).to_string()
        };
        let referer = if rng.below(2) == 0 {
            "-".to_string()
        } else {
            format!("https://www.example.com{}", paths[rng.below(200)])
        };
        let _ = writeln!(
            out,
            "{} - - [10/{}/2024:{:02}:{:02}:{:02} +0000] \"{} {} {}\" {} {} \"{}\" \"{}\"",
            ips[rng.zipf(ips.len())],
            MONTHS[2],
            h,
            m,
            s,
            rng.pick(&METHOD),
            paths[rng.zipf(paths.len())],
            rng.pick(&PROTO),
            status,
            size,
            referer,
            AGENTS[rng.zipf(AGENTS.len())],
        );
    }
    out
}

const SERVICES: [&str; 20] = [
    "api-gateway",
    "auth",
    "billing",
    "cart",
    "catalog",
    "checkout",
    "search",
    "recommendations",
    "inventory",
    "shipping",
    "notifications",
    "payments",
    "users",
    "sessions",
    "reviews",
    "pricing",
    "ads",
    "analytics",
    "media",
    "frontend",
];

/// One event: (ts, service, level, latency_ms, user), 5000 per second.
struct Event {
    ts: String,
    service: &'static str,
    level: &'static str,
    latency: f64,
    user: usize,
}

fn events_iter(bytes_hint: usize) -> impl Iterator<Item = Event> {
    let mut rng = Rng(0x5EED_0004);
    let medians: Vec<f64> = (0..SERVICES.len())
        .map(|_| 3.0 + 247.0 * rng.unit())
        .collect();
    // ~105 bytes a line
    (0..bytes_hint / 90).map(move |i| {
        let ms = i / 5;
        let (sec, ms) = (ms / 1000, ms % 1000);
        let svc = rng.zipf(SERVICES.len());
        let level = *rng.pick(&[("info", 90), ("warn", 8), ("error", 2)]);
        // lognormal-ish: the median times e^(a sum of uniforms)
        let z = (0..4).map(|_| rng.unit()).sum::<f64>() - 2.0;
        let latency = medians[svc] * (z * 1.2).exp() * if level == "error" { 3.0 } else { 1.0 };
        Event {
            ts: format!(
                "2024-03-10T{:02}:{:02}:{:02}.{:03}Z",
                12 + sec / 3600,
                (sec / 60) % 60,
                sec % 60,
                ms
            ),
            service: SERVICES[svc],
            level,
            latency,
            user: rng.zipf(100_000),
        }
    })
}

/// events.jsonl, as gen.py writes it.
fn events_jsonl(bytes: usize) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes + 200);
    for e in events_iter(bytes) {
        if out.len() >= bytes {
            break;
        }
        let _ = writeln!(
            out,
            "{{\"ts\":\"{}\",\"service\":\"{}\",\"level\":\"{}\",\"latency_ms\":{:.3},\"user\":\"u{:06}\"}}",
            e.ts, e.service, e.level, e.latency, e.user
        );
    }
    out
}

/// The same events as CSV with a header and a message column, one message
/// in ten quoted because it holds a comma.
fn events_csv(bytes: usize) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes + 200);
    out.push_str("ts,service,level,latency_ms,user,msg\n");
    for (i, e) in events_iter(bytes).enumerate() {
        if out.len() >= bytes {
            break;
        }
        let msg = if i % 10 == 0 {
            "\"retrying, upstream slow\""
        } else {
            "request done"
        };
        let _ = writeln!(
            out,
            "{},{},{},{:.3},u{:06},{}",
            e.ts, e.service, e.level, e.latency, e.user, msg
        );
    }
    out
}

/// The same events in logfmt.
fn events_logfmt(bytes: usize) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes + 200);
    for (i, e) in events_iter(bytes).enumerate() {
        if out.len() >= bytes {
            break;
        }
        let msg = if i % 4 == 0 {
            "msg=\"upstream slow, retrying\""
        } else {
            "msg=done"
        };
        let _ = writeln!(
            out,
            "ts={} level={} service={} latency_ms={:.3} user=u{:06} {}",
            e.ts, e.level, e.service, e.latency, e.user, msg
        );
    }
    out
}

// ----------------------------------------------------------------- driving

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

/// Each line through one operator, as the engine's per-line path does;
/// returns how many records came out.
fn run_lines(op: &dyn RecordOp, lines: &[&str]) -> usize {
    let mut cx = Ctx::new(false);
    let mut out = Vec::with_capacity(16);
    let mut n = 0;
    for &l in lines {
        out.clear();
        op.process(Record::from_line(Cow::Borrowed(l), l), &mut out, &mut cx);
        n += out.len();
    }
    n
}

/// Runs the lines through `op` and keeps the records (setup for the
/// operators that need fields).
fn records<'a>(op: &[&str], lines: &[&'a str]) -> Vec<Record<'a>> {
    let op = record_op(op).expect("the bench's words build");
    let mut cx = Ctx::new(false);
    let mut out = Vec::new();
    for &l in lines {
        op.process(Record::from_line(Cow::Borrowed(l), l), &mut out, &mut cx);
    }
    out
}

fn bytes_of(lines: &[&str]) -> u64 {
    lines.iter().map(|l| l.len() as u64 + 1).sum()
}

fn options() -> Options {
    Options {
        time_format: TimeFormat::Rfc3339,
        millis: true,
        header: false,
        color: false,
        zone: None,
    }
}

/// Formats rows as one batch; returns the output.
fn format(fmt: OutputFormat, rows: &[Record<'static>], out: &mut Vec<u8>) {
    out.clear();
    let mut f = sink::formatter(fmt, options(), None);
    let b = BatchOut {
        time: 1_710_072_000_000_000_000,
        start: None,
        rows,
    };
    f.batch(&b, out).expect("writes to memory");
    f.finish(out).expect("writes to memory");
}

fn group<'c>(c: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1000));
    g
}

// ---------------------------------------------------------------- benches

struct Inputs {
    words: String,
    access: String,
    events: String,
    csv: String,
    logfmt: String,
}

fn per_record(c: &mut Criterion, inp: &Inputs) {
    let words = lines(&inp.words);
    let access = lines(&inp.access);
    let events = lines(&inp.events);
    let csv = lines(&inp.csv);
    let logfmt = lines(&inp.logfmt);
    let mut g = group(c, "ops");
    // `expect`: how many records must come out (every line parsed), or
    // `None` for a filter, which must keep some lines and drop some
    let mut line_op = |name: &str, op: &[&str], input: &[&str], expect: Option<usize>| {
        let n = run_lines(
            record_op(op).expect("the bench's words build").as_ref(),
            input,
        );
        match expect {
            Some(e) => assert_eq!(n, e, "{name}: records out"),
            None => assert!(
                n > 0 && n < input.len(),
                "{name}: kept {n} of {}",
                input.len()
            ),
        }
        eprintln!("{name}: {n} records out of {} lines", input.len());
        g.throughput(Throughput::Bytes(bytes_of(input)));
        // built once: from its second pass on, `csv --header` (which keeps
        // the header it took) reads the header line as one more record
        let op = record_op(op).expect("the bench's words build");
        g.bench_function(name, |b| {
            b.iter(|| black_box(run_lines(op.as_ref(), input)))
        });
    };
    let n_words = inp.words.split_ascii_whitespace().count();
    line_op("split", &["split"], &words, Some(n_words));
    line_op("map_lower", &["map", "lower"], &words, Some(words.len()));
    line_op("grep_literal", &["grep", "-F", "Googlebot"], &access, None);
    line_op(
        "grep_regex",
        &["grep", r#""(POST|PUT) /api/v\d+/\w+/\d+ "#],
        &access,
        None,
    );
    line_op(
        "parse_access_log",
        &[
            "parse",
            r#"^(?P<ip>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>\S+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) (?P<size>\S+)"#,
        ],
        &access,
        Some(access.len()),
    );
    line_op("json", &["json"], &events, Some(events.len()));
    line_op(
        "csv_header",
        &["csv", "--header"],
        &csv,
        Some(csv.len() - 1),
    );
    // every line by position (the header line too), and with names given
    line_op("csv", &["csv"], &csv, Some(csv.len()));
    line_op(
        "csv_columns",
        &["csv", "--columns", "ts,service,level,latency_ms,user,msg"],
        &csv,
        Some(csv.len()),
    );
    line_op("logfmt", &["logfmt"], &logfmt, Some(logfmt.len()));

    // where and fields on the records json made (outside the timing)
    let parsed = records(&["json"], &events);
    let mut field_op = |name: &str, op: &[&str]| {
        g.throughput(Throughput::Bytes(bytes_of(&events)));
        let op = record_op(op).expect("the bench's words build");
        let mut out = Vec::new();
        for r in parsed.clone() {
            op.process(r, &mut out, &mut Ctx::new(false));
        }
        assert!(!out.is_empty(), "{name}: no records out");
        eprintln!("{name}: {} of {} records out", out.len(), parsed.len());
        g.bench_function(name, |b| {
            b.iter_batched(
                || parsed.clone(),
                |recs| {
                    let mut cx = Ctx::new(false);
                    let mut out = Vec::with_capacity(recs.len());
                    for r in recs {
                        op.process(r, &mut out, &mut cx);
                    }
                    black_box(out.len())
                },
                BatchSize::PerIteration,
            )
        });
    };
    field_op("where_numeric", &["where", "latency_ms", ">", "100"]);
    field_op("fields", &["fields", "service,latency_ms"]);
    field_op(
        "eval_arith",
        &["eval", "kb = round(latency_ms * 3 / 1024, 2)"],
    );
    field_op(
        "eval_text",
        &["eval", "tag = concat(lower(service), '/', level)"],
    );
    field_op("eval_const", &["eval", "env = 'prod'"]);
    g.finish();
    join(c, &parsed, bytes_of(&events));
}

/// `join` on the records json made: a 20-row table of the services (every
/// record matches and gets two columns), and a table keyed by `user`
/// with no record's user in it (the lookup alone); then what it costs the
/// workers to reach a table that can be swapped, per record, on two
/// threads at once: arc-swap's `load` (what join does) against a
/// `RwLock<Arc<_>>`'s read lock.
fn join(c: &mut Criterion, parsed: &[Record<'_>], bytes: u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut services = String::from("service,team,tier\n");
    for (i, s) in SERVICES.iter().enumerate() {
        services.push_str(&format!("{s},team{},tier{}\n", i % 5, i % 3));
    }
    let by_service = dir.path().join("services.csv");
    std::fs::write(&by_service, services).expect("write table");
    let by_user = dir.path().join("users.jsonl");
    let users: String = (0..10_000)
        .map(|i| format!("{{\"user\":\"x{i:06}\",\"n\":{i}}}\n"))
        .collect();
    std::fs::write(&by_user, users).expect("write table");
    let mut g = group(c, "join");
    g.throughput(Throughput::Bytes(bytes));
    for (name, file, on) in [
        ("join_match", by_service.display().to_string(), "service"),
        ("join_no_match", by_user.display().to_string(), "user"),
    ] {
        let op = record_op(&["join", &file, "--on", on]).expect("the bench's words build");
        op.start().expect("the table reads");
        g.bench_function(name, |b| {
            b.iter_batched(
                || parsed.to_vec(),
                |recs| {
                    let mut cx = Ctx::new(false);
                    let mut out = Vec::with_capacity(recs.len());
                    for r in recs {
                        op.process(r, &mut out, &mut cx);
                    }
                    black_box(out.len())
                },
                BatchSize::PerIteration,
            )
        });
    }
    // the shared table alone: 2 threads x 100,000 reads each
    const READS: u64 = 100_000;
    g.throughput(Throughput::Elements(2 * READS));
    let swap = arc_swap::ArcSwap::from_pointee(vec![1u64; 16]);
    let lock = std::sync::RwLock::new(std::sync::Arc::new(vec![1u64; 16]));
    g.bench_function("table_arc_swap_load_2threads", |b| {
        b.iter(|| {
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        (0..READS)
                            .map(|i| swap.load()[(i % 16) as usize])
                            .sum::<u64>()
                    });
                }
            })
        })
    });
    g.bench_function("table_rwlock_read_2threads", |b| {
        b.iter(|| {
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        (0..READS)
                            .map(|i| lock.read().map_or(0, |t| t[(i % 16) as usize]))
                            .sum::<u64>()
                    });
                }
            })
        })
    });
    g.finish();
}

fn aggregations(c: &mut Criterion, inp: &Inputs) {
    let words = lines(&inp.words);
    let access = lines(&inp.access);
    let events = lines(&inp.events);
    let mut g = group(c, "agg");

    // the engine's path for `count` with nothing before it
    g.throughput(Throughput::Bytes(inp.words.len() as u64));
    let count = aggregation(&["count"]).expect("the bench's words build");
    g.bench_function("count", |b| {
        b.iter(|| {
            let mut s = count.new_state();
            for l in &words {
                s.add_current_ascii(l.as_bytes());
            }
            black_box(s.into_rows(false))
        })
    });
    // T1: `split then count-by-key`, fused: splitting included
    let cbk = aggregation(&["count-by-key"]).expect("the bench's words build");
    g.bench_function("split_count_by_key_fused", |b| {
        b.iter(|| {
            let mut s = cbk.new_state();
            black_box(s.add_ascii_words(inp.words.as_bytes()));
            black_box(s.into_rows(false))
        })
    });

    // the emit alone: 50,000 distinct words into rows, count descending
    // (a 4 MB input holds about as many distinct words, so this share of
    // the two benches above is larger than on a long batch)
    let distinct: String = vocabulary(ROWS).join("\n") + "\n";
    g.throughput(Throughput::Bytes(distinct.len() as u64));
    g.bench_function("count_by_key_emit_50k", |b| {
        b.iter_batched(
            || {
                let mut s = cbk.new_state();
                s.add_ascii_words(distinct.as_bytes());
                s
            },
            |s| s.into_rows(false),
            BatchSize::PerIteration,
        )
    });

    // a live batch's close: two workers' tables of the same 50,000 words
    // made into rows on a two-thread pool, as the engine does; merging
    // first (what the engine did before) against reading both tables side
    // by side (`merge_into_rows`)
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a two-thread pool");
    let two = || {
        let (mut a, mut b) = (cbk.new_state(), cbk.new_state());
        a.add_ascii_words(distinct.as_bytes());
        b.add_ascii_words(distinct.as_bytes());
        (a, b)
    };
    g.bench_function("count_by_key_close_2x50k_merged", |b| {
        b.iter_batched(
            two,
            |(mut a, b)| {
                pool.install(move || {
                    a.merge(b.as_ref());
                    a.into_rows(false)
                })
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("count_by_key_close_2x50k_union", |b| {
        b.iter_batched(
            two,
            |(a, b)| pool.install(move || a.merge_into_rows(vec![b], false)),
            BatchSize::PerIteration,
        )
    });

    // record-fed aggregations, on records made beforehand
    let mut fed = |name: &str, agg: &[&str], recs: &[Record<'_>], bytes: u64| {
        g.throughput(Throughput::Bytes(bytes));
        let agg = aggregation(agg).expect("the bench's words build");
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut s = agg.new_state();
                for r in recs {
                    s.add(r);
                }
                black_box(s.into_rows(false))
            })
        });
    };
    let tokens = records(&["split"], &words);
    fed(
        "count_by_key_words",
        &["count-by-key"],
        &tokens,
        bytes_of(&words),
    );
    let ev = records(&["json"], &events);
    let ev_bytes = bytes_of(&events);
    fed(
        "count_by_key_two_keys",
        &["count-by-key", "service", "level"],
        &ev,
        ev_bytes,
    );
    let acc = records(
        &[
            "parse",
            r#" "(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) "#,
        ],
        &access,
    );
    fed(
        "count_by_key_status_path",
        &["count-by-key", "status", "path"],
        &acc,
        bytes_of(&access),
    );
    let stats = |a: &'static str| ["stats", "-f", "latency_ms", "-a", a, "-g", "service"];
    fed("stats_mean", &stats("mean"), &ev, ev_bytes);
    fed("stats_p99", &stats("p99"), &ev, ev_bytes);
    fed(
        "stats_count_sum_mean_min_max",
        &stats("count,sum,mean,min,max"),
        &ev,
        ev_bytes,
    );
    fed(
        "stats_distinct_users",
        &["stats", "-f", "user", "-a", "distinct", "-g", "service"],
        &ev,
        ev_bytes,
    );
    g.finish();
}

/// 50,000 count-by-key rows, as count-by-key emits them (count descending).
fn count_rows() -> Vec<Record<'static>> {
    let vocab = vocabulary(ROWS);
    let text: String = {
        let mut rng = Rng(0x5EED_0005);
        let mut t = String::new();
        // every word once, then a Zipf tail
        for w in &vocab {
            t.push_str(w);
            t.push('\n');
        }
        for _ in 0..(ROWS * 4) {
            t.push_str(&vocab[rng.zipf(ROWS)]);
            t.push('\n');
        }
        t
    };
    let mut s = aggregation(&["count-by-key"])
        .expect("the bench's words build")
        .new_state();
    s.add_ascii_words(text.as_bytes());
    let rows = s.into_rows(false);
    assert_eq!(rows.len(), ROWS);
    rows
}

fn post(c: &mut Criterion) {
    let rows = count_rows();
    let mut tsv = Vec::new();
    format(OutputFormat::Tsv, &rows, &mut tsv);
    let mut g = group(c, "post");
    g.throughput(Throughput::Bytes(tsv.len() as u64));
    for (name, op) in [
        ("top_10", &["top", "10"][..]),
        (
            "top_3_per_group",
            &["top", "3", "-f", "key", "-g", "count"][..],
        ),
        ("sort_key", &["sort", "key"][..]),
        ("sort_count_asc", &["sort", "count"][..]),
    ] {
        let op = rows_op(op).expect("the bench's words build");
        g.bench_function(name, |b| {
            b.iter_batched(
                || rows.clone(),
                |r| black_box(op.apply(r)),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn timestamps(c: &mut Criterion, inp: &Inputs) {
    let access = lines(&inp.access);
    let events = lines(&inp.events);
    let ts: Vec<&str> = events.iter().map(|l| &l[7..31]).collect();
    assert!(timestamp::parse_timestamp(ts[0]).is_some(), "{}", ts[0]);
    let mut g = group(c, "timestamp");
    let mut find = |name: &str, lines: &[&str]| {
        g.throughput(Throughput::Bytes(bytes_of(lines)));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut sum = 0i64;
                for l in lines {
                    sum = sum.wrapping_add(timestamp::find_timestamp(l).unwrap_or(0));
                }
                black_box(sum)
            })
        });
    };
    find("auto_access_log", &access);
    find("auto_jsonl_rfc3339", &events);
    g.throughput(Throughput::Bytes(ts.iter().map(|t| t.len() as u64).sum()));
    g.bench_function("field_rfc3339", |b| {
        b.iter(|| {
            let mut sum = 0i64;
            for t in &ts {
                sum = sum.wrapping_add(timestamp::parse_timestamp(t).unwrap_or(0));
            }
            black_box(sum)
        })
    });
    // --tz: the same times without their zone, read as Paris wall clock
    let paris = spate::zone::Zone::parse("Europe/Paris").ok();
    let local: Vec<&str> = ts.iter().map(|t| &t[..19]).collect();
    assert!(
        timestamp::parse_timestamp_in(local[0], paris).is_some(),
        "{}",
        local[0]
    );
    g.throughput(Throughput::Bytes(
        local.iter().map(|t| t.len() as u64).sum(),
    ));
    g.bench_function("field_rfc3339_tz", |b| {
        b.iter(|| {
            let mut sum = 0i64;
            for t in &local {
                sum = sum.wrapping_add(timestamp::parse_timestamp_in(t, paris).unwrap_or(0));
            }
            black_box(sum)
        })
    });
    // --event-time-format: the compiled program against chrono's parser
    let fmt = spate::strftime::Strftime::compile("%Y/%m/%d %H:%M:%S").expect("a format");
    let slashed: Vec<String> = local
        .iter()
        .map(|t| t.replace('-', "/").replace('T', " "))
        .collect();
    assert!(fmt.parse(&slashed[0], None).is_some(), "{}", slashed[0]);
    g.throughput(Throughput::Bytes(
        slashed.iter().map(|t| t.len() as u64).sum(),
    ));
    for (name, chrono) in [
        ("field_strftime_compiled", false),
        ("field_strftime_chrono", true),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut sum = 0i64;
                for t in &slashed {
                    let v = if chrono {
                        fmt.parse_with_chrono(t, None)
                    } else {
                        fmt.parse(t, None)
                    };
                    sum = sum.wrapping_add(v.unwrap_or(0));
                }
                black_box(sum)
            })
        });
    }
    g.finish();
}

fn formatters(c: &mut Criterion) {
    // stats-like rows: a text key, an integer and two floats
    let mut rng = Rng(0x5EED_0006);
    let vocab = vocabulary(ROWS);
    let rows: Vec<Record<'static>> = vocab
        .into_iter()
        .map(|k| {
            Record::row(vec![
                (Cow::Borrowed("key"), Value::owned_str(k)),
                (
                    Cow::Borrowed("count"),
                    Value::Int(1 + rng.zipf(100_000) as i64),
                ),
                (Cow::Borrowed("mean"), Value::Float(250.0 * rng.unit())),
                (Cow::Borrowed("p99"), Value::Float(2500.0 * rng.unit())),
            ])
        })
        .collect();
    let mut g = group(c, "format");
    for (name, fmt) in [("tsv", OutputFormat::Tsv), ("json", OutputFormat::Json)] {
        let mut out = Vec::new();
        format(fmt, &rows, &mut out);
        g.throughput(Throughput::Bytes(out.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                format(fmt, &rows, &mut out);
                black_box(out.len())
            })
        });
    }
    g.finish();
}

/// The percentile accumulator of `stats` on its own: adding a million
/// values of each shape (uniform in random and in ascending order, heavy
/// tailed, few distinct), merging sixty partial sketches of those values
/// (a batch's worker parts, a window's panes) and asking the four
/// percentiles of the merged sketch.
fn quantiles(c: &mut Criterion) {
    const N: usize = 1_000_000;
    let mut rng = Rng(0x5EED_0007);
    let uniform: Vec<f64> = (0..N).map(|_| rng.unit()).collect();
    let mut ascending = uniform.clone();
    ascending.sort_by(f64::total_cmp);
    // lognormal-ish: e^(a sum of uniforms)
    let tailed: Vec<f64> = (0..N)
        .map(|_| ((0..4).map(|_| rng.unit()).sum::<f64>() * 2.0 - 4.0).exp())
        .collect();
    let few: Vec<f64> = (0..N).map(|_| rng.below(1000) as f64).collect();
    let sketch = |values: &[f64]| {
        let mut q = Quantiles::new();
        for &x in values {
            q.add(x);
        }
        q
    };
    let mut g = group(c, "quantile");
    g.throughput(Throughput::Elements(N as u64));
    for (name, values) in [
        ("add_uniform", &uniform),
        ("add_ascending", &ascending),
        ("add_tailed", &tailed),
        ("add_few_distinct", &few),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| black_box(sketch(black_box(values)).retained()))
        });
    }
    let parts: Vec<Quantiles> = uniform.chunks(N / 60).map(sketch).collect();
    g.throughput(Throughput::Elements(parts.len() as u64));
    g.bench_function("merge_60_parts", |b| {
        b.iter(|| {
            let mut whole = Quantiles::new();
            for p in &parts {
                whole.merge(black_box(p));
            }
            black_box(whole.retained())
        })
    });
    let whole = sketch(&uniform);
    g.throughput(Throughput::Elements(4));
    g.bench_function("query_4", |b| {
        b.iter(|| black_box(whole.quantiles(black_box(&[50.0, 90.0, 95.0, 99.0]))))
    });
    g.finish();
}

fn engine(c: &mut Criterion, inp: &Inputs) {
    let mut g = group(c, "engine");
    let mut run = |name: &str, args: &[&str], input: &str| {
        g.throughput(Throughput::Bytes(input.len() as u64));
        let bytes = input.as_bytes().to_vec();
        g.bench_function(name, |b| {
            b.iter_batched(
                || bytes.clone(),
                |data| black_box(spate::run::run_in_memory(args, data).expect("runs")),
                BatchSize::PerIteration,
            )
        });
    };
    run(
        "count_words",
        &["-b", "eof", "-o", "tsv", "count"],
        &inp.words,
    );
    run(
        "count_access",
        &["-b", "eof", "-o", "tsv", "count"],
        &inp.access,
    );
    run(
        "count_event_time_auto_access",
        &["--event-time", "auto", "-b", "1m", "-o", "tsv", "count"],
        &inp.access,
    );
    run(
        "count_events",
        &["-b", "eof", "-o", "tsv", "count"],
        &inp.events,
    );
    g.finish();
}

fn benches(c: &mut Criterion) {
    let inp = Inputs {
        words: words(INPUT_BYTES),
        access: access_log(INPUT_BYTES),
        events: events_jsonl(INPUT_BYTES),
        csv: events_csv(INPUT_BYTES),
        logfmt: events_logfmt(INPUT_BYTES),
    };
    per_record(c, &inp);
    aggregations(c, &inp);
    post(c);
    timestamps(c, &inp);
    formatters(c);
    quantiles(c);
    engine(c, &inp);
}

criterion_group! {
    name = ops;
    // no plots: drawing them took about 4 s per benchmark here, more than
    // the measuring; drop this for criterion's charts
    config = Criterion::default().without_plots();
    targets = benches
}
criterion_main!(ops);
