//! Alerts as an asynchronous stream (cargo feature `async`): a [`Consumer`]
//! polled on a thread of its own, its alerts handed to async code through a
//! bounded channel, and offsets committed only when the async code says so.
//!
//! ```no_run
//! use alertstream::kafka::{Checkpoint, Connection, Consumer, ConsumerConfig};
//! use futures_util::StreamExt;
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> alertstream::Result<()> {
//!     let config = ConsumerConfig::new(Connection::new("localhost:9092"), "my-group", &["ztf"]);
//!     let mut alerts = Consumer::new(config)?.stream(64);
//!     while let Some(alert) = alerts.next().await {
//!         let alert = alert?;
//!         println!("{:?} {:?}", alert.object_id(), alert.brightness());
//!         // Processed: its offset may be committed.
//!         alerts.commit(Checkpoint::after(&alert))?;
//!     }
//!     alerts.close()
//! }
//! ```

use crate::error::{Error, Result};
use crate::kafka::consumer::Closed;
use crate::kafka::{Checkpoint, Consumer};
use crate::model::alert::Alert;
use futures_channel::mpsc::{self, Receiver, Sender};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the polling thread waits for librdkafka at a time: the longest
/// a stop request or a commit waits.
const POLL: Duration = Duration::from_millis(100);

/// The alerts of a consumer as a [`futures_core::Stream`]; see the module
/// documentation. A poison message comes as [`Error::Poison`] and the
/// stream goes on; an error that waiting cannot fix comes last.
pub struct AlertStream {
    alerts: Receiver<Result<Alert>>,
    commits: std::sync::mpsc::Sender<Checkpoint>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Closed>>,
}

impl Consumer {
    /// Moves the consumer to a thread of its own and returns its alerts as
    /// an asynchronous stream; at most `capacity` alerts wait to be taken.
    pub fn stream(self, capacity: usize) -> AlertStream {
        let (alerts, receiver) = mpsc::channel(capacity.max(1));
        let (commits, to_commit) = std::sync::mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("alertstream-poll".into())
            .spawn(move || poll_until_stopped(self, alerts, to_commit, &stopped))
            .ok();
        AlertStream {
            alerts: receiver,
            commits,
            stop,
            thread,
        }
    }
}

impl AlertStream {
    /// Marks the checkpoint's offsets as done (see [`Consumer::commit_checkpoint`]).
    pub fn commit(&self, checkpoint: Checkpoint) -> Result<()> {
        self.commits
            .send(checkpoint)
            .map_err(|_| Error::Config("the alert stream is closed".into()))
    }

    /// Stops polling, commits what was marked done, leaves the group
    /// (within 10 s); fails when the last offsets were not acknowledged.
    pub fn close(mut self) -> Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        self.alerts.close();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Closed::NotCommitted(e))) => Err(e),
            Some(Err(_)) => Err(Error::Config("the polling thread panicked".into())),
            _ => Ok(()),
        }
    }
}

impl Drop for AlertStream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.alerts.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl futures_core::Stream for AlertStream {
    type Item = Result<Alert>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.alerts).poll_next(cx)
    }
}

impl Checkpoint {
    /// The offsets after `alert`: commit it once the alert, and every alert
    /// before it on its partition, is processed. A message that holds
    /// several alerts (a container of several records) counts as done with
    /// any of them: commit after the last one.
    pub fn after(alert: &Alert) -> Checkpoint {
        let mut checkpoint = Checkpoint::default();
        if let Some(k) = alert.kafka() {
            checkpoint.insert(&k.topic, k.partition, k.offset + 1);
        }
        checkpoint
    }
}

/// The polling thread: alerts out, checkpoints in, until asked to stop, the
/// stream is dropped, or an error that waiting cannot fix.
fn poll_until_stopped(
    mut consumer: Consumer,
    mut alerts: Sender<Result<Alert>>,
    commits: std::sync::mpsc::Receiver<Checkpoint>,
    stop: &AtomicBool,
) -> Closed {
    let commit_done = |consumer: &mut Consumer| -> Result<()> {
        for checkpoint in commits.try_iter() {
            consumer.commit_checkpoint(&checkpoint)?;
        }
        Ok(())
    };
    while !stop.load(Ordering::Relaxed) {
        let item = match commit_done(&mut consumer) {
            Err(e) => Some(Err(e)),
            Ok(()) => consumer.poll(POLL).transpose(),
        };
        let Some(mut item) = item else { continue };
        let last = matches!(&item, Err(e) if !e.is_retriable() && !matches!(e, Error::Poison(_)));
        if matches!(&item, Err(e) if e.is_retriable()) {
            continue; // waited out: the consumer keeps reconnecting
        }
        // The async side is slow: wait for room, still taking its commits.
        loop {
            match alerts.try_send(item) {
                Ok(()) => break,
                Err(full) if full.is_full() && !stop.load(Ordering::Relaxed) => {
                    item = full.into_inner();
                    let _ = commit_done(&mut consumer);
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return finish(consumer, &commits),
            }
        }
        if last {
            break;
        }
    }
    finish(consumer, &commits)
}

fn finish(mut consumer: Consumer, commits: &std::sync::mpsc::Receiver<Checkpoint>) -> Closed {
    for checkpoint in commits.try_iter() {
        let _ = consumer.commit_checkpoint(&checkpoint);
    }
    consumer.close_within(Duration::from_secs(10))
}
