//! Event bytes → (table, dt, one JSON line): the transform shared by the Firehose
//! Lambda and `cplogs ingest`, so both write byte-identical records.

use crate::core::event::Event;
use crate::core::layout::{Dt, LayoutError};
use crate::core::record::{LogRecord, RecordError};
use crate::core::schema::Table;

/// The EventBridge `source` of CodePipeline events.
pub const CODEPIPELINE_SOURCE: &str = "aws.codepipeline";

/// Where a transformed event goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Routed {
    /// Its table (from the detail-type).
    pub table: Table,
    /// Its partition (from the event time).
    pub dt: Dt,
}

/// Why an input is not a CodePipeline event we can log.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// Not JSON, or JSON of the wrong shape (missing `detail-type`, `time`, `detail`,
    /// or a field of the wrong type).
    #[error("not a CodePipeline event: {0}")]
    Json(#[from] serde_json::Error),
    /// Bytes that are not UTF-8 text, so not JSON.
    #[error("not a CodePipeline event: not UTF-8 text")]
    NotUtf8,
    /// An event from another service.
    #[error("source {0:?} is not aws.codepipeline")]
    WrongSource(String),
    /// A detail-type that is none of the three.
    #[error("detail-type {0:?} is not a CodePipeline execution state change")]
    UnknownDetailType(String),
    /// A detail-type of another table than the one this transform serves.
    #[error("detail-type {got:?} belongs to table {got_table}, not {expected}")]
    WrongTable {
        /// The detail-type received.
        got: String,
        /// Its table.
        got_table: Table,
        /// The table this transform serves.
        expected: Table,
    },
    /// The event's `time` does not give a partition.
    #[error(transparent)]
    Time(#[from] LayoutError),
    /// A required field is missing or out of range.
    #[error(transparent)]
    Record(#[from] RecordError),
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Transforms one event (JSON bytes) and appends its record, ending in `\n`, to `out`.
///
/// With `only = Some(table)`, events of other tables are rejected (each Firehose
/// stream serves one table). On error `out` is left as it was.
pub fn transform_into(
    input: &[u8],
    only: Option<Table>,
    out: &mut Vec<u8>,
) -> Result<Routed, TransformError> {
    // One UTF-8 check of the whole event is cheaper than serde_json's check of every
    // string it borrows.
    let text = std::str::from_utf8(input).map_err(|_| TransformError::NotUtf8)?;
    let event: Event<'_> = serde_json::from_str(text)?;
    if let Some(source) = event.source.as_deref()
        && source != CODEPIPELINE_SOURCE
    {
        return Err(TransformError::WrongSource(short(source)));
    }
    let table = Table::from_detail_type(&event.detail_type)
        .ok_or_else(|| TransformError::UnknownDetailType(short(&event.detail_type)))?;
    if let Some(expected) = only
        && expected != table
    {
        return Err(TransformError::WrongTable {
            got: table.detail_type().to_owned(),
            got_table: table,
            expected,
        });
    }
    let dt = Dt::of_event_time(&event.time)?;
    let record = LogRecord::from_event(table, event)?;
    let start = out.len();
    // Serialising a record of strings, ints and structs into a Vec cannot fail; if it
    // ever did, the partial line is removed so `out` never holds a broken record.
    if let Err(e) = serde_json::to_writer(&mut *out, &record) {
        out.truncate(start);
        return Err(e.into());
    }
    out.push(b'\n');
    Ok(Routed { table, dt })
}
