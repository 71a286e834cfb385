//! A picture of an alert: its three cutouts side by side (zscale limits,
//! asinh stretch, NaN pixels in their own colour, north up as stored) above
//! its light curve (detections with error bars per band, upper limits as
//! open downward triangles, forced photometry as open circles, this alert's
//! point ringed), with a title naming the object, the alert, the time, the
//! position and Fink's classification. PNG or SVG, with a bundled font: a
//! machine without fonts renders text too.

mod stretch;

use crate::durable::{file_name_part, write_atomically};
use crate::error::{Error, Result};
use crate::model::alert::{Alert, Survey};
use crate::model::lightcurve::{Kind, Measurement};
use crate::model::stamp::Stamp;
use crate::model::time::TimeScale;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
pub use stretch::{asinh_stretch, display_values, zscale};

/// A picture's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PictureFormat {
    Png,
    Svg,
}

crate::names::named!(PictureFormat, "picture format", {
    PictureFormat::Png => "png",
    PictureFormat::Svg => "svg",
});

impl PictureFormat {
    /// The file extension: its name.
    pub fn extension(self) -> &'static str {
        crate::names::Named::name(self)
    }
}

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 860;
/// The two title lines.
const TITLE_HEIGHT: u32 = 70;
/// The row of cutouts, when the alert has them.
const CUTOUTS_HEIGHT: u32 = 340;
const FONT: &str = "sans-serif";
/// Pixels that hold no value (NaN).
const NAN_COLOUR: RGBColor = RGBColor(255, 0, 255);

/// The colour of a band: ZTF g, r, i; Rubin u, g, r, i, z, y.
pub fn band_colour(band: &str) -> RGBColor {
    match band {
        "u" => RGBColor(0x56, 0xb4, 0xe9),
        "g" => RGBColor(0x2c, 0xa0, 0x2c),
        "r" => RGBColor(0xd6, 0x27, 0x28),
        "i" => RGBColor(0xff, 0x7f, 0x0e),
        "z" => RGBColor(0x94, 0x67, 0xbd),
        "y" => RGBColor(0x8c, 0x56, 0x4b),
        _ => RGBColor(0x7f, 0x7f, 0x7f),
    }
}

fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Picture(
            "the bundled font could not be loaded".into(),
        ))
    }
}

fn drawing<E: std::fmt::Debug>(e: E) -> Error {
    Error::Picture(format!("{e:?}"))
}

/// Draws the alert's picture into `dir` as `<alert id>.png` (or `.svg`; `<object id>` when
/// the alert has no id), written under a temporary name and renamed; returns its path.
pub fn save_picture(alert: &Alert, dir: &Path, format: PictureFormat) -> Result<PathBuf> {
    save_picture_with(alert, &alert.cutouts()?, dir, format)
}

/// Like [`save_picture`], with cutouts from elsewhere (ANTARES' thumbnails).
pub fn save_picture_with(
    alert: &Alert,
    stamps: &[Stamp],
    dir: &Path,
    format: PictureFormat,
) -> Result<PathBuf> {
    // Alerts without an id of their own (Lasair rows) are named by object.
    let id = alert
        .alert_id()
        .or_else(|| alert.object_id())
        .map(|i| file_name_part(&i.to_string()))
        .unwrap_or_else(|| "alert".into());
    let path = dir.join(format!("{id}.{}", format.extension()));
    write_atomically(&path, &render(alert, stamps, format)?)?;
    Ok(path)
}

/// The alert's picture as the bytes of a PNG or SVG file, drawn in memory.
pub fn render(alert: &Alert, stamps: &[Stamp], format: PictureFormat) -> Result<Vec<u8>> {
    register_font()?;
    match format {
        PictureFormat::Png => {
            let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
            {
                let root =
                    BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
                draw(alert, stamps, &root)?;
                root.present().map_err(drawing)?;
            }
            encode_png(&rgb, WIDTH, HEIGHT, png::ColorType::Rgb)
        }
        PictureFormat::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
                draw(alert, stamps, &root)?;
                root.present().map_err(drawing)?;
            }
            Ok(svg.into_bytes())
        }
    }
}

/// One cutout as a small greyscale PNG (a thumbnail): the same zscale and
/// asinh stretch as the picture, north up, NaN pixels black.
pub fn stamp_png(stamp: &Stamp) -> Result<Vec<u8>> {
    let (w, h) = (stamp.width, stamp.height);
    let values = stretch::display_values(stamp);
    let mut grey = vec![0u8; w * h];
    // FITS row 1 is the bottom row; PNG rows go top down.
    for (i, v) in values.iter().enumerate() {
        let (x, y) = (i % w, i / w);
        if y < h && !v.is_nan() {
            grey[(h - 1 - y) * w + x] = grey_level(*v);
        }
    }
    let side = |n: usize| u32::try_from(n).map_err(|_| Error::Picture("cutout too large".into()));
    encode_png(&grey, side(w)?, side(h)?, png::ColorType::Grayscale)
}

/// A display value (0 to 1) as a grey level.
fn grey_level(value: f64) -> u8 {
    (value * 255.0).round().clamp(0.0, 255.0) as u8
}

fn encode_png(pixels: &[u8], width: u32, height: u32, colour: png::ColorType) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(colour);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .and_then(|mut w| w.write_image_data(pixels))
        .map_err(drawing)?;
    Ok(out)
}

fn draw<DB: DrawingBackend>(
    alert: &Alert,
    stamps: &[Stamp],
    root: &DrawingArea<DB, Shift>,
) -> Result<()> {
    root.fill(&WHITE).map_err(drawing)?;
    let (title, rest) = root.split_vertically(TITLE_HEIGHT);
    draw_title(alert, &title, stamps.is_empty())?;
    // Without cutouts the light curve takes the whole picture.
    if stamps.is_empty() {
        return draw_light_curve(alert, &rest);
    }
    let (top, bottom) = rest.split_vertically(CUTOUTS_HEIGHT);
    let panels = top.split_evenly((1, 3));
    for (panel, stamp) in panels.iter().zip(stamps) {
        draw_stamp(stamp, panel)?;
    }
    draw_light_curve(alert, &bottom)
}

fn draw_title<DB: DrawingBackend>(
    alert: &Alert,
    area: &DrawingArea<DB, Shift>,
    no_cutouts: bool,
) -> Result<()> {
    let show = |o: Option<String>| o.unwrap_or_else(|| "?".into());
    let line1 = format!(
        "{}   alert {}   {}",
        show(alert.object_id().map(|i| i.to_string())),
        show(alert.alert_id().map(|i| i.to_string())),
        show(alert.time().map(|t| t.to_utc_string())),
    );
    let mut line2 = format!(
        "RA {}  Dec {}",
        show(alert.ra().map(|v| format!("{v:.5}"))),
        show(alert.dec().map(|v| format!("{v:.5}")))
    );
    for (name, value) in fink_fields(alert) {
        line2.push_str(&format!("   {name}: {value}"));
    }
    if no_cutouts {
        line2.push_str(match alert.survey() {
            Survey::Antares => "   (ANTARES alerts carry no cutouts)",
            _ => "   (no cutouts in this alert)",
        });
    }
    let font = (FONT, 22).into_font();
    area.draw(&Text::new(line1, (20, 10), font.clone()))
        .map_err(drawing)?;
    area.draw(&Text::new(line2, (20, 40), (FONT, 17).into_font()))
        .map_err(drawing)?;
    Ok(())
}

/// Fink's classification and a few scores, when the alert has them.
fn fink_fields(alert: &Alert) -> Vec<(&'static str, String)> {
    let r = alert.record();
    let mut out = Vec::new();
    for name in ["finkclass", "classification", "cdsxmatch"] {
        if let Some(v) = r.get(name).and_then(|d| d.as_str()) {
            out.push((name, v.to_owned()));
        }
    }
    for name in ["rf_snia_vs_nonia", "snn_snia_vs_nonia", "anomaly_score"] {
        if let Some(v) = r.get(name).and_then(|d| d.as_f64()) {
            out.push((name, format!("{v:.3}")));
        }
    }
    out
}

fn draw_stamp<DB: DrawingBackend>(stamp: &Stamp, area: &DrawingArea<DB, Shift>) -> Result<()> {
    let (w, h) = (stamp.width as i32, stamp.height as i32);
    // Square pixels: the panel's spare width becomes margins.
    let (pw, ph) = area.dim_in_pixel();
    let caption = 40;
    let side = pw.min(ph.saturating_sub(caption)) as i32;
    let spare = (pw as i32 - side).max(0) / 2;
    let area = area.margin(0, 0, spare, spare);
    let mut chart = ChartBuilder::on(&area)
        .caption(stamp.kind.name(), (FONT, 18))
        .margin(8)
        .build_cartesian_2d(0..w, 0..h)
        .map_err(drawing)?;
    let values = stretch::display_values(stamp);
    let pixels = values.iter().enumerate().map(|(i, v)| {
        let (x, y) = ((i % stamp.width) as i32, (i / stamp.width) as i32);
        let colour = if v.is_nan() {
            NAN_COLOUR
        } else {
            let g = grey_level(*v);
            RGBColor(g, g, g)
        };
        // FITS row 1 is the bottom row: y grows upward, north up as stored.
        Rectangle::new([(x, y), (x + 1, y + 1)], colour.filled())
    });
    chart.draw_series(pixels).map_err(drawing)?;
    Ok(())
}

/// A point on the light-curve chart: MJD, brightness, its error.
type Xy = (f64, f64, Option<f64>);

/// Where a measurement goes on the chart: days (MJD) and the brightness
/// (magnitude for ZTF, flux in nJy for Rubin).
fn point(m: &Measurement, survey: Survey) -> Option<Xy> {
    let t = m.time?;
    let mjd = match t.scale {
        TimeScale::JdUtc => t.value - 2_400_000.5,
        TimeScale::MjdUtc | TimeScale::MjdTai => t.value,
    };
    match (survey, m.kind) {
        (Survey::Rubin | Survey::Lasair, _) => Some((mjd, m.flux_njy?, m.flux_err_njy)),
        (_, Kind::UpperLimit) => Some((mjd, m.upper_limit?, None)),
        _ => Some((mjd, m.mag?, m.mag_err)),
    }
}

fn draw_light_curve<DB: DrawingBackend>(
    alert: &Alert,
    area: &DrawingArea<DB, Shift>,
) -> Result<()> {
    let survey = alert.survey();
    let measurements = alert.measurements();
    let points: Vec<(&Measurement, Xy)> = measurements
        .iter()
        .filter_map(|m| Some((m, point(m, survey)?)))
        .collect();
    let (chart_area, legend) = area.split_horizontally(WIDTH - 120);
    if points.is_empty() {
        chart_area
            .draw(&Text::new(
                "no light-curve point",
                (40, 40),
                (FONT, 20).into_font(),
            ))
            .map_err(drawing)?;
        return Ok(());
    }
    let (x0, x1) = bounds(points.iter().map(|(_, p)| p.0));
    let (y0, y1) = bounds(
        points
            .iter()
            .flat_map(|(_, (_, y, e))| [*y - e.unwrap_or(0.0), *y + e.unwrap_or(0.0)]),
    );
    let magnitudes = !matches!(survey, Survey::Rubin | Survey::Lasair);
    // Magnitudes: brighter is up.
    let y_range = if magnitudes { y1..y0 } else { y0..y1 };
    let mut chart = ChartBuilder::on(&chart_area)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y_range)
        .map_err(drawing)?;
    // Major grid lines only, light: the data stand out.
    chart
        .configure_mesh()
        .max_light_lines(0)
        .bold_line_style(BLACK.mix(0.08))
        .x_desc("MJD")
        .y_desc(if magnitudes {
            "magnitude"
        } else {
            "flux (nJy)"
        })
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .draw()
        .map_err(drawing)?;
    for (m, (x, y, err)) in &points {
        let colour = band_colour(m.band.as_deref().unwrap_or(""));
        match m.kind {
            Kind::Detection => {
                if let Some(e) = err {
                    let bar =
                        PathElement::new(vec![(*x, y - e), (*x, y + e)], colour.stroke_width(1));
                    chart.draw_series(std::iter::once(bar)).map_err(drawing)?;
                }
                chart
                    .draw_series(std::iter::once(Circle::new((*x, *y), 4, colour.filled())))
                    .map_err(drawing)?;
            }
            Kind::Forced => {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (*x, *y),
                        3,
                        colour.stroke_width(1),
                    )))
                    .map_err(drawing)?;
            }
            Kind::UpperLimit => {
                let triangle = vec![(-5, -4), (5, -4), (0, 5), (-5, -4)];
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at((*x, *y))
                            + PathElement::new(triangle, colour.stroke_width(1)),
                    ))
                    .map_err(drawing)?;
            }
        }
    }
    // This alert's own point.
    if let Some((_, (x, y, _))) = points.first().filter(|(m, _)| {
        matches!(
            m.source,
            crate::model::lightcurve::Source::Candidate
                | crate::model::lightcurve::Source::DiaSource
        )
    }) {
        chart
            .draw_series(std::iter::once(Cross::new(
                (*x, *y),
                9,
                BLACK.stroke_width(2),
            )))
            .map_err(drawing)?;
    }
    draw_legend(&points, &legend)
}

fn draw_legend<DB: DrawingBackend>(
    points: &[(&Measurement, Xy)],
    area: &DrawingArea<DB, Shift>,
) -> Result<()> {
    let mut bands: Vec<&str> = points
        .iter()
        .filter_map(|(m, _)| m.band.as_deref())
        .collect();
    bands.sort_by_key(|b| "ugrizy".find(b).unwrap_or(9));
    bands.dedup();
    for (i, band) in bands.iter().enumerate() {
        let y = 40 + 30 * i as i32;
        area.draw(&Rectangle::new(
            [(10, y), (26, y + 16)],
            band_colour(band).filled(),
        ))
        .map_err(drawing)?;
        area.draw(&Text::new(
            band.to_string(),
            (34, y),
            (FONT, 18).into_font(),
        ))
        .map_err(drawing)?;
    }
    Ok(())
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(0.1);
    (lo - pad, hi + pad)
}
