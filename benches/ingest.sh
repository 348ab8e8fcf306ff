#!/usr/bin/env bash
# Benchmarks `cplogs ingest` (release build): events/s and peak RSS (/usr/bin/time -v)
# on about a million demo events, from a file and through a pipe, and on a million
# events spread over ten years (3,650 days x 3 tables) in random order, under
# `ulimit -n 256`, which is the worst case for the per-partition buffers.
#   bash benches/ingest.sh            # keeps its data in $CPLOGS_BENCH_DIR or a temp dir
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p cplogs --bin cplogs >&2
bin="${CARGO_TARGET_DIR:-target}/release/cplogs"
work="${CPLOGS_BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$work"
[ -n "${CPLOGS_BENCH_DIR:-}" ] || trap 'rm -rf "$work"' EXIT

dense="$work/demo-1m.jsonl"
sparse="$work/ten-years-1m.jsonl"
if [ ! -s "$dense" ]; then
  "$bin" demo --print-events --pipelines 200 --days 30 --runs-per-day 8 --end 2026-03-10 >"$dense"
fi
if [ ! -s "$sparse" ]; then
  "$bin" demo --print-events --pipelines 11 --days 3650 --runs-per-day 1 --end 2026-03-10 |
    shuf --random-source=<(yes) >"$sparse"
fi

# run NAME COMMAND…: one ingest into a fresh directory, then its figures.
run() {
  local name=$1
  shift
  rm -rf "$work/out"
  local log="$work/time.log"
  local started ended
  started=$(date +%s.%N)
  /usr/bin/time -v -o "$log" bash -c "$*" 2>"$work/ingest.log" >/dev/null
  ended=$(date +%s.%N)
  local events rss files
  events=$(grep -o 'ingested [0-9]* event' "$work/ingest.log" | grep -o '[0-9]*')
  files=$(grep -o 'into [0-9]* file' "$work/ingest.log" | grep -o '[0-9]*')
  rss=$(awk -F': ' '/Maximum resident set size/ { print int($2 / 1024) }' "$log")
  awk -v n="$name" -v e="$events" -v f="$files" -v r="$rss" -v s="$started" -v t="$ended" \
    'BEGIN { d = t - s; printf "%-34s %9d events %6d files %7.2f s %9.0f events/s  peak RSS %4d MB\n", n, e, f, d, e / d, r }'
}

echo "ingest benchmark ($(nproc) cores), data in $work"
run "demo 1M events, file" "'$bin' ingest --out '$work/out' '$dense'"
run "demo 1M events, stdin pipe" "cat '$dense' | '$bin' ingest --out '$work/out' -"
run "10 years shuffled, ulimit -n 256" "ulimit -n 256; exec '$bin' ingest --out '$work/out' '$sparse'"
