//! `cplogs tables create|show|diff|drop` end to end against moto's server (started by
//! tests/run.sh), checked through Glue reads.

use aws_sdk_glue::types::{Table as GlueTable, TableInput};
use cplogs::Table;
use serde_json::Value;

use crate::common::cli::cplogs_aws;
use crate::common::moto::{endpoint, glue, unique};
use crate::common::text;

fn database() -> String {
    unique("tables_test").replace('-', "_")
}

fn tables(db: &str, args: &[&str]) -> (Option<i32>, Value, String) {
    let mut all = vec!["tables"];
    all.extend_from_slice(args);
    all.extend(["--database", db, "--bucket", "logs", "--format", "json"]);
    let out = cplogs_aws(&endpoint(), "us-east-1", &all);
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), json, text(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_is_idempotent_reports_drift_and_updates_on_request() {
    let db = database();
    let glue = glue().await;

    let (code, json, err) = tables(&db, &["create"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(json["database_created"], true);
    for t in json["tables"].as_array().unwrap() {
        assert_eq!(t["outcome"], "created");
    }
    for t in Table::ALL {
        let found = glue
            .get_table()
            .database_name(&db)
            .name(t.name())
            .send()
            .await
            .unwrap();
        let sd = found.table().unwrap().storage_descriptor().unwrap();
        let cols: Vec<(&str, &str)> = sd
            .columns()
            .iter()
            .map(|c| (c.name(), c.r#type().unwrap()))
            .collect();
        let want: Vec<(String, String)> = t
            .columns()
            .iter()
            .map(|c| (c.sql_name(), c.ty.athena()))
            .collect();
        assert_eq!(cols.len(), want.len());
        for ((a, b), (c, d)) in cols.iter().zip(&want) {
            assert_eq!((*a, *b), (c.as_str(), d.as_str()));
        }
        assert_eq!(
            sd.location(),
            Some(format!("s3://logs/{}/", t.name()).as_str())
        );
    }

    let (code, json, _) = tables(&db, &["create"]);
    assert_eq!(code, Some(0));
    assert_eq!(json["database_created"], false);
    assert!(
        json["tables"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["outcome"] == "unchanged")
    );
    let (code, _, _) = tables(&db, &["diff"]);
    assert_eq!(code, Some(0), "no differences");

    // Someone edits a table by hand: one column dropped, location moved.
    let mut input = cplogs::aws::glue::table_input(Table::Stage, "logs", false).unwrap();
    let mut sd = input.storage_descriptor().unwrap().clone();
    sd.columns
        .as_mut()
        .unwrap()
        .retain(|c| c.name() != "stagelastretryattempttime");
    sd.location = Some("s3://elsewhere/stage/".into());
    input = TableInput::builder()
        .name(input.name())
        .set_partition_keys(Some(input.partition_keys().to_vec()))
        .set_parameters(input.parameters().cloned())
        .storage_descriptor(sd)
        .build()
        .unwrap();
    glue.update_table()
        .database_name(&db)
        .table_input(input)
        .send()
        .await
        .unwrap();

    let (code, json, _) = tables(&db, &["diff"]);
    assert_eq!(code, Some(1));
    let stage = &json[1];
    assert_eq!(stage["table"], "stage_execution_state_change");
    let whats: Vec<&str> = stage["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["what"].as_str().unwrap())
        .collect();
    assert_eq!(whats, ["column stagelastretryattempttime", "location"]);

    let (code, json, err) = tables(&db, &["create"]);
    assert_eq!(code, Some(1), "a differing table is reported, not changed");
    assert!(err.contains("--update"), "{err}");
    assert_eq!(json["tables"][1]["outcome"], "differs");
    let loc = glue
        .get_table()
        .database_name(&db)
        .name("stage_execution_state_change")
        .send()
        .await
        .unwrap();
    assert_eq!(
        loc.table()
            .unwrap()
            .storage_descriptor()
            .unwrap()
            .location(),
        Some("s3://elsewhere/stage/")
    );

    let (code, json, _) = tables(&db, &["create", "--update"]);
    assert_eq!(code, Some(0));
    assert_eq!(json["tables"][1]["outcome"], "updated");
    assert_eq!(tables(&db, &["diff"]).0, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projection_show_and_drop() {
    let db = database();
    let glue = glue().await;
    assert_eq!(tables(&db, &["create", "--projection"]).0, Some(0));
    let t = glue
        .get_table()
        .database_name(&db)
        .name("action_execution_state_change")
        .send()
        .await
        .unwrap();
    let params = t.table().unwrap().parameters().unwrap();
    assert_eq!(
        params.get("projection.enabled").map(String::as_str),
        Some("true")
    );
    let (code, json, err) = tables(&db, &["diff"]);
    assert_eq!(
        code,
        Some(0),
        "compared with the variant it declares: {err}"
    );
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .all(|t| t["projection"] == true)
    );
    assert_eq!(tables(&db, &["diff", "--projection"]).0, Some(0));
    let (code, json, _) = tables(&db, &["diff", "--no-projection"]);
    assert_eq!(code, Some(1), "projection switched is drift");
    for t in json.as_array().unwrap() {
        assert_eq!(t["differences"][0]["what"], "parameter projection.enabled");
        assert_eq!(t["differences"][0]["actual"], "true");
    }
    let (code, _, err) = tables(&db, &["diff", "--projection", "--no-projection"]);
    assert_eq!(code, Some(2), "the flags exclude each other: {err}");

    let (code, json, _) = tables(&db, &["show"]);
    assert_eq!(code, Some(0));
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .all(|t| t["exists"] == true && t["projection"] == true)
    );

    let (code, _, err) = tables(&db, &["drop"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--yes"));
    let (code, json, _) = tables(&db, &["drop", "--yes"]);
    assert_eq!(code, Some(0));
    assert_eq!(json["dropped"].as_array().unwrap().len(), 3);
    let (_, json, _) = tables(&db, &["show"]);
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .all(|t| t["exists"] == false)
    );
}

async fn get_table(glue: &aws_sdk_glue::Client, db: &str, name: &str) -> GlueTable {
    let out = glue
        .get_table()
        .database_name(db)
        .name(name)
        .send()
        .await
        .unwrap();
    out.table().unwrap().clone()
}

/// Writes `table` back through UpdateTable after `edit` changed its input.
async fn edit_table(
    glue: &aws_sdk_glue::Client,
    db: &str,
    table: &GlueTable,
    edit: impl FnOnce(&mut TableInput),
) {
    let mut input = TableInput::builder()
        .name(table.name())
        .set_description(table.description().map(str::to_owned))
        .set_table_type(table.table_type().map(str::to_owned))
        .set_parameters(table.parameters().cloned())
        .set_partition_keys(Some(table.partition_keys().to_vec()))
        .set_storage_descriptor(table.storage_descriptor().cloned())
        .build()
        .unwrap();
    edit(&mut input);
    glue.update_table()
        .database_name(db)
        .table_input(input)
        .send()
        .await
        .unwrap();
}

fn param<'a>(table: &'a GlueTable, key: &str) -> Option<&'a str> {
    table
        .parameters()
        .and_then(|p| p.get(key))
        .map(String::as_str)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_keeps_the_variant_and_others_parameters() {
    let db = database();
    let glue = glue().await;
    let stage = "stage_execution_state_change";
    assert_eq!(tables(&db, &["create", "--projection"]).0, Some(0));

    // Someone else sets a parameter and drops a column.
    let found = get_table(&glue, &db, stage).await;
    edit_table(&glue, &db, &found, |input| {
        input
            .parameters
            .get_or_insert_default()
            .insert("has_encrypted_data".into(), "true".into());
        let sd = input.storage_descriptor.as_mut().unwrap();
        sd.columns
            .as_mut()
            .unwrap()
            .retain(|c| c.name() != "stagelastretryattempttime");
    })
    .await;

    let (code, json, _) = tables(&db, &["diff"]);
    assert_eq!(code, Some(1), "a dropped column is still drift");
    let whats: Vec<&str> = json[1]["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["what"].as_str().unwrap())
        .collect();
    assert_eq!(whats, ["column stagelastretryattempttime"], "{json}");

    // No flag: the table's own variant (projection), their parameter kept.
    let (code, json, err) = tables(&db, &["create", "--update"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(json["tables"][1]["outcome"], "updated");
    assert_eq!(json["tables"][1]["projection"], true);
    assert_eq!(json["tables"][0]["outcome"], "unchanged");
    let t = get_table(&glue, &db, stage).await;
    assert_eq!(param(&t, "projection.enabled"), Some("true"));
    assert_eq!(param(&t, "has_encrypted_data"), Some("true"));
    assert_eq!(tables(&db, &["diff"]).0, Some(0));

    // Switching off on request: projection.enabled "false", the rest stays (inert).
    let (code, json, _) = tables(&db, &["create", "--update", "--no-projection"]);
    assert_eq!(code, Some(0));
    assert!(
        json["tables"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["outcome"] == "updated" && t["projection"] == false)
    );
    let t = get_table(&glue, &db, stage).await;
    assert_eq!(param(&t, "projection.enabled"), Some("false"));
    assert_eq!(param(&t, "projection.dt.type"), Some("date"));
    assert_eq!(param(&t, "has_encrypted_data"), Some("true"));
    assert_eq!(tables(&db, &["diff"]).0, Some(0));
    assert_eq!(tables(&db, &["diff", "--no-projection"]).0, Some(0));
    assert_eq!(tables(&db, &["diff", "--projection"]).0, Some(1));
    assert_eq!(tables(&db, &["create"]).0, Some(0), "equal to its variant");

    // And back on.
    let (code, _, _) = tables(&db, &["create", "--update", "--projection"]);
    assert_eq!(code, Some(0));
    let t = get_table(&glue, &db, stage).await;
    assert_eq!(param(&t, "projection.enabled"), Some("true"));
    assert_eq!(param(&t, "has_encrypted_data"), Some("true"));
    assert_eq!(tables(&db, &["diff"]).0, Some(0));
}
