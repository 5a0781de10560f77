"""Every misuse the issue lists raises its typed error with a useful message."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg
from helpers import raises


def leaf(*shape):
    return tg.ones(*shape, dtype=tg.float64, requires_grad=True)


def test_exception_hierarchy():
    assert issubclass(tg.TapegradError, Exception)
    families = {
        tg.ShapeError: ValueError,
        tg.AxisError: IndexError,
        tg.DTypeError: TypeError,
        tg.GraphError: RuntimeError,
        tg.ArgumentError: ValueError,
        tg.FileFormatError: ValueError,
        tg.PathNotFoundError: FileNotFoundError,
        tg.OutOfMemoryError: MemoryError,
        tg.InternalError: RuntimeError,
    }
    for error, builtin in families.items():
        assert issubclass(error, tg.TapegradError) and issubclass(error, builtin)
    assert not issubclass(tg.ShapeError, IndexError)
    assert not issubclass(tg.GraphError, ValueError)


# ---------------------------------------------------------------- shapes


def test_matmul_inner_dimension_mismatch():
    with raises(tg.ShapeError, "(2, 3)", "(4, 5)"):
        leaf(2, 3) @ leaf(4, 5)
    with raises(ValueError, "(5, 2, 3)", "(4,)"):
        tg.matmul(leaf(5, 2, 3), leaf(4))


def test_broadcast_mismatch():
    with raises(tg.ShapeError, "(2, 3)", "(2,)"):
        leaf(2, 3) + leaf(2)
    with raises(tg.ShapeError, "(4, 1)", "(3, 2)"):
        tg.maximum(leaf(4, 1), leaf(3, 2))


def test_reshape_to_a_wrong_element_count():
    with raises(tg.ShapeError, "(2, 3)", "(4, 2)"):
        leaf(2, 3).reshape(4, 2)
    with raises(tg.ShapeError, "(2, 3)", "4"):
        leaf(2, 3).view(4, -1)


def test_wrong_shape_grad_assignment():
    x = leaf(2, 3)
    with raises(tg.ShapeError, "(2, 3)", "(3,)"):
        x.grad = tg.ones(3, dtype=tg.float64)
    assert x.grad is None


# ---------------------------------------------------------------- graph misuse


def test_backward_on_non_scalar_without_gradient():
    with raises(tg.GraphError, "scalar"):
        (leaf(2, 3) * 2.0).backward()


def test_backward_with_gradient_of_wrong_shape():
    with raises(tg.ShapeError, "(2, 3)", "(3,)"):
        (leaf(2, 3) * 2.0).backward(gradient=tg.ones(3, dtype=tg.float64))


def test_backward_twice_names_retain_graph():
    y = (leaf(2) * leaf(2)).sum()
    y.backward()
    with raises(RuntimeError, "retain_graph=True"):
        y.backward()


def test_backward_of_tensor_that_does_not_require_grad():
    with raises(tg.GraphError, "require"):
        tg.ones(2).sum().backward()
    with raises(tg.GraphError, "require"):
        tg.grad(tg.ones(2).sum(), [leaf(2)])


def test_grad_of_unused_input_without_allow_unused():
    x, y = leaf(2), leaf(2)
    with raises(tg.GraphError, "allow_unused"):
        tg.grad((x * 2.0).sum(), [x, y])


def test_numpy_of_tensor_that_requires_grad():
    with raises(tg.GraphError, "detach"):
        leaf(2).numpy()


# ---------------------------------------------------------------- sizes


@pytest.mark.parametrize(
    "make",
    [
        lambda: tg.zeros(-1),
        lambda: tg.ones(2, -3),
        lambda: tg.full((2, -1), 1.0),
        lambda: tg.rand(-2),
        lambda: tg.randn(3, -1),
        lambda: tg.eye(-1),
        lambda: tg.ones(2, 3).reshape(-2, -3),
        lambda: tg.ones(2, 1).expand(2, -2),
    ],
    ids=["zeros", "ones", "full", "rand", "randn", "eye", "reshape", "expand"],
)
def test_negative_sizes(make):
    with raises(tg.ArgumentError, "-"):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: tg.zeros(2**62, 2**62),
        lambda: tg.ones(2**62),
        lambda: tg.full((2**40, 2**40), 0.0),
        lambda: tg.randn(2**31, 2**31, 2**31),
        lambda: tg.eye(2**40),
        lambda: tg.arange(0.0, 1e300),
    ],
    ids=["zeros", "ones", "full", "randn", "eye", "arange"],
)
def test_overflowing_sizes_are_refused_before_allocating(make):
    with raises((tg.ArgumentError, tg.ShapeError), "too many|too large|overflow"):
        make()


@pytest.mark.parametrize("make", [lambda: tg.zeros(2**64), lambda: tg.ones(-(2**70))])
def test_sizes_beyond_int64_are_refused(make):
    with pytest.raises((tg.ArgumentError, OverflowError)):
        make()


# ---------------------------------------------------------------- axes, indices


def test_axis_out_of_range():
    x = leaf(2, 3)
    with raises(tg.AxisError, "dimension 2|dim 2", "out of range"):
        x.sum(dim=2)
    with raises(IndexError, "-3"):
        x.softmax(dim=-3)
    with raises(tg.AxisError, "4"):
        x.transpose(0, 4)
    with raises(tg.AxisError, "out of range"):
        tg.stack([x, x], dim=4)


def test_index_out_of_range():
    x = leaf(4, 3)
    with raises(tg.AxisError, "4"):
        x[4]
    with raises(tg.AxisError, "-4"):
        x[:, -4]
    with raises(IndexError, "9"):
        x[[1, 9]]
    with raises(tg.AxisError, "index"):
        leaf(3)[0, 0]


# ---------------------------------------------------------------- creation input


@pytest.mark.parametrize(
    "data",
    [[[1.0, 2.0], [3.0]], [1.0, [2.0]], [[[1.0]], [[1.0, 2.0]]]],
    ids=["rows", "scalar-and-list", "deep"],
)
def test_ragged_nested_lists(data):
    with raises(
        (tg.ShapeError, tg.ArgumentError), "ragged|inhomogeneous|length|sequence"
    ):
        tg.tensor(data)


@pytest.mark.parametrize(
    "data",
    [
        np.array([1.0, "a"], dtype=object),
        np.array(["a", "b"]),
        np.array([b"x"]),
        np.array([1 + 2j]),
        ["a", "b"],
        [None, 1.0],
    ],
    ids=["object", "str", "bytes", "complex", "list-of-str", "list-with-None"],
)
def test_unsupported_element_types(data):
    with raises(
        (tg.DTypeError, TypeError), "object|str|<U|bytes|S1|complex|dtype|float|None"
    ):
        tg.tensor(data)


@pytest.mark.parametrize("dtype", ["uint16", "float16", "banana", np.complex64, object])
def test_unsupported_dtype_argument(dtype):
    with raises(tg.DTypeError, "dtype|float|int|banana|object"):
        tg.zeros(2, dtype=dtype)


# ---------------------------------------------------------------- scalars


def test_item_and_bool_of_multi_element_tensor():
    x = tg.ones(2, 3)
    with raises((tg.ShapeError, ValueError), "(2, 3)|6 elements|one element"):
        x.item()
    with raises((tg.ShapeError, ValueError), "ambiguous|(2, 3)|6 elements|one element"):
        bool(x)
    with raises((tg.ShapeError, ValueError), "(0,)|0 elements|one element|ambiguous"):
        bool(tg.zeros(0))
    assert bool(tg.tensor([2.0])) is True and bool(tg.tensor(0.0)) is False


# ---------------------------------------------------------------- empty reductions


def test_sum_of_empty_is_zero_with_empty_gradient():
    x = leaf(0, 3)
    s = x.sum()
    assert s.item() == 0.0
    s.backward()
    assert tuple(x.grad.shape) == (0, 3)


def test_max_and_min_of_empty_raise():
    with raises((tg.ShapeError, tg.ArgumentError), "(0, 3)"):
        leaf(0, 3).max()
    with raises((tg.ShapeError, tg.ArgumentError), "(0,)"):
        leaf(0).amin(dim=0)
    with raises(tg.AxisError, "non-zero size", "(0,)"):
        leaf(0).min(dim=0)


@pytest.mark.parametrize(
    "index",
    [np.array([True, False, True]), [True, False, True], tg.tensor([True, False, True])],
    ids=["bool-array", "bool-list", "bool-tensor"],
)
def test_boolean_masks_select_and_are_not_read_as_integers(index):
    # Read as 0/1 positions these would give [20, 10, 20]; as a mask, [10, 30].
    got = tg.tensor([10.0, 20.0, 30.0])[index]
    np.testing.assert_array_equal(got.numpy(), [10.0, 30.0])


def test_a_bare_bool_index_is_refused():
    with raises(tg.DTypeError, "bool"):
        tg.tensor([10.0, 20.0, 30.0])[True]
