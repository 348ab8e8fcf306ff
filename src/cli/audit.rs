//! `cplogs audit`: pipelines checked against thresholds, for scripts (exit 0 within
//! them, 3 on a breach, 4 without data).

use anyhow::Result;
use chrono::Duration;
use clap::Args;

use super::exit::{Exit, UsageError};
use super::global::Context;
use super::print;
use super::select::{self, RunArgs, run_blocking};
use super::window::{WindowArgs, usage_duration};
use crate::engine::QueryEngine;
use crate::output::Section;
use crate::reports;
use crate::rows::{ColumnInfo, Kind, ResultSet, Value};

/// `cplogs audit`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs audit --since 7d --max-failure-rate 0.2 --max-p95 45m
  cplogs --local ./logs audit --pipeline deploy-api --max-failure-rate 0.1 --format json")]
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
    /// How the queries run.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `cplogs audit`: exit 0 within thresholds, 3 on a breach, 4 without data.
pub fn run(args: AuditArgs, cx: &Context) -> Result<Exit> {
    let now = args.window.now()?;
    let p = args.window.params(now)?;
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
    select::check(&args.run, cx)?;
    let (engine, failures, durations) = run_blocking(async {
        let selected = select::select(&args.run, cx).await?;
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
    print::stats_line(engine, &[&failures, &durations]);
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
    print::sections(
        cx.format(),
        cx.width,
        &[Section {
            name: "breaches",
            result: &breaches,
        }],
        engine,
        Some("audit"),
        Some(&p),
        &[&failures, &durations],
    )?;
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
