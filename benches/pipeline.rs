//! Micro-benchmarks of whole chains over generated data, in process:
//! split + count-by-key (T1's shape) and parse + count-by-key by event time
//! (T2's shape), plus json + stats (T3's shape). Timings are reported, never
//! asserted; compare runs with `cargo bench -- --save-baseline NAME`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Deterministic English-like words (a tiny xorshift, Zipf-ish by squaring).
fn words(bytes: usize) -> Vec<u8> {
    let vocab: Vec<String> = (0..5000).map(|i| format!("w{}x{}", i % 97, i)).collect();
    let mut out = Vec::with_capacity(bytes + 100);
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    while out.len() < bytes {
        for k in 0..10 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let r = (s % 10_000) as f64 / 10_000.0;
            let idx = ((r * r) * vocab.len() as f64) as usize;
            if k > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(vocab[idx.min(vocab.len() - 1)].as_bytes());
        }
        out.push(b'\n');
    }
    out
}

fn access_log(lines: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..lines {
        let sec = i / 20;
        let status = [200, 200, 200, 304, 404, 500][i % 6];
        out.extend_from_slice(
            format!(
                "10.0.{}.{} - - [10/Mar/2024:{:02}:{:02}:{:02} +0000] \"GET /p/{} HTTP/1.1\" {} {} \"-\" \"curl/8\"\n",
                i % 250,
                i % 199,
                12 + sec / 3600,
                (sec / 60) % 60,
                sec % 60,
                i % 300,
                status,
                100 + i % 5000
            )
            .as_bytes(),
        );
    }
    out
}

fn events(lines: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..lines {
        out.extend_from_slice(
            format!(
                "{{\"ts\":\"2024-03-10T12:{:02}:{:02}.000Z\",\"service\":\"svc{}\",\"level\":\"info\",\"latency_ms\":{}.{},\"user\":\"u{:06}\"}}\n",
                (i / 600) % 60,
                (i / 10) % 60,
                i % 20,
                i % 900,
                i % 1000,
                i % 77777
            )
            .as_bytes(),
        );
    }
    out
}

fn bench(c: &mut Criterion) {
    let w = words(8 << 20);
    let a = access_log(80_000);
    let e = events(80_000);
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(w.len() as u64));
    g.bench_function("split_count_by_key", |b| {
        b.iter(|| {
            spate::run::run_in_memory(
                &["-b", "eof", "-o", "tsv", "split", "then", "count-by-key"],
                w.clone(),
            )
        })
    });
    g.throughput(Throughput::Bytes(a.len() as u64));
    g.bench_function("parse_count_by_key_event_time", |b| {
        b.iter(|| {
            spate::run::run_in_memory(
                &[
                    "--event-time",
                    "auto",
                    "-b",
                    "1m",
                    "-o",
                    "tsv",
                    "parse",
                    r#"" (?P<status>\d{3}) "#,
                    "then",
                    "count-by-key",
                    "status",
                ],
                a.clone(),
            )
        })
    });
    g.bench_function("parse_count_by_key_sliding_1h", |b| {
        b.iter(|| {
            spate::run::run_in_memory(
                &[
                    "--event-time",
                    "auto",
                    "-b",
                    "1m",
                    "-o",
                    "tsv",
                    "parse",
                    r#"" (?P<status>\d{3}) "#,
                    "then",
                    "window",
                    "1h",
                    "--slide",
                    "1m",
                    "then",
                    "count-by-key",
                    "status",
                ],
                a.clone(),
            )
        })
    });
    g.throughput(Throughput::Bytes(e.len() as u64));
    g.bench_function("json_stats_mean", |b| {
        b.iter(|| {
            spate::run::run_in_memory(
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
                    "mean",
                    "-g",
                    "service",
                ],
                e.clone(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
