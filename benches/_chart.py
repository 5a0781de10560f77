"""The PNG chart of a run (written when matplotlib is importable).

Up to four panels, one colour per framework throughout: the mlp_step step times, the
float32 matmul GFLOP/s, elementwise GB/s against size, and the full-gradient cost of
backprop against finite differences.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _report import NAMES, _benches, _frameworks, _index

COLOURS = {"tapegrad": "tab:blue", "numpy": "tab:orange", "torch": "tab:green"}
PANELS = ("mlp_step", "matmul", "elementwise", "fd_vs_backprop")


def _bars(ax: Any, result: dict[str, Any], case: str, metric: str) -> None:
    results, threads = result["results"], result["meta"]["threads"]
    index, frameworks = _index(results), _frameworks(results, case)
    benches = _benches(results, case)
    if case == "matmul":
        benches = [b for b in benches if b.startswith("float32")]
    width = 0.8 / len(frameworks)
    for i, f in enumerate(frameworks):
        values = [
            index[(case, b, f, threads)]["metrics"][metric]
            if (case, b, f, threads) in index
            else 0
            for b in benches
        ]
        positions = [x + i * width for x in range(len(benches))]
        ax.bar(positions, values, width, label=NAMES[f], color=COLOURS[f])
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(benches))])
    labels = [b.replace("float32 ", "") for b in benches]
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)


def _rows(result: dict[str, Any], case: str, framework: str) -> list[dict[str, Any]]:
    threads = result["meta"]["threads"]
    return [
        r
        for r in result["results"]
        if r["case"] == case and r["framework"] == framework and r["threads"] == threads
    ]


def _panel(ax: Any, result: dict[str, Any], case: str) -> None:
    frameworks = _frameworks(result["results"], case)
    if case == "mlp_step":
        _bars(ax, result, case, "step_ms")
        ax.set_yscale("log")
        ax.set_ylabel("ms per training step (log)")
        ax.set_title("mlp_step: one SGD step (lower is better)")
    elif case == "matmul":
        _bars(ax, result, case, "gflops")
        ax.set_ylabel("GFLOP/s")
        ax.set_title("matmul, float32 (higher is better)")
    elif case == "elementwise":
        for f in frameworks:
            for op, style in (("add", "-"), ("relu backward", ":")):
                rows = [r for r in _rows(result, case, f) if r["params"]["op"] == op]
                ax.plot(
                    [r["params"]["n"] for r in rows],
                    [r["metrics"]["gbps"] for r in rows],
                    style,
                    marker="o",
                    color=COLOURS[f],
                    label=f"{NAMES[f]} {op}",
                )
        ax.set_xscale("log", base=2)
        ax.set_xlabel("float32 elements")
        ax.set_ylabel("GB/s")
        ax.set_title("elementwise: add (solid), relu backward (dotted)")
    else:
        for f in frameworks:
            rows = _rows(result, case, f)
            counts = [r["params"]["parameters"] for r in rows]
            ax.plot(
                counts,
                [r["metrics"]["backprop_ms"] for r in rows],
                "-o",
                color=COLOURS[f],
                label=f"{NAMES[f]} backprop",
            )
            ax.plot(
                counts,
                [r["metrics"]["fd_ms"] for r in rows],
                "--",
                marker="s",
                color=COLOURS[f],
                alpha=0.6,
                label=f"{NAMES[f]} finite differences",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("parameters")
        ax.set_ylabel("ms per full gradient (log)")
        ax.set_title("fd_vs_backprop (large FD: estimated)")
    ax.legend(fontsize=7)


def chart(result: dict[str, Any], path: Path) -> bool:
    """Writes the PNG; False when matplotlib is not importable or nothing is plottable."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    cases = {r["case"] for r in result["results"]}
    panels = [c for c in PANELS if c in cases]
    if not panels:
        return False
    columns = min(2, len(panels))
    rows = (len(panels) + 1) // 2
    fig, axes = plt.subplots(
        rows, columns, figsize=(7 * columns, 5 * rows), squeeze=False
    )
    for ax, case in zip(axes.flat, panels):
        _panel(ax, result, case)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    meta = result["meta"]
    fig.suptitle(
        f"tapegrad vs NumPy and PyTorch, {meta['threads']} thread(s), {meta['started']}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
