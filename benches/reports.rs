//! Every canned report on one million demo events with the local engine (release
//! build): `cargo bench --bench reports`. Prints the best and median of 3 runs per
//! report. The data is generated once into `CPLOGS_BENCH_DIR` (default: a folder in
//! the system temp dir) and reused by later runs. Then every report again with the
//! tables read by DataFusion's own JSON reader instead of the engine's lenient one
//! (`src/engine/jsonl.rs`), to show what reading records as the SerDe does costs: that
//! part needs `--features datafusion-gzip` (DataFusion's gzip decoding).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use cplogs::engine::QueryEngine;
use cplogs::engine::local::LocalEngine;
use cplogs::ingest::PartitionWriter;
use cplogs::ingest::demo::{DemoConfig, generate};
use cplogs::reports::{Breakdown, REPORTS, ReportParams};
#[cfg(feature = "datafusion-gzip")]
use datafusion::prelude::SessionContext;

fn main() {
    let end = Utc.with_ymd_and_hms(2026, 11, 20, 23, 59, 59).unwrap();
    let config = DemoConfig {
        pipelines: 220,
        days: 30,
        runs_per_day: 8.0,
        seed: 7,
        end,
    };
    let dir = std::env::var_os("CPLOGS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("cplogs-bench-1m"));
    let marker = dir.join(".complete");
    if !marker.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        let started = Instant::now();
        let mut writer = PartitionWriter::new(&dir, 1);
        let summary = generate(&config, &mut writer, |_| {}).expect("demo data");
        writer.finish().expect("demo files");
        std::fs::write(&marker, summary.events.to_string()).expect("marker");
        eprintln!(
            "generated {} events in {:.1}s under {}",
            summary.events,
            started.elapsed().as_secs_f64(),
            dir.display()
        );
    }
    let events = std::fs::read_to_string(&marker).unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let engine = rt.block_on(LocalEngine::open(&dir)).expect("engine");
    let since = end - chrono::Duration::days(31);
    let params = ReportParams::new(since, end, end)
        .expect("window")
        .with_execution_id(None)
        .expect("id");
    println!(
        "{} events, {} cores",
        events.trim(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<34} {:>9} {:>9} {:>8} {:>10}",
        "report (statement)", "best", "median", "rows", "read"
    );
    for report in REPORTS {
        let breakdowns = match report.breakdowns() {
            b if b.is_empty() => vec![Breakdown::Pipeline],
            b => b,
        };
        for by in &breakdowns {
            let statements = report.sections(*by);
            let mut times: Vec<Duration> = Vec::new();
            let mut rows = 0;
            let mut bytes = 0;
            for _ in 0..3 {
                let started = Instant::now();
                rows = 0;
                bytes = 0;
                for s in &statements {
                    let out = rt.block_on(engine.run(&s.query(&params))).expect("report");
                    rows += out.result.rows.len();
                    bytes += out.stats.bytes_scanned;
                }
                times.push(started.elapsed());
            }
            times.sort();
            let names: Vec<&str> = statements.iter().map(|s| s.name).collect();
            println!(
                "{:<34} {:>8.2}s {:>8.2}s {:>8} {:>7.1} MB",
                format!("{} ({})", report.name, names.join("+")),
                times[0].as_secs_f64(),
                times[1].as_secs_f64(),
                rows,
                bytes as f64 / 1e6
            );
        }
    }
    compare_readers(&rt, &engine, &dir, &params);
}

/// The same SQL with the tables read by DataFusion's own gzip JSON reader. It needs
/// DataFusion's `compression` feature, which the engine does without (it gunzips
/// files itself, and the feature builds three C libraries), so this part runs with
/// `cargo bench --bench reports --features datafusion-gzip`.
#[cfg(feature = "datafusion-gzip")]
fn compare_readers(
    rt: &tokio::runtime::Runtime,
    engine: &LocalEngine,
    dir: &std::path::Path,
    params: &ReportParams,
) {
    println!();
    println!(
        "{:<34} {:>9} {:>9} {:>9}",
        "same SQL, reader (best of 3)", "lenient", "datafusion", "overhead"
    );
    let plain = rt.block_on(datafusion_reader(dir));
    let (mut total_new, mut total_old) = (0.0, 0.0);
    for report in REPORTS {
        for s in report.sections(Breakdown::Pipeline) {
            let q = s.query(params);
            let best = |f: &dyn Fn() -> usize| {
                (0..3)
                    .map(|_| {
                        let started = Instant::now();
                        f();
                        started.elapsed().as_secs_f64()
                    })
                    .fold(f64::INFINITY, f64::min)
            };
            let new = best(&|| {
                rt.block_on(engine.run(&q))
                    .expect("report")
                    .result
                    .rows
                    .len()
            });
            let old = best(&|| {
                rt.block_on(async {
                    // Positional parameters, as the engine binds them (the bundled
                    // SQL has no other `?`).
                    // (and `try` rewritten as the engine rewrites it).
                    let mut sql = q.sql.replace(
                        "try(from_iso8601_timestamp(starttime))",
                        "try_from_iso8601_timestamp(starttime)",
                    );
                    for i in 0..q.params.len() {
                        sql = sql.replacen('?', &format!("${}", i + 1), 1);
                    }
                    let values: Vec<datafusion::common::ScalarValue> = q
                        .params
                        .iter()
                        .map(|p| datafusion::common::ScalarValue::Utf8(Some(p.clone())))
                        .collect();
                    let frame = plain.sql(&sql).await.expect("plan");
                    let frame = frame.with_param_values(values).expect("params");
                    frame.collect().await.expect("run").len()
                })
            });
            total_new += new;
            total_old += old;
            println!(
                "{:<34} {:>8.2}s {:>8.2}s {:>8.0}%",
                s.name,
                new,
                old,
                (new / old - 1.0) * 100.0
            );
        }
    }
    println!(
        "{:<34} {:>8.2}s {:>8.2}s {:>8.0}%",
        "all",
        total_new,
        total_old,
        (total_new / total_old - 1.0) * 100.0
    );
}

/// Without DataFusion's `compression` feature its reader cannot read the tables.
#[cfg(not(feature = "datafusion-gzip"))]
fn compare_readers(
    _rt: &tokio::runtime::Runtime,
    _engine: &LocalEngine,
    _dir: &std::path::Path,
    _params: &ReportParams,
) {
    println!();
    println!("(add --features datafusion-gzip to compare with DataFusion's own reader)");
}

/// The tables as the engine registered them before it had its own reader:
/// DataFusion's JSON format, which fails a query on any record that does not fit.
#[cfg(feature = "datafusion-gzip")]
async fn datafusion_reader(dir: &std::path::Path) -> SessionContext {
    use cplogs::engine::local::view_sql;
    use datafusion::catalog::MemorySchemaProvider;
    use datafusion::common::TableReference;
    use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
    use datafusion::datasource::file_format::json::JsonFormat;
    use datafusion::datasource::listing::{
        ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
    };
    use datafusion::prelude::SessionConfig;
    let config = SessionConfig::new()
        .set_str("datafusion.sql_parser.default_null_ordering", "nulls_last")
        .with_collect_statistics(false);
    let ctx = SessionContext::new_with_config(config);
    cplogs::engine::functions::register(&ctx);
    ctx.catalog("datafusion")
        .expect("catalog")
        .register_schema("raw", std::sync::Arc::new(MemorySchemaProvider::new()))
        .expect("schema");
    for table in cplogs::Table::ALL {
        let url = ListingTableUrl::parse(format!("{}/{}/", dir.display(), table.name()))
            .and_then(|u| u.with_glob("[!._]*"))
            .expect("url");
        let format = JsonFormat::default().with_file_compression_type(FileCompressionType::GZIP);
        let options = ListingOptions::new(std::sync::Arc::new(format))
            .with_file_extension("")
            .with_table_partition_cols(vec![(
                "dt".to_owned(),
                datafusion::arrow::datatypes::DataType::Utf8,
            )]);
        let config = ListingTableConfig::new(url)
            .with_listing_options(options)
            .with_schema(cplogs::engine::arrow::file_schema(table));
        let provider = ListingTable::try_new(config).expect("table");
        ctx.register_table(
            TableReference::partial("raw", table.name()),
            std::sync::Arc::new(provider),
        )
        .expect("register");
        ctx.sql(&view_sql(table)).await.expect("view");
    }
    ctx
}
