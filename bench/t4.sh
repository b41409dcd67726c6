#!/usr/bin/env bash
# t4.sh - T4 of ../shared/bench: the live socket word count. feeder.py
# serves words.txt on 127.0.0.1 as fast as it is read; spate counts words
# in 100 ms batches with --stats. Prints lines/s sustained (every line
# counted: the exit summary must show nothing dropped) and the delay from
# each batch's end to its output (--stats total_delay), median and p99.
#
# usage: bench/t4.sh WORDS_TXT [SECONDS] [SPATE_BIN] [extra spate options...]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$here/../shared/bench}
words=${1:?usage: bench/t4.sh WORDS_TXT [SECONDS] [SPATE_BIN]}
secs=${2:-10}
spate=${3:-$here/target/release/spate}
shift $(( $# < 3 ? $# : 3 ))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$shared/feeder.py" --input "$words" --seconds "$secs" --rate "${T4_RATE:-0}" \
  --max-lines 1000000000000 --port-file "$work/port" --linger 1 >"$work/feed" 2>&1 &
feeder=$!
for _ in $(seq 50); do [[ -s $work/port ]] && break; sleep 0.1; done
port=$(cat "$work/port")
"$spate" -i "tcp://127.0.0.1:$port" -b 100ms --stats -o tsv "$@" split then count-by-key \
  >/dev/null 2>"$work/err" || true
[[ -n ${T4_KEEP:-} ]] && cp "$work/err" "$T4_KEEP"
wait "$feeder" 2>/dev/null || true
python3 - "$work/err" "$work/feed" <<'PY'
import re, sys
err = open(sys.argv[1]).read().splitlines()
delays, lines, dropped = [], 0, 0
for l in err:
    if l.startswith("spate: batch "):
        d = dict(kv.split("=", 1) for kv in l.split()[3:] if "=" in kv)
        t = d.get("total_delay", "-")
        if t.endswith("ms"): delays.append(float(t[:-2]))
        elif t.endswith("µs"): delays.append(float(t[:-2]) / 1000)
        elif t.endswith("s"): delays.append(float(t[:-1]) * 1000)
        lines, dropped = int(d["total_lines"]), int(d["total_dropped"])
# the batches while the feeder was sending, less the first and the last
# (partial: connection start and end)
stats = [l for l in err if l.startswith("spate: batch ")]
busy = [(int(re.search(r"records=(\d+)", l).group(1)), dl) for l, dl in zip(stats, delays)]
busy = [b for b in busy if b[0] > 0][1:-1]
full = [r for r, _ in busy]
delays = sorted(dl for _, dl in busy)
def pct(p): return delays[min(len(delays) - 1, int(p * len(delays)))] if delays else float("nan")
rate = sum(full) / (len(full) * 0.1) if full else 0
print(f"batches {len(stats)}, lines read {lines}, dropped {dropped}, "
      f"sustained {rate/1e6:.2f}M lines/s over full batches, "
      f"total_delay median {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms, max {delays[-1] if delays else 0:.1f} ms")
PY
