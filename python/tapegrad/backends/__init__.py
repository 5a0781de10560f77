"""``tapegrad.backends``: PyTorch's backend queries and switches for a CPU-only
library (``cudnn``, ``cuda``, ``mps``)."""

from __future__ import annotations

from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]


def __dir__() -> list[str]:
    return sorted(__all__)
