"""Selections by index with PyTorch's names and signatures (issue 11): ``gather``,
``scatter*``, ``index_*``, ``masked_*``, ``take*`` (and, from ``_counting.py``, the
integer-valued ``nonzero``, ``unique``, ``bincount``, ``histc``, ``searchsorted``,
``bucketize``).

Every differentiable one reduces to flat positions and the two primitives of
``rust/core/src/ops/gather.rs``: ``_take`` (read at positions) and ``_put_add`` (add
at positions), each the other's VJP, plus ``where``. The positions are computed here
with NumPy from integer index tensors, which carry no gradient."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _native
from ._creation import full, tensor
from ._errors import ArgumentError, AxisError, DTypeError, ShapeError
from ._native import Tensor

__all__ = [
    "bincount",
    "bucketize",
    "gather",
    "histc",
    "index_add",
    "index_copy",
    "index_fill",
    "index_select",
    "masked_fill",
    "masked_select",
    "nonzero",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "searchsorted",
    "take",
    "take_along_dim",
    "unique",
]

_INTEGER = "iu"
_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _dim(input: Tensor, dim: int, op: str) -> int:
    n = max(input.ndim, 1)
    if not -n <= dim < n:
        raise AxisError(
            f"{op}: dim {dim} is out of range for a tensor of {input.ndim} dimensions "
            f"(shape {tuple(input.shape)})"
        )
    return dim % n


def _index(index: Any, op: str) -> Tensor:
    """An integer index as a tensor (lists and NumPy arrays accepted)."""
    if not isinstance(index, Tensor):
        array = np.asarray(index)
        if array.dtype.kind not in _INTEGER and array.size:
            raise DTypeError(f"{op}: index must hold integers, got dtype {array.dtype}")
        index = tensor(array.astype(np.int64))
    if index.is_floating_point() or index.dtype == _native.bool:
        raise DTypeError(f"{op}: index must be an integer tensor, got {index.dtype}")
    return index


def _mask(input: Tensor, mask: Any, op: str) -> Tensor:
    """A bool mask that broadcasts to ``input``'s shape."""
    if not isinstance(mask, Tensor):
        mask = tensor(np.asarray(mask))
    if mask.dtype != _native.bool:
        raise DTypeError(f"{op}: mask must be a bool tensor, got {mask.dtype}")
    try:
        np.broadcast_shapes(tuple(mask.shape), tuple(input.shape))
    except ValueError:
        raise ShapeError(
            f"{op}: the mask of shape {tuple(mask.shape)} does not broadcast with the "
            f"tensor of shape {tuple(input.shape)}"
        ) from None
    return mask


def _numpy_index(index: Tensor) -> np.ndarray:
    return index.__array__(copy=True).astype(np.int64, copy=False)


def gather(input: Tensor, dim: int, index: Any, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[i][index[i][j]]`` for ``dim=1`` (a gather)."""
    return input.gather(dim, _index(index, "gather"), sparse_grad=sparse_grad)


def take(input: Tensor, index: Any) -> Tensor:
    """Elements of the flattened ``input`` at ``index`` (shape of ``index``)."""
    return input.reshape(-1)[_index(index, "take")]


def take_along_dim(input: Tensor, indices: Any, dim: int | None = None) -> Tensor:
    """Values at ``indices`` along ``dim`` (of the flattened tensor for ``dim=None``);
    ``input`` and ``indices`` broadcast off ``dim``."""
    indices = _index(indices, "take_along_dim")
    if dim is None:
        return input.reshape(-1).gather(0, indices.reshape(-1))
    dim = _dim(input, dim, "take_along_dim")
    if indices.ndim != input.ndim:
        raise ShapeError(
            f"take_along_dim: input of shape {tuple(input.shape)} and indices of shape "
            f"{tuple(indices.shape)} must have the same number of dimensions"
        )
    shape_in, shape_ix = list(input.shape), list(indices.shape)
    a, b = shape_in.copy(), shape_ix.copy()
    a[dim] = b[dim] = 1
    try:
        common = list(np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        raise ShapeError(
            f"take_along_dim: input of shape {tuple(shape_in)} and indices of shape "
            f"{tuple(shape_ix)} do not broadcast off dimension {dim}"
        ) from None
    input = input.expand(
        *[shape_in[dim] if d == dim else n for d, n in enumerate(common)]
    )
    indices = indices.expand(
        *[shape_ix[dim] if d == dim else n for d, n in enumerate(common)]
    )
    return input.gather(dim, indices)


def index_select(input: Tensor, dim: int, index: Any) -> Tensor:
    """The entries of ``input`` at the 1-d ``index`` along ``dim``."""
    index = _index(index, "index_select")
    if index.ndim > 1:
        raise ShapeError(
            f"index_select: index must be 1-d, got shape {tuple(index.shape)}"
        )
    if input.ndim == 0:
        return input.reshape(1)[index.reshape(-1)].reshape(())
    dim = _dim(input, dim, "index_select")
    return input[(slice(None),) * dim + (index.reshape(-1),)]


def masked_fill(input: Tensor, mask: Any, value: Any) -> Tensor:
    """``value`` where ``mask`` is true, ``input`` elsewhere (``input``'s dtype)."""
    mask = _mask(input, mask, "masked_fill")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ShapeError(
                f"masked_fill: value must be a number or a 0-d tensor, got shape "
                f"{tuple(value.shape)}"
            )
        value = value.to(input.dtype)
    elif not input.dtype.is_floating_point:
        value = tensor(_fits(value, input.dtype, "masked_fill"), dtype=input.dtype)
    return _native._where(mask, value, input)


def _fits(value: Any, dtype: Any, op: str, *, wrap_ints: bool = False) -> Any:
    """``value`` as an element of the integer or bool ``dtype``, as PyTorch converts a
    scalar: a float must lie within the dtype's range and is truncated toward zero; an int
    must too, unless ``wrap_ints`` (the factors of arithmetic, which wrap)."""
    if dtype == _native.bool:
        return bool(value)
    name = str(dtype).removeprefix("tapegrad.")
    info = np.iinfo(np.dtype(name))
    if isinstance(value, (bool, int, np.integer)):
        whole = int(value)
        if wrap_ints:
            return int(np.array(whole & 0xFFFF_FFFF_FFFF_FFFF, np.uint64).astype(name))
        fits = info.min <= whole <= info.max
        number: float = whole
    else:
        number = float(value)
        fits = bool(np.isfinite(number)) and info.min <= number <= info.max
    if not fits:
        raise ArgumentError(
            f"{op}: value {value!r} cannot be converted to dtype {name} without overflow"
        )
    return int(number)


def masked_select(input: Tensor, mask: Any) -> Tensor:
    """The elements where ``mask`` is true (both broadcast), as a 1-d tensor."""
    mask = _mask(input, mask, "masked_select")
    shape = np.broadcast_shapes(tuple(mask.shape), tuple(input.shape))
    return input.expand(*shape)[mask.expand(*shape)]


def _scatter_parts(
    input: Tensor, dim: int, index: Any, src: Any, op: str
) -> tuple[Tensor, np.ndarray, Tensor]:
    """``(index, target positions into input, src values in index order)``."""
    index = _index(index, op)
    if input.ndim == 0:
        input = input.reshape(1)
    dim = _dim(input, dim, op)
    if not isinstance(src, Tensor):
        src = full(tuple(index.shape), src, dtype=input.dtype)
    elif src.dtype != input.dtype:
        raise DTypeError(
            f"{op}: src has dtype {src.dtype} but the tensor has dtype {input.dtype}; "
            "they must match"
        )
    if index.ndim != input.ndim or index.ndim != src.ndim:
        raise ShapeError(
            f"{op}: index of shape {tuple(index.shape)}, src of shape "
            f"{tuple(src.shape)} and the tensor of shape {tuple(input.shape)} must "
            "have "
            "the same number of dimensions"
        )
    if any(i > s for i, s in zip(index.shape, src.shape)):
        raise ShapeError(
            f"{op}: index of shape {tuple(index.shape)} is larger than src of shape "
            f"{tuple(src.shape)}"
        )
    targets = _native._positions_along(op, list(input.shape), dim, index, True)
    sources = _native._positions_along(op, list(src.shape), dim, index, False)
    values = _native._take(src, sources, list(index.shape))
    return index, targets, values


def scatter(
    input: Tensor,
    dim: int,
    index: Any,
    src: Any = None,
    *,
    value: Any = None,
    reduce: str | None = None,
) -> Tensor:
    """``input`` with ``src`` (or ``value``) written at ``index`` along ``dim``.

    Where ``index`` repeats a position, the last write wins (PyTorch leaves it
    unspecified). ``reduce="add"|"multiply"`` is ``scatter_reduce``'s ``sum``/``prod``.
    """
    if (src is None) == (value is None):
        raise ArgumentError("scatter: give exactly one of src and value")
    src = value if src is None else src
    if reduce is not None:
        modes = {"add": "sum", "multiply": "prod"}
        if reduce not in modes:
            raise ArgumentError(
                f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}"
            )
        return scatter_reduce(
            input, dim, index, _full_src(input, index, src), modes[reduce]
        )
    _, targets, values = _scatter_parts(input, dim, index, src, "scatter")
    if not len(targets):
        return input.clone()
    numel = int(np.prod(input.shape, dtype=np.int64))
    # The last write to each position wins: keep the last occurrence of each target.
    reverse = targets[::-1]
    kept, first_in_reverse = np.unique(reverse, return_index=True)
    last = len(targets) - 1 - first_in_reverse
    read = np.zeros(numel, np.int64)
    read[kept] = last
    hit = np.zeros(numel, bool)
    hit[kept] = True
    written = _native._take(values.reshape(-1), read, list(input.shape))
    return _native._where(tensor(hit.reshape(input.shape)), written, input)


def _full_src(input: Tensor, index: Any, src: Any) -> Tensor:
    if isinstance(src, Tensor):
        return src
    return full(tuple(_index(index, "scatter").shape), src, dtype=input.dtype)


def scatter_add(input: Tensor, dim: int, index: Any, src: Tensor) -> Tensor:
    """``input`` plus ``src``'s values at ``index`` along ``dim`` (repeats add up)."""
    _, targets, values = _scatter_parts(input, dim, index, src, "scatter_add")
    return input + _native._put_add(values, targets, list(input.shape))


def scatter_reduce(
    input: Tensor,
    dim: int,
    index: Any,
    src: Tensor,
    reduce: str,
    *,
    include_self: bool = True,
) -> Tensor:
    """``src``'s values reduced into ``input`` at ``index`` along ``dim``.

    ``reduce`` is ``"sum"``, ``"prod"``, ``"mean"``, ``"amax"`` or ``"amin"``;
    positions no index points at keep ``input``'s value; ``include_self=False``
    leaves ``input``'s value out of the reduction where some index points. The
    gradient of ``amax``/``amin`` is shared evenly between the tied elements, as
    PyTorch's is.
    """
    if reduce not in _REDUCTIONS:
        raise ArgumentError(
            f"scatter_reduce: reduce must be one of {', '.join(_REDUCTIONS)}, "
            f"got {reduce!r}"
        )
    _, targets, values = _scatter_parts(input, dim, index, src, "scatter_reduce")
    shape = list(input.shape)
    numel = int(np.prod(shape, dtype=np.int64))
    counts = np.bincount(targets, minlength=numel)
    if not input.dtype.is_floating_point:
        if reduce == "mean" and input.dtype == _native.bool:
            raise DTypeError("scatter_reduce: reduce='mean' is not implemented for dtype bool")
        return _scatter_reduce_exact(input, targets, values, counts, reduce, include_self)
    hit = tensor((counts > 0).reshape(shape))
    flat_values = values.reshape(-1)
    if reduce in ("sum", "mean"):
        total = _native._put_add(flat_values, targets, shape)
        if include_self:
            total = total + input
        if reduce == "sum":
            return _native._where(hit, total, input)
        divisor = tensor(
            np.maximum(counts + include_self, 1).reshape(shape), dtype=input.dtype
        )
        return _native._where(hit, total / divisor, input)
    if reduce == "prod":
        return _scatter_prod(input, targets, flat_values, hit, include_self)
    return _scatter_extreme(input, targets, flat_values, counts, reduce, include_self)


# NumPy's unbuffered `ufunc.at` per reduction; bools reduce logically, as PyTorch's.
_EXACT = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum,
          "amin": np.minimum}
_LOGICAL = {"sum": np.logical_or, "mean": np.logical_or, "prod": np.logical_and,
            "amax": np.logical_or, "amin": np.logical_and}


def _scatter_reduce_exact(
    input: Tensor,
    targets: np.ndarray,
    values: Tensor,
    counts: np.ndarray,
    reduce: str,
    include_self: bool,
) -> Tensor:
    # Integers and bools carry no gradient: reduce in NumPy, exactly (integers wrap as
    # PyTorch's do; the integer mean rounds down, as PyTorch's).
    out = np.array(input.numpy(), copy=True).reshape(-1)
    src = np.asarray(values.numpy()).reshape(-1)
    is_bool = out.dtype == np.bool_
    ufunc = (_LOGICAL if is_bool else _EXACT)[reduce]
    hit = counts > 0
    if not include_self:
        out[hit] = ufunc.identity if ufunc.identity is not None else (
            np.iinfo(out.dtype.type).min  # type: ignore[type-var]
            if reduce == "amax"
            else np.iinfo(out.dtype.type).max  # type: ignore[type-var]
        )
    with np.errstate(over="ignore"):
        ufunc.at(out, targets, src)
        if reduce == "mean" and not is_bool:
            divisor = counts + include_self
            out[hit] = np.floor_divide(out[hit], divisor[hit].astype(out.dtype))
    return tensor(out.reshape(input.shape), dtype=input.dtype)


def _scatter_prod(
    input: Tensor, targets: np.ndarray, values: Tensor, hit: Tensor, include_self: bool
) -> Tensor:
    # Multiply in each position's factors one rank at a time (the r-th value sent to a
    # position, in index order): exact products, and differentiable to any order.
    shape = list(input.shape)
    numel = int(np.prod(shape, dtype=np.int64))
    order = np.argsort(targets, kind="stable")
    sorted_targets = targets[order]
    starts = np.searchsorted(sorted_targets, sorted_targets, side="left")
    rank = np.empty(len(targets), np.int64)
    rank[order] = np.arange(len(targets)) - starts
    out = input if include_self else _native._where(hit, 1.0, input)
    for r in range(int(rank.max()) + 1 if len(rank) else 0):
        members = np.nonzero(rank == r)[0]
        read = np.zeros(numel, np.int64)
        read[targets[members]] = members
        present = np.zeros(numel, bool)
        present[targets[members]] = True
        factor = _native._take(values, read, shape)
        out = _native._where(tensor(present.reshape(shape)), out * factor, out)
    return out


def _scatter_extreme(
    input: Tensor,
    targets: np.ndarray,
    values: Tensor,
    counts: np.ndarray,
    reduce: str,
    include_self: bool,
) -> Tensor:
    # Where an index points: extreme (a constant) + Σ weight · (element - extreme). The
    # differences are exactly 0 for the tied elements, so the value is exact, and each
    # tied element gets grad / (number of ties), like PyTorch's. Where the extreme is
    # ±inf (inf - inf is NaN), Σ weight · element instead: a sum of equal infinities.
    # Elsewhere the result is `input` itself.
    shape = list(input.shape)
    ufunc = np.maximum if reduce == "amax" else np.minimum
    base = input.detach().__array__(copy=True).reshape(-1).astype(np.float64)
    picked = values.detach().__array__(copy=True).reshape(-1).astype(np.float64)
    hit = counts > 0
    extreme = base.copy()
    if not include_self:
        extreme[hit] = -np.inf if reduce == "amax" else np.inf
    with np.errstate(invalid="ignore"):  # NaN propagates, as in PyTorch
        ufunc.at(extreme, targets, picked)
    infinite = np.isinf(extreme)
    ties_src = picked == extreme[targets]
    ties_self = hit & (base == extreme) & include_self
    ties = np.bincount(targets, weights=ties_src, minlength=base.size) + ties_self
    ties = np.maximum(ties, 1)
    dtype = input.dtype
    constant = tensor(extreme.reshape(shape), dtype=dtype)
    weight_src = tensor(np.where(ties_src, 1.0 / ties[targets], 0.0), dtype=dtype)
    weight_self = tensor(
        np.where(ties_self, 1.0 / ties, 0.0).reshape(shape), dtype=dtype
    )
    where, mask = _native._where, tensor
    differences = (
        values - _native._take(constant, targets, [len(targets)])
    ) * weight_src
    differences_self = (input - constant) * weight_self
    finite_src, finite_self = ties_src & ~infinite[targets], ties_self & ~infinite
    infinite_src, infinite_self = ties_src & infinite[targets], ties_self & infinite
    from_src = where(mask(finite_src), differences, 0.0)
    from_self = where(mask(finite_self.reshape(shape)), differences_self, 0.0)
    reduced = constant + _native._put_add(from_src, targets, shape) + from_self
    if infinite.any():
        from_src = where(mask(infinite_src), values * weight_src, 0.0)
        from_self = where(mask(infinite_self.reshape(shape)), input * weight_self, 0.0)
        at_infinity = _native._put_add(from_src, targets, shape) + from_self
        reduced = where(mask(infinite.reshape(shape)), at_infinity, reduced)
    return where(mask(hit.reshape(shape)), reduced, input)


def _along(input: Tensor, dim: int, index: Tensor, source: Tensor, op: str) -> Tensor:
    """``index`` (1-d) spread over ``source``'s shape along ``dim``."""
    if index.ndim > 1:
        raise ShapeError(f"{op}: index must be 1-d, got shape {tuple(index.shape)}")
    index = index.reshape(-1)
    expected = list(input.shape)
    expected[dim] = index.shape[0]
    if list(source.shape) != expected:
        raise ShapeError(
            f"{op}: source of shape {tuple(source.shape)} does not match the tensor of "
            f"shape {tuple(input.shape)} with {index.shape[0]} indices along dim {dim} "
            f"(expected {tuple(expected)})"
        )
    view = [1] * input.ndim
    view[dim] = -1
    return index.reshape(*view).expand(*source.shape)


def index_add(
    input: Tensor, dim: int, index: Any, source: Tensor, *, alpha: Any = 1
) -> Tensor:
    """``input`` with ``alpha · source`` added at ``index`` along ``dim``."""
    index = _index(index, "index_add")
    dim = _dim(input, dim, "index_add")
    full = _along(input, dim, index, source, "index_add")
    if not input.dtype.is_floating_point:
        alpha = _fits(alpha, input.dtype, "index_add", wrap_ints=True)
    return scatter_add(input, dim, full, source * alpha if alpha != 1 else source)


def index_copy(input: Tensor, dim: int, index: Any, source: Tensor) -> Tensor:
    """``input`` with ``source``'s entries written at ``index`` along ``dim``."""
    index = _index(index, "index_copy")
    dim = _dim(input, dim, "index_copy")
    return scatter(input, dim, _along(input, dim, index, source, "index_copy"), source)


def index_fill(input: Tensor, dim: int, index: Any, value: Any) -> Tensor:
    """``input`` with ``value`` written at ``index`` along ``dim``."""
    index = _index(index, "index_fill")
    dim = _dim(input, dim, "index_fill")
    size = input.shape[dim] if input.ndim else 1
    chosen = _numpy_index(index).reshape(-1)
    bad = (chosen < -size) | (chosen >= size)
    if bad.any():
        raise AxisError(
            f"index_fill: index {int(chosen[bad][0])} is out of range for dimension "
            f"{dim} of size {size}"
        )
    mask = np.zeros(size, bool)
    mask[chosen] = True
    view = [1] * input.ndim
    if input.ndim:
        view[dim] = size
    return masked_fill(input, tensor(mask.reshape(view)), value)


# The integer-valued helpers live in _counting.py; imported here so that the Tensor
# methods the binding dispatches to this module find them.
from ._counting import (  # noqa: E402
    bincount,
    bucketize,
    histc,
    nonzero,
    searchsorted,
    unique,
)
