//! `cplogs migrate-legacy`: the original project's bucket (or a local copy) rewritten
//! into the cplogs layout by event time, with deterministic event ids.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use serde_json::json;

use super::exit::{Exit, UsageError};
#[cfg(feature = "cloud")]
use super::global::NO_REGION;
use super::global::{Context, SummaryFormat};
use super::store::{Rewrite, Store};
use crate::core::schema::Table;
use crate::ingest::legacy::{is_legacy_key, migrate_object, table_in_key};

/// `cplogs migrate-legacy`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs migrate-legacy --from s3://old-codepipeline-logs/ --bucket my-cplogs-bucket --dry-run
  cplogs migrate-legacy --from ./old-bucket-copy --out ./logs
  cplogs migrate-legacy --from s3://old-logs/pipeline_execution_state_change/ --out ./logs --format json")]
pub struct MigrateArgs {
    /// The original project's data: `s3://BUCKET/PREFIX` or a local directory, with
    /// `<table>/YYYY/MM/DD/HH/` folders below it.
    #[arg(long, value_name = "S3_URL|DIR")]
    pub from: String,
    /// Write into this local directory instead of the bucket (--bucket).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Read and convert, write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// The source as (bucket, prefix) or a directory.
fn source(from: &str) -> Result<(Option<String>, String, Option<PathBuf>), UsageError> {
    match from.strip_prefix("s3://") {
        Some(rest) => {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(UsageError(format!("--from {from:?}: no bucket")));
            }
            Ok((Some(bucket.to_owned()), prefix.to_owned(), None))
        }
        None => Ok((None, String::new(), Some(PathBuf::from(from)))),
    }
}

const SHOWN: usize = 20;

/// Runs `cplogs migrate-legacy`: exit 0 when every record was migrated, 1 when some
/// were rejected.
pub fn run(args: MigrateArgs, cx: &Context) -> Result<Exit> {
    let format = cx.summary_format("migrate-legacy")?;
    let (bucket, prefix, dir) = source(&args.from)?;
    if args.out.is_none() && !args.dry_run {
        cx.settings.require_bucket()?;
    }
    let rt = super::runtime()?;
    let result = rt.block_on(async {
        let needs_aws = bucket.is_some() || (args.out.is_none() && !args.dry_run);
        #[cfg(feature = "cloud")]
        let s3 = match needs_aws {
            true => Some(crate::aws::sdk::s3_client(&cx.sdk_config(NO_REGION).await?)),
            false => None,
        };
        // Without AWS there is never a client: `Infallible` has no values.
        #[cfg(not(feature = "cloud"))]
        let s3: Option<std::convert::Infallible> = match needs_aws {
            true => return Err(super::exit::without_aws("migrating a bucket")),
            false => None,
        };
        let from = match (&bucket, &dir, &s3) {
            #[cfg(feature = "cloud")]
            (Some(b), _, Some(c)) => Store::S3 {
                client: c.clone(),
                bucket: b.clone(),
            },
            (_, Some(d), _) => Store::Local(d.clone()),
            _ => unreachable!("a source is a bucket or a directory"),
        };
        let to = match (&args.out, &s3) {
            (Some(d), _) => Store::Local(d.clone()),
            #[cfg(feature = "cloud")]
            (None, Some(c)) => Store::S3 {
                client: c.clone(),
                bucket: cx.settings.require_bucket()?.to_owned(),
            },
            #[cfg(not(feature = "cloud"))]
            (None, Some(never)) => match *never {},
            (None, None) => Store::Local(PathBuf::from(".")),
        };
        let mut rw = Rewrite::default();
        let mut skipped = 0;
        for key in from.list(&prefix).await? {
            if crate::core::layout::is_hidden(&key) || !is_legacy_key(&key) {
                skipped += 1;
                continue;
            }
            let hint: Option<Table> = table_in_key(&key);
            rw.object(&from, &key, &to, args.dry_run, |k, b| {
                migrate_object(k, b, hint)
            })
            .await?;
        }
        anyhow::Ok((rw, skipped))
    });
    rt.shutdown_background();
    let (counts, skipped) = result?;
    let rejected = &counts.failing;
    match format {
        SummaryFormat::Json => {
            let doc = json!({
                "objects": counts.objects, "records_read": counts.records,
                "written": counts.written, "files": counts.files,
                "already_migrated": counts.already, "would_write": counts.would,
                "rejected": rejected, "skipped_objects": skipped,
                "dry_run": args.dry_run,
            });
            writeln!(
                io::stdout().lock(),
                "{}",
                serde_json::to_string_pretty(&doc)?
            )?;
        }
        SummaryFormat::Table => {
            for r in rejected.iter().take(SHOWN) {
                note!("rejected: {}:{}: {}", r.object, r.line, r.reason);
            }
            if rejected.len() > SHOWN {
                note!(
                    "rejected: … and {} more (--format json lists all)",
                    rejected.len() - SHOWN
                );
            }
        }
    }
    let wrote = if args.dry_run {
        format!("{} would be written (dry run)", counts.would)
    } else {
        format!(
            "{} written in {} file(s), {} already migrated",
            counts.written, counts.files, counts.already
        )
    };
    note!(
        "migrate-legacy: {} object(s) in the original layout ({} other object(s) skipped), \
         {} record(s) read: {wrote}, {} rejected",
        counts.objects,
        skipped,
        counts.records,
        rejected.len()
    );
    Ok(if rejected.is_empty() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// When a local directory holds data in the original project's layout, which cplogs
/// does not read: a hint naming `migrate-legacy`, for "no data" messages.
pub fn legacy_hint(dir: &Path) -> Option<String> {
    let found = Table::ALL.into_iter().find(|t| {
        std::fs::read_dir(dir.join(t.name()))
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.len() == 4 && n.bytes().all(|b| b.is_ascii_digit())
            })
    })?;
    Some(format!(
        "{} holds {}/YYYY/MM/DD/HH/ folders: the original project's layout, which cplogs \
         does not read; `cplogs migrate-legacy --from {} --out DIR` rewrites it into the \
         cplogs layout",
        dir.display(),
        found.name(),
        dir.display()
    ))
}
