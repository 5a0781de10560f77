"""tapegrad.nn.init: in place, seeded, with PyTorch's scales; checked by statistics
on large tensors and by structure (orthogonality, bounds, identity)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tapegrad as tg
from helpers import assert_close, raises, values
from tapegrad.nn import init


def big(*shape):
    return tg.zeros(*shape, requires_grad=True)


def in_place(fn, tensor, *args, **kwargs):
    version = tensor._version
    assert fn(tensor, *args, **kwargs) is tensor
    assert tensor._version > version and tensor.requires_grad
    return values(tensor)


@pytest.mark.parametrize(
    ("fn", "kwargs", "shape", "std"),
    [
        (init.xavier_normal_, {"gain": 2.0}, (300, 200), 2.0 * math.sqrt(2 / 500)),
        (init.xavier_uniform_, {}, (300, 200), math.sqrt(6 / 500) / math.sqrt(3)),
        (init.kaiming_normal_, {"nonlinearity": "relu"}, (300, 200), math.sqrt(2 / 200)),
        (init.kaiming_normal_, {"mode": "fan_out", "a": 0.2}, (300, 200),
         math.sqrt(2 / 1.04) / math.sqrt(300)),
        (init.kaiming_uniform_, {"nonlinearity": "tanh"}, (100, 20, 3, 3),
         5 / 3 / math.sqrt(180)),
        (init.normal_, {"mean": 0.0, "std": 0.3}, (200, 300), 0.3),
        (init.uniform_, {"a": -1.0, "b": 1.0}, (200, 300), 1 / math.sqrt(3)),
    ],
)  # fmt: skip
def test_scales_match_pytorch_formulas(fn, kwargs, shape, std):
    drawn = in_place(fn, big(*shape), **kwargs)
    assert abs(drawn.mean()) < 5 * std / math.sqrt(drawn.size)
    assert drawn.std() == pytest.approx(std, rel=0.02)


def test_seeded_draws_repeat():
    tg.manual_seed(3)
    first = values(init.orthogonal_(big(4, 6)))
    tg.manual_seed(3)
    assert_close(init.orthogonal_(big(4, 6)), first)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 2, 3)])
def test_orthogonal_rows_or_columns_are_orthonormal_times_gain(shape):
    q = in_place(init.orthogonal_, big(*shape), gain=1.5).reshape(shape[0], -1)
    gram = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
    assert_close(gram, 2.25 * np.eye(min(q.shape)), atol=1e-5)


def test_trunc_normal_stays_in_bounds_with_the_truncated_moments():
    drawn = in_place(init.trunc_normal_, big(400, 250), mean=1.0, std=2.0, a=0.0, b=3.0)
    assert drawn.min() >= 0.0 and drawn.max() <= 3.0
    # N(1, 4) truncated to [0, 3] (α = -0.5, β = 1): mean 1 + 2(φ(α) - φ(β)) / Z
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))
    z = cdf(1.0) - cdf(-0.5)
    assert drawn.mean() == pytest.approx(1 + 2 * (phi(-0.5) - phi(1.0)) / z, abs=0.01)
    tail = in_place(init.trunc_normal_, big(1000), a=3.0, b=3.5)
    assert tail.min() >= 3.0 and tail.max() <= 3.5


def test_constant_zeros_ones_eye():
    assert_close(in_place(init.constant_, big(2, 3), 0.25), np.full((2, 3), 0.25))
    assert_close(in_place(init.zeros_, big(2)), [0.0, 0.0])
    assert_close(in_place(init.ones_, big(2)), [1.0, 1.0])
    assert_close(in_place(init.eye_, big(2, 3)), np.eye(2, 3))


def test_calculate_gain_table():
    assert init.calculate_gain("conv_transpose2d") == 1.0
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    assert init.calculate_gain("selu") == 0.75
    with raises(ValueError, "unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with raises(ValueError, "negative_slope 'x'"):
        init.calculate_gain("leaky_relu", "x")


def test_bad_shapes_and_arguments_are_refused():
    with raises(tg.ShapeError, "2 or more dimensions", "(3,)"):
        init.orthogonal_(big(3))
    with raises(tg.ShapeError, "2-D", "(2, 2, 2)"):
        init.eye_(big(2, 2, 2))
    with raises(tg.ShapeError, "at least 2 dimensions"):
        init.xavier_normal_(big(3))
    with raises(ValueError, "mode", "'fan_avg'"):
        init.kaiming_normal_(big(2, 2), mode="fan_avg")
    with raises(ValueError, "a < b"):
        init.trunc_normal_(big(2), a=1.0, b=0.0)
