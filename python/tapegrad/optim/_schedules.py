"""``LRScheduler`` and the schedules that multiply the rate by a factor per epoch."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from typing import Any, Union

from tapegrad._errors import ArgumentError, DTypeError

from .optimizer import Optimizer

__all__ = [
    "ConstantLR",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "PolynomialLR",
    "StepLR",
]


class LRScheduler:
    """Base class: sets each parameter group's ``"lr"`` from ``get_lr()`` on ``step()``.

    Args:
        optimizer: The optimiser whose learning rates to schedule.
        last_epoch: The index of the last epoch; -1 starts afresh (and records each
            group's ``"initial_lr"``), anything else resumes and needs it.
    """

    # Attributes left out of ``state_dict`` (besides the optimiser): functions.
    _unsaved: tuple[str, ...] = ()

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
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self.step()

    def get_lr(self) -> list[float]:
        """The learning rates of the epoch ``last_epoch`` (subclasses define it)."""
        raise NotImplementedError

    def _closed_form(self) -> list[float] | None:
        """The rates of ``last_epoch`` from ``base_lrs`` alone, for schedules that
        have one (used by ``step(epoch)``); None for the others."""
        return None

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last ``step()``, one per group."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None) -> None:
        """Moves to the next epoch (or to ``epoch``: PyTorch's deprecated form, which
        ``SequentialLR`` uses) and updates the groups' learning rates."""
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            rates = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = self._closed_form()
            rates = self.get_lr() if closed is None else closed
        for group, lr in zip(self.optimizer.param_groups, rates):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimiser and functions (``tapegrad.save`` takes it)."""
        return {
            k: v
            for k, v in self.__dict__.items()
            if k != "optimizer" and k not in self._unsaved
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores the state from ``state_dict()``."""
        self.__dict__.update(state_dict)

    def _current(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]


def _per_group(value: Any, optimizer: Optimizer, name: str, caller: str) -> list[Any]:
    """One value per parameter group: a list of that length, or one value for all."""
    groups = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ArgumentError(
                f"{caller}: expected {groups} values for {name}, got {len(value)}"
            )
        return list(value)
    return [value] * groups


def _check_positive_int(value: Any, name: str, caller: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ArgumentError(f"{caller}: {name} must be a positive int, got {value!r}")


LambdaT = Union[Callable[[int], float], Sequence[Callable[[int], float]]]


class LambdaLR(LRScheduler):
    """Sets the rate to ``initial_lr · lr_lambda(epoch)``; one function, or one per
    group. The functions are not in ``state_dict()``."""

    _unsaved = ("lr_lambdas",)

    def __init__(
        self, optimizer: Optimizer, lr_lambda: LambdaT, last_epoch: int = -1
    ) -> None:
        self.lr_lambdas = _per_group(lr_lambda, optimizer, "lr_lambda", "LambdaLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [
            base * scale(self.last_epoch)
            for base, scale in zip(self.base_lrs, self.lr_lambdas)
        ]


class MultiplicativeLR(LRScheduler):
    """Multiplies the rate by ``lr_lambda(epoch)`` every epoch after the first."""

    _unsaved = ("lr_lambdas",)

    def __init__(
        self, optimizer: Optimizer, lr_lambda: LambdaT, last_epoch: int = -1
    ) -> None:
        self.lr_lambdas = _per_group(
            lr_lambda, optimizer, "lr_lambda", "MultiplicativeLR"
        )
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch <= 0:
            return self._current()
        return [
            lr * scale(self.last_epoch)
            for lr, scale in zip(self._current(), self.lr_lambdas)
        ]


class StepLR(LRScheduler):
    """Multiplies the learning rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(
        self,
        optimizer: Optimizer,
        step_size: int,
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        _check_positive_int(step_size, "step_size", "StepLR")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _closed_form(self) -> list[float]:
        factor = self.gamma ** (self.last_epoch // self.step_size)
        return [base * factor for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiplies the learning rate by ``gamma`` at each milestone epoch (a milestone
    listed twice multiplies by ``gamma²``)."""

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Sequence[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        hits = self.milestones.count(self.last_epoch)
        if hits == 0:
            return self._current()
        return [lr * self.gamma**hits for lr in self._current()]

    def _closed_form(self) -> list[float]:
        passed = bisect.bisect_right(self.milestones, self.last_epoch)
        return [base * self.gamma**passed for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """Scales the rate by ``factor`` for the first ``total_iters`` epochs."""

    def __init__(
        self,
        optimizer: Optimizer,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0.0 <= factor <= 1.0:
            raise ArgumentError(
                f"ConstantLR: factor must be between 0 and 1, got {factor}"
            )
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current()]
        if self.last_epoch != self.total_iters:
            return self._current()
        return [lr * (1.0 / self.factor) for lr in self._current()]

    def _closed_form(self) -> list[float]:
        done = self.last_epoch >= self.total_iters
        return [
            base * (self.factor + done * (1 - self.factor)) for base in self.base_lrs
        ]


class LinearLR(LRScheduler):
    """Scales the rate by a factor going linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` epochs."""

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0.0 < start_factor <= 1.0:
            raise ArgumentError(
                f"LinearLR: start_factor must be in (0, 1], got {start_factor}"
            )
        if not 0.0 <= end_factor <= 1.0:
            raise ArgumentError(
                f"LinearLR: end_factor must be in [0, 1], got {end_factor}"
            )
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current()]
        if self.last_epoch > self.total_iters:
            return self._current()
        change = self.end_factor - self.start_factor
        ratio = 1.0 + change / (
            self.total_iters * self.start_factor + (self.last_epoch - 1) * change
        )
        return [lr * ratio for lr in self._current()]

    def _closed_form(self) -> list[float]:
        progress = min(self.total_iters, self.last_epoch) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * progress
        return [base * factor for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiplies the learning rate by ``gamma`` every epoch."""

    def __init__(
        self, optimizer: Optimizer, gamma: float, last_epoch: int = -1
    ) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _closed_form(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decays the rate to 0 over ``total_iters`` epochs as
    ``initial_lr · (1 - t / total_iters)^power``."""

    def __init__(
        self,
        optimizer: Optimizer,
        total_iters: int = 5,
        power: float = 1.0,
        last_epoch: int = -1,
    ) -> None:
        _check_positive_int(total_iters, "total_iters", "PolynomialLR")
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        if t == 0 or t > self.total_iters:
            return self._current()
        ratio = (1.0 - t / self.total_iters) / (1.0 - (t - 1) / self.total_iters)
        return [lr * ratio**self.power for lr in self._current()]

    def _closed_form(self) -> list[float]:
        left = 1.0 - min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * left**self.power for base in self.base_lrs]


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
        _check_positive_int(T_max, "T_max", "CosineAnnealingLR")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups, t, period = self.optimizer.param_groups, self.last_epoch, self.T_max
        if t == 0:
            return self._current()
        if self._step_count == 1 and t > 0:  # resumed: the closed form
            return self._closed_form()
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

    def _closed_form(self) -> list[float]:
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]
