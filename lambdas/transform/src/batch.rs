//! The Lambda's path through a batch: the request body read in place (by the
//! scanner in `scan.rs`, or serde_json for anything else), records decoded,
//! transformed and encoded in parallel, and the response written as consecutive parts
//! straight into reused buffers: byte for byte what serialising [`crate::handle`]'s
//! response gives, without building either side as values.

use std::io::Write;

use base64_simd::STANDARD;
use cplogs::core::event::Str;
use cplogs::core::record::write_str;
use cplogs::{Dt, Table, transform_into};
use lambda_runtime::tracing;
use rayon::prelude::*;
use serde::Deserialize;
use serde::de::{self, Deserializer};

use crate::scan::scan_request;

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
pub(crate) struct BorrowedRecord<'a> {
    #[serde(borrow)]
    pub(crate) record_id: Str<'a>,
    #[serde(borrow)]
    pub(crate) data: RawData<'a>,
}

/// A record's `data` as found in the body.
pub(crate) enum RawData<'a> {
    /// Read by serde_json: a valid JSON string, unescaped.
    Checked(Str<'a>),
    /// Found by the request scanner: the bytes between the quotes, without escapes, not
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
    /// The bytes between the quotes.
    pub(crate) fn bytes(&self) -> &[u8] {
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
pub(crate) const CHUNK: usize = 64;

/// Buffers one worker reuses from record to record.
#[derive(Default)]
pub(crate) struct Scratch {
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
    frame(&mut open[0], &mut close[0]);
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
    log_batch(table, records.len(), failed);
    true
}

/// The one log line of a batch.
pub(crate) fn log_batch(table: Table, records: usize, failed: usize) {
    tracing::info!(table = table.name(), records, failed, "batch transformed");
}

/// The first and last parts of a response, around its records.
pub(crate) fn frame(first: &mut Vec<u8>, last: &mut Vec<u8>) {
    first.clear();
    first.extend_from_slice(b"{\"records\":[");
    last.clear();
    last.extend_from_slice(b"]}");
}

/// Writes the response objects of `records` into `out`, comma-separated (and
/// preceded by a comma when `after` other records): how many failed, or `None` when a
/// record's data is not a valid JSON string.
pub(crate) fn render_records(
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
