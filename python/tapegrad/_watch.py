"""``tapegrad.diagnostics.watch``: the gradient flow of every backward pass, recorded."""

from __future__ import annotations

import math
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from ._errors import ArgumentError, AxisError
from ._flow import (
    EXPLODING,
    VANISHING,
    FlowRow,
    Measured,
    check_thresholds,
    flow_row,
    measure,
    named_parameters,
    pool_by_module,
)
from ._native import Tensor

if TYPE_CHECKING:
    from .diagnostics import GradFlow

_FLAGS = ("vanishing", "exploding", "nonfinite")


class GradWatch:
    """Gradient norms of every backward pass through a model; made by :func:`watch`.

    A tensor hook on each parameter measures the gradient each backward pass brings it
    (before it is added to ``.grad``, so gradient accumulation does not blur steps) and
    the weight at that moment. A step is one backward pass: it ends when a parameter's
    gradient arrives a second time, or when the record is read.
    """

    def __init__(
        self,
        model: Any,
        lr: float | None = None,
        *,
        vanishing: float = VANISHING,
        exploding: float = EXPLODING,
    ) -> None:
        self._limits = check_thresholds(lr, vanishing, exploding)
        named, self._kinds = named_parameters(model, "watch")
        self._names = [name for name, _ in named]
        self._pending: dict[int, Measured] = {}
        self._steps: list[tuple[list[FlowRow], list[FlowRow]]] = []
        self._first: dict[tuple[str, str], dict[str, int]] = {
            (flag, per): {} for flag in _FLAGS for per in ("module", "param")
        }
        self._handles = [
            param.register_hook(self._hook(index, param))
            for index, (_, param) in enumerate(named)
        ]

    def _hook(self, index: int, param: Tensor) -> Any:
        def record(grad: Tensor) -> None:
            if index in self._pending:  # a new backward pass
                self._close_step()
            self._pending[index] = measure(grad, param)

        return record

    def _close_step(self) -> None:
        if not self._pending:
            return
        measured = [(self._names[i], m) for i, m in sorted(self._pending.items())]
        self._pending = {}
        params = [flow_row(name, "parameter", m, self._limits) for name, m in measured]
        modules = [
            flow_row(path, self._kinds.get(path, "module"), m, self._limits)
            for path, m in pool_by_module(measured).items()
        ]
        step = len(self._steps)
        self._steps.append((params, modules))
        for per, rows in (("param", params), ("module", modules)):
            for row in rows:
                for flag in _FLAGS:
                    if getattr(row, flag):
                        self._first[flag, per].setdefault(row.name, step)

    # ---- reading the record

    @property
    def steps(self) -> int:
        """The number of backward passes recorded."""
        self._close_step()
        return len(self._steps)

    def first(self, flag: str = "vanishing", per: str = "module") -> dict[str, int]:
        """The first step (counting from 0) at which each module's (or parameter's)
        gradient was ``flag`` (``"vanishing"``, ``"exploding"`` or ``"nonfinite"``);
        modules that never were are left out."""
        if flag not in _FLAGS:
            raise ArgumentError(f"flag must be one of {_FLAGS}, got {flag!r}")
        if per not in ("module", "param"):
            raise ArgumentError(f"per must be 'module' or 'param', got {per!r}")
        self._close_step()
        return dict(self._first[flag, per])

    @property
    def first_vanishing(self) -> dict[str, int]:
        """``first("vanishing")``: module path -> first step its gradient vanished."""
        return self.first("vanishing")

    @property
    def first_exploding(self) -> dict[str, int]:
        """``first("exploding")``: module path -> first step its gradient exploded."""
        return self.first("exploding")

    @property
    def first_nonfinite(self) -> dict[str, int]:
        """``first("nonfinite")``: module path -> first step with a NaN or inf."""
        return self.first("nonfinite")

    def history(
        self, per: str = "module", value: str = "ratio"
    ) -> dict[str, np.ndarray]:
        """Per module (or parameter), one number per step: ``value`` is ``"ratio"``
        (``‖g‖/‖w‖``), ``"grad_norm"`` or ``"weight_norm"``; NaN where a step's
        backward did not reach it."""
        if value not in ("ratio", "grad_norm", "weight_norm"):
            raise ArgumentError(
                f"value must be 'ratio', 'grad_norm' or 'weight_norm', got {value!r}"
            )
        slot = 1 if per == "module" else 0
        if per not in ("module", "param"):
            raise ArgumentError(f"per must be 'module' or 'param', got {per!r}")
        self._close_step()
        out: dict[str, np.ndarray] = {}
        for step, rows in enumerate(self._steps):
            for row in rows[slot]:
                series = out.setdefault(row.name, np.full(len(self._steps), np.nan))
                number = getattr(row, value)
                series[step] = math.nan if number is None else number
        return out

    def flow(self, step: int = -1) -> GradFlow:
        """The :class:`~tapegrad.diagnostics.GradFlow` of one recorded step."""
        from .diagnostics import GradFlow

        self._close_step()
        if not -len(self._steps) <= step < len(self._steps):
            raise AxisError(f"step {step} out of range for {len(self._steps)} steps")
        params, modules = self._steps[step]
        return GradFlow(tuple(params), tuple(modules), *self._limits)

    def __str__(self) -> str:
        self._close_step()
        _, vanishing, exploding = self._limits
        lines = [
            (
                f"watched {len(self._steps)} backward passes through "
                f"{len(self._names)} parameters (vanishing at ‖g‖ ≤ {vanishing:g}·‖w‖, "
                f"exploding at ‖g‖ ≥ {exploding:g}·‖w‖)"
            )
        ]
        for flag, title in zip(_FLAGS, ("vanished", "exploded", "became non-finite")):
            first = self._first[flag, "module"]
            if not first:
                lines.append(f"  no layer's gradient {title}")
                continue
            lines.append(f"  gradient {title} first:")
            for name, step in sorted(first.items(), key=lambda kv: kv[1]):
                kind = self._kinds.get(name, "module")
                lines.append(f"    {name or '(root)'} ({kind}) at step {step}")
        return "\n".join(lines)

    # ---- the hooks' lifetime

    def remove(self) -> None:
        """Unregisters the hooks; the record stays readable."""
        self._close_step()
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> GradWatch:  # noqa: PYI034  (typing.Self needs 3.11)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.remove()


def watch(
    model: Any,
    lr: float | None = None,
    *,
    vanishing: float = VANISHING,
    exploding: float = EXPLODING,
) -> GradWatch:
    """Records the gradient flow of every backward pass through ``model``'s parameters.

    Use it as a context manager (the hooks go when the block ends) or call
    :meth:`GradWatch.remove` yourself::

        with tg.diagnostics.watch(model) as watcher:
            train(model)
        print(watcher)                  # the first step each layer's gradient vanished
        watcher.first_nonfinite         # {"3": 57}: module path -> step

    Args:
        model: An ``nn.Module``, a mapping of names to tensors or ``(name, tensor)``
            pairs; parameters that do not require grad are left out.
        lr: A learning rate, for the update-to-weight ratios of :meth:`GradWatch.flow`.
        vanishing: A gradient vanishes when ``‖g‖ ≤ vanishing·‖w‖``.
        exploding: A gradient explodes when ``‖g‖ ≥ exploding·‖w‖``.

    Returns:
        The :class:`GradWatch` that keeps the record.
    """
    return GradWatch(model, lr, vanishing=vanishing, exploding=exploding)
