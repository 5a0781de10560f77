"""``tapegrad.amp``: PyTorch's automatic mixed precision names.

``GradScaler`` scales losses and skips steps whose gradients overflowed, as PyTorch's
(useful in float32 too). ``autocast`` is accepted and changes no dtype: tapegrad has no
float16 or bfloat16 (see :mod:`tapegrad.amp.autocast_mode`).
"""

from __future__ import annotations

from .autocast_mode import autocast, is_autocast_enabled
from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "is_autocast_enabled"]


def __dir__() -> list[str]:
    return sorted(__all__)
