//! `cplogs replay-errors`: the records Firehose wrote under the error prefix, run
//! through the current transform, written into their `dt=` folders (in the bucket or
//! a local copy of it); what still fails is listed with its reason.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;
use serde_json::json;

use super::exit::{Exit, UsageError};
#[cfg(feature = "cloud")]
use super::global::NO_REGION;
use super::global::{Context, SummaryFormat};
use super::store::{Rewrite, Store};
use super::window::parse_instant;
use crate::core::schema::Table;
use crate::ingest::replay::{error_prefix, replay_object};

/// `cplogs replay-errors`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs replay-errors --bucket my-cplogs-bucket --since 14d
  cplogs replay-errors --from ./bucket-copy --dry-run
  cplogs replay-errors --from ./bucket-copy --table action_execution_state_change --format json")]
pub struct ReplayArgs {
    /// A local copy of the bucket (`errors/<table>/processing-failed/…` under it)
    /// instead of the bucket (--bucket); the replayed files are written under it too.
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
    /// Only error objects from this day on (by their `YYYY/MM/DD/` folder): 7d,
    /// 2026-11-01, an RFC 3339 time [default: all].
    #[arg(long)]
    pub since: Option<String>,
    /// Only this table (repeatable); default: all three.
    #[arg(long = "table", value_name = "TABLE", value_parser = parse_table)]
    pub tables: Vec<Table>,
    /// Read and transform, write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_table(s: &str) -> Result<Table, String> {
    Table::from_name(s).ok_or_else(|| format!("unknown table {s:?}"))
}

/// The day of an error object from its `…/processing-failed/YYYY/MM/DD/` folders.
fn object_day(key: &str, table: Table) -> Option<NaiveDate> {
    let rest = key.split(&error_prefix(table)).nth(1)?;
    let mut parts = rest.split('/');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// How many still-failing records stderr lists (JSON has all).
const SHOWN: usize = 20;

/// Runs `cplogs replay-errors`: exit 0 when every record is now logged, 1 when some
/// still fail.
pub fn run(args: ReplayArgs, cx: &Context) -> Result<Exit> {
    let format = cx.summary_format("replay-errors")?;
    let since = args
        .since
        .as_deref()
        .map(|t| {
            parse_instant(t, chrono::Utc::now())
                .map(|i| i.date_naive())
                .map_err(|e| UsageError(format!("--since: {e}")))
        })
        .transpose()?;
    let tables = if args.tables.is_empty() {
        Table::ALL.to_vec()
    } else {
        args.tables.clone()
    };
    let rt = super::runtime()?;
    let rw = rt.block_on(async {
        let store = match &args.from {
            Some(dir) => Store::Local(dir.clone()),
            #[cfg(not(feature = "cloud"))]
            None => {
                return Err(super::exit::without_aws(
                    "replaying the bucket's error prefix",
                ));
            }
            #[cfg(feature = "cloud")]
            None => {
                let bucket = cx.settings.require_bucket()?.to_owned();
                let config = cx.sdk_config(NO_REGION).await?;
                Store::S3 {
                    client: crate::aws::sdk::s3_client(&config),
                    bucket,
                }
            }
        };
        let mut rw = Rewrite::default();
        for table in tables {
            for key in store.list(&error_prefix(table)).await? {
                if crate::core::layout::is_hidden(&key) {
                    continue;
                }
                if let (Some(since), Some(day)) = (since, object_day(&key, table))
                    && day < since
                {
                    continue;
                }
                rw.object(&store, &key, &store, args.dry_run, replay_object)
                    .await?;
            }
        }
        anyhow::Ok(rw)
    })?;
    rt.shutdown_background();
    let (summary, failing) = (&rw, &rw.failing);
    let still = failing.len();
    match format {
        SummaryFormat::Json => {
            let doc = json!({
                "objects": summary.objects,
                "records": summary.records,
                "written": summary.written,
                "files": summary.files,
                "already_replayed": summary.already,
                "replayable": summary.would,
                "still_failing": failing,
                "dry_run": args.dry_run,
            });
            writeln!(
                io::stdout().lock(),
                "{}",
                serde_json::to_string_pretty(&doc)?
            )?;
        }
        SummaryFormat::Table => {
            for f in failing.iter().take(SHOWN) {
                note!(
                    "still failing: {}:{}: {}{}",
                    f.object,
                    f.line,
                    f.reason,
                    f.first_error
                        .as_ref()
                        .map(|c| format!(" (first: {c})"))
                        .unwrap_or_default()
                );
            }
            if still > SHOWN {
                note!(
                    "still failing: … and {} more (--format json lists all)",
                    still - SHOWN
                );
            }
        }
    }
    let wrote = if args.dry_run {
        format!("{} would be written (dry run)", summary.would)
    } else {
        format!(
            "{} written in {} file(s), {} already replayed",
            summary.written, summary.files, summary.already
        )
    };
    note!(
        "replay-errors: {} error object(s), {} record(s): {wrote}, {still} still failing",
        summary.objects,
        summary.records,
    );
    Ok(if still > 0 {
        Exit::Failure
    } else {
        Exit::Success
    })
}
