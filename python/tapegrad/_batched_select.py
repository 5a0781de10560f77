"""Batching rules for the selection, sorting and in-place methods of ``BatchedTensor``.

These primitives take integer index tensors besides the data (``gather``, ``scatter*``,
``index_*``, ``take*``), return values with indices (``sort``, ``topk``, ``median``...),
or write into their receiver (``x[i] = v``, ``add_``, ``copy_``...). Their rule is the
shift-axes one with one addition: every operand is *lifted* to carry the batch dimension
explicitly (an unbatched index is expanded over the batch, a view, no copy), because
gather and scatter pair elements of their operands position by position rather than by
broadcasting. Ops whose result shape depends on the values (``masked_select``,
``bincount``) have no rule, as in ``torch.func``: their size would differ per example.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from ._batched import (
    BatchedTensor,
    _logical_ndim,
    _physical,
    _shift_dim,
    _top_level,
)
from ._errors import GraphError

__all__ = ["RULE_NAMES", "install"]

RULE_NAMES: set[str] = set()  # the methods given a rule here (install fills it)


def _mine(x: Any, level: int) -> bool:
    return isinstance(x, BatchedTensor) and x.level == level


def _batch_size(operands: tuple[Any, ...], level: int) -> int:
    return next(int(o.value.shape[0]) for o in operands if _mine(o, level))


def _lift(x: Any, level: int, size: int) -> Any:
    """``x`` with the level's batch dimension first: its value when batched at ``level``,
    else ``x`` expanded over the batch (a stride-0 view)."""
    if _mine(x, level):
        return x.value
    return x.unsqueeze(0).expand(size, *x.shape)


def _no_rule(name: str, why: str) -> Callable[..., Any]:
    def rule(self: Any, *args: Any, **kwargs: Any) -> Any:
        from ._batched_native import NoBatchingRule

        raise NoBatchingRule(f"vmap: {name} has no batching rule: {why}")

    rule.__name__ = name
    return rule


# ---- gather and scatter: every operand lifted, the dim shifted past the batch -------------


def _gather(x: Any, dim: int, index: Any, *, sparse_grad: bool = False) -> BatchedTensor:
    level = _top_level((x, index))
    size = _batch_size((x, index), level)
    d = _shift_dim(dim, _logical_ndim(x, level), "gather")
    out = _lift(x, level, size).gather(d, _lift(index, level, size))
    return BatchedTensor(out, level)


def _scatter_like(name: str) -> Callable[..., Any]:
    """``scatter``/``scatter_add``/``scatter_reduce``: (dim, index, src, ...)."""

    def rule(x: Any, dim: int, index: Any, *args: Any, **kwargs: Any) -> BatchedTensor:
        operands = (x, index, *args, *kwargs.values())
        level = _top_level(operands)
        size = _batch_size(operands, level)
        d = _shift_dim(dim, _logical_ndim(x, level), name)
        lifted = [_lift(a, level, size) if hasattr(a, "shape") else a for a in args]
        named = {k: _lift(v, level, size) if hasattr(v, "shape") else v
                 for k, v in kwargs.items()}  # fmt: skip
        target = _lift(x, level, size)
        out = getattr(target, name)(d, _lift(index, level, size), *lifted, **named)
        return BatchedTensor(out, level)

    rule.__name__ = name
    return rule


def _along_index(index: Any, level: int, like: Any, d: int) -> Any:
    """A batched 1-D ``index`` (physical ``(B, k)``) spread to ``like``'s physical shape,
    ``k`` along ``d``: the scatter/gather index that ``index_*`` ops mean."""
    value = index.value
    shape = [1] * len(like.shape)
    shape[0], shape[d] = value.shape[0], value.shape[1]
    return value.reshape(shape).expand(*like.shape)


def _index_select(x: Any, dim: int, index: Any) -> BatchedTensor:
    level = _top_level((x, index))
    size = _batch_size((x, index), level)
    d = _shift_dim(dim, _logical_ndim(x, level), "index_select")
    target = _lift(x, level, size)
    if not _mine(index, level):
        return BatchedTensor(target.index_select(d, index), level)
    wanted = list(target.shape)
    wanted[d] = index.value.shape[1]
    spread = _along_index(index, level, target.new_empty(wanted), d)
    return BatchedTensor(target.gather(d, spread), level)


def _index_add(x: Any, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> BatchedTensor:
    operands = (x, index, source)
    level = _top_level(operands)
    size = _batch_size(operands, level)
    d = _shift_dim(dim, _logical_ndim(x, level), "index_add")
    target, src = _lift(x, level, size), _lift(source, level, size)
    if not _mine(index, level):
        return BatchedTensor(target.index_add(d, index, src, alpha=alpha), level)
    spread = _along_index(index, level, src, d)
    return BatchedTensor(target.scatter_add(d, spread, src * alpha), level)


def _index_copy(x: Any, dim: int, index: Any, source: Any) -> BatchedTensor:
    operands = (x, index, source)
    level = _top_level(operands)
    size = _batch_size(operands, level)
    d = _shift_dim(dim, _logical_ndim(x, level), "index_copy")
    target, src = _lift(x, level, size), _lift(source, level, size)
    if not _mine(index, level):
        return BatchedTensor(target.index_copy(d, index, src), level)
    return BatchedTensor(target.scatter(d, _along_index(index, level, src, d), src), level)


def _take(x: Any, index: Any) -> BatchedTensor:
    level = _top_level((x, index))
    size = _batch_size((x, index), level)
    flat = _lift(x, level, size).reshape(size, -1)
    positions = _lift(index, level, size)
    shape = tuple(positions.shape)
    positions = positions.reshape(size, -1)
    # take counts negative positions from the end, gather does not
    positions = positions.where(positions >= 0, positions + flat.shape[1])
    return BatchedTensor(flat.gather(1, positions).reshape(shape), level)


def _take_along_dim(x: Any, indices: Any, dim: int | None = None) -> BatchedTensor:
    level = _top_level((x, indices))
    size = _batch_size((x, indices), level)
    if dim is None:
        flat = _lift(x, level, size).reshape(size, -1)
        return BatchedTensor(
            flat.take_along_dim(_lift(indices, level, size).reshape(size, -1), 1), level
        )
    rank = builtins.max(_logical_ndim(x, level), _logical_ndim(indices, level))
    d = _shift_dim(dim, rank, "take_along_dim")

    def padded(t: Any) -> Any:
        if _mine(t, level):
            return _physical(t, level, rank)
        return t.reshape((1,) * (rank + 1 - len(t.shape)) + tuple(t.shape))

    return BatchedTensor(padded(x).take_along_dim(padded(indices), d), level)


# ---- values with indices along a dim -------------------------------------------------------


def _map(out: Any, f: Callable[[Any], Any]) -> Any:
    """``f`` on a tensor, or on each part of a (named) tuple of them."""
    if isinstance(out, tuple):
        return type(out)(*(f(o) for o in out))
    return f(out)


def _along_dim(name: str, dim_at: int, default: int | None) -> Callable[..., Any]:
    """``sort``/``topk``/``kthvalue``/``median``/``mode``/``cummax``...: the dim (the
    ``dim_at``-th argument or ``dim=``) shifts past the batch; every output is batched.
    ``default=None`` (``median``) reduces over all elements when no dim is given."""

    def rule(x: BatchedTensor, *args: Any, **kwargs: Any) -> Any:
        args_list = list(args)
        if "dim" in kwargs:
            dim = kwargs.pop("dim")
        elif len(args_list) > dim_at:
            dim = args_list.pop(dim_at)
        else:
            dim = default
        value = x.value
        if dim is None:  # over every element, as the unbatched op
            flat = value.reshape(value.shape[0], -1)
            out = getattr(flat, name)(1, *args_list, **kwargs)
            if kwargs.get("keepdim"):
                out = _map(out, lambda o: o.reshape(o.shape[0], *([1] * x.ndim)))
            if isinstance(out, tuple):  # median(): the value alone
                out = out[0]
            return BatchedTensor(out, x.level)
        if x.ndim == 0:  # a 0-d tensor's only axis is its (size-1) self
            value = value.unsqueeze(1)
            out = getattr(value, name)(*args_list[:dim_at], 1, *args_list[dim_at:], **kwargs)
            out = _map(out, lambda o: o.squeeze(1) if len(o.shape) == 2 else o)
            return _map(out, lambda o: BatchedTensor(o, x.level))
        d = _shift_dim(dim, x.ndim, name)
        out = getattr(value, name)(*args_list[:dim_at], d, *args_list[dim_at:], **kwargs)
        return _map(out, lambda o: BatchedTensor(o, x.level))

    rule.__name__ = name
    return rule


def _extreme(name: str) -> Callable[..., Any]:
    """``max``/``min``: over everything, along a dim (values and indices), or elementwise
    against another tensor."""
    along = _along_dim(name, 0, None)

    def rule(x: BatchedTensor, *args: Any, **kwargs: Any) -> Any:
        other = args[0] if args else kwargs.get("other")
        if hasattr(other, "shape"):
            from ._batched import elementwise

            return elementwise("maximum" if name == "max" else "minimum", x, other)
        if not args and "dim" not in kwargs:  # the value over every element
            return BatchedTensor(getattr(x.value.reshape(x.value.shape[0], -1), "amax"
                                         if name == "max" else "amin")(1), x.level)
        return along(x, *args, **kwargs)

    rule.__name__ = name
    return rule


def _as_strided(
    x: BatchedTensor, size: Any, stride: Any, storage_offset: int | None = None
) -> BatchedTensor:
    """Each example's window over its own elements: storage offsets count from the
    example's first element (each example is made contiguous first)."""
    value = x.value.contiguous()
    start = value.storage_offset() + (storage_offset or 0)
    out = value.as_strided(
        (value.shape[0], *size), (value.stride(0), *stride), start
    )
    return BatchedTensor(out, x.level)


# ---- writes into a batched receiver --------------------------------------------------------


def _receiver(x: Any, others: tuple[Any, ...], name: str) -> int:
    """The level of an in-place op; the receiver must be batched there, since writing a
    different value per example into one unbatched tensor is impossible."""
    level = _top_level((x, *others))
    if not _mine(x, level):
        raise GraphError(
            f"vmap: {name} is not possible because the tensor written to is not batched "
            "while an argument is: it cannot hold a different value per example. "
            "Use the out-of-place op instead."
        )
    return level


def _setitem(x: Any, key: Any, value: Any) -> None:
    keys = key if isinstance(key, tuple) else (key,)
    if any(isinstance(k, BatchedTensor) for k in keys):
        from ._batched_native import NoBatchingRule

        raise NoBatchingRule("vmap: x[index] = v with a batched index tensor is not supported")
    level = _receiver(x, (value,), "x[index] = v")
    phys = (slice(None), *keys)
    rank = len(x.value[phys].shape) - 1
    x.value[phys] = _physical(value, level, rank) if hasattr(value, "shape") else value


def _in_place(name: str) -> Callable[..., Any]:
    """``add_``, ``mul_``, ``clamp_``, ``copy_``...: the elementwise rule written into the
    receiver's physical tensor (its batch dimension included)."""

    def rule(x: Any, *args: Any, **kwargs: Any) -> Any:
        operands = tuple(a for a in (*args, *kwargs.values()) if hasattr(a, "shape"))
        level = _receiver(x, operands, name)
        rank = x.ndim
        if builtins.any(_logical_ndim(o, level) > rank for o in operands):
            from ._errors import ShapeError

            raise ShapeError(
                f"vmap: {name}: an argument has more dimensions than the tensor written "
                f"to (logical shape {tuple(x.shape)})"
            )
        phys = [_physical(a, level, rank) for a in args]
        named = {k: _physical(v, level, rank) for k, v in kwargs.items()}
        getattr(x.value, name)(*phys, **named)
        return x

    rule.__name__ = name
    return rule


_IN_PLACE = (
    "add_ sub_ mul_ div_ pow_ clamp_ clamp_min_ clamp_max_ clip_ copy_ zero_ fill_ "
    "masked_fill_ lerp_ addcmul_ addcdiv_ neg_ abs_ exp_ log_ sqrt_ sin_ cos_ tanh_ "
    "sigmoid_ relu_ floor_ ceil_ round_ trunc_ reciprocal_ square_ expm1_ log1p_ "
    "__iadd__ __isub__ __imul__ __itruediv__"
).split()


def install() -> None:
    """Puts the rules on ``BatchedTensor``."""
    rules: dict[str, Callable[..., Any]] = {
        "gather": _gather,
        "scatter": _scatter_like("scatter"),
        "scatter_add": _scatter_like("scatter_add"),
        "scatter_reduce": _scatter_like("scatter_reduce"),
        "index_select": _index_select,
        "index_add": _index_add,
        "index_copy": _index_copy,
        "take": _take,
        "take_along_dim": _take_along_dim,
        "masked_select": _no_rule(
            "masked_select", "its result's length depends on the mask, per example"
        ),
        "bincount": _no_rule("bincount", "its result's length depends on the values"),
        "sort": _along_dim("sort", 0, -1),
        "topk": _along_dim("topk", 1, -1),
        "kthvalue": _along_dim("kthvalue", 1, -1),
        "median": _along_dim("median", 0, None),
        "nanmedian": _along_dim("nanmedian", 0, None),
        "mode": _along_dim("mode", 0, -1),
        "cummax": _along_dim("cummax", 0, -1),
        "cummin": _along_dim("cummin", 0, -1),
        "argsort": _along_dim("argsort", 0, -1),
        "argmax": _along_dim("argmax", 0, None),
        "argmin": _along_dim("argmin", 0, None),
        "max": _extreme("max"),
        "min": _extreme("min"),
        "as_strided": _as_strided,
        "__setitem__": _setitem,
    }
    for name in _IN_PLACE:
        rules[name] = _in_place(name)
    for name, rule in rules.items():
        setattr(BatchedTensor, name, rule)
    RULE_NAMES.update(rules)
