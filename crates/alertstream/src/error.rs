//! Typed errors of the library. Every message names the cause and, where one
//! exists, what the user can do about it.

use std::path::PathBuf;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading, framing or decoding an alert.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The payload ended before a value was complete.
    #[error("truncated at byte {at}: {what} needs more bytes than the payload holds")]
    Truncated { at: usize, what: &'static str },

    /// The bytes do not follow the format they claim to.
    #[error("corrupt data at byte {at}: {reason}")]
    Corrupt { at: usize, reason: String },

    /// Decoding finished but bytes were left over: usually the wrong writer schema.
    #[error("{left} bytes left over after the record ended at byte {at}: the writer schema does not match the data (wrong --schema or --format?)")]
    TrailingBytes { at: usize, left: usize },

    /// Auto-detection found nothing it knows.
    #[error("not Avro, BSON or JSON (first bytes: {head}); pass --format and, for schemaless Avro, --schema FILE")]
    UnknownFormat { head: String },

    /// A schemaless datum arrived with no schema to read it.
    #[error(
        "schemaless Avro needs its writer schema: the message key holds none; pass --schema FILE"
    )]
    MissingSchema,

    /// A schema could not be parsed.
    #[error("invalid Avro schema{origin}: {reason}")]
    SchemaParse { origin: String, reason: String },

    /// A Confluent schema id was not found anywhere we looked.
    #[error("schema id {id} not found ({looked}); pass --schema-dir DIR (alert_packet layout) or --schema-registry URL")]
    SchemaNotFound { id: u32, looked: String },

    /// The schema registry could not be reached or answered badly.
    #[error("schema registry {url}: {reason}")]
    Registry { url: String, reason: String },

    /// A container file uses a codec we cannot decompress.
    #[error("unsupported Avro codec '{0}': supported codecs are null, deflate and snappy")]
    UnsupportedCodec(String),

    /// Decompression failed.
    #[error("{codec} decompression failed: {reason}")]
    Decompress { codec: &'static str, reason: String },

    /// BSON (ANTARES) payload could not be read.
    #[error("invalid BSON document: {0}")]
    Bson(String),

    /// JSON payload could not be read.
    #[error("invalid JSON: {0}")]
    Json(String),

    /// A record inside a multi-record payload failed.
    #[error("record {index}: {source}")]
    InRecord {
        index: usize,
        #[source]
        source: Box<Error>,
    },

    /// An alert cannot be sent in the requested form.
    #[error("cannot publish: {0}")]
    Publish(String),

    /// No broker answered.
    #[error("cannot reach a Kafka broker at {servers} within {seconds} s: {reason}. Check --servers, the network, and that the broker is running")]
    Unreachable {
        servers: String,
        seconds: u64,
        reason: String,
    },

    /// The broker refused the credentials.
    #[error("authentication failed for user {user} at {servers} (SASL {mechanism}): {reason}. Check the username and password")]
    Authentication {
        user: String,
        servers: String,
        mechanism: String,
        reason: String,
    },

    /// The TLS handshake failed.
    #[error("TLS connection to {servers} failed: {reason}. Check the CA (--ssl-ca-location) and the broker's certificate and host name")]
    Tls { servers: String, reason: String },

    /// A topic named by the user does not exist.
    #[error("topic '{topic}' does not exist at {servers}; topics there: {available}")]
    UnknownTopic {
        topic: String,
        servers: String,
        available: String,
    },

    /// A configuration that cannot work.
    #[error("configuration: {0}")]
    Config(String),

    /// Kafka client or broker error.
    #[error("Kafka: {0}")]
    Kafka(String),

    /// A consumed message could not be decoded; it carries the raw message.
    #[error("{}[{}] offset {}: {}", .0.topic, .0.partition, .0.offset, .0.error)]
    Poison(Box<crate::source::PoisonMessage>),

    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn corrupt(at: usize, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            at,
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
