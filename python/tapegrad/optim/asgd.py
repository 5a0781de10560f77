"""ASGD: stochastic gradient descent with iterate averaging."""

from __future__ import annotations

from typing import Any, ClassVar

import tapegrad as tg

from .optimizer import NumberRanges, Optimizer, ParamsT, update_direction

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """Averaged SGD, step for step as ``torch.optim.ASGD``.

    With gradient ``g`` (negated with ``maximize``, plus ``weight_decay · p``) at step
    ``t``, rate ``η`` and averaging weight ``μ`` (``η = lr``, ``μ = 1`` at first):
    ``p ← p (1 - λη) - η g``; the average ``ax ← ax + μ (p - ax)`` (a copy of ``p``
    while ``μ = 1``); then ``η ← lr / (1 + λ lr t)^α`` and
    ``μ ← 1 / max(1, t - t₀)``. The average is ``state[p]["ax"]``.

    Args:
        params: Tensors or parameter groups to optimise.
        lr: Learning rate.
        lambd: Decay term.
        alpha: Power of the rate's decay.
        t0: Step at which averaging starts.
        weight_decay: L2 penalty added to the gradient.
        foreach: Accepted for PyTorch compatibility and ignored.
        maximize: Ascend the objective instead of descending.
        differentiable: Accepted for PyTorch compatibility and ignored.
        capturable: Accepted for PyTorch compatibility and ignored.
    """

    _number_ranges: ClassVar[NumberRanges] = {
        "lr": ("learning rate", 0.0, None),
        "weight_decay": ("weight_decay value", 0.0, None),
    }

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
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
        lr, lambd = group["lr"], group["lambd"]
        if "ax" not in state:
            state.update(eta=lr, mu=1.0, ax=tg.zeros_like(param))
        step = state["step"] = state.get("step", 0) + 1
        grad = update_direction(param, grad, group)
        eta, mu = state["eta"], state["mu"]
        param._assign(param * (1 - lambd * eta) - eta * grad)
        if mu != 1:
            state["ax"] = state["ax"] + (param - state["ax"]) * mu
        else:
            state["ax"] = param.detach() * 1.0  # a copy: ``param`` changes in place
        state["eta"] = lr / ((1 + lambd * lr * step) ** group["alpha"])
        state["mu"] = 1 / max(1, step - group["t0"])
