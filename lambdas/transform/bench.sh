#!/usr/bin/env bash
# The transform Lambda against the original project's Python transform, through the
# same Lambda Runtime API harness (../shared/bench, see its README), on one generated
# Firehose batch, in one run: prints ms per batch (median) for both and the ratio, and
# the harness floor: the same Runtime API loop posting a response computed once
# (examples/io_floor.rs), i.e. everything but the transform.
#
# usage: lambdas/transform/bench.sh [RECORDS=4000] [ROUNDS=3]
#   env: CPLOGS_BENCH_DIR (default ../shared/bench), CARGO_TARGET_DIR,
#        CPLOGS_BENCH_BASELINE=path/to/an/older/cplogs-transform (timed too, for a
#        before/after under the same load)
set -euo pipefail
cd "$(dirname "$0")/../.."
records=${1:-4000}
rounds=${2:-3}
bench=$(cd "${CPLOGS_BENCH_DIR:-../shared/bench}" && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cplogs-target}"

cargo build --release --locked -p cplogs-transform --bins --examples
binary="$CARGO_TARGET_DIR/release/cplogs-transform"
floor="$CARGO_TARGET_DIR/release/examples/io_floor"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# gen_fh.py looks for its template at <its dir>/../shared/fixtures; give it that
# layout, with this repository's fixtures (the same AWS samples).
mkdir -p "$tmp/bench" "$tmp/shared"
ln -s "$bench/gen_fh.py" "$tmp/bench/gen_fh.py"
ln -s "$PWD/tests/fixtures" "$tmp/shared/fixtures"
python3 "$tmp/bench/gen_fh.py" "$records" "$tmp/batch.json"

# Rounds alternate the two, so that both meet the same load; each round's first
# invocations (connection set-up, allocator warm-up, imports) are left out.
for round in $(seq "$rounds"); do
  python3 "$bench/lambda_rt.py" "$binary" "$tmp/batch.json" --times 15 \
    --env CPLOGS_TABLE=action_execution_state_change --out "$tmp/ours.json" >>"$tmp/ours.jsonl"
  python3 "$bench/lambda_rt.py" "$bench/seed_bootstrap.py" "$tmp/batch.json" --times 8 \
    >>"$tmp/seed.jsonl"
  python3 "$bench/lambda_rt.py" "$floor" "$tmp/batch.json" --times 15 \
    --env CPLOGS_TABLE=action_execution_state_change --env CPLOGS_FLOOR_REQUEST="$tmp/batch.json" \
    >>"$tmp/floor.jsonl"
  if [ -n "${CPLOGS_BENCH_BASELINE:-}" ]; then
    python3 "$bench/lambda_rt.py" "$CPLOGS_BENCH_BASELINE" "$tmp/batch.json" --times 15 \
      --env CPLOGS_TABLE=action_execution_state_change --out "$tmp/baseline.json" >>"$tmp/baseline.jsonl"
  fi
  echo "round $round done" >&2
done

python3 - "$tmp" "$records" <<'PY'
import json, statistics, sys
tmp, records = sys.argv[1], int(sys.argv[2])
def samples(name, skip):
    out = []
    for line in open(f"{tmp}/{name}.jsonl"):
        r = json.loads(line)
        assert r["errors"] == 0 and r["finished"], r
        out += r["ms"][skip:]
    return out
ours, seed = samples("ours", 3), samples("seed", 2)
resp = json.load(open(f"{tmp}/ours.json"))["records"]
assert len(resp) == records and all(r["result"] == "Ok" for r in resp)
mo, ms = statistics.median(ours), statistics.median(seed)
print(f"batch: {records} records")
print(f"cplogs-transform: {mo:.2f} ms/batch (median of {len(ours)}, min {min(ours):.2f})")
print(f"python original:  {ms:.2f} ms/batch (median of {len(seed)}, min {min(seed):.2f})")
print(f"ratio: {ms / mo:.1f}x")
mf = statistics.median(samples("floor", 3))
print(f"harness floor:    {mf:.2f} ms/batch (the same exchange, response precomputed); "
      f"the transform adds {mo - mf:.2f} ms; at the floor the ratio would be {ms / mf:.1f}x")
import os
if os.path.exists(f"{tmp}/baseline.jsonl"):
    base = samples("baseline", 3)
    mb = statistics.median(base)
    same = open(f"{tmp}/baseline.json", "rb").read() == open(f"{tmp}/ours.json", "rb").read()
    print(f"baseline binary:  {mb:.2f} ms/batch (median of {len(base)}), ratio {ms / mb:.1f}x; "
          f"responses {'byte-identical' if same else 'DIFFER'}")
PY
