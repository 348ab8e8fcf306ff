"""Local reports, cplogs against DuckDB, on the same files: time and peak memory.

For every canned report (and every `--by` of durations) this times the whole cplogs
process (`cplogs --local DIR report NAME ...`, median of --runs), cold (`--no-cache`),
warm (the same report again: answered from the cache, none of the files read) and
moved (the window a minute later, as the same relative window a minute on: the
answers are other keys, the files' columns come from the columnar cache), and DuckDB
running the same statements with the same semantics (cplogs' Trino SQL as sent,
transpiled and patched for DuckDB by tests/duckdb_engine.py, over views of the same
gzip files), and prints the warm and moved speed-ups over cold, the cold ratio to
DuckDB and both peak RSS figures (cplogs' cold runs). DuckDB's time is its query time inside a
warm Python process (interpreter start and `import duckdb` not counted), so the ratio is
a strict bar for cplogs, whose figure is the whole process.

    $(bash tests/venv.sh)/bin/python benches/compare.py            # ~1M events, 5 runs
    $(bash tests/venv.sh)/bin/python benches/compare.py --smoke    # tiny, 1 run (CI)

CPLOGS_BIN picks the binary (default: a release build, built if missing);
CPLOGS_BENCH_DIR keeps the generated data between runs.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

NOW = "2026-12-01T00:00:00Z"
WINDOW = ["--since", "2026-10-31", "--until", "2026-12-01", "--now", NOW]


def moved(minutes):
    """The same window, `minutes` later."""
    at = f"T00:{minutes:02d}:00Z"
    return ["--since", "2026-10-31" + at, "--until", "2026-12-01" + at,
            "--now", "2026-12-01" + at]


def binary():
    explicit = os.environ.get("CPLOGS_BIN")
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.expanduser("~/.cache/cplogs-target")
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "cplogs", "--bin", "cplogs"],
                   cwd=ROOT, check=True, env=dict(os.environ, CARGO_TARGET_DIR=target))
    return os.path.join(target, "release", "cplogs")


def run_child(argv):
    """Runs argv and returns (seconds, peak RSS MB, stdout) with wait4's own rusage."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {proc.returncode}")
    return seconds, usage.ru_maxrss / 1024, out


def cplogs_json(bin_, *args):
    out = subprocess.run([bin_, *args, "--format", "json"], check=True, capture_output=True)
    return json.loads(out.stdout)


def duckdb_child(spec_path):
    """The DuckDB side, in a child process: prints the median query time."""
    import duckdb_engine as de
    from duckdb_engine_selftest import TABLES  # the tables as src/core/schema.rs declares them
    with open(spec_path) as f:
        spec = json.load(f)
    times = []
    for _ in range(spec["runs"]):
        con = de.connect()
        started = time.perf_counter()
        for t in TABLES:
            de.create_view(con, spec["root"], t)
        results = []
        for st in spec["statements"]:
            sql = de.transpile(st["sql"])
            results.append(con.execute(sql, st["params"]).fetchall())
        times.append(time.perf_counter() - started)
        con.close()
    print(json.dumps({"median": statistics.median(times), "results": results}, default=str))


def last_place(x):
    """One unit in the last decimal place of a number as printed (0.1 for 222.5)."""
    text = repr(x)
    if isinstance(x, float) and "." in text and "e" not in text:
        return 10.0 ** -len(text.split(".")[1])
    return 0.0


def same_rows(ours, theirs):
    """Whether cplogs' JSON results and DuckDB's rows are the same answer, statement by
    statement, row by row, in order. Numbers agree to 1e-9, and a rounded average may
    differ by one unit in its last place: `round(avg(x), 1)` of a mean that is exactly
    at .x5 in decimal lands on either side depending on the engine's floating sum
    (cplogs rounds half up as Trino does; DuckDB's sum can fall just below)."""
    if len(ours) != len(theirs):
        return False
    for mine, other in zip(ours, theirs):
        if len(mine["rows"]) != len(other):
            return False
        for a, b in zip(mine["rows"], other):
            a = list(a.values())
            if len(a) != len(b):
                return False
            for x, y in zip(a, b):
                if isinstance(x, (int, float)) and isinstance(y, (int, float)) \
                        and not isinstance(x, bool):
                    if abs(x - y) > max(1e-9 * max(abs(x), 1.0), last_place(x) * 1.000001):
                        return False
                elif x != y:
                    return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="tiny data, one run (CI)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--duckdb-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.duckdb_child:
        return duckdb_child(args.duckdb_child)
    runs = 1 if args.smoke else args.runs
    bin_ = binary()
    # The warm runs' cache, apart from the user's (removed at exit).
    cache = tempfile.TemporaryDirectory(prefix="cplogs-compare-cache-")
    os.environ["CPLOGS_CACHE_DIR"] = cache.name
    work = os.environ.get("CPLOGS_BENCH_DIR") or tempfile.mkdtemp(prefix="cplogs-compare-")
    data = os.path.join(work, "smoke" if args.smoke else "1m")
    if not os.path.isdir(data):
        size = ["--pipelines", "3", "--days", "5"] if args.smoke else \
            ["--pipelines", "200", "--days", "31", "--runs-per-day", "9"]
        subprocess.run([bin_, "demo", "--out", data, "--end", "2026-11-30", *size],
                       check=True, stderr=subprocess.DEVNULL)
    events = cplogs_json(bin_, "--local", data, "query",
                         "SELECT (SELECT count(*) FROM pipeline_execution_state_change) + "
                         "(SELECT count(*) FROM stage_execution_state_change) + "
                         "(SELECT count(*) FROM action_execution_state_change) AS n")
    n = events["results"][0]["rows"][0]["n"]
    print(f"{n} events in {data}; window 31 days; median of {runs} run(s)", file=sys.stderr)
    # Both tools read the files from the OS page cache: one untimed pass first, or the
    # first report timed would also time the disk.
    run_child([bin_, "--local", data, "report", "inventory", *WINDOW, "--no-cache",
               "--format", "json"])
    print(f"{'report':<24} {'cplogs s':>9} {'warm s':>7} {'warm x':>7} {'moved s':>8} {'moved x':>8} {'duckdb s':>9} {'ratio':>6} {'cplogs MB':>10} {'duckdb MB':>10}")
    ratios, warms, disagree = [], [], []
    for report in cplogs_json(bin_, "reports"):
        bys = sorted({s["by"] for s in report["sections"]} - {None}) or [None]
        for by in bys:
            extra = ["--by", by] if by else []
            label = report["name"] + (f" --by {by}" if by else "")
            argv = [bin_, "--local", data, "report", report["name"], *WINDOW, *extra]
            sent = cplogs_json(*argv, "--print-sql")["statements"]
            # Cold: every file read and decoded (--no-cache); warm: the cache filled by
            # a first run (in a cache directory of this benchmark's own); moved: the
            # window a minute later, so only the columnar cache serves.
            ours, our_rss = [], 0
            for _ in range(runs):
                s, rss, _ = run_child([*argv, "--format", "json", "--no-cache"])
                ours.append(s)
                our_rss = max(our_rss, rss)
            answer = json.loads(run_child([*argv, "--format", "json"])[2])["results"]
            warm = statistics.median(
                run_child([*argv, "--format", "json"])[0] for _ in range(runs))
            # Each run a minute further on, so no answer is cached.
            later = statistics.median(
                run_child([bin_, "--local", data, "report", report["name"], *moved(i + 1),
                           *extra, "--format", "json"])[0] for i in range(runs))
            spec = os.path.join(work, "spec.json")
            with open(spec, "w") as f:
                json.dump({"root": data, "runs": runs, "statements": [
                    {"sql": s["sql"], "params": s["params"]} for s in sent]}, f)
            _, duck_rss, out = run_child([sys.executable, __file__, "--duckdb-child", spec])
            duck_out = json.loads(out)
            duck = duck_out["median"]
            # The same answer as DuckDB's, on the benchmark's whole data: a fast wrong
            # answer is no result.
            if not same_rows(answer, duck_out["results"]):
                print(f"{label}: cplogs and DuckDB disagree", file=sys.stderr)
                disagree.append(label)
            mine = statistics.median(ours)
            ratio = mine / duck if duck > 0 else float("inf")
            ratios.append(ratio)
            speedup = lambda t: mine / t if t > 0 else float("inf")
            warms.append(speedup(warm))
            print(f"{label:<24} {mine:9.3f} {warm:7.3f} {speedup(warm):7.1f} {later:8.3f} {speedup(later):8.1f} {duck:9.3f} {ratio:6.2f} {our_rss:10.0f} {duck_rss:10.0f}")
    print(f"{'geometric mean ratio (cold)':<24} {statistics.geometric_mean(ratios):>50.2f}")
    print(f"{'lowest warm speed-up':<24} {min(warms):>17.1f}")
    if disagree:
        print(f"different answers: {', '.join(disagree)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
