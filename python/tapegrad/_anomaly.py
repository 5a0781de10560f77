"""Anomaly mode, as ``torch.autograd.detect_anomaly`` and ``set_detect_anomaly``.

While it is on, every recorded node keeps the Python stack of the op that created it, and a
backward whose rule returns NaN fails at once with a ``GraphError`` naming the node
(``Function 'LogBackward' returned nan values in its 0th output.``) followed by that stack.
Off by default; off, it costs nothing but one flag read per recorded node.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, TypeVar

from . import _native

__all__ = [
    "detect_anomaly",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "set_detect_anomaly",
]

F = TypeVar("F", bound=Callable[..., Any])

is_anomaly_enabled = _native._is_anomaly_enabled
is_anomaly_check_nan_enabled = _native._is_anomaly_check_nan_enabled


class set_detect_anomaly:
    """Sets anomaly mode now (for the process); as a context manager, restores it on exit.

    Args:
        mode: Turn anomaly mode on (True) or off (False).
        check_nan: Fail on the first rule that returns NaN (default True).
    """

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._previous = (is_anomaly_enabled(), is_anomaly_check_nan_enabled())
        _native._set_anomaly_enabled(bool(mode), bool(check_nan))

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _native._set_anomaly_enabled(*self._previous)


class detect_anomaly:
    """Context manager and decorator that turns anomaly mode on inside it.

    It slows every op down (each records its Python stack): use it to find the op whose
    gradient is NaN, then turn it off again, as PyTorch advises.

    Args:
        check_nan: Fail on the first rule that returns NaN (default True).
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self._previous: list[tuple[bool, bool]] = []

    def __enter__(self) -> None:
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and "
            "should only be enabled for debugging.",
            stacklevel=2,
        )
        self._previous.append((is_anomaly_enabled(), is_anomaly_check_nan_enabled()))
        _native._set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *exc: object) -> None:
        _native._set_anomaly_enabled(*self._previous.pop())

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
