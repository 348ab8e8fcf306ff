//! The bundled SQL as statements: `sql/prelude.sql`'s shared fragments spliced in at
//! load, and the `{{marker}}`s that take values when a report runs (window literals and
//! `?` parameters). A statement can always be printed whole, as it is sent.

use super::params::ReportParams;
use crate::engine::Query;

/// One bundled SQL file under `sql/reports/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlFile {
    /// The statement's name: the file name without `.sql`.
    pub name: &'static str,
    /// The file's text.
    pub text: &'static str,
}

/// Declares a bundled file by its name; the compiler refuses a name with no file.
macro_rules! sql_file {
    ($name:literal) => {
        $crate::reports::sql::SqlFile {
            name: $name,
            text: include_str!(concat!("../../sql/reports/", $name, ".sql")),
        }
    };
}
pub(crate) use sql_file;

/// `sql/prelude.sql`: the fragments statements share.
pub const PRELUDE: &str = include_str!("../../sql/prelude.sql");

/// A SQL file that does not follow the conventions (sql/README.md).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sql/{file}: {problem}")]
pub struct SqlError {
    /// The file, relative to `sql/`.
    pub file: String,
    /// What is wrong.
    pub problem: String,
}

/// The value a `?` placeholder is bound to: text a user typed, which is always passed
/// as an execution parameter, never pasted into the SQL. Athena takes `?` only in
/// WHERE clauses, so these stand only there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bind {
    /// `{{pipelines}}`: the `--pipeline` names as `,a,b,`, or empty for all pipelines.
    Pipelines,
    /// `{{execution_id}}`: `--execution-id`, or empty.
    ExecutionId,
}

impl Bind {
    /// Every bind marker.
    pub const ALL: [Bind; 2] = [Bind::Pipelines, Bind::ExecutionId];

    /// The name between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Bind::Pipelines => "pipelines",
            Bind::ExecutionId => "execution_id",
        }
    }

    /// The command-line option the value comes from.
    pub fn option(self) -> &'static str {
        match self {
            Bind::Pipelines => "--pipeline",
            Bind::ExecutionId => "--execution-id",
        }
    }
}

/// A value the CLI computes itself from parsed input (a window bound, now), written
/// into the statement as a typed literal at `{{name}}`. It is rendered from a parsed
/// `DateTime`, never from the text a user typed, so it cannot carry SQL; being a
/// literal it may stand anywhere (Athena refuses `?` outside WHERE), and identical
/// windows give byte-identical statements (Athena's result reuse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Literal {
    /// `{{since_dt}}`: first `dt` of the window, `'YYYY-MM-DD'`.
    SinceDt,
    /// `{{until_dt}}`: last `dt` of the window, `'YYYY-MM-DD'`.
    UntilDt,
    /// `{{since}}`: window start (inclusive), a timestamp with time zone.
    Since,
    /// `{{until}}`: window end (exclusive), a timestamp with time zone.
    Until,
    /// `{{now}}`: the time the report is computed for, a timestamp with time zone.
    Now,
    /// `{{stuck_before}}`: now minus `--older-than`, a timestamp with time zone.
    StuckBefore,
}

impl Literal {
    /// Every literal, for parsing and tests.
    pub const ALL: [Literal; 6] = [
        Literal::SinceDt,
        Literal::UntilDt,
        Literal::Since,
        Literal::Until,
        Literal::Now,
        Literal::StuckBefore,
    ];

    /// The name between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Literal::SinceDt => "since_dt",
            Literal::UntilDt => "until_dt",
            Literal::Since => "since",
            Literal::Until => "until",
            Literal::Now => "now",
            Literal::StuckBefore => "stuck_before",
        }
    }
}

/// A `{{marker}}` that takes a value when the statement runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// Rendered as a literal.
    Literal(Literal),
    /// Rendered as `?`, with the value bound.
    Bind(Bind),
}

impl Marker {
    /// The marker called `name`, if there is one.
    pub fn parse(name: &str) -> Option<Marker> {
        Literal::ALL
            .into_iter()
            .find(|l| l.name() == name)
            .map(Marker::Literal)
            .or_else(|| {
                Bind::ALL
                    .into_iter()
                    .find(|b| b.name() == name)
                    .map(Marker::Bind)
            })
    }
}

/// The `{{name}}` markers of `text`, in order, as (byte range, name).
pub fn markers(text: &str) -> impl Iterator<Item = (std::ops::Range<usize>, &str)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let open = at + text[at..].find("{{")?;
        let close = open + 2 + text[open + 2..].find("}}")?;
        at = close + 2;
        Some((open..close + 2, text[open + 2..close].trim()))
    })
}

/// The fragments of `sql/prelude.sql`: (name, text without its comment lines).
fn fragments(prelude: &str) -> Vec<(&str, String)> {
    let mut out: Vec<(&str, String)> = Vec::new();
    for line in prelude.lines() {
        if let Some(name) = line.strip_prefix("-- fragment:") {
            out.push((name.trim(), String::new()));
        } else if let Some((_, text)) = out.last_mut()
            && !line.trim_start().starts_with("--")
            && !line.trim().is_empty()
        {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(line);
        }
    }
    out
}

/// How deep fragments may nest (a fragment naming itself would never end).
const MAX_NESTING: usize = 4;

/// `text` with every fragment marker replaced by the fragment, itself expanded; the
/// value markers are kept.
fn expand(text: &str, fragments: &[(&str, String)], depth: usize) -> Result<String, String> {
    let mut sql = String::with_capacity(text.len() * 2);
    let mut at = 0;
    for (range, name) in markers(text) {
        sql.push_str(&text[at..range.start]);
        match fragments.iter().find(|(n, _)| *n == name) {
            Some(_) if depth >= MAX_NESTING => {
                return Err(format!(
                    "fragments nest deeper than {MAX_NESTING} at {{{{{name}}}}}"
                ));
            }
            Some((_, fragment)) => sql.push_str(&expand(fragment, fragments, depth + 1)?),
            None if Marker::parse(name).is_some() => sql.push_str(&text[range.clone()]),
            None => return Err(format!("unknown marker {{{{{name}}}}}")),
        }
        at = range.end;
    }
    sql.push_str(&text[at..]);
    Ok(sql)
}

/// A statement ready to run: its name, description and text with fragments spliced in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The file name without `.sql`.
    pub name: &'static str,
    /// The `-- description:` line.
    pub description: String,
    /// The text with every fragment spliced in; the markers that take values when the
    /// report runs are still `{{marker}}`.
    pub sql: String,
}

impl Statement {
    /// Loads a bundled file: reads its description, splices in the prelude's
    /// fragments and checks that every marker left is one that takes a value.
    pub fn parse(file: &SqlFile) -> Result<Statement, SqlError> {
        Statement::parse_with(file, PRELUDE)
    }

    /// [`Statement::parse`] with another prelude (tests).
    pub fn parse_with(file: &SqlFile, prelude: &str) -> Result<Statement, SqlError> {
        let err = |problem: String| SqlError {
            file: format!("reports/{}.sql", file.name),
            problem,
        };
        let description = file
            .text
            .lines()
            .take_while(|l| l.starts_with("--"))
            .find_map(|l| l.strip_prefix("-- description:"))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| err("missing `-- description:` header line".into()))?;
        let fragments = fragments(prelude);
        let sql = expand(file.text, &fragments, 0).map_err(err)?;
        let bare = sql
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .any(|l| l.contains('?'));
        if bare {
            return Err(err(
                "a bare `?`: write {{pipelines}} or {{execution_id}} instead".into(),
            ));
        }
        Ok(Statement {
            name: file.name,
            description,
            sql,
        })
    }

    /// The statement exactly as it is sent: every literal marker rendered from
    /// `params`, every bind marker a `?` with its value, in order.
    pub fn query(&self, params: &ReportParams) -> Query {
        let mut sql = String::with_capacity(self.sql.len() + 256);
        let mut values = Vec::new();
        let mut at = 0;
        for (range, name) in markers(&self.sql) {
            sql.push_str(&self.sql[at..range.start]);
            // `parse` refused any other marker.
            match Marker::parse(name) {
                Some(Marker::Literal(l)) => sql.push_str(&params.literal(l)),
                Some(Marker::Bind(b)) => {
                    sql.push('?');
                    values.push(params.value(b));
                }
                None => {}
            }
            at = range.end;
        }
        sql.push_str(&self.sql[at..]);
        Query {
            sql,
            params: values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_spliced_and_unknown_markers_refused() {
        let prelude =
            "-- fragment: f\n-- a comment\nx = {{pipelines}}\n  AND y\n\n-- fragment: g\n(1)";
        let file = SqlFile {
            name: "t",
            text: "-- description: d\nSELECT 1 WHERE {{f}} AND z IN {{g}} AND t < {{until}}",
        };
        let s = Statement::parse_with(&file, prelude).unwrap();
        assert_eq!(
            s.sql,
            "-- description: d\nSELECT 1 WHERE x = {{pipelines}}\n  AND y AND z IN (1) AND t < {{until}}"
        );
        let nested = SqlFile {
            name: "n",
            text: "-- description: d\nSELECT {{h}}",
        };
        let with_h = format!("{prelude}\n-- fragment: h\n{{{{g}}}} + {{{{now}}}}");
        assert_eq!(
            Statement::parse_with(&nested, &with_h).unwrap().sql,
            "-- description: d\nSELECT (1) + {{now}}"
        );
        let looping = "-- fragment: h\n{{h}}";
        assert!(
            Statement::parse_with(&nested, looping)
                .unwrap_err()
                .problem
                .contains("nest")
        );
        let bad = SqlFile {
            name: "bad",
            text: "-- description: x\nSELECT {{sincee}}",
        };
        let e = Statement::parse_with(&bad, prelude).unwrap_err();
        assert!(e.problem.contains("sincee"), "{e}");
        assert_eq!(e.file, "reports/bad.sql");
        let bare = SqlFile {
            name: "bare",
            text: "-- description: x\nSELECT 1 WHERE a = ?",
        };
        assert!(Statement::parse_with(&bare, prelude).is_err());
        let undescribed = SqlFile {
            name: "u",
            text: "SELECT 1",
        };
        assert!(Statement::parse_with(&undescribed, prelude).is_err());
    }
}
