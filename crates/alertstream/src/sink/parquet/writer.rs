//! The Parquet sink's writing side, on the sinks' writing and syncing
//! threads: record batches appended to files under temporary names; at a
//! roll, the files' footers written, then (on the syncing thread) the files
//! synced, renamed to their final names and their folders synced.

use crate::durable::{sync_folder_of, temporary_beside};
use crate::error::{Error, Result};
use crate::sink::threads::{Durable, Writer};
use crate::sink::Batch;
use crate::table::parquet_properties;
use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// A row group in progress is written out past this size: several files
/// may be open at once.
const SINK_ROW_GROUP_BYTES: usize = 32 << 20;

/// Rows for one open file.
pub(super) struct Rows {
    pub file: u64,
    /// Where the file is written.
    pub folder: PathBuf,
    pub batch: RecordBatch,
}

/// The files a roll closes (id and final name) and the poison messages
/// quarantined meanwhile.
pub(super) struct Roll {
    pub files: Vec<(u64, PathBuf)>,
    pub quarantine: Batch,
}

/// A roll's files, footers written, not yet durable.
pub(super) struct Closed {
    /// Each file open, with its temporary and final names.
    files: Vec<(File, PathBuf, PathBuf)>,
    quarantine: Batch,
}

/// The open files of the roll in progress, by id.
#[derive(Default)]
pub(super) struct ParquetFiles {
    open: HashMap<u64, (PathBuf, ArrowWriter<BufWriter<File>>)>,
}

fn parquet_error(path: &Path) -> impl FnOnce(parquet::errors::ParquetError) -> Error + '_ {
    move |source| Error::Parquet {
        context: path.display().to_string(),
        source,
    }
}

impl Writer for ParquetFiles {
    type Item = Rows;
    type Seal = Roll;
    type Sealed = Closed;

    fn write(&mut self, rows: Rows) -> Result<()> {
        let Rows {
            file: id,
            folder,
            batch,
        } = rows;
        let (tmp, writer) = match self.open.entry(id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
                let tmp = temporary_beside(&folder.join(format!("{id}.parquet")));
                let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
                let writer = ArrowWriter::try_new(
                    BufWriter::with_capacity(1 << 20, file),
                    batch.schema(),
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

    /// Writes the footers of a roll's files.
    fn seal(&mut self, roll: Roll) -> Result<Closed> {
        let mut files = Vec::new();
        for (id, dest) in roll.files {
            let Some((tmp, writer)) = self.open.remove(&id) else {
                continue;
            };
            let out = writer.into_inner().map_err(parquet_error(&tmp))?;
            let file = out
                .into_inner()
                .map_err(|e| Error::io(&tmp, e.into_error()))?;
            files.push((file, tmp, dest));
        }
        Ok(Closed {
            files,
            quarantine: roll.quarantine,
        })
    }
}

impl Drop for ParquetFiles {
    /// Files never rolled hold offsets nobody was told about: removed.
    fn drop(&mut self) {
        for (tmp, _) in self.open.drain().map(|(_, open)| open) {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

impl Durable for Closed {
    /// Syncs the files, renames them into place, syncs their folders.
    fn make_durable(self) -> Result<()> {
        for (file, tmp, _) in &self.files {
            file.sync_all().map_err(|e| Error::io(tmp, e))?;
        }
        let mut folders: Vec<&Path> = Vec::new();
        for (_, tmp, dest) in &self.files {
            std::fs::rename(tmp, dest).map_err(|e| Error::io(dest, e))?;
            if !folders.iter().any(|f| f.parent() == dest.parent()) {
                folders.push(dest);
            }
        }
        for file in folders {
            sync_folder_of(file)?;
        }
        self.quarantine.make_durable().map(drop)
    }
}
