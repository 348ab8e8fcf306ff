//! `--since` / `--until` values: a duration back from now (`7d`, `12h`, `30m`), a
//! date (`2026-11-01`, midnight UTC) or an RFC 3339 instant; and durations such as
//! `--older-than 24h`. Every value is range-checked here, so no flag can carry a time
//! that the tables cannot hold or that overflows date arithmetic. Also the window
//! flags reports share ([`WindowArgs`]).

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::exit::UsageError;
use crate::reports::ReportParams;

/// Why a window bound cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// Not a time in any accepted form.
    #[error(
        "{0:?} is not a time: use a duration back from now (7d, 12h, 30m), a date (2026-11-01) or an RFC 3339 time"
    )]
    NotATime(String),
    /// A time outside what the tables hold.
    #[error("{0:?} is out of range: times must lie between 1970-01-01 and 9999-12-31 (UTC)")]
    OutOfRange(String),
}

/// The longest duration any flag takes: 100 years.
pub const MAX_DURATION: Duration = Duration::days(36_500);

/// The earliest time a window can start: the tables' first day.
pub fn earliest() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

/// The end of the last day the tables can hold (`dt=9999-12-31`).
pub fn latest() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(10_000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Parses a duration: a count and a unit, `30s`, `30m`, `12h`, `7d` or `1w`, from 0
/// up to [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let unit = t.chars().last()?;
    let digits = &t[..t.len() - unit.len_utf8()];
    // Digits only: no sign, no exponent, no spaces, no `+`.
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    let unit_seconds: i64 = match unit {
        'w' => 7 * 86_400,
        'd' => 86_400,
        'h' => 3_600,
        'm' => 60,
        's' => 1,
        _ => return None,
    };
    let d = Duration::try_seconds(n.checked_mul(unit_seconds)?)?;
    (d <= MAX_DURATION).then_some(d)
}

/// Parses a window bound relative to `now`; the result lies between 1970-01-01 and the
/// end of 9999-12-31.
pub fn parse_instant(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, WindowError> {
    let t = text.trim();
    let not_a_time = || WindowError::NotATime(text.to_owned());
    let at = if t.ends_with(['d', 'h', 'm', 'w', 's']) && !t.contains('-') {
        let back = parse_duration(t).ok_or_else(not_a_time)?;
        now.checked_sub_signed(back)
            .ok_or_else(|| WindowError::OutOfRange(text.to_owned()))?
    } else if let Ok(day) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        day.and_time(chrono::NaiveTime::MIN).and_utc()
    } else {
        DateTime::parse_from_rfc3339(t)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|_| not_a_time())?
    };
    if at < earliest() || at >= latest() {
        return Err(WindowError::OutOfRange(text.to_owned()));
    }
    Ok(at)
}

/// The time window and pipelines a report looks at.
#[derive(Debug, clap::Args)]
pub struct WindowArgs {
    /// Window start: 7d, 12h, 30m, 2026-11-01 or an RFC 3339 time.
    #[arg(long, default_value = "7d")]
    pub since: String,
    /// Window end (exclusive), same forms; default: now.
    #[arg(long)]
    pub until: Option<String>,
    /// Only this pipeline (repeatable).
    #[arg(long = "pipeline", value_name = "NAME")]
    pub pipelines: Vec<String>,
    /// The time relative windows and "now" are computed from (an RFC 3339 time or a
    /// date); default: the start of the current minute.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

impl WindowArgs {
    /// The time a report is computed for: `--now`, else the start of the current
    /// minute (see [`crate::reports::anchor`]).
    pub fn now(&self) -> Result<DateTime<Utc>, UsageError> {
        let clock = Utc::now();
        match &self.now {
            Some(t) => parse_instant(t, clock).map_err(|e| UsageError(format!("--now: {e}"))),
            None => Ok(crate::reports::anchor(clock)),
        }
    }

    /// The window and pipelines as report parameters, computed for `now`.
    pub fn params(&self, now: DateTime<Utc>) -> Result<ReportParams, UsageError> {
        let since =
            parse_instant(&self.since, now).map_err(|e| UsageError(format!("--since: {e}")))?;
        let until = match &self.until {
            Some(u) => parse_instant(u, now).map_err(|e| UsageError(format!("--until: {e}")))?,
            None => now,
        };
        ReportParams::new(since, until, now)
            .and_then(|p| p.with_pipelines(&self.pipelines))
            .map_err(|e| UsageError(e.to_string()))
    }
}

/// A duration flag, or a usage error naming it.
pub fn usage_duration(flag: &str, text: &str) -> Result<Duration, UsageError> {
    parse_duration(text).ok_or_else(|| {
        UsageError(format!(
            "{flag}: {text:?} is not a duration of at most 100 years (90s, 30m, 24h, 2d, 1w)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_dates_and_instants() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let at = |s: &str| parse_instant(s, now).map(|t| t.to_rfc3339());
        assert_eq!(at("7d").unwrap(), "2026-11-16T12:00:00+00:00");
        assert_eq!(at("12h").unwrap(), "2026-11-23T00:00:00+00:00");
        assert_eq!(at("30m").unwrap(), "2026-11-23T11:30:00+00:00");
        assert_eq!(at("1w").unwrap(), "2026-11-16T12:00:00+00:00");
        assert_eq!(at("90s").unwrap(), "2026-11-23T11:58:30+00:00");
        assert_eq!(parse_duration("30m"), Some(Duration::minutes(30)));
        assert_eq!(parse_duration("30"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(at("2026-11-01").unwrap(), "2026-11-01T00:00:00+00:00");
        assert_eq!(
            at("2026-11-01T10:00:00+02:00").unwrap(),
            "2026-11-01T08:00:00+00:00"
        );
        for bad in [
            "",
            "d",
            "-1d",
            "+1d",
            "7x",
            "7 days",
            "2026-13-01",
            "yesterday",
            "1e3d",
        ] {
            assert!(matches!(at(bad), Err(WindowError::NotATime(_))), "{bad}");
        }
    }

    #[test]
    fn out_of_range_values_are_errors_not_panics() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_duration("36500d"), Some(MAX_DURATION));
        for bad in [
            "36501d",
            "3153600000d",
            "9223372036854775807s",
            "99999999999999999999999d",
            "5300w",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        for bad in [
            "+262142-12-31",
            "-262143-01-01",
            "0001-01-01",
            "1969-12-31",
            "10000-01-01",
            "1969-12-31T23:59:59Z",
            "0000-01-01T00:30:00+01:00",
            "60000d",
        ] {
            assert!(parse_instant(bad, now).is_err(), "{bad}");
        }
        assert_eq!(
            parse_instant("36500d", now),
            Err(WindowError::OutOfRange("36500d".into()))
        );
        assert!(parse_instant("9999-12-31T23:00:00-00:30", now).is_ok());
        assert!(parse_instant("9999-12-31T23:30:00-01:00", now).is_err());
        assert!(parse_instant("1970-01-01", now).is_ok());
        assert!(parse_instant("9999-12-31", now).is_ok());
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// Random text, and text shaped like the values the parsers take, with huge
        /// and signed numbers, odd units and far dates.
        fn values() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "[+-]?[0-9]{1,25}[smhdwyx ]?",
                "[+-]?[0-9]{1,7}-[0-9]{1,3}-[0-9]{1,3}",
                "[+-]?[0-9]{1,7}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})",
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            #[test]
            fn a_duration_is_in_range_or_refused(text in values()) {
                if let Some(d) = parse_duration(&text) {
                    prop_assert!(d >= Duration::zero() && d <= MAX_DURATION, "{text}: {d}");
                }
            }

            #[test]
            fn an_instant_is_in_range_or_refused(text in values(), secs in 0i64..253_402_300_799) {
                let now = DateTime::from_timestamp(secs, 0).unwrap_or_default();
                if let Ok(t) = parse_instant(&text, now) {
                    prop_assert!(t >= earliest() && t < latest(), "{text}: {t}");
                }
            }
        }
    }
}
