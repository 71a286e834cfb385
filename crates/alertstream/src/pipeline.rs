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
//! safe alert is committed.
//!
//! Saving a stream durably, one Avro file per alert:
//!
//! ```no_run
//! use alertstream::kafka::{Connection, Consumer, ConsumerConfig};
//! use alertstream::pipeline::{Pipeline, Saver};
//! use alertstream::sink::{FileSink, Layout, SaveFormat};
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
//! use alertstream::pipeline::{Handler, Options, Pipeline};
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

use crate::error::{Error, PoisonMessage, Result};
use crate::kafka::consumer::{Closed, Health};
use crate::kafka::{Checkpoint, Consumer};
use crate::model::alert::Alert;
use crate::sink::{BackgroundSink, FileSink};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What receives the alerts of a [`Pipeline`]. A batch's checkpoint comes
/// back from [`Sink::durable`] once every alert of the batch (and of every
/// batch before) is safe: only then is it committed.
pub trait Sink {
    /// Takes one alert.
    fn take(&mut self, alert: &Alert) -> Result<()>;

    /// Takes a message that could not be decoded; returns where it was
    /// kept, if it was. By default it is not kept.
    fn quarantine(&mut self, poison: &PoisonMessage) -> Result<Option<PathBuf>> {
        let _ = poison;
        Ok(None)
    }

    /// Alerts taken since the last seal.
    fn unsealed(&self) -> usize;

    /// Ends the current batch; `checkpoint` holds the offsets after it.
    fn seal(&mut self, checkpoint: Checkpoint) -> Result<()>;

    /// Checkpoints of the batches that became safe, oldest first, without
    /// waiting.
    fn durable(&mut self) -> Result<Vec<Checkpoint>>;

    /// Waits until every sealed batch is safe; returns their checkpoints.
    fn finish(&mut self) -> Result<Vec<Checkpoint>>;
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn take(&mut self, alert: &Alert) -> Result<()> {
        (**self).take(alert)
    }
    fn quarantine(&mut self, poison: &PoisonMessage) -> Result<Option<PathBuf>> {
        (**self).quarantine(poison)
    }
    fn unsealed(&self) -> usize {
        (**self).unsealed()
    }
    fn seal(&mut self, checkpoint: Checkpoint) -> Result<()> {
        (**self).seal(checkpoint)
    }
    fn durable(&mut self) -> Result<Vec<Checkpoint>> {
        (**self).durable()
    }
    fn finish(&mut self) -> Result<Vec<Checkpoint>> {
        (**self).finish()
    }
}

/// A user's function as a sink: an alert is safe once the function returned
/// `Ok` for it (fink-client's "handler hooks").
pub struct Handler<F> {
    handle: F,
    unsealed: usize,
    safe: Vec<Checkpoint>,
}

impl<F: FnMut(&Alert) -> Result<()>> Handler<F> {
    pub fn new(handle: F) -> Self {
        Handler {
            handle,
            unsealed: 0,
            safe: Vec::new(),
        }
    }
}

impl<F: FnMut(&Alert) -> Result<()>> Sink for Handler<F> {
    fn take(&mut self, alert: &Alert) -> Result<()> {
        (self.handle)(alert)?;
        self.unsealed += 1;
        Ok(())
    }

    fn unsealed(&self) -> usize {
        self.unsealed
    }

    fn seal(&mut self, checkpoint: Checkpoint) -> Result<()> {
        self.unsealed = 0;
        self.safe.push(checkpoint);
        Ok(())
    }

    fn durable(&mut self) -> Result<Vec<Checkpoint>> {
        Ok(std::mem::take(&mut self.safe))
    }

    fn finish(&mut self) -> Result<Vec<Checkpoint>> {
        self.durable()
    }
}

/// Encoded alerts waiting for the saving thread: about 8 MB of ZTF alerts.
const SAVE_QUEUE: usize = 128;

/// Files on disk, written and synced on threads of their own: a batch is
/// safe once its files are durable under their final names. Undecodable
/// messages are kept raw under `_quarantine/`.
pub struct Saver(BackgroundSink<Checkpoint>);

impl Saver {
    /// Starts the writing and syncing threads.
    pub fn spawn(files: FileSink) -> Result<Self> {
        BackgroundSink::spawn(files, SAVE_QUEUE).map(Saver)
    }
}

impl Sink for Saver {
    fn take(&mut self, alert: &Alert) -> Result<()> {
        self.0.save(alert).map(drop)
    }

    fn quarantine(&mut self, poison: &PoisonMessage) -> Result<Option<PathBuf>> {
        self.0.save_quarantine(poison).map(Some)
    }

    fn unsealed(&self) -> usize {
        self.0.unsealed()
    }

    fn seal(&mut self, checkpoint: Checkpoint) -> Result<()> {
        self.0.seal(checkpoint)
    }

    fn durable(&mut self) -> Result<Vec<Checkpoint>> {
        self.0.durable()
    }

    fn finish(&mut self) -> Result<Vec<Checkpoint>> {
        self.0.wait_all()
    }
}

/// Rolling Parquet files: a batch is safe once the files holding its
/// alerts are closed and renamed (see [`crate::sink::parquet`]).
#[cfg(feature = "table")]
impl Sink for crate::sink::parquet::ParquetSink<Checkpoint> {
    fn take(&mut self, alert: &Alert) -> Result<()> {
        crate::sink::parquet::ParquetSink::take(self, alert)
    }

    fn quarantine(&mut self, poison: &PoisonMessage) -> Result<Option<PathBuf>> {
        crate::sink::parquet::ParquetSink::quarantine(self, poison).map(Some)
    }

    fn unsealed(&self) -> usize {
        crate::sink::parquet::ParquetSink::unsealed(self)
    }

    fn seal(&mut self, checkpoint: Checkpoint) -> Result<()> {
        crate::sink::parquet::ParquetSink::seal(self, checkpoint)
    }

    fn durable(&mut self) -> Result<Vec<Checkpoint>> {
        crate::sink::parquet::ParquetSink::durable(self)
    }

    fn finish(&mut self) -> Result<Vec<Checkpoint>> {
        crate::sink::parquet::ParquetSink::finish(self)
    }
}

/// Where and how a run keeps its alerts: the durable sinks by name, for
/// the command line and the Python package.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Storage {
    /// One file per alert ([`Saver`] over a [`FileSink`]).
    Files {
        layout: crate::sink::Layout,
        format: crate::sink::SaveFormat,
    },
    /// Rolling Parquet files ([`crate::sink::parquet::ParquetSink`]).
    #[cfg(feature = "table")]
    Parquet(crate::sink::parquet::ParquetOptions),
}

impl Storage {
    /// Opens the sink that keeps alerts under `dir` (created when missing;
    /// what an interrupted run left half-written is cleaned or completed).
    pub fn open(&self, dir: &std::path::Path) -> Result<Box<dyn Sink>> {
        Ok(match self {
            Storage::Files { layout, format } => {
                Box::new(Saver::spawn(FileSink::new(dir, *layout, *format)?)?)
            }
            #[cfg(feature = "table")]
            Storage::Parquet(options) => Box::new(
                crate::sink::parquet::ParquetSink::<Checkpoint>::open(dir, options.clone())?,
            ),
        })
    }
}

/// Two sinks fed the same alerts; a batch is safe once both say so.
pub struct Both<A, B> {
    first: A,
    second: B,
    sealed: VecDeque<Checkpoint>,
    /// Batches each sink reported safe and that are not yet returned.
    safe: [usize; 2],
}

impl<A: Sink, B: Sink> Both<A, B> {
    pub fn new(first: A, second: B) -> Self {
        Both {
            first,
            second,
            sealed: VecDeque::new(),
            safe: [0, 0],
        }
    }

    fn release(&mut self, first: usize, second: usize) -> Vec<Checkpoint> {
        self.safe[0] += first;
        self.safe[1] += second;
        let n = self.safe[0].min(self.safe[1]).min(self.sealed.len());
        self.safe = [self.safe[0] - n, self.safe[1] - n];
        self.sealed.drain(..n).collect()
    }
}

impl<A: Sink, B: Sink> Sink for Both<A, B> {
    fn take(&mut self, alert: &Alert) -> Result<()> {
        self.first.take(alert)?;
        self.second.take(alert)
    }

    fn quarantine(&mut self, poison: &PoisonMessage) -> Result<Option<PathBuf>> {
        let first = self.first.quarantine(poison)?;
        let second = self.second.quarantine(poison)?;
        Ok(first.or(second))
    }

    fn unsealed(&self) -> usize {
        self.first.unsealed().max(self.second.unsealed())
    }

    fn seal(&mut self, checkpoint: Checkpoint) -> Result<()> {
        self.sealed.push_back(checkpoint.clone());
        self.first.seal(checkpoint.clone())?;
        self.second.seal(checkpoint)
    }

    fn durable(&mut self) -> Result<Vec<Checkpoint>> {
        let first = self.first.durable()?.len();
        let second = self.second.durable()?.len();
        Ok(self.release(first, second))
    }

    fn finish(&mut self) -> Result<Vec<Checkpoint>> {
        let first = self.first.finish()?.len();
        let second = self.second.finish()?.len();
        Ok(self.release(first, second))
    }
}

/// How a run behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Stop after this many alerts.
    pub limit: Option<u64>,
    /// Stop after this long without an alert (time without a reachable
    /// broker counts too).
    pub idle_timeout: Option<Duration>,
    /// Seal a batch after this many alerts...
    pub batch: usize,
    /// ...or when its oldest alert has waited this long.
    pub batch_wait: Duration,
    /// How long to wait for the broker to acknowledge the last commit.
    pub close_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limit: None,
            idle_timeout: None,
            batch: 500,
            batch_wait: Duration::from_millis(200),
            close_timeout: Duration::from_secs(10),
        }
    }
}

/// What a run did.
#[derive(Debug, Default, Clone)]
#[non_exhaustive]
pub struct Stats {
    pub alerts: u64,
    pub quarantined: u64,
    /// Bytes of the alerts' records.
    pub bytes: u64,
    /// The whole run, group join included.
    pub seconds: f64,
    /// From the first alert to the end: the rate the stream was served at.
    pub streaming_seconds: f64,
    /// Broker outages waited out.
    pub outages: u64,
}

/// Where a run stands, for progress displays.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Progress {
    pub alerts: u64,
    pub seconds: f64,
    /// Messages the broker holds beyond what was fetched, when known.
    pub lag: Option<i64>,
}

/// How often an outage is reported while it lasts.
const OUTAGE_REMINDER: Duration = Duration::from_secs(30);
/// How often the broker's health is looked at (it changes once a second).
const HEALTH_EVERY: Duration = Duration::from_millis(100);
/// How often the progress callback is called.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// A consumer feeding a sink; see the module documentation.
pub struct Pipeline<S> {
    consumer: Consumer,
    sink: S,
    options: Options,
    stop: Arc<AtomicBool>,
}

impl<S: Sink> Pipeline<S> {
    pub fn new(consumer: Consumer, sink: S) -> Self {
        Pipeline {
            consumer,
            sink,
            options: Options::default(),
            stop: Arc::new(AtomicBool::new(false)),
        }
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
        } = self;
        let mut run = Run {
            consumer,
            sink,
            options,
            stats: Stats::default(),
            oldest_unsealed: None,
            outage: None,
        };
        let streamed = run.stream(&stop, progress);
        let finished = run.finish(streamed.is_ok());
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
    /// The outage being waited out and when it was last reported.
    outage: Option<(Instant, Instant)>,
}

impl<S: Sink> Run<S> {
    fn stream(&mut self, stop: &AtomicBool, mut progress: impl FnMut(&Progress)) -> Result<()> {
        let start = Instant::now();
        let mut last_alert = Instant::now();
        let mut last_progress = Instant::now();
        let mut last_health = Instant::now();
        let mut first_alert = None;
        let result = loop {
            let limit_reached = self.options.limit.is_some_and(|l| self.stats.alerts >= l);
            let idle = self
                .options
                .idle_timeout
                .is_some_and(|t| last_alert.elapsed() >= t);
            if stop.load(Ordering::Relaxed) || limit_reached || idle {
                break Ok(());
            }
            let taken = match self.consumer.poll(Duration::from_millis(100)) {
                Ok(Some(alert)) => self.take(&alert).map(|()| true),
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
                    last_alert = Instant::now();
                    first_alert.get_or_insert(last_alert);
                }
                Ok(false) => {}
                Err(e) => break Err(e),
            }
            if let Err(e) = self.commit_safe().and_then(|()| self.seal_if_due()) {
                break Err(e);
            }
            if last_health.elapsed() >= HEALTH_EVERY {
                last_health = Instant::now();
                self.watch_health();
            }
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                progress(&Progress {
                    alerts: self.stats.alerts,
                    seconds: start.elapsed().as_secs_f64(),
                    lag: self.consumer.lag(),
                });
            }
        };
        self.stats.seconds = start.elapsed().as_secs_f64();
        self.stats.streaming_seconds = first_alert.map_or(0.0, |t| t.elapsed().as_secs_f64());
        result
    }

    fn take(&mut self, alert: &Alert) -> Result<()> {
        self.stats.alerts += 1;
        self.stats.bytes += alert.avro_datum().map_or(alert.raw().len(), |d| d.len()) as u64;
        self.sink.take(alert)?;
        self.oldest_unsealed.get_or_insert_with(Instant::now);
        Ok(())
    }

    fn quarantine(&mut self, poison: &PoisonMessage) -> Result<()> {
        self.stats.quarantined += 1;
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
        let mut all = Checkpoint::default();
        for checkpoint in checkpoints {
            all.extend(checkpoint);
        }
        self.consumer.commit_checkpoint(&all)
    }

    /// Seals what was taken (unless the stream failed: the alert in hand
    /// may not be safe), waits for the sink, commits, and leaves the group
    /// within the close timeout.
    fn finish(&mut self, seal: bool) -> Result<()> {
        let sealed = if seal { self.seal() } else { Ok(()) };
        let saved = sealed
            .and_then(|()| self.sink.finish())
            .and_then(|safe| self.commit(safe));
        let closed = self.consumer.close_within(self.options.close_timeout);
        saved?;
        match closed {
            Closed::Committed => Ok(()),
            Closed::NotCommitted(e) => Err(e),
        }
    }

    /// Reports an outage when it starts, every 30 s, and when it ends.
    fn watch_health(&mut self) {
        match (self.consumer.health(), self.outage) {
            (Health::Connected, None) => {}
            (Health::Connected, Some((since, _))) => {
                self.outage = None;
                log::warn!(
                    "broker reachable again at {} after {:.0} s (outage {} of this run)",
                    self.consumer.servers(),
                    since.elapsed().as_secs_f64(),
                    self.stats.outages
                );
            }
            (Health::Outage { since, reason }, outage) => {
                let due = outage.is_none_or(|(_, told)| told.elapsed() >= OUTAGE_REMINDER);
                if outage.is_none() {
                    self.stats.outages += 1;
                }
                if due {
                    self.outage = Some((since, Instant::now()));
                    let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
                    log::warn!(
                        "no broker reachable at {} for {:.0} s{why}; waiting for it, Ctrl-C to stop",
                        self.consumer.servers(),
                        since.elapsed().as_secs_f64()
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(offset: i64) -> Checkpoint {
        let mut c = Checkpoint::default();
        c.insert("t", 0, offset);
        c
    }

    #[test]
    fn both_returns_a_batch_once_each_sink_made_it_safe() {
        let mut both = Both::new(
            Handler::new(|_: &Alert| Ok(())),
            Handler::new(|_: &Alert| Ok(())),
        );
        both.seal(checkpoint(1)).unwrap();
        both.seal(checkpoint(2)).unwrap();
        // The second handler has not reported yet: hold its batches back.
        let first = both.first.durable().unwrap().len();
        assert_eq!(both.release(first, 0), vec![]);
        let second = both.second.durable().unwrap().len();
        assert_eq!(both.release(0, second), vec![checkpoint(1), checkpoint(2)]);
        both.seal(checkpoint(3)).unwrap();
        assert_eq!(both.durable().unwrap(), vec![checkpoint(3)]);
    }
}
