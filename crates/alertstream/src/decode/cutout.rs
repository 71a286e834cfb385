//! A cutout's FITS bytes into a [`Stamp`]: gunzipped first when the survey
//! compressed them (ZTF), within the alert's decoding limits, then read
//! with fitsrs.

use crate::decode::framing::gunzip_if_gzip;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::model::alert::Alert;
use crate::model::stamp::{Cutout, HeaderCard, HeaderValue, Stamp};
use fitsrs::card::Value as FitsValue;
use fitsrs::{Fits, Pixels, HDU};
use std::io::Cursor;

impl Stamp {
    /// Decodes the first image of a FITS file (gzip-compressed or not),
    /// within the default [`Limits`].
    pub fn from_fits(kind: Cutout, bytes: &[u8]) -> Result<Stamp> {
        Stamp::from_fits_within(kind, bytes, &Limits::default())
    }

    /// Decodes the first image of a FITS file (gzip-compressed or not),
    /// inflating it to at most `limits.max_inflated` bytes.
    pub fn from_fits_within(kind: Cutout, bytes: &[u8], limits: &Limits) -> Result<Stamp> {
        let fits = gunzipped(bytes, kind, limits.max_inflated)?;
        let bad = |reason: String| Error::Fits {
            cutout: kind.name(),
            reason,
        };
        // fitsrs multiplies the header's axes unchecked: look first.
        super::fits_sizes::check(&fits).map_err(bad)?;
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
        let expected = pixel_count(width, height, bitpix, fits.len()).map_err(bad)?;
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
}

/// How many pixels a `width` x `height` image has, refusing sizes that the
/// stamp's bytes cannot hold (a hostile header's NAXIS1 = NAXIS2 = 2^40).
fn pixel_count(width: u64, height: u64, bitpix: i32, bytes: usize) -> Result<usize, String> {
    let bytes_per_pixel = u64::from(bitpix.unsigned_abs() / 8).max(1);
    width
        .checked_mul(height)
        .filter(|&n| {
            n.checked_mul(bytes_per_pixel)
                .is_some_and(|b| b <= bytes as u64)
        })
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| {
            format!("NAXIS1 x NAXIS2 = {width} x {height} pixels cannot fit in its {bytes} bytes")
        })
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
fn gunzipped(bytes: &[u8], kind: Cutout, limit: usize) -> Result<std::borrow::Cow<'_, [u8]>> {
    gunzip_if_gzip(bytes, limit).map_err(|e| match e {
        Error::Decompress { codec, reason } => Error::Decompress {
            codec,
            reason: format!("{} cutout: {reason}", kind.name()),
        },
        Error::LimitExceeded {
            limit,
            what,
            allowed,
        } => Error::LimitExceeded {
            limit,
            what: format!("{} cutout: {what}", kind.name()),
            allowed,
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
        let limits = self.limits();
        Cutout::ALL
            .iter()
            .filter_map(|&kind| {
                self.cutout_raw(kind)
                    .map(|raw| Stamp::from_fits_within(kind, raw, limits))
            })
            .collect()
    }

    /// The stamp as FITS bytes, gunzipped when it was gzip-compressed.
    pub fn cutout(&self, kind: Cutout) -> Result<Option<Vec<u8>>> {
        let Some(raw) = self.cutout_raw(kind) else {
            return Ok(None);
        };
        gunzipped(raw, kind, self.limits().max_inflated).map(|fits| Some(fits.into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A FITS primary header of 80-character cards, padded to 2880 bytes.
    fn header(cards: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for card in cards.iter().chain(&["END"]) {
            out.extend_from_slice(format!("{card:<80}").as_bytes());
        }
        out.resize(out.len().div_ceil(2880) * 2880, b' ');
        out
    }

    #[test]
    fn a_header_claiming_more_pixels_than_bytes_is_refused() {
        let huge = header(&[
            "SIMPLE  =                    T",
            "BITPIX  =                  -32",
            "NAXIS   =                    2",
            "NAXIS1  =        1099511627776",
            "NAXIS2  =        1099511627776",
        ]);
        let error = Stamp::from_fits(Cutout::Science, &huge).unwrap_err();
        assert!(matches!(error, Error::Fits { .. }), "{error}");
        assert!(
            error.to_string().contains("1099511627776 x 1099511627776"),
            "{error}"
        );
    }

    #[test]
    fn pixel_counts_are_checked_against_the_bytes() {
        assert_eq!(pixel_count(63, 63, -32, 63 * 63 * 4 + 2880), Ok(63 * 63));
        assert!(pixel_count(63, 63, -32, 63 * 63 * 4 - 1).is_err());
        assert!(pixel_count(1 << 40, 1 << 40, 8, usize::MAX).is_err());
    }
}
