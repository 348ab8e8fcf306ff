//! `cplogs backfill`: CodePipeline's own history (up to 12 months) into the store, as
//! the events EventBridge would have sent, through the one transform and layout, for
//! every account (`--role-arn`) and region asked; then the partitions are registered.
//! Only ended executions without live events are written, and only the synthesized
//! events not stored yet, so a repeated or interrupted run is harmless.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result};
use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use chrono::{DateTime, Utc};
use clap::Args;
use futures::StreamExt;
use serde::Serialize;
use serde_json::json;

use super::exit::{Exit, UsageError};
use super::global::{Context, NO_REGION, SummaryFormat};
use super::store::Store;
use super::window::parse_instant;
use crate::aws::codepipeline::{
    self as api, ActionRun, Calls, Execution, PipelineRef, list_action_runs, list_executions,
};
use crate::core::layout::{Dt, table_prefix};
use crate::core::schema::Table;
use crate::core::transform::transform_into;
use crate::ingest::backfill::{started_id, synthesize};
use crate::ingest::replay::FileGroups;
use crate::ingest::stored::Stored;

/// `cplogs backfill`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs backfill --bucket my-cplogs-bucket --region eu-west-1 --dry-run
  cplogs backfill --bucket my-cplogs-bucket --since 90d --region eu-west-1 --region us-east-1 \\
      --role-arn arn:aws:iam::111122223333:role/cplogs-backfill
  cplogs backfill --out ./logs --since 30d --pipeline payments-api")]
pub struct BackfillArgs {
    /// How far back: 365d (the API keeps about 12 months), 90d, 2026-01-01.
    #[arg(long, default_value = "365d")]
    pub since: String,
    /// Only this pipeline (repeatable); default: every pipeline listed.
    #[arg(long = "pipeline", value_name = "NAME")]
    pub pipelines: Vec<String>,
    /// Read another account's history through this role (repeatable; assumed with
    /// STS); default: the caller's own account.
    #[arg(long = "role-arn", value_name = "ARN")]
    pub role_arns: Vec<String>,
    /// Write into this local directory (laid out like the bucket) instead of the
    /// bucket (--bucket).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Read the API and count, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Pipelines read at once (each makes one call at a time).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,
}

/// Where the history comes from: accounts (roles) × regions.
pub struct Sources {
    /// The base SDK configuration (profile, endpoint, credentials).
    pub base: SdkConfig,
    /// Regions to read (at least one).
    pub regions: Vec<String>,
    /// Roles to assume; empty: the caller's own account.
    pub roles: Vec<String>,
}

impl Sources {
    /// The regions and roles of the command line, checked.
    pub async fn from_args(cx: &Context, roles: &[String]) -> Result<Sources> {
        for r in roles {
            if !r.starts_with("arn:") || !r.contains(":role/") {
                return Err(UsageError(format!("--role-arn {r:?} is not an IAM role ARN")).into());
            }
        }
        let base = cx.sdk_config(NO_REGION).await?;
        let regions = if cx.regions.is_empty() {
            base.region()
                .map(|r| vec![r.to_string()])
                .unwrap_or_default()
        } else {
            let mut seen = Vec::new();
            for r in &cx.regions {
                if !seen.contains(r) {
                    seen.push(r.clone());
                }
            }
            seen
        };
        Ok(Sources {
            base,
            regions,
            roles: roles.to_vec(),
        })
    }

    /// (role, region) pairs in order.
    fn targets(&self) -> Vec<(Option<String>, String)> {
        let roles: Vec<Option<String>> = if self.roles.is_empty() {
            vec![None]
        } else {
            self.roles.iter().cloned().map(Some).collect()
        };
        roles
            .into_iter()
            .flat_map(|role| self.regions.iter().map(move |r| (role.clone(), r.clone())))
            .collect()
    }
}

/// One account and region, ready to call.
pub struct Target {
    /// Its account.
    pub account: String,
    /// Its region.
    pub region: String,
    /// The CodePipeline client (adaptive retry for throttling).
    pub client: aws_sdk_codepipeline::Client,
}

impl Target {
    /// `account/region`, for messages.
    pub fn label(&self) -> String {
        format!("{}/{}", self.account, self.region)
    }

    /// The pipeline called `name` here.
    pub fn pipeline(&self, name: &str) -> PipelineRef {
        PipelineRef {
            account: self.account.clone(),
            region: self.region.clone(),
            name: name.to_owned(),
        }
    }

    /// The pipelines to read here: every one listed, or those named in `only`.
    pub async fn pipelines(&self, only: &[String], calls: &Calls) -> Result<Vec<String>, String> {
        let names = api::list_pipelines(&self.client, calls)
            .await
            .map_err(|e| format!("{}: {e}", self.label()))?;
        Ok(names
            .into_iter()
            .filter(|n| only.is_empty() || only.contains(n))
            .collect())
    }
}

impl Sources {
    /// Every (role, region) connected, in order; those that cannot be, as failures.
    pub async fn connect_all(&self) -> (Vec<Target>, Vec<String>) {
        let (mut targets, mut failures) = (Vec::new(), Vec::new());
        for (role, region) in self.targets() {
            match connect(&self.base, role.as_deref(), &region).await {
                Ok(t) => targets.push(t),
                Err(e) => failures.push(e),
            }
        }
        (targets, failures)
    }
}

/// Connects to one (role, region): the role's credentials through the SDK's
/// assume-role provider, the account from STS GetCallerIdentity.
async fn connect(base: &SdkConfig, role: Option<&str>, region: &str) -> Result<Target, String> {
    let mut config = base
        .to_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .build();
    if let Some(role) = role {
        let provider = aws_config::sts::AssumeRoleProvider::builder(role)
            .session_name("cplogs-backfill")
            .configure(&config)
            .build()
            .await;
        config = config
            .to_builder()
            .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
                provider,
            ))
            .build();
    }
    let who = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            format!(
                "{}{region}: STS GetCallerIdentity: {}",
                role.map(|r| format!("{r} in ")).unwrap_or_default(),
                aws_sdk_sts::error::DisplayErrorContext(&e)
            )
        })?;
    let account = who.account().unwrap_or_default().to_owned();
    let client = aws_sdk_codepipeline::Client::from_conf(
        aws_sdk_codepipeline::config::Builder::from(&config)
            .retry_config(RetryConfig::adaptive().with_max_attempts(8))
            .build(),
    );
    Ok(Target {
        account,
        region: region.to_owned(),
        client,
    })
}

/// What to backfill.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Executions that started at or after this.
    pub since: DateTime<Utc>,
    /// Only these pipeline names (empty: all).
    pub pipelines: Vec<String>,
    /// Only these executions, as (pipeline ARN, execution id) (`coverage --fix`).
    pub only: Option<HashSet<(String, String)>>,
    /// Count, write nothing.
    pub dry_run: bool,
    /// Pipelines at once.
    pub concurrency: usize,
}

/// What a backfill did.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Accounts × regions read.
    pub targets: Vec<String>,
    /// Pipelines read.
    pub pipelines: u64,
    /// Executions the API listed in the window.
    pub executions: u64,
    /// Of them, still running (left to live events or a later run).
    pub running: u64,
    /// Of them, with live events in the store.
    pub already_stored: u64,
    /// Of them, written by an earlier backfill (every event there).
    pub already_backfilled: u64,
    /// Of them, written now (or, on a dry run, that would be).
    pub written: u64,
    /// Events written now (or that would be).
    pub events: u64,
    /// Files written now.
    pub files: u64,
    /// API calls per operation.
    pub calls: BTreeMap<String, u64>,
    /// Partitions registered (bucket only).
    pub partitions_added: u64,
    /// What failed: an account/region or a pipeline, and why.
    pub failures: Vec<String>,
    /// Nothing was written.
    pub dry_run: bool,
    /// Seconds taken.
    pub seconds: f64,
}

/// Reads what the store holds for executions that started at or after `since`.
async fn scan_store(store: &Store, since: DateTime<Utc>) -> Result<Stored> {
    let first = Dt::from(since.date_naive());
    let mut stored = Stored::default();
    for table in Table::ALL {
        for key in store.list(&table_prefix(table)).await? {
            if crate::core::layout::is_hidden(&key) {
                continue;
            }
            let Ok((_, dt)) = crate::core::layout::parse_key(&key) else {
                continue;
            };
            if dt < first {
                continue;
            }
            let bytes = store.read(&key).await?;
            stored.add_file(&key, &bytes).map_err(anyhow::Error::msg)?;
        }
    }
    Ok(stored)
}

/// One pipeline's result.
#[derive(Debug, Default)]
struct PipelineDone {
    executions: u64,
    running: u64,
    already_stored: u64,
    already_backfilled: u64,
    written: u64,
    events: u64,
    files: u64,
    dts: BTreeSet<(Table, Dt)>,
}

/// Backfills one pipeline: lists its executions and action attempts, synthesizes
/// the events of the wanted ones, writes the files.
async fn pipeline(
    target: &Target,
    name: &str,
    plan: &Plan,
    stored: &Stored,
    store: &Store,
    calls: &Calls,
) -> Result<PipelineDone, String> {
    let p = target.pipeline(name);
    let arn = p.arn();
    let client = &target.client;
    let executions = list_executions(client, name, plan.since, calls)
        .await
        .map_err(|e| e.to_string())?;
    let mut done = PipelineDone {
        executions: executions.len() as u64,
        ..PipelineDone::default()
    };
    let mut wanted: Vec<&Execution> = Vec::new();
    for e in &executions {
        if let Some(only) = &plan.only
            && !only.contains(&(arn.clone(), e.id.clone()))
        {
            continue;
        }
        if !e.ended() {
            done.running += 1;
        } else if stored.has_live(&arn, &e.id) {
            done.already_stored += 1;
        } else if stored.has_event(&started_id(&p, &e.id)) {
            done.already_backfilled += 1;
        } else {
            wanted.push(e);
        }
    }
    if wanted.is_empty() {
        return Ok(done);
    }
    // One listing of the whole history, 100 attempts a call; for a few executions
    // (coverage --fix) a filtered listing of each is fewer calls.
    let runs: Vec<ActionRun> = if plan.only.is_some() && wanted.len() * 4 < executions.len() {
        let mut runs = Vec::new();
        for e in &wanted {
            runs.extend(
                list_action_runs(client, name, plan.since, Some(&e.id), calls)
                    .await
                    .map_err(|e| e.to_string())?,
            );
        }
        runs
    } else {
        list_action_runs(client, name, plan.since, None, calls)
            .await
            .map_err(|e| e.to_string())?
    };
    let mut by_execution: HashMap<&str, Vec<&ActionRun>> = HashMap::new();
    for r in &runs {
        by_execution.entry(&r.execution_id).or_default().push(r);
    }
    let mut groups = FileGroups::default();
    let mut line = Vec::with_capacity(2048);
    for e in wanted {
        let mine = by_execution.remove(e.id.as_str()).unwrap_or_default();
        let version = if mine.iter().any(|r| r.pipeline_version.is_some()) {
            None
        } else {
            api::execution_version(client, name, &e.id, calls)
                .await
                .map_err(|e| e.to_string())?
        };
        let events = synthesize(&p, e, &mine, version);
        let new: Vec<_> = events.iter().filter(|s| !stored.has_event(&s.id)).collect();
        if new.is_empty() {
            done.already_backfilled += 1;
            continue;
        }
        done.written += 1;
        for s in new {
            line.clear();
            let routed = transform_into(&s.body, None, &mut line).map_err(|err| {
                format!(
                    "execution {}: a synthesized event does not transform: {err}",
                    e.id
                )
            })?;
            groups.add(routed, &line);
            done.events += 1;
            done.dts.insert((routed.table, routed.dt));
        }
    }
    if plan.dry_run || groups.is_empty() {
        return Ok(done);
    }
    let mut files = groups.finish(|lines| {
        format!(
            "backfill-{}.json.gz",
            crate::hash::hex128(&String::from_utf8_lossy(lines))
        )
    })?;
    // Action and stage files first, then the pipeline's, newest day first: the last
    // file written holds the STARTED events that mark executions complete
    // (`started_id`), so a run killed in between leaves them to be finished.
    files.sort_by_key(|f| (f.table == Table::Pipeline, std::cmp::Reverse(f.dt)));
    for f in &files {
        if store.write_new(f).await.map_err(|e| format!("{e:#}"))? {
            done.files += 1;
        }
    }
    Ok(done)
}

/// Runs a backfill of `sources` into `store`, calling `progress` as pipelines finish
/// (done, total, executions found, calls).
pub async fn execute(
    sources: &Sources,
    plan: &Plan,
    store: &Store,
    database: &str,
    bucket: Option<&str>,
    progress: &(dyn Fn(u64, u64, u64, u64) + Sync),
) -> Result<Summary> {
    let started = Instant::now();
    let stored = scan_store(store, plan.since).await?;
    let calls = Calls::default();
    let mut summary = Summary {
        dry_run: plan.dry_run,
        ..Summary::default()
    };
    let mut dts: BTreeSet<(Table, Dt)> = BTreeSet::new();
    let mut total = 0u64;
    let (targets, failures) = sources.connect_all().await;
    summary.failures.extend(failures);
    for target in targets {
        let label = target.label();
        summary.targets.push(label.clone());
        let names = match target.pipelines(&plan.pipelines, &calls).await {
            Ok(n) => n,
            Err(e) => {
                summary.failures.push(e);
                continue;
            }
        };
        total += names.len() as u64;
        let target = Arc::new(target);
        let mut results = futures::stream::iter(names.into_iter().map(|name| {
            let (target, stored, calls) = (target.clone(), &stored, &calls);
            async move {
                let r = pipeline(&target, &name, plan, stored, store, calls).await;
                (name, r)
            }
        }))
        .buffer_unordered(plan.concurrency.max(1));
        while let Some((name, result)) = results.next().await {
            summary.pipelines += 1;
            match result {
                Ok(d) => {
                    summary.executions += d.executions;
                    summary.running += d.running;
                    summary.already_stored += d.already_stored;
                    summary.already_backfilled += d.already_backfilled;
                    summary.written += d.written;
                    summary.events += d.events;
                    summary.files += d.files;
                    dts.extend(d.dts);
                }
                Err(e) => summary.failures.push(format!("{label} {name}: {e}")),
            }
            progress(summary.pipelines, total, summary.executions, calls.total());
        }
    }
    summary.calls = calls
        .by_operation()
        .into_iter()
        .map(|(op, n)| (op.to_owned(), n))
        .collect();
    if let (Some(bucket), Store::S3 { client: s3, .. }, false) = (bucket, store, plan.dry_run)
        && summary.files > 0
    {
        let first = dts.iter().map(|(_, d)| *d).min();
        let last = dts.iter().map(|(_, d)| *d).max();
        let tables: BTreeSet<Table> = dts.iter().map(|(t, _)| *t).collect();
        let repairs = crate::aws::repair::repair(
            s3.clone(),
            crate::aws::sdk::glue_client(&sources.base),
            crate::aws::repair::RepairOptions {
                bucket: bucket.to_owned(),
                database: database.to_owned(),
                tables: tables.into_iter().collect(),
                since: first,
                until: last,
                dry_run: false,
                delete_missing: false,
                fix_locations: false,
                concurrency: 3,
            },
            |_| {},
        )
        .await;
        for r in repairs {
            summary.partitions_added += r.added as u64;
            summary.failures.extend(
                r.errors
                    .iter()
                    .map(|e| format!("partitions of {}: {e}", r.table)),
            );
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The store the command writes to: `--out DIR`, else the bucket.
pub async fn store_for(out: Option<&PathBuf>, cx: &Context) -> Result<(Store, Option<String>)> {
    Ok(match out {
        Some(dir) => (Store::Local(dir.clone()), None),
        None => {
            let bucket = cx.settings.require_bucket().map_err(|_| {
                UsageError(
                    "backfill writes to a bucket (--bucket) or a directory (--out DIR)".into(),
                )
            })?;
            let config = cx.sdk_config(NO_REGION).await?;
            (
                Store::S3 {
                    client: crate::aws::sdk::s3_client(&config),
                    bucket: bucket.to_owned(),
                },
                Some(bucket.to_owned()),
            )
        }
    })
}

/// A progress bar on a terminal (pipelines done/total, executions, calls, ETA).
pub fn progress_bar(cx: &Context) -> indicatif::ProgressBar {
    if cx.quiet || !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:30} {pos}/{len} pipelines · {msg} · ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Prints the summary: JSON on stdout, or lines on stderr.
pub fn print_summary(summary: &Summary, format: SummaryFormat) -> Result<()> {
    match format {
        SummaryFormat::Json => {
            let mut out = io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &json!({ "backfill": summary }))?;
            writeln!(out)?;
        }
        SummaryFormat::Table => {
            let s = summary;
            let verb = if s.dry_run { "would write" } else { "written" };
            note!(
                "backfill: {} pipelines in {}, {:.1}s{}",
                s.pipelines,
                if s.targets.is_empty() {
                    "no account and region".to_owned()
                } else {
                    s.targets.join(", ")
                },
                s.seconds,
                if s.dry_run {
                    " (dry run: nothing written)"
                } else {
                    ""
                }
            );
            note!(
                "  executions {}: running {}, already stored {}, already backfilled {}, {verb} {} ({} events, {} files)",
                s.executions,
                s.running,
                s.already_stored,
                s.already_backfilled,
                s.written,
                s.events,
                s.files
            );
            let calls: Vec<String> = s.calls.iter().map(|(op, n)| format!("{op} {n}")).collect();
            note!("  API calls: {}", calls.join(", "));
            if s.partitions_added > 0 {
                note!("  partitions added: {}", s.partitions_added);
            }
            for f in &s.failures {
                note!("  failed: {f}");
            }
        }
    }
    Ok(())
}

/// Runs `cplogs backfill`: exit 0, or 1 when an account, region or pipeline failed
/// (the others are done).
pub fn run(args: BackfillArgs, cx: &Context) -> Result<Exit> {
    let format = cx.summary_format("backfill")?;
    let now = Utc::now();
    let since = parse_instant(&args.since, now).map_err(|e| UsageError(format!("--since: {e}")))?;
    if since >= now {
        return Err(UsageError(format!("--since {} is not in the past", args.since)).into());
    }
    for p in &args.pipelines {
        if !crate::reports::valid_pipeline_name(p) {
            return Err(UsageError(format!("--pipeline {p:?} is not a pipeline name")).into());
        }
    }
    let plan = Plan {
        since,
        pipelines: args.pipelines.clone(),
        only: None,
        dry_run: args.dry_run,
        concurrency: usize::from(args.concurrency),
    };
    let bar = progress_bar(cx);
    let rt = super::runtime()?;
    let summary = rt.block_on(async {
        let (store, bucket) = store_for(args.out.as_ref(), cx).await?;
        let sources = Sources::from_args(cx, &args.role_arns).await?;
        let progress = |done: u64, total: u64, executions: u64, calls: u64| {
            bar.set_length(total);
            bar.set_position(done);
            bar.set_message(format!("{executions} executions · {calls} calls"));
        };
        execute(
            &sources,
            &plan,
            &store,
            &cx.settings.database,
            bucket.as_deref(),
            &progress,
        )
        .await
        .context("backfill")
    })?;
    rt.shutdown_background();
    bar.finish_and_clear();
    print_summary(&summary, format)?;
    Ok(if summary.failures.is_empty() {
        Exit::Success
    } else {
        Exit::Failure
    })
}
