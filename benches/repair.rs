//! Benchmark of `repair-partitions` on 3 tables × 1,000 days against a local AWS
//! endpoint (moto). Run: `bash tests/with-moto.sh cargo bench --bench repair`.
//! Prints the time of a full repair (3,000 partitions created) and of a no-op rerun.

use std::time::Instant;

use aws_sdk_glue::types::DatabaseInput;
use chrono::{Duration, NaiveDate};
use cplogs::Table;
use cplogs::aws::repair::{RepairOptions, repair};
use cplogs::core::layout::{Dt, partition_prefix};

const DAYS: i64 = 1_000;
const RUNS: usize = 3;

fn main() {
    let Ok(endpoint) = std::env::var("CPLOGS_TEST_ENDPOINT") else {
        eprintln!(
            "CPLOGS_TEST_ENDPOINT is not set: run `bash tests/with-moto.sh cargo bench --bench repair`"
        );
        std::process::exit(2);
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let config = cplogs::aws::sdk::load_config(&cplogs::aws::sdk::AwsOptions {
            region: Some("us-east-1".into()),
            profile: None,
            endpoint_url: Some(endpoint),
        })
        .await;
        let s3 = cplogs::aws::sdk::s3_client(&config);
        let glue = cplogs::aws::sdk::glue_client(&config);
        let bucket = format!("cplogs-bench-{}", std::process::id());
        s3.create_bucket().bucket(&bucket).send().await.expect("bucket");

        let start = NaiveDate::from_ymd_opt(2023, 1, 1).expect("date");
        let seeding = Instant::now();
        let mut puts = tokio::task::JoinSet::new();
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
        for t in Table::ALL {
            for i in 0..DAYS {
                let dt = Dt::from(start + Duration::days(i));
                let key = format!("{}part-0000.gz", partition_prefix(t, dt));
                let (s3, bucket, permits) = (s3.clone(), bucket.clone(), permits.clone());
                puts.spawn(async move {
                    let _p = permits.acquire_owned().await;
                    s3.put_object()
                        .bucket(bucket)
                        .key(key)
                        .body(b"{}\n".to_vec().into())
                        .send()
                        .await
                        .expect("put")
                });
            }
        }
        while puts.join_next().await.is_some() {}
        eprintln!(
            "seeded {} objects in {:.2?}",
            3 * DAYS,
            seeding.elapsed()
        );

        for run in 1..=RUNS {
            let database = format!("cplogs_bench_{}_{run}", std::process::id());
            glue.create_database()
                .database_input(DatabaseInput::builder().name(&database).build().expect("db"))
                .send()
                .await
                .expect("database");
            for t in Table::ALL {
                glue.create_table()
                    .database_name(&database)
                    .table_input(cplogs::aws::glue::table_input(t, &bucket, false).expect("input"))
                    .send()
                    .await
                    .expect("table");
            }
            let opts = RepairOptions {
                bucket: bucket.clone(),
                database,
                tables: Table::ALL.to_vec(),
                since: None,
                until: None,
                dry_run: false,
                delete_missing: false,
                fix_locations: false,
                concurrency: 3,
            };
            let t0 = Instant::now();
            let full = repair(s3.clone(), glue.clone(), opts.clone(), |_| {}).await;
            let full_time = t0.elapsed();
            let added: usize = full.iter().map(|r| r.added).sum();
            let creates: usize = full.iter().map(|r| r.calls.create_calls).sum();
            assert_eq!(added, 3 * DAYS as usize, "{full:?}");
            let t1 = Instant::now();
            let rerun = repair(s3.clone(), glue.clone(), opts, |_| {}).await;
            let rerun_time = t1.elapsed();
            assert_eq!(rerun.iter().map(|r| r.added).sum::<usize>(), 0);
            println!(
                "run {run}: repair 3 x {DAYS} days: {full_time:.2?} ({added} partitions, {creates} BatchCreatePartition calls); no-op rerun: {rerun_time:.2?}"
            );
        }
    });
}
