//! The S3 (and local) file layout: `<table>/dt=YYYY-MM-DD/<file>`, in both directions.
//!
//! Writers (Firehose via the transform Lambda, `cplogs ingest`) place a record by
//! [`Dt::of_event_time`]; readers (the partition Lambda, `repair-partitions`, the
//! local engine) go back from a key or folder to `(table, dt)` with [`parse_key`] and
//! [`Dt::from_partition_dir`].

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};

use crate::core::schema::{PARTITION_KEY, Table};

/// Why a time, date or key does not fit the layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// The event `time` is not an ISO 8601 / RFC 3339 timestamp.
    #[error("event time {time:?} is not an ISO 8601 timestamp with a time zone ({reason})")]
    BadTime {
        /// The text as received (truncated to 64 characters).
        time: String,
        /// What the parser said.
        reason: String,
    },
    /// An event time that converted to UTC falls outside what the tables hold
    /// ([`FIRST_TIME`] … [`LAST_TIME`]): its `dt` would not be a four-digit-year date
    /// (`dt=10000-01-01`, `dt=-001-12-31`) or it precedes any CodePipeline event.
    #[error(
        "event time {time:?} is {utc} in UTC, outside 1970-01-01T00:00:00Z … 9999-12-31T23:59:59.999Z"
    )]
    OutOfRange {
        /// The text as received (truncated to 64 characters).
        time: String,
        /// The same instant in UTC.
        utc: String,
    },
    /// A partition value that is not a `YYYY-MM-DD` date.
    #[error("partition value {0:?} is not a date in the form YYYY-MM-DD")]
    BadDate(String),
    /// An S3 key outside `<table>/dt=YYYY-MM-DD/<file>`.
    #[error("key {key:?} is outside the layout <table>/dt=YYYY-MM-DD/<file>: {reason}")]
    OutsideLayout {
        /// The decoded key (truncated to 256 characters).
        key: String,
        /// Which part did not fit.
        reason: &'static str,
    },
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// The earliest event time the tables hold: the Unix epoch (no CodePipeline event is
/// older, and Athena's and the engines' timestamps are all comfortable from there).
pub fn first_time() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

/// The latest event time the tables hold: the last millisecond whose UTC date has a
/// four-digit year, so every `dt` is `YYYY-MM-DD`.
pub fn last_time() -> DateTime<Utc> {
    // 9999-12-31 is a valid date for chrono, so this never falls back.
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 999))
        .map_or(DateTime::<Utc>::MAX_UTC, |t| t.and_utc())
}

/// A partition date: the UTC calendar day of an event's `time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dt(NaiveDate);

impl Dt {
    /// The partition of an event whose `time` is `time` (RFC 3339, any offset).
    ///
    /// Times whose UTC instant falls outside [`first_time`] … [`last_time`] are an
    /// [`LayoutError::OutOfRange`]: an offset can carry `9999-12-31T23:30:00-01:00`
    /// into year 10000 and `0000-01-01T00:30:00+01:00` into year -1, whose `dt`
    /// folders no reader can parse.
    pub fn of_event_time(time: &str) -> Result<Dt, LayoutError> {
        let utc = DateTime::parse_from_rfc3339(time)
            .map_err(|e| LayoutError::BadTime {
                time: truncate(time, 64),
                reason: e.to_string(),
            })?
            .with_timezone(&Utc);
        if utc < first_time() || utc > last_time() {
            return Err(LayoutError::OutOfRange {
                time: truncate(time, 64),
                utc: utc.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            });
        }
        Ok(Dt(utc.date_naive()))
    }

    /// Parses `YYYY-MM-DD` strictly (four-digit year, two-digit month and day).
    pub fn parse(s: &str) -> Result<Dt, LayoutError> {
        let b = s.as_bytes();
        let shape_ok = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape_ok {
            return Err(LayoutError::BadDate(truncate(s, 64)));
        }
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Dt)
            .map_err(|_| LayoutError::BadDate(truncate(s, 64)))
    }

    /// Parses a partition folder name, `dt=YYYY-MM-DD`.
    pub fn from_partition_dir(name: &str) -> Result<Dt, LayoutError> {
        name.strip_prefix(PARTITION_KEY)
            .and_then(|rest| rest.strip_prefix('='))
            .ok_or_else(|| LayoutError::BadDate(truncate(name, 64)))
            .and_then(Dt::parse)
    }

    /// The calendar date.
    pub fn date(self) -> NaiveDate {
        self.0
    }

    /// The folder name, `dt=YYYY-MM-DD`.
    pub fn partition_dir(self) -> String {
        format!("{PARTITION_KEY}={self}")
    }
}

impl From<NaiveDate> for Dt {
    fn from(d: NaiveDate) -> Dt {
        Dt(d)
    }
}

impl FromStr for Dt {
    type Err = LayoutError;
    fn from_str(s: &str) -> Result<Dt, LayoutError> {
        Dt::parse(s)
    }
}

impl fmt::Display for Dt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use chrono::Datelike;
        // Not `format("%Y-%m-%d")`: this runs once per record and strftime parsing
        // showed up in the transform's profile. Event dates are 1970..=9999
        // (`of_event_time`) and parsed ones have four digits (`parse`).
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            self.0.month(),
            self.0.day()
        )
    }
}

/// The key prefix of a table: `<table>/`.
pub fn table_prefix(table: Table) -> String {
    format!("{}/", table.name())
}

/// The key prefix of a partition: `<table>/dt=YYYY-MM-DD/`.
pub fn partition_prefix(table: Table, dt: Dt) -> String {
    format!("{}/{}/", table.name(), dt.partition_dir())
}

/// The table's location: `s3://<bucket>/<table>/`.
pub fn table_location(bucket: &str, table: Table) -> String {
    format!("s3://{bucket}/{}", table_prefix(table))
}

/// The partition's location: `s3://<bucket>/<table>/dt=YYYY-MM-DD/`.
pub fn partition_location(bucket: &str, table: Table, dt: Dt) -> String {
    format!("s3://{bucket}/{}", partition_prefix(table, dt))
}

/// Decodes a key as S3 event notifications send it: `+` for space, `%XX` escapes.
pub fn decode_event_key(key: &str) -> String {
    let plus_decoded = key.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_decoded)
        .decode_utf8_lossy()
        .into_owned()
}

/// Whether readers skip the object at `key`: a name starting with `_` or `.` is not
/// data for Athena and Hive, nor for the local engine, and every cplogs writer names a
/// file in progress that way.
pub fn is_hidden(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    name.starts_with('_') || name.starts_with('.')
}

/// The `(table, dt)` of an object key (already decoded, see [`decode_event_key`]).
///
/// Only `<table>/dt=YYYY-MM-DD/<file>` fits; anything else, such as Firehose's
/// error prefix or a folder marker, is an [`LayoutError::OutsideLayout`].
pub fn parse_key(key: &str) -> Result<(Table, Dt), LayoutError> {
    let outside = |reason| LayoutError::OutsideLayout {
        key: truncate(key, 256),
        reason,
    };
    let mut parts = key.splitn(3, '/');
    let table_part = parts.next().unwrap_or_default();
    let table = Table::from_name(table_part).ok_or_else(|| outside("not one of the tables"))?;
    let dt_part = parts.next().ok_or_else(|| outside("no dt= folder"))?;
    let dt = Dt::from_partition_dir(dt_part).map_err(|_| outside("no dt=YYYY-MM-DD folder"))?;
    match parts.next() {
        None | Some("") => Err(outside("no file name")),
        Some(file) if file.contains('/') => Err(outside("nested folders below dt=")),
        Some(_) => Ok((table, dt)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hidden_names_are_not_data() {
        assert!(is_hidden("t/dt=2026-01-01/.cplogs-1.tmp"));
        assert!(is_hidden("t/dt=2026-01-01/_SUCCESS"));
        assert!(is_hidden("_x"));
        assert!(!is_hidden("t/dt=2026-01-01/a_b.gz"));
        assert!(!is_hidden("t/_dir/file.gz"));
    }

    use super::*;

    #[test]
    fn dt_is_the_utc_date_of_the_event_time() {
        assert_eq!(
            Dt::of_event_time("2020-01-31T18:55:43Z")
                .unwrap()
                .to_string(),
            "2020-01-31"
        );
        // 23:30 at -02:00 is already the next day in UTC.
        assert_eq!(
            Dt::of_event_time("2020-01-31T23:30:00-02:00")
                .unwrap()
                .to_string(),
            "2020-02-01"
        );
        assert_eq!(
            Dt::of_event_time("2023-10-26T13:51:09.981Z")
                .unwrap()
                .to_string(),
            "2023-10-26"
        );
        for bad in [
            "",
            "2020-01-31",
            "yesterday",
            "2020-13-01T00:00:00Z",
            "2020-01-31T18:55:43",
        ] {
            assert!(
                matches!(Dt::of_event_time(bad), Err(LayoutError::BadTime { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn event_times_outside_what_the_tables_hold_are_rejected() {
        for (time, utc) in [
            ("0000-06-01T12:00:00Z", "0000-06-01T12:00:00Z"),
            ("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"),
            // An offset carries these across the edges once converted to UTC.
            ("9999-12-31T23:30:00-01:00", "+10000-01-01T00:30:00Z"),
            ("0000-01-01T00:30:00+01:00", "-0001-12-31T23:30:00Z"),
            ("1970-01-01T00:30:00+01:00", "1969-12-31T23:30:00Z"),
            ("9999-12-31T23:59:59.9995Z", "9999-12-31T23:59:59.999500Z"),
        ] {
            match Dt::of_event_time(time) {
                Err(e @ LayoutError::OutOfRange { .. }) => {
                    let text = e.to_string();
                    assert!(text.contains(time) && text.contains(utc), "{text}");
                }
                other => panic!("{time}: {other:?}"),
            }
        }
        for (time, dt) in [
            ("1970-01-01T00:00:00Z", "1970-01-01"),
            ("1970-01-01T01:00:00+01:00", "1970-01-01"),
            ("9999-12-31T23:59:59.999Z", "9999-12-31"),
            ("9999-12-31T22:59:59.999-01:00", "9999-12-31"),
        ] {
            assert_eq!(Dt::of_event_time(time).unwrap().to_string(), dt, "{time}");
        }
    }

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(Dt::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
        for bad in [
            "2023-02-29",
            "2024-2-29",
            "20240229",
            "2024-02-29x",
            "+2024-02-2",
            "２０２４-02-29",
        ] {
            assert!(Dt::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Dt::from_partition_dir("dt=2024-01-05").unwrap().to_string(),
            "2024-01-05"
        );
        assert!(Dt::from_partition_dir("dt2024-01-05").is_err());
        assert!(Dt::from_partition_dir("date=2024-01-05").is_err());
    }

    #[test]
    fn prefixes_and_locations() {
        let dt = Dt::parse("2026-11-23").unwrap();
        assert_eq!(
            partition_prefix(Table::Stage, dt),
            "stage_execution_state_change/dt=2026-11-23/"
        );
        assert_eq!(
            partition_location("logs", Table::Action, dt),
            "s3://logs/action_execution_state_change/dt=2026-11-23/"
        );
        assert_eq!(
            table_location("logs", Table::Pipeline),
            "s3://logs/pipeline_execution_state_change/"
        );
    }

    #[test]
    fn keys_round_trip_through_the_layout() {
        let dt = Dt::parse("2026-11-23").unwrap();
        for t in Table::ALL {
            let key = format!(
                "{}stream-1-2026-11-23-10-00-00-abc.gz",
                partition_prefix(t, dt)
            );
            assert_eq!(parse_key(&key).unwrap(), (t, dt));
        }
    }

    #[test]
    fn event_keys_are_url_decoded() {
        let raw = "action_execution_state_change/dt%3D2026-11-23/my+file%2B1.gz";
        let key = decode_event_key(raw);
        assert_eq!(
            key,
            "action_execution_state_change/dt=2026-11-23/my file+1.gz"
        );
        assert_eq!(parse_key(&key).unwrap().1, Dt::parse("2026-11-23").unwrap());
    }

    #[test]
    fn keys_outside_the_layout_are_rejected_with_a_reason() {
        for (key, reason) in [
            (
                "errors/processing-failed/2026/11/23/x.gz",
                "not one of the tables",
            ),
            (
                "action_execution_state_change/x.gz",
                "no dt=YYYY-MM-DD folder",
            ),
            (
                "action_execution_state_change/dt=2026-11-23/",
                "no file name",
            ),
            (
                "action_execution_state_change/dt=2026-11-23",
                "no file name",
            ),
            (
                "action_execution_state_change/dt=2026-13-01/x.gz",
                "no dt=YYYY-MM-DD folder",
            ),
            (
                "action_execution_state_change/dt=2026-11-23/a/b.gz",
                "nested folders below dt=",
            ),
            ("", "not one of the tables"),
        ] {
            match parse_key(key) {
                Err(LayoutError::OutsideLayout { reason: r, .. }) => assert_eq!(r, reason, "{key}"),
                other => panic!("{key}: {other:?}"),
            }
        }
        let err = parse_key("nope/x").unwrap_err().to_string();
        assert!(
            err.contains("\"nope/x\"") && err.contains("outside the layout"),
            "{err}"
        );
    }
}
