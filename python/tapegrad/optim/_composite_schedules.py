"""Schedules driven by a metric (``ReduceLROnPlateau``) or made of other schedules
(``SequentialLR``, ``ChainedScheduler``)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import Any

from tapegrad._errors import ArgumentError, DTypeError

from ._schedules import LRScheduler, _per_group
from .optimizer import Optimizer

__all__ = ["ChainedScheduler", "ReduceLROnPlateau", "SequentialLR"]


class ReduceLROnPlateau(LRScheduler):
    """Multiplies the rate by ``factor`` once a metric has stopped improving for
    ``patience`` epochs: call ``step(metric)`` after each validation.

    Args:
        optimizer: The optimiser whose rates to reduce.
        mode: ``"min"`` (lower is better) or ``"max"``.
        factor: The multiplier, below 1.
        patience: Epochs without improvement tolerated before a reduction.
        threshold: How much better counts as an improvement.
        threshold_mode: ``"rel"`` (``best · (1 ∓ threshold)``) or ``"abs"``
            (``best ∓ threshold``).
        cooldown: Epochs after a reduction during which bad epochs are not counted.
        min_lr: Lowest rate, one for all groups or one per group.
        eps: A reduction smaller than this is skipped.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise DTypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if factor >= 1.0:
            raise ArgumentError(
                f"ReduceLROnPlateau: factor should be < 1.0, got {factor}"
            )
        if mode not in ("min", "max"):
            raise ArgumentError(f"ReduceLROnPlateau: mode {mode!r} is unknown")
        if threshold_mode not in ("rel", "abs"):
            raise ArgumentError(
                f"ReduceLROnPlateau: threshold mode {threshold_mode!r} is unknown"
            )
        self.optimizer = optimizer
        self.min_lrs = _per_group(min_lr, optimizer, "min_lr", "ReduceLROnPlateau")
        self.factor, self.patience, self.cooldown = factor, patience, cooldown
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = self._current()
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def is_better(self, current: float, best: float) -> bool:
        """Whether ``current`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return current < best * (1.0 - self.threshold)
            return current < best - self.threshold
        if self.threshold_mode == "rel":
            return current > best * (self.threshold + 1.0)
        return current > best + self.threshold

    @property
    def in_cooldown(self) -> bool:
        """Whether a recent reduction still suspends the counting of bad epochs."""
        return self.cooldown_counter > 0

    def step(self, metrics: Any, epoch: int | None = None) -> None:  # type: ignore[override]
        """Records this epoch's metric (a number or 0-d tensor); may reduce the rates."""
        current = float(metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, floor)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current()


def _check_schedulers(
    schedulers: Sequence[LRScheduler], optimizer: Optimizer | None, caller: str
) -> Optimizer:
    if not schedulers:
        raise ArgumentError(f"{caller} expects at least one scheduler")
    optimizer = schedulers[0].optimizer if optimizer is None else optimizer
    for k, scheduler in enumerate(schedulers):
        if not isinstance(scheduler, LRScheduler):
            raise DTypeError(
                f"{caller}: scheduler {k} is a {type(scheduler).__name__}, not a "
                f"learning-rate scheduler"
            )
        if isinstance(scheduler, ReduceLROnPlateau):
            raise DTypeError(
                f"{caller} does not support ReduceLROnPlateau (scheduler {k}): it "
                f"steps on a metric"
            )
        if scheduler.optimizer is not optimizer:
            raise ArgumentError(
                f"{caller}: scheduler {k} is bound to another optimizer than the others"
            )
    return optimizer


class _Composite(LRScheduler):
    """State dicts of a schedule made of others: theirs, in order."""

    _schedulers: list[LRScheduler]

    def state_dict(self) -> dict[str, Any]:
        state = {
            k: v
            for k, v in self.__dict__.items()
            if k not in ("optimizer", "_schedulers")
        }
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        inner = state.pop("_schedulers")
        self.__dict__.update(state)
        for scheduler, saved in zip(self._schedulers, inner):
            scheduler.load_state_dict(saved)


class SequentialLR(_Composite):
    """Runs ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]``
    (restarted at its epoch 0), and so on: a warm-up then a decay, for example."""

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ) -> None:
        _check_schedulers(schedulers, optimizer, "SequentialLR")
        if len(milestones) != len(schedulers) - 1:
            raise ArgumentError(
                f"SequentialLR: expected {len(schedulers) - 1} milestones for "
                f"{len(schedulers)} schedulers, got {len(milestones)}"
            )
        self.optimizer = optimizer
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        # Undo the steps the schedulers took when built; start the first one afresh.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for scheduler in self._schedulers:
            scheduler.last_epoch -= 1
        self._schedulers[0]._initial_step()
        self._last_lr = self._schedulers[0].get_last_lr()

    def step(self, epoch: int | None = None) -> None:
        """Steps the scheduler in charge of the next epoch."""
        self.last_epoch += 1
        index = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler.step(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_Composite):
    """Steps every scheduler in the list at each ``step()``, their factors combined."""

    def __init__(
        self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None
    ) -> None:
        self.optimizer = _check_schedulers(schedulers, optimizer, "ChainedScheduler")
        self._schedulers = list(schedulers)
        self._last_lr = self._current()

    def step(self, epoch: int | None = None) -> None:
        """Steps each scheduler in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = self._current()
