//! Hand-made SVG charts for the HTML output, written as text: daily bars with a rate
//! line, percentile lines, horizontal bars and a Gantt chart. No chart library on
//! purpose: nothing to embed or keep up to date, no build step, no script in the page
//! (its Content-Security-Policy can forbid scripts), and a chart is a few `<path>`
//! elements, so a 20-pipeline dashboard stays small. Colours come from the page's CSS
//! classes; every chart has a `<title>` and the page a table of the same numbers.

use std::fmt::Write as _;

use super::html::escape;

/// One day of one pipeline's series.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Day {
    /// Executions with an outcome that day.
    pub executions: f64,
    /// Of which FAILED.
    pub failed: f64,
    /// failed / executions.
    pub rate: Option<f64>,
    /// p50 duration of the succeeded ones, seconds.
    pub p50: Option<f64>,
    /// p90 duration, seconds.
    pub p90: Option<f64>,
}

const W: f64 = 420.0;
const H: f64 = 110.0;
const LEFT: f64 = 46.0;
const RIGHT: f64 = 34.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 16.0;

/// `3s`, `12m 3s`, `4h 10m`, `2d 3h`.
pub fn human_seconds(s: f64) -> String {
    if !s.is_finite() {
        return String::new();
    }
    let s = s.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

/// `2026-11-05` → `11-05`.
fn short_day(day: &str) -> &str {
    day.get(5..10).unwrap_or(day)
}

fn open(out: &mut String, w: f64, h: f64, label: &str) {
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img"><title>{}</title>"#,
        escape(label)
    );
}

fn x_labels(out: &mut String, days: &[String], plot_w: f64) {
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        let y = H - 4.0;
        let _ = write!(
            out,
            r#"<text x="{LEFT}" y="{y}" class="ax">{}</text><text x="{}" y="{y}" class="ax" text-anchor="end">{}</text>"#,
            escape(short_day(first)),
            LEFT + plot_w,
            escape(short_day(last))
        );
    }
}

fn frame(out: &mut String, plot_w: f64) {
    let _ = write!(
        out,
        r#"<path class="gr" d="M{LEFT} {TOP}h{plot_w}M{LEFT} {b}h{plot_w}"/>"#,
        b = TOP + (H - TOP - BOTTOM)
    );
}

/// A polyline through the points that have a value, broken where one is missing.
fn line_path(values: &[Option<f64>], x: impl Fn(usize) -> f64, y: impl Fn(f64) -> f64) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        match v.filter(|v| v.is_finite()) {
            Some(v) => {
                let _ = write!(
                    d,
                    "{}{:.1} {:.1}",
                    if pen_down { "L" } else { "M" },
                    x(i),
                    y(v)
                );
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    d
}

/// Daily executions as bars (the failed part in red) with the failure rate as a line
/// on a 0-100% scale; `days` and `series` are aligned.
pub fn executions_chart(days: &[String], series: &[Day], label: &str) -> String {
    let n = days.len().max(1) as f64;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let max = series
        .iter()
        .map(|d| d.executions)
        .filter(|v| v.is_finite())
        .fold(1.0_f64, f64::max);
    let bw = plot_w / n;
    let bar = |v: f64| (v.max(0.0) / max * plot_h).min(plot_h);
    let mut all = String::new();
    let mut failed = String::new();
    for (i, d) in series.iter().enumerate() {
        let x = LEFT + i as f64 * bw + bw * 0.1;
        let w = (bw * 0.8).max(0.5);
        let h = bar(d.executions);
        if h > 0.0 {
            let _ = write!(
                all,
                "M{x:.1} {:.1}h{w:.1}v{h:.1}h-{w:.1}z",
                TOP + plot_h - h
            );
        }
        let hf = bar(d.failed);
        if hf > 0.0 {
            let _ = write!(
                failed,
                "M{x:.1} {:.1}h{w:.1}v{hf:.1}h-{w:.1}z",
                TOP + plot_h - hf
            );
        }
    }
    let rates: Vec<Option<f64>> = series.iter().map(|d| d.rate).collect();
    let rate = line_path(
        &rates,
        |i| LEFT + (i as f64 + 0.5) * bw,
        |r| TOP + plot_h - r.clamp(0.0, 1.0) * plot_h,
    );
    let mut out = String::new();
    open(&mut out, W, H, label);
    frame(&mut out, plot_w);
    let _ = write!(
        out,
        r#"<path class="ex" d="{all}"/><path class="fa" d="{failed}"/><path class="rt" d="{rate}"/>"#
    );
    let _ = write!(
        out,
        r#"<text x="{x}" y="10" class="ax" text-anchor="end">{max}</text><text x="{x}" y="{b}" class="ax" text-anchor="end">0</text><text x="{r}" y="10" class="ax rl">100%</text><text x="{r}" y="{b}" class="ax rl">0%</text>"#,
        x = LEFT - 3.0,
        r = LEFT + plot_w + 3.0,
        b = TOP + plot_h,
    );
    x_labels(&mut out, days, plot_w);
    out.push_str("</svg>");
    out
}

/// p50 and p90 duration per day as two lines, seconds on the y axis.
pub fn durations_chart(days: &[String], series: &[Day], label: &str) -> String {
    let n = days.len().max(1) as f64;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let max = series
        .iter()
        .flat_map(|d| [d.p50, d.p90])
        .flatten()
        .filter(|v| v.is_finite())
        .fold(1.0_f64, f64::max);
    let bw = plot_w / n;
    let x = |i: usize| LEFT + (i as f64 + 0.5) * bw;
    let y = |v: f64| TOP + plot_h - (v.max(0.0) / max * plot_h).min(plot_h);
    let p50: Vec<Option<f64>> = series.iter().map(|d| d.p50).collect();
    let p90: Vec<Option<f64>> = series.iter().map(|d| d.p90).collect();
    let mut out = String::new();
    open(&mut out, W, H, label);
    frame(&mut out, plot_w);
    let _ = write!(
        out,
        r#"<path class="p9" d="{}"/><path class="p5" d="{}"/>"#,
        line_path(&p90, x, y),
        line_path(&p50, x, y)
    );
    let _ = write!(
        out,
        r#"<text x="{l}" y="10" class="ax" text-anchor="end">{}</text><text x="{l}" y="{b}" class="ax" text-anchor="end">0</text><text x="{r}" y="10" class="ax p9t">p90</text><text x="{r}" y="24" class="ax p5t">p50</text>"#,
        escape(&human_seconds(max)),
        l = LEFT - 3.0,
        r = LEFT + plot_w + 3.0,
        b = TOP + plot_h,
    );
    x_labels(&mut out, days, plot_w);
    out.push_str("</svg>");
    out
}

/// Horizontal bars, one per item: its label, its value on a 0..`max` scale, and the
/// text shown after the bar.
pub fn hbars(items: &[(String, f64, String)], max: f64, label: &str) -> String {
    const ROW: f64 = 18.0;
    const NAME_W: f64 = 200.0;
    const BAR_W: f64 = 300.0;
    let w = NAME_W + BAR_W + 140.0;
    let h = (items.len() as f64 * ROW + 4.0).max(ROW);
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let mut out = String::new();
    open(&mut out, w, h, label);
    let mut d = String::new();
    for (i, (name, v, text)) in items.iter().enumerate() {
        let y = i as f64 * ROW + 2.0;
        let bw = (v.max(0.0) / max * BAR_W).min(BAR_W);
        if bw.is_finite() && bw > 0.0 {
            let _ = write!(d, "M{NAME_W} {y:.1}h{bw:.1}v{:.1}h-{bw:.1}z", ROW - 4.0);
        }
        let _ = write!(
            out,
            r#"<text x="{}" y="{:.1}" class="lb" text-anchor="end">{}</text><text x="{:.1}" y="{:.1}" class="lb">{}</text>"#,
            NAME_W - 6.0,
            y + 12.0,
            escape(&clip(name, 30)),
            NAME_W + bw + 6.0,
            y + 12.0,
            escape(text)
        );
    }
    let _ = write!(out, r#"<path class="fa" d="{d}"/></svg>"#);
    out
}

/// `text` cut to `n` characters with an ellipsis.
fn clip(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(n.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// One bar of a Gantt chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Row label (`Build / CodeBuild #2`).
    pub label: String,
    /// Start, milliseconds since the epoch (NULL: drawn from its end, as a sliver).
    pub start: Option<i64>,
    /// End (NULL while running: drawn to the chart's end).
    pub end: Option<i64>,
    /// Its state: colours the bar.
    pub state: String,
}

/// A Gantt chart: one row per bar over the span of all of them, coloured by state,
/// each with a tooltip.
pub fn gantt(bars: &[Bar], label: &str) -> String {
    const ROW: f64 = 16.0;
    const NAME_W: f64 = 230.0;
    const PLOT_W: f64 = 600.0;
    let w = NAME_W + PLOT_W + 10.0;
    let h = bars.len() as f64 * ROW + 20.0;
    let lo = bars.iter().filter_map(|b| b.start.or(b.end)).min();
    let hi = bars.iter().filter_map(|b| b.end.or(b.start)).max();
    let mut out = String::new();
    open(&mut out, w, h, label);
    if let (Some(lo), Some(hi)) = (lo, hi) {
        // i128: spans between any two i64 times cannot overflow.
        let total = (i128::from(hi) - i128::from(lo)).max(1) as f64;
        let x = |t: i64| NAME_W + ((i128::from(t) - i128::from(lo)) as f64 / total) * PLOT_W;
        for (i, b) in bars.iter().enumerate() {
            let y = i as f64 * ROW;
            let _ = write!(
                out,
                r#"<text x="{}" y="{:.1}" class="lb" text-anchor="end">{}</text>"#,
                NAME_W - 6.0,
                y + 12.0,
                escape(&clip(&b.label, 34))
            );
            let Some(start) = b.start.or(b.end) else {
                continue;
            };
            let end = b.end.unwrap_or(hi).max(start);
            let x0 = x(start);
            let bw = (x(end) - x0).max(2.0);
            let class = match b.state.as_str() {
                "SUCCEEDED" => "ok",
                "FAILED" => "bad",
                "STARTED" | "RESUMED" => "run",
                _ => "oth",
            };
            let secs = (i128::from(end) - i128::from(start)) as f64 / 1000.0;
            let _ = write!(
                out,
                r#"<rect class="{class}" x="{x0:.1}" y="{:.1}" width="{bw:.1}" height="{:.1}"><title>{} — {} {}</title></rect>"#,
                y + 2.0,
                ROW - 4.0,
                escape(&b.label),
                escape(&b.state),
                escape(&human_seconds(secs))
            );
        }
        let y = bars.len() as f64 * ROW + 14.0;
        let _ = write!(
            out,
            r#"<text x="{NAME_W}" y="{y}" class="ax">0s</text><text x="{}" y="{y}" class="ax" text-anchor="end">{}</text>"#,
            NAME_W + PLOT_W,
            escape(&human_seconds(total / 1000.0))
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_survive_empty_and_odd_data() {
        let days: Vec<String> = vec![];
        assert!(executions_chart(&days, &[], "x").ends_with("</svg>"));
        assert!(durations_chart(&days, &[], "x").ends_with("</svg>"));
        let days = vec!["2026-11-01".to_owned(), "2026-11-02".to_owned()];
        let odd = Day {
            executions: f64::NAN,
            failed: f64::INFINITY,
            rate: Some(f64::NAN),
            p50: None,
            p90: Some(-3.0),
        };
        let svg = executions_chart(&days, &[odd, Day::default()], "a<b");
        assert!(
            svg.contains("<title>a&lt;b</title>") && !svg.contains("NaN"),
            "{svg}"
        );
        assert!(!durations_chart(&days, &[odd, odd], "x").contains("NaN"));
        assert!(hbars(&[("<p>".into(), f64::NAN, "".into())], 0.0, "x").contains("&lt;p&gt;"));
        let bars = [
            Bar {
                label: "a".into(),
                start: Some(i64::MIN),
                end: None,
                state: "STARTED".into(),
            },
            Bar {
                label: "b".into(),
                start: None,
                end: Some(i64::MAX),
                state: "<x>".into(),
            },
            Bar {
                label: "c".into(),
                start: None,
                end: None,
                state: "FAILED".into(),
            },
        ];
        let g = gantt(&bars, "t");
        assert!(g.contains("&lt;x&gt;") && !g.contains("NaN"), "{g}");
        assert!(gantt(&[], "t").ends_with("</svg>"));
        assert_eq!(human_seconds(3725.0), "1h 2m");
        assert_eq!(human_seconds(f64::NAN), "");
    }
}
