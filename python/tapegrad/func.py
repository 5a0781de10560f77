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
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from . import _native
from ._errors import ArgumentError, DTypeError, ShapeError
from ._grad_mode import enable_grad
from ._native import Tensor

__all__ = [
    "dual_level",
    "grad",
    "hessian",
    "hvp",
    "jacfwd",
    "jacrev",
    "jvp",
    "value_and_grad",
    "vjp",
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
    return nested or any(isinstance(a, Tensor) and a.requires_grad for a in args)


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


def _differentiable(x: Any, fn: str, position: int) -> Tensor:
    """A version of ``x`` to differentiate with respect to, keeping its place in any outer
    transform: its graph if it requires grad, its tangent if it is dual."""
    if not isinstance(x, Tensor):
        raise DTypeError(
            f"{fn}: argument {position} is {type(x).__name__}, not a Tensor"
        )
    # Always a fresh variable, even when x already requires grad: a closure that captured x
    # itself must not be differentiated as if it were the argument.
    return x._alias()


def _scalar(out: Any, fn: str) -> Tensor:
    if not isinstance(out, Tensor):
        raise DTypeError(
            f"{fn}: the function must return a Tensor, got {type(out).__name__}"
        )
    if out.numel() != 1:
        raise ShapeError(
            f"{fn}: the function must return a scalar (one-element) tensor to be "
            f"differentiated, but returned shape {out.shape}; use vjp or jacrev instead"
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
        for n in nums:
            xs[n] = _differentiable(args[n], "grad", n)
        with _reverse_transform() as nested, enable_grad():
            result = f(*xs)
            out, aux = result if has_aux else (result, None)
            out = _scalar(out, "grad")
            # An outer transform differentiates the gradient too: record its graph then.
            create = _needs_graph(nested, args)
            grads = _native._grad(
                [out], [xs[n] for n in nums], None, create, create, True
            )
        grads = tuple(
            g if g is not None else _native._full(xs[n].shape, 0.0, xs[n].dtype, False)
            for g, n in zip(grads, nums)
        )
        picked = grads[0] if isinstance(argnums, int) else grads
        value = (out, aux) if has_aux else out
        if not create and _native._current_dual_level() is None:
            value = _plain(value)
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
    xs = [_differentiable(p, "vjp", i) for i, p in enumerate(primals)]
    with _reverse_transform() as nested, enable_grad():
        out = f(*xs)
    outs = [out] if isinstance(out, Tensor) else list(out)
    create = _needs_graph(nested, primals)

    def vjp_fn(*cotangents: Tensor) -> tuple[Tensor, ...]:
        if len(cotangents) != len(outs):
            raise ArgumentError(
                f"vjp_fn: got {len(cotangents)} cotangent(s) for {len(outs)} output(s)"
            )
        for i, (c, o) in enumerate(zip(cotangents, outs)):
            if not isinstance(c, Tensor) or c.shape != o.shape:
                shown = c.shape if isinstance(c, Tensor) else type(c).__name__
                raise ShapeError(
                    f"vjp_fn: cotangent {i} has shape {shown}, but output {i} has shape "
                    f"{o.shape}"
                )
        with enable_grad():
            grads = _native._grad(outs, xs, list(cotangents), True, create, True)
        return tuple(
            g if g is not None else _native._full(x.shape, 0.0, x.dtype, False)
            for g, x in zip(grads, xs)
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
            if not isinstance(v, Tensor):
                raise DTypeError(f"jvp: {what} {i} is {type(v).__name__}, not a Tensor")
    with dual_level():
        duals = [_native._make_dual(p, t) for p, t in zip(primals, tangents)]
        out = f(*duals)
        if isinstance(out, Tensor):
            outs = [out]
        elif isinstance(out, (tuple, list)) and all(isinstance(o, Tensor) for o in out):
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
        tangent_outs = [
            o._tangent
            if o._tangent is not None
            else _native._full(o.shape, 0.0, o.dtype, False)
            for o in outs
        ]
    if isinstance(out, Tensor):
        return out, tangent_outs[0]
    return tuple(outs), tuple(tangent_outs)


def _basis(x: Tensor, k: int) -> Tensor:
    e = _native._full((x.numel(),), 0.0, x.dtype, False)
    return _native._where(_native._arange(0, x.numel(), 1, x.dtype, False) == k, 1.0, e)


def _check_single_output(out: Any, name: str) -> None:
    """jacrev and jacfwd differentiate one Tensor output: anything else is refused alike."""
    if not isinstance(out, Tensor):
        raise DTypeError(
            f"{name}: the function must return a Tensor, got {type(out).__name__}"
        )


def jacrev(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Tensor]:
    """The Jacobian by reverse mode: one VJP per output element.
    Shape: ``output.shape + input.shape``."""

    def wrapper(*args: Any) -> Tensor:
        (n,) = _argnums(argnums, len(args), "jacrev")
        xs = list(args)
        x = xs[n] = _differentiable(args[n], "jacrev", n)
        with _reverse_transform() as nested, enable_grad():
            out = f(*xs)
            _check_single_output(out, "jacrev")
            create = _needs_graph(nested, args)
            rows = []
            for k in range(out.numel()):
                seed = _basis(out, k).reshape(out.shape)
                (g,) = _native._grad([out], [x], [seed], True, create, True)
                rows.append(
                    g if g is not None else _native._full(x.shape, 0.0, x.dtype, False)
                )
            if not rows:
                return _native._full(
                    tuple(out.shape) + tuple(x.shape), 0.0, x.dtype, False
                )
            return _native.stack(rows, 0).reshape(tuple(out.shape) + tuple(x.shape))

    return wrapper


def jacfwd(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Tensor]:
    """The Jacobian by forward mode: one JVP per input element.
    Shape: ``output.shape + input.shape``."""

    def wrapper(*args: Any) -> Tensor:
        (n,) = _argnums(argnums, len(args), "jacfwd")
        x = args[n]
        if not isinstance(x, Tensor):
            raise DTypeError(
                f"jacfwd: argument {n} is {type(x).__name__}, not a Tensor"
            )

        def at(xn: Tensor) -> Any:
            out = f(*args[:n], xn, *args[n + 1 :])
            _check_single_output(out, "jacfwd")
            return out

        columns = []
        out = None
        for k in range(x.numel()):
            out, column = jvp(at, (x,), (_basis(x, k).reshape(x.shape),))
            columns.append(column.reshape(-1))
        if out is None:
            out = at(x)
            return _native._full(tuple(out.shape) + tuple(x.shape), 0.0, x.dtype, False)
        return _native.stack(columns, -1).reshape(tuple(out.shape) + tuple(x.shape))

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
