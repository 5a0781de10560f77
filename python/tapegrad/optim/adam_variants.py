"""Adam's relatives: Adamax (infinity norm), NAdam (Nesterov momentum) and RAdam
(rectified variance)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import tapegrad as tg

from .optimizer import NumberRanges, Optimizer, ParamsT, update_direction

__all__ = ["Adamax", "NAdam", "RAdam"]


def _direction(param: tg.Tensor, grad: tg.Tensor, group: dict[str, Any]) -> tg.Tensor:
    """``maximize`` and the weight decay: added to the gradient, or with
    ``decoupled_weight_decay`` the parameter shrinks by ``lr · weight_decay`` first."""
    if group.get("decoupled_weight_decay") and group["weight_decay"]:
        param._assign(param * (1 - group["lr"] * group["weight_decay"]))
        return -grad if group["maximize"] else grad
    return update_direction(param, grad, group)


def _start(param: tg.Tensor, state: dict[str, Any], *names: str) -> int:
    """Creates the zero buffers on the first step; counts the step and returns it."""
    for name in names:
        if name not in state:
            state[name] = tg.zeros_like(param)
    state["step"] = state.get("step", 0) + 1
    return state["step"]


class Adamax(Optimizer):
    """Adamax, step for step as ``torch.optim.Adamax``: Adam with the infinity norm.

    With gradient ``g`` (negated with ``maximize``, plus ``weight_decay · p``) at step
    ``t``: ``m ← m + (1 - β₁)(g - m)``, ``u ← max(β₂ u, |g| + ε)``, and the parameter
    moves by ``-lr / (1 - β₁ᵗ) · m / u``.

    Args:
        params: Tensors or parameter groups to optimise.
        lr: Learning rate.
        betas: Decay rates ``(β₁, β₂)``, each in [0, 1).
        eps: Added to ``|g|`` for stability.
        weight_decay: L2 penalty added to the gradient.
        foreach: Accepted for PyTorch compatibility and ignored.
        maximize: Ascend the objective instead of descending.
        differentiable: Accepted for PyTorch compatibility and ignored.
        capturable: Accepted for PyTorch compatibility and ignored.
    """

    _has_betas = True
    _number_ranges: ClassVar[NumberRanges] = {
        "lr": ("learning rate", 0.0, None),
        "eps": ("epsilon value", 0.0, None),
        "weight_decay": ("weight_decay value", 0.0, None),
    }

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
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
        beta1, beta2 = group["betas"]
        step = _start(param, state, "exp_avg", "exp_inf")
        grad = update_direction(param, grad, group)
        exp_avg = state["exp_avg"] = state["exp_avg"] + (1 - beta1) * (
            grad - state["exp_avg"]
        )
        exp_inf = state["exp_inf"] = (state["exp_inf"] * beta2).maximum(
            grad.abs() + group["eps"]
        )
        rate = group["lr"] / (1 - beta1**step)
        param._assign(param - rate * (exp_avg / exp_inf))


class NAdam(Optimizer):
    """NAdam, step for step as ``torch.optim.NAdam``: Adam with Nesterov momentum.

    With gradient ``g`` at step ``t`` and the momentum schedule
    ``μₜ = β₁ (1 - ½ · 0.96^(t · momentum_decay))``: the moments update as Adam's,
    and the parameter moves by
    ``-lr (1 - μₜ) / (1 - Πμ) · g / d - lr μₜ₊₁ / (1 - Πμ · μₜ₊₁) · m / d``, where
    ``d = √(v / (1 - β₂ᵗ)) + ε`` and ``Πμ = μ₁ ⋯ μₜ``.

    Args:
        params: Tensors or parameter groups to optimise.
        lr: Learning rate.
        betas: Decay rates ``(β₁, β₂)``, each in [0, 1).
        eps: Added to the denominator for stability.
        weight_decay: Weight decay (an L2 penalty, or decoupled as AdamW's).
        momentum_decay: The momentum schedule's decay ``ψ``.
        decoupled_weight_decay: Shrink the parameter instead of adding to ``g``.
        foreach: Accepted for PyTorch compatibility and ignored.
        maximize: Ascend the objective instead of descending.
        capturable: Accepted for PyTorch compatibility and ignored.
        differentiable: Accepted for PyTorch compatibility and ignored.
    """

    _has_betas = True
    _number_ranges: ClassVar[NumberRanges] = {
        "lr": ("learning rate", 0.0, None),
        "eps": ("epsilon value", 0.0, None),
        "weight_decay": ("weight_decay value", 0.0, None),
        "momentum_decay": ("momentum_decay value", 0.0, None),
    }

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
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
        beta1, beta2 = group["betas"]
        lr, decay = group["lr"], group["momentum_decay"]
        step = _start(param, state, "exp_avg", "exp_avg_sq")
        grad = _direction(param, grad, group)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * decay))
        mu_product = state["mu_product"] = state.get("mu_product", 1.0) * mu
        exp_avg = state["exp_avg"] = state["exp_avg"] + (1 - beta1) * (
            grad - state["exp_avg"]
        )
        exp_avg_sq = state["exp_avg_sq"] = state["exp_avg_sq"] * beta2 + (1 - beta2) * (
            grad * grad
        )
        denominator = (exp_avg_sq / (1 - beta2**step)).sqrt() + group["eps"]
        param._assign(
            param - lr * (1.0 - mu) / (1.0 - mu_product) * (grad / denominator)
        )
        param._assign(
            param
            - lr * mu_next / (1.0 - mu_product * mu_next) * (exp_avg / denominator)
        )


class RAdam(Optimizer):
    """RAdam, step for step as ``torch.optim.RAdam``: Adam with a rectified variance.

    The moments update as Adam's. With ``ρ∞ = 2 / (1 - β₂) - 1`` and
    ``ρₜ = ρ∞ - 2t β₂ᵗ / (1 - β₂ᵗ)``: while ``ρₜ ≤ 5`` the parameter moves by
    ``-lr · m / (1 - β₁ᵗ)`` (momentum only); after, by
    ``-lr · m / (1 - β₁ᵗ) · √(1 - β₂ᵗ) / (√v + ε) · r`` with the rectification
    ``r = √((ρₜ - 4)(ρₜ - 2) ρ∞ / ((ρ∞ - 4)(ρ∞ - 2) ρₜ))``.

    Args:
        params: Tensors or parameter groups to optimise.
        lr: Learning rate.
        betas: Decay rates ``(β₁, β₂)``, each in [0, 1).
        eps: Added to the denominator for stability.
        weight_decay: Weight decay (an L2 penalty, or decoupled as AdamW's).
        decoupled_weight_decay: Shrink the parameter instead of adding to ``g``.
        foreach: Accepted for PyTorch compatibility and ignored.
        maximize: Ascend the objective instead of descending.
        capturable: Accepted for PyTorch compatibility and ignored.
        differentiable: Accepted for PyTorch compatibility and ignored.
    """

    _has_betas = True
    _number_ranges: ClassVar[NumberRanges] = {
        "lr": ("learning rate", 0.0, None),
        "eps": ("epsilon value", 0.0, None),
        "weight_decay": ("weight_decay value", 0.0, None),
    }

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
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
        beta1, beta2 = group["betas"]
        step = _start(param, state, "exp_avg", "exp_avg_sq")
        grad = _direction(param, grad, group)
        exp_avg = state["exp_avg"] = state["exp_avg"] + (1 - beta1) * (
            grad - state["exp_avg"]
        )
        exp_avg_sq = state["exp_avg_sq"] = state["exp_avg_sq"] * beta2 + (1 - beta2) * (
            grad * grad
        )
        correction2 = 1 - beta2**step
        momentum = exp_avg / (1 - beta1**step)
        rho_inf = 2 / (1 - beta2) - 1
        rho = rho_inf - 2 * step * beta2**step / correction2
        if rho <= 5.0:
            param._assign(param - momentum * group["lr"])
            return
        rect = math.sqrt(
            (rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)
        )
        adaptive = math.sqrt(correction2) / (exp_avg_sq.sqrt() + group["eps"])
        param._assign(param - momentum * group["lr"] * adaptive * rect)
