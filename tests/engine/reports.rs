//! Correctness of every bundled report on the local engine: a small history with
//! hand-computed expected values (duplicate deliveries, files written out of order,
//! stage retries, superseded and stopped runs, an execution spanning midnight), plus
//! partition pruning and hostile parameter values.

use std::path::Path;

use cplogs::engine::local::LocalEngine;
use cplogs::engine::{Query, QueryEngine};
use cplogs::ingest::{IngestReport, PartitionWriter, ingest_bytes};
use cplogs::reports::{Breakdown, ReportParams, statement};
use cplogs::rows::{ResultSet, Value};
use serde_json::{Value as Json, json};

use crate::common::at;
use crate::common::events::envelope;

const WEIRD: &str = "we'ird;--pipe\\ü";

/// Builds EventBridge CodePipeline events with unique ids.
#[derive(Default)]
struct Events {
    next: u32,
    list: Vec<Json>,
}

impl Events {
    fn envelope(&mut self, kind: &str, time: &str, pipeline: &str, detail: Json) -> Json {
        self.next += 1;
        let e = envelope(
            kind,
            &format!("ev-{:04}", self.next),
            time,
            pipeline,
            detail,
        );
        self.list.push(e.clone());
        e
    }

    fn pipeline(&mut self, time: &str, pipeline: &str, exec: &str, state: &str) -> Json {
        let detail = json!({
            "pipeline": pipeline, "execution-id": exec, "state": state, "version": 1.0,
            "pipeline-execution-attempt": 1.0,
        });
        self.envelope("Pipeline", time, pipeline, detail)
    }

    fn started(&mut self, time: &str, pipeline: &str, exec: &str, commit: Option<&str>) -> Json {
        let mut detail = json!({
            "pipeline": pipeline, "execution-id": exec, "state": "STARTED", "version": 1.0,
            "start-time": time,
            "execution-trigger": {"trigger-type": "StartPipelineExecution", "trigger-detail": "user"},
        });
        if let Some(c) = commit {
            detail["execution-trigger"] = json!({"trigger-type": "WebhookV2", "commit-id": c});
        }
        self.envelope("Pipeline", time, pipeline, detail)
    }

    fn run(&mut self, pipeline: &str, exec: &str, start: &str, end: &str, outcome: &str) {
        self.started(start, pipeline, exec, None);
        self.pipeline(end, pipeline, exec, outcome);
    }

    fn stage(&mut self, time: &str, pipeline: &str, exec: &str, stage: &str, state: &str) {
        let detail = json!({
            "pipeline": pipeline, "execution-id": exec, "stage": stage, "state": state, "version": 1,
        });
        self.envelope("Stage", time, pipeline, detail);
    }

    #[allow(clippy::too_many_arguments)]
    fn action(
        &mut self,
        time: &str,
        pipeline: &str,
        exec: &str,
        (stage, action, attempt): (&str, &str, &str),
        category: &str,
        state: &str,
        error: Option<(&str, &str)>,
    ) -> Json {
        let mut detail = json!({
            "pipeline": pipeline, "execution-id": exec, "stage": stage, "action": action,
            "action-execution-id": attempt, "state": state, "region": "eu-west-1", "version": 1,
            "type": {"owner": "AWS", "category": category, "provider": "X", "version": "1"},
        });
        if let Some((code, url)) = error {
            detail["execution-result"] = json!({
                "error-code": code, "external-execution-url": url,
            });
        }
        self.envelope("Action", time, pipeline, detail)
    }

    fn attempt(
        &mut self,
        pipeline: &str,
        exec: &str,
        what: (&str, &str, &str),
        category: &str,
        (start, end, outcome): (&str, &str, &str),
        error: Option<(&str, &str)>,
    ) {
        self.action(start, pipeline, exec, what, category, "STARTED", None);
        self.action(end, pipeline, exec, what, category, outcome, error);
    }
}

fn t(hms: &str) -> String {
    format!("2026-11-{hms}Z")
}

/// Writes `events` as one more file per partition (a Firehose flush of its own).
fn write_files(dir: &Path, events: &[Json]) {
    let mut writer = PartitionWriter::new(dir, 1);
    let mut report = IngestReport::default();
    let input = serde_json::to_vec(events).unwrap();
    ingest_bytes("flush", &input, &mut writer, &mut report).unwrap();
    assert_eq!(report.rejected, 0, "{:?}", report.rejections);
    writer.finish().unwrap();
}

/// Writes the fixture history under `dir` in the bucket layout.
fn fixture(dir: &Path) {
    let mut ev = Events::default();
    // alpha
    ev.run(
        "alpha",
        "a0",
        &t("31T23:00:00").replace("11-31", "10-31"),
        &t("31T23:30:00").replace("11-31", "10-31"),
        "SUCCEEDED",
    );
    ev.started(&t("02T10:00:00"), "alpha", "a1", Some("abc123"));
    let a1_done = ev.pipeline(&t("02T10:10:00"), "alpha", "a1", "SUCCEEDED");
    ev.list.push(a1_done); // duplicate delivery
    ev.run(
        "alpha",
        "a2",
        &t("03T10:00:00"),
        &t("03T10:05:00"),
        "FAILED",
    );
    ev.pipeline(&t("03T11:00:00"), "alpha", "a2", "RESUMED");
    ev.pipeline(&t("03T11:20:00"), "alpha", "a2", "SUCCEEDED");
    ev.run(
        "alpha",
        "a3",
        &t("04T23:50:00"),
        &t("05T00:20:00"),
        "SUCCEEDED",
    );
    ev.run(
        "alpha",
        "a4",
        &t("05T09:00:00"),
        &t("05T09:02:00"),
        "FAILED",
    );
    ev.run(
        "alpha",
        "a5",
        &t("05T12:00:00"),
        &t("05T12:01:00"),
        "SUPERSEDED",
    );
    ev.run(
        "alpha",
        "a6",
        &t("06T08:00:00"),
        &t("06T08:01:00"),
        "STOPPING",
    );
    ev.pipeline(&t("06T08:02:00"), "alpha", "a6", "STOPPED");
    ev.run(
        "alpha",
        "a7",
        &t("06T09:00:00"),
        &t("06T09:15:00"),
        "SUCCEEDED",
    );
    ev.started(&t("05T07:00:00"), "alpha", "a8", None);
    ev.started(&t("07T20:00:00"), "alpha", "a9", None);
    // alpha actions and stages
    ev.attempt(
        "alpha",
        "a2",
        ("Source", "Source", "s1"),
        "Source",
        (&t("03T10:00:10"), &t("03T10:00:40"), "SUCCEEDED"),
        None,
    );
    ev.attempt(
        "alpha",
        "a2",
        ("Build", "Build", "b1"),
        "Build",
        (&t("03T10:01:00"), &t("03T10:05:00"), "FAILED"),
        Some(("JobFailed", "https://x/b1")),
    );
    let b1_failed = ev.list.last().cloned().unwrap();
    ev.list.push(b1_failed); // duplicate delivery
    ev.attempt(
        "alpha",
        "a2",
        ("Build", "Build", "b2"),
        "Build",
        (&t("03T11:00:10"), &t("03T11:10:10"), "SUCCEEDED"),
        None,
    );
    ev.attempt(
        "alpha",
        "a2",
        ("Approval", "Approve", "p1"),
        "Approval",
        (&t("03T11:10:20"), &t("03T11:19:50"), "SUCCEEDED"),
        None,
    );
    ev.attempt(
        "alpha",
        "a4",
        ("Build", "Build", "b3"),
        "Build",
        (&t("05T09:00:10"), &t("05T09:01:50"), "FAILED"),
        Some(("JobFailed", "https://x/b3")),
    );
    ev.attempt(
        "alpha",
        "a3",
        ("Approval", "Approve", "p2"),
        "Approval",
        (&t("04T23:55:00"), &t("05T00:15:00"), "SUCCEEDED"),
        None,
    );
    ev.attempt(
        "alpha",
        "a7",
        ("Deploy", "Deploy", "d1"),
        "Deploy",
        (&t("06T09:01:00"), &t("06T09:14:00"), "SUCCEEDED"),
        None,
    );
    ev.stage(&t("03T10:00:55"), "alpha", "a2", "Build", "STARTED");
    ev.stage(&t("03T10:05:05"), "alpha", "a2", "Build", "FAILED");
    ev.stage(&t("03T11:00:05"), "alpha", "a2", "Build", "STARTED");
    ev.stage(&t("03T11:10:15"), "alpha", "a2", "Build", "SUCCEEDED");
    // the hostile pipeline name (valid data, never valid on the command line)
    ev.run(
        WEIRD,
        "h1",
        &t("04T01:00:00"),
        &t("04T01:05:00"),
        "SUCCEEDED",
    );
    let first_batch = std::mem::take(&mut ev.list);

    // beta, written in two runs with the later events first (files out of order),
    // one execution's SUCCEEDED before its STARTED.
    ev.run(
        "beta",
        "b3",
        &t("02T12:00:00"),
        &t("02T12:20:00"),
        "SUCCEEDED",
    );
    ev.list.reverse();
    ev.run(
        "beta",
        "b4",
        &t("03T12:00:00"),
        &t("03T12:40:00"),
        "SUCCEEDED",
    );
    let later = std::mem::take(&mut ev.list);
    ev.run("beta", "b1", &t("02T08:00:00"), &t("02T08:30:00"), "FAILED");
    ev.attempt(
        "beta",
        "b1",
        ("Approval", "Approve", "p3"),
        "Approval",
        (&t("02T08:10:00"), &t("02T08:30:00"), "FAILED"),
        None,
    );
    ev.run("beta", "b2", &t("02T09:00:00"), &t("02T09:10:00"), "FAILED");
    let earlier = std::mem::take(&mut ev.list);

    for batch in [first_batch, later, earlier] {
        write_files(dir, &batch);
    }
}

fn week() -> ReportParams {
    ReportParams::new(
        at("2026-11-01T00:00:00Z"),
        at("2026-11-08T00:00:00Z"),
        at("2026-11-08T00:00:00Z"),
    )
    .unwrap()
}

fn json_rows(r: &ResultSet) -> Vec<Json> {
    r.rows
        .iter()
        .map(|row| {
            let m: serde_json::Map<String, Json> = r
                .columns
                .iter()
                .zip(row)
                .map(|(c, v)| {
                    let j = match v {
                        Value::Null => Json::Null,
                        Value::Bool(b) => json!(b),
                        Value::Int(i) => json!(i),
                        Value::Float(f) => json!(f),
                        Value::Text(t) => json!(t),
                    };
                    (c.name.clone(), j)
                })
                .collect();
            Json::Object(m)
        })
        .collect()
}

async fn run(engine: &LocalEngine, name: &str, p: &ReportParams) -> Vec<Json> {
    let out = engine.run(&statement(name).query(p)).await.unwrap();
    json_rows(&out.result)
}

/// Picks `keys` from each row, to compare only what a test is about.
fn pick(rows: &[Json], keys: &[&str]) -> Vec<Json> {
    rows.iter()
        .map(|r| {
            Json::Object(
                keys.iter()
                    .map(|k| ((*k).to_owned(), r[*k].clone()))
                    .collect(),
            )
        })
        .collect()
}

async fn engine() -> (tempfile::TempDir, LocalEngine) {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    let engine = LocalEngine::open(dir.path()).await.unwrap();
    (dir, engine)
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_and_failing_actions() {
    let (_d, e) = engine().await;
    let rows = run(&e, "failures", &week()).await;
    assert_eq!(
        rows,
        vec![
            json!({"pipeline": "beta", "executions": 4, "failed": 2, "failure_rate": 0.5}),
            json!({"pipeline": "alpha", "executions": 7, "failed": 1, "failure_rate": 0.1429}),
            json!({"pipeline": WEIRD, "executions": 1, "failed": 0, "failure_rate": 0.0}),
        ]
    );
    let rows = run(&e, "failures_actions", &week()).await;
    assert_eq!(
        rows,
        vec![
            json!({"pipeline": "alpha", "stage": "Build", "action": "Build", "failures": 2,
                   "error_codes": "JobFailed", "last_failure": "2026-11-05T09:01:50.000Z",
                   "last_failure_url": "https://x/b3"}),
            json!({"pipeline": "beta", "stage": "Approval", "action": "Approve", "failures": 1,
                   "error_codes": null, "last_failure": "2026-11-02T08:30:00.000Z",
                   "last_failure_url": null}),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn durations_by_pipeline_stage_and_action() {
    let (_d, e) = engine().await;
    let rows = run(&e, "durations", &week()).await;
    assert_eq!(
        rows,
        vec![
            json!({"pipeline": "alpha", "executions": 4, "p50_s": 900, "p90_s": 4800, "p95_s": 4800, "max_s": 4800, "avg_s": 2025.0}),
            json!({"pipeline": "beta", "executions": 2, "p50_s": 1200, "p90_s": 2400, "p95_s": 2400, "max_s": 2400, "avg_s": 1800.0}),
            json!({"pipeline": WEIRD, "executions": 1, "p50_s": 300, "p90_s": 300, "p95_s": 300, "max_s": 300, "avg_s": 300.0}),
        ]
    );
    let rows = run(&e, "durations_by_stage", &week()).await;
    assert_eq!(
        rows,
        vec![
            json!({"pipeline": "alpha", "stage": "Build", "runs": 1, "p50_s": 4160, "p90_s": 4160, "p95_s": 4160, "max_s": 4160, "avg_s": 4160.0})
        ]
    );
    let rows = run(&e, "durations_by_action", &week()).await;
    assert_eq!(
        pick(
            &rows,
            &["stage", "action", "attempts", "p50_s", "p90_s", "max_s"]
        ),
        vec![
            json!({"stage": "Approval", "action": "Approve", "attempts": 2, "p50_s": 570, "p90_s": 1200, "max_s": 1200}),
            json!({"stage": "Deploy", "action": "Deploy", "attempts": 1, "p50_s": 780, "p90_s": 780, "max_s": 780}),
            json!({"stage": "Build", "action": "Build", "attempts": 1, "p50_s": 600, "p90_s": 600, "max_s": 600}),
            json!({"stage": "Source", "action": "Source", "attempts": 1, "p50_s": 30, "p90_s": 30, "max_s": 30}),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn timeline_of_a_given_and_of_the_latest_execution() {
    let (_d, e) = engine().await;
    let p = week().with_execution_id(Some("a2")).unwrap();
    let rows = run(&e, "timeline", &p).await;
    assert_eq!(
        pick(
            &rows,
            &[
                "stage",
                "action",
                "attempt",
                "start",
                "end",
                "duration_s",
                "state"
            ]
        ),
        vec![
            json!({"stage": "Source", "action": "Source", "attempt": 1, "start": "2026-11-03T10:00:10.000Z", "end": "2026-11-03T10:00:40.000Z", "duration_s": 30, "state": "SUCCEEDED"}),
            json!({"stage": "Build", "action": "Build", "attempt": 1, "start": "2026-11-03T10:01:00.000Z", "end": "2026-11-03T10:05:00.000Z", "duration_s": 240, "state": "FAILED"}),
            json!({"stage": "Build", "action": "Build", "attempt": 2, "start": "2026-11-03T11:00:10.000Z", "end": "2026-11-03T11:10:10.000Z", "duration_s": 600, "state": "SUCCEEDED"}),
            json!({"stage": "Approval", "action": "Approve", "attempt": 1, "start": "2026-11-03T11:10:20.000Z", "end": "2026-11-03T11:19:50.000Z", "duration_s": 570, "state": "SUCCEEDED"}),
        ]
    );
    assert!(
        rows.iter()
            .all(|r| r["pipeline"] == "alpha" && r["execution_id"] == "a2")
    );
    // Latest started execution of alpha before 11-07: a7.
    let p = ReportParams::new(
        at("2026-11-01T00:00:00Z"),
        at("2026-11-07T00:00:00Z"),
        at("2026-11-08T00:00:00Z"),
    )
    .unwrap()
    .with_pipelines(&["alpha".into()])
    .unwrap();
    let rows = run(&e, "timeline", &p).await;
    assert_eq!(
        pick(&rows, &["execution_id", "action", "duration_s"]),
        vec![json!({"execution_id": "a7", "action": "Deploy", "duration_s": 780})]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn executions_flaky_stuck_dora_approvals() {
    let (_d, e) = engine().await;
    let rows = run(&e, "executions", &week()).await;
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["execution_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "a9", "a7", "a6", "a5", "a4", "a8", "a3", "h1", "b4", "a2", "b3", "a1", "b2", "b1"
        ]
    );
    let by_id = |id: &str| {
        rows.iter()
            .find(|r| r["execution_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(
        pick(
            &[
                by_id("a1"),
                by_id("a2"),
                by_id("a6"),
                by_id("a9"),
                by_id("a3")
            ],
            &["state", "trigger_type", "commit_id", "duration_s"]
        ),
        vec![
            json!({"state": "SUCCEEDED", "trigger_type": "WebhookV2", "commit_id": "abc123", "duration_s": 600}),
            json!({"state": "SUCCEEDED", "trigger_type": "StartPipelineExecution", "commit_id": null, "duration_s": 4800}),
            json!({"state": "STOPPED", "trigger_type": "StartPipelineExecution", "commit_id": null, "duration_s": 120}),
            json!({"state": "STARTED", "trigger_type": "StartPipelineExecution", "commit_id": null, "duration_s": null}),
            json!({"state": "SUCCEEDED", "trigger_type": "StartPipelineExecution", "commit_id": null, "duration_s": 1800}),
        ]
    );

    let rows = run(&e, "flaky", &week()).await;
    assert_eq!(
        rows,
        vec![
            json!({"pipeline": "alpha", "stage": "Build", "action": "Build", "flaky_executions": 1, "failed_attempts": 1, "time_lost_s": 3550, "last_seen": "2026-11-03T11:00:10.000Z"})
        ]
    );

    let rows = run(&e, "stuck", &week()).await;
    assert_eq!(
        rows,
        vec![
            json!({"pipeline": "alpha", "execution_id": "a8", "started": "2026-11-05T07:00:00.000Z", "last_state": "STARTED", "last_event": "2026-11-05T07:00:00.000Z", "age_s": 234000})
        ]
    );

    let rows = run(&e, "dora", &week()).await;
    assert_eq!(
        rows,
        vec![
            // mttr: a4 FAILED (11-05 09:02) to a7 SUCCEEDED (11-06 09:15); the
            // SUPERSEDED a5 and STOPPED a6 between them neither restore nor fail.
            json!({"pipeline": "alpha", "deployments": 4, "deployments_per_day": 0.571, "change_failure_rate": 0.2, "mttr_s": 87180.0, "lead_time_p50_s": 900}),
            json!({"pipeline": "beta", "deployments": 2, "deployments_per_day": 0.286, "change_failure_rate": 0.5, "mttr_s": 13800.0, "lead_time_p50_s": 1200}),
            json!({"pipeline": WEIRD, "deployments": 1, "deployments_per_day": 0.143, "change_failure_rate": 0.0, "mttr_s": null, "lead_time_p50_s": 300}),
        ]
    );

    let rows = run(&e, "approvals", &week()).await;
    assert_eq!(
        rows,
        vec![
            json!({"pipeline": "alpha", "stage": "Approval", "action": "Approve", "approvals": 2, "approved": 2, "rejected": 0, "wait_p50_s": 570, "wait_p90_s": 1200, "wait_max_s": 1200}),
            json!({"pipeline": "beta", "stage": "Approval", "action": "Approve", "approvals": 1, "approved": 0, "rejected": 1, "wait_p50_s": 1200, "wait_p90_s": 1200, "wait_max_s": 1200}),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pipeline_filter_and_hostile_values_are_data() {
    let (_d, e) = engine().await;
    let only = week()
        .with_pipelines(&["beta".into(), "alpha".into()])
        .unwrap();
    let rows = run(&e, "failures", &only).await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["pipeline"] != WEIRD));

    // Bypass the command line's name validation: whatever the value, it is bound as
    // data and matches only a pipeline with exactly that name.
    let mut q = statement("failures").query(&week());
    let pipelines_at = [0, 1];
    for (value, expect) in [
        (format!(",{WEIRD},"), vec![WEIRD]),
        (",x' OR '1'='1,".to_owned(), vec![]),
        (",alpha') OR 1=1 --,".to_owned(), vec![]),
        (
            ",alpha'; DROP VIEW pipeline_execution_state_change; --,".to_owned(),
            vec![],
        ),
        (",/* */alpha,".to_owned(), vec![]),
        (",\\',".to_owned(), vec![]),
    ] {
        for i in pipelines_at {
            q.params[i] = value.clone();
        }
        let out = e.run(&q).await.unwrap();
        let names: Vec<String> = out
            .result
            .rows
            .iter()
            .map(|r| r[0].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, expect, "{value}");
    }
    // The tables are all still there.
    assert_eq!(run(&e, "failures", &week()).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_window_partitions_are_read() {
    let (dir, _) = engine().await;
    // A file that is not gzip in a folder outside every window below: reading it
    // would fail the query.
    let bad = dir
        .path()
        .join("pipeline_execution_state_change/dt=2026-09-01");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("broken.gz"), b"not gzip at all").unwrap();
    // Files Athena skips (in progress, markers, Finder litter) in a window folder:
    // never read.
    let inside = dir
        .path()
        .join("pipeline_execution_state_change/dt=2026-11-03");
    for name in [
        ".cplogs-partial.json.gz.tmp",
        "_SUCCESS",
        ".DS_Store",
        "_tmp.gz",
    ] {
        std::fs::write(inside.join(name), b"\x1f\x8b truncated, not data").unwrap();
    }
    let e = LocalEngine::open(dir.path()).await.unwrap();

    let p = ReportParams::new(
        at("2026-11-03T00:00:00Z"),
        at("2026-11-05T00:00:00Z"),
        at("2026-11-08T00:00:00Z"),
    )
    .unwrap();
    for r in cplogs::reports::REPORTS {
        for by in [Breakdown::Pipeline, Breakdown::Stage, Breakdown::Action] {
            for s in r.sections(by) {
                let out = e.run(&s.query(&p)).await.unwrap();
                assert!(!out.stats.files.is_empty(), "{}", s.name);
                for f in &out.stats.files {
                    assert!(
                        f.contains("/dt=2026-11-03/") || f.contains("/dt=2026-11-04/"),
                        "{} read {f}",
                        s.name
                    );
                }
                assert!(out.stats.bytes_scanned > 0);
            }
        }
    }
    // The same report over a window that includes the broken folder does open it.
    let wide = ReportParams::new(
        at("2026-08-01T00:00:00Z"),
        at("2026-11-08T00:00:00Z"),
        at("2026-11-08T00:00:00Z"),
    )
    .unwrap();
    assert!(e.run(&statement("failures").query(&wide)).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn ad_hoc_queries_read_but_never_write() {
    let (_d, e) = engine().await;
    let out = e
        .run(&Query {
            sql: "SELECT count(*) AS n, count(DISTINCT eventid) AS ids FROM pipeline_execution_state_change WHERE pipeline = ?".into(),
            params: vec!["alpha".into()],
        })
        .await
        .unwrap();
    // 22 alpha pipeline rows (two before the window), one event delivered twice.
    assert_eq!(json_rows(&out.result), vec![json!({"n": 22, "ids": 21})]);
    for sql in [
        "DROP VIEW pipeline_execution_state_change",
        "CREATE TABLE t AS SELECT 1",
        "COPY (SELECT 1) TO '/tmp/cplogs-should-not-exist.csv'",
        "SET datafusion.execution.batch_size = 1",
        "SELECT 1; SELECT 2",
        "SELECT * FROM nowhere",
        "SELECT ?",
    ] {
        assert!(e.run(&Query::new(sql)).await.is_err(), "{sql}");
    }
    assert!(!Path::new("/tmp/cplogs-should-not-exist.csv").exists());
}

/// Executions and approvals whose sort keys are NULL, and two executions started at
/// the same millisecond.
fn nulls_and_ties_fixture(dir: &Path) {
    let mut ev = Events::default();
    // n1 ran inside the window; n0 has only a STOPPING event in it (no STARTED, no
    // terminal), so its start and end are NULL.
    ev.run(
        "nulls",
        "n1",
        &t("03T10:00:00"),
        &t("03T10:10:00"),
        "SUCCEEDED",
    );
    ev.pipeline(&t("04T10:00:00"), "nulls", "n0", "STOPPING");
    // Two approvals: "Approve" waited 10 minutes; "Gate" started before the window,
    // so its wait is NULL.
    let gate = ("Approval", "Gate", "g1");
    ev.action(
        &t("01T09:00:00").replace("11-01", "10-20"),
        "nulls",
        "n1",
        gate,
        "Approval",
        "STARTED",
        None,
    );
    ev.action(
        &t("03T10:05:00"),
        "nulls",
        "n1",
        gate,
        "Approval",
        "SUCCEEDED",
        None,
    );
    ev.attempt(
        "nulls",
        "n1",
        ("Approval", "Approve", "p9"),
        "Approval",
        (&t("03T10:00:00"), &t("03T10:10:00"), "SUCCEEDED"),
        None,
    );
    // tB and tA started at the same millisecond (tB written first): the latest is
    // the greatest id, tB, whatever the order of the files.
    for id in ["tB", "tA"] {
        ev.run(
            "ties",
            id,
            &t("05T08:00:00.250"),
            &t("05T08:30:00"),
            "SUCCEEDED",
        );
        ev.attempt(
            "ties",
            id,
            ("Build", "Build", &format!("{id}-b")),
            "Build",
            (&t("05T08:01:00"), &t("05T08:02:00"), "SUCCEEDED"),
            None,
        );
    }
    write_files(dir, &ev.list);
}

/// Rows whose sort key is NULL come last under ASC and DESC alike, as on Athena
/// (Trino), and "latest" is settled for executions started at the same millisecond.
#[tokio::test(flavor = "multi_thread")]
async fn null_sort_keys_come_last_and_ties_are_settled() {
    let dir = tempfile::tempdir().unwrap();
    nulls_and_ties_fixture(dir.path());
    let e = LocalEngine::open(dir.path()).await.unwrap();
    let only = |names: &[&str]| {
        week()
            .with_pipelines(&names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .unwrap()
    };

    let rows = run(&e, "executions", &only(&["nulls"])).await;
    assert_eq!(
        pick(&rows, &["execution_id", "started", "ended"]),
        vec![
            json!({"execution_id": "n1", "started": "2026-11-03T10:00:00.000Z", "ended": "2026-11-03T10:10:00.000Z"}),
            json!({"execution_id": "n0", "started": null, "ended": null}),
        ]
    );
    let rows = run(&e, "approvals", &only(&["nulls"])).await;
    assert_eq!(
        pick(&rows, &["action", "approvals", "wait_p90_s"]),
        vec![
            json!({"action": "Approve", "approvals": 1, "wait_p90_s": 600}),
            json!({"action": "Gate", "approvals": 1, "wait_p90_s": null}),
        ]
    );
    // The engine-wide rule holds for ad-hoc SQL too, in both directions.
    for dir in ["ASC", "DESC"] {
        let out = e
            .run(&Query::new(format!(
                "SELECT x FROM (VALUES (1), (NULL), (2)) AS v(x) ORDER BY x {dir}"
            )))
            .await
            .unwrap();
        assert_eq!(out.result.rows.last(), Some(&vec![Value::Null]), "{dir}");
    }

    let rows = run(&e, "timeline", &only(&["ties"])).await;
    assert_eq!(
        pick(&rows, &["execution_id", "action"]),
        vec![json!({"execution_id": "tB", "action": "Build"})]
    );
    let rows = run(&e, "executions", &only(&["ties"])).await;
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["execution_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["tA", "tB"], "equal starts: by execution id");
}

/// `inventory` lists every execution seen in any of the three tables once, with each
/// table's distinct events: executions missing from one table or two (the pipeline
/// table's included) are joined on the tables that have them.
#[tokio::test(flavor = "multi_thread")]
async fn inventory_joins_executions_seen_in_any_table() {
    let dir = tempfile::tempdir().unwrap();
    let mut ev = Events::default();
    let p = "inv";
    ev.started(&t("02T10:00:00"), p, "full", None);
    ev.stage(&t("02T10:00:01"), p, "full", "Build", "STARTED");
    let what = ("Build", "Compile", "full-1");
    let done = ev.action(
        &t("02T10:00:05"),
        p,
        "full",
        what,
        "Build",
        "SUCCEEDED",
        None,
    );
    ev.list.push(done); // a duplicate delivery counts once
    ev.pipeline(&t("02T10:00:09"), p, "full", "SUCCEEDED");
    ev.started(&t("02T11:00:00"), p, "pipeline-only", None);
    ev.stage(&t("02T12:00:00"), p, "stage-only", "Build", "STARTED");
    let what = ("Build", "Compile", "a-1");
    ev.action(
        &t("02T13:00:00"),
        p,
        "action-only",
        what,
        "Build",
        "STARTED",
        None,
    );
    ev.action(
        &t("02T13:00:05"),
        p,
        "action-only",
        what,
        "Build",
        "FAILED",
        None,
    );
    ev.stage(
        &t("02T14:00:00"),
        p,
        "stage-and-action",
        "Deploy",
        "STARTED",
    );
    let what = ("Deploy", "Ship", "s-1");
    ev.action(
        &t("02T14:00:01"),
        p,
        "stage-and-action",
        what,
        "Deploy",
        "STARTED",
        None,
    );
    write_files(dir.path(), &ev.list);
    let e = LocalEngine::open(dir.path()).await.unwrap();

    let rows = run(&e, "inventory", &week()).await;
    let keys = [
        "execution_id",
        "state",
        "pipeline_events",
        "stage_events",
        "action_events",
    ];
    let row = |id: &str, state: Option<&str>, counts: [i64; 3]| {
        json!({"execution_id": id, "state": state, "pipeline_events": counts[0],
               "stage_events": counts[1], "action_events": counts[2]})
    };
    assert_eq!(
        pick(&rows, &keys),
        vec![
            row("full", Some("SUCCEEDED"), [2, 1, 1]),
            row("pipeline-only", Some("STARTED"), [1, 0, 0]),
            // No pipeline event: no start, so last (NULLs last), by execution id.
            row("action-only", None, [0, 0, 2]),
            row("stage-and-action", None, [0, 1, 1]),
            row("stage-only", None, [0, 1, 0]),
        ]
    );
    assert!(rows.iter().all(|r| r["pipeline"] == json!(p)), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicates_in_other_files_of_the_day_count_once_day_by_day() {
    // Seven days, two files a day in every table: the second flush repeats every
    // event of the first (a redelivery) and adds one new event of each kind. Each
    // scan partition then reads several days, several files each, in dt order.
    let dir = tempfile::tempdir().unwrap();
    let (mut first, mut second) = (Events::default(), Events::default());
    second.next = 1_000;
    let p = "daily";
    for day in 1..=7 {
        let exec = format!("e{day}");
        let at = |hms: &str| t(&format!("{day:02}T{hms}"));
        first.started(&at("08:00:00"), p, &exec, None);
        first.stage(&at("08:00:01"), p, &exec, "Build", "STARTED");
        let what = ("Build", "Compile", "c-1");
        first.action(&at("08:00:02"), p, &exec, what, "Build", "SUCCEEDED", None);
        first.pipeline(&at("08:00:03"), p, &exec, "SUCCEEDED");
        second.list.extend(first.list.iter().rev().take(4).cloned());
        second.stage(&at("08:00:04"), p, &exec, "Build", "SUCCEEDED");
        second.action(&at("08:00:05"), p, &exec, what, "Build", "SUCCEEDED", None);
    }
    write_files(dir.path(), &first.list);
    write_files(dir.path(), &second.list);
    let e = LocalEngine::open(dir.path()).await.unwrap();

    let tables = run(&e, "freshness_tables", &week()).await;
    assert_eq!(
        pick(&tables, &["table_name", "events"]),
        vec![
            json!({"table_name": "action_execution_state_change", "events": 14}),
            json!({"table_name": "pipeline_execution_state_change", "events": 14}),
            json!({"table_name": "stage_execution_state_change", "events": 14}),
        ]
    );
    let executions = run(&e, "inventory", &week()).await;
    let counts = json!({"state": "SUCCEEDED", "pipeline_events": 2, "stage_events": 2,
                        "action_events": 2});
    let keys = ["state", "pipeline_events", "stage_events", "action_events"];
    assert_eq!(pick(&executions, &keys), vec![counts; 7]);

    // One day: fewer days than scan partitions, so its two files are shared out
    // between partitions, and the redelivery is still counted once.
    let one_day = ReportParams::new(
        at("2026-11-03T00:00:00Z"),
        at("2026-11-04T00:00:00Z"),
        at("2026-11-08T00:00:00Z"),
    )
    .unwrap();
    let tables = run(&e, "freshness_tables", &one_day).await;
    assert!(tables.iter().all(|r| r["events"] == json!(2)), "{tables:?}");
    assert_eq!(tables.len(), 3, "{tables:?}");

    // Each table's duplicate removal ran day by day (DataFusion proved the files' dt
    // order), not over the window at once.
    for name in ["freshness_tables", "inventory"] {
        let mut q = statement(name).query(&week());
        q.sql = format!("EXPLAIN {}", q.sql);
        let plan = format!("{:?}", e.run(&q).await.unwrap().result.rows);
        let by_day = plan.matches("ordering_mode=PartiallySorted").count();
        assert!(by_day >= 3, "{name}: {by_day} groupings by day: {plan}");
    }
}

/// The tables as the second engine needs them: each column's JSON key, its SQL name
/// and its type (struct fields under their JSON keys).
fn tables_for_second_engine() -> Json {
    use cplogs::core::schema::ColumnType;
    let tables: Vec<Json> = cplogs::Table::ALL
        .iter()
        .map(|t| {
            let columns: Vec<Json> = t
                .columns()
                .iter()
                .map(|c| {
                    let ty = match c.ty {
                        ColumnType::String => "string".to_owned(),
                        ColumnType::Int => "int".to_owned(),
                        ColumnType::Struct(fields) => format!(
                            "struct<{}>",
                            fields
                                .iter()
                                .map(|f| format!("{f}:string"))
                                .collect::<Vec<_>>()
                                .join(",")
                        ),
                    };
                    json!({"key": c.name, "name": c.sql_name(), "type": ty})
                })
                .collect();
            json!({"name": t.name(), "columns": columns})
        })
        .collect();
    Json::Array(tables)
}

/// Runs `queries` on DuckDB, which reads the Trino SQL through sqlglot
/// (tests/duckdb_engine.py, in the test tools' venv): one result (or error) each.
fn second_engine(root: &Path, queries: &[(String, Query)]) -> Vec<Json> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let manifest = env!("CARGO_MANIFEST_DIR");
    let venv = Command::new("bash")
        .arg(format!("{manifest}/tests/venv.sh"))
        .output()
        .expect("run tests/venv.sh");
    assert!(
        venv.status.success(),
        "tests/venv.sh: {}",
        String::from_utf8_lossy(&venv.stderr)
    );
    let python = format!(
        "{}/bin/python",
        String::from_utf8_lossy(&venv.stdout).trim()
    );
    let input = json!({
        "root": root,
        "tables": tables_for_second_engine(),
        "statements": queries.iter().map(|(name, q)| json!({
            "name": name, "sql": q.sql, "params": q.params,
        })).collect::<Vec<_>>(),
    });
    let mut child = Command::new(&python)
        .arg(format!("{manifest}/tests/duckdb_engine.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{python}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "duckdb_engine.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Json = serde_json::from_slice(&out.stdout).unwrap();
    doc["results"].as_array().unwrap().clone()
}

/// Whether two values are the same answer: equal, or numbers equal to 1e-9.
fn same_value(local: &Value, other: &Json) -> bool {
    match (local, other) {
        (Value::Null, Json::Null) => true,
        (Value::Bool(a), Json::Bool(b)) => a == b,
        (Value::Text(a), Json::String(b)) => a == b,
        (Value::Int(a), Json::Number(b)) => b.as_f64() == Some(*a as f64),
        (Value::Float(a), Json::Number(b)) => b
            .as_f64()
            .is_some_and(|b| (a - b).abs() <= 1e-9 * a.abs().max(1.0)),
        _ => false,
    }
}

/// Every statement of every report on both engines over the same files: same
/// columns, same rows in the same order.
async fn both_engines_agree(root: &Path, variants: &[(&str, ReportParams)]) -> usize {
    let e = LocalEngine::open(root).await.unwrap();
    let mut queries = Vec::new();
    for (label, p) in variants {
        let mut seen = std::collections::BTreeSet::new();
        for r in cplogs::reports::REPORTS {
            for by in [Breakdown::Pipeline, Breakdown::Stage, Breakdown::Action] {
                for st in r.sections(by) {
                    if seen.insert(st.name) {
                        queries.push((format!("{} ({label})", st.name), st.query(p)));
                    }
                }
            }
        }
    }
    let others = second_engine(root, &queries);
    assert_eq!(others.len(), queries.len());
    let mut rows = 0;
    let mut problems = Vec::new();
    for ((name, q), other) in queries.iter().zip(&others) {
        let local = e.run(q).await.unwrap().result;
        if let Some(err) = other.get("error") {
            problems.push(format!("{name}: duckdb failed: {err}\n{}", other["sql"]));
            continue;
        }
        let names: Vec<&str> = local.columns.iter().map(|c| c.name.as_str()).collect();
        let other_names: Vec<&str> = other["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        if names != other_names {
            problems.push(format!("{name}: columns {names:?} vs {other_names:?}"));
            continue;
        }
        let other_rows = other["rows"].as_array().unwrap();
        if local.rows.len() != other_rows.len() {
            problems.push(format!(
                "{name}: {} rows locally, {} on duckdb",
                local.rows.len(),
                other_rows.len()
            ));
            continue;
        }
        for (i, (a, b)) in local.rows.iter().zip(other_rows).enumerate() {
            let b = b.as_array().unwrap();
            if a.len() != b.len() || !a.iter().zip(b).all(|(x, y)| same_value(x, y)) {
                problems.push(format!("{name}: row {i}: local {a:?}\n  duckdb {b:?}"));
                break;
            }
        }
        rows += local.rows.len();
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    rows
}

/// The dialect is proven on a second, independent engine with Trino semantics: every
/// bundled statement gives the same rows on DuckDB (through sqlglot) as on the local
/// engine, over the hand-built history, the NULL and tie cases, and demo data.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_engine_gives_the_same_rows() {
    let hand = tempfile::tempdir().unwrap();
    fixture(hand.path());
    nulls_and_ties_fixture(hand.path());
    let alpha = week().with_pipelines(&["alpha".into()]).unwrap();
    let a2 = week().with_execution_id(Some("a2")).unwrap();
    let rows = both_engines_agree(
        hand.path(),
        &[("week", week()), ("alpha", alpha), ("a2", a2)],
    )
    .await;
    assert!(rows > 50, "{rows}");

    let demo = tempfile::tempdir().unwrap();
    let mut config = cplogs::ingest::demo::DemoConfig::new(at("2026-11-20T18:00:00Z"));
    config.pipelines = 5;
    config.days = 10;
    let mut writer = PartitionWriter::new(demo.path(), 1);
    cplogs::ingest::demo::generate(&config, &mut writer, |_| {}).unwrap();
    writer.finish().unwrap();
    let window = ReportParams::new(
        at("2026-11-12T00:00:00Z"),
        at("2026-11-21T00:00:00Z"),
        at("2026-11-21T00:00:00Z"),
    )
    .unwrap();
    let rows = both_engines_agree(demo.path(), &[("demo", window)]).await;
    assert!(rows > 100, "{rows}");
}
