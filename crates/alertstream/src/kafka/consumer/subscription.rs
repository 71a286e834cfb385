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

/// Streams that move to a new topic at each major schema version
/// (`lsst-alerts-v11`, then `lsst-alerts-v12`): for each named topic ending
/// in `-v<N>`, the newest `-v<M>` (M > N) the broker has, as (subscribed, newer).
///
/// ```
/// use alertstream::kafka::consumer::newer_versions;
/// let subscribed = ["lsst-alerts-v11".to_owned()];
/// let available = ["lsst-alerts-v11", "lsst-alerts-v12", "lsst-alerts-v9"].map(String::from);
/// assert_eq!(
///     newer_versions(&subscribed, &available),
///     [("lsst-alerts-v11".to_owned(), "lsst-alerts-v12".to_owned())]
/// );
/// ```
pub fn newer_versions(subscribed: &[String], available: &[String]) -> Vec<(String, String)> {
    let versioned = |topic: &str| -> Option<(String, u32)> {
        let (stem, version) = topic.rsplit_once("-v")?;
        Some((stem.to_owned(), version.parse().ok()?))
    };
    subscribed
        .iter()
        .filter_map(|topic| {
            let (stem, version) = versioned(topic)?;
            let newest = available
                .iter()
                .filter_map(|a| versioned(a).map(|v| (v, a)))
                .filter(|((s, v), _)| *s == stem && *v > version)
                .max_by_key(|((_, v), _)| *v)?;
            Some((topic.clone(), newest.1.clone()))
        })
        .collect()
}

/// The placeholder of a daily topic's date (ALeRCE's `lc_classifier_{date}`).
pub const DATE_PLACEHOLDER: &str = "{date}";
/// How many nights a daily-topic subscription follows, from the day it starts.
pub const DAILY_TOPIC_DAYS: i64 = 31;

/// Daily topics as the broker names them: `lc_classifier_{date}` becomes a
/// pattern of the `YYYYMMDD` dates from `today` (UTC) over the next
/// [`DAILY_TOPIC_DAYS`] days, so a run follows the nights as their topics
/// appear, and the past days' topics are left alone.
///
/// ```
/// use alertstream::kafka::consumer::expand_daily_topics;
/// let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
/// let topics = expand_daily_topics(&["lc_classifier_{date}".to_owned()], today);
/// let pattern = regex::Regex::new(&topics[0]).unwrap();
/// assert!(pattern.is_match("lc_classifier_20261231"));
/// assert!(pattern.is_match("lc_classifier_20270101"));
/// assert!(!pattern.is_match("lc_classifier_20261230"));
/// ```
pub fn expand_daily_topics(topics: &[String], today: chrono::NaiveDate) -> Vec<String> {
    topics
        .iter()
        .map(|topic| match topic.split_once(DATE_PLACEHOLDER) {
            Some((before, after)) if !topic.starts_with('^') => {
                let dates: Vec<String> = (0..DAILY_TOPIC_DAYS)
                    .filter_map(|d| today.checked_add_days(chrono::Days::new(d as u64)))
                    .map(|d| d.format("%Y%m%d").to_string())
                    .collect();
                format!(
                    "^{}({}){}$",
                    regex::escape(before),
                    dates.join("|"),
                    regex::escape(after)
                )
            }
            _ => topic.clone(),
        })
        .collect()
}

/// Today's date in UTC.
pub fn today_utc() -> chrono::NaiveDate {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|t| t.date_naive())
        .unwrap_or_default()
}
