//! The log record against DESIGN.md: original fields equal what the original project
//! wrote (the whole `detail`, `execution-id` renamed, plus `pipelineArn`,
//! `eventVersion` and `timestamp`), added fields, and agreement with the schema.

use std::fmt;

use cplogs::core::schema::{Column, ColumnType};
use cplogs::{Table, transform_into};
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Value, json};

use crate::common::events::fixtures;

fn transform(event: &Value) -> (Table, String, Value) {
    let mut line = Vec::new();
    let routed = transform_into(event.to_string().as_bytes(), None, &mut line).unwrap();
    let text = String::from_utf8(line).unwrap();
    assert!(text.ends_with('\n') && text.matches('\n').count() == 1);
    let record = serde_json::from_str(&text).unwrap();
    (routed.table, routed.dt.to_string(), record)
}

/// What the original project wrote for an event.
fn original_record(event: &Value) -> Value {
    let mut detail = event["detail"].clone();
    let map = detail.as_object_mut().unwrap();
    if let Some(id) = map.remove("execution-id") {
        map.insert("executionId".into(), id);
    }
    map.insert("pipelineArn".into(), event["resources"][0].clone());
    map.insert("eventVersion".into(), event["version"].clone());
    map.insert("timestamp".into(), event["time"].clone());
    detail
}

const ORIGINAL_FIELDS: [&str; 11] = [
    "timestamp",
    "eventVersion",
    "pipelineArn",
    "pipeline",
    "version",
    "state",
    "executionId",
    "stage",
    "action",
    "region",
    "type",
];

#[test]
fn original_fields_equal_the_original_projects_values() {
    for (name, event) in fixtures() {
        let (table, _, record) = transform(&event);
        let original = original_record(&event);
        let columns: Vec<&str> = table.columns().iter().map(|c| c.name).collect();
        for field in ORIGINAL_FIELDS.iter().filter(|f| columns.contains(f)) {
            if *field == "version" {
                let n = original["version"].as_f64().unwrap();
                assert_eq!(record["version"], json!(format!("{n}")), "{name}");
            } else {
                assert_eq!(record[*field], original[*field], "{name}: {field}");
            }
        }
    }
}

#[test]
fn added_fields_come_from_the_envelope_and_detail() {
    for (name, event) in fixtures() {
        let (table, dt, record) = transform(&event);
        let d = &event["detail"];
        assert_eq!(
            Some(table),
            Table::from_detail_type(event["detail-type"].as_str().unwrap())
        );
        assert_eq!(dt, event["time"].as_str().unwrap()[..10], "{name}");
        assert_eq!(record["eventId"], event["id"], "{name}");
        assert_eq!(record["account"], event["account"], "{name}");
        assert_eq!(record["eventRegion"], event["region"], "{name}");
        assert_eq!(record.get("startTime"), d.get("start-time"), "{name}");
        assert_eq!(
            record["executionAttempt"].as_i64(),
            d["pipeline-execution-attempt"].as_f64().map(|f| f as i64),
            "{name}"
        );
        if table == Table::Action {
            assert_eq!(
                record["actionExecutionId"], d["action-execution-id"],
                "{name}"
            );
            if let Some(result) = d.get("execution-result") {
                assert_eq!(
                    record["executionResult"]["externalExecutionUrl"],
                    result["external-execution-url"]
                );
                assert_eq!(
                    record["executionResult"].get("errorCode"),
                    result.get("error-code")
                );
            }
        }
    }
}

#[test]
fn specific_samples() {
    let all = fixtures();
    let get = |n: &str| transform(&all.iter().find(|(f, _)| f == n).unwrap().1).2;
    let started = get("pipeline_started.json");
    assert_eq!(
        started["executionTrigger"],
        json!({"triggerType": "StartPipelineExecution",
               "triggerDetail": "arn:aws:sts::123456789012:assumed-role/Admin/my-user"})
    );
    assert_eq!(started["version"], "1");
    let stopping = get("pipeline_stopping.json");
    assert_eq!(
        stopping["stopExecutionComments"],
        "Stopping the pipeline for an update"
    );
    let resumed = get("stage_resumed.json");
    assert_eq!(
        resumed["stageLastRetryAttemptTime"],
        "2023-10-26T14:14:56.305Z"
    );
    assert_eq!(resumed["executionAttempt"], 2);
    assert_eq!(resumed["version"], "32");
    assert!(resumed.get("startTime").is_none(), "absent, not invented");
    let abandoned = get("action_abandoned.json");
    assert_eq!(abandoned["state"], "ABANDONED");
    assert!(abandoned.get("executionResult").is_none());
}

/// The top-level keys of a JSON object, in the order they appear.
struct Keys(Vec<String>);

impl<'de> serde::Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Keys;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.push(k);
                }
                Ok(Keys(keys))
            }
        }
        d.deserialize_map(V)
    }
}

fn full_event(table: Table) -> Value {
    json!({
        "version": "0",
        "id": "e-1",
        "detail-type": table.detail_type(),
        "source": "aws.codepipeline",
        "account": "123456789012",
        "time": "2026-11-23T23:59:59Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:codepipeline:eu-west-1:123456789012:p"],
        "detail": {
            "pipeline": "p",
            "execution-id": "x",
            "start-time": "2026-11-23T23:00:00.000Z",
            "state": "SUCCEEDED",
            "version": "7",
            "pipeline-execution-attempt": 3,
            "stage": "Build",
            "stage-last-retry-attempt-time": "2026-11-23T23:10:00.000Z",
            "action": "Compile",
            "action-execution-id": "a-1",
            "region": "eu-central-1",
            "type": {"owner": "AWS", "category": "Build", "provider": "CodeBuild", "version": 1},
            "execution-result": {
                "external-execution-url": "https://example.com/b",
                "external-execution-summary": "ok",
                "external-execution-id": "b-1",
                "error-code": "JobFailed"
            },
            "execution-trigger": {
                "trigger-type": "WebhookV2",
                "trigger-detail": "arn:x",
                "provider-type": "CodeStarSourceConnection",
                "full-repository-name": "acme/p",
                "branch-name": "main",
                "tag-name": "v1",
                "commit-id": "abc",
                "commit-message": "Fix \"quotes\" and é"
            },
            "stop-execution-comments": "because",
            "input-artifacts": [{"name": "SourceArtifact"}],
            "some-future-field": {"nested": [1, 2, 3]}
        },
        "unknown-envelope-field": true
    })
}

fn check_type(table: Table, column: &Column, value: &Value) {
    match column.ty {
        ColumnType::String => assert!(value.is_string(), "{table}.{}: {value}", column.name),
        ColumnType::Int => assert!(value.is_i64(), "{table}.{}: {value}", column.name),
        ColumnType::Struct(fields) => {
            let obj = value.as_object().unwrap();
            for (k, v) in obj {
                assert!(fields.contains(&k.as_str()), "{table}.{}.{k}", column.name);
                assert!(v.is_string(), "{table}.{}.{k}: {v}", column.name);
            }
        }
    }
}

#[test]
fn a_full_event_fills_exactly_the_schema_columns_in_order() {
    for table in Table::ALL {
        let mut line = Vec::new();
        transform_into(
            full_event(table).to_string().as_bytes(),
            Some(table),
            &mut line,
        )
        .unwrap();
        let keys: Keys = serde_json::from_slice(&line).unwrap();
        let columns: Vec<&str> = table.columns().iter().map(|c| c.name).collect();
        assert_eq!(keys.0, columns, "{table}");
        let record: Value = serde_json::from_slice(&line).unwrap();
        for column in table.columns() {
            check_type(table, column, &record[column.name]);
            if let ColumnType::Struct(fields) = column.ty {
                let obj = record[column.name].as_object().unwrap();
                assert_eq!(
                    obj.len(),
                    fields.len(),
                    "{table}.{} is complete",
                    column.name
                );
            }
        }
    }
}

#[test]
fn sample_records_only_use_schema_columns_with_their_types() {
    for (name, event) in fixtures() {
        let (table, _, record) = transform(&event);
        for (key, value) in record.as_object().unwrap() {
            let column = table
                .columns()
                .iter()
                .find(|c| c.name == key)
                .unwrap_or_else(|| panic!("{name}: {key} is not a column of {table}"));
            check_type(table, column, value);
        }
    }
}

#[test]
fn leniency_numbers_unknown_states_and_fields() {
    for (version, attempt) in [
        (json!(6.0), json!(1.0)),
        (json!(6), json!(1)),
        (json!("6"), json!("1")),
    ] {
        let mut e = full_event(Table::Stage);
        e["detail"]["version"] = version;
        e["detail"]["pipeline-execution-attempt"] = attempt;
        e["detail"]["state"] = json!("SOME_FUTURE_STATE");
        let (_, _, r) = transform(&e);
        assert_eq!(r["version"], "6");
        assert_eq!(r["executionAttempt"], 1);
        assert_eq!(r["state"], "SOME_FUTURE_STATE");
        // Fields of other tables are not carried into a stage record.
        assert!(r.get("action").is_none() && r.get("executionTrigger").is_none());
    }
    let mut e = full_event(Table::Pipeline);
    e["detail"]["execution-trigger"] = json!({"trigger-type": "CreatePipeline"});
    e["detail"].as_object_mut().unwrap().remove("version");
    let (_, _, r) = transform(&e);
    assert_eq!(
        r["executionTrigger"],
        json!({"triggerType": "CreatePipeline"})
    );
    assert!(r.get("version").is_none());
}

#[test]
fn escaped_strings_survive_the_round_trip() {
    let mut e = full_event(Table::Pipeline);
    e["detail"]["pipeline"] = json!("we\"ird\\name\n\u{1F680}");
    let (_, _, r) = transform(&e);
    assert_eq!(r["pipeline"], "we\"ird\\name\n\u{1F680}");
    assert_eq!(
        r["executionTrigger"]["commitMessage"],
        "Fix \"quotes\" and é"
    );
}
