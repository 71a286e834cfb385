//! ANTARES' REST API for Python: the streaming options antares-client
//! fetches at start, and an alert's thumbnails.

use crate::errors;
use alertstream::api::antares;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

fn api_or_default(api: Option<String>) -> String {
    let api = api.unwrap_or_else(antares::api_base);
    format!("{}/", api.trim_end_matches('/'))
}

/// The librdkafka options ANTARES' API serves
/// (``client/config/streaming/default``) that a client applies: without the
/// user's credentials and group, and without the keys in ``given`` (set by
/// the caller, they win).
#[pyfunction]
#[pyo3(signature = (api = None, given = Vec::new()))]
pub fn antares_streaming_options(
    py: Python<'_>,
    api: Option<String>,
    given: Vec<String>,
) -> PyResult<Vec<(String, String)>> {
    let api = api_or_default(api);
    let options = py
        .detach(move || antares::streaming_options(&api))
        .map_err(errors::to_py)?;
    let given: Vec<&str> = given.iter().map(String::as_str).collect();
    Ok(antares::applicable(options, &given))
}

/// A thumbnail for Python: type, file name, MIME type, bytes.
type ThumbnailTuple<'py> = (String, String, Option<String>, Bound<'py, PyBytes>);

/// An alert's thumbnails as ``(type, file_name, mime, bytes)`` tuples.
#[pyfunction]
#[pyo3(signature = (alert_id, api = None))]
pub fn antares_thumbnails<'py>(
    py: Python<'py>,
    alert_id: String,
    api: Option<String>,
) -> PyResult<Vec<ThumbnailTuple<'py>>> {
    let api = api_or_default(api);
    let fetched = py
        .detach(move || antares::thumbnails(&api, &alert_id))
        .map_err(errors::to_py)?;
    Ok(fetched
        .into_iter()
        .map(|t| (t.kind, t.file_name, t.mime, PyBytes::new(py, &t.bytes)))
        .collect())
}
