"""Elementwise functions composed from the primitives (PyTorch's signatures), for the
ones that take parameters a primitive's stanza does not: ``round(decimals=)``,
``float_power``, ``lerp``, ``addcmul``, ``addcdiv``, ``nan_to_num``, ``polygamma(n, x)``,
``deg2rad``, ``rad2deg``."""

from __future__ import annotations

from typing import Any

import numpy as np

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
    """``input + weight · (end - input)``."""
    return input + weight * (end - input)


def addcmul(input: Tensor, tensor1: Any, tensor2: Any, *, value: float = 1.0) -> Tensor:
    """``input + value · tensor1 · tensor2``."""
    return input + value * (tensor1 * tensor2)


def addcdiv(input: Tensor, tensor1: Any, tensor2: Any, *, value: float = 1.0) -> Tensor:
    """``input + value · tensor1 / tensor2``."""
    return input + value * (tensor1 / tensor2)


def nan_to_num(
    input: Tensor,
    nan: float = 0.0,
    posinf: float | None = None,
    neginf: float | None = None,
) -> Tensor:
    """Replaces NaN by ``nan`` and ±inf by ``posinf``/``neginf`` (default: the dtype's
    largest/lowest finite value). The gradient flows where the input is finite."""
    info = np.finfo(np.float64 if input.dtype == float64 else np.float32)
    high = float(info.max) if posinf is None else posinf
    low = float(info.min) if neginf is None else neginf
    from . import where

    out = where(input.ne(input), nan, input)  # NaN is the one value != itself
    out = where(input == float("inf"), high, out)
    return where(input == float("-inf"), low, out)
