"""Integer and bool arithmetic (issue 11): every elementwise op over a dtype axis, the
bitwise operators, rounding divisions, clamp, errors by type and message, and no graph
for integer results. Values against NumPy (always) and PyTorch (when installed)."""

from __future__ import annotations

import operator
from typing import Any, Callable

import numpy as np
import pytest

import tapegrad as tg

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64"]
INTEGERS = ["uint8", "int8", "int16", "int32", "int64"]
VALUES = [-3, 0, 2, 5, 1]
OTHER = [2, -1, 3, 2, 7]  # no zero: divisions are defined


def _array(values: list[int], dtype: str) -> np.ndarray:
    if dtype == "bool":
        return np.array([v % 2 != 0 for v in values])
    return np.array(values).astype(dtype)


# ---------------------------------------------------------------- unary ops

EXACT_UNARY = {
    "neg": np.negative,
    "abs": np.abs,
    "sign": np.sign,
    "square": np.square,
    "relu": lambda x: np.maximum(x, 0).astype(x.dtype),
    "floor": lambda x: x,
    "ceil": lambda x: x,
    "round": lambda x: x,
    "trunc": lambda x: x,
}
FLOAT_UNARY = {
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "sin": np.sin,
    "cos": np.cos,
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "reciprocal": lambda x: 1 / x,
    "exp2": np.exp2,
    "log2": np.log2,
    "atan": np.arctan,
}
# PyTorch has no bool kernel for these (sign of a bool is the bool, square gives int64).
BOOL_REFUSED = {"neg", "abs", "relu", "floor", "ceil", "round", "trunc", "frac"}


@pytest.mark.parametrize("dtype", INTEGERS)
@pytest.mark.parametrize("name", sorted(EXACT_UNARY))
def test_integral_functions_of_integers_stay_integers(name: str, dtype: str) -> None:
    x = _array(VALUES, dtype)
    with np.errstate(over="ignore"):
        expected = EXACT_UNARY[name](x)
    y = getattr(tg.tensor(x), name)()
    assert y.dtype == getattr(tg, dtype)
    np.testing.assert_array_equal(y.numpy(), expected.astype(dtype))
    assert y.grad_fn is None


@pytest.mark.parametrize("dtype", ["bool", *INTEGERS])
@pytest.mark.parametrize("name", sorted(FLOAT_UNARY))
def test_float_functions_of_integers_give_the_default_float(
    name: str, dtype: str
) -> None:
    x = _array(VALUES, dtype)
    y = getattr(tg, name)(tg.tensor(x))
    assert y.dtype == tg.float32
    with np.errstate(all="ignore"):
        expected = FLOAT_UNARY[name](x.astype(np.float32))
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5, atol=1e-6)
    tg.set_default_dtype(tg.float64)
    try:
        assert getattr(tg, name)(tg.tensor(x)).dtype == tg.float64
    finally:
        tg.set_default_dtype(tg.float32)


UNARY_PRIMITIVES = sorted(
    row["api"][0] for row in tg._native._primitives() if row["family"] == "unary"
)


@pytest.mark.parametrize("dtype", DTYPES[:6])
@pytest.mark.parametrize("name", UNARY_PRIMITIVES)
def test_unary_primitives_on_integers_and_bools_match_pytorch(
    name: str, dtype: str
) -> None:
    torch = pytest.importorskip("torch")
    x = _array(VALUES, dtype)
    try:
        expected = getattr(torch, name)(torch.from_numpy(x.copy()))
    except (RuntimeError, TypeError):  # NotImplementedError is a RuntimeError
        message = f"(?i){name}.*{dtype}|{dtype}.*{name}|bool"
        with pytest.raises(tg.DTypeError, match=message):
            getattr(tg.tensor(x), name)()
        return
    got = getattr(tg.tensor(x), name)()
    assert str(got.dtype) == f"tapegrad.{_torch_dtype_name(expected)}"
    np.testing.assert_allclose(
        got.numpy(), expected.numpy(), rtol=2e-6, atol=1e-7, equal_nan=True
    )


@pytest.mark.parametrize("name", sorted(BOOL_REFUSED))
def test_bool_refusals_name_the_op_and_dtype(name: str) -> None:
    mask = tg.tensor([True, False])
    with pytest.raises(tg.DTypeError, match=f"{name}.*(bool|Bool)"):
        getattr(mask, name)()


def test_bool_sign_square_and_negation() -> None:
    mask = tg.tensor([True, False])
    assert mask.sign().dtype == tg.bool and mask.sign().tolist() == [True, False]
    assert mask.square().dtype == tg.int64 and mask.square().tolist() == [1, 0]
    negation = "Negation, the `-` operator, on a bool tensor"
    with pytest.raises(tg.DTypeError, match=negation):
        -mask
    assert (~mask).tolist() == [False, True]


def test_integer_overflow_wraps() -> None:
    assert (tg.tensor([100], dtype=tg.int8) * 3).tolist() == [44]
    assert (tg.tensor([5], dtype=tg.uint8) - 6).tolist() == [255]
    assert (-tg.tensor([5], dtype=tg.uint8)).tolist() == [251]
    assert tg.tensor([-128], dtype=tg.int8).abs().tolist() == [-128]
    big = tg.tensor([2**62])
    assert (big * 4).tolist() == [0]
    # 300 wraps to 44 first
    assert (tg.tensor([1], dtype=tg.int8) + 300).tolist() == [45]
    assert (tg.tensor([2]) ** 64).tolist() == [0]


# ---------------------------------------------------------------- binary ops

BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "maximum": lambda a, b: a.maximum(b),
    "minimum": lambda a, b: a.minimum(b),
    "pow": lambda a, b: a.pow(b),
    "fmod": lambda a, b: a.fmod(b),
    "remainder": lambda a, b: a.remainder(b),
    "floor_divide": lambda a, b: a.floor_divide(b),
    "div_trunc": lambda a, b: a.div(b, rounding_mode="trunc"),
    "div_floor": lambda a, b: a.div(b, rounding_mode="floor"),
    "true_divide": lambda a, b: a.true_divide(b),
    "atan2": lambda a, b: a.atan2(b),
    "hypot": lambda a, b: a.hypot(b),
    "copysign": lambda a, b: a.copysign(b),
    "logaddexp": lambda a, b: a.logaddexp(b),
    "xlogy": lambda a, b: a.xlogy(b),
    "heaviside": lambda a, b: a.heaviside(b),
    "bitwise_and": lambda a, b: a.bitwise_and(b),
    "bitwise_or": lambda a, b: a | b,
    "bitwise_xor": lambda a, b: a ^ b,
    "left_shift": lambda a, b: a << b,
    "right_shift": lambda a, b: a >> b,
}
PAIRS = [(a, b) for a in DTYPES for b in DTYPES]


def _torch_dtype_name(t: Any) -> str:
    return str(t.dtype).removeprefix("torch.")


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops_over_every_dtype_pair_match_pytorch(name: str) -> None:
    torch = pytest.importorskip("torch")
    f = BINARY[name]
    for a, b in PAIRS:
        x, y = _array(VALUES, a), _array(OTHER, b)
        if b == "bool":
            y = np.ones_like(y)  # a False divisor would be a division by zero
        try:
            expected = f(torch.from_numpy(x.copy()), torch.from_numpy(y.copy()))
        except (RuntimeError, TypeError):
            with pytest.raises((tg.DTypeError, tg.ArgumentError)):
                f(tg.tensor(x), tg.tensor(y))
            continue
        got = f(tg.tensor(x), tg.tensor(y))
        ours = str(got.dtype).removeprefix("tapegrad.")
        assert ours == _torch_dtype_name(expected), (a, b)
        np.testing.assert_allclose(
            got.numpy(), expected.numpy(), rtol=1e-6, equal_nan=True, err_msg=f"{a},{b}"
        )


@pytest.mark.parametrize("dtype", INTEGERS)
def test_rounding_divisions_of_integers(dtype: str) -> None:
    signed = dtype != "uint8"
    a = [7, -7, 7, -7] if signed else [7, 9, 200, 3]
    b = [2, 2, -2, -2] if signed else [2, 4, 7, 5]
    x = tg.tensor(a, dtype=getattr(tg, dtype))
    y = tg.tensor(b, dtype=getattr(tg, dtype))
    xa, ya = np.array(a).astype(dtype), np.array(b).astype(dtype)
    for got, expected in [
        (x // y, np.floor_divide(xa, ya)),
        (x.floor_divide(y), np.floor_divide(xa, ya)),
        (x.div(y, rounding_mode="floor"), np.floor_divide(xa, ya)),
        (tg.divide(x, y, rounding_mode="trunc"), np.trunc(xa / ya).astype(dtype)),
        (x % y, np.remainder(xa, ya)),
        (x.fmod(y), np.fmod(xa, ya)),
    ]:
        assert got.dtype == getattr(tg, dtype)
        np.testing.assert_array_equal(got.numpy(), expected)
    assert (x / y).dtype == tg.float32
    np.testing.assert_allclose((x / y).numpy(), xa / ya, rtol=1e-6)
    assert tg.true_divide(x, y).dtype == tg.float32


def test_integer_powers() -> None:
    i = tg.tensor([5, -7, 1, -1])
    assert (i**2).tolist() == [25, 49, 1, 1]
    assert (2 ** tg.tensor([1, 3])).tolist() == [2, 8]
    # a negative exponent tensor truncates 1/x^n (1 and -1 survive)
    assert (i ** tg.tensor([-1, -1, -3, -3])).tolist() == [0, 0, 1, -1]
    assert (i**0.5).dtype == tg.float32
    assert (tg.tensor([2], dtype=tg.uint8) ** 2).dtype == tg.uint8
    with pytest.raises(tg.ArgumentError, match="Integers to negative integer powers"):
        i**-1
    with pytest.raises(tg.ArgumentError, match="Integers to negative integer powers"):
        i.pow(-2)


def test_shifts_past_the_width() -> None:
    i = tg.tensor([5, -7])
    assert (i << 2).tolist() == [20, -28]
    assert (i >> 1).tolist() == [2, -4]
    assert (i << 64).tolist() == [0, 0]
    assert (i >> tg.tensor([-1, 70])).tolist() == [0, -1]
    assert (tg.tensor([200], dtype=tg.uint8) >> 9).tolist() == [0]
    assert (1 << tg.tensor([3])).tolist() == [8]  # reflected


def test_bitwise_operators_and_reflected_forms() -> None:
    a = tg.tensor([12, 10, -1])
    b = tg.tensor([10, 6, 3])
    assert (a & b).tolist() == [8, 2, 3]
    assert (a | b).tolist() == [14, 14, -1]
    assert (a ^ b).tolist() == [6, 12, -4]
    assert (~a).tolist() == [-13, -11, 0]
    assert (6 & b).tolist() == [2, 6, 2]
    assert (1 | b).tolist() == [11, 7, 3]
    assert (5 ^ b).tolist() == [15, 3, 6]
    assert tg.bitwise_not(b).tolist() == [-11, -7, -4]
    m, n = tg.tensor([True, False, True]), tg.tensor([True, True, False])
    for got, expected in [
        (m & n, [True, False, False]),
        (m | n, [True, True, True]),
        (m ^ n, [False, True, True]),
    ]:
        assert got.dtype == tg.bool and got.tolist() == expected
    assert (m & 1).dtype == tg.int64  # a Python int raises bool to int64
    for op in (operator.and_, operator.or_, operator.xor, operator.lshift):
        with pytest.raises(tg.DTypeError, match="float32"):
            op(tg.tensor([1.5]), 1)
    with pytest.raises(tg.DTypeError, match="bitwise_not.*float32"):
        ~tg.tensor([1.5])


def test_bool_arithmetic() -> None:
    m, n = tg.tensor([True, False]), tg.tensor([True, True])
    assert (m + m).dtype == tg.bool and (m + m).tolist() == [True, False]
    assert (m * n).tolist() == [True, False]
    assert (m + 1).tolist() == [2, 1]
    assert (m / n).dtype == tg.float32
    with pytest.raises(tg.DTypeError, match="with two bool tensors is not supported"):
        m - n
    with pytest.raises(tg.DTypeError, match="with a bool tensor is not supported"):
        m - 1
    with pytest.raises(tg.DTypeError, match="with a bool tensor is not supported"):
        tg.tensor([1.5]) - m
    with pytest.raises(tg.DTypeError, match="floor_divide.*bool"):
        m // n
    with pytest.raises(tg.DTypeError, match="remainder.*bool"):
        m % n


def test_integer_division_by_zero_raises_like_pytorch() -> None:
    i = tg.tensor([5, -7])
    zero = tg.tensor([0, 1])
    for f in (
        lambda: i // 0,
        lambda: i % 0,
        lambda: i.fmod(0),
        lambda: i // zero,
        lambda: i.div(0, rounding_mode="trunc"),
        lambda: tg.tensor(5) // tg.tensor(0),
    ):
        with pytest.raises(tg.IntegerDivisionError, match="ZeroDivisionError"):
            f()
    # both what PyTorch raises (RuntimeError) and what Python raises for 1 // 0
    with pytest.raises(RuntimeError):
        i // 0
    with pytest.raises(ZeroDivisionError):
        i % 0
    # an empty result divides nothing; float divisors give inf and nan
    assert (tg.tensor([], dtype=tg.int64) // 0).shape == (0,)
    assert (i / 0).tolist() == [float("inf"), float("-inf")]
    assert (i // 0.0).tolist() == [float("inf"), float("-inf")]


def test_div_rounding_mode_is_checked() -> None:
    expected = "rounding_mode to be one of None, 'trunc'"
    with pytest.raises(tg.ArgumentError, match=expected):
        tg.tensor([1.0]).div(2, rounding_mode="round")
    x = tg.tensor([-7.5, 7.5], requires_grad=True)
    assert x.div(2, rounding_mode="trunc").tolist() == [-3.0, 3.0]
    assert x.div(2, rounding_mode="floor").tolist() == [-4.0, 3.0]


def test_clamp_of_integers_follows_promotion() -> None:
    i = tg.tensor([5, -7, 2])
    assert i.clamp(0, 3).dtype == tg.int64 and i.clamp(0, 3).tolist() == [3, 0, 2]
    assert tg.clip(i, max=1).tolist() == [1, -7, 1]
    assert i.clamp(1.5).dtype == tg.float32 and i.clamp(1.5).tolist() == [5.0, 1.5, 2.0]
    u = tg.tensor([5, 7], dtype=tg.uint8)
    assert u.clamp(6).dtype == tg.uint8 and u.clamp(6).tolist() == [6, 7]
    with pytest.raises(tg.ArgumentError, match="Clamp min value 300 is outside .*uint8"):
        u.clamp(min=300)
    with pytest.raises(tg.ArgumentError, match="Clamp max value -1 is outside .*uint8"):
        u.clamp(max=-1)
    b = tg.tensor([True, False])
    assert b.clamp(0).dtype == tg.int64 and b.clamp(0).tolist() == [1, 0]
    with pytest.raises(tg.DTypeError, match="clamp.*bool"):
        b.clamp(min=True)


def test_refused_binary_ops_name_op_and_dtype() -> None:
    i = tg.tensor([1, 2])
    with pytest.raises(tg.DTypeError, match="hypot.*int64"):
        i.hypot(i)
    with pytest.raises(tg.DTypeError, match="logaddexp.*int64"):
        i.logaddexp(i)
    with pytest.raises(tg.DTypeError, match="heaviside.*different dtypes"):
        i.heaviside(tg.tensor([1, 2], dtype=tg.int32))


# ---------------------------------------------------------------- gradients


def test_integer_results_record_no_node() -> None:
    i = tg.tensor([1, 2, 3])
    for y in (i + 1, i * i, i // 2, i & 1, -i, i.abs(), i.exp(), i / 2):
        assert y.grad_fn is None and not y.requires_grad


def test_gradients_flow_only_to_floating_inputs() -> None:
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    labels = tg.tensor([2, 0, 1])
    y = (x * labels + labels // 2).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 1.0])
    assert x.grad.dtype == tg.float32


def test_pytorch_style_accuracy_line() -> None:
    logits = tg.tensor([[0.1, 2.0], [3.0, -1.0], [0.0, 1.0]])
    y = tg.tensor([1, 0, 0])
    correct = (logits.argmax(1) == y).sum()
    assert correct.dtype == tg.int64 and correct.item() == 2
    assert ((correct * 100) // 3).item() == 66


# ---------------------------------------------------------------- reductions and scans


@pytest.mark.parametrize("dtype", ["bool", *INTEGERS])
def test_integer_products_and_scans_accumulate_in_int64(dtype: str) -> None:
    x = _array([3, -2, 5, 1, 7, 2], dtype).reshape(2, 3)
    t = tg.tensor(x)
    wide = x.astype(np.int64)
    cases = [
        (t.prod(), np.prod(wide)),
        (tg.prod(t, 1), np.prod(wide, axis=1)),
        (t.prod(0, keepdim=True), np.prod(wide, axis=0, keepdims=True)),
        (t.cumsum(1), np.cumsum(wide, axis=1)),
        (tg.cumsum(t, 0), np.cumsum(wide, axis=0)),
        (t.cumprod(1), np.cumprod(wide, axis=1)),
        (t.sum(), wide.sum()),
    ]
    for got, expected in cases:
        assert got.dtype == tg.int64
        np.testing.assert_array_equal(got.numpy(), expected)
    assert t.prod(dtype=tg.float64).dtype == tg.float64
    assert t.cumsum(1, dtype=tg.int32).dtype == tg.int32
    assert t.cumprod(0, dtype=tg.float32).dtype == tg.float32
    mean = t.mean(dtype=tg.float64)
    assert mean.dtype == tg.float64
    np.testing.assert_allclose(mean.item(), wide.mean())
    assert t.sum(dtype=tg.float32).dtype == tg.float32
    with pytest.raises(tg.DTypeError, match="mean.*" + dtype):
        t.mean()


def test_products_and_scans_match_pytorch() -> None:
    torch = pytest.importorskip("torch")
    x = np.array([[3, -2, 5, 0], [1, 7, 2, -1]], dtype=np.int8)
    for f in (
        lambda m, t: m.prod(t),
        lambda m, t: m.prod(t, 1),
        lambda m, t: m.cumsum(t, 1),
        lambda m, t: m.cumprod(t, 0),
        lambda m, t: m.cumsum(t, 1, dtype=m.int16),
        lambda m, t: m.prod(t, 0, dtype=m.float64),
        lambda m, t: m.mean(t, dtype=m.float64),
        lambda m, t: m.sum(t, dtype=m.int8),
    ):
        expected = f(torch, torch.from_numpy(x.copy()))
        got = f(tg, tg.tensor(x))
        assert str(got.dtype) == str(expected.dtype).replace("torch", "tapegrad")
        np.testing.assert_allclose(got.numpy(), expected.numpy())


def test_float_products_have_gradients_through_zeros() -> None:
    x = tg.tensor([2.0, 0.0, 3.0, 4.0, 5.0], dtype=tg.float64, requires_grad=True)
    x.prod().backward()
    # d(prod)/dx_i = product of the others: only x_1 = 0 gets a nonzero one
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 120.0, 0.0, 0.0, 0.0])
    y = tg.tensor([2.0, 0.0, 3.0], dtype=tg.float64, requires_grad=True)
    y.cumprod(0).sum().backward()
    # d/dy0 (y0 + y0 y1 + y0 y1 y2) = 1 + y1 + y1 y2 = 1; d/dy1 = y0 + y0 y2 = 8
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 8.0, 0.0])
