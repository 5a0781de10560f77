"""``tapegrad.cuda``: PyTorch's CUDA queries, answered for a CPU-only library, so that
``device = "cuda" if tg.cuda.is_available() else "cpu"`` picks the CPU.

As PyTorch on a machine without a GPU: the queries and the memory statistics answer
(False, 0, empty), ``empty_cache()`` does nothing, and what needs a device
(``synchronize()``, ``current_device()``, ``get_device_name()``...) raises the device
error (an ``ArgumentError``, a ``ValueError``). ``tapegrad.cuda.amp`` holds the
deprecated spellings of ``tapegrad.amp``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from .._device import _not_cpu

__all__ = [
    "amp",
    "current_device",
    "device_count",
    "empty_cache",
    "get_device_capability",
    "get_device_name",
    "init",
    "ipc_collect",
    "is_available",
    "is_initialized",
    "manual_seed",
    "manual_seed_all",
    "max_memory_allocated",
    "max_memory_reserved",
    "memory_allocated",
    "memory_reserved",
    "memory_stats",
    "reset_peak_memory_stats",
    "set_device",
    "synchronize",
]


def is_available() -> bool:
    """False: tapegrad has no GPU backend."""
    return False


def device_count() -> int:
    """0: no CUDA devices."""
    return 0


def is_initialized() -> bool:
    """False: there is no CUDA state to initialise."""
    return False


def manual_seed(seed: int) -> None:
    """Accepted and ignored (no CUDA generator to seed); use ``tapegrad.manual_seed``."""
    int(seed)


def manual_seed_all(seed: int) -> None:
    """Accepted and ignored, as :func:`manual_seed`."""
    int(seed)


def empty_cache() -> None:
    """Nothing to release: no CUDA caching allocator (PyTorch's no-op without a GPU)."""


def memory_allocated(device: Any = None) -> int:
    """0 bytes of CUDA memory (``tapegrad.memory`` reports the CPU's)."""
    return 0


def max_memory_allocated(device: Any = None) -> int:
    """0 bytes, as :func:`memory_allocated`."""
    return 0


def memory_reserved(device: Any = None) -> int:
    """0 bytes: no CUDA caching allocator."""
    return 0


def max_memory_reserved(device: Any = None) -> int:
    """0 bytes, as :func:`memory_reserved`."""
    return 0


def memory_stats(device: Any = None) -> OrderedDict[str, Any]:
    """No statistics: an empty ordered dict, as PyTorch without a GPU."""
    return OrderedDict()


def _no_device(what: str) -> ValueError:
    return _not_cpu(f"cuda ({what} needs a CUDA device)")


def reset_peak_memory_stats(device: Any = None) -> None:
    """Raises: there is no CUDA device whose statistics to reset."""
    raise _no_device("reset_peak_memory_stats")


def synchronize(device: Any = None) -> None:
    """Raises: there is no CUDA device to wait for."""
    raise _no_device("synchronize")


def current_device() -> int:
    """Raises: there is no current CUDA device."""
    raise _no_device("current_device")


def set_device(device: Any) -> None:
    """Raises: there is no CUDA device to select."""
    raise _no_device("set_device")


def get_device_name(device: Any = None) -> str:
    """Raises: there is no CUDA device to name."""
    raise _no_device("get_device_name")


def get_device_capability(device: Any = None) -> tuple[int, int]:
    """Raises: there is no CUDA device."""
    raise _no_device("get_device_capability")


def init() -> None:
    """Raises: CUDA cannot be initialised."""
    raise _no_device("init")


def ipc_collect() -> None:
    """Raises: there is no CUDA device."""
    raise _no_device("ipc_collect")


def __dir__() -> list[str]:
    return sorted(__all__)


from . import amp  # noqa: E402
