"""``tapegrad.cpu.amp``: PyTorch's older spelling ``autocast(enabled, dtype,
cache_enabled)`` for device "cpu" (see :mod:`tapegrad.amp.autocast_mode`)."""

from __future__ import annotations

from ..amp.legacy import device_bound

__all__ = ["GradScaler", "autocast"]

autocast, GradScaler = device_bound("cpu", ".")


def __dir__() -> list[str]:
    return sorted(__all__)
