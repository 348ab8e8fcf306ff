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

# The Lambdas compile only the cplogs modules they call: src/lib.rs and src/aws/mod.rs
# gate every module by a feature, so the features a Lambda enables are what it gets
# (the transform: none, the core alone; the partition: `aws` with `glue`).
check_features() {
  local package=$1 want=$2 found
  found=$(cargo tree --locked -p "$package" -e normal --prefix none --format '{p}|{f}' |
    sed -n 's/^cplogs v[^|]*|//p' | sort -u)
  if [ "$found" != "$want" ]; then
    echo "$package enables the cplogs features '$found'; it must enable exactly '$want'" >&2
    exit 1
  fi
}
check_features cplogs-transform ''
check_features cplogs-partition 'aws,glue'
echo "lambda feature check: ok (transform: core only; partition: aws, glue)"

# The template and the Lambda packages (cfn-lint, checkov, cargo-lambda).
bash tests/infra.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# The S3 and Glue tests run against moto's server, which with-moto.sh starts and stops.
# Two cargo invocations: `cargo test --workspace` would unify features, building the
# Lambdas' tests against the CLI's cplogs (DataFusion and all); apart, the Lambdas'
# tests build with the features the Lambdas enable.
bash tests/with-moto.sh bash -c '
  status=0
  cargo test -p cplogs --locked || status=$?
  cargo test -p cplogs-transform -p cplogs-partition --locked || status=$?
  exit "$status"' 2>&1 | tee "$log" || status=$?
# The second SQL engine's own checks (DuckDB through sqlglot; tests/engine/reports.rs
# runs every report on it and on the local engine and compares).
"$(bash tests/venv.sh)/bin/python" tests/duckdb_engine_selftest.py 2>&1 | tee -a "$log" || status=$?
# The benchmark against DuckDB (benches/compare.py), as a smoke run: tiny data, one
# run, the debug binary the tests built; it fails if any report fails on either side.
bench_dir=$(mktemp -d)
CPLOGS_BIN="$CARGO_TARGET_DIR/debug/cplogs" CPLOGS_BENCH_DIR="$bench_dir" \
  "$(bash tests/venv.sh)/bin/python" benches/compare.py --smoke || status=$?
rm -rf "$bench_dir"
# The build without AWS that the README's first command makes (last: it builds the
# debug binary with other features, at the path the tests use).
bash tests/offline.sh 2>&1 | tee -a "$log" || status=$?
# One closing line for the whole suite (the last cargo line is the doc-tests').
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
