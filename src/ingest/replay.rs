//! Rewriting stored objects into the cplogs layout through the one transform: the
//! records Firehose could not transform (the JSON envelopes it writes under
//! `errors/<table>/processing-failed/`: `rawData` base64, `errorCode`, `errorMessage`,
//! `attemptsMade`), and (through [`super::legacy`]) the original project's records.
//! Those that succeed become one file per (source object, table, `dt`) with a name
//! derived from the source object, so rewriting the same object twice writes nothing
//! new; the others are listed with their reason.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde::Deserialize;

use super::split::{SplitError, split_events};
use crate::core::layout::{Dt, partition_prefix};
use crate::core::schema::Table;
use crate::core::transform::{Routed, transform_into};

/// The key prefix under which a stream's processing failures land (the template's
/// `ErrorOutputPrefix` with `!{firehose:error-output-type}` = `processing-failed`).
pub fn error_prefix(table: Table) -> String {
    format!("errors/{}/processing-failed/", table.name())
}

/// One Firehose error envelope (only the fields replay reads; both spellings of the
/// error code, as Firehose writes it for transform and for conversion failures).
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "rawData")]
    raw_data: Option<String>,
    #[serde(rename = "errorCode", alias = "ErrorCode")]
    error_code: Option<String>,
}

/// A record that still cannot be logged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StillFailing {
    /// The error object's key or path.
    pub object: String,
    /// Line (record) in it, from 1.
    pub line: usize,
    /// Firehose's error code the first time.
    pub first_error: Option<String>,
    /// Why it fails now.
    pub reason: String,
}

/// A file to write: `<table>/dt=<dt>/<name>` with gzip JSON lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayFile {
    /// The table.
    pub table: Table,
    /// The partition.
    pub dt: Dt,
    /// Its key below the data root: `<table>/dt=<dt>/replay-<hash>.json.gz`.
    pub key: String,
    /// Records in it.
    pub records: u64,
    /// Gzip bytes.
    pub body: Vec<u8>,
}

/// What one error object gives.
#[derive(Debug, Default)]
pub struct Replayed {
    /// Envelopes read.
    pub records: u64,
    /// Files of the records that now succeed.
    pub files: Vec<ReplayFile>,
    /// Records that still fail.
    pub failing: Vec<StillFailing>,
}

/// Rewrites one stored object into the cplogs layout: `object` names it (its key),
/// `bytes` is its content as stored (gzip or plain JSON lines), `to_event` turns each
/// line into an EventBridge event with the error it first met, if any (or says why
/// not). The events go through the one transform; the records are grouped into one
/// file per (table, `dt`) named `<name_prefix>-<hash of object>.json.gz`, so the same
/// object always gives the same files. A damaged object is an error naming it.
pub fn rewrite_object(
    object: &str,
    bytes: &[u8],
    name_prefix: &str,
    mut to_event: impl FnMut(&[u8]) -> Result<(Vec<u8>, Option<String>), (Option<String>, String)>,
) -> Result<Replayed, String> {
    let mut text = Vec::new();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        MultiGzDecoder::new(bytes)
            .read_to_end(&mut text)
            .map_err(|e| format!("{object}: not readable gzip: {e}"))?;
    } else {
        text.extend_from_slice(bytes);
    }
    let mut out = Replayed::default();
    let mut groups = FileGroups::default();
    let mut record = Vec::new();
    let split = split_events(&text[..], |line, piece| -> Result<(), String> {
        out.records += 1;
        let fail = |first: Option<String>, reason: String| StillFailing {
            object: object.to_owned(),
            line,
            first_error: first,
            reason,
        };
        let (event, first) = match piece
            .map_err(|r| (None, format!("not a JSON record: {r}")))
            .and_then(&mut to_event)
        {
            Ok(e) => e,
            Err((first, reason)) => {
                out.failing.push(fail(first, reason));
                return Ok(());
            }
        };
        record.clear();
        match transform_into(&event, None, &mut record) {
            Ok(routed) => groups.add(routed, &record),
            Err(e) => out.failing.push(fail(first, e.to_string())),
        }
        Ok(())
    });
    match split {
        Ok(()) => {}
        Err(SplitError::Read(e)) => return Err(format!("{object}: {e}")),
        Err(SplitError::Consumer(e)) => return Err(e),
    }
    let name = format!("{name_prefix}-{}.json.gz", crate::hash::hex64(object));
    out.files = groups.finish(|_| name.clone())?;
    Ok(out)
}

/// Records grouped into one gzip JSON-lines file per (table, `dt`): what the
/// rewriting commands and backfill write.
#[derive(Debug, Default)]
pub struct FileGroups {
    groups: BTreeMap<(Table, Dt), (Vec<u8>, u64)>,
}

impl FileGroups {
    /// Adds one record (a line, newline included) where the transform routed it.
    pub fn add(&mut self, routed: Routed, record: &[u8]) {
        let group = self.groups.entry((routed.table, routed.dt)).or_default();
        group.0.extend_from_slice(record);
        group.1 += 1;
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The files, compressed; `name` names each from its uncompressed lines.
    pub fn finish(self, name: impl Fn(&[u8]) -> String) -> Result<Vec<ReplayFile>, String> {
        let mut files = Vec::with_capacity(self.groups.len());
        for ((table, dt), (lines, records)) in self.groups {
            let mut gz = GzEncoder::new(Vec::new(), Compression::default());
            gz.write_all(&lines)
                .and_then(|()| gz.flush())
                .map_err(|e| format!("compressing: {e}"))?;
            let body = gz.finish().map_err(|e| format!("compressing: {e}"))?;
            files.push(ReplayFile {
                table,
                dt,
                key: format!("{}{}", partition_prefix(table, dt), name(&lines)),
                records,
                body,
            });
        }
        Ok(files)
    }
}

/// Replays one Firehose error object (see [`rewrite_object`]): each envelope's
/// `rawData`, base64-decoded, is the event.
pub fn replay_object(object: &str, bytes: &[u8]) -> Result<Replayed, String> {
    rewrite_object(object, bytes, "replay", |piece| {
        let envelope: Envelope = serde_json::from_slice(piece)
            .map_err(|e| (None, format!("not a Firehose error record: {e}")))?;
        let first = envelope.error_code.clone();
        let raw = envelope
            .raw_data
            .as_deref()
            .ok_or_else(|| (first.clone(), "no rawData".to_owned()))?;
        let event = base64_simd::STANDARD
            .decode_to_vec(raw.trim())
            .map_err(|_| (first.clone(), "rawData is not base64".to_owned()))?;
        Ok((event, first))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(raw: &str, code: &str) -> String {
        serde_json::json!({
            "attemptsMade": 4, "arrivalTimestamp": 1764590400000u64,
            "errorCode": code, "errorMessage": "boom",
            "attemptEndingTimestamp": 1764590401000u64, "rawData": raw,
            "lambdaArn": "arn:aws:lambda:eu-west-1:123456789012:function:cplogs-transform:$LATEST",
        })
        .to_string()
    }

    const EVENT: &str = r#"{"version":"0","id":"e-1","detail-type":"CodePipeline Pipeline Execution State Change","source":"aws.codepipeline","account":"123456789012","time":"2026-11-30T10:00:00Z","region":"eu-west-1","resources":[],"detail":{"pipeline":"api","execution-id":"x-1","state":"STARTED","version":1}}"#;

    #[test]
    fn records_that_now_succeed_become_files_and_the_rest_say_why() {
        let good = base64_simd::STANDARD.encode_to_string(EVENT);
        let bad = base64_simd::STANDARD.encode_to_string("not json");
        let text = [
            envelope(&good, "Lambda.ProcessingFailed"),
            envelope(&bad, "Lambda.ProcessingFailed"),
            envelope("!!!", "Lambda.FunctionError"),
            "{\"attemptsMade\": 1}".to_owned(),
        ]
        .join("\n");
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(text.as_bytes()).unwrap();
        let key = "errors/pipeline_execution_state_change/processing-failed/2026/11/30/x.gz";
        let r = replay_object(key, &gz.finish().unwrap()).unwrap();
        assert_eq!(r.records, 4);
        assert_eq!(r.files.len(), 1);
        let f = &r.files[0];
        assert_eq!(f.records, 1);
        assert!(
            f.key
                .starts_with("pipeline_execution_state_change/dt=2026-11-30/replay-")
        );
        // The same object always gives the same name.
        let again = replay_object(key, text.as_bytes()).unwrap();
        assert_eq!(again.files[0].key, f.key);
        assert_ne!(
            replay_object("other", text.as_bytes()).unwrap().files[0].key,
            f.key
        );
        let reasons: Vec<&str> = r.failing.iter().map(|f| f.reason.as_str()).collect();
        assert!(
            reasons[0].contains("not a CodePipeline event"),
            "{reasons:?}"
        );
        assert_eq!(reasons[1], "rawData is not base64");
        assert_eq!(reasons[2], "no rawData");
        assert_eq!(
            r.failing[0].first_error.as_deref(),
            Some("Lambda.ProcessingFailed")
        );
        assert_eq!(r.failing[0].line, 2);
        assert!(replay_object(key, b"\x1f\x8b\x08 broken").is_err());
    }
}
