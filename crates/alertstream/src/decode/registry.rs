//! Writer schemas from a Confluent-compatible schema registry (cargo
//! feature `registry`): `GET /schemas/ids/{id}` and the subjects it refers
//! to, with one HTTP agent whose connections are reused.

use crate::error::{Error, Result};
use crate::model::schema::WriterSchema;
use std::time::Duration;

/// How long one registry request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// An HTTP client for schema registries.
#[derive(Debug)]
pub(crate) struct RegistryClient {
    agent: ureq::Agent,
}

impl RegistryClient {
    pub(crate) fn new() -> Self {
        RegistryClient {
            agent: ureq::AgentBuilder::new().timeout(REQUEST_TIMEOUT).build(),
        }
    }

    /// `url` may carry a path prefix (`https://HOST/schema-registry`).
    pub(crate) fn fetch(&self, url: &str, id: u32) -> Result<WriterSchema> {
        let agent = &self.agent;
        let base = url.trim_end_matches('/');
        let get_json = |path: &str| -> Result<Option<serde_json::Value>> {
            let full = format!("{base}{path}");
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
}
