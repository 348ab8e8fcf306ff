//! The values a report's markers take: the window, now, the pipelines and execution
//! a user named, validated once so that statements never see raw user text.

use chrono::{DateTime, Duration, SecondsFormat, Timelike, Utc};

use super::sql::{Bind, Literal};

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

    /// The previous period of the same length: `[since - (until - since), since)`,
    /// computed for the same now (`--compare previous`). `None` when it would start
    /// before the earliest time the tables hold.
    pub fn previous(&self) -> Option<Self> {
        let length = self.until - self.since;
        let since = self.since.checked_sub_signed(length)?;
        (since.timestamp() >= 0).then(|| ReportParams {
            since,
            until: self.since,
            ..self.clone()
        })
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
    fn the_previous_period_has_the_same_length_and_ends_where_this_starts() {
        let p = ReportParams::new(
            at("2026-11-24T00:00:00Z"),
            at("2026-12-01T00:00:00Z"),
            at("2026-12-01T10:00:00Z"),
        )
        .unwrap()
        .with_pipelines(&["a".into()])
        .unwrap();
        let before = p.previous().unwrap();
        assert_eq!(before.since(), at("2026-11-17T00:00:00Z"));
        assert_eq!(before.until(), p.since());
        assert_eq!(before.now(), p.now());
        assert_eq!(before.value(Bind::Pipelines), ",a,");
        let early = ReportParams::new(
            at("1970-01-02T00:00:00Z"),
            at("1970-01-10T00:00:00Z"),
            at("1970-01-10T00:00:00Z"),
        )
        .unwrap();
        assert!(early.previous().is_none());
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
