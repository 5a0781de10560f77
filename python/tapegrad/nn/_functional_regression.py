"""Regression and distribution losses as functions (re-exported by
``tapegrad.nn.functional``; their modules are in ``loss.py``)."""

from __future__ import annotations

import math
from typing import Any

import tapegrad as tg
from tapegrad._batched import BatchedTensor, unwrap_tensor
from tapegrad._errors import ArgumentError, DTypeError, ShapeError

from ._functional_classification import _as_target, _check_reduction, _reduce

__all__ = [
    "gaussian_nll_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
]


def l1_loss(input: tg.Tensor, target: Any, reduction: str = "mean") -> tg.Tensor:
    """Absolute error ``|input - target|``, reduced."""
    _check_reduction(reduction, "l1_loss")
    return _reduce((input - _as_target(target, input, "l1_loss")).abs(), reduction)


def _piecewise(
    input: tg.Tensor, target: Any, width: float, caller: str
) -> tuple[tg.Tensor, tg.Tensor, tg.Tensor]:
    """(|d|, d², mask of |d| < width) for ``d = input - target``."""
    if not isinstance(input, (tg.Tensor, BatchedTensor)):
        raise DTypeError(
            f"{caller}: input must be a Tensor, got {type(input).__name__}"
        )
    if width < 0:
        raise ArgumentError(f"{caller}: expects a non-negative width, got {width}")
    diff = input - _as_target(target, input, caller)
    size = diff.abs()
    return size, diff * diff, size < width


def smooth_l1_loss(
    input: tg.Tensor, target: Any, reduction: str = "mean", beta: float = 1.0
) -> tg.Tensor:
    """``½ d² / beta`` where ``|d| < beta``, else ``|d| - ½ beta`` (``d = input -
    target``); ``beta = 0`` is the L1 loss."""
    _check_reduction(reduction, "smooth_l1_loss")
    size, square, inside = _piecewise(input, target, beta, "smooth_l1_loss")
    if beta == 0.0:
        return _reduce(size, reduction)
    loss = tg.where(inside, 0.5 * square / beta, size - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(
    input: tg.Tensor, target: Any, reduction: str = "mean", delta: float = 1.0
) -> tg.Tensor:
    """``½ d²`` where ``|d| < delta``, else ``delta (|d| - ½ delta)``."""
    _check_reduction(reduction, "huber_loss")
    size, square, inside = _piecewise(input, target, delta, "huber_loss")
    return _reduce(
        tg.where(inside, 0.5 * square, delta * (size - 0.5 * delta)), reduction
    )


def _xlogy(x: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
    """``x log y``, 0 where ``x = 0`` (and its gradient finite there)."""
    nonzero = x != 0.0
    return tg.where(nonzero, x * tg.where(nonzero, y, 1.0).log(), 0.0)


def kl_div(
    input: tg.Tensor,
    target: Any,
    reduction: str = "mean",
    log_target: bool = False,
) -> tg.Tensor:
    """Kullback-Leibler divergence ``target (log target - input)`` of log-probabilities
    ``input`` from ``target`` (probabilities, or log-probabilities with
    ``log_target``).

    ``reduction="batchmean"`` divides the sum by the batch size (the mathematically
    correct KL divergence); ``"mean"`` averages over every element, as PyTorch.
    """
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise ArgumentError(
            f"kl_div: reduction must be 'mean', 'batchmean', 'sum' or 'none', got "
            f"{reduction!r}"
        )
    target = _as_target(target, input, "kl_div")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = _xlogy(target, target) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


def poisson_nll_loss(
    input: tg.Tensor,
    target: Any,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: str = "mean",
) -> tg.Tensor:
    """Negative log-likelihood of ``target`` under a Poisson of rate ``input``.

    ``exp(input) - target · input`` with ``log_input``, else
    ``input - target · log(input + eps)``; ``full`` adds Stirling's approximation of
    ``log(target!)``, ``target log target - target + ½ log(2π target)``, where
    ``target > 1``.
    """
    _check_reduction(reduction, "poisson_nll_loss")
    target = _as_target(target, input, "poisson_nll_loss")
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        above = target > 1.0
        safe = tg.where(above, target, 1.0)
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        loss = loss + tg.where(above, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(
    input: tg.Tensor,
    target: Any,
    var: Any,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> tg.Tensor:
    """Negative log-likelihood of ``target`` under N(input, var):
    ``½ (log var + (input - target)² / var)``, plus ``½ log 2π`` with ``full``.

    ``var`` has ``input``'s shape, or that shape with the last dimension 1 or dropped
    (one variance shared by the last dimension). It is clamped to at least ``eps``
    for the value; its gradient passes through the clamp, as PyTorch's.

    Raises:
        ShapeError: If ``var``'s shape fits none of the above.
        ArgumentError: If ``var`` has a negative entry.
    """
    _check_reduction(reduction, "gaussian_nll_loss")
    target = _as_target(target, input, "gaussian_nll_loss")
    if not isinstance(var, (tg.Tensor, BatchedTensor)):
        var = tg.tensor(var, dtype=input.dtype)
    shape, var_shape = tuple(input.shape), tuple(var.shape)
    if var_shape != shape:
        if input.ndim and var_shape == shape[:-1]:
            var = var.unsqueeze(-1)
        elif not (input.ndim and var_shape == shape[:-1] + (1,)):
            raise ShapeError(
                f"gaussian_nll_loss: var of shape {var_shape} does not fit input of "
                f"shape {shape} (it needs the input's shape, with the last "
                f"dimension 1 or dropped)"
            )
    if bool((unwrap_tensor(var).detach() < 0.0).sum().item()):  # every example's
        raise ArgumentError("gaussian_nll_loss: var has negative entries")
    var = var + (var.detach().clamp(min=eps) - var.detach())  # the clamp, no gradient
    diff = input - target
    loss = 0.5 * (var.log() + diff * diff / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)
