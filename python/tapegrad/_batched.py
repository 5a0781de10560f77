"""``BatchedTensor``: the value ``vmap`` passes to the user's function.

A batched tensor is a physical tensor whose dimension 0 is the batch of one ``vmap`` level,
and whose other dimensions are the *logical* tensor the function sees. Every Tensor
operation on it is dispatched to a batching rule, chosen by the primitive's
``BatchRule`` in the core's derivative index (``tapegrad._native._primitives()``):

- elementwise: pad each batched operand's logical rank with size-1 dimensions after the
  batch dimension (unbatched operands broadcast from the right as they are), call once;
- shift axes: every axis argument moves up by one (the batch dimension stays first);
- leading batch: matrix products and the other ops that broadcast leading dimensions get
  operands padded to a common logical rank, then one call;
- merge rows: row-wise ops (``linear``) take the batch as more rows.

Nesting: the value of a level-``L`` batched tensor may itself be a batched tensor of an
outer level, so each rule calls the same Tensor method on its value and the outer level's
rule runs in turn. An operand of a lower level is unbatched at the higher level.
"""

from __future__ import annotations

import builtins
import math
import threading
from collections.abc import Callable
from typing import Any

from ._errors import GraphError
from ._native import Tensor

__all__ = ["BatchedTensor"]

_state = threading.local()


def _levels() -> list[tuple[int, int, str]]:
    """The active vmap levels, outermost first: (level, batch size, randomness)."""
    stack: list[tuple[int, int, str]] | None = getattr(_state, "levels", None)
    if stack is None:
        stack = _state.levels = []
    return stack


def current_level() -> tuple[int, int, str] | None:
    """The innermost active vmap level, or None outside vmap."""
    stack = _levels()
    return stack[-1] if stack else None


class BatchedTensor:
    """A tensor with a batch dimension (dimension 0 of ``value``) hidden at ``level``.

    It shows the logical tensor: ``shape``, ``ndim`` and every operation leave the batch
    dimension out. ``bool()``, ``item()`` and ``numpy()`` raise: their result would differ
    across the batch (data-dependent control flow is not supported under vmap).
    """

    __slots__ = ("level", "value")

    def __init__(self, value: Any, level: int) -> None:
        self.value = value
        self.level = level

    # ---- logical metadata
    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape[1:]  # a tapegrad.Size

    @property
    def ndim(self) -> int:
        return len(self.value.shape) - 1

    def dim(self) -> int:
        return self.ndim

    def size(self, dim: int | None = None) -> Any:
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    @property
    def dtype(self) -> Any:
        return self.value.dtype

    @property
    def device(self) -> Any:
        return self.value.device

    @property
    def requires_grad(self) -> bool:
        return bool(self.value.requires_grad)

    def is_floating_point(self) -> bool:
        return bool(self.value.is_floating_point())

    @property
    def T(self) -> BatchedTensor:  # noqa: N802 (PyTorch's name)
        return self.permute(*reversed(range(self.ndim)))

    def __repr__(self) -> str:
        return f"BatchedTensor(lvl={self.level}, bdim=0, value={self.value!r})"

    # ---- values that would differ across the batch
    def _data_dependent(self, *_: Any) -> Any:
        raise GraphError(
            "vmap: It looks like you're attempting to use a Tensor in some data-dependent "
            "control flow (bool(), item(), int(), float(), numpy() or tolist() of a "
            f"batched tensor of shape {tuple(self.shape)}). Their value differs across the "
            "batch; use tapegrad.where or mask arithmetic instead."
        )

    __bool__ = __float__ = __int__ = __index__ = _data_dependent
    item = numpy = tolist = _data_dependent

    def __getattr__(self, name: str) -> Any:
        if hasattr(Tensor, name):
            from ._batched_native import NoBatchingRule

            raise NoBatchingRule(
                f"vmap: there is no batching rule for Tensor.{name} yet (a composite "
                "method); write it with the ops that have one (see docs/transforms.md)"
            )
        raise AttributeError(f"'BatchedTensor' object has no attribute '{name}'")

    def detach(self) -> BatchedTensor:
        return BatchedTensor(self.value.detach(), self.level)


def is_batched(x: Any) -> bool:
    return isinstance(x, BatchedTensor)


def _top_level(operands: tuple[Any, ...]) -> int:
    return builtins.max(o.level for o in operands if isinstance(o, BatchedTensor))


def _logical_ndim(x: Any, level: int) -> int:
    """``x``'s number of dimensions as a level-``level`` rule sees it."""
    if isinstance(x, BatchedTensor) and x.level == level:
        return x.ndim
    return len(x.shape) if hasattr(x, "shape") else 0


def _physical(x: Any, level: int, rank: int) -> Any:
    """``x`` for a level-``level`` rule: a batched value padded to ``rank`` logical
    dimensions (size-1 after the batch dimension), anything else as it is."""
    if not (isinstance(x, BatchedTensor) and x.level == level):
        return x
    shape = tuple(x.value.shape)
    missing = rank - (len(shape) - 1)
    if missing <= 0:
        return x.value
    return x.value.reshape((shape[0],) + (1,) * missing + shape[1:])


def elementwise(name: str, receiver: Any, *args: Any, **kwargs: Any) -> BatchedTensor:
    """The elementwise rule: operands broadcast against each other with the batch first."""
    operands = (receiver, *args, *kwargs.values())
    level = _top_level(operands)
    rank = builtins.max(_logical_ndim(o, level) for o in operands)
    phys = [_physical(a, level, rank) for a in args]
    named = {k: _physical(v, level, rank) for k, v in kwargs.items()}
    recv = _physical(receiver, level, rank)
    if any_batched(recv, *phys, *named.values()):  # an outer level's operands remain
        return BatchedTensor(elementwise(name, recv, *phys, **named), level)
    return BatchedTensor(getattr(recv, name)(*phys, **named), level)


def _shift_dim(d: int, ndim: int, name: str) -> int:
    if not -ndim <= d < builtins.max(ndim, 1):
        from ._errors import AxisError

        raise AxisError(
            f"{name}: dimension {d} is out of range for a tensor of {ndim} dimension(s) "
            "(inside vmap, the batch dimension is not counted)"
        )
    return (d % builtins.max(ndim, 1)) + 1


def _shift_dims(dim: Any, ndim: int, name: str) -> Any:
    if dim is None:
        return tuple(range(1, ndim + 1))
    if isinstance(dim, (tuple, list)):
        return tuple(_shift_dim(d, ndim, name) for d in dim)
    return _shift_dim(dim, ndim, name)


def reduction(name: str, x: BatchedTensor, dim: Any = None, *args: Any, **kw: Any) -> Any:
    """The shift-axes rule for reductions and other ops with a ``dim`` argument."""
    if "dim" in kw:
        dim = kw.pop("dim")
    value = x.value
    if x.ndim == 0:  # a 0-d tensor's only axis is its (size-1) self
        value = value.unsqueeze(1)
        dims: Any = 1
    else:
        dims = _shift_dims(dim, x.ndim, name)
    return BatchedTensor(getattr(value, name)(dims, *args, **kw), x.level)


def softmax_like(name: str, x: BatchedTensor, dim: int = -1) -> BatchedTensor:
    if x.ndim == 0:
        out = getattr(x.value.unsqueeze(1), name)(1).squeeze(1)
        return BatchedTensor(out, x.level)
    return BatchedTensor(getattr(x.value, name)(_shift_dim(dim, x.ndim, name)), x.level)


def _sizes(args: tuple[Any, ...]) -> tuple[int, ...]:
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def _folded_matmul(
    a: Any, b: Any, a_batched: bool, b_batched: bool, na: int, nb: int
) -> Any:
    """With one side an unbatched matrix, the batch folds into the other side's free
    dimension and the product is one large matrix product (JAX's dot_general rule)
    instead of one small product per example. None when the shapes do not allow it."""
    if a_batched and not b_batched and nb == 2 and not isinstance(b, BatchedTensor):
        # (B, ..., k) @ (k, n): the batch and a's rows are all rows of one product.
        lead = tuple(a.value.shape[:-1])
        rows = a.value.reshape(math.prod(lead), a.value.shape[-1])  # no -1: 0 elements
        if isinstance(rows, BatchedTensor):
            return None
        return rows.matmul(b).reshape(*lead, b.shape[-1])
    if b_batched and not a_batched and na == 2 and not isinstance(a, BatchedTensor):
        pb = b.value
        if isinstance(pb, BatchedTensor):
            return None
        if nb == 1:  # A v_b for every b: V Aᵀ
            return pb.matmul(a.transpose(0, 1))
        if nb == 2:  # A [X_1 ... X_B]: the examples' columns side by side
            size, k, n = pb.shape
            wide = pb.permute(1, 0, 2).reshape(k, size * n)
            return a.matmul(wide).reshape(a.shape[0], size, n).permute(1, 0, 2)
    return None


def matmul(a: Any, b: Any) -> BatchedTensor:
    """The leading-batch rule for ``a @ b`` (NumPy's 1-D promotion kept per example)."""
    if not any_batched(a, b):
        return a.matmul(b)
    level = _top_level((a, b))
    na, nb = _logical_ndim(a, level), _logical_ndim(b, level)
    if na == 0 or nb == 0:
        from ._errors import ShapeError

        raise ShapeError("matmul: both arguments need at least one dimension")
    a_batched = isinstance(a, BatchedTensor) and a.level == level
    b_batched = isinstance(b, BatchedTensor) and b.level == level
    folded = _folded_matmul(a, b, a_batched, b_batched, na, nb)
    if folded is not None:
        return BatchedTensor(folded, level)
    # Batched vectors become matrices so the batch dimension is never taken for a row.
    pa = _physical(a, level, na)
    pb = _physical(b, level, nb)
    if na == 1 and a_batched:
        pa, na = pa.unsqueeze(1), 2
    if nb == 1 and b_batched:
        pb, nb = pb.unsqueeze(2), 2
    rank = builtins.max(na, nb)
    if a_batched:
        pa = _physical(BatchedTensor(pa, level), level, rank)
    if b_batched:
        pb = _physical(BatchedTensor(pb, level), level, rank)
    out = matmul(pa, pb) if any_batched(pa, pb) else pa.matmul(pb)
    b_vector = _logical_ndim(b, level) == 1
    if b_vector and b_batched:
        out = out.squeeze(-1)  # the column b became
    if _logical_ndim(a, level) == 1 and a_batched:
        out = out.squeeze(-1 if b_vector else -2)  # the row a became
    return BatchedTensor(out, level)


def _getitem(x: BatchedTensor, key: Any) -> BatchedTensor:
    keys = key if isinstance(key, tuple) else (key,)
    for k in keys:
        if isinstance(k, BatchedTensor):
            from ._errors import ArgumentError

            raise ArgumentError(
                "vmap: indexing with a batched index tensor is not supported; "
                "use tapegrad.where or a one-hot product instead"
            )
    out = x.value[(slice(None), *keys)]
    split = _split_advanced(keys)
    if split is not None:  # NumPy puts the advanced dims first, before the batch too
        out = out.movedim(split, 0)
    return BatchedTensor(out, x.level)


def _split_advanced(keys: tuple[Any, ...]) -> int | None:
    """When the advanced (array) indices of ``keys`` are not next to each other, NumPy
    and PyTorch put their broadcast dimensions first: the batch then follows them, at the
    returned position. None when the advanced dims stay in place."""
    import numpy as np

    def advanced(k: Any) -> bool:
        return not (k is None or k is Ellipsis or isinstance(k, slice))

    # As PyTorch (not NumPy): an int selects its dim first and separates nothing.
    keys = tuple(k for k in keys if not isinstance(k, (int, np.integer)))
    where = [i for i, k in enumerate(keys) if advanced(k)]
    if not where or where == list(range(where[0], where[-1] + 1)):
        return None
    shapes = []
    for k in (keys[i] for i in where):
        a = k.numpy() if hasattr(k, "numpy") else np.asarray(k)
        shapes.append((int(np.count_nonzero(a)),) if a.dtype == bool else a.shape)
    return len(np.broadcast_shapes(*shapes))


def _reshape(x: BatchedTensor, *shape: Any) -> BatchedTensor:
    return BatchedTensor(x.value.reshape((x.value.shape[0], *_sizes(shape))), x.level)


def _permute(x: BatchedTensor, *dims: Any) -> BatchedTensor:
    moved = [_shift_dim(d, x.ndim, "permute") for d in _sizes(dims)]
    return BatchedTensor(x.value.permute(0, *moved), x.level)


def _transpose(x: BatchedTensor, dim0: int, dim1: int) -> BatchedTensor:
    n = x.ndim
    t = x.value.transpose(_shift_dim(dim0, n, "transpose"), _shift_dim(dim1, n, "transpose"))
    return BatchedTensor(t, x.level)


def _unsqueeze(x: BatchedTensor, dim: int) -> BatchedTensor:
    d = _shift_dim(dim, x.ndim + 1, "unsqueeze")
    return BatchedTensor(x.value.unsqueeze(d), x.level)


def _squeeze(x: BatchedTensor, dim: Any = None) -> BatchedTensor:
    if dim is None:
        dims = tuple(i + 1 for i, s in enumerate(x.shape) if s == 1)
    else:
        dims = _shift_dims(dim, x.ndim, "squeeze")
    value = x.value
    for d in sorted(dims if isinstance(dims, tuple) else (dims,), reverse=True):
        if value.shape[d] == 1:
            value = value.squeeze(d)
    return BatchedTensor(value, x.level)


def _flatten(x: BatchedTensor, start_dim: int = 0, end_dim: int = -1) -> BatchedTensor:
    if x.ndim == 0:
        return BatchedTensor(x.value.reshape(x.value.shape[0], 1), x.level)
    s = _shift_dim(start_dim, x.ndim, "flatten")
    e = _shift_dim(end_dim, x.ndim, "flatten")
    return BatchedTensor(x.value.flatten(s, e), x.level)


def _expand(x: BatchedTensor, *sizes: Any) -> BatchedTensor:
    target = _sizes(sizes)
    padded = _physical(x, x.level, len(target))
    return BatchedTensor(padded.expand(padded.shape[0], *target), x.level)


def _diagonal(
    x: BatchedTensor, offset: int = 0, dim1: int = 0, dim2: int = 1
) -> BatchedTensor:
    n = x.ndim
    if n < 2:
        from ._errors import ShapeError

        raise ShapeError(f"diagonal: input must be >= 2-d, got shape {x.shape}")
    d1, d2 = _shift_dim(dim1, n, "diagonal"), _shift_dim(dim2, n, "diagonal")
    return BatchedTensor(x.value.diagonal(offset, d1, d2), x.level)


def _view_as(x: BatchedTensor, other: Any) -> BatchedTensor:
    return _reshape(x, *other.shape)


_REDUCTIONS = ("sum", "mean", "amax", "amin", "logsumexp", "var", "std")
_SHAPE_RULES: dict[str, Callable[..., Any]] = {
    "__getitem__": _getitem,
    "reshape": _reshape,
    "view": _reshape,
    "permute": _permute,
    "transpose": _transpose,
    "swapaxes": _transpose,
    "swapdims": _transpose,
    "unsqueeze": _unsqueeze,
    "squeeze": _squeeze,
    "flatten": _flatten,
    "expand": _expand,
    "broadcast_to": _expand,
    "view_as": _view_as,
    "reshape_as": _view_as,
    "expand_as": lambda x, other: _expand(x, *other.shape),
    "diagonal": _diagonal,
}
# Elementwise methods that are not primitives of their own (composites of elementwise
# primitives, conversions), batched by the same rule.
_ELEMENTWISE_EXTRA: tuple[str, ...] = (
    "round", "sgn", "int", "long", "bool", "half", "short", "byte", "char",
    "lerp", "nan_to_num", "float_power", "addcmul", "addcdiv",
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
    "__truediv__", "__rtruediv__", "__pow__", "__rpow__", "__neg__", "__abs__",
    "__pos__", "__mod__", "__rmod__", "__floordiv__", "__rfloordiv__",
    "__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__",
    "__and__", "__or__", "__xor__", "__invert__",
)  # fmt: skip
# Comparisons, casts and integer maths: native methods outside the derivative index.
_ELEMENTWISE_EXTRA += (
    "eq", "ne", "ge", "gt", "le", "lt", "clip", "divide", "true_divide", "floor_divide",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
    "bitwise_right_shift", "contiguous",
)  # fmt: skip
# PyTorch's other names for elementwise maths (_math_aliases.py, _math_extra.py).
_ELEMENTWISE_EXTRA += (
    "clamp_min", "clamp_max", "absolute", "multiply", "subtract", "negative", "positive",
    "greater", "less", "greater_equal", "less_equal", "not_equal", "fix", "arctan2",
    "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "mvlgamma", "ldexp", "i0",
    "signbit", "gcd", "lcm", "nextafter",
)  # fmt: skip


def _method(name: str, rule: Callable[..., Any]) -> Callable[..., Any]:
    def method(self: BatchedTensor, *args: Any, **kwargs: Any) -> Any:
        return rule(name, self, *args, **kwargs)

    method.__name__ = name
    return method


def _install_rules() -> None:
    """Gives BatchedTensor one method per Python name of every primitive in the core's
    index, by the primitive's batching rule, plus the composites built on them."""
    from . import _native

    for info in _native._primitives():
        for name in info["api"]:
            if name.startswith("_") and not name.startswith("__"):
                continue  # private entry points: dispatched by their Python wrappers
            if info["batch"] == "elementwise":
                setattr(BatchedTensor, name, _method(name, elementwise))
            elif name in _REDUCTIONS:
                setattr(BatchedTensor, name, _method(name, reduction))
            elif name in _SHAPE_RULES:
                setattr(BatchedTensor, name, _SHAPE_RULES[name])
    for name in _ELEMENTWISE_EXTRA:
        setattr(BatchedTensor, name, _method(name, elementwise))
    for name in _REDUCTIONS:
        setattr(BatchedTensor, name, _method(name, reduction))
    for name, rule in _SHAPE_RULES.items():
        setattr(BatchedTensor, name, rule)
    for name in ("softmax", "log_softmax"):
        setattr(BatchedTensor, name, _method(name, softmax_like))
    setattr(BatchedTensor, "matmul", matmul)
    setattr(BatchedTensor, "__matmul__", matmul)
    setattr(BatchedTensor, "__rmatmul__", lambda self, other: matmul(other, self))
    setattr(BatchedTensor, "__hash__", object.__hash__)


_install_rules()


def any_batched(*args: Any) -> bool:
    return any(isinstance(a, BatchedTensor) for a in args)


def unwrap_tensor(x: Any) -> Tensor:
    """The plain tensor under every batch level (all batch dimensions leading)."""
    while isinstance(x, BatchedTensor):
        x = x.value
    return x


def physical(x: Any) -> Any:
    """``x`` batched at every active vmap level, as one plain tensor: the batch
    dimensions of the levels (outermost first), then ``x``'s logical dimensions. An
    argument a level does not batch is broadcast over that level (an expand: its
    gradient sums back over the batch)."""
    for level, size, _ in reversed(_levels()):
        if isinstance(x, BatchedTensor) and x.level == level:
            x = x.value
        else:
            x = x.unsqueeze(0).expand(size, *x.shape)
    return x


def rebatch(p: Any) -> Any:
    """Inverse of ``physical``: the plain tensor seen at every active level again."""
    for level, _, _ in _levels():
        p = BatchedTensor(p, level)
    return p
