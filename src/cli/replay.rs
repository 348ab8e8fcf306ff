//! `cplogs replay-errors`: the records Firehose wrote under the error prefix, run
//! through the current transform, written into their `dt=` folders (in the bucket or
//! a local copy of it); what still fails is listed with its reason.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use chrono::NaiveDate;
use clap::Args;
use serde_json::json;

use super::exit::{Exit, UsageError};
use super::global::{Context, NO_REGION, SummaryFormat};
use super::window::parse_instant;
use crate::core::schema::Table;
use crate::ingest::replay::{ReplayFile, StillFailing, error_prefix, replay_object};

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

/// Where error objects are read from and replayed files written to.
enum Store {
    Local(PathBuf),
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
    },
}

impl Store {
    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        match self {
            Store::Local(root) => {
                let mut out = Vec::new();
                let mut stack = vec![root.join(prefix)];
                while let Some(dir) = stack.pop() {
                    let entries = match std::fs::read_dir(&dir) {
                        Ok(e) => e,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => {
                            return Err(e).with_context(|| format!("reading {}", dir.display()));
                        }
                    };
                    for entry in entries {
                        let path = entry?.path();
                        if path.is_dir() {
                            stack.push(path);
                        } else if let Ok(rel) = path.strip_prefix(root) {
                            out.push(rel.to_string_lossy().replace('\\', "/"));
                        }
                    }
                }
                out.sort();
                Ok(out)
            }
            Store::S3 { client, bucket } => {
                let mut out = Vec::new();
                let mut pages = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(prefix)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| {
                        anyhow::anyhow!(
                            "listing s3://{bucket}/{prefix}: {}",
                            aws_sdk_s3::error::DisplayErrorContext(&e)
                        )
                    })?;
                    out.extend(
                        page.contents()
                            .iter()
                            .filter_map(|o| o.key().map(str::to_owned)),
                    );
                }
                Ok(out)
            }
        }
    }

    async fn read(&self, key: &str) -> Result<Vec<u8>> {
        match self {
            Store::Local(root) => {
                let path = root.join(key);
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
            }
            Store::S3 { client, bucket } => {
                let o = client
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "reading s3://{bucket}/{key}: {}",
                            aws_sdk_s3::error::DisplayErrorContext(&e)
                        )
                    })?;
                Ok(o.body
                    .collect()
                    .await
                    .with_context(|| format!("reading s3://{bucket}/{key}"))?
                    .to_vec())
            }
        }
    }

    /// Writes `file` unless it is there already (an earlier replay of the same
    /// object): whole or not at all. Returns whether it was written.
    async fn write_new(&self, file: &ReplayFile) -> Result<bool> {
        match self {
            Store::Local(root) => {
                let path = root.join(&file.key);
                if path.exists() {
                    return Ok(false);
                }
                let dir = path.parent().context("a replayed file has a folder")?;
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                // A hidden temporary name readers skip, renamed when complete.
                let tmp = dir.join(format!(
                    ".{}.tmp",
                    path.file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or("replay")
                ));
                std::fs::write(&tmp, &file.body)
                    .with_context(|| format!("writing {}", tmp.display()))?;
                std::fs::rename(&tmp, &path)
                    .with_context(|| format!("renaming into {}", path.display()))?;
                Ok(true)
            }
            Store::S3 { client, bucket } => {
                let exists = client
                    .head_object()
                    .bucket(bucket)
                    .key(&file.key)
                    .send()
                    .await;
                if exists.is_ok() {
                    return Ok(false);
                }
                client
                    .put_object()
                    .bucket(bucket)
                    .key(&file.key)
                    .body(file.body.clone().into())
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "writing s3://{bucket}/{}: {}",
                            file.key,
                            aws_sdk_s3::error::DisplayErrorContext(&e)
                        )
                    })?;
                Ok(true)
            }
        }
    }
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
    let (summary, failing) = rt.block_on(async {
        let store = match &args.from {
            Some(dir) => Store::Local(dir.clone()),
            None => {
                let bucket = cx.settings.require_bucket()?.to_owned();
                let config = cx.sdk_config(NO_REGION).await?;
                Store::S3 {
                    client: crate::aws::sdk::s3_client(&config),
                    bucket,
                }
            }
        };
        let mut summary = Summary::default();
        let mut failing: Vec<StillFailing> = Vec::new();
        for table in tables {
            for key in store.list(&error_prefix(table)).await? {
                let name = key.rsplit('/').next().unwrap_or("");
                if name.starts_with('.') || name.starts_with('_') {
                    continue;
                }
                if let (Some(since), Some(day)) = (since, object_day(&key, table))
                    && day < since
                {
                    continue;
                }
                summary.objects += 1;
                let bytes = store.read(&key).await?;
                let replayed = replay_object(&key, &bytes).map_err(anyhow::Error::msg)?;
                summary.records += replayed.records;
                failing.extend(replayed.failing);
                for file in &replayed.files {
                    if args.dry_run {
                        summary.replayable += file.records;
                    } else if store.write_new(file).await? {
                        summary.written += file.records;
                        summary.files += 1;
                    } else {
                        summary.already += file.records;
                    }
                }
            }
        }
        anyhow::Ok((summary, failing))
    })?;
    rt.shutdown_background();
    let still = failing.len();
    match format {
        SummaryFormat::Json => {
            let doc = json!({
                "objects": summary.objects,
                "records": summary.records,
                "written": summary.written,
                "files": summary.files,
                "already_replayed": summary.already,
                "replayable": summary.replayable,
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
        format!("{} would be written (dry run)", summary.replayable)
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

#[derive(Debug, Default)]
struct Summary {
    objects: u64,
    records: u64,
    written: u64,
    files: u64,
    already: u64,
    replayable: u64,
}
