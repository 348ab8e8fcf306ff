//! `cplogs ingest`: EventBridge events from files (one object, an array, or JSON lines)
//! through the shared transform into the bucket's layout on local disk, as gzip JSON
//! lines under `<dir>/<table>/dt=YYYY-MM-DD/`.
//!
//! One cohesive thing (over 400 lines with tests): reading events and writing partition files.

#[cfg(feature = "cloud")]
pub mod backfill;
pub mod demo;
pub mod legacy;
pub mod replay;
pub mod split;
#[cfg(feature = "cloud")]
pub mod stored;

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::core::layout::partition_prefix;
use crate::core::transform::{Routed, transform_into};
use crate::ingest::split::{SplitError, split_events};
use flate2::Compression;
use flate2::write::GzEncoder;

/// An I/O failure while writing records (the input's own faults are [`Rejection`]s).
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}")]
pub struct WriteError {
    /// The file or folder involved.
    pub path: PathBuf,
    /// What failed.
    #[source]
    pub source: io::Error,
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError {
        path: path.to_owned(),
        source,
    }
}

/// Where transformed records go.
pub trait RecordSink {
    /// Takes one record line (ending in `\n`) of the partition `routed`.
    fn write(&mut self, routed: Routed, line: &[u8]) -> Result<(), WriteError>;
}

/// Writes records to any `impl Write` as JSON lines (`ingest --print`).
pub struct PrintSink<W: Write> {
    out: W,
}

impl<W: Write> PrintSink<W> {
    /// Prints to `out`.
    pub fn new(out: W) -> Self {
        PrintSink { out }
    }
    /// Flushes and returns the writer.
    pub fn finish(mut self) -> Result<W, WriteError> {
        self.out.flush().map_err(at(Path::new("<stdout>")))?;
        Ok(self.out)
    }
}

impl<W: Write> RecordSink for PrintSink<W> {
    fn write(&mut self, _: Routed, line: &[u8]) -> Result<(), WriteError> {
        self.out.write_all(line).map_err(at(Path::new("<stdout>")))
    }
}

/// What a [`PartitionWriter`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Files written, in the order they were completed.
    pub files: Vec<PathBuf>,
    /// Records written into completed files.
    pub records: u64,
}

/// Memory for buffered records, across all partitions, before the largest buffers are
/// written out: it bounds the writer's memory whatever the spread of days.
pub const DEFAULT_BUFFER_BUDGET: usize = 64 << 20;

/// A partition's buffer is written out as one file once it holds this much (JSON
/// text; about a tenth of it once compressed).
pub const DEFAULT_FILE_BYTES: usize = 32 << 20;

/// Temporary files are named `.cplogs-….tmp`: hidden from Athena, Hive and the local
/// engine (names starting with `.`), and recognisable for [`remove_stale_temp_files`].
const TEMP_PREFIX: &str = ".cplogs-";
const TEMP_SUFFIX: &str = ".tmp";

#[derive(Default)]
struct Buffer {
    text: Vec<u8>,
    records: u64,
}

/// Writes records into `<root>/<table>/dt=YYYY-MM-DD/cplogs-<time>-<uuid>.json.gz`.
///
/// Records are buffered per partition in memory; a buffer becomes one file when it
/// reaches its size, when all buffers together exceed their budget (the largest are
/// written first), and on [`PartitionWriter::flush`]. So memory and open files stay
/// bounded (one file is open at a time) whatever the input, and a partition may get
/// several files. Each file is written under a hidden temporary name (`.cplogs-….tmp`,
/// created exclusively) and renamed into place only once complete; names carry a
/// random UUID, so a run never overwrites an earlier one. On any error the temporary
/// file is removed and the error names the file.
pub struct PartitionWriter {
    root: PathBuf,
    level: Compression,
    buffers: HashMap<Routed, Buffer>,
    /// Bytes held by `buffers` (their capacity, which is what memory pays for).
    buffered: usize,
    budget: usize,
    file_bytes: usize,
    summary: WriteSummary,
}

impl PartitionWriter {
    /// A writer under `root` with gzip `level` (0–9) and the default memory budget.
    pub fn new(root: impl Into<PathBuf>, level: u32) -> Self {
        Self::with_limits(root, level, DEFAULT_BUFFER_BUDGET, DEFAULT_FILE_BYTES)
    }

    /// A writer that holds at most about `budget` bytes of records in memory and
    /// writes a partition's buffer out once it holds `file_bytes`.
    pub fn with_limits(
        root: impl Into<PathBuf>,
        level: u32,
        budget: usize,
        file_bytes: usize,
    ) -> Self {
        PartitionWriter {
            root: root.into(),
            level: Compression::new(level.min(9)),
            buffers: HashMap::new(),
            buffered: 0,
            budget: budget.max(1),
            file_bytes: file_bytes.max(1),
            summary: WriteSummary::default(),
        }
    }

    /// Bytes of records held in memory (their buffers' capacity).
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// Writes out the buffer of `routed` as one complete file.
    fn write_out(&mut self, routed: Routed) -> Result<(), WriteError> {
        let Some(buffer) = self.buffers.remove(&routed) else {
            return Ok(());
        };
        self.buffered -= buffer.text.capacity();
        if buffer.text.is_empty() {
            return Ok(());
        }
        let path = write_file(&self.root, routed, &buffer.text, self.level)?;
        self.summary.files.push(path);
        self.summary.records += buffer.records;
        Ok(())
    }

    /// Writes out the largest buffers until they hold half the budget, so the next
    /// write-out is not due at once and files stay as large as memory allows.
    fn relieve(&mut self) -> Result<(), WriteError> {
        let mut by_size: Vec<(usize, Routed)> = self
            .buffers
            .iter()
            .map(|(r, b)| (b.text.capacity(), *r))
            .collect();
        by_size.sort_unstable_by(|a, b| b.cmp(a));
        for (_, routed) in by_size {
            if self.buffered <= self.budget / 2 {
                break;
            }
            self.write_out(routed)?;
        }
        Ok(())
    }

    /// Completes a file for every buffered partition, so the next records start new
    /// ones (`demo` completes one batch of files per day of arrival).
    pub fn flush(&mut self) -> Result<(), WriteError> {
        let mut pending: Vec<Routed> = self.buffers.keys().copied().collect();
        pending.sort();
        for routed in pending {
            self.write_out(routed)?;
        }
        Ok(())
    }

    /// Completes every file and says what was written.
    pub fn finish(mut self) -> Result<WriteSummary, WriteError> {
        self.flush()?;
        Ok(std::mem::take(&mut self.summary))
    }

    /// What has been written so far (completed files only).
    pub fn summary(&self) -> &WriteSummary {
        &self.summary
    }
}

impl RecordSink for PartitionWriter {
    fn write(&mut self, routed: Routed, line: &[u8]) -> Result<(), WriteError> {
        let buffer = self.buffers.entry(routed).or_default();
        let before = buffer.text.capacity();
        if buffer.text.is_empty() {
            // Sparse partitions hold a few records each: start small, grow by doubling.
            buffer.text.reserve_exact(line.len().max(1024));
        }
        buffer.text.extend_from_slice(line);
        buffer.records += 1;
        let (after, len) = (buffer.text.capacity(), buffer.text.len());
        self.buffered = self.buffered - before + after;
        if len >= self.file_bytes {
            self.write_out(routed)?;
        }
        if self.buffered > self.budget {
            self.relieve()?;
        }
        Ok(())
    }
}

/// Writes `text` gzipped as a new file of the partition `routed` under `root`: under
/// a hidden temporary name, renamed into place once complete. On error the temporary
/// file (and a partition folder this left empty) is removed and the error names the
/// file that could not be written.
fn write_file(
    root: &Path,
    routed: Routed,
    text: &[u8],
    level: Compression,
) -> Result<PathBuf, WriteError> {
    let dir = root.join(partition_prefix(routed.table, routed.dt));
    fs::create_dir_all(&dir).map_err(at(&dir))?;
    let name = format!(
        "cplogs-{}-{}.json.gz",
        chrono::Utc::now().format("%Y-%m-%d-%H-%M-%S"),
        uuid::Uuid::new_v4()
    );
    let path = dir.join(&name);
    let tmp = dir.join(format!(
        "{TEMP_PREFIX}{}{TEMP_SUFFIX}",
        &name["cplogs-".len()..]
    ));
    let written = (|| {
        let file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        let mut gz = GzEncoder::new(BufWriter::with_capacity(256 * 1024, file), level);
        gz.write_all(text)?;
        // `finish` writes the gzip trailer and `into_inner` flushes the buffer: both
        // report a full disk, which must fail this file rather than leave it short.
        let file = gz.finish()?.into_inner().map_err(|e| e.into_error())?;
        drop(file);
        if path.exists() {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        fs::rename(&tmp, &path)
    })();
    if let Err(source) = written {
        let _ = fs::remove_file(&tmp);
        // Only removes the folder if nothing else is in it.
        let _ = fs::remove_dir(&dir);
        return Err(WriteError { path, source });
    }
    Ok(path)
}

/// Removes the temporary files (`.cplogs-….tmp`) under `root`'s partition folders
/// that were last modified more than `older_than` ago, and returns them.
///
/// A writer keeps a temporary file only while it compresses one buffer (seconds), so
/// one that has not changed for an hour belongs to no running ingest: it was left by
/// a process that was killed or lost its machine. Younger ones are left alone, as
/// they may be another ingest's file in progress.
pub fn remove_stale_temp_files(
    root: &Path,
    older_than: std::time::Duration,
) -> Result<Vec<PathBuf>, WriteError> {
    let mut removed = Vec::new();
    let now = std::time::SystemTime::now();
    for table in crate::core::schema::Table::ALL {
        let table_dir = root.join(table.name());
        let entries = match fs::read_dir(&table_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(at(&table_dir)(e)),
        };
        for entry in entries {
            let dir = entry.map_err(at(&table_dir))?.path();
            if !dir.is_dir() {
                continue;
            }
            for file in fs::read_dir(&dir).map_err(at(&dir))? {
                let file = file.map_err(at(&dir))?;
                let name = file.file_name();
                let name = name.to_string_lossy();
                if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
                    continue;
                }
                let path = file.path();
                let modified = file
                    .metadata()
                    .and_then(|m| m.modified())
                    .map_err(at(&path))?;
                let age = now.duration_since(modified).unwrap_or_default();
                if age > older_than {
                    match fs::remove_file(&path) {
                        Ok(()) => removed.push(path),
                        // Another ingest cleaning up at the same time.
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(at(&path)(e)),
                    }
                }
            }
        }
    }
    Ok(removed)
}

/// An event of the input that was not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Input name (file path or `<stdin>`).
    pub source: String,
    /// 1-based line where the event starts.
    pub line: usize,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.source, self.line, self.reason)
    }
}

/// How many rejections an [`IngestReport`] keeps (the rest are counted).
pub const KEPT_REJECTIONS: usize = 100;

/// Counts of an ingest run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Events transformed and handed to the sink.
    pub written: u64,
    /// Events (or broken parts of an input) rejected.
    pub rejected: u64,
    /// The first [`KEPT_REJECTIONS`] rejections, with where and why (only so many are
    /// kept, so that memory stays bounded on any input).
    pub rejections: Vec<Rejection>,
}

impl IngestReport {
    fn reject(&mut self, source: &str, line: usize, reason: String) {
        self.rejected += 1;
        if self.rejections.len() < KEPT_REJECTIONS {
            self.rejections.push(Rejection {
                source: source.to_owned(),
                line,
                reason,
            });
        }
    }
}

/// Why an ingest stopped: its input could not be read, or a record could not be
/// written. (Faults of the input's events are [`Rejection`]s and do not stop it.)
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Reading an input failed.
    #[error("cannot read {source_name}")]
    Read {
        /// The input's name.
        source_name: String,
        /// What failed.
        #[source]
        error: io::Error,
    },
    /// Writing records failed.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Transforms every event of `input` (named `source` in messages) into `sink`, reading
/// it a chunk at a time (see [`crate::ingest::split`] for the formats and how faults are
/// contained). Unreadable events are recorded in `report` and do not stop the others.
pub fn ingest_reader(
    source: &str,
    input: impl Read,
    sink: &mut dyn RecordSink,
    report: &mut IngestReport,
) -> Result<(), IngestError> {
    let mut line = Vec::with_capacity(2048);
    split_events(input, |at_line, event| {
        let outcome = event.and_then(|event| {
            line.clear();
            transform_into(event, None, &mut line).map_err(|e| e.to_string())
        });
        match outcome {
            Ok(routed) => {
                sink.write(routed, &line)?;
                report.written += 1;
            }
            Err(reason) => report.reject(source, at_line, reason),
        }
        Ok(())
    })
    .map_err(|e| match e {
        SplitError::Read(error) => IngestError::Read {
            source_name: source.to_owned(),
            error,
        },
        SplitError::Consumer(e) => IngestError::Write(e),
    })
}

/// [`ingest_reader`] on bytes in memory.
pub fn ingest_bytes(
    source: &str,
    input: &[u8],
    sink: &mut dyn RecordSink,
    report: &mut IngestReport,
) -> Result<(), IngestError> {
    ingest_reader(source, input, sink, report)
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::time::{Duration, SystemTime};

    use flate2::read::MultiGzDecoder;

    use super::*;
    use crate::core::layout::Dt;
    use crate::core::schema::Table;

    fn routed(i: usize) -> Routed {
        let day =
            chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(i as u64);
        Routed {
            table: Table::ALL[i % 3],
            dt: Dt::from(day),
        }
    }

    /// Every file under `root`: (partition folder, file name, its lines).
    fn files(root: &Path) -> Vec<(String, String, Vec<String>)> {
        let mut out = Vec::new();
        for table in Table::ALL {
            let Ok(days) = fs::read_dir(root.join(table.name())) else {
                continue;
            };
            for day in days {
                let day = day.unwrap().path();
                for file in fs::read_dir(&day).unwrap() {
                    let path = file.unwrap().path();
                    let mut text = String::new();
                    MultiGzDecoder::new(fs::File::open(&path).unwrap())
                        .read_to_string(&mut text)
                        .unwrap();
                    out.push((
                        format!(
                            "{}/{}",
                            table.name(),
                            day.file_name().unwrap().to_string_lossy()
                        ),
                        path.file_name().unwrap().to_string_lossy().into_owned(),
                        text.lines().map(str::to_owned).collect(),
                    ));
                }
            }
        }
        out
    }

    #[test]
    fn buffers_stay_within_the_budget_and_every_record_lands_once() {
        let dir = tempfile::tempdir().unwrap();
        let budget = 64 * 1024;
        let mut w = PartitionWriter::with_limits(dir.path(), 1, budget, 16 * 1024);
        let mut expected = std::collections::BTreeMap::<String, Vec<String>>::new();
        for n in 0..4000 {
            // 50 partitions, visited in a scattered order.
            let r = routed((n * 7) % 50);
            let line = format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(n % 200));
            w.write(r, format!("{line}\n").as_bytes()).unwrap();
            assert!(
                w.buffered_bytes() <= budget,
                "{} after {n}",
                w.buffered_bytes()
            );
            expected
                .entry(format!("{}/{}", r.table.name(), r.dt.partition_dir()))
                .or_default()
                .push(line);
        }
        let summary = w.finish().unwrap();
        assert_eq!(summary.records, 4000);
        let files = files(dir.path());
        assert_eq!(files.len(), summary.files.len());
        let mut got = std::collections::BTreeMap::<String, Vec<String>>::new();
        let mut per_partition = std::collections::BTreeMap::<String, usize>::new();
        for (partition, name, lines) in files {
            assert!(
                name.starts_with("cplogs-") && name.ends_with(".json.gz"),
                "{name}"
            );
            *per_partition.entry(partition.clone()).or_default() += 1;
            got.entry(partition).or_default().extend(lines);
        }
        for lines in got.values_mut() {
            lines.sort();
        }
        for lines in expected.values_mut() {
            lines.sort();
        }
        assert_eq!(got, expected);
        assert!(
            per_partition.values().all(|n| *n > 1),
            "a small budget gives a partition several files: {per_partition:?}"
        );
    }

    #[test]
    fn only_stale_temporary_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let r = routed(1);
        let partition = dir.path().join(partition_prefix(r.table, r.dt));
        fs::create_dir_all(&partition).unwrap();
        let make = |name: &str, age: Duration| {
            let path = partition.join(name);
            fs::write(&path, b"x").unwrap();
            let f = fs::File::options().write(true).open(&path).unwrap();
            f.set_modified(SystemTime::now() - age).unwrap();
            path
        };
        let hour = Duration::from_secs(3600);
        let stale = make(".cplogs-2026-01-01-00-00-00-a.json.gz.tmp", 2 * hour);
        let fresh = make(".cplogs-2026-01-01-00-00-00-b.json.gz.tmp", Duration::ZERO);
        let others = [
            make(".other-writer.tmp", 2 * hour),
            make("cplogs-2026-01-01-00-00-00-c.json.gz", 2 * hour),
            make("_SUCCESS", 2 * hour),
        ];
        let removed = remove_stale_temp_files(dir.path(), hour).unwrap();
        assert_eq!(removed, std::slice::from_ref(&stale));
        assert!(!stale.exists() && fresh.exists());
        assert!(others.iter().all(|p| p.exists()));
        assert!(
            remove_stale_temp_files(&dir.path().join("none"), hour)
                .unwrap()
                .is_empty()
        );
    }
}
