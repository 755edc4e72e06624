//! Charts of the token requests as inline SVG, built on the server so they work with
//! JavaScript off and under the dashboard's CSP (`style-src 'self'`): no `style` attribute or
//! element, colours from presentation attributes and classes that `static/dashboard.css`
//! styles. Each chart carries a `<title>`, `role="img"` and an `aria-label`, and comes with a
//! text summary of its totals, so colour is never the only carrier of a number.
//!
//! Everything here is pure: counts in, markup out. Every text that reaches the markup passes
//! through [`escape`], so the page may print [`Chart::svg`] unescaped.

use std::fmt::Write;

use crate::domain::log::{HourCount, ReasonCount};
use crate::time_util::{Millis, format_millis};

pub const HOUR: Millis = 3_600_000;

/// One hour's token requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hour {
    /// Hours since the Unix epoch (`date / 3_600_000`), UTC.
    pub hour: i64,
    pub successes: i64,
    pub failures: i64,
}

/// A rendered chart: the SVG markup, and the same numbers as a sentence.
#[derive(Debug, Clone)]
pub struct Chart {
    pub svg: String,
    pub summary: String,
}

/// Text for SVG (XML) content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The `hours` hours ending with the one that holds `now`, oldest first, with the counts of
/// `counts` (of kinds `success` and `failure`) in them and zeros elsewhere. Counts outside the
/// window are left out.
pub fn hours(
    counts: &[HourCount],
    now: Millis,
    hours: usize,
    (success, failure): (&str, &str),
) -> Vec<Hour> {
    let last = now.div_euclid(HOUR);
    let first = last - hours as i64 + 1;
    let mut series: Vec<Hour> = (first..=last)
        .map(|hour| Hour {
            hour,
            successes: 0,
            failures: 0,
        })
        .collect();
    for c in counts {
        let Some(slot) = usize::try_from(c.hour - first)
            .ok()
            .and_then(|i| series.get_mut(i))
        else {
            continue;
        };
        if c.kind == success {
            slot.successes += c.count;
        } else if c.kind == failure {
            slot.failures += c.count;
        }
    }
    series
}

/// `[since, until)` of the window [`hours`] covers: whole hours, the current one included.
pub fn window(now: Millis, hours: usize) -> (Millis, Millis) {
    let last = now.div_euclid(HOUR);
    ((last - hours as i64 + 1) * HOUR, (last + 1) * HOUR)
}

// The hourly chart's geometry, in SVG user units (the SVG scales to its box).
const WIDTH: i64 = 720;
const HEIGHT: i64 = 220;
const LEFT: i64 = 44;
const RIGHT: i64 = 24;
const TOP: i64 = 12;
const BOTTOM: i64 = 28;

/// `2026-12-01 14:00 UTC`
fn hour_label(hour: i64) -> String {
    let full = format_millis(hour * HOUR);
    format!("{} {} UTC", &full[..10], &full[11..16])
}

/// A chart's opening tag and title: every text escaped, the summary as its accessible name, the
/// totals as data attributes.
fn svg_start(
    id: &str,
    height: i64,
    title: &str,
    summary: &str,
    (ok, failed): (i64, i64),
) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" id="{}" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{}" data-successes="{ok}" data-failures="{failed}"><title>{}</title>"#,
        escape(id),
        escape(&format!("{title}. {summary}")),
        escape(title),
    )
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Requests per hour, successes and failures stacked, over `series` (oldest first). `id`
/// names the chart's elements (unique on the page); `period` says which hours, in words
/// ("the last 24 hours").
pub fn hourly(id: &str, title: &str, period: &str, series: &[Hour]) -> Chart {
    let ok: i64 = series.iter().map(|h| h.successes).sum();
    let failed: i64 = series.iter().map(|h| h.failures).sum();
    let total = ok + failed;
    let busiest = series
        .iter()
        .filter(|h| h.successes + h.failures > 0)
        .max_by_key(|h| (h.successes + h.failures, -h.hour));
    let summary = match busiest {
        None => format!("No token requests in {period}."),
        Some(b) => format!(
            "{} in {period}: {} succeeded, {} failed. Busiest hour: {} ({}).",
            plural(total, "token request", "token requests"),
            ok,
            failed,
            hour_label(b.hour),
            b.successes + b.failures,
        ),
    };
    let mut svg = svg_start(id, HEIGHT, title, &summary, (ok, failed));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let base = TOP + plot_h;
    let top = series
        .iter()
        .map(|h| h.successes + h.failures)
        .max()
        .unwrap_or(0)
        .max(1);
    // Axis: the baseline, and the highest value at the top.
    let _ = write!(
        svg,
        r##"<line class="axis" x1="{LEFT}" y1="{base}" x2="{}" y2="{base}" stroke="#5d6675"/><text class="tick" x="{}" y="{}" text-anchor="end" fill="#5d6675">{top}</text><text class="tick" x="{}" y="{base}" text-anchor="end" fill="#5d6675">0</text>"##,
        WIDTH - RIGHT,
        LEFT - 6,
        TOP + 10,
        LEFT - 6,
    );
    if total == 0 {
        let _ = write!(
            svg,
            r##"<text class="empty" x="{}" y="{}" text-anchor="middle" fill="#5d6675">{}</text>"##,
            LEFT + plot_w / 2,
            TOP + plot_h / 2,
            escape(&format!("No token requests in {period}")),
        );
    }
    let n = series.len().max(1) as i64;
    // Bars are placed in thousandths of a unit so 168 of them still fill the width evenly.
    let slot = plot_w * 1000 / n;
    let gap = if slot > 6000 { 2000 } else { slot / 6 };
    let units = |thousandths: i64| format!("{}.{:03}", thousandths / 1000, thousandths % 1000);
    // A tick label every `every` bars: every 6 hours of a day, every midnight of a week.
    let every: i64 = if series.len() > 48 { 24 } else { 6 };
    for (i, h) in series.iter().enumerate() {
        let x = LEFT * 1000 + slot * i as i64;
        let width = slot - gap;
        let label = hour_label(h.hour);
        let ok_h = h.successes * plot_h * 1000 / top;
        let fail_h = h.failures * plot_h * 1000 / top;
        let _ = write!(svg, r#"<g class="bar" data-hour="{}">"#, escape(&label));
        if h.successes > 0 {
            let _ = write!(
                svg,
                r##"<rect class="ok" x="{}" y="{}" width="{}" height="{}" fill="#1d7a3e" data-count="{}"><title>{}</title></rect>"##,
                units(x),
                units(base * 1000 - ok_h),
                units(width),
                units(ok_h),
                h.successes,
                escape(&format!(
                    "{label}: {}",
                    plural(h.successes, "success", "successes")
                )),
            );
        }
        if h.failures > 0 {
            let _ = write!(
                svg,
                r##"<rect class="fail" x="{}" y="{}" width="{}" height="{}" fill="#b3261e" data-count="{}"><title>{}</title></rect>"##,
                units(x),
                units(base * 1000 - ok_h - fail_h),
                units(width),
                units(fail_h),
                h.failures,
                escape(&format!(
                    "{label}: {}",
                    plural(h.failures, "failure", "failures")
                )),
            );
        }
        svg.push_str("</g>");
        if h.hour.rem_euclid(every) == 0 {
            let text = if every == 24 {
                label[5..10].to_owned()
            } else {
                label[11..16].to_owned()
            };
            let _ = write!(
                svg,
                r##"<text class="tick" x="{}" y="{}" text-anchor="middle" fill="#5d6675">{}</text>"##,
                units(x + width / 2),
                HEIGHT - 8,
                escape(&text),
            );
        }
    }
    svg.push_str("</svg>");
    Chart { svg, summary }
}

/// One bar of the outcomes chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub label: String,
    pub count: i64,
    pub ok: bool,
}

/// The bars of the outcomes chart from counts by kind and reason: successes first, then each
/// failure reason, most first. A failure without a recorded reason (a count of repeats from one
/// address) is shown as `other`.
pub fn outcomes(counts: &[ReasonCount], (success, failure): (&str, &str)) -> Vec<Outcome> {
    let successes: i64 = counts
        .iter()
        .filter(|c| c.kind == success)
        .map(|c| c.count)
        .sum();
    let mut bars = Vec::new();
    if successes > 0 {
        bars.push(Outcome {
            label: "success".into(),
            count: successes,
            ok: true,
        });
    }
    let mut failures: Vec<Outcome> = Vec::new();
    for c in counts.iter().filter(|c| c.kind == failure) {
        let label = c.reason.clone().unwrap_or_else(|| "other".into());
        match failures.iter().position(|f| f.label == label) {
            Some(i) => failures[i].count += c.count,
            None => failures.push(Outcome {
                label,
                count: c.count,
                ok: false,
            }),
        }
    }
    failures.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
    bars.extend(failures);
    bars
}

// The outcomes chart's geometry.
const ROW: i64 = 26;
const LABEL_W: i64 = 230;
const COUNT_W: i64 = 60;

/// Horizontal bars: successes, then failures by reason, each with its count.
pub fn by_reason(id: &str, title: &str, period: &str, bars: &[Outcome]) -> Chart {
    let ok: i64 = bars.iter().filter(|b| b.ok).map(|b| b.count).sum();
    let failed: i64 = bars.iter().filter(|b| !b.ok).map(|b| b.count).sum();
    let summary = if bars.is_empty() {
        format!("No token requests in {period}.")
    } else {
        let reasons: Vec<String> = bars
            .iter()
            .filter(|b| !b.ok)
            .map(|b| format!("{} {}", b.label, b.count))
            .collect();
        let mut s = format!("In {period}: {ok} succeeded, {failed} failed");
        if !reasons.is_empty() {
            let _ = write!(s, " ({})", reasons.join(", "));
        }
        s.push('.');
        s
    };
    let rows = bars.len().max(1) as i64;
    let height = rows * ROW + 8;
    let mut svg = svg_start(id, height, title, &summary, (ok, failed));
    if bars.is_empty() {
        let _ = write!(
            svg,
            r##"<text class="empty" x="{}" y="{}" text-anchor="middle" fill="#5d6675">{}</text>"##,
            WIDTH / 2,
            ROW - 6,
            escape(&format!("No token requests in {period}")),
        );
    }
    let top = bars.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let bar_room = WIDTH - LABEL_W - COUNT_W;
    for (i, b) in bars.iter().enumerate() {
        let y = 4 + i as i64 * ROW;
        // At least one unit wide, so a count of 1 beside a count of 10,000 stays visible.
        let w = (b.count * bar_room / top).max(1);
        let (class, fill) = if b.ok {
            ("ok", "#1d7a3e")
        } else {
            ("fail", "#b3261e")
        };
        let label = escape(&b.label);
        let _ = write!(
            svg,
            r##"<g class="bar" data-reason="{label}"><text class="label" x="{}" y="{}" text-anchor="end" fill="#1c2330">{label}</text><rect class="{class}" x="{LABEL_W}" y="{y}" width="{w}" height="{}" fill="{fill}" data-count="{}"><title>{}</title></rect><text class="count" x="{}" y="{}" fill="#1c2330">{}</text></g>"##,
            LABEL_W - 8,
            y + ROW / 2 + 4,
            ROW - 8,
            b.count,
            escape(&format!("{}: {}", b.label, b.count)),
            LABEL_W + w + 6,
            y + ROW / 2 + 4,
            b.count,
        );
    }
    svg.push_str("</svg>");
    Chart { svg, summary }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: (&str, &str) = ("seccft", "feccft");
    // 2026-12-01 00:00 UTC, a midnight.
    const MIDNIGHT: Millis = 1_796_083_200_000;

    fn at(hour_offset: i64, kind: &str, count: i64) -> HourCount {
        HourCount {
            hour: MIDNIGHT / HOUR + hour_offset,
            kind: kind.into(),
            count,
        }
    }

    #[test]
    fn an_empty_window_says_so_and_draws_no_bar() {
        let series = hours(&[], MIDNIGHT, 24, KINDS);
        assert_eq!(series.len(), 24);
        let chart = hourly("c", "Requests", "the last 24 hours", &series);
        assert_eq!(chart.summary, "No token requests in the last 24 hours.");
        assert!(
            chart
                .svg
                .contains("No token requests in the last 24 hours</text>")
        );
        assert!(!chart.svg.contains("<rect"));
        assert!(chart.svg.starts_with("<svg ") && chart.svg.ends_with("</svg>"));
        assert!(
            chart.svg.contains(r#"role="img""#) && chart.svg.contains("<title>Requests</title>")
        );
        let reasons = by_reason("r", "Outcomes", "the last 7 days", &[]);
        assert_eq!(reasons.summary, "No token requests in the last 7 days.");
        assert!(!reasons.svg.contains("<rect"));
    }

    #[test]
    fn one_hour_stacks_its_successes_and_failures() {
        let now = MIDNIGHT + 30 * 60 * 1000;
        let series = hours(&[at(0, "seccft", 3), at(0, "feccft", 2)], now, 24, KINDS);
        assert_eq!(
            series.last(),
            Some(&Hour {
                hour: MIDNIGHT / HOUR,
                successes: 3,
                failures: 2
            })
        );
        let chart = hourly("c", "Requests", "the last 24 hours", &series);
        assert_eq!(chart.svg.matches("<rect").count(), 2);
        assert!(chart.svg.contains(r#"class="ok""#) && chart.svg.contains(r#"data-count="3""#));
        assert!(chart.svg.contains(r#"class="fail""#) && chart.svg.contains(r#"data-count="2""#));
        assert!(chart.svg.contains("2026-12-01 00:00 UTC: 3 successes"));
        assert_eq!(
            chart.summary,
            "5 token requests in the last 24 hours: 3 succeeded, 2 failed. \
             Busiest hour: 2026-12-01 00:00 UTC (5)."
        );
        // The tallest bar fills the plot: 3 + 2 of 5, from the top to the baseline.
        assert!(chart.svg.contains(r#"y="12.000""#), "{}", chart.svg);
        assert!(!chart.svg.contains("style"));
    }

    #[test]
    fn hours_are_whole_utc_hours_ending_with_the_current_one() {
        // One millisecond before midnight is the last hour of the previous day.
        let now = MIDNIGHT - 1;
        assert_eq!(window(now, 24), (MIDNIGHT - 24 * HOUR, MIDNIGHT));
        assert_eq!(
            window(MIDNIGHT, 24),
            (MIDNIGHT - 23 * HOUR, MIDNIGHT + HOUR)
        );
        let counts = [
            at(-24, "seccft", 7),  // the 25th hour back: outside a 24-hour window
            at(-23, "seccft", 1),  // the first hour of the window
            at(0, "feccft", 4),    // the current hour
            at(1, "seccft", 9),    // the future: outside
            at(0, "api_limit", 5), // neither kind
        ];
        let series = hours(&counts, MIDNIGHT, 24, KINDS);
        assert_eq!(series.first().unwrap().hour, MIDNIGHT / HOUR - 23);
        assert_eq!(series.first().unwrap().successes, 1);
        assert_eq!(series.last().unwrap().failures, 4);
        let total: i64 = series.iter().map(|h| h.successes + h.failures).sum();
        assert_eq!(total, 5);
        let week = hours(&counts, MIDNIGHT, 168, KINDS);
        assert_eq!(week.len(), 168);
        assert_eq!(week.iter().map(|h| h.successes).sum::<i64>(), 8);
        // A week's ticks are its midnights, by date.
        let chart = hourly("w", "Week", "the last 7 days", &week);
        assert!(chart.svg.contains(">12-01</text>"), "{}", chart.svg);
        assert_eq!(chart.svg.matches(r#"<text class="tick" x"#).count(), 2 + 7);
    }

    #[test]
    fn every_text_in_the_svg_is_escaped() {
        let bars = outcomes(
            &[
                ReasonCount {
                    kind: "feccft".into(),
                    reason: Some("<script>\"x\"&'y'</script>".into()),
                    count: 2,
                },
                ReasonCount {
                    kind: "seccft".into(),
                    reason: None,
                    count: 5,
                },
            ],
            KINDS,
        );
        let chart = by_reason("r\"<", "A <b>title</b>", "a <period>", &bars);
        assert!(!chart.svg.contains("<script>"), "{}", chart.svg);
        assert!(!chart.svg.contains("<b>") && !chart.svg.contains("<period>"));
        assert!(
            chart
                .svg
                .contains("&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;")
        );
        assert!(chart.svg.contains(r#"id="r&quot;&lt;""#));
        let hourly = hourly("h", "<i>", "<p>", &hours(&[], MIDNIGHT, 24, KINDS));
        assert!(!hourly.svg.contains("<i>") && !hourly.svg.contains("<p>"));
    }

    #[test]
    fn outcomes_put_successes_first_then_reasons_by_count() {
        let count = |kind: &str, reason: Option<&str>, count| ReasonCount {
            kind: kind.into(),
            reason: reason.map(str::to_owned),
            count,
        };
        let bars = outcomes(
            &[
                count("feccft", Some("aud_mismatch"), 2),
                count("seccft", None, 4),
                count("feccft", Some("bad_signature"), 3),
                count("feccft", None, 1),
            ],
            KINDS,
        );
        let labels: Vec<(&str, i64)> = bars.iter().map(|b| (b.label.as_str(), b.count)).collect();
        assert_eq!(
            labels,
            [
                ("success", 4),
                ("bad_signature", 3),
                ("aud_mismatch", 2),
                ("other", 1)
            ]
        );
        let chart = by_reason("r", "Outcomes", "the last 7 days", &bars);
        assert_eq!(
            chart.summary,
            "In the last 7 days: 4 succeeded, 6 failed (bad_signature 3, aud_mismatch 2, other 1)."
        );
        assert!(chart.svg.contains(r#"data-reason="bad_signature""#));
        assert_eq!(chart.svg.matches("<rect").count(), 4);
    }
}
