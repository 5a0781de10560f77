//! `Tensor` methods of integer and bool arithmetic (a separate `#[pymethods]` block): the
//! bitwise operators and functions, shifts, `//`, `true_divide`. Conversion only; the kernels
//! are the core's `ops/integer.rs`.

use crate::convert::{operand, Operand, PyNumber};
use crate::errors::{raise, Res};
use crate::tensor::{compute, PyTensor};
use pyo3::prelude::*;
use tapegrad_core::{ErrorKind, Tensor};

impl PyTensor {
    /// `f(self, other)`, or `f(other, self)` when `reflected`, with `other` converted.
    fn int_binary(
        &self,
        py: Python<'_>,
        other: &Operand<'_>,
        reflected: bool,
        f: fn(&Tensor, &Tensor) -> tapegrad_core::Result<Tensor>,
    ) -> Res<PyTensor> {
        let other = other.to_tensor(&self.0);
        let (a, b) = if reflected { (&other, &self.0) } else { (&self.0, &other) };
        Ok(PyTensor::new(compute(py, a.numel().max(b.numel()), || f(a, b))?))
    }
}

/// Refuses `int_tensor ** negative_python_int`, as PyTorch does (a negative exponent given as
/// a tensor truncates `1/x^n` instead, which the core computes).
pub fn check_int_power(base: &Tensor, exponent: &Operand<'_>) -> Res<()> {
    let integral = !base.dtype().is_floating_point();
    match exponent {
        Operand::Scalar(PyNumber::Int(n)) if integral && *n < 0 => Err(raise(
            ErrorKind::Value,
            "pow",
            "Integers to negative integer powers are not allowed.",
        )),
        _ => Ok(()),
    }
}

/// Refuses subtraction with a Python bool, as PyTorch does (`x - True`: the core sees the
/// number already converted to the promoted dtype, so the check is made here).
pub fn check_bool_sub(other: &Operand<'_>) -> Res<()> {
    match other {
        Operand::Scalar(PyNumber::Bool(_)) => Err(raise(
            ErrorKind::DType,
            "sub",
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are \
             trying to invert a mask, use the `~` or `logical_not()` operator instead.",
        )),
        _ => Ok(()),
    }
}

/// The operator dunders (with their reflected forms) and the named functions.
macro_rules! int_binary_methods {
    ($($(#[$doc:meta])* $method:ident $op:ident $rop:ident => $core:ident;)*) => {
        #[tapegrad_macros::numpy_spellings]
        #[tapegrad_macros::catch_panics]
        #[pymethods]
        impl PyTensor {
            $(
                $(#[$doc])*
                fn $method(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Res<PyTensor> {
                    let other = operand(stringify!($method), other)?;
                    self.int_binary(py, &other, false, Tensor::$core)
                }
                fn $op(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
                    self.int_binary(py, &other, false, Tensor::$core)
                }
                fn $rop(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
                    self.int_binary(py, &other, true, Tensor::$core)
                }
            )*
        }
    };
}

int_binary_methods! {
    /// `self & other` (integer and bool tensors).
    bitwise_and __and__ __rand__ => bitwise_and;
    /// `self | other` (integer and bool tensors).
    bitwise_or __or__ __ror__ => bitwise_or;
    /// `self ^ other` (integer and bool tensors).
    bitwise_xor __xor__ __rxor__ => bitwise_xor;
    /// `self << other` (integer tensors; a shift outside the width gives 0).
    bitwise_left_shift __lshift__ __rlshift__ => bitwise_left_shift;
    /// `self >> other` (integer tensors; arithmetic shift).
    bitwise_right_shift __rshift__ __rrshift__ => bitwise_right_shift;
}

#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyTensor {
    /// `~self`: bitwise complement of integers, logical not of bools.
    fn bitwise_not(&self) -> Res<PyTensor> {
        Ok(PyTensor::new(self.0.bitwise_not()?))
    }
    fn __invert__(&self) -> Res<PyTensor> {
        self.bitwise_not()
    }
    /// `self // other`: floor of the quotient (integers stay integers).
    fn floor_divide(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Res<PyTensor> {
        let other = operand("floor_divide", other)?;
        self.int_binary(py, &other, false, Tensor::floor_divide)
    }
    /// `self / other` (integers give the default float dtype).
    fn true_divide(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Res<PyTensor> {
        let other = operand("true_divide", other)?;
        self.int_binary(py, &other, false, Tensor::div)
    }
    /// `torch.divide`: `div` with an optional `rounding_mode` (`"trunc"` or `"floor"`).
    #[pyo3(signature = (other, *, rounding_mode=None))]
    fn divide(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        rounding_mode: Option<String>,
    ) -> Res<PyTensor> {
        self.div_rounding(py, other, rounding_mode)
    }
    /// Clamps into `[min, max]` (`clip` is PyTorch's alias of `clamp`).
    #[pyo3(signature = (min=None, max=None))]
    fn clip<'py>(
        slf: &Bound<'py, Self>,
        min: Option<&Bound<'py, PyAny>>,
        max: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        clamp_any(slf, min, max)
    }
}

/// `clamp(min, max)`: number bounds go to the core kernel; a tensor bound goes to the Python
/// composite `tapegrad._math_aliases.clamp_tensors` (broadcasting and a gradient for the bounds).
pub fn clamp_any<'py>(
    slf: &Bound<'py, PyTensor>,
    min: Option<&Bound<'py, PyAny>>,
    max: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = slf.py();
    let is_tensor =
        |b: Option<&Bound<'py, PyAny>>| b.is_some_and(|b| b.is_instance_of::<PyTensor>());
    if is_tensor(min) || is_tensor(max) {
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("min", min)?;
        kwargs.set_item("max", max)?;
        let args = pyo3::types::PyTuple::empty(py);
        let module = "tapegrad._math_aliases";
        return crate::tensor_extra::composite(slf, module, "clamp_tensors", &args, Some(&kwargs));
    }
    let out = slf.borrow().clamp_bounds(min, max)?;
    Ok(Bound::new(py, out)?.into_any())
}

impl PyTensor {
    /// `div(other, rounding_mode=)`, shared by `div` and `divide`.
    pub fn div_rounding(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        rounding_mode: Option<String>,
    ) -> Res<PyTensor> {
        let other = operand("div", other)?.to_tensor(&self.0);
        let a = &self.0;
        let n = a.numel().max(other.numel());
        Ok(PyTensor::new(compute(py, n, || a.div_mode(&other, rounding_mode.as_deref()))?))
    }

    /// `clamp(min, max)` with Python-number bounds, which take part in promotion.
    pub fn clamp_bounds(
        &self,
        min: Option<&Bound<'_, PyAny>>,
        max: Option<&Bound<'_, PyAny>>,
    ) -> Res<PyTensor> {
        let bound = |b: Option<&Bound<'_, PyAny>>| -> Res<Option<PyNumber>> {
            match b.filter(|b| !b.is_none()) {
                None => Ok(None),
                Some(b) => b.extract::<PyNumber>().map(Some).map_err(|_| {
                    crate::convert::wrong_type("clamp", "min and max must be numbers or None", b)
                }),
            }
        };
        let (min, max) = (bound(min)?, bound(max)?);
        Ok(PyTensor::new(self.0.clamp_values(min.map(PyNumber::value), max.map(PyNumber::value))?))
    }
}
