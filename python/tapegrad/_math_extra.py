"""More of PyTorch's maths as composites: integer and bit-level functions (``gcd``,
``lcm``, ``signbit``, ``frexp``, ``nextafter``: NumPy's work, no gradient), ``ldexp``,
``i0`` (Cephes' Chebyshev expansions, the ones PyTorch uses, written with tensor ops so
the gradient is ``i1``), products (``inner``, ``ger``, ``addr``, ``addbmm``),
``renorm``, integrals (``trapezoid``, ``trapz``, ``cumulative_trapezoid``); and, from
``_quantiles.py``, quantiles, ``histogram`` and ``unique_consecutive``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._creation import tensor
from ._dtypes import refuse_bool
from ._errors import ArgumentError, AxisError, DTypeError, ShapeError
from ._native import Tensor, get_default_dtype, result_type
from ._native import bool as bool_
from ._native import float64
from .return_types import frexp as frexp_result
from ._selection import _dim

__all__ = [
    "addbmm",
    "addr",
    "cumulative_trapezoid",
    "frexp",
    "gcd",
    "ger",
    "histogram",
    "i0",
    "inner",
    "lcm",
    "ldexp",
    "nanquantile",
    "nextafter",
    "quantile",
    "renorm",
    "signbit",
    "trapezoid",
    "trapz",
    "unique_consecutive",
]


def _as_tensor(value: Any) -> Tensor:
    return value if isinstance(value, Tensor) else tensor(value)


def _to_float(input: Tensor) -> Tensor:
    return input if input.dtype.is_floating_point else input.to(get_default_dtype())


# ---- integer and bit-level functions (no gradient) -----------------------------------------


def _integers(op: str, input: Tensor, other: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    other = _as_tensor(other)
    for t in (input, other):
        if t.dtype.is_floating_point or t.dtype == bool_:
            raise DTypeError(f"{op} expects integer tensors, got dtype {t.dtype}")
    dtype = result_type(input, other)
    a, b = input.detach().numpy(), other.detach().numpy()
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(
            f"{op}: shapes {tuple(input.shape)} and {tuple(other.shape)} do not broadcast"
        ) from None
    return np.broadcast_to(a, shape), np.broadcast_to(b, shape), dtype


def gcd(input: Tensor, other: Any) -> Tensor:
    """Greatest common divisor of integer tensors (non-negative; ``gcd(0, 0) = 0``)."""
    a, b, dtype = _integers("gcd", input, other)
    return tensor(np.gcd(a.astype(np.int64), b.astype(np.int64)), dtype=dtype)


def lcm(input: Tensor, other: Any) -> Tensor:
    """Least common multiple of integer tensors (non-negative; 0 when either is 0)."""
    a, b, dtype = _integers("lcm", input, other)
    return tensor(np.lcm(a.astype(np.int64), b.astype(np.int64)), dtype=dtype)


def signbit(input: Tensor) -> Tensor:
    """True where the sign bit is set: negative numbers and ``-0.0`` (a bool tensor)."""
    return tensor(np.signbit(input.detach().numpy()))


def frexp(input: Tensor) -> frexp_result:
    """Mantissa in ``[0.5, 1)`` (by magnitude; input's dtype) and int32 exponent with
    ``input = mantissa · 2**exponent``. Floating inputs only; no gradient."""
    if not input.dtype.is_floating_point:
        raise DTypeError(f"frexp only supports floating-point dtypes, got {input.dtype}")
    mantissa, exponent = np.frexp(input.detach().numpy())
    return frexp_result(
        tensor(mantissa, dtype=input.dtype), tensor(exponent.astype(np.int32))
    )


def ldexp(input: Tensor, other: Any) -> Tensor:
    """``input · 2**other`` (integers give the default float dtype); differentiable."""
    other = _to_float(_as_tensor(other))
    return _to_float(input) * other.__rpow__(2.0)


def nextafter(input: Tensor, other: Any) -> Tensor:
    """The next representable float after ``input`` towards ``other``; no gradient."""
    other = _as_tensor(other)
    for t in (input, other):
        if not t.dtype.is_floating_point:
            raise DTypeError(f"nextafter expects floating-point tensors, got dtype {t.dtype}")
    dtype = result_type(input, other)
    kind = np.float32 if dtype.itemsize == 4 else np.float64
    a = input.detach().numpy().astype(kind)
    b = other.detach().numpy().astype(kind)
    return tensor(np.nextafter(a, b), dtype=dtype)


# Cephes' Chebyshev coefficients for exp(-x) I0(x): A on [0, 8], B on (8, inf).
_I0_A = (
    -4.41534164647933937950e-18, 3.33079451882223809783e-17, -2.43127984654795469359e-16,
    1.71539128555513303061e-15, -1.16853328779934516808e-14, 7.67618549860493561688e-14,
    -4.85644678311192946090e-13, 2.95505266312963983461e-12, -1.72682629144155570723e-11,
    9.67580903537323691224e-11, -5.18979560163526290666e-10, 2.65982372468238665035e-9,
    -1.30002500998624804212e-8, 6.04699502254191894932e-8, -2.67079385394061173391e-7,
    1.11738753912010371815e-6, -4.41673835845875056359e-6, 1.64484480707288970893e-5,
    -5.75419501008210370398e-5, 1.88502885095841655729e-4, -5.76375574538582365885e-4,
    1.63947561694133579842e-3, -4.32430999505057594430e-3, 1.05464603945949983183e-2,
    -2.37374148058994688156e-2, 4.93052842396707084878e-2, -9.49010970480476444210e-2,
    1.71620901522208775349e-1, -3.04682672343198398683e-1, 6.76795274409476084995e-1,
)
_I0_B = (
    -7.23318048787475395456e-18, -4.83050448594418207126e-18, 4.46562142029675999901e-17,
    3.46122286769746109310e-17, -2.82762398051658348494e-16, -3.42548561967721913462e-16,
    1.77256013305652638360e-15, 3.81168066935262242075e-15, -9.55484669882830764870e-15,
    -4.15056934728722208663e-14, 1.54008621752140982691e-14, 3.85277838274214270114e-13,
    7.18012445138366623367e-13, -1.79417853150680611778e-12, -1.32158118404477131188e-11,
    -3.14991652796324136454e-11, 1.18891471078464383424e-11, 4.94060238822496958910e-10,
    3.39623202570838634515e-9, 2.26666899049817806459e-8, 2.04891858946906374183e-7,
    2.89137052083475648297e-6, 6.88975834691682398426e-5, 3.36911647825569408990e-3,
    8.04490411014108831608e-1,
)


def _chebyshev(x: Tensor, coefficients: tuple[float, ...]) -> Tensor:
    """Clenshaw's recurrence for ``Σ' c_k T_k(x/2)`` (Cephes' ``chbevl``)."""
    b0 = x * 0.0 + coefficients[0]
    b1 = x * 0.0
    b2 = b1
    for c in coefficients[1:]:
        b2, b1 = b1, b0
        b0 = x * b1 - b2 + c
    return (b0 - b2) * 0.5


def i0(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 0 (integers give the
    default float dtype); the gradient is ``i1``."""
    dtype = _to_float(input).dtype
    x = input.to(float64).abs()  # float64 throughout, then back: float32 results round once
    small = x.clamp(None, 8.0)  # each branch sees only its own range: no inf/NaN
    large = x.clamp(8.0, None)
    below = small.exp() * _chebyshev(small * 0.5 - 2.0, _I0_A)
    above = large.exp() * _chebyshev(32.0 / large - 2.0, _I0_B) / large.sqrt()
    from . import where

    return where(x <= 8.0, below, above).to(dtype)


# ---- products --------------------------------------------------------------------------------


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum over the last dimensions: shape ``input.shape[:-1] + other.shape[:-1]``; a
    0-d operand multiplies."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise ShapeError(
            "inner() the last dimension must match on both input tensors but got shapes "
            f"{list(input.shape)} and {list(other.shape)}"
        )
    k = input.shape[-1]
    flat = input.reshape(-1, k) @ other.reshape(-1, k).transpose(0, 1)
    return flat.reshape(*input.shape[:-1], *other.shape[:-1])


def ger(input: Tensor, vec2: Tensor) -> Tensor:
    """Alias of ``outer``."""
    from . import outer

    return outer(input, vec2)


def _scaled_sum(input: Tensor, product: Tensor, beta: Any, alpha: Any, op: str) -> Tensor:
    shape = tuple(product.shape)
    if not (input.dtype.is_floating_point or product.dtype.is_floating_point):
        from ._selection import _fits

        for name, factor in (("beta", beta), ("alpha", alpha)):
            if op != "addr":  # addbmm truncates the factors to the dtype, as PyTorch
                continue
            if isinstance(factor, float):
                raise DTypeError(
                    f"{op}: for integer tensors (dtype "
                    f"{str(product.dtype).removeprefix('tapegrad.')}) {name} must be an "
                    f"integer, got {factor!r}"
                )
        if op != "addr":
            beta, alpha = (_fits(f, product.dtype, op, wrap_ints=True) for f in (beta, alpha))
    try:
        np.broadcast_shapes(tuple(input.shape), shape)
    except ValueError:
        raise ShapeError(
            f"{op}: input of shape {tuple(input.shape)} does not broadcast to {shape}"
        ) from None
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:  # PyTorch ignores input then (NaN and inf do not propagate)
        return scaled + (input * 0).detach().nan_to_num(0.0, 0.0, 0.0)
    return scaled + (input if beta == 1 else input * beta)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta · input + alpha · outer(vec1, vec2)``."""
    from . import outer

    if vec1.ndim != 1 or vec2.ndim != 1:
        raise ShapeError(
            f"addr: expected 1-D vectors, got shapes {tuple(vec1.shape)} and "
            f"{tuple(vec2.shape)}"
        )
    return _scaled_sum(input, outer(vec1, vec2), beta, alpha, "addr")


def addbmm(
    input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1
) -> Tensor:
    """``beta · input + alpha · Σ_b batch1[b] @ batch2[b]``."""
    from . import bmm

    if batch1.ndim != 3 or batch2.ndim != 3:
        raise ShapeError(
            f"addbmm: batch1 and batch2 must be 3-D, got shapes {tuple(batch1.shape)} "
            f"and {tuple(batch2.shape)}"
        )
    products = bmm(batch1, batch2)
    total = products.sum(0) if products.dtype.is_floating_point else products.sum(
        0, dtype=products.dtype  # integers stay in their dtype, as PyTorch's addbmm
    )
    return _scaled_sum(input, total, beta, alpha, "addbmm")


def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` rescaled to norm
    ``maxnorm`` (PyTorch's ``maxnorm / (norm + 1e-7)``)."""
    from . import where

    if not input.dtype.is_floating_point:
        raise DTypeError(f"renorm: expected a floating point tensor, got {input.dtype}")
    if p <= 0:
        raise ArgumentError(f"renorm: non-positive norm not supported, got p={p}")
    if maxnorm < 0:
        raise ArgumentError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if input.ndim <= 1:
        raise ShapeError(
            f"renorm: input needs at least 2 dimensions, got {input.ndim} dimensions"
        )
    dim = _dim(input, dim, "renorm")
    others = [d for d in range(input.ndim) if d != dim]
    norm = input.norm(p, dim=others, keepdim=True)
    factor = where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)
    return input * factor.to(input.dtype)


# ---- integrals -------------------------------------------------------------------------------


def _spacing(
    y: Tensor, x: Any, dx: Any, dim: int, op: str
) -> tuple[Tensor, Tensor, Any]:
    """``(y, the sums of neighbouring samples, the spacings)`` along ``dim`` (moved last).

    As PyTorch, with sample points ``x`` the sums are taken in ``y``'s dtype (integers
    wrap); with a constant spacing ``y`` is summed in floats."""
    refuse_bool(op, y)
    if y.ndim == 0:
        raise AxisError(f"{op}: Dimension specified as {dim} but tensor has no dimensions")
    dim = _dim(y, dim, op)
    if x is None:
        y = _to_float(y)
    y = y.movedim(dim, -1)
    n = y.shape[-1]
    pairs = y[..., 1:] + y[..., :-1]
    if x is None:
        return y, pairs, 1.0 if dx is None else dx
    if not hasattr(x, "shape"):  # a list or array (a Tensor, or a vmap-batched one)
        x = tensor(x)
    if x.ndim == 1:
        if x.shape[0] != n:
            raise ShapeError(
                f"{op}: There must be one `x` value for each sample point, got "
                f"{x.shape[0]} values for {n} samples"
            )
        return y, pairs, x[1:] - x[:-1]
    x = x.movedim(dim, -1)
    return y, pairs, x[..., 1:] - x[..., :-1]


def trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: samples ``y`` at points ``x`` or spacing
    ``dx`` (1 by default)."""
    if x is not None and dx is not None:
        raise ArgumentError("trapezoid: received both x and dx; pass only one of them")
    _, pairs, step = _spacing(y, x, dx, dim, "trapezoid")
    return (pairs * step).sum(-1) / 2


def trapz(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """Alias of ``trapezoid``."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(
    y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1
) -> Tensor:
    """The running trapezoidal integral along ``dim`` (one fewer element than ``y``)."""
    if x is not None and dx is not None:
        raise ArgumentError(
            "cumulative_trapezoid: received both x and dx; pass only one of them"
        )
    y0, pairs, step = _spacing(y, x, dx, dim, "cumulative_trapezoid")
    return ((pairs * step).cumsum(-1) / 2).movedim(-1, _dim(y0, dim, "cumulative_trapezoid"))


# Quantiles, histogram and unique_consecutive live in _quantiles.py; imported here so that
# the Tensor methods the binding dispatches to this module find them.
from ._quantiles import (  # noqa: E402
    histogram,
    nanquantile,
    quantile,
    unique_consecutive,
)
