"""Creating tensors from Python data, NumPy arrays and shapes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _native
from ._errors import DTypeError, ShapeError
from ._native import Tensor

__all__ = [
    "arange",
    "empty",
    "empty_like",
    "eye",
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
    """The dtype PyTorch infers: NumPy data keeps its dtype, Python bools give bool,
    Python ints int64, Python floats the default dtype."""
    if isinstance(data, (np.ndarray, np.generic)):
        name = arr.dtype.name
        if name not in _NUMPY_OF:
            raise DTypeError(
                f"tensor: NumPy dtype {arr.dtype} is not supported: tapegrad tensors are "
                "bool, uint8, int8, int16, int32, int64, float32 or float64"
            )
        return name
    kind = arr.dtype.kind
    if kind == "b":
        return "bool"
    if kind in "iu":
        return "int64"
    return _default_name()


def _as_array(data: Any, dtype: str | None) -> np.ndarray:
    """Converts data to a native-order, C-contiguous NumPy array of a supported dtype."""
    if isinstance(data, Tensor):
        data = data.detach().numpy()
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
            the default dtype (``float32``); NumPy arrays and Tensors keep theirs.
        requires_grad: Whether to record operations on it for backward (floating dtypes
            only).
    """
    return _native._from_numpy(_as_array(data, _dtype_name(dtype)), requires_grad)


def from_numpy(array: np.ndarray, requires_grad: bool = False) -> Tensor:
    """Copies a NumPy array into a tensor, keeping its dtype."""
    if not isinstance(array, np.ndarray):
        raise DTypeError(
            f"from_numpy expects a numpy.ndarray, got {type(array).__name__}"
        )
    return _native._from_numpy(_as_array(array, None), requires_grad)


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
