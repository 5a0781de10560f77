"""The process group: MPI start-up, rank information, waiting with a deadline, and the
metadata exchange that makes every collective check its arguments on every rank.

Every collective first exchanges a small fixed-size record (which collective, shape,
dtype, op, root) with every other rank, point to point on a communicator of its own.
That costs one small message per peer and buys three things: all ranks see all
records, so a mismatch raises the same clear error everywhere instead of a hang or a
wrong reduction; the records that did not arrive before the deadline name the ranks
that are late; and MPI never sees a collective whose buffers disagree.
"""

from __future__ import annotations

import datetime
import os
import sys
import time
import traceback
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad._errors import ArgumentError, DTypeError, ShapeError, TapegradError

__all__ = ["DistBackendError", "DistError"]

# PyTorch's default collective timeout.
_DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)
_MAX_DIMS = 16
# Record layout: seq, collective, dtype, ndim, shape[16], then extras.
_SHAPE_AT = 4
_EXTRAS_AT = _SHAPE_AT + _MAX_DIMS
_RECORD_LEN = _EXTRAS_AT + 4
_DTYPES = ["float32", "float64", "float16", "int64", "int32", "int8", "uint8", "bool"]
_INSTALL_HINT = 'pip install "tapegrad[distributed]"'


class DistError(TapegradError, RuntimeError):
    """A distributed operation that failed (as ``torch.distributed.DistError``)."""


class DistBackendError(DistError):
    """The transport failed or timed out (as ``torch.distributed.DistBackendError``)."""


for _cls in (DistError, DistBackendError):
    _cls.__module__ = "tapegrad.distributed"
del _cls


def _import_mpi() -> Any:
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(
            f"tapegrad.distributed needs mpi4py and an MPI library: {_INSTALL_HINT} "
            f"(brings mpi4py and the mpich wheel, with its mpiexec) ({exc})"
        ) from exc
    return MPI


class _ProcessGroup:
    """The default (world) group: communicators, rank facts and the timeout."""

    def __init__(self, mpi: Any, timeout: float) -> None:
        self.mpi = mpi
        world = mpi.COMM_WORLD
        # Separate communicators, so that user messages, collective records and
        # point-to-point records never match each other's receives.
        self.comm = world.Dup()
        self.records = world.Dup()
        self.p2p_records = world.Dup()
        local = world.Split_type(mpi.COMM_TYPE_SHARED)
        self.local_rank = local.Get_rank()
        self.local_size = local.Get_size()
        local.Free()
        self.rank = world.Get_rank()
        self.size = world.Get_size()
        self.timeout = timeout
        self.seq = 0

    def free(self) -> None:
        for comm in (self.comm, self.records, self.p2p_records):
            comm.Free()


_group: _ProcessGroup | None = None
_previous_excepthook: Callable[..., Any] | None = None


def _seconds(timeout: Any) -> float:
    if timeout is None:
        return _DEFAULT_TIMEOUT.total_seconds()
    seconds = (
        timeout.total_seconds()
        if isinstance(timeout, datetime.timedelta)
        else float(timeout)
    )
    if not seconds > 0:
        raise ArgumentError(f"timeout must be positive, got {timeout!r}")
    return seconds


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: datetime.timedelta | float | None = None,
    world_size: int = -1,
    rank: int = -1,
) -> None:
    """Joins the job started by ``mpiexec`` (or a single process without it).

    Every rank calls it once before any collective. It also makes an exception that
    no one catches end the whole job (the traceback is printed, then
    ``MPI.COMM_WORLD.Abort``), and sizes the thread pool to this host's cores divided
    by the ranks on this host unless ``TAPEGRAD_NUM_THREADS`` or ``RAYON_NUM_THREADS``
    is set.

    Args:
        backend: ``"mpi"`` (the default and the only backend).
        init_method: Must be None or ``"env://"``: MPI's launcher already told every
            rank where the others are.
        timeout: How long a collective waits for the other ranks before raising
            ``DistBackendError`` (a ``timedelta`` or seconds; 30 minutes by default).
        world_size: If given, checked against the number of MPI ranks.
        rank: If given, checked against this process's MPI rank.

    Raises:
        ImportError: When mpi4py is missing (install ``tapegrad[distributed]``).
        ArgumentError: A second call, an unknown backend, or a rank or world size
            that differs from MPI's.
    """
    global _group, _previous_excepthook
    if _group is not None:
        raise ArgumentError("trying to initialize the default process group twice!")
    if backend not in (None, "mpi"):
        raise ArgumentError(
            f"backend {backend!r} is not available: tapegrad.distributed runs on MPI "
            f'only (backend="mpi")'
        )
    if init_method not in (None, "env://"):
        raise ArgumentError(
            f"init_method {init_method!r} is not supported: ranks find each other "
            f"through the MPI launcher (mpiexec or python -m tapegrad.distributed.run)"
        )
    seconds = _seconds(timeout)
    mpi = _import_mpi()
    group = _ProcessGroup(mpi, seconds)
    for given, actual, what in (
        (world_size, group.size, "world_size"),
        (rank, group.rank, "rank"),
    ):
        if given not in (-1, actual):
            group.free()
            raise ArgumentError(
                f"{what}={given} was passed but MPI says {what} is {actual}: the "
                f"launcher decides it (mpiexec -n N)"
            )
    _group = group
    _previous_excepthook = sys.excepthook
    sys.excepthook = _abort_on_uncaught
    _size_thread_pool(group.local_size)


def _size_thread_pool(local_size: int) -> None:
    if os.environ.get("TAPEGRAD_NUM_THREADS") or os.environ.get("RAYON_NUM_THREADS"):
        return
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    tg.set_num_threads(max(1, cores // local_size))


def _abort_on_uncaught(kind: type, value: BaseException, tb: Any) -> None:
    """Prints the traceback, then ends every rank: the others would wait forever."""
    group = _group
    prefix = f"[rank {group.rank}] " if group is not None else ""
    text = "".join(traceback.format_exception(kind, value, tb))
    sys.stderr.write("".join(prefix + line + "\n" for line in text.splitlines()))
    sys.stderr.flush()
    if group is not None and group.size > 1:
        # mpiexec forwards each rank's output asynchronously and stops forwarding when the
        # job is aborted: give it a moment to pass the traceback on first.
        time.sleep(1.0)
        group.mpi.COMM_WORLD.Abort(1)


def destroy_process_group() -> None:
    """Leaves the group; collectives raise again until ``init_process_group``."""
    global _group
    group = _current()
    group.free()
    _group = None
    if sys.excepthook is _abort_on_uncaught and _previous_excepthook is not None:
        sys.excepthook = _previous_excepthook


def _current() -> _ProcessGroup:
    if _group is None:
        raise ArgumentError(
            "Default process group has not been initialized, please make sure to "
            "call init_process_group."
        )
    return _group


def is_available() -> bool:
    """Whether mpi4py (and so the MPI backend) can be imported."""
    try:
        _import_mpi()
    except ImportError:
        return False
    return True


def is_initialized() -> bool:
    """Whether ``init_process_group`` was called (and not destroyed)."""
    return _group is not None


def get_rank() -> int:
    """This process's rank, 0 to ``get_world_size() - 1``."""
    return _current().rank


def get_world_size() -> int:
    """The number of ranks in the job."""
    return _current().size


def get_local_rank() -> int:
    """This process's rank among the ranks on the same host."""
    return _current().local_rank


# ---- waiting with a deadline

_yield = getattr(os, "sched_yield", lambda: time.sleep(0))


def _wait(
    requests: Sequence[Any],
    collective: str,
    late_ranks: Callable[[], list[int]] | None = None,
) -> None:
    """Waits for MPI requests, polling, and raises once the group's timeout passes.

    Polling (rather than ``Waitall``) is what makes the deadline possible; it also
    drives MPI's progress engine, which MPICH only moves inside MPI calls, so the
    poll never sleeps while a transfer may be under way: it spins for the first
    10 ms (as MPI's own blocking wait does), then yields the core between polls, and
    only after a second (a rank that is late, not a transfer) sleeps 1 ms between them.
    """
    group = _current()
    requests = list(requests)
    start = time.monotonic()
    deadline = start + group.timeout
    while not group.mpi.Request.Testall(requests):
        now = time.monotonic()
        if now > deadline:
            late = late_ranks() if late_ranks is not None else []
            who = (
                f"ranks that did not arrive: {late}"
                if late
                else "every rank arrived, but the transfer did not complete "
                "(a rank may have died)"
            )
            raise DistBackendError(
                f"{collective} timed out after {group.timeout:g} s on rank "
                f"{group.rank}; {who}"
            )
        if now - start > 1.0:
            time.sleep(1e-3)
        elif now - start > 0.001:
            time.sleep(5e-5)


class _Exchange:
    """One record per rank, sent to every other rank without blocking."""

    def __init__(self, collective: str, record: np.ndarray, comm: Any) -> None:
        group = _current()
        self.collective = collective
        self.table = np.empty((group.size, _RECORD_LEN), np.int64)
        self.table[group.rank] = record
        self.peers = [r for r in range(group.size) if r != group.rank]
        self.receives = [comm.Irecv(self.table[r], source=r, tag=7) for r in self.peers]
        self.sends = [
            comm.Isend(self.table[group.rank], dest=r, tag=7) for r in self.peers
        ]

    def _late(self) -> list[int]:
        return [r for r, req in zip(self.peers, self.receives) if not req.Test()]

    def wait(self) -> np.ndarray:
        _wait(self.receives + self.sends, self.collective, self._late)
        return self.table


def _record(
    collective: str,
    tensor: tg.Tensor | None = None,
    extras: Sequence[int] = (),
    error: bool = False,
) -> np.ndarray:
    group = _current()
    group.seq += 1
    record = np.zeros(_RECORD_LEN, np.int64)
    record[0] = group.seq
    record[1] = zlib.crc32(collective.encode())  # which collective
    if tensor is not None:
        shape = tuple(tensor.shape)
        if len(shape) > _MAX_DIMS:
            raise ShapeError(
                f"{collective}: tensors of more than {_MAX_DIMS} dimensions are not "
                f"supported, got shape {shape}"
            )
        record[2] = _DTYPES.index(tensor.dtype.name) + 1
        record[3] = len(shape)
        record[_SHAPE_AT : _SHAPE_AT + len(shape)] = shape
    record[_EXTRAS_AT] = int(error)
    record[_EXTRAS_AT + 1 : _EXTRAS_AT + 1 + len(extras)] = extras
    return record


def _record_layout(row: np.ndarray) -> tuple[tuple[int, ...], np.dtype | None]:
    """The shape and NumPy dtype a record describes (dtype None: no tensor)."""
    shape = tuple(int(n) for n in row[_SHAPE_AT : _SHAPE_AT + int(row[3])])
    return shape, np.dtype(_DTYPES[int(row[2]) - 1]) if row[2] else None


def _describe(row: np.ndarray) -> str:
    shape, dtype = _record_layout(row)
    return f"shape {shape} {dtype if dtype is not None else 'no tensor'}"


def _agree(
    collective: str,
    tensor: tg.Tensor | None = None,
    extras: Sequence[int] = (),
    extra_names: Sequence[str] = (),
    local_error: str | None = None,
    check_tensor: bool = True,
) -> np.ndarray:
    """Exchanges records with every rank and raises the same error on all of them
    when they disagree; returns the table (one row per rank).

    ``local_error`` is this rank's own argument error: it is raised here, and the
    other ranks raise an error naming this rank, so none of them waits for it.
    """
    group = _current()
    record = _record(collective, tensor, extras, local_error is not None)
    table = (
        record[None, :]
        if group.size == 1
        else _Exchange(collective, record, group.records).wait()
    )
    if local_error is not None:
        raise ArgumentError(f"{collective} on rank {group.rank}: {local_error}")
    failed = [r for r in range(group.size) if table[r, _EXTRAS_AT]]
    if failed:
        raise ArgumentError(
            f"{collective}: rank(s) {failed} passed invalid arguments (their error "
            f"says which); no data was exchanged"
        )
    first = table[0]
    for r in range(1, group.size):
        row = table[r]
        if row[0] != first[0] or row[1] != first[1]:
            raise DistError(
                f"{collective}: the ranks are not in the same collective call "
                f"(call number {first[0]} on rank 0, {row[0]} on rank {r}, with "
                f"different collectives): every rank must issue collectives in the "
                f"same order"
            )
        if check_tensor and row[2] != first[2]:
            raise DTypeError(
                f"{collective}: tensors differ in dtype across ranks: rank 0 has "
                f"{_describe(first)}, rank {r} has {_describe(row)}"
            )
        if check_tensor and not np.array_equal(row[3:_EXTRAS_AT], first[3:_EXTRAS_AT]):
            raise ShapeError(
                f"{collective}: tensors differ in shape across ranks: rank 0 has "
                f"{_describe(first)}, rank {r} has {_describe(row)}"
            )
        for k, name in enumerate(extra_names):
            a, b = first[_EXTRAS_AT + 1 + k], row[_EXTRAS_AT + 1 + k]
            if a != b:
                raise ArgumentError(
                    f"{collective}: {name} differs across ranks: {a} on rank 0, "
                    f"{b} on rank {r}"
                )
    return table
