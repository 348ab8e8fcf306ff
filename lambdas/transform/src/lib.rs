//! The Firehose data-transformation handler: each base64 CodePipeline event becomes one
//! base64 JSON-line log record with its `dt` partition key, or goes back unchanged as
//! `ProcessingFailed` so Firehose writes it under the error prefix.
//!
//! The request type is our own rather than `aws_lambda_events`' because that one
//! fails the whole batch when a single record is not base64, instead of only that
//! record.

use std::fmt;

use base64_simd::STANDARD;
use cplogs::{Table, transform_into};
use lambda_runtime::{Error, LambdaEvent, tracing};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

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
    pub fn to_base64(&self) -> String {
        match self {
            RecordData::Decoded(bytes) => STANDARD.encode_to_string(bytes),
            RecordData::NotBase64(text) => text.clone(),
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
    pub data: String,
    /// The partition keys for dynamic partitioning (`Ok` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
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
pub fn handle(table: Table, request: &TransformRequest) -> TransformResponse {
    let mut line = Vec::new();
    let mut failed = 0usize;
    let records = request
        .records
        .iter()
        .map(|record| {
            line.clear();
            let outcome = match &record.data {
                RecordData::Decoded(event) => {
                    transform_into(event, Some(table), &mut line).map_err(|e| e.to_string())
                }
                RecordData::NotBase64(_) => Err("data is not base64".to_owned()),
            };
            match outcome {
                Ok(routed) => OutputRecord {
                    record_id: record.record_id.clone(),
                    result: RecordResult::Ok,
                    data: STANDARD.encode_to_string(&line),
                    metadata: Some(Metadata {
                        partition_keys: PartitionKeys {
                            dt: routed.dt.to_string(),
                        },
                    }),
                },
                Err(reason) => {
                    failed += 1;
                    tracing::warn!(record_id = %record.record_id, %reason, "record goes to the error prefix");
                    OutputRecord {
                        record_id: record.record_id.clone(),
                        result: RecordResult::ProcessingFailed,
                        data: record.data.to_base64(),
                        metadata: None,
                    }
                }
            }
        })
        .collect();
    tracing::info!(
        table = table.name(),
        records = request.records.len(),
        failed,
        "batch transformed"
    );
    TransformResponse { records }
}

/// The Lambda handler: [`handle`] on the invocation's payload.
pub async fn function_handler(
    table: Table,
    event: LambdaEvent<TransformRequest>,
) -> Result<TransformResponse, Error> {
    Ok(handle(table, &event.payload))
}
