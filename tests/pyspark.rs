//! `--emit pyspark`: the program each operator maps to (valid Python, the
//! expected Spark calls), the chains it refuses (exit 2, one line), and
//! equivalence with real Spark: spate and the emitted programs run on the
//! same generated input and must print the same rows. The Spark part runs
//! every program in one Spark session; where pyspark or Java is missing it
//! says "skipped: ..." on stderr (past the harness's capture) and returns.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{BIN, assert_text, normalize_times, skipped, spate};

fn python_ok() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Why Spark cannot run here (pyspark not importable, no Java), if so.
fn spark_missing() -> Option<String> {
    let pyspark = Command::new("python3")
        .args(["-c", "import pyspark"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !pyspark {
        return Some("python3 cannot import pyspark (pip install pyspark)".into());
    }
    // pyspark starts $JAVA_HOME/bin/java, else java on PATH
    let java = std::env::var_os("JAVA_HOME")
        .map(|h| Path::new(&h).join("bin").join("java"))
        .unwrap_or_else(|| "java".into());
    let ok = Command::new(&java)
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    (!ok).then(|| {
        format!(
            "{} -version does not run (Spark needs Java 17)",
            java.display()
        )
    })
}

/// The program for `args` (spate's options and chain), checked to be
/// valid Python.
fn emit(args: &[&str]) -> String {
    let mut all = vec!["--emit", "pyspark"];
    all.extend_from_slice(args);
    let out = spate(&all).run();
    assert_eq!(out.code, 0, "spate {all:?}: {}", out.stderr);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    if python_ok() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("job.py");
        std::fs::write(&path, &out.stdout).expect("write program");
        let c = Command::new("python3")
            .args(["-m", "py_compile"])
            .arg(&path)
            .output()
            .expect("run python3");
        assert!(
            c.status.success(),
            "not valid Python: {}\n{}",
            String::from_utf8_lossy(&c.stderr),
            out.stdout
        );
    }
    out.stdout
}

#[track_caller]
fn has(program: &str, needles: &[&str]) {
    for n in needles {
        assert!(program.contains(n), "program lacks {n:?}:\n{program}");
    }
}

#[test]
fn pyspark_split_and_count_by_key() {
    let p = emit(&[
        "-i",
        "w.txt",
        "-b",
        "eof",
        "-o",
        "tsv",
        "split",
        "then",
        "count-by-key",
        "then",
        "head",
        "3",
    ]);
    has(
        &p,
        &[
            "F.explode(F.split(",
            "(?U)\\\\s+",
            ".groupBy(",
            "AGGREGATION = \"count-by-key\"",
            "rows = op_head(rows, 3)",
            "spark.read.text(",
            "DEFAULT_INPUT = [\"w.txt\"]",
            "BOUNDED = True",
        ],
    );
}

#[test]
fn pyspark_split_literal_and_regex() {
    let p = emit(&[
        "-i", "w.txt", "-b", "eof", "-o", "tsv", "split", ",", "then", "split", "-r", "[0-9]+",
        "then", "count",
    ]);
    has(
        &p,
        &[
            "F.split(txt(F.col(\"f1\")), \"\\\\,\", -1)",
            "F.split(txt(F.col(\"f2\")), \"(?U)[0-9]+\", -1)",
        ],
    );
}

#[test]
fn pyspark_map_functions() {
    let chain = [
        "-i",
        "a.log",
        "-b",
        "eof",
        "-o",
        "tsv",
        "map",
        "lower",
        "then",
        "map",
        "upper",
        "then",
        "map",
        "trim",
        "then",
        "map",
        "replace",
        "(?P<x>a)b",
        "${x}-$$",
        "then",
        "map",
        "extract",
        "id=(\\d+)",
        "then",
        "map",
        "field",
        "2",
        "-d",
        ",",
        "then",
        "map",
        "-f",
        "t",
        "template",
        "<{_}>",
        "then",
        "count-by-key",
        "t",
    ];
    let p = emit(&chain);
    has(
        &p,
        &[
            "F.lower(",
            "F.upper(",
            "F.regexp_replace(txt(F.col(\"f3\")), \"(?U)^\\\\s+|\\\\s+$\", \"\")",
            "\"(?U)(a)b\", \"$1-\\\\$\"",
            "F.regexp_extract(",
            ".rlike(\"(?U)id=(\\\\d+)\")",
            "F.element_at(F.split(",
            "F.concat(F.lit(\"<\"), F.coalesce(txt(",
        ],
    );
}

#[test]
fn pyspark_grep_where_parse() {
    let p = emit(&[
        "-i",
        "a.log",
        "-b",
        "eof",
        "-o",
        "tsv",
        "grep",
        "-i",
        "-v",
        "bot",
        "then",
        "parse",
        "\" (?P<status>\\d{3}) ",
        "then",
        "where",
        "status",
        ">=",
        "400",
        "then",
        "where",
        "path~^/api",
        "then",
        "count",
    ]);
    has(
        &p,
        &[
            "~F.coalesce(txt(F.col(\"f1\")).rlike(\"(?U)(?i)bot\"), F.lit(False))",
            "F.regexp_extract(txt(F.col(\"f1\")), \"(?U)\\\" (\\\\d{3}) \", 1)",
            "where_cmp(F.col(\"f2\"), \">=\", 400, \"400\")",
            "where_match(missing(), \"(?U)^/api\", False)",
        ],
    );
}

#[test]
fn pyspark_parsers_read_the_fields_the_chain_uses() {
    let p = emit(&[
        "-i",
        "e.jsonl",
        "-b",
        "eof",
        "-o",
        "jsonl",
        "json",
        "then",
        "stats",
        "-f",
        "ms",
        "-a",
        "p99,distinct",
        "-g",
        "user.id",
    ]);
    has(
        &p,
        &[
            "json_fields(txt(F.col(\"f1\")), [[\"_\"], [\"ms\"], [\"user\", \"id\"]])",
            "F.percentile_approx(num(",
            "F.size(F.collect_set(",
            "Percentiles: Spark streaming has no exact percentile",
            "distinct: Spark streaming allows no COUNT(DISTINCT)",
        ],
    );
    let p = emit(&[
        "-i",
        "l.log",
        "-b",
        "eof",
        "-o",
        "csv",
        "logfmt",
        "then",
        "count-by-key",
        "level",
    ]);
    has(
        &p,
        &[
            "logfmt_pairs(txt(",
            "logfmt_value(F.col(\"__l\"), \"level\")",
        ],
    );
    let p = emit(&[
        "-i",
        "c.csv",
        "-b",
        "eof",
        "-o",
        "tsv",
        "csv",
        "--columns",
        "a,b",
        "then",
        "count-by-key",
        "b",
        "3",
    ]);
    has(
        &p,
        &[
            "csv_values(txt(",
            "F.element_at(F.col(\"__c\"), 2)",
            "F.element_at(F.col(\"__c\"), 3)",
        ],
    );
}

#[test]
fn pyspark_fields_and_rows_operators() {
    let p = emit(&[
        "-i", "e.jsonl", "-b", "eof", "-o", "jsonl", "json", "then", "fields", "a,b", "then",
        "sort", "-r", "a", "then", "head", "2",
    ]);
    has(
        &p,
        &[
            "COLUMNS = [(\"a\", ",
            "rows = op_sort(rows, [\"a\"], True)",
            "rows = op_head(rows, 2)",
        ],
    );
    let p = emit(&[
        "-i",
        "w.txt",
        "-b",
        "eof",
        "-o",
        "tsv",
        "split",
        "then",
        "count-by-key",
        "then",
        "top",
        "3",
        "-f",
        "count",
    ]);
    has(&p, &["rows = op_top(rows, 3, \"count\")"]);
    let p = emit(&[
        "-i", "e.jsonl", "-b", "eof", "-o", "tsv", "json", "then", "stats", "-f", "ms", "-a",
        "p99", "-g", "svc,path", "then", "top", "3", "-f", "p99", "-g", "svc",
    ]);
    has(&p, &["rows = op_top(rows, 3, \"p99\", [\"svc\"])"]);
}

#[test]
fn pyspark_join_is_a_broadcast_join_read_at_start() {
    let p = emit(&[
        "-i",
        "a.log",
        "-b",
        "10s",
        "-o",
        "tsv",
        "parse",
        r#"" (?P<status>\d{3}) "#,
        "then",
        "join",
        "codes.csv",
        "--on",
        "status=code",
        "--missing",
        "drop",
        "then",
        "count-by-key",
        "meaning",
    ]);
    has(
        &p,
        &[
            // the table path as given; the fields the chain reads
            "df = join_table(df, F.col(\"f2\"), \"codes.csv\", \"csv\", \"code\", [\"_\", \"meaning\", \"status\"], True)",
            // a field the record has keeps its value
            "F.coalesce(F.col(\"f2\"), F.col(\"__jv2\"))",
            "F.broadcast(table)",
            "\"inner\" if drop else \"left\"",
            "# - join codes.csv: the table is read once, on the driver, when the job",
        ],
    );
    let p = emit(&[
        "-i",
        "e.jsonl",
        "-b",
        "eof",
        "-o",
        "tsv",
        "json",
        "then",
        "join",
        "u.jsonl",
        "--on",
        "user.id=id",
        "then",
        "fields",
        "user.id,tier",
    ]);
    has(
        &p,
        &["\"u.jsonl\", \"jsonl\", \"id\", [\"_\", \"tier\", \"user.id\"], False)"],
    );
}

#[test]
fn pyspark_windows_and_sources() {
    let p = emit(&[
        "-i",
        "a.log",
        "--event-time",
        "auto",
        "--lateness",
        "5s",
        "-b",
        "1m",
        "-o",
        "tsv",
        "window",
        "5m",
        "--slide",
        "1m",
        "then",
        "count",
    ]);
    has(
        &p,
        &[
            "WINDOW_ARGS = (\"300000 milliseconds\", \"60000 milliseconds\")",
            "LATENESS = \"5000 milliseconds\"",
            "find_ts(F.col(\"__raw\"))",
            ".withWatermark(\"__ts\", LATENESS)",
            "F.window(\"__ts\", *WINDOW_ARGS)",
            "outputMode(\"append\")",
        ],
    );
    let p = emit(&[
        "-i",
        "tcp://127.0.0.1:9999",
        "-b",
        "2s",
        "-o",
        "tsv",
        "split",
        "then",
        "window",
        "all",
        "then",
        "count-by-key",
    ]);
    has(
        &p,
        &[
            "RUNNING = True",
            "outputMode(\"complete\")",
            "format(\"socket\")",
            "BATCH_MS = 2000",
            "BOUNDED = False",
        ],
    );
    let p = emit(&[
        "-i",
        "kafka://k1:9092,k2:9092/logs",
        "-b",
        "10s",
        "-o",
        "jsonl",
        "count",
    ]);
    has(
        &p,
        &["format(\"kafka\")", "spark-sql-kafka", "SPLIT_LINES = True"],
    );
    let p = emit(&["-i", "logs/", "-F", "-b", "10s", "-o", "tsv", "count"]);
    has(&p, &["BOUNDED = False", "spark.readStream.text(src)"]);
}

#[test]
fn pyspark_window_session_is_session_window_per_key() {
    let p = emit(&[
        "-i",
        "a.log",
        "--event-time",
        "auto",
        "-b",
        "10s",
        "-o",
        "tsv",
        "map",
        "field",
        "2",
        "then",
        "window",
        "session",
        "30s",
        "then",
        "count-by-key",
    ]);
    has(
        &p,
        &[
            // Spark merges gaps up to its own: GAP - 1µs merges those less than GAP
            "SESSION = \"29999999 microseconds\"",
            "F.session_window(\"__ts\", SESSION).alias(\"window\")",
            "COLUMNS = [(\"key\", \"k0\", \"key\"), (\"session_start\", \"__ss\", \"time\"), \
             (\"session_end\", \"__se\", \"time\"), (\"count\", \"a0\", \"i\")]",
            "outputMode(\"append\")",
            "window session is Spark's session_window per key",
        ],
    );
}

#[test]
fn pyspark_refusals_exit_2_with_one_line() {
    let cases: &[(&[&str], &str)] = &[
        (&["-o", "tsv", "count"], "standard input"),
        // run options the program does not honour are refused, never ignored
        (
            &["-i", "x", "-o", "tsv", "--with-start", "count"],
            "--with-start",
        ),
        (
            &["-i", "x", "-o", "tsv", "--exit-on-row", "count"],
            "--exit-on-row",
        ),
        (
            &[
                "-i",
                "x",
                "--event-time",
                "auto",
                "--speed",
                "2",
                "-o",
                "tsv",
                "count",
            ],
            "--speed",
        ),
        (&["-i", "x", "--output-file", "o", "count"], "--output-file"),
        (
            &["-i", "x", "-o", "tsv", "--dead-letter", "d", "count"],
            "--dead-letter",
        ),
        (
            &["-i", "x", "-o", "tsv", "--state", "s", "count"],
            "--state",
        ),
        (
            &["-i", "listen://127.0.0.1:9", "-o", "tsv", "count"],
            "nc -lk",
        ),
        (
            &["-i", "x", "--batch-lines", "10", "-o", "tsv", "count"],
            "--batch-lines",
        ),
        (
            &["-i", "tcp://h:1", "-b", "eof", "-o", "tsv", "count"],
            "-b eof with tcp://",
        ),
        (&["-i", "x", "-b", "eof", "-o", "pretty", "count"], "-o tsv"),
        (
            &["-i", "x", "-b", "eof", "-o", "tsv", "--emit-empty", "count"],
            "--emit-empty",
        ),
        (
            &[
                "-i", "x", "-b", "10s", "-o", "tsv", "window", "1m", "then", "count",
            ],
            "--event-time",
        ),
        (
            &[
                "-i",
                "x",
                "-b",
                "1m",
                "--event-time",
                "auto",
                "-o",
                "tsv",
                "window",
                "all",
                "then",
                "count",
            ],
            "window all with --event-time",
        ),
        (
            &[
                "-i", "x", "-b", "10s", "-o", "tsv", "window", "session", "1m", "then", "count",
            ],
            "window session in processing time",
        ),
        (
            &["-i", "x", "-b", "eof", "-o", "tsv", "json"],
            "then fields",
        ),
        (
            &[
                "-i", "x", "-b", "eof", "-o", "tsv", "csv", "--header", "then", "count",
            ],
            "--columns",
        ),
        (
            &[
                "-i",
                "x",
                "-b",
                "eof",
                "-o",
                "tsv",
                "parse",
                "(?P<a>x)?y",
                "then",
                "count",
            ],
            "take part",
        ),
        (
            &[
                "-i",
                "x",
                "-b",
                "eof",
                "-o",
                "tsv",
                "grep",
                "[[:alpha:]]",
                "then",
                "count",
            ],
            "[[:alpha:]]",
        ),
        (
            &[
                "-i", "x", "-b", "eof", "-o", "tsv", "head", "3", "then", "count",
            ],
            "sort or head before an aggregation",
        ),
        (
            &["-i", "x", "-i", "tcp://h:1", "-o", "tsv", "count"],
            "different kinds",
        ),
        // operators whose files state a refusal, or refuse some arguments
        (
            &[
                "-i",
                "x",
                "-b",
                "eof",
                "-o",
                "tsv",
                "eval",
                "y = a + 1",
                "then",
                "count",
            ],
            "operator 1 (eval): --emit pyspark does not translate eval's expressions",
        ),
        (
            &[
                "-i", "x", "-b", "eof", "-o", "tsv", "join", "t.csv", "--on", "a",
            ],
            "join's fields are only known from the data; end the chain with `then fields",
        ),
    ];
    for (args, why) in cases {
        let mut all = vec!["--emit", "pyspark"];
        all.extend_from_slice(args);
        let out = spate(&all).run();
        assert_eq!(
            out.code, 2,
            "spate {all:?} should be refused: {}",
            out.stdout
        );
        assert!(out.stdout.is_empty());
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr.contains(why),
            "spate {all:?}: {:?} lacks {why:?}",
            out.stderr
        );
    }
    // a usage error of the chain is the same as without --emit
    let out = spate(["--emit", "pyspark", "-i", "x", "-o", "tsv", "count-by-kee"]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("did you mean 'count-by-key'"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------
// Equivalence with Spark.

/// A small deterministic generator, so that every run sees the same data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

const SERVICES: [&str; 4] = ["api", "db", "web", "auth"];
const LEVELS: [&str; 3] = ["info", "warn", "error"];
const PATHS: [&str; 5] = [
    "/",
    "/api/users",
    "/api/orders?id=7",
    "/static/app.js",
    "/login",
];

fn civil(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // days from 1970-01-01 to civil (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

fn rfc3339(secs: i64, millis: i64) -> String {
    let (y, m, d, h, mi, s) = civil(secs);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{millis:03}Z")
}

fn clf(secs: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d, h, mi, s) = civil(secs);
    format!(
        "{d:02}/{}/{y:04}:{h:02}:{mi:02}:{s:02} +0000",
        MONTHS[(m - 1) as usize]
    )
}

/// Writes the inputs: an access log, JSON events, logfmt and CSV lines,
/// all in time order (2024-03-10 from 12:00), and a text of words.
fn write_inputs(dir: &Path) {
    let mut r = Lcg(7);
    let start = 1_710_072_000; // 2024-03-10T12:00:00Z
    let (mut access, mut events, mut logfmt, mut csv) =
        (String::new(), String::new(), String::new(), String::new());
    let mut t = start * 1000;
    for i in 0..3000 {
        t += r.next(900) as i64;
        let (secs, ms) = (t / 1000, t % 1000);
        let svc = SERVICES[r.next(4) as usize];
        let level = LEVELS[(r.next(10) / 4) as usize];
        let status = [200, 200, 200, 301, 404, 500][r.next(6) as usize];
        let path = PATHS[r.next(5) as usize];
        let ip = format!("10.0.{}.{}", r.next(3), r.next(20));
        let bytes = r.next(5000);
        let agent = if r.next(7) == 0 {
            "Googlebot/2.1"
        } else {
            "curl/8.0"
        };
        let _ = writeln!(
            access,
            "{ip} - - [{}] \"GET {path} HTTP/1.1\" {status} {bytes} \"-\" \"{agent}\"",
            clf(secs)
        );
        let latency = if i % 3 == 0 {
            format!("{}.{}", r.next(500), r.next(10))
        } else {
            r.next(800).to_string()
        };
        let user = r.next(9);
        let _ = writeln!(
            events,
            "{{\"ts\":\"{}\",\"service\":\"{svc}\",\"level\":\"{level}\",\"latency_ms\":{latency},\"user\":{{\"id\":{user}}},\"ok\":{}}}",
            rfc3339(secs, ms),
            status < 400
        );
        if i % 50 == 0 {
            events.push_str("not json at all\n");
        }
        let _ = writeln!(
            logfmt,
            "ts={} level={level} msg=\"{} request \\\"x\\\"\" ms={latency} path={path}",
            rfc3339(secs, ms),
            if i % 2 == 0 { "slow" } else { "fast" }
        );
        let host = if svc == "db" {
            "\"db, primary\"".to_string()
        } else {
            format!("{svc}-1")
        };
        let _ = writeln!(csv, "{host},{status},{bytes}");
    }
    std::fs::write(dir.join("access.log"), access).expect("write access.log");
    std::fs::write(dir.join("events.jsonl"), events).expect("write events.jsonl");
    std::fs::write(dir.join("app.log"), logfmt).expect("write app.log");
    std::fs::write(dir.join("hosts.csv"), csv).expect("write hosts.csv");
    // fields that come and go, text that reads as a number (or nearly),
    // JSON strings that do
    let mut mixed = String::new();
    let mut codes = String::new();
    for i in 0..200 {
        let a = ["007", "12", "1.50", "x"][r.next(4) as usize];
        let b = ["-3", "0.25", "1e5", "200"][r.next(4) as usize];
        let line = match r.next(4) {
            0 => format!("a={a} b={b}"),
            1 => format!("b={b} c=c{i}"),
            2 => format!("c={i}"),
            _ => format!("c=c{i} a={a} b={b}"),
        };
        let _ = writeln!(mixed, "{line}");
        let _ = writeln!(codes, "{{\"code\":\"{}\",\"n\":{}}}", r.next(3), r.next(3));
    }
    std::fs::write(dir.join("mixed.log"), mixed).expect("write mixed.log");
    std::fs::write(dir.join("codes.jsonl"), codes).expect("write codes.jsonl");
    std::fs::write(dir.join("empty.txt"), "").expect("write empty.txt");
    // users' clicks, each user's apart by exactly a session's GAP (two
    // sessions), 1ms less (one), or much less or more
    let mut clicks: Vec<(i64, &str, u64)> = Vec::new();
    for (u, user) in ["ann", "bob", "cy", "dee", "eve"].iter().enumerate() {
        let mut t = start * 1000 + u as i64 * 3_700;
        for _ in 0..80 {
            t += [30_000, 29_999, 45_000, 44_999, 20_000, 1_500, 250, 61_000][r.next(8) as usize];
            clicks.push((t, user, r.next(4)));
        }
    }
    clicks.sort();
    let clicks: String = clicks
        .iter()
        .map(|(t, user, p)| format!("{} {user} /p{p}\n", rfc3339(t / 1000, t % 1000)))
        .collect();
    std::fs::write(dir.join("clicks.log"), clicks).expect("write clicks.log");
    // floats whose text rounds on a tie of their binary value (0.0078125
    // prints 0.007812, as 5e-7 prints 0), integral floats past 2^53, and
    // text that reads as a number but for a last line break
    let mut floats = String::new();
    for (i, x) in [
        "0.0078125",
        "0.007812",
        "5e-7",
        "0",
        "1152921504606846976.0",
        "2.5e-6",
        "\"5\\n\"",
        "\"5\"",
        "1e21",
        "-1e-7",
        "123.4565",
    ]
    .iter()
    .cycle()
    .take(60)
    .enumerate()
    {
        let _ = writeln!(floats, "{{\"g\":\"g{}\",\"x\":{x}}}", i % 3);
    }
    // an integer past 2^53 is its own key; (stats' min and max on Spark
    // are doubles, so the stats chain leaves it out)
    floats.push_str("{\"g\":\"big\",\"x\":1152921504606846977}\n");
    std::fs::write(dir.join("floats.jsonl"), floats).expect("write floats.jsonl");
    // join's lookup tables: a CSV whose 200 comes twice (the last wins)
    // and that has no 500, a JSON lines table whose keys print as the
    // events' user ids (2.0 is 2, "03" is not 3; 6 to 8 have no row), a
    // TSV table with a column the records have (theirs stays)
    std::fs::write(
        dir.join("status.csv"),
        "status,meaning,class\n200,OK,2xx\n301,\"Moved, Permanently\",3xx\n\n404,Not Found,4xx\n200,Fine,2xx\n",
    )
    .expect("write status.csv");
    std::fs::write(
        dir.join("users.jsonl"),
        "{\"id\":0,\"tier\":\"free\",\"quota\":0.5}\n{\"id\":\"1\",\"tier\":\"gold\",\"quota\":10}\n\
         {\"id\":2.0,\"tier\":\"silver\",\"quota\":2.5}\n{\"id\":3,\"tier\":\"free\",\"quota\":1,\"x\":{\"a\":1}}\n\
         {\"id\":\"03\",\"tier\":\"never\"}\n{\"id\":4,\"tier\":\"bronze\"}\n{\"tier\":\"no key\"}\n\
         {\"id\":4,\"tier\":\"iron\",\"quota\":4}\n{\"id\":5,\"tier\":\"gold\",\"quota\":10.0}\n",
    )
    .expect("write users.jsonl");
    std::fs::write(
        dir.join("ab.tsv"),
        "a\tlabel\tb\n007\tdouble-oh-seven\t-1\n7\tseven\t7\n12\ttwelve\t\n1.50\t\"one\tfifty\"\tB\n",
    )
    .expect("write ab.tsv");
    let words =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/words.txt"))
            .expect("read tests/data/words.txt");
    std::fs::write(dir.join("words.txt"), words).expect("write words.txt");
}

/// The chains compared with Spark: every operator, every window kind, the
/// parsers, the output formats. Each is (input file, options and chain).
const CHAINS: &[(&str, &[&str])] = &[
    // csv and tsv columns that never shift, number text in jsonl, the
    // empty -b eof batch
    (
        "mixed.log",
        &[
            "-b", "eof", "-o", "csv", "logfmt", "then", "fields", "a,b,c",
        ],
    ),
    (
        "mixed.log",
        &[
            "-b",
            "eof",
            "-o",
            "tsv",
            "--header",
            "parse",
            r"^c=(?P<c>\S+)|b=(?P<b>\S+)",
        ],
    ),
    (
        "mixed.log",
        &[
            "-b", "eof", "-o", "jsonl", "logfmt", "then", "fields", "c,b,a",
        ],
    ),
    (
        "codes.jsonl",
        &[
            "-b",
            "eof",
            "-o",
            "json",
            "json",
            "then",
            "count-by-key",
            "code",
            "n",
        ],
    ),
    // float keys grouped by their text, as spate prints them
    (
        "floats.jsonl",
        &[
            "-b",
            "eof",
            "-o",
            "tsv",
            "json",
            "then",
            "count-by-key",
            "x",
        ],
    ),
    (
        "floats.jsonl",
        &[
            "-b",
            "eof",
            "-o",
            "jsonl",
            "json",
            "then",
            "where",
            "g",
            "!=",
            "big",
            "then",
            "stats",
            "-f",
            "x",
            "-a",
            "count,max,min,distinct",
            "-g",
            "g",
        ],
    ),
    // "5\n" is text, not the number 5
    (
        "floats.jsonl",
        &[
            "-b",
            "eof",
            "-o",
            "tsv",
            "json",
            "then",
            "where",
            "x",
            "==",
            "5",
            "then",
            "count-by-key",
            "g",
        ],
    ),
    // window session: per key, for one stream, after parsers, in every
    // format and time format, with operators after it
    (
        "clicks.log",
        &[
            "--event-time",
            "auto",
            "-b",
            "10s",
            "-o",
            "tsv",
            "--header",
            "map",
            "field",
            "2",
            "then",
            "window",
            "session",
            "30s",
            "then",
            "count-by-key",
        ],
    ),
    (
        "clicks.log",
        &[
            "--event-time",
            "auto",
            "-b",
            "1m",
            "-o",
            "json",
            "parse",
            r"Z (?P<user>\w+) (?P<page>\S+)",
            "then",
            "window",
            "session",
            "45s",
            "then",
            "count-by-key",
            "user",
            "page",
            "then",
            "top",
            "1",
            "-g",
            "user",
        ],
    ),
    // top -g: the N largest of each group, groups ascending, numbers
    // before text, the empty group last
    (
        "events.jsonl",
        &[
            "-b",
            "eof",
            "-o",
            "tsv",
            "json",
            "then",
            "stats",
            "-f",
            "latency_ms",
            "-a",
            "count,max",
            "-g",
            "service,level",
            "then",
            "top",
            "2",
            "-f",
            "max",
            "-g",
            "service",
        ],
    ),
    (
        "mixed.log",
        &[
            "-b",
            "eof",
            "-o",
            "jsonl",
            "logfmt",
            "then",
            "count-by-key",
            "a",
            "b",
            "then",
            "top",
            "1",
            "-g",
            "a",
        ],
    ),
    (
        "clicks.log",
        &[
            "--event-time",
            "auto",
            "-b",
            "500ms",
            "-o",
            "jsonl",
            "--time-format",
            "epoch",
            "window",
            "session",
            "20s",
            "then",
            "count",
        ],
    ),
    (
        "events.jsonl",
        &[
            "--event-time",
            "ts",
            "-b",
            "10s",
            "-o",
            "csv",
            "--time-format",
            "epoch-ms",
            "json",
            "then",
            "window",
            "session",
            "2s",
            "then",
            "stats",
            "-f",
            "latency_ms",
            "-a",
            "count,max,p50",
            "-g",
            "service",
        ],
    ),
    ("empty.txt", &["-b", "eof", "-o", "csv", "count"]),
    (
        "empty.txt",
        &[
            "-b",
            "eof",
            "-o",
            "tsv",
            "--header",
            "split",
            "then",
            "count-by-key",
        ],
    ),
    (
        "words.txt",
        &[
            "-b",
            "eof",
            "-o",
            "tsv",
            "split",
            "then",
            "count-by-key",
            "then",
            "head",
            "25",
        ],
    ),
    (
        "words.txt",
        &[
            "-b",
            "eof",
            "-o",
            "tsv",
            "map",
            "lower",
            "then",
            "split",
            "-r",
            "[^a-z]+",
            "then",
            "map",
            "upper",
            "then",
            "count-by-key",
            "then",
            "top",
            "10",
        ],
    ),
    (
        "words.txt",
        &[
            "-b", "eof", "-o", "jsonl", "split", "then", "grep", "^[a-f]", "then", "sort", "-r",
            "_", "then", "head", "12",
        ],
    ),
    (
        "words.txt",
        &[
            "-b", "eof", "-o", "tsv", "split", "then", "window", "all", "then", "count",
        ],
    ),
    (
        "access.log",
        &[
            "-b",
            "eof",
            "-o",
            "tsv",
            "parse",
            "^(?P<ip>\\S+) .*\" (?P<status>\\d{3}) (?P<bytes>\\d+)",
            "then",
            "where",
            "status",
            ">=",
            "400",
            "then",
            "count-by-key",
            "status",
            "ip",
            "then",
            "sort",
            "ip",
            "status",
        ],
    ),
    (
        "access.log",
        &[
            "--event-time",
            "auto",
            "-b",
            "1m",
            "-o",
            "tsv",
            "parse",
            "\" (?P<status>\\d{3}) ",
            "then",
            "count-by-key",
            "status",
        ],
    ),
    (
        "access.log",
        &[
            "--event-time",
            "auto",
            "-b",
            "1m",
            "-o",
            "csv",
            "grep",
            "-v",
            "bot",
            "then",
            "window",
            "5m",
            "--slide",
            "1m",
            "then",
            "count",
        ],
    ),
    (
        "access.log",
        &[
            "-b",
            "eof",
            "-o",
            "tsv",
            "map",
            "field",
            "1",
            "then",
            "map",
            "extract",
            "^\\d+\\.\\d+\\.(\\d+)",
            "then",
            "count-by-key",
            "then",
            "top",
            "3",
        ],
    ),
    (
        "access.log",
        &[
            "-b",
            "eof",
            "-o",
            "tsv",
            "grep",
            "-i",
            "GET",
            "then",
            "map",
            "replace",
            "HTTP/(\\d)\\.(?P<minor>\\d)",
            "h${minor}_$1",
            "then",
            "map",
            "field",
            "2",
            "-d",
            "\"",
            "then",
            "count-by-key",
        ],
    ),
    (
        "events.jsonl",
        &[
            "--event-time",
            "ts",
            "-b",
            "1m",
            "-o",
            "tsv",
            "json",
            "then",
            "stats",
            "-f",
            "latency_ms",
            "-a",
            "count,sum,mean,min,max,p50,p99,distinct",
            "-g",
            "service",
        ],
    ),
    (
        "events.jsonl",
        &[
            "-b",
            "eof",
            "-o",
            "jsonl",
            "json",
            "then",
            "where",
            "level",
            "==",
            "error",
            "then",
            "count-by-key",
            "service",
            "user.id",
        ],
    ),
    (
        "events.jsonl",
        &[
            "-b",
            "eof",
            "-o",
            "tsv",
            "json",
            "then",
            "map",
            "-f",
            "service",
            "template",
            "{service}/{level}",
            "then",
            "grep",
            "-v",
            "-f",
            "service",
            "^db",
            "then",
            "count-by-key",
            "service",
        ],
    ),
    (
        "events.jsonl",
        &[
            "-b",
            "eof",
            "-o",
            "jsonl",
            "json",
            "then",
            "where",
            "latency_ms",
            "<",
            "20",
            "then",
            "fields",
            "ts,service,latency_ms,ok,user",
        ],
    ),
    (
        "app.log",
        &[
            "-b",
            "eof",
            "-o",
            "csv",
            "logfmt",
            "then",
            "stats",
            "-f",
            "ms",
            "-a",
            "mean,max,count",
            "-g",
            "level,msg",
        ],
    ),
    (
        "app.log",
        &[
            "--event-time",
            "ts",
            "-b",
            "1m",
            "-o",
            "json",
            "logfmt",
            "then",
            "window",
            "2m",
            "then",
            "count-by-key",
            "level",
        ],
    ),
    (
        "hosts.csv",
        &[
            "-b",
            "eof",
            "-o",
            "jsonl",
            "csv",
            "--columns",
            "host,status,bytes",
            "then",
            "stats",
            "-f",
            "bytes,status",
            "-a",
            "sum,max",
            "-g",
            "host",
        ],
    ),
    (
        "app.log",
        &[
            "--event-time",
            "ts",
            "-b",
            "1m",
            "-o",
            "tsv",
            "logfmt",
            "then",
            "where",
            "ms",
            ">",
            "400",
            "then",
            "fields",
            "ts,level,path",
        ],
    ),
    // join: a broadcast of the table read at start; keep and drop, a key
    // with no row, a record without the key field, FIELD=COLUMN, keys
    // equal by their text, JSON types, a field the record has kept
    (
        "access.log",
        &[
            "-b",
            "eof",
            "-o",
            "tsv",
            "parse",
            r#"" (?P<status>\d{3}) "#,
            "then",
            "join",
            "status.csv",
            "--on",
            "status",
            "then",
            "count-by-key",
            "meaning",
        ],
    ),
    (
        "access.log",
        &[
            "-b",
            "eof",
            "-o",
            "jsonl",
            "parse",
            r#"" (?P<status>\d{3}) (?P<bytes>\d+)"#,
            "then",
            "join",
            "status.csv",
            "--on",
            "status",
            "--missing",
            "drop",
            "then",
            "fields",
            "status,meaning,class,bytes",
        ],
    ),
    (
        "events.jsonl",
        &[
            "-b",
            "eof",
            "-o",
            "csv",
            "json",
            "then",
            "join",
            "users.jsonl",
            "--on",
            "user.id=id",
            "then",
            "stats",
            "-f",
            "latency_ms",
            "-a",
            "count,max",
            "-g",
            "tier,quota",
        ],
    ),
    (
        "mixed.log",
        &[
            "-b",
            "eof",
            "-o",
            "csv",
            "logfmt",
            "then",
            "join",
            "ab.tsv",
            "--on",
            "a",
            "then",
            "fields",
            "a,b,c,label",
        ],
    ),
    (
        "events.jsonl",
        &[
            "--event-time",
            "ts",
            "-b",
            "1m",
            "-o",
            "json",
            "json",
            "then",
            "join",
            "users.jsonl",
            "--on",
            "user.id=id",
            "--missing",
            "drop",
            "then",
            "count-by-key",
            "tier",
        ],
    ),
];

const DRIVER: &str = r#"
import importlib.util, json, sys, time, traceback
from pyspark.sql import SparkSession
jobs = json.load(open(sys.argv[1]))
spark = (SparkSession.builder.master("local[2]").appName("spate-equivalence")
         .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
for job in jobs:
    started = time.time()
    try:
        spec = importlib.util.spec_from_file_location("job%d" % job["n"], job["program"])
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        with open(job["out"], "w") as out:
            mod.main(job["argv"], spark=spark, out=out)
    except BaseException:
        with open(job["out"] + ".err", "w") as err:
            err.write(traceback.format_exc())
    print("job %d: %.1fs" % (job["n"], time.time() - started), file=sys.stderr)
spark.stop()
"#;

#[test]
fn pyspark_programs_match_spate_on_real_spark() {
    if let Some(why) = spark_missing() {
        skipped(&format!(
            "pyspark_programs_match_spate_on_real_spark: {why}; the {} chains were not compared \
             with Spark",
            CHAINS.len()
        ));
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write_inputs(d);
    let mut jobs = Vec::new();
    let mut expected = Vec::new();
    for (n, (input, args)) in CHAINS.iter().enumerate() {
        let path = d.join(input);
        let path = path.to_str().expect("utf-8 temp path");
        let mut full = vec!["-i", path];
        full.extend_from_slice(args);
        // in the inputs' directory, where join's tables are named as given
        let out = spate(&full)
            .current_dir(d)
            .timeout(Duration::from_secs(60))
            .run();
        assert_eq!(out.code, 0, "spate {full:?}: {}", out.stderr);
        expected.push(out.stdout);
        let program = emit(&full);
        let prog = d.join(format!("job{n}.py"));
        std::fs::write(&prog, program).expect("write program");
        jobs.push(serde_json::json!({
            "n": n,
            "program": prog,
            "out": d.join(format!("job{n}.out")),
            "argv": ["--checkpoint", d.join(format!("ck{n}"))],
        }));
    }
    std::fs::write(
        d.join("jobs.json"),
        serde_json::Value::Array(jobs).to_string(),
    )
    .expect("write jobs");
    std::fs::write(d.join("driver.py"), DRIVER).expect("write driver");
    let started = Instant::now();
    let run = Command::new("python3")
        .arg(d.join("driver.py"))
        .arg(d.join("jobs.json"))
        .current_dir(d)
        .env("TZ", "UTC")
        .output()
        .expect("run python3");
    let took = started.elapsed();
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "the Spark driver failed:\n{log}");
    let mut failures = String::new();
    for (n, (input, args)) in CHAINS.iter().enumerate() {
        let what = format!("chain {n}: spate -i {input} {}", args.join(" "));
        if let Ok(err) = std::fs::read_to_string(d.join(format!("job{n}.out.err"))) {
            let _ = writeln!(failures, "{what}: the program failed:\n{err}");
            continue;
        }
        let actual = std::fs::read_to_string(d.join(format!("job{n}.out"))).unwrap_or_default();
        // -b eof batches are stamped with the wall clock: compare the rows
        let (want, got) = (normalize_times(&expected[n]), normalize_times(&actual));
        if want.is_empty() {
            let _ = writeln!(failures, "{what}: spate printed nothing");
        } else if want != got {
            let _ = writeln!(failures, "{what}:\n{}", crate::util::diff(&want, &got));
        }
    }
    eprintln!(
        "pyspark: {} chains compared with Spark in {:.1}s (one Spark session)",
        CHAINS.len(),
        took.as_secs_f64()
    );
    assert_text("", &failures, "spate and Spark");
    let _ = BIN;
}
