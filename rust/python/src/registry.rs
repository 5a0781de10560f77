//! The core's derivative index, as Python data (for the stub and docs generator and the tests
//! that keep the Python surface equal to it). Conversion only.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// One dict per primitive: `node`, `family`, `api` (Python names), `saves`, `derivative`,
/// `batch` (its batching rule).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _primitives(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let rows = PyList::empty(py);
    for info in tapegrad_core::primitives() {
        let row = PyDict::new(py);
        row.set_item("node", info.node)?;
        row.set_item("family", info.family)?;
        row.set_item("api", info.api.to_vec())?;
        row.set_item("saves", info.saves.name())?;
        row.set_item("derivative", info.derivative)?;
        row.set_item("batch", info.batch.name())?;
        rows.append(row)?;
    }
    Ok(rows)
}

/// Adds the functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_primitives, m)?)
}
