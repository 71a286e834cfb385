//! How a client authenticates and encrypts: SASL (PLAIN, SCRAM-SHA-256,
//! SCRAM-SHA-512) over plaintext or TLS, with certificate and host-name
//! verification on unless explicitly disabled. Secrets never print.

use crate::error::{Error, Result};
use std::fmt;
use std::path::{Path, PathBuf};

/// A password or other secret: `Debug` and `Display` show `***`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for handing to librdkafka only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Kafka's `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

crate::names::named!(Protocol, "security protocol", {
    Protocol::Plaintext => "PLAINTEXT",
    Protocol::Ssl => "SSL",
    Protocol::SaslPlaintext => "SASL_PLAINTEXT",
    Protocol::SaslSsl => "SASL_SSL",
});

impl Protocol {
    pub fn name(self) -> &'static str {
        crate::names::Named::name(self)
    }

    fn uses_tls(self) -> bool {
        matches!(self, Protocol::Ssl | Protocol::SaslSsl)
    }

    fn uses_sasl(self) -> bool {
        matches!(self, Protocol::SaslPlaintext | Protocol::SaslSsl)
    }
}

/// SASL mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mechanism {
    Plain,
    ScramSha256,
    #[default]
    ScramSha512,
    /// OIDC client credentials (username = client id, password = client
    /// secret) exchanged at [`Security::token_url`] for bearer tokens.
    OAuthBearer,
}

crate::names::named!(Mechanism, "SASL mechanism", {
    Mechanism::Plain => "PLAIN",
    Mechanism::ScramSha256 => "SCRAM-SHA-256",
    Mechanism::ScramSha512 => "SCRAM-SHA-512",
    Mechanism::OAuthBearer => "OAUTHBEARER",
});

impl Mechanism {
    pub fn name(self) -> &'static str {
        crate::names::Named::name(self)
    }
}

/// Everything about authentication and encryption of one connection.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Security {
    pub protocol: Protocol,
    pub mechanism: Mechanism,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// CA bundle to verify the broker's certificate; found in the system's
    /// usual places when not given.
    pub ssl_ca_location: Option<PathBuf>,
    /// Turns certificate and host-name verification off. Dangerous.
    pub skip_tls_verification: bool,
    /// The OIDC token endpoint of OAUTHBEARER.
    pub token_url: Option<String>,
}

/// Where distributions keep their CA bundle.
const SYSTEM_CA_BUNDLES: [&str; 5] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/ssl/cert.pem",
];

impl Security {
    /// librdkafka properties for this configuration.
    pub fn properties(&self) -> Result<Vec<(String, String)>> {
        let mut p = vec![(
            "security.protocol".to_owned(),
            self.protocol.name().to_owned(),
        )];
        if self.protocol.uses_sasl() {
            let (Some(user), Some(password)) = (&self.username, &self.password) else {
                return Err(Error::MissingCredentials {
                    protocol: self.protocol.name(),
                });
            };
            p.push(("sasl.mechanism".into(), self.mechanism.name().into()));
            if self.mechanism == Mechanism::OAuthBearer {
                let url = self.token_url.as_deref().ok_or_else(|| {
                    Error::Config("OAUTHBEARER needs the OIDC token endpoint's URL".into())
                })?;
                let config = crate::kafka::oauth::register(url, user, password);
                p.push(("sasl.oauthbearer.config".into(), config));
            } else {
                p.push(("sasl.username".into(), user.clone()));
                p.push(("sasl.password".into(), password.expose().to_owned()));
            }
        }
        if self.protocol.uses_tls() {
            if self.skip_tls_verification {
                p.push(("enable.ssl.certificate.verification".into(), "false".into()));
                p.push((
                    "ssl.endpoint.identification.algorithm".into(),
                    "none".into(),
                ));
            } else {
                p.push((
                    "ssl.endpoint.identification.algorithm".into(),
                    "https".into(),
                ));
            }
            let ca = match &self.ssl_ca_location {
                Some(ca) if !ca.is_file() => {
                    return Err(Error::NoCaBundle {
                        looked: ca.display().to_string(),
                    })
                }
                Some(ca) => ca.clone(),
                None => find_system_ca().ok_or_else(|| Error::NoCaBundle {
                    looked: SYSTEM_CA_BUNDLES.join(", "),
                })?,
            };
            p.push(("ssl.ca.location".into(), ca.display().to_string()));
        }
        Ok(p)
    }
}

fn find_system_ca() -> Option<PathBuf> {
    SYSTEM_CA_BUNDLES
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(s: &Security) -> std::collections::BTreeMap<String, String> {
        s.properties().unwrap().into_iter().collect()
    }

    #[test]
    fn sasl_plain_over_tls_configures_librdkafka_and_verifies_by_default() {
        let s = Security {
            protocol: Protocol::SaslSsl,
            mechanism: Mechanism::Plain,
            username: Some("antares-key".into()),
            password: Some(Secret::new("s3cret")),
            ssl_ca_location: None,
            skip_tls_verification: false,
            token_url: None,
        };
        let p = props(&s);
        assert_eq!(p["security.protocol"], "SASL_SSL");
        assert_eq!(p["sasl.mechanism"], "PLAIN");
        assert_eq!(p["sasl.username"], "antares-key");
        assert_eq!(p["sasl.password"], "s3cret");
        assert_eq!(p["ssl.endpoint.identification.algorithm"], "https");
        assert!(!p.contains_key("enable.ssl.certificate.verification"));
        assert!(
            Path::new(&p["ssl.ca.location"]).is_file(),
            "a system CA bundle is found"
        );
    }

    #[test]
    fn secrets_never_print() {
        let s = Security {
            password: Some(Secret::new("hunter2")),
            ..Default::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(Secret::new("hunter2").to_string(), "***");
    }

    #[test]
    fn sasl_without_password_or_missing_ca_is_a_clear_error() {
        let s = Security {
            protocol: Protocol::SaslPlaintext,
            username: Some("u".into()),
            ..Default::default()
        };
        let error = s.properties().unwrap_err();
        assert!(matches!(
            error,
            Error::MissingCredentials {
                protocol: "SASL_PLAINTEXT"
            }
        ));
        assert_eq!(error.settings(), [crate::error::Setting::Credentials]);
        let s = Security {
            protocol: Protocol::Ssl,
            ssl_ca_location: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        };
        assert!(s
            .properties()
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/ca.pem"));
    }

    #[test]
    fn oauthbearer_keeps_the_client_secret_out_of_librdkafka() {
        let s = Security {
            protocol: Protocol::SaslSsl,
            mechanism: Mechanism::OAuthBearer,
            username: Some("client-id".into()),
            password: Some(Secret::new("client-s3cret")),
            token_url: Some("https://auth.example.org/oauth2/token".into()),
            ..Default::default()
        };
        let p = props(&s);
        assert_eq!(p["sasl.mechanism"], "OAUTHBEARER");
        assert_eq!(
            p["sasl.oauthbearer.config"],
            "token_url=https://auth.example.org/oauth2/token client_id=client-id"
        );
        assert!(p.values().all(|v| !v.contains("client-s3cret")));
        let without_url = Security {
            token_url: None,
            ..s
        };
        assert!(without_url
            .properties()
            .unwrap_err()
            .to_string()
            .contains("token endpoint"));
    }

    #[test]
    fn skipping_verification_must_be_explicit() {
        let s = Security {
            protocol: Protocol::Ssl,
            skip_tls_verification: true,
            ..Default::default()
        };
        assert_eq!(props(&s)["enable.ssl.certificate.verification"], "false");
    }
}
