//! `cplogs report NAME`: a canned report (its definition in [`crate::reports`]) on the
//! selected engine, printed in the chosen format; or, with `--print-sql`, its
//! statements as they would be sent.

use std::borrow::Cow;
use std::io::{self, Write};

use anyhow::{Context as _, Result};
use clap::Args;
use serde_json::json;

use super::exit::{Exit, UsageError};
use super::global::Context;
use super::print;
use super::select::{self, Engine, RunArgs, run_blocking};
use super::window::{WindowArgs, usage_duration};
use crate::engine::{Query, QueryEngine, QueryOutput};
use crate::output::gantt::{with_gantt, without};
use crate::output::{Format, Section};
use crate::reports::compare::{Thresholds, compare};
use crate::reports::{Breakdown, Report, ReportOption, ReportParams, Shape, Statement, WindowRule};
use crate::rows::{ResultSet, Value};

/// `cplogs report`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs report failures --since 7d --demo
  cplogs --local ./logs report durations --by action --since 30d --format csv
  cplogs report timeline --pipeline deploy-api --format json")]
pub struct ReportArgs {
    /// The report (see `cplogs reports`).
    #[arg(value_enum)]
    pub name: Report,
    /// Window and pipelines.
    #[command(flatten)]
    pub window: WindowArgs,
    /// durations: break down by stage or action [default: pipeline].
    #[arg(long, value_enum)]
    pub by: Option<Breakdown>,
    /// timeline: the execution to draw (default: the latest of --pipeline).
    #[arg(long, value_name = "ID")]
    pub execution_id: Option<String>,
    /// stuck: how long without a terminal event (30m, 24h, 2d) [default: 24h].
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,
    /// stuck: how far back to look for open executions, whatever --since says
    /// (default 30d); timeline --execution-id: how far back to search for an
    /// execution that is not in the window (default 90d).
    #[arg(long, value_name = "DURATION")]
    pub lookback: Option<String>,
    /// At most this many rows per section.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Only this section of a report that has several (failures: failures,
    /// failures_actions); CSV and TSV otherwise carry the first.
    #[arg(long, value_name = "NAME")]
    pub section: Option<String>,
    /// failures, durations, dora: add the previous period of the same length to each
    /// row, the change of each metric, and whether the row regressed.
    #[arg(long, value_enum, value_name = "PERIOD")]
    pub compare: Option<ComparePeriod>,
    /// With --compare: when a change is a regression, `failure-rate=POINTS` (default
    /// 5) or `p90=PERCENT` (default 20%) (repeatable).
    #[arg(long, value_name = "RULE")]
    pub max_regression: Vec<String>,
    /// Print the statements exactly as they would be sent, with the values of
    /// their `?` placeholders, instead of running them (json: machine-readable).
    #[arg(long)]
    pub print_sql: bool,
    /// How the queries run.
    #[command(flatten)]
    pub run: RunArgs,
}

/// What `--compare` compares with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ComparePeriod {
    /// The period of the same length just before the window.
    Previous,
}

/// `--max-regression` values over the defaults.
pub fn thresholds(rules: &[String]) -> Result<Thresholds, UsageError> {
    let mut t = Thresholds::default();
    for r in rules {
        t.set(r).map_err(|e| UsageError(e.to_string()))?;
    }
    Ok(t)
}

impl ReportArgs {
    /// The report options given on the command line.
    fn given(&self) -> Vec<ReportOption> {
        ReportOption::ALL
            .into_iter()
            .filter(|o| match o {
                ReportOption::By => self.by.is_some(),
                ReportOption::ExecutionId => self.execution_id.is_some(),
                ReportOption::OlderThan => self.older_than.is_some(),
                ReportOption::Lookback => self.lookback.is_some(),
                ReportOption::Compare => self.compare.is_some() || !self.max_regression.is_empty(),
            })
            .collect()
    }

    /// The report's parameters, every value checked (usage errors before any work).
    fn params(&self) -> Result<ReportParams> {
        let report = &self.name;
        if let Some(o) = self.given().into_iter().find(|o| !report.takes(*o)) {
            return Err(UsageError(format!(
                "{} does not apply to the {} report; it applies to: {}",
                o.flag(),
                report.name,
                o.reports().join(", ")
            ))
            .into());
        }
        let now = self.window.now()?;
        let mut p = self.window.params(now)?;
        let older = usage_duration("--older-than", self.older_than.as_deref().unwrap_or("24h"))?;
        p = p
            .with_execution_id(self.execution_id.as_deref())
            .map_err(|e| UsageError(e.to_string()))?
            .with_older_than(older);
        if let (WindowRule::OpenUntilNow { .. }, Some(default)) =
            (report.window, report.window.lookback())
        {
            // Open executions started long ago: look back whatever --since says.
            p = p
                .looking_back(self.lookback()?.unwrap_or(default))
                .until_now();
        }
        Ok(p)
    }

    fn lookback(&self) -> Result<Option<chrono::Duration>, UsageError> {
        self.lookback
            .as_deref()
            .map(|t| usage_duration("--lookback", t))
            .transpose()
    }
}

/// Runs `cplogs report NAME`.
pub fn run(args: ReportArgs, cx: &Context) -> Result<Exit> {
    let report = args.name;
    let p = args.params()?;
    let lookback = args.lookback()?;
    let statements = report.sections(args.by.unwrap_or_default());
    if let Some(name) = &args.section
        && !statements.iter().any(|s| s.name == name)
    {
        let names: Vec<&str> = statements.iter().map(|s| s.name).collect();
        return Err(UsageError(format!(
            "--section {name:?}: the {} report's sections are: {}",
            report.name,
            names.join(", ")
        ))
        .into());
    }
    if args.print_sql {
        return print_sql(report.name, &statements, &p, cx.format());
    }
    let thresholds = thresholds(&args.max_regression)?;
    let previous = match args.compare {
        Some(ComparePeriod::Previous) => Some(p.previous().ok_or_else(|| {
            UsageError("--compare previous: the previous period would start before 1970".into())
        })?),
        None => None,
    };
    select::check(&args.run, cx)?;
    let (run, outputs, p, before) = run_blocking(async {
        let selected = select::select(&args.run, cx).await?;
        let mut runs: Vec<(&[Statement], &ReportParams)> = vec![(&statements, &p)];
        if let Some(prev) = &previous {
            runs.push((&statements, prev));
        }
        let estimate = select::guard(&selected, cx, &runs).await?;
        let mut outputs = run_all(&selected.engine, report.name, &statements, &p).await?;
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
                outputs = run_all(&selected.engine, report.name, &statements, &p).await?;
            }
        }
        let before = match &previous {
            Some(prev) => Some(run_all(&selected.engine, report.name, &statements, prev).await?),
            None => None,
        };
        selected.spinner.finish_and_clear();
        let run = print::Run::new(&selected.engine, cx, estimate);
        anyhow::Ok((run, outputs, p, before))
    })?;
    let refs: Vec<&QueryOutput> = outputs.iter().chain(before.iter().flatten()).collect();
    if report.shape == Shape::Timeline && outputs[0].result.rows.is_empty() {
        print::stats_line(&run, &refs);
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
    if outputs.iter().all(|o| o.result.rows.is_empty())
        && let Some(hint) = cx
            .settings
            .local
            .as_deref()
            .and_then(super::migrate::legacy_hint)
    {
        note!("no rows: {hint}");
    }
    let format = cx.format();
    // Borrowed from the outputs (their row counts go into the statistics), copied
    // only where a section is rewritten.
    let mut results: Vec<Cow<'_, ResultSet>> =
        outputs.iter().map(|o| Cow::Borrowed(&o.result)).collect();
    if report.shape == Shape::Timeline && format == Format::Table {
        let r = &results[0];
        if let (Some(Value::Text(p)), Some(Value::Text(x))) =
            (r.get(0, "pipeline"), r.get(0, "execution_id"))
        {
            note!("pipeline {p}, execution {x}");
        }
        results[0] = Cow::Owned(with_gantt(&without(r, &["pipeline", "execution_id"]), 24));
    }
    if let Some(before) = &before {
        let mut regressions = 0;
        for ((section, r), b) in report
            .sections
            .iter()
            .filter(|s| s.by.is_none_or(|b| b == args.by.unwrap_or_default()))
            .zip(results.iter_mut())
            .zip(before)
        {
            if let Some(spec) = &section.compare {
                let c = compare(r, &b.result, spec, &thresholds);
                regressions += c.regressions;
                *r = Cow::Owned(c.result);
            }
        }
        if let Some(prev) = &previous {
            note!(
                "compared with {} .. {}: {regressions} row(s) regressed (failure rate up more \
                 than {} points, p90 up more than {}%)",
                prev.since_iso(),
                prev.until_iso(),
                thresholds.rate_points,
                thresholds.duration_percent
            );
        }
    }
    if let Some(n) = args.limit {
        for r in &mut results {
            if r.rows.len() > n {
                *r = Cow::Owned(ResultSet {
                    columns: r.columns.clone(),
                    rows: r.rows[..n].to_vec(),
                });
            }
        }
    }
    let mut sections: Vec<Section<'_>> = statements
        .iter()
        .zip(&results)
        .map(|(s, r)| Section {
            name: s.name,
            result: r.as_ref(),
        })
        .collect();
    if let Some(name) = &args.section {
        sections.retain(|s| s.name == name);
    } else if matches!(format, Format::Csv | Format::Tsv) && sections.len() > 1 {
        // One table per file: a CSV reader would take two tables for one.
        let left: Vec<&str> = sections[1..].iter().map(|s| s.name).collect();
        note!(
            "{} holds only section {}; left out: {} (--section NAME writes another; json \
             and markdown carry all)",
            if format == Format::Csv { "csv" } else { "tsv" },
            sections[0].name,
            left.join(", ")
        );
        sections.truncate(1);
    }
    print::sections(
        format,
        cx.width,
        &sections,
        &run,
        Some(report.name),
        Some(&p),
        &refs,
    )?;
    print::stats_line(&run, &refs);
    // A large result is hundreds of thousands of strings, freed one by one in about
    // 10 ms (a tenth of a warm `inventory`); the process ends next and the system
    // takes the memory back at once (as clang's -disable-free does).
    drop(sections);
    drop(results);
    drop(refs);
    std::mem::forget(outputs);
    Ok(Exit::Success)
}

async fn run_all(
    engine: &Engine,
    report: &str,
    statements: &[Statement],
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
    statements: &[Statement],
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
                    writeln!(out, "--   {}: {}", i + 1, crate::engine::string_literal(v))?;
                }
            }
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(Exit::Success)
}
