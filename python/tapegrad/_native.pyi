"""Type stub of ``tapegrad._native``, the PyO3 binding over the Rust core.

Keep in step with ``rust/python/src``: ``python -m mypy.stubtest tapegrad._native`` checks
this file against the built module. Functions whose names start with ``_`` take
already-normalised arguments; their public wrappers live in ``tapegrad/__init__.py`` and
``tapegrad/_creation.py``.
"""

import builtins
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, final, overload

import numpy as np
import numpy.typing as npt
from typing_extensions import TypeAlias

from . import return_types as _return_types
from ._size import Size as _Size

# A Python number (int, float or bool) takes the tensor's dtype, as in PyTorch; a NumPy
# float array keeps its dtype (and promotes), an integer or bool array takes the tensor's.
_Operand: TypeAlias = Tensor | float | npt.NDArray[Any]
# Comparison operands (NumPy arrays work too; typed narrower so that mypy's reflected
# comparison check stays sound).
_Compared: TypeAlias = Tensor | float
# A dtype argument: tapegrad.float32/float64, "float32"/"float64"/"float"/"double",
# or anything numpy.dtype() accepts that names one of those two.
_DTypeLike: TypeAlias = dtype | str | np.dtype[Any] | type
# A dim argument: one axis, several, or None for all of them.
_Dims: TypeAlias = builtins.int | Sequence[builtins.int] | None
# A shape: an int or a sequence of ints. Varargs take either: ``reshape(2, 3)`` or
# ``reshape((2, 3))``.
_ShapeLike: TypeAlias = builtins.int | Sequence[builtins.int]
_FloatArray: TypeAlias = npt.NDArray[np.float32] | npt.NDArray[np.float64]

__all__ = [
    "bool",
    "can_cast",
    "get_default_dtype",
    "int8",
    "int16",
    "int32",
    "int64",
    "promote_types",
    "result_type",
    "set_default_dtype",
    "uint8",
    "_full_value",
    "GradFn",
    "RemovableHandle",
    "RngState",
    "_DLPackOwner",
    "_SharedMemory",
    "Tensor",
    "_adam_step",
    "_apply_function",
    "_arange",
    "_conv",
    "_cross_entropy",
    "_current_dual_level",
    "_enter_dual_level",
    "_exit_dual_level",
    "_external_inputs",
    "_eye",
    "_from_dlpack_capsule",
    "_from_numpy",
    "_panic_for_tests",
    "_full",
    "_grad",
    "_grad_within",
    "_graph_rows",
    "_linear",
    "_linalg_cholesky",
    "_linalg_det",
    "_linalg_eigh",
    "_linalg_inv",
    "_linalg_qr",
    "_linalg_slogdet",
    "_linalg_solve",
    "_take",
    "_put_add",
    "_positions_along",
    "_linalg_solve_triangular",
    "_linalg_svd",
    "_make_dual",
    "_max_pool",
    "_conv_transpose",
    "_adaptive_max_pool",
    "_max_unpool",
    "_next_node_seq",
    "_peak_saved_bytes",
    "_pop_label",
    "_push_label",
    "_rand",
    "_randn",
    "_reset_peak_saved_bytes",
    "_rng_state",
    "_saved_bytes",
    "_scaled_dot_product_attention",
    "_set_grad_enabled",
    "_share_numpy",
    "_set_rng_state",
    "_sgd_step",
    "_swap_dual_levels",
    "_set_anomaly_enabled",
    "_primitives",
    "_is_anomaly_enabled",
    "_is_anomaly_check_nan_enabled",
    "_where",
    "Generator",
    "_default_generator",
    "_normal",
    "_poisson",
    "_randint",
    "_randperm",
    "cat",
    "dtype",
    "float32",
    "float64",
    "get_num_threads",
    "is_grad_enabled",
    "manual_seed",
    "set_num_threads",
    "stack",
]

@final
class dtype:
    """A tensor element type: ``tapegrad.bool``, ``uint8``, ``int8``, ``int16``,
    ``int32``, ``int64``, ``float32`` or ``float64``."""

    @property
    def itemsize(self) -> builtins.int:
        """Bytes per element."""

    @property
    def is_floating_point(self) -> builtins.bool:
        """True for float32 and float64."""

    @property
    def is_signed(self) -> builtins.bool:
        """True when the dtype holds negative values."""

    @property
    def is_complex(self) -> builtins.bool:
        """Always False: tapegrad has no complex dtypes."""

    @property
    def name(self) -> str:
        """The matching NumPy dtype name: ``"float32"`` or ``"float64"``."""

    def __eq__(self, other: object, /) -> builtins.bool: ...
    def __ne__(self, other: object, /) -> builtins.bool: ...
    def __hash__(self) -> builtins.int: ...

bool: dtype
uint8: dtype
int8: dtype
int16: dtype
int32: dtype
int64: dtype
float32: dtype
float64: dtype

_DType: TypeAlias = dtype  # `Tensor.dtype` shadows the class name inside `Tensor`

@final
class GradFn:
    """The node that produced a non-leaf tensor (``tensor.grad_fn``)."""

    def name(self) -> str:
        """The node's name, e.g. ``"MulBackward"``."""

@final
class Tensor:
    """An n-dimensional float32/float64 array that records the ops applied to it for
    reverse-mode differentiation. Create tensors with ``tapegrad.tensor``,
    ``tapegrad.zeros`` and the other factory functions."""

    # ---- metadata
    @property
    def shape(self) -> _Size:
        """The extent of each dimension, as a ``tapegrad.Size``."""

    @overload
    def size(self, dim: None = None, *, axis: None = None) -> _Size: ...
    @overload
    def size(self, dim: builtins.int, *, axis: None = None) -> builtins.int: ...
    @overload
    def size(self, dim: None = None, *, axis: builtins.int) -> builtins.int: ...
    @property
    def dtype(self) -> _DType:
        """The element type."""

    @property
    def ndim(self) -> builtins.int:
        """Number of dimensions."""

    def dim(self) -> builtins.int:
        """Number of dimensions."""

    def numel(self) -> builtins.int:
        """Number of elements."""

    def __len__(self) -> builtins.int: ...
    def __hash__(self) -> builtins.int: ...

    # ---- autograd state
    @property
    def requires_grad(self) -> builtins.bool:
        """Whether gradients flow to this tensor (settable on leaves only)."""

    @requires_grad.setter
    def requires_grad(self, value: builtins.bool) -> None: ...
    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        """Sets ``requires_grad`` in place and returns the tensor."""

    @property
    def is_leaf(self) -> builtins.bool:
        """True for tensors created by the user (or by ops that recorded nothing)."""

    @property
    def grad_fn(self) -> GradFn | None:
        """The node that produced this tensor, or None for leaves."""

    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient (None until a backward reaches this tensor)."""

    @grad.setter
    def grad(self, grad: Tensor | None) -> None: ...
    def retain_grad(self) -> None:
        """Keeps ``.grad`` for this non-leaf during backward."""

    @property
    def retains_grad(self) -> builtins.bool:
        """Whether this non-leaf keeps its ``.grad``."""

    def detach(self) -> Tensor:
        """A new leaf with the same data, cut from the graph."""

    # ---- storage, views and in-place ops (issue 12) ----
    def _update_(self, op: str, function: Callable[[Tensor], Tensor]) -> Tensor:
        """Replaces the value in place by ``function(current)``; returns the tensor."""

    def _arith_(self, op: str, other: Tensor | builtins.float, alpha: builtins.float = 1.0) -> builtins.bool:
        """The direct in-place kernel when nothing is recorded; False otherwise."""

    def copy_(self, src: Tensor | builtins.float, non_blocking: builtins.bool = False) -> Tensor:
        """Copies ``src`` (broadcast, cast) into this tensor."""

    def fill_(self, value: Tensor | builtins.float) -> Tensor:
        """Sets every element to ``value``."""

    def zero_(self) -> Tensor:
        """Sets every element to zero."""

    @property
    def data(self) -> Tensor:
        """A tensor sharing this one's storage, cut from the graph."""

    @data.setter
    def data(self, other: Tensor) -> None: ...
    @property
    def _base(self) -> Tensor | None:
        """The tensor whose storage this view shares, or None."""

    def _is_view(self) -> builtins.bool:
        """Whether this tensor is a view of another's storage."""

    def is_contiguous(self, memory_format: Any = None) -> builtins.bool:
        """Whether the elements are one row-major block."""

    def contiguous(self, memory_format: Any = None) -> Tensor:
        """This tensor if it is contiguous, else a contiguous copy."""

    def stride(
        self, dim: builtins.int | None = None, *, axis: builtins.int | None = None
    ) -> Any:
        """Steps in elements along each axis, or along ``dim``."""

    def storage_offset(self) -> builtins.int:
        """Position of the first element in the storage."""

    def data_ptr(self) -> builtins.int:
        """Address of the first element."""

    def _storage_nbytes(self) -> builtins.int:
        """Bytes of the storage this tensor views."""

    def _shares_storage(self, other: Tensor) -> builtins.bool:
        """Whether ``other`` views the same storage."""

    def as_strided(self, size: Any, stride: Any, storage_offset: builtins.int | None = None) -> Tensor:
        """A view with the given sizes, strides and storage offset."""

    def t(self) -> Tensor:
        """The transpose of a matrix (a view)."""

    @property
    def mT(self) -> Tensor:
        """The last two dimensions swapped (a view)."""

    def __iadd__(self, value: Any, /) -> Tensor: ...  # type: ignore[misc]
    def __isub__(self, value: Any, /) -> Tensor: ...  # type: ignore[misc]
    def __imul__(self, value: Any, /) -> Tensor: ...  # type: ignore[misc]
    def __itruediv__(self, value: Any, /) -> Tensor: ...  # type: ignore[misc]
    def __ifloordiv__(self, value: Any, /) -> Tensor: ...  # type: ignore[misc]
    def __imod__(self, value: Any, /) -> Tensor: ...  # type: ignore[misc]
    def __ipow__(self, value: Any, /) -> Tensor: ...  # type: ignore[misc]
    def __imatmul__(self, value: Any, /) -> Tensor: ...  # type: ignore[misc]
    def __iand__(self, value: Any, /) -> Tensor: ...  # type: ignore[misc]
    def __ior__(self, value: Any, /) -> Tensor: ...  # type: ignore[misc]
    def __ixor__(self, value: Any, /) -> Tensor: ...  # type: ignore[misc]
    def __ilshift__(self, value: Any, /) -> Tensor: ...  # type: ignore[misc]
    def __irshift__(self, value: Any, /) -> Tensor: ...  # type: ignore[misc]
    def __setitem__(self, key: Any, value: Any, /) -> None: ...
    def __deepcopy__(self, *args: Any, **kwargs: Any) -> Any:
        """A leaf copy with storage of its own (``copy.deepcopy``)."""

    def __reduce_ex__(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """The pickle recipe: values, dtype, shape, class and ``requires_grad``."""

    def add_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def sub_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def mul_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def div_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def pow_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def clamp_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def clamp_min_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def clamp_max_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def clip_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def lerp_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def addcmul_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def addcdiv_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def masked_fill_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def neg_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def abs_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def exp_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def log_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def sqrt_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def sin_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def cos_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def tanh_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def sigmoid_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def relu_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def floor_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def ceil_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def round_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def trunc_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def frac_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def sign_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def reciprocal_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def rsqrt_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def square_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def exp2_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def expm1_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def log2_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def log10_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def log1p_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def tan_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def asin_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def acos_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def atan_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def sinh_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def cosh_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def asinh_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def acosh_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def atanh_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def erf_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def erfc_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def erfinv_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def sinc_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def logit_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def sgn_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def nan_to_num_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def fmod_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def remainder_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def atan2_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def hypot_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def copysign_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def xlogy_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def floor_divide_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def logical_not_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def logical_and_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def logical_or_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def logical_xor_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def bitwise_not_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def bitwise_and_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def bitwise_or_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def bitwise_xor_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def bitwise_left_shift_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def bitwise_right_shift_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def float_power_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def deg2rad_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def rad2deg_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def digamma_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def lgamma_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def index_add_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def index_copy_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def index_fill_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def scatter_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def scatter_add_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def scatter_reduce_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def absolute_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``absolute``: the out-of-place op's result written into this tensor."""

    def negative_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``negative``: the out-of-place op's result written into this tensor."""

    def fix_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``fix``: the out-of-place op's result written into this tensor."""

    def arcsin_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``arcsin``: the out-of-place op's result written into this tensor."""

    def arccos_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``arccos``: the out-of-place op's result written into this tensor."""

    def arctan_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``arctan``: the out-of-place op's result written into this tensor."""

    def arcsinh_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``arcsinh``: the out-of-place op's result written into this tensor."""

    def arccosh_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``arccosh``: the out-of-place op's result written into this tensor."""

    def arctanh_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``arctanh``: the out-of-place op's result written into this tensor."""

    def arctan2_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``arctan2``: the out-of-place op's result written into this tensor."""

    def multiply_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``multiply``: the out-of-place op's result written into this tensor."""

    def divide_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``divide``: the out-of-place op's result written into this tensor."""

    def true_divide_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``true_divide``: the out-of-place op's result written into this tensor."""

    def subtract_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``subtract``: the out-of-place op's result written into this tensor."""

    def eq_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``eq``: the out-of-place op's result written into this tensor."""

    def ne_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``ne``: the out-of-place op's result written into this tensor."""

    def lt_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``lt``: the out-of-place op's result written into this tensor."""

    def le_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``le``: the out-of-place op's result written into this tensor."""

    def gt_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``gt``: the out-of-place op's result written into this tensor."""

    def ge_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``ge``: the out-of-place op's result written into this tensor."""

    def greater_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``greater``: the out-of-place op's result written into this tensor."""

    def greater_equal_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``greater_equal``: the out-of-place op's result written into this tensor."""

    def less_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``less``: the out-of-place op's result written into this tensor."""

    def less_equal_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``less_equal``: the out-of-place op's result written into this tensor."""

    def not_equal_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``not_equal``: the out-of-place op's result written into this tensor."""

    def gcd_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``gcd``: the out-of-place op's result written into this tensor."""

    def lcm_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``lcm``: the out-of-place op's result written into this tensor."""

    def heaviside_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``heaviside``: the out-of-place op's result written into this tensor."""

    def i0_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``i0``: the out-of-place op's result written into this tensor."""

    def ldexp_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``ldexp``: the out-of-place op's result written into this tensor."""

    def nextafter_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``nextafter``: the out-of-place op's result written into this tensor."""

    def mvlgamma_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``mvlgamma``: the out-of-place op's result written into this tensor."""

    def polygamma_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``polygamma``: the out-of-place op's result written into this tensor."""

    def cumsum_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``cumsum``: the out-of-place op's result written into this tensor."""

    def cumprod_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``cumprod``: the out-of-place op's result written into this tensor."""

    def tril_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``tril``: the out-of-place op's result written into this tensor."""

    def triu_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``triu``: the out-of-place op's result written into this tensor."""

    def renorm_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``renorm``: the out-of-place op's result written into this tensor."""

    def addmm_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``addmm``: the out-of-place op's result written into this tensor."""

    def addmv_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``addmv``: the out-of-place op's result written into this tensor."""

    def addbmm_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``addbmm``: the out-of-place op's result written into this tensor."""

    def baddbmm_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``baddbmm``: the out-of-place op's result written into this tensor."""

    def addr_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``addr``: the out-of-place op's result written into this tensor."""

    # ---- in-place view ops (rust/python/src/view_inplace.rs): the same tensor, restrided
    def unsqueeze_(
        self, dim: builtins.int | None = None, *, axis: builtins.int | None = None
    ) -> Tensor: ...
    def squeeze_(self, dim: _Dims = None, *, axis: _Dims = None) -> Tensor: ...
    def t_(self) -> Tensor: ...
    def transpose_(self, dim0: builtins.int, dim1: builtins.int) -> Tensor: ...
    def swapdims_(self, dim0: builtins.int, dim1: builtins.int) -> Tensor: ...
    def swapaxes_(self, axis0: builtins.int, axis1: builtins.int) -> Tensor: ...
    def as_strided_(
        self, size: Any, stride: Any, storage_offset: builtins.int | None = None
    ) -> Tensor: ...
    def resize_(self, *sizes: Any, memory_format: Any = None) -> Tensor: ...
    def resize_as_(self, the_template: Tensor, memory_format: Any = None) -> Tensor: ...

    def index_put_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def index_put(self, *args: Any, **kwargs: Any) -> Any:
        """A copy with ``indices`` set to ``values``."""

    def uniform_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def normal_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def bernoulli_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def exponential_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def random_(self, *args: Any, **kwargs: Any) -> Any:
        """In place: the out-of-place op's result written into this tensor."""

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Registers ``hook(grad)``, called during backward with this tensor's gradient; it
        may return a replacement. Returns a handle whose ``remove()`` unregisters it."""

    def register_post_accumulate_grad_hook(
        self, hook: Callable[[Tensor], None]
    ) -> RemovableHandle:
        """Registers ``hook(tensor)``, called during backward right after this leaf's
        ``.grad`` has been accumulated. Returns a handle whose ``remove()`` unregisters it."""

    @property
    def _tangent(self) -> Tensor | None:
        """The tangent carried at the innermost open dual level, or None."""

    def _alias(self) -> Tensor:
        """An identity view that always requires grad (used by function transforms)."""

    @property
    def _version(self) -> builtins.int:
        """Times this tensor's data was replaced in place."""

    def _increment_version(self) -> None:
        """Counts a write made through shared memory (an MPI collective) in the version."""

    def _assign(self, other: Tensor) -> None:
        """Replaces the data in place (inside ``no_grad()`` for leaves that require grad)."""

    def backward(
        self,
        gradient: Tensor | None = None,
        retain_graph: builtins.bool | None = None,
        create_graph: builtins.bool = False,
    ) -> None:
        """Accumulates the gradient of this tensor into the leaves' ``.grad``."""

    # ---- out to Python
    def numpy(self) -> _FloatArray:
        """A NumPy array sharing the tensor's memory (refused while the tensor requires
        grad: use ``detach()``)."""

    def __array__(
        self, dtype: npt.DTypeLike | None = None, copy: builtins.bool | None = None
    ) -> npt.NDArray[Any]: ...
    def __dlpack__(
        self,
        *,
        stream: Any | None = None,
        max_version: tuple[builtins.int, builtins.int] | None = None,
        dl_device: tuple[builtins.int, builtins.int] | None = None,
        copy: builtins.bool | None = None,
    ) -> Any:
        """DLPack export: a capsule viewing the tensor's memory (CPU only; the versioned
        DLPack 1.0 struct when ``max_version >= (1, 0)``, else the legacy one)."""

    def __dlpack_device__(self) -> tuple[builtins.int, builtins.int]:
        """``(1, 0)``: DLPack's kDLCPU, device 0."""
    def item(self) -> builtins.bool | builtins.int | builtins.float:
        """The value of a one-element tensor as a Python number (bool, int or float,
        after the dtype)."""

    def __float__(self) -> builtins.float: ...
    def __int__(self) -> builtins.int: ...
    def __index__(self) -> builtins.int: ...
    def __bool__(self) -> builtins.bool: ...
    def tolist(self) -> Any:
        """The data as nested Python lists (a float for a 0-d tensor)."""

    # ---- dtype
    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """The tensor in another dtype (a differentiable copy) or on a device (the CPU
        only): ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``."""

    def type_as(self, other: Tensor) -> Tensor:
        """In ``other``'s dtype."""

    def clone(self, *, memory_format: Any = None) -> Tensor:
        """A copy with its own data, differentiable (``CloneBackward``)."""

    # ---- device (CPU only) and sizes
    @property
    def device(self) -> Any:
        """The device the tensor is on: always the CPU."""

    def cpu(self) -> Tensor:
        """The tensor itself (it is on the CPU already)."""

    @property
    def is_cuda(self) -> builtins.bool:
        """False: tapegrad tensors live on the CPU."""

    @property
    def is_cpu(self) -> builtins.bool:
        """True: tapegrad tensors live on the CPU."""

    @property
    def is_mps(self) -> builtins.bool:
        """False: tapegrad tensors live on the CPU."""

    @property
    def is_meta(self) -> builtins.bool:
        """False: every tapegrad tensor has storage."""

    @property
    def is_sparse(self) -> builtins.bool:
        """False: tapegrad tensors are dense."""

    @property
    def is_quantized(self) -> builtins.bool:
        """False: tapegrad has no quantized tensors."""

    def nelement(self) -> int:
        """The number of elements (as ``numel``)."""

    def new_zeros(
        self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: builtins.bool = False
    ) -> Tensor:
        """Zeros of ``size``, in this tensor's dtype unless given."""

    def new_ones(
        self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: builtins.bool = False
    ) -> Tensor:
        """Ones of ``size``, in this tensor's dtype unless given."""

    def new_empty(
        self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: builtins.bool = False
    ) -> Tensor:
        """A tensor of ``size`` (zero-filled)."""

    def new_full(
        self,
        size: Any,
        fill_value: builtins.float,
        *,
        dtype: Any = None,
        device: Any = None,
        requires_grad: builtins.bool = False,
    ) -> Tensor:
        """``size`` filled with ``fill_value``, in this tensor's dtype unless given."""

    def new_tensor(
        self, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: builtins.bool = False
    ) -> Any:
        """A new leaf copied from ``data``, in this tensor's dtype unless given."""

    def view_as(self, other: Tensor) -> Tensor:
        """Reshaped to ``other``'s shape."""

    def reshape_as(self, other: Tensor) -> Tensor:
        """Reshaped to ``other``'s shape."""

    def expand_as(self, other: Tensor) -> Tensor:
        """Broadcast to ``other``'s shape."""

    def __format__(self, spec: str, /) -> str: ...

    # ---- composites defined in Python (tapegrad/_shapes.py, _stats.py, _products.py,
    # _elementwise.py), dispatched from the binding
    def narrow(self, *args: Any, **kwargs: Any) -> Any:
        """Elements ``start .. start + length`` along ``dim``."""

    def split(self, *args: Any, **kwargs: Any) -> Any:
        """Pieces of a size, or of the given sizes, along ``dim``."""

    def chunk(self, *args: Any, **kwargs: Any) -> Any:
        """At most ``chunks`` equal pieces along ``dim``."""

    def tensor_split(self, *args: Any, **kwargs: Any) -> Any:
        """``n`` near-equal pieces, or pieces cut at indices, along ``dim``."""

    def unbind(self, *args: Any, **kwargs: Any) -> Any:
        """The slices along ``dim``."""

    def flip(self, *args: Any, **kwargs: Any) -> Any:
        """Reverses the order along ``dims``."""

    def fliplr(self, *args: Any, **kwargs: Any) -> Any:
        """Reverses dimension 1."""

    def flipud(self, *args: Any, **kwargs: Any) -> Any:
        """Reverses dimension 0."""

    def roll(self, *args: Any, **kwargs: Any) -> Any:
        """Rotates elements along ``dims``."""

    def rot90(self, *args: Any, **kwargs: Any) -> Any:
        """Rotates by 90° in the plane of ``dims``."""

    def repeat(self, *args: Any, **kwargs: Any) -> Any:
        """Repeats the tensor along each dimension (``repeat(2, 3)``)."""

    def tile(self, *args: Any, **kwargs: Any) -> Any:
        """Repeats the tensor along each dimension (``tile((2, 3))``)."""

    def repeat_interleave(self, *args: Any, **kwargs: Any) -> Any:
        """Repeats each element along ``dim``."""

    def movedim(self, *args: Any, **kwargs: Any) -> Any:
        """Moves dimensions to new positions."""

    def swapaxes(self, *args: Any, **kwargs: Any) -> Any:
        """Swaps two dimensions."""

    def swapdims(self, *args: Any, **kwargs: Any) -> Any:
        """Swaps two dimensions (``transpose``)."""

    def diagonal(
        self, offset: builtins.int = 0, dim1: builtins.int = 0, dim2: builtins.int = 1
    ) -> Tensor:
        """The ``offset`` diagonal of the matrices in ``dim1``, ``dim2``, as the last
        dimension (a view)."""

    def diag(self, *args: Any, **kwargs: Any) -> Any:
        """Diagonal of a 2-d tensor, or a matrix from a 1-d one."""

    def diag_embed(self, *args: Any, **kwargs: Any) -> Any:
        """Matrices with the last dimension on a diagonal."""

    def trace(self, *args: Any, **kwargs: Any) -> Any:
        """Sum of the main diagonal."""

    def tril(self, *args: Any, **kwargs: Any) -> Any:
        """The lower triangle."""

    def triu(self, *args: Any, **kwargs: Any) -> Any:
        """The upper triangle."""

    def unflatten(self, *args: Any, **kwargs: Any) -> Any:
        """Splits dimension ``dim`` into ``sizes``."""

    # ---- surface names (tapegrad/_surface.py)
    def select(self, *args: Any, **kwargs: Any) -> Any:
        """The slice at ``index`` along ``dim``, that dimension removed (a view)."""

    def ravel(self, *args: Any, **kwargs: Any) -> Any:
        """The elements as a 1-d tensor (a view when the strides allow it)."""

    def moveaxis(self, *args: Any, **kwargs: Any) -> Any:
        """Moves dimensions to new positions (an alias of ``movedim``)."""

    def hsplit(self, *args: Any, **kwargs: Any) -> Any:
        """Splits along dimension 1 (0 for 1-d tensors)."""

    def vsplit(self, *args: Any, **kwargs: Any) -> Any:
        """Splits along dimension 0."""

    def dsplit(self, *args: Any, **kwargs: Any) -> Any:
        """Splits along dimension 2."""

    def ndimension(self, *args: Any, **kwargs: Any) -> Any:
        """The number of dimensions."""

    def sum_to_size(self, *args: Any, **kwargs: Any) -> Any:
        """Sums broadcast dimensions away to reach ``size``."""

    def is_nonzero(self, *args: Any, **kwargs: Any) -> Any:
        """Whether the single element is nonzero."""

    def is_complex(self, *args: Any, **kwargs: Any) -> Any:
        """False: tapegrad has no complex dtypes."""

    def is_shared(self, *args: Any, **kwargs: Any) -> Any:
        """False: tensors are not in shared memory."""

    def share_memory_(self, *args: Any, **kwargs: Any) -> Any:
        """The tensor itself (a no-op on the CPU)."""

    def pin_memory(self, *args: Any, **kwargs: Any) -> Any:
        """The tensor itself: no pinned memory without an accelerator."""

    def is_pinned(self, *args: Any, **kwargs: Any) -> Any:
        """False: no pinned memory without an accelerator."""

    def conj(self, *args: Any, **kwargs: Any) -> Any:
        """The tensor itself: the conjugate of a real tensor."""

    def resolve_conj(self, *args: Any, **kwargs: Any) -> Any:
        """The tensor itself."""

    def is_conj(self, *args: Any, **kwargs: Any) -> Any:
        """False: no lazy conjugation."""

    def resolve_neg(self, *args: Any, **kwargs: Any) -> Any:
        """The tensor itself."""

    def is_neg(self, *args: Any, **kwargs: Any) -> Any:
        """False: no lazy negation."""

    def unfold(self, dimension: builtins.int, size: builtins.int, step: builtins.int) -> Tensor:
        """Windows of ``size`` every ``step`` along ``dimension`` as a new last dimension (a view)."""

    @property
    def H(self) -> Tensor:
        """The conjugate transpose of a matrix: its transpose (a view)."""

    @property
    def mH(self) -> Tensor:
        """The conjugate transpose of the last two dimensions (a view)."""

    @property
    def real(self) -> Tensor:
        """The real part: the tensor itself."""

    @property
    def imag(self) -> Tensor:
        """Raises: a real tensor has no imaginary part."""

    def __new__(cls, *args: Any, device: Any = None) -> Tensor: ...

    def lerp(self, *args: Any, **kwargs: Any) -> Any:
        """``self + weight · (end - self)``."""

    def addcmul(self, *args: Any, **kwargs: Any) -> Any:
        """``self + value · tensor1 · tensor2``."""

    def addcdiv(self, *args: Any, **kwargs: Any) -> Any:
        """``self + value · tensor1 / tensor2``."""

    def float_power(self, *args: Any, **kwargs: Any) -> Any:
        """``self ** exponent`` in float64."""

    def polygamma(self, n: int) -> Tensor:
        """``ψ⁽ⁿ⁾(self)``, the n-th derivative of ``digamma`` (``n = 0`` is ``digamma``)."""

    def deg2rad(self, *args: Any, **kwargs: Any) -> Tensor:
        """Degrees to radians."""

    def rad2deg(self, *args: Any, **kwargs: Any) -> Tensor:
        """Radians to degrees."""

    def all(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        """True where every element (over ``dim``) is nonzero."""

    def any(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        """True where some element (over ``dim``) is nonzero."""

    def allclose(
        self, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: builtins.bool = False
    ) -> builtins.bool:
        """Whether every element is close to ``other``'s."""

    def isclose(
        self, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: builtins.bool = False
    ) -> Tensor:
        """``|self - other| <= atol + rtol |other|`` elementwise."""

    def equal(self, other: Tensor) -> builtins.bool:
        """Whether ``other`` has the same shape and elements."""

    def count_nonzero(self, dim: Any = None) -> Tensor:
        """The number of nonzero elements (over ``dim``)."""

    def isfinite(self, *args: Any, **kwargs: Any) -> Tensor:
        """True where the element is finite."""

    def isinf(self, *args: Any, **kwargs: Any) -> Tensor:
        """True where the element is ±inf."""

    def isnan(self, *args: Any, **kwargs: Any) -> Tensor:
        """True where the element is NaN."""

    def logical_and(self, other: Any) -> Tensor:
        """Elementwise logical and."""

    def logical_or(self, other: Any) -> Tensor:
        """Elementwise logical or."""

    def logical_xor(self, other: Any) -> Tensor:
        """Elementwise logical exclusive or."""

    def logical_not(self, *args: Any, **kwargs: Any) -> Tensor:
        """Elementwise logical not."""

    def nan_to_num(self, *args: Any, **kwargs: Any) -> Any:
        """NaN and ±inf replaced by finite values."""

    def var(self, *args: Any, **kwargs: Any) -> Any:
        """Variance over ``dim`` with ``correction`` (or ``unbiased``)."""

    def std(self, *args: Any, **kwargs: Any) -> Any:
        """Standard deviation over ``dim`` with ``correction`` (or ``unbiased``)."""

    def var_mean(self, *args: Any, **kwargs: Any) -> Any:
        """``(var, mean)`` over ``dim``."""

    def std_mean(self, *args: Any, **kwargs: Any) -> Any:
        """``(std, mean)`` over ``dim``."""

    def norm(self, *args: Any, **kwargs: Any) -> Any:
        """The ``p``-norm over ``dim`` (all elements by default)."""

    def dist(self, *args: Any, **kwargs: Any) -> Any:
        """``‖self - other‖_p``."""

    def nansum(self, *args: Any, **kwargs: Any) -> Any:
        """Sum treating NaN as zero."""

    def nanmean(self, *args: Any, **kwargs: Any) -> Any:
        """Mean of the non-NaN elements."""

    def cumsum(self, *args: Any, **kwargs: Any) -> Any:
        """Cumulative sum along ``dim``."""

    def cumprod(self, *args: Any, **kwargs: Any) -> Any:
        """Cumulative product along ``dim``."""

    def prod(self, *args: Any, **kwargs: Any) -> Any:
        """Product over ``dim`` (all elements by default)."""

    def logcumsumexp(self, *args: Any, **kwargs: Any) -> Any:
        """``log(cumsum(exp(self)))`` along ``dim``, stable."""

    def diff(self, *args: Any, **kwargs: Any) -> Any:
        """``n``-th forward difference along ``dim``."""

    def mm(self, *args: Any, **kwargs: Any) -> Any:
        """Product of two matrices."""

    def bmm(self, *args: Any, **kwargs: Any) -> Any:
        """Batched product of ``(b, n, m)`` and ``(b, m, p)``."""

    def mv(self, *args: Any, **kwargs: Any) -> Any:
        """Matrix-vector product."""

    def dot(self, *args: Any, **kwargs: Any) -> Any:
        """Dot product of two 1-d tensors."""

    def vdot(self, *args: Any, **kwargs: Any) -> Any:
        """Dot product of two 1-d tensors (conjugating the first: the same for reals)."""

    def outer(self, *args: Any, **kwargs: Any) -> Any:
        """Outer product of two 1-d tensors."""

    def addmm(self, *args: Any, **kwargs: Any) -> Any:
        """``beta · self + alpha · (mat1 @ mat2)``."""

    def addmv(self, *args: Any, **kwargs: Any) -> Any:
        """``beta · self + alpha · (mat @ vec)``."""

    def baddbmm(self, *args: Any, **kwargs: Any) -> Any:
        """``beta · self + alpha · (batch1 @ batch2)``."""

    def kron(self, *args: Any, **kwargs: Any) -> Any:
        """Kronecker product."""

    def cross(self, *args: Any, **kwargs: Any) -> Any:
        """Cross product of 3-vectors along ``dim``."""
    __array_ufunc__: ClassVar[None]

    def double(self) -> Tensor:
        """As float64."""

    def float(self) -> Tensor:
        """As float32."""

    def long(self) -> Tensor:
        """As int64."""

    def int(self) -> Tensor:
        """As int32."""

    def short(self) -> Tensor:
        """As int16."""

    def char(self) -> Tensor:
        """As int8."""

    def byte(self) -> Tensor:
        """As uint8."""

    def bool(self) -> Tensor:
        """As bool (``v != 0``)."""

    def type(self, *args: Any, **kwargs: Any) -> Any:
        """Without a dtype: the legacy type's name (``"tapegrad.LongTensor"``); with a
        dtype, a legacy type or its name: the tensor in that dtype."""

    def half(self, *args: Any, **kwargs: Any) -> Any:
        """float16 is not a tapegrad dtype: raises ``DTypeError``."""

    def bfloat16(self, *args: Any, **kwargs: Any) -> Any:
        """bfloat16 is not a tapegrad dtype: raises ``DTypeError``."""

    def is_floating_point(self) -> builtins.bool:
        """True for float32 and float64 tensors."""

    def is_signed(self) -> builtins.bool:
        """True when the dtype holds negative values."""

    def element_size(self) -> builtins.int:
        """Bytes per element."""

    def argmax(
        self,
        dim: builtins.int | None = None,
        keepdim: builtins.bool = False,
        *,
        axis: builtins.int | None = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        """The index of the largest element (int64; first on ties, first NaN)."""

    def argmin(
        self,
        dim: builtins.int | None = None,
        keepdim: builtins.bool = False,
        *,
        axis: builtins.int | None = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        """The index of the smallest element (int64; first on ties, first NaN)."""

    # ---- PyTorch's other maths names (tapegrad/_math_aliases.py, _math_extra.py,
    # _math_writes.py)
    def clamp_min(self, *args: Any, **kwargs: Any) -> Any:
        """``clamp(min=min)``."""

    def clamp_max(self, *args: Any, **kwargs: Any) -> Any:
        """``clamp(max=max)``."""

    def absolute(self, *args: Any, **kwargs: Any) -> Any:
        """Alias of ``abs``."""

    def multiply(self, *args: Any, **kwargs: Any) -> Any:
        """Alias of ``mul``."""

    def subtract(self, *args: Any, **kwargs: Any) -> Any:
        """Alias of ``sub`` (with ``alpha``)."""

    def negative(self, *args: Any, **kwargs: Any) -> Any:
        """Alias of ``neg``."""

    def positive(self, *args: Any, **kwargs: Any) -> Any:
        """The tensor itself (an error for bool)."""

    def greater(self, *args: Any, **kwargs: Any) -> Any:
        """Alias of ``gt``."""

    def less(self, *args: Any, **kwargs: Any) -> Any:
        """Alias of ``lt``."""

    def greater_equal(self, *args: Any, **kwargs: Any) -> Any:
        """Alias of ``ge``."""

    def less_equal(self, *args: Any, **kwargs: Any) -> Any:
        """Alias of ``le``."""

    def not_equal(self, *args: Any, **kwargs: Any) -> Any:
        """Alias of ``ne``."""

    def fix(self, *args: Any, **kwargs: Any) -> Any:
        """Alias of ``trunc``."""

    def arctan2(self, *args: Any, **kwargs: Any) -> Any:
        """Alias of ``atan2``."""

    def arcsin(self, *args: Any, **kwargs: Any) -> Any:
        """Alias of ``asin``."""

    def arccos(self, *args: Any, **kwargs: Any) -> Any:
        """Alias of ``acos``."""

    def arctan(self, *args: Any, **kwargs: Any) -> Any:
        """Alias of ``atan``."""

    def arcsinh(self, *args: Any, **kwargs: Any) -> Any:
        """Alias of ``asinh``."""

    def arccosh(self, *args: Any, **kwargs: Any) -> Any:
        """Alias of ``acosh``."""

    def arctanh(self, *args: Any, **kwargs: Any) -> Any:
        """Alias of ``atanh``."""

    def mvlgamma(self, *args: Any, **kwargs: Any) -> Any:
        """Multivariate log-gamma of dimension ``p``."""

    def det(self, *args: Any, **kwargs: Any) -> Any:
        """Determinant (``linalg.det``)."""

    def logdet(self, *args: Any, **kwargs: Any) -> Any:
        """Log of the determinant (NaN for a negative one)."""

    def slogdet(self, *args: Any, **kwargs: Any) -> Any:
        """``(sign, logabsdet)`` (``linalg.slogdet``)."""

    def inverse(self, *args: Any, **kwargs: Any) -> Any:
        """Matrix inverse (``linalg.inv``)."""

    def cholesky(self, *args: Any, **kwargs: Any) -> Any:
        """Cholesky factor, lower or ``upper``."""

    def qr(self, *args: Any, **kwargs: Any) -> Any:
        """``(Q, R)`` (``some=True`` is the reduced form)."""

    def svd(self, *args: Any, **kwargs: Any) -> Any:
        """``(U, S, V)`` with V, not Vh (``some=True`` is the reduced form)."""

    def pinverse(self, *args: Any, **kwargs: Any) -> Any:
        """Pseudo-inverse (``linalg.pinv``)."""

    def matrix_power(self, *args: Any, **kwargs: Any) -> Any:
        """Integer matrix power (``linalg.matrix_power``)."""

    def matrix_exp(self, *args: Any, **kwargs: Any) -> Any:
        """Matrix exponential (``linalg.matrix_exp``)."""

    def signbit(self, *args: Any, **kwargs: Any) -> Any:
        """True where the sign bit is set (``-0.0`` included)."""

    def frexp(self, *args: Any, **kwargs: Any) -> Any:
        """``(mantissa, exponent)`` with ``self = mantissa · 2**exponent``."""

    def ldexp(self, *args: Any, **kwargs: Any) -> Any:
        """``self · 2**other``."""

    def gcd(self, *args: Any, **kwargs: Any) -> Any:
        """Greatest common divisor of integers."""

    def lcm(self, *args: Any, **kwargs: Any) -> Any:
        """Least common multiple of integers."""

    def nextafter(self, *args: Any, **kwargs: Any) -> Any:
        """The next representable float after ``self`` towards ``other``."""

    def i0(self, *args: Any, **kwargs: Any) -> Any:
        """Modified Bessel function of the first kind, order 0."""

    def inner(self, *args: Any, **kwargs: Any) -> Any:
        """Inner product over the last dimensions."""

    def ger(self, *args: Any, **kwargs: Any) -> Any:
        """Outer product (alias of ``outer``)."""

    def addr(self, *args: Any, **kwargs: Any) -> Any:
        """``beta · self + alpha · outer(vec1, vec2)``."""

    def addbmm(self, *args: Any, **kwargs: Any) -> Any:
        """``beta · self + alpha · Σ_b batch1[b] @ batch2[b]``."""

    def renorm(self, *args: Any, **kwargs: Any) -> Any:
        """Sub-tensors along ``dim`` rescaled to ``p``-norm at most ``maxnorm``."""

    def quantile(self, *args: Any, **kwargs: Any) -> Any:
        """The ``q``-th quantiles over ``dim``."""

    def nanquantile(self, *args: Any, **kwargs: Any) -> Any:
        """The ``q``-th quantiles over ``dim``, ignoring NaN."""

    def histogram(self, *args: Any, **kwargs: Any) -> Any:
        """``(hist, bin_edges)`` of the values."""

    def unique_consecutive(self, *args: Any, **kwargs: Any) -> Any:
        """Unique elements of consecutive runs."""

    def masked_scatter(self, *args: Any, **kwargs: Any) -> Any:
        """Copies ``source`` elements, in order, where ``mask`` is True."""

    def masked_scatter_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``masked_scatter``."""

    def fill_diagonal_(self, *args: Any, **kwargs: Any) -> Any:
        """Fills the main diagonal (wrapping for tall matrices with ``wrap=True``)."""

    def put(self, *args: Any, **kwargs: Any) -> Any:
        """Writes ``source`` at flat ``index`` positions (summing with ``accumulate=True``)."""

    def put_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``put``."""

    def index_reduce(self, *args: Any, **kwargs: Any) -> Any:
        """Reduces ``source`` slices into ``self`` along ``dim`` at ``index`` ("prod", "mean", "amax", "amin")."""

    def index_reduce_(self, *args: Any, **kwargs: Any) -> Any:
        """In place ``index_reduce``."""

    def cauchy_(self, *args: Any, **kwargs: Any) -> Any:
        """Fills with draws from the Cauchy distribution."""

    def geometric_(self, *args: Any, **kwargs: Any) -> Any:
        """Fills with draws from the geometric distribution (trials to the first success)."""

    def log_normal_(self, *args: Any, **kwargs: Any) -> Any:
        """Fills with draws from the log-normal distribution."""

    # ---- selections by index (tapegrad/_selection.py composes all but gather)
    # `dim=None`, `index=None`: so that NumPy's `axis=` can stand for `dim` (both needed)
    def gather(
        self,
        dim: builtins.int | None = None,
        index: Tensor | None = None,
        *,
        sparse_grad: builtins.bool = False,
        axis: builtins.int | None = None,
    ) -> Tensor:
        """Values along ``dim`` at ``index`` (PyTorch's ``gather``)."""

    def masked_fill(self, *args: Any, **kwargs: Any) -> Any:
        """``value`` where ``mask`` is true."""

    def masked_select(self, *args: Any, **kwargs: Any) -> Any:
        """The elements where ``mask`` is true, 1-d."""

    def scatter(self, *args: Any, **kwargs: Any) -> Any:
        """``src``'s values written at ``index`` along ``dim``."""

    def scatter_add(self, *args: Any, **kwargs: Any) -> Any:
        """``src``'s values added at ``index`` along ``dim``."""

    def scatter_reduce(self, *args: Any, **kwargs: Any) -> Any:
        """``src``'s values reduced (``sum``, ``prod``, ``mean``, ``amax``, ``amin``) at ``index`` along ``dim``."""

    def index_select(self, *args: Any, **kwargs: Any) -> Any:
        """The entries at ``index`` along ``dim``."""

    def index_add(self, *args: Any, **kwargs: Any) -> Any:
        """``alpha · source`` added at ``index`` along ``dim``."""

    def index_fill(self, *args: Any, **kwargs: Any) -> Any:
        """``value`` written at ``index`` along ``dim``."""

    def index_copy(self, *args: Any, **kwargs: Any) -> Any:
        """``source`` written at ``index`` along ``dim``."""

    def take(self, *args: Any, **kwargs: Any) -> Any:
        """Elements of the flattened tensor at ``index``."""

    def take_along_dim(self, *args: Any, **kwargs: Any) -> Any:
        """Values at ``indices`` along ``dim`` (or of the flattened tensor)."""

    def nonzero(self, *args: Any, **kwargs: Any) -> Any:
        """Indices of the non-zero elements."""

    def unique(self, *args: Any, **kwargs: Any) -> Any:
        """The distinct elements (optionally their inverse indices and counts)."""

    def bincount(self, *args: Any, **kwargs: Any) -> Any:
        """Counts of each non-negative integer value."""

    def histc(self, *args: Any, **kwargs: Any) -> Any:
        """Histogram with ``bins`` equal bins over ``[min, max]``."""

    # ---- operators
    def __add__(self, other: _Operand, /) -> Tensor: ...
    def __radd__(self, other: _Operand, /) -> Tensor: ...
    def __sub__(self, other: _Operand, /) -> Tensor: ...
    def __rsub__(self, other: _Operand, /) -> Tensor: ...
    def __mul__(self, other: _Operand, /) -> Tensor: ...
    def __rmul__(self, other: _Operand, /) -> Tensor: ...
    def __truediv__(self, other: _Operand, /) -> Tensor: ...
    def __rtruediv__(self, other: _Operand, /) -> Tensor: ...
    def __pow__(self, other: _Operand, mod: None = None, /) -> Tensor: ...
    def __rpow__(self, other: _Operand, mod: None = None, /) -> Tensor: ...
    def __matmul__(self, other: _Operand, /) -> Tensor: ...
    def __rmatmul__(self, other: _Operand, /) -> Tensor: ...
    def __mod__(self, other: _Operand, /) -> Tensor: ...
    def __rmod__(self, other: _Operand, /) -> Tensor: ...
    def __floordiv__(self, other: _Operand, /) -> Tensor: ...
    def __rfloordiv__(self, other: _Operand, /) -> Tensor: ...
    def __and__(self, other: _Operand, /) -> Tensor: ...
    def __rand__(self, other: _Operand, /) -> Tensor: ...
    def __or__(self, other: _Operand, /) -> Tensor: ...
    def __ror__(self, other: _Operand, /) -> Tensor: ...
    def __xor__(self, other: _Operand, /) -> Tensor: ...
    def __rxor__(self, other: _Operand, /) -> Tensor: ...
    def __lshift__(self, other: _Operand, /) -> Tensor: ...
    def __rlshift__(self, other: _Operand, /) -> Tensor: ...
    def __rshift__(self, other: _Operand, /) -> Tensor: ...
    def __rrshift__(self, other: _Operand, /) -> Tensor: ...
    def __invert__(self) -> Tensor: ...
    def __neg__(self) -> Tensor: ...
    def __pos__(self) -> Tensor: ...
    def __abs__(self) -> Tensor: ...
    def __lt__(self, other: _Compared, /) -> Tensor: ...
    def __le__(self, other: _Compared, /) -> Tensor: ...
    def __gt__(self, other: _Compared, /) -> Tensor: ...
    def __ge__(self, other: _Compared, /) -> Tensor: ...
    def __eq__(self, other: _Operand, /) -> Tensor: ...  # type: ignore[override]
    def __ne__(self, other: _Operand, /) -> Tensor: ...  # type: ignore[override]
    def __getitem__(self, key: Any, /) -> Tensor:
        """Basic indexing and slicing, ``None``, ``...``, and one integer-array index."""

    # ---- named ops (elementwise ops broadcast; Python numbers are accepted)
    def add(self, other: _Operand) -> Tensor: ...
    def sub(self, other: _Operand) -> Tensor: ...
    def mul(self, other: _Operand) -> Tensor: ...
    def div(
        self, other: _Operand, *, rounding_mode: builtins.str | None = None
    ) -> Tensor:
        """``self / other``; with ``rounding_mode="trunc"`` or ``"floor"``, the rounded
        quotient (integers stay integers)."""

    def divide(
        self, other: _Operand, *, rounding_mode: builtins.str | None = None
    ) -> Tensor:
        """Same as ``div``."""

    def true_divide(self, other: _Operand) -> Tensor:
        """``self / other`` (integers give the default float dtype)."""

    def floor_divide(self, other: _Operand) -> Tensor:
        """``self // other``: floor of the quotient (integers stay integers)."""

    def bitwise_and(self, other: _Operand) -> Tensor:
        """``self & other`` (integer and bool tensors)."""

    def bitwise_or(self, other: _Operand) -> Tensor:
        """``self | other`` (integer and bool tensors)."""

    def bitwise_xor(self, other: _Operand) -> Tensor:
        """``self ^ other`` (integer and bool tensors)."""

    def bitwise_left_shift(self, other: _Operand) -> Tensor:
        """``self << other`` (integer tensors; a shift outside the width gives 0)."""

    def bitwise_right_shift(self, other: _Operand) -> Tensor:
        """``self >> other`` (integer tensors; arithmetic shift)."""

    def bitwise_not(self) -> Tensor:
        """``~self``: bitwise complement of integers, logical not of bools."""

    def pow(self, exponent: _Operand) -> Tensor: ...
    def maximum(self, other: _Operand) -> Tensor:
        """Elementwise maximum (ties share the gradient)."""

    def minimum(self, other: _Operand) -> Tensor:
        """Elementwise minimum (ties share the gradient)."""

    def atan2(self, other: _Operand) -> Tensor:
        """``atan2(self, other)``: the angle of the point ``(other, self)``."""

    def hypot(self, other: _Operand) -> Tensor:
        """``√(self² + other²)``"""

    def copysign(self, other: _Operand) -> Tensor:
        """``|self|`` with the sign of ``other``."""

    def fmod(self, other: _Operand) -> Tensor:
        """C's ``fmod``: the remainder of truncated division (sign of ``self``)."""

    def remainder(self, other: _Operand) -> Tensor:
        """Python's ``%``: the remainder of floor division (sign of ``other``)."""

    def logaddexp(self, other: _Operand) -> Tensor:
        """``ln(e^self + e^other)``"""

    def logaddexp2(self, other: _Operand) -> Tensor:
        """``log2(2^self + 2^other)``"""

    def xlogy(self, other: _Operand) -> Tensor:
        """``self · ln(other)``, 0 where ``self = 0``."""

    def heaviside(self, other: _Operand) -> Tensor:
        """Step function of ``self`` taking ``other`` where ``self = 0``."""

    def sgn(self) -> Tensor:
        """Sign of each element (-1, 0 or 1): ``sign`` for real tensors."""

    def lt(self, other: _Operand) -> Tensor: ...
    def le(self, other: _Operand) -> Tensor: ...
    def gt(self, other: _Operand) -> Tensor: ...
    def ge(self, other: _Operand) -> Tensor: ...
    def eq(self, other: _Operand) -> Tensor: ...
    def ne(self, other: _Operand) -> Tensor: ...
    def matmul(self, other: Tensor) -> Tensor:
        """Matrix product (NumPy semantics for 1-D and batched operands)."""

    def where(self, condition: _Operand, other: _Operand) -> Tensor:
        """``self`` where ``condition`` is nonzero, ``other`` elsewhere."""

    def clamp(
        self,
        min: builtins.float | Tensor | None = None,
        max: builtins.float | Tensor | None = None,
    ) -> Tensor:
        """Clamps into ``[min, max]``; the gradient passes on the closed interval (tensor
        bounds share it at ties, as PyTorch's)."""

    def clip(
        self,
        min: builtins.float | Tensor | None = None,
        max: builtins.float | Tensor | None = None,
    ) -> Tensor:
        """Clamps into ``[min, max]`` (``clip`` is PyTorch's alias of ``clamp``)."""

    # ---- unary primitives (generated by tools/gen_ops.py)
    def neg(self) -> Tensor:
        """``-x``"""

    def exp(self) -> Tensor:
        """``e^x``"""

    def log(self) -> Tensor:
        """Natural logarithm."""

    def log1p(self) -> Tensor:
        """``ln(1 + x)``, accurate for tiny ``x``."""

    def erf(self) -> Tensor:
        """The error function ``erf(x) = 2/√π ∫₀^x e^(−t²) dt``."""

    def sqrt(self) -> Tensor:
        """Square root."""

    def sin(self) -> Tensor:
        """Sine."""

    def cos(self) -> Tensor:
        """Cosine."""

    def tanh(self) -> Tensor:
        """Hyperbolic tangent."""

    def sigmoid(self) -> Tensor:
        """Logistic sigmoid ``1 / (1 + e^-x)``."""

    def relu(self) -> Tensor:
        """``max(x, 0)``; subgradient 0 at 0 (as PyTorch)."""

    def abs(self) -> Tensor:
        """``|x|``; subgradient 0 at 0 (as PyTorch)."""

    def floor(self) -> Tensor:
        """Largest integer not above ``x``; zero derivative (as PyTorch)."""

    def ceil(self) -> Tensor:
        """Smallest integer not below ``x``; zero derivative."""

    def round(self) -> Tensor:
        """Nearest integer, halves to even (as PyTorch); zero derivative."""

    def trunc(self) -> Tensor:
        """Integer part, rounding toward zero; zero derivative."""

    def frac(self) -> Tensor:
        """Fractional part ``x - trunc(x)`` (keeps the sign of ``x``)."""

    def sign(self) -> Tensor:
        """Sign: -1, 0 or 1 (NaN stays NaN); zero derivative."""

    def reciprocal(self) -> Tensor:
        """``1 / x``"""

    def rsqrt(self) -> Tensor:
        """``1 / √x``"""

    def square(self) -> Tensor:
        """``x²``"""

    def exp2(self) -> Tensor:
        """``2^x``"""

    def expm1(self) -> Tensor:
        """``e^x - 1``, accurate for tiny ``x``."""

    def log2(self) -> Tensor:
        """Base-2 logarithm."""

    def log10(self) -> Tensor:
        """Base-10 logarithm."""

    def tan(self) -> Tensor:
        """Tangent."""

    def asin(self) -> Tensor:
        """Arcsine."""

    def acos(self) -> Tensor:
        """Arccosine."""

    def atan(self) -> Tensor:
        """Arctangent."""

    def sinh(self) -> Tensor:
        """Hyperbolic sine."""

    def cosh(self) -> Tensor:
        """Hyperbolic cosine."""

    def asinh(self) -> Tensor:
        """Inverse hyperbolic sine."""

    def acosh(self) -> Tensor:
        """Inverse hyperbolic cosine."""

    def atanh(self) -> Tensor:
        """Inverse hyperbolic tangent."""

    def erfc(self) -> Tensor:
        """The complementary error function ``1 - erf(x)``, accurate where erf is near 1."""

    def erfinv(self) -> Tensor:
        """The inverse of the error function on (-1, 1)."""

    def sinc(self) -> Tensor:
        """Normalised sinc ``sin(πx)/(πx)``, 1 at 0."""

    def lgamma(self) -> Tensor:
        """``ln |Γ(x)|``."""

    def digamma(self) -> Tensor:
        """The digamma function ``ψ(x) = Γ'(x)/Γ(x)``; −∞ at 0, NaN at negative integers."""

    def logit(self) -> Tensor:
        """Log-odds ``ln(x / (1 - x))``."""
    # ---- end of the unary primitives

    # ---- reductions
    # ``axis=``/``keepdims=``: NumPy's spellings of ``dim``/``keepdim``, as PyTorch's.
    def sum(
        self,
        dim: _Dims = None,
        keepdim: builtins.bool = False,
        *,
        dtype: Any = None,
        axis: _Dims = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        """Sum over ``dim`` (all dims when None); the sum of no elements is 0."""

    def mean(
        self,
        dim: _Dims = None,
        keepdim: builtins.bool = False,
        *,
        dtype: Any = None,
        axis: _Dims = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor: ...
    def amax(
        self,
        dim: _Dims = None,
        keepdim: builtins.bool = False,
        *,
        axis: _Dims = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor: ...
    def amin(
        self,
        dim: _Dims = None,
        keepdim: builtins.bool = False,
        *,
        axis: _Dims = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor: ...
    def logsumexp(
        self,
        dim: _Dims = None,
        keepdim: builtins.bool = False,
        *,
        axis: _Dims = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor: ...
    # PyO3 writes negative defaults as `...` in the runtime signature: each is -1 here.
    def softmax(self, dim: builtins.int = ..., *, axis: builtins.int | None = None) -> Tensor:
        """Softmax along ``dim`` (default -1)."""

    def log_softmax(
        self, dim: builtins.int = ..., *, axis: builtins.int | None = None
    ) -> Tensor:
        """Log-softmax along ``dim`` (default -1)."""

    # ---- selections along a dim (rust/python/src/sorting.rs)
    @overload
    def max(
        self, dim: None = None, keepdim: builtins.bool = False, *, axis: None = None
    ) -> Tensor: ...
    @overload
    def max(self, dim: Tensor) -> Tensor: ...
    @overload
    def max(
        self, dim: builtins.int, keepdim: builtins.bool = False, *, axis: builtins.int | None = None, keepdims: builtins.bool | None = None
    ) -> _return_types.max: ...
    @overload
    def max(
        self, dim: None = None, keepdim: builtins.bool = False, *, axis: builtins.int,
        keepdims: builtins.bool | None = None,
    ) -> _return_types.max: ...

    @overload
    def min(
        self, dim: None = None, keepdim: builtins.bool = False, *, axis: None = None
    ) -> Tensor: ...
    @overload
    def min(self, dim: Tensor) -> Tensor: ...
    @overload
    def min(
        self, dim: builtins.int, keepdim: builtins.bool = False, *, axis: builtins.int | None = None, keepdims: builtins.bool | None = None
    ) -> _return_types.min: ...
    @overload
    def min(
        self, dim: None = None, keepdim: builtins.bool = False, *, axis: builtins.int,
        keepdims: builtins.bool | None = None,
    ) -> _return_types.min: ...

    def aminmax(
        self,
        *,
        dim: builtins.int | None = None,
        keepdim: builtins.bool = False,
        axis: builtins.int | None = None,
        keepdims: builtins.bool | None = None,
    ) -> _return_types.aminmax:
        """``(min, max)`` over ``dim`` (everything when None)."""

    def sort(
        self,
        dim: builtins.int = ...,
        descending: builtins.bool = False,
        *,
        stable: builtins.bool = False,
        axis: builtins.int | None = None,
    ) -> _return_types.sort:
        """Sorted along ``dim`` (stable; NaN largest): ``(values, indices)``."""

    def argsort(
        self,
        dim: builtins.int = ...,
        descending: builtins.bool = False,
        *,
        stable: builtins.bool = False,
        axis: builtins.int | None = None,
    ) -> Tensor:
        """The indices that sort along ``dim`` (int64)."""

    def msort(self) -> Tensor:
        """Sorted along the first dimension."""

    def topk(
        self,
        k: builtins.int,
        dim: builtins.int = ...,
        largest: builtins.bool = True,
        sorted: builtins.bool = True,
        *,
        axis: builtins.int | None = None,
    ) -> _return_types.topk:
        """The ``k`` largest (or smallest) along ``dim``: ``(values, indices)``."""

    def kthvalue(
        self,
        k: builtins.int,
        dim: builtins.int = ...,
        keepdim: builtins.bool = False,
        *,
        axis: builtins.int | None = None,
        keepdims: builtins.bool | None = None,
    ) -> _return_types.kthvalue:
        """The ``k``-th smallest along ``dim`` (1-based): ``(values, indices)``."""

    @overload
    def median(
        self, dim: None = None, keepdim: builtins.bool = False, *, axis: None = None
    ) -> Tensor: ...
    @overload
    def median(
        self, dim: builtins.int, keepdim: builtins.bool = False, *, axis: builtins.int | None = None, keepdims: builtins.bool | None = None
    ) -> _return_types.median: ...
    @overload
    def median(
        self, dim: None = None, keepdim: builtins.bool = False, *, axis: builtins.int,
        keepdims: builtins.bool | None = None,
    ) -> _return_types.median: ...

    @overload
    def nanmedian(
        self, dim: None = None, keepdim: builtins.bool = False, *, axis: None = None
    ) -> Tensor: ...
    @overload
    def nanmedian(
        self, dim: builtins.int, keepdim: builtins.bool = False, *, axis: builtins.int | None = None, keepdims: builtins.bool | None = None
    ) -> _return_types.nanmedian: ...
    @overload
    def nanmedian(
        self, dim: None = None, keepdim: builtins.bool = False, *, axis: builtins.int,
        keepdims: builtins.bool | None = None,
    ) -> _return_types.nanmedian: ...

    def mode(
        self, dim: builtins.int = ..., keepdim: builtins.bool = False, *, axis: builtins.int | None = None, keepdims: builtins.bool | None = None
    ) -> _return_types.mode:
        """The most frequent value along ``dim`` and its index."""

    def cummax(
        self, dim: builtins.int | None = None, *, axis: builtins.int | None = None
    ) -> _return_types.cummax:
        """Running maximum along ``dim`` and where it was reached."""

    def cummin(
        self, dim: builtins.int | None = None, *, axis: builtins.int | None = None
    ) -> _return_types.cummin:
        """Running minimum along ``dim`` and where it was reached."""

    def multinomial(
        self,
        num_samples: builtins.int,
        replacement: builtins.bool = False,
        *,
        generator: Generator | None = None,
    ) -> Tensor:
        """Category indices drawn in proportion to the weights ``self`` (int64)."""

    def bernoulli(
        self, p: builtins.float | None = None, *, generator: Generator | None = None
    ) -> Tensor:
        """1 with probability ``self`` (or ``p``), else 0."""

    # ---- shapes
    def reshape(self, *shape: _ShapeLike) -> Tensor:
        """Same data in a new shape (one dimension may be -1)."""

    def view(self, *shape: _ShapeLike) -> Tensor:
        """The same elements in a new shape, without copying (PyTorch's error when the
        strides do not allow it)."""

    def flatten(self, start_dim: builtins.int = 0, end_dim: builtins.int = ...) -> Tensor:
        """Merges dimensions ``start_dim..=end_dim`` (``end_dim`` defaults to -1)."""
    def transpose(self, dim0: builtins.int, dim1: builtins.int) -> Tensor: ...
    @property
    def T(self) -> Tensor:
        """Transpose of a 2-D tensor (reversed dimensions otherwise, as NumPy)."""

    def permute(self, *dims: _ShapeLike) -> Tensor: ...
    def unsqueeze(
        self, dim: builtins.int | None = None, *, axis: builtins.int | None = None
    ) -> Tensor: ...
    def squeeze(self, dim: _Dims = None, *, axis: _Dims = None) -> Tensor: ...
    def expand(self, *sizes: _ShapeLike) -> Tensor:
        """Broadcasts to a larger shape without copying (-1 keeps a dimension)."""

    def broadcast_to(self, shape: _ShapeLike) -> Tensor: ...

# ---- module functions

def manual_seed(seed: builtins.int) -> None:
    """Seeds the generator behind ``rand`` and ``randn``."""

def set_num_threads(n: builtins.int) -> None:
    """Sets the number of threads of tapegrad's pool (matrix products, large elementwise
    ops); the default is ``TAPEGRAD_NUM_THREADS``, else ``RAYON_NUM_THREADS``, else the
    number of cores."""

def get_num_threads() -> builtins.int:
    """The number of threads of tapegrad's pool."""

def is_grad_enabled() -> builtins.bool:
    """Whether ops record the graph on this thread."""

def result_type(tensor: Tensor | float, other: Tensor | float) -> dtype:
    """The dtype an op on both computes in (``torch.result_type``)."""

def promote_types(type1: _DTypeLike, type2: _DTypeLike) -> dtype:
    """The smallest dtype both cast to (``torch.promote_types``)."""

def can_cast(from_: _DTypeLike, to: _DTypeLike) -> builtins.bool:
    """Whether PyTorch's casting rules allow ``from_`` to ``to``."""

def get_default_dtype() -> dtype:
    """The dtype Python floats give (float32 unless changed)."""

def set_default_dtype(d: _DTypeLike) -> None:
    """Sets the dtype Python floats give: float32 or float64."""

def _full_value(
    shape: _ShapeLike, value: float, dtype: _DTypeLike | None = None
) -> Tensor: ...
def cat(
    tensors: Sequence[Tensor], dim: builtins.int = 0, *, axis: builtins.int | None = None
) -> Tensor:
    """Concatenates tensors along ``dim`` (dtypes are promoted)."""

def stack(
    tensors: Sequence[Tensor], dim: builtins.int = 0, *, axis: builtins.int | None = None
) -> Tensor:
    """Stacks equal-shaped tensors along a new dimension ``dim``."""

def _from_numpy(array: _FloatArray, requires_grad: builtins.bool = False) -> Tensor: ...
def _panic_for_tests(message: str) -> None:
    """Panics in the core (tests of the binding's panic guard: raises InternalError)."""
def _share_numpy(array: npt.NDArray[Any], requires_grad: builtins.bool = False) -> Tensor: ...
def _from_dlpack_capsule(capsule: Any) -> Tensor: ...

@final
class _SharedMemory:
    """The ``base`` of a NumPy array viewing a tensor's memory (keeps it alive)."""

@final
class _DLPackOwner:
    """Keeps an imported DLPack tensor alive (calls its deleter when collected)."""
def _full(
    shape: _ShapeLike,
    value: float,
    dtype: _DTypeLike | None = None,
    requires_grad: builtins.bool = False,
) -> Tensor: ...
def _rand(
    shape: _ShapeLike,
    dtype: _DTypeLike | None = None,
    requires_grad: builtins.bool = False,
    generator: Generator | None = None,
) -> Tensor: ...
def _randn(
    shape: _ShapeLike,
    dtype: _DTypeLike | None = None,
    requires_grad: builtins.bool = False,
    generator: Generator | None = None,
) -> Tensor: ...
def _arange(
    start: float,
    end: float,
    step: float,
    dtype: _DTypeLike | None = None,
    requires_grad: builtins.bool = False,
) -> Tensor: ...
def _eye(
    n: builtins.int, m: builtins.int, dtype: _DTypeLike | None = None, requires_grad: builtins.bool = False
) -> Tensor: ...
def _set_grad_enabled(enabled: builtins.bool) -> builtins.bool: ...
def _where(condition: Tensor, input: _Operand, other: _Operand) -> Tensor: ...
def _grad(
    outputs: Sequence[Tensor],
    inputs: Sequence[Tensor],
    grad_outputs: Sequence[Tensor | None] | None,
    retain_graph: builtins.bool,
    create_graph: builtins.bool,
    allow_unused: builtins.bool,
) -> tuple[Tensor | None, ...]: ...

@final
class RemovableHandle:
    """Returned by ``Tensor.register_hook``."""

    def remove(self) -> None:
        """Unregisters the hook (harmless if already removed)."""

@final
class Generator:
    """A seedable stream of random numbers (``torch.Generator``)."""

    def __new__(cls, device: str = "cpu") -> Generator: ...
    def manual_seed(self, seed: builtins.int) -> Generator:
        """Restarts the stream from ``seed``; returns the generator."""

    def seed(self) -> builtins.int:
        """Reseeds from a non-deterministic seed and returns it."""

    def initial_seed(self) -> builtins.int:
        """The seed the stream started from."""

    def get_state(self) -> Tensor:
        """The state as a uint8 tensor."""

    def set_state(self, new_state: Tensor) -> Generator:
        """Restores a state from ``get_state``; returns the generator."""

    @property
    def device(self) -> str:
        """Always ``"cpu"``."""

def _default_generator() -> Generator: ...
def _randint(
    low: builtins.int,
    high: builtins.int,
    shape: _ShapeLike,
    dtype: _DTypeLike | None = None,
    generator: Generator | None = None,
) -> Tensor: ...
def _randperm(
    n: builtins.int, dtype: _DTypeLike | None = None, generator: Generator | None = None
) -> Tensor: ...
def _normal(mean: Tensor, std: Tensor, generator: Generator | None = None) -> Tensor: ...
def _poisson(input: Tensor, generator: Generator | None = None) -> Tensor: ...

@final
class RngState:
    """A snapshot of the random generator (``_rng_state``)."""

def _apply_function(
    name: str,
    backward: Callable[..., Any],
    jvp: Callable[..., Any] | None,
    ctx: Any,
    inputs: Sequence[Tensor],
    outputs: Sequence[Tensor],
    to_save: Sequence[Tensor | None],
) -> tuple[Tensor, ...]: ...
def _make_dual(primal: Tensor, tangent: Tensor) -> Tensor: ...
def _enter_dual_level() -> builtins.int: ...
def _exit_dual_level(level: builtins.int) -> None: ...
def _current_dual_level() -> builtins.int | None: ...
def _swap_dual_levels(levels: list[builtins.int]) -> list[builtins.int]: ...
def _set_anomaly_enabled(enabled: builtins.bool, check_nan: builtins.bool) -> None: ...
def _primitives() -> list[dict[str, Any]]: ...
def _is_anomaly_enabled() -> builtins.bool: ...
def _is_anomaly_check_nan_enabled() -> builtins.bool: ...
def _saved_bytes() -> builtins.int: ...
def _peak_saved_bytes() -> builtins.int: ...
def _reset_peak_saved_bytes() -> None: ...
def _push_label(label: str) -> None: ...
def _pop_label() -> None: ...
def _next_node_seq() -> builtins.int: ...
def _graph_rows(outputs: Sequence[Tensor]) -> list[dict[str, Any]]: ...
def _external_inputs(
    outputs: Sequence[Tensor], since: builtins.int, exclude: Sequence[Tensor]
) -> tuple[Tensor, ...]: ...
def _grad_within(
    outputs: Sequence[Tensor],
    inputs: Sequence[Tensor],
    grad_outputs: Sequence[Tensor],
    create_graph: builtins.bool,
) -> tuple[Tensor | None, ...]: ...
def _rng_state() -> RngState: ...
def _set_rng_state(state: RngState) -> None: ...
def _linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor: ...
def _conv(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Sequence[int],
    padding: Sequence[tuple[int, int]],
    dilation: Sequence[int],
    groups: int,
) -> Tensor: ...
def _max_pool(
    input: Tensor,
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    ceil_mode: builtins.bool,
    one_d: builtins.bool,
) -> tuple[Tensor, Tensor]: ...
def _conv_transpose(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Sequence[int],
    padding: Sequence[tuple[int, int]],
    output_padding: Sequence[int],
    dilation: Sequence[int],
    groups: int,
) -> Tensor: ...
def _adaptive_max_pool(
    input: Tensor, output_size: Sequence[int], one_d: builtins.bool
) -> tuple[Tensor, Tensor]: ...
def _max_unpool(
    input: Tensor, indices: Tensor, output_size: Sequence[int], one_d: builtins.bool
) -> Tensor: ...
def _scaled_dot_product_attention(
    query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None, scale: float
) -> Tensor: ...
def _cross_entropy(
    input: Tensor,
    labels: npt.NDArray[np.int64] | None = None,
    weights: npt.NDArray[np.float64] | None = None,
    target: Tensor | None = None,
) -> Tensor: ...
def _sgd_step(
    param: Tensor,
    grad: Tensor,
    buffer: Tensor | None,
    first: builtins.bool,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: builtins.bool,
    maximize: builtins.bool,
) -> None: ...
def _adam_step(
    param: Tensor,
    grad: Tensor,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    max_exp_avg_sq: Tensor | None,
    step: builtins.int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled: builtins.bool,
    maximize: builtins.bool,
) -> None: ...

# ---- tg.linalg primitives (rust/python/src/linalg.rs)
def _linalg_solve(a: Tensor, b: Tensor) -> Tensor: ...
def _linalg_inv(a: Tensor) -> Tensor: ...
def _linalg_det(a: Tensor) -> Tensor: ...
def _linalg_slogdet(a: Tensor) -> tuple[Tensor, Tensor]: ...
def _linalg_cholesky(a: Tensor, upper: builtins.bool) -> Tensor: ...
def _linalg_solve_triangular(
    a: Tensor, b: Tensor, upper: builtins.bool, left: builtins.bool, unitriangular: builtins.bool
) -> Tensor: ...
def _linalg_eigh(a: Tensor) -> Tensor: ...
def _linalg_svd(a: Tensor) -> Tensor: ...
def _linalg_qr(a: Tensor) -> Tensor: ...

def _take(x: Tensor, positions: Any, shape: Sequence[builtins.int]) -> Tensor: ...
def _put_add(src: Tensor, positions: Any, shape: Sequence[builtins.int]) -> Tensor: ...
def _positions_along(
    op: str,
    shape: Sequence[builtins.int],
    dim: builtins.int | None = None,
    index: Tensor | None = None,
    use_values: builtins.bool | None = None,
    *,
    axis: builtins.int | None = None,
) -> Any: ...
