//! `cplogs ingest` under bad input and faults, end to end with the real binary: ten
//! years of days under a small open-file limit and a memory bound, SIGKILL mid-run, a
//! full disk (RLIMIT_FSIZE), `--skip-invalid` on broken lines and documents, and event
//! times the tables cannot hold. After a fault every report still runs, counts exactly
//! the events of the files that completed, and a re-run completes the data.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use flate2::read::MultiGzDecoder;
use serde_json::{Value, json};

use crate::common::cli::{BIN, cplogs, demo};
use crate::common::events::fixture;
use crate::common::text;

/// Demo events (EventBridge JSON lines, arrival order) for 2026-03-01..=2026-03-10.
fn demo_events(pipelines: &str) -> Vec<u8> {
    demo(&[
        "--print-events",
        "--pipelines",
        pipelines,
        "--days",
        "10",
        "--end",
        "2026-03-10",
        "--seed",
        "7",
    ])
    .stdout
}

/// What a directory holds: completed files (every one must be whole gzip JSON lines),
/// the event ids in them, and the hidden files left in partition folders.
#[derive(Debug, Default)]
struct Tree {
    files: Vec<PathBuf>,
    records: usize,
    ids: BTreeSet<String>,
    /// Pipelines with an execution event.
    pipelines: BTreeSet<String>,
    hidden: Vec<PathBuf>,
}

fn tree(root: &Path) -> Tree {
    let mut t = Tree::default();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') {
                t.hidden.push(path);
                continue;
            }
            let mut body = String::new();
            MultiGzDecoder::new(std::fs::File::open(&path).unwrap())
                .read_to_string(&mut body)
                .unwrap_or_else(|e| panic!("{} is not whole gzip: {e}", path.display()));
            assert!(body.ends_with('\n'), "{} ends mid-line", path.display());
            for line in body.lines() {
                let record: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{}: {e}: {line}", path.display()));
                t.ids.insert(record["eventId"].as_str().unwrap().to_owned());
                if path.starts_with(root.join("pipeline_execution_state_change")) {
                    t.pipelines
                        .insert(record["pipeline"].as_str().unwrap().to_owned());
                }
                t.records += 1;
            }
            t.files.push(path);
        }
    }
    t
}

/// Every report, from the one definition.
fn report_names() -> Vec<&'static str> {
    cplogs::reports::REPORTS.iter().map(|r| r.name).collect()
}

/// Every report's results on `dir` (each must succeed; timeline of `pipeline`, which
/// exits 4 when the directory holds no pipeline event), and the distinct event ids
/// the engine counts.
fn reports(dir: &Path, pipeline: Option<&str>) -> (BTreeMap<&'static str, Value>, u64) {
    let dir = dir.to_str().unwrap();
    let children: Vec<(&str, std::process::Child)> = report_names()
        .into_iter()
        .map(|name| {
            let mut args = vec![
                "report",
                name,
                "--local",
                dir,
                "--since",
                "2026-03-01",
                "--until",
                "2026-03-11",
                // A fixed now: runs a minute apart would differ in `stuck`'s age.
                "--now",
                "2026-12-01T00:00:00Z",
                "--format",
                "json",
            ];
            if name == "timeline" {
                args.extend(["--pipeline", pipeline.unwrap_or("payments-api")]);
            }
            let child = Command::new(BIN)
                .args(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (name, child)
        })
        .collect();
    let mut out = BTreeMap::new();
    for (name, child) in children {
        let o = child.wait_with_output().unwrap();
        if name == "timeline" && pipeline.is_none() {
            assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
            continue;
        }
        assert!(o.status.success(), "{name}: {}", text(&o.stderr));
        let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
        out.insert(name, doc["results"].clone());
    }
    let sql = "SELECT count(DISTINCT eventid) AS n FROM (\
        SELECT eventid FROM pipeline_execution_state_change UNION ALL \
        SELECT eventid FROM stage_execution_state_change UNION ALL \
        SELECT eventid FROM action_execution_state_change)";
    let o = cplogs(&["query", sql, "--local", dir, "--format", "csv"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let n = text(&o.stdout).lines().nth(1).unwrap().parse().unwrap();
    (out, n)
}

/// The reports of a clean ingest of `input`, to compare with.
fn clean_reports(input: &Path, pipeline: Option<&str>) -> (BTreeMap<&'static str, Value>, u64) {
    let clean = tempfile::tempdir().unwrap();
    let o = cplogs(&[
        "ingest",
        "--out",
        clean.path().to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    reports(clean.path(), pipeline)
}

fn set_age(path: &Path, age: Duration) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - age).unwrap();
}

#[test]
fn ten_years_of_days_under_256_open_files_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    let out = dir.path().join("out");
    let templates = [
        fixture("pipeline_started.json"),
        fixture("stage_started.json"),
        fixture("action_started.json"),
    ];
    let first = chrono::NaiveDate::from_ymd_opt(2016, 1, 1).unwrap();
    let mut lines = Vec::new();
    for (i, day) in first.iter_days().take(3650).enumerate() {
        for (t, template) in templates.iter().enumerate() {
            let mut e = template.clone();
            e["id"] = json!(format!("{t}-{i}"));
            e["time"] = json!(format!("{day}T12:00:00Z"));
            lines.push(e.to_string());
        }
    }
    std::fs::write(&input, lines.join("\n")).unwrap();

    let started = Instant::now();
    let o = Command::new("bash")
        .args([
            "-c",
            r#"ulimit -n 256; exec /usr/bin/time -v "$0" ingest --out "$1" "$2""#,
            BIN,
            out.to_str().unwrap(),
            input.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("ingested 10950 event(s) into 10950 file(s)"),
        "{err}"
    );
    let rss_kb: u64 = err
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .expect("/usr/bin/time -v output")
        .parse()
        .unwrap();
    eprintln!(
        "10 years x 3 tables: peak RSS {} MB in {elapsed:.2?}",
        rss_kb / 1024
    );
    assert!(rss_kb < 200 * 1024, "peak RSS {rss_kb} kB");

    let t = tree(&out);
    assert_eq!(t.files.len(), 10_950, "one file per table and day");
    assert_eq!((t.records, t.ids.len()), (10_950, 10_950));
    assert!(t.hidden.is_empty(), "{:?}", t.hidden);
    let days: BTreeSet<String> = t
        .files
        .iter()
        .map(|f| {
            f.parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(days.len(), 3650);
    assert_eq!(days.first().unwrap(), "dt=2016-01-01");
}

#[test]
fn sigkill_mid_run_leaves_only_complete_files_and_a_rerun_completes_them() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    let out = dir.path().join("out");
    let events = demo_events("10");
    std::fs::write(&input, &events).unwrap();

    // Fed through a pipe, slowly, with a 1 MiB buffer: files complete along the way.
    let mut child = Command::new(BIN)
        .args([
            "ingest",
            "--out",
            out.to_str().unwrap(),
            "--buffer-mb",
            "1",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        for chunk in events.chunks(64 * 1024) {
            if stdin.write_all(chunk).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(40));
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while tree_has_a_file(&out) == 0 {
        assert!(Instant::now() < deadline, "no file completed");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    feeder.join().unwrap();
    assert_eq!(status.signal(), Some(9), "killed mid-run, not finished");

    let crashed = tree(&out);
    assert!(!crashed.files.is_empty());
    let (_, counted) = reports(&out, crashed.pipelines.first().map(String::as_str));
    assert_eq!(
        counted,
        crashed.ids.len() as u64,
        "exactly the completed files' events"
    );
    assert!(counted < 11_000, "the run was cut short: {counted}");

    // Left-overs of the killed run (if it died mid-file), plus two planted ones: an old
    // one and one as fresh as another ingest's file in progress.
    let partition = crashed.files[0].parent().unwrap().to_owned();
    let stale = partition.join(".cplogs-2026-01-01-00-00-00-planted.json.gz.tmp");
    let fresh = partition.join(".cplogs-2026-01-01-00-00-01-fresh.json.gz.tmp");
    std::fs::write(&stale, b"\x1f\x8b partial").unwrap();
    std::fs::write(&fresh, b"\x1f\x8b in progress").unwrap();
    for f in crashed.hidden.iter().chain([&stale]) {
        set_age(f, Duration::from_secs(2 * 3600));
    }

    let o = cplogs(&[
        "ingest",
        "--out",
        out.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "removed {} temporary file(s)",
            crashed.hidden.len() + 1
        )),
        "{err}"
    );
    let rerun = tree(&out);
    assert_eq!(
        rerun.hidden,
        std::slice::from_ref(&fresh),
        "only the fresh one is left"
    );
    std::fs::remove_file(&fresh).unwrap();
    assert!(rerun.ids.is_superset(&crashed.ids));

    // Re-ingesting events already there doubles no report row.
    let pipeline = tree(&out).pipelines.first().cloned();
    let pipeline = pipeline.as_deref();
    assert!(pipeline.is_some());
    assert_eq!(reports(&out, pipeline), clean_reports(&input, pipeline));
}

fn tree_has_a_file(root: &Path) -> usize {
    let mut n = 0;
    for table in ["pipeline", "stage", "action"] {
        let Ok(days) = std::fs::read_dir(root.join(format!("{table}_execution_state_change")))
        else {
            continue;
        };
        for day in days.flatten() {
            n += std::fs::read_dir(day.path())
                .map(|files| {
                    files
                        .flatten()
                        .filter(|f| !f.file_name().to_string_lossy().starts_with('.'))
                        .count()
                })
                .unwrap_or(0);
        }
    }
    n
}

#[test]
fn a_full_disk_is_an_error_naming_the_file_and_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    std::fs::write(&input, demo_events("10")).unwrap();
    let run_limited = |out: &Path, kb: u64| {
        // SIGXFSZ ignored: a write past the limit then fails with EFBIG instead of
        // killing the process, as a full disk fails with ENOSPC.
        Command::new("bash")
            .args([
                "-c",
                r#"trap '' XFSZ; ulimit -f "$3"; exec "$0" ingest --out "$1" --buffer-mb 1 "$2""#,
                BIN,
                out.to_str().unwrap(),
                input.to_str().unwrap(),
                &kb.to_string(),
            ])
            .output()
            .unwrap()
    };
    // A limit under the largest file, high enough that some files complete first.
    let free = dir.path().join("free");
    let o = run_limited(&free, 1 << 20);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut sizes: Vec<u64> = tree(&free)
        .files
        .iter()
        .map(|f| f.metadata().unwrap().len())
        .collect();
    sizes.sort_unstable();
    let mut found = None;
    for (n, size) in sizes.iter().rev().enumerate() {
        let out = dir.path().join(format!("full-{n}"));
        let o = run_limited(&out, size.div_ceil(1024) - 1);
        assert!(o.status.code().is_some(), "not killed by SIGXFSZ");
        if o.status.code() == Some(1) && !tree(&out).files.is_empty() {
            found = Some((out, o));
            break;
        }
    }
    let (out, o) = found.expect("a limit where some files complete and one fails");
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!("error: cannot write {}/", out.display()))
            && err.contains(".json.gz: File too large"),
        "{err}"
    );
    let t = tree(&out);
    assert!(
        t.hidden.is_empty(),
        "the temporary file is removed: {:?}",
        t.hidden
    );
    assert!(
        err.contains(&format!(
            "ingest stopped: {} record(s) are in {} complete file(s)",
            t.records,
            t.files.len()
        )),
        "{err}"
    );
    let (_, counted) = reports(&out, t.pipelines.first().map(String::as_str));
    assert_eq!(counted, t.ids.len() as u64);

    // With room again, the same ingest completes the data.
    let o = cplogs(&[
        "ingest",
        "--out",
        out.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let pipeline = tree(&out).pipelines.first().cloned();
    let pipeline = pipeline.as_deref();
    assert!(pipeline.is_some());
    assert_eq!(reports(&out, pipeline), clean_reports(&input, pipeline));
}

#[test]
fn skip_invalid_loses_only_what_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let template = fixture("action_failed.json");
    let event = |i: usize| {
        let mut e = template.clone();
        e["id"] = json!(format!("line-{i}"));
        e["time"] = json!(format!("2026-03-0{}T10:00:00Z", 1 + i % 9));
        e
    };
    // 5,000 JSON lines, 3 of them bad: the first, one in the middle, the last.
    let lines: Vec<String> = (1..=5000)
        .map(|i| match i {
            1 => r#"{"version":"0","id":"x","detail-type":"#.to_owned(),
            2500 => r#"{"id": oops}"#.to_owned(),
            5000 => event(i).to_string()[..200].to_owned(),
            _ => event(i).to_string(),
        })
        .collect();
    let jsonl = dir.path().join("events.jsonl");
    std::fs::write(&jsonl, lines.join("\n")).unwrap();
    // A pretty array whose third element is broken: the first two are kept.
    let array = dir.path().join("array.json");
    let pretty = serde_json::to_string_pretty(&json!([event(6001), event(6002)])).unwrap();
    let broken_array = format!(
        "{},\n  {{\"id\": \"x\",\n  oops\n]\n",
        &pretty[..pretty.len() - 2]
    );
    std::fs::write(&array, &broken_array).unwrap();
    let oops_line = broken_array.lines().position(|l| l == "  oops").unwrap() + 1;
    // A pretty object with a syntax error: that file alone is lost.
    let object = dir.path().join("object.json");
    let pretty = serde_json::to_string_pretty(&event(7001))
        .unwrap()
        .replacen("\"version\"", "\"version\" 1,", 1);
    std::fs::write(&object, &pretty).unwrap();
    let (bad_line, bad_column) = pretty
        .lines()
        .enumerate()
        .find_map(|(i, l)| l.find(" 1,").map(|c| (i + 1, c + 2)))
        .unwrap();
    // Concatenated pretty objects and a compact one: all good.
    let concatenated = dir.path().join("concatenated.json");
    std::fs::write(
        &concatenated,
        format!(
            "{}{}\n{}",
            serde_json::to_string_pretty(&event(8001)).unwrap(),
            serde_json::to_string_pretty(&event(8002)).unwrap(),
            event(8003)
        ),
    )
    .unwrap();

    let out = dir.path().join("out");
    let paths = [&jsonl, &array, &object, &concatenated].map(|p| p.display().to_string());
    let run = |extra: &[&str]| {
        let mut args = vec!["ingest", "--out", out.to_str().unwrap()];
        args.extend(extra);
        args.extend(paths.iter().map(String::as_str));
        cplogs(&args)
    };
    let o = run(&["--skip-invalid"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let rejected: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("rejected: "))
        .collect();
    assert_eq!(rejected.len(), 5, "{err}");
    let (jsonl, array, object) = (&paths[0], &paths[1], &paths[2]);
    for (line, prefix) in [
        (0, format!("rejected: {jsonl}:1: invalid JSON")),
        (
            1,
            format!("rejected: {jsonl}:2500: invalid JSON at column 8"),
        ),
        (2, format!("rejected: {jsonl}:5000: invalid JSON")),
        (
            3,
            format!("rejected: {array}:{oops_line}: invalid JSON at line {oops_line} column 3"),
        ),
        (
            4,
            format!(
                "rejected: {object}:{bad_line}: invalid JSON at line {bad_line} column {bad_column}"
            ),
        ),
    ] {
        assert!(rejected[line].starts_with(&prefix), "{prefix}\n{err}");
    }
    assert!(
        err.contains("ingested 5002 event(s)") && err.contains("5 rejected"),
        "{err}"
    );
    let t = tree(&out);
    assert_eq!(t.records, 4997 + 2 + 3);
    assert!(t.ids.contains("line-2") && t.ids.contains("line-4999") && t.ids.contains("line-6002"));
    assert!(!t.ids.contains("line-7001") && !t.ids.contains("line-1"));

    // Without --skip-invalid the same is written, and the run fails.
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("5 event(s) were rejected"));
}

#[test]
fn event_times_the_tables_cannot_hold_are_rejected_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let template = fixture("pipeline_started.json");
    let times = [
        "2026-03-01T10:00:00Z",
        "0000-06-01T12:00:00Z",
        "9999-12-31T23:30:00-01:00",
        "0000-01-01T00:30:00+01:00",
        "1969-12-31T23:59:59Z",
        "9999-12-31T23:59:59.999Z",
    ];
    let lines: Vec<String> = times
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut e = template.clone();
            e["id"] = json!(i.to_string());
            e["time"] = json!(t);
            e.to_string()
        })
        .collect();
    let input = dir.path().join("times.jsonl");
    std::fs::write(&input, lines.join("\n")).unwrap();
    let out = dir.path().join("out");
    let o = cplogs(&[
        "ingest",
        "--out",
        out.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for line in 2..=5 {
        assert!(
            err.contains(&format!("rejected: {}:{line}: event time", input.display())),
            "{err}"
        );
    }
    assert!(err.contains("outside 1970-01-01T00:00:00Z"), "{err}");
    let mut dts: Vec<String> = std::fs::read_dir(out.join("pipeline_execution_state_change"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dts.sort();
    assert_eq!(dts, ["dt=2026-03-01", "dt=9999-12-31"]);
}
