//! Where the Parquet sink's files go and what their names say: the Hive
//! partition folders (`topic=`, `date=`, `class=`), and the
//! `<partition>-<first>-<last>.parquet` names that tell, at start, which
//! offsets are already on disk.

use crate::durable::file_name_part;
use crate::error::{Error, Result};
use crate::model::alert::{Alert, KafkaMeta};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A topic and partition.
pub(super) type Stream = (String, i32);

/// How files are grouped into folders that readers see as columns (Hive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionBy {
    /// `topic=<topic>/` instead of `<topic>/`: the topic becomes a column.
    Topic,
    /// `date=YYYY-MM-DD/`: the observation's UTC date.
    Date,
    /// `class=<C>/`: Fink's classification (`finkclass`, `classification`).
    Class,
}

crate::names::named!(PartitionBy, "partitioning", {
    PartitionBy::Topic => "topic",
    PartitionBy::Date => "date",
    PartitionBy::Class => "class",
});

/// The classification fields that partitioning by class looks for.
pub const CLASS_FIELDS: [&str; 3] = ["finkclass", "classification", "class"];
/// Hive's name for a partition whose value is missing.
const NO_VALUE: &str = "__HIVE_DEFAULT_PARTITION__";

/// The offsets a durable file holds: `first..=last` of one Kafka partition,
/// for the alerts of its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Range {
    pub first: i64,
    pub last: i64,
    pub folder: PathBuf,
}

/// The durable files of one Kafka partition, and the highest offset they
/// hold: an alert past it (every alert, once the stream runs) is new
/// without looking at the files one by one.
#[derive(Debug, Default)]
pub(super) struct OnDisk {
    ranges: Vec<Range>,
    highest: i64,
}

impl OnDisk {
    pub fn add(&mut self, range: Range) {
        self.highest = self.highest.max(range.last);
        self.ranges.push(range);
    }

    pub fn holds(&self, offset: i64, folder: &Path) -> bool {
        offset <= self.highest
            && self
                .ranges
                .iter()
                .any(|r| r.folder == folder && (r.first..=r.last).contains(&offset))
    }
}

/// An alert's folder under the sink's: its topic, then the partition values.
pub(super) fn folder_for(alert: &Alert, meta: &KafkaMeta, by: &[PartitionBy]) -> PathBuf {
    let mut folder = PathBuf::from(if by.contains(&PartitionBy::Topic) {
        format!("topic={}", hive_value(&meta.topic))
    } else {
        file_name_part(&meta.topic)
    });
    for p in by {
        match p {
            PartitionBy::Topic => {}
            PartitionBy::Date => folder.push(format!("date={}", utc_date(alert))),
            PartitionBy::Class => folder.push(format!("class={}", class_of(alert))),
        }
    }
    folder
}

/// A partition value as a folder name: Hive escapes `/`, `=`, `%` and the
/// like as `%XX`.
fn hive_value(value: &str) -> String {
    if value.is_empty() {
        return NO_VALUE.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_ascii_alphanumeric() || "-_. ".contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn utc_date(alert: &Alert) -> String {
    match alert.time() {
        Some(t) => {
            let iso = t.to_utc_string();
            iso.get(..10).unwrap_or(NO_VALUE).to_owned()
        }
        None => NO_VALUE.to_owned(),
    }
}

fn class_of(alert: &Alert) -> String {
    let record = alert.record();
    let class = CLASS_FIELDS
        .iter()
        .find_map(|f| record.get(f).and_then(|d| d.as_str()).map(str::to_owned));
    match class {
        Some(c) => hive_value(&c),
        None => NO_VALUE.to_owned(),
    }
}

/// `<partition>-<first>-<last>.parquet` as numbers.
fn parse_name(name: &str) -> Option<(i32, i64, i64)> {
    let stem = name.strip_suffix(".parquet")?;
    let mut parts = stem.splitn(3, '-');
    let partition = parts.next()?.parse().ok()?;
    let first = parts.next()?.parse().ok()?;
    let last = parts.next()?.parse().ok()?;
    Some((partition, first, last))
}

/// The offsets that the Parquet files under `dir` hold, from their names.
pub(super) fn files_on_disk(dir: &Path) -> Result<HashMap<Stream, OnDisk>> {
    let mut found: HashMap<Stream, OnDisk> = HashMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|e| Error::io(&folder, e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let Some((partition, first, last)) = parse_name(&name) else {
                continue;
            };
            let Ok(relative) = folder.strip_prefix(dir) else {
                continue;
            };
            let Some(top) = relative.components().next() else {
                continue;
            };
            let top = top.as_os_str().to_string_lossy();
            let topic = top.strip_prefix("topic=").unwrap_or(&top).to_owned();
            found.entry((topic, partition)).or_default().add(Range {
                first,
                last,
                folder: relative.to_path_buf(),
            });
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_which_offsets_a_file_holds() {
        assert_eq!(parse_name("3-100-250.parquet"), Some((3, 100, 250)));
        assert_eq!(parse_name("3-100.parquet"), None);
        assert_eq!(parse_name("x-1-2.parquet"), None);
        assert_eq!(parse_name("3-100-250.avro"), None);
    }

    #[test]
    fn partition_values_are_escaped_as_hive_does() {
        assert_eq!(hive_value("SN candidate"), "SN candidate");
        assert_eq!(hive_value("a/b=c"), "a%2Fb%3Dc");
        assert_eq!(hive_value(""), NO_VALUE);
    }
}
