"""tape_overhead: forward + backward of graphs too small for the arithmetic to matter.

- ``3 ops on 4 elements``: L = sum(tanh(x * w)) with x, w of 4 elements requiring grad.
- ``10 × tanh(h @ W) 8x16``: h of 8×16, ten 16×16 weights requiring grad,
  h ← tanh(h @ W_i), L = sum(h).

Each timed call runs the forward, ``backward()`` and clears the ``.grad`` it filled
(``.grad = None``), so every call starts alike. The NumPy row is the same maths with a
hand-written backward: no tape at all, the floor a tape is measured against.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from _timing import measure, rtol_for

LAYERS = 10


def _three_ops_reference(x: np.ndarray, w: np.ndarray) -> list[np.ndarray]:
    """[dL/dx, dL/dw] for L = sum(tanh(x * w)), in float64; also the NumPy row's maths."""
    t = np.tanh(x * w)
    dz = 1.0 - t * t  # d tanh(z)/dz = 1 - tanh(z)²
    return [dz * w, dz * x]


def _layers_reference(h: np.ndarray, weights: list[np.ndarray]) -> list[np.ndarray]:
    """[dL/dW_i] for h ← tanh(h @ W_i), L = sum(h); also the NumPy row's maths."""
    activations = [h]
    for w in weights:
        activations.append(np.tanh(activations[-1] @ w))
    grad = np.ones_like(activations[-1])
    grads = []
    for i in reversed(range(len(weights))):
        dz = grad * (1.0 - activations[i + 1] ** 2)
        grads.append(activations[i].T @ dz)
        grad = dz @ weights[i].T
    return grads[::-1]


def _autograd_steps(
    framework: str,
    x: np.ndarray,
    w: np.ndarray,
    h: np.ndarray,
    weights: list[np.ndarray],
) -> tuple[Callable[[], list[Any]], ...]:
    """Two callables (one per graph) that run forward + backward and return the leaves."""
    if framework == "tapegrad":
        import tapegrad as tg

        def leaf(a: np.ndarray, requires_grad: bool = True) -> Any:
            return tg.from_numpy(a, requires_grad)

        tanh = tg.tanh
    else:
        import torch

        def leaf(a: np.ndarray, requires_grad: bool = True) -> Any:
            return torch.from_numpy(a.copy()).requires_grad_(requires_grad)

        tanh = torch.tanh
    x_t, w_t, h_t = leaf(x), leaf(w), leaf(h, False)
    weight_ts = [leaf(v) for v in weights]

    def three_ops() -> list[Any]:
        x_t.grad = None
        w_t.grad = None
        tanh(x_t * w_t).sum().backward()
        return [x_t, w_t]

    def layers() -> list[Any]:
        out = h_t
        for weight in weight_ts:
            weight.grad = None
            out = tanh(out @ weight)
        out.sum().backward()
        return weight_ts

    return three_ops, layers


def run(framework: str, ctx: Any) -> None:
    rng = np.random.default_rng(0)
    x, w = (rng.standard_normal(4).astype(np.float32) for _ in range(2))
    h = rng.standard_normal((8, 16)).astype(np.float32)
    weights = [
        (rng.standard_normal((16, 16)) / 4).astype(np.float32) for _ in range(LAYERS)
    ]
    expected = [
        _three_ops_reference(x.astype(np.float64), w.astype(np.float64)),
        _layers_reference(
            h.astype(np.float64), [v.astype(np.float64) for v in weights]
        ),
    ]
    names = ["3 ops on 4 elements", f"{LAYERS} x tanh(h @ W) 8x16"]
    if framework == "numpy":
        steps = (
            lambda: _three_ops_reference(x, w),
            lambda: _layers_reference(h, weights),
        )
        for name, step, reference in zip(names, steps, expected):
            for i, (got, ref) in enumerate(zip(step(), reference)):
                ctx.check(f"{name} gradient {i}", got, ref, rtol_for("float32"))
    else:
        steps = _autograd_steps(framework, x, w, h, weights)
        for name, step, reference in zip(names, steps, expected):
            for i, (leaf, ref) in enumerate(zip(step(), reference)):
                ctx.check(
                    f"{name} gradient {i}",
                    leaf.grad.detach().numpy(),
                    ref,
                    rtol_for("float32"),
                )
    for name, step in zip(names, steps):
        timing = measure(step, ctx.settings)
        ctx.add(name, {"graph": name}, timing, time_us=timing["time_s"] * 1e6)
