#!/usr/bin/env bash
# The whole test suite: the README's test command, and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cplogs-target}"

# The Lambdas must build from the core alone: no CLI, engine or Athena code in them.
check_deps() {
  local package=$1 pattern=$2 found
  found=$(cargo tree --locked -p "$package" -e normal --prefix none | grep -E "^($pattern) " || true)
  if [ -n "$found" ]; then
    echo "$package depends on crates it must not compile:" >&2
    echo "$found" >&2
    exit 1
  fi
}
cli_only='clap|clap_builder|indicatif|comfy-table|datafusion|arrow[a-z-]*|aws-sdk-athena|anyhow'
check_deps cplogs-transform "$cli_only|aws-sdk-glue|aws-sdk-s3|aws-config"
check_deps cplogs-partition "$cli_only|aws-sdk-s3"
echo "lambda dependency check: ok (no CLI-only crates in the Lambdas)"

# The template and the Lambda packages (cfn-lint, checkov, cargo-lambda).
bash tests/infra.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# The S3 and Glue tests run against moto's server, which with-moto.sh starts and stops.
bash tests/with-moto.sh cargo test --workspace --locked 2>&1 | tee "$log" || status=$?
# The second SQL engine's own checks (DuckDB through sqlglot; tests/reports.rs runs
# every report on it and on the local engine and compares).
"$(bash tests/venv.sh)/bin/python" tests/duckdb_engine_selftest.py 2>&1 | tee -a "$log" || status=$?
# One closing line for the whole suite (the last cargo line is the doc-tests').
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
