"""op_overhead: the cost of one op called from Python on tiny inputs, in µs.

At these sizes the arithmetic is nothing; what is measured is the call path: argument
conversion, the dispatch, the output's allocation and, with grad, recording a node (the
node is freed again when the output is dropped, which is part of the cost). "with grad"
means every tensor input requires grad; "without grad" means none does (no ``no_grad``
block). NumPy has no "with grad" row.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from _timing import measure, rtol_for

ELEMENTWISE_SHAPES = [(1,), (64,), (32, 32)]
MATMUL_SIZES = [8, 32]


def _points(quick: bool) -> list[tuple[str, tuple[int, ...], tuple[int, ...] | None]]:
    """(op, shape of a, shape of b or None) for every point measured."""
    shapes = [(64,), (32, 32)] if quick else ELEMENTWISE_SHAPES
    points: list[tuple[str, tuple[int, ...], tuple[int, ...] | None]] = []
    for op in ("add", "mul", "relu"):
        for shape in shapes:
            points.append((op, shape, None if op == "relu" else shape))
    for n in [8] if quick else MATMUL_SIZES:
        points.append(("matmul", (n, n), (n, n)))
    return points


def _reference_grads(
    op: str, a: np.ndarray, b: np.ndarray | None, g: np.ndarray
) -> list[np.ndarray]:
    """Gradients of sum(op(a, b) * g) with respect to a (and b), in float64."""
    a, g = a.astype(np.float64), g.astype(np.float64)
    b = None if b is None else b.astype(np.float64)
    if op == "add":
        return [g, g]
    if op == "mul":
        return [g * b, g * a]
    if op == "relu":
        return [g * (a > 0)]
    return [g @ b.T, a.T @ g]  # matmul


def _numpy_reference(op: str, a: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    a64 = a.astype(np.float64)
    if op == "relu":
        return np.maximum(a64, 0.0)
    b64 = b.astype(np.float64)
    return {"add": a64 + b64, "mul": a64 * b64, "matmul": a64 @ b64}[op]


def _framework(name: str) -> tuple[Callable[..., Any], dict[str, Callable[..., Any]]]:
    """(make a tensor from a NumPy array and a requires_grad flag, op table)."""
    binary = {"add": operator.add, "mul": operator.mul, "matmul": operator.matmul}
    if name == "tapegrad":
        import tapegrad as tg

        return tg.from_numpy, {**binary, "relu": tg.relu}
    if name == "torch":
        import torch

        def make(array: np.ndarray, requires_grad: bool) -> Any:
            return torch.from_numpy(array.copy()).requires_grad_(requires_grad)

        return make, {**binary, "relu": torch.relu}
    return (lambda array, requires_grad: array.copy()), {
        **binary,
        "relu": partial(np.maximum, 0.0),
    }


def _to_numpy(t: Any) -> np.ndarray:
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def run(framework: str, ctx: Any) -> None:
    make, ops = _framework(framework)
    rng = np.random.default_rng(0)
    for op, shape_a, shape_b in _points(ctx.quick):
        a = rng.standard_normal(shape_a).astype(np.float32)
        b = None if shape_b is None else rng.standard_normal(shape_b).astype(np.float32)
        label = f"{op} {'x'.join(map(str, shape_a))}"
        for grad in (True, False) if framework != "numpy" else (False,):
            inputs = [make(a, grad)] + ([] if b is None else [make(b, grad)])
            fn = ops[op]
            out = fn(*inputs)
            ctx.check(
                f"{label} forward",
                _to_numpy(out),
                _numpy_reference(op, a, b),
                rtol_for("float32"),
            )
            if grad:
                g = rng.standard_normal(out.shape).astype(np.float32)
                out.backward(make(g, False))
                for i, (t, expected) in enumerate(
                    zip(inputs, _reference_grads(op, a, b, g))
                ):
                    ctx.check(
                        f"{label} grad of input {i}",
                        _to_numpy(t.grad),
                        expected,
                        rtol_for("float32"),
                    )
                    t.grad = None
            timing = measure(partial(fn, *inputs), ctx.settings)
            ctx.add(
                f"{label} {'with' if grad else 'without'} grad",
                {"op": op, "shape": list(shape_a), "grad": grad},
                timing,
                time_us=timing["time_s"] * 1e6,
            )
