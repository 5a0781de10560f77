"""Data-parallel building blocks on MPI, with ``torch.distributed``'s names.

Launch one process per rank with MPI's launcher (the ``mpich`` wheel ships
``mpiexec``), or with ``python -m tapegrad.distributed.run``::

    mpiexec -n 2 python train.py

    # train.py
    import tapegrad as tg
    import tapegrad.distributed as dist

    dist.init_process_group("mpi")
    x = tg.ones(3) * (dist.get_rank() + 1)
    dist.all_reduce(x)  # tensor([3., 3., 3.]) on both ranks

Collectives check their arguments on every rank first, so tensors that differ across
ranks raise the same error everywhere; they wait at most the group's ``timeout`` and
then name the ranks that did not arrive; an exception no one catches ends the whole
job. MPI reads and writes the tensors' own memory (no copies for contiguous tensors).
``async_op=True`` returns a ``Work`` to ``wait()`` on, and ``new_group`` makes groups
of some of the ranks; see ``docs/distributed.md``.
"""

from __future__ import annotations

from ._collectives import (
    ReduceOp,
    all_gather,
    all_gather_into_tensor,
    all_reduce,
    barrier,
    broadcast,
    gather,
    reduce_scatter_tensor,
    scatter,
)
from ._group import (
    DistBackendError,
    DistError,
    GroupMember,
    ProcessGroup,
    destroy_process_group,
    get_local_rank,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
)
from ._p2p import all_gather_object, broadcast_object_list, recv, send
from ._subgroups import (
    get_global_rank,
    get_group_rank,
    get_process_group_ranks,
    new_group,
)
from ._work import Work

__all__ = [
    "DistBackendError",
    "DistError",
    "GroupMember",
    "ProcessGroup",
    "ReduceOp",
    "Work",
    "all_gather",
    "all_gather_into_tensor",
    "all_gather_object",
    "all_reduce",
    "barrier",
    "broadcast",
    "broadcast_object_list",
    "destroy_process_group",
    "gather",
    "get_global_rank",
    "get_group_rank",
    "get_local_rank",
    "get_process_group_ranks",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_initialized",
    "new_group",
    "recv",
    "reduce_scatter_tensor",
    "scatter",
    "send",
]
