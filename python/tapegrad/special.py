"""``tapegrad.special``: PyTorch's ``torch.special`` names for the special functions,
each differentiable (to any order, where its derivative is again in the family:
``gammaln' = digamma``, ``digamma' = polygamma(1, ·)``, ``polygamma(n, ·)' = polygamma(n+1, ·)``).
"""

from __future__ import annotations

import math
from typing import Any

from ._native import Tensor

__all__ = [
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammaln",
    "log1p",
    "log_softmax",
    "logit",
    "logsumexp",
    "multigammaln",
    "ndtr",
    "polygamma",
    "psi",
    "round",
    "sinc",
    "softmax",
    "xlogy",
]


def _float(input: Any) -> Tensor:
    from . import _creation

    if not isinstance(input, Tensor):
        input = _creation.tensor(input)
    if not input.is_floating_point():
        from ._native import get_default_dtype

        input = input.to(get_default_dtype())
    return input


def gammaln(input: Tensor) -> Tensor:
    """``ln |Γ(input)|``."""
    return _float(input).lgamma()


def digamma(input: Tensor) -> Tensor:
    """``ψ(input) = Γ'/Γ``: −∞ at 0, NaN at the negative integers."""
    return _float(input).digamma()


psi = digamma


def polygamma(n: int, input: Tensor) -> Tensor:
    """``ψ⁽ⁿ⁾(input)``, the n-th derivative of ``digamma``."""
    return _float(input).polygamma(n)


def multigammaln(input: Tensor, p: int) -> Tensor:
    """The log of the multivariate gamma function of dimension ``p``:
    ``p(p−1)/4 · ln π + Σ_{j<p} ln Γ(input − j/2)``. Every element must exceed ``(p−1)/2``."""
    from ._errors import ArgumentError

    if not isinstance(p, int) or p < 1:
        raise ArgumentError(f"multigammaln: p has to be greater than or equal to 1, got {p!r}")
    x = _float(input)
    if x.numel() and not bool((x > (p - 1) / 2).all()):
        raise ArgumentError(
            f"multigammaln: all elements must be greater than (p-1)/2 = {(p - 1) / 2}"
        )
    total = x.lgamma()
    for j in range(1, p):
        total = total + (x - j / 2).lgamma()
    return total + p * (p - 1) / 4 * math.log(math.pi)


def entr(input: Tensor) -> Tensor:
    """Elementwise entropy ``−x ln x`` (0 at 0, −∞ for negative x)."""
    from . import where

    x = _float(input)
    safe = where(x > 0, x, 1.0)  # keeps log's NaN out of the other branches' gradient
    return where(x > 0, -x * safe.log(), where(x == 0, 0.0, -math.inf))


def ndtr(input: Tensor) -> Tensor:
    """The standard normal CDF ``Φ(x) = ½ erfc(−x/√2)``."""
    return (_float(input) * (-1.0 / math.sqrt(2.0))).erfc() * 0.5


def expit(input: Tensor) -> Tensor:
    """The logistic sigmoid."""
    return _float(input).sigmoid()


def erf(input: Tensor) -> Tensor:
    return _float(input).erf()


def erfc(input: Tensor) -> Tensor:
    return _float(input).erfc()


def erfinv(input: Tensor) -> Tensor:
    return _float(input).erfinv()


def exp2(input: Tensor) -> Tensor:
    return _float(input).exp2()


def expm1(input: Tensor) -> Tensor:
    return _float(input).expm1()


def log1p(input: Tensor) -> Tensor:
    return _float(input).log1p()


def sinc(input: Tensor) -> Tensor:
    return _float(input).sinc()


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """``ln(x / (1 − x))``, with ``x`` clamped to ``[eps, 1 − eps]`` when ``eps`` is given."""
    x = _float(input)
    if eps is not None:
        x = x.clamp(eps, 1.0 - eps)
    return x.logit()


def xlogy(input: Any, other: Any) -> Tensor:
    """``input · ln(other)``, 0 where ``input`` is 0."""
    return _float(input).xlogy(other)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    from ._elementwise import round as _round

    return _round(input, decimals=decimals)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    return input.logsumexp(dim, keepdim=keepdim)


def softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    x = input if dtype is None else input.to(dtype)
    return x.softmax(dim)


def log_softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    x = input if dtype is None else input.to(dtype)
    return x.log_softmax(dim)
