//! Consuming alerts from Kafka: a librdkafka consumer in a group, decoding
//! each message into alerts, with at-least-once delivery.
//!
//! Offsets are never committed automatically. A message counts as handed
//! out when its last alert was returned by [`Consumer::poll`] (or when it was
//! reported as a [`Error::Poison`] message); [`Consumer::commit`] commits what
//! was handed out. Call it after the alerts are processed (stored, forwarded):
//! a crash before that re-delivers them, never loses them.

use crate::alert::{Alert, KafkaMeta};
use crate::broker::{apply_connection_settings, check_connection, ErrorLog, Identity};
use crate::decode::{Decoder, DecoderOptions};
use crate::error::{Error, Result};
use crate::security::Security;
use bytes::Bytes;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _, ConsumerContext};
use rdkafka::message::Message as _;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where a new consumer group starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Start {
    /// The oldest alert still kept by the broker.
    #[default]
    Earliest,
    /// Only alerts published from now on.
    Latest,
}

/// How to connect and what to read.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Bootstrap servers, `host:port[,host:port]`.
    pub servers: String,
    /// Consumer group: resuming, and sharing partitions between members.
    pub group: String,
    /// Topic names, or `^regex` patterns.
    pub topics: Vec<String>,
    pub start: Start,
    pub decoder: DecoderOptions,
    /// Longest time the broker may hold a fetch waiting for data. Kafka
    /// answers a fetch as soon as data is there, so on Kafka this only sets
    /// how often an idle consumer asks; Tansu holds every fetch for the whole
    /// wait, so a high value throttles it (500 ms: ~300 alerts/s, 10 ms:
    /// ~4,000/s, 1 ms: ~10,000/s). Default: 1 ms for a broker on this
    /// machine, 10 ms for a remote one (an idle consumer then asks 100 times
    /// a second, not 1,000).
    pub fetch_wait_max_ms: Option<u32>,
    /// Group session timeout.
    pub session_timeout_ms: u32,
    /// Authentication and encryption.
    pub security: Security,
    /// How long to wait for the broker before giving up with a clear error.
    pub connect_timeout: Duration,
    /// Further librdkafka properties, applied last.
    pub properties: Vec<(String, String)>,
}

impl ConsumerConfig {
    /// A configuration with alertstream's defaults.
    pub fn new(servers: impl Into<String>, group: impl Into<String>, topics: &[&str]) -> Self {
        ConsumerConfig {
            servers: servers.into(),
            group: group.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            start: Start::Earliest,
            decoder: DecoderOptions::default(),
            fetch_wait_max_ms: None,
            session_timeout_ms: 10_000,
            connect_timeout: Duration::from_secs(30),
            security: Security::default(),
            properties: Vec::new(),
        }
    }

    fn fetch_wait(&self) -> u32 {
        self.fetch_wait_max_ms
            .unwrap_or(if all_loopback(&self.servers) { 1 } else { 10 })
    }

    fn client_config(&self) -> Result<ClientConfig> {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.servers)
            .set("group.id", &self.group)
            .set("client.id", "alertstream")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set(
                "auto.offset.reset",
                match self.start {
                    Start::Earliest => "earliest",
                    Start::Latest => "latest",
                },
            )
            .set("fetch.wait.max.ms", self.fetch_wait().to_string())
            // ZTF alerts are ~60 KB: 1 MiB per partition per fetch is only ~16.
            .set("max.partition.fetch.bytes", (4 << 20).to_string())
            .set("session.timeout.ms", self.session_timeout_ms.to_string())
            .set(
                "heartbeat.interval.ms",
                (self.session_timeout_ms / 3).max(100).to_string(),
            )
            .set("statistics.interval.ms", "1000")
            // The prefetch queue (all partitions together): it absorbs the
            // jitter of broker and disk, and bounds memory whatever the
            // backlog (16 MiB: as fast as 64 MiB when saving, 60 MB less RSS).
            .set("queued.max.messages.kbytes", "16384")
            // When that queue is full, librdkafka waits this long before it
            // fetches again (default 1 s): with a consumer slowed by the disk,
            // the queue drained in a few ms and then sat empty for the rest.
            .set("fetch.queue.backoff.ms", "10");
        apply_connection_settings(&mut c, &self.security, &self.properties)?;
        Ok(c)
    }
}

/// True when every bootstrap server is on this machine.
fn all_loopback(servers: &str) -> bool {
    servers.split(',').all(|s| {
        let host = s.trim().rsplit_once(':').map_or(s.trim(), |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// librdkafka callbacks: keeps the latest total consumer lag and error.
struct Context {
    lag: Arc<AtomicI64>,
    errors: ErrorLog,
}

impl ClientContext for Context {
    fn error(&self, _: rdkafka::error::KafkaError, reason: &str) {
        self.errors.record(reason);
    }

    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, _: &str, message: &str) {
        crate::broker::record_log(&self.errors, level, message);
    }

    fn stats(&self, statistics: Statistics) {
        let lag: i64 = statistics
            .topics
            .values()
            .flat_map(|t| t.partitions.values())
            .filter(|p| p.partition >= 0 && p.consumer_lag >= 0)
            .map(|p| p.consumer_lag)
            .sum();
        self.lag.store(lag, Ordering::Relaxed);
    }
}

impl ConsumerContext for Context {}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_servers_are_recognised() {
        assert!(super::all_loopback("127.0.0.1:9092"));
        assert!(super::all_loopback("localhost:9092,127.0.0.2:9093"));
        assert!(super::all_loopback("[::1]:9092"));
        assert!(!super::all_loopback(
            "127.0.0.1:9092,kafka.example.org:9092"
        ));
        assert!(!super::all_loopback("134.158.74.95:24499"));
    }
}

/// Next offsets to commit, per topic and partition.
#[derive(Debug, Default)]
pub struct Checkpoint(BTreeMap<(String, i32), i64>);

impl Checkpoint {
    /// Takes in a later checkpoint: its offsets supersede this one's.
    pub fn extend(&mut self, later: Checkpoint) {
        self.0.extend(later.0);
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

/// Consumes and decodes alerts; see the module documentation for delivery.
///
/// ```no_run
/// use alertstream::source::{Consumer, ConsumerConfig};
/// use std::time::Duration;
///
/// let config = ConsumerConfig::new("localhost:9092", "my-group", &["ztf_public"]);
/// let mut consumer = Consumer::new(config)?;
/// while let Some(alert) = consumer.poll(Duration::from_secs(10))? {
///     println!("{:?} {:?}", alert.object_id(), alert.brightness());
///     consumer.commit()?; // processed: do not deliver it again
/// }
/// # Ok::<(), alertstream::Error>(())
/// ```
pub struct Consumer {
    kafka: BaseConsumer<Context>,
    decoder: Decoder,
    ready: VecDeque<(Alert, bool)>,
    handed: BTreeMap<(String, i32), i64>,
    lag: Arc<AtomicI64>,
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

impl Consumer {
    /// Connects (failing with a clear error when the broker cannot be
    /// reached, refuses the credentials, or lacks a named topic), joins the
    /// group and subscribes.
    pub fn new(config: ConsumerConfig) -> Result<Self> {
        let lag = Arc::new(AtomicI64::new(-1));
        let errors = ErrorLog::default();
        let kafka: BaseConsumer<Context> = config
            .client_config()?
            .create_with_context(Context {
                lag: lag.clone(),
                errors: errors.clone(),
            })
            .map_err(|e| Error::Kafka(format!("cannot create the consumer: {e}")))?;
        let identity = Identity::of(&config.security, &config.properties);
        check_connection(
            kafka.client(),
            &config.servers,
            &identity,
            &config.topics,
            config.connect_timeout,
            &errors,
            || {
                let _ = kafka.poll(Duration::from_millis(100));
            },
        )?;
        let topics: Vec<&str> = config.topics.iter().map(String::as_str).collect();
        kafka
            .subscribe(&topics)
            .map_err(|e| Error::Kafka(format!("cannot subscribe to {}: {e}", topics.join(", "))))?;
        Ok(Consumer {
            kafka,
            decoder: Decoder::new(config.decoder)?,
            ready: VecDeque::new(),
            handed: BTreeMap::new(),
            lag,
            last_key: None,
        })
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
            // librdkafka also returns early after serving a group event.
            let Some(result) = self.kafka.poll(left) else {
                if left.is_zero() {
                    return Ok(None);
                }
                continue;
            };
            let message = result.map_err(|e| Error::Kafka(e.to_string()))?;
            let meta = KafkaMeta {
                topic: message.topic().to_owned(),
                partition: message.partition(),
                offset: message.offset(),
                key: message.key().map(|k| same_or_copy(&mut self.last_key, k)),
                timestamp_ms: message.timestamp().to_millis(),
            };
            let payload = Bytes::copy_from_slice(message.payload().unwrap_or_default());
            drop(message);
            let decoded = self
                .decoder
                .decode_partial(meta.key.as_deref(), payload.clone());
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

    /// Commits the offsets of every message handed out so far (synchronously).
    pub fn commit(&mut self) -> Result<()> {
        let checkpoint = self.checkpoint();
        self.commit_checkpoint(&checkpoint)
    }

    /// The offsets handed out since the last checkpoint, to commit later with
    /// [`Consumer::commit_checkpoint`] once their alerts are processed (e.g.
    /// when a batch written in the background is durable).
    pub fn checkpoint(&mut self) -> Checkpoint {
        Checkpoint(std::mem::take(&mut self.handed))
    }

    /// Commits a checkpoint's offsets (synchronously).
    pub fn commit_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        if checkpoint.0.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), next) in &checkpoint.0 {
            tpl.add_partition_offset(topic, *partition, Offset::Offset(*next))
                .map_err(|e| Error::Kafka(e.to_string()))?;
        }
        self.kafka
            .commit(&tpl, CommitMode::Sync)
            .map_err(|e| Error::Kafka(format!("offset commit failed: {e}")))?;
        Ok(())
    }

    /// Messages the broker holds beyond what this consumer has fetched, as
    /// last reported by librdkafka (about once a second); `None` before that.
    pub fn lag(&self) -> Option<i64> {
        Some(self.lag.load(Ordering::Relaxed)).filter(|&l| l >= 0)
    }

    /// Leaves the group. Alerts handed out but not committed will be delivered
    /// again to the group: commit first if they were processed.
    pub fn close(self) {
        self.kafka.unsubscribe();
    }
}
