"""RMSprop: gradients scaled by a running root mean square."""

from __future__ import annotations

from typing import Any, ClassVar

import tapegrad as tg

from .optimizer import NumberRanges, Optimizer, ParamsT, update_direction

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, step for step as ``torch.optim.RMSprop``.

    With gradient ``g`` (negated with ``maximize``, plus ``weight_decay · p``):
    ``v ← α v + (1 - α) g²``; with ``centered``, ``ḡ ← ḡ + (1 - α)(g - ḡ)`` and the
    denominator is ``√(v - ḡ²) + ε``, else ``√v + ε``. Without momentum the parameter
    moves by ``-lr · g / denominator``; with it, ``b ← μ b + g / denominator`` and
    the parameter moves by ``-lr · b``.

    Args:
        params: Tensors or parameter groups to optimise.
        lr: Learning rate.
        alpha: Smoothing constant of the squared-gradient average.
        eps: Added to the denominator for stability.
        weight_decay: L2 penalty added to the gradient.
        momentum: Momentum factor (0 for none).
        centered: Normalise by an estimate of the gradient's variance.
        capturable: Accepted for PyTorch compatibility and ignored.
        foreach: Accepted for PyTorch compatibility and ignored.
        maximize: Ascend the objective instead of descending.
        differentiable: Accepted for PyTorch compatibility and ignored.
    """

    _number_ranges: ClassVar[NumberRanges] = {
        "lr": ("learning rate", 0.0, None),
        "alpha": ("alpha value", 0.0, None),
        "eps": ("epsilon value", 0.0, None),
        "weight_decay": ("weight_decay value", 0.0, None),
        "momentum": ("momentum value", 0.0, None),
    }

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
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
        alpha, momentum = group["alpha"], group["momentum"]
        if "square_avg" not in state:
            state["square_avg"] = tg.zeros_like(param)
            if momentum > 0:
                state["momentum_buffer"] = tg.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = tg.zeros_like(param)
        state["step"] = state.get("step", 0) + 1
        grad = update_direction(param, grad, group)
        square_avg = state["square_avg"] * alpha + (1 - alpha) * (grad * grad)
        state["square_avg"] = square_avg
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg = grad_avg + (1 - alpha) * (grad - grad_avg)  # PyTorch's lerp
            state["grad_avg"] = grad_avg
            denominator = (square_avg - grad_avg * grad_avg).sqrt() + group["eps"]
        else:
            denominator = square_avg.sqrt() + group["eps"]
        if momentum > 0:
            buffer = state["momentum_buffer"] * momentum + grad / denominator
            state["momentum_buffer"] = buffer
            param._assign(param - group["lr"] * buffer)
        else:
            param._assign(param - group["lr"] * (grad / denominator))
