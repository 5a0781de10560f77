//! Memory accounting and checkpointing support: conversion only.

use crate::convert::tensor_list;
use crate::errors::Res;
use crate::tensor::PyTensor;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use tapegrad_core::{engine, memory, Tensor};

/// Bytes held for backward right now, across all live graphs.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _saved_bytes() -> usize {
    tapegrad_core::saved_bytes()
}

/// The largest saved-bytes total since the last reset.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _peak_saved_bytes() -> usize {
    tapegrad_core::peak_saved_bytes()
}

/// Restarts peak tracking from the current total.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _reset_peak_saved_bytes() {
    tapegrad_core::reset_peak_saved_bytes()
}

/// Labels nodes recorded on this thread (nn modules push their name).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _push_label(label: &str) {
    tapegrad_core::push_label(label)
}

/// Ends the innermost label.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _pop_label() {
    tapegrad_core::pop_label()
}

/// The number the next recorded node gets.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _next_node_seq() -> u64 {
    tapegrad_core::next_node_seq()
}

/// One dict per node reachable from `outputs`: op, label, and what it saved.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _graph_rows<'py>(py: Python<'py>, outputs: &Bound<'py, PyAny>) -> Res<Bound<'py, PyList>> {
    let roots = tensor_list(outputs, "memory_bill")?;
    let rows = PyList::empty(py);
    for node in memory::graph_nodes(&roots) {
        let row = PyDict::new(py);
        row.set_item("op", node.name())?;
        row.set_item("label", node.label())?;
        let saved = PyList::empty(py);
        for info in node.saved() {
            let shape = PyTuple::new(py, &info.shape)?;
            saved.append((info.why.to_string(), shape, info.dtype.name(), info.bytes))?;
        }
        row.set_item("saved", saved)?;
        rows.append(row)?;
    }
    Ok(rows)
}

/// What a segment recorded since node `since` depends on from outside.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _external_inputs<'py>(
    py: Python<'py>,
    outputs: &Bound<'py, PyAny>,
    since: u64,
    exclude: &Bound<'py, PyAny>,
) -> Res<Bound<'py, PyTuple>> {
    let outputs = tensor_list(outputs, "checkpoint")?;
    let exclude = tensor_list(exclude, "checkpoint")?;
    let found = memory::external_inputs(&outputs, since, &exclude);
    Ok(PyTuple::new(py, found.into_iter().map(PyTensor::new))?)
}

/// Gradients of `outputs` w.r.t. `inputs`, sweeping only the graph between them.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _grad_within<'py>(
    py: Python<'py>,
    outputs: &Bound<'py, PyAny>,
    inputs: &Bound<'py, PyAny>,
    grad_outputs: &Bound<'py, PyAny>,
    create_graph: bool,
) -> Res<Bound<'py, PyTuple>> {
    let outputs = tensor_list(outputs, "checkpoint")?;
    let inputs = tensor_list(inputs, "checkpoint")?;
    let seeds: Vec<Option<Tensor>> =
        tensor_list(grad_outputs, "checkpoint")?.into_iter().map(Some).collect();
    let grads = py.detach(|| engine::grad_within(&outputs, &seeds, &inputs, create_graph))?;
    Ok(PyTuple::new(py, grads.into_iter().map(|g| g.map(PyTensor::new)))?)
}

/// A snapshot of the random generator.
#[pyclass(name = "RngState", module = "tapegrad", frozen)]
pub struct PyRngState(tapegrad_core::RngState);

/// The random generator's state (for `_set_rng_state`).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _rng_state() -> PyRngState {
    PyRngState(tapegrad_core::rng_state())
}

/// Restores a state taken by `_rng_state`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _set_rng_state(state: PyRef<'_, PyRngState>) {
    tapegrad_core::set_rng_state(&state.0)
}

/// Adds the functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRngState>()?;
    m.add_function(wrap_pyfunction!(_saved_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(_peak_saved_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(_reset_peak_saved_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(_push_label, m)?)?;
    m.add_function(wrap_pyfunction!(_pop_label, m)?)?;
    m.add_function(wrap_pyfunction!(_next_node_seq, m)?)?;
    m.add_function(wrap_pyfunction!(_graph_rows, m)?)?;
    m.add_function(wrap_pyfunction!(_external_inputs, m)?)?;
    m.add_function(wrap_pyfunction!(_grad_within, m)?)?;
    m.add_function(wrap_pyfunction!(_rng_state, m)?)?;
    m.add_function(wrap_pyfunction!(_set_rng_state, m)?)?;
    Ok(())
}
