//! The real binary under hostile command lines: every flag parser (durations, dates,
//! times, sizes, names, numbers) answers an out-of-range or malformed value with a
//! clear error and a documented exit code, never a panic.

use std::process::{Command, Stdio};

use crate::common::cli::BIN;

/// The exit codes the README documents.
const DOCUMENTED: [i32; 6] = [0, 1, 2, 3, 4, 130];

#[test]
fn hostile_argv_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let local = dir.path().to_str().unwrap();
    let long_name = "p".repeat(10_000);
    let dead = "http://127.0.0.1:9";
    // (argv, the exit code it must give)
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (
            vec!["report", "stuck", "--older-than", "3153600000d", "--demo"],
            2,
        ),
        (
            vec![
                "report",
                "stuck",
                "--older-than",
                "9223372036854775807s",
                "--local",
                local,
            ],
            2,
        ),
        (
            vec!["report", "stuck", "--older-than", "-5m", "--local", local],
            2,
        ),
        (
            vec![
                "report",
                "stuck",
                "--lookback",
                "99999999999d",
                "--local",
                local,
            ],
            2,
        ),
        (
            vec![
                "report",
                "failures",
                "--since",
                "+262142-12-31",
                "--local",
                local,
            ],
            2,
        ),
        (
            vec![
                "report",
                "failures",
                "--since=-262143-01-01",
                "--local",
                local,
            ],
            2,
        ),
        (
            vec![
                "report",
                "failures",
                "--since",
                "0001-01-01",
                "--local",
                local,
            ],
            2,
        ),
        (
            vec![
                "report",
                "failures",
                "--until",
                "10000-01-01",
                "--local",
                local,
            ],
            2,
        ),
        (
            vec![
                "report",
                "failures",
                "--since",
                "9999-12-31T23:30:00-01:00",
                "--local",
                local,
            ],
            2,
        ),
        (
            vec!["report", "failures", "--since", "1e309d", "--local", local],
            2,
        ),
        (
            vec![
                "report", "failures", "--since", "7d", "--until", "8d", "--local", local,
            ],
            2,
        ),
        (
            vec![
                "report",
                "failures",
                "--now",
                "99999-01-01",
                "--local",
                local,
            ],
            2,
        ),
        (
            vec![
                "report",
                "failures",
                "--now",
                "\u{7f}\u{1b}",
                "--local",
                local,
            ],
            2,
        ),
        (
            vec![
                "report",
                "failures",
                "--timeout",
                "3153600000d",
                "--local",
                local,
            ],
            2,
        ),
        (
            vec!["report", "failures", "--timeout", "0s", "--local", local],
            2,
        ),
        (
            vec![
                "report",
                "failures",
                "--reuse",
                "3153600000d",
                "--local",
                local,
            ],
            2,
        ),
        (
            vec!["report", "failures", "--pipeline", "", "--local", local],
            2,
        ),
        (
            vec!["report", "failures", "--pipeline", "a'b", "--local", local],
            2,
        ),
        (
            vec![
                "report",
                "failures",
                "--pipeline",
                &long_name,
                "--local",
                local,
            ],
            2,
        ),
        (
            vec![
                "report",
                "failures",
                "--pipeline",
                "\u{1b}[2J",
                "--local",
                local,
            ],
            2,
        ),
        (
            vec![
                "report",
                "timeline",
                "--execution-id",
                "x' OR 1=1",
                "--local",
                local,
            ],
            2,
        ),
        (
            vec!["report", "failures", "--format", "yaml", "--local", local],
            2,
        ),
        (vec!["report", "nope", "--local", local], 2),
        (
            vec!["report", "failures", "--local", "/nonexistent/cplogs"],
            1,
        ),
        (
            vec!["audit", "--max-failure-rate", "NaN", "--local", local],
            2,
        ),
        (
            vec!["audit", "--max-failure-rate", "-1", "--local", local],
            2,
        ),
        (
            vec!["audit", "--max-failure-rate", "1e999", "--local", local],
            2,
        ),
        (
            vec![
                "audit",
                "--max-p95",
                "99999999999999999999d",
                "--local",
                local,
            ],
            2,
        ),
        (vec!["query", "", "--local", local], 2),
        (vec!["query", "SELECT ?", "--local", local], 2),
        (
            vec!["query", "SELECT 1", "--param", "x", "--local", local],
            2,
        ),
        (vec!["query", "DROP TABLE x; --", "--local", local], 2),
        (vec!["demo", "--out", out, "--end", "+262142-12-31"], 2),
        (vec!["demo", "--out", out, "--end", "0001-01-01"], 2),
        (
            vec!["demo", "--out", out, "--end", "1970-01-05", "--days", "30"],
            2,
        ),
        (
            vec![
                "demo",
                "--out",
                out,
                "--end",
                "9999-12-31",
                "--days",
                "1",
                "--pipelines",
                "1",
                "--runs-per-day",
                "0.1",
            ],
            0,
        ),
        (vec!["demo", "--out", out, "--runs-per-day", "NaN"], 2),
        (vec!["demo", "--out", out, "--runs-per-day", "inf"], 2),
        (vec!["demo", "--out", out, "--runs-per-day", "-1"], 2),
        (vec!["demo", "--out", out, "--pipelines", "0"], 2),
        (vec!["demo", "--out", out, "--pipelines", "4294967296"], 2),
        (vec!["demo", "--out", out, "--days", "0"], 2),
        (vec!["demo", "--out", out, "--seed", "-1"], 2),
        (
            vec![
                "repair-partitions",
                "--bucket",
                "b",
                "--since",
                "+262142-12-31",
                "--region",
                "us-east-1",
                "--endpoint-url",
                dead,
            ],
            2,
        ),
        (
            vec![
                "repair-partitions",
                "--bucket",
                "b",
                "--since=-262143-01-01",
                "--region",
                "us-east-1",
                "--endpoint-url",
                dead,
            ],
            2,
        ),
        (
            vec![
                "repair-partitions",
                "--bucket",
                "b",
                "--concurrency",
                "0",
                "--region",
                "us-east-1",
            ],
            2,
        ),
        (
            vec![
                "repair-partitions",
                "--bucket",
                "b",
                "--concurrency",
                "70000",
                "--region",
                "us-east-1",
            ],
            2,
        ),
        (vec!["ingest", "/nonexistent/events.json", "--out", out], 1),
        (vec!["ingest", "--out", out], 2),
        (vec!["iam-policy", "report", "--account", "x'y\u{1b}"], 2),
        (vec!["config", "show", "--format", "xml"], 2),
        (
            vec!["--config", "/nonexistent/cplogs.toml", "config", "show"],
            1,
        ),
        // The commands of this round.
        (
            vec!["--local", local, "report", "failures", "--limit", "-1"],
            2,
        ),
        (
            vec![
                "--local",
                local,
                "report",
                "failures",
                "--limit",
                "99999999999999999999999",
            ],
            2,
        ),
        (
            vec![
                "--local",
                local,
                "report",
                "failures",
                "--section",
                "\u{202e}x",
            ],
            2,
        ),
        (
            vec!["--local", local, "report", "stuck", "--compare", "previous"],
            2,
        ),
        (
            vec!["--local", local, "report", "durations", "--compare", "next"],
            2,
        ),
        (
            vec![
                "--local",
                local,
                "report",
                "durations",
                "--compare",
                "previous",
                "--max-regression",
                "p90=1e400%",
            ],
            2,
        ),
        (
            vec![
                "--local",
                local,
                "report",
                "durations",
                "--compare",
                "previous",
                "--since",
                "1970-01-02",
            ],
            2,
        ),
        (
            vec!["--local", local, "audit", "--max-regression", "p90="],
            2,
        ),
        (
            vec![
                "--local",
                local,
                "audit",
                "--max-regression",
                "default",
                "--since",
                "1970-01-01T00:00:01Z",
            ],
            2,
        ),
        (vec!["--local", local, "digest", "--format", "csv"], 2),
        (vec!["--local", local, "digest", "--since", "-1d"], 2),
        (vec!["--local", local, "doctor", "--silence-factor=-1"], 2),
        (
            vec!["--local", local, "doctor", "--silence-factor", "inf"],
            2,
        ),
        (vec!["--local", local, "doctor", "--format", "csv"], 2),
        (
            vec![
                "--local",
                local,
                "dashboard",
                "--out",
                out,
                "--format",
                "json",
            ],
            2,
        ),
        (vec!["--local", local, "dashboard"], 2),
        (
            vec![
                "replay-errors",
                "--from",
                "/nonexistent/dir",
                "--since",
                "10000-01-01",
            ],
            2,
        ),
        (
            vec!["replay-errors", "--from", local, "--table", "nosuch"],
            2,
        ),
        (vec!["migrate-legacy", "--from", "s3://"], 2),
        (
            vec!["migrate-legacy", "--from", "/nonexistent/old", "--out", out],
            0,
        ),
        (vec!["completions", "tcsh"], 2),
        (
            vec!["--local", local, "report", "failures", "--max-scan", "lots"],
            2,
        ),
        (
            vec!["--local", local, "report", "failures", "--engine", "presto"],
            2,
        ),
        (
            vec![
                "--local",
                local,
                "--engine",
                "athena",
                "report",
                "failures",
                "--max-scan",
                "1GB",
            ],
            2,
        ),
    ];
    for (args, want) in &cases {
        let o = Command::new(BIN)
            .args(args)
            .env("XDG_CONFIG_HOME", "/nonexistent/cplogs-test-config")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("CPLOGS_LOCAL")
            .env_remove("CPLOGS_CONFIG")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        let code = o.status.code();
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        assert!(
            code.is_some_and(|c| DOCUMENTED.contains(&c)),
            "{args:?}: exit {code:?} is not documented: {err}"
        );
        assert_eq!(code, Some(*want), "{args:?}: {err}");
        if *want == 2 {
            assert!(err.contains("error"), "{args:?} says nothing: {err}");
        }
    }
}
