//! `cplogs repair-partitions`: reconcile each table's `dt=` prefixes in S3 with its
//! Glue partitions. Adds what is missing (with `crate::aws::partitions`, the same code
//! as the partition Lambda), and on request removes partitions whose prefix holds no
//! objects and corrects partitions registered at the wrong location. All three changes
//! go through one path (`Batch::apply` over `partitions::run_batches`): batch sizes,
//! retries of throttled partitions, error collection and dry runs are handled once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_glue::types::{
    BatchUpdatePartitionRequestEntry, PartitionValueList, StorageDescriptor,
};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::aws::partitions::{
    BatchReport, GlueCallError, ItemFailure, MAX_PARTITIONS_PER_CREATE, create_call,
    partition_input, run_batches, table_storage_descriptor,
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
    let missing: Vec<Dt> = in_s3
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
    let extra = if opts.delete_missing {
        extra
    } else {
        Vec::new()
    };
    let wrong = if opts.fix_locations {
        wrong
    } else {
        Vec::new()
    };

    // Creating and fixing give partitions the table's own descriptor: read it once.
    let template = if opts.dry_run || (missing.is_empty() && wrong.is_empty()) {
        None
    } else {
        match table_storage_descriptor(glue, &opts.database, table).await {
            Ok(t) => Some(t),
            Err(e) => {
                r.errors.push(e.to_string());
                None
            }
        }
    };
    let batch = Batch {
        glue,
        opts,
        table,
        template: template.as_ref(),
    };
    // A partition created meanwhile (e.g. by the Lambda) is there all the same.
    r.added = batch
        .apply(Change::Create, &missing, &mut r.errors, &mut calls)
        .await;
    r.removed = batch
        .apply(Change::Delete, &extra, &mut r.errors, &mut calls)
        .await;
    r.fixed = batch
        .apply(Change::Fix, &wrong, &mut r.errors, &mut calls)
        .await;
    r.calls = calls;
    r
}

/// A change repair makes to a table's partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// BatchCreatePartition: partitions with objects but not in Glue.
    Create,
    /// BatchDeletePartition: partitions in Glue without objects (`--delete-missing`).
    Delete,
    /// BatchUpdatePartition: partitions at a wrong location (`--fix-locations`).
    Fix,
}

impl Change {
    /// The word that starts its per-partition errors (`create dt=…: code: message`).
    fn verb(self) -> &'static str {
        match self {
            Change::Create => "create",
            Change::Delete => "delete",
            Change::Fix => "fix",
        }
    }

    /// Where its calls are counted.
    fn calls(self, calls: &mut Calls) -> &mut usize {
        match self {
            Change::Create => &mut calls.create_calls,
            Change::Delete => &mut calls.delete_calls,
            Change::Fix => &mut calls.update_calls,
        }
    }
}

/// What every change of one table needs: the client, the options, the table, and its
/// descriptor (absent in a dry run, or when it could not be read).
struct Batch<'a> {
    glue: &'a aws_sdk_glue::Client,
    opts: &'a RepairOptions,
    table: Table,
    template: Option<&'a StorageDescriptor>,
}

impl Batch<'_> {
    /// Makes `change` to the partitions `dts`, and returns how many it changed (in a
    /// dry run, how many it would, with no call). Every change goes through the one
    /// batch path, [`run_batches`] (batches of at most the operation's limit, throttled
    /// partitions retried on their own, every other failure collected); errors go to
    /// `errors`, calls to `calls`.
    async fn apply(
        &self,
        change: Change,
        dts: &[Dt],
        errors: &mut Vec<String>,
        calls: &mut Calls,
    ) -> usize {
        if dts.is_empty() {
            return 0;
        }
        if self.opts.dry_run {
            return dts.len();
        }
        let (glue, database, bucket, table) = (
            self.glue,
            self.opts.database.as_str(),
            self.opts.bucket.as_str(),
            self.table,
        );
        let report: BatchReport = match (change, self.template) {
            // The descriptor could not be read: that error is already reported.
            (Change::Create | Change::Fix, None) => return 0,
            (Change::Create, Some(template)) => {
                run_batches(dts, MAX_PARTITIONS_PER_CREATE, |chunk| async move {
                    create_call(glue, database, bucket, table, template, &chunk).await
                })
                .await
            }
            (Change::Delete, _) => {
                run_batches(dts, MAX_PARTITIONS_PER_DELETE, |chunk| async move {
                    delete_call(glue, database, table, &chunk).await
                })
                .await
            }
            (Change::Fix, Some(template)) => {
                run_batches(dts, MAX_PARTITIONS_PER_UPDATE, |chunk| async move {
                    update_call(glue, database, bucket, table, template, &chunk).await
                })
                .await
            }
        };
        *change.calls(calls) += report.calls;
        errors.extend(
            report
                .failed
                .iter()
                .map(|f| format!("{} dt={}: {}: {}", change.verb(), f.dt, f.code, f.message)),
        );
        errors.extend(report.error.map(|e| e.to_string()));
        report.done + report.existing
    }
}

/// One BatchDeletePartition call for the partitions `dts` of `table`.
async fn delete_call(
    glue: &aws_sdk_glue::Client,
    database: &str,
    table: Table,
    dts: &[Dt],
) -> Result<Vec<ItemFailure>, GlueCallError> {
    let operation = "BatchDeletePartition";
    let values = dts
        .iter()
        .map(|dt| PartitionValueList::builder().values(dt.to_string()).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| GlueCallError::local(operation, database, table.name(), e))?;
    let out = glue
        .batch_delete_partition()
        .database_name(database)
        .table_name(table.name())
        .set_partitions_to_delete(Some(values))
        .send()
        .await
        .map_err(|e| GlueCallError::new(operation, database, table.name(), &e))?;
    Ok(out
        .errors()
        .iter()
        .map(|e| ItemFailure::new(e.partition_values(), e.error_detail()))
        .collect())
}

/// One BatchUpdatePartition call setting the partitions `dts` of `table` (data in
/// `bucket`) to the table's descriptor `template` at their own prefixes.
async fn update_call(
    glue: &aws_sdk_glue::Client,
    database: &str,
    bucket: &str,
    table: Table,
    template: &StorageDescriptor,
    dts: &[Dt],
) -> Result<Vec<ItemFailure>, GlueCallError> {
    let operation = "BatchUpdatePartition";
    let entries = dts
        .iter()
        .map(|dt| {
            BatchUpdatePartitionRequestEntry::builder()
                .partition_value_list(dt.to_string())
                .partition_input(partition_input(template, bucket, table, *dt))
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| GlueCallError::local(operation, database, table.name(), e))?;
    let out = glue
        .batch_update_partition()
        .database_name(database)
        .table_name(table.name())
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(|e| GlueCallError::new(operation, database, table.name(), &e))?;
    Ok(out
        .errors()
        .iter()
        .map(|e| ItemFailure::new(e.partition_value_list(), e.error_detail()))
        .collect())
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
    use std::sync::Mutex;

    use aws_sdk_glue::Client;
    use aws_sdk_glue::operation::batch_delete_partition::BatchDeletePartitionOutput;
    use aws_sdk_glue::types::{ErrorDetail, PartitionError};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    fn item_error(dt: &str, code: &str) -> PartitionError {
        PartitionError::builder()
            .partition_values(dt)
            .error_detail(
                ErrorDetail::builder()
                    .error_code(code)
                    .error_message(format!("{code} for {dt}"))
                    .build(),
            )
            .build()
    }

    /// Deletes take the one batch path: at most 25 per call, a throttled partition
    /// retried on its own, any other failure reported as `delete dt=…: code: message`.
    #[tokio::test]
    async fn deletes_are_batched_retried_and_reported_like_creates() {
        let seen: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
        let record = seen.clone();
        let delete = mock!(Client::batch_delete_partition)
            .match_requests(move |req| {
                let values = req
                    .partitions_to_delete()
                    .iter()
                    .map(|p| p.values().join(","))
                    .collect();
                record.lock().unwrap().push(values);
                true
            })
            .sequence()
            .output(|| {
                BatchDeletePartitionOutput::builder()
                    .errors(item_error("2026-01-02", "ThrottlingException"))
                    .errors(item_error("2026-01-03", "AccessDeniedException"))
                    .build()
            })
            .output(|| BatchDeletePartitionOutput::builder().build())
            .repeatedly()
            .build();
        let glue = mock_client!(aws_sdk_glue, RuleMode::MatchAny, [&delete]);
        let opts = RepairOptions {
            bucket: "b".into(),
            database: "db".into(),
            tables: vec![Table::Action],
            since: None,
            until: None,
            dry_run: false,
            delete_missing: true,
            fix_locations: false,
            concurrency: 1,
        };
        let batch = Batch {
            glue: &glue,
            opts: &opts,
            table: Table::Action,
            template: None,
        };
        let start = Dt::parse("2026-01-01").unwrap().date();
        let dts: Vec<Dt> = (0..30)
            .map(|i| Dt::from(start + chrono::Duration::days(i)))
            .collect();
        let (mut errors, mut calls) = (Vec::new(), Calls::default());
        let removed = batch
            .apply(Change::Delete, &dts, &mut errors, &mut calls)
            .await;
        assert_eq!(removed, 29);
        assert_eq!(calls.delete_calls, 3);
        assert_eq!(
            errors,
            ["delete dt=2026-01-03: AccessDeniedException: AccessDeniedException for 2026-01-03"]
        );
        let sizes: Vec<usize> = seen.lock().unwrap().iter().map(Vec::len).collect();
        assert_eq!(sizes, [25, 1, 5]);
        assert_eq!(seen.lock().unwrap()[1], ["2026-01-02"]);

        // A dry run counts and calls nothing.
        let dry = RepairOptions {
            dry_run: true,
            ..opts.clone()
        };
        let batch = Batch {
            opts: &dry,
            ..batch
        };
        let (mut errors, mut calls) = (Vec::new(), Calls::default());
        let n = batch
            .apply(Change::Delete, &dts, &mut errors, &mut calls)
            .await;
        assert_eq!((n, calls.delete_calls, errors.len()), (30, 0, 0));
        assert_eq!(seen.lock().unwrap().len(), 3);
    }

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
