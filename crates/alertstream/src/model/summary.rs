//! The survey-neutral facts of one alert in one flat record: what a list
//! of alerts shows (a table row, a JSON object, a notification).

use crate::model::alert::{Alert, Brightness, Cutout, Id};
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

/// Fink's added-value fields worth showing next to an alert, when present.
pub const ADDED_VALUE_FIELDS: [&str; 9] = [
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
