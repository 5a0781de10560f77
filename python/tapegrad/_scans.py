"""Products and scans with PyTorch's names and dtypes (issue 11), composed from the
primitives so that their gradients come for free: ``prod`` multiplies halves pairwise
(``log₂ n`` vectorised products, exact with zeros, unlike ``exp(Σ log x)``), ``cumprod``
and the integer ``cumsum`` are Hillis-Steele scans (``log₂ n`` shifted products or sums,
``O(n log n)`` work). Integer and bool inputs accumulate in int64, as in PyTorch, unless
``dtype=`` says otherwise (the input is cast first)."""

from __future__ import annotations

from typing import Any, Callable

from ._native import Tensor

__all__ = ["cumprod", "prod"]


def _accumulated(input: Tensor, dtype: Any) -> Tensor:
    """The input in the dtype PyTorch accumulates in: ``dtype`` when given, int64 for
    integers and bools, else its own."""
    if dtype is not None:
        return input.to(dtype)
    return input if input.is_floating_point() else input.long()


def _last(input: Tensor, dim: int, op: str) -> tuple[Tensor, int]:
    from ._shapes import _dim, movedim

    d = _dim(input, dim, op)
    return movedim(input, d, -1), d


def prod(
    input: Tensor,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """Product of all elements, or over ``dim`` (kept as size 1 with ``keepdim``)."""
    from ._shapes import movedim

    x = _accumulated(input, dtype)
    if dim is None:
        x, d, keepdim = x.reshape(-1), 0, False
        last = x
    else:
        last, d = _last(x, dim, "prod") if x.ndim else (x.reshape(1), 0)
    n = last.shape[-1]
    if n == 0:
        # the empty product is 1, still on the graph (with a zero gradient)
        result = (last.sum(-1) * 0 + 1).to(x.dtype)
    else:
        while n > 1:  # multiply the two halves; an odd last element waits a round
            half = n // 2
            paired = last[..., :half] * last[..., half : 2 * half]
            last = _cat([paired, last[..., 2 * half :]]) if n % 2 else paired
            n = last.shape[-1]
        result = last[..., 0]
    if dim is not None and x.ndim == 0:
        return result
    return movedim(result.unsqueeze(-1), -1, d) if keepdim else result


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Cumulative product along ``dim``."""
    return _scan(_accumulated(input, dtype), dim, "cumprod", lambda a, b: a * b, 1)


def cumsum_exact(input: Tensor, dim: int) -> Tensor:
    """Cumulative sum along ``dim`` by a scan (exact for integers)."""
    return _scan(input, dim, "cumsum", lambda a, b: a + b, 0)


def _scan(
    x: Tensor, dim: int, op: str, combine: Callable[[Tensor, Tensor], Tensor], unit: int
) -> Tensor:
    """Hillis-Steele inclusive scan: after the step with shift ``k``, element ``i``
    holds the combination of elements ``i - 2k + 1 .. i``."""
    from . import full
    from ._shapes import movedim

    if x.ndim == 0:
        return combine(x, full((), unit, dtype=x.dtype))
    last, d = _last(x, dim, op)
    n, k = last.shape[-1], 1
    while k < n:
        pad = full((*last.shape[:-1], k), unit, dtype=last.dtype)
        last = combine(last, _cat([pad, last[..., : n - k]]))
        k *= 2
    return movedim(last, -1, d)


def _cat(pieces: list[Tensor]) -> Tensor:
    from . import cat

    return cat(pieces, -1)
