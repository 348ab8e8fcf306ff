//! The EventBridge events CodePipeline would have sent for one ended execution, made
//! from what its APIs still list (`aws::codepipeline`): the pipeline's STARTED and
//! terminal events, each action attempt's STARTED and terminal events, and stage
//! events derived from the actions (the API lists no stage history). They carry
//! deterministic ids (`backfill-<hash>`), so writing the same execution twice gives
//! the same events, and then go through the one transform like live events.
//!
//! What the API cannot give is left out, never guessed: a stopped execution has no
//! STOPPING event, triggers carry no branch, tag, repository or provider type, and
//! derived stage and retry events take the time of the action they follow from
//! (sql/README.md lists these differences).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::aws::codepipeline::{ActionRun, Execution, PipelineRef, pipeline_state};

/// The prefix of every synthesized event id.
pub const ID_PREFIX: &str = "backfill-";

const PIPELINE: &str = "CodePipeline Pipeline Execution State Change";
const STAGE: &str = "CodePipeline Stage Execution State Change";
const ACTION: &str = "CodePipeline Action Execution State Change";

/// EventBridge's `time`: whole seconds, UTC.
fn event_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn ms(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One synthesized event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synthesized {
    /// Its id (`backfill-<hash>`).
    pub id: String,
    /// The EventBridge event, JSON.
    pub body: Vec<u8>,
}

/// A synthesized event's id: a hash of what makes it unique within the execution
/// (`key`: state, attempt, and stage, action and attempt id where they apply).
fn event_id(arn: &str, execution: &str, detail_type: &str, key: &str) -> String {
    format!(
        "{ID_PREFIX}{}",
        crate::hash::hex128(&format!("{arn}\n{execution}\n{detail_type}\n{key}"))
    )
}

fn pipeline_key(state: &str, attempt: u32) -> String {
    format!("{state}\n{attempt}")
}

/// The id of an execution's synthesized pipeline STARTED event. Backfill writes an
/// execution's action and stage files before its pipeline files, and those newest
/// day first, so when this event is stored every other event of the execution is.
pub fn started_id(pipeline: &PipelineRef, execution: &str) -> String {
    event_id(
        &pipeline.arn(),
        execution,
        PIPELINE,
        &pipeline_key("STARTED", 1),
    )
}

/// Builds the events of one execution.
struct Events<'a> {
    pipeline: &'a PipelineRef,
    arn: String,
    execution: &'a Execution,
    version: Option<i64>,
    out: Vec<Synthesized>,
}

impl Events<'_> {
    fn base(&self, state: &str, attempt: u32) -> Map<String, Value> {
        let mut d = Map::new();
        d.insert("pipeline".into(), json!(self.pipeline.name));
        d.insert("execution-id".into(), json!(self.execution.id));
        d.insert("start-time".into(), json!(ms(self.execution.start)));
        d.insert("state".into(), json!(state));
        if let Some(v) = self.version {
            d.insert("version".into(), json!(v));
        }
        d.insert("pipeline-execution-attempt".into(), json!(attempt));
        d
    }

    /// Queues one event; its id hashes what makes it unique within the execution.
    fn emit(
        &mut self,
        detail_type: &str,
        time: DateTime<Utc>,
        key: &str,
        detail: Map<String, Value>,
    ) {
        let id = event_id(&self.arn, &self.execution.id, detail_type, key);
        let event = json!({
            "version": "0",
            "id": id,
            "detail-type": detail_type,
            "source": "aws.codepipeline",
            "account": self.pipeline.account,
            "time": event_time(time),
            "region": self.pipeline.region,
            "resources": [self.arn],
            "detail": detail,
        });
        if let Ok(body) = serde_json::to_vec(&event) {
            self.out.push(Synthesized { id, body });
        }
    }

    fn pipeline_event(
        &mut self,
        time: DateTime<Utc>,
        state: &str,
        attempt: u32,
        extra: Map<String, Value>,
    ) {
        let mut d = self.base(state, attempt);
        d.extend(extra);
        self.emit(PIPELINE, time, &pipeline_key(state, attempt), d);
    }

    fn stage_event(&mut self, time: DateTime<Utc>, stage: &str, state: &str, attempt: u32) {
        let mut d = self.base(state, attempt);
        d.insert("stage".into(), json!(stage));
        if state == "RESUMED" {
            d.insert("stage-last-retry-attempt-time".into(), json!(ms(time)));
        }
        self.emit(STAGE, time, &format!("{stage}\n{state}\n{attempt}"), d);
    }

    fn action_event(&mut self, run: &ActionRun, state: &str, attempt: u32) {
        let mut d = self.base(state, attempt);
        d.insert("stage".into(), json!(run.stage));
        d.insert("action".into(), json!(run.action));
        d.insert("action-execution-id".into(), json!(run.action_execution_id));
        if let Some(region) = &run.region {
            d.insert("region".into(), json!(region));
        }
        if let Some([owner, category, provider, version]) = &run.action_type {
            d.insert(
                "type".into(),
                json!({"owner": owner, "category": category, "provider": provider, "version": version}),
            );
        }
        let time = if state == "STARTED" {
            run.start
        } else {
            let mut result = Map::new();
            for (k, v) in [
                ("external-execution-url", &run.external_url),
                ("external-execution-summary", &run.external_summary),
                ("external-execution-id", &run.external_id),
                ("error-code", &run.error_code),
            ] {
                if let Some(v) = v {
                    result.insert(k.into(), json!(v));
                }
            }
            if !result.is_empty() {
                d.insert("execution-result".into(), Value::Object(result));
            }
            run.last_update
        };
        let key = format!(
            "{}\n{}\n{}\n{state}",
            run.stage, run.action, run.action_execution_id
        );
        self.emit(ACTION, time, &key, d);
    }
}

/// The events of `execution` of `pipeline` (JSON bodies, in time order within each
/// table), from its action attempts `runs` (any order; only this execution's) and
/// the pipeline version when no attempt carries one. An execution that has not
/// ended gives none: its events are live events' to write.
pub fn synthesize(
    pipeline: &PipelineRef,
    execution: &Execution,
    runs: &[&ActionRun],
    version: Option<i64>,
) -> Vec<Synthesized> {
    let Some(terminal) = pipeline_state(&execution.status).filter(|_| execution.ended()) else {
        return Vec::new();
    };
    let mut runs: Vec<&ActionRun> = runs.to_vec();
    runs.sort_by(|a, b| {
        (a.start, a.last_update, &a.action_execution_id).cmp(&(
            b.start,
            b.last_update,
            &b.action_execution_id,
        ))
    });
    let mut ev = Events {
        pipeline,
        arn: pipeline.arn(),
        execution,
        version: runs.iter().find_map(|r| r.pipeline_version).or(version),
        out: Vec::new(),
    };
    let mut started = Map::new();
    let mut trigger = Map::new();
    for (k, v) in [
        ("trigger-type", &execution.trigger_type),
        ("trigger-detail", &execution.trigger_detail),
        ("commit-id", &execution.commit_id),
        ("commit-message", &execution.commit_message),
    ] {
        if let Some(v) = v {
            trigger.insert(k.into(), json!(v));
        }
    }
    if !trigger.is_empty() {
        started.insert("execution-trigger".into(), Value::Object(trigger));
    }
    ev.pipeline_event(execution.start, "STARTED", 1, started);

    // Stages in the order they started; within a stage, round r holds each action's
    // r-th attempt (a retry re-runs the failed actions of the stage).
    let mut stages: Vec<(&str, Vec<Vec<&ActionRun>>)> = Vec::new();
    for run in &runs {
        let i = match stages.iter().position(|(s, _)| *s == run.stage) {
            Some(i) => i,
            None => {
                stages.push((&run.stage, Vec::new()));
                stages.len() - 1
            }
        };
        let rounds = &mut stages[i].1;
        let round = rounds
            .iter()
            .position(|r| !r.iter().any(|x| x.action == run.action))
            .unwrap_or(rounds.len());
        if round == rounds.len() {
            rounds.push(Vec::new());
        }
        rounds[round].push(run);
    }
    let mut attempt = 1;
    for (stage, rounds) in &stages {
        let first = rounds[0]
            .iter()
            .map(|r| r.start)
            .min()
            .unwrap_or(execution.start);
        ev.stage_event(first, stage, "STARTED", attempt);
        for (r, round) in rounds.iter().enumerate() {
            if r > 0 {
                // The previous round failed; someone retried the stage.
                let failed_at = rounds[r - 1]
                    .iter()
                    .filter(|x| x.state == "FAILED")
                    .map(|x| x.last_update)
                    .max()
                    .unwrap_or(first);
                ev.stage_event(failed_at, stage, "FAILED", attempt);
                ev.pipeline_event(failed_at, "FAILED", attempt, Map::new());
                let resumed_at = round.iter().map(|x| x.start).min().unwrap_or(failed_at);
                attempt += 1;
                ev.pipeline_event(resumed_at, "RESUMED", attempt, Map::new());
                ev.stage_event(resumed_at, stage, "RESUMED", attempt);
            }
            for run in round {
                ev.action_event(run, "STARTED", attempt);
                if run.state != "STARTED" {
                    ev.action_event(run, run.state, attempt);
                }
            }
        }
        // The stage ends as the latest attempt of each of its actions did.
        let mut latest: Vec<&ActionRun> = Vec::new();
        for round in rounds {
            for run in round {
                latest.retain(|x| x.action != run.action);
                latest.push(run);
            }
        }
        let end_of = |state: &str| {
            latest
                .iter()
                .filter(|x| x.state == state)
                .map(|x| x.last_update)
                .max()
        };
        let outcome = if latest.iter().any(|x| x.state == "STARTED") {
            None
        } else if let Some(t) = end_of("FAILED") {
            Some(("FAILED", t))
        } else if let Some(t) = end_of("ABANDONED") {
            Some(("STOPPED", t))
        } else {
            end_of("SUCCEEDED").map(|t| ("SUCCEEDED", t))
        };
        if let Some((state, t)) = outcome {
            ev.stage_event(t, stage, state, attempt);
        }
    }

    let mut end = Map::new();
    if terminal == "STOPPED"
        && let Some(reason) = &execution.stop_reason
    {
        end.insert("stop-execution-comments".into(), json!(reason));
    }
    ev.pipeline_event(execution.last_update, terminal, attempt, end);
    ev.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::transform::transform_into;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn pipeline() -> PipelineRef {
        PipelineRef {
            account: "123456789012".into(),
            region: "eu-west-1".into(),
            name: "payments-api".into(),
        }
    }

    fn execution(status: &str) -> Execution {
        Execution {
            id: "e-1".into(),
            status: status.into(),
            start: at("2026-11-03T10:00:00.250Z"),
            last_update: at("2026-11-03T10:40:00Z"),
            trigger_type: Some("WebhookV2".into()),
            trigger_detail: Some("arn:aws:codeconnections:x".into()),
            commit_id: Some("abc123".into()),
            commit_message: Some("Fix it".into()),
            stop_reason: Some("hotfix".into()),
        }
    }

    fn run(
        stage: &str,
        action: &str,
        id: &str,
        start: &str,
        end: &str,
        state: &'static str,
    ) -> ActionRun {
        ActionRun {
            execution_id: "e-1".into(),
            action_execution_id: id.into(),
            pipeline_version: Some(7),
            stage: stage.into(),
            action: action.into(),
            start: at(start),
            last_update: at(end),
            state,
            action_type: Some(["AWS".into(), "Build".into(), "CodeBuild".into(), "1".into()]),
            region: Some("eu-west-1".into()),
            external_id: Some("build-1".into()),
            external_summary: Some("done".into()),
            external_url: Some("https://example.com/b".into()),
            error_code: (state == "FAILED").then(|| "JobFailed".to_owned()),
        }
    }

    /// (table, state, time, attempt) of each event, through the real transform.
    fn records(events: &[Synthesized]) -> Vec<(String, String, String, i64, Value)> {
        events
            .iter()
            .map(|e| {
                let mut line = Vec::new();
                let routed = transform_into(&e.body, None, &mut line).expect("transforms");
                assert!(std::str::from_utf8(&line).unwrap().contains(&e.id));
                let r: Value = serde_json::from_slice(&line).unwrap();
                (
                    routed.table.name().to_owned(),
                    r["state"].as_str().unwrap().to_owned(),
                    r["timestamp"].as_str().unwrap().to_owned(),
                    r["executionAttempt"].as_i64().unwrap(),
                    r,
                )
            })
            .collect()
    }

    #[test]
    fn a_retried_stage_gives_failed_resumed_and_a_second_attempt() {
        let runs = [
            run(
                "Source",
                "Source",
                "a1",
                "2026-11-03T10:00:02Z",
                "2026-11-03T10:00:10Z",
                "SUCCEEDED",
            ),
            run(
                "Build",
                "Build",
                "a2",
                "2026-11-03T10:00:12Z",
                "2026-11-03T10:05:00Z",
                "FAILED",
            ),
            run(
                "Build",
                "Build",
                "a3",
                "2026-11-03T10:20:00Z",
                "2026-11-03T10:39:00Z",
                "SUCCEEDED",
            ),
        ];
        let refs: Vec<&ActionRun> = runs.iter().rev().collect();
        let events = synthesize(&pipeline(), &execution("Succeeded"), &refs, None);
        let recs = records(&events);
        let summary: Vec<(&str, &str, &str, i64)> = recs
            .iter()
            .map(|(t, s, ts, a, _)| (&t[..5], s.as_str(), ts.as_str(), *a))
            .collect();
        assert_eq!(
            summary,
            [
                ("pipel", "STARTED", "2026-11-03T10:00:00Z", 1),
                ("stage", "STARTED", "2026-11-03T10:00:02Z", 1),
                ("actio", "STARTED", "2026-11-03T10:00:02Z", 1),
                ("actio", "SUCCEEDED", "2026-11-03T10:00:10Z", 1),
                ("stage", "SUCCEEDED", "2026-11-03T10:00:10Z", 1),
                ("stage", "STARTED", "2026-11-03T10:00:12Z", 1),
                ("actio", "STARTED", "2026-11-03T10:00:12Z", 1),
                ("actio", "FAILED", "2026-11-03T10:05:00Z", 1),
                ("stage", "FAILED", "2026-11-03T10:05:00Z", 1),
                ("pipel", "FAILED", "2026-11-03T10:05:00Z", 1),
                ("pipel", "RESUMED", "2026-11-03T10:20:00Z", 2),
                ("stage", "RESUMED", "2026-11-03T10:20:00Z", 2),
                ("actio", "STARTED", "2026-11-03T10:20:00Z", 2),
                ("actio", "SUCCEEDED", "2026-11-03T10:39:00Z", 2),
                ("stage", "SUCCEEDED", "2026-11-03T10:39:00Z", 2),
                ("pipel", "SUCCEEDED", "2026-11-03T10:40:00Z", 2),
            ]
        );
        // Fields: the trigger on STARTED, the version from the attempts, the result
        // and error code on the failed attempt, the ARN and ids.
        let started = &recs[0].4;
        assert_eq!(started["executionTrigger"]["commitId"], "abc123");
        assert_eq!(started["executionTrigger"]["commitMessage"], "Fix it");
        assert_eq!(started["executionTrigger"]["branchName"], Value::Null);
        assert_eq!(started["version"], "7");
        assert_eq!(started["startTime"], "2026-11-03T10:00:00.250Z");
        assert_eq!(
            started["pipelineArn"],
            "arn:aws:codepipeline:eu-west-1:123456789012:payments-api"
        );
        assert_eq!(started["account"], "123456789012");
        let failed = &recs[7].4;
        assert_eq!(failed["executionResult"]["errorCode"], "JobFailed");
        assert_eq!(failed["actionExecutionId"], "a2");
        assert_eq!(failed["type"]["provider"], "CodeBuild");
        // Ids: deterministic, distinct, marked.
        let ids: std::collections::BTreeSet<&str> = recs
            .iter()
            .map(|r| r.4["eventId"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), recs.len());
        assert!(ids.iter().all(|i| i.starts_with(ID_PREFIX)));
        assert_eq!(
            events,
            synthesize(&pipeline(), &execution("Succeeded"), &refs, None)
        );
        assert_eq!(events[0].id, started_id(&pipeline(), "e-1"));
    }

    #[test]
    fn running_executions_give_nothing_and_stopped_ones_carry_the_reason() {
        let runs = [run(
            "Build",
            "Build",
            "a1",
            "2026-11-03T10:00:02Z",
            "2026-11-03T10:10:00Z",
            "ABANDONED",
        )];
        let refs: Vec<&ActionRun> = runs.iter().collect();
        assert!(synthesize(&pipeline(), &execution("InProgress"), &refs, None).is_empty());
        assert!(synthesize(&pipeline(), &execution("Stopping"), &refs, None).is_empty());
        let recs = records(&synthesize(&pipeline(), &execution("Stopped"), &refs, None));
        let states: Vec<&str> = recs.iter().map(|r| r.1.as_str()).collect();
        assert_eq!(
            states,
            [
                "STARTED",
                "STARTED",
                "STARTED",
                "ABANDONED",
                "STOPPED",
                "STOPPED"
            ]
        );
        assert_eq!(recs[5].4["stopExecutionComments"], "hotfix");
        // No attempts: the version comes from the caller, no stage events.
        let recs = records(&synthesize(
            &pipeline(),
            &execution("Superseded"),
            &[],
            Some(3),
        ));
        let states: Vec<&str> = recs.iter().map(|r| r.1.as_str()).collect();
        assert_eq!(states, ["STARTED", "SUPERSEDED"]);
        assert_eq!(recs[1].4["version"], "3");
    }
}
