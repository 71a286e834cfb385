//! Typed errors of the library. Every message names the cause in the
//! library's terms; the settings that could get past it are typed
//! ([`Error::settings`]), so that each front end names them in its own
//! words (a command-line flag, a keyword argument).

#[cfg(feature = "kafka")]
pub mod codes;
mod hint;

pub use crate::limits::Limit;
use bytes::Bytes;
pub use hint::Setting;
use std::path::PathBuf;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading, framing or decoding an alert.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The payload ended before a value was complete.
    #[error("truncated at byte {at}: {what} needs more bytes than the payload holds")]
    Truncated { at: usize, what: &'static str },

    /// The bytes do not follow the format they claim to.
    #[error("corrupt data at byte {at}: {reason}")]
    Corrupt { at: usize, reason: String },

    /// Decoding finished but bytes were left over: usually the wrong writer schema.
    #[error("{left} bytes left over after the record ended at byte {at}: the writer schema does not match the data (a wrong schema or format?)")]
    TrailingBytes { at: usize, left: usize },

    /// Auto-detection found nothing it knows.
    #[error("not Avro, BSON or JSON (first bytes: {head}): name the payload format and, for schemaless Avro, its writer schema")]
    UnknownFormat { head: String },

    /// A schemaless datum arrived with no schema to read it.
    #[error("schemaless Avro needs its writer schema: the message key holds none and no schema file was given")]
    MissingSchema,

    /// A schema could not be parsed.
    #[error("invalid Avro schema{origin}: {reason}")]
    SchemaParse { origin: String, reason: String },

    /// A Confluent schema id was not found anywhere we looked.
    #[error("schema id {id} not found ({looked}): give a schema folder (alert_packet layout) or a schema registry")]
    SchemaNotFound { id: u32, looked: String },

    /// A broker's REST API could not be reached or answered badly.
    #[error("{url}: {reason}")]
    Api { url: String, reason: String },

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
    #[error("cannot reach a Kafka broker at {servers} within {seconds} s: {reason}. Check the servers' address, the network, and that the broker is running")]
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
    #[error("TLS connection to {servers} failed: {reason}. Check the CA bundle and the broker's certificate and host name")]
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

    /// A consumer group name the broker would refuse.
    #[error("{broker} accepts only consumer groups whose name starts with '{prefix}'; '{group}' does not")]
    GroupNotAllowed {
        broker: String,
        group: String,
        prefix: String,
    },

    /// A filter expression that cannot be parsed or used; `column` (1-based)
    /// is where.
    #[error("{}", expression_message(.text, *.column, .reason))]
    Expression {
        text: String,
        column: Option<usize>,
        reason: String,
    },

    /// A filter expression met values it cannot compare or combine.
    #[error("the filter `{expression}` cannot be evaluated: {reason}")]
    Filter { expression: String, reason: String },

    /// A file the selection needs (a MOC, a sky map, a watchlist) cannot be used.
    #[error("{}: {reason}", path.display())]
    Selection { path: PathBuf, reason: String },

    /// The state shared by de-duplication (a database, a Redis server)
    /// failed.
    #[error("de-duplication state at {place}: {reason}")]
    State { place: String, reason: String },

    /// SASL was asked for without a username and a password.
    #[error("{protocol} needs a username and a password")]
    MissingCredentials { protocol: &'static str },

    /// TLS was asked for and no CA bundle was given or found.
    #[error("TLS needs a CA bundle and none was given or found in {looked}")]
    NoCaBundle { looked: String },

    /// Confluent wire format asked for without a schema id to announce.
    #[error("cannot publish: the Confluent wire format needs a schema id and the alert was not read with one")]
    MissingSchemaId,

    /// A payload exceeded one of the [`crate::decode::Limits`].
    #[error("{what}: beyond the {} limit of {allowed}; not an alert, or a corrupt one", .limit.field())]
    LimitExceeded {
        limit: Limit,
        /// What was being read, and how far it went.
        what: String,
        /// The limit's value, with its unit.
        allowed: String,
    },

    /// A consumer group that assigned this member no partition for too long
    /// while its topics held messages it had not read, or whose pattern
    /// matched no topic.
    #[error("group {group} assigned no partitions in {seconds} s: {reason}")]
    NoPartitions {
        group: String,
        seconds: u64,
        reason: String,
    },

    /// A Kafka client or broker error, with librdkafka's error code
    /// ([`Error::kafka_code`]); [`Error::is_retriable`] tells whether
    /// waiting can help.
    #[cfg(feature = "kafka")]
    #[error("{context}: {source}")]
    Kafka {
        context: String,
        #[source]
        source: rdkafka::error::KafkaError,
    },

    /// A topic being consumed was deleted.
    #[error("topic '{topic}' was deleted while it was being consumed; nothing past the last saved alert was committed")]
    TopicDeleted { topic: String },

    /// No broker could be reached for longer than allowed.
    #[error("no broker reachable at {servers} for {seconds} s: {reason}")]
    Outage {
        servers: String,
        seconds: u64,
        reason: String,
    },

    /// The broker did not acknowledge the last offsets before the consumer
    /// left: their alerts will be delivered again (nothing is lost).
    #[error("the last offsets were not committed at {servers} ({cause}); their alerts will be delivered again")]
    Uncommitted { servers: String, cause: String },

    /// A user's alert handler failed.
    #[error("the alert handler failed: {0}")]
    Handler(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// A consumed message could not be decoded; it carries the raw message.
    #[error("{}[{}] offset {}: {}", .0.topic, .0.partition, .0.offset, .0.error)]
    Poison(Box<PoisonMessage>),

    /// A cutout's FITS bytes could not be read as an image.
    #[error("{cutout} cutout: not a FITS image: {reason}")]
    Fits {
        cutout: &'static str,
        reason: String,
    },

    /// A picture could not be drawn.
    #[error("cannot draw the picture: {0}")]
    Picture(String),

    /// Alerts cannot become the table asked for (a field whose type changed
    /// between schema versions, a schema nested too deep).
    #[error("cannot build the table: {0}")]
    Table(String),

    /// Arrow refused the arrays built from the alerts.
    #[cfg(feature = "table")]
    #[error("{context}: {source}")]
    Arrow {
        context: String,
        #[source]
        source: arrow_schema::ArrowError,
    },

    /// A Parquet file could not be written or read.
    #[cfg(feature = "table")]
    #[error("{context}: {source}")]
    Parquet {
        context: String,
        #[source]
        source: parquet::errors::ParquetError,
    },

    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A parse error with the expression quoted and a caret under the column.
fn expression_message(text: &str, column: Option<usize>, reason: &str) -> String {
    match column {
        Some(column) if column >= 1 && !text.contains('\n') => format!(
            "cannot parse the filter expression at column {column}: {reason}\n    {text}\n    {}^",
            " ".repeat(column - 1)
        ),
        _ => format!("cannot parse the filter expression: {reason}\n    {text}"),
    }
}

/// Wraps a librdkafka error with what was being done.
#[cfg(feature = "kafka")]
pub(crate) fn kafka(
    context: impl Into<String>,
) -> impl FnOnce(rdkafka::error::KafkaError) -> Error {
    let context = context.into();
    move |source| Error::Kafka { context, source }
}

impl Error {
    /// librdkafka's code for a Kafka error.
    #[cfg(feature = "kafka")]
    pub fn kafka_code(&self) -> Option<rdkafka::types::RDKafkaErrorCode> {
        match self {
            Error::Kafka { source, .. } => source.rdkafka_error_code(),
            _ => None,
        }
    }

    /// True when the same call may succeed later without any change: a
    /// broker down or restarting, a leader or coordinator moving, a timeout.
    /// Everything else (credentials, a deleted topic, a fenced member, bad
    /// data, a full disk) needs someone to act.
    pub fn is_retriable(&self) -> bool {
        #[cfg(feature = "kafka")]
        if let Some(code) = self.kafka_code() {
            return codes::is_retriable(code);
        }
        matches!(self, Error::Unreachable { .. })
    }

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

/// A message that could not be decoded, with everything needed to keep it.
#[derive(Debug)]
pub struct PoisonMessage {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Bytes>,
    pub payload: Bytes,
    pub error: Error,
}
