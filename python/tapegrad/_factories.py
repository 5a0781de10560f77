"""The factories with PyTorch's ``device=`` keyword, and the predicates ``is_tensor``, ``is_floating_point``, ``numel``."""

from __future__ import annotations

from typing import Any

from . import _creation
from ._device import accepts_device
from ._native import Tensor

__all__ = [
    "arange",
    "empty",
    "empty_like",
    "eye",
    "full",
    "full_like",
    "is_floating_point",
    "is_tensor",
    "numel",
    "ones",
    "ones_like",
    "rand",
    "randn",
    "tensor",
    "zeros",
    "zeros_like",
]

arange = accepts_device(_creation.arange)
empty = accepts_device(_creation.empty)
empty_like = accepts_device(_creation.empty_like)
eye = accepts_device(_creation.eye)
full = accepts_device(_creation.full)
full_like = accepts_device(_creation.full_like)
ones = accepts_device(_creation.ones)
ones_like = accepts_device(_creation.ones_like)
rand = accepts_device(_creation.rand)
randn = accepts_device(_creation.randn)
zeros = accepts_device(_creation.zeros)
zeros_like = accepts_device(_creation.zeros_like)


@accepts_device
def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Makes a new leaf tensor by copying ``data`` (see ``tapegrad._creation.tensor``)."""
    return _creation.tensor(data, dtype=dtype, requires_grad=requires_grad)


tensor.__doc__ = _creation.tensor.__doc__


def is_tensor(obj: Any) -> bool:
    """Whether ``obj`` is a tapegrad tensor (parameters included)."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    """Whether ``input``'s dtype is a floating-point type."""
    return bool(input.dtype.is_floating_point)


def numel(input: Tensor) -> int:
    """The number of elements of ``input``."""
    return input.numel()
