"""``tapegrad.backends.mps``: Apple's Metal backend is not available (CPU only)."""

from __future__ import annotations

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """False: tapegrad runs on CPUs only."""
    return False


def is_built() -> bool:
    """False: tapegrad is not built with Metal support."""
    return False


def __dir__() -> list[str]:
    return sorted(__all__)
