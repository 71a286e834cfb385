//! An alert's stamps as FITS files: `<alert id>_science.fits`,
//! `_template.fits`, `_difference.fits`, with the header the survey put
//! there (antares-client's `get_thumbnails`, from the alert itself).

use crate::decode::framing::GZIP_MAGIC;
use crate::durable::{file_name_part, write_atomically};
use crate::error::{Error, Result};
use crate::model::alert::{Alert, Cutout};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes the alert's stamps into `dir`: FITS bytes as the survey made
/// them, gunzipped, or with `gzip` as `.fits.gz` (ZTF's compressed bytes as
/// shipped; others compressed here). Each file is written under a
/// temporary name and renamed. Returns the paths written (none for an alert
/// without cutouts, such as every ANTARES alert).
pub fn save_stamps(alert: &Alert, dir: &Path, gzip: bool) -> Result<Vec<PathBuf>> {
    let id = alert
        .alert_id()
        .map(|id| file_name_part(&id.to_string()))
        .unwrap_or_else(|| "alert".to_owned());
    let mut written = Vec::new();
    for kind in Cutout::ALL {
        let Some(raw) = alert.cutout_raw(kind) else {
            continue;
        };
        let shipped_gzip = raw.starts_with(&GZIP_MAGIC);
        let bytes = match (gzip, shipped_gzip) {
            (true, true) => raw.to_vec(),
            (true, false) => gzip_bytes(raw).map_err(|e| Error::io(dir, e))?,
            (false, _) => alert.cutout(kind)?.unwrap_or_default(),
        };
        let ext = if gzip { "fits.gz" } else { "fits" };
        let path = dir.join(format!("{id}_{}.{ext}", kind.name()));
        write_atomically(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}

fn gzip_bytes(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(raw)?;
    encoder.finish()
}
