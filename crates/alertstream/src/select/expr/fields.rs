//! What the names of an expression read: dotted paths into the record by
//! its writer schema's field names, and, for a name no record field has,
//! the alert model's survey-neutral names (`mag`, `band`, `mjd`...). The
//! resolver remembers which paths were ever found, and the field names of
//! the schemas seen, to name the closest ones when a path never is.

use super::eval::{walk, Scalar};
use crate::model::alert::{Alert, Brightness, Id};
use crate::model::value::Datum;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The survey-neutral names, read from the alert model when the record has
/// no field of that name.
pub const NEUTRAL_NAMES: [&str; 15] = [
    "mag",
    "mag_err",
    "flux",
    "flux_err",
    "band",
    "ra",
    "dec",
    "mjd",
    "time",
    "object_id",
    "alert_id",
    "topic",
    "partition",
    "offset",
    "survey",
];

/// Most record layouts whose field names are kept for suggestions.
const LAYOUTS_KEPT: usize = 32;
/// Nesting followed when listing a record's field names.
const NAME_DEPTH: usize = 3;

/// A survey-neutral value of the alert, `None` when `name` is not one.
pub fn neutral<'a>(name: &str, alert: &'a Alert) -> Option<Scalar<'a>> {
    let float = |v: Option<f64>| v.map_or(Scalar::Null, Scalar::Float);
    let brightness = alert.brightness();
    let id = |id: Option<Id>| match id {
        Some(Id::Int(i)) => Scalar::Int(i),
        Some(Id::Text(t)) => Scalar::Str(Cow::Owned(t)),
        None => Scalar::Null,
    };
    let kafka = alert.kafka();
    Some(match name {
        "mag" | "mag_err" | "flux" | "flux_err" => float(match (name, brightness) {
            ("mag", Some(Brightness::Magnitude { mag, .. })) => Some(mag),
            ("mag_err", Some(Brightness::Magnitude { err, .. })) => err,
            ("flux", Some(Brightness::FluxNjy { flux, .. })) => Some(flux),
            ("flux_err", Some(Brightness::FluxNjy { err, .. })) => err,
            _ => None,
        }),
        "band" => alert
            .band()
            .map_or(Scalar::Null, |b| Scalar::Str(Cow::Owned(b))),
        "ra" => float(alert.ra()),
        "dec" => float(alert.dec()),
        "mjd" | "time" => float(alert.time().map(|t| t.to_mjd_utc())),
        "object_id" => id(alert.object_id()),
        "alert_id" => id(alert.alert_id()),
        "topic" => kafka.map_or(Scalar::Null, |k| Scalar::Str(Cow::Borrowed(&k.topic))),
        "partition" => kafka.map_or(Scalar::Null, |k| Scalar::Int(k.partition.into())),
        "offset" => kafka.map_or(Scalar::Null, |k| Scalar::Int(k.offset)),
        "survey" => Scalar::Str(Cow::Borrowed(alert.survey().name())),
        _ => return None,
    })
}

/// The paths of an expression, and what was learnt about them.
#[derive(Debug)]
pub struct Resolver {
    paths: Vec<Vec<String>>,
    found: Vec<AtomicBool>,
    warned: Vec<AtomicBool>,
    known: Mutex<Known>,
}

/// Dotted field names of the record layouts seen, the layouts (writer
/// schema and record type) and how many documents were looked at.
type Known = (BTreeSet<String>, BTreeSet<(u64, u32)>, usize);

impl Resolver {
    pub fn new(paths: Vec<Vec<String>>) -> Self {
        let flags = || paths.iter().map(|_| AtomicBool::new(false)).collect();
        Resolver {
            found: flags(),
            warned: flags(),
            paths,
            known: Mutex::default(),
        }
    }

    pub fn path(&self, index: usize) -> &[String] {
        &self.paths[index]
    }

    /// Notes that the path was found (in an array's item).
    pub fn mark_found(&self, index: usize) {
        self.found[index].store(true, Ordering::Relaxed);
    }

    /// The path's value in the alert's record, noting that it was found;
    /// a name no record field has but that is survey-neutral counts as
    /// found too.
    pub fn in_alert<'a>(&self, index: usize, alert: &'a Alert) -> Option<Datum<'a>> {
        let path = &self.paths[index];
        let found = walk(alert.record(), path);
        if found.is_some() || (path.len() == 1 && NEUTRAL_NAMES.contains(&path[0].as_str())) {
            self.found[index].store(true, Ordering::Relaxed);
        } else if !self.found[index].load(Ordering::Relaxed) && !self.is_known(index) {
            self.warn_once(index);
        }
        found
    }

    /// Whether a record seen has the path (as a dotted name).
    fn is_known(&self, index: usize) -> bool {
        let name = self.paths[index].join(".");
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.0.contains(&name)
    }

    /// Keeps the field names of a record layout not seen before.
    pub fn learn(&self, record: Datum<'_>) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        let (names, layouts, documents) = &mut *known;
        match record.record_type() {
            Some(layout) if layouts.contains(&layout) => return,
            Some(layout) if layouts.len() < LAYOUTS_KEPT => {
                layouts.insert(layout);
            }
            None if *documents < LAYOUTS_KEPT => *documents += 1,
            _ => return,
        }
        let mut pending = vec![(String::new(), record, 0)];
        while let Some((prefix, datum, depth)) = pending.pop() {
            let fields: Vec<(&str, Datum<'_>)> = datum.fields().chain(datum.entries()).collect();
            for (name, value) in fields {
                let dotted = if prefix.is_empty() {
                    name.to_owned()
                } else {
                    format!("{prefix}.{name}")
                };
                if depth + 1 < NAME_DEPTH {
                    pending.push((dotted.clone(), value, depth + 1));
                }
                names.insert(dotted);
            }
        }
    }

    fn warn_once(&self, index: usize) {
        if self.warned[index].swap(true, Ordering::Relaxed) {
            return;
        }
        let name = self.paths[index].join(".");
        log::warn!(
            "the filter's field {name} is in no record seen so far{}; it reads as NULL \
             (a field this schema version lacks)",
            self.closest_text(&name)
        );
    }

    /// The known names closest to `name`, as "(closest: a, b, c)".
    fn closest_text(&self, name: &str) -> String {
        let closest = self.closest(name);
        match closest.is_empty() {
            true => String::new(),
            false => format!(" (closest: {})", closest.join(", ")),
        }
    }

    /// Up to three known field names near `name` by edit distance.
    pub fn closest(&self, name: &str) -> Vec<String> {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        let candidates = known.0.iter().map(String::as_str).chain(NEUTRAL_NAMES);
        let mut scored: Vec<(f64, &str)> = candidates
            .map(|k| (strsim::jaro_winkler(name, k), k))
            .filter(|(score, _)| *score > 0.7)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        scored.dedup_by(|a, b| a.1 == b.1);
        scored
            .into_iter()
            .take(3)
            .map(|(_, k)| k.to_owned())
            .collect()
    }

    /// Paths found in no alert, with the closest known names.
    pub fn never_found(&self) -> Vec<(String, Vec<String>)> {
        self.paths
            .iter()
            .zip(&self.found)
            .zip(&self.warned)
            .enumerate()
            .filter(|(i, ((_, found), warned))| {
                !found.load(Ordering::Relaxed)
                    && warned.load(Ordering::Relaxed)
                    && !self.is_known(*i)
            })
            .map(|(_, item)| item)
            .map(|((path, _), _)| {
                let name = path.join(".");
                let closest = self.closest(&name);
                (name, closest)
            })
            .collect()
    }
}
