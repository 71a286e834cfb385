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

use crate::decode::{Decoder, DecoderOptions};
use crate::error::{kafka, Error, PoisonMessage, Result};
use crate::kafka::connection::{Connection, ErrorLog, Recorder};
use crate::kafka::errors;
use crate::model::alert::{Alert, KafkaMeta};
use bytes::Bytes;
use rdkafka::consumer::{BaseConsumer, Consumer as _, ConsumerContext};
use rdkafka::error::KafkaResult;
use rdkafka::message::Message as _;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
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
#[non_exhaustive]
pub struct ConsumerConfig {
    /// The broker and how to reach it.
    pub connection: Connection,
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
}

impl ConsumerConfig {
    /// A configuration with alertstream's defaults.
    pub fn new(connection: Connection, group: impl Into<String>, topics: &[&str]) -> Self {
        ConsumerConfig {
            connection,
            group: group.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            start: Start::Earliest,
            decoder: DecoderOptions::default(),
            fetch_wait_max_ms: None,
            session_timeout_ms: 10_000,
        }
    }

    fn fetch_wait(&self) -> u32 {
        self.fetch_wait_max_ms
            .unwrap_or(if all_loopback(&self.connection.servers) {
                1
            } else {
                10
            })
    }

    /// librdkafka settings of the consumer (the connection's come after).
    fn settings(&self) -> Vec<(&'static str, String)> {
        let start = match self.start {
            Start::Earliest => "earliest",
            Start::Latest => "latest",
        };
        vec![
            ("group.id", self.group.clone()),
            ("client.id", "alertstream".into()),
            // Offsets are stored only when their alerts are done (durable);
            // librdkafka's thread commits what is stored, so a commit never
            // blocks the stream and is retried while the coordinator is away.
            ("enable.auto.commit", "true".into()),
            // Results of these commits come back as events (acknowledged
            // offsets); a manual asynchronous commit's would not.
            ("auto.commit.interval.ms", "100".into()),
            ("enable.auto.offset.store", "false".into()),
            ("auto.offset.reset", start.into()),
            ("fetch.wait.max.ms", self.fetch_wait().to_string()),
            // ZTF alerts are ~60 KB: 1 MiB per partition per fetch is only ~16.
            ("max.partition.fetch.bytes", (4 << 20).to_string()),
            ("session.timeout.ms", self.session_timeout_ms.to_string()),
            (
                "heartbeat.interval.ms",
                (self.session_timeout_ms / 3).max(100).to_string(),
            ),
            ("statistics.interval.ms", "1000".into()),
            // The prefetch queue (all partitions together): it absorbs the
            // jitter of broker and disk, and bounds memory whatever the
            // backlog (16 MiB: as fast as 64 MiB when saving, 60 MB less RSS).
            ("queued.max.messages.kbytes", "16384".into()),
            // When that queue is full, librdkafka waits this long before it
            // fetches again (default 1 s): with a consumer slowed by the disk,
            // the queue drained in a few ms and then sat empty for the rest.
            ("fetch.queue.backoff.ms", "10".into()),
        ]
    }
}

/// Topics as users give them (names, comma lists, `^regex` patterns) as
/// the consumer takes them: one name or pattern each.
pub fn topic_list(args: &[String]) -> Vec<String> {
    args.iter()
        .flat_map(|a| {
            if a.starts_with('^') {
                vec![a.clone()]
            } else {
                a.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
        })
        .collect()
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

/// librdkafka callbacks: the latest total consumer lag, whether a broker
/// is connected, the errors, and what the broker acknowledged committing.
struct Context {
    errors: ErrorLog,
    state: Arc<Mutex<SharedState>>,
}

/// What librdkafka's threads report, read by the consumer's thread.
#[derive(Debug, Default)]
struct SharedState {
    /// Total consumer lag from the last statistics; `None` before them.
    lag: Option<i64>,
    /// Since when no broker has been connected (from the statistics).
    outage_since: Option<Instant>,
    /// A reason for the outage, from the error events.
    outage_reason: Option<String>,
    /// An error that ends the stream (credentials, a fenced member).
    fatal: Option<rdkafka::error::KafkaError>,
    /// Offsets the broker acknowledged, per topic and partition.
    acknowledged: BTreeMap<(String, i32), i64>,
    /// The last commit failure, cleared by a success.
    commit_error: Option<rdkafka::error::KafkaError>,
}

impl SharedState {
    /// Records offsets the broker holds; an older answer never lowers one.
    fn acknowledge(&mut self, offsets: &TopicPartitionList) {
        for e in offsets.elements() {
            if let Offset::Offset(o) = e.offset() {
                let acked = self
                    .acknowledged
                    .entry((e.topic().to_owned(), e.partition()))
                    .or_insert(o);
                *acked = (*acked).max(o);
            }
        }
    }
}

impl Context {
    fn state(&self) -> std::sync::MutexGuard<'_, SharedState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Recorder for Context {
    fn errors(&self) -> &ErrorLog {
        &self.errors
    }
}

impl ClientContext for Context {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        self.errors.record(reason);
        let Some(code) = error.rdkafka_error_code() else {
            return;
        };
        let mut state = self.state();
        // One broker dropping a connection is routine; all of them down is
        // an outage (the statistics say when it ends).
        if code == rdkafka::types::RDKafkaErrorCode::AllBrokersDown {
            state.outage_reason = Some(reason.to_owned());
            state.outage_since.get_or_insert_with(Instant::now);
        } else if errors::is_fatal(code) && !errors::is_missing_topic(code) {
            state.fatal.get_or_insert(error);
        }
    }

    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, _: &str, message: &str) {
        crate::kafka::connection::record_log(&self.errors, level, message);
    }

    fn stats(&self, statistics: Statistics) {
        let lag: i64 = statistics
            .topics
            .values()
            .flat_map(|t| t.partitions.values())
            .filter(|p| p.partition >= 0 && p.consumer_lag >= 0)
            .map(|p| p.consumer_lag)
            .sum();
        let connected = statistics.brokers.values().any(|b| b.state == "UP");
        let mut state = self.state();
        state.lag = Some(lag);
        if connected {
            state.outage_since = None;
            state.outage_reason = None;
        } else {
            state.outage_since.get_or_insert_with(Instant::now);
        }
    }
}

impl ConsumerContext for Context {
    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        log::debug!("offset commit: {result:?} {offsets:?}");
        let mut state = self.state();
        match result {
            Ok(()) => {
                state.commit_error = None;
                state.acknowledge(offsets);
            }
            // Nothing to commit is not a failure.
            Err(e)
                if e.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::NoOffset) => {}
            Err(e) => state.commit_error = Some(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn topics_from_names_comma_lists_and_patterns() {
        let args = [
            "ztf_a, ztf_b".to_owned(),
            "^fink_.*,x".to_owned(),
            "c".to_owned(),
        ];
        assert_eq!(
            super::topic_list(&args),
            ["ztf_a", "ztf_b", "^fink_.*,x", "c"]
        );
    }

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
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Checkpoint(BTreeMap<(String, i32), i64>);

impl Checkpoint {
    /// Takes in a later checkpoint: its offsets supersede this one's.
    pub fn extend(&mut self, later: Checkpoint) {
        self.0.extend(later.0);
    }

    /// Sets the next offset to read of a partition.
    #[cfg(any(test, feature = "async"))]
    pub(crate) fn insert(&mut self, topic: &str, partition: i32, next: i64) {
        self.0.insert((topic.to_owned(), partition), next);
    }

    /// True when it holds no offset.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

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
    topics: Vec<String>,
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

impl Consumer {
    /// Connects (failing with a clear error when the broker cannot be
    /// reached, refuses the credentials, or lacks a named topic), joins the
    /// group and subscribes.
    pub fn new(config: ConsumerConfig) -> Result<Self> {
        let state = Arc::new(Mutex::new(SharedState::default()));
        let context = Context {
            errors: ErrorLog::default(),
            state: state.clone(),
        };
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
            topics: config.topics.clone(),
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
            let message = result.map_err(|e| self.consume_error(e))?;
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

    /// Marks every message handed out so far as done: its offset is
    /// committed in the background (see the module documentation).
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

    /// Marks a checkpoint's offsets as done: librdkafka commits them in the
    /// background, never blocking this thread. Checkpoints must come in the
    /// order they were taken. Fails when the broker refused the previous
    /// commit for good (e.g. the member was fenced).
    pub fn commit_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        let refused = {
            let mut state = self.shared();
            let fatal = state
                .commit_error
                .as_ref()
                .is_some_and(|e| !e.rdkafka_error_code().is_some_and(errors::is_retriable));
            if fatal {
                state.commit_error.take()
            } else {
                None
            }
        };
        if let Some(e) = refused {
            return Err(kafka("the broker refused an offset commit")(e));
        }
        if checkpoint.0.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), next) in &checkpoint.0 {
            tpl.add_partition_offset(topic, *partition, Offset::Offset(*next))
                .map_err(kafka("bad offset"))?;
            self.stored.insert((topic.clone(), *partition), *next);
        }
        match self.client()?.store_offsets(&tpl) {
            Ok(()) => Ok(()),
            // A partition given to another member meanwhile: it will be
            // delivered there again, which at-least-once allows.
            Err(e)
                if e.rdkafka_error_code().is_some_and(|c| {
                    matches!(
                        c,
                        rdkafka::types::RDKafkaErrorCode::State
                            | rdkafka::types::RDKafkaErrorCode::UnknownPartition
                    )
                }) =>
            {
                Ok(())
            }
            Err(e) => Err(kafka("cannot store offsets to commit")(e)),
        }
    }

    /// Whether a broker is connected, as librdkafka last reported (about
    /// once a second).
    pub fn health(&self) -> Health {
        let state = self.shared();
        match state.outage_since {
            None => Health::Connected,
            Some(since) => Health::Outage {
                since,
                reason: state.outage_reason.clone(),
            },
        }
    }

    /// The bootstrap servers, for messages.
    pub fn servers(&self) -> &str {
        &self.servers
    }

    /// Messages the broker holds beyond what this consumer has fetched, as
    /// last reported by librdkafka (about once a second); `None` before that.
    pub fn lag(&self) -> Option<i64> {
        self.shared().lag
    }

    /// Leaves the group, committing what was marked done, waiting at most
    /// `timeout` for the broker. Alerts handed out but not marked done will
    /// be delivered again to the group. When the broker does not answer in
    /// time, the client is abandoned (its threads end with the process)
    /// rather than waited for without end.
    pub fn close_within(&mut self, timeout: Duration) -> Closed {
        let Some(kafka) = self.kafka.take() else {
            return Closed::Committed;
        };
        let deadline = Instant::now() + timeout;
        self.confirm_commits(&kafka, deadline);
        kafka.unsubscribe();
        let closing = kafka.close_queue().is_ok();
        while closing && !kafka.closed() && Instant::now() < deadline {
            let _ = kafka.poll(Duration::from_millis(50));
        }
        if !kafka.closed() {
            // Dropping it would wait for the broker without a time limit.
            std::mem::forget(kafka);
            return Closed::NotCommitted(self.unacknowledged("no broker answered in time"));
        }
        drop(kafka);
        match !self.unacknowledged_offsets().is_empty() {
            false => Closed::Committed,
            true => {
                Closed::NotCommitted(self.unacknowledged("the broker did not acknowledge them"))
            }
        }
    }

    /// Stored offsets the broker has not acknowledged (as far as we heard).
    fn unacknowledged_offsets(&self) -> Vec<((String, i32), i64)> {
        let state = self.shared();
        self.stored
            .iter()
            .filter(|(tp, o)| state.acknowledged.get(*tp).is_none_or(|a| a < *o))
            .map(|(tp, o)| (tp.clone(), *o))
            .collect()
    }

    /// Before leaving: waits (a little, while a broker is connected) for the
    /// broker to acknowledge the stored offsets, then asks it which of the
    /// rest it holds. What it does not hold yet is committed when the
    /// consumer closes.
    fn confirm_commits(&self, kafka: &BaseConsumer<Context>, deadline: Instant) {
        // librdkafka commits stored offsets every 100 ms; its answers come as
        // events that only a poll serves. A message polled here is dropped,
        // not handed out: it is delivered again, never lost.
        let settle = deadline.min(Instant::now() + Duration::from_secs(2));
        while !self.unacknowledged_offsets().is_empty()
            && self.health() == Health::Connected
            && Instant::now() < settle
        {
            let _ = kafka.poll(Duration::from_millis(20));
        }
        let pending = self.unacknowledged_offsets();
        if pending.is_empty() || self.health() != Health::Connected {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), next) in &pending {
            let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(*next));
        }
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_secs(5));
        if let Ok(held) = kafka.committed_offsets(tpl, wait) {
            self.shared().acknowledge(&held);
        }
    }

    fn unacknowledged(&self, why: &str) -> Error {
        let cause = match self.shared().commit_error.take() {
            Some(e) => format!("{why}: {e}"),
            None => why.to_owned(),
        };
        Error::Uncommitted {
            servers: self.servers.clone(),
            cause,
        }
    }

    /// Leaves the group (see [`Consumer::close_within`]; waits at most 10 s).
    pub fn close(mut self) {
        let _ = self.close_within(Duration::from_secs(10));
    }

    /// Sorts a consumer error: a deleted topic, or a Kafka error.
    fn consume_error(&self, e: rdkafka::error::KafkaError) -> Error {
        // librdkafka's error does not say which topic: name the subscription.
        if e.rdkafka_error_code().is_some_and(errors::is_missing_topic) {
            return Error::TopicDeleted {
                topic: self.topics.join(", "),
            };
        }
        kafka("cannot consume")(e)
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
