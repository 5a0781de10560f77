"""``Module``: the base class of layers and models, and ``Parameter``.

A module owns parameters (leaf tensors that require grad), buffers (other tensors that
belong to its state) and sub-modules, all registered by plain attribute assignment, as
in PyTorch::

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(2, 16)  # a sub-module
            self.scale = nn.Parameter(tg.ones(1))  # a parameter

        def forward(self, x):
            return self.hidden(x).tanh() * self.scale

A ``Parameter`` assigned to an attribute becomes a parameter; so does any other leaf
tensor that requires grad (tapegrad's ``Parameter`` used to be a function returning
one). Tensors that should not be trained go through ``register_buffer``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

import tapegrad as tg
from tapegrad import _native
from tapegrad._creation import _dtype_name
from tapegrad._errors import DTypeError, ShapeError, TapegradError

from .parameter import Parameter

__all__ = ["IncompatibleKeys", "Module", "Parameter", "StateDictError"]


# The labels of the module calls under way on this thread, outermost first.
_labels = threading.local()


class StateDictError(TapegradError, KeyError):
    """A state dict whose keys do not match the module's (missing or unexpected)."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ""


StateDictError.__module__ = "tapegrad.nn"


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` could not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _is_parameter_like(value: Any) -> bool:
    return isinstance(value, Parameter) or (
        isinstance(value, tg.Tensor) and value.is_leaf and value.requires_grad
    )


class Module:
    """Base class of every layer and model; subclasses define ``forward``."""

    training: bool

    def __init__(self) -> None:
        # object.__setattr__: our own __setattr__ needs these dictionaries to exist.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; every subclass overrides it."""
        raise NotImplementedError(
            f"{type(self).__name__} has no forward(): subclasses of Module define it"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Label the nodes this call records with the module's path (``Sequential.0``), so
        # that tapegrad.memory_bill can total what each module keeps for backward.
        outer = getattr(_labels, "stack", None)
        if outer is None:
            outer = _labels.stack = []
        name = self.__dict__.get("_module_name") or type(self).__name__
        label = f"{outer[-1]}.{name}" if outer else name
        outer.append(label)
        _native._push_label(label)
        try:
            return self.forward(*args, **kwargs)
        finally:
            _native._pop_label()
            outer.pop()

    # ---- registration

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() was called "
                f"(call super().__init__() first in {type(self).__name__}.__init__)"
            )
        if isinstance(value, Module):
            self.add_module(name, value)
        elif name in self._buffers:
            self.register_buffer(name, value)
        elif name in self._parameters or _is_parameter_like(value):
            self.register_parameter(name, value)
        elif name in self._modules:
            if value is not None:
                raise DTypeError(
                    f"cannot assign {type(value).__name__} as child module {name!r} "
                    f"(a Module or None is required)"
                )
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: parameters, buffers, sub-modules.
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute {name!r}"
        )

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        extra = [*self._parameters, *self._buffers, *self._modules]
        return sorted(set(super().__dir__()) | set(extra))

    def register_parameter(self, name: str, param: tg.Tensor | None) -> None:
        """Adds a parameter: a leaf tensor (or None, a declared but absent one)."""
        self._check_name(name)
        if param is not None:
            if not isinstance(param, tg.Tensor):
                raise DTypeError(
                    f"cannot assign {type(param).__name__} as parameter {name!r} "
                    f"(a tapegrad.Tensor or None is required)"
                )
            if not param.is_leaf:
                raise DTypeError(
                    f"cannot assign a non-leaf tensor (grad_fn={param.grad_fn}) as "
                    f"parameter {name!r}: parameters must be leaves; use "
                    f"nn.Parameter(t) or t.detach() to make one"
                )
        self._buffers.pop(name, None)
        self._modules.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: tg.Tensor | None) -> None:
        """Adds a buffer: a tensor of the module's state that is not trained."""
        self._check_name(name)
        if tensor is not None and not isinstance(tensor, tg.Tensor):
            raise DTypeError(
                f"cannot assign {type(tensor).__name__} as buffer {name!r} "
                f"(a tapegrad.Tensor or None is required)"
            )
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers[name] = tensor

    def add_module(self, name: str, module: Module | None) -> None:
        """Adds a sub-module under ``name``."""
        self._check_name(name)
        if module is not None and not isinstance(module, Module):
            raise DTypeError(f"{type(module).__name__} is not a Module")
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._modules[name] = module
        if module is not None:
            object.__setattr__(module, "_module_name", name)

    def _check_name(self, name: str) -> None:
        """Refuses bad names; a plain attribute of that name is replaced."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"invalid name {name!r}: a non-empty str without '.'")
        if hasattr(type(self), name):
            raise KeyError(
                f"cannot register {name!r}: {type(self).__name__} has a "
                f"method or class attribute of that name"
            )
        self.__dict__.pop(name, None)  # it would hide the registered value

    # ---- traversal

    def named_modules(
        self, prefix: str = "", memo: set[int] | None = None
    ) -> Iterator[tuple[str, Module]]:
        """This module and all below it, each once, with dotted names."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(
                    f"{prefix}.{name}" if prefix else name, memo
                )

    def modules(self) -> Iterator[Module]:
        """This module and all below it."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their names."""
        seen: set[int] = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
        for _, child in self.named_children():
            yield child

    def _named_members(
        self, registry: str, prefix: str, recurse: bool
    ) -> Iterator[tuple[str, tg.Tensor]]:
        seen: set[int] = set()  # shared tensors are listed once, as in PyTorch
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, tg.Tensor]]:
        """The parameters with dotted names (``"0.weight"``), each listed once."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[tg.Tensor]:
        """The parameters, each listed once: what an optimiser takes."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, tg.Tensor]]:
        """The buffers with dotted names."""
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[tg.Tensor]:
        """The buffers."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Calls ``fn`` on every sub-module, then on this one; returns ``self``."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients

    def train(self, mode: bool = True) -> Module:
        """Sets training mode (``Dropout`` active) here and below; returns ``self``."""
        if not isinstance(mode, bool):
            raise DTypeError(f"train(mode) expects a bool, got {type(mode).__name__}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Sets evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Turns gradient recording of every parameter on or off; returns ``self``."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Resets the parameters' ``.grad``: to None (default) or to zeros."""
        for param in self.parameters():
            if param.grad is not None:
                param.grad = None if set_to_none else tg.zeros_like(param)

    # ---- dtype

    def to(self, dtype: Any) -> Module:
        """Converts parameters and buffers to ``dtype``; returns ``self``.

        Tensors cannot change dtype in place, so parameters whose dtype changes are
        replaced by new leaves: create the optimiser after calling this.
        """
        target = tg.float64 if _dtype_name(dtype) == "float64" else tg.float32
        for module in self.modules():
            for registry in (module._parameters, module._buffers):
                for name, value in registry.items():
                    if value is None or value.dtype == target:
                        continue
                    converted = value.detach().to(target)
                    if isinstance(value, Parameter):
                        converted = Parameter(converted, value.requires_grad)
                    elif value.requires_grad:
                        converted.requires_grad_(True)
                    registry[name] = converted
        return self

    def double(self) -> Module:
        """Converts parameters and buffers to float64."""
        return self.to(tg.float64)

    def float(self) -> Module:
        """Converts parameters and buffers to float32."""
        return self.to(tg.float32)

    # ---- state

    def state_dict(self, prefix: str = "") -> OrderedDict[str, tg.Tensor]:
        """Every parameter and buffer by dotted name, as detached tensors.

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
        """Every parameter and buffer by dotted name; a module used twice (tied
        weights) appears under each of its names, as in PyTorch."""
        for registry in (self._parameters, self._buffers):
            for key, value in registry.items():
                if value is not None:
                    yield (f"{prefix}.{key}" if prefix else key), value
        for name, child in self._modules.items():
            if child is not None:
                yield from child._state_tensors(f"{prefix}.{name}" if prefix else name)

    # ---- printing

    def extra_repr(self) -> str:
        """The layer's settings, shown inside its parentheses by ``repr``."""
        return ""

    def __repr__(self) -> str:
        lines = [line for line in self.extra_repr().split("\n") if line]
        for name, child in self._modules.items():
            child_lines = repr(child).split("\n")
            lines.append(f"({name}): " + "\n  ".join(child_lines))
        if not lines:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and not self._modules:
            return f"{type(self).__name__}({lines[0]})"
        body = "\n  ".join(lines)
        return f"{type(self).__name__}(\n  {body}\n)"


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
