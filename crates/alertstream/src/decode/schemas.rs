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

/// Parsed schemas by the hash of their text. Shared by all decoding threads.
#[derive(Debug)]
pub struct SchemaCache {
    by_text: Mutex<HashMap<u128, Arc<WriterSchema>>>,
    /// Distinct schemas kept: a stream has a handful, a hostile one many.
    capacity: usize,
}

impl Default for SchemaCache {
    fn default() -> Self {
        SchemaCache::with_capacity(crate::limits::Limits::default().max_schemas)
    }
}

impl SchemaCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// A cache that keeps at most `capacity` schemas (it starts over when full).
    pub fn with_capacity(capacity: usize) -> Self {
        SchemaCache {
            by_text: Mutex::default(),
            capacity: capacity.max(1),
        }
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
        if map.len() >= self.capacity {
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
    #[cfg(feature = "registry")]
    client: super::registry::RegistryClient,
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
            #[cfg(feature = "registry")]
            client: super::registry::RegistryClient::new(),
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
            #[cfg(feature = "registry")]
            return self.client.fetch(url, id);
            #[cfg(not(feature = "registry"))]
            return Err(Error::Registry {
                url: url.clone(),
                reason: "this build of alertstream has no schema registry support (cargo feature `registry`)".into(),
            });
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
            "no schema folder or registry was given".to_owned()
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
