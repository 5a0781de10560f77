"""Learning-rate schedules, as ``torch.optim.lr_scheduler``: call ``step()`` once per
epoch, after ``optimizer.step()``."""

from __future__ import annotations

import math
from typing import Any

from tapegrad._errors import ArgumentError, DTypeError

from .optimizer import Optimizer

__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "StepLR"]


class LRScheduler:
    """Base class: sets each parameter group's ``"lr"`` from ``get_lr()`` on ``step()``.

    Args:
        optimizer: The optimiser whose learning rates to schedule.
        last_epoch: The index of the last epoch; -1 starts afresh (and records each
            group's ``"initial_lr"``), anything else resumes and needs it.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise DTypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        for k, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(
                    f"param 'initial_lr' is not specified in param_groups[{k}] when "
                    f"resuming an optimizer (last_epoch={last_epoch})"
                )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()

    def get_lr(self) -> list[float]:
        """The learning rates of the epoch ``last_epoch`` (subclasses define it)."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last ``step()``, one per group."""
        return list(self._last_lr)

    def step(self) -> None:
        """Moves to the next epoch and updates the groups' learning rates."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimiser (numbers and lists: ``tapegrad.save`` takes it)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores the state from ``state_dict()``."""
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiplies the learning rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(
        self,
        optimizer: Optimizer,
        step_size: int,
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(step_size, int) or step_size < 1:
            raise ArgumentError(
                f"StepLR: step_size must be a positive int, got {step_size!r}"
            )
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class ExponentialLR(LRScheduler):
    """Multiplies the learning rate by ``gamma`` every epoch."""

    def __init__(
        self, optimizer: Optimizer, gamma: float, last_epoch: int = -1
    ) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class CosineAnnealingLR(LRScheduler):
    """Anneals from the initial rate to ``eta_min`` along a half cosine of ``T_max`` epochs.

    ``lr_t = eta_min + (lr_0 - eta_min)(1 + cos(π t / T_max)) / 2``, computed with
    PyTorch's recursive form so that the two give the same numbers (and the rate
    rises again after ``T_max``, as PyTorch's does).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(T_max, int) or T_max < 1:
            raise ArgumentError(
                f"CosineAnnealingLR: T_max must be a positive int, got {T_max!r}"
            )
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups, t, period = self.optimizer.param_groups, self.last_epoch, self.T_max
        if t == 0:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and t > 0:  # resumed: the closed form
            return [
                self.eta_min
                + (base - self.eta_min) * (1 + math.cos(t * math.pi / period)) / 2
                for base in self.base_lrs
            ]
        if (t - 1 - period) % (2 * period) == 0:
            return [
                group["lr"]
                + (base - self.eta_min) * (1 - math.cos(math.pi / period)) / 2
                for base, group in zip(self.base_lrs, groups)
            ]
        ratio = (1 + math.cos(math.pi * t / period)) / (
            1 + math.cos(math.pi * (t - 1) / period)
        )
        return [(group["lr"] - self.eta_min) * ratio + self.eta_min for group in groups]
