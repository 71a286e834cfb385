//! How to reach a broker, shared by every client (consumer, publisher,
//! admin calls): [`Connection`]. `Connection::open` is the one place that
//! creates a librdkafka client, and it checks the connection up front, so
//! that a wrong address, password, certificate or topic name is a clear error
//! within seconds, not a silent retry loop.
//!
//! librdkafka's own log goes to the [`log`] facade (target `librdkafka`):
//! when the application enables the debug level, the broker, security and
//! protocol logs are asked for.

use crate::error::{Error, Result};
use crate::kafka::security::Security;
use rdkafka::client::Client;
use rdkafka::config::{ClientConfig, FromClientConfigAndContext};
use rdkafka::ClientContext;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How to reach a broker: addresses, security, extra librdkafka properties
/// and how long to wait for it.
///
/// ```
/// use alertstream::kafka::Connection;
/// use std::time::Duration;
///
/// let mut conn = Connection::new("localhost:9092");
/// conn.connect_timeout = Duration::from_secs(10);
/// conn.properties.push(("socket.keepalive.enable".into(), "true".into()));
/// assert_eq!(conn.servers, "localhost:9092");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Connection {
    /// Bootstrap servers, `host:port[,host:port]`.
    pub servers: String,
    /// Authentication and encryption.
    pub security: Security,
    /// Further librdkafka properties, applied last (they win).
    pub properties: Vec<(String, String)>,
    /// How long to wait for the broker before giving up with a clear error.
    pub connect_timeout: Duration,
    /// Bootstrap servers tried when none of `servers` answers within
    /// `connect_timeout` (a broker's second site); the log says so.
    pub backup_servers: Option<String>,
}

impl Connection {
    /// A plaintext connection to `servers` with a 30 s connect timeout.
    pub fn new(servers: impl Into<String>) -> Self {
        Connection {
            servers: servers.into(),
            security: Security::default(),
            properties: Vec::new(),
            connect_timeout: Duration::from_secs(30),
            backup_servers: None,
        }
    }

    /// Creates a librdkafka client with `own` settings, then this
    /// connection's (security, properties: they win), and checks that the
    /// broker answers within `connect_timeout` and that every named topic
    /// (not `^regex`) exists.
    pub(crate) fn open<T, C>(
        &self,
        own: &[(&str, &str)],
        context: impl Fn() -> C,
        topics: &[String],
    ) -> Result<T>
    where
        C: ClientContext + Recorder,
        T: FromClientConfigAndContext<C> + KafkaClient<C>,
    {
        match (
            self.open_at(&self.servers, own, context(), topics),
            &self.backup_servers,
        ) {
            (Err(Error::Unreachable { reason, .. }), Some(backup)) => {
                log::warn!(
                    "no broker of {} answered ({reason}); trying the backup servers {backup}",
                    self.servers
                );
                self.open_at(backup, own, context(), topics)
            }
            (opened, _) => opened,
        }
    }

    fn open_at<T, C>(
        &self,
        servers: &str,
        own: &[(&str, &str)],
        context: C,
        topics: &[String],
    ) -> Result<T>
    where
        C: ClientContext + Recorder,
        T: FromClientConfigAndContext<C> + KafkaClient<C>,
    {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", servers);
        for (k, v) in own {
            config.set(*k, *v);
        }
        apply_verbosity(&mut config);
        for (k, v) in self.security.properties()?.iter().chain(&self.properties) {
            config.set(k, v);
        }
        let errors = context.errors().clone();
        let client = T::from_config_and_context(&config, context)
            .map_err(crate::error::kafka("cannot create a Kafka client"))?;
        check_connection(&client, servers, self, topics, &errors)?;
        Ok(client)
    }

    pub(crate) fn identity(&self) -> Identity {
        Identity::of(&self.security, &self.properties)
    }
}

/// A client context that keeps librdkafka's errors, to explain failures.
pub(crate) trait Recorder {
    fn errors(&self) -> &ErrorLog;
}

/// What [`Connection::open`] needs of a client: its inner client, and a way
/// to serve its events briefly (the error events that explain a failure).
pub(crate) trait KafkaClient<C: ClientContext> {
    fn inner(&self) -> &Client<C>;
    fn serve_events(&self);
}

impl<C: rdkafka::consumer::ConsumerContext> KafkaClient<C> for rdkafka::consumer::BaseConsumer<C> {
    fn inner(&self) -> &Client<C> {
        rdkafka::consumer::Consumer::client(self)
    }
    fn serve_events(&self) {
        let _ = self.poll(Duration::from_millis(100));
    }
}

impl<C: rdkafka::producer::ProducerContext> KafkaClient<C> for rdkafka::producer::BaseProducer<C> {
    fn inner(&self) -> &Client<C> {
        rdkafka::producer::Producer::client(self)
    }
    fn serve_events(&self) {
        self.poll(Duration::from_millis(100));
    }
}

impl<C: ClientContext> KafkaClient<C> for rdkafka::admin::AdminClient<C> {
    fn inner(&self) -> &Client<C> {
        rdkafka::admin::AdminClient::inner(self)
    }
    fn serve_events(&self) {
        std::thread::sleep(Duration::from_millis(100));
    }
}

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

/// Asks librdkafka for its detailed log when verbose.
fn apply_verbosity(config: &mut ClientConfig) {
    if log::log_enabled!(target: "librdkafka", log::Level::Debug) {
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
    log::debug!(target: "librdkafka", "{message}");
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

error_keeping_context!(ErrorContext, 0);

/// [`Recorder`] and [`ClientContext`] for a context whose [`ErrorLog`] is
/// field `$log`: librdkafka's errors and log kept to explain failures,
/// OAUTHBEARER tokens refreshed.
macro_rules! error_keeping_context {
    ($context:ty, $log:tt) => {
        impl crate::kafka::connection::Recorder for $context {
            fn errors(&self) -> &crate::kafka::connection::ErrorLog {
                &self.$log
            }
        }

        impl rdkafka::ClientContext for $context {
            crate::kafka::oauth::token_refresh!();

            fn error(&self, _: rdkafka::error::KafkaError, reason: &str) {
                self.$log.record(reason);
            }

            fn log(&self, level: rdkafka::config::RDKafkaLogLevel, _: &str, message: &str) {
                crate::kafka::connection::record_log(&self.$log, level, message);
            }
        }
    };
}
pub(crate) use error_keeping_context;

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

/// Fetches the cluster's metadata within the connect timeout and checks
/// that every topic named (not `^regex`) exists. Returns the topics the
/// broker has.
fn check_connection<T: KafkaClient<C>, C: ClientContext>(
    client: &T,
    servers: &str,
    conn: &Connection,
    topics: &[String],
    errors: &ErrorLog,
) -> Result<Vec<String>> {
    let timeout = conn.connect_timeout;
    let identity = conn.identity();
    let deadline = std::time::Instant::now() + timeout;
    let metadata = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match client.inner().fetch_metadata(None, left.min(ATTEMPT)) {
            Ok(m) => break m,
            Err(e) => {
                // The cause arrives as events that only a poll hands over.
                client.serve_events();
                let reason = errors.last().unwrap_or_else(|| e.to_string());
                let error = explain(servers, &identity, timeout, reason);
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
    } else if lower.contains("sasl authentication")
        || lower.contains("authentication failed")
        || lower.contains("mechanism handshake failed")
        || lower.contains("oauthbearer token")
    {
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
