"""elementwise: memory bandwidth of elementwise ops, float32, 2^10 to 2^22 elements.

GB/s counts the bytes an ideal kernel moves: ``add`` reads two arrays and writes one
(3·n·4 bytes), ``exp`` reads one and writes one (2·n·4), ``relu backward`` reads the
input and the incoming gradient and writes the gradient (3·n·4). Real kernels may move
more (a mask array, a temporary): that shows up as a lower GB/s.

``relu backward`` is the gradient of y = relu(x) for a given dy: ``tg.grad(y, x, dy)``
and ``torch.autograd.grad(y, x, dy)`` (the graph is retained and reused), and
``dy * (x > 0)`` in NumPy. At small sizes it includes the autograd engine's fixed cost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from _timing import measure, rtol_for

OPS = {"add": 3, "exp": 2, "relu backward": 3}  # arrays moved per element


def sizes(quick: bool) -> list[int]:
    return [2**10, 2**16, 2**22] if quick else [2**p for p in range(10, 23, 2)]


def _kernels(
    framework: str, x: np.ndarray, y: np.ndarray, dy: np.ndarray
) -> dict[str, Callable[[], Any]]:
    """Zero-argument callables computing each op (for relu backward: the gradient)."""
    if framework == "numpy":
        return {
            "add": lambda: x + y,
            "exp": lambda: np.exp(x),
            "relu backward": lambda: dy * (x > 0),
        }
    if framework == "tapegrad":
        import tapegrad as tg

        xt, yt, dyt = tg.from_numpy(x), tg.from_numpy(y), tg.from_numpy(dy)
        xg = tg.from_numpy(x, True)
        out = tg.relu(xg)
        return {
            "add": lambda: xt + yt,
            "exp": lambda: tg.exp(xt),
            "relu backward": lambda: tg.grad(out, xg, dyt, retain_graph=True)[0],
        }
    import torch

    xt, yt, dyt = (torch.from_numpy(a.copy()) for a in (x, y, dy))
    xg = xt.clone().requires_grad_()
    out = torch.relu(xg)
    return {
        "add": lambda: xt + yt,
        "exp": lambda: torch.exp(xt),
        "relu backward": lambda: torch.autograd.grad(out, xg, dyt, retain_graph=True)[
            0
        ],
    }


def run(framework: str, ctx: Any) -> None:
    for n in sizes(ctx.quick):
        rng = np.random.default_rng(n)
        x, y, dy = (rng.standard_normal(n).astype(np.float32) for _ in range(3))
        kernels = _kernels(framework, x, y, dy)
        x64, y64, dy64 = (a.astype(np.float64) for a in (x, y, dy))
        expected = {
            "add": x64 + y64,
            "exp": np.exp(x64),
            "relu backward": dy64 * (x64 > 0),
        }
        for op, fn in kernels.items():
            ctx.check(
                f"{op} 2^{n.bit_length() - 1}",
                np.asarray(fn()),
                expected[op],
                rtol_for("float32"),
            )
            timing = measure(fn, ctx.settings)
            nbytes = OPS[op] * n * 4
            ctx.add(
                f"{op} 2^{n.bit_length() - 1}",
                {"op": op, "n": n},
                timing,
                gbps=nbytes / timing["time_s"] / 1e9,
            )
