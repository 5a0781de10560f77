"""Groups of some of the job's ranks: ``new_group`` and the rank arithmetic between the
job and a group (``torch.distributed``'s names)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from tapegrad._errors import ArgumentError

from ._group import (
    GroupMember,
    ProcessGroup,
    _current,
    _ProcessGroup,
    _resolve,
    _seconds,
)

__all__ = [
    "get_global_rank",
    "get_group_rank",
    "get_process_group_ranks",
    "new_group",
]


def get_process_group_ranks(group: ProcessGroup) -> list[int]:
    """The job's ranks that ``group`` holds, in group-rank order."""
    impl = _resolve(group)
    if impl is None:
        raise ArgumentError("this rank is not in the group, which it cannot inspect")
    return list(impl.ranks)


def get_global_rank(group: ProcessGroup, group_rank: int) -> int:
    """The job's rank of ``group``'s rank ``group_rank``."""
    ranks = get_process_group_ranks(group)
    if not isinstance(group_rank, int) or not 0 <= group_rank < len(ranks):
        raise ArgumentError(f"group rank {group_rank!r} is not in the group {ranks}")
    return ranks[group_rank]


def get_group_rank(group: ProcessGroup, global_rank: int) -> int:
    """``global_rank``'s rank in ``group``."""
    impl = _resolve(group)
    if impl is None:
        raise ArgumentError("this rank is not in the group, which it cannot inspect")
    return impl.group_rank(global_rank, "global_rank")


def new_group(
    ranks: Sequence[int] | None = None,
    timeout: datetime.timedelta | float | None = None,
    backend: str | None = None,
    pg_options: Any = None,
    use_local_synchronization: bool = False,
    group_desc: str | None = None,
) -> Any:
    """A group of some of the job's ranks, for collectives among them only.

    Every rank of the job calls it with the same ``ranks`` (or, with
    ``use_local_synchronization=True``, only the ranks in ``ranks``), as in PyTorch.

    Args:
        ranks: The job's ranks in the group (all of them when None); the group's
            ranks follow their order sorted.
        timeout: The group's collective timeout (the default group's when None).
        backend: None or ``"mpi"``.
        pg_options: Must be None (MPI has no options to pass).
        use_local_synchronization: Only the group's ranks call ``new_group``
            (``MPI_Comm_create_group``) instead of every rank (``MPI_Comm_split``).
        group_desc: A name shown by ``repr``.

    Returns:
        The ``ProcessGroup`` on its ranks, ``GroupMember.NON_GROUP_MEMBER`` elsewhere.
    """
    world = _current()
    if backend not in (None, "mpi"):
        raise ArgumentError(f"backend {backend!r} is not available: MPI only")
    if pg_options is not None:
        raise ArgumentError("pg_options is not supported by the MPI backend")
    members = sorted(range(world.size) if ranks is None else ranks)
    if len(set(members)) != len(members) or any(
        not isinstance(r, int) or not 0 <= r < world.size for r in members
    ):
        raise ArgumentError(
            f"new_group: ranks must be distinct ranks of the job (0 to "
            f"{world.size - 1}), got {list(ranks or [])}"
        )
    seconds = world.timeout if timeout is None else _seconds(timeout)
    mpi, inside = world.mpi, world.rank in members
    if use_local_synchronization:
        if not inside:
            return GroupMember.NON_GROUP_MEMBER
        everyone = world.comm.Get_group()
        subset = everyone.Incl(members)
        comm = world.comm.Create_group(subset)
        subset.Free()
        everyone.Free()
    else:
        color = 0 if inside else mpi.UNDEFINED
        comm = world.comm.Split(color, members.index(world.rank) if inside else 0)
        if not inside:
            return GroupMember.NON_GROUP_MEMBER
    impl = _ProcessGroup(mpi, comm, seconds, members)
    comm.Free()
    desc = group_desc or f"group of ranks {members}"
    return ProcessGroup(impl, desc)
