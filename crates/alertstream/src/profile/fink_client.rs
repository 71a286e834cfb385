//! fink-client's own credential files, read as a profile when none was
//! registered with alertstream.

use super::Profile;
use crate::error::{Error, Result};
use crate::kafka::security::Secret;
use std::path::Path;

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
    use crate::profile::tests::temp;

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
