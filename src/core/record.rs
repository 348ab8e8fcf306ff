//! The flat log record written for each event: one JSON object per line, with exactly
//! the field names of DESIGN.md (the columns of `crate::core::schema`).
//!
//! Absent values are left out of the line rather than written as `null`; both read
//! as NULL in Athena and in the local engine, and the lines stay short.
//!
//! The `Serialize` derive is the definition of the line; [`LogRecord::write_json`]
//! writes the same bytes by hand, because it runs once per event on the ingestion path
//! and serde's generic serialiser escapes every string byte by byte.

use std::borrow::Cow;

use serde::{Serialize, Serializer};

use crate::core::event::{ActionType, Event, ExecutionResult, ExecutionTrigger, Str, Text};
use crate::core::schema::Table;
use crate::core::special::find_json_special;

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
    /// Pipeline version, written as integer text (`6.0` → `"6"`).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "integer_as_text"
    )]
    pub version: Option<i64>,
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

/// Writes an integer as JSON text (`"6"`), as the column is a string.
fn integer_as_text<S: Serializer>(value: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
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
    #[inline]
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
            version: d.version.map(|v| v.0),
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

impl LogRecord<'_> {
    /// Appends the record's JSON object (without a newline) to `out`: byte for byte
    /// what `serde_json::to_writer` writes for it (the tests hold them equal), but it
    /// copies strings that need no escaping whole, and cannot fail.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        self.write(out, false);
    }

    /// [`LogRecord::write_json`] for a record read from JSON text by
    /// [`Event::from_json`]: there a borrowed string is one that had no escapes, so
    /// it holds no `"`, `\\` or control character (the JSON reader checked) and is
    /// copied without looking for them again. Only `core::transform` calls this, on
    /// records it built from text itself.
    pub(crate) fn write_json_from_text(&self, out: &mut Vec<u8>) {
        self.write(out, true);
    }

    fn write(&self, out: &mut Vec<u8>, borrowed_are_clean: bool) {
        let mut o = Object {
            out,
            empty: true,
            borrowed_are_clean,
        };
        o.out.push(b'{');
        o.str("timestamp", Some(&self.timestamp.0));
        o.str("eventVersion", self.event_version.as_ref().map(|t| &t.0));
        o.str("pipelineArn", self.pipeline_arn.as_ref().map(|s| &s.0));
        o.str("pipeline", Some(&self.pipeline.0));
        if let Some(v) = self.version {
            o.key("version");
            o.out.push(b'"');
            write_int(o.out, v);
            o.out.push(b'"');
        }
        o.str("state", Some(&self.state.0));
        o.str("executionId", Some(&self.execution_id.0));
        o.str("stage", self.stage.as_ref().map(|s| &s.0));
        o.str("action", self.action.as_ref().map(|s| &s.0));
        o.str("region", self.region.as_ref().map(|s| &s.0));
        if let Some(t) = &self.action_type {
            o.key("type");
            o.nested(|n| {
                n.str("owner", t.owner.as_ref().map(|s| &s.0));
                n.str("category", t.category.as_ref().map(|s| &s.0));
                n.str("provider", t.provider.as_ref().map(|s| &s.0));
                n.str("version", t.version.as_ref().map(|v| &v.0));
            });
        }
        o.str("eventId", self.event_id.as_ref().map(|s| &s.0));
        o.str("account", self.account.as_ref().map(|s| &s.0));
        o.str("eventRegion", self.event_region.as_ref().map(|s| &s.0));
        o.str("startTime", self.start_time.as_ref().map(|s| &s.0));
        if let Some(a) = self.execution_attempt {
            o.key("executionAttempt");
            write_int(o.out, i64::from(a));
        }
        o.str(
            "stageLastRetryAttemptTime",
            self.stage_last_retry_attempt_time.as_ref().map(|s| &s.0),
        );
        o.str(
            "actionExecutionId",
            self.action_execution_id.as_ref().map(|s| &s.0),
        );
        if let Some(r) = &self.execution_result {
            o.key("executionResult");
            o.nested(|n| {
                n.str(
                    "externalExecutionUrl",
                    r.external_execution_url.as_ref().map(|s| &s.0),
                );
                n.str(
                    "externalExecutionSummary",
                    r.external_execution_summary.as_ref().map(|s| &s.0),
                );
                n.str(
                    "externalExecutionId",
                    r.external_execution_id.as_ref().map(|s| &s.0),
                );
                n.str("errorCode", r.error_code.as_ref().map(|s| &s.0));
            });
        }
        if let Some(t) = &self.execution_trigger {
            o.key("executionTrigger");
            o.nested(|n| {
                n.str("triggerType", t.trigger_type.as_ref().map(|s| &s.0));
                n.str("triggerDetail", t.trigger_detail.as_ref().map(|s| &s.0));
                n.str("providerType", t.provider_type.as_ref().map(|s| &s.0));
                n.str(
                    "fullRepositoryName",
                    t.full_repository_name.as_ref().map(|s| &s.0),
                );
                n.str("branchName", t.branch_name.as_ref().map(|s| &s.0));
                n.str("tagName", t.tag_name.as_ref().map(|s| &s.0));
                n.str("commitId", t.commit_id.as_ref().map(|s| &s.0));
                n.str("commitMessage", t.commit_message.as_ref().map(|s| &s.0));
            });
        }
        o.str(
            "stopExecutionComments",
            self.stop_execution_comments.as_ref().map(|s| &s.0),
        );
        o.out.push(b'}');
    }
}

/// A JSON object being written: commas between members, `None` members left out
/// (as `skip_serializing_if = "Option::is_none"` does).
struct Object<'o> {
    out: &'o mut Vec<u8>,
    empty: bool,
    /// Borrowed strings need no escaping (see `write_json_from_text`).
    borrowed_are_clean: bool,
}

impl Object<'_> {
    /// A member's key and colon; keys are field names, which need no escaping.
    #[inline(always)]
    fn key(&mut self, name: &str) {
        self.name(name);
        self.out.extend_from_slice(b"\":");
    }

    /// The separator and the key's opening quote and name, in as few copies as can be:
    /// this runs for every member of every record.
    #[inline(always)]
    fn name(&mut self, name: &str) {
        if self.empty {
            self.out.push(b'"');
        } else {
            self.out.extend_from_slice(b",\"");
        }
        self.empty = false;
        self.out.extend_from_slice(name.as_bytes());
    }

    #[inline(always)]
    fn str(&mut self, name: &str, value: Option<&Cow<'_, str>>) {
        if let Some(v) = value {
            match v {
                Cow::Borrowed(s) if self.borrowed_are_clean => {
                    self.name(name);
                    self.out.extend_from_slice(b"\":\"");
                    self.out.extend_from_slice(s.as_bytes());
                    self.out.push(b'"');
                }
                _ => {
                    self.key(name);
                    write_str(self.out, v);
                }
            }
        }
    }

    /// A nested object as the current member's value.
    fn nested(&mut self, members: impl FnOnce(&mut Object<'_>)) {
        self.out.push(b'{');
        let mut n = Object {
            out: &mut *self.out,
            empty: true,
            borrowed_are_clean: self.borrowed_are_clean,
        };
        members(&mut n);
        self.out.push(b'}');
    }
}

/// Appends `s` as a JSON string literal, escaped exactly as serde_json escapes: `"`,
/// `\\` and the control characters, with the short forms it uses and lowercase
/// `\u00XX` otherwise. The transform Lambda writes its response with it too.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.push(b'"');
    let mut start = 0;
    loop {
        let i = find_json_special(bytes, start);
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        let Some(&c) = bytes.get(i) else { break };
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 0xf)],
            ]),
        }
        start = i + 1;
    }
    out.push(b'"');
}

/// An integer in decimal, as serde_json (itoa) writes it.
pub(crate) fn write_int(out: &mut Vec<u8>, v: i64) {
    let mut digits = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
}
