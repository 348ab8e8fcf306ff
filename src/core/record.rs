//! The flat log record written for each event: one JSON object per line, with exactly
//! the field names of DESIGN.md (the columns of `crate::core::schema`).
//!
//! Absent values are left out of the line rather than written as `null`; both read
//! as NULL in Athena and in the local engine, and the lines stay short.

use serde::Serialize;

use crate::core::event::{ActionType, Event, ExecutionResult, ExecutionTrigger, Str, Text};
use crate::core::schema::Table;

/// One log record. Field order follows the table's columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogRecord<'a> {
    /// The event `time`, as received.
    pub timestamp: Str<'a>,
    /// The envelope `version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_version: Option<Text<'a>>,
    /// `resources[0]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_arn: Option<Str<'a>>,
    /// Pipeline name.
    pub pipeline: Str<'a>,
    /// Pipeline version as integer text (`6.0` → `"6"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// State, verbatim.
    pub state: Str<'a>,
    /// Pipeline execution id.
    pub execution_id: Str<'a>,
    /// Stage name (stage and action tables).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<Str<'a>>,
    /// Action name (action table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Str<'a>>,
    /// The action's region (action table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Str<'a>>,
    /// Action type (action table).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub action_type: Option<ActionType<'a>>,
    /// Envelope `id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Str<'a>>,
    /// Envelope `account`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Str<'a>>,
    /// Envelope `region`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_region: Option<Str<'a>>,
    /// Detail `start-time`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Str<'a>>,
    /// Detail `pipeline-execution-attempt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_attempt: Option<i32>,
    /// Stage table: detail `stage-last-retry-attempt-time`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_last_retry_attempt_time: Option<Str<'a>>,
    /// Action table: detail `action-execution-id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_execution_id: Option<Str<'a>>,
    /// Action table: detail `execution-result`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_result: Option<ExecutionResult<'a>>,
    /// Pipeline table: detail `execution-trigger`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_trigger: Option<ExecutionTrigger<'a>>,
    /// Pipeline table: detail `stop-execution-comments`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_execution_comments: Option<Str<'a>>,
}

/// Why an event cannot become a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// A field the table needs is absent or null.
    #[error("detail.{0} is missing")]
    MissingField(&'static str),
    /// `pipeline-execution-attempt` does not fit a 32-bit int column.
    #[error("detail.pipeline-execution-attempt {0} is out of range")]
    AttemptOutOfRange(i64),
}

impl<'a> LogRecord<'a> {
    /// Builds the record of `event` for `table` (the table of its detail-type), taking
    /// only the fields that table has.
    pub fn from_event(table: Table, event: Event<'a>) -> Result<LogRecord<'a>, RecordError> {
        let Event {
            version,
            id,
            account,
            time,
            region,
            resources,
            detail: d,
            ..
        } = event;
        let required = |v: Option<Str<'a>>, name| v.ok_or(RecordError::MissingField(name));
        let (stage, action) = match table {
            Table::Pipeline => (None, None),
            Table::Stage => (Some(required(d.stage, "stage")?), None),
            Table::Action => (
                Some(required(d.stage, "stage")?),
                Some(required(d.action, "action")?),
            ),
        };
        let execution_attempt = d
            .execution_attempt
            .map(|a| i32::try_from(a.0).map_err(|_| RecordError::AttemptOutOfRange(a.0)))
            .transpose()?;
        let is = |t: Table| table == t;
        Ok(LogRecord {
            timestamp: time,
            event_version: version,
            pipeline_arn: resources.into_iter().next(),
            pipeline: required(d.pipeline, "pipeline")?,
            version: d.version.map(|v| v.0.to_string()),
            state: required(d.state, "state")?,
            execution_id: required(d.execution_id, "execution-id")?,
            stage,
            action,
            region: d.region.filter(|_| is(Table::Action)),
            action_type: d.action_type.filter(|_| is(Table::Action)),
            event_id: id,
            account,
            event_region: region,
            start_time: d.start_time,
            execution_attempt,
            stage_last_retry_attempt_time: d
                .stage_last_retry_attempt_time
                .filter(|_| is(Table::Stage)),
            action_execution_id: d.action_execution_id.filter(|_| is(Table::Action)),
            execution_result: d.execution_result.filter(|_| is(Table::Action)),
            execution_trigger: d.execution_trigger.filter(|_| is(Table::Pipeline)),
            stop_execution_comments: d.stop_execution_comments.filter(|_| is(Table::Pipeline)),
        })
    }
}
