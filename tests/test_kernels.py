"""The runtime-dispatched kernels: accuracy, and the scalar fallback forced by the environment.

``TAPEGRAD_KERNELS=scalar`` makes every kernel run the portable build (what a CPU without
AVX2 runs). The kernels never fuse multiply-adds, so every level rounds alike: the fallback
must give the same bits as the widest level this CPU has.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import tapegrad as tg

FUNCTIONS = ("exp", "log", "tanh", "sigmoid")

SCRIPT = """
import hashlib, numpy as np, tapegrad as tg
rng = np.random.default_rng(16)
for dtype in (np.float32, np.float64):
    # Every tail length and a size that splits over the pool; edges included.
    edges = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, -1e-40, 1e-310, 700.0, -750.0, 90.0]
    for n in [*range(65), 100_003]:
        x = rng.uniform(-30, 30, n).astype(dtype)
        x[: min(n, len(edges))] = np.array(edges, dtype=dtype)[: min(n, len(edges))]
        for name in ("exp", "log", "tanh", "sigmoid"):
            arg = np.abs(x) if name == "log" else x
            out = getattr(tg.tensor(arg), name)().numpy()
            print(name, dtype.__name__, n, hashlib.sha256(out.tobytes()).hexdigest()[:16])
"""


def _run(level: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "TAPEGRAD_KERNELS"}
    if level is not None:
        env["TAPEGRAD_KERNELS"] = level
    child = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    return child.stdout


def test_the_scalar_fallback_gives_the_dispatched_kernels_bits():
    dispatched = _run(None)
    assert dispatched.count("\n") == 2 * 4 * 66
    assert _run("scalar") == dispatched
    assert _run("avx2") == dispatched


def _reference(name: str, x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        x64 = x.astype(np.float64)
        if name == "sigmoid":  # the form that does not overflow for either sign
            e = np.exp(-np.abs(x64))
            return np.where(x64 >= 0, 1.0, e) / (1.0 + e)
        return getattr(np, name)(x64)


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Distance in units in the last place, through zero and the subnormals."""
    int_type = np.int32 if got.dtype == np.float32 else np.int64
    info = np.iinfo(int_type)

    def key(v: np.ndarray) -> np.ndarray:
        bits = v.view(int_type).astype(np.int64)
        return np.where(bits < 0, -(bits & info.max), bits)

    return np.abs(key(got) - key(want))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_kernels_are_accurate_over_the_whole_range(name, dtype):
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2**31 if dtype == np.float32 else 2**63, 200_000)
    x = bits.astype(np.int32 if dtype == np.float32 else np.int64).view(dtype)
    x = np.concatenate([x, -x, rng.uniform(-20, 20, 100_000).astype(dtype)])
    if name == "log":
        x = np.abs(x)
    got = getattr(tg.tensor(x), name)().numpy()
    assert got.dtype == dtype
    with np.errstate(over="ignore"):
        want = _reference(name, x).astype(dtype)
    finite = np.isfinite(want) & (want != 0)
    bound = 2 if name in ("exp", "log") else 3
    # float64 is checked against NumPy's float64 functions (within 1 ulp themselves).
    assert _ulps(got[finite], want[finite]).max() <= bound + (dtype == np.float64)
    np.testing.assert_array_equal(got[~finite], want[~finite])
