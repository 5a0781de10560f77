//! `tapegrad._native._linalg_*`: the linear-algebra primitives of `tapegrad.linalg`
//! (conversion only; the maths is in `tapegrad_core::ops::linalg`). The public functions with
//! PyTorch's signatures, vector right-hand sides and named tuples are in
//! `python/tapegrad/linalg.py`.

use crate::errors::Res;
use crate::tensor::PyTensor;
use pyo3::prelude::*;

/// `X` with `A X = B`, `B` of shape `[..., n, k]`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _linalg_solve(py: Python<'_>, a: PyRef<'_, PyTensor>, b: PyRef<'_, PyTensor>) -> Res<PyTensor> {
    let (a, b) = (a.0.clone(), b.0.clone());
    Ok(PyTensor::new(py.detach(|| a.linalg_solve(&b))?))
}

/// `A⁻¹`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _linalg_inv(py: Python<'_>, a: PyRef<'_, PyTensor>) -> Res<PyTensor> {
    let a = a.0.clone();
    Ok(PyTensor::new(py.detach(|| a.linalg_inv())?))
}

/// `det(A)`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _linalg_det(py: Python<'_>, a: PyRef<'_, PyTensor>) -> Res<PyTensor> {
    let a = a.0.clone();
    Ok(PyTensor::new(py.detach(|| a.linalg_det())?))
}

/// `(sign, log|det A|)`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _linalg_slogdet(py: Python<'_>, a: PyRef<'_, PyTensor>) -> Res<(PyTensor, PyTensor)> {
    let a = a.0.clone();
    let (sign, logabs) = py.detach(|| a.linalg_slogdet())?;
    Ok((PyTensor::new(sign), PyTensor::new(logabs)))
}

/// The Cholesky factor (`upper`: `Lᵀ`).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _linalg_cholesky(py: Python<'_>, a: PyRef<'_, PyTensor>, upper: bool) -> Res<PyTensor> {
    let a = a.0.clone();
    Ok(PyTensor::new(py.detach(|| a.linalg_cholesky(upper))?))
}

/// Triangular solve, `B` of shape `[..., n, k]` (left) or `[..., k, n]` (right).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _linalg_solve_triangular(
    py: Python<'_>,
    a: PyRef<'_, PyTensor>,
    b: PyRef<'_, PyTensor>,
    upper: bool,
    left: bool,
    unitriangular: bool,
) -> Res<PyTensor> {
    let (a, b) = (a.0.clone(), b.0.clone());
    Ok(PyTensor::new(py.detach(|| a.linalg_solve_triangular(&b, upper, left, unitriangular))?))
}

/// Adds the functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_linalg_solve, m)?)?;
    m.add_function(wrap_pyfunction!(_linalg_inv, m)?)?;
    m.add_function(wrap_pyfunction!(_linalg_det, m)?)?;
    m.add_function(wrap_pyfunction!(_linalg_slogdet, m)?)?;
    m.add_function(wrap_pyfunction!(_linalg_cholesky, m)?)?;
    m.add_function(wrap_pyfunction!(_linalg_solve_triangular, m)?)?;
    register_spectral(m)
}

/// `[w | V]`, the packed eigendecomposition of symmetric `A`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _linalg_eigh(py: Python<'_>, a: PyRef<'_, PyTensor>) -> Res<PyTensor> {
    let a = a.0.clone();
    Ok(PyTensor::new(py.detach(|| a.linalg_eigh_packed())?))
}

/// `[U | S | Vh]`, the packed thin SVD.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _linalg_svd(py: Python<'_>, a: PyRef<'_, PyTensor>) -> Res<PyTensor> {
    let a = a.0.clone();
    Ok(PyTensor::new(py.detach(|| a.linalg_svd_packed())?))
}

/// `[Q | R]`, the packed reduced QR.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _linalg_qr(py: Python<'_>, a: PyRef<'_, PyTensor>) -> Res<PyTensor> {
    let a = a.0.clone();
    Ok(PyTensor::new(py.detach(|| a.linalg_qr_packed())?))
}

/// Adds the spectral decompositions to the module.
pub fn register_spectral(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_linalg_eigh, m)?)?;
    m.add_function(wrap_pyfunction!(_linalg_svd, m)?)?;
    m.add_function(wrap_pyfunction!(_linalg_qr, m)?)?;
    Ok(())
}
