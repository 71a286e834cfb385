//! A folder of saved alerts as the web view lists it: a row per file,
//! listed at once (newest saved first), filled in by decoding on a thread
//! of its own, and kept up to date while a stream saves more.

use crate::decode::parallel::map_ordered;
use crate::decode::{Decoder, DecoderOptions};
use crate::error::Result;
use crate::model::alert::{Alert, MATCH_FIELDS};
use crate::model::portal::{classification, url_segment};
use crate::model::summary::Summary;
use crate::select::Filter;
use serde::Serialize;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime};

/// How often the folder is looked at for new alerts.
pub const RESCAN_EVERY: Duration = Duration::from_secs(1);
/// A folder modified this recently is listed again at the next look (file
/// systems keep times with a grain of up to a second or two).
const RECENT: Duration = Duration::from_secs(3);
/// Files decoded together while indexing.
const CHUNK: usize = 512;
/// The file extensions of saved alerts: a file each...
const ALERT_EXTENSIONS: [&str; 2] = ["avro", "json"];
/// ...or rows of a table.
const TABLE_EXTENSION: &str = "parquet";

/// A row to decode: its position in the index, its file, its row number
/// in a Parquet file.
type Todo = (usize, PathBuf, Option<usize>);

/// One saved alert, as the list shows it (100,000 of them fit in a few
/// tens of MB: URLs and paths are made when asked for).
#[derive(Debug, Clone)]
pub struct Row {
    /// The file's path under the folder (`#<row>` after a Parquet file's):
    /// the alert's id in the view.
    pub id: String,
    /// The row number, for a row of a Parquet file.
    pub part: Option<usize>,
    /// When the file was saved, in nanoseconds since the Unix epoch.
    pub saved: u128,
    /// The observation time (seconds since the Unix epoch), once decoded.
    pub observed: Option<f64>,
    /// Decoded (false while indexing; the file name stands in).
    pub decoded: bool,
    pub object_id: Option<String>,
    pub alert_id: Option<String>,
    pub survey: &'static str,
    pub topic: Option<String>,
    pub time_utc: Option<String>,
    pub band: Option<String>,
    pub mag: Option<f64>,
    pub flux_njy: Option<f64>,
    pub class: Option<String>,
    pub matches: Vec<String>,
    pub probdensity: Option<f64>,
    /// It carries a science cutout (a thumbnail).
    pub science: bool,
}

impl Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let url = url_segment(&self.id);
        let mut map = s.serialize_map(Some(14))?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("object_id", &self.object_id)?;
        map.serialize_entry("alert_id", &self.alert_id)?;
        map.serialize_entry("survey", self.survey)?;
        map.serialize_entry("topic", &self.topic)?;
        map.serialize_entry("time_utc", &self.time_utc)?;
        map.serialize_entry("band", &self.band)?;
        map.serialize_entry("mag", &self.mag)?;
        map.serialize_entry("flux_njy", &self.flux_njy)?;
        map.serialize_entry("class", &self.class)?;
        map.serialize_entry("matches", &self.matches)?;
        map.serialize_entry("probdensity", &self.probdensity)?;
        let thumbnail = self.science.then(|| format!("/alerts/{url}/thumb.png"));
        map.serialize_entry("thumbnail", &thumbnail)?;
        map.serialize_entry("picture", &format!("/alerts/{url}/picture.svg"))?;
        map.end()
    }
}

impl Row {
    fn listed(id: String, path: &Path, part: Option<usize>, saved: u128) -> Row {
        // Until decoded, the file name stands in for the object (fink layout:
        // <objectId>_<candid>.avro).
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let object = stem
            .split('_')
            .next()
            .filter(|s| !s.is_empty() && part.is_none())
            .map(str::to_owned);
        Row {
            id,
            part,
            saved,
            observed: None,
            decoded: false,
            object_id: object,
            alert_id: None,
            survey: "unknown",
            topic: None,
            time_utc: None,
            band: None,
            mag: None,
            flux_njy: None,
            class: None,
            matches: Vec::new(),
            probdensity: None,
            science: false,
        }
    }

    fn fill(&mut self, alert: &Alert) {
        let summary = Summary::of(alert);
        let record = alert.record();
        self.decoded = true;
        self.object_id = alert
            .object_id()
            .map(|i| i.to_string())
            .or(self.object_id.take());
        self.alert_id = alert.alert_id().map(|i| i.to_string());
        self.survey = alert.survey().name();
        self.observed = alert.time().map(|t| t.unix_seconds());
        self.time_utc = summary.time_utc;
        self.band = summary.band;
        self.mag = summary.mag;
        self.flux_njy = summary.flux_njy;
        self.class = classification(alert);
        // Saved JSON and tables carry what the selection found.
        self.matches = match record.get(MATCH_FIELDS[0]) {
            Some(list) => list
                .items()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
            None => Vec::new(),
        };
        self.probdensity = record.get(MATCH_FIELDS[1]).and_then(|d| d.as_f64());
        if summary.cutouts.contains(&"science") {
            self.science = true;
        }
    }
}

/// What the folder holds; see the module documentation.
pub struct Index {
    dir: PathBuf,
    decoder: Decoder,
    state: RwLock<State>,
}

#[derive(Default)]
struct State {
    rows: Vec<Row>,
    by_id: HashMap<String, usize>,
    /// Each folder's modification time when last listed: an unchanged
    /// folder has no new file.
    folders: HashMap<PathBuf, SystemTime>,
    complete: bool,
    /// Grows with every alert added.
    newest: u64,
    /// The last filter asked for, and its verdict per row (by position).
    filtered: Option<(String, Vec<Option<bool>>)>,
}

impl Index {
    /// Lists `dir` and starts indexing it (and watching it) on a thread.
    pub fn open(dir: &Path) -> Result<Arc<Index>> {
        let index = Arc::new(Index {
            dir: dir.to_path_buf(),
            decoder: Decoder::new(DecoderOptions::default())?,
            state: RwLock::new(State::default()),
        });
        index.rescan();
        let worker = Arc::downgrade(&index);
        std::thread::Builder::new()
            .name("serve-index".into())
            .spawn(move || {
                if let Some(index) = worker.upgrade() {
                    index.decode_pending();
                    index.write().complete = true;
                }
                loop {
                    std::thread::sleep(RESCAN_EVERY);
                    let Some(index) = worker.upgrade() else {
                        return;
                    };
                    if index.rescan() > 0 {
                        index.decode_pending();
                    }
                }
            })
            .map_err(|e| crate::error::Error::io(dir, e))?;
        Ok(index)
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds the files saved since the last look; returns how many.
    fn rescan(&self) -> usize {
        let known = self.read().folders.clone();
        let now = SystemTime::now();
        let mut folders = HashMap::new();
        let mut found = Vec::new();
        let mut pending = vec![self.dir.clone()];
        while let Some(folder) = pending.pop() {
            let Ok(meta) = std::fs::metadata(&folder) else {
                continue;
            };
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            // A folder changed within the clock's grain may change again
            // with the same time: looked at again until it is older.
            let recent = now
                .duration_since(modified)
                .map_or(true, |age| age < RECENT);
            let changed = recent || known.get(&folder) != Some(&modified);
            folders.insert(folder.clone(), modified);
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                // _quarantine, _undelivered, hidden files and files being
                // written (durable::TMP_PREFIX starts with a dot).
                if name.starts_with('_') || name.starts_with('.') {
                    continue;
                }
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    pending.push(entry.path());
                } else if changed && kind.is_file() && is_alert_file(&entry.path()) {
                    found.push(entry.path());
                }
            }
        }
        // Which files are new is decided under a read lock; they are looked
        // at with no lock held; the rows are added under a short write lock.
        let new: Vec<(String, PathBuf)> = {
            let state = self.read();
            found
                .into_iter()
                .filter_map(|path| {
                    let id = path.strip_prefix(&self.dir).ok()?.to_str()?.to_owned();
                    // A Parquet file is renamed into place whole: known by its first row.
                    let key = if is_table(&path) {
                        format!("{id}#0")
                    } else {
                        id.clone()
                    };
                    (!state.by_id.contains_key(&key)).then_some((id, path))
                })
                .collect()
        };
        let mut added = Vec::new();
        for (id, path) in new {
            let saved = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            if is_table(&path) {
                let rows = super::parquet::row_count(&path).unwrap_or(0);
                added.extend(
                    (0..rows).map(|k| Row::listed(format!("{id}#{k}"), &path, Some(k), saved)),
                );
            } else {
                added.push(Row::listed(id, &path, None, saved));
            }
        }
        let mut state = self.write();
        state.folders = folders;
        added.retain(|r| !state.by_id.contains_key(&r.id));
        added.sort_by_key(|r| r.saved);
        let count = added.len();
        for row in added {
            let at = state.rows.len();
            state.by_id.insert(row.id.clone(), at);
            state.rows.push(row);
        }
        state.newest += count as u64;
        count
    }

    /// Decodes the rows not decoded yet, newest first.
    fn decode_pending(&self) {
        let mut todo: Vec<Todo> = {
            let state = self.read();
            state
                .rows
                .iter()
                .enumerate()
                .filter(|(_, r)| !r.decoded)
                .map(|(i, r)| (i, self.file_of(r), r.part))
                .collect()
        };
        todo.reverse();
        for chunk in todo.chunks(CHUNK) {
            let mut decoded = Vec::with_capacity(chunk.len());
            self.each_alert(chunk, |i, alert| decoded.push((i, alert)));
            let mut state = self.write();
            for (i, alert) in decoded {
                if let Some(row) = state.rows.get_mut(i) {
                    match alert {
                        Some(alert) => row.fill(&alert),
                        None => row.decoded = true,
                    }
                }
            }
        }
    }

    /// Decodes the rows of `todo`: files on every core, the rows of a
    /// Parquet file in one pass over it.
    fn each_alert(&self, todo: &[Todo], mut each: impl FnMut(usize, Option<Alert>)) {
        let (tables, files): (Vec<&Todo>, Vec<&Todo>) = todo.iter().partition(|t| t.2.is_some());
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        map_ordered(
            &files,
            threads,
            |(i, path, _)| (*i, self.file_alert(path)),
            |(i, alert)| {
                each(i, alert);
                ControlFlow::Continue(())
            },
        );
        let mut by_file: HashMap<&Path, Vec<(usize, usize)>> = HashMap::new();
        for (i, path, part) in tables {
            if let Some(k) = part {
                by_file.entry(path.as_path()).or_default().push((*k, *i));
            }
        }
        for (path, mut rows) in by_file {
            rows.sort_unstable();
            let numbers: Vec<usize> = rows.iter().map(|(k, _)| *k).collect();
            let position: HashMap<usize, usize> = rows.into_iter().collect();
            let read = super::parquet::each_row(&self.decoder, path, &numbers, |k, alert| {
                if let Some(&i) = position.get(&k) {
                    each(i, alert);
                }
            });
            if let Err(e) = read {
                log::warn!("{e}");
            }
        }
    }

    /// The first alert of a saved file (`None` if it cannot be read).
    fn file_alert(&self, path: &Path) -> Option<Alert> {
        self.decoder
            .decode_file(path)
            .into_result()
            .ok()?
            .into_iter()
            .next()
    }

    /// The alert of a row (`None` if it cannot be read).
    pub fn alert(&self, row: &Row) -> Option<Alert> {
        let mut found = None;
        self.each_alert(&[(0, self.file_of(row), row.part)], |_, alert| {
            found = alert
        });
        found
    }

    /// The file that holds a row: its id under the folder, without `#<row>`.
    fn file_of(&self, row: &Row) -> PathBuf {
        let file = match row.part {
            Some(_) => row.id.rsplit_once('#').map_or(row.id.as_str(), |(f, _)| f),
            None => &row.id,
        };
        self.dir.join(file)
    }

    /// The row and file of an id the index knows; nothing else is ever read.
    pub fn get(&self, id: &str) -> Option<Row> {
        let state = self.read();
        state
            .by_id
            .get(id)
            .and_then(|&i| state.rows.get(i))
            .cloned()
    }

    /// `(count, newest, complete)`.
    pub fn status(&self) -> (usize, u64, bool) {
        let state = self.read();
        (state.rows.len(), state.newest, state.complete)
    }

    /// The other alerts of an object, newest first.
    pub fn of_object(&self, object: &str, except: &str) -> Vec<Row> {
        let state = self.read();
        let mut rows: Vec<Row> = state
            .rows
            .iter()
            .filter(|r| r.object_id.as_deref() == Some(object) && r.id != except)
            .cloned()
            .collect();
        rows.sort_by(|a, b| time_key(b).total_cmp(&time_key(a)));
        rows
    }

    /// A page of rows: searched, filtered, sorted; with the number matching.
    pub fn page(&self, query: &Query) -> Result<(usize, Vec<Row>)> {
        let verdicts = match query.filter.as_deref().filter(|w| !w.trim().is_empty()) {
            Some(text) => Some(self.verdicts(text)?),
            None => None,
        };
        let state = self.read();
        let needle = query.search.as_deref().unwrap_or("").trim().to_lowercase();
        let mut rows: Vec<&Row> = state
            .rows
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                verdicts
                    .as_ref()
                    .is_none_or(|v| v.get(*i).copied().flatten() == Some(true))
            })
            .map(|(_, r)| r)
            .filter(|r| {
                needle.is_empty()
                    || r.object_id
                        .as_deref()
                        .unwrap_or(&r.id)
                        .to_lowercase()
                        .contains(&needle)
            })
            .collect();
        match query.sort {
            SortBy::Time => rows.sort_by(|a, b| time_key(a).total_cmp(&time_key(b))),
            SortBy::Brightness => {
                rows.sort_by(|a, b| brightness_key(a).total_cmp(&brightness_key(b)))
            }
            SortBy::Class => rows.sort_by(|a, b| a.class.cmp(&b.class)),
        }
        if query.descending {
            rows.reverse();
        }
        let total = rows.len();
        let page = rows
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .cloned()
            .collect();
        Ok((total, page))
    }

    /// Whether each row passes the filter, computed once per filter text
    /// and only for rows added since.
    fn verdicts(&self, text: &str) -> Result<Vec<Option<bool>>> {
        let filter = Filter::parse(text)?;
        let (mut verdicts, todo): (Vec<Option<bool>>, Vec<Todo>) = {
            let state = self.read();
            let mut verdicts = match &state.filtered {
                Some((t, v)) if t == text => v.clone(),
                _ => Vec::new(),
            };
            verdicts.resize(state.rows.len(), None);
            let todo = state
                .rows
                .iter()
                .enumerate()
                .filter(|(i, _)| verdicts[*i].is_none())
                .map(|(i, r)| (i, self.file_of(r), r.part))
                .collect();
            (verdicts, todo)
        };
        self.each_alert(&todo, |i, alert| {
            verdicts[i] = Some(alert.is_some_and(|a| filter.test(&a).unwrap_or(false)));
        });
        self.write().filtered = Some((text.to_owned(), verdicts.clone()));
        Ok(verdicts)
    }
}

/// What the list asks for.
#[derive(Debug, Clone)]
pub struct Query {
    pub sort: SortBy,
    pub descending: bool,
    pub search: Option<String>,
    pub filter: Option<String>,
    pub offset: usize,
    pub limit: usize,
}

/// The orders of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    /// The observation time (while indexing, the time saved).
    Time,
    /// Magnitude, or flux for surveys that give fluxes.
    Brightness,
    Class,
}

fn time_key(row: &Row) -> f64 {
    // The saved time until decoded.
    row.observed.unwrap_or(row.saved as f64 / 1e9)
}

fn brightness_key(row: &Row) -> f64 {
    row.mag.or(row.flux_njy).unwrap_or(f64::INFINITY)
}

fn extension(path: &Path) -> &str {
    path.extension().and_then(|e| e.to_str()).unwrap_or("")
}

fn is_table(path: &Path) -> bool {
    extension(path) == TABLE_EXTENSION
}

fn is_alert_file(path: &Path) -> bool {
    ALERT_EXTENSIONS.contains(&extension(path)) || is_table(path)
}
