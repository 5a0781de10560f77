"""Elementwise functions composed from the primitives (PyTorch's signatures), for the
ones that take parameters a primitive's stanza does not: ``round(decimals=)``,
``float_power``, ``lerp``, ``addcmul``, ``addcdiv``, ``nan_to_num``, ``polygamma(n, x)``,
``deg2rad``, ``rad2deg``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._dtypes import refuse_bool, require_floating
from ._errors import DTypeError
from ._native import Tensor, float64, get_default_dtype

__all__ = [
    "addcdiv",
    "addcmul",
    "deg2rad",
    "float_power",
    "lerp",
    "nan_to_num",
    "polygamma",
    "rad2deg",
    "round",
    "sgn",
]

sgn = Tensor.sgn


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Rounds to ``decimals`` decimal places, halves to even; zero derivative.

    As PyTorch, ``decimals != 0`` scales by ``10**decimals``, rounds and scales back.
    """
    if decimals == 0:
        return input.round()
    require_floating("round(decimals)", input)
    scale = 10.0**decimals
    return (input * scale).round() / scale


def float_power(input: Any, exponent: Any) -> Tensor:
    """``input ** exponent`` computed in float64 (the result is float64)."""
    if not isinstance(input, Tensor):
        return Tensor.double(exponent).__rpow__(float(input))
    base = input.double()
    if isinstance(exponent, Tensor):
        exponent = exponent.double()
    return base**exponent


def polygamma(n: int, input: Tensor) -> Tensor:
    """``ψ⁽ⁿ⁾(input)``, the n-th derivative of ``digamma`` (PyTorch's argument order)."""
    return input.polygamma(n)


def _to_float(input: Tensor) -> Tensor:
    return input if input.is_floating_point() else input.to(get_default_dtype())


def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians (integers give the default float dtype)."""
    return _to_float(input) * (np.pi / 180.0)


def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees (integers give the default float dtype)."""
    return _to_float(input) * (180.0 / np.pi)


def lerp(input: Tensor, end: Any, weight: Any) -> Tensor:
    """``input + weight · (end - input)``, for floating tensors (as PyTorch)."""
    require_floating("lerp", *(t for t in (input, end, weight) if isinstance(t, Tensor)))
    return input + weight * (end - input)


def addcmul(input: Tensor, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    """``input + value · tensor1 · tensor2``; integer tensors stay integer (with an integer
    ``value``, as PyTorch requires)."""
    value = _integral_value("addcmul", value, input, tensor1, tensor2)
    product = tensor1 * tensor2
    unit = isinstance(value, (int, float)) and value == 1
    return input + (product if unit else value * product)


def addcdiv(input: Tensor, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    """``input + value · tensor1 / tensor2``. Integer ``tensor1`` and ``tensor2`` are
    refused, as PyTorch refuses them (its integer ``addcdiv`` used to floor)."""
    tensors = [t for t in (tensor1, tensor2) if isinstance(t, Tensor)]
    if tensors and not any(t.dtype.is_floating_point for t in tensors):
        raise DTypeError(
            "addcdiv: integer division is not supported (tensor1 and tensor2 have dtype "
            f"{_short(tensors[0].dtype)}); use addcmul(input, tensor1, 1 / tensor2) or "
            "cast them to floats"
        )
    return input + value * (tensor1 / tensor2)


def _short(dtype: Any) -> str:
    return str(dtype).removeprefix("tapegrad.")


def _integral_value(op: str, value: Any, *operands: Any) -> Any:
    """``value`` as the integer operands take it: truncated into their dtype (PyTorch)."""
    tensors = [t for t in operands if isinstance(t, Tensor)]
    if any(t.dtype.is_floating_point for t in tensors) or isinstance(value, Tensor):
        return value
    from ._selection import _fits

    refuse_bool(op, *tensors)
    return _fits(value, tensors[0].dtype, op, wrap_ints=True)


def nan_to_num(
    input: Tensor,
    nan: float = 0.0,
    posinf: float | None = None,
    neginf: float | None = None,
) -> Tensor:
    """Replaces NaN by ``nan`` and ±inf by ``posinf``/``neginf`` (default: the dtype's
    largest/lowest finite value). The gradient flows where the input is finite."""
    if not input.dtype.is_floating_point:
        return input.clone()  # integers and bools have no NaN or inf
    info = np.finfo(np.float64 if input.dtype == float64 else np.float32)
    high = float(info.max) if posinf is None else posinf
    low = float(info.min) if neginf is None else neginf
    from . import where

    out = where(input.ne(input), nan, input)  # NaN is the one value != itself
    out = where(input == float("inf"), high, out)
    return where(input == float("-inf"), low, out)
