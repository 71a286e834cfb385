//! Telling a person about kept alerts: a message per alert to Slack,
//! Telegram or a webhook (feature `notify`), as a [`Sink`] that keeps the
//! stream's guarantee: a batch is safe once each of its alerts was
//! accepted by every destination, or written to `_undelivered/` with the
//! service's answer after [`NotifyOptions::give_up`].
//!
//! Delivery runs on threads of its own, so a slow service delays commits,
//! never reading or saving. Each destination has a rate limit (Slack and
//! Telegram one message a second by default); alerts above it are told
//! together in one digest ("N more alerts") as soon as the rate allows.
//!
//! ```no_run
//! use alertstream::kafka::{Connection, Consumer, ConsumerConfig};
//! use alertstream::notify::{Destination, Notifier, NotifyOptions};
//! use alertstream::pipeline::Pipeline;
//!
//! let env = |name: &str| std::env::var(name).ok();
//! let telegram = Destination::parse("telegram:-1001234567890", None, env)?;
//! let notifier = Notifier::new(vec![telegram], NotifyOptions::new("alertDB"))?;
//! let config = ConsumerConfig::new(Connection::new("localhost:9092"), "my-group", &["ztf"]);
//! Pipeline::new(Consumer::new(config)?, notifier).run()?;
//! # Ok::<(), alertstream::Error>(())
//! ```

mod deliver;
mod destination;
mod lane;
mod message;
mod rate;

pub use destination::{
    Destination, Service, SLACK_WEBHOOK_ENV, TELEGRAM_API_ENV, TELEGRAM_TOKEN_ENV,
};
pub use message::Facts;
pub use rate::Rate;

use crate::error::{Error, Result};
use crate::model::alert::Alert;
use crate::sink::{Batches, Checkpoint, Ledger, Sink};
use lane::Lane;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Undelivered notifications are written under this folder.
pub const UNDELIVERED_DIR: &str = "_undelivered";

/// How notifications are delivered.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NotifyOptions {
    /// How long one notification is retried before it is written to
    /// `_undelivered/` and counted as told.
    pub give_up: Duration,
    /// One HTTP request's timeout.
    pub request_timeout: Duration,
    /// The folder that holds `_undelivered/`.
    pub folder: PathBuf,
    /// Send the alert's picture where the service shows one (Telegram).
    pub pictures: bool,
    /// The longest [`Sink::finish`] waits for deliveries in flight (less
    /// than the pipeline's stop timeout, so that what was told is still
    /// committed); what is not told by then is not committed, and is told
    /// again at the next run.
    pub finish_wait: Duration,
}

impl NotifyOptions {
    /// The defaults, `_undelivered/` under `folder`.
    pub fn new(folder: impl Into<PathBuf>) -> NotifyOptions {
        NotifyOptions {
            give_up: Duration::from_secs(300),
            request_timeout: Duration::from_secs(15),
            folder: folder.into(),
            pictures: true,
            finish_wait: Duration::from_secs(3),
        }
    }
}

/// What notifying did so far (shared with the delivery threads).
#[derive(Debug, Default)]
pub struct Tally {
    /// Alerts accepted by a destination (a digest counts each it covers).
    pub notified: AtomicU64,
    /// Digests sent.
    pub digests: AtomicU64,
    /// Alerts written to `_undelivered/`.
    pub undelivered: AtomicU64,
}

impl Tally {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Alerts in flight per batch, across destinations; the first failure
/// that makes alerts unsafe (an `_undelivered/` file that cannot be written).
pub(crate) type SharedLedger = Arc<Mutex<Ledger>>;

pub(crate) fn ledger(shared: &SharedLedger) -> MutexGuard<'_, Ledger> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Notifies each alert it takes; see the module documentation.
pub struct Notifier {
    lanes: Vec<Lane>,
    ledger: SharedLedger,
    tally: Arc<Tally>,
    batches: Batches,
    finish_wait: Duration,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("lanes", &self.lanes.len())
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// Starts a lane of delivery threads per destination.
    pub fn new(destinations: Vec<Destination>, options: NotifyOptions) -> Result<Notifier> {
        if destinations.is_empty() {
            return Err(Error::Config("no notification destination".into()));
        }
        let ledger = SharedLedger::default();
        let tally = Arc::new(Tally::default());
        let lanes = destinations
            .into_iter()
            .enumerate()
            .map(|(i, d)| Lane::start(d, i, &options, ledger.clone(), tally.clone()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Notifier {
            lanes,
            ledger,
            tally,
            batches: Batches::default(),
            finish_wait: options.finish_wait,
        })
    }

    /// The counts so far, shared: they go on growing while the run goes.
    pub fn tally(&self) -> Arc<Tally> {
        self.tally.clone()
    }

    fn failure(&self) -> Result<()> {
        match ledger(&self.ledger).failed().map(str::to_owned) {
            Some(reason) => Err(Error::Config(format!(
                "notifications: {reason}; the alerts not told are delivered again at the next run"
            ))),
            None => Ok(()),
        }
    }

    fn release(&mut self) -> Vec<Checkpoint> {
        ledger(&self.ledger).release(&mut self.batches)
    }
}

impl Sink for Notifier {
    fn take(&mut self, alert: &Alert) -> Result<()> {
        let facts = Facts::of(alert);
        let batch = self.batches.take();
        ledger(&self.ledger).add(batch, self.lanes.len());
        for lane in &self.lanes {
            lane.send(batch, &facts, alert)?;
        }
        Ok(())
    }

    fn unsealed(&self) -> usize {
        self.batches.unsealed()
    }

    fn seal(&mut self, checkpoint: Checkpoint) -> Result<()> {
        self.batches.seal(checkpoint);
        Ok(())
    }

    fn durable(&mut self) -> Result<Vec<Checkpoint>> {
        self.failure()?;
        Ok(self.release())
    }

    fn finish(&mut self) -> Result<Vec<Checkpoint>> {
        for lane in &mut self.lanes {
            lane.close();
        }
        let deadline = Instant::now() + self.finish_wait;
        let mut safe = Vec::new();
        loop {
            self.failure()?;
            safe.extend(self.release());
            if self.batches.waiting() == 0 {
                return Ok(safe);
            }
            if Instant::now() >= deadline {
                log::warn!(
                    "{} batch(es) of alerts not yet notified after {} s: they are delivered \
                     and notified again at the next run",
                    self.batches.waiting(),
                    self.finish_wait.as_secs()
                );
                return Ok(safe);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
