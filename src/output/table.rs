//! The terminal table of `--format table`, written row by row: a box-drawing frame,
//! one space of padding, numbers right-aligned, a cell with line breaks over several
//! lines, long cells cut to fit a terminal's width ([`fit`]). Only the result itself
//! is held: a table library kept every cell three more times (about 2.5 KB a row, 250
//! MB for a 100k-row inventory).

use std::borrow::Cow;
use std::io::{self, Write};

use unicode_width::UnicodeWidthStr;

use super::{fit, printable, text};
use crate::rows::{Kind, ResultSet};

/// Writes `result` as a table, cut to `width` columns when given.
pub(super) fn write(out: &mut dyn Write, result: &ResultSet, width: Option<u16>) -> io::Result<()> {
    if result.columns.is_empty() {
        return writeln!(out, "(no columns)");
    }
    let header: Vec<Cow<'_, str>> = result
        .columns
        .iter()
        .map(|c| printable(&c.name, true))
        .collect();
    // Each column's cap when the table must fit a terminal, from its natural width.
    let caps: Option<Vec<usize>> = width.map(|total| {
        let natural: Vec<usize> = header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                result
                    .rows
                    .iter()
                    .map(|r| fit::display_width(&printable(&text(&r[i]), true)))
                    .chain([fit::display_width(h)])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        fit::column_widths(&natural, usize::from(total))
    });
    let shown = |i: usize, t: &str| -> String {
        let t = printable(t, true);
        match &caps {
            Some(caps) => fit::cut(&t, caps[i]),
            None => t.into_owned(),
        }
    };
    // Cells are rendered again when their row is written rather than kept from this
    // pass: a second pass over the text costs milliseconds, keeping it a copy of the
    // whole result.
    let header: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, h)| shown(i, h))
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| lines_width(h)).collect();
    for row in &result.rows {
        for (i, v) in row.iter().enumerate() {
            widths[i] = widths[i].max(lines_width(&shown(i, &text(v))));
        }
    }
    let right: Vec<bool> = result
        .columns
        .iter()
        .map(|c| matches!(c.kind, Kind::Int | Kind::Float))
        .collect();
    let frame = Frame {
        widths: &widths,
        right: &right,
    };
    frame.rule(out, ['┌', '─', '┬', '┐'])?;
    frame.row(out, &header)?;
    frame.rule(out, ['╞', '═', '╪', '╡'])?;
    for row in &result.rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, v)| shown(i, &text(v)))
            .collect();
        frame.row(out, &cells)?;
    }
    frame.rule(out, ['└', '─', '┴', '┘'])?;
    if result.rows.is_empty() {
        writeln!(out, "(no rows)")?;
    }
    Ok(())
}

/// The widest line of `cell`, at least 1 (an empty column is one space wide).
fn lines_width(cell: &str) -> usize {
    cell.split('\n')
        .map(UnicodeWidthStr::width)
        .max()
        .unwrap_or(0)
        .max(1)
}

/// Column widths and alignments: what every line of the table is drawn with.
struct Frame<'a> {
    widths: &'a [usize],
    right: &'a [bool],
}

impl Frame<'_> {
    /// A horizontal line: `[left, fill, junction, right]`.
    fn rule(
        &self,
        out: &mut dyn Write,
        [left, fill, junction, right]: [char; 4],
    ) -> io::Result<()> {
        let mut line = String::new();
        line.push(left);
        for (i, w) in self.widths.iter().enumerate() {
            if i > 0 {
                line.push(junction);
            }
            line.extend(std::iter::repeat_n(fill, w + 2));
        }
        line.push(right);
        writeln!(out, "{line}")
    }

    /// One row, over as many lines as its tallest cell has.
    fn row(&self, out: &mut dyn Write, cells: &[String]) -> io::Result<()> {
        let lines: Vec<Vec<&str>> = cells.iter().map(|c| c.split('\n').collect()).collect();
        let height = lines.iter().map(Vec::len).max().unwrap_or(1);
        for k in 0..height {
            let mut line = String::from("│");
            for (i, cell) in lines.iter().enumerate() {
                if i > 0 {
                    line.push('┆');
                }
                let part = cell.get(k).copied().unwrap_or("");
                let pad = self.widths[i].saturating_sub(part.width());
                let (before, after) = if self.right[i] { (pad, 0) } else { (0, pad) };
                line.extend(std::iter::repeat_n(' ', 1 + before));
                line.push_str(part);
                line.extend(std::iter::repeat_n(' ', after + 1));
            }
            line.push('│');
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::{ColumnInfo, Value};

    fn render(result: &ResultSet, width: Option<u16>) -> String {
        let mut out = Vec::new();
        write(&mut out, result, width).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn columns() -> Vec<ColumnInfo> {
        vec![
            ColumnInfo {
                name: "pipeline".into(),
                kind: Kind::Text,
            },
            ColumnInfo {
                name: "n".into(),
                kind: Kind::Int,
            },
        ]
    }

    #[test]
    fn frame_padding_alignment_and_line_breaks() {
        let r = ResultSet {
            columns: columns(),
            rows: vec![
                vec![Value::Text("two\nlines".into()), Value::Int(-12)],
                vec![Value::Text("日本".into()), Value::Null],
            ],
        };
        let want = "\
┌──────────┬─────┐
│ pipeline ┆   n │
╞══════════╪═════╡
│ two      ┆ -12 │
│ lines    ┆     │
│ 日本     ┆     │
└──────────┴─────┘
";
        assert_eq!(render(&r, None), want);
    }

    #[test]
    fn cut_to_the_terminal_and_empty_results_say_so() {
        let url = format!("https://example.com/{}/end", "x".repeat(60));
        let r = ResultSet {
            columns: columns(),
            rows: vec![vec![Value::Text(url), Value::Int(1)]],
        };
        let out = render(&r, Some(30));
        assert!(out.lines().all(|l| l.width() <= 30), "{out}");
        assert!(
            out.contains("https:") && out.contains("…") && out.contains("end"),
            "{out}"
        );
        let empty = ResultSet {
            columns: columns(),
            rows: vec![],
        };
        assert!(render(&empty, None).ends_with("└──────────┴───┘\n(no rows)\n"));
    }
}
