//! `cplogs demo`: a deterministic, realistic synthetic CodePipeline history, written
//! through the ingest path into the bucket layout, for trying reports offline and for
//! benchmarks.
//!
//! It simulates pipelines with source/build/test/approval/deploy stages: durations per
//! action kind, failures with error codes and external URLs, stage retries (RESUMED and
//! a second action attempt), superseded and stopped executions, manual approvals
//! (some rejected), git triggers, executions still running at the end of the window or
//! stuck, duplicate deliveries (same event id) and late, out-of-order arrival.
//!
//! One cohesive thing (over 400 lines): the generator's model of pipelines, executions, stages and actions.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};

use crate::core::transform::transform_into;
use crate::ingest::{PartitionWriter, RecordSink, WriteError};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoConfig {
    /// Number of pipelines.
    pub pipelines: usize,
    /// Days of history, ending with the day of `end`.
    pub days: u32,
    /// Seed: equal configs give equal events.
    pub seed: u64,
    /// Mean executions per pipeline per day.
    pub runs_per_day: f64,
    /// Nothing happens after this instant (executions still running then stay open).
    pub end: DateTime<Utc>,
}

impl DemoConfig {
    /// The defaults: 20 pipelines, 30 days ending now, seed 42, 6 runs a day.
    pub fn new(end: DateTime<Utc>) -> Self {
        DemoConfig {
            pipelines: 20,
            days: 30,
            seed: 42,
            runs_per_day: 6.0,
            end,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoSummary {
    /// Pipeline executions started.
    pub executions: u64,
    /// Events delivered (duplicates included).
    pub events: u64,
    /// Events delivered a second time.
    pub duplicates: u64,
    /// Events that arrived after the batch of their own day.
    pub late: u64,
}

#[derive(Clone, Copy)]
struct ActionKind {
    name: &'static str,
    category: &'static str,
    provider: &'static str,
    /// Typical duration range in seconds.
    secs: (i64, i64),
    /// Weight of this action in the pipeline's failure rate.
    flakiness: f64,
    errors: &'static [&'static str],
}

const SOURCE_GIT: ActionKind = ActionKind {
    name: "Source",
    category: "Source",
    provider: "CodeStarSourceConnection",
    secs: (3, 20),
    flakiness: 0.05,
    errors: &["ConnectionError"],
};
const SOURCE_CODECOMMIT: ActionKind = ActionKind {
    provider: "CodeCommit",
    ..SOURCE_GIT
};
const BUILD: ActionKind = ActionKind {
    name: "Build",
    category: "Build",
    provider: "CodeBuild",
    secs: (90, 720),
    flakiness: 1.0,
    errors: &["JobFailed", "JobFailed", "JobFailed", "ConfigurationError"],
};
const UNIT_TESTS: ActionKind = ActionKind {
    name: "UnitTests",
    category: "Test",
    provider: "CodeBuild",
    secs: (60, 480),
    flakiness: 1.2,
    errors: &["JobFailed"],
};
const INTEGRATION_TESTS: ActionKind = ActionKind {
    name: "IntegrationTests",
    category: "Test",
    provider: "CodeBuild",
    secs: (240, 1500),
    flakiness: 2.5,
    errors: &["JobFailed", "JobFailed", "TimeoutError"],
};
const APPROVAL: ActionKind = ActionKind {
    name: "ApproveRelease",
    category: "Approval",
    provider: "Manual",
    secs: (120, 6 * 3600),
    flakiness: 0.6,
    errors: &["ApprovalRejected"],
};
const DEPLOY_CODEDEPLOY: ActionKind = ActionKind {
    name: "Deploy",
    category: "Deploy",
    provider: "CodeDeploy",
    secs: (120, 900),
    flakiness: 0.8,
    errors: &["JobFailed", "DeploymentFailed"],
};
const DEPLOY_CLOUDFORMATION: ActionKind = ActionKind {
    provider: "CloudFormation",
    errors: &["JobFailed", "StackUpdateFailed"],
    ..DEPLOY_CODEDEPLOY
};
const DEPLOY_ECS: ActionKind = ActionKind {
    provider: "ECS",
    errors: &["JobFailed", "ServiceDeploymentFailed"],
    ..DEPLOY_CODEDEPLOY
};

const NAMES: [&str; 20] = [
    "payments",
    "checkout",
    "search",
    "inventory",
    "auth",
    "notifications",
    "billing",
    "catalog",
    "orders",
    "shipping",
    "reviews",
    "recommendations",
    "analytics",
    "gateway",
    "profile",
    "media",
    "pricing",
    "ledger",
    "reporting",
    "onboarding",
];
const SUFFIXES: [&str; 5] = ["api", "web", "worker", "infra", "service"];
const ACCOUNTS: [&str; 2] = ["123456789012", "210987654321"];
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "us-west-2"];
const USERS: [&str; 4] = ["alice", "bob", "carol", "dave"];
const COMMIT_MESSAGES: [&str; 8] = [
    "Fix flaky retry in client",
    "Bump dependencies",
    "Add metrics for queue depth",
    "Refactor config loading",
    "Handle empty responses",
    "Update README",
    "Tune connection pool size",
    "Roll out feature flag \"fast-path\"",
];

struct Stage {
    name: &'static str,
    actions: Vec<ActionKind>,
}

struct Pipeline {
    name: String,
    account: &'static str,
    region: &'static str,
    arn: String,
    version: i64,
    stages: Vec<Stage>,
    failure_rate: f64,
}

/// One event with its arrival time at the delivery stream.
struct Delivery {
    arrival: DateTime<Utc>,
    body: Vec<u8>,
}

struct Sim {
    rng: fastrand::Rng,
    end: DateTime<Utc>,
    pending: Vec<Delivery>,
    summary: DemoSummary,
}

fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn iso_ms(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl Sim {
    fn uuid(&mut self) -> String {
        uuid::Uuid::from_u128(self.rng.u128(..)).to_string()
    }

    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from_digit(self.rng.u32(0..16), 16).unwrap_or('0'))
            .collect()
    }

    fn secs(&mut self, (lo, hi): (i64, i64)) -> Duration {
        // Skewed towards the low end, like real build times, with a long tail.
        let u = self.rng.f64();
        Duration::seconds(lo + ((hi - lo) as f64 * u * u) as i64)
    }

    fn pipeline(&mut self, i: usize) -> Pipeline {
        let mut name = format!("{}-{}", NAMES[i % 20], SUFFIXES[(i / 20) % 5]);
        if i >= 100 {
            name.push_str(&format!("-{}", i / 100));
        }
        let account = ACCOUNTS[i % ACCOUNTS.len()];
        let region = REGIONS[self.rng.usize(..REGIONS.len())];
        let source = if self.rng.f64() < 0.8 {
            SOURCE_GIT
        } else {
            SOURCE_CODECOMMIT
        };
        let mut stages = vec![
            Stage {
                name: "Source",
                actions: vec![source],
            },
            Stage {
                name: "Build",
                actions: vec![BUILD],
            },
            Stage {
                name: "Test",
                actions: if self.rng.bool() {
                    vec![UNIT_TESTS, INTEGRATION_TESTS]
                } else {
                    vec![UNIT_TESTS]
                },
            },
        ];
        if self.rng.f64() < 0.4 {
            stages.push(Stage {
                name: "Approval",
                actions: vec![APPROVAL],
            });
        }
        let deploy = [DEPLOY_CODEDEPLOY, DEPLOY_CLOUDFORMATION, DEPLOY_ECS][self.rng.usize(..3)];
        stages.push(Stage {
            name: "Deploy",
            actions: vec![deploy],
        });
        Pipeline {
            arn: format!("arn:aws:codepipeline:{region}:{account}:{name}"),
            name,
            account,
            region,
            version: self.rng.i64(1..30),
            stages,
            // A few pipelines are much worse than the rest.
            failure_rate: if self.rng.f64() < 0.15 {
                0.12
            } else {
                0.015 + self.rng.f64() * 0.03
            },
        }
    }

    /// Queues one event for delivery (dropped if it happens after the end).
    fn emit(&mut self, p: &Pipeline, time: DateTime<Utc>, detail_type: &str, detail: Value) {
        if time > self.end {
            return;
        }
        let body = json!({
            "version": "0",
            "id": self.uuid(),
            "detail-type": detail_type,
            "source": "aws.codepipeline",
            "account": p.account,
            "time": iso(time),
            "region": p.region,
            "resources": [p.arn],
            "detail": detail,
        });
        let Ok(body) = serde_json::to_vec(&body) else {
            return;
        };
        // Most events arrive within a minute; a few are hours late.
        let delay = if self.rng.f64() < 0.004 {
            Duration::seconds(self.rng.i64(3600..6 * 3600))
        } else {
            Duration::seconds(self.rng.i64(0..60))
        };
        if self.rng.f64() < 0.01 {
            self.summary.duplicates += 1;
            self.pending.push(Delivery {
                arrival: time + delay + Duration::seconds(self.rng.i64(1..600)),
                body: body.clone(),
            });
        }
        self.pending.push(Delivery {
            arrival: time + delay,
            body,
        });
    }

    fn execution(&mut self, p: &mut Pipeline, start: DateTime<Utc>) {
        self.summary.executions += 1;
        if self.rng.f64() < 0.02 {
            p.version += 1;
        }
        let exec = self.uuid();
        let start_time = iso_ms(start + Duration::milliseconds(self.rng.i64(0..1000)));
        let version = p.version as f64;
        let mut attempt = 1.0_f64;
        let base = |attempt: f64, state: &str| {
            json!({
                "pipeline": p.name,
                "execution-id": exec,
                "start-time": start_time,
                "state": state,
                "version": version,
                "pipeline-execution-attempt": attempt,
            })
        };
        let trigger = self.trigger(p);
        let mut started = base(attempt, "STARTED");
        started["execution-trigger"] = trigger;
        self.emit(p, start, PIPELINE, started);

        let mut t = start;
        let stages: Vec<(&'static str, Vec<ActionKind>)> = p
            .stages
            .iter()
            .map(|s| (s.name, s.actions.clone()))
            .collect();
        for (si, (stage, actions)) in stages.iter().enumerate() {
            // Superseded by a newer execution while waiting at a stage boundary.
            if si > 0 && self.rng.f64() < 0.012 {
                t += Duration::seconds(self.rng.i64(5..60));
                self.emit(p, t, PIPELINE, base(attempt, "SUPERSEDED"));
                return;
            }
            t += Duration::seconds(self.rng.i64(1..4));
            let mut st = base(attempt, "STARTED");
            st["stage"] = json!(stage);
            self.emit(p, t, STAGE, st);
            for kind in actions {
                loop {
                    t += Duration::seconds(self.rng.i64(1..3));
                    let action_exec = self.uuid();
                    let action_event = |attempt: f64, state: &str| {
                        let mut d = base(attempt, state);
                        d["stage"] = json!(stage);
                        d["action"] = json!(kind.name);
                        d["action-execution-id"] = json!(action_exec);
                        d["region"] = json!(p.region);
                        d["type"] = json!({
                            "owner": "AWS",
                            "provider": kind.provider,
                            "category": kind.category,
                            "version": "1",
                        });
                        d
                    };
                    self.emit(p, t, ACTION, action_event(attempt, "STARTED"));
                    let took = self.secs(kind.secs).max(Duration::seconds(1));
                    // Stuck: the action never reports back.
                    if self.rng.f64() < 0.0015 {
                        return;
                    }
                    // Stopped by a user while the action runs.
                    if self.rng.f64() < 0.006 {
                        let stop_at = t + took / 2 + Duration::seconds(1);
                        let user = USERS[self.rng.usize(..USERS.len())];
                        let mut stopping = base(attempt, "STOPPING");
                        stopping["stop-execution-comments"] =
                            json!(format!("Stopped by {user}: hotfix in progress"));
                        self.emit(p, stop_at, PIPELINE, stopping);
                        t = stop_at + Duration::seconds(self.rng.i64(2..30));
                        self.emit(p, t, ACTION, action_event(attempt, "ABANDONED"));
                        let mut ss = base(attempt, "STOPPED");
                        ss["stage"] = json!(stage);
                        self.emit(p, t + Duration::seconds(1), STAGE, ss);
                        self.emit(
                            p,
                            t + Duration::seconds(2),
                            PIPELINE,
                            base(attempt, "STOPPED"),
                        );
                        return;
                    }
                    t += took;
                    let fails = self.rng.f64() < p.failure_rate * kind.flakiness;
                    let mut done =
                        action_event(attempt, if fails { "FAILED" } else { "SUCCEEDED" });
                    let result = self.result(p, kind, fails);
                    done["execution-result"] = result;
                    self.emit(p, t, ACTION, done);
                    if !fails {
                        break;
                    }
                    let mut sf = base(attempt, "FAILED");
                    sf["stage"] = json!(stage);
                    self.emit(p, t + Duration::seconds(1), STAGE, sf);
                    self.emit(
                        p,
                        t + Duration::seconds(2),
                        PIPELINE,
                        base(attempt, "FAILED"),
                    );
                    // Someone retries the failed stage (not a rejected approval).
                    if kind.category == "Approval" || self.rng.f64() < 0.45 {
                        return;
                    }
                    t += Duration::seconds(self.rng.i64(120..3600));
                    attempt += 1.0;
                    self.emit(p, t, PIPELINE, base(attempt, "RESUMED"));
                    let mut sr = base(attempt, "RESUMED");
                    sr["stage"] = json!(stage);
                    sr["stage-last-retry-attempt-time"] = json!(iso_ms(t));
                    self.emit(p, t + Duration::seconds(1), STAGE, sr);
                    t += Duration::seconds(1);
                }
            }
            t += Duration::seconds(1);
            let mut ss = base(attempt, "SUCCEEDED");
            ss["stage"] = json!(stage);
            self.emit(p, t, STAGE, ss);
        }
        t += Duration::seconds(1);
        self.emit(p, t, PIPELINE, base(attempt, "SUCCEEDED"));
    }

    fn trigger(&mut self, p: &Pipeline) -> Value {
        let roll = self.rng.f64();
        if roll < 0.7 {
            let branch = if self.rng.f64() < 0.85 {
                "main"
            } else {
                "release"
            };
            let msg = COMMIT_MESSAGES[self.rng.usize(..COMMIT_MESSAGES.len())];
            json!({
                "trigger-type": "WebhookV2",
                "trigger-detail": format!("arn:aws:codeconnections:{}:{}:connection/{}", p.region, p.account, self.uuid()),
                "provider-type": "CodeStarSourceConnection",
                "full-repository-name": format!("acme/{}", p.name),
                "branch-name": branch,
                "commit-id": self.hex(40),
                "commit-message": msg,
            })
        } else if roll < 0.75 {
            json!({
                "trigger-type": "WebhookV2",
                "trigger-detail": format!("arn:aws:codeconnections:{}:{}:connection/{}", p.region, p.account, self.uuid()),
                "provider-type": "CodeStarSourceConnection",
                "full-repository-name": format!("acme/{}", p.name),
                "tag-name": format!("v1.{}.{}", self.rng.u32(0..20), self.rng.u32(0..10)),
                "commit-id": self.hex(40),
            })
        } else if roll < 0.9 {
            let user = USERS[self.rng.usize(..USERS.len())];
            json!({
                "trigger-type": "StartPipelineExecution",
                "trigger-detail": format!("arn:aws:sts::{}:assumed-role/Admin/{user}", p.account),
            })
        } else {
            json!({
                "trigger-type": "CloudWatchEvent",
                "trigger-detail": format!("arn:aws:events:{}:{}:rule/nightly-{}", p.region, p.account, p.name),
            })
        }
    }

    fn result(&mut self, p: &Pipeline, kind: &ActionKind, failed: bool) -> Value {
        let id = self.uuid();
        let (url, summary) = match kind.provider {
            "CodeBuild" => (
                format!(
                    "https://console.aws.amazon.com/codesuite/codebuild/{}/projects/{}-{}/build/{}-{}%3A{id}/?region={}",
                    p.account,
                    p.name,
                    kind.name.to_lowercase(),
                    p.name,
                    kind.name.to_lowercase(),
                    p.region
                ),
                if failed {
                    "Build failed: exit status 1".to_owned()
                } else {
                    "Build succeeded".to_owned()
                },
            ),
            "Manual" => {
                let user = USERS[self.rng.usize(..USERS.len())];
                (
                    String::new(),
                    if failed {
                        format!("Rejected by {user}: not ready for production")
                    } else {
                        format!("Approved by {user}")
                    },
                )
            }
            "CodeDeploy" => (
                format!(
                    "https://console.aws.amazon.com/codesuite/codedeploy/deployments/d-{}?region={}",
                    self.hex(9).to_uppercase(),
                    p.region
                ),
                format!("Deployment {}", if failed { "failed" } else { "succeeded" }),
            ),
            "CloudFormation" | "ECS" => (
                format!(
                    "https://console.aws.amazon.com/cloudformation/home?region={}#/stacks/{}",
                    p.region, p.name
                ),
                format!("Deployment {}", if failed { "failed" } else { "succeeded" }),
            ),
            _ => (
                format!("https://github.com/acme/{}/commit/{}", p.name, self.hex(40)),
                COMMIT_MESSAGES[self.rng.usize(..COMMIT_MESSAGES.len())].to_owned(),
            ),
        };
        let mut r = json!({
            "external-execution-summary": summary,
            "external-execution-id": id,
        });
        if !url.is_empty() {
            r["external-execution-url"] = json!(url);
        }
        if failed {
            r["error-code"] = json!(kind.errors[self.rng.usize(..kind.errors.len())]);
        }
        r
    }

    /// Hands every queued event that arrived before `until` to `sink`, in arrival
    /// order (not event order), then ends that batch.
    fn deliver(
        &mut self,
        until: DateTime<Utc>,
        day_start: DateTime<Utc>,
        sink: &mut dyn EventSink,
    ) -> Result<(), WriteError> {
        self.pending.sort_by_key(|d| d.arrival);
        let n = self.pending.partition_point(|d| d.arrival < until);
        for d in self.pending.drain(..n) {
            if sink
                .event(&d.body)?
                .is_some_and(|dt| dt < day_start.date_naive())
            {
                self.summary.late += 1;
            }
            self.summary.events += 1;
        }
        sink.end_batch()
    }
}

/// Where generated events go: through the transform into files, or out as events.
pub trait EventSink {
    /// Takes one event (EventBridge JSON); returns the UTC date it was filed under,
    /// when it was.
    fn event(&mut self, body: &[u8]) -> Result<Option<NaiveDate>, WriteError>;
    /// Ends a day's batch of arrivals.
    fn end_batch(&mut self) -> Result<(), WriteError>;
}

/// Transforms events into a [`PartitionWriter`], one batch of files per day.
struct Transformed<'a> {
    writer: &'a mut PartitionWriter,
    line: Vec<u8>,
}

impl EventSink for Transformed<'_> {
    fn event(&mut self, body: &[u8]) -> Result<Option<NaiveDate>, WriteError> {
        self.line.clear();
        // Generated events always transform; a failure would be a bug in the
        // generator, and skipping it keeps the demo going.
        match transform_into(body, None, &mut self.line) {
            Ok(routed) => {
                self.writer.write(routed, &self.line)?;
                Ok(Some(routed.dt.date()))
            }
            Err(_) => Ok(None),
        }
    }
    fn end_batch(&mut self) -> Result<(), WriteError> {
        self.writer.flush()
    }
}

/// Writes the events themselves as JSON lines (`cplogs demo --print-events`): input
/// for `cplogs ingest`, its tests and its benchmark.
pub struct EventLines<W: std::io::Write> {
    out: W,
}

impl<W: std::io::Write> EventLines<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        EventLines { out }
    }
    /// Flushes and returns the writer.
    pub fn finish(mut self) -> Result<W, WriteError> {
        self.out.flush().map_err(stdout_error)?;
        Ok(self.out)
    }
}

fn stdout_error(source: std::io::Error) -> WriteError {
    WriteError {
        path: "<stdout>".into(),
        source,
    }
}

impl<W: std::io::Write> EventSink for EventLines<W> {
    fn event(&mut self, body: &[u8]) -> Result<Option<NaiveDate>, WriteError> {
        self.out.write_all(body).map_err(stdout_error)?;
        self.out.write_all(b"\n").map_err(stdout_error)?;
        // The date only counts late arrivals; the time is ours, so it parses.
        let time: Option<NaiveDate> = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| {
                v["time"]
                    .as_str()
                    .and_then(|t| crate::Dt::of_event_time(t).ok())
            })
            .map(crate::Dt::date);
        Ok(time)
    }
    fn end_batch(&mut self) -> Result<(), WriteError> {
        Ok(())
    }
}

const PIPELINE: &str = "CodePipeline Pipeline Execution State Change";
const STAGE: &str = "CodePipeline Stage Execution State Change";
const ACTION: &str = "CodePipeline Action Execution State Change";

/// Generates the history of `config` into `sink`, one batch of files per day of
/// arrival. `on_day` is called after each day with the number of days done.
pub fn generate(
    config: &DemoConfig,
    sink: &mut PartitionWriter,
    on_day: impl FnMut(u32),
) -> Result<DemoSummary, WriteError> {
    let mut sink = Transformed {
        writer: sink,
        line: Vec::with_capacity(2048),
    };
    generate_events(config, &mut sink, on_day)
}

/// Generates the events of `config` into `sink`, one batch per day of arrival.
/// `on_day` is called after each day with the number of days done.
pub fn generate_events(
    config: &DemoConfig,
    sink: &mut dyn EventSink,
    mut on_day: impl FnMut(u32),
) -> Result<DemoSummary, WriteError> {
    let mut sim = Sim {
        rng: fastrand::Rng::with_seed(config.seed),
        end: config.end,
        pending: Vec::new(),
        summary: DemoSummary::default(),
    };
    let mut pipelines: Vec<Pipeline> = (0..config.pipelines).map(|i| sim.pipeline(i)).collect();
    let last_day = config.end.date_naive();
    let first_day = last_day - Duration::days(i64::from(config.days.max(1)) - 1);
    for (n, day) in first_day
        .iter_days()
        .take_while(|d| *d <= last_day)
        .enumerate()
    {
        let day_start = midnight(day);
        for p in &mut pipelines {
            // Around the mean, with some quiet and some busy days.
            let runs = (config.runs_per_day * (0.4 + sim.rng.f64() * 1.2)).round() as u32;
            let mut starts: Vec<DateTime<Utc>> = (0..runs)
                .map(|_| {
                    // Mostly working hours, some nightly and late-evening runs.
                    let secs = if sim.rng.f64() < 0.8 {
                        sim.rng.i64(7 * 3600..20 * 3600)
                    } else {
                        sim.rng.i64(0..24 * 3600)
                    };
                    day_start + Duration::seconds(secs)
                })
                .collect();
            starts.sort();
            for start in starts {
                if start <= config.end {
                    sim.execution(p, start);
                }
            }
        }
        sim.deliver(day_start + Duration::days(1), day_start, sink)?;
        on_day(n as u32 + 1);
    }
    // Whatever arrives after the last day (late events, nothing else).
    sim.deliver(
        DateTime::<Utc>::MAX_UTC,
        midnight(last_day + Duration::days(1)),
        sink,
    )?;
    Ok(sim.summary)
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN))
}
