"""Reproducers for results that were silently wrong (issue 13): empty products that ran for
minutes or panicked, relu(-inf), pow's modulus, the exponent's gradient at 0, identity views
sharing their source's handle, and checkpoint_sequential resetting the peak counter."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import tapegrad as tg
from tapegrad import nn
from tapegrad.nn import functional as F

# ------------------------------------------------------------------ empty products


def test_an_empty_product_with_huge_empty_rows_returns_at_once():
    start = time.perf_counter()
    out = tg.zeros(5, 2**40, 0) @ tg.zeros(0, 0)
    assert out.shape == (5, 2**40, 0)
    assert time.perf_counter() - start < 5  # minutes before the fix


def test_an_empty_contraction_gives_zeros():
    out = tg.ones(3, 0) @ tg.ones(0, 4)
    assert out.shape == (3, 4)
    np.testing.assert_array_equal(out.numpy(), np.zeros((3, 4)))
    batched = tg.ones(2, 3, 0, requires_grad=True) @ tg.ones(0, 4)
    batched.sum().backward()
    np.testing.assert_array_equal(batched.detach().numpy(), np.zeros((2, 3, 4)))


def test_linear_with_no_input_features_gives_the_bias_or_zeros():
    layer = nn.Linear(0, 1)
    out = layer(tg.zeros(15, 0))
    assert out.shape == (15, 1)
    np.testing.assert_allclose(
        out.detach().numpy(), np.broadcast_to(layer.bias.detach().numpy(), (15, 1))
    )
    out = F.linear(tg.zeros(5, 0), tg.zeros(3, 0))
    assert out.shape == (5, 3)
    np.testing.assert_array_equal(out.numpy(), np.zeros((5, 3)))


def test_linear_with_no_input_features_has_gradients():
    x = tg.zeros(4, 2, 0, requires_grad=True)
    w = tg.zeros(3, 0, requires_grad=True)
    b = tg.ones(3, requires_grad=True)
    F.linear(x, w, b).sum().backward()
    assert x.grad.shape == (4, 2, 0) and w.grad.shape == (3, 0)
    np.testing.assert_array_equal(b.grad.numpy(), np.full(3, 8.0))


# ------------------------------------------------------------------ relu


def test_relu_of_minus_infinity_is_zero_and_nan_stays_nan():
    x = tg.tensor([-math.inf, math.nan, math.inf, -1.0, 2.0])
    expected = [0.0, math.nan, math.inf, 0.0, 2.0]
    for out in (x.relu(), tg.relu(x), nn.ReLU()(x), F.relu(x)):
        np.testing.assert_array_equal(out.numpy(), np.array(expected, dtype=np.float32))


def test_relu_matches_torch_on_special_values():
    torch = pytest.importorskip("torch")
    values = [-math.inf, math.nan, math.inf, -0.0, 0.0, -1.0, 3.0]
    ours = tg.tensor(values, dtype=tg.float64).relu().numpy()
    theirs = torch.tensor(values, dtype=torch.float64).relu().numpy()
    np.testing.assert_array_equal(ours, theirs)


# ------------------------------------------------------------------ pow


def test_pow_with_a_modulus_raises_type_error():
    x = tg.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="modulus"):
        pow(x, 2, 3)
    np.testing.assert_array_equal(pow(x, 2, None).numpy(), [1.0, 4.0])
    np.testing.assert_array_equal(pow(x, 2).numpy(), [1.0, 4.0])


EXPONENTS = [-2.0, -0.5, 0.0, 0.5, 3.0]


def _exponent_grad(base):
    a = tg.tensor([base] * len(EXPONENTS), dtype=tg.float64)
    b = tg.tensor(EXPONENTS, dtype=tg.float64, requires_grad=True)
    (a**b).sum().backward()
    return b.grad.numpy()


def test_the_exponent_gradient_at_a_zero_base():
    # d(0^b)/db: -inf for b < 0 (inf · ln 0), 0 for b >= 0 (PyTorch's convention).
    np.testing.assert_array_equal(
        _exponent_grad(0.0), [-math.inf, -math.inf, 0.0, 0.0, 0.0]
    )
    np.testing.assert_allclose(
        _exponent_grad(2.0), [2.0**e * math.log(2.0) for e in EXPONENTS]
    )


def test_the_exponent_gradient_at_a_zero_base_matches_torch():
    torch = pytest.importorskip("torch")
    for base in (0.0, -0.0, 2.0, -2.0):
        a = torch.tensor([base] * len(EXPONENTS), dtype=torch.float64)
        b = torch.tensor(EXPONENTS, dtype=torch.float64, requires_grad=True)
        (a**b).sum().backward()
        np.testing.assert_array_equal(_exponent_grad(base), b.grad.numpy())


def test_the_exponent_gradient_at_a_zero_base_is_differentiable_again():
    a = tg.tensor([0.0, 0.0, 1.5], dtype=tg.float64)
    b = tg.tensor([0.0, 2.0, 2.0], dtype=tg.float64, requires_grad=True)
    (g,) = tg.grad((a**b).sum(), [b], create_graph=True)
    (h,) = tg.grad(g.sum(), [b])
    np.testing.assert_allclose(h.numpy(), [0.0, 0.0, 1.5**2 * math.log(1.5) ** 2])


# ------------------------------------------------------------------ identity views


IDENTITY_VIEWS = {
    "T of 1-D": lambda x: x.T,
    "x[()]": lambda x: x[()],
    "x[...]": lambda x: x[...],
    "transpose(0, 0)": lambda x: x.transpose(0, 0),
    "permute(0)": lambda x: x.permute(0),
    "reshape(same)": lambda x: x.reshape(x.shape),
    "view(same)": lambda x: x.view(3),
}


@pytest.mark.parametrize("view", IDENTITY_VIEWS.values(), ids=list(IDENTITY_VIEWS))
def test_an_identity_view_is_a_new_tensor(view):
    a = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with tg.no_grad():
        b = view(a)
    assert b is not a
    assert not b.requires_grad and b.grad_fn is None
    b.grad = tg.ones(3)
    assert a.grad is None
    np.testing.assert_array_equal(b.numpy(), a.detach().numpy())


@pytest.mark.parametrize("view", IDENTITY_VIEWS.values(), ids=list(IDENTITY_VIEWS))
def test_an_identity_view_passes_the_gradient_through(view):
    a = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = view(a)
    assert b is not a and not b.is_leaf
    (b * tg.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 2.0, 3.0])


# ------------------------------------------------------------------ peak counter


def test_checkpoint_sequential_keeps_the_callers_peak_unless_it_measures():
    layers = [nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh()]
    tg.memory.reset_peak()
    big = tg.randn(256, 256, requires_grad=True)
    kept = (big * 2).exp()  # saves ~256 KiB for backward
    peak = tg.memory.peak_saved_bytes()
    assert peak >= 256 * 256 * 4
    del kept
    x = tg.randn(4, 8, requires_grad=True)
    tg.checkpoint_sequential(layers, x, 2).sum().backward()
    assert tg.memory.peak_saved_bytes() >= peak
    tg.checkpoint_sequential(layers, x, 2, return_plan=True)
    assert tg.memory.peak_saved_bytes() < peak  # a plan measures its own peak
