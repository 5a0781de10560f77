"""Measuring one gradient against its weight: the rows of tapegrad.diagnostics."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._errors import ArgumentError, DTypeError
from ._native import Tensor

VANISHING = 1e-7
EXPLODING = 1e3


@dataclass(frozen=True)
class FlowRow:
    """The gradient of one parameter, or of all the parameters of one module."""

    name: str
    """The parameter's name (``"0.weight"``) or the module's path (``"0"``)."""
    kind: str
    """The module's class name for module rows, ``"parameter"`` for parameters."""
    numel: int
    grad_norm: float | None
    """2-norm of the gradient; None if no gradient reached it."""
    weight_norm: float
    lr: float | None
    vanishing: bool
    exploding: bool
    nonfinite: bool
    """The gradient holds a NaN or an infinity."""

    @property
    def ratio(self) -> float:
        """``‖g‖ / ‖w‖``: NaN without a gradient, inf for a gradient on zero weights."""
        if self.grad_norm is None:
            return math.nan
        if self.weight_norm == 0:
            return 0.0 if self.grad_norm == 0 else math.inf
        return self.grad_norm / self.weight_norm

    @property
    def update_ratio(self) -> float | None:
        """``lr·‖g‖ / ‖w‖``, the relative size of a plain gradient step (None without lr)."""
        return None if self.lr is None else self.lr * self.ratio

    @property
    def flags(self) -> tuple[str, ...]:
        """The names of the flags raised (``"vanishing"``, ``"exploding"``, ...)."""
        if self.grad_norm is None:
            return ("no gradient",)
        names = ("vanishing", "exploding", "nonfinite")
        return tuple(name for name in names if getattr(self, name))


Measured = tuple[float | None, float, int, bool]
"""(‖g‖ or None, ‖w‖, numel, non-finite)"""


def measure(grad: Tensor | None, weight: Tensor) -> Measured:
    """Norms of one gradient and its weight, in float64."""
    w = weight.detach().__array__(copy=True).astype(np.float64, copy=False)
    weight_norm = float(np.linalg.norm(w.ravel()))
    if grad is None:
        return None, weight_norm, w.size, False
    g = grad.detach().__array__(copy=True).astype(np.float64, copy=False).ravel()
    finite = bool(np.isfinite(g).all())
    return float(np.linalg.norm(g)), weight_norm, w.size, not finite


def pool_by_module(measured: Iterable[tuple[str, Measured]]) -> dict[str, Measured]:
    """Pools parameters by the module holding them (``0.weight`` -> ``0``)."""
    pooled: dict[str, list[Measured]] = {}
    for name, m in measured:
        pooled.setdefault(name.rpartition(".")[0], []).append(m)
    result = {}
    for path, items in pooled.items():
        grads = [g for g, _, _, _ in items if g is not None]
        result[path] = (
            math.sqrt(sum(g * g for g in grads)) if grads else None,
            math.sqrt(sum(w * w for _, w, _, _ in items)),
            sum(n for _, _, n, _ in items),
            any(bad for _, _, _, bad in items),
        )
    return result


def flow_row(
    name: str, kind: str, m: Measured, limits: tuple[float | None, float, float]
) -> FlowRow:
    """A row with its flags raised by the thresholds in ``limits`` (lr, vanishing,
    exploding)."""
    grad_norm, weight_norm, numel, nonfinite = m
    lr, vanishing, exploding = limits
    scale = weight_norm if weight_norm > 0 else 1.0
    judged = grad_norm is not None and not nonfinite
    return FlowRow(
        name,
        kind,
        numel,
        grad_norm,
        weight_norm,
        lr,
        vanishing=judged and grad_norm <= vanishing * scale,  # type: ignore[operator]
        exploding=judged and grad_norm >= exploding * scale,  # type: ignore[operator]
        nonfinite=nonfinite,
    )


def check_thresholds(
    lr: float | None, vanishing: float, exploding: float
) -> tuple[float | None, float, float]:
    """Validated ``(lr, vanishing, exploding)`` as floats."""
    if lr is not None and not lr > 0:
        raise ArgumentError(f"lr must be positive, got {lr}")
    if not 0 <= vanishing < exploding:
        raise ArgumentError(
            f"thresholds must satisfy 0 <= vanishing < exploding, got "
            f"vanishing={vanishing}, exploding={exploding}"
        )
    return (None if lr is None else float(lr)), float(vanishing), float(exploding)


def named_parameters(model: Any, caller: str) -> tuple[list[tuple[str, Tensor]], dict]:
    """``(name, parameter)`` pairs that require grad, and module paths' class names."""
    kinds: dict[str, str] = {}
    if hasattr(model, "named_parameters") and hasattr(model, "named_modules"):
        kinds = {path: type(m).__name__ for path, m in model.named_modules()}
        pairs = list(model.named_parameters())
    elif isinstance(model, Mapping):
        pairs = list(model.items())
    elif isinstance(model, Iterable) and not isinstance(model, (str, Tensor)):
        pairs = list(model)
    else:
        raise DTypeError(
            f"{caller}: expected an nn.Module, a mapping of names to tensors or "
            f"(name, tensor) pairs, got {type(model).__name__}"
        )
    for item in pairs:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise DTypeError(f"{caller}: expected (name, tensor) pairs, got {item!r}")
        if not isinstance(item[0], str) or not isinstance(item[1], Tensor):
            raise DTypeError(
                f"{caller}: expected (name, tensor) pairs, got "
                f"({type(item[0]).__name__}, {type(item[1]).__name__})"
            )
    named = [(n, p) for n, p in pairs if p.requires_grad]
    if not named:
        raise ArgumentError(f"{caller}: no parameters that require grad")
    return named, kinds
