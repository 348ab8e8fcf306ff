//! `cplogs digest`: a short summary of a period to paste into a pull request, a chat
//! or an e-mail (markdown, json, or html).

use std::io::{self, Write};

use anyhow::Result;
use clap::Args;

use super::exit::{Exit, UsageError};
use super::global::Context;
use super::print;
use super::select::{self, RunArgs, run_blocking};
use super::window::WindowArgs;
use crate::engine::{QueryEngine, QueryOutput};
use crate::output::Format;
use crate::reports::digest::{Digest, Inputs, STATEMENTS};
use crate::reports::{Report, ReportParams, statement};

/// `cplogs digest`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs digest --since 7d --demo
  cplogs --local ./logs digest --since 14d --format json
  cplogs digest --since 7d --pipeline deploy-api >> $GITHUB_STEP_SUMMARY")]
pub struct DigestArgs {
    /// Window and pipelines (default: the last 7 days).
    #[command(flatten)]
    pub window: WindowArgs,
    /// How the queries run.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Runs `cplogs digest`.
pub fn run(args: DigestArgs, cx: &Context) -> Result<Exit> {
    let format = match cx.format {
        None | Some(Format::Markdown) | Some(Format::Table) => Format::Markdown,
        Some(Format::Json) => Format::Json,
        Some(Format::Html) => Format::Html,
        Some(_) => {
            return Err(
                UsageError("--format: `digest` writes markdown, json or html".into()).into(),
            );
        }
    };
    let now = args.window.now()?;
    let p = args.window.params(now)?;
    let previous = p
        .previous()
        .ok_or_else(|| UsageError("digest: the previous period would start before 1970".into()))?;
    // Stuck executions are the ones open now, whatever the window (as `report stuck`).
    let stuck = Report::named("stuck").map(|r| r.window.lookback());
    let stuck_params = match stuck.flatten() {
        Some(lookback) => p.clone().looking_back(lookback).until_now(),
        None => p.clone(),
    };
    select::check(&args.run, cx)?;
    let (info, now_out, before, stuck_out) = run_blocking(async {
        let selected = select::select(&args.run, cx).await?;
        let sts = |names: &[&str]| names.iter().map(|n| statement(n)).collect::<Vec<_>>();
        let (a, b, c) = (
            sts(&STATEMENTS[..4]),
            sts(&STATEMENTS[..3]),
            sts(&STATEMENTS[4..]),
        );
        let estimate = select::guard(
            &selected,
            cx,
            &[(&a, &p), (&b, &previous), (&c, &stuck_params)],
        )
        .await?;
        let run = |names: &'static [&'static str], p: ReportParams| {
            let engine = &selected.engine;
            async move {
                let mut out = Vec::new();
                for n in names {
                    out.push(engine.run(&statement(n).query(&p)).await?);
                }
                anyhow::Ok(out)
            }
        };
        let now_out = run(&STATEMENTS[..4], p.clone()).await?;
        let before = run(&STATEMENTS[..3], previous.clone()).await?;
        let stuck = run(&STATEMENTS[4..], stuck_params.clone()).await?;
        selected.spinner.finish_and_clear();
        let info = print::Run::new(&selected.engine, cx, estimate);
        anyhow::Ok((info, now_out, before, stuck))
    })?;
    let digest = Digest::new(
        p.since_iso(),
        p.until_iso(),
        Inputs {
            failures: (&now_out[0].result, &before[0].result),
            durations: (&now_out[1].result, &before[1].result),
            flaky: (&now_out[2].result, &before[2].result),
            failing: &now_out[3].result,
            stuck: &stuck_out[0].result,
        },
    );
    let mut out = io::BufWriter::new(io::stdout().lock());
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&digest)?)?,
        Format::Html => write!(out, "{}", digest.html())?,
        _ => write!(out, "{}", digest.markdown())?,
    }
    out.flush()?;
    let all: Vec<&QueryOutput> = now_out.iter().chain(&before).chain(&stuck_out).collect();
    print::stats_line(&info, &all);
    Ok(Exit::Success)
}
