#!/usr/bin/env bash
# Checks the deployable side: cfn-lint (no errors, no warnings) and checkov (no failed
# checks; skips are written in the template with their reasons) on infra/template.yaml,
# then builds both Lambdas with cargo-lambda for arm64 and checks each bootstrap.zip.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cplogs-target}"
venv=$(bash tests/venv.sh)
export PATH="$venv/bin:$PATH"

echo "== cfn-lint"
cfn-lint --version
cfn-lint infra/template.yaml
echo "cfn-lint: 0 errors, 0 warnings"

echo "== checkov"
checkov --version
checkov -f infra/template.yaml --framework cloudformation --skip-download --compact --quiet

echo "== cargo lambda build (arm64)"
arch=--arm64
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  # The template's Architecture parameter covers machines without the arm64 target.
  timeout 300 rustup target add aarch64-unknown-linux-gnu || {
    echo "warning: no aarch64 Rust target here; building x86_64 (Architecture=x86_64)" >&2
    arch=--x86-64
  }
fi
for fn in cplogs-transform cplogs-partition; do
  # One package at a time, as SAM builds them, so features do not unify across them.
  cargo lambda build --release "$arch" --locked -p "$fn" --output-format zip
  zip="$CARGO_TARGET_DIR/lambda/$fn/bootstrap.zip"
  [ -f "$zip" ] || { echo "missing $zip" >&2; exit 1; }
  size=$(stat -c %s "$zip")
  echo "$fn: bootstrap.zip $size bytes"
  [ "$size" -lt $((10 * 1024 * 1024)) ] || { echo "$zip is over 10 MB" >&2; exit 1; }
done
