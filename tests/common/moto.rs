//! moto, the local AWS API that tests/with-moto.sh starts (tests/run.sh runs every
//! test under it): its endpoint, names unique per test, clients, and seeding a bucket
//! and a Glue catalog.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_glue::types::DatabaseInput;
use chrono::{Duration, NaiveDate};
use cplogs::Table;
use cplogs::core::layout::{Dt, partition_prefix};

/// moto's endpoint, `http://127.0.0.1:PORT`.
pub fn endpoint() -> String {
    std::env::var("CPLOGS_TEST_ENDPOINT").expect(
        "CPLOGS_TEST_ENDPOINT is not set: run the tests with `bash tests/run.sh`, which starts moto",
    )
}

/// A unique name per test and run (`PREFIX-PID-N`), so tests share one moto server
/// safely.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// S3 and Glue clients for moto, in us-east-1, configured as cplogs configures them.
pub async fn clients() -> (aws_sdk_s3::Client, aws_sdk_glue::Client) {
    let config = cplogs::aws::sdk::load_config(&cplogs::aws::sdk::AwsOptions {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(endpoint()),
    })
    .await;
    (
        cplogs::aws::sdk::s3_client(&config),
        cplogs::aws::sdk::glue_client(&config),
    )
}

/// A Glue client for moto.
pub async fn glue() -> aws_sdk_glue::Client {
    clients().await.1
}

/// `n` consecutive days from `first` (`YYYY-MM-DD`).
pub fn days(first: &str, n: i64) -> Vec<Dt> {
    let start = NaiveDate::parse_from_str(first, "%Y-%m-%d").unwrap();
    (0..n)
        .map(|i| Dt::from(start + Duration::days(i)))
        .collect()
}

/// Creates `bucket`, `database`, and the three tables in it (registered partitions,
/// data in `bucket`).
pub async fn create_catalog(
    s3: &aws_sdk_s3::Client,
    glue: &aws_sdk_glue::Client,
    bucket: &str,
    database: &str,
) {
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    glue.create_database()
        .database_input(DatabaseInput::builder().name(database).build().unwrap())
        .send()
        .await
        .unwrap();
    for t in Table::ALL {
        glue.create_table()
            .database_name(database)
            .table_input(cplogs::aws::glue::table_input(t, bucket, false).unwrap())
            .send()
            .await
            .unwrap();
    }
}

/// Puts one small object under the partition prefix of every table × day.
pub async fn put_files(s3: &aws_sdk_s3::Client, bucket: &str, tables: &[Table], dts: &[Dt]) {
    let mut set = tokio::task::JoinSet::new();
    let sem = Arc::new(tokio::sync::Semaphore::new(16));
    for t in tables {
        for dt in dts {
            let key = format!("{}firehose-1-{dt}-00-00-00-x.gz", partition_prefix(*t, *dt));
            let (s3, bucket, sem) = (s3.clone(), bucket.to_owned(), sem.clone());
            set.spawn(async move {
                let _p = sem.acquire_owned().await.unwrap();
                s3.put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(b"{}\n".to_vec().into())
                    .send()
                    .await
                    .unwrap();
            });
        }
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
}

/// Every partition of `table` in Glue: dt → location.
pub async fn partitions(
    glue: &aws_sdk_glue::Client,
    database: &str,
    table: Table,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut pages = glue
        .get_partitions()
        .database_name(database)
        .table_name(table.name())
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for p in page.unwrap().partitions() {
            out.insert(
                p.values()[0].clone(),
                p.storage_descriptor()
                    .unwrap()
                    .location()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    out
}
