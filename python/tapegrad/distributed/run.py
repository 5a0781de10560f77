"""``python -m tapegrad.distributed.run``: start a training script on several ranks.

A convenience over MPI's own launcher (the ``mpich`` wheel's ``mpiexec``, found next
to the running Python first)::

    python -m tapegrad.distributed.run --nproc-per-node 2 train.py --epochs 3
    python -m tapegrad.distributed.run --nproc-per-node 4 --hostfile hosts train.py

runs ``mpiexec -n 2 python train.py --epochs 3``, or, with a hostfile (one host name
per line, MPICH's format), 4 ranks on each host listed. The script calls
``tapegrad.distributed.init_process_group()``, which sizes each rank's thread pool to
the host's cores divided by its ranks there unless ``TAPEGRAD_NUM_THREADS`` is set.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["build_command", "main"]


def _find_mpiexec() -> str:
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        raise SystemExit(
            "tapegrad.distributed.run: no mpiexec next to this Python or on PATH; "
            'install it with pip install "tapegrad[distributed]" (the mpich wheel)'
        )
    return found


def _hosts(hostfile: str) -> list[str]:
    try:
        text = Path(hostfile).read_text()
    except OSError as exc:
        raise SystemExit(f"tapegrad.distributed.run: cannot read {hostfile}: {exc}")
    hosts = [line.split("#")[0].split(":")[0].strip() for line in text.splitlines()]
    hosts = [h for h in hosts if h]
    if not hosts:
        raise SystemExit(f"tapegrad.distributed.run: {hostfile} lists no hosts")
    return hosts


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tapegrad.distributed.run",
        description="Runs a tapegrad training script on several ranks with mpiexec.",
    )
    parser.add_argument(
        "--nproc-per-node",
        "--nproc_per_node",
        type=int,
        default=1,
        help="ranks per host (default 1)",
    )
    parser.add_argument(
        "--hostfile", help="one host per line; NPROC_PER_NODE ranks on each"
    )
    parser.add_argument("--mpiexec", help="the launcher (default: the mpich wheel's)")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the command instead of running"
    )
    parser.add_argument("script", help="the training script")
    parser.add_argument("script_args", nargs=argparse.REMAINDER)
    return parser


def build_command(argv: Sequence[str]) -> list[str]:
    """The ``mpiexec`` command line that ``argv`` (this launcher's arguments) asks for."""
    return _command(_parser().parse_args(list(argv)))


def _command(args: argparse.Namespace) -> list[str]:
    if args.nproc_per_node < 1:
        raise SystemExit(
            f"tapegrad.distributed.run: --nproc-per-node must be >= 1, "
            f"got {args.nproc_per_node}"
        )
    command = [args.mpiexec or _find_mpiexec()]
    ranks = args.nproc_per_node
    if args.hostfile:
        ranks *= len(_hosts(args.hostfile))
        command += ["-f", args.hostfile, "-ppn", str(args.nproc_per_node)]
    return [*command, "-n", str(ranks), sys.executable, args.script, *args.script_args]


def main(argv: Sequence[str] | None = None) -> None:
    """Replaces this process by ``mpiexec`` (its exit code is the job's)."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    command = _command(args)
    if args.dry_run:
        print(" ".join(command))
        return
    sys.stdout.flush()
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
