#!/usr/bin/env bash
# The whole test suite: the README's test command, and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cplogs-target}"

# The Lambdas must build from the core alone: no CLI, engine or Athena code in them.
forbidden=$(cargo tree --locked -p cplogs-transform -e normal --prefix none \
  | grep -E '^(clap|clap_builder|indicatif|comfy-table|datafusion|arrow[a-z-]*|aws-sdk-athena|aws-sdk-glue|anyhow) ' || true)
if [ -n "$forbidden" ]; then
  echo "cplogs-transform depends on CLI-only crates:" >&2
  echo "$forbidden" >&2
  exit 1
fi
echo "lambda dependency check: ok (no CLI-only crates in cplogs-transform)"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked 2>&1 | tee "$log" || status=$?
# One closing line for the whole suite (the last cargo line is the doc-tests').
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
