//! The original project's records, brought into the cplogs layout: its Firehose wrote
//! `<table>/YYYY/MM/DD/HH/` folders by arrival time, and its record is the event's
//! `detail` with `executionId`, `pipelineArn`, `eventVersion` and `timestamp` added (a
//! numeric `version`, no event id). Each record becomes the EventBridge event it came
//! from, as far as the record tells, and goes through the one transform, so the
//! migrated record is exactly what cplogs writes for a live event; its `eventId` is
//! derived from the record's bytes, so a record delivered twice stays one.

use serde_json::{Map, Value, json};

use super::replay::{Replayed, rewrite_object};
use crate::core::schema::Table;

/// The table a record belongs to: the folder's when known, else what it carries (an
/// `action` only in action records, a `stage` in stage and action records).
fn table_of(record: &Map<String, Value>, hint: Option<Table>) -> Table {
    hint.unwrap_or(if record.contains_key("action") {
        Table::Action
    } else if record.contains_key("stage") {
        Table::Stage
    } else {
        Table::Pipeline
    })
}

/// The event a legacy record came from. `line` is the record's JSON.
pub fn legacy_event(line: &[u8], hint: Option<Table>) -> Result<Vec<u8>, String> {
    let Value::Object(mut record) =
        serde_json::from_slice(line).map_err(|e| format!("not a JSON record: {e}"))?
    else {
        return Err("not a JSON object".into());
    };
    let table = table_of(&record, hint);
    let time = record
        .remove("timestamp")
        .ok_or("no timestamp: not a record of the original project")?;
    let arn = record.remove("pipelineArn");
    let version = record.remove("eventVersion").unwrap_or(json!("0"));
    if let Some(id) = record.remove("executionId") {
        record.insert("execution-id".into(), id);
    }
    // arn:aws:codepipeline:REGION:ACCOUNT:NAME
    let parts: Vec<&str> = arn
        .as_ref()
        .and_then(Value::as_str)
        .unwrap_or("")
        .split(':')
        .collect();
    let (region, account) = match parts.as_slice() {
        ["arn", _, "codepipeline", region, account, ..] => (json!(region), json!(account)),
        _ => (Value::Null, Value::Null),
    };
    let id = format!(
        "legacy-{}",
        crate::hash::hex128(&String::from_utf8_lossy(line))
    );
    let event = json!({
        "version": version,
        "id": id,
        "detail-type": table.detail_type(),
        "source": "aws.codepipeline",
        "account": account,
        "time": time,
        "region": region,
        "resources": arn.map(|a| vec![a]).unwrap_or_default(),
        "detail": record,
    });
    serde_json::to_vec(&event).map_err(|e| e.to_string())
}

/// Migrates one object of the original project's bucket (see
/// [`super::replay::rewrite_object`]); `hint` is the table its folder names.
pub fn migrate_object(object: &str, bytes: &[u8], hint: Option<Table>) -> Result<Replayed, String> {
    rewrite_object(object, bytes, "legacy", |line| {
        legacy_event(line, hint)
            .map(|e| (e, None))
            .map_err(|reason| (None, reason))
    })
}

/// The table a key's folders name, if one does.
pub fn table_in_key(key: &str) -> Option<Table> {
    key.split('/').find_map(Table::from_name)
}

/// Whether `key` is in the original project's layout: under a table's folder,
/// `YYYY/MM/DD/HH/` by arrival time rather than `dt=`.
pub fn is_legacy_key(key: &str) -> bool {
    let parts: Vec<&str> = key.split('/').collect();
    parts.windows(5).any(|w| {
        Table::from_name(w[0]).is_some()
            && w[1].len() == 4
            && [w[2], w[3], w[4]].iter().all(|p| p.len() == 2)
            && w[1..5]
                .iter()
                .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as the original project's transform wrote it.
    const ACTION: &str = r#"{"pipeline":"api","execution-id":"x","executionId":"8f0b-1","stage":"Build","action":"Build","state":"FAILED","region":"eu-west-1","type":{"owner":"AWS","provider":"CodeBuild","category":"Build","version":"1"},"version":3.0,"pipelineArn":"arn:aws:codepipeline:eu-west-1:123456789012:api","eventVersion":"0","timestamp":"2026-03-04T23:59:58Z"}"#;

    #[test]
    fn a_legacy_record_becomes_the_record_cplogs_writes() {
        let r = migrate_object(
            "legacy/action_execution_state_change/2026/03/05/00/f.gz",
            ACTION.as_bytes(),
            None,
        )
        .unwrap();
        assert!(r.failing.is_empty(), "{:?}", r.failing);
        assert_eq!(r.files.len(), 1);
        let f = &r.files[0];
        assert_eq!(f.table, Table::Action);
        // By event time, not by the arrival folder (00h of the 5th).
        assert!(
            f.key
                .starts_with("action_execution_state_change/dt=2026-03-04/legacy-"),
            "{}",
            f.key
        );
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&f.body[..]), &mut text)
            .unwrap();
        let rec: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(rec["version"], "3");
        assert_eq!(rec["executionId"], "8f0b-1");
        assert_eq!(rec["account"], "123456789012");
        assert_eq!(rec["eventRegion"], "eu-west-1");
        assert_eq!(rec["type"]["provider"], "CodeBuild");
        assert!(rec["eventId"].as_str().unwrap().starts_with("legacy-"));
        // The same bytes give the same id (a duplicate delivery stays one event).
        let again = legacy_event(ACTION.as_bytes(), None).unwrap();
        assert_eq!(again, legacy_event(ACTION.as_bytes(), None).unwrap());
        let bad = migrate_object("k", b"{\"pipeline\":\"api\"}\nnot json\n", None).unwrap();
        assert_eq!(bad.failing.len(), 2);
        assert!(bad.failing[0].reason.contains("no timestamp"));
    }

    #[test]
    fn legacy_keys_are_told_from_the_cplogs_layout() {
        assert!(is_legacy_key(
            "pipeline_execution_state_change/2026/03/05/00/x.gz"
        ));
        assert!(is_legacy_key(
            "old/stage_execution_state_change/2026/03/05/17/x"
        ));
        assert!(!is_legacy_key(
            "pipeline_execution_state_change/dt=2026-03-05/x.gz"
        ));
        assert_eq!(
            table_in_key("old/stage_execution_state_change/2026/03"),
            Some(Table::Stage)
        );
        assert_eq!(table_in_key("2026/03/05/00/x"), None);
    }
}
