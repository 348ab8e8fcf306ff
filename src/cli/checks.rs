//! The checks `cplogs doctor` runs, each a verdict with the fix to apply: the
//! deployment's tables, partitions, workgroup and queues, and the data's freshness,
//! Firehose error objects and files readers skip.
//!
//! One cohesive thing (over 400 lines): the doctor's checks, each small, side by side.

use std::io;

use chrono::{Duration, Utc};
use serde::Serialize;

use super::global::Context;
use super::select::{self, RunArgs};
use super::store::Store;
#[cfg(feature = "cloud")]
use crate::aws::repair::{RepairOptions, repair};
#[cfg(feature = "cloud")]
use crate::aws::sdk::{glue_client, s3_client};
#[cfg(feature = "cloud")]
use crate::aws::tables::diff_all;
use crate::core::schema::Table;
use crate::engine::QueryEngine;
use crate::ingest::legacy::is_legacy_key;
use crate::ingest::replay::error_prefix;
use crate::reports::{ReportParams, statement};
use crate::rows::Value;

/// One check's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// What to do, when it failed.
    pub fix: Option<String>,
}

fn pass(name: &'static str, detail: impl Into<String>) -> Check {
    Check {
        name,
        ok: true,
        detail: detail.into(),
        fix: None,
    }
}

fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name,
        ok: false,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

/// Tables, partitions, workgroup and queues: what only the deployment has.
#[cfg(feature = "cloud")]
pub async fn aws_checks(
    cx: &Context,
    config: &aws_config::SdkConfig,
    bucket: &str,
    queues: &[String],
) -> Vec<Check> {
    let s = &cx.settings;
    let glue = glue_client(config);
    let mut checks = Vec::new();
    let mut projection = Vec::new();
    checks.push(match diff_all(&glue, &s.database, bucket, None).await {
        Ok(tables) => {
            let differ: Vec<String> = tables
                .iter()
                .filter(|(_, _, d)| !d.is_empty())
                .map(|(t, _, d)| format!("{} ({})", t.name(), d[0].what))
                .collect();
            projection = tables
                .iter()
                .filter(|(_, p, _)| *p)
                .map(|(t, ..)| *t)
                .collect();
            if differ.is_empty() {
                pass(
                    "tables",
                    format!("the three tables in {} equal the schema", s.database),
                )
            } else {
                fail(
                    "tables",
                    format!("differ from the schema: {}", differ.join(", ")),
                    "cplogs tables create --update (or `cplogs tables diff` to see how)",
                )
            }
        }
        Err(e) => fail(
            "tables",
            e.to_string(),
            "check the Glue database and permissions",
        ),
    });
    let registered: Vec<Table> = Table::ALL
        .into_iter()
        .filter(|t| !projection.contains(t))
        .collect();
    let results = repair(
        s3_client(config),
        glue.clone(),
        RepairOptions {
            bucket: bucket.to_owned(),
            database: s.database.clone(),
            tables: registered.clone(),
            since: None,
            until: None,
            dry_run: true,
            delete_missing: false,
            fix_locations: false,
            concurrency: 3,
        },
        |_| {},
    )
    .await;
    let missing: usize = results.iter().map(|r| r.added).sum();
    let errors: Vec<String> = results.iter().flat_map(|r| r.errors.clone()).collect();
    checks.push(if !errors.is_empty() {
        fail(
            "partitions",
            errors.join("; "),
            "check S3 and Glue permissions",
        )
    } else if missing > 0 {
        fail(
            "partitions",
            format!("{missing} dt= folder(s) with objects have no Glue partition"),
            "cplogs repair-partitions (and check the partition Lambda's on-failure queue)",
        )
    } else {
        pass(
            "partitions",
            format!(
                "every dt= folder with objects has a partition{}",
                if projection.is_empty() {
                    String::new()
                } else {
                    format!(" ({} by partition projection)", projection.len())
                }
            ),
        )
    });
    let athena = aws_sdk_athena::Client::new(config);
    checks.push(match athena.get_work_group().work_group(&s.workgroup).send().await {
        Err(e) => fail(
            "workgroup",
            format!(
                "Athena workgroup {} cannot be read: {}",
                s.workgroup,
                aws_sdk_athena::error::DisplayErrorContext(&e)
            ),
            "create it, or set --workgroup / CPLOGS_WORKGROUP",
        ),
        Ok(out) => {
            let result = out
                .work_group()
                .and_then(|w| w.configuration())
                .and_then(|c| c.result_configuration());
            let location = result
                .and_then(|r| r.output_location())
                .map(str::to_owned)
                .or_else(|| s.output_location.clone());
            let encrypted = result.and_then(|r| r.encryption_configuration()).is_some();
            match (location, encrypted) {
                (Some(l), true) => pass(
                    "workgroup",
                    format!("{} writes results to {l}, encrypted", s.workgroup),
                ),
                (None, _) => fail(
                    "workgroup",
                    format!("{} has no result location", s.workgroup),
                    "set the workgroup's result location (the template does), or --output-location",
                ),
                (Some(l), false) => fail(
                    "workgroup",
                    format!("{} writes results to {l} unencrypted", s.workgroup),
                    "set SSE_S3 or SSE_KMS encryption on the workgroup's results",
                ),
            }
        }
    });
    let sqs = aws_sdk_sqs::Client::new(config);
    let mut urls = queues.to_vec();
    if urls.is_empty() {
        match sqs.list_queues().send().await {
            Ok(out) => urls.extend(
                out.queue_urls()
                    .iter()
                    .filter(|u| u.contains("DeadLetterQueue") || u.contains("FailureQueue"))
                    .cloned(),
            ),
            Err(e) => checks.push(fail(
                "queues",
                format!(
                    "cannot list queues: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                ),
                "name them with --queue URL, or allow sqs:ListQueues",
            )),
        }
    }
    let mut waiting = Vec::new();
    for url in &urls {
        let depth = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .ok()
            .and_then(|o| {
                o.attributes()?
                    .get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)?
                    .parse::<u64>()
                    .ok()
            });
        match depth {
            Some(0) => {}
            Some(n) => waiting.push(format!("{url}: {n}")),
            None => waiting.push(format!("{url}: unreadable")),
        }
    }
    checks.push(if waiting.is_empty() {
        pass(
            "queues",
            format!("{} dead-letter/on-failure queue(s), all empty", urls.len()),
        )
    } else {
        fail(
            "queues",
            format!("messages waiting: {}", waiting.join(", ")),
            "they are events EventBridge or the partition Lambda could not deliver: read them, \
             then `cplogs repair-partitions`",
        )
    });
    checks
}

/// Newest event per table, and pipelines silent far beyond their usual gap.
pub async fn freshness(
    run_args: &RunArgs,
    silence_factor: f64,
    cx: &Context,
    window: &ReportParams,
) -> Vec<Check> {
    // Unreadable files are the files check's business: here they must not stop the query.
    let run = RunArgs {
        demo: false,
        timeout: run_args.timeout.clone(),
        skip_bad_files: true,
        no_cache: run_args.no_cache,
        reuse: run_args.reuse.clone(),
    };
    let selected = match select::select(&run, cx).await {
        Ok(s) => s,
        Err(e) => {
            return vec![fail(
                "freshness",
                e.to_string(),
                "check the engine settings",
            )];
        }
    };
    let tables = selected
        .engine
        .run(&statement("freshness_tables").query(window))
        .await;
    let pipelines = selected
        .engine
        .run(&statement("freshness").query(window))
        .await;
    let mut checks = Vec::new();
    match tables {
        Err(e) => checks.push(fail("events", e.to_string(), "see the error")),
        Ok(t) => {
            let r = &t.result;
            let empty: Vec<String> = (0..r.rows.len())
                .filter(|&i| r.get(i, "events").and_then(Value::as_f64) == Some(0.0))
                .filter_map(|i| {
                    r.get(i, "table_name")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect();
            let newest: Vec<String> = (0..r.rows.len())
                .filter_map(|i| {
                    Some(format!(
                        "{} {}",
                        r.get(i, "table_name")?.as_str()?,
                        r.get(i, "newest_event")?.as_str()?
                    ))
                })
                .collect();
            checks.push(if empty.is_empty() {
                pass("events", format!("newest: {}", newest.join(", ")))
            } else {
                fail(
                    "events",
                    format!("no events in the last 30 days in {}", empty.join(", ")),
                    "check the EventBridge rules, the Firehose streams and their alarms",
                )
            });
        }
    }
    match pipelines {
        Err(e) => checks.push(fail("freshness", e.to_string(), "see the error")),
        Ok(p) => {
            let r = &p.result;
            let silent: Vec<String> = (0..r.rows.len())
                .filter_map(|i| {
                    let name = r.get(i, "pipeline")?.as_str()?;
                    let gap = r.get(i, "median_gap_s")?.as_f64()?;
                    let silent = r.get(i, "silent_s")?.as_f64()?;
                    (gap > 0.0 && silent > silence_factor * gap).then(|| {
                        format!("{name} (silent {}, usually {})", hours(silent), hours(gap))
                    })
                })
                .collect();
            checks.push(if silent.is_empty() {
                pass(
                    "freshness",
                    format!(
                        "{} pipeline(s), none silent beyond {}× its usual gap",
                        r.rows.len(),
                        silence_factor
                    ),
                )
            } else {
                fail(
                    "freshness",
                    format!("silent far beyond their usual gap: {}", silent.join(", ")),
                    "check those pipelines, their EventBridge rule and the Firehose stream",
                )
            });
        }
    }
    checks
}

fn hours(seconds: f64) -> String {
    format!("{:.1}h", seconds / 3600.0)
}

/// Objects under the Firehose error prefix of the last 7 days.
pub async fn firehose_errors(store: &Store, now: chrono::DateTime<Utc>) -> Check {
    let first_day = (now - Duration::days(7)).format("%Y/%m/%d").to_string();
    let mut found = Vec::new();
    for t in Table::ALL {
        let prefix = error_prefix(t);
        match store.list(&prefix).await {
            Ok(keys) => found.extend(keys.into_iter().filter(|k| {
                k[prefix.len()..]
                    .get(..10)
                    .is_some_and(|d| d >= first_day.as_str())
            })),
            Err(e) => {
                return fail(
                    "firehose errors",
                    e.to_string(),
                    "check access to the bucket",
                );
            }
        }
    }
    if found.is_empty() {
        return pass("firehose errors", "no error objects in the last 7 days");
    }
    let first = match store.read(&found[0]).await {
        Ok(bytes) => first_message(&bytes).unwrap_or_else(|| "(no errorMessage)".into()),
        Err(e) => e.to_string(),
    };
    fail(
        "firehose errors",
        format!(
            "{} error object(s) in the last 7 days; first: {first}",
            found.len()
        ),
        "cplogs replay-errors --since 7d (after fixing the cause)",
    )
}

/// The `errorMessage` of the first envelope of a Firehose error object.
fn first_message(bytes: &[u8]) -> Option<String> {
    let mut text = Vec::new();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(bytes), &mut text).ok()?;
    } else {
        text.extend_from_slice(bytes);
    }
    let line = text.split(|b| *b == b'\n').next()?;
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    v.get("errorMessage")
        .or_else(|| v.get("ErrorMessage"))
        .and_then(|m| m.as_str())
        .map(|m| m.chars().take(200).collect())
}

/// Files readers skip or cannot read: temporary names left behind, objects that are
/// not gzip, and folders in the original project's layout.
pub async fn unreadable(store: &Store) -> Check {
    let mut hidden = 0;
    let mut not_gzip = Vec::new();
    let mut legacy = 0;
    let mut sampled = 0;
    for t in Table::ALL {
        let keys = match store.list(&format!("{}/", t.name())).await {
            Ok(k) => k,
            Err(e) => return fail("files", e.to_string(), "check access to the data"),
        };
        for key in keys {
            if is_legacy_key(&key) {
                legacy += 1;
            } else if crate::core::layout::is_hidden(&key) {
                hidden += 1;
            } else if sampled < 200 {
                // A bounded sample: reading every object of a large bucket is not a check.
                sampled += 1;
                if let Ok(bytes) = store.read(&key).await
                    && !bytes.starts_with(&[0x1f, 0x8b])
                {
                    not_gzip.push(key);
                }
            }
        }
    }
    let mut problems = Vec::new();
    if !not_gzip.is_empty() {
        problems.push(format!(
            "{} file(s) are not gzip, e.g. {}",
            not_gzip.len(),
            not_gzip[0]
        ));
    }
    if hidden > 0 {
        problems.push(format!(
            "{hidden} temporary file(s) (names starting with . or _) readers skip"
        ));
    }
    if legacy > 0 {
        problems.push(format!(
            "{legacy} file(s) in the original project's YYYY/MM/DD/HH layout"
        ));
    }
    if problems.is_empty() {
        pass(
            "files",
            format!("{sampled} data file(s) read as gzip, no temporary or foreign files"),
        )
    } else {
        fail(
            "files",
            problems.join("; "),
            "remove what an interrupted writer left (ingest removes its own after an hour), move \
             foreign files out of the table folders, and `cplogs migrate-legacy` old layouts",
        )
    }
}
