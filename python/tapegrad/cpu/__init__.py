"""``tapegrad.cpu``: PyTorch's CPU device module (the one device tapegrad has)."""

from __future__ import annotations

from typing import Any

from . import amp

__all__ = ["amp", "current_device", "device_count", "is_available", "synchronize"]


def is_available() -> bool:
    """True: tapegrad runs on the CPU."""
    return True


def device_count() -> int:
    """1: the CPU."""
    return 1


def current_device() -> str:
    """``"cpu"``."""
    return "cpu"


def synchronize(device: Any = None) -> None:
    """Nothing to wait for: CPU ops finish before they return."""


def __dir__() -> list[str]:
    return sorted(__all__)
