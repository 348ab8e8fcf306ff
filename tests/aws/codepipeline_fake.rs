//! The fake CodePipeline (tests/common/codepipeline) through the real SDK client: the
//! history it folds from the demo's events matches the events, paging through every
//! operation yields exactly that history newest first, errors arrive as the SDK's
//! typed errors, and injected faults (throttling, 500s, denied regions, latency) are
//! retried or reported as AWS's would be. Needs no moto, only the fake.
//!
//! One cohesive thing (over 400 lines): the fake's contract, one test per promise.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::config::retry::RetryConfig;
use aws_sdk_codepipeline::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::primitives::DateTime as SdkTime;
use aws_sdk_codepipeline::types::ActionExecutionFilter;
use cplogs::ingest::demo::{DemoConfig, EventLines, generate_events};
use serde_json::Value;

use crate::common::at;
use crate::common::codepipeline::{
    ActionStatus, ExecutionInfo, ExecutionStatus, FakeCodePipeline, History,
};

/// The demo alternates two accounts between pipelines; this one has half of them.
const ACCOUNT: &str = "123456789012";

fn config() -> DemoConfig {
    let mut config = DemoConfig::new(at("2026-03-04T15:00:00Z"));
    config.pipelines = 6;
    config.days = 3;
    config.seed = 11;
    config.runs_per_day = 8.0;
    config
}

/// The demo's events as JSON, in arrival order.
fn events() -> Vec<Vec<u8>> {
    let mut lines = EventLines::new(Vec::new());
    generate_events(&config(), &mut lines, |_| {}).unwrap();
    let out = lines.finish().unwrap();
    out.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// A client of the fake in `region`, retrying fast (3 attempts, 1 ms backoff).
fn client(fake: &FakeCodePipeline, region: &str) -> Client {
    let config = aws_sdk_codepipeline::Config::builder()
        .endpoint_url(fake.endpoint())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .behavior_version(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .build();
    Client::from_conf(config)
}

/// Milliseconds, rounded: the SDK truncates fractional epoch seconds to nanoseconds
/// through an f64, so 1.234 s can come back as 1.233999999 s.
fn ms(t: &SdkTime) -> i64 {
    (t.as_nanos() + 500_000).div_euclid(1_000_000) as i64
}

fn group<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> (String, String),
) -> BTreeMap<(String, String), Vec<T>> {
    let mut out: BTreeMap<(String, String), Vec<T>> = BTreeMap::new();
    for item in items {
        out.entry(key(&item)).or_default().push(item);
    }
    out
}

#[test]
fn the_history_is_the_events_folded() {
    let events = events();
    let history = History::from_events(&events, ACCOUNT);
    // Streaming the generator into the fold gives the same history.
    let demo = History::demo(&config(), ACCOUNT);
    assert_eq!(history.executions(), demo.executions());
    assert_eq!(history.actions(), demo.actions());
    // Arrival order and duplicate deliveries do not matter.
    let shuffled = History::from_events(events.iter().rev().chain(&events), ACCOUNT);
    assert_eq!(history.executions(), shuffled.executions());
    assert_eq!(history.actions(), shuffled.actions());

    // What the events say, read independently: each action's one final state (or
    // none), each execution's latest pipeline state (their times differ).
    let mut action_final: HashMap<String, (String, Option<String>)> = HashMap::new();
    let mut exec_latest: HashMap<String, (String, String)> = HashMap::new();
    let mut other_account = 0;
    for e in &events {
        let v: Value = serde_json::from_slice(e).unwrap();
        if v["account"] != ACCOUNT {
            other_account += 1;
            continue;
        }
        let d = &v["detail"];
        let exec = d["execution-id"].as_str().unwrap().to_owned();
        let state = d["state"].as_str().unwrap().to_owned();
        let time = v["time"].as_str().unwrap().to_owned();
        match v["detail-type"].as_str().unwrap() {
            "CodePipeline Action Execution State Change" => {
                let id = d["action-execution-id"].as_str().unwrap().to_owned();
                let entry = action_final.entry(id).or_insert(("STARTED".into(), None));
                if state != "STARTED" {
                    let code = d["execution-result"]["error-code"]
                        .as_str()
                        .map(str::to_owned);
                    *entry = (state, code);
                }
            }
            "CodePipeline Pipeline Execution State Change" => {
                let entry = exec_latest.entry(exec).or_default();
                if time > entry.0 {
                    *entry = (time, state);
                }
            }
            _ => {}
        }
    }
    assert!(other_account > 0, "the demo's other account is ignored");
    let executions = history.executions();
    assert_eq!(executions.len(), exec_latest.len());
    for e in &executions {
        let expected = match exec_latest[&e.id].1.as_str() {
            "STARTED" | "RESUMED" => ExecutionStatus::InProgress,
            "STOPPING" => ExecutionStatus::Stopping,
            "STOPPED" => ExecutionStatus::Stopped,
            "SUCCEEDED" => ExecutionStatus::Succeeded,
            "FAILED" => ExecutionStatus::Failed,
            "SUPERSEDED" => ExecutionStatus::Superseded,
            other => panic!("unexpected state {other}"),
        };
        assert_eq!(e.status, expected, "{e:?}");
        assert_eq!(e.ended, e.status.is_ended());
    }
    let actions = history.actions();
    assert_eq!(actions.len(), action_final.len());
    for a in &actions {
        let (state, code) = &action_final[&a.id];
        let expected = match state.as_str() {
            "STARTED" => ActionStatus::InProgress,
            "SUCCEEDED" => ActionStatus::Succeeded,
            "FAILED" => ActionStatus::Failed,
            "ABANDONED" => ActionStatus::Abandoned,
            other => panic!("unexpected state {other}"),
        };
        assert_eq!(a.status, expected, "{a:?}");
        assert_eq!(&a.error_code, code, "{a:?}");
    }
    // The sample has every status, and a stage retried after a failure (the failed
    // action stays Failed, its execution goes on with a new action execution).
    let statuses: HashSet<ExecutionStatus> = executions.iter().map(|e| e.status).collect();
    for s in [
        ExecutionStatus::InProgress,
        ExecutionStatus::Succeeded,
        ExecutionStatus::Failed,
        ExecutionStatus::Stopped,
        ExecutionStatus::Superseded,
    ] {
        assert!(statuses.contains(&s), "no {s:?} in {statuses:?}");
    }
    let action_statuses: HashSet<ActionStatus> = actions.iter().map(|a| a.status).collect();
    assert_eq!(action_statuses.len(), 4, "{action_statuses:?}");
    let retried = actions.iter().any(|a| {
        a.status == ActionStatus::Failed
            && executions
                .iter()
                .any(|e| e.id == a.execution_id && e.status != ExecutionStatus::Failed)
    });
    assert!(retried, "no retried stage in the sample");
    assert!(history.regions().len() >= 2, "{:?}", history.pipelines());

    // Dropping executions drops their action executions with them.
    let mut ended = History::from_events(&events, ACCOUNT);
    ended.retain(|e: &ExecutionInfo| e.ended);
    let kept: Vec<ExecutionInfo> = executions.iter().filter(|e| e.ended).cloned().collect();
    assert_eq!(ended.executions(), kept);
    let kept_ids: HashSet<&str> = kept.iter().map(|e| e.id.as_str()).collect();
    let kept_actions: Vec<_> = actions
        .iter()
        .filter(|a| kept_ids.contains(a.execution_id.as_str()))
        .cloned()
        .collect();
    assert_eq!(ended.actions(), kept_actions);
    assert_eq!(ended.pipelines(), history.pipelines());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_yields_the_history_newest_first() {
    let history = History::demo(&config(), ACCOUNT);
    let fake = FakeCodePipeline::start(History::demo(&config(), ACCOUNT));
    let executions = group(history.executions(), |e| {
        (e.region.clone(), e.pipeline.clone())
    });
    let actions = group(history.actions(), |a| {
        (a.region.clone(), a.pipeline.clone())
    });
    let mut pages = BTreeMap::<&str, u64>::new();
    let page = |n: usize, size: usize| n.div_ceil(size).max(1) as u64;

    // A region without pipelines lists none.
    let empty = client(&fake, "ap-south-1")
        .list_pipelines()
        .send()
        .await
        .unwrap();
    assert!(empty.pipelines().is_empty() && empty.next_token().is_none());
    *pages.entry("ListPipelines").or_default() += 1;

    for region in history.regions() {
        let c = client(&fake, &region);
        let listed = c
            .list_pipelines()
            .max_results(2)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .unwrap();
        let names: Vec<&str> = listed.iter().map(|p| p.name().unwrap()).collect();
        let expected: Vec<String> = history
            .pipelines()
            .into_iter()
            .filter(|(r, _)| *r == region)
            .map(|(_, n)| n)
            .collect();
        assert_eq!(names, expected, "{region}");
        *pages.entry("ListPipelines").or_default() += page(expected.len(), 2);
        for p in &listed {
            assert_eq!(p.pipeline_type().unwrap().as_str(), "V2");
            assert!(p.version().unwrap() >= 1);
            assert!(p.created().unwrap() <= p.updated().unwrap());
        }

        for name in &expected {
            let key = (region.clone(), name.clone());
            let want = &executions[&key];
            let summaries = c
                .list_pipeline_executions()
                .pipeline_name(name)
                .max_results(7)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .unwrap();
            *pages.entry("ListPipelineExecutions").or_default() += page(want.len(), 7);
            let ids: Vec<&str> = summaries
                .iter()
                .map(|s| s.pipeline_execution_id().unwrap())
                .collect();
            let want_ids: Vec<&str> = want.iter().map(|e| e.id.as_str()).collect();
            assert_eq!(ids, want_ids, "{name}: every execution once, newest first");
            for (s, e) in summaries.iter().zip(want) {
                assert_eq!(s.status().unwrap().as_str(), e.status.as_str());
                assert_eq!(ms(s.start_time().unwrap()), e.start.timestamp_millis());
                assert!(s.last_update_time().unwrap() >= s.start_time().unwrap());
                assert_eq!(s.execution_mode().unwrap().as_str(), "SUPERSEDED");
                assert_eq!(s.execution_type().unwrap().as_str(), "STANDARD");
                let trigger = s.trigger().unwrap();
                assert!(
                    trigger
                        .trigger_detail()
                        .is_some_and(|d| d.starts_with("arn:aws:"))
                );
                for r in s.source_revisions() {
                    assert_eq!(r.action_name(), "Source");
                    assert_eq!(r.revision_id().unwrap().len(), 40);
                    assert!(
                        r.revision_url()
                            .unwrap()
                            .starts_with("https://github.com/acme/")
                    );
                }
                assert_eq!(
                    s.stop_trigger().is_some(),
                    matches!(
                        e.status,
                        ExecutionStatus::Stopped | ExecutionStatus::Stopping
                    )
                );
            }
            for pair in summaries.windows(2) {
                assert!(pair[0].start_time() >= pair[1].start_time());
            }

            // GetPipelineExecution agrees with the summary.
            for s in summaries.iter().take(5) {
                let got = c
                    .get_pipeline_execution()
                    .pipeline_name(name)
                    .pipeline_execution_id(s.pipeline_execution_id().unwrap())
                    .send()
                    .await
                    .unwrap();
                *pages.entry("GetPipelineExecution").or_default() += 1;
                let e = got.pipeline_execution().unwrap();
                assert_eq!(e.pipeline_name(), Some(name.as_str()));
                assert_eq!(e.pipeline_execution_id(), s.pipeline_execution_id());
                assert_eq!(e.status(), s.status());
                assert_eq!(e.trigger(), s.trigger());
                let revisions: Vec<_> = e
                    .artifact_revisions()
                    .iter()
                    .map(|r| r.revision_id())
                    .collect();
                let sources: Vec<_> = s
                    .source_revisions()
                    .iter()
                    .map(|r| r.revision_id())
                    .collect();
                assert_eq!(revisions, sources);
                assert!(e.pipeline_version().unwrap() >= 1);
            }

            let want = &actions[&key];
            let details = c
                .list_action_executions()
                .pipeline_name(name)
                .max_results(7)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .unwrap();
            *pages.entry("ListActionExecutions").or_default() += page(want.len(), 7);
            let ids: Vec<&str> = details
                .iter()
                .map(|a| a.action_execution_id().unwrap())
                .collect();
            let want_ids: Vec<&str> = want.iter().map(|a| a.id.as_str()).collect();
            assert_eq!(
                ids, want_ids,
                "{name}: every action execution once, newest first"
            );
            for (d, a) in details.iter().zip(want) {
                assert_eq!(d.pipeline_execution_id(), Some(a.execution_id.as_str()));
                assert_eq!(d.stage_name(), Some(a.stage.as_str()));
                assert_eq!(d.action_name(), Some(a.action.as_str()));
                assert_eq!(d.status().unwrap().as_str(), a.status.as_str());
                assert_eq!(ms(d.start_time().unwrap()), a.start.timestamp_millis());
                let input = d.input().unwrap();
                assert_eq!(input.region(), Some(region.as_str()));
                let ty = input.action_type_id().unwrap();
                assert_eq!(ty.owner().as_str(), "AWS");
                assert!(!ty.provider().is_empty());
                let result = d.output().and_then(|o| o.execution_result());
                let code = result
                    .and_then(|r| r.error_details())
                    .and_then(|e| e.code());
                assert_eq!(code, a.error_code.as_deref(), "{a:?}");
                if a.status == ActionStatus::InProgress {
                    assert!(result.is_none());
                } else if a.status != ActionStatus::Abandoned {
                    assert!(result.unwrap().external_execution_id().is_some());
                }
            }

            // Filtered by execution: exactly that execution's, newest first.
            for e in executions[&key].iter().take(4) {
                let filtered = c
                    .list_action_executions()
                    .pipeline_name(name)
                    .filter(
                        ActionExecutionFilter::builder()
                            .pipeline_execution_id(&e.id)
                            .build(),
                    )
                    .max_results(3)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .unwrap();
                let ids: Vec<&str> = filtered
                    .iter()
                    .map(|a| a.action_execution_id().unwrap())
                    .collect();
                let want_ids: Vec<&str> = want
                    .iter()
                    .filter(|a| a.execution_id == e.id)
                    .map(|a| a.id.as_str())
                    .collect();
                assert_eq!(ids, want_ids);
                *pages.entry("ListActionExecutions").or_default() += page(want_ids.len(), 3);
            }
        }
    }
    for (op, n) in pages {
        assert_eq!(fake.requests(op), n, "{op}: one request per page");
    }
    assert_eq!(fake.faults(), Default::default());
}

/// A pipeline of the history and its region.
fn some_pipeline(history: &History) -> (String, String) {
    history.pipelines().into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_come_back_as_the_sdk_s_typed_errors() {
    let history = History::demo(&config(), ACCOUNT);
    let (region, name) = some_pipeline(&history);
    let other = history
        .pipelines()
        .into_iter()
        .find(|(r, _)| *r != region)
        .unwrap();
    let fake = FakeCodePipeline::start(history);
    let c = client(&fake, &region);

    let e = c
        .list_pipeline_executions()
        .pipeline_name("no-such-pipeline")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_pipeline_not_found_exception(), "{e:?}");
    assert!(e.message().unwrap().contains("no-such-pipeline"));
    // A pipeline lives in one region.
    let e = c
        .list_action_executions()
        .pipeline_name(&other.1)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_pipeline_not_found_exception(), "{e:?}");

    let e = c
        .list_pipeline_executions()
        .pipeline_name(&name)
        .max_results(101)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_validation_exception(), "{e:?}");
    let e = c
        .list_action_executions()
        .pipeline_name(&name)
        .max_results(0)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_validation_exception(), "{e:?}");
    let e = c
        .list_pipelines()
        .max_results(1001)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_validation_exception(), "{e:?}");

    let e = c
        .list_pipeline_executions()
        .pipeline_name(&name)
        .next_token("not-a-token")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_next_token_exception(), "{e:?}");
    // A real token, but of another listing.
    let first = c
        .list_action_executions()
        .pipeline_name(&name)
        .max_results(1)
        .send()
        .await
        .unwrap();
    let token = first.next_token().unwrap();
    let e = c
        .list_pipeline_executions()
        .pipeline_name(&name)
        .next_token(token)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_next_token_exception(), "{e:?}");
    let e = c
        .list_pipelines()
        .next_token(token)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_next_token_exception(), "{e:?}");

    let e = c
        .get_pipeline_execution()
        .pipeline_name(&name)
        .pipeline_execution_id("00000000-0000-4000-8000-000000000000")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_pipeline_execution_not_found_exception(), "{e:?}");
    let e = c
        .list_action_executions()
        .pipeline_name(&name)
        .filter(
            ActionExecutionFilter::builder()
                .pipeline_execution_id("nope")
                .build(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_pipeline_execution_not_found_exception(), "{e:?}");
}

/// An HTTP answer: status, headers (names in lowercase), JSON body.
type Answer = (u16, Vec<(String, String)>, Value);

/// Sends raw HTTP/1.1 requests on one connection, one answer each.
fn raw(endpoint: &str, requests: &[(&str, &str)]) -> Vec<Answer> {
    let stream = TcpStream::connect(endpoint.trim_start_matches("http://")).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut out = Vec::new();
    for (target, body) in requests {
        // Header names in odd cases: HTTP's are case-insensitive.
        write!(
            writer,
            "POST / HTTP/1.1\r\nhost: x\r\nX-AMZ-TARGET: {target}\r\ncontent-type: \
             application/x-amz-json-1.1\r\nauthorization: AWS4-HMAC-SHA256 \
             Credential=AKID/20260304/eu-west-1/codepipeline/aws4_request, \
             SignedHeaders=host, Signature=0\r\nCONTENT-LENGTH: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (k, v) = l.split_once(':').unwrap();
            headers.push((k.to_ascii_lowercase(), v.trim().to_owned()));
        }
        let length: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .unwrap()
            .1
            .parse()
            .unwrap();
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        out.push((status, headers, serde_json::from_slice(&body).unwrap()));
    }
    out
}

#[test]
fn raw_http_keep_alive_headers_and_unknown_operations() {
    let fake = FakeCodePipeline::start(History::demo(&config(), ACCOUNT));
    let answers = raw(
        &fake.endpoint(),
        &[
            ("CodePipeline_20150709.DeletePipeline", "{}"),
            ("CodePipeline_20150709.ListPipelines", "{}"),
            ("CodePipeline_20150709.ListPipelines", "[1]"),
        ],
    );
    let (status, headers, body) = &answers[0];
    assert_eq!(*status, 400);
    assert_eq!(body["__type"], "UnknownOperationException");
    for (status, headers, _) in &answers {
        let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        assert_eq!(
            header("content-type").unwrap(),
            "application/x-amz-json-1.1",
            "{status}"
        );
        assert!(header("x-amzn-requestid").is_some());
    }
    assert!(!headers.is_empty());
    let (status, _, body) = &answers[1];
    assert_eq!(*status, 200);
    assert!(body["pipelines"].is_array());
    let (status, _, body) = &answers[2];
    assert_eq!(*status, 400);
    assert_eq!(body["__type"], "SerializationException");
    assert_eq!(fake.requests("ListPipelines"), 1);
}

/// Lists everything the fake has for `regions`: (pipelines, executions, action
/// executions); also one GetPipelineExecution and one filtered listing per pipeline.
async fn crawl(fake: &FakeCodePipeline, regions: &[String]) -> (usize, usize, usize) {
    let (mut pipelines, mut executions, mut actions) = (0, 0, 0);
    for region in regions {
        let c = client(fake, region);
        let listed = c
            .list_pipelines()
            .max_results(1)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .unwrap();
        pipelines += listed.len();
        for p in listed {
            let name = p.name().unwrap();
            let summaries = c
                .list_pipeline_executions()
                .pipeline_name(name)
                .max_results(10)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .unwrap();
            executions += summaries.len();
            let details = c
                .list_action_executions()
                .pipeline_name(name)
                .max_results(25)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .unwrap();
            actions += details.len();
            if let Some(id) = summaries.first().and_then(|s| s.pipeline_execution_id()) {
                c.get_pipeline_execution()
                    .pipeline_name(name)
                    .pipeline_execution_id(id)
                    .send()
                    .await
                    .unwrap();
                c.list_action_executions()
                    .pipeline_name(name)
                    .filter(
                        ActionExecutionFilter::builder()
                            .pipeline_execution_id(id)
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
    (pipelines, executions, actions)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_and_failed_calls_are_retried_by_the_sdk() {
    let history = History::demo(&config(), ACCOUNT);
    let regions = history.regions();
    let expected = (
        history.pipelines().len(),
        history.execution_count(),
        history.action_count(),
    );
    for (throttle, fail) in [(true, false), (false, true), (true, true)] {
        let fake = FakeCodePipeline::start(History::demo(&config(), ACCOUNT));
        fake.throttle_each_call_once(throttle);
        fake.fail_each_call_once(fail);
        assert_eq!(crawl(&fake, &regions).await, expected);
        // Every distinct call was answered once, after its faults.
        let calls = fake.requests_total();
        assert!(calls > 10);
        let faults = fake.faults();
        assert_eq!(faults.throttled, if throttle { calls } else { 0 });
        assert_eq!(faults.internal, if fail { calls } else { 0 });
        assert_eq!(faults.denied, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_region_errors_and_others_work() {
    let history = History::demo(&config(), ACCOUNT);
    let regions = history.regions();
    let fake = FakeCodePipeline::start(History::demo(&config(), ACCOUNT));
    fake.deny_region(&regions[0]);
    let e = client(&fake, &regions[0])
        .list_pipelines()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("AccessDeniedException"), "{e:?}");
    assert_eq!(fake.faults().denied, 1, "not retried");
    let other = client(&fake, &regions[1])
        .list_pipelines()
        .send()
        .await
        .unwrap();
    assert!(!other.pipelines().is_empty());
    fake.allow_region(&regions[0]);
    client(&fake, &regions[0])
        .list_pipelines()
        .send()
        .await
        .unwrap();
    assert_eq!(fake.requests("ListPipelines"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_delays_answers_and_drop_does_not_hang() {
    let fake = FakeCodePipeline::start(History::demo(&config(), ACCOUNT));
    let c = client(&fake, "us-east-1");
    fake.set_latency(Duration::from_millis(200));
    let started = Instant::now();
    c.list_pipelines().send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));

    // A request stuck in a long latency when the fake goes away: dropping it is quick
    // and the client gets an error, not a hang.
    fake.set_latency(Duration::from_secs(60));
    let pending = tokio::spawn(async move { c.list_pipelines().send().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let dropping = Instant::now();
    drop(fake);
    assert!(dropping.elapsed() < Duration::from_secs(2));
    let outcome = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("the client is not left hanging")
        .unwrap();
    assert!(outcome.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_history_keeps_page_tokens_valid() {
    let full = History::demo(&config(), ACCOUNT);
    let (region, name) = some_pipeline(&full);
    let all: Vec<ExecutionInfo> = full
        .executions()
        .into_iter()
        .filter(|e| e.region == region && e.pipeline == name)
        .collect();
    // The older half first, as if the newer half had not run yet.
    let cut = all[all.len() / 2].start;
    let mut older = History::demo(&config(), ACCOUNT);
    older.retain(|e| e.start <= cut);
    let fake = FakeCodePipeline::start(older);
    let c = client(&fake, &region);
    let first = c
        .list_pipeline_executions()
        .pipeline_name(&name)
        .max_results(3)
        .send()
        .await
        .unwrap();
    let mut ids: Vec<String> = first
        .pipeline_execution_summaries()
        .iter()
        .map(|s| s.pipeline_execution_id().unwrap().to_owned())
        .collect();
    // New executions start while a client pages: its token still names where it
    // was, so it gets the older ones once each, like AWS.
    fake.set_history(full);
    let mut token = first.next_token().map(str::to_owned);
    while let Some(t) = token {
        let page = c
            .list_pipeline_executions()
            .pipeline_name(&name)
            .max_results(3)
            .next_token(t)
            .send()
            .await
            .unwrap();
        ids.extend(
            page.pipeline_execution_summaries()
                .iter()
                .map(|s| s.pipeline_execution_id().unwrap().to_owned()),
        );
        token = page.next_token().map(str::to_owned);
    }
    let want: Vec<&str> = all
        .iter()
        .filter(|e| e.start <= cut)
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(ids, want);
    // A new listing sees everything.
    let now = c
        .list_pipeline_executions()
        .pipeline_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(now.pipeline_execution_summaries().len(), all.len());
}
