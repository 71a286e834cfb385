//! Broker presets and stored profiles: credentials registered once, then
//! used by name. Profiles live in `$XDG_CONFIG_HOME/alertstream/` (or
//! `~/.config/alertstream/`); passwords sit in separate files written 0600,
//! and a password file readable by others is refused, as ssh does. When no
//! profile exists, fink-client's own credential files are read.

mod fink_client;
mod presets;
mod store;

pub use fink_client::fink_client_profile;
pub use presets::{known_preset, preset, preset_names, GroupRule, OptionsApi, Preset, PRESETS};
pub use store::{NotifySecret, Store};

use crate::error::Result;
use crate::kafka::security::{Mechanism, Protocol, Secret, Security};
use crate::model::format::Format;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A registered profile (no secret in it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    pub broker: Option<String>,
    pub servers: Option<String>,
    pub username: Option<String>,
    pub group: Option<String>,
    #[serde(default)]
    pub topics: Vec<String>,
    pub security_protocol: Option<String>,
    pub sasl_mechanism: Option<String>,
    pub ssl_ca_location: Option<PathBuf>,
    pub topic_prefix: Option<String>,
    pub format: Option<String>,
    pub schema_registry: Option<String>,
}

/// A profile with its preset and the environment applied: what to connect with.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Added to topic names the user gives.
    pub topic_prefix: String,
    pub servers: Option<String>,
    pub group: Option<String>,
    /// The topics as the broker names them (prefix added).
    pub topics: Vec<String>,
    pub security: Security,
    pub format: Option<Format>,
    pub schema_registry: Option<String>,
    /// The broker preset applied, if any.
    pub preset: Option<&'static Preset>,
}

impl Resolved {
    /// Refuses a group the preset's broker would refuse (Rubin's and
    /// Babamul's groups start with the username), before connecting.
    /// `username` is the one connecting (a flag may have replaced the profile's).
    pub fn check_group(&self, username: Option<&str>, group: &str) -> Result<()> {
        let (Some(preset), Some(username)) = (self.preset, username) else {
            return Ok(());
        };
        preset.group_rule.check(preset.name, username, group)
    }

    /// The options the broker's API serves, as its own client fetches them
    /// at start; `None` when the preset has no such API.
    #[cfg(feature = "api")]
    pub fn remote_options(&self) -> Option<Result<Vec<(String, String)>>> {
        match self.preset?.options_api? {
            OptionsApi::Antares => {
                let api = crate::api::antares::api_base();
                Some(crate::api::antares::streaming_options(&api))
            }
        }
    }

    /// librdkafka properties the preset's stream needs (the user's come after).
    pub fn properties(&self) -> Vec<(String, String)> {
        self.preset.map_or_else(Vec::new, |p| {
            p.properties
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        })
    }
}

impl Profile {
    /// A profile that is only a broker preset (`--broker NAME`): credentials
    /// come from the environment or the command line.
    pub fn of_broker(name: &str) -> Result<Profile> {
        known_preset(name)?;
        Ok(Profile {
            name: name.to_owned(),
            broker: Some(name.to_owned()),
            ..Default::default()
        })
    }

    /// Applies the preset's defaults, then `ALERTSTREAM_*` variables
    /// (SERVERS, USERNAME, PASSWORD, GROUP, TOPICS, SECURITY_PROTOCOL, SASL_MECHANISM).
    pub fn resolve(&self, password: Option<Secret>) -> Result<Resolved> {
        let preset = match &self.broker {
            Some(b) => Some(known_preset(b)?),
            None => None,
        };
        let env = |k: &str| {
            std::env::var(format!("ALERTSTREAM_{k}"))
                .ok()
                .filter(|v| !v.is_empty())
        };
        let protocol = match env("SECURITY_PROTOCOL").or(self.security_protocol.clone()) {
            Some(p) => p.parse::<Protocol>()?,
            None => preset.map_or(Protocol::Plaintext, |p| p.protocol),
        };
        let mechanism = match env("SASL_MECHANISM").or(self.sasl_mechanism.clone()) {
            Some(m) => m.parse::<Mechanism>()?,
            None => preset.map_or(Mechanism::ScramSha512, |p| p.mechanism),
        };
        let prefix = self
            .topic_prefix
            .clone()
            .unwrap_or_else(|| preset.map_or("", |p| p.topic_prefix).to_owned());
        let topics = env("TOPICS")
            .map(|t| t.split(',').map(str::to_owned).collect())
            .or_else(|| Some(self.topics.clone()).filter(|t| !t.is_empty()))
            .unwrap_or_else(|| {
                let defaults = preset.map_or(&[][..], |p| p.topics);
                defaults.iter().map(|t| (*t).to_owned()).collect()
            });
        let format = match self.format.as_deref() {
            Some(f) => Some(f.parse::<Format>()?),
            None => preset.and_then(|p| p.format),
        };
        Ok(Resolved {
            topic_prefix: prefix.clone(),
            servers: env("SERVERS")
                .or(self.servers.clone())
                .or(preset.and_then(|p| p.servers.map(str::to_owned))),
            group: env("GROUP").or(self.group.clone()),
            topics: topics.iter().map(|t| with_prefix(&prefix, t)).collect(),
            security: Security {
                protocol,
                mechanism,
                username: env("USERNAME").or(self.username.clone()),
                password: env("PASSWORD").map(Secret::new).or(password),
                ssl_ca_location: self.ssl_ca_location.clone(),
                skip_tls_verification: false,
                token_url: preset.and_then(|p| p.token_url.map(str::to_owned)),
            },
            format,
            schema_registry: self
                .schema_registry
                .clone()
                .or(preset.and_then(|p| p.schema_registry.map(str::to_owned))),
            preset,
        })
    }
}

/// A topic as the broker names it: the preset's prefix added (patterns kept).
pub fn with_prefix(prefix: &str, topic: &str) -> String {
    if topic.starts_with('^') || topic.starts_with(prefix) {
        topic.to_owned()
    } else {
        format!("{prefix}{topic}")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh folder for a profile test (removed first if a run left it).
    pub(crate) fn temp(tag: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("alertstream-profile-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn presets_fill_what_the_profile_leaves_out() {
        let p = Profile {
            name: "a".into(),
            broker: Some("antares".into()),
            username: Some("key".into()),
            topics: vec!["extragalactic".into(), "^nuclear.*".into()],
            ..Default::default()
        };
        let r = p.resolve(Some(Secret::new("x"))).unwrap();
        assert_eq!(r.servers.as_deref(), Some("kafka.antares.noirlab.edu:9092"));
        assert_eq!(r.topics, ["client.extragalactic", "^nuclear.*"]);
        assert_eq!(r.security.protocol, Protocol::SaslSsl);
        assert_eq!(r.security.mechanism, Mechanism::Plain);
        assert_eq!(r.format, Some(Format::Antares));
        let bad = Profile {
            broker: Some("nope".into()),
            ..Default::default()
        };
        assert!(bad
            .resolve(None)
            .unwrap_err()
            .to_string()
            .contains("fink-ztf"));
    }
}
