"""Adagrad and Adadelta: per-coordinate rates from accumulated squared gradients."""

from __future__ import annotations

from typing import Any, ClassVar

import tapegrad as tg
from tapegrad._errors import ArgumentError

from .optimizer import NumberRanges, Optimizer, ParamsT, check_number, update_direction

__all__ = ["Adadelta", "Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, step for step as ``torch.optim.Adagrad``.

    With gradient ``g`` (negated with ``maximize``, plus ``weight_decay · p``) at step
    ``t``: ``s ← s + g²`` and the parameter moves by
    ``-lr / (1 + (t - 1) · lr_decay) · g / (√s + ε)``.

    Args:
        params: Tensors or parameter groups to optimise.
        lr: Learning rate.
        lr_decay: Learning-rate decay per step.
        weight_decay: L2 penalty added to the gradient.
        initial_accumulator_value: Starting value of ``s``.
        eps: Added to the denominator for stability.
        foreach: Accepted for PyTorch compatibility and ignored.
        maximize: Ascend the objective instead of descending.
        differentiable: Accepted for PyTorch compatibility and ignored.
        fused: Accepted for PyTorch compatibility and ignored.
    """

    _number_ranges: ClassVar[NumberRanges] = {
        "lr": ("learning rate", 0.0, None),
        "lr_decay": ("lr_decay value", 0.0, None),
        "weight_decay": ("weight_decay value", 0.0, None),
        "initial_accumulator_value": ("initial_accumulator_value", 0.0, None),
        "eps": ("epsilon value", 0.0, None),
    }

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "eps": eps,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _update(
        self,
        param: tg.Tensor,
        grad: tg.Tensor,
        group: dict[str, Any],
        state: dict[str, Any],
    ) -> None:
        if "sum" not in state:
            state["sum"] = tg.zeros_like(param) + group["initial_accumulator_value"]
        step = state["step"] = state.get("step", 0) + 1
        grad = update_direction(param, grad, group)
        rate = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        total = state["sum"] = state["sum"] + grad * grad
        param._assign(param - rate * (grad / (total.sqrt() + group["eps"])))


class Adadelta(Optimizer):
    """Adadelta, step for step as ``torch.optim.Adadelta``.

    With gradient ``g`` (negated with ``maximize``, plus ``weight_decay · p``):
    ``v ← ρ v + (1 - ρ) g²``, ``Δ = √(u + ε) / √(v + ε) · g``,
    ``u ← ρ u + (1 - ρ) Δ²``, and the parameter moves by ``-lr · Δ``.

    Args:
        params: Tensors or parameter groups to optimise.
        lr: Scale of the step.
        rho: Decay of the running averages, in [0, 1].
        eps: Added inside the square roots.
        weight_decay: L2 penalty added to the gradient.
        foreach: Accepted for PyTorch compatibility and ignored.
        capturable: Accepted for PyTorch compatibility and ignored.
        maximize: Ascend the objective instead of descending.
        differentiable: Accepted for PyTorch compatibility and ignored.
    """

    _number_ranges: ClassVar[NumberRanges] = {
        "lr": ("learning rate", 0.0, None),
        "eps": ("epsilon value", 0.0, None),
        "weight_decay": ("weight_decay value", 0.0, None),
    }

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        check_number(group["rho"], "rho value")
        if group["rho"] > 1.0:
            raise ArgumentError(f"Invalid rho value: {group['rho']} (expected [0, 1])")

    def _update(
        self,
        param: tg.Tensor,
        grad: tg.Tensor,
        group: dict[str, Any],
        state: dict[str, Any],
    ) -> None:
        if "square_avg" not in state:
            state["square_avg"] = tg.zeros_like(param)
            state["acc_delta"] = tg.zeros_like(param)
        state["step"] = state.get("step", 0) + 1
        rho, eps = group["rho"], group["eps"]
        grad = update_direction(param, grad, group)
        square_avg = state["square_avg"] * rho + (1 - rho) * (grad * grad)
        state["square_avg"] = square_avg
        delta = (state["acc_delta"] + eps).sqrt() / (square_avg + eps).sqrt() * grad
        state["acc_delta"] = state["acc_delta"] * rho + (1 - rho) * (delta * delta)
        param._assign(param - group["lr"] * delta)
