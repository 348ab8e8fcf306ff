//! Exit codes of the `cplogs` binary, in one place so scripts can rely on them.

use std::process::ExitCode;

/// What a run ended with. The numbers are part of the CLI's contract (README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked.
    Success,
    /// An error: bad input data, I/O, AWS. Also `ingest` with rejected events.
    Failure,
    /// The command line was wrong.
    Usage,
    /// An audit threshold was breached.
    Breach,
    /// The window holds no data.
    NoData,
    /// Interrupted by Ctrl-C.
    Interrupted,
}

impl Exit {
    /// The process exit status.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::Breach => 3,
            Exit::NoData => 4,
            Exit::Interrupted => 130,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// An error that the CLI reports as a usage error (exit 2) rather than a failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The error of something that needs AWS in a cplogs built without it (no `cloud`
/// feature: the README's first command builds that way); a usage error.
#[cfg(not(feature = "cloud"))]
pub fn without_aws(what: &str) -> anyhow::Error {
    UsageError(format!(
        "{what} needs AWS, and this cplogs was built without it (no `cloud` feature): use \
         --local DIR or --demo, or build every command with `cargo build --release`"
    ))
    .into()
}

/// Whether `err` is stdout (or stderr) closed by the reader, as `cplogs … | head`
/// does: not a failure of cplogs, so it ends quietly with success.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The exit for an error that reached the top of the CLI.
pub fn for_error(err: &anyhow::Error) -> Exit {
    if is_broken_pipe(err) {
        Exit::Success
    } else if err.downcast_ref::<UsageError>().is_some()
        || matches!(
            err.downcast_ref::<super::settings::ConfigError>(),
            Some(super::settings::ConfigError::Invalid { .. })
        )
        || err
            .downcast_ref::<super::settings::MissingSetting>()
            .is_some()
    {
        Exit::Usage
    } else if matches!(
        err.downcast_ref::<crate::engine::EngineError>(),
        Some(crate::engine::EngineError::Interrupted)
    ) {
        Exit::Interrupted
    } else {
        Exit::Failure
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let all = [
            (Exit::Success, 0),
            (Exit::Failure, 1),
            (Exit::Usage, 2),
            (Exit::Breach, 3),
            (Exit::NoData, 4),
            (Exit::Interrupted, 130),
        ];
        for (exit, code) in all {
            assert_eq!(exit.code(), code, "{exit:?}");
        }
    }

    #[test]
    fn usage_errors_are_told_apart_from_failures() {
        let usage = anyhow::Error::new(UsageError("bad flag".into())).context("while parsing");
        assert_eq!(for_error(&usage), Exit::Usage);
        assert_eq!(for_error(&anyhow::anyhow!("disk full")), Exit::Failure);
        let stopped = anyhow::Error::new(crate::engine::EngineError::Interrupted).context("report");
        assert_eq!(for_error(&stopped), Exit::Interrupted);
        let closed = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            .context("writing the report");
        assert!(is_broken_pipe(&closed));
        assert_eq!(for_error(&closed), Exit::Success);
        let other = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert_eq!(for_error(&other), Exit::Failure);
    }
}
