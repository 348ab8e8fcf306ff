//! The local engine's reader of the tables' files: gzip JSON lines read the way the
//! Glue tables' OpenX JSON SerDe reads them on Athena, and files that cannot be read
//! at all named (or stepped over with `--skip-bad-files`).
//!
//! Record level, as the SerDe with `ignore.malformed.json` = `TRUE`
//! (`crate::core::schema::SERDE_PARAMETERS`):
//! - a line that is not a JSON object is a row of NULLs (its `dt` still set);
//! - a number or boolean where a string column is expected reads as its JSON text
//!   (`"version": 3` → `"3"`);
//! - a value of another wrong type (a string where a struct or an int is expected,
//!   an object where a string is) is NULL;
//! - unknown keys are ignored, missing keys are NULL.
//!
//! The files the transform writes (strict JSON, one object a line) are decoded by
//! the fast path in [`super::strict_lines`]; whatever it declines, by arrow-json here.
//!
//! File level: a file that is not gzip, is truncated or corrupt, or has no line that
//! is a JSON object is a [`BadFile`]: the query fails naming it, or, when the engine
//! skips bad files, the file reads as empty and is listed in [`BadFiles`].
//!
//! One cohesive thing (over 400 lines with tests): one lenient reader and how it fails.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, RecordBatch, RecordBatchOptions, StructArray, new_null_array,
};
use datafusion::arrow::datatypes::{DataType, Fields, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::ReaderBuilder;
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result, Statistics};
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{
    FileOpenFuture, FileOpener, FileScanConfig, FileSource,
};
use datafusion::datasource::projection::{ProjectionOpener, SplitProjection};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::projection::ProjectionExprs;
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};
use futures::StreamExt;

use super::arrow::json_schema;
use super::cache::{ColumnarCache, object_modified_ns};
use super::fields;
use super::strict_lines::LineDecoder;
use crate::core::schema::{Table, sql_name};

/// A data file that cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct BadFile {
    /// The file's path.
    pub file: String,
    /// What is wrong with it, e.g. `not gzip (invalid gzip header)`.
    pub reason: String,
}

/// The bad files an engine met, and whether it steps over them.
///
/// Shared by every scan of one engine: a bad file stays bad, so a file recorded
/// once is reported by every later query that reads it (see [`BadFiles::among`]).
#[derive(Debug, Default)]
pub struct BadFiles {
    skip: bool,
    seen: Mutex<BTreeMap<String, String>>,
}

impl BadFiles {
    /// A registry; `skip` makes bad files read as empty instead of failing a query.
    pub fn new(skip: bool) -> Self {
        BadFiles {
            skip,
            seen: Mutex::new(BTreeMap::new()),
        }
    }

    /// Whether bad files are stepped over.
    pub fn skips(&self) -> bool {
        self.skip
    }

    fn record(&self, bad: &BadFile) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.insert(bad.file.clone(), bad.reason.clone());
        }
    }

    /// The recorded bad files among `files` (paths as [`display_path`] gives them).
    pub fn among(&self, files: &[String]) -> Vec<BadFile> {
        let Ok(seen) = self.seen.lock() else {
            return Vec::new();
        };
        files
            .iter()
            .filter_map(|f| {
                seen.get(f).map(|reason| BadFile {
                    file: f.clone(),
                    reason: reason.clone(),
                })
            })
            .collect()
    }
}

/// The path of a local object as people know it (object store paths have no
/// leading `/`).
pub fn display_path(location: &datafusion::object_store::path::Path) -> String {
    format!("/{location}")
}

/// The file format of the tables: gzip JSON lines, read leniently record by record
/// and strictly file by file (see the module docs).
#[derive(Debug)]
pub struct LenientJsonFormat {
    inner: JsonFormat,
    table: Table,
    bad: Arc<BadFiles>,
    cache: Option<Arc<ColumnarCache>>,
}

impl LenientJsonFormat {
    /// `table`'s gzip JSON lines, with bad files recorded in (or, unless it skips
    /// them, failing the query through) `bad`, and decoded files kept in `cache`.
    pub fn new(table: Table, bad: Arc<BadFiles>, cache: Option<Arc<ColumnarCache>>) -> Self {
        LenientJsonFormat {
            // GZIP only tells the planner the files cannot be split into byte ranges:
            // the opener below gunzips them itself, and DataFusion is built without
            // its `compression` feature (it could not decode them).
            inner: JsonFormat::default().with_file_compression_type(FileCompressionType::GZIP),
            table,
            bad,
            cache,
        }
    }
}

#[async_trait]
impl FileFormat for LenientJsonFormat {
    fn get_ext(&self) -> String {
        self.inner.get_ext()
    }

    fn get_ext_with_compression(&self, c: &FileCompressionType) -> Result<String> {
        self.inner.get_ext_with_compression(c)
    }

    fn compression_type(&self) -> Option<FileCompressionType> {
        self.inner.compression_type()
    }

    async fn infer_schema(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        objects: &[ObjectMeta],
    ) -> Result<SchemaRef> {
        self.inner.infer_schema(state, store, objects).await
    }

    async fn infer_stats(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        table_schema: SchemaRef,
        object: &ObjectMeta,
    ) -> Result<Statistics> {
        self.inner
            .infer_stats(state, store, table_schema, object)
            .await
    }

    async fn create_physical_plan(
        &self,
        state: &dyn Session,
        conf: FileScanConfig,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner.create_physical_plan(state, conf).await
    }

    fn file_source(&self, table_schema: TableSchema) -> Arc<dyn FileSource> {
        Arc::new(LenientSource {
            projection: SplitProjection::unprojected(&table_schema),
            table_schema,
            json_schema: json_schema(self.table),
            batch_size: None,
            metrics: ExecutionPlanMetricsSet::new(),
            bad: Arc::clone(&self.bad),
            cache: self.cache.clone(),
        })
    }
}

/// The scan side of [`LenientJsonFormat`].
#[derive(Clone)]
struct LenientSource {
    table_schema: TableSchema,
    /// The file columns as the JSON spells them ([`json_schema`]), in the order of
    /// the table schema's.
    json_schema: SchemaRef,
    batch_size: Option<usize>,
    metrics: ExecutionPlanMetricsSet,
    projection: SplitProjection,
    bad: Arc<BadFiles>,
    cache: Option<Arc<ColumnarCache>>,
}

impl FileSource for LenientSource {
    fn create_file_opener(
        &self,
        object_store: Arc<dyn ObjectStore>,
        _base_config: &FileScanConfig,
        _partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        let file_schema = self.table_schema.file_schema();
        let schema = Arc::new(file_schema.project(&self.projection.file_indices)?);
        let keys = fields::narrow(
            &self.projection.source,
            &self.projection.file_indices,
            &self.json_schema.project(&self.projection.file_indices)?,
        );
        let opener = Arc::new(LenientOpener {
            batch_size: self.batch_size.unwrap_or(8192),
            schema,
            keys,
            store: object_store,
            bad: Arc::clone(&self.bad),
            cache: self.cache.clone(),
        });
        // Partition columns (dt) and the projection are added around the file's
        // columns, as for DataFusion's own formats.
        ProjectionOpener::try_new(self.projection.clone(), opener, file_schema)
    }

    fn table_schema(&self) -> &TableSchema {
        &self.table_schema
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        let mut source = self.clone();
        source.batch_size = Some(batch_size);
        Arc::new(source)
    }

    fn try_pushdown_projection(
        &self,
        projection: &ProjectionExprs,
    ) -> Result<Option<Arc<dyn FileSource>>> {
        let mut source = self.clone();
        let merged = self.projection.source.try_merge(projection)?;
        source.projection = SplitProjection::new(self.table_schema.file_schema(), &merged);
        Ok(Some(Arc::new(source)))
    }

    fn projection(&self) -> Option<&ProjectionExprs> {
        Some(&self.projection.source)
    }

    fn metrics(&self) -> &ExecutionPlanMetricsSet {
        &self.metrics
    }

    fn file_type(&self) -> &str {
        "json"
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        datafusion::physical_plan::apply_expression_roots(self.projection.source.iter(), f)
    }
}

struct LenientOpener {
    batch_size: usize,
    /// The columns the scan returns.
    schema: SchemaRef,
    /// The same columns under the JSON's keys, struct columns narrowed to the fields
    /// read ([`fields::narrow`]): what is decoded, and cached.
    keys: SchemaRef,
    store: Arc<dyn ObjectStore>,
    bad: Arc<BadFiles>,
    cache: Option<Arc<ColumnarCache>>,
}

impl FileOpener for LenientOpener {
    fn open(&self, file: PartitionedFile) -> Result<FileOpenFuture> {
        let store = Arc::clone(&self.store);
        let schema = Arc::clone(&self.schema);
        let keys = Arc::clone(&self.keys);
        let batch_size = self.batch_size;
        let bad = Arc::clone(&self.bad);
        let cache = self.cache.clone();
        Ok(Box::pin(async move {
            // Gzip files are never split into ranges; a range that does not start
            // the file would repeat its rows, so it reads nothing.
            if file.range.as_ref().is_some_and(|r| r.start > 0) {
                return Ok(futures::stream::empty().boxed());
            }
            let location = file.object_meta.location.clone();
            // The file as it is now: a rewritten file has another size or time.
            let key = cache.as_ref().map(|_| {
                ColumnarCache::key(
                    location.as_ref(),
                    file.object_meta.size,
                    object_modified_ns(&file.object_meta),
                    &keys,
                )
            });
            // What was decoded (under the JSON's keys) is what is cached; the scan's
            // names are put on after.
            let named = |batches: Vec<RecordBatch>| {
                let named = batches.into_iter().map(move |b| {
                    relabel(b, &schema).map_err(|e| DataFusionError::ArrowError(Box::new(e), None))
                });
                futures::stream::iter(named).boxed()
            };
            if let (Some(c), Some(k)) = (&cache, &key)
                && let Some(batches) = c.get(k, &keys)
            {
                return Ok(named(batches));
            }
            let bytes = store.get(&location).await?.bytes().await?;
            // The whole file is decoded before its first row is returned, so a
            // file that turns out truncated at its end adds no rows at all.
            match read_file(&bytes, &keys, batch_size) {
                Ok(batches) => {
                    if let (Some(c), Some(k)) = (&cache, &key) {
                        c.put(k, &keys, &batches);
                    }
                    Ok(named(batches))
                }
                Err(reason) => {
                    let bad_file = BadFile {
                        file: display_path(&location),
                        reason,
                    };
                    bad.record(&bad_file);
                    if bad.skips() {
                        Ok(futures::stream::empty().boxed())
                    } else {
                        Err(DataFusionError::External(Box::new(bad_file)))
                    }
                }
            }
        }))
    }
}

impl fmt::Debug for LenientOpener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LenientOpener").finish_non_exhaustive()
    }
}

/// `batch` (decoded under the JSON's keys, structs perhaps narrowed to some fields)
/// under `schema`: the same columns, named as the scan names them. Arrays are
/// re-wrapped, not copied.
fn relabel(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let rows = batch.num_rows();
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(
            |(array, field)| match (array.as_struct_opt(), field.data_type()) {
                (Some(s), DataType::Struct(fields)) => struct_under(s, fields),
                _ => Ok(Arc::clone(array)),
            },
        )
        .collect::<Result<Vec<_>, ArrowError>>()?;
    RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )
}

/// A decoded struct under `fields` (its fields' SQL names, in the schema's order); a
/// field that was not decoded is all NULL.
fn struct_under(decoded: &StructArray, fields: &Fields) -> Result<ArrayRef, ArrowError> {
    let children = fields
        .iter()
        .map(|want| {
            let at = decoded
                .fields()
                .iter()
                .position(|f| sql_name(f.name()) == *want.name());
            match at {
                Some(i) => Arc::clone(decoded.column(i)),
                None => new_null_array(want.data_type(), decoded.len()),
            }
        })
        .collect();
    let nulls = decoded.nulls().cloned();
    Ok(Arc::new(StructArray::try_new(
        fields.clone(),
        children,
        nulls,
    )?))
}

/// Decompresses a whole file; the error says why it is not readable gzip.
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    check_gzip_header(bytes)?;
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    // JSON lines compress about 8:1; the guess is capped so a large file grows the
    // buffer as it goes instead of reserving it all at once.
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(8).min(64 << 20));
    Gunzip::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| gzip_error(&e))?;
    Ok(out)
}

/// Reads one file's records into batches of `schema`, or says why the file cannot be
/// read at all.
pub fn read_file(
    bytes: &[u8],
    schema: &SchemaRef,
    batch_size: usize,
) -> Result<Vec<RecordBatch>, String> {
    check_gzip_header(bytes)?;
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    // Nearly every file is strict JSON lines, as the transform writes them: the fast
    // decoder reads those. What it declines goes to arrow-json's decoder, gunzipped in
    // slices so the text is never held whole. Only a file with a line that is not a
    // JSON object is read again, whole, line by line.
    if let Some(batches) = decode_strict(bytes, schema, batch_size)? {
        return Ok(batches);
    }
    match decode_stream(bytes, schema, batch_size)? {
        Some(batches) => Ok(batches),
        None => read_lenient(&gunzip(bytes)?, schema, batch_size),
    }
}

fn check_gzip_header(bytes: &[u8]) -> Result<(), String> {
    if bytes.is_empty() || bytes.starts_with(&[0x1f, 0x8b]) {
        Ok(())
    } else {
        Err("not gzip (invalid gzip header)".into())
    }
}

fn gzip_error(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        format!("truncated gzip ({e})")
    } else {
        format!("corrupt gzip ({e})")
    }
}

/// A file's gzip stream. Several members in one file are one stream, as Hadoop's
/// codec reads them; the file is in memory, so inflate reads it directly (bufread).
type Gunzip<'a> = flate2::bufread::MultiGzDecoder<&'a [u8]>;

/// Inflates the next slice of `gz` into `buf`: how much was written, 0 at the end.
fn inflate_slice(gz: &mut Gunzip<'_>, buf: &mut [u8]) -> Result<usize, String> {
    loop {
        match gz.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            read => return read.map_err(|e| gzip_error(&e)),
        }
    }
}

/// Gunzips `bytes` slice by slice into the fast decoder ([`LineDecoder`]), whole
/// lines at a time. `Ok(None)` when it declines the text; a gzip fault is an error.
fn decode_strict(
    bytes: &[u8],
    schema: &SchemaRef,
    batch_size: usize,
) -> Result<Option<Vec<RecordBatch>>, String> {
    let Some(mut decoder) = LineDecoder::new(schema, batch_size) else {
        return Ok(None);
    };
    let mut gz = Gunzip::new(bytes);
    let mut buf = vec![0u8; 1 << 20];
    // buf[..filled] holds the start of a line that has not ended yet.
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            // One line longer than the buffer.
            buf.resize(buf.len() * 2, 0);
        }
        let n = inflate_slice(&mut gz, &mut buf[filled..])?;
        if n == 0 {
            break;
        }
        let end = filled + n;
        if let Some(at) = memchr::memrchr(b'\n', &buf[filled..end]) {
            let cut = filled + at + 1;
            if decoder.decode(&buf[..cut]).is_err() {
                return Ok(None);
            }
            buf.copy_within(cut..end, 0);
            filled = end - cut;
        } else {
            filled = end;
        }
    }
    if decoder.decode(&buf[..filled]).is_err() {
        return Ok(None);
    }
    Ok(decoder.finish().ok())
}

/// Gunzips `bytes` slice by slice into Arrow's JSON decoder. `Ok(None)` when the text
/// is not clean JSON lines (the caller reads it leniently); a gzip fault is an error.
fn decode_stream(
    bytes: &[u8],
    schema: &SchemaRef,
    batch_size: usize,
) -> Result<Option<Vec<RecordBatch>>, String> {
    let Ok(mut decoder) = json_decoder(schema, batch_size) else {
        return Ok(None);
    };
    let mut gz = Gunzip::new(bytes);
    let mut buf = vec![0u8; 1 << 20];
    let mut batches = Vec::new();
    let mut clean = true;
    loop {
        let n = inflate_slice(&mut gz, &mut buf)?;
        if n == 0 {
            break;
        }
        if !clean {
            // Keep reading to the end: a gzip fault still makes the file unreadable.
            continue;
        }
        let mut rest = &buf[..n];
        while clean && !rest.is_empty() {
            match decoder.decode(rest) {
                Ok(0) => match decoder.flush() {
                    // The decoder is full: take a batch out before feeding it more.
                    Ok(Some(b)) => batches.push(b),
                    _ => clean = false,
                },
                Ok(used) => rest = &rest[used..],
                Err(_) => clean = false,
            }
            if clean && decoder.len() >= batch_size {
                match decoder.flush() {
                    Ok(Some(b)) => batches.push(b),
                    Ok(None) => {}
                    Err(_) => clean = false,
                }
            }
        }
    }
    if !clean {
        return Ok(None);
    }
    match decoder.flush() {
        Ok(Some(b)) => batches.push(b),
        Ok(None) => {}
        Err(_) => return Ok(None),
    }
    Ok(Some(batches))
}

/// Reads text with lines that may not be JSON objects, as the SerDe with
/// `ignore.malformed.json` does.
fn read_lenient(
    text: &[u8],
    schema: &SchemaRef,
    batch_size: usize,
) -> Result<Vec<RecordBatch>, String> {
    // Some line is not a JSON object: it becomes a row of NULLs, as with the SerDe's
    // ignore.malformed.json. Only in this (rare) case is each line checked.
    let mut cleaned = Vec::with_capacity(text.len());
    let (mut good, mut bad) = (0usize, 0usize);
    let mut first_bad = None;
    for (n, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if is_json_object(line) && decode(line, schema, 1).is_ok() {
            cleaned.extend_from_slice(line);
            good += 1;
        } else {
            cleaned.extend_from_slice(b"{}");
            bad += 1;
            first_bad.get_or_insert(n + 1);
        }
        cleaned.push(b'\n');
    }
    if good == 0 && bad > 0 {
        return Err(format!(
            "not JSON lines (none of its {bad} line(s) is a JSON object; line {} is the first)",
            first_bad.unwrap_or(1)
        ));
    }
    decode(&cleaned, schema, batch_size).map_err(|e| format!("cannot be decoded ({e})"))
}

fn is_json_object(line: &[u8]) -> bool {
    let first = line.iter().find(|b| !b.is_ascii_whitespace());
    first == Some(&b'{') && serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok()
}

/// Arrow's JSON decoder with the SerDe's type rules: numbers and booleans read as
/// text for string columns, other type conflicts NULL.
fn json_decoder(
    schema: &SchemaRef,
    batch_size: usize,
) -> Result<datafusion::arrow::json::reader::Decoder, ArrowError> {
    ReaderBuilder::new(Arc::clone(schema))
        .with_batch_size(batch_size)
        .with_coerce_primitive(true)
        .with_ignore_type_conflicts(true)
        .build_decoder()
}

/// Decodes clean JSON lines with [`json_decoder`].
pub(super) fn decode(
    text: &[u8],
    schema: &SchemaRef,
    batch_size: usize,
) -> Result<Vec<RecordBatch>, String> {
    let err = |e: ArrowError| e.to_string();
    let mut decoder = json_decoder(schema, batch_size).map_err(err)?;
    let mut batches = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let used = decoder.decode(rest).map_err(err)?;
        if used == 0 {
            // The decoder is full: take a batch out before feeding it more.
            match decoder.flush().map_err(err)? {
                Some(b) => batches.push(b),
                None => return Err("the JSON decoder made no progress".into()),
            }
        }
        rest = &rest[used..];
        if decoder.len() >= batch_size
            && let Some(b) = decoder.flush().map_err(err)?
        {
            batches.push(b);
        }
    }
    if let Some(b) = decoder.flush().map_err(err)? {
        batches.push(b);
    }
    Ok(batches)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use datafusion::arrow::datatypes::Int32Type;

    use super::*;
    use crate::engine::arrow::{file_schema, json_schema};

    fn gz(text: &str) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    fn rows(text: &str, table: Table) -> RecordBatch {
        let schema = json_schema(table);
        let batches = read_file(&gz(text), &schema, 1024).unwrap();
        datafusion::arrow::compute::concat_batches(&schema, &batches).unwrap()
    }

    fn texts(batch: &RecordBatch, column: &str) -> Vec<Option<String>> {
        let a = batch.column_by_name(column).unwrap().as_string::<i32>();
        a.iter().map(|v| v.map(str::to_owned)).collect()
    }

    #[test]
    fn wrong_json_types_read_as_the_serde_reads_them() {
        let b = rows(
            concat!(
                r#"{"pipeline":"a","version":3,"state":true,"executionAttempt":"2"}"#,
                "\n",
                r#"{"pipeline":"b","version":"4","type":"Build","executionAttempt":"x"}"#,
                "\n",
                r#"{"pipeline":{"nested":1},"type":{"owner":"AWS","version":1}}"#,
                "\n",
            ),
            Table::Action,
        );
        assert_eq!(
            texts(&b, "version"),
            [Some("3".into()), Some("4".into()), None]
        );
        assert_eq!(texts(&b, "state"), [Some("true".into()), None, None]);
        assert_eq!(
            texts(&b, "pipeline"),
            [Some("a".into()), Some("b".into()), None]
        );
        let attempt = b
            .column_by_name("executionAttempt")
            .unwrap()
            .as_primitive::<Int32Type>();
        assert_eq!(attempt.iter().collect::<Vec<_>>(), [Some(2), None, None]);
        let ty = b.column_by_name("type").unwrap().as_struct();
        assert!(ty.is_null(1), "a string where a struct is expected is NULL");
        assert!(ty.is_valid(2));
        let version = ty.column_by_name("version").unwrap().as_string::<i32>();
        assert_eq!(version.value(2), "1");
    }

    #[test]
    fn struct_fields_take_their_sql_names_and_keep_their_values() {
        let b = rows(
            concat!(
                r#"{"pipeline":"a","executionResult":{"errorCode":"E1","externalExecutionUrl":"u"}}"#,
                "\n",
                r#"{"pipeline":"b"}"#,
                "\n",
                r#"{"pipeline":"c","executionResult":{"externalExecutionId":"x"}}"#,
                "\n",
            ),
            Table::Action,
        );
        let b = relabel(b, &file_schema(Table::Action)).unwrap();
        assert_eq!(b.schema(), file_schema(Table::Action));
        let result = b.column_by_name("executionResult").unwrap().as_struct();
        assert!(result.is_valid(0) && result.is_null(1) && result.is_valid(2));
        let field = |name: &str| -> Vec<Option<String>> {
            let a = result.column_by_name(name).unwrap().as_string::<i32>();
            (0..3)
                .map(|i| {
                    result
                        .is_valid(i)
                        .then(|| a.is_valid(i).then(|| a.value(i).to_owned()))
                        .flatten()
                })
                .collect()
        };
        assert_eq!(field("errorcode"), [Some("E1".into()), None, None]);
        assert_eq!(
            field("externalexecutionurl"),
            [Some("u".into()), None, None]
        );
        assert_eq!(field("externalexecutionid"), [None, None, Some("x".into())]);
        // No column read (count(*)): the rows are still counted.
        let empty = Arc::new(datafusion::arrow::datatypes::Schema::empty());
        let counted = relabel(b.project(&[]).unwrap(), &empty).unwrap();
        assert_eq!(counted.num_rows(), 3);
    }

    #[test]
    fn a_malformed_line_is_a_row_of_nulls() {
        let b = rows(
            "{\"pipeline\":\"a\"}\n{\"pipeline\": \"b\", oops}\n\n[1,2]\n{\"pipeline\":\"c\"}\r\n",
            Table::Pipeline,
        );
        assert_eq!(
            texts(&b, "pipeline"),
            [Some("a".into()), None, None, Some("c".into())]
        );
    }

    #[test]
    fn files_that_cannot_be_read_say_why() {
        let schema = json_schema(Table::Pipeline);
        let err = read_file(b"plain text", &schema, 8).unwrap_err();
        assert_eq!(err, "not gzip (invalid gzip header)");
        let whole = gz(&"{\"pipeline\":\"a\"}\n".repeat(1000));
        let err = read_file(&whole[..whole.len() / 2], &schema, 8).unwrap_err();
        assert!(err.starts_with("truncated gzip"), "{err}");
        let mut corrupt = whole.clone();
        let n = corrupt.len();
        corrupt[n - 6] ^= 0xff; // the CRC
        let err = read_file(&corrupt, &schema, 8).unwrap_err();
        assert!(err.starts_with("corrupt gzip"), "{err}");
        let err = read_file(&gz("a,b,c\n1,2,3\n"), &schema, 8).unwrap_err();
        assert!(err.starts_with("not JSON lines"), "{err}");
        assert!(read_file(b"", &schema, 8).unwrap().is_empty());
        assert!(read_file(&gz(""), &schema, 8).unwrap().is_empty());
    }

    #[test]
    fn files_larger_than_a_slice_read_the_same() {
        // Lines cross the 1 MiB slices fed to the decoder; a bad line far past the
        // first slice still makes one row of NULLs, and a cut file is still refused.
        let line = |i: usize| format!("{{\"pipeline\":\"p{i}-{}\"}}\n", "x".repeat(i % 300));
        let mut text: String = (0..20_000).map(line).collect();
        let clean = rows(&text, Table::Pipeline);
        assert_eq!(clean.num_rows(), 20_000);
        assert_eq!(
            texts(&clean, "pipeline")[12_345],
            Some(format!("p12345-{}", "x".repeat(45)))
        );
        text.push_str("{\"pipeline\": oops}\n{\"pipeline\":\"last\"}\n");
        let lenient = rows(&text, Table::Pipeline);
        let names = texts(&lenient, "pipeline");
        assert_eq!(names.len(), 20_002);
        assert_eq!(names[20_000], None);
        assert_eq!(names[20_001].as_deref(), Some("last"));
        let whole = gz(&text);
        let schema = json_schema(Table::Pipeline);
        let err = read_file(&whole[..whole.len() - 100], &schema, 1024).unwrap_err();
        assert!(err.starts_with("truncated gzip"), "{err}");
    }

    #[test]
    fn a_line_longer_than_a_slice_reads_whole() {
        // 3 MiB in one value: the fast path's buffer grows to hold the whole line.
        let long = "y".repeat(3 << 20);
        let text = format!(
            "{{\"pipeline\":\"a\"}}\n{{\"pipeline\":\"{long}\"}}\n{{\"pipeline\":\"c\"}}\n"
        );
        let names = texts(&rows(&text, Table::Pipeline), "pipeline");
        assert_eq!(names, [Some("a".into()), Some(long), Some("c".into())]);
        let batches = decode_strict(&gz(&text), &json_schema(Table::Pipeline), 1024).unwrap();
        assert!(batches.is_some(), "strict JSON lines take the fast path");
    }

    #[test]
    fn only_row_counts_when_no_column_is_read() {
        let empty = Arc::new(datafusion::arrow::datatypes::Schema::empty());
        let batches = read_file(&gz("{\"a\":1}\n{\"b\":2}\nnot json\n"), &empty, 1).unwrap();
        let n: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(n, 3);
    }
}
