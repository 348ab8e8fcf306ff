//! The files under `sql/`: the DDL is the schema's rendering, every bundled report
//! filters each table it reads on `dt` from the window (partition pruning), and every
//! statement as sent keeps Athena's rules (`?` only in WHERE, no user text in literals),
//! and no statement reads a CTE twice.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::path::PathBuf;

use cplogs::core::schema::{DEFAULT_DATABASE, Table};
use cplogs::reports::{Breakdown, Literal, REPORTS, ReportParams, all_statements, sql::markers};
use datafusion::sql::sqlparser::ast::{
    Expr, Query as SqlQuery, SetExpr, Statement, Value as SqlValue, Visit, Visitor,
    visit_expressions, visit_relations,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::common::at;

fn ddl_path(table: Table) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("sql/ddl/{}.sql", table.name()))
}

/// What `sql/ddl/<table>.sql` must hold.
fn rendered_ddl(table: Table) -> String {
    format!(
        "-- {name}: Athena DDL rendered from src/core/schema.rs (CPLOGS_UPDATE_SQL=1 cargo test --test engine sql).\n\
         -- Replace BUCKET with the log bucket. `cplogs tables create` makes the same table through\n\
         -- the Glue API; `--projection` adds date partition projection on dt.\n{ddl}",
        name = table.name(),
        ddl = table.ddl(
            DEFAULT_DATABASE,
            &format!("s3://BUCKET/{}/", table.name()),
            false
        ),
    )
}

#[test]
fn ddl_files_are_the_schema_rendered() {
    for table in Table::ALL {
        let want = rendered_ddl(table);
        let path = ddl_path(table);
        if std::env::var_os("CPLOGS_UPDATE_SQL").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (CPLOGS_UPDATE_SQL=1 writes it)", path.display()));
        assert_eq!(have, want, "{} differs from the schema", path.display());
    }
}

/// The statement without its `--` comment lines.
fn body(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_table_read_is_filtered_on_dt_from_the_window() {
    for st in all_statements() {
        let sql = body(&st.sql);
        let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
        let lower = flat.to_ascii_lowercase();
        let reads: usize = Table::ALL
            .iter()
            .map(|t| {
                lower.matches(&format!("from {}", t.name())).count()
                    + lower.matches(&format!("join {}", t.name())).count()
            })
            .sum();
        assert!(reads > 0, "{} reads no table", st.name);
        let filters = lower
            .matches("dt between {{since_dt}} and {{until_dt}}")
            .count();
        assert_eq!(
            filters, reads,
            "{}: every table read needs `dt BETWEEN {{{{since_dt}}}} AND {{{{until_dt}}}}`",
            st.name
        );
        // And on the event time, with the window's instants.
        let times = lower.matches("\"timestamp\") >= {{since}}").count();
        assert_eq!(times, reads, "{}", st.name);
        let ends = lower.matches("\"timestamp\") < {{until}}").count();
        assert_eq!(ends, reads, "{}", st.name);
    }
}

/// What a walk over a statement's syntax tree found.
#[derive(Default)]
struct Found {
    /// (line, column) of every `?`.
    placeholders: BTreeSet<(u64, u64)>,
    /// (line, column) of every `?` inside a WHERE clause.
    in_where: BTreeSet<(u64, u64)>,
    /// Every string literal.
    strings: Vec<String>,
}

fn placeholder_at(e: &Expr) -> Option<(u64, u64)> {
    match e {
        Expr::Value(v) if matches!(v.value, SqlValue::Placeholder(_)) => {
            Some((v.span.start.line, v.span.start.column))
        }
        _ => None,
    }
}

impl Found {
    fn wheres(&mut self, body: &SetExpr) {
        match body {
            SetExpr::Select(select) => {
                if let Some(w) = &select.selection {
                    let _ = visit_expressions(w, |e| {
                        self.in_where.extend(placeholder_at(e));
                        ControlFlow::<()>::Continue(())
                    });
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                self.wheres(left);
                self.wheres(right);
            }
            // Nested queries are visited on their own (pre_visit_query).
            _ => {}
        }
    }
}

impl Visitor for Found {
    type Break = ();

    fn pre_visit_query(&mut self, query: &SqlQuery) -> ControlFlow<()> {
        self.wheres(&query.body);
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        self.placeholders.extend(placeholder_at(e));
        if let Expr::Value(v) = e
            && let SqlValue::SingleQuotedString(s) = &v.value
        {
            self.strings.push(s.clone());
        }
        ControlFlow::Continue(())
    }
}

/// The one statement `sql` holds.
fn parse_one(sql: &str) -> Statement {
    let mut statements =
        Parser::parse_sql(&GenericDialect {}, sql).unwrap_or_else(|e| panic!("{e}\n{sql}"));
    assert_eq!(statements.len(), 1, "{sql}");
    statements.remove(0)
}

fn walk(sql: &str) -> Found {
    let mut found = Found::default();
    let _ = parse_one(sql).visit(&mut found);
    found
}

/// Every statement of every report as it is sent, with user text that is easy to
/// find: a placeholder stands only in a WHERE clause (Athena's rule), and no string
/// literal holds text a user typed; every literal is the bundled file's own or a
/// window value rendered from a parsed time.
#[test]
fn placeholders_only_in_where_and_no_literal_from_user_text() {
    // The walk itself finds what it must.
    let probe = walk("SELECT ? FROM t WHERE a = ? AND b IN (SELECT c FROM u WHERE d = ?)");
    assert_eq!(probe.placeholders.len(), 3);
    assert_eq!(probe.in_where.len(), 2);

    let user_pipeline = "userpipe-7f3a.b@c_d";
    let user_execution = "0c9e7d1a-5b2f-4e3d-9a8b-userexec";
    let base = ReportParams::new(
        at("2026-10-01T06:07:08.009Z"),
        at("2026-11-08T10:11:12.013Z"),
        at("2026-11-09T00:00:00Z"),
    )
    .unwrap();
    let variants = [
        base.clone(),
        base.clone()
            .with_pipelines(&[user_pipeline.to_owned(), "second".to_owned()])
            .unwrap()
            .with_execution_id(Some(user_execution))
            .unwrap(),
        base.clone()
            .looking_back(chrono::Duration::days(90))
            .until_now(),
    ];
    let mut statements = 0;
    for report in REPORTS {
        for by in [Breakdown::Pipeline, Breakdown::Stage, Breakdown::Action] {
            for st in report.sections(by) {
                let file_strings = walk_bundled(&st.sql);
                for p in &variants {
                    let q = st.query(p);
                    statements += 1;
                    assert!(!q.sql.contains("{{"), "{}: a marker left", st.name);
                    let found = walk(&q.sql);
                    assert_eq!(
                        found.placeholders, found.in_where,
                        "{}: a `?` outside a WHERE clause",
                        st.name
                    );
                    assert_eq!(found.placeholders.len(), q.params.len(), "{}", st.name);
                    let window: Vec<String> = Literal::ALL
                        .iter()
                        .map(|l| {
                            p.literal(*l)
                                .split('\'')
                                .nth(1)
                                .unwrap_or_default()
                                .to_owned()
                        })
                        .collect();
                    for s in &found.strings {
                        assert!(
                            !s.contains(user_pipeline) && !s.contains(user_execution),
                            "{}: user text in a literal: {s:?}",
                            st.name
                        );
                        assert!(
                            file_strings.contains(s) || window.contains(s),
                            "{}: a string literal from neither the file nor the window: {s:?}",
                            st.name
                        );
                    }
                }
            }
        }
    }
    assert!(statements >= 3 * 11, "{statements}");
}

/// A bundled statement with each `{{marker}}` standing for NULL, so it parses.
fn without_markers(sql: &str) -> String {
    let mut text = sql.to_owned();
    let names: Vec<String> = markers(sql).map(|(_, m)| m.to_owned()).collect();
    for m in names {
        text = text.replace(&format!("{{{{{m}}}}}"), "NULL");
    }
    text
}

/// The string literals of a bundled statement, its markers standing for nothing.
fn walk_bundled(sql: &str) -> Vec<String> {
    walk(&without_markers(sql)).strings
}

/// The CTE names of a statement and how often each is read (named in a FROM or JOIN).
#[derive(Default)]
struct CteReads {
    names: Vec<String>,
}

impl Visitor for CteReads {
    type Break = ();

    fn pre_visit_query(&mut self, query: &SqlQuery) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            self.names.extend(
                with.cte_tables
                    .iter()
                    .map(|cte| cte.alias.name.value.to_ascii_lowercase()),
            );
        }
        ControlFlow::Continue(())
    }
}

fn cte_reads(sql: &str) -> Vec<(String, usize)> {
    let statement = parse_one(&without_markers(sql));
    let mut ctes = CteReads::default();
    let _ = statement.visit(&mut ctes);
    let mut read = Vec::new();
    let _ = visit_relations(&statement, |name| {
        read.push(name.to_string().to_ascii_lowercase());
        ControlFlow::<()>::Continue(())
    });
    ctes.names
        .into_iter()
        .map(|cte| {
            let n = read.iter().filter(|r| **r == cte).count();
            (cte, n)
        })
        .collect()
}

/// DataFusion inlines a CTE wherever it is named, so one named twice is computed
/// twice: `inventory` read and deduplicated every table twice that way (twice the
/// time and memory of reading each once). Athena may do the same; no statement
/// reads a CTE more than once.
#[test]
fn no_statement_reads_a_cte_twice() {
    // The check itself sees a CTE read twice.
    assert_eq!(
        cte_reads("WITH e AS (SELECT 1 AS x) SELECT * FROM e JOIN e AS f ON e.x = f.x"),
        vec![("e".to_owned(), 2)]
    );
    let mut ctes = 0;
    for st in all_statements() {
        for (cte, reads) in cte_reads(&body(&st.sql)) {
            assert_eq!(reads, 1, "{}: the CTE {cte} is read {reads} times", st.name);
            ctes += 1;
        }
    }
    assert!(ctes >= 20, "{ctes}");
}
