//! The built-in broker presets: what a broker's users need besides their
//! own credentials (servers, security, topic prefix, payload format). The
//! facts come from each broker's own client code and documents (README's
//! broker table says which).

use crate::error::{Error, Result};
use crate::kafka::security::{Mechanism, Protocol};
use crate::model::format::Format;

/// What a broker's users need besides their own credentials.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Preset {
    pub name: &'static str,
    /// `None`: given privately by the broker's team.
    pub servers: Option<&'static str>,
    /// Tried when none of `servers` answers (Babamul's second site).
    pub backup_servers: Option<&'static str>,
    pub protocol: Protocol,
    pub mechanism: Mechanism,
    /// Added to the topics a user names (ANTARES serves `client.<topic>`).
    pub topic_prefix: &'static str,
    /// `None`: each message's format is detected (or its `_format` header read).
    pub format: Option<Format>,
    pub schema_registry: Option<&'static str>,
    /// The topics a user starts with (a `^` one is a pattern).
    pub topics: &'static [&'static str],
    /// What the broker requires of consumer group names.
    pub group_rule: GroupRule,
    /// librdkafka properties the broker's stream needs (before the user's).
    pub properties: &'static [(&'static str, &'static str)],
    /// Where the broker's own client fetches further options at start.
    pub options_api: Option<OptionsApi>,
    /// The OIDC token endpoint (OAUTHBEARER).
    pub token_url: Option<&'static str>,
    pub note: &'static str,
}

/// A broker API that serves Kafka options, fetched at start as the
/// broker's own client does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionsApi {
    /// antares-client's `client/config/streaming/default`.
    Antares,
}

/// What a broker requires of a consumer group's name, checked before
/// connecting (the broker would refuse it with an authorization error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupRule {
    /// Any name.
    Any,
    /// The name starts with the SASL username (Rubin's ACLs).
    StartsWithUsername,
    /// The name starts with the SASL username and a dash (Babamul's).
    StartsWithUsernameDash,
}

impl GroupRule {
    /// The prefix a group must have for `username`, if any.
    pub fn required_prefix(self, username: &str) -> Option<String> {
        match self {
            GroupRule::Any => None,
            GroupRule::StartsWithUsername => Some(username.to_owned()),
            GroupRule::StartsWithUsernameDash => Some(format!("{username}-")),
        }
    }

    /// `Ok` when `group` is allowed for `username` on `broker`.
    ///
    /// ```
    /// use alertstream::profile::GroupRule;
    /// assert!(GroupRule::StartsWithUsernameDash.check("babamul", "babamul-ann", "babamul-ann-1").is_ok());
    /// assert!(GroupRule::StartsWithUsernameDash.check("babamul", "babamul-ann", "mine").is_err());
    /// ```
    pub fn check(self, broker: &str, username: &str, group: &str) -> Result<()> {
        match self.required_prefix(username) {
            Some(prefix) if !group.starts_with(&prefix) => Err(Error::GroupNotAllowed {
                broker: broker.to_owned(),
                group: group.to_owned(),
                prefix,
            }),
            _ => Ok(()),
        }
    }
}

/// Rubin's messages reach 10 MB (the broker's `message.max.bytes`).
const RUBIN_FETCH: [(&str, &str); 1] = [("max.partition.fetch.bytes", "10485760")];

/// The built-in presets (README has the table).
pub const PRESETS: [Preset; 10] = [
    Preset {
        name: "rubin",
        servers: Some("rubin-alert-stream-bootstrap.slac.stanford.edu:9094"),
        backup_servers: None,
        protocol: Protocol::SaslPlaintext,
        mechanism: Mechanism::ScramSha512,
        topic_prefix: "",
        format: Some(Format::Confluent),
        schema_registry: Some("https://rubin-alert-schemas.slac.stanford.edu/schema-registry/"),
        topics: &["lsst-alerts-v11"],
        group_rule: GroupRule::StartsWithUsername,
        properties: &RUBIN_FETCH,
        options_api: None,
        token_url: None,
        note: "Rubin's own stream (for brokers and approved users); groups start with the \
               username; a new major schema version moves the stream to lsst-alerts-vN+1",
    },
    Preset {
        name: "fink-lsst",
        servers: None,
        backup_servers: None,
        protocol: Protocol::SaslPlaintext,
        mechanism: Mechanism::ScramSha512,
        topic_prefix: "",
        format: Some(Format::Fink),
        schema_registry: None,
        topics: &["^fink_.*_lsst$"],
        group_rule: GroupRule::Any,
        properties: &[],
        options_api: None,
        token_url: None,
        note: "servers and group are sent by Fink when you register (fink_client_register); \
               livestream fink_<tag>_lsst, Data Transfer ftransfer_lsst_<date>_<n>",
    },
    Preset {
        name: "fink-ztf",
        servers: None,
        backup_servers: None,
        protocol: Protocol::Plaintext,
        mechanism: Mechanism::ScramSha512,
        topic_prefix: "",
        format: Some(Format::Fink),
        schema_registry: None,
        topics: &["^fink_.*_ztf$"],
        group_rule: GroupRule::Any,
        properties: &[],
        options_api: None,
        token_url: None,
        note: "servers and group are sent privately by Fink; Fink's manual says to give no SASL password",
    },
    Preset {
        name: "antares",
        servers: Some("kafka.antares.noirlab.edu:9092"),
        backup_servers: None,
        protocol: Protocol::SaslSsl,
        mechanism: Mechanism::Plain,
        topic_prefix: "client.",
        format: Some(Format::Antares),
        schema_registry: None,
        topics: &["extragalactic"],
        group_rule: GroupRule::Any,
        properties: &[],
        options_api: Some(OptionsApi::Antares),
        token_url: None,
        note: "username = API key, password = API secret; the CA bundle is the one ANTARES \
               ships (antares_client/certificates/kafka-ca.pem)",
    },
    Preset {
        name: "babamul",
        servers: Some("kaboom.caltech.edu:9093"),
        backup_servers: Some("babamul.umn.edu:9093"),
        protocol: Protocol::SaslPlaintext,
        mechanism: Mechanism::ScramSha512,
        topic_prefix: "",
        format: Some(Format::Ztf),
        schema_registry: None,
        topics: &["^babamul\\.lsst\\..*"],
        group_rule: GroupRule::StartsWithUsernameDash,
        properties: &[],
        options_api: None,
        token_url: None,
        note: "Caltech/UMN (BOOM); Kafka usernames start with babamul-, groups with \
               <username>-; topics babamul.{ztf,lsst}.<match>.<class>; no cutouts in the stream",
    },
    Preset {
        name: "lasair",
        servers: Some("lasair-lsst-kafka.lsst.ac.uk:9092"),
        backup_servers: None,
        protocol: Protocol::Plaintext,
        mechanism: Mechanism::ScramSha512,
        topic_prefix: "",
        format: Some(Format::Json),
        schema_registry: None,
        topics: &[],
        group_rule: GroupRule::Any,
        properties: &[],
        options_api: None,
        token_url: None,
        note: "no credentials; a filter's topic is lasair_<user id><filter name> (on its page); \
               JSON rows of the filter's columns plus UTC",
    },
    Preset {
        name: "alerce",
        servers: Some("52.72.162.197:9093"),
        backup_servers: None,
        protocol: Protocol::SaslPlaintext,
        mechanism: Mechanism::ScramSha256,
        topic_prefix: "",
        format: None,
        schema_registry: None,
        topics: &["lc_classifier_{date}"],
        group_rule: GroupRule::Any,
        properties: &[],
        options_api: None,
        token_url: None,
        note: "ZTF classifications; daily topics lc_classifier_YYYYMMDD and \
               stamp_classifier_YYYYMMDD kept 48 h; group prefix given by ALeRCE",
    },
    Preset {
        name: "hopskotch",
        servers: Some("kafka.scimma.org:9092"),
        backup_servers: None,
        protocol: Protocol::SaslSsl,
        mechanism: Mechanism::ScramSha512,
        topic_prefix: "",
        format: None,
        schema_registry: None,
        topics: &[],
        group_rule: GroupRule::Any,
        properties: &[],
        options_api: None,
        token_url: None,
        note: "SCiMMA; credentials from my.hop.scimma.org; each message's _format header \
               (json, avro, voevent, gcntextnotice, circular, blob) says how it is read",
    },
    Preset {
        name: "gcn",
        servers: Some("kafka.gcn.nasa.gov:9092"),
        backup_servers: None,
        protocol: Protocol::SaslSsl,
        mechanism: Mechanism::OAuthBearer,
        topic_prefix: "",
        format: None,
        schema_registry: None,
        topics: &["igwn.gwalert"],
        group_rule: GroupRule::Any,
        properties: &[],
        options_api: None,
        token_url: Some("https://auth.gcn.nasa.gov/oauth2/token"),
        note: "NASA GCN; username = client id, password = client secret (gcn.nasa.gov/quickstart); \
               igwn.gwalert is JSON with a base64 sky map; gcn.classic.voevent.* are VOEvents",
    },
    Preset {
        name: "local",
        servers: Some("127.0.0.1:9092"),
        backup_servers: None,
        protocol: Protocol::Plaintext,
        mechanism: Mechanism::ScramSha512,
        topic_prefix: "",
        format: None,
        schema_registry: None,
        topics: &[],
        group_rule: GroupRule::Any,
        properties: &[],
        options_api: None,
        token_url: None,
        note: "a broker on this machine (scripts/tansu.sh start)",
    },
];

pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

pub fn preset_names() -> String {
    PRESETS
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The preset of that name, or an error listing the known ones.
pub fn known_preset(name: &str) -> Result<&'static Preset> {
    preset(name).ok_or_else(|| {
        Error::Config(format!(
            "unknown broker preset '{name}' (known: {})",
            preset_names()
        ))
    })
}
