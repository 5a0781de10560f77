"""Writes at positions, with PyTorch's names: ``masked_scatter``, ``put``,
``index_reduce`` (each also in place, ``name_``), ``fill_diagonal_``, and the random
fills ``cauchy_``, ``geometric_``, ``log_normal_`` (drawn from ``generator``, the default
generator when None, so ``tapegrad.manual_seed`` makes them reproducible).

The positions are NumPy's work; the values go through ``take``/``where``/``scatter``, so
the results are differentiable in the tensor and in the written values."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _native
from ._creation import tensor
from ._errors import ArgumentError, AxisError, DTypeError, ShapeError
from ._inplace import _update
from ._native import Tensor
from ._selection import _along, _dim, _index, _numpy_index, scatter, scatter_add, scatter_reduce

__all__ = ["index_reduce", "masked_scatter", "put"]


# ---- masked_scatter --------------------------------------------------------------------------


def masked_scatter(input: Tensor, mask: Any, source: Tensor) -> Tensor:
    """``input`` with ``source``'s leading elements (row-major order) written where the
    bool ``mask`` (broadcast to ``input``'s shape) is True."""
    if not isinstance(mask, Tensor):
        mask = tensor(np.asarray(mask))
    if mask.dtype != _native.bool:
        raise DTypeError(
            f"masked_scatter only supports boolean masks, but got mask with dtype {mask.dtype}"
        )
    if source.dtype != input.dtype:
        raise DTypeError(
            f"masked_scatter: expected self and source to have same dtypes but got "
            f"{input.dtype} and {source.dtype}"
        )
    try:
        shape = tuple(np.broadcast_shapes(tuple(input.shape), tuple(mask.shape)))
    except ValueError:
        raise ShapeError(
            f"masked_scatter: the mask of shape {tuple(mask.shape)} does not broadcast with "
            f"the tensor of shape {tuple(input.shape)}"
        ) from None
    if shape != tuple(input.shape):  # out of place, both broadcast (PyTorch's rule)
        input = input.expand(*shape)
    chosen = np.broadcast_to(mask.numpy(), shape).reshape(-1)
    count = int(chosen.sum())
    if source.numel() < count:
        raise ShapeError(
            f"masked_scatter: number of elements of source ({source.numel()}) < number of "
            f"ones in mask ({count})"
        )
    read = np.zeros(chosen.size, np.int64)
    read[chosen] = np.arange(count)
    written = _native._take(source.reshape(-1), read, list(shape))
    return _native._where(tensor(chosen.reshape(shape)), written, input)


def masked_scatter_(self: Tensor, mask: Any, source: Tensor) -> Tensor:
    """In place ``masked_scatter``; ``mask`` must broadcast to this tensor's shape."""
    mask_shape = tuple(np.shape(mask)) if not isinstance(mask, Tensor) else tuple(mask.shape)
    if len(mask_shape) > self.ndim or any(
        m not in (1, s) for m, s in zip(mask_shape[::-1], tuple(self.shape)[::-1])
    ):
        raise ShapeError(
            f"masked_scatter_: the mask of shape {tuple(mask.shape)} does not broadcast to "
            f"the tensor of shape {tuple(self.shape)}"
        )
    return _update(self, "masked_scatter_", lambda cur: masked_scatter(cur, mask, source))


# ---- put -------------------------------------------------------------------------------------


def put(input: Tensor, index: Any, source: Tensor, accumulate: bool = False) -> Tensor:
    """``input`` seen as 1-d with ``source`` written at ``index`` (negative counts from the
    end); with ``accumulate=True`` repeated positions add up, else the last write wins."""
    index = _index(index, "put")
    if index.numel() != source.numel():
        raise ShapeError(
            "put: expected source and index to have the same number of elements, but got "
            f"source.numel() = {source.numel()}, index.numel() = {index.numel()}"
        )
    numel = input.numel()
    positions = _numpy_index(index).reshape(-1)
    bad = (positions < -numel) | (positions >= numel)
    if bad.any():
        raise AxisError(
            f"put: index {int(positions[bad][0])} is out of range for a tensor of "
            f"{numel} elements"
        )
    positions = np.where(positions < 0, positions + numel, positions)
    flat, values = input.reshape(-1), source.reshape(-1)
    if values.dtype != input.dtype:
        raise DTypeError(
            f"put: source has dtype {source.dtype} but the tensor has dtype {input.dtype}"
        )
    where_to = tensor(positions)
    write = scatter_add if accumulate else scatter
    out = write(flat, 0, where_to, values)
    return out.reshape(*input.shape)


def put_(self: Tensor, index: Any, source: Tensor, accumulate: bool = False) -> Tensor:
    """In place ``put``."""
    return _update(self, "put_", lambda cur: put(cur, index, source, accumulate))


# ---- index_reduce ----------------------------------------------------------------------------

_INDEX_REDUCTIONS = ("prod", "mean", "amax", "amin")


def index_reduce(
    input: Tensor,
    dim: int,
    index: Any,
    source: Tensor,
    reduce: str,
    *,
    include_self: bool = True,
) -> Tensor:
    """``source``'s slices reduced into ``input``'s at ``index`` along ``dim``;
    ``reduce`` is ``"prod"``, ``"mean"``, ``"amax"`` or ``"amin"``, and
    ``include_self=False`` leaves ``input``'s value out where some index points."""
    if reduce not in _INDEX_REDUCTIONS:
        raise ArgumentError(
            "index_reduce: expected reduce to be one of prod, mean, amax or amin but got "
            f"{reduce!r}"
        )
    if input.dtype == _native.bool and reduce in ("amax", "amin") and not include_self:
        # PyTorch starts these from the dtype's lowest/highest value, which bool lacks.
        raise DTypeError(
            f"index_reduce: reduce={reduce!r} with include_self=False is not implemented "
            "for dtype bool"
        )
    index = _index(index, "index_reduce")
    dim = _dim(input, dim, "index_reduce")
    full = _along(input, dim, index, source, "index_reduce")
    return scatter_reduce(input, dim, full, source, reduce, include_self=include_self)


def index_reduce_(
    self: Tensor,
    dim: int,
    index: Any,
    source: Tensor,
    reduce: str,
    *,
    include_self: bool = True,
) -> Tensor:
    """In place ``index_reduce``."""
    return _update(
        self,
        "index_reduce_",
        lambda cur: index_reduce(cur, dim, index, source, reduce, include_self=include_self),
    )


# ---- fill_diagonal_ --------------------------------------------------------------------------


def fill_diagonal_(self: Tensor, fill_value: Any, wrap: bool = False) -> Tensor:
    """Writes ``fill_value`` on the main diagonal (all dimensions equal beyond 2-d); with
    ``wrap=True`` a tall matrix's diagonal restarts every ``columns + 1`` rows, as NumPy's."""
    from . import where

    shape = tuple(self.shape)
    if len(shape) < 2:
        raise ShapeError(
            f"fill_diagonal_: dimensions must be larger than 1, got shape {shape}"
        )
    if len(shape) > 2 and len(set(shape)) != 1:
        raise ShapeError(
            f"fill_diagonal_: all dimensions of input must be of equal length, got {shape}"
        )
    numel = int(np.prod(shape, dtype=np.int64))
    if len(shape) == 2:
        rows, cols = shape
        step = cols + 1
        end = numel if wrap and rows > cols else min(rows, cols) * cols
    else:
        step = sum(int(np.prod(shape[k + 1 :], dtype=np.int64)) for k in range(len(shape)))
        end = numel
    mask = np.zeros(numel, bool)
    mask[0:end:step] = True
    on_diagonal = tensor(mask.reshape(shape))

    def fill(cur: Tensor) -> Tensor:
        value = tensor(fill_value).to(cur.dtype)  # cast as PyTorch does (2.7 -> 2 for ints)
        return where(on_diagonal, value, cur)

    return _update(self, "fill_diagonal_", fill)


# ---- random fills ----------------------------------------------------------------------------


def _uniform(cur: Tensor, generator: Any) -> Tensor:
    from . import rand

    return rand(*cur.shape, dtype=_native.float64, generator=generator)


def cauchy_(
    self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator: Any = None
) -> Tensor:
    """Fills with draws from the Cauchy distribution ``median + sigma · tan(π (u − ½))``."""
    if not self.dtype.is_floating_point:
        raise DTypeError(
            "Cauchy distribution is a continuous probability distribution. dtype must be a "
            f"floating point but you specified {self.dtype}"
        )
    if not sigma > 0:
        raise ArgumentError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")

    def draw(cur: Tensor) -> Tensor:
        u = _uniform(cur, generator)
        return ((math.pi * (u - 0.5)).tan() * sigma + median).to(cur.dtype)

    return _update(self, "cauchy_", draw)


def geometric_(self: Tensor, p: float, *, generator: Any = None) -> Tensor:
    """Fills with the number of Bernoulli(``p``) trials up to the first success
    (1, 2, ...): ``ceil(log(1 − u) / log(1 − p))``."""
    if not 0 < p < 1:
        raise ArgumentError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    if self.dtype == _native.bool:
        raise DTypeError("geometric_ is not supported for bool tensors")

    def draw(cur: Tensor) -> Tensor:
        u = _uniform(cur, generator)
        trials = ((1.0 - u).log() / math.log1p(-p)).ceil().clamp(1.0, None)
        return trials.to(cur.dtype)

    return _update(self, "geometric_", draw)


def log_normal_(
    self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator: Any = None
) -> Tensor:
    """Fills with ``exp(N(mean, std²))`` draws."""
    from . import randn

    if not self.dtype.is_floating_point:
        raise DTypeError(f"log_normal_ expects a floating point tensor, got {self.dtype}")
    if not std > 0:
        raise ArgumentError(f"log_normal_ expects std > 0.0, but found std={std}")

    def draw(cur: Tensor) -> Tensor:
        normal = randn(*cur.shape, dtype=_native.float64, generator=generator)
        return (normal * std + mean).exp().to(cur.dtype)

    return _update(self, "log_normal_", draw)
