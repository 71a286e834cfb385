//! Image stamps: which cutouts an alert carries, and one decoded as an
//! image (pixels and header cards). Decoding the FITS bytes is
//! [`crate::decode::cutout`]'s job.

/// The three image stamps of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cutout {
    Science,
    Template,
    Difference,
}

impl Cutout {
    pub const ALL: [Cutout; 3] = [Cutout::Science, Cutout::Template, Cutout::Difference];

    /// The record field that holds it (ZTF, Fink, Rubin).
    pub fn field(self) -> &'static str {
        match self {
            Cutout::Science => "cutoutScience",
            Cutout::Template => "cutoutTemplate",
            Cutout::Difference => "cutoutDifference",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Cutout::Science => "science",
            Cutout::Template => "template",
            Cutout::Difference => "difference",
        }
    }
}

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
