"""State dicts of modules: ``state_dict`` and ``load_state_dict`` (a base of ``Module``)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

import tapegrad as tg
from tapegrad._errors import DTypeError, ShapeError, TapegradError

if TYPE_CHECKING:
    from .module import Module

__all__ = ["IncompatibleKeys", "StateDictError"]


class StateDictError(TapegradError, KeyError):
    """A state dict whose keys do not match the module's (missing or unexpected)."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ""


StateDictError.__module__ = "tapegrad.nn"


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` could not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class _StateDict:
    """The state-dict methods of ``Module`` (which owns the registries they read)."""

    _parameters: OrderedDict[str, tg.Tensor | None]
    _buffers: OrderedDict[str, tg.Tensor | None]
    _modules: OrderedDict[str, Module | None]
    _non_persistent_buffers: set[str]

    def state_dict(self, prefix: str = "") -> OrderedDict[str, tg.Tensor]:
        """Every parameter and persistent buffer by dotted name, as detached tensors.

        The tensors are snapshots: later optimiser steps do not change them.
        """
        return OrderedDict(
            (name, value.detach()) for name, value in self._state_tensors(prefix)
        )

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copies values into the parameters and buffers, in place.

        Every key and shape is checked before anything is written, so a failed load
        leaves the module unchanged. Values may be tensors or NumPy arrays; they are
        converted to each parameter's dtype. The parameters stay the same tensor
        objects, so an optimiser built on them remains valid.

        Args:
            state_dict: Dotted names (as ``state_dict()`` gives) to tensors or arrays.
            strict: If True, missing or unexpected keys raise ``StateDictError``
                (a ``KeyError``).

        Returns:
            The missing and unexpected keys (both empty when ``strict``).

        Raises:
            StateDictError: With ``strict``, for missing or unexpected keys; the
                message names them, and any shape mismatches too.
            ShapeError: For values whose shape differs from the target's (all named),
                whatever ``strict``.
        """
        if not isinstance(state_dict, Mapping):
            raise DTypeError(
                f"load_state_dict expects a mapping of names to tensors, got "
                f"{type(state_dict).__name__}"
            )
        own = dict(self._state_tensors())
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        errors = []
        if strict and missing:
            errors.append(f"missing keys {missing}")
        if strict and unexpected:
            errors.append(f"unexpected keys {unexpected}")
        key_trouble = bool(errors)
        updates = []
        for name, target in own.items():
            if name not in state_dict:
                continue
            value = _as_tensor_like(state_dict[name], target, name)
            if tuple(value.shape) != tuple(target.shape):
                errors.append(
                    f"shape mismatch for {name!r}: the state dict has "
                    f"{tuple(value.shape)}, the model {tuple(target.shape)}"
                )
            else:
                updates.append((target, value))
        if errors:
            kind = StateDictError if key_trouble else ShapeError
            raise kind(
                f"error loading a state dict into {type(self).__name__}, nothing was "
                f"changed: " + "; ".join(errors)
            )
        with tg.no_grad():
            for target, value in updates:
                target._assign(value)
        return IncompatibleKeys(missing, unexpected)

    def _state_tensors(self, prefix: str = "") -> Iterator[tuple[str, tg.Tensor]]:
        """Every parameter and persistent buffer by dotted name; a module used twice
        (tied weights) appears under each of its names, as in PyTorch."""
        for registry in (self._parameters, self._buffers):
            for key, value in registry.items():
                if value is not None and key not in self._non_persistent_buffers:
                    yield (f"{prefix}.{key}" if prefix else key), value
        for name, child in self._modules.items():
            if child is not None:
                yield from child._state_tensors(f"{prefix}.{name}" if prefix else name)


def _as_tensor_like(value: Any, target: tg.Tensor, name: str) -> tg.Tensor:
    """``value`` as a tensor of ``target``'s dtype (no gradient)."""
    if isinstance(value, tg.Tensor):
        value = value.detach()
        return value if value.dtype == target.dtype else value.to(target.dtype)
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise DTypeError(
            f"state dict entry {name!r} holds {array.dtype} data, not numbers"
        )
    return tg.tensor(array, dtype=target.dtype)
