//! Event bytes → (table, dt, one JSON line): the transform shared by the Firehose
//! Lambda and `cplogs ingest`, so both write byte-identical records.

use crate::core::event::Event;
use crate::core::layout::{Dt, LayoutError};
use crate::core::record::{LogRecord, RecordError};
use crate::core::schema::Table;

/// The EventBridge `source` of CodePipeline events.
pub const CODEPIPELINE_SOURCE: &str = "aws.codepipeline";

/// Where a transformed event goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Routed {
    /// Its table (from the detail-type).
    pub table: Table,
    /// Its partition (from the event time).
    pub dt: Dt,
}

/// Why an input is not a CodePipeline event we can log.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// Not JSON, or JSON of the wrong shape (missing `detail-type`, `time`, `detail`,
    /// or a field of the wrong type).
    #[error("not a CodePipeline event: {0}")]
    Json(#[from] serde_json::Error),
    /// Bytes that are not UTF-8 text, so not JSON.
    #[error("not a CodePipeline event: not UTF-8 text")]
    NotUtf8,
    /// An event from another service.
    #[error("source {0:?} is not aws.codepipeline")]
    WrongSource(String),
    /// A detail-type that is none of the three.
    #[error("detail-type {0:?} is not a CodePipeline execution state change")]
    UnknownDetailType(String),
    /// A detail-type of another table than the one this transform serves.
    #[error("detail-type {got:?} belongs to table {got_table}, not {expected}")]
    WrongTable {
        /// The detail-type received.
        got: String,
        /// Its table.
        got_table: Table,
        /// The table this transform serves.
        expected: Table,
    },
    /// The event's `time` does not give a partition.
    #[error(transparent)]
    Time(#[from] LayoutError),
    /// A required field is missing or out of range.
    #[error(transparent)]
    Record(#[from] RecordError),
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Transforms one event (JSON bytes) and appends its record, ending in `\n`, to `out`.
///
/// With `only = Some(table)`, events of other tables are rejected (each Firehose
/// stream serves one table). On error `out` is left as it was.
pub fn transform_into(
    input: &[u8],
    only: Option<Table>,
    out: &mut Vec<u8>,
) -> Result<Routed, TransformError> {
    // One UTF-8 check of the whole event is cheaper than serde_json's check of every
    // string it borrows.
    let text = simdutf8::basic::from_utf8(input).map_err(|_| TransformError::NotUtf8)?;
    let (table, dt, record) = route(Event::from_json(text)?, only)?;
    // The last step that can fail is behind us, so `out` never holds a broken record.
    record.write_json_from_text(out);
    out.push(b'\n');
    Ok(Routed { table, dt })
}

/// A parsed event's table (checked against `only`), partition and record.
#[inline(always)]
fn route(
    event: Event<'_>,
    only: Option<Table>,
) -> Result<(Table, Dt, LogRecord<'_>), TransformError> {
    if let Some(source) = event.source.as_deref()
        && source != CODEPIPELINE_SOURCE
    {
        return Err(TransformError::WrongSource(short(source)));
    }
    let table = Table::from_detail_type(&event.detail_type)
        .ok_or_else(|| TransformError::UnknownDetailType(short(&event.detail_type)))?;
    if let Some(expected) = only
        && expected != table
    {
        return Err(TransformError::WrongTable {
            got: table.detail_type().to_owned(),
            got_table: table,
            expected,
        });
    }
    let dt = Dt::of_event_time(&event.time)?;
    let record = LogRecord::from_event(table, event)?;
    Ok((table, dt, record))
}

#[cfg(test)]
mod tests {
    //! The fast path (`Event::from_json`, `LogRecord::write_json`) against the serde
    //! path it replaces, on the AWS samples and thousands of mutations of them: every
    //! input must give the same bytes, or the same error.

    use std::path::PathBuf;

    use super::*;
    use crate::test_rng::Rng;

    /// The transform as it was written with serde alone: the definition the fast path
    /// must match.
    fn reference(
        input: &[u8],
        only: Option<Table>,
        out: &mut Vec<u8>,
    ) -> Result<Routed, TransformError> {
        let text = std::str::from_utf8(input).map_err(|_| TransformError::NotUtf8)?;
        let event: Event<'_> = serde_json::from_str(text)?;
        let (table, dt, record) = route(event, only)?;
        let start = out.len();
        serde_json::to_writer(&mut *out, &record)?;
        // The public writer, which trusts nothing, writes the same bytes.
        let mut public = Vec::new();
        record.write_json(&mut public);
        assert_eq!(out[start..], public[..]);
        out.push(b'\n');
        Ok(Routed { table, dt })
    }

    fn fixtures() -> Vec<String> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// JSON values of every kind and form the fields may meet, as raw text.
    const VALUES: &[&str] = &[
        "null",
        "true",
        "false",
        "0",
        "6",
        "6.0",
        "6.50",
        "4.000",
        "-3",
        "-0",
        "-0.0",
        "1e2",
        "1E+2",
        "2.5e-3",
        "12345678901234567",
        "123456789012345678",
        "1234567890123456789",
        "18446744073709551615",
        "99999999999999999999",
        "9007199254740993.0",
        "1e400",
        "\"6\"",
        "\" 6.0 \"",
        "\"six\"",
        "\"\"",
        "\"plain\"",
        "\"with \\\"quote\\\"\"",
        "\"tab\\tand\\\\slash\\/\"",
        "\"\\u00e9t\\u00E9\"",
        "\"\\ud83d\\ude00\"",
        "\"\\ud83d\"",
        "\"\\udc00x\"",
        "\"\\uZZZZ\"",
        "\"\\x\"",
        "\"é ü 中文 😀\"",
        "\"ctl\\u0001\\u001f\\u007f\\b\\f\"",
        "\"2020-01-31T18:55:43Z\"",
        "\"2020-01-31T23:55:43-05:00\"",
        "\"9999-12-31T23:59:59.999Z\"",
        "\"last tuesday\"",
        "\"aws.codepipeline\"",
        "\"aws.codebuild\"",
        "\"CodePipeline Action Execution State Change\"",
        "\"CodePipeline Stage Execution State Change\"",
        "\"CodePipeline Pipeline Execution State Change\"",
        "{}",
        "[]",
        "[\"arn:aws:codepipeline:us-west-2:1:p\"]",
        "[\"a\\nb\",\"c\"]",
        "[null]",
        "[1,2,3]",
        "{\"a\":[1,{\"b\":null}],\"c\":\"x\",\"d\":-1.5e3}",
        "{\"owner\":\"AWS\",\"version\":1.0,\"x\":{\"y\":[]}}",
        "{\"owner\":null,\"category\":\"Build\",\"provider\":\"Code\\\"Build\",\"version\":\"2\"}",
        "{\"owner\":\"a\",\"owner\":\"b\"}",
        "{\"external-execution-url\":\"u\",\"externalExecutionUrl\":\"v\"}",
        "{\"externalExecutionSummary\":\"s\\n\",\"error-code\":null,\"z\":[[]]}",
        "{\"trigger-type\":\"WebhookV2\",\"commitMessage\":\"fix \\\"x\\\"\\n\",\"branchName\":\"main\"}",
        "{\"tag-name\":\"v1\",\"commit-id\":\"abc\",\"full-repository-name\":\"o/r\",\"provider-type\":\"GitHub\",\"trigger-detail\":\"d\"}",
        "[\"AWS\",\"Build\"]",
        "{\"a\":1,}",
        "[1,]",
        "{\"a\" 1}",
        "01",
        "-",
        "1.",
        "1e",
        "tru",
        "nul",
    ];

    /// Detail keys, envelope keys and a few that belong to neither.
    const KEYS: &[&str] = &[
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
        "pipeline",
        "execution-id",
        "state",
        "start-time",
        "pipeline-execution-attempt",
        "stage",
        "stage-last-retry-attempt-time",
        "action",
        "action-execution-id",
        "type",
        "execution-result",
        "execution-trigger",
        "stop-execution-comments",
        "unknown",
        "st\\u0061te",
        "",
    ];

    fn nested(depth: usize) -> String {
        format!("{}1{}", "[{\"k\":".repeat(depth), "}]".repeat(depth))
    }

    /// One mutation of a compact event: a value replaced, a member added, repeated or
    /// removed, whitespace added, a byte changed or the text cut.
    fn mutate(rng: &mut Rng, event: &str) -> String {
        let Ok(mut v) = serde_json::from_str::<serde_json::Value>(event) else {
            // Already broken: break it a little more.
            let mut bytes = event.as_bytes().to_vec();
            if !bytes.is_empty() {
                let at = rng.below(bytes.len());
                bytes[at] = *rng.pick(b"\"\\{}[],:0 x");
            }
            return String::from_utf8_lossy(&bytes).into_owned();
        };
        match rng.below(10) {
            // Replace or add a member of the envelope, the detail or a nested struct.
            0..=4 => {
                let key = *rng.pick(KEYS);
                let raw = match rng.below(12) {
                    0 => nested(rng.below(80)),
                    _ => (*rng.pick(VALUES)).to_owned(),
                };
                let marker = "\"__slot__\"";
                let path = *rng.pick(&["", "/detail/type", "/detail/execution-result", "/detail"]);
                if let Some(map) = v.pointer_mut(path).and_then(|t| t.as_object_mut()) {
                    map.insert("__slot__".into(), serde_json::Value::Null);
                }
                let text = v.to_string();
                // Escaped keys and raw values only exist as text.
                text.replacen(&format!("{marker}:null"), &format!("\"{key}\":{raw}"), 1)
            }
            // Repeat a member.
            5 => {
                let text = v.to_string();
                let key = *rng.pick(&["\"state\":", "\"time\":", "\"owner\":", "\"id\":"]);
                match text.find(key) {
                    Some(at) => {
                        let end = at + text[at..].find(',').unwrap_or(text.len() - at);
                        format!("{},{}", &text[..end], &text[at..])
                    }
                    None => text,
                }
            }
            // Remove a member.
            6 => {
                let key = *rng.pick(KEYS);
                if let Some(map) = v.as_object_mut() {
                    map.remove(key);
                }
                if let Some(map) = v.get_mut("detail").and_then(|d| d.as_object_mut()) {
                    map.remove(key);
                }
                v.to_string()
            }
            // Whitespace between tokens (serde_json's pretty printer) or around.
            7 => match rng.below(3) {
                0 => serde_json::to_string_pretty(&v).unwrap(),
                1 => format!(" \t\r\n{v}\n "),
                _ => format!("{v} x"),
            },
            // Change bytes.
            8 => {
                let mut bytes = v.to_string().into_bytes();
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(bytes.len());
                    bytes[at] = *rng.pick(b"\"\\{}[],:0-9e.nt \x01a\xc3");
                }
                String::from_utf8_lossy(&bytes).into_owned()
            }
            // Cut.
            _ => {
                let text = v.to_string();
                let mut at = rng.below(text.len());
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                text[..at].to_owned()
            }
        }
    }

    /// Both paths on one input: the same record bytes and route, or the same error.
    fn check(input: &str, only: Option<Table>) -> bool {
        let (mut fast, mut slow) = (b"prefix".to_vec(), b"prefix".to_vec());
        let got = transform_into(input.as_bytes(), only, &mut fast);
        let want = reference(input.as_bytes(), only, &mut slow);
        match (&got, &want) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{input}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{input}"),
            _ => panic!("{input}: fast {got:?}, serde {want:?}"),
        }
        assert_eq!(
            String::from_utf8_lossy(&fast),
            String::from_utf8_lossy(&slow),
            "{input}"
        );
        // Event::from_json itself: the same value or the same error as serde_json.
        let fast_event = Event::from_json(input);
        let serde_event = serde_json::from_str::<Event<'_>>(input);
        match (&fast_event, &serde_event) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{input}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{input}"),
            _ => panic!("{input}: fast {fast_event:?}, serde {serde_event:?}"),
        }
        crate::core::event::scanned(input)
    }

    #[test]
    fn fast_path_matches_serde_on_the_samples() {
        for event in fixtures() {
            let compact: serde_json::Value = serde_json::from_str(&event).unwrap();
            for text in [event.clone(), compact.to_string()] {
                assert!(check(&text, None), "the scanner reads the samples itself");
                for table in Table::ALL {
                    check(&text, Some(table));
                }
            }
        }
    }

    #[test]
    fn fast_path_matches_serde_on_mutated_events() {
        let samples: Vec<String> = fixtures()
            .iter()
            .map(|e| {
                serde_json::from_str::<serde_json::Value>(e)
                    .unwrap()
                    .to_string()
            })
            .collect();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut scanned, mut total) = (0, 0);
        for _ in 0..20_000 {
            let mut text = rng.pick(&samples).clone();
            for _ in 0..1 + rng.below(3) {
                text = mutate(&mut rng, &text);
            }
            let only = [None, Some(Table::Action), Some(Table::Pipeline)][rng.below(3)];
            scanned += usize::from(check(&text, only));
            total += 1;
        }
        // The comparison means something only if the scanner took most inputs itself.
        assert!(scanned * 3 > total, "scanned {scanned} of {total}");
    }

    #[test]
    fn hostile_events_fail_the_same_way_without_overflowing() {
        let action = fixtures()
            .into_iter()
            .find(|e| e.contains("Action Execution"))
            .unwrap();
        let deep = action.replacen(
            "\"detail\": {",
            &format!("\"x\": {}, \"detail\": {{", "[".repeat(100_000)),
            1,
        );
        let deep_closed = action.replacen(
            "\"detail\": {",
            &format!("\"x\": {}, \"detail\": {{", nested(50_000)),
            1,
        );
        for input in [
            "[".repeat(100_000),
            "{\"a\":".repeat(100_000),
            deep,
            deep_closed,
            String::new(),
            "null".into(),
            "{}".into(),
            "[\"0\",\"id\"]".into(),
        ] {
            check(&input, None);
            check(&input, Some(Table::Action));
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut all: String = (0u8..0x80).map(char::from).collect();
        all.push_str("é中😀\u{7f}\u{2028}");
        for s in [
            all.as_str(),
            "",
            "plain",
            "a\"b\\c",
            "\u{1}",
            "12345678\"",
            "1234567\n",
        ] {
            let mut out = Vec::new();
            crate::core::record::write_str(&mut out, s);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(s).unwrap()
            );
        }
        for v in [
            0,
            1,
            -1,
            9,
            10,
            -10,
            i64::from(i32::MAX),
            i64::MIN,
            i64::MAX,
        ] {
            let mut out = Vec::new();
            crate::core::record::write_int(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
    }
}
