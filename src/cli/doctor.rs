//! `cplogs doctor`: checks a deployment end to end (or a local copy with `--local`)
//! and prints one line per check, ✔ or ✖ with the fix to apply; exit 0 when all
//! pass, 3 when something is wrong.

use std::io::{self, Write};

use anyhow::Result;
use chrono::{Duration, Utc};
use clap::Args;
use serde_json::json;

use super::checks;
use super::exit::Exit;
#[cfg(feature = "cloud")]
use super::global::NO_REGION;
use super::global::{Context, SummaryFormat};
use super::select::{self, RunArgs};
use super::store::Store;
#[cfg(feature = "cloud")]
use crate::aws::sdk::s3_client;
use crate::reports::ReportParams;

/// `cplogs doctor`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs doctor --bucket my-cplogs-bucket --region eu-west-1
  cplogs --local ./logs doctor
  cplogs doctor --format json | jq '.checks[] | select(.ok | not)'")]
pub struct DoctorArgs {
    /// Flag a pipeline silent for more than this many times its median gap between
    /// executions over the last 30 days.
    #[arg(long, default_value_t = 10.0, value_name = "N")]
    pub silence_factor: f64,
    /// A dead-letter or on-failure queue to check (repeatable; default: the queues
    /// whose names hold `DeadLetterQueue` or `FailureQueue`, as the template names
    /// them).
    #[arg(long = "queue", value_name = "URL")]
    pub queues: Vec<String>,
    /// How the freshness query runs.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Runs every check that applies (AWS, or the local directory).
pub fn run(args: DoctorArgs, cx: &Context) -> Result<Exit> {
    let format = cx.summary_format("doctor")?;
    if !(args.silence_factor.is_finite() && args.silence_factor > 0.0) {
        return Err(super::exit::UsageError(format!(
            "--silence-factor must be a number above 0, not {}",
            args.silence_factor
        ))
        .into());
    }
    select::check(&args.run, cx)?;
    let now = Utc::now();
    let window = ReportParams::new(now - Duration::days(30), now, now)?;
    let local = cx
        .settings
        .local
        .clone()
        .filter(|_| cx.settings.engine == super::settings::EngineKind::Local);
    let rt = super::runtime()?;
    let checks = rt.block_on(async {
        let mut checks = Vec::new();
        let store = match &local {
            Some(dir) => Store::Local(dir.clone()),
            #[cfg(not(feature = "cloud"))]
            None => return Err(super::exit::without_aws("checking a deployment")),
            #[cfg(feature = "cloud")]
            None => {
                let config = cx.sdk_config(NO_REGION).await?;
                let bucket = cx.settings.require_bucket()?.to_owned();
                checks.extend(checks::aws_checks(cx, &config, &bucket, &args.queues).await);
                Store::S3 {
                    client: s3_client(&config),
                    bucket,
                }
            }
        };
        checks.extend(checks::freshness(&args.run, args.silence_factor, cx, &window).await);
        checks.push(checks::firehose_errors(&store, now).await);
        checks.push(checks::unreadable(&store).await);
        anyhow::Ok(checks)
    });
    rt.shutdown_background();
    let checks = checks?;
    let failed = checks.iter().filter(|c| !c.ok).count();
    let mut out = io::stdout().lock();
    match format {
        SummaryFormat::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&json!({"ok": failed == 0, "checks": checks}))?
        )?,
        SummaryFormat::Table => {
            for c in &checks {
                let mark = if c.ok { "✔" } else { "✖" };
                writeln!(out, "{mark} {}: {}", c.name, c.detail)?;
                if let Some(fix) = &c.fix {
                    writeln!(out, "    fix: {fix}")?;
                }
            }
        }
    }
    note!("doctor: {} check(s), {failed} failed", checks.len());
    Ok(if failed == 0 {
        Exit::Success
    } else {
        Exit::Breach
    })
}
