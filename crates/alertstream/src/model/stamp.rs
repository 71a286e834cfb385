//! Image stamps: an alert's cutouts decoded from their FITS bytes (gunzipped
//! first when the survey compressed them, as ZTF does) with fitsrs.

use crate::error::{Error, Result};
use crate::model::alert::{Alert, Cutout};
use fitsrs::card::Value as FitsValue;
use fitsrs::{Fits, Pixels, HDU};
use std::io::Cursor;

/// One decoded stamp.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamp {
    pub kind: Cutout,
    /// NAXIS1: pixels per row.
    pub width: usize,
    /// NAXIS2: rows.
    pub height: usize,
    /// BITPIX as stored (-32 for ZTF's f32 stamps).
    pub bitpix: i32,
    /// Pixel values in FITS order (row 1, the bottom one, first), with
    /// BSCALE and BZERO applied; NaN where the survey put no value.
    pub pixels: Vec<f64>,
    /// The header's cards with a value, in order.
    pub cards: Vec<HeaderCard>,
}

/// A header card: keyword and value.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderCard {
    pub keyword: String,
    pub value: HeaderValue,
}

/// A header card's value.
#[derive(Debug, Clone, PartialEq)]
pub enum HeaderValue {
    Integer(i64),
    Float(f64),
    Logical(bool),
    String(String),
    /// A keyword with a blank value.
    Undefined,
}

impl Stamp {
    /// Decodes the first image of a FITS file (gzip-compressed or not).
    pub fn from_fits(kind: Cutout, bytes: &[u8]) -> Result<Stamp> {
        let fits = gunzipped(bytes, kind)?;
        let bad = |reason: String| Error::Fits {
            cutout: kind.name(),
            reason,
        };
        let mut hdus = Fits::from_reader(Cursor::new(&fits[..]));
        let hdu = match hdus.next() {
            Some(Ok(HDU::Primary(hdu))) => hdu,
            Some(Ok(_)) => return Err(bad("the first HDU is not an image".into())),
            Some(Err(e)) => return Err(bad(e.to_string())),
            None => return Err(bad("no HDU".into())),
        };
        let header = hdu.get_header();
        let naxis = header.get_xtension().get_naxis().to_vec();
        let [width, height] = naxis[..] else {
            return Err(bad(format!("{} axes where a stamp has 2", naxis.len())));
        };
        let cards = cards_of(header.cards());
        let number = |key: &str, default: f64| match header.get(key) {
            Some(FitsValue::Float { value, .. }) => *value,
            Some(FitsValue::Integer { value, .. }) => *value as f64,
            _ => default,
        };
        let (scale, zero) = (number("BSCALE", 1.0), number("BZERO", 0.0));
        let blank = match header.get("BLANK") {
            Some(FitsValue::Integer { value, .. }) => Some(*value),
            _ => None,
        };
        let bitpix = header.get_xtension().get_bitpix() as i32;
        let expected = (width * height) as usize;
        let image = hdus.get_data(&hdu);
        let scaled = |v: f64| v * scale + zero;
        let integer = |v: i64| match blank {
            Some(b) if b == v => f64::NAN,
            _ => scaled(v as f64),
        };
        let pixels: Vec<f64> = match image.pixels() {
            Pixels::U8(it) => it.map(|v| integer(v.into())).collect(),
            Pixels::I16(it) => it.map(|v| integer(v.into())).collect(),
            Pixels::I32(it) => it.map(|v| integer(v.into())).collect(),
            Pixels::I64(it) => it.map(integer).collect(),
            Pixels::F32(it) => it.map(|v| scaled(v.into())).collect(),
            Pixels::F64(it) => it.map(scaled).collect(),
        };
        if pixels.len() != expected {
            return Err(bad(format!(
                "{} pixels where {width}x{height} needs {expected}",
                pixels.len()
            )));
        }
        Ok(Stamp {
            kind,
            width: width as usize,
            height: height as usize,
            bitpix,
            pixels,
            cards,
        })
    }

    /// The value of pixel (x, y), 0-based from the bottom-left corner.
    pub fn at(&self, x: usize, y: usize) -> Option<f64> {
        (x < self.width)
            .then(|| self.pixels.get(y * self.width + x).copied())
            .flatten()
    }

    /// A card's value by keyword (the first card of that name).
    pub fn card(&self, keyword: &str) -> Option<&HeaderValue> {
        self.cards
            .iter()
            .find(|c| c.keyword == keyword)
            .map(|c| &c.value)
    }
}

fn cards_of<'a>(cards: impl Iterator<Item = &'a fitsrs::card::Card>) -> Vec<HeaderCard> {
    use fitsrs::card::Card;
    cards
        .filter_map(|card| match card {
            Card::Value { name, value } => Some(HeaderCard {
                keyword: name.clone(),
                value: match value {
                    FitsValue::Integer { value, .. } => HeaderValue::Integer(*value),
                    FitsValue::Float { value, .. } => HeaderValue::Float(*value),
                    FitsValue::Logical { value, .. } => HeaderValue::Logical(*value),
                    FitsValue::String { value, .. } => HeaderValue::String(value.clone()),
                    FitsValue::Undefined | FitsValue::Invalid(_) => HeaderValue::Undefined,
                },
            }),
            _ => None,
        })
        .collect()
}

/// A stamp's FITS bytes: as stored, or inflated when they are gzip data
/// (ZTF), within the inflate limit.
pub(crate) fn gunzipped(bytes: &[u8], kind: Cutout) -> Result<std::borrow::Cow<'_, [u8]>> {
    if !bytes.starts_with(&crate::limits::GZIP_MAGIC) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let limit = crate::limits::Limits::default().max_inflated;
    crate::limits::inflate(flate2::read::GzDecoder::new(bytes), limit, "gzip")
        .map(std::borrow::Cow::Owned)
        .map_err(|e| match e {
            Error::Decompress { codec, reason } => Error::Decompress {
                codec,
                reason: format!("{} cutout: {reason}", kind.name()),
            },
            other => other,
        })
}

impl Alert {
    /// The alert's stamps that are present (science, template, difference),
    /// decoded. ANTARES alerts carry none: the list is empty.
    ///
    /// ```
    /// # use alertstream::{Decoder, DecoderOptions};
    /// # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro");
    /// # let alert = Decoder::new(DecoderOptions::default())?.decode_file(path.as_ref()).into_result()?.remove(0);
    /// for stamp in alert.cutouts()? {
    ///     let finite = stamp.pixels.iter().filter(|v| v.is_finite()).count();
    ///     println!("{}: {}x{}, {finite} finite pixels", stamp.kind.name(), stamp.width, stamp.height);
    /// }
    /// # Ok::<(), alertstream::Error>(())
    /// ```
    pub fn cutouts(&self) -> Result<Vec<Stamp>> {
        Cutout::ALL
            .iter()
            .filter_map(|&kind| self.cutout_raw(kind).map(|raw| Stamp::from_fits(kind, raw)))
            .collect()
    }
}

/// Display limits of an image: IRAF's zscale, as astropy's `ZScaleInterval`
/// computes it (1,000 samples, contrast 0.25, 2.5-sigma rejection over at
/// most 5 iterations, rejected pixels' neighbours rejected too). `None` when
/// no pixel is finite.
pub fn zscale(values: &[f64]) -> Option<(f64, f64)> {
    const SAMPLES: usize = 1000;
    const CONTRAST: f64 = 0.25;
    const KREJ: f64 = 2.5;
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let stride = ((finite.len() as f64 / SAMPLES as f64).max(1.0)) as usize;
    let mut samples: Vec<f64> = finite.into_iter().step_by(stride).take(SAMPLES).collect();
    samples.sort_by(f64::total_cmp);
    let npix = samples.len();
    let (mut low, mut high) = (*samples.first()?, *samples.last()?);
    let min_good = 5.max((npix as f64 * 0.5) as usize);
    let grow = 1.max((npix as f64 * 0.01) as usize);
    let mut rejected = vec![false; npix];
    let (mut good, mut last_good) = (npix, npix + 1);
    let mut slope = None;
    for _ in 0..5 {
        if good >= last_good || good < min_good {
            break;
        }
        let (s, intercept) = line_fit(&samples, &rejected);
        slope = Some(s);
        let flat: Vec<f64> = samples
            .iter()
            .enumerate()
            .map(|(i, v)| v - (s * i as f64 + intercept))
            .collect();
        let threshold = KREJ
            * std_dev(
                flat.iter()
                    .zip(&rejected)
                    .filter(|(_, r)| !**r)
                    .map(|(f, _)| *f),
            );
        for (r, f) in rejected.iter_mut().zip(&flat) {
            if *f < -threshold || *f > threshold {
                *r = true;
            }
        }
        rejected = dilate(&rejected, grow);
        last_good = good;
        good = rejected.iter().filter(|r| !**r).count();
    }
    if let Some(s) = slope.filter(|_| good >= min_good) {
        let s = s / CONTRAST;
        let center = (npix - 1) / 2;
        let median = if npix % 2 == 1 {
            samples[npix / 2]
        } else {
            (samples[npix / 2 - 1] + samples[npix / 2]) / 2.0
        };
        low = low.max(median - (center as f64 - 1.0) * s);
        high = high.min(median + (npix - center) as f64 * s);
    }
    Some((low, high))
}

/// Least-squares line through the points not rejected: (slope, intercept).
fn line_fit(y: &[f64], rejected: &[bool]) -> (f64, f64) {
    let points = || {
        y.iter()
            .enumerate()
            .zip(rejected)
            .filter(|(_, r)| !**r)
            .map(|((i, v), _)| (i as f64, *v))
    };
    let n = points().count() as f64;
    let (mx, my) = points().fold((0.0, 0.0), |(sx, sy), (x, v)| (sx + x / n, sy + v / n));
    let (sxy, sxx) = points().fold((0.0, 0.0), |(a, b), (x, v)| {
        (a + (x - mx) * (v - my), b + (x - mx) * (x - mx))
    });
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (slope, my - slope * mx)
}

fn std_dev(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = values.clone().count() as f64;
    if n == 0.0 {
        return 0.0;
    }
    let mean = values.clone().sum::<f64>() / n;
    (values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

/// Marks the neighbours of rejected samples as numpy's
/// `convolve(rejected, ones(grow), mode="same")` does.
fn dilate(rejected: &[bool], grow: usize) -> Vec<bool> {
    let n = rejected.len() as isize;
    let (before, after) = (
        grow as isize - 1 - (grow as isize - 1) / 2,
        (grow as isize - 1) / 2,
    );
    (0..n)
        .map(|i| {
            let from = (i - before).max(0);
            let to = (i + after).min(n - 1);
            (from..=to).any(|j| rejected[j as usize])
        })
        .collect()
}

/// The asinh stretch of astropy's `AsinhStretch(a)` on values normalized to
/// `[0, 1]` between `low` and `high` (clipped); NaN stays NaN.
pub fn asinh_stretch(value: f64, low: f64, high: f64, a: f64) -> f64 {
    if value.is_nan() {
        return f64::NAN;
    }
    let span = high - low;
    let x = if span > 0.0 {
        ((value - low) / span).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (x / a).asinh() / (1.0 / a).asinh()
}

impl Stamp {
    /// Display values in `[0, 1]`: zscale limits, then an asinh stretch
    /// (a = 0.1); NaN where the pixel is NaN.
    pub fn display_values(&self) -> Vec<f64> {
        match zscale(&self.pixels) {
            Some((low, high)) => self
                .pixels
                .iter()
                .map(|&v| asinh_stretch(v, low, high, 0.1))
                .collect(),
            None => vec![f64::NAN; self.pixels.len()],
        }
    }
}
