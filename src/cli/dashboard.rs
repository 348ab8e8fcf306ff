//! `cplogs dashboard --out FILE.html`: the dashboard's statements
//! ([`crate::reports::dashboard`]) on the selected engine, written as one
//! self-contained HTML page ([`crate::output::html`]); statistics and the path on
//! stderr.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;

use super::exit::{Exit, UsageError};
use super::global::Context;
use super::print;
use super::select::{self, RunArgs, run_blocking};
use super::window::WindowArgs;
use crate::output::html::{self, DashboardView};
use crate::output::{Format, Section};
use crate::reports::dashboard;

/// `cplogs dashboard`
#[derive(Debug, Args)]
#[command(
    mut_arg("since", |a| a.default_value("30d")),
    after_help = "Examples:
  cplogs dashboard --demo --out dashboard.html
  cplogs --local ./logs dashboard --out ci.html --since 14d --pipeline deploy-api
  cplogs dashboard --out weekly.html --since 7d --reuse 60m"
)]
pub struct DashboardArgs {
    /// The HTML file to write (replaced if it exists).
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// Window and pipelines (--since defaults to 30d here).
    #[command(flatten)]
    pub window: WindowArgs,
    /// How the queries run.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Runs `cplogs dashboard`.
pub fn run(args: DashboardArgs, cx: &Context) -> Result<Exit> {
    if let Some(f) = cx.format
        && f != Format::Html
    {
        return Err(UsageError("--format: the dashboard is always an HTML page".into()).into());
    }
    let now = args.window.now()?;
    let p = args.window.params(now)?;
    select::check(&args.run, cx)?;
    let (run, data) = run_blocking(async {
        let selected = select::select(&args.run, cx).await?;
        // The cost guard over what the page reads: the window's statements and the
        // timelines (stuck looks further back; its table is the same).
        let statements: Vec<_> = dashboard::WINDOW_STATEMENTS
            .iter()
            .chain(&["timeline"])
            .map(|n| crate::reports::statement(n))
            .collect();
        let estimate = select::guard(&selected, cx, &[(&statements, &p)]).await?;
        let data = dashboard::gather(&selected.engine, &p).await?;
        selected.spinner.finish_and_clear();
        anyhow::Ok((print::Run::new(&selected.engine, cx, estimate), data))
    })?;
    let engine = run.engine;
    let sections: Vec<Section<'_>> = data
        .parts
        .iter()
        .map(|part| Section {
            name: &part.name,
            result: &part.output.result,
        })
        .collect();
    let timelines: Vec<Section<'_>> = data
        .timelines
        .iter()
        .map(|part| Section {
            name: &part.name,
            result: &part.output.result,
        })
        .collect();
    let (since, until, now) = (
        p.since_iso(),
        p.until_iso(),
        now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    );
    let stuck_since = data.stuck_params.since_iso();
    let view = DashboardView {
        since: &since,
        until: &until,
        now: &now,
        stuck_since: &stuck_since,
        engine,
        sections: &sections,
        timelines: &timelines,
        pipelines_seen: data.pipelines_seen,
        timelines_left_out: data.timelines_left_out,
    };
    let mut page = Vec::new();
    html::dashboard(&mut page, &view)?;
    std::fs::write(&args.out, &page).with_context(|| format!("writing {}", args.out.display()))?;
    print::stats_line(&run, &data.outputs());
    note!(
        "dashboard: wrote {} ({}, {} pipeline(s), {} timeline(s))",
        args.out.display(),
        print::human_bytes(page.len() as u64),
        data.pipelines_seen,
        data.timelines.len()
    );
    Ok(Exit::Success)
}
