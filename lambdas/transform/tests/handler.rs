//! Handler tests: the AWS sample events, hostile records and whole batches, through
//! the Lambda handler with a default context.

use std::path::PathBuf;

use base64_simd::STANDARD;
use cplogs::Table;
use cplogs_transform::{
    InputRecord, RecordData, RecordResult, TransformRequest, TransformResponse, function_handler,
    handle,
};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/events")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn request(datas: &[String]) -> TransformRequest {
    TransformRequest {
        records: datas
            .iter()
            .enumerate()
            .map(|(i, d)| InputRecord {
                record_id: format!("rec-{i}"),
                data: RecordData::from_base64(d),
            })
            .collect(),
    }
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode_to_string(bytes)
}

fn decoded_line(data: &str) -> Value {
    let bytes = STANDARD.decode_to_vec(data).unwrap();
    assert_eq!(
        bytes.last(),
        Some(&b'\n'),
        "a record is one line ending in \\n"
    );
    assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 1);
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn sample_action_events_become_records_with_their_partition() {
    let names = [
        "action_started.json",
        "action_succeeded.json",
        "action_failed.json",
        "action_abandoned.json",
    ];
    let datas: Vec<String> = names.iter().map(|n| b64(&fixture(n))).collect();
    let event = LambdaEvent::new(request(&datas), Context::default());
    let resp = function_handler(Table::Action, event).await.unwrap();
    assert_eq!(resp.records.len(), 4);
    let dts: Vec<&str> = resp
        .records
        .iter()
        .map(|r| r.metadata.as_ref().unwrap().partition_keys.dt.as_str())
        .collect();
    assert_eq!(
        dts,
        ["2020-01-24", "2020-01-24", "2020-01-31", "2020-01-31"]
    );
    for (i, r) in resp.records.iter().enumerate() {
        assert_eq!(r.record_id, format!("rec-{i}"));
        assert_eq!(r.result, RecordResult::Ok);
    }
    let failed = decoded_line(&resp.records[2].data.to_text());
    assert_eq!(failed["state"], "FAILED");
    assert_eq!(failed["version"], "4");
    assert_eq!(failed["executionResult"]["errorCode"], "JobFailed");
    assert_eq!(failed["type"]["provider"], "CodeDeploy");
    assert_eq!(failed["executionAttempt"], 1);
}

#[test]
fn response_has_firehose_shape() {
    let resp = handle(
        Table::Pipeline,
        request(&[b64(&fixture("pipeline_started.json")), "!!".into()]),
    );
    let json: Value = serde_json::to_value(&resp).unwrap();
    assert_eq!(json["records"][0]["result"], "Ok");
    assert_eq!(json["records"][0]["recordId"], "rec-0");
    assert_eq!(
        json["records"][0]["metadata"]["partitionKeys"]["dt"],
        "2020-01-24"
    );
    assert_eq!(json["records"][1]["result"], "ProcessingFailed");
    assert_eq!(json["records"][1]["data"], "!!");
    assert!(json["records"][1].get("metadata").is_none());
}

#[test]
fn request_parses_from_firehose_json() {
    let body = format!(
        r#"{{"invocationId":"inv","deliveryStreamArn":"arn:aws:firehose:us-east-1:1:deliverystream/s","region":"us-east-1","records":[{{"recordId":"49546986683135544286507457936321625675700192471156785154","approximateArrivalTimestamp":1495072949453,"data":"{}"}}]}}"#,
        b64(&fixture("stage_started.json"))
    );
    let req: TransformRequest = serde_json::from_str(&body).unwrap();
    let resp = handle(Table::Stage, req);
    assert_eq!(resp.records[0].result, RecordResult::Ok);
    assert_eq!(
        resp.records[0].record_id,
        "49546986683135544286507457936321625675700192471156785154"
    );
    // A request Firehose could not have sent is a handler error, never a panic.
    assert!(serde_json::from_str::<TransformRequest>(r#"{"records":[{"data":"AA=="}]}"#).is_err());
    assert!(serde_json::from_str::<TransformRequest>(r#"{"records":{}}"#).is_err());
}

#[test]
fn empty_batch_gives_empty_response() {
    let resp = handle(Table::Action, TransformRequest { records: vec![] });
    assert_eq!(resp, TransformResponse { records: vec![] });
}

fn hostile_inputs() -> Vec<(&'static str, String)> {
    let action = String::from_utf8(fixture("action_failed.json")).unwrap();
    let truncated = &action[..action.len() / 2];
    let huge_name = action.replace("\"myPipeline\"", &format!("\"{}\"", "p".repeat(2_000_000)));
    let mut wrong_type: Value = serde_json::from_str(&action).unwrap();
    wrong_type["detail"]["pipeline"] = Value::from(42);
    let mut detail_string: Value = serde_json::from_str(&action).unwrap();
    detail_string["detail"] = Value::from("nope");
    let mut no_exec: Value = serde_json::from_str(&action).unwrap();
    no_exec["detail"]
        .as_object_mut()
        .unwrap()
        .remove("execution-id");
    let mut no_action: Value = serde_json::from_str(&action).unwrap();
    no_action["detail"]["action"] = Value::Null;
    let mut no_time: Value = serde_json::from_str(&action).unwrap();
    no_time.as_object_mut().unwrap().remove("time");
    let mut bad_time: Value = serde_json::from_str(&action).unwrap();
    bad_time["time"] = Value::from("last tuesday");
    let mut bad_version: Value = serde_json::from_str(&action).unwrap();
    bad_version["detail"]["version"] = Value::from(4.5);
    let mut other_source: Value = serde_json::from_str(&action).unwrap();
    other_source["source"] = Value::from("aws.codebuild");
    let mut unknown_type: Value = serde_json::from_str(&action).unwrap();
    unknown_type["detail-type"] = Value::from("CodeBuild Build State Change");
    let pipeline_event = String::from_utf8(fixture("pipeline_failed.json")).unwrap();
    vec![
        ("not base64", b64(b"x").replace('=', "@")),
        ("non-canonical base64", "QR==".to_owned()),
        ("base64 with a newline", "QUJ\nD".to_owned()),
        ("not JSON", b64(b"hello world")),
        ("binary", b64(&[0xff, 0x00, 0xfe, 0x1b, 0x80, 0x81])),
        ("truncated JSON", b64(truncated.as_bytes())),
        ("empty", String::new()),
        ("JSON array", b64(b"[1,2,3]")),
        ("JSON null", b64(b"null")),
        ("wrong type", b64(wrong_type.to_string().as_bytes())),
        (
            "detail not an object",
            b64(detail_string.to_string().as_bytes()),
        ),
        ("missing execution-id", b64(no_exec.to_string().as_bytes())),
        ("null action", b64(no_action.to_string().as_bytes())),
        ("missing time", b64(no_time.to_string().as_bytes())),
        ("bad time", b64(bad_time.to_string().as_bytes())),
        (
            "fractional version",
            b64(bad_version.to_string().as_bytes()),
        ),
        ("other source", b64(other_source.to_string().as_bytes())),
        (
            "unknown detail-type",
            b64(unknown_type.to_string().as_bytes()),
        ),
        ("other table", b64(pipeline_event.as_bytes())),
        (
            "huge string, truncated",
            b64(&huge_name.as_bytes()[..1_500_000]),
        ),
        ("deeply nested", b64("[".repeat(100_000).as_bytes())),
    ]
}

#[test]
fn unreadable_records_fail_alone_with_their_original_data() {
    let action = b64(&fixture("action_succeeded.json"));
    let hostile = hostile_inputs();
    // Interleave good records so order and ids are checked around each failure.
    let mut datas = Vec::new();
    for (_, data) in &hostile {
        datas.push(action.clone());
        datas.push(data.clone());
    }
    let req = request(&datas);
    let resp = handle(Table::Action, req.clone());
    assert_eq!(resp.records.len(), req.records.len());
    for (i, (input, output)) in req.records.iter().zip(&resp.records).enumerate() {
        assert_eq!(output.record_id, input.record_id, "order and ids are kept");
        if i % 2 == 0 {
            assert_eq!(output.result, RecordResult::Ok);
        } else {
            let (what, _) = &hostile[i / 2];
            assert_eq!(output.result, RecordResult::ProcessingFailed, "{what}");
            assert_eq!(
                output.data,
                input.data.to_base64(),
                "{what}: original data comes back"
            );
            assert_eq!(output.data.to_text(), datas[i], "{what}: byte for byte");
            assert!(output.metadata.is_none(), "{what}");
        }
    }
}

#[test]
fn huge_but_valid_strings_are_kept_whole() {
    let action = String::from_utf8(fixture("action_failed.json")).unwrap();
    let long = "s".repeat(500_000);
    let event = action.replace("Deployment <ID> failed", &long);
    let resp = handle(Table::Action, request(&[b64(event.as_bytes())]));
    assert_eq!(resp.records[0].result, RecordResult::Ok);
    let rec = decoded_line(&resp.records[0].data.to_text());
    assert_eq!(
        rec["executionResult"]["externalExecutionSummary"]
            .as_str()
            .unwrap()
            .len(),
        500_000
    );
}

#[test]
fn random_bytes_never_panic_and_always_come_back() {
    let mut rng = fastrand::Rng::with_seed(7);
    let seed = fixture("action_failed.json");
    let mut datas = Vec::new();
    for i in 0..2_000 {
        let mut bytes = seed.clone();
        // Flip a few bytes of a real event, or send pure noise.
        if i % 4 == 0 {
            bytes = (0..rng.usize(0..256)).map(|_| rng.u8(..)).collect();
        } else {
            for _ in 0..rng.usize(1..8) {
                let at = rng.usize(..bytes.len());
                bytes[at] = rng.u8(..);
            }
        }
        datas.push(b64(&bytes));
    }
    let resp = handle(Table::Action, request(&datas));
    assert_eq!(resp.records.len(), datas.len());
    for (i, r) in resp.records.iter().enumerate() {
        assert_eq!(r.record_id, format!("rec-{i}"));
        match r.result {
            RecordResult::Ok => {
                decoded_line(&r.data.to_text());
            }
            RecordResult::ProcessingFailed => assert_eq!(r.data.to_text(), datas[i]),
        }
    }
}

#[test]
fn times_outside_the_tables_range_fail_with_their_original_data() {
    let event: Value = serde_json::from_slice(&fixture("action_failed.json")).unwrap();
    let with_time = |time: &str| {
        let mut e = event.clone();
        e["time"] = time.into();
        b64(e.to_string().as_bytes())
    };
    let datas: Vec<String> = [
        "0000-06-01T12:00:00Z",
        "9999-12-31T23:30:00-01:00",
        "0000-01-01T00:30:00+01:00",
        "1969-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999Z",
    ]
    .iter()
    .map(|t| with_time(t))
    .collect();
    let resp = handle(Table::Action, request(&datas));
    let results: Vec<RecordResult> = resp.records.iter().map(|r| r.result).collect();
    use RecordResult::{Ok, ProcessingFailed as Failed};
    assert_eq!(results, [Failed, Failed, Failed, Failed, Ok, Ok]);
    for (i, r) in resp.records.iter().enumerate().take(4) {
        assert_eq!(r.record_id, format!("rec-{i}"));
        assert_eq!(r.data.to_text(), datas[i], "the original data goes back");
        assert!(r.metadata.is_none());
    }
    let dts: Vec<&str> = resp.records[4..]
        .iter()
        .map(|r| r.metadata.as_ref().unwrap().partition_keys.dt.as_str())
        .collect();
    assert_eq!(dts, ["1970-01-01", "9999-12-31"]);
}
