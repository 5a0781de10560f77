//! In-place operations and storage metadata on `Tensor` (a separate `#[pymethods]` block):
//! the one in-place mechanism (`_update_`), `copy_`, `fill_`, `zero_`, `.data`, `_base`,
//! strides and views from explicit strides. The `_`-suffixed forms of the other ops and the
//! augmented operators are Python composites (`tapegrad/_inplace.py`) over `_update_`.
//! Conversion only.

use crate::convert::{parse_shape_args, to_usize_shape, Operand, PyNumber};
use crate::errors::{external, Failure, Res};
use crate::tensor::PyTensor;
use crate::tensor_extra::composite_methods;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyTensor {
    /// Replaces the value in place by `fn(current)`, the out-of-place result of the op this
    /// in-place form stands for (see `tapegrad._inplace`); returns the tensor itself.
    fn _update_<'py>(
        slf: Bound<'py, Self>,
        op: &str,
        function: Bound<'py, PyAny>,
    ) -> Res<Bound<'py, Self>> {
        let py = slf.py();
        slf.get().0.update(op, |current| {
            let result = function.call1((PyTensor::new(current.clone()),)).map_err(external)?;
            let tensor = result.cast::<PyTensor>().map_err(|e| external(e.into()))?;
            let _ = py;
            Ok(tensor.get().0.clone())
        })?;
        Ok(slf)
    }

    /// `self op= alpha * other` straight into the storage when nothing is recorded and the
    /// float dtypes agree (no allocation); False when the general mechanism must run.
    #[pyo3(signature = (op, other, alpha=1.0))]
    fn _arith_(&self, op: &str, other: Operand<'_>, alpha: f64) -> Res<bool> {
        use tapegrad_core::ops::inplace::Arith;
        let op = match op {
            "add" => Arith::Add,
            "sub" => Arith::Sub,
            "mul" => Arith::Mul,
            "div" => Arith::Div,
            _ => return Ok(false),
        };
        Ok(self.0.arith_in_place(op, &other.to_tensor(&self.0), alpha)?)
    }

    /// Copies `src` (broadcast to this tensor's shape, cast to its dtype) into this tensor.
    #[pyo3(signature = (src, non_blocking=false))]
    fn copy_<'py>(
        slf: Bound<'py, Self>,
        src: Operand<'_>,
        non_blocking: bool,
    ) -> Res<Bound<'py, Self>> {
        let _ = non_blocking;
        let this = &slf.get().0;
        this.copy_from(&src.to_tensor(this))?;
        Ok(slf)
    }

    /// Sets every element to `value` (a number or a one-element tensor).
    fn fill_<'py>(slf: Bound<'py, Self>, value: Operand<'_>) -> Res<Bound<'py, Self>> {
        let this = &slf.get().0;
        match value {
            Operand::Scalar(v) => this.fill_with(v.value())?,
            other => {
                let t = other.to_tensor(this);
                if t.numel() != 1 || t.ndim() != 0 {
                    return Err(crate::errors::raise(
                        tapegrad_core::ErrorKind::Shape,
                        "fill_",
                        format!(
                            "fill_ only supports 0-dimension value tensor but got tensor with {} \
                             dimensions",
                            t.ndim()
                        ),
                    ));
                }
                this.copy_from(&t)?
            }
        }
        Ok(slf)
    }

    /// Sets every element to zero.
    fn zero_(slf: Bound<'_, Self>) -> Res<Bound<'_, Self>> {
        slf.get().0.fill_with(PyNumber::Int(0).value())?;
        Ok(slf)
    }

    /// A tensor sharing this one's storage, cut from the graph (`p.data`).
    #[getter]
    fn data(&self) -> PyTensor {
        PyTensor::new(self.0.detach())
    }

    /// Points this tensor at `other`'s storage (`p.data = other`); the history stays.
    #[setter]
    fn set_data(&self, other: PyRef<'_, PyTensor>) -> Res<()> {
        Ok(self.0.set_data_from(&other.0)?)
    }

    /// The tensor whose storage this view shares, or None (PyTorch's `_base`).
    /// The same Python object as the base when the view was made from Python.
    #[getter]
    fn _base(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        let py = slf.py();
        let me = slf.get();
        let Some(base) = me.0.base() else { return Ok(None) };
        match me.1.get(py, base.address()) {
            Some(object) => Ok(Some(object.into_any())),
            None => Ok(Some(Bound::new(py, PyTensor::new(base))?.into_any().unbind())),
        }
    }

    /// Whether this tensor is a view of another's storage.
    fn _is_view(&self) -> bool {
        self.0.base().is_some()
    }

    /// Whether the elements are one row-major block.
    #[pyo3(signature = (memory_format=None))]
    fn is_contiguous(&self, memory_format: Option<&Bound<'_, PyAny>>) -> bool {
        let _ = memory_format;
        self.0.is_contiguous()
    }

    /// This tensor if it is contiguous, else a contiguous copy.
    #[pyo3(signature = (memory_format=None))]
    fn contiguous<'py>(
        slf: Bound<'py, Self>,
        memory_format: Option<&Bound<'py, PyAny>>,
    ) -> Res<Bound<'py, PyAny>> {
        let _ = memory_format;
        if slf.get().0.is_contiguous() {
            return Ok(slf.into_any());
        }
        let copy = PyTensor::new(slf.get().0.copy()?);
        Ok(Bound::new(slf.py(), copy)?.into_any())
    }

    /// Steps in elements along each axis, or along `dim`.
    #[pyo3(signature = (dim=None))]
    fn stride<'py>(&self, py: Python<'py>, dim: Option<i64>) -> Res<Bound<'py, PyAny>> {
        let strides = self.0.stride();
        match dim {
            None => Ok(PyTuple::new(py, strides)?.into_any()),
            Some(d) if strides.is_empty() => Err(tapegrad_core::Error::Index {
                op: "stride",
                message: format!("dimension specified as {d} but tensor has no dimensions"),
            }
            .into()),
            Some(d) => {
                let axis = tapegrad_core::array::normalize_axis("stride", d, strides.len())?;
                Ok(pyo3::types::PyInt::new(py, strides[axis]).into_any())
            }
        }
    }

    /// Position of the first element in the storage.
    fn storage_offset(&self) -> usize {
        self.0.storage_offset()
    }

    /// Address of the first element.
    fn data_ptr(&self) -> usize {
        self.0.data_ptr()
    }

    /// Bytes of the storage this tensor views.
    fn _storage_nbytes(&self) -> usize {
        self.0.storage_nbytes()
    }

    /// Whether `other` views the same storage.
    fn _shares_storage(&self, other: PyRef<'_, PyTensor>) -> bool {
        self.0.shares_storage(&other.0)
    }

    /// A view with the given sizes, strides and storage offset.
    #[pyo3(signature = (size, stride, storage_offset=None))]
    fn as_strided(
        slf: &Bound<'_, Self>,
        size: &Bound<'_, PyAny>,
        stride: &Bound<'_, PyAny>,
        storage_offset: Option<usize>,
    ) -> Res<PyTensor> {
        let size = to_usize_shape("as_strided", &parse_shape_args(&as_tuple(size)?)?)?;
        let stride = to_usize_shape("as_strided", &parse_shape_args(&as_tuple(stride)?)?)?;
        PyTensor::view_of(slf, slf.get().0.as_strided(&size, &stride, storage_offset)?)
    }

    /// The transpose of a matrix (a vector or a scalar is returned as a view of itself);
    /// PyTorch's `t()`.
    fn t(slf: &Bound<'_, Self>) -> Res<PyTensor> {
        PyTensor::view_of(slf, matrix_t("t", &slf.get().0)?)
    }

    /// The last two dimensions swapped (a view; PyTorch's `mT`).
    #[getter(mT)]
    fn matrix_transpose(slf: &Bound<'_, Self>) -> Res<PyTensor> {
        let ndim = slf.get().0.ndim();
        if ndim < 2 {
            return Err(crate::errors::raise(
                tapegrad_core::ErrorKind::Shape,
                "mT",
                format!("tensor.mT is only supported on matrices or batches of matrices. Got {ndim}-D tensor."),
            ));
        }
        PyTensor::view_of(slf, slf.get().0.transpose(-2, -1)?)
    }

    /// The same elements in a new shape, without copying (PyTorch's error when the strides
    /// do not allow it).
    #[pyo3(signature = (*shape))]
    fn view(slf: &Bound<'_, Self>, shape: &Bound<'_, PyTuple>) -> Res<PyTensor> {
        PyTensor::view_of(slf, slf.get().0.view_shape(&parse_shape_args(shape)?)?)
    }
}

/// A sequence argument as a tuple (for the shape parser).
/// PyTorch's `t()`: the transpose of a matrix, a view of itself for a vector or a scalar.
pub(crate) fn matrix_t(op: &'static str, t: &tapegrad_core::Tensor) -> Res<tapegrad_core::Tensor> {
    let ndim = t.ndim();
    if ndim > 2 {
        return Err(crate::errors::raise(
            tapegrad_core::ErrorKind::Shape,
            op,
            format!("{op}() expects a tensor with <= 2 dimensions, but self is {ndim}D"),
        ));
    }
    if ndim < 2 {
        return Ok(t.identity_view()?);
    }
    Ok(t.transpose(0, 1)?)
}

pub(crate) fn as_tuple<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(obj.py(), [obj.clone()])
}

/// The augmented operators mutate the tensor (PyTorch's `x += y` is `x.add_(y)`), and
/// `x[index] = value` writes through a view: Python composites in `tapegrad._inplace`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyTensor {
    /// `self __iadd__` in place.
    fn __iadd__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        inplace_composite(slf, "__iadd__", &[other])
    }
    /// `self __isub__` in place.
    fn __isub__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        inplace_composite(slf, "__isub__", &[other])
    }
    /// `self __imul__` in place.
    fn __imul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        inplace_composite(slf, "__imul__", &[other])
    }
    /// `self __itruediv__` in place.
    fn __itruediv__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        inplace_composite(slf, "__itruediv__", &[other])
    }
    /// `self __ifloordiv__` in place.
    fn __ifloordiv__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        inplace_composite(slf, "__ifloordiv__", &[other])
    }
    /// `self __imod__` in place.
    fn __imod__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        inplace_composite(slf, "__imod__", &[other])
    }
    /// `self __ipow__` in place.
    fn __ipow__(
        slf: &Bound<'_, Self>,
        other: &Bound<'_, PyAny>,
        _modulo: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        inplace_composite(slf, "__ipow__", &[other])
    }
    /// `self __imatmul__` in place.
    fn __imatmul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        inplace_composite(slf, "__imatmul__", &[other])
    }
    /// `self __iand__` in place.
    fn __iand__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        inplace_composite(slf, "__iand__", &[other])
    }
    /// `self __ior__` in place.
    fn __ior__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        inplace_composite(slf, "__ior__", &[other])
    }
    /// `self __ixor__` in place.
    fn __ixor__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        inplace_composite(slf, "__ixor__", &[other])
    }
    /// `self __ilshift__` in place.
    fn __ilshift__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        inplace_composite(slf, "__ilshift__", &[other])
    }
    /// `self __irshift__` in place.
    fn __irshift__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        inplace_composite(slf, "__irshift__", &[other])
    }
    /// `self[index] = value`.
    fn __setitem__(
        slf: &Bound<'_, Self>,
        index: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        inplace_composite(slf, "setitem", &[index, value])
    }
}

/// Calls `tapegrad._inplace.<name>(self, *args)`.
fn inplace_composite<'py>(
    slf: &Bound<'py, PyTensor>,
    name: &str,
    args: &[&Bound<'py, PyAny>],
) -> PyResult<()> {
    let py = slf.py();
    let mut all: Vec<Bound<'py, PyAny>> = vec![slf.clone().into_any()];
    all.extend(args.iter().map(|a| (*a).clone()));
    py.import("tapegrad._inplace")?.getattr(name)?.call1(PyTuple::new(py, all)?)?;
    Ok(())
}

/// `add_`, `sub_`, `mul_`, `div_` in their plain form (one tensor or number, a numeric
/// `alpha`) take the direct kernel here, without a trip through Python, when nothing is
/// recorded; every other call (and every error) goes to the composite in
/// `tapegrad._inplace`, which makes the same check first.
fn arith_or_composite<'py>(
    slf: &Bound<'py, PyTensor>,
    op: tapegrad_core::ops::inplace::Arith,
    name: &str,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    use pyo3::types::{PyFloat, PyInt};
    use tapegrad_core::ops::inplace::Arith;
    let number =
        |x: &Bound<'py, PyAny>| x.is_instance_of::<PyFloat>() || x.is_instance_of::<PyInt>();
    let alpha = match kwargs {
        None => Some(1.0),
        Some(k) if k.len() == 1 && matches!(op, Arith::Add | Arith::Sub) => {
            match k.get_item("alpha")? {
                Some(a) if number(&a) => a.extract::<f64>().ok(),
                _ => None,
            }
        }
        Some(_) => None,
    };
    if let (Some(alpha), true) = (alpha, args.len() == 1) {
        let other = args.get_item(0)?;
        if other.is_instance_of::<PyTensor>() || number(&other) {
            let this = &slf.get().0;
            let operand: Operand<'_> = other.extract()?;
            let done = this.arith_in_place(op, &operand.to_tensor(this), alpha);
            if done.map_err(Failure::from)? {
                return Ok(slf.clone().into_any());
            }
        }
    }
    crate::tensor_extra::composite(slf, "tapegrad._inplace", name, args, kwargs)
}

#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyTensor {
    /// In place `add`.
    #[pyo3(signature = (*args, **kwargs))]
    fn add_<'py>(
        slf: &Bound<'py, Self>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        arith_or_composite(slf, tapegrad_core::ops::inplace::Arith::Add, "add_", args, kwargs)
    }
    /// In place `sub`.
    #[pyo3(signature = (*args, **kwargs))]
    fn sub_<'py>(
        slf: &Bound<'py, Self>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        arith_or_composite(slf, tapegrad_core::ops::inplace::Arith::Sub, "sub_", args, kwargs)
    }
    /// In place `mul`.
    #[pyo3(signature = (*args, **kwargs))]
    fn mul_<'py>(
        slf: &Bound<'py, Self>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        arith_or_composite(slf, tapegrad_core::ops::inplace::Arith::Mul, "mul_", args, kwargs)
    }
    /// In place `div`.
    #[pyo3(signature = (*args, **kwargs))]
    fn div_<'py>(
        slf: &Bound<'py, Self>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        arith_or_composite(slf, tapegrad_core::ops::inplace::Arith::Div, "div_", args, kwargs)
    }
}

composite_methods! { "tapegrad._inplace":
    /// A leaf copy with storage of its own (`copy.deepcopy`; its `.grad` is copied too).
    __deepcopy__;
    /// In place `pow`.
    pow_;
    /// In place `clamp`.
    clamp_;
    /// In place `clamp(min=)`.
    clamp_min_;
    /// In place `clamp(max=)`.
    clamp_max_;
    /// In place `clip` (alias of `clamp_`).
    clip_;
    /// In place `lerp`.
    lerp_;
    /// In place `addcmul`.
    addcmul_;
    /// In place `addcdiv`.
    addcdiv_;
    /// In place `masked_fill`.
    masked_fill_;
    /// In place `neg`.
    neg_;
    /// In place `abs`.
    abs_;
    /// In place `exp`.
    exp_;
    /// In place `log`.
    log_;
    /// In place `sqrt`.
    sqrt_;
    /// In place `sin`.
    sin_;
    /// In place `cos`.
    cos_;
    /// In place `tanh`.
    tanh_;
    /// In place `sigmoid`.
    sigmoid_;
    /// In place `relu`.
    relu_;
    /// In place `floor`.
    floor_;
    /// In place `ceil`.
    ceil_;
    /// In place `round`.
    round_;
    /// In place `trunc`.
    trunc_;
    /// In place `frac`.
    frac_;
    /// In place `sign`.
    sign_;
    /// In place `reciprocal`.
    reciprocal_;
    /// In place `rsqrt`.
    rsqrt_;
    /// In place `square`.
    square_;
    /// In place `exp2`.
    exp2_;
    /// In place `expm1`.
    expm1_;
    /// In place `log2`.
    log2_;
    /// In place `log10`.
    log10_;
    /// In place `log1p`.
    log1p_;
    /// In place `tan`.
    tan_;
    /// In place `asin`.
    asin_;
    /// In place `acos`.
    acos_;
    /// In place `atan`.
    atan_;
    /// In place `sinh`.
    sinh_;
    /// In place `cosh`.
    cosh_;
    /// In place `asinh`.
    asinh_;
    /// In place `acosh`.
    acosh_;
    /// In place `atanh`.
    atanh_;
    /// In place `erf`.
    erf_;
    /// In place `erfc`.
    erfc_;
    /// In place `erfinv`.
    erfinv_;
    /// In place `sinc`.
    sinc_;
    /// In place `logit`.
    logit_;
    /// In place `sgn`.
    sgn_;
    /// In place `nan_to_num`.
    nan_to_num_;
    /// In place `fmod`.
    fmod_;
    /// In place `remainder`.
    remainder_;
    /// In place `atan2`.
    atan2_;
    /// In place `hypot`.
    hypot_;
    /// In place `copysign`.
    copysign_;
    /// In place `xlogy`.
    xlogy_;
    /// In place `floor_divide`.
    floor_divide_;
    /// In place `logical_not`.
    logical_not_;
    /// In place `logical_and`.
    logical_and_;
    /// In place `logical_or`.
    logical_or_;
    /// In place `logical_xor`.
    logical_xor_;
    /// In place `bitwise_not`.
    bitwise_not_;
    /// In place `bitwise_and`.
    bitwise_and_;
    /// In place `bitwise_or`.
    bitwise_or_;
    /// In place `bitwise_xor`.
    bitwise_xor_;
    /// In place `bitwise_left_shift`.
    bitwise_left_shift_;
    /// In place `bitwise_right_shift`.
    bitwise_right_shift_;
    /// In place `float_power`.
    float_power_;
    /// In place `deg2rad`.
    deg2rad_;
    /// In place `rad2deg`.
    rad2deg_;
    /// In place `digamma`.
    digamma_;
    /// In place `lgamma`.
    lgamma_;
    /// In place `index_add`.
    index_add_;
    /// In place `index_copy`.
    index_copy_;
    /// In place `index_fill`.
    index_fill_;
    /// In place `scatter`.
    scatter_;
    /// In place `scatter_add`.
    scatter_add_;
    /// In place `scatter_reduce`.
    scatter_reduce_;
    /// In place `absolute`.
    absolute_;
    /// In place `negative`.
    negative_;
    /// In place `fix`.
    fix_;
    /// In place `arcsin`.
    arcsin_;
    /// In place `arccos`.
    arccos_;
    /// In place `arctan`.
    arctan_;
    /// In place `arcsinh`.
    arcsinh_;
    /// In place `arccosh`.
    arccosh_;
    /// In place `arctanh`.
    arctanh_;
    /// In place `arctan2`.
    arctan2_;
    /// In place `multiply`.
    multiply_;
    /// In place `divide`.
    divide_;
    /// In place `true_divide`.
    true_divide_;
    /// In place `subtract`.
    subtract_;
    /// In place `eq`.
    eq_;
    /// In place `ne`.
    ne_;
    /// In place `lt`.
    lt_;
    /// In place `le`.
    le_;
    /// In place `gt`.
    gt_;
    /// In place `ge`.
    ge_;
    /// In place `greater`.
    greater_;
    /// In place `greater_equal`.
    greater_equal_;
    /// In place `less`.
    less_;
    /// In place `less_equal`.
    less_equal_;
    /// In place `not_equal`.
    not_equal_;
    /// In place `gcd`.
    gcd_;
    /// In place `lcm`.
    lcm_;
    /// In place `heaviside`.
    heaviside_;
    /// In place `i0`.
    i0_;
    /// In place `ldexp`.
    ldexp_;
    /// In place `nextafter`.
    nextafter_;
    /// In place `mvlgamma`.
    mvlgamma_;
    /// In place `polygamma`.
    polygamma_;
    /// In place `cumsum`.
    cumsum_;
    /// In place `cumprod`.
    cumprod_;
    /// In place `tril`.
    tril_;
    /// In place `triu`.
    triu_;
    /// In place `renorm`.
    renorm_;
    /// In place `addmm`.
    addmm_;
    /// In place `addmv`.
    addmv_;
    /// In place `addbmm`.
    addbmm_;
    /// In place `baddbmm`.
    baddbmm_;
    /// In place `addr`.
    addr_;
    /// `self[indices] = values` (or `+=` with `accumulate=True`), for any index expression.
    index_put_;
    /// A copy with `indices` set to `values`.
    index_put;
    /// In place `uniform`: values drawn uniformly from `[from, to)`.
    uniform_;
    /// In place `normal`: values drawn from N(mean, std²).
    normal_;
    /// In place `bernoulli`: 1 with probability `p`, else 0.
    bernoulli_;
    /// In place `exponential`: values drawn from Exp(lambd).
    exponential_;
    /// In place `random`: integers drawn uniformly from `[from, to)`.
    random_;
}
