"""selection: sorting, top-k, row-wise argmax and multinomial sampling (issue 11).

- ``sort 2^20``: values and indices of 2^20 float32 (NumPy: ``argsort`` + a gather, the
  same output; ``kind="stable"`` since tapegrad's sort is stable).
- ``topk 2^20``: the 100 largest of 2^20 float32, in order (NumPy: ``argpartition``,
  then a sort of the 100).
- ``argmax rows``: ``argmax(1)`` of a (4096, 1024) float32 matrix.
- ``multinomial``: 16 draws with replacement from each of 1,000 rows of 10,000 weights
  (NumPy: the cumulative weights and one ``searchsorted`` per row, the same method).

Each result is checked against NumPy: values exactly, and for the samples that every
drawn category has a positive weight and the draws' mean weight is near the expected one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from _timing import measure

K = 100
ROWS, CATEGORIES, DRAWS = 1000, 10_000, 16


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    weights = rng.random((ROWS, CATEGORIES)).astype(np.float32)
    weights[:, ::3] = 0.0  # categories that must never be drawn
    return {
        "flat": rng.standard_normal(2**20).astype(np.float32),
        "matrix": rng.standard_normal((4096, 1024)).astype(np.float32),
        "weights": weights,
    }


def _kernels(framework: str, d: dict[str, np.ndarray]) -> dict[str, Callable[[], Any]]:
    """Zero-argument callables returning (values, indices) or indices."""
    if framework == "numpy":
        rng = np.random.default_rng(1)
        cdf = np.cumsum(d["weights"], axis=1, dtype=np.float64)

        def sort() -> Any:
            i = np.argsort(d["flat"], kind="stable")
            return d["flat"][i], i

        def topk() -> Any:
            part = np.argpartition(-d["flat"], K)[:K]
            i = part[np.argsort(-d["flat"][part], kind="stable")]
            return d["flat"][i], i

        def multinomial() -> Any:
            u = rng.random((ROWS, DRAWS)) * cdf[:, -1:]
            return np.stack(
                [np.searchsorted(c, r, side="right") for c, r in zip(cdf, u)]
            )

        return {
            "sort 2^20": sort,
            "topk 2^20": topk,
            "argmax rows": lambda: d["matrix"].argmax(1),
            "multinomial": multinomial,
        }
    if framework == "tapegrad":
        import tapegrad as tg

        lib, t = tg, {k: tg.from_numpy(v) for k, v in d.items()}
        gen = tg.Generator().manual_seed(1)
    else:
        import torch as lib

        t = {k: lib.from_numpy(v.copy()) for k, v in d.items()}
        gen = lib.Generator().manual_seed(1)
    return {
        "sort 2^20": lambda: tuple(lib.sort(t["flat"], stable=True)),
        "topk 2^20": lambda: tuple(lib.topk(t["flat"], K)),
        "argmax rows": lambda: t["matrix"].argmax(1),
        "multinomial": lambda: lib.multinomial(
            t["weights"], DRAWS, True, generator=gen
        ),
    }


def _as_numpy(out: Any) -> Any:
    if isinstance(out, tuple):
        return tuple(np.asarray(o) for o in out)
    return np.asarray(out)


def run(framework: str, ctx: Any) -> None:
    d = _inputs()
    order = np.argsort(d["flat"], kind="stable")
    top = np.argsort(-d["flat"], kind="stable")[:K]
    expected = {
        "sort 2^20": (d["flat"][order], order),
        "topk 2^20": (d["flat"][top], top),
        "argmax rows": d["matrix"].argmax(1),
    }
    for name, fn in _kernels(framework, d).items():
        got = _as_numpy(fn())
        if name == "multinomial":
            w = d["weights"]
            picked = np.take_along_axis(w, got.astype(np.int64), axis=1)
            ctx.check(
                f"{name}: drawn weights are positive", (picked > 0).all(), True, 0
            )
            # E[w of a draw] = sum w^2 / sum w per row (size-biased).
            mean_expected = ((w.astype(np.float64) ** 2).sum(1) / w.sum(1)).mean()
            ctx.check(f"{name}: mean drawn weight", picked.mean(), mean_expected, 0.02)
        elif isinstance(got, tuple):
            ctx.check(f"{name} values", got[0], expected[name][0], 0)
            ctx.check(f"{name} indices", got[1], expected[name][1], 0)
        else:
            ctx.check(name, got, expected[name], 0)
        ctx.add(name, {"op": name}, measure(fn, ctx.settings))
