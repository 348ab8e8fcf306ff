//! HTML output: one self-contained page that opens offline. CSS and SVG charts
//! ([`super::svg`]) are inline, there is no script, and a Content-Security-Policy
//! meta tag forbids every network load, so a browser would refuse (and log) any
//! request the page tried. Every text from the data is escaped, and only `http`/`https`
//! URLs become links. Each chart sits next to a plain table of the same numbers (for
//! screen readers and copying), marked `data-section="NAME"` with the statement's
//! column names as headers and cells as the other text formats print them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Write};

use chrono::{DateTime, Duration, NaiveDate};
use serde_json::Value as Json;

use super::svg::{self, Bar, Day};
use super::{Section, text};
use crate::rows::{Kind, ResultSet, Value};

/// The page's Content-Security-Policy: nothing may load from anywhere; only the
/// page's own inline styles apply and images may only be data: URLs.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#f6f7f9}\
header{background:#1f2d3d;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}\
header p{margin:4px 0 0;color:#c8d3df}nav a{color:#9cc3ff;margin-right:12px}\
main{padding:8px 24px 40px}h2{margin:24px 0 8px;font-size:17px}h3{margin:0 0 4px;font-size:14px}\
.kpis{display:flex;flex-wrap:wrap;gap:10px}.kpi{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:8px 14px;min-width:110px}\
.kpi b{display:block;font-size:20px}.kpi span{color:#666;font-size:12px}\
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:10px}\
.card{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:8px 10px}.card p{margin:0 0 4px;font-size:12px;color:#555}\
svg{max-width:100%;height:auto;display:block}.ax{font-size:9px;fill:#666}.lb{font-size:11px;fill:#333}\
.gr{stroke:#e3e6ea;fill:none}.ex{fill:#9fb8d6}.fa{fill:#d64541}.rt{stroke:#e67e22;stroke-width:1.5;fill:none}.rl{fill:#e67e22}\
.p5{stroke:#2e6fba;stroke-width:1.5;fill:none}.p9{stroke:#8e44ad;stroke-width:1.5;fill:none}.p5t{fill:#2e6fba}.p9t{fill:#8e44ad}\
.ok{fill:#3c9d5d}.bad{fill:#d64541}.run{fill:#e6a23c}.oth{fill:#9aa3ad}\
table{border-collapse:collapse;background:#fff;margin:4px 0 12px;font-size:12px}caption{text-align:left;color:#555;padding:2px 0}\
th,td{border:1px solid #dde2e8;padding:3px 6px;text-align:left;vertical-align:top}th{background:#eef1f5}td.n{text-align:right}\
details{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:6px 10px;margin:6px 0}summary{cursor:pointer;font-weight:600}\
.note{color:#666;font-size:12px}";

/// `text` safe in HTML text and in a quoted attribute: `& < > " '` become entities
/// and control characters other than tab and line breaks (which HTML does not allow)
/// become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Whether `url` may become a link: http or https only (never `javascript:`,
/// `data:` or a relative path), without characters that browsers strip from URLs.
fn linkable(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.chars().any(|c| c.is_control() || c.is_whitespace())
}

fn head(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>",
        escape(CSP),
        escape(title)
    );
}

/// One value as a table cell: numbers right-aligned, http(s) URLs as links, NULL empty.
fn cell(out: &mut String, kind: Kind, v: &Value) {
    let t = text(v);
    let class = if matches!(kind, Kind::Int | Kind::Float) {
        " class=\"n\""
    } else {
        ""
    };
    if linkable(&t) {
        let _ = write!(
            out,
            "<td><a href=\"{0}\" rel=\"noopener noreferrer\">{0}</a></td>",
            escape(&t)
        );
    } else {
        let _ = write!(out, "<td{class}>{}</td>", escape(&t));
    }
}

/// A result as a plain table marked with its section (and `extra` attributes, already
/// escaped).
fn table(out: &mut String, section: &str, extra: &str, caption: &str, r: &ResultSet) {
    let _ = write!(
        out,
        "<table data-section=\"{}\"{extra}><caption>{}</caption><thead><tr>",
        escape(section),
        escape(caption)
    );
    for c in &r.columns {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(&c.name));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &r.rows {
        out.push_str("<tr>");
        for (c, v) in r.columns.iter().zip(row) {
            cell(out, c.kind, v);
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    if r.rows.is_empty() {
        out.push_str("<p class=\"note\">No rows.</p>");
    }
}

fn num(r: &ResultSet, row: usize, col: &str) -> Option<f64> {
    r.get(row, col)
        .and_then(Value::as_f64)
        .filter(|v| v.is_finite())
}

fn txt<'a>(r: &'a ResultSet, row: usize, col: &str) -> Option<&'a str> {
    r.get(row, col).and_then(Value::as_str)
}

fn millis(t: Option<&str>) -> Option<i64> {
    DateTime::parse_from_rfc3339(t?)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The bars of a `timeline` result.
fn timeline_bars(r: &ResultSet) -> Vec<Bar> {
    (0..r.rows.len())
        .map(|i| {
            let attempt = num(r, i, "attempt").unwrap_or(1.0);
            let mut label = format!(
                "{} / {}",
                txt(r, i, "stage").unwrap_or("?"),
                txt(r, i, "action").unwrap_or("?")
            );
            if attempt > 1.0 {
                let _ = write!(label, " #{attempt}");
            }
            Bar {
                label,
                start: millis(txt(r, i, "start")),
                end: millis(txt(r, i, "end")),
                state: txt(r, i, "state").unwrap_or("").to_owned(),
            }
        })
        .collect()
}

/// The days of a window: every day from `since` to the day before `until` ends, or,
/// when that is more than a year, only the days the series hold.
fn days_of(
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
    data: &BTreeSet<String>,
) -> Vec<String> {
    if let (Some(a), Some(b)) = (since, until)
        && a <= b
        && (b - a).num_days() <= 400
    {
        return a
            .iter_days()
            .take_while(|d| *d <= b)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect();
    }
    data.iter().cloned().collect()
}

/// Each pipeline's daily series from a `trends` result, aligned with `days`.
fn series(trends: &ResultSet, days: &[String]) -> BTreeMap<String, Vec<Day>> {
    let index: BTreeMap<&str, usize> = days
        .iter()
        .enumerate()
        .map(|(i, d)| (d.as_str(), i))
        .collect();
    let mut out: BTreeMap<String, Vec<Day>> = BTreeMap::new();
    for i in 0..trends.rows.len() {
        let (Some(p), Some(day)) = (txt(trends, i, "pipeline"), txt(trends, i, "day")) else {
            continue;
        };
        let Some(&at) = index.get(day) else {
            continue;
        };
        let s = out
            .entry(p.to_owned())
            .or_insert_with(|| vec![Day::default(); days.len()]);
        s[at] = Day {
            executions: num(trends, i, "executions").unwrap_or(0.0),
            failed: num(trends, i, "failed").unwrap_or(0.0),
            rate: num(trends, i, "failure_rate"),
            p50: num(trends, i, "p50_s"),
            p90: num(trends, i, "p90_s"),
        };
    }
    out
}

/// Writes one report as a page: for each section a chart where one fits (a Gantt
/// chart for a timeline, failure rates for failures, daily charts for trends) and
/// its table. `metadata` gives the title (`report`) and the window.
pub fn report(out: &mut dyn Write, sections: &[Section<'_>], metadata: &Json) -> io::Result<()> {
    let name = metadata["report"].as_str().unwrap_or("query");
    let mut page = String::new();
    head(&mut page, &format!("cplogs {name}"));
    let _ = write!(page, "<header><h1>cplogs: {}</h1>", escape(name));
    if let (Some(a), Some(b)) = (
        metadata["window"]["since"].as_str(),
        metadata["window"]["until"].as_str(),
    ) {
        let _ = write!(page, "<p>{} to {}</p>", escape(a), escape(b));
    }
    page.push_str("</header><main>");
    for s in sections {
        let _ = write!(page, "<h2>{}</h2>", escape(s.name));
        let r = s.result;
        if s.name == "timeline" && !r.rows.is_empty() {
            page.push_str(&svg::gantt(&timeline_bars(r), "Action timeline"));
        } else if s.name == "failures" {
            page.push_str(&rate_bars(r, usize::MAX));
        } else if s.name == "trends" {
            let data: BTreeSet<String> = (0..r.rows.len())
                .filter_map(|i| txt(r, i, "day").map(str::to_owned))
                .collect();
            let parse = |v: Option<&Json>| {
                v.and_then(Json::as_str)
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            };
            let since = parse(metadata["window"].get("since")).map(|t| t.date_naive());
            let until = parse(metadata["window"].get("until"))
                .map(|t| (t - Duration::milliseconds(1)).date_naive());
            let days = days_of(since, until, &data);
            page.push_str("<div class=\"cards\">");
            for (p, s) in series(r, &days) {
                let _ = write!(page, "<div class=\"card\"><h3>{}</h3>", escape(&p));
                page.push_str(&svg::executions_chart(
                    &days,
                    &s,
                    &format!("{p}: daily executions and failure rate"),
                ));
                page.push_str(&svg::durations_chart(
                    &days,
                    &s,
                    &format!("{p}: daily p50 and p90 duration"),
                ));
                page.push_str("</div>");
            }
            page.push_str("</div>");
        }
        table(&mut page, s.name, "", s.name, r);
    }
    page.push_str("</main></body></html>\n");
    out.write_all(page.as_bytes())
}

/// Failure rate per pipeline as horizontal bars, worst first, at most `limit`.
fn rate_bars(failures: &ResultSet, limit: usize) -> String {
    let mut items: Vec<(String, f64, String)> = (0..failures.rows.len())
        .filter_map(|i| {
            let p = txt(failures, i, "pipeline")?;
            let rate = num(failures, i, "failure_rate")?;
            let runs = num(failures, i, "executions").unwrap_or(0.0);
            let failed = num(failures, i, "failed").unwrap_or(0.0);
            Some((
                p.to_owned(),
                rate,
                format!("{:.1}% ({failed}/{runs})", rate * 100.0),
            ))
        })
        .collect();
    items.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    items.truncate(limit);
    let max = items.iter().map(|i| i.1).fold(0.0_f64, f64::max);
    svg::hbars(&items, max, "Failure rate per pipeline")
}

/// What the dashboard page shows: the window's results by statement, the stuck
/// executions and one timeline per pipeline.
#[derive(Debug, Clone, Copy)]
pub struct DashboardView<'a> {
    /// Window start and end (ISO 8601), and the time it was computed for.
    pub since: &'a str,
    /// Window end (exclusive).
    pub until: &'a str,
    /// "Now".
    pub now: &'a str,
    /// The start of the stuck executions' window.
    pub stuck_since: &'a str,
    /// The engine's name.
    pub engine: &'a str,
    /// `trends`, `failures`, `failures_actions`, `durations`, `flaky`, `dora`, `stuck`.
    pub sections: &'a [Section<'a>],
    /// One `timeline` result per pipeline, named by the pipeline.
    pub timelines: &'a [Section<'a>],
    /// How many pipelines the data holds.
    pub pipelines_seen: usize,
    /// How many pipelines got no timeline because of the cap on timelines.
    pub timelines_left_out: usize,
}

impl DashboardView<'_> {
    fn result(&self, name: &str) -> ResultSet {
        self.sections
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.result.clone())
            .unwrap_or_default()
    }
}

fn kpi(out: &mut String, value: &str, label: &str) {
    let _ = write!(
        out,
        "<div class=\"kpi\"><b>{}</b><span>{}</span></div>",
        escape(value),
        escape(label)
    );
}

fn sum(r: &ResultSet, col: &str) -> f64 {
    (0..r.rows.len()).filter_map(|i| num(r, i, col)).sum()
}

/// A row's value of `col` for the pipeline `p`.
fn lookup<'a>(r: &'a ResultSet, p: &str, col: &str) -> Option<&'a Value> {
    (0..r.rows.len())
        .find(|&i| txt(r, i, "pipeline") == Some(p))
        .and_then(|i| r.get(i, col))
}

/// Writes the dashboard page.
pub fn dashboard(out: &mut dyn Write, v: &DashboardView<'_>) -> io::Result<()> {
    let trends = v.result("trends");
    let failures = v.result("failures");
    let dora = v.result("dora");
    let durations = v.result("durations");
    let stuck = v.result("stuck");
    let flaky = v.result("flaky");
    let actions = v.result("failures_actions");

    // Every pipeline any section names, worst failure rate first, then by name; its
    // index is its anchor (names from the data are never ids).
    let mut order: Vec<String> = (0..failures.rows.len())
        .filter_map(|i| txt(&failures, i, "pipeline").map(str::to_owned))
        .collect();
    let mut rest = BTreeSet::new();
    for r in [&trends, &dora, &durations, &stuck, &flaky, &actions] {
        for i in 0..r.rows.len() {
            if let Some(p) = txt(r, i, "pipeline") {
                rest.insert(p.to_owned());
            }
        }
    }
    for t in v.timelines {
        rest.insert(t.name.to_owned());
    }
    let listed: BTreeSet<String> = order.iter().cloned().collect();
    order.extend(rest.into_iter().filter(|p| !listed.contains(p)));
    let anchor: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, p)| (p.as_str(), i))
        .collect();

    let mut page = String::new();
    head(&mut page, "cplogs dashboard");
    let _ = write!(
        page,
        "<header><h1>CodePipeline dashboard</h1><p>{} to {} · {} pipeline(s) · {} engine · computed for {}</p>\
         <nav><a href=\"#overview\">Overview</a><a href=\"#pipelines\">Pipelines</a><a href=\"#failing\">Failing actions</a>\
         <a href=\"#flaky\">Flaky</a><a href=\"#stuck\">Stuck</a><a href=\"#timelines\">Timelines</a><a href=\"#trend\">Trend</a><a href=\"#numbers\">Tables</a></nav></header><main>",
        escape(v.since),
        escape(v.until),
        order.len(),
        escape(v.engine),
        escape(v.now)
    );

    // Overview.
    let runs = sum(&failures, "executions");
    let failed = sum(&failures, "failed");
    page.push_str("<section id=\"overview\"><h2>Overview</h2><div class=\"kpis\">");
    kpi(&mut page, &format!("{runs}"), "executions ended");
    kpi(&mut page, &format!("{failed}"), "failed");
    let rate = if runs > 0.0 {
        format!("{:.1}%", failed / runs * 100.0)
    } else {
        "–".into()
    };
    kpi(&mut page, &rate, "failure rate");
    kpi(
        &mut page,
        &format!("{}", sum(&dora, "deployments")),
        "deployments",
    );
    kpi(
        &mut page,
        &format!("{}", actions.rows.len()),
        "failing actions (top)",
    );
    kpi(&mut page, &format!("{}", flaky.rows.len()), "flaky actions");
    kpi(
        &mut page,
        &format!("{}", stuck.rows.len()),
        "stuck executions",
    );
    page.push_str("</div><h3 style=\"margin-top:12px\">Failure rate per pipeline (worst 15)</h3>");
    page.push_str(&rate_bars(&failures, 15));
    page.push_str("</section>");

    // Per pipeline.
    let data: BTreeSet<String> = (0..trends.rows.len())
        .filter_map(|i| txt(&trends, i, "day").map(str::to_owned))
        .collect();
    let day = |t: &str| DateTime::parse_from_rfc3339(t).ok();
    let days = days_of(
        day(v.since).map(|t| t.date_naive()),
        day(v.until).map(|t| (t - Duration::milliseconds(1)).date_naive()),
        &data,
    );
    let per = series(&trends, &days);
    let timelines: BTreeSet<&str> = v.timelines.iter().map(|t| t.name).collect();
    page.push_str(
        "<section id=\"pipelines\"><h2>Per pipeline</h2><p class=\"note\">Bars: executions per day \
         (red: failed), orange line: failure rate; lines below: p50 and p90 duration of succeeded \
         executions. Days are UTC, by the end of the execution.</p><div class=\"cards\">",
    );
    let empty = vec![Day::default(); days.len()];
    for (i, p) in order.iter().enumerate() {
        let _ = write!(
            page,
            "<article class=\"card\" id=\"p-{i}\"><h3>{}</h3><p>",
            escape(p)
        );
        let f = |r: &ResultSet, c: &str| lookup(r, p, c).and_then(Value::as_f64);
        let mut facts = Vec::new();
        if let (Some(n), Some(x)) = (f(&failures, "executions"), f(&failures, "failed")) {
            facts.push(format!("{n} runs, {x} failed"));
        }
        if let Some(x) = f(&durations, "p90_s") {
            facts.push(format!("p90 {}", svg::human_seconds(x)));
        }
        if let Some(x) = f(&dora, "deployments_per_day") {
            facts.push(format!("{x} deploys/day"));
        }
        if let Some(x) = f(&dora, "change_failure_rate") {
            facts.push(format!("CFR {:.1}%", x * 100.0));
        }
        if let Some(x) = f(&dora, "mttr_s") {
            facts.push(format!("MTTR {}", svg::human_seconds(x)));
        }
        if let Some(x) = f(&dora, "lead_time_p50_s") {
            facts.push(format!("lead time {}", svg::human_seconds(x)));
        }
        page.push_str(&escape(&facts.join(" · ")));
        if timelines.contains(p.as_str()) {
            let _ = write!(page, " · <a href=\"#t-{i}\">latest execution</a>");
        }
        page.push_str("</p>");
        let s = per.get(p).unwrap_or(&empty);
        page.push_str(&svg::executions_chart(
            &days,
            s,
            &format!("{p}: daily executions and failure rate"),
        ));
        page.push_str(&svg::durations_chart(
            &days,
            s,
            &format!("{p}: daily p50 and p90 duration"),
        ));
        page.push_str("</article>");
    }
    page.push_str("</div></section>");

    // Tables people act on.
    page.push_str("<section id=\"failing\"><h2>Top failing actions</h2>");
    table(
        &mut page,
        "failures_actions",
        "",
        "The actions with the most failed attempts in the window",
        &actions,
    );
    page.push_str("</section><section id=\"flaky\"><h2>Flaky actions</h2>");
    table(
        &mut page,
        "flaky",
        "",
        "Actions that failed and then succeeded in the same execution",
        &flaky,
    );
    let _ = write!(
        page,
        "</section><section id=\"stuck\"><h2>Stuck executions</h2><p class=\"note\">Started more than 24h before {} with no terminal event since (looking back to {}).</p>",
        escape(v.now),
        escape(v.stuck_since)
    );
    table(
        &mut page,
        "stuck",
        "",
        "Executions with no terminal event",
        &stuck,
    );
    page.push_str("</section>");

    // Timelines: one <details> per pipeline, the first open.
    page.push_str("<section id=\"timelines\"><h2>Latest execution of each pipeline</h2>");
    if v.timelines_left_out > 0 {
        let _ = write!(
            page,
            "<p class=\"note\">Timelines are drawn for {} of {} pipelines (--pipeline chooses \
             which).</p>",
            v.pipelines_seen.saturating_sub(v.timelines_left_out),
            v.pipelines_seen
        );
    }
    if v.timelines.is_empty() {
        page.push_str("<p class=\"note\">No execution started in the window.</p>");
    }
    for (k, t) in v.timelines.iter().enumerate() {
        let i = anchor.get(t.name).copied().unwrap_or(order.len() + k);
        let execution = txt(t.result, 0, "execution_id").unwrap_or("");
        let _ = write!(
            page,
            "<details id=\"t-{i}\"{}><summary>{} · execution {}</summary>",
            if k == 0 { " open" } else { "" },
            escape(t.name),
            escape(execution)
        );
        page.push_str(&svg::gantt(
            &timeline_bars(t.result),
            &format!("{}: action timeline of execution {execution}", t.name),
        ));
        let attr = format!(" data-pipeline=\"{}\"", escape(t.name));
        table(&mut page, "timeline", &attr, "Action attempts", t.result);
        page.push_str("</details>");
    }
    page.push_str("</section>");

    // Against the previous period of the same length (as `report --compare previous`).
    let compared: Vec<(&str, ResultSet)> = [
        (
            "failures_compared",
            "Failure rate against the previous period",
        ),
        ("durations_compared", "Duration against the previous period"),
    ]
    .into_iter()
    .map(|(name, caption)| (caption, v.result(name)))
    .filter(|(_, r)| !r.columns.is_empty())
    .collect();
    if !compared.is_empty() {
        let regressed = |r: &ResultSet| {
            (0..r.rows.len())
                .filter(|&i| r.get(i, "regressed") == Some(&Value::Bool(true)))
                .count()
        };
        let total: usize = compared.iter().map(|(_, r)| regressed(r)).sum();
        let _ = write!(
            page,
            "<section id=\"trend\"><h2>Against the previous period</h2><p>{total} row(s) \
             regressed: failure rate up more than 5 points, or p90 duration up more than \
             20% (the defaults of <code>--compare previous</code>).</p>"
        );
        for ((caption, r), name) in compared
            .iter()
            .zip(["failures_compared", "durations_compared"])
        {
            table(&mut page, name, "", caption, r);
        }
        page.push_str("</section>");
    }

    // The numbers behind the charts.
    page.push_str("<section id=\"numbers\"><h2>Tables</h2>");
    for (name, caption) in [
        ("failures", "Failure rate per pipeline"),
        ("dora", "DORA figures per pipeline"),
        (
            "durations",
            "Duration of succeeded executions per pipeline, seconds",
        ),
        ("trends", "Per pipeline and day"),
    ] {
        let r = v.result(name);
        let _ = write!(
            page,
            "<details{}><summary>{}</summary>",
            if name == "trends" { "" } else { " open" },
            escape(caption)
        );
        table(&mut page, name, "", caption, &r);
        page.push_str("</details>");
    }
    page.push_str("</section></main></body></html>\n");
    out.write_all(page.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::ColumnInfo;

    fn col(name: &str, kind: Kind) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            kind,
        }
    }

    #[test]
    fn text_is_escaped_and_only_web_urls_are_links() {
        assert_eq!(
            escape("<a href='x'>&\"\u{0}"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;\u{fffd}"
        );
        assert!(linkable("https://console.aws.amazon.com/x?a=1&b=2"));
        assert!(linkable("HTTP://example.com"));
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "//evil",
            "https://a b",
            "ftp://x",
            "",
        ] {
            assert!(!linkable(bad), "{bad}");
        }
        let r = ResultSet {
            columns: vec![
                col("pipeline", Kind::Text),
                col("url", Kind::Text),
                col("n", Kind::Int),
            ],
            rows: vec![
                vec![
                    Value::Text("<script>alert(1)</script>".into()),
                    Value::Text("javascript:alert(1)".into()),
                    Value::Null,
                ],
                vec![
                    Value::Text("p\"q".into()),
                    Value::Text("https://x.test/?a=<b>".into()),
                    Value::Int(3),
                ],
            ],
        };
        let mut out = Vec::new();
        report(
            &mut out,
            &[Section {
                name: "failures",
                result: &r,
            }],
            &serde_json::json!({"report": "fail<ures"}),
        )
        .unwrap();
        let html = String::from_utf8(out).unwrap();
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("href=\"javascript"), "{html}");
        assert!(
            html.contains("<a href=\"https://x.test/?a=&lt;b&gt;\""),
            "{html}"
        );
        assert!(html.contains("Content-Security-Policy"));
        assert!(html.contains("fail&lt;ures"));
    }

    #[test]
    fn a_dashboard_of_nothing_or_of_many_pipelines() {
        let nothing = DashboardView {
            since: "x",
            until: "y",
            now: "z",
            stuck_since: "w",
            engine: "local",
            sections: &[],
            timelines: &[],
            pipelines_seen: 0,
            timelines_left_out: 0,
        };
        let mut out = Vec::new();
        dashboard(&mut out, &nothing).unwrap();
        assert!(String::from_utf8(out).unwrap().ends_with("</html>\n"));
        let trends = ResultSet {
            columns: vec![
                col("pipeline", Kind::Text),
                col("day", Kind::Text),
                col("executions", Kind::Int),
                col("failed", Kind::Int),
                col("failure_rate", Kind::Float),
                col("p50_s", Kind::Int),
                col("p90_s", Kind::Int),
            ],
            rows: (0..500)
                .map(|i| {
                    vec![
                        Value::Text(format!("p{i}")),
                        Value::Text(if i % 7 == 0 {
                            "garbage".into()
                        } else {
                            "2026-11-02".into()
                        }),
                        Value::Int(i),
                        Value::Null,
                        Value::Float(f64::NAN),
                        Value::Null,
                        Value::Int(i64::MAX),
                    ]
                })
                .collect(),
        };
        let timeline = ResultSet {
            columns: vec![
                col("stage", Kind::Text),
                col("start", Kind::Text),
                col("end", Kind::Text),
            ],
            rows: vec![vec![
                Value::Null,
                Value::Text("not a time".into()),
                Value::Null,
            ]],
        };
        let sections = [Section {
            name: "trends",
            result: &trends,
        }];
        let timelines = [Section {
            name: "p1",
            result: &timeline,
        }];
        let v = DashboardView {
            since: "2026-11-01T00:00:00.000Z",
            until: "2026-11-03T00:00:00.000Z",
            sections: &sections,
            timelines: &timelines,
            pipelines_seen: 500,
            timelines_left_out: 450,
            ..nothing
        };
        let mut out = Vec::new();
        dashboard(&mut out, &v).unwrap();
        let html = String::from_utf8(out).unwrap();
        assert_eq!(html.matches("<article").count(), 500);
        // NaN only as the table prints the value, never in a chart's coordinates.
        assert_eq!(html.matches("NaN").count(), 500);
    }
}
