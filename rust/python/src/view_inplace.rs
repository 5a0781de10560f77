//! In-place view ops on `Tensor` (`unsqueeze_`, `squeeze_`, `t_`, `transpose_`, `swapdims_`,
//! `swapaxes_`, `as_strided_`, `resize_`, `resize_as_`): the same Python object gets the new
//! shape and strides over the same storage (`tapegrad_core::ops::view_inplace`). Conversion
//! only; each returns the tensor itself, as PyTorch.

use crate::convert::{parse_dims, parse_shape_args, to_usize_shape};
use crate::errors::Res;
use crate::inplace::{as_tuple, matrix_t};
use crate::tensor::PyTensor;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyTensor {
    /// Inserts a dimension of size 1, in place.
    fn unsqueeze_(slf: Bound<'_, Self>, dim: i64) -> Res<Bound<'_, Self>> {
        slf.get().0.restride("unsqueeze_", |t| t.unsqueeze(dim))?;
        Ok(slf)
    }
    /// Removes dimensions of size 1 (all, or those in `dim`), in place.
    #[pyo3(signature = (dim=None))]
    fn squeeze_<'py>(
        slf: Bound<'py, Self>,
        dim: Option<&Bound<'py, PyAny>>,
    ) -> Res<Bound<'py, Self>> {
        let dims = parse_dims(dim)?;
        slf.get().0.restride("squeeze_", |t| t.squeeze(dims.as_deref()))?;
        Ok(slf)
    }
    /// Transposes a matrix in place (vectors and scalars stay as they are).
    fn t_(slf: Bound<'_, Self>) -> Res<Bound<'_, Self>> {
        let this = &slf.get().0;
        let view = matrix_t("t_", this)?;
        this.restride("t_", |_| Ok(view))?;
        Ok(slf)
    }
    /// Swaps two dimensions in place.
    fn transpose_(slf: Bound<'_, Self>, dim0: i64, dim1: i64) -> Res<Bound<'_, Self>> {
        slf.get().0.restride("transpose_", |t| t.transpose(dim0, dim1))?;
        Ok(slf)
    }
    /// `transpose_` (PyTorch's alias).
    fn swapdims_(slf: Bound<'_, Self>, dim0: i64, dim1: i64) -> Res<Bound<'_, Self>> {
        slf.get().0.restride("swapdims_", |t| t.transpose(dim0, dim1))?;
        Ok(slf)
    }
    /// `transpose_` (PyTorch's alias).
    fn swapaxes_(slf: Bound<'_, Self>, axis0: i64, axis1: i64) -> Res<Bound<'_, Self>> {
        slf.get().0.restride("swapaxes_", |t| t.transpose(axis0, axis1))?;
        Ok(slf)
    }
    /// Reads the storage with the given sizes, strides and storage offset, in place.
    #[pyo3(signature = (size, stride, storage_offset=None))]
    fn as_strided_<'py>(
        slf: Bound<'py, Self>,
        size: &Bound<'py, PyAny>,
        stride: &Bound<'py, PyAny>,
        storage_offset: Option<usize>,
    ) -> Res<Bound<'py, Self>> {
        let size = to_usize_shape("as_strided_", &parse_shape_args(&as_tuple(size)?)?)?;
        let stride = to_usize_shape("as_strided_", &parse_shape_args(&as_tuple(stride)?)?)?;
        slf.get().0.restride("as_strided_", |t| t.as_strided(&size, &stride, storage_offset))?;
        Ok(slf)
    }
    /// Reads the first elements of the storage in the given shape, growing it if needed.
    #[pyo3(signature = (*sizes, memory_format=None))]
    fn resize_<'py>(
        slf: Bound<'py, Self>,
        sizes: &Bound<'py, PyTuple>,
        memory_format: Option<&Bound<'py, PyAny>>,
    ) -> Res<Bound<'py, Self>> {
        let _ = memory_format;
        let shape = to_usize_shape("resize_", &parse_shape_args(sizes)?)?;
        slf.get().0.resize(&shape)?;
        Ok(slf)
    }
    /// `resize_` to `the_template`'s shape.
    #[pyo3(signature = (the_template, memory_format=None))]
    fn resize_as_<'py>(
        slf: Bound<'py, Self>,
        the_template: PyRef<'py, PyTensor>,
        memory_format: Option<&Bound<'py, PyAny>>,
    ) -> Res<Bound<'py, Self>> {
        let _ = memory_format;
        slf.get().0.resize(&the_template.0.shape())?;
        Ok(slf)
    }
}
