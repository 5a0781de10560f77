"""Adam and AdamW."""

from __future__ import annotations

from typing import Any, ClassVar

import tapegrad as tg
from tapegrad import _native

from .optimizer import NumberRanges, Optimizer, ParamsT

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
        foreach: Accepted for PyTorch compatibility and ignored (one fused pass).
        fused: Accepted for PyTorch compatibility and ignored.
    """

    _decoupled = False
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
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        fused: bool | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
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
        # One fused pass in the core, in PyTorch's order of operations:
        #   p ← p(1 - lr·λ) (AdamW) or g ← g + λp (Adam)
        #   m ← m + (1 - β₁)(g - m)          (PyTorch's lerp)
        #   v ← β₂v + (1 - β₂)g²;  v̂ ← max(v̂, v) with AMSGrad
        #   p ← p - lr/(1 - β₁ᵗ) · m / (√v̂ / √(1 - β₂ᵗ) + ε)
        beta1, beta2 = group["betas"]
        step = state.get("step", 0) + 1
        if "exp_avg" not in state:
            state["exp_avg"], state["exp_avg_sq"] = (
                tg.zeros_like(param),
                tg.zeros_like(param),
            )
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = tg.zeros_like(param)  # v ≥ 0: max(0, v) = v
        state["step"] = step
        _native._adam_step(
            param,
            grad,
            state["exp_avg"],
            state["exp_avg_sq"],
            state.get("max_exp_avg_sq") if group["amsgrad"] else None,
            step,
            group["lr"],
            beta1,
            beta2,
            group["eps"],
            group["weight_decay"],
            self._decoupled,
            group["maximize"],
        )


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
        foreach: bool | None = None,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize
        )
