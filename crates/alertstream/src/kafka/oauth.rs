//! SASL OAUTHBEARER with OIDC client credentials (GCN's Kafka): the client
//! id and secret are exchanged at the token endpoint for a bearer token,
//! again before each token expires. librdkafka asks for the token through
//! the client's context; the secret is kept here, never in librdkafka's
//! configuration (whose debug log prints it).

use crate::kafka::security::Secret;
use rdkafka::client::OAuthToken;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a token request may take.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(15);
/// A token the endpoint gives without `expires_in` is renewed after this.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// Client secrets by (token URL, client id).
fn secrets() -> &'static Mutex<HashMap<(String, String), Secret>> {
    static SECRETS: OnceLock<Mutex<HashMap<(String, String), Secret>>> = OnceLock::new();
    SECRETS.get_or_init(Mutex::default)
}

/// The token refresh of a client context: every client alertstream creates
/// answers librdkafka's OAUTHBEARER refresh events with [`token`].
macro_rules! token_refresh {
    () => {
        const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

        fn generate_oauth_token(
            &self,
            config: Option<&str>,
        ) -> Result<rdkafka::client::OAuthToken, Box<dyn std::error::Error>> {
            crate::kafka::oauth::token(config)
        }
    };
}
pub(crate) use token_refresh;

/// Keeps the secret and gives the `sasl.oauthbearer.config` value that
/// names it (the URL and the client id, no secret).
pub(crate) fn register(token_url: &str, client_id: &str, secret: &Secret) -> String {
    let mut map = secrets().lock().unwrap_or_else(|e| e.into_inner());
    map.insert((token_url.to_owned(), client_id.to_owned()), secret.clone());
    format!("token_url={token_url} client_id={client_id}")
}

/// A token for the client the config names: a client-credentials grant
/// (RFC 6749 §4.4) at its token URL.
pub(crate) fn token(config: Option<&str>) -> Result<OAuthToken, Box<dyn std::error::Error>> {
    let config = config.ok_or("OAUTHBEARER without a token URL")?;
    let field = |name: &str| {
        config
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_owned)
    };
    let url = field("token_url").ok_or("OAUTHBEARER without a token URL")?;
    let client_id = field("client_id").ok_or("OAUTHBEARER without a client id")?;
    let secret = {
        let map = secrets().lock().unwrap_or_else(|e| e.into_inner());
        map.get(&(url.clone(), client_id.clone())).cloned()
    }
    .ok_or("OAUTHBEARER without a client secret")?;
    let agent = ureq::AgentBuilder::new().timeout(TOKEN_TIMEOUT).build();
    let response = agent
        .post(&url)
        .send_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", secret.expose()),
        ])
        .map_err(|e| match e {
            ureq::Error::Status(code, r) => {
                format!(
                    "token endpoint {url} answered HTTP {code} {}",
                    r.status_text()
                )
            }
            other => format!("token endpoint {url}: {other}"),
        })?;
    let body = response
        .into_string()
        .map_err(|e| format!("token endpoint {url}: {e}"))?;
    let answer: serde_json::Value = serde_json::from_str(&body)
        .map_err(|e| format!("token endpoint {url}: the answer is not JSON: {e}"))?;
    let access = answer
        .get("access_token")
        .and_then(|t| t.as_str())
        .ok_or_else(|| format!("token endpoint {url}: no access_token in the answer"))?;
    let lifetime = answer
        .get("expires_in")
        .and_then(|s| s.as_u64())
        .map_or(DEFAULT_LIFETIME, Duration::from_secs);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Ok(OAuthToken {
        token: access.to_owned(),
        principal_name: client_id,
        lifetime_ms: (now + lifetime).as_millis() as i64,
    })
}
