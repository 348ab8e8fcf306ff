//! The HTML dashboard in a real browser: Debian's `chromium`, headless, loads the page
//! written from deterministic demo data and must log no console message (the page has
//! no script, so any message is a refused load or an error), the page must not try a
//! network request (its Content-Security-Policy turns any attempt into a console
//! error, and a control page proves that such an attempt is caught), its screenshot
//! must not be blank, and the numbers in its tables (as the browser parsed them,
//! `--dump-dom`) must equal the JSON reports for the same data and window. Without
//! chromium the test fails: `.ci/run` installs it. `CPLOGS_UPDATE_DOC=1` copies the
//! screenshot to doc/dashboard.png.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::common::text;

const SINCE: &str = "2026-10-22";
const UNTIL: &str = "2026-11-21";
const NOW: &str = "2026-11-21T00:00:00Z";

/// Runs cplogs hermetically and requires success.
fn cplogs(args: &[&str]) -> std::process::Output {
    let out = crate::common::cli::cplogs(args);
    assert!(
        out.status.success(),
        "cplogs {args:?}: {}",
        text(&out.stderr)
    );
    out
}

fn chromium() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("chromium"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "chromium is not installed: the dashboard's browser test needs it \
             (`apt-get install -y chromium`; .ci/run installs it)"
        )
    })
}

/// Runs headless chromium on `page` with `extra` flags, at most a minute; returns
/// stdout and the console messages it logged.
fn browse(page: &Path, profile: &Path, extra: &[&str]) -> (String, Vec<String>) {
    let mut child = Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Any name resolves to nothing: a request that got past the CSP fails.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read both pipes on threads so a full pipe never stalls the browser.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium exited with {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 60s on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let stdout = out.join().unwrap();
    let stderr = err.join().unwrap();
    // `[pid:tid:time:INFO:CONSOLE:1] "message", source: …`: what the page logged,
    // including every load the CSP refused and every failed request.
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("net::ERR_"))
        .map(str::to_owned)
        .collect();
    (stdout, console)
}

/// The pixels of an 8-bit RGB or RGBA PNG (what chromium writes), as RGB.
fn png_pixels(bytes: &[u8]) -> (usize, usize, Vec<[u8; 3]>) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let (mut w, mut h, mut channels) = (0usize, 0usize, 0usize);
    let mut idat = Vec::new();
    let mut at = 8;
    while at + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let kind = &bytes[at + 4..at + 8];
        let data = &bytes[at + 8..at + 8 + len];
        match kind {
            b"IHDR" => {
                w = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                h = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                assert_eq!(data[8], 8, "bit depth");
                assert_eq!(data[12], 0, "interlaced");
                channels = match data[9] {
                    2 => 3,
                    6 => 4,
                    t => panic!("PNG colour type {t}"),
                };
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        at += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .unwrap();
    let stride = w * channels;
    let mut prev = vec![0u8; stride];
    let mut pixels = Vec::with_capacity(w * h);
    for y in 0..h {
        let line = &raw[y * (stride + 1)..(y + 1) * (stride + 1)];
        let mut cur = line[1..].to_vec();
        for i in 0..stride {
            let a = if i >= channels { cur[i - channels] } else { 0 };
            let b = prev[i];
            let c = if i >= channels { prev[i - channels] } else { 0 };
            cur[i] = cur[i].wrapping_add(match line[0] {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("PNG filter {f}"),
            });
        }
        for px in cur.chunks(channels) {
            pixels.push([px[0], px[1], px[2]]);
        }
        prev = cur;
    }
    (w, h, pixels)
}

/// `&amp;` and friends, as chromium serializes text and attributes.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Text without its tags.
fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
}

/// The contents of each `<tag …>…</tag>` in `s` (no nesting of the same tag).
fn elements<'a>(s: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        // `<th` must not match `<thead`.
        if !after.starts_with(['>', ' ']) {
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        let Some(end) = after.find(&close) else { break };
        out.push(&after[gt + 1..end]);
        rest = &after[end + close.len()..];
    }
    out
}

/// A table of the page: its `data-section`, `data-pipeline`, header and cells.
#[derive(Debug)]
struct Table {
    section: String,
    pipeline: Option<String>,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn tables(dom: &str) -> Vec<Table> {
    let mut out = Vec::new();
    let mut rest = dom;
    while let Some(i) = rest.find("<table ") {
        let after = &rest[i..];
        let end = after.find("</table>").expect("an unclosed table");
        let tag = &after[..after.find('>').unwrap()];
        let attr = |name: &str| {
            let key = format!("{name}=\"");
            tag.find(&key).map(|a| {
                let v = &tag[a + key.len()..];
                unescape(&v[..v.find('"').unwrap()])
            })
        };
        let body = &after[..end];
        let header = elements(body, "th").into_iter().map(strip_tags).collect();
        let tbody = elements(body, "tbody").first().copied().unwrap_or("");
        let rows = elements(tbody, "tr")
            .into_iter()
            .map(|r| elements(r, "td").into_iter().map(strip_tags).collect())
            .collect();
        out.push(Table {
            section: attr("data-section").expect("a table without data-section"),
            pipeline: attr("data-pipeline"),
            header,
            rows,
        });
        rest = &after[end..];
    }
    out
}

/// The JSON value a cell shows: NULL as empty, numbers compared as numbers.
fn same(cell: &str, v: &Json) -> bool {
    match v {
        Json::Null => cell.is_empty(),
        Json::String(s) => cell == s,
        Json::Number(n) => cell.parse::<f64>().ok() == n.as_f64(),
        Json::Bool(b) => cell == b.to_string(),
        _ => false,
    }
}

fn assert_table_equals_json(t: &Table, result: &Json, what: &str) {
    let columns: Vec<&str> = result["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(t.header, columns, "{what}: columns");
    let rows = result["rows"].as_array().unwrap();
    assert_eq!(t.rows.len(), rows.len(), "{what}: row count");
    for (i, (cells, row)) in t.rows.iter().zip(rows).enumerate() {
        for (c, cell) in columns.iter().zip(cells) {
            assert!(
                same(cell, &row[*c]),
                "{what}: row {i} column {c}: page shows {cell:?}, JSON has {}",
                row[*c]
            );
        }
    }
}

fn report_json(dir: &str, name: &str, extra: &[&str]) -> Json {
    let mut args = vec![
        "--local", dir, "report", name, "--since", SINCE, "--until", UNTIL, "--now", NOW,
        "--format", "json",
    ];
    args.extend_from_slice(extra);
    serde_json::from_slice(&cplogs(&args).stdout).unwrap()
}

#[test]
fn the_dashboard_in_a_headless_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("logs");
    let data_s = data.to_str().unwrap();
    cplogs(&[
        "demo",
        "--out",
        data_s,
        "--end",
        "2026-11-20",
        "--seed",
        "7",
    ]);
    let page = tmp.path().join("dashboard.html");
    let out = cplogs(&[
        "--local",
        data_s,
        "dashboard",
        "--out",
        page.to_str().unwrap(),
        "--since",
        SINCE,
        "--until",
        UNTIL,
        "--now",
        NOW,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dashboard: wrote"), "{stderr}");
    let html = std::fs::read_to_string(&page).unwrap();
    eprintln!("dashboard of 20 pipelines x 30 days: {} bytes", html.len());
    assert!(html.len() < 2_000_000, "{} bytes", html.len());
    // Nothing in the page names anything to load: no script, stylesheet, image,
    // frame or font source, and the CSP forbids whatever might slip through.
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src &#39;none&#39;"
    ));
    for needle in [
        "<script", "<link", " src=", "url(", "@import", "<iframe", "<object",
    ] {
        assert!(!html.contains(needle), "the page holds {needle}");
    }

    // The control: a page that tries to load from the network under the same CSP
    // must be caught, or the checks below prove nothing.
    let control = tmp.path().join("control.html");
    std::fs::write(
        &control,
        format!(
            "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"{}\"></head>\
             <body><img src=\"http://example.com/x.png\"></body></html>",
            cplogs::output::html::CSP
        ),
    )
    .unwrap();
    let (_, console) = browse(&control, &tmp.path().join("p0"), &["--dump-dom"]);
    assert!(
        console.iter().any(|l| l.contains("example.com")),
        "a refused load must show as a console message: {console:?}"
    );

    // A screenshot that is not blank, and no console message while it loads.
    let shot = tmp.path().join("dashboard.png");
    let (_, console) = browse(
        &page,
        &tmp.path().join("p1"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,2000",
            "--hide-scrollbars",
        ],
    );
    assert!(console.is_empty(), "console messages: {console:#?}");
    let (w, h, pixels) = png_pixels(&std::fs::read(&shot).unwrap());
    assert_eq!((w, h), (1400, 2000));
    let colours: HashSet<[u8; 3]> = pixels.iter().copied().collect();
    let inked = pixels.iter().filter(|p| **p != [255, 255, 255]).count();
    assert!(colours.len() > 100, "{} distinct colours", colours.len());
    assert!(
        inked * 10 > pixels.len(),
        "{inked} of {} pixels not white",
        pixels.len()
    );
    if std::env::var_os("CPLOGS_UPDATE_DOC").is_some() {
        let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/dashboard.png");
        std::fs::copy(&shot, doc).unwrap();
    }

    // The numbers: every table as the browser parsed it equals the JSON report.
    let (dom, console) = browse(&page, &tmp.path().join("p2"), &["--dump-dom"]);
    assert!(console.is_empty(), "console messages: {console:#?}");
    let page_tables = tables(&dom);
    let reports: Vec<(&str, Json)> = ["failures", "durations", "flaky", "dora", "trends", "stuck"]
        .into_iter()
        .map(|r| (r, report_json(data_s, r, &[])))
        .collect();
    let mut compared = 0;
    for (_, doc) in &reports {
        for result in doc["results"].as_array().unwrap() {
            let name = result["name"].as_str().unwrap();
            let t = page_tables
                .iter()
                .find(|t| t.section == name)
                .unwrap_or_else(|| panic!("no table of {name} in the page"));
            assert!(!t.rows.is_empty() || name == "stuck", "{name}: no rows");
            assert_table_equals_json(t, result, name);
            compared += 1;
        }
    }
    assert_eq!(
        compared, 7,
        "failures (2 sections), durations, flaky, dora, trends, stuck"
    );
    // Against the previous period: the same rows as `report NAME --compare previous`.
    for (report, section) in [
        ("failures", "failures_compared"),
        ("durations", "durations_compared"),
    ] {
        let doc = report_json(data_s, report, &["--compare", "previous"]);
        let t = page_tables
            .iter()
            .find(|t| t.section == section)
            .unwrap_or_else(|| panic!("no table {section} in the page"));
        assert!(!t.rows.is_empty(), "{section}: no rows");
        assert_table_equals_json(t, &doc["results"][0], section);
    }
    let timelines: Vec<&Table> = page_tables
        .iter()
        .filter(|t| t.section == "timeline")
        .collect();
    assert_eq!(timelines.len(), 20, "one timeline per pipeline");
    for t in timelines {
        let p = t.pipeline.as_deref().unwrap();
        let doc = report_json(data_s, "timeline", &["--pipeline", p]);
        assert_table_equals_json(t, &doc["results"][0], &format!("timeline of {p}"));
    }

    // One pipeline, and a window without data: a page all the same.
    let one = tmp.path().join("one.html");
    let empty = tmp.path().join("empty.html");
    for (file, extra) in [
        (&one, ["--pipeline", "orders-api"]),
        (&empty, ["--until", "2020-01-02"]),
    ] {
        let mut args = vec![
            "--local",
            data_s,
            "dashboard",
            "--out",
            file.to_str().unwrap(),
            "--since",
            "2020-01-01",
            "--now",
            NOW,
        ];
        if extra[0] == "--pipeline" {
            args[6] = SINCE;
        }
        args.extend(extra);
        cplogs(&args);
    }
    let one = std::fs::read_to_string(&one).unwrap();
    assert_eq!(one.matches("<table data-section=\"timeline\"").count(), 1);
    assert!(!one.contains("data-pipeline=\"pricing-api\""));
    let empty = std::fs::read_to_string(&empty).unwrap();
    assert!(empty.contains("No execution started in the window."));
    assert!(empty.ends_with("</html>\n"));

    // One report as a page, in the browser too.
    let single = tmp.path().join("failures.html");
    let out = cplogs(&[
        "--local", data_s, "report", "failures", "--since", SINCE, "--until", UNTIL, "--now", NOW,
        "--format", "html",
    ]);
    std::fs::write(&single, &out.stdout).unwrap();
    let (dom, console) = browse(&single, &tmp.path().join("p3"), &["--dump-dom"]);
    assert!(console.is_empty(), "console messages: {console:#?}");
    let doc = report_json(data_s, "failures", &[]);
    let single_tables = tables(&dom);
    assert_eq!(single_tables.len(), 2);
    for (t, result) in single_tables.iter().zip(doc["results"].as_array().unwrap()) {
        assert_table_equals_json(
            t,
            result,
            &format!("report failures --format html: {}", t.section),
        );
    }
}
