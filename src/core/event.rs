//! The CodePipeline EventBridge event model: a lenient, borrowing view of the three
//! detail-types (pipeline, stage and action execution state changes).
//!
//! Lenient where AWS is loose (numbers as floats, integers or strings; unknown fields
//! ignored; unknown states kept verbatim), strict where a wrong value would corrupt
//! the log (wrong types of known fields, non-integral versions). Strings borrow from
//! the input when they carry no escapes, so parsing a batch allocates little.
//!
//! One cohesive thing (over 400 lines): the model, its serde reading, and the fast
//! borrowing scanner for the common shape that falls back to serde for anything else.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// The EventBridge envelope of a CodePipeline event.
///
/// Read it with [`Event::from_json`]: the same result as `serde_json::from_str`, faster.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Event<'a> {
    /// Envelope version (`"0"`).
    #[serde(default, borrow)]
    pub version: Option<Text<'a>>,
    /// Event id, unique per event (duplicate deliveries repeat it).
    #[serde(default, borrow)]
    pub id: Option<Str<'a>>,
    /// e.g. `CodePipeline Action Execution State Change`.
    #[serde(rename = "detail-type", borrow)]
    pub detail_type: Str<'a>,
    /// `aws.codepipeline`.
    #[serde(default, borrow)]
    pub source: Option<Str<'a>>,
    /// AWS account id.
    #[serde(default, borrow)]
    pub account: Option<Str<'a>>,
    /// Event time, ISO 8601.
    #[serde(borrow)]
    pub time: Str<'a>,
    /// AWS region of the event.
    #[serde(default, borrow)]
    pub region: Option<Str<'a>>,
    /// `[pipeline ARN]`.
    #[serde(default, borrow)]
    pub resources: Vec<Str<'a>>,
    /// The CodePipeline part.
    #[serde(borrow)]
    pub detail: Detail<'a>,
}

/// The `detail` of any of the three detail-types; fields a type lacks are `None`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Detail<'a> {
    /// Pipeline name.
    #[serde(default, borrow)]
    pub pipeline: Option<Str<'a>>,
    /// Pipeline execution id.
    #[serde(default, rename = "execution-id", borrow)]
    pub execution_id: Option<Str<'a>>,
    /// State, kept verbatim (an open set).
    #[serde(default, borrow)]
    pub state: Option<Str<'a>>,
    /// Pipeline version (`6.0`, `6` or `"6"`).
    #[serde(default)]
    pub version: Option<LenientInt>,
    /// Start time of the pipeline execution.
    #[serde(default, rename = "start-time", borrow)]
    pub start_time: Option<Str<'a>>,
    /// `pipeline-execution-attempt` (`1.0`, `1` or `"1"`).
    #[serde(default, rename = "pipeline-execution-attempt")]
    pub execution_attempt: Option<LenientInt>,
    /// Stage name (stage and action events).
    #[serde(default, borrow)]
    pub stage: Option<Str<'a>>,
    /// Time of the stage's last retry (stage events).
    #[serde(default, rename = "stage-last-retry-attempt-time", borrow)]
    pub stage_last_retry_attempt_time: Option<Str<'a>>,
    /// Action name (action events).
    #[serde(default, borrow)]
    pub action: Option<Str<'a>>,
    /// Action execution id: one attempt of an action.
    #[serde(default, rename = "action-execution-id", borrow)]
    pub action_execution_id: Option<Str<'a>>,
    /// Region the action runs in.
    #[serde(default, borrow)]
    pub region: Option<Str<'a>>,
    /// Action type.
    #[serde(default, rename = "type", borrow)]
    pub action_type: Option<ActionType<'a>>,
    /// External result of an action (on terminal action events).
    #[serde(default, rename = "execution-result", borrow)]
    pub execution_result: Option<ExecutionResult<'a>>,
    /// What started the execution (pipeline events).
    #[serde(default, rename = "execution-trigger", borrow)]
    pub execution_trigger: Option<ExecutionTrigger<'a>>,
    /// Comment given when the execution was stopped.
    #[serde(default, rename = "stop-execution-comments", borrow)]
    pub stop_execution_comments: Option<Str<'a>>,
}

/// The action `type`; also the `type` struct of the log record.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ActionType<'a> {
    /// `AWS`, `ThirdParty` or `Custom`.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Str<'a>>,
    /// `Source`, `Build`, `Test`, `Deploy`, `Approval`, `Invoke`, `Compute`.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub category: Option<Str<'a>>,
    /// e.g. `CodeBuild`.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Str<'a>>,
    /// Action type version, as text.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub version: Option<Text<'a>>,
}

/// An action's `execution-result`; serialises as the record's `executionResult`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ExecutionResult<'a> {
    /// Link to the external execution (build, deployment, …).
    #[serde(
        default,
        borrow,
        rename(
            deserialize = "external-execution-url",
            serialize = "externalExecutionUrl"
        ),
        alias = "externalExecutionUrl",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_execution_url: Option<Str<'a>>,
    /// Summary of the external execution.
    #[serde(
        default,
        borrow,
        rename(
            deserialize = "external-execution-summary",
            serialize = "externalExecutionSummary"
        ),
        alias = "externalExecutionSummary",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_execution_summary: Option<Str<'a>>,
    /// Id of the external execution.
    #[serde(
        default,
        borrow,
        rename(
            deserialize = "external-execution-id",
            serialize = "externalExecutionId"
        ),
        alias = "externalExecutionId",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_execution_id: Option<Str<'a>>,
    /// Error code of a failed action, e.g. `JobFailed`.
    #[serde(
        default,
        borrow,
        rename(deserialize = "error-code", serialize = "errorCode"),
        alias = "errorCode",
        skip_serializing_if = "Option::is_none"
    )]
    pub error_code: Option<Str<'a>>,
}

/// A pipeline's `execution-trigger`; serialises as the record's `executionTrigger`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all(deserialize = "kebab-case", serialize = "camelCase"))]
pub struct ExecutionTrigger<'a> {
    /// e.g. `StartPipelineExecution`, `WebhookV2`, `CloudWatchEvent`.
    #[serde(
        default,
        borrow,
        alias = "triggerType",
        skip_serializing_if = "Option::is_none"
    )]
    pub trigger_type: Option<Str<'a>>,
    /// e.g. the user or webhook ARN.
    #[serde(
        default,
        borrow,
        alias = "triggerDetail",
        skip_serializing_if = "Option::is_none"
    )]
    pub trigger_detail: Option<Str<'a>>,
    /// Source provider of a git trigger, e.g. `CodeStarSourceConnection`.
    #[serde(
        default,
        borrow,
        alias = "providerType",
        skip_serializing_if = "Option::is_none"
    )]
    pub provider_type: Option<Str<'a>>,
    /// `owner/repo` of a git trigger.
    #[serde(
        default,
        borrow,
        alias = "fullRepositoryName",
        skip_serializing_if = "Option::is_none"
    )]
    pub full_repository_name: Option<Str<'a>>,
    /// Branch of a git trigger.
    #[serde(
        default,
        borrow,
        alias = "branchName",
        skip_serializing_if = "Option::is_none"
    )]
    pub branch_name: Option<Str<'a>>,
    /// Tag of a git trigger.
    #[serde(
        default,
        borrow,
        alias = "tagName",
        skip_serializing_if = "Option::is_none"
    )]
    pub tag_name: Option<Str<'a>>,
    /// Commit of a git trigger.
    #[serde(
        default,
        borrow,
        alias = "commitId",
        skip_serializing_if = "Option::is_none"
    )]
    pub commit_id: Option<Str<'a>>,
    /// Commit message of a git trigger.
    #[serde(
        default,
        borrow,
        alias = "commitMessage",
        skip_serializing_if = "Option::is_none"
    )]
    pub commit_message: Option<Str<'a>>,
}

/// An integer that may arrive as `6`, `6.0` or `"6"`. Non-integral or out-of-range
/// values are errors, not silently rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LenientInt(pub i64);

impl<'de> Deserialize<'de> for LenientInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = LenientInt;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer, an integral float or a string holding one")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LenientInt, E> {
                Ok(LenientInt(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LenientInt, E> {
                i64::try_from(v)
                    .map(LenientInt)
                    .map_err(|_| E::custom(format!("integer {v} is out of range")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<LenientInt, E> {
                // 2^53: beyond it floats no longer hold every integer exactly.
                const EXACT: f64 = 9_007_199_254_740_992.0;
                if v.fract() == 0.0 && v.abs() <= EXACT {
                    #[allow(clippy::cast_possible_truncation)]
                    Ok(LenientInt(v as i64))
                } else {
                    Err(E::custom(format!("{v} is not an integer")))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LenientInt, E> {
                let t = v.trim();
                if let Ok(i) = t.parse::<i64>() {
                    return Ok(LenientInt(i));
                }
                match t.parse::<f64>() {
                    Ok(f) if f.is_finite() => self.visit_f64(f),
                    _ => Err(E::custom(format!("{:?} is not an integer", truncated(v)))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A JSON string that borrows from the input when it has no escapes.
///
/// serde's own `Option<Cow<str>>` always copies; this keeps parsing a batch cheap.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Str<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'a> From<&'a str> for Str<'a> {
    fn from(s: &'a str) -> Str<'a> {
        Str(Cow::Borrowed(s))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Text that may arrive as a string or as a number (kept as the number's JSON text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'a> Event<'a> {
    /// Reads an event from JSON text, with the same outcome as
    /// `serde_json::from_str::<Event>` (the same value, or the same error).
    ///
    /// A scanner made for this one shape reads the common case several times faster
    /// than serde's generic path. Whatever it is not sure of (escapes in keys, repeated
    /// keys, structs sent as arrays, nesting deeper than 64, any syntax error) it hands
    /// to serde_json, which then decides: so the scanner can only ever be slower, never
    /// different (the differential tests in `core::transform` check this). It also
    /// remembers, per thread, the separators and keys of the last event it read
    /// (`core/gaps.rs`), so that the members of the next event of the same shape are
    /// recognised with one comparison each rather than by reading their keys.
    #[inline]
    pub fn from_json(text: &'a str) -> Result<Event<'a>, serde_json::Error> {
        match scan::event(text) {
            Some(event) => Ok(event),
            None => serde_json::from_str(text),
        }
    }
}

/// Whether the scanner read `text` itself (for the differential tests).
#[cfg(test)]
pub(crate) fn scanned(text: &str) -> bool {
    scan::event(text).is_some()
}

/// The scanner behind [`Event::from_json`]. Every function returns `None` as soon as
/// the input leaves the shape it reads exactly like serde_json; `None` never means
/// "invalid", only "let serde_json decide".
mod scan {
    use std::borrow::Cow;
    use std::ops::Range;

    use super::{
        ActionType, Detail, Event, ExecutionResult, ExecutionTrigger, LenientInt, Str, Text,
    };
    use crate::core::gaps::Gaps;
    use crate::core::special::{find_json_special, skip_ws};

    /// Nesting deeper than this inside an ignored value goes to serde_json (which
    /// skips any depth without recursion); a u64 holds the kind of each level.
    const MAX_DEPTH: u32 = 64;

    /// Sets a field once: a repeated key is an error for serde's derived structs,
    /// so it goes to serde_json (`None`).
    fn set<T>(slot: &mut Option<T>, value: T) -> Option<()> {
        if slot.is_some() {
            return None;
        }
        *slot = Some(value);
        Some(())
    }

    struct Cursor<'a, 'g> {
        text: &'a str,
        bytes: &'a [u8],
        pos: usize,
        /// The gaps before each member's value in the last event of this thread.
        gaps: &'g mut Gaps,
        /// Members read so far, nested ones included: the number of the next.
        member: usize,
    }

    impl<'a> Cursor<'a, '_> {
        #[inline(always)]
        fn ws(&mut self) {
            skip_ws(self.bytes, &mut self.pos);
        }

        /// The next byte after whitespace, not consumed.
        #[inline(always)]
        fn peek(&mut self) -> Option<u8> {
            self.ws();
            self.bytes.get(self.pos).copied()
        }

        #[inline(always)]
        fn eat(&mut self, byte: u8) -> Option<()> {
            (self.peek()? == byte).then(|| self.pos += 1)
        }

        fn ident(&mut self, word: &[u8]) -> Option<()> {
            let end = self.pos + word.len();
            (self.bytes.get(self.pos..end)? == word).then(|| self.pos = end)
        }

        /// A string at the cursor (the `"` not yet consumed), validated as serde_json
        /// validates strings it skips: the byte range of its content and whether it
        /// holds escapes.
        #[inline(always)]
        fn string(&mut self) -> Option<(usize, usize, bool)> {
            self.eat(b'"')?;
            let start = self.pos;
            let mut escaped = false;
            loop {
                let i = find_json_special(self.bytes, self.pos);
                match self.bytes.get(i)? {
                    b'"' => {
                        self.pos = i + 1;
                        return Some((start, i, escaped));
                    }
                    b'\\' => {
                        escaped = true;
                        self.pos = i + match self.bytes.get(i + 1)? {
                            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 2,
                            b'u' => {
                                let hex = self.bytes.get(i + 2..i + 6)?;
                                if !hex.iter().all(u8::is_ascii_hexdigit) {
                                    return None;
                                }
                                6
                            }
                            _ => return None,
                        };
                    }
                    _ => return None, // a raw control character
                }
            }
        }

        /// A number at the cursor, checked against JSON's grammar: its text.
        fn number(&mut self) -> Option<&'a str> {
            self.ws();
            let start = self.pos;
            let digits = |c: &mut Self| {
                let from = c.pos;
                while c.bytes.get(c.pos).is_some_and(u8::is_ascii_digit) {
                    c.pos += 1;
                }
                c.pos > from
            };
            if self.bytes.get(self.pos) == Some(&b'-') {
                self.pos += 1;
            }
            match self.bytes.get(self.pos)? {
                b'0' => self.pos += 1,
                b'1'..=b'9' => {
                    digits(self);
                }
                _ => return None,
            }
            if self.bytes.get(self.pos) == Some(&b'.') {
                self.pos += 1;
                if !digits(self) {
                    return None;
                }
            }
            if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
                self.pos += 1;
                if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                    self.pos += 1;
                }
                if !digits(self) {
                    return None;
                }
            }
            self.text.get(start..self.pos)
        }

        /// An object key without escapes (serde matches field names after
        /// unescaping; escaped keys are rare enough to leave to it), and its `:`:
        /// the key's range.
        #[inline(always)]
        fn key(&mut self) -> Option<Range<usize>> {
            let (start, end, escaped) = self.string()?;
            if escaped {
                return None;
            }
            self.eat(b':')?;
            Some(start..end)
        }

        /// An object, handing each key to `field`, which must consume its value.
        fn object(
            &mut self,
            mut field: impl FnMut(&mut Self, &'a [u8]) -> Option<()>,
        ) -> Option<()> {
            self.eat(b'{')?;
            if self.peek()? == b'}' {
                self.pos += 1;
                return Some(());
            }
            let mut first = true;
            loop {
                // What comes before the value: the same as in the last event (one
                // comparison), or read and remembered.
                let at = self.pos;
                let key = match self.gaps.recognise(self.member, first, self.bytes, at) {
                    Some(known) => {
                        self.pos = known.end;
                        known.key
                    }
                    None => {
                        if !first {
                            match self.peek()? {
                                b',' => self.pos += 1,
                                b'}' => {
                                    self.pos += 1;
                                    return Some(());
                                }
                                _ => return None,
                            }
                        }
                        let key = self.key()?;
                        self.gaps
                            .learn(self.member, first, self.bytes, at, self.pos, key.clone());
                        key
                    }
                };
                self.member += 1;
                field(self, self.bytes.get(key)?)?;
                first = false;
            }
        }

        /// Skips any value, checking its syntax as serde_json's `IgnoredAny` does.
        /// Iterative, so hostile nesting cannot exhaust the stack.
        fn skip(&mut self) -> Option<()> {
            // Bit i of `kinds` is 1 when level i (from the innermost) is an object.
            let mut kinds: u64 = 0;
            let mut depth: u32 = 0;
            loop {
                // A value.
                match self.peek()? {
                    b'"' => {
                        self.string()?;
                    }
                    open @ (b'{' | b'[') => {
                        if depth == MAX_DEPTH {
                            return None;
                        }
                        self.pos += 1;
                        let object = open == b'{';
                        let close = if object { b'}' } else { b']' };
                        if self.peek()? == close {
                            self.pos += 1;
                        } else {
                            kinds = (kinds << 1) | u64::from(object);
                            depth += 1;
                            if object {
                                self.key()?;
                            }
                            continue;
                        }
                    }
                    b't' => self.ident(b"true")?,
                    b'f' => self.ident(b"false")?,
                    b'n' => self.ident(b"null")?,
                    b'-' | b'0'..=b'9' => {
                        self.number()?;
                    }
                    _ => return None,
                }
                // After a value: close finished levels, or go on after a comma.
                loop {
                    if depth == 0 {
                        return Some(());
                    }
                    let object = kinds & 1 == 1;
                    match (self.peek()?, object) {
                        (b',', _) => {
                            self.pos += 1;
                            if object {
                                self.key()?;
                            }
                            break;
                        }
                        (b'}', true) | (b']', false) => {
                            self.pos += 1;
                            kinds >>= 1;
                            depth -= 1;
                        }
                        _ => return None,
                    }
                }
            }
        }

        /// A string value. Without escapes it borrows the input, exactly as serde_json
        /// does; with escapes serde_json reads the literal itself, so the unescaping
        /// (surrogate pairs included) is its own.
        #[inline(always)]
        fn str(&mut self) -> Option<Str<'a>> {
            let (start, end, escaped) = self.string()?;
            if escaped {
                serde_json::from_str(self.text.get(start - 1..end + 1)?).ok()
            } else {
                Some(Str(Cow::Borrowed(self.text.get(start..end)?)))
            }
        }

        /// `Option<Str>`: a string or `null`.
        #[inline(always)]
        fn opt_str(&mut self) -> Option<Option<Str<'a>>> {
            match self.peek()? {
                b'"' => self.str().map(Some),
                b'n' => self.ident(b"null").map(|()| None),
                _ => None,
            }
        }

        /// `Option<Text>`: a string, a number or `null`.
        fn opt_text(&mut self) -> Option<Option<Text<'a>>> {
            match self.peek()? {
                b'"' => self.str().map(|s| Some(Text(s.0))),
                b'n' => self.ident(b"null").map(|()| None),
                b'-' | b'0'..=b'9' => {
                    let number = self.number()?;
                    // Up to 18 plain digits, u64's text is the number's own text.
                    if number.len() <= 18 && number.bytes().all(|b| b.is_ascii_digit()) {
                        Some(Some(Text(Cow::Owned(number.to_owned()))))
                    } else {
                        serde_json::from_str(number).ok().map(Some)
                    }
                }
                _ => None,
            }
        }

        /// `Option<LenientInt>`: a number, a string or `null`.
        fn opt_int(&mut self) -> Option<Option<LenientInt>> {
            match self.peek()? {
                b'n' => self.ident(b"null").map(|()| None),
                b'"' => {
                    let (start, end, _) = self.string()?;
                    serde_json::from_str(self.text.get(start - 1..end + 1)?)
                        .ok()
                        .map(Some)
                }
                b'-' | b'0'..=b'9' => {
                    let number = self.number()?;
                    // `6` and `6.0`, the forms AWS sends, read directly; up to 15
                    // digits both the integer and the float hold them exactly.
                    let whole = number.split_once('.').map_or(number, |(whole, fraction)| {
                        if fraction.bytes().all(|b| b == b'0') {
                            whole
                        } else {
                            ""
                        }
                    });
                    match whole.parse::<i64>() {
                        Ok(v) if whole.len() <= 15 && whole.bytes().all(|b| b.is_ascii_digit()) => {
                            Some(Some(LenientInt(v)))
                        }
                        _ => serde_json::from_str(number).ok().map(Some),
                    }
                }
                _ => None,
            }
        }

        /// `Option<T>` of a struct: an object or `null` (serde also accepts an array
        /// for a struct; that goes to serde_json).
        fn opt_struct<T>(
            &mut self,
            read: impl FnOnce(&mut Self) -> Option<T>,
        ) -> Option<Option<T>> {
            match self.peek()? {
                b'{' => read(self).map(Some),
                b'n' => self.ident(b"null").map(|()| None),
                _ => None,
            }
        }

        fn action_type(&mut self) -> Option<ActionType<'a>> {
            let (mut owner, mut category, mut provider, mut version) = (None, None, None, None);
            self.object(|c, key| match key {
                b"owner" => set(&mut owner, c.opt_str()?),
                b"category" => set(&mut category, c.opt_str()?),
                b"provider" => set(&mut provider, c.opt_str()?),
                b"version" => set(&mut version, c.opt_text()?),
                _ => c.skip(),
            })?;
            Some(ActionType {
                owner: owner.flatten(),
                category: category.flatten(),
                provider: provider.flatten(),
                version: version.flatten(),
            })
        }

        fn execution_result(&mut self) -> Option<ExecutionResult<'a>> {
            let (mut url, mut summary, mut id, mut code) = (None, None, None, None);
            self.object(|c, key| match key {
                b"external-execution-url" | b"externalExecutionUrl" => set(&mut url, c.opt_str()?),
                b"external-execution-summary" | b"externalExecutionSummary" => {
                    set(&mut summary, c.opt_str()?)
                }
                b"external-execution-id" | b"externalExecutionId" => set(&mut id, c.opt_str()?),
                b"error-code" | b"errorCode" => set(&mut code, c.opt_str()?),
                _ => c.skip(),
            })?;
            Some(ExecutionResult {
                external_execution_url: url.flatten(),
                external_execution_summary: summary.flatten(),
                external_execution_id: id.flatten(),
                error_code: code.flatten(),
            })
        }

        fn execution_trigger(&mut self) -> Option<ExecutionTrigger<'a>> {
            let mut f: [Option<Option<Str<'a>>>; 8] = Default::default();
            self.object(|c, key| {
                let i = match key {
                    b"trigger-type" | b"triggerType" => 0,
                    b"trigger-detail" | b"triggerDetail" => 1,
                    b"provider-type" | b"providerType" => 2,
                    b"full-repository-name" | b"fullRepositoryName" => 3,
                    b"branch-name" | b"branchName" => 4,
                    b"tag-name" | b"tagName" => 5,
                    b"commit-id" | b"commitId" => 6,
                    b"commit-message" | b"commitMessage" => 7,
                    _ => return c.skip(),
                };
                set(&mut f[i], c.opt_str()?)
            })?;
            let [a, b, p, r, br, t, ci, cm] = f;
            Some(ExecutionTrigger {
                trigger_type: a.flatten(),
                trigger_detail: b.flatten(),
                provider_type: p.flatten(),
                full_repository_name: r.flatten(),
                branch_name: br.flatten(),
                tag_name: t.flatten(),
                commit_id: ci.flatten(),
                commit_message: cm.flatten(),
            })
        }

        /// `resources`: an array of strings (serde rejects `null` for a `Vec`).
        fn strings(&mut self) -> Option<Vec<Str<'a>>> {
            self.eat(b'[')?;
            let mut out = Vec::new();
            if self.peek()? == b']' {
                self.pos += 1;
                return Some(out);
            }
            loop {
                out.push(self.str()?);
                match self.peek()? {
                    b',' => self.pos += 1,
                    b']' => {
                        self.pos += 1;
                        return Some(out);
                    }
                    _ => return None,
                }
            }
        }

        fn detail(&mut self) -> Option<Detail<'a>> {
            // The string fields, in this order.
            const STRINGS: [&[u8]; 10] = [
                b"pipeline",
                b"execution-id",
                b"state",
                b"start-time",
                b"stage",
                b"stage-last-retry-attempt-time",
                b"action",
                b"action-execution-id",
                b"region",
                b"stop-execution-comments",
            ];
            let mut s: [Option<Option<Str<'a>>>; 10] = Default::default();
            let (mut version, mut attempt) = (None, None);
            let (mut action_type, mut result, mut trigger) = (None, None, None);
            self.object(|c, key| match key {
                b"version" => set(&mut version, c.opt_int()?),
                b"pipeline-execution-attempt" => set(&mut attempt, c.opt_int()?),
                b"type" => set(&mut action_type, c.opt_struct(Self::action_type)?),
                b"execution-result" => set(&mut result, c.opt_struct(Self::execution_result)?),
                b"execution-trigger" => set(&mut trigger, c.opt_struct(Self::execution_trigger)?),
                _ => match STRINGS.iter().position(|name| *name == key) {
                    Some(i) => set(&mut s[i], c.opt_str()?),
                    None => c.skip(),
                },
            })?;
            let [
                pipeline,
                execution_id,
                state,
                start_time,
                stage,
                retry,
                action,
                action_id,
                region,
                comments,
            ] = s.map(Option::flatten);
            Some(Detail {
                pipeline,
                execution_id,
                state,
                version: version.flatten(),
                start_time,
                execution_attempt: attempt.flatten(),
                stage,
                stage_last_retry_attempt_time: retry,
                action,
                action_execution_id: action_id,
                region,
                action_type: action_type.flatten(),
                execution_result: result.flatten(),
                execution_trigger: trigger.flatten(),
                stop_execution_comments: comments,
            })
        }
    }

    /// Reads a whole event, or `None` to let serde_json decide.
    pub(super) fn event(text: &str) -> Option<Event<'_>> {
        Gaps::with(|gaps| event_with(text, gaps))
    }

    fn event_with<'a>(text: &'a str, gaps: &mut Gaps) -> Option<Event<'a>> {
        let mut c = Cursor {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            gaps,
            member: 0,
        };
        let (mut version, mut id, mut detail_type, mut source) = (None, None, None, None);
        let (mut account, mut time, mut region) = (None, None, None);
        let (mut resources, mut detail) = (None, None);
        c.object(|c, key| match key {
            b"version" => set(&mut version, c.opt_text()?),
            b"id" => set(&mut id, c.opt_str()?),
            b"detail-type" => set(&mut detail_type, c.str()?),
            b"source" => set(&mut source, c.opt_str()?),
            b"account" => set(&mut account, c.opt_str()?),
            b"time" => set(&mut time, c.str()?),
            b"region" => set(&mut region, c.opt_str()?),
            b"resources" => set(&mut resources, c.strings()?),
            b"detail" => set(&mut detail, c.detail()?),
            _ => c.skip(),
        })?;
        c.ws();
        if c.pos != c.bytes.len() {
            return None;
        }
        Some(Event {
            version: version.flatten(),
            id: id.flatten(),
            detail_type: detail_type?,
            source: source.flatten(),
            account: account.flatten(),
            time: time?,
            region: region.flatten(),
            resources: resources.unwrap_or_default(),
            detail: detail?,
        })
    }
}

fn truncated(s: &str) -> &str {
    match s.char_indices().nth(32) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(json: &str) -> Result<i64, String> {
        serde_json::from_str::<LenientInt>(json)
            .map(|v| v.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn numbers_arrive_in_every_form() {
        assert_eq!(int("6"), Ok(6));
        assert_eq!(int("6.0"), Ok(6));
        assert_eq!(int("\"6\""), Ok(6));
        assert_eq!(int("\" 6.0 \""), Ok(6));
        assert_eq!(int("-3"), Ok(-3));
        assert!(int("6.5").is_err());
        assert!(int("\"six\"").is_err());
        assert!(int("1e300").is_err());
        assert!(int("18446744073709551615").is_err());
        assert!(int("true").is_err());
        assert!(int("[6]").is_err());
        assert!(int("\"NaN\"").is_err());
    }

    #[test]
    fn text_accepts_strings_and_numbers_and_borrows() {
        let t: Text<'_> = serde_json::from_str("\"1\"").unwrap();
        assert!(matches!(t.0, Cow::Borrowed("1")));
        let t: Text<'_> = serde_json::from_str("1").unwrap();
        assert_eq!(t.0, "1");
        assert!(serde_json::from_str::<Text<'_>>("{}").is_err());
    }

    /// The scanner remembers the text before each member's value from one event to
    /// the next (core/gaps.rs); whatever came before, each event must read as serde
    /// reads it alone.
    #[test]
    fn what_the_last_event_held_never_changes_how_the_next_reads() {
        let events = [
            r#"{"detail-type":"a","time":"t","detail":{"pipeline":"p","stage":"s"}}"#,
            r#"{"detail-type":"b","time":"u","detail":{"pipeline":"q","stage":"r"}}"#,
            r#"{"time":"t","detail-type":"a","detail":{"stage":"s","pipeline":"p"}}"#,
            r#"{"detail-type":"a","time":"t","detail":{"pipeline":"p","pipeline":"q"}}"#,
            // Member 3 is `,"stage":` after a member, then the same text opening an
            // object, where a comma cannot stand.
            r#"{"detail-type":"a","time":"t","x":"1","stage":"s","detail":{}}"#,
            r#"{"detail-type":"a","time":"t","detail":{,"stage":"s"}}"#,
            r#"{"detail-type":"a","time":"t","detail":{"stage":"s"}}"#,
            r#"{"detail-type":"a","time":"t","detail":{"stage":"s",}}"#,
            r#"{"detail-type":"a","time":"t","detail":{"stage":"s" "pipeline":"p"}}"#,
            r#"{"detail-type":"a", "time":"t","detail":{"stage":{"pipeline":"p"}}}"#,
            r#"{"detail-type":"a", "time":"t","detail":{"type":{"owner":"o"},"stage":"s"}}"#,
            r#"{"detail-type":"a", "time":"t","detail":{"type":{"owner":"o"},"stage":"s"}} x"#,
            r#"{"detail-type":"a", "time":"t","detail":{"type":{"owner":"o"},"stage":"s""#,
            r#"{"detail-type":"a", "time":"t","detail":{"type":{"owner":"o"},"stage":"s"}}"#,
            r#"{"detail-type":"a", "time":"t","detail":{"type":{"stage":"o"},"owner":"s"}}"#,
            r#"{"detail-type":"a", "time":"t","detail":{"type":{"owner":"o"},"stag\u0065":"s"}}"#,
        ];
        fn alone(text: &str) -> Result<Event<'_>, String> {
            serde_json::from_str(text).map_err(|e| e.to_string())
        }
        // Forwards, backwards, and each after every other.
        let mut order: Vec<usize> = (0..events.len()).chain((0..events.len()).rev()).collect();
        for i in 0..events.len() {
            for j in 0..events.len() {
                order.extend([i, j]);
            }
        }
        let mut scanned_any = false;
        for i in order {
            let text = events[i];
            assert_eq!(
                Event::from_json(text).map_err(|e| e.to_string()),
                alone(text),
                "{text}"
            );
            scanned_any |= scanned(text);
        }
        assert!(scanned_any);
    }

    #[test]
    fn trigger_accepts_kebab_and_camel_case_keys() {
        let t: ExecutionTrigger<'_> = serde_json::from_str(
            r#"{"trigger-type":"WebhookV2","branchName":"main","commit-id":"abc","x":1}"#,
        )
        .unwrap();
        assert_eq!(t.trigger_type.as_deref(), Some("WebhookV2"));
        assert_eq!(t.branch_name.as_deref(), Some("main"));
        assert_eq!(t.commit_id.as_deref(), Some("abc"));
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"triggerType":"WebhookV2","branchName":"main","commitId":"abc"}"#
        );
    }
}
