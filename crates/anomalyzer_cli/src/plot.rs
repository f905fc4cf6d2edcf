//! `--plot FILE.svg|FILE.png`: the series on top with the flagged ranges
//! shaded, the probability underneath on the same time axis, the threshold
//! drawn and labelled in place (no legend to hunt for).
//!
//! Text is laid out with `ab_glyph` from DejaVu Sans, bundled in
//! `assets/` (Bitstream Vera licence, see `assets/LICENSE-DejaVu.txt`), so
//! a PNG renders the same on a machine without any system fonts. An SVG
//! names the `sans-serif` family and is drawn by the viewer's fonts.

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::summary::{FlaggedRange, Summary};

/// The bundled font.
static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Image size in pixels (SVG user units).
const SIZE: (u32, u32) = (1200, 720);

/// Above this many points a series is drawn as per-bucket min and max (an
/// envelope that keeps every spike visible) instead of point by point.
const MAX_DRAWN_POINTS: usize = 4000;

const SERIES: RGBColor = RGBColor(31, 84, 150);
const PROBABILITY: RGBColor = RGBColor(120, 60, 150);
const FLAGGED: RGBColor = RGBColor(220, 50, 47);

/// The image format, from the file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// Scalable vector graphics.
    Svg,
    /// Portable network graphics.
    Png,
}

impl ImageFormat {
    /// The format for `path`'s extension (`.svg` or `.png`, any case).
    pub fn from_path(path: &Path) -> Result<Self, crate::exit::BadInput> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("svg") => Ok(ImageFormat::Svg),
            Some("png") => Ok(ImageFormat::Png),
            _ => Err(crate::exit::BadInput(format!(
                "--plot {}: the file name must end in .svg or .png",
                path.display()
            ))),
        }
    }
}

/// What to draw, collected while scoring.
#[derive(Debug, Clone, Default)]
pub struct PlotData {
    /// A title naming the input.
    pub name: String,
    /// The input values, in order.
    pub values: Vec<f64>,
    /// Their probabilities.
    pub probabilities: Vec<f64>,
    /// Their timestamps, when the input has them (x-axis labels).
    pub timestamps: Option<Vec<String>>,
}

/// Draws `data` into `path` (format from the extension); with a `summary`
/// (`--threshold`), shades its flagged ranges and draws the threshold.
pub fn write(path: &Path, data: &PlotData, summary: Option<&Summary>) -> Result<()> {
    let format = ImageFormat::from_path(path)?;
    register_font()?;
    let fail = |e: String| anyhow!(e).context(format!("cannot draw {}", path.display()));
    match format {
        ImageFormat::Svg => {
            let root = SVGBackend::new(path, SIZE).into_drawing_area();
            draw(&root, data, summary).map_err(|e| fail(e.to_string()))?;
            root.present().map_err(|e| fail(e.to_string()))?;
        }
        ImageFormat::Png => {
            let root = BitMapBackend::new(path, SIZE).into_drawing_area();
            draw(&root, data, summary).map_err(|e| fail(e.to_string()))?;
            root.present().map_err(|e| fail(e.to_string()))?;
        }
    }
    // plotters reports some write failures only by leaving no file behind.
    std::fs::metadata(path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn register_font() -> Result<()> {
    static REGISTER: Once = Once::new();
    let mut result = Ok(());
    REGISTER.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            if plotters::style::register_font("sans-serif", style, DEJAVU_SANS).is_err() {
                result = Err(anyhow!("the bundled font cannot be loaded"));
            }
        }
    });
    result
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &PlotData,
    summary: Option<&Summary>,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let n = data.values.len();
    let ranges = summary.map_or(&[][..], Summary::ranges);
    let threshold = summary.map(Summary::threshold);
    let title = match summary {
        Some(s) => format!(
            "{}: {n} points, {} flagged in {} range{} (red: probability ≥ {})",
            data.name,
            s.flagged(),
            ranges.len(),
            if ranges.len() == 1 { "" } else { "s" },
            crate::float_text::Shortest(s.threshold())
        ),
        None => format!("{}: {n} points", data.name),
    };
    let root = root.titled(&title, ("sans-serif", 22).into_font())?;
    let (top, bottom) = root.split_vertically(SIZE.1 * 58 / 100);

    let x_max = n.max(2) as f64 - 0.5;
    let x_range = -0.5..x_max;
    let (lo, hi) = bounds(&data.values);
    let pad = ((hi - lo) * 0.05).max(f64::EPSILON * hi.abs().max(1.0));
    let y_range = (lo - pad)..(hi + pad);

    let x_label = |x: &f64| -> String {
        let i = x.round();
        if i < 0.0 || i >= n as f64 {
            return String::new();
        }
        match &data.timestamps {
            Some(ts) => ts[i as usize].clone(),
            None => format!("{}", i as usize + 1),
        }
    };
    let x_desc = if data.timestamps.is_some() {
        "timestamp"
    } else {
        "point"
    };

    // Series, with flagged ranges shaded full height.
    let mut chart = ChartBuilder::on(&top)
        .margin(10)
        .margin_right(30)
        .x_label_area_size(10)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range.clone(), y_range.clone())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(6)
        .y_desc("value")
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 14))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart.draw_series(bands(ranges, y_range.start, y_range.end))?;
    chart.draw_series(LineSeries::new(
        envelope(&data.values),
        SERIES.stroke_width(2),
    ))?;
    // Flagged points as red dots on the line (for a readable number of them).
    let flagged_points: usize = ranges.iter().map(FlaggedRange::len).sum();
    if flagged_points <= MAX_DRAWN_POINTS {
        chart.draw_series(
            ranges
                .iter()
                .flat_map(|r| r.first..=r.last)
                .map(|i| Circle::new((i as f64, data.values[i]), 3, FLAGGED.filled())),
        )?;
    }

    // Probability, with the threshold and the same bands.
    let mut chart = ChartBuilder::on(&bottom)
        .margin(10)
        .margin_right(30)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, 0.0..1.05)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(6)
        .x_label_formatter(&x_label)
        .y_labels(3)
        .y_label_formatter(&|y| format!("{y:.1}"))
        .x_desc(x_desc)
        .y_desc("probability")
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 14))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart.draw_series(bands(ranges, 0.0, 1.05))?;
    let probabilities = envelope(&data.probabilities);
    chart.draw_series(AreaSeries::new(
        probabilities.iter().copied(),
        0.0,
        PROBABILITY.mix(0.25),
    ))?;
    chart.draw_series(LineSeries::new(probabilities, PROBABILITY.stroke_width(1)))?;
    if let Some(t) = threshold {
        chart.draw_series(DashedLineSeries::new(
            [(-0.5, t), (x_max, t)],
            8,
            6,
            FLAGGED.stroke_width(2),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("threshold {}", crate::float_text::Shortest(t)),
            (x_max, t + 0.03),
            ("sans-serif", 14).into_font().color(&FLAGGED).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Right,
                    plotters::style::text_anchor::VPos::Bottom,
                ),
            ),
        )))?;
    }
    Ok(())
}

/// Light red bands over the flagged ranges, half a point wider each side so
/// that a single flagged point is visible.
fn bands(
    ranges: &[FlaggedRange],
    y0: f64,
    y1: f64,
) -> impl Iterator<Item = Rectangle<(f64, f64)>> + '_ {
    ranges.iter().map(move |r| {
        Rectangle::new(
            [(r.first as f64 - 0.5, y0), (r.last as f64 + 0.5, y1)],
            FLAGGED.mix(0.3).filled(),
        )
    })
}

/// Minimum and maximum, with a usable range for an empty or flat series.
fn bounds(values: &[f64]) -> (f64, f64) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        (0.0, 1.0)
    } else if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

/// The points to draw: all of them for a short series, else each bucket's
/// minimum and maximum in the order they occur (spikes survive).
fn envelope(ys: &[f64]) -> Vec<(f64, f64)> {
    if ys.len() <= MAX_DRAWN_POINTS {
        return ys.iter().enumerate().map(|(i, &y)| (i as f64, y)).collect();
    }
    let bucket = ys.len().div_ceil(MAX_DRAWN_POINTS / 2);
    let mut out = Vec::with_capacity(MAX_DRAWN_POINTS + 2);
    for (b, chunk) in ys.chunks(bucket).enumerate() {
        let base = b * bucket;
        let (mut imin, mut imax) = (0, 0);
        for (i, &y) in chunk.iter().enumerate() {
            if y < chunk[imin] {
                imin = i;
            }
            if y > chunk[imax] {
                imax = i;
            }
        }
        let (a, z) = if imin <= imax {
            (imin, imax)
        } else {
            (imax, imin)
        };
        out.push(((base + a) as f64, chunk[a]));
        if z != a {
            out.push(((base + z) as f64, chunk[z]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_comes_from_the_extension() {
        assert_eq!(
            ImageFormat::from_path(Path::new("a.SVG")).unwrap(),
            ImageFormat::Svg
        );
        assert_eq!(
            ImageFormat::from_path(Path::new("d/a.png")).unwrap(),
            ImageFormat::Png
        );
        let e = ImageFormat::from_path(Path::new("a.jpg")).unwrap_err();
        assert!(e.to_string().contains("must end in .svg or .png"), "{e}");
    }

    #[test]
    fn envelope_keeps_short_series_and_the_extremes_of_long_ones() {
        assert_eq!(envelope(&[3.0, 1.0]), [(0.0, 3.0), (1.0, 1.0)]);
        let mut ys = vec![0.0; 100_000];
        ys[54_321] = 9.0;
        ys[777] = -4.0;
        let e = envelope(&ys);
        assert!(e.len() <= MAX_DRAWN_POINTS);
        assert!(e.contains(&(54_321.0, 9.0)));
        assert!(e.contains(&(777.0, -4.0)));
        assert!(e.windows(2).all(|w| w[0].0 < w[1].0), "x increases");
    }

    #[test]
    fn bounds_of_flat_and_empty_series_are_usable() {
        assert_eq!(bounds(&[]), (0.0, 1.0));
        assert_eq!(bounds(&[2.0, 2.0]), (1.5, 2.5));
        assert_eq!(bounds(&[2.0, -1.0]), (-1.0, 2.0));
    }
}
