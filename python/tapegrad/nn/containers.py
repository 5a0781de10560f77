"""Containers: ``Sequential`` and ``ModuleList``."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any, overload

from tapegrad._errors import AxisError, DTypeError

from .module import Module

__all__ = ["ModuleList", "Sequential"]


def _index(position: int, length: int, what: str) -> int:
    if not -length <= position < length:
        raise AxisError(f"{what} index {position} is out of range for length {length}")
    return position % length


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(Linear(2, 8), ReLU())``.

    Also takes an ``OrderedDict`` of named modules. Supports ``len``, iteration,
    integer indexing and slicing (a slice is a new ``Sequential`` sharing the modules).
    """

    @overload
    def __init__(self, *modules: Module) -> None: ...
    @overload
    def __init__(self, modules: OrderedDict[str, Module], /) -> None: ...

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for position, module in enumerate(modules):
                if not isinstance(module, Module):
                    raise DTypeError(
                        f"Sequential: argument {position} is a "
                        f"{type(module).__name__}, not a Module"
                    )
                self.add_module(str(position), module)

    def forward(self, input: Any) -> Any:
        """Passes ``input`` through each module in order."""
        for module in self._modules.values():
            input = module(input)
        return input

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    @overload
    def __getitem__(self, index: int) -> Module: ...
    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Module | Sequential:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[_index(index, len(items), "Sequential")][1]

    def append(self, module: Module) -> Sequential:
        """Adds ``module`` at the end; returns ``self``."""
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules, registered so that their parameters are found."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        for module in modules or ():
            self.append(module)

    def append(self, module: Module) -> ModuleList:
        """Adds ``module`` at the end; returns ``self``."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Adds each module at the end; returns ``self``."""
        for module in modules:
            self.append(module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[_index(index, len(self), "ModuleList")]
