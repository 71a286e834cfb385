//! The settings that could get past an error, as types: the library names
//! them, each front end says them in its own words (`--schema FILE` on the
//! command line, `schema=` in Python).

use super::Error;
use crate::limits::Limit;

/// A setting a user can give to get past an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Setting {
    /// The payload format, instead of detecting it.
    Format,
    /// A writer schema file for schemaless Avro.
    SchemaFile,
    /// A folder of schemas (Rubin's alert_packet layout, Fink's versions).
    SchemaDir,
    /// A Confluent-compatible schema registry.
    SchemaRegistry,
    /// The Confluent schema id to announce when publishing.
    SchemaId,
    /// The broker's bootstrap servers.
    Servers,
    /// The SASL username and password.
    Credentials,
    /// The CA bundle that signed the broker's certificate.
    CaLocation,
    /// A static group membership id (survives a restart without a rebalance).
    InstanceId,
    /// The consumer group's name.
    Group,
    /// One of the decoding limits.
    Limit(Limit),
}

impl Error {
    /// The settings that could get past this error, as alternatives (empty
    /// when none would: a broker down, a file missing).
    ///
    /// ```
    /// use alertstream::error::{Error, Setting};
    /// let e = Error::MissingSchema;
    /// assert_eq!(e.settings(), vec![Setting::SchemaFile]);
    /// ```
    pub fn settings(&self) -> Vec<Setting> {
        use Setting::*;
        match self {
            Error::TrailingBytes { .. } => vec![SchemaFile, Format],
            Error::UnknownFormat { .. } => vec![Format, SchemaFile],
            Error::MissingSchema => vec![SchemaFile],
            Error::SchemaNotFound { .. } => vec![SchemaDir, SchemaRegistry],
            Error::Unreachable { .. } => vec![Servers],
            Error::Authentication { .. } | Error::MissingCredentials { .. } => vec![Credentials],
            Error::Tls { .. } | Error::NoCaBundle { .. } => vec![CaLocation],
            Error::MissingSchemaId => vec![SchemaId],
            Error::LimitExceeded { limit, .. } => vec![Limit(*limit)],
            Error::NoPartitions { .. } => vec![InstanceId],
            Error::GroupNotAllowed { .. } => vec![Group],
            Error::InRecord { source, .. } => source.settings(),
            Error::Poison(poison) => poison.error.settings(),
            _ => Vec::new(),
        }
    }
}
