//! `cplogs ingest`: event files (or stdin) through the shared transform into the
//! bucket layout on local disk, or to stdout as records.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;

use super::exit::{Exit, UsageError};
use crate::ingest::{
    DEFAULT_FILE_BYTES, IngestReport, PartitionWriter, PrintSink, RecordSink, ingest_reader,
    remove_stale_temp_files,
};

/// `cplogs ingest`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs ingest events.json --out ./logs
  cplogs demo --print-events --days 7 | cplogs ingest - --out ./logs --skip-invalid
  cplogs ingest events.jsonl --print | head")]
pub struct IngestArgs {
    /// Files of events: one JSON object, a JSON array or JSON lines; `-` for stdin.
    #[arg(required = true, value_name = "FILE|-")]
    pub inputs: Vec<PathBuf>,
    /// Directory to write `<table>/dt=YYYY-MM-DD/*.json.gz` under.
    #[arg(long, short, value_name = "DIR", required_unless_present = "print")]
    pub out: Option<PathBuf>,
    /// Write the records to stdout as JSON lines instead of files.
    #[arg(long, conflicts_with = "out")]
    pub print: bool,
    /// Exit 0 even when some events were rejected (they are still reported).
    #[arg(long)]
    pub skip_invalid: bool,
    /// Memory for records waiting to be written, in MiB: the fullest partitions are
    /// written out as files when it is used up (more memory, fewer and larger files).
    #[arg(long, value_name = "MIB", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub buffer_mb: u32,
}

const MAX_SHOWN_REJECTIONS: usize = 20;

/// Temporary files of an ingest untouched for this long belong to no running ingest
/// (a writer keeps one only while it compresses one buffer) and are removed.
const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// Removes the temporary files an interrupted ingest or demo left under `out`.
pub(super) fn report_stale_temp_files(out: &Path) -> Result<()> {
    let stale = remove_stale_temp_files(out, STALE_TEMP_AGE)?;
    if !stale.is_empty() {
        note!(
            "removed {} temporary file(s) left by an earlier, interrupted ingest",
            stale.len()
        );
    }
    Ok(())
}

pub fn run(args: IngestArgs) -> Result<Exit> {
    let started = Instant::now();
    let mut report = IngestReport::default();
    let stdin_count = args.inputs.iter().filter(|p| p.as_os_str() == "-").count();
    if stdin_count > 1 {
        return Err(UsageError("`-` (stdin) can be given only once".into()).into());
    }
    // Inputs are read a chunk at a time: memory does not grow with their size.
    let mut read_all = |sink: &mut dyn RecordSink| -> Result<()> {
        for path in &args.inputs {
            if path.as_os_str() == "-" {
                ingest_reader("<stdin>", io::stdin().lock(), sink, &mut report)?;
            } else {
                let file = std::fs::File::open(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                ingest_reader(&path.display().to_string(), file, sink, &mut report)?;
            }
        }
        Ok(())
    };
    let files = if args.print {
        let mut sink = PrintSink::new(io::BufWriter::new(io::stdout().lock()));
        read_all(&mut sink)?;
        sink.finish()?;
        None
    } else {
        let out = args
            .out
            .as_ref()
            .context("--out DIR or --print is required")?;
        report_stale_temp_files(out)?;
        let budget = usize::try_from(args.buffer_mb)?.saturating_mul(1 << 20);
        let file_bytes = DEFAULT_FILE_BYTES.min(budget);
        let mut writer = PartitionWriter::with_limits(out, 6, budget, file_bytes);
        if let Err(e) = read_all(&mut writer).and_then(|()| Ok(writer.flush()?)) {
            // What completed is complete (and nothing else is visible): say so, since
            // a re-run of the same input completes the rest without doubling reports.
            let done = writer.summary();
            note!(
                "ingest stopped: {} record(s) are in {} complete file(s) under {}; \
                 nothing else was written",
                done.records,
                done.files.len(),
                out.display()
            );
            return Err(e);
        }
        Some((out, writer.finish()?))
    };
    for r in report.rejections.iter().take(MAX_SHOWN_REJECTIONS) {
        note!("rejected: {r}");
    }
    if report.rejected > MAX_SHOWN_REJECTIONS as u64 {
        note!(
            "rejected: … and {} more",
            report.rejected - MAX_SHOWN_REJECTIONS as u64
        );
    }
    let where_to = match &files {
        Some((out, summary)) => format!(
            " into {} file(s) under {}",
            summary.files.len(),
            out.display()
        ),
        None => " to stdout".to_owned(),
    };
    note!(
        "ingested {} event(s){where_to}, {} rejected, in {:.2?}",
        report.written,
        report.rejected,
        started.elapsed()
    );
    if report.rejected > 0 && !args.skip_invalid {
        note!(
            "error: {} event(s) were rejected (use --skip-invalid to exit 0 anyway)",
            report.rejected
        );
        return Ok(Exit::Failure);
    }
    Ok(Exit::Success)
}
