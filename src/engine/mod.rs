//! The query-engine interface shared by the embedded local engine and Athena: one SQL
//! text with `?` placeholders, string parameters bound in order, typed result rows and
//! what the query cost.

use std::future::Future;
use std::time::Duration;

#[cfg(feature = "athena")]
pub mod athena;
#[cfg(feature = "local")]
pub mod functions;
#[cfg(feature = "local")]
pub mod jsonl;
#[cfg(feature = "local")]
pub mod local;
#[cfg(feature = "local")]
pub mod memory;
pub mod readonly;

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

/// The type of a result column, as far as output formats care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Booleans.
    Bool,
    /// Integers.
    Int,
    /// Floating point and decimals.
    Float,
    /// Text, timestamps and anything else, rendered as text.
    Text,
}

impl Kind {
    /// The name used in JSON output's column list.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bool => "boolean",
            Kind::Int => "integer",
            Kind::Float => "number",
            Kind::Text => "string",
        }
    }
}

/// One value of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// Text (timestamps are ISO 8601 text).
    Text(String),
}

impl Value {
    /// The value as a number, when it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Text(t) => t.parse().ok(),
            _ => None,
        }
    }

    /// The value as text, when it is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// A named, typed result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// Column type.
    pub kind: Kind,
}

/// The rows a statement returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultSet {
    /// The columns, in order.
    pub columns: Vec<ColumnInfo>,
    /// The rows; each has one value per column.
    pub rows: Vec<Vec<Value>>,
}

impl ResultSet {
    /// The index of the column called `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The value of column `name` in row `row`.
    pub fn get(&self, row: usize, name: &str) -> Option<&Value> {
        self.rows.get(row)?.get(self.column(name)?)
    }
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
