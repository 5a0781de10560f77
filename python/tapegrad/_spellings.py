"""NumPy's names for ``dim`` and ``keepdim`` (``axis=``, ``keepdims=``), accepted
wherever PyTorch accepts them: its argument parser maps them for every function and
method with those parameters (``x.max(axis=1)``, ``x.sum(1, keepdims=True)``), and giving
both spellings is a ``TypeError``.

Two layers, one rule. Native methods get the spellings from the binding's
``#[numpy_spellings]`` attribute (no cost when they are not used). The functions written
in Python (``var``, ``cumsum``, ``quantile``...; their Tensor methods dispatch to them)
get them from :func:`install`, called once when the package is imported: it wraps every
public function of the package's modules that has a ``dim`` or ``keepdim`` parameter.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

# PyTorch's parameter name -> the NumPy spelling it also accepts.
SPELLINGS = {"dim": "axis", "keepdim": "keepdims"}


def numpy_spellings(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` accepting ``axis=``/``keepdims=`` for its ``dim``/``keepdim``
    parameters (itself when it has neither, or spells them already)."""
    try:
        own = inspect.signature(function, follow_wrapped=False).parameters
        # a decorator's `(*args, **kwargs)` passes keywords on: what counts is what the
        # function it wraps accepts
        passes_on = any(p.kind is p.VAR_KEYWORD for p in own.values())
        parameters = inspect.signature(function).parameters if passes_on else own
    except (TypeError, ValueError):  # builtins without a signature
        return function
    renames = {
        alias: name
        for name, alias in SPELLINGS.items()
        if name in parameters and alias not in parameters
    }
    if not renames or getattr(function, "__numpy_spellings__", False):
        return function
    op = function.__name__

    @functools.wraps(function)
    def spelled(*args: Any, **kwargs: Any) -> Any:
        if kwargs and not renames.keys().isdisjoint(kwargs):
            for alias, name in renames.items():
                if alias in kwargs:
                    if name in kwargs:
                        raise TypeError(
                            f"{op}() got both {name} and its NumPy spelling {alias}: "
                            "give one of them"
                        )
                    kwargs[name] = kwargs.pop(alias)
        return function(*args, **kwargs)

    spelled.__numpy_spellings__ = True  # type: ignore[attr-defined]
    return spelled


def install(modules: Iterable[ModuleType], namespace: dict[str, Any]) -> None:
    """Wraps the public functions of ``modules`` that take ``dim``/``keepdim`` (see
    :func:`numpy_spellings`), in their module (where the Tensor methods find them) and
    in ``namespace`` (the package's) where it holds the same function."""
    for module in modules:
        for name, function in list(vars(module).items()):
            if name.startswith("_") or not inspect.isfunction(function):
                continue
            spelled = numpy_spellings(function)
            if spelled is function:
                continue
            setattr(module, name, spelled)
            if namespace.get(name) is function:
                namespace[name] = spelled
