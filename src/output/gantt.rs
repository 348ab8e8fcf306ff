//! A terminal Gantt chart for the `timeline` report: one bar per action attempt, its
//! span within the execution drawn with block characters.

use chrono::DateTime;

use crate::rows::{ColumnInfo, Kind, ResultSet, Value};

/// `result` without the named columns.
pub fn without(result: &ResultSet, names: &[&str]) -> ResultSet {
    let keep: Vec<usize> = (0..result.columns.len())
        .filter(|&i| !names.contains(&result.columns[i].name.as_str()))
        .collect();
    ResultSet {
        columns: keep.iter().map(|&i| result.columns[i].clone()).collect(),
        rows: result
            .rows
            .iter()
            .map(|r| keep.iter().map(|&i| r[i].clone()).collect())
            .collect(),
    }
}

/// Adds a terminal Gantt bar per attempt to a timeline: its span within the
/// execution's first start and last end, `width` characters wide; the `end` column
/// gives way to the bar.
pub fn with_gantt(result: &ResultSet, width: usize) -> ResultSet {
    let (Some(si), Some(ei)) = (result.column("start"), result.column("end")) else {
        return result.clone();
    };
    let ms = |v: &Value| {
        v.as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis())
    };
    let spans: Vec<(Option<i64>, Option<i64>)> = result
        .rows
        .iter()
        .map(|r| (ms(&r[si]), ms(&r[ei])))
        .collect();
    let lo = spans.iter().filter_map(|s| s.0.or(s.1)).min();
    let hi = spans.iter().filter_map(|s| s.1.or(s.0)).max();
    let mut out = result.clone();
    for row in &mut out.rows {
        // "2026-11-23T18:50:48.000Z" → "2026-11-23 18:50:48": the bar shows the end.
        if let Value::Text(t) = &mut row[si] {
            *t = t
                .replacen('T', " ", 1)
                .trim_end_matches('Z')
                .trim_end_matches(".000")
                .to_owned();
        }
    }
    out.columns.push(ColumnInfo {
        name: "timeline".into(),
        kind: Kind::Text,
    });
    for (row, (s, e)) in out.rows.iter_mut().zip(spans) {
        let bar = match (lo, hi, s.or(e)) {
            (Some(lo), Some(hi), Some(start)) => {
                let end = e.unwrap_or(hi);
                let total = (hi - lo).max(1) as f64;
                let w = width as f64;
                let a = (((start - lo) as f64 / total) * w).floor() as usize;
                let b = ((((end - lo) as f64) / total) * w).ceil() as usize;
                let a = a.min(width.saturating_sub(1));
                let b = b.clamp(a + 1, width);
                format!(
                    "{}{}{}",
                    "·".repeat(a),
                    "█".repeat(b - a),
                    "·".repeat(width - b)
                )
            }
            _ => String::new(),
        };
        row.push(Value::Text(bar));
    }
    without(&out, &["end"])
}
