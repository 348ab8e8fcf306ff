//! The files under `sql/`: the DDL is the schema's rendering, and every bundled report
//! filters each table it reads on `dt` from the window (partition pruning).

use std::path::PathBuf;

use cplogs::reports::{Bind, SQL_FILES, Statement};
use cplogs::schema::{DEFAULT_DATABASE, Table};

fn ddl_path(table: Table) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("sql/ddl/{}.sql", table.name()))
}

/// What `sql/ddl/<table>.sql` must hold.
fn rendered_ddl(table: Table) -> String {
    format!(
        "-- {name}: Athena DDL rendered from src/schema.rs (CPLOGS_UPDATE_SQL=1 cargo test --test sql).\n\
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
    for file in SQL_FILES {
        let st = Statement::parse(file).unwrap();
        let sql = body(file.text);
        let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
        let lower = flat.to_ascii_lowercase();
        let reads: usize = Table::ALL
            .iter()
            .map(|t| {
                lower.matches(&format!("from {}", t.name())).count()
                    + lower.matches(&format!("join {}", t.name())).count()
            })
            .sum();
        assert!(reads > 0, "{} reads no table", file.file);
        let mut filters = 0;
        for (at, _) in lower.match_indices("dt between ? and ?") {
            let before = lower[..at].matches('?').count();
            assert_eq!(st.binds[before], Bind::SinceDt, "{}", file.file);
            assert_eq!(st.binds[before + 1], Bind::UntilDt, "{}", file.file);
            filters += 1;
        }
        assert_eq!(
            filters, reads,
            "{}: every table read needs `dt BETWEEN ? AND ?`",
            file.file
        );
        // And on the event time, with the window's instants.
        let times = lower
            .matches("\"timestamp\") >= from_iso8601_timestamp(?)")
            .count();
        assert_eq!(times, reads, "{}", file.file);
    }
}
