"""Quantiles (``quantile``, ``nanquantile``: differentiable through the sorted values),
``histogram`` and ``unique_consecutive`` (NumPy's work, no gradient), with PyTorch's
signatures, dtypes and errors."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._creation import tensor
from ._errors import ArgumentError, DTypeError, ShapeError
from ._native import Tensor
from ._selection import _dim
from .return_types import histogram as histogram_result

__all__ = ["histogram", "nanquantile", "quantile", "unique_consecutive"]


# ---- quantiles -------------------------------------------------------------------------------

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(
    op: str,
    input: Tensor,
    q: Any,
    dim: int | None,
    keepdim: bool,
    interpolation: str,
    ignore_nan: bool,
) -> Tensor:
    from . import where
    from ._batched import BatchedTensor

    if isinstance(input, BatchedTensor) or isinstance(q, BatchedTensor):  # under vmap
        from ._batched_extra import RULES

        return RULES[op](input, q, dim, keepdim, interpolation=interpolation)  # type: ignore[no-any-return]
    if not input.dtype.is_floating_point:
        raise DTypeError(
            f"{op}() input tensor must be either float or double dtype, got "
            f"{str(input.dtype).removeprefix('tapegrad.')}"
        )
    if interpolation not in _INTERPOLATIONS:
        raise ArgumentError(
            f"{op}() interpolation must be one of linear, lower, higher, midpoint or "
            f"nearest, but got {interpolation}"
        )
    if input.numel() == 0:
        raise ArgumentError(f"{op}() input tensor must be non-empty")
    scalar_q = not isinstance(q, Tensor)
    if scalar_q:
        if not 0 <= q <= 1:
            raise ArgumentError(f"{op}() q must be in the range [0, 1] but got {q}")
        qs = np.array([float(q)])
    else:
        if q.ndim > 1:
            raise ShapeError(f"{op}() q must be a scalar or 1D tensor")
        if q.dtype != input.dtype:
            raise DTypeError(f"{op}() q tensor must be same dtype as the input tensor")
        qs = q.detach().numpy().astype(np.float64).reshape(-1)
        if ((qs < 0) | (qs > 1)).any():
            raise ArgumentError(f"{op}() q values must be in the range [0, 1]")
        scalar_q = q.ndim == 0
    if input.ndim == 0:  # one element: dim 0 or -1, as PyTorch
        if dim is not None:
            _dim(input, dim, op)
        values, out_shape = input.reshape(1), []
    elif dim is None:
        values, out_shape = input.reshape(-1), [1] * input.ndim if keepdim else []
    else:
        d = _dim(input, dim, op)
        values = input.movedim(d, -1)
        out_shape = list(input.shape)
        if keepdim:
            out_shape[d] = 1
        else:
            del out_shape[d]
    values = values.sort(-1).values  # NaN sorts last
    n = values.shape[-1]
    nan = np.asarray(values.isnan().detach().numpy(), dtype=bool)
    if ignore_nan:
        count = np.logical_not(nan).sum(-1, keepdims=True)
    else:
        count = np.full(nan.shape[:-1] + (1,), n)
    any_nan = nan.any(-1, keepdims=True) if not ignore_nan else count == 0
    results = []
    for level in qs:
        rank = level * np.maximum(count - 1, 0)
        if interpolation == "nearest":
            rank = np.round(rank)
        below = np.floor(rank).astype(np.int64)
        above = np.ceil(rank).astype(np.int64)
        if interpolation == "lower":
            above = below
        elif interpolation == "higher":
            below = above
        low = values.gather(-1, tensor(below))
        high = values.gather(-1, tensor(above))
        if interpolation in ("linear", "midpoint"):
            weight = 0.5 if interpolation == "midpoint" else rank - below
            low = low + (high - low) * tensor(np.asarray(weight, np.float64), dtype=input.dtype)
        results.append(where(tensor(any_nan), float("nan"), low).squeeze(-1))
    from . import stack

    out = stack(results).reshape(len(qs), *out_shape)
    return out[0] if scalar_q else out


def quantile(
    input: Tensor,
    q: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    """The ``q``-th quantiles (``q`` a number or a 0/1-d tensor in ``[0, 1]``) over
    ``dim`` (all elements when None); a tensor ``q`` adds a leading dimension. A slice
    holding NaN gives NaN. Differentiable (through the sorted values)."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


def nanquantile(
    input: Tensor,
    q: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    """``quantile`` ignoring NaN (a slice of only NaN gives NaN)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


# ---- histogram, unique_consecutive -----------------------------------------------------------


def histogram(
    input: Tensor,
    bins: Any = 100,
    *,
    range: tuple[float, float] | None = None,
    weight: Tensor | None = None,
    density: bool = False,
) -> histogram_result:
    """Counts (or summed ``weight``, or a density) of the values in ``bins`` equal bins
    over ``range`` (the data's when None), or in the bins whose edges a 1-d tensor
    gives; the last bin includes its right edge. Floating inputs; no gradient."""
    if not input.dtype.is_floating_point:
        raise DTypeError(
            f"histogram: input tensor must be floating point, got dtype {input.dtype}"
        )
    data = input.detach().numpy().reshape(-1)
    weights = None
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape):
            raise ShapeError(
                f"histogram: weight of shape {tuple(weight.shape)} must match input of "
                f"shape {tuple(input.shape)}"
            )
        weights = weight.detach().numpy().reshape(-1)
    if isinstance(bins, Tensor):
        if bins.ndim != 1 or bins.shape[0] < 1:
            raise ShapeError(
                f"histogram: bins tensor must be 1-d and non-empty, got shape {tuple(bins.shape)}"
            )
        edges = bins.detach().numpy().astype(np.float64)
        if (np.diff(edges) < 0).any():
            raise ArgumentError("histogram: bin edges must be non-decreasing")
    else:
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins <= 0:
            raise ArgumentError(f"histogram: bins must be a positive int, got {bins!r}")
        if range is not None:
            lo, hi = float(range[0]), float(range[1])
            if lo > hi:
                raise ArgumentError(
                    f"histogram: min should not exceed max, got min {lo} max {hi}"
                )
        elif data.size:
            lo, hi = float(data.min()), float(data.max())
        else:  # PyTorch's range for no data
            lo, hi = 0.0, 1.0
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, int(bins) + 1)
    counts, edges = np.histogram(data, bins=edges, weights=weights, density=density)
    return histogram_result(tensor(counts, dtype=input.dtype), tensor(edges, dtype=input.dtype))


def unique_consecutive(
    input: Tensor,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """The first element (or slice along ``dim``) of each run of equal consecutive ones;
    optionally the inverse indices (int64) and the run lengths (int64). No gradient."""
    data = input.detach().numpy()
    if dim is None:
        flat = data.reshape(-1)
        starts = np.ones(flat.size, bool)
        starts[1:] = flat[1:] != flat[:-1]
        values: np.ndarray = flat[starts]
        inverse_shape: tuple[int, ...] = data.shape
    else:
        dim = _dim(input, dim, "unique_consecutive")
        moved = np.moveaxis(data, dim, 0).reshape(data.shape[dim] if data.ndim else 1, -1)
        starts = np.ones(moved.shape[0], bool)
        starts[1:] = (moved[1:] != moved[:-1]).any(-1)
        values = np.compress(starts, data, axis=dim)
        inverse_shape = (moved.shape[0],)
    out = [tensor(values, dtype=input.dtype)]
    if return_inverse:
        out.append(tensor((np.cumsum(starts) - 1).reshape(inverse_shape).astype(np.int64)))
    if return_counts:
        edges = np.append(np.nonzero(starts)[0], starts.size)
        out.append(tensor(np.diff(edges).astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)
