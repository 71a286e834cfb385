//! Payload formats and their detection from the bytes of a message or file.

use std::fmt;
use std::str::FromStr;

/// The wire formats alert brokers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// An Avro Object Container File per message (ZTF; Fink files and Spark parts too).
    Ztf,
    /// A schemaless Avro datum; writer schema in the message key or given by the user.
    Fink,
    /// Confluent wire format: byte 0, 4-byte big-endian schema id, schemaless datum (Rubin).
    Confluent,
    /// zlib-compressed BSON (ANTARES).
    Antares,
    /// JSON objects (one or more per payload).
    Json,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Ztf,
        Format::Fink,
        Format::Confluent,
        Format::Antares,
        Format::Json,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Ztf => "ztf",
            Format::Fink => "fink",
            Format::Confluent => "confluent",
            Format::Antares => "antares",
            Format::Json => "json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown format '{s}' (expected ztf, fink, confluent, antares or json)")
            })
    }
}

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
