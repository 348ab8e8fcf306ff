//! `cplogs tables`: the three Glue tables managed through the Glue API from the one
//! schema (`crate::aws::glue::table_input`): create (idempotent, changes an existing table
//! only on request), show, diff and drop.
//!
//! The schema has two variants, registered partitions and date partition projection;
//! a table is compared with the one it declares (its `projection.enabled`) unless the
//! caller picks one, so the template's tables, which always carry the projection
//! parameters with `projection.enabled` "true" or "false", match either way.
//!
//! One cohesive thing (over 400 lines): reading, comparing, creating and dropping the three tables.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_glue::Client;
use aws_sdk_glue::types::{
    Column, DatabaseInput, StorageDescriptor, Table as GlueTable, TableInput,
};
use serde::Serialize;

use crate::aws::partitions::GlueCallError;
use crate::core::schema::Table;

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

/// Table parameter that switches partition projection on.
pub const PROJECTION_ENABLED: &str = "projection.enabled";

/// Whether a table parameter belongs to partition projection: Athena reads these only
/// when `projection.enabled` is true.
pub fn is_projection_parameter(key: &str) -> bool {
    key.starts_with("projection.") || key == "storage.location.template"
}

/// Whether these table parameters switch partition projection on: `projection.enabled`
/// is "true" in any case (Athena's reading); absent or anything else is off.
pub fn projection_enabled(parameters: Option<&HashMap<String, String>>) -> bool {
    parameters
        .and_then(|p| p.get(PROJECTION_ENABLED))
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The schema variant a table in Glue declares: `true` for date partition projection,
/// `false` for registered partitions.
pub fn declared_projection(table: &GlueTable) -> bool {
    projection_enabled(table.parameters())
}

/// The differences between the schema's `TableInput` and the table Glue has: columns,
/// partition keys, SerDe, formats, location and the table parameters cplogs sets.
///
/// `projection.enabled` is compared by meaning (absent is "false"; see
/// [`projection_enabled`]), so a table with projection on compared with the
/// non-projection variant, or the reverse, differs in it. When projection is off on
/// both sides the other projection parameters are inert and not compared: a table that
/// carries them disabled, as the template writes it, equals the non-projection variant.
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
    compare_parameters(&mut out, expected.parameters(), actual.parameters());
    out
}

/// The parameters in key order, so the differences come out the same way every run.
fn sorted(p: Option<&HashMap<String, String>>) -> BTreeMap<&String, &String> {
    p.into_iter().flatten().collect()
}

fn compare_parameters(
    out: &mut Vec<Difference>,
    want: Option<&HashMap<String, String>>,
    have: Option<&HashMap<String, String>>,
) {
    let (want_on, have_on) = (projection_enabled(want), projection_enabled(have));
    let value = |p: Option<&HashMap<String, String>>, k: &str, none: &str| {
        p.and_then(|p| p.get(k))
            .map_or(none.to_owned(), Clone::clone)
    };
    // By meaning, not text: "TRUE" is on and a missing flag is off, as Athena reads it.
    if want_on != have_on {
        out.push(Difference {
            what: format!("parameter {PROJECTION_ENABLED}"),
            expected: value(want, PROJECTION_ENABLED, "(absent)"),
            actual: value(have, PROJECTION_ENABLED, "(missing)"),
        });
    }
    let inert =
        |k: &str| k == PROJECTION_ENABLED || (!want_on && !have_on && is_projection_parameter(k));
    for (k, v) in sorted(want) {
        if !inert(k) {
            push(
                out,
                format!("parameter {k}"),
                v,
                &value(have, k, "(missing)"),
            );
        }
    }
    // Projection settings the schema variant does not have would change how Athena
    // finds partitions, so they count too; other extra parameters (set by Glue,
    // the template or a user) are left to their owners.
    for (k, v) in sorted(have) {
        let extra = want.is_none_or(|p| !p.contains_key(k));
        if !inert(k) && is_projection_parameter(k) && extra {
            push(out, format!("parameter {k}"), "(absent)", v);
        }
    }
}

/// The parameters `create --update` gives a table: the existing ones overlaid with the
/// schema variant's (`input`), so parameters the template or anyone else set stay.
/// Without projection, a `projection.enabled` the table has becomes "false" (the
/// non-projection variant has none to overlay); the other projection parameters stay,
/// inert.
pub fn updated_parameters(
    input: &TableInput,
    existing: &GlueTable,
    projection: bool,
) -> HashMap<String, String> {
    let mut params = existing.parameters().cloned().unwrap_or_default();
    params.extend(
        input
            .parameters()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    if !projection && let Some(enabled) = params.get_mut(PROJECTION_ENABLED) {
        "false".clone_into(enabled);
    }
    params
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
    /// The schema variant it was compared with or created as (date partition
    /// projection when true).
    pub projection: bool,
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
///
/// `projection` picks the schema variant; `None` means the one an existing table
/// declares ([`declared_projection`]) and registered partitions for a new table. An
/// update keeps the table's other parameters ([`updated_parameters`]).
pub async fn create(
    glue: &Client,
    database: &str,
    bucket: &str,
    projection: Option<bool>,
    update: bool,
) -> Result<(bool, Vec<CreateResult>), GlueCallError> {
    let created_db = ensure_database(glue, database).await?;
    let mut results = Vec::new();
    for table in Table::ALL {
        let existing = get(glue, database, table).await?;
        let variant =
            projection.unwrap_or_else(|| existing.as_ref().is_some_and(declared_projection));
        let input = crate::aws::glue::table_input(table, bucket, variant)
            .map_err(|e| GlueCallError::local("TableInput", database, table.name(), e))?;
        let (outcome, differences) = match existing {
            None => {
                glue.create_table()
                    .database_name(database)
                    .table_input(input)
                    .send()
                    .await
                    .map_err(|e| GlueCallError::new("CreateTable", database, table.name(), &e))?;
                (Outcome::Created, vec![])
            }
            Some(existing) => {
                let differences = diff(&input, &existing);
                let outcome = if differences.is_empty() {
                    Outcome::Unchanged
                } else if update {
                    let params = updated_parameters(&input, &existing, variant);
                    let mut input = input;
                    input.parameters = Some(params);
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
                (outcome, differences)
            }
        };
        results.push(CreateResult {
            table: table.name().to_owned(),
            outcome,
            projection: variant,
            differences,
        });
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

/// Each table compared with the schema: the variant `projection` asks for, else the
/// one the table declares; a missing table is one difference. The one comparison
/// behind `tables diff` and `doctor`.
pub async fn diff_all(
    glue: &Client,
    database: &str,
    bucket: &str,
    projection: Option<bool>,
) -> Result<Vec<(Table, bool, Vec<Difference>)>, GlueCallError> {
    let mut out = Vec::new();
    for t in Table::ALL {
        let found = get(glue, database, t).await?;
        let projection =
            projection.unwrap_or_else(|| found.as_ref().is_some_and(declared_projection));
        let input = crate::aws::glue::table_input(t, bucket, projection)
            .map_err(|b| GlueCallError::local("TableInput", database, t.name(), b))?;
        let diffs = match found {
            Some(found) => diff(&input, &found),
            None => vec![Difference {
                what: "table".into(),
                expected: "(exists)".into(),
                actual: "(missing)".into(),
            }],
        };
        out.push((t, projection, diffs));
    }
    Ok(out)
}
