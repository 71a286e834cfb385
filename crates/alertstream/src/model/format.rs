//! The payload formats of alert brokers (detected by [`crate::decode`]).

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
    /// A document that is not an alert (a VOEvent, a GCN notice or
    /// circular): kept as it is, its text in the record's `content`.
    Text,
}

crate::names::named!(Format, "format", {
    Format::Ztf => "ztf",
    Format::Fink => "fink",
    Format::Confluent => "confluent",
    Format::Antares => "antares",
    Format::Json => "json",
    Format::Text => "text",
});

impl Format {
    /// Every format.
    pub const ALL: &'static [Format] = <Format as crate::names::Named>::ALL;

    /// Its name: `ztf`, `fink`, `confluent`, `antares`, `json`, `text`.
    pub fn name(self) -> &'static str {
        crate::names::Named::name(self)
    }
}
