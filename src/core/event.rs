//! The CodePipeline EventBridge event model: a lenient, borrowing view of the three
//! detail-types (pipeline, stage and action execution state changes).
//!
//! Lenient where AWS is loose (numbers as floats, integers or strings; unknown fields
//! ignored; unknown states kept verbatim), strict where a wrong value would corrupt
//! the log (wrong types of known fields, non-integral versions). Strings borrow from
//! the input when they carry no escapes, so parsing a batch allocates little.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// The EventBridge envelope of a CodePipeline event.
#[derive(Debug, Clone, Deserialize)]
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
#[derive(Debug, Clone, Default, Deserialize)]
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
