//! `cplogs query`: one ad-hoc, read-only statement on the selected engine.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;

use super::exit::{Exit, UsageError};
use super::global::Context;
use super::print;
use super::select::{self, RunArgs, run_blocking};
use crate::engine::{Query, QueryEngine};
use crate::output::Section;

/// `cplogs query`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs --local ./logs query \"SELECT pipeline, count(*) AS n FROM pipeline_execution_state_change GROUP BY 1\"
  cplogs query --file slowest.sql --param deploy-api --format csv
  cplogs query \"SHOW TABLES\" --demo")]
pub struct QueryArgs {
    /// One SQL statement (Trino dialect); use --file to read it from a file.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub sql: Option<String>,
    /// Read the statement from this file.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// A value for the next `?` placeholder (repeatable, in order; bound as text).
    #[arg(long = "param", value_name = "VALUE")]
    pub params: Vec<String>,
    /// How the query runs.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `cplogs query`
pub fn run(args: QueryArgs, cx: &Context) -> Result<Exit> {
    let sql = match (&args.sql, &args.file) {
        (Some(s), _) => s.clone(),
        (None, Some(f)) => {
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?
        }
        (None, None) => return Err(UsageError("give the SQL or --file FILE".into()).into()),
    };
    // Before any engine or AWS call: ad-hoc SQL only reads.
    crate::engine::readonly::check(&sql).map_err(|e| UsageError(e.to_string()))?;
    select::check(&args.run, cx)?;
    let (info, out) = run_blocking(async {
        let selected = select::select(&args.run, cx).await?;
        let q = Query {
            sql,
            params: args.params.clone(),
        };
        let out = selected.engine.run(&q).await.map_err(|e| match e {
            crate::engine::EngineError::Invalid(m) => {
                anyhow::Error::new(UsageError(format!("invalid query: {m}")))
            }
            other => other.into(),
        })?;
        selected.spinner.finish_and_clear();
        // Ad-hoc SQL has no window to estimate from: only the statistics after it.
        let info = print::Run::new(&selected.engine, cx, None);
        anyhow::Ok((info, out))
    })?;
    print::sections(
        cx.format(),
        cx.width,
        &[Section {
            name: "query",
            result: &out.result,
        }],
        &info,
        None,
        None,
        &[&out],
    )?;
    print::stats_line(&info, &[&out]);
    Ok(Exit::Success)
}
