//! `cplogs report` and `query` through the Athena engine against moto's server (which
//! `tests/with-moto.sh` starts): results queued through moto's API come back typed,
//! with every row, and the AWS hint for local mode when no region is configured.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::cli::{BIN, cplogs_aws};
use crate::common::moto::endpoint;
use crate::common::text;

/// Queues query results in moto (each is taken by the next new query execution).
/// Posted over a plain socket: the tests need no HTTP client crate for this.
fn queue_results(region: &str, results: Value) {
    let body = json!({"region": region, "results": results}).to_string();
    let url = endpoint();
    let host = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).unwrap();
    write!(
        s,
        "POST /moto-api/static/athena/query-results HTTP/1.1\r\nHost: {host}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 201") || response.starts_with("HTTP/1.0 201"),
        "{response}"
    );
}

fn column(name: &str, ty: &str) -> Value {
    json!({"Name": name, "Label": name, "Type": ty, "CatalogName": "hive", "SchemaName": "", "TableName": "", "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": false})
}

fn row(cells: &[&str]) -> Value {
    json!({"Data": cells.iter().map(|c| json!({"VarCharValue": c})).collect::<Vec<_>>()})
}

#[test]
fn a_report_runs_on_athena_and_comes_back_typed() {
    // A region of its own, so no other test takes these results.
    let region = "eu-central-1";
    queue_results(
        region,
        json!([
            {
                "rows": [row(&["pipeline", "executions", "failed", "failure_rate"]), row(&["api", "10", "2", "0.2"]), row(&["web", "4", "0", "0.0"])],
                "column_info": [column("pipeline", "varchar"), column("executions", "bigint"), column("failed", "bigint"), column("failure_rate", "double")],
            },
            {
                "rows": [row(&["pipeline", "stage", "action", "failures"]), row(&["api", "Build", "Build", "2"])],
                "column_info": [column("pipeline", "varchar"), column("stage", "varchar"), column("action", "varchar"), column("failures", "bigint")],
            },
        ]),
    );
    let o = cplogs_aws(
        &endpoint(),
        region,
        &[
            "report",
            "failures",
            "--since",
            "2026-11-01",
            "--until",
            "2026-11-08",
            "--output-location",
            "s3://results/cplogs/",
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["engine"], "athena");
    assert_eq!(
        doc["results"][0]["rows"],
        json!([
            {"pipeline": "api", "executions": 10, "failed": 2, "failure_rate": 0.2},
            {"pipeline": "web", "executions": 4, "failed": 0, "failure_rate": 0.0},
        ])
    );
    assert_eq!(doc["results"][1]["rows"][0]["failures"], 2);
    assert_eq!(doc["stats"]["query_ids"].as_array().unwrap().len(), 2);
    assert!(doc["stats"]["cost_usd"].is_number());
    assert!(
        text(&o.stderr).contains("at $5 per TB"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn more_than_a_thousand_rows_all_arrive() {
    let region = "ap-southeast-2";
    let mut rows = vec![row(&["n"])];
    rows.extend((0..1500).map(|i| row(&[&i.to_string()])));
    queue_results(
        region,
        json!([{"rows": rows, "column_info": [column("n", "integer")]}]),
    );
    let o = cplogs_aws(
        &endpoint(),
        region,
        &[
            "query",
            "SELECT n FROM t",
            "--format",
            "ndjson",
            "--output-location",
            "s3://results/",
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let lines: Vec<Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1500);
    assert_eq!(lines[1499], json!({"n": 1499}));
}

#[test]
fn without_a_region_the_cli_explains_local_mode() {
    let o = Command::new(BIN)
        .args(["report", "failures"])
        .env("XDG_CONFIG_HOME", "/nonexistent/cplogs-test-config")
        .env("HOME", "/nonexistent/cplogs-test-home")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env_remove("CPLOGS_LOCAL")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("no region") && err.contains("--local DIR") && err.contains("--demo"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cost_guard_estimates_the_window_and_refuses_above_max_scan() {
    use cplogs::aws::sdk::{AwsOptions, load_config, s3_client};
    let region = "ap-northeast-1";
    let config = load_config(&AwsOptions {
        region: Some(region.into()),
        endpoint_url: Some(endpoint()),
        ..AwsOptions::default()
    })
    .await;
    let s3 = s3_client(&config);
    let bucket = "cost-guard-logs";
    let _ = s3
        .create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::ApNortheast1)
                .build(),
        )
        .send()
        .await;
    // (key, size, inside the window for `failures`)
    let objects = [
        (
            "pipeline_execution_state_change/dt=2026-11-01/a.gz",
            1000,
            true,
        ),
        (
            "pipeline_execution_state_change/dt=2026-11-07/b.gz",
            2345,
            true,
        ),
        (
            "pipeline_execution_state_change/dt=2026-10-31/c.gz",
            5000,
            false,
        ),
        // The window ends at midnight of the 8th (exclusive): not read.
        (
            "pipeline_execution_state_change/dt=2026-11-08/d.gz",
            7000,
            false,
        ),
        (
            "action_execution_state_change/dt=2026-11-03/e.gz",
            300,
            true,
        ),
        // failures reads no stage events.
        (
            "stage_execution_state_change/dt=2026-11-03/f.gz",
            999,
            false,
        ),
    ];
    for (key, size, _) in objects {
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(vec![b'x'; size].into())
            .send()
            .await
            .unwrap();
    }
    let want: usize = objects.iter().filter(|o| o.2).map(|o| o.1).sum();
    let athena = aws_sdk_athena::Client::new(&config);
    let executions = || async {
        athena
            .list_query_executions()
            .send()
            .await
            .unwrap()
            .query_execution_ids()
            .len()
    };
    queue_results(
        region,
        json!([
            {"rows": [row(&["pipeline"]), row(&["api"])], "column_info": [column("pipeline", "varchar")]},
            {"rows": [row(&["pipeline"])], "column_info": [column("pipeline", "varchar")]},
        ]),
    );
    let window = [
        "report",
        "failures",
        "--since",
        "2026-11-01",
        "--until",
        "2026-11-08",
        "--output-location",
        "s3://results/cplogs/",
        "--bucket",
        bucket,
    ];
    let before = executions().await;
    let mut args = window.to_vec();
    args.extend(["--format", "json"]);
    let o = tokio::task::spawn_blocking(move || cplogs_aws(&endpoint(), region, &args))
        .await
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["stats"]["estimated_bytes"], json!(want));
    assert!(doc["stats"]["estimated_cost_usd"].is_number());
    assert!(
        text(&o.stderr).contains(&format!("estimated scan: {}", "3.6 KB")),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(executions().await, before + 2);

    // Above --max-scan (or CPLOGS_MAX_SCAN): refused before any Athena call.
    let mut args = window.to_vec();
    args.extend(["--max-scan", "3KB"]);
    let o = tokio::task::spawn_blocking(move || cplogs_aws(&endpoint(), region, &args))
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("above the limit of 3.0 KB"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(executions().await, before + 2, "no query was started");
    // --max-scan without a bucket cannot estimate: a usage error, not a silent pass.
    let o = tokio::task::spawn_blocking(move || {
        cplogs_aws(
            &endpoint(),
            region,
            &[
                "report",
                "failures",
                "--output-location",
                "s3://results/cplogs/",
                "--max-scan",
                "1GB",
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--bucket"));
    assert_eq!(executions().await, before + 2);
}
