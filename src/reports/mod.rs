//! The canned reports, each one definition: a row of [`REPORTS`] names the report,
//! says what it shows, which options it takes, how it picks its window and which
//! bundled SQL files are its sections. The CLI's choices and help, `cplogs reports`,
//! the statements that run and the tests' list of reports all derive from it; adding
//! a report is one SQL file under `sql/reports/` plus one row here.

pub mod compare;
pub mod dashboard;
pub mod digest;
pub mod params;
pub mod sql;

pub use params::{ParamError, ReportParams, anchor, valid_pipeline_name};
pub use sql::{Bind, Literal, Marker, SqlError, SqlFile, Statement};

use compare::{Change, Comparison, Metric};
use sql::sql_file;

/// `durations --by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Breakdown {
    /// Per pipeline.
    #[default]
    Pipeline,
    /// Per pipeline and stage.
    Stage,
    /// Per pipeline, stage and action.
    Action,
}

/// An option that only some reports take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportOption {
    /// `--by pipeline|stage|action`: which section runs.
    By,
    /// `--execution-id ID`.
    ExecutionId,
    /// `--older-than DURATION`.
    OlderThan,
    /// `--lookback DURATION`.
    Lookback,
    /// `--compare previous` (and `--max-regression`).
    Compare,
}

impl ReportOption {
    /// Every report option.
    pub const ALL: [ReportOption; 5] = [
        ReportOption::By,
        ReportOption::ExecutionId,
        ReportOption::OlderThan,
        ReportOption::Lookback,
        ReportOption::Compare,
    ];

    /// The flag on the command line.
    pub fn flag(self) -> &'static str {
        match self {
            ReportOption::By => "--by",
            ReportOption::ExecutionId => "--execution-id",
            ReportOption::OlderThan => "--older-than",
            ReportOption::Lookback => "--lookback",
            ReportOption::Compare => "--compare",
        }
    }

    /// The reports that take this option, for messages.
    pub fn reports(self) -> Vec<&'static str> {
        REPORTS
            .iter()
            .filter(|r| r.options.contains(&self))
            .map(|r| r.name)
            .collect()
    }
}

/// How a report's window is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowRule {
    /// `--since` to `--until`.
    Given,
    /// Executions still open now: the window ends now and reaches back at least
    /// `--lookback` (default this many days), whatever `--since` says.
    OpenUntilNow {
        /// Default `--lookback`, in days.
        lookback_days: i64,
    },
    /// One execution: when `--execution-id` is not in the window, search back
    /// `--lookback` (default this many days) from now.
    SearchBack {
        /// Default `--lookback`, in days.
        lookback_days: i64,
    },
}

impl WindowRule {
    /// The default `--lookback`, for rules that look back.
    pub fn lookback(self) -> Option<chrono::Duration> {
        match self {
            WindowRule::Given => None,
            WindowRule::OpenUntilNow { lookback_days }
            | WindowRule::SearchBack { lookback_days } => {
                Some(chrono::Duration::days(lookback_days))
            }
        }
    }
}

/// How a report's rows are shown beyond the plain formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Rows as they come.
    Rows,
    /// One execution's action attempts: a Gantt bar per row in table format, and
    /// "no data" (exit 4) when no execution is found.
    Timeline,
}

/// One statement of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    /// The bundled file.
    pub file: SqlFile,
    /// The `--by` that selects it; `None`: it always runs.
    pub by: Option<Breakdown>,
    /// How `--compare previous` matches and compares its rows, if it can.
    pub compare: Option<Comparison>,
}

const fn always(file: SqlFile) -> Section {
    Section {
        file,
        by: None,
        compare: None,
    }
}

const fn by(by: Breakdown, file: SqlFile) -> Section {
    Section {
        file,
        by: Some(by),
        compare: None,
    }
}

impl Section {
    /// The same section, comparable with its previous period.
    const fn compared(self, keys: &'static [&'static str], metrics: &'static [Metric]) -> Section {
        Section {
            compare: Some(Comparison { keys, metrics }),
            ..self
        }
    }
}

const fn metric(column: &'static str, change: Change) -> Metric {
    Metric { column, change }
}

/// The duration statistics `durations` compares; p90 is the one judged.
const DURATION_METRICS: &[Metric] = &[
    metric("p50_s", Change::DurationShown),
    metric("p90_s", Change::Duration),
    metric("p95_s", Change::DurationShown),
];

/// A canned report: what `cplogs report NAME` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// The report's name on the command line.
    pub name: &'static str,
    /// One line for `cplogs reports` and `--help`.
    pub summary: &'static str,
    /// The options only some reports take that this one takes.
    pub options: &'static [ReportOption],
    /// How its window is chosen.
    pub window: WindowRule,
    /// How its rows are shown.
    pub shape: Shape,
    /// Its statements, in the order they run and print.
    pub sections: &'static [Section],
}

/// Every report, in the order `cplogs reports` lists them.
pub const REPORTS: &[Report] = &[
    Report {
        name: "failures",
        summary: "failure rate per pipeline, and the top failing actions with error codes",
        options: &[ReportOption::Compare],
        window: WindowRule::Given,
        shape: Shape::Rows,
        sections: &[
            always(sql_file!("failures")).compared(
                &["pipeline"],
                &[
                    metric("executions", Change::Count),
                    metric("failure_rate", Change::Rate),
                ],
            ),
            always(sql_file!("failures_actions")).compared(
                &["pipeline", "stage", "action"],
                &[metric("failures", Change::Count)],
            ),
        ],
    },
    Report {
        name: "durations",
        summary: "p50/p90/p95/max/avg duration of succeeded executions",
        options: &[ReportOption::By, ReportOption::Compare],
        window: WindowRule::Given,
        shape: Shape::Rows,
        sections: &[
            by(Breakdown::Pipeline, sql_file!("durations"))
                .compared(&["pipeline"], DURATION_METRICS),
            by(Breakdown::Stage, sql_file!("durations_by_stage"))
                .compared(&["pipeline", "stage"], DURATION_METRICS),
            by(Breakdown::Action, sql_file!("durations_by_action"))
                .compared(&["pipeline", "stage", "action"], DURATION_METRICS),
        ],
    },
    Report {
        name: "timeline",
        summary: "action timeline of one execution (a Gantt bar per action in table format)",
        options: &[ReportOption::ExecutionId, ReportOption::Lookback],
        window: WindowRule::SearchBack { lookback_days: 90 },
        shape: Shape::Timeline,
        sections: &[always(sql_file!("timeline"))],
    },
    Report {
        name: "executions",
        summary: "latest executions with state, trigger, commit and duration",
        options: &[],
        window: WindowRule::Given,
        shape: Shape::Rows,
        sections: &[always(sql_file!("executions"))],
    },
    Report {
        name: "flaky",
        summary: "actions that failed and then succeeded in the same execution, with time lost",
        options: &[],
        window: WindowRule::Given,
        shape: Shape::Rows,
        sections: &[always(sql_file!("flaky"))],
    },
    Report {
        name: "stuck",
        summary: "executions STARTED long ago with no terminal event",
        options: &[ReportOption::OlderThan, ReportOption::Lookback],
        window: WindowRule::OpenUntilNow { lookback_days: 30 },
        shape: Shape::Rows,
        sections: &[always(sql_file!("stuck"))],
    },
    Report {
        name: "dora",
        summary: "deployments per day, change failure rate, time to restore, lead time",
        options: &[ReportOption::Compare],
        window: WindowRule::Given,
        shape: Shape::Rows,
        sections: &[always(sql_file!("dora")).compared(
            &["pipeline"],
            &[
                metric("deployments_per_day", Change::Count),
                metric("change_failure_rate", Change::Rate),
                metric("mttr_s", Change::DurationShown),
                metric("lead_time_p50_s", Change::DurationShown),
            ],
        )],
    },
    Report {
        name: "freshness",
        summary: "per pipeline, the last start and how long it has been silent against its usual gap; per table, the newest event",
        options: &[],
        window: WindowRule::Given,
        shape: Shape::Rows,
        sections: &[
            always(sql_file!("freshness")),
            always(sql_file!("freshness_tables")),
        ],
    },
    Report {
        name: "trends",
        summary: "per pipeline and day: executions, failures, failure rate, p50/p90 duration",
        options: &[],
        window: WindowRule::Given,
        shape: Shape::Rows,
        sections: &[always(sql_file!("trends"))],
    },
    Report {
        name: "inventory",
        summary: "every execution with events in the window: ARN, start, state, events per table",
        options: &[],
        window: WindowRule::Given,
        shape: Shape::Rows,
        sections: &[always(sql_file!("inventory"))],
    },
    Report {
        name: "approvals",
        summary: "manual approval wait times and rejections",
        options: &[],
        window: WindowRule::Given,
        shape: Shape::Rows,
        sections: &[always(sql_file!("approvals"))],
    },
];

impl Report {
    /// The report called `name`.
    pub fn named(name: &str) -> Option<&'static Report> {
        REPORTS.iter().find(|r| r.name == name)
    }

    /// The statements that run for `--by` (most reports ignore it).
    pub fn sections(&self, by: Breakdown) -> Vec<Statement> {
        self.sections
            .iter()
            .filter(|s| s.by.is_none_or(|b| b == by))
            .map(|s| load(&s.file))
            .collect()
    }

    /// Every statement the report can run, whatever the options.
    pub fn statements(&self) -> Vec<Statement> {
        self.sections.iter().map(|s| load(&s.file)).collect()
    }

    /// The `--by` values that choose between sections (empty: `--by` does not apply).
    pub fn breakdowns(&self) -> Vec<Breakdown> {
        self.sections.iter().filter_map(|s| s.by).collect()
    }

    /// Whether the report takes `option`.
    pub fn takes(&self, option: ReportOption) -> bool {
        self.options.contains(&option)
    }

    /// The report options as `cplogs reports` shows them.
    pub fn usage(&self) -> String {
        self.options
            .iter()
            .map(|o| match o {
                ReportOption::By => "--by pipeline|stage|action".to_owned(),
                ReportOption::ExecutionId => {
                    "--execution-id ID (default: the latest execution of --pipeline)".to_owned()
                }
                ReportOption::OlderThan => "--older-than DURATION (default 24h)".to_owned(),
                ReportOption::Lookback => format!(
                    "--lookback DURATION (default {}d)",
                    self.window.lookback().map_or(0, |d| d.num_days())
                ),
                ReportOption::Compare => {
                    "--compare previous [--max-regression failure-rate=5|p90=20%]".to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl clap::ValueEnum for Report {
    fn value_variants<'a>() -> &'a [Self] {
        REPORTS
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name).help(self.summary))
    }
}

/// Every bundled statement, once each, in the order of [`REPORTS`].
pub fn all_statements() -> Vec<Statement> {
    REPORTS.iter().flat_map(Report::statements).collect()
}

/// The bundled statement called `name` (a file under `sql/reports/`).
pub fn statement(name: &str) -> Statement {
    let file = REPORTS
        .iter()
        .flat_map(|r| r.sections)
        .find(|s| s.file.name == name)
        .unwrap_or_else(|| panic!("no bundled SQL file {name}.sql"));
    load(&file.file)
}

fn load(file: &SqlFile) -> Statement {
    // Tests load every bundled file, so a broken one never ships.
    Statement::parse(file).unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_sql_file_is_one_section_of_one_report_and_loads() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql/reports");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut declared: Vec<String> = REPORTS
            .iter()
            .flat_map(|r| r.sections)
            .map(|s| format!("{}.sql", s.file.name))
            .collect();
        declared.sort();
        assert_eq!(
            on_disk, declared,
            "each file in sql/reports/ must be a section of exactly one report in REPORTS"
        );
        for s in all_statements() {
            assert!(!s.description.is_empty());
        }
        let mut names: Vec<&str> = REPORTS.iter().map(|r| r.name).collect();
        names.dedup();
        assert_eq!(names.len(), REPORTS.len());
    }

    #[test]
    fn options_and_sections_agree() {
        for r in REPORTS {
            // `--by` applies exactly where sections differ by it.
            assert_eq!(
                r.takes(ReportOption::By),
                !r.breakdowns().is_empty(),
                "{}",
                r.name
            );
            assert_eq!(
                r.takes(ReportOption::Lookback),
                r.window.lookback().is_some(),
                "{}",
                r.name
            );
            // `--compare` applies exactly where every section can be compared, and
            // each compared column is one the statement returns.
            assert_eq!(
                r.takes(ReportOption::Compare),
                r.sections.iter().all(|s| s.compare.is_some()),
                "{}",
                r.name
            );
            for s in r.sections {
                let Some(c) = s.compare else { continue };
                let sql = load(&s.file).sql;
                for col in c.keys.iter().chain(c.metrics.iter().map(|m| &m.column)) {
                    assert!(sql.contains(col), "{}: {col}", s.file.name);
                }
            }
            for b in [Breakdown::Pipeline, Breakdown::Stage, Breakdown::Action] {
                assert!(!r.sections(b).is_empty(), "{} --by {b:?}", r.name);
            }
        }
        assert_eq!(ReportOption::By.reports(), ["durations"]);
    }

    #[test]
    fn literals_are_rendered_into_the_statement() {
        let p = ReportParams::new(
            at("2026-11-01T00:00:00Z"),
            at("2026-11-08T00:00:00Z"),
            at("2026-11-08T00:00:00Z"),
        )
        .unwrap();
        let q = statement("stuck").query(&p);
        assert!(!q.sql.contains("{{"), "{}", q.sql);
        assert!(q.sql.contains("dt BETWEEN '2026-11-01' AND '2026-11-07'"));
        assert!(
            q.sql
                .contains("from_iso8601_timestamp('2026-11-08T00:00:00.000Z')")
        );
        assert_eq!(q.params, vec![String::new(), String::new()]);
        let q = statement("timeline").query(
            &p.with_pipelines(&["a".into()])
                .unwrap()
                .with_execution_id(Some("x-1"))
                .unwrap(),
        );
        assert_eq!(q.params, [",a,", ",a,", "x-1", "x-1"]);
        assert_eq!(q.sql.matches('?').count(), 4);
    }
}
