"""Checkpointing's trade, measured: peak memory saved for backward vs step time, by depth.

    python benches/memory.py                 # width 1024, batch 256, L = 4..64: ~2 minutes
    python benches/memory.py --quick         # width 256, batch 64, L = 4, 8, 16
    python benches/memory.py --plot docs/memory_peak.png   # also write the chart there

A deep MLP of L blocks (Linear(width, width) then ReLU) on a (batch, width) float32 input
that needs no gradient, loss ``mean(h²)``. For each L, one training step (forward and
backward) is run plainly and with ``checkpoint_sequential(blocks, x, "sqrt")`` (⌈√L⌉
segments), by tapegrad and, where torch is installed, by PyTorch's
``torch.utils.checkpoint.checkpoint_sequential`` with the same number of segments
(``use_reentrant=False``, PyTorch's recommended mode; the reentrant one gives the
checkpointed parameters no gradient when the input does not require grad).

- Peak saved bytes: tapegrad's own counter (``tapegrad.memory.peak_saved_bytes``).
  PyTorch has none, so a saved-tensors hook sums the bytes of every tensor autograd packs
  and subtracts them when the packed object dies; the tensors that checkpointing
  re-computes inside backward are packed by PyTorch's own internal hook, so that hook is
  wrapped (for this measurement only) to count them as well.
- Step time: the fastest of ``--rounds`` timed steps each (the least disturbed: other
  processes only ever add time; medians are kept in the JSON), plain and checkpointed
  steps alternating round by round. The overhead is the median over rounds of the
  checkpointed step's time ÷ the plain step's, so a busy spell slows both sides alike.

Each framework runs in a child process of its own (same weights, from NumPy with a fixed
seed; both children pinned to ``--threads``), and every child checks that checkpointing
leaves the gradients unchanged before timing. Writes ``benches/results/memory.json`` and
``memory.md`` and, when matplotlib is importable, the chart ``memory.png``.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SCHEMA = "tapegrad-bench-memory/1"
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "RAYON_NUM_THREADS",
    "TAPEGRAD_NUM_THREADS",
)
MIB = 1 << 20
# The targets, at the deepest L.
PEAK_RATIO_TARGET = 0.3
OVERHEAD_TARGET = 1.35


def sqrt_segments(depth: int) -> int:
    return math.ceil(math.sqrt(depth))


def layer_weights(i: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Block i's weight and bias, the same for every depth and framework (He scaling keeps
    the activations of a deep ReLU net of order one)."""
    rng = np.random.default_rng([2024, i])
    weight = rng.standard_normal((width, width), dtype=np.float32) * np.float32(
        math.sqrt(2.0 / width)
    )
    bias = rng.standard_normal(width, dtype=np.float32) * np.float32(0.01)
    return weight, bias


def the_input(batch: int, width: int) -> np.ndarray:
    return np.random.default_rng(7).standard_normal((batch, width), dtype=np.float32)


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1e-30))


# ---------------------------------------------------------------- the frameworks


class Tapegrad:
    """One step of the MLP in tapegrad, plain or checkpointed, and its peak saved bytes."""

    name = "tapegrad"

    def __init__(self, depth: int, batch: int, width: int) -> None:
        import tapegrad as tg
        from tapegrad import nn

        self.tg = tg
        self.blocks = []
        for i in range(depth):
            weight, bias = layer_weights(i, width)
            linear = nn.Linear(width, width)
            linear.weight = nn.Parameter(tg.tensor(weight))
            linear.bias = nn.Parameter(tg.tensor(bias))
            self.blocks.append(nn.Sequential(linear, nn.ReLU()))
        self.params = [p for block in self.blocks for p in block.parameters()]
        self.x = tg.tensor(the_input(batch, width))
        self.segments = sqrt_segments(depth)
        self.plan = None

    def step(self, checkpointed: bool) -> float:
        for p in self.params:
            p.grad = None
        if checkpointed:
            h = self.tg.checkpoint_sequential(self.blocks, self.x, self.segments)
        else:
            h = self.x
            for block in self.blocks:
                h = block(h)
        loss = (h * h).mean()
        loss.backward()
        return loss.item()

    def peak(self, checkpointed: bool) -> int:
        memory = self.tg.memory
        gc.collect()
        before = memory.saved_bytes()
        memory.reset_peak()
        self.step(checkpointed)
        return memory.peak_saved_bytes() - before

    def planned(self) -> dict[str, Any]:
        """checkpoint_sequential's own plan: sizes, predicted and measured peak."""
        for p in self.params:
            p.grad = None
        h, plan = self.tg.checkpoint_sequential(
            self.blocks, self.x, self.segments, return_plan=True
        )
        (h * h).mean().backward()
        plan.measure()
        return {
            "sizes": plan.sizes,
            "predicted_peak_bytes": plan.predicted_peak_bytes,
            "plan_measured_peak_bytes": plan.measured_peak_bytes,
        }

    def edge_grads(self) -> list[np.ndarray]:
        return [self.params[0].grad.numpy().copy(), self.params[-2].grad.numpy().copy()]


class _Live:
    """Bytes of saved tensors alive now, and the peak, for the PyTorch hooks."""

    now = 0
    peak = 0

    @classmethod
    def add(cls, n: int) -> None:
        cls.now += n
        cls.peak = max(cls.peak, cls.now)

    @classmethod
    def sub(cls, n: int) -> None:
        cls.now -= n


class _Packed:
    """What the saved-tensors hook stores: the tensor, counted while this object lives."""

    __slots__ = ("__weakref__", "nbytes", "tensor")

    def __init__(self, tensor: Any) -> None:
        self.tensor = tensor.detach()
        self.nbytes = tensor.numel() * tensor.element_size()
        _Live.add(self.nbytes)

    def __del__(self) -> None:
        _Live.sub(self.nbytes)


class Torch:
    """The same step in PyTorch; peaks from a saved-tensors hook (see the module doc)."""

    name = "torch"

    def __init__(self, depth: int, batch: int, width: int, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.torch = torch
        blocks = []
        for i in range(depth):
            weight, bias = layer_weights(i, width)
            linear = torch.nn.Linear(width, width)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(weight))
                linear.bias.copy_(torch.from_numpy(bias))
            blocks.append(torch.nn.Sequential(linear, torch.nn.ReLU()))
        self.model = torch.nn.Sequential(*blocks)
        self.x = torch.from_numpy(the_input(batch, width))
        self.segments = sqrt_segments(depth)
        # PyTorch checkpoints segments-1 segments of depth // segments blocks; the last
        # segment, run normally, takes the rest.
        size = depth // self.segments
        self.sizes = [size] * (self.segments - 1) + [depth - size * (self.segments - 1)]

    def step(self, checkpointed: bool) -> float:
        from torch.utils.checkpoint import checkpoint_sequential

        self.model.zero_grad(set_to_none=True)
        if checkpointed:
            h = checkpoint_sequential(
                self.model, self.segments, self.x, use_reentrant=False
            )
        else:
            h = self.model(self.x)
        loss = (h * h).mean()
        loss.backward()
        return loss.item()

    def peak(self, checkpointed: bool) -> int:
        gc.collect()
        _Live.now = _Live.peak = 0
        with self._counting():
            self.step(checkpointed)
        gc.collect()
        if _Live.now != 0:
            raise AssertionError(f"torch: {_Live.now} saved bytes still counted")
        return _Live.peak

    @contextmanager
    def _counting(self) -> Any:
        import torch.utils.checkpoint as tc

        original = tc._recomputation_hook

        class CountingRecomputation(original):  # type: ignore[misc, valid-type]
            """PyTorch's hook for tensors re-computed in backward, counting them while
            checkpointing holds them (until backward unpacks them)."""

            def __init__(self, frame_ref: Any, gid: Any) -> None:
                super().__init__(frame_ref, gid)
                pack = self.pack_hook

                def counting_pack(x: Any) -> Any:
                    stored = pack(x)
                    frame = frame_ref()
                    index = frame.recomp_counter[gid] - 1
                    holder = (
                        frame.weak_holders[index]()
                        if index < len(frame.weak_holders)
                        else None
                    )
                    handle = holder.handles.get(gid) if holder is not None else None
                    if handle is not None:
                        n = x.numel() * x.element_size()
                        _Live.add(n)
                        weakref.finalize(handle, _Live.sub, n)
                    return stored

                counting_pack._checkpoint_internal = True  # type: ignore[attr-defined]
                self.pack_hook = counting_pack

        tc._recomputation_hook = CountingRecomputation
        try:
            with self.torch.autograd.graph.saved_tensors_hooks(
                _Packed, lambda packed: packed.tensor
            ):
                yield
        finally:
            tc._recomputation_hook = original

    def edge_grads(self) -> list[np.ndarray]:
        first, last = self.model[0][0], self.model[-1][0]
        return [first.weight.grad.numpy().copy(), last.weight.grad.numpy().copy()]


# ---------------------------------------------------------------- one child


def measure_depth(
    framework: str, depth: int, args: argparse.Namespace
) -> dict[str, Any]:
    if framework == "tapegrad":
        model: Any = Tapegrad(depth, args.batch, args.width)
    else:
        model = Torch(depth, args.batch, args.width, args.threads)
    row: dict[str, Any] = {
        "framework": framework,
        "depth": depth,
        "segments": model.segments,
    }
    # Check before timing: checkpointing must not change the gradients.
    row["loss"] = model.step(False)
    want = model.edge_grads()
    model.step(True)
    row["grad_error"] = max(
        relative_error(g, w) for g, w in zip(model.edge_grads(), want)
    )
    if not row["grad_error"] <= 1e-5:
        raise AssertionError(
            f"{framework} L={depth}: checkpointed gradients differ by {row['grad_error']:.3g}"
        )
    row["peak_plain_bytes"] = model.peak(False)
    row["peak_sqrt_bytes"] = model.peak(True)
    row["peak_ratio"] = row["peak_sqrt_bytes"] / row["peak_plain_bytes"]
    if framework == "tapegrad":
        row.update(model.planned())
    else:
        row["sizes"] = model.sizes

    plain, sqrt, ratios = [], [], []
    gc.collect()
    gc.disable()
    try:
        for r in range(args.rounds):
            times = {}
            for checkpointed in (False, True) if r % 2 == 0 else (True, False):
                start = time.perf_counter()
                model.step(checkpointed)
                times[checkpointed] = time.perf_counter() - start
            plain.append(times[False])
            sqrt.append(times[True])
            ratios.append(times[True] / times[False])
    finally:
        gc.enable()
    # The fastest step is the least disturbed one (other processes only ever add time);
    # the overhead pairs each round's two steps, so a busy spell slows both alike.
    row["step_plain_s"] = min(plain)
    row["step_sqrt_s"] = min(sqrt)
    row["overhead"] = statistics.median(ratios)
    row["median_step_plain_s"] = statistics.median(plain)
    row["median_step_sqrt_s"] = statistics.median(sqrt)
    row["overhead_of_best"] = row["step_sqrt_s"] / row["step_plain_s"]
    row["rounds"] = args.rounds
    return row


def child(args: argparse.Namespace) -> int:
    rows = []
    for depth in args.depths:
        rows.append(measure_depth(args.child, depth, args))
        print(f"  {args.child} L={depth}: done", file=sys.stderr, flush=True)
    Path(args.out).write_text(json.dumps(rows), encoding="utf-8")
    return 0


# ---------------------------------------------------------------- the parent


def busy_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine so far (NaN without /proc/stat)."""
    try:
        with open("/proc/stat", encoding="utf-8") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return math.nan
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU seconds used by this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_for_idle(max_wait: float, threshold: float = 0.15) -> None:
    """Waits (at most max_wait s) until other processes use under `threshold` cores."""
    deadline = time.monotonic() + max_wait
    while time.monotonic() < deadline:
        before = busy_cpu_seconds()
        time.sleep(1.0)
        if not busy_cpu_seconds() - before >= threshold:  # NaN: no /proc/stat
            return
    print(
        f"the machine is still busy after {max_wait:.0f} s: timing anyway",
        file=sys.stderr,
    )


def run_child(framework: str, args: argparse.Namespace, workdir: str) -> dict[str, Any]:
    out = os.path.join(workdir, f"{framework}.json")
    command = [sys.executable, __file__, "--child", framework, "--out", out]
    command += ["--width", str(args.width), "--batch", str(args.batch)]
    command += ["--depths", ",".join(map(str, args.depths))]
    command += ["--rounds", str(args.rounds), "--threads", str(args.threads)]
    env = dict(os.environ, **{v: str(args.threads) for v in THREAD_VARIABLES})
    if args.wait_idle > 0:
        wait_for_idle(args.wait_idle)
    print(f"{framework}: running", file=sys.stderr, flush=True)
    busy, ours, start = busy_cpu_seconds(), children_cpu_seconds(), time.perf_counter()
    done = subprocess.run(command, env=env, check=False)
    seconds = time.perf_counter() - start
    # What other processes took from the cores meanwhile (the child's own time excluded).
    foreign = (busy_cpu_seconds() - busy - (children_cpu_seconds() - ours)) / seconds
    job = {
        "framework": framework,
        "seconds": seconds,
        "other_load_cores": max(foreign, 0),
    }
    if done.returncode == 0:
        return {**job, "status": "ok", "rows": json.loads(Path(out).read_text())}
    return {**job, "status": "error", "returncode": done.returncode}


def torch_importable() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def targets(rows: dict[str, dict[int, dict[str, Any]]], deepest: int) -> list[dict]:
    ours = rows["tapegrad"].get(deepest)
    theirs = rows.get("torch", {}).get(deepest)
    found = []
    if ours:
        found.append(
            {
                "target": f"peak saved bytes with 'sqrt' ÷ without, L = {deepest}",
                "goal": f"≤ {PEAK_RATIO_TARGET}",
                "measured": round(ours["peak_ratio"], 3),
                "met": ours["peak_ratio"] <= PEAK_RATIO_TARGET,
            }
        )
        found.append(
            {
                "target": f"step time with 'sqrt' ÷ without, L = {deepest}",
                "goal": f"≤ {OVERHEAD_TARGET}",
                "measured": round(ours["overhead"], 3),
                "met": ours["overhead"] <= OVERHEAD_TARGET,
            }
        )
    if ours and theirs:
        found.append(
            {
                "target": f"tapegrad's overhead ≤ PyTorch's, same segments, L = {deepest}",
                "goal": f"≤ {theirs['overhead']:.3f} (PyTorch's)",
                "measured": round(ours["overhead"], 3),
                "met": ours["overhead"] <= theirs["overhead"],
            }
        )
    return found


def markdown(result: dict[str, Any]) -> str:
    meta, rows = result["meta"], result["by_framework"]
    versions = meta["versions"]
    theirs = rows.get("torch", {})
    lines = [
        (
            f"# Peak saved bytes and step time: Linear({meta['width']})+ReLU blocks, "
            f"batch {meta['batch']}, float32"
        ),
        "",
        (
            f"{meta['threads']} threads, best of {meta['rounds']} steps (overhead: median of "
            f"per-round ratios), {meta['machine']}; "
            f"tapegrad {versions['tapegrad']}, torch {versions['torch'] or 'not installed'}."
        ),
        "",
        (
            "Peak MiB saved for backward during one step (plain → with ⌈√L⌉ segments; the "
            "plan's prediction covers the layers, the loss adds 2·batch·width·4 bytes):"
        ),
        "",
        (
            "| L | segments: tapegrad / PyTorch | tapegrad plain | tapegrad sqrt (ratio) "
            "| predicted | PyTorch plain | PyTorch sqrt (ratio) |"
        ),
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for depth in meta["depths"]:
        ours, other = rows["tapegrad"][depth], theirs.get(depth)
        cells = [
            str(depth),
            f"{ours['sizes']} / {other['sizes'] if other else '-'}",
            _mib(ours["peak_plain_bytes"]),
            f"{_mib(ours['peak_sqrt_bytes'])} ({ours['peak_ratio']:.2f})",
            _mib(ours["predicted_peak_bytes"]),
        ]
        cells += (
            [
                _mib(other["peak_plain_bytes"]),
                f"{_mib(other['peak_sqrt_bytes'])} ({other['peak_ratio']:.2f})",
            ]
            if other
            else ["-", "-"]
        )
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Step time (forward + backward), ms:",
        "",
        (
            "| L | tapegrad plain | tapegrad sqrt (overhead) "
            "| PyTorch plain | PyTorch sqrt (overhead) |"
        ),
        "|---:|---:|---:|---:|---:|",
    ]
    for depth in meta["depths"]:
        cells = [str(depth)]
        for row in (rows["tapegrad"][depth], theirs.get(depth)):
            cells += (
                [
                    f"{row['step_plain_s'] * 1e3:.0f}",
                    f"{row['step_sqrt_s'] * 1e3:.0f} ({row['overhead']:.2f}×)",
                ]
                if row
                else ["-", "-"]
            )
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| target | goal | measured | met |", "|---|---|---:|---|"]
    for t in result["targets"]:
        met = "yes" if t["met"] else "NO"
        lines.append(f"| {t['target']} | {t['goal']} | {t['measured']} | {met} |")
    lines.append("")
    for job in result["jobs"]:
        note = f"- {job['framework']}: {job['status']}, {job['seconds']:.0f} s"
        if job["other_load_cores"] > 0.15:
            note += (
                f" (other processes used {job['other_load_cores']:.1f} cores meanwhile: "
                f"its times are noisy)"
            )
        lines.append(note)
    return "\n".join(lines) + "\n"


def _mib(n: int) -> str:
    return f"{n / MIB:.1f}"


def plot(result: dict[str, Any], paths: list[Path]) -> bool:
    """Peak saved MiB vs L on log-log axes (slope 1 vs 1/2), and the time overhead."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    depths = result["meta"]["depths"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.8))
    styles = {"tapegrad": ("C0", "-"), "torch": ("C1", "--")}
    names = {"tapegrad": "tapegrad", "torch": "PyTorch"}
    for framework, rows in result["by_framework"].items():
        color, line = styles[framework]
        for key, marker, label in (
            ("peak_plain_bytes", "o", "no checkpointing"),
            ("peak_sqrt_bytes", "s", '"sqrt" segments'),
        ):
            left.plot(
                depths,
                [rows[d][key] / MIB for d in depths],
                line,
                color=color,
                marker=marker,
                label=f"{names[framework]}, {label}",
            )
        right.plot(
            depths,
            [rows[d]["overhead"] for d in depths],
            line,
            color=color,
            marker="s",
            label=names[framework],
        )
    # Guides through the deepest tapegrad points: slope 1 (O(L)) and 1/2 (O(√L)).
    ours, deepest = result["by_framework"]["tapegrad"], depths[-1]
    for key, power, label in (
        ("peak_plain_bytes", 1.0, "∝ L"),
        ("peak_sqrt_bytes", 0.5, "∝ √L"),
    ):
        end = ours[deepest][key] / MIB
        left.plot(
            depths,
            [end * (d / deepest) ** power for d in depths],
            ":",
            color="grey",
            linewidth=1,
            label=label,
        )
    left.set_xscale("log", base=2)
    left.set_yscale("log", base=2)
    ticks = [
        2**k
        for k in range(20)
        if 0.7 * min(r["peak_sqrt_bytes"] for r in ours.values())
        <= 2**k * MIB
        <= 1.3 * max(r["peak_plain_bytes"] for r in ours.values())
    ]
    left.set_yticks(ticks, [str(t) for t in ticks])
    left.minorticks_off()
    left.set_xlabel("depth L (blocks)")
    left.set_ylabel("peak saved for backward (MiB)")
    left.set_title("O(L) vs O(√L)")
    left.legend(fontsize=7)
    right.axhline(
        OVERHEAD_TARGET,
        color="grey",
        linewidth=0.8,
        linestyle=":",
        label=f"target {OVERHEAD_TARGET}",
    )
    right.set_xscale("log", base=2)
    right.set_xlabel("depth L (blocks)")
    right.set_ylabel('step time, "sqrt" ÷ plain')
    right.set_title("the price: about one more forward")
    right.legend(fontsize=7)
    for ax in (left, right):
        ax.set_xticks(depths, [str(d) for d in depths])
        ax.grid(alpha=0.3)
    meta = result["meta"]
    fig.suptitle(
        f"Linear({meta['width']})+ReLU blocks, batch {meta['batch']}, float32",
        fontsize=9,
    )
    fig.tight_layout()
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=80)
    plt.close(fig)
    return True


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in ("tapegrad", "torch", "numpy", "matplotlib"):
        try:
            module = __import__(name)
            found[name] = getattr(module, "__version__", "unknown")
        except ImportError:
            found[name] = None
    return found


def parent(args: argparse.Namespace) -> int:
    frameworks = ["tapegrad"] + (
        ["torch"] if torch_importable() and not args.no_torch else []
    )
    with tempfile.TemporaryDirectory() as workdir:
        jobs = [run_child(f, args, workdir) for f in frameworks]
    if not torch_importable() or args.no_torch:
        jobs.append(
            {
                "framework": "torch",
                "status": "skipped",
                "seconds": 0.0,
                "other_load_cores": 0.0,
            }
        )
    failed = [j for j in jobs if j["status"] == "error"]
    by_framework = {
        j["framework"]: {row["depth"]: row for row in j["rows"]}
        for j in jobs
        if j["status"] == "ok"
    }
    if "tapegrad" not in by_framework:
        print("tapegrad's run failed", file=sys.stderr)
        return 1
    if "torch" in by_framework:  # both computed the same loss from the same weights
        for depth in args.depths:
            a, b = (
                by_framework["tapegrad"][depth]["loss"],
                by_framework["torch"][depth]["loss"],
            )
            if not abs(a - b) <= 1e-3 * abs(b):
                print(
                    f"L={depth}: tapegrad loss {a} != PyTorch loss {b}", file=sys.stderr
                )
                failed.append({"framework": "both", "depth": depth})
    result = {
        "schema": SCHEMA,
        "meta": {
            "width": args.width,
            "batch": args.batch,
            "depths": args.depths,
            "rounds": args.rounds,
            "threads": args.threads,
            "quick": args.quick,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "python": platform.python_version(),
            "versions": versions(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        },
        "jobs": [{k: v for k, v in j.items() if k != "rows"} for j in jobs],
        "by_framework": by_framework,
        "targets": targets(by_framework, max(args.depths)),
    }
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "memory.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    text = markdown(result)
    (out_dir / "memory.md").write_text(text, encoding="utf-8")
    print(text)
    charts = [out_dir / "memory.png"] + ([Path(args.plot)] if args.plot else [])
    if plot(result, charts):
        print("wrote " + ", ".join(str(p) for p in charts))
    else:
        print("matplotlib is not installed: skipped the plot")
    print(f"wrote {out_dir / 'memory.json'} and {out_dir / 'memory.md'}")
    return 1 if failed else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="width 256, batch 64, L = 4, 8, 16, 3 rounds",
    )
    parser.add_argument(
        "--width", type=int, default=None, help="units per layer (1024)"
    )
    parser.add_argument("--batch", type=int, default=None, help="batch size (256)")
    parser.add_argument("--depths", default=None, help="comma-separated (4,8,16,32,64)")
    parser.add_argument("--rounds", type=int, default=None, help="timed steps each (7)")
    parser.add_argument(
        "--threads", type=int, default=2, help="threads per framework (2)"
    )
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=60,
        metavar="SECONDS",
        help="wait up to this long for an idle machine before each "
        "framework's run (60; 0: do not wait)",
    )
    parser.add_argument("--out-dir", default=str(RESULTS), help="benches/results")
    parser.add_argument("--plot", help="also write the chart to this PNG")
    parser.add_argument(
        "--child", choices=("tapegrad", "torch"), help=argparse.SUPPRESS
    )
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = args.quick
    args.width = args.width or (256 if quick else 1024)
    args.batch = args.batch or (64 if quick else 256)
    depths = args.depths or ("4,8,16" if quick else "4,8,16,32,64")
    args.depths = [int(d) for d in str(depths).split(",")]
    args.rounds = args.rounds or (3 if quick else 7)
    if min(args.depths) < 1 or args.width < 1 or args.batch < 1 or args.rounds < 1:
        parser.error("depths, width, batch and rounds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return child(args) if args.child else parent(args)


if __name__ == "__main__":
    sys.exit(main())
