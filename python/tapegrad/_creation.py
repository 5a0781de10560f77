"""Creating tensors from Python data, NumPy arrays and shapes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _native
from ._errors import ArgumentError, DTypeError, ShapeError
from ._native import Tensor

__all__ = [
    "arange",
    "empty",
    "empty_like",
    "eye",
    "from_dlpack",
    "from_numpy",
    "full",
    "full_like",
    "ones",
    "ones_like",
    "rand",
    "randn",
    "tensor",
    "zeros",
    "zeros_like",
]

_NUMPY_OF = {
    "bool": np.bool_,
    "uint8": np.uint8,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "float32": np.float32,
    "float64": np.float64,
}
_UNSUPPORTED = ("float16", "half", "bfloat16", "complex", "cfloat", "cdouble")


def _dtype_name(dtype: Any) -> str | None:
    """Normalises a dtype argument to a supported name such as "int64" (None stays None)."""
    if dtype is None:
        return None
    if isinstance(dtype, _native.dtype):
        return str(dtype.name)
    if isinstance(dtype, str) and dtype.startswith(_UNSUPPORTED):
        raise DTypeError(f"dtype {dtype} is not supported by tapegrad")
    aliases = {"long": "int64", "int": "int64", "short": "int16", "float": "float32"}
    aliases.update(double="float64")
    if isinstance(dtype, str) and dtype in aliases:
        return aliases[dtype]
    try:
        name = np.dtype(dtype).name
    except TypeError as exc:
        raise DTypeError(f"{dtype!r} is not a dtype") from exc
    if name not in _NUMPY_OF:
        raise DTypeError(
            f"dtype {name} is not supported: tapegrad tensors are bool, uint8, int8, "
            "int16, int32, int64, float32 or float64"
        )
    return name


def _default_name() -> str:
    return str(_native.get_default_dtype().name)


def _inferred_name(data: Any, arr: np.ndarray) -> str:
    """The dtype PyTorch infers: NumPy data keeps its dtype; in a (nested) list or tuple,
    each element's dtype (Python bools give bool, ints int64, floats the default dtype,
    NumPy scalars and arrays and Tensors their own) and the result is their promotion by
    PyTorch's rules (``[np.float64(1), 2.0]`` is float64, ``[np.int32(3), 2]`` int64)."""
    if isinstance(data, (np.ndarray, np.generic)):
        return _supported(arr.dtype)
    if isinstance(data, (list, tuple)):
        names = _element_names(data, arr)
        if not names:  # empty (nested) lists
            return _default_name()
        result = names.pop()
        for name in names:
            promoted = _native.promote_types(
                getattr(_native, result), getattr(_native, name)
            )
            result = str(promoted.name)
        return result
    return _kind_name(arr)


def _supported(dtype: np.dtype) -> str:
    if dtype.name not in _NUMPY_OF:
        raise DTypeError(
            f"tensor: NumPy dtype {dtype} is not supported: tapegrad tensors are "
            "bool, uint8, int8, int16, int32, int64, float32 or float64"
        )
    return dtype.name


def _kind_name(arr: np.ndarray) -> str:
    """Python numbers' rule: bools give bool, ints int64, floats the default dtype."""
    kind = arr.dtype.kind
    if kind == "b":
        return "bool"
    if kind in "iu":
        return "int64"
    return _default_name()


def _element_names(data: list[Any] | tuple[Any, ...], arr: np.ndarray) -> set[str]:
    """The dtype names of the leaves of nested lists and tuples, one pass per level over
    the set of element types (a long list of Python floats costs one ``set(map(type))``)."""
    names: set[str] = set()
    pending: list[Any] = [data]
    while pending:
        sequence = pending.pop()
        for kind in set(map(type, sequence)):
            if kind is float:
                names.add(_default_name())
            elif kind is bool or kind is int:
                names.add("bool" if kind is bool else "int64")
            elif issubclass(kind, (list, tuple)):
                pending.extend(x for x in sequence if type(x) is kind)
            elif issubclass(kind, (np.generic, np.ndarray)):
                names.update(
                    _supported(np.dtype(x.dtype)) for x in sequence if type(x) is kind
                )
            elif issubclass(kind, Tensor):
                names.update(str(x.dtype.name) for x in sequence if type(x) is kind)
            else:  # other numbers and sequences: the Python numbers' rule
                names.add(_kind_name(arr))
    return names


def _as_array(data: Any, dtype: str | None) -> np.ndarray:
    """Converts data to a native-order, C-contiguous NumPy array of a supported dtype."""
    if isinstance(data, Tensor):
        data = data.detach().__array__(copy=True)
    try:
        arr = np.asarray(data)
    except (ValueError, OverflowError) as exc:  # ragged nested lists, huge ints
        raise (
            ShapeError(f"tensor: data has an inhomogeneous (ragged) shape: {exc}")
            if isinstance(exc, ValueError)
            else DTypeError(f"tensor: {exc}")
        ) from exc
    if arr.dtype.kind not in "biuf":
        raise DTypeError(
            f"tensor: cannot make a tensor from data of NumPy dtype {arr.dtype} "
            f"(expected numbers)"
        )
    if dtype is None:
        dtype = _inferred_name(data, arr)
    # order="C" copies strided or byte-swapped data into native C order (and keeps 0-d shapes).
    if arr.dtype.kind == "f" and dtype not in ("float32", "float64", "bool"):
        arr = np.trunc(arr)  # PyTorch truncates floats toward zero
    with np.errstate(invalid="ignore", over="ignore"):
        return np.asarray(arr, dtype=_NUMPY_OF[dtype], order="C")


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Makes a new leaf tensor by copying ``data``.

    Args:
        data: A number, (nested) list or tuple of numbers, NumPy array (any strides or byte
            order) or Tensor.
        dtype: Any tapegrad dtype (strings and NumPy dtypes are accepted). Inferred as
            PyTorch does when omitted: Python bools give ``bool``, ints ``int64``, floats
            the default dtype (``float32``); NumPy arrays, NumPy scalars and Tensors keep
            theirs; a list or tuple gets the promotion of its elements' dtypes
            (``[np.float64(1.0)]`` is float64, ``[np.float32(1), 2]`` float32).
        requires_grad: Whether to record operations on it for backward (floating dtypes
            only).
    """
    return _native._from_numpy(_as_array(data, _dtype_name(dtype)), requires_grad)


def from_numpy(array: np.ndarray, requires_grad: bool = False) -> Tensor:
    """Makes a tensor that shares memory with a NumPy array (PyTorch's ``from_numpy``).

    Writes through either are seen by the other, and the memory lives as long as the
    tensor or the array does. Use :func:`tensor` for a copy.

    Raises:
        DTypeError: ``array`` is not an ndarray, or its dtype is not a tapegrad dtype.
        ArgumentError: the array is read-only, misaligned, in non-native byte order or has
            negative strides (tapegrad cannot share such memory; ``tg.tensor(a)`` copies).
    """
    if not isinstance(array, np.ndarray):
        raise DTypeError(
            f"from_numpy expects a numpy.ndarray, got {type(array).__name__}"
        )
    if array.dtype.newbyteorder("=") not in _SHAREABLE:
        raise DTypeError(
            f"can't convert np.ndarray of type numpy.{array.dtype}. The only supported "
            "types are: float64, float32, int64, int32, int16, int8, uint8, and bool."
        )
    if not array.dtype.isnative:
        raise ArgumentError(
            "given numpy array has byte order different from the native byte order. "
            "Conversion between byte orders is currently not supported (use tg.tensor(a) "
            "to copy)."
        )
    if not array.flags.writeable:
        raise ArgumentError(
            "the given NumPy array is not writable: tapegrad tensors share memory for "
            "reading and writing, so from_numpy refuses read-only arrays (PyTorch warns and "
            "shares); copy it with tg.tensor(a) or a.copy()"
        )
    if any(s < 0 for s in array.strides):
        raise ArgumentError(
            "At least one stride in the given numpy array is negative, and tensors with "
            "negative strides are not currently supported. (You can probably work around "
            "this by making a copy of your array with array.copy().)"
        )
    if not array.flags.aligned or any(s % array.itemsize for s in array.strides):
        raise ArgumentError(
            "given numpy array is not aligned for its dtype (or its strides are not a "
            "multiple of the element byte size). Copy the numpy array to reallocate the "
            "memory."
        )
    return _native._share_numpy(array, requires_grad)


_SHAREABLE = tuple(
    np.dtype(n)
    for n in ("bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64")
)


def from_dlpack(ext_tensor: Any) -> Tensor:
    """Makes a tensor that shares memory with a DLPack-capable object (PyTorch's
    ``from_dlpack``): NumPy arrays, torch tensors, or a DLPack capsule.

    Writes through either side are seen by the other. CPU memory only; the dtype must be
    a tapegrad dtype, and read-only tensors are refused.

    Raises:
        DTypeError: the dtype is not a tapegrad dtype.
        ArgumentError: the memory is not on the CPU, is read-only, has negative strides or
            the object has no ``__dlpack__``.
    """
    if isinstance(ext_tensor, Tensor):
        return ext_tensor.detach()
    if type(ext_tensor).__name__ == "PyCapsule":
        return _native._from_dlpack_capsule(ext_tensor)
    if not hasattr(ext_tensor, "__dlpack__"):
        raise ArgumentError(
            "from_dlpack expects an object with __dlpack__ (a NumPy array, a torch "
            f"tensor...) or a DLPack capsule, got {type(ext_tensor).__name__}"
        )
    device = getattr(ext_tensor, "__dlpack_device__", lambda: (1, 0))()
    if int(device[0]) != 1:
        raise ArgumentError(
            f"from_dlpack: only CPU memory can be shared (DLPack device {tuple(device)})"
        )
    try:
        capsule = ext_tensor.__dlpack__(max_version=(1, 0))
    except TypeError:  # producers from before DLPack 1.0 take no max_version
        capsule = ext_tensor.__dlpack__()
    except BufferError as e:
        raise ArgumentError(f"from_dlpack: {e}") from e
    return _native._from_dlpack_capsule(capsule)


def _shape(size: Sequence[Any]) -> Any:
    return size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def _leaf(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad:
        t.requires_grad_(True)
    return t


def _filled(size: Any, value: Any, dtype: Any, requires_grad: bool) -> Tensor:
    return _leaf(_native._full_value(size, value, _dtype_name(dtype)), requires_grad)


def full(
    size: Sequence[int],
    fill_value: bool | float,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of the given shape filled with ``fill_value``; its dtype follows the
    value when not given (bool, int64 or the default float dtype), as in PyTorch."""
    if isinstance(fill_value, (Tensor, np.generic)):
        fill_value = fill_value.item()
    return _filled(size, fill_value, dtype, requires_grad)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _filled(_shape(size), 0.0, dtype, requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return _filled(_shape(size), 1.0, dtype, requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of the given shape (zero-filled: tapegrad never hands out garbage)."""
    return _filled(_shape(size), 0.0, dtype, requires_grad)


def zeros_like(input: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros with ``input``'s shape (and dtype unless given)."""
    return _filled(input.shape, 0.0, dtype or input.dtype, requires_grad)


def ones_like(input: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones with ``input``'s shape (and dtype unless given)."""
    return _filled(input.shape, 1.0, dtype or input.dtype, requires_grad)


def empty_like(input: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor with ``input``'s shape (and dtype unless given), zero-filled."""
    return _filled(input.shape, 0.0, dtype or input.dtype, requires_grad)


def full_like(
    input: Tensor,
    fill_value: bool | float,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``fill_value`` with ``input``'s shape (and dtype unless given)."""
    return _filled(input.shape, fill_value, dtype or input.dtype, requires_grad)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``start, start + step, ...`` below ``end`` (``arange(n)`` counts from 0)."""
    if end is None:
        start, end = 0, start
    bounds = (start, end, step)
    if dtype is None and all(
        isinstance(v, (int, np.integer))
        or (isinstance(v, Tensor) and not v.is_floating_point())
        for v in bounds
    ):
        dtype = "int64"  # integer arguments give int64, as in PyTorch
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in bounds)
    return _native._arange(float(start), float(end), float(step), dtype, requires_grad)


def eye(
    n: int, m: int | None = None, *, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """An ``n × m`` matrix (``m`` defaults to ``n``) with ones on the diagonal."""
    return _native._eye(n, n if m is None else m, dtype, requires_grad)


def rand(
    *size: Any, generator: Any = None, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """Uniform samples from [0, 1), drawn from ``generator`` (the default generator,
    reproducible after ``tapegrad.manual_seed``, when None)."""
    from ._vmap import random_draw  # a draw inside vmap follows its randomness mode

    return random_draw(
        lambda s: _native._rand(s, dtype, requires_grad, generator), _shape(size)
    )


def randn(
    *size: Any, generator: Any = None, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """Standard normal samples, drawn from ``generator`` (the default one when None)."""
    from ._vmap import random_draw  # a draw inside vmap follows its randomness mode

    return random_draw(
        lambda s: _native._randn(s, dtype, requires_grad, generator), _shape(size)
    )
