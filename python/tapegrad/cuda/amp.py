"""``tapegrad.cuda.amp``: PyTorch's older spellings, ``autocast(enabled, dtype,
cache_enabled)`` for device "cuda" and ``GradScaler()`` for device "cuda". Without a
GPU both are disabled with a warning, as in PyTorch on such a machine."""

from __future__ import annotations

from typing import Any

from .. import amp as _amp

__all__ = ["GradScaler", "autocast"]


class autocast(_amp.autocast):  # PyTorch's name (lower case)
    """``tapegrad.autocast("cuda", ...)``: disabled (there is no GPU)."""

    def __init__(
        self, enabled: bool = True, dtype: Any = None, cache_enabled: bool = True
    ) -> None:
        super().__init__(
            "cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled
        )


class GradScaler(_amp.GradScaler):
    """``tapegrad.amp.GradScaler("cuda", ...)``: disabled with a warning (no GPU)."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        super().__init__(
            "cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled
        )


def __dir__() -> list[str]:
    return sorted(__all__)
