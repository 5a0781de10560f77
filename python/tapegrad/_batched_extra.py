"""Batching rules of composite Tensor methods (defined in Python, over the primitives).

Most composites need no rule of their own: under vmap the method runs its Python
definition on the ``BatchedTensor``, and each primitive it calls is batched by its rule
(what ``torch.func`` does for its ``CompositeImplicitAutograd`` ops). ``install`` gives
``BatchedTensor`` one such method per composite Tensor method; the composites below have a
dedicated rule instead, because their definition reads values in NumPy (``quantile``) or
because one call on the physical tensor does the work of several batched ones
(``select``, ``unfold``, ``inner``, ``renorm``). ``tests/test_vmap_ops.py`` runs every op
of the OpSpec table under vmap against a loop of unbatched calls.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

from ._batched import BatchedTensor, _shift_dim, _top_level, any_batched
from ._native import Tensor

__all__ = ["COMPOSITE_MODULES", "composite_function", "install"]

# The Python modules whose functions the native composite Tensor methods call (the
# `composite_methods!`/`selection_methods!` blocks of rust/python/src; the test checks
# that every name found here is found in the module the binding names).
COMPOSITE_MODULES = (
    "_shapes", "_elementwise", "_logical", "_stats", "_scans", "_products",
    "_math_aliases", "_math_extra", "_math_writes", "_surface", "_selection",
    "_quantiles", "_inplace", "_legacy",
)  # fmt: skip


def _mine(x: Any, level: int) -> bool:
    return isinstance(x, BatchedTensor) and x.level == level


# ---- views: the dim moves past the batch --------------------------------------------------


def _select(x: BatchedTensor, dim: int, index: int) -> BatchedTensor:
    from ._surface import select

    if x.ndim == 0:
        select(x.value.reshape(-1)[0], dim, index)  # raises select's 0-d error
    d = _shift_dim(dim, x.ndim, "select")
    size = x.value.shape[d]
    if not -size <= index < size:
        from ._errors import AxisError

        raise AxisError(
            f"select(): index {index} out of range for tensor of size {list(x.shape)} "
            f"at dimension {d - 1}"
        )
    return BatchedTensor(x.value.select(d, index), x.level)


def _unfold(x: BatchedTensor, dimension: int, size: int, step: int) -> BatchedTensor:
    if x.ndim == 0:  # a 0-d tensor unfolds as its one-element self
        value = x.value.unsqueeze(1).unfold(1, size, step)
        return BatchedTensor(value.reshape(value.shape[0], *value.shape[2:]), x.level)
    d = _shift_dim(dimension, x.ndim, "unfold")
    return BatchedTensor(x.value.unfold(d, size, step), x.level)


# ---- products and norms -------------------------------------------------------------------


def _inner(input: Any, other: Any) -> Any:
    """``inner(a, b)``: ``a.shape[:-1] + b.shape[:-1]``. Both batched: one batched
    product ``(B, m, k) @ (B, k, n)``; one batched: the other's rows join the product's
    rows or columns, so the unbatched ``inner`` runs once on the physical tensor."""
    level = _top_level((input, other))
    a_mine, b_mine = _mine(input, level), _mine(other, level)
    a, b = (input.value if a_mine else input), (other.value if b_mine else other)
    a_dims = input.ndim if hasattr(input, "ndim") else 0
    b_dims = other.ndim if hasattr(other, "ndim") else 0
    if a_dims == 0 or b_dims == 0:  # a 0-d operand multiplies
        return input * other
    if input.shape[-1] != other.shape[-1]:
        from ._errors import ShapeError

        raise ShapeError(
            "inner() the last dimension must match on both input tensors but got shapes "
            f"{list(input.shape)} and {list(other.shape)}"
        )
    if a_mine and b_mine:
        size, k = a.shape[0], a.shape[-1]
        left, right = a.reshape(size, -1, k), b.reshape(size, -1, k)
        flat = left @ right.transpose(-1, -2)
        out = flat.reshape(size, *input.shape[:-1], *other.shape[:-1])
        return BatchedTensor(out, level)
    from ._math_extra import inner

    # a batched: its batch leads the result; b batched: its batch follows a's dims
    out = inner(a, b)
    if b_mine:
        out = out.movedim(a_dims - 1, 0)
    return BatchedTensor(out, level)


def _renorm(x: BatchedTensor, p: float, dim: int, maxnorm: float) -> BatchedTensor:
    """Each example's slices along ``dim`` renormalised: the norm runs over every
    dimension but the batch and ``dim``, as the unbatched op's over all but ``dim``."""
    from . import where
    from ._math_extra import renorm

    if x.ndim <= 1:
        renorm(x.value.reshape(-1)[0], p, dim, maxnorm)  # raises renorm's own error
    if not x.dtype.is_floating_point or p <= 0 or maxnorm < 0:
        renorm(x.value, p, 0, maxnorm)  # the same argument errors as the unbatched op
    d = _shift_dim(dim, x.ndim, "renorm")
    others = [k for k in range(1, x.ndim + 1) if k != d]
    norm = x.value.norm(p, dim=others, keepdim=True)
    factor = where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)
    return BatchedTensor(x.value * factor.to(x.dtype), x.level)


# ---- quantiles ----------------------------------------------------------------------------


def _quantile_rule(name: str) -> Callable[..., Any]:
    """``quantile``/``nanquantile``: the reduction's dim shifts past the batch and the
    unbatched op runs once (``dim=None`` reduces each example's elements); a tensor ``q``
    adds its dimension in front, moved behind the batch. A ``q`` batched itself is run
    once per example, with a warning, as ``torch.func`` does for this op."""

    def rule(
        x: Any,
        q: Any,
        dim: int | None = None,
        keepdim: bool = False,
        *,
        interpolation: str = "linear",
    ) -> Any:
        from ._shapes import _dim

        level = _top_level((x, q))
        if not _mine(x, level) or _mine(q, level):
            return _per_example(name, x, q, dim, keepdim, interpolation, level)
        value = x.value
        kw = {"keepdim": keepdim, "interpolation": interpolation}
        if x.ndim == 0 and dim is not None:
            _dim(x, dim, name)  # only 0 and -1 are dims of a 0-d tensor
        if dim is None or x.ndim == 0:
            flat = value.reshape(value.shape[0], -1)
            out = getattr(flat, name)(q, 1, **kw)
            if keepdim and x.ndim:
                out = out.reshape(*out.shape[:-1], *([1] * x.ndim))
        else:
            out = getattr(value, name)(q, _shift_dim(dim, x.ndim, name), **kw)
        if isinstance(q, Tensor) and q.ndim == 1:
            out = out.movedim(0, 1)  # (len(q), B, ...) -> (B, len(q), ...)
        return BatchedTensor(out, level)

    rule.__name__ = name
    return rule


def _per_example(
    name: str, x: Any, q: Any, dim: Any, keepdim: bool, interpolation: str, level: int
) -> Any:
    from . import stack

    size = next(int(o.value.shape[0]) for o in (x, q) if _mine(o, level))
    warnings.warn(
        f"vmap: {name} with a batched q runs once per example ({size} calls), as "
        "torch.func's fallback does for this op",
        stacklevel=3,
    )
    rows = []
    for k in range(size):
        xk = x.value[k] if _mine(x, level) else x
        qk = q.value[k] if _mine(q, level) else q
        rows.append(getattr(xk, name)(qk, dim, keepdim, interpolation=interpolation))
    if any_batched(*rows):
        from ._batched_native import NoBatchingRule

        raise NoBatchingRule(f"vmap: {name} with a batched q does not nest")
    return BatchedTensor(stack(rows, 0), level)


# ---- sorts, casts and factories of native methods outside the derivative index ----------


def _msort(x: BatchedTensor) -> BatchedTensor:
    return x.sort(0).values  # type: ignore[attr-defined, no-any-return]


def _aminmax(x: BatchedTensor, *, dim: int | None = None, keepdim: bool = False) -> Any:
    from .return_types import aminmax

    if dim is None:  # over each example's elements
        flat = x.value.reshape(x.value.shape[0], -1)
        shape = (flat.shape[0], *([1] * x.ndim if keepdim else []))
        low, high = flat.amin(1).reshape(shape), flat.amax(1).reshape(shape)
        low, high = BatchedTensor(low, x.level), BatchedTensor(high, x.level)
    else:
        low, high = x.amin(dim, keepdim), x.amax(dim, keepdim)  # type: ignore[attr-defined]
    return aminmax(low, high)  # type: ignore[arg-type]


def _type_as(x: BatchedTensor, other: Any) -> Any:
    return x.to(other.dtype)  # type: ignore[attr-defined]


def _factory(name: str) -> Callable[..., Any]:
    """``new_zeros``/``new_ones``/``new_full``/``new_empty``/``new_tensor``: a fresh
    tensor the same for every example (not batched), in the receiver's dtype."""

    def rule(x: BatchedTensor, *args: Any, **kwargs: Any) -> Any:
        value = x.value
        while isinstance(value, BatchedTensor):
            value = value.value
        return getattr(value, name)(*args, **kwargs)

    rule.__name__ = name
    return rule


def _matrix_transpose(x: BatchedTensor) -> BatchedTensor:
    if x.ndim < 2:
        from ._errors import ShapeError

        raise ShapeError(
            f"tensor.mT is only supported on matrices or batches of matrices. Got "
            f"{x.ndim}-D tensor."
        )
    return x.transpose(-2, -1)  # type: ignore[attr-defined, no-any-return]


# ---- composites by their definition -------------------------------------------------------


def composite_function(name: str) -> Callable[..., Any] | None:
    """The Python function a composite Tensor method ``name`` calls, or None."""
    import importlib

    for module in COMPOSITE_MODULES:
        found = getattr(importlib.import_module(f"tapegrad.{module}"), name, None)
        if inspect.isfunction(found):
            return found
    return None


def _by_definition(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def method(self: BatchedTensor, *args: Any, **kwargs: Any) -> Any:
        return function(self, *args, **kwargs)

    method.__name__ = name
    method.by_definition = True  # type: ignore[attr-defined]
    return method


def route_functions(namespace: dict[str, Any]) -> None:
    """Public composite functions (``tapegrad.quantile``, ``tapegrad.scatter_add``...)
    whose Tensor method has a dedicated rule call that rule for a batched first argument,
    as the method spelling does; a plain tensor goes to the function as before."""
    from ._batched_select import RULE_NAMES

    for name in sorted(RULE_NAMES | set(RULES)):
        function = namespace.get(name)
        if inspect.isfunction(function) and not hasattr(function, "batching_rule"):
            namespace[name] = _routed(function)


def _routed(function: Callable[..., Any]) -> Callable[..., Any]:
    import functools

    name = function.__name__

    @functools.wraps(function)
    def routed(input: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(input, BatchedTensor):
            return getattr(input, name)(*args, **kwargs)
        return function(input, *args, **kwargs)

    routed.batching_rule = getattr(BatchedTensor, name)  # type: ignore[attr-defined]
    return routed


RULES: dict[str, Callable[..., Any]] = {
    "select": _select,
    "unfold": _unfold,
    "inner": _inner,
    "renorm": _renorm,
    "quantile": _quantile_rule("quantile"),
    "nanquantile": _quantile_rule("nanquantile"),
    "msort": _msort,
    "aminmax": _aminmax,
    "type_as": _type_as,
    "nelement": BatchedTensor.numel,
    **{n: _factory(n) for n in ("new_zeros", "new_ones", "new_full", "new_empty")},
    "new_tensor": _factory("new_tensor"),
}


def install() -> None:
    """Puts the rules above on ``BatchedTensor``, and a by-definition method for every
    other composite Tensor method that has no rule yet."""
    for name, rule in RULES.items():
        setattr(BatchedTensor, name, rule)
    for name in dir(Tensor):
        if name in BatchedTensor.__dict__ or name.startswith("_"):
            continue
        function = composite_function(name)
        if function is not None:
            setattr(BatchedTensor, name, _by_definition(name, function))
    # properties computed by a composite (`x.H`, `x.mH`)
    from . import _surface

    BatchedTensor.H = property(lambda self: _surface.adjoint_of_matrix(self))  # type: ignore[attr-defined]
    BatchedTensor.mH = property(lambda self: _surface.adjoint(self))  # type: ignore[attr-defined]
    BatchedTensor.mT = property(_matrix_transpose)  # type: ignore[attr-defined]
