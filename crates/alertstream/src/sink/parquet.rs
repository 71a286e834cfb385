//! A stream of alerts into rolling Parquet files, exactly once on disk.
//!
//! Alerts go into one open file per Kafka partition and partition folder
//! (`--partition-by`); every so many alerts or seconds all open files are
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
//! is written.

use crate::error::{Error, PoisonMessage, Result};
use crate::model::alert::{Alert, KafkaMeta};
use crate::sink::{
    remove_stale_tmp, sanitize, temporary_beside, Batch, FileSink, Layout, SaveFormat,
};
use crate::table::{parquet_properties, AlertBatchBuilder, Shape, Shapes, TableOptions};
use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How files are grouped into folders that readers see as columns (Hive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionBy {
    /// `topic=<topic>/` instead of `<topic>/`: the topic becomes a column.
    Topic,
    /// `date=YYYY-MM-DD/`: the observation's UTC date.
    Date,
    /// `class=<C>/`: Fink's classification (`finkclass`, `classification`).
    Class,
}

impl FromStr for PartitionBy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "topic" => Ok(PartitionBy::Topic),
            "date" => Ok(PartitionBy::Date),
            "class" => Ok(PartitionBy::Class),
            other => Err(Error::Config(format!(
                "unknown partitioning '{other}': use date, topic or class"
            ))),
        }
    }
}

/// The classification fields that `--partition-by class` looks for.
pub const CLASS_FIELDS: [&str; 3] = ["finkclass", "classification", "class"];
/// Hive's name for a partition whose value is missing.
const NO_VALUE: &str = "__HIVE_DEFAULT_PARTITION__";

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
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            roll_rows: 100_000,
            roll_after: Duration::from_secs(300),
            partition_by: Vec::new(),
            cutouts: true,
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
}

/// A row group in progress is written out past this size: several files
/// may be open at once.
const SINK_ROW_GROUP_BYTES: usize = 32 << 20;
/// Rows built before they go to the writing thread.
const BATCH_ROWS: usize = 256;
/// Batches waiting for the writing thread: bounds memory (about 16 MB each
/// for ZTF alerts with their cutouts).
const WRITE_QUEUE: usize = 2;

/// The offsets a durable file holds: `first..=last` of one Kafka partition,
/// for the alerts of its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Range {
    first: i64,
    last: i64,
    folder: PathBuf,
}

/// The durable files of one Kafka partition, and the highest offset they
/// hold: an alert past it (every alert, once the stream runs) is new
/// without looking at the files one by one.
#[derive(Debug, Default)]
struct OnDisk {
    ranges: Vec<Range>,
    highest: i64,
}

impl OnDisk {
    fn add(&mut self, range: Range) {
        self.highest = self.highest.max(range.last);
        self.ranges.push(range);
    }

    fn holds(&self, offset: i64, folder: &Path) -> bool {
        offset <= self.highest
            && self
                .ranges
                .iter()
                .any(|r| r.folder == folder && (r.first..=r.last).contains(&offset))
    }
}

/// A topic and partition.
type Stream = (String, i32);

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

enum Job {
    Write {
        id: u64,
        folder: PathBuf,
        batch: RecordBatch,
    },
    Roll {
        files: Vec<(u64, PathBuf)>,
        quarantine: Batch,
        through: u64,
    },
}

/// See the module documentation. `T` is the caller's token for a batch of
/// alerts (the pipeline's checkpoint): it comes back from
/// [`ParquetSink::durable`] once every alert of the batch is on disk.
pub struct ParquetSink<T> {
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
    jobs: Option<mpsc::SyncSender<Job>>,
    done: mpsc::Receiver<Result<u64>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl<T> ParquetSink<T> {
    /// Opens `dir` (made if missing), learns which offsets its files hold,
    /// removes the temporary files of writers that are gone, and starts the
    /// writing thread.
    pub fn open(dir: impl Into<PathBuf>, options: ParquetOptions) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        remove_stale_tmp(&dir, 2 + options.partition_by.len())?;
        let on_disk = files_on_disk(&dir)?;
        let quarantine = FileSink::new(&dir, Layout::Fink, SaveFormat::Avro)?;
        let (jobs, receive_jobs) = mpsc::sync_channel(WRITE_QUEUE);
        let (report, done) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("alertstream-parquet".into())
            .spawn(move || write_files(receive_jobs, report))
            .map_err(|e| Error::io(&dir, e))?;
        Ok(ParquetSink {
            table: TableOptions::default()
                .with_cutouts(options.cutouts)
                .with_kafka(true),
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
            jobs: Some(jobs),
            done,
            thread: Some(thread),
        })
    }

    /// Alerts not written because a durable file already holds them.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Takes one alert from a Kafka stream (its [`KafkaMeta`] names the
    /// partition and offset).
    pub fn take(&mut self, alert: &Alert) -> Result<()> {
        self.check_writer()?;
        let meta = alert.kafka().ok_or_else(|| {
            Error::Config(
                "the Parquet sink takes alerts from Kafka (topic, partition, offset)".into(),
            )
        })?;
        self.taken += 1;
        self.unsealed += 1;
        let folder = self.folder_of(alert, meta);
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
                self.send(Job::Write { id, folder, batch })?;
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
        while let Ok(result) = self.done.try_recv() {
            self.durable_through = self.durable_through.max(result?);
        }
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
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let mut failure = None;
        while let Ok(result) = self.done.try_recv() {
            match result {
                Ok(through) => self.durable_through = self.durable_through.max(through),
                Err(e) => failure = Some(e),
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(self.release()),
        }
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
                self.send(Job::Write {
                    id: file.id,
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
        self.send(Job::Roll {
            files: closing,
            quarantine,
            through,
        })
    }

    fn send(&mut self, job: Job) -> Result<()> {
        let sent = self.jobs.as_ref().map(|j| j.send(job));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(self.writer_failure()),
        }
    }

    fn check_writer(&mut self) -> Result<()> {
        match self.done.try_recv() {
            Ok(Err(e)) => Err(e),
            Ok(Ok(through)) => {
                self.durable_through = self.durable_through.max(through);
                Ok(())
            }
            Err(_) => Ok(()),
        }
    }

    fn writer_failure(&mut self) -> Error {
        while let Ok(result) = self.done.try_recv() {
            if let Err(e) = result {
                return e;
            }
        }
        Error::Config("the Parquet writing thread stopped".into())
    }

    /// The alert's folder under `dir`: its topic, then the partition values.
    fn folder_of(&self, alert: &Alert, meta: &KafkaMeta) -> PathBuf {
        let by = &self.options.partition_by;
        let mut folder = PathBuf::from(if by.contains(&PartitionBy::Topic) {
            format!("topic={}", hive_value(&meta.topic))
        } else {
            sanitize(&meta.topic)
        });
        for p in by {
            match p {
                PartitionBy::Topic => {}
                PartitionBy::Date => folder.push(format!("date={}", utc_date(alert))),
                PartitionBy::Class => folder.push(format!("class={}", class_of(alert))),
            }
        }
        folder
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

impl<T> Drop for ParquetSink<T> {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
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

/// A partition value as a folder name: Hive escapes `/`, `=`, `%` and the
/// like as `%XX`.
fn hive_value(value: &str) -> String {
    if value.is_empty() {
        return NO_VALUE.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_ascii_alphanumeric() || "-_. ".contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn utc_date(alert: &Alert) -> String {
    match alert.time() {
        Some(t) => {
            let iso = t.to_utc_string();
            iso.get(..10).unwrap_or(NO_VALUE).to_owned()
        }
        None => NO_VALUE.to_owned(),
    }
}

fn class_of(alert: &Alert) -> String {
    let record = alert.record();
    let class = CLASS_FIELDS
        .iter()
        .find_map(|f| record.get(f).and_then(|d| d.as_str()).map(str::to_owned));
    match class {
        Some(c) => hive_value(&c),
        None => NO_VALUE.to_owned(),
    }
}

/// `<partition>-<first>-<last>.parquet` as numbers.
fn parse_name(name: &str) -> Option<(i32, i64, i64)> {
    let stem = name.strip_suffix(".parquet")?;
    let mut parts = stem.splitn(3, '-');
    let partition = parts.next()?.parse().ok()?;
    let first = parts.next()?.parse().ok()?;
    let last = parts.next()?.parse().ok()?;
    Some((partition, first, last))
}

/// The offsets that the Parquet files under `dir` hold, from their names.
fn files_on_disk(dir: &Path) -> Result<HashMap<Stream, OnDisk>> {
    let mut found: HashMap<Stream, OnDisk> = HashMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|e| Error::io(&folder, e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let Some((partition, first, last)) = parse_name(&name) else {
                continue;
            };
            let Ok(relative) = folder.strip_prefix(dir) else {
                continue;
            };
            let Some(top) = relative.components().next() else {
                continue;
            };
            let top = top.as_os_str().to_string_lossy();
            let topic = top.strip_prefix("topic=").unwrap_or(&top).to_owned();
            found.entry((topic, partition)).or_default().add(Range {
                first,
                last,
                folder: relative.to_path_buf(),
            });
        }
    }
    Ok(found)
}

/// Closed files waiting for the syncing thread.
struct Closed {
    files: Vec<(File, PathBuf, PathBuf)>,
    quarantine: Batch,
    through: u64,
}

/// Rolls whose files wait to be synced: the writing thread goes on with the
/// next files meanwhile, up to this many rolls ahead.
const SYNC_QUEUE: usize = 2;

/// The writing thread: Parquet files under temporary names; at each roll
/// their footers, then the files go to a syncing thread (sync, rename, sync
/// the folders), which reports the last alert made durable.
fn write_files(jobs: mpsc::Receiver<Job>, report: mpsc::Sender<Result<u64>>) {
    let (to_sync, closed) = mpsc::sync_channel::<Closed>(SYNC_QUEUE);
    let sync_report = report.clone();
    let syncer = std::thread::Builder::new()
        .name("alertstream-sync".into())
        .spawn(move || sync_files(closed, sync_report));
    let mut open: HashMap<u64, (PathBuf, ArrowWriter<BufWriter<File>>)> = HashMap::new();
    for job in jobs {
        let result = match job {
            Job::Write { id, folder, batch } => write_batch(&mut open, id, &folder, batch),
            Job::Roll {
                files,
                quarantine,
                through,
            } => close_files(&mut open, files).and_then(|files| {
                let closed = Closed {
                    files,
                    quarantine,
                    through,
                };
                to_sync
                    .send(closed)
                    .map_err(|_| Error::Config("the Parquet syncing thread stopped".into()))
            }),
        };
        if let Err(e) = result {
            let _ = report.send(Err(e));
            break;
        }
    }
    drop(to_sync);
    match syncer {
        Ok(handle) => {
            let _ = handle.join();
        }
        Err(e) => {
            let _ = report.send(Err(Error::io("the Parquet syncing thread", e)));
        }
    }
    for (tmp, _) in open.into_values() {
        let _ = std::fs::remove_file(tmp);
    }
}

fn sync_files(closed: mpsc::Receiver<Closed>, report: mpsc::Sender<Result<u64>>) {
    for roll in closed {
        let through = roll.through;
        let result = make_durable(roll).map(|()| through);
        let failed = result.is_err();
        if report.send(result).is_err() || failed {
            return;
        }
    }
}

fn parquet_error(path: &Path) -> impl FnOnce(parquet::errors::ParquetError) -> Error + '_ {
    move |source| Error::Parquet {
        context: path.display().to_string(),
        source,
    }
}

fn write_batch(
    open: &mut HashMap<u64, (PathBuf, ArrowWriter<BufWriter<File>>)>,
    id: u64,
    folder: &Path,
    batch: RecordBatch,
) -> Result<()> {
    let (tmp, writer) = match open.entry(id) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => {
            std::fs::create_dir_all(folder).map_err(|e| Error::io(folder, e))?;
            let tmp = temporary_beside(&folder.join(format!("{id}.parquet")));
            let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            let schema = batch.schema();
            let writer = ArrowWriter::try_new(
                BufWriter::with_capacity(1 << 20, file),
                schema.clone(),
                Some(parquet_properties(&batch)),
            )
            .map_err(parquet_error(&tmp))?;
            e.insert((tmp, writer))
        }
    };
    writer.write(&batch).map_err(parquet_error(tmp))?;
    if writer.in_progress_size() > SINK_ROW_GROUP_BYTES {
        writer.flush().map_err(parquet_error(tmp))?;
    }
    Ok(())
}

/// Writes the footers of a roll's files; returns them open, with their
/// temporary and final names.
fn close_files(
    open: &mut HashMap<u64, (PathBuf, ArrowWriter<BufWriter<File>>)>,
    files: Vec<(u64, PathBuf)>,
) -> Result<Vec<(File, PathBuf, PathBuf)>> {
    let mut closed = Vec::new();
    for (id, dest) in files {
        let Some((tmp, writer)) = open.remove(&id) else {
            continue;
        };
        let out = writer.into_inner().map_err(parquet_error(&tmp))?;
        let file = out
            .into_inner()
            .map_err(|e| Error::io(&tmp, e.into_error()))?;
        closed.push((file, tmp, dest));
    }
    Ok(closed)
}

/// Syncs a roll's files, renames them into place, syncs their folders.
fn make_durable(roll: Closed) -> Result<()> {
    let mut folders: Vec<PathBuf> = Vec::new();
    for (file, tmp, _) in &roll.files {
        file.sync_all().map_err(|e| Error::io(tmp, e))?;
    }
    for (_, tmp, dest) in &roll.files {
        std::fs::rename(tmp, dest).map_err(|e| Error::io(dest, e))?;
        if let Some(parent) = dest.parent() {
            if !folders.iter().any(|f| f == parent) {
                folders.push(parent.to_path_buf());
            }
        }
    }
    for folder in folders {
        File::open(&folder)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(&folder, e))?;
    }
    roll.quarantine.make_durable()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_which_offsets_a_file_holds() {
        assert_eq!(parse_name("3-100-250.parquet"), Some((3, 100, 250)));
        assert_eq!(parse_name("3-100.parquet"), None);
        assert_eq!(parse_name("x-1-2.parquet"), None);
        assert_eq!(parse_name("3-100-250.avro"), None);
    }

    #[test]
    fn partition_values_are_escaped_as_hive_does() {
        assert_eq!(hive_value("SN candidate"), "SN candidate");
        assert_eq!(hive_value("a/b=c"), "a%2Fb%3Dc");
        assert_eq!(hive_value(""), NO_VALUE);
    }
}
