//! Marking alerts done and committing their offsets: checkpoints stored
//! for librdkafka's thread to commit, and the bounded wait for the broker's
//! acknowledgement when the consumer leaves.

use super::context::{health_of, SharedState};
use super::{Closed, Consumer, Context, Health};
use crate::error::{codes, kafka, Error, Result};
use crate::model::checkpoint::Checkpoint;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

impl Consumer {
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
        Checkpoint::from(std::mem::take(&mut self.handed))
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
                .is_some_and(|e| !e.rdkafka_error_code().is_some_and(codes::is_retriable));
            if fatal {
                state.commit_error.take()
            } else {
                None
            }
        };
        if let Some(e) = refused {
            return Err(kafka("the broker refused an offset commit")(e));
        }
        if checkpoint.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), next) in checkpoint.iter() {
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

    /// Leaves the group, committing what was marked done, within `timeout`
    /// whatever the broker does. Alerts handed out but not marked done will
    /// be delivered again to the group. The leaving happens on a thread of
    /// its own: when the broker does not answer in time, the client is
    /// abandoned there (its threads end with the process) rather than
    /// waited for without end.
    pub fn close_within(&mut self, timeout: Duration) -> Closed {
        let Some(kafka) = self.kafka.take() else {
            return Closed::Committed;
        };
        let deadline = Instant::now() + timeout;
        let closing = Closing {
            state: self.state.clone(),
            stored: std::mem::take(&mut self.stored),
            servers: self.servers.clone(),
        };
        let (done, result) = mpsc::channel();
        let late = Error::Uncommitted {
            servers: self.servers.clone(),
            cause: "no broker answered in time".into(),
        };
        let spawned = std::thread::Builder::new()
            .name("alertstream-close".into())
            .spawn(move || {
                let _ = done.send(closing.close(kafka, deadline));
            });
        if spawned.is_err() {
            return Closed::NotCommitted(late);
        }
        let wait = deadline.saturating_duration_since(Instant::now()) + CLOSE_GRACE;
        result
            .recv_timeout(wait)
            .unwrap_or(Closed::NotCommitted(late))
    }

    /// Leaves the group (see [`Consumer::close_within`]; waits at most 10 s).
    pub fn close(mut self) {
        let _ = self.close_within(Duration::from_secs(10));
    }
}

/// Past the deadline, the closing thread is still waited for this long.
const CLOSE_GRACE: Duration = Duration::from_millis(200);

/// What leaving the group needs, moved to the closing thread.
struct Closing {
    state: Arc<Mutex<SharedState>>,
    /// Offsets marked done and handed to librdkafka to commit.
    stored: BTreeMap<(String, i32), i64>,
    servers: String,
}

impl Closing {
    fn shared(&self) -> std::sync::MutexGuard<'_, SharedState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Confirms the commits, unsubscribes and closes, until `deadline`.
    fn close(&self, kafka: BaseConsumer<Context>, deadline: Instant) -> Closed {
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
            && health_of(&self.shared()) == Health::Connected
            && Instant::now() < settle
        {
            let _ = kafka.poll(Duration::from_millis(20));
        }
        let pending = self.unacknowledged_offsets();
        if pending.is_empty() || health_of(&self.shared()) != Health::Connected {
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
}
