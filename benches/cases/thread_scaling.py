"""thread_scaling: the same work at 1 and at 2 threads (one child process per count).

Two points, each checked first like in its own case: the 1024² float32 matmul X·W (as in
``matmul``) and the 784-1024-1024-10 batch-256 training step (as in ``mlp_step``).
``compare.py`` runs this case once per thread count and reports time(1) / time(2).
"""

from __future__ import annotations

from typing import Any

from _timing import measure

from cases import matmul, mlp_step

SIZE = 1024


def run(framework: str, ctx: Any) -> None:
    x, w, dy = matmul.operands(SIZE, SIZE, SIZE, "float32")
    fns, convert = matmul.products(framework, x, w, dy)
    label = f"float32 {SIZE}² X·W"
    matmul.check_products(ctx, framework, label, x, w, dy, fns, convert)
    timing = measure(fns["X·W"], ctx.settings)
    ctx.add(
        label,
        {"m": SIZE, "k": SIZE, "n": SIZE, "dtype": "float32"},
        timing,
        gflops=2.0 * SIZE**3 / timing["time_s"] / 1e9,
    )
    sizes, batch = mlp_step.CONFIGS[mlp_step.LARGEST]
    mlp_step.measure_config(ctx, framework, f"{mlp_step.LARGEST} step", sizes, batch)
