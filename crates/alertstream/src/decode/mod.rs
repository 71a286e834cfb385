//! From payload bytes to [`Alert`]s: format detection, schema lookup, decoding.

pub mod cutout;
pub mod datum;
pub mod document;
pub mod files;
pub(crate) mod fits_sizes;
pub mod framing;
pub mod parallel;
#[cfg(feature = "registry")]
mod registry;
pub mod schemas;

pub use crate::limits::Limits;

use crate::avro::container;
use crate::error::{Error, Result};
use crate::model::alert::Alert;
use crate::model::format::Format;
use crate::model::schema::WriterSchema;
use bytes::Bytes;
use framing::{head_hex, sniff, starts_like_json, Sniffed};
use schemas::{SchemaCache, SchemaIdResolver};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The kind of a text document whose producer named none.
pub const TEXT_KIND: &str = "text";
/// How far into a document its kind is looked for.
const KIND_SNIFF_BYTES: usize = 512;

/// A document that is no alert but text: UTF-8 without control characters
/// other than white space (GCN's text notices and circulars, VOEvents).
fn is_text(value: &[u8]) -> bool {
    !value.is_empty()
        && std::str::from_utf8(value)
            .is_ok_and(|t| !t.chars().any(|c| c.is_control() && !c.is_whitespace()))
}

/// `voevent` for a VOEvent, `xml` for other XML, else `text`.
fn text_kind(value: &[u8]) -> &'static str {
    let head = String::from_utf8_lossy(&value[..value.len().min(KIND_SNIFF_BYTES)]);
    match head.trim_start().starts_with('<') {
        true if head.contains("VOEvent") => "voevent",
        true => "xml",
        false => TEXT_KIND,
    }
}

/// How to find formats and schemas. Everything is optional: by default the
/// format is detected from each payload.
///
/// ```
/// use alertstream::DecoderOptions;
/// let options = DecoderOptions::default().with_schema_dir("schemas/rubin");
/// assert!(options.schema_registry.is_none());
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DecoderOptions {
    /// Force a format instead of detecting it.
    pub format: Option<Format>,
    /// Writer schema for schemaless (Fink) datums, taking precedence over the key.
    pub schema_file: Option<PathBuf>,
    /// Folder of schemas: Rubin alert_packet layout for Confluent ids, and
    /// `distribution_schema_fink_ztf_<KEY>.avsc` for Fink version-string keys.
    pub schema_dir: Option<PathBuf>,
    /// Confluent-compatible schema registry base URL.
    pub schema_registry: Option<String>,
    /// Bounds on what one payload may cost.
    pub limits: Limits,
}

impl DecoderOptions {
    /// Every payload read as `format`, not detected.
    pub fn with_format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// The writer schema of schemaless (Fink) datums.
    pub fn with_schema_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.schema_file = Some(path.into());
        self
    }

    /// A folder of schemas (Rubin's alert_packet layout, Fink's versions).
    pub fn with_schema_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.schema_dir = Some(dir.into());
        self
    }

    /// A Confluent-compatible schema registry (a path prefix is kept).
    pub fn with_schema_registry(mut self, url: impl Into<String>) -> Self {
        self.schema_registry = Some(url.into());
        self
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// Decodes payloads of any supported format. Cheap to share between threads;
/// schemas are parsed once and cached.
///
/// ```
/// use alertstream::{Decoder, DecoderOptions};
/// let decoder = Decoder::new(DecoderOptions::default()).unwrap();
/// let alerts = decoder.decode(None, br#"{"objectId": "ZTF21abc", "candid": 1234567890123456789}"#.to_vec().into()).unwrap();
/// assert_eq!(alerts[0].record().get("candid").unwrap().as_i64(), Some(1234567890123456789));
/// ```
#[derive(Debug)]
pub struct Decoder {
    format: Option<Format>,
    fixed_schema: Option<Arc<WriterSchema>>,
    schema_dir: Option<PathBuf>,
    cache: SchemaCache,
    ids: SchemaIdResolver,
    /// Schemas of old Fink version keys, read once per version.
    by_version: std::sync::Mutex<std::collections::HashMap<String, Arc<WriterSchema>>>,
    limits: Limits,
}

/// What decoding one payload gave: the alerts read, and the error that
/// stopped it, if any (a multi-record file can fail half-way).
#[derive(Debug, Default)]
pub struct Decoded {
    pub alerts: Vec<Alert>,
    pub failure: Option<Failure>,
}

/// Where and why decoding stopped.
#[derive(Debug)]
pub struct Failure {
    /// Index of the record that failed, when the payload holds several.
    pub record: Option<usize>,
    pub error: Error,
}

impl Decoded {
    fn failed(error: Error) -> Self {
        Decoded {
            alerts: Vec::new(),
            failure: Some(Failure {
                record: None,
                error,
            }),
        }
    }

    /// All alerts, or the first error (with its record index).
    pub fn into_result(self) -> Result<Vec<Alert>> {
        match self.failure {
            None => Ok(self.alerts),
            Some(Failure {
                record: Some(index),
                error,
            }) => Err(Error::InRecord {
                index,
                source: Box::new(error),
            }),
            Some(Failure {
                record: None,
                error,
            }) => Err(error),
        }
    }
}

impl Decoder {
    pub fn new(options: DecoderOptions) -> Result<Self> {
        let fixed_schema = match &options.schema_file {
            Some(path) => Some(Arc::new(WriterSchema::from_file(path)?)),
            None => None,
        };
        Ok(Decoder {
            format: options.format,
            fixed_schema,
            schema_dir: options.schema_dir.clone(),
            cache: SchemaCache::with_capacity(options.limits.max_schemas),
            ids: SchemaIdResolver::new(options.schema_dir, options.schema_registry),
            by_version: Default::default(),
            limits: options.limits,
        })
    }

    /// Decodes one message (key and value) into its alerts; a ZTF-style
    /// container may hold several.
    pub fn decode(&self, key: Option<&[u8]>, value: Bytes) -> Result<Vec<Alert>> {
        self.decode_partial(key, value).into_result()
    }

    /// Like [`Decoder::decode`] but keeps the alerts read before a failure.
    pub fn decode_partial(&self, key: Option<&[u8]>, value: Bytes) -> Decoded {
        self.decode_as(self.format, key, value)
    }

    /// Strips the gzip layers and decodes as `format` (detected when `None`).
    fn decode_as(&self, format: Option<Format>, key: Option<&[u8]>, value: Bytes) -> Decoded {
        let value = match framing::strip_gzip_layers(value, &self.limits) {
            Ok(inner) => inner,
            Err(e) => return Decoded::failed(e),
        };
        let mut decoded = self.decode_unwrapped(format, key, value);
        for alert in &mut decoded.alerts {
            alert.set_limits(self.limits);
        }
        decoded
    }

    /// Decodes a payload whose gzip layers are off.
    fn decode_unwrapped(
        &self,
        format: Option<Format>,
        key: Option<&[u8]>,
        value: Bytes,
    ) -> Decoded {
        let format = match format.or_else(|| self.detect(key, &value)) {
            Some(f) => f,
            None => {
                return Decoded::failed(Error::UnknownFormat {
                    head: head_hex(&value),
                })
            }
        };
        match format {
            Format::Ztf => self.decode_container(value),
            Format::Fink => single(self.decode_fink(key, value)),
            Format::Confluent => single(self.decode_confluent(value)),
            Format::Antares => single(
                document::decode_antares(&value, &self.limits)
                    .map(|record| Alert::from_document(Format::Antares, value, record)),
            ),
            Format::Json => self.decode_json(value),
            Format::Text => single(self.decode_text(text_kind(&value), value)),
        }
    }

    /// Decodes a message of a stream, whose producer may have named its
    /// format in a `_format` header, as SCiMMA's hop-client does: `json` and
    /// `avro` (a container) are alerts; `voevent`, `gcntextnotice`,
    /// `circular` and `external` are documents kept as they are
    /// ([`Format::Text`]); `blob` and other names are detected, and kept as
    /// documents when they are no alert. Without a header, text that is no
    /// alert (a VOEvent, a GCN notice) is a document too, not a poison
    /// message. A format given in the options wins over the header.
    pub fn decode_with_format_header(
        &self,
        key: Option<&[u8]>,
        value: Bytes,
        header: Option<&str>,
    ) -> Decoded {
        let header = header.filter(|_| self.format.is_none());
        let named = match header {
            Some("json") => Some(Format::Json),
            Some("avro") => Some(Format::Ztf),
            Some(kind @ ("voevent" | "gcntextnotice" | "circular" | "external")) => {
                return single(self.decode_text(kind, value));
            }
            _ => None,
        };
        let decoded = self.decode_as(named.or(self.format), key, value.clone());
        if named.is_some() || !decoded.alerts.is_empty() {
            return decoded;
        }
        let Some(failure) = &decoded.failure else {
            return decoded;
        };
        match header {
            Some(kind) => single(self.decode_text(kind, value)),
            None if matches!(failure.error, Error::UnknownFormat { .. }) && is_text(&value) => {
                single(self.decode_text(text_kind(&value), value))
            }
            None => decoded,
        }
    }

    /// JSON objects, one alert each.
    fn decode_json(&self, value: Bytes) -> Decoded {
        match document::decode_json(&value, self.limits.max_depth) {
            Ok(records) => Decoded {
                alerts: records
                    .into_iter()
                    .map(|r| Alert::from_document(Format::Json, value.clone(), r))
                    .collect(),
                failure: None,
            },
            Err(e) => Decoded::failed(e),
        }
    }

    /// A document that is not an alert: `{"_format": kind, "content": text}`
    /// (bytes that are not UTF-8 are replaced), the bytes kept as they came.
    fn decode_text(&self, kind: &str, value: Bytes) -> Result<Alert> {
        let content = String::from_utf8_lossy(&value);
        let json = serde_json::json!({ "_format": kind, "content": content }).to_string();
        let mut records = document::decode_json(json.as_bytes(), self.limits.max_depth)?;
        let record = records
            .pop()
            .ok_or_else(|| Error::corrupt(0, "an empty text document"))?;
        Ok(Alert::from_document(Format::Text, value, record))
    }

    /// Reads and decodes a file (gzip-compressed files are inflated first).
    pub fn decode_file(&self, path: &Path) -> Decoded {
        match std::fs::read(path) {
            Ok(bytes) => self.decode_partial(None, bytes.into()),
            Err(e) => Decoded::failed(Error::io(path, e)),
        }
    }

    /// The writer schema of an Avro container file, read from its header
    /// alone (every record of a container has it); `None` when the bytes
    /// are not a container.
    pub fn container_schema(&self, value: &Bytes) -> Option<Result<Arc<WriterSchema>>> {
        if self.format.is_some_and(|f| f != Format::Ztf) || sniff(value) != Sniffed::Container {
            return None;
        }
        Some(
            container::read_header(value)
                .and_then(|header| self.cache.get_or_parse(&header.schema)),
        )
    }

    /// Guesses the format of a message from its bytes and key.
    pub fn detect(&self, key: Option<&[u8]>, value: &[u8]) -> Option<Format> {
        let key_names_schema = key.is_some_and(|k| starts_like_json(k) || is_fink_version(k));
        match sniff(value) {
            Sniffed::Container => Some(Format::Ztf),
            _ if key_names_schema => Some(Format::Fink),
            Sniffed::ConfluentFrame if self.fixed_schema.is_none() => Some(Format::Confluent),
            Sniffed::Zlib => Some(Format::Antares),
            Sniffed::Json => Some(Format::Json),
            _ if self.fixed_schema.is_some() || key.is_some_and(|k| !k.is_empty()) => {
                Some(Format::Fink)
            }
            _ => None,
        }
    }

    /// Number of distinct writer schemas parsed so far.
    pub fn schemas_parsed(&self) -> usize {
        self.cache.len()
    }

    fn decode_container(&self, value: Bytes) -> Decoded {
        let header = match container::read_header(&value) {
            Ok(h) => h,
            Err(e) => return Decoded::failed(e),
        };
        let schema = match self.cache.get_or_parse(&header.schema) {
            Ok(s) => s,
            Err(e) => return Decoded::failed(e),
        };
        let mut out = Decoded::default();
        let mut index = 0;
        for block in container::blocks(&value, &header, self.limits.max_block_bytes) {
            let block = match block {
                Ok(b) => b,
                Err(error) => {
                    out.failure = Some(Failure {
                        record: Some(index),
                        error,
                    });
                    return out;
                }
            };
            let mut pos = 0;
            for _ in 0..block.count {
                match datum::decode_datum(&schema, &block.data, pos, self.limits.max_depth) {
                    Ok((record, end)) => {
                        out.alerts.push(Alert::from_avro(
                            Format::Ztf,
                            value.clone(),
                            block.data.clone(),
                            pos..end,
                            schema.clone(),
                            record,
                        ));
                        pos = end;
                        index += 1;
                    }
                    Err(error) => {
                        out.failure = Some(Failure {
                            record: Some(index),
                            error,
                        });
                        return out;
                    }
                }
            }
            if pos != block.data.len() {
                out.failure = Some(Failure {
                    record: Some(index),
                    error: Error::TrailingBytes {
                        at: block.offset + pos,
                        left: block.data.len() - pos,
                    },
                });
                return out;
            }
        }
        out
    }

    fn decode_fink(&self, key: Option<&[u8]>, value: Bytes) -> Result<Alert> {
        let schema = self.fink_schema(key)?;
        schemaless_alert(Format::Fink, value, schema, 0, &self.limits)
    }

    fn fink_schema(&self, key: Option<&[u8]>) -> Result<Arc<WriterSchema>> {
        if let Some(s) = &self.fixed_schema {
            return Ok(s.clone());
        }
        match key {
            Some(k) if starts_like_json(k) => self.cache.get_or_parse(k),
            Some(k) if !k.is_empty() => self.fink_schema_by_version(k),
            _ => Err(Error::MissingSchema),
        }
    }

    /// Old Fink keys name a schema version (`2.7_3.10.1`); its file is
    /// `distribution_schema_fink_ztf_<version>.avsc` in the schema folder.
    fn fink_schema_by_version(&self, key: &[u8]) -> Result<Arc<WriterSchema>> {
        let version = std::str::from_utf8(key)
            .ok()
            .filter(|_| is_fink_version(key))
            .ok_or(Error::MissingSchema)?;
        let lock = || self.by_version.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(schema) = lock().get(version) {
            return Ok(schema.clone());
        }
        let dir = self.schema_dir.as_ref().ok_or(Error::MissingSchema)?;
        let path = dir.join(format!("distribution_schema_fink_ztf_{version}.avsc"));
        let text = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let schema = self.cache.get_or_parse(&text)?;
        let mut known = lock();
        // A stream names a handful of versions; a hostile one, not many more.
        if known.len() < self.limits.max_schemas {
            known.insert(version.to_owned(), schema.clone());
        }
        Ok(schema)
    }

    fn decode_confluent(&self, value: Bytes) -> Result<Alert> {
        let Some(&[magic, a, b, c, d]) = value.get(..5).and_then(|h| <&[u8; 5]>::try_from(h).ok())
        else {
            return Err(Error::Truncated {
                at: value.len(),
                what: "Confluent header (magic byte and 4-byte schema id)",
            });
        };
        if magic != 0 {
            return Err(Error::corrupt(
                0,
                format!("Confluent magic byte is {magic}, not 0"),
            ));
        }
        let schema = self.ids.resolve(u32::from_be_bytes([a, b, c, d]))?;
        schemaless_alert(Format::Confluent, value, schema, 5, &self.limits)
    }
}

/// An alert whose payload is one Avro datum from byte `start` to the end.
fn schemaless_alert(
    format: Format,
    value: Bytes,
    schema: Arc<WriterSchema>,
    start: usize,
    limits: &Limits,
) -> Result<Alert> {
    let record = datum::decode_whole_datum(&schema, &value, start, limits.max_depth)?;
    let datum = start..value.len();
    Ok(Alert::from_avro(
        format,
        value.clone(),
        value,
        datum,
        schema,
        record,
    ))
}

/// Old Fink keys: a schema version such as `2.7_3.10.1` or `0p3-live`.
fn is_fink_version(key: &[u8]) -> bool {
    key.first().is_some_and(u8::is_ascii_digit)
        && key.len() < 64
        && key
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
}

fn single(result: Result<Alert>) -> Decoded {
    match result {
        Ok(alert) => Decoded {
            alerts: vec![alert],
            failure: None,
        },
        Err(e) => Decoded::failed(e),
    }
}
