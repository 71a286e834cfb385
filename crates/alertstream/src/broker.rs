//! Checking a broker connection up front, so that a wrong address, password,
//! certificate or topic name is a clear error within seconds, not a silent
//! retry loop.

use crate::error::{Error, Result};
use crate::security::Security;
use rdkafka::client::Client;
use rdkafka::ClientContext;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Keeps librdkafka's most telling error message, to explain a failure.
#[derive(Debug, Default, Clone)]
pub(crate) struct ErrorLog(Arc<Mutex<Option<String>>>);

impl ErrorLog {
    /// Records an error reason; a specific cause is not replaced by the
    /// generic "all brokers are down" that follows it.
    pub fn record(&self, reason: &str) {
        let mut last = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let generic = reason.contains("brokers are down");
        if !generic || last.is_none() {
            *last = Some(reason.to_owned());
        }
    }

    fn last(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Prints librdkafka's connection, security and protocol log on stderr (for
/// `--verbose`). Process-wide, like a log level; secrets are not in it.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// What every client of a broker shares, set over its own settings:
/// librdkafka's log level, the security settings, then the user's raw
/// librdkafka properties, which win.
pub(crate) fn apply_connection_settings(
    config: &mut rdkafka::config::ClientConfig,
    security: &Security,
    properties: &[(String, String)],
) -> Result<()> {
    apply_verbosity(config);
    for (k, v) in security.properties()?.iter().chain(properties) {
        config.set(k, v);
    }
    Ok(())
}

/// Asks librdkafka for its detailed log when verbose.
fn apply_verbosity(config: &mut rdkafka::config::ClientConfig) {
    if VERBOSE.load(std::sync::atomic::Ordering::Relaxed) {
        config
            .set_log_level(rdkafka::config::RDKafkaLogLevel::Debug)
            .set("debug", "broker,security,protocol");
    }
}

/// librdkafka reports connection, TLS and SASL failures as log lines from its
/// own threads (error events wait for a poll): keep the serious ones.
pub(crate) fn record_log(
    errors: &ErrorLog,
    level: rdkafka::config::RDKafkaLogLevel,
    message: &str,
) {
    use rdkafka::config::RDKafkaLogLevel as L;
    if VERBOSE.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("librdkafka: {message}");
    }
    if matches!(
        level,
        L::Emerg | L::Alert | L::Critical | L::Error | L::Warning
    ) {
        errors.record(message);
    }
}

/// A client context that only keeps errors (admin clients, and the group
/// client of `topics`/`lag`/`reset`).
pub(crate) struct ErrorContext(pub ErrorLog);

impl rdkafka::consumer::ConsumerContext for ErrorContext {}

impl ClientContext for ErrorContext {
    fn error(&self, _: rdkafka::error::KafkaError, reason: &str) {
        self.0.record(reason);
    }

    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, _: &str, message: &str) {
        record_log(&self.0, level, message);
    }
}

/// Who we are to the broker, for error messages (never the password).
#[derive(Debug, Clone, Default)]
pub(crate) struct Identity {
    pub user: Option<String>,
    pub mechanism: Option<String>,
}

impl Identity {
    /// From the security settings, overridden by raw librdkafka properties.
    pub fn of(security: &Security, properties: &[(String, String)]) -> Self {
        let mut id = Identity {
            user: security.username.clone(),
            mechanism: Some(security.mechanism.name().to_owned()),
        };
        for (k, v) in properties {
            match k.as_str() {
                "sasl.username" => id.user = Some(v.clone()),
                "sasl.mechanism" | "sasl.mechanisms" => id.mechanism = Some(v.clone()),
                _ => {}
            }
        }
        id
    }
}

/// One metadata request waits at most this long before the cause is read.
const ATTEMPT: Duration = Duration::from_secs(1);

/// Fetches the cluster's metadata within `timeout` and checks that every
/// topic named (not `^regex`) exists. Returns the topics the broker has.
/// `serve_events` polls the client (briefly) so that librdkafka hands over
/// the error and log events that explain a failure.
pub(crate) fn check_connection<C: ClientContext>(
    client: &Client<C>,
    servers: &str,
    identity: &Identity,
    topics: &[String],
    timeout: Duration,
    errors: &ErrorLog,
    serve_events: impl Fn(),
) -> Result<Vec<String>> {
    let deadline = std::time::Instant::now() + timeout;
    let metadata = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match client.fetch_metadata(None, left.min(ATTEMPT)) {
            Ok(m) => break m,
            Err(e) => {
                // The cause arrives as events that only a poll hands over.
                serve_events();
                let reason = errors.last().unwrap_or_else(|| e.to_string());
                let error = explain(servers, identity, timeout, reason);
                // A broker may still be starting: retry until the deadline,
                // unless the cause will not go away by waiting.
                if !matches!(error, Error::Unreachable { .. })
                    || std::time::Instant::now() >= deadline
                {
                    return Err(error);
                }
            }
        }
    };
    let mut available: Vec<String> = metadata
        .topics()
        .iter()
        .map(|t| t.name().to_owned())
        .filter(|n| !n.starts_with("__"))
        .collect();
    available.sort();
    for topic in topics.iter().filter(|t| !t.starts_with('^')) {
        if !available.contains(topic) {
            return Err(Error::UnknownTopic {
                topic: topic.clone(),
                servers: servers.to_owned(),
                available: if available.is_empty() {
                    "none".to_owned()
                } else {
                    available.join(", ")
                },
            });
        }
    }
    Ok(available)
}

fn explain(servers: &str, identity: &Identity, timeout: Duration, reason: String) -> Error {
    let lower = reason.to_ascii_lowercase();
    // Broker addresses look like sasl_ssl://host: match the causes, not the scheme.
    if lower.contains("ssl handshake") || lower.contains("certificate") {
        Error::Tls {
            servers: servers.to_owned(),
            reason,
        }
    } else if lower.contains("sasl authentication") || lower.contains("authentication failed") {
        Error::Authentication {
            user: identity.user.clone().unwrap_or_else(|| "(none)".into()),
            servers: servers.to_owned(),
            mechanism: identity.mechanism.clone().unwrap_or_else(|| "PLAIN".into()),
            reason,
        }
    } else {
        Error::Unreachable {
            servers: servers.to_owned(),
            seconds: timeout.as_secs(),
            reason,
        }
    }
}
