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
    "eye",
    "from_numpy",
    "full",
    "ones",
    "ones_like",
    "rand",
    "randn",
    "tensor",
    "zeros",
    "zeros_like",
]

_NUMPY_OF = {"float32": np.float32, "float64": np.float64}


def _dtype_name(dtype: Any) -> str | None:
    """Normalises a dtype argument to "float32"/"float64" (None stays None)."""
    if dtype is None:
        return None
    name = getattr(dtype, "name", None) if isinstance(dtype, _native.dtype) else None
    if name is None:
        try:
            name = np.dtype(dtype).name
        except TypeError as exc:
            raise DTypeError(f"{dtype!r} is not a dtype") from exc
    if name not in _NUMPY_OF:
        raise DTypeError(
            f"dtype {name} is not supported: tapegrad tensors are float32 or float64"
        )
    return name


def _as_float_array(data: Any, dtype: str | None) -> np.ndarray:
    """Converts data to a native-order, C-contiguous float32/float64 NumPy array."""
    if isinstance(data, Tensor):
        data = data.detach().numpy()
    try:
        arr = np.asarray(data)
    except ValueError as exc:  # NumPy's message for ragged nested lists
        raise ShapeError(
            f"tensor: data has an inhomogeneous (ragged) shape: {exc}"
        ) from exc
    if arr.dtype.kind not in "biuf":
        raise DTypeError(
            f"tensor: cannot make a tensor from data of NumPy dtype {arr.dtype} "
            f"(expected numbers)"
        )
    if dtype is None:
        # Python floats and ints default to float32 (as torch.get_default_dtype());
        # float64 NumPy arrays keep their precision.
        wide = arr.dtype.kind == "f" and arr.dtype.itemsize == 8  # any byte order
        dtype = "float64" if wide and isinstance(data, np.ndarray) else "float32"
    # order="C" copies strided or byte-swapped data into native C order (and keeps 0-d shapes).
    return np.asarray(arr, dtype=_NUMPY_OF[dtype], order="C")


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Makes a new leaf tensor by copying ``data``.

    Args:
        data: A number, (nested) list or tuple of numbers, NumPy array (any strides or byte
            order) or Tensor.
        dtype: ``tapegrad.float32`` (the default for Python numbers) or ``tapegrad.float64``
            (the default for float64 NumPy arrays). Strings and NumPy dtypes are accepted.
        requires_grad: Whether to record operations on it for backward.
    """
    return _native._from_numpy(_as_float_array(data, _dtype_name(dtype)), requires_grad)


def from_numpy(array: np.ndarray, requires_grad: bool = False) -> Tensor:
    """Copies a NumPy float array into a tensor, keeping its dtype (float16 becomes float32)."""
    if not isinstance(array, np.ndarray):
        raise DTypeError(
            f"from_numpy expects a numpy.ndarray, got {type(array).__name__}"
        )
    wide = array.dtype.kind == "f" and array.dtype.itemsize == 8
    dtype = "float64" if wide else "float32"
    return _native._from_numpy(_as_float_array(array, dtype), requires_grad)


def _shape(size: Sequence[Any]) -> Any:
    return size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def full(
    size: Sequence[int],
    fill_value: float,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of the given shape filled with ``fill_value``."""
    return _native._full(size, float(fill_value), dtype, requires_grad)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _native._full(_shape(size), 0.0, dtype, requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return _native._full(_shape(size), 1.0, dtype, requires_grad)


def zeros_like(t: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros with ``t``'s shape (and dtype unless given)."""
    return _native._full(t.shape, 0.0, dtype or t.dtype, requires_grad)


def ones_like(t: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones with ``t``'s shape (and dtype unless given)."""
    return _native._full(t.shape, 1.0, dtype or t.dtype, requires_grad)


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
    return _native._arange(float(start), float(end), float(step), dtype, requires_grad)


def eye(
    n: int, m: int | None = None, *, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """An ``n × m`` matrix (``m`` defaults to ``n``) with ones on the diagonal."""
    return _native._eye(n, n if m is None else m, dtype, requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples from [0, 1); reproducible after ``tapegrad.manual_seed``."""
    return _native._rand(_shape(size), dtype, requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples; reproducible after ``tapegrad.manual_seed``."""
    return _native._randn(_shape(size), dtype, requires_grad)
