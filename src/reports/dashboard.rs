//! The dashboard's data: which report statements run over which windows, on any
//! engine. The window's statements (daily trends, failures, failing actions,
//! durations, flaky actions, DORA) run over `--since`/`--until`; stuck executions over
//! the `stuck` report's own window (ending now, looking back 30 days); and the
//! `timeline` statement once per pipeline seen, for its latest execution. Rendering is
//! `output::html`'s; the command is `cli::dashboard`.

use std::collections::BTreeSet;

use chrono::Duration;
use futures::StreamExt as _;

use super::compare::{Thresholds, compare};
use super::{ReportParams, Statement, statement};
use crate::engine::{EngineError, QueryEngine, QueryOutput};
use crate::rows::ResultSet;

/// The statements run over the window, in the order they run.
pub const WINDOW_STATEMENTS: [&str; 6] = [
    "trends",
    "failures",
    "failures_actions",
    "durations",
    "flaky",
    "dora",
];

/// At most this many per-pipeline timelines: each is a query, and a page with
/// hundreds of Gantt charts helps nobody (`--pipeline` picks the ones to draw).
pub const MAX_TIMELINES: usize = 50;

/// The statements the page also shows against the previous period.
pub const COMPARED: [&str; 2] = ["failures", "durations"];

/// Timeline queries in flight at once: Athena runs them in parallel; the local engine
/// shares its two cores anyway.
const CONCURRENCY: usize = 4;

/// A statement of the dashboard that failed.
#[derive(Debug, thiserror::Error)]
#[error("dashboard: sql/reports/{statement}.sql{}: {source}", pipeline.as_deref().map(|p| format!(" for pipeline {p}")).unwrap_or_default())]
pub struct DashboardError {
    /// The statement's name.
    pub statement: &'static str,
    /// The pipeline of a timeline query.
    pub pipeline: Option<String>,
    /// What the engine said.
    #[source]
    pub source: EngineError,
}

/// One named result of the dashboard with what its query cost.
#[derive(Debug, Clone)]
pub struct Part {
    /// The statement's name (`failures`), or the pipeline's for a timeline.
    pub name: String,
    /// The rows and statistics.
    pub output: QueryOutput,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// The window of the window statements.
    pub params: ReportParams,
    /// The window of `stuck` (ends now, reaches back at least 30 days).
    pub stuck_params: ReportParams,
    /// [`WINDOW_STATEMENTS`] then `stuck`, by name.
    pub parts: Vec<Part>,
    /// The latest execution's timeline of each pipeline seen (at most
    /// [`MAX_TIMELINES`]), in pipeline order; pipelines without action events are
    /// left out.
    pub timelines: Vec<Part>,
    /// How many pipelines were seen in all.
    pub pipelines_seen: usize,
    /// Pipelines that got no timeline query: beyond [`MAX_TIMELINES`], or named in
    /// the data with a name `--pipeline` cannot take.
    pub timelines_left_out: usize,
}

impl Dashboard {
    /// The result of the statement called `name` (empty if it did not run).
    pub fn result(&self, name: &str) -> &ResultSet {
        static EMPTY: ResultSet = ResultSet {
            columns: Vec::new(),
            rows: Vec::new(),
        };
        self.parts
            .iter()
            .find(|p| p.name == name)
            .map_or(&EMPTY, |p| &p.output.result)
    }

    /// Every query output, for statistics.
    pub fn outputs(&self) -> Vec<&QueryOutput> {
        self.parts
            .iter()
            .chain(&self.timelines)
            .map(|p| &p.output)
            .collect()
    }
}

/// The window `stuck` uses for `p`, as `cplogs report stuck` computes it with default
/// options: ends now, reaches back 30 days or to `--since` if earlier, and calls an
/// execution stuck after 24 hours.
pub fn stuck_params(p: &ReportParams) -> ReportParams {
    let lookback = super::Report::named("stuck")
        .and_then(|r| r.window.lookback())
        .unwrap_or(Duration::days(30));
    p.clone()
        .with_older_than(Duration::hours(24))
        .looking_back(lookback)
        .until_now()
}

async fn run_one<E: QueryEngine>(
    engine: &E,
    s: &Statement,
    p: &ReportParams,
    pipeline: Option<&str>,
) -> Result<QueryOutput, DashboardError> {
    engine
        .run(&s.query(p))
        .await
        .map_err(|source| DashboardError {
            statement: s.name,
            pipeline: pipeline.map(str::to_owned),
            source,
        })
}

/// Runs every statement of the dashboard for window `p` on `engine`.
pub async fn gather<E: QueryEngine>(
    engine: &E,
    p: &ReportParams,
) -> Result<Dashboard, DashboardError> {
    let mut parts = Vec::new();
    for name in WINDOW_STATEMENTS {
        let output = run_one(engine, &statement(name), p, None).await?;
        parts.push(Part {
            name: name.to_owned(),
            output,
        });
    }
    let stuck = stuck_params(p);
    let output = run_one(engine, &statement("stuck"), &stuck, None).await?;
    parts.push(Part {
        name: "stuck".to_owned(),
        output,
    });
    // The previous period of the same length, compared as `report NAME --compare
    // previous` compares: `<name>_compared` parts, with default thresholds.
    if let Some(before) = p.previous() {
        for name in COMPARED {
            let spec = super::Report::named(name)
                .and_then(|r| r.sections.iter().find(|s| s.file.name == name))
                .and_then(|s| s.compare);
            let Some(spec) = spec else { continue };
            let previous = run_one(engine, &statement(name), &before, None).await?;
            let current = parts
                .iter()
                .find(|x| x.name == name)
                .map(|x| x.output.result.clone())
                .unwrap_or_default();
            let compared = compare(&current, &previous.result, &spec, &Thresholds::default());
            parts.push(Part {
                name: format!("{name}_compared"),
                output: QueryOutput {
                    result: compared.result,
                    stats: previous.stats,
                },
            });
        }
    }
    // Every pipeline any section names: one with only running executions still has
    // a timeline worth drawing.
    let mut seen = BTreeSet::new();
    for part in &parts {
        if let Some(i) = part.output.result.column("pipeline") {
            for row in &part.output.result.rows {
                if let Some(name) = row.get(i).and_then(|v| v.as_str()) {
                    seen.insert(name.to_owned());
                }
            }
        }
    }
    let pipelines_seen = seen.len();
    // Names in the data are not checked when written; one that is not a valid
    // pipeline name cannot be a `--pipeline` parameter, so it gets no timeline.
    let wanted: Vec<(String, ReportParams)> = seen
        .into_iter()
        .filter_map(|name| {
            let q = p.clone().with_pipelines(std::slice::from_ref(&name)).ok()?;
            Some((name, q))
        })
        .take(MAX_TIMELINES)
        .collect();
    let timelines_left_out = pipelines_seen - wanted.len();
    let timeline = statement("timeline");
    let timeline = &timeline;
    let results: Vec<Result<Part, DashboardError>> = futures::stream::iter(wanted)
        .map(|(name, q)| async move {
            let output = run_one(engine, timeline, &q, Some(&name)).await?;
            Ok(Part { name, output })
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut timelines = Vec::new();
    for r in results {
        let part = r?;
        if !part.output.result.rows.is_empty() {
            timelines.push(part);
        }
    }
    Ok(Dashboard {
        params: p.clone(),
        stuck_params: stuck,
        parts,
        timelines,
        pipelines_seen,
        timelines_left_out,
    })
}
