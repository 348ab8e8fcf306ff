//! The JSON document of `--format json`, serialized as it is written: a result of many
//! rows is never held a second time as a JSON tree (at 100k rows that tree took more
//! memory than the query).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value as Json;

use super::{SCHEMA_VERSION, Section};
use crate::rows::{ResultSet, Value};

/// The document: `schema_version`, then `metadata`'s entries, then `results`, one
/// object per section (`name`, `columns`, `rows`).
pub(super) struct Document<'a> {
    pub sections: &'a [Section<'a>],
    pub metadata: &'a Json,
}

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let meta = self.metadata.as_object();
        let mut doc = serializer.serialize_map(None)?;
        // Metadata may not add a second `schema_version` or `results` key.
        match meta.and_then(|m| m.get("schema_version")) {
            Some(v) => doc.serialize_entry("schema_version", v)?,
            None => doc.serialize_entry("schema_version", &SCHEMA_VERSION)?,
        }
        for (k, v) in meta.into_iter().flatten() {
            if k != "schema_version" && k != "results" {
                doc.serialize_entry(k, v)?;
            }
        }
        doc.serialize_entry("results", &Results(self.sections))?;
        doc.end()
    }
}

struct Results<'a>(&'a [Section<'a>]);

impl Serialize for Results<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for s in self.0 {
            seq.serialize_element(&SectionDoc(s))?;
        }
        seq.end()
    }
}

struct SectionDoc<'a>(&'a Section<'a>);

impl Serialize for SectionDoc<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(Some(3))?;
        m.serialize_entry("name", self.0.name)?;
        m.serialize_entry("columns", &Columns(self.0.result))?;
        m.serialize_entry("rows", &Rows(self.0.result))?;
        m.end()
    }
}

struct Columns<'a>(&'a ResultSet);

impl Serialize for Columns<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.columns.len()))?;
        for c in &self.0.columns {
            seq.serialize_element(&ColumnDoc(&c.name, c.kind.name()))?;
        }
        seq.end()
    }
}

struct ColumnDoc<'a>(&'a str, &'a str);

impl Serialize for ColumnDoc<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(Some(2))?;
        m.serialize_entry("name", self.0)?;
        m.serialize_entry("type", self.1)?;
        m.end()
    }
}

struct Rows<'a>(&'a ResultSet);

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.rows.len()))?;
        for row in &self.0.rows {
            seq.serialize_element(&Row(self.0, row))?;
        }
        seq.end()
    }
}

struct Row<'a>(&'a ResultSet, &'a [Value]);

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(Some(self.1.len()))?;
        for (c, v) in self.0.columns.iter().zip(self.1) {
            m.serialize_entry(&c.name, &Cell(v))?;
        }
        m.end()
    }
}

/// A value as [`super::json_value`] renders it, written without building it.
struct Cell<'a>(&'a Value);

impl Serialize for Cell<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            // JSON has no NaN or infinity: null, as `json_value` gives.
            Value::Float(f) if !f.is_finite() => serializer.serialize_unit(),
            Value::Float(f) => serializer.serialize_f64(*f),
            Value::Text(t) => serializer.serialize_str(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::output::row_object;
    use crate::rows::{ColumnInfo, Kind, Value};

    #[test]
    fn the_streamed_document_is_the_tree_it_replaces() {
        let column = |name: &str, kind| ColumnInfo {
            name: name.into(),
            kind,
        };
        let r = ResultSet {
            columns: vec![
                column("pipeline", Kind::Text),
                column("n", Kind::Int),
                column("rate", Kind::Float),
                column("ok", Kind::Bool),
            ],
            rows: vec![
                vec![
                    Value::Text("a \"q\" ü\n\u{1}".into()),
                    Value::Int(i64::MIN),
                    Value::Float(0.25),
                    Value::Bool(true),
                ],
                vec![
                    Value::Null,
                    Value::Int(3),
                    Value::Float(f64::NAN),
                    Value::Bool(false),
                ],
                vec![
                    Value::Text(String::new()),
                    Value::Int(i64::MAX),
                    Value::Float(f64::NEG_INFINITY),
                    Value::Null,
                ],
                vec![
                    Value::Text("\u{7f}\u{2028}".into()),
                    Value::Int(0),
                    Value::Float(-0.0),
                    Value::Null,
                ],
                vec![Value::Null, Value::Null, Value::Float(1e300), Value::Null],
            ],
        };
        let empty = ResultSet {
            columns: vec![column("x", Kind::Bool)],
            rows: vec![],
        };
        let sections = [
            Section {
                name: "first",
                result: &r,
            },
            Section {
                name: "second",
                result: &empty,
            },
        ];
        let metadata = json!({"report": "x", "window": {"since": "2026-11-01"}});
        let streamed = serde_json::to_string_pretty(&Document {
            sections: &sections,
            metadata: &metadata,
        })
        .unwrap();

        let results: Vec<Json> = sections
            .iter()
            .map(|s| {
                json!({
                    "name": s.name,
                    "columns": s.result.columns.iter()
                        .map(|c| json!({"name": c.name, "type": c.kind.name()}))
                        .collect::<Vec<_>>(),
                    "rows": s.result.rows.iter()
                        .map(|row| Json::Object(row_object(s.result, row)))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        let tree = json!({
            "schema_version": SCHEMA_VERSION,
            "report": "x",
            "window": {"since": "2026-11-01"},
            "results": results,
        });
        assert_eq!(streamed, serde_json::to_string_pretty(&tree).unwrap());
    }
}
