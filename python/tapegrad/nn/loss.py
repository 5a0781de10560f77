"""Loss modules: thin wrappers over ``tapegrad.nn.functional`` holding the options.

The functions live in ``_functional_classification.py``, ``_functional_regression.py``
and ``_functional_margin.py``, re-exported by ``functional``.
"""

from __future__ import annotations

from typing import Any

import tapegrad as tg
from tapegrad._errors import ArgumentError

from . import functional as F
from .module import Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CosineEmbeddingLoss",
    "CrossEntropyLoss",
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "MSELoss",
    "MarginRankingLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "NLLLoss",
    "PoissonNLLLoss",
    "SmoothL1Loss",
    "SoftMarginLoss",
    "TripletMarginLoss",
]


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


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (see ``binary_cross_entropy``).

    Args:
        weight: Optional weight broadcast over the elements.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
    """

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self._set_constant("weight", weight)

    def forward(self, input: tg.Tensor, target: Any) -> tg.Tensor:
        """The loss of probabilities ``input`` against ``target``."""
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error; ``target`` must have the input's shape."""

    def forward(self, input: tg.Tensor, target: Any) -> tg.Tensor:
        """The loss of ``input`` against ``target``."""
        return F.l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    """Quadratic below ``beta``, linear above (see ``smooth_l1_loss``)."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input: tg.Tensor, target: Any) -> tg.Tensor:
        """The loss of ``input`` against ``target``."""
        return F.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    """Quadratic below ``delta``, linear (slope ``delta``) above."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: tg.Tensor, target: Any) -> tg.Tensor:
        """The loss of ``input`` against ``target``."""
        return F.huber_loss(input, target, self.reduction, self.delta)


class KLDivLoss(_Loss):
    """KL divergence of log-probabilities ``input`` from ``target`` (see ``kl_div``);
    ``reduction`` also takes ``"batchmean"``."""

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        Module.__init__(self)
        if reduction not in ("mean", "sum", "none", "batchmean"):
            raise ArgumentError(
                f"KLDivLoss: reduction must be 'mean', 'batchmean', 'sum' or 'none', "
                f"got {reduction!r}"
            )
        self.reduction = reduction
        self.log_target = log_target

    def forward(self, input: tg.Tensor, target: Any) -> tg.Tensor:
        """The divergence of ``target`` and ``input``."""
        return F.kl_div(input, target, self.reduction, self.log_target)


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood (see ``poisson_nll_loss``)."""

    def __init__(
        self,
        log_input: bool = True,
        full: bool = False,
        eps: float = 1e-8,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input: tg.Tensor, target: Any) -> tg.Tensor:
        """The loss of rates (or log-rates) against counts ``target``."""
        return F.poisson_nll_loss(
            log_input, target, self.log_input, self.full, self.eps, self.reduction
        )


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood (see ``gaussian_nll_loss``)."""

    def __init__(
        self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean"
    ) -> None:
        super().__init__(reduction)
        self.full, self.eps = full, eps

    def forward(self, input: tg.Tensor, target: Any, var: Any) -> tg.Tensor:
        """The loss of means ``input`` and variances ``var`` against ``target``."""
        return F.gaussian_nll_loss(
            input, target, var, self.full, self.eps, self.reduction
        )


class SoftMarginLoss(_Loss):
    """Two-class logistic loss for targets of ±1."""

    def forward(self, input: tg.Tensor, target: Any) -> tg.Tensor:
        """The loss of scores ``input`` against ±1 ``target``."""
        return F.soft_margin_loss(input, target, self.reduction)


class MultiLabelSoftMarginLoss(_Loss):
    """Per-class logistic loss against 0/1 targets, averaged over the classes."""

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self._set_constant("weight", weight)

    def forward(self, input: tg.Tensor, target: Any) -> tg.Tensor:
        """The loss of scores ``input`` against 0/1 ``target``."""
        return F.multilabel_soft_margin_loss(input, target, self.weight, self.reduction)


class MultiMarginLoss(_Loss):
    """Multi-class hinge loss (see ``multi_margin_loss``)."""

    def __init__(
        self,
        p: int = 1,
        margin: float = 1.0,
        weight: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction)
        if p not in (1, 2):
            raise ArgumentError(
                f"MultiMarginLoss: only p = 1 and 2 are supported, got {p}"
            )
        self.p, self.margin = p, margin
        self._set_constant("weight", weight)

    def forward(self, input: tg.Tensor, target: Any) -> tg.Tensor:
        """The loss of scores ``input`` against class indices ``target``."""
        return F.multi_margin_loss(
            input, target, self.p, self.margin, self.weight, self.reduction
        )


class MarginRankingLoss(_Loss):
    """``max(0, -y (x1 - x2) + margin)`` for targets of ±1."""

    def __init__(self, margin: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1: tg.Tensor, input2: tg.Tensor, target: Any) -> tg.Tensor:
        """The loss of the pair ranked by ``target``."""
        return F.margin_ranking_loss(
            input1, input2, target, self.margin, self.reduction
        )


class HingeEmbeddingLoss(_Loss):
    """``x`` for ``y = 1``, ``max(0, margin - x)`` for ``y = -1``."""

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input: tg.Tensor, target: Any) -> tg.Tensor:
        """The loss of distances ``input`` against ±1 ``target``."""
        return F.hinge_embedding_loss(input, target, self.margin, self.reduction)


class CosineEmbeddingLoss(_Loss):
    """Pulls pairs with ``y = 1`` together and pushes ``y = -1`` below ``margin``
    in cosine similarity."""

    def __init__(self, margin: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1: tg.Tensor, input2: tg.Tensor, target: Any) -> tg.Tensor:
        """The loss of the pairs against ±1 ``target``."""
        return F.cosine_embedding_loss(
            input1, input2, target, self.margin, self.reduction
        )


class TripletMarginLoss(_Loss):
    """``max(d(a, p) - d(a, n) + margin, 0)`` (see ``triplet_margin_loss``)."""

    def __init__(
        self,
        margin: float = 1.0,
        p: float = 2.0,
        eps: float = 1e-6,
        swap: bool = False,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction)
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(
        self, anchor: tg.Tensor, positive: tg.Tensor, negative: tg.Tensor
    ) -> tg.Tensor:
        """The loss of the triplets."""
        return F.triplet_margin_loss(
            anchor,
            positive,
            negative,
            self.margin,
            self.p,
            self.eps,
            self.swap,
            self.reduction,
        )
