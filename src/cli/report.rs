//! `cplogs report`, `reports`, `query` and `audit`: the bundled SQL (or ad-hoc SQL) on
//! the selected engine, printed in the chosen format.

use std::future::Future;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use super::ConfigFile;
use std::time::Duration as StdDuration;

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use clap::Args;
use serde_json::json;

use crate::cli::exit::{Exit, UsageError};
use crate::cli::window::{parse_duration, parse_instant};
use crate::engine::athena::{AthenaEngine, MAX_REUSE};
use crate::engine::local::{LocalEngine, LocalOptions};
use crate::engine::{Query, QueryEngine, QueryOutput};
use crate::output::{self, Format, Section};
use crate::reports::{self, Breakdown, REPORTS, Report, ReportParams, Shape, WindowRule};
use crate::rows::{ColumnInfo, Kind, ResultSet, Value};

/// Which engine runs the SQL.
#[derive(Debug, Args)]
pub struct EngineArgs {
    /// Query a local directory laid out like the bucket with the embedded engine
    /// (e.g. from `cplogs demo`, `cplogs ingest` or `aws s3 sync`) [env: CPLOGS_LOCAL].
    #[arg(long, value_name = "DIR", global = true)]
    pub local: Option<PathBuf>,
    /// Query a freshly generated demo history (20 pipelines, 30 days) with the
    /// embedded engine: try the reports without any data of your own.
    #[arg(long, conflicts_with = "local", global = true)]
    pub demo: bool,
    /// Athena workgroup [env: CPLOGS_WORKGROUP] [default: primary].
    #[arg(long, global = true)]
    pub workgroup: Option<String>,
    /// Athena result location, s3://bucket/prefix/ [env: CPLOGS_OUTPUT_LOCATION].
    #[arg(long, value_name = "S3_URL", global = true)]
    pub output_location: Option<String>,
    /// Stop a query that runs longer than this (90s, 10m), on either engine.
    #[arg(long, value_name = "DURATION", global = true)]
    pub timeout: Option<String>,
    /// Local engine: step over data files that cannot be read at all (not gzip,
    /// truncated, not JSON lines), with a warning for each, instead of failing.
    #[arg(long, global = true)]
    pub skip_bad_files: bool,
    /// Local engine: the most memory a query may hold (512MB, 2GiB); a query that
    /// needs more fails [env: CPLOGS_MEMORY_LIMIT] [default: half of the machine's
    /// memory].
    #[arg(long, value_name = "SIZE", global = true)]
    pub memory_limit: Option<String>,
    /// Athena: reuse the results of an identical query up to this old (60m; at most
    /// 7d). Relative windows are anchored to the start of the minute (or --now), so
    /// the same command within a minute sends the same query.
    #[arg(long, value_name = "DURATION", global = true)]
    pub reuse: Option<String>,
    /// No progress spinner.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Database and how to reach AWS (Athena).
    #[command(flatten)]
    pub aws: super::AwsArgs,
}

impl EngineArgs {
    /// The command-line values, for resolving settings.
    pub fn flags(&self) -> crate::cli::settings::Flags {
        crate::cli::settings::Flags {
            local: self.local.clone(),
            memory_limit: self.memory_limit.clone(),
            workgroup: self.workgroup.clone(),
            output_location: self.output_location.clone(),
            ..self.aws.flags()
        }
    }
}

/// The selected engine.
enum Engine {
    Local(LocalEngine),
    Athena(Box<AthenaEngine>),
}

impl QueryEngine for Engine {
    fn name(&self) -> &'static str {
        match self {
            Engine::Local(e) => e.name(),
            Engine::Athena(e) => e.name(),
        }
    }

    async fn run(&self, query: &Query) -> Result<QueryOutput, crate::engine::EngineError> {
        match self {
            Engine::Local(e) => e.run(query).await,
            Engine::Athena(e) => e.run(query).await,
        }
    }
}

/// The time window and pipelines a report looks at.
#[derive(Debug, Args)]
pub struct WindowArgs {
    /// Window start: 7d, 12h, 30m, 2026-11-01 or an RFC 3339 time.
    #[arg(long, default_value = "7d")]
    pub since: String,
    /// Window end (exclusive), same forms; default: now.
    #[arg(long)]
    pub until: Option<String>,
    /// Only this pipeline (repeatable).
    #[arg(long = "pipeline", value_name = "NAME")]
    pub pipelines: Vec<String>,
    /// The time relative windows and "now" are computed from (an RFC 3339 time or a
    /// date); default: the start of the current minute.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

/// `cplogs report`
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The report (see `cplogs reports`).
    #[arg(value_enum)]
    pub name: Report,
    /// Window and pipelines.
    #[command(flatten)]
    pub window: WindowArgs,
    /// durations: break down by stage or action.
    #[arg(long, value_enum, default_value_t = Breakdown::Pipeline)]
    pub by: Breakdown,
    /// timeline: the execution to draw (default: the latest of --pipeline).
    #[arg(long, value_name = "ID")]
    pub execution_id: Option<String>,
    /// stuck: how long without a terminal event (30m, 24h, 2d).
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub older_than: String,
    /// stuck: how far back to look for open executions, whatever --since says
    /// (default 30d); timeline --execution-id: how far back to search for an
    /// execution that is not in the window (default 90d).
    #[arg(long, value_name = "DURATION")]
    pub lookback: Option<String>,
    /// Print the statements exactly as they would be sent, with the values of
    /// their `?` placeholders, instead of running them (json: machine-readable).
    #[arg(long)]
    pub print_sql: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Engine selection.
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// `cplogs query`
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// One SQL statement (Trino dialect); use --file to read it from a file.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub sql: Option<String>,
    /// Read the statement from this file.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// A value for the next `?` placeholder (repeatable, in order; bound as text).
    #[arg(long = "param", value_name = "VALUE")]
    pub params: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Engine selection.
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// `cplogs audit`
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Window and pipelines.
    #[command(flatten)]
    pub window: WindowArgs,
    /// Highest allowed failure rate of a pipeline (0 to 1).
    #[arg(long, value_name = "RATE")]
    pub max_failure_rate: Option<f64>,
    /// Highest allowed p95 duration of succeeded executions (30m, 2h, 90s).
    #[arg(long, value_name = "DURATION")]
    pub max_p95: Option<String>,
    /// Output format of the breaching rows.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Engine selection.
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// The engine the arguments select, and anything it keeps alive.
struct Selected {
    engine: Engine,
    spinner: indicatif::ProgressBar,
    _demo_dir: Option<tempfile::TempDir>,
}

/// The local engine's options from the flags and settings; usage errors first, before
/// any data is read or generated.
fn local_options(
    args: &EngineArgs,
    settings: &crate::cli::settings::Settings,
) -> Result<LocalOptions> {
    let memory_limit = match &settings.memory_limit.value {
        Some(text) => Some(crate::engine::memory::parse_size(text).map_err(|e| {
            UsageError(format!(
                "memory limit (from {}): {e}",
                settings.memory_limit.source
            ))
        })?),
        None => None,
    };
    Ok(LocalOptions {
        skip_bad_files: args.skip_bad_files,
        memory_limit,
        timeout: timeout(args)?,
    })
}

async fn select(args: &EngineArgs, file: Option<&ConfigFile>) -> Result<Selected> {
    // Checked whatever the engine, so a bad value is never silently ignored.
    reuse(args)?;
    let settings = crate::cli::settings::resolve(&args.flags(), super::env_var, file)?;
    let options = local_options(args, &settings)?;
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
            "demo: {} events of {} pipelines over {} days in {}",
            summary.events,
            config.pipelines,
            config.days,
            dir.path().display()
        );
        let engine = Engine::Local(LocalEngine::open_with(dir.path(), options).await?);
        return Ok(Selected {
            engine,
            spinner: indicatif::ProgressBar::hidden(),
            _demo_dir: Some(dir),
        });
    }
    let local = match settings.engine.value.as_deref() {
        Some("local") => settings.local.value.as_deref(),
        _ => None,
    };
    match local {
        Some(dir) => Ok(Selected {
            engine: Engine::Local(LocalEngine::open_with(Path::new(dir), options).await?),
            spinner: indicatif::ProgressBar::hidden(),
            _demo_dir: None,
        }),
        None if settings.engine.value.as_deref() == Some("athena") => athena(args, &settings).await,
        None if settings.engine.value.as_deref() == Some("local") => Err(UsageError(format!(
            "the engine is local (from {}) but no directory is set: pass --local DIR, set \
             CPLOGS_LOCAL, or `local = \"DIR\"` in the config file",
            settings.engine.source
        ))
        .into()),
        None => Err(UsageError(format!(
            "unknown engine {:?}",
            settings.engine.value.unwrap_or_default()
        ))
        .into()),
    }
}

/// How to run without AWS, for messages when AWS is not configured.
const LOCAL_HINT: &str = "To query a local copy of the logs instead, pass --local DIR (or set \
     CPLOGS_LOCAL, or `engine = \"local\"` and `local = \"DIR\"` in the config file), where \
     DIR is laid out like the bucket, e.g. made by `aws s3 sync s3://BUCKET DIR` or `cplogs demo \
     --out DIR`; to try the reports without any data, pass --demo.";

async fn athena(args: &EngineArgs, settings: &crate::cli::settings::Settings) -> Result<Selected> {
    let config = crate::aws::sdk::load_config(&crate::aws::sdk::AwsOptions {
        region: settings.region.value.clone(),
        profile: settings.profile.value.clone(),
        endpoint_url: settings.endpoint_url.value.clone(),
    })
    .await;
    if config.region().is_none() {
        return Err(UsageError(format!(
            "the Athena engine needs AWS: no region is configured (pass --region, set \
             AWS_REGION, or use a profile with a region). {LOCAL_HINT}"
        ))
        .into());
    }
    let timeout = timeout(args)?;
    let reuse = reuse(args)?;
    let spinner = if args.quiet || !io::stderr().is_terminal() {
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
    let engine = AthenaEngine::new(
        aws_sdk_athena::Client::new(&config),
        settings.database.value.clone().unwrap_or_default(),
        settings.workgroup.value.clone().unwrap_or_default(),
    )
    .output_location(settings.output_location.value.clone())
    .timeout(timeout)
    .reuse(reuse)
    .stop_on_ctrl_c(true)
    .on_progress(move |p| {
        bar.set_message(format!(
            "{} {:.1}s, {} scanned",
            p.state,
            p.elapsed.as_secs_f64(),
            human_bytes(p.bytes_scanned)
        ))
    });
    Ok(Selected {
        engine: Engine::Athena(Box::new(engine)),
        spinner,
        _demo_dir: None,
    })
}

/// The longest `--timeout`: a query that needs more than a day is a mistake.
const MAX_TIMEOUT: StdDuration = StdDuration::from_secs(24 * 60 * 60);

/// `--timeout`, from one second to a day.
fn timeout(args: &EngineArgs) -> Result<Option<StdDuration>> {
    let Some(text) = args.timeout.as_deref() else {
        return Ok(None);
    };
    let t = usage_duration("--timeout", text)?
        .to_std()
        .unwrap_or_default();
    if t < StdDuration::from_secs(1) || t > MAX_TIMEOUT {
        return Err(UsageError(format!(
            "--timeout: {text:?} is out of range: from 1s to 24h"
        ))
        .into());
    }
    Ok(Some(t))
}

/// `--reuse`, within what Athena accepts.
fn reuse(args: &EngineArgs) -> Result<Option<StdDuration>> {
    let Some(text) = args.reuse.as_deref() else {
        return Ok(None);
    };
    let age = usage_duration("--reuse", text)?
        .to_std()
        .map_err(|_| UsageError(format!("--reuse: {text:?} is negative")))?;
    if age > MAX_REUSE || age.is_zero() {
        return Err(UsageError(format!(
            "--reuse: {text:?} is out of range: Athena reuses results from 1 minute up to 7 days (10080m)"
        ))
        .into());
    }
    Ok(Some(age))
}

/// The time a report is computed for: `--now`, else the start of the current minute
/// (see [`reports::anchor`]).
fn now(window: &WindowArgs) -> Result<DateTime<Utc>> {
    let clock = Utc::now();
    match &window.now {
        Some(t) => Ok(parse_instant(t, clock).map_err(|e| UsageError(format!("--now: {e}")))?),
        None => Ok(reports::anchor(clock)),
    }
}

fn params(window: &WindowArgs, now: DateTime<Utc>) -> Result<ReportParams> {
    let since =
        parse_instant(&window.since, now).map_err(|e| UsageError(format!("--since: {e}")))?;
    let until = match &window.until {
        Some(u) => parse_instant(u, now).map_err(|e| UsageError(format!("--until: {e}")))?,
        None => now,
    };
    let p = ReportParams::new(since, until, now)
        .and_then(|p| p.with_pipelines(&window.pipelines))
        .map_err(|e| UsageError(e.to_string()))?;
    Ok(p)
}

fn usage_duration(flag: &str, text: &str) -> Result<Duration> {
    parse_duration(text).ok_or_else(|| {
        UsageError(format!(
            "{flag}: {text:?} is not a duration of at most 100 years (90s, 30m, 24h, 2d, 1w)"
        ))
        .into()
    })
}

/// comfy-table fits tables to a terminal by itself; into a pipe or file they are
/// written unwrapped.
fn terminal_width() -> Option<u16> {
    None
}

/// The data files the queries stepped over, each once, with why.
fn skipped_files(outputs: &[&QueryOutput]) -> Vec<(String, String)> {
    let mut seen = std::collections::BTreeMap::new();
    for o in outputs {
        for (file, reason) in &o.stats.skipped_files {
            seen.entry(file.clone()).or_insert_with(|| reason.clone());
        }
    }
    seen.into_iter().collect()
}

fn stats_line(engine: &str, outputs: &[&QueryOutput]) {
    let skipped = skipped_files(outputs);
    for (file, reason) in &skipped {
        note!("warning: skipped {file}: {reason}");
    }
    let rows: usize = outputs.iter().map(|o| o.result.rows.len()).sum();
    let bytes: u64 = outputs.iter().map(|o| o.stats.bytes_scanned).sum();
    let elapsed: StdDuration = outputs.iter().map(|o| o.stats.elapsed).sum();
    let files: usize = outputs.iter().map(|o| o.stats.files.len()).sum();
    if engine == "athena" {
        note!(
            "{rows} row(s) in {:.2}s, {} scanned, about ${:.4} at $5 per TB (athena engine)",
            elapsed.as_secs_f64(),
            human_bytes(bytes),
            cost_usd(bytes),
        );
    } else {
        let skipped = match skipped.len() {
            0 => String::new(),
            n => format!(", {n} unreadable file(s) skipped"),
        };
        note!(
            "{rows} row(s) in {:.2}s, {} read from {files} file(s){skipped} ({engine} engine)",
            elapsed.as_secs_f64(),
            human_bytes(bytes),
        );
    }
}

/// Athena's price for scanning `bytes`: $5 per TB, at least 10 MB per query.
pub fn cost_usd(bytes: u64) -> f64 {
    if bytes == 0 {
        return 0.0;
    }
    bytes.max(10_000_000) as f64 / 1e12 * 5.0
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn metadata(
    engine: &str,
    report: Option<&str>,
    p: Option<&ReportParams>,
    outputs: &[&QueryOutput],
) -> serde_json::Value {
    let mut m = json!({
        "engine": engine,
        "stats": {
            "rows": outputs.iter().map(|o| o.result.rows.len()).sum::<usize>(),
            "bytes_scanned": outputs.iter().map(|o| o.stats.bytes_scanned).sum::<u64>(),
            "elapsed_ms": outputs.iter().map(|o| o.stats.elapsed.as_millis() as u64).sum::<u64>(),
        },
    });
    if engine == "local" {
        let names: Vec<String> = skipped_files(outputs).into_iter().map(|(f, _)| f).collect();
        m["stats"]["skipped_files"] = json!(names);
    }
    if engine == "athena" {
        let bytes = outputs.iter().map(|o| o.stats.bytes_scanned).sum::<u64>();
        m["stats"]["cost_usd"] = json!(cost_usd(bytes));
        m["stats"]["query_ids"] = json!(
            outputs
                .iter()
                .filter_map(|o| o.stats.query_id.clone())
                .collect::<Vec<_>>()
        );
    }
    if let Some(r) = report {
        m["report"] = json!(r);
    }
    if let Some(p) = p {
        m["window"] = json!({
            "since": p.since_iso(),
            "until": p.until_iso(),
        });
    }
    m
}

/// `cplogs reports`: the reports, what they show, their options.
pub fn list(out: &mut dyn Write) -> Result<Exit> {
    writeln!(
        out,
        "Reports (cplogs report NAME [--since 7d] [--until T] [--pipeline P]… [--format F]):"
    )?;
    for r in REPORTS {
        writeln!(out, "\n  {:<11} {}", r.name, r.summary)?;
        let usage = r.usage();
        if !usage.is_empty() {
            writeln!(out, "  {:<11} options: {usage}", "")?;
        }
        for s in r.statements() {
            writeln!(
                out,
                "  {:<11} sql/reports/{}.sql: {}",
                "", s.name, s.description
            )?;
        }
    }
    Ok(Exit::Success)
}

/// `cplogs report NAME`
pub fn report(args: ReportArgs, file: Option<&ConfigFile>) -> Result<Exit> {
    let now = now(&args.window)?;
    let mut p = params(&args.window, now)?;
    let older = usage_duration("--older-than", &args.older_than)?;
    let lookback = args
        .lookback
        .as_deref()
        .map(|t| usage_duration("--lookback", t))
        .transpose()?;
    p = p
        .with_execution_id(args.execution_id.as_deref())
        .map_err(|e| UsageError(e.to_string()))?
        .with_older_than(older);
    let report = args.name;
    if let (WindowRule::OpenUntilNow { .. }, Some(default)) =
        (report.window, report.window.lookback())
    {
        // Open executions started long ago: look back whatever --since says.
        p = p.looking_back(lookback.unwrap_or(default)).until_now();
    }
    let name = report.name.to_owned();
    let statements = report.sections(args.by);
    if args.print_sql {
        return print_sql(&name, &statements, &p, args.format);
    }
    let (engine, outputs, p) = run_blocking(async {
        let selected = select(&args.engine, file).await?;
        let mut outputs = run_all(&selected.engine, &name, &statements, &p).await?;
        let mut p = p;
        // An execution id that is not in the window is searched for further back.
        if let (WindowRule::SearchBack { .. }, Some(default)) =
            (report.window, report.window.lookback())
            && p.execution_id().is_some()
            && outputs[0].result.rows.is_empty()
        {
            let wider = p.clone().looking_back(lookback.unwrap_or(default));
            if wider.since() < p.since() {
                p = wider;
                outputs = run_all(&selected.engine, &name, &statements, &p).await?;
            }
        }
        selected.spinner.finish_and_clear();
        anyhow::Ok((selected.engine.name(), outputs, p))
    })?;
    let refs: Vec<&QueryOutput> = outputs.iter().collect();
    if report.shape == Shape::Timeline && outputs[0].result.rows.is_empty() {
        stats_line(engine, &refs);
        match p.execution_id() {
            Some(id) => note!(
                "timeline: no action events of execution {id} between {} and {} \
                 (--lookback widens the search)",
                p.since_iso(),
                p.until_iso()
            ),
            None => note!(
                "timeline: no execution between {} and {}",
                p.since_iso(),
                p.until_iso()
            ),
        }
        return Ok(Exit::NoData);
    }
    let mut results: Vec<ResultSet> = outputs.iter().map(|o| o.result.clone()).collect();
    if report.shape == Shape::Timeline && args.format == Format::Table {
        let r = &results[0];
        if let (Some(Value::Text(p)), Some(Value::Text(x))) =
            (r.get(0, "pipeline"), r.get(0, "execution_id"))
        {
            note!("pipeline {p}, execution {x}");
        }
        results[0] = with_gantt(&without(r, &["pipeline", "execution_id"]), 24);
    }
    let sections: Vec<Section<'_>> = statements
        .iter()
        .zip(&results)
        .map(|(s, r)| Section {
            name: s.name,
            result: r,
        })
        .collect();
    let meta = metadata(engine, Some(&name), Some(&p), &refs);
    let mut out = io::BufWriter::new(io::stdout().lock());
    output::write(&mut out, args.format, &sections, &meta, terminal_width())?;
    out.flush()?;
    stats_line(engine, &refs);
    Ok(Exit::Success)
}

/// Runs the engine's work to its end, then shuts the runtime down without waiting for
/// tasks that never yield (a local query stopped at its timeout may leave one running).
fn run_blocking<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    let rt = super::runtime()?;
    let out = rt.block_on(work);
    rt.shutdown_background();
    out
}

async fn run_all(
    engine: &Engine,
    report: &str,
    statements: &[reports::Statement],
    p: &ReportParams,
) -> Result<Vec<QueryOutput>> {
    let mut outputs = Vec::new();
    for s in statements {
        let out = engine
            .run(&s.query(p))
            .await
            .with_context(|| format!("report {report} (sql/reports/{}.sql)", s.name))?;
        outputs.push(out);
    }
    Ok(outputs)
}

/// `--print-sql`: each statement exactly as it is sent, with its `?` values.
fn print_sql(
    report: &str,
    statements: &[reports::Statement],
    p: &ReportParams,
    format: Format,
) -> Result<Exit> {
    let queries: Vec<(&str, Query)> = statements.iter().map(|s| (s.name, s.query(p))).collect();
    let mut out = io::BufWriter::new(io::stdout().lock());
    if matches!(format, Format::Json | Format::Ndjson) {
        let doc = json!({
            "report": report,
            "window": {"since": p.since_iso(), "until": p.until_iso()},
            "statements": queries.iter().map(|(name, q)| json!({
                "name": name, "sql": q.sql, "params": q.params,
            })).collect::<Vec<_>>(),
        });
        writeln!(out, "{doc}")?;
    } else {
        for (name, q) in &queries {
            writeln!(out, "-- sql/reports/{name}.sql as sent")?;
            writeln!(out, "{};", q.sql.trim_end())?;
            if !q.params.is_empty() {
                writeln!(out, "-- the values of its ? placeholders, in order:")?;
                for (i, v) in q.params.iter().enumerate() {
                    writeln!(
                        out,
                        "--   {}: {}",
                        i + 1,
                        crate::engine::athena::string_literal(v)
                    )?;
                }
            }
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(Exit::Success)
}

/// `result` without the named columns.
fn without(result: &ResultSet, names: &[&str]) -> ResultSet {
    let keep: Vec<usize> = (0..result.columns.len())
        .filter(|&i| !names.contains(&result.columns[i].name.as_str()))
        .collect();
    ResultSet {
        columns: keep.iter().map(|&i| result.columns[i].clone()).collect(),
        rows: result
            .rows
            .iter()
            .map(|r| keep.iter().map(|&i| r[i].clone()).collect())
            .collect(),
    }
}

/// Adds a terminal Gantt bar per attempt to a timeline: its span within the
/// execution's first start and last end, `width` characters wide.
pub fn with_gantt(result: &ResultSet, width: usize) -> ResultSet {
    let (Some(si), Some(ei)) = (result.column("start"), result.column("end")) else {
        return result.clone();
    };
    let ms = |v: &Value| {
        v.as_str()
            .and_then(crate::engine::functions::parse_iso8601)
            .map(|t| t.timestamp_millis())
    };
    let spans: Vec<(Option<i64>, Option<i64>)> = result
        .rows
        .iter()
        .map(|r| (ms(&r[si]), ms(&r[ei])))
        .collect();
    let lo = spans.iter().filter_map(|s| s.0.or(s.1)).min();
    let hi = spans.iter().filter_map(|s| s.1.or(s.0)).max();
    let mut out = result.clone();
    for row in &mut out.rows {
        // "2026-11-23T18:50:48.000Z" → "2026-11-23 18:50:48": the bar shows the end.
        if let Value::Text(t) = &mut row[si] {
            *t = t
                .replacen('T', " ", 1)
                .trim_end_matches('Z')
                .trim_end_matches(".000")
                .to_owned();
        }
    }
    out.columns.push(ColumnInfo {
        name: "timeline".into(),
        kind: Kind::Text,
    });
    for (row, (s, e)) in out.rows.iter_mut().zip(spans) {
        let bar = match (lo, hi, s.or(e)) {
            (Some(lo), Some(hi), Some(start)) => {
                let end = e.unwrap_or(hi);
                let total = (hi - lo).max(1) as f64;
                let w = width as f64;
                let a = (((start - lo) as f64 / total) * w).floor() as usize;
                let b = ((((end - lo) as f64) / total) * w).ceil() as usize;
                let a = a.min(width.saturating_sub(1));
                let b = b.clamp(a + 1, width);
                format!(
                    "{}{}{}",
                    "·".repeat(a),
                    "█".repeat(b - a),
                    "·".repeat(width - b)
                )
            }
            _ => String::new(),
        };
        row.push(Value::Text(bar));
    }
    without(&out, &["end"])
}

/// `cplogs query`
pub fn query(args: QueryArgs, file: Option<&ConfigFile>) -> Result<Exit> {
    let sql = match (&args.sql, &args.file) {
        (Some(s), _) => s.clone(),
        (None, Some(f)) => {
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?
        }
        (None, None) => return Err(UsageError("give the SQL or --file FILE".into()).into()),
    };
    // Before any engine or AWS call: ad-hoc SQL only reads.
    crate::engine::readonly::check(&sql).map_err(|e| UsageError(e.to_string()))?;
    let (engine, out) = run_blocking(async {
        let selected = select(&args.engine, file).await?;
        let q = Query {
            sql,
            params: args.params.clone(),
        };
        let out = selected.engine.run(&q).await.map_err(|e| match e {
            crate::engine::EngineError::Invalid(m) => {
                anyhow::Error::new(UsageError(format!("invalid query: {m}")))
            }
            other => other.into(),
        })?;
        selected.spinner.finish_and_clear();
        anyhow::Ok((selected.engine.name(), out))
    })?;
    let meta = metadata(engine, None, None, &[&out]);
    let mut w = io::BufWriter::new(io::stdout().lock());
    output::write(
        &mut w,
        args.format,
        &[Section {
            name: "query",
            result: &out.result,
        }],
        &meta,
        terminal_width(),
    )?;
    w.flush()?;
    stats_line(engine, &[&out]);
    Ok(Exit::Success)
}

/// `cplogs audit`: exit 0 within thresholds, 3 on a breach, 4 without data.
pub fn audit(args: AuditArgs, file: Option<&ConfigFile>) -> Result<Exit> {
    let now = now(&args.window)?;
    let p = params(&args.window, now)?;
    if args.max_failure_rate.is_none() && args.max_p95.is_none() {
        return Err(UsageError(
            "give at least one threshold: --max-failure-rate or --max-p95".into(),
        )
        .into());
    }
    if let Some(r) = args.max_failure_rate
        && !(0.0..=1.0).contains(&r)
    {
        return Err(UsageError(format!(
            "--max-failure-rate must be between 0 and 1, not {r}"
        ))
        .into());
    }
    let max_p95 = args
        .max_p95
        .as_deref()
        .map(|t| usage_duration("--max-p95", t))
        .transpose()?;
    let (engine, failures, durations) = run_blocking(async {
        let selected = select(&args.engine, file).await?;
        let f = selected
            .engine
            .run(&reports::statement("failures").query(&p))
            .await?;
        let d = selected
            .engine
            .run(&reports::statement("durations").query(&p))
            .await?;
        selected.spinner.finish_and_clear();
        anyhow::Ok((selected.engine.name(), f, d))
    })?;
    let breaches = audit_breaches(
        &failures.result,
        &durations.result,
        args.max_failure_rate,
        max_p95,
    );
    stats_line(engine, &[&failures, &durations]);
    if failures.result.rows.is_empty() && durations.result.rows.is_empty() {
        note!("audit: no executions ended in the window");
        return Ok(Exit::NoData);
    }
    if breaches.rows.is_empty() {
        note!(
            "audit: all {} pipeline(s) within the thresholds",
            failures.result.rows.len()
        );
        return Ok(Exit::Success);
    }
    let meta = metadata(engine, Some("audit"), Some(&p), &[&failures, &durations]);
    let mut w = io::BufWriter::new(io::stdout().lock());
    output::write(
        &mut w,
        args.format,
        &[Section {
            name: "breaches",
            result: &breaches,
        }],
        &meta,
        terminal_width(),
    )?;
    w.flush()?;
    note!("audit: {} threshold breach(es)", breaches.rows.len());
    Ok(Exit::Breach)
}

/// The rows of `failures` and `durations` over their thresholds.
pub fn audit_breaches(
    failures: &ResultSet,
    durations: &ResultSet,
    max_rate: Option<f64>,
    max_p95: Option<Duration>,
) -> ResultSet {
    let col = |name: &str, kind| ColumnInfo {
        name: name.into(),
        kind,
    };
    let mut out = ResultSet {
        columns: vec![
            col("pipeline", Kind::Text),
            col("metric", Kind::Text),
            col("value", Kind::Float),
            col("limit", Kind::Float),
        ],
        rows: Vec::new(),
    };
    let mut check = |rs: &ResultSet, metric: &str, column: &str, limit: f64| {
        for i in 0..rs.rows.len() {
            if let (Some(Value::Text(p)), Some(v)) = (
                rs.get(i, "pipeline"),
                rs.get(i, column).and_then(Value::as_f64),
            ) && v > limit
            {
                out.rows.push(vec![
                    Value::Text(p.clone()),
                    Value::Text(metric.into()),
                    Value::Float(v),
                    Value::Float(limit),
                ]);
            }
        }
    };
    if let Some(r) = max_rate {
        check(failures, "failure_rate", "failure_rate", r);
    }
    if let Some(d) = max_p95 {
        check(durations, "p95_s", "p95_s", d.num_seconds() as f64);
    }
    out
}
