//! `cplogs tables create|show|diff|drop`: arguments → `crate::aws::tables`, results to stdout.

use std::io::{self, Write};

use anyhow::Result;
use clap::{Args, Subcommand};
use comfy_table::{ContentArrangement, Table as Grid, presets::UTF8_FULL_CONDENSED};
use serde_json::json;

use super::global::{Context, NO_REGION, SummaryFormat};
use super::runtime;
use crate::aws::sdk::glue_client;
use crate::aws::tables::{Outcome, create, declared_projection, diff_all, drop_tables, get};
use crate::cli::exit::{Exit, UsageError};
use crate::core::schema::Table;

/// `cplogs tables`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs tables create --bucket my-cplogs-bucket --region eu-west-1
  cplogs tables diff --format json
  cplogs tables drop --yes")]
pub struct TablesArgs {
    /// What to do with the tables.
    #[command(subcommand)]
    pub action: TablesAction,
}

/// `cplogs tables` subcommands.
#[derive(Debug, Subcommand)]
pub enum TablesAction {
    /// Create the database if missing and each missing table; report tables that
    /// differ from the schema (exit 1) and change them only with --update. Without
    /// --projection or --no-projection a new table uses registered partitions and an
    /// existing one is compared with (and kept in) the variant it declares.
    Create {
        /// Which schema variant (clap shows the flags' own help).
        #[command(flatten)]
        variant: VariantArgs,
        /// Update tables that differ from the schema (keeping parameters the schema
        /// does not set).
        #[arg(long)]
        update: bool,
    },
    /// Show the tables as Glue has them.
    Show,
    /// List column, partition key, SerDe and location differences from the schema
    /// (exit 1 when there are any). Each table is compared with the variant it
    /// declares (its projection.enabled) unless --projection or --no-projection
    /// picks one.
    Diff {
        /// Which schema variant to compare with (clap shows the flags' own help).
        #[command(flatten)]
        variant: VariantArgs,
    },
    /// Delete the three tables (not the database, not the data). Requires --yes.
    Drop {
        /// Really delete them.
        #[arg(long)]
        yes: bool,
    },
}

/// The schema variant of `tables create` and `tables diff`: date partition projection
/// or registered partitions, or (neither flag) what each existing table declares.
#[derive(Debug, Args)]
pub struct VariantArgs {
    /// Use date partition projection on dt instead of registered partitions.
    #[arg(long, conflicts_with = "no_projection")]
    pub projection: bool,
    /// Use registered partitions (no partition projection).
    #[arg(long)]
    pub no_projection: bool,
}

impl VariantArgs {
    /// `Some(true)` for --projection, `Some(false)` for --no-projection, `None` for
    /// neither (each table's own variant).
    pub fn projection(&self) -> Option<bool> {
        match (self.projection, self.no_projection) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

fn grid(header: &[&str]) -> Grid {
    let mut g = Grid::new();
    g.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    g
}

fn print(format: SummaryFormat, value: &serde_json::Value, table: Grid) -> Result<()> {
    let mut out = io::stdout().lock();
    match format {
        SummaryFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(value)?)?,
        SummaryFormat::Table => writeln!(out, "{table}")?,
    }
    Ok(())
}

/// Runs the command.
pub fn run(args: TablesArgs, cx: &Context) -> Result<Exit> {
    let format = cx.summary_format("tables")?;
    if let TablesAction::Drop { yes: false } = args.action {
        return Err(UsageError("tables drop deletes the three tables: add --yes".into()).into());
    }
    let runtime = runtime()?;
    runtime.block_on(async {
        let config = cx.sdk_config(NO_REGION).await?;
        let glue = glue_client(&config);
        let db = cx.settings.database.as_str();
        match args.action {
            TablesAction::Create { variant, update } => {
                let bucket = cx.settings.require_bucket()?;
                let (created_db, results) = create(&glue, db, bucket, variant.projection(), update).await?;
                if created_db {
                    note!("created database {db}");
                }
                let mut g = grid(&["table", "outcome", "differences"]);
                for r in &results {
                    let diffs: Vec<String> = r
                        .differences
                        .iter()
                        .map(|d| format!("{}: schema {:?}, Glue {:?}", d.what, d.expected, d.actual))
                        .collect();
                    g.add_row(vec![
                        r.table.clone(),
                        format!("{:?}", r.outcome).to_lowercase(),
                        diffs.join("\n"),
                    ]);
                }
                print(format, &json!({"database": db, "database_created": created_db, "tables": results}), g)?;
                if results.iter().any(|r| r.outcome == Outcome::Differs) {
                    note!("error: some tables differ from the schema; `cplogs tables create --update` changes them");
                    return Ok(Exit::Failure);
                }
                Ok(Exit::Success)
            }
            TablesAction::Show => {
                let mut g = grid(&["table", "location", "columns", "partition keys", "projection"]);
                let mut rows = Vec::new();
                for t in Table::ALL {
                    let found = get(&glue, db, t).await?;
                    let sd = found.as_ref().and_then(|f| f.storage_descriptor());
                    let columns: Vec<serde_json::Value> = sd
                        .map(|sd| sd.columns().iter().map(|c| json!({"name": c.name(), "type": c.r#type()})).collect())
                        .unwrap_or_default();
                    let keys: Vec<&str> = found.as_ref().map(|f| f.partition_keys().iter().map(|c| c.name()).collect()).unwrap_or_default();
                    let projection = found.as_ref().is_some_and(declared_projection);
                    let location = sd.and_then(|s| s.location()).unwrap_or("(missing table)");
                    g.add_row(vec![
                        t.name().to_owned(),
                        location.to_owned(),
                        columns.len().to_string(),
                        keys.join(","),
                        projection.to_string(),
                    ]);
                    rows.push(json!({"table": t.name(), "exists": found.is_some(), "location": sd.and_then(|s| s.location()),
                        "columns": columns, "partition_keys": keys, "projection": projection}));
                }
                print(format, &json!(rows), g)?;
                Ok(Exit::Success)
            }
            TablesAction::Diff { variant } => {
                let bucket = cx.settings.require_bucket()?;
                let mut g = grid(&["table", "what", "schema", "Glue"]);
                let mut rows = Vec::new();
                for (t, projection, diffs) in diff_all(&glue, db, bucket, variant.projection()).await? {
                    for d in &diffs {
                        g.add_row(vec![t.name().to_owned(), d.what.clone(), d.expected.clone(), d.actual.clone()]);
                    }
                    rows.push(json!({"table": t.name(), "projection": projection, "differences": diffs}));
                }
                let any = rows.iter().any(|r| r["differences"].as_array().is_some_and(|a| !a.is_empty()));
                print(format, &json!(rows), g)?;
                Ok(if any { Exit::Failure } else { Exit::Success })
            }
            TablesAction::Drop { .. } => {
                let dropped = drop_tables(&glue, db).await?;
                note!("dropped {} table(s) from {db}; the data in S3 is untouched", dropped.len());
                print(format, &json!({"dropped": dropped}), {
                    let mut g = grid(&["dropped"]);
                    for d in &dropped {
                        g.add_row(vec![d.clone()]);
                    }
                    g
                })?;
                Ok(Exit::Success)
            }
        }
    })
}
