//! The library's typed errors as Python exceptions, one class per thing a
//! user can act on. Messages are the library's: they name the cause and
//! what to do.

use alertstream::error::{Limit, Setting};
use alertstream::names::{Named, UnknownName};
use alertstream::Error;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

create_exception!(
    _native,
    AlertstreamError,
    PyException,
    "Base class of every error alertstream raises."
);
create_exception!(
    _native,
    BrokerError,
    AlertstreamError,
    "The broker cannot be reached, lacks a topic, or refused a request."
);
create_exception!(
    _native,
    AuthenticationError,
    BrokerError,
    "The broker refused the credentials, or the TLS handshake failed."
);
create_exception!(
    _native,
    DecodeError,
    AlertstreamError,
    "Bytes that are not an alert of a known format (a file, or a message)."
);
create_exception!(
    _native,
    PoisonMessageError,
    DecodeError,
    "A consumed message that cannot be decoded. Attributes: topic, partition, \
     offset, key (bytes or None), payload (bytes), reason. The message counts \
     as handed out: the next poll goes on with the next one."
);
create_exception!(
    _native,
    TableError,
    AlertstreamError,
    "Alerts that cannot make one table (a field whose type changed between \
     schema versions)."
);

/// The keyword argument (and its value's kind) that gives a setting.
pub fn keyword(setting: Setting) -> &'static str {
    match setting {
        Setting::Format => "format=\"...\"",
        Setting::SchemaFile => "schema=PATH",
        Setting::SchemaDir => "schema_dir=PATH",
        Setting::SchemaRegistry => "schema_registry=URL",
        Setting::SchemaId => "schema_id=N",
        Setting::Servers => "servers=\"HOST:PORT\"",
        Setting::Credentials => "username= and password=",
        Setting::CaLocation => "ssl_ca_location=PATH",
        Setting::InstanceId => "instance_id=\"...\" (static membership)",
        Setting::Group => "group=\"...\"",
        Setting::Limit(Limit::MaxInflated) => "limits={\"max_inflated\": BYTES}",
        Setting::Limit(Limit::MaxDepth) => "limits={\"max_depth\": N}",
        Setting::Limit(Limit::MaxGzipLayers) => "limits={\"max_gzip_layers\": N}",
        Setting::Limit(Limit::MaxBlockBytes) => "limits={\"max_block_bytes\": BYTES}",
        _ => "the matching keyword argument",
    }
}

/// An error's message with the keyword arguments that could get past it.
pub fn message(error: &Error) -> String {
    let settings = error.settings();
    if settings.is_empty() {
        return error.to_string();
    }
    let keywords: Vec<&str> = settings.into_iter().map(keyword).collect();
    format!("{error} (pass {})", keywords.join(", or "))
}

/// A keyword argument whose values are words, parsed by the library; the
/// error names the keyword and the accepted words.
pub fn word<T: Named + std::str::FromStr<Err = UnknownName>>(
    keyword: &str,
    value: &str,
) -> PyResult<T> {
    value
        .parse::<T>()
        .map_err(|e| PyValueError::new_err(format!("{keyword}: {e}")))
}

/// The Python exception for a library error.
pub fn to_py(error: Error) -> PyErr {
    let message = message(&error);
    match error {
        Error::Poison(poison) => Python::attach(|py| {
            let err = PoisonMessageError::new_err(message);
            let _ = set_poison_attributes(err.value(py), &poison);
            err
        }),
        Error::Authentication { .. } | Error::Tls { .. } => AuthenticationError::new_err(message),
        Error::Unreachable { .. }
        | Error::UnknownTopic { .. }
        | Error::TopicDeleted { .. }
        | Error::Outage { .. }
        | Error::Uncommitted { .. }
        | Error::Api { .. }
        | Error::Kafka { .. } => BrokerError::new_err(message),
        Error::Config(_)
        | Error::GroupNotAllowed { .. }
        | Error::Expression { .. }
        | Error::Filter { .. }
        | Error::Selection { .. }
        | Error::NoCaBundle { .. }
        | Error::MissingCredentials { .. }
        | Error::MissingSchemaId => PyValueError::new_err(message),
        Error::Table(_) | Error::Arrow { .. } | Error::Parquet { .. } => {
            TableError::new_err(message)
        }
        Error::Io { source, .. } => {
            pyo3::exceptions::PyOSError::new_err((source.raw_os_error().unwrap_or(0), message))
        }
        Error::Handler(_) | Error::Picture(_) | Error::Publish(_) => {
            AlertstreamError::new_err(message)
        }
        _ => DecodeError::new_err(message),
    }
}

/// The poison message's coordinates and bytes, as attributes.
fn set_poison_attributes(
    exception: &Bound<'_, pyo3::exceptions::PyBaseException>,
    poison: &alertstream::PoisonMessage,
) -> PyResult<()> {
    let py = exception.py();
    exception.setattr("topic", &poison.topic)?;
    exception.setattr("partition", poison.partition)?;
    exception.setattr("offset", poison.offset)?;
    exception.setattr("key", poison.key.as_deref().map(|k| PyBytes::new(py, k)))?;
    exception.setattr("payload", PyBytes::new(py, &poison.payload))?;
    exception.setattr("reason", poison.error.to_string())
}

/// Registers the exception classes in the module.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("AlertstreamError", py.get_type::<AlertstreamError>())?;
    module.add("BrokerError", py.get_type::<BrokerError>())?;
    module.add("AuthenticationError", py.get_type::<AuthenticationError>())?;
    module.add("DecodeError", py.get_type::<DecodeError>())?;
    module.add("PoisonMessageError", py.get_type::<PoisonMessageError>())?;
    module.add("TableError", py.get_type::<TableError>())?;
    Ok(())
}
