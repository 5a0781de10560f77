"""Integer-valued selections with PyTorch's names and signatures (issue 11):
``nonzero``, ``unique``, ``bincount``, ``histc``, ``searchsorted``, ``bucketize``.

They return indices or counts and record no gradient, except ``bincount``'s sums of
``weights`` (an add at positions, ``_put_add``). The work is NumPy's."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _native
from ._creation import tensor
from ._errors import ArgumentError, ShapeError
from ._native import Tensor
from ._selection import _dim, _index, _numpy_index

__all__ = ["bincount", "bucketize", "histc", "nonzero", "searchsorted", "unique"]


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """Indices of the non-zero elements: an ``(n, ndim)`` int64 tensor, or with
    ``as_tuple=True`` one 1-d int64 tensor per dimension."""
    data = input.detach().__array__(copy=True)
    if data.ndim == 0:
        count = int(data != 0)
        if as_tuple:
            return (tensor(np.zeros(count, np.int64)),)
        return tensor(np.zeros((count, 0), np.int64))
    found = np.nonzero(data)
    if as_tuple:
        return tuple(tensor(f.astype(np.int64)) for f in found)
    return tensor(np.stack(found, axis=1).astype(np.int64))


def unique(
    input: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """The distinct elements (or slices along ``dim``), sorted; optionally the inverse
    indices (int64, ``input``'s shape) and the counts (int64). No gradient."""
    data = input.detach().__array__(copy=True)
    if dim is not None:
        dim = _dim(input, dim, "unique")
    values, inverse, counts = np.unique(
        data, return_inverse=True, return_counts=True, axis=dim
    )
    out = [tensor(values)]
    if return_inverse:
        shape = data.shape if dim is None else (data.shape[dim],)
        out.append(tensor(inverse.reshape(shape).astype(np.int64)))
    if return_counts:
        out.append(tensor(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def bincount(input: Any, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Counts of each value of a 1-d non-negative integer tensor (int64), or the sums
    of ``weights`` per value (differentiable in ``weights``)."""
    index = _index(input, "bincount")
    if index.ndim != 1:
        raise ShapeError(f"bincount: input must be 1-d, got shape {tuple(index.shape)}")
    values = _numpy_index(index)
    if values.size and values.min() < 0:
        raise ArgumentError(
            f"bincount: input must be non-negative, got {int(values.min())}"
        )
    length = max(int(values.max()) + 1 if values.size else 0, minlength)
    if weights is None:
        return tensor(np.bincount(values, minlength=length).astype(np.int64))
    if tuple(weights.shape) != tuple(index.shape):
        raise ShapeError(
            f"bincount: weights of shape {tuple(weights.shape)} must match the input "
            f"of shape {tuple(index.shape)}"
        )
    if not weights.is_floating_point():
        weights = weights.double()
    return _native._put_add(weights, values, [length])


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Histogram of ``bins`` equal bins over ``[min, max]`` (the data's range when both
    are 0); elements outside are ignored. Same dtype as ``input``, no gradient."""
    if bins <= 0:
        raise ArgumentError(f"histc: bins must be positive, got {bins}")
    data = input.detach().__array__(copy=True).reshape(-1).astype(np.float64)
    lo, hi = float(min), float(max)
    if lo == hi == 0 and data.size:
        lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise ArgumentError(f"histc: max {hi} must be larger than min {lo}")
    counts, _ = np.histogram(data, bins=bins, range=(lo, hi))
    return tensor(counts, dtype=input.dtype)


def searchsorted(
    sorted_sequence: Tensor,
    input: Any,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
    sorter: Any = None,
) -> Tensor:
    """Indices where ``input``'s values would be inserted to keep each innermost row
    of ``sorted_sequence`` sorted (int64, or int32 with ``out_int32``)."""
    if side is not None:
        if side not in ("left", "right"):
            raise ArgumentError(
                f"searchsorted: side must be 'left' or 'right', got {side!r}"
            )
        if right and side == "left":
            raise ArgumentError("searchsorted: right=True contradicts side='left'")
        right = side == "right"
    sequence: Any = sorted_sequence.detach().__array__(copy=True)
    if sorter is not None:
        order = _numpy_index(_index(sorter, "searchsorted"))
        sequence = np.take_along_axis(sequence, order, axis=-1)
    values: Any = (
        input.detach().__array__(copy=True) if isinstance(input, Tensor) else np.asarray(input)
    )
    how: Any = "right" if right else "left"
    if sequence.ndim <= 1:
        found = np.searchsorted(sequence, values, side=how)
    else:
        if sequence.shape[:-1] != values.shape[:-1]:
            raise ShapeError(
                f"searchsorted: sorted_sequence of shape {tuple(sequence.shape)} and input of "
                f"shape {tuple(values.shape)} must agree in all but the last dimension"
            )
        rows_seq = sequence.reshape(-1, sequence.shape[-1])
        rows_val = values.reshape(-1, values.shape[-1])
        found = np.stack(
            [np.searchsorted(s, v, side=how) for s, v in zip(rows_seq, rows_val)]
        ).reshape(values.shape)
    return tensor(np.asarray(found).astype(np.int32 if out_int32 else np.int64))


def bucketize(
    input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False
) -> Tensor:
    """The bucket of each element of ``input`` given 1-d sorted ``boundaries``."""
    if boundaries.ndim != 1:
        raise ShapeError(
            f"bucketize: boundaries must be 1-d, got shape {tuple(boundaries.shape)}"
        )
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)
