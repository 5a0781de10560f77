"""Conventions the OpSpec table cannot see: subgradients at kinks, ties, dtypes, masks."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg
from helpers import assert_close, values


def leaf(data, dtype=tg.float64):
    return tg.tensor(
        np.asarray(data, dtype=np.float64), dtype=dtype, requires_grad=True
    )


def grad_of(fn, *data):
    xs = [leaf(d) for d in data]
    fn(*xs).sum().backward()
    return [values(x.grad) for x in xs]


# ---------------------------------------------------------------- subgradients


def test_relu_gradient_at_zero_is_zero():
    (g,) = grad_of(lambda x: x.relu(), [-1.0, 0.0, 2.0])
    assert_close(g, [0.0, 0.0, 1.0])


def test_abs_gradient_at_zero_is_zero():
    (g,) = grad_of(lambda x: x.abs(), [-1.5, 0.0, 2.0])
    assert_close(g, [-1.0, 0.0, 1.0])


def test_clamp_passes_gradient_on_the_closed_interval():
    (g,) = grad_of(lambda x: x.clamp(-0.5, 0.5), [-1.0, -0.5, 0.0, 0.5, 1.0])
    assert_close(g, [0.0, 1.0, 1.0, 1.0, 0.0])
    (g,) = grad_of(lambda x: x.clamp(min=0.0), [-1.0, 0.0, 1.0])
    assert_close(g, [0.0, 1.0, 1.0])
    (g,) = grad_of(lambda x: x.clamp(max=0.0), [-1.0, 0.0, 1.0])
    assert_close(g, [1.0, 1.0, 0.0])


@pytest.mark.parametrize("op", [tg.maximum, tg.minimum], ids=["maximum", "minimum"])
def test_maximum_minimum_split_ties(op):
    ga, gb = grad_of(op, [1.0, 2.0, 3.0], [1.0, 0.0, 3.0])
    winner_a = [1.0, 0.0, 1.0] if op is tg.minimum else [1.0, 1.0, 1.0]
    expected_a = np.where([True, False, True], 0.5, winner_a)
    assert_close(ga, expected_a)
    assert_close(gb, 1.0 - expected_a)


def test_maximum_tie_with_broadcast_scalar_accumulates_halves():
    ga, gb = grad_of(tg.maximum, [1.0, 1.0, 0.0], 1.0)
    assert_close(ga, [0.5, 0.5, 0.0])
    assert_close(gb, 1.0 + 0.5 + 0.5)


def test_amax_ties_split_evenly():
    (g,) = grad_of(lambda x: x.max(), [1.0, 3.0, 3.0, 2.0])
    assert_close(g, [0.0, 0.5, 0.5, 0.0])
    (g,) = grad_of(lambda x: x.amax(dim=1), [[1.0, 1.0], [2.0, 0.0], [4.0, 4.0]])
    assert_close(g, [[0.5, 0.5], [1.0, 0.0], [0.5, 0.5]])
    (g,) = grad_of(lambda x: x.amax(dim=(0, 1)), np.full((2, 2), 7.0))
    assert_close(g, np.full((2, 2), 0.25))


def test_amin_ties_split_evenly():
    (g,) = grad_of(lambda x: x.amin(dim=0), [[1.0, 5.0], [1.0, 2.0], [3.0, 2.0]])
    assert_close(g, [[0.5, 0.0], [0.5, 0.5], [0.0, 0.5]])


def test_max_with_dim_returns_values_and_indices():
    x = tg.tensor([[1.0, 5.0], [7.0, 2.0]])
    values, indices = x.max(dim=1)
    assert_close(values, [5.0, 7.0])
    assert indices.tolist() == [1, 0]


# ---------------------------------------------------------------- dtypes


def test_python_floats_default_to_float32_and_numpy_float64_stays():
    assert tg.tensor([1.0, 2.0]).dtype == tg.float32
    assert tg.tensor(1.0).dtype == tg.float32
    assert tg.tensor(np.array([1.0, 2.0])).dtype == tg.float64
    assert tg.tensor(np.array([1.0], dtype=np.float32)).dtype == tg.float32


def test_dtype_objects():
    assert tg.float32 == tg.float32 and tg.float64 != tg.float32
    assert str(tg.float64) == "tapegrad.float64"
    assert str(tg.float32) == "tapegrad.float32"
    for spelling in ("float64", np.float64, tg.float64):
        assert tg.zeros(2, dtype=spelling).dtype == tg.float64


def test_mixed_dtypes_promote_to_float64_and_grads_keep_input_dtypes():
    a = tg.tensor([1.0, 2.0], dtype=tg.float32, requires_grad=True)
    b = tg.tensor([3.0, 4.0], dtype=tg.float64, requires_grad=True)
    for out in (a + b, b * a, a / b, a - b, a**b, tg.maximum(a, b)):
        assert out.dtype == tg.float64
    (a * b).sum().backward()
    assert a.grad.dtype == tg.float32 and b.grad.dtype == tg.float64
    assert_close(a.grad, [3.0, 4.0])
    assert_close(b.grad, [1.0, 2.0])
    assert tg.matmul(a, b).dtype == tg.float64
    assert tg.cat([a, b]).dtype == tg.float64


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64], ids=str)
def test_python_scalars_keep_the_tensor_dtype(dtype):
    x = tg.ones(3, dtype=dtype)
    for out in (x + 1, 2.5 * x, x / 3, 1 - x, x**2, 2.0**x, -x):
        assert out.dtype == dtype
    assert (x > 0.5).dtype == tg.bool


# ---------------------------------------------------------------- masks, where


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64], ids=str)
def test_comparisons_are_bool_masks_without_grad(dtype):
    a_np = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    b_np = np.array([2.0, 2.0, 2.0])
    a = tg.tensor(a_np, dtype=dtype, requires_grad=True)
    b = tg.tensor(b_np, dtype=dtype, requires_grad=True)
    pairs = [
        (a < b, a_np < b_np),
        (a <= b, a_np <= b_np),
        (a > b, a_np > b_np),
        (a >= b, a_np >= b_np),
        (a == b, a_np == b_np),
        (a != b, a_np != b_np),
        (a > 1.5, a_np > 1.5),
        (2.0 > a, 2.0 > a_np),
        (a == 3.0, a_np == 3.0),
    ]
    for mask, expected in pairs:
        assert isinstance(mask, tg.Tensor)
        assert mask.dtype == tg.bool
        assert mask.requires_grad is False
        assert mask.tolist() == expected.tolist()


def test_comparison_promotes_like_arithmetic():
    a = tg.tensor([1.0], dtype=tg.float32)
    b = tg.tensor([1.0], dtype=tg.float64)
    assert (a == b).dtype == tg.bool  # computed in float64, as PyTorch
    assert (
        tg.tensor([16777217.0], dtype=tg.float64) == tg.tensor([16777216.0])
    ).tolist() == [False]


def test_where_routes_gradient_by_condition():
    cond = tg.tensor([1.0, 0.0, -2.0])  # nonzero is true
    a, b = leaf([1.0, 2.0, 3.0]), leaf([10.0, 20.0, 30.0])
    out = tg.where(cond, a, b)
    assert_close(out, [1.0, 20.0, 3.0])
    out.sum().backward()
    assert_close(a.grad, [1.0, 0.0, 1.0])
    assert_close(b.grad, [0.0, 1.0, 0.0])


def test_where_accepts_a_numpy_bool_condition():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    assert_close(tg.where(np.array([False, True]), a, b), [3.0, 2.0])


# ---------------------------------------------------------------- gradients


def test_repeated_integer_array_index_accumulates_gradient():
    (g,) = grad_of(lambda x: x[[0, 2, 0, 0]], [1.0, 2.0, 3.0])
    assert_close(g, [3.0, 0.0, 1.0])


def test_negative_step_slice_gradient_lands_in_place():
    (g,) = grad_of(lambda x: x[::-2] * tg.tensor([1.0, 10.0, 100.0]), np.arange(6.0))
    # x[::-2] reads elements 5, 3, 1.
    assert_close(g, [0.0, 100.0, 0.0, 10.0, 0.0, 1.0])


def test_sum_of_size_zero_is_zero_with_gradient_of_input_shape():
    x = tg.zeros(0, 3, dtype=tg.float64, requires_grad=True)
    out = x.sum()
    assert tuple(out.shape) == () and out.item() == 0.0
    out.backward()
    assert tuple(x.grad.shape) == (0, 3)
    assert_close(x.sum(dim=0), np.zeros(3))


def test_broadcast_gradient_is_summed_back_to_input_shape():
    a, b = leaf(np.ones((2, 1, 3))), leaf(np.arange(4.0).reshape(4, 1))
    (a * b).sum().backward()
    assert tuple(a.grad.shape) == (2, 1, 3)
    assert_close(a.grad, np.full((2, 1, 3), 6.0))
    assert_close(b.grad, np.full((4, 1), 6.0))


def test_softmax_is_stable_and_normalised():
    x = tg.tensor([[1000.0, 1000.0, -1000.0], [0.0, 0.0, 0.0]], dtype=tg.float32)
    s = values(x.softmax(dim=1))
    assert np.all(np.isfinite(s))
    assert_close(s.sum(axis=1), [1.0, 1.0], rtol=1e-6)
    assert np.all(np.isfinite(values(x.log_softmax(dim=1))))
    assert_close(x.logsumexp(dim=1), [1000.0 + np.log(2.0), np.log(3.0)], rtol=1e-6)


def test_clamp_with_min_above_max_gives_max_like_torch_and_numpy():
    x = tg.tensor([0.0, 1.5, 5.0])
    assert_close(x.clamp(2.0, 1.0), np.clip([0.0, 1.5, 5.0], 2.0, 1.0))


def test_pow_zero_exponent_has_zero_gradient_at_zero():
    # d/dx x**0 = 0 everywhere (PyTorch masks the 0 * 0**-1 = nan).
    (g,) = grad_of(lambda x: x**0, [0.0, 2.0])
    assert_close(g, [0.0, 0.0])
    (g,) = grad_of(lambda x: x**2, [0.0, -3.0])
    assert_close(g, [0.0, -6.0])
    (g,) = grad_of(lambda x: x**3, [-2.0])
    assert_close(g, [12.0])
