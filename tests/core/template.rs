//! `infra/template.yaml` against the code: its Glue tables are exactly the schema's
//! rendering, and each table's rule, stream and transform point at that table.
//! `CPLOGS_UPDATE_TEMPLATE=1 cargo test --test core template` rewrites the generated block.
//!
//! The template's tables are also deployed here in miniature (intrinsic functions
//! resolved as CloudFormation would, for both values of `UsePartitionProjection`) and
//! compared with `cplogs::aws::tables::diff`, the comparison `cplogs tables diff` and
//! `create` use, so a freshly deployed stack shows no drift.

use std::collections::HashMap;
use std::path::PathBuf;

use aws_sdk_glue::types::{Column, SerDeInfo, StorageDescriptor, Table as GlueTable, TableInput};
use cplogs::Table;
use cplogs::aws::glue::table_input;
use cplogs::aws::tables::{Difference, declared_projection, diff, updated_parameters};
use cplogs::aws::template::{
    BEGIN_MARKER, END_MARKER, PROJECTION_CONDITION, glue_tables_yaml, logical_id,
};
use serde_yaml::Value;

fn template() -> (PathBuf, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("infra/template.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

#[test]
fn glue_tables_are_the_schema() {
    let (path, text) = template();
    let begin = text
        .find(BEGIN_MARKER)
        .expect("begin marker in the template");
    let end = text.find(END_MARKER).expect("end marker in the template") + END_MARKER.len() + 1;
    let want = glue_tables_yaml();
    if text[begin..end] == want {
        return;
    }
    if std::env::var_os("CPLOGS_UPDATE_TEMPLATE").is_some() {
        let updated = format!("{}{want}{}", &text[..begin], &text[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    panic!(
        "the Glue tables in infra/template.yaml differ from src/schema.rs; \
         run `CPLOGS_UPDATE_TEMPLATE=1 cargo test --test core template` and review the diff"
    );
}

#[test]
fn every_table_has_its_rule_stream_and_transform() {
    let (_, text) = template();
    for t in Table::ALL {
        let name = t.name();
        assert!(
            text.contains(&format!("detail-type: [\"{}\"]", t.detail_type())),
            "{name}"
        );
        assert!(text.contains(&format!("CPLOGS_TABLE: {name}")), "{name}");
        assert!(
            text.contains(&format!(
                "Prefix: \"{name}/dt=!{{partitionKeyFromLambda:dt}}/\""
            )),
            "{name}: dynamic partitioning from the transform's dt key"
        );
        assert!(
            text.contains(&format!(
                "ErrorOutputPrefix: \"errors/{name}/!{{firehose:error-output-type}}/!{{timestamp:yyyy/MM/dd}}/\""
            )),
            "{name}: error prefix"
        );
    }
    for line in text.lines().filter(|l| l.contains("!{timestamp:")) {
        assert!(
            !line.contains("YYYY"),
            "Firehose timestamps use yyyy, not YYYY: {line}"
        );
    }
    assert_eq!(text.matches("BuildMethod: rust-cargolambda").count(), 4);
    assert_eq!(text.matches("Binary: cplogs-transform").count(), 3);
    assert_eq!(text.matches("Binary: cplogs-partition").count(), 1);
}

/// What the template's `${LogBucket}` names in the account and region these tests
/// deploy to (`<BucketNamePrefix>-<account>-<region>`).
const BUCKET: &str = "cplogs-logs-123456789012-eu-west-1";
const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-west-1";
const DATABASE: &str = "codepipeline_event_logs";

fn parsed_template() -> Value {
    serde_yaml::from_str(&template().1).expect("infra/template.yaml is YAML")
}

/// The value of a `!Ref` (or of `${Name}` in a `!Sub`).
fn reference(name: &str) -> &'static str {
    match name {
        "LogBucket" => BUCKET,
        "GlueDatabase" => DATABASE,
        "AWS::AccountId" => ACCOUNT,
        "AWS::Region" => REGION,
        _ => panic!("the test does not resolve a reference to {name}"),
    }
}

/// `Fn::Sub` on a string: `${Name}` is a reference, `${!x}` the literal `${x}`.
fn sub(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let end = i + rest[i..].find('}').expect("a closing brace in !Sub");
        let name = &rest[i + 2..end];
        match name.strip_prefix('!') {
            Some(literal) => out.push_str(&format!("${{{literal}}}")),
            None => out.push_str(reference(name)),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The intrinsic functions of `v` resolved as CloudFormation does when the template's
/// projection condition is `projection`. Any other function fails the test, so a new
/// one in the tables cannot be skipped silently.
fn resolve(v: &Value, projection: bool) -> Value {
    match v {
        Value::Tagged(t) if t.tag == "Sub" => {
            Value::String(sub(t.value.as_str().expect("!Sub of a string")))
        }
        Value::Tagged(t) if t.tag == "Ref" => {
            Value::String(reference(t.value.as_str().expect("!Ref of a name")).to_owned())
        }
        Value::Tagged(t) if t.tag == "If" => {
            let args = t.value.as_sequence().expect("!If [condition, then, else]");
            assert_eq!(args.len(), 3, "!If [condition, then, else]");
            assert_eq!(args[0].as_str(), Some(PROJECTION_CONDITION));
            resolve(&args[if projection { 1 } else { 2 }], projection)
        }
        Value::Tagged(t) => panic!("the test does not resolve !{}", t.tag),
        Value::Sequence(items) => items.iter().map(|v| resolve(v, projection)).collect(),
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .map(|(k, v)| (k.clone(), resolve(v, projection)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key)
        .unwrap_or_else(|| panic!("no {key} in the table resource"))
}

/// A scalar as CloudFormation passes it to a string property.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn string_map(v: &Value) -> HashMap<String, String> {
    v.as_mapping()
        .expect("a mapping of parameters")
        .iter()
        .map(|(k, v)| (text(k), text(v)))
        .collect()
}

fn glue_columns(v: &Value) -> Vec<Column> {
    v.as_sequence()
        .expect("a list of columns")
        .iter()
        .map(|c| {
            Column::builder()
                .name(text(field(c, "Name")))
                .r#type(text(field(c, "Type")))
                .set_comment(c.get("Comment").map(text))
                .build()
                .unwrap()
        })
        .collect()
}

/// The `TableInput` the template's resource for `table` sends to Glue when its
/// projection condition is `projection`.
fn template_input(template: &Value, table: Table, projection: bool) -> TableInput {
    let resource = field(field(template, "Resources"), &logical_id(table));
    assert_eq!(text(field(resource, "Type")), "AWS::Glue::Table");
    let props = resolve(field(resource, "Properties"), projection);
    assert_eq!(text(field(&props, "DatabaseName")), DATABASE);
    let input = field(&props, "TableInput");
    let sd = field(input, "StorageDescriptor");
    let serde = field(sd, "SerdeInfo");
    TableInput::builder()
        .name(text(field(input, "Name")))
        .description(text(field(input, "Description")))
        .table_type(text(field(input, "TableType")))
        .set_parameters(Some(string_map(field(input, "Parameters"))))
        .set_partition_keys(Some(glue_columns(field(input, "PartitionKeys"))))
        .storage_descriptor(
            StorageDescriptor::builder()
                .set_columns(Some(glue_columns(field(sd, "Columns"))))
                .location(text(field(sd, "Location")))
                .input_format(text(field(sd, "InputFormat")))
                .output_format(text(field(sd, "OutputFormat")))
                .compressed(field(sd, "Compressed").as_bool().expect("Compressed: bool"))
                .serde_info(
                    SerDeInfo::builder()
                        .serialization_library(text(field(serde, "SerializationLibrary")))
                        .set_parameters(Some(string_map(field(serde, "Parameters"))))
                        .build(),
                )
                .build(),
        )
        .build()
        .unwrap()
}

/// The table Glue holds after `input` was sent.
fn stored(input: &TableInput) -> GlueTable {
    GlueTable::builder()
        .name(input.name())
        .database_name(DATABASE)
        .set_description(input.description().map(str::to_owned))
        .set_table_type(input.table_type().map(str::to_owned))
        .set_parameters(input.parameters().cloned())
        .set_partition_keys(Some(input.partition_keys().to_vec()))
        .set_storage_descriptor(input.storage_descriptor().cloned())
        .build()
        .unwrap()
}

fn whats(diffs: &[Difference]) -> Vec<&str> {
    diffs.iter().map(|d| d.what.as_str()).collect()
}

#[test]
fn template_tables_equal_the_variant_they_declare() {
    let template = parsed_template();
    let glue_tables = field(&template, "Resources")
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::Glue::Table"))
        .count();
    assert_eq!(glue_tables, Table::ALL.len());
    for projection in [false, true] {
        for table in Table::ALL {
            let deployed = stored(&template_input(&template, table, projection));
            let declared = declared_projection(&deployed);
            assert_eq!(declared, projection, "{table}: projection.enabled");
            let schema = table_input(table, BUCKET, declared).unwrap();
            assert_eq!(
                diff(&schema, &deployed),
                [],
                "{table} with UsePartitionProjection={projection}"
            );
            // Asked explicitly for the other variant, the table is drift.
            let other = table_input(table, BUCKET, !declared).unwrap();
            let differences = diff(&other, &deployed);
            assert!(
                whats(&differences).contains(&"parameter projection.enabled"),
                "{table} with UsePartitionProjection={projection}: {differences:?}"
            );
        }
    }
}

#[test]
fn a_real_change_to_a_template_table_is_drift() {
    let template = parsed_template();
    for projection in [false, true] {
        for table in Table::ALL {
            let schema = table_input(table, BUCKET, projection).unwrap();
            let input = template_input(&template, table, projection);

            let mut dropped = input.clone();
            let sd = dropped.storage_descriptor.as_mut().unwrap();
            let gone = sd.columns.as_mut().unwrap().pop().unwrap();
            assert_eq!(
                whats(&diff(&schema, &stored(&dropped))),
                [format!("column {}", gone.name())],
                "{table}, projection {projection}"
            );

            let mut moved = input.clone();
            moved.storage_descriptor.as_mut().unwrap().location = Some("s3://elsewhere/".into());
            assert_eq!(whats(&diff(&schema, &stored(&moved))), ["location"]);

            // The partition template matters only while projection is on.
            let mut retargeted = input.clone();
            retargeted.parameters.as_mut().unwrap().insert(
                "storage.location.template".into(),
                "s3://elsewhere/dt=${dt}/".into(),
            );
            let want: &[&str] = if projection {
                &["parameter storage.location.template"]
            } else {
                &[]
            };
            assert_eq!(whats(&diff(&schema, &stored(&retargeted))), want);
        }
    }
}

#[test]
fn projection_enabled_is_read_by_meaning() {
    let template = parsed_template();
    let table = Table::Action;
    let with = |input: &TableInput, key: &str, value: Option<&str>| {
        let mut input = input.clone();
        let params = input.parameters.as_mut().unwrap();
        match value {
            Some(v) => params.insert(key.into(), v.into()),
            None => params.remove(key),
        };
        stored(&input)
    };
    let off = template_input(&template, table, false);
    let plain = table_input(table, BUCKET, false).unwrap();
    // Absent is "false".
    let absent = with(&off, "projection.enabled", None);
    assert!(!declared_projection(&absent));
    assert_eq!(diff(&plain, &absent), []);
    // Athena reads the flag case-insensitively.
    let on = template_input(&template, table, true);
    let upper = with(&on, "projection.enabled", Some("TRUE"));
    assert!(declared_projection(&upper));
    assert_eq!(diff(&table_input(table, BUCKET, true).unwrap(), &upper), []);
    assert_eq!(
        whats(&diff(&plain, &upper))[0],
        "parameter projection.enabled"
    );
}

#[test]
fn an_update_keeps_the_template_parameters() {
    let template = parsed_template();
    for projection in [false, true] {
        for table in Table::ALL {
            let mut input = template_input(&template, table, projection);
            // A parameter someone else set.
            input
                .parameters
                .as_mut()
                .unwrap()
                .insert("has_encrypted_data".into(), "true".into());
            let deployed = stored(&input);
            let theirs = deployed.parameters().unwrap();

            // No flag: the table's own variant, nothing of theirs changes.
            let own = declared_projection(&deployed);
            let schema = table_input(table, BUCKET, own).unwrap();
            assert_eq!(&updated_parameters(&schema, &deployed, own), theirs);

            for variant in [false, true] {
                let schema = table_input(table, BUCKET, variant).unwrap();
                let params = updated_parameters(&schema, &deployed, variant);
                assert_eq!(params["has_encrypted_data"], "true");
                assert_eq!(params["projection.enabled"], variant.to_string());
                let mut updated = input.clone();
                updated.parameters = Some(params);
                assert_eq!(diff(&schema, &stored(&updated)), [], "{table} {variant}");
            }
        }
    }
}
