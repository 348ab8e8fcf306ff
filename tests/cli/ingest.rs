//! The `cplogs` binary end to end: `ingest` (layout, files, --print, bad input, exit
//! codes) and `demo` (determinism, realism, window).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Output, Stdio};

use flate2::read::MultiGzDecoder;
use serde_json::Value;

use crate::common::cli::{cplogs, hermetic};
use crate::common::events::{fixture_dir, fixture_paths};
use crate::common::text;

/// Every data file under `root`, as (relative path, its JSON lines).
fn read_tree(root: &Path) -> BTreeMap<String, Vec<Value>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let mut text = String::new();
            MultiGzDecoder::new(std::fs::File::open(&path).unwrap())
                .read_to_string(&mut text)
                .unwrap_or_else(|e| panic!("{rel} is not gzip text: {e}"));
            assert!(text.ends_with('\n'), "{rel}");
            let lines = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            out.insert(rel, lines);
        }
    }
    out
}

fn partition_of(rel: &str) -> (String, String) {
    let parts: Vec<&str> = rel.split('/').collect();
    assert_eq!(parts.len(), 3, "{rel} is <table>/dt=YYYY-MM-DD/<file>");
    assert!(
        parts[2].starts_with("cplogs-") && parts[2].ends_with(".json.gz"),
        "{rel}"
    );
    (parts[0].to_owned(), parts[1].to_owned())
}

#[test]
fn ingest_writes_the_bucket_layout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let mut args = vec!["ingest", "--out", out];
    let paths = fixture_paths();
    args.extend(paths.iter().map(String::as_str));
    let o = cplogs(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("ingested 11 event(s)"),
        "{}",
        text(&o.stderr)
    );
    assert!(o.stdout.is_empty(), "data goes to files, stats to stderr");

    let tree = read_tree(dir.path());
    let mut per_partition: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (rel, lines) in &tree {
        let (table, dt) = partition_of(rel);
        for line in lines {
            assert_eq!(
                format!("dt={}", &line["timestamp"].as_str().unwrap()[..10]),
                dt
            );
        }
        *per_partition.entry((table, dt)).or_default() += lines.len();
    }
    let expect = |t: &str, d: &str, n: usize| {
        assert_eq!(
            per_partition.get(&(t.to_owned(), format!("dt={d}"))),
            Some(&n),
            "{t} {d}"
        );
    };
    expect("pipeline_execution_state_change", "2020-01-24", 3);
    expect("pipeline_execution_state_change", "2020-01-31", 1);
    expect("stage_execution_state_change", "2020-01-24", 1);
    expect("stage_execution_state_change", "2020-01-31", 1);
    expect("stage_execution_state_change", "2023-10-26", 1);
    expect("action_execution_state_change", "2020-01-24", 2);
    expect("action_execution_state_change", "2020-01-31", 2);
    assert_eq!(per_partition.values().sum::<usize>(), 11);

    // A second run adds new files and never overwrites the first run's.
    let o = cplogs(&args);
    assert!(o.status.success());
    let again = read_tree(dir.path());
    assert_eq!(again.len(), tree.len() * 2);
    for (rel, lines) in &tree {
        assert_eq!(again.get(rel), Some(lines), "{rel} is untouched");
    }
}

#[test]
fn ingest_print_writes_records_to_stdout() {
    let paths = fixture_paths();
    let mut args = vec!["ingest", "--print"];
    args.extend(paths.iter().map(String::as_str));
    let o = cplogs(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let lines: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 11);
    assert!(lines.iter().all(|l| l["pipeline"].is_string()));
}

#[test]
fn ingest_reads_arrays_and_stdin() {
    let events: Vec<Value> = fixture_paths()
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect();
    let array = serde_json::to_string_pretty(&events).unwrap();
    let mut child = hermetic()
        .args(["ingest", "--print", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(array.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(String::from_utf8(o.stdout).unwrap().lines().count(), 11);
}

#[test]
fn bad_events_are_named_counted_and_do_not_stop_the_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    let good: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_dir().join("action_failed.json")).unwrap(),
    )
    .unwrap();
    let mut other_source = good.clone();
    other_source["source"] = "aws.s3".into();
    let lines = [
        good.to_string(),
        r#"{"version":"0","detail-type":"#.to_owned(),
        other_source.to_string(),
        String::new(),
        good.to_string(),
        "[]".to_owned(),
    ];
    std::fs::write(&input, lines.join("\n")).unwrap();
    let out = dir.path().join("out");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "ingest",
            "--out",
            out.to_str().unwrap(),
            input.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        cplogs(&args)
    };
    let o = run(&[]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let name = input.display().to_string();
    assert!(
        err.contains(&format!("rejected: {name}:2: invalid JSON")),
        "{err}"
    );
    assert!(
        err.contains(&format!("rejected: {name}:3: source \"aws.s3\"")),
        "{err}"
    );
    assert!(
        err.contains(&format!("rejected: {name}:6: not a CodePipeline event")),
        "{err}"
    );
    assert!(
        err.contains("ingested 2 event(s)") && err.contains("3 rejected"),
        "{err}"
    );
    let written: usize = read_tree(&out).values().map(Vec::len).sum();
    assert_eq!(written, 2, "the valid events are still written");

    let o = run(&["--skip-invalid"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("3 rejected"));
}

#[test]
fn a_broken_document_reports_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("event.json");
    let text = std::fs::read_to_string(fixture_dir().join("pipeline_started.json")).unwrap();
    std::fs::write(&input, &text[..text.len() - 30]).unwrap();
    let o = cplogs(&["ingest", "--print", input.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = crate::common::text(&o.stderr);
    assert!(
        err.contains(&format!("{}:", input.display())) && err.contains("invalid JSON"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn errors_and_usage_exit_codes() {
    let o = cplogs(&["ingest", "--print", "/nonexistent/events.json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("cannot read /nonexistent/events.json"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(cplogs(&["ingest"]).status.code(), Some(2));
    assert_eq!(
        cplogs(&["ingest", "x.json"]).status.code(),
        Some(2),
        "--out or --print"
    );
    assert_eq!(
        cplogs(&["ingest", "--print", "--out", "d", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        cplogs(&["ingest", "--print", "-", "-"]).status.code(),
        Some(2)
    );
    assert_eq!(cplogs(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        cplogs(&["demo", "--out", "d", "--days", "0"]).status.code(),
        Some(2)
    );
    assert_eq!(
        cplogs(&["demo", "--out", "d", "--runs-per-day", "-1"])
            .status
            .code(),
        Some(2)
    );
    let help = cplogs(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("ingest"));
}

fn demo(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["--out", out.to_str().unwrap(), "--end", "2026-03-10"];
    args.extend_from_slice(extra);
    crate::common::cli::demo(&args)
}

/// All records of a tree, as sorted JSON text (file names differ between runs).
fn content(root: &Path) -> Vec<String> {
    let mut v: Vec<String> = read_tree(root)
        .into_iter()
        .flat_map(|(rel, lines)| {
            let (table, dt) = partition_of(&rel);
            lines.into_iter().map(move |l| format!("{table}/{dt} {l}"))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn demo_is_deterministic_per_seed() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    let small = ["--pipelines", "3", "--days", "4", "--seed", "5"];
    demo(a.path(), &small);
    demo(b.path(), &small);
    demo(
        c.path(),
        &["--pipelines", "3", "--days", "4", "--seed", "6"],
    );
    let (ca, cb, cc) = (content(a.path()), content(b.path()), content(c.path()));
    assert!(!ca.is_empty());
    assert_eq!(ca, cb);
    assert_ne!(ca, cc);
}

#[test]
fn demo_history_is_realistic() {
    let dir = tempfile::tempdir().unwrap();
    let o = demo(dir.path(), &["--pipelines", "20", "--days", "10"]);
    assert!(
        text(&o.stderr).contains("demo: 20 pipelines, 10 days"),
        "{}",
        text(&o.stderr)
    );
    let tree = read_tree(dir.path());

    let mut files_per_partition: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut states: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut pipelines = BTreeSet::new();
    let mut categories = BTreeSet::new();
    let mut error_codes = BTreeSet::new();
    let mut out_of_order_files = 0;
    let mut commits = 0;
    let mut attempts_per_action: BTreeMap<(String, String, String, String), BTreeSet<String>> =
        BTreeMap::new();
    for (rel, lines) in &tree {
        let (table, dt) = partition_of(rel);
        *files_per_partition
            .entry((table.clone(), dt.clone()))
            .or_default() += 1;
        let day = &dt[3..];
        assert!(
            ("2026-03-01".."2026-03-11").contains(&day),
            "{rel} is inside the window"
        );
        let times: Vec<&str> = lines
            .iter()
            .map(|l| l["timestamp"].as_str().unwrap())
            .collect();
        if times.windows(2).any(|w| w[0] > w[1]) {
            out_of_order_files += 1;
        }
        for l in lines {
            assert!(l["timestamp"].as_str().unwrap() <= "2026-03-10T23:59:59Z");
            *ids.entry(l["eventId"].as_str().unwrap().to_owned())
                .or_default() += 1;
            *states
                .entry((table.clone(), l["state"].as_str().unwrap().to_owned()))
                .or_default() += 1;
            pipelines.insert(l["pipeline"].as_str().unwrap().to_owned());
            if let Some(c) = l["type"]["category"].as_str() {
                categories.insert(c.to_owned());
            }
            if let Some(e) = l["executionResult"]["errorCode"].as_str() {
                error_codes.insert(e.to_owned());
                assert_eq!(l["state"], "FAILED");
            }
            if l["executionTrigger"]["commitId"].is_string() {
                commits += 1;
            }
            if table.starts_with("action") && l["state"] == "STARTED" {
                attempts_per_action
                    .entry((
                        l["pipeline"].as_str().unwrap().to_owned(),
                        l["executionId"].as_str().unwrap().to_owned(),
                        l["stage"].as_str().unwrap().to_owned(),
                        l["action"].as_str().unwrap().to_owned(),
                    ))
                    .or_default()
                    .insert(l["actionExecutionId"].as_str().unwrap().to_owned());
            }
        }
    }
    let total: usize = ids.values().sum();
    assert!(total > 10_000, "{total} events");
    assert_eq!(pipelines.len(), 20);
    let dups = ids.values().filter(|n| **n > 1).count();
    assert!(dups > 10, "duplicate deliveries: {dups}");
    assert!(
        out_of_order_files > 0,
        "some files are not in event-time order"
    );
    assert!(
        files_per_partition.values().any(|n| *n > 1),
        "late events land in a later file of their partition"
    );
    let count = |t: &str, s: &str| {
        states
            .get(&(t.to_owned(), s.to_owned()))
            .copied()
            .unwrap_or(0)
    };
    for s in [
        "STARTED",
        "SUCCEEDED",
        "FAILED",
        "RESUMED",
        "SUPERSEDED",
        "STOPPING",
        "STOPPED",
    ] {
        assert!(
            count("pipeline_execution_state_change", s) > 0,
            "pipeline {s}"
        );
    }
    assert!(count("stage_execution_state_change", "RESUMED") > 0);
    assert!(count("action_execution_state_change", "ABANDONED") > 0);
    for c in ["Source", "Build", "Test", "Approval", "Deploy"] {
        assert!(categories.contains(c), "{c}");
    }
    assert!(error_codes.contains("JobFailed") && error_codes.contains("ApprovalRejected"));
    assert!(commits > 100);
    assert!(
        attempts_per_action.values().any(|a| a.len() > 1),
        "a retried stage runs its action a second time"
    );
}
