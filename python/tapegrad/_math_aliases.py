"""PyTorch's other names for tapegrad's maths: ``clamp_min``/``clamp_max`` and ``clamp``
with tensor bounds, the NumPy-style aliases (``absolute``, ``multiply``, ``greater``,
``arcsin``...), ``mvlgamma``, and the ``torch.det``/``torch.svd``... forms of
``tapegrad.linalg`` (``svd`` and ``qr`` keep PyTorch's older ``some=`` signatures and
``svd`` returns ``V``, not ``Vh``)."""

from __future__ import annotations

import math
from typing import Any

from ._errors import ArgumentError, DTypeError
from ._native import Tensor, get_default_dtype
from ._native import bool as bool_
from .return_types import qr as QRResult
from .return_types import svd as SVDResult

__all__ = [
    "absolute",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "cholesky",
    "clamp_max",
    "clamp_min",
    "det",
    "fix",
    "greater",
    "greater_equal",
    "inverse",
    "less",
    "less_equal",
    "logdet",
    "matrix_exp",
    "matrix_power",
    "multiply",
    "mvlgamma",
    "negative",
    "not_equal",
    "pinverse",
    "positive",
    "qr",
    "slogdet",
    "subtract",
    "svd",
]


# ---- clamp with tensor bounds ----------------------------------------------------------------


def clamp_tensors(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """``clamp`` when a bound is a tensor: ``minimum(maximum(input, min), max)``, bounds
    broadcast and promote as PyTorch's; ties share the gradient as in PyTorch."""
    from . import maximum, minimum

    if min is None and max is None:
        raise ArgumentError("clamp: at least one of min and max must be given")
    from ._dtypes import refuse_bool

    refuse_bool("clamp", input)
    out = input
    if isinstance(min, Tensor):
        out = maximum(out, min)
    elif min is not None:
        out = out.clamp(min, None)
    if isinstance(max, Tensor):
        out = minimum(out, max)
    elif max is not None:
        out = out.clamp(None, max)
    return out


def clamp_min(input: Tensor, min: Any) -> Tensor:
    """``clamp(input, min=min)``; ``min`` a number or a tensor."""
    return input.clamp(min, None)


def clamp_max(input: Tensor, max: Any) -> Tensor:
    """``clamp(input, max=max)``; ``max`` a number or a tensor."""
    return input.clamp(None, max)


# ---- NumPy-style aliases ---------------------------------------------------------------------


def absolute(input: Tensor) -> Tensor:
    """Alias of ``abs``."""
    return input.abs()


def multiply(input: Tensor, other: Any) -> Tensor:
    """Alias of ``mul``."""
    return input.mul(other)


def subtract(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``input - alpha · other`` (PyTorch's ``sub`` with ``alpha``)."""
    if input.dtype == bool_ or (isinstance(other, Tensor) and other.dtype == bool_):
        raise DTypeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return input.sub(other if alpha == 1 else other * alpha)


def negative(input: Tensor) -> Tensor:
    """Alias of ``neg``."""
    return input.neg()


def positive(input: Tensor) -> Tensor:
    """``input`` itself; bool tensors are an error, as in PyTorch."""
    if input.dtype == bool_:
        raise DTypeError("The `+` operator, on a bool tensor is not supported.")
    return input


def greater(input: Tensor, other: Any) -> Tensor:
    """Alias of ``gt``."""
    return input.gt(other)


def less(input: Tensor, other: Any) -> Tensor:
    """Alias of ``lt``."""
    return input.lt(other)


def greater_equal(input: Tensor, other: Any) -> Tensor:
    """Alias of ``ge``."""
    return input.ge(other)


def less_equal(input: Tensor, other: Any) -> Tensor:
    """Alias of ``le``."""
    return input.le(other)


def not_equal(input: Tensor, other: Any) -> Tensor:
    """Alias of ``ne``."""
    return input.ne(other)


def fix(input: Tensor) -> Tensor:
    """Alias of ``trunc``."""
    return input.trunc()


def arctan2(input: Tensor, other: Any) -> Tensor:
    """Alias of ``atan2``."""
    return input.atan2(other)


def arcsin(input: Tensor) -> Tensor:
    """Alias of ``asin``."""
    return input.asin()


def arccos(input: Tensor) -> Tensor:
    """Alias of ``acos``."""
    return input.acos()


def arctan(input: Tensor) -> Tensor:
    """Alias of ``atan``."""
    return input.atan()


def arcsinh(input: Tensor) -> Tensor:
    """Alias of ``asinh``."""
    return input.asinh()


def arccosh(input: Tensor) -> Tensor:
    """Alias of ``acosh``."""
    return input.acosh()


def arctanh(input: Tensor) -> Tensor:
    """Alias of ``atanh``."""
    return input.atanh()


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma of dimension ``p``:
    ``p(p−1)/4 · ln π + Σ_{j<p} lgamma(input − j/2)`` (integers give the default float
    dtype). As PyTorch 2, the domain is not checked: outside ``input > (p−1)/2`` the
    result is ``lgamma``'s value (``log|Γ|``) or inf."""
    if isinstance(p, bool) or not isinstance(p, int) or p < 1:
        raise ArgumentError(f"mvlgamma: p has to be greater than or equal to 1, got {p!r}")
    from . import arange
    from ._dtypes import refuse_bool

    refuse_bool("mvlgamma", input)
    x = input if input.dtype.is_floating_point else input.to(get_default_dtype())
    halves = arange(p, dtype=x.dtype) * 0.5  # one allocation of p terms, no Python loop
    total = (x.unsqueeze(-1) - halves).lgamma().sum(-1)
    return total + p * (p - 1) / 4 * math.log(math.pi)


# ---- torch.<linalg name> ---------------------------------------------------------------------


def det(input: Tensor) -> Tensor:
    """Alias of ``linalg.det``."""
    from . import linalg

    return linalg.det(input)


def logdet(input: Tensor) -> Tensor:
    """``log(det(input))``: NaN for a negative determinant, ``-inf`` for a zero one."""
    from . import linalg, where

    sign, logabsdet = linalg.slogdet(input)
    return where(sign < 0, math.nan, logabsdet)


def slogdet(input: Tensor) -> Any:
    """Alias of ``linalg.slogdet``: ``(sign, logabsdet)``."""
    from . import linalg

    return linalg.slogdet(input)


def inverse(input: Tensor) -> Tensor:
    """Alias of ``linalg.inv``."""
    from . import linalg

    return linalg.inv(input)


def cholesky(input: Tensor, upper: bool = False) -> Tensor:
    """``linalg.cholesky`` with ``upper`` positional, as ``torch.cholesky``."""
    from . import linalg

    return linalg.cholesky(input, upper=upper)


def qr(input: Tensor, some: bool = True) -> QRResult:
    """``linalg.qr`` with ``some=True`` the reduced and ``some=False`` the complete mode."""
    from . import linalg

    Q, R = linalg.qr(input, "reduced" if some else "complete")
    return QRResult(Q, R)


def svd(input: Tensor, some: bool = True, compute_uv: bool = True) -> SVDResult:
    """``torch.svd``: ``(U, S, V)`` with ``V`` (not ``Vh``); ``some=False`` asks for the
    full decomposition (only square matrices here, as ``linalg.svd``); with
    ``compute_uv=False``, ``U`` and ``V`` are zero matrices of shapes ``(*, m, m)`` and
    ``(*, n, n)``, as PyTorch's."""
    from . import linalg, zeros

    if not compute_uv:
        S = linalg.svdvals(input)
        batch, (m, n) = tuple(input.shape[:-2]), tuple(input.shape[-2:])
        U = zeros(*batch, m, m, dtype=input.dtype)
        V = zeros(*batch, n, n, dtype=input.dtype)
        return SVDResult(U, S, V)
    U, S, Vh = linalg.svd(input, full_matrices=not some)
    return SVDResult(U, S, Vh.transpose(-2, -1))


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """``linalg.pinv`` with singular values below ``rcond · s_max`` treated as zero."""
    from . import linalg

    return linalg.pinv(input, rtol=rcond)


def matrix_power(input: Tensor, n: int) -> Tensor:
    """Alias of ``linalg.matrix_power``."""
    from . import linalg

    return linalg.matrix_power(input, n)


def matrix_exp(input: Tensor) -> Tensor:
    """Alias of ``linalg.matrix_exp``."""
    from . import linalg

    return linalg.matrix_exp(input)
