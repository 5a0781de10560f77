//! Dtype conversions of tensors and PyTorch's promotion functions (`result_type`,
//! `promote_types`, `can_cast`, the default dtype). Conversion only: the rules live in the
//! core's `promotion` module.

use crate::convert::{parse_dtype, parse_shape, to_usize_shape, PyDType, PyNumber};
use crate::errors::{raise, Res};
use crate::tensor::PyTensor;
use pyo3::prelude::*;
use tapegrad_core::error::fmt_shape;
use tapegrad_core::ops::reduce::Extreme;
use tapegrad_core::{DType, ErrorKind, Operand, ScalarValue, Tensor};

/// Reads a dtype argument that must be given.
fn required_dtype(op: &'static str, obj: &Bound<'_, PyAny>) -> Res<DType> {
    parse_dtype(Some(obj))?.ok_or_else(|| raise(ErrorKind::DType, op, "expected a dtype, got None"))
}

impl PyTensor {
    /// The single element, or a ShapeError naming the shape.
    pub(crate) fn one_value(&self, op: &'static str) -> Res<ScalarValue> {
        self.0.array().item_value().ok_or_else(|| {
            raise(
                ErrorKind::Shape,
                op,
                format!(
                    "a tensor with {} elements (shape {}) cannot be converted to a Python scalar",
                    self.0.numel(),
                    fmt_shape(&self.0.shape())
                ),
            )
        })
    }

    fn cast(&self, dtype: DType) -> Res<PyTensor> {
        Ok(PyTensor::new(self.0.to_dtype(dtype)?))
    }
}

#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyTensor {
    /// True for float32 and float64 tensors.
    fn is_floating_point(&self) -> bool {
        self.0.dtype().is_floating_point()
    }
    /// True when the dtype holds negative values.
    fn is_signed(&self) -> bool {
        self.0.dtype().is_signed()
    }
    /// Bytes per element.
    fn element_size(&self) -> usize {
        self.0.dtype().itemsize()
    }
    /// As int64.
    fn long(&self) -> Res<PyTensor> {
        self.cast(DType::I64)
    }
    /// As int32.
    fn int(&self) -> Res<PyTensor> {
        self.cast(DType::I32)
    }
    /// As int16.
    fn short(&self) -> Res<PyTensor> {
        self.cast(DType::I16)
    }
    /// As int8.
    fn char(&self) -> Res<PyTensor> {
        self.cast(DType::I8)
    }
    /// As uint8.
    fn byte(&self) -> Res<PyTensor> {
        self.cast(DType::U8)
    }
    /// As bool (`v != 0`).
    fn bool(&self) -> Res<PyTensor> {
        self.cast(DType::Bool)
    }
    /// The index of the largest element (over `dim`, or of the flattened tensor), int64.
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn argmax(&self, dim: Option<i64>, keepdim: bool) -> Res<PyTensor> {
        Ok(PyTensor::new(self.0.arg_extreme(Extreme::Max, dim, keepdim)?))
    }
    /// The index of the smallest element (over `dim`, or of the flattened tensor), int64.
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn argmin(&self, dim: Option<i64>, keepdim: bool) -> Res<PyTensor> {
        Ok(PyTensor::new(self.0.arg_extreme(Extreme::Min, dim, keepdim)?))
    }
    fn __index__(&self) -> Res<i64> {
        match self.one_value("index")? {
            ScalarValue::Int(i) => Ok(i),
            ScalarValue::Bool(b) => Ok(i64::from(b)),
            ScalarValue::Float(_) => Err(raise(
                ErrorKind::DType,
                "index",
                "only integer tensors of a single element can be converted to an index",
            )),
        }
    }
}

/// One operand of `result_type`: a tensor or a Python number.
#[derive(FromPyObject)]
enum PromotionArg<'py> {
    Tensor(PyRef<'py, PyTensor>),
    Number(PyNumber),
}

impl PromotionArg<'_> {
    fn operand(&self) -> Operand {
        match self {
            PromotionArg::Tensor(t) => Operand::tensor(t.0.dtype(), t.0.ndim()),
            PromotionArg::Number(n) => n.operand(),
        }
    }
}

fn promotion_arg<'py>(obj: &Bound<'py, PyAny>) -> Res<PromotionArg<'py>> {
    obj.extract::<PromotionArg<'py>>().map_err(|_| {
        raise(
            ErrorKind::DType,
            "result_type",
            format!("expected a Tensor or a number, got {}", obj.get_type()),
        )
    })
}

/// The dtype an op on `tensor` and `other` computes in (PyTorch's `torch.result_type`).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn result_type(tensor: &Bound<'_, PyAny>, other: &Bound<'_, PyAny>) -> Res<PyDType> {
    let operands = [promotion_arg(tensor)?.operand(), promotion_arg(other)?.operand()];
    Ok(PyDType(tapegrad_core::result_type(&operands).expect("two operands")))
}

/// The smallest dtype both `type1` and `type2` cast to (PyTorch's `torch.promote_types`).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn promote_types(type1: &Bound<'_, PyAny>, type2: &Bound<'_, PyAny>) -> Res<PyDType> {
    let a = required_dtype("promote_types", type1)?;
    let b = required_dtype("promote_types", type2)?;
    Ok(PyDType(a.promote(b)))
}

/// Whether PyTorch's casting rules allow `from_` to `to` (`torch.can_cast`).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(name = "can_cast")]
fn can_cast(from_: &Bound<'_, PyAny>, to: &Bound<'_, PyAny>) -> Res<bool> {
    Ok(required_dtype("can_cast", from_)?.can_cast(required_dtype("can_cast", to)?))
}

/// The dtype Python floats give (`float32` unless changed).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn get_default_dtype() -> PyDType {
    PyDType(tapegrad_core::default_float_dtype())
}

/// Sets the dtype Python floats give: `float32` or `float64`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn set_default_dtype(d: &Bound<'_, PyAny>) -> Res<()> {
    Ok(tapegrad_core::set_default_float_dtype(required_dtype("set_default_dtype", d)?)?)
}

/// A 0-d or filled tensor of a Python number, exact for large ints (`full(..., 2**60)`).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (shape, value, dtype=None))]
fn _full_value(
    shape: &Bound<'_, PyAny>,
    value: PyNumber,
    dtype: Option<&Bound<'_, PyAny>>,
) -> Res<PyTensor> {
    let shape = to_usize_shape("full", &parse_shape(shape)?)?;
    let dtype = parse_dtype(dtype)?.unwrap_or(value.dtype());
    let data = tapegrad_core::Array::full_value(&shape, value.value(), dtype)?;
    Ok(PyTensor::new(Tensor::from_array(data)))
}

/// Adds the functions of this file to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(result_type, m)?)?;
    m.add_function(wrap_pyfunction!(promote_types, m)?)?;
    m.add_function(wrap_pyfunction!(can_cast, m)?)?;
    m.add_function(wrap_pyfunction!(get_default_dtype, m)?)?;
    m.add_function(wrap_pyfunction!(set_default_dtype, m)?)?;
    m.add_function(wrap_pyfunction!(_full_value, m)?)?;
    Ok(())
}
