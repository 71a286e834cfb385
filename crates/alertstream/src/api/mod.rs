//! Brokers' REST APIs (cargo feature `api`), beside their Kafka streams:
//! the settings a broker's own client fetches at start, and what the stream
//! leaves out (ANTARES' thumbnails).

pub mod antares;

use crate::error::{Error, Result};
use std::time::Duration;

/// How long one API request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// `GET url`, as JSON.
pub(crate) fn get_json(agent: &ureq::Agent, url: &str) -> Result<serde_json::Value> {
    let body = get(agent, url)?;
    serde_json::from_slice(&body).map_err(|e| Error::Api {
        url: url.to_owned(),
        reason: format!("the answer is not JSON: {e}"),
    })
}

/// `GET url`, the body's bytes (a 4xx or 5xx is an error naming the status).
pub(crate) fn get(agent: &ureq::Agent, url: &str) -> Result<Vec<u8>> {
    let failed = |reason: String| Error::Api {
        url: url.to_owned(),
        reason,
    };
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::Status(code, r) => failed(format!("HTTP {code} {}", r.status_text())),
        other => failed(other.to_string()),
    })?;
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut body)
        .map_err(|e| failed(e.to_string()))?;
    Ok(body)
}

/// An agent with the API timeout.
pub(crate) fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(REQUEST_TIMEOUT).build()
}
