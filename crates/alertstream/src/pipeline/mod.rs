//! The at-least-once stream: poll, hand each alert to a [`Sink`], seal
//! batches, and commit a batch's offsets only once the sink says its alerts
//! are safe (durable on disk, or handed off by the user's handler).
//!
//! Batches are committed in order; a stop request (see
//! [`Pipeline::stop_flag`]) finishes the batch in hand. A poison message is
//! given to the sink to keep and goes in the batch with its neighbours, so it
//! never blocks the stream. A broker outage is waited out (with a warning
//! when it starts, every 30 s, and when it ends); an error that waiting
//! cannot fix (rejected credentials, a deleted topic, a fenced member, a
//! failing sink) ends the run with that error, and nothing past the last
//! safe alert is committed. A stop request ends the run within
//! [`Options::stop_timeout`], whatever the broker does.
//!
//! The idle timeout counts from the first partition assignment: a group
//! that gives this member no partition is reported while messages wait
//! (every 30 s), and a run with an idle timeout that gets none within the
//! longer of that timeout and three session timeouts ends with
//! [`Error::NoPartitions`].
//!
//! Saving a stream durably, one Avro file per alert:
//!
//! ```no_run
//! use alertstream::kafka::{Connection, Consumer, ConsumerConfig};
//! use alertstream::pipeline::Pipeline;
//! use alertstream::sink::{FileSink, Layout, SaveFormat, Saver};
//!
//! let config = ConsumerConfig::new(Connection::new("localhost:9092"), "my-group", &["ztf"]);
//! let consumer = Consumer::new(config)?;
//! let files = FileSink::new("alertDB", Layout::Fink, SaveFormat::Avro)?;
//! let stats = Pipeline::new(consumer, Saver::spawn(files)?).run()?;
//! println!("{} alerts saved", stats.alerts);
//! # Ok::<(), alertstream::Error>(())
//! ```
//!
//! Or one's own handler, with the same guarantee (an alert's offset is
//! committed after the closure returned `Ok` for it):
//!
//! ```no_run
//! use alertstream::kafka::{Connection, Consumer, ConsumerConfig};
//! use alertstream::pipeline::{Options, Pipeline};
//! use alertstream::sink::Handler;
//! use alertstream::{Alert, Brightness};
//! use std::time::Duration;
//!
//! let config = ConsumerConfig::new(Connection::new("localhost:9092"), "my-group", &["ztf"]);
//! let bright = Handler::new(|alert: &Alert| {
//!     if let Some(Brightness::Magnitude { mag, .. }) = alert.brightness() {
//!         if mag < 18.0 {
//!             println!("{:?} {mag}", alert.object_id());
//!         }
//!     }
//!     Ok(())
//! });
//! let mut options = Options::default();
//! options.idle_timeout = Some(Duration::from_secs(30));
//! Pipeline::new(Consumer::new(config)?, bright).options(options).run()?;
//! # Ok::<(), alertstream::Error>(())
//! ```

mod watch;

use crate::error::{Error, PoisonMessage, Result};
use crate::kafka::consumer::Closed;
use crate::kafka::Consumer;
use crate::model::alert::Alert;
use crate::model::checkpoint::Checkpoint;
#[cfg(feature = "select")]
use crate::select::{Dropped, Selection, Verdict};
use crate::sink::Sink;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use watch::Watch;

/// How a run behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Stop after this many alerts.
    pub limit: Option<u64>,
    /// Stop after this long without an alert, counted from the first
    /// partition assignment (time without a reachable broker counts too).
    pub idle_timeout: Option<Duration>,
    /// Seal a batch after this many alerts...
    pub batch: usize,
    /// ...or when its oldest alert has waited this long.
    pub batch_wait: Duration,
    /// How long to wait for the broker to acknowledge the last commit.
    pub close_timeout: Duration,
    /// After a stop request, the longest the run takes to end: the batch in
    /// hand made durable and committed if the broker answers in time.
    pub stop_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limit: None,
            idle_timeout: None,
            batch: 500,
            batch_wait: Duration::from_millis(200),
            close_timeout: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(4),
        }
    }
}

/// What a run did.
#[derive(Debug, Default, Clone)]
#[non_exhaustive]
pub struct Stats {
    /// Alerts received (kept or not).
    pub seen: u64,
    /// Alerts kept: handed to the sink.
    pub alerts: u64,
    /// Alerts dropped by the selection, by criterion.
    #[cfg(feature = "select")]
    pub dropped: Dropped,
    pub quarantined: u64,
    /// Bytes of the alerts' records.
    pub bytes: u64,
    /// The whole run, group join included.
    pub seconds: f64,
    /// From the first alert to the last: the rate the stream was served at.
    pub streaming_seconds: f64,
    /// Broker outages waited out...
    pub outages: u64,
    /// ...and how long they lasted, all together.
    pub outage_seconds: f64,
    /// Alerts received and kept, per topic.
    pub topics: std::collections::BTreeMap<String, TopicCount>,
    /// Kept alerts whose offsets were committed (the sink made them safe).
    pub committed: u64,
    /// The run ended on a stop request.
    pub stopped: bool,
}

/// Alerts of one topic.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TopicCount {
    pub seen: u64,
    pub kept: u64,
    pub quarantined: u64,
}

/// Where a run stands, for progress displays and metrics.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Progress {
    /// Alerts received.
    pub seen: u64,
    /// Alerts kept.
    pub alerts: u64,
    /// Alerts dropped by the selection, by criterion.
    #[cfg(feature = "select")]
    pub dropped: Dropped,
    pub seconds: f64,
    /// Messages the broker holds beyond what was fetched, when known.
    pub lag: Option<i64>,
    /// The same per topic and partition.
    pub partition_lag: Vec<(String, i32, i64)>,
    /// Undecodable messages.
    pub quarantined: u64,
    /// Per topic.
    pub topics: std::collections::BTreeMap<String, TopicCount>,
    /// Kept alerts committed.
    pub committed: u64,
    /// Seconds without a reachable broker, all outages together.
    pub outage_seconds: f64,
    /// Since when no broker is reachable, if none is now.
    pub outage: Option<f64>,
}

/// How often the broker's health and the assignment are looked at (the
/// statistics change once a second).
const HEALTH_EVERY: Duration = Duration::from_millis(100);
/// How often the progress callback is called.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// How long one poll waits, so that a stop request is seen this soon.
const POLL_SLICE: Duration = Duration::from_millis(100);

/// A consumer feeding a sink; see the module documentation.
pub struct Pipeline<S> {
    consumer: Consumer,
    sink: S,
    options: Options,
    stop: Arc<AtomicBool>,
    #[cfg(feature = "select")]
    selection: Selection,
}

impl<S: Sink> Pipeline<S> {
    pub fn new(consumer: Consumer, sink: S) -> Self {
        Pipeline {
            consumer,
            sink,
            options: Options::default(),
            stop: Arc::new(AtomicBool::new(false)),
            #[cfg(feature = "select")]
            selection: Selection::default(),
        }
    }

    /// Keeps only the alerts `selection` keeps. Dropped alerts count as
    /// handled: their offsets are committed with the batch they fall in,
    /// never before an earlier kept alert is durable.
    #[cfg(feature = "select")]
    pub fn select(mut self, selection: Selection) -> Self {
        self.selection = selection;
        self
    }

    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// Uses `stop` as the stop request: when it turns true, the run
    /// finishes its batch, commits and returns.
    pub fn stop_on(mut self, stop: Arc<AtomicBool>) -> Self {
        self.stop = stop;
        self
    }

    /// The flag that asks the run to stop (e.g. from a signal handler).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Runs until the limit, the idle timeout, a stop request or an error
    /// that waiting cannot fix.
    pub fn run(self) -> Result<Stats> {
        self.run_with(|_| {})
    }

    /// Like [`Pipeline::run`], calling `progress` about once a second.
    pub fn run_with(self, progress: impl FnMut(&Progress)) -> Result<Stats> {
        let Pipeline {
            consumer,
            sink,
            options,
            stop,
            #[cfg(feature = "select")]
            selection,
        } = self;
        let mut run = Run {
            watch: Watch::new(&options),
            consumer,
            sink,
            options,
            stats: Stats::default(),
            oldest_unsealed: None,
            kept_at_seal: Default::default(),
            #[cfg(feature = "select")]
            selection,
        };
        let streamed = run.stream(&stop, progress);
        let stopped = stop.load(Ordering::Relaxed);
        run.stats.stopped = stopped;
        let finished = run.finish(streamed.is_ok(), stopped);
        streamed.and(finished)?;
        Ok(run.stats)
    }
}

struct Run<S> {
    consumer: Consumer,
    sink: S,
    options: Options,
    stats: Stats,
    oldest_unsealed: Option<Instant>,
    /// Alerts kept when each batch not yet committed was sealed.
    kept_at_seal: std::collections::VecDeque<u64>,
    watch: Watch,
    #[cfg(feature = "select")]
    selection: Selection,
}

impl<S: Sink> Run<S> {
    fn stream(&mut self, stop: &AtomicBool, mut progress: impl FnMut(&Progress)) -> Result<()> {
        let start = Instant::now();
        let mut last_alert: Option<Instant> = None;
        let mut last_progress = Instant::now();
        let mut last_health = Instant::now();
        let mut first_alert = None;
        let result = loop {
            let limit_reached = self.options.limit.is_some_and(|l| self.stats.alerts >= l);
            // Idle time counts from the first assignment: joining a group
            // that is slow to hand out partitions is not idleness.
            let idle_since = last_alert.or(self.watch.first_assigned());
            let idle = match (self.options.idle_timeout, idle_since) {
                (Some(timeout), Some(since)) => since.elapsed() >= timeout,
                _ => false,
            };
            if stop.load(Ordering::Relaxed) || limit_reached || idle {
                break Ok(());
            }
            let taken = match self.consumer.poll(POLL_SLICE) {
                Ok(Some(alert)) => self.take(alert).map(|()| true),
                Ok(None) => Ok(false),
                Err(Error::Poison(poison)) => self.quarantine(&poison).map(|()| true),
                Err(e) if e.is_retriable() => {
                    log::debug!("retriable: {e}");
                    Ok(false)
                }
                Err(e) => Err(e),
            };
            match taken {
                Ok(true) => {
                    let now = Instant::now();
                    last_alert = Some(now);
                    first_alert.get_or_insert(now);
                }
                Ok(false) => {}
                Err(e) => break Err(e),
            }
            if let Err(e) = self.commit_safe().and_then(|()| self.seal_if_due()) {
                break Err(e);
            }
            if last_health.elapsed() >= HEALTH_EVERY {
                last_health = Instant::now();
                if let Err(e) = self.watch.look(&self.consumer, &mut self.stats) {
                    break Err(e);
                }
            }
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                progress(&self.progress(start));
            }
        };
        self.stats.seconds = start.elapsed().as_secs_f64();
        // From the first alert to the last (an idle timeout's wait is not
        // the stream's pace); a single alert: to the end.
        self.stats.streaming_seconds = match (first_alert, last_alert) {
            (Some(first), Some(last)) if last > first => (last - first).as_secs_f64(),
            (Some(first), _) => first.elapsed().as_secs_f64(),
            _ => 0.0,
        };
        result
    }

    fn progress(&self, start: Instant) -> Progress {
        // From the watch, which adds an outage to the total when it ends:
        // the total never goes back.
        let outage = self.watch.outage();
        Progress {
            seen: self.stats.seen,
            alerts: self.stats.alerts,
            #[cfg(feature = "select")]
            dropped: self.stats.dropped,
            seconds: start.elapsed().as_secs_f64(),
            lag: self.consumer.lag(),
            partition_lag: self.consumer.partition_lag(),
            quarantined: self.stats.quarantined,
            topics: self.stats.topics.clone(),
            committed: self.stats.committed,
            outage_seconds: self.stats.outage_seconds + outage.unwrap_or(0.0),
            outage,
        }
    }

    /// Counts in a topic's row (made on its first alert).
    fn count(&mut self, topic: Option<&str>, add: impl FnOnce(&mut TopicCount)) {
        let topic = topic.unwrap_or("-");
        match self.stats.topics.get_mut(topic) {
            Some(count) => add(count),
            None => {
                let mut count = TopicCount::default();
                add(&mut count);
                self.stats.topics.insert(topic.to_owned(), count);
            }
        }
    }

    fn take(&mut self, #[allow(unused_mut)] mut alert: Alert) -> Result<()> {
        self.stats.seen += 1;
        self.count(alert.kafka().map(|k| k.topic.as_str()), |c| c.seen += 1);
        // Kept or dropped, the alert is in the batch in hand: its offset is
        // committed with it.
        self.oldest_unsealed.get_or_insert_with(Instant::now);
        #[cfg(feature = "select")]
        if let Verdict::Drop(criterion) = self.selection.judge(&mut alert)? {
            self.stats.dropped.count(criterion);
            return Ok(());
        }
        self.stats.alerts += 1;
        self.count(alert.kafka().map(|k| k.topic.as_str()), |c| c.kept += 1);
        self.stats.bytes += alert.avro_datum().map_or(alert.raw().len(), |d| d.len()) as u64;
        self.sink.take(&alert)
    }

    fn quarantine(&mut self, poison: &PoisonMessage) -> Result<()> {
        self.stats.quarantined += 1;
        self.count(Some(&poison.topic), |c| c.quarantined += 1);
        let place = match self.sink.quarantine(poison)? {
            Some(path) => format!("kept in {}", path.display()),
            None => "not kept".to_owned(),
        };
        log::warn!(
            "undecodable message {}[{}] offset {}: {}; {place}",
            poison.topic,
            poison.partition,
            poison.offset,
            poison.error
        );
        self.oldest_unsealed.get_or_insert_with(Instant::now);
        Ok(())
    }

    fn seal_if_due(&mut self) -> Result<()> {
        let due = self.sink.unsealed() >= self.options.batch.max(1)
            || self
                .oldest_unsealed
                .is_some_and(|t| t.elapsed() >= self.options.batch_wait);
        match due {
            true => self.seal(),
            false => Ok(()),
        }
    }

    fn seal(&mut self) -> Result<()> {
        self.oldest_unsealed = None;
        self.kept_at_seal.push_back(self.stats.alerts);
        self.sink.seal(self.consumer.checkpoint())
    }

    /// Commits the batches the sink says are safe.
    fn commit_safe(&mut self) -> Result<()> {
        let safe = self.sink.durable()?;
        self.commit(safe)
    }

    fn commit(&mut self, checkpoints: Vec<Checkpoint>) -> Result<()> {
        if checkpoints.is_empty() {
            return Ok(());
        }
        for _ in 0..checkpoints.len() {
            if let Some(kept) = self.kept_at_seal.pop_front() {
                self.stats.committed = kept;
            }
        }
        let mut all = Checkpoint::default();
        for checkpoint in checkpoints {
            all.extend(checkpoint);
        }
        self.consumer.commit_checkpoint(&all)
    }

    /// Seals what was taken (unless the stream failed: the alert in hand
    /// may not be safe), waits for the sink, commits, and leaves the group
    /// within the close timeout (the stop timeout after a stop request).
    fn finish(&mut self, seal: bool, stopped: bool) -> Result<()> {
        let deadline = Instant::now()
            + match stopped {
                true => self.options.stop_timeout,
                false => self.options.close_timeout,
            };
        let sealed = if seal { self.seal() } else { Ok(()) };
        let saved = sealed
            .and_then(|()| self.sink.finish())
            .and_then(|safe| self.commit(safe));
        let left = deadline.saturating_duration_since(Instant::now());
        let closed = self.consumer.close_within(left);
        saved?;
        match closed {
            Closed::Committed => Ok(()),
            Closed::NotCommitted(e) => Err(e),
        }
    }
}
