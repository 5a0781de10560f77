"""Sizes big enough for the threaded kernels: accuracy and determinism."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import tapegrad as tg
from helpers import assert_close, values


def test_float32_sum_accumulates_accurately():
    a = np.full(10**6, 0.1, dtype=np.float32)
    exact = a.astype(np.float64).sum()
    # NumPy (pairwise) and PyTorch (cascade) both land within 1e-7 relative.
    assert abs(tg.tensor(a).sum().item() - exact) <= 1e-5 * exact
    assert abs(tg.tensor(a).mean().item() - 0.1) <= 1e-5 * 0.1
    rows = np.random.default_rng(0).uniform(0, 1, (4, 250_000)).astype(np.float32)
    got = values(tg.tensor(rows).sum(dim=1))
    np.testing.assert_allclose(got, rows.astype(np.float64).sum(axis=1), rtol=1e-5)


def test_large_matmul_with_transposed_views_matches_numpy():
    rng = np.random.default_rng(1)
    a_np, b_np = rng.standard_normal((300, 200)), rng.standard_normal((150, 300))
    a = tg.tensor(a_np, requires_grad=True)
    b = tg.tensor(b_np, requires_grad=True)
    out = a.T @ b.T  # (200, 300) @ (300, 150), both operands transposed views
    assert_close(out.detach(), a_np.T @ b_np.T, rtol=1e-11, atol=1e-11)
    g = rng.standard_normal((200, 150))
    out.backward(gradient=tg.tensor(g))
    assert_close(a.grad, (g @ b_np).T, rtol=1e-11, atol=1e-11)
    assert_close(b.grad, (a_np @ g).T, rtol=1e-11, atol=1e-11)


def test_large_batched_matmul_matches_numpy():
    rng = np.random.default_rng(2)
    a_np = rng.standard_normal((3, 1, 64, 48)).astype(np.float32)
    b_np = rng.standard_normal((5, 48, 80)).astype(np.float32)
    out = tg.tensor(a_np) @ tg.tensor(b_np)
    assert out.dtype == tg.float32 and tuple(out.shape) == (3, 5, 64, 80)
    want = a_np.astype(np.float64) @ b_np.astype(np.float64)
    np.testing.assert_allclose(values(out), want, rtol=1e-4, atol=1e-4)


def test_large_elementwise_and_reductions_match_numpy():
    rng = np.random.default_rng(3)
    x_np = rng.standard_normal((700, 900))
    x = tg.tensor(x_np)
    assert_close(x.exp().sum(dim=0), np.exp(x_np).sum(axis=0), rtol=1e-12)
    assert_close(x.tanh().mean(dim=1), np.tanh(x_np).mean(axis=1), rtol=1e-12)
    assert_close(x.amax(dim=0), x_np.max(axis=0))
    m = x_np.max(axis=1, keepdims=True)
    want = m[:, 0] + np.log(np.exp(x_np - m).sum(axis=1))
    assert_close(x.logsumexp(dim=1), want, rtol=1e-12)


DETERMINISM = """
import numpy as np, tapegrad as tg
print(tg.get_num_threads())
rng = np.random.default_rng(4)
x = tg.tensor(rng.standard_normal((512, 700)).astype(np.float32), requires_grad=True)
w = tg.tensor(rng.standard_normal((700, 300)).astype(np.float32), requires_grad=True)
out = (x @ w).tanh().sum(dim=0).sum() + x.exp().sum() + (x * x).mean()
out.backward()
# a training step of an MLP large enough that every product is split over the threads
net = tg.nn.Sequential(tg.nn.Linear(700, 512), tg.nn.ReLU(), tg.nn.Linear(512, 10))
labels = rng.integers(0, 10, 512)
tg.nn.functional.cross_entropy(net(x.detach()), labels).backward()
grads = [hash(p.grad.numpy().tobytes()) for p in net.parameters()]
print(out.item().hex(), hash(x.grad.numpy().tobytes()), hash(w.grad.numpy().tobytes()), grads)
"""


def test_results_do_not_depend_on_the_thread_count():
    results = set()
    for threads in ("1", "2", "3"):
        # The spelling: RAYON_NUM_THREADS, read when TAPEGRAD_NUM_THREADS is unset.
        env = {k: v for k, v in os.environ.items() if k != "TAPEGRAD_NUM_THREADS"}
        env["RAYON_NUM_THREADS"] = threads
        child = subprocess.run(
            [sys.executable, "-c", DETERMINISM],
            check=True,
            capture_output=True,
            text=True,
            env={**env, "PYTHONHASHSEED": "0"},
            timeout=120,
        )
        used, hashes = child.stdout.strip().split("\n")
        assert used == threads  # the pool really ran at this thread count
        results.add(hashes)
    assert len(results) == 1, results


def test_set_num_threads_changes_the_pool_and_not_the_results():
    before = tg.get_num_threads()
    rng = np.random.default_rng(5)
    a = tg.tensor(rng.standard_normal((300, 400)).astype(np.float32))
    b = tg.tensor(rng.standard_normal((400, 500)).astype(np.float32))
    try:
        results = []
        for threads in (1, 2, 3):
            tg.set_num_threads(threads)
            assert tg.get_num_threads() == threads
            results.append((a @ b).numpy().tobytes() + (a.T.T.exp()).numpy().tobytes())
        assert results[0] == results[1] == results[2]
        with pytest.raises(ValueError, match="at least 1, got 0"):
            tg.set_num_threads(0)
        with pytest.raises(ValueError, match="at least 1, got -2"):
            tg.set_num_threads(-2)
        assert tg.get_num_threads() == 3
    finally:
        tg.set_num_threads(before)
