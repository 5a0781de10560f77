"""Loss modules: thin wrappers over ``tapegrad.nn.functional`` holding the options."""

from __future__ import annotations

from typing import Any

import tapegrad as tg
from tapegrad._errors import ArgumentError

from . import functional as F
from .module import Module

__all__ = ["BCEWithLogitsLoss", "CrossEntropyLoss", "MSELoss", "NLLLoss"]


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ArgumentError(
                f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', "
                f"got {reduction!r}"
            )
        self.reduction = reduction

    def _set_constant(self, name: str, value: Any) -> None:
        """Tensors become buffers (in the state dict, never trained), as in PyTorch."""
        if isinstance(value, tg.Tensor):
            self.register_buffer(name, value.detach())
        else:
            setattr(self, name, value)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class MSELoss(_Loss):
    """Mean squared error; ``target`` must have the input's shape."""

    def forward(self, input: tg.Tensor, target: Any) -> tg.Tensor:
        """The loss of ``input`` against ``target``."""
        return F.mse_loss(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits against integer class labels (or class probabilities).

    A stable fused log-softmax + negative log-likelihood. Labels are integer NumPy
    arrays, lists, or float tensors holding whole numbers; see
    ``tapegrad.nn.functional.cross_entropy``.

    Args:
        weight: Optional per-class weights, shape (C,).
        ignore_index: Label that contributes nothing.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        label_smoothing: In [0, 1].
    """

    def __init__(
        self,
        weight: Any = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ArgumentError(
                f"CrossEntropyLoss: label_smoothing must be in [0, 1], got "
                f"{label_smoothing}"
            )
        self._set_constant("weight", weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: tg.Tensor, target: Any) -> tg.Tensor:
        """The loss of logits ``input`` against ``target``."""
        return F.cross_entropy(
            input,
            target,
            self.weight,
            self.ignore_index,
            self.reduction,
            self.label_smoothing,
        )


class NLLLoss(_Loss):
    """Negative log-likelihood of integer class labels, given log-probabilities."""

    def __init__(
        self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"
    ) -> None:
        super().__init__(reduction)
        self._set_constant("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input: tg.Tensor, target: Any) -> tg.Tensor:
        """The loss of log-probabilities ``input`` against ``target``."""
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits (a stable sigmoid + BCE).

    Args:
        weight: Optional weight broadcast over the elements.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        pos_weight: Optional weight of the positive examples, per class.
    """

    def __init__(
        self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None
    ) -> None:
        super().__init__(reduction)
        self._set_constant("weight", weight)
        self._set_constant("pos_weight", pos_weight)

    def forward(self, input: tg.Tensor, target: Any) -> tg.Tensor:
        """The loss of logits ``input`` against probabilities ``target``."""
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, self.reduction, self.pos_weight
        )
