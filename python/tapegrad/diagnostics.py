"""Gradient-flow diagnostics: does the gradient reach every layer, at a useful size?

Backprop multiplies one Jacobian per layer, and long products of numbers below one
vanish (deep sigmoid networks), of numbers above one explode. :func:`grad_flow` measures
the result after a ``backward()``: per parameter and per module, the gradient's norm,
the weight's norm, their ratio, the update-to-weight ratio a step of a given learning
rate would make, and flags for vanishing, exploding and non-finite gradients.
:func:`watch` records the same every step and reports the first step at which a
layer's gradient vanished, exploded or became non-finite::

    loss.backward()
    print(tg.diagnostics.grad_flow(model, lr=0.01))

    with tg.diagnostics.watch(model) as watcher:
        for x, y in batches:
            ...  # forward, backward, optimizer step
    print(watcher)

Both read ``‖g‖ / ‖w‖`` (2-norms): a gradient *vanishes* when ``‖g‖ ≤ vanishing·‖w‖``
(default ``1e-7``) and *explodes* when ``‖g‖ ≥ exploding·‖w‖`` (default ``1e3``); for
an all-zero parameter ``‖w‖`` is replaced by 1, so the thresholds become absolute.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import ArgumentError, GraphError
from ._flow import (
    EXPLODING,
    VANISHING,
    FlowRow,
    check_thresholds,
    flow_row,
    measure,
    named_parameters,
    pool_by_module,
)
from ._watch import GradWatch, watch

__all__ = ["FlowRow", "GradFlow", "GradWatch", "grad_flow", "plot", "watch"]


@dataclass(frozen=True)
class GradFlow:
    """What :func:`grad_flow` returns; ``print(flow)`` shows it as two tables."""

    params: tuple[FlowRow, ...]
    modules: tuple[FlowRow, ...]
    lr: float | None = None
    vanishing: float = VANISHING
    exploding: float = EXPLODING

    def rows(self, per: str = "module") -> tuple[FlowRow, ...]:
        """The rows ``per`` ``"module"`` or ``"param"``."""
        if per not in ("module", "param"):
            raise ArgumentError(f"per must be 'module' or 'param', got {per!r}")
        return self.modules if per == "module" else self.params

    def flagged(self, flag: str = "vanishing", per: str = "module") -> list[str]:
        """Names of the modules (or parameters) with ``flag`` raised, in model order.

        ``flag`` is ``"vanishing"``, ``"exploding"``, ``"nonfinite"`` or
        ``"no gradient"``.
        """
        allowed = ("vanishing", "exploding", "nonfinite", "no gradient")
        if flag not in allowed:
            raise ArgumentError(f"flag must be one of {allowed}, got {flag!r}")
        return [row.name for row in self.rows(per) if flag in row.flags]

    @property
    def healthy(self) -> bool:
        """True when no parameter's gradient vanished, exploded or is non-finite."""
        return not any(row.flags for row in self.params if row.grad_norm is not None)

    def to_dict(self) -> dict[str, Any]:
        """The numbers as plain Python data."""

        def row(r: FlowRow) -> dict[str, Any]:
            return {
                "name": r.name,
                "kind": r.kind,
                "numel": r.numel,
                "grad_norm": r.grad_norm,
                "weight_norm": r.weight_norm,
                "ratio": r.ratio,
                "update_ratio": r.update_ratio,
                "flags": list(r.flags),
            }

        return {
            "lr": self.lr,
            "vanishing": self.vanishing,
            "exploding": self.exploding,
            "params": [row(r) for r in self.params],
            "modules": [row(r) for r in self.modules],
        }

    def table(self, per: str = "module") -> str:
        """One table: a row per module (or parameter)."""
        rows = self.rows(per)
        first = "module" if per == "module" else "parameter"
        width = max([len(first)] + [len(r.name or "(root)") for r in rows])
        kinds = max([4] + [len(r.kind) for r in rows]) if per == "module" else 0
        head = f"{first:<{width}}  " + (f"{'type':<{kinds}}  " if kinds else "")
        head += f"{'grad norm':>10}  {'weight norm':>11}  {'grad/weight':>11}"
        if self.lr is not None:
            head += f"  {'update/weight':>13}"
        lines = [head + "  flags", "-" * (len(head) + 7)]
        for r in rows:
            line = f"{r.name or '(root)':<{width}}  " + (
                f"{r.kind:<{kinds}}  " if kinds else ""
            )
            line += f"{_num(r.grad_norm):>10}  {_num(r.weight_norm):>11}"
            line += f"  {_num(r.ratio):>11}"
            if self.lr is not None:
                line += f"  {_num(r.update_ratio):>13}"
            lines.append(f"{line}  {', '.join(r.flags)}".rstrip())
        return "\n".join(lines)

    def summary(self) -> str:
        """One line per raised flag, or that the gradient flows everywhere."""
        lines = []
        for flag in ("vanishing", "exploding", "nonfinite", "no gradient"):
            names = self.flagged(flag)
            if names:
                shown = ", ".join(n or "(root)" for n in names)
                lines.append(
                    f"{flag}: {len(names)} of {len(self.modules)} modules ({shown})"
                )
        if not lines:
            lines.append(
                f"the gradient reaches all {len(self.modules)} modules unharmed"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        lr = "" if self.lr is None else f", update/weight for lr={self.lr:g}"
        return (
            f"gradient flow (vanishing at ‖g‖ ≤ {self.vanishing:g}·‖w‖, exploding at "
            f"‖g‖ ≥ {self.exploding:g}·‖w‖{lr})\n\n"
            f"{self.table('module')}\n\n{self.table('param')}\n\n{self.summary()}"
        )

    def plot(self, path: str | Path, per: str = "module") -> Path:
        """Draws ``‖g‖ / ‖w‖`` per module (or parameter) into ``path`` (matplotlib)."""
        return plot(self, path, per=per)


def grad_flow(
    model: Any,
    lr: float | None = None,
    *,
    vanishing: float = VANISHING,
    exploding: float = EXPLODING,
) -> GradFlow:
    """Measures the gradients ``backward()`` left in ``model``'s parameters.

    Args:
        model: An ``nn.Module``, a mapping of names to tensors, or ``(name, tensor)``
            pairs (``model.named_parameters()``). Parameters that do not require grad
            are left out.
        lr: A learning rate: adds the update-to-weight ratio ``lr·‖g‖ / ‖w‖``.
        vanishing: A gradient vanishes when ``‖g‖ ≤ vanishing·‖w‖``.
        exploding: A gradient explodes when ``‖g‖ ≥ exploding·‖w‖``.

    Returns:
        A :class:`GradFlow`: rows per parameter and per module (a module's row pools
        the parameters it holds directly: ``‖g‖² = Σ ‖g_i‖²``, likewise ``‖w‖``).

    Raises:
        GraphError: If no parameter has a gradient (``backward()`` has not run).
        ArgumentError: If there are no parameters, or a threshold or ``lr`` is out of
            range.
        DTypeError: If ``model`` is none of the above.
    """
    lr, vanishing, exploding = check_thresholds(lr, vanishing, exploding)
    named, kinds = named_parameters(model, "grad_flow")
    measured = [(name, measure(p.grad, p)) for name, p in named]
    if all(m[0] is None for _, m in measured):
        raise GraphError(
            "grad_flow: no parameter has a gradient; call backward() first "
            f"({len(named)} parameters, every .grad is None)"
        )
    limits = (lr, vanishing, exploding)
    params = tuple(flow_row(name, "parameter", m, limits) for name, m in measured)
    modules = tuple(
        flow_row(path, kinds.get(path, "module"), pooled, limits)
        for path, pooled in pool_by_module(measured).items()
    )
    return GradFlow(params, modules, lr, vanishing, exploding)


def plot(
    flows: GradFlow | Mapping[str, GradFlow],
    path: str | Path,
    per: str = "module",
    title: str | None = None,
) -> Path:
    """Draws ``‖g‖ / ‖w‖`` per module (or parameter) of one or several flows.

    Args:
        flows: One :class:`GradFlow`, or several by legend label (compared on one
            axis, by position: the first module of each, the second, and so on).
        path: The picture's file (``.png``, ``.svg``, ``.pdf``).
        per: ``"module"`` or ``"param"``.
        title: The figure's title.

    Returns:
        The path written.

    Raises:
        ImportError: If matplotlib is not installed.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "tapegrad.diagnostics plots need matplotlib: pip install matplotlib "
            "(3.6 or newer)"
        ) from error
    named = {"": flows} if isinstance(flows, GradFlow) else dict(flows)
    if not named:
        raise ArgumentError("plot: no gradient flows given")
    longest = max((f.rows(per) for f in named.values()), key=len)
    figure = Figure(figsize=(max(6.0, 0.35 * len(longest) + 2), 4.0), layout="tight")
    axes = figure.add_subplot()
    for label, flow in named.items():
        rows = flow.rows(per)
        ratios = [
            r.ratio if math.isfinite(r.ratio) and r.ratio > 0 else math.nan
            for r in rows
        ]
        axes.plot(range(len(rows)), ratios, marker="o", label=label or None)
        bad = [i for i, r in enumerate(rows) if r.vanishing or r.exploding]
        axes.scatter(
            bad, [ratios[i] for i in bad], marker="x", s=80, color="#d62728", zorder=3
        )
    some = next(iter(named.values()))
    for level, text in ((some.vanishing, "vanishing"), (some.exploding, "exploding")):
        if level > 0:
            axes.axhline(level, color="#d62728", linestyle="--", linewidth=1)
            axes.annotate(
                text,
                (0, level),
                xytext=(2, 3),
                textcoords="offset points",
                color="#d62728",
                fontsize=8,
            )
    axes.set_yscale("log")
    noun = "module" if per == "module" else "parameter"
    if len(named) == 1:
        names = [r.name or "(root)" for r in longest]
        axes.set_xticks(range(len(longest)), names, rotation=60)
        axes.set_xlabel(noun)
    else:  # different models: compare by position
        axes.set_xticks(range(len(longest)), [str(i + 1) for i in range(len(longest))])
        axes.set_xlabel(f"{noun}, in model order")
    axes.set_ylabel("‖grad‖ / ‖weight‖")
    axes.set_title(title or "gradient flow (red crosses: flagged)")
    if len(named) > 1:
        axes.legend()
    target = Path(path)
    figure.savefig(target)
    return target


def _num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.2e}"


def __dir__() -> list[str]:
    return sorted(__all__)
