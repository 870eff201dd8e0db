//! A stacked bar chart drawn on the server as SVG, with no script and no
//! inline style (the CSP allows neither): one bar per month, one coloured
//! part per product, a title and a description for screen readers, and a
//! legend. The page shows the same numbers as a table beside it.

use maud::{Markup, html};

/// Colours of the series, in turn (distinct for common colour blindness).
const COLOURS: [&str; 6] = ["#1d4ed8", "#f59e0b", "#059669", "#dc2626", "#7c3aed", "#0891b2"];

const WIDTH: i64 = 640;
const HEIGHT: i64 = 260;
const LEFT: i64 = 40;
const BOTTOM: i64 = 40;
const TOP: i64 = 10;

/// The chart of `series` (a name and one value per entry of `columns`),
/// titled `title`.
pub(crate) fn stacked_bars(title: &str, columns: &[String], series: &[(String, Vec<i64>)]) -> Markup {
    let totals: Vec<i64> =
        (0..columns.len()).map(|i| series.iter().map(|(_, v)| v.get(i).copied().unwrap_or(0)).sum()).collect();
    let top = nice_ceiling(totals.iter().copied().max().unwrap_or(0));
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = (WIDTH - LEFT) / columns.len().max(1) as i64;
    let bar = (slot * 2 / 3).max(2);
    let y = |v: i64| TOP + plot_h - v * plot_h / top;
    let legend_y = HEIGHT + 8;
    let description: Vec<String> = columns.iter().zip(&totals).map(|(c, t)| format!("{c}: {t}")).collect();
    // Each non-zero value's part of its bar: x, top, height, colour, tooltip.
    let mut parts = Vec::new();
    for (i, column) in columns.iter().enumerate() {
        let x = LEFT + i as i64 * slot + (slot - bar) / 2;
        let mut base = 0;
        for (s, (name, values)) in series.iter().enumerate() {
            let v = values.get(i).copied().unwrap_or(0);
            if v > 0 {
                parts.push((
                    x,
                    y(base + v),
                    y(base) - y(base + v),
                    COLOURS[s % COLOURS.len()],
                    format!("{column} · {name}: {v}"),
                ));
            }
            base += v;
        }
    }
    html! {
        svg class="chart" viewBox={ "0 0 " (WIDTH) " " (HEIGHT + 20 * series.len().div_ceil(3) as i64 + 8) }
            role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg" {
            title id="chart-title" { (title) }
            desc id="chart-desc" { (description.join(", ")) }
            @for tick in [0, top / 2, top] {
                line x1=(LEFT) x2=(WIDTH) y1=(y(tick)) y2=(y(tick)) stroke="#d9dde3" {}
                text x=(LEFT - 6) y=(y(tick) + 4) text-anchor="end" font-size="11" fill="#444" { (tick) }
            }
            @for (x, top_y, h, colour, tip) in &parts {
                rect x=(x) y=(top_y) width=(bar) height=(h) fill=(colour) { title { (tip) } }
            }
            @for (i, column) in columns.iter().enumerate() {
                @let x = LEFT + i as i64 * slot + (slot - bar) / 2;
                text x=(x + bar / 2) y=(HEIGHT - BOTTOM + 16) text-anchor="middle" font-size="11" fill="#444" {
                    (column.get(2..).unwrap_or(column))
                }
            }
            @for (s, (name, _)) in series.iter().enumerate() {
                @let (lx, ly) = (LEFT + (s as i64 % 3) * 200, legend_y + (s as i64 / 3) * 20);
                rect x=(lx) y=(ly - 10) width="12" height="12" fill=(COLOURS[s % COLOURS.len()]) {}
                text x=(lx + 18) y=(ly) font-size="12" fill="#1b1f24" { (name) }
            }
        }
    }
}

/// The smallest of 1, 2 or 5 times a power of ten (and at least 2, so
/// the middle tick is whole) that is at least `v`.
fn nice_ceiling(v: i64) -> i64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= v.max(2) {
                return m * step;
            }
        }
        step *= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_ends_on_a_round_number() {
        assert_eq!([0, 1, 2, 3, 7, 10, 11, 480, 5001].map(nice_ceiling), [2, 2, 2, 5, 10, 10, 20, 500, 10000]);
    }

    #[test]
    fn every_value_is_a_bar_and_the_numbers_are_told() {
        let months = vec!["2026-11".to_string(), "2026-12".to_string()];
        let svg =
            stacked_bars("Orders", &months, &[("ssl1".into(), vec![3, 0]), ("dv1".into(), vec![1, 4])]).into_string();
        assert_eq!(svg.matches("<rect").count(), 3 + 2, "three non-zero parts and two legend keys");
        assert!(svg.contains("<desc id=\"chart-desc\">2026-11: 4, 2026-12: 4</desc>"), "{svg}");
        assert!(svg.contains("2026-12 · dv1: 4"));
        assert!(!svg.contains("style="), "no inline style: the CSP refuses it");
    }
}
