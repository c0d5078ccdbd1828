//! Learning curves as SVG (plotters' SVG backend, which leaves text to the viewer, so no system
//! fonts are needed): one file per configuration of a spec, one panel per `metrics.csv` column,
//! one line per variant (the mean over seeds) with a band from the lowest to the highest seed.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;

use super::aggregate::Group;
use crate::train::metrics;

/// `variant -> column -> step -> values over seeds`.
type Curves = BTreeMap<String, BTreeMap<String, BTreeMap<u64, Vec<f64>>>>;

/// Columns that are the x axis or bookkeeping rather than a curve.
const NOT_CURVES: &[&str] = &["step", "epoch", "lr"];

fn read(group: &Group) -> (Vec<String>, Curves) {
    let mut columns: Vec<String> = Vec::new();
    let mut curves: Curves = BTreeMap::new();
    for run in &group.runs {
        for v in &group.variants {
            let Ok(table) = metrics::read_table(&run.dir.join(v).join("metrics.csv")) else {
                continue;
            };
            if table.position("step").is_none() {
                continue;
            }
            for h in &table.columns {
                if !NOT_CURVES.contains(&h.as_str()) && !columns.contains(h) {
                    columns.push(h.clone());
                }
            }
            for (i, h) in table.columns.iter().enumerate() {
                if NOT_CURVES.contains(&h.as_str()) {
                    continue;
                }
                for (step, x) in table.points(i).into_iter().flatten() {
                    if x.is_finite() {
                        curves
                            .entry(v.clone())
                            .or_default()
                            .entry(h.clone())
                            .or_default()
                            .entry(step)
                            .or_default()
                            .push(x);
                    }
                }
            }
        }
    }
    columns.retain(|c| curves.values().any(|m| m.contains_key(c)));
    (columns, curves)
}

/// What [`learning_curves`] drew.
pub enum Plotted {
    Curves,
    /// No metrics.csv with values.
    Nothing,
    /// Every variant was evaluated at most once: a curve needs two points.
    OneEvaluation,
}

/// Writes the learning curves of `group` to `path` (SVG): the mean over seeds as a line, and
/// with several seeds a band from their minimum to their maximum.
pub fn learning_curves(group: &Group, title: &str, path: &Path) -> anyhow::Result<Plotted> {
    let (columns, curves) = read(group);
    if columns.is_empty() {
        return Ok(Plotted::Nothing);
    }
    let most_points = curves
        .values()
        .flat_map(|per_col| per_col.values().map(|points| points.len()))
        .max()
        .unwrap_or(0);
    if most_points < 2 {
        return Ok(Plotted::OneEvaluation);
    }
    let seeds = group.runs.len();
    let title = if seeds > 1 {
        format!("{title} (line: mean of {seeds} seeds; band: their min to max)")
    } else {
        title.to_string()
    };
    let cols = if columns.len() > 1 { 2 } else { 1 };
    let rows = columns.len().div_ceil(cols);
    let (pw, ph) = (520u32, 320u32);
    // The legend gets a strip of its own under the panels, so it covers no curve.
    let legend_h = 24 * group.variants.len().div_ceil(4) as u32 + 10;
    let size = (pw * cols as u32, ph * rows as u32 + 40 + legend_h);
    let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("plotting {}: {e}", path.display());
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let root = root
        .titled(&title, ("sans-serif", 20))
        .map_err(|e| err(&e))?;
    let (panels_area, legend) = root.split_vertically(ph * rows as u32);
    let panels = panels_area.split_evenly((rows, cols));
    let color = |i: usize| Palette99::pick(i).to_rgba();
    for (panel, column) in panels.iter().zip(&columns) {
        let (mut xmin, mut xmax) = (u64::MAX, 1u64);
        let (mut ymin, mut ymax) = (f64::INFINITY, f64::NEG_INFINITY);
        for per_col in curves.values() {
            for (step, vals) in per_col.get(column).into_iter().flatten() {
                xmin = xmin.min(*step);
                xmax = xmax.max(*step);
                for v in vals {
                    ymin = ymin.min(*v);
                    ymax = ymax.max(*v);
                }
            }
        }
        if !ymin.is_finite() {
            continue;
        }
        let pad = ((ymax - ymin) * 0.05).max(1e-6);
        let y = (ymin - pad)..(ymax + pad);
        let mut builder = ChartBuilder::on(panel);
        builder
            .caption(column, ("sans-serif", 15))
            .margin(10)
            .margin_right(30)
            .x_label_area_size(30)
            .y_label_area_size(55);
        let series = |i: usize| {
            let v = &group.variants[i];
            curves.get(v).and_then(|m| m.get(column))
        };
        let n = group.variants.len();
        // One panel on either x axis (their coordinate types differ, hence a macro).
        macro_rules! panel {
            ($x:expr, $x_desc:expr) => {{
                let mut chart = builder
                    .build_cartesian_2d($x, y.clone())
                    .map_err(|e| err(&e))?;
                chart
                    .configure_mesh()
                    .x_desc($x_desc)
                    .y_desc(column.as_str())
                    .x_labels(6)
                    .y_labels(6)
                    .x_label_formatter(&|x| format!("{x:.0}"))
                    .y_label_formatter(&|v| tick(*v, y.end - y.start))
                    .light_line_style(WHITE)
                    .draw()
                    .map_err(|e| err(&e))?;
                for i in 0..n {
                    if let Some(points) = series(i) {
                        draw_curve(&mut chart, points, color(i)).map_err(|e| err(&e))?;
                    }
                }
            }};
        }
        // Evaluations spanning 100x or more (500 to 50,000 steps) on a log axis, so the early
        // steps, where BN's lead is, are not squeezed into the first pixels.
        if xmin > 0 && xmax as f64 / xmin as f64 >= 100.0 {
            panel!((xmin as f64..xmax as f64).log_scale(), "step (log scale)");
        } else {
            panel!(0f64..xmax as f64, "step");
        }
    }
    for (i, v) in group.variants.iter().enumerate() {
        let (x, y) = (20 + 180 * (i % 4) as i32, 8 + 24 * (i / 4) as i32);
        legend
            .draw(&PathElement::new(
                vec![(x, y + 8), (x + 24, y + 8)],
                color(i).stroke_width(3),
            ))
            .map_err(|e| err(&e))?;
        legend
            .draw(&Text::new(v.as_str(), (x + 30, y), ("sans-serif", 14)))
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(Plotted::Curves)
}

/// One variant's mean line and, with several seeds, its min-max band.
fn draw_curve<DB, X>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>,
    points: &BTreeMap<u64, Vec<f64>>,
    color: RGBAColor,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64>,
{
    let mean: Vec<(f64, f64)> = points
        .iter()
        .map(|(s, vals)| (*s as f64, vals.iter().sum::<f64>() / vals.len() as f64))
        .collect();
    if points.values().any(|vals| vals.len() > 1) {
        let lo = points.iter().map(|(s, vals)| {
            (
                *s as f64,
                vals.iter().copied().fold(f64::INFINITY, f64::min),
            )
        });
        let hi = points.iter().map(|(s, vals)| {
            (
                *s as f64,
                vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            )
        });
        let band: Vec<(f64, f64)> = hi.chain(lo.rev()).collect();
        chart.draw_series(std::iter::once(Polygon::new(band, color.mix(0.2).filled())))?;
    }
    chart.draw_series(LineSeries::new(mean, color.stroke_width(2)))?;
    Ok(())
}

/// A y tick with as many decimals as the axis' span needs, and never `-0.0`.
fn tick(y: f64, span: f64) -> String {
    let decimals = if span >= 10.0 {
        0
    } else if span >= 1.0 {
        1
    } else if span >= 0.1 {
        2
    } else {
        3
    };
    let text = format!("{y:.decimals$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::tick;

    #[test]
    fn ticks_never_read_minus_zero() {
        assert_eq!(tick(-0.0001, 0.5), "0.00");
        assert_eq!(tick(-0.0, 20.0), "0");
        assert_eq!(tick(-0.25, 0.5), "-0.25");
        assert_eq!(tick(0.9731, 0.05), "0.973");
    }
}
