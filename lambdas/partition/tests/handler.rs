//! The partition Lambda's handler against moto's server (started by tests/run.sh),
//! with real-shaped S3 event notifications.

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::retry::RetryConfig;
use aws_lambda_events::event::s3::S3Event;
use aws_sdk_glue::types::DatabaseInput;
use cplogs::Table;
use cplogs_partition::{function_handler, handle};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn endpoint() -> String {
    std::env::var("CPLOGS_TEST_ENDPOINT").expect(
        "CPLOGS_TEST_ENDPOINT is not set: run the tests with `bash tests/run.sh`, which starts moto",
    )
}

async fn glue_at(url: &str) -> aws_sdk_glue::Client {
    let config = cplogs::aws::sdk::load_config(&cplogs::aws::sdk::AwsOptions {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(url.to_owned()),
    })
    .await;
    aws_sdk_glue::Client::from_conf(
        aws_sdk_glue::config::Builder::from(&config)
            .retry_config(RetryConfig::standard().with_max_attempts(2))
            .build(),
    )
}

/// A fresh database, with the three tables unless `tables` is false.
async fn database(glue: &aws_sdk_glue::Client, tables: bool) -> String {
    let name = format!(
        "lambda_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    glue.create_database()
        .database_input(DatabaseInput::builder().name(&name).build().unwrap())
        .send()
        .await
        .unwrap();
    if tables {
        for t in Table::ALL {
            glue.create_table()
                .database_name(&name)
                .table_input(cplogs::aws::glue::table_input(t, "logs-bucket", false).unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    name
}

/// An S3 notification shaped like the ones S3 sends (keys URL-encoded).
fn s3_event(records: &[(&str, &str)]) -> S3Event {
    let records: Vec<_> = records
        .iter()
        .map(|(name, key)| {
            json!({
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-23T10:00:00.000Z",
                "eventName": name,
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
                "requestParameters": {"sourceIPAddress": "203.0.113.10"},
                "responseElements": {
                    "x-amz-request-id": "C3D13FE58DE4C810",
                    "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "cplogs-partitions",
                    "bucket": {
                        "name": "logs-bucket",
                        "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                        "arn": "arn:aws:s3:::logs-bucket"
                    },
                    "object": {
                        "key": key,
                        "size": 1024,
                        "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                        "sequencer": "0055AED6DCD90281E5"
                    }
                }
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

async fn partitions(glue: &aws_sdk_glue::Client, db: &str, table: Table) -> Vec<(String, String)> {
    let out = glue
        .get_partitions()
        .database_name(db)
        .table_name(table.name())
        .send()
        .await
        .unwrap();
    let mut v: Vec<(String, String)> = out
        .partitions()
        .iter()
        .map(|p| {
            (
                p.values()[0].clone(),
                p.storage_descriptor()
                    .unwrap()
                    .location()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn creates_partitions_once_and_skips_keys_outside_the_tables() {
    let glue = glue_at(&endpoint()).await;
    let db = database(&glue, true).await;
    let event = s3_event(&[
        (
            "ObjectCreated:Put",
            "action_execution_state_change/dt%3D2026-01-05/cplogs-action-1-2026-01-05-10-00-00-a.gz",
        ),
        (
            "ObjectCreated:Put",
            "action_execution_state_change/dt=2026-01-05/cplogs-action-1-2026-01-05-10-05-00-b.gz",
        ),
        (
            "ObjectCreated:CompleteMultipartUpload",
            "stage_execution_state_change/dt=2026-01-06/my+file%2B1.gz",
        ),
        (
            "ObjectCreated:Put",
            "errors/processing-failed/2026/01/05/10/cplogs-action-1-x.gz",
        ),
        (
            "ObjectRemoved:Delete",
            "action_execution_state_change/dt=2026-01-07/x.gz",
        ),
    ]);
    let summary = handle(&glue, &db, &event).await.unwrap();
    assert_eq!(
        (summary.created, summary.existing, summary.skipped),
        (2, 0, 2)
    );
    assert!(summary.failed.is_empty());
    assert_eq!(
        partitions(&glue, &db, Table::Action).await,
        [(
            "2026-01-05".to_owned(),
            "s3://logs-bucket/action_execution_state_change/dt=2026-01-05/".to_owned()
        )]
    );
    assert_eq!(partitions(&glue, &db, Table::Stage).await.len(), 1);
    assert!(partitions(&glue, &db, Table::Pipeline).await.is_empty());

    // The same event again (S3 delivers at least once): nothing new, no error.
    let again = handle(&glue, &db, &event).await.unwrap();
    assert_eq!((again.created, again.existing), (0, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_for_one_partition_are_safe() {
    let glue = glue_at(&endpoint()).await;
    let db = database(&glue, true).await;
    let event = s3_event(&[(
        "ObjectCreated:Put",
        "pipeline_execution_state_change/dt=2026-02-01/f.gz",
    )]);
    let runs = (0..6).map(|_| {
        let (glue, db, event) = (glue.clone(), db.clone(), event.clone());
        tokio::spawn(async move { handle(&glue, &db, &event).await.unwrap() })
    });
    let mut created = 0;
    for r in runs {
        let s = r.await.unwrap();
        created += s.created;
        assert_eq!(s.created + s.existing, 1);
    }
    assert_eq!(created, 1, "exactly one invocation creates it");
    assert_eq!(partitions(&glue, &db, Table::Pipeline).await.len(), 1);
}

#[tokio::test]
async fn failures_a_retry_cannot_fix_are_logged_not_retried() {
    let glue = glue_at(&endpoint()).await;
    let db = database(&glue, false).await;
    let event = s3_event(&[(
        "ObjectCreated:Put",
        "action_execution_state_change/dt=2026-01-05/f.gz",
    )]);
    let summary = handle(&glue, &db, &event).await.unwrap();
    assert_eq!(summary.created, 0);
    assert_eq!(summary.failed.len(), 1);
    assert!(
        summary.failed[0].contains("GetTable"),
        "{:?}",
        summary.failed
    );
}

#[tokio::test]
async fn transient_failures_make_lambda_retry() {
    // Nothing listens on port 9 of loopback: a network failure, which a retry can fix.
    let glue = glue_at("http://127.0.0.1:9").await;
    let event = s3_event(&[(
        "ObjectCreated:Put",
        "action_execution_state_change/dt=2026-01-05/f.gz",
    )]);
    let err = handle(&glue, "db", &event).await.unwrap_err();
    assert!(err.to_string().contains("retry"), "{err}");
}

#[tokio::test]
async fn handler_runs_with_a_default_context() {
    let glue = glue_at(&endpoint()).await;
    let db = database(&glue, true).await;
    let event = s3_event(&[(
        "ObjectCreated:Put",
        "stage_execution_state_change/dt=2026-03-03/f.gz",
    )]);
    let summary = function_handler(&glue, &db, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert_eq!(summary.created, 1);
}
