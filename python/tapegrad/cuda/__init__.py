"""``tapegrad.cuda``: PyTorch's CUDA queries, answered for a CPU-only library, so that
``device = "cuda" if tg.cuda.is_available() else "cpu"`` picks the CPU."""

from __future__ import annotations

__all__ = ["device_count", "is_available", "manual_seed", "manual_seed_all"]


def is_available() -> bool:
    """False: tapegrad has no GPU backend."""
    return False


def device_count() -> int:
    """0: no CUDA devices."""
    return 0


def manual_seed(seed: int) -> None:
    """Accepted and ignored (no CUDA generator to seed); use ``tapegrad.manual_seed``."""
    int(seed)


def manual_seed_all(seed: int) -> None:
    """Accepted and ignored, as :func:`manual_seed`."""
    int(seed)


def __dir__() -> list[str]:
    return sorted(__all__)
