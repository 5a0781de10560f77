"""Adam and AdamW."""

from __future__ import annotations

import math
from typing import Any

import tapegrad as tg
from tapegrad._errors import DTypeError

from .optimizer import Optimizer, ParamsT, check_number

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam, step for step as ``torch.optim.Adam``.

    With gradient ``g`` (plus ``weight_decay · p``, an L2 penalty), the moments are
    ``m ← β₁ m + (1 - β₁) g`` and ``v ← β₂ v + (1 - β₂) g²``, and the parameter moves
    by ``-lr / (1 - β₁ᵗ) · m / (√v / √(1 - β₂ᵗ) + eps)`` at step t.

    Args:
        params: Tensors or parameter groups to optimise.
        lr: Learning rate.
        betas: Decay rates ``(β₁, β₂)`` of the moment estimates, each in [0, 1).
        eps: Added to the denominator for stability.
        weight_decay: L2 penalty added to the gradient.
        amsgrad: Use the running maximum of ``v`` (AMSGrad).
        maximize: Ascend the objective instead of descending.
    """

    _decoupled = False

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
        }
        self._check_group(defaults)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        check_number(group["lr"], "learning rate")
        check_number(group["eps"], "epsilon value")
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise DTypeError(f"betas must be a pair of numbers, got {betas!r}")
        group["betas"] = tuple(betas)
        check_number(betas[0], "beta parameter at index 0", 0.0, 1.0)
        check_number(betas[1], "beta parameter at index 1", 0.0, 1.0)
        check_number(group["weight_decay"], "weight_decay value")

    def _update(
        self,
        param: tg.Tensor,
        grad: tg.Tensor,
        group: dict[str, Any],
        state: dict[str, Any],
    ) -> tg.Tensor:
        lr, weight_decay, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            if self._decoupled:
                param = param * (1 - lr * weight_decay)
            else:
                grad = grad + weight_decay * param
        step = state.get("step", 0) + 1
        exp_avg = state.get("exp_avg", None)
        exp_avg_sq = state.get("exp_avg_sq", None)
        if exp_avg is None:
            exp_avg, exp_avg_sq = tg.zeros_like(param), tg.zeros_like(param)
        # m ← m + (1 - β₁)(g - m) is PyTorch's lerp, the same as β₁ m + (1 - β₁) g
        exp_avg = exp_avg + (grad - exp_avg) * (1 - beta1)
        exp_avg_sq = exp_avg_sq * beta2 + (1 - beta2) * grad * grad
        state.update(step=step, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq)
        if group["amsgrad"]:
            previous = state.get("max_exp_avg_sq")
            second = exp_avg_sq if previous is None else previous.maximum(exp_avg_sq)
            state["max_exp_avg_sq"] = second
        else:
            second = exp_avg_sq
        step_size = lr / (1 - beta1**step)
        denominator = second.sqrt() / math.sqrt(1 - beta2**step) + eps
        return param - step_size * (exp_avg / denominator)


class AdamW(Adam):
    """Adam with decoupled weight decay, step for step as ``torch.optim.AdamW``.

    The parameter first shrinks by ``lr · weight_decay · p``; then the Adam step
    runs on the unpenalised gradient. ``weight_decay`` defaults to 0.01.
    """

    _decoupled = True

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize
        )
