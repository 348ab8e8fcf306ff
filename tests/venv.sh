#!/usr/bin/env bash
# Prints the path of the Python venv that holds the test tools (moto's server,
# cfn-lint, checkov, cargo-lambda with zig, and DuckDB with sqlglot for the second
# SQL engine, tests/duckdb_engine.py), creating or completing it first.
# It lives outside the clone so CI runs reuse it.
set -euo pipefail
venv="${CPLOGS_VENV:-$HOME/.cache/cplogs-venv}"
# Bump when the requirements change, so existing venvs are completed.
stamp="$venv/.cplogs-tools-3"
if [ ! -f "$stamp" ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    'moto[server]>=5.1,<6' 'cfn-lint>=1.30,<2' 'checkov>=3.2,<4' \
    'cargo-lambda>=1.8,<2' 'ziglang>=0.13,<0.15' \
    'duckdb==2.0.1' 'sqlglot==30.30.0' >&2
  touch "$stamp"
fi
echo "$venv"
