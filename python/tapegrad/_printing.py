"""How tensors print: PyTorch's layout and rules, under ``set_printoptions``.

``repr(tensor)`` (and ``str``) is ``tensor(<elements>, <suffixes>)`` as in PyTorch:
elements share one width and one style chosen from the nonzero finite values (integers
with a trailing ``.`` for floating tensors, ``precision`` digits, or scientific notation
when the magnitudes span more than 1000x, exceed 1e8 or go below 1e-4); tensors of more
than ``threshold`` elements show ``edgeitems`` at each end of every dimension around
``...``; rows wrap at ``linewidth``; suffixes name a dtype other than the default float,
int64 and bool, and ``grad_fn=<...>`` or ``requires_grad=True``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ._errors import ArgumentError

__all__ = ["get_printoptions", "set_printoptions"]


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


_PROFILES: dict[str, dict[str, Any]] = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}
_OPTIONS = _PrintOptions()


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Sets how tensors print, as ``torch.set_printoptions``.

    Args:
        precision: Digits after the decimal point (default 4).
        threshold: Elements above which a tensor is summarised with ``...`` (1000).
        edgeitems: Elements shown at each end of a summarised dimension (3).
        linewidth: Characters per line before wrapping (80).
        profile: ``"default"``, ``"short"`` or ``"full"`` (never summarise), applied
            first; the other arguments then override it.
        sci_mode: True for scientific notation, False for fixed point; None (also when
            omitted, as in PyTorch) lets the values decide.
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ArgumentError(
                f"set_printoptions: profile must be one of {sorted(_PROFILES)}, "
                f"got {profile!r}"
            )
        for name, value in _PROFILES[profile].items():
            setattr(_OPTIONS, name, value)
    given = {
        "precision": precision,
        "threshold": threshold,
        "edgeitems": edgeitems,
        "linewidth": linewidth,
    }
    for name, value in given.items():
        if value is not None:
            if value < 0:
                raise ArgumentError(
                    f"set_printoptions: {name} must be >= 0, got {value}"
                )
            setattr(_OPTIONS, name, value)
    _OPTIONS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The current options, as keyword arguments for :func:`set_printoptions`."""
    return dataclasses.asdict(_OPTIONS)


class _Formatter:
    """One width and one style for every element of a tensor, chosen from ``values``
    (the elements that will be shown)."""

    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        flat = values.reshape(-1)
        if not self.floating:
            self.width = max([1] + [len(f"{v}") for v in flat.tolist()])
            return
        shown = flat[np.isfinite(flat) & (flat != 0)]
        if shown.size == 0:
            return  # nothing to measure: the defaults (PyTorch ignores sci_mode here)
        magnitudes = np.abs(shown.astype(np.float64))
        smallest, largest = float(magnitudes.min()), float(magnitudes.max())
        self.int_mode = bool(np.all(shown == np.ceil(shown)))
        if _OPTIONS.sci_mode is None:
            self.sci_mode = (
                largest / smallest > 1000.0 or largest > 1.0e8 or (smallest < 1.0e-4)
            )
        else:
            self.sci_mode = _OPTIONS.sci_mode
        digits = _OPTIONS.precision
        if self.sci_mode:
            texts = [f"{v:.{digits}e}" for v in shown.tolist()]
        elif self.int_mode:
            texts = [f"{v:.0f}." for v in shown.tolist()]  # the "." marks a float
        else:
            texts = [f"{v:.{digits}f}" for v in shown.tolist()]
        self.width = max(len(t) for t in texts)

    def format(self, value: Any) -> str:
        if not self.floating:
            text = f"{value}"
        elif self.sci_mode:
            text = f"{value:{self.width}.{_OPTIONS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + (
                "" if math.isinf(value) or math.isnan(value) else "."
            )
        else:
            text = f"{value:.{_OPTIONS.precision}f}"
        return text.rjust(self.width)


def _summarised(values: np.ndarray) -> np.ndarray:
    """The elements a summarised print shows (``edgeitems`` at each end of each dim)."""
    edge = _OPTIONS.edgeitems
    if values.ndim == 0:
        return values
    if values.ndim == 1:
        if len(values) > 2 * edge:
            return np.concatenate((values[:edge], values[-edge:]))
        return values
    if not edge:
        return np.empty([0] * values.ndim, dtype=values.dtype)
    rows = range(len(values))
    if len(values) > 2 * edge:
        rows = [*range(edge), *range(len(values) - edge, len(values))]  # type: ignore[assignment]
    return np.stack([_summarised(values[i]) for i in rows])


def _vector_text(
    values: np.ndarray, indent: int, summarise: bool, formatter: _Formatter
) -> str:
    edge = _OPTIONS.edgeitems
    per_line = max(1, math.floor((_OPTIONS.linewidth - indent) / (formatter.width + 2)))
    if summarise and not edge:
        items = ["..."]
    elif summarise and len(values) > 2 * edge:
        items = [formatter.format(v) for v in values[:edge].tolist()]
        items += [" ..."] + [formatter.format(v) for v in values[-edge:].tolist()]
    else:
        items = [formatter.format(v) for v in values.tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _elements_text(
    values: np.ndarray, indent: int, summarise: bool, formatter: _Formatter
) -> str:
    if values.ndim == 0:
        return formatter.format(values.item())
    if values.ndim == 1:
        return _vector_text(values, indent, summarise, formatter)
    edge = _OPTIONS.edgeitems
    if summarise and len(values) > 2 * edge:
        head = [
            _elements_text(values[i], indent + 1, summarise, formatter)
            for i in range(edge)
        ]
        tail = [
            _elements_text(values[i], indent + 1, summarise, formatter)
            for i in range(len(values) - edge, len(values))
        ]
        parts = [*head, "...", *tail]
    else:
        parts = [
            _elements_text(row, indent + 1, summarise, formatter) for row in values
        ]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _with_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """Appends ``, suffix`` to ``text``, starting a new line where one would pass
    ``linewidth``."""
    pieces = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > _OPTIONS.linewidth:
            pieces.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            pieces.append(", " + suffix)
            last_line += len(suffix) + 2
    return "".join(pieces) + ")"


def tensor_repr(tensor: Any) -> str:
    """``repr(tensor)``, as PyTorch prints it under the current print options."""
    from . import _native
    from .nn.parameter import Parameter

    plain = type(tensor) in (_native.Tensor, Parameter)
    prefix = "tensor(" if plain else f"{type(tensor).__name__}("
    indent = len(prefix)
    dtype = tensor.dtype
    default = _native.get_default_dtype()
    suffixes = []
    dtype_suffix = f"dtype=tapegrad.{dtype.name}"
    if tensor.numel() == 0:
        if tensor.ndim != 1:
            suffixes.append(f"size={tuple(tensor.shape)}")
        if dtype != default:
            suffixes.append(dtype_suffix)
        body = "[]"
    else:
        if not _OPTIONS.edgeitems:
            suffixes.append(f"size={tuple(tensor.shape)}")
        if dtype not in (default, _native.int64, _native.bool):
            suffixes.append(dtype_suffix)
        values = tensor.detach().numpy()
        summarise = values.size > _OPTIONS.threshold
        formatter = _Formatter(_summarised(values) if summarise else values)
        body = _elements_text(values, indent, summarise, formatter)
    if tensor.grad_fn is not None:
        suffixes.append(f"grad_fn=<{tensor.grad_fn.name()}>")
    elif tensor.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent)
