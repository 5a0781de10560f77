"""The memory bill: what backprop keeps alive between the forward and the backward pass.

Every op records only what its vector-Jacobian product needs (``exp`` keeps its output,
``mul`` its inputs, ``add`` nothing). :func:`memory_bill` lists those tensors node by node,
with the reason each is kept, and totals them by op and by ``nn`` module;
:func:`saved_bytes` and :func:`peak_saved_bytes` track the total across all live graphs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from . import _native
from ._native import Tensor

__all__ = ["MemoryBill", "memory_bill", "peak_saved_bytes", "reset_peak", "saved_bytes"]


def saved_bytes() -> int:
    """Bytes held for backward right now, across all live graphs.

    A tensor saved by two rules counts twice; the total returns to zero once every graph has
    been swept by a ``backward()`` without ``retain_graph`` or dropped.
    """
    return _native._saved_bytes()


def peak_saved_bytes() -> int:
    """The largest :func:`saved_bytes` since the last :func:`reset_peak`."""
    return _native._peak_saved_bytes()


def reset_peak() -> None:
    """Restarts peak tracking from the current :func:`saved_bytes`."""
    _native._reset_peak_saved_bytes()


@dataclass(frozen=True)
class SavedRow:
    """One node of the graph and what it keeps for backward."""

    op: str
    module: str | None
    saved: tuple[tuple[str, tuple[int, ...], str, int], ...]
    """``(why, shape, dtype, bytes)`` per kept tensor, e.g. ``("input 0", (64, 784), ...)``."""

    @property
    def bytes(self) -> int:
        """Bytes this node keeps."""
        return sum(item[3] for item in self.saved)


@dataclass(frozen=True)
class MemoryBill:
    """The report :func:`memory_bill` returns; ``print(bill)`` shows it as a table."""

    rows: tuple[SavedRow, ...]
    by_op: dict[str, int] = field(default_factory=dict)
    by_module: dict[str, int] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        """Bytes held for backward by the whole graph."""
        return sum(row.bytes for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        """The numbers as plain Python data."""
        return {
            "total_bytes": self.total_bytes,
            "by_op": dict(self.by_op),
            "by_module": dict(self.by_module),
            "rows": [
                {
                    "op": r.op,
                    "module": r.module,
                    "bytes": r.bytes,
                    "saved": [
                        {"why": w, "shape": list(s), "dtype": d, "bytes": b}
                        for w, s, d, b in r.saved
                    ],
                }
                for r in self.rows
            ],
        }

    def summary(self) -> str:
        """Totals only: overall, by op and by module."""
        lines = [
            f"saved for backward: {_human(self.total_bytes)} in {len(self.rows)} nodes"
        ]
        for title, table in (("by op", self.by_op), ("by module", self.by_module)):
            if table:
                lines.append(f"  {title}:")
                for name, n in sorted(table.items(), key=lambda kv: -kv[1]):
                    if n:  # ops such as add keep nothing: leave them out
                        lines.append(f"    {name:<28} {_human(n):>10}")
        return "\n".join(lines)

    def __str__(self) -> str:
        header = f"{'op':<22} {'module':<18} {'kept for backward':<44} {'bytes':>10}"
        lines = [header, "-" * len(header)]
        for r in self.rows:
            kept = ", ".join(f"{w} {tuple(s)} {d}" for w, s, d, _ in r.saved) or "-"
            lines.append(
                f"{r.op:<22} {r.module or '':<18} {kept:<44} {_human(r.bytes):>10}"
            )
        return "\n".join(lines + ["", self.summary()])


def memory_bill(output: Tensor | list[Tensor]) -> MemoryBill:
    """What the graph behind ``output`` holds for backward, node by node.

    Each row names the node (``MulBackward``), the ``nn`` module that recorded it, and every
    tensor its rule keeps, with why (``input 0`` of the op, its ``result``), shape, dtype and
    bytes. Nodes already swept by a ``backward()`` keep nothing.
    """
    outputs = [output] if isinstance(output, Tensor) else list(output)
    rows = tuple(
        SavedRow(
            r["op"], r["label"], tuple((w, tuple(s), d, b) for w, s, d, b in r["saved"])
        )
        for r in _native._graph_rows(outputs)
    )
    by_op: dict[str, int] = defaultdict(int)
    by_module: dict[str, int] = defaultdict(int)
    for r in rows:
        by_op[r.op] += r.bytes
        by_module[r.module or "(no module)"] += r.bytes
    return MemoryBill(rows, dict(by_op), dict(by_module))


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
