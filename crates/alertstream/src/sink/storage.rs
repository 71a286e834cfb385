//! The durable sinks by name: what the command line and the Python package
//! open from the words a user gives (`--save-format parquet --layout topic`).

use super::{FileSink, Layout, SaveFormat, Saver, Sink};
use crate::error::Result;
use std::path::Path;

/// What a saved stream's files hold, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StorageFormat {
    /// One Avro container per alert (BSON and JSON alerts: JSON).
    #[default]
    Avro,
    /// One JSON file per alert.
    Json,
    /// Rolling Parquet files.
    Parquet,
}

crate::names::named!(StorageFormat, "save format", {
    StorageFormat::Avro => "avro",
    StorageFormat::Json => "json",
    StorageFormat::Parquet => "parquet",
});

/// Where and how a run keeps its alerts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Storage {
    /// One file per alert ([`Saver`] over a [`FileSink`]); `topic_prefix`
    /// is left out of the topic folders' names ([`FileSink::with_topic_prefix`]).
    Files {
        layout: Layout,
        format: SaveFormat,
        topic_prefix: String,
    },
    /// Rolling Parquet files ([`crate::sink::parquet::ParquetSink`]).
    #[cfg(feature = "table")]
    Parquet(crate::sink::parquet::ParquetOptions),
}

impl Storage {
    /// The storage a format names. The layout applies to files; Parquet's
    /// own folders come from its options.
    ///
    /// ```
    /// use alertstream::sink::{Layout, Storage};
    /// let storage = Storage::named("json".parse()?, "topic".parse()?)?;
    /// assert!(matches!(storage, Storage::Files { layout: Layout::Topic, .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn named(format: StorageFormat, layout: Layout) -> Result<Storage> {
        Ok(match format {
            StorageFormat::Avro => Storage::Files {
                layout,
                format: SaveFormat::Avro,
                topic_prefix: String::new(),
            },
            StorageFormat::Json => Storage::Files {
                layout,
                format: SaveFormat::Json,
                topic_prefix: String::new(),
            },
            #[cfg(feature = "table")]
            StorageFormat::Parquet => Storage::Parquet(Default::default()),
            #[cfg(not(feature = "table"))]
            StorageFormat::Parquet => {
                return Err(crate::error::Error::Config(
                    "this build of alertstream has no Parquet support (cargo feature `table`)"
                        .into(),
                ))
            }
        })
    }

    /// Topic folders named as the user names the topics: without the
    /// broker's prefix (ANTARES' `client.extragalactic` in `extragalactic/`).
    pub fn with_topic_prefix(mut self, prefix: &str) -> Storage {
        // Without the `table` feature, files are the only storage.
        #[cfg_attr(not(feature = "table"), allow(irrefutable_let_patterns))]
        if let Storage::Files { topic_prefix, .. } = &mut self {
            prefix.clone_into(topic_prefix);
        }
        self
    }

    /// Opens the sink that keeps alerts under `dir` (created when missing;
    /// what an interrupted run left half-written is cleaned or completed).
    pub fn open(&self, dir: &Path) -> Result<Box<dyn Sink>> {
        Ok(match self {
            Storage::Files {
                layout,
                format,
                topic_prefix,
            } => Box::new(Saver::spawn(
                FileSink::new(dir, *layout, *format)?.with_topic_prefix(topic_prefix),
            )?),
            #[cfg(feature = "table")]
            Storage::Parquet(options) => Box::new(crate::sink::parquet::ParquetSink::<
                super::Checkpoint,
            >::open(dir, options.clone())?),
        })
    }
}
