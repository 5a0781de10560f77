"""``tapegrad.backends.cudnn``: PyTorch's cuDNN switches, for a CPU-only library.

``is_available()`` is False; ``benchmark``, ``deterministic``, ``enabled`` and
``allow_tf32`` are plain module attributes that scripts may set (they change nothing:
there is no cuDNN to configure; tapegrad's CPU kernels are deterministic already).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "allow_tf32",
    "benchmark",
    "deterministic",
    "enabled",
    "is_acceptable",
    "is_available",
    "version",
]

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """False: tapegrad is not built with cuDNN."""
    return False


def version() -> None:
    """None: no cuDNN library."""


def is_acceptable(tensor: Any) -> bool:
    """False: cuDNN cannot take any tapegrad tensor."""
    return False


def __dir__() -> list[str]:
    return sorted(__all__)
