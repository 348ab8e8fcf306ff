//! Query results written into any `impl Write`: a terminal table, CSV, TSV, JSON,
//! JSON lines, Markdown or an HTML page (html.rs, charts in svg.rs). Data only; stats
//! go to stderr elsewhere.

pub mod fit;
pub mod gantt;
pub mod html;
mod json;
pub mod svg;
mod table;

use std::borrow::Cow;
use std::io::{self, Write};

use comfy_table::{ContentArrangement, Table as Grid, presets};
use serde_json::{Map, Value as Json, json};

use crate::rows::{Kind, ResultSet, Value};

/// Version of the JSON output's shape; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// Output formats of query results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table fitted to the terminal.
    Table,
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// One JSON document with metadata and every result.
    Json,
    /// One JSON object per row.
    Ndjson,
    /// A Markdown table.
    Markdown,
    /// One self-contained HTML page: tables and charts, nothing loaded from elsewhere.
    Html,
}

/// One result to print, with its name when a report has several.
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    /// Name of the statement that produced it.
    pub name: &'a str,
    /// The rows.
    pub result: &'a ResultSet,
}

/// Renders a value as text for table-like formats (NULL is empty).
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Text(t) => t.clone(),
    }
}

/// `text` made safe for a terminal or a Markdown page: control characters (escape
/// sequences could recolour, move or retitle the user's terminal) and the Unicode
/// bidirectional controls (which reorder what is shown) become visible escapes such as
/// `\x1b` and `\u{202e}`. A line break stays one when `keep_newlines` is set.
pub fn printable(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && !(keep_newlines && c == '\n'))
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !unsafe_char(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

fn json_value(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => json!(i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Text(t) => Json::String(t.clone()),
    }
}

fn row_object(result: &ResultSet, row: &[Value]) -> Map<String, Json> {
    result
        .columns
        .iter()
        .zip(row)
        .map(|(c, v)| (c.name.clone(), json_value(v)))
        .collect()
}

/// Writes `sections` in `format`. `metadata` goes into the JSON document.
pub fn write(
    out: &mut dyn Write,
    format: Format,
    sections: &[Section<'_>],
    metadata: &Json,
    width: Option<u16>,
) -> io::Result<()> {
    let titled = sections.len() > 1;
    match format {
        Format::Table | Format::Markdown => {
            for (i, s) in sections.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                if titled {
                    let heading = if format == Format::Markdown {
                        "## "
                    } else {
                        ""
                    };
                    writeln!(out, "{heading}{}", printable(s.name, false))?;
                    if format == Format::Markdown {
                        writeln!(out)?;
                    }
                }
                if format == Format::Markdown {
                    markdown(out, s.result)?;
                } else {
                    table::write(out, s.result, width)?;
                }
            }
        }
        Format::Csv | Format::Tsv => {
            for (i, s) in sections.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                delimited(
                    out,
                    if format == Format::Csv { b',' } else { b'\t' },
                    s.result,
                )?;
            }
        }
        Format::Json => {
            let doc = json::Document { sections, metadata };
            // The serializer writes token by token: into a buffer of its own type,
            // not through `dyn Write` each time.
            let mut buffered = io::BufWriter::with_capacity(1 << 16, &mut *out);
            serde_json::to_writer_pretty(&mut buffered, &doc)?;
            writeln!(buffered)?;
            buffered.flush()?;
        }
        Format::Html => html::report(out, sections, metadata)?,
        Format::Ndjson => {
            for s in sections {
                for r in &s.result.rows {
                    let mut o = row_object(s.result, r);
                    if titled {
                        o.insert("section".into(), json!(s.name));
                    }
                    serde_json::to_writer(&mut *out, &o)?;
                    writeln!(out)?;
                }
            }
        }
    }
    Ok(())
}

/// A Markdown table: cells on one line each, `|` escaped.
fn markdown(out: &mut dyn Write, result: &ResultSet) -> io::Result<()> {
    if result.columns.is_empty() {
        return writeln!(out, "(no columns)");
    }
    // Markdown cells cannot hold a bare `|` or a line break.
    let cell = |t: &str| printable(t, false).replace('|', "\\|");
    let mut g = Grid::new();
    g.load_style(presets::ASCII_MARKDOWN);
    g.set_content_arrangement(ContentArrangement::Disabled);
    g.set_header(result.columns.iter().map(|c| cell(&c.name)));
    for (i, c) in result.columns.iter().enumerate() {
        if matches!(c.kind, Kind::Int | Kind::Float)
            && let Some(col) = g.column_mut(i)
        {
            col.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    for r in &result.rows {
        g.add_row(r.iter().map(|v| cell(&text(v))));
    }
    writeln!(out, "{g}")
}

fn delimited(out: &mut dyn Write, delimiter: u8, result: &ResultSet) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(out);
    w.write_record(result.columns.iter().map(|c| c.name.as_str()))
        .map_err(io_error)?;
    for r in &result.rows {
        w.write_record(r.iter().map(text)).map_err(io_error)?;
    }
    w.flush()
}

/// The I/O error under a CSV error, kept as it is (a closed pipe stays a closed pipe:
/// csv's own conversion turns every error into `ErrorKind::Other`).
fn io_error(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => io::Error::other(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::ColumnInfo;

    fn sample() -> ResultSet {
        ResultSet {
            columns: vec![
                ColumnInfo {
                    name: "pipeline".into(),
                    kind: Kind::Text,
                },
                ColumnInfo {
                    name: "failed".into(),
                    kind: Kind::Int,
                },
                ColumnInfo {
                    name: "rate".into(),
                    kind: Kind::Float,
                },
            ],
            rows: vec![
                vec![
                    Value::Text("a,\"b\"|c".into()),
                    Value::Int(3),
                    Value::Float(0.25),
                ],
                vec![Value::Text("d".into()), Value::Null, Value::Null],
            ],
        }
    }

    fn render(format: Format) -> String {
        let r = sample();
        let mut out = Vec::new();
        let meta = json!({"report": "x"});
        write(
            &mut out,
            format,
            &[Section {
                name: "x",
                result: &r,
            }],
            &meta,
            Some(80),
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_format() {
        assert_eq!(
            render(Format::Csv),
            "pipeline,failed,rate\n\"a,\"\"b\"\"|c\",3,0.25\nd,,\n"
        );
        assert_eq!(
            render(Format::Tsv),
            "pipeline\tfailed\trate\n\"a,\"\"b\"\"|c\"\t3\t0.25\nd\t\t\n"
        );
        let doc: Json = serde_json::from_str(&render(Format::Json)).unwrap();
        assert_eq!(doc["schema_version"], 1);
        assert_eq!(doc["report"], "x");
        assert_eq!(doc["results"][0]["columns"][1]["type"], "integer");
        assert_eq!(doc["results"][0]["rows"][0]["failed"], 3);
        assert_eq!(doc["results"][0]["rows"][1]["rate"], Json::Null);
        let lines: Vec<Json> = render(Format::Ndjson)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["pipeline"], "a,\"b\"|c");
        assert!(lines[0].get("section").is_none());
        let md = render(Format::Markdown);
        assert!(md.contains("a,\"b\"\\|c"), "{md}");
        assert!(md.lines().nth(1).unwrap().starts_with("|-"), "{md}");
        let table = render(Format::Table);
        assert!(table.contains("pipeline") && table.contains("0.25"));
        assert!(table.lines().all(|l| l.chars().count() <= 80));
    }

    #[test]
    fn terminals_get_escapes_and_data_formats_the_data() {
        let hostile = "\u{1b}]0;owned\u{7}\u{1b}[2J\rx\u{202e}gnp.exe\u{9b}1m\tend\nnext";
        let r = ResultSet {
            columns: vec![ColumnInfo {
                name: "msg\u{1b}[31m".into(),
                kind: Kind::Text,
            }],
            rows: vec![vec![Value::Text(hostile.into())]],
        };
        let out = |format| {
            let mut out = Vec::new();
            let s = [Section {
                name: "x",
                result: &r,
            }];
            write(&mut out, format, &s, &json!({}), None).unwrap();
            String::from_utf8(out).unwrap()
        };
        for format in [Format::Table, Format::Markdown] {
            let text = out(format);
            assert!(
                !text.chars().any(
                    |c| (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c)
                ),
                "{format:?}: {text:?}"
            );
            assert!(text.contains("\\x1b]0;owned\\x07"), "{text}");
            assert!(text.contains("\\u{202e}gnp.exe\\u{9b}1m\\tend"), "{text}");
            assert!(text.contains("msg\\x1b[31m"), "{text}");
        }
        // A table keeps a line break as one; a Markdown row cannot.
        assert!(out(Format::Markdown).contains("end\\nnext"));
        assert!(out(Format::Table).contains("next"));
        // CSV and JSON carry the data exactly.
        let csv = out(Format::Csv);
        assert!(csv.contains(hostile), "{csv:?}");
        let doc: Json = serde_json::from_str(&out(Format::Json)).unwrap();
        assert_eq!(doc["results"][0]["rows"][0]["msg\u{1b}[31m"], hostile);
        assert_eq!(printable("plain ü 漢字", false), "plain ü 漢字");
    }

    #[test]
    fn empty_results_say_so() {
        let r = ResultSet {
            columns: sample().columns,
            rows: vec![],
        };
        let mut out = Vec::new();
        write(
            &mut out,
            Format::Table,
            &[Section {
                name: "x",
                result: &r,
            }],
            &json!({}),
            None,
        )
        .unwrap();
        assert!(String::from_utf8(out).unwrap().contains("(no rows)"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// No text reaches a terminal with a control character (a line break
            /// aside, where kept) or a bidirectional control in it.
            #[test]
            fn printable_text_has_no_controls(text in any::<String>(), keep in any::<bool>()) {
                let out = printable(&text, keep);
                let unsafe_char = |c: char| {
                    (c.is_control() && !(keep && c == '\n'))
                        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
                };
                let clean = !out.chars().any(unsafe_char);
                prop_assert!(clean, "{:?} -> {:?}", text, out);
            }
        }
    }
}
