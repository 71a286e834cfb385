//! Consuming alerts from Kafka: a librdkafka consumer in a group, decoding
//! each message into alerts, with at-least-once delivery.
//!
//! No offset is committed that was not handed to [`Consumer::commit`] or
//! [`Consumer::commit_checkpoint`]. A message counts as handed out when its
//! last alert was returned by [`Consumer::poll`] (or when it was reported as
//! a [`Error::Poison`] message); `commit` marks what was handed out as done.
//! Call it after the alerts are processed (stored, forwarded): a crash before
//! that re-delivers them, never loses them.
//!
//! Committing never blocks: offsets marked done are sent by librdkafka's own
//! thread (every 100 ms, and when partitions move or the consumer closes),
//! and retried there while the group coordinator is away.
//! [`Consumer::close`] waits a bounded time for the last commit and says
//! whether it was acknowledged.

mod commit;
mod context;
mod settings;
mod subscription;

pub use settings::{topic_list, ConsumerConfig, Start, DEFAULT_SESSION_TIMEOUT_MS};
pub use subscription::{expand_daily_topics, newer_versions, today_utc, DAILY_TOPIC_DAYS};

use crate::decode::Decoder;
use crate::error::{codes, kafka, Error, PoisonMessage, Result};
use crate::kafka::connection::ErrorLog;
use crate::model::alert::{Alert, KafkaMeta};
use bytes::Bytes;
use context::{Context, SharedState};
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Message as _;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use subscription::Subscription;

/// Whether the consumer reaches a broker, as librdkafka last reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// A broker is connected (or nothing says otherwise).
    Connected,
    /// No broker has been connected since then; the reason when one is known.
    Outage {
        since: Instant,
        reason: Option<String>,
    },
}

/// Whether the group gave this member partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    /// Partitions assigned now.
    pub partitions: usize,
    /// When partitions were first assigned; `None` before.
    pub since: Option<Instant>,
}

/// What waits for a member that has no partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    /// Topics of the subscription the broker has.
    pub topics: usize,
    /// Messages in them the group has not committed past.
    pub unread: i64,
}

/// How the last commit at [`Consumer::close`] ended.
#[derive(Debug)]
pub enum Closed {
    /// Every offset marked done was acknowledged by the broker.
    Committed,
    /// Some were not: their alerts will be delivered again.
    NotCommitted(Error),
}

/// Consumes and decodes alerts; see the module documentation for delivery.
///
/// ```no_run
/// use alertstream::kafka::{Connection, Consumer, ConsumerConfig};
/// use std::time::Duration;
///
/// let conn = Connection::new("localhost:9092");
/// let config = ConsumerConfig::new(conn, "my-group", &["ztf_public"]);
/// let mut consumer = Consumer::new(config)?;
/// while let Some(alert) = consumer.poll(Duration::from_secs(10))? {
///     println!("{:?} {:?}", alert.object_id(), alert.brightness());
///     consumer.commit()?; // processed: do not deliver it again
/// }
/// # Ok::<(), alertstream::Error>(())
/// ```
pub struct Consumer {
    /// `None` once closed (or given up on, when no broker answered).
    kafka: Option<BaseConsumer<Context>>,
    servers: String,
    group: String,
    start: Start,
    session_timeout: Duration,
    subscription: Subscription,
    /// A pattern that matched no topic was reported (once).
    told_no_match: bool,
    state: Arc<Mutex<SharedState>>,
    /// Offsets marked done and handed to librdkafka to commit.
    stored: BTreeMap<(String, i32), i64>,
    decoder: Decoder,
    ready: VecDeque<(Alert, bool)>,
    handed: BTreeMap<(String, i32), i64>,
    /// The previous message's key: Fink sends the same schema as the key
    /// of every message, ~18 KB not worth copying each time.
    last_key: Option<Bytes>,
}

/// `bytes` as shared bytes: the previous ones when equal, else a copy that
/// becomes the previous ones.
fn same_or_copy(previous: &mut Option<Bytes>, bytes: &[u8]) -> Bytes {
    match previous {
        Some(last) if last[..] == *bytes => last.clone(),
        _ => previous.insert(Bytes::copy_from_slice(bytes)).clone(),
    }
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

/// The header in which SCiMMA's hop-client names a message's format.
pub const FORMAT_HEADER: &str = "_format";

/// A message's headers, copied (none: no allocation).
fn headers_of(message: &rdkafka::message::BorrowedMessage<'_>) -> Vec<(String, Option<Bytes>)> {
    use rdkafka::message::Headers;
    message.headers().map_or_else(Vec::new, |headers| {
        headers
            .iter()
            .map(|h| (h.key.to_owned(), h.value.map(Bytes::copy_from_slice)))
            .collect()
    })
}

impl Consumer {
    /// Connects (failing with a clear error when the broker cannot be
    /// reached, refuses the credentials, or lacks a named topic), joins the
    /// group and subscribes.
    pub fn new(config: ConsumerConfig) -> Result<Self> {
        let state = Arc::new(Mutex::new(SharedState::default()));
        let context = || Context {
            errors: ErrorLog::default(),
            state: state.clone(),
        };
        let mut config = config;
        config.topics = expand_daily_topics(&config.topics, today_utc());
        // A Fink Data Transfer topic's writer schema is on its companion topic.
        if config.decoder.schema_file.is_none() {
            let cache = crate::kafka::transfer::default_cache_dir();
            config.decoder.schema_file =
                crate::kafka::transfer::schema_file(&config.connection, &config.topics, &cache)?;
        }
        let subscription = Subscription::new(&config.topics)?;
        let settings = config.settings();
        let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let kafka: BaseConsumer<Context> =
            config.connection.open(&settings, context, &config.topics)?;
        let topics: Vec<&str> = config.topics.iter().map(String::as_str).collect();
        kafka
            .subscribe(&topics)
            .map_err(crate::error::kafka(format!(
                "cannot subscribe to {}",
                topics.join(", ")
            )))?;
        Ok(Consumer {
            kafka: Some(kafka),
            servers: config.connection.servers.clone(),
            group: config.group.clone(),
            start: config.start,
            session_timeout: Duration::from_millis(config.session_timeout_ms.into()),
            subscription,
            told_no_match: false,
            state,
            stored: BTreeMap::new(),
            decoder: Decoder::new(config.decoder)?,
            ready: VecDeque::new(),
            handed: BTreeMap::new(),
            last_key: None,
        })
    }

    fn client(&self) -> Result<&BaseConsumer<Context>> {
        self.kafka.as_ref().ok_or_else(closed)
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, SharedState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next alert, waiting up to `timeout`; `Ok(None)` when none came.
    /// An undecodable message is returned as [`Error::Poison`] and counts as
    /// handed out: keep its payload if you must not lose it.
    pub fn poll(&mut self, timeout: Duration) -> Result<Option<Alert>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((alert, last_of_message)) = self.ready.pop_front() {
                if last_of_message {
                    if let Some(k) = alert.kafka() {
                        self.handed
                            .insert((k.topic.clone(), k.partition), k.offset + 1);
                    }
                }
                return Ok(Some(alert));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if let Some(fatal) = self.shared().fatal.take() {
                return Err(kafka("the broker ended the session")(fatal));
            }
            // librdkafka also returns early after serving a group event.
            let kafka = self.kafka.as_ref().ok_or_else(closed)?;
            let Some(result) = kafka.poll(left) else {
                if left.is_zero() {
                    return Ok(None);
                }
                continue;
            };
            let message = match result {
                Ok(message) => message,
                Err(e) => match self.consume_error(e) {
                    Some(error) => return Err(error),
                    None if Instant::now() >= deadline => return Ok(None),
                    None => continue,
                },
            };
            let meta = KafkaMeta {
                topic: message.topic().to_owned(),
                partition: message.partition(),
                offset: message.offset(),
                key: message.key().map(|k| same_or_copy(&mut self.last_key, k)),
                timestamp_ms: message.timestamp().to_millis(),
                headers: headers_of(&message),
            };
            let payload = Bytes::copy_from_slice(message.payload().unwrap_or_default());
            drop(message);
            let format_header = meta
                .headers
                .iter()
                .find(|(key, _)| key == FORMAT_HEADER)
                .and_then(|(_, value)| value.as_deref())
                .map(String::from_utf8_lossy);
            let decoded = self.decoder.decode_with_format_header(
                meta.key.as_deref(),
                payload.clone(),
                format_header.as_deref(),
            );
            match decoded.into_result() {
                Ok(alerts) if !alerts.is_empty() => {
                    let n = alerts.len();
                    for (i, mut alert) in alerts.into_iter().enumerate() {
                        alert.set_kafka(meta.clone());
                        self.ready.push_back((alert, i + 1 == n));
                    }
                }
                result => {
                    let error = result
                        .err()
                        .unwrap_or(Error::corrupt(0, "message holds no alert"));
                    self.handed
                        .insert((meta.topic.clone(), meta.partition), meta.offset + 1);
                    return Err(Error::Poison(Box::new(PoisonMessage {
                        topic: meta.topic,
                        partition: meta.partition,
                        offset: meta.offset,
                        key: meta.key,
                        payload,
                        error,
                    })));
                }
            }
        }
    }

    /// Up to `n` alerts, waiting at most `timeout` in all. Poison messages
    /// appear as errors in place.
    pub fn consume(&mut self, n: usize, timeout: Duration) -> Vec<Result<Alert>> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while out.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.poll(left) {
                Ok(Some(alert)) => out.push(Ok(alert)),
                Ok(None) => break,
                Err(e) => out.push(Err(e)),
            }
            if left.is_zero() {
                break;
            }
        }
        out
    }

    /// Alerts as they come; ends after `idle` without any.
    pub fn iter(&mut self, idle: Duration) -> impl Iterator<Item = Result<Alert>> + '_ {
        std::iter::from_fn(move || self.poll(idle).transpose())
    }

    /// Whether a broker is connected, as librdkafka last reported (about
    /// once a second).
    pub fn health(&self) -> Health {
        context::health_of(&self.shared())
    }

    /// The bootstrap servers, for messages.
    pub fn servers(&self) -> &str {
        &self.servers
    }

    /// Messages the broker holds beyond what this consumer has fetched, as
    /// last reported by librdkafka (about once a second); `None` before that.
    pub fn lag(&self) -> Option<i64> {
        let lags = self
            .shared()
            .partition_lag
            .as_ref()?
            .iter()
            .map(|(_, _, lag)| lag)
            .sum();
        Some(lags)
    }

    /// The lag per topic and partition, as last reported (empty before).
    pub fn partition_lag(&self) -> Vec<(String, i32, i64)> {
        self.shared().partition_lag.clone().unwrap_or_default()
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// How long the group waits for a member that stopped without leaving.
    pub fn session_timeout(&self) -> Duration {
        self.session_timeout
    }

    /// The partitions the group gave this member, as last reported.
    pub fn assignment(&self) -> Assignment {
        let state = self.shared();
        Assignment {
            partitions: state.assigned,
            since: state.first_assigned,
        }
    }

    /// What waits in the subscribed topics for this group: asks the broker
    /// (a metadata, an offsets and a watermark request per partition,
    /// each within `timeout`), for a member that has no partitions.
    pub fn waiting(&self, timeout: Duration) -> Result<Waiting> {
        let client = self.client()?;
        let topics = subscription::covered_topics(client, &self.subscription, timeout)?;
        let unread = match topics.is_empty() {
            true => 0,
            false => subscription::unread_messages(client, &topics, self.start, timeout)?,
        };
        Ok(Waiting {
            topics: topics.len(),
            unread,
        })
    }

    /// Sorts a consumer error: a named topic deleted, a pattern that matches
    /// nothing yet (`None`: waited for, said once), or a Kafka error.
    fn consume_error(&mut self, e: rdkafka::error::KafkaError) -> Option<Error> {
        if !e.rdkafka_error_code().is_some_and(codes::is_missing_topic) {
            return Some(kafka("cannot consume")(e));
        }
        // librdkafka's error does not say which topic: ask the broker.
        let client = self.kafka.as_ref()?;
        let present = match subscription::covered_topics(
            client,
            &self.subscription,
            Duration::from_secs(5),
        ) {
            Ok(topics) => topics,
            Err(error) => return Some(error),
        };
        let gone: Vec<&str> = self
            .subscription
            .names
            .iter()
            .filter(|n| !present.iter().any(|(t, _)| t == *n))
            .map(String::as_str)
            .collect();
        if !gone.is_empty() {
            return Some(Error::TopicDeleted {
                topic: gone.join(", "),
            });
        }
        if self.subscription.patterns.is_empty() {
            // The broker's metadata still lists them, librdkafka does not.
            return Some(Error::TopicDeleted {
                topic: self.subscription.names.join(", "),
            });
        }
        if !self.told_no_match {
            self.told_no_match = true;
            log::warn!(
                "no topic at {} matches {} yet; waiting for one to appear",
                self.servers,
                self.subscription.pattern_list()
            );
        }
        None
    }
}

fn closed() -> Error {
    Error::Config("the consumer is closed".into())
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if self.kafka.is_some() {
            let _ = self.close_within(Duration::from_secs(10));
        }
    }
}
