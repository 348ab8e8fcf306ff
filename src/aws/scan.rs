//! The cost guard's estimate: how many bytes a query over a window would scan, as the
//! sum of the S3 objects under each table's `dt=` partitions in the window (Athena
//! reads whole gzip files, so this is what it bills, give or take its 10 MB minimum).

use aws_sdk_s3::Client;

use crate::core::layout::{Dt, partition_prefix, table_prefix};
use crate::core::schema::Table;

/// What the listing found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Estimate {
    /// Bytes of the objects in the window's partitions.
    pub bytes: u64,
    /// How many objects.
    pub objects: u64,
    /// ListObjectsV2 calls made.
    pub calls: u64,
}

/// Sums the objects of `tables` in the partitions `first..=last` of `bucket`: one
/// listing per table that starts at the first partition (keys sort by date) and stops
/// after the last, so a long history outside the window costs nothing.
pub async fn estimate(
    s3: &Client,
    bucket: &str,
    tables: &[Table],
    first: Dt,
    last: Dt,
) -> Result<Estimate, String> {
    let mut total = Estimate::default();
    for &table in tables {
        let prefix = table_prefix(table);
        let start = partition_prefix(table, first);
        // Every key of the last partition sorts before this one.
        let end = format!("{}\u{10ffff}", partition_prefix(table, last));
        let mut pages = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(&prefix)
            .start_after(start.trim_end_matches('/'))
            .into_paginator()
            .send();
        'pages: while let Some(page) = pages.next().await {
            total.calls += 1;
            let page = page.map_err(|e| {
                format!(
                    "listing s3://{bucket}/{prefix}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )
            })?;
            for o in page.contents() {
                let key = o.key().unwrap_or_default();
                if key > end.as_str() {
                    break 'pages;
                }
                total.bytes += u64::try_from(o.size().unwrap_or(0)).unwrap_or(0);
                total.objects += 1;
            }
        }
    }
    Ok(total)
}
