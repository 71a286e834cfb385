//! What librdkafka's threads report to the consumer: statistics (lag,
//! whether a broker is connected), errors, commit results and partition
//! assignments, kept in one shared state read by the consumer's thread.

use crate::error::codes;
use crate::kafka::connection::{ErrorLog, Recorder};
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaResult;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// librdkafka callbacks: the latest consumer lag per partition, whether a broker
/// is connected, the errors, and what the broker acknowledged committing.
pub(super) struct Context {
    pub(super) errors: ErrorLog,
    pub(super) state: Arc<Mutex<SharedState>>,
}

/// What librdkafka's threads report, read by the consumer's thread.
#[derive(Debug, Default)]
pub(super) struct SharedState {
    /// Consumer lag per topic and partition from the last statistics;
    /// `None` before them.
    pub(super) partition_lag: Option<Vec<(String, i32, i64)>>,
    /// Since when no broker has been connected (from the statistics).
    pub(super) outage_since: Option<Instant>,
    /// A reason for the outage, from the error events.
    pub(super) outage_reason: Option<String>,
    /// An error that ends the stream (credentials, a fenced member).
    pub(super) fatal: Option<rdkafka::error::KafkaError>,
    /// Offsets the broker acknowledged, per topic and partition.
    pub(super) acknowledged: BTreeMap<(String, i32), i64>,
    /// The last commit failure, cleared by a success.
    pub(super) commit_error: Option<rdkafka::error::KafkaError>,
    /// Partitions the group assigned to this member (0 after a revocation).
    pub(super) assigned: usize,
    /// When partitions were first assigned; `None` before.
    pub(super) first_assigned: Option<Instant>,
}

impl SharedState {
    /// Records offsets the broker holds; an older answer never lowers one.
    pub(super) fn acknowledge(&mut self, offsets: &TopicPartitionList) {
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

/// Whether a broker is connected, as the state last says.
pub(super) fn health_of(state: &SharedState) -> super::Health {
    match state.outage_since {
        None => super::Health::Connected,
        Some(since) => super::Health::Outage {
            since,
            reason: state.outage_reason.clone(),
        },
    }
}

impl Context {
    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, SharedState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Recorder for Context {
    fn errors(&self) -> &ErrorLog {
        &self.errors
    }
}

impl ClientContext for Context {
    crate::kafka::oauth::token_refresh!();

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
        } else if codes::is_fatal(code) && !codes::is_missing_topic(code) {
            state.fatal.get_or_insert(error);
        }
    }

    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, _: &str, message: &str) {
        crate::kafka::connection::record_log(&self.errors, level, message);
    }

    fn stats(&self, statistics: Statistics) {
        let partition_lag: Vec<(String, i32, i64)> = statistics
            .topics
            .iter()
            .flat_map(|(topic, t)| t.partitions.values().map(move |p| (topic, p)))
            .filter(|(_, p)| p.partition >= 0 && p.consumer_lag >= 0)
            .map(|(topic, p)| (topic.clone(), p.partition, p.consumer_lag))
            .collect();
        let connected = statistics.brokers.values().any(|b| b.state == "UP");
        let mut state = self.state();
        state.partition_lag = Some(partition_lag);
        if connected {
            state.outage_since = None;
            state.outage_reason = None;
        } else {
            state.outage_since.get_or_insert_with(Instant::now);
        }
    }
}

impl ConsumerContext for Context {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let mut state = self.state();
        match rebalance {
            Rebalance::Assign(partitions) => {
                state.assigned = partitions.count();
                if state.assigned > 0 {
                    state.first_assigned.get_or_insert_with(Instant::now);
                }
            }
            Rebalance::Revoke(_) => state.assigned = 0,
            Rebalance::Error(e) => log::debug!("rebalance error: {e}"),
        }
    }

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
