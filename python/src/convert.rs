//! Decoded values as the Python objects fastavro gives for the same record:
//! records and maps are dicts (fields in schema order), arrays lists, unions
//! their branch's value, enums their symbol, bytes `bytes`, 64-bit integers
//! exact `int`s, floats `float`.

use alertstream::model::alert::Id;
use alertstream::{Datum, Logical, Value};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Nesting deeper than this is refused rather than recursed into (the
/// decoder's limit is lower; this guards the Python stack).
const MAX_DEPTH: usize = 64;

/// The Python object for a decoded value.
pub fn to_py<'py>(py: Python<'py>, datum: Datum<'_>) -> PyResult<Bound<'py, PyAny>> {
    convert(py, datum, 0)
}

fn convert<'py>(py: Python<'py>, datum: Datum<'_>, depth: usize) -> PyResult<Bound<'py, PyAny>> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "value nested deeper than {MAX_DEPTH} levels"
        )));
    }
    Ok(match datum.value() {
        Value::Null => py.None().into_bound(py),
        Value::Boolean(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Long(i) => i.into_pyobject(py)?.into_any(),
        // fastavro widens a float to a Python float the same way.
        Value::Float(f) => f64::from(f).into_pyobject(py)?.into_any(),
        Value::Double(f) => f.into_pyobject(py)?.into_any(),
        Value::Bytes(_) | Value::Fixed(_) => {
            PyBytes::new(py, datum.as_bytes().unwrap_or_default()).into_any()
        }
        Value::String(_) | Value::Enum { .. } => text(py, datum)?.into_any(),
        Value::Array(_) => {
            let list = PyList::empty(py);
            for item in datum.items() {
                list.append(convert(py, item, depth + 1)?)?;
            }
            list.into_any()
        }
        Value::Map(_) => {
            let dict = PyDict::new(py);
            for (key, value) in datum.entries() {
                dict.set_item(key, convert(py, value, depth + 1)?)?;
            }
            dict.into_any()
        }
        Value::Record { .. } => record(py, datum, depth)?.into_any(),
    })
}

/// The Python strings of a record type's field names, and whether each
/// field may carry a logical type: made once per record type, not per value.
type Layout = Arc<Vec<(Py<PyString>, bool)>>;

/// Layouts by record type (schema fingerprint, node). Bounded: cleared when
/// it grows past this many record types.
static LAYOUTS: Mutex<Option<HashMap<(u64, u32), Layout>>> = Mutex::new(None);
const MAX_LAYOUTS: usize = 4096;

fn layout(py: Python<'_>, datum: Datum<'_>) -> Option<Layout> {
    let key = datum.record_type()?;
    let mut cache = LAYOUTS.lock().unwrap_or_else(|e| e.into_inner());
    let cache = cache.get_or_insert_with(HashMap::new);
    if let Some(found) = cache.get(&key) {
        return Some(found.clone());
    }
    if cache.len() >= MAX_LAYOUTS {
        cache.clear();
    }
    let fields = datum
        .field_layout()
        .into_iter()
        .map(|(name, logical)| (PyString::intern(py, name).unbind(), logical))
        .collect();
    Some(cache.entry(key).or_insert_with(|| Arc::new(fields)).clone())
}

/// A record as a dict, fields in schema order.
fn record<'py>(py: Python<'py>, datum: Datum<'_>, depth: usize) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    // Every Avro record has a writer schema, hence a layout.
    let layout = layout(py, datum).unwrap_or_default();
    for (i, ((name, may_be_logical), value)) in layout.iter().zip(datum.field_values()).enumerate()
    {
        let logical = match may_be_logical {
            true => datum.logical_at(i),
            false => None,
        };
        let item = match logical {
            Some(logical) => logical_to_py(py, value, logical)?,
            None => convert(py, value, depth + 1)?,
        };
        dict.set_item(name.bind(py), item)?;
    }
    Ok(dict)
}

/// A value with an Avro logical type, as fastavro reads it: timestamps as
/// UTC ``datetime``s, dates as ``date``s, times as ``time``s, UUIDs as
/// text.
fn logical_to_py<'py>(
    py: Python<'py>,
    datum: Datum<'_>,
    logical: Logical,
) -> PyResult<Bound<'py, PyAny>> {
    let Some(n) = datum.as_i64() else {
        return convert(py, datum, 0); // a UUID's text, or null
    };
    let datetime = py.import("datetime")?;
    let delta = |unit: &str, amount: i64| -> PyResult<Bound<'py, PyAny>> {
        let kwargs = PyDict::new(py);
        kwargs.set_item(unit, amount)?;
        datetime.getattr("timedelta")?.call((), Some(&kwargs))
    };
    let epoch = || -> PyResult<Bound<'py, PyAny>> {
        let utc = datetime.getattr("timezone")?.getattr("utc")?;
        datetime
            .getattr("datetime")?
            .call1((1970, 1, 1, 0, 0, 0, 0, utc))
    };
    let midnight =
        || -> PyResult<Bound<'py, PyAny>> { datetime.getattr("datetime")?.call1((1970, 1, 1)) };
    match logical {
        Logical::TimestampMicros => epoch()?.add(delta("microseconds", n)?),
        Logical::TimestampMillis => epoch()?.add(delta("milliseconds", n)?),
        Logical::Date => datetime
            .getattr("date")?
            .call1((1970, 1, 1))?
            .add(delta("days", n)?),
        Logical::TimeMillis => midnight()?
            .add(delta("milliseconds", n)?)?
            .call_method0("time"),
        Logical::TimeMicros => midnight()?
            .add(delta("microseconds", n)?)?
            .call_method0("time"),
        _ => convert(py, datum, 0),
    }
}

fn text<'py>(py: Python<'py>, datum: Datum<'_>) -> PyResult<Bound<'py, PyString>> {
    match datum.as_str() {
        Some(s) => Ok(PyString::new(py, s)),
        None => Err(PyValueError::new_err(
            "a string field is not valid UTF-8 (or an enum symbol is out of range)",
        )),
    }
}

/// An identifier as a Python `int` or `str`.
pub fn id_to_py<'py>(py: Python<'py>, id: Option<Id>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match id {
        None => py.None().into_bound(py),
        Some(Id::Int(i)) => i.into_pyobject(py)?.into_any(),
        Some(Id::Text(s)) => PyString::new(py, &s).into_any(),
    })
}
