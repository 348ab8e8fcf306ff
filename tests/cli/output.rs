//! Output people read, paste and load into their shell, end to end on demo data:
//! tables that fit a real terminal, JSON in column order, --limit and --section, report
//! options that do not apply, --help examples, --compare previous, audit
//! --max-regression, the digest, shell completions and the man page.

use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;
use unicode_width::UnicodeWidthStr;

use crate::common::cli::{cplogs, cplogs_env};
use crate::common::text;

/// Twenty days of demo history for 8 pipelines ending 2026-11-20; made once.
fn demo() -> &'static str {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let o = cplogs(&[
            "demo",
            "--out",
            dir.path().to_str().unwrap(),
            "--pipelines",
            "8",
            "--days",
            "20",
            "--end",
            "2026-11-20",
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        dir
    });
    dir.path().to_str().unwrap()
}

const WINDOW: [&str; 6] = [
    "--since",
    "2026-11-11",
    "--until",
    "2026-11-21",
    "--now",
    "2026-11-21T00:00:00Z",
];

fn report(name: &str, extra: &[&str]) -> Output {
    let mut args = vec!["--local", demo(), "report", name];
    args.extend(WINDOW);
    args.extend(extra);
    cplogs(&args)
}

fn widest_line(s: &str) -> usize {
    s.lines().map(UnicodeWidthStr::width).max().unwrap_or(0)
}

/// The report as a terminal of `cols` columns shows it: run under `script`, which
/// gives cplogs a real pseudo-terminal of that width.
fn on_a_terminal(cols: u16, args: &[&str]) -> String {
    let bin = env!("CARGO_BIN_EXE_cplogs");
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let inner = format!(
        "stty cols {cols} rows 200; XDG_CONFIG_HOME=/nonexistent XDG_CACHE_HOME=/dev/null/c \
         '{bin}' {} 2>/dev/null",
        quoted.join(" ")
    );
    let o = Command::new("script")
        .args(["-q", "-e", "-c", &inner, "/dev/null"])
        .env_remove("COLUMNS")
        .output()
        .expect("run script");
    assert!(o.status.success(), "{}", text(&o.stderr));
    text(&o.stdout).replace("\r\n", "\n")
}

#[test]
fn tables_fit_the_terminal_and_wide_shows_cells_whole() {
    let dir = demo();
    let mut args = vec!["--local", dir, "report", "failures"];
    args.extend(WINDOW);
    let shown = on_a_terminal(80, &args);
    assert!(shown.contains("failures_actions"), "{shown}");
    assert!(
        widest_line(&shown) <= 80,
        "wider than the terminal:\n{shown}"
    );
    assert!(
        shown.contains('…'),
        "long URLs are cut with an ellipsis:\n{shown}"
    );
    // 20 actions take about 20 lines, not a wrapped URL's 15 lines each.
    assert!(
        shown.lines().count() < 60,
        "{} lines",
        shown.lines().count()
    );
    let mut wide = args.clone();
    wide.push("--wide");
    let whole = on_a_terminal(80, &wide);
    assert!(widest_line(&whole) > 80);
    assert!(whole.contains("https://console.aws.amazon.com/"), "{whole}");
    // Off a terminal: whole cells, unless COLUMNS says otherwise.
    let piped = text(&cplogs(&args).stdout);
    assert!(widest_line(&piped) > 120);
    let o = cplogs_env(&args, &[("COLUMNS", "100")]);
    assert!(widest_line(&text(&o.stdout)) <= 100);
}

#[test]
fn json_keeps_column_order_and_limit_caps_every_section() {
    let o = report("failures", &["--format", "json", "--limit", "2"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let raw = text(&o.stdout);
    let doc: Value = serde_json::from_str(&raw).unwrap();
    for r in doc["results"].as_array().unwrap() {
        assert!(r["rows"].as_array().unwrap().len() <= 2);
    }
    // The first row object lists its keys in the columns' order (not alphabetically).
    let row = raw.find("\"rows\"").unwrap();
    let at = |k: &str| raw[row..].find(&format!("\"{k}\"")).unwrap();
    assert!(at("pipeline") < at("executions"));
    assert!(at("executions") < at("failed"));
    assert!(at("failed") < at("failure_rate"));
}

#[test]
fn csv_carries_one_section_and_says_which_are_left_out() {
    let o = report("failures", &["--format", "csv"]);
    assert!(o.status.success());
    let out = text(&o.stdout);
    assert!(
        out.starts_with("pipeline,executions,failed,failure_rate\n"),
        "{out}"
    );
    assert!(!out.contains("error_codes"), "one table per file: {out}");
    assert!(text(&o.stderr).contains("left out: failures_actions"));
    let o = report(
        "failures",
        &["--format", "csv", "--section", "failures_actions"],
    );
    assert!(text(&o.stdout).starts_with("pipeline,stage,action,failures,error_codes"));
    let o = report("failures", &["--section", "nosuch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("failures, failures_actions"));
}

#[test]
fn options_that_do_not_apply_are_refused_naming_the_reports_that_take_them() {
    for (name, extra, says) in [
        ("failures", &["--by", "stage"][..], "durations"),
        ("durations", &["--execution-id", "x-1"], "timeline"),
        ("executions", &["--older-than", "2h"], "stuck"),
        ("flaky", &["--lookback", "5d"], "timeline, stuck"),
        (
            "stuck",
            &["--compare", "previous"],
            "failures, durations, dora",
        ),
    ] {
        let o = report(name, extra);
        assert_eq!(o.status.code(), Some(2), "{name} {extra:?}");
        let err = text(&o.stderr);
        assert!(err.contains(says), "{name} {extra:?}: {err}");
    }
}

#[test]
fn every_command_shows_examples_and_demo_names_no_vanishing_path() {
    let help = text(&cplogs(&["--help"]).stdout);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  ") || l.is_empty())
        // A command's line; its description's wrapped lines are indented further.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 10, "{commands:?}");
    for c in commands {
        let h = text(&cplogs(&[c, "--help"]).stdout);
        let examples = h
            .lines()
            .skip_while(|l| !l.starts_with("Examples:"))
            .filter(|l| l.contains("cplogs "))
            .count();
        assert!(examples >= 2, "{c} --help shows {examples} examples:\n{h}");
    }
    let o = cplogs(&["report", "failures", "--demo"]);
    assert!(o.status.success());
    let err = text(&o.stderr);
    assert!(
        !err.contains("/tmp") && !err.contains("cplogs-demo-"),
        "{err}"
    );
    assert!(err.contains("cplogs demo --out DIR"), "{err}");
}

#[test]
fn compare_previous_adds_the_previous_period_and_marks_regressions() {
    let o = report("durations", &["--compare", "previous", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = &doc["results"][0];
    let names: Vec<&str> = r["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for c in ["p90_s", "p90_s_prev", "p90_s_change_pct", "regressed"] {
        assert!(names.contains(&c), "{names:?}");
    }
    // The previous values are the previous period's own report.
    let mut before = vec!["--local", demo(), "report", "durations", "--format", "json"];
    before.extend([
        "--since",
        "2026-11-01",
        "--until",
        "2026-11-11",
        "--now",
        "2026-11-21",
    ]);
    let prev: Value = serde_json::from_slice(&cplogs(&before).stdout).unwrap();
    let prev_rows = prev["results"][0]["rows"].as_array().unwrap();
    let mut regressed = 0;
    for row in r["rows"].as_array().unwrap() {
        let p = prev_rows
            .iter()
            .find(|p| p["pipeline"] == row["pipeline"])
            .unwrap();
        assert_eq!(row["p90_s_prev"], p["p90_s"]);
        let now = row["p90_s"].as_f64().unwrap();
        let was = p["p90_s"].as_f64().unwrap();
        let change = ((now - was) / was * 1000.0).round() / 10.0;
        assert_eq!(row["p90_s_change_pct"].as_f64().unwrap(), change);
        assert_eq!(row["regressed"], Value::Bool(change > 20.0));
        regressed += usize::from(change > 20.0);
    }
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!("{regressed} row(s) regressed")),
        "{err}"
    );
    // audit: a zero threshold catches any rise, a huge one none.
    let mut audit = vec!["--local", demo(), "audit"];
    audit.extend(WINDOW);
    let mut strict = audit.clone();
    strict.extend([
        "--max-regression",
        "p90=0%",
        "--max-regression",
        "failure-rate=0",
    ]);
    assert_eq!(cplogs(&strict).status.code(), Some(3));
    let mut lax = audit.clone();
    lax.extend([
        "--max-regression",
        "p90=1000%",
        "--max-regression",
        "failure-rate=100",
    ]);
    assert_eq!(
        cplogs(&lax).status.code(),
        Some(0),
        "{}",
        text(&cplogs(&lax).stderr)
    );
    let mut bad = audit;
    bad.extend(["--max-regression", "p99=5"]);
    assert_eq!(cplogs(&bad).status.code(), Some(2));
}

#[test]
fn the_digest_sums_up_the_period_as_the_reports_do() {
    let mut args = vec!["--local", demo(), "digest"];
    args.extend(WINDOW);
    let o = cplogs(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let md = text(&o.stdout);
    assert!(
        md.starts_with("### CodePipeline digest, 2026-11-11 to 2026-11-21"),
        "{md}"
    );
    for heading in [
        "**Slowest pipelines (p90)**",
        "**Top failing actions**",
        "**New flaky actions**",
        "**Stuck executions**",
    ] {
        assert!(md.contains(heading), "{md}");
    }
    let mut json = args.clone();
    json.extend(["--format", "json"]);
    let d: Value = serde_json::from_slice(&cplogs(&json).stdout).unwrap();
    let f: Value =
        serde_json::from_slice(&report("failures", &["--format", "json"]).stdout).unwrap();
    let rows = f["results"][0]["rows"].as_array().unwrap();
    let total: f64 = rows.iter().map(|r| r["executions"].as_f64().unwrap()).sum();
    let failed: f64 = rows.iter().map(|r| r["failed"].as_f64().unwrap()).sum();
    assert_eq!(d["executions"].as_f64().unwrap(), total);
    assert_eq!(d["failed"].as_f64().unwrap(), failed);
    assert!(
        md.contains(&format!("**{total} executions**, {failed} failed")),
        "{md}"
    );
    assert!(d["slowest"].as_array().unwrap().len() <= 5);
    let mut html = args.clone();
    html.extend(["--format", "html"]);
    let page = text(&cplogs(&html).stdout);
    assert!(page.starts_with("<!doctype html>"), "{page:.200}");
    assert!(
        page.contains(&format!("<b>{total} executions</b>, {failed} failed")),
        "{page}"
    );
    assert!(
        page.contains("<a href=\"https://"),
        "links to the failing actions"
    );
    let mut csv = args.clone();
    csv.extend(["--format", "csv"]);
    assert_eq!(cplogs(&csv).status.code(), Some(2));
}

#[test]
fn completions_load_in_bash_and_the_man_page_renders() {
    let bin = env!("CARGO_BIN_EXE_cplogs");
    let o = Command::new("bash")
        .args([
            "-c",
            &format!("source <('{bin}' completions bash) && complete -p cplogs"),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("cplogs"), "{}", text(&o.stdout));
    for (shell, marker) in [
        ("zsh", "#compdef cplogs"),
        ("fish", "complete -c cplogs"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion"),
    ] {
        let out = text(&cplogs(&["completions", shell]).stdout);
        assert!(out.contains(marker), "{shell}: {out:.200}");
        assert!(out.contains("repair-partitions"), "{shell}");
    }
    assert_eq!(cplogs(&["completions", "tcsh"]).status.code(), Some(2));
    // A reader that goes away after one line ends it quietly, not with a panic.
    for cmd in ["completions bash", "man"] {
        let o = Command::new("bash")
            .args([
                "-c",
                &format!("set -o pipefail; '{bin}' {cmd} | head -1 >/dev/null"),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{cmd}: {}", text(&o.stderr));
        assert!(!text(&o.stderr).contains("panicked"), "{cmd}");
    }
    let man = text(&cplogs(&["man"]).stdout);
    assert!(
        man.starts_with(".ie") || man.contains(".TH cplogs"),
        "{man:.200}"
    );
    assert!(man.contains("report") && man.contains("digest"));
}

#[test]
fn config_show_names_the_effective_region_and_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let aws = dir.path().join("config");
    std::fs::write(
        &aws,
        "[default]\nregion = eu-central-1\n[profile ops]\nregion = ap-south-1\n",
    )
    .unwrap();
    let aws = aws.to_str().unwrap();
    let show = |extra: &[(&str, &str)]| {
        let mut env = vec![("AWS_CONFIG_FILE", aws)];
        env.extend(extra);
        let o = cplogs_env(&["config", "show", "--format", "json"], &env);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
        (
            doc["settings"]["region"]["value"].clone(),
            doc["settings"]["region"]["source"].clone(),
        )
    };
    assert_eq!(
        show(&[]),
        ("eu-central-1".into(), "AWS profile default".into())
    );
    assert_eq!(
        show(&[("AWS_PROFILE", "ops")]),
        ("ap-south-1".into(), "AWS profile ops".into())
    );
    assert_eq!(
        show(&[("AWS_REGION", "us-east-2")]),
        ("us-east-2".into(), "environment AWS_REGION".into())
    );
}
