#!/usr/bin/env bash
# Benchmarks `plover run` on a generated file of JSON lines (1 M by default), in memory (no
# data directory) and durable (log + dead letters, fsync every 100 ms): events per second from
# the run's own --json metrics, peak memory from /usr/bin/time -v (or VmHWM from /proc).
# Usage: scripts/bench-cli.sh [LINES]; figures go to docs/benchmarks-cli.md by hand. jq, when
# installed, runs the same checks for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."

lines=${1:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release -p plover-std --bin plover
plover=target/release/plover

echo "==> generating $lines lines in $work/input.jsonl"
awk -v n="$lines" 'BEGIN {
  for (i = 1; i <= n; i++)
    printf "{\"id\":%d,\"name\":\"user-%d\",\"score\":%d.5,\"active\":true,\"tags\":[\"a\",\"b\"]}\n", i, i, i % 1000
}' > "$work/input.jsonl"
ls -l "$work/input.jsonl" | awk '{print "    " $5 " bytes"}'

# Runs plover with the given flags; prints events/s and peak RSS.
measure() {
  local name=$1
  shift
  local metrics="$work/$name.json" timing="$work/$name.time"
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$plover" run "$work/input.jsonl" -q --json --output /dev/null \
      --require id:int --require name:string "$@" > "$metrics" 2> "$timing"
    peak_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$timing")
  else
    "$plover" run "$work/input.jsonl" -q --json --output /dev/null \
      --require id:int --require name:string "$@" > "$metrics" &
    local pid=$! peak=0
    while kill -0 "$pid" 2>/dev/null; do
      peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo "$peak")
      sleep 0.05
    done
    wait "$pid"
    peak_kb=$peak
  fi
  python3 - "$metrics" "$name" "$peak_kb" <<'PY'
import json, sys
m = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print(f"{sys.argv[2]:>10}: {m['processed']} processed, {m['dead_lettered']} dead letters, "
      f"{m['elapsed_s']:.2f} s, {m['events_per_s'] / 1e6:.2f} M events/s, "
      f"peak RSS {int(sys.argv[3]) / 1024:.1f} MiB")
PY
}

echo "==> in memory (no --data-dir)"
measure memory
echo "==> durable (--data-dir, --fsync interval:100)"
measure durable --data-dir "$work/data" --fsync interval:100
du -sh "$work/data" | awk '{print "    data directory after the run: " $1}'

# The tool a user would otherwise reach for: jq, doing the same checks and adding a field.
if command -v jq >/dev/null 2>&1; then
  echo "==> jq $(jq --version) doing the same checks (for comparison)"
  /usr/bin/time -f "%e %M" -o "$work/jq.time" jq -c \
    'select((.id|type)=="number" and (.name|type)=="string") | . + {_plover: {line: input_line_number}}' \
    "$work/input.jsonl" > /dev/null
  read -r secs kb < "$work/jq.time"
  awk -v s="$secs" -v kb="$kb" -v n="$lines" \
    'BEGIN { printf "        jq: %.2f s, %.2f M events/s, peak RSS %.1f MiB\n", s, n / s / 1e6, kb / 1024 }'
fi
