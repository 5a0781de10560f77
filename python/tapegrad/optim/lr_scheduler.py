"""Learning-rate schedules, as ``torch.optim.lr_scheduler``: call ``step()`` once per
epoch after ``optimizer.step()`` (``OneCycleLR`` and ``CyclicLR``: once per batch;
``ReduceLROnPlateau``: ``step(metric)`` after each validation)."""

from __future__ import annotations

from ._composite_schedules import ChainedScheduler, ReduceLROnPlateau, SequentialLR
from ._cyclic_schedules import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR
from ._schedules import (
    ConstantLR,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiplicativeLR,
    MultiStepLR,
    PolynomialLR,
    StepLR,
)

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]
