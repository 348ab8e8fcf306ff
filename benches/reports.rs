//! Every canned report on one million demo events with the local engine (release
//! build): `cargo bench --bench reports`. Prints the best and median of 3 runs per
//! report. The data is generated once into `CPLOGS_BENCH_DIR` (default: a folder in
//! the system temp dir) and reused by later runs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use cplogs::engine::QueryEngine;
use cplogs::engine::local::LocalEngine;
use cplogs::ingest::PartitionWriter;
use cplogs::ingest::demo::{DemoConfig, generate};
use cplogs::reports::{Breakdown, REPORTS, ReportParams};

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
}
