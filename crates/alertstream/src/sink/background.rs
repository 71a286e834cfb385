//! A [`FileSink`] on threads of its own, so that consuming, writing and
//! syncing overlap; as a pipeline [`Sink`], the [`Saver`].

use super::threads::{Plan, WriteAndSync};
use super::{FileSink, Naming, Prepared, Sink};
use crate::error::{PoisonMessage, Result};
use crate::model::alert::Alert;
use crate::model::checkpoint::Checkpoint;
use std::path::PathBuf;

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
    threads: WriteAndSync<FileSink, T>,
    unsealed: usize,
}

impl<T: Send + 'static> BackgroundSink<T> {
    /// Starts the threads; at most `capacity` encoded alerts wait for them.
    pub fn spawn(sink: FileSink, capacity: usize) -> Result<Self> {
        let naming = sink.naming().clone();
        let plan = Plan {
            writer: "alertstream-save",
            queue: capacity,
            // One sealed batch waits while another is being synced.
            sync_queue: 1,
            folder: sink.dir().to_path_buf(),
        };
        Ok(BackgroundSink {
            naming,
            threads: WriteAndSync::spawn(sink, plan)?,
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
        self.threads.seal((), token)?;
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
        self.threads.durable()
    }

    /// Waits until every sealed batch is durable and returns their tokens.
    /// Alerts queued after the last seal are dropped with their temporary files.
    pub fn finish(mut self) -> Result<Vec<T>> {
        self.wait_all()
    }

    /// [`finish`](Self::finish) in place: the sink takes nothing more after it.
    pub fn wait_all(&mut self) -> Result<Vec<T>> {
        self.threads.finish()
    }

    fn queue(&mut self, prepared: Prepared) -> Result<PathBuf> {
        let dest = prepared.dest.clone();
        self.threads.write(prepared)?;
        self.unsealed += 1;
        Ok(dest)
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::durable::TMP_PREFIX;
    use crate::error::Error;
    use crate::sink::{Layout, SaveFormat};
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
