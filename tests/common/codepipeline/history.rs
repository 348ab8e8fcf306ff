//! The history the fake CodePipeline serves: EventBridge events folded into what the
//! API would list (pipelines, pipeline executions, action executions), stored compact
//! (interned strings, UUIDs in 16 bytes) so that a year of a hundred pipelines fits in
//! memory, and rendered as API JSON one item at a time, when a page asks for it.
//!
//! One cohesive thing (over 400 lines): the folded model, the fold, and its API JSON.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use cplogs::core::event::Event;
use cplogs::ingest::WriteError;
use cplogs::ingest::demo::{DemoConfig, EventSink, generate_events};
use serde_json::{Value, json};

const PIPELINE_EVENT: &str = "CodePipeline Pipeline Execution State Change";
const ACTION_EVENT: &str = "CodePipeline Action Execution State Change";

/// Stands for the external execution id inside an interned URL: CodeBuild's URLs
/// embed it, and templating it out lets every build of a project share one string.
const URL_ID: char = '\u{1}';

/// An interned string; `Sym(0)` is the empty string, which means "absent".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(super) struct Sym(u32);

impl Sym {
    fn is_none(self) -> bool {
        self.0 == 0
    }
}

/// Interns strings while folding; only the list survives into the [`History`].
struct Interner {
    ids: HashMap<Arc<str>, Sym>,
    strs: Vec<Arc<str>>,
}

impl Interner {
    fn new() -> Self {
        let mut interner = Interner {
            ids: HashMap::new(),
            strs: Vec::new(),
        };
        interner.intern("");
        interner
    }

    fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.ids.get(s) {
            return sym;
        }
        let sym = Sym(u32::try_from(self.strs.len()).expect("fewer than 2^32 strings"));
        let s: Arc<str> = Arc::from(s);
        self.strs.push(s.clone());
        self.ids.insert(s, sym);
        sym
    }

    fn opt(&mut self, s: Option<&str>) -> Sym {
        s.map_or(Sym(0), |s| self.intern(s))
    }
}

/// An execution id: 16 bytes when it is a lowercase UUID (CodePipeline's are), else
/// its text. Ordered like the text for UUIDs, so paging is stable either way.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Id {
    Uuid([u8; 16]),
    Text(Box<str>),
}

impl Id {
    pub(super) fn new(s: &str) -> Id {
        Id::uuid(s).map_or_else(|| Id::Text(s.into()), Id::Uuid)
    }

    fn uuid(s: &str) -> Option<[u8; 16]> {
        let b = s.as_bytes();
        if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
            return None;
        }
        let mut out = [0u8; 16];
        let mut digits = b.iter().filter(|&&c| c != b'-');
        for byte in &mut out {
            let hi = hex_value(*digits.next()?)?;
            let lo = hex_value(*digits.next()?)?;
            *byte = hi << 4 | lo;
        }
        Some(out)
    }
}

/// A lowercase hex digit's value (uppercase would not print back the same).
fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Text(s) => f.write_str(s),
            Id::Uuid(b) => {
                for (i, byte) in b.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        f.write_str("-")?;
                    }
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
        }
    }
}

/// A pipeline execution's status, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionStatus {
    /// Started or resumed.
    InProgress,
    /// A stop was asked for; actions are being abandoned.
    Stopping,
    /// Stopped by a user.
    Stopped,
    /// Every stage succeeded.
    Succeeded,
    /// A stage failed (it may still be retried, which resumes it).
    Failed,
    /// A newer execution overtook it.
    Superseded,
    /// Cancelled.
    Cancelled,
}

impl ExecutionStatus {
    /// The API's name (what the SDK's `as_str()` gives).
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::InProgress => "InProgress",
            ExecutionStatus::Stopping => "Stopping",
            ExecutionStatus::Stopped => "Stopped",
            ExecutionStatus::Succeeded => "Succeeded",
            ExecutionStatus::Failed => "Failed",
            ExecutionStatus::Superseded => "Superseded",
            ExecutionStatus::Cancelled => "Cancelled",
        }
    }

    /// Whether nothing more happens to it unless a stage is retried.
    pub fn is_ended(self) -> bool {
        !matches!(
            self,
            ExecutionStatus::InProgress | ExecutionStatus::Stopping
        )
    }

    /// The status a pipeline event's state leads to, with a rank that orders events
    /// of the same second (event times have whole seconds) in the order a run goes,
    /// so the fold does not depend on arrival order.
    fn of_state(state: &str) -> Option<(ExecutionStatus, u8)> {
        Some(match state {
            "STARTED" => (ExecutionStatus::InProgress, 0),
            "RESUMED" => (ExecutionStatus::InProgress, 1),
            "STOPPING" => (ExecutionStatus::Stopping, 2),
            "FAILED" => (ExecutionStatus::Failed, 3),
            "STOPPED" => (ExecutionStatus::Stopped, 4),
            "CANCELED" => (ExecutionStatus::Cancelled, 5),
            "SUPERSEDED" => (ExecutionStatus::Superseded, 6),
            "SUCCEEDED" => (ExecutionStatus::Succeeded, 7),
            _ => return None,
        })
    }
}

/// An action execution's status, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionStatus {
    /// Started, no result yet.
    InProgress,
    /// Succeeded.
    Succeeded,
    /// Failed (with an error code).
    Failed,
    /// Abandoned when its execution stopped (or was cancelled).
    Abandoned,
}

impl ActionStatus {
    /// The API's name (what the SDK's `as_str()` gives).
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::InProgress => "InProgress",
            ActionStatus::Succeeded => "Succeeded",
            ActionStatus::Failed => "Failed",
            ActionStatus::Abandoned => "Abandoned",
        }
    }

    /// Like [`ExecutionStatus::of_state`]: the status and its rank within a second.
    fn of_state(state: &str) -> Option<(ActionStatus, u8)> {
        Some(match state {
            "STARTED" => (ActionStatus::InProgress, 0),
            "ABANDONED" => (ActionStatus::Abandoned, 1),
            "CANCELED" => (ActionStatus::Abandoned, 2),
            "FAILED" => (ActionStatus::Failed, 3),
            "SUCCEEDED" => (ActionStatus::Succeeded, 4),
            _ => return None,
        })
    }
}

/// One pipeline execution, folded.
pub(super) struct Exec {
    pub(super) id: Id,
    pub(super) status: ExecutionStatus,
    /// (time in ms, rank) of the pipeline event the status comes from.
    latest: Option<(i64, u8)>,
    pub(super) start_ms: i64,
    version: i64,
    trigger_type: Sym,
    trigger_detail: Sym,
    commit_id: Sym,
    commit_message: Sym,
    repository: Sym,
    stop_reason: Sym,
    /// Its action executions (indices into the pipeline's), newest first.
    pub(super) actions: Vec<u32>,
}

impl Exec {
    /// The latest pipeline event's time, but never before the start: event times
    /// have whole seconds, start-time has milliseconds.
    fn last_update_ms(&self) -> i64 {
        self.latest
            .map_or(self.start_ms, |(t, _)| t.max(self.start_ms))
    }
}

/// One action execution, folded.
pub(super) struct Action {
    pub(super) id: Id,
    /// Index of its execution in the pipeline's.
    exec: u32,
    version: i64,
    stage: Sym,
    name: Sym,
    /// owner, category, provider, version.
    action_type: [Sym; 4],
    region: Sym,
    pub(super) start_ms: i64,
    /// Whether `start_ms` is a STARTED event's (else the earliest event's, until one comes).
    started: bool,
    last_ms: i64,
    status: ActionStatus,
    latest: Option<(i64, u8)>,
    external_id: Option<Id>,
    summary: Sym,
    /// May hold [`URL_ID`] where the external id goes.
    url: Sym,
    error_code: Sym,
}

/// One pipeline with its executions and action executions, each newest first.
pub(super) struct Pipeline {
    region: Sym,
    name: Sym,
    version: i64,
    created_ms: i64,
    updated_ms: i64,
    pub(super) executions: Vec<Exec>,
    /// Indices of `executions` sorted by id, for lookups by id.
    by_id: Vec<u32>,
    pub(super) actions: Vec<Action>,
}

impl Pipeline {
    /// The index of an execution by id.
    pub(super) fn find(&self, id: &Id) -> Option<usize> {
        self.by_id
            .binary_search_by(|&i| self.executions[i as usize].id.cmp(id))
            .ok()
            .map(|at| self.by_id[at] as usize)
    }

    /// Sorts executions and actions newest first and rebuilds the indices between
    /// them (after the fold, and after dropping executions).
    fn reindex(&mut self) {
        let mut tagged: Vec<(u32, Exec)> = std::mem::take(&mut self.executions)
            .into_iter()
            .enumerate()
            .map(|(i, e)| (i as u32, e))
            .collect();
        tagged.sort_by(|(_, a), (_, b)| newest_first(a.start_ms, &a.id, b.start_ms, &b.id));
        let mut new_index = vec![0u32; tagged.len()];
        for (new, (old, _)) in tagged.iter().enumerate() {
            new_index[*old as usize] = new as u32;
        }
        self.executions = tagged.into_iter().map(|(_, e)| e).collect();
        for a in &mut self.actions {
            a.exec = new_index[a.exec as usize];
        }
        self.actions
            .sort_by(|a, b| newest_first(a.start_ms, &a.id, b.start_ms, &b.id));
        for e in &mut self.executions {
            e.actions.clear();
        }
        for (i, a) in self.actions.iter().enumerate() {
            self.executions[a.exec as usize].actions.push(i as u32);
        }
        // The fold grew these by doubling; a year of history should not keep the slack.
        self.actions.shrink_to_fit();
        for e in &mut self.executions {
            e.actions.shrink_to_fit();
        }
        self.by_id = (0..self.executions.len() as u32).collect();
        let execs = &self.executions;
        self.by_id
            .sort_by(|&a, &b| execs[a as usize].id.cmp(&execs[b as usize].id));
    }
}

/// The order the API lists executions in: newest start first, ties by id (descending),
/// so that a page token can name a position that survives changes to the history.
pub(super) fn newest_first(a_start: i64, a_id: &Id, b_start: i64, b_id: &Id) -> Ordering {
    b_start.cmp(&a_start).then_with(|| b_id.cmp(a_id))
}

/// One pipeline execution as tests see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExecutionInfo {
    /// Its pipeline's region.
    pub region: String,
    /// Its pipeline's name.
    pub pipeline: String,
    /// `pipelineExecutionId`.
    pub id: String,
    /// Its status.
    pub status: ExecutionStatus,
    /// Whether the status is final ([`ExecutionStatus::is_ended`]).
    pub ended: bool,
    /// `startTime` (millisecond precision).
    pub start: DateTime<Utc>,
}

/// One action execution as tests see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActionInfo {
    /// Its pipeline's region.
    pub region: String,
    /// Its pipeline's name.
    pub pipeline: String,
    /// Its pipeline execution's id.
    pub execution_id: String,
    /// `actionExecutionId`.
    pub id: String,
    /// `stageName`.
    pub stage: String,
    /// `actionName`.
    pub action: String,
    /// Its status.
    pub status: ActionStatus,
    /// `errorDetails.code` when it failed.
    pub error_code: Option<String>,
    /// `startTime` (its STARTED event's time).
    pub start: DateTime<Utc>,
}

/// What CodePipeline's API would list for one account, per region and pipeline.
pub struct History {
    account: String,
    strs: Vec<Arc<str>>,
    /// Sorted by (region, name).
    pipelines: Vec<Pipeline>,
}

impl History {
    /// Folds EventBridge events (JSON, any order, duplicates allowed) of `account`
    /// into the history; other accounts' events and unreadable ones are ignored.
    pub fn from_events(
        events: impl IntoIterator<Item = impl AsRef<[u8]>>,
        account: &str,
    ) -> History {
        let mut folder = HistoryFolder::new(account);
        for event in events {
            folder.add(event.as_ref());
        }
        folder.finish()
    }

    /// The demo generator's history for `account` (the demo alternates two accounts
    /// between pipelines), streamed into the fold without keeping the events.
    pub fn demo(config: &DemoConfig, account: &str) -> History {
        let mut folder = HistoryFolder::new(account);
        generate_events(config, &mut folder, |_| {}).expect("folding never fails");
        folder.finish()
    }

    /// The account it is the history of.
    pub fn account(&self) -> &str {
        &self.account
    }

    fn s(&self, sym: Sym) -> &str {
        &self.strs[sym.0 as usize]
    }

    fn opt(&self, sym: Sym) -> Option<&str> {
        (!sym.is_none()).then(|| self.s(sym))
    }

    /// Every pipeline as (region, name), sorted.
    pub fn pipelines(&self) -> Vec<(String, String)> {
        self.pipelines
            .iter()
            .map(|p| (self.s(p.region).to_owned(), self.s(p.name).to_owned()))
            .collect()
    }

    /// The regions that have pipelines, sorted.
    pub fn regions(&self) -> Vec<String> {
        let mut regions: Vec<String> = self.pipelines().into_iter().map(|(r, _)| r).collect();
        regions.dedup();
        regions
    }

    /// Number of pipeline executions.
    pub fn execution_count(&self) -> usize {
        self.pipelines.iter().map(|p| p.executions.len()).sum()
    }

    /// Number of action executions.
    pub fn action_count(&self) -> usize {
        self.pipelines.iter().map(|p| p.actions.len()).sum()
    }

    fn info(&self, p: &Pipeline, e: &Exec) -> ExecutionInfo {
        ExecutionInfo {
            region: self.s(p.region).to_owned(),
            pipeline: self.s(p.name).to_owned(),
            id: e.id.to_string(),
            status: e.status,
            ended: e.status.is_ended(),
            start: time(e.start_ms),
        }
    }

    /// Every pipeline execution: by region and pipeline, newest first within one.
    pub fn executions(&self) -> Vec<ExecutionInfo> {
        self.pipelines
            .iter()
            .flat_map(|p| p.executions.iter().map(move |e| self.info(p, e)))
            .collect()
    }

    /// Every action execution: by region and pipeline, newest first within one.
    pub fn actions(&self) -> Vec<ActionInfo> {
        let mut out = Vec::with_capacity(self.action_count());
        for p in &self.pipelines {
            for a in &p.actions {
                out.push(ActionInfo {
                    region: self.s(p.region).to_owned(),
                    pipeline: self.s(p.name).to_owned(),
                    execution_id: p.executions[a.exec as usize].id.to_string(),
                    id: a.id.to_string(),
                    stage: self.s(a.stage).to_owned(),
                    action: self.s(a.name).to_owned(),
                    status: a.status,
                    error_code: self.opt(a.error_code).map(str::to_owned),
                    start: time(a.start_ms),
                });
            }
        }
        out
    }

    /// Keeps only the executions `keep` accepts (and their action executions), as if
    /// the others had never run; pipelines stay, even with no execution left.
    pub fn retain(&mut self, mut keep: impl FnMut(&ExecutionInfo) -> bool) {
        let mut pipelines = std::mem::take(&mut self.pipelines);
        for p in &mut pipelines {
            let kept: Vec<bool> = p
                .executions
                .iter()
                .map(|e| keep(&self.info(p, e)))
                .collect();
            let mut new_index = vec![u32::MAX; kept.len()];
            let mut n = 0u32;
            for (i, &k) in kept.iter().enumerate() {
                if k {
                    new_index[i] = n;
                    n += 1;
                }
            }
            let mut i = 0;
            p.executions.retain(|_| {
                i += 1;
                kept[i - 1]
            });
            p.actions.retain_mut(|a| {
                a.exec = new_index[a.exec as usize];
                a.exec != u32::MAX
            });
            p.reindex();
        }
        self.pipelines = pipelines;
    }

    /// The pipelines of one region (a slice of the sorted list).
    pub(super) fn region_pipelines(&self, region: &str) -> &[Pipeline] {
        let lo = self
            .pipelines
            .partition_point(|p| self.s(p.region) < region);
        let hi = self
            .pipelines
            .partition_point(|p| self.s(p.region) <= region);
        &self.pipelines[lo..hi]
    }

    /// A pipeline by region and name.
    pub(super) fn pipeline(&self, region: &str, name: &str) -> Option<&Pipeline> {
        let in_region = self.region_pipelines(region);
        in_region
            .binary_search_by(|p| self.s(p.name).cmp(name))
            .ok()
            .map(|i| &in_region[i])
    }

    /// A pipeline's name.
    pub(super) fn name<'a>(&'a self, p: &Pipeline) -> &'a str {
        self.s(p.name)
    }

    /// `PipelineSummary` of ListPipelines.
    pub(super) fn pipeline_json(&self, p: &Pipeline) -> Value {
        json!({
            "name": self.s(p.name),
            "version": p.version,
            "pipelineType": "V2",
            "executionMode": "SUPERSEDED",
            "created": ts(p.created_ms),
            "updated": ts(p.updated_ms),
        })
    }

    fn trigger_json(&self, e: &Exec) -> Option<Value> {
        let mut trigger = json!({ "triggerType": self.opt(e.trigger_type)? });
        if let Some(detail) = self.opt(e.trigger_detail) {
            trigger["triggerDetail"] = json!(detail);
        }
        Some(trigger)
    }

    /// The commit as (revisionId, revisionSummary, revisionUrl), when there is one.
    fn revision(&self, e: &Exec) -> Option<(&str, Option<String>, Option<String>)> {
        let commit = self.opt(e.commit_id)?;
        // AWS puts a JSON document in a string here; built by hand so that the key
        // order does not depend on serde_json's preserve_order feature.
        let summary = self.opt(e.commit_message).map(|m| {
            format!(
                r#"{{"ProviderType":"GitHub","CommitMessage":{}}}"#,
                Value::from(m)
            )
        });
        let url = self
            .opt(e.repository)
            .map(|r| format!("https://github.com/{r}/commit/{commit}"));
        Some((commit, summary, url))
    }

    /// `PipelineExecutionSummary` of ListPipelineExecutions.
    pub(super) fn summary_json(&self, e: &Exec) -> Value {
        let mut revisions = Vec::new();
        if let Some((id, summary, url)) = self.revision(e) {
            let mut r = json!({ "actionName": "Source", "revisionId": id });
            if let Some(s) = summary {
                r["revisionSummary"] = json!(s);
            }
            if let Some(u) = url {
                r["revisionUrl"] = json!(u);
            }
            revisions.push(r);
        }
        let mut v = json!({
            "pipelineExecutionId": e.id.to_string(),
            "status": e.status.as_str(),
            "startTime": ts(e.start_ms),
            "lastUpdateTime": ts(e.last_update_ms()),
            "sourceRevisions": revisions,
            "executionMode": "SUPERSEDED",
            "executionType": "STANDARD",
        });
        if let Some(t) = self.trigger_json(e) {
            v["trigger"] = t;
        }
        if let Some(reason) = self.opt(e.stop_reason) {
            v["stopTrigger"] = json!({ "reason": reason });
        }
        v
    }

    /// `PipelineExecution` of GetPipelineExecution.
    pub(super) fn execution_json(&self, p: &Pipeline, e: &Exec) -> Value {
        let mut revisions = Vec::new();
        if let Some((id, summary, url)) = self.revision(e) {
            let mut r = json!({ "name": "SourceArtifact", "revisionId": id });
            if let Some(s) = summary {
                r["revisionSummary"] = json!(s);
            }
            if let Some(u) = url {
                r["revisionUrl"] = json!(u);
            }
            revisions.push(r);
        }
        let mut v = json!({
            "pipelineName": self.s(p.name),
            "pipelineVersion": e.version,
            "pipelineExecutionId": e.id.to_string(),
            "status": e.status.as_str(),
            "artifactRevisions": revisions,
            "executionMode": "SUPERSEDED",
            "executionType": "STANDARD",
        });
        if let Some(t) = self.trigger_json(e) {
            v["trigger"] = t;
        }
        v
    }

    /// `ActionExecutionDetail` of ListActionExecutions.
    pub(super) fn action_json(&self, p: &Pipeline, a: &Action) -> Value {
        let [owner, category, provider, version] = a.action_type.map(|s| self.s(s));
        let mut input = json!({
            "actionTypeId": {
                "owner": owner,
                "category": category,
                "provider": provider,
                "version": version,
            },
            "configuration": {},
            "inputArtifacts": [],
        });
        if let Some(region) = self.opt(a.region) {
            input["region"] = json!(region);
        }
        let mut result = serde_json::Map::new();
        let external_id = a.external_id.as_ref().map(Id::to_string);
        if let Some(id) = &external_id {
            result.insert("externalExecutionId".into(), json!(id));
        }
        if let Some(s) = self.opt(a.summary) {
            result.insert("externalExecutionSummary".into(), json!(s));
        }
        if let Some(url) = self.opt(a.url) {
            let url = url.replace(URL_ID, external_id.as_deref().unwrap_or_default());
            result.insert("externalExecutionUrl".into(), json!(url));
        }
        if a.status == ActionStatus::Failed
            && let Some(code) = self.opt(a.error_code)
        {
            result.insert(
                "errorDetails".into(),
                json!({ "code": code, "message": self.s(a.summary) }),
            );
        }
        let mut output = json!({ "outputArtifacts": [] });
        if !result.is_empty() {
            output["executionResult"] = Value::Object(result);
        }
        json!({
            "pipelineExecutionId": p.executions[a.exec as usize].id.to_string(),
            "actionExecutionId": a.id.to_string(),
            "pipelineVersion": a.version,
            "stageName": self.s(a.stage),
            "actionName": self.s(a.name),
            "startTime": ts(a.start_ms),
            "lastUpdateTime": ts(a.last_ms),
            "status": a.status.as_str(),
            "input": input,
            "output": output,
        })
    }
}

/// A time as AWS JSON 1.1 sends it: epoch seconds, fractional when there are ms.
fn ts(ms: i64) -> Value {
    if ms % 1000 == 0 {
        json!(ms / 1000)
    } else {
        json!(ms as f64 / 1000.0)
    }
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn millis(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// A pipeline while folding: the lookups by id that the finished history drops.
struct PipelineFold {
    pipeline: Pipeline,
    executions: HashMap<Id, u32>,
    actions: HashMap<Id, u32>,
}

/// Folds events into a [`History`] one at a time; as an [`EventSink`] it takes the
/// demo generator's output without keeping the events.
pub struct HistoryFolder {
    account: String,
    strs: Interner,
    pipelines: HashMap<(Sym, Sym), PipelineFold>,
}

impl HistoryFolder {
    /// Folds the events of `account`.
    pub fn new(account: &str) -> Self {
        HistoryFolder {
            account: account.to_owned(),
            strs: Interner::new(),
            pipelines: HashMap::new(),
        }
    }

    /// Folds one event; returns its time when it was one of the account's pipeline
    /// or action events (stage events change nothing the API lists).
    pub fn add(&mut self, body: &[u8]) -> Option<DateTime<Utc>> {
        let text = std::str::from_utf8(body).ok()?;
        let event = Event::from_json(text).ok()?;
        if event.account.as_deref() != Some(self.account.as_str()) {
            return None;
        }
        let is_action = match &*event.detail_type {
            PIPELINE_EVENT => false,
            ACTION_EVENT => true,
            _ => return None,
        };
        let t = millis(&event.time)?;
        let d = &event.detail;
        let region = self.strs.intern(event.region.as_deref()?);
        let name = self.strs.intern(d.pipeline.as_deref()?);
        let exec_id = Id::new(d.execution_id.as_deref()?);
        let version = d.version.map_or(0, |v| v.0);
        let fold = self
            .pipelines
            .entry((region, name))
            .or_insert_with(|| PipelineFold {
                pipeline: Pipeline {
                    region,
                    name,
                    version,
                    created_ms: t,
                    updated_ms: t,
                    executions: Vec::new(),
                    by_id: Vec::new(),
                    actions: Vec::new(),
                },
                executions: HashMap::new(),
                actions: HashMap::new(),
            });
        let p = &mut fold.pipeline;
        p.created_ms = p.created_ms.min(t);
        match version.cmp(&p.version) {
            Ordering::Greater => (p.version, p.updated_ms) = (version, t),
            Ordering::Equal => p.updated_ms = p.updated_ms.min(t),
            Ordering::Less => {}
        }
        let exec = *fold.executions.entry(exec_id.clone()).or_insert_with(|| {
            p.executions.push(Exec {
                id: exec_id,
                status: ExecutionStatus::InProgress,
                latest: None,
                start_ms: t,
                version,
                trigger_type: Sym(0),
                trigger_detail: Sym(0),
                commit_id: Sym(0),
                commit_message: Sym(0),
                repository: Sym(0),
                stop_reason: Sym(0),
                actions: Vec::new(),
            });
            (p.executions.len() - 1) as u32
        });
        let e = &mut p.executions[exec as usize];
        // Every event carries the execution's start-time; the earliest event time
        // stands in until one does.
        e.start_ms = d
            .start_time
            .as_deref()
            .and_then(millis)
            .unwrap_or(e.start_ms.min(t));
        e.version = e.version.max(version);
        let state = d.state.as_deref().unwrap_or_default();
        if !is_action {
            if let Some((status, rank)) = ExecutionStatus::of_state(state)
                && e.latest < Some((t, rank))
            {
                (e.status, e.latest) = (status, Some((t, rank)));
            }
            if let Some(trigger) = &d.execution_trigger {
                e.trigger_type = self.strs.opt(trigger.trigger_type.as_deref());
                e.trigger_detail = self.strs.opt(trigger.trigger_detail.as_deref());
                e.commit_id = self.strs.opt(trigger.commit_id.as_deref());
                e.commit_message = self.strs.opt(trigger.commit_message.as_deref());
                e.repository = self.strs.opt(trigger.full_repository_name.as_deref());
            }
            if let Some(reason) = d.stop_execution_comments.as_deref() {
                e.stop_reason = self.strs.intern(reason);
            }
            return Some(time(t));
        }
        let action_id = Id::new(d.action_execution_id.as_deref()?);
        let ai = *fold.actions.entry(action_id.clone()).or_insert_with(|| {
            p.actions.push(Action {
                id: action_id,
                exec,
                version,
                stage: Sym(0),
                name: Sym(0),
                action_type: [Sym(0); 4],
                region: Sym(0),
                start_ms: t,
                started: false,
                last_ms: t,
                status: ActionStatus::InProgress,
                latest: None,
                external_id: None,
                summary: Sym(0),
                url: Sym(0),
                error_code: Sym(0),
            });
            (p.actions.len() - 1) as u32
        });
        let a = &mut p.actions[ai as usize];
        let strs = &mut self.strs;
        a.version = a.version.max(version);
        if let Some(stage) = d.stage.as_deref() {
            a.stage = strs.intern(stage);
        }
        if let Some(action) = d.action.as_deref() {
            a.name = strs.intern(action);
        }
        if let Some(r) = d.region.as_deref() {
            a.region = strs.intern(r);
        }
        if let Some(ty) = &d.action_type {
            a.action_type = [
                strs.opt(ty.owner.as_deref()),
                strs.opt(ty.category.as_deref()),
                strs.opt(ty.provider.as_deref()),
                strs.opt(ty.version.as_ref().map(|v| &*v.0)),
            ];
        }
        if state == "STARTED" {
            a.start_ms = if a.started { a.start_ms.min(t) } else { t };
            a.started = true;
        } else if !a.started {
            a.start_ms = a.start_ms.min(t);
        }
        a.last_ms = a.last_ms.max(t);
        if let Some((status, rank)) = ActionStatus::of_state(state)
            && a.latest < Some((t, rank))
        {
            (a.status, a.latest) = (status, Some((t, rank)));
        }
        if let Some(r) = &d.execution_result {
            let ext = r.external_execution_id.as_deref();
            a.external_id = ext.map(Id::new);
            a.summary = strs.opt(r.external_execution_summary.as_deref());
            a.url = match (r.external_execution_url.as_deref(), ext) {
                (Some(url), Some(ext)) if !ext.is_empty() && url.contains(ext) => {
                    strs.intern(&url.replace(ext, &URL_ID.to_string()))
                }
                (url, _) => strs.opt(url),
            };
            a.error_code = strs.opt(r.error_code.as_deref());
        }
        Some(time(t))
    }

    /// The history folded so far.
    pub fn finish(self) -> History {
        let strs = self.strs.strs;
        let mut pipelines: Vec<Pipeline> =
            self.pipelines.into_values().map(|f| f.pipeline).collect();
        pipelines.sort_by(|a, b| {
            let key = |p: &Pipeline| {
                (
                    strs[p.region.0 as usize].clone(),
                    strs[p.name.0 as usize].clone(),
                )
            };
            key(a).cmp(&key(b))
        });
        for p in &mut pipelines {
            p.reindex();
        }
        History {
            account: self.account,
            strs,
            pipelines,
        }
    }
}

impl EventSink for HistoryFolder {
    fn event(&mut self, body: &[u8]) -> Result<Option<NaiveDate>, WriteError> {
        Ok(self.add(body).map(|t| t.date_naive()))
    }

    fn end_batch(&mut self) -> Result<(), WriteError> {
        Ok(())
    }
}
