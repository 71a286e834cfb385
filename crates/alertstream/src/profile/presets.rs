//! The built-in broker presets: what a broker's users need besides their
//! own credentials (servers, security, topic prefix, payload format).

use crate::kafka::security::{Mechanism, Protocol};
use crate::model::format::Format;

/// What a broker's users need besides their own credentials.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    pub name: &'static str,
    /// `None`: given privately by the broker's team, or not confirmed here.
    pub servers: Option<&'static str>,
    pub protocol: Protocol,
    pub mechanism: Mechanism,
    /// Added to the topics a user names (ANTARES serves `client.<topic>`).
    pub topic_prefix: &'static str,
    pub format: Option<Format>,
    pub schema_registry: Option<&'static str>,
    pub note: &'static str,
}

/// The built-in presets (README has the table).
pub const PRESETS: [Preset; 6] = [
    Preset {
        name: "fink-ztf",
        servers: None,
        protocol: Protocol::Plaintext,
        mechanism: Mechanism::ScramSha512,
        topic_prefix: "",
        format: Some(Format::Fink),
        schema_registry: None,
        note: "servers and group are sent privately by Fink; Fink's manual says to give no SASL password",
    },
    Preset {
        name: "fink-lsst",
        servers: None,
        protocol: Protocol::Plaintext,
        mechanism: Mechanism::ScramSha512,
        topic_prefix: "",
        format: Some(Format::Fink),
        schema_registry: None,
        note: "servers and group are sent privately by Fink",
    },
    Preset {
        name: "antares",
        servers: Some("kafka.antares.noirlab.edu:9092"),
        protocol: Protocol::SaslSsl,
        mechanism: Mechanism::Plain,
        topic_prefix: "client.",
        format: Some(Format::Antares),
        schema_registry: None,
        note: "username = API key, password = API secret; the CA bundle is the one ANTARES \
               ships (antares_client/certificates/kafka-ca.pem)",
    },
    Preset {
        name: "rubin",
        servers: None,
        protocol: Protocol::SaslSsl,
        mechanism: Mechanism::ScramSha512,
        topic_prefix: "",
        format: Some(Format::Confluent),
        schema_registry: None,
        note: "servers and schema registry not confirmed here: take them from Rubin's \
               alert-stream documentation (or a schema folder of alert_packet schemas)",
    },
    Preset {
        name: "hopskotch",
        servers: None,
        protocol: Protocol::SaslSsl,
        mechanism: Mechanism::ScramSha512,
        topic_prefix: "",
        format: Some(Format::Json),
        schema_registry: None,
        note: "SCiMMA Hopskotch; servers not confirmed here: take them from SCiMMA's documentation",
    },
    Preset {
        name: "local",
        servers: Some("127.0.0.1:9092"),
        protocol: Protocol::Plaintext,
        mechanism: Mechanism::ScramSha512,
        topic_prefix: "",
        format: None,
        schema_registry: None,
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
