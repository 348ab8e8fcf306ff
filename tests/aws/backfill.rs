//! `cplogs backfill` and `cplogs coverage` end to end: the real binary reads a local
//! CodePipeline (tests/common/codepipeline: AWS JSON 1.1, a history folded from the
//! demo generator's events) through `AWS_ENDPOINT_URL_CODEPIPELINE`, STS and S3 and
//! Glue go to moto. The same demo history, once ingested as live events and once
//! backfilled from the API, gives the same reports; a second backfill writes nothing;
//! a killed one resumes; throttling and 500s are retried; coverage finds exactly the
//! executions a store lacks, and `--fix` writes them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, NaiveTime, Utc};
use cplogs::ingest::demo::{DemoConfig, EventLines, generate_events};
use serde_json::Value;

use crate::common::cli::{cplogs, hermetic};
use crate::common::codepipeline::{FakeCodePipeline, History};
use crate::common::moto::{self, endpoint, unique};
use crate::common::text;

/// moto's default account: the caller's own account when no role is assumed.
const ACCOUNT: &str = "123456789012";
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "us-west-2"];

/// A small demo history of one account: its events and what the API lists of it.
struct World {
    events: Vec<Vec<u8>>,
    history: History,
    /// The first day of the history (`--since`).
    since: String,
}

fn world() -> World {
    world_of(8, 4)
}

/// A history of `pipelines` generated pipelines (about half in the account) over
/// `days` days.
fn world_of(pipelines: usize, days: u32) -> World {
    // Ended two days ago, so everything is in the past for coverage and reports.
    let end_day = (Utc::now() - Duration::days(2)).date_naive();
    let end: DateTime<Utc> = end_day
        .and_time(NaiveTime::from_hms_opt(18, 0, 0).unwrap())
        .and_utc();
    let config = DemoConfig {
        pipelines,
        days,
        seed: 11,
        runs_per_day: 5.0,
        end,
    };
    let mut lines = EventLines::new(Vec::new());
    generate_events(&config, &mut lines, |_| {}).unwrap();
    let bytes = lines.finish().unwrap();
    let events: Vec<Vec<u8>> = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .filter(|l| {
            let v: Value = serde_json::from_slice(l).unwrap();
            v["account"] == ACCOUNT
        })
        .map(<[u8]>::to_vec)
        .collect();
    let history = History::from_events(events.iter(), ACCOUNT);
    assert!(
        history.execution_count() > 2 * pipelines,
        "a history worth testing"
    );
    World {
        events,
        history,
        since: (end_day - Duration::days(i64::from(days) - 1)).to_string(),
    }
}

fn execution_of(event: &[u8]) -> String {
    let v: Value = serde_json::from_slice(event).unwrap();
    v["detail"]["execution-id"].as_str().unwrap().to_owned()
}

/// `cplogs ingest` of `events` into `dir`.
fn ingest<'a>(dir: &Path, events: impl Iterator<Item = &'a Vec<u8>>) {
    let file = dir.with_extension("events.json");
    let mut body = Vec::new();
    for e in events {
        body.extend_from_slice(e);
        body.push(b'\n');
    }
    std::fs::write(&file, body).unwrap();
    let o = cplogs(&[
        "ingest",
        file.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

/// `cplogs ARGS` with moto for STS, S3 and Glue, the fake for CodePipeline, and
/// every region of the history. Both endpoints come from the environment, where the
/// SDK lets a service's own variable win over the general one (`--endpoint-url`
/// would win over both).
fn with_fake(fake: &FakeCodePipeline, args: &[&str]) -> Command {
    let mut cmd = hermetic();
    cmd.args(args).env("AWS_ENDPOINT_URL", endpoint());
    if !args.contains(&"--region") {
        for r in REGIONS {
            cmd.args(["--region", r]);
        }
    }
    cmd.env("AWS_ENDPOINT_URL_CODEPIPELINE", fake.endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run cplogs")
}

/// Backfills into `dir`; the summary (JSON).
fn backfill(fake: &FakeCodePipeline, dir: &Path, since: &str, extra: &[&str]) -> (Output, Value) {
    let mut args = vec![
        "backfill",
        "--out",
        dir.to_str().unwrap(),
        "--since",
        since,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let o = run(&mut with_fake(fake, &args));
    let doc: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&o.stdout), text(&o.stderr)));
    (o, doc["backfill"].clone())
}

/// A report's results (every section's rows) on a local directory.
fn report(dir: &Path, name: &str, since: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "--local",
        dir.to_str().unwrap(),
        "report",
        name,
        "--since",
        since,
        "--format",
        "json",
        "--no-cache",
    ];
    args.extend_from_slice(extra);
    let o = cplogs(&args);
    assert!(o.status.success(), "{name}: {}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rows"].clone())
        .collect()
}

fn ended_ids(history: &History) -> BTreeSet<String> {
    history
        .executions()
        .into_iter()
        .filter(|e| e.ended)
        .map(|e| e.id)
        .collect()
}

/// The executions in a store, by id, with their event counts (inventory).
fn inventory(dir: &Path, since: &str) -> BTreeMap<String, (i64, i64, i64)> {
    let rows = report(dir, "inventory", since, &[]);
    rows[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["execution_id"].as_str().unwrap().to_owned(),
                (
                    r["pipeline_events"].as_i64().unwrap(),
                    r["stage_events"].as_i64().unwrap(),
                    r["action_events"].as_i64().unwrap(),
                ),
            )
        })
        .collect()
}

/// The same history, ingested as live events (of the executions that ended: the API
/// forces that difference, as backfill writes no running execution) and backfilled
/// from the API: failures, durations (by pipeline and by action) and executions are
/// equal row for row; stage durations differ by the seconds between a live stage event
/// and the action it is derived from; running executions are only live.
#[test]
fn backfilled_history_gives_the_reports_live_events_give() {
    let w = world();
    let fake = FakeCodePipeline::start(History::from_events(w.events.iter(), ACCOUNT));
    let tmp = tempfile::tempdir().unwrap();
    let (live, back, all) = (
        tmp.path().join("live"),
        tmp.path().join("back"),
        tmp.path().join("all"),
    );
    let ended = ended_ids(&w.history);
    ingest(
        &live,
        w.events.iter().filter(|e| ended.contains(&execution_of(e))),
    );
    ingest(&all, w.events.iter());

    let (o, summary) = backfill(&fake, &back, &w.since, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let listed = w.history.executions().len() as u64;
    assert_eq!(summary["executions"], listed);
    assert_eq!(summary["written"], ended.len() as u64);
    assert_eq!(summary["running"], listed - ended.len() as u64);
    assert!(summary["files"].as_u64().unwrap() > 0);
    // One ListActionExecutions call per 100 attempts (per pipeline, rounded up).
    let actions_per_pipeline: BTreeMap<String, usize> =
        w.history
            .actions()
            .iter()
            .fold(BTreeMap::new(), |mut m, a| {
                *m.entry(format!("{}/{}", a.region, a.pipeline)).or_insert(0) += 1;
                m
            });
    let pages: usize = actions_per_pipeline.values().map(|n| n.div_ceil(100)).sum();
    assert_eq!(summary["calls"]["ListActionExecutions"], pages as u64);
    assert_eq!(fake.requests("ListActionExecutions"), pages as u64);

    for (name, extra) in [
        ("failures", &[][..]),
        ("durations", &[][..]),
        ("durations", &["--by", "action"][..]),
        ("executions", &[][..]),
        ("flaky", &[][..]),
    ] {
        assert_eq!(
            report(&live, name, &w.since, extra),
            report(&back, name, &w.since, extra),
            "{name} {extra:?}"
        );
    }
    // Stage runs are the same; their durations differ by seconds only.
    let (a, b) = (
        report(&live, "durations", &w.since, &["--by", "stage"]),
        report(&back, "durations", &w.since, &["--by", "stage"]),
    );
    let (a, b) = (a[0].as_array().unwrap(), b[0].as_array().unwrap());
    assert_eq!(a.len(), b.len());
    let key = |r: &Value| format!("{}/{}", r["pipeline"], r["stage"]);
    let b: BTreeMap<String, &Value> = b.iter().map(|r| (key(r), r)).collect();
    for r in a {
        let other = b[&key(r)];
        assert_eq!(r["runs"], other["runs"], "{r} {other}");
        let d = (r["p50_s"].as_f64().unwrap() - other["p50_s"].as_f64().unwrap()).abs();
        assert!(d <= 10.0, "stage p50 differs by {d}s: {r} {other}");
    }
    // Running executions: in the live store only.
    let (inv_all, inv_back) = (inventory(&all, &w.since), inventory(&back, &w.since));
    let only_live: BTreeSet<&String> = inv_all
        .keys()
        .filter(|k| !inv_back.contains_key(*k))
        .collect();
    let running: BTreeSet<String> = w
        .history
        .executions()
        .into_iter()
        .filter(|e| !e.ended)
        .map(|e| e.id)
        .collect();
    assert_eq!(
        only_live,
        running.iter().collect(),
        "only running executions are live-only"
    );
    assert!(!running.is_empty(), "the demo has running executions");
}

/// A second backfill writes nothing; after live ingest of half the executions,
/// backfill writes the other half and no report row doubles.
#[test]
fn backfill_is_idempotent_and_never_doubles_live_events() {
    let w = world();
    let fake = FakeCodePipeline::start(History::from_events(w.events.iter(), ACCOUNT));
    let tmp = tempfile::tempdir().unwrap();
    let (back, half, live) = (
        tmp.path().join("back"),
        tmp.path().join("half"),
        tmp.path().join("live"),
    );
    // A dry run counts what it would write and writes nothing.
    let (o, dry) = backfill(&fake, &back, &w.since, &["--dry-run"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(walk(&back).is_empty(), "{:?}", walk(&back));
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["files"], 0);
    let (o, first) = backfill(&fake, &back, &w.since, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(dry["written"], first["written"]);
    assert_eq!(dry["events"], first["events"]);
    let (o, second) = backfill(&fake, &back, &w.since, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(second["written"], 0);
    assert_eq!(second["files"], 0);
    assert_eq!(second["events"], 0);
    assert_eq!(second["already_backfilled"], first["written"]);
    // A second run does not list action executions of pipelines with nothing to do.
    assert_eq!(second["calls"]["ListActionExecutions"], 0);

    let ended: Vec<String> = ended_ids(&w.history).into_iter().collect();
    let halfway: BTreeSet<&String> = ended.iter().step_by(2).collect();
    ingest(
        &half,
        w.events
            .iter()
            .filter(|e| halfway.contains(&execution_of(e))),
    );
    let (o, s) = backfill(&fake, &half, &w.since, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(s["already_stored"], halfway.len() as u64);
    assert_eq!(s["written"], (ended.len() - halfway.len()) as u64);
    ingest(
        &live,
        w.events.iter().filter(|e| ended.contains(&execution_of(e))),
    );
    for (name, extra) in [
        ("failures", &[][..]),
        ("durations", &[][..]),
        ("executions", &[][..]),
    ] {
        assert_eq!(
            report(&half, name, &w.since, extra),
            report(&live, name, &w.since, extra),
            "{name}"
        );
    }
    // Every execution has the pipeline events of one source, never both.
    let (inv_half, inv_live) = (inventory(&half, &w.since), inventory(&live, &w.since));
    assert_eq!(inv_half.len(), inv_live.len());
    for (id, (p, _, _)) in &inv_half {
        let live_p = inv_live[id].0;
        if halfway.contains(id) {
            assert_eq!(*p, live_p, "{id}");
        } else {
            // Backfill writes STARTED and the terminal state (plus FAILED/RESUMED per
            // retry); live has STOPPING too; never the sum of both.
            assert!(
                *p <= live_p + 1 && *p < 2 * live_p.max(2),
                "{id}: {p} vs {live_p}"
            );
        }
    }
}

/// A backfill killed half-way (SIGKILL) resumes: the second run writes the rest, the
/// result equals an uninterrupted run's, and a third run writes nothing.
#[test]
fn a_killed_backfill_resumes_where_it_stopped() {
    let w = world();
    let fake = FakeCodePipeline::start(History::from_events(w.events.iter(), ACCOUNT));
    let tmp = tempfile::tempdir().unwrap();
    let (whole, killed) = (tmp.path().join("whole"), tmp.path().join("killed"));
    let (o, _) = backfill(&fake, &whole, &w.since, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));

    fake.set_latency(StdDuration::from_millis(40));
    let mut child = with_fake(
        &fake,
        &[
            "backfill",
            "--out",
            killed.to_str().unwrap(),
            "--since",
            &w.since,
            "--concurrency",
            "1",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // Kill it once some executions are complete (a pipeline's files are written
    // action, stage, then pipeline table, so a pipeline-table file marks one), before
    // it finishes. Three action files alone would leave nothing complete to resume.
    let started = Instant::now();
    let files = |dir: &Path| -> usize {
        walk(dir)
            .iter()
            .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
            .count()
    };
    let complete = |dir: &Path| {
        walk(dir).iter().any(|p| {
            let p = p.to_string_lossy();
            p.contains("pipeline_execution_state_change") && p.ends_with(".json.gz")
        })
    };
    while (files(&killed) < 3 || !complete(&killed))
        && started.elapsed() < StdDuration::from_secs(60)
    {
        std::thread::sleep(StdDuration::from_millis(20));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "it finished before it could be killed"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = files(&killed);
    assert!(partial >= 3);
    fake.set_latency(StdDuration::ZERO);

    let (o, resumed) = backfill(&fake, &killed, &w.since, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        resumed["already_backfilled"].as_u64().unwrap() > 0,
        "{resumed}"
    );
    assert!(resumed["written"].as_u64().unwrap() > 0, "{resumed}");
    for (name, extra) in [
        ("failures", &[][..]),
        ("durations", &["--by", "action"][..]),
        ("executions", &[][..]),
    ] {
        assert_eq!(
            report(&killed, name, &w.since, extra),
            report(&whole, name, &w.since, extra),
            "{name}"
        );
    }
    assert_eq!(inventory(&killed, &w.since), inventory(&whole, &w.since));
    let (_, third) = backfill(&fake, &killed, &w.since, &[]);
    assert_eq!(third["written"], 0);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Every call throttled once, and then every call answered 500 once: the SDK's retry
/// completes the backfill with the same result. One pipeline of one region: after a
/// throttle, the adaptive retry waits for its token bucket (about 10 s a retry at a
/// low call rate), as it should with a real account.
#[test]
fn throttled_and_failing_calls_are_retried_to_the_same_result() {
    let w = world_of(4, 2);
    let history = History::from_events(w.events.iter(), ACCOUNT);
    let (region, name) = history.pipelines()[0].clone();
    let fake = FakeCodePipeline::start(history);
    let tmp = tempfile::tempdir().unwrap();
    let (plain, throttled, failing) = (
        tmp.path().join("plain"),
        tmp.path().join("throttled"),
        tmp.path().join("failing"),
    );
    let only = ["--region", region.as_str(), "--pipeline", name.as_str()];
    let (o, first) = backfill(&fake, &plain, &w.since, &only);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(first["written"].as_u64().unwrap() > 0);

    fake.throttle_each_call_once(true);
    let before = fake.faults();
    let (o, s) = backfill(&fake, &throttled, &w.since, &only);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let calls: u64 = s["calls"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(calls, 3, "{s}");
    assert_eq!(
        fake.faults().throttled - before.throttled,
        calls,
        "each call throttled once"
    );
    fake.throttle_each_call_once(false);

    fake.fail_each_call_once(true);
    let before = fake.faults();
    let (o, _) = backfill(&fake, &failing, &w.since, &only);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(fake.faults().internal - before.internal, calls);
    fake.fail_each_call_once(false);
    for dir in [&throttled, &failing] {
        assert_eq!(inventory(dir, &w.since), inventory(&plain, &w.since));
    }
}

/// Roles of two accounts (assumed through moto's STS) into a bucket on moto: every
/// record carries its account and region, the partitions are registered; a denied
/// region is reported (exit 1) and the others are written.
#[tokio::test(flavor = "multi_thread")]
async fn roles_of_two_accounts_into_a_bucket_and_a_denied_region() {
    let w = world();
    let fake = FakeCodePipeline::start(History::from_events(w.events.iter(), ACCOUNT));
    let (s3, glue) = moto::clients().await;
    let bucket = unique("backfill");
    let database = unique("backfill_db").replace('-', "_");
    moto::create_catalog(&s3, &glue, &bucket, &database).await;
    fake.deny_region("us-west-2");
    let roles = [
        "arn:aws:iam::111122223333:role/cplogs-backfill",
        "arn:aws:iam::444455556666:role/cplogs-backfill",
    ];
    let o = run(&mut with_fake(
        &fake,
        &[
            "backfill",
            "--bucket",
            &bucket,
            "--database",
            &database,
            "--since",
            &w.since,
            "--role-arn",
            roles[0],
            "--role-arn",
            roles[1],
            "--format",
            "json",
        ],
    ));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    let s = &s["backfill"];
    let failures: Vec<&str> = s["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures
            .iter()
            .all(|f| f.contains("us-west-2") && f.contains("AccessDenied")),
        "{failures:?}"
    );
    assert!(s["partitions_added"].as_u64().unwrap() > 0);

    // The bucket, copied down, holds both accounts' pipelines of the two regions.
    let tmp = tempfile::tempdir().unwrap();
    let keys: Vec<String> = s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    assert!(keys.len() < 1000, "one page holds them all");
    for key in &keys {
        let body = s3
            .get_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        let path = tmp.path().join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    let rows = report(tmp.path(), "inventory", &w.since, &[]);
    let scopes: BTreeSet<(String, String)> = rows[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let arn: Vec<&str> = r["pipeline_arn"].as_str().unwrap().split(':').collect();
            (arn[4].to_owned(), arn[3].to_owned())
        })
        .collect();
    let expected: BTreeSet<(String, String)> = ["111122223333", "444455556666"]
        .iter()
        .flat_map(|a| {
            ["us-east-1", "eu-west-1"]
                .iter()
                .filter(|r| w.history.regions().contains(&r.to_string()))
                .map(move |r| (a.to_string(), r.to_string()))
        })
        .collect();
    assert_eq!(scopes, expected);
    // Glue has the partitions of what was written.
    let parts = glue
        .get_partitions()
        .database_name(&database)
        .table_name("action_execution_state_change")
        .send()
        .await
        .unwrap();
    assert!(!parts.partitions().is_empty());
}

/// `cplogs --local DIR coverage --since SINCE EXTRA` against the fake.
fn coverage(fake: &FakeCodePipeline, dir: &Path, since: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "--local",
        dir.to_str().unwrap(),
        "coverage",
        "--since",
        since,
        "--no-cache",
    ];
    args.extend_from_slice(extra);
    run(&mut with_fake(fake, &args))
}

/// A store missing 7 executions: coverage lists exactly those 7 and exits 3 under
/// `--min-coverage`; `--fix` backfills them and coverage is then complete.
#[test]
fn coverage_finds_exactly_the_missing_executions_and_fix_writes_them() {
    let w = world();
    let fake = FakeCodePipeline::start(History::from_events(w.events.iter(), ACCOUNT));
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let ended: Vec<String> = ended_ids(&w.history).into_iter().collect();
    let dropped: BTreeSet<String> = ended
        .iter()
        .step_by(ended.len() / 7)
        .take(7)
        .cloned()
        .collect();
    assert_eq!(dropped.len(), 7);
    ingest(
        &store,
        w.events
            .iter()
            .filter(|e| !dropped.contains(&execution_of(e))),
    );

    let o = coverage(
        &fake,
        &store,
        &w.since,
        &["--min-coverage", "99.5", "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let missing: BTreeSet<String> = doc["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            p["missing"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(missing, dropped);
    let listed: u64 = doc["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["api_executions"].as_u64().unwrap())
        .sum();
    assert_eq!(listed, w.history.executions().len() as u64);
    assert!(
        doc["pipelines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["not_listed"].as_array().unwrap().is_empty())
    );

    // A table for people names the missing ones too.
    let o = coverage(&fake, &store, &w.since, &["--wide"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let table = text(&o.stdout);
    assert!(
        dropped.iter().all(|d| table.contains(d.as_str())),
        "{table}"
    );

    let o = coverage(
        &fake,
        &store,
        &w.since,
        &["--min-coverage", "99.5", "--fix", "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["fixed"]["written"], 7);
    assert!(
        doc["pipelines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["missing"].as_array().unwrap().is_empty())
    );
    // Only the missing ones were listed, one filtered call each.
    assert_eq!(doc["fixed"]["calls"]["ListActionExecutions"], 7);
}

/// Bad input: a role that is not an ARN, no destination, a future --since.
#[test]
fn backfill_refuses_bad_input_with_usage_errors() {
    for (args, says) in [
        (
            &[
                "backfill",
                "--out",
                "/tmp/x",
                "--role-arn",
                "nope",
                "--region",
                "us-east-1",
            ][..],
            "not an IAM role ARN",
        ),
        (&["backfill", "--region", "us-east-1"][..], "--out DIR"),
        (
            &[
                "backfill",
                "--out",
                "/tmp/x",
                "--since",
                "2999-01-01",
                "--region",
                "us-east-1",
            ][..],
            "--since",
        ),
        (
            &[
                "backfill",
                "--out",
                "/tmp/x",
                "--pipeline",
                "bad name!",
                "--region",
                "us-east-1",
            ][..],
            "not a pipeline name",
        ),
        (&["coverage", "--min-coverage", "101"][..], "percentage"),
        (
            &[
                "report", "failures", "--region", "a", "--region", "b", "--demo",
            ][..],
            "given once",
        ),
    ] {
        let o = cplogs(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(says),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }
}

/// A file in the store that cannot be read stops backfill before any write, naming
/// the file (exit 1): backfill cannot know what the store holds without it.
#[test]
fn an_unreadable_store_file_is_named_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp
        .path()
        .join("action_execution_state_change/dt=2026-11-20");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("broken.json.gz"), [0x1f, 0x8b, 0x08, 0x00, 0x01]).unwrap();
    let since = (Utc::now() - Duration::days(30)).date_naive().to_string();
    let o = cplogs(&[
        "backfill",
        "--out",
        tmp.path().to_str().unwrap(),
        "--since",
        &since,
        "--region",
        "us-east-1",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("dt=2026-11-20/broken.json.gz"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(walk(tmp.path()).len(), 1);
}
