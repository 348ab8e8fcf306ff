//! repair-partitions and the shared partition code against a real local AWS API
//! (moto's server, started by tests/run.sh): 3 tables × 1,000 days, call counts,
//! dry runs, idempotence, delete-missing, fix-locations, windows, and the CLI.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_sdk_glue::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_glue::types::{PartitionInput, StorageDescriptor};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use cplogs::Table;
use cplogs::aws::repair::{RepairOptions, TableRepair, repair};
use cplogs::core::layout::{Dt, partition_location};

use crate::common::cli::cplogs_aws;
use crate::common::moto::{self, days, endpoint, unique};

/// Counts requests by operation (every attempt; moto never throttles, so one each).
#[derive(Debug, Default, Clone)]
struct Counter(Arc<Mutex<BTreeMap<String, usize>>>);

impl Counter {
    fn get(&self, op: &str) -> usize {
        self.0.lock().unwrap().get(op).copied().unwrap_or(0)
    }
    fn reset(&self) {
        self.0.lock().unwrap().clear();
    }
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "Counter"
    }
    /// Names each request from the wire: Glue's `X-Amz-Target`, S3's method and query.
    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = context.request();
        let op = match req.headers().get("x-amz-target") {
            Some(target) => target.rsplit('.').next().unwrap_or(target).to_owned(),
            None if req.uri().contains("list-type=2") => "ListObjectsV2".to_owned(),
            None => format!("S3 {}", req.method()),
        };
        *self.0.lock().unwrap().entry(op).or_default() += 1;
        Ok(())
    }
}

struct Env {
    s3: aws_sdk_s3::Client,
    glue: aws_sdk_glue::Client,
    counter: Counter,
    bucket: String,
    database: String,
}

async fn env() -> Env {
    let (s3, glue) = moto::clients().await;
    let counter = Counter::default();
    let glue = aws_sdk_glue::Client::from_conf(
        glue.config()
            .to_builder()
            .interceptor(counter.clone())
            .build(),
    );
    let s3 = aws_sdk_s3::Client::from_conf(
        s3.config()
            .to_builder()
            .interceptor(counter.clone())
            .build(),
    );
    let env = Env {
        s3,
        glue,
        counter,
        bucket: unique("cplogs-test"),
        database: unique("cplogs_test").replace('-', "_"),
    };
    moto::create_catalog(&env.s3, &env.glue, &env.bucket, &env.database).await;
    env.counter.reset();
    env
}

impl Env {
    async fn put_files(&self, tables: &[Table], dts: &[Dt]) {
        moto::put_files(&self.s3, &self.bucket, tables, dts).await;
        self.counter.reset();
    }

    fn options(&self) -> RepairOptions {
        RepairOptions {
            bucket: self.bucket.clone(),
            database: self.database.clone(),
            tables: Table::ALL.to_vec(),
            since: None,
            until: None,
            dry_run: false,
            delete_missing: false,
            fix_locations: false,
            concurrency: 3,
        }
    }

    async fn run(&self, opts: RepairOptions) -> Vec<TableRepair> {
        repair(self.s3.clone(), self.glue.clone(), opts, |_| {}).await
    }

    /// Every partition of `table` in Glue: dt → location.
    async fn partitions(&self, table: Table) -> BTreeMap<String, String> {
        moto::partitions(&self.glue, &self.database, table).await
    }

    async fn add_partition(&self, table: Table, dt: Dt, location: &str) {
        let sd = StorageDescriptor::builder()
            .location(location)
            .set_columns(Some(cplogs::aws::glue::columns(table).unwrap()))
            .build();
        self.glue
            .create_partition()
            .database_name(&self.database)
            .table_name(table.name())
            .partition_input(
                PartitionInput::builder()
                    .values(dt.to_string())
                    .storage_descriptor(sd)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_registers_3_tables_by_1000_days_in_few_calls() {
    let env = env().await;
    let dts = days("2023-01-01", 1000);
    env.put_files(&Table::ALL, &dts).await;

    // Dry run: reports, writes nothing.
    let dry = env
        .run(RepairOptions {
            dry_run: true,
            ..env.options()
        })
        .await;
    for r in &dry {
        assert_eq!((r.in_s3, r.in_glue, r.added), (1000, 0, 1000), "{r:?}");
        assert!(r.errors.is_empty() && r.dry_run);
    }
    assert_eq!(env.counter.get("BatchCreatePartition"), 0);
    assert!(env.partitions(Table::Action).await.is_empty());

    env.counter.reset();
    let first = env.run(env.options()).await;
    for r in &first {
        assert_eq!(
            (r.in_s3, r.in_glue, r.added, r.removed, r.fixed),
            (1000, 0, 1000, 0, 0),
            "{r:?}"
        );
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(
            r.calls.create_calls, 10,
            "ceil(1000/100) creates for {}",
            r.table
        );
        assert!(r.calls.list_objects_pages <= 2, "{:?}", r.calls);
        assert_eq!(r.calls.get_partitions_pages, 1);
    }
    // The interceptor sees the same: ceil(n/100) creates per table, plus list pages.
    assert_eq!(env.counter.get("BatchCreatePartition"), 30);
    assert_eq!(env.counter.get("GetTable"), 3);
    assert!(env.counter.get("ListObjectsV2") <= 6);
    assert_eq!(env.counter.get("GetPartitions"), 3);
    assert_eq!(env.counter.get("S3 GET"), 0, "objects are never read");

    for t in Table::ALL {
        let parts = env.partitions(t).await;
        assert_eq!(parts.len(), 1000);
        for dt in &dts {
            assert_eq!(
                parts.get(&dt.to_string()),
                Some(&partition_location(&env.bucket, t, *dt)),
                "{t} {dt}"
            );
        }
    }

    // A second run writes nothing.
    env.counter.reset();
    let second = env.run(env.options()).await;
    for r in &second {
        assert_eq!((r.in_s3, r.in_glue, r.added), (1000, 1000, 0), "{r:?}");
    }
    assert_eq!(env.counter.get("BatchCreatePartition"), 0);
    assert_eq!(
        env.counter.get("BatchDeletePartition") + env.counter.get("BatchUpdatePartition"),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_missing_and_fix_locations() {
    let env = env().await;
    let t = Table::Stage;
    let with_files = days("2026-01-01", 5);
    env.put_files(&[t], &with_files).await;
    // Three partitions without objects, two at a wrong location.
    let orphans = days("2025-12-01", 3);
    for dt in &orphans {
        env.add_partition(t, *dt, &partition_location(&env.bucket, t, *dt))
            .await;
    }
    for dt in &with_files[..2] {
        env.add_partition(t, *dt, &format!("s3://{}/wrong/dt={dt}/", env.bucket))
            .await;
    }
    let opts = RepairOptions {
        tables: vec![t],
        ..env.options()
    };

    // Without the flags, they are only reported.
    let r = env.run(opts.clone()).await.remove(0);
    assert_eq!((r.in_s3, r.in_glue, r.added), (5, 5, 3));
    assert_eq!(
        (r.without_objects, r.wrong_location, r.removed, r.fixed),
        (3, 2, 0, 0)
    );
    assert_eq!(env.partitions(t).await.len(), 8);

    // Dry run with the flags: counts, no writes.
    env.counter.reset();
    let r = env
        .run(RepairOptions {
            dry_run: true,
            delete_missing: true,
            fix_locations: true,
            ..opts.clone()
        })
        .await
        .remove(0);
    assert_eq!((r.removed, r.fixed), (3, 2));
    assert_eq!(
        env.counter.get("BatchDeletePartition") + env.counter.get("BatchUpdatePartition"),
        0
    );

    let r = env
        .run(RepairOptions {
            delete_missing: true,
            fix_locations: true,
            ..opts.clone()
        })
        .await
        .remove(0);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.removed, r.fixed, r.added), (3, 2, 0));
    let parts = env.partitions(t).await;
    let want: BTreeMap<String, String> = with_files
        .iter()
        .map(|d| (d.to_string(), partition_location(&env.bucket, t, *d)))
        .collect();
    assert_eq!(parts, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_limits_both_listings() {
    let env = env().await;
    let t = Table::Action;
    env.put_files(&[t], &days("2026-03-01", 20)).await;
    let opts = RepairOptions {
        tables: vec![t],
        since: Some(Dt::parse("2026-03-05").unwrap()),
        until: Some(Dt::parse("2026-03-09").unwrap()),
        ..env.options()
    };
    let r = env.run(opts).await.remove(0);
    assert_eq!((r.in_s3, r.added), (5, 5), "{r:?}");
    let got: BTreeSet<String> = env.partitions(t).await.into_keys().collect();
    let want: BTreeSet<String> = days("2026-03-05", 5).iter().map(Dt::to_string).collect();
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_prints_json_and_fails_on_errors() {
    let env = env().await;
    env.put_files(&[Table::Pipeline], &days("2026-02-01", 3))
        .await;
    let run = |database: &str| {
        cplogs_aws(
            &endpoint(),
            "us-east-1",
            &[
                "repair-partitions",
                "--bucket",
                &env.bucket,
                "--database",
                database,
                "--table",
                "pipeline_execution_state_change",
                "--format",
                "json",
            ],
        )
    };
    let ok = run(&env.database);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(json[0]["table"], "pipeline_execution_state_change");
    assert_eq!(json[0]["added"], 3);
    assert_eq!(json[0]["errors"].as_array().unwrap().len(), 0);

    let bad = run("no_such_database");
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("error: pipeline_execution_state_change"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparsable_dt_folders_are_reported_and_fail_the_run() {
    let env = env().await;
    let t = Table::Action;
    env.put_files(&[t], &days("2026-02-01", 2)).await;
    let bad = [
        "dt=-001-12-31",
        "dt=10000-01-01",
        "dt=2026-13-01",
        "dt=garbage",
    ];
    for key in bad
        .iter()
        .map(|d| format!("{}/{d}/x.gz", t.name()))
        .chain([format!("{}/_temporary/x.gz", t.name())])
    {
        env.s3
            .put_object()
            .bucket(&env.bucket)
            .key(key)
            .body(b"{}\n".to_vec().into())
            .send()
            .await
            .unwrap();
    }

    let r = env
        .run(RepairOptions {
            tables: vec![t, Table::Stage],
            ..env.options()
        })
        .await;
    assert_eq!(
        (r[0].table.as_str(), r[0].in_s3, r[0].added),
        (t.name(), 2, 2)
    );
    // Listed in key order; `_temporary/` is not a dt= folder, so not ours to judge.
    assert_eq!(r[0].unparsable, bad);
    assert!(r[0].errors.is_empty(), "{:?}", r[0].errors);
    assert!(r[1].unparsable.is_empty());

    let run = |format: &str| {
        cplogs_aws(
            &endpoint(),
            "us-east-1",
            &[
                "repair-partitions",
                "--bucket",
                &env.bucket,
                "--database",
                &env.database,
                "--format",
                format,
            ],
        )
    };
    let json = run("json");
    let err = String::from_utf8_lossy(&json.stderr);
    assert_eq!(json.status.code(), Some(1), "{err}");
    for d in bad {
        assert!(
            err.contains(&format!(
                "error: {0}: folder {0}/{d}/ is not a dt=YYYY-MM-DD partition",
                t.name()
            )),
            "{err}"
        );
    }
    assert!(err.contains("4 unparsable dt= folder(s)"), "{err}");
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let action = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["table"] == t.name())
        .unwrap();
    assert_eq!(action["unparsable"], serde_json::json!(bad));
    assert_eq!(action["in_s3"], 2);
    for other in rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["table"] != t.name())
    {
        assert_eq!(other["unparsable"], serde_json::json!([]));
    }

    let table = run("table");
    assert_eq!(table.status.code(), Some(1));
    let grid = String::from_utf8_lossy(&table.stdout);
    assert!(grid.contains("unparsable dt= folders"), "{grid}");
    for d in bad {
        assert!(grid.contains(d), "{grid}");
    }
}
