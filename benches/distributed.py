"""Data-parallel training on MPI, measured: step time at 1 and 2 ranks, overlap, bandwidth.

    python benches/distributed.py            # about a minute
    python benches/distributed.py --quick    # fewer steps and repetitions

The model is the 784-1024-1024-10 ReLU MLP (float32), global batch 256 (128 per rank at
2 ranks), cross-entropy loss and SGD; every rank runs one thread (TAPEGRAD_NUM_THREADS=1).
Each world size runs in its own ``mpiexec -n W`` job of this script (``--worker``);
rank 0 prints its results as JSON and this parent prints a Markdown table and writes
``benches/results/distributed.json`` and ``distributed.md``.

- Step time: the fastest of ``--steps`` timed steps (zero_grad, forward, backward,
  step), each started after a barrier and timed until its slowest rank is done (the
  fastest, because other processes on a shared machine only ever add time). 1 rank runs the plain
  model (no DistributedDataParallel); 2 ranks run it wrapped.
- Scaling efficiency: t(1 rank) / (2 · t(2 ranks)), with the global batch fixed.
- Overlap: the gradient all-reduce alone (the reducer on gradients that are all ready)
  against the time a training step still waits for it after the sweep (the reducer's
  final wait, median over steps, slowest rank): hidden share = 1 - wait / alone,
  clipped to [0, 1]. The step under ``no_sync()`` (no communication) is shown too.
- Bandwidth: a 25 MiB float32 bucket, all-reduced by ``tapegrad.distributed.all_reduce``,
  by the DDP reducer's bucket path (scaled copy in, all-reduce, then a copy into
  ``.grad``, or with ``gradient_as_bucket_view=True`` no copy out) and by mpi4py's own
  ``Allreduce`` on a NumPy buffer (algorithm bandwidth: bytes / time).
- PyTorch: when torch is importable, the same model, batch and optimiser under
  ``torch.nn.parallel.DistributedDataParallel`` on gloo, 1 thread per rank.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BATCH = 256
SIZES = (784, 1024, 1024, 10)
BUCKET_BYTES = 25 * 1024 * 1024


def _best_time(fn, repeats: int, comm) -> float:
    """Seconds per call: each call starts after a barrier and lasts until its slowest
    rank is done; the fastest of ``repeats`` calls (the least disturbed by other
    processes, which only ever add time)."""
    import numpy as np

    samples = np.empty(repeats)
    for i in range(repeats):
        comm.Barrier()
        start = time.perf_counter()
        fn()
        samples[i] = time.perf_counter() - start
    comm.Allreduce(_mpi().IN_PLACE, samples, op=_mpi().MAX)
    return float(samples.min())


def _mpi():
    from mpi4py import MPI

    return MPI


def _data(world: int, rank: int):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    n = BATCH // world
    return x[rank * n : (rank + 1) * n], y[rank * n : (rank + 1) * n]


def _tapegrad_rows(args, world: int, rank: int) -> dict:
    import numpy as np
    import tapegrad as tg
    import tapegrad.distributed as dist
    from tapegrad import nn

    dist.init_process_group("mpi")
    comm = _mpi().COMM_WORLD
    tg.manual_seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(SIZES) - 2:
            layers.append(nn.ReLU())
    net = nn.Sequential(*layers)
    model = nn.parallel.DistributedDataParallel(net) if world > 1 else net
    opt = tg.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    x_np, y_np = _data(world, rank)
    x, y = tg.from_numpy(x_np), y_np.tolist()

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    result = {"step_s": _best_time(step, args.steps, comm)}
    if world > 1:
        viewed = nn.parallel.DistributedDataParallel(net, gradient_as_bucket_view=True)
        view_opt = tg.optim.SGD(viewed.parameters(), lr=0.01)

        def view_step() -> None:
            view_opt.zero_grad()
            loss_fn(viewed(x), y).backward()
            view_opt.step()

        for _ in range(3):
            view_step()
        result["view_step_s"] = _best_time(view_step, args.steps, comm)

        def local_step() -> None:
            with model.no_sync():
                step()

        result["no_sync_step_s"] = _best_time(local_step, args.steps, comm)
        reducer = model._reducer
        exposed = []
        for _ in range(args.steps):
            comm.Barrier()
            step()
            exposed.append(reducer.exposed_wait_s)
        result["exposed_wait_s"] = comm.allreduce(
            statistics.median(exposed), op=_mpi().MAX
        )

        def reduce_alone() -> None:
            reducer.prepare(True)
            for index in range(len(reducer.params)):
                reducer._on_grad_ready(index)

        result["allreduce_s"] = _best_time(reduce_alone, args.steps, comm)
        result["buckets"] = len(reducer.buckets)
        # Bandwidth of one 25 MiB bucket.
        count = BUCKET_BYTES // 4
        tensor = tg.from_numpy(np.ones(count, np.float32))
        result["collective_s"] = _best_time(
            lambda: dist.all_reduce(tensor), args.repeats, comm
        )
        big = nn.Module()
        big.weight = nn.Parameter(tg.zeros(count))
        wrapped = nn.parallel.DistributedDataParallel(big)
        big.weight.grad = tg.ones(count)
        bucket_reducer = wrapped._reducer

        def bucket_path() -> None:
            bucket_reducer.prepare(True)
            bucket_reducer._on_grad_ready(0)

        result["bucket_s"] = _best_time(bucket_path, args.repeats, comm)
        viewed = nn.Module()
        viewed.weight = nn.Parameter(tg.zeros(count))
        as_view = nn.parallel.DistributedDataParallel(
            viewed, gradient_as_bucket_view=True
        )
        view_reducer = as_view._reducer
        viewed.weight.grad = tg.ones(count)

        def bucket_view_path() -> None:
            view_reducer.prepare(True)
            view_reducer._on_grad_ready(0)

        result["bucket_view_s"] = _best_time(bucket_view_path, args.repeats, comm)
        buffer = np.ones(count, np.float32)
        mpi = _mpi()
        result["mpi4py_s"] = _best_time(
            lambda: comm.Allreduce(mpi.IN_PLACE, buffer, mpi.SUM), args.repeats, comm
        )
    dist.destroy_process_group()
    return result


def _torch_rows(args, world: int, rank: int) -> dict | None:
    try:
        import torch
        import torch.distributed as tdist
    except ImportError:
        return None
    torch.set_num_threads(1)
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(29500 + os.getppid() % 1000))
    tdist.init_process_group("gloo", rank=rank, world_size=world)
    comm = _mpi().COMM_WORLD
    torch.manual_seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(SIZES) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    model = torch.nn.parallel.DistributedDataParallel(net) if world > 1 else net
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    x_np, y_np = _data(world, rank)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    result = {"step_s": _best_time(step, args.steps, comm)}
    tdist.destroy_process_group()
    return result


def _worker(args) -> None:
    world, rank = _mpi().COMM_WORLD.Get_size(), _mpi().COMM_WORLD.Get_rank()
    rows = {"tapegrad": _tapegrad_rows(args, world, rank)}
    if not args.no_torch:
        torch_rows = _torch_rows(args, world, rank)
        if torch_rows is not None:
            rows["torch"] = torch_rows
    if rank == 0:
        print("RESULT " + json.dumps(rows), flush=True)


def _launch(args, world: int) -> dict:
    mpiexec = Path(sys.executable).parent / "mpiexec"
    env = dict(os.environ, TAPEGRAD_NUM_THREADS="1", OMP_NUM_THREADS="1")
    command = [
        str(mpiexec) if mpiexec.exists() else "mpiexec",
        "-n",
        str(world),
        sys.executable,
        __file__,
        "--worker",
        "--steps",
        str(args.steps),
        "--repeats",
        str(args.repeats),
    ] + (["--no-torch"] if args.no_torch else [])
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(one: dict, two: dict) -> str:
    ms = 1e3
    t1, t2 = one["tapegrad"]["step_s"], two["tapegrad"]["step_s"]
    d = two["tapegrad"]
    hidden = min(1.0, max(0.0, 1 - d["exposed_wait_s"] / d["allreduce_s"]))
    gbs = BUCKET_BYTES / 1e9
    note = f"{d['buckets']} buckets; hidden behind backward: {hidden:.0%}"
    lines = [
        "| measure | 1 rank | 2 ranks | note |",
        "|---|---|---|---|",
        _row(
            "tapegrad step (ms)",
            f"{t1 * ms:.1f}",
            f"{t2 * ms:.1f}",
            f"scaling efficiency {t1 / (2 * t2):.2f}",
        ),
        _row(
            "tapegrad step, gradient_as_bucket_view=True (ms)",
            "",
            f"{d['view_step_s'] * ms:.1f}",
            f"scaling efficiency {t1 / (2 * d['view_step_s']):.2f}",
        ),
        _row(
            "tapegrad step under no_sync (ms)",
            "",
            f"{d['no_sync_step_s'] * ms:.1f}",
            "compute only",
        ),
        _row(
            "gradient all-reduce alone (ms)", "", f"{d['allreduce_s'] * ms:.1f}", note
        ),
    ]
    if "torch" in one and "torch" in two:
        p1, p2 = one["torch"]["step_s"], two["torch"]["step_s"]
        ratio = (
            f"tapegrad throughput {p2 / t2:.2f}x PyTorch's at 2 ranks "
            f"({p2 / d['view_step_s']:.2f}x with gradient_as_bucket_view)"
        )
        lines.append(
            _row(
                "PyTorch DDP gloo step (ms)",
                f"{p1 * ms:.1f}",
                f"{p2 * ms:.1f}",
                f"scaling efficiency {p1 / (2 * p2):.2f}; {ratio}",
            )
        )
    else:
        lines.append("| PyTorch DDP gloo step | - | - | torch not installed: skipped |")
    lines += [
        "",
        "| 25 MiB float32 all-reduce, 2 ranks | ms | GB/s | vs mpi4py |",
        "|---|---|---|---|",
    ]
    for label, key in (
        ("mpi4py Allreduce on a NumPy buffer", "mpi4py_s"),
        ("tapegrad.distributed.all_reduce", "collective_s"),
        ("DDP bucket (copy in, Iallreduce, copy to .grad)", "bucket_s"),
        ("DDP bucket, gradient_as_bucket_view=True", "bucket_view_s"),
    ):
        lines.append(
            _row(
                label,
                f"{d[key] * ms:.1f}",
                f"{gbs / d[key]:.2f}",
                f"{d['mpi4py_s'] / d[key]:.2f}x",
            )
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    args = parser.parse_args()
    args.steps = args.steps or (5 if args.quick else 30)
    args.repeats = args.repeats or (3 if args.quick else 15)
    if args.worker:
        _worker(args)
        return
    one, two = _launch(args, 1), _launch(args, 2)
    table = _table(one, two)
    print(table)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    meta = {
        "machine": platform.platform(),
        "cores": os.cpu_count(),
        "steps": args.steps,
        "repeats": args.repeats,
    }
    (out / "distributed.json").write_text(
        json.dumps({"meta": meta, "1": one, "2": two}, indent=1)
    )
    (out / "distributed.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
