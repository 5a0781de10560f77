"""Grad mode: whether ops record the graph. Per thread, like PyTorch."""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from . import _native

__all__ = ["enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled"]

F = TypeVar("F", bound=Callable[..., Any])

is_grad_enabled = _native.is_grad_enabled


class _GradMode:
    """Context manager and decorator that sets grad mode and restores it on exit."""

    _enabled: bool

    def __init__(self) -> None:
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        self._previous.append(_native._set_grad_enabled(self._enabled))

    def __exit__(self, *exc: object) -> None:
        _native._set_grad_enabled(self._previous.pop())

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Turns recording off: results do not require grad and nothing is saved for backward.

    Use as ``with tapegrad.no_grad():`` or as a decorator.
    """

    _enabled = False


class enable_grad(_GradMode):
    """Turns recording back on (inside ``no_grad``). Context manager or decorator."""

    _enabled = True


class set_grad_enabled:
    """Sets grad mode to ``mode`` now; used as a context manager, restores it on exit."""

    def __init__(self, mode: bool) -> None:
        self._previous = _native._set_grad_enabled(bool(mode))

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _native._set_grad_enabled(self._previous)
