//! Bounds on what one payload may cost, below every stage that reads bytes.
//! The numbers live here; each stage that reads bytes applies the ones that
//! concern it (framing, Avro datums, documents, schemas, cutouts).

/// Bounds on what one payload may cost to decode, so that a corrupt or
/// hostile message is an error, not an exhausted memory or stack. Real
/// alerts are under 1 MB, nest a few levels and are gzipped once at most.
///
/// ```
/// use alertstream::decode::Limits;
/// let mut limits = Limits::default();
/// limits.max_gzip_layers = 1;
/// assert!(limits.max_inflated >= 10 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest size a compressed payload (gzip, zlib, a cutout) may inflate
    /// to, all of its gzip layers together.
    pub max_inflated: usize,
    /// Deepest nesting of records, arrays and maps (Avro, BSON, JSON).
    pub max_depth: usize,
    /// Most gzip layers around one payload (a `.avro.gz` file has one).
    pub max_gzip_layers: usize,
    /// Largest decompressed block of an Avro container.
    pub max_block_bytes: usize,
    /// Most distinct writer schemas kept parsed at once.
    pub max_schemas: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_inflated: 64 << 20,
            max_depth: 128,
            max_gzip_layers: 2,
            max_block_bytes: 512 << 20,
            max_schemas: 256,
        }
    }
}

/// The names of the limits, as settings: what an error says was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    MaxInflated,
    MaxDepth,
    MaxGzipLayers,
    MaxBlockBytes,
}

impl Limit {
    /// The field of [`Limits`] that sets it.
    pub fn field(self) -> &'static str {
        match self {
            Limit::MaxInflated => "max_inflated",
            Limit::MaxDepth => "max_depth",
            Limit::MaxGzipLayers => "max_gzip_layers",
            Limit::MaxBlockBytes => "max_block_bytes",
        }
    }
}
