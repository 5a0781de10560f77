"""The named tuples that selections along a dimension return, as PyTorch's
``torch.return_types``: ``x.max(dim)`` gives ``max(values=..., indices=...)``, which
unpacks and indexes as a pair."""

from __future__ import annotations

from typing import NamedTuple

from ._native import Tensor

__all__ = [
    "aminmax",
    "cummax",
    "cummin",
    "kthvalue",
    "max",
    "median",
    "min",
    "mode",
    "nanmedian",
    "sort",
    "topk",
]


class max(NamedTuple):  # PyTorch's name, shadowing the builtin here only
    """``x.max(dim)``: the largest values and their indices (int64)."""

    values: Tensor
    indices: Tensor


class min(NamedTuple):
    """``x.min(dim)``: the smallest values and their indices (int64)."""

    values: Tensor
    indices: Tensor


class sort(NamedTuple):
    """``x.sort(dim)``: the sorted values and where each came from."""

    values: Tensor
    indices: Tensor


class topk(NamedTuple):
    """``x.topk(k)``: the ``k`` largest (or smallest) values and their indices."""

    values: Tensor
    indices: Tensor


class kthvalue(NamedTuple):
    """``x.kthvalue(k, dim)``: the ``k``-th smallest values and their indices."""

    values: Tensor
    indices: Tensor


class median(NamedTuple):
    """``x.median(dim)``: the lower medians and their indices."""

    values: Tensor
    indices: Tensor


class nanmedian(NamedTuple):
    """``x.nanmedian(dim)``: the lower medians of the non-NaN values and their indices."""

    values: Tensor
    indices: Tensor


class mode(NamedTuple):
    """``x.mode(dim)``: the most frequent values and their indices."""

    values: Tensor
    indices: Tensor


class cummax(NamedTuple):
    """``x.cummax(dim)``: the running maxima and where each was reached."""

    values: Tensor
    indices: Tensor


class cummin(NamedTuple):
    """``x.cummin(dim)``: the running minima and where each was reached."""

    values: Tensor
    indices: Tensor


class aminmax(NamedTuple):
    """``x.aminmax(dim=...)``: the smallest and the largest values."""

    min: Tensor
    max: Tensor


def __dir__() -> list[str]:
    return sorted(__all__)


# torch.frexp / histogram / svd / qr (the maths added with the aliases of _math_aliases and
# _math_extra).
__all__ += ["frexp", "histogram", "qr", "svd"]


class frexp(NamedTuple):
    """``frexp(x)``: ``x = mantissa · 2**exponent`` (the exponent int32)."""

    mantissa: Tensor
    exponent: Tensor


class histogram(NamedTuple):
    """``histogram(x, bins)``: the counts (or weights, or density) and the bin edges."""

    hist: Tensor
    bin_edges: Tensor


class svd(NamedTuple):
    """``torch.svd(A)``: ``A = U diag(S) Vᵀ`` (``V``, not ``linalg.svd``'s ``Vh``)."""

    U: Tensor
    S: Tensor
    V: Tensor


class qr(NamedTuple):
    """``torch.qr(A)``: ``A = Q R``."""

    Q: Tensor
    R: Tensor
