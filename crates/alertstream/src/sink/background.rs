//! A [`FileSink`] on threads of its own, so that consuming, writing and
//! syncing overlap.

use super::{Batch, FileSink, Naming, Prepared};
use crate::error::PoisonMessage;
use crate::error::{Error, Result};
use crate::model::alert::Alert;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

enum Job<T> {
    Write(Prepared),
    /// Make everything written so far durable, then hand the token back.
    Seal(T),
}

/// Saves alerts in the background, in batches ended by [`seal`](Self::seal).
///
/// The caller names and encodes each alert (cheap) and goes on. One thread
/// writes the files; a second makes each sealed batch durable while the next
/// is written, then returns the batch's token through [`durable`](Self::durable). A token typically holds
/// the offsets to commit: they are safe to commit once the token is back.
/// At most `capacity` encoded alerts wait for the thread, which bounds memory.
///
/// ```
/// use alertstream::sink::{BackgroundSink, FileSink, Layout, SaveFormat};
/// use alertstream::{Decoder, DecoderOptions};
///
/// let dir = std::env::temp_dir().join(format!("alertstream-doc-bg-{}", std::process::id()));
/// let bytes = std::fs::read("../../tests/data/ztf/ztf_v1.7_396522680015020000_ZTF18aagqxtf.avro")?;
/// let alert = Decoder::new(DecoderOptions::default())?.decode(None, bytes.into())?.remove(0);
///
/// let sink = FileSink::new(&dir, Layout::Fink, SaveFormat::Avro)?;
/// let mut saver = BackgroundSink::spawn(sink, 64)?;
/// let path = saver.save(&alert)?;
/// saver.seal("batch 1")?;
/// assert_eq!(saver.finish()?, vec!["batch 1"]);
/// assert!(path.exists());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct BackgroundSink<T: Send + 'static> {
    naming: Naming,
    jobs: Option<SyncSender<Job<T>>>,
    reports: Receiver<Result<T>>,
    /// The writing thread, then the syncing thread: joined in that order.
    threads: Vec<JoinHandle<()>>,
    unsealed: usize,
}

impl<T: Send + 'static> BackgroundSink<T> {
    /// Starts the thread; at most `capacity` encoded alerts wait for it.
    pub fn spawn(sink: FileSink, capacity: usize) -> Result<Self> {
        let naming = sink.naming().clone();
        let (jobs, pending) = mpsc::sync_channel(capacity.max(1));
        let (report, reports) = mpsc::channel();
        // One sealed batch waits while another is being synced.
        let (seal, sealed) = mpsc::sync_channel(1);
        let sync_report = report.clone();
        let spawn = |name: &str, run: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(run)
                .map_err(|e| Error::io(&naming.dir, e))
        };
        let syncer = spawn(
            "alertstream-sync",
            Box::new(move || sync_until_closed(sealed, sync_report)),
        )?;
        let writer = spawn(
            "alertstream-save",
            Box::new(move || write_until_closed(sink, pending, seal, report)),
        )?;
        Ok(BackgroundSink {
            naming,
            jobs: Some(jobs),
            reports,
            threads: vec![writer, syncer],
            unsealed: 0,
        })
    }

    /// Queues an alert to be written; returns the path it will have.
    pub fn save(&mut self, alert: &Alert) -> Result<PathBuf> {
        let prepared = self.naming.prepare(alert);
        self.queue(prepared)
    }

    /// Queues an undecodable message to be kept raw under `_quarantine/`.
    pub fn save_quarantine(&mut self, poison: &PoisonMessage) -> Result<PathBuf> {
        let prepared = self.naming.prepare_quarantine(poison);
        self.queue(prepared)
    }

    /// Ends the current batch: once its files (and all before) are durable,
    /// `token` comes back from [`durable`](Self::durable) or [`finish`](Self::finish).
    pub fn seal(&mut self, token: T) -> Result<()> {
        self.send(Job::Seal(token))?;
        self.unsealed = 0;
        Ok(())
    }

    /// Alerts queued since the last seal.
    pub fn unsealed(&self) -> usize {
        self.unsealed
    }

    /// Tokens of the batches made durable since the last call, oldest first,
    /// without waiting; or the error that stopped the thread.
    pub fn durable(&mut self) -> Result<Vec<T>> {
        self.reports.try_iter().collect()
    }

    /// Waits until every sealed batch is durable and returns their tokens.
    /// Alerts queued after the last seal are dropped with their temporary files.
    pub fn finish(mut self) -> Result<Vec<T>> {
        self.wait_all()
    }

    /// [`finish`](Self::finish) in place: the sink takes nothing more after it.
    pub fn wait_all(&mut self) -> Result<Vec<T>> {
        self.jobs = None;
        self.join()?;
        self.reports.try_iter().collect()
    }

    fn queue(&mut self, prepared: Prepared) -> Result<PathBuf> {
        let dest = prepared.dest.clone();
        self.send(Job::Write(prepared))?;
        self.unsealed += 1;
        Ok(dest)
    }

    fn send(&mut self, job: Job<T>) -> Result<()> {
        let sent = self.jobs.as_ref().map(|jobs| jobs.send(job));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(self.failure()),
        }
    }

    /// The thread has stopped on an error: that error.
    fn failure(&mut self) -> Error {
        self.jobs = None;
        if let Err(e) = self.join() {
            return e;
        }
        match self.reports.try_iter().find_map(|r| r.err()) {
            Some(e) => e,
            None => self.stopped("the saving thread stopped"),
        }
    }

    /// Joins every thread (all of them, even after a panic).
    fn join(&mut self) -> Result<()> {
        let mut panicked = false;
        for thread in std::mem::take(&mut self.threads) {
            panicked |= thread.join().is_err();
        }
        match panicked {
            true => Err(self.stopped("a saving thread panicked")),
            false => Ok(()),
        }
    }

    fn stopped(&self, why: &str) -> Error {
        Error::io(&self.naming.dir, std::io::Error::other(why))
    }
}

impl<T: Send + 'static> Drop for BackgroundSink<T> {
    fn drop(&mut self) {
        self.jobs = None;
        let _ = self.join();
    }
}

/// The writing thread: writes files until the sender is dropped or an error
/// stops it, and hands each sealed batch to the syncing thread. Dropping the
/// sink removes unsealed temporary files.
fn write_until_closed<T>(
    mut sink: FileSink,
    jobs: Receiver<Job<T>>,
    seal: SyncSender<(Batch, T)>,
    report: Sender<Result<T>>,
) {
    for job in jobs {
        match job {
            Job::Write(prepared) => {
                if let Err(e) = sink.stage_prepared(prepared) {
                    let _ = report.send(Err(e));
                    return;
                }
            }
            Job::Seal(token) => {
                if seal.send((sink.take_batch(), token)).is_err() {
                    return; // the syncing thread stopped and said why
                }
            }
        }
    }
}

/// The syncing thread: makes each batch durable, then hands its token back.
fn sync_until_closed<T>(sealed: Receiver<(Batch, T)>, report: Sender<Result<T>>) {
    for (batch, token) in sealed {
        let durable = batch.make_durable().map(|_| token);
        let failed = durable.is_err();
        if report.send(durable).is_err() || failed {
            return;
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::sink::{Layout, SaveFormat, TMP_PREFIX};
    use crate::{Decoder, DecoderOptions};

    fn ztf_alert() -> Alert {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/ztf/ztf_v1.7_396522680015020000_ZTF18aagqxtf.avro"
        );
        let bytes = std::fs::read(path).unwrap();
        let decoder = Decoder::new(DecoderOptions::default()).unwrap();
        decoder.decode(None, bytes.into()).unwrap().remove(0)
    }

    fn fresh_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("alertstream-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn sealed_batches_come_back_in_order_once_their_files_are_in_place() {
        let dir = fresh_dir("bg-order");
        let alert = ztf_alert();
        let mut saver = BackgroundSink::spawn(
            FileSink::new(&dir, Layout::Topic, SaveFormat::Avro).unwrap(),
            2,
        )
        .unwrap();
        let first = saver.save(&alert).unwrap();
        saver.seal(1).unwrap();
        assert_eq!(saver.unsealed(), 0);
        let json_dir = fresh_dir("bg-order-json");
        let mut json_saver = BackgroundSink::spawn(
            FileSink::new(&json_dir, Layout::Fink, SaveFormat::Json).unwrap(),
            2,
        )
        .unwrap();
        let second = json_saver.save(&alert).unwrap();
        json_saver.seal(2).unwrap();
        saver.seal(3).unwrap(); // an empty batch still comes back
        assert_eq!(saver.finish().unwrap(), vec![1, 3]);
        assert_eq!(json_saver.finish().unwrap(), vec![2]);
        assert_eq!(
            std::fs::read(&first).unwrap(),
            alert.to_container().unwrap()
        );
        let json = std::fs::read_to_string(&second).unwrap();
        assert_eq!(json.trim_end(), alert.to_json());
        std::fs::remove_dir_all(dir).unwrap();
        std::fs::remove_dir_all(json_dir).unwrap();
    }

    #[test]
    fn a_full_disk_stops_saving_with_its_cause_and_returns_no_token() {
        let dir = fresh_dir("bg-full");
        let sink = FileSink::new(&dir, Layout::Fink, SaveFormat::Avro).unwrap();
        // The sink's first temporary file is a link to /dev/full, whose writes
        // fail with ENOSPC as on a full disk.
        let first_tmp = dir.join(format!("{TMP_PREFIX}{}-0", std::process::id()));
        std::os::unix::fs::symlink("/dev/full", &first_tmp).unwrap();
        let mut saver = BackgroundSink::spawn(sink, 1).unwrap();
        let alert = ztf_alert();
        let error = match saver.save(&alert).and_then(|_| saver.seal("batch")) {
            Err(e) => e,
            Ok(()) => saver.finish().unwrap_err(),
        };
        match &error {
            Error::Io { path, source } => {
                assert_eq!(path, &first_tmp);
                assert_eq!(source.kind(), std::io::ErrorKind::StorageFull);
            }
            other => panic!("not an I/O error: {other}"),
        }
        assert!(
            error.to_string().contains("No space left on device"),
            "{error}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
