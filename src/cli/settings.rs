//! cplogs settings, resolved once: a command-line flag, then a `CPLOGS_*` environment
//! variable, then the config file (`cplogs.toml` in the user's config directory, or
//! `--config`), then the built-in default, merged into one typed, validated
//! [`Settings`] value that every command receives (and `config show` prints with where
//! each value came from). Nothing else in the CLI reads the environment.
//!
//! AWS credentials, and the region, profile and endpoint when no flag or config file
//! sets them, come from the AWS SDK's own default chain (environment, profiles, SSO,
//! instance roles), as in the AWS CLI.
//!
//! One cohesive thing (over 400 lines with tests): every setting's sources, resolution and types.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::core::schema::DEFAULT_DATABASE;

/// Environment variable that names the config file.
pub const CONFIG_ENV: &str = "CPLOGS_CONFIG";

/// The config file's contents. Unknown keys are an error, so typos are caught.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// S3 bucket of the logs.
    pub bucket: Option<String>,
    /// Glue database.
    pub database: Option<String>,
    /// Athena workgroup.
    pub workgroup: Option<String>,
    /// Athena query result location (`s3://…/`).
    pub output_location: Option<String>,
    /// `athena` or `local`.
    pub engine: Option<String>,
    /// Directory the local engine reads.
    pub local: Option<PathBuf>,
    /// The local engine's memory limit (`512MB`, `2GiB`).
    pub memory_limit: Option<String>,
    /// Athena: refuse a query estimated to scan more than this (`10GB`).
    pub max_scan: Option<String>,
    /// Athena's price per TB scanned, in dollars, for estimates.
    pub price_per_tb: Option<f64>,
    /// Where the local engine keeps decoded files.
    pub cache_dir: Option<PathBuf>,
    /// AWS region.
    pub region: Option<String>,
    /// Named AWS profile.
    pub profile: Option<String>,
    /// AWS endpoint override.
    pub endpoint_url: Option<String>,
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file given with `--config` / `CPLOGS_CONFIG` cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said.
        message: String,
    },
    /// `engine` is neither `athena` nor `local`.
    #[error("engine {0:?} (from {1}) is not one of: athena, local")]
    Engine(String, Source),
    /// A value that cannot be used (a usage error: exit 2).
    #[error("{what} (from {from}): {message}")]
    Invalid {
        /// The setting, in words (`memory limit`).
        what: &'static str,
        /// Where the value came from.
        from: Source,
        /// What is wrong with it.
        message: String,
    },
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// The config file.
    File(PathBuf),
    /// The built-in default.
    Default,
    /// Not set here, and nothing uses a value.
    Unset,
    /// Not set here: the AWS SDK's default chain decides (AWS_REGION, profiles, …).
    AwsChain,
    /// The AWS shared config file's profile (`~/.aws/config`).
    AwsProfile(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(name) => write!(f, "flag {name}"),
            Source::Env(name) => write!(f, "environment {name}"),
            Source::File(p) => write!(f, "config file {}", p.display()),
            Source::Default => f.write_str("default"),
            Source::Unset => f.write_str("unset"),
            Source::AwsChain => f.write_str("AWS default chain"),
            Source::AwsProfile(p) => write!(f, "AWS profile {p}"),
        }
    }
}

/// One resolved setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value, if any source set it.
    pub value: Option<String>,
    /// Where it came from.
    pub source: Source,
}

/// The command-line values (None when the flag was not given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// `--bucket`
    pub bucket: Option<String>,
    /// `--database`
    pub database: Option<String>,
    /// `--workgroup`
    pub workgroup: Option<String>,
    /// `--output-location`
    pub output_location: Option<String>,
    /// `--local`
    pub local: Option<PathBuf>,
    /// `--engine`
    pub engine: Option<String>,
    /// `--memory-limit`
    pub memory_limit: Option<String>,
    /// `--max-scan`
    pub max_scan: Option<String>,
    /// `--region`
    pub region: Option<String>,
    /// `--profile`
    pub profile: Option<String>,
    /// `--endpoint-url`
    pub endpoint_url: Option<String>,
}

/// Which engine runs the SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// Athena, over the Glue tables.
    Athena,
    /// The embedded engine over a local directory in the bucket's layout.
    Local,
}

/// Every setting, resolved and typed, with where each value came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The engine.
    pub engine: EngineKind,
    /// Directory the local engine reads.
    pub local: Option<PathBuf>,
    /// S3 bucket of the logs.
    pub bucket: Option<String>,
    /// Glue database.
    pub database: String,
    /// Athena workgroup.
    pub workgroup: String,
    /// Athena query result location.
    pub output_location: Option<String>,
    /// The local engine's memory limit in bytes; `None`: half of the machine's memory.
    pub memory_limit: Option<u64>,
    /// Athena: the most bytes a query may be estimated to scan; `None`: no limit.
    pub max_scan: Option<u64>,
    /// Athena's price per TB scanned, in dollars (default 5).
    pub price_per_tb: f64,
    /// Where the local engine keeps decoded files (default: `cplogs/columnar` in the
    /// user's cache directory; `None` when there is none).
    pub cache_dir: Option<PathBuf>,
    /// AWS region; `None`: the AWS SDK's chain (profile) decides.
    pub region: Option<String>,
    /// AWS profile.
    pub profile: Option<String>,
    /// AWS endpoint override.
    pub endpoint_url: Option<String>,
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
    raw: Raw,
}

impl Settings {
    /// Name, value (as text) and source of every setting, in display order.
    pub fn rows(&self) -> Vec<(&'static str, &Setting)> {
        self.raw.rows()
    }

    /// Where the engine choice came from.
    pub fn engine_source(&self) -> &Source {
        &self.raw.engine.source
    }

    /// Where the max scan came from.
    pub fn max_scan_source(&self) -> &Source {
        &self.raw.max_scan.source
    }

    /// Where the memory limit came from.
    pub fn memory_limit_source(&self) -> &Source {
        &self.raw.memory_limit.source
    }

    /// The bucket, which some commands require.
    pub fn require_bucket(&self) -> Result<&str, MissingSetting> {
        self.bucket.as_deref().ok_or(MissingSetting(
            "--bucket is required (or CPLOGS_BUCKET, or `bucket` in the config file)",
        ))
    }
}

/// A setting a command needs that no source set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MissingSetting(pub &'static str);

/// Every setting as text, with its source.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Raw {
    bucket: Setting,
    database: Setting,
    workgroup: Setting,
    output_location: Setting,
    engine: Setting,
    local: Setting,
    memory_limit: Setting,
    max_scan: Setting,
    price_per_tb: Setting,
    cache_dir: Setting,
    region: Setting,
    profile: Setting,
    endpoint_url: Setting,
}

impl Raw {
    fn rows(&self) -> Vec<(&'static str, &Setting)> {
        vec![
            ("bucket", &self.bucket),
            ("database", &self.database),
            ("workgroup", &self.workgroup),
            ("output_location", &self.output_location),
            ("engine", &self.engine),
            ("local", &self.local),
            ("memory_limit", &self.memory_limit),
            ("max_scan", &self.max_scan),
            ("price_per_tb", &self.price_per_tb),
            ("cache_dir", &self.cache_dir),
            ("region", &self.region),
            ("profile", &self.profile),
            ("endpoint_url", &self.endpoint_url),
        ]
    }
}

/// The default cache of the local engine: `<cache dir>/cplogs/columnar`.
fn default_cache_dir() -> Option<String> {
    dirs::cache_dir().map(|d| d.join("cplogs").join("columnar").display().to_string())
}

/// The default config file: `<config dir>/cplogs/cplogs.toml`.
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("cplogs").join("cplogs.toml"))
}

/// Reads the config file: `explicit` (from `--config` or `CPLOGS_CONFIG`) must
/// exist; the default file is optional.
pub fn load(explicit: Option<&Path>) -> Result<Option<(PathBuf, FileConfig)>, ConfigError> {
    let (path, required) = match explicit {
        Some(p) => (p.to_owned(), true),
        None => match default_path() {
            Some(p) => (p, false),
            None => return Ok(None),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    let config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.clone(),
        message: e.to_string(),
    })?;
    Ok(Some((path, config)))
}

/// Resolves every setting: flag, then `CPLOGS_*` variable (read with `env`), then
/// the file, then the default.
pub fn resolve(
    flags: &Flags,
    env: impl Fn(&str) -> Option<String>,
    file: Option<&(PathBuf, FileConfig)>,
) -> Result<Settings, ConfigError> {
    let from_file = |get: fn(&FileConfig) -> Option<String>| {
        file.and_then(|(p, c)| get(c).map(|v| (v, Source::File(p.clone()))))
    };
    let pick = |flag: (&'static str, &Option<String>),
                vars: &[&'static str],
                get: fn(&FileConfig) -> Option<String>,
                default: Option<&str>| {
        let found = flag
            .1
            .clone()
            .map(|v| (v, Source::Flag(flag.0)))
            .or_else(|| {
                vars.iter().find_map(|&name| {
                    env(name)
                        .filter(|v| !v.is_empty())
                        .map(|v| (v, Source::Env(name)))
                })
            })
            .or_else(|| from_file(get))
            .or_else(|| default.map(|d| (d.to_owned(), Source::Default)));
        match found {
            Some((v, s)) => Setting {
                value: Some(v),
                source: s,
            },
            None => Setting {
                value: None,
                source: Source::Unset,
            },
        }
    };
    let path_text = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let local = pick(
        ("--local", &path_text(&flags.local)),
        &["CPLOGS_LOCAL"],
        |c| c.local.as_ref().map(|p| p.display().to_string()),
        None,
    );
    let mut engine = pick(
        ("--engine", &flags.engine),
        &["CPLOGS_ENGINE"],
        |c| c.engine.clone(),
        Some("athena"),
    );
    // `--local DIR` (or CPLOGS_LOCAL) selects the local engine, whatever the file says
    // (an explicit `--engine`, or CPLOGS_ENGINE, still decides).
    if matches!(local.source, Source::Flag(_) | Source::Env(_))
        && !matches!(engine.source, Source::Env(_) | Source::Flag(_))
    {
        engine = Setting {
            value: Some("local".into()),
            source: local.source.clone(),
        };
    }
    if let Some(e) = &engine.value
        && e != "athena"
        && e != "local"
    {
        return Err(ConfigError::Engine(e.clone(), engine.source.clone()));
    }
    let raw = Raw {
        bucket: pick(
            ("--bucket", &flags.bucket),
            &["CPLOGS_BUCKET"],
            |c| c.bucket.clone(),
            None,
        ),
        database: pick(
            ("--database", &flags.database),
            &["CPLOGS_DATABASE"],
            |c| c.database.clone(),
            Some(DEFAULT_DATABASE),
        ),
        workgroup: pick(
            ("--workgroup", &flags.workgroup),
            &["CPLOGS_WORKGROUP"],
            |c| c.workgroup.clone(),
            Some("primary"),
        ),
        output_location: pick(
            ("--output-location", &flags.output_location),
            &["CPLOGS_OUTPUT_LOCATION"],
            |c| c.output_location.clone(),
            None,
        ),
        engine,
        local,
        memory_limit: pick(
            ("--memory-limit", &flags.memory_limit),
            &["CPLOGS_MEMORY_LIMIT"],
            |c| c.memory_limit.clone(),
            None,
        ),
        max_scan: pick(
            ("--max-scan", &flags.max_scan),
            &["CPLOGS_MAX_SCAN"],
            |c| c.max_scan.clone(),
            None,
        ),
        price_per_tb: pick(
            ("--price-per-tb", &None),
            &["CPLOGS_PRICE_PER_TB"],
            |c| c.price_per_tb.map(|p| p.to_string()),
            Some("5"),
        ),
        cache_dir: pick(
            ("--cache-dir", &None),
            &["CPLOGS_CACHE_DIR"],
            |c| c.cache_dir.as_ref().map(|p| p.display().to_string()),
            default_cache_dir().as_deref(),
        ),
        // The region as the AWS SDK would find it in the environment, so that
        // `config show` tells; a profile's region is left to the SDK's chain.
        region: aws_chain(pick(
            ("--region", &flags.region),
            &["AWS_REGION", "AWS_DEFAULT_REGION"],
            |c| c.region.clone(),
            None,
        )),
        // The AWS SDK reads AWS_ENDPOINT_URL itself.
        profile: aws_chain(pick(
            ("--profile", &flags.profile),
            &["AWS_PROFILE"],
            |c| c.profile.clone(),
            None,
        )),
        endpoint_url: aws_chain(pick(
            ("--endpoint-url", &flags.endpoint_url),
            &[],
            |c| c.endpoint_url.clone(),
            None,
        )),
    };
    typed(raw, file.map(|(p, _)| p.clone()))
}

/// Checks and converts the text values.
fn typed(raw: Raw, file: Option<PathBuf>) -> Result<Settings, ConfigError> {
    let engine = match raw.engine.value.as_deref() {
        Some("local") => EngineKind::Local,
        _ => EngineKind::Athena,
    };
    let memory_limit = match &raw.memory_limit.value {
        Some(text) => {
            Some(
                crate::engine::memory::parse_size(text).map_err(|e| ConfigError::Invalid {
                    what: "memory limit",
                    from: raw.memory_limit.source.clone(),
                    message: e.to_string(),
                })?,
            )
        }
        None => None,
    };
    let max_scan =
        match &raw.max_scan.value {
            Some(text) => Some(crate::engine::memory::parse_bytes(text).map_err(|e| {
                ConfigError::Invalid {
                    what: "max scan",
                    from: raw.max_scan.source.clone(),
                    message: e.to_string(),
                }
            })?),
            None => None,
        };
    let price_per_tb = raw
        .price_per_tb
        .value
        .as_deref()
        .unwrap_or("5")
        .parse::<f64>()
        .ok()
        .filter(|p| p.is_finite() && (0.0..=1000.0).contains(p))
        .ok_or_else(|| ConfigError::Invalid {
            what: "price per TB",
            from: raw.price_per_tb.source.clone(),
            message: "expected dollars from 0 to 1000 (Athena's list price is 5)".into(),
        })?;
    let text = |s: &Setting| s.value.clone();
    Ok(Settings {
        engine,
        local: raw.local.value.as_ref().map(PathBuf::from),
        bucket: text(&raw.bucket),
        database: text(&raw.database).unwrap_or_else(|| DEFAULT_DATABASE.to_owned()),
        workgroup: text(&raw.workgroup).unwrap_or_else(|| "primary".to_owned()),
        output_location: text(&raw.output_location),
        memory_limit,
        max_scan,
        price_per_tb,
        cache_dir: raw.cache_dir.value.as_ref().map(PathBuf::from),
        region: text(&raw.region),
        profile: text(&raw.profile),
        endpoint_url: text(&raw.endpoint_url),
        file,
        raw,
    })
}

fn aws_chain(s: Setting) -> Setting {
    match s.source {
        Source::Unset => Setting {
            value: None,
            source: Source::AwsChain,
        },
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(s: &'a Settings, name: &str) -> &'a Setting {
        s.rows().into_iter().find(|(n, _)| *n == name).unwrap().1
    }

    fn file(text: &str) -> (PathBuf, FileConfig) {
        (
            PathBuf::from("/etc/cplogs.toml"),
            toml::from_str(text).unwrap(),
        )
    }

    #[test]
    fn flag_then_env_then_file_then_default() {
        let f = file(
            "bucket = \"from-file\"\ndatabase = \"db_file\"\nworkgroup = \"wg\"\nregion = \"eu-west-1\"\n",
        );
        let env = |name: &str| match name {
            "CPLOGS_DATABASE" => Some("db_env".to_owned()),
            "CPLOGS_BUCKET" => Some(String::new()),
            _ => None,
        };
        let flags = Flags {
            workgroup: Some("wg_flag".into()),
            ..Flags::default()
        };
        let s = resolve(&flags, env, Some(&f)).unwrap();
        assert_eq!(row(&s, "workgroup").value.as_deref(), Some("wg_flag"));
        assert_eq!(row(&s, "workgroup").source, Source::Flag("--workgroup"));
        assert_eq!(row(&s, "database").value.as_deref(), Some("db_env"));
        assert_eq!(row(&s, "database").source, Source::Env("CPLOGS_DATABASE"));
        // An empty variable does not count as set.
        assert_eq!(row(&s, "bucket").value.as_deref(), Some("from-file"));
        assert_eq!(
            row(&s, "bucket").source,
            Source::File("/etc/cplogs.toml".into())
        );
        assert_eq!(row(&s, "region").value.as_deref(), Some("eu-west-1"));
        assert_eq!(row(&s, "engine").value.as_deref(), Some("athena"));
        assert_eq!(row(&s, "engine").source, Source::Default);
        assert_eq!(row(&s, "output_location").source, Source::Unset);

        let s = resolve(&Flags::default(), |_| None, None).unwrap();
        assert_eq!(row(&s, "database").value.as_deref(), Some(DEFAULT_DATABASE));
        assert_eq!(row(&s, "database").source, Source::Default);
    }

    #[test]
    fn local_selects_the_local_engine() {
        let f = file("engine = \"athena\"\nlocal = \"/data/logs\"\n");
        let s = resolve(&Flags::default(), |_| None, Some(&f)).unwrap();
        assert_eq!(row(&s, "engine").value.as_deref(), Some("athena"));
        let flags = Flags {
            local: Some("/tmp/logs".into()),
            ..Flags::default()
        };
        let s = resolve(&flags, |_| None, Some(&f)).unwrap();
        assert_eq!(row(&s, "engine").value.as_deref(), Some("local"));
        assert_eq!(row(&s, "engine").source, Source::Flag("--local"));
        assert_eq!(row(&s, "local").value.as_deref(), Some("/tmp/logs"));
        let f = file("engine = \"local\"\nlocal = \"/data/logs\"\n");
        let s = resolve(&Flags::default(), |_| None, Some(&f)).unwrap();
        assert_eq!(row(&s, "engine").value.as_deref(), Some("local"));
        assert_eq!(row(&s, "local").value.as_deref(), Some("/data/logs"));
    }

    #[test]
    fn bad_files_are_clear_errors() {
        assert!(toml::from_str::<FileConfig>("bucket = 1").is_err());
        assert!(toml::from_str::<FileConfig>("buckt = \"x\"").is_err());
        let f = file("engine = \"presto\"\n");
        let e = resolve(&Flags::default(), |_| None, Some(&f)).unwrap_err();
        assert!(e.to_string().contains("presto"), "{e}");
        let missing = load(Some(Path::new("/nonexistent/cplogs.toml"))).unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/cplogs.toml"));
    }

    #[test]
    fn values_are_typed_and_checked_once() {
        let env = |name: &str| match name {
            "CPLOGS_MEMORY_LIMIT" => Some("512MiB".to_owned()),
            "AWS_DEFAULT_REGION" => Some("eu-north-1".to_owned()),
            _ => None,
        };
        let flags = Flags {
            engine: Some("local".into()),
            local: Some("/data".into()),
            ..Flags::default()
        };
        let s = resolve(&flags, env, None).unwrap();
        assert_eq!(s.engine, EngineKind::Local);
        assert_eq!(*s.engine_source(), Source::Flag("--engine"));
        assert_eq!(s.memory_limit, Some(512 << 20));
        assert_eq!(s.region.as_deref(), Some("eu-north-1"));
        assert_eq!(row(&s, "region").source, Source::Env("AWS_DEFAULT_REGION"));
        assert_eq!(s.database, DEFAULT_DATABASE);
        assert!(s.require_bucket().is_err());
        // An explicit --engine athena wins over --local.
        let flags = Flags {
            engine: Some("athena".into()),
            local: Some("/data".into()),
            ..Flags::default()
        };
        assert_eq!(
            resolve(&flags, |_| None, None).unwrap().engine,
            EngineKind::Athena
        );
        let bad = |name: &str| (name == "CPLOGS_MEMORY_LIMIT").then(|| "lots".to_owned());
        let e = resolve(&Flags::default(), bad, None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("memory limit (from environment CPLOGS_MEMORY_LIMIT)"),
            "{e}"
        );
    }
}
