//! The commands that rewrite stored objects into the cplogs layout.
//!
//! `cplogs replay-errors` on error objects shaped exactly as Firehose writes them
//! (gzip JSON lines of `attemptsMade`, `arrivalTimestamp`, `errorCode`,
//! `errorMessage`, `attemptEndingTimestamp`, `rawData`, `lambdaArn` under
//! `errors/<table>/processing-failed/YYYY/MM/DD/`), from a local copy and from a
//! bucket on moto: what now transforms is written once, what still fails is listed.
//!
//! `cplogs migrate-legacy` on the original project's layout (`<table>/YYYY/MM/DD/HH/`
//! by arrival time, records without event ids and with a numeric version).

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

use crate::common::cli::{cplogs, cplogs_aws};
use crate::common::moto::endpoint;
use crate::common::text;

fn event(id: &str, execution: &str, time: &str) -> String {
    json!({
        "version": "0", "id": id,
        "detail-type": "CodePipeline Pipeline Execution State Change",
        "source": "aws.codepipeline", "account": "123456789012", "time": time,
        "region": "eu-west-1", "resources": ["arn:aws:codepipeline:eu-west-1:123456789012:api"],
        "detail": {"pipeline": "api", "execution-id": execution, "state": "FAILED", "version": 3},
    })
    .to_string()
}

/// One Firehose error object: gzip, a JSON envelope per line.
fn error_object(raw: &[&[u8]]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    for (i, r) in raw.iter().enumerate() {
        let line = json!({
            "attemptsMade": 1,
            "arrivalTimestamp": 1_764_500_000_000u64 + i as u64,
            "errorCode": "Lambda.ProcessingFailed",
            "errorMessage": "The Lambda function returned ProcessingFailed for this record.",
            "attemptEndingTimestamp": 1_764_500_001_000u64,
            "rawData": base64_simd::STANDARD.encode_to_string(r),
            "lambdaArn": "arn:aws:lambda:eu-west-1:123456789012:function:cplogs-transform:$LATEST",
        });
        writeln!(gz, "{line}").unwrap();
    }
    gz.finish().unwrap()
}

const PREFIX: &str = "errors/pipeline_execution_state_change/processing-failed";

fn objects() -> Vec<(String, Vec<u8>)> {
    vec![
        (
            format!("{PREFIX}/2026/11/29/cplogs-pipeline-1-2026-11-29-10-00-00-a"),
            error_object(&[
                event("e-1", "x-1", "2026-11-29T10:00:00Z").as_bytes(),
                b"{\"not\": \"an event\"}",
                event("e-2", "x-2", "2026-11-30T23:59:59Z").as_bytes(),
            ]),
        ),
        (
            format!("{PREFIX}/2026/10/01/cplogs-pipeline-1-2026-10-01-10-00-00-b"),
            error_object(&[event("e-3", "x-3", "2026-10-01T08:00:00Z").as_bytes()]),
        ),
    ]
}

fn files_under(root: &Path, folder: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.join(folder)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_local_copy_is_replayed_once_and_what_still_fails_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    for (key, body) in objects() {
        let p = dir.path().join(key);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    let root = dir.path().to_str().unwrap();
    let o = cplogs(&["replay-errors", "--from", root, "--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "one record still fails: {}",
        text(&o.stderr)
    );
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["objects"], 2);
    assert_eq!(doc["records"], 4);
    assert_eq!(doc["written"], 3);
    let failing = doc["still_failing"].as_array().unwrap();
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0]["line"], 2);
    assert_eq!(failing[0]["first_error"], "Lambda.ProcessingFailed");
    assert!(
        failing[0]["reason"]
            .as_str()
            .unwrap()
            .contains("not a CodePipeline event")
    );
    let files = files_under(dir.path(), "pipeline_execution_state_change");
    assert_eq!(files.len(), 3, "{files:?}");
    for dt in ["dt=2026-11-29", "dt=2026-11-30", "dt=2026-10-01"] {
        assert!(files.iter().any(|f| f.contains(dt)), "{dt}: {files:?}");
    }
    // Replayed records are ordinary records: a report counts them.
    let o = cplogs(&[
        "--local",
        root,
        "query",
        "SELECT count(*) AS n FROM pipeline_execution_state_change",
        "--format",
        "csv",
    ]);
    assert_eq!(text(&o.stdout), "n\n3\n", "{}", text(&o.stderr));

    // Twice: nothing new; --since leaves older objects alone; --dry-run writes nothing.
    let o = cplogs(&["replay-errors", "--from", root, "--format", "json"]);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (doc["written"].clone(), doc["already_replayed"].clone()),
        (json!(0), json!(3))
    );
    assert_eq!(
        files_under(dir.path(), "pipeline_execution_state_change"),
        files
    );
    let o = cplogs(&[
        "replay-errors",
        "--from",
        root,
        "--since",
        "2026-11-01",
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["objects"], 1);
    let fresh = tempfile::tempdir().unwrap();
    for (key, body) in objects() {
        let p = fresh.path().join(key);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    let o = cplogs(&[
        "replay-errors",
        "--from",
        fresh.path().to_str().unwrap(),
        "--dry-run",
    ]);
    assert!(
        text(&o.stderr).contains("3 would be written (dry run), 1 still failing"),
        "{}",
        text(&o.stderr)
    );
    assert!(files_under(fresh.path(), "pipeline_execution_state_change").is_empty());
    // A damaged object is named.
    std::fs::write(
        fresh.path().join(format!("{PREFIX}/2026/11/29/broken")),
        b"\x1f\x8b\x08 cut",
    )
    .unwrap();
    let o = cplogs(&["replay-errors", "--from", fresh.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("broken: not readable gzip"),
        "{}",
        text(&o.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_is_replayed_once() {
    use cplogs::aws::sdk::{AwsOptions, load_config, s3_client};
    let endpoint = endpoint();
    let config = load_config(&AwsOptions {
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint.clone()),
        ..AwsOptions::default()
    })
    .await;
    let s3 = s3_client(&config);
    let bucket = "replay-errors-logs";
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    for (key, body) in objects() {
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    }
    let args = ["replay-errors", "--bucket", bucket, "--format", "json"].map(str::to_owned);
    let run = |args: [String; 5]| {
        let endpoint = endpoint.clone();
        tokio::task::spawn_blocking(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            cplogs_aws(&endpoint, "us-east-1", &a)
        })
    };
    let o = run(args.clone()).await.unwrap();
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["written"], 3, "{}", text(&o.stderr));
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix("pipeline_execution_state_change/")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.contents().len(), 3);
    let o = run(args).await.unwrap();
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["written"], 0);
    assert_eq!(doc["already_replayed"], 3);
}

/// A record as the original project's transform wrote it (the event's detail plus
/// executionId, pipelineArn, eventVersion, timestamp).
fn legacy_record(execution: &str, state: &str, time: &str) -> String {
    json!({
        "pipeline": "api", "execution-id": execution, "executionId": execution,
        "state": state, "version": 3.0,
        "pipelineArn": "arn:aws:codepipeline:eu-west-1:123456789012:api",
        "eventVersion": "0", "timestamp": time,
    })
    .to_string()
}

fn gz(lines: &[String]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    for l in lines {
        writeln!(gz, "{l}").unwrap();
    }
    gz.finish().unwrap()
}

#[test]
fn the_original_layout_is_migrated_by_event_time_once() {
    let old = tempfile::tempdir().unwrap();
    let folder = old
        .path()
        .join("pipeline_execution_state_change/2026/03/05/00");
    std::fs::create_dir_all(&folder).unwrap();
    let started = legacy_record("x-1", "STARTED", "2026-03-04T23:50:00Z");
    std::fs::write(
        folder.join("cplogs-1-2026-03-05-00-00-00-abc"),
        gz(&[
            started.clone(),
            // A duplicate delivery: the same bytes again.
            started,
            legacy_record("x-1", "FAILED", "2026-03-05T00:10:00Z"),
            "{\"pipeline\": \"api\"}".into(),
        ]),
    )
    .unwrap();
    let old_root = old.path().to_str().unwrap();
    // Reports over the old layout find nothing, and say why.
    let o = cplogs(&[
        "--local",
        old_root,
        "report",
        "failures",
        "--since",
        "2026-03-01",
        "--until",
        "2026-03-10",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("migrate-legacy"),
        "{}",
        text(&o.stderr)
    );

    let new = tempfile::tempdir().unwrap();
    let new_root = new.path().to_str().unwrap();
    let o = cplogs(&[
        "migrate-legacy",
        "--from",
        old_root,
        "--out",
        new_root,
        "--format",
        "json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "one record is rejected: {}",
        text(&o.stderr)
    );
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["records_read"], 4);
    assert_eq!(doc["written"], 3);
    assert_eq!(doc["rejected"].as_array().unwrap().len(), 1);
    assert!(
        doc["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("no timestamp")
    );
    let files = files_under(new.path(), "pipeline_execution_state_change");
    assert!(
        files.iter().any(|f| f.contains("dt=2026-03-04")),
        "{files:?}"
    );
    assert!(
        files.iter().any(|f| f.contains("dt=2026-03-05")),
        "{files:?}"
    );
    // The migrated history reads as any other: one execution, failed, counted once.
    let o = cplogs(&[
        "--local",
        new_root,
        "report",
        "failures",
        "--since",
        "2026-03-01",
        "--until",
        "2026-03-10",
        "--format",
        "csv",
    ]);
    assert_eq!(
        text(&o.stdout),
        "pipeline,executions,failed,failure_rate\napi,1,1,1\n",
        "{}",
        text(&o.stderr)
    );
    let o = cplogs(&[
        "--local",
        new_root,
        "query",
        "SELECT count(DISTINCT eventid) AS n, min(version) AS v FROM pipeline_execution_state_change",
        "--format",
        "csv",
    ]);
    assert_eq!(text(&o.stdout), "n,v\n2,3\n", "{}", text(&o.stderr));
    // Again: nothing new.
    let o = cplogs(&[
        "migrate-legacy",
        "--from",
        old_root,
        "--out",
        new_root,
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["written"], 0);
    assert_eq!(doc["already_migrated"], 3);
    assert_eq!(
        files_under(new.path(), "pipeline_execution_state_change"),
        files
    );
}
