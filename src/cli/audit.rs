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
use crate::reports::compare::{Change, Comparison, Metric, Thresholds, compare};
use crate::reports::{self, ReportParams, Statement};
use crate::rows::{ColumnInfo, Kind, ResultSet, Value};

/// `cplogs audit`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs audit --since 7d --max-failure-rate 0.2 --max-p95 45m
  cplogs --local ./logs audit --pipeline deploy-api --max-failure-rate 0.1 --format json
  cplogs audit --since 7d --max-regression p90=25% --max-regression failure-rate=3")]
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
    /// Compare with the previous period of the same length: a pipeline whose failure
    /// rate rose more than `failure-rate=POINTS` (default 5) or whose p90 duration rose
    /// more than `p90=PERCENT` (default 20%) is a breach; `default` takes both
    /// defaults (repeatable).
    #[arg(long, value_name = "RULE")]
    pub max_regression: Vec<String>,
    /// How the queries run.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `cplogs audit`: exit 0 within thresholds, 3 on a breach, 4 without data.
pub fn run(args: AuditArgs, cx: &Context) -> Result<Exit> {
    let now = args.window.now()?;
    let p = args.window.params(now)?;
    if args.max_failure_rate.is_none() && args.max_p95.is_none() && args.max_regression.is_empty() {
        return Err(UsageError(
            "give at least one threshold: --max-failure-rate, --max-p95 or --max-regression".into(),
        )
        .into());
    }
    let rules: Vec<String> = args
        .max_regression
        .iter()
        .filter(|r| r.as_str() != "default")
        .cloned()
        .collect();
    let thresholds = super::report::thresholds(&rules)?;
    let previous = match args.max_regression.is_empty() {
        true => None,
        false => Some(p.previous().ok_or_else(|| {
            UsageError("--max-regression: the previous period would start before 1970".into())
        })?),
    };
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
    let (info, failures, durations, before) = run_blocking(async {
        let selected = select::select(&args.run, cx).await?;
        let statements = [
            reports::statement("failures"),
            reports::statement("durations"),
        ];
        let mut runs: Vec<(&[Statement], &ReportParams)> = vec![(&statements, &p)];
        if let Some(prev) = &previous {
            runs.push((&statements, prev));
        }
        let estimate = select::guard(&selected, cx, &runs).await?;
        let run = |p: ReportParams| {
            let engine = &selected.engine;
            async move {
                let f = engine
                    .run(&reports::statement("failures").query(&p))
                    .await?;
                let d = engine
                    .run(&reports::statement("durations").query(&p))
                    .await?;
                anyhow::Ok((f, d))
            }
        };
        let (f, d) = run(p.clone()).await?;
        let before = match &previous {
            Some(prev) => Some(run(prev.clone()).await?),
            None => None,
        };
        selected.spinner.finish_and_clear();
        let info = print::Run::new(&selected.engine, cx, estimate);
        anyhow::Ok((info, f, d, before))
    })?;
    let mut breaches = audit_breaches(
        &failures.result,
        &durations.result,
        args.max_failure_rate,
        max_p95,
    );
    if let Some((f, d)) = &before {
        breaches.rows.extend(regressions(
            (&failures.result, &f.result),
            (&durations.result, &d.result),
            &thresholds,
        ));
    }
    let mut outputs = vec![&failures, &durations];
    if let Some((f, d)) = &before {
        outputs.extend([f, d]);
    }
    print::stats_line(&info, &outputs);
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
        &info,
        Some("audit"),
        Some(&p),
        &outputs,
    )?;
    note!("audit: {} threshold breach(es)", breaches.rows.len());
    Ok(Exit::Breach)
}

/// Breach rows (pipeline, metric, change, threshold) for the pipelines whose failure
/// rate or p90 duration regressed from the previous period, as (current, previous)
/// results of `failures` and `durations`.
pub fn regressions(
    failures: (&ResultSet, &ResultSet),
    durations: (&ResultSet, &ResultSet),
    t: &Thresholds,
) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    const RATE: &[Metric] = &[Metric {
        column: "failure_rate",
        change: Change::Rate,
    }];
    const P90: &[Metric] = &[Metric {
        column: "p90_s",
        change: Change::Duration,
    }];
    for ((now, before), metrics, limit, unit) in [
        (failures, RATE, t.rate_points, "pts"),
        (durations, P90, t.duration_percent, "pct"),
    ] {
        let metric = metrics[0].column;
        let spec = Comparison {
            keys: &["pipeline"],
            metrics,
        };
        let c = compare(now, before, &spec, t).result;
        let name = format!("{metric}_change_{unit}");
        for i in 0..c.rows.len() {
            if c.get(i, "regressed") == Some(&Value::Bool(true))
                && let (Some(p), Some(ch)) = (c.get(i, "pipeline"), c.get(i, &name))
            {
                rows.push(vec![
                    p.clone(),
                    Value::Text(name.clone()),
                    ch.clone(),
                    Value::Float(limit),
                ]);
            }
        }
    }
    rows
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
