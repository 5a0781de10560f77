"""Result dtypes and values of ``+ - * / // % & ==`` over every pair of the 8 dtypes
(tensor-tensor, tensor-0-d tensor, tensor-Python number, both orders for numbers):
against PyTorch when it is installed, and against the promotion table below (taken from
``torch.result_type``) with NumPy computing the values otherwise."""

from __future__ import annotations

import operator
from typing import Any, Callable

import numpy as np
import pytest

import tapegrad as tg

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64"]
SHORT = dict(zip(["b1", "u1", "i1", "i2", "i4", "i8", "f4", "f8"], DTYPES))

# torch.result_type(tensor of row dtype, tensor of column dtype), columns as DTYPES.
TENSOR_TENSOR = """
b1 u1 i1 i2 i4 i8 f4 f8
u1 u1 i2 i2 i4 i8 f4 f8
i1 i2 i1 i2 i4 i8 f4 f8
i2 i2 i2 i2 i4 i8 f4 f8
i4 i4 i4 i4 i4 i8 f4 f8
i8 i8 i8 i8 i8 i8 f4 f8
f4 f4 f4 f4 f4 f4 f4 f8
f8 f8 f8 f8 f8 f8 f8 f8
"""
# torch.result_type(tensor of row dtype, 0-d tensor of column dtype): a 0-d operand only
# raises the category.
TENSOR_ZERO_DIM = """
b1 u1 i1 i2 i4 i8 f4 f8
u1 u1 u1 u1 u1 u1 f4 f8
i1 i1 i1 i1 i1 i1 f4 f8
i2 i2 i2 i2 i2 i2 f4 f8
i4 i4 i4 i4 i4 i4 f4 f8
i8 i8 i8 i8 i8 i8 f4 f8
f4 f4 f4 f4 f4 f4 f4 f4
f8 f8 f8 f8 f8 f8 f8 f8
"""
# torch.result_type(tensor of row dtype, Python number), columns: True, 3, -2, 2.5.
SCALARS: list[Any] = [True, 3, -2, 2.5]
TENSOR_NUMBER = """
b1 i8 i8 f4
u1 u1 u1 f4
i1 i1 i1 f4
i2 i2 i2 f4
i4 i4 i4 f4
i8 i8 i8 f4
f4 f4 f4 f4
f8 f8 f8 f8
"""


def _table(text: str) -> dict[tuple[str, int], str]:
    rows = [line.split() for line in text.strip().splitlines()]
    return {
        (DTYPES[i], j): SHORT[c] for i, row in enumerate(rows) for j, c in enumerate(row)
    }


PROMOTED = {
    "tensor": _table(TENSOR_TENSOR),
    "zerodim": _table(TENSOR_ZERO_DIM),
    "number": _table(TENSOR_NUMBER),
}

OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "&": operator.and_,
    "==": operator.eq,
}

LHS = [7, -3, 100, 1]
RHS = [2, 5, -3, 1]  # no zero in any dtype (uint8 -3 is 253): // and % are defined
ZERO_DIM = {"bool": True, "float32": 2.5, "float64": 2.5}


def _values(values: list[int], dtype: str) -> np.ndarray:
    if dtype == "bool":
        return np.array([v % 2 == 1 for v in values])
    return np.array(values).astype(dtype)


def _divisors(dtype: str) -> np.ndarray:
    """The right operands: all True for bool (a False divisor divides by zero)."""
    return np.ones(len(RHS), dtype=bool) if dtype == "bool" else _values(RHS, dtype)


def _zero_dim_value(dtype: str) -> Any:
    return ZERO_DIM.get(dtype, 3)


def _expected(
    op: str, a: str, b: str | None, promoted: str, number: Any = None
) -> str | None:
    """The result dtype PyTorch gives, or None where it raises: ``-`` with a bool
    operand, ``// %`` of bools, ``&`` of floats."""
    bools = a == "bool" or b == "bool" or isinstance(number, bool)
    if op == "-" and bools:
        return None
    if op in ("//", "%") and promoted == "bool":
        return None
    if op == "&" and promoted.startswith("float"):
        return None
    if op == "/" and not promoted.startswith("float"):
        return "float32"
    if op == "==":
        return "bool"
    return promoted


def _reference(
    op: str, x: np.ndarray, y: Any, promoted: str, result: str
) -> np.ndarray:
    """NumPy's value of ``x op y`` computed in ``promoted`` (PyTorch casts both operands
    to it, wrapping integers), then cast to ``result``; true division casts the operands
    themselves to the float result (``uint8 / -2`` divides by -2, not by 254)."""
    compute = result if op == "/" else promoted
    xs, ys = np.asarray(x).astype(compute), np.asarray(y).astype(compute)
    if promoted == "bool" and op in ("+", "*"):
        out = (xs | ys) if op == "+" else (xs & ys)
    else:
        with np.errstate(all="ignore"):  # float division by a False is inf, as PyTorch
            out = OPS[op](xs, ys)
    return np.asarray(out).astype(result)


def _cases() -> list[tuple[str, str, str, Any, bool]]:
    cases = []
    for op in OPS:
        for a in DTYPES:
            for b in DTYPES:
                cases.append((op, a, "tensor", b, False))
                cases.append((op, a, "zerodim", b, False))
            for number in SCALARS:
                cases.append((op, a, "number", number, False))
                cases.append((op, a, "number", number, True))
    return cases


def _ids(case: tuple[str, str, str, Any, bool]) -> str:
    op, a, kind, b, reflected = case
    return f"{a}{op}{kind}:{b}{':reflected' if reflected else ''}"


def _check(result: Any, expected_dtype: str, reference: np.ndarray) -> None:
    assert result.dtype == getattr(tg, expected_dtype)
    got = result.numpy()
    if expected_dtype.startswith("float"):
        np.testing.assert_allclose(got, reference, rtol=1e-6)
    else:
        np.testing.assert_array_equal(got, reference)


@pytest.mark.parametrize("case", _cases(), ids=_ids)
def test_result_dtype_and_values_follow_the_table(case: Any) -> None:
    op, a, kind, b, reflected = case
    f = OPS[op]
    x = _values(LHS, a)
    if kind == "number":
        column = SCALARS.index(b) if not isinstance(b, bool) else 0
        promoted = PROMOTED[kind][(a, column)]
        other: Any = b
        expected = _expected(op, a, None, promoted, number=b)
        y_ref: Any = b
    else:
        promoted = PROMOTED[kind][(a, DTYPES.index(b))]
        zero_dim = np.array(_zero_dim_value(b), dtype=b)
        y_ref = _divisors(b) if kind == "tensor" else zero_dim
        other = tg.tensor(y_ref)
        expected = _expected(op, a, b, promoted)
    t = tg.tensor(x)
    run = (lambda: f(other, t)) if reflected else (lambda: f(t, other))
    if expected is None:
        with pytest.raises(tg.DTypeError, match="bool|dtype"):
            run()
        return
    integral = not expected.startswith("float")
    if reflected and op in ("//", "%") and integral and not x.all():
        with pytest.raises(tg.IntegerDivisionError, match="ZeroDivisionError"):
            run()  # the tensor is the divisor, and holds a zero (False)
        return
    if reflected:
        reference = _reference(op, np.asarray(y_ref), x, promoted, expected)
    else:
        reference = _reference(op, x, y_ref, promoted, expected)
    _check(run(), expected, reference)


@pytest.mark.parametrize("case", _cases(), ids=_ids)
def test_result_dtype_and_values_match_pytorch(case: Any) -> None:
    torch = pytest.importorskip("torch")
    op, a, kind, b, reflected = case
    f = OPS[op]
    x = _values(LHS, a)
    if kind == "number":
        ours_other: Any = b
        theirs_other: Any = b
    else:
        zero_dim = np.array(_zero_dim_value(b), dtype=b)
        y = _divisors(b) if kind == "tensor" else zero_dim
        ours_other, theirs_other = tg.tensor(y), torch.from_numpy(np.array(y))
    ours, theirs = tg.tensor(x), torch.from_numpy(x.copy())

    def apply(t: Any, other: Any) -> Any:
        return f(other, t) if reflected else f(t, other)

    try:
        expected = apply(theirs, theirs_other)
    except (RuntimeError, TypeError) as e:  # NotImplementedError is a RuntimeError
        error = tg.IntegerDivisionError if "ZeroDivisionError" in str(e) else tg.DTypeError
        with pytest.raises(error):
            apply(ours, ours_other)
        return
    got = apply(ours, ours_other)
    _check(got, str(expected.dtype).removeprefix("torch."), expected.numpy())
