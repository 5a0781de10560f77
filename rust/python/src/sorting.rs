//! `Tensor` methods that sort and select along a dimension (`sort`, `topk`, `max(dim)`...)
//! and that sample from a tensor (`multinomial`, `bernoulli`, `poisson`). Conversion only:
//! `(values, indices)` pairs come back as the named tuples of `tapegrad.return_types`.

use crate::errors::{raise, Res};
use crate::sampling::PyGenerator;
use crate::tensor::{compute, PyTensor};
use pyo3::prelude::*;
use tapegrad_core::ops::reduce::Extreme;
use tapegrad_core::{ErrorKind, Tensor};

/// `tapegrad.return_types.<name>(first, second)`.
fn named_pair(py: Python<'_>, name: &str, pair: (Tensor, Tensor)) -> Res<Py<PyAny>> {
    let class = py.import("tapegrad.return_types")?.getattr(name)?;
    Ok(class.call1((PyTensor::new(pair.0), PyTensor::new(pair.1)))?.unbind())
}

/// A `dim` argument that must be one int (not a tuple, not a float).
fn one_dim(op: &'static str, dim: &Bound<'_, PyAny>) -> Res<i64> {
    if dim.is_instance_of::<pyo3::types::PyBool>() || dim.is_instance_of::<pyo3::types::PyFloat>() {
        return Err(raise(ErrorKind::DType, op, format!("dim must be an int, got {dim}")));
    }
    dim.extract::<i64>()
        .map_err(|_| raise(ErrorKind::DType, op, format!("dim must be an int, got {dim}")))
}

impl PyTensor {
    /// `max()` / `max(dim)` / `max(other)` and the `min` forms.
    fn extreme_forms(
        &self,
        py: Python<'_>,
        which: Extreme,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
    ) -> Res<Py<PyAny>> {
        let (op, t) = (if which == Extreme::Max { "max" } else { "min" }, &self.0);
        let Some(dim) = dim.filter(|d| !d.is_none()) else {
            if keepdim {
                return Err(raise(ErrorKind::Value, op, "keepdim=True needs a dim"));
            }
            let out = compute(py, t.numel(), || t.extreme_all(which))?;
            return Ok(PyTensor::new(out).into_pyobject(py)?.into_any().unbind());
        };
        if let Ok(other) = dim.cast::<PyTensor>() {
            let other = other.borrow().0.clone();
            let out = compute(py, t.numel(), || match which {
                Extreme::Max => t.maximum(&other),
                Extreme::Min => t.minimum(&other),
            })?;
            return Ok(PyTensor::new(out).into_pyobject(py)?.into_any().unbind());
        }
        let dim = one_dim(op, dim)?;
        let pair = compute(py, t.numel(), || t.extreme_along(which, dim, keepdim))?;
        named_pair(py, op, pair)
    }
}

#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyTensor {
    /// The largest element (a 0-d tensor); with `dim`, the named tuple `(values, indices)`
    /// of the largest along it (the gradient goes to the returned index); with a tensor,
    /// the elementwise `maximum`.
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn max(&self, py: Python<'_>, dim: Option<&Bound<'_, PyAny>>, keepdim: bool) -> Res<Py<PyAny>> {
        self.extreme_forms(py, Extreme::Max, dim, keepdim)
    }
    /// The smallest element; with `dim`, `(values, indices)`; with a tensor, `minimum`.
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn min(&self, py: Python<'_>, dim: Option<&Bound<'_, PyAny>>, keepdim: bool) -> Res<Py<PyAny>> {
        self.extreme_forms(py, Extreme::Min, dim, keepdim)
    }
    /// `(min, max)` over `dim` (over everything when None), each as `amin`/`amax` give it.
    #[pyo3(signature = (*, dim=None, keepdim=false))]
    fn aminmax(&self, py: Python<'_>, dim: Option<i64>, keepdim: bool) -> Res<Py<PyAny>> {
        let t = &self.0;
        named_pair(py, "aminmax", compute(py, t.numel(), || t.aminmax(dim, keepdim))?)
    }
    /// Sorted along `dim` (stable; NaN as the largest value): `(values, indices)`.
    #[pyo3(signature = (dim=-1, descending=false, *, stable=false))]
    fn sort(&self, py: Python<'_>, dim: i64, descending: bool, stable: bool) -> Res<Py<PyAny>> {
        let _ = stable; // every sort is stable
        let t = &self.0;
        named_pair(py, "sort", compute(py, t.numel(), || t.sort(dim, descending))?)
    }
    /// The indices that sort along `dim` (int64).
    #[pyo3(signature = (dim=-1, descending=false, *, stable=false))]
    fn argsort(&self, py: Python<'_>, dim: i64, descending: bool, stable: bool) -> Res<PyTensor> {
        let _ = stable;
        let t = &self.0;
        Ok(PyTensor::new(compute(py, t.numel(), || t.detach().sort(dim, descending))?.1))
    }
    /// Sorted along the first dimension (values only).
    fn msort(&self, py: Python<'_>) -> Res<PyTensor> {
        let t = &self.0;
        Ok(PyTensor::new(compute(py, t.numel(), || t.sort(0, false))?.0))
    }
    /// The `k` largest (or smallest) along `dim`: `(values, indices)`, largest first.
    #[pyo3(signature = (k, dim=-1, largest=true, sorted=true))]
    fn topk(
        &self,
        py: Python<'_>,
        k: i64,
        dim: i64,
        largest: bool,
        sorted: bool,
    ) -> Res<Py<PyAny>> {
        let _ = sorted; // always sorted
        let k = usize::try_from(k).map_err(|_| {
            raise(ErrorKind::Index, "topk", format!("k must be non-negative, got {k}"))
        })?;
        let t = &self.0;
        named_pair(py, "topk", compute(py, t.numel(), || t.topk(k, dim, largest))?)
    }
    /// The `k`-th smallest along `dim` (1-based): `(values, indices)`.
    #[pyo3(signature = (k, dim=-1, keepdim=false))]
    fn kthvalue(&self, py: Python<'_>, k: i64, dim: i64, keepdim: bool) -> Res<Py<PyAny>> {
        let t = &self.0;
        let k = usize::try_from(k).unwrap_or(0);
        named_pair(py, "kthvalue", compute(py, t.numel(), || t.kthvalue(k, dim, keepdim))?)
    }
    /// The lower median of all elements; with `dim`, `(values, indices)` along it. NaN
    /// wherever a NaN is present.
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn median(&self, py: Python<'_>, dim: Option<i64>, keepdim: bool) -> Res<Py<PyAny>> {
        self.median_forms(py, dim, keepdim, false)
    }
    /// `median` ignoring NaNs (NaN only where every element is NaN).
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn nanmedian(&self, py: Python<'_>, dim: Option<i64>, keepdim: bool) -> Res<Py<PyAny>> {
        self.median_forms(py, dim, keepdim, true)
    }
    /// The most frequent value along `dim` and its index: `(values, indices)`.
    #[pyo3(signature = (dim=-1, keepdim=false))]
    fn mode(&self, py: Python<'_>, dim: i64, keepdim: bool) -> Res<Py<PyAny>> {
        let t = &self.0;
        named_pair(py, "mode", compute(py, t.numel(), || t.mode(dim, keepdim))?)
    }
    /// Running maximum along `dim` and where it was reached: `(values, indices)`.
    fn cummax(&self, py: Python<'_>, dim: i64) -> Res<Py<PyAny>> {
        let t = &self.0;
        named_pair(py, "cummax", compute(py, t.numel(), || t.cum_extreme(Extreme::Max, dim))?)
    }
    /// Running minimum along `dim` and where it was reached: `(values, indices)`.
    fn cummin(&self, py: Python<'_>, dim: i64) -> Res<Py<PyAny>> {
        let t = &self.0;
        named_pair(py, "cummin", compute(py, t.numel(), || t.cum_extreme(Extreme::Min, dim))?)
    }
    /// `num_samples` category indices per row, drawn in proportion to the weights `self`
    /// (1-D or 2-D), int64.
    #[pyo3(signature = (num_samples, replacement=false, *, generator=None))]
    fn multinomial(
        &self,
        py: Python<'_>,
        num_samples: i64,
        replacement: bool,
        generator: Option<PyRef<'_, PyGenerator>>,
    ) -> Res<PyTensor> {
        let num_samples = usize::try_from(num_samples).unwrap_or(0);
        let (t, g) = (&self.0, generator.map(|g| g.0.clone()));
        Ok(PyTensor::new(compute(py, t.numel(), || {
            t.multinomial(num_samples, replacement, g.as_ref())
        })?))
    }
    /// 1 with probability `self` (or `p`), else 0, in `self`'s dtype.
    #[pyo3(signature = (p=None, *, generator=None))]
    fn bernoulli(
        &self,
        py: Python<'_>,
        p: Option<f64>,
        generator: Option<PyRef<'_, PyGenerator>>,
    ) -> Res<PyTensor> {
        let (t, g) = (&self.0, generator.map(|g| g.0.clone()));
        Ok(PyTensor::new(compute(py, t.numel(), || t.bernoulli(p, g.as_ref()))?))
    }
}

impl PyTensor {
    fn median_forms(
        &self,
        py: Python<'_>,
        dim: Option<i64>,
        keepdim: bool,
        ignore_nan: bool,
    ) -> Res<Py<PyAny>> {
        let t = &self.0;
        let name = if ignore_nan { "nanmedian" } else { "median" };
        match dim {
            None => {
                let out = compute(py, t.numel(), || t.median_all(ignore_nan))?;
                Ok(PyTensor::new(out).into_pyobject(py)?.into_any().unbind())
            }
            Some(dim) => {
                named_pair(py, name, compute(py, t.numel(), || t.median(dim, keepdim, ignore_nan))?)
            }
        }
    }
}
