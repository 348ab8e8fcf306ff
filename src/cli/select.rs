//! Choosing and building the engine a command's SQL runs on: the embedded engine over
//! `--local DIR` or a fresh demo history, or Athena, from the resolved settings and the
//! run options every query command takes.

#[cfg(feature = "cloud")]
use std::io::{self, IsTerminal};
use std::path::Path;
use std::time::Duration as StdDuration;

use anyhow::{Context as _, Result};
use chrono::Utc;
use clap::Args;

use super::exit::UsageError;
use super::global::Context;
use super::settings::EngineKind;
use super::window::usage_duration;
#[cfg(feature = "cloud")]
use crate::core::layout::Dt;
#[cfg(feature = "cloud")]
use crate::core::schema::Table;
#[cfg(feature = "cloud")]
use crate::engine::athena::AthenaEngine;
use crate::engine::local::{LocalEngine, LocalOptions};
use crate::engine::{EngineError, Query, QueryEngine, QueryOutput};
use crate::reports::{ReportParams, Statement};

/// How a query runs, on either engine.
#[derive(Debug, Args)]
#[command(next_help_heading = "Running the query")]
pub struct RunArgs {
    /// Query a freshly generated demo history (20 pipelines, 30 days) with the
    /// embedded engine: try the reports without any data of your own.
    #[arg(long)]
    pub demo: bool,
    /// Stop a query that runs longer than this (90s, 10m), on either engine.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Local engine: step over data files that cannot be read at all (not gzip,
    /// truncated, not JSON lines), with a warning for each, instead of failing.
    #[arg(long)]
    pub skip_bad_files: bool,
    /// Local engine: read every file and compute every answer again instead of
    /// reusing what an earlier run decoded or answered over the same, unchanged files
    /// (the cache under the user's cache directory, CPLOGS_CACHE_DIR).
    #[arg(long)]
    pub no_cache: bool,
    /// Athena: reuse the results of an identical query up to this old (60m; at most
    /// 7d). Relative windows are anchored to the start of the minute (or --now), so
    /// the same command within a minute sends the same query.
    #[arg(long, value_name = "DURATION")]
    pub reuse: Option<String>,
}

/// The most the local engine's cache holds; the least recently used entries go first.
pub const CACHE_LIMIT: u64 = 2 << 30;

/// The longest `--timeout`: a query that needs more than a day is a mistake.
const MAX_TIMEOUT: StdDuration = StdDuration::from_secs(24 * 60 * 60);

/// The run options, checked: every bad value is a usage error before any data is read
/// or any AWS call is made, whatever the engine.
#[derive(Debug, Clone, Copy)]
struct RunOptions {
    timeout: Option<StdDuration>,
    // Checked in every build; only Athena reuses results.
    #[cfg_attr(not(feature = "cloud"), expect(dead_code))]
    reuse: Option<StdDuration>,
}

impl RunArgs {
    fn options(&self) -> Result<RunOptions> {
        let timeout = match self.timeout.as_deref() {
            None => None,
            Some(text) => {
                let t = usage_duration("--timeout", text)?
                    .to_std()
                    .unwrap_or_default();
                if t < StdDuration::from_secs(1) || t > MAX_TIMEOUT {
                    return Err(UsageError(format!(
                        "--timeout: {text:?} is out of range: from 1s to 24h"
                    ))
                    .into());
                }
                Some(t)
            }
        };
        let reuse = match self.reuse.as_deref() {
            None => None,
            Some(text) => {
                let age = usage_duration("--reuse", text)?
                    .to_std()
                    .map_err(|_| UsageError(format!("--reuse: {text:?} is negative")))?;
                if age > MAX_REUSE || age.is_zero() {
                    return Err(UsageError(format!(
                        "--reuse: {text:?} is out of range: Athena reuses results from 1 minute up to 7 days (10080m)"
                    ))
                    .into());
                }
                Some(age)
            }
        };
        Ok(RunOptions { timeout, reuse })
    }
}

/// The longest result reuse Athena accepts (`MaxAgeInMinutes`: 7 days).
const MAX_REUSE: StdDuration = StdDuration::from_secs(7 * 24 * 60 * 60);

/// The selected engine.
pub enum Engine {
    /// The embedded engine.
    Local(LocalEngine),
    /// Athena.
    #[cfg(feature = "cloud")]
    Athena(Box<AthenaEngine>),
}

impl QueryEngine for Engine {
    fn name(&self) -> &'static str {
        match self {
            Engine::Local(e) => e.name(),
            #[cfg(feature = "cloud")]
            Engine::Athena(e) => e.name(),
        }
    }

    async fn run(&self, query: &Query) -> Result<QueryOutput, EngineError> {
        match self {
            Engine::Local(e) => e.run(query).await,
            #[cfg(feature = "cloud")]
            Engine::Athena(e) => e.run(query).await,
        }
    }
}

/// The engine the settings select, and what it keeps alive.
pub struct Selected {
    /// The engine.
    pub engine: Engine,
    /// Athena's progress spinner (hidden off a terminal and for the local engine).
    pub spinner: indicatif::ProgressBar,
    _demo_dir: Option<tempfile::TempDir>,
}

/// How to run without AWS, for messages when AWS is not configured.
#[cfg(feature = "cloud")]
const LOCAL_HINT: &str = "To query a local copy of the logs instead, pass --local DIR (or set \
     CPLOGS_LOCAL, or `engine = \"local\"` and `local = \"DIR\"` in the config file), where \
     DIR is laid out like the bucket, e.g. made by `aws s3 sync s3://BUCKET DIR` or `cplogs demo \
     --out DIR`; to try the reports without any data, pass --demo.";

/// Checks the run options; call before anything slow so usage errors come first.
pub fn check(args: &RunArgs, cx: &Context) -> Result<()> {
    args.options()?;
    if args.demo && cx.settings.local.is_some() && cx.settings.engine == EngineKind::Local {
        return Err(UsageError("--demo and --local DIR exclude each other".into()).into());
    }
    Ok(())
}

/// Builds the engine the settings and run options select.
pub async fn select(args: &RunArgs, cx: &Context) -> Result<Selected> {
    check(args, cx)?;
    let options = args.options()?;
    let s = &cx.settings;
    let local_options = LocalOptions {
        skip_bad_files: args.skip_bad_files,
        memory_limit: s.memory_limit,
        timeout: options.timeout,
        cache: s
            .cache_dir
            .clone()
            .filter(|_| !args.no_cache)
            .map(|d| (d, CACHE_LIMIT)),
    };
    let hidden = indicatif::ProgressBar::hidden;
    if args.demo {
        let dir = tempfile::Builder::new()
            .prefix("cplogs-demo-")
            .tempdir()
            .context("creating a temporary directory for the demo data")?;
        let config = crate::ingest::demo::DemoConfig::new(Utc::now());
        let mut writer = crate::ingest::PartitionWriter::new(dir.path(), 1);
        let summary = crate::ingest::demo::generate(&config, &mut writer, |_| {})?;
        writer.finish()?;
        note!(
            "demo: {} events of {} pipelines over {} days (generated for this run; \
             `cplogs demo --out DIR` keeps a copy to query with --local DIR)",
            summary.events,
            config.pipelines,
            config.days,
        );
        // A demo lives for one run: nothing of it is worth keeping.
        let options = LocalOptions {
            cache: None,
            ..local_options
        };
        let engine = Engine::Local(LocalEngine::open_with(dir.path(), options).await?);
        return Ok(Selected {
            engine,
            spinner: hidden(),
            _demo_dir: Some(dir),
        });
    }
    match (s.engine, &s.local) {
        (EngineKind::Local, Some(dir)) => Ok(Selected {
            engine: Engine::Local(LocalEngine::open_with(Path::new(dir), local_options).await?),
            spinner: hidden(),
            _demo_dir: None,
        }),
        (EngineKind::Local, None) => Err(UsageError(format!(
            "the engine is local (from {}) but no directory is set: pass --local DIR, set \
             CPLOGS_LOCAL, or `local = \"DIR\"` in the config file",
            s.engine_source()
        ))
        .into()),
        #[cfg(feature = "cloud")]
        (EngineKind::Athena, _) => athena(options, cx).await,
        #[cfg(not(feature = "cloud"))]
        (EngineKind::Athena, _) => Err(super::exit::without_aws(&format!(
            "the Athena engine (from {})",
            s.engine_source()
        ))),
    }
}

#[cfg(feature = "cloud")]
async fn athena(options: RunOptions, cx: &Context) -> Result<Selected> {
    let config = cx
        .sdk_config(&format!(
            "the Athena engine needs AWS: no region is configured (pass --region, set \
             AWS_REGION, or use a profile with a region). {LOCAL_HINT}"
        ))
        .await?;
    let spinner = if cx.quiet || !io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::new_spinner();
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} athena: {msg}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(StdDuration::from_millis(120));
        bar
    };
    let bar = spinner.clone();
    let s = &cx.settings;
    let engine = AthenaEngine::new(
        aws_sdk_athena::Client::new(&config),
        s.database.clone(),
        s.workgroup.clone(),
    )
    .output_location(s.output_location.clone())
    .timeout(options.timeout)
    .reuse(options.reuse)
    .stop_on_ctrl_c(true)
    .on_progress(move |p| {
        bar.set_message(format!(
            "{} {:.1}s, {} scanned",
            p.state,
            p.elapsed.as_secs_f64(),
            super::print::human_bytes(p.bytes_scanned)
        ))
    });
    Ok(Selected {
        engine: Engine::Athena(Box::new(engine)),
        spinner,
        _demo_dir: None,
    })
}

/// Runs the engine's work to its end, then shuts the runtime down without waiting for
/// tasks that never yield (a local query stopped at its timeout may leave one running).
pub fn run_blocking<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    let rt = super::runtime()?;
    let out = rt.block_on(work);
    rt.shutdown_background();
    out
}

/// The cost guard, before any Athena query: the bytes under the window's partitions of
/// the tables `runs` read (each a set of statements and its window), shown on stderr
/// with its price, and a usage error when above `--max-scan`. The local engine costs
/// nothing and is not guarded; without a bucket nothing can be listed, so only
/// `--max-scan` insists on one.
#[cfg_attr(not(feature = "cloud"), expect(unused_variables))]
pub async fn guard(
    selected: &Selected,
    cx: &Context,
    runs: &[(&[Statement], &ReportParams)],
) -> Result<Option<u64>> {
    match selected.engine {
        Engine::Local(_) => Ok(None),
        #[cfg(feature = "cloud")]
        Engine::Athena(_) => athena_guard(cx, runs).await,
    }
}

/// [`guard`] for Athena.
#[cfg(feature = "cloud")]
async fn athena_guard(cx: &Context, runs: &[(&[Statement], &ReportParams)]) -> Result<Option<u64>> {
    let s = &cx.settings;
    let Some(bucket) = s.bucket.as_deref() else {
        if let Some(max) = s.max_scan {
            return Err(UsageError(format!(
                "--max-scan {}: the estimate lists the bucket's partitions: set --bucket \
                 (or CPLOGS_BUCKET, or `bucket` in the config file)",
                super::print::human_bytes(max)
            ))
            .into());
        }
        return Ok(None);
    };
    let config = cx.sdk_config(super::global::NO_REGION).await?;
    let s3 = crate::aws::sdk::s3_client(&config);
    let mut bytes = 0;
    let mut objects = 0;
    for (statements, p) in runs {
        let tables: Vec<Table> = Table::ALL
            .into_iter()
            .filter(|t| statements.iter().any(|st| st.sql.contains(t.name())))
            .collect();
        let first = Dt::from(p.since().date_naive());
        let last = Dt::from((p.until() - chrono::Duration::milliseconds(1)).date_naive());
        let e = crate::aws::scan::estimate(&s3, bucket, &tables, first, last)
            .await
            .map_err(anyhow::Error::msg)?;
        bytes += e.bytes;
        objects += e.objects;
    }
    note!(
        "estimated scan: {} in {objects} object(s), about ${:.4} at ${} per TB (approximate)",
        super::print::human_bytes(bytes),
        super::print::cost_usd(bytes, s.price_per_tb),
        s.price_per_tb
    );
    if let Some(max) = s.max_scan
        && bytes > max
    {
        return Err(UsageError(format!(
            "the query would scan about {}, above the limit of {} (--max-scan, from {}); \
             narrow the window or the pipelines, or raise the limit",
            super::print::human_bytes(bytes),
            super::print::human_bytes(max),
            s.max_scan_source()
        ))
        .into());
    }
    Ok(Some(bytes))
}
