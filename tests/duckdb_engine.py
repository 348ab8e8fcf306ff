"""Second SQL engine for the tests: runs cplogs' Trino-dialect SQL on DuckDB, transpiled by sqlglot."""
# Why a second engine: the bundled reports run on Athena (Trino) and on cplogs'
# embedded DataFusion engine. Running the same files on an independent engine with
# Trino semantics proves the SQL (and the local engine) against something other than
# itself. The test suite runs this script with the test-tools venv
# (`$(bash tests/venv.sh)/bin/python tests/duckdb_engine.py`), which pins duckdb and
# sqlglot: sqlglot's output changes between releases and the patches below are
# checked against the pinned one.
#
# Input, one JSON document on stdin:
#   {"root": "/abs/dir",
#    "tables": [{"name": "...", "columns": [{"key": "eventId", "name": "eventid",
#                                             "type": "string"}, ...]}, ...],
#    "statements": [{"name": "...", "sql": "<Trino SQL with ?>", "params": ["", ...]}]}
# Output, one JSON document on stdout:
#   {"results": [{"name": ..., "columns": [...], "rows": [[...], ...]}
#                | {"name": ..., "error": "...", "sql": "<DuckDB SQL>"}, ...]}
# A failing statement is reported in its entry and the script still exits 0; only
# bad input (unreadable JSON, a missing field, an unknown column type) exits non-zero.
#
# Where sqlglot's Trino -> DuckDB output does not keep Trino's semantics, the AST is
# patched between parsing and generating (sqlglot.transpile is exactly parse +
# generate; the patches sit in between): `_patch` below does the rewrites and
# `connect` the session settings. Each is in this table.
#
# | Trino construct                  | DuckDB form                                   | why
# |----------------------------------|-----------------------------------------------|-----
# | approx_percentile(x, p)          | quantile_disc(x, p)                           | sqlglot emits approx_quantile, a t-digest estimate. The reports are compared with the local engine, which computes the nearest rank (1-based rank ceil(p*n), at least 1). quantile_disc with a decimal literal p computes exactly that, in integer arithmetic; it keeps the input type (bigint in, bigint out), skips NULLs and takes FILTER (WHERE ...) as any aggregate. The local engine reads p as the decimal it was written as too (src/engine/functions.rs, nearest_rank), so p=0.07, n=100 is rank 7 on both.
# | max_by(x, y) / min_by(x, y)      | arg_max_null(x, y) / arg_min_null(x, y)       | sqlglot emits arg_max/arg_min, which skip rows where x is NULL, so they return an older x when the latest row's x is NULL. Trino skips only rows where y is NULL and returns x of the max/min y even if it is NULL; the *_null variants do the same.
# | date_diff(unit, a, b)            | date_sub(unit, a, b)                          | DuckDB's date_diff counts unit boundaries crossed (10:00:00.900 -> 10:00:01.100 is 1 second); Trino returns the whole units of b - a truncated toward zero (0 there, -1 for -1.9 s). DuckDB's date_sub is that.
# | to_iso8601(ts)                   | strftime(timezone('UTC', ts), '%Y-%m-%dT%H:%M:%S.%gZ') | DuckDB has no to_iso8601 (sqlglot passes it through). Trino prints a UTC timestamp(3) with time zone as 2026-11-23T18:50:48.000Z: always 3 fraction digits and Z.
# | from_iso8601_timestamp(s)        | date_trunc('millisecond', CAST(s AS TIMESTAMPTZ)) | sqlglot emits the bare cast, which keeps microseconds; Trino's result is timestamp(3) with time zone (extra digits dropped), which matters to date_diff and to_iso8601.
# | a / b on two integers            | SET integer_division = true                   | Trino truncates integer division (7 / 2 = 3); sqlglot keeps `/`, which is float division in DuckDB by default. The setting makes DuckDB's `/` integral for integer operands only (decimals and doubles still divide exactly).
# | ORDER BY x [ASC|DESC]            | SET default_null_order = 'nulls_last'         | Trino puts NULLs last in both directions. It is DuckDB's default too; set so that a changed default cannot flip report order.
# | timestamp with time zone values  | SET TimeZone = 'UTC'                          | Athena's session zone is UTC; strings without an offset and date units are read in it.
#
# Known differences left as they are (none of them occurs in the bundled reports):
#   - to_iso8601 prints every instant in UTC with Z; Trino keeps the zone an instant
#     was parsed with (+02:00 stays +02:00). EventBridge times are always Z.
#   - A double divided by zero raises an error (integer_division turns `/` into `//`,
#     which raises); Trino returns Infinity or NaN. Integer division by zero raises in both.
#   - DuckDB's cast accepts a space instead of T in ISO 8601 text; Trino's
#     from_iso8601_timestamp refuses it.
#   - JSON keys are matched exactly (the `key` of each column); Athena's OpenX SerDe
#     matches them case-insensitively. cplogs writes the keys exactly.
import json
import math
import os
import sys

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

# The versions the patches were checked against (tests/venv.sh installs these).
DUCKDB_VERSION = "2.0.1"
SQLGLOT_VERSION = "30.30.0"

ISO8601_MILLIS_Z = "%Y-%m-%dT%H:%M:%S.%gZ"


def _fn(name, *args):
    return exp.Anonymous(this=name, expressions=list(args))


def _patch(node):
    """One node of the parsed Trino AST, rewritten where DuckDB differs (see the table)."""
    if isinstance(node, exp.ApproxQuantile):
        return _fn("QUANTILE_DISC", node.this, node.args["quantile"])
    if isinstance(node, exp.ArgMax):
        return _fn("ARG_MAX_NULL", node.this, node.expression)
    if isinstance(node, exp.ArgMin):
        return _fn("ARG_MIN_NULL", node.this, node.expression)
    if isinstance(node, exp.DateDiff):
        # sqlglot's DateDiff holds the later instant in `this` and the earlier one in
        # `expression`; Trino's (and date_sub's) argument order is (unit, earlier, later).
        unit = node.args.get("unit")
        unit = unit.name.lower() if unit is not None else "day"
        return _fn("DATE_SUB", exp.Literal.string(unit), node.expression, node.this)
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "to_iso8601":
        (ts,) = node.expressions
        return _fn(
            "STRFTIME",
            _fn("TIMEZONE", exp.Literal.string("UTC"), ts),
            exp.Literal.string(ISO8601_MILLIS_Z),
        )
    if isinstance(node, exp.FromISO8601Timestamp):
        cast = exp.Cast(this=node.this, to=exp.DataType.build("TIMESTAMPTZ"))
        return _fn("DATE_TRUNC", exp.Literal.string("millisecond"), cast)
    return node


def transpile(sql):
    """Trino SQL -> DuckDB SQL: sqlglot.transpile(sql, read="trino", write="duckdb")
    with the patches applied to the tree between its parse and generate steps."""
    trees = [t for t in sqlglot.parse(sql, read="trino") if t is not None]
    if len(trees) != 1:
        raise ValueError(f"expected one statement, found {len(trees)}")
    tree = trees[0]
    # Children before parents (reversed pre-order), so that a patched node keeps
    # its patched arguments: approx_percentile(date_diff(...)) needs both patches.
    # (sqlglot's Expression.transform does not descend into a replacement.)
    for node in reversed(list(tree.walk(bfs=False))):
        new = _patch(node)
        if new is not node:
            if node is tree:
                tree = new
            else:
                node.replace(new)
    # A construct sqlglot cannot express in DuckDB fails the statement, loudly,
    # instead of being logged and generated as something else.
    return tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)


# --- Hive column types -> DuckDB types -----------------------------------------

SCALARS = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


class BadInput(Exception):
    pass


def parse_type(text):
    """A Hive type (`string`, `struct<a:string,b:int>`, `array<...>`) as a tree:
    ("scalar", duckdb_type) | ("struct", [(field, tree), ...]) | ("array", tree)."""
    tree, rest = _parse_type(text.strip())
    if rest.strip():
        raise BadInput(f"unexpected {rest!r} in column type {text!r}")
    return tree


def _parse_type(s):
    s = s.lstrip()
    lower = s.lower()
    for kind in ("struct<", "array<"):
        if lower.startswith(kind):
            s = s[len(kind):]
            if kind == "array<":
                inner, s = _parse_type(s)
                if not s.startswith(">"):
                    raise BadInput(f"missing > in array type near {s!r}")
                return ("array", inner), s[1:]
            fields = []
            while True:
                s = s.lstrip()
                colon = s.find(":")
                if colon <= 0:
                    raise BadInput(f"bad struct field near {s!r}")
                # Hive spells a field name with backquotes when it needs them.
                field = s[:colon].strip().strip("`")
                inner, s = _parse_type(s[colon + 1:])
                fields.append((field, inner))
                s = s.lstrip()
                if s.startswith(","):
                    s = s[1:]
                    continue
                if s.startswith(">"):
                    return ("struct", fields), s[1:]
                raise BadInput(f"missing > in struct type near {s!r}")
    word = ""
    while s and (s[0].isalnum() or s[0] == "_"):
        word, s = word + s[0], s[1:]
    if word.lower() == "decimal" and s.startswith("("):
        close = s.index(")")
        return ("scalar", f"DECIMAL{s[:close + 1]}"), s[close + 1:]
    if word.lower() in ("varchar", "char") and s.startswith("("):
        s = s[s.index(")") + 1:]
    if word.lower() not in SCALARS:
        raise BadInput(f"unsupported column type {word!r}")
    return ("scalar", SCALARS[word.lower()]), s


def quote(identifier):
    return '"' + identifier.replace('"', '""') + '"'


def literal(text):
    return "'" + text.replace("'", "''") + "'"


def read_type(tree):
    """The DuckDB type read from the files: struct fields keep their JSON keys."""
    kind, body = tree
    if kind == "scalar":
        return body
    if kind == "array":
        return read_type(body) + "[]"
    return "STRUCT(" + ", ".join(f"{quote(f)} {read_type(t)}" for f, t in body) + ")"


def sql_type(tree):
    """The DuckDB type the view exposes: struct fields lower-cased, as Athena shows them."""
    kind, body = tree
    if kind == "scalar":
        return body
    if kind == "array":
        return sql_type(body) + "[]"
    return "STRUCT(" + ", ".join(f"{quote(f.lower())} {sql_type(t)}" for f, t in body) + ")"


def renamed(value, tree, depth=0):
    """SQL giving `value` (read with read_type) with struct field names lower-cased."""
    kind, body = tree
    if kind == "scalar" or not _has_struct(tree):
        return value
    if kind == "array":
        var = f"e{depth}"
        return f"list_transform({value}, lambda {var}: {renamed(var, body, depth + 1)})"
    fields = ", ".join(
        f"{quote(f.lower())} := {renamed(f'struct_extract({value}, {literal(f)})', t, depth + 1)}"
        for f, t in body
    )
    # A missing or null object stays NULL rather than a struct of NULLs.
    return f"CASE WHEN {value} IS NULL THEN NULL ELSE struct_pack({fields}) END"


def _has_struct(tree):
    kind, body = tree
    if kind == "struct":
        return True
    return kind == "array" and _has_struct(body)


# --- Data ------------------------------------------------------------------------


def data_files(root, table):
    """The files a Hive/Athena table over `<root>/<table>/dt=*/` reads. Names starting
    with `.` or `_` are skipped, as Hadoop's input formats do (cplogs writes its
    temporary files that way), and so are empty files, which hold no records."""
    base = os.path.join(root, table)
    files = []
    if not os.path.isdir(base):
        return files
    for part in sorted(os.listdir(base)):
        folder = os.path.join(base, part)
        if not part.startswith("dt=") or not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if name.startswith((".", "_")) or not os.path.isfile(path):
                continue
            if os.path.getsize(path) == 0:
                continue
            files.append(path)
    return files


def create_view(con, root, table):
    name = table["name"]
    columns = [(c["key"], c["name"], parse_type(c["type"])) for c in table["columns"]]
    files = data_files(root, name)
    if not files:
        # Same columns and types, no rows (the table folder is missing or empty).
        select = ", ".join(
            f"CAST(NULL AS {sql_type(t)}) AS {quote(n)}" for _, n, t in columns
        )
        select += ", CAST(NULL AS VARCHAR) AS dt"
        con.execute(f"CREATE VIEW {quote(name)} AS SELECT {select} WHERE false")
        return
    # Explicit types, never detected: a key missing from a record reads as NULL.
    types = ", ".join(f"{literal(k)}: {literal(read_type(t))}" for k, _, t in columns)
    file_list = "[" + ", ".join(literal(f) for f in files) + "]"
    source = (
        f"read_json({file_list}, format = 'newline_delimited', compression = 'gzip', "
        f"columns = {{{types}}}, hive_partitioning = true, "
        # dt stays text, as in the Glue table (DuckDB would make it a DATE).
        f"hive_types = {{'dt': 'VARCHAR'}})"
    )
    select = ", ".join(f"{renamed(quote(k), t)} AS {quote(n)}" for k, n, t in columns)
    con.execute(f"CREATE VIEW {quote(name)} AS SELECT {select}, dt FROM {source}")


def connect():
    con = duckdb.connect(":memory:")
    # The tests never fetch anything: a missing extension must fail, not download.
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET default_null_order = 'nulls_last'")
    con.execute("SET integer_division = true")
    return con


# --- Results ---------------------------------------------------------------------


def value(v):
    if v is None or isinstance(v, (bool, int)):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, default=str)
    return str(v)


def run(con, statement):
    name = statement["name"]
    duck_sql = None
    try:
        duck_sql = transpile(statement["sql"])
        # `?` stays `?`: the values are bound as prepared-statement parameters.
        cur = con.execute(duck_sql, list(statement["params"]))
        columns = [d[0] for d in cur.description]
        rows = [[value(v) for v in row] for row in cur.fetchall()]
        return {"name": name, "columns": columns, "rows": rows}
    except Exception as e:  # noqa: BLE001 - any failure is the statement's result
        return {
            "name": name,
            "error": f"{type(e).__name__}: {e}",
            "sql": duck_sql if duck_sql is not None else statement["sql"],
        }


def load_input(text):
    try:
        doc = json.loads(text)
        root = doc["root"]
        tables = doc["tables"]
        statements = doc["statements"]
        if not isinstance(root, str) or not os.path.isabs(root):
            raise BadInput("root must be an absolute path")
        for t in tables:
            if not isinstance(t["name"], str):
                raise BadInput("a table name must be a string")
            for c in t["columns"]:
                for field in ("key", "name", "type"):
                    if not isinstance(c[field], str):
                        raise BadInput(f"column {field} must be a string")
                parse_type(c["type"])
        for s in statements:
            if not isinstance(s["name"], str) or not isinstance(s["sql"], str):
                raise BadInput("a statement needs a name and sql")
            if not all(isinstance(p, str) for p in s.get("params", [])):
                raise BadInput("params must be strings")
            s.setdefault("params", [])
    except (ValueError, KeyError, TypeError) as e:
        raise BadInput(f"{type(e).__name__}: {e}") from e
    return root, tables, statements


def main():
    if (duckdb.__version__, sqlglot.__version__) != (DUCKDB_VERSION, SQLGLOT_VERSION):
        print(
            f"duckdb_engine: warning: duckdb {duckdb.__version__} and sqlglot "
            f"{sqlglot.__version__} are not the pinned {DUCKDB_VERSION} and "
            f"{SQLGLOT_VERSION} (tests/venv.sh); the patches were checked against those",
            file=sys.stderr,
        )
    try:
        root, tables, statements = load_input(sys.stdin.read())
    except BadInput as e:
        print(f"duckdb_engine: bad input: {e}", file=sys.stderr)
        return 2
    con = connect()
    try:
        for t in tables:
            create_view(con, root, t)
    except duckdb.Error as e:
        print(f"duckdb_engine: cannot set up the tables: {e}", file=sys.stderr)
        return 1
    results = [run(con, s) for s in statements]
    json.dump({"results": results}, sys.stdout, allow_nan=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
