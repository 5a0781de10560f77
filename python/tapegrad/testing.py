"""Gradient checking: analytical derivatives against float64 finite differences.

Two checks ship with tapegrad so that users can verify their own compositions the way
the library's test suite verifies every op:

- :func:`gradcheck` builds the full Jacobian of ``fn`` twice, once analytically (one
  vector-Jacobian product per output element, each with a one-hot ``grad_outputs``)
  and once by central finite differences, and compares them element by element.
- :func:`check_vjp` is the cheap random-direction version for inputs too large for a
  full Jacobian: it compares ``<u, J v>`` (finite differences along ``v``) with
  ``<J^T u, v>`` (one vector-Jacobian product).

:func:`assert_close` is PyTorch's ``torch.testing.assert_close``.

Example:
    >>> import tapegrad as tg
    >>> from tapegrad.testing import gradcheck
    >>> x = tg.tensor([0.5, 1.5], dtype=tg.float64, requires_grad=True)
    >>> gradcheck(lambda t: (t * t).sum(), [x])
    True
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Union

import numpy as np

import tapegrad as tg

from ._assert_close import assert_close

__all__ = [
    "GradcheckError",
    "assert_close",
    "check_vjp",
    "gradcheck",
    "gradgradcheck",
]

Inputs = Union["tg.Tensor", Sequence[Any]]


class GradcheckError(RuntimeError):
    """An analytical gradient disagrees with its finite-difference estimate."""


def gradcheck(
    fn: Callable[..., Any],
    inputs: Inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Checks ``fn``'s full analytical Jacobian against central finite differences.

    For every input tensor that requires grad, the Jacobian of every output with
    respect to it is computed twice: row by row with :func:`tapegrad.grad` (one-hot
    ``grad_outputs``, ``retain_graph=True``) and column by column as
    ``(fn(x + eps e_k) - fn(x - eps e_k)) / (2 eps)`` in float64. Also checks that a
    zero ``grad_outputs`` gives zero gradients and that each gradient has its input's
    shape and dtype.

    Args:
        fn: Called as ``fn(*inputs)``; returns a tensor or a tuple of tensors.
        inputs: A tensor or a sequence of arguments. Tensors with ``requires_grad``
            are differentiated; everything else is passed through unchanged.
        eps: Finite-difference step.
        atol: Absolute tolerance.
        rtol: Relative tolerance, relative to the numerical value.
        raise_exception: If False, return False instead of raising on a mismatch.

    Returns:
        True if every check passes; False on a mismatch when ``raise_exception``
        is False.

    Raises:
        GradcheckError: On a mismatch, naming the input, the element and both
            values (only when ``raise_exception`` is True).
        ValueError: If no input tensor requires grad.
    """
    args = _as_args(inputs)
    diff_positions = _differentiable_positions(args, "gradcheck")
    try:
        with tg.enable_grad():  # the analytical side needs a graph even under no_grad
            _check_jacobians(fn, args, diff_positions, eps, atol, rtol)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def check_vjp(
    fn: Callable[..., Any],
    inputs: Inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
    raise_exception: bool = True,
) -> bool:
    """Checks one VJP of ``fn`` against finite differences along a random direction.

    Draws a random cotangent ``u`` (output space) and a random tangent ``v`` (input
    space) and compares ``<u, J v>``, estimated by central differences along ``v``,
    with ``<J^T u, v>``, computed by one call of :func:`tapegrad.grad`. Costs three
    evaluations of ``fn`` and one backward pass, whatever the input size.

    Args:
        fn: Called as ``fn(*inputs)``; returns a tensor or a tuple of tensors.
        inputs: A tensor or a sequence of arguments; tensors with ``requires_grad``
            are the directions' space.
        eps: Finite-difference step.
        atol: Absolute tolerance.
        rtol: Relative tolerance, relative to the finite-difference value.
        seed: Seed of the random directions.
        raise_exception: If False, return False instead of raising on a mismatch.

    Returns:
        True if both sides agree; False otherwise when ``raise_exception`` is False.

    Raises:
        GradcheckError: If ``<u, J v>`` and ``<J^T u, v>`` disagree.
        ValueError: If no input tensor requires grad.
    """
    args = _as_args(inputs)
    diff_positions = _differentiable_positions(args, "check_vjp")
    try:
        with tg.enable_grad():
            _check_random_vjp(fn, args, diff_positions, eps, atol, rtol, seed)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def _check_random_vjp(
    fn: Callable[..., Any],
    args: list[Any],
    diff_positions: list[int],
    eps: float,
    atol: float,
    rtol: float,
    seed: int,
) -> None:
    """Raises GradcheckError unless <J^T u, v> matches <u, J v> for random u, v."""
    rng = np.random.default_rng(seed)
    outputs = _outputs(fn(*args))
    cotangents = [rng.standard_normal(tuple(out.shape)) for out in outputs]
    tangents = [rng.standard_normal(tuple(args[p].shape)) for p in diff_positions]

    grads = _vjp(outputs, [args[p] for p in diff_positions], cotangents, diff_positions)
    vjp_side = sum(
        float(np.sum(_to_numpy(g) * v))
        for g, v in zip(grads, tangents)
        if g is not None
    )

    def shifted(sign: float) -> list[np.ndarray]:
        moved = list(args)
        for p, v in zip(diff_positions, tangents):
            moved[p] = _with_values(args[p], _to_numpy(args[p]) + sign * eps * v)
        return [_to_numpy(out) for out in _outputs(fn(*moved))]

    plus, minus = shifted(1.0), shifted(-1.0)
    jvp_side = sum(
        float(np.sum(u * (p - m))) / (2 * eps)
        for u, p, m in zip(cotangents, plus, minus)
    )
    if not abs(vjp_side - jvp_side) <= atol + rtol * abs(jvp_side):
        raise GradcheckError(
            f"check_vjp: <J^T u, v> = {vjp_side!r} (analytical) but <u, J v> = "
            f"{jvp_side!r} (numerical) with seed={seed}, atol={atol}, rtol={rtol}"
        )


def _check_jacobians(
    fn: Callable[..., Any],
    args: list[Any],
    diff_positions: list[int],
    eps: float,
    atol: float,
    rtol: float,
) -> None:
    """Raises GradcheckError at the first disagreement between the two Jacobians."""
    diff_inputs = [args[p] for p in diff_positions]
    outputs = _outputs(fn(*args))
    analytical = _analytical_jacobians(outputs, diff_inputs, diff_positions)
    for position, jacobian in zip(diff_positions, analytical):
        numerical = _numerical_jacobian(fn, args, position, eps)
        if numerical.shape != jacobian.shape:
            raise GradcheckError(
                f"gradcheck: input {position}: analytical Jacobian has shape "
                f"{tuple(jacobian.shape)} but the numerical one {tuple(numerical.shape)}"
            )
        bad = ~(np.abs(jacobian - numerical) <= atol + rtol * np.abs(numerical))
        if bad.any():
            row, col = (int(i) for i in np.argwhere(bad)[0])
            out_index, out_element = _locate_output(outputs, row)
            element = np.unravel_index(col, tuple(args[position].shape))
            raise GradcheckError(
                f"gradcheck: Jacobian mismatch for input {position} at element "
                f"{tuple(int(i) for i in element)}, output {out_index} element "
                f"{out_element}: analytical {float(jacobian[row, col])!r} vs numerical "
                f"{float(numerical[row, col])!r} (atol={atol}, rtol={rtol})"
            )
    _check_zero_cotangent(outputs, diff_inputs, diff_positions)


def _analytical_jacobians(
    outputs: list[Any], inputs: list[Any], positions: list[int]
) -> list[np.ndarray]:
    """Returns one (total output elements, input elements) Jacobian per input.

    Row r is the VJP with a one-hot cotangent at output element r; each gradient's
    shape and dtype are checked against its input on the way.
    """
    rows = sum(_numel(out) for out in outputs)
    jacobians = [np.zeros((rows, _numel(x))) for x in inputs]
    row = 0
    for k, out in enumerate(outputs):
        for flat in range(_numel(out)):
            cotangents = [np.zeros(tuple(o.shape)) for o in outputs]
            cotangents[k].reshape(-1)[flat] = 1.0
            grads = _vjp(outputs, inputs, cotangents, positions)
            for jacobian, grad in zip(jacobians, grads):
                if grad is not None:
                    jacobian[row] = _to_numpy(grad).reshape(-1)
            row += 1
    return jacobians


def _numerical_jacobian(
    fn: Callable[..., Any], args: list[Any], position: int, eps: float
) -> np.ndarray:
    """Central differences in float64, one column per element of ``args[position]``."""
    base = _to_numpy(args[position])
    columns = []
    for flat in range(base.size):
        sides = []
        for sign in (1.0, -1.0):
            values = base.copy()
            values.reshape(-1)[flat] += sign * eps
            moved = list(args)
            moved[position] = _with_values(args[position], values)
            sides.append([_to_numpy(out).reshape(-1) for out in _outputs(fn(*moved))])
        plus = np.concatenate(sides[0]) if sides[0] else np.zeros(0)
        minus = np.concatenate(sides[1]) if sides[1] else np.zeros(0)
        columns.append((plus - minus) / (2 * eps))
    if not columns:
        rows = sum(_numel(out) for out in _outputs(fn(*args)))
        return np.zeros((rows, 0))
    return np.stack(columns, axis=1)


def _check_zero_cotangent(
    outputs: list[Any], inputs: list[Any], positions: list[int]
) -> None:
    """A zero cotangent must pull back to zero gradients."""
    zeros = [np.zeros(tuple(out.shape)) for out in outputs]
    for position, grad in zip(positions, _vjp(outputs, inputs, zeros, positions)):
        if grad is not None and np.any(_to_numpy(grad) != 0):
            raise GradcheckError(
                f"gradcheck: a zero grad_output gave a nonzero gradient for input "
                f"{position}: {_to_numpy(grad).tolist()!r}"
            )


def _vjp(
    outputs: list[Any],
    inputs: list[Any],
    cotangents: list[np.ndarray],
    positions: list[int],
) -> list[Any]:
    """J^T u for the outputs that require grad; None where an input is unused.

    Each returned gradient is checked to have its input's shape and dtype;
    ``positions`` are the inputs' places in the argument list, for messages.
    """
    live = [k for k, out in enumerate(outputs) if out.requires_grad]
    if not live:
        return [None] * len(inputs)
    grads = tg.grad(
        [outputs[k] for k in live],
        inputs,
        grad_outputs=[tg.tensor(cotangents[k], dtype=outputs[k].dtype) for k in live],
        retain_graph=True,
        allow_unused=True,
    )
    for position, x, grad in zip(positions, inputs, grads):
        if grad is None:
            continue
        if tuple(grad.shape) != tuple(x.shape) or grad.dtype != x.dtype:
            raise GradcheckError(
                f"gradcheck: gradient of input {position} has shape "
                f"{tuple(grad.shape)} and dtype {grad.dtype}, but the input has shape "
                f"{tuple(x.shape)} and dtype {x.dtype}"
            )
    return list(grads)


def _as_args(inputs: Inputs) -> list[Any]:
    if isinstance(inputs, tg.Tensor):
        return [inputs]
    return list(inputs)


def _differentiable_positions(args: list[Any], caller: str) -> list[int]:
    positions = [
        p for p, a in enumerate(args) if isinstance(a, tg.Tensor) and a.requires_grad
    ]
    if not positions:
        raise ValueError(f"{caller}: no input tensor requires grad")
    for p in positions:
        if args[p].dtype != tg.float64:
            warnings.warn(
                f"{caller}: input {p} is {args[p].dtype}, not float64; finite "
                f"differences will be inaccurate",
                UserWarning,
                stacklevel=3,
            )
    return positions


def _outputs(result: Any) -> list[Any]:
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    for k, out in enumerate(outputs):
        if not isinstance(out, tg.Tensor):
            raise TypeError(
                f"gradcheck: fn must return tensors; output {k} is {type(out).__name__}"
            )
    return outputs


def _with_values(like: Any, values: np.ndarray) -> Any:
    """A fresh leaf with ``like``'s dtype and requires_grad holding ``values``."""
    return tg.tensor(values, dtype=like.dtype, requires_grad=like.requires_grad)


def _to_numpy(x: Any) -> np.ndarray:
    return np.asarray(x.detach().__array__(copy=True), dtype=np.float64)


def _numel(x: Any) -> int:
    return int(np.prod(tuple(x.shape), dtype=np.int64))


def _locate_output(outputs: list[Any], row: int) -> tuple[int, tuple[int, ...]]:
    """Maps a Jacobian row to (output index, element multi-index)."""
    for k, out in enumerate(outputs):
        if row < _numel(out):
            index = np.unravel_index(row, tuple(out.shape))
            return k, tuple(int(i) for i in index)
        row -= _numel(out)
    raise AssertionError("row out of range")


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Inputs,
    grad_outputs: Sequence[Any] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Checks second derivatives: the gradients of ``fn`` (built with ``create_graph=True``)
    are themselves gradchecked, as functions of the inputs and of ``grad_outputs``.

    Args:
        fn: Called as ``fn(*inputs)``; returns a tensor or a tuple of tensors.
        inputs: As for :func:`gradcheck`; use float64 tensors that require grad.
        grad_outputs: One cotangent per output; random float64 ones (seeded by ``seed``)
            when omitted, so that every second-derivative term is exercised.
        eps, atol, rtol, raise_exception: As for :func:`gradcheck`.
        seed: Seeds the random ``grad_outputs``.

    Returns:
        True when every second derivative matches, else False (or raises).
    """
    args = _as_args(inputs)
    positions = _differentiable_positions(args, "gradgradcheck")
    outputs = _outputs(fn(*args))
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = [
            tg.tensor(
                rng.standard_normal(tuple(o.shape)),
                dtype=tg.float64,
                requires_grad=True,
            )
            for o in outputs
        ]
    cotangents = list(grad_outputs)
    if len(cotangents) != len(outputs):
        raise ValueError(
            f"gradgradcheck: {len(cotangents)} grad_outputs for {len(outputs)} outputs"
        )
    n_args = len(args)

    def first_derivatives(*flat: Any) -> tuple[Any, ...]:
        call_args, seeds = list(flat[:n_args]), list(flat[n_args:])
        outs = _outputs(fn(*call_args))
        grads = tg.grad(
            outs,
            [call_args[i] for i in positions],
            seeds,
            create_graph=True,
            allow_unused=True,
        )
        return tuple(
            g if g is not None else tg.zeros_like(call_args[i])
            for g, i in zip(grads, positions)
        )

    return gradcheck(
        first_derivatives,
        [*args, *cotangents],
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
    )
