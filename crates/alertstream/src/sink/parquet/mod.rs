//! A stream of alerts into rolling Parquet files, exactly once on disk.
//!
//! Alerts go into one open file per Kafka partition and partition folder
//! ([`ParquetOptions::partition_by`]); every so many alerts or seconds all open files are
//! closed together (a *roll*): finished, synced, renamed to their final
//! names, and only then are the offsets they hold reported durable.
//!
//! A final name says what the file holds:
//! `DIR/<topic>/[date=YYYY-MM-DD/][class=C/]<partition>-<first>-<last>.parquet`
//! holds every alert of that Kafka partition from offset `first` to `last`
//! whose partition folder is this one (the others of that range are in the
//! sibling folders' files of the same roll). So at start the names alone
//! tell which offsets are on disk: an alert delivered again (its commit was
//! lost in a crash) whose offset lies in a file of its own folder is
//! skipped, and none is written twice.
//!
//! The caller builds the columns; a writing thread encodes and writes the
//! files, and a syncing thread makes each roll durable while the next one
//! is written (the sinks' one mechanism, [`crate::sink`]).

mod layout;
mod writer;

pub use layout::{PartitionBy, CLASS_FIELDS};

use crate::durable::remove_stale_tmp;
use crate::error::{Error, PoisonMessage, Result};
use crate::model::alert::Alert;
use crate::model::checkpoint::Checkpoint;
use crate::sink::threads::{Plan, WriteAndSync};
use crate::sink::{FileSink, Layout, SaveFormat, Sink};
use crate::table::{AlertBatchBuilder, Shape, Shapes, TableOptions};
use arrow_array::RecordBatch;
use layout::{files_on_disk, folder_for, OnDisk, Range, Stream};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use writer::{ParquetFiles, Roll, Rows};

/// How the files roll and are laid out.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ParquetOptions {
    /// Close the files once one holds this many alerts...
    pub roll_rows: u64,
    /// ...or once the oldest alert in them has waited this long.
    pub roll_after: Duration,
    pub partition_by: Vec<PartitionBy>,
    /// Keep the cutouts (binary columns). On by default: the files are the
    /// saved stream, and nothing of an alert is dropped unless asked.
    pub cutouts: bool,
    /// Add the columns of what a selection found (watchlist targets, sky
    /// map density): set when a watchlist or a sky map selects the stream.
    pub matches: bool,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            roll_rows: 100_000,
            roll_after: Duration::from_secs(300),
            partition_by: Vec::new(),
            cutouts: true,
            matches: false,
        }
    }
}

impl ParquetOptions {
    pub fn with_roll(mut self, rows: u64, after: Duration) -> Self {
        self.roll_rows = rows.max(1);
        self.roll_after = after;
        self
    }

    pub fn with_partition_by(mut self, by: Vec<PartitionBy>) -> Self {
        self.partition_by = by;
        self
    }

    pub fn with_cutouts(mut self, cutouts: bool) -> Self {
        self.cutouts = cutouts;
        self
    }

    pub fn with_matches(mut self, matches: bool) -> Self {
        self.matches = matches;
        self
    }
}

/// Rows built before they go to the writing thread.
const BATCH_ROWS: usize = 256;
/// Batches waiting for the writing thread: bounds memory (about 16 MB each
/// for ZTF alerts with their cutouts).
const WRITE_QUEUE: usize = 2;
/// Rolls whose files wait to be synced: the writing thread goes on with the
/// next files meanwhile, up to this many rolls ahead.
const SYNC_QUEUE: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FileKey {
    topic: String,
    partition: i32,
    folder: PathBuf,
}

/// A file of the roll in progress.
struct OpenFile {
    id: u64,
    /// Where it is written: `dir` and the partition folder.
    folder: PathBuf,
    first: i64,
    last: i64,
    rows: u64,
    shape: Arc<Shape>,
    builder: Option<AlertBatchBuilder>,
    /// Documents wait here until a batch is full, so that the file's columns
    /// are the union of theirs rather than the first one's.
    waiting: Vec<Alert>,
}

/// See the module documentation. `T` is the caller's token for a batch of
/// alerts (the pipeline's checkpoint): it comes back from
/// [`ParquetSink::durable`] once every alert of the batch is on disk.
pub struct ParquetSink<T: Send + 'static> {
    dir: PathBuf,
    options: ParquetOptions,
    table: TableOptions,
    shapes: Shapes,
    /// Offsets on disk, per topic and partition (found at start, then added
    /// at each roll).
    on_disk: HashMap<Stream, OnDisk>,
    /// Offsets in the roll in progress, per topic and partition.
    in_roll: HashMap<Stream, (i64, i64)>,
    files: HashMap<FileKey, OpenFile>,
    roll_started: Option<Instant>,
    next_id: u64,
    quarantine: FileSink,
    /// Alerts and poison messages taken (or skipped) so far.
    taken: u64,
    skipped: u64,
    unsealed: usize,
    sealed: VecDeque<(u64, T)>,
    durable_through: u64,
    /// The writing and syncing threads; a roll's token is the count of
    /// alerts taken before it.
    threads: WriteAndSync<ParquetFiles, u64>,
}

impl<T: Send + 'static> ParquetSink<T> {
    /// Opens `dir` (made if missing), learns which offsets its files hold,
    /// removes the temporary files of writers that are gone, and starts the
    /// writing thread.
    pub fn open(dir: impl Into<PathBuf>, options: ParquetOptions) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        remove_stale_tmp(&dir, 2 + options.partition_by.len())?;
        let on_disk = files_on_disk(&dir)?;
        let quarantine = FileSink::new(&dir, Layout::Fink, SaveFormat::Avro)?;
        let plan = Plan {
            writer: "alertstream-parquet",
            queue: WRITE_QUEUE,
            sync_queue: SYNC_QUEUE,
            folder: dir.clone(),
        };
        let threads = WriteAndSync::spawn(ParquetFiles::default(), plan)?;
        Ok(ParquetSink {
            table: TableOptions::default()
                .with_cutouts(options.cutouts)
                .with_kafka(true)
                .with_matches(options.matches),
            dir,
            options,
            shapes: Shapes::default(),
            on_disk,
            in_roll: HashMap::new(),
            files: HashMap::new(),
            roll_started: None,
            next_id: 0,
            quarantine,
            taken: 0,
            skipped: 0,
            unsealed: 0,
            sealed: VecDeque::new(),
            durable_through: 0,
            threads,
        })
    }

    /// Alerts not written because a durable file already holds them.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Takes one alert from a Kafka stream (its [`crate::model::alert::KafkaMeta`] names the
    /// partition and offset).
    pub fn take(&mut self, alert: &Alert) -> Result<()> {
        self.collect_durable()?;
        let meta = alert.kafka().ok_or_else(|| {
            Error::Config(
                "the Parquet sink takes alerts from Kafka (topic, partition, offset)".into(),
            )
        })?;
        self.taken += 1;
        self.unsealed += 1;
        let folder = folder_for(alert, meta, &self.options.partition_by);
        let stream: Stream = (meta.topic.clone(), meta.partition);
        if self.already_taken(&stream, meta.offset, &folder) {
            self.skipped += 1;
            return Ok(());
        }
        let shape = self.shapes.of(alert, &self.table)?;
        let key = FileKey {
            topic: stream.0.clone(),
            partition: meta.partition,
            folder,
        };
        if self.files.get(&key).is_some_and(|f| !fits(f, &shape)) {
            // A new schema version: its alerts start new files.
            self.roll(self.taken - 1)?;
        }
        self.roll_started.get_or_insert_with(Instant::now);
        match self.in_roll.get_mut(&stream) {
            Some(span) => span.1 = meta.offset,
            None => {
                self.in_roll.insert(stream, (meta.offset, meta.offset));
            }
        }
        let next_id = &mut self.next_id;
        let file = match self.files.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                *next_id += 1;
                let folder = self.dir.join(&e.key().folder);
                e.insert(OpenFile {
                    id: *next_id,
                    folder,
                    first: meta.offset,
                    last: meta.offset,
                    rows: 0,
                    shape: shape.clone(),
                    builder: None,
                    waiting: Vec::new(),
                })
            }
        };
        file.last = meta.offset;
        file.rows += 1;
        if alert.schema().is_none() {
            file.shape = Arc::new((*file.shape).clone().union((*shape).clone()));
            file.waiting.push(alert.clone());
        } else {
            let builder = match &mut file.builder {
                Some(b) => b,
                None => file
                    .builder
                    .insert(AlertBatchBuilder::new(&file.shape, &self.table)?),
            };
            builder.append(alert)?;
        }
        let full = file.builder.as_ref().map_or(0, |b| b.len()) + file.waiting.len() >= BATCH_ROWS;
        if full {
            let (id, folder) = (file.id, file.folder.clone());
            if let Some(batch) = flush(file, &self.table)? {
                self.threads.write(Rows {
                    file: id,
                    folder,
                    batch,
                })?;
            }
        }
        Ok(())
    }

    /// Keeps an undecodable message raw under `_quarantine/`, made durable
    /// with the next roll.
    pub fn quarantine(&mut self, poison: &PoisonMessage) -> Result<PathBuf> {
        self.taken += 1;
        self.unsealed += 1;
        self.roll_started.get_or_insert_with(Instant::now);
        self.quarantine.stage_quarantine(poison)
    }

    pub fn unsealed(&self) -> usize {
        self.unsealed
    }

    /// Ends a batch of alerts; rolls the files when they are due.
    pub fn seal(&mut self, token: T) -> Result<()> {
        self.sealed.push_back((self.taken, token));
        self.unsealed = 0;
        if self.roll_due() {
            self.roll(self.taken)?;
        }
        Ok(())
    }

    fn roll_due(&self) -> bool {
        let biggest = self.files.values().map(|f| f.rows).max().unwrap_or(0);
        biggest >= self.options.roll_rows
            || self
                .roll_started
                .is_some_and(|t| t.elapsed() >= self.options.roll_after)
    }

    /// Tokens of the batches whose alerts are all on disk, oldest first.
    pub fn durable(&mut self) -> Result<Vec<T>> {
        if self.unsealed == 0 && self.roll_due() {
            self.roll(self.taken)?;
        }
        self.collect_durable()?;
        Ok(self.release())
    }

    /// Rolls what is open and waits for every file to be on disk. Alerts
    /// taken since the last seal are written too: their offsets are not
    /// committed, and when they are delivered again the files' names make
    /// them skipped.
    pub fn finish(&mut self) -> Result<Vec<T>> {
        self.roll(self.taken)?;
        if self.skipped > 0 {
            log::info!(
                "{} alerts delivered again were already in files of {}: skipped",
                self.skipped,
                self.dir.display()
            );
        }
        for through in self.threads.finish()? {
            self.durable_through = self.durable_through.max(through);
        }
        Ok(self.release())
    }

    fn release(&mut self) -> Vec<T> {
        let mut out = Vec::new();
        while self
            .sealed
            .front()
            .is_some_and(|(through, _)| *through <= self.durable_through)
        {
            out.extend(self.sealed.pop_front().map(|(_, t)| t));
        }
        out
    }

    /// Closes every open file: the alerts taken up to `through` become
    /// durable once the writing thread has renamed them.
    fn roll(&mut self, through: u64) -> Result<()> {
        let mut closing = Vec::new();
        let files: Vec<(FileKey, OpenFile)> = self.files.drain().collect();
        for (key, mut file) in files {
            if let Some(batch) = flush(&mut file, &self.table)? {
                self.threads.write(Rows {
                    file: file.id,
                    folder: file.folder.clone(),
                    batch,
                })?;
            }
            let name = format!("{}-{}-{}.parquet", key.partition, file.first, file.last);
            closing.push((file.id, file.folder.join(name)));
            self.on_disk
                .entry((key.topic, key.partition))
                .or_default()
                .add(Range {
                    first: file.first,
                    last: file.last,
                    folder: key.folder,
                });
        }
        self.in_roll.clear();
        self.roll_started = None;
        let quarantine = self.quarantine.take_batch();
        let roll = Roll {
            files: closing,
            quarantine,
        };
        self.threads.seal(roll, through)
    }

    /// Takes in the rolls made durable, without waiting.
    fn collect_durable(&mut self) -> Result<()> {
        for through in self.threads.durable()? {
            self.durable_through = self.durable_through.max(through);
        }
        Ok(())
    }

    /// True when the offset is already in a durable file of its folder, or
    /// in the roll in progress (delivered again after a rebalance).
    fn already_taken(&self, stream: &Stream, offset: i64, folder: &Path) -> bool {
        let in_roll = self
            .in_roll
            .get(stream)
            .is_some_and(|&(first, last)| (first..=last).contains(&offset));
        in_roll
            || self
                .on_disk
                .get(stream)
                .is_some_and(|d| d.holds(offset, folder))
    }
}

fn fits(file: &OpenFile, shape: &Arc<Shape>) -> bool {
    if Arc::ptr_eq(&file.shape, shape) {
        return true;
    }
    match &file.builder {
        Some(b) => b.shape().holds(shape),
        // Documents waiting: their union grows as they come.
        None => true,
    }
}

/// The batch of rows a file has built, if any.
fn flush(file: &mut OpenFile, table: &TableOptions) -> Result<Option<RecordBatch>> {
    if !file.waiting.is_empty() {
        let builder = match &mut file.builder {
            Some(b) if b.shape().holds(&file.shape) => b,
            _ => file
                .builder
                .insert(AlertBatchBuilder::new(&file.shape, table)?),
        };
        for alert in file.waiting.drain(..) {
            builder.append(&alert)?;
        }
    }
    match &mut file.builder {
        Some(b) if !b.is_empty() => Ok(Some(b.finish()?)),
        _ => Ok(None),
    }
}

/// Rolling Parquet files: a batch is safe once the files holding its
/// alerts are closed and renamed (see [`crate::sink::parquet`]).
#[cfg(feature = "table")]
impl Sink for ParquetSink<Checkpoint> {
    fn take(&mut self, alert: &Alert) -> Result<()> {
        ParquetSink::take(self, alert)
    }

    fn quarantine(&mut self, poison: &PoisonMessage) -> Result<Option<PathBuf>> {
        ParquetSink::quarantine(self, poison).map(Some)
    }

    fn unsealed(&self) -> usize {
        ParquetSink::unsealed(self)
    }

    fn seal(&mut self, checkpoint: Checkpoint) -> Result<()> {
        ParquetSink::seal(self, checkpoint)
    }

    fn durable(&mut self) -> Result<Vec<Checkpoint>> {
        ParquetSink::durable(self)
    }

    fn finish(&mut self) -> Result<Vec<Checkpoint>> {
        ParquetSink::finish(self)
    }
}
