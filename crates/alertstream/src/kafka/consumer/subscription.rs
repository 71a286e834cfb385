//! What a consumer subscribed to, as the broker sees it now: which named
//! topics still exist, which topics the `^regex` patterns match, and how
//! many messages wait unread for the group in them.

use crate::error::{kafka, Error, Result};
use crate::kafka::consumer::Start;
use rdkafka::consumer::{BaseConsumer, Consumer as _, ConsumerContext};
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;

/// Topic names and `^regex` patterns, the patterns compiled.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub names: Vec<String>,
    pub patterns: Vec<(String, regex::Regex)>,
}

impl Subscription {
    /// Sorts the topics a user gave; a pattern that is not a regular
    /// expression is refused here, before librdkafka would.
    pub fn new(topics: &[String]) -> Result<Self> {
        let mut names = Vec::new();
        let mut patterns = Vec::new();
        for topic in topics {
            if topic.starts_with('^') {
                let regex = regex::Regex::new(topic).map_err(|e| {
                    Error::Config(format!(
                        "topic pattern {topic} is not a regular expression: {e}"
                    ))
                })?;
                patterns.push((topic.clone(), regex));
            } else {
                names.push(topic.clone());
            }
        }
        Ok(Subscription { names, patterns })
    }

    /// Whether a topic the broker has is one of this subscription's.
    pub fn covers(&self, topic: &str) -> bool {
        self.names.iter().any(|n| n == topic)
            || self.patterns.iter().any(|(_, r)| r.is_match(topic))
    }

    /// The patterns as given, for messages.
    pub fn pattern_list(&self) -> String {
        let patterns: Vec<&str> = self.patterns.iter().map(|(p, _)| p.as_str()).collect();
        patterns.join(", ")
    }
}

/// The broker's topics that a subscription covers, with their partition
/// counts (internal topics left out).
pub(crate) fn covered_topics<C: ConsumerContext>(
    client: &BaseConsumer<C>,
    subscription: &Subscription,
    timeout: Duration,
) -> Result<Vec<(String, i32)>> {
    let metadata = client
        .fetch_metadata(None, timeout)
        .map_err(kafka("cannot list the broker's topics"))?;
    Ok(metadata
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .filter(|t| !t.name().starts_with("__") && subscription.covers(t.name()))
        .map(|t| (t.name().to_owned(), t.partitions().len() as i32))
        .collect())
}

/// Messages in the covered topics that the group has not committed past
/// (from where a new group would start when it committed nothing).
pub(crate) fn unread_messages<C: ConsumerContext>(
    client: &BaseConsumer<C>,
    topics: &[(String, i32)],
    start: Start,
    timeout: Duration,
) -> Result<i64> {
    let mut partitions = TopicPartitionList::new();
    for (topic, count) in topics {
        for p in 0..*count {
            partitions.add_partition(topic, p);
        }
    }
    let committed = client
        .committed_offsets(partitions, timeout)
        .map_err(kafka("cannot read the group's committed offsets"))?;
    let mut unread = 0;
    for element in committed.elements() {
        let (low, high) = client
            .fetch_watermarks(element.topic(), element.partition(), timeout)
            .map_err(kafka("cannot read the partitions' offsets"))?;
        let from = match (element.offset(), start) {
            (Offset::Offset(o), _) => o.max(low),
            (_, Start::Earliest) => low,
            (_, Start::Latest) => high,
        };
        log::debug!(
            "{}[{}]: committed {:?}, offsets {low}..{high}",
            element.topic(),
            element.partition(),
            element.offset()
        );
        unread += (high - from).max(0);
    }
    Ok(unread)
}
