//! Profiles kept on disk: one JSON file per profile and one password file
//! per profile, both readable by their owner only.

use super::fink_client::fink_client_profile;
use super::Profile;
use crate::error::{Error, Result};
use crate::kafka::security::Secret;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

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

    fn notify_path(&self, name: &str) -> PathBuf {
        self.dir.join("secrets").join(format!("{name}.notify.json"))
    }

    /// Keeps a notification secret of a profile (a file 0600 beside its
    /// password), so that it never needs the command line.
    pub fn save_notify_secret(
        &self,
        name: &str,
        which: NotifySecret,
        secret: &Secret,
    ) -> Result<()> {
        let path = self.notify_path(name);
        let mut all: std::collections::BTreeMap<String, String> =
            match read_private(&path, "a secret")? {
                Some(text) => serde_json::from_str(&text)
                    .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?,
                None => Default::default(),
            };
        all.insert(which.key().to_owned(), secret.expose().to_owned());
        let json = serde_json::to_vec_pretty(&all).map_err(|e| Error::Config(e.to_string()))?;
        write_private(&path, &json)
    }

    /// A notification secret kept for a profile, if any.
    pub fn notify_secret(&self, name: &str, which: NotifySecret) -> Result<Option<Secret>> {
        let path = self.notify_path(name);
        let Some(text) = read_private(&path, "a secret")? else {
            return Ok(None);
        };
        let all: std::collections::BTreeMap<String, String> = serde_json::from_str(&text)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        Ok(all.get(which.key()).map(|s| Secret::new(s.clone())))
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
        let password = read_private(&self.secret_path(name), "a password")?.map(Secret::new);
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
        remove_if_present(&self.notify_path(name))?;
        Ok(existed)
    }
}

/// The notification secrets a profile may keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifySecret {
    /// A Telegram bot's token.
    TelegramToken,
    /// A Slack incoming webhook's URL.
    SlackWebhook,
}

impl NotifySecret {
    fn key(self) -> &'static str {
        match self {
            NotifySecret::TelegramToken => "telegram_token",
            NotifySecret::SlackWebhook => "slack_webhook_url",
        }
    }
}

/// A private file's text; `None` when there is none. A file that group or
/// others can read is refused: it holds `what`.
fn read_private(path: &Path, what: &str) -> Result<Option<String>> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(None);
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::Config(format!(
            "{} holds {what} and is readable by others (mode {mode:o}); run: chmod 600 {}",
            path.display(),
            path.display()
        )));
    }
    std::fs::read_to_string(path)
        .map(Some)
        .map_err(|e| Error::io(path, e))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::tests::temp;

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
}
