//! Finding writer schemas: parsed once, cached by the hash of their text,
//! found by Confluent id in an `alert_packet` folder or a schema registry.
//!
//! Alerts are always decoded with the schema that wrote them. A schema's text is
//! hashed (xxh3-128) to find its parsed form in [`SchemaCache`], so a message
//! costs a hash of its schema bytes, never a parse.

use crate::error::{Error, Result};
use crate::model::schema::WriterSchema;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Parsed schemas by the hash of their text. Shared by all decoding threads.
#[derive(Debug, Default)]
pub struct SchemaCache {
    by_text: Mutex<HashMap<u128, Arc<WriterSchema>>>,
}

/// Bound on distinct schemas kept; a stream has a handful, a hostile one many.
const SCHEMA_CACHE_CAPACITY: usize = 256;

impl SchemaCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The parsed schema for this text, parsing it only the first time it is seen.
    pub fn get_or_parse(&self, text: &[u8]) -> Result<Arc<WriterSchema>> {
        let key = xxhash_rust::xxh3::xxh3_128(text);
        if let Some(s) = self.lock().get(&key) {
            return Ok(s.clone());
        }
        let text = std::str::from_utf8(text).map_err(|e| Error::SchemaParse {
            origin: String::new(),
            reason: format!("schema text is not UTF-8: {e}"),
        })?;
        let schema = Arc::new(WriterSchema::parse(text)?);
        let mut map = self.lock();
        if map.len() >= SCHEMA_CACHE_CAPACITY {
            map.clear();
        }
        map.insert(key, schema.clone());
        Ok(schema)
    }

    /// Number of distinct schemas parsed so far.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u128, Arc<WriterSchema>>> {
        self.by_text.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where Confluent-framed messages find their schema by id: a local folder in
/// Rubin's alert_packet layout and/or a Confluent-compatible registry.
#[derive(Debug)]
pub struct SchemaIdResolver {
    dir: Option<PathBuf>,
    registry: Option<String>,
    /// One HTTP client for every lookup: connections are reused.
    agent: ureq::Agent,
    by_id: Mutex<HashMap<u32, Arc<WriterSchema>>>,
}

impl Default for SchemaIdResolver {
    fn default() -> Self {
        SchemaIdResolver::new(None, None)
    }
}

impl SchemaIdResolver {
    pub fn new(dir: Option<PathBuf>, registry: Option<String>) -> Self {
        SchemaIdResolver {
            dir,
            registry: registry.map(|u| u.trim_end_matches('/').to_owned()),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(15))
                .build(),
            by_id: Mutex::default(),
        }
    }

    /// The schema registered under `id`, cached after the first lookup.
    pub fn resolve(&self, id: u32) -> Result<Arc<WriterSchema>> {
        if let Some(s) = self.lock().get(&id) {
            return Ok(s.clone());
        }
        let schema = Arc::new(self.load(id)?);
        self.lock().insert(id, schema.clone());
        Ok(schema)
    }

    fn load(&self, id: u32) -> Result<WriterSchema> {
        if let Some(dir) = &self.dir {
            if let Some(path) = alert_packet_path(dir, id) {
                return WriterSchema::from_file(&path);
            }
        }
        if let Some(url) = &self.registry {
            return fetch_from_registry(&self.agent, url, id);
        }
        Err(Error::SchemaNotFound {
            id,
            looked: self.places(),
        })
    }

    fn places(&self) -> String {
        let mut places = Vec::new();
        if let Some(d) = &self.dir {
            places.push(format!("schema dir {}", d.display()));
        }
        if let Some(u) = &self.registry {
            places.push(format!("registry {u}"));
        }
        if places.is_empty() {
            "no --schema-dir or --schema-registry was given".to_owned()
        } else {
            format!("looked in {}", places.join(" and "))
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Arc<WriterSchema>>> {
        self.by_id.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `DIR/vMAJOR_MINOR/lsst.vMAJOR_MINOR.alert.avsc` (or alert_packet's own
/// `DIR/MAJOR/MINOR/...`), with id = MAJOR*100 + MINOR.
fn alert_packet_path(dir: &Path, id: u32) -> Option<PathBuf> {
    let (major, minor) = (id / 100, id % 100);
    let file = format!("lsst.v{major}_{minor}.alert.avsc");
    [
        dir.join(format!("v{major}_{minor}")).join(&file),
        dir.join(major.to_string())
            .join(minor.to_string())
            .join(&file),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// `url` may carry a path prefix (`https://HOST/schema-registry`).
fn fetch_from_registry(agent: &ureq::Agent, url: &str, id: u32) -> Result<WriterSchema> {
    let get_json = |path: &str| -> Result<Option<serde_json::Value>> {
        let full = format!("{url}{path}");
        match agent.get(&full).call() {
            Ok(resp) => resp
                .into_string()
                .map_err(|e| e.to_string())
                .and_then(|body| serde_json::from_str(&body).map_err(|e| e.to_string()))
                .map(Some)
                .map_err(|e| Error::Registry {
                    url: url.to_owned(),
                    reason: format!("unreadable answer to GET {path}: {e}"),
                }),
            Err(ureq::Error::Status(404, _)) => Ok(None),
            Err(e) => Err(Error::Registry {
                url: url.to_owned(),
                reason: format!("GET {path} failed: {e}"),
            }),
        }
    };
    let schema_text =
        |j: &serde_json::Value| j.get("schema").and_then(|s| s.as_str()).map(str::to_owned);
    let Some(answer) = get_json(&format!("/schemas/ids/{id}"))? else {
        return Err(Error::SchemaNotFound {
            id,
            looked: format!("registry {url}"),
        });
    };
    let text = schema_text(&answer).ok_or_else(|| Error::Registry {
        url: url.to_owned(),
        reason: format!("answer for id {id} has no \"schema\" string"),
    })?;
    let mut deps = Vec::new();
    for reference in answer
        .get("references")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
    {
        let (Some(subject), Some(version)) = (
            reference.get("subject").and_then(|s| s.as_str()),
            reference.get("version"),
        ) else {
            continue;
        };
        let dep = get_json(&format!("/subjects/{subject}/versions/{version}"))?
            .and_then(|j| schema_text(&j))
            .ok_or_else(|| Error::Registry {
                url: url.to_owned(),
                reason: format!("reference {subject} v{version} of schema {id} not found"),
            })?;
        deps.push(dep);
    }
    WriterSchema::parse_with_deps(&text, &deps, &format!("registry id {id}"))
}
