//! `cplogs repair-partitions`: arguments → `crate::aws::repair`, summary to stdout.

use std::io::{self, IsTerminal, Write};
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use comfy_table::{Table as Grid, presets::UTF8_FULL_CONDENSED};

use super::global::{Context, NO_REGION, SummaryFormat};
use super::runtime;
use crate::aws::repair::{RepairOptions, TableRepair, repair};
use crate::aws::sdk::{glue_client, s3_client};
use crate::cli::exit::{Exit, UsageError};
use crate::cli::window::parse_instant;
use crate::core::layout::Dt;
use crate::core::schema::Table;

/// `cplogs repair-partitions`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs repair-partitions --bucket my-cplogs-bucket --dry-run
  cplogs repair-partitions --since 30d --table action_execution_state_change
  cplogs repair-partitions --delete-missing --fix-locations --format json")]
pub struct RepairArgs {
    /// Only this table (repeatable); default: all three.
    #[arg(long = "table", value_name = "TABLE", value_parser = parse_table)]
    pub tables: Vec<Table>,
    /// First day to reconcile: 7d, 12h, 2026-11-01 or an RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Last day to reconcile (same forms as --since).
    #[arg(long)]
    pub until: Option<String>,
    /// Report what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Remove partitions whose prefix has no objects.
    #[arg(long)]
    pub delete_missing: bool,
    /// Correct partitions whose location is not their prefix.
    #[arg(long)]
    pub fix_locations: bool,
    /// Tables reconciled at once.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub concurrency: u16,
}

fn parse_table(s: &str) -> Result<Table, String> {
    Table::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
        format!("unknown table {s:?}; tables: {}", names.join(", "))
    })
}

fn day(flag: &str, text: Option<&String>) -> Result<Option<Dt>> {
    text.map(|t| {
        parse_instant(t, chrono::Utc::now())
            .map(|i| Dt::from(i.date_naive()))
            .map_err(|e| UsageError(format!("{flag}: {e}")).into())
    })
    .transpose()
}

/// Runs the command.
pub fn run(args: RepairArgs, cx: &Context) -> Result<Exit> {
    let format = cx.summary_format("repair-partitions")?;
    let since = day("--since", args.since.as_ref())?;
    let until = day("--until", args.until.as_ref())?;
    if let (Some(s), Some(u)) = (since, until)
        && s > u
    {
        return Err(UsageError(format!("--since {s} is after --until {u}")).into());
    }
    let mut tables = if args.tables.is_empty() {
        Table::ALL.to_vec()
    } else {
        args.tables.clone()
    };
    tables.sort();
    tables.dedup();
    let opts = RepairOptions {
        bucket: cx.settings.require_bucket()?.to_owned(),
        database: cx.settings.database.clone(),
        tables,
        since,
        until,
        dry_run: args.dry_run,
        delete_missing: args.delete_missing,
        fix_locations: args.fix_locations,
        concurrency: usize::from(args.concurrency),
    };
    let runtime = runtime()?;
    let started = Instant::now();
    let bar = if io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(opts.tables.len() as u64);
        bar.set_message("reconciling tables");
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let results = runtime.block_on(async {
        let config = cx.sdk_config(NO_REGION).await?;
        let (s3, glue) = (s3_client(&config), glue_client(&config));
        anyhow::Ok(repair(s3, glue, opts, |_| bar.inc(1)).await)
    })?;
    bar.finish_and_clear();
    let mut out = io::stdout().lock();
    match format {
        SummaryFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &results)?;
            writeln!(out)?;
        }
        SummaryFormat::Table => writeln!(out, "{}", grid(&results))?,
    }
    out.flush()?;
    let errors: usize = results.iter().map(|r| r.errors.len()).sum();
    let unparsable: usize = results.iter().map(|r| r.unparsable.len()).sum();
    for r in &results {
        for e in &r.errors {
            note!("error: {}: {e}", r.table);
        }
        for dir in &r.unparsable {
            note!(
                "error: {}: folder {}/{dir}/ is not a dt=YYYY-MM-DD partition: \
                 no partition can be registered for it, move or delete it",
                r.table,
                r.table
            );
        }
    }
    note!(
        "repair-partitions: {} table(s){} in {:.2?}, {errors} error(s), \
         {unparsable} unparsable dt= folder(s)",
        results.len(),
        if args.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        },
        started.elapsed()
    );
    Ok(if errors + unparsable > 0 {
        Exit::Failure
    } else {
        Exit::Success
    })
}

fn grid(results: &[TableRepair]) -> Grid {
    let mut g = Grid::new();
    g.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    let dry = results.first().is_some_and(|r| r.dry_run);
    let verb = |s: &str| {
        if dry {
            format!("would be {s}")
        } else {
            s.to_owned()
        }
    };
    g.set_header(vec![
        "table".to_owned(),
        "in S3".to_owned(),
        "in Glue".to_owned(),
        verb("added"),
        verb("removed"),
        verb("fixed"),
        "no objects".to_owned(),
        "wrong location".to_owned(),
        "unparsable dt= folders".to_owned(),
        "errors".to_owned(),
    ]);
    for r in results {
        g.add_row(vec![
            r.table.clone(),
            r.in_s3.to_string(),
            r.in_glue.to_string(),
            r.added.to_string(),
            r.removed.to_string(),
            r.fixed.to_string(),
            r.without_objects.to_string(),
            r.wrong_location.to_string(),
            unparsable_cell(&r.unparsable),
            r.errors.len().to_string(),
        ]);
    }
    g
}

/// The unparsable folders of a table for the grid: all of them up to a few, then a count.
fn unparsable_cell(dirs: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut cell = dirs
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("\n");
    if dirs.len() > SHOWN {
        cell.push_str(&format!("\n… {} more", dirs.len() - SHOWN));
    }
    if cell.is_empty() {
        cell.push('0');
    }
    cell
}
