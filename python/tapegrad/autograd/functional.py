"""``tapegrad.autograd.functional``: PyTorch's higher-level autograd API.

``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp`` and ``vhp`` with the signatures of
``torch.autograd.functional``, as thin layers over ``tapegrad.func``: ``func(*inputs)``
is called with a tensor or a tuple of tensors, results mirror that structure (a
tensor for a tensor, tuples for tuples), and with ``create_graph=False`` they carry no
graph. ``vectorize`` is accepted and changes nothing (results are the same either
way); ``strict=True`` raises when an output does not depend on an input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _native
from .. import func as transforms
from .._errors import ArgumentError, DTypeError, GraphError, ShapeError
from .._grad_mode import enable_grad
from .._native import Tensor

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]

_STRATEGIES = ("reverse-mode", "forward-mode")


def _as_tuple(value: Any, what: str, fn: str) -> tuple[bool, tuple[Tensor, ...]]:
    """(whether ``value`` was a tuple, its tensors as a tuple), checking types."""
    is_tuple = isinstance(value, (tuple, list))
    items = tuple(value) if is_tuple else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            raise DTypeError(
                f"{fn}: the {what} must be either a Tensor or a tuple of Tensors, but "
                f"the value at index {i} has type {type(item).__name__}"
            )
    return is_tuple, items


def _shaped(value: tuple[Any, ...], is_tuple: bool) -> Any:
    return value if is_tuple else value[0]


def _finish(value: Any, create_graph: bool) -> Any:
    """Without ``create_graph``, results carry no graph (PyTorch detaches them)."""
    return value if create_graph else transforms._plain(value)


def _vectors(
    v: Any, like: tuple[Tensor, ...], what: str, fn: str
) -> tuple[Tensor, ...]:
    """``v`` checked against ``like``; None only for one single-element tensor."""
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise ArgumentError(
                f"{fn}: the vector v can only be None if the {what} is a single Tensor "
                f"with a single element"
            )
        return (_native._full(like[0].shape, 1.0, like[0].dtype, False),)
    _, vs = _as_tuple(v, "vector v", fn)
    if len(vs) != len(like):
        raise ArgumentError(
            f"{fn}: v has {len(vs)} tensor(s) but the {what} has {len(like)}"
        )
    for i, (a, b) in enumerate(zip(vs, like)):
        if tuple(a.shape) != tuple(b.shape):
            raise ShapeError(
                f"{fn}: entry {i} of v has shape {tuple(a.shape)}, but entry {i} of "
                f"the {what} has shape {tuple(b.shape)}"
            )
    return vs


def _check_strict(
    fn_name: str, f: Callable[..., Any], inputs: tuple[Tensor, ...], order: int
) -> None:
    """strict=True: every input must reach the outputs (``order`` 2: reach the
    gradient, for Hessians). Runs ``f`` once more, only when asked."""
    xs = [x.detach().requires_grad_() for x in inputs]
    with enable_grad():
        _, outs = _as_tuple(f(*xs), "outputs of the user-provided function", fn_name)
        if order == 2:
            outs = tuple(
                g
                for g in _native._grad(list(outs), xs, None, True, True, True)
                if g is not None
            )
        found = (
            _native._grad(list(outs), xs, [_ones(o) for o in outs], True, False, True)
            if outs and all(o.requires_grad for o in outs)
            else (None,) * len(xs)
        )
    for i, g in enumerate(found):
        if g is None:
            what = "hessian" if order == 2 else "output"
            raise GraphError(
                f"{fn_name}: the {what} of the user-provided function is independent "
                f"of input {i}. This is not allowed in strict mode."
            )


def vjp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(*inputs), vᵀ J)``: the vector-Jacobian product, by reverse mode."""
    f = func
    is_tuple_in, xs = _as_tuple(inputs, "inputs", "vjp")
    if strict:
        _check_strict("vjp", f, xs, 1)
    out, vjp_fn = transforms.vjp(f, *xs)
    _, outs = _as_tuple(out, "outputs of the user-provided function", "vjp")
    grads = vjp_fn(*_vectors(v, outs, "output of the user-provided function", "vjp"))
    return _finish((out, _shaped(grads, is_tuple_in)), create_graph)


def jvp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(*inputs), J v)``: the Jacobian-vector product, by forward mode."""
    f = func
    _, xs = _as_tuple(inputs, "inputs", "jvp")
    vs = _vectors(v, xs, "input to the user-provided function", "jvp")
    if strict:
        _check_strict("jvp", f, xs, 1)
    out, tangent = transforms.jvp(f, xs, vs)
    return _finish((out, tangent), create_graph)


def jacobian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The Jacobian of ``func`` at ``inputs``.

    Each block has shape ``output.shape + input.shape``. One tensor for one input and
    one output; a tuple over inputs (or outputs); a tuple of tuples,
    ``result[i][j] = d output_i / d input_j``, when both are tuples.
    ``strategy="reverse-mode"`` runs one backward sweep per output element,
    ``"forward-mode"`` one forward-mode pass per input element (cheaper when the
    inputs are the smaller side).
    """
    f = func
    if strategy not in _STRATEGIES:
        raise ArgumentError(
            f"jacobian: expected strategy to be either 'forward-mode' or "
            f"'reverse-mode', got {strategy!r}"
        )
    is_tuple_in, xs = _as_tuple(inputs, "inputs", "jacobian")
    if strict:
        _check_strict("jacobian", f, xs, 1)
    if strategy == "reverse-mode":
        is_tuple_out, blocks = _reverse_jacobian(f, xs)
    else:
        is_tuple_out, blocks = _forward_jacobian(f, xs)
    rows = tuple(_shaped(row, is_tuple_in) for row in blocks)
    return _finish(_shaped(rows, is_tuple_out), create_graph)


def _ones(like: Tensor) -> Tensor:
    return _native._full(tuple(like.shape), 1.0, like.dtype, False)


def _zeros(shape: tuple[int, ...], like: Tensor) -> Tensor:
    return _native._full(shape, 0.0, like.dtype, False)


def _reverse_jacobian(
    f: Callable[..., Any], xs: tuple[Tensor, ...]
) -> tuple[bool, list[tuple[Tensor, ...]]]:
    """One forward pass, then one vjp per output element: blocks[i][j]."""
    out, vjp_fn = transforms.vjp(f, *xs)
    is_tuple_out, outs = _as_tuple(
        out, "outputs of the user-provided function", "jacobian"
    )
    blocks = []
    for i, o in enumerate(outs):
        rows: list[tuple[Tensor, ...]] = []
        for k in range(o.numel()):
            seeds = [_zeros(tuple(p.shape), p) for p in outs]
            seeds[i] = _basis(o, k)
            rows.append(vjp_fn(*seeds))
        blocks.append(
            tuple(
                _native.stack([r[j] for r in rows], 0).reshape(
                    tuple(o.shape) + tuple(x.shape)
                )
                if rows
                else _zeros(tuple(o.shape) + tuple(x.shape), x)
                for j, x in enumerate(xs)
            )
        )
    return is_tuple_out, blocks


def _forward_jacobian(
    f: Callable[..., Any], xs: tuple[Tensor, ...]
) -> tuple[bool, list[tuple[Tensor, ...]]]:
    """One forward-mode pass per input element: columns of every output at once."""
    out = f(*xs)
    is_tuple_out, outs = _as_tuple(
        out, "outputs of the user-provided function", "jacobian"
    )
    columns: list[list[tuple[Tensor, ...]]] = []  # [j][k] -> tangent of each output
    for j, x in enumerate(xs):
        per_input = []
        for k in range(x.numel()):
            tangents = [_zeros(tuple(p.shape), p) for p in xs]
            tangents[j] = _basis(x, k)
            _, t = transforms.jvp(f, xs, tangents)
            per_input.append(t if is_tuple_out else (t,))
        columns.append(per_input)
    blocks = []
    for i, o in enumerate(outs):
        row = []
        for j, x in enumerate(xs):
            shape = tuple(o.shape) + tuple(x.shape)
            cols = [c[i].reshape(-1) for c in columns[j]]
            row.append(
                _native.stack(cols, -1).reshape(shape) if cols else _zeros(shape, x)
            )
        blocks.append(tuple(row))
    return is_tuple_out, blocks


def _basis(x: Tensor, k: int) -> Tensor:
    """The ``k``-th one-hot tensor of ``x``'s shape."""
    return transforms._basis(x, k).reshape(tuple(x.shape))


def _gradient_of(f: Callable[..., Any], count: int, fn: str) -> Callable[..., Any]:
    """``xs -> (d f / d x_j for each j)`` for a scalar function ``f``."""

    def gradients(*xs: Tensor) -> tuple[Tensor, ...]:
        return transforms.grad(_scalar_output(f, fn), argnums=tuple(range(count)))(*xs)

    return gradients


def _scalar_output(f: Callable[..., Any], fn: str) -> Callable[..., Tensor]:
    def checked(*xs: Tensor) -> Tensor:
        out = f(*xs)
        if isinstance(out, (tuple, list)) and len(out) == 1:
            out = out[0]
        if not isinstance(out, Tensor):
            raise DTypeError(
                f"{fn}: the function given should return a single Tensor, got "
                f"{type(out).__name__}"
            )
        if out.numel() != 1:
            raise ShapeError(
                f"{fn}: the Tensor returned by the function given should contain a "
                f"single element, but it has shape {tuple(out.shape)}"
            )
        return out

    return checked


def hessian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of a scalar ``func``: one tensor of shape ``input.shape * 2`` for
    one input, else ``result[i][j] = d² func / d input_i d input_j``."""
    f = func
    is_tuple_in, xs = _as_tuple(inputs, "inputs", "hessian")
    if strict:
        _check_strict("hessian", f, xs, 2)
    blocks = jacobian(
        _gradient_of(f, len(xs), "hessian"),
        xs,
        create_graph=True,
        strategy=outer_jacobian_strategy,
    )
    result = blocks if is_tuple_in else blocks[0][0]
    return _finish(result, create_graph)


def hvp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(*inputs), H v)`` for a scalar ``func``, forward over reverse mode,
    without forming ``H``."""
    return _second_order("hvp", func, inputs, v, create_graph, strict)


def vhp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(*inputs), vᵀ H)`` for a scalar ``func``. The Hessian of a twice
    continuously differentiable function is symmetric, so this equals ``hvp``
    and is computed the same way."""
    return _second_order("vhp", func, inputs, v, create_graph, strict)


def _second_order(
    fn: str,
    f: Callable[..., Any],
    inputs: Any,
    v: Any,
    create_graph: bool,
    strict: bool,
) -> tuple[Any, Any]:
    is_tuple_in, xs = _as_tuple(inputs, "inputs", fn)
    vs = _vectors(v, xs, "input to the user-provided function", fn)
    if strict:
        _check_strict(fn, f, xs, 2)
    both = transforms.value_and_grad(
        _scalar_output(f, fn), argnums=tuple(range(len(xs)))
    )

    def value_and_gradients(*ys: Tensor) -> tuple[Tensor, ...]:
        value, grads = both(*ys)
        return (value, *grads)

    outs, tangents = transforms.jvp(value_and_gradients, xs, vs)
    return _finish((outs[0], _shaped(tuple(tangents[1:]), is_tuple_in)), create_graph)
