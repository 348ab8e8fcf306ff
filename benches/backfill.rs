//! Benchmark of `cplogs backfill`: 100 pipelines × 365 days × 5 executions a day (the
//! demo generator's history, served by the local CodePipeline of the tests) into a
//! local directory. Run: `bash tests/with-moto.sh cargo bench --bench backfill` (moto
//! answers STS). Prints the wall time, API calls per operation, events/s, files and
//! the peak RSS of the backfill process; `BACKFILL_PIPELINES` / `BACKFILL_DAYS` shrink
//! it.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use common::codepipeline::{FakeCodePipeline, History};
use cplogs::ingest::demo::DemoConfig;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The peak resident set of a running process (VmHWM), in KiB.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() {
    let Ok(endpoint) = std::env::var("CPLOGS_TEST_ENDPOINT") else {
        eprintln!(
            "CPLOGS_TEST_ENDPOINT is not set: run `bash tests/with-moto.sh cargo bench --bench backfill`"
        );
        std::process::exit(2);
    };
    let (pipelines, days) = (
        env_or("BACKFILL_PIPELINES", 100),
        env_or("BACKFILL_DAYS", 365),
    );
    // The demo alternates two accounts: twice as many generated, half in the one read.
    let config = DemoConfig {
        pipelines: pipelines * 2,
        days: days as u32,
        seed: 42,
        runs_per_day: 5.0,
        end: Utc::now() - Duration::hours(1),
    };
    let t = Instant::now();
    let history = History::demo(&config, "123456789012");
    let (executions, actions) = (history.execution_count(), history.action_count());
    let regions = history.regions();
    println!(
        "history: {pipelines} pipelines × {days} days: {executions} executions, {actions} action executions, in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let fake = FakeCodePipeline::start(history);
    let out = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(common::cli::BIN);
    cmd.args([
        "backfill",
        "--out",
        out.path().to_str().expect("utf-8 path"),
        "--since",
        &format!("{}d", days + 1),
        "--format",
        "json",
    ]);
    for r in &regions {
        cmd.args(["--region", r]);
    }
    // The service's own variable wins over the general one (moto, for STS).
    cmd.env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ENDPOINT_URL_CODEPIPELINE", fake.endpoint())
        .env("XDG_CONFIG_HOME", "/nonexistent/cplogs-bench-config")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("run cplogs");
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        peak = peak.max(peak_kib(pid).unwrap_or(0));
        std::thread::sleep(StdDuration::from_millis(20));
    };
    let wall = started.elapsed().as_secs_f64();
    let mut stdout = String::new();
    if let Some(mut o) = child.stdout.take() {
        use std::io::Read as _;
        let _ = o.read_to_string(&mut stdout);
    }
    assert!(status.success(), "backfill failed: {stdout}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("summary JSON");
    let s = &doc["backfill"];
    let events = s["events"].as_u64().unwrap_or(0);
    println!(
        "backfill: {wall:.1}s wall, {} executions written, {events} events ({:.0} events/s), {} files, peak RSS {:.0} MB",
        s["written"],
        events as f64 / wall,
        s["files"],
        peak as f64 / 1024.0
    );
    println!(
        "API calls: {} (ListActionExecutions {} for {actions} action executions: {:.2} per 100)",
        s["calls"],
        s["calls"]["ListActionExecutions"],
        s["calls"]["ListActionExecutions"].as_f64().unwrap_or(0.0) * 100.0 / actions.max(1) as f64
    );
}
