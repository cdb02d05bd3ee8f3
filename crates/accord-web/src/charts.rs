//! Charts as SVG, drawn by small functions of our own: the same input gives the same picture,
//! so they can be compared in tests, and pages need no JavaScript to show them.

use accord_domain::measure::{Direction, Rag, Thresholds, format_value, write_fixed};
use std::fmt::Write;

pub fn rag_colour(rag: Rag) -> &'static str {
    match rag {
        Rag::Green => "#12805c",
        Rag::Amber => "#d97706",
        Rag::Red => "#c0362c",
    }
}

/// Coordinates with one decimal: enough for a screen, stable for a snapshot.
fn n(v: f64) -> N {
    N(v)
}

/// A number written as `{:.1}` writes it, quickly (see `write_fixed`).
struct N(f64);

impl std::fmt::Display for N {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_fixed(f, self.0, 1)
    }
}

/// Small trend lines of `len` values in a `width` × `height` box, gaps for missing periods, the
/// last point in its RAG colour. The frame and the x coordinates are the same for every line on a
/// page (a scorecard draws dozens), so they are written once; the line's stroke is the
/// stylesheet's (`.spark polyline`).
pub struct Sparklines {
    head: String,
    xs: Vec<String>,
    height: f64,
}

const SPARK_PAD: f64 = 3.0;

impl Sparklines {
    pub fn new(len: usize, width: f64, height: f64) -> Sparklines {
        let head = format!(
            r#"<svg class="spark" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="trend of the last {len} periods">"#,
            w = n(width),
            h = n(height)
        );
        let step = if len > 1 { (width - 2.0 * SPARK_PAD) / (len - 1) as f64 } else { 0.0 };
        Sparklines { head, xs: (0..len).map(|i| n(SPARK_PAD + step * i as f64).to_string()).collect(), height }
    }

    /// The line of `points`, one a period (as many as the frame was made for).
    pub fn draw(&self, points: &[Option<(f64, Rag)>]) -> String {
        let mut svg = String::with_capacity(self.head.len() + 16 * points.len() + 64);
        svg.push_str(&self.head);
        let (lo, hi) = points.iter().flatten().fold((f64::MAX, f64::MIN), |(lo, hi), (v, _)| (lo.min(*v), hi.max(*v)));
        let span = if hi > lo { hi - lo } else { 1.0 };
        let y = |v: f64| self.height - SPARK_PAD - (v - lo) / span * (self.height - 2.0 * SPARK_PAD);
        let mut in_line = false;
        let mut last = None;
        for (x, p) in self.xs.iter().zip(points) {
            match p {
                Some((v, rag)) => {
                    let py = y(*v);
                    svg.push_str(if in_line { " " } else { r#"<polyline points=""# });
                    // Pieces pushed one by one: `write!` cost a tenth of a scorecard.
                    svg.push_str(x);
                    svg.push(',');
                    let _ = write_fixed(&mut svg, py, 1);
                    in_line = true;
                    last = Some((x, py, *rag));
                }
                None if in_line => {
                    svg.push_str(r#""/>"#);
                    in_line = false;
                }
                None => {}
            }
        }
        if in_line {
            svg.push_str(r#""/>"#);
        }
        if let Some((x, y, rag)) = last {
            let _ = write!(svg, r#"<circle cx="{x}" cy="{}" r="2.5" fill="{}"/>"#, n(y), rag_colour(rag));
        }
        svg.push_str("</svg>");
        svg
    }
}

/// One period on a KPI chart: its label, its value (if any) and the thresholds in force.
pub struct ChartPoint {
    pub label: String,
    pub value: Option<(f64, Rag)>,
    pub thresholds: Thresholds,
}

/// A KPI's history: amber and red bands and the target line as they stood in each period, the
/// values as a line with points in their RAG colour.
pub fn kpi_chart(points: &[ChartPoint], unit: &str) -> String {
    let (width, height) = (760.0, 280.0);
    let (left, right, top, bottom) = (56.0, 16.0, 16.0, 36.0);
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="history of {} periods against target">"#,
        points.len(),
        w = n(width),
        h = n(height)
    );
    if points.is_empty() {
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#5b6675">No values yet</text></svg>"##,
            n(width / 2.0),
            n(height / 2.0)
        );
        return svg;
    }
    let mut all: Vec<f64> = points.iter().filter_map(|p| p.value.map(|(v, _)| v)).collect();
    all.extend(points.iter().flat_map(|p| [p.thresholds.target, p.thresholds.amber, p.thresholds.red]));
    let (lo, hi) = all.iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let step = nice_step(if hi > lo { (hi - lo) / 4.0 } else { 1.0 });
    let (lo, hi) = ((lo / step).floor() * step - step * 0.5, (hi / step).ceil() * step + step * 0.5);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let slot = plot_w / points.len() as f64;
    let x = |i: usize| left + slot * (i as f64 + 0.5);
    let y = |v: f64| top + (hi - v) / (hi - lo) * plot_h;
    let clamp = |v: f64| v.clamp(lo, hi);

    // Bands: red beyond the red threshold, amber between red and amber, per period.
    for (i, p) in points.iter().enumerate() {
        let t = &p.thresholds;
        let (red_from, red_to, amber_from, amber_to) = match t.direction {
            Direction::Higher => (lo, t.red, t.red, t.amber),
            Direction::Lower => (t.red, hi, t.amber, t.red),
        };
        let x0 = left + slot * i as f64;
        for (from, to, colour) in [(red_from, red_to, "#fde2df"), (amber_from, amber_to, "#fdf0d5")] {
            let (y0, y1) = (y(clamp(to)), y(clamp(from)));
            if y1 > y0 {
                let _ =
                    write!(svg, r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{colour}"/>"#, n(x0), n(y0), n(slot + 0.3), n(y1 - y0));
            }
        }
    }
    // Axis and grid at round values.
    let mut v = (lo / step).ceil() * step;
    while v <= hi {
        let _ = write!(
            svg,
            r##"<line x1="{l}" x2="{r}" y1="{y}" y2="{y}" stroke="#dde3ea"/><text x="{t}" y="{ty}" text-anchor="end" font-size="11" fill="#5b6675">{label}</text>"##,
            l = n(left),
            r = n(width - right),
            y = n(y(v)),
            t = n(left - 6.0),
            ty = n(y(v) + 4.0),
            label = format_value((v * 1000.0).round() / 1000.0)
        );
        v += step;
    }
    // Target: a step line that moves when a new version takes effect.
    let mut target = String::new();
    for (i, p) in points.iter().enumerate() {
        let ty = n(y(clamp(p.thresholds.target)));
        let _ = write!(target, "{},{ty} {},{ty} ", n(left + slot * i as f64), n(left + slot * (i + 1) as f64));
    }
    let _ = write!(
        svg,
        r##"<polyline fill="none" stroke="#1f4e79" stroke-width="1.5" stroke-dasharray="5 4" points="{}"/>"##,
        target.trim_end()
    );
    // Values.
    let line: Vec<String> =
        points.iter().enumerate().filter_map(|(i, p)| p.value.map(|(v, _)| format!("{},{}", n(x(i)), n(y(v))))).collect();
    if line.len() > 1 {
        let _ = write!(svg, r##"<polyline fill="none" stroke="#1d2733" stroke-width="2" points="{}"/>"##, line.join(" "));
    }
    for (i, p) in points.iter().enumerate() {
        if let Some((v, rag)) = p.value {
            let _ = write!(
                svg,
                r#"<circle cx="{}" cy="{}" r="3.5" fill="{}"><title>{}: {}{}{} ({})</title></circle>"#,
                n(x(i)),
                n(y(v)),
                rag_colour(rag),
                p.label,
                format_value(v),
                if unit.is_empty() { "" } else { " " },
                escape(unit),
                rag.as_str()
            );
        }
    }
    // Period labels, thinned to about twelve, always including the latest.
    let every = points.len().div_ceil(12).max(1);
    for (i, p) in points.iter().enumerate().filter(|(i, _)| (points.len() - 1 - i).is_multiple_of(every)) {
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="#5b6675">{}</text>"##,
            n(x(i)),
            n(height - bottom + 16.0),
            p.label
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A round step near `raw`: 1, 2, 2.5 or 5 times a power of ten.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().find(|n| fraction <= *n).unwrap_or(10.0);
    nice * magnitude
}

/// Open and resolved issues per ladder level, as paired bars.
pub fn level_bars(levels: &[(String, i64, i64)]) -> String {
    let (width, height, left, bottom) = (420.0, 150.0, 8.0, 34.0);
    let max = levels.iter().map(|(_, o, r)| (*o).max(*r)).max().unwrap_or(0).max(1) as f64;
    let slot = (width - left * 2.0) / levels.len().max(1) as f64;
    let bar = (slot / 3.0).min(28.0);
    let plot = height - bottom - 14.0;
    let mut svg = format!(
        r#"<svg class="bars" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="open and resolved issues per level">"#,
        w = n(width),
        h = n(height)
    );
    for (i, (name, open, resolved)) in levels.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar * 2.0 - 4.0) / 2.0;
        for (j, (count, colour, what)) in [(*open, "#d97706", "open"), (*resolved, "#12805c", "resolved")].into_iter().enumerate() {
            let h = plot * count as f64 / max;
            let bx = x + j as f64 * (bar + 4.0);
            let _ = write!(
                svg,
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{colour}"><title>{}: {count} {what}</title></rect>"#,
                n(bx),
                n(14.0 + plot - h),
                n(bar),
                n(h),
                escape(name)
            );
            let _ = write!(
                svg,
                r##"<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="#1d2733">{count}</text>"##,
                n(bx + bar / 2.0),
                n(10.0 + plot - h)
            );
        }
        let label: String = if name.chars().count() > 16 { name.chars().take(15).chain(['…']).collect() } else { name.clone() };
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="#5b6675">{}</text>"##,
            n(left + slot * (i as f64 + 0.5)),
            n(height - 14.0),
            escape(&label)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One trend line, in a frame of its own.
    fn sparkline(points: &[Option<(f64, Rag)>], width: f64, height: f64) -> String {
        Sparklines::new(points.len(), width, height).draw(points)
    }

    #[test]
    fn numbers_are_written_as_the_formatter_writes_them() {
        for v in [0.0, 0.04, 0.05, 0.06, 0.25, 0.35, 1.0, 2.45, 12.349, 96.0, 99.95, 1234.56, 1e14, -0.04, -3.25, f64::NAN] {
            assert_eq!(n(v).to_string(), format!("{v:.1}"), "{v}");
        }
        for i in 0..100_000 {
            let v = i as f64 * 0.0137;
            assert_eq!(n(v).to_string(), format!("{v:.1}"), "{v}");
        }
    }

    #[test]
    fn a_sparkline_is_stable_and_leaves_gaps() {
        let svg = sparkline(&[Some((1.0, Rag::Red)), Some((3.0, Rag::Amber)), None, Some((2.0, Rag::Green))], 90.0, 24.0);
        assert_eq!(
            svg,
            concat!(
                r##"<svg class="spark" width="90.0" height="24.0" viewBox="0 0 90.0 24.0" role="img" aria-label="trend of the last 4 periods">"##,
                r##"<polyline points="3.0,21.0 31.0,3.0"/>"##,
                r##"<polyline points="87.0,12.0"/>"##,
                r##"<circle cx="87.0" cy="12.0" r="2.5" fill="#12805c"/></svg>"##
            )
        );
        assert!(sparkline(&[None, None], 90.0, 24.0).ends_with("</svg>"));
        // One frame draws many lines, each as drawn alone.
        let frame = Sparklines::new(4, 90.0, 24.0);
        let lines = [vec![Some((5.0, Rag::Green)), None, None, Some((1.0, Rag::Red))], vec![None; 4], vec![Some((2.0, Rag::Amber)); 4]];
        for points in lines {
            assert_eq!(frame.draw(&points), sparkline(&points, 90.0, 24.0));
        }
    }

    #[test]
    fn level_bars_scale_to_the_largest_count() {
        let svg = level_bars(&[("Working level".into(), 4, 8), ("JMT".into(), 2, 0)]);
        assert_eq!(svg.matches("<rect").count(), 4);
        assert!(svg.contains("Working level: 8 resolved") && svg.contains(r#"height="102.0""#), "the largest bar fills the plot");
    }

    #[test]
    fn a_kpi_chart_draws_bands_target_and_points() {
        let t = Thresholds::new(Direction::Higher, 98.0, 95.0, 90.0).unwrap();
        let t2 = Thresholds::new(Direction::Higher, 99.0, 96.0, 92.0).unwrap();
        let points = vec![
            ChartPoint { label: "2026-01".into(), value: Some((97.0, Rag::Green)), thresholds: t },
            ChartPoint { label: "2026-02".into(), value: Some((89.0, Rag::Red)), thresholds: t },
            ChartPoint { label: "2026-03".into(), value: None, thresholds: t2 },
        ];
        let svg = kpi_chart(&points, "%");
        assert_eq!(svg.matches("<rect").count(), 6, "two bands per period");
        assert_eq!(svg.matches("<circle").count(), 2, "no point for the missing period");
        assert!(svg.contains("#c0362c") && svg.contains("2026-02: 89 % (red)"));
        assert!(svg.contains("stroke-dasharray"), "target line");
        assert_eq!(svg, kpi_chart(&points, "%"), "the same input draws the same picture");
        assert!(kpi_chart(&[], "").contains("No values yet"));
        assert!(svg.contains(">90</text>") && svg.contains(">95</text>"), "round axis values");
        assert_eq!((nice_step(2.7), nice_step(0.031), nice_step(180.0)), (5.0, 0.05, 200.0));
    }
}
