//! Broker presets and stored profiles: credentials registered once, then
//! used by name. Profiles live in `$XDG_CONFIG_HOME/alertstream/` (or
//! `~/.config/alertstream/`); passwords sit in separate files written 0600,
//! and a password file readable by others is refused, as ssh does. When no
//! profile exists, fink-client's own credential files are read.

use crate::error::{Error, Result};
use crate::kafka::security::{Mechanism, Protocol, Secret, Security};
use crate::model::format::Format;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

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
        note: "username = API key, password = API secret; pass the CA ANTARES ships \
               (antares_client/certificates/kafka-ca.pem) with --ssl-ca-location",
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
               alert-stream documentation (or use --schema-dir with alert_packet schemas)",
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
}

impl Profile {
    /// Applies the preset's defaults, then `ALERTSTREAM_*` variables
    /// (SERVERS, USERNAME, PASSWORD, GROUP, TOPICS, SECURITY_PROTOCOL, SASL_MECHANISM).
    pub fn resolve(&self, password: Option<Secret>) -> Result<Resolved> {
        let preset = match &self.broker {
            Some(b) => Some(preset(b).ok_or_else(|| {
                Error::Config(format!(
                    "unknown broker preset '{b}' (known: {})",
                    preset_names()
                ))
            })?),
            None => None,
        };
        let env = |k: &str| {
            std::env::var(format!("ALERTSTREAM_{k}"))
                .ok()
                .filter(|v| !v.is_empty())
        };
        let parse_err = |e: String| Error::Config(e);
        let protocol = match env("SECURITY_PROTOCOL").or(self.security_protocol.clone()) {
            Some(p) => p.parse().map_err(parse_err)?,
            None => preset.map_or(Protocol::Plaintext, |p| p.protocol),
        };
        let mechanism = match env("SASL_MECHANISM").or(self.sasl_mechanism.clone()) {
            Some(m) => m.parse().map_err(parse_err)?,
            None => preset.map_or(Mechanism::ScramSha512, |p| p.mechanism),
        };
        let prefix = self
            .topic_prefix
            .clone()
            .unwrap_or_else(|| preset.map_or("", |p| p.topic_prefix).to_owned());
        let topics = env("TOPICS")
            .map(|t| t.split(',').map(str::to_owned).collect())
            .unwrap_or_else(|| self.topics.clone());
        let format = match self.format.as_deref() {
            Some(f) => Some(f.parse().map_err(parse_err)?),
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
            },
            format,
            schema_registry: self
                .schema_registry
                .clone()
                .or(preset.and_then(|p| p.schema_registry.map(str::to_owned))),
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

pub fn preset_names() -> String {
    PRESETS
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where profiles are kept.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// `$ALERTSTREAM_CONFIG_DIR`, else `$XDG_CONFIG_HOME/alertstream`, else
    /// `~/.config/alertstream`.
    pub fn default_location() -> Result<Self> {
        let dir = std::env::var_os("ALERTSTREAM_CONFIG_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_CONFIG_HOME").map(|x| PathBuf::from(x).join("alertstream"))
            })
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/alertstream"))
            })
            .ok_or_else(|| {
                Error::Config("no HOME or XDG_CONFIG_HOME to keep profiles in".into())
            })?;
        Ok(Store { dir })
    }

    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Store { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn profile_path(&self, name: &str) -> PathBuf {
        self.dir.join("profiles").join(format!("{name}.json"))
    }

    fn secret_path(&self, name: &str) -> PathBuf {
        self.dir.join("secrets").join(name)
    }

    /// Saves a profile and, if given, its password (both files 0600).
    pub fn save(&self, profile: &Profile, password: Option<&Secret>) -> Result<()> {
        if profile.name.is_empty()
            || !profile
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(Error::Config(format!(
                "profile name '{}' must be letters, digits, '-', '_' or '.'",
                profile.name
            )));
        }
        let json = serde_json::to_vec_pretty(profile).map_err(|e| Error::Config(e.to_string()))?;
        write_private(&self.profile_path(&profile.name), &json)?;
        let secret = self.secret_path(&profile.name);
        match password {
            Some(p) => write_private(&secret, p.expose().as_bytes())?,
            None => remove_if_present(&secret)?,
        }
        Ok(())
    }

    /// A profile and its password. A password file that group or others can
    /// read is refused.
    /// The profile a command uses: the one `name`d (an error if missing);
    /// else, when no broker address was given, the profile named
    /// `default`, else fink-client's registered credentials; else none.
    pub fn choose(
        &self,
        name: Option<&str>,
        servers_given: bool,
    ) -> Result<Option<(Profile, Option<Secret>)>> {
        match name {
            Some(name) => self.load(name)?.map(Some).ok_or_else(|| {
                Error::Config(format!(
                    "no profile '{name}' in {} (see `alertstream auth list`)",
                    self.dir().display()
                ))
            }),
            None if servers_given => Ok(None),
            None => match self.load("default")? {
                Some(found) => Ok(Some(found)),
                None => {
                    let home = std::env::var_os("HOME")
                        .map(PathBuf::from)
                        .unwrap_or_default();
                    fink_client_profile(&home, "ztf")
                }
            },
        }
    }

    pub fn load(&self, name: &str) -> Result<Option<(Profile, Option<Secret>)>> {
        let path = self.profile_path(name);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let profile: Profile = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let secret = self.secret_path(name);
        let password = match std::fs::metadata(&secret) {
            Ok(meta) => {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(Error::Config(format!(
                        "{} holds a password and is readable by others (mode {mode:o}); \
                         run: chmod 600 {}",
                        secret.display(),
                        secret.display()
                    )));
                }
                let text = std::fs::read_to_string(&secret).map_err(|e| Error::io(&secret, e))?;
                Some(Secret::new(text))
            }
            Err(_) => None,
        };
        Ok(Some((profile, password)))
    }

    pub fn list(&self) -> Result<Vec<String>> {
        let dir = self.dir.join("profiles");
        let mut names: Vec<String> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .flatten()
                .filter_map(|e| {
                    e.file_name()
                        .to_str()?
                        .strip_suffix(".json")
                        .map(str::to_owned)
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        Ok(names)
    }

    /// Removes a profile and its password; `false` when there was none.
    pub fn remove(&self, name: &str) -> Result<bool> {
        let existed = self.profile_path(name).exists();
        remove_if_present(&self.profile_path(name))?;
        remove_if_present(&self.secret_path(name))?;
        Ok(existed)
    }
}

/// Writes a file readable by its owner only, atomically (temp + rename).
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    let tmp = dir.join(format!(".tmp-{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::io(&tmp, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

/// fink-client's registered credentials (`~/.finkclient/{ztf,lsst}_credentials.yml`
/// of 12.x, or `credentials.yml` of 11.x), as a profile.
pub fn fink_client_profile(home: &Path, survey: &str) -> Result<Option<(Profile, Option<Secret>)>> {
    let candidates = [
        home.join(format!(".finkclient/{survey}_credentials.yml")),
        home.join(".finkclient/credentials.yml"),
    ];
    let Some(path) = candidates.iter().find(|p| p.is_file()) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let y: yaml_serde::Value = yaml_serde::from_str(&text)
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    let s = |k: &str| y.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let topics: Vec<String> = match y.get("topics").or_else(|| y.get("mytopics")) {
        Some(yaml_serde::Value::Mapping(m)) => m
            .keys()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect(),
        Some(yaml_serde::Value::Sequence(v)) => v
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let password = s("password").filter(|p| !p.is_empty()).map(Secret::new);
    let profile = Profile {
        name: format!("fink-client-{survey}"),
        broker: Some(format!("fink-{survey}")),
        servers: s("servers"),
        username: s("username"),
        group: s("groupid")
            .or_else(|| s("group_id"))
            .or_else(|| s("group.id")),
        topics,
        // A password means fink-client's older SASL set-up.
        security_protocol: password.as_ref().map(|_| "SASL_PLAINTEXT".to_owned()),
        ..Default::default()
    };
    Ok(Some((profile, password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("alertstream-profile-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn save_load_list_remove_with_private_files() {
        let store = Store::at(temp("store"));
        let profile = Profile {
            name: "ant".into(),
            broker: Some("antares".into()),
            username: Some("key".into()),
            group: Some("g".into()),
            topics: vec!["extragalactic".into()],
            ..Default::default()
        };
        store.save(&profile, Some(&Secret::new("s3cret"))).unwrap();
        let secret = store.dir().join("secrets/ant");
        assert_eq!(
            std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(store.dir().join("profiles/ant.json"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
        assert!(
            !std::fs::read_to_string(store.dir().join("profiles/ant.json"))
                .unwrap()
                .contains("s3cret")
        );
        let (loaded, password) = store.load("ant").unwrap().unwrap();
        assert_eq!(loaded, profile);
        assert_eq!(password.unwrap().expose(), "s3cret");
        assert_eq!(store.list().unwrap(), ["ant"]);

        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = store.load("ant").unwrap_err().to_string();
        assert!(
            err.contains("readable by others") && err.contains("chmod 600"),
            "{err}"
        );

        assert!(store.remove("ant").unwrap());
        assert!(store.load("ant").unwrap().is_none());
        assert!(!store.remove("ant").unwrap());
        let _ = std::fs::remove_dir_all(store.dir());
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

    #[test]
    fn fink_client_files_of_both_versions() {
        let home = temp("finkhome");
        std::fs::create_dir_all(home.join(".finkclient")).unwrap();
        std::fs::write(
            home.join(".finkclient/ztf_credentials.yml"),
            "groupid: fgroup\nmaxtimeout: 5\nservers: 127.0.0.1:19092\nsurvey: ztf\ntopics:\n  fink_small: {}\nusername: test\n",
        )
        .unwrap();
        let (p, password) = fink_client_profile(&home, "ztf").unwrap().unwrap();
        assert_eq!(
            (p.servers.as_deref(), p.group.as_deref()),
            (Some("127.0.0.1:19092"), Some("fgroup"))
        );
        assert_eq!(
            (p.username.as_deref(), p.topics.clone()),
            (Some("test"), vec!["fink_small".to_owned()])
        );
        assert!(password.is_none());
        std::fs::write(
            home.join(".finkclient/credentials.yml"),
            "username: u\npassword: pw\ngroup_id: g11\nmytopics: [fink_sn_candidates_ztf]\nservers: host:24499\nmaxtimeout: 10\n",
        )
        .unwrap();
        let (p, password) = fink_client_profile(&home, "lsst").unwrap().unwrap();
        assert_eq!(
            (p.group.as_deref(), p.topics.clone()),
            (Some("g11"), vec!["fink_sn_candidates_ztf".to_owned()])
        );
        assert_eq!(password.unwrap().expose(), "pw");
        assert_eq!(p.security_protocol.as_deref(), Some("SASL_PLAINTEXT"));
        let _ = std::fs::remove_dir_all(&home);
    }
}
