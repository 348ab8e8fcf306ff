//! The Firehose data-transformation handler: each base64 CodePipeline event becomes one
//! base64 JSON-line log record with its `dt` partition key, or goes back unchanged as
//! `ProcessingFailed` so Firehose writes it under the error prefix.
//!
//! What the Lambda runs is [`transform_stream_into`] (`stream.rs`): it reads the
//! request as it arrives and transforms its records meanwhile, through the same
//! machinery as [`transform_batch`] (`batch.rs`, `scan.rs`: request body in, response
//! body out, read in place, written straight into reused buffers); `src/main.rs` hands
//! it the Runtime API's body and posts the parts it writes. The typed path
//! ([`TransformRequest`], [`handle`], [`TransformResponse`]) is the readable definition
//! of the same exchange: the tests hold the three byte-identical.
//!
//! The request types are our own rather than `aws_lambda_events`' because that one
//! fails the whole batch when a single record is not base64, instead of only that
//! record.

mod batch;
pub mod runtime;
mod scan;
mod stream;

use std::fmt;

use base64_simd::STANDARD;
use cplogs::{Table, transform_into};
use lambda_runtime::{Error, LambdaEvent, tracing};
use rayon::prelude::*;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::{RawValue, to_raw_value};

pub use batch::{transform_batch, transform_batch_into};
pub use stream::{StreamError, transform_stream_into};

/// The largest body read, either way: Lambda hands a synchronously invoked function
/// (as Firehose invokes it) at most 6 MB; ten times that leaves room, while a length
/// from a broken peer cannot claim any memory it likes.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// Environment variable naming the table this function serves.
pub const TABLE_ENV: &str = "CPLOGS_TABLE";

/// The table this deployment serves, from [`TABLE_ENV`].
pub fn table_from_env() -> Result<Table, String> {
    let name = std::env::var(TABLE_ENV).map_err(|_| format!("{TABLE_ENV} is not set"))?;
    Table::from_name(&name).ok_or_else(|| {
        let names: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
        format!("{TABLE_ENV}={name:?} is not one of {}", names.join(", "))
    })
}

/// A Firehose transformation request (only the fields the handler reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransformRequest {
    /// The batch, in Firehose's order.
    pub records: Vec<InputRecord>,
}

/// One record of a request.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputRecord {
    /// Firehose's id of the record; it must come back exactly once.
    pub record_id: String,
    /// The event, decoded from base64 while the request is read.
    pub data: RecordData,
}

/// A record's `data`: decoded, or kept as received when it is not base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    /// The decoded bytes. Decoding is strict (canonical padding, no whitespace), so
    /// encoding them again gives back exactly the text Firehose sent.
    Decoded(Vec<u8>),
    /// Text that is not base64, unchanged.
    NotBase64(String),
}

impl RecordData {
    /// Decodes `text`, keeping it as it is when it is not base64.
    pub fn from_base64(text: &str) -> RecordData {
        match STANDARD.decode_to_vec(text) {
            Ok(bytes) => RecordData::Decoded(bytes),
            Err(_) => RecordData::NotBase64(text.to_owned()),
        }
    }

    /// The base64 text as Firehose sent it.
    pub fn to_base64(&self) -> JsonText {
        match self {
            RecordData::Decoded(bytes) => JsonText::base64(bytes),
            RecordData::NotBase64(text) => JsonText::text(text),
        }
    }
}

impl<'de> Deserialize<'de> for RecordData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RecordData;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("base64 text")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RecordData, E> {
                Ok(RecordData::from_base64(v))
            }
        }
        // Decoding straight from the request text saves copying every record.
        d.deserialize_str(V)
    }
}

/// The response Firehose expects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransformResponse {
    /// One per input record, same order.
    pub records: Vec<OutputRecord>,
}

/// The outcome of one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputRecord {
    /// The input's record id.
    pub record_id: String,
    /// `Ok` or `ProcessingFailed`.
    pub result: RecordResult,
    /// Base64 of the log line (`Ok`) or the input data unchanged (`ProcessingFailed`).
    pub data: JsonText,
    /// The partition keys for dynamic partitioning (`Ok` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// A string held as its finished JSON literal.
///
/// The response is mostly base64 text; keeping it pre-rendered means the runtime's
/// single-threaded serialisation copies it instead of escaping it again, and the
/// rendering happens in [`handle`]'s parallel part.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JsonText(Box<RawValue>);

impl JsonText {
    /// Base64 of `bytes`.
    pub fn base64(bytes: &[u8]) -> JsonText {
        let mut literal = String::with_capacity(STANDARD.encoded_length(bytes.len()) + 2);
        literal.push('"');
        STANDARD.encode_append(bytes, &mut literal);
        literal.push('"');
        // The base64 alphabet needs no escaping, so this literal is always valid.
        JsonText(RawValue::from_string(literal).unwrap_or_else(|_| RawValue::NULL.to_owned()))
    }

    /// Any text, escaped as JSON requires.
    pub fn text(text: &str) -> JsonText {
        JsonText(to_raw_value(text).unwrap_or_else(|_| RawValue::NULL.to_owned()))
    }

    /// The string it holds.
    pub fn to_text(&self) -> String {
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }
}

impl PartialEq for JsonText {
    fn eq(&self, other: &JsonText) -> bool {
        self.0.get() == other.0.get()
    }
}

/// Firehose's per-record results (`Dropped` is never used: nothing is dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordResult {
    /// Transformed.
    Ok,
    /// Not readable; Firehose delivers it under the error prefix.
    ProcessingFailed,
}

/// Record metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Keys referenced as `!{partitionKeyFromLambda:…}` in the Firehose prefix.
    pub partition_keys: PartitionKeys,
}

/// The partition keys cplogs sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionKeys {
    /// `YYYY-MM-DD`, the UTC date of the event time.
    pub dt: String,
}

/// Transforms a batch for `table`. Never fails and never panics on record contents:
/// every record comes back, in order, either `Ok` or `ProcessingFailed`.
///
/// Records are independent, so they are spread over the available cores (a Lambda
/// function gets a second vCPU from 1,769 MB of memory); the output keeps their order.
pub fn handle(table: Table, request: TransformRequest) -> TransformResponse {
    let total = request.records.len();
    let records: Vec<OutputRecord> = request
        .records
        .into_par_iter()
        .with_min_len(64)
        .map_init(Vec::new, |line, record| {
            transform_record(table, record, line)
        })
        .collect();
    let failed = records
        .iter()
        .filter(|r| r.result == RecordResult::ProcessingFailed)
        .count();
    tracing::info!(
        table = table.name(),
        records = total,
        failed,
        "batch transformed"
    );
    TransformResponse { records }
}

/// One record: `Ok` with its log line, or `ProcessingFailed` with its data unchanged.
fn transform_record(table: Table, record: InputRecord, line: &mut Vec<u8>) -> OutputRecord {
    line.clear();
    let outcome = match &record.data {
        RecordData::Decoded(event) => {
            transform_into(event, Some(table), line).map_err(|e| e.to_string())
        }
        RecordData::NotBase64(_) => Err("data is not base64".to_owned()),
    };
    match outcome {
        Ok(routed) => OutputRecord {
            record_id: record.record_id,
            result: RecordResult::Ok,
            data: JsonText::base64(line),
            metadata: Some(Metadata {
                partition_keys: PartitionKeys {
                    dt: routed.dt.to_string(),
                },
            }),
        },
        Err(reason) => {
            tracing::warn!(record_id = %record.record_id, %reason, "record goes to the error prefix");
            OutputRecord {
                data: record.data.to_base64(),
                record_id: record.record_id,
                result: RecordResult::ProcessingFailed,
                metadata: None,
            }
        }
    }
}

/// [`handle`] as a `lambda_runtime` handler: the typed path, for running the
/// transform under `lambda_runtime::run` (the deployed binary runs [`transform_stream_into`]
/// through its own Runtime API loop instead, see `src/main.rs`).
pub async fn function_handler(
    table: Table,
    event: LambdaEvent<TransformRequest>,
) -> Result<TransformResponse, Error> {
    Ok(handle(table, event.payload))
}
