//! Light curves: every measurement an alert carries, one survey-independent
//! row each (the table astronomers plot). ZTF: `candidate`, `prv_candidates`
//! (detections and upper limits), `fp_hists` (forced photometry); Rubin:
//! `diaSource`, `prvDiaSources`, `prvDiaForcedSources`; ANTARES: the
//! `alert_history` of a locus.

use crate::model::alert::{
    antares_magnitude, rubin_band, rubin_flux, rubin_time, ztf_band, ztf_band_from_fid,
    ztf_magnitude, ztf_time, Alert, Brightness, Point, Survey, LASAIR_FORCED, LASAIR_SOURCES,
};
use crate::model::time::Time;
use crate::model::value::Datum;

/// Where in the alert a measurement was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Candidate,
    PrvCandidates,
    FpHists,
    DiaSource,
    PrvDiaSources,
    PrvDiaForcedSources,
    AlertHistory,
    /// Lasair's `alert.diaSourcesList`.
    DiaSourcesList,
    /// Lasair's `alert.diaForcedSourcesList`.
    DiaForcedSourcesList,
}

impl Source {
    /// The field's name, as the survey spells it.
    pub fn name(self) -> &'static str {
        match self {
            Source::Candidate => "candidate",
            Source::PrvCandidates => "prv_candidates",
            Source::FpHists => "fp_hists",
            Source::DiaSource => "diaSource",
            Source::PrvDiaSources => "prvDiaSources",
            Source::PrvDiaForcedSources => "prvDiaForcedSources",
            Source::AlertHistory => "alert_history",
            Source::DiaSourcesList => "diaSourcesList",
            Source::DiaForcedSourcesList => "diaForcedSourcesList",
        }
    }
}

/// What a measurement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A detection on the difference image.
    Detection,
    /// A non-detection: only a limiting magnitude (ZTF `diffmaglim`).
    UpperLimit,
    /// Forced photometry at the object's position, detected or not.
    Forced,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Detection => "detection",
            Kind::UpperLimit => "upper_limit",
            Kind::Forced => "forced",
        }
    }
}

/// One measurement of an object's brightness.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub source: Source,
    pub kind: Kind,
    /// The survey's own id of the measurement (ZTF `candid`, Rubin
    /// `diaSourceId` or `diaForcedSourceId`), when it has one.
    pub id: Option<i64>,
    /// The observation time as shipped (ZTF JD UTC, Rubin MJD TAI).
    pub time: Option<Time>,
    /// `g`, `r`, `i` for ZTF (from `fid` 1, 2, 3); `u`…`y` for Rubin.
    pub band: Option<String>,
    /// AB magnitude and its error (ZTF, ANTARES; ZTF forced photometry
    /// when its flux is positive).
    pub mag: Option<f64>,
    pub mag_err: Option<f64>,
    /// Difference flux in nanojansky and its error (Rubin; ZTF forced
    /// photometry, converted with its zero point `magzpsci`).
    pub flux_njy: Option<f64>,
    pub flux_err_njy: Option<f64>,
    /// Limiting magnitude (ZTF `diffmaglim`) of an upper limit.
    pub upper_limit: Option<f64>,
    pub ra: Option<f64>,
    pub dec: Option<f64>,
}

/// AB magnitude of 1 nJy: `m = 31.4 - 2.5 log10(F / nJy)`.
const AB_MAG_OF_ONE_NJY: f64 = 31.4;
/// ZTF's forced-photometry value for "no measurement".
const ZTF_NO_FLUX: f64 = -99999.0;
/// 2.5 / ln(10): magnitude error from a relative flux error.
const MAG_PER_RELATIVE_FLUX: f64 = 1.085_736_204_758_129_6;

impl Alert {
    /// Every measurement the alert carries, this alert's own first, then the
    /// history in the order the survey sent it. ZTF forced-photometry rows
    /// without a flux (null or -99999) are left out.
    ///
    /// ```
    /// # use alertstream::{Decoder, DecoderOptions};
    /// # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/ztf/ztf_v3.3_472263571115115000_ZTF17aaajnnn.avro");
    /// # let alert = Decoder::new(DecoderOptions::default())?.decode_file(path.as_ref()).into_result()?.remove(0);
    /// use alertstream::model::lightcurve::Kind;
    /// let points = alert.measurements();
    /// let limits = points.iter().filter(|m| m.kind == Kind::UpperLimit).count();
    /// println!("{} measurements, {limits} upper limits", points.len());
    /// assert_eq!(points[0].band.as_deref(), alert.band().as_deref());
    /// # Ok::<(), alertstream::Error>(())
    /// ```
    pub fn measurements(&self) -> Vec<Measurement> {
        let r = self.record();
        let items = |field: &str| r.get(field).into_iter().flat_map(|d| d.items());
        match self.survey() {
            Survey::Ztf => r
                .get("candidate")
                .map(|c| ztf_measurement(c, Source::Candidate))
                .into_iter()
                .chain(items("prv_candidates").map(|c| ztf_measurement(c, Source::PrvCandidates)))
                .chain(items("fp_hists").filter_map(ztf_forced))
                .collect(),
            Survey::Rubin => r
                .get("diaSource")
                .map(|s| rubin_measurement(s, Source::DiaSource))
                .into_iter()
                .chain(items("prvDiaSources").map(|s| rubin_measurement(s, Source::PrvDiaSources)))
                .chain(
                    items("prvDiaForcedSources")
                        .map(|s| rubin_measurement(s, Source::PrvDiaForcedSources)),
                )
                .collect(),
            Survey::Antares => items("alert_history").map(antares_measurement).collect(),
            Survey::Lasair => {
                let list = |path: [&str; 2]| r.path(&path).into_iter().flat_map(|d| d.items());
                list(LASAIR_SOURCES)
                    .map(|s| rubin_measurement(s, Source::DiaSourcesList))
                    .chain(
                        list(LASAIR_FORCED)
                            .map(|s| rubin_measurement(s, Source::DiaForcedSourcesList)),
                    )
                    .collect()
            }
            Survey::Unknown => Vec::new(),
        }
    }
}

impl Alert {
    /// Previous observations of the object carried by the alert (ZTF
    /// `prv_candidates` with upper limits, Rubin `prvDiaSources`, ANTARES
    /// `alert_history` without this alert), oldest first as the survey sent
    /// them: [`Alert::measurements`] without this alert's own and without
    /// forced photometry.
    pub fn light_curve(&self) -> Vec<Point> {
        let now = self.time();
        self.measurements()
            .into_iter()
            .filter(|m| match m.source {
                Source::PrvCandidates | Source::PrvDiaSources => true,
                Source::AlertHistory | Source::DiaSourcesList => m.time != now,
                _ => false,
            })
            .map(Point::from)
            .collect()
    }
}

impl From<Measurement> for Point {
    fn from(m: Measurement) -> Point {
        let magnitude = m.mag.map(|mag| Brightness::Magnitude {
            mag,
            err: m.mag_err,
        });
        let flux = m.flux_njy.map(|flux| Brightness::FluxNjy {
            flux,
            err: m.flux_err_njy,
        });
        Point {
            time: m.time,
            band: m.band,
            brightness: magnitude.or(flux),
            upper_limit: m.upper_limit,
        }
    }
}

fn f64_of(d: Datum<'_>, name: &str) -> Option<f64> {
    d.get(name)?.as_f64()
}

fn empty(source: Source, kind: Kind) -> Measurement {
    Measurement {
        source,
        kind,
        id: None,
        time: None,
        band: None,
        mag: None,
        mag_err: None,
        flux_njy: None,
        flux_err_njy: None,
        upper_limit: None,
        ra: None,
        dec: None,
    }
}

fn ztf_measurement(c: Datum<'_>, source: Source) -> Measurement {
    let magnitude = ztf_magnitude(c);
    let kind = if magnitude.is_some() {
        Kind::Detection
    } else {
        Kind::UpperLimit
    };
    let (mag, mag_err) = match magnitude {
        Some(Brightness::Magnitude { mag, err }) => (Some(mag), err),
        _ => (None, None),
    };
    Measurement {
        id: c.get("candid").and_then(|d| d.as_i64()),
        time: ztf_time(c),
        band: ztf_band(c),
        mag,
        mag_err,
        upper_limit: f64_of(c, "diffmaglim").filter(|_| kind == Kind::UpperLimit),
        ra: f64_of(c, "ra"),
        dec: f64_of(c, "dec"),
        ..empty(source, kind)
    }
}

/// A ZTF forced-photometry row: flux in nJy from the zero point, and a
/// magnitude where the flux is positive.
fn ztf_forced(f: Datum<'_>) -> Option<Measurement> {
    let flux = f64_of(f, "forcediffimflux").filter(|&v| v != ZTF_NO_FLUX)?;
    let err = f64_of(f, "forcediffimfluxunc").filter(|&v| v != ZTF_NO_FLUX);
    let zero_point = f64_of(f, "magzpsci");
    let to_njy = zero_point.map(|zp| 10f64.powf((AB_MAG_OF_ONE_NJY - zp) / 2.5));
    let (mag, mag_err) = match zero_point {
        Some(zp) if flux > 0.0 => (
            Some(zp - 2.5 * flux.log10()),
            err.map(|e| MAG_PER_RELATIVE_FLUX * e / flux),
        ),
        _ => (None, None),
    };
    Some(Measurement {
        time: ztf_time(f),
        band: f.get("fid").and_then(ztf_band_from_fid),
        mag,
        mag_err,
        flux_njy: to_njy.map(|k| flux * k),
        flux_err_njy: to_njy.and_then(|k| err.map(|e| e * k)),
        ra: f64_of(f, "ra"),
        dec: f64_of(f, "dec"),
        ..empty(Source::FpHists, Kind::Forced)
    })
}

fn rubin_measurement(s: Datum<'_>, source: Source) -> Measurement {
    let kind = if matches!(
        source,
        Source::PrvDiaForcedSources | Source::DiaForcedSourcesList
    ) {
        Kind::Forced
    } else {
        Kind::Detection
    };
    let (flux_njy, flux_err_njy) = match rubin_flux(s) {
        Some(Brightness::FluxNjy { flux, err }) => (Some(flux), err),
        _ => (None, None),
    };
    Measurement {
        id: s
            .first_of(&["diaSourceId", "diaForcedSourceId"])
            .and_then(|d| d.as_i64()),
        time: rubin_time(s),
        band: rubin_band(s),
        flux_njy,
        flux_err_njy,
        ra: f64_of(s, "ra"),
        dec: s.first_of(&["dec", "decl"]).and_then(|d| d.as_f64()),
        ..empty(source, kind)
    }
}

fn antares_measurement(a: Datum<'_>) -> Measurement {
    let props = a.get("properties");
    let (mag, mag_err) = match antares_magnitude(a) {
        Some(Brightness::Magnitude { mag, err }) => (Some(mag), err),
        _ => (None, None),
    };
    let kind = if mag.is_some() {
        Kind::Detection
    } else {
        Kind::UpperLimit
    };
    Measurement {
        id: props
            .and_then(|p| p.get("ztf_candid"))
            .and_then(|d| d.as_i64()),
        time: a.get("mjd").and_then(|m| m.as_f64()).map(Time::mjd_utc),
        band: props
            .and_then(|p| p.get("ztf_fid"))
            .and_then(ztf_band_from_fid),
        mag,
        mag_err,
        upper_limit: props
            .and_then(|p| p.get("ztf_diffmaglim"))
            .and_then(|d| d.as_f64())
            .filter(|_| kind == Kind::UpperLimit),
        ra: f64_of(a, "ra"),
        dec: f64_of(a, "dec"),
        ..empty(Source::AlertHistory, kind)
    }
}
