//! The one path from query outputs to the user: sections written in the chosen
//! format to stdout, and the statistics line (rows, bytes, cost, skipped files) to
//! stderr.

use std::io::{self, Write};
use std::time::Duration as StdDuration;

use anyhow::Result;
use serde_json::json;

use super::global::Context;
use crate::engine::{QueryEngine, QueryOutput};
use crate::output::{self, Format, Section};
use crate::reports::ReportParams;

/// What a run was: the engine, Athena's price, the cost guard's estimate.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// `local` or `athena`.
    pub engine: &'a str,
    /// Dollars per TB scanned (Athena).
    pub price_per_tb: f64,
    /// The bytes the cost guard estimated before the queries ran (Athena).
    pub estimate: Option<u64>,
}

impl Run<'static> {
    /// The run on `engine` with the settings' price and the guard's `estimate`.
    pub fn new(engine: &impl QueryEngine, cx: &Context, estimate: Option<u64>) -> Self {
        Run {
            engine: engine.name(),
            price_per_tb: cx.settings.price_per_tb,
            estimate,
        }
    }
}

/// Writes named results to stdout in `format` (tables fitted to `width`), with the
/// run's metadata in JSON.
pub fn sections(
    format: Format,
    width: Option<u16>,
    sections: &[Section<'_>],
    run: &Run<'_>,
    report: Option<&str>,
    p: Option<&ReportParams>,
    outputs: &[&QueryOutput],
) -> Result<()> {
    let meta = metadata(run, report, p, outputs);
    let mut out = io::BufWriter::new(io::stdout().lock());
    output::write(&mut out, format, sections, &meta, width)?;
    out.flush()?;
    Ok(())
}

/// The data files the queries stepped over, each once, with why.
fn skipped_files(outputs: &[&QueryOutput]) -> Vec<(String, String)> {
    let mut seen = std::collections::BTreeMap::new();
    for o in outputs {
        for (file, reason) in &o.stats.skipped_files {
            seen.entry(file.clone()).or_insert_with(|| reason.clone());
        }
    }
    seen.into_iter().collect()
}

/// How many of the statements the local engine answered from its cache.
fn answers_from_cache(outputs: &[&QueryOutput]) -> usize {
    outputs.iter().filter(|o| o.stats.from_cache).count()
}

/// The statistics line on stderr, after a warning per skipped file.
pub fn stats_line(run: &Run<'_>, outputs: &[&QueryOutput]) {
    let engine = run.engine;
    let skipped = skipped_files(outputs);
    for (file, reason) in &skipped {
        note!("warning: skipped {file}: {reason}");
    }
    let rows: usize = outputs.iter().map(|o| o.result.rows.len()).sum();
    let bytes: u64 = outputs.iter().map(|o| o.stats.bytes_scanned).sum();
    let elapsed: StdDuration = outputs.iter().map(|o| o.stats.elapsed).sum();
    let files: usize = outputs.iter().map(|o| o.stats.files.len()).sum();
    if engine == "athena" {
        note!(
            "{rows} row(s) in {:.2}s, {} scanned, about ${:.4} at ${} per TB (athena engine)",
            elapsed.as_secs_f64(),
            human_bytes(bytes),
            cost_usd(bytes, run.price_per_tb),
            run.price_per_tb,
        );
    } else {
        let skipped = match skipped.len() {
            0 => String::new(),
            n => format!(", {n} unreadable file(s) skipped"),
        };
        let cached = answers_from_cache(outputs);
        let source = if cached > 0 && cached == outputs.len() {
            format!(
                "answered from the cache: {files} file(s), {}, unchanged",
                human_bytes(bytes)
            )
        } else if cached > 0 {
            format!(
                "{} read from {files} file(s), {cached} of {} answer(s) from the cache",
                human_bytes(bytes),
                outputs.len()
            )
        } else {
            format!("{} read from {files} file(s)", human_bytes(bytes))
        };
        note!(
            "{rows} row(s) in {:.2}s, {source}{skipped} ({engine} engine)",
            elapsed.as_secs_f64(),
        );
    }
}

/// Athena's price for scanning `bytes` at `per_tb` dollars per TB, at least 10 MB per
/// query.
pub fn cost_usd(bytes: u64, per_tb: f64) -> f64 {
    if bytes == 0 {
        return 0.0;
    }
    bytes.max(10_000_000) as f64 / 1e12 * per_tb
}

/// `1.2 MB`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The JSON document's metadata: engine, statistics, report and window.
pub fn metadata(
    run: &Run<'_>,
    report: Option<&str>,
    p: Option<&ReportParams>,
    outputs: &[&QueryOutput],
) -> serde_json::Value {
    let engine = run.engine;
    let mut m = json!({
        "engine": engine,
        "stats": {
            "rows": outputs.iter().map(|o| o.result.rows.len()).sum::<usize>(),
            "bytes_scanned": outputs.iter().map(|o| o.stats.bytes_scanned).sum::<u64>(),
            "elapsed_ms": outputs.iter().map(|o| o.stats.elapsed.as_millis() as u64).sum::<u64>(),
        },
    });
    if engine == "local" {
        let names: Vec<String> = skipped_files(outputs).into_iter().map(|(f, _)| f).collect();
        m["stats"]["skipped_files"] = json!(names);
        m["stats"]["answers_from_cache"] = json!(answers_from_cache(outputs));
    }
    if engine == "athena" {
        let bytes = outputs.iter().map(|o| o.stats.bytes_scanned).sum::<u64>();
        m["stats"]["cost_usd"] = json!(cost_usd(bytes, run.price_per_tb));
        if let Some(e) = run.estimate {
            m["stats"]["estimated_bytes"] = json!(e);
            m["stats"]["estimated_cost_usd"] = json!(cost_usd(e, run.price_per_tb));
        }
        m["stats"]["query_ids"] = json!(
            outputs
                .iter()
                .filter_map(|o| o.stats.query_id.clone())
                .collect::<Vec<_>>()
        );
    }
    if let Some(r) = report {
        m["report"] = json!(r);
    }
    if let Some(p) = p {
        m["window"] = json!({
            "since": p.since_iso(),
            "until": p.until_iso(),
        });
    }
    m
}
