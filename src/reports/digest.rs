//! The digest: one short summary of a period to paste into a pull request, a chat or
//! an e-mail (executions and failure rate with its change, the slowest pipelines, the
//! top failing actions, new flaky actions, stuck executions), built from the canned
//! reports' rows of the period and of the one before, and rendered as Markdown that
//! GitHub shows well, or as HTML.
//!
//! One cohesive thing (over 400 lines with tests): the digest's numbers and their two renderings.

use std::fmt::Write as _;

use serde::Serialize;

use super::compare::{Change, change};
use crate::rows::{ResultSet, Value};

/// How many rows each list of the digest shows.
pub const TOP: usize = 5;

/// The statements a digest runs for the period (the first three also for the
/// previous one).
pub const STATEMENTS: [&str; 5] = [
    "failures",
    "durations",
    "flaky",
    "failures_actions",
    "stuck",
];

/// A pipeline among the slowest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slow {
    /// Pipeline.
    pub pipeline: String,
    /// p90 duration of succeeded executions, seconds.
    pub p90_s: f64,
    /// Change from the previous period, percent.
    pub p90_change_pct: Option<f64>,
}

/// An action among the most failing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failing {
    /// Pipeline, stage and action.
    pub action: String,
    /// Failed attempts.
    pub failures: f64,
    /// Error codes seen.
    pub error_codes: Option<String>,
    /// The last failure's link.
    pub url: Option<String>,
}

/// An action that turned flaky in this period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flaky {
    /// Pipeline, stage and action.
    pub action: String,
    /// Executions in which it failed and then succeeded.
    pub flaky_executions: f64,
    /// Time lost, seconds.
    pub time_lost_s: f64,
}

/// An execution with no terminal event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stuck {
    /// Pipeline.
    pub pipeline: String,
    /// Execution id.
    pub execution_id: String,
    /// Age, seconds.
    pub age_s: f64,
}

/// A period summed up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Digest {
    /// Window start (ISO 8601).
    pub since: String,
    /// Window end (ISO 8601).
    pub until: String,
    /// Executions that ended.
    pub executions: f64,
    /// Of them FAILED.
    pub failed: f64,
    /// failed / executions.
    pub failure_rate: Option<f64>,
    /// The previous period's failure rate.
    pub previous_failure_rate: Option<f64>,
    /// Change in percentage points.
    pub failure_rate_change_pts: Option<f64>,
    /// Slowest pipelines by p90.
    pub slowest: Vec<Slow>,
    /// Most failing actions.
    pub failing_actions: Vec<Failing>,
    /// Flaky actions that were not flaky in the previous period.
    pub new_flaky: Vec<Flaky>,
    /// Stuck executions.
    pub stuck: Vec<Stuck>,
}

fn num(r: &ResultSet, row: usize, col: &str) -> Option<f64> {
    r.get(row, col).and_then(Value::as_f64)
}

fn text(r: &ResultSet, row: usize, col: &str) -> Option<String> {
    r.get(row, col).and_then(Value::as_str).map(str::to_owned)
}

fn action(r: &ResultSet, row: usize) -> String {
    ["pipeline", "stage", "action"]
        .iter()
        .map(|c| text(r, row, c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" / ")
}

fn totals(failures: &ResultSet) -> (f64, f64) {
    (0..failures.rows.len()).fold((0.0, 0.0), |(e, f), i| {
        (
            e + num(failures, i, "executions").unwrap_or(0.0),
            f + num(failures, i, "failed").unwrap_or(0.0),
        )
    })
}

/// The rows a digest is made from, each `(period, previous period)` where both run.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// `failures`.
    pub failures: (&'a ResultSet, &'a ResultSet),
    /// `durations`.
    pub durations: (&'a ResultSet, &'a ResultSet),
    /// `flaky`.
    pub flaky: (&'a ResultSet, &'a ResultSet),
    /// `failures_actions` of the period.
    pub failing: &'a ResultSet,
    /// `stuck` now.
    pub stuck: &'a ResultSet,
}

impl Digest {
    /// Sums up a period from its reports' rows.
    pub fn new(since: String, until: String, i: Inputs<'_>) -> Digest {
        let (executions, failed) = totals(i.failures.0);
        let (prev_executions, prev_failed) = totals(i.failures.1);
        let rate = |e: f64, f: f64| (e > 0.0).then(|| (f / e * 10_000.0).round() / 10_000.0);
        let failure_rate = rate(executions, failed);
        let previous_failure_rate = rate(prev_executions, prev_failed);
        let (now, before) = i.durations;
        let mut slowest: Vec<Slow> = (0..now.rows.len())
            .filter_map(|row| {
                let pipeline = text(now, row, "pipeline")?;
                let p90_s = num(now, row, "p90_s")?;
                let prev = (0..before.rows.len())
                    .find(|&j| text(before, j, "pipeline").as_deref() == Some(&pipeline))
                    .and_then(|j| num(before, j, "p90_s"));
                Some(Slow {
                    pipeline,
                    p90_s,
                    p90_change_pct: change(Change::Duration, Some(p90_s), prev),
                })
            })
            .collect();
        slowest.sort_by(|a, b| {
            b.p90_s
                .total_cmp(&a.p90_s)
                .then(a.pipeline.cmp(&b.pipeline))
        });
        slowest.truncate(TOP);
        let failing_actions = (0..i.failing.rows.len().min(TOP))
            .map(|row| Failing {
                action: action(i.failing, row),
                failures: num(i.failing, row, "failures").unwrap_or(0.0),
                error_codes: text(i.failing, row, "error_codes"),
                url: text(i.failing, row, "last_failure_url"),
            })
            .collect();
        let (flaky, was_flaky) = i.flaky;
        let before: Vec<String> = (0..was_flaky.rows.len())
            .map(|r| action(was_flaky, r))
            .collect();
        let new_flaky = (0..flaky.rows.len())
            .filter(|&r| !before.contains(&action(flaky, r)))
            .take(TOP)
            .map(|r| Flaky {
                action: action(flaky, r),
                flaky_executions: num(flaky, r, "flaky_executions").unwrap_or(0.0),
                time_lost_s: num(flaky, r, "time_lost_s").unwrap_or(0.0),
            })
            .collect();
        let stuck = (0..i.stuck.rows.len().min(TOP))
            .map(|r| Stuck {
                pipeline: text(i.stuck, r, "pipeline").unwrap_or_default(),
                execution_id: text(i.stuck, r, "execution_id").unwrap_or_default(),
                age_s: num(i.stuck, r, "age_s").unwrap_or(0.0),
            })
            .collect();
        Digest {
            since,
            until,
            executions,
            failed,
            failure_rate,
            previous_failure_rate,
            failure_rate_change_pts: change(Change::Rate, failure_rate, previous_failure_rate),
            slowest,
            failing_actions,
            new_flaky,
            stuck,
        }
    }

    /// Markdown for GitHub: a heading, a summary line and short lists.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let day = |t: &str| t.get(..10).unwrap_or(t).to_owned();
        let _ = writeln!(
            s,
            "### CodePipeline digest, {} to {}\n",
            day(&self.since),
            day(&self.until)
        );
        let _ = writeln!(
            s,
            "**{} executions**, {} failed: failure rate **{}**{}\n",
            self.executions,
            self.failed,
            percent(self.failure_rate),
            match (self.failure_rate_change_pts, self.previous_failure_rate) {
                (Some(c), Some(p)) => format!(" ({} from {})", points(c), percent(Some(p))),
                _ => " (no previous period to compare)".to_owned(),
            }
        );
        list(&mut s, "Slowest pipelines (p90)", &self.slowest, |x| {
            format!(
                "{}: {}{}",
                md(&x.pipeline),
                duration(x.p90_s),
                x.p90_change_pct
                    .map(|c| format!(" ({}{c}%)", if c > 0.0 { "+" } else { "" }))
                    .unwrap_or_default()
            )
        });
        list(&mut s, "Top failing actions", &self.failing_actions, |x| {
            let what = match &x.url {
                Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
                    format!("[{}]({})", md(&x.action), u.replace(')', "%29"))
                }
                _ => md(&x.action),
            };
            format!(
                "{what}: {} failure(s){}",
                x.failures,
                x.error_codes
                    .as_ref()
                    .map(|c| format!(" (`{}`)", c.replace('`', "'")))
                    .unwrap_or_default()
            )
        });
        list(&mut s, "New flaky actions", &self.new_flaky, |x| {
            format!(
                "{}: {} execution(s), {} lost",
                md(&x.action),
                x.flaky_executions,
                duration(x.time_lost_s)
            )
        });
        list(&mut s, "Stuck executions", &self.stuck, |x| {
            format!(
                "{} `{}`: stuck for {}",
                md(&x.pipeline),
                x.execution_id.replace('`', "'"),
                duration(x.age_s)
            )
        });
        s
    }

    /// The same as a small self-contained HTML fragment (for e-mail).
    pub fn html(&self) -> String {
        let mut s =
            String::from("<!doctype html><meta charset=\"utf-8\"><title>cplogs digest</title>\n");
        let _ = writeln!(
            s,
            "<h3>CodePipeline digest, {} to {}</h3>",
            esc(&self.since),
            esc(&self.until)
        );
        let _ = writeln!(
            s,
            "<p><b>{} executions</b>, {} failed: failure rate <b>{}</b>{}</p>",
            self.executions,
            self.failed,
            percent(self.failure_rate),
            self.failure_rate_change_pts
                .map(|c| format!(" ({})", points(c)))
                .unwrap_or_default()
        );
        let section = |s: &mut String, title: &str, items: Vec<String>| {
            if items.is_empty() {
                return;
            }
            let _ = writeln!(s, "<h4>{}</h4><ul>", esc(title));
            for i in items {
                let _ = writeln!(s, "<li>{i}</li>");
            }
            s.push_str("</ul>\n");
        };
        section(
            &mut s,
            "Slowest pipelines (p90)",
            self.slowest
                .iter()
                .map(|x| format!("{}: {}", esc(&x.pipeline), duration(x.p90_s)))
                .collect(),
        );
        section(
            &mut s,
            "Top failing actions",
            self.failing_actions
                .iter()
                .map(|x| match &x.url {
                    Some(u) if u.starts_with("https://") || u.starts_with("http://") => format!(
                        "<a href=\"{}\">{}</a>: {} failure(s)",
                        esc(u),
                        esc(&x.action),
                        x.failures
                    ),
                    _ => format!("{}: {} failure(s)", esc(&x.action), x.failures),
                })
                .collect(),
        );
        section(
            &mut s,
            "New flaky actions",
            self.new_flaky
                .iter()
                .map(|x| format!("{}: {} execution(s)", esc(&x.action), x.flaky_executions))
                .collect(),
        );
        section(
            &mut s,
            "Stuck executions",
            self.stuck
                .iter()
                .map(|x| format!("{} {}", esc(&x.pipeline), esc(&x.execution_id)))
                .collect(),
        );
        s
    }
}

fn list<T>(s: &mut String, title: &str, items: &[T], line: impl Fn(&T) -> String) {
    let _ = writeln!(s, "**{title}**\n");
    if items.is_empty() {
        let _ = writeln!(s, "- none\n");
        return;
    }
    for i in items {
        let _ = writeln!(s, "- {}", line(i));
    }
    s.push('\n');
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "n/a".into(), |r| format!("{:.1}%", r * 100.0))
}

fn points(change: f64) -> String {
    let arrow = if change > 0.0 {
        "▲"
    } else if change < 0.0 {
        "▼"
    } else {
        "="
    };
    format!("{arrow} {:.1} pts", change.abs())
}

/// `1h 02m`, `4m 05s`, `12s`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m {sec:02}s"),
        (h, m, _) if h < 48 => format!("{h}h {m:02}m"),
        (h, _, _) => format!("{}d {}h", h / 24, h % 24),
    }
}

/// Text safe in Markdown list items: no link, emphasis or HTML syntax from data.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\`*_{}[]()<>#+!|~".contains(c) {
            out.push('\\');
        }
        if !c.is_control() {
            out.push(c);
        }
    }
    out
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::{ColumnInfo, Kind};

    fn rs(cols: &[&str], rows: Vec<Vec<Value>>) -> ResultSet {
        ResultSet {
            columns: cols
                .iter()
                .map(|c| ColumnInfo {
                    name: (*c).into(),
                    kind: Kind::Text,
                })
                .collect(),
            rows,
        }
    }

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn a_period_is_summed_up_with_its_changes() {
        let f = rs(
            &["pipeline", "executions", "failed", "failure_rate"],
            vec![
                vec![t("api"), Value::Int(90), Value::Int(9), Value::Float(0.1)],
                vec![t("web"), Value::Int(10), Value::Int(1), Value::Float(0.1)],
            ],
        );
        let f0 = rs(
            &["pipeline", "executions", "failed", "failure_rate"],
            vec![vec![
                t("api"),
                Value::Int(100),
                Value::Int(5),
                Value::Float(0.05),
            ]],
        );
        let d = rs(
            &["pipeline", "p90_s"],
            vec![
                vec![t("api"), Value::Int(600)],
                vec![t("web"), Value::Int(3700)],
            ],
        );
        let d0 = rs(
            &["pipeline", "p90_s"],
            vec![vec![t("web"), Value::Int(3700)]],
        );
        let flaky = rs(
            &[
                "pipeline",
                "stage",
                "action",
                "flaky_executions",
                "time_lost_s",
            ],
            vec![
                vec![
                    t("api"),
                    t("Test"),
                    t("Unit"),
                    Value::Int(2),
                    Value::Int(300),
                ],
                vec![t("web"), t("Test"), t("E2E"), Value::Int(1), Value::Int(60)],
            ],
        );
        let flaky0 = rs(
            &[
                "pipeline",
                "stage",
                "action",
                "flaky_executions",
                "time_lost_s",
            ],
            vec![vec![
                t("web"),
                t("Test"),
                t("E2E"),
                Value::Int(3),
                Value::Int(90),
            ]],
        );
        let failing = rs(
            &[
                "pipeline",
                "stage",
                "action",
                "failures",
                "error_codes",
                "last_failure_url",
            ],
            vec![vec![
                t("api"),
                t("Build"),
                t("Build"),
                Value::Int(4),
                t("JobFailed"),
                t("https://console.aws.amazon.com/x_(y)"),
            ]],
        );
        let stuck = rs(
            &["pipeline", "execution_id", "age_s"],
            vec![vec![t("api"), t("e-1"), Value::Int(90_000)]],
        );
        let g = Digest::new(
            "2026-11-24T00:00:00.000Z".into(),
            "2026-12-01T00:00:00.000Z".into(),
            Inputs {
                failures: (&f, &f0),
                durations: (&d, &d0),
                flaky: (&flaky, &flaky0),
                failing: &failing,
                stuck: &stuck,
            },
        );
        assert_eq!((g.executions, g.failed), (100.0, 10.0));
        assert_eq!(g.failure_rate, Some(0.1));
        assert_eq!(g.failure_rate_change_pts, Some(5.0));
        assert_eq!(g.slowest[0].pipeline, "web");
        assert_eq!(g.slowest[0].p90_change_pct, Some(0.0));
        assert_eq!(g.slowest[1].p90_change_pct, None);
        assert_eq!(g.new_flaky.len(), 1, "web/Test/E2E was flaky before");
        assert_eq!(g.new_flaky[0].action, "api / Test / Unit");
        let md = g.markdown();
        assert!(
            md.contains(
                "**100 executions**, 10 failed: failure rate **10.0%** (▲ 5.0 pts from 5.0%)"
            ),
            "{md}"
        );
        assert!(
            md.contains("- web: 1h 01m (+0%)") || md.contains("- web: 1h 01m"),
            "{md}"
        );
        assert!(md.contains("[api / Build / Build](https://console.aws.amazon.com/x_(y%29): 4 failure(s) (`JobFailed`)"), "{md}");
        assert!(md.contains("- api `e-1`: stuck for 25h 00m"), "{md}");
        let html = g.html();
        assert!(
            html.contains("<a href=\"https://console.aws.amazon.com/x_(y)\">"),
            "{html}"
        );
    }

    #[test]
    fn data_cannot_inject_markup() {
        assert_eq!(md("a_[b](javascript:x)"), "a\\_\\[b\\]\\(javascript:x\\)");
        assert_eq!(esc("<script>\"'&"), "&lt;script&gt;&quot;&#39;&amp;");
        assert_eq!(duration(59.0), "59s");
        assert_eq!(duration(3.0 * 86400.0), "3d 0h");
    }
}
