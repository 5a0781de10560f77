"""The device API with PyTorch's spelling. tapegrad runs on CPUs only: ``"cpu"`` is the
one device, and asking for another (``"cuda"``, ``"mps"``...) raises one clear error.
Scripts written for PyTorch that pick ``"cuda" if torch.cuda.is_available() else "cpu"``
therefore run unchanged."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, TypeVar

from ._errors import ArgumentError

__all__ = ["device", "get_default_device", "set_default_device"]

_OTHER_BACKENDS = ("cuda", "mps", "xpu", "xla", "meta", "hip", "vulkan", "mtia", "hpu")


class device:
    """A device: ``tapegrad.device("cpu")``, ``device("cpu:0")`` or ``device("cpu", 0)``.

    Raises:
        ArgumentError: For any device but the CPU (tapegrad has no GPU backend).
    """

    __slots__ = ("_index",)
    _index: int | None

    def __init__(self, type: Any, index: int | None = None) -> None:
        if isinstance(type, device):
            self._index = type._index if index is None else index
            return
        if isinstance(type, int) and not isinstance(type, bool):
            raise _not_cpu(f"device ordinal {type}")
        if not isinstance(type, str):
            raise ArgumentError(
                f"device: expected a string such as 'cpu', got {type!r}"
            )
        name, _, ordinal = type.strip().partition(":")
        if name != "cpu":
            raise _not_cpu(type)
        if ordinal:
            if index is not None:
                raise ArgumentError(f"device: {type!r} already names an index")
            if not ordinal.isdigit():
                raise ArgumentError(f"device: invalid device string {type!r}")
            index = int(ordinal)
        if index not in (None, 0):
            raise ArgumentError(
                f"device: there is only one CPU device, got index {index}"
            )
        self._index = index

    @property
    def type(self) -> str:
        """Always ``"cpu"``."""
        return "cpu"

    @property
    def index(self) -> int | None:
        """The index given (None or 0)."""
        return self._index

    def __repr__(self) -> str:
        if self._index is None:
            return "device(type='cpu')"
        return f"device(type='cpu', index={self._index})"

    def __str__(self) -> str:
        return "cpu" if self._index is None else f"cpu:{self._index}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except ArgumentError:
                return False
        return isinstance(other, device) and other._index == self._index

    def __hash__(self) -> int:
        return hash(("cpu", self._index))

    def __reduce__(self) -> tuple[Any, ...]:
        return (device, ("cpu", self._index))


def _not_cpu(what: str) -> ArgumentError:
    return ArgumentError(
        f"device {what!r} is not available: tapegrad runs on CPUs only "
        "(use 'cpu'; tapegrad.cuda.is_available() is False)"
    )


CPU = device("cpu")


def as_device(obj: Any) -> device:
    """Reads a ``device=`` argument: None (the default device), a string or a device."""
    return CPU if obj is None else device(obj)


def set_default_device(device_: Any) -> None:
    """Sets the device factories use: only ``"cpu"`` (or None) is accepted."""
    as_device(device_)


def get_default_device() -> device:
    """The default device: always the CPU."""
    return CPU


def _is_device_like(obj: Any) -> bool:
    if isinstance(obj, device):
        return True
    if isinstance(obj, int) and not isinstance(obj, bool):
        return True  # a CUDA ordinal, as PyTorch's tensor.to(0)
    if isinstance(obj, str):
        name = obj.partition(":")[0]
        return name == "cpu" or name in _OTHER_BACKENDS
    return False


def to_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The dtype a ``Tensor.to(...)`` call asks for (None: keep), after checking any
    device: ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other)``,
    ``to(device=..., dtype=...)``; ``non_blocking``, ``copy`` and ``memory_format`` are
    accepted (tapegrad copies on every conversion anyway)."""
    unknown = set(kwargs) - {"dtype", "device", "non_blocking", "copy", "memory_format"}
    if unknown:
        raise ArgumentError(f"to() got unexpected keyword arguments {sorted(unknown)}")
    dtype = kwargs.get("dtype")
    as_device(kwargs.get("device"))
    rest = list(args)
    if rest and _is_device_like(rest[0]):
        as_device(rest.pop(0))
    if rest:
        first = rest.pop(0)
        if (
            hasattr(first, "dtype")
            and hasattr(first, "shape")
            and not hasattr(first, "itemsize")
        ):
            dtype = first.dtype  # to(other_tensor)
        else:
            dtype = first
    if len(rest) > 2 or any(not isinstance(a, bool) for a in rest):
        raise ArgumentError(
            "to() takes a device and/or a dtype (or a tensor), then non_blocking and "
            f"copy flags; got {args!r}"
        )
    return dtype


F = TypeVar("F", bound=Callable[..., Any])


def accepts_device(factory: F) -> F:
    """Adds PyTorch's ``device=`` keyword to a factory: checked, then dropped."""

    @functools.wraps(factory)
    def wrapper(*args: Any, device: Any = None, **kwargs: Any) -> Any:
        as_device(device)
        return factory(*args, **kwargs)

    signature = inspect.signature(factory)
    params = list(signature.parameters.values())
    extra = inspect.Parameter("device", inspect.Parameter.KEYWORD_ONLY, default=None)
    at = next(
        (i for i, p in enumerate(params) if p.kind is inspect.Parameter.VAR_KEYWORD),
        len(params),
    )
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*params[:at], extra, *params[at:]]
    )
    return wrapper  # type: ignore[return-value]
