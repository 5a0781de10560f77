"""matmul: GFLOP/s of the three products a linear layer needs, forward and backward.

For a shape (m, k, n) — (batch, in, out) of a layer Y = X·W with X of m×k and W of k×n:

- ``X·W``  : the forward, (m×k)·(k×n);
- ``Xᵀ·dY``: the weight gradient, (k×m)·(m×n), X's transpose taken as a strided view;
- ``dY·Wᵀ``: the input gradient, (m×n)·(n×k), W's transpose taken as a strided view.

Each is 2·m·k·n floating-point operations. Squares are (n, n, n). Operands are plain
tensors that do not require grad (no tape). Before timing, each framework's three
products are checked against NumPy in float64, and tapegrad's and torch's backward of
X·W against the two gradient products.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from _timing import measure, rtol_for

SQUARES = [128, 256, 512, 1024]
MLP_SHAPES = [(64, 784, 256), (256, 784, 1024), (128, 1024, 1024)]
VARIANTS = ("X·W", "Xᵀ·dY", "dY·Wᵀ")
DTYPES = ("float32", "float64")


def shapes(quick: bool) -> list[tuple[str, tuple[int, int, int]]]:
    """(kind, (m, k, n)) for every shape measured."""
    squares = [256] if quick else SQUARES
    mlp = MLP_SHAPES[:1] if quick else MLP_SHAPES
    return [("square", (n, n, n)) for n in squares] + [("mlp", s) for s in mlp]


def operands(
    m: int, k: int, n: int, dtype: str, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (m×k), W (k×n) and dY (m×n), standard normal."""
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(s).astype(dtype) for s in ((m, k), (k, n), (m, n)))


def products(
    framework: str, x: np.ndarray, w: np.ndarray, dy: np.ndarray
) -> tuple[dict[str, Callable[[], Any]], Callable[[Any], Any]]:
    """The three products as zero-argument callables, and a to-NumPy converter."""
    if framework == "tapegrad":
        import tapegrad as tg

        xt, wt, dyt = tg.from_numpy(x), tg.from_numpy(w), tg.from_numpy(dy)
        convert: Callable[[Any], Any] = lambda t: t.numpy()
    elif framework == "torch":
        import torch

        xt, wt, dyt = (torch.from_numpy(a.copy()) for a in (x, w, dy))
        convert = lambda t: t.numpy()
    else:
        xt, wt, dyt = x, w, dy
        convert = np.asarray
    return {
        "X·W": lambda: xt @ wt,
        "Xᵀ·dY": lambda: xt.T @ dyt,
        "dY·Wᵀ": lambda: dyt @ wt.T,
    }, convert


def check_products(
    ctx: Any,
    framework: str,
    label: str,
    x: np.ndarray,
    w: np.ndarray,
    dy: np.ndarray,
    fns: dict[str, Callable[[], Any]],
    convert: Callable[[Any], Any],
) -> None:
    """Checks the three products, and the autograd gradients of X·W, against float64."""
    x64, w64, dy64 = (a.astype(np.float64) for a in (x, w, dy))
    expected = {"X·W": x64 @ w64, "Xᵀ·dY": x64.T @ dy64, "dY·Wᵀ": dy64 @ w64.T}
    rtol = rtol_for(str(x.dtype))
    for variant, fn in fns.items():
        ctx.check(f"{label} {variant}", convert(fn()), expected[variant], rtol)
    if framework == "numpy":
        return
    if framework == "tapegrad":
        import tapegrad as tg

        xg, wg, g = tg.from_numpy(x, True), tg.from_numpy(w, True), tg.from_numpy(dy)
    else:
        import torch

        xg, wg = (torch.from_numpy(a.copy()).requires_grad_() for a in (x, w))
        g = torch.from_numpy(dy.copy())
    (xg @ wg).backward(g)
    ctx.check(f"{label} backward dX", xg.grad.numpy(), expected["dY·Wᵀ"], rtol)
    ctx.check(f"{label} backward dW", wg.grad.numpy(), expected["Xᵀ·dY"], rtol)


def bench_label(
    kind: str, shape: tuple[int, int, int], dtype: str, variant: str
) -> str:
    m, k, n = shape
    size = f"{n}²" if kind == "square" else f"({m},{k},{n})"
    return f"{dtype} {size} {variant}"


def run(framework: str, ctx: Any) -> None:
    for dtype in DTYPES:
        for kind, (m, k, n) in shapes(ctx.quick):
            x, w, dy = operands(m, k, n, dtype)
            fns, convert = products(framework, x, w, dy)
            label = bench_label(kind, (m, k, n), dtype, "").strip()
            check_products(ctx, framework, label, x, w, dy, fns, convert)
            for variant, fn in fns.items():
                timing = measure(fn, ctx.settings)
                flops = 2.0 * m * k * n
                ctx.add(
                    bench_label(kind, (m, k, n), dtype, variant),
                    {
                        "kind": kind,
                        "m": m,
                        "k": k,
                        "n": n,
                        "dtype": dtype,
                        "variant": variant,
                    },
                    timing,
                    gflops=flops / timing["time_s"] / 1e9,
                )
