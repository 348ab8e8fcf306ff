//! Bad input and faults on the local engine (issue 12): a file that cannot be read is
//! named, or stepped over with `--skip-bad-files` without losing any other row;
//! records that do not fit the schema read as the OpenX SerDe reads them on Athena;
//! a query runs under a memory limit and a timeout, and fails cleanly at either.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cplogs::Table;
use cplogs::engine::local::{LocalEngine, LocalOptions};
use cplogs::engine::{EngineError, Query, QueryEngine, QueryOutput};
use cplogs::ingest::PartitionWriter;
use cplogs::reports::{Breakdown, ReportParams};
use cplogs::rows::Value;
use serde_json::Value as Json;

use crate::common::cli::cplogs_env;
use crate::common::{at, text};

/// Ten days of demo history for 5 pipelines, ending 2026-11-20.
fn demo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut config = cplogs::ingest::demo::DemoConfig::new(at("2026-11-20T18:00:00Z"));
    config.pipelines = 5;
    config.days = 10;
    let mut writer = PartitionWriter::new(dir.path(), 1);
    cplogs::ingest::demo::generate(&config, &mut writer, |_| {}).unwrap();
    writer.finish().unwrap();
    dir
}

fn window() -> ReportParams {
    ReportParams::new(
        at("2026-11-12T00:00:00Z"),
        at("2026-11-21T00:00:00Z"),
        at("2026-11-21T00:00:00Z"),
    )
    .unwrap()
}

/// Every statement of every report, once.
fn statements(p: &ReportParams) -> Vec<(String, Query)> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for r in cplogs::reports::REPORTS {
        for by in [Breakdown::Pipeline, Breakdown::Stage, Breakdown::Action] {
            for s in r.sections(by) {
                if seen.insert(s.name) {
                    out.push((s.name.to_owned(), s.query(p)));
                }
            }
        }
    }
    out
}

fn gz(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

fn folder(root: &Path, table: Table, dt: &str) -> PathBuf {
    let dir = root.join(table.name()).join(format!("dt={dt}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The first data file of a folder.
fn some_file(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.into_iter().next().unwrap()
}

async fn run_all(e: &LocalEngine, qs: &[(String, Query)]) -> Vec<Result<QueryOutput, EngineError>> {
    let mut out = Vec::new();
    for (_, q) in qs {
        out.push(e.run(q).await);
    }
    out
}

/// A file that cannot be read at all fails exactly the statements that read its
/// table, naming it and the way out; with skip_bad_files every statement runs, gives
/// the rows it gives without the file, and lists the file as skipped.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_file_is_named_or_stepped_over() {
    let dir = demo();
    let root = dir.path();
    let qs = statements(&window());
    let clean = LocalEngine::open(root).await.unwrap();
    let clean: Vec<QueryOutput> = run_all(&clean, &qs)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let whole = std::fs::read(some_file(&folder(root, Table::Action, "2026-11-15"))).unwrap();
    let cases: [(&str, Table, Vec<u8>, &str); 3] = [
        (
            "foo.gz",
            Table::Pipeline,
            b"PK\x03\x04 a zip archive, not gzip".to_vec(),
            "not gzip (invalid gzip header)",
        ),
        (
            "copy-cut-short.gz",
            Table::Action,
            whole[..whole.len() / 2].to_vec(),
            "truncated gzip",
        ),
        (
            "export.csv.gz",
            Table::Stage,
            gz("time,pipeline,state\n2026-11-15T10:00:00Z,api,STARTED\n"),
            "not JSON lines",
        ),
    ];
    for (name, table, bytes, reason) in cases {
        let path = folder(root, table, "2026-11-15").join(name);
        std::fs::write(&path, &bytes).unwrap();
        let shown = path.display().to_string();
        let reads = |o: &QueryOutput| {
            o.stats
                .files
                .iter()
                .any(|f| f.contains(&format!("/{}/", table.name())))
        };

        let strict = LocalEngine::open(root).await.unwrap();
        let mut failed = 0;
        for (((sql_name, _), got), want) in qs.iter().zip(run_all(&strict, &qs).await).zip(&clean) {
            if !reads(want) {
                assert_eq!(got.unwrap().result, want.result, "{name}: {sql_name}");
                continue;
            }
            failed += 1;
            match got {
                Err(EngineError::BadFile { file, reason: why }) => {
                    assert_eq!(file, shown, "{name}: {sql_name}");
                    assert!(why.starts_with(reason), "{name}: {sql_name}: {why}");
                    let message = EngineError::BadFile { file, reason: why }.to_string();
                    assert!(
                        message.contains("move it out of the table folder")
                            && message.contains("--skip-bad-files"),
                        "{message}"
                    );
                }
                other => panic!("{name}: {sql_name}: {other:?}"),
            }
        }
        assert!(failed >= 1, "{name}: no statement reads {table}");

        let options = LocalOptions {
            skip_bad_files: true,
            ..LocalOptions::default()
        };
        let skipping = LocalEngine::open_with(root, options).await.unwrap();
        for (((sql_name, _), got), want) in qs.iter().zip(run_all(&skipping, &qs).await).zip(&clean)
        {
            let got = got.unwrap_or_else(|e| panic!("{name}: {sql_name}: {e}"));
            assert_eq!(got.result, want.result, "{name}: {sql_name}: rows lost");
            if reads(want) {
                assert_eq!(got.stats.skipped_files.len(), 1, "{name}: {sql_name}");
                let (file, why) = &got.stats.skipped_files[0];
                assert_eq!(file, &shown);
                assert!(why.starts_with(reason), "{why}");
            } else {
                assert!(got.stats.skipped_files.is_empty(), "{name}: {sql_name}");
            }
        }
        std::fs::remove_file(&path).unwrap();
    }
}

/// Lines that are not JSON, a number where text is expected, a time that is not one
/// and a string where a struct is expected: every report still runs, and the values
/// read as Athena's OpenX SerDe (with ignore.malformed.json) reads them.
#[tokio::test(flavor = "multi_thread")]
async fn records_that_do_not_fit_the_schema_read_as_on_athena() {
    let dir = demo();
    let root = dir.path();
    let pipeline = [
        r#"{"timestamp":"2026-11-15T10:00:00Z","pipeline":"odd","executionId":"x1","state":"STARTED","version":3,"eventId":"odd-1","startTime":"yesterday","executionTrigger":"webhook","executionAttempt":"one"}"#,
        r#"{"timestamp":"2026-11-15T10:05:00Z","pipeline":"odd","executionId":"x1","state":"SUCCEEDED","version":3.0,"eventId":"odd-2","startTime":"yesterday"}"#,
        "this line is not JSON",
        r#"{"timestamp": "2026-11-15T10:06:00Z", "pipeline": "odd", oops}"#,
    ];
    let action = [
        r#"{"timestamp":"2026-11-15T10:01:00Z","pipeline":"odd","executionId":"x1","stage":"Build","action":"Compile","actionExecutionId":"c1","state":"STARTED","version":3,"eventId":"odd-3","type":"Build"}"#,
        r#"{"timestamp":"2026-11-15T10:04:00Z","pipeline":"odd","executionId":"x1","stage":"Build","action":"Compile","actionExecutionId":"c1","state":"SUCCEEDED","version":"3","eventId":"odd-4","type":{"owner":"AWS","category":"Build","provider":"CodeBuild","version":1},"executionResult":42}"#,
    ];
    for (table, lines) in [
        (Table::Pipeline, &pipeline[..]),
        (Table::Action, &action[..]),
    ] {
        let path = folder(root, table, "2026-11-15").join("odd.json.gz");
        std::fs::write(path, gz(&(lines.join("\n") + "\n"))).unwrap();
    }
    let e = LocalEngine::open(root).await.unwrap();
    for (name, q) in statements(&window()) {
        e.run(&q)
            .await
            .unwrap_or_else(|err| panic!("{name}: {err}"));
    }
    let only_odd = window().with_pipelines(&["odd".into()]).unwrap();
    let rows = |name: &str| {
        let q = cplogs::reports::statement(name).query(&only_odd);
        let e = &e;
        async move { e.run(&q).await.unwrap().result }
    };
    // The STARTED event gives the start; "yesterday" as startTime is NULL, not an error.
    let r = rows("executions").await;
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.get(0, "state"), Some(&Value::Text("SUCCEEDED".into())));
    assert_eq!(
        r.get(0, "started"),
        Some(&Value::Text("2026-11-15T10:00:00.000Z".into()))
    );
    assert_eq!(r.get(0, "duration_s"), Some(&Value::Int(300)));
    assert_eq!(r.get(0, "trigger_type"), Some(&Value::Null));
    let r = rows("durations").await;
    assert_eq!(r.get(0, "p50_s"), Some(&Value::Int(300)));
    let r = rows("dora").await;
    assert_eq!(r.get(0, "deployments"), Some(&Value::Int(1)));
    let r = rows("durations_by_action").await;
    assert_eq!(r.get(0, "attempts"), Some(&Value::Int(1)));
    assert_eq!(r.get(0, "p50_s"), Some(&Value::Int(180)));

    let query = |sql: &str| {
        let q = Query::new(sql);
        let e = &e;
        async move { e.run(&q).await }
    };
    let r = query(
        "SELECT eventid, version, executiontrigger, executionattempt FROM pipeline_execution_state_change \
         WHERE pipeline = 'odd' ORDER BY eventid",
    )
    .await
    .unwrap()
    .result;
    let text = |s: &str| Value::Text(s.into());
    assert_eq!(
        r.rows,
        vec![
            vec![text("odd-1"), text("3"), Value::Null, Value::Null],
            vec![text("odd-2"), text("3.0"), Value::Null, Value::Null],
        ]
    );
    // The two malformed lines are rows of NULLs in their partition.
    let r = query(
        "SELECT count(*) AS n FROM pipeline_execution_state_change \
         WHERE dt = '2026-11-15' AND eventid IS NULL AND pipeline IS NULL",
    )
    .await
    .unwrap()
    .result;
    assert_eq!(r.rows, vec![vec![Value::Int(2)]]);
    let r = query(
        "SELECT eventid, type.category, executionresult FROM action_execution_state_change \
         WHERE pipeline = 'odd' ORDER BY eventid",
    )
    .await
    .unwrap()
    .result;
    assert_eq!(r.rows[0], vec![text("odd-3"), Value::Null, Value::Null]);
    assert_eq!(r.rows[1], vec![text("odd-4"), text("Build"), Value::Null]);
    // As on Athena, from_iso8601_timestamp of garbage is an error; try() makes it NULL.
    let bad = "SELECT from_iso8601_timestamp(starttime) FROM pipeline_execution_state_change \
               WHERE eventid = 'odd-1'";
    assert!(matches!(
        query(bad).await,
        Err(EngineError::Execution(m)) if m.contains("yesterday")
    ));
    let r = query(
        "SELECT try(from_iso8601_timestamp(starttime)) AS t FROM pipeline_execution_state_change \
         WHERE eventid = 'odd-1'",
    )
    .await
    .unwrap()
    .result;
    assert_eq!(r.rows, vec![vec![Value::Null]]);
    // EXPLAIN ANALYZE of such a statement, with a `?`, runs it as the statement runs:
    // the same rewrite and the same parameter binding under EXPLAIN.
    let explain = Query {
        sql: "EXPLAIN ANALYZE SELECT try(from_iso8601_timestamp(starttime)) AS t \
              FROM pipeline_execution_state_change WHERE eventid = ?"
            .into(),
        params: vec!["odd-1".into()],
    };
    let plan = e.run(&explain).await.unwrap().result;
    let plan = format!("{:?}", plan.rows);
    assert!(plan.contains("try_from_iso8601_timestamp"), "{plan}");
    assert!(plan.contains("output_rows=1"), "{plan}");
}

const WINDOW: [&str; 4] = ["--since", "2026-11-12", "--until", "2026-11-21"];

#[test]
fn the_cli_names_a_bad_file_and_steps_over_it_on_request() {
    let dir = demo();
    let root = dir.path().to_str().unwrap();
    let bad = folder(dir.path(), Table::Pipeline, "2026-11-15").join("foo.gz");
    std::fs::write(&bad, b"not gzip at all").unwrap();
    let bad = bad.display().to_string();
    let run = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.extend(["--local", root]);
        if args[0] != "query" {
            args.extend(WINDOW);
        }
        cplogs_env(&args, &[])
    };
    let o = run(&["report", "failures"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!("{bad}: not gzip (invalid gzip header): move it out of the table folder, or pass --skip-bad-files")),
        "{err}"
    );

    let o = run(&["report", "failures", "--skip-bad-files", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let doc: Json = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["stats"]["skipped_files"], serde_json::json!([bad]));
    assert_eq!(doc["results"][0]["rows"].as_array().unwrap().len(), 5);
    let err = text(&o.stderr);
    assert_eq!(err.matches("warning: skipped").count(), 1, "{err}");
    assert!(
        err.contains(&format!("warning: skipped {bad}: not gzip"))
            && err.contains("1 unreadable file(s) skipped"),
        "{err}"
    );
    // A report that does not read the table has nothing to skip.
    let o = run(&[
        "report",
        "approvals",
        "--skip-bad-files",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let doc: Json = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["stats"]["skipped_files"], serde_json::json!([]));

    // query and audit take the flag too.
    let sql = "SELECT count(*) AS n FROM pipeline_execution_state_change WHERE dt = '2026-11-15'";
    let o = run(&["query", sql]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains(&bad));
    let o = run(&["query", sql, "--skip-bad-files", "--format", "csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("1 unreadable file(s) skipped"));
    let o = run(&["audit", "--max-failure-rate", "1"]);
    assert_eq!(o.status.code(), Some(1));
    let o = run(&["audit", "--max-failure-rate", "1", "--skip-bad-files"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains(&format!("warning: skipped {bad}")));
}

#[test]
fn a_query_over_the_memory_limit_fails_cleanly() {
    let dir = demo();
    let root = dir.path().to_str().unwrap();
    let sql = "SELECT a.eventid, b.eventid FROM action_execution_state_change a \
               CROSS JOIN action_execution_state_change b";
    let started = Instant::now();
    let o = cplogs_env(
        &["query", sql, "--local", root, "--memory-limit", "64MB"],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("the query needs more memory than the limit (64.0 MB); raise --memory-limit or narrow the window"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
    assert!(started.elapsed() < Duration::from_secs(60));
    // The same limit from the environment.
    let o = cplogs_env(
        &["query", sql, "--local", root],
        &[("CPLOGS_MEMORY_LIMIT", "64MiB")],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("(64.0 MiB)"),
        "{}",
        text(&o.stderr)
    );
    // Reports run within it.
    let mut args = vec![
        "report",
        "durations",
        "--local",
        root,
        "--memory-limit",
        "64MB",
    ];
    args.extend(WINDOW);
    let o = cplogs_env(&args, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

#[test]
fn memory_limits_are_parsed_strictly() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    for bad in [
        "-1",
        "1e999",
        "99999999TB",
        "lots",
        "0",
        "1.5.0GB",
        "12 parsecs",
    ] {
        let flag = format!("--memory-limit={bad}");
        let o = cplogs_env(&["query", "SELECT 1", "--local", root, &flag], &[]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o.stderr));
        let err = text(&o.stderr);
        assert!(
            err.contains("memory limit (from flag --memory-limit)"),
            "{bad}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let o = cplogs_env(
        &["query", "SELECT 1", "--local", root],
        &[("CPLOGS_MEMORY_LIMIT", "half")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("CPLOGS_MEMORY_LIMIT"));
    let o = cplogs_env(
        &[
            "query",
            "SELECT 1 AS one",
            "--local",
            root,
            "--memory-limit",
            "2GiB",
            "--format",
            "csv",
        ],
        &[],
    );
    assert_eq!(text(&o.stdout), "one\n1\n", "{}", text(&o.stderr));
}

#[test]
fn a_slow_local_query_stops_at_the_timeout() {
    let dir = demo();
    let root = dir.path().to_str().unwrap();
    let sql = "SELECT count(*) AS n FROM action_execution_state_change a \
               CROSS JOIN action_execution_state_change b CROSS JOIN action_execution_state_change c";
    let started = Instant::now();
    let o = cplogs_env(&["query", sql, "--local", root, "--timeout", "1s"], &[]);
    let took = started.elapsed();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("the query ran longer than 1s and was stopped"),
        "{}",
        text(&o.stderr)
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
}
