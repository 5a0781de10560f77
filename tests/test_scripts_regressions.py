"""Regressions found by running PyTorch-style scripts (tests/scripts/) with only the
import changed: each test is one idiom that failed, checked against PyTorch's result."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg
import tapegrad.nn.functional as F

A = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 7.0 - 1.5


@pytest.mark.parametrize(
    "name", ["sum", "mean", "amax", "amin", "logsumexp", "prod", "all", "any"]
)
def test_reductions_take_numpy_spellings_axis_and_keepdims(name):
    # makemore: P /= P.sum(1, keepdims=True) raised TypeError (as did axis=)
    x = tg.tensor(A)
    method = getattr(x, name)
    assert method(1, keepdims=True).shape == (2, 1, 4)
    assert method(axis=1).shape == (2, 4)
    assert method(axis=(0, 2) if name not in ("prod",) else 2, keepdims=True).ndim == 3
    np.testing.assert_array_equal(
        method(axis=1, keepdims=True).numpy(), method(1, keepdim=True).numpy()
    )
    np.testing.assert_array_equal(
        getattr(tg, name)(x, 2, keepdims=True).numpy(),
        method(dim=2, keepdim=True).numpy(),
    )
    # Both spellings at once: TypeError, as PyTorch's argument parser raises.
    with pytest.raises(TypeError, match="keepdim and its NumPy spelling keepdims"):
        method(2, keepdim=True, keepdims=False)
    with pytest.raises(TypeError, match="dim"):
        method(1, axis=1)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_reductions_take_axis_and_keepdims(name):
    torch = pytest.importorskip("torch")
    x = tg.tensor(A)
    expected = getattr(torch.tensor(A), name)(axis=2, keepdims=True).numpy()
    np.testing.assert_array_equal(getattr(x, name)(axis=2, keepdims=True).numpy(), expected)
    np.testing.assert_array_equal(getattr(tg, name)(x, axis=2, keepdims=True).numpy(), expected)
    with pytest.raises(TypeError, match="dim"):
        getattr(tg, name)(x, 1, axis=1)


def test_reduction_gradients_are_the_same_with_numpy_spellings():
    x = tg.tensor(A, requires_grad=True)
    (x.logsumexp(axis=2, keepdims=True) * x.mean(axis=(0, 1), keepdims=True)).sum().backward()
    first = x.grad.numpy().copy()
    x.grad = None
    (x.logsumexp(2, keepdim=True) * x.mean((0, 1), keepdim=True)).sum().backward()
    np.testing.assert_allclose(first, x.grad.numpy(), rtol=0, atol=0)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_takes_a_dtype(fn):
    # F.softmax(att, dim=-1, dtype=torch.float32) raised TypeError
    x = tg.tensor(A, dtype=tg.float32, requires_grad=True)
    out = getattr(F, fn)(x, dim=-1, dtype=tg.float64)
    assert out.dtype == tg.float64
    np.testing.assert_allclose(
        out.detach().numpy(), getattr(tg.tensor(A), fn)(-1).numpy(), rtol=1e-6
    )
    out.sum().backward()
    assert x.grad.dtype == tg.float32
    assert getattr(F, fn)(x, 1).dtype == tg.float32
