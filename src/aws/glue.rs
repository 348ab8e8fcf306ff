//! The schema rendered as Glue API types: the `TableInput` that `cplogs tables create`
//! sends and the partition Lambda and `repair-partitions` compare against.

use aws_sdk_glue::error::BuildError;
use aws_sdk_glue::types::{Column as GlueColumn, SerDeInfo, StorageDescriptor, TableInput};

use crate::core::layout::table_location;
use crate::core::schema::{
    INPUT_FORMAT, OUTPUT_FORMAT, PARTITION_KEY, SERDE_LIBRARY, SERDE_PARAMETERS, TABLE_PARAMETERS,
    Table,
};

/// The data columns of `table` as Glue columns (lower-case names, Athena types).
pub fn columns(table: Table) -> Result<Vec<GlueColumn>, BuildError> {
    table
        .columns()
        .iter()
        .map(|c| {
            GlueColumn::builder()
                .name(c.sql_name())
                .r#type(c.ty.athena())
                .comment(c.comment)
                .build()
        })
        .collect()
}

/// The partition keys of every table: `dt string`.
pub fn partition_keys() -> Result<Vec<GlueColumn>, BuildError> {
    Ok(vec![
        GlueColumn::builder()
            .name(PARTITION_KEY)
            .r#type("string")
            .comment("UTC date of the event time, YYYY-MM-DD")
            .build()?,
    ])
}

/// The storage descriptor of `table` (or of one of its partitions) at `location`.
pub fn storage_descriptor(table: Table, location: &str) -> Result<StorageDescriptor, BuildError> {
    let serde = SERDE_PARAMETERS
        .iter()
        .fold(
            SerDeInfo::builder().serialization_library(SERDE_LIBRARY),
            |b, (k, v)| b.parameters(*k, *v),
        )
        .build();
    Ok(StorageDescriptor::builder()
        .set_columns(Some(columns(table)?))
        .location(location)
        .input_format(INPUT_FORMAT)
        .output_format(OUTPUT_FORMAT)
        .compressed(true)
        .serde_info(serde)
        .build())
}

/// The `TableInput` of `table` over `s3://<bucket>/<table>/`, with date partition
/// projection on `dt` when `projection` is set.
pub fn table_input(table: Table, bucket: &str, projection: bool) -> Result<TableInput, BuildError> {
    let location = table_location(bucket, table);
    let mut builder = TableInput::builder()
        .name(table.name())
        .description(format!(
            "cplogs: CodePipeline events of detail-type '{}'",
            table.detail_type()
        ))
        .table_type("EXTERNAL_TABLE")
        .set_partition_keys(Some(partition_keys()?))
        .storage_descriptor(storage_descriptor(table, &location)?);
    for (k, v) in TABLE_PARAMETERS {
        builder = builder.parameters(*k, *v);
    }
    if projection {
        for (k, v) in table.projection_parameters(&location) {
            builder = builder.parameters(k, v);
        }
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_input_carries_the_schema() {
        for table in Table::ALL {
            let input = table_input(table, "bucket", false).unwrap();
            assert_eq!(input.name(), table.name());
            let sd = input.storage_descriptor().unwrap();
            let cols: Vec<(&str, &str)> = sd
                .columns()
                .iter()
                .map(|c| (c.name(), c.r#type().unwrap()))
                .collect();
            let want: Vec<(String, String)> = table
                .columns()
                .iter()
                .map(|c| (c.sql_name(), c.ty.athena()))
                .collect();
            assert_eq!(
                cols,
                want.iter()
                    .map(|(a, b)| (a.as_str(), b.as_str()))
                    .collect::<Vec<_>>()
            );
            assert_eq!(
                sd.location(),
                Some(format!("s3://bucket/{}/", table.name()).as_str())
            );
            assert_eq!(
                sd.serde_info().unwrap().serialization_library(),
                Some(SERDE_LIBRARY)
            );
            let keys: Vec<&str> = input.partition_keys().iter().map(|c| c.name()).collect();
            assert_eq!(keys, ["dt"]);
            assert!(
                input
                    .parameters()
                    .unwrap()
                    .get("projection.enabled")
                    .is_none()
            );
        }
    }

    #[test]
    fn projection_parameters_point_at_the_partition_prefix() {
        let input = table_input(Table::Stage, "bucket", true).unwrap();
        let p = input.parameters().unwrap();
        assert_eq!(
            p.get("projection.dt.type").map(String::as_str),
            Some("date")
        );
        assert_eq!(
            p.get("storage.location.template").map(String::as_str),
            Some("s3://bucket/stage_execution_state_change/dt=${dt}/")
        );
    }
}
