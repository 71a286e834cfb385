//! The files a list of paths names: files as given, folders walked in
//! sorted order, with what is not an alert left out.

use crate::error::Error;
use std::path::{Path, PathBuf};

/// Files named in `paths`, and the files under named folders (sorted;
/// hidden files, `_`-prefixed markers such as Spark's `_SUCCESS`, schema
/// and checksum files skipped). A missing path or unreadable folder is an
/// error in the second list; the walk goes on.
pub fn files_under(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Error>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect_dir(path, &mut files, &mut errors);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            errors.push(Error::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
            ));
        }
    }
    (files, errors)
}

fn collect_dir(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<Error>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(Error::io(dir, e));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if is_skipped(&p) {
            continue;
        }
        if p.is_dir() {
            collect_dir(&p, files, errors);
        } else {
            files.push(p);
        }
    }
}

/// Hidden files, `_` markers, schema, checksum and text files are not alerts.
fn is_skipped(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with('.')
        || name.starts_with('_')
        || name.ends_with(".avsc")
        || name.ends_with(".crc")
        || name.ends_with(".md")
}
