"""Statistics, norms and scans with PyTorch's names and signatures, composed from the
primitives (so their gradients come for free, to any order).

The scans (``cumsum``, ``logcumsumexp``) are written as one product with a constant
triangular matrix (``O(n²)`` in the scanned length): exact, differentiable, and without
a dedicated primitive; a linear-time scan primitive is future work.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._dtypes import bool as bool_
from ._dtypes import require_floating
from ._errors import ArgumentError, DTypeError, ShapeError
from ._linalg_composed import matrix_norm, vector_norm
from ._native import Tensor, get_default_dtype

__all__ = [
    "corrcoef",
    "cov",
    "cumsum",
    "diff",
    "dist",
    "logcumsumexp",
    "nanmean",
    "nansum",
    "norm",
    "std",
    "std_mean",
    "var",
    "var_mean",
]


def _dims(input: Tensor, dim: Any) -> tuple[int, ...]:
    """``dim`` as a tuple of non-negative dims (None or ``()``: all)."""
    from ._shapes import _dim

    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(input.ndim))
    dims = [dim] if isinstance(dim, (int, np.integer)) else list(dim)
    return tuple(sorted({_dim(input, int(d), "reduction") for d in dims}))


def _correction(op: str, unbiased: Any, correction: Any) -> float:
    if unbiased is not None and correction is not None:
        raise ArgumentError(f"{op}: give correction or unbiased, not both")
    if unbiased is not None:
        return 1.0 if unbiased else 0.0
    return 1.0 if correction is None else float(correction)


def _var(
    op: str,
    input: Tensor,
    dim: Any,
    unbiased: Any,
    keepdim: bool,
    correction: Any,
) -> tuple[Tensor, Tensor]:
    if isinstance(dim, bool):  # var(input, unbiased) in the legacy signature
        dim, unbiased = None, dim
    c = _correction(op, unbiased, correction)
    dims = _dims(input, dim)
    count = math.prod(input.shape[d] for d in dims) if input.ndim else 1
    mean = input.mean(dim=dims, keepdim=True) if input.ndim else input
    centred = input - mean
    squares = _reduce(centred * centred, "sum", dims, keepdim)
    # N - correction <= 0 gives inf (NaN for 0/0), as PyTorch's (which warns).
    denominator = count - c
    variance = squares / denominator if denominator > 0 else squares * float("inf")
    return variance, mean if keepdim or not input.ndim else mean.squeeze(dims)


def var(
    input: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> Tensor:
    """Variance over ``dim`` (None: all), dividing by ``N - correction`` (default 1;
    ``unbiased=False`` is ``correction=0``)."""
    return _var("var", input, dim, unbiased, keepdim, correction)[0]


def std(
    input: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> Tensor:
    """Standard deviation: ``sqrt(var(...))`` with the same arguments."""
    return _var("std", input, dim, unbiased, keepdim, correction)[0].sqrt()


def var_mean(
    input: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple[Tensor, Tensor]:
    """``(var, mean)`` over ``dim``."""
    return _var("var_mean", input, dim, unbiased, keepdim, correction)


def std_mean(
    input: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple[Tensor, Tensor]:
    """``(std, mean)`` over ``dim``."""
    v, m = _var("std_mean", input, dim, unbiased, keepdim, correction)
    return v.sqrt(), m


def _reduce(t: Tensor, how: str, dims: tuple[int, ...], keepdim: bool) -> Tensor:
    if t.ndim == 0:
        return t
    return getattr(t, how)(dim=dims, keepdim=keepdim)


def norm(
    input: Tensor,
    p: Any = "fro",
    dim: Any = None,
    keepdim: bool = False,
    dtype: Any = None,
) -> Tensor:
    """``torch.norm``: the vector ``p``-norm over ``dim`` (all elements by default);
    ``"fro"`` is the 2-norm and ``"nuc"`` the nuclear norm of the matrices in ``dim``
    (default the last two)."""
    if p is None or p == "fro":
        p = 2
    if p == "nuc":
        return matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    if isinstance(p, str):
        raise ArgumentError(f"norm: unknown p {p!r} (use a number, 'fro' or 'nuc')")
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


def dist(input: Tensor, other: Any, p: float = 2) -> Tensor:
    """``‖input - other‖_p`` over all elements."""
    require_floating("dist", input, *([other] if isinstance(other, Tensor) else []))
    return vector_norm(input - other, p)


def nansum(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Sum over ``dim`` with NaN counted as zero."""
    from . import where

    if not input.dtype.is_floating_point:  # no NaN to skip: the sum, int64 as PyTorch's
        return _reduce(input, "sum", _dims(input, dim), keepdim)
    clean = where(input.ne(input), 0.0, input)  # NaN is the one value != itself
    return _reduce(clean, "sum", _dims(input, dim), keepdim)


def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Mean over ``dim`` of the elements that are not NaN."""
    require_floating("nanmean", input)
    count = _reduce(input.eq(input), "sum", _dims(input, dim), keepdim)
    return nansum(input, dim, keepdim) / count


def _scan_matrix(n: int, dtype: Any) -> Tensor:
    """``U[j, k] = 1`` for ``j <= k``: ``x @ U`` is the cumulative sum."""
    from . import tensor

    return tensor(np.triu(np.ones((n, n))), dtype=dtype)


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Cumulative sum along ``dim``."""
    from ._shapes import _dim, movedim

    from ._scans import _accumulated, cumsum_exact

    input = _accumulated(input, dtype)
    if not input.is_floating_point():
        return cumsum_exact(input, dim)  # integers accumulate in int64, exactly
    if input.ndim == 0:
        return input * 1.0
    d = _dim(input, dim, "cumsum")
    last = movedim(input, d, -1)
    return movedim(last @ _scan_matrix(last.shape[-1], input.dtype), -1, d)


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``log Σ_{j≤k} e^(x_j)`` along ``dim``, stable: each prefix is a ``logsumexp``
    (entries after ``k`` are masked with -inf)."""
    from . import tensor
    from ._shapes import _dim, movedim

    require_floating("logcumsumexp", input)
    if input.ndim == 0:
        return input * 1.0
    d = _dim(input, dim, "logcumsumexp")
    last = movedim(input, d, -1)
    n = last.shape[-1]
    if n == 0:
        return input * 1.0
    with np.errstate(divide="ignore"):
        mask = np.log(np.triu(np.ones((n, n))))  # 0 where j <= k, -inf elsewhere
    prefixes = last.unsqueeze(-1) + tensor(mask, dtype=input.dtype)
    return movedim(prefixes.logsumexp(dim=-2), -1, d)


def diff(
    input: Tensor, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None
) -> Tensor:
    """The ``n``-th forward difference along ``dim``, after concatenating ``prepend``
    and ``append``."""
    from ._native import cat
    from ._shapes import _dim, _take

    if input.ndim == 0:
        raise ShapeError("diff: expects a tensor of at least 1 dimension")
    if n < 0:
        raise ArgumentError(f"diff: order n must be non-negative, got {n}")
    d = _dim(input, dim, "diff")
    parts = [p for p in (prepend, input, append) if p is not None]
    x = cat(parts, d) if len(parts) > 1 else input
    for _ in range(min(n, x.shape[d])):  # past the length, the result stays empty
        size = x.shape[d]
        later, earlier = _take(x, d, 1, size), _take(x, d, 0, max(size - 1, 0))
        # Bools differ where they change, as PyTorch's diff (bool `-` is refused).
        x = later ^ earlier if x.dtype == bool_ else later - earlier
    return x


def cov(
    input: Tensor, *, correction: int = 1, fweights: Any = None, aweights: Any = None
) -> Tensor:
    """Covariance of the variables in the rows of ``input`` (observations in the
    columns); a 1-d input is one variable. Weights are not supported yet."""
    if fweights is not None or aweights is not None:
        raise ArgumentError("cov: fweights and aweights are not supported yet")
    if input.ndim > 2:
        raise ShapeError(
            f"cov: input must be 1-d or 2-d, got shape {tuple(input.shape)}"
        )
    x = input.reshape(1, -1) if input.ndim < 2 else input
    if x.dtype == bool_:
        raise DTypeError("cov: not implemented for dtype bool")
    if not x.dtype.is_floating_point:  # integers give the default float dtype, as PyTorch
        x = x.to(get_default_dtype())
    observations = x.shape[1]
    centred = x - x.mean(dim=1, keepdim=True)
    out = (centred @ centred.T) * (1.0 / (observations - correction))
    return out.reshape(()) if input.ndim < 2 else out


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows of ``input``, clipped to [-1, 1]."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    sd = c.diagonal().sqrt()
    return (c / (sd.unsqueeze(1) * sd.unsqueeze(0))).clamp(-1.0, 1.0)
