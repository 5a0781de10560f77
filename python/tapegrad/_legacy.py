"""PyTorch's legacy tensor types: ``tapegrad.FloatTensor(...)`` and its siblings,
``isinstance(x, tapegrad.LongTensor)``, and ``Tensor.type()`` with their names.

As in PyTorch, the legacy types are not subclasses of ``Tensor``: calling one makes a
plain ``Tensor`` of its dtype, and ``isinstance`` asks a metaclass whether a tensor has
that dtype (every tapegrad tensor is on the CPU, so the CPU types are the ones that
match). ``half()`` and ``bfloat16()`` raise the error of the dtypes tapegrad lacks.
"""

from __future__ import annotations

from typing import Any

from . import _dtypes, _native, _surface
from ._device import _not_cpu
from ._errors import ArgumentError
from ._native import Tensor

__all__ = [
    "BoolTensor",
    "ByteTensor",
    "CharTensor",
    "DoubleTensor",
    "FloatTensor",
    "IntTensor",
    "LongTensor",
    "ShortTensor",
]

# Legacy type name -> dtype name; PyTorch's names for dtypes tapegrad lacks -> their
# dtype name (for the error).
_TYPES = {
    "BoolTensor": "bool",
    "ByteTensor": "uint8",
    "CharTensor": "int8",
    "ShortTensor": "int16",
    "IntTensor": "int32",
    "LongTensor": "int64",
    "FloatTensor": "float32",
    "DoubleTensor": "float64",
}
_MISSING = {"HalfTensor": "float16", "BFloat16Tensor": "bfloat16"}


class _LegacyTensorType(type):
    """The metaclass of the legacy types: a call makes a tensor of the type's dtype,
    ``isinstance`` checks a tensor's dtype."""

    dtype: Any

    def __call__(cls, *args: Any, device: Any = None) -> Tensor:  # type: ignore[override]
        return _surface.legacy_new(args, device, cls.dtype.name, cls.__name__)

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, Tensor) and instance.dtype == cls.dtype

    def __repr__(cls) -> str:
        return f"<class 'tapegrad.{cls.__name__}'>"

    @property
    def is_cuda(cls) -> bool:
        """False: the CPU types."""
        return False


def _legacy_type(name: str) -> _LegacyTensorType:
    namespace = {
        "__module__": "tapegrad",
        "__doc__": f"PyTorch's legacy ``{name}``: ``{name}(data)`` or ``{name}(*sizes)`` "
        f"makes a {_TYPES[name]} tensor; ``isinstance(x, {name})`` checks the dtype.",
        "dtype": getattr(_native, _TYPES[name]),
    }
    return _LegacyTensorType(name, (), namespace)


BoolTensor = _legacy_type("BoolTensor")
ByteTensor = _legacy_type("ByteTensor")
CharTensor = _legacy_type("CharTensor")
ShortTensor = _legacy_type("ShortTensor")
IntTensor = _legacy_type("IntTensor")
LongTensor = _legacy_type("LongTensor")
FloatTensor = _legacy_type("FloatTensor")
DoubleTensor = _legacy_type("DoubleTensor")

_NAME_OF = {dtype: name for name, dtype in _TYPES.items()}


def _dtype_of_type_name(text: str) -> Any:
    """The dtype a legacy type name (``"torch.LongTensor"``, ``"tapegrad.LongTensor"``
    or ``"LongTensor"``) stands for."""
    name = text
    for prefix in ("torch.", "tapegrad."):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    if name.startswith("cuda."):
        raise _not_cpu(text)
    if name in _TYPES:
        return getattr(_native, _TYPES[name])
    if name in _MISSING:
        raise _dtypes.unsupported(_MISSING[name])
    raise ArgumentError(f"invalid type: {text!r}")


def tensor_type(
    self: Tensor, dtype: Any = None, non_blocking: bool = False, **kwargs: Any
) -> Any:
    """``Tensor.type()``: the legacy type name, or the tensor in another type."""
    del non_blocking  # there is no asynchronous copy on the CPU
    if kwargs:
        raise ArgumentError(f"type() got unexpected keyword arguments {sorted(kwargs)}")
    if dtype is None:
        return f"tapegrad.{_NAME_OF[self.dtype.name]}"
    if isinstance(dtype, _LegacyTensorType):
        dtype = dtype.dtype
    elif isinstance(dtype, str):
        dtype = _dtype_of_type_name(dtype)
    return self.to(dtype)


def half(self: Tensor, memory_format: Any = None) -> Tensor:
    """float16 is not a tapegrad dtype."""
    raise _dtypes.unsupported("float16")


def bfloat16(self: Tensor, memory_format: Any = None) -> Tensor:
    """bfloat16 is not a tapegrad dtype."""
    raise _dtypes.unsupported("bfloat16")
