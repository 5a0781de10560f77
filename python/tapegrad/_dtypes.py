"""Dtypes beyond float32/float64, PyTorch's aliases, ``iinfo``/``finfo`` and promotion.

The dtype objects and the promotion rules live in the native core; this module names them
as PyTorch does (``tapegrad.long is tapegrad.int64``) and adds the numeric limits.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from . import _native
from ._errors import DTypeError

bool = _native.bool
uint8 = _native.uint8
int8 = _native.int8
int16 = _native.int16
int32 = _native.int32
int64 = _native.int64
float32 = _native.float32
float64 = _native.float64
long = int64
int = int32
short = int16
float = float32
double = float64

result_type = _native.result_type
promote_types = _native.promote_types
can_cast = _native.can_cast
get_default_dtype = _native.get_default_dtype
set_default_dtype = _native.set_default_dtype

#: Names PyTorch has that tapegrad does not support: reading them raises DTypeError.
UNSUPPORTED = frozenset(
    {"float16", "half", "bfloat16", "complex32", "complex64", "complex128", "cfloat"}
    | {"cdouble", "uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2"}
)


def unsupported(name: str) -> DTypeError:
    """The error for a dtype name tapegrad does not have."""
    return DTypeError(
        f"tapegrad.{name} is not supported: tapegrad tensors are bool, uint8, int8, int16, "
        "int32, int64, float32 or float64"
    )


def _dtype(type: Any) -> Any:
    if not isinstance(type, _native.dtype):
        raise DTypeError(f"expected a tapegrad dtype, got {type!r}")
    return type


class iinfo:
    """Limits of an integer (or bool) dtype: ``bits``, ``min``, ``max``, ``dtype``."""

    def __init__(self, type: Any) -> None:
        dtype = _dtype(type)
        if dtype.is_floating_point:
            raise DTypeError(
                f"iinfo: {dtype} is not an integer dtype; use tapegrad.finfo"
            )
        info = np.iinfo(np.uint8 if dtype.name == "bool" else np.dtype(dtype.name))
        self.bits: builtins.int = 8 * dtype.itemsize
        self.min: builtins.int = 0 if dtype.name == "bool" else builtins.int(info.min)
        self.max: builtins.int = 1 if dtype.name == "bool" else builtins.int(info.max)
        self.dtype: str = dtype.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


class finfo:
    """Limits of a floating dtype (the default dtype when omitted): ``bits``, ``eps``,
    ``max``, ``min``, ``tiny``, ``smallest_normal``, ``resolution``, ``dtype``."""

    def __init__(self, type: Any = None) -> None:
        dtype = get_default_dtype() if type is None else _dtype(type)
        if not dtype.is_floating_point:
            raise DTypeError(
                f"finfo: {dtype} is not a floating dtype; use tapegrad.iinfo"
            )
        info = np.finfo(np.dtype(dtype.name))
        self.bits: builtins.int = 8 * dtype.itemsize
        self.eps: builtins.float = info.eps.item()
        self.max: builtins.float = info.max.item()
        self.min: builtins.float = info.min.item()
        self.tiny: builtins.float = info.tiny.item()
        self.smallest_normal: builtins.float = info.smallest_normal.item()
        self.resolution: builtins.float = info.resolution.item()
        self.dtype: str = dtype.name

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, "
            f"eps={self.eps}, smallest_normal={self.smallest_normal}, "
            f"tiny={self.tiny}, dtype={self.dtype})"
        )


__all__ = [
    "bool",
    "can_cast",
    "double",
    "finfo",
    "float",
    "get_default_dtype",
    "iinfo",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "long",
    "promote_types",
    "result_type",
    "set_default_dtype",
    "short",
    "uint8",
]


def require_floating(op: str, *tensors: Any) -> None:
    """Refuses bool and integer inputs of an op that PyTorch defines for floats only
    (norms, distances, ``nanmean``), naming the op and the dtype."""
    for t in tensors:
        if not t.dtype.is_floating_point:
            raise DTypeError(
                f"{op}: expected a floating point tensor (float32 or float64), got dtype "
                f"{str(t.dtype).removeprefix('tapegrad.')}; cast it with .float() or "
                ".double()"
            )


def refuse_bool(op: str, *tensors: Any) -> None:
    """Refuses bool inputs of an op that PyTorch has no bool kernel for (``median``,
    ``topk``, ``trace``, ``clamp``...), naming the op."""
    for t in tensors:
        if t.dtype == bool:
            raise DTypeError(f"{op}: not implemented for dtype bool")
