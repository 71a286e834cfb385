//! Where alerts go once received: the [`Sink`] a stream hands them to, and
//! the sinks that keep them durably (one file per alert, rolling Parquet
//! files), call a user's function, or feed two others. A sink returns each
//! batch's [`Checkpoint`] once the batch is safe; only then is it committed.
//!
//! [`BackgroundSink`] runs a [`FileSink`] on threads of its own: the caller
//! encodes alerts and goes on consuming while the files are written, and
//! learns which batches are durable from the tokens it gets back. Every
//! sink that writes on a thread does it through the same mechanism.

mod background;
mod files;
mod handler;
mod ledger;
#[cfg(feature = "table")]
pub mod parquet;
pub mod stamps;
mod storage;
mod threads;

pub use crate::model::checkpoint::Checkpoint;
pub use background::{BackgroundSink, Saver};
pub use files::{Batch, FileSink, Layout, Naming, Prepared, SaveFormat, QUARANTINE_DIR};
pub use handler::{Both, Handler};
pub use ledger::{Batches, Ledger};
pub use storage::{Storage, StorageFormat};

use crate::error::{PoisonMessage, Result};
use crate::model::alert::Alert;
use std::path::PathBuf;

/// What receives the alerts of a stream ([`crate::pipeline::Pipeline`]). A batch's checkpoint comes
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
