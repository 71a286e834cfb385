//! Human views of alerts: the one-line summary behind `inspect` (as a table
//! row or as JSON) and the line `consume --display` prints.

use crate::model::alert::{Alert, Brightness, Cutout, Id};
use crate::model::time::format_unix_utc;
use serde::Serialize;

/// The survey-independent facts of one alert.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub object_id: Option<IdJson>,
    pub alert_id: Option<IdJson>,
    pub time_utc: Option<String>,
    /// The time as the survey gives it, with `time_scale`.
    pub time: Option<f64>,
    pub time_scale: Option<&'static str>,
    pub ra: Option<f64>,
    pub dec: Option<f64>,
    pub band: Option<String>,
    pub mag: Option<f64>,
    pub mag_err: Option<f64>,
    pub flux_njy: Option<f64>,
    pub flux_err_njy: Option<f64>,
    pub previous_detections: usize,
    pub cutouts: Vec<&'static str>,
    pub format: &'static str,
}

/// An id serialized as a JSON integer or string.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum IdJson {
    Int(i64),
    Text(String),
}

impl From<Id> for IdJson {
    fn from(id: Id) -> Self {
        match id {
            Id::Int(i) => IdJson::Int(i),
            Id::Text(s) => IdJson::Text(s),
        }
    }
}

impl Summary {
    pub fn of(alert: &Alert) -> Self {
        let time = alert.time();
        let brightness = alert.brightness();
        let (mag, mag_err, flux, flux_err) = match brightness {
            Some(Brightness::Magnitude { mag, err }) => (Some(mag), err, None, None),
            Some(Brightness::FluxNjy { flux, err }) => (None, None, Some(flux), err),
            None => (None, None, None, None),
        };
        Summary {
            object_id: alert.object_id().map(Into::into),
            alert_id: alert.alert_id().map(Into::into),
            time_utc: time.map(|t| t.to_utc_string()),
            time: time.map(|t| t.value),
            time_scale: time.map(|t| t.scale_name()),
            ra: alert.ra(),
            dec: alert.dec(),
            band: alert.band(),
            mag,
            mag_err,
            flux_njy: flux,
            flux_err_njy: flux_err,
            previous_detections: alert.previous_detections(),
            cutouts: Cutout::ALL
                .into_iter()
                .filter(|&c| alert.cutout_raw(c).is_some())
                .map(Cutout::name)
                .collect(),
            format: alert.format().name(),
        }
    }
}

/// Column header of the `inspect` table (OBJECT fits Rubin's 19-digit ids).
pub fn table_header() -> String {
    format!(
        "{:<19} {:>20} {:<24} {:>10} {:>10} {:<4} {:>22} {:>4} {:<7}",
        "OBJECT", "ALERT", "TIME (UTC)", "RA", "DEC", "BAND", "MAG / FLUX", "PREV", "CUTOUTS"
    )
}

/// One row of the `inspect` table.
pub fn table_row(s: &Summary) -> String {
    let id = |i: &Option<IdJson>| match i {
        Some(IdJson::Int(v)) => v.to_string(),
        Some(IdJson::Text(t)) => t.clone(),
        None => "-".to_owned(),
    };
    let num = |v: Option<f64>, digits: usize| v.map_or("-".to_owned(), |v| format!("{v:.digits$}"));
    let brightness = match (s.mag, s.flux_njy) {
        (Some(m), _) => format!("{m:.3}±{} mag", num(s.mag_err, 3)),
        (None, Some(f)) => format!("{f:.1}±{} nJy", num(s.flux_err_njy, 1)),
        _ => "-".to_owned(),
    };
    let cutouts: String = s
        .cutouts
        .iter()
        .map(|c| c[..1].to_ascii_uppercase())
        .collect();
    format!(
        "{:<19} {:>20} {:<24} {:>10} {:>10} {:<4} {:>22} {:>4} {:<7}",
        id(&s.object_id),
        id(&s.alert_id),
        s.time_utc.as_deref().unwrap_or("-"),
        num(s.ra, 5),
        num(s.dec, 5),
        s.band.as_deref().unwrap_or("-"),
        brightness,
        s.previous_detections,
        if cutouts.is_empty() {
            "-".to_owned()
        } else {
            cutouts
        },
    )
}

/// Fink's added-value fields worth showing next to an alert, when present.
const FINK_FIELDS: [&str; 9] = [
    "finkclass",
    "tnsclass",
    "cdsxmatch",
    "roid",
    "mulens",
    "rf_snia_vs_nonia",
    "snn_snia_vs_nonia",
    "rf_kn_vs_nonkn",
    "fink_class",
];

/// The `consume --display` line: `emitted  received  topic  object  alert
/// brightness  [fink fields]`, `received` in seconds since the Unix epoch.
pub fn display_line(alert: &Alert, received: f64) -> String {
    let dash = || "-".to_owned();
    let mut line = format!(
        "{:<24} {:<24} {:<16} {:<14} {:>20} {}",
        alert.time().map_or_else(dash, |t| t.to_utc_string()),
        format_unix_utc(received),
        alert.kafka().map_or_else(dash, |k| k.topic.clone()),
        alert.object_id().map_or_else(dash, |i| i.to_string()),
        alert.alert_id().map_or_else(dash, |i| i.to_string()),
        alert.brightness().map_or_else(dash, |b| b.to_string()),
    );
    let record = alert.record();
    for name in FINK_FIELDS {
        if let Some(v) = record.get(name).filter(|v| !v.is_null()) {
            let text = v
                .as_str()
                .map(str::to_owned)
                .or_else(|| v.as_f64().map(|f| format!("{f:.3}")));
            if let Some(text) = text {
                line += &format!(" {name}={text}");
            }
        }
    }
    line
}
