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
from collections.abc import Callable, Iterator
from typing import Any

import tapegrad as tg
from tapegrad import _native
from tapegrad._creation import _dtype_name
from tapegrad._errors import DTypeError

from ._hooks import RemovableHandle, add_hook, call_with_hooks
from ._module_state import IncompatibleKeys, StateDictError, _StateDict
from .parameter import Parameter

__all__ = ["IncompatibleKeys", "Module", "Parameter", "StateDictError"]


# The labels of the module calls under way on this thread, outermost first.
_labels = threading.local()


def _is_parameter_like(value: Any) -> bool:
    return isinstance(value, Parameter) or (
        isinstance(value, tg.Tensor) and value.is_leaf and value.requires_grad
    )


class Module(_StateDict):
    """Base class of every layer and model; subclasses define ``forward``."""

    training: bool

    def __init__(self) -> None:
        # object.__setattr__: our own __setattr__ needs these dictionaries to exist.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())

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
            if self._forward_pre_hooks or self._forward_hooks or self._backward_hooks:
                return call_with_hooks(self, self.forward, args, kwargs)
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
            self.register_buffer(
                name, value, persistent=name not in self._non_persistent_buffers
            )
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
                self._non_persistent_buffers.discard(name)
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

    def register_buffer(
        self, name: str, tensor: tg.Tensor | None, persistent: bool = True
    ) -> None:
        """Adds a buffer: a tensor of the module's state that is not trained.

        A non-``persistent`` buffer is left out of ``state_dict()``.
        """
        self._check_name(name)
        if tensor is not None and not isinstance(tensor, tg.Tensor):
            raise DTypeError(
                f"cannot assign {type(tensor).__name__} as buffer {name!r} "
                f"(a tapegrad.Tensor or None is required)"
            )
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

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

    def register_module(self, name: str, module: Module | None) -> None:
        """Adds a sub-module under ``name`` (``add_module``)."""
        self.add_module(name, module)

    def get_submodule(self, target: str) -> Module:
        """The sub-module at dotted path ``target`` (``""`` is this module).

        Raises:
            AttributeError: Naming the first part of the path that is missing or not
                a module.
        """
        module: Module = self
        if target == "":
            return module
        for part in target.split("."):
            if not hasattr(module, part):
                raise AttributeError(
                    f"{type(module).__name__} has no attribute `{part}` (in "
                    f"get_submodule({target!r}))"
                )
            child = getattr(module, part)
            if not isinstance(child, Module):
                raise AttributeError(f"`{part}` is not an nn.Module")  # noqa: TRY004 (PyTorch)
            module = child
        return module

    # ---- hooks

    def register_forward_pre_hook(
        self,
        hook: Callable[..., Any],
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
    ) -> RemovableHandle:
        """Calls ``hook(module, args)`` before each ``forward``; a non-None result
        replaces the positional arguments (a tuple, or one value). With
        ``with_kwargs``: ``hook(module, args, kwargs)`` returning ``(args, kwargs)``."""
        return add_hook(self._forward_pre_hooks, (hook, with_kwargs), prepend)

    def register_forward_hook(
        self,
        hook: Callable[..., Any],
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
    ) -> RemovableHandle:
        """Calls ``hook(module, args, output)`` after each ``forward``; a non-None
        result replaces the output. With ``with_kwargs``:
        ``hook(module, args, kwargs, output)``."""
        return add_hook(self._forward_hooks, (hook, with_kwargs), prepend)

    def register_full_backward_hook(
        self, hook: Callable[..., Any], prepend: bool = False
    ) -> RemovableHandle:
        """Calls ``hook(module, grad_input, grad_output)`` during backward, once the
        gradients of the module's tensor arguments are computed: ``grad_input`` has
        one entry per tensor argument (None where none is computed), ``grad_output``
        one per output. A non-None result replaces ``grad_input``."""
        return add_hook(self._backward_hooks, hook, prepend)

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
        self,
        memo: set[int] | None = None,
        prefix: str = "",
        remove_duplicate: bool = True,
    ) -> Iterator[tuple[str, Module]]:
        """This module and all below it with dotted names; a module reached twice is
        listed once unless ``remove_duplicate`` is False."""
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(
                    memo, f"{prefix}.{name}" if prefix else name, remove_duplicate
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
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
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
                if set_to_none:
                    param.grad = None
                else:  # in place, as PyTorch: views of .grad (DDP buckets) stay valid
                    if param.grad.grad_fn is not None:
                        param.grad = param.grad.detach()
                    param.grad.zero_()

    # ---- dtype

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Converts parameters and buffers to a dtype; returns ``self``.

        Takes PyTorch's forms: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``,
        ``to(tensor)``, ``to(device=..., dtype=...)``; the device must be the CPU.
        Tensors cannot change dtype in place, so parameters whose dtype changes are
        replaced by new leaves: create the optimiser after calling this.
        """
        from tapegrad._device import to_arguments

        dtype = to_arguments(args, kwargs)
        if dtype is None:
            return self
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

    def half(self) -> Module:
        """Refused: tapegrad has float32 and float64 only.

        Raises:
            DTypeError: Always.
        """
        raise DTypeError(
            f"{type(self).__name__}.half(): tapegrad has float32 and float64 tensors "
            f"only; half precision (float16) is not supported"
        )

    def bfloat16(self) -> Module:
        """Refused: tapegrad has float32 and float64 only.

        Raises:
            DTypeError: Always.
        """
        raise DTypeError(
            f"{type(self).__name__}.bfloat16(): tapegrad has float32 and float64 "
            f"tensors only; bfloat16 is not supported"
        )

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
