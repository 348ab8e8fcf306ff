#!/usr/bin/env bash
# The build without AWS (`--no-default-features --features cli`, what the README's
# first command builds): it has no AWS crate in its tree, runs a canned report on demo
# data, and answers a command or engine that needs AWS with a usage error (exit 2)
# that says how to get it, never clap's "unrecognized subcommand".
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cplogs-target}"
features=(--no-default-features --features cli)

aws=$(cargo tree --locked -p cplogs "${features[@]}" -e normal --prefix none |
  grep -E '^(aws-|hyper|rustls|h2) ' | sort -u || true)
if [ -n "$aws" ]; then
  echo "the build without AWS compiles AWS crates:" >&2
  echo "$aws" >&2
  exit 1
fi

cargo build --locked -q -p cplogs "${features[@]}" --bin cplogs
# Copied out: the next `cargo test` builds the full binary at the same path.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$CARGO_TARGET_DIR/debug/cplogs" "$tmp/cplogs"
bin="$tmp/cplogs"

fail() {
  echo "offline build: $*" >&2
  exit 1
}

# The README's first command.
"$bin" report failures --since 7d --demo --format json >"$tmp/out.json" 2>"$tmp/err" ||
  fail "report failures --demo failed: $(cat "$tmp/err")"
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["results"][0]["rows"]' \
  "$tmp/out.json" || fail "report failures --demo printed no rows"

"$bin" --version | grep -qF "(built without AWS: the embedded engine only)" ||
  fail "--version does not say the build has no AWS"

# What needs AWS: exit 2, naming what and how to build it.
expect_usage() {
  local what=$1
  shift
  local rc=0
  env -u CPLOGS_LOCAL -u CPLOGS_ENGINE "$bin" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  [ "$rc" = 2 ] || fail "cplogs $* exited $rc, not 2: $(cat "$tmp/err")"
  grep -qF "$what needs AWS, and this cplogs was built without it" "$tmp/err" ||
    fail "cplogs $*: unexpected message: $(cat "$tmp/err")"
  grep -q "cargo build --release" "$tmp/err" || fail "cplogs $*: no build hint"
}
expect_usage '`tables` is not a command of this build, or it' tables show
expect_usage '`backfill` is not a command of this build, or it' backfill --since 30d
expect_usage 'the Athena engine (from flag --engine)' report failures --since 7d --engine athena
expect_usage 'checking a deployment' doctor --bucket b
echo "offline build: ok (no AWS crates; report on demo data; AWS commands exit 2 and say why)"
