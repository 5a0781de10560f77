"""Batching rules of the primitives reached through private native entry points
(``_native._linear``, ``_conv``, ``_linalg_solve``...), which the Python wrappers call.

Each entry point is replaced by a function that runs the native op as before for plain
tensors and the primitive's rule (its ``BatchRule`` in the core's index) when an argument
is a ``BatchedTensor``. ``tests/test_vmap.py`` checks that every private name in the
index has a rule here.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _native
from ._batched import (
    BatchedTensor,
    _logical_ndim,
    _physical,
    _top_level,
    any_batched,
)
from ._batched_conv import rule as conv_rule
from ._errors import ArgumentError

__all__ = ["NoBatchingRule", "RULES"]


class NoBatchingRule(ArgumentError):
    """A primitive's rule does not cover this combination of batched arguments."""


def _is_mine(x: Any, level: int) -> bool:
    return isinstance(x, BatchedTensor) and x.level == level


def _wrap(out: Any, level: int) -> Any:
    if isinstance(out, (tuple, list)):
        return type(out)(BatchedTensor(o, level) for o in out)
    return BatchedTensor(out, level)


def leading_batch(native: Callable[..., Any]) -> Callable[..., Any]:
    """Ops that broadcast leading dimensions: pad the batched operands to a common
    logical rank (size-1 dimensions after the batch), call once."""

    def rule(*args: Any, **kwargs: Any) -> Any:
        operands = [a for a in (*args, *kwargs.values()) if hasattr(a, "shape")]
        level = _top_level(tuple(operands))
        rank = builtins.max(_logical_ndim(o, level) for o in operands)
        phys = [_physical(a, level, rank) for a in args]
        named = {k: _physical(v, level, rank) for k, v in kwargs.items()}
        # An outer level's batched operands remain: its rule runs next.
        call = rule if any_batched(*phys, *named.values()) else native
        return _wrap(call(*phys, **named), level)

    return rule


def _merge_first(x: BatchedTensor) -> tuple[Any, int]:
    """The batch merged into the first logical dimension: ``(B * n0, *rest)``."""
    shape = tuple(x.value.shape)
    if len(shape) < 2:
        raise NoBatchingRule(f"vmap: cannot merge the batch into a 0-d input {shape}")
    return x.value.reshape(shape[0] * shape[1], *shape[2:]), shape[0]


def _split_first(t: Any, size: int) -> Any:
    shape = tuple(t.shape)
    return t.reshape(size, shape[0] // size, *shape[1:])


def _linear(input: Any, weight: Any, bias: Any = None) -> Any:
    level = _top_level((input, weight, bias))
    if _is_mine(input, level) and not any(_is_mine(t, level) for t in (weight, bias)):
        call = _linear if any_batched(input.value, weight, bias) else _native_linear
        return BatchedTensor(call(input.value, weight, bias), level)
    from ._batched import matmul

    out = matmul(input, weight.transpose(-1, -2))
    return out if bias is None else out + bias


def _merge_rows(
    native: Callable[..., Any], name: str, spatial: Callable[..., int] | None = None
) -> Callable[..., Any]:
    """Ops over a fixed leading layout (conv, pooling): the batch becomes more samples.
    ``spatial(*args)`` gives the op's number of spatial dimensions when the native op also
    takes an unbatched ``(C, *spatial)`` input; then the vmap batch is the sample dim."""

    def rule(input: Any, *args: Any) -> Any:
        level = _top_level((input, *args))
        if not _is_mine(input, level) or any(_is_mine(a, level) for a in args):
            raise NoBatchingRule(
                f"vmap: {name} has a batching rule for a batched input only; a batched "
                "weight (or other operand) is not supported yet"
            )
        if spatial is not None and input.ndim == spatial(input, *args) + 1:
            merged, size = input.value, 0  # (C, ...) per example: the batch is N
        else:
            merged, size = _merge_first(input)
        out = (rule if any_batched(merged, *args) else native)(merged, *args)
        split = (lambda t: t) if size == 0 else (lambda t: _split_first(t, size))
        if isinstance(out, tuple):
            return tuple(BatchedTensor(split(o), level) for o in out)
        return BatchedTensor(split(out), level)

    return rule


def _max_unpool(input: Any, indices: Any, *args: Any) -> Any:
    """Values and their pooling indices (both usually batched) merged into more samples."""
    level = _top_level((input, indices))
    if not _is_mine(input, level):
        raise NoBatchingRule("vmap: max_unpool has a batching rule for a batched input only")
    unbatched = input.ndim == (1 if args[1] else 2) + 1  # (C, *spatial) per example
    if unbatched:
        merged, size = input.value, 0
    else:
        merged, size = _merge_first(input)
    if _is_mine(indices, level):
        where = indices.value if unbatched else _merge_first(indices)[0]
    else:
        batch = int(input.value.shape[0])
        where = indices.unsqueeze(0).expand(batch, *indices.shape)
        if not unbatched:
            where = where.reshape(batch * indices.shape[0], *indices.shape[1:])
    call = _max_unpool if any_batched(merged, where) else _native_max_unpool
    out = call(merged, where, *args)
    return BatchedTensor(out if unbatched else _split_first(out, size), level)


def _cross_entropy(rows: Any, **kwargs: Any) -> Any:
    level = _top_level((rows, *kwargs.values()))
    if not _is_mine(rows, level):
        raise NoBatchingRule("vmap: cross_entropy with only a batched target is not supported")
    merged, size = _merge_first(rows)
    named: dict[str, Any] = {}
    for key, value in kwargs.items():
        if isinstance(value, np.ndarray):
            named[key] = np.ascontiguousarray(np.tile(value, size))
        elif _is_mine(value, level):
            named[key] = _merge_first(value)[0]
        elif hasattr(value, "shape"):
            named[key] = value.unsqueeze(0).expand(size, *value.shape).reshape(
                size * value.shape[0], *value.shape[1:]
            )
        else:
            named[key] = value
    call = _cross_entropy if any_batched(merged, *named.values()) else _native_cross_entropy
    return BatchedTensor(_split_first(call(merged, **named), size), level)


def _joined(name: str, native: Callable[..., Any], extra: int) -> Callable[..., Any]:
    """cat/stack: unbatched tensors are broadcast over the batch, the axis shifts by one
    (``extra`` is 1 for stack's new axis)."""

    def rule(tensors: Any, dim: int = 0) -> Any:
        tensors = list(tensors)
        level = _top_level(tuple(tensors))
        size = next(t.value.shape[0] for t in tensors if _is_mine(t, level))
        phys = [
            t.value if _is_mine(t, level) else t.unsqueeze(0).expand(size, *t.shape)
            for t in tensors
        ]
        ndim = len(phys[0].shape) - 1 + extra
        if not -ndim <= dim < max(ndim, 1):
            from ._errors import AxisError

            raise AxisError(
                f"{name}: dimension {dim} is out of range for {ndim} dimension(s) "
                "(inside vmap, the batch dimension is not counted)"
            )
        shifted = dim % ndim + 1
        call = rule if any_batched(*phys) else native
        return BatchedTensor(call(phys, shifted), level)

    return rule


_native_linear = _native._linear
_native_cross_entropy = _native._cross_entropy
_native_max_unpool = _native._max_unpool

RULES: dict[str, Callable[..., Any]] = {
    "_linear": _linear,
    "_cross_entropy": _cross_entropy,
    "_conv": conv_rule(transposed=False),
    "_conv_transpose": conv_rule(transposed=True),
    "_max_pool": _merge_rows(_native._max_pool, "max_pool"),
    "_adaptive_max_pool": _merge_rows(
        _native._adaptive_max_pool, "adaptive_max_pool", lambda x, size, one_d: 2 - one_d
    ),
    "_max_unpool": _max_unpool,
    "_where": leading_batch(_native._where),
    "cat": _joined("cat", _native.cat, 0),
    "stack": _joined("stack", _native.stack, 1),
}
for _name in (
    "_scaled_dot_product_attention",
    "_linalg_solve",
    "_linalg_inv",
    "_linalg_det",
    "_linalg_slogdet",
    "_linalg_cholesky",
    "_linalg_solve_triangular",
    "_linalg_eigh",
    "_linalg_svd",
    "_linalg_qr",
):
    RULES[_name] = leading_batch(getattr(_native, _name))


def _dispatching(name: str, native: Callable[..., Any]) -> Callable[..., Any]:
    rule = RULES[name]

    @functools.wraps(native)
    def entry(*args: Any, **kwargs: Any) -> Any:
        if any_batched(*args, *kwargs.values()):
            return rule(*args, **kwargs)
        return native(*args, **kwargs)

    entry.batching_rule = rule  # type: ignore[attr-defined]
    return entry


def _dispatching_join(name: str, native: Callable[..., Any]) -> Callable[..., Any]:
    rule = RULES[name]

    @functools.wraps(native)
    def entry(tensors: Any, dim: int = 0) -> Any:
        if not isinstance(tensors, (list, tuple)):
            return native(tensors, dim)
        if any_batched(*tensors):
            return rule(tensors, dim)
        return native(tensors, dim)

    entry.batching_rule = rule  # type: ignore[attr-defined]
    return entry


def install() -> None:
    """Puts the dispatching entry points on the native module (once)."""
    for name in RULES:
        native = getattr(_native, name)
        if not hasattr(native, "batching_rule"):
            wrap = _dispatching_join if name in ("cat", "stack") else _dispatching
            setattr(_native, name, wrap(name, native))


def function_fallback(cls: Any, args: tuple[Any, ...]) -> Any:
    """A user ``autograd.Function`` under vmap: it has no batching rule, so ``apply``
    runs once per example and the outputs are stacked (with a warning: this is the one
    place vmap loops). The examples' graphs are recorded, so gradients flow."""
    import warnings

    level = _top_level(args)
    size = next(a.value.shape[0] for a in args if _is_mine(a, level))
    warnings.warn(
        f"vmap: {cls.__name__} (an autograd.Function) has no batching rule; running "
        f"it once per example ({size} calls)",
        stacklevel=3,
    )
    rows = [
        cls.apply(*(a.value[k] if _is_mine(a, level) else a for a in args))
        for k in range(size)
    ]
    if isinstance(rows[0], (tuple, list)):
        columns = list(zip(*rows))
        return tuple(BatchedTensor(_stacked(c), level) for c in columns)
    return BatchedTensor(_stacked(rows), level)


def _stacked(rows: Any) -> Any:
    from . import stack

    if any_batched(*rows):
        raise NoBatchingRule(
            "vmap: the looping fallback of an autograd.Function does not nest"
        )
    return stack(list(rows), 0)
