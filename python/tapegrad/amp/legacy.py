"""PyTorch's older, device-bound spellings ``torch.cpu.amp`` and ``torch.cuda.amp``:
``autocast(enabled, dtype, cache_enabled)`` and ``GradScaler(init_scale, ...)`` with the
device fixed. :func:`device_bound` builds the pair for one device, so that
``tapegrad.cpu.amp`` and ``tapegrad.cuda.amp`` differ only in the device they pass."""

from __future__ import annotations

from typing import Any

from .autocast_mode import autocast as _autocast
from .grad_scaler import GradScaler as _GradScaler


def device_bound(device: str, note: str = "") -> tuple[type, type]:
    """``(autocast, GradScaler)`` classes with ``device`` fixed; ``note`` ends their
    docstrings (what the device means on a machine with CPUs only)."""

    class autocast(_autocast):  # PyTorch's name (lower case)
        def __init__(
            self, enabled: bool = True, dtype: Any = None, cache_enabled: bool = True
        ) -> None:
            super().__init__(
                device, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled
            )

    class GradScaler(_GradScaler):
        def __init__(
            self,
            init_scale: float = 2.0**16,
            growth_factor: float = 2.0,
            backoff_factor: float = 0.5,
            growth_interval: int = 2000,
            enabled: bool = True,
        ) -> None:
            super().__init__(
                device, init_scale, growth_factor, backoff_factor, growth_interval, enabled
            )

    autocast.__doc__ = f'``tapegrad.autocast("{device}", ...)``{note}'
    GradScaler.__doc__ = f'``tapegrad.amp.GradScaler("{device}", ...)``{note}'
    for cls in (autocast, GradScaler):
        cls.__module__ = f"tapegrad.{device}.amp"
        cls.__qualname__ = cls.__name__
    return autocast, GradScaler
