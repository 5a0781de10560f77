"""Function transforms with JAX / ``torch.func`` semantics.

Reverse mode (``grad``, ``vjp``, ``jacrev``) sweeps the recorded graph backwards: one pass per
output row, so it is cheap for a scalar loss of many inputs. Forward mode (``jvp``,
``jacfwd``) pushes tangents along with the values: one pass per input direction, cheap for
few inputs and many outputs. ``hessian`` and ``hvp`` compose the two (forward over reverse).

Transforms compose: ``grad(grad(f))(x)`` is the second derivative of a scalar ``f``.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from . import _batched, _native
from ._batched import BatchedTensor
from ._batched_native import NoBatchingRule
from ._errors import ArgumentError, DTypeError, GraphError, ShapeError
from ._grad_mode import enable_grad, no_grad
from ._native import Tensor
from . import _vmap as _vmap_module
from ._vmap import vmap

__all__ = [
    "dual_level",
    "functional_call",
    "grad",
    "hessian",
    "hvp",
    "jacfwd",
    "jacrev",
    "jvp",
    "value_and_grad",
    "vjp",
    "vmap",
]


@contextlib.contextmanager
def dual_level() -> Iterator[None]:
    """Opens a forward-mode level: inside it, ops propagate the tangents of dual tensors.
    Levels nest (``jvp`` of ``jvp``), each with its own tangents."""
    level = _native._enter_dual_level()
    try:
        yield
    finally:
        _native._exit_dual_level(level)


_reverse_depth = threading.local()


@contextlib.contextmanager
def _reverse_transform() -> Iterator[bool]:
    """Marks a reverse-mode transform as running; yields whether it is nested in another
    (then its gradients must be differentiable: they are recorded with create_graph)."""
    depth = getattr(_reverse_depth, "value", 0)
    _reverse_depth.value = depth + 1
    try:
        yield depth > 0
    finally:
        _reverse_depth.value = depth


def _needs_graph(nested: bool, args: Sequence[Any]) -> bool:
    """Whether a transform's results must stay differentiable: inside another reverse
    transform, or when an argument requires grad (the caller's own graph)."""
    return nested or any(
        isinstance(a, (Tensor, BatchedTensor)) and a.requires_grad for a in args
    )


def _plain(value: Any) -> Any:
    """Results that leave the outermost transform carry no internal graph."""
    if isinstance(value, Tensor):
        return value.detach()
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _argnums(argnums: int | Sequence[int], nargs: int, fn: str) -> tuple[int, ...]:
    if isinstance(argnums, bool) or not isinstance(argnums, (int, tuple, list)):
        raise DTypeError(
            f"{fn}: argnums must be an int or a tuple of ints, got {type(argnums).__name__}"
        )
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise ArgumentError(f"{fn}: argnums must name at least one argument")
    for n in nums:
        if not isinstance(n, int) or not -nargs <= n < nargs:
            raise ArgumentError(
                f"{fn}: argnums {n} is out of range for a function called with {nargs} "
                f"positional argument(s)"
            )
    return tuple(n % nargs for n in nums)


def _differentiable(x: Any, fn: str, position: int) -> tuple[Any, Tensor]:
    """A version of ``x`` to differentiate with respect to, keeping its place in any outer
    transform: its graph if it requires grad, its tangent if it is dual.

    Returns (what the function gets, the variable the engine differentiates). Inside
    ``vmap`` the variable is ``x`` batched at every level (one row per example, so that
    one backward sweep gives every example's own gradient) and the function gets it as
    a BatchedTensor again.
    """
    if not isinstance(x, (Tensor, BatchedTensor)):
        raise DTypeError(
            f"{fn}: argument {position} is {type(x).__name__}, not a Tensor"
        )
    # Always a fresh variable, even when x already requires grad: a closure that captured x
    # itself must not be differentiated as if it were the argument.
    if _batched._levels():
        leaf = _batched.physical(x)._alias()
        return _batched.rebatch(leaf), leaf
    leaf = x._alias()
    return leaf, leaf


def _root(out: Tensor | BatchedTensor) -> Tensor:
    """The plain tensor the engine sweeps from (all batch dimensions inside vmap)."""
    return _batched.physical(out) if _batched._levels() else out  # type: ignore[return-value]


def _rewrap(t: Tensor) -> Any:
    return _batched.rebatch(t) if _batched._levels() else t


def _scalar(out: Any, fn: str) -> Any:
    if not isinstance(out, (Tensor, BatchedTensor)):
        raise DTypeError(
            f"{fn}: the function must return a Tensor, got {type(out).__name__}"
        )
    if out.numel() != 1:
        raise ShapeError(
            f"{fn}: the function must return a scalar (one-element) tensor to be "
            f"differentiated, but returned shape {tuple(out.shape)}; use vjp or jacrev instead"
        )
    return out


def value_and_grad(
    f: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """``f``'s value and its gradient with respect to the arguments in ``argnums``.

    The wrapped function returns ``(value, grads)`` (``((value, aux), grads)`` with
    ``has_aux``); ``grads`` is one tensor for an int ``argnums``, a tuple otherwise.
    """

    def wrapper(*args: Any) -> Any:
        nums = _argnums(argnums, len(args), "grad")
        xs = list(args)
        trees = {}  # argument -> (its leaves' variables, its structure)
        for n in nums:
            # An argument may be a (nested) tuple, list or dict of tensors, such as the
            # parameters functional_call takes: its gradient has the same structure.
            flat, spec = _vmap_module._flatten(args[n])
            pairs = [_differentiable(a, "grad", n) for a in flat]
            xs[n] = _vmap_module._unflatten([a for a, _ in pairs], spec)
            trees[n] = ([leaf for _, leaf in pairs], spec)
        variables = [leaf for n in nums for leaf in trees[n][0]]
        with _reverse_transform() as nested, enable_grad():
            result = f(*xs)
            out, aux = result if has_aux else (result, None)
            root = _root(_scalar(out, "grad"))
            # An outer transform differentiates the gradient too: record its graph then.
            create = _needs_graph(nested, args)
            seed = _native._full(root.shape, 1.0, root.dtype, False)
            flat_grads = _native._grad([root], variables, [seed], create, create, True)
        found = iter(
            _rewrap(g if g is not None else _native._full(v.shape, 0.0, v.dtype, False))
            for g, v in zip(flat_grads, variables)
        )
        grads = tuple(
            _vmap_module._unflatten([next(found) for _ in trees[n][0]], trees[n][1])
            for n in nums
        )
        picked = grads[0] if isinstance(argnums, int) else grads
        value = (out, aux) if has_aux else out
        if not create and _native._current_dual_level() is None:
            value = _plain(value)
            if isinstance(out, BatchedTensor):
                value = (out.detach(), aux) if has_aux else out.detach()
        return value, picked

    return wrapper


def grad(
    f: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """The gradient of a scalar function (``jax.grad``); with ``has_aux``, ``(grad, aux)``."""
    both = value_and_grad(f, argnums, has_aux)

    def wrapper(*args: Any) -> Any:
        value, grads = both(*args)
        return (grads, value[1]) if has_aux else grads

    return wrapper


def vjp(f: Callable[..., Any], *primals: Tensor) -> tuple[Any, Callable[..., Any]]:
    """Runs ``f(*primals)`` and returns ``(output, vjp_fn)``; ``vjp_fn(cotangent)`` gives
    one gradient per primal (reverse mode, reusable: the graph is retained)."""
    pairs = [_differentiable(p, "vjp", i) for i, p in enumerate(primals)]
    levels = list(_batched._levels())
    with _reverse_transform() as nested, enable_grad():
        out = f(*(arg for arg, _ in pairs))
    outs = [out] if isinstance(out, (Tensor, BatchedTensor)) else list(out)
    roots = [_root(o) for o in outs]
    create = _needs_graph(nested, primals)

    def vjp_fn(*cotangents: Tensor) -> tuple[Tensor, ...]:
        if len(cotangents) != len(outs):
            raise ArgumentError(
                f"vjp_fn: got {len(cotangents)} cotangent(s) for {len(outs)} output(s)"
            )
        if list(_batched._levels()) != levels:
            raise GraphError(
                "vjp_fn: called under other vmap levels than the vjp that made it; "
                "call vjp inside the vmapped function (vmap(lambda x, ct: "
                "vjp(f, x)[1](ct))) so that the forward pass is batched too"
            )
        for i, (c, o) in enumerate(zip(cotangents, outs)):
            if not isinstance(c, (Tensor, BatchedTensor)) or c.shape != o.shape:
                shown = tuple(c.shape) if isinstance(c, (Tensor, BatchedTensor)) else (
                    type(c).__name__
                )
                raise ShapeError(
                    f"vjp_fn: cotangent {i} has shape {shown}, but output {i} has shape "
                    f"{tuple(o.shape)}"
                )
        seeds = [_root(c) for c in cotangents]
        leaves = [leaf for _, leaf in pairs]
        with enable_grad():
            grads = _native._grad(roots, leaves, seeds, True, create, True)
        return tuple(
            _rewrap(g if g is not None else _native._full(v.shape, 0.0, v.dtype, False))
            for g, v in zip(grads, leaves)
        )

    return out, vjp_fn


def jvp(
    f: Callable[..., Any], primals: Sequence[Tensor], tangents: Sequence[Tensor]
) -> tuple[Any, Any]:
    """Forward mode: ``(f(*primals), J · tangents)`` in one pass, no backward involved."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ArgumentError(
            f"jvp: got {len(primals)} primal(s) but {len(tangents)} tangent(s)"
        )
    for i, (p, t) in enumerate(zip(primals, tangents)):
        for what, v in (("primal", p), ("tangent", t)):
            if not isinstance(v, (Tensor, BatchedTensor)):
                raise DTypeError(f"jvp: {what} {i} is {type(v).__name__}, not a Tensor")
    with dual_level():
        duals = [
            _rewrap(_native._make_dual(_root(p), _root(t)))
            for p, t in zip(primals, tangents)
        ]
        out = f(*duals)
        if isinstance(out, (Tensor, BatchedTensor)):
            outs = [out]
        elif isinstance(out, (tuple, list)) and all(
            isinstance(o, (Tensor, BatchedTensor)) for o in out
        ):
            outs = list(out)
        else:
            shown = (
                type(out).__name__
                if not isinstance(out, (tuple, list))
                else ("a sequence holding " + ", ".join(type(o).__name__ for o in out))
            )
            raise DTypeError(
                f"jvp: the function must return a Tensor or a tuple of Tensors, got {shown}"
            )
        roots = [_root(o) for o in outs]
        tangent_outs = [
            _rewrap(
                r._tangent
                if r._tangent is not None
                else _native._full(r.shape, 0.0, r.dtype, False)
            )
            for r in roots
        ]
    if isinstance(out, (Tensor, BatchedTensor)):
        return out, tangent_outs[0]
    return tuple(outs), tuple(tangent_outs)


def _check_single_output(out: Any, name: str) -> None:
    """jacrev and jacfwd differentiate one Tensor output: anything else is refused alike."""
    if not isinstance(out, (Tensor, BatchedTensor)):
        raise DTypeError(
            f"{name}: the function must return a Tensor, got {type(out).__name__}"
        )


def _basis(x: Tensor, k: int) -> Tensor:
    """Unit vector ``k`` of ``x``'s flattened size (tapegrad.autograd.functional's loop)."""
    e = _native._full((x.numel(),), 0.0, x.dtype, False)
    return _native._where(_native._arange(0, x.numel(), 1, x.dtype, False) == k, 1.0, e)


def _unit_vectors(n: int, shape: Sequence[int], dtype: Any) -> Tensor:
    """The ``n`` unit vectors of a tensor of ``shape``, stacked: ``(n, *shape)``."""
    return _native._eye(n, n, dtype, False).reshape(n, *shape)


def _one_argument(
    f: Callable[..., Any], args: tuple[Any, ...], argnums: int, name: str
) -> tuple[Any, Callable[[Any], Any]]:
    (n,) = _argnums(argnums, len(args), name)
    x = args[n]
    if not isinstance(x, (Tensor, BatchedTensor)):
        raise DTypeError(f"{name}: argument {n} is {type(x).__name__}, not a Tensor")

    def at(xn: Any) -> Any:
        out = f(*args[:n], xn, *args[n + 1 :])
        _check_single_output(out, name)
        return out

    return x, at


def jacrev(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Tensor]:
    """The Jacobian by reverse mode: ``vmap`` of a VJP over the output's unit vectors
    (one batched forward and one backward sweep for all rows).
    Shape: ``output.shape + input.shape``."""

    def wrapper(*args: Any) -> Tensor:
        x, at = _one_argument(f, args, argnums, "jacrev")
        with no_grad():
            probe = at(x)  # the output's shape: how many rows
        shape = tuple(probe.shape) + tuple(x.shape)
        if probe.numel() == 0 or x.numel() == 0:
            return _rewrap_zeros(shape, x)

        def row(cotangent: Any) -> Any:
            return vjp(at, x)[1](cotangent)[0]

        basis = _unit_vectors(probe.numel(), probe.shape, probe.dtype)
        try:
            rows = vmap(row, chunk_size=_chunk(probe.numel(), probe.numel()))(basis)
        except Exception as missing:  # noqa: BLE001 (any op vmap cannot batch yet)
            rows = _loop("jacrev", missing, row, basis)
        return rows.reshape(shape)

    return wrapper


# Elements of a batched output (rows x output size) per vmap call in jacrev/jacfwd: the
# batched intermediates of a large Jacobian stay in cache-sized chunks instead of one
# huge pass (measured in benches/transforms.py).
_JACOBIAN_CHUNK_ELEMENTS = 1 << 18


def _chunk(rows: int, out_numel: int) -> int | None:
    """How many unit vectors one vmap call of jacrev/jacfwd takes (None: all). Inside
    another vmap the whole basis goes at once (chunks would need a cat rule there)."""
    if _batched._levels():
        return None
    return max(1, _JACOBIAN_CHUNK_ELEMENTS // max(1, out_numel))


def _loop(name: str, missing: Exception, fn: Callable[[Any], Any], basis: Tensor) -> Any:
    """The per-row loop, for a function using a primitive whose batching rule does not
    cover its arguments (a batched convolution weight...): documented in
    docs/transforms.md, with a warning naming the rule."""
    warnings.warn(
        f"{name}: {missing}; computing the Jacobian one row at a time", stacklevel=3
    )
    from . import stack

    return stack([fn(basis[k]) for k in range(basis.shape[0])], 0)


def _rewrap_zeros(shape: tuple[int, ...], like: Any) -> Any:
    zeros = _native._full(shape, 0.0, like.dtype, False)
    return zeros


def jacfwd(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Tensor]:
    """The Jacobian by forward mode: ``vmap`` of a JVP over the input's unit vectors
    (one batched forward pass for all columns). Shape: ``output.shape + input.shape``."""

    def wrapper(*args: Any) -> Tensor:
        x, at = _one_argument(f, args, argnums, "jacfwd")
        if x.numel() == 0:
            out = at(x)
            return _rewrap_zeros(tuple(out.shape) + tuple(x.shape), x)

        def column(tangent: Any) -> Any:
            return jvp(at, (x,), (tangent,))[1]

        basis = _unit_vectors(x.numel(), x.shape, x.dtype)
        try:
            chunk = _chunk(x.numel(), at(x).numel())
            columns = vmap(column, out_dims=-1, chunk_size=chunk)(basis)
        except Exception as missing:  # noqa: BLE001 (any op vmap cannot batch yet)
            columns = _loop("jacfwd", missing, column, basis).movedim(0, -1)
        return columns.reshape(*columns.shape[:-1], *x.shape)

    return wrapper


def hessian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Tensor]:
    """Second derivatives of a scalar function: ``jacfwd(jacrev(f))`` (forward over reverse)."""
    return jacfwd(jacrev(f, argnums), argnums)


def hvp(
    f: Callable[..., Any], primals: Sequence[Tensor], tangents: Sequence[Tensor]
) -> tuple[Any, Any]:
    """Hessian-vector product of a scalar function, forward over reverse:
    ``(grad f(primals), H · tangents)``, without forming ``H``."""
    nums = tuple(range(len(tuple(primals))))
    g = grad(f, argnums=nums)
    value, product = jvp(g, primals, tangents)
    if len(nums) == 1:
        return value[0], product[0]
    return value, product


def functional_call(
    module: Any,
    parameter_and_buffer_dicts: Any,
    args: Any = (),
    kwargs: Any = None,
) -> Any:
    """``module(*args, **kwargs)`` with its parameters and buffers replaced by the given
    tensors (``torch.func.functional_call``): the bridge from ``nn.Module`` to the
    transforms, e.g. ``vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)`` with
    ``loss`` calling ``functional_call(model, params, (x,))``. A tuple or list of dicts
    is merged first. See ``tapegrad.nn.utils.functional_call``."""
    from .nn.utils import functional_call as call

    if isinstance(parameter_and_buffer_dicts, (tuple, list)):
        merged: dict[str, Any] = {}
        for part in parameter_and_buffer_dicts:
            merged.update(part)
        parameter_and_buffer_dicts = merged
    return call(module, parameter_and_buffer_dicts, args, kwargs)
