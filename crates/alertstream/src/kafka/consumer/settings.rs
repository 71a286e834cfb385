//! What a consumer is asked to do: the group, topics, start position and
//! the librdkafka settings that follow from them.

use crate::decode::DecoderOptions;
use crate::kafka::connection::Connection;

/// The group session timeout unless set: librdkafka's default is 45 s,
/// which keeps a crashed member's partitions waiting that long.
pub const DEFAULT_SESSION_TIMEOUT_MS: u32 = 10_000;

/// How often the topics a `^regex` subscription matches are looked for: a
/// new night's topic is consumed within this long of its creation.
pub const PATTERN_REFRESH_MS: u32 = 30_000;

/// Where a new consumer group starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Start {
    /// The oldest alert still kept by the broker.
    #[default]
    Earliest,
    /// Only alerts published from now on.
    Latest,
}

crate::names::named!(Start, "start position", {
    Start::Earliest => "earliest",
    Start::Latest => "latest",
});

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
    /// Group session timeout: how long the group waits for a member that
    /// stopped without leaving before giving its partitions to others.
    pub session_timeout_ms: u32,
    /// Static group membership (librdkafka's `group.instance.id`): a member
    /// restarted with the same id gets its partitions back at once, without
    /// a rebalance. The id must be unique among the running members, and a
    /// static member does not leave the group when it closes (its partitions
    /// wait for it until the session times out).
    pub instance_id: Option<String>,
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
            session_timeout_ms: DEFAULT_SESSION_TIMEOUT_MS,
            instance_id: None,
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
    pub(crate) fn settings(&self) -> Vec<(&'static str, String)> {
        let start = crate::names::Named::name(self.start);
        let mut settings = vec![
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
        ];
        if let Some(id) = &self.instance_id {
            settings.push(("group.instance.id", id.clone()));
        }
        if self.topics.iter().any(|t| t.starts_with('^')) {
            // librdkafka matches patterns against the topics it knows, which
            // it relearns every 5 minutes by default.
            settings.push((
                "topic.metadata.refresh.interval.ms",
                PATTERN_REFRESH_MS.to_string(),
            ));
        }
        settings
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
