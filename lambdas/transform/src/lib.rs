//! The Firehose data-transformation handler: each base64 CodePipeline event becomes one
//! base64 JSON-line log record with its `dt` partition key, or goes back unchanged as
//! `ProcessingFailed` so Firehose writes it under the error prefix.
//!
//! [`transform_batch`] is what the Lambda runs: request body in, response body out,
//! reading the request in place and writing the response straight into one buffer
//! (`src/main.rs` hands it the raw body and posts its bytes). The typed path
//! ([`TransformRequest`], [`handle`], [`TransformResponse`]) is the readable definition
//! of the same exchange: the tests hold the two byte-identical.
//!
//! The request types are our own rather than `aws_lambda_events`' because that one
//! fails the whole batch when a single record is not base64, instead of only that
//! record.

pub mod runtime;

use std::fmt;
use std::io::Write;

use base64_simd::STANDARD;
use cplogs::core::event::Str;
use cplogs::core::record::write_str;
use cplogs::{Dt, Table, transform_into};
use lambda_runtime::{Error, LambdaEvent, tracing};
use rayon::prelude::*;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::{RawValue, to_raw_value};

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
/// transform under `lambda_runtime::run` (the deployed binary runs [`transform_batch`]
/// through its own Runtime API loop instead, see `src/main.rs`).
pub async fn function_handler(
    table: Table,
    event: LambdaEvent<TransformRequest>,
) -> Result<TransformResponse, Error> {
    Ok(handle(table, event.payload))
}

/// A request as serde_json reads it for [`transform_batch`]: the same fields and
/// rules as [`TransformRequest`], but every string borrowed from the body (no copy,
/// and no decoding on the single thread that reads it).
#[derive(Deserialize)]
struct BorrowedRequest<'a> {
    #[serde(borrow)]
    records: Vec<BorrowedRecord<'a>>,
}

/// One record of a request, borrowed from the body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BorrowedRecord<'a> {
    #[serde(borrow)]
    record_id: Str<'a>,
    #[serde(borrow)]
    data: RawData<'a>,
}

/// A record's `data` as found in the body.
enum RawData<'a> {
    /// Read by serde_json: a valid JSON string, unescaped.
    Checked(Str<'a>),
    /// Found by [`scan_request`]: the bytes between the quotes, without escapes, not
    /// yet checked for control characters and UTF-8 (base64 that decodes needs no
    /// check; anything else is checked before it is used).
    Unchecked(&'a [u8]),
}

impl<'de: 'a, 'a> Deserialize<'de> for RawData<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Str::deserialize(d).map(RawData::Checked)
    }
}

impl RawData<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            RawData::Checked(s) => s.as_bytes(),
            RawData::Unchecked(b) => b,
        }
    }

    /// The text, if serde_json would have accepted it as a string.
    fn text(&self) -> Option<&str> {
        match self {
            RawData::Checked(s) => Some(s),
            RawData::Unchecked(b) if !b.iter().any(|&c| c < 0x20) => std::str::from_utf8(b).ok(),
            RawData::Unchecked(_) => None,
        }
    }
}

/// Records per unit of parallel work: large enough that each unit fills its own
/// buffer with few reallocations, small enough to balance two cores.
const CHUNK: usize = 64;

/// Buffers one worker reuses from record to record.
#[derive(Default)]
struct Scratch {
    event: Vec<u8>,
    line: Vec<u8>,
    /// Partition dates met so far and their text: a batch spans few days, and
    /// formatting a date for every record showed in the profile.
    dts: Vec<(Dt, [u8; 10])>,
}

/// Transforms a Firehose request body into the response body: byte for byte what
/// serialising [`handle`]'s response gives, without building either side as values.
///
/// Records are decoded, transformed and encoded in parallel, each unit of work
/// writing its part of the response into its own buffer. An error means the body is
/// not a Firehose request at all (the whole invocation fails, as it did when the
/// runtime could not deserialise it); a record that cannot be read never fails the
/// batch.
pub fn transform_batch(table: Table, body: &[u8]) -> Result<Vec<u8>, serde_json::Error> {
    let mut parts = Vec::new();
    transform_batch_into(table, body, &mut parts)?;
    Ok(parts.concat())
}

/// [`transform_batch`]'s response as consecutive parts, written into `parts`, whose
/// buffers are reused: the Lambda posts the parts as they are, and keeps them from
/// one batch to the next, so a warm batch writes its 5 MB into pages already mapped
/// and never joins them into one buffer.
pub fn transform_batch_into(
    table: Table,
    body: &[u8],
    parts: &mut Vec<Vec<u8>>,
) -> Result<(), serde_json::Error> {
    // The request scanner reads plain Firehose requests; anything else, and any record
    // whose data would not pass as a JSON string, goes through serde_json, which then
    // decides what the request holds (or that it is not one).
    if let Some(records) = scan_request(body)
        && render(table, &records, true, parts)
    {
        return Ok(());
    }
    let request: BorrowedRequest<'_> = serde_json::from_slice(body)?;
    if render(table, &request.records, false, parts) {
        Ok(())
    } else {
        Err(de::Error::custom("a record's data is not a JSON string"))
    }
}

/// Writes the response for `records` into `parts`; false when `verify` finds a record
/// whose `data` serde_json would have refused (a control character, invalid UTF-8).
fn render(
    table: Table,
    records: &[BorrowedRecord<'_>],
    verify: bool,
    parts: &mut Vec<Vec<u8>>,
) -> bool {
    let units = records.len().div_ceil(CHUNK);
    parts.resize_with(units + 2, Vec::new);
    let (open, rest) = parts.split_at_mut(1);
    let (middle, close) = rest.split_at_mut(units);
    open[0].clear();
    open[0].extend_from_slice(b"{\"records\":[");
    close[0].clear();
    close[0].extend_from_slice(b"]}");
    let failed: Option<usize> = records
        .par_chunks(CHUNK)
        .zip(middle.par_iter_mut())
        .enumerate()
        .map_init(Scratch::default, |scratch, (i, (records, out))| {
            render_records(table, records, i > 0, verify, scratch, out)
        })
        .sum();
    let Some(failed) = failed else {
        return false;
    };
    tracing::info!(
        table = table.name(),
        records = records.len(),
        failed,
        "batch transformed"
    );
    true
}

/// Reads the request's records in place when the body has the plain shape Firehose
/// sends (`{"invocationId": "…", …, "records": [{"recordId": "…",
/// "approximateArrivalTimestamp": 1…, "data": "…"}, …]}`, in any order, with any
/// whitespace), or `None` to leave the request to serde_json.
///
/// Strings with escapes, other kinds of values, repeated or missing fields all give
/// `None`. The base64 text is found with SIMD and checked later, in parallel: when it
/// is not base64 [`render`] checks that it is a valid JSON string.
fn scan_request(body: &[u8]) -> Option<Vec<BorrowedRecord<'_>>> {
    let mut c = Scan { body, pos: 0 };
    let mut records = None;
    c.object(|c, key| match key {
        b"records" if records.is_none() => {
            records = Some(c.records()?);
            Some(())
        }
        b"records" => None,
        // invocationId, deliveryStreamArn, region, sourceKinesisStreamArn
        _ => match c.peek()? {
            b'"' => c.plain_string().map(drop),
            _ => None,
        },
    })?;
    c.ws();
    if c.pos != body.len() {
        return None;
    }
    records
}

struct Scan<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> Scan<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.body.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.body.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    /// A string without escapes: its content, not yet checked for control
    /// characters or UTF-8.
    fn raw_string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let rest = self.body.get(self.pos..)?;
        let end = memchr::memchr2(b'"', b'\\', rest)?;
        if rest.get(end) != Some(&b'"') {
            return None;
        }
        self.pos += end + 1;
        rest.get(..end)
    }

    /// A string without escapes, checked as serde_json checks the strings it reads.
    fn plain_string(&mut self) -> Option<&'a str> {
        let raw = self.raw_string()?;
        if raw.iter().any(|&b| b < 0x20) {
            return None;
        }
        std::str::from_utf8(raw).ok()
    }

    /// An object, handing each key (without escapes) to `field`, which must consume
    /// its value.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        loop {
            let key = self.plain_string()?;
            self.eat(b':')?;
            field(self, key.as_bytes())?;
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn records(&mut self) -> Option<Vec<BorrowedRecord<'a>>> {
        self.eat(b'[')?;
        // A record is at least ~40 bytes of request; reserving for that many saves
        // regrowing the list.
        let mut records = Vec::with_capacity(self.body.len() / 1024);
        if self.peek()? == b']' {
            self.pos += 1;
            return Some(records);
        }
        loop {
            records.push(self.record()?);
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(records);
                }
                _ => return None,
            }
        }
    }

    fn record(&mut self) -> Option<BorrowedRecord<'a>> {
        let (mut record_id, mut data, mut arrival) = (None, None, false);
        self.object(|c, key| match key {
            b"recordId" if record_id.is_none() => {
                record_id = Some(c.plain_string()?);
                Some(())
            }
            b"data" if data.is_none() => {
                data = Some(c.raw_string()?);
                Some(())
            }
            b"approximateArrivalTimestamp" if !arrival => {
                arrival = true;
                c.ws();
                let start = c.pos;
                while c.body.get(c.pos).is_some_and(u8::is_ascii_digit) {
                    c.pos += 1;
                }
                // Digits, without a leading zero (JSON's integers).
                match c.body.get(start..c.pos)? {
                    [b'0', _, ..] | [] => None,
                    _ => Some(()),
                }
            }
            _ => None,
        })?;
        Some(BorrowedRecord {
            record_id: Str::from(record_id?),
            data: RawData::Unchecked(data?),
        })
    }
}

/// Writes the response objects of `records` into `out`, comma-separated (and
/// preceded by a comma when `after` other records): how many failed, or `None` when a
/// record's data is not a valid JSON string.
fn render_records(
    table: Table,
    records: &[BorrowedRecord<'_>],
    after: bool,
    verify: bool,
    scratch: &mut Scratch,
    out: &mut Vec<u8>,
) -> Option<usize> {
    // Output lines are shorter than the events they come from; a little slack covers
    // the record's envelope.
    let estimate: usize = records.iter().map(|r| r.data.bytes().len() + 160).sum();
    out.clear();
    out.reserve(estimate);
    let mut failed = 0;
    for (i, record) in records.iter().enumerate() {
        if i > 0 || after {
            out.push(b',');
        }
        if !render_record(table, record, verify, scratch, out)? {
            failed += 1;
        }
    }
    Some(failed)
}

/// One response object, as `OutputRecord` serialises: `Some(true)` when transformed,
/// `Some(false)` when it failed, `None` when its data is not a valid JSON string.
fn render_record(
    table: Table,
    record: &BorrowedRecord<'_>,
    verify: bool,
    scratch: &mut Scratch,
    out: &mut Vec<u8>,
) -> Option<bool> {
    let Scratch { event, line, dts } = scratch;
    event.clear();
    line.clear();
    let outcome = match STANDARD.decode_append(record.data.bytes(), event) {
        Ok(()) => transform_into(event, Some(table), line).map_err(|e| e.to_string()),
        Err(_) => Err("data is not base64".to_owned()),
    };
    out.extend_from_slice(b"{\"recordId\":");
    write_str(out, &record.record_id);
    match outcome {
        Ok(routed) => {
            out.extend_from_slice(b",\"result\":\"Ok\",\"data\":\"");
            STANDARD.encode_append(&line[..], out);
            out.extend_from_slice(b"\",\"metadata\":{\"partitionKeys\":{\"dt\":\"");
            match dts.iter().find(|(dt, _)| *dt == routed.dt) {
                Some((_, text)) => out.extend_from_slice(text),
                None => {
                    let start = out.len();
                    // Writing into a Vec cannot fail.
                    let _ = write!(out, "{}", routed.dt);
                    // Dates are always `YYYY-MM-DD` (Dt::of_event_time); a few dozen
                    // of them cover any batch.
                    if let (Ok(text), true) = (<[u8; 10]>::try_from(&out[start..]), dts.len() < 64)
                    {
                        dts.push((routed.dt, text));
                    }
                }
            }
            out.extend_from_slice(b"\"}}}");
            Some(true)
        }
        Err(reason) => {
            let data = record.data.text();
            if verify && data.is_none() {
                return None;
            }
            tracing::warn!(record_id = %&*record.record_id, %reason, "record goes to the error prefix");
            // Strict decoding means the text as received is also what encoding the
            // decoded bytes again would give (what the typed path sends back).
            out.extend_from_slice(b",\"result\":\"ProcessingFailed\",\"data\":");
            write_str(out, data.unwrap_or_default());
            out.push(b'}');
            Some(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The differential tests in tests/batch.rs compare outcomes; this checks that
    /// plain requests do take the scanner's path, and odd ones serde_json's.
    #[test]
    fn plain_requests_are_scanned_and_odd_ones_left_to_serde() {
        let plain = r#"{"invocationId":"i","deliveryStreamArn":"a","region":"r","records":[{"recordId":"1","approximateArrivalTimestamp":1700000000000,"data":"e30="}, {"data":"!!","recordId":"2","approximateArrivalTimestamp":0}]}"#;
        let records = scan_request(plain.as_bytes()).expect("scanned");
        assert_eq!(records.len(), 2);
        assert_eq!(&*records[1].record_id, "2");
        assert_eq!(records[1].data.bytes(), b"!!");
        assert!(scan_request(b" { \"records\" : [ ] } ").is_some());
        for odd in [
            r#"{"records":[{"recordId":"1\n","data":"e30="}]}"#,
            r#"{"records":[{"recordId":"1","data":"e30\/"}]}"#,
            r#"{"records":[{"recordId":"1","data":"e30=","x":1}]}"#,
            r#"{"records":[{"recordId":"1","data":"e30=","data":"e30="}]}"#,
            r#"{"records":[{"recordId":"1"}]}"#,
            r#"{"records":[{"recordId":"1","approximateArrivalTimestamp":1.5,"data":""}]}"#,
            r#"{"records":[],"records":[]}"#,
            r#"{"records":[],"n":1}"#,
            r#"{"records":[]} x"#,
            r#"[]"#,
        ] {
            assert!(scan_request(odd.as_bytes()).is_none(), "{odd}");
        }
    }
}
