"""Argument checks shared by ``nn.functional``: a functional given a number, a string or
None where it needs a Tensor raises ``DTypeError`` naming the argument, not an
``AttributeError`` from deep inside."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, TypeVar

import tapegrad as tg
from tapegrad._batched import BatchedTensor
from tapegrad._errors import DTypeError

F = TypeVar("F", bound=Callable[..., Any])


def tensor_arguments(fn: F) -> F:
    """``fn``, checking the arguments annotated ``tg.Tensor`` (or ``tg.Tensor | None``)."""
    params = list(inspect.signature(fn).parameters.values())
    checked = [
        (i, p.name, str(p.annotation).endswith("| None"))
        for i, p in enumerate(params)
        if str(p.annotation) in ("tg.Tensor", "tg.Tensor | None")
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if not checked:
        return fn

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for i, name, optional in checked:
            if i < len(args):
                value = args[i]
            elif name in kwargs:
                value = kwargs[name]
            else:
                continue  # missing: Python's own TypeError when fn is called
            tensor = isinstance(value, (tg.Tensor, BatchedTensor))  # vmap passes the latter
            if not tensor and not (optional and value is None):
                raise DTypeError(
                    f"{fn.__name__}: argument '{name}' must be a Tensor"
                    f"{' or None' if optional else ''}, got {type(value).__name__}"
                )
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
