//! Conversions between Python objects and core values: dtypes, operands, NumPy arrays, dims,
//! shapes and index expressions. No maths here.

use crate::errors::{raise, Failure, Res};
use crate::tensor::PyTensor;
use numpy::{IntoPyArray, PyReadonlyArrayDyn, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyEllipsis, PyList, PySlice, PyTuple};
use tapegrad_core::{
    Array, DType, ErrorKind, IndexItem, Operand as PromotionOperand, ScalarValue, Tensor,
};

/// A tensor element type: `tapegrad.bool`, `uint8`, `int8`, `int16`, `int32`, `int64`,
/// `float32` or `float64`.
#[pyclass(name = "dtype", module = "tapegrad", frozen, eq, hash)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyDType(pub DType);

#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyDType {
    fn __repr__(&self) -> String {
        format!("tapegrad.{}", self.0.name())
    }
    fn __str__(&self) -> String {
        self.__repr__()
    }
    /// Bytes per element.
    #[getter]
    fn itemsize(&self) -> usize {
        self.0.itemsize()
    }
    /// True for float32 and float64.
    #[getter]
    fn is_floating_point(&self) -> bool {
        self.0.is_floating_point()
    }
    /// True when the dtype holds negative values.
    #[getter]
    fn is_signed(&self) -> bool {
        self.0.is_signed()
    }
    /// Always False: tapegrad has no complex dtypes.
    #[getter]
    fn is_complex(&self) -> bool {
        false
    }
    /// The matching NumPy dtype name.
    #[getter]
    fn name(&self) -> &'static str {
        self.0.name()
    }
}

/// Reads a `dtype=` argument: a tapegrad dtype, a name, or anything `numpy.dtype` accepts.
pub fn parse_dtype(obj: Option<&Bound<'_, PyAny>>) -> Res<Option<DType>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    if let Ok(d) = obj.cast::<PyDType>() {
        return Ok(Some(d.get().0));
    }
    let name: String = match obj.extract::<String>() {
        Ok(s) => s,
        Err(_) => {
            let np = obj.py().import("numpy")?;
            match np.getattr("dtype")?.call1((obj,)) {
                Ok(d) => d.getattr("name")?.extract()?,
                Err(_) => {
                    return Err(raise(
                        ErrorKind::DType,
                        "dtype",
                        format!("{} is not a dtype", obj.repr()?),
                    ))
                }
            }
        }
    };
    match name.as_str() {
        "bool" => Ok(Some(DType::Bool)),
        "uint8" => Ok(Some(DType::U8)),
        "int8" => Ok(Some(DType::I8)),
        "int16" | "short" => Ok(Some(DType::I16)),
        "int32" | "int" => Ok(Some(DType::I32)),
        "int64" | "long" => Ok(Some(DType::I64)),
        "float32" | "float" => Ok(Some(DType::F32)),
        "float64" | "double" => Ok(Some(DType::F64)),
        other => Err(raise(
            ErrorKind::DType,
            "dtype",
            format!(
                "dtype {other} is not supported: tapegrad tensors are bool, uint8, int8, int16, \
                 int32, int64, float32 or float64"
            ),
        )),
    }
}

/// A Python number: bool, int or float (tried in that order, since a bool is an int).
#[derive(FromPyObject, Clone, Copy)]
pub enum PyNumber {
    /// `True` or `False`.
    Bool(bool),
    /// A Python int (within int64).
    Int(i64),
    /// A Python float (or anything with `__float__`).
    Float(f64),
}

/// `obj` as a number when it is exactly a Python float, bool or int within int64, read
/// without trying the other kinds first; `None` for anything else (NumPy scalars, objects
/// with `__float__`, big ints), which the derived extraction handles.
pub fn exact_number(obj: &Bound<'_, PyAny>) -> Option<PyNumber> {
    use pyo3::types::{PyBool, PyFloat, PyInt};
    if let Ok(f) = obj.cast_exact::<PyFloat>() {
        return Some(PyNumber::Float(f.value()));
    }
    if let Ok(b) = obj.cast_exact::<PyBool>() {
        return Some(PyNumber::Bool(b.is_true()));
    }
    if obj.is_exact_instance_of::<PyInt>() {
        return obj.extract::<i64>().ok().map(PyNumber::Int);
    }
    None
}

impl PyNumber {
    /// The core's value.
    pub fn value(self) -> ScalarValue {
        match self {
            PyNumber::Bool(b) => ScalarValue::Bool(b),
            PyNumber::Int(i) => ScalarValue::Int(i),
            PyNumber::Float(v) => ScalarValue::Float(v),
        }
    }
    /// How promotion sees it: bool, int64 or a float (the default dtype).
    pub fn operand(self) -> PromotionOperand {
        PromotionOperand::Number(match self {
            PyNumber::Bool(_) => DType::Bool,
            PyNumber::Int(_) => DType::I64,
            PyNumber::Float(_) => DType::F64,
        })
    }
    /// The dtype a tensor built from this number alone gets (`tensor(3)` is int64).
    pub fn dtype(self) -> DType {
        match self {
            PyNumber::Bool(_) => DType::Bool,
            PyNumber::Int(_) => DType::I64,
            PyNumber::Float(_) => tapegrad_core::default_float_dtype(),
        }
    }
}

/// The other operand of an arithmetic operator: a tensor, a NumPy array or a Python number.
#[derive(FromPyObject)]
pub enum Operand<'py> {
    /// A tensor.
    Tensor(PyRef<'py, PyTensor>),
    /// A NumPy array (before `Scalar`, so that a one-element array keeps its shape).
    NumPy(#[pyo3(from_py_with = numpy_operand)] Array),
    /// A Python int, float or bool, or a NumPy scalar.
    Scalar(PyNumber),
}

impl Operand<'_> {
    /// The operand as a tensor; a number becomes a 0-d tensor of the dtype
    /// `torch.result_type(like, number)` gives (PyTorch's promotion rule).
    pub fn to_tensor(&self, like: &Tensor) -> Tensor {
        match self {
            Operand::Tensor(t) => t.0.clone(),
            Operand::NumPy(a) => Tensor::from_array(a.clone()),
            Operand::Scalar(v) => {
                let operands = [PromotionOperand::tensor(like.dtype(), like.ndim()), v.operand()];
                let dtype = tapegrad_core::result_type(&operands).expect("two operands");
                // An int or bool number next to a tensor with dimensions stays exact, as a 0-d
                // int64 or bool tensor: promotion gives the same dtype (a 0-d operand only
                // raises the category) and casts it there, wrapping as PyTorch, while a float
                // function of integers (`u8 / -2`) sees the number itself, as in PyTorch.
                let exact = !dtype.is_floating_point() && like.ndim() > 0;
                let dtype = if exact { v.dtype() } else { dtype };
                Tensor::from_array(Array::scalar_value(v.value(), dtype))
            }
        }
    }
}

/// Reads a NumPy array operand, keeping its dtype (NumPy defers its operators to tensors, see
/// `Tensor.__array_ufunc__`, so `ndarray * tensor` arrives here as `tensor.__rmul__`); it then
/// promotes as a tensor does, as PyTorch's `torch.as_tensor(ndarray)` would.
fn numpy_operand(obj: &Bound<'_, PyAny>) -> PyResult<Array> {
    obj.cast::<PyUntypedArray>()?;
    array_from_numpy(obj).map_err(PyErr::from)
}

/// Copies a native-order NumPy array of a supported dtype into core data, keeping its dtype.
pub fn array_from_numpy(obj: &Bound<'_, PyAny>) -> Res<Array> {
    macro_rules! try_dtype {
        ($($t:ty => $variant:ident),*) => {$(
            if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<'_, $t>>() {
                let copy = tapegrad_core::alloc::try_map("tensor", a.as_array(), |&v| v)?;
                return Ok(Array::$variant(copy.into_shared()));
            }
        )*};
    }
    try_dtype!(f64 => F64, f32 => F32, i64 => I64, i32 => I32, i16 => I16, i8 => I8, u8 => U8,
        bool => Bool);
    let dtype = obj
        .getattr("dtype")
        .and_then(|d| d.str().map(|s| s.to_string()))
        .unwrap_or_else(|_| type_name(obj));
    Err(raise(
        ErrorKind::DType,
        "from_numpy",
        format!(
            "NumPy dtype {dtype} is not supported: tapegrad tensors are bool, uint8, int8, int16, \
             int32, int64, float32 or float64"
        ),
    ))
}

/// Copies core data into a new NumPy array of the same dtype. The shape is checked against
/// NumPy's own limit first (its non-zero extents times the item size must fit `isize`: NumPy
/// cannot even describe a larger empty array), and the copy is reserved fallibly.
pub fn array_to_numpy<'py>(py: Python<'py>, a: &Array) -> Res<Bound<'py, PyAny>> {
    const OP: &str = "numpy";
    let fits = a
        .shape()
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(a.dtype().itemsize(), |acc, &d| acc.checked_mul(d))
        .is_some_and(|bytes| isize::try_from(bytes).is_ok());
    if !fits {
        return Err(raise(
            ErrorKind::Value,
            OP,
            format!(
                "a tensor of shape {:?} and dtype {} is too large for NumPy",
                a.shape(),
                a.dtype()
            ),
        ));
    }
    macro_rules! copy {
        ($x:expr) => {
            tapegrad_core::alloc::try_map(OP, $x, |&v| v)?.into_pyarray(py).into_any()
        };
    }
    Ok(match a {
        Array::Bool(x) => copy!(x),
        Array::U8(x) => copy!(x),
        Array::I8(x) => copy!(x),
        Array::I16(x) => copy!(x),
        Array::I32(x) => copy!(x),
        Array::I64(x) => copy!(x),
        Array::F32(x) => copy!(x),
        Array::F64(x) => copy!(x),
    })
}

/// Reads a `dim=` argument: None, an int, or a sequence of ints.
pub fn parse_dims(obj: Option<&Bound<'_, PyAny>>) -> Res<Option<Vec<i64>>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    if let Ok(d) = obj.extract::<i64>() {
        return Ok(Some(vec![d]));
    }
    obj.extract::<Vec<i64>>().map(Some).map_err(|_| {
        raise(
            ErrorKind::DType,
            "dim",
            format!("dim must be an int, a tuple of ints or None, got {}", type_name(obj)),
        )
    })
}

/// One parameter given under PyTorch's name or NumPy's (`dim`/`axis`, `keepdim`/`keepdims`),
/// as PyTorch's argument parser accepts (`P.sum(1, keepdims=True)` in many tutorials); both
/// at once is a `TypeError`, as in PyTorch. Called by the code `#[numpy_spellings]` writes.
pub fn one_spelling<T>(
    op: &str,
    name: &str,
    alias: &str,
    value: Option<T>,
    alias_value: Option<T>,
) -> PyResult<Option<T>> {
    match (value, alias_value) {
        (Some(_), Some(_)) => Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{op}() got both {name} and its NumPy spelling {alias}: give one of them"
        ))),
        (value, None) => Ok(value),
        (None, alias_value) => Ok(alias_value),
    }
}

/// `one_spelling` for a parameter with a default other than None (`dim=-1`,
/// `keepdim=false`): the NumPy spelling, when given, replaces `value` if that is still the
/// default, and is a `TypeError` otherwise.
pub fn spelled_or_default<T: PartialEq>(
    op: &str,
    name: &str,
    alias: &str,
    value: T,
    default: T,
    alias_value: Option<T>,
) -> PyResult<T> {
    match alias_value {
        None => Ok(value),
        Some(alias_value) if value == default => Ok(alias_value),
        Some(_) => Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{op}() got both {name} and its NumPy spelling {alias}: give one of them"
        ))),
    }
}

/// PyTorch's error for a required parameter given under neither spelling.
pub fn missing_argument(op: &str, name: &str) -> PyErr {
    pyo3::exceptions::PyTypeError::new_err(format!(
        "{op}() missing 1 required positional argument: \"{name}\""
    ))
}

/// Reads a shape given as varargs (`zeros(2, 3)`) or as one sequence (`zeros((2, 3))`).
pub fn parse_shape_args(args: &Bound<'_, PyTuple>) -> Res<Vec<i64>> {
    if args.len() == 1 {
        let first = args.get_item(0)?;
        if first.is_instance_of::<PyTuple>() || first.is_instance_of::<PyList>() {
            return parse_shape(&first);
        }
        if let Ok(size) = first.getattr("__class__").and_then(|c| c.getattr("__name__")) {
            if size.extract::<String>().is_ok_and(|n| n == "Size") {
                return parse_shape(&first);
            }
        }
    }
    parse_shape(args.as_any())
}

/// Reads a shape: a sequence of ints.
pub fn parse_shape(obj: &Bound<'_, PyAny>) -> Res<Vec<i64>> {
    if let Ok(n) = obj.extract::<i64>() {
        return Ok(vec![n]);
    }
    let shown = || obj.repr().map(|r| r.to_string()).unwrap_or_default();
    let items: Vec<Bound<'_, PyAny>> = match obj.try_iter() {
        Ok(it) => it.collect::<PyResult<_>>()?,
        Err(_) => {
            return Err(raise(
                ErrorKind::DType,
                "shape",
                format!("a shape must be a sequence of ints, got {}", shown()),
            ))
        }
    };
    items
        .iter()
        .map(|d| {
            if !d.is_instance_of::<pyo3::types::PyInt>() && d.call_method0("__index__").is_err() {
                return Err(raise(
                    ErrorKind::DType,
                    "shape",
                    format!("a shape must be a sequence of ints, got {}", shown()),
                ));
            }
            d.extract::<i64>().map_err(|_| {
                raise(
                    ErrorKind::Value,
                    "shape",
                    format!("dimension {} in shape {} is too large", d, shown()),
                )
            })
        })
        .collect()
}

/// Checks that no dimension is negative.
pub fn to_usize_shape(op: &'static str, shape: &[i64]) -> Res<Vec<usize>> {
    shape
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| {
                let shown: Vec<String> = shape.iter().map(i64::to_string).collect();
                let comma = if shape.len() == 1 { "," } else { "" };
                let shape = format!("({}{comma})", shown.join(", "));
                raise(ErrorKind::Value, op, format!("negative dimension {d} in shape {shape}"))
            })
        })
        .collect()
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

fn optional_i64(obj: &Bound<'_, PyAny>) -> Res<Option<i64>> {
    if obj.is_none() {
        return Ok(None);
    }
    // Anything with __index__ (ints, NumPy ints), as Python slices accept.
    let index = obj.call_method0("__index__").map_err(|_| {
        raise(
            ErrorKind::DType,
            "index",
            format!("slice indices must be integers or None, got {}", type_name(obj)),
        )
    })?;
    // Python clamps huge slice bounds to the axis; saturating keeps that meaning.
    Ok(Some(index.extract::<i64>().unwrap_or_else(|_| {
        if index.lt(0).unwrap_or(false) {
            i64::MIN
        } else {
            i64::MAX
        }
    })))
}

fn index_item(obj: &Bound<'_, PyAny>) -> Res<IndexItem> {
    if obj.is_none() {
        return Ok(IndexItem::NewAxis);
    }
    if obj.is_instance_of::<PyEllipsis>() {
        return Ok(IndexItem::Ellipsis);
    }
    if let Ok(slice) = obj.cast::<PySlice>() {
        let step = optional_i64(&slice.getattr("step")?)?.unwrap_or(1);
        return Ok(IndexItem::Slice {
            start: optional_i64(&slice.getattr("start")?)?,
            stop: optional_i64(&slice.getattr("stop")?)?,
            step,
        });
    }
    if obj.is_instance_of::<pyo3::types::PyBool>() {
        return Err(raise(
            ErrorKind::DType,
            "index",
            "a bare True/False index is not supported; index with a bool mask tensor",
        ));
    }
    // Tensors first: a one-element tensor also converts to an int (`__index__`), but
    // `x[t]` keeps `t`'s dimensions.
    if let Ok(t) = obj.extract::<PyRef<'_, PyTensor>>() {
        return tensor_index(&t.0);
    }
    if let Ok(i) = obj.extract::<i64>() {
        return Ok(IndexItem::Int(i));
    }
    if obj.is_instance_of::<pyo3::types::PyInt>() {
        // Beyond int64 (NumPy would wrap 2**64 - 1 to -1 below): out of range for any axis.
        return Err(raise(
            ErrorKind::Index,
            "index",
            format!("index {obj} is out of range (indices must fit in int64)"),
        ));
    }
    // Lists and NumPy arrays of integers.
    let np = obj.py().import("numpy")?;
    let arr = np.call_method1("asarray", (obj,)).map_err(|_| {
        raise(ErrorKind::DType, "index", format!("cannot index with {}", type_name(obj)))
    })?;
    let kind: String = arr.getattr("dtype")?.getattr("kind")?.extract()?;
    match kind.as_str() {
        "i" => {}
        "u" => {
            // uint64 values past int64 would wrap to negative indices in the cast below.
            let size: usize = arr.getattr("size")?.extract()?;
            if size > 0 && arr.call_method0("max")?.gt(i64::MAX)? {
                return Err(raise(
                    ErrorKind::Index,
                    "index",
                    format!(
                        "index {} is out of range (indices must fit in int64)",
                        arr.call_method0("max")?
                    ),
                ));
            }
        }
        "b" => {
            let arr = np.call_method1("asarray", (arr, "bool", "C"))?;
            let typed: PyReadonlyArrayDyn<'_, bool> = arr.extract()?;
            return Ok(IndexItem::Mask {
                values: typed.as_array().iter().copied().collect(),
                shape: typed.shape().to_vec(),
            });
        }
        _ if arr.getattr("size")?.extract::<usize>()? == 0 => {}
        _ => {
            return Err(raise(
                ErrorKind::DType,
                "index",
                format!("index arrays must hold integers, got dtype {kind}"),
            ))
        }
    }
    let arr = np.call_method1("asarray", (arr, "int64", "C"))?;
    let typed: PyReadonlyArrayDyn<'_, i64> = arr.extract()?;
    Ok(IndexItem::Array {
        indices: typed.as_array().iter().copied().collect(),
        shape: typed.shape().to_vec(),
    })
}

/// An integer tensor as an index array, a bool tensor as a mask; floats are refused.
fn tensor_index(t: &Tensor) -> Res<IndexItem> {
    let shape = t.shape();
    match t.array() {
        Array::Bool(a) => Ok(IndexItem::Mask { values: a.iter().copied().collect(), shape }),
        other @ (Array::F32(_) | Array::F64(_)) => Err(raise(
            ErrorKind::DType,
            "index",
            format!(
                "tensors used as indices must be long, int, byte or bool tensors, got {}",
                other.dtype()
            ),
        )),
        other => match other.cast(DType::I64) {
            Array::I64(a) => Ok(IndexItem::Array { indices: a.iter().copied().collect(), shape }),
            cast => {
                Err(raise(ErrorKind::DType, "index", format!("cannot index with {}", cast.dtype())))
            }
        },
    }
}

/// Reads a `x[key]` expression.
pub fn parse_index(key: &Bound<'_, PyAny>) -> Res<Vec<IndexItem>> {
    if let Ok(t) = key.cast::<PyTuple>() {
        return t.iter().map(|k| index_item(&k)).collect();
    }
    Ok(vec![index_item(key)?])
}

/// Reads a list of tensors.
pub fn tensor_list(obj: &Bound<'_, PyAny>, op: &'static str) -> Res<Vec<Tensor>> {
    let items: Vec<Bound<'_, PyAny>> = obj
        .try_iter()
        .map_err(|_| {
            raise(
                ErrorKind::DType,
                op,
                format!("expected a sequence of tensors, got {}", type_name(obj)),
            )
        })?
        .collect::<PyResult<_>>()?;
    items
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.extract::<PyRef<'_, PyTensor>>().map(|t| t.0.clone()).map_err(|_| {
                raise(
                    ErrorKind::DType,
                    op,
                    format!("element {i} is {}, not a Tensor", type_name(t)),
                )
            })
        })
        .collect()
}

/// Failure helper for conversions that found the wrong Python type.
pub fn wrong_type(op: &'static str, what: &str, obj: &Bound<'_, PyAny>) -> Failure {
    raise(ErrorKind::DType, op, format!("{what}, got {}", type_name(obj)))
}

/// Reads an operand of a named method (`x.add(y)`), with a clear error for anything else.
pub fn operand<'py>(op: &'static str, obj: &Bound<'py, PyAny>) -> Res<Operand<'py>> {
    // The common kinds first, by type: the derived extraction tries the variants in turn,
    // and each failed try builds an error message (several µs for `x.mul_(2.0)`).
    if let Ok(t) = obj.cast::<PyTensor>() {
        return Ok(Operand::Tensor(t.borrow()));
    }
    if let Some(n) = exact_number(obj) {
        return Ok(Operand::Scalar(n));
    }
    obj.extract::<Operand<'py>>().map_err(|_| {
        raise(
            ErrorKind::DType,
            op,
            format!("expected a Tensor or a number, got {}", type_name(obj)),
        )
    })
}
