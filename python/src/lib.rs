//! `alertstream._native`: the Rust core as a Python extension module. The
//! Python package (`python/alertstream/`) re-exports these classes and adds
//! fink-client's and antares-client's shapes over them.

mod alert;
mod antares;
mod consumer;
mod convert;
mod errors;
mod reader;
mod select;

use pyo3::prelude::*;

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<alert::PyAlert>()?;
    module.add_class::<alert::PyCutout>()?;
    module.add_class::<consumer::PyConsumer>()?;
    module.add_class::<reader::PyAlertReader>()?;
    module.add_function(wrap_pyfunction!(reader::read_alerts, module)?)?;
    module.add_function(wrap_pyfunction!(
        antares::antares_streaming_options,
        module
    )?)?;
    module.add_function(wrap_pyfunction!(antares::antares_thumbnails, module)?)?;
    errors::register(module)
}
