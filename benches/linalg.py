"""tg.linalg's kernels (faer) against NumPy's (LAPACK) in the same run.

    python benches/linalg.py            # 256 and 1024, float64; about a minute
    python benches/linalg.py --quick    # 64 and 256, fewer repeats (smoke test)

Cases: ``solve`` (one right-hand side of n columns), ``cholesky``, ``eigh`` and ``svd``
(thin) of n x n float64 matrices, forward only (no graph is recorded). Each result is
checked against NumPy's before it is timed. Timing: one warm-up call, then the median
of several calls with the garbage collector off, tapegrad and NumPy interleaved round by
round; the ratio (NumPy time / tapegrad time: above 1 means tapegrad is faster) is the
median of per-round ratios, so a busy machine slows both sides alike. Prints a Markdown
table and writes ``benches/results/linalg.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tapegrad as tg

RESULTS = Path(__file__).resolve().parent / "results" / "linalg.json"


def _inputs(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    a = rng.normal(size=(n, n))
    return {"a": a, "spd": a @ a.T + n * np.eye(n), "b": rng.normal(size=(n, n))}


def _cases(
    x: dict[str, np.ndarray],
) -> dict[str, tuple[Callable[[], Any], Callable[[], Any], Callable[[Any, Any], None]]]:
    a, spd, b = (tg.tensor(x[k]) for k in ("a", "spd", "b"))

    def same(got: Any, want: Any) -> None:
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)

    def same_svd(got: Any, want: Any) -> None:
        # Singular vectors are unique up to sign: compare the values and reconstruction.
        np.testing.assert_allclose(got.S.numpy(), want[1], rtol=1e-8, atol=1e-10)
        rebuilt = (got.U.numpy() * got.S.numpy()) @ got.Vh.numpy()
        np.testing.assert_allclose(
            rebuilt, x["a"], atol=1e-8 * np.abs(x["a"]).max() * 100
        )

    def same_eigh(got: Any, want: Any) -> None:
        np.testing.assert_allclose(got.eigenvalues.numpy(), want[0], rtol=1e-8)
        v = got.eigenvectors.numpy()
        rebuilt = (v * got.eigenvalues.numpy()) @ v.T
        np.testing.assert_allclose(rebuilt, x["spd"], rtol=1e-8, atol=1e-8)

    return {
        "solve": (
            lambda: tg.linalg.solve(a, b),
            lambda: np.linalg.solve(x["a"], x["b"]),
            lambda g, w: same(g.numpy(), w),
        ),
        "cholesky": (
            lambda: tg.linalg.cholesky(spd),
            lambda: np.linalg.cholesky(x["spd"]),
            lambda g, w: same(g.numpy(), w),
        ),
        "eigh": (
            lambda: tg.linalg.eigh(spd),
            lambda: np.linalg.eigh(x["spd"]),
            same_eigh,
        ),
        "svd": (
            lambda: tg.linalg.svd(a, full_matrices=False),
            lambda: np.linalg.svd(x["a"], full_matrices=False),
            same_svd,
        ),
    }


def _time(f: Callable[[], Any]) -> float:
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def measure_all(quick: bool) -> list[dict[str, Any]]:
    """One row per (op, n): medians of tapegrad's and NumPy's times and their ratio."""
    sizes = (64, 256) if quick else (256, 1024)
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        rounds = 3 if quick else (7 if n <= 256 else 3)
        for name, (ours, theirs, check) in _cases(_inputs(n, rng)).items():
            check(ours(), theirs())
            gc.disable()
            try:
                pairs = [(_time(ours), _time(theirs)) for _ in range(rounds)]
            finally:
                gc.enable()
            rows.append(
                {
                    "op": name,
                    "n": n,
                    "tapegrad_s": statistics.median(p[0] for p in pairs),
                    "numpy_s": statistics.median(p[1] for p in pairs),
                    "ratio": statistics.median(p[1] / p[0] for p in pairs),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rows = measure_all(args.quick)
    print("| op | n | tapegrad (ms) | NumPy (ms) | NumPy / tapegrad |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['op']} | {r['n']} | {r['tapegrad_s'] * 1e3:.2f} | "
            f"{r['numpy_s'] * 1e3:.2f} | {r['ratio']:.2f} |"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    meta = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "quick": args.quick,
    }
    RESULTS.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
