//! The embedded engine: Apache DataFusion over a local directory laid out like the
//! bucket (`<table>/dt=YYYY-MM-DD/*.gz`, gzip JSON lines), running the reports' SQL.
//!
//! Each table is a listing table over its folder with `dt` taken from the folder
//! names, so a filter on `dt` prunes whole folders before any file is opened. The
//! records' camelCase keys are exposed under Athena's lower-case column names by a
//! view rendered from the schema (`crate::core::schema`), so the same SQL runs here and on
//! Athena.
//!
//! The files are read as the tables' SerDe reads them on Athena (`super::jsonl`); a
//! file that cannot be read at all fails the query naming it, or is stepped over
//! with [`LocalOptions::skip_bad_files`]. Queries run under a memory limit (spilling
//! where DataFusion can, failing cleanly where it cannot) and an optional timeout.
//!
//! One cohesive thing (over 400 lines): the engine's setup, file listing, views and execution belong together.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, Schema, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::catalog::{MemorySchemaProvider, TableProvider};
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{ParamValues, ScalarValue, TableReference};
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::memory_pool::MemoryConsumer;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::object_store::ObjectMeta;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::{SessionConfig, SessionContext, col};
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName,
    Statement as SqlStatement, Value as SqlValue, visit_expressions_mut,
};
use futures::StreamExt;
use tokio::sync::OnceCell;

use super::cache::ColumnarCache;
use super::folder_times::FolderTimes;
use super::functions::{self, TRY_FROM_ISO8601_TIMESTAMP, format_iso8601};
use super::jsonl::{BadFile, BadFiles, LenientJsonFormat, display_path};
use super::memory::{Size, default_memory_limit};
use super::result_cache::{self, Shortcut};
use super::{EngineError, Query, QueryEngine, QueryOutput, QueryStats};
use crate::core::schema::{PARTITION_KEY, Table};
use crate::engine::arrow::{file_schema, partition_field};
use crate::rows::{ColumnInfo, Kind, ResultSet, Value};

/// The file names a table reads: any that does not start with `.` or `_`.
const DATA_FILE_GLOB: &str = "[!._]*";

/// Schema that holds the raw listing tables behind the views.
const RAW_SCHEMA: &str = "raw";

/// How the local engine treats bad files, memory and time.
#[derive(Debug, Clone, Default)]
pub struct LocalOptions {
    /// Step over data files that cannot be read at all (each is listed in the
    /// query's [`QueryStats::skipped_files`]) instead of failing the query.
    pub skip_bad_files: bool,
    /// Bytes the engine may hold at once; `None`: [`default_memory_limit`].
    pub memory_limit: Option<u64>,
    /// Stop a query that runs longer ([`EngineError::TimedOut`]).
    pub timeout: Option<Duration>,
    /// Keep decoded files here, within this many bytes (`None`: no cache).
    pub cache: Option<(PathBuf, u64)>,
}

/// The embedded engine over one local directory.
pub struct LocalEngine {
    /// DataFusion and the tables, set up for the first statement not answered by a
    /// [`Shortcut`] (a warm report needs none of it).
    session: OnceCell<SessionContext>,
    root: PathBuf,
    bad_files: Arc<BadFiles>,
    memory_limit: u64,
    timeout: Option<Duration>,
    /// Where decoded files and answers are kept ([`LocalOptions::cache`]).
    cache: Option<Arc<ColumnarCache>>,
}

impl std::fmt::Debug for LocalEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEngine")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

fn setup(e: impl std::fmt::Display) -> EngineError {
    EngineError::Setup(e.to_string())
}

/// The view that exposes `table` under Athena's column names: each camelCase key as
/// its lower-case SQL name (the scan's struct fields already have theirs:
/// [`file_schema`]).
pub fn view_sql(table: Table) -> String {
    let cols: Vec<String> = table
        .columns()
        .iter()
        .map(|c| format!("\"{}\" AS \"{}\"", c.name, c.sql_name()))
        .collect();
    format!(
        "CREATE VIEW \"{name}\" AS SELECT {cols}, \"{dt}\" FROM {raw}.\"{name}\"",
        name = table.name(),
        cols = cols.join(", "),
        dt = PARTITION_KEY,
        raw = RAW_SCHEMA,
    )
}

impl LocalEngine {
    /// The engine over the three tables under `root`, with the default options. A
    /// table whose folder is missing is empty rather than an error (a new bucket may
    /// not have stage events yet).
    pub async fn open(root: &Path) -> Result<Self, EngineError> {
        Self::open_with(root, LocalOptions::default()).await
    }

    /// The engine over the tables under `root`, with `options`. Only `root` is
    /// checked here; the tables are registered for the first statement that needs
    /// them.
    pub async fn open_with(root: &Path, options: LocalOptions) -> Result<Self, EngineError> {
        if !root.is_dir() {
            return Err(EngineError::Setup(format!(
                "{} is not a directory: --local needs a folder laid out like the bucket \
                 (<table>/dt=YYYY-MM-DD/*.gz), e.g. made by `cplogs demo --out DIR`, \
                 `cplogs ingest` or `aws s3 sync s3://BUCKET DIR`",
                root.display()
            )));
        }
        let root = std::path::absolute(root).map_err(setup)?;
        Ok(LocalEngine {
            session: OnceCell::new(),
            root,
            bad_files: Arc::new(BadFiles::new(options.skip_bad_files)),
            memory_limit: options.memory_limit.unwrap_or_else(default_memory_limit),
            timeout: options.timeout,
            cache: options
                .cache
                .map(|(dir, limit)| Arc::new(ColumnarCache::new(dir, limit))),
        })
    }

    /// DataFusion with the three tables and their views, set up once.
    async fn session(&self) -> Result<&SessionContext, EngineError> {
        self.session.get_or_try_init(|| self.set_up()).await
    }

    async fn set_up(&self) -> Result<SessionContext, EngineError> {
        let config = SessionConfig::new()
            // Trino (Athena) puts NULLs last under ASC and DESC alike; DataFusion's
            // default puts them first under DESC. Engine-wide, so no ORDER BY of a
            // new report can differ between the two engines.
            .set_str("datafusion.sql_parser.default_null_ordering", "nulls_last")
            .with_information_schema(true)
            // Fewer, larger partitions: the data is many small gzip files.
            .with_collect_statistics(false)
            // Reports group events into executions and attempts: a few events per
            // group. Pre-aggregating such groups before the final aggregation only
            // holds them twice; stop when a probe finds one group per five rows.
            .set_str(
                "datafusion.execution.skip_partial_aggregation_probe_ratio_threshold",
                "0.2",
            );
        // Each scan partition reads whole days (dt values dealt out in turn), in dt
        // order, and says so: a grouping that starts with dt (sql/README.md) then runs
        // day by day in each partition, with no exchange between them, so it holds one
        // day's groups, not the window's. With fewer days than partitions the files
        // are shared out one by one instead, so a short window still uses every core.
        // (DataFusion re-shuffles such a grouping across partitions below 4 of them
        // unless told that partitions by dt already suit it.)
        let partitions = config.target_partitions();
        let config = config
            .set_usize("datafusion.optimizer.preserve_file_partitions", partitions)
            .set_usize("datafusion.optimizer.subset_repartition_threshold", 1);
        // Operators that can spill (sorts, aggregations) spill to the temporary
        // directory; the rest fail the query with ResourcesExhausted instead of
        // growing until the system kills the process.
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(
                usize::try_from(self.memory_limit).unwrap_or(usize::MAX),
                1.0,
            )
            .build_arc()
            .map_err(setup)?;
        let ctx = SessionContext::new_with_config_rt(config, runtime);
        functions::register(&ctx);
        let catalog = ctx
            .catalog("datafusion")
            .ok_or_else(|| setup("default catalog missing"))?;
        catalog
            .register_schema(RAW_SCHEMA, Arc::new(MemorySchemaProvider::new()))
            .map_err(setup)?;
        for table in Table::ALL {
            let provider = raw_table(
                &ctx,
                &self.root,
                table,
                &self.bad_files,
                self.cache.as_ref(),
            )
            .await?;
            ctx.register_table(TableReference::partial(RAW_SCHEMA, table.name()), provider)
                .map_err(setup)?;
            ctx.sql(&view_sql(table)).await.map_err(setup)?;
        }
        Ok(ctx)
    }

    /// The directory the tables read.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// [`QueryEngine::run`] without the timeout.
    async fn run_unbounded(
        &self,
        query: &Query,
        started: Instant,
    ) -> Result<QueryOutput, EngineError> {
        let shortcut = self
            .cache
            .as_ref()
            .and_then(|c| Some((c, result_cache::shortcut_key(query, &self.root)?)));
        if let Some((cache, key)) = &shortcut
            && let Some(out) = by_shortcut(cache, key, started)
        {
            return out;
        }
        let ctx = self.session().await?;
        let invalid = |e: DataFusionError| EngineError::Invalid(e.to_string());
        let execution = |e: DataFusionError| execution_error(e, self.memory_limit);
        let state = ctx.state();
        let dialect = state.config().options().sql_parser.dialect;
        let mut statement = state
            .sql_to_statement(&query.sql, &dialect)
            .map_err(invalid)?;
        let placeholders = number_placeholders(&mut statement)?;
        if placeholders != query.params.len() {
            return Err(EngineError::Invalid(format!(
                "the statement has {placeholders} placeholder(s) but {} value(s) were given",
                query.params.len()
            )));
        }
        rewrite_try(&mut statement);
        let plan = state.statement_to_plan(statement).await.map_err(invalid)?;
        // Queries only read: no DDL, no writes (COPY, INSERT), no SET.
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&plan)
            .map_err(invalid)?;
        let plan = if query.params.is_empty() {
            plan
        } else {
            let values: Vec<ScalarValue> = query
                .params
                .iter()
                .map(|p| ScalarValue::Utf8(Some(p.clone())))
                .collect();
            plan.with_param_values(ParamValues::from(values))
                .map_err(invalid)?
        };
        // Answers are kept only where a cache is, and only for immutable statements.
        let keep = self
            .cache
            .as_ref()
            .filter(|_| result_cache::deterministic(&plan));
        // Taken before the physical plan lists the files, so whatever it lists is at
        // least as new as these times.
        let folders = shortcut
            .as_ref()
            .filter(|_| keep.is_some())
            .and_then(|_| FolderTimes::capture(&self.root, Table::ALL.iter().map(|t| t.name())));
        let frame = ctx.execute_logical_plan(plan).await.map_err(invalid)?;
        let schema = frame.schema().as_arrow().clone();
        let physical = frame.create_physical_plan().await.map_err(execution)?;
        let scanned = files_scanned(&physical);
        let bytes_scanned = scanned.iter().map(|f| f.size).sum();
        let files: Vec<String> = scanned.iter().map(|f| display_path(&f.location)).collect();
        let answer = keep.and_then(|c| Some((c, result_cache::key(query, &scanned)?)));
        let stats = |skipped_files, from_cache| QueryStats {
            bytes_scanned,
            elapsed: started.elapsed(),
            files: files.clone(),
            query_id: None,
            skipped_files,
            from_cache,
        };
        let answer_schema = physical.schema();
        let keep_shortcut = |answer: &String| {
            if let (Some((cache, key)), Some(folders)) = (&shortcut, folders.clone())
                && let Some(s) = Shortcut::new(key.clone(), answer.clone(), folders, &scanned)
                && let Ok(bytes) = serde_json::to_vec(&s)
            {
                cache.put_bytes(key, &bytes);
            }
        };
        if let Some((cache, key)) = &answer
            && let Some(batches) = cache.get(key, &answer_schema)
        {
            keep_shortcut(key);
            return Ok(QueryOutput {
                result: to_result(&schema, &batches)?,
                stats: stats(Vec::new(), true),
            });
        }
        // The rows are held until the query ends, so they count against the memory
        // limit too (twice their Arrow size: they are copied into result values).
        let held =
            MemoryConsumer::new("cplogs query result").register(&ctx.runtime_env().memory_pool);
        let mut stream = execute_stream(physical, ctx.task_ctx()).map_err(execution)?;
        let mut batches = Vec::new();
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(execution)?;
            held.try_grow(batch.get_array_memory_size().saturating_mul(2))
                .map_err(execution)?;
            batches.push(batch);
        }
        drop(stream);
        let result = to_result(&schema, &batches)?;
        let skipped_files: Vec<(String, String)> = self
            .bad_files
            .among(&files)
            .into_iter()
            .map(|b| (b.file, b.reason))
            .collect();
        // An answer that stepped over a file is not the files' answer: not kept.
        if let Some((cache, key)) = &answer
            && skipped_files.is_empty()
            && held.size() / 2 <= result_cache::MAX_RESULT_BYTES
        {
            cache.put(key, &answer_schema, &batches);
            keep_shortcut(key);
        }
        Ok(QueryOutput {
            result,
            stats: stats(skipped_files, false),
        })
    }
}

/// The answer of a [`Shortcut`] kept under `key` that still holds, if any.
fn by_shortcut(
    cache: &ColumnarCache,
    key: &str,
    started: Instant,
) -> Option<Result<QueryOutput, EngineError>> {
    let shortcut: Shortcut = serde_json::from_slice(&cache.get_bytes(key)?).ok()?;
    if !shortcut.holds(key) {
        return None;
    }
    let (schema, batches) = cache.get_any(&shortcut.answer)?;
    let (files, bytes_scanned) = shortcut.files();
    Some(to_result(&schema, &batches).map(|result| QueryOutput {
        result,
        stats: QueryStats {
            bytes_scanned,
            elapsed: started.elapsed(),
            files,
            query_id: None,
            skipped_files: Vec::new(),
            from_cache: true,
        },
    }))
}

async fn raw_table(
    ctx: &SessionContext,
    root: &Path,
    table: Table,
    bad_files: &Arc<BadFiles>,
    cache: Option<&Arc<ColumnarCache>>,
) -> Result<Arc<dyn TableProvider>, EngineError> {
    let dir = root.join(table.name());
    if !dir.is_dir() {
        let mut fields: Vec<_> = file_schema(table).fields().iter().cloned().collect();
        fields.push(Arc::new(partition_field()));
        return Ok(Arc::new(EmptyTable::new(Arc::new(Schema::new(fields)))));
    }
    let dir_text = format!("{}/", dir.display());
    // Names starting with `.` or `_` are not data (files in progress, `_SUCCESS`,
    // `.DS_Store`): Athena and Hive skip them, and so does this engine.
    let url = ListingTableUrl::parse(&dir_text)
        .and_then(|u| u.with_glob(DATA_FILE_GLOB))
        .map_err(setup)?;
    // Gzip JSON lines, read record by record as the tables' SerDe reads them.
    let format = LenientJsonFormat::new(table, Arc::clone(bad_files), cache.cloned());
    // Any file name: Firehose writes `<stream>-…-<uuid>.gz`, cplogs `….json.gz`.
    // Every row of a file has its folder's dt, so each file is sorted by dt (see
    // `preserve_file_partitions` above). DataFusion keeps the order only where it
    // proves it from the files' dt values, else it drops it.
    let options = ListingOptions::new(Arc::new(format))
        .with_file_extension("")
        .with_table_partition_cols(vec![(PARTITION_KEY.to_owned(), DataType::Utf8)])
        .with_file_sort_order(vec![vec![col(PARTITION_KEY).sort(true, false)]]);
    options
        .validate_partitions(&ctx.state(), &url)
        .await
        .map_err(setup)?;
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(file_schema(table));
    Ok(Arc::new(ListingTable::try_new(config).map_err(setup)?))
}

/// The SQL statement of `statement`, also under `EXPLAIN [ANALYZE]`: DataFusion parses
/// an EXPLAIN into its own node around the statement, so what is rewritten in a
/// statement is rewritten in its EXPLAIN too.
fn sql_statement(statement: &mut DfStatement) -> Option<&mut SqlStatement> {
    match statement {
        DfStatement::Statement(stmt) => Some(stmt.as_mut()),
        DfStatement::Explain(explain) => sql_statement(explain.statement.as_mut()),
        _ => None,
    }
}

/// Numbers the `?` placeholders `$1…$n` in order of appearance and returns how many
/// there were. Values are bound to them later, as typed parameters.
fn number_placeholders(statement: &mut DfStatement) -> Result<usize, EngineError> {
    let Some(stmt) = sql_statement(statement) else {
        return Ok(0);
    };
    let mut positions = Vec::new();
    let other = visit_expressions_mut(&mut *stmt, |e| {
        if let Expr::Value(v) = e
            && let SqlValue::Placeholder(p) = &v.value
        {
            if p != "?" {
                return ControlFlow::Break(p.clone());
            }
            positions.push((v.span.start.line, v.span.start.column));
        }
        ControlFlow::Continue(())
    });
    if let ControlFlow::Break(p) = other {
        return Err(EngineError::Invalid(format!(
            "unsupported placeholder {p}: use ?"
        )));
    }
    positions.sort_unstable();
    let _ = visit_expressions_mut(&mut *stmt, |e| {
        if let Expr::Value(v) = e
            && let SqlValue::Placeholder(p) = &mut v.value
        {
            let at = (v.span.start.line, v.span.start.column);
            if let Ok(i) = positions.binary_search(&at) {
                *p = format!("${}", i + 1);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    Ok(positions.len())
}

/// Rewrites Trino's `try(from_iso8601_timestamp(x))` to the engine's NULL-returning
/// parser. A `try` around anything else stays as it is and fails as an unknown
/// function: DataFusion evaluates function arguments before the call, so a general
/// `try` cannot catch their errors.
fn rewrite_try(statement: &mut DfStatement) {
    let Some(stmt) = sql_statement(statement) else {
        return;
    };
    let _ = visit_expressions_mut(&mut *stmt, |e| {
        if let Expr::Function(f) = e
            && f.name.to_string().eq_ignore_ascii_case("try")
            && let FunctionArguments::List(list) = &f.args
            && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Function(inner)))] =
                list.args.as_slice()
            && inner
                .name
                .to_string()
                .eq_ignore_ascii_case("from_iso8601_timestamp")
        {
            let mut parser = inner.clone();
            parser.name = ObjectName::from(vec![Ident::new(TRY_FROM_ISO8601_TIMESTAMP)]);
            *e = Expr::Function(parser);
        }
        ControlFlow::<()>::Continue(())
    });
}

/// The engine error a DataFusion error stands for: a bad file, the memory limit, or
/// a failure in the engine.
fn execution_error(e: DataFusionError, limit: u64) -> EngineError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(c) = cause {
        if let Some(bad) = c.downcast_ref::<BadFile>() {
            return EngineError::BadFile {
                file: bad.file.clone(),
                reason: bad.reason.clone(),
            };
        }
        cause = c.source();
    }
    let text = e.to_string();
    if matches!(e.find_root(), DataFusionError::ResourcesExhausted(_))
        || text.contains("Resources exhausted")
    {
        // DataFusion lists the largest consumers on indented lines; they say what
        // grew (the result, a join, a sort) in one line.
        let root = e.find_root().to_string();
        let consumers: Vec<&str> = root
            .lines()
            .filter(|l| l.starts_with("  "))
            .map(|l| l.trim().trim_end_matches([',', '.']))
            .collect();
        let detail = if consumers.is_empty() {
            root.lines().next().unwrap_or_default().to_owned()
        } else {
            format!("largest: {}", consumers.join("; "))
        };
        return EngineError::OutOfMemory {
            limit: Size(limit).to_string(),
            detail,
        };
    }
    EngineError::Execution(text)
}

/// The files `plan` reads, each once, in path order.
fn files_scanned(plan: &Arc<dyn ExecutionPlan>) -> Vec<ObjectMeta> {
    let mut files = BTreeMap::new();
    let _ = plan.apply(|node| {
        if let Some(exec) = node.downcast_ref::<DataSourceExec>()
            && let Some(scan) = exec.data_source().downcast_ref::<FileScanConfig>()
        {
            for group in &scan.file_groups {
                for f in group.iter() {
                    files
                        .entry(f.object_meta.location.clone())
                        .or_insert_with(|| f.object_meta.clone());
                }
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    files.into_values().collect()
}

fn kind_of(t: &DataType) -> Kind {
    match t {
        DataType::Boolean => Kind::Bool,
        t if t.is_integer() => Kind::Int,
        t if t.is_floating()
            || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) =>
        {
            Kind::Float
        }
        _ => Kind::Text,
    }
}

fn column_values(array: &ArrayRef) -> Result<Vec<Value>, EngineError> {
    let exec = |e: datafusion::arrow::error::ArrowError| EngineError::Execution(e.to_string());
    let n = array.len();
    let valid = |i: usize| array.is_valid(i);
    Ok(match array.data_type() {
        DataType::Null => vec![Value::Null; n],
        DataType::Boolean => {
            let a = array.as_boolean();
            (0..n)
                .map(|i| {
                    if valid(i) {
                        Value::Bool(a.value(i))
                    } else {
                        Value::Null
                    }
                })
                .collect()
        }
        t if t.is_integer() => {
            let c = cast(array, &DataType::Int64).map_err(exec)?;
            let a = c.as_primitive::<Int64Type>();
            (0..n)
                .map(|i| {
                    if valid(i) {
                        Value::Int(a.value(i))
                    } else {
                        Value::Null
                    }
                })
                .collect()
        }
        t if kind_of(t) == Kind::Float => {
            let c = cast(array, &DataType::Float64).map_err(exec)?;
            let a = c.as_primitive::<Float64Type>();
            (0..n)
                .map(|i| {
                    if valid(i) {
                        Value::Float(a.value(i))
                    } else {
                        Value::Null
                    }
                })
                .collect()
        }
        DataType::Timestamp(..) => {
            let c = cast(
                array,
                &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            )
            .map_err(exec)?;
            let a = c.as_primitive::<datafusion::arrow::datatypes::TimestampMillisecondType>();
            (0..n)
                .map(
                    |i| match valid(i).then(|| format_iso8601(a.value(i))).flatten() {
                        Some(t) => Value::Text(t),
                        None => Value::Null,
                    },
                )
                .collect()
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let c = cast(array, &DataType::Utf8).map_err(exec)?;
            let a = c.as_string::<i32>();
            (0..n)
                .map(|i| {
                    if valid(i) {
                        Value::Text(a.value(i).to_owned())
                    } else {
                        Value::Null
                    }
                })
                .collect()
        }
        _ => {
            let f =
                ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default()).map_err(exec)?;
            (0..n)
                .map(|i| {
                    if valid(i) {
                        Value::Text(f.value(i).to_string())
                    } else {
                        Value::Null
                    }
                })
                .collect()
        }
    })
}

fn to_result(schema: &Schema, batches: &[RecordBatch]) -> Result<ResultSet, EngineError> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| ColumnInfo {
            name: f.name().clone(),
            kind: kind_of(f.data_type()),
        })
        .collect();
    let mut rows = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    for batch in batches {
        // Column by column, then each value moved into its row (not copied).
        let mut cols = batch
            .columns()
            .iter()
            .map(|c| column_values(c).map(Vec::into_iter))
            .collect::<Result<Vec<_>, _>>()?;
        for _ in 0..batch.num_rows() {
            rows.push(
                cols.iter_mut()
                    .map(|c| c.next().unwrap_or(Value::Null))
                    .collect(),
            );
        }
    }
    Ok(ResultSet { columns, rows })
}

impl QueryEngine for LocalEngine {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn run(&self, query: &Query) -> Result<QueryOutput, EngineError> {
        let started = Instant::now();
        let Some(limit) = self.timeout else {
            return self.run_unbounded(query, started).await;
        };
        // The clock runs on its own thread: an operator that computes without
        // yielding (a cross join feeding an aggregate) can keep every runtime worker
        // busy, and then no timer of the runtime would fire. Dropping the running
        // query stops it: DataFusion aborts its tasks (a task that never yields runs
        // on until the runtime is shut down, which the CLI does at once).
        let (fired, alarm) = tokio::sync::oneshot::channel::<()>();
        let (done, finished) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(limit) {
                let _ = fired.send(());
            }
        });
        let out = tokio::select! {
            out = self.run_unbounded(query, started) => out,
            _ = alarm => Err(EngineError::TimedOut(limit)),
        };
        drop(done);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::folder_times::age;
    use crate::ingest::PartitionWriter;
    use crate::ingest::demo::{DemoConfig, generate};

    #[tokio::test]
    async fn a_warm_statement_over_settled_folders_sets_up_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("logs");
        let mut config = DemoConfig::new(chrono::Utc::now());
        (config.pipelines, config.days) = (2, 3);
        let mut writer = PartitionWriter::new(&data, 1);
        generate(&config, &mut writer, |_| {}).unwrap();
        writer.finish().unwrap();
        age(&data);
        let options = LocalOptions {
            cache: Some((tmp.path().join("cache"), 1 << 30)),
            ..LocalOptions::default()
        };
        let query = Query::new("SELECT count(*) AS n FROM pipeline_execution_state_change");
        let run = || async {
            let engine = LocalEngine::open_with(&data, options.clone())
                .await
                .unwrap();
            let out = engine.run(&query).await.unwrap();
            (out, engine.session.initialized())
        };
        let (first, set_up) = run().await;
        assert!(!first.stats.from_cache && set_up);
        let (second, set_up) = run().await;
        assert!(second.stats.from_cache && !set_up, "{second:?}");
        assert_eq!(second.result, first.result);
        assert_eq!(second.stats.files, first.stats.files);
        assert_eq!(second.stats.bytes_scanned, first.stats.bytes_scanned);
        // A file more: the shortcut no longer holds, so the statement is planned.
        let day = std::fs::read_dir(data.join("pipeline_execution_state_change"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let file = std::fs::read_dir(&day)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        std::fs::copy(&file, day.join("copy.json.gz")).unwrap();
        let (third, set_up) = run().await;
        assert!(!third.stats.from_cache && set_up);
        assert_ne!(third.result, first.result);
    }
}
