//! The canned reports: the bundled SQL in `sql/reports/`, the metadata each file's
//! header comment declares, and how report options become the values of its `?`
//! placeholders.
//!
//! Each SQL file opens with `-- name:`, `-- description:` and `-- bind:` lines; the
//! bind line names, in order, the value of every `?` in the statement. Values are
//! always passed as parameters (see [`crate::engine::Query`]), never pasted in.

use chrono::{DateTime, Duration, SecondsFormat, Timelike, Utc};

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

/// The value a `?` placeholder is bound to: text a user typed, which is always passed
/// as an execution parameter, never pasted into the SQL. Athena takes `?` only in
/// WHERE clauses, so these stand only there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bind {
    /// The `--pipeline` names as `,a,b,`, or empty for all pipelines.
    Pipelines,
    /// `--execution-id`, or empty.
    ExecutionId,
}

impl Bind {
    fn parse(name: &str) -> Option<Bind> {
        Some(match name {
            "pipelines" => Bind::Pipelines,
            "execution_id" => Bind::ExecutionId,
            _ => return None,
        })
    }

    /// The command-line option the value comes from.
    pub fn option(self) -> &'static str {
        match self {
            Bind::Pipelines => "--pipeline",
            Bind::ExecutionId => "--execution-id",
        }
    }
}

/// A value the CLI computes itself from parsed input (a window bound, now), written
/// into the statement as a typed literal at `{{name}}`. It is rendered from a parsed
/// `DateTime`, never from the text a user typed, so it cannot carry SQL; being a
/// literal it may stand anywhere (Athena refuses `?` outside WHERE), and identical
/// windows give byte-identical statements (Athena's result reuse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Literal {
    /// `{{since_dt}}`: first `dt` of the window, `'YYYY-MM-DD'`.
    SinceDt,
    /// `{{until_dt}}`: last `dt` of the window, `'YYYY-MM-DD'`.
    UntilDt,
    /// `{{since}}`: window start (inclusive), a timestamp with time zone.
    Since,
    /// `{{until}}`: window end (exclusive), a timestamp with time zone.
    Until,
    /// `{{now}}`: the time the report is computed for, a timestamp with time zone.
    Now,
    /// `{{stuck_before}}`: now minus `--older-than`, a timestamp with time zone.
    StuckBefore,
}

impl Literal {
    /// Every literal, for parsing and tests.
    pub const ALL: [Literal; 6] = [
        Literal::SinceDt,
        Literal::UntilDt,
        Literal::Since,
        Literal::Until,
        Literal::Now,
        Literal::StuckBefore,
    ];

    /// The name between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Literal::SinceDt => "since_dt",
            Literal::UntilDt => "until_dt",
            Literal::Since => "since",
            Literal::Until => "until",
            Literal::Now => "now",
            Literal::StuckBefore => "stuck_before",
        }
    }

    fn parse(name: &str) -> Option<Literal> {
        Literal::ALL.into_iter().find(|l| l.name() == name)
    }
}

/// The `{{name}}` markers of `text`, in order, as (byte range, name).
fn markers(text: &str) -> impl Iterator<Item = (std::ops::Range<usize>, &str)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let open = at + text[at..].find("{{")?;
        let close = open + 2 + text[open + 2..].find("}}")?;
        at = close + 2;
        Some((open..close + 2, text[open + 2..close].trim()))
    })
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
    /// The SQL text as bundled, with its `{{literal}}` markers.
    pub sql: &'static str,
}

impl Statement {
    /// Reads a bundled file's header and checks its markers.
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
        if let Some((_, m)) = markers(file.text).find(|(_, m)| Literal::parse(m).is_none()) {
            return Err(err(format!("unknown literal {{{{{m}}}}}")));
        }
        Ok(Statement {
            name,
            description,
            binds,
            sql: file.text,
        })
    }

    /// The statement exactly as it is sent: every `{{literal}}` rendered from
    /// `params`, and every `?` given its value, in order.
    pub fn query(&self, params: &ReportParams) -> Query {
        let mut sql = String::with_capacity(self.sql.len());
        let mut at = 0;
        for (range, name) in markers(self.sql) {
            sql.push_str(&self.sql[at..range.start]);
            // Statement::parse refused unknown names, and `statement()` parses.
            if let Some(l) = Literal::parse(name) {
                sql.push_str(&params.literal(l));
            }
            at = range.end;
        }
        sql.push_str(&self.sql[at..]);
        Query {
            sql,
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

    /// The time the report is computed for.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The execution `timeline` draws, if one was given.
    pub fn execution_id(&self) -> Option<&str> {
        self.execution_id.as_deref()
    }

    /// The same report looking back at least `lookback` from now: the window starts
    /// at the earlier of `--since` and now minus `lookback`. `stuck` and the
    /// `timeline` search use it, so an old execution is found whatever `--since` says.
    pub fn looking_back(mut self, lookback: Duration) -> Self {
        if let Some(start) = self.now.checked_sub_signed(lookback) {
            self.since = self.since.min(start);
        }
        self
    }

    /// The window ending now (`stuck` is about executions still open now).
    pub fn until_now(mut self) -> Self {
        self.until = self.now;
        if self.since >= self.until {
            self.since = self.until - Duration::milliseconds(1);
        }
        self
    }

    /// The value bound to the `?` of `bind`.
    pub fn value(&self, bind: Bind) -> String {
        match bind {
            Bind::Pipelines if self.pipelines.is_empty() => String::new(),
            Bind::Pipelines => format!(",{},", self.pipelines.join(",")),
            Bind::ExecutionId => self.execution_id.clone().unwrap_or_default(),
        }
    }

    /// The SQL text of `literal`: a date string for `dt`, a timestamp with time zone
    /// for instants, both rendered from parsed times (never from user text).
    pub fn literal(&self, literal: Literal) -> String {
        match literal {
            Literal::SinceDt => format!("'{}'", self.since.format("%Y-%m-%d")),
            // The window is half-open: an `until` at midnight needs no partition of
            // that day.
            Literal::UntilDt => format!(
                "'{}'",
                (self.until - Duration::milliseconds(1)).format("%Y-%m-%d")
            ),
            Literal::Since => timestamp(self.since),
            Literal::Until => timestamp(self.until),
            Literal::Now => timestamp(self.now),
            Literal::StuckBefore => timestamp(
                self.now
                    .checked_sub_signed(self.older_than)
                    .unwrap_or(DateTime::<Utc>::MIN_UTC),
            ),
        }
    }

    /// Window start, ISO 8601.
    pub fn since_iso(&self) -> String {
        iso(self.since)
    }

    /// Window end, ISO 8601.
    pub fn until_iso(&self) -> String {
        iso(self.until)
    }
}

/// The clock reading a report uses for `now` when `--now` is not given: the start of
/// the current minute. Two identical commands within the same minute then send
/// byte-identical statements, which Athena's result reuse needs; the price is that
/// a relative window (`--since 7d`, default `--until`) leaves out at most the last
/// 59 seconds.
pub fn anchor(clock: DateTime<Utc>) -> DateTime<Utc> {
    clock
        .with_nanosecond(0)
        .and_then(|t| t.with_second(0))
        .unwrap_or(clock)
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A timestamp-with-time-zone literal that reads the same on Athena (Trino) and the
/// local engine: the same function the statements apply to the records' `timestamp`.
fn timestamp(t: DateTime<Utc>) -> String {
    format!("from_iso8601_timestamp('{}')", iso(t))
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
        let bad = SqlFile {
            file: "bad.sql",
            text: "-- name: bad\n-- description: x\n-- bind:\nSELECT {{sincee}}",
        };
        assert!(
            Statement::parse(&bad)
                .unwrap_err()
                .problem
                .contains("sincee")
        );
    }

    #[test]
    fn window_values() {
        let p = ReportParams::new(
            at("2026-11-01T00:00:00Z"),
            at("2026-11-08T00:00:00Z"),
            at("2026-11-08T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(p.literal(Literal::SinceDt), "'2026-11-01'");
        assert_eq!(p.literal(Literal::UntilDt), "'2026-11-07'");
        assert_eq!(
            p.literal(Literal::Since),
            "from_iso8601_timestamp('2026-11-01T00:00:00.000Z')"
        );
        assert_eq!(p.value(Bind::Pipelines), "");
        assert_eq!(
            p.literal(Literal::StuckBefore),
            "from_iso8601_timestamp('2026-11-07T00:00:00.000Z')"
        );
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
    }

    #[test]
    fn anchoring_and_looking_back() {
        assert_eq!(
            anchor(at("2026-11-08T12:34:56.789Z")),
            at("2026-11-08T12:34:00Z")
        );
        let p = ReportParams::new(
            at("2026-11-01T00:00:00Z"),
            at("2026-11-08T00:00:00Z"),
            at("2026-11-08T00:00:00Z"),
        )
        .unwrap();
        let wide = p.clone().looking_back(Duration::days(30));
        assert_eq!(wide.since(), at("2026-10-09T00:00:00Z"));
        assert_eq!(wide.until(), p.until());
        // An earlier --since is kept.
        assert_eq!(p.clone().looking_back(Duration::days(1)).since(), p.since());
        let later = ReportParams::new(
            at("2026-11-01T00:00:00Z"),
            at("2026-11-03T00:00:00Z"),
            at("2026-11-08T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(later.until_now().until(), at("2026-11-08T00:00:00Z"));
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

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            /// Whatever a user types, a name is either a valid CodePipeline name
            /// (which cannot hold a quote, a comma or a control character) or refused.
            #[test]
            fn names_and_ids_are_valid_or_refused(text in prop_oneof![any::<String>(), "[A-Za-z0-9.@_',;\\- -]{0,120}"]) {
                let p = ReportParams::new(
                    at("2026-11-01T00:00:00Z"),
                    at("2026-11-08T00:00:00Z"),
                    at("2026-11-08T00:00:00Z"),
                ).unwrap();
                if let Ok(p) = p.clone().with_pipelines(std::slice::from_ref(&text)) {
                    prop_assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b".@-_".contains(&b)));
                    prop_assert_eq!(p.value(Bind::Pipelines), format!(",{text},"));
                }
                if p.with_execution_id(Some(&text)).is_ok() {
                    prop_assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
                }
            }
        }
    }
}
