//! `cplogs repair-partitions`: reconcile each table's `dt=` prefixes in S3 with its
//! Glue partitions. Adds what is missing (through `crate::aws::partitions`, the same code
//! as the partition Lambda), and on request removes partitions whose prefix holds no
//! objects and corrects partitions registered at the wrong location.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_glue::types::{BatchUpdatePartitionRequestEntry, ErrorDetail, PartitionValueList};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::aws::partitions::{
    GlueCallError, create_partitions, partition_input, table_storage_descriptor,
};
use crate::core::layout::{Dt, partition_location, table_prefix};
use crate::core::schema::{PARTITION_KEY, Table};

/// BatchDeletePartition takes at most this many partitions per call.
pub const MAX_PARTITIONS_PER_DELETE: usize = 25;
/// BatchUpdatePartition takes at most this many entries per call.
pub const MAX_PARTITIONS_PER_UPDATE: usize = 100;

/// What to reconcile, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairOptions {
    /// Bucket holding the data.
    pub bucket: String,
    /// Glue database holding the tables.
    pub database: String,
    /// Tables to reconcile.
    pub tables: Vec<Table>,
    /// First day considered (inclusive).
    pub since: Option<Dt>,
    /// Last day considered (inclusive).
    pub until: Option<Dt>,
    /// Only report what would change.
    pub dry_run: bool,
    /// Remove partitions whose prefix has no objects.
    pub delete_missing: bool,
    /// Correct partitions whose location is not their prefix.
    pub fix_locations: bool,
    /// Tables reconciled at once.
    pub concurrency: usize,
}

/// API calls made for one table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Calls {
    /// ListObjectsV2 pages.
    pub list_objects_pages: usize,
    /// GetPartitions pages.
    pub get_partitions_pages: usize,
    /// BatchCreatePartition calls.
    pub create_calls: usize,
    /// BatchDeletePartition calls.
    pub delete_calls: usize,
    /// BatchUpdatePartition calls.
    pub update_calls: usize,
}

/// The outcome for one table. In a dry run, the counts are what would change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TableRepair {
    /// Table name.
    pub table: String,
    /// `dt=` prefixes with objects in S3 (in the window).
    pub in_s3: usize,
    /// Partitions in Glue (in the window).
    pub in_glue: usize,
    /// Partitions added.
    pub added: usize,
    /// Partitions removed.
    pub removed: usize,
    /// Partitions whose location was corrected.
    pub fixed: usize,
    /// Partitions in Glue without objects, left alone (no `--delete-missing`).
    pub without_objects: usize,
    /// Partitions at a wrong location, left alone (no `--fix-locations`).
    pub wrong_location: usize,
    /// `dt=` folders in S3 whose value is not a `YYYY-MM-DD` date (e.g. `dt=10000-01-01`
    /// or `dt=2026-13-01`): no partition can be registered for them, and the local
    /// engine would read them, so the user must look at them (the run fails).
    pub unparsable: Vec<String>,
    /// Everything that failed.
    pub errors: Vec<String>,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// API calls made.
    pub calls: Calls,
}

/// The `dt=` folders of a table in S3.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Partitions {
    /// Partitions with objects, in the window.
    pub dts: BTreeSet<Dt>,
    /// `dt=` folders whose value is not a date, as their folder names (`dt=…`).
    pub unparsable: Vec<String>,
}

/// Lists the partitions that have objects: the `<table>/dt=YYYY-MM-DD/` common
/// prefixes, with a delimiter, so objects themselves are never listed.
///
/// With a window, the listing covers the keys from `dt=<since>` to `dt=<until>`, so
/// unparsable folders that sort outside that range are not seen.
pub async fn s3_partitions(
    s3: &aws_sdk_s3::Client,
    opts: &RepairOptions,
    table: Table,
    calls: &mut Calls,
) -> Result<S3Partitions, String> {
    let prefix = table_prefix(table);
    let mut pages = s3
        .list_objects_v2()
        .bucket(&opts.bucket)
        .prefix(&prefix)
        .delimiter("/")
        // Keys sort by date, so the listing can start at the window.
        .set_start_after(opts.since.map(|d| format!("{prefix}{PARTITION_KEY}={d}")))
        .into_paginator()
        .send();
    let mut found = S3Partitions::default();
    while let Some(page) = pages.next().await {
        calls.list_objects_pages += 1;
        let page = page.map_err(|e| {
            format!(
                "ListObjectsV2 s3://{}/{prefix}: {}",
                opts.bucket,
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        })?;
        for p in page.common_prefixes() {
            let Some(dir) = p
                .prefix()
                .and_then(|p| p.strip_prefix(&prefix))
                .map(|p| p.trim_end_matches('/'))
            else {
                continue;
            };
            let Ok(dt) = Dt::from_partition_dir(dir) else {
                // Folders that are not partitions (e.g. `_temporary/`) are not ours;
                // a `dt=` folder that is not a date is a fault someone must look at.
                if dir.starts_with(&format!("{PARTITION_KEY}=")) {
                    found.unparsable.push(dir.to_owned());
                }
                continue;
            };
            if opts.until.is_some_and(|u| dt > u) {
                return Ok(found);
            }
            if opts.since.is_none_or(|s| dt >= s) {
                found.dts.insert(dt);
            }
        }
    }
    Ok(found)
}

/// The GetPartitions expression for the window (dates are validated `Dt`s).
pub fn window_expression(since: Option<Dt>, until: Option<Dt>) -> Option<String> {
    let parts: Vec<String> = [
        since.map(|d| format!("{PARTITION_KEY} >= '{d}'")),
        until.map(|d| format!("{PARTITION_KEY} <= '{d}'")),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

/// Lists the table's Glue partitions in the window: dt → location.
pub async fn glue_partitions(
    glue: &aws_sdk_glue::Client,
    opts: &RepairOptions,
    table: Table,
    calls: &mut Calls,
) -> Result<BTreeMap<Dt, Option<String>>, GlueCallError> {
    let mut pages = glue
        .get_partitions()
        .database_name(&opts.database)
        .table_name(table.name())
        .set_expression(window_expression(opts.since, opts.until))
        .exclude_column_schema(true)
        .into_paginator()
        .send();
    let mut found = BTreeMap::new();
    while let Some(page) = pages.next().await {
        calls.get_partitions_pages += 1;
        let page = page
            .map_err(|e| GlueCallError::new("GetPartitions", &opts.database, table.name(), &e))?;
        for p in page.partitions() {
            if let Some(dt) = p.values().first().and_then(|v| Dt::parse(v).ok())
                && opts.since.is_none_or(|s| dt >= s)
                && opts.until.is_none_or(|u| dt <= u)
            {
                let location = p.storage_descriptor().and_then(|sd| sd.location());
                found.insert(dt, location.map(str::to_owned));
            }
        }
    }
    Ok(found)
}

/// Reconciles one table.
pub async fn repair_table(
    s3: &aws_sdk_s3::Client,
    glue: &aws_sdk_glue::Client,
    opts: &RepairOptions,
    table: Table,
) -> TableRepair {
    let mut r = TableRepair {
        table: table.name().to_owned(),
        dry_run: opts.dry_run,
        ..TableRepair::default()
    };
    let mut calls = Calls::default();
    let in_s3 = match s3_partitions(s3, opts, table, &mut calls).await {
        Ok(v) => {
            r.unparsable = v.unparsable;
            v.dts
        }
        Err(e) => {
            r.errors.push(e);
            r.calls = calls;
            return r;
        }
    };
    let in_glue = match glue_partitions(glue, opts, table, &mut calls).await {
        Ok(v) => v,
        Err(e) => {
            r.errors.push(e.to_string());
            r.calls = calls;
            return r;
        }
    };
    r.in_s3 = in_s3.len();
    r.in_glue = in_glue.len();
    let missing: BTreeSet<Dt> = in_s3
        .iter()
        .filter(|d| !in_glue.contains_key(d))
        .copied()
        .collect();
    let extra: Vec<Dt> = in_glue
        .keys()
        .filter(|d| !in_s3.contains(d))
        .copied()
        .collect();
    let wrong: Vec<Dt> = in_glue
        .iter()
        .filter(|(d, loc)| {
            in_s3.contains(d)
                && loc.as_deref() != Some(partition_location(&opts.bucket, table, **d).as_str())
        })
        .map(|(d, _)| *d)
        .collect();
    r.without_objects = if opts.delete_missing { 0 } else { extra.len() };
    r.wrong_location = if opts.fix_locations { 0 } else { wrong.len() };

    if opts.dry_run {
        r.added = missing.len();
        r.removed = if opts.delete_missing { extra.len() } else { 0 };
        r.fixed = if opts.fix_locations { wrong.len() } else { 0 };
        r.calls = calls;
        return r;
    }

    match create_partitions(glue, &opts.database, &opts.bucket, table, &missing).await {
        Ok(report) => {
            // A partition created meanwhile (e.g. by the Lambda) is there all the same.
            r.added = report.created + report.existing;
            calls.create_calls += report.create_calls;
            r.errors.extend(
                report
                    .failed
                    .iter()
                    .map(|f| format!("create dt={}: {}: {}", f.dt, f.code, f.message)),
            );
        }
        Err(e) => r.errors.push(e.to_string()),
    }
    if opts.delete_missing && !extra.is_empty() {
        delete(glue, opts, table, &extra, &mut r, &mut calls).await;
    }
    if opts.fix_locations && !wrong.is_empty() {
        fix(glue, opts, table, &wrong, &mut r, &mut calls).await;
    }
    r.calls = calls;
    r
}

/// One per-partition error of a batch call, for the summary.
fn item_error(what: &str, values: &[String], detail: Option<&ErrorDetail>) -> String {
    format!(
        "{what} dt={}: {}: {}",
        values.join(","),
        detail.and_then(|d| d.error_code()).unwrap_or("Unknown"),
        detail.and_then(|d| d.error_message()).unwrap_or_default()
    )
}

async fn delete(
    glue: &aws_sdk_glue::Client,
    opts: &RepairOptions,
    table: Table,
    dts: &[Dt],
    r: &mut TableRepair,
    calls: &mut Calls,
) {
    for chunk in dts.chunks(MAX_PARTITIONS_PER_DELETE) {
        let mut values = Vec::with_capacity(chunk.len());
        for dt in chunk {
            match PartitionValueList::builder().values(dt.to_string()).build() {
                Ok(v) => values.push(v),
                Err(e) => r.errors.push(format!("delete dt={dt}: {e}")),
            }
        }
        calls.delete_calls += 1;
        match glue
            .batch_delete_partition()
            .database_name(&opts.database)
            .table_name(table.name())
            .set_partitions_to_delete(Some(values))
            .send()
            .await
        {
            Ok(out) => {
                r.removed += chunk.len() - out.errors().len();
                r.errors.extend(
                    out.errors()
                        .iter()
                        .map(|e| item_error("delete", e.partition_values(), e.error_detail())),
                );
            }
            Err(e) => r.errors.push(
                GlueCallError::new("BatchDeletePartition", &opts.database, table.name(), &e)
                    .to_string(),
            ),
        }
    }
}

async fn fix(
    glue: &aws_sdk_glue::Client,
    opts: &RepairOptions,
    table: Table,
    dts: &[Dt],
    r: &mut TableRepair,
    calls: &mut Calls,
) {
    let template = match table_storage_descriptor(glue, &opts.database, table).await {
        Ok(t) => t,
        Err(e) => {
            r.errors.push(e.to_string());
            return;
        }
    };
    for chunk in dts.chunks(MAX_PARTITIONS_PER_UPDATE) {
        let mut entries = Vec::with_capacity(chunk.len());
        for dt in chunk {
            match BatchUpdatePartitionRequestEntry::builder()
                .partition_value_list(dt.to_string())
                .partition_input(partition_input(&template, &opts.bucket, table, *dt))
                .build()
            {
                Ok(e) => entries.push(e),
                Err(e) => r.errors.push(format!("fix dt={dt}: {e}")),
            }
        }
        calls.update_calls += 1;
        match glue
            .batch_update_partition()
            .database_name(&opts.database)
            .table_name(table.name())
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) => {
                r.fixed += chunk.len() - out.errors().len();
                r.errors.extend(
                    out.errors()
                        .iter()
                        .map(|e| item_error("fix", e.partition_value_list(), e.error_detail())),
                );
            }
            Err(e) => r.errors.push(
                GlueCallError::new("BatchUpdatePartition", &opts.database, table.name(), &e)
                    .to_string(),
            ),
        }
    }
}

/// Reconciles every table of `opts`, at most `opts.concurrency` at once, calling
/// `on_done` as each finishes. Results come back in the order of `opts.tables`.
pub async fn repair(
    s3: aws_sdk_s3::Client,
    glue: aws_sdk_glue::Client,
    opts: RepairOptions,
    mut on_done: impl FnMut(&TableRepair),
) -> Vec<TableRepair> {
    let opts = Arc::new(opts);
    let permits = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for (i, table) in opts.tables.iter().copied().enumerate() {
        let (s3, glue, opts, permits) = (s3.clone(), glue.clone(), opts.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (i, repair_table(&s3, &glue, &opts, table).await)
        });
    }
    let mut done: Vec<(usize, TableRepair)> = Vec::with_capacity(opts.tables.len());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, r)) => {
                on_done(&r);
                done.push((i, r));
            }
            Err(e) => done.push((
                usize::MAX,
                TableRepair {
                    table: "?".into(),
                    errors: vec![format!("task failed: {e}")],
                    ..TableRepair::default()
                },
            )),
        }
    }
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_expressions() {
        let d = |s| Dt::parse(s).unwrap();
        assert_eq!(window_expression(None, None), None);
        assert_eq!(
            window_expression(Some(d("2026-01-01")), None).as_deref(),
            Some("dt >= '2026-01-01'")
        );
        assert_eq!(
            window_expression(Some(d("2026-01-01")), Some(d("2026-01-31"))).as_deref(),
            Some("dt >= '2026-01-01' AND dt <= '2026-01-31'")
        );
    }
}
