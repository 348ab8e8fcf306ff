//! Creating Glue partitions for a set of `dt` values: the one implementation behind
//! the partition Lambda and `cplogs repair-partitions`, and the one batch path
//! ([`run_batches`]) that repair's deletes and location fixes go through too.
//!
//! Each partition gets the table's own StorageDescriptor, read from Glue, with its
//! location set to the partition's prefix in the layout. Calls carry at most 100
//! partitions (BatchCreatePartition's limit); "already exists" counts as success;
//! throttling and other transient per-item errors are retried with backoff; every
//! other per-item error is reported, never swallowed.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_glue::Client;
use aws_sdk_glue::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_glue::types::{ErrorDetail, PartitionInput, StorageDescriptor};
use serde::Serialize;

use crate::core::layout::{Dt, partition_location};
use crate::core::schema::Table;

/// BatchCreatePartition takes at most this many partitions per call.
pub const MAX_PARTITIONS_PER_CREATE: usize = 100;

/// How many times a transient per-item failure is tried in all.
const ITEM_ATTEMPTS: u32 = 6;

/// Glue error codes that a later try can succeed on.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "InternalServiceException",
    "OperationTimeoutException",
    "ConcurrentModificationException",
];

/// Whether a Glue error code is transient.
pub fn is_transient_code(code: &str) -> bool {
    TRANSIENT_CODES.contains(&code)
}

/// A Glue call that failed as a whole.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation} on {database}.{table} failed: {message}")]
pub struct GlueCallError {
    /// The API operation.
    pub operation: &'static str,
    /// Glue database.
    pub database: String,
    /// Glue table.
    pub table: String,
    /// Glue's error code, when it sent one.
    pub code: Option<String>,
    /// The error with its causes.
    pub message: String,
    /// Whether trying again later can succeed (throttling, 5xx, network).
    pub retryable: bool,
}

impl GlueCallError {
    /// A failure found on our side (no Glue error code), which a retry cannot fix.
    pub fn local(
        operation: &'static str,
        database: &str,
        table: &str,
        message: impl std::fmt::Display,
    ) -> GlueCallError {
        GlueCallError {
            operation,
            database: database.to_owned(),
            table: table.to_owned(),
            code: None,
            message: message.to_string(),
            retryable: false,
        }
    }

    /// Wraps an SDK error of `operation` on `database.table`.
    pub fn new<E, R>(
        operation: &'static str,
        database: &str,
        table: &str,
        err: &SdkError<E, R>,
    ) -> GlueCallError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let (code, retryable) = match err {
            SdkError::ServiceError(e) => {
                let code = e.err().code().map(str::to_owned);
                let retryable = code.as_deref().is_some_and(is_transient_code);
                (code, retryable)
            }
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => (None, true),
            _ => (None, false),
        };
        GlueCallError {
            operation,
            database: database.to_owned(),
            table: table.to_owned(),
            code,
            message: DisplayErrorContext(err).to_string(),
            retryable,
        }
    }
}

/// One partition a batch call could not create, delete or update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFailure {
    /// The partition.
    pub dt: String,
    /// Glue's error code.
    pub code: String,
    /// Glue's message.
    pub message: String,
    /// Whether it was still failing transiently when we gave up.
    pub transient: bool,
}

impl ItemFailure {
    /// The per-partition error Glue answered in a batch call for the partition `values`.
    pub fn new(values: &[String], detail: Option<&ErrorDetail>) -> ItemFailure {
        let code = detail.and_then(|d| d.error_code()).unwrap_or("Unknown");
        ItemFailure {
            dt: values.join(","),
            code: code.to_owned(),
            message: detail
                .and_then(|d| d.error_message())
                .unwrap_or_default()
                .to_owned(),
            transient: is_transient_code(code),
        }
    }
}

/// What [`create_partitions`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CreateReport {
    /// Partitions created.
    pub created: usize,
    /// Partitions that already existed.
    pub existing: usize,
    /// Partitions that could not be created.
    pub failed: Vec<ItemFailure>,
    /// BatchCreatePartition calls made.
    pub create_calls: usize,
}

/// Reads the table's StorageDescriptor, the template for its partitions.
pub async fn table_storage_descriptor(
    glue: &Client,
    database: &str,
    table: Table,
) -> Result<StorageDescriptor, GlueCallError> {
    let out = glue
        .get_table()
        .database_name(database)
        .name(table.name())
        .send()
        .await
        .map_err(|e| GlueCallError::new("GetTable", database, table.name(), &e))?;
    out.table()
        .and_then(|t| t.storage_descriptor())
        .cloned()
        .ok_or_else(|| {
            GlueCallError::local(
                "GetTable",
                database,
                table.name(),
                "the table has no StorageDescriptor",
            )
        })
}

/// The input of partition `dt` of `table` in `bucket`, from the table's descriptor.
pub fn partition_input(
    template: &StorageDescriptor,
    bucket: &str,
    table: Table,
    dt: Dt,
) -> PartitionInput {
    let mut sd = template.clone();
    sd.location = Some(partition_location(bucket, table, dt));
    PartitionInput::builder()
        .values(dt.to_string())
        .storage_descriptor(sd)
        .build()
}

fn backoff(attempt: u32) -> Duration {
    // 50 ms, 100 ms, 200 ms … with jitter, so concurrent writers spread out.
    let base = 50u64 << attempt.min(6);
    Duration::from_millis(base + fastrand_jitter(base))
}

fn fastrand_jitter(max: u64) -> u64 {
    // Sub-second clock noise is jitter enough here; no need for an RNG dependency.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or(0);
    nanos % max.max(1)
}

/// What [`run_batches`] did.
#[derive(Debug, Clone, Default)]
pub struct BatchReport {
    /// Partitions changed.
    pub done: usize,
    /// Partitions that already existed (creating them answered AlreadyExistsException).
    pub existing: usize,
    /// Partitions that could not be changed.
    pub failed: Vec<ItemFailure>,
    /// Calls made.
    pub calls: usize,
    /// A call that failed as a whole: the partitions not yet changed were not tried.
    pub error: Option<GlueCallError>,
}

/// The one path for batch changes to partitions (create, delete, update): sends `dts`
/// through `call` at most `per_call` at a time, retries the partitions that failed
/// transiently on their own with backoff (at most `ITEM_ATTEMPTS` tries each), counts
/// "already exists" as success, reports every other per-partition error, and stops at
/// the first call that fails as a whole. `call` makes one call for the partitions it
/// is given and returns the per-partition errors of the answer.
pub async fn run_batches<F, Fut>(dts: &[Dt], per_call: usize, mut call: F) -> BatchReport
where
    F: FnMut(Vec<Dt>) -> Fut,
    Fut: Future<Output = Result<Vec<ItemFailure>, GlueCallError>>,
{
    let mut report = BatchReport::default();
    for chunk in dts.chunks(per_call.max(1)) {
        let mut pending: Vec<Dt> = chunk.to_vec();
        let mut attempt = 0;
        while !pending.is_empty() {
            attempt += 1;
            report.calls += 1;
            let errors = match call(pending.clone()).await {
                Ok(errors) => errors,
                Err(e) => {
                    report.error = Some(e);
                    return report;
                }
            };
            report.done += pending.len().saturating_sub(errors.len());
            let mut retry = Vec::new();
            for err in errors {
                match Dt::parse(&err.dt).ok() {
                    _ if err.code == "AlreadyExistsException" => report.existing += 1,
                    Some(dt) if err.transient && attempt < ITEM_ATTEMPTS => retry.push(dt),
                    _ => report.failed.push(err),
                }
            }
            if !retry.is_empty() {
                tokio::time::sleep(backoff(attempt)).await;
            }
            pending = retry;
        }
    }
    report
}

/// One BatchCreatePartition call for the partitions `dts` of `table` (data in
/// `bucket`), each from the table's descriptor `template`: a `call` for [`run_batches`].
pub async fn create_call(
    glue: &Client,
    database: &str,
    bucket: &str,
    table: Table,
    template: &StorageDescriptor,
    dts: &[Dt],
) -> Result<Vec<ItemFailure>, GlueCallError> {
    let inputs: Vec<PartitionInput> = dts
        .iter()
        .map(|dt| partition_input(template, bucket, table, *dt))
        .collect();
    let out = glue
        .batch_create_partition()
        .database_name(database)
        .table_name(table.name())
        .set_partition_input_list(Some(inputs))
        .send()
        .await
        .map_err(|e| GlueCallError::new("BatchCreatePartition", database, table.name(), &e))?;
    Ok(out
        .errors()
        .iter()
        .map(|e| ItemFailure::new(e.partition_values(), e.error_detail()))
        .collect())
}

/// Creates the partitions `dts` of `table` (data in `bucket`) that do not exist yet.
///
/// Fails as a whole only when the table cannot be read or a call fails outright;
/// per-partition failures are in the report.
pub async fn create_partitions(
    glue: &Client,
    database: &str,
    bucket: &str,
    table: Table,
    dts: &BTreeSet<Dt>,
) -> Result<CreateReport, GlueCallError> {
    if dts.is_empty() {
        return Ok(CreateReport::default());
    }
    let template = table_storage_descriptor(glue, database, table).await?;
    let all: Vec<Dt> = dts.iter().copied().collect();
    let batch = run_batches(&all, MAX_PARTITIONS_PER_CREATE, |chunk| {
        let template = &template;
        async move { create_call(glue, database, bucket, table, template, &chunk).await }
    })
    .await;
    match batch.error {
        Some(e) => Err(e),
        None => Ok(CreateReport {
            created: batch.done,
            existing: batch.existing,
            failed: batch.failed,
            create_calls: batch.calls,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_glue::Client;
    use aws_sdk_glue::operation::batch_create_partition::BatchCreatePartitionOutput;
    use aws_sdk_glue::operation::get_table::GetTableOutput;
    use aws_sdk_glue::types::{ErrorDetail, PartitionError, Table as GlueTable};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    fn get_table_rule() -> aws_smithy_mocks::Rule {
        mock!(Client::get_table)
            .sequence()
            .output(|| {
                let sd = crate::aws::glue::storage_descriptor(
                    Table::Action,
                    "s3://b/action_execution_state_change/",
                )
                .unwrap();
                GetTableOutput::builder()
                    .table(
                        GlueTable::builder()
                            .name(Table::Action.name())
                            .storage_descriptor(sd)
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .repeatedly()
            .build()
    }

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

    fn dts(first: &str, n: i64) -> BTreeSet<Dt> {
        let start = Dt::parse(first).unwrap().date();
        (0..n)
            .map(|i| Dt::from(start + chrono::Duration::days(i)))
            .collect()
    }

    #[tokio::test]
    async fn existing_is_success_transient_is_retried_others_are_reported() {
        let seen: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
        let record = seen.clone();
        let create = mock!(Client::batch_create_partition)
            .match_requests(move |req| {
                let values = req
                    .partition_input_list()
                    .iter()
                    .map(|p| p.values().join(","))
                    .collect();
                record.lock().unwrap().push(values);
                true
            })
            .sequence()
            .output(|| {
                BatchCreatePartitionOutput::builder()
                    .errors(item_error("2026-01-01", "AlreadyExistsException"))
                    .errors(item_error("2026-01-02", "ThrottlingException"))
                    .errors(item_error("2026-01-03", "AccessDeniedException"))
                    .build()
            })
            .output(|| BatchCreatePartitionOutput::builder().build())
            .build();
        let glue = mock_client!(
            aws_sdk_glue,
            RuleMode::MatchAny,
            [&get_table_rule(), &create]
        );
        let report = create_partitions(&glue, "db", "b", Table::Action, &dts("2026-01-01", 4))
            .await
            .unwrap();
        assert_eq!(report.created, 2, "{report:?}");
        assert_eq!(report.existing, 1);
        assert_eq!(report.create_calls, 2);
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].dt, "2026-01-03");
        assert_eq!(report.failed[0].code, "AccessDeniedException");
        assert!(!report.failed[0].transient);
        let calls = seen.lock().unwrap().clone();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].len(), 4);
        assert_eq!(
            calls[1],
            ["2026-01-02"],
            "only the throttled partition is retried"
        );
    }

    #[tokio::test]
    async fn batches_hold_at_most_100_partitions_with_their_own_locations() {
        // Each call's (dt, location) pairs.
        type Calls = Arc<Mutex<Vec<Vec<(String, String)>>>>;
        let seen: Calls = Arc::default();
        let record = seen.clone();
        let create = mock!(Client::batch_create_partition)
            .match_requests(move |req| {
                let items = req
                    .partition_input_list()
                    .iter()
                    .map(|p| {
                        let loc = p
                            .storage_descriptor()
                            .and_then(|s| s.location())
                            .unwrap_or_default();
                        (p.values().join(","), loc.to_owned())
                    })
                    .collect();
                record.lock().unwrap().push(items);
                true
            })
            .sequence()
            .output(|| BatchCreatePartitionOutput::builder().build())
            .repeatedly()
            .build();
        let glue = mock_client!(
            aws_sdk_glue,
            RuleMode::MatchAny,
            [&get_table_rule(), &create]
        );
        let report = create_partitions(&glue, "db", "logs", Table::Action, &dts("2025-01-01", 250))
            .await
            .unwrap();
        assert_eq!((report.created, report.create_calls), (250, 3));
        let calls = seen.lock().unwrap().clone();
        let sizes: Vec<usize> = calls.iter().map(Vec::len).collect();
        assert_eq!(sizes, [100, 100, 50]);
        let (dt, loc) = &calls[2][49];
        assert_eq!(dt, "2025-09-07");
        assert_eq!(
            loc,
            "s3://logs/action_execution_state_change/dt=2025-09-07/"
        );
    }

    #[tokio::test]
    async fn persistent_throttling_gives_up_and_is_reported_as_transient() {
        let create = mock!(Client::batch_create_partition)
            .sequence()
            .output(|| {
                BatchCreatePartitionOutput::builder()
                    .errors(item_error("2026-01-01", "ThrottlingException"))
                    .build()
            })
            .repeatedly()
            .build();
        let glue = mock_client!(
            aws_sdk_glue,
            RuleMode::MatchAny,
            [&get_table_rule(), &create]
        );
        let report = create_partitions(&glue, "db", "b", Table::Action, &dts("2026-01-01", 1))
            .await
            .unwrap();
        assert_eq!(report.create_calls, ITEM_ATTEMPTS as usize);
        assert_eq!(report.created, 0);
        assert!(report.failed[0].transient);
    }
}
