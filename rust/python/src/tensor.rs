//! The Python `Tensor` class: each method converts, calls the core, and maps errors.

use crate::convert::{
    array_to_numpy, operand, parse_dims, parse_index, parse_shape_args, to_usize_shape, wrong_type,
    Operand, PyDType,
};
use crate::errors::{raise, Res};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;
use tapegrad_core::error::fmt_shape;
use tapegrad_core::{engine, ErrorKind, Tensor};

/// An n-dimensional float32/float64 array that records the ops applied to it for
/// reverse-mode differentiation.
#[pyclass(name = "Tensor", module = "tapegrad", frozen, weakref, subclass)]
pub struct PyTensor(pub Tensor, pub(crate) ViewBase);

/// For a view made by a Python call, the Python object of its base, so that `v._base is x`
/// holds as in PyTorch (the core keeps the base's core tensor, which knows nothing of the
/// Python object that wraps it). A strong reference, as PyTorch's view keeps its base alive;
/// the collector sees it through `Tensor.__traverse__` and `__clear__` drops it.
#[derive(Default)]
pub struct ViewBase(std::sync::Mutex<Option<Py<PyTensor>>>);

impl ViewBase {
    /// The base object, if it is still the one that wraps core tensor `address`.
    pub(crate) fn get(&self, py: Python<'_>, address: usize) -> Option<Py<PyTensor>> {
        let slot = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        slot.as_ref().filter(|b| b.get().0.address() == address).map(|b| b.clone_ref(py))
    }

    /// The object held, for the collector; `None` when another thread holds the lock.
    pub(crate) fn visit(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        if let Ok(slot) = self.0.try_lock() {
            if let Some(base) = slot.as_ref() {
                visit.call(base)?;
            }
        }
        Ok(())
    }

    /// Drops the reference (`__clear__`).
    pub(crate) fn clear(&self) {
        let taken = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        drop(taken);
    }
}

impl PyTensor {
    /// A Python tensor for `t` (a view's `_base` is found from its core tensor).
    pub fn new(t: Tensor) -> PyTensor {
        PyTensor(t, ViewBase::default())
    }

    /// The result `out` of a view op called on `input`, remembering the Python object of
    /// `out`'s base: `input` itself, or the base `input` remembers (a view of a view has the
    /// root as its base, as in PyTorch).
    pub(crate) fn view_of(input: &Bound<'_, PyTensor>, out: Tensor) -> Res<PyTensor> {
        let me = input.get();
        // A view op that changes nothing (`squeeze()` without size-1 dims) hands back the
        // input's own handle in the core; Python gets a new view, as in PyTorch.
        let out = if out.same_as(&me.0) { out.identity_view()? } else { out };
        let Some(base) = out.base() else { return Ok(PyTensor::new(out)) };
        let address = base.address();
        let object = if me.0.address() == address {
            Some(input.clone().unbind())
        } else {
            me.1.get(input.py(), address)
        };
        Ok(PyTensor(out, ViewBase(std::sync::Mutex::new(object))))
    }
}

/// The node that produced a non-leaf tensor (`tensor.grad_fn`).
#[pyclass(name = "GradFn", module = "tapegrad", frozen)]
pub struct PyGradFn {
    name: String,
}

#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyGradFn {
    /// The node's name, e.g. `MulBackward`.
    fn name(&self) -> &str {
        &self.name
    }
    fn __repr__(&self) -> String {
        format!("<{}>", self.name)
    }
}

/// `shape` as a `tapegrad.Size` (a tuple subclass, as `torch.Size`), built by the
/// unchecked constructor `tapegrad._size.from_native` looked up once.
pub fn size_object<'py>(py: Python<'py>, shape: &[usize]) -> PyResult<Bound<'py, PyAny>> {
    static FROM_NATIVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let make = FROM_NATIVE.get_or_try_init(py, || {
        py.import("tapegrad._size")?.getattr("from_native").map(Bound::unbind)
    })?;
    make.bind(py).call1((PyTuple::new(py, shape)?,))
}

fn wrap(t: Tensor) -> PyTensor {
    PyTensor::new(t)
}

/// Elements above which an op releases the GIL while it computes: below it, releasing and
/// re-acquiring costs more than it frees.
const RELEASE_GIL_ABOVE: usize = 1 << 16;

/// Runs `op`, releasing the GIL while it computes when it touches more than
/// [`RELEASE_GIL_ABOVE`] elements: the one rule every binding that computes follows.
pub fn compute<T: Send>(py: Python<'_>, elements: usize, op: impl FnOnce() -> T + Send) -> T {
    if elements > RELEASE_GIL_ABOVE {
        py.detach(op)
    } else {
        op()
    }
}

impl PyTensor {
    fn unary(
        &self,
        py: Python<'_>,
        f: fn(&Tensor) -> tapegrad_core::Result<Tensor>,
    ) -> Res<PyTensor> {
        let t = &self.0;
        Ok(wrap(compute(py, t.numel(), || f(t))?))
    }

    fn binary(
        &self,
        py: Python<'_>,
        other: &Operand<'_>,
        reflected: bool,
        f: fn(&Tensor, &Tensor) -> tapegrad_core::Result<Tensor>,
    ) -> Res<PyTensor> {
        let other = other.to_tensor(&self.0);
        let (a, b) = if reflected { (&other, &self.0) } else { (&self.0, &other) };
        Ok(wrap(compute(py, a.numel().max(b.numel()), || f(a, b))?))
    }
}

/// One method per unary primitive, from the stanzas of the core's `for_each_unary!`: a new
/// stanza is a new method, with its doc comment as its docstring.
macro_rules! py_unary_methods {
    ($($(#[$doc:meta])* $variant:ident $method:ident $node:literal { $($stanza:tt)* })*) => {
        #[tapegrad_macros::numpy_spellings]
        #[tapegrad_macros::catch_panics]
        #[pymethods]
        impl PyTensor {
            $(
                $(#[$doc])*
                fn $method(&self, py: Python<'_>) -> Res<PyTensor> {
                    self.unary(py, Tensor::$method)
                }
            )*
        }
    };
}

tapegrad_core::for_each_unary!(py_unary_methods);

#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyTensor {
    /// `ψ⁽ⁿ⁾(self)`, the n-th derivative of `digamma` (`n = 0` is `digamma`).
    fn polygamma(&self, py: Python<'_>, n: i64) -> Res<PyTensor> {
        let order = u32::try_from(n).map_err(|_| tapegrad_core::ops::special::negative_order(n))?;
        let t = &self.0;
        Ok(wrap(compute(py, t.numel(), || t.polygamma(order))?))
    }
}

#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyTensor {
    // ---- metadata -------------------------------------------------------------------------

    /// The extent of each dimension, as a `tapegrad.Size`.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        size_object(py, &self.0.shape())
    }
    /// `shape`, or the extent of one dimension.
    #[pyo3(signature = (dim=None))]
    fn size<'py>(&self, py: Python<'py>, dim: Option<i64>) -> Res<Bound<'py, PyAny>> {
        match dim {
            None => Ok(size_object(py, &self.0.shape())?),
            Some(d) => Ok(pyo3::types::PyInt::new(py, self.0.size(d)?).into_any()),
        }
    }
    /// The element type.
    #[getter]
    fn dtype(&self) -> PyDType {
        PyDType(self.0.dtype())
    }
    /// Number of dimensions.
    #[getter]
    fn ndim(&self) -> usize {
        self.0.ndim()
    }
    /// Number of dimensions.
    fn dim(&self) -> usize {
        self.0.ndim()
    }
    /// Number of elements.
    fn numel(&self) -> usize {
        self.0.numel()
    }
    fn __len__(&self) -> Res<usize> {
        self.0
            .shape()
            .first()
            .copied()
            .ok_or_else(|| raise(ErrorKind::DType, "len", "len() of a 0-d tensor"))
    }
    fn __hash__(slf: &Bound<'_, Self>) -> isize {
        slf.as_ptr() as isize
    }
    /// PyTorch's layout (`tensor([...], requires_grad=True)`) under
    /// `tapegrad.set_printoptions`: formatted in `tapegrad/_printing.py`.
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        py.import("tapegrad._printing")?.call_method1("tensor_repr", (slf,))?.extract()
    }

    // ---- autograd state -------------------------------------------------------------------

    /// Whether gradients flow to this tensor.
    #[getter]
    fn get_requires_grad(&self) -> bool {
        self.0.requires_grad()
    }
    #[setter]
    fn set_requires_grad(&self, value: bool) -> Res<()> {
        Ok(self.0.set_requires_grad(value)?)
    }
    /// Sets `requires_grad` in place and returns the tensor.
    #[pyo3(signature = (requires_grad=true))]
    fn requires_grad_(slf: Bound<'_, Self>, requires_grad: bool) -> Res<Bound<'_, Self>> {
        slf.get().0.set_requires_grad(requires_grad)?;
        Ok(slf)
    }
    /// True for tensors created by the user (or by ops that recorded nothing).
    #[getter]
    fn is_leaf(&self) -> bool {
        self.0.is_leaf()
    }
    /// The node that produced this tensor, or None for leaves.
    #[getter]
    fn grad_fn(&self) -> Option<PyGradFn> {
        self.0.grad_fn_name().map(|name| PyGradFn { name: name.to_string() })
    }
    /// The accumulated gradient (None until a backward reaches this tensor).
    #[getter]
    fn get_grad(&self) -> Option<PyTensor> {
        self.0.grad().map(wrap)
    }
    #[setter]
    fn set_grad(&self, grad: Option<PyRef<'_, PyTensor>>) -> Res<()> {
        Ok(self.0.set_grad(grad.map(|g| g.0.clone()))?)
    }
    /// Keeps `.grad` for this non-leaf during backward.
    fn retain_grad(&self) -> Res<()> {
        Ok(self.0.retain_grad()?)
    }
    /// Whether this non-leaf keeps its `.grad`.
    #[getter]
    fn retains_grad(&self) -> bool {
        self.0.retains_grad()
    }
    /// The tangent this tensor carries in forward mode (inside `tapegrad.func.jvp`), or None.
    #[getter]
    fn _tangent(&self) -> Option<PyTensor> {
        self.0.tangent().map(wrap)
    }
    /// Registers `hook(grad)`, called during backward with this tensor's gradient; it may return
    /// a replacement gradient. Returns a handle whose `remove()` unregisters it.
    fn register_hook(&self, hook: Py<PyAny>) -> Res<crate::autograd::PyHookHandle> {
        crate::autograd::register_hook(&self.0, hook)
    }
    /// Registers `hook(tensor)`, called during backward right after this leaf's `.grad` has
    /// been accumulated (leaves are accumulated in a deterministic order within the sweep).
    /// Returns a handle whose `remove()` unregisters it.
    fn register_post_accumulate_grad_hook(
        &self,
        hook: Py<PyAny>,
    ) -> Res<crate::autograd::PyHookHandle> {
        crate::autograd::register_post_accumulate_grad_hook(&self.0, hook)
    }
    /// An identity view that always requires grad (used by function transforms).
    fn _alias(&self) -> Res<PyTensor> {
        Ok(wrap(self.0.alias()?))
    }
    /// A new leaf with the same data, cut from the graph.
    fn detach(&self) -> PyTensor {
        wrap(self.0.detach())
    }
    /// Times this tensor's data was replaced in place.
    #[getter]
    fn _version(&self) -> u64 {
        self.0.version()
    }
    /// Counts a write made through shared memory (an MPI collective) in the version.
    fn _increment_version(&self) {
        self.0.increment_version()
    }
    /// Replaces the data in place (inside `no_grad()` for leaves that require grad).
    fn _assign(&self, other: PyRef<'_, PyTensor>) -> Res<()> {
        Ok(self.0.assign(other.0.array())?)
    }
    /// Accumulates the gradient of this tensor into the leaves' `.grad`.
    #[pyo3(signature = (gradient=None, retain_graph=None, create_graph=false))]
    fn backward(
        &self,
        py: Python<'_>,
        gradient: Option<&Bound<'_, PyAny>>,
        retain_graph: Option<bool>,
        create_graph: bool,
    ) -> Res<()> {
        let gradient = match gradient.filter(|g| !g.is_none()) {
            None => None,
            Some(g) => Some(
                g.extract::<PyRef<'_, PyTensor>>()
                    .map_err(|_| wrong_type("backward", "gradient must be a Tensor", g))?
                    .0
                    .clone(),
            ),
        };
        let retain = retain_graph.unwrap_or(create_graph);
        let root = self.0.clone();
        Ok(py.detach(|| engine::backward(&[root], &[gradient], retain, create_graph))?)
    }

    // ---- out to Python --------------------------------------------------------------------

    /// A NumPy array sharing the tensor's memory (refused while the tensor requires grad: use
    /// `detach()`).
    fn numpy<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyAny>> {
        crate::dlpack::tensor_to_numpy(py, &self.0, "numpy")
    }
    /// `np.asarray(t)`: shares memory (as `numpy()`), except with a `dtype` to convert to or
    /// `copy=True`, which copy.
    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__<'py>(
        &self,
        py: Python<'py>,
        dtype: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> Res<Bound<'py, PyAny>> {
        let dtype = dtype.filter(|d| !d.is_none());
        if copy == Some(true) || (self.0.requires_grad() && copy.is_none()) {
            // A tensor that requires grad cannot share (PyTorch refuses `numpy()` on it too):
            // np.asarray copies it, as torch does.
            let arr = array_to_numpy(py, &self.0.array())?;
            return Ok(match dtype {
                None => arr,
                Some(d) => arr.call_method1("astype", (d,))?,
            });
        }
        let arr = crate::dlpack::tensor_to_numpy(py, &self.0, "numpy")?;
        match dtype {
            None => Ok(arr),
            Some(d) => {
                let same =
                    arr.getattr("dtype")?.eq(py.import("numpy")?.call_method1("dtype", (d,))?)?;
                if same {
                    Ok(arr)
                } else if copy == Some(false) {
                    Err(raise(
                        ErrorKind::Value,
                        "__array__",
                        "converting to another dtype needs a copy, but copy=False was given",
                    ))
                } else {
                    Ok(arr.call_method1("astype", (d,))?)
                }
            }
        }
    }
    /// DLPack export: a capsule viewing the tensor's memory (CPU only; the versioned DLPack
    /// 1.0 struct when `max_version >= (1, 0)`, else the legacy one).
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__<'py>(
        &self,
        py: Python<'py>,
        stream: Option<&Bound<'py, PyAny>>,
        max_version: Option<&Bound<'py, PyAny>>,
        dl_device: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> Res<Bound<'py, PyAny>> {
        if stream.is_some_and(|s| !s.is_none()) {
            return Err(raise(
                ErrorKind::Value,
                "__dlpack__",
                "stream must be None for a CPU tensor",
            ));
        }
        if let Some(device) = dl_device.filter(|d| !d.is_none()) {
            let (kind, _): (i64, i64) = device.extract()?;
            if kind != 1 {
                return Err(raise(
                    ErrorKind::Value,
                    "__dlpack__",
                    format!("tapegrad tensors are on the CPU (device type 1), not {kind}"),
                ));
            }
        }
        let versioned = crate::dlpack::wants_versioned(max_version)?;
        if copy == Some(true) {
            let t = tapegrad_core::Tensor::from_array(self.0.array().to_contiguous());
            return crate::dlpack::tensor_to_dlpack(py, &t, versioned);
        }
        crate::dlpack::tensor_to_dlpack(py, &self.0, versioned)
    }
    /// `(1, 0)`: DLPack's kDLCPU, device 0.
    fn __dlpack_device__(&self) -> (i32, i32) {
        (1, 0)
    }
    /// The value of a one-element tensor as a Python number (bool, int or float, after the
    /// dtype).
    fn item<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyAny>> {
        let value = self.one_value("item")?;
        Ok(match value {
            tapegrad_core::ScalarValue::Bool(b) => {
                pyo3::types::PyBool::new(py, b).to_owned().into_any()
            }
            tapegrad_core::ScalarValue::Int(i) => pyo3::types::PyInt::new(py, i).into_any(),
            tapegrad_core::ScalarValue::Float(v) => pyo3::types::PyFloat::new(py, v).into_any(),
        })
    }
    fn __float__(&self) -> Res<f64> {
        Ok(self.one_value("float")?.to_f64())
    }
    fn __int__(&self) -> Res<i64> {
        Ok(match self.one_value("int")? {
            tapegrad_core::ScalarValue::Bool(b) => i64::from(b),
            tapegrad_core::ScalarValue::Int(i) => i,
            tapegrad_core::ScalarValue::Float(v) => v.trunc() as i64,
        })
    }
    fn __bool__(&self) -> Res<bool> {
        let v = self.0.array().item().ok_or_else(|| {
            raise(
                ErrorKind::Shape,
                "bool",
                format!(
                    "the truth value of a tensor with {} elements (shape {}) is ambiguous",
                    self.0.numel(),
                    fmt_shape(&self.0.shape())
                ),
            )
        })?;
        Ok(v != 0.0)
    }
    /// The data as nested Python lists (a float for a 0-d tensor).
    fn tolist<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyAny>> {
        Ok(array_to_numpy(py, &self.0.array())?.call_method0("tolist")?)
    }

    // ---- dtype ----------------------------------------------------------------------------

    /// As float64.
    fn double(&self) -> Res<PyTensor> {
        Ok(wrap(self.0.to_dtype(tapegrad_core::DType::F64)?))
    }
    /// As float32.
    fn float(&self) -> Res<PyTensor> {
        Ok(wrap(self.0.to_dtype(tapegrad_core::DType::F32)?))
    }

    // ---- operators ------------------------------------------------------------------------

    fn __add__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        self.binary(py, &other, false, Tensor::add)
    }
    fn __radd__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        self.binary(py, &other, true, Tensor::add)
    }
    fn __sub__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        crate::int_ops::check_bool_sub(&other)?;
        self.binary(py, &other, false, Tensor::sub)
    }
    fn __rsub__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        crate::int_ops::check_bool_sub(&other)?;
        self.binary(py, &other, true, Tensor::sub)
    }
    fn __mul__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        self.binary(py, &other, false, Tensor::mul)
    }
    fn __rmul__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        self.binary(py, &other, true, Tensor::mul)
    }
    fn __truediv__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        self.binary(py, &other, false, Tensor::div)
    }
    fn __rtruediv__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        self.binary(py, &other, true, Tensor::div)
    }
    fn __pow__(
        &self,
        py: Python<'_>,
        other: Operand<'_>,
        modulo: Option<&Bound<'_, PyAny>>,
    ) -> Res<PyTensor> {
        reject_modulo(modulo)?;
        crate::int_ops::check_int_power(&self.0, &other)?;
        self.binary(py, &other, false, Tensor::pow)
    }
    fn __rpow__(
        &self,
        py: Python<'_>,
        other: Operand<'_>,
        modulo: Option<&Bound<'_, PyAny>>,
    ) -> Res<PyTensor> {
        reject_modulo(modulo)?;
        self.binary(py, &other, true, Tensor::pow)
    }
    fn __matmul__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        let (a, b) = (self.0.clone(), other.to_tensor(&self.0));
        Ok(wrap(py.detach(|| a.matmul(&b))?))
    }
    fn __rmatmul__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        let (a, b) = (other.to_tensor(&self.0), self.0.clone());
        Ok(wrap(py.detach(|| a.matmul(&b))?))
    }
    fn __neg__(&self, py: Python<'_>) -> Res<PyTensor> {
        self.unary(py, Tensor::neg)
    }
    fn __pos__(&self) -> PyTensor {
        wrap(self.0.clone())
    }
    fn __abs__(&self, py: Python<'_>) -> Res<PyTensor> {
        self.unary(py, Tensor::abs)
    }
    fn __lt__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        self.binary(py, &other, false, Tensor::lt)
    }
    fn __le__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        self.binary(py, &other, false, Tensor::le)
    }
    fn __gt__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        self.binary(py, &other, false, Tensor::gt)
    }
    fn __ge__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        self.binary(py, &other, false, Tensor::ge)
    }
    fn __eq__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        self.binary(py, &other, false, Tensor::eq)
    }
    fn __ne__(&self, py: Python<'_>, other: Operand<'_>) -> Res<PyTensor> {
        self.binary(py, &other, false, Tensor::ne)
    }
    fn __getitem__(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>) -> Res<PyTensor> {
        PyTensor::view_of(slf, slf.get().0.index(&parse_index(key)?)?)
    }

    // ---- named ops ------------------------------------------------------------------------

    /// `self + other`
    fn add(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Res<PyTensor> {
        self.binary(py, &operand("add", other)?, false, Tensor::add)
    }
    /// `self - other`
    fn sub(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Res<PyTensor> {
        let other = operand("sub", other)?;
        crate::int_ops::check_bool_sub(&other)?;
        self.binary(py, &other, false, Tensor::sub)
    }
    /// `self * other`
    fn mul(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Res<PyTensor> {
        self.binary(py, &operand("mul", other)?, false, Tensor::mul)
    }
    /// `self / other`; with `rounding_mode="trunc"` or `"floor"`, the rounded quotient
    /// (integers stay integers).
    #[pyo3(signature = (other, *, rounding_mode=None))]
    fn div(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        rounding_mode: Option<String>,
    ) -> Res<PyTensor> {
        self.div_rounding(py, other, rounding_mode)
    }
    /// `self ** exponent`
    fn pow(&self, py: Python<'_>, exponent: &Bound<'_, PyAny>) -> Res<PyTensor> {
        let exponent = operand("pow", exponent)?;
        crate::int_ops::check_int_power(&self.0, &exponent)?;
        self.binary(py, &exponent, false, Tensor::pow)
    }
    /// Elementwise maximum (ties share the gradient).
    fn maximum(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Res<PyTensor> {
        self.binary(py, &operand("maximum", other)?, false, Tensor::maximum)
    }
    /// Elementwise minimum (ties share the gradient).
    fn minimum(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Res<PyTensor> {
        self.binary(py, &operand("minimum", other)?, false, Tensor::minimum)
    }
    /// Mask of `self < other`.
    fn lt(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Res<PyTensor> {
        self.binary(py, &operand("lt", other)?, false, Tensor::lt)
    }
    /// Mask of `self <= other`.
    fn le(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Res<PyTensor> {
        self.binary(py, &operand("le", other)?, false, Tensor::le)
    }
    /// Mask of `self > other`.
    fn gt(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Res<PyTensor> {
        self.binary(py, &operand("gt", other)?, false, Tensor::gt)
    }
    /// Mask of `self >= other`.
    fn ge(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Res<PyTensor> {
        self.binary(py, &operand("ge", other)?, false, Tensor::ge)
    }
    /// Mask of `self == other`.
    fn eq(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Res<PyTensor> {
        self.binary(py, &operand("eq", other)?, false, Tensor::eq)
    }
    /// Mask of `self != other`.
    fn ne(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Res<PyTensor> {
        self.binary(py, &operand("ne", other)?, false, Tensor::ne)
    }
    /// Matrix product (NumPy semantics for 1-D and batched operands).
    fn matmul(&self, py: Python<'_>, other: PyRef<'_, PyTensor>) -> Res<PyTensor> {
        self.__matmul__(py, Operand::Tensor(other))
    }
    /// `self` where `condition` is nonzero, `other` elsewhere.
    #[pyo3(name = "where")]
    fn where_(&self, condition: &Bound<'_, PyAny>, other: &Bound<'_, PyAny>) -> Res<PyTensor> {
        let cond = operand("where", condition)?.to_tensor(&self.0);
        Ok(wrap(self.0.where_cond(&cond, &operand("where", other)?.to_tensor(&self.0))?))
    }
    /// Clamps into `[min, max]` (numbers or tensors).
    #[pyo3(signature = (min=None, max=None))]
    fn clamp<'py>(
        slf: &Bound<'py, Self>,
        min: Option<&Bound<'py, PyAny>>,
        max: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::int_ops::clamp_any(slf, min, max)
    }

    /// Sum over `dim` (all dims when None), in `dtype` when given (the input is cast first).
    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn sum(
        &self,
        py: Python<'_>,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> Res<PyTensor> {
        let (t, dims, dtype) = (&self.0, parse_dims(dim)?, crate::convert::parse_dtype(dtype)?);
        Ok(wrap(compute(py, t.numel(), || t.sum_dtype(dims.as_deref(), keepdim, dtype))?))
    }
    /// Mean over `dim` (all dims when None), in `dtype` when given (the input is cast first;
    /// an integer input needs it).
    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn mean(
        &self,
        py: Python<'_>,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> Res<PyTensor> {
        let (t, dims, dtype) = (&self.0, parse_dims(dim)?, crate::convert::parse_dtype(dtype)?);
        Ok(wrap(compute(py, t.numel(), || t.mean_dtype(dims.as_deref(), keepdim, dtype))?))
    }
    /// Largest value over `dim` (all dims when None; ties share the gradient).
    #[pyo3(signature = (dim=None, keepdim=false, *))]
    fn amax(&self, py: Python<'_>, dim: Option<&Bound<'_, PyAny>>, keepdim: bool) -> Res<PyTensor> {
        let (t, dims) = (&self.0, parse_dims(dim)?);
        Ok(wrap(compute(py, t.numel(), || t.max(dims.as_deref(), keepdim))?))
    }
    /// Smallest value over `dim` (all dims when None; ties share the gradient).
    #[pyo3(signature = (dim=None, keepdim=false, *))]
    fn amin(&self, py: Python<'_>, dim: Option<&Bound<'_, PyAny>>, keepdim: bool) -> Res<PyTensor> {
        let (t, dims) = (&self.0, parse_dims(dim)?);
        Ok(wrap(compute(py, t.numel(), || t.min(dims.as_deref(), keepdim))?))
    }
    /// `log(sum(exp(self)))` over `dim`, computed stably.
    #[pyo3(signature = (dim=None, keepdim=false, *))]
    fn logsumexp(
        &self,
        py: Python<'_>,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
    ) -> Res<PyTensor> {
        let (t, dims) = (&self.0, parse_dims(dim)?);
        Ok(wrap(compute(py, t.numel(), || t.logsumexp(dims.as_deref(), keepdim))?))
    }
    /// Softmax along `dim`.
    #[pyo3(signature = (dim=-1))]
    fn softmax(&self, py: Python<'_>, dim: i64) -> Res<PyTensor> {
        let t = &self.0;
        Ok(wrap(compute(py, t.numel(), || t.softmax(dim))?))
    }
    /// Log-softmax along `dim`.
    #[pyo3(signature = (dim=-1))]
    fn log_softmax(&self, py: Python<'_>, dim: i64) -> Res<PyTensor> {
        let t = &self.0;
        Ok(wrap(compute(py, t.numel(), || t.log_softmax(dim))?))
    }

    /// Same data in a new shape (one dimension may be -1).
    #[pyo3(signature = (*shape))]
    fn reshape(slf: &Bound<'_, Self>, shape: &Bound<'_, PyTuple>) -> Res<PyTensor> {
        PyTensor::view_of(slf, slf.get().0.reshape_infer(&parse_shape_args(shape)?)?)
    }
    /// Merges dimensions `start_dim..=end_dim`.
    #[pyo3(signature = (start_dim=0, end_dim=-1))]
    fn flatten(slf: &Bound<'_, Self>, start_dim: i64, end_dim: i64) -> Res<PyTensor> {
        PyTensor::view_of(slf, slf.get().0.flatten(start_dim, end_dim)?)
    }
    /// Swaps two dimensions.
    fn transpose(slf: &Bound<'_, Self>, dim0: i64, dim1: i64) -> Res<PyTensor> {
        PyTensor::view_of(slf, slf.get().0.transpose(dim0, dim1)?)
    }
    /// Transpose of a 2-D tensor (reversed dimensions otherwise, as NumPy).
    #[getter(T)]
    fn reversed_dims(slf: &Bound<'_, Self>) -> Res<PyTensor> {
        let n = slf.get().0.ndim() as i64;
        let perm: Vec<i64> = (0..n).rev().collect();
        PyTensor::view_of(slf, slf.get().0.permute(&perm)?)
    }
    /// Reorders dimensions.
    #[pyo3(signature = (*dims))]
    fn permute(slf: &Bound<'_, Self>, dims: &Bound<'_, PyTuple>) -> Res<PyTensor> {
        PyTensor::view_of(slf, slf.get().0.permute(&parse_shape_args(dims)?)?)
    }
    /// Inserts a dimension of size 1.
    fn unsqueeze(slf: &Bound<'_, Self>, dim: i64) -> Res<PyTensor> {
        PyTensor::view_of(slf, slf.get().0.unsqueeze(dim)?)
    }
    /// Removes dimensions of size 1 (all, or those in `dim`).
    #[pyo3(signature = (dim=None))]
    fn squeeze(slf: &Bound<'_, Self>, dim: Option<&Bound<'_, PyAny>>) -> Res<PyTensor> {
        PyTensor::view_of(slf, slf.get().0.squeeze(parse_dims(dim)?.as_deref())?)
    }
    /// Broadcasts to a larger shape without copying (-1 keeps a dimension).
    #[pyo3(signature = (*sizes))]
    fn expand(slf: &Bound<'_, Self>, sizes: &Bound<'_, PyTuple>) -> Res<PyTensor> {
        PyTensor::view_of(slf, slf.get().0.expand_infer(&parse_shape_args(sizes)?)?)
    }
    /// Broadcasts to `shape` (NumPy's `broadcast_to`).
    fn broadcast_to(slf: &Bound<'_, Self>, shape: &Bound<'_, PyAny>) -> Res<PyTensor> {
        let shape = crate::convert::parse_shape(shape)?;
        PyTensor::view_of(slf, slf.get().0.expand(&to_usize_shape("broadcast_to", &shape)?)?)
    }
}

/// `pow(x, y, mod)`: tensors have no modular power (NumPy raises `TypeError` too), so a
/// modulus must not be ignored.
fn reject_modulo(modulo: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
    match modulo {
        Some(m) if !m.is_none() => Err(pyo3::exceptions::PyTypeError::new_err(
            "pow() with a modulus (3-argument pow) is not supported for tensors",
        )),
        _ => Ok(()),
    }
}
