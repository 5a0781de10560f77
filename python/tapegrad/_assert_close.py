"""``tapegrad.testing.assert_close``: PyTorch's ``torch.testing.assert_close``.

Tensors (and NumPy arrays) are close where ``|actual - expected| <= atol + rtol *
|expected|``; the default tolerances depend on the dtype (float32: rtol 1.3e-6, atol
1e-5; float64: 1e-7 and 1e-7; integers and bool: exact). Python numbers compare by the
same rule, sequences and mappings item by item. A failure raises ``AssertionError``
naming the mismatched elements, the greatest differences and where they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from . import _native
from ._native import Tensor

# dtype name -> (rtol, atol), PyTorch's defaults.
_TOLERANCES = {"float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7)}


class _Mismatch(Exception):
    """A failed comparison: its message and whether it is a TypeError."""

    def __init__(self, message: str, kind: type[Exception] = AssertionError) -> None:
        super().__init__(message)
        self.kind = kind


def assert_close(
    actual: Any,
    expected: Any,
    *,
    allow_subclasses: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg: str | Callable[[str], str] | None = None,
) -> None:
    """Asserts that ``actual`` and ``expected`` are close, as PyTorch's.

    Args:
        actual: A tensor, NumPy array, Python number, None, or a sequence or mapping of
            them.
        expected: The reference, of the same structure.
        allow_subclasses: Whether a subclass (a ``Parameter``) compares with its base.
        rtol: Relative tolerance; give it with ``atol`` or neither (dtype defaults).
        atol: Absolute tolerance.
        equal_nan: Whether two NaNs are equal.
        check_device: Accepted (every tensor is on the CPU).
        check_dtype: Whether the dtypes (the types of numbers) must match; if not, both
            are promoted to a common dtype first.
        check_layout: Accepted (every tensor is strided).
        check_stride: Whether the strides must match too.
        msg: A message replacing the generated one, or a function of it.

    Raises:
        AssertionError: When the inputs are not close.
        TypeError: When the inputs cannot be compared (a tensor and a number...).
        ValueError: When only one of ``rtol`` and ``atol`` is given.
    """
    del check_device, check_layout  # one device, one layout
    if (rtol is None) != (atol is None):
        missing = "atol" if atol is None else "rtol"
        raise ValueError(
            "Both 'rtol' and 'atol' must be either specified or omitted, but got no "
            f"{missing}."
        )
    options = {
        "allow_subclasses": allow_subclasses,
        "rtol": rtol,
        "atol": atol,
        "equal_nan": equal_nan,
        "check_dtype": check_dtype,
        "check_stride": check_stride,
    }
    try:
        _compare(actual, expected, options, "")
    except _Mismatch as failure:
        message = str(failure)
        if failure.kind is AssertionError and msg is not None:
            message = msg(message) if callable(msg) else msg
        raise failure.kind(message) from None


def _compare(actual: Any, expected: Any, options: dict[str, Any], where: str) -> None:
    if actual is None and expected is None:
        return
    if _is_array(actual) and _is_array(expected):
        related = isinstance(actual, type(expected)) or isinstance(
            expected, type(actual)
        )
        if related and (options["allow_subclasses"] or type(actual) is type(expected)):
            _compare_arrays(actual, expected, options, where)
            return
    elif _is_number(actual) and _is_number(expected):
        _compare_numbers(actual, expected, options, where)
        return
    elif _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Mismatch(
                f"The length of the sequences mismatch: {len(actual)} != {len(expected)}"
                + _location(where)
            )
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, options, f"{where}[{i}]")
        return
    elif isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            missing = sorted(set(expected) - set(actual), key=repr)
            extra = sorted(set(actual) - set(expected), key=repr)
            raise _Mismatch(
                f"The keys of the mappings do not match:\nMissing keys in the actual "
                f"mapping: {missing}\nAdditional keys in the actual mapping: {extra}"
                + _location(where)
            )
        for key in expected:
            _compare(actual[key], expected[key], options, f"{where}[{key!r}]")
        return
    raise _Mismatch(
        f"No comparison pair was able to handle inputs of type {type(actual)} and "
        f"{type(expected)}.",
        TypeError,
    )


def _is_array(x: Any) -> bool:
    return isinstance(x, (Tensor, np.ndarray))


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.number, np.bool_))


def _is_sequence(x: Any) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, (str, bytes))


def _location(where: str) -> str:
    return f"\n\nThe failure occurred for item {where}" if where else ""


def _tolerances(names: list[str], options: dict[str, Any]) -> tuple[float, float]:
    if options["rtol"] is not None:
        return float(options["rtol"]), float(options["atol"])
    found = [_TOLERANCES.get(name, (0.0, 0.0)) for name in names]
    return max(f[0] for f in found), max(f[1] for f in found)


def _dtype_name(x: Any) -> str:
    return str(x.dtype.name) if isinstance(x, Tensor) else str(np.asarray(x).dtype)


def _compare_arrays(
    actual: Any, expected: Any, options: dict[str, Any], where: str
) -> None:
    def attribute(name: str, a: Any, e: Any) -> None:
        if a != e:
            raise _Mismatch(
                f"The values for attribute '{name}' do not match: {a} != {e}."
                + _location(where)
            )

    attribute("shape", actual.shape, expected.shape)
    if options["check_dtype"]:
        attribute("dtype", actual.dtype, expected.dtype)
    if options["check_stride"] and isinstance(actual, Tensor):
        attribute("stride()", actual.stride(), expected.stride())
    names = [_dtype_name(actual), _dtype_name(expected)]
    rtol, atol = _tolerances(names, options)
    common = str(_native.promote_types(*names)) if names[0] != names[1] else names[0]
    common = common.removeprefix("tapegrad.")
    a = _values(actual, common)
    e = _values(expected, common)
    matches = _close(a, e, rtol, atol, options["equal_nan"])
    if matches.all():
        return
    if a.ndim == 0:  # a 0-d tensor fails as a scalar does
        raise _Mismatch(
            _scalar_message(a.item(), e.item(), rtol, atol) + _location(where)
        )
    raise _Mismatch(_array_message(a, e, matches, rtol, atol) + _location(where))


def _values(x: Any, dtype: str) -> np.ndarray:
    array = x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)
    return np.asarray(array, dtype=dtype)


def _close(
    a: np.ndarray, e: np.ndarray, rtol: float, atol: float, equal_nan: bool
) -> np.ndarray:
    if a.dtype.kind != "f":
        return np.asarray(a == e)
    with np.errstate(invalid="ignore", over="ignore"):
        close = (a == e) | (np.abs(a - e) <= atol + rtol * np.abs(e))
        # Infinities are close only to themselves; NaNs only with equal_nan.
        close &= np.isfinite(a) & np.isfinite(e) | (a == e)
    if equal_nan:
        close |= np.isnan(a) & np.isnan(e)
    return np.asarray(close)


def _array_message(
    a: np.ndarray, e: np.ndarray, matches: np.ndarray, rtol: float, atol: float
) -> str:
    exact = rtol == 0 and atol == 0
    total = matches.size
    mismatched = total - int(matches.sum())
    shape = a.shape
    if a.dtype.kind != "f":
        a, e = a.astype(np.int64), e.astype(np.int64)
    a, e, matches = a.reshape(-1), e.reshape(-1), matches.reshape(-1)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        abs_diff = np.abs(a - e)
        abs_diff[matches] = 0
        rel_diff = abs_diff / np.abs(e)
        rel_diff[matches] = 0
    lines = [
        f"Tensor-likes are not {'equal' if exact else 'close'}!",
        "",
        f"Mismatched elements: {mismatched} / {total} ({mismatched / total:.1%})",
        _greatest("absolute", abs_diff, shape, atol, exact),
        _greatest("relative", rel_diff, shape, rtol, exact),
    ]
    return "\n".join(lines)


def _greatest(
    kind: str,
    diff: np.ndarray,
    shape: tuple[int, ...],
    tolerance: float,
    exact: bool,
) -> str:
    # The first NaN wins, as torch.max does; otherwise the first greatest value.
    nans = np.flatnonzero(np.isnan(diff)) if diff.dtype.kind == "f" else np.array([], int)
    flat = int(nans[0]) if len(nans) else int(np.argmax(diff))
    index = tuple(int(i) for i in np.unravel_index(flat, shape))
    value = diff[flat].item()
    allowed = "" if exact else f" (up to {tolerance} allowed)"
    return f"Greatest {kind} difference: {value} at index {index}{allowed}"


def _compare_numbers(
    actual: Any, expected: Any, options: dict[str, Any], where: str
) -> None:
    if options["check_dtype"] and type(actual) is not type(expected):
        raise _Mismatch(
            f"The (d)types do not match: {type(actual)} != {type(expected)}."
            + _location(where)
        )
    floating = isinstance(actual, (float, np.floating)) or isinstance(
        expected, (float, np.floating)
    )
    names = ["float64" if floating else "int64"]
    rtol, atol = _tolerances(names, options)
    a, e = (
        (float(actual), float(expected)) if floating else (int(actual), int(expected))
    )
    if a == e or (options["equal_nan"] and math.isnan(a) and math.isnan(e)):
        return
    if math.isfinite(a) and math.isfinite(e) and abs(a - e) <= atol + rtol * abs(e):
        return
    raise _Mismatch(_scalar_message(actual, expected, rtol, atol) + _location(where))


def _scalar_message(actual: Any, expected: Any, rtol: float, atol: float) -> str:
    """PyTorch's message for two numbers (or 0-d tensors) that are not close."""
    exact = rtol == 0 and atol == 0
    difference = abs(actual - expected)
    relative = difference / abs(expected) if expected != 0 else math.inf
    lines = [
        f"Scalars are not {'equal' if exact else 'close'}!",
        "",
        f"Expected {expected} but got {actual}.",
        f"Absolute difference: {difference}"
        + ("" if exact else f" (up to {atol} allowed)"),
        f"Relative difference: {relative}"
        + ("" if exact else f" (up to {rtol} allowed)"),
    ]
    return "\n".join(lines)
