//! The canned reports: the bundled SQL in `sql/reports/`, the metadata each file's
//! header comment declares, and how report options become the values of its `?`
//! placeholders.
//!
//! Each SQL file opens with `-- name:`, `-- description:` and `-- bind:` lines; the
//! bind line names, in order, the value of every `?` in the statement. Values are
//! always passed as parameters (see [`crate::engine::Query`]), never pasted in.

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use crate::engine::Query;

/// One bundled SQL file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlFile {
    /// File name under `sql/reports/`.
    pub file: &'static str,
    /// The file's text.
    pub text: &'static str,
}

macro_rules! sql_file {
    ($name:literal) => {
        SqlFile {
            file: concat!($name, ".sql"),
            text: include_str!(concat!("../sql/reports/", $name, ".sql")),
        }
    };
}

/// Every bundled SQL file.
pub const SQL_FILES: &[SqlFile] = &[
    sql_file!("failures"),
    sql_file!("failures_actions"),
    sql_file!("durations"),
    sql_file!("durations_by_stage"),
    sql_file!("durations_by_action"),
    sql_file!("timeline"),
    sql_file!("executions"),
    sql_file!("flaky"),
    sql_file!("stuck"),
    sql_file!("dora"),
    sql_file!("approvals"),
];

/// A SQL file whose header does not follow the conventions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sql/reports/{file}: {problem}")]
pub struct HeaderError {
    /// The file.
    pub file: &'static str,
    /// What is wrong.
    pub problem: String,
}

/// The value a `?` placeholder is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bind {
    /// First `dt` of the window (`YYYY-MM-DD`).
    SinceDt,
    /// Last `dt` of the window (`YYYY-MM-DD`).
    UntilDt,
    /// Window start, ISO 8601 (inclusive).
    Since,
    /// Window end, ISO 8601 (exclusive).
    Until,
    /// The `--pipeline` names as `,a,b,`, or empty for all pipelines.
    Pipelines,
    /// `--execution-id`, or empty.
    ExecutionId,
    /// The current time, ISO 8601.
    Now,
    /// Now minus `--older-than`, ISO 8601.
    StuckBefore,
}

impl Bind {
    fn parse(name: &str) -> Option<Bind> {
        Some(match name {
            "since_dt" => Bind::SinceDt,
            "until_dt" => Bind::UntilDt,
            "since" => Bind::Since,
            "until" => Bind::Until,
            "pipelines" => Bind::Pipelines,
            "execution_id" => Bind::ExecutionId,
            "now" => Bind::Now,
            "stuck_before" => Bind::StuckBefore,
            _ => return None,
        })
    }

    /// The command-line option the value comes from.
    pub fn option(self) -> &'static str {
        match self {
            Bind::SinceDt | Bind::Since => "--since",
            Bind::UntilDt | Bind::Until => "--until",
            Bind::Pipelines => "--pipeline",
            Bind::ExecutionId => "--execution-id",
            Bind::Now => "(now)",
            Bind::StuckBefore => "--older-than",
        }
    }
}

/// A parsed SQL file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `-- name:`
    pub name: String,
    /// `-- description:`
    pub description: String,
    /// `-- bind:`, one per `?`.
    pub binds: Vec<Bind>,
    /// The SQL text as bundled.
    pub sql: &'static str,
}

impl Statement {
    /// Reads a bundled file's header.
    pub fn parse(file: &SqlFile) -> Result<Statement, HeaderError> {
        let err = |problem: String| HeaderError {
            file: file.file,
            problem,
        };
        let header = |key: &str| {
            file.text
                .lines()
                .take_while(|l| l.starts_with("--"))
                .find_map(|l| l.strip_prefix(&format!("-- {key}:")))
                .map(|v| v.trim().to_owned())
                .ok_or_else(|| err(format!("missing `-- {key}:` header line")))
        };
        let name = header("name")?;
        let description = header("description")?;
        let binds = header("bind")?
            .split_whitespace()
            .map(|b| Bind::parse(b).ok_or_else(|| err(format!("unknown bind value {b:?}"))))
            .collect::<Result<Vec<_>, _>>()?;
        if Some(name.as_str()) != file.file.strip_suffix(".sql") {
            return Err(err(format!("name {name:?} differs from the file name")));
        }
        Ok(Statement {
            name,
            description,
            binds,
            sql: file.text,
        })
    }

    /// The query with every placeholder's value taken from `params`.
    pub fn query(&self, params: &ReportParams) -> Query {
        Query {
            sql: self.sql.to_owned(),
            params: self.binds.iter().map(|b| params.value(*b)).collect(),
        }
    }
}

/// The bundled statement called `name`.
pub fn statement(name: &str) -> Statement {
    let file = SQL_FILES
        .iter()
        .find(|f| f.file.strip_suffix(".sql") == Some(name))
        .unwrap_or_else(|| panic!("no bundled SQL file {name}.sql"));
    // Tests parse every bundled file, so a broken header never ships.
    Statement::parse(file).unwrap_or_else(|e| panic!("{e}"))
}

/// `durations --by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Breakdown {
    /// Per pipeline.
    #[default]
    Pipeline,
    /// Per pipeline and stage.
    Stage,
    /// Per pipeline, stage and action.
    Action,
}

/// A canned report: what `cplogs report NAME` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// The report's name on the command line.
    pub name: &'static str,
    /// One line for `cplogs reports`.
    pub summary: &'static str,
    /// Report-specific options, for `cplogs reports`.
    pub options: &'static str,
}

/// Every report, in the order `cplogs reports` lists them.
pub const REPORTS: &[Report] = &[
    Report {
        name: "failures",
        summary: "failure rate per pipeline, and the top failing actions with error codes",
        options: "",
    },
    Report {
        name: "durations",
        summary: "p50/p90/p95/max/avg duration of succeeded executions",
        options: "--by pipeline|stage|action",
    },
    Report {
        name: "timeline",
        summary: "action timeline of one execution (a Gantt bar per action in table format)",
        options: "--execution-id ID (default: the latest execution of --pipeline)",
    },
    Report {
        name: "executions",
        summary: "latest executions with state, trigger, commit and duration",
        options: "",
    },
    Report {
        name: "flaky",
        summary: "actions that failed and then succeeded in the same execution, with time lost",
        options: "",
    },
    Report {
        name: "stuck",
        summary: "executions STARTED long ago with no terminal event",
        options: "--older-than DURATION (default 24h)",
    },
    Report {
        name: "dora",
        summary: "deployments per day, change failure rate, time to restore, lead time",
        options: "",
    },
    Report {
        name: "approvals",
        summary: "manual approval wait times and rejections",
        options: "",
    },
];

/// The named statements a report runs (most run one; `failures` runs two).
pub fn sections(report: &str, by: Breakdown) -> Vec<Statement> {
    let names: &[&str] = match (report, by) {
        ("failures", _) => &["failures", "failures_actions"],
        ("durations", Breakdown::Pipeline) => &["durations"],
        ("durations", Breakdown::Stage) => &["durations_by_stage"],
        ("durations", Breakdown::Action) => &["durations_by_action"],
        (other, _) => return vec![statement(other)],
    };
    names.iter().map(|n| statement(n)).collect()
}

/// A value a user gave that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// Not a CodePipeline pipeline name.
    #[error("{0:?} is not a pipeline name: names are 1-100 characters of A-Z a-z 0-9 . @ - _")]
    Pipeline(String),
    /// Not an execution id.
    #[error("{0:?} is not a pipeline execution id (letters, digits and -, up to 100)")]
    ExecutionId(String),
    /// The window is empty or reversed.
    #[error("the window is empty: --since ({since}) must be before --until ({until})")]
    Window {
        /// Start.
        since: String,
        /// End.
        until: String,
    },
}

/// Whether `name` is a valid CodePipeline pipeline name.
pub fn valid_pipeline_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'@' | b'-' | b'_'))
}

/// The values a report's placeholders take, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportParams {
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
    pipelines: Vec<String>,
    execution_id: Option<String>,
    older_than: Duration,
}

impl ReportParams {
    /// A window `[since, until)` over all pipelines.
    pub fn new(
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Self, ParamError> {
        if since >= until {
            return Err(ParamError::Window {
                since: iso(since),
                until: iso(until),
            });
        }
        Ok(ReportParams {
            since,
            until,
            now,
            pipelines: Vec::new(),
            execution_id: None,
            older_than: Duration::hours(24),
        })
    }

    /// Only these pipelines (validated names).
    pub fn with_pipelines(mut self, names: &[String]) -> Result<Self, ParamError> {
        for n in names {
            if !valid_pipeline_name(n) {
                return Err(ParamError::Pipeline(n.clone()));
            }
        }
        self.pipelines = names.to_vec();
        Ok(self)
    }

    /// The execution for `timeline`.
    pub fn with_execution_id(mut self, id: Option<&str>) -> Result<Self, ParamError> {
        if let Some(id) = id {
            let ok = (1..=100).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !ok {
                return Err(ParamError::ExecutionId(id.to_owned()));
            }
        }
        self.execution_id = id.map(str::to_owned);
        Ok(self)
    }

    /// `stuck --older-than`.
    pub fn with_older_than(mut self, d: Duration) -> Self {
        self.older_than = d;
        self
    }

    /// Start of the window.
    pub fn since(&self) -> DateTime<Utc> {
        self.since
    }

    /// End of the window.
    pub fn until(&self) -> DateTime<Utc> {
        self.until
    }

    /// The value bound to `bind`.
    pub fn value(&self, bind: Bind) -> String {
        match bind {
            Bind::SinceDt => self.since.format("%Y-%m-%d").to_string(),
            // The window is half-open: an `until` at midnight needs no partition of
            // that day.
            Bind::UntilDt => (self.until - Duration::milliseconds(1))
                .format("%Y-%m-%d")
                .to_string(),
            Bind::Since => iso(self.since),
            Bind::Until => iso(self.until),
            Bind::Pipelines if self.pipelines.is_empty() => String::new(),
            Bind::Pipelines => format!(",{},", self.pipelines.join(",")),
            Bind::ExecutionId => self.execution_id.clone().unwrap_or_default(),
            Bind::Now => iso(self.now),
            Bind::StuckBefore => iso(self.now - self.older_than),
        }
    }
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_file_has_a_valid_header_and_one_value_per_placeholder() {
        for f in SQL_FILES {
            let s = Statement::parse(f).unwrap();
            assert!(!s.description.is_empty());
            // `?` never appears in the bundled SQL except as a placeholder.
            let placeholders = f
                .text
                .lines()
                .filter(|l| !l.starts_with("--"))
                .map(|l| l.matches('?').count())
                .sum::<usize>();
            assert_eq!(placeholders, s.binds.len(), "{}", f.file);
        }
        for r in REPORTS {
            assert!(!sections(r.name, Breakdown::Pipeline).is_empty());
        }
    }

    #[test]
    fn window_values() {
        let p = ReportParams::new(
            at("2026-11-01T00:00:00Z"),
            at("2026-11-08T00:00:00Z"),
            at("2026-11-08T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(p.value(Bind::SinceDt), "2026-11-01");
        assert_eq!(p.value(Bind::UntilDt), "2026-11-07");
        assert_eq!(p.value(Bind::Since), "2026-11-01T00:00:00.000Z");
        assert_eq!(p.value(Bind::Pipelines), "");
        assert_eq!(p.value(Bind::StuckBefore), "2026-11-07T00:00:00.000Z");
        let p = p.with_pipelines(&["a".into(), "b-c".into()]).unwrap();
        assert_eq!(p.value(Bind::Pipelines), ",a,b-c,");
        assert!(
            ReportParams::new(
                at("2026-11-02T00:00:00Z"),
                at("2026-11-01T00:00:00Z"),
                at("2026-11-01T00:00:00Z")
            )
            .is_err()
        );
    }

    #[test]
    fn hostile_names_are_refused() {
        let p = ReportParams::new(
            at("2026-11-01T00:00:00Z"),
            at("2026-11-08T00:00:00Z"),
            at("2026-11-08T00:00:00Z"),
        )
        .unwrap();
        for bad in [
            "a'b",
            "x' OR '1'='1",
            "a;DROP TABLE t",
            "a -- b",
            "a/*",
            "a\\b",
            "pipé",
            "a,b",
            "",
            &"x".repeat(101),
        ] {
            assert!(
                p.clone().with_pipelines(&[bad.to_owned()]).is_err(),
                "{bad}"
            );
        }
        assert!(p.clone().with_execution_id(Some("1' OR 1=1")).is_err());
        assert!(
            p.with_execution_id(Some("7c1f4a9e-0d3b-4b8e-9c1a-2f3e4d5c6b7a"))
                .is_ok()
        );
    }
}
