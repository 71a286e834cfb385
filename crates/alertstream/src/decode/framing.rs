//! What wraps a payload before its format: the first bytes that tell what
//! it is (sniffing), and the gzip layers around it (inflating, within the
//! [`Limits`]).

use crate::error::{Error, Limit, Result};
use crate::limits::Limits;
use bytes::Bytes;
use std::io::Read;

/// The first bytes of gzip data.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// What the first bytes of a payload say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    Container,
    Gzip,
    Zlib,
    Json,
    ConfluentFrame,
    Other,
}

pub(crate) fn sniff(value: &[u8]) -> Sniffed {
    match value {
        [b'O', b'b', b'j', 1, ..] => Sniffed::Container,
        [0x1f, 0x8b, ..] => Sniffed::Gzip,
        [0x78, b1, ..] if (0x7800u16 | u16::from(*b1)).is_multiple_of(31) => Sniffed::Zlib,
        [0, _, _, _, _, ..] => Sniffed::ConfluentFrame,
        _ if starts_like_json(value) => Sniffed::Json,
        _ => Sniffed::Other,
    }
}

/// True when the first non-blank byte opens a JSON object or array.
pub(crate) fn starts_like_json(bytes: &[u8]) -> bool {
    matches!(
        bytes.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{') | Some(b'[')
    )
}

/// A short hex dump of the first bytes, for error messages.
pub(crate) fn head_hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "empty payload".to_owned();
    }
    let hex: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    hex.join(" ")
}

/// The payload inside its gzip layers (none: the payload itself), at most
/// `max_gzip_layers` of them, inflating to at most `max_inflated` bytes all
/// layers together. A loop, not a recursion: a hostile payload of many
/// layers is an error, never a stack overflow.
pub(crate) fn strip_gzip_layers(mut value: Bytes, limits: &Limits) -> Result<Bytes> {
    let mut layers = 0;
    let mut budget = limits.max_inflated;
    while sniff(&value) == Sniffed::Gzip {
        if layers == limits.max_gzip_layers {
            return Err(Error::LimitExceeded {
                limit: Limit::MaxGzipLayers,
                what: format!("gzip inside gzip more than {layers} times"),
                allowed: format!("{} layers", limits.max_gzip_layers),
            });
        }
        let inner = inflate(
            flate2::read::MultiGzDecoder::new(&value[..]),
            budget,
            "gzip",
        )?;
        budget -= inner.len();
        layers += 1;
        value = Bytes::from(inner);
    }
    Ok(value)
}

/// Gzip data inflated, within `limit` bytes; other bytes as they are.
pub(crate) fn gunzip_if_gzip(bytes: &[u8], limit: usize) -> Result<std::borrow::Cow<'_, [u8]>> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    inflate(flate2::read::GzDecoder::new(bytes), limit, "gzip").map(std::borrow::Cow::Owned)
}

/// Inflates `reader`, failing when the result would exceed `limit` bytes.
pub(crate) fn inflate(mut reader: impl Read, limit: usize, codec: &'static str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    (&mut reader)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::Decompress {
            codec,
            reason: e.to_string(),
        })?;
    if out.len() > limit {
        return Err(Error::LimitExceeded {
            limit: Limit::MaxInflated,
            what: format!("{codec} data inflates beyond {} bytes", limit),
            allowed: mebibytes(limit),
        });
    }
    Ok(out)
}

fn mebibytes(bytes: usize) -> String {
    match bytes >= 1 << 20 {
        true => format!("{} MiB", bytes >> 20),
        false => format!("{bytes} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn layers_are_stripped_up_to_the_limit() {
        let limits = Limits::default();
        let once = Bytes::from(gzip(b"{\"a\": 1}"));
        assert_eq!(
            &strip_gzip_layers(once.clone(), &limits).unwrap()[..],
            b"{\"a\": 1}"
        );
        let mut many = once.to_vec();
        for _ in 0..limits.max_gzip_layers {
            many = gzip(&many);
        }
        let error = strip_gzip_layers(many.into(), &limits).unwrap_err();
        assert!(
            matches!(
                error,
                Error::LimitExceeded {
                    limit: Limit::MaxGzipLayers,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn the_inflated_size_counts_every_layer() {
        let limits = Limits {
            max_inflated: 1200,
            ..Limits::default()
        };
        // Inner layer: 600 bytes of x and 450 of noise (~1050 inflated);
        // outer layer: ~500 bytes (the noise does not compress). Each fits
        // the limit alone; both together do not.
        let mut seed = 7u32;
        let noise: Vec<u8> = (0..450)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (seed >> 16) as u8
            })
            .collect();
        let inner: Vec<u8> = gzip(&[b'x'; 600]).into_iter().chain(gzip(&noise)).collect();
        assert_eq!(
            strip_gzip_layers(inner.clone().into(), &limits)
                .unwrap()
                .len(),
            1050
        );
        let error = strip_gzip_layers(gzip(&inner).into(), &limits).unwrap_err();
        assert!(
            matches!(
                error,
                Error::LimitExceeded {
                    limit: Limit::MaxInflated,
                    ..
                }
            ),
            "{error}"
        );
    }
}
