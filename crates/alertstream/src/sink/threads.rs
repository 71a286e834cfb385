//! The one way the sinks overlap their work: a writing thread and a
//! syncing thread. The caller queues items to write and, now and then, a
//! seal with a token; the writing thread writes items and, at a seal, hands
//! what it wrote to the syncing thread and goes on; the syncing thread makes
//! it durable and sends the token back. Tokens come back in the order of
//! their seals, each once everything before it is durable.

use crate::error::{Error, Result};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

/// What the writing thread does.
pub(crate) trait Writer: Send + 'static {
    /// One thing to write (an alert's bytes, a batch of rows).
    type Item: Send + 'static;
    /// What a seal tells the writer (which files to close, if any).
    type Seal: Send + 'static;
    /// What the syncing thread makes durable.
    type Sealed: Durable;

    fn write(&mut self, item: Self::Item) -> Result<()>;

    /// Ends what was written since the last seal.
    fn seal(&mut self, seal: Self::Seal) -> Result<Self::Sealed>;
}

/// What the syncing thread does with what a seal closed.
pub(crate) trait Durable: Send + 'static {
    fn make_durable(self) -> Result<()>;
}

enum Job<W: Writer, T> {
    Write(W::Item),
    Seal(W::Seal, T),
}

/// How the two threads are named and how much may wait for them.
pub(crate) struct Plan {
    /// The writing thread's name.
    pub writer: &'static str,
    /// Items waiting for the writing thread: bounds memory.
    pub queue: usize,
    /// Sealed batches waiting for the syncing thread while it syncs one.
    pub sync_queue: usize,
    /// The folder written to, named in errors about the threads themselves.
    pub folder: PathBuf,
}

/// A [`Writer`] on its thread and the syncing thread (see the module
/// documentation); `T` is the caller's token for a seal.
pub(crate) struct WriteAndSync<W: Writer, T: Send + 'static> {
    jobs: Option<SyncSender<Job<W, T>>>,
    reports: Receiver<Result<T>>,
    /// The writing thread, then the syncing thread: joined in that order.
    threads: Vec<JoinHandle<()>>,
    folder: PathBuf,
}

impl<W: Writer, T: Send + 'static> WriteAndSync<W, T> {
    pub fn spawn(writer: W, plan: Plan) -> Result<Self> {
        let (jobs, pending) = mpsc::sync_channel(plan.queue.max(1));
        let (report, reports) = mpsc::channel();
        let (seal, sealed) = mpsc::sync_channel(plan.sync_queue.max(1));
        let sync_report = report.clone();
        let spawn = |name: &str, run: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(run)
                .map_err(|e| Error::io(&plan.folder, e))
        };
        let syncer = spawn(
            "alertstream-sync",
            Box::new(move || sync_until_closed::<W, T>(sealed, sync_report)),
        )?;
        let writer = spawn(
            plan.writer,
            Box::new(move || write_until_closed(writer, pending, seal, report)),
        )?;
        Ok(WriteAndSync {
            jobs: Some(jobs),
            reports,
            threads: vec![writer, syncer],
            folder: plan.folder,
        })
    }

    /// Queues an item (waits while the queue is full).
    pub fn write(&mut self, item: W::Item) -> Result<()> {
        self.send(Job::Write(item))
    }

    /// Queues a seal: `token` comes back once all written before is durable.
    pub fn seal(&mut self, seal: W::Seal, token: T) -> Result<()> {
        self.send(Job::Seal(seal, token))
    }

    /// Tokens of the seals made durable since the last call, oldest first,
    /// without waiting; or the error that stopped a thread.
    pub fn durable(&mut self) -> Result<Vec<T>> {
        self.reports.try_iter().collect()
    }

    /// Waits until every seal is durable and returns the tokens. Items
    /// written after the last seal are the writer's to drop.
    pub fn finish(&mut self) -> Result<Vec<T>> {
        self.jobs = None;
        self.join()?;
        self.reports.try_iter().collect()
    }

    fn send(&mut self, job: Job<W, T>) -> Result<()> {
        let sent = self.jobs.as_ref().map(|jobs| jobs.send(job));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(self.failure()),
        }
    }

    /// A thread has stopped on an error: that error.
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
        Error::io(&self.folder, std::io::Error::other(why))
    }
}

impl<W: Writer, T: Send + 'static> Drop for WriteAndSync<W, T> {
    fn drop(&mut self) {
        self.jobs = None;
        let _ = self.join();
    }
}

/// The writing thread: writes until the sender is dropped or an error stops
/// it, and hands each sealed batch to the syncing thread. The writer is
/// dropped at the end (and removes what was never sealed).
fn write_until_closed<W: Writer, T>(
    mut writer: W,
    jobs: Receiver<Job<W, T>>,
    seal: SyncSender<(W::Sealed, T)>,
    report: Sender<Result<T>>,
) {
    for job in jobs {
        let result = match job {
            Job::Write(item) => writer.write(item),
            Job::Seal(what, token) => writer.seal(what).and_then(|sealed| {
                seal.send((sealed, token))
                    .map_err(|_| Error::io("the syncing thread", std::io::Error::other("stopped")))
            }),
        };
        if let Err(e) = result {
            let _ = report.send(Err(e));
            return;
        }
    }
}

/// The syncing thread: makes each sealed batch durable, then hands its
/// token back.
fn sync_until_closed<W: Writer, T>(sealed: Receiver<(W::Sealed, T)>, report: Sender<Result<T>>) {
    for (batch, token) in sealed {
        let durable = batch.make_durable().map(|()| token);
        let failed = durable.is_err();
        if report.send(durable).is_err() || failed {
            return;
        }
    }
}
