"""inplace: in-place updates of float32 tensors, 2^10 to 2^22 elements.

``add_`` (x += y), ``mul_`` (x *= s), ``zero_`` and ``copy_`` (x[:] = y) against NumPy's
``np.add(x, y, out=x)``, ``np.multiply(x, s, out=x)``, ``x.fill(0)``, ``np.copyto(x, y)``
and PyTorch's in-place ops. GB/s counts the bytes an ideal kernel moves: ``add_`` reads two
arrays and writes one (3·n·4), ``mul_`` reads and writes one (2·n·4), ``zero_`` writes one
(n·4), ``copy_`` reads one and writes one (2·n·4). Nothing is recorded (no tensor requires
grad), so tapegrad takes its direct kernel: no allocation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from _timing import measure, rtol_for

OPS = {"add_": 3, "mul_": 2, "zero_": 1, "copy_": 2}  # arrays moved per element


def sizes(quick: bool) -> list[int]:
    return [2**10, 2**16, 2**22] if quick else [2**p for p in range(10, 23, 2)]


def _kernels(framework: str, x: np.ndarray, y: np.ndarray) -> tuple[Any, dict[str, Callable[[], Any]]]:
    """The destination and zero-argument callables applying each op to it once."""
    if framework == "numpy":
        d = x.copy()
        return d, {
            "add_": lambda: np.add(d, y, out=d),
            "mul_": lambda: np.multiply(d, 1.0, out=d),
            "zero_": lambda: d.fill(0.0),
            "copy_": lambda: np.copyto(d, y),
        }
    if framework == "tapegrad":
        import tapegrad as tg

        t, yt = tg.tensor(x), tg.tensor(y)
        return t, {
            "add_": lambda: t.add_(yt),
            "mul_": lambda: t.mul_(1.0),
            "zero_": lambda: t.zero_(),
            "copy_": lambda: t.copy_(yt),
        }
    import torch

    t, yt = torch.from_numpy(x.copy()), torch.from_numpy(y.copy())
    return t, {
        "add_": lambda: t.add_(yt),
        "mul_": lambda: t.mul_(1.0),
        "zero_": lambda: t.zero_(),
        "copy_": lambda: t.copy_(yt),
    }


def run(framework: str, ctx: Any) -> None:
    for n in sizes(ctx.quick):
        rng = np.random.default_rng(n)
        x, y = (rng.standard_normal(n).astype(np.float32) for _ in range(2))
        expected = {
            "add_": x.astype(np.float64) + y,
            "mul_": x.astype(np.float64),
            "zero_": np.zeros(n),
            "copy_": y.astype(np.float64),
        }
        for op in OPS:
            dest, kernels = _kernels(framework, x, y)
            kernels[op]()  # once, on fresh data, for the check
            ctx.check(f"{op} 2^{n.bit_length() - 1}", np.array(dest), expected[op], rtol_for("float32"))
            timing = measure(kernels[op], ctx.settings)
            ctx.add(
                f"{op} 2^{n.bit_length() - 1}",
                {"op": op, "n": n},
                timing,
                gbps=OPS[op] * n * 4 / timing["time_s"] / 1e9,
            )
