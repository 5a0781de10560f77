"""``tapegrad.utils.checkpoint``: gradient checkpointing with PyTorch's signatures.

Thin wrappers over ``tapegrad.checkpoint`` and ``tapegrad.checkpoint_sequential``
(see docs/memory.md): same semantics, PyTorch's argument order, so
``torch.utils.checkpoint`` calls run unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tapegrad import _checkpoint
from tapegrad._errors import ArgumentError, DTypeError

__all__ = ["checkpoint", "checkpoint_sequential"]

# PyTorch keywords that tapegrad's checkpoint has no use for: the one implementation
# re-runs the function inside backward (like use_reentrant=False), restores the random
# state itself (preserve_rng_state=True) and needs no context functions or debug mode.
_ACCEPTED = {
    "preserve_rng_state": True,
    "determinism_check": "default",
    "debug": False,
}


def checkpoint(
    function: Callable[..., Any],
    *args: Any,
    use_reentrant: bool | None = None,
    **kwargs: Any,
) -> Any:
    """Calls ``function(*args)``, keeps only its inputs, and re-runs it in backward.

    As ``torch.utils.checkpoint.checkpoint``. ``use_reentrant`` is accepted either
    way (tapegrad has one implementation, which behaves like ``use_reentrant=False``:
    it differentiates tensors the function closes over, such as parameters, also
    when no input requires grad). ``preserve_rng_state``, ``determinism_check`` and
    ``debug`` are accepted at their defaults (the random state is always restored
    for the re-run).

    Raises:
        ArgumentError: For other keyword arguments, or ``preserve_rng_state=False``.
    """
    _check_options("checkpoint", kwargs)
    return _checkpoint.checkpoint(function, *args)


def checkpoint_sequential(
    functions: Sequence[Callable[[Any], Any]] | Any,
    segments: int,
    input: Any,
    use_reentrant: bool | None = None,
    **kwargs: Any,
) -> Any:
    """Runs ``functions`` (a list of layers or an ``nn.Sequential``) one after the
    other, checkpointing ``segments`` balanced segments of them.

    As ``torch.utils.checkpoint.checkpoint_sequential``: the last segment is not
    checkpointed. For a byte budget or the plan, use ``tapegrad.checkpoint_sequential``.

    Raises:
        DTypeError: If ``functions`` is not a sequence of callables.
        ArgumentError: If ``segments`` is not between 1 and the number of layers.
    """
    _check_options("checkpoint_sequential", kwargs)
    from tapegrad.nn import Sequential

    if isinstance(functions, Sequential):
        functions = list(functions.children())
    elif hasattr(functions, "__iter__"):
        functions = list(functions)
    else:
        raise DTypeError(
            f"checkpoint_sequential: functions must be a list of callables or an "
            f"nn.Sequential, got {type(functions).__name__}"
        )
    if isinstance(segments, bool) or not isinstance(segments, int):
        raise DTypeError(
            f"checkpoint_sequential: segments must be an int, got "
            f"{type(segments).__name__} (PyTorch's order is functions, segments, input)"
        )
    return _checkpoint.checkpoint_sequential(functions, input, segments)


def _check_options(fn: str, kwargs: dict[str, Any]) -> None:
    for name, value in kwargs.items():
        if name not in _ACCEPTED:
            raise ArgumentError(f"{fn}: unexpected keyword argument {name!r}")
        if value != _ACCEPTED[name]:
            raise ArgumentError(
                f"{fn}: {name}={value!r} is not supported; tapegrad's checkpoint "
                f"always behaves as {name}={_ACCEPTED[name]!r}"
            )
