"""Point-to-point messages and the collectives of picklable Python objects, with
``torch.distributed``'s names.

``send`` sends a record (shape, dtype, tag, sender) ahead of the data, on a communicator
of its own, so that ``recv`` can refuse a tensor that does not fit, naming both, after
receiving and dropping the data (the sender does not hang).
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad._errors import DTypeError, ShapeError

from ._buffers import _mpi_buffer, _written
from ._collectives import _check_tensor, _root
from ._group import ProcessGroup, _resolve, _wait
from ._records import _EXTRAS_AT, _agree, _describe, _record, _record_layout
from ._work import _launch_pending

__all__ = ["all_gather_object", "broadcast_object_list", "recv", "send"]


def send(
    tensor: tg.Tensor, dst: int, group: ProcessGroup | None = None, tag: int = 0
) -> None:
    """Sends ``tensor`` to rank ``dst``; returns once the data has left."""
    _check_tensor(tensor, "send: tensor")
    impl = _resolve(group)
    if impl is None:
        return
    peer = _root(dst, impl, "send: dst")
    record = _record("send", tensor, [tag, impl.rank], group=impl)
    buffer = _mpi_buffer(tensor)[1]
    requests = [
        impl.p2p_records.Isend(record, dest=peer, tag=tag),
        impl.comm.Isend(buffer, dest=peer, tag=tag),
    ]
    _wait(requests, f"send to rank {dst}", lambda: [dst], impl)


def recv(
    tensor: tg.Tensor,
    src: int | None = None,
    group: ProcessGroup | None = None,
    tag: int = 0,
) -> int:
    """Receives into ``tensor`` from rank ``src`` (any rank when None).

    Returns:
        The sender's rank (-1 on a rank that ``group`` leaves out).

    Raises:
        ShapeError, DTypeError: When the sent tensor differs from ``tensor`` (the data
            is received and dropped, so the sender does not hang).
    """
    _check_tensor(tensor, "recv: tensor")
    impl = _resolve(group)
    if impl is None:
        return -1
    peer = None if src is None else _root(src, impl, "recv: src")
    mine = _record("recv", tensor, [tag], group=impl)
    record = np.empty_like(mine)
    source = impl.mpi.ANY_SOURCE if peer is None else peer
    request = impl.p2p_records.Irecv(record, source=source, tag=tag)
    who = "any rank" if src is None else f"rank {src}"
    _wait([request], f"recv from {who}", lambda: [] if src is None else [src], impl)
    sender = int(record[_EXTRAS_AT + 2])
    sender_rank = impl.ranks[sender]
    shape, dtype = _record_layout(record)
    same = (shape, dtype) == _record_layout(mine)
    shared, buffer = _mpi_buffer(tensor) if same else (None, np.empty(shape, dtype))
    _wait(
        [impl.comm.Irecv(buffer, source=sender, tag=tag)],
        f"recv from rank {sender_rank}",
        lambda: [sender_rank],
        impl,
    )
    if shared is None:
        kind = DTypeError if dtype != _record_layout(mine)[1] else ShapeError
        raise kind(
            f"recv: rank {sender_rank} sent {_describe(record)}, the receiving tensor "
            f"has {_describe(mine)}"
        )
    _written(tensor, shared, buffer)
    return sender_rank


# ---- Python objects, pickled (as PyTorch does)


def all_gather_object(
    object_list: list[Any], obj: Any, group: ProcessGroup | None = None
) -> None:
    """Fills ``object_list[r]`` with rank ``r``'s picklable ``obj``, on every rank."""
    impl = _resolve(group)
    if impl is None:
        return
    error = None
    if not isinstance(object_list, list) or len(object_list) != impl.size:
        error = f"object_list must be a list of world size ({impl.size}) entries"
    payload = np.frombuffer(pickle.dumps(obj), np.uint8)
    _agree("all_gather_object", local_error=error, check_tensor=False, group=impl)
    _launch_pending(impl, "all_gather_object")
    sizes = np.empty(impl.size, np.int64)
    _wait(
        [impl.comm.Iallgather(np.array([payload.size], np.int64), sizes)],
        "all_gather_object",
        group=impl,
    )
    gathered = np.empty(int(sizes.sum()), np.uint8)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    _wait(
        [impl.comm.Iallgatherv(payload, [gathered, sizes, offsets, impl.mpi.BYTE])],
        "all_gather_object",
        group=impl,
    )
    for r in range(impl.size):
        start = int(offsets[r])
        object_list[r] = pickle.loads(gathered[start : start + int(sizes[r])].tobytes())


def broadcast_object_list(
    object_list: list[Any],
    src: int = 0,
    group: ProcessGroup | None = None,
    device: Any = None,
) -> None:
    """Replaces the entries of ``object_list`` by rank ``src``'s (picklable) ones."""
    impl = _resolve(group)
    if impl is None:
        return
    root = _root(src, impl, "broadcast_object_list: src")
    error = None if isinstance(object_list, list) else "object_list must be a list"
    count = len(object_list) if error is None else 0
    _agree(
        "broadcast_object_list",
        extras=[src, count],
        extra_names=["src", "len(object_list)"],
        local_error=error,
        check_tensor=False,
        group=impl,
    )
    _launch_pending(impl, "broadcast_object_list")
    payload = (
        np.frombuffer(pickle.dumps(list(object_list)), np.uint8)
        if impl.rank == root
        else np.empty(0, np.uint8)
    )
    size = np.array([payload.size], np.int64)
    _wait([impl.comm.Ibcast(size, root=root)], "broadcast_object_list", group=impl)
    if impl.rank != root:
        payload = np.empty(int(size[0]), np.uint8)
    _wait([impl.comm.Ibcast(payload, root=root)], "broadcast_object_list", group=impl)
    if impl.rank != root:
        object_list[:] = pickle.loads(payload.tobytes())
