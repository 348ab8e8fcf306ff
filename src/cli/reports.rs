//! `cplogs reports`: every report, what it shows, its options and its SQL files (as
//! text, or with `--format json` for scripts).

use std::io::Write;

use anyhow::Result;
use serde_json::json;

use super::exit::Exit;
use super::global::{Context, SummaryFormat};
use crate::reports::REPORTS;

/// Lists the reports into `out`.
pub fn run(out: &mut dyn Write, cx: &Context) -> Result<Exit> {
    if cx.summary_format("reports")? == SummaryFormat::Json {
        let doc: Vec<_> = REPORTS
            .iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "summary": r.summary,
                    "options": r.options.iter().map(|o| o.flag()).collect::<Vec<_>>(),
                    "sections": r.sections.iter().map(|s| json!({
                        "file": format!("sql/reports/{}.sql", s.file.name),
                        "by": s.by.and_then(|b| clap::ValueEnum::to_possible_value(&b))
                            .map(|v| v.get_name().to_owned()),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(Exit::Success);
    }
    writeln!(
        out,
        "Reports (cplogs report NAME [--since 7d] [--until T] [--pipeline P]… [--format F]):"
    )?;
    for r in REPORTS {
        writeln!(out, "\n  {:<11} {}", r.name, r.summary)?;
        let usage = r.usage();
        if !usage.is_empty() {
            writeln!(out, "  {:<11} options: {usage}", "")?;
        }
        for s in r.statements() {
            writeln!(
                out,
                "  {:<11} sql/reports/{}.sql: {}",
                "", s.name, s.description
            )?;
        }
    }
    Ok(Exit::Success)
}
