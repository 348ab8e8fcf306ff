//! The Athena engine: StartQueryExecution with the workgroup, database, result
//! location and execution parameters; polling with backoff until a terminal state;
//! every page of GetQueryResults, typed from the result metadata. A timeout or an
//! interruption stops the query on the server.
//!
//! One cohesive thing (over 400 lines with tests): one Athena query's lifecycle.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_athena::Client;
use aws_sdk_athena::types::{
    QueryExecutionContext, QueryExecutionState, ResultConfiguration, ResultReuseByAgeConfiguration,
    ResultReuseConfiguration,
};

use super::{EngineError, Query, QueryEngine, QueryOutput, QueryStats, string_literal};
use crate::rows::{ColumnInfo, Kind, ResultSet, Value};

/// What a running query looks like, for progress displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Athena's state (QUEUED, RUNNING, …).
    pub state: String,
    /// Time since the query was submitted.
    pub elapsed: Duration,
    /// Data scanned so far.
    pub bytes_scanned: u64,
}

/// How often to ask Athena for the state: the delay doubles from `first` up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// First delay.
    pub first: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::from_millis(200),
            max: Duration::from_secs(2),
        }
    }
}

type ProgressFn = Box<dyn Fn(&Progress) + Send + Sync>;

/// Runs the reports' SQL on Athena.
pub struct AthenaEngine {
    client: Client,
    database: String,
    workgroup: String,
    output_location: Option<String>,
    timeout: Option<Duration>,
    reuse: Option<Duration>,
    backoff: Backoff,
    stop_on_ctrl_c: bool,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for AthenaEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AthenaEngine")
            .field("database", &self.database)
            .field("workgroup", &self.workgroup)
            .field("output_location", &self.output_location)
            .finish_non_exhaustive()
    }
}

/// The output kind of an Athena column type.
pub fn kind_of(athena_type: &str) -> Kind {
    match athena_type.to_ascii_lowercase().as_str() {
        "boolean" => Kind::Bool,
        "tinyint" | "smallint" | "integer" | "int" | "bigint" => Kind::Int,
        t if t == "double" || t == "float" || t == "real" || t.starts_with("decimal") => {
            Kind::Float
        }
        _ => Kind::Text,
    }
}

fn value(kind: Kind, text: Option<&str>) -> Value {
    let Some(t) = text else {
        return Value::Null;
    };
    match kind {
        Kind::Bool => t
            .parse()
            .map_or_else(|_| Value::Text(t.to_owned()), Value::Bool),
        Kind::Int => t
            .parse()
            .map_or_else(|_| Value::Text(t.to_owned()), Value::Int),
        Kind::Float => t
            .parse()
            .map_or_else(|_| Value::Text(t.to_owned()), Value::Float),
        Kind::Text => Value::Text(t.to_owned()),
    }
}

fn sdk_error(what: &str, e: impl std::error::Error) -> EngineError {
    let mut msg = format!("{what}: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    EngineError::Execution(msg)
}

impl AthenaEngine {
    /// An engine over `database` in `workgroup`.
    pub fn new(client: Client, database: impl Into<String>, workgroup: impl Into<String>) -> Self {
        AthenaEngine {
            client,
            database: database.into(),
            workgroup: workgroup.into(),
            output_location: None,
            timeout: None,
            reuse: None,
            backoff: Backoff::default(),
            stop_on_ctrl_c: false,
            progress: None,
        }
    }

    /// Where Athena writes results (unless the workgroup enforces its own).
    pub fn output_location(mut self, location: Option<String>) -> Self {
        self.output_location = location;
        self
    }

    /// Stops queries that run longer than this.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Reuses results of an identical query up to this old.
    pub fn reuse(mut self, max_age: Option<Duration>) -> Self {
        self.reuse = max_age;
        self
    }

    /// Polling delays.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Stops the query on the server when the process gets Ctrl-C.
    pub fn stop_on_ctrl_c(mut self, yes: bool) -> Self {
        self.stop_on_ctrl_c = yes;
        self
    }

    /// Called after every poll.
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    async fn start(&self, query: &Query) -> Result<String, EngineError> {
        let reuse = self.reuse.map(|age| {
            let minutes = i32::try_from(age.as_secs().div_ceil(60)).unwrap_or(i32::MAX);
            ResultReuseConfiguration::builder()
                .result_reuse_by_age_configuration(
                    ResultReuseByAgeConfiguration::builder()
                        .enabled(true)
                        .max_age_in_minutes(minutes.max(1))
                        .build(),
                )
                .build()
        });
        let params: Option<Vec<String>> = (!query.params.is_empty())
            .then(|| query.params.iter().map(|p| string_literal(p)).collect());
        let out = self
            .client
            .start_query_execution()
            .query_string(&query.sql)
            .query_execution_context(
                QueryExecutionContext::builder()
                    .database(&self.database)
                    .build(),
            )
            .work_group(&self.workgroup)
            .set_result_configuration(
                self.output_location
                    .as_ref()
                    .map(|o| ResultConfiguration::builder().output_location(o).build()),
            )
            .set_execution_parameters(params)
            .set_result_reuse_configuration(reuse)
            .send()
            .await
            .map_err(|e| sdk_error("StartQueryExecution", e))?;
        out.query_execution_id
            .ok_or_else(|| EngineError::Execution("Athena returned no query id".into()))
    }

    async fn stop(&self, id: &str) {
        // Best effort: the query may have ended meanwhile.
        let _ = self
            .client
            .stop_query_execution()
            .query_execution_id(id)
            .send()
            .await;
    }

    /// Waits for `id` to finish; returns the bytes it scanned.
    async fn wait(&self, id: &str, started: Instant) -> Result<u64, EngineError> {
        let mut delay = self.backoff.first;
        loop {
            let out = self
                .client
                .get_query_execution()
                .query_execution_id(id)
                .send()
                .await
                .map_err(|e| sdk_error("GetQueryExecution", e))?;
            let execution = out.query_execution();
            let status = execution.and_then(|q| q.status());
            let state = status.and_then(|s| s.state()).cloned();
            let bytes = execution
                .and_then(|q| q.statistics())
                .and_then(|s| s.data_scanned_in_bytes())
                .and_then(|b| u64::try_from(b).ok())
                .unwrap_or(0);
            if let Some(f) = &self.progress {
                f(&Progress {
                    state: state.as_ref().map_or("UNKNOWN", |s| s.as_str()).to_owned(),
                    elapsed: started.elapsed(),
                    bytes_scanned: bytes,
                });
            }
            match state {
                Some(QueryExecutionState::Succeeded) => return Ok(bytes),
                Some(QueryExecutionState::Failed) | Some(QueryExecutionState::Cancelled) => {
                    let reason = status
                        .and_then(|s| s.state_change_reason())
                        .unwrap_or("no reason given");
                    let what = if state == Some(QueryExecutionState::Failed) {
                        "failed"
                    } else {
                        "was cancelled"
                    };
                    let kind = status
                        .and_then(|s| s.athena_error())
                        .and_then(|e| e.error_type())
                        .map(|t| format!(" (Athena error type {t})"))
                        .unwrap_or_default();
                    return Err(EngineError::Execution(format!(
                        "Athena query {id} {what}: {reason}{kind}"
                    )));
                }
                _ => {}
            }
            if let Some(limit) = self.timeout
                && started.elapsed() >= limit
            {
                self.stop(id).await;
                return Err(EngineError::TimedOut(limit));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.backoff.max);
        }
    }

    async fn results(&self, id: &str) -> Result<ResultSet, EngineError> {
        let mut pages = self
            .client
            .get_query_results()
            .query_execution_id(id)
            .max_results(1000)
            .into_paginator()
            .send();
        let mut result = ResultSet::default();
        let mut first = true;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("GetQueryResults", e))?;
            let Some(set) = page.result_set() else {
                continue;
            };
            if first {
                result.columns = set
                    .result_set_metadata()
                    .map(|m| m.column_info())
                    .unwrap_or_default()
                    .iter()
                    .map(|c| ColumnInfo {
                        name: c.name().to_owned(),
                        kind: kind_of(c.r#type()),
                    })
                    .collect();
            }
            let mut rows = set.rows().iter();
            if first {
                // The first row of a SELECT's first page repeats the column names.
                let names: Vec<Option<&str>> = result
                    .columns
                    .iter()
                    .map(|c| Some(c.name.as_str()))
                    .collect();
                if let Some(header) = set.rows().first() {
                    let cells: Vec<Option<&str>> =
                        header.data().iter().map(|d| d.var_char_value()).collect();
                    if cells == names {
                        rows.next();
                    }
                }
                first = false;
            }
            for row in rows {
                let cells = row.data();
                result.rows.push(
                    result
                        .columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| value(c.kind, cells.get(i).and_then(|d| d.var_char_value())))
                        .collect(),
                );
            }
        }
        Ok(result)
    }

    /// Runs `query`; when `cancel` completes first, stops it on the server and
    /// returns [`EngineError::Interrupted`].
    pub async fn run_until(
        &self,
        query: &Query,
        cancel: impl Future<Output = ()>,
    ) -> Result<QueryOutput, EngineError> {
        let started = Instant::now();
        // Ad-hoc SQL only reads: refused here too, before any call, whatever the caller.
        super::readonly::check(&query.sql).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let id = self.start(query).await?;
        let waited = tokio::select! {
            r = self.wait(&id, started) => r,
            () = cancel => {
                self.stop(&id).await;
                return Err(EngineError::Interrupted);
            }
        };
        let bytes_scanned = waited?;
        let result = self.results(&id).await?;
        Ok(QueryOutput {
            result,
            stats: QueryStats {
                bytes_scanned,
                elapsed: started.elapsed(),
                files: Vec::new(),
                query_id: Some(id),
                skipped_files: Vec::new(),
                from_cache: false,
            },
        })
    }
}

impl QueryEngine for AthenaEngine {
    fn name(&self) -> &'static str {
        "athena"
    }

    async fn run(&self, query: &Query) -> Result<QueryOutput, EngineError> {
        if self.stop_on_ctrl_c {
            let ctrl_c = async {
                if tokio::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            self.run_until(query, ctrl_c).await
        } else {
            self.run_until(query, std::future::pending()).await
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput;
    use aws_sdk_athena::operation::get_query_results::GetQueryResultsOutput;
    use aws_sdk_athena::operation::start_query_execution::StartQueryExecutionOutput;
    use aws_sdk_athena::operation::stop_query_execution::StopQueryExecutionOutput;
    use aws_sdk_athena::types::{
        ColumnInfo as AthenaColumn, Datum, QueryExecution, QueryExecutionStatistics,
        QueryExecutionStatus, ResultSet as AthenaResultSet, ResultSetMetadata, Row,
    };
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

    use super::*;

    fn execution(state: QueryExecutionState, reason: Option<&str>) -> GetQueryExecutionOutput {
        let status = QueryExecutionStatus::builder()
            .state(state)
            .set_state_change_reason(reason.map(str::to_owned))
            .build();
        GetQueryExecutionOutput::builder()
            .query_execution(
                QueryExecution::builder()
                    .query_execution_id("q-1")
                    .status(status)
                    .statistics(
                        QueryExecutionStatistics::builder()
                            .data_scanned_in_bytes(12_345)
                            .build(),
                    )
                    .build(),
            )
            .build()
    }

    fn row(cells: &[Option<&str>]) -> Row {
        Row::builder()
            .set_data(Some(
                cells
                    .iter()
                    .map(|c| {
                        Datum::builder()
                            .set_var_char_value(c.map(str::to_owned))
                            .build()
                    })
                    .collect(),
            ))
            .build()
    }

    /// A page of (pipeline varchar, failed bigint, rate double) rows `from..to`.
    fn page(header: bool, from: usize, to: usize, next: Option<&str>) -> GetQueryResultsOutput {
        let mut rows = Vec::new();
        if header {
            rows.push(row(&[Some("pipeline"), Some("failed"), Some("rate")]));
        }
        for i in from..to {
            let name = format!("p{i}");
            let failed = i.to_string();
            let rate = if i % 2 == 0 { None } else { Some("0.5") };
            rows.push(row(&[Some(&name), Some(&failed), rate]));
        }
        let meta = ResultSetMetadata::builder()
            .column_info(
                AthenaColumn::builder()
                    .name("pipeline")
                    .r#type("varchar")
                    .build()
                    .unwrap(),
            )
            .column_info(
                AthenaColumn::builder()
                    .name("failed")
                    .r#type("bigint")
                    .build()
                    .unwrap(),
            )
            .column_info(
                AthenaColumn::builder()
                    .name("rate")
                    .r#type("double")
                    .build()
                    .unwrap(),
            )
            .build();
        GetQueryResultsOutput::builder()
            .result_set(
                AthenaResultSet::builder()
                    .set_rows(Some(rows))
                    .result_set_metadata(meta)
                    .build(),
            )
            .set_next_token(next.map(str::to_owned))
            .build()
    }

    /// Each StartQueryExecution's (sql, execution parameters, workgroup, database).
    type Started = Arc<Mutex<Vec<(String, Vec<String>, String, String)>>>;

    fn start_rule(seen: Started) -> Rule {
        mock!(Client::start_query_execution)
            .match_requests(move |req| {
                seen.lock().unwrap().push((
                    req.query_string().unwrap_or_default().to_owned(),
                    req.execution_parameters().to_vec(),
                    req.work_group().unwrap_or_default().to_owned(),
                    req.query_execution_context()
                        .and_then(|c| c.database())
                        .unwrap_or_default()
                        .to_owned(),
                ));
                true
            })
            .then_output(|| {
                StartQueryExecutionOutput::builder()
                    .query_execution_id("q-1")
                    .build()
            })
    }

    fn stop_rule() -> Rule {
        mock!(Client::stop_query_execution)
            .then_output(|| StopQueryExecutionOutput::builder().build())
    }

    fn fast() -> Backoff {
        Backoff {
            first: Duration::from_millis(1),
            max: Duration::from_millis(5),
        }
    }

    #[tokio::test]
    async fn polls_until_done_and_reads_every_page_typed() {
        let seen = Arc::default();
        let start = start_rule(Arc::clone(&seen));
        let poll = mock!(Client::get_query_execution)
            .sequence()
            .output(|| execution(QueryExecutionState::Queued, None))
            .output(|| execution(QueryExecutionState::Running, None))
            .times(2)
            .output(|| execution(QueryExecutionState::Succeeded, None))
            .build();
        let results = mock!(Client::get_query_results)
            .sequence()
            .output(|| page(true, 0, 999, Some("t1")))
            .output(|| page(false, 999, 1999, Some("t2")))
            .output(|| page(false, 1999, 2005, None))
            .build();
        let client = mock_client!(
            aws_sdk_athena,
            RuleMode::MatchAny,
            [&start, &poll, &results]
        );
        let states = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&states);
        let engine = AthenaEngine::new(client, "logs_db", "cplogs")
            .output_location(Some("s3://results/".into()))
            .backoff(fast())
            .on_progress(move |p| record.lock().unwrap().push(p.state.clone()));
        let query = Query {
            sql: "SELECT 1 WHERE a = ? AND b = ?".into(),
            params: vec!["x' OR '1'='1".into(), "2026-11-01".into()],
        };
        let out = engine.run(&query).await.unwrap();
        assert_eq!(
            out.result.rows.len(),
            2005,
            "header row dropped, all pages read"
        );
        assert_eq!(out.result.columns[1].kind, Kind::Int);
        assert_eq!(
            out.result.rows[0],
            vec![Value::Text("p0".into()), Value::Int(0), Value::Null]
        );
        assert_eq!(out.result.rows[2003][2], Value::Float(0.5));
        assert_eq!(out.stats.bytes_scanned, 12_345);
        assert_eq!(out.stats.query_id.as_deref(), Some("q-1"));
        assert_eq!(results.num_calls(), 3);
        assert_eq!(poll.num_calls(), 4);
        assert_eq!(
            *states.lock().unwrap(),
            ["QUEUED", "RUNNING", "RUNNING", "SUCCEEDED"]
        );
        let seen = seen.lock().unwrap();
        let (sql, params, workgroup, database) = &seen[0];
        assert_eq!(
            sql, "SELECT 1 WHERE a = ? AND b = ?",
            "values never enter the text"
        );
        assert_eq!(params, &["'x'' OR ''1''=''1'", "'2026-11-01'"]);
        assert_eq!(
            (workgroup.as_str(), database.as_str()),
            ("cplogs", "logs_db")
        );
    }

    #[tokio::test]
    async fn a_failed_query_is_an_error_with_athenas_reason() {
        let start = start_rule(Arc::default());
        let poll = mock!(Client::get_query_execution).then_output(|| {
            execution(
                QueryExecutionState::Failed,
                Some("TABLE_NOT_FOUND: line 1:15: Table 'x' does not exist"),
            )
        });
        let client = mock_client!(aws_sdk_athena, RuleMode::MatchAny, [&start, &poll]);
        let engine = AthenaEngine::new(client, "db", "wg").backoff(fast());
        let err = engine
            .run(&Query::new("SELECT * FROM x"))
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("q-1 failed") && msg.contains("TABLE_NOT_FOUND"),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn a_timeout_or_an_interruption_stops_the_query_on_the_server() {
        let start = start_rule(Arc::default());
        let poll = mock!(Client::get_query_execution)
            .sequence()
            .output(|| execution(QueryExecutionState::Running, None))
            .repeatedly()
            .build();
        let stop = stop_rule();
        let client = mock_client!(aws_sdk_athena, RuleMode::MatchAny, [&start, &poll, &stop]);
        let engine = AthenaEngine::new(client, "db", "wg")
            .backoff(fast())
            .timeout(Some(Duration::from_millis(30)));
        let err = engine.run(&Query::new("SELECT 1")).await.unwrap_err();
        assert!(matches!(err, EngineError::TimedOut(_)), "{err}");
        assert_eq!(stop.num_calls(), 1);

        let start = start_rule(Arc::default());
        let poll = mock!(Client::get_query_execution)
            .sequence()
            .output(|| execution(QueryExecutionState::Running, None))
            .repeatedly()
            .build();
        let stop = stop_rule();
        let client = mock_client!(aws_sdk_athena, RuleMode::MatchAny, [&start, &poll, &stop]);
        let engine = AthenaEngine::new(client, "db", "wg").backoff(fast());
        // Interrupted while it polls (after two polls, not after a fixed time: on a
        // loaded machine 20 ms once held a single poll).
        let cancel = async {
            while poll.num_calls() < 2 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        };
        let err = engine
            .run_until(&Query::new("SELECT 1"), cancel)
            .await
            .unwrap_err();
        assert!(matches!(err, EngineError::Interrupted), "{err}");
        assert_eq!(stop.num_calls(), 1);
    }

    #[cfg(feature = "local")]
    #[tokio::test]
    async fn the_same_command_within_a_minute_sends_the_same_request() {
        use crate::reports::{ReportParams, anchor, statement};
        use aws_sdk_athena::operation::start_query_execution::StartQueryExecutionInput;
        use chrono::{DateTime, Utc};

        let seen: Arc<Mutex<Vec<StartQueryExecutionInput>>> = Arc::default();
        let record = Arc::clone(&seen);
        let start = mock!(Client::start_query_execution)
            .match_requests(move |req| {
                record.lock().unwrap().push(req.clone());
                true
            })
            .sequence()
            .output(|| {
                StartQueryExecutionOutput::builder()
                    .query_execution_id("q-1")
                    .build()
            })
            .repeatedly()
            .build();
        let poll = mock!(Client::get_query_execution)
            .sequence()
            .output(|| execution(QueryExecutionState::Succeeded, None))
            .repeatedly()
            .build();
        let results = mock!(Client::get_query_results)
            .sequence()
            .output(|| page(true, 0, 1, None))
            .repeatedly()
            .build();
        let client = mock_client!(
            aws_sdk_athena,
            RuleMode::MatchAny,
            [&start, &poll, &results]
        );
        let engine = AthenaEngine::new(client, "logs_db", "cplogs")
            .output_location(Some("s3://results/cplogs/".into()))
            .reuse(Some(Duration::from_secs(3600)))
            .backoff(fast());
        // `cplogs report failures --since 7d --pipeline api`, run at three clock times.
        for clock in [
            "2026-11-20T12:00:05.123Z",
            "2026-11-20T12:00:59.999Z",
            "2026-11-20T12:01:00.001Z",
        ] {
            let clock: DateTime<Utc> = clock.parse().unwrap();
            let now = anchor(clock);
            let p = ReportParams::new(now - chrono::Duration::days(7), now, now)
                .and_then(|p| p.with_pipelines(&["api".into()]))
                .unwrap();
            engine.run(&statement("failures").query(&p)).await.unwrap();
        }
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        // The SDK's idempotency token aside, the requests of one minute are equal.
        let without_token = |i: &StartQueryExecutionInput| {
            let mut i = i.clone();
            i.client_request_token = None;
            i
        };
        assert_eq!(without_token(&seen[0]), without_token(&seen[1]));
        assert_eq!(
            seen[0]
                .result_reuse_configuration()
                .and_then(|r| r.result_reuse_by_age_configuration())
                .and_then(|r| r.max_age_in_minutes()),
            Some(60)
        );
        assert_eq!(seen[0].execution_parameters(), ["',api,'", "',api,'"]);
        let sql = seen[0].query_string().unwrap_or_default();
        assert!(
            sql.contains("from_iso8601_timestamp('2026-11-20T12:00:00.000Z')"),
            "{sql}"
        );
        // The next minute is another window, another query.
        assert_ne!(seen[1].query_string(), seen[2].query_string());
    }

    #[tokio::test]
    async fn statements_that_write_never_reach_athena() {
        let seen = Arc::default();
        let start = start_rule(Arc::clone(&seen));
        let client = mock_client!(aws_sdk_athena, RuleMode::MatchAny, [&start]);
        let engine = AthenaEngine::new(client, "db", "wg").backoff(fast());
        for sql in [
            "DROP TABLE pipeline_execution_state_change",
            "CREATE TABLE x AS SELECT 1",
            "INSERT INTO t SELECT 1",
            "UNLOAD (SELECT 1) TO 's3://b/x/' WITH (format = 'JSON')",
            "MSCK REPAIR TABLE t",
            "SELECT 1; DROP TABLE t",
        ] {
            let err = engine.run(&Query::new(sql)).await.unwrap_err();
            assert!(matches!(err, EngineError::Invalid(_)), "{sql}: {err}");
        }
        assert_eq!(start.num_calls(), 0);
    }

    #[test]
    fn literals_and_types() {
        assert_eq!(string_literal("a'b"), "'a''b'");
        assert_eq!(string_literal("x' OR '1'='1"), "'x'' OR ''1''=''1'");
        assert_eq!(kind_of("bigint"), Kind::Int);
        assert_eq!(kind_of("decimal(10,2)"), Kind::Float);
        assert_eq!(kind_of("varchar"), Kind::Text);
        assert_eq!(value(Kind::Int, Some("42")), Value::Int(42));
        assert_eq!(value(Kind::Float, Some("0.5")), Value::Float(0.5));
        assert_eq!(value(Kind::Bool, Some("true")), Value::Bool(true));
        assert_eq!(value(Kind::Int, None), Value::Null);
    }
}
