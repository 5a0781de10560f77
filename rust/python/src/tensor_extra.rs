//! More `Tensor` methods (a separate `#[pymethods]` block): NumPy interplay, the binary
//! elementwise functions beyond the arithmetic operators, and `%` / `//`. Conversion only.

use crate::convert::{operand, parse_dtype, parse_shape_args, to_usize_shape, Operand, PyDType};
use crate::errors::Res;
use crate::tensor::{compute, PyTensor};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use tapegrad_core::Tensor;

impl PyTensor {
    /// `f(self, other)`, or `f(other, self)` when `reflected`, with `other` converted.
    fn apply_binary(
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

/// `Tensor.<name>(other)` for binary primitives whose method is not an operator.
macro_rules! binary_methods {
    ($($(#[$doc:meta])* $method:ident;)*) => {
        #[tapegrad_macros::numpy_spellings]
        #[tapegrad_macros::catch_panics]
        #[pymethods]
        impl PyTensor {
            $(
                $(#[$doc])*
                fn $method(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Res<PyTensor> {
                    let other = operand(stringify!($method), other)?;
                    self.apply_binary(py, &other, false, Tensor::$method)
                }
            )*
        }
    };
}

binary_methods! {
    /// `atan2(self, other)`: the angle of the point `(other, self)`.
    atan2;
    /// `√(self² + other²)`
    hypot;
    /// `|self|` with the sign of `other`.
    copysign;
    /// C's `fmod`: the remainder of truncated division (sign of `self`).
    fmod;
    /// Python's `%`: the remainder of floor division (sign of `other`).
    remainder;
    /// `ln(e^self + e^other)`
    logaddexp;
    /// `log2(2^self + 2^other)`
    logaddexp2;
    /// `self · ln(other)`, 0 where `self = 0`.
    xlogy;
    /// Step function of `self` taking `other` where `self = 0`.
    heaviside;
}

#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyTensor {
    /// NumPy defers every ufunc and operator to the tensor (`np.float64(2) * x`,
    /// `np.ones(3) + x` call `Tensor.__rmul__`/`__radd__` and keep the graph), and a ufunc
    /// applied to a tensor (`np.exp(x)`) raises instead of silently dropping the graph.
    #[classattr]
    #[allow(non_snake_case)]
    fn __array_ufunc__(py: Python<'_>) -> Py<PyAny> {
        py.None()
    }
    /// Sign of each element (-1, 0 or 1): `sign` for real tensors, as PyTorch's `sgn`.
    fn sgn(&self, py: Python<'_>) -> Res<PyTensor> {
        self.apply_unary(py, Tensor::sign)
    }
    fn __mod__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        self.apply_binary(py, &other, false, Tensor::remainder)
    }
    fn __rmod__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        self.apply_binary(py, &other, true, Tensor::remainder)
    }
    fn __floordiv__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        self.apply_binary(py, &other, false, Tensor::floor_divide)
    }
    fn __rfloordiv__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        self.apply_binary(py, &other, true, Tensor::floor_divide)
    }
}

impl PyTensor {
    fn apply_unary(
        &self,
        py: Python<'_>,
        f: fn(&Tensor) -> tapegrad_core::Result<Tensor>,
    ) -> Res<PyTensor> {
        let t = &self.0;
        Ok(PyTensor::new(compute(py, t.numel(), || f(t))?))
    }
}

/// The device helpers of `tapegrad/_device.py` (devices are Python objects; the check is
/// one rule, kept there).
fn device_module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    py.import("tapegrad._device")
}

/// Checks a `device=` argument (None or the CPU; anything else raises).
fn check_device(py: Python<'_>, device: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
    device_module(py)?.call_method1("as_device", (device,))?;
    Ok(())
}

impl PyTensor {
    /// A new leaf of `size` filled with `value`, in `dtype` or this tensor's dtype.
    fn new_filled(
        &self,
        py: Python<'_>,
        size: &Bound<'_, PyTuple>,
        value: f64,
        dtype: Option<&Bound<'_, PyAny>>,
        device: Option<&Bound<'_, PyAny>>,
        requires_grad: bool,
    ) -> Res<PyTensor> {
        check_device(py, device)?;
        let shape = to_usize_shape("new_full", &parse_shape_args(size)?)?;
        let dtype = parse_dtype(dtype)?.unwrap_or(self.0.dtype());
        let out = Tensor::full(&shape, value, dtype)?;
        out.set_requires_grad(requires_grad)?;
        Ok(PyTensor::new(out))
    }
}

#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyTensor {
    /// The device the tensor is on: always the CPU.
    #[getter]
    fn device<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        device_module(py)?.getattr("CPU")
    }
    /// The tensor itself (it is on the CPU already).
    fn cpu(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }
    /// The tensor in another dtype (a differentiable copy) or on a device (the CPU only):
    /// `to(dtype)`, `to(device)`, `to(device, dtype)`, `to(other)`, `to(dtype=, device=)`.
    /// Returns the tensor itself when nothing changes, as PyTorch.
    #[pyo3(signature = (*args, **kwargs))]
    fn to<'py>(
        slf: Bound<'py, Self>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> Res<Bound<'py, PyAny>> {
        let py = slf.py();
        let kwargs = match kwargs {
            Some(k) => k.clone(),
            None => PyDict::new(py),
        };
        let dtype = device_module(py)?.call_method1("to_arguments", (args, kwargs))?;
        match parse_dtype(Some(&dtype))? {
            Some(d) if d != slf.get().0.dtype() => {
                let out = PyTensor::new(slf.get().0.to_dtype(d)?);
                Ok(Bound::new(py, out)?.into_any())
            }
            _ => Ok(slf.into_any()),
        }
    }
    /// In `other`'s dtype.
    fn type_as(&self, other: PyRef<'_, PyTensor>) -> Res<PyTensor> {
        Ok(PyTensor::new(self.0.to_dtype(other.0.dtype())?))
    }
    /// A copy with its own data, differentiable (`CloneBackward`).
    #[pyo3(signature = (*, memory_format=None))]
    fn clone(&self, memory_format: Option<&Bound<'_, PyAny>>) -> Res<PyTensor> {
        let _ = memory_format; // one layout: accepted for PyTorch's signature
        Ok(PyTensor::new(self.0.copy()?))
    }
    /// Reshaped to `other`'s shape.
    fn view_as(slf: &Bound<'_, Self>, other: PyRef<'_, PyTensor>) -> Res<PyTensor> {
        Self::reshape_as(slf, other)
    }
    /// Reshaped to `other`'s shape.
    fn reshape_as(slf: &Bound<'_, Self>, other: PyRef<'_, PyTensor>) -> Res<PyTensor> {
        let shape: Vec<i64> = other.0.shape().iter().map(|&d| d as i64).collect();
        PyTensor::view_of(slf, slf.get().0.reshape_infer(&shape)?)
    }
    /// Broadcast to `other`'s shape.
    fn expand_as(slf: &Bound<'_, Self>, other: PyRef<'_, PyTensor>) -> Res<PyTensor> {
        PyTensor::view_of(slf, slf.get().0.expand(&other.0.shape())?)
    }
    /// The number of elements (as `numel`).
    fn nelement(&self) -> usize {
        self.0.numel()
    }
    /// Zeros of `size`, in this tensor's dtype unless given.
    #[pyo3(signature = (*size, dtype=None, device=None, requires_grad=false))]
    fn new_zeros(
        &self,
        py: Python<'_>,
        size: &Bound<'_, PyTuple>,
        dtype: Option<&Bound<'_, PyAny>>,
        device: Option<&Bound<'_, PyAny>>,
        requires_grad: bool,
    ) -> Res<PyTensor> {
        self.new_filled(py, size, 0.0, dtype, device, requires_grad)
    }
    /// Ones of `size`, in this tensor's dtype unless given.
    #[pyo3(signature = (*size, dtype=None, device=None, requires_grad=false))]
    fn new_ones(
        &self,
        py: Python<'_>,
        size: &Bound<'_, PyTuple>,
        dtype: Option<&Bound<'_, PyAny>>,
        device: Option<&Bound<'_, PyAny>>,
        requires_grad: bool,
    ) -> Res<PyTensor> {
        self.new_filled(py, size, 1.0, dtype, device, requires_grad)
    }
    /// A tensor of `size` (zero-filled: tapegrad hands out no uninitialised memory).
    #[pyo3(signature = (*size, dtype=None, device=None, requires_grad=false))]
    fn new_empty(
        &self,
        py: Python<'_>,
        size: &Bound<'_, PyTuple>,
        dtype: Option<&Bound<'_, PyAny>>,
        device: Option<&Bound<'_, PyAny>>,
        requires_grad: bool,
    ) -> Res<PyTensor> {
        self.new_filled(py, size, 0.0, dtype, device, requires_grad)
    }
    /// `size` filled with `fill_value`, in this tensor's dtype unless given.
    #[pyo3(signature = (size, fill_value, *, dtype=None, device=None, requires_grad=false))]
    fn new_full(
        &self,
        py: Python<'_>,
        size: &Bound<'_, PyAny>,
        fill_value: f64,
        dtype: Option<&Bound<'_, PyAny>>,
        device: Option<&Bound<'_, PyAny>>,
        requires_grad: bool,
    ) -> Res<PyTensor> {
        let size = PyTuple::new(py, [size])?;
        self.new_filled(py, &size, fill_value, dtype, device, requires_grad)
    }
    /// A new leaf copied from `data`, in this tensor's dtype unless given.
    #[pyo3(signature = (data, *, dtype=None, device=None, requires_grad=false))]
    fn new_tensor<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        dtype: Option<&Bound<'py, PyAny>>,
        device: Option<&Bound<'py, PyAny>>,
        requires_grad: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_device(py, device)?;
        let dtype = match dtype.filter(|d| !d.is_none()) {
            Some(d) => d.clone(),
            None => Bound::new(py, PyDType(self.0.dtype()))?.into_any(),
        };
        let kwargs = PyDict::new(py);
        kwargs.set_item("dtype", dtype)?;
        kwargs.set_item("requires_grad", requires_grad)?;
        py.import("tapegrad")?.getattr("tensor")?.call((data,), Some(&kwargs))
    }
    /// `format(t, spec)`: a 0-d tensor formats as its value (`f"{loss:.4f}"`); others
    /// accept only the empty spec, as PyTorch.
    fn __format__(slf: &Bound<'_, Self>, spec: &str) -> PyResult<String> {
        let t = &slf.get().0;
        if t.ndim() == 0 {
            let value = t.array().item().unwrap_or(f64::NAN);
            return value.into_pyobject(slf.py())?.call_method1("__format__", (spec,))?.extract();
        }
        if spec.is_empty() {
            return slf.str()?.extract();
        }
        Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "unsupported format string {spec:?} for a tensor of shape {:?}: only 0-d tensors \
             take a format spec",
            t.shape()
        )))
    }
}

/// Calls the Python composite `module.name(self, *args, **kwargs)`: shape and elementwise
/// functions composed from the primitives live in Python (`tapegrad/_shapes.py`,
/// `tapegrad/_elementwise.py`); these methods only dispatch to them.
pub(crate) fn composite<'py>(
    slf: &Bound<'py, PyTensor>,
    module: &str,
    name: &str,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = slf.py();
    let function = py.import(module)?.getattr(name)?;
    let mut all: Vec<Bound<'py, PyAny>> = vec![slf.clone().into_any()];
    all.extend(args.iter());
    function.call(PyTuple::new(py, all)?, kwargs)
}

/// `Tensor.<name>(*args, **kwargs)` for composites defined in Python `module`.
macro_rules! composite_methods {
    ($module:literal: $($(#[$doc:meta])* $name:ident;)*) => {
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
                    $crate::tensor_extra::composite(slf, $module, stringify!($name), args, kwargs)
                }
            )*
        }
    };
}

pub(crate) use composite_methods;

composite_methods! { "tapegrad._shapes":
    /// Elements `start .. start + length` along `dim`.
    narrow;
    /// Pieces of a size, or of the given sizes, along `dim`.
    split;
    /// At most `chunks` equal pieces along `dim`.
    chunk;
    /// `n` near-equal pieces, or pieces cut at indices, along `dim`.
    tensor_split;
    /// The slices along `dim`.
    unbind;
    /// Reverses the order along `dims`.
    flip;
    /// Reverses dimension 1.
    fliplr;
    /// Reverses dimension 0.
    flipud;
    /// Rotates elements along `dims`.
    roll;
    /// Rotates by 90° in the plane of `dims`.
    rot90;
    /// Repeats the tensor along each dimension (`repeat(2, 3)`).
    repeat;
    /// Repeats the tensor along each dimension (`tile((2, 3))`).
    tile;
    /// Repeats each element along `dim`.
    repeat_interleave;
    /// Moves dimensions to new positions.
    movedim;
    /// Swaps two dimensions.
    swapaxes;
    /// Swaps two dimensions (`transpose`).
    swapdims;
    /// Diagonal of a 2-d tensor, or a matrix from a 1-d one.
    diag;
    /// Matrices with the last dimension on a diagonal.
    diag_embed;
    /// Sum of the main diagonal.
    trace;
    /// The lower triangle.
    tril;
    /// The upper triangle.
    triu;
    /// Splits dimension `dim` into `sizes`.
    unflatten;
}

composite_methods! { "tapegrad._elementwise":
    /// `self + weight · (end - self)`.
    lerp;
    /// `self + value · tensor1 · tensor2`.
    addcmul;
    /// `self + value · tensor1 / tensor2`.
    addcdiv;
    /// `self ** exponent` in float64.
    float_power;
    /// NaN and ±inf replaced by finite values.
    nan_to_num;
    /// Degrees to radians.
    deg2rad;
    /// Radians to degrees.
    rad2deg;
}

composite_methods! { "tapegrad._logical":
    /// True where every element (over `dim`) is nonzero.
    all;
    /// True where some element (over `dim`) is nonzero.
    any;
    /// Whether every element is close to `other`'s.
    allclose;
    /// `|self - other| <= atol + rtol |other|` elementwise.
    isclose;
    /// Whether `other` has the same shape and elements.
    equal;
    /// The number of nonzero elements (over `dim`).
    count_nonzero;
    /// True where the element is finite.
    isfinite;
    /// True where the element is ±inf.
    isinf;
    /// True where the element is NaN.
    isnan;
    /// Elementwise logical and (a bool tensor).
    logical_and;
    /// Elementwise logical or.
    logical_or;
    /// Elementwise logical exclusive or.
    logical_xor;
    /// Elementwise logical not.
    logical_not;
}

composite_methods! { "tapegrad._stats":
    /// Variance over `dim` with `correction` (or `unbiased`).
    var;
    /// Standard deviation over `dim` with `correction` (or `unbiased`).
    std;
    /// `(var, mean)` over `dim`.
    var_mean;
    /// `(std, mean)` over `dim`.
    std_mean;
    /// The `p`-norm over `dim` (all elements by default).
    norm;
    /// `‖self - other‖_p`.
    dist;
    /// Sum treating NaN as zero.
    nansum;
    /// Mean of the non-NaN elements.
    nanmean;
    /// Cumulative sum along `dim`.
    cumsum;
    /// `log(cumsum(exp(self)))` along `dim`, stable.
    logcumsumexp;
    /// `n`-th forward difference along `dim`.
    diff;
}

composite_methods! { "tapegrad._scans":
    /// Cumulative product along `dim`.
    cumprod;
    /// Product over `dim` (all elements by default).
    prod;
}

composite_methods! { "tapegrad._products":
    /// Product of two matrices.
    mm;
    /// Batched product of `(b, n, m)` and `(b, m, p)`.
    bmm;
    /// Matrix-vector product.
    mv;
    /// Dot product of two 1-d tensors.
    dot;
    /// Dot product of two 1-d tensors (conjugating the first: the same for reals).
    vdot;
    /// Outer product of two 1-d tensors.
    outer;
    /// `beta · self + alpha · (mat1 @ mat2)`.
    addmm;
    /// `beta · self + alpha · (mat @ vec)`.
    addmv;
    /// `beta · self + alpha · (batch1 @ batch2)`.
    baddbmm;
    /// Kronecker product.
    kron;
    /// Cross product of 3-vectors along `dim`.
    cross;
}

composite_methods! { "tapegrad._math_aliases":
    /// `clamp(min=min)`.
    clamp_min;
    /// `clamp(max=max)`.
    clamp_max;
    /// Alias of `abs`.
    absolute;
    /// Alias of `mul`.
    multiply;
    /// Alias of `sub` (with `alpha`).
    subtract;
    /// Alias of `neg`.
    negative;
    /// The tensor itself (an error for bool).
    positive;
    /// Alias of `gt`.
    greater;
    /// Alias of `lt`.
    less;
    /// Alias of `ge`.
    greater_equal;
    /// Alias of `le`.
    less_equal;
    /// Alias of `ne`.
    not_equal;
    /// Alias of `trunc`.
    fix;
    /// Alias of `atan2`.
    arctan2;
    /// Alias of `asin`.
    arcsin;
    /// Alias of `acos`.
    arccos;
    /// Alias of `atan`.
    arctan;
    /// Alias of `asinh`.
    arcsinh;
    /// Alias of `acosh`.
    arccosh;
    /// Alias of `atanh`.
    arctanh;
    /// Multivariate log-gamma of dimension `p`.
    mvlgamma;
    /// Determinant (`linalg.det`).
    det;
    /// Log of the determinant (NaN for a negative one).
    logdet;
    /// `(sign, logabsdet)` (`linalg.slogdet`).
    slogdet;
    /// Matrix inverse (`linalg.inv`).
    inverse;
    /// Cholesky factor, lower or `upper`.
    cholesky;
    /// `(Q, R)` (`some=True` is the reduced form).
    qr;
    /// `(U, S, V)` with V, not Vh (`some=True` is the reduced form).
    svd;
    /// Pseudo-inverse (`linalg.pinv`).
    pinverse;
    /// Integer matrix power (`linalg.matrix_power`).
    matrix_power;
    /// Matrix exponential (`linalg.matrix_exp`).
    matrix_exp;
}

composite_methods! { "tapegrad._math_extra":
    /// True where the sign bit is set (`-0.0` included).
    signbit;
    /// `(mantissa, exponent)` with `self = mantissa · 2**exponent`.
    frexp;
    /// `self · 2**other`.
    ldexp;
    /// Greatest common divisor of integers.
    gcd;
    /// Least common multiple of integers.
    lcm;
    /// The next representable float after `self` towards `other`.
    nextafter;
    /// Modified Bessel function of the first kind, order 0.
    i0;
    /// Inner product over the last dimensions.
    inner;
    /// Outer product (alias of `outer`).
    ger;
    /// `beta · self + alpha · outer(vec1, vec2)`.
    addr;
    /// `beta · self + alpha · Σ_b batch1[b] @ batch2[b]`.
    addbmm;
    /// Sub-tensors along `dim` rescaled to `p`-norm at most `maxnorm`.
    renorm;
    /// The `q`-th quantiles over `dim`.
    quantile;
    /// The `q`-th quantiles over `dim`, ignoring NaN.
    nanquantile;
    /// `(hist, bin_edges)` of the values.
    histogram;
    /// Unique elements of consecutive runs.
    unique_consecutive;
}

composite_methods! { "tapegrad._math_writes":
    /// Copies `source` elements, in order, where `mask` is True.
    masked_scatter;
    /// In place `masked_scatter`.
    masked_scatter_;
    /// Fills the main diagonal (wrapping for tall matrices with `wrap=True`).
    fill_diagonal_;
    /// Writes `source` at flat `index` positions (summing with `accumulate=True`).
    put;
    /// In place `put`.
    put_;
    /// Reduces `source` slices into `self` along `dim` at `index` ("prod", "mean", "amax", "amin").
    index_reduce;
    /// In place `index_reduce`.
    index_reduce_;
    /// Fills with draws from the Cauchy distribution.
    cauchy_;
    /// Fills with draws from the geometric distribution (trials to the first success).
    geometric_;
    /// Fills with draws from the log-normal distribution.
    log_normal_;
}

/// The module of the surface composites below (`tapegrad/_surface.py`).
const SURFACE: &str = "tapegrad._surface";

composite_methods! { "tapegrad._surface":
    /// The slice at `index` along `dim`, with that dimension removed (a view).
    select;
    /// The elements as a 1-d tensor (a view when the strides allow it).
    ravel;
    /// Moves dimensions to new positions (an alias of `movedim`).
    moveaxis;
    /// Splits along dimension 1 (0 for 1-d tensors), NumPy's `hsplit`.
    hsplit;
    /// Splits along dimension 0, NumPy's `vsplit`.
    vsplit;
    /// Splits along dimension 2, NumPy's `dsplit`.
    dsplit;
    /// The number of dimensions (as `dim()`).
    ndimension;
    /// Sums broadcast dimensions away to reach `size`.
    sum_to_size;
    /// Whether the single element is nonzero.
    is_nonzero;
    /// False: tapegrad has no complex dtypes.
    is_complex;
    /// False: tapegrad's tensors are not in shared memory.
    is_shared;
    /// The tensor itself (a no-op on the CPU).
    share_memory_;
    /// The tensor itself: there is no pinned memory without an accelerator.
    pin_memory;
    /// False: there is no pinned memory without an accelerator.
    is_pinned;
    /// The tensor itself: the conjugate of a real tensor.
    conj;
    /// The tensor itself: the conjugate of a real tensor.
    resolve_conj;
    /// False: a real tensor has no lazy conjugation.
    is_conj;
    /// The tensor itself: there is no lazy negation.
    resolve_neg;
    /// False: there is no lazy negation.
    is_neg;
}

#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyTensor {
    /// `Tensor(data)` copies `data` into a float32 tensor (the default dtype); `Tensor(*sizes)`
    /// makes a tensor of that shape (zero-filled); `Tensor()` an empty one (PyTorch's
    /// legacy constructor, made in `tapegrad/_surface.py`).
    #[new]
    #[pyo3(signature = (*args, device=None))]
    fn legacy_new(
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        device: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        let made = py.import(SURFACE)?.call_method1("legacy_new", (args, device))?;
        let made: PyRef<'_, PyTensor> = made.extract()?;
        Ok(PyTensor::new(made.0.clone()))
    }
    /// Windows of `size` elements every `step` along `dimension`, as a new last dimension
    /// (a view).
    fn unfold(slf: &Bound<'_, Self>, dimension: i64, size: i64, step: i64) -> Res<PyTensor> {
        PyTensor::view_of(slf, slf.get().0.unfold(dimension, size, step)?)
    }
    /// The `offset` diagonal of the matrices in `dim1`, `dim2`, as the last dimension (a
    /// view).
    #[pyo3(signature = (offset=0, dim1=0, dim2=1))]
    fn diagonal(slf: &Bound<'_, Self>, offset: i64, dim1: i64, dim2: i64) -> Res<PyTensor> {
        PyTensor::view_of(slf, slf.get().0.diagonal(offset, dim1, dim2)?)
    }
    /// The conjugate transpose of a matrix: its transpose for a real tensor (a view).
    #[getter(H)]
    fn conjugate_transpose<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        composite(slf, SURFACE, "adjoint_of_matrix", &PyTuple::empty(slf.py()), None)
    }
    /// The conjugate transpose of the last two dimensions: `mT` for a real tensor (a view).
    #[getter(mH)]
    fn matrix_conjugate_transpose<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        composite(slf, SURFACE, "adjoint", &PyTuple::empty(slf.py()), None)
    }
    /// The real part: the tensor itself for a real tensor.
    #[getter]
    fn real<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        composite(slf, SURFACE, "real", &PyTuple::empty(slf.py()), None)
    }
    /// The imaginary part: a real tensor has none (PyTorch's error).
    #[getter]
    fn imag<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        composite(slf, SURFACE, "imag", &PyTuple::empty(slf.py()), None)
    }
}

#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyTensor {
    /// Without a dtype, the legacy type name (`"tapegrad.LongTensor"`); with one (a dtype,
    /// `"torch.LongTensor"`, `"tapegrad.LongTensor"` or the legacy class), the tensor in
    /// that dtype (itself when it has it already), as PyTorch's `Tensor.type()`.
    #[pyo3(signature = (*args, **kwargs))]
    fn r#type<'py>(
        slf: &Bound<'py, Self>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        composite(slf, "tapegrad._legacy", "tensor_type", args, kwargs)
    }
}

composite_methods! { "tapegrad._legacy":
    /// float16 is not a tapegrad dtype: raises the `DTypeError` of `tapegrad.float16`.
    half;
    /// bfloat16 is not a tapegrad dtype: raises the `DTypeError` of `tapegrad.bfloat16`.
    bfloat16;
}

composite_methods! { "tapegrad._pickle":
    /// The pickle recipe: the values, dtype, shape, `requires_grad` and class (a
    /// `Parameter` stays one), so that `pickle` and multiprocessing carry tensors.
    __reduce_ex__;
}

#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyTensor {
    /// False: tapegrad tensors live on the CPU.
    #[getter]
    fn is_cuda(&self) -> bool {
        false
    }
    /// True: tapegrad tensors live on the CPU.
    #[getter]
    fn is_cpu(&self) -> bool {
        true
    }
    /// False: tapegrad tensors live on the CPU.
    #[getter]
    fn is_mps(&self) -> bool {
        false
    }
    /// False: every tapegrad tensor has storage.
    #[getter]
    fn is_meta(&self) -> bool {
        false
    }
    /// False: tapegrad tensors are dense.
    #[getter]
    fn is_sparse(&self) -> bool {
        false
    }
    /// False: tapegrad has no quantized tensors.
    #[getter]
    fn is_quantized(&self) -> bool {
        false
    }
}
