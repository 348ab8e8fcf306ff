"""Self-test of tests/duckdb_engine.py: the Trino semantics it promises, on a tiny generated root, and every bundled report running on it."""
# Run with the test-tools venv: `$(bash tests/venv.sh)/bin/python tests/duckdb_engine_selftest.py`.
# The last line is `test result: ok. N passed; M failed;` (FAILED. instead of ok.
# when M > 0), the shape the test summary adds up; the exit code is non-zero on
# any failure.
import glob
import gzip
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "duckdb_engine.py")
REPORTS = sorted(glob.glob(os.path.join(HERE, "..", "sql", "reports", "*.sql")))
# The cplogs binary gives the statements exactly as it sends them (--print-sql).
CPLOGS = os.environ.get("CPLOGS_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR") or os.path.expanduser("~/.cache/cplogs-target"),
    "debug", "cplogs")

# --- The tables, as src/schema.rs declares them (the runner takes them from here). --

TRIGGER = "struct<triggerType:string,triggerDetail:string,providerType:string,fullRepositoryName:string,branchName:string,tagName:string,commitId:string,commitMessage:string>"
ACTION_TYPE = "struct<owner:string,category:string,provider:string,version:string>"
RESULT = "struct<externalExecutionUrl:string,externalExecutionSummary:string,externalExecutionId:string,errorCode:string>"
ORIGINAL = ["timestamp", "eventVersion", "pipelineArn", "pipeline", "version", "state", "executionId"]
ADDED = ["eventId", "account", "eventRegion", "startTime", ("executionAttempt", "int")]


def columns(*keys):
    out = []
    for k in keys:
        key, ty = k if isinstance(k, tuple) else (k, "string")
        out.append({"key": key, "name": key.lower(), "type": ty})
    return out


PIPELINE = "pipeline_execution_state_change"
STAGE = "stage_execution_state_change"
ACTION = "action_execution_state_change"
MISSING = "missing_table"
TABLES = [
    {"name": PIPELINE, "columns": columns(*ORIGINAL, *ADDED, ("executionTrigger", TRIGGER), "stopExecutionComments")},
    {"name": STAGE, "columns": columns(*ORIGINAL, "stage", *ADDED, "stageLastRetryAttemptTime")},
    {"name": ACTION, "columns": columns(*ORIGINAL, "stage", "action", "region", ("type", ACTION_TYPE), *ADDED, "actionExecutionId", ("executionResult", RESULT))},
    # No folder at all: an empty view with these columns.
    {"name": MISSING, "columns": columns("someKey", ("nested", "struct<innerKey:string>"))},
]

# --- Data -------------------------------------------------------------------------

SEQ = [0]


def event(table, pipeline, execution, state, ts, **extra):
    SEQ[0] += 1
    record = {
        "timestamp": ts,
        "eventVersion": "0",
        "pipelineArn": f"arn:aws:codepipeline:eu-west-1:123456789012:{pipeline}",
        "pipeline": pipeline,
        "version": "3",
        "state": state,
        "executionId": execution,
        "eventId": f"ev-{SEQ[0]:04d}",
        "account": "123456789012",
        "eventRegion": "eu-west-1",
        "startTime": extra.pop("startTime", None) or ts,
        "executionAttempt": 1,
        # A key the table does not declare: ignored, as by Athena.
        "detail-type": table,
    }
    record.update(extra)
    return record


def pipeline_events():
    push = {"triggerType": "Webhook", "commitId": "c0ffee1", "branchName": "main"}
    return [
        event(PIPELINE, "pipe-a", "A1", "STARTED", "2026-11-01T10:00:00.600Z", executionTrigger=push),
        event(PIPELINE, "pipe-a", "A1", "SUCCEEDED", "2026-11-01T10:05:00Z", executionTrigger=push),
        event(PIPELINE, "pipe-a", "A2", "STARTED", "2026-11-02T10:00:00Z", executionTrigger={"triggerType": "StartPipelineExecution"}),
        event(PIPELINE, "pipe-a", "A2", "FAILED", "2026-11-02T10:01:30Z"),
        event(PIPELINE, "pipe-a", "A3", "STARTED", "2026-11-02T12:00:00.000Z"),
        event(PIPELINE, "pipe-a", "A3", "SUCCEEDED", "2026-11-02T14:10:00.500+02:00"),
        # Still running: the stuck report's row, and the timeline's latest start.
        event(PIPELINE, "pipe-a", "A4", "STARTED", "2026-11-03T09:00:00Z", executionAttempt=None),
        event(PIPELINE, "pipe-b", "B1", "STARTED", "2026-11-01T08:00:00Z"),
        event(PIPELINE, "pipe-b", "B1", "SUCCEEDED", "2026-11-01T08:02:00Z", executionAttempt=2),
    ]


def stage_events():
    return [
        event(STAGE, "pipe-a", "A1", "STARTED", "2026-11-01T10:00:01Z", stage="Build"),
        event(STAGE, "pipe-a", "A1", "SUCCEEDED", "2026-11-01T10:03:01Z", stage="Build"),
        event(STAGE, "pipe-a", "A3", "STARTED", "2026-11-02T12:00:01Z", stage="Build"),
        event(STAGE, "pipe-a", "A3", "SUCCEEDED", "2026-11-02T12:06:01Z", stage="Build"),
    ]


def action_events():
    build = {"owner": "AWS", "category": "Build", "provider": "CodeBuild", "version": "1"}
    approval = {"owner": "AWS", "category": "Approval", "provider": "Manual", "version": "1"}

    def act(execution, state, ts, stage, action, attempt, kind, result=None):
        extra = {"stage": stage, "action": action, "region": "eu-west-1", "type": kind,
                 "actionExecutionId": attempt}
        if result is not None:
            extra["executionResult"] = result
        return event(ACTION, "pipe-a", execution, state, ts, **extra)

    failed = {"externalExecutionUrl": "https://example.invalid/x1", "errorCode": "JobFailed"}
    return [
        act("A2", "STARTED", "2026-11-02T10:00:10Z", "Build", "Compile", "x0", build),
        act("A2", "FAILED", "2026-11-02T10:01:00Z", "Build", "Compile", "x0", build,
            {"errorCode": "Timeout"}),
        act("A3", "STARTED", "2026-11-02T12:01:00.900Z", "Build", "Compile", "x1", build),
        act("A3", "FAILED", "2026-11-02T12:02:00Z", "Build", "Compile", "x1", build, failed),
        act("A3", "STARTED", "2026-11-02T12:03:00Z", "Build", "Compile", "x2", build),
        act("A3", "SUCCEEDED", "2026-11-02T12:06:00Z", "Build", "Compile", "x2", build),
        act("A3", "STARTED", "2026-11-02T12:06:00Z", "Approve", "Manual", "x3", approval),
        act("A3", "SUCCEEDED", "2026-11-02T12:09:59Z", "Approve", "Manual", "x3", approval),
        act("A4", "STARTED", "2026-11-03T09:01:00Z", "Build", "Compile", "x4", build),
    ]


def write_gz(path, records):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


def build_root(root):
    pipeline = pipeline_events()
    for table, records in ((PIPELINE, pipeline), (STAGE, stage_events()), (ACTION, action_events())):
        by_day = {}
        for r in records:
            by_day.setdefault(r["timestamp"][:10], []).append(r)
        for day, rows in by_day.items():
            folder = os.path.join(root, table, f"dt={day}")
            write_gz(os.path.join(folder, "part-0001.json.gz"), rows)
    pipeline_day = os.path.join(root, PIPELINE, "dt=2026-11-01")
    # A duplicate delivery of one event in a Firehose-named file: DISTINCT removes it.
    write_gz(os.path.join(pipeline_day, "stream-1-2026-11-01-10-00-00-abc.gz"), pipeline[:1])
    # Files Athena and Hive skip: a valid record that must not be counted, garbage
    # that must not be parsed.
    hidden = event(PIPELINE, "pipe-hidden", "H1", "STARTED", "2026-11-01T11:00:00Z", eventId="hidden")
    write_gz(os.path.join(pipeline_day, ".hidden.tmp"), [hidden])
    with open(os.path.join(pipeline_day, "_tmp"), "wb") as f:
        f.write(b"\x00not gzip, not json{{{")
    # An empty object holds no records.
    open(os.path.join(pipeline_day, "empty.json.gz"), "wb").close()


# --- Running the engine -------------------------------------------------------------


def run_engine(doc_text):
    return subprocess.run([sys.executable, RUNNER], input=doc_text, capture_output=True,
                          text=True, timeout=600)


# Window values as cplogs renders them for 2026-11-01 .. 2026-11-08, now 2026-11-08.
WINDOW = {
    "since_dt": "2026-11-01",
    "until_dt": "2026-11-07",
    "since": "2026-11-01T00:00:00.000Z",
    "until": "2026-11-08T00:00:00.000Z",
    "now": "2026-11-08T00:00:00.000Z",
    "stuck_before": "2026-11-07T00:00:00.000Z",
}


def cplogs_json(*args):
    proc = subprocess.run([CPLOGS, *args, "--format", "json"], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, XDG_CONFIG_HOME="/nonexistent"))
    if proc.returncode != 0:
        raise SystemExit(f"{CPLOGS} {' '.join(args)}: exit {proc.returncode}: {proc.stderr}")
    return json.loads(proc.stdout)


def report_statements():
    """Every bundled statement as cplogs sends it for 2026-11-01 .. 2026-11-08 (now
    2026-11-08): {file name: (sql, params)}, from `cplogs reports` and `cplogs report
    NAME [--by B] --print-sql`."""
    window = ["--since", WINDOW["since"], "--until", WINDOW["until"], "--now", WINDOW["now"]]
    out = {}
    for report in cplogs_json("reports"):
        choices = sorted({s["by"] for s in report["sections"]} - {None}) or [None]
        for by in choices:
            args = ["report", report["name"], *window, "--print-sql"]
            if by:
                args += ["--by", by]
            for st in cplogs_json(*args)["statements"]:
                out[st["name"]] = (st["sql"], st["params"])
    return out


def nearest_rank(values, p):
    xs = sorted(v for v in values if v is not None)
    if not xs:
        return None
    rank = max(1, math.ceil(Fraction(str(p)) * len(xs)))
    return xs[rank - 1]


def percentile_cases():
    """(name, sql, expected) for approx_percentile as exact nearest rank."""
    cases = []
    for n, p in [(1, 0.5), (2, 0.5), (4, 0.5), (5, 0.5), (10, 0.9), (10, 0.95),
                 (20, 0.95), (3, 0.0), (7, 1.0), (100, 0.07)]:
        # Shuffled values with NULLs among them: NULLs do not count.
        values = [(i * 37) % n + 1 for i in range(n)] + [None, None]
        rows = ", ".join(f"({'NULL' if v is None else v})" for v in values)
        sql = f"SELECT approx_percentile(CAST(x AS bigint), {p}) AS v FROM (VALUES {rows}) AS t(x)"
        cases.append((f"approx_percentile n={n} p={p}", sql, nearest_rank(values, p)))
        filtered = [v for v in values if v is not None and v % 2 == 0]
        sql_f = (f"SELECT approx_percentile(CAST(x AS bigint), {p}) FILTER (WHERE x % 2 = 0) AS v "
                 f"FROM (VALUES {rows}) AS t(x)")
        cases.append((f"approx_percentile FILTER n={n} p={p}", sql_f, nearest_rank(filtered, p)))
    return cases


def main():
    passed = failed = 0

    def check(name, ok, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok   {name}")
        else:
            failed += 1
            print(f"FAIL {name}: {detail}")

    versions = subprocess.run(
        [sys.executable, "-c", "import duckdb, sqlglot, sys; sys.path.insert(0, sys.argv[1]); "
         "import duckdb_engine as e; print(duckdb.__version__ == e.DUCKDB_VERSION "
         "and sqlglot.__version__ == e.SQLGLOT_VERSION)", HERE],
        capture_output=True, text=True)
    check("duckdb and sqlglot are the pinned versions", versions.stdout.strip() == "True",
          versions.stdout + versions.stderr)

    with tempfile.TemporaryDirectory(prefix="cplogs-duckdb-") as root:
        build_root(root)
        statements = []
        expected = {}

        def stmt(name, sql, params=(), want=None):
            statements.append({"name": name, "sql": sql, "params": list(params)})
            expected[name] = want

        stmt("hidden files skipped",
             f"SELECT count(DISTINCT eventid) AS events, count(*) AS records, count_if(eventid = 'hidden') AS hidden "
             f"FROM {PIPELINE}",
             want=[[9, 10, 0]])
        stmt("dt is the folder name, as text",
             f"SELECT DISTINCT dt, typeof(dt) AS t FROM {PIPELINE} ORDER BY dt",
             want=[["2026-11-01", "VARCHAR"], ["2026-11-02", "VARCHAR"], ["2026-11-03", "VARCHAR"]])
        stmt("ORDER BY DESC puts NULLs last",
             f"SELECT DISTINCT executionattempt FROM {PIPELINE} ORDER BY executionattempt DESC",
             want=[[2], [1], [None]])
        stmt("ORDER BY ASC puts NULLs last",
             "SELECT x FROM (VALUES (2), (NULL), (1)) AS t(x) ORDER BY x",
             want=[[1], [2], [None]])
        stmt("date_diff second .900 -> .100 is 0",
             "SELECT date_diff('second', from_iso8601_timestamp('2026-11-23T10:00:00.900Z'), "
             "from_iso8601_timestamp('2026-11-23T10:00:01.100Z')) AS d",
             want=[[0]])
        stmt("date_diff second 1.9 s is 1",
             "SELECT date_diff('second', from_iso8601_timestamp('2026-11-23T10:00:00.100Z'), "
             "from_iso8601_timestamp('2026-11-23T10:00:02.000Z')) AS d",
             want=[[1]])
        stmt("date_diff second -1.9 s is -1",
             "SELECT date_diff('second', from_iso8601_timestamp('2026-11-23T10:00:02.000Z'), "
             "from_iso8601_timestamp('2026-11-23T10:00:00.100Z')) AS d",
             want=[[-1]])
        # Trino's from_iso8601_timestamp keeps milliseconds: .123900 -> 1.123100 is 1000 ms.
        stmt("date_diff on millisecond instants",
             "SELECT date_diff('second', from_iso8601_timestamp('2026-11-23T10:00:00.123900Z'), "
             "from_iso8601_timestamp('2026-11-23T10:00:01.123100Z')) AS d",
             want=[[1]])
        stmt("date_diff across zones",
             "SELECT date_diff('second', from_iso8601_timestamp('2026-11-23T18:50:48Z'), "
             "from_iso8601_timestamp('2026-11-23T20:50:50+02:00')) AS d",
             want=[[2]])
        for name, sql, want in percentile_cases():
            stmt(name, sql, want=[[want]])
        stmt("approx_percentile(date_diff) FILTER as in dora",
             "SELECT approx_percentile(date_diff('second', a, b), 0.5) FILTER (WHERE outcome = 'SUCCEEDED') AS p "
             "FROM (SELECT from_iso8601_timestamp('2026-11-23T10:00:00.900Z') AS a, "
             "from_iso8601_timestamp(t) AS b, o AS outcome FROM (VALUES "
             "('2026-11-23T10:00:10.100Z', 'SUCCEEDED'), ('2026-11-23T10:00:30.100Z', 'SUCCEEDED'), "
             "('2026-11-23T10:00:20.100Z', 'FAILED'), ('2026-11-23T10:00:40.100Z', 'SUCCEEDED')) AS v(t, o))",
             want=[[29]])
        for text, out in [("2026-11-23T18:50:48Z", "2026-11-23T18:50:48.000Z"),
                          ("2026-11-23T18:50:48.123Z", "2026-11-23T18:50:48.123Z"),
                          ("2026-11-23T20:50:48+02:00", "2026-11-23T18:50:48.000Z"),
                          ("2026-11-23T18:50:48.123456Z", "2026-11-23T18:50:48.123Z")]:
            stmt(f"to_iso8601(from_iso8601_timestamp('{text}'))",
                 f"SELECT to_iso8601(from_iso8601_timestamp('{text}')) AS s", want=[[out]])
        stmt("to_iso8601 of a column's max",
             f"SELECT to_iso8601(max(from_iso8601_timestamp(\"timestamp\"))) AS s FROM {PIPELINE} WHERE executionid = 'A3'",
             want=[["2026-11-02T12:10:00.500Z"]])
        stmt("placeholder is data, not SQL",
             f"SELECT count(*) AS n FROM {PIPELINE} WHERE pipeline = ?", ["x' OR '1'='1"], want=[[0]])
        stmt("placeholder list filter as the reports use it",
             f"SELECT DISTINCT pipeline FROM {PIPELINE} WHERE (? = '' OR strpos(?, ',' || pipeline || ',') > 0) ORDER BY pipeline",
             [",pipe-b,x,", ",pipe-b,x,"], want=[["pipe-b"]])
        stmt("empty placeholder list keeps every pipeline",
             f"SELECT DISTINCT pipeline FROM {PIPELINE} WHERE (? = '' OR strpos(?, ',' || pipeline || ',') > 0) ORDER BY pipeline",
             ["", ""], want=[["pipe-a"], ["pipe-b"]])
        stmt("struct field executiontrigger.triggertype",
             f"SELECT DISTINCT executiontrigger.triggertype AS t, executiontrigger.commitid AS c FROM {PIPELINE} "
             f"WHERE executionid = 'A1'",
             want=[["Webhook", "c0ffee1"]])
        stmt("struct field \"type\".category",
             f"SELECT \"type\".category AS c, count(*) AS n FROM {ACTION} GROUP BY 1 ORDER BY 1",
             want=[["Approval", 2], ["Build", 7]])
        stmt("struct field executionresult.errorcode",
             f"SELECT array_join(array_sort(array_agg(DISTINCT executionresult.errorcode) "
             f"FILTER (WHERE executionresult.errorcode IS NOT NULL)), ', ') AS codes, "
             f"count(executionresult) AS with_result FROM {ACTION}",
             want=[["JobFailed, Timeout", 2]])
        stmt("array_join of no values is NULL",
             "SELECT array_join(array_sort(array_agg(DISTINCT x) FILTER (WHERE x IS NOT NULL)), ', ') AS j "
             "FROM (VALUES (CAST(NULL AS varchar)), (NULL)) AS t(x)",
             want=[[None]])
        stmt("missing table folder is an empty view",
             f"SELECT somekey, nested.innerkey AS k, dt FROM {MISSING}", want=[])
        stmt("max_by keeps a NULL x at the max y; skips NULL y",
             "SELECT max_by(x, y) AS mx, min_by(x, y) AS mn FROM (VALUES ('a', 1), (NULL, 3), ('c', NULL)) AS t(x, y)",
             want=[[None, "a"]])
        stmt("count_if, round half away from zero, integer division, avg",
             "SELECT count_if(x > 1) AS c, round(2.5e0, 0) AS r1, round(-0.125e0, 2) AS r2, "
             "7 / 2 AS q, -7 / 2 AS nq, CAST(7 AS double) / 2 AS d, avg(CAST(x AS bigint)) AS a "
             "FROM (VALUES (1), (2), (4)) AS t(x)",
             want=[[2, 3.0, -0.13, 3, -3, 3.5, 7 / 3]])
        stmt("failing statement is reported", "SELECT nosuch FROM nowhere", want="error")

        reports = []
        sent = report_statements()
        check("every file in sql/reports is a statement of a report",
              sorted(sent) == sorted(os.path.basename(p)[:-4] for p in REPORTS), sorted(sent))
        for name, (sql, params) in sorted(sent.items()):
            reports.append(name)
            stmt(f"report {name}", sql, params)

        proc = run_engine(json.dumps({"root": root, "tables": TABLES, "statements": statements}))
        check("runner exits 0", proc.returncode == 0, proc.stderr[-2000:])
        try:
            results = json.loads(proc.stdout)["results"]
        except (ValueError, KeyError) as e:
            check("runner prints one JSON document", False, f"{e}: {proc.stdout[:500]}")
            results = []
        check("one result per statement, in order",
              [r.get("name") for r in results] == [s["name"] for s in statements],
              [r.get("name") for r in results])
        by_name = {r["name"]: r for r in results}

        for s in statements:
            name, want = s["name"], expected[s["name"]]
            r = by_name.get(name, {"error": "no result"})
            if name.startswith("report "):
                check(f"{name} runs", "error" not in r,
                      f"{r.get('error')}\n--- duckdb sql ---\n{r.get('sql')}")
                check(f"{name} returns rows", bool(r.get("rows")), r)
                continue
            if want == "error":
                check(name, "error" in r and "sql" in r and "rows" not in r, r)
                continue
            if "error" in r:
                check(name, False, f"{r['error']}\n--- duckdb sql ---\n{r.get('sql')}")
                continue
            got = r["rows"]
            # Exact types too: 3 is not 3.0, and a bigint percentile stays an int.
            same = got == want and all(
                type(g) is type(w) for gr, wr in zip(got, want) for g, w in zip(gr, wr))
            check(name, same, f"got {got!r}, want {want!r}")

        missing = by_name.get("missing table folder is an empty view", {})
        check("empty view has the declared columns", missing.get("columns") == ["somekey", "k", "dt"], missing)

        # Report contents worth pinning on this data.
        stuck = by_name.get("report stuck", {})
        check("stuck finds A4 with its age", [row[:3] + row[4:] for row in stuck.get("rows", [])] == [
            ["pipe-a", "A4", "2026-11-03T09:00:00.000Z", "2026-11-03T09:00:00.000Z", 399600]], stuck)
        flaky = by_name.get("report flaky", {})
        check("flaky finds Compile in A3", [row[:6] for row in flaky.get("rows", [])] == [
            ["pipe-a", "Build", "Compile", 1, 1, 119]], flaky)
        failures = by_name.get("report failures", {})
        dora = by_name.get("report dora", {})
        check("dora for pipe-a", (dora.get("rows") or [None])[0] == ["pipe-a", 2, 0.286, 0.3333, 7710.0, 299], dora)
        timeline = by_name.get("report timeline", {})
        check("timeline draws A4 with \"start\" and \"end\"",
              timeline.get("columns") == ["pipeline", "execution_id", "stage", "action", "attempt",
                                          "start", "end", "duration_s", "state"]
              and timeline.get("rows") == [["pipe-a", "A4", "Build", "Compile", 1,
                                            "2026-11-03T09:01:00.000Z", None, None, "STARTED"]], timeline)
        check("failures counts A2", failures.get("rows") == [["pipe-a", 3, 1, 0.3333], ["pipe-b", 1, 0, 0.0]], failures)

        # Bad input is refused with a non-zero exit.
        bad = run_engine("{not json")
        check("bad JSON exits non-zero", bad.returncode != 0 and bad.stdout == "", bad)
        bad = run_engine(json.dumps({"root": root, "tables": [{"name": "t", "columns": [
            {"key": "a", "name": "a", "type": "geometry"}]}], "statements": []}))
        check("unknown column type exits non-zero", bad.returncode != 0, bad)

    print(f"test result: {'ok' if failed == 0 else 'FAILED'}. {passed} passed; {failed} failed;")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
