//! The `cplogs` command line: clap arguments (global options in [`global`], each
//! command's own in its module), resolved once into [`global::Context`], run, and
//! mapped to an exit code in one place ([`exit`]).

use std::io;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};

use exit::{Exit, for_error};

/// `eprintln!` that never panics: stderr may be a pipe its reader closed
/// (`cplogs … 2>&1 | head`), and a message that cannot be shown is not worth a crash.
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod allocator;
mod audit;
#[cfg(feature = "cloud")]
mod backfill;
mod checks;
mod config;
#[cfg(feature = "cloud")]
mod coverage;
mod dashboard;
mod demo;
mod digest;
mod doctor;
pub mod exit;
pub mod global;
#[cfg(feature = "cloud")]
mod iam_policy;
mod ingest;
mod migrate;
mod print;
mod query;
#[cfg(feature = "cloud")]
mod repair;
mod replay;
pub mod report;
mod reports;
mod select;
pub mod settings;
mod shell;
mod store;
#[cfg(feature = "cloud")]
mod tables;
pub mod window;

/// `cplogs --version`: says so when the build leaves AWS out.
#[cfg(feature = "cloud")]
const VERSION: &str = env!("CARGO_PKG_VERSION");
#[cfg(not(feature = "cloud"))]
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (built without AWS: the embedded engine only)"
);

/// Keep and query AWS CodePipeline execution history.
#[derive(Debug, Parser)]
#[command(name = "cplogs", version = VERSION, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Options every command takes.
    #[command(flatten)]
    pub global: global::GlobalArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Transform EventBridge CodePipeline events into log records, in the bucket layout
    /// on local disk (or on stdout with --print).
    Ingest(ingest::IngestArgs),
    /// Write a realistic synthetic history into a local directory, in the bucket layout.
    Demo(demo::DemoArgs),
    /// Reconcile the `dt=` prefixes in S3 with the Glue partitions of each table.
    #[cfg(feature = "cloud")]
    RepairPartitions(repair::RepairArgs),
    /// Rewrite the original project's data (arrival-time folders) into the cplogs
    /// layout, by event time, with deterministic event ids.
    MigrateLegacy(migrate::MigrateArgs),
    /// Run the records Firehose could not transform (its error prefix) through the
    /// current transform and write those that now succeed; list the rest.
    ReplayErrors(replay::ReplayArgs),
    /// Copy up to 12 months of history from CodePipeline's APIs into the store, as the
    /// events EventBridge would have sent (only ended executions the store lacks).
    #[cfg(feature = "cloud")]
    Backfill(backfill::BackfillArgs),
    /// Compare, per pipeline, the executions CodePipeline lists with those in the
    /// store: coverage, missing and extra executions; `--fix` backfills the missing.
    #[cfg(feature = "cloud")]
    Coverage(coverage::CoverageArgs),
    /// Manage the three Glue tables from the schema: create, show, diff, drop.
    #[cfg(feature = "cloud")]
    Tables(tables::TablesArgs),
    /// Run a canned report (see `cplogs reports`).
    Report(report::ReportArgs),
    /// Write an HTML dashboard (one self-contained file: charts and tables) of the
    /// window's reports.
    Dashboard(dashboard::DashboardArgs),
    /// List the canned reports with their descriptions and options.
    #[command(after_help = "Examples:\n  cplogs reports\n  cplogs reports --format json")]
    Reports,
    /// Run one ad-hoc SQL statement (Trino dialect) on the selected engine.
    Query(query::QueryArgs),
    /// Check pipelines against thresholds: exit 0 within them, 3 on a breach, 4 without data.
    Audit(audit::AuditArgs),
    /// Sum up a period in a few lines to paste into a pull request, chat or e-mail.
    Digest(digest::DigestArgs),
    /// Check a deployment (or a local copy) end to end: one line per check, ✔ or ✖
    /// with the fix; exit 0 when all pass, 3 when something is wrong.
    Doctor(doctor::DoctorArgs),
    /// Show the effective settings and where each comes from.
    Config(config::ConfigArgs),
    /// Print the minimal IAM policy a command needs (default: all of them).
    #[cfg(feature = "cloud")]
    IamPolicy(iam_policy::IamPolicyArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(shell::CompletionsArgs),
    /// Print the man page (roff).
    Man(shell::ManArgs),
    /// Any other command: in a build without AWS (no `cloud` feature), the commands
    /// that call AWS are left out, and asking for one says so instead of clap's
    /// "unrecognized subcommand".
    #[cfg(not(feature = "cloud"))]
    #[command(external_subcommand)]
    NotBuilt(Vec<String>),
}

impl Command {
    /// Whether the command takes `--region` more than once (one run per region).
    fn takes_many_regions(&self) -> bool {
        #[cfg(feature = "cloud")]
        let many = matches!(self, Command::Backfill(_) | Command::Coverage(_));
        #[cfg(not(feature = "cloud"))]
        let many = false;
        many
    }
}

/// The async runtime of the commands that call AWS or run a query.
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
    let cx = cli.global.resolve()?;
    if cx.regions.len() > 1 && !cli.command.takes_many_regions() {
        return Err(exit::UsageError(
            "--region is given once, except to `backfill` and `coverage`".into(),
        )
        .into());
    }
    match cli.command {
        #[cfg(feature = "cloud")]
        Command::Backfill(args) => backfill::run(args, &cx),
        #[cfg(feature = "cloud")]
        Command::Coverage(args) => coverage::run(args, &cx),
        Command::Ingest(args) => ingest::run(args),
        Command::Demo(args) => demo::run(args),
        #[cfg(feature = "cloud")]
        Command::RepairPartitions(args) => repair::run(args, &cx),
        Command::ReplayErrors(args) => replay::run(args, &cx),
        Command::MigrateLegacy(args) => migrate::run(args, &cx),
        #[cfg(feature = "cloud")]
        Command::Tables(args) => tables::run(args, &cx),
        Command::Report(args) => report::run(args, &cx),
        Command::Dashboard(args) => dashboard::run(args, &cx),
        Command::Reports => reports::run(&mut io::stdout().lock(), &cx),
        Command::Query(args) => query::run(args, &cx),
        Command::Audit(args) => audit::run(args, &cx),
        Command::Digest(args) => digest::run(args, &cx),
        Command::Doctor(args) => doctor::run(args, &cx),
        Command::Config(args) => config::run(&args, &cx),
        #[cfg(feature = "cloud")]
        Command::IamPolicy(args) => iam_policy::run(&args, &cx),
        Command::Completions(args) => shell::completions(&args),
        Command::Man(args) => shell::man(&args),
        #[cfg(not(feature = "cloud"))]
        Command::NotBuilt(argv) => Err(exit::without_aws(&format!(
            "`{}` is not a command of this build, or it",
            argv.first().map(String::as_str).unwrap_or_default()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command};

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_or_after_the_command() {
        for argv in [
            &[
                "cplogs", "--local", "/d", "--engine", "local", "report", "failures",
            ][..],
            &[
                "cplogs", "report", "failures", "--local", "/d", "--engine", "local",
            ],
            &[
                "cplogs", "--local", "/d", "report", "--engine", "local", "failures",
            ],
        ] {
            let cli = Cli::try_parse_from(argv).unwrap();
            assert_eq!(
                cli.global.local.as_deref(),
                Some(std::path::Path::new("/d"))
            );
            assert_eq!(cli.global.engine.as_deref(), Some("local"));
            assert!(matches!(cli.command, Command::Report(_)));
        }
    }
}
