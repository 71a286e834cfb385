//! The writer schema: an Avro schema parsed once, with its fingerprint, its
//! decode plan and its container header. Finding schemas (by text, by
//! Confluent id) is [`crate::decode::schemas`]'s job.

use crate::avro::Plan;
use crate::error::{Error, Result};
use bytes::Bytes;
use serde_avro_fast::schema::SchemaMut;
use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

/// A parsed Avro writer schema and the text it came from.
#[derive(Debug)]
pub struct WriterSchema {
    text: String,
    fingerprint: u64,
    tree: SchemaMut,
    plan: Plan,
    /// The header of one-record containers of this schema, built once.
    container_header: OnceLock<Bytes>,
}

impl WriterSchema {
    /// Parses a schema from its JSON text.
    ///
    /// ```
    /// let s = alertstream::WriterSchema::parse(r#"{"type":"record","name":"a","fields":[{"name":"x","type":"long"}]}"#).unwrap();
    /// assert_eq!(s.fingerprint_hex().len(), 16);
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        Self::parse_with_deps(text, &[], "")
    }

    /// Parses a main schema whose named types are defined in `deps`
    /// (Rubin's alert_packet keeps each record type in its own file).
    pub fn parse_with_deps(text: &str, deps: &[String], origin: &str) -> Result<Self> {
        let parse_error = |reason: String| Error::SchemaParse {
            origin: if origin.is_empty() {
                String::new()
            } else {
                format!(" ({origin})")
            },
            reason,
        };
        let tree = SchemaMut::from_schemata(text, deps).map_err(|e| parse_error(e.to_string()))?;
        let fp = tree
            .canonical_form_rabin_fingerprint()
            .map_err(|e| parse_error(e.to_string()))?;
        let text = if deps.is_empty() {
            text.to_owned()
        } else {
            inline_dependencies(text, deps).map_err(parse_error)?
        };
        Ok(WriterSchema {
            text,
            fingerprint: u64::from_le_bytes(fp),
            plan: Plan::compile(&tree),
            tree,
            container_header: OnceLock::new(),
        })
    }

    /// Loads a schema file; sibling `.avsc` files in the same folder serve as
    /// definitions of the named types it refers to.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        if let Ok(s) = Self::parse_with_deps(&text, &[], &path.display().to_string()) {
            return Ok(s);
        }
        let deps = sibling_schemas(path)?;
        Self::parse_with_deps(&text, &deps, &path.display().to_string())
    }

    /// The schema as self-contained JSON text (named types defined inline).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The Avro parsing-canonical-form Rabin fingerprint (CRC-64-AVRO).
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The sync marker of containers written with this schema: derived from
    /// the fingerprint, so that the same alert always gives the same bytes.
    pub fn sync_marker(&self) -> [u8; 16] {
        let fp = self.fingerprint.to_le_bytes();
        let mut sync = [0u8; 16];
        sync[..8].copy_from_slice(&fp);
        sync[8..].copy_from_slice(&fp);
        sync
    }

    /// The header of a container file holding records of this schema.
    pub fn container_header(&self) -> Bytes {
        self.container_header
            .get_or_init(|| {
                crate::avro::container::container_header(&self.text, self.sync_marker()).into()
            })
            .clone()
    }

    pub fn fingerprint_hex(&self) -> String {
        format!("{:016x}", self.fingerprint)
    }

    /// The parsed node arena; node 0 is the top-level type.
    pub fn tree(&self) -> &SchemaMut {
        &self.tree
    }

    pub(crate) fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Full name of the top-level type, e.g. `ztf.alert`.
    pub fn name(&self) -> Option<&str> {
        self.tree
            .root()
            .type_
            .name()
            .map(|n| n.fully_qualified_name())
    }
}

fn sibling_schemas(path: &Path) -> Result<Vec<String>> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut deps = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries.flatten() {
        let p = entry.path();
        if p != path && p.extension().is_some_and(|e| e == "avsc") {
            deps.push(std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?);
        }
    }
    deps.sort();
    Ok(deps)
}

/// Rewrites a schema that refers to named types defined elsewhere into one
/// self-contained text: the first reference to each name is replaced by its
/// definition, as Avro requires for a schema written into a container file.
fn inline_dependencies(text: &str, deps: &[String]) -> Result<String, String> {
    use serde_json::Value as J;
    let mut defs: HashMap<String, J> = HashMap::new();
    for dep in deps {
        let j: J = serde_json::from_str(dep).map_err(|e| e.to_string())?;
        if let Some(name) = j.as_object().and_then(|o| full_name(o, None)) {
            defs.insert(name, j);
        }
    }
    let mut root: J = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut defined = std::collections::HashSet::new();
    inline_node(&mut root, None, &mut defs, &mut defined);
    serde_json::to_string(&root).map_err(|e| e.to_string())
}

fn full_name(
    j: &serde_json::Map<String, serde_json::Value>,
    enclosing_ns: Option<&str>,
) -> Option<String> {
    let name = j.get("name")?.as_str()?;
    if name.contains('.') {
        return Some(name.to_owned());
    }
    match j.get("namespace").and_then(|n| n.as_str()).or(enclosing_ns) {
        Some(ns) if !ns.is_empty() => Some(format!("{ns}.{name}")),
        _ => Some(name.to_owned()),
    }
}

fn inline_node(
    j: &mut serde_json::Value,
    ns: Option<&str>,
    defs: &mut HashMap<String, serde_json::Value>,
    defined: &mut std::collections::HashSet<String>,
) {
    use serde_json::Value as J;
    match j {
        J::String(name) => {
            let full = if name.contains('.') {
                name.clone()
            } else {
                ns.map(|n| format!("{n}.{name}")).unwrap_or(name.clone())
            };
            if defined.contains(&full) {
                return;
            }
            if let Some(mut def) = defs.remove(&full) {
                defined.insert(full.clone());
                let def_ns = full.rsplit_once('.').map(|(n, _)| n.to_owned());
                inline_node(&mut def, def_ns.as_deref(), defs, defined);
                *j = def;
            }
        }
        J::Array(branches) => {
            for b in branches {
                inline_node(b, ns, defs, defined);
            }
        }
        J::Object(obj) => {
            let own = full_name(obj, ns);
            let child_ns = own
                .as_deref()
                .and_then(|f| f.rsplit_once('.').map(|(n, _)| n.to_owned()));
            let child_ns = child_ns.as_deref().or(ns).map(str::to_owned);
            if let Some(o) = own {
                defined.insert(o);
            }
            for key in ["type", "items", "values"] {
                if let Some(t) = obj.get_mut(key) {
                    inline_node(t, child_ns.as_deref(), defs, defined);
                }
            }
            if let Some(J::Array(fields)) = obj.get_mut("fields") {
                for f in fields {
                    if let Some(t) = f.get_mut("type") {
                        inline_node(t, child_ns.as_deref(), defs, defined);
                    }
                }
            }
        }
        _ => {}
    }
}
