//! CodePipeline's own execution history, read with the SDK for `cplogs backfill` and
//! `cplogs coverage`: pipelines, their executions and every action attempt, as plain
//! owned values (so the event synthesis in `ingest::backfill` never sees SDK types),
//! with the calls made counted per operation.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_codepipeline::types::{ActionExecutionFilter, ActionExecutionStatus};
use chrono::{DateTime, Utc};

/// A pipeline in one account and region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PipelineRef {
    /// Its account.
    pub account: String,
    /// Its region.
    pub region: String,
    /// Its name.
    pub name: String,
}

impl PipelineRef {
    /// Its ARN, as EventBridge puts it in `resources[0]`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:codepipeline:{}:{}:{}",
            self.region, self.account, self.name
        )
    }
}

/// One pipeline execution as ListPipelineExecutions gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// `pipelineExecutionId`.
    pub id: String,
    /// `status` as the API spells it (`Succeeded`, `InProgress`, …).
    pub status: String,
    /// `startTime`.
    pub start: DateTime<Utc>,
    /// `lastUpdateTime`: when it reached its current status.
    pub last_update: DateTime<Utc>,
    /// `trigger.triggerType`.
    pub trigger_type: Option<String>,
    /// `trigger.triggerDetail`.
    pub trigger_detail: Option<String>,
    /// The first source revision's `revisionId` (a commit id for git sources).
    pub commit_id: Option<String>,
    /// The first source revision's commit message (`revisionSummary`, or its
    /// `CommitMessage` when the summary is JSON, as for connections).
    pub commit_message: Option<String>,
    /// `stopTrigger.reason`.
    pub stop_reason: Option<String>,
}

impl Execution {
    /// Whether it has ended (a terminal status); running and stopping ones have not.
    pub fn ended(&self) -> bool {
        pipeline_state(&self.status).is_some_and(|s| s != "STARTED" && s != "STOPPING")
    }
}

/// EventBridge's state for an API pipeline execution status (`None`: unknown).
pub fn pipeline_state(status: &str) -> Option<&'static str> {
    Some(match status {
        "InProgress" => "STARTED",
        "Stopping" => "STOPPING",
        "Stopped" => "STOPPED",
        "Succeeded" => "SUCCEEDED",
        "Superseded" => "SUPERSEDED",
        "Failed" => "FAILED",
        "Cancelled" => "CANCELED",
        _ => return None,
    })
}

/// One action attempt as ListActionExecutions gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRun {
    /// `pipelineExecutionId`.
    pub execution_id: String,
    /// `actionExecutionId`.
    pub action_execution_id: String,
    /// `pipelineVersion`.
    pub pipeline_version: Option<i64>,
    /// `stageName`.
    pub stage: String,
    /// `actionName`.
    pub action: String,
    /// `startTime`.
    pub start: DateTime<Utc>,
    /// `lastUpdateTime`.
    pub last_update: DateTime<Utc>,
    /// EventBridge's state for `status`: STARTED (in progress), SUCCEEDED, FAILED,
    /// ABANDONED.
    pub state: &'static str,
    /// `input.actionTypeId`: owner, category, provider, version.
    pub action_type: Option<[String; 4]>,
    /// `input.region`.
    pub region: Option<String>,
    /// `output.executionResult.externalExecutionId`.
    pub external_id: Option<String>,
    /// `output.executionResult.externalExecutionSummary`.
    pub external_summary: Option<String>,
    /// `output.executionResult.externalExecutionUrl`.
    pub external_url: Option<String>,
    /// `output.executionResult.errorDetails.code`.
    pub error_code: Option<String>,
}

/// API calls made, per operation (shared by concurrent tasks).
#[derive(Debug, Default)]
pub struct Calls {
    /// ListPipelines pages.
    pub list_pipelines: AtomicU64,
    /// ListPipelineExecutions pages.
    pub list_pipeline_executions: AtomicU64,
    /// ListActionExecutions pages.
    pub list_action_executions: AtomicU64,
    /// GetPipelineExecution calls.
    pub get_pipeline_execution: AtomicU64,
}

impl Calls {
    /// `(operation, calls)` for every operation, in a fixed order.
    pub fn by_operation(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("ListPipelines", self.list_pipelines.load(Ordering::Relaxed)),
            (
                "ListPipelineExecutions",
                self.list_pipeline_executions.load(Ordering::Relaxed),
            ),
            (
                "ListActionExecutions",
                self.list_action_executions.load(Ordering::Relaxed),
            ),
            (
                "GetPipelineExecution",
                self.get_pipeline_execution.load(Ordering::Relaxed),
            ),
        ]
    }

    /// All calls.
    pub fn total(&self) -> u64 {
        self.by_operation().iter().map(|(_, n)| n).sum()
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A failed call: the operation, the pipeline if any, and the service's message.
#[derive(Debug, thiserror::Error)]
#[error("{operation}{}: {message}", pipeline.as_ref().map(|p| format!(" {p}")).unwrap_or_default())]
pub struct ApiError {
    /// The operation.
    pub operation: &'static str,
    /// The pipeline it was about.
    pub pipeline: Option<String>,
    /// The error code (`AccessDeniedException`, …), when the service sent one.
    pub code: Option<String>,
    /// What went wrong.
    pub message: String,
}

fn api_error<E>(operation: &'static str, pipeline: Option<&str>, e: &E) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    ApiError {
        operation,
        pipeline: pipeline.map(str::to_owned),
        code: e.code().map(str::to_owned),
        message: DisplayErrorContext(e).to_string(),
    }
}

/// An API time, to the nearest millisecond: JSON carries fractional epoch seconds
/// (`…123.456`), which the SDK's float step can turn into `.455999999`.
fn time(t: Option<&aws_sdk_codepipeline::primitives::DateTime>) -> Option<DateTime<Utc>> {
    let t = t?;
    let millis = (i128::from(t.secs()) * 1000
        + (i128::from(t.subsec_nanos()) + 500_000) / 1_000_000)
        .try_into()
        .ok()?;
    DateTime::from_timestamp_millis(millis)
}

/// Every pipeline name the caller can see in the client's region (all pages).
pub async fn list_pipelines(client: &Client, calls: &Calls) -> Result<Vec<String>, ApiError> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        bump(&calls.list_pipelines);
        let out = client
            .list_pipelines()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| api_error("ListPipelines", None, &e))?;
        names.extend(
            out.pipelines()
                .iter()
                .filter_map(|p| p.name().map(str::to_owned)),
        );
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// The commit message of a source revision summary: connections (GitHub, GitLab,
/// Bitbucket) send JSON with `CommitMessage`; CodeCommit and S3 send the text.
fn commit_message(summary: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Summary {
        #[serde(rename = "CommitMessage")]
        commit_message: Option<String>,
    }
    match serde_json::from_str::<Summary>(summary) {
        Ok(Summary {
            commit_message: Some(m),
        }) => m,
        _ => summary.to_owned(),
    }
}

/// The executions of `pipeline` that started at or after `since`, newest first (the
/// API's order): pages are read until one reaches back before `since`.
pub async fn list_executions(
    client: &Client,
    pipeline: &str,
    since: DateTime<Utc>,
    calls: &Calls,
) -> Result<Vec<Execution>, ApiError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        bump(&calls.list_pipeline_executions);
        let page = client
            .list_pipeline_executions()
            .pipeline_name(pipeline)
            .max_results(100)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| api_error("ListPipelineExecutions", Some(pipeline), &e))?;
        let mut reached_since = false;
        for s in page.pipeline_execution_summaries() {
            let (Some(id), Some(start)) = (s.pipeline_execution_id(), time(s.start_time())) else {
                continue;
            };
            if start < since {
                reached_since = true;
                continue;
            }
            let revision = s.source_revisions().first();
            out.push(Execution {
                id: id.to_owned(),
                status: s
                    .status()
                    .map(|x| x.as_str().to_owned())
                    .unwrap_or_default(),
                start,
                last_update: time(s.last_update_time()).unwrap_or(start),
                trigger_type: s
                    .trigger()
                    .and_then(|t| t.trigger_type())
                    .map(|t| t.as_str().to_owned()),
                trigger_detail: s
                    .trigger()
                    .and_then(|t| t.trigger_detail())
                    .map(str::to_owned),
                commit_id: revision.and_then(|r| r.revision_id()).map(str::to_owned),
                commit_message: revision
                    .and_then(|r| r.revision_summary())
                    .map(commit_message),
                stop_reason: s.stop_trigger().and_then(|t| t.reason()).map(str::to_owned),
            });
        }
        match page.next_token() {
            Some(t) if !t.is_empty() && !reached_since => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(out)
}

fn action_state(status: Option<&ActionExecutionStatus>) -> &'static str {
    match status {
        Some(ActionExecutionStatus::Succeeded) => "SUCCEEDED",
        Some(ActionExecutionStatus::Failed) => "FAILED",
        Some(ActionExecutionStatus::Abandoned) => "ABANDONED",
        _ => "STARTED",
    }
}

/// The action attempts of `pipeline` that started at or after `since`, newest first,
/// 100 per call: of all its executions (one listing for the whole history), or of
/// one execution when `execution` is given.
pub async fn list_action_runs(
    client: &Client,
    pipeline: &str,
    since: DateTime<Utc>,
    execution: Option<&str>,
    calls: &Calls,
) -> Result<Vec<ActionRun>, ApiError> {
    let filter = execution.map(|id| {
        ActionExecutionFilter::builder()
            .pipeline_execution_id(id)
            .build()
    });
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        bump(&calls.list_action_executions);
        let page = client
            .list_action_executions()
            .pipeline_name(pipeline)
            .set_filter(filter.clone())
            .max_results(100)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| api_error("ListActionExecutions", Some(pipeline), &e))?;
        let mut reached_since = false;
        for d in page.action_execution_details() {
            let (Some(exec), Some(id), Some(start)) = (
                d.pipeline_execution_id(),
                d.action_execution_id(),
                time(d.start_time()),
            ) else {
                continue;
            };
            if start < since {
                reached_since = true;
                continue;
            }
            let input = d.input();
            let result = d.output().and_then(|o| o.execution_result());
            out.push(ActionRun {
                execution_id: exec.to_owned(),
                action_execution_id: id.to_owned(),
                pipeline_version: d.pipeline_version().map(i64::from),
                stage: d.stage_name().unwrap_or_default().to_owned(),
                action: d.action_name().unwrap_or_default().to_owned(),
                start,
                last_update: time(d.last_update_time()).unwrap_or(start),
                state: action_state(d.status()),
                action_type: input.and_then(|i| i.action_type_id()).map(|t| {
                    [
                        t.owner().as_str().to_owned(),
                        t.category().as_str().to_owned(),
                        t.provider().to_owned(),
                        t.version().to_owned(),
                    ]
                }),
                region: input.and_then(|i| i.region()).map(str::to_owned),
                external_id: result
                    .and_then(|r| r.external_execution_id())
                    .map(str::to_owned),
                external_summary: result
                    .and_then(|r| r.external_execution_summary())
                    .map(str::to_owned),
                external_url: result
                    .and_then(|r| r.external_execution_url())
                    .map(str::to_owned),
                error_code: result
                    .and_then(|r| r.error_details())
                    .and_then(|e| e.code())
                    .map(str::to_owned),
            });
        }
        match page.next_token() {
            Some(t) if !t.is_empty() && !reached_since => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(out)
}

/// The pipeline version an execution ran (GetPipelineExecution), for executions
/// without action attempts to take it from.
pub async fn execution_version(
    client: &Client,
    pipeline: &str,
    execution: &str,
    calls: &Calls,
) -> Result<Option<i64>, ApiError> {
    bump(&calls.get_pipeline_execution);
    let out = client
        .get_pipeline_execution()
        .pipeline_name(pipeline)
        .pipeline_execution_id(execution)
        .send()
        .await
        .map_err(|e| api_error("GetPipelineExecution", Some(pipeline), &e))?;
    Ok(out
        .pipeline_execution()
        .and_then(|e| e.pipeline_version())
        .map(i64::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_messages_from_connections_and_codecommit() {
        assert_eq!(
            commit_message(r#"{"ProviderType":"GitHub","CommitMessage":"Fix it"}"#),
            "Fix it"
        );
        assert_eq!(commit_message("Plain message"), "Plain message");
        assert_eq!(commit_message(r#"{"Other":1}"#), r#"{"Other":1}"#);
    }

    #[test]
    fn api_times_round_to_the_millisecond() {
        use aws_sdk_codepipeline::primitives::DateTime as Api;
        let t = time(Some(&Api::from_secs_f64(1_764_500_000.123))).unwrap();
        assert_eq!(t.timestamp_millis(), 1_764_500_000_123);
        let t = time(Some(&Api::from_secs_and_nanos(5, 999_999_999))).unwrap();
        assert_eq!(t.timestamp_millis(), 6_000);
        assert_eq!(time(None), None);
    }

    #[test]
    fn ended_means_a_terminal_status() {
        for (status, ended) in [
            ("Succeeded", true),
            ("Failed", true),
            ("Stopped", true),
            ("Superseded", true),
            ("Cancelled", true),
            ("InProgress", false),
            ("Stopping", false),
            ("SomethingNew", false),
        ] {
            let e = Execution {
                id: "e".into(),
                status: status.into(),
                start: DateTime::UNIX_EPOCH,
                last_update: DateTime::UNIX_EPOCH,
                trigger_type: None,
                trigger_detail: None,
                commit_id: None,
                commit_message: None,
                stop_reason: None,
            };
            assert_eq!(e.ended(), ended, "{status}");
        }
    }
}
