"""``tapegrad.backends``: PyTorch's backend queries for a CPU-only library."""

from __future__ import annotations

from . import mps

__all__ = ["mps"]


def __dir__() -> list[str]:
    return sorted(__all__)
