//! `Alert`: one decoded alert, read lazily. Fields become Python objects
//! only when asked for (`alert["candidate"]["magpsf"]` converts the
//! `candidate` record, nothing else); `to_dict()` converts all of it.

use crate::convert::{id_to_py, to_py};
use crate::errors;
use alertstream::model::alert::{Cutout, Survey};
use alertstream::model::lightcurve::Measurement;
use alertstream::model::stamp::{HeaderValue, Stamp};
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

/// One decoded alert (ZTF, Fink, Rubin/LSST or ANTARES).
///
/// Index it like the dict fastavro would give (``alert["candidate"]["magpsf"]``):
/// only the field asked for is converted. The survey-aware properties
/// (``object_id``, ``alert_id``, ``time``, ``ra``, ``dec``, ``band``) read the
/// same facts whatever the survey. ``to_dict()`` gives the whole record.
#[pyclass(frozen, module = "alertstream._native", name = "Alert")]
pub struct PyAlert {
    pub alert: alertstream::Alert,
}

impl PyAlert {
    pub fn new(alert: alertstream::Alert) -> Self {
        PyAlert { alert }
    }
}

#[pymethods]
impl PyAlert {
    /// Writes the alert in ``outdir`` as fink-client's ``poll_and_write``
    /// does: a one-record Avro container with the writer schema, named
    /// ``<objectId>_<candid>.avro`` (Rubin: ``<diaSourceId>.avro``; alerts
    /// without an Avro schema: ``.json``). ``outdir`` must exist; an existing
    /// file raises ``FileExistsError`` unless ``overwrite``. Returns the path.
    #[pyo3(signature = (outdir, overwrite = false))]
    fn write_avro(
        &self,
        outdir: std::path::PathBuf,
        overwrite: bool,
    ) -> PyResult<std::path::PathBuf> {
        use alertstream::sink::{FileSink, Layout, SaveFormat};
        if !outdir.is_dir() {
            return Err(pyo3::exceptions::PyFileNotFoundError::new_err(format!(
                "{} is not a folder: create it first",
                outdir.display()
            )));
        }
        let sink = FileSink::new(&outdir, Layout::Fink, SaveFormat::Avro).map_err(errors::to_py)?;
        let prepared = sink.naming().prepare(&self.alert);
        if !overwrite && prepared.dest.exists() {
            return Err(pyo3::exceptions::PyFileExistsError::new_err(format!(
                "{} already exists! (overwrite=True replaces it)",
                prepared.dest.display()
            )));
        }
        let bytes: Vec<u8> = prepared.parts.concat();
        alertstream::durable::write_atomically(&prepared.dest, &bytes).map_err(errors::to_py)?;
        Ok(prepared.dest)
    }

    /// A top-level field of the record, as fastavro would give it.
    fn __getitem__<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        match self.alert.record().get(name) {
            Some(value) => to_py(py, value),
            None => Err(PyKeyError::new_err(name.to_owned())),
        }
    }

    /// A top-level field, or ``default`` when the record has none of that name.
    #[pyo3(signature = (name, default=None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self.alert.record().get(name) {
            Some(value) => to_py(py, value),
            None => Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
        }
    }

    fn __contains__(&self, name: &str) -> bool {
        self.alert.record().get(name).is_some()
    }

    /// The names of the record's top-level fields, in schema order.
    fn keys(&self) -> Vec<String> {
        let record = self.alert.record();
        let fields: Vec<String> = record.fields().map(|(n, _)| n.to_owned()).collect();
        if fields.is_empty() {
            record.entries().map(|(n, _)| n.to_owned()).collect()
        } else {
            fields
        }
    }

    /// The whole record as a dict: the same as fastavro's (BSON documents:
    /// as pymongo's ``bson.decode``).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.alert.record())
    }

    /// The record as JSON text (bytes as base64).
    fn to_json(&self) -> String {
        self.alert.to_json()
    }

    /// "ztf", "rubin", "antares" or "unknown", from the record's layout.
    /// The names of the watchlist targets the alert lies near (a selection
    /// with ``watchlist=`` tags it); empty otherwise.
    #[getter]
    fn matches(&self) -> Vec<String> {
        self.alert
            .matches()
            .map(|m| m.targets.clone())
            .unwrap_or_default()
    }

    /// The sky map's probability density (per steradian) at the alert's
    /// position, when ``skymap=`` selected it; None otherwise.
    #[getter]
    fn probdensity(&self) -> Option<f64> {
        self.alert.matches().and_then(|m| m.probdensity)
    }

    #[getter]
    fn survey(&self) -> &'static str {
        Survey::name(self.alert.survey())
    }

    /// The payload format: "avro-container", "fink", "confluent", "bson", ...
    #[getter]
    fn format(&self) -> String {
        self.alert.format().to_string()
    }

    /// The astrophysical object: ZTF ``objectId``, Rubin ``diaObjectId``,
    /// ANTARES locus id (``int`` or ``str``).
    #[getter]
    fn object_id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        id_to_py(py, self.alert.object_id())
    }

    /// This alert: ZTF ``candid``, Rubin ``diaSourceId``/``alertId``, ANTARES alert id.
    #[getter]
    fn alert_id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        id_to_py(py, self.alert.alert_id())
    }

    /// Observation time as a timezone-aware UTC ``datetime`` (Rubin's TAI
    /// converted), or None.
    #[getter]
    fn time<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let Some(time) = self.alert.time() else {
            return Ok(py.None().into_bound(py));
        };
        let datetime = py.import("datetime")?;
        let utc = datetime.getattr("timezone")?.getattr("utc")?;
        datetime
            .getattr("datetime")?
            .call_method1("fromtimestamp", (time.unix_seconds(), utc))
    }

    /// Observation time as a Modified Julian Date in UTC, or None.
    #[getter]
    fn mjd(&self) -> Option<f64> {
        self.alert.time().map(|t| t.to_mjd_utc())
    }

    /// Right ascension, degrees.
    #[getter]
    fn ra(&self) -> Option<f64> {
        self.alert.ra()
    }

    /// Declination, degrees.
    #[getter]
    fn dec(&self) -> Option<f64> {
        self.alert.dec()
    }

    /// The band as a letter (ZTF fid 1, 2, 3 = g, r, i; Rubin's band).
    #[getter]
    fn band(&self) -> Option<String> {
        self.alert.band()
    }

    /// The image stamps, decoded: ``{"science": Cutout, "template": ...,
    /// "difference": ...}``; stamps the alert lacks are left out.
    #[getter]
    fn cutouts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        // Each stamp is gunzipped once: the FITS bytes are kept and decoded.
        let stamps = py
            .detach(|| -> alertstream::Result<Vec<PyCutout>> {
                let mut out = Vec::new();
                for kind in Cutout::ALL {
                    if let Some(fits) = self.alert.cutout(kind)? {
                        let stamp = Stamp::from_fits(kind, &fits)?;
                        out.push(PyCutout { stamp, fits });
                    }
                }
                Ok(out)
            })
            .map_err(errors::to_py)?;
        let out = PyDict::new(py);
        for cutout in stamps {
            out.set_item(cutout.stamp.kind.name(), Bound::new(py, cutout)?)?;
        }
        Ok(out)
    }

    /// Its measurements (this alert's, earlier detections, upper limits,
    /// forced photometry): one dict per row, the columns of
    /// ``read_lightcurves`` (``kind``: detection, upper_limit or forced).
    fn lightcurve<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = PyList::empty(py);
        for m in self.alert.measurements() {
            rows.append(measurement_dict(py, &m)?)?;
        }
        Ok(rows)
    }

    /// Kafka topic it was consumed from (None when read from a file).
    #[getter]
    fn topic(&self) -> Option<String> {
        Some(self.alert.kafka()?.topic.clone())
    }

    #[getter]
    fn partition(&self) -> Option<i32> {
        Some(self.alert.kafka()?.partition)
    }

    #[getter]
    fn offset(&self) -> Option<i64> {
        Some(self.alert.kafka()?.offset)
    }

    /// The message key as bytes (Fink: the schema JSON), or None.
    #[getter]
    fn key<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        let key = self.alert.kafka()?.key.as_deref()?;
        Some(PyBytes::new(py, key))
    }

    /// Broker timestamp, milliseconds since the Unix epoch, or None.
    #[getter]
    fn timestamp_ms(&self) -> Option<i64> {
        self.alert.kafka()?.timestamp_ms
    }

    /// The payload as received (the message value or the file's bytes).
    #[getter]
    fn raw<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.alert.raw())
    }

    /// Magnitude (ZTF, ANTARES) or flux in nJy (Rubin, Lasair) with its
    /// error, as text: ``"18.360±0.090 mag"``.
    #[getter]
    fn brightness(&self) -> Option<String> {
        self.alert.brightness().map(|b| b.to_string())
    }

    /// The alert's picture (its cutouts above its light curve, as `alertstream
    /// view` draws it) as PNG bytes; Jupyter shows it (``_repr_png_``).
    fn _repr_png_<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let png = py
            .detach(|| picture_png(&self.alert))
            .map_err(errors::to_py)?;
        Ok(PyBytes::new(py, &png))
    }

    /// The key fields and the picture, for Jupyter.
    fn _repr_html_(&self, py: Python<'_>) -> PyResult<String> {
        let png = py
            .detach(|| picture_png(&self.alert))
            .map_err(errors::to_py)?;
        let id = |i: Option<alertstream::Id>| i.map_or("-".to_owned(), |i| i.to_string());
        let rows = [
            ("survey", Survey::name(self.alert.survey()).to_owned()),
            ("object", id(self.alert.object_id())),
            ("alert", id(self.alert.alert_id())),
            (
                "time (UTC)",
                self.alert.time().map_or("-".into(), |t| t.to_utc_string()),
            ),
            ("band", self.alert.band().unwrap_or_else(|| "-".into())),
            (
                "brightness",
                self.alert
                    .brightness()
                    .map_or("-".into(), |b| b.to_string()),
            ),
        ];
        let cells: String = rows
            .iter()
            .map(|(k, v)| format!("<tr><th>{}</th><td>{}</td></tr>", k, html_escape(v)))
            .collect();
        Ok(format!(
            "<div><table>{cells}</table><img width=\"600\" src=\"data:image/png;base64,{}\"/></div>",
            alertstream::model::value::base64_str(&png)
        ))
    }

    fn __repr__(&self) -> String {
        let id = |i: Option<alertstream::Id>| i.map_or("?".to_owned(), |i| i.to_string());
        let time = self
            .alert
            .time()
            .map_or("no time".to_owned(), |t| t.to_utc_string());
        format!(
            "<Alert {} object {} alert {} at {}>",
            Survey::name(self.alert.survey()),
            id(self.alert.object_id()),
            id(self.alert.alert_id()),
            time
        )
    }
}

fn measurement_dict<'py>(py: Python<'py>, m: &Measurement) -> PyResult<Bound<'py, PyDict>> {
    let row = PyDict::new(py);
    row.set_item("source", m.source.name())?;
    row.set_item("kind", m.kind.name())?;
    row.set_item("measurement_id", m.id)?;
    row.set_item("time", m.time.map(|t| t.value))?;
    row.set_item("time_scale", m.time.map(|t| t.scale_name()))?;
    row.set_item("band", m.band.as_deref())?;
    row.set_item("mag", m.mag)?;
    row.set_item("mag_err", m.mag_err)?;
    row.set_item("flux_njy", m.flux_njy)?;
    row.set_item("flux_err_njy", m.flux_err_njy)?;
    row.set_item("upper_limit", m.upper_limit)?;
    row.set_item("ra", m.ra)?;
    row.set_item("dec", m.dec)?;
    Ok(row)
}

/// One image stamp of an alert, decoded from its FITS bytes.
#[pyclass(frozen, module = "alertstream._native", name = "Cutout")]
pub struct PyCutout {
    stamp: Stamp,
    fits: Vec<u8>,
}

#[pymethods]
impl PyCutout {
    /// "science", "template" or "difference".
    #[getter]
    fn kind(&self) -> &'static str {
        self.stamp.kind.name()
    }

    #[getter]
    fn width(&self) -> usize {
        self.stamp.width
    }

    #[getter]
    fn height(&self) -> usize {
        self.stamp.height
    }

    /// The FITS BITPIX of the stored pixels.
    #[getter]
    fn bitpix(&self) -> i32 {
        self.stamp.bitpix
    }

    /// The stamp as a FITS file (gunzipped): ``astropy.io.fits.open(io.BytesIO(c.fits))``.
    #[getter]
    fn fits<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.fits)
    }

    /// The header's value cards, in order: ``{keyword: value}``.
    #[getter]
    fn header<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let header = PyDict::new(py);
        for card in &self.stamp.cards {
            let value = match &card.value {
                HeaderValue::Integer(i) => i.into_pyobject(py)?.into_any(),
                HeaderValue::Float(f) => f.into_pyobject(py)?.into_any(),
                HeaderValue::Logical(b) => b.into_pyobject(py)?.to_owned().into_any(),
                HeaderValue::String(s) => PyString::new(py, s).into_any(),
                HeaderValue::Undefined => py.None().into_bound(py),
            };
            header.set_item(&card.keyword, value)?;
        }
        Ok(header)
    }

    /// The pixels as a ``numpy`` float64 array of shape (height, width),
    /// BSCALE/BZERO applied and BLANK as NaN: what astropy's ``.data`` holds
    /// (row 0 is FITS row 1, the bottom of the picture). Needs numpy.
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let bytes: Vec<u8> = self
            .stamp
            .pixels
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let numpy = py.import("numpy")?;
        numpy
            .call_method1("frombuffer", (PyBytes::new(py, &bytes), "<f8"))?
            .call_method1("reshape", (self.stamp.height, self.stamp.width))?
            .call_method0("copy")
    }

    fn __repr__(&self) -> String {
        format!(
            "<Cutout {} {}x{} BITPIX {}>",
            self.stamp.kind.name(),
            self.stamp.width,
            self.stamp.height,
            self.stamp.bitpix
        )
    }
}

/// The alert's picture as PNG bytes.
fn picture_png(alert: &alertstream::Alert) -> alertstream::Result<Vec<u8>> {
    use alertstream::picture::{render, PictureFormat};
    render(alert, &alert.cutouts()?, PictureFormat::Png)
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
