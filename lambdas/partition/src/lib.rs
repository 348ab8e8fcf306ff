//! The partition Lambda's handler: S3 ObjectCreated records → `(table, dt)` through the
//! core layout → the missing Glue partitions created with `cplogs::aws::partitions` (one
//! batch per bucket and table).
//!
//! Idempotent: an existing partition counts as success, so duplicate and concurrent
//! invocations are safe. It returns an error, so that Lambda retries the event, only
//! for failures a retry can fix (throttling, Glue 5xx, network).

use std::collections::{BTreeMap, BTreeSet};

use aws_lambda_events::event::s3::S3Event;
use cplogs::Table;
use cplogs::aws::partitions::create_partitions;
use cplogs::core::layout::{Dt, decode_event_key, parse_key};
use lambda_runtime::{Error, LambdaEvent, tracing};
use serde::Serialize;

/// Environment variable naming the Glue database (default `codepipeline_event_logs`).
pub const DATABASE_ENV: &str = "CPLOGS_DATABASE";

/// The database from [`DATABASE_ENV`], or the default.
pub fn database_from_env() -> String {
    std::env::var(DATABASE_ENV)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| cplogs::core::schema::DEFAULT_DATABASE.to_owned())
}

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Partitions created.
    pub created: usize,
    /// Partitions that already existed.
    pub existing: usize,
    /// Records skipped: not ObjectCreated, or a key outside the tables.
    pub skipped: usize,
    /// Failures a retry cannot fix (logged, not retried).
    pub failed: Vec<String>,
}

/// Handles one S3 event with `glue` on `database`.
pub async fn handle(
    glue: &aws_sdk_glue::Client,
    database: &str,
    event: &S3Event,
) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    let mut wanted: BTreeMap<(String, Table), BTreeSet<Dt>> = BTreeMap::new();
    for record in &event.records {
        let name = record.event_name.as_deref().unwrap_or_default();
        let (Some(bucket), Some(raw_key)) = (&record.s3.bucket.name, &record.s3.object.key) else {
            tracing::warn!(event_name = name, "record without bucket or key, skipped");
            summary.skipped += 1;
            continue;
        };
        if !name.starts_with("ObjectCreated") {
            tracing::info!(event_name = name, key = %raw_key, "not an ObjectCreated event, skipped");
            summary.skipped += 1;
            continue;
        }
        let key = decode_event_key(raw_key);
        match parse_key(&key) {
            Ok((table, dt)) => {
                wanted
                    .entry((bucket.clone(), table))
                    .or_default()
                    .insert(dt);
            }
            Err(e) => {
                // The error prefix and anything else outside the tables is not ours.
                tracing::info!(bucket = %bucket, reason = %e, "skipped");
                summary.skipped += 1;
            }
        }
    }
    let mut retryable = Vec::new();
    for ((bucket, table), dts) in &wanted {
        match create_partitions(glue, database, bucket, *table, dts).await {
            Ok(report) => {
                summary.created += report.created;
                summary.existing += report.existing;
                for f in report.failed {
                    let msg = format!("{table} dt={}: {}: {}", f.dt, f.code, f.message);
                    if f.transient {
                        retryable.push(msg);
                    } else {
                        tracing::error!(error = %msg, "partition not created; a retry cannot fix it");
                        summary.failed.push(msg);
                    }
                }
            }
            Err(e) if e.retryable => retryable.push(e.to_string()),
            Err(e) => {
                tracing::error!(error = %e, "partitions not created; a retry cannot fix it");
                summary.failed.push(e.to_string());
            }
        }
    }
    tracing::info!(
        created = summary.created,
        existing = summary.existing,
        skipped = summary.skipped,
        failed = summary.failed.len(),
        "done"
    );
    if retryable.is_empty() {
        Ok(summary)
    } else {
        Err(format!("transient failures, retry: {}", retryable.join("; ")).into())
    }
}

/// The Lambda handler: [`handle`] on the invocation's payload.
pub async fn function_handler(
    glue: &aws_sdk_glue::Client,
    database: &str,
    event: LambdaEvent<S3Event>,
) -> Result<Summary, Error> {
    handle(glue, database, &event.payload).await
}
