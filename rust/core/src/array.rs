//! Dtype-erased n-dimensional arrays: the data a [`Tensor`](crate::Tensor) holds.
//!
//! [`Array`] is an `ArcArray` of `f32` or `f64`: cloning shares the buffer, and views
//! (transposes, slices, broadcasts) keep their strides instead of copying. Kernels are generic
//! over [`Element`] and reached through the `dispatch!` family of macros.

use crate::error::{fmt_shape, Error, Result};
use ndarray::{ArcArray, ArrayD, IxDyn, LinalgScalar, ScalarOperand};
use num_traits::{Float, FromPrimitive};
use std::fmt::{Debug, Display};

/// The element types a tensor can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// 32-bit IEEE float (the default for Python floats).
    F32,
    /// 64-bit IEEE float.
    F64,
}

impl DType {
    /// PyTorch-style name: `float32` or `float64`.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// Bytes per element.
    pub fn itemsize(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
        }
    }

    /// The dtype two operands are computed in: the wider of the two.
    pub fn promote(self, other: DType) -> DType {
        self.max(other)
    }
}

impl Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A float type the kernels are generic over.
pub trait Element:
    Float + FromPrimitive + LinalgScalar + ScalarOperand + Send + Sync + Debug + Display + 'static
{
    /// The dtype tag of this type.
    const DTYPE: DType;
    /// Wraps an array of this type into an [`Array`].
    fn wrap(a: ArcArray<Self, IxDyn>) -> Array;
    /// Converts an `f64` constant (exact for `f64`, rounded for `f32`).
    fn of(v: f64) -> Self;
    /// `e^x` in a form whose loops vectorise (see [`crate::math`]).
    fn fast_exp(self) -> Self;
    /// The error function (the `libm` crate's port of musl's `erf`/`erff`).
    fn erf(self) -> Self;
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
    fn wrap(a: ArcArray<f32, IxDyn>) -> Array {
        Array::F32(a)
    }
    fn of(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn fast_exp(self) -> Self {
        crate::math::exp_f32(self)
    }
    fn erf(self) -> Self {
        libm::erff(self)
    }
}

impl Element for f64 {
    const DTYPE: DType = DType::F64;
    fn wrap(a: ArcArray<f64, IxDyn>) -> Array {
        Array::F64(a)
    }
    fn of(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn fast_exp(self) -> Self {
        crate::math::exp_f64(self)
    }
    fn erf(self) -> Self {
        libm::erf(self)
    }
}

/// A shared, possibly strided n-dimensional array of `f32` or `f64`.
#[derive(Clone, Debug)]
pub enum Array {
    /// `float32` data.
    F32(ArcArray<f32, IxDyn>),
    /// `float64` data.
    F64(ArcArray<f64, IxDyn>),
}

/// Runs `$body` with `$a` bound to the typed array, whatever the dtype.
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch {
    ($arr:expr, $a:ident => $body:expr) => {
        match $arr {
            $crate::array::Array::F32($a) => $body,
            $crate::array::Array::F64($a) => $body,
        }
    };
}

/// Like `dispatch!`, but wraps the resulting `ArrayD`/`ArcArray` back into an [`Array`].
#[macro_export]
#[doc(hidden)]
macro_rules! map_array {
    ($arr:expr, $a:ident => $body:expr) => {
        match $arr {
            $crate::array::Array::F32($a) => $crate::array::Array::F32(($body).into_shared()),
            $crate::array::Array::F64($a) => $crate::array::Array::F64(($body).into_shared()),
        }
    };
}

/// Runs `$body` on two arrays of the same dtype; a dtype mismatch is an error.
#[macro_export]
#[doc(hidden)]
macro_rules! zip_array {
    ($op:expr, $x:expr, $y:expr, $a:ident, $b:ident => $body:expr) => {
        match ($x, $y) {
            ($crate::array::Array::F32($a), $crate::array::Array::F32($b)) => {
                $crate::array::Array::F32(($body).into_shared())
            }
            ($crate::array::Array::F64($a), $crate::array::Array::F64($b)) => {
                $crate::array::Array::F64(($body).into_shared())
            }
            (x, y) => return Err($crate::array::dtype_mismatch($op, x.dtype(), y.dtype())),
        }
    };
}

/// The error for two operands whose dtypes differ where the op needs them equal.
pub fn dtype_mismatch(op: &'static str, a: DType, b: DType) -> Error {
    Error::DType { op, message: format!("operands have different dtypes: {a} and {b}") }
}

/// Largest number of elements a tensor may have (keeps byte counts far from overflow).
pub const MAX_NUMEL: usize = 1 << 48;

/// Checks a requested shape and returns its element count, before anything is allocated.
pub fn checked_numel(op: &'static str, shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_NUMEL)
        .ok_or_else(|| {
            Error::value(
                op,
                format!("shape {} has too many elements to allocate", fmt_shape(shape)),
            )
        })
}

impl Array {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Array::F32(_) => DType::F32,
            Array::F64(_) => DType::F64,
        }
    }

    /// The extent of each axis.
    pub fn shape(&self) -> &[usize] {
        dispatch!(self, a => a.shape())
    }

    /// Number of axes.
    pub fn ndim(&self) -> usize {
        self.shape().len()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape().iter().product()
    }

    /// Bytes the elements occupy (what this array costs when it is kept alive).
    pub fn nbytes(&self) -> usize {
        self.numel() * self.dtype().itemsize()
    }

    /// An array of `value` with the given shape.
    pub fn full(shape: &[usize], value: f64, dtype: DType) -> Result<Array> {
        checked_numel("full", shape)?;
        Ok(match dtype {
            DType::F32 => Array::F32(ArcArray::from_elem(IxDyn(shape), value as f32)),
            DType::F64 => Array::F64(ArcArray::from_elem(IxDyn(shape), value)),
        })
    }

    /// An array of zeros.
    pub fn zeros(shape: &[usize], dtype: DType) -> Result<Array> {
        Array::full(shape, 0.0, dtype)
    }

    /// A 0-d array holding `value`.
    pub fn scalar(value: f64, dtype: DType) -> Array {
        match dtype {
            DType::F32 => Array::F32(ArcArray::from_elem(IxDyn(&[]), value as f32)),
            DType::F64 => Array::F64(ArcArray::from_elem(IxDyn(&[]), value)),
        }
    }

    /// Builds an array from row-major `f64` values, rounding to `dtype`.
    pub fn from_f64_vec(shape: &[usize], values: Vec<f64>, dtype: DType) -> Result<Array> {
        let n = checked_numel("tensor", shape)?;
        if n != values.len() {
            return Err(Error::shape(
                "tensor",
                format!("{} values do not fill shape {}", values.len(), fmt_shape(shape)),
            ));
        }
        let a = ArrayD::from_shape_vec(IxDyn(shape), values)
            .map_err(|e| Error::shape("tensor", e.to_string()))?;
        Ok(match dtype {
            DType::F64 => Array::F64(a.into_shared()),
            DType::F32 => Array::F32(a.mapv(|v| v as f32).into_shared()),
        })
    }

    /// Converts to another dtype (a cheap clone when it already has it).
    pub fn cast(&self, dtype: DType) -> Array {
        match (self, dtype) {
            (Array::F32(_), DType::F32) | (Array::F64(_), DType::F64) => self.clone(),
            (Array::F32(a), DType::F64) => Array::F64(a.mapv(f64::from).into_shared()),
            (Array::F64(a), DType::F32) => Array::F32(a.mapv(|v| v as f32).into_shared()),
        }
    }

    /// The elements in row-major order, widened to `f64`.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match self {
            Array::F32(a) => a.iter().map(|&v| f64::from(v)).collect(),
            Array::F64(a) => a.iter().copied().collect(),
        }
    }

    /// A copy in standard (C-contiguous) layout, or a cheap clone when it already is.
    pub fn to_contiguous(&self) -> Array {
        dispatch!(self, a => if a.is_standard_layout() {
            self.clone()
        } else {
            Element::wrap(a.as_standard_layout().into_owned().into_shared())
        })
    }

    /// The single element of a one-element array.
    pub fn item(&self) -> Option<f64> {
        if self.numel() != 1 {
            return None;
        }
        Some(match self {
            Array::F32(a) => f64::from(*a.iter().next()?),
            Array::F64(a) => *a.iter().next()?,
        })
    }

    /// Reshapes (copying only when the layout requires it). Element counts must match.
    pub fn reshape(&self, shape: &[usize]) -> Result<Array> {
        if checked_numel("reshape", shape)? != self.numel() {
            return Err(Error::shape(
                "reshape",
                format!(
                    "cannot reshape a tensor of shape {} ({} elements) into shape {} ({} elements)",
                    fmt_shape(self.shape()),
                    self.numel(),
                    fmt_shape(shape),
                    shape.iter().product::<usize>()
                ),
            ));
        }
        Ok(dispatch!(self, a => {
            let contiguous = if a.is_standard_layout() { a.clone() } else {
                a.as_standard_layout().into_owned().into_shared()
            };
            Element::wrap(
                contiguous
                    .into_shape_with_order(IxDyn(shape))
                    .map_err(|e| Error::shape("reshape", e.to_string()))?,
            )
        }))
    }

    /// A broadcast view of this array with the given shape (no copy).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Array> {
        broadcast_shapes("expand", self.shape(), shape)
            .ok()
            .filter(|s| s.as_slice() == shape)
            .ok_or_else(|| {
                Error::shape(
                    "expand",
                    format!(
                        "cannot broadcast shape {} to shape {}",
                        fmt_shape(self.shape()),
                        fmt_shape(shape)
                    ),
                )
            })?;
        Ok(dispatch!(self, a => Element::wrap(
            a.broadcast(IxDyn(shape))
                .expect("shape checked above")
                .to_shared()
        )))
    }
}

/// The NumPy broadcast of two shapes, or a [`Error::Broadcast`] naming both.
pub fn broadcast_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return Err(Error::Broadcast { op, lhs: fmt_shape(a), rhs: fmt_shape(b) }),
        };
    }
    Ok(out)
}

/// Normalises a possibly negative axis against `ndim`.
pub fn normalize_axis(op: &'static str, axis: i64, ndim: usize) -> Result<usize> {
    // A 0-d tensor accepts axis 0 and -1, as in PyTorch.
    let n = ndim.max(1) as i64;
    if axis < -n || axis >= n {
        return Err(Error::AxisOutOfRange { op, axis, ndim });
    }
    Ok(if axis < 0 { (axis + n) as usize } else { axis as usize })
}

/// Normalises a list of axes (None means all), rejecting repeats. Returns them sorted.
pub fn normalize_axes(op: &'static str, axes: Option<&[i64]>, ndim: usize) -> Result<Vec<usize>> {
    let Some(axes) = axes else { return Ok((0..ndim).collect()) };
    let mut out = Vec::with_capacity(axes.len());
    for &ax in axes {
        let a = normalize_axis(op, ax, ndim)?;
        if ndim == 0 {
            continue;
        }
        if out.contains(&a) {
            return Err(Error::Index {
                op,
                message: format!("dimension {ax} appears more than once"),
            });
        }
        out.push(a);
    }
    out.sort_unstable();
    Ok(out)
}
