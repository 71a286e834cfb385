//! Fink's Data Transfer (and cross-match) topics: their writer schema is
//! on a companion `<topic>_schema` topic, read without a commit and cached
//! (a later run works after the companion expired); and whether a run read
//! every partition to its end, for the user to resume if not.

use crate::error::{kafka, Error, Result};
use crate::kafka::admin::{lag, partitions};
use crate::kafka::connection::{Connection, ErrorContext, ErrorLog};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::path::{Path, PathBuf};

/// The suffix of the topic that carries a Fink Data Transfer topic's writer
/// schema (in the key of its message).
pub const SCHEMA_TOPIC_SUFFIX: &str = "_schema";

/// Fink Data Transfer and cross-match topics, whose writer schema is on a
/// companion topic rather than in each message's key.
pub fn has_companion_schema(topic: &str) -> bool {
    topic.starts_with("ftransfer_") || topic.starts_with("fxmatch_")
}

/// The writer schema of a Fink Data Transfer topic: the key of the first
/// message of `<topic>_schema`, read from the beginning without a group
/// commit (a re-run finds it again, whatever its group did).
pub fn companion_schema(conn: &Connection, topic: &str) -> Result<String> {
    let companion = format!("{topic}{SCHEMA_TOPIC_SUFFIX}");
    let client = conn.open::<BaseConsumer<ErrorContext>, _>(
        &[
            ("group.id", "alertstream-schema-reader"),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("client.id", "alertstream-schema-reader"),
        ],
        || ErrorContext(ErrorLog::default()),
        std::slice::from_ref(&companion),
    )?;
    let mut assignment = TopicPartitionList::new();
    for (name, partition) in partitions(&client, conn, std::slice::from_ref(&companion))? {
        assignment
            .add_partition_offset(&name, partition, Offset::Beginning)
            .map_err(kafka("cannot read the schema topic"))?;
    }
    client
        .assign(&assignment)
        .map_err(kafka(format!("cannot read {companion}")))?;
    let deadline = std::time::Instant::now() + conn.connect_timeout;
    let missing = || {
        Error::Config(format!(
            "{companion} holds no schema (no message with a key within {} s): the Data \
         Transfer job may have expired; give the schema as a file instead",
            conn.connect_timeout.as_secs()
        ))
    };
    while std::time::Instant::now() < deadline {
        let Some(message) = client.poll(std::time::Duration::from_millis(200)) else {
            continue;
        };
        let message = message.map_err(kafka(format!("cannot read {companion}")))?;
        if let Some(key) = rdkafka::Message::key(&message) {
            return String::from_utf8(key.to_vec()).map_err(|_| {
                Error::Config(format!(
                    "the key of {companion}'s message is not a JSON schema"
                ))
            });
        }
    }
    Err(missing())
}

/// Where the schemas of Data Transfer topics are cached:
/// `$XDG_CACHE_HOME/alertstream/schemas` (else `~/.cache/...`).
pub fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("alertstream").join("schemas")
}

/// The writer schema file of the Data Transfer topics among `topics`
/// (`None` when there is none): each one's companion read and cached in
/// `cache` as `<topic>.avsc`; a companion that cannot be read falls back to
/// its cached copy (with a warning). Topics with different schemas are an
/// error: one schema decodes a run.
pub fn schema_file(conn: &Connection, topics: &[String], cache: &Path) -> Result<Option<PathBuf>> {
    let transfers: Vec<&String> = topics.iter().filter(|t| has_companion_schema(t)).collect();
    let Some(first) = transfers.first() else {
        return Ok(None);
    };
    let mut texts = Vec::new();
    for topic in &transfers {
        let cached = cache.join(format!("{topic}.avsc"));
        let text = match companion_schema(conn, topic) {
            Ok(text) => {
                std::fs::create_dir_all(cache).map_err(|e| Error::io(cache, e))?;
                crate::durable::write_atomically(&cached, text.as_bytes())?;
                text
            }
            Err(e) if cached.exists() => {
                log::warn!("{e}; using the schema cached in {}", cached.display());
                std::fs::read_to_string(&cached).map_err(|e| Error::io(&cached, e))?
            }
            Err(e) => return Err(e),
        };
        texts.push(text);
    }
    if texts.windows(2).any(|pair| pair[0] != pair[1]) {
        return Err(Error::Config(
            "these Data Transfer topics have different schemas: consume them in separate runs"
                .into(),
        ));
    }
    Ok(Some(cache.join(format!("{first}.avsc"))))
}

/// What a group left unread of Data Transfer topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    /// The Data Transfer topics looked at.
    pub topics: Vec<String>,
    /// Messages not read yet...
    pub messages: i64,
    /// ...in this many partitions (0: every partition read to its end).
    pub partitions: usize,
}

/// After a run: what `group` left unread of the Data Transfer topics among
/// `topics` (`None` when there is none).
pub fn unread(conn: &Connection, group: &str, topics: &[String]) -> Result<Option<Unread>> {
    let transfers: Vec<String> = topics
        .iter()
        .filter(|t| has_companion_schema(t))
        .cloned()
        .collect();
    if transfers.is_empty() {
        return Ok(None);
    }
    let rows = lag(conn, group, &transfers)?;
    Ok(Some(Unread {
        messages: rows.iter().map(|r| r.lag).sum(),
        partitions: rows.iter().filter(|r| r.lag > 0).count(),
        topics: transfers,
    }))
}
