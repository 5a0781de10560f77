"""Process groups: MPI start-up, rank information, subgroups (``new_group``) and waiting
with a deadline.

Every group has three MPI communicators of its own (data, collective records,
point-to-point records; see ``_records.py`` for the records), so the messages of two
groups, or of the records and the data, never match each other's receives.
"""

from __future__ import annotations

import datetime
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import tapegrad as tg
from tapegrad._errors import ArgumentError, TapegradError

__all__ = ["DistBackendError", "DistError", "GroupMember", "ProcessGroup"]

# PyTorch's default collective timeout.
_DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)
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
    """One group's communicators, rank facts, timeout and queue of collectives."""

    def __init__(self, mpi: Any, comm: Any, timeout: float, ranks: list[int]) -> None:
        self.mpi = mpi
        # Separate communicators, so that user messages, collective records and
        # point-to-point records never match each other's receives.
        self.comm = comm.Dup()
        self.records = comm.Dup()
        self.p2p_records = comm.Dup()
        local = comm.Split_type(mpi.COMM_TYPE_SHARED)
        self.local_rank = local.Get_rank()
        self.local_size = local.Get_size()
        local.Free()
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.ranks = ranks  # global rank of each group rank
        self.timeout = timeout
        self.seq = 0
        self.queue: list[Any] = []  # Works not finished yet, in issue order (_work.py)

    def free(self) -> None:
        for comm in (self.comm, self.records, self.p2p_records):
            comm.Free()

    def group_rank(self, global_rank: int, what: str) -> int:
        """The rank in this group of the job's rank ``global_rank``."""
        if global_rank not in self.ranks:
            raise ArgumentError(
                f"{what}={global_rank!r} is not a rank of this group (its ranks: "
                f"{self.ranks})"
            )
        return self.ranks.index(global_rank)


class ProcessGroup:
    """Ranks that run collectives together (``torch.distributed.ProcessGroup``).

    The default group (``GroupMember.WORLD``) holds every rank; ``new_group`` makes the
    others. Pass one as ``group=`` to a collective; ranks given as ``src`` or ``dst``
    are the job's ranks, as in PyTorch.
    """

    def __init__(self, impl: _ProcessGroup, desc: str) -> None:
        self._impl = impl
        self.group_desc = desc

    def rank(self) -> int:
        """This process's rank in the group."""
        return self._impl.rank

    def size(self) -> int:
        """The number of ranks in the group."""
        return self._impl.size

    def __repr__(self) -> str:
        return f"ProcessGroup({self.group_desc!r}, ranks={self._impl.ranks})"


class GroupMember:
    """``WORLD``: the default group (None before ``init_process_group``);
    ``NON_GROUP_MEMBER``: what ``new_group`` returns on the ranks it leaves out."""

    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER: Any = object()


ProcessGroup.__module__ = "tapegrad.distributed"
GroupMember.__module__ = "tapegrad.distributed"


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
    world = mpi.COMM_WORLD
    group = _ProcessGroup(mpi, world, seconds, list(range(world.Get_size())))
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
    GroupMember.WORLD = ProcessGroup(group, "default_pg")
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
    """Leaves the default group; collectives raise again until ``init_process_group``.
    (Groups made by ``new_group`` are freed with their last reference.)"""
    global _group
    group = _current()
    group.free()
    _group = None
    GroupMember.WORLD = None
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


def _resolve(group: Any) -> _ProcessGroup | None:
    """The group a collective runs on: the default one for None, None for a rank that
    ``group`` leaves out (the collective then does nothing there, as in PyTorch)."""
    if group is None:
        return _current()
    if group is GroupMember.NON_GROUP_MEMBER:
        _current()
        return None
    if not isinstance(group, ProcessGroup):
        raise ArgumentError(
            f"group must be a ProcessGroup from new_group() (or None for the default "
            f"group), got {type(group).__name__}"
        )
    return group._impl


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in ``group`` (the whole job by default); -1 outside it."""
    impl = _resolve(group)
    return -1 if impl is None else impl.rank


def get_world_size(group: ProcessGroup | None = None) -> int:
    """The number of ranks in ``group`` (the whole job by default); -1 outside it."""
    impl = _resolve(group)
    return -1 if impl is None else impl.size


def get_local_rank() -> int:
    """This process's rank among the ranks on the same host."""
    return _current().local_rank


# ---- waiting with a deadline


def _poll(
    done: Callable[[], bool],
    what: str,
    late_ranks: Callable[[], list[int]] | None = None,
    group: _ProcessGroup | None = None,
    timeout: float | None = None,
) -> None:
    """Calls ``done`` until it is true, and raises once the group's timeout passes.

    Polling (rather than ``Waitall``) is what makes the deadline possible; it also
    drives MPI's progress engine, which MPICH only moves inside MPI calls, so the
    poll never sleeps while a transfer may be under way: it spins for the first
    1 ms (as MPI's own blocking wait does), then sleeps 50 µs between polls, and
    only after a second (a rank that is late, not a transfer) 1 ms between them.
    """
    group = group or _current()
    seconds = group.timeout if timeout is None else timeout
    start = time.monotonic()
    deadline = start + seconds
    while not done():
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
                f"{what} timed out after {seconds:g} s on rank {group.rank}; {who}"
            )
        if now - start > 1.0:
            time.sleep(1e-3)
        elif now - start > 0.001:
            time.sleep(5e-5)


def _wait(
    requests: Sequence[Any],
    what: str,
    late_ranks: Callable[[], list[int]] | None = None,
    group: _ProcessGroup | None = None,
) -> None:
    """Waits for MPI requests with the group's deadline (``_poll``)."""
    group = group or _current()
    requests = list(requests)
    _poll(lambda: group.mpi.Request.Testall(requests), what, late_ranks, group)
