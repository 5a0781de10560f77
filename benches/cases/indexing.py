"""indexing: selections by index over 2^20 float32 elements (issue 11).

- ``gather``: ``x.gather(1, idx)`` of a (1024, 1024) float32 by a random int64 index of
  the same shape (NumPy: ``np.take_along_axis``).
- ``rows,cols``: ``x[rows, cols]`` with two int64 index arrays of 2^20 positions
  (advanced indexing with two adjacent arrays).
- ``mask``: ``x[mask]``, boolean-mask selection of a 2^20 float32, half the mask true.
- ``gather backward``: the gradient of ``gather`` (a scatter-add of 2^20 values).

Elements/s counts the elements selected (2^20, or about 2^19 for the mask).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from _timing import measure, rtol_for

SIDE = 1024


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20)
    return {
        "x": rng.standard_normal((SIDE, SIDE)).astype(np.float32),
        "idx": rng.integers(0, SIDE, size=(SIDE, SIDE)),
        "rows": rng.integers(0, SIDE, size=SIDE * SIDE),
        "cols": rng.integers(0, SIDE, size=SIDE * SIDE),
        "mask": rng.random((SIDE, SIDE)) < 0.5,
        "dy": rng.standard_normal((SIDE, SIDE)).astype(np.float32),
    }


def _expected(a: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    x64 = a["x"].astype(np.float64)
    grad = np.zeros((SIDE, SIDE))
    np.add.at(grad, (np.arange(SIDE)[:, None], a["idx"]), a["dy"].astype(np.float64))
    return {
        "gather": np.take_along_axis(x64, a["idx"], axis=1),
        "rows,cols": x64[a["rows"], a["cols"]],
        "mask": x64[a["mask"]],
        "gather backward": grad,
    }


def _kernels(framework: str, a: dict[str, np.ndarray]) -> dict[str, Callable[[], Any]]:
    x, idx, rows, cols, mask, dy = (
        a[k] for k in ("x", "idx", "rows", "cols", "mask", "dy")
    )
    if framework == "numpy":
        n = np.arange(SIDE)[:, None]

        def scatter_add() -> np.ndarray:
            out = np.zeros_like(x)
            np.add.at(out, (n, idx), dy)
            return out

        return {
            "gather": lambda: np.take_along_axis(x, idx, axis=1),
            "rows,cols": lambda: x[rows, cols],
            "mask": lambda: x[mask],
            "gather backward": scatter_add,
        }
    if framework == "tapegrad":
        import tapegrad as tg

        xt, it, rt, ct, mt = (tg.from_numpy(v) for v in (x, idx, rows, cols, mask))
        xg = tg.from_numpy(x, True)
        out, dyt = xg.gather(1, it), tg.from_numpy(dy)
        return {
            "gather": lambda: xt.gather(1, it),
            "rows,cols": lambda: xt[rt, ct],
            "mask": lambda: xt[mt],
            "gather backward": lambda: tg.grad(out, xg, dyt, retain_graph=True)[0],
        }
    import torch

    xt, it, rt, ct, mt = (
        torch.from_numpy(v.copy()) for v in (x, idx, rows, cols, mask)
    )
    xg = xt.clone().requires_grad_()
    out, dyt = xg.gather(1, it), torch.from_numpy(dy.copy())
    return {
        "gather": lambda: xt.gather(1, it),
        "rows,cols": lambda: xt[rt, ct],
        "mask": lambda: xt[mt],
        "gather backward": lambda: torch.autograd.grad(out, xg, dyt, retain_graph=True)[
            0
        ],
    }


def run(framework: str, ctx: Any) -> None:
    arrays = _inputs()
    expected = _expected(arrays)
    for op, fn in _kernels(framework, arrays).items():
        got = np.asarray(fn())
        ctx.check(op, got, expected[op], rtol_for("float32"))
        timing = measure(fn, ctx.settings)
        ctx.add(
            op,
            {"op": op, "n": got.size},
            timing,
            melems=got.size / timing["time_s"] / 1e6,
        )
