//! ANTARES' API (JSON:API documents): the streaming options antares-client
//! fetches at start and merges over its own Kafka settings, and an alert's
//! thumbnails (the stream carries no cutouts).

use super::{agent, get, get_json};
use crate::durable::file_name_part;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::model::stamp::{Cutout, Stamp};
use std::path::{Path, PathBuf};

/// ANTARES' API, as antares-client names it.
pub const DEFAULT_API: &str = "https://api.antares.noirlab.edu/v1/";

/// The variable antares-client reads to point at another API.
pub const API_VARIABLE: &str = "ANTARES_API_BASE_URL";

/// The API base URL: `ANTARES_API_BASE_URL`, else [`DEFAULT_API`]; with a
/// trailing slash.
pub fn api_base() -> String {
    let base = std::env::var(API_VARIABLE)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_API.to_owned());
    format!("{}/", base.trim_end_matches('/'))
}

/// librdkafka options from `<api>client/config/streaming/default`
/// (`data.attributes.options`), values as strings.
pub fn streaming_options(api: &str) -> Result<Vec<(String, String)>> {
    let url = format!("{api}client/config/streaming/default");
    let document = get_json(&agent(), &url)?;
    let options = document
        .pointer("/data/attributes/options")
        .and_then(|o| o.as_object())
        .ok_or_else(|| Error::Api {
            url: url.clone(),
            reason: "no data.attributes.options object in the answer".into(),
        })?;
    Ok(options
        .iter()
        .map(|(k, v)| {
            let value = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), value)
        })
        .collect())
}

/// librdkafka keys that are the user's own, never taken from the API.
pub const USER_KEYS: [&str; 3] = ["sasl.username", "sasl.password", "group.id"];

/// The streaming options a client applies: without the user's own keys
/// ([`USER_KEYS`]) and without those the user set (`given`), which win.
///
/// ```
/// use alertstream::api::antares::applicable;
/// let served = vec![
///     ("bootstrap.servers".to_owned(), "kafka:9092".to_owned()),
///     ("security.protocol".to_owned(), "SASL_SSL".to_owned()),
///     ("sasl.username".to_owned(), "someone".to_owned()),
/// ];
/// let kept = applicable(served, &["security.protocol"]);
/// assert_eq!(kept, [("bootstrap.servers".to_owned(), "kafka:9092".to_owned())]);
/// ```
pub fn applicable(options: Vec<(String, String)>, given: &[&str]) -> Vec<(String, String)> {
    options
        .into_iter()
        .filter(|(key, _)| !USER_KEYS.contains(&key.as_str()) && !given.contains(&key.as_str()))
        .collect()
}

/// One of an alert's thumbnails, as antares-client's `get_thumbnails` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub alert_id: String,
    /// `science`, `template`, `difference`...
    pub kind: String,
    pub file_name: String,
    pub mime: Option<String>,
    pub src: String,
    pub bytes: Vec<u8>,
}

/// An alert's thumbnails from `<api>alerts/<alert_id>/thumbnails`, each
/// image downloaded from its `src`.
pub fn thumbnails(api: &str, alert_id: &str) -> Result<Vec<Thumbnail>> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-');
    if alert_id.is_empty() || !alert_id.chars().all(allowed) {
        return Err(Error::Config(format!(
            "'{alert_id}' is not an ANTARES alert id (letters, digits, _ : -, as ztf_candidate:123)"
        )));
    }
    let agent = agent();
    let url = format!("{api}alerts/{alert_id}/thumbnails");
    let document = get_json(&agent, &url)?;
    let items = document
        .get("data")
        .and_then(|d| d.as_array())
        .ok_or_else(|| Error::Api {
            url: url.clone(),
            reason: "no data array in the answer".into(),
        })?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let text = |key: &str| {
            item.pointer(&format!("/attributes/{key}"))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let (Some(src), Some(kind)) = (text("src"), text("thumbnail_type")) else {
            return Err(Error::Api {
                url: url.clone(),
                reason: "a thumbnail without attributes.src or attributes.thumbnail_type".into(),
            });
        };
        let file_name = text("filename").unwrap_or_else(|| format!("{alert_id}_{kind}"));
        let bytes = get(&agent, &src)?;
        out.push(Thumbnail {
            alert_id: alert_id.to_owned(),
            kind,
            file_name,
            mime: text("filemime"),
            src,
            bytes,
        });
    }
    Ok(out)
}

/// Writes a thumbnail in `dir` under its file name (only the name's last
/// component: a name from the API never writes outside `dir`).
pub fn save_thumbnail(thumbnail: &Thumbnail, dir: &Path) -> Result<PathBuf> {
    let name = Path::new(&thumbnail.file_name)
        .file_name()
        .map(|n| n.to_owned())
        .unwrap_or_else(|| {
            file_name_part(&format!("{}_{}", thumbnail.alert_id, thumbnail.kind)).into()
        });
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(name);
    crate::durable::write_atomically(&path, &thumbnail.bytes)?;
    Ok(path)
}

/// An ANTARES alert's cutouts, from its thumbnails (gzipped FITS stamps),
/// in science, template, difference order; a thumbnail that is not FITS
/// (an image for the web) is left out.
pub fn thumbnail_stamps(api: &str, alert_id: &str, limits: &Limits) -> Result<Vec<Stamp>> {
    let thumbnails = thumbnails(api, alert_id)?;
    Ok(Cutout::ALL
        .iter()
        .filter_map(|kind| {
            let thumbnail = thumbnails.iter().find(|t| t.kind == kind.name())?;
            Stamp::from_fits_within(*kind, &thumbnail.bytes, limits).ok()
        })
        .collect())
}
