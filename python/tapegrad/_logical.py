"""Logical functions and predicates of tensors, composed from comparisons (which give
bool tensors) and integer sums; none of them carries a gradient."""

from __future__ import annotations

from typing import Any

from ._native import Tensor


def _nonzero(x: Tensor) -> Tensor:
    return x != 0


def logical_not(input: Tensor) -> Tensor:
    """True where ``input`` is zero (a bool tensor)."""
    return input == 0


def logical_and(input: Tensor, other: Tensor) -> Tensor:
    """True where both are nonzero."""
    return (_nonzero(input).float() * _nonzero(other).float()) != 0


def logical_or(input: Tensor, other: Tensor) -> Tensor:
    """True where either is nonzero."""
    return (_nonzero(input).float() + _nonzero(other).float()) != 0


def logical_xor(input: Tensor, other: Tensor) -> Tensor:
    """True where exactly one is nonzero."""
    return _nonzero(input) != _nonzero(other)


def isnan(input: Tensor) -> Tensor:
    """True where ``input`` is NaN (never for integer and bool tensors)."""
    x = input.detach()
    return x.ne(x)


def isinf(input: Tensor) -> Tensor:
    """True where ``input`` is +inf or -inf."""
    x = input.detach()
    if not x.is_floating_point():
        return x.ne(x)
    return x.abs() == float("inf")


def isfinite(input: Tensor) -> Tensor:
    """True where ``input`` is neither NaN nor infinite."""
    x = input.detach()
    if not x.is_floating_point():
        return x.eq(x)
    return (x - x) == 0  # inf - inf and NaN - NaN are NaN


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    """The number of nonzero elements (over ``dim`` when given), as int64."""
    return _nonzero(input.detach()).sum(dim)


def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """True where some element (over ``dim``) is nonzero (a bool tensor)."""
    return _nonzero(input.detach()).sum(dim, keepdim=keepdim) > 0


def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """True where every element (over ``dim``) is nonzero (a bool tensor)."""
    return (input.detach() == 0).sum(dim, keepdim=keepdim) == 0


def isclose(
    input: Tensor,
    other: Tensor,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise, as PyTorch's (equal
    infinities are close; NaNs are close to each other only with ``equal_nan``)."""
    a, b = input.detach(), other.detach()
    if not a.is_floating_point() and not b.is_floating_point():
        a, b = a.double(), b.double()
    close = (a - b).abs() <= (b.abs() * rtol + atol)
    close = logical_or(close, a == b)
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return close


def allclose(
    input: Tensor,
    other: Tensor,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> bool:
    """Whether every element of ``input`` is close to ``other`` (see ``isclose``)."""
    return bool(all(isclose(input, other, rtol, atol, equal_nan)))


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """The index of the largest element (over ``dim``, or of the flattened tensor)."""
    return input.argmax(dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """The index of the smallest element (over ``dim``, or of the flattened tensor)."""
    return input.argmin(dim, keepdim)


def equal(input: Tensor, other: Tensor) -> bool:
    """Whether both have the same shape and the same values."""
    return tuple(input.shape) == tuple(other.shape) and bool(all(input == other))


__all__ = [
    "all",
    "allclose",
    "any",
    "argmax",
    "argmin",
    "count_nonzero",
    "equal",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
]
