//! Looking after topics and groups: list and create topics, a group's lag per
//! partition, and moving a group's committed offsets.

use crate::error::{kafka, Error, Result};
use crate::kafka::connection::{Connection, ErrorContext, ErrorLog};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeSet;

/// A topic and its partition count.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TopicInfo {
    pub topic: String,
    pub partitions: usize,
}

/// Where a group stands on one partition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    /// Next offset the group will read; `None` when it never committed.
    pub committed: Option<i64>,
    pub low_watermark: i64,
    pub high_watermark: i64,
    /// Alerts waiting for the group (from the oldest kept when never committed).
    pub lag: i64,
}

/// Where `reset` moves a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetTo {
    Earliest,
    Latest,
    /// The first alert at or after this time (milliseconds since the Unix epoch).
    Timestamp(i64),
}

/// A consumer in `group` that never subscribes: it reads metadata,
/// watermarks and committed offsets, and commits.
fn group_client(
    conn: &Connection,
    group: &str,
    topics: &[String],
) -> Result<BaseConsumer<ErrorContext>> {
    conn.open(
        &[
            ("group.id", group),
            ("enable.auto.commit", "false"),
            ("client.id", "alertstream-admin"),
        ],
        || ErrorContext(ErrorLog::default()),
        topics,
    )
}

/// The topics of the cluster (internal ones left out), sorted.
pub fn topics(conn: &Connection) -> Result<Vec<TopicInfo>> {
    let client = group_client(conn, "alertstream-admin", &[])?;
    let metadata = client
        .fetch_metadata(None, conn.connect_timeout)
        .map_err(kafka("cannot list topics"))?;
    let mut out: Vec<TopicInfo> = metadata
        .topics()
        .iter()
        .filter(|t| !t.name().starts_with("__"))
        .map(|t| TopicInfo {
            topic: t.name().to_owned(),
            partitions: t.partitions().len(),
        })
        .collect();
    out.sort_by(|a, b| a.topic.cmp(&b.topic));
    Ok(out)
}

/// A broker of the cluster, as its metadata names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BrokerInfo {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

/// The brokers of the cluster (what fink-client's `available_brokers` lists), by id.
pub fn brokers(conn: &Connection) -> Result<Vec<BrokerInfo>> {
    let client = group_client(conn, "alertstream-admin", &[])?;
    let metadata = client
        .fetch_metadata(None, conn.connect_timeout)
        .map_err(kafka("cannot list the brokers"))?;
    let mut out: Vec<BrokerInfo> = metadata
        .brokers()
        .iter()
        .map(|b| BrokerInfo {
            id: b.id(),
            host: b.host().to_owned(),
            port: b.port(),
        })
        .collect();
    out.sort_by_key(|b| b.id);
    Ok(out)
}

/// Partitions of `topics` (all topics when empty).
pub(crate) fn partitions(
    client: &BaseConsumer<ErrorContext>,
    conn: &Connection,
    topics: &[String],
) -> Result<Vec<(String, i32)>> {
    let metadata = client
        .fetch_metadata(None, conn.connect_timeout)
        .map_err(kafka("cannot read the topics"))?;
    let mut out = Vec::new();
    for t in metadata.topics() {
        let wanted = if topics.is_empty() {
            !t.name().starts_with("__")
        } else {
            topics.iter().any(|w| w == t.name())
        };
        if wanted {
            out.extend(t.partitions().iter().map(|p| (t.name().to_owned(), p.id())));
        }
    }
    out.sort();
    Ok(out)
}

/// Committed offset, watermarks and lag of `group` on every partition of
/// `topics` (when empty: of every topic where the group committed
/// something), including the partitions where it committed nothing.
pub fn lag(conn: &Connection, group: &str, topics: &[String]) -> Result<Vec<PartitionLag>> {
    let client = group_client(conn, group, topics)?;
    let parts = partitions(&client, conn, topics)?;
    let committed = committed(&client, conn, &parts)?;
    let group_topics: BTreeSet<&str> = parts
        .iter()
        .zip(&committed)
        .filter(|(_, c)| c.is_some())
        .map(|((t, _), _)| t.as_str())
        .collect();
    let mut out = Vec::new();
    for ((topic, partition), committed) in parts.iter().zip(committed.iter().copied()) {
        if topics.is_empty() && !group_topics.contains(topic.as_str()) {
            continue;
        }
        let (topic, partition) = (topic.clone(), *partition);
        let (low, high) = client
            .fetch_watermarks(&topic, partition, conn.connect_timeout)
            .map_err(kafka("cannot read watermarks"))?;
        let lag = (high - committed.unwrap_or(low).max(low)).max(0);
        out.push(PartitionLag {
            topic,
            partition,
            committed,
            low_watermark: low,
            high_watermark: high,
            lag,
        });
    }
    Ok(out)
}

/// The group's committed offsets for `parts`, in the same order.
fn committed(
    client: &BaseConsumer<ErrorContext>,
    conn: &Connection,
    parts: &[(String, i32)],
) -> Result<Vec<Option<i64>>> {
    let mut request = TopicPartitionList::new();
    for (t, p) in parts {
        request.add_partition(t, *p);
    }
    let answer = client
        .committed_offsets(request, conn.connect_timeout)
        .map_err(kafka("cannot read committed offsets"))?;
    Ok(parts
        .iter()
        .map(
            |(t, p)| match answer.find_partition(t, *p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) if o >= 0 => Some(o),
                _ => None,
            },
        )
        .collect())
}

/// Moves `group`'s committed offsets on every partition of `topics`. Stop
/// the group's consumers first: a running member would commit over it.
/// Returns the new offset of each partition.
pub fn reset(
    conn: &Connection,
    group: &str,
    topics: &[String],
    to: ResetTo,
) -> Result<Vec<(String, i32, i64)>> {
    if topics.is_empty() {
        return Err(Error::Config("reset needs at least one topic".into()));
    }
    let client = group_client(conn, group, topics)?;
    let parts = partitions(&client, conn, topics)?;
    let mut targets = Vec::new();
    for (topic, partition) in &parts {
        let (low, high) = client
            .fetch_watermarks(topic, *partition, conn.connect_timeout)
            .map_err(kafka("cannot read watermarks"))?;
        let offset = match to {
            ResetTo::Earliest => low,
            ResetTo::Latest => high,
            ResetTo::Timestamp(ms) => {
                offset_for_time(&client, conn, topic, *partition, ms)?.unwrap_or(high)
            }
        };
        targets.push((topic.clone(), *partition, offset));
    }
    let mut tpl = TopicPartitionList::new();
    for (t, p, o) in &targets {
        tpl.add_partition_offset(t, *p, Offset::Offset(*o))
            .map_err(kafka("bad offset"))?;
    }
    client.commit(&tpl, CommitMode::Sync).map_err(kafka(
        "cannot commit the new offsets (is a consumer of the group still running?)",
    ))?;
    Ok(targets)
}

fn offset_for_time(
    client: &BaseConsumer<ErrorContext>,
    conn: &Connection,
    topic: &str,
    partition: i32,
    ms: i64,
) -> Result<Option<i64>> {
    let mut request = TopicPartitionList::new();
    request
        .add_partition_offset(topic, partition, Offset::Offset(ms))
        .map_err(kafka("bad timestamp"))?;
    let answer = client
        .offsets_for_times(request, conn.connect_timeout)
        .map_err(kafka("cannot look up offsets by time"))?;
    let offset = answer.find_partition(topic, partition).map(|e| e.offset());
    Ok(match offset {
        Some(Offset::Offset(o)) if o >= 0 => Some(o),
        _ => None,
    })
}

/// Creates a topic (replication factor 1). An existing topic is not an error.
pub fn create_topic(conn: &Connection, topic: &str, partitions: i32) -> Result<()> {
    let admin: AdminClient<ErrorContext> =
        conn.open(&[], || ErrorContext(ErrorLog::default()), &[])?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let timeout = Some(conn.connect_timeout);
    let options = AdminOptions::new()
        .operation_timeout(timeout)
        .request_timeout(timeout);
    let context = || format!("cannot create topic {topic}");
    let results = futures_executor::block_on(admin.create_topics([&new], &options))
        .map_err(kafka(context()))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => return Err(kafka(context())(KafkaError::AdminOp(code))),
        }
    }
    Ok(())
}
