"""``tapegrad.autocast``: PyTorch's mixed-precision context, on a library without
float16 or bfloat16.

Autocast runs chosen ops in a lower-precision dtype. tapegrad's tensors are float32 and
float64 only, so there is no dtype to cast to: ``autocast`` is accepted (as a context
manager or a decorator, with PyTorch's signature) and ops run in their own dtype, as
PyTorch does when it disables autocast (an unavailable device, an unsupported dtype).
Like PyTorch then, it warns, once per device type and dtype, that it is disabled.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import ArgumentError

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["autocast", "is_autocast_enabled"]

_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "hpu", "mtia", "xla", "ipu", "meta")
_warned: set[tuple[str, str]] = set()

F = TypeVar("F", bound=Callable[..., Any])


def _dtype_name(dtype: Any) -> str:
    if dtype is None:
        return "the default"
    name = getattr(dtype, "name", None)
    return str(name if name is not None else dtype)


class autocast:  # PyTorch's name (lower case)
    """``with tapegrad.autocast(device_type="cpu", dtype=..., enabled=True):``.

    Args:
        device_type: ``"cpu"`` or another of PyTorch's device types (only the CPU
            exists here).
        dtype: The lower-precision dtype PyTorch would use; tapegrad has none.
        enabled: False turns the context into a silent no-op.
        cache_enabled: Accepted (there is no cast cache).

    Ops inside run in their own dtype (float32 stays float32): see the module notes
    and README "Differences from PyTorch".
    """

    def __init__(
        self,
        device_type: str,
        dtype: Any = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        if not isinstance(device_type, str):
            raise ArgumentError(
                f"autocast: expected a device type string, got {type(device_type).__name__}"
            )
        if device_type not in _DEVICE_TYPES:
            raise ArgumentError(
                f"autocast: expected one of {', '.join(_DEVICE_TYPES)} as the device "
                f"type, got {device_type!r}"
            )
        self.device = device_type
        self.fast_dtype = dtype
        self.fast_enabled = bool(enabled)
        self._cache_enabled = cache_enabled
        if enabled:
            key = (device_type, _dtype_name(dtype))
            if key not in _warned:
                _warned.add(key)
                warnings.warn(
                    f"tapegrad.autocast(device_type={device_type!r}, dtype="
                    f"{_dtype_name(dtype)}) is disabled: tapegrad has no float16 or "
                    "bfloat16 tensors (and no device but the CPU), so ops run in their "
                    "own dtype",
                    UserWarning,
                    stacklevel=2,
                )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Nothing to restore: no dtype state was changed."""

    def __call__(self, function: F) -> F:
        """As a decorator: ``function`` runs inside this context."""

        @functools.wraps(function)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with self:
                return function(*args, **kwargs)

        return wrapped  # type: ignore[return-value]


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """False: autocast never changes a dtype in tapegrad."""
    return False
