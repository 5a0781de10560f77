"""NumPy scalars and arrays on either side of an operator keep the graph (issue 15).

Before, ``np.float64(2.0) * x`` and ``np.ones(3) * x`` ran NumPy's operator, which
converted the tensor through ``__array__`` and returned a NumPy object: the graph was
dropped without a word. NumPy now defers to the tensor (``Tensor.__array_ufunc__`` is
None), so every operator, with the NumPy operand on either side, gives a tensor whose
gradient reaches ``x``.
"""

from __future__ import annotations

import operator

import numpy as np
import pytest
import tapegrad as tg

ARITHMETIC = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "pow": operator.pow,
    "mod": operator.mod,
}
COMPARISONS = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "eq": operator.eq,
    "ne": operator.ne,
}
NUMPY_OPERANDS = {
    "float64-scalar": lambda: np.float64(1.5),
    "float32-scalar": lambda: np.float32(1.5),
    "int64-scalar": lambda: np.int64(2),
    "sqrt-scalar": lambda: np.sqrt(2.0),
    "0d-array": lambda: np.array(1.25),
    "1-element-array": lambda: np.array([1.25]),
    "float64-array": lambda: np.array([0.5, 1.5, 2.5]),
    "float32-array": lambda: np.array([0.5, 1.5, 2.5], dtype=np.float32),
    "int-array": lambda: np.array([1, 2, 3]),
    "bool-array": lambda: np.array([True, False, True]),
}


def _leaf() -> tg.Tensor:
    return tg.tensor([0.7, 1.3, 2.2], dtype=tg.float64, requires_grad=True)


def _numeric_grad(f, x0: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x0)
    for i in range(x0.size):
        step = np.zeros_like(x0)
        step[i] = eps
        grad[i] = (np.sum(f(x0 + step)) - np.sum(f(x0 - step))) / (2 * eps)
    return grad


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("operand", list(NUMPY_OPERANDS))
@pytest.mark.parametrize("op", list(ARITHMETIC))
def test_arithmetic_with_numpy_operand_keeps_the_graph(op, operand, side):
    fn, other = ARITHMETIC[op], NUMPY_OPERANDS[operand]()
    if op == "pow" and side == "left":
        other = np.abs(other) + 0.5  # a positive base
    if op in ("truediv", "mod") and side == "right":
        other = other + 1  # no zero divisor (a bool array becomes an int array)
    x = _leaf()

    def apply(v):
        return fn(other, v) if side == "left" else fn(v, other)

    if op == "sub" and operand == "bool-array":
        # PyTorch refuses `-` with a bool tensor (NumPy too): use `~` or a cast
        with pytest.raises(tg.DTypeError, match="with a bool tensor is not supported"):
            apply(x)
        return
    out = apply(x)
    assert isinstance(out, tg.Tensor), type(out)
    x0 = x.detach().numpy()
    expected = apply(x0)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-6)
    assert out.shape == np.shape(expected)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), _numeric_grad(apply, x0), atol=1e-6)


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("operand", ["float64-scalar", "float64-array", "int-array"])
@pytest.mark.parametrize("op", list(COMPARISONS))
def test_comparison_with_numpy_operand_gives_a_tensor(op, operand, side):
    fn, other = COMPARISONS[op], NUMPY_OPERANDS[operand]()
    x = tg.tensor([0.5, 1.5, 3.0], dtype=tg.float64)
    out = fn(other, x) if side == "left" else fn(x, other)
    assert isinstance(out, tg.Tensor), type(out)
    x0 = x.numpy()
    expected = fn(other, x0) if side == "left" else fn(x0, other)
    np.testing.assert_array_equal(out.numpy(), expected.astype(np.float64))


@pytest.mark.parametrize("side", ["left", "right"])
def test_floordiv_with_numpy_operand(side):
    x = _leaf()
    other = np.array([0.5, 2.0, 3.0])
    out = other // x if side == "left" else x // other
    assert isinstance(out, tg.Tensor)
    x0 = x.detach().numpy()
    expected = other // x0 if side == "left" else x0 // other
    np.testing.assert_array_equal(out.detach().numpy(), expected)
    out.sum().backward()  # floor has zero derivative
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(3))


@pytest.mark.parametrize("side", ["left", "right"])
def test_matmul_with_numpy_operand_keeps_the_graph(side):
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=tg.float64, requires_grad=True)
    m = np.array([[0.5, -1.0], [2.0, 0.25]])
    out = m @ x if side == "left" else x @ m
    assert isinstance(out, tg.Tensor)
    out.sum().backward()
    ones = np.ones((2, 2))
    expected = m.T @ ones if side == "left" else ones @ m.T
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_numpy_float_array_promotes_like_a_tensor():
    x = tg.ones(3, dtype=tg.float32)
    assert (x * np.ones(3)).dtype == tg.float64
    assert (np.ones(3, dtype=np.float32) * x).dtype == tg.float32
    assert (np.arange(3) * x).dtype == tg.float32  # integers take the tensor's dtype
    assert (np.float64(2.0) * x).dtype == tg.float32  # a scalar does too


def test_numpy_ufunc_on_a_tensor_raises_instead_of_dropping_the_graph():
    x = _leaf()
    with pytest.raises(TypeError, match="does not support ufuncs"):
        np.exp(x)
    # Conversion stays explicit and works.
    np.testing.assert_allclose(np.asarray(x.detach()), [0.7, 1.3, 2.2])


def test_unsupported_numpy_dtype_is_a_type_error():
    x = _leaf()
    with pytest.raises(TypeError):
        x + np.array(["a", "b", "c"])
    with pytest.raises(tg.ShapeError, match=r"\(3,\).*\(4,\)|\(4,\).*\(3,\)"):
        x + np.ones(4)
