"""Grad mode: whether ops record the graph. Per thread, like PyTorch."""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable, TypeVar

from . import _native

__all__ = [
    "enable_grad",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "set_grad_enabled",
]

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


_inference = threading.local()


class inference_mode(_GradMode):
    """``torch.inference_mode``: in tapegrad the same as ``no_grad`` (nothing is
    recorded; tapegrad tensors carry no extra bookkeeping for it to skip).

    Use as ``with tapegrad.inference_mode():``, as ``@tapegrad.inference_mode()`` or
    ``@tapegrad.inference_mode``. ``mode=False`` makes it do nothing.
    """

    def __new__(cls, mode: bool | Callable[..., Any] = True) -> Any:
        if callable(mode):  # used as a bare decorator: @inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        super().__init__()
        self.mode = bool(mode)
        self._enabled = not self.mode

    def __enter__(self) -> None:
        if self.mode:
            super().__enter__()
            _inference.depth = getattr(_inference, "depth", 0) + 1

    def __exit__(self, *exc: object) -> None:
        if self.mode:
            _inference.depth -= 1
            super().__exit__(*exc)

    def __call__(self, fn: F) -> F:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def is_inference_mode_enabled() -> bool:
    """Whether an ``inference_mode()`` block is active in this thread."""
    return getattr(_inference, "depth", 0) > 0
