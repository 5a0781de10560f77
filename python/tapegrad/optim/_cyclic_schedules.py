"""Schedules that go up and down: ``OneCycleLR``, ``CyclicLR`` and
``CosineAnnealingWarmRestarts``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from tapegrad._errors import ArgumentError

from ._schedules import LRScheduler, _check_positive_int, _per_group
from .optimizer import Optimizer

__all__ = ["CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR"]


def _momentum_key(optimizer: Optimizer, caller: str) -> str:
    """Which hyperparameter a schedule cycles as momentum: ``betas`` (its β₁) or
    ``momentum``."""
    if "betas" in optimizer.defaults:
        return "betas"
    if "momentum" in optimizer.defaults:
        return "momentum"
    raise ArgumentError(
        f"{caller}: optimizer must support momentum or beta1 with `cycle_momentum` "
        f"option enabled ({type(optimizer).__name__} has neither)"
    )


def _set_momentum(group: dict[str, Any], key: str, value: float) -> None:
    if key == "betas":
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


def _anneal_cos(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _anneal_linear(start: float, end: float, pct: float) -> float:
    return (end - start) * pct + start


class OneCycleLR(LRScheduler):
    """The 1cycle policy: the rate rises from ``max_lr / div_factor`` to ``max_lr``
    over ``pct_start`` of the steps, then falls to ``initial_lr / final_div_factor``
    (with ``three_phase``, back to the initial rate first); momentum moves the other
    way. Call ``step()`` after every batch; ``total_steps`` steps in all.

    Args:
        optimizer: The optimiser whose rates (and momentum or β₁) to schedule.
        max_lr: Peak rate, one for all groups or one per group.
        total_steps: Steps in the cycle; or give ``epochs`` and ``steps_per_epoch``.
        epochs: Epochs, with ``steps_per_epoch``.
        steps_per_epoch: Steps per epoch, with ``epochs``.
        pct_start: Fraction of the cycle spent rising, in [0, 1].
        anneal_strategy: ``"cos"`` or ``"linear"``.
        cycle_momentum: Cycle the momentum (or β₁) between the two bounds below.
        base_momentum: Lowest momentum (at the peak rate).
        max_momentum: Highest momentum.
        div_factor: ``initial_lr = max_lr / div_factor``.
        final_div_factor: ``min_lr = initial_lr / final_div_factor``.
        three_phase: Go back to ``initial_lr`` before annealing to ``min_lr``.
        last_epoch: The last step taken; -1 starts afresh.
    """

    _unsaved = ("_anneal",)

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        if total_steps is not None:
            _check_positive_int(total_steps, "total_steps", "OneCycleLR")
        elif epochs is not None and steps_per_epoch is not None:
            _check_positive_int(epochs, "epochs", "OneCycleLR")
            _check_positive_int(steps_per_epoch, "steps_per_epoch", "OneCycleLR")
            total_steps = epochs * steps_per_epoch
        else:
            raise ArgumentError(
                "OneCycleLR: you must define either total_steps OR (epochs AND "
                "steps_per_epoch)"
            )
        if not 0.0 <= pct_start <= 1.0:
            raise ArgumentError(
                f"OneCycleLR: pct_start must be in [0, 1], got {pct_start}"
            )
        if anneal_strategy not in ("cos", "linear"):
            raise ArgumentError(
                f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got "
                f"{anneal_strategy!r}"
            )
        self.total_steps = total_steps
        self.anneal_strategy = anneal_strategy
        rise = float(pct_start * total_steps) - 1
        if three_phase:
            self._phases = [
                (rise, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (2 * rise, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                (
                    total_steps - 1,
                    "initial_lr",
                    "min_lr",
                    "max_momentum",
                    "max_momentum",
                ),
            ]
        else:
            self._phases = [
                (rise, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        if last_epoch == -1:
            peaks = _per_group(max_lr, optimizer, "max_lr", "OneCycleLR")
            for peak, group in zip(peaks, optimizer.param_groups):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._momentum = _momentum_key(optimizer, "OneCycleLR")
            if last_epoch == -1:
                highs = _per_group(
                    max_momentum, optimizer, "max_momentum", "OneCycleLR"
                )
                lows = _per_group(
                    base_momentum, optimizer, "base_momentum", "OneCycleLR"
                )
                for high, low, group in zip(highs, lows, optimizer.param_groups):
                    _set_momentum(group, self._momentum, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ArgumentError(
                f"OneCycleLR: tried to step {step} times; the specified number of "
                f"total steps is {self.total_steps}"
            )
        anneal = _anneal_cos if self.anneal_strategy == "cos" else _anneal_linear
        rates = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for k, (end, lr_from, lr_to, m_from, m_to) in enumerate(self._phases):
                if step <= end or k == len(self._phases) - 1:
                    pct = (step - start) / (end - start)
                    rates.append(anneal(group[lr_from], group[lr_to], pct))
                    if self.cycle_momentum:
                        value = anneal(group[m_from], group[m_to], pct)
                        _set_momentum(group, self._momentum, value)
                    break
                start = end
        return rates


class CyclicLR(LRScheduler):
    """Cycles the rate between ``base_lr`` and ``max_lr`` (and the momentum the other
    way), stepping after every batch.

    Args:
        optimizer: The optimiser whose rates (and momentum or β₁) to schedule.
        base_lr: Lower bound, one for all groups or one per group.
        max_lr: Upper bound, the same.
        step_size_up: Steps rising in each cycle.
        step_size_down: Steps falling (default ``step_size_up``).
        mode: ``"triangular"``, ``"triangular2"`` (the amplitude halves every
            cycle) or ``"exp_range"`` (scaled by ``gamma`` per step).
        gamma: The ``exp_range`` factor.
        scale_fn: A custom amplitude scale of the cycle (or step) number; replaces
            ``mode``. Not in ``state_dict()``.
        scale_mode: ``"cycle"`` or ``"iterations"``: what ``scale_fn`` takes.
        cycle_momentum: Cycle the momentum (or β₁) too.
        base_momentum: Lower momentum bound.
        max_momentum: Upper momentum bound.
        last_epoch: The last step taken; -1 starts afresh.
    """

    _unsaved = ("_scale_fn_custom",)

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | list[float],
        max_lr: float | list[float],
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.8,
        max_momentum: float | list[float] = 0.9,
        last_epoch: int = -1,
    ) -> None:
        base_lrs = _per_group(base_lr, optimizer, "base_lr", "CyclicLR")
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _per_group(max_lr, optimizer, "max_lr", "CyclicLR")
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ArgumentError(
                f"CyclicLR: mode must be 'triangular', 'triangular2' or 'exp_range' "
                f"(or give scale_fn), got {mode!r}"
            )
        self.mode, self.gamma = mode, gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = (
            scale_mode
            if scale_fn is not None
            else ("iterations" if mode == "exp_range" else "cycle")
        )
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._momentum = _momentum_key(optimizer, "CyclicLR")
            highs = _per_group(max_momentum, optimizer, "max_momentum", "CyclicLR")
            lows = _per_group(base_momentum, optimizer, "base_momentum", "CyclicLR")
            if last_epoch == -1:
                for high, low, group in zip(highs, lows, optimizer.param_groups):
                    _set_momentum(group, self._momentum, high)
                    group["max_momentum"], group["base_momentum"] = high, low
            self.base_momentums = [g["base_momentum"] for g in optimizer.param_groups]
            self.max_momentums = [g["max_momentum"] for g in optimizer.param_groups]
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x: float) -> float:
        """The amplitude scale at cycle (or step) ``x``."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale = x / self.step_ratio
        else:
            scale = (x - 1) / (self.step_ratio - 1)
        amplitude = self.scale_fn(
            cycle if self.scale_mode == "cycle" else self.last_epoch
        )
        rates = [
            base + (peak - base) * scale * amplitude
            for base, peak in zip(self.base_lrs, self.max_lrs)
        ]
        if self.cycle_momentum:
            for low, high, group in zip(
                self.base_momentums, self.max_momentums, self.optimizer.param_groups
            ):
                _set_momentum(
                    group, self._momentum, high - (high - low) * scale * amplitude
                )
        return rates


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing from the initial rate to ``eta_min`` over ``T_i`` epochs,
    then a restart; the period starts at ``T_0`` and is multiplied by ``T_mult`` at
    each restart. ``step(epoch)`` takes fractional epochs (``epoch + i / iters``).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        _check_positive_int(T_0, "T_0", "CosineAnnealingWarmRestarts")
        _check_positive_int(T_mult, "T_mult", "CosineAnnealingWarmRestarts")
        self.T_0, self.T_i, self.T_mult = T_0, T_0, T_mult
        self.eta_min = eta_min
        self.T_cur: float = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        cosine = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Moves to the next epoch, or to ``epoch`` (which may be fractional)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        else:
            if epoch < 0:
                raise ArgumentError(
                    f"CosineAnnealingWarmRestarts: expected a non-negative epoch, "
                    f"got {epoch}"
                )
            if epoch < self.T_0:
                self.T_i, self.T_cur = self.T_0, epoch
            elif self.T_mult == 1:
                self.T_cur = epoch % self.T_0
            else:
                n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                self.T_i = self.T_0 * self.T_mult**n
        self._step_count += 1
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = self._current()
