//! One file per alert, written in batches.
//!
//! Files are first written under temporary names ([`FileSink::stage`]);
//! [`FileSink::flush`] then makes the whole batch durable: sync the file
//! system, rename every file into place, sync again (the renames). Only after
//! `flush` returns may the batch's offsets be committed. A file's name comes
//! from the alert's ids, so an alert delivered twice rewrites the same file.

use crate::durable::{
    evict_from_page_cache, file_name_part, remove_stale_tmp, sync_filesystem, write_parts,
    TMP_PREFIX,
};
use crate::error::PoisonMessage;
use crate::error::{Error, Result};
use crate::model::alert::{Alert, Id, Survey};
use crate::model::format::Format;
use crate::sink::threads::{Durable, Writer};
use bytes::Bytes;
use std::path::{Path, PathBuf};

/// Folder layout of saved alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// fink-client's: `DIR/<objectId>_<candid>.avro` (Rubin: `DIR/<diaSourceId>.avro`).
    #[default]
    Fink,
    /// antares-client's: `DIR/<topic>/<alert id>.<ext>`.
    Topic,
}

crate::names::named!(Layout, "layout", {
    Layout::Fink => "fink",
    Layout::Topic => "topic",
});

/// What a saved file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SaveFormat {
    /// A one-record Avro container with the writer schema (BSON/JSON alerts: JSON).
    #[default]
    Avro,
    /// The record as JSON.
    Json,
}

crate::names::named!(SaveFormat, "save format", {
    SaveFormat::Avro => "avro",
    SaveFormat::Json => "json",
});

/// Poison messages are kept raw under this folder.
pub const QUARANTINE_DIR: &str = "_quarantine";

struct Staged {
    tmp: PathBuf,
    dest: PathBuf,
}

/// An alert ready to be written: its final path and its bytes, in parts
/// that are written one after the other (the datum is not copied).
#[derive(Debug)]
pub struct Prepared {
    pub dest: PathBuf,
    pub parts: Vec<Bytes>,
    /// Files saved with it (a gravitational-wave notice's sky map).
    pub beside: Vec<(PathBuf, Bytes)>,
}

/// Where and how alerts are saved: names files and encodes alerts, no I/O.
#[derive(Debug, Clone)]
pub struct Naming {
    dir: PathBuf,
    layout: Layout,
    format: SaveFormat,
    /// Left out of topic folders' names (a broker's `client.`).
    topic_prefix: String,
}

/// Writes alerts as files under one folder; see the module documentation.
pub struct FileSink {
    naming: Naming,
    staged: Vec<Staged>,
    next_tmp: u64,
    /// Folders known to exist: one mkdir per folder, not one per alert.
    made_dirs: std::collections::HashSet<PathBuf>,
    /// Temporary names carry the pid, so that two processes never collide.
    pid: u32,
}

impl Naming {
    /// The final path and the bytes of an alert.
    pub fn prepare(&self, alert: &Alert) -> Prepared {
        let (parts, ext) = self.encode(alert);
        let dest = self.dir.join(self.relative_path(alert, ext));
        Prepared {
            beside: sky_map_beside(alert, &dest),
            dest,
            parts,
        }
    }

    /// The final path and the bytes of an undecodable message:
    /// `_quarantine/<topic>-<partition>-<offset>.bin`, raw.
    pub fn prepare_quarantine(&self, poison: &PoisonMessage) -> Prepared {
        let name = format!(
            "{}-{}-{}.bin",
            file_name_part(&poison.topic),
            poison.partition,
            poison.offset
        );
        Prepared {
            dest: self.dir.join(QUARANTINE_DIR).join(name),
            parts: vec![poison.payload.clone()],
            beside: Vec::new(),
        }
    }

    /// The file an alert is saved to, relative to the folder.
    pub fn relative_path(&self, alert: &Alert, ext: &str) -> PathBuf {
        let id = |i: Option<Id>| i.map(|i| file_name_part(&i.to_string()));
        let fallback = || match alert.kafka() {
            Some(k) => format!("{}-{}-{}", file_name_part(&k.topic), k.partition, k.offset),
            None => "alert".to_owned(),
        };
        match self.layout {
            Layout::Fink => {
                let stem = match (alert.survey(), id(alert.object_id()), id(alert.alert_id())) {
                    (Survey::Ztf, Some(object), Some(candid)) => format!("{object}_{candid}"),
                    (_, _, Some(alert_id)) => alert_id,
                    _ => fallback(),
                };
                PathBuf::from(format!("{stem}.{ext}"))
            }
            Layout::Topic => {
                let topic = alert.kafka().map_or("local".to_owned(), |k| {
                    let named = k.topic.strip_prefix(self.topic_prefix.as_str());
                    file_name_part(named.filter(|t| !t.is_empty()).unwrap_or(&k.topic))
                });
                let stem = id(alert.alert_id()).unwrap_or_else(fallback);
                Path::new(&topic).join(format!("{stem}.{ext}"))
            }
        }
    }

    fn encode(&self, alert: &Alert) -> (Vec<Bytes>, &'static str) {
        if alert.format() == Format::Text {
            return (vec![alert.raw().clone()], text_extension(alert));
        }
        if self.format == SaveFormat::Avro {
            if let Some(parts) = alert.container_parts() {
                return (parts.into(), "avro");
            }
        }
        let mut json = alert.to_json_with_matches().into_bytes();
        json.push(b'\n');
        (vec![json.into()], "json")
    }
}

/// Where an IGWN notice (GCN's `igwn.gwalert`) carries its sky map: a
/// multi-order FITS file, base64 in JSON, bytes in Avro.
const SKY_MAP_FIELD: [&str; 2] = ["event", "skymap"];

/// The sky map of a gravitational-wave notice, saved beside it as
/// `<name>.multiorder.fits` (`.fits.gz` when gzipped), ready for
/// `--skymap`. A field that is not a sky map is left alone.
fn sky_map_beside(alert: &Alert, dest: &Path) -> Vec<(PathBuf, Bytes)> {
    let Some(field) = alert.record().path(&SKY_MAP_FIELD) else {
        return Vec::new();
    };
    let bytes = match (field.as_str(), field.as_bytes()) {
        (Some(text), _) => match base64_simd::STANDARD.decode_to_vec(text.trim()) {
            Ok(bytes) => bytes,
            Err(_) => return Vec::new(),
        },
        (None, Some(bytes)) => bytes.to_vec(),
        (None, None) => return Vec::new(),
    };
    let extension = if bytes.starts_with(b"SIMPLE") {
        "multiorder.fits"
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        "multiorder.fits.gz"
    } else {
        return Vec::new();
    };
    vec![(dest.with_extension(extension), bytes.into())]
}

/// A document that is not an alert is saved as it came, named for its kind.
fn text_extension(alert: &Alert) -> &'static str {
    match alert.record().get("_format").and_then(|k| k.as_str()) {
        Some("voevent" | "xml") => "xml",
        Some("gcntextnotice" | "circular" | "text") => "txt",
        Some("external") => "json",
        _ => "bin",
    }
}

impl FileSink {
    /// Creates the folder if needed and removes temporary files a crash left.
    pub fn new(dir: impl Into<PathBuf>, layout: Layout, format: SaveFormat) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        remove_stale_tmp(&dir, 2)?;
        Ok(FileSink {
            naming: Naming {
                dir,
                layout,
                format,
                topic_prefix: String::new(),
            },
            staged: Vec::new(),
            next_tmp: 0,
            made_dirs: std::collections::HashSet::new(),
            pid: std::process::id(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.naming.dir
    }

    /// Topic folders (layout `topic`) named without this prefix: the
    /// stream as its user names it (`extragalactic/`, not `client.extragalactic/`).
    pub fn with_topic_prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.naming.topic_prefix);
        self
    }

    /// How this sink names and encodes alerts.
    pub fn naming(&self) -> &Naming {
        &self.naming
    }

    /// Writes an alert under a temporary name; returns its final path.
    pub fn stage(&mut self, alert: &Alert) -> Result<PathBuf> {
        let prepared = self.naming.prepare(alert);
        self.stage_prepared(prepared)
    }

    /// Keeps an undecodable message raw as `_quarantine/<topic>-<partition>-<offset>.bin`.
    pub fn stage_quarantine(&mut self, poison: &PoisonMessage) -> Result<PathBuf> {
        let prepared = self.naming.prepare_quarantine(poison);
        self.stage_prepared(prepared)
    }

    /// Writes prepared bytes under a temporary name; returns the final path.
    pub fn stage_prepared(&mut self, prepared: Prepared) -> Result<PathBuf> {
        let Prepared {
            dest,
            parts,
            beside,
        } = prepared;
        for (path, bytes) in beside {
            self.write_tmp(path, &[bytes])?;
        }
        self.write_tmp(dest, &parts)
    }

    /// Makes every staged file durable under its final name. Returns how many.
    pub fn flush(&mut self) -> Result<usize> {
        self.take_batch().make_durable()
    }

    /// Hands the staged files over as a batch, to be made durable elsewhere
    /// (e.g. on another thread, while the next batch is being written).
    pub fn take_batch(&mut self) -> Batch {
        Batch {
            dir: self.naming.dir.clone(),
            staged: std::mem::take(&mut self.staged),
        }
    }

    /// The file an alert is saved to, relative to the folder.
    pub fn relative_path(&self, alert: &Alert, ext: &str) -> PathBuf {
        self.naming.relative_path(alert, ext)
    }

    fn write_tmp(&mut self, dest: PathBuf, parts: &[Bytes]) -> Result<PathBuf> {
        let parent = dest.parent().unwrap_or(&self.naming.dir).to_path_buf();
        if !self.made_dirs.contains(&parent) {
            std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
            self.made_dirs.insert(parent.clone());
        }
        let tmp = parent.join(format!("{TMP_PREFIX}{}-{}", self.pid, self.next_tmp));
        self.next_tmp += 1;
        // No fsync here: the syncing side makes a whole batch durable at once.
        write_parts(&tmp, parts).map_err(|e| Error::io(&tmp, e))?;
        self.staged.push(Staged {
            tmp,
            dest: dest.clone(),
        });
        Ok(dest)
    }
}

/// Files written under temporary names, not yet durable. Dropping a batch
/// without [`Batch::make_durable`] removes its temporary files.
pub struct Batch {
    dir: PathBuf,
    staged: Vec<Staged>,
}

impl Batch {
    /// Syncs the file system, renames every file into place, syncs again
    /// (the renames). Returns how many files.
    pub fn make_durable(mut self) -> Result<usize> {
        let count = self.staged.len();
        if count == 0 {
            return Ok(0);
        }
        sync_filesystem(&self.dir)?;
        for s in &self.staged {
            evict_from_page_cache(&s.tmp);
            std::fs::rename(&s.tmp, &s.dest).map_err(|e| Error::io(&s.dest, e))?;
        }
        self.staged.clear();
        sync_filesystem(&self.dir)?;
        Ok(count)
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        remove_tmp_files(&mut self.staged);
    }
}

impl Writer for FileSink {
    type Item = Prepared;
    type Seal = ();
    type Sealed = Batch;

    fn write(&mut self, prepared: Prepared) -> Result<()> {
        self.stage_prepared(prepared).map(drop)
    }

    fn seal(&mut self, (): ()) -> Result<Batch> {
        Ok(self.take_batch())
    }
}

impl Durable for Batch {
    fn make_durable(self) -> Result<()> {
        Batch::make_durable(self).map(drop)
    }
}

impl Drop for FileSink {
    /// Staged files that were never made durable are not alerts anyone was
    /// told about: remove them.
    fn drop(&mut self) {
        remove_tmp_files(&mut self.staged);
    }
}

fn remove_tmp_files(staged: &mut Vec<Staged>) {
    for s in staged.drain(..) {
        let _ = std::fs::remove_file(&s.tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_message_is_kept_as_an_empty_file() {
        let dir = std::env::temp_dir().join(format!("alertstream-empty-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut sink = FileSink::new(&dir, Layout::Fink, SaveFormat::Avro).unwrap();
        let poison = PoisonMessage {
            topic: "ztf".into(),
            partition: 0,
            offset: 3,
            key: None,
            payload: Bytes::new(),
            error: Error::corrupt(0, "empty"),
        };
        let path = sink.stage_quarantine(&poison).unwrap();
        sink.flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        assert!(path.ends_with("_quarantine/ztf-0-3.bin"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
