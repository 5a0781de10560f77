"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from typing import Any, ClassVar

import tapegrad as tg
from tapegrad import _native
from tapegrad._errors import ArgumentError

from .optimizer import NumberRanges, Optimizer, ParamsT

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, step for step as ``torch.optim.SGD``.

    With gradient ``g`` (plus ``weight_decay · p``), the momentum buffer is
    ``b ← momentum · b + (1 - dampening) · g`` (``b = g`` at the first step), and the
    parameter moves by ``-lr · b`` (``-lr · (g + momentum · b)`` with ``nesterov``).

    Args:
        params: Tensors or parameter groups to optimise.
        lr: Learning rate.
        momentum: Momentum factor (0 for plain SGD).
        dampening: Dampening of the momentum.
        weight_decay: L2 penalty added to the gradient.
        nesterov: Use Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize: Ascend the objective instead of descending.
        foreach: Accepted for PyTorch compatibility and ignored (one fused pass).
        fused: Accepted for PyTorch compatibility and ignored.
    """

    _number_ranges: ClassVar[NumberRanges] = {
        "lr": ("learning rate", 0.0, None),
        "momentum": ("momentum value", 0.0, None),
        "dampening": ("dampening value", 0.0, None),
        "weight_decay": ("weight_decay value", 0.0, None),
    }

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        fused: bool | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ArgumentError(
                f"Nesterov momentum requires a momentum and zero dampening, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )

    def _update(
        self,
        param: tg.Tensor,
        grad: tg.Tensor,
        group: dict[str, Any],
        state: dict[str, Any],
    ) -> None:
        # g ← -g if maximize; g ← g + λp; b ← μb + (1 - τ)g (b ← g on the first step);
        # g ← g + μb (Nesterov) or b; p ← p - lr·g: one fused pass in the core.
        momentum = group["momentum"]
        buffer, first = None, False
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = tg.zeros_like(param)
                first = True
        _native._sgd_step(
            param,
            grad,
            buffer,
            first,
            group["lr"],
            momentum,
            group["dampening"],
            group["weight_decay"],
            group["nesterov"],
            group["maximize"],
        )
