//! `--since` / `--until` values: a duration back from now (`7d`, `12h`, `30m`), a
//! date (`2026-11-01`, midnight UTC) or an RFC 3339 instant.

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// Why a window bound cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a time: use a duration back from now (7d, 12h, 30m), a date (2026-11-01) or an RFC 3339 time"
)]
pub struct WindowError(pub String);

/// Parses a duration: a count and a unit, `30s`, `30m`, `12h`, `7d` or `1w`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let unit = t.chars().last()?;
    let n: i64 = t[..t.len() - unit.len_utf8()].parse().ok()?;
    if !(0..=36_500 * 24 * 60 * 60).contains(&n) {
        return None;
    }
    Some(match unit {
        'w' => Duration::weeks(n),
        'd' => Duration::days(n),
        'h' => Duration::hours(n),
        'm' => Duration::minutes(n),
        's' => Duration::seconds(n),
        _ => return None,
    })
}

/// Parses a window bound relative to `now`.
pub fn parse_instant(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, WindowError> {
    let t = text.trim();
    let err = || WindowError(text.to_owned());
    if t.ends_with(['d', 'h', 'm', 'w', 's']) && !t.contains('-') {
        let back = parse_duration(t).ok_or_else(err)?;
        return now.checked_sub_signed(back).ok_or_else(err);
    }
    if let Ok(day) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(t)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| err())
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
            "7x",
            "7 days",
            "2026-13-01",
            "yesterday",
            "1e3d",
        ] {
            assert!(at(bad).is_err(), "{bad}");
        }
    }
}
