//! The alert: raw bytes, decoded record, and survey-aware accessors that read
//! the same facts (who, when, where, how bright, history, cutouts) from ZTF,
//! Fink, Rubin/LSST (and ELAsTiCC) and ANTARES records.

use crate::limits::Limits;
use crate::model::format::Format;
use crate::model::schema::WriterSchema;
pub use crate::model::stamp::Cutout;
use crate::model::time::Time;
use crate::model::value::{Datum, Value};
use bytes::Bytes;
use std::fmt;
use std::sync::Arc;

/// One alert.
#[derive(Debug, Clone)]
pub struct Alert {
    format: Format,
    raw: Bytes,
    /// The bytes the record's strings and bytes point into: the Avro block
    /// or message value, or the text collected from a document.
    buf: Bytes,
    /// Where this record's Avro encoding lies in `buf`.
    datum: Option<std::ops::Range<usize>>,
    schema: Option<Arc<WriterSchema>>,
    /// The record's value arena; slot 0 is the record.
    values: Vec<Value>,
    kafka: Option<KafkaMeta>,
    /// Found on first use: every accessor asks for it.
    survey: std::sync::OnceLock<Survey>,
    /// The bounds it was decoded within, which its cutouts are read within too.
    limits: Limits,
    /// What a selection found about it (watchlist targets, sky map density).
    matches: Option<Box<Matches>>,
}

/// The names under which what a selection found is saved (JSON fields,
/// table columns): the watchlist targets, the sky map's density.
pub const MATCH_FIELDS: [&str; 2] = ["watchlist", "skymap_probdensity"];

/// What a selection found about a kept alert: the watchlist targets it lies
/// near, and the sky map's probability density at its position.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Matches {
    /// Names of the watchlist targets within their radius of the alert.
    pub targets: Vec<String>,
    /// The sky map's probability density at the alert's position, per
    /// steradian, when a sky map selected it.
    pub probdensity: Option<f64>,
}

impl Matches {
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.probdensity.is_none()
    }
}

/// Where a consumed alert came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaMeta {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Bytes>,
    /// Broker or producer timestamp, milliseconds since the Unix epoch.
    pub timestamp_ms: Option<i64>,
    /// The message's headers, as received (most alert streams send none).
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// Which survey's layout a record follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Survey {
    /// ZTF alert packets, raw or enriched by Fink.
    Ztf,
    /// Rubin/LSST alert packets (also ELAsTiCC and Fink's LSST alerts).
    Rubin,
    /// ANTARES: 0.x alert dict, 1.x JSON:API locus, 2.x flat locus.
    Antares,
    /// Lasair's LSST rows: a filter's columns (`diaObjectId`, `ra`, `decl`...)
    /// plus `UTC`, and with "lite" or "full" output the light curve in
    /// `alert.diaSourcesList` and `alert.diaForcedSourcesList`.
    Lasair,
    Unknown,
}

impl Survey {
    /// `ztf`, `rubin`, `antares`, `lasair` or `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            Survey::Ztf => "ztf",
            Survey::Rubin => "rubin",
            Survey::Antares => "antares",
            Survey::Lasair => "lasair",
            Survey::Unknown => "unknown",
        }
    }
}

/// An alert or object identifier: numeric for most surveys, text for some.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Id {
    Int(i64),
    Text(String),
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Int(i) => write!(f, "{i}"),
            Id::Text(s) => f.write_str(s),
        }
    }
}

/// `{"error": message}`, escaped: what `to_json` writes for a record that
/// cannot be serialized.
fn error_json(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}

/// A measurement of brightness: ZTF and ANTARES give magnitudes, Rubin fluxes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Brightness {
    /// AB magnitude (ZTF: PSF-fit magnitude `magpsf`, `sigmapsf`).
    Magnitude { mag: f64, err: Option<f64> },
    /// Difference-image PSF flux in nanojansky (Rubin: `psfFlux`, `psfFluxErr`).
    FluxNjy { flux: f64, err: Option<f64> },
}

impl fmt::Display for Brightness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (v, e, unit) = match *self {
            Brightness::Magnitude { mag, err } => (mag, err, "mag"),
            Brightness::FluxNjy { flux, err } => (flux, err, "nJy"),
        };
        match e {
            Some(e) => write!(f, "{v:.3}±{e:.3} {unit}"),
            None => write!(f, "{v:.3} {unit}"),
        }
    }
}

/// One point of a light curve: a detection, or (ZTF) an upper limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub time: Option<Time>,
    pub band: Option<String>,
    /// `None` for a non-detection.
    pub brightness: Option<Brightness>,
    /// Limiting magnitude of a non-detection (ZTF `diffmaglim`).
    pub upper_limit: Option<f64>,
}

impl Alert {
    /// An Avro record decoded from `buf[datum]`.
    pub(crate) fn from_avro(
        format: Format,
        raw: Bytes,
        buf: Bytes,
        datum: std::ops::Range<usize>,
        schema: Arc<WriterSchema>,
        values: Vec<Value>,
    ) -> Self {
        Alert {
            format,
            raw,
            buf,
            datum: Some(datum),
            schema: Some(schema),
            values,
            kafka: None,
            survey: std::sync::OnceLock::new(),
            limits: Limits::default(),
            matches: None,
        }
    }

    pub(crate) fn from_document(
        format: Format,
        raw: Bytes,
        (values, buf): (Vec<Value>, Vec<u8>),
    ) -> Self {
        Alert {
            format,
            raw,
            buf: buf.into(),
            datum: None,
            schema: None,
            values,
            kafka: None,
            survey: std::sync::OnceLock::new(),
            limits: Limits::default(),
            matches: None,
        }
    }

    /// Topic, partition, offset, key and timestamp, for consumed alerts.
    pub fn kafka(&self) -> Option<&KafkaMeta> {
        self.kafka.as_ref()
    }

    /// Tags the alert with where it was consumed from.
    pub fn set_kafka(&mut self, meta: KafkaMeta) {
        self.kafka = Some(meta);
    }

    /// The decoding limits it was read within (its cutouts are read within them).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub(crate) fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// What a selection found about it, if anything.
    pub fn matches(&self) -> Option<&Matches> {
        self.matches.as_deref()
    }

    /// Tags it with what a selection found (nothing: no tag).
    pub fn set_matches(&mut self, matches: Matches) {
        self.matches = (!matches.is_empty()).then(|| Box::new(matches));
    }

    /// The wire format it was decoded from.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The whole payload it came from (message value or file content).
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// This record's Avro binary encoding, for Avro formats.
    pub fn avro_datum(&self) -> Option<Bytes> {
        self.datum.clone().map(|range| self.buf.slice(range))
    }

    /// The alert as a one-record Avro container with its writer schema: what
    /// ZTF sends and what `--save` writes. The sync marker comes from the
    /// schema's fingerprint, so the same alert always gives the same bytes.
    /// `None` for BSON and JSON alerts, which have no Avro schema.
    pub fn to_container(&self) -> Option<Vec<u8>> {
        Some(self.container_parts()?.concat())
    }

    /// [`Alert::to_container`]'s bytes in four parts, for a vectored write
    /// that copies nothing: the file header (shared by all alerts of the
    /// schema), the block prefix, the datum, the sync marker.
    pub fn container_parts(&self) -> Option<[Bytes; 4]> {
        let (schema, datum) = (self.schema.as_ref()?, self.avro_datum()?);
        let prefix = crate::avro::container::block_prefix(1, datum.len());
        Some([
            schema.container_header(),
            prefix.into(),
            datum,
            Bytes::copy_from_slice(&schema.sync_marker()),
        ])
    }

    /// The writer schema, for Avro formats.
    pub fn schema(&self) -> Option<&Arc<WriterSchema>> {
        self.schema.as_ref()
    }

    /// The decoded record, with field access by name.
    pub fn record(&self) -> Datum<'_> {
        Datum::root(&self.values, &self.buf, self.schema.as_deref())
    }

    /// The record as one line of JSON (bytes base64, 64-bit integers exact).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.record()).unwrap_or_else(|e| error_json(&e.to_string()))
    }

    /// The record as JSON, with what a selection found added at its end
    /// ([`MATCH_FIELDS`]) when it found something.
    pub fn to_json_with_matches(&self) -> String {
        let mut json = self.to_json();
        let Some(m) = self.matches() else {
            return json;
        };
        if !json.ends_with('}') {
            return json;
        }
        json.pop();
        let mut sep = if json.ends_with('{') { "" } else { "," };
        if !m.targets.is_empty() {
            let names = serde_json::to_string(&m.targets).unwrap_or_else(|_| "[]".into());
            json += &format!("{sep}\"{}\":{names}", MATCH_FIELDS[0]);
            sep = ",";
        }
        if let Some(d) = m.probdensity.filter(|d| d.is_finite()) {
            json += &format!("{sep}\"{}\":{d}", MATCH_FIELDS[1]);
        }
        json.push('}');
        json
    }

    /// Which survey's layout the record follows.
    pub fn survey(&self) -> Survey {
        *self.survey.get_or_init(|| self.detect_survey())
    }

    fn detect_survey(&self) -> Survey {
        let r = self.record();
        if r.get("diaSource").is_some_and(|d| !d.is_null()) {
            Survey::Rubin
        } else if r.get("candidate").is_some() {
            Survey::Ztf
        } else if r.get("new_alert").is_some()
            || r.path(&["data", "attributes"]).is_some()
            || r.get("properties").is_some()
        {
            Survey::Antares
        } else if r.get("diaObjectId").is_some() || r.path(&LASAIR_SOURCES).is_some() {
            Survey::Lasair
        } else {
            Survey::Unknown
        }
    }

    /// The astrophysical object: ZTF `objectId`, Rubin `diaObjectId`
    /// (or `ssObjectId` for a solar-system source), ANTARES locus id.
    pub fn object_id(&self) -> Option<Id> {
        let r = self.record();
        match self.survey() {
            Survey::Ztf => id_of(r.get("objectId")?),
            Survey::Rubin => {
                let src = r.get("diaSource")?;
                src.first_of(&["diaObjectId", "ssObjectId"])
                    .filter(|d| d.as_i64() != Some(0))
                    .or_else(|| r.path(&["diaObject", "diaObjectId"]))
                    // Fink LSST: a solar-system object by its MPC designation.
                    .or_else(|| r.path(&["mpc_orbits", "designation"]))
                    .and_then(id_of)
            }
            Survey::Antares => match antares_shape(r)? {
                AntaresShape::Alert(a) => id_of(a.get("locus_id")?),
                AntaresShape::Locus { id, .. } => id_of(id),
            },
            Survey::Lasair => id_of(r.get("diaObjectId")?),
            Survey::Unknown => {
                id_of(r.first_of(&["objectId", "object_id", "superevent_id", "id"])?)
            }
        }
    }

    /// This alert: ZTF `candid`, Rubin `diaSourceId` (`alertId` before v8),
    /// ANTARES `alert_id` (newest alert of a locus).
    pub fn alert_id(&self) -> Option<Id> {
        let r = self.record();
        match self.survey() {
            Survey::Ztf => id_of(
                r.first_of(&["candid"])
                    .or_else(|| r.path(&["candidate", "candid"]))?,
            ),
            Survey::Rubin => id_of(
                r.first_of(&["diaSourceId", "alertId"])
                    .or_else(|| r.path(&["diaSource", "diaSourceId"]))?,
            ),
            Survey::Antares => match antares_shape(r)? {
                AntaresShape::Alert(a) => id_of(a.get("alert_id")?),
                AntaresShape::Locus { properties, .. } => id_of(properties.get("newest_alert_id")?),
            },
            Survey::Lasair => id_of(
                r.get("diaSourceId")
                    .or_else(|| lasair_latest(r)?.get("diaSourceId"))?,
            ),
            Survey::Unknown => id_of(r.first_of(&["candid", "alertId", "alert_id"])?),
        }
    }

    /// When the observation was made: ZTF `jd` (JD, UTC), Rubin
    /// `midpointMjdTai` (MJD, TAI), ANTARES `mjd` (MJD, UTC).
    pub fn time(&self) -> Option<Time> {
        let r = self.record();
        match self.survey() {
            Survey::Ztf => ztf_time(r.get("candidate")?),
            Survey::Rubin => rubin_time(r.get("diaSource")?),
            Survey::Antares => match antares_shape(r)? {
                AntaresShape::Alert(a) => Some(Time::mjd_utc(a.get("mjd")?.as_f64()?)),
                AntaresShape::Locus { properties, .. } => Some(Time::mjd_utc(
                    properties.get("newest_alert_observation_time")?.as_f64()?,
                )),
            },
            Survey::Lasair => rubin_time(lasair_latest(r)?),
            Survey::Unknown => None,
        }
    }

    /// Right ascension in degrees.
    pub fn ra(&self) -> Option<f64> {
        self.position_source()?.get("ra")?.as_f64()
    }

    /// Declination in degrees.
    pub fn dec(&self) -> Option<f64> {
        self.position_source()?.first_of(&["dec", "decl"])?.as_f64()
    }

    /// Photometric band: `g`, `r`, `i` for ZTF; `u`…`y` for Rubin.
    pub fn band(&self) -> Option<String> {
        let r = self.record();
        match self.survey() {
            Survey::Ztf => ztf_band(r.get("candidate")?),
            Survey::Rubin => rubin_band(r.get("diaSource")?),
            Survey::Antares => match antares_shape(r)? {
                AntaresShape::Alert(a) => ztf_band_from_fid(a.path(&["properties", "ztf_fid"])?),
                AntaresShape::Locus { properties, .. } => {
                    Some(properties.get("newest_alert_band")?.as_str()?.to_owned())
                }
            },
            Survey::Lasair => rubin_band(lasair_latest(r)?),
            Survey::Unknown => None,
        }
    }

    /// Magnitude (ZTF, ANTARES) or flux (Rubin) with its error.
    pub fn brightness(&self) -> Option<Brightness> {
        let r = self.record();
        match self.survey() {
            Survey::Ztf => ztf_magnitude(r.get("candidate")?),
            Survey::Rubin => rubin_flux(r.get("diaSource")?),
            Survey::Antares => match antares_shape(r)? {
                AntaresShape::Alert(a) => antares_magnitude(a),
                AntaresShape::Locus { properties, .. } => Some(Brightness::Magnitude {
                    mag: properties.get("newest_alert_magnitude")?.as_f64()?,
                    err: None,
                }),
            },
            Survey::Lasair => rubin_flux(lasair_latest(r)?),
            Survey::Unknown => None,
        }
    }

    /// How many earlier detections (not upper limits) the alert carries.
    pub fn previous_detections(&self) -> usize {
        self.light_curve()
            .iter()
            .filter(|p| p.brightness.is_some())
            .count()
    }

    /// The stamp as stored in the alert (gzip-compressed FITS for ZTF).
    pub fn cutout_raw(&self, kind: Cutout) -> Option<&[u8]> {
        let field = self.record().get(kind.field())?;
        match field.as_bytes() {
            Some(b) => Some(b),
            None => field.get("stampData")?.as_bytes(),
        }
        .filter(|b| !b.is_empty())
    }

    fn position_source(&self) -> Option<Datum<'_>> {
        let r = self.record();
        match self.survey() {
            Survey::Ztf => r.get("candidate"),
            Survey::Rubin => r.get("diaSource"),
            Survey::Antares => match antares_shape(r)? {
                AntaresShape::Alert(a) => Some(a),
                AntaresShape::Locus { base, .. } => Some(base),
            },
            Survey::Lasair if r.get("ra").is_some() => Some(r),
            Survey::Lasair => lasair_latest(r),
            Survey::Unknown => Some(r),
        }
    }
}

/// Where a Lasair row keeps its detections ("lite" and "full" output).
pub(crate) const LASAIR_SOURCES: [&str; 2] = ["alert", "diaSourcesList"];
/// Where a Lasair row keeps its forced photometry.
pub(crate) const LASAIR_FORCED: [&str; 2] = ["alert", "diaForcedSourcesList"];

/// The newest detection of a Lasair row's light curve.
fn lasair_latest(r: Datum<'_>) -> Option<Datum<'_>> {
    let time = |s: &Datum<'_>| rubin_time(*s).map_or(f64::NEG_INFINITY, |t| t.value);
    r.path(&LASAIR_SOURCES)?
        .items()
        .max_by(|a, b| time(a).total_cmp(&time(b)))
}

pub(crate) enum AntaresShape<'a> {
    /// 0.x: `{new_alert: {alert_id, locus_id, ra, dec, mjd, properties}, alert_history}`.
    Alert(Datum<'a>),
    /// 1.x `{data: {id, attributes: {...}}}` or 2.x `{id, ra, dec, properties}`.
    Locus {
        base: Datum<'a>,
        id: Datum<'a>,
        properties: Datum<'a>,
    },
}

pub(crate) fn antares_shape(r: Datum<'_>) -> Option<AntaresShape<'_>> {
    if let Some(a) = r.get("new_alert") {
        return Some(AntaresShape::Alert(a));
    }
    let (base, id) = match r.path(&["data", "attributes"]) {
        Some(attrs) => (attrs, r.path(&["data", "id"])?),
        None => (r, r.get("id")?),
    };
    Some(AntaresShape::Locus {
        base,
        id,
        properties: base.get("properties")?,
    })
}

pub(crate) fn id_of(d: Datum<'_>) -> Option<Id> {
    d.as_i64()
        .map(Id::Int)
        .or_else(|| d.as_str().map(|s| Id::Text(s.to_owned())))
}

pub(crate) fn ztf_time(c: Datum<'_>) -> Option<Time> {
    Some(Time::jd_utc(c.get("jd")?.as_f64()?))
}

pub(crate) fn ztf_band(c: Datum<'_>) -> Option<String> {
    ztf_band_from_fid(c.get("fid")?)
}

pub(crate) fn ztf_band_from_fid(fid: Datum<'_>) -> Option<String> {
    Some(
        match fid.as_i64()? {
            1 => "g",
            2 => "r",
            3 => "i",
            _ => return None,
        }
        .to_owned(),
    )
}

pub(crate) fn ztf_magnitude(c: Datum<'_>) -> Option<Brightness> {
    Some(Brightness::Magnitude {
        mag: c.get("magpsf")?.as_f64()?,
        err: c.get("sigmapsf").and_then(|e| e.as_f64()),
    })
}

pub(crate) fn antares_magnitude(a: Datum<'_>) -> Option<Brightness> {
    let p = a.get("properties")?;
    Some(Brightness::Magnitude {
        mag: p.get("ztf_magpsf")?.as_f64()?,
        err: p.get("ztf_sigmapsf").and_then(|e| e.as_f64()),
    })
}

pub(crate) fn rubin_time(s: Datum<'_>) -> Option<Time> {
    Some(Time::mjd_tai(
        s.first_of(&["midpointMjdTai", "midPointTai"])?.as_f64()?,
    ))
}

pub(crate) fn rubin_band(s: Datum<'_>) -> Option<String> {
    Some(s.first_of(&["band", "filterName"])?.as_str()?.to_owned())
}

pub(crate) fn rubin_flux(s: Datum<'_>) -> Option<Brightness> {
    Some(Brightness::FluxNjy {
        flux: s.first_of(&["psfFlux", "psFlux"])?.as_f64()?,
        err: s
            .first_of(&["psfFluxErr", "psFluxErr"])
            .and_then(|e| e.as_f64()),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_error_fallback_is_valid_json_whatever_the_message() {
        let message = "bad \"quote\" and \\ backslash\nnewline";
        let json: serde_json::Value = serde_json::from_str(&super::error_json(message)).unwrap();
        assert_eq!(json["error"], message);
    }
}
