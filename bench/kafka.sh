#!/usr/bin/env bash
# kafka.sh - the Kafka row of the performance targets: spate counting a
# topic from a local tansu broker against a librdkafka consumer (the
# confluent-kafka package's consume(num_messages=10000) loop) counting the
# same topic, runs interleaved.
#
# usage: bench/kafka.sh [MESSAGES] [PARTITIONS]
#   MESSAGES    messages in the topic (default 5000000), one line each
#   PARTITIONS  its partitions (default 3)
#   RUNS=N      runs of each reader (default 3)
#
# Needs tansu (cargo install tansu --locked --features dynostore) on PATH
# or in ~/.cargo/bin, python3 with confluent-kafka (pip install
# confluent-kafka), GNU time. The broker listens on a free 127.0.0.1 port
# and is stopped at exit. Prints one line per run: wall seconds, CPU
# seconds (user+sys) and peak RSS of the reader, and the count it gave.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
messages=${1:-5000000}
partitions=${2:-3}
runs=${RUNS:-3}

tansu=$(command -v tansu || echo "$HOME/.cargo/bin/tansu")
[[ -x $tansu ]] || { echo "kafka.sh: tansu is not installed (cargo install tansu --locked --features dynostore)" >&2; exit 1; }
python3 -c 'import confluent_kafka' || { echo "kafka.sh: pip install confluent-kafka" >&2; exit 1; }
cargo build --release --manifest-path "$here/Cargo.toml" >&2
spate=${CARGO_TARGET_DIR:-$here/target}/release/spate

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
broker=127.0.0.1:$port
work=$(mktemp -d)
RUST_LOG=error "$tansu" broker --storage-engine memory://tansu/ \
  --listener-url "tcp://$broker" --advertised-listener-url "tcp://$broker" >"$work/tansu.log" 2>&1 &
tansu_pid=$!
trap 'kill $tansu_pid 2>/dev/null; wait $tansu_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 300); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
  sleep 0.1
done
RUST_LOG=error "$tansu" topic create bench --partitions "$partitions" --broker "tcp://$broker" >&2

cat >"$work/produce.py" <<'EOF'
import sys, time
from confluent_kafka import Producer
broker, n, parts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
p = Producer({"bootstrap.servers": broker, "linger.ms": 50, "batch.num.messages": 10000,
              "queue.buffering.max.messages": 1000000, "acks": "all"})
t0 = time.time()
for i in range(n):
    while True:
        try:
            p.produce("bench", b"line %d" % i, partition=i % parts)
            break
        except BufferError:
            p.poll(0.05)
    if i % 10000 == 0:
        p.poll(0)
left = p.flush(120)
print(f"produced {n - left} messages in {time.time() - t0:.1f}s", file=sys.stderr)
sys.exit(1 if left else 0)
EOF
cat >"$work/consume.py" <<'EOF'
# count the topic's N messages (its end offsets are not asked: tansu 0.6
# answers ListOffsets with the start of its last batch)
import sys, time
from confluent_kafka import Consumer, TopicPartition
broker, parts, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = Consumer({"bootstrap.servers": broker, "group.id": "bench-%d" % time.time_ns(),
              "auto.offset.reset": "earliest", "enable.auto.commit": False})
c.assign([TopicPartition("bench", p, 0) for p in range(parts)])
n = 0
while n < end:
    for m in c.consume(num_messages=10000, timeout=1.0):
        if m.error() is None:
            n += 1
c.close()
print(n)
EOF
python3 "$work/produce.py" "$broker" "$messages" "$partitions"

echo "## Kafka: $messages messages in $partitions partitions from tansu on 127.0.0.1 ($runs runs each, interleaved)"
for run in $(seq "$runs"); do
  /usr/bin/time -f "spate run $run: %e s wall, %U+%S s CPU, %M KiB" \
    "$spate" -i "kafka://$broker/bench?until=now" -b eof -o tsv count | cut -f2 | sed 's/^/  count /'
  /usr/bin/time -f "confluent-kafka run $run: %e s wall, %U+%S s CPU, %M KiB" \
    python3 "$work/consume.py" "$broker" "$partitions" "$messages" | sed 's/^/  count /'
done 2>&1
