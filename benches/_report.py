"""From the rows the children measured: ratios, the issue-5 targets, Markdown and a chart.

Ratios compare frameworks measured in the same run at the same thread count. "speed vs
X" is X's time ÷ tapegrad's time: above 1, tapegrad is faster.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

NAMES = {"tapegrad": "tapegrad", "numpy": "NumPy", "torch": "PyTorch"}
PEERS = ("numpy", "torch")
MLP_CONFIGS = (
    "4-64-64-2 b64",
    "512-256 b32",
    "784-256-256-10 b64",
    "784-1024-1024-10 b256",
)
LARGEST_MLP = MLP_CONFIGS[-1]

Index = dict[tuple[str, str, str, int], dict[str, Any]]


def _index(results: list[dict[str, Any]]) -> Index:
    return {(r["case"], r["bench"], r["framework"], r["threads"]): r for r in results}


def _benches(results: list[dict[str, Any]], case: str) -> list[str]:
    return list(dict.fromkeys(r["bench"] for r in results if r["case"] == case))


def _geomean(values: Iterable[float]) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _ratios(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    index, ratios = _index(results), []
    for row in results:
        case, bench, framework, threads = (
            row["case"],
            row["bench"],
            row["framework"],
            row["threads"],
        )
        if case == "thread_scaling":
            if threads == 1 and (case, bench, framework, 2) in index:
                two = index[(case, bench, framework, 2)]
                ratios.append(
                    {
                        "case": case,
                        "bench": bench,
                        "framework": framework,
                        "two_over_one_thread": row["time_s"] / two["time_s"],
                    }
                )
            continue
        if framework != "tapegrad":
            continue
        for peer in PEERS:
            other = index.get((case, bench, peer, threads))
            if other:
                ratios.append(
                    {
                        "case": case,
                        "bench": bench,
                        "peer": peer,
                        "threads": threads,
                        "speed_vs_peer": other["time_s"] / row["time_s"],
                    }
                )
    return ratios


def _target(
    name: str, goal: str, measured: str | None, met: bool | None, **values: Any
) -> dict[str, Any]:
    return {
        "target": name,
        "goal": goal,
        "measured": measured or "not measured in this run",
        "met": met,
        "values": values,
    }


def _targets(
    results: list[dict[str, Any]], ratios: list[dict[str, Any]], threads: int
) -> list[dict[str, Any]]:
    index = _index(results)
    speed = {
        (r["case"], r["bench"], r["peer"]): r["speed_vs_peer"]
        for r in ratios
        if "peer" in r and r["threads"] == threads
    }
    targets = []

    steps = [speed.get(("mlp_step", c, "torch")) for c in MLP_CONFIGS]
    if all(steps):
        mean = _geomean(steps)
        targets.append(
            _target(
                "headline: PyTorch step time ÷ tapegrad step time, geometric mean of the four "
                "mlp_step configs",
                "≥ 1.0 (aim 1.5)",
                f"{mean:.2f} ({', '.join(f'{c}: {s:.2f}' for c, s in zip(MLP_CONFIGS, steps))})",
                mean >= 1.0,
                geomean=mean,
                aim_met=mean >= 1.5,
            )
        )
    else:
        targets.append(
            _target("headline: mlp_step vs PyTorch", "≥ 1.0 (aim 1.5)", None, None)
        )

    matmul = {
        r["bench"]: speed[("matmul", r["bench"], "numpy")]
        for r in results
        if r["case"] == "matmul"
        and r["framework"] == "tapegrad"
        and (r["params"]["kind"] == "mlp" or r["params"]["n"] >= 256)
        and ("matmul", r["bench"], "numpy") in speed
    }
    if matmul:
        worst = min(matmul, key=matmul.get)
        short = sum(1 for s in matmul.values() if s < 0.9)
        targets.append(
            _target(
                "matmul: tapegrad GFLOP/s ÷ NumPy GFLOP/s on squares ≥ 256 and the MLP shapes "
                "(X·W, Xᵀ·dY, dY·Wᵀ; float32 and float64)",
                "≥ 0.9 on every point",
                f"worst {matmul[worst]:.2f} ({worst}); {len(matmul) - short} of {len(matmul)} "
                f"points ≥ 0.9; geometric mean {_geomean(matmul.values()):.2f}",
                short == 0,
                worst=matmul[worst],
                geomean=_geomean(matmul.values()),
            )
        )
    else:
        targets.append(_target("matmul vs NumPy", "≥ 0.9", None, None))

    for grad, peer, limit in ((True, "torch", 0.5), (False, "numpy", 2.0)):
        suffix = "with grad" if grad else "without grad"
        times = {
            bench: 1.0 / s
            for (case, bench, p), s in speed.items()
            if case == "op_overhead" and p == peer and bench.endswith(suffix)
        }
        name = (
            f"per-op overhead {suffix}: tapegrad µs ÷ {NAMES[peer]} µs "
            f"(add, mul, relu, matmul 8×8/32×32)"
        )
        if times:
            worst = max(times, key=times.get)
            targets.append(
                _target(
                    name,
                    f"≤ {limit} on every op",
                    f"worst {times[worst]:.2f} ({worst}); geometric mean "
                    f"{_geomean(times.values()):.2f}",
                    times[worst] <= limit,
                    worst=times[worst],
                    geomean=_geomean(times.values()),
                )
            )
        else:
            targets.append(_target(name, f"≤ {limit}", None, None))

    row = index.get(("mlp_step", LARGEST_MLP, "tapegrad", threads))
    name = f"backward ÷ forward on the {LARGEST_MLP} MLP step (tapegrad)"
    if row:
        ratio = row["metrics"]["backward_over_forward"]
        targets.append(
            _target(name, "≤ 2.0", f"{ratio:.2f}", ratio <= 2.0, ratio=ratio)
        )
    else:
        targets.append(_target(name, "≤ 2.0", None, None))

    scaling = {
        r["bench"]: r["two_over_one_thread"]
        for r in ratios
        if r["case"] == "thread_scaling" and r["framework"] == "tapegrad"
    }
    name = "2 threads vs 1 thread (tapegrad): 1024² matmul and the largest MLP step"
    if len(scaling) == 2:
        targets.append(
            _target(
                name,
                "≥ 1.7 on both",
                "; ".join(f"{b}: {s:.2f}×" for b, s in scaling.items()),
                min(scaling.values()) >= 1.7,
                **scaling,
            )
        )
    else:
        targets.append(_target(name, "≥ 1.7", None, None))
    return targets


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    ratios = _ratios(result["results"])
    return {
        "ratios": ratios,
        "targets": _targets(result["results"], ratios, result["meta"]["threads"]),
    }


# ---------------------------------------------------------------------------- Markdown


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    if value == 0 or not math.isfinite(value):
        return str(value)
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"


SPREAD = 1.25  # rounds whose medians differ by more than this factor get a mark


def _spread(row: dict[str, Any] | None) -> str:
    """ "†" when the row's rounds disagree by more than SPREAD (a disturbed measurement)."""
    times = (row or {}).get("round_times_s") or []
    return "†" if len(times) > 1 and max(times) > SPREAD * min(times) else ""


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _frameworks(results: list[dict[str, Any]], case: str) -> list[str]:
    present = {r["framework"] for r in results if r["case"] == case}
    return [f for f in NAMES if f in present]


def _pivot(result: dict[str, Any], case: str, metric: str, unit: str) -> str:
    """One row per bench: each framework's metric, then tapegrad's speed vs each peer."""
    results, threads = result["results"], result["meta"]["threads"]
    index, frameworks = _index(results), _frameworks(results, case)
    peers = [p for p in PEERS if p in frameworks and "tapegrad" in frameworks]
    header = ["bench"] + [f"{NAMES[f]} {unit}" for f in frameworks]
    header += [f"speed vs {NAMES[p]}" for p in peers]
    rows = []
    for bench in _benches(results, case):
        cells = [bench]
        for f in frameworks:
            row = index.get((case, bench, f, threads))
            cells.append(_fmt(row["metrics"][metric]) + _spread(row) if row else "–")
        mine = index.get((case, bench, "tapegrad", threads))
        for p in peers:
            other = index.get((case, bench, p, threads))
            cells.append(
                _fmt(other["time_s"] / mine["time_s"], 2) + "×"
                if mine and other
                else "–"
            )
        rows.append(cells)
    return _table(header, rows)


def _mlp_table(result: dict[str, Any]) -> str:
    results, threads = result["results"], result["meta"]["threads"]
    index = _index(results)
    rows = []
    for bench in _benches(results, "mlp_step"):
        mine = index.get(("mlp_step", bench, "tapegrad", threads))
        for f in _frameworks(results, "mlp_step"):
            row = index.get(("mlp_step", bench, f, threads))
            if not row:
                continue
            m = row["metrics"]
            vs = (
                _fmt(row["time_s"] / mine["time_s"], 2) + "×"
                if mine and f != "tapegrad"
                else ""
            )
            rows.append(
                [
                    bench,
                    NAMES[f],
                    _fmt(m["step_ms"]) + _spread(row),
                    _fmt(m["forward_ms"]),
                    _fmt(m["backward_ms"]),
                    _fmt(m["optimizer_ms"]),
                    _fmt(m["backward_over_forward"], 2),
                    vs,
                ]
            )
    return _table(
        [
            "config",
            "framework",
            "step ms",
            "forward ms",
            "backward ms",
            "optimiser ms",
            "backward ÷ forward",
            "its time ÷ tapegrad's",
        ],
        rows,
    )


def _fd_table(result: dict[str, Any]) -> str:
    results, threads = result["results"], result["meta"]["threads"]
    index = _index(results)
    rows = []
    for bench in _benches(results, "fd_vs_backprop"):
        for f in _frameworks(results, "fd_vs_backprop"):
            row = index.get(("fd_vs_backprop", bench, f, threads))
            if not row:
                continue
            m = row["metrics"]
            fd = (
                _fmt(m["fd_ms"])
                if m["fd_measured"]
                else f"~{_fmt(m['fd_estimate_ms'])} (est.)"
            )
            rows.append(
                [
                    bench,
                    NAMES[f],
                    _fmt(m["forward_ms"]),
                    _fmt(m["backprop_ms"]) + _spread(row),
                    _fmt(m["backprop_over_forward"], 2),
                    fd,
                    _fmt(m["fd_estimate_ms"]),
                    _fmt(m["fd_over_backprop"]),
                ]
            )
    return _table(
        [
            "net",
            "framework",
            "forward ms",
            "backprop ms",
            "backprop ÷ forward",
            "finite differences ms",
            "2·P·forward ms",
            "FD ÷ backprop",
        ],
        rows,
    )


def _scaling_table(result: dict[str, Any]) -> str:
    index = _index(result["results"])
    rows = []
    for r in result["ratios"]:
        if r["case"] != "thread_scaling":
            continue
        one = index[("thread_scaling", r["bench"], r["framework"], 1)]
        two = index[("thread_scaling", r["bench"], r["framework"], 2)]
        rows.append(
            [
                r["bench"],
                NAMES[r["framework"]],
                _fmt(one["time_s"] * 1e3) + _spread(one),
                _fmt(two["time_s"] * 1e3) + _spread(two),
                _fmt(r["two_over_one_thread"], 3) + "×",
            ]
        )
    return _table(
        ["bench", "framework", "1 thread ms", "2 threads ms", "speed-up"], rows
    )


SECTIONS = {
    "op_overhead": (
        "µs per op (lower is better)",
        lambda r: _pivot(r, "op_overhead", "time_us", "µs"),
    ),
    "tape_overhead": (
        "µs per forward + backward",
        lambda r: _pivot(r, "tape_overhead", "time_us", "µs"),
    ),
    "matmul": (
        "GFLOP/s (higher is better)",
        lambda r: _pivot(r, "matmul", "gflops", "GFLOP/s"),
    ),
    "elementwise": (
        "GB/s (higher is better)",
        lambda r: _pivot(r, "elementwise", "gbps", "GB/s"),
    ),
    "indexing": (
        "million elements selected per second (higher is better)",
        lambda r: _pivot(r, "indexing", "melems", "M elem/s"),
    ),
    "mlp_step": ("one SGD step and its phases, medians", _mlp_table),
    "fd_vs_backprop": ("one full gradient", _fd_table),
    "thread_scaling": ("time at 1 and 2 threads", _scaling_table),
}


def markdown(result: dict[str, Any]) -> str:
    meta = result["meta"]
    versions = meta["versions"]
    lines = [
        "# tapegrad benchmarks",
        "",
        (
            f"`{meta['command']}` — {meta['started']}, {meta['duration_s']:.0f} s, "
            f"{meta['threads']} thread(s){', quick' if meta['quick'] else ''}; "
            f"{meta['machine']['cpu']}, {meta['machine']['cores']} cores; "
            f"tapegrad {versions.get('tapegrad')} (git {meta['machine'].get('git')}), "
            f"NumPy {versions.get('numpy')}, "
            f"PyTorch {versions.get('torch') or 'not importable'}."
        ),
        "",
        (
            "\"speed vs X\" = X's time ÷ tapegrad's time: above 1, tapegrad is faster. "
            f"Each point is the fastest of {meta.get('rounds', 1)} round(s) of child "
            f"processes; † marks a point whose rounds differed by more than "
            f"{SPREAD - 1:.0%} (a disturbed measurement; all rounds are in the JSON)."
        ),
        "",
        "## Targets (issue 5)",
        "",
        _table(
            ["target", "goal", "measured", "met"],
            [
                [
                    t["target"],
                    t["goal"],
                    t["measured"],
                    {True: "met", False: "**not met**", None: "–"}[t["met"]],
                ]
                for t in result["targets"]
            ],
        ),
    ]
    threshold = meta.get("disturbed_threshold_cores", 0.1)
    disturbed = [j for j in result["jobs"] if j.get("foreign_load", 0) > threshold]
    if disturbed:
        lines += [
            "",
            f"**Disturbed**: other processes used more than {threshold} cores on "
            "average during every round of these, so their numbers (and ratios) are "
            "suspect: "
            + ", ".join(
                f"{j['case']}/{j['framework']} ({j['threads']} thr): "
                f"{j['foreign_load']:.2f}"
                for j in disturbed
            )
            + ".",
        ]
    problems = [j for j in result["jobs"] if j["status"] != "ok"]
    if problems:
        lines += ["", "## Not run or failed", ""]
        lines += [
            f"- {j['case']} / {j['framework']} ({j['threads']} thr): {j['status']}: "
            f"{j.get('reason') or j.get('error')}"
            for j in problems
        ]
    for case, (what, render) in SECTIONS.items():
        if any(r["case"] == case for r in result["results"]):
            lines += ["", f"## {case}: {what}", "", render(result)]
    return "\n".join(lines) + "\n"
