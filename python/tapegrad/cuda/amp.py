"""``tapegrad.cuda.amp``: PyTorch's older spellings, ``autocast(enabled, dtype,
cache_enabled)`` for device "cuda" and ``GradScaler()`` for device "cuda". Without a
GPU both are disabled with a warning, as in PyTorch on such a machine."""

from __future__ import annotations

from ..amp.legacy import device_bound

__all__ = ["GradScaler", "autocast"]

autocast, GradScaler = device_bound("cuda", ": disabled with a warning (there is no GPU).")


def __dir__() -> list[str]:
    return sorted(__all__)
