//! Selections by index (issue 11): `Tensor.gather` and the flat-position primitives
//! (`_take`, `_put_add`, `_positions_along`) that `tapegrad/_selection.py` composes into
//! `scatter*`, `index_*`, `masked_*`, `take*`. Conversion only; the maths is in
//! `tapegrad_core::ops::gather`.

use crate::errors::{raise, Res};
use crate::tensor::PyTensor;
use crate::tensor_extra::composite;
use numpy::{IntoPyArray, PyArray1, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::sync::Arc;
use tapegrad_core::ops::gather::{along_axis_positions, index_values, Positions};
use tapegrad_core::ErrorKind;

/// Non-negative flat positions from an int64 NumPy array.
fn positions(op: &'static str, array: &PyReadonlyArrayDyn<'_, i64>) -> Res<Positions> {
    let positions = array
        .as_array()
        .iter()
        .map(|&p| usize::try_from(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| raise(ErrorKind::Index, op, "flat positions must be non-negative"))?;
    Ok(Arc::new(positions))
}

/// `x.flatten()[positions]` shaped `shape` (records `TakeBackward`).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _take(
    py: Python<'_>,
    x: PyRef<'_, PyTensor>,
    positions: PyReadonlyArrayDyn<'_, i64>,
    shape: Vec<usize>,
) -> Res<PyTensor> {
    let (x, positions) = (x.0.clone(), self::positions("take", &positions)?);
    Ok(PyTensor::new(py.detach(|| x.take_positions(&positions, &shape))?))
}

/// Zeros of `shape` with `src`'s elements added at `positions` (records `PutAddBackward`).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _put_add(
    py: Python<'_>,
    src: PyRef<'_, PyTensor>,
    positions: PyReadonlyArrayDyn<'_, i64>,
    shape: Vec<usize>,
) -> Res<PyTensor> {
    let (src, positions) = (src.0.clone(), self::positions("put_add", &positions)?);
    Ok(PyTensor::new(py.detach(|| src.put_add(&positions, &shape))?))
}

/// Flat positions into a tensor of `shape` for each element of `index` along `dim`: with
/// `use_values`, `index`'s values on `dim` (gather/scatter targets, range-checked), else
/// the element's own coordinate (the source side of a scatter).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _positions_along<'py>(
    py: Python<'py>,
    op: String,
    shape: Vec<usize>,
    dim: usize,
    index: PyRef<'_, PyTensor>,
    use_values: bool,
) -> Res<Bound<'py, PyArray1<i64>>> {
    // `op` names the caller in errors; the core wants a 'static name.
    let op: &'static str = match op.as_str() {
        "scatter" => "scatter",
        "scatter_add" => "scatter_add",
        "scatter_reduce" => "scatter_reduce",
        "take_along_dim" => "take_along_dim",
        _ => "gather",
    };
    let index_shape = index.0.shape();
    let values = index_values(op, &index.0)?;
    let values = use_values.then_some(values.as_slice());
    let found = along_axis_positions(op, &shape, dim, &index_shape, values)?;
    Ok(found.into_iter().map(|p| p as i64).collect::<Vec<_>>().into_pyarray(py))
}

#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyTensor {
    /// Values along `dim` at `index` (PyTorch's `gather`).
    #[pyo3(signature = (dim, index, *, sparse_grad=false))]
    fn gather(
        &self,
        py: Python<'_>,
        dim: i64,
        index: PyRef<'_, PyTensor>,
        sparse_grad: bool,
    ) -> Res<PyTensor> {
        let _ = sparse_grad; // Dense gradients only, as PyTorch's default.
        let (x, index) = (self.0.clone(), index.0.clone());
        Ok(PyTensor::new(py.detach(|| x.gather(dim, &index))?))
    }
}

/// `Tensor.<name>(*args, **kwargs)` for the selections composed in `tapegrad._selection`.
macro_rules! selection_methods {
    ($($(#[$doc:meta])* $name:ident;)*) => {
        #[tapegrad_macros::numpy_spellings]
        #[tapegrad_macros::catch_panics]
        #[pymethods]
        impl PyTensor {
            $(
                $(#[$doc])*
                #[pyo3(signature = (*args, **kwargs))]
                fn $name<'py>(
                    slf: &Bound<'py, Self>,
                    args: &Bound<'py, PyTuple>,
                    kwargs: Option<&Bound<'py, PyDict>>,
                ) -> PyResult<Bound<'py, PyAny>> {
                    composite(slf, "tapegrad._selection", stringify!($name), args, kwargs)
                }
            )*
        }
    };
}

selection_methods! {
    /// `value` where `mask` is true.
    masked_fill;
    /// The elements where `mask` is true, 1-d.
    masked_select;
    /// `src`'s values written at `index` along `dim`.
    scatter;
    /// `src`'s values added at `index` along `dim`.
    scatter_add;
    /// `src`'s values reduced (`sum`, `prod`, `mean`, `amax`, `amin`) at `index` along `dim`.
    scatter_reduce;
    /// The entries at `index` along `dim`.
    index_select;
    /// `alpha · source` added at `index` along `dim`.
    index_add;
    /// `value` written at `index` along `dim`.
    index_fill;
    /// `source` written at `index` along `dim`.
    index_copy;
    /// Elements of the flattened tensor at `index`.
    take;
    /// Values at `indices` along `dim` (or of the flattened tensor).
    take_along_dim;
    /// Indices of the non-zero elements.
    nonzero;
    /// The distinct elements (optionally their inverse indices and counts).
    unique;
    /// Counts of each non-negative integer value.
    bincount;
    /// Histogram with `bins` equal bins over `[min, max]`.
    histc;
}

/// Adds the functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_take, m)?)?;
    m.add_function(wrap_pyfunction!(_put_add, m)?)?;
    m.add_function(wrap_pyfunction!(_positions_along, m)?)?;
    Ok(())
}
