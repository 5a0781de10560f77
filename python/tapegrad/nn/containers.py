"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList`` and
``ParameterDict``."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import (
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from typing import Any, cast, overload

import tapegrad as tg
from tapegrad._errors import AxisError, DTypeError

from .module import Module
from .parameter import Parameter

__all__ = ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "Sequential"]


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
        for module in self:
            input = module(input)
        return input

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        # _modules admits None (a child set to None); containers hold modules only.
        return iter(cast("list[Module]", list(self._modules.values())))

    @overload
    def __getitem__(self, index: int) -> Module: ...
    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Module | Sequential:
        items = cast("list[tuple[str, Module]]", list(self._modules.items()))
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
        # _modules admits None (a child set to None); containers hold modules only.
        return iter(cast("list[Module]", list(self._modules.values())))

    def __getitem__(self, index: int) -> Module:
        return list(self)[_index(index, len(self), "ModuleList")]


class ModuleDict(Module):
    """Modules by name, registered so that their parameters are found; keeps the
    insertion order. Supports ``[key]``, ``in``, ``len``, iteration over the keys,
    ``keys``/``values``/``items``, ``update``, ``pop`` and ``clear``."""

    def __init__(
        self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None
    ) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no module {key!r}")
        return self._modules[key]  # type: ignore[return-value]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise DTypeError(
                f"ModuleDict: {key!r} is a {type(module).__name__}, not a Module"
            )
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> KeysView[str]:
        """The names."""
        return self._modules.keys()

    def values(self) -> ValuesView[Module]:
        """The modules."""
        return self._modules.values()  # type: ignore[return-value]

    def items(self) -> ItemsView[str, Module]:
        """(name, module) pairs."""
        return self._modules.items()  # type: ignore[return-value]

    def update(
        self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]
    ) -> None:
        """Adds (or replaces) each named module."""
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for position, pair in enumerate(pairs):
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise DTypeError(
                    f"ModuleDict.update: element {position} should be a (name, module) "
                    f"pair, got {type(pair).__name__}"
                )
            self[pair[0]] = pair[1]

    def pop(self, key: str) -> Module:
        """Removes ``key`` and returns its module."""
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        """Removes every module."""
        self._modules.clear()


def _as_parameter(value: Any) -> Any:
    """Tensors become ``Parameter``s (as PyTorch's containers do); other values stay."""
    if isinstance(value, tg.Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


class ParameterList(Module):
    """A list of parameters, registered under ``"0"``, ``"1"``, ...; tensors appended
    become ``Parameter``s."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return (self[k] for k in range(self._size))

    def __getitem__(self, index: int) -> Any:
        return getattr(self, str(_index(index, self._size, "ParameterList")))

    def __setitem__(self, index: int, value: Any) -> None:
        setattr(
            self, str(_index(index, self._size, "ParameterList")), _as_parameter(value)
        )

    def append(self, value: Any) -> ParameterList:
        """Adds ``value`` at the end; returns ``self``."""
        self._size += 1
        self[self._size - 1] = value
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Adds each value at the end; returns ``self``."""
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(
            f"({k}): Parameter containing: [{_describe(p)}]" for k, p in enumerate(self)
        )


class ParameterDict(Module):
    """Parameters by name, in insertion order; tensors stored become ``Parameter``s."""

    def __init__(
        self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None
    ) -> None:
        super().__init__()
        object.__setattr__(self, "_keys", [])
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(f"ParameterDict has no parameter {key!r}")
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self._keys:
            self._keys.append(key)
        setattr(self, key, _as_parameter(value))

    def __delitem__(self, key: str) -> None:
        self._keys.remove(key)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._keys))

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def keys(self) -> list[str]:
        """The names, in insertion order."""
        return list(self._keys)

    def values(self) -> list[Any]:
        """The parameters."""
        return [self[k] for k in self._keys]

    def items(self) -> list[tuple[str, Any]]:
        """(name, parameter) pairs."""
        return [(k, self[k]) for k in self._keys]

    def get(self, key: str, default: Any = None) -> Any:
        """The parameter under ``key``, or ``default``."""
        return self[key] if key in self._keys else default

    def pop(self, key: str) -> Any:
        """Removes ``key`` and returns its parameter."""
        value = self[key]
        del self[key]
        return value

    def update(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Adds (or replaces) each named parameter."""
        pairs = parameters.items() if isinstance(parameters, Mapping) else parameters
        for key, value in pairs:
            self[key] = value

    def clear(self) -> None:
        """Removes every parameter."""
        for key in list(self._keys):
            del self[key]

    def extra_repr(self) -> str:
        return "\n".join(
            f"({k}): Parameter containing: [{_describe(p)}]" for k, p in self.items()
        )


def _describe(value: Any) -> str:
    if isinstance(value, tg.Tensor):
        size = "x".join(str(n) for n in value.shape)
        return f"tapegrad.Tensor of size {size} ({value.dtype})"
    return type(value).__name__
