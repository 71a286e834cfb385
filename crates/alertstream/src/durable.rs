//! Files that appear whole or not at all: written under a temporary name
//! beside their final one (the pid in it, so that a later start can tell a
//! crash's leftover from a running writer's file), synced, renamed into
//! place, and the folder synced. Every writer of the library goes through
//! here: saved alerts, Parquet files, tables, pictures, cutouts.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Prefix of files not yet made durable; left over ones are removed at start.
pub const TMP_PREFIX: &str = ".alertstream-tmp-";

/// A temporary name in `path`'s folder that no other writer uses: the pid,
/// a counter, and the final name (whose extension some encoders read).
pub fn temporary_beside(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{TMP_PREFIX}{}-s{n}-{name}", std::process::id()))
}

/// A file-name component from an id: letters, digits, `.`, `_`, `-` only,
/// never starting with a dot (so never `..`).
pub fn file_name_part(s: &str) -> String {
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

/// A file being written under a temporary name. [`AtomicFile::commit`]
/// syncs it, renames it to its final name and syncs the folder; dropped
/// without a commit (an error on the way), it is removed.
///
/// ```
/// use alertstream::durable::AtomicFile;
/// use std::io::Write;
/// let path = std::env::temp_dir().join(format!("alertstream-doc-atomic-{}", std::process::id()));
/// let mut file = AtomicFile::create(&path)?;
/// file.write_all(b"whole or nothing")?;
/// assert!(!path.exists());
/// file.commit()?;
/// assert_eq!(std::fs::read(&path)?, b"whole or nothing");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
    file: Option<File>,
    committed: bool,
}

impl AtomicFile {
    /// Creates the temporary file beside `dest`.
    pub fn create(dest: impl Into<PathBuf>) -> Result<Self> {
        let dest = dest.into();
        let tmp = temporary_beside(&dest);
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        Ok(AtomicFile {
            tmp,
            dest,
            file: Some(file),
            committed: false,
        })
    }

    /// A temporary name beside `dest` for a writer that opens files by
    /// path itself (a drawing library); committed the same way.
    pub fn for_path_writer(dest: impl Into<PathBuf>) -> Self {
        let dest = dest.into();
        AtomicFile {
            tmp: temporary_beside(&dest),
            dest,
            file: None,
            committed: false,
        }
    }

    /// Where the bytes are written until the commit.
    pub fn temporary_path(&self) -> &Path {
        &self.tmp
    }

    /// The name the file will have.
    pub fn path(&self) -> &Path {
        &self.dest
    }

    /// Syncs the file, renames it into place, syncs its folder.
    pub fn commit(mut self) -> Result<PathBuf> {
        let file = match self.file.take() {
            Some(f) => f,
            None => File::open(&self.tmp).map_err(|e| Error::io(&self.tmp, e))?,
        };
        file.sync_all().map_err(|e| Error::io(&self.tmp, e))?;
        drop(file);
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| Error::io(&self.dest, e))?;
        self.committed = true;
        sync_folder_of(&self.dest)?;
        Ok(std::mem::take(&mut self.dest))
    }

    fn open_file(&mut self) -> std::io::Result<&mut File> {
        match &mut self.file {
            Some(f) => Ok(f),
            None => Err(std::io::Error::other(
                "written by path, not through this handle",
            )),
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.open_file()?.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
        self.open_file()?.write_vectored(bufs)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.open_file()?.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            drop(self.file.take());
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `bytes` as `path`, whole or not at all (see [`AtomicFile`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes).map_err(|e| Error::io(path, e))?;
    file.commit().map(drop)
}

/// Syncs the folder that holds `path` (its entries: a rename).
pub fn sync_folder_of(path: &Path) -> Result<()> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(folder)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(folder, e))
}

/// Creates a file holding the parts one after the other: one `writev`, no
/// sync (the caller syncs a whole batch at once).
pub(crate) fn write_parts(path: &Path, parts: &[bytes::Bytes]) -> std::io::Result<()> {
    use std::io::IoSlice;
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

/// Removes the temporary files of processes that are gone (a crash's
/// leftovers) down to `depth` folders; another process saving into the same
/// folder keeps its own.
pub(crate) fn remove_stale_tmp(dir: &Path, depth: usize) -> Result<()> {
    let mut pending = vec![(dir.to_path_buf(), depth)];
    while let Some((folder, depth)) = pending.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|e| Error::io(&folder, e))?;
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
                pending.push((path, depth - 1));
            }
        }
    }
    Ok(())
}

/// Whether the process that wrote a temporary file (`<pid>-<n>...`) still runs.
fn writer_is_alive(pid_and_rest: &str) -> bool {
    let pid = pid_and_rest
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

/// Drops a durable file's pages from the page cache. Saved alerts are
/// written once and seldom read soon, so keeping them cached only pushes out
/// other data; and the next batch reuses the freed pages, which is cheaper
/// than getting new ones. Best effort: failure only costs memory.
pub(crate) fn evict_from_page_cache(path: &Path) {
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
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).map_err(|e| Error::io(&folder, e))? {
            let path = entry.map_err(|e| Error::io(&folder, e))?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                File::open(&path)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| Error::io(&path, e))?;
            }
        }
        File::open(&folder)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io(&folder, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("alertstream-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn only_the_temporary_files_of_gone_processes_are_removed() {
        let dir = fresh_dir("stale");
        // pid 1 always runs; a pid above the kernel's maximum never does.
        let live = dir.join(format!("{TMP_PREFIX}1-7"));
        let gone = dir.join(format!("{TMP_PREFIX}999999999-7"));
        let nested = dir.join("sub").join(format!("{TMP_PREFIX}999999999-8"));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let saved = dir.join("ZTF18abc_1.avro");
        for f in [&live, &gone, &saved, &nested] {
            std::fs::write(f, b"x").unwrap();
        }
        remove_stale_tmp(&dir, 1).unwrap();
        assert!(live.exists(), "a running process's file was removed");
        assert!(
            !gone.exists() && !nested.exists(),
            "a crash's leftover was kept"
        );
        assert!(saved.exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_uncommitted_file_leaves_nothing_behind() {
        let dir = fresh_dir("atomic");
        let dest = dir.join("table.parquet");
        let mut file = AtomicFile::create(&dest).unwrap();
        file.write_all(b"half").unwrap();
        let tmp = file.temporary_path().to_path_buf();
        assert!(tmp.exists());
        drop(file);
        assert!(!tmp.exists() && !dest.exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn sanitized_names_cannot_escape_the_folder() {
        assert_eq!(file_name_part("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_name_part("ZTF18abc"), "ZTF18abc");
        assert_eq!(file_name_part("ztf_candidate:12"), "ztf_candidate_12");
        assert_eq!(file_name_part(""), "_");
        assert_eq!(file_name_part("..."), "_");
    }
}
