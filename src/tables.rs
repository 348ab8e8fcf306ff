//! `cplogs tables`: the three Glue tables managed through the Glue API from the one
//! schema (`crate::glue::table_input`): create (idempotent, changes an existing table
//! only on request), show, diff and drop.

use std::collections::BTreeMap;

use aws_sdk_glue::Client;
use aws_sdk_glue::types::{
    Column, DatabaseInput, StorageDescriptor, Table as GlueTable, TableInput,
};
use serde::Serialize;

use crate::partitions::GlueCallError;
use crate::schema::Table;

/// One way a table in Glue differs from the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// What differs, e.g. `column executionid` or `serde library`.
    pub what: String,
    /// What the schema says.
    pub expected: String,
    /// What Glue has.
    pub actual: String,
}

fn columns_map(cols: &[Column]) -> BTreeMap<String, String> {
    cols.iter()
        .map(|c| {
            (
                c.name().to_owned(),
                c.r#type().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn push(out: &mut Vec<Difference>, what: String, expected: &str, actual: &str) {
    if expected != actual {
        out.push(Difference {
            what,
            expected: expected.to_owned(),
            actual: actual.to_owned(),
        });
    }
}

fn compare_columns(out: &mut Vec<Difference>, kind: &str, want: &[Column], have: &[Column]) {
    let (want, have) = (columns_map(want), columns_map(have));
    for (name, ty) in &want {
        let actual = have.get(name).map_or("(missing)", String::as_str);
        push(out, format!("{kind} {name}"), ty, actual);
    }
    for (name, ty) in &have {
        if !want.contains_key(name) {
            push(out, format!("{kind} {name}"), "(absent)", ty);
        }
    }
}

/// The differences between the schema's `TableInput` and the table Glue has: columns,
/// partition keys, SerDe, formats, location and the table parameters cplogs sets.
pub fn diff(expected: &TableInput, actual: &GlueTable) -> Vec<Difference> {
    let mut out = Vec::new();
    let empty = StorageDescriptor::builder().build();
    let want_sd = expected.storage_descriptor().unwrap_or(&empty);
    let have_sd = actual.storage_descriptor().unwrap_or(&empty);
    compare_columns(&mut out, "column", want_sd.columns(), have_sd.columns());
    compare_columns(
        &mut out,
        "partition key",
        expected.partition_keys(),
        actual.partition_keys(),
    );
    let serde = |sd: &StorageDescriptor| {
        sd.serde_info()
            .and_then(|s| s.serialization_library())
            .unwrap_or_default()
            .to_owned()
    };
    push(
        &mut out,
        "serde library".into(),
        &serde(want_sd),
        &serde(have_sd),
    );
    let serde_params = |sd: &StorageDescriptor| {
        sd.serde_info()
            .and_then(|s| s.parameters())
            .map(|p| p.iter().collect::<BTreeMap<_, _>>())
            .map(|p| format!("{p:?}"))
            .unwrap_or_default()
    };
    push(
        &mut out,
        "serde parameters".into(),
        &serde_params(want_sd),
        &serde_params(have_sd),
    );
    let opt = |s: Option<&str>| s.unwrap_or_default().to_owned();
    push(
        &mut out,
        "location".into(),
        &opt(want_sd.location()),
        &opt(have_sd.location()),
    );
    push(
        &mut out,
        "input format".into(),
        &opt(want_sd.input_format()),
        &opt(have_sd.input_format()),
    );
    push(
        &mut out,
        "output format".into(),
        &opt(want_sd.output_format()),
        &opt(have_sd.output_format()),
    );
    let have_params = actual.parameters();
    for (k, v) in expected.parameters().into_iter().flatten() {
        let actual = have_params
            .and_then(|p| p.get(k))
            .map_or("(missing)", String::as_str);
        push(&mut out, format!("parameter {k}"), v, actual);
    }
    // Projection settings the schema variant does not have would change how Athena
    // finds partitions, so they count too.
    let expected_params = expected.parameters();
    for (k, v) in have_params.into_iter().flatten() {
        let ours = k.starts_with("projection.") || k == "storage.location.template";
        if ours && expected_params.is_none_or(|p| !p.contains_key(k)) {
            push(&mut out, format!("parameter {k}"), "(absent)", v);
        }
    }
    out
}

/// What `create` did with one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It did not exist and was created.
    Created,
    /// It existed, equal to the schema.
    Unchanged,
    /// It existed and differs; left alone (no `--update`).
    Differs,
    /// It existed, differed, and was updated.
    Updated,
}

/// One table's result of `create`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateResult {
    /// Table name.
    pub table: String,
    /// What happened.
    pub outcome: Outcome,
    /// How it differed from the schema (before an update).
    pub differences: Vec<Difference>,
}

/// Reads a table; `Ok(None)` when it does not exist.
pub async fn get(
    glue: &Client,
    database: &str,
    table: Table,
) -> Result<Option<GlueTable>, GlueCallError> {
    match glue
        .get_table()
        .database_name(database)
        .name(table.name())
        .send()
        .await
    {
        Ok(out) => Ok(out.table().cloned()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(GlueCallError::new("GetTable", database, table.name(), &e)),
    }
}

async fn ensure_database(glue: &Client, database: &str) -> Result<bool, GlueCallError> {
    match glue.get_database().name(database).send().await {
        Ok(_) => Ok(false),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_not_found_exception()) =>
        {
            let input = DatabaseInput::builder()
                .name(database)
                .description("cplogs: AWS CodePipeline execution state changes")
                .build()
                .map_err(|b| GlueCallError::local("CreateDatabase", database, "", b))?;
            glue.create_database()
                .database_input(input)
                .send()
                .await
                .map_err(|e| GlueCallError::new("CreateDatabase", database, "", &e))?;
            Ok(true)
        }
        Err(e) => Err(GlueCallError::new("GetDatabase", database, "", &e)),
    }
}

/// Creates the database if missing and each table if missing; an existing table that
/// differs from the schema is updated only when `update` is set. Returns whether the
/// database was created, and one result per table.
pub async fn create(
    glue: &Client,
    database: &str,
    bucket: &str,
    projection: bool,
    update: bool,
) -> Result<(bool, Vec<CreateResult>), GlueCallError> {
    let created_db = ensure_database(glue, database).await?;
    let mut results = Vec::new();
    for table in Table::ALL {
        let input = crate::glue::table_input(table, bucket, projection)
            .map_err(|e| GlueCallError::local("TableInput", database, table.name(), e))?;
        let result = match get(glue, database, table).await? {
            None => {
                glue.create_table()
                    .database_name(database)
                    .table_input(input)
                    .send()
                    .await
                    .map_err(|e| GlueCallError::new("CreateTable", database, table.name(), &e))?;
                CreateResult {
                    table: table.name().to_owned(),
                    outcome: Outcome::Created,
                    differences: vec![],
                }
            }
            Some(existing) => {
                let differences = diff(&input, &existing);
                let outcome = if differences.is_empty() {
                    Outcome::Unchanged
                } else if update {
                    glue.update_table()
                        .database_name(database)
                        .table_input(input)
                        .send()
                        .await
                        .map_err(|e| {
                            GlueCallError::new("UpdateTable", database, table.name(), &e)
                        })?;
                    Outcome::Updated
                } else {
                    Outcome::Differs
                };
                CreateResult {
                    table: table.name().to_owned(),
                    outcome,
                    differences,
                }
            }
        };
        results.push(result);
    }
    Ok((created_db, results))
}

/// Deletes the three tables (not the database, nor any data). Returns the tables
/// that existed.
pub async fn drop_tables(glue: &Client, database: &str) -> Result<Vec<String>, GlueCallError> {
    let mut dropped = Vec::new();
    for table in Table::ALL {
        match glue
            .delete_table()
            .database_name(database)
            .name(table.name())
            .send()
            .await
        {
            Ok(_) => dropped.push(table.name().to_owned()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_entity_not_found_exception()) => {}
            Err(e) => {
                return Err(GlueCallError::new(
                    "DeleteTable",
                    database,
                    table.name(),
                    &e,
                ));
            }
        }
    }
    Ok(dropped)
}
