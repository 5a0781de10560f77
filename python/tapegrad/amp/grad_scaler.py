"""``GradScaler``: PyTorch's dynamic loss scaling, meaningful in float32 too.

The loss is multiplied by ``scale`` before backward, so small gradients do not
underflow; ``unscale_`` divides the gradients back and notes whether any is inf or NaN;
``step`` then skips the optimiser step if one was; ``update`` halves the scale after a
skipped step (``backoff_factor``) and doubles it after ``growth_interval`` clean steps
(``growth_factor``). The scale is kept as a float32 value, as PyTorch keeps it.
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

import tapegrad as tg

from .._errors import ArgumentError, GraphError

__all__ = ["GradScaler"]


class _Stage(enum.Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _fresh_state() -> dict[str, Any]:
    return {"stage": _Stage.READY, "found_inf": None}


def _float32(value: float) -> float:
    return float(np.float32(value))


class GradScaler:
    """``tapegrad.amp.GradScaler(device="cuda", init_scale=2.**16, growth_factor=2.0,
    backoff_factor=0.5, growth_interval=2000, enabled=True)``, as PyTorch's.

    As PyTorch on a machine without a GPU, ``device="cuda"`` (the default) warns and
    disables the scaler; give ``device="cpu"`` for a working one. A disabled scaler
    is the identity: ``scale`` returns its input, ``step`` calls ``optimizer.step()``.
    """

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        self._device = str(device)
        if enabled and self._device != "cpu":
            warnings.warn(
                f"GradScaler is enabled, but device type {self._device} is not "
                "available (tapegrad runs on CPUs only). Disabling. Use "
                "GradScaler('cpu') for loss scaling on the CPU.",
                UserWarning,
                stacklevel=2,
            )
            enabled = False
        self._enabled = bool(enabled)
        if self._enabled:
            if growth_factor <= 1.0:
                raise ArgumentError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise ArgumentError("The backoff factor must be < 1.0.")
        self._init_scale = float(init_scale)
        self._scale: float | None = None
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._per_optimizer: dict[int, dict[str, Any]] = {}

    # ---- scaling --------------------------------------------------------------------

    def _current_scale(self) -> float:
        if self._scale is None:
            self._scale = _float32(self._init_scale)
        return self._scale

    def scale(self, outputs: Any) -> Any:
        """``outputs`` (a tensor, or an iterable of them) times the scale factor."""
        if not self._enabled:
            return outputs
        factor = self._current_scale()
        if isinstance(outputs, tg.Tensor):
            return outputs * factor
        if isinstance(outputs, Iterable):
            scaled = [self.scale(o) for o in outputs]
            return tuple(scaled) if isinstance(outputs, tuple) else scaled
        raise ArgumentError(
            "outputs must be a Tensor or an iterable of Tensors, got "
            f"{type(outputs).__name__}"
        )

    def _state(self, optimizer: Any) -> dict[str, Any]:
        return self._per_optimizer.setdefault(id(optimizer), _fresh_state())

    def unscale_(self, optimizer: Any) -> None:
        """Divides ``optimizer``'s gradients by the scale, in place, and records
        whether any is inf or NaN (once per optimizer between updates)."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["stage"] is _Stage.UNSCALED:
            raise GraphError(
                "unscale_() has already been called on this optimizer since the last "
                "update()."
            )
        if state["stage"] is _Stage.STEPPED:
            raise GraphError("unscale_() is being called after step().")
        inverse = _float32(1.0 / self._current_scale())
        found_inf = False
        with tg.no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    grad = param.grad
                    if grad is None:
                        continue
                    if not bool(tg.isfinite(grad).all()):
                        found_inf = True
                    grad.mul_(inverse)
        state["found_inf"] = found_inf
        state["stage"] = _Stage.UNSCALED

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """``optimizer.step(*args, **kwargs)`` unless the gradients held inf or NaN
        (then the step is skipped and None returned); unscales first if needed."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise GraphError(
                "Closure use is not currently supported if GradScaler is enabled."
            )
        state = self._state(optimizer)
        if state["stage"] is _Stage.STEPPED:
            raise GraphError("step() has already been called since the last update().")
        if state["stage"] is _Stage.READY:
            self.unscale_(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _Stage.STEPPED
        return result

    def update(self, new_scale: float | tg.Tensor | None = None) -> None:
        """Backs the scale off after a skipped step, grows it after
        ``growth_interval`` clean ones; or sets it to ``new_scale``."""
        if not self._enabled:
            return
        if new_scale is not None:
            if isinstance(new_scale, tg.Tensor):
                if new_scale.numel() != 1:
                    raise ArgumentError("new_scale should be a 1-element tensor.")
                new_scale = float(new_scale.item())
            self._scale = _float32(new_scale)
        else:
            found = [s["found_inf"] for s in self._per_optimizer.values()]
            found = [f for f in found if f is not None]
            if not found:
                raise GraphError("No inf checks were recorded prior to update.")
            scale = self._current_scale()
            if any(found):
                self._scale = _float32(scale * self._backoff_factor)
                self._growth_tracker = 0
            else:
                clean_steps = self._growth_tracker + 1
                if clean_steps == self._growth_interval:
                    grown = _float32(scale * self._growth_factor)
                    if np.isfinite(grown):
                        self._scale = grown
                    clean_steps = 0
                self._growth_tracker = clean_steps
        self._per_optimizer = {}

    # ---- settings and state ---------------------------------------------------------

    def get_scale(self) -> float:
        """The scale factor (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        """``scale``, the factors, the interval and the growth tracker; empty when
        disabled (as PyTorch)."""
        if not self._enabled:
            return {}
        return {
            "scale": self.get_scale(),
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._growth_tracker,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores a :meth:`state_dict`."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise GraphError(
                "The source state dict is empty, possibly because it was saved from a "
                "scaler that was not enabled."
            )
        self._init_scale = float(state_dict["scale"])
        self._scale = _float32(self._init_scale)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
