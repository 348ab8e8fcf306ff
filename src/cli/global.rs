//! The options every command takes, before or after the subcommand
//! (`cplogs --local DIR report failures` and `cplogs report failures --local DIR` are
//! the same), and their merge with the environment and the config file into the one
//! [`Settings`] value commands receive.

use std::io::{self, IsTerminal};
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::exit::UsageError;
use super::settings::{self, Flags, Settings};
use crate::output::Format;

/// Options that belong to every command.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Config file (default: cplogs/cplogs.toml in the user's config directory).
    #[arg(long, value_name = "FILE", env = settings::CONFIG_ENV, global = true)]
    pub config: Option<PathBuf>,
    /// Query a local directory laid out like the bucket with the embedded engine
    /// (e.g. from `cplogs demo`, `cplogs ingest` or `aws s3 sync`) [env: CPLOGS_LOCAL].
    #[arg(long, value_name = "DIR", global = true)]
    pub local: Option<PathBuf>,
    /// The engine that runs the SQL: athena or local [env: CPLOGS_ENGINE] [default:
    /// athena, or local when --local is given].
    #[arg(long, value_name = "ENGINE", value_parser = ["athena", "local"], global = true)]
    pub engine: Option<String>,
    /// S3 bucket holding `<table>/dt=YYYY-MM-DD/` prefixes [env: CPLOGS_BUCKET].
    #[arg(long, global = true)]
    pub bucket: Option<String>,
    /// Glue database of the tables [env: CPLOGS_DATABASE] [default:
    /// codepipeline_event_logs].
    #[arg(long, global = true)]
    pub database: Option<String>,
    /// Athena workgroup [env: CPLOGS_WORKGROUP] [default: primary].
    #[arg(long, global = true)]
    pub workgroup: Option<String>,
    /// Athena result location, s3://bucket/prefix/ [env: CPLOGS_OUTPUT_LOCATION].
    #[arg(long, value_name = "S3_URL", global = true)]
    pub output_location: Option<String>,
    /// Local engine: the most memory a query may hold (512MB, 2GiB); a query that
    /// needs more fails [env: CPLOGS_MEMORY_LIMIT] [default: half of the machine's
    /// memory].
    #[arg(long, value_name = "SIZE", global = true)]
    pub memory_limit: Option<String>,
    /// Athena: refuse a query estimated to scan more than this (10GB, 500MiB) before it
    /// starts [env: CPLOGS_MAX_SCAN].
    #[arg(long, value_name = "SIZE", global = true)]
    pub max_scan: Option<String>,
    /// AWS region [env: AWS_REGION] (default: from the profile). `backfill` and
    /// `coverage` take it more than once.
    #[arg(long, global = true, action = clap::ArgAction::Append)]
    pub region: Vec<String>,
    /// Named AWS profile.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Endpoint override, e.g. a local AWS API (also AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL", global = true)]
    pub endpoint_url: Option<String>,
    /// Output format (default: table). Commands that print a summary take table or
    /// json.
    #[arg(long, value_enum, global = true)]
    pub format: Option<Format>,
    /// No progress display.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Tables: show long cells whole instead of cutting them to the terminal's width.
    #[arg(long, global = true)]
    pub wide: bool,
}

impl GlobalArgs {
    /// The command-line values, for resolving settings.
    fn flags(&self) -> Flags {
        Flags {
            bucket: self.bucket.clone(),
            database: self.database.clone(),
            workgroup: self.workgroup.clone(),
            output_location: self.output_location.clone(),
            local: self.local.clone(),
            engine: self.engine.clone(),
            memory_limit: self.memory_limit.clone(),
            max_scan: self.max_scan.clone(),
            region: self.region.first().cloned(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }

    /// Reads the config file and merges it with the flags and the environment: the
    /// one place where `CPLOGS_*` and `AWS_REGION` are read.
    pub fn resolve(&self) -> Result<Context> {
        let file = settings::load(self.config.as_deref())?;
        let settings = settings::resolve(&self.flags(), |n| std::env::var(n).ok(), file.as_ref())?;
        let columns = std::env::var("COLUMNS").ok();
        Ok(Context {
            settings,
            format: self.format,
            quiet: self.quiet,
            regions: self.region.clone(),
            width: table_width(self.wide, io::stdout().is_terminal(), columns.as_deref()),
        })
    }
}

/// The usage error of an AWS command when no region is configured.
pub const NO_REGION: &str =
    "no AWS region configured: pass --region, set AWS_REGION, or use a profile with a region";

/// What a command receives: the resolved settings and the output choices.
#[derive(Debug, Clone)]
pub struct Context {
    /// Every setting, typed.
    pub settings: Settings,
    /// `--format`, when given.
    pub format: Option<Format>,
    /// `--quiet`.
    pub quiet: bool,
    /// Every `--region` given, in order (the first is the settings' region).
    pub regions: Vec<String>,
    /// The width tables are fitted to; `None`: cells are shown whole.
    pub width: Option<u16>,
}

/// The width to fit tables to: none with `--wide`; the terminal's on a terminal; else
/// `COLUMNS` when it is a number; else none (a file or pipe gets whole cells).
fn table_width(wide: bool, terminal: bool, columns: Option<&str>) -> Option<u16> {
    if wide {
        return None;
    }
    let from_terminal = terminal
        .then(|| terminal_size::terminal_size().map(|(w, _)| w.0))
        .flatten();
    from_terminal
        .or_else(|| columns.and_then(|c| c.trim().parse::<u16>().ok()))
        .filter(|&w| w >= 20)
}

/// The formats of commands that print a summary rather than result rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryFormat {
    /// A table for people.
    Table,
    /// JSON for scripts.
    Json,
}

impl Context {
    /// `--format` for result rows (default: table).
    pub fn format(&self) -> Format {
        self.format.unwrap_or(Format::Table)
    }

    /// `--format` for a command that prints a summary: table or json.
    pub fn summary_format(&self, command: &str) -> Result<SummaryFormat, UsageError> {
        match self.format {
            None | Some(Format::Table) => Ok(SummaryFormat::Table),
            Some(Format::Json) => Ok(SummaryFormat::Json),
            Some(other) => Err(UsageError(format!(
                "--format {}: `{command}` prints table or json",
                clap::ValueEnum::to_possible_value(&other)
                    .map(|v| v.get_name().to_owned())
                    .unwrap_or_default()
            ))),
        }
    }

    /// The AWS SDK configuration from the settings, refusing early (with `no_region`,
    /// e.g. [`NO_REGION`]) when no region is known.
    #[cfg(feature = "cloud")]
    pub async fn sdk_config(&self, no_region: &str) -> Result<aws_config::SdkConfig> {
        let s = &self.settings;
        let config = crate::aws::sdk::load_config(&crate::aws::sdk::AwsOptions {
            region: s.region.clone(),
            profile: s.profile.clone(),
            endpoint_url: s.endpoint_url.clone(),
        })
        .await;
        if config.region().is_none() {
            return Err(UsageError(no_region.to_owned()).into());
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::table_width;

    #[test]
    fn tables_fit_a_terminal_or_columns_unless_wide() {
        assert_eq!(table_width(false, false, None), None);
        assert_eq!(table_width(false, false, Some("80")), Some(80));
        assert_eq!(table_width(true, false, Some("80")), None);
        assert_eq!(table_width(false, false, Some("wide")), None);
        // Too narrow to be a real terminal width: not used.
        assert_eq!(table_width(false, false, Some("3")), None);
    }
}
