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

/// The bytes themselves, or inflated when they are gzip data.
fn gunzipped(bytes: &[u8], kind: Cutout) -> Result<std::borrow::Cow<'_, [u8]>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
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
