//! `AlertReader`: saved alerts (files or folders, any format) as a
//! `pyarrow.Table` built by the library's table module and handed over
//! through the Arrow C data interface (no copy of the columns), as dicts, or
//! as `Alert` objects; and their light curves.

use crate::alert::PyAlert;
use crate::convert::to_py;
use crate::errors::{self, DecodeError};
use crate::select::CriteriaArgs;
use alertstream::decode::files::files_under;
use alertstream::decode::parallel::map_ordered;
use alertstream::decode::Limits;
use alertstream::select::{Criteria, Verdict};
use alertstream::table::{AlertReader, ReadReport, TableOptions};
use alertstream::{Alert, Decoder, DecoderOptions, Format};
use arrow_array::RecordBatch;
use arrow_pyarrow::ToPyArrow;
use arrow_schema::SchemaRef;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

/// Saved alerts, read with their writer schemas.
///
/// ``path`` is a file, a folder (read recursively; hidden files and schema
/// files skipped) or a list of them: Avro container files (ZTF, Fink,
/// Rubin), Fink's schemaless files with ``schema``, ANTARES BSON or JSON.
#[pyclass(subclass, module = "alertstream._native", name = "AlertReader")]
pub struct PyAlertReader {
    paths: Vec<PathBuf>,
    decoder: DecoderOptions,
    /// Which alerts are read (`where=`, `cone=`...); empty: all.
    criteria: Arc<Criteria>,
    /// A watchlist or a sky map tags the alerts kept (table columns).
    tags: bool,
}

impl PyAlertReader {
    fn decoder(&self) -> PyResult<Decoder> {
        Decoder::new(self.decoder.clone()).map_err(errors::to_py)
    }

    /// Every alert of every file, in order; raises on a file that cannot
    /// be read in full unless `skip_errors`.
    fn decode_all(&self, py: Python<'_>, skip_errors: bool) -> PyResult<Vec<Alert>> {
        let decoder = self.decoder()?;
        let (alerts, failures) = py.detach(|| {
            let (files, errors) = files_under(&self.paths);
            let mut failures: Vec<String> = errors.iter().map(ToString::to_string).collect();
            let mut alerts = Vec::new();
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let work = |file: &PathBuf| {
                let mut decoded = decoder.decode_file(file);
                let kept = keep_selected(&self.criteria, &mut decoded.alerts);
                (file.clone(), decoded, kept)
            };
            map_ordered(&files, threads, work, |(file, decoded, kept)| {
                alerts.extend(decoded.alerts);
                if let Err(e) = kept {
                    failures.push(format!("{}: {}", file.display(), errors::message(&e)));
                }
                if let Some(failure) = decoded.failure {
                    let error = errors::message(&failure.error);
                    failures.push(format!("{}: {error}", file.display()));
                }
                ControlFlow::Continue(())
            });
            (alerts, failures)
        });
        check_failures(py, &failures, skip_errors)?;
        Ok(alerts)
    }

    fn batches(
        &self,
        py: Python<'_>,
        options: TableOptions,
        lightcurves: bool,
        skip_errors: bool,
    ) -> PyResult<(SchemaRef, Vec<RecordBatch>)> {
        let decoder = self.decoder()?;
        let (schema, batches, report) = py
            .detach(
                || -> alertstream::Result<(SchemaRef, Vec<RecordBatch>, ReadReport)> {
                    let mut reader =
                        AlertReader::open(&self.paths, decoder, options.with_matches(self.tags))?;
                    if !self.criteria.is_empty() {
                        let criteria = self.criteria.clone();
                        reader = reader.with_filter(Arc::new(move |alert| {
                            Ok(criteria.judge(alert)? == Verdict::Keep)
                        }));
                    }
                    let mut batches = Vec::new();
                    let collect = |b: RecordBatch| {
                        batches.push(b);
                        Ok(())
                    };
                    let (schema, report) = if lightcurves {
                        (
                            reader.lightcurve_schema(),
                            reader.for_each_lightcurve_batch(collect)?,
                        )
                    } else {
                        (reader.schema()?, reader.for_each_batch(collect)?)
                    };
                    Ok((schema, batches, report))
                },
            )
            .map_err(errors::to_py)?;
        check_failures(py, &report.failures, skip_errors)?;
        Ok((schema, batches))
    }
}

/// Raises `DecodeError` naming the files that could not be read, or warns
/// when the caller asked to skip them.
fn check_failures(py: Python<'_>, failures: &[String], skip_errors: bool) -> PyResult<()> {
    if failures.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = failures.iter().take(5).map(String::as_str).collect();
    let more = failures.len().saturating_sub(shown.len());
    let mut message = format!(
        "{} file(s) could not be read in full: {}",
        failures.len(),
        shown.join("; ")
    );
    if more > 0 {
        message.push_str(&format!("; and {more} more"));
    }
    if skip_errors {
        let message = std::ffi::CString::new(message).unwrap_or_default();
        PyErr::warn(
            py,
            &py.get_type::<pyo3::exceptions::PyUserWarning>(),
            &message,
            2,
        )
    } else {
        message.push_str(" (pass skip_errors=True to keep the alerts read)");
        Err(DecodeError::new_err(message))
    }
}

/// A `pyarrow.Table` from record batches, through the C data interface.
fn pyarrow_table<'py>(
    py: Python<'py>,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> PyResult<Bound<'py, PyAny>> {
    let py_batches = PyList::empty(py);
    for batch in batches {
        py_batches.append(batch.to_pyarrow(py)?)?;
    }
    let py_schema = schema.as_ref().to_pyarrow(py)?;
    py.import("pyarrow")?
        .getattr("Table")?
        .call_method1("from_batches", (py_batches, py_schema))
}

/// Paths as the readers take them: one path or a list.
pub fn path_list(path: &Bound<'_, PyAny>) -> PyResult<Vec<PathBuf>> {
    match path.extract::<PathBuf>() {
        Ok(one) => Ok(vec![one]),
        Err(_) => path.extract::<Vec<PathBuf>>().map_err(|_| {
            PyValueError::new_err("path must be a path (str or os.PathLike) or a list of paths")
        }),
    }
}

/// Decoder options from the readers' and consumer's keyword arguments.
pub fn decoder_options(
    format: Option<&str>,
    schema: Option<PathBuf>,
    schema_dir: Option<PathBuf>,
    limits: Option<&Bound<'_, PyDict>>,
) -> PyResult<DecoderOptions> {
    let mut options = DecoderOptions::default();
    options.format = format
        .map(|f| crate::errors::word::<Format>("format", f))
        .transpose()?;
    options.schema_file = schema;
    options.schema_dir = schema_dir;
    if let Some(limits) = limits {
        options.limits = decoding_limits(limits)?;
    }
    Ok(options)
}

/// `limits={"max_inflated": 2**27, ...}`: the library's limits by name.
fn decoding_limits(given: &Bound<'_, PyDict>) -> PyResult<Limits> {
    let mut limits = Limits::default();
    for (key, value) in given.iter() {
        let key: String = key.extract()?;
        let value: usize = value.extract().map_err(|_| {
            PyValueError::new_err(format!("limits[{key:?}] must be a non-negative integer"))
        })?;
        let field = match key.as_str() {
            "max_inflated" => &mut limits.max_inflated,
            "max_depth" => &mut limits.max_depth,
            "max_gzip_layers" => &mut limits.max_gzip_layers,
            "max_block_bytes" => &mut limits.max_block_bytes,
            "max_schemas" => &mut limits.max_schemas,
            other => {
                return Err(PyValueError::new_err(format!(
                    "limits: unknown limit {other:?}: expected max_inflated, max_depth, \
                     max_gzip_layers, max_block_bytes, max_schemas"
                )))
            }
        };
        *field = value;
    }
    Ok(limits)
}

#[pymethods]
impl PyAlertReader {
    /// ``format`` forces a payload format (detected by default); ``schema``
    /// is the writer schema of schemaless (Fink) files, ``schema_dir`` a
    /// folder of schemas (Rubin's alert_packet layout). ``limits`` bounds
    /// what one payload may cost (``max_inflated``, ``max_depth``,
    /// ``max_gzip_layers``, ``max_block_bytes``, ``max_schemas``).
    ///
    /// ``where`` (a SQL expression over the fields), ``cone`` ((ra, dec,
    /// radius) or a list), ``moc`` (IVOA MOC files), ``skymap`` (a sky map,
    /// with ``credible``), ``watchlist`` (a CSV of targets, with
    /// ``match_radius``) keep only the alerts they select; kept alerts
    /// carry ``matches`` and ``probdensity``.
    #[new]
    #[pyo3(signature = (
        path, *, format = None, schema = None, schema_dir = None, limits = None,
        r#where = None, cone = None, moc = None, skymap = None, credible = 0.9,
        watchlist = None, match_radius = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        path: &Bound<'_, PyAny>,
        format: Option<&str>,
        schema: Option<PathBuf>,
        schema_dir: Option<PathBuf>,
        limits: Option<Bound<'_, PyDict>>,
        r#where: Option<String>,
        cone: Option<Bound<'_, PyAny>>,
        moc: Option<Bound<'_, PyAny>>,
        skymap: Option<PathBuf>,
        credible: f64,
        watchlist: Option<PathBuf>,
        match_radius: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let selecting = CriteriaArgs {
            where_: r#where,
            cone,
            moc,
            skymap,
            credible,
            watchlist,
            match_radius,
        };
        Ok(PyAlertReader {
            paths: path_list(path)?,
            decoder: decoder_options(format, schema, schema_dir, limits.as_ref())?,
            criteria: Arc::new(selecting.criteria()?),
            tags: selecting.tags(),
        })
    }

    /// The files that will be read, in order.
    #[getter]
    fn filenames(&self) -> Vec<String> {
        let files = files_under(&self.paths).0;
        files.iter().map(|f| f.display().to_string()).collect()
    }

    /// The alerts as a ``pyarrow.Table``, one row per alert: the writer
    /// schema's fields as columns (records as structs, arrays as lists,
    /// 64-bit ids as int64), the union of every schema version met, plus
    /// ``time_utc``. ``cutouts=False`` leaves the image stamps out.
    #[pyo3(signature = (*, cutouts = true, skip_errors = false))]
    fn to_arrow<'py>(
        &self,
        py: Python<'py>,
        cutouts: bool,
        skip_errors: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = TableOptions::default().with_cutouts(cutouts);
        let (schema, batches) = self.batches(py, options, false, skip_errors)?;
        pyarrow_table(py, schema, batches)
    }

    /// The light curves as a ``pyarrow.Table``: one row per measurement
    /// (detections, upper limits, forced photometry), each measurement of an
    /// object once; bands as letters, Rubin fluxes in nJy.
    #[pyo3(signature = (*, skip_errors = false))]
    fn lightcurves<'py>(&self, py: Python<'py>, skip_errors: bool) -> PyResult<Bound<'py, PyAny>> {
        let (schema, batches) = self.batches(py, TableOptions::default(), true, skip_errors)?;
        pyarrow_table(py, schema, batches)
    }

    /// The alerts as dicts, as fastavro reads them (fink-client's
    /// ``to_list``); at most ``size`` when given.
    #[pyo3(signature = (size = None, *, skip_errors = false))]
    fn to_list<'py>(
        &self,
        py: Python<'py>,
        size: Option<usize>,
        skip_errors: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let alerts = self.decode_all(py, skip_errors)?;
        let out = PyList::empty(py);
        for alert in alerts.iter().take(size.unwrap_or(usize::MAX)) {
            out.append(to_py(py, alert.record())?)?;
        }
        Ok(out)
    }

    /// The alerts as ``Alert`` objects (decoded lazily on access).
    #[pyo3(signature = (*, skip_errors = false))]
    fn alerts<'py>(&self, py: Python<'py>, skip_errors: bool) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for alert in self.decode_all(py, skip_errors)? {
            out.append(Bound::new(py, PyAlert::new(alert))?)?;
        }
        Ok(out)
    }
}

/// The alerts of files or folders as ``Alert`` objects.
#[pyfunction]
#[pyo3(signature = (path, *, format = None, schema = None, schema_dir = None, limits = None, skip_errors = false))]
pub fn read_alerts<'py>(
    py: Python<'py>,
    path: &Bound<'py, PyAny>,
    format: Option<&str>,
    schema: Option<PathBuf>,
    schema_dir: Option<PathBuf>,
    limits: Option<Bound<'py, PyDict>>,
    skip_errors: bool,
) -> PyResult<Bound<'py, PyList>> {
    let reader = PyAlertReader::new(
        path, format, schema, schema_dir, limits, None, None, None, None, 0.9, None, None,
    )?;
    reader.alerts(py, skip_errors)
}

/// Keeps the alerts the criteria keep (tagged); the first error is returned
/// after the others are judged.
fn keep_selected(criteria: &Criteria, alerts: &mut Vec<Alert>) -> alertstream::Result<()> {
    if criteria.is_empty() {
        return Ok(());
    }
    let mut error = None;
    alerts.retain_mut(|a| match criteria.judge(a) {
        Ok(verdict) => verdict == Verdict::Keep,
        Err(e) => {
            error.get_or_insert(e);
            false
        }
    });
    error.map_or(Ok(()), Err)
}
