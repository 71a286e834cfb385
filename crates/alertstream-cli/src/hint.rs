//! What to do about an error, in the command line's words: the settings
//! the library says could get past it, as flags, and the fixes that no
//! setting gives (a full disk).

use alertstream::error::{Limit, Setting};

/// The flag (and its value's name) that gives a setting.
pub fn flag(setting: Setting) -> &'static str {
    match setting {
        Setting::Format => "--format FORMAT",
        Setting::SchemaFile => "--schema FILE",
        Setting::SchemaDir => "--schema-dir DIR",
        Setting::SchemaRegistry => "--schema-registry URL",
        Setting::SchemaId => "--schema-id N",
        Setting::Servers => "--servers HOST:PORT",
        Setting::Credentials => "--username NAME and --password-stdin (or ALERTSTREAM_PASSWORD)",
        Setting::CaLocation => "--ssl-ca-location FILE",
        Setting::InstanceId => {
            "--instance-id ID (static membership: a restart gets its partitions back at once)"
        }
        Setting::Group => "--group NAME",
        Setting::Limit(Limit::MaxInflated) => "--max-inflated-mb MB",
        Setting::Limit(Limit::MaxDepth) => "--max-depth N",
        Setting::Limit(Limit::MaxGzipLayers) => "--max-gzip-layers N",
        Setting::Limit(Limit::MaxBlockBytes) => "--max-block-mb MB",
        _ => "the matching option (see --help)",
    }
}

/// The hint line for an error, if there is one.
pub fn for_error(e: &anyhow::Error) -> Option<String> {
    if let Some(fix) = fix_without_setting(e) {
        return Some(fix.to_owned());
    }
    e.chain()
        .find_map(|c| c.downcast_ref::<alertstream::Error>())
        .and_then(for_library_error)
}

/// The flags that could get past a library error, if any.
pub fn for_library_error(e: &alertstream::Error) -> Option<String> {
    let settings = Some(e.settings()).filter(|s| !s.is_empty())?;
    let flags: Vec<&str> = settings.into_iter().map(flag).collect();
    Some(format!("hint: pass {}", flags.join(", or ")))
}

/// An error message followed by its hint, on one line.
pub fn with_hint(e: &alertstream::Error) -> String {
    match for_library_error(e) {
        Some(hint) => format!("{e}; {hint}"),
        None => e.to_string(),
    }
}

fn fix_without_setting(e: &anyhow::Error) -> Option<&'static str> {
    let io_kind = e
        .chain()
        .find_map(|c| c.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    match io_kind {
        Some(std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded) => Some(
            "the disk is full: free some space or save to another folder, then run the same \
             command again. Alerts that were not durably saved were not committed: the broker \
             delivers them again.",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_said_as_flags() {
        let e = anyhow::Error::new(alertstream::Error::SchemaNotFound {
            id: 1100,
            looked: "nowhere".into(),
        });
        assert_eq!(
            for_error(&e).unwrap(),
            "hint: pass --schema-dir DIR, or --schema-registry URL"
        );
        let e = anyhow::Error::new(alertstream::Error::NoCaBundle {
            looked: "/etc/ssl".into(),
        });
        assert_eq!(for_error(&e).unwrap(), "hint: pass --ssl-ca-location FILE");
        let e = anyhow::Error::new(alertstream::Error::LimitExceeded {
            limit: Limit::MaxGzipLayers,
            what: "gzip inside gzip".into(),
            allowed: "2 layers".into(),
        });
        assert_eq!(for_error(&e).unwrap(), "hint: pass --max-gzip-layers N");
    }
}
