//! `cplogs ingest`: EventBridge events from files (one object, an array, or JSON lines)
//! through the shared transform into the bucket's layout on local disk, as gzip JSON
//! lines under `<dir>/<table>/dt=YYYY-MM-DD/`.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::value::RawValue;

use crate::layout::partition_prefix;
use crate::transform::{Routed, transform_into};

/// An I/O failure while writing records (the input's own faults are [`Rejection`]s).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
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

/// One event of an input, or why the input could not give one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece<'a> {
    /// 1-based line where the event (or the fault) starts.
    pub line: usize,
    /// The event's JSON text, or a syntax error.
    pub event: Result<&'a [u8], String>,
}

/// Counts lines up to increasing byte offsets without rescanning.
struct LineCounter<'a> {
    input: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(input: &'a [u8]) -> Self {
        LineCounter {
            input,
            pos: 0,
            line: 1,
        }
    }
    fn line_at(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.input.len());
        if offset >= self.pos {
            self.line += self.input[self.pos..offset]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            self.pos = offset;
        }
        self.line
    }
}

fn offset_in(input: &[u8], part: &RawValue) -> usize {
    (part.get().as_ptr() as usize).saturating_sub(input.as_ptr() as usize)
}

/// Splits an input into events: a single JSON object, a JSON array of objects, JSON
/// lines, or concatenated JSON objects.
///
/// A syntax error in JSON lines rejects only its line. In a single document (one
/// pretty-printed object or an array) it ends the input: events before it are kept.
pub fn split_events(input: &[u8]) -> Vec<Piece<'_>> {
    let mut lines = LineCounter::new(input);
    let mut pieces = Vec::new();
    let mut stream = serde_json::Deserializer::from_slice(input).into_iter::<&RawValue>();
    let mut values = Vec::new();
    let syntax_error = loop {
        match stream.next() {
            None => break None,
            Some(Ok(v)) => values.push(v),
            Some(Err(e)) => break Some(e),
        }
    };
    match syntax_error {
        None => {
            let single_array = values.len() == 1 && values[0].get().starts_with('[');
            if single_array {
                match serde_json::from_str::<Vec<&RawValue>>(values[0].get()) {
                    Ok(elements) => values = elements,
                    Err(e) => {
                        return vec![Piece {
                            line: lines.line_at(offset_in(input, values[0])),
                            event: Err(e.to_string()),
                        }];
                    }
                }
            }
            for v in values {
                pieces.push(Piece {
                    line: lines.line_at(offset_in(input, v)),
                    event: Ok(v.get().as_bytes()),
                });
            }
        }
        Some(_) if first_line_is_a_value(input) => {
            return split_lines(input);
        }
        Some(err) => {
            for v in values {
                pieces.push(Piece {
                    line: lines.line_at(offset_in(input, v)),
                    event: Ok(v.get().as_bytes()),
                });
            }
            pieces.push(Piece {
                line: err.line().max(1),
                event: Err(format!(
                    "invalid JSON, the rest of the input is unread: {err}"
                )),
            });
        }
    }
    pieces
}

fn non_blank_lines(input: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    input
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_ascii()))
        .filter(|(_, l)| !l.is_empty())
}

fn first_line_is_a_value(input: &[u8]) -> bool {
    non_blank_lines(input)
        .next()
        .is_some_and(|(_, l)| serde_json::from_slice::<&RawValue>(l).is_ok())
}

fn split_lines(input: &[u8]) -> Vec<Piece<'_>> {
    non_blank_lines(input)
        .map(|(line, text)| Piece {
            line,
            event: match serde_json::from_slice::<&RawValue>(text) {
                Ok(_) => Ok(text),
                Err(e) => Err(format!("invalid JSON: {e}")),
            },
        })
        .collect()
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

struct OpenFile {
    tmp: PathBuf,
    path: PathBuf,
    gz: GzEncoder<BufWriter<File>>,
}

/// What a [`PartitionWriter`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Files written, in the order they were completed.
    pub files: Vec<PathBuf>,
    /// Records written.
    pub records: u64,
}

/// Writes records into `<root>/<table>/dt=YYYY-MM-DD/<name>.json.gz`, one new file per
/// partition per batch. Names carry a random UUID and files are created with
/// `create_new`, so a run never overwrites an earlier one; files appear only once
/// complete (written under a hidden temporary name, then renamed).
pub struct PartitionWriter {
    root: PathBuf,
    level: Compression,
    open: HashMap<Routed, OpenFile>,
    summary: WriteSummary,
}

impl PartitionWriter {
    /// A writer under `root` with gzip `level` (0–9).
    pub fn new(root: impl Into<PathBuf>, level: u32) -> Self {
        PartitionWriter {
            root: root.into(),
            level: Compression::new(level.min(9)),
            open: HashMap::new(),
            summary: WriteSummary::default(),
        }
    }

    fn open(&self, routed: Routed) -> Result<OpenFile, WriteError> {
        let dir = self.root.join(partition_prefix(routed.table, routed.dt));
        fs::create_dir_all(&dir).map_err(at(&dir))?;
        let name = format!(
            "cplogs-{}-{}.json.gz",
            chrono::Utc::now().format("%Y-%m-%d-%H-%M-%S"),
            uuid::Uuid::new_v4()
        );
        let path = dir.join(&name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(at(&tmp))?;
        Ok(OpenFile {
            tmp,
            path,
            gz: GzEncoder::new(BufWriter::with_capacity(256 * 1024, file), self.level),
        })
    }

    /// Completes every open file, so the next records start new ones.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        let mut open: Vec<(Routed, OpenFile)> = self.open.drain().collect();
        open.sort_by_key(|(r, _)| *r);
        for (_, f) in open {
            let OpenFile { tmp, path, gz } = f;
            let buf = gz.finish().map_err(at(&tmp))?;
            let file = buf.into_inner().map_err(|e| at(&tmp)(e.into_error()))?;
            file.sync_data().map_err(at(&tmp))?;
            if path.exists() {
                return Err(at(&path)(io::Error::from(io::ErrorKind::AlreadyExists)));
            }
            fs::rename(&tmp, &path).map_err(at(&path))?;
            self.summary.files.push(path);
        }
        Ok(())
    }

    /// Completes every file and says what was written.
    pub fn finish(mut self) -> Result<WriteSummary, WriteError> {
        self.flush()?;
        Ok(std::mem::take(&mut self.summary))
    }
}

impl RecordSink for PartitionWriter {
    fn write(&mut self, routed: Routed, line: &[u8]) -> Result<(), WriteError> {
        if !self.open.contains_key(&routed) {
            let file = self.open(routed)?;
            self.open.insert(routed, file);
        }
        if let Some(f) = self.open.get_mut(&routed) {
            f.gz.write_all(line).map_err(at(&f.tmp))?;
        }
        self.summary.records += 1;
        Ok(())
    }
}

impl Drop for PartitionWriter {
    fn drop(&mut self) {
        // Files still open here belong to a failed run: leave no half-written data.
        for (_, f) in self.open.drain() {
            drop(f.gz);
            let _ = fs::remove_file(&f.tmp);
        }
    }
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

/// Counts of an ingest run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Events written.
    pub written: u64,
    /// Events rejected, with where and why.
    pub rejected: Vec<Rejection>,
}

/// Transforms every event of `input` (named `source` in messages) into `sink`.
/// Unreadable events are recorded in `report` and do not stop the others.
pub fn ingest_bytes(
    source: &str,
    input: &[u8],
    sink: &mut dyn RecordSink,
    report: &mut IngestReport,
) -> Result<(), WriteError> {
    let mut line = Vec::with_capacity(2048);
    for piece in split_events(input) {
        let outcome = piece.event.and_then(|event| {
            line.clear();
            transform_into(event, None, &mut line).map_err(|e| e.to_string())
        });
        match outcome {
            Ok(routed) => {
                sink.write(routed, &line)?;
                report.written += 1;
            }
            Err(reason) => report.rejected.push(Rejection {
                source: source.to_owned(),
                line: piece.line,
                reason,
            }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_and_oks(input: &str) -> Vec<(usize, bool)> {
        split_events(input.as_bytes())
            .into_iter()
            .map(|p| (p.line, p.event.is_ok()))
            .collect()
    }

    #[test]
    fn one_object_array_lines_and_concatenation() {
        assert_eq!(lines_and_oks("{\n \"a\": 1\n}\n"), [(1, true)]);
        assert_eq!(
            lines_and_oks("[\n {\"a\": 1},\n {\"a\": 2}\n]"),
            [(2, true), (3, true)]
        );
        assert_eq!(
            lines_and_oks("{\"a\":1}\n\n{\"a\":2}\n"),
            [(1, true), (3, true)]
        );
        assert_eq!(
            lines_and_oks("{\n\"a\":1}{\n\"a\":2}"),
            [(1, true), (2, true)]
        );
        assert!(lines_and_oks("  \n").is_empty());
    }

    #[test]
    fn a_bad_json_line_rejects_only_itself() {
        assert_eq!(
            lines_and_oks("{\"a\":1}\n{\"a\":\n{\"a\":3}\n"),
            [(1, true), (2, false), (3, true)]
        );
    }

    #[test]
    fn a_broken_document_keeps_what_came_before() {
        let pieces = split_events(b"{\n \"a\": 1\n}\n{\n \"a\": 2,\n oops\n}");
        assert_eq!(pieces.len(), 2);
        assert!(pieces[0].event.is_ok());
        assert_eq!(pieces[1].line, 6);
        assert!(pieces[1].event.as_ref().unwrap_err().contains("line 6"));
        let broken_array = split_events(b"[\n{\"a\":1},\n{\"a\":2\n");
        assert_eq!(broken_array.len(), 1);
        assert!(broken_array[0].event.is_err());
    }
}
