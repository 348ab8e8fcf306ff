//! `cplogs report`, `reports`, `query` and `audit` end to end on demo data with the
//! local engine: formats, stats on stderr, exit codes, engine selection, bad input.

use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;

use serde_json::Value;

use crate::common::cli::{cplogs, cplogs_env, demo as run_demo, hermetic};
use crate::common::events::envelope;
use crate::common::text;

/// Ten days of demo history for 5 pipelines, ending 2026-11-20; made once.
fn demo() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().to_str().unwrap();
        run_demo(&[
            "--out",
            out,
            "--pipelines",
            "5",
            "--days",
            "10",
            "--end",
            "2026-11-20",
        ]);
        dir
    })
    .path()
}

const WINDOW: [&str; 4] = ["--since", "2026-11-11", "--until", "2026-11-21"];

fn report(name: &str, extra: &[&str]) -> Output {
    let dir = demo().to_str().unwrap();
    let mut args = vec!["report", name, "--local", dir];
    args.extend(WINDOW);
    args.extend(extra);
    cplogs(&args)
}

#[test]
fn failures_as_json_with_both_sections_and_stats_on_stderr() {
    let o = report("failures", &["--format", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["report"], "failures");
    assert_eq!(doc["engine"], "local");
    assert_eq!(doc["window"]["since"], "2026-11-11T00:00:00.000Z");
    assert_eq!(doc["results"][0]["name"], "failures");
    assert_eq!(doc["results"][1]["name"], "failures_actions");
    let pipelines = doc["results"][0]["rows"].as_array().unwrap();
    assert_eq!(pipelines.len(), 5);
    for p in pipelines {
        let (e, f, r) = (
            p["executions"].as_i64().unwrap(),
            p["failed"].as_i64().unwrap(),
            p["failure_rate"].as_f64().unwrap(),
        );
        assert!(e > 0 && f <= e);
        assert!((r - f as f64 / e as f64).abs() < 1e-4, "{p}");
    }
    assert!(doc["stats"]["bytes_scanned"].as_u64().unwrap() > 0);
    let err = text(&o.stderr);
    assert!(
        err.contains("row(s) in") && err.contains("read from"),
        "{err}"
    );
}

#[test]
fn every_report_runs_in_every_format() {
    for name in cplogs::reports::REPORTS.iter().map(|r| r.name) {
        let o = report(name, &["--format", "csv"]);
        assert!(o.status.success(), "{name}: {}", text(&o.stderr));
        let out = text(&o.stdout);
        // A small demo may have no stuck execution; tests/engine/reports.rs checks them.
        let least = if name == "stuck" { 1 } else { 2 };
        assert!(
            out.lines().count() >= least,
            "{name} returned no rows:\n{out}"
        );
    }
    for by in ["stage", "action"] {
        let o = report("durations", &["--by", by, "--format", "csv"]);
        assert!(o.status.success());
        assert!(text(&o.stdout).starts_with(&format!("pipeline,{by}")) || by == "action");
    }
    for format in ["table", "csv", "tsv", "json", "ndjson", "markdown"] {
        let o = report("durations", &["--format", format]);
        assert!(o.status.success(), "{format}");
        let out = text(&o.stdout);
        assert!(out.contains("p95_s"), "{format}: {out}");
    }
    let o = report("timeline", &["--format", "table"]);
    assert!(text(&o.stdout).contains('█'), "{}", text(&o.stdout));
}

#[test]
fn audit_exit_codes() {
    let dir = demo().to_str().unwrap();
    let audit = |extra: &[&str]| {
        let mut args = vec!["audit", "--local", dir];
        args.extend(WINDOW);
        args.extend(extra);
        cplogs(&args)
    };
    let o = audit(&["--max-failure-rate", "1", "--max-p95", "30d"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty());

    let o = audit(&["--max-failure-rate", "0", "--format", "csv"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.starts_with("pipeline,metric,value,limit\n"), "{out}");
    assert!(
        out.lines().skip(1).all(|l| l.contains(",failure_rate,")),
        "{out}"
    );

    let o = audit(&["--max-p95", "1s", "--format", "ndjson"]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(text(&o.stdout).lines().count(), 5);

    let o = cplogs(&[
        "audit",
        "--local",
        dir,
        "--since",
        "2020-01-01",
        "--until",
        "2020-01-02",
        "--max-failure-rate",
        "0.5",
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));

    assert_eq!(audit(&[]).status.code(), Some(2));
    assert_eq!(audit(&["--max-failure-rate", "1.5"]).status.code(), Some(2));
    assert_eq!(audit(&["--max-p95", "soon"]).status.code(), Some(2));
}

#[test]
fn usage_errors_say_what_to_do() {
    let o = cplogs(&["report", "failures"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("--local DIR") && err.contains("--demo"),
        "{err}"
    );

    for bad in ["x'; DROP TABLE t; --", "a/*", "pipé", "a\\b"] {
        let o = report("failures", &["--pipeline", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(
            text(&o.stderr).contains("is not a pipeline name"),
            "{}",
            text(&o.stderr)
        );
    }
    let o = report("timeline", &["--execution-id", "1' OR '1'='1"]);
    assert_eq!(o.status.code(), Some(2));
    let o = report("failures", &["--since", "yesterday"]);
    assert_eq!(o.status.code(), Some(2));
    let o = report(
        "failures",
        &["--since", "2026-11-20", "--until", "2026-11-10"],
    );
    assert_eq!(o.status.code(), Some(2));

    let o = cplogs(&["report", "failures", "--local", "/nonexistent/cplogs"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("is not a directory"));
}

#[test]
fn ad_hoc_queries_and_the_report_list() {
    let dir = demo().to_str().unwrap();
    let o = cplogs(&[
        "query",
        "SELECT count(DISTINCT pipeline) AS pipelines FROM action_execution_state_change WHERE dt >= ?",
        "--param",
        "2026-11-11",
        "--local",
        dir,
        "--format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "pipelines\n5\n");

    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        "SELECT max(dt) AS last FROM stage_execution_state_change",
    )
    .unwrap();
    let o = cplogs(&[
        "query",
        "--file",
        file.path().to_str().unwrap(),
        "--local",
        dir,
        "--format",
        "ndjson",
    ]);
    assert_eq!(text(&o.stdout), "{\"last\":\"2026-11-20\"}\n");

    let o = cplogs(&[
        "query",
        "DROP VIEW pipeline_execution_state_change",
        "--local",
        dir,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let o = cplogs(&["query", "SELEC 1", "--local", dir]);
    assert_eq!(o.status.code(), Some(2));

    let o = cplogs(&["reports"]);
    assert!(o.status.success());
    let out = text(&o.stdout);
    for name in cplogs::reports::REPORTS.iter().map(|r| r.name) {
        assert!(out.contains(&format!("  {name} ")), "{name}");
    }
    assert!(out.contains("sql/reports/durations_by_stage.sql"));
}

#[test]
fn settings_come_from_flags_env_and_the_config_file() {
    let dir = demo().to_str().unwrap();
    let conf = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        conf.path(),
        format!("engine = \"local\"\nlocal = \"{dir}\"\nbucket = \"file-bucket\"\ndatabase = \"file_db\"\n"),
    )
    .unwrap();
    let conf_path = conf.path().to_str().unwrap();

    // The config file selects the local engine and its directory.
    let mut args = vec![
        "report", "failures", "--config", conf_path, "--format", "csv",
    ];
    args.extend(WINDOW);
    let o = cplogs(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).starts_with("pipeline,executions,failed,failure_rate\n"));

    let o = cplogs_env(
        &[
            "config",
            "show",
            "--config",
            conf_path,
            "--database",
            "flag_db",
            "--format",
            "json",
        ],
        &[("CPLOGS_BUCKET", "env-bucket")],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let s = &doc["settings"];
    assert_eq!(s["database"]["value"], "flag_db");
    assert_eq!(s["database"]["source"], "flag --database");
    assert_eq!(s["bucket"]["value"], "env-bucket");
    assert_eq!(s["bucket"]["source"], "environment CPLOGS_BUCKET");
    assert_eq!(s["engine"]["value"], "local");
    assert_eq!(s["engine"]["source"], format!("config file {conf_path}"));
    assert_eq!(s["workgroup"]["source"], "default");
    assert_eq!(doc["config_file"], conf_path);

    // CPLOGS_CONFIG names the file too; a missing one is an error, a bad one says why.
    let o = cplogs_env(
        &["config", "show"],
        &[("CPLOGS_CONFIG", "/nonexistent/cplogs.toml")],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("/nonexistent/cplogs.toml"));
    std::fs::write(conf.path(), "engin = \"local\"\n").unwrap();
    let o = cplogs(&["config", "show", "--config", conf_path]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("engin"), "{}", text(&o.stderr));

    // Without any settings: the defaults, and no file.
    let o = cplogs(&["config", "show", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        doc["settings"]["database"]["value"],
        "codepipeline_event_logs"
    );
    assert_eq!(doc["config_file"], Value::Null);
}

#[test]
fn iam_policy_per_command_with_configured_arns() {
    let o = cplogs_env(
        &[
            "iam-policy",
            "repair-partitions",
            "--bucket",
            "my-logs",
            "--region",
            "eu-west-1",
            "--account",
            "123456789012",
        ],
        &[("CPLOGS_DATABASE", "logs_db")],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["Version"], "2012-10-17");
    let text_doc = doc.to_string();
    assert!(text_doc.contains(
        "arn:aws:glue:eu-west-1:123456789012:table/logs_db/stage_execution_state_change"
    ));
    assert!(text_doc.contains("arn:aws:s3:::my-logs"));
    assert!(text_doc.contains("glue:BatchCreatePartition") && !text_doc.contains("athena:"));
    // Every command's policy names the log bucket and the result location exactly.
    let all = cplogs(&[
        "iam-policy",
        "--bucket",
        "my-logs",
        "--output-location",
        "s3://my-results/athena/",
    ]);
    assert!(all.status.success(), "{}", text(&all.stderr));
    let all: Value = serde_json::from_slice(&all.stdout).unwrap();
    assert!(
        all["Statement"].as_array().unwrap().len() > doc["Statement"].as_array().unwrap().len()
    );
    assert_eq!(cplogs(&["iam-policy", "nonsense"]).status.code(), Some(2));
}

/// One pipeline event of `pipeline` as EventBridge sends it.
fn pipeline_event(id: &str, time: &str, pipeline: &str, exec: &str, state: &str) -> Value {
    let detail = serde_json::json!({
        "pipeline": pipeline, "execution-id": exec, "state": state, "version": 1,
    });
    envelope("Pipeline", id, time, pipeline, detail)
}

/// One action event.
fn action_event(id: &str, time: &str, pipeline: &str, exec: &str, state: &str) -> Value {
    let mut e = pipeline_event(id, time, pipeline, exec, state);
    e["detail-type"] = "CodePipeline Action Execution State Change".into();
    e["detail"]["stage"] = "Build".into();
    e["detail"]["action"] = "Compile".into();
    e["detail"]["action-execution-id"] = format!("{exec}-a").into();
    e["detail"]["region"] = "eu-west-1".into();
    e["detail"]["type"] = serde_json::json!({"owner": "AWS", "category": "Build", "provider": "CodeBuild", "version": "1"});
    e
}

/// Writes `events` into a new directory through `cplogs ingest`.
fn ingested(events: &[Value]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.json");
    std::fs::write(&input, serde_json::to_vec(events).unwrap()).unwrap();
    let out = dir.path().join("logs");
    let o = cplogs(&[
        "ingest",
        "--out",
        out.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    dir
}

#[test]
fn stuck_and_timeline_see_executions_older_than_the_window() {
    // Now is 2026-11-30 12:00: s1 started 10 days ago and never ended; o1 ran 20 days
    // ago; r1 started yesterday morning and is still running (not stuck yet at 24h).
    let dir = ingested(&[
        pipeline_event("e1", "2026-11-20T12:00:00Z", "api", "s1", "STARTED"),
        pipeline_event("e2", "2026-11-10T08:00:00Z", "api", "o1", "STARTED"),
        action_event("e3", "2026-11-10T08:01:00Z", "api", "o1", "STARTED"),
        action_event("e4", "2026-11-10T08:03:00Z", "api", "o1", "SUCCEEDED"),
        pipeline_event("e5", "2026-11-10T08:04:00Z", "api", "o1", "SUCCEEDED"),
        pipeline_event("e6", "2026-11-30T01:00:00Z", "api", "r1", "STARTED"),
    ]);
    let logs = dir.path().join("logs");
    let logs = logs.to_str().unwrap();
    let now = ["--now", "2026-11-30T12:00:00Z", "--format", "json"];
    let run = |extra: &[&str]| {
        let mut args = vec!["report", "--local", logs];
        args.extend(extra);
        args.extend(now);
        cplogs(&args)
    };
    let ids = |o: &Output| -> Vec<String> {
        let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
        doc["results"][0]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["execution_id"].as_str().unwrap().to_owned())
            .collect()
    };
    // Default flags (--since 7d): the 10-day-old execution is reported.
    let o = run(&["stuck"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(ids(&o), ["s1"]);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["results"][0]["rows"][0]["age_s"], 864_000);
    assert_eq!(doc["window"]["since"], "2026-10-31T12:00:00.000Z");
    // A shorter lookback does not reach it.
    let o = run(&["stuck", "--lookback", "5d"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(ids(&o).is_empty());

    // timeline --execution-id of a 20-day-old execution: found by searching back.
    let o = run(&["timeline", "--execution-id", "o1"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(ids(&o), ["o1"]);
    // Not there at all: said so, exit 4, no table.
    let o = run(&[
        "timeline",
        "--execution-id",
        "f0f0f0f0-0000-4000-8000-000000000000",
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty());
    assert!(
        text(&o.stderr).contains("no action events of execution f0f0f0f0"),
        "{}",
        text(&o.stderr)
    );
    // Beyond the lookback: not found either.
    let o = run(&["timeline", "--execution-id", "o1", "--lookback", "10d"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
}

#[test]
fn print_sql_shows_each_statement_as_sent() {
    let o = report(
        "failures",
        &["--pipeline", "api", "--print-sql", "--format", "json"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let statements = doc["statements"].as_array().unwrap();
    assert_eq!(statements.len(), 2);
    for s in statements {
        let sql = s["sql"].as_str().unwrap();
        assert!(!sql.contains("{{"), "{sql}");
        assert!(
            sql.contains("dt BETWEEN '2026-11-11' AND '2026-11-20'"),
            "{sql}"
        );
        assert!(sql.contains("from_iso8601_timestamp('2026-11-21T00:00:00.000Z')"));
        assert_eq!(s["params"], serde_json::json!([",api,", ",api,"]));
    }
    let o = report("stuck", &["--print-sql"]);
    let out = text(&o.stdout);
    assert!(out.contains("-- sql/reports/stuck.sql as sent"), "{out}");
    assert!(out.contains("--   1: ''"), "{out}");
}

#[test]
fn athena_is_never_called_for_statements_that_write_or_absurd_reuse() {
    // An endpoint that records any connection: a refused command makes none.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let aws = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    for (sql, named) in [
        ("DROP TABLE pipeline_execution_state_change", "DROP"),
        ("CREATE TABLE x AS SELECT 1", "CREATE"),
        ("INSERT INTO t SELECT 1", "INSERT"),
        (
            "UNLOAD (SELECT 1) TO 's3://b/x/' WITH (format = 'JSON')",
            "UNLOAD",
        ),
        ("MSCK REPAIR TABLE action_execution_state_change", "MSCK"),
        ("EXPLAIN ANALYZE INSERT INTO t SELECT 1", "INSERT"),
        ("SELECT 1; DROP TABLE t", "one statement"),
    ] {
        let o = cplogs_env(&["query", sql, "--endpoint-url", &endpoint], &aws);
        assert_eq!(o.status.code(), Some(2), "{sql}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(named),
            "{sql}: {}",
            text(&o.stderr)
        );
    }
    for reuse in ["8d", "10081m", "3153600000d", "0m"] {
        let o = cplogs_env(
            &[
                "report",
                "failures",
                "--reuse",
                reuse,
                "--endpoint-url",
                &endpoint,
            ],
            &aws,
        );
        assert_eq!(o.status.code(), Some(2), "{reuse}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains("--reuse"), "{}", text(&o.stderr));
    }
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a refused command connected to AWS"
    );
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    use std::io::Read as _;
    use std::process::Stdio;
    let dir = demo().to_str().unwrap();
    // Outputs much larger than a pipe's buffer, read a little, then closed (`| head`),
    // stdout alone and stdout with stderr (`2>&1 | head`); ten times each, since the
    // outcome used to depend on timing.
    let commands: [Vec<&str>; 2] = [
        vec![
            "query",
            "SELECT * FROM action_execution_state_change",
            "--format",
            "csv",
            "--local",
            dir,
        ],
        vec![
            "report",
            "durations",
            "--by",
            "action",
            "--local",
            dir,
            "--since",
            "2026-11-11",
        ],
    ];
    for args in &commands {
        for round in 0..10 {
            let mut cmd = hermetic();
            cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut child = cmd.spawn().unwrap();
            let mut stdout = child.stdout.take().unwrap();
            let mut first = [0u8; 64];
            stdout.read_exact(&mut first).unwrap();
            drop(stdout);
            let mut stderr = child.stderr.take().unwrap();
            let mut err = String::new();
            if round % 2 == 1 {
                drop(stderr);
            } else {
                stderr.read_to_string(&mut err).unwrap();
            }
            let status = child.wait().unwrap();
            assert_eq!(status.code(), Some(0), "{args:?} round {round}: {err}");
            assert!(!err.contains("error") && !err.contains("panicked"), "{err}");
        }
    }
}

/// Copies a directory tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The paths in `dir`, sorted.
fn sorted_paths(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
}

/// `cplogs --local DIR query SQL --format csv EXTRA…` with `env`: its stdout; it must
/// succeed.
fn query_csv(dir: &str, sql: &str, env: &[(&str, &str)], extra: &[&str]) -> String {
    let mut args = vec!["--local", dir, "query", sql, "--format", "csv"];
    args.extend_from_slice(extra);
    let o = cplogs_env(&args, env);
    assert!(o.status.success(), "{}", text(&o.stderr));
    text(&o.stdout)
}

#[test]
fn the_columnar_cache_is_never_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("logs");
    copy_tree(demo(), &data);
    let cache = tmp.path().join("cache");
    let env = [("CPLOGS_CACHE_DIR", cache.to_str().unwrap())];
    let data_s = data.to_str().unwrap();
    let count = |extra: &[&str]| {
        let sql = "SELECT count(DISTINCT eventid) AS n, count(*) AS rows FROM pipeline_execution_state_change";
        query_csv(data_s, sql, &env, extra)
    };
    let cold = count(&[]);
    let entries = std::fs::read_dir(&cache).map(|d| d.count()).unwrap_or(0);
    assert!(entries > 0, "the first run fills the cache");
    assert_eq!(count(&[]), cold, "warm: the same answer");
    // A file rewritten with other data: read again, never from the cache.
    let days = sorted_paths(&data.join("pipeline_execution_state_change"));
    let folder = &days[0];
    let files = sorted_paths(folder);
    let replacement = sorted_paths(&days[days.len() - 1]).remove(0);
    std::fs::copy(&replacement, &files[0]).unwrap();
    let fresh = count(&["--no-cache"]);
    assert_ne!(fresh, cold, "the rewrite changed the data");
    assert_eq!(
        count(&[]),
        fresh,
        "the rewritten file is not read from the cache"
    );
    // A new file is read too.
    std::fs::copy(&replacement, folder.join("new-file.gz")).unwrap();
    let more = count(&["--no-cache"]);
    assert_ne!(more, fresh);
    assert_eq!(count(&[]), more);
    // --no-cache neither reads nor writes it.
    let empty = tmp.path().join("cache2");
    let o = cplogs_env(
        &["--local", data_s, "report", "failures", "--no-cache"],
        &[("CPLOGS_CACHE_DIR", empty.to_str().unwrap())],
    );
    assert!(o.status.success());
    assert!(!empty.exists());
}

/// `cplogs --local DIR ARGS --format json` with `env`: the document; it must succeed.
fn json_env(dir: &str, args: &[&str], env: &[(&str, &str)]) -> (Value, String) {
    let mut all = vec!["--local", dir];
    all.extend_from_slice(args);
    all.extend(["--format", "json"]);
    let o = cplogs_env(&all, env);
    assert!(o.status.success(), "{all:?}: {}", text(&o.stderr));
    (serde_json::from_slice(&o.stdout).unwrap(), text(&o.stderr))
}

/// `report failures` over the window, as JSON, on the data under `tmp/logs` with the
/// cache `tmp/cache`: its results, how many answers came from the cache, and stderr.
fn failures_in(tmp: &Path, extra: &[&str]) -> (Value, u64, String) {
    let cache = tmp.join("cache");
    let mut args = vec!["report", "failures"];
    args.extend(WINDOW);
    args.extend_from_slice(extra);
    let env = [("CPLOGS_CACHE_DIR", cache.to_str().unwrap())];
    let (doc, err) = json_env(tmp.join("logs").to_str().unwrap(), &args, &env);
    let cached = doc["stats"]["answers_from_cache"].as_u64().unwrap();
    (doc["results"].clone(), cached, err)
}

#[test]
fn a_repeated_report_is_answered_from_the_cache_and_never_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("logs");
    copy_tree(demo(), &data);
    let data_s = data.to_str().unwrap();
    let cache = tmp.path().join("cache");
    let env = [("CPLOGS_CACHE_DIR", cache.to_str().unwrap())];
    let run = |extra: &[&str]| failures_in(tmp.path(), extra);
    let (first, cached, _) = run(&[]);
    assert_eq!(cached, 0, "nothing is cached yet");
    let (again, cached, err) = run(&[]);
    assert_eq!(again, first);
    assert_eq!(cached, 2, "both statements answered from the cache");
    assert!(err.contains("answered from the cache"), "{err}");
    // --no-cache computes it again, to the same answer.
    let (fresh, cached, err) = run(&["--no-cache"]);
    assert_eq!((fresh, cached), (first.clone(), 0));
    assert!(err.contains("read from"), "{err}");
    // Another window is another question.
    let (_, cached, _) = run(&["--pipeline", "auth-api"]);
    assert_eq!(cached, 0);

    // A file of the pipeline table in the window removed, then put back, then
    // rewritten with other data: each time the first statement (over that table) is
    // computed again, to the files' answer; the second reads only the action table,
    // whose files did not change, and stays answered from the cache.
    let folder = data.join("pipeline_execution_state_change/dt=2026-11-15");
    let files = sorted_paths(&folder);
    let moved = tmp.path().join("moved.gz");
    std::fs::rename(&files[0], &moved).unwrap();
    let (removed, _, _) = run(&["--no-cache"]);
    assert_ne!(removed, first, "the removal changed the answer");
    let (cached_removed, cached, _) = run(&[]);
    assert_eq!((cached_removed, cached), (removed.clone(), 1));
    // Back in place, with a new modification time but the same bytes: the key
    // changed, the answer did not.
    std::fs::copy(&moved, &files[0]).unwrap();
    let (restored, cached, _) = run(&[]);
    assert_eq!((restored, cached), (first.clone(), 1));
    let other = sorted_paths(&data.join("pipeline_execution_state_change/dt=2026-11-19")).remove(0);
    std::fs::copy(&other, &files[0]).unwrap();
    let (rewritten, _, _) = run(&["--no-cache"]);
    assert_ne!(rewritten, first, "the rewrite changed the answer");
    let (cached_rewritten, cached, _) = run(&[]);
    assert_eq!((cached_rewritten, cached), (rewritten.clone(), 1));
    let (_, cached, _) = run(&[]);
    assert_eq!(cached, 2, "unchanged since: from the cache again");

    // A statement that asks for the time is computed every time.
    let sql = "SELECT count(*) AS n, max(now()) AS at FROM pipeline_execution_state_change";
    for _ in 0..2 {
        let (doc, _) = json_env(data_s, &["query", sql], &env);
        assert_eq!(doc["stats"]["answers_from_cache"], 0);
    }
    // So is a statement that stepped over an unreadable file (in the pipeline table:
    // the statement over the action table is still answered from the cache), and the
    // file is named every time.
    std::fs::write(folder.join("broken.gz"), b"not gzip").unwrap();
    for _ in 0..2 {
        let (_, cached, err) = run(&["--skip-bad-files"]);
        assert_eq!(cached, 1);
        assert!(
            err.contains("warning: skipped") && err.contains("broken.gz"),
            "{err}"
        );
    }
}

/// Sets the modification time of `path` (a file or folder) and, for a folder, of
/// everything under it an hour back: data written long ago, whose folders' times
/// the answer cache's shortcut trusts.
fn age(path: &Path) {
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            age(&e.unwrap().path());
        }
    }
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::open(path)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
}

#[test]
fn an_answer_taken_by_the_shortcut_is_never_stale() {
    // Over folders left alone for a while, a repeated report is answered from the
    // folders' and files' times alone (no planning, no listing): every change to the
    // data under it must still be seen.
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("logs");
    copy_tree(demo(), &data);
    age(&data);
    let run = |extra: &[&str]| {
        let (results, cached, _) = failures_in(tmp.path(), extra);
        (results, cached)
    };
    // The answer, checked against --no-cache after each change; then the same
    // question again, answered from the cache.
    let answered = |what: &str| {
        let (fresh, _) = run(&["--no-cache"]);
        let (got, _) = run(&[]);
        assert_eq!(got, fresh, "{what}: a stale answer");
        age(&data);
        run(&[]);
        let (again, cached) = run(&[]);
        assert_eq!(
            (again, cached),
            (fresh.clone(), 2),
            "{what}: not kept again"
        );
        fresh
    };
    let first = answered("unchanged");

    let pipelines = data.join("pipeline_execution_state_change");
    let day = pipelines.join("dt=2026-11-15");
    let files = sorted_paths(&day);
    let other = sorted_paths(&pipelines.join("dt=2026-11-19")).remove(0);

    // A file removed, then put back under another name.
    let moved = tmp.path().join("moved.gz");
    std::fs::rename(&files[0], &moved).unwrap();
    let removed = answered("a file removed");
    assert_ne!(removed, first, "the removal changed the answer");
    let back = day.join("zz-back.gz");
    std::fs::copy(&moved, &back).unwrap();
    assert_eq!(answered("a file added"), first);
    // That file rewritten in place with other data, its time set back as a copy
    // that keeps times would: no folder changed, only the file itself.
    std::fs::copy(&other, &back).unwrap();
    age(&back);
    let rewritten = answered("a file rewritten in place");
    assert_ne!(rewritten, first, "the rewrite changed the answer");
    // A whole day's folder moved away, then back.
    let away = tmp.path().join("away");
    std::fs::rename(pipelines.join("dt=2026-11-16"), &away).unwrap();
    assert_ne!(answered("a folder removed"), rewritten);
    std::fs::rename(&away, pipelines.join("dt=2026-11-16")).unwrap();
    assert_eq!(answered("a folder put back"), rewritten);
}

#[test]
fn queries_reading_other_fields_of_a_struct_never_share_cache_entries() {
    // The scan decodes only the struct fields a query reads, and caches what it
    // decoded: a query reading another field must not take those entries for whole.
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let env = [("CPLOGS_CACHE_DIR", cache.to_str().unwrap())];
    let run = |sql: &str, extra: &[&str]| query_csv(demo().to_str().unwrap(), sql, &env, extra);
    // The same column each time: only the fields read differ.
    let from = " FROM action_execution_state_change";
    let code = format!("SELECT count(executionresult.errorcode) AS n{from}");
    let url = format!("SELECT count(executionresult.externalexecutionurl) AS n{from}");
    let whole = format!(
        "SELECT count(*) FILTER (WHERE executionresult IS NOT NULL) AS n, \
         count(executionresult.errorcode) AS e{from}"
    );
    let cold: Vec<String> = [&code, &url, &whole]
        .iter()
        .map(|q| run(q, &["--no-cache"]))
        .collect();
    for c in &cold {
        let n: u64 = c
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(n > 0, "the demo has results with codes and URLs: {c}");
    }
    assert_ne!(cold[0], cold[1]);
    for round in ["cold cache", "warm cache"] {
        for (q, want) in [&code, &url, &whole].iter().zip(&cold) {
            assert_eq!(&run(q, &[]), want, "{round}: {q}");
        }
    }
}
