//! Bounds on what one payload may cost, below every stage that reads bytes.

use crate::error::{Error, Result};
use std::io::Read;

/// Bounds on what one payload may cost to decode, so that a corrupt or
/// hostile message is an error, not an exhausted memory or stack. Real
/// alerts are under 1 MB and nest a few levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest size a compressed payload (gzip, zlib) may inflate to.
    pub max_inflated: usize,
    /// Deepest nesting of records, arrays and maps in a document (BSON, JSON).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_inflated: 64 << 20,
            max_depth: 128,
        }
    }
}

/// The first bytes of gzip data.
pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

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
        return Err(Error::Decompress {
            codec,
            reason: format!(
                "inflates beyond the {} MiB limit (DecoderOptions::limits): not an alert, or a corrupt one",
                limit >> 20
            ),
        });
    }
    Ok(out)
}
