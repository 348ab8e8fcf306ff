//! CodePipeline events as EventBridge sends them: the AWS sample events under
//! `tests/fixtures/events`, and builders for made-up ones.

use std::path::PathBuf;

use serde_json::{Value, json};

/// The directory of the AWS sample events.
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events")
}

/// The sample events' paths, sorted.
pub fn fixture_paths() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    v.sort();
    v
}

/// One sample event by file name.
pub fn fixture(name: &str) -> Value {
    let path = fixture_dir().join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every sample event with its file name, sorted by name.
pub fn fixtures() -> Vec<(String, Value)> {
    let out: Vec<(String, Value)> = fixture_paths()
        .iter()
        .map(|p| {
            let name = p.rsplit('/').next().unwrap().to_owned();
            let text = std::fs::read_to_string(p).unwrap();
            (name, serde_json::from_str(&text).unwrap())
        })
        .collect();
    assert_eq!(out.len(), 11, "all AWS sample events are there");
    out
}

/// An EventBridge event of `kind` (`Pipeline`, `Stage` or `Action`) of `pipeline`,
/// in account 123456789012, region eu-west-1.
pub fn envelope(kind: &str, id: &str, time: &str, pipeline: &str, detail: Value) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": format!("CodePipeline {kind} Execution State Change"),
        "source": "aws.codepipeline",
        "account": "123456789012",
        "time": time,
        "region": "eu-west-1",
        "resources": [format!("arn:aws:codepipeline:eu-west-1:123456789012:{pipeline}")],
        "detail": detail,
    })
}
