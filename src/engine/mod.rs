//! The query-engine interface shared by the embedded local engine and Athena: one SQL
//! text with `?` placeholders, string parameters bound in order, typed result rows and
//! what the query cost.

use std::future::Future;
use std::time::Duration;

#[cfg(feature = "arrow")]
pub mod arrow;
#[cfg(feature = "athena")]
pub mod athena;
#[cfg(feature = "local")]
pub mod cache;
#[cfg(feature = "local")]
mod fields;
#[cfg(feature = "local")]
mod folder_times;
#[cfg(feature = "local")]
pub mod functions;
mod groups;
#[cfg(feature = "local")]
pub mod jsonl;
#[cfg(feature = "local")]
pub mod local;
#[cfg(feature = "local")]
pub mod memory;
pub mod readonly;
#[cfg(feature = "local")]
mod result_cache;
#[cfg(feature = "local")]
mod strict_lines;

use crate::rows::ResultSet;

/// A statement and the values of its `?` placeholders, in order.
///
/// Values are always data: the local engine binds them as typed parameters and
/// Athena receives them as execution parameters, never pasted into the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// One SQL statement (Trino dialect).
    pub sql: String,
    /// One value per `?`, in order of appearance.
    pub params: Vec<String>,
}

impl Query {
    /// A statement without parameters.
    pub fn new(sql: impl Into<String>) -> Self {
        Query {
            sql: sql.into(),
            params: Vec::new(),
        }
    }
}

/// A string value as a Trino string literal: the only form Athena's execution
/// parameters take for text (and how `--print-sql` shows them). Quotes are doubled,
/// so the value stays one literal.
pub fn string_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// What a query cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryStats {
    /// Bytes the engine read (compressed bytes of the files; Athena's data scanned).
    pub bytes_scanned: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Files opened, when the engine knows (the local engine does).
    pub files: Vec<String>,
    /// The engine's id of the query (Athena's QueryExecutionId).
    pub query_id: Option<String>,
    /// Data files that could not be read and were stepped over (the local engine
    /// with `skip_bad_files`): `(file, reason)`.
    pub skipped_files: Vec<(String, String)>,
    /// Answered from the local engine's cache of earlier answers: the same statement
    /// and parameters over the same, unchanged files (`files`), none of them read.
    pub from_cache: bool,
}

/// A finished query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryOutput {
    /// The rows.
    pub result: ResultSet,
    /// What it cost.
    pub stats: QueryStats,
}

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The SQL is not valid, not allowed, or does not match its parameters.
    #[error("invalid query: {0}")]
    Invalid(String),
    /// The engine failed while running the statement.
    #[error("query failed: {0}")]
    Execution(String),
    /// The data directory cannot be used.
    #[error("{0}")]
    Setup(String),
    /// The query ran longer than allowed and was stopped.
    #[error("the query ran longer than {0:?} and was stopped")]
    TimedOut(Duration),
    /// A data file cannot be read at all (not gzip, truncated, not JSON lines).
    #[error(
        "{file}: {reason}: move it out of the table folder, or pass --skip-bad-files to \
         step over unreadable files"
    )]
    BadFile {
        /// The file.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The query needed more memory than the local engine may use.
    #[error(
        "the query needs more memory than the limit ({limit}); raise --memory-limit or \
         narrow the window ({detail})"
    )]
    OutOfMemory {
        /// The limit, as text (`64.0 MiB`).
        limit: String,
        /// The engine's own words.
        detail: String,
    },
    /// Interrupted by the user (Ctrl-C); the query was stopped.
    #[error("interrupted: the query was stopped")]
    Interrupted,
}

/// Something that runs the bundled SQL: the embedded engine or Athena.
pub trait QueryEngine {
    /// A short name for messages and JSON metadata (`local`, `athena`).
    fn name(&self) -> &'static str;

    /// Runs one statement with its parameters and returns all rows.
    fn run(&self, query: &Query) -> impl Future<Output = Result<QueryOutput, EngineError>> + Send;
}
