//! `cplogs demo`: a realistic synthetic history written in the bucket layout, or
//! printed as EventBridge events.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use clap::Args;

use super::exit::{Exit, UsageError};
use super::ingest::report_stale_temp_files;
use crate::ingest::PartitionWriter;
use crate::ingest::demo::{DemoConfig, EventLines, generate, generate_events};

/// `cplogs demo`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs demo --out ./logs && cplogs --local ./logs report failures
  cplogs demo --out ./big --pipelines 100 --days 365
  cplogs demo --print-events --days 1 | cplogs ingest - --print")]
pub struct DemoArgs {
    /// Directory to write `<table>/dt=YYYY-MM-DD/*.json.gz` under.
    #[arg(
        long,
        short,
        value_name = "DIR",
        required_unless_present = "print_events"
    )]
    pub out: Option<PathBuf>,
    /// Write the events themselves (EventBridge JSON lines, in arrival order) to stdout
    /// instead of files: input for `cplogs ingest`.
    #[arg(long, conflicts_with = "out")]
    pub print_events: bool,
    /// Number of pipelines.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub pipelines: u32,
    /// Days of history, ending today (or --end).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3_650))]
    pub days: u32,
    /// Mean executions per pipeline per day.
    #[arg(long, default_value_t = 6.0)]
    pub runs_per_day: f64,
    /// Seed for the generator: the same seed and --end give the same events.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Last day of the history (YYYY-MM-DD), whole; default: today, up to now.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub end: Option<NaiveDate>,
}

pub fn run(args: DemoArgs) -> Result<Exit> {
    if !(args.runs_per_day > 0.0 && args.runs_per_day <= 10_000.0) {
        return Err(UsageError("--runs-per-day must be above 0 and at most 10000".into()).into());
    }
    let end: DateTime<Utc> = match args.end {
        Some(day) => Utc.from_utc_datetime(
            &day.and_hms_opt(23, 59, 59)
                .context("--end is not a valid day")?,
        ),
        None => Utc::now(),
    };
    // The whole history must fit in the days the tables hold (1970 … 9999).
    let first = end.checked_sub_signed(chrono::Duration::days(i64::from(args.days)));
    if first.is_none_or(|f| f < super::window::earliest()) || end >= super::window::latest() {
        return Err(UsageError(format!(
            "--end {}: {} days ending then do not fit between 1970-01-01 and 9999-12-31",
            end.date_naive(),
            args.days
        ))
        .into());
    }
    let config = DemoConfig {
        pipelines: args.pipelines as usize,
        days: args.days,
        seed: args.seed,
        runs_per_day: args.runs_per_day,
        end,
    };
    let started = Instant::now();
    let Some(out) = args.out.as_ref().filter(|_| !args.print_events) else {
        let mut sink = EventLines::new(io::BufWriter::new(io::stdout().lock()));
        let summary = generate_events(&config, &mut sink, |_| {})?;
        sink.finish()?;
        note!(
            "demo: {} pipelines, {} days, {} executions: {} events ({} duplicate deliveries) \
             to stdout in {:.2}s",
            config.pipelines,
            config.days,
            summary.executions,
            summary.events,
            summary.duplicates,
            started.elapsed().as_secs_f64(),
        );
        return Ok(Exit::Success);
    };
    report_stale_temp_files(out)?;
    let mut writer = PartitionWriter::new(out, 1);
    let bar = progress_bar(u64::from(args.days));
    let summary = generate(&config, &mut writer, |done| {
        bar.set_position(u64::from(done))
    })?;
    bar.finish_and_clear();
    let written = writer.finish()?;
    let secs = started.elapsed().as_secs_f64();
    note!(
        "demo: {} pipelines, {} days, {} executions: {} events ({} duplicate deliveries, {} late) \
         in {} files under {} in {:.2}s ({:.0} events/s)",
        config.pipelines,
        config.days,
        summary.executions,
        summary.events,
        summary.duplicates,
        summary.late,
        written.files.len(),
        out.display(),
        secs,
        summary.events as f64 / secs.max(1e-9),
    );
    io::stderr().flush().ok();
    Ok(Exit::Success)
}

/// A progress bar on stderr when it is a terminal; hidden otherwise.
fn progress_bar(len: u64) -> indicatif::ProgressBar {
    if io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(len);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {pos}/{len} days ({elapsed})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("generating");
        bar
    } else {
        indicatif::ProgressBar::hidden()
    }
}
