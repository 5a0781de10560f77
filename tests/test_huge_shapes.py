"""Shapes whose dims overflow, empty shapes with huge dims, and integer indices past int64
raise clear errors (issue 13), whatever the order of the dims."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg
from tapegrad import nn
from tapegrad.nn import functional as F

OVERFLOWING_EMPTY = [(0, 2, 2**62), (2**62, 2, 0), (2, 0, 2**62), (0, 1, 1, 2**63 - 1)]


@pytest.mark.parametrize("shape", OVERFLOWING_EMPTY)
@pytest.mark.parametrize("make", [tg.zeros, tg.ones, tg.empty])
def test_an_empty_shape_whose_other_dims_overflow_is_an_argument_error(make, shape):
    with pytest.raises(tg.ArgumentError, match="non-zero dimensions overflow"):
        make(*shape)


def test_full_and_expand_check_the_same_way():
    with pytest.raises(tg.ArgumentError, match=r"shape \(0, 2, 4611686018427387904\)"):
        tg.full((0, 2, 2**62), 1.0)
    with pytest.raises(tg.ArgumentError, match="non-zero dimensions overflow"):
        tg.ones(1, 1).expand(2**40, 0, 3, 2**40)
    with pytest.raises(tg.ArgumentError, match="non-zero dimensions overflow"):
        tg.broadcast_to(tg.ones(1), (2**40, 0, 3, 2**40))
    with pytest.raises(tg.ArgumentError, match="too many elements"):
        tg.zeros(2**40, 2**40)


def test_an_empty_tensor_with_a_large_dim_still_works_and_converts():
    x = tg.zeros(2**40, 0)
    assert tuple(x.shape) == (2**40, 0)
    assert x.numpy().shape == (2**40, 0)
    assert "shape=(1099511627776, 0)" in repr(x) or "[]" in repr(x)
    assert tuple(x.sum(0).shape) == (0,)


def test_empty_products_return_at_once_with_pytorchs_shapes():
    assert tuple((tg.zeros(5, 2**40, 0) @ tg.zeros(0, 0)).shape) == (5, 2**40, 0)
    out = nn.Linear(0, 1)(tg.zeros(15, 0))
    np.testing.assert_array_equal(out.detach().numpy(), np.zeros((15, 1)))
    np.testing.assert_array_equal(
        F.linear(tg.zeros(5, 0), tg.zeros(3, 0)).numpy(), np.zeros((5, 3))
    )


@pytest.mark.parametrize("index", [2**63, 2**64 - 1, 2**100, -(2**63) - 1])
def test_an_index_past_int64_is_an_index_error_naming_it(index):
    x = tg.ones(3)
    with pytest.raises(IndexError, match=str(index).lstrip("-")):
        x[index]
    # In a list NumPy reads it as uint64, float or object: refused, never wrapped.
    with pytest.raises((IndexError, TypeError)):
        x[[0, index]]


def test_an_index_array_of_uint64_past_int64_does_not_wrap():
    x = tg.ones(3)
    with pytest.raises(IndexError, match="18446744073709551615"):
        x[np.array([2**64 - 1], dtype=np.uint64)]
    np.testing.assert_array_equal(x[np.array([2], dtype=np.uint64)].numpy(), [1.0])
