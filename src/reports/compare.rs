//! Trends: a report's rows beside the previous period of the same length, the change
//! of each compared metric, and whether the row regressed beyond the thresholds
//! (`report --compare previous`, `audit --max-regression`, the digest).

use std::collections::HashMap;

use crate::rows::{ColumnInfo, Kind, ResultSet, Value};

/// How a metric's change is measured and judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A rate between 0 and 1: the change is in percentage points; a rise beyond the
    /// failure-rate threshold is a regression.
    Rate,
    /// A duration in seconds: the change is in percent; a rise beyond the duration
    /// threshold is a regression.
    Duration,
    /// A duration in seconds whose change is shown but not judged.
    DurationShown,
    /// A count or frequency: the change is in percent, not judged.
    Count,
}

/// A metric column a section compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// The column.
    pub column: &'static str,
    /// How its change is measured.
    pub change: Change,
}

/// What a section compares: the columns that identify a row, and its metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comparison {
    /// Key columns (a row of one period matches the row of the other with equal keys).
    pub keys: &'static [&'static str],
    /// The metrics compared.
    pub metrics: &'static [Metric],
}

/// When a change is a regression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// A rate (failure rate) up by more than this many percentage points.
    pub rate_points: f64,
    /// A judged duration (p90) up by more than this many percent.
    pub duration_percent: f64,
}

impl Default for Thresholds {
    /// Failure rate up more than 5 points, p90 duration up more than 20%.
    fn default() -> Self {
        Thresholds {
            rate_points: 5.0,
            duration_percent: 20.0,
        }
    }
}

/// A `--max-regression` value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--max-regression {0:?}: expected failure-rate=POINTS (e.g. failure-rate=5) or \
     p90=PERCENT (e.g. p90=20%), a number from 0 to 1000"
)]
pub struct ThresholdError(pub String);

impl Thresholds {
    /// Applies one `--max-regression` value: `failure-rate=5` (points) or `p90=20%`.
    pub fn set(&mut self, spec: &str) -> Result<(), ThresholdError> {
        let bad = || ThresholdError(spec.to_owned());
        let (name, value) = spec.split_once('=').ok_or_else(bad)?;
        let value: f64 = value
            .trim()
            .trim_end_matches('%')
            .trim_end_matches("pt")
            .trim()
            .parse()
            .map_err(|_| bad())?;
        if !(0.0..=1000.0).contains(&value) {
            return Err(bad());
        }
        match name.trim() {
            "failure-rate" => self.rate_points = value,
            "p90" => self.duration_percent = value,
            _ => return Err(bad()),
        }
        Ok(())
    }
}

/// A section compared with its previous period.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    /// The current rows with, after each metric, `<metric>_prev` and
    /// `<metric>_change`, and a last column `regressed`.
    pub result: ResultSet,
    /// How many rows regressed.
    pub regressions: usize,
}

/// The key of a row: its key values as text (NULL apart from every text).
fn key(row: &[Value], keys: &[usize]) -> Vec<Option<String>> {
    keys.iter()
        .map(|&i| match &row[i] {
            Value::Null => None,
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(n) => Some(n.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Text(t) => Some(t.clone()),
        })
        .collect()
}

/// The change from `previous` to `current` as `change` measures it (None when either is
/// unknown, or a percentage of zero).
pub fn change(kind: Change, current: Option<f64>, previous: Option<f64>) -> Option<f64> {
    let (c, p) = (current?, previous?);
    match kind {
        Change::Rate => Some(((c - p) * 100.0 * 100.0).round() / 100.0),
        Change::Duration | Change::DurationShown | Change::Count => {
            (p != 0.0).then(|| ((c - p) / p * 100.0 * 10.0).round() / 10.0)
        }
    }
}

/// Whether a change is a regression under `t`.
pub fn regressed(kind: Change, change: Option<f64>, t: &Thresholds) -> bool {
    match (kind, change) {
        (Change::Rate, Some(c)) => c > t.rate_points,
        (Change::Duration, Some(c)) => c > t.duration_percent,
        _ => false,
    }
}

/// `current` beside `previous` (rows matched on `spec.keys`): the previous value and
/// the change of every metric, and whether the row regressed under `t`. Rows only in
/// the previous period are left out (they have nothing to regress).
pub fn compare(
    current: &ResultSet,
    previous: &ResultSet,
    spec: &Comparison,
    t: &Thresholds,
) -> Compared {
    let index = |r: &ResultSet, names: &[&str]| -> Vec<Option<usize>> {
        names.iter().map(|n| r.column(n)).collect()
    };
    let cur_keys: Vec<usize> = index(current, spec.keys).into_iter().flatten().collect();
    let prev_keys: Vec<usize> = index(previous, spec.keys).into_iter().flatten().collect();
    let before: HashMap<Vec<Option<String>>, &Vec<Value>> = if prev_keys.len() == spec.keys.len() {
        previous
            .rows
            .iter()
            .map(|r| (key(r, &prev_keys), r))
            .collect()
    } else {
        HashMap::new()
    };
    let metrics: Vec<(Metric, Option<usize>, Option<usize>)> = spec
        .metrics
        .iter()
        .map(|m| (*m, current.column(m.column), previous.column(m.column)))
        .collect();
    let mut columns = Vec::new();
    for (i, c) in current.columns.iter().enumerate() {
        columns.push(c.clone());
        for (m, ci, _) in &metrics {
            if *ci == Some(i) {
                columns.push(ColumnInfo {
                    name: format!("{}_prev", m.column),
                    kind: c.kind,
                });
                columns.push(ColumnInfo {
                    name: format!(
                        "{}_change_{}",
                        m.column,
                        if m.change == Change::Rate {
                            "pts"
                        } else {
                            "pct"
                        }
                    ),
                    kind: Kind::Float,
                });
            }
        }
    }
    columns.push(ColumnInfo {
        name: "regressed".into(),
        kind: Kind::Bool,
    });
    let mut rows = Vec::with_capacity(current.rows.len());
    let mut regressions = 0;
    for row in &current.rows {
        let prev = (cur_keys.len() == spec.keys.len())
            .then(|| before.get(&key(row, &cur_keys)))
            .flatten();
        let mut out = Vec::with_capacity(columns.len());
        let mut bad = false;
        for (i, v) in row.iter().enumerate() {
            out.push(v.clone());
            for (m, ci, pi) in &metrics {
                if *ci == Some(i) {
                    let p = prev.and_then(|r| pi.map(|pi| r[pi].clone()));
                    let ch = change(m.change, v.as_f64(), p.as_ref().and_then(Value::as_f64));
                    bad |= regressed(m.change, ch, t);
                    out.push(p.unwrap_or(Value::Null));
                    out.push(ch.map_or(Value::Null, Value::Float));
                }
            }
        }
        regressions += usize::from(bad);
        out.push(Value::Bool(bad));
        rows.push(out);
    }
    Compared {
        result: ResultSet { columns, rows },
        regressions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(columns: &[(&str, Kind)], rows: Vec<Vec<Value>>) -> ResultSet {
        ResultSet {
            columns: columns
                .iter()
                .map(|(n, k)| ColumnInfo {
                    name: (*n).into(),
                    kind: *k,
                })
                .collect(),
            rows,
        }
    }

    const SPEC: Comparison = Comparison {
        keys: &["pipeline"],
        metrics: &[
            Metric {
                column: "failure_rate",
                change: Change::Rate,
            },
            Metric {
                column: "p90_s",
                change: Change::Duration,
            },
        ],
    };

    #[test]
    fn rows_get_their_previous_values_changes_and_a_verdict() {
        let cols = [
            ("pipeline", Kind::Text),
            ("failure_rate", Kind::Float),
            ("p90_s", Kind::Int),
        ];
        let t = |s: &str| Value::Text(s.into());
        let now = rs(
            &cols,
            vec![
                vec![t("a"), Value::Float(0.10), Value::Int(120)], // rate +6 pts: regressed
                vec![t("b"), Value::Float(0.02), Value::Int(130)], // p90 +30%: regressed
                vec![t("c"), Value::Float(0.02), Value::Int(100)], // within both
                vec![t("new"), Value::Float(0.50), Value::Int(999)], // no previous: no verdict
            ],
        );
        let before = rs(
            &cols,
            vec![
                vec![t("a"), Value::Float(0.04), Value::Int(120)],
                vec![t("b"), Value::Float(0.02), Value::Int(100)],
                vec![t("c"), Value::Float(0.01), Value::Int(110)],
                vec![t("gone"), Value::Float(0.9), Value::Int(1)],
            ],
        );
        let c = compare(&now, &before, &SPEC, &Thresholds::default());
        let names: Vec<&str> = c.result.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "pipeline",
                "failure_rate",
                "failure_rate_prev",
                "failure_rate_change_pts",
                "p90_s",
                "p90_s_prev",
                "p90_s_change_pct",
                "regressed"
            ]
        );
        assert_eq!(c.regressions, 2);
        assert_eq!(c.result.rows.len(), 4);
        let row = |i: usize| &c.result.rows[i];
        assert_eq!(row(0)[3], Value::Float(6.0));
        assert_eq!(row(0)[7], Value::Bool(true));
        assert_eq!(row(1)[6], Value::Float(30.0));
        assert_eq!(row(1)[7], Value::Bool(true));
        assert_eq!(row(2)[3], Value::Float(1.0));
        assert_eq!(row(2)[7], Value::Bool(false));
        assert_eq!(row(3)[2], Value::Null);
        assert_eq!(row(3)[7], Value::Bool(false));
        // Stricter thresholds catch more.
        let mut strict = Thresholds::default();
        strict.set("failure-rate=0.5").unwrap();
        strict.set("p90=5%").unwrap();
        assert_eq!(compare(&now, &before, &SPEC, &strict).regressions, 3);
    }

    #[test]
    fn bad_thresholds_are_refused() {
        let mut t = Thresholds::default();
        for bad in [
            "",
            "p90",
            "p90=",
            "p90=-1",
            "p90=1e9",
            "p99=5",
            "failure-rate=x",
        ] {
            assert!(t.set(bad).is_err(), "{bad}");
        }
        t.set("p90=12.5%").unwrap();
        assert_eq!(t.duration_percent, 12.5);
        assert_eq!(change(Change::Duration, Some(1.0), Some(0.0)), None);
        assert_eq!(change(Change::Rate, None, Some(0.1)), None);
    }
}
