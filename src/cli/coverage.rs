//! `cplogs coverage`: per pipeline, the executions CodePipeline's API lists against
//! the executions in the store (the `inventory` report, on either engine): coverage,
//! the missing executions and those the API no longer lists; `--min-coverage` makes
//! it an audit (exit 3), `--fix` backfills exactly the missing ones.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{self, Write};

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use clap::Args;
use futures::StreamExt;
use serde::Serialize;
use serde_json::json;

use super::backfill::{self, Plan, Sources, Summary, print_summary};
use super::exit::{Exit, UsageError};
use super::global::{Context, SummaryFormat};
use super::select::{self, RunArgs, run_blocking};
use super::store::Store;
use super::window::parse_instant;
use crate::aws::codepipeline::{Calls, list_executions};
use crate::engine::QueryEngine as _;
use crate::output::{self, Format, Section};
use crate::reports::{ReportParams, statement};
use crate::rows::{ColumnInfo, Kind, ResultSet, Value};

/// `cplogs coverage`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs coverage --since 30d --region eu-west-1
  cplogs coverage --min-coverage 99.5 --format json
  cplogs --local ./logs coverage --since 90d --fix")]
pub struct CoverageArgs {
    /// Executions that started since: 30d, 2026-11-01, an RFC 3339 time.
    #[arg(long, default_value = "30d")]
    pub since: String,
    /// Only this pipeline (repeatable).
    #[arg(long = "pipeline", value_name = "NAME")]
    pub pipelines: Vec<String>,
    /// Read another account through this role (repeatable), as backfill does.
    #[arg(long = "role-arn", value_name = "ARN")]
    pub role_arns: Vec<String>,
    /// Exit 3 when a pipeline's coverage (percent) is below this.
    #[arg(long, value_name = "PERCENT", value_parser = percent)]
    pub min_coverage: Option<f64>,
    /// Backfill the missing executions that have ended, then compare again.
    #[arg(long)]
    pub fix: bool,
    /// Missing execution ids shown per pipeline in a table (JSON lists all).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub show: usize,
    /// How the store is queried.
    #[command(flatten)]
    pub run: RunArgs,
}

fn percent(s: &str) -> Result<f64, String> {
    match s.trim_end_matches('%').parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a percentage from 0 to 100")),
    }
}

/// One execution the API lists.
#[derive(Debug, Clone)]
struct Listed {
    id: String,
    ended: bool,
}

/// What the API lists for one pipeline.
#[derive(Debug)]
struct ApiPipeline {
    arn: String,
    account: String,
    region: String,
    name: String,
    executions: Vec<Listed>,
}

/// One pipeline's comparison.
#[derive(Debug, Serialize)]
pub struct PipelineCoverage {
    /// Pipeline name.
    pub pipeline: String,
    /// Its account.
    pub account: String,
    /// Its region.
    pub region: String,
    /// Its ARN.
    pub arn: String,
    /// Executions the API lists.
    pub api_executions: usize,
    /// Of them, in the store.
    pub stored: usize,
    /// stored / api_executions, in percent (100 when the API lists none).
    pub coverage_pct: f64,
    /// Listed but not stored, newest first.
    pub missing: Vec<String>,
    /// Stored but no longer listed.
    pub not_listed: Vec<String>,
}

/// Lists every pipeline's executions since `since` in every account and region.
async fn api_side(
    sources: &Sources,
    since: DateTime<Utc>,
    names: &[String],
    failures: &mut Vec<String>,
) -> (Vec<ApiPipeline>, BTreeSet<(String, String)>) {
    let calls = Calls::default();
    let mut out = Vec::new();
    let mut scopes = BTreeSet::new();
    let (targets, failed) = sources.connect_all().await;
    failures.extend(failed);
    for target in targets {
        scopes.insert((target.account.clone(), target.region.clone()));
        let wanted = match target.pipelines(names, &calls).await {
            Ok(p) => p,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let target = &target;
        let calls = &calls;
        let mut listed = futures::stream::iter(wanted.into_iter().map(|name| async move {
            let r = list_executions(&target.client, &name, since, calls).await;
            (name, r)
        }))
        .buffer_unordered(4);
        while let Some((name, r)) = listed.next().await {
            match r {
                Ok(execs) => out.push(ApiPipeline {
                    arn: target.pipeline(&name).arn(),
                    account: target.account.clone(),
                    region: target.region.clone(),
                    name,
                    executions: execs
                        .iter()
                        .map(|e| Listed {
                            id: e.id.clone(),
                            ended: e.ended(),
                        })
                        .collect(),
                }),
                Err(e) => failures.push(format!("{}: {e}", target.label())),
            }
        }
    }
    out.sort_by(|a, b| (&a.name, &a.account, &a.region).cmp(&(&b.name, &b.account, &b.region)));
    (out, scopes)
}

/// The store's executions that started in the window: ARN → execution ids.
fn stored_executions(rows: &ResultSet, since: DateTime<Utc>) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let col = |n: &str| rows.column(n);
    let (Some(arn), Some(id), Some(started)) =
        (col("pipeline_arn"), col("execution_id"), col("started"))
    else {
        return out;
    };
    for row in &rows.rows {
        let (Some(a), Some(i)) = (row[arn].as_str(), row[id].as_str()) else {
            continue;
        };
        // Executions that began before the window are not in the API's listing.
        let began = row[started]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc));
        if began.is_some_and(|t| t < since) {
            continue;
        }
        out.entry(a.to_owned()).or_default().insert(i.to_owned());
    }
    out
}

/// The account and region of a pipeline ARN.
fn arn_scope(arn: &str) -> Option<(String, String)> {
    let mut parts = arn.split(':');
    let (_, _, _, region, account) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    Some((account.to_owned(), region.to_owned()))
}

fn compare(
    api: &[ApiPipeline],
    stored: &BTreeMap<String, BTreeSet<String>>,
    scopes: &BTreeSet<(String, String)>,
    names: &[String],
) -> Vec<PipelineCoverage> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for p in api {
        seen.insert(p.arn.clone());
        let have = stored.get(&p.arn);
        let listed: HashSet<&str> = p.executions.iter().map(|e| e.id.as_str()).collect();
        let missing: Vec<String> = p
            .executions
            .iter()
            .filter(|e| !have.is_some_and(|h| h.contains(&e.id)))
            .map(|e| e.id.clone())
            .collect();
        let not_listed: Vec<String> = have
            .map(|h| {
                h.iter()
                    .filter(|i| !listed.contains(i.as_str()))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let n = p.executions.len();
        let stored_n = n - missing.len();
        out.push(PipelineCoverage {
            pipeline: p.name.clone(),
            account: p.account.clone(),
            region: p.region.clone(),
            arn: p.arn.clone(),
            api_executions: n,
            stored: stored_n,
            coverage_pct: if n == 0 {
                100.0
            } else {
                (stored_n as f64 * 10000.0 / n as f64).round() / 100.0
            },
            missing,
            not_listed,
        });
    }
    // Pipelines in the store, in an account and region read, that the API no longer
    // lists (deleted pipelines).
    for (arn, ids) in stored {
        let Some(scope) = arn_scope(arn) else {
            continue;
        };
        let name = arn.rsplit(':').next().unwrap_or_default().to_owned();
        if seen.contains(arn)
            || !scopes.contains(&scope)
            || !(names.is_empty() || names.contains(&name))
        {
            continue;
        }
        out.push(PipelineCoverage {
            pipeline: name,
            arn: arn.clone(),
            account: scope.0,
            region: scope.1,
            api_executions: 0,
            stored: 0,
            coverage_pct: 100.0,
            missing: Vec::new(),
            not_listed: ids.iter().cloned().collect(),
        });
    }
    out
}

fn table(rows: &[PipelineCoverage], show: usize) -> ResultSet {
    let col = |name: &str, kind| ColumnInfo {
        name: name.into(),
        kind,
    };
    let list = |ids: &[String]| {
        let mut s = ids.iter().take(show).cloned().collect::<Vec<_>>().join(" ");
        if ids.len() > show {
            s.push_str(&format!(" … +{}", ids.len() - show));
        }
        Value::Text(s)
    };
    ResultSet {
        columns: vec![
            col("pipeline", Kind::Text),
            col("account", Kind::Text),
            col("region", Kind::Text),
            col("api_executions", Kind::Int),
            col("stored", Kind::Int),
            col("coverage_pct", Kind::Float),
            col("missing", Kind::Text),
            col("not_listed", Kind::Text),
        ],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Value::Text(r.pipeline.clone()),
                    Value::Text(r.account.clone()),
                    Value::Text(r.region.clone()),
                    Value::Int(r.api_executions as i64),
                    Value::Int(r.stored as i64),
                    Value::Float(r.coverage_pct),
                    list(&r.missing),
                    list(&r.not_listed),
                ]
            })
            .collect(),
    }
}

/// Runs `cplogs coverage`: exit 0; 3 when a pipeline is below `--min-coverage`; 1
/// when an account, region or pipeline could not be read.
pub fn run(args: CoverageArgs, cx: &Context) -> Result<Exit> {
    let format = cx.summary_format("coverage")?;
    let now = Utc::now();
    let since = parse_instant(&args.since, now).map_err(|e| UsageError(format!("--since: {e}")))?;
    // The store's side looks a little past now, so an event of this second counts.
    let params = ReportParams::new(since, now + Duration::minutes(1), now)
        .and_then(|p| p.with_pipelines(&args.pipelines))
        .map_err(|e| UsageError(e.to_string()))?;
    select::check(&args.run, cx)?;
    if args.fix && args.run.demo {
        return Err(
            UsageError("--fix writes into the store; --demo has none to fix".into()).into(),
        );
    }
    let inventory = statement("inventory");
    let (results, fixed, failures) = run_blocking(async {
        let mut failures = Vec::new();
        let sources = Sources::from_args(cx, &args.role_arns).await?;
        let (api, scopes) = api_side(&sources, since, &args.pipelines, &mut failures).await;
        let selected = select::select(&args.run, cx).await?;
        let sts = [inventory.clone()];
        select::guard(&selected, cx, &[(&sts[..], &params)]).await?;
        let query = inventory.query(&params);
        let rows = selected.engine.run(&query).await?.result;
        let mut results = compare(
            &api,
            &stored_executions(&rows, since),
            &scopes,
            &args.pipelines,
        );
        let mut fixed: Option<Summary> = None;
        if args.fix {
            let ended: HashSet<(String, String)> = api
                .iter()
                .flat_map(|p| {
                    p.executions
                        .iter()
                        .filter(|e| e.ended)
                        .map(move |e| (p.arn.clone(), e.id.clone()))
                })
                .filter(|(arn, id)| {
                    results
                        .iter()
                        .any(|r| &r.arn == arn && r.missing.contains(id))
                })
                .collect();
            if !ended.is_empty() {
                let (store, bucket) = match &cx.settings.local {
                    Some(dir) if selected.engine.name() == "local" => {
                        (Store::Local(dir.clone()), None)
                    }
                    _ => backfill::store_for(None, cx).await?,
                };
                let plan = Plan {
                    since,
                    pipelines: args.pipelines.clone(),
                    only: Some(ended),
                    dry_run: false,
                    concurrency: 4,
                };
                let summary = backfill::execute(
                    &sources,
                    &plan,
                    &store,
                    &cx.settings.database,
                    bucket.as_deref(),
                    &|_, _, _, _| {},
                )
                .await?;
                failures.extend(summary.failures.iter().cloned());
                // A new engine: the local one lists the files when it opens.
                let again = select::select(&args.run, cx).await?;
                let rows = again.engine.run(&query).await?.result;
                results = compare(
                    &api,
                    &stored_executions(&rows, since),
                    &scopes,
                    &args.pipelines,
                );
                fixed = Some(summary);
            }
        }
        anyhow::Ok((results, fixed, failures))
    })?;
    if let Some(summary) = &fixed
        && format == SummaryFormat::Table
    {
        print_summary(summary, format)?;
    }
    let below: Vec<&PipelineCoverage> = args
        .min_coverage
        .map(|min| results.iter().filter(|r| r.coverage_pct < min).collect())
        .unwrap_or_default();
    match format {
        SummaryFormat::Json => {
            let doc = json!({
                "since": since.to_rfc3339(),
                "pipelines": results,
                "below_min_coverage": below.iter().map(|r| &r.pipeline).collect::<Vec<_>>(),
                "fixed": fixed,
                "failures": failures,
            });
            let mut out = io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        SummaryFormat::Table => {
            let rs = table(&results, args.show);
            let mut out = io::BufWriter::new(io::stdout().lock());
            output::write(
                &mut out,
                Format::Table,
                &[Section {
                    name: "coverage",
                    result: &rs,
                }],
                &json!({}),
                cx.width,
            )?;
            out.flush()?;
            let listed: usize = results.iter().map(|r| r.api_executions).sum();
            let stored: usize = results.iter().map(|r| r.stored).sum();
            note!(
                "coverage: {stored} of {listed} listed executions stored in {} pipelines{}",
                results.len(),
                if below.is_empty() {
                    String::new()
                } else {
                    format!("; {} below --min-coverage", below.len())
                }
            );
            for f in &failures {
                note!("failed: {f}");
            }
        }
    }
    Ok(if !failures.is_empty() {
        Exit::Failure
    } else if !below.is_empty() {
        Exit::Breach
    } else {
        Exit::Success
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_checked() {
        assert_eq!(percent("99.5"), Ok(99.5));
        assert_eq!(percent("100%"), Ok(100.0));
        assert!(percent("101").is_err());
        assert!(percent("-1").is_err());
        assert!(percent("NaN").is_err());
    }

    #[test]
    fn missing_and_unlisted_executions_per_pipeline() {
        let api = vec![ApiPipeline {
            arn: "arn:aws:codepipeline:r:1:p".into(),
            account: "1".into(),
            region: "r".into(),
            name: "p".into(),
            executions: ["a", "b", "c", "d"]
                .iter()
                .map(|i| Listed {
                    id: (*i).into(),
                    ended: true,
                })
                .collect(),
        }];
        let mut stored = BTreeMap::new();
        stored.insert(
            "arn:aws:codepipeline:r:1:p".to_owned(),
            ["a", "c", "z"].iter().map(|s| s.to_string()).collect(),
        );
        stored.insert(
            "arn:aws:codepipeline:r:1:gone".to_owned(),
            ["y"].iter().map(|s| s.to_string()).collect(),
        );
        stored.insert(
            "arn:aws:codepipeline:other:1:q".to_owned(),
            ["x"].iter().map(|s| s.to_string()).collect(),
        );
        let scopes = [("1".to_owned(), "r".to_owned())].into_iter().collect();
        let rows = compare(&api, &stored, &scopes, &[]);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].api_executions, rows[0].stored), (4, 2));
        assert_eq!(rows[0].coverage_pct, 50.0);
        assert_eq!(rows[0].missing, ["b", "d"]);
        assert_eq!(rows[0].not_listed, ["z"]);
        assert_eq!(rows[1].pipeline, "gone");
        assert_eq!(rows[1].not_listed, ["y"]);
    }
}
