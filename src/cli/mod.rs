//! The `cplogs` command line: clap arguments, validated into a command, run, and
//! mapped to an exit code in one place (`crate::cli::exit`).

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use clap::{Args, Parser, Subcommand};

use crate::cli::exit::{Exit, UsageError, for_error};
use crate::ingest::demo::{DemoConfig, EventLines, generate, generate_events};
use crate::ingest::{
    DEFAULT_FILE_BYTES, IngestReport, PartitionWriter, PrintSink, RecordSink, ingest_reader,
    remove_stale_temp_files,
};

/// `eprintln!` that never panics: stderr may be a pipe its reader closed
/// (`cplogs … 2>&1 | head`), and a message that cannot be shown is not worth a crash.
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod exit;
mod repair;
pub mod report;
pub mod settings;
mod tables;
pub mod window;

/// Keep and query AWS CodePipeline execution history.
#[derive(Debug, Parser)]
#[command(name = "cplogs", version, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Config file (default: cplogs/cplogs.toml in the user's config directory).
    #[arg(long, value_name = "FILE", env = crate::cli::settings::CONFIG_ENV, global = true)]
    pub config: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Transform EventBridge CodePipeline events into log records, in the bucket layout
    /// on local disk (or on stdout with --print).
    Ingest(IngestArgs),
    /// Write a realistic synthetic history into a local directory, in the bucket layout.
    Demo(DemoArgs),
    /// Reconcile the `dt=` prefixes in S3 with the Glue partitions of each table.
    RepairPartitions(RepairArgs),
    /// Manage the three Glue tables from the schema: create, show, diff, drop.
    Tables(TablesArgs),
    /// Run a canned report (see `cplogs reports`).
    Report(report::ReportArgs),
    /// List the canned reports with their descriptions and options.
    Reports,
    /// Run one ad-hoc SQL statement (Trino dialect) on the selected engine.
    Query(report::QueryArgs),
    /// Check pipelines against thresholds: exit 0 within them, 3 on a breach, 4 without data.
    Audit(report::AuditArgs),
    /// Show the effective settings and where each comes from.
    Config(ConfigArgs),
    /// Print the minimal IAM policy a command needs (default: all of them).
    IamPolicy(IamPolicyArgs),
}

/// `cplogs iam-policy`
#[derive(Debug, Args)]
pub struct IamPolicyArgs {
    /// The command to print the policy for; default: every command.
    #[arg(value_enum)]
    pub command: Option<crate::aws::iam::PolicyCommand>,
    /// Account id for the ARNs (default: *).
    #[arg(long, default_value = "*")]
    pub account: String,
    /// AWS partition for the ARNs.
    #[arg(long, default_value = "aws")]
    pub partition: String,
    /// Athena workgroup [env: CPLOGS_WORKGROUP] [default: primary].
    #[arg(long)]
    pub workgroup: Option<String>,
    /// Athena result location, s3://bucket/prefix/ [env: CPLOGS_OUTPUT_LOCATION].
    #[arg(long, value_name = "S3_URL")]
    pub output_location: Option<String>,
    /// Bucket, database and region.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `cplogs config`
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ConfigAction,
    /// Engine selection, bucket, database and how to reach AWS.
    #[command(flatten)]
    pub engine: report::EngineArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table, global = true)]
    pub format: SummaryFormat,
}

/// `cplogs config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print every setting, its value and where it came from (flag, CPLOGS_*
    /// environment variable, config file, default).
    Show,
}

impl AwsArgs {
    /// The bucket, which some commands require.
    pub fn bucket(&self) -> Result<&str, UsageError> {
        self.bucket.as_deref().ok_or_else(|| {
            UsageError(
                "--bucket is required (or CPLOGS_BUCKET, or `bucket` in the config file)".into(),
            )
        })
    }

    /// The Glue database.
    pub fn database(&self) -> &str {
        self.database
            .as_deref()
            .unwrap_or(crate::core::schema::DEFAULT_DATABASE)
    }

    /// The command-line values, for resolving settings.
    pub fn flags(&self) -> settings::Flags {
        settings::Flags {
            bucket: self.bucket.clone(),
            database: self.database.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
            ..Default::default()
        }
    }

    /// Fills what the command line left out from the environment and the config file.
    pub fn apply(&mut self, file: Option<&ConfigFile>) -> Result<()> {
        let s = settings::resolve(&self.flags(), env_var, file)?;
        self.bucket = s.bucket.value;
        self.database = s.database.value;
        self.region = s.region.value;
        self.profile = s.profile.value;
        self.endpoint_url = s.endpoint_url.value;
        Ok(())
    }
}

/// A config file that was read, with its path.
pub type ConfigFile = (PathBuf, settings::FileConfig);

/// Reads a `CPLOGS_*` variable (unset and non-UTF-8 values count as unset).
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `cplogs tables`
#[derive(Debug, Args)]
pub struct TablesArgs {
    /// What to do with the tables.
    #[command(subcommand)]
    pub action: TablesAction,
    /// Bucket, database and how to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table, global = true)]
    pub format: SummaryFormat,
}

/// `cplogs tables` subcommands.
#[derive(Debug, Subcommand)]
pub enum TablesAction {
    /// Create the database if missing and each missing table; report tables that
    /// differ from the schema (exit 1) and change them only with --update. Without
    /// --projection or --no-projection a new table uses registered partitions and an
    /// existing one is compared with (and kept in) the variant it declares.
    Create {
        /// Which schema variant (clap shows the flags' own help).
        #[command(flatten)]
        variant: VariantArgs,
        /// Update tables that differ from the schema (keeping parameters the schema
        /// does not set).
        #[arg(long)]
        update: bool,
    },
    /// Show the tables as Glue has them.
    Show,
    /// List column, partition key, SerDe and location differences from the schema
    /// (exit 1 when there are any). Each table is compared with the variant it
    /// declares (its projection.enabled) unless --projection or --no-projection
    /// picks one.
    Diff {
        /// Which schema variant to compare with (clap shows the flags' own help).
        #[command(flatten)]
        variant: VariantArgs,
    },
    /// Delete the three tables (not the database, not the data). Requires --yes.
    Drop {
        /// Really delete them.
        #[arg(long)]
        yes: bool,
    },
}

/// The schema variant of `tables create` and `tables diff`: date partition projection
/// or registered partitions, or (neither flag) what each existing table declares.
#[derive(Debug, Args)]
pub struct VariantArgs {
    /// Use date partition projection on dt instead of registered partitions.
    #[arg(long, conflicts_with = "no_projection")]
    pub projection: bool,
    /// Use registered partitions (no partition projection).
    #[arg(long)]
    pub no_projection: bool,
}

impl VariantArgs {
    /// `Some(true)` for --projection, `Some(false)` for --no-projection, `None` for
    /// neither (each table's own variant).
    pub fn projection(&self) -> Option<bool> {
        match (self.projection, self.no_projection) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

/// Where the data and tables are, and how to reach AWS.
#[derive(Debug, Args)]
pub struct AwsArgs {
    /// S3 bucket holding `<table>/dt=YYYY-MM-DD/` prefixes [env: CPLOGS_BUCKET].
    #[arg(long, global = true)]
    pub bucket: Option<String>,
    /// Glue database of the tables [env: CPLOGS_DATABASE] [default:
    /// codepipeline_event_logs].
    #[arg(long, global = true)]
    pub database: Option<String>,
    /// AWS region (default: from the environment or profile).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Named AWS profile.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Endpoint override, e.g. a local AWS API (also AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL", global = true)]
    pub endpoint_url: Option<String>,
}

/// Output formats of commands that print a summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SummaryFormat {
    /// A table for people.
    Table,
    /// JSON for scripts.
    Json,
}

/// `cplogs repair-partitions`
#[derive(Debug, Args)]
pub struct RepairArgs {
    /// Bucket, database and how to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Only this table (repeatable); default: all three.
    #[arg(long = "table", value_name = "TABLE", value_parser = parse_table)]
    pub tables: Vec<crate::core::schema::Table>,
    /// First day to reconcile: 7d, 12h, 2026-11-01 or an RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Last day to reconcile (same forms as --since).
    #[arg(long)]
    pub until: Option<String>,
    /// Report what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Remove partitions whose prefix has no objects.
    #[arg(long)]
    pub delete_missing: bool,
    /// Correct partitions whose location is not their prefix.
    #[arg(long)]
    pub fix_locations: bool,
    /// Tables reconciled at once.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub concurrency: u16,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    pub format: SummaryFormat,
}

fn parse_table(s: &str) -> Result<crate::core::schema::Table, String> {
    crate::core::schema::Table::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = crate::core::schema::Table::ALL
            .iter()
            .map(|t| t.name())
            .collect();
        format!("unknown table {s:?}; tables: {}", names.join(", "))
    })
}

/// `cplogs ingest`
#[derive(Debug, Args)]
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

/// `cplogs demo`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory to write `<table>/dt=YYYY-MM-DD/*.json.gz` under.
    #[arg(
        long,
        short,
        value_name = "DIR",
        required_unless_present = "print_events"
    )]
    pub out: Option<PathBuf>,
    /// Write the events themselves (EventBridge JSON lines, in arrival order) to stdout
    /// instead of files: input for `cplogs ingest`.
    #[arg(long, conflicts_with = "out")]
    pub print_events: bool,
    /// Number of pipelines.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub pipelines: u32,
    /// Days of history, ending today (or --end).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3_650))]
    pub days: u32,
    /// Mean executions per pipeline per day.
    #[arg(long, default_value_t = 6.0)]
    pub runs_per_day: f64,
    /// Seed for the generator: the same seed and --end give the same events.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Last day of the history (YYYY-MM-DD), whole; default: today, up to now.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub end: Option<NaiveDate>,
}

/// Builds the SDK config, refusing early when no region is known.
async fn sdk_config(aws: &AwsArgs) -> Result<aws_config::SdkConfig> {
    let config = crate::aws::sdk::load_config(&crate::aws::sdk::AwsOptions {
        region: aws.region.clone(),
        profile: aws.profile.clone(),
        endpoint_url: aws.endpoint_url.clone(),
    })
    .await;
    if config.region().is_none() {
        return Err(UsageError(
            "no AWS region configured: pass --region, set AWS_REGION, or use a profile with a region"
                .into(),
        )
        .into());
    }
    Ok(config)
}

/// The async runtime of the AWS commands.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Parses the process arguments and runs; the binary's whole `main`.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout and errors to stderr itself.
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Success
            }
            .into();
        }
    };
    match run(cli) {
        Ok(exit) => exit.into(),
        // The reader went away (`| head`): nothing more to say, and nobody to say it to.
        Err(err) if exit::is_broken_pipe(&err) => for_error(&err).into(),
        Err(err) => {
            note!("error: {err:#}");
            for_error(&err).into()
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<Exit> {
    let file = settings::load(cli.config.as_deref())?;
    let file = file.as_ref();
    match cli.command {
        Command::Ingest(args) => ingest(args),
        Command::Demo(args) => demo(args),
        Command::RepairPartitions(mut args) => {
            args.aws.apply(file)?;
            repair::run(args)
        }
        Command::Tables(mut args) => {
            args.aws.apply(file)?;
            tables::run(args)
        }
        Command::Report(args) => report::report(args, file),
        Command::Reports => report::list(&mut io::stdout().lock()),
        Command::Query(args) => report::query(args, file),
        Command::Audit(args) => report::audit(args, file),
        Command::Config(args) => config_show(&args, file),
        Command::IamPolicy(args) => iam_policy(&args, file),
    }
}

fn iam_policy(args: &IamPolicyArgs, file: Option<&ConfigFile>) -> Result<Exit> {
    // Both end up inside ARNs: only what AWS itself allows there.
    if args.account != "*"
        && !(args.account.len() == 12 && args.account.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(UsageError(format!(
            "--account {:?} is not an AWS account id (12 digits)",
            args.account
        ))
        .into());
    }
    if args.partition.is_empty()
        || !args
            .partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-')
    {
        return Err(UsageError(format!(
            "--partition {:?} is not an AWS partition (aws, aws-cn, aws-us-gov, …)",
            args.partition
        ))
        .into());
    }
    let mut flags = args.aws.flags();
    flags.workgroup = args.workgroup.clone();
    flags.output_location = args.output_location.clone();
    let s = settings::resolve(&flags, env_var, file)?;
    let or_star = |v: Option<String>| v.unwrap_or_else(|| "*".into());
    let region = s
        .region
        .value
        .or_else(|| env_var("AWS_REGION"))
        .or_else(|| env_var("AWS_DEFAULT_REGION"));
    let ctx = crate::aws::iam::PolicyContext {
        partition: args.partition.clone(),
        region: or_star(region),
        account: args.account.clone(),
        database: or_star(s.database.value),
        bucket: or_star(s.bucket.value),
        workgroup: or_star(s.workgroup.value),
        output_location: s.output_location.value,
    };
    let doc = crate::aws::iam::policy(args.command, &ctx);
    writeln!(
        io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&doc)?
    )?;
    Ok(Exit::Success)
}

fn config_show(args: &ConfigArgs, file: Option<&ConfigFile>) -> Result<Exit> {
    let ConfigAction::Show = args.action;
    let settings = settings::resolve(&args.engine.flags(), env_var, file)?;
    let mut out = io::stdout().lock();
    match args.format {
        SummaryFormat::Json => {
            let mut doc = serde_json::Map::new();
            for (name, s) in settings.rows() {
                doc.insert(
                    name.into(),
                    serde_json::json!({"value": s.value, "source": s.source.to_string()}),
                );
            }
            let file_text = settings.file.as_ref().map(|p| p.display().to_string());
            let doc = serde_json::json!({"config_file": file_text, "settings": doc});
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        SummaryFormat::Table => {
            let mut grid = comfy_table::Table::new();
            grid.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
            grid.set_header(["setting", "value", "from"]);
            for (name, s) in settings.rows() {
                let value = s.value.clone().unwrap_or_else(|| "-".into());
                grid.add_row([name.to_owned(), value, s.source.to_string()]);
            }
            writeln!(out, "{grid}")?;
            match &settings.file {
                Some(p) => note!("config file: {}", p.display()),
                None => note!(
                    "config file: none ({} not found)",
                    settings::default_path()
                        .map_or_else(|| "no config directory".into(), |p| p.display().to_string())
                ),
            }
        }
    }
    Ok(Exit::Success)
}

const MAX_SHOWN_REJECTIONS: usize = 20;

/// Temporary files of an ingest untouched for this long belong to no running ingest
/// (a writer keeps one only while it compresses one buffer) and are removed.
const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// Removes the temporary files an interrupted ingest or demo left under `out`.
fn report_stale_temp_files(out: &std::path::Path) -> Result<()> {
    let stale = remove_stale_temp_files(out, STALE_TEMP_AGE)?;
    if !stale.is_empty() {
        note!(
            "removed {} temporary file(s) left by an earlier, interrupted ingest",
            stale.len()
        );
    }
    Ok(())
}

fn ingest(args: IngestArgs) -> Result<Exit> {
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

fn demo(args: DemoArgs) -> Result<Exit> {
    if !(args.runs_per_day > 0.0 && args.runs_per_day <= 10_000.0) {
        return Err(UsageError("--runs-per-day must be above 0 and at most 10000".into()).into());
    }
    let end: DateTime<Utc> = match args.end {
        Some(day) => Utc.from_utc_datetime(
            &day.and_hms_opt(23, 59, 59)
                .context("--end is not a valid day")?,
        ),
        None => Utc::now(),
    };
    // The whole history must fit in the days the tables hold (1970 … 9999).
    let first = end.checked_sub_signed(chrono::Duration::days(i64::from(args.days)));
    if first.is_none_or(|f| f < window::earliest()) || end >= window::latest() {
        return Err(UsageError(format!(
            "--end {}: {} days ending then do not fit between 1970-01-01 and 9999-12-31",
            end.date_naive(),
            args.days
        ))
        .into());
    }
    let config = DemoConfig {
        pipelines: args.pipelines as usize,
        days: args.days,
        seed: args.seed,
        runs_per_day: args.runs_per_day,
        end,
    };
    let started = Instant::now();
    let Some(out) = args.out.as_ref().filter(|_| !args.print_events) else {
        let mut sink = EventLines::new(io::BufWriter::new(io::stdout().lock()));
        let summary = generate_events(&config, &mut sink, |_| {})?;
        sink.finish()?;
        note!(
            "demo: {} pipelines, {} days, {} executions: {} events ({} duplicate deliveries) \
             to stdout in {:.2}s",
            config.pipelines,
            config.days,
            summary.executions,
            summary.events,
            summary.duplicates,
            started.elapsed().as_secs_f64(),
        );
        return Ok(Exit::Success);
    };
    report_stale_temp_files(out)?;
    let mut writer = PartitionWriter::new(out, 1);
    let bar = progress_bar(u64::from(args.days));
    let summary = generate(&config, &mut writer, |done| {
        bar.set_position(u64::from(done))
    })?;
    bar.finish_and_clear();
    let written = writer.finish()?;
    let secs = started.elapsed().as_secs_f64();
    note!(
        "demo: {} pipelines, {} days, {} executions: {} events ({} duplicate deliveries, {} late) \
         in {} files under {} in {:.2}s ({:.0} events/s)",
        config.pipelines,
        config.days,
        summary.executions,
        summary.events,
        summary.duplicates,
        summary.late,
        written.files.len(),
        out.display(),
        secs,
        summary.events as f64 / secs.max(1e-9),
    );
    io::stderr().flush().ok();
    Ok(Exit::Success)
}

/// A progress bar on stderr when it is a terminal; hidden otherwise.
fn progress_bar(len: u64) -> indicatif::ProgressBar {
    if io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(len);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {pos}/{len} days ({elapsed})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("generating");
        bar
    } else {
        indicatif::ProgressBar::hidden()
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
