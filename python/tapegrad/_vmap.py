"""``vmap``: runs a function written for one example over a batch, with ``torch.func``'s
semantics (``in_dims``/``out_dims`` as ints, None or nested structures, nesting,
``randomness``, ``chunk_size``).

The function runs once: each mapped argument becomes a ``BatchedTensor`` (the batch
dimension moved to the front) and every operation on it is a batching rule that calls the
tensor kernel once (see ``_batched.py`` and ``docs/transforms.md``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from . import _batched, _batched_extra, _batched_native, _batched_select
from ._batched import BatchedTensor, _levels
from ._errors import ArgumentError, GraphError
from ._native import Tensor

__all__ = ["vmap"]

_RANDOMNESS = ("error", "different", "same")
_batched_native.install()
_batched_select.install()
_batched_extra.install()


def _name(func: Callable[..., Any]) -> str:
    return getattr(func, "__name__", repr(func))


def _is_tensor(x: Any) -> bool:
    return isinstance(x, (Tensor, BatchedTensor))


def _flatten(tree: Any) -> tuple[list[Any], Any]:
    """Leaves of nested tuples/lists/dicts, and the structure to rebuild them."""
    if isinstance(tree, (tuple, list)):
        leaves: list[Any] = []
        specs = []
        for item in tree:
            sub, spec = _flatten(item)
            leaves += sub
            specs.append(spec)
        return leaves, (type(tree), specs)
    if isinstance(tree, dict):
        leaves, specs = [], []
        for key in tree:
            sub, spec = _flatten(tree[key])
            leaves += sub
            specs.append((key, spec))
        return leaves, (dict, specs)
    return [tree], None


def _unflatten(leaves: list[Any], spec: Any) -> Any:
    it = iter(leaves)

    def build(s: Any) -> Any:
        if s is None:
            return next(it)
        kind, children = s
        if kind is dict:
            return {k: build(c) for k, c in children}
        items = [build(c) for c in children]
        if hasattr(kind, "_fields"):  # a named tuple (sort's values and indices...)
            return kind(*items)
        return kind(items)

    return build(spec)


def _spec_str(spec: Any) -> str:
    if spec is None:
        return "*"
    kind, children = spec
    if kind is dict:
        return "{" + ", ".join(f"{k!r}: {_spec_str(c)}" for k, c in children) + "}"
    inner = ", ".join(_spec_str(c) for c in children)
    return f"({inner},)" if kind is tuple and len(children) == 1 else f"[{inner}]" if (
        kind is list
    ) else f"({inner})"


def _broadcast_dims(dims: Any, spec: Any) -> list[Any] | None:
    """``dims`` (an int/None, or a structure of them matching ``spec``'s prefix) as one
    entry per leaf, or None when the structures differ."""
    if dims is None or isinstance(dims, int):
        return [dims] * len(_flatten(_unflatten([0] * _count(spec), spec))[0])
    if spec is None:
        return None
    kind, children = spec
    if kind is dict:
        if not isinstance(dims, dict) or set(dims) != {k for k, _ in children}:
            return None
        parts = [_broadcast_dims(dims[k], c) for k, c in children]
    else:
        if not isinstance(dims, (tuple, list)) or len(dims) != len(children):
            return None
        parts = [_broadcast_dims(d, c) for d, c in zip(dims, children)]
    if any(p is None for p in parts):
        return None
    return [leaf for p in parts for leaf in p]  # type: ignore[union-attr]


def _count(spec: Any) -> int:
    if spec is None:
        return 1
    return sum(_count(c) for _, c in spec[1]) if spec[0] is dict else sum(
        _count(c) for c in spec[1]
    )


def _move_to_front(x: Any, dim: int) -> Any:
    if dim == 0:
        return x
    order = [dim] + [d for d in range(x.ndim) if d != dim]
    return x.permute(*order)


def _move_from_front(x: Any, dim: int) -> Any:
    if dim == 0:
        return x
    order = list(range(1, x.ndim))
    order.insert(dim, 0)
    return x.permute(*order)


def _batched_inputs(func: Callable[..., Any], in_dims: Any, args: tuple[Any, ...]):
    head = f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>)"
    if not isinstance(in_dims, (int, tuple)) and in_dims is not None:
        raise ArgumentError(
            f"{head}: expected `in_dims` to be int or a (potentially nested) tuple "
            f"matching the structure of inputs, got: {type(in_dims)}."
        )
    if not args:
        raise ArgumentError(
            f"vmap({_name(func)})(<inputs>): got no inputs. Maybe you forgot to add "
            "inputs, or you are trying to vmap over a function with no inputs. "
            "The latter is unsupported."
        )
    leaves, spec = _flatten(args)
    dims = _broadcast_dims(in_dims, spec)
    if dims is None:
        raise ArgumentError(
            f"{head}: in_dims is not compatible with the structure of `inputs`. "
            f"in_dims has structure {_spec_str(_flatten(in_dims)[1])} but inputs has "
            f"structure {_spec_str(spec)}."
        )
    sizes = []
    for i, (arg, dim) in enumerate(zip(leaves, dims)):
        if dim is None:
            continue
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise ArgumentError(
                f"{head}: Got in_dim={dim} for an input but in_dim must be either an "
                "integer dimension or None."
            )
        if not _is_tensor(arg):
            raise ArgumentError(
                f"{head}: Got in_dim={dim} for an input but the input is of type "
                f"{type(arg)}. We cannot vmap over non-Tensor arguments, please use "
                "None as the respective in_dim"
            )
        n = arg.ndim
        if not -n <= dim < n:
            raise ArgumentError(
                f"{head}: Got in_dim={dim} for some input, but that input is a Tensor "
                f"of dimensionality {n} so expected in_dim to satisfy "
                f"-{n} <= in_dim < {n}."
            )
        dims[i] = dim % n
        sizes.append(arg.shape[dims[i]])
    if not sizes:
        raise ArgumentError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ArgumentError(
            "vmap: Expected all tensors to have the same size in the mapped dimension, "
            f"got sizes {sizes} for the mapped dimension"
        )
    return leaves, spec, dims, sizes[0]


def _unbatched_outputs(
    func: Callable[..., Any], out: Any, out_dims: Any, level: int, size: int
) -> Any:
    leaves, spec = _flatten(out)
    if spec is None and isinstance(out_dims, tuple) and len(out_dims) == 1:
        dims: list[Any] | None = list(out_dims)
    else:
        dims = _broadcast_dims(out_dims, spec)
    if dims is None:
        raise ArgumentError(
            f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims is not "
            "compatible with the structure of `outputs`. out_dims has structure "
            f"{_spec_str(_flatten(out_dims)[1])} but outputs has structure "
            f"{_spec_str(spec)}."
        )
    name = _name(func)
    results = []
    for x, dim in zip(leaves, dims):
        mine = isinstance(x, BatchedTensor) and x.level == level
        if dim is None:
            if mine:
                raise ArgumentError(
                    f"vmap({name}, ...): `{name}` can not return a BatchedTensor when "
                    "out_dim is None"
                )
            results.append(x)
            continue
        if not _is_tensor(x):
            raise ArgumentError(
                f"vmap({name}, ...): `{name}` must only return Tensors, got type "
                f"{type(x)}. Did you mean to set out_dims= to None for output?"
            )
        # An output that does not depend on the batch is the same for every example.
        value = x.value if mine else x.unsqueeze(0).expand(size, *x.shape)
        n = len(value.shape)
        if not -n <= dim < n:
            raise ArgumentError(
                f"vmap({name}, ..., out_dims={out_dims}): out_dim={dim} is out of range "
                f"for an output of {n - 1} dimension(s) (expected -{n} <= out_dim < {n})"
            )
        results.append(_move_from_front(value, dim % n))
    return _unflatten(results, spec)


def _run(func, in_dims, out_dims, randomness, args, kwargs):  # type: ignore[no-untyped-def]
    leaves, spec, dims, size = _batched_inputs(func, in_dims, args)
    stack = _levels()
    level = len(stack) + 1
    batched = [
        x if d is None else BatchedTensor(_move_to_front(x, d), level)
        for x, d in zip(leaves, dims)
    ]
    stack.append((level, size, randomness))
    try:
        out = func(*_unflatten(batched, spec), **kwargs)
    except TypeError as error:
        if "BatchedTensor" not in str(error):
            raise
        # A native function took the batched tensor as a plain one: tapegrad.<op>(x) is
        # the unbound Tensor method, which does not dispatch on BatchedTensor.
        raise _batched_native.NoBatchingRule(
            f"vmap({_name(func)}): a batched tensor reached a function without a "
            f"batching rule ({error}); inside vmap call the Tensor method (x.exp(), "
            "x.maximum(y)) instead of tapegrad.exp(x)"
        ) from error
    finally:
        stack.pop()
    return _unbatched_outputs(func, out, out_dims, level, size)


def _chunks(leaves: list[Any], dims: list[Any], size: int, chunk: int):  # type: ignore[no-untyped-def]
    for start in range(0, size, chunk):
        stop = min(start + chunk, size)
        yield [
            x if d is None else x[(slice(None),) * d + (slice(start, stop),)]
            for x, d in zip(leaves, dims)
        ]


def vmap(
    func: Callable[..., Any],
    in_dims: Any = 0,
    out_dims: Any = 0,
    randomness: str = "error",
    *,
    chunk_size: int | None = None,
) -> Callable[..., Any]:
    """Vectorizes ``func`` over a batch dimension of its arguments (``torch.func.vmap``).

    Args:
        func: A function of tensors (and other values) that returns a tensor or a
            (nested) tuple, list or dict of tensors.
        in_dims: For each argument, the dimension mapped over, or None for an argument
            shared by every example; an int applies to all, a nested tuple/list/dict
            follows the arguments' structure.
        out_dims: Where each output gets the batch dimension (None for an output that
            does not depend on the batch); int or a structure matching the output.
        randomness: ``"error"`` (random ops inside raise), ``"different"`` (each example
            draws its own samples) or ``"same"`` (one draw shared by the batch).
        chunk_size: Run at most this many examples at once (bounds memory); None runs
            the whole batch in one call.

    Returns:
        The vectorized function.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.arange(6.0).reshape(2, 3)
        >>> tg.func.vmap(lambda row: row.sum())(x)
        tensor([ 3., 12.])
    """
    if randomness not in _RANDOMNESS:
        raise GraphError(
            "Only allowed values for randomness are 'error', 'different', or 'same'. "
            f"Got {randomness}"
        )
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1
    ):
        raise ArgumentError(
            f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})"
        )

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if chunk_size is None:
            return _run(func, in_dims, out_dims, randomness, args, kwargs)
        leaves, spec, dims, size = _batched_inputs(func, in_dims, args)
        if chunk_size >= size:
            return _run(func, in_dims, out_dims, randomness, args, kwargs)
        parts = [
            _run(func, in_dims, out_dims, randomness, _unflatten(c, spec), kwargs)
            for c in _chunks(leaves, dims, size, chunk_size)
        ]
        flat = [_flatten(p)[0] for p in parts]
        out_spec = _flatten(parts[0])[1]
        odims = _broadcast_dims(out_dims, out_spec) or [out_dims] * len(flat[0])
        from . import cat

        joined = [
            parts[0] if d is None else cat([f[i] for f in flat], d % f0.ndim)
            for i, (d, f0) in enumerate(zip(odims, flat[0]))
        ]
        return _unflatten(joined, out_spec)

    return wrapped


def random_draw(draw: Callable[[tuple[int, ...]], Tensor], shape: tuple[int, ...]) -> Any:
    """A random tensor of ``shape`` under the active vmap level's randomness mode
    (``tapegrad.rand``/``randn`` call this; outside vmap it is one plain draw)."""
    current = _batched.current_level()
    if current is None:
        return draw(shape)
    level, size, randomness = current
    if randomness == "error":
        raise GraphError(
            "vmap: called random operation while in randomness error mode. Please "
            "either use the 'same' or 'different' randomness flags on vmap or perform "
            "the randomness operation out of vmap"
        )
    if randomness == "same":
        return draw(shape)
    # "different": one draw per example of every enclosing level.
    sizes = [s for _, s, _ in _levels()]
    value: Any = draw((*sizes, *shape))
    for lvl, _, _ in _levels():
        value = BatchedTensor(value, lvl)
    return value
