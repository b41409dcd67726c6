#!/usr/bin/env bash
# compare.sh - spate side by side with its peers, and spate's own time
# benchmarks, on the shared deterministic data.
#
# usage: bench/compare.sh [SIZE_MB] [DATA_DIR]
#   SIZE_MB   size of each generated file (default 200)
#   DATA_DIR  where gen.py writes words.txt, access.log, events.jsonl
#             (default: target/bench-data/SIZE_MB)
#
# Needs ../shared/bench (gen.py, peers.sh) beside this repository, GNU time,
# and whichever peers are installed (peers.sh skips missing ones):
#   apt-get install -y gawk miller datamash jq time hyperfine
#   cargo install ag --locked
# Prints markdown on stdout. Timings are wall-clock medians; quote ratios
# measured in one run only (the machines are shared and noisy).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$here/../shared/bench}
size=${1:-200}
data=${2:-$here/target/bench-data/$size}

cargo build --release --manifest-path "$here/Cargo.toml" >&2
spate=$here/target/release/spate
if [[ ! -f $data/words.txt ]]; then
  python3 "$shared/gen.py" "$size" --out "$data" >&2
fi

echo "## Peers ($size MB files)"
SPATE=$spate RUNS=${RUNS:-3} bash "$shared/peers.sh" "$data" limits T1 T2 T3 spate

echo
echo "## Windows: sliding 1h every 1m vs tumbling 1m (access.log by event time)"
echo
A=$data/access.log
T2="--event-time auto --lateness 5s -b 1m -o tsv parse '\" (?P<status>\\d{3}) '"
md=$(mktemp)
trap 'rm -f "$md"' EXIT
# hyperfine's table goes to a file: its progress output is silenced
if hyperfine --warmup 1 --runs "${RUNS:-3}" --export-markdown "$md" \
  -n tumbling-1m "$spate $T2 then count-by-key status <$A" \
  -n sliding-1h-by-1m "$spate $T2 then window 1h --slide 1m then count-by-key status <$A" >/dev/null 2>&1; then
  cat "$md"
else
  echo "(hyperfine not installed)"
fi
for f in "$A"; do
  /usr/bin/time -f "peak RSS tumbling: %M KiB ($f)" bash -c "$spate $T2 then count-by-key status <$f >/dev/null"
  /usr/bin/time -f "peak RSS sliding 1h/1m: %M KiB ($f)" bash -c "$spate $T2 then window 1h --slide 1m then count-by-key status <$f >/dev/null"
done 2>&1

echo
echo "## Scaling: T1 on 1 and 2 threads (wall seconds of ${RUNS:-3} runs each)"
W=$data/words.txt
for t in 1 2; do
  for _ in $(seq "${RUNS:-3}"); do
    /usr/bin/time -f "T1 --threads $t: %e s wall, %U s user, %M KiB" "$spate" --threads "$t" -b eof -o tsv -i "$W" split then count-by-key >/dev/null
  done
done 2>&1

echo
echo "## The I/O path: -b eof count vs wc -l (words.txt)"
if hyperfine -N --warmup 2 --runs 10 --export-markdown "$md" \
  -n "wc -l" "wc -l $W" -n "spate -b eof count" "$spate -b eof -i $W count" >/dev/null 2>&1; then
  cat "$md"
else
  echo "(hyperfine not installed)"
fi

echo
echo "## T4: live word count over one TCP connection, -b 100ms (bench/t4.sh, ${T4_SECONDS:-60} s each: p99 of ~600 batches)"
echo "- as fast as the feeder sends: $(bash "$here/bench/t4.sh" "$W" "${T4_SECONDS:-60}" "$spate")"
echo "- paced at 2,000,000 lines/s: $(T4_RATE=2000000 bash "$here/bench/t4.sh" "$W" "${T4_SECONDS:-60}" "$spate")"

echo
echo "## Kafka: a 5,000,000-message topic from a local tansu broker (bench/kafka.sh)"
if command -v tansu >/dev/null 2>&1 || [[ -x $HOME/.cargo/bin/tansu ]]; then
  RUNS=${RUNS:-3} bash "$here/bench/kafka.sh" "${KAFKA_MESSAGES:-5000000}"
else
  echo "(tansu not installed: cargo install tansu --locked --features dynostore)"
fi
