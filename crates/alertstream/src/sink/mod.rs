//! Saving alerts durably: one file per alert, written in batches.
//!
//! Files are first written under temporary names ([`FileSink::stage`]);
//! [`FileSink::flush`] then makes the whole batch durable: sync the file
//! system, rename every file into place, sync again (the renames). Only after
//! `flush` returns may the batch's offsets be committed. A file's name comes
//! from the alert's ids, so an alert delivered twice rewrites the same file.
//!
//! [`BackgroundSink`] runs a `FileSink` on a thread of its own: the caller
//! encodes alerts and goes on consuming while the files are written, and
//! learns which batches are durable from the tokens it gets back.

use crate::error::PoisonMessage;
use crate::error::{Error, Result};
use crate::model::alert::{Alert, Id, Survey};
use bytes::Bytes;
use std::fs::File;
use std::path::{Path, PathBuf};

mod background;
#[cfg(feature = "table")]
pub mod parquet;
pub mod stamps;
pub use background::BackgroundSink;

/// Folder layout of saved alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// fink-client's: `DIR/<objectId>_<candid>.avro` (Rubin: `DIR/<diaSourceId>.avro`).
    #[default]
    Fink,
    /// antares-client's: `DIR/<topic>/<alert id>.<ext>`.
    Topic,
}

/// What a saved file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SaveFormat {
    /// A one-record Avro container with the writer schema (BSON/JSON alerts: JSON).
    #[default]
    Avro,
    /// The record as JSON.
    Json,
}

/// Prefix of files not yet made durable; left over ones are removed at start.
pub(crate) const TMP_PREFIX: &str = ".alertstream-tmp-";

/// A temporary name in `path`'s folder that no other writer uses: the pid
/// (so that a later start can tell it is stale), a counter, and the final
/// name (whose extension some encoders read).
pub(crate) fn temporary_beside(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(
        "{}{}-s{n}-{name}",
        crate::sink::TMP_PREFIX,
        std::process::id()
    ))
}

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
}

/// Where and how alerts are saved: names files and encodes alerts, no I/O.
#[derive(Debug, Clone)]
pub struct Naming {
    dir: PathBuf,
    layout: Layout,
    format: SaveFormat,
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
        Prepared {
            dest: self.dir.join(self.relative_path(alert, ext)),
            parts,
        }
    }

    /// The final path and the bytes of an undecodable message:
    /// `_quarantine/<topic>-<partition>-<offset>.bin`, raw.
    pub fn prepare_quarantine(&self, poison: &PoisonMessage) -> Prepared {
        let name = format!(
            "{}-{}-{}.bin",
            sanitize(&poison.topic),
            poison.partition,
            poison.offset
        );
        Prepared {
            dest: self.dir.join(QUARANTINE_DIR).join(name),
            parts: vec![poison.payload.clone()],
        }
    }

    /// The file an alert is saved to, relative to the folder.
    pub fn relative_path(&self, alert: &Alert, ext: &str) -> PathBuf {
        let id = |i: Option<Id>| i.map(|i| sanitize(&i.to_string()));
        let fallback = || match alert.kafka() {
            Some(k) => format!("{}-{}-{}", sanitize(&k.topic), k.partition, k.offset),
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
                let topic = alert
                    .kafka()
                    .map_or("local".to_owned(), |k| sanitize(&k.topic));
                let stem = id(alert.alert_id()).unwrap_or_else(fallback);
                Path::new(&topic).join(format!("{stem}.{ext}"))
            }
        }
    }

    fn encode(&self, alert: &Alert) -> (Vec<Bytes>, &'static str) {
        if self.format == SaveFormat::Avro {
            if let Some(parts) = alert.container_parts() {
                return (parts.into(), "avro");
            }
        }
        let mut json = alert.to_json().into_bytes();
        json.push(b'\n');
        (vec![json.into()], "json")
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
        let Prepared { dest, parts } = prepared;
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

/// A file-name component from an id: letters, digits, `.`, `_`, `-` only.
pub(crate) fn sanitize(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    match clean.trim_start_matches('.') {
        "" => "_".to_owned(),
        rest => rest.to_owned(),
    }
}

/// Removes the temporary files of processes that are gone (a crash's
/// leftovers); another process saving into the same folder keeps its own.
pub(crate) fn remove_stale_tmp(dir: &Path, depth: usize) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(rest) = name.strip_prefix(TMP_PREFIX) {
            if writer_is_alive(rest) {
                continue;
            }
            match std::fs::remove_file(&path) {
                // Its writer may have renamed it meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                other => other.map_err(|e| Error::io(&path, e))?,
            }
        } else if depth > 0 && path.is_dir() {
            remove_stale_tmp(&path, depth - 1)?;
        }
    }
    Ok(())
}

/// Whether the process that wrote a temporary file (`<pid>-<n>`) still runs.
fn writer_is_alive(pid_and_number: &str) -> bool {
    let pid = pid_and_number
        .split('-')
        .next()
        .and_then(|p| p.parse::<i32>().ok());
    match pid {
        Some(pid) if pid > 0 && pid != std::process::id() as i32 => process_exists(pid),
        _ => false,
    }
}

#[cfg(unix)]
fn process_exists(pid: i32) -> bool {
    // SAFETY: signal 0 sends nothing; it only checks that the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    alive || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn process_exists(_: i32) -> bool {
    true
}

/// Creates a file holding the parts one after the other: one `writev`.
fn write_parts(path: &Path, parts: &[Bytes]) -> std::io::Result<()> {
    use std::io::{IoSlice, Write};
    let mut file = File::create(path)?;
    // Empty parts are left out: an empty message is kept as an empty file.
    let mut slices: Vec<IoSlice> = parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| IoSlice::new(p))
        .collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Drops a durable file's pages from the page cache. Saved alerts are
/// written once and seldom read soon, so keeping them cached only pushes out
/// other data; and the next batch reuses the freed pages, which is cheaper
/// than getting new ones. Best effort: failure only costs memory.
fn evict_from_page_cache(path: &Path) {
    #[cfg(target_os = "linux")]
    if let Ok(file) = File::open(path) {
        use std::os::fd::AsRawFd;
        // SAFETY: the descriptor is valid while `file` lives; the call only
        // drops clean cached pages.
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = path;
}

/// Flushes everything written to the file system holding `dir`: one call
/// instead of one fsync per file.
#[cfg(target_os = "linux")]
pub(crate) fn sync_filesystem(dir: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    let handle = File::open(dir).map_err(|e| Error::io(dir, e))?;
    // SAFETY: syncfs only reads the descriptor, which `handle` keeps open.
    if unsafe { libc::syncfs(handle.as_raw_fd()) } != 0 {
        return Err(Error::io(dir, std::io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn sync_filesystem(dir: &Path) -> Result<()> {
    fn sync_tree(dir: &Path) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                sync_tree(&path)?;
            } else {
                File::open(&path)?.sync_all()?;
            }
        }
        File::open(dir)?.sync_all()
    }
    sync_tree(dir).map_err(|e| Error::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_temporary_files_of_gone_processes_are_removed() {
        let dir = std::env::temp_dir().join(format!("alertstream-stale-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // pid 1 always runs; a pid above the kernel's maximum never does.
        let live = dir.join(format!("{TMP_PREFIX}1-7"));
        let gone = dir.join(format!("{TMP_PREFIX}999999999-7"));
        let saved = dir.join("ZTF18abc_1.avro");
        for f in [&live, &gone, &saved] {
            std::fs::write(f, b"x").unwrap();
        }
        FileSink::new(&dir, Layout::Fink, SaveFormat::Avro).unwrap();
        assert!(live.exists(), "a running process's file was removed");
        assert!(!gone.exists(), "a crash's leftover was kept");
        assert!(saved.exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

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

    #[test]
    fn sanitized_names_cannot_escape_the_folder() {
        assert_eq!(sanitize("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(sanitize("ZTF18abc"), "ZTF18abc");
        assert_eq!(sanitize("ztf_candidate:12"), "ztf_candidate_12");
        assert_eq!(sanitize(""), "_");
        assert_eq!(sanitize("..."), "_");
    }
}
