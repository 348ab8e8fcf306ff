//! `cplogs config show`: the resolved settings and where each came from.

use std::io::{self, Write};

use anyhow::Result;
use clap::{Args, Subcommand};

use super::exit::Exit;
use super::global::{Context, SummaryFormat};
use super::settings::Setting;
#[cfg(feature = "cloud")]
use super::settings::Source;

/// `cplogs config`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs config show
  CPLOGS_BUCKET=my-bucket cplogs config show --format json")]
pub struct ConfigArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ConfigAction,
}

/// `cplogs config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print every setting, its value and where it came from (flag, CPLOGS_*
    /// environment variable, config file, default).
    Show,
}

/// Prints the settings.
pub fn run(args: &ConfigArgs, cx: &Context) -> Result<Exit> {
    let ConfigAction::Show = args.action;
    let format = cx.summary_format("config show")?;
    let settings = &cx.settings;
    let region = effective_region(cx)?;
    let rows: Vec<(&str, Setting)> = settings
        .rows()
        .into_iter()
        .map(|(name, s)| match (name, &region) {
            ("region", Some(r)) => (name, r.clone()),
            _ => (name, s.clone()),
        })
        .collect();
    let mut out = io::stdout().lock();
    match format {
        SummaryFormat::Json => {
            let mut doc = serde_json::Map::new();
            for (name, s) in &rows {
                doc.insert(
                    (*name).into(),
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
            for (name, s) in &rows {
                let value = s.value.clone().unwrap_or_else(|| "-".into());
                grid.add_row([(*name).to_owned(), value, s.source.to_string()]);
            }
            writeln!(out, "{grid}")?;
            match &settings.file {
                Some(p) => note!("config file: {}", p.display()),
                None => note!(
                    "config file: none ({} not found)",
                    super::settings::default_path()
                        .map_or_else(|| "no config directory".into(), |p| p.display().to_string())
                ),
            }
        }
    }
    Ok(Exit::Success)
}

/// The region the AWS SDK would use when no flag, variable or config file sets one:
/// the one in the profile of the shared AWS config file (no network is asked).
fn effective_region(cx: &Context) -> Result<Option<Setting>> {
    if cx.settings.region.is_some() {
        return Ok(None);
    }
    // A build without AWS (no `cloud`) has no SDK to read the profile with, and no
    // command that would use the region.
    #[cfg(not(feature = "cloud"))]
    return Ok(None);
    #[cfg(feature = "cloud")]
    profile_region(cx)
}

/// The region of the profile in the shared AWS config file.
#[cfg(feature = "cloud")]
fn profile_region(cx: &Context) -> Result<Option<Setting>> {
    let mut builder = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(p) = &cx.settings.profile {
        builder = builder.profile_name(p);
    }
    let provider = builder.build();
    let region = super::runtime()?.block_on(async {
        use aws_config::meta::region::ProvideRegion;
        provider.region().await
    });
    let profile = cx
        .settings
        .profile
        .clone()
        .unwrap_or_else(|| "default".into());
    Ok(region.map(|r| Setting {
        value: Some(r.to_string()),
        source: Source::AwsProfile(profile),
    }))
}
