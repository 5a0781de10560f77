"""Collectives and point-to-point messages with ``torch.distributed``'s names.

Each one checks its arguments on every rank first (``_agree``), then runs MPI's
non-blocking version on NumPy buffers and waits for it with the group's deadline.
Results are written into the tensors in place (their version counter moves).
"""

from __future__ import annotations

import enum
import pickle
from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad._errors import ArgumentError, DTypeError, ShapeError

from ._buffers import _from_buffer, _to_buffer
from ._group import (
    _EXTRAS_AT,
    _agree,
    _current,
    _describe,
    _record,
    _record_layout,
    _wait,
)

__all__ = [
    "ReduceOp",
    "all_gather",
    "all_gather_into_tensor",
    "all_gather_object",
    "all_reduce",
    "barrier",
    "broadcast",
    "broadcast_object_list",
    "gather",
    "recv",
    "reduce_scatter_tensor",
    "scatter",
    "send",
]


class ReduceOp(enum.Enum):
    """How ``all_reduce`` and ``reduce_scatter_tensor`` combine the ranks' values."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4


ReduceOp.__module__ = "tapegrad.distributed"


def _mpi_op(op: Any) -> Any:
    if not isinstance(op, ReduceOp):
        raise ArgumentError(f"op must be a tapegrad.distributed.ReduceOp, got {op!r}")
    mpi = _current().mpi
    return {
        ReduceOp.SUM: mpi.SUM,
        ReduceOp.AVG: mpi.SUM,  # then divided by the world size
        ReduceOp.PRODUCT: mpi.PROD,
        ReduceOp.MIN: mpi.MIN,
        ReduceOp.MAX: mpi.MAX,
    }[op]


def _check_tensor(value: Any, what: str) -> None:
    if not isinstance(value, tg.Tensor):
        raise ArgumentError(
            f"{what} must be a tapegrad.Tensor, got {type(value).__name__}"
        )


def _check_rank(value: Any, what: str) -> None:
    size = _current().size
    if not isinstance(value, int) or not 0 <= value < size:
        raise ArgumentError(
            f"{what}={value!r} is not a rank of this job (0 to {size - 1})"
        )


def barrier() -> None:
    """Returns once every rank has called it (or raises after the timeout)."""
    _agree("barrier", check_tensor=False)


def all_reduce(tensor: tg.Tensor, op: ReduceOp = ReduceOp.SUM) -> None:
    """Combines ``tensor`` across ranks with ``op``; every rank gets the result in place.

    Raises:
        ShapeError, DTypeError: On every rank, when the ranks' tensors differ.
        DistBackendError: When a rank does not arrive within the timeout.
    """
    _check_tensor(tensor, "all_reduce: tensor")
    mpi_op = _mpi_op(op)
    _agree("all_reduce", tensor, [op.value], ["op"])
    group = _current()
    buffer = _to_buffer(tensor)
    _wait([group.comm.Iallreduce(group.mpi.IN_PLACE, buffer, mpi_op)], "all_reduce")
    if op is ReduceOp.AVG:
        buffer /= group.size
    _from_buffer(tensor, buffer)


def broadcast(tensor: tg.Tensor, src: int) -> None:
    """Copies rank ``src``'s ``tensor`` into ``tensor`` on every other rank."""
    _check_tensor(tensor, "broadcast: tensor")
    _check_rank(src, "broadcast: src")
    _agree("broadcast", tensor, [src], ["src"])
    group = _current()
    buffer = _to_buffer(tensor)
    _wait([group.comm.Ibcast(buffer, root=src)], "broadcast")
    if group.rank != src:
        _from_buffer(tensor, buffer)


def _outputs_error(
    outputs: Any, tensor: tg.Tensor, count: int, what: str
) -> str | None:
    """Why a list of output tensors cannot take ``count`` tensors like ``tensor``."""
    if not isinstance(outputs, list) or len(outputs) != count:
        got = len(outputs) if isinstance(outputs, list) else type(outputs).__name__
        return f"{what} must be a list of {count} tensors (the world size), got {got}"
    for i, out in enumerate(outputs):
        if not isinstance(out, tg.Tensor):
            return f"{what}[{i}] is a {type(out).__name__}, not a tapegrad.Tensor"
        if tuple(out.shape) != tuple(tensor.shape) or out.dtype != tensor.dtype:
            return (
                f"{what}[{i}] has shape {tuple(out.shape)} {out.dtype.name}, the "
                f"tensor has {tuple(tensor.shape)} {tensor.dtype.name}"
            )
    return None


def all_gather(tensor_list: list[tg.Tensor], tensor: tg.Tensor) -> None:
    """Fills ``tensor_list[r]`` with rank ``r``'s ``tensor``, on every rank."""
    _check_tensor(tensor, "all_gather: tensor")
    group = _current()
    error = _outputs_error(tensor_list, tensor, group.size, "tensor_list")
    _agree("all_gather", tensor, local_error=error)
    gathered = np.empty((group.size, *tensor.shape), _to_buffer(tensor).dtype)
    _wait([group.comm.Iallgather(_to_buffer(tensor), gathered)], "all_gather")
    for out, part in zip(tensor_list, gathered):
        _from_buffer(out, part)


def _sized_error(
    big: tg.Tensor, small: tg.Tensor, big_name: str, small_name: str
) -> str | None:
    """Why ``big`` cannot hold world-size copies of ``small``."""
    size = _current().size
    if big.dtype != small.dtype:
        return f"{big_name} is {big.dtype.name}, {small_name} is {small.dtype.name}"
    if big.numel() != size * small.numel():
        return (
            f"{big_name} of shape {tuple(big.shape)} must have world size ({size}) "
            f"times the elements of {small_name} of shape {tuple(small.shape)}"
        )
    return None


def all_gather_into_tensor(output_tensor: tg.Tensor, input_tensor: tg.Tensor) -> None:
    """Concatenates every rank's ``input_tensor`` (rank order) into ``output_tensor``.

    ``output_tensor`` has world-size times the elements: shape ``(size * n, ...)`` for
    concatenation or ``(size, n, ...)`` for stacking, as in PyTorch.
    """
    _check_tensor(output_tensor, "all_gather_into_tensor: output_tensor")
    _check_tensor(input_tensor, "all_gather_into_tensor: input_tensor")
    error = _sized_error(output_tensor, input_tensor, "output_tensor", "input_tensor")
    _agree("all_gather_into_tensor", input_tensor, local_error=error)
    group = _current()
    gathered = _to_buffer(output_tensor)
    _wait(
        [group.comm.Iallgather(_to_buffer(input_tensor), gathered)],
        "all_gather_into_tensor",
    )
    _from_buffer(output_tensor, gathered)


def reduce_scatter_tensor(
    output: tg.Tensor, input: tg.Tensor, op: ReduceOp = ReduceOp.SUM
) -> None:
    """Reduces ``input`` across ranks with ``op`` and gives rank ``r`` its ``r``-th
    block (``input`` holds world-size blocks of ``output``'s size, in order)."""
    _check_tensor(output, "reduce_scatter_tensor: output")
    _check_tensor(input, "reduce_scatter_tensor: input")
    mpi_op = _mpi_op(op)
    error = _sized_error(input, output, "input", "output")
    _agree("reduce_scatter_tensor", input, [op.value], ["op"], local_error=error)
    group = _current()
    block = _to_buffer(output)
    _wait(
        [group.comm.Ireduce_scatter_block(_to_buffer(input), block, mpi_op)],
        "reduce_scatter_tensor",
    )
    if op is ReduceOp.AVG:
        block /= group.size
    _from_buffer(output, block)


def gather(
    tensor: tg.Tensor, gather_list: list[tg.Tensor] | None = None, dst: int = 0
) -> None:
    """Collects every rank's ``tensor`` into ``gather_list`` on rank ``dst`` only."""
    _check_tensor(tensor, "gather: tensor")
    _check_rank(dst, "gather: dst")
    group = _current()
    error = None
    if group.rank == dst:
        error = _outputs_error(gather_list, tensor, group.size, "gather_list")
    elif gather_list is not None:
        error = "gather_list must be None on ranks other than dst"
    _agree("gather", tensor, [dst], ["dst"], local_error=error)
    gathered = (
        np.empty((group.size, *tensor.shape), _to_buffer(tensor).dtype)
        if group.rank == dst
        else None
    )
    _wait([group.comm.Igather(_to_buffer(tensor), gathered, root=dst)], "gather")
    if gathered is not None and gather_list is not None:
        for out, part in zip(gather_list, gathered):
            _from_buffer(out, part)


def scatter(
    tensor: tg.Tensor, scatter_list: list[tg.Tensor] | None = None, src: int = 0
) -> None:
    """Gives rank ``r`` the tensor ``scatter_list[r]`` of rank ``src``, in ``tensor``."""
    _check_tensor(tensor, "scatter: tensor")
    _check_rank(src, "scatter: src")
    group = _current()
    error = None
    if group.rank == src:
        error = _outputs_error(scatter_list, tensor, group.size, "scatter_list")
    elif scatter_list is not None:
        error = "scatter_list must be None on ranks other than src"
    _agree("scatter", tensor, [src], ["src"], local_error=error)
    block = _to_buffer(tensor)
    parts = None
    if group.rank == src and scatter_list is not None:
        parts = np.stack([_to_buffer(t) for t in scatter_list])
    _wait([group.comm.Iscatter(parts, block, root=src)], "scatter")
    _from_buffer(tensor, block)


# ---- point to point: a record (dtype and shape) goes first, then the data


def send(tensor: tg.Tensor, dst: int, tag: int = 0) -> None:
    """Sends ``tensor`` to rank ``dst``; returns once the data has left."""
    _check_tensor(tensor, "send: tensor")
    _check_rank(dst, "send: dst")
    group = _current()
    record = _record("send", tensor, [tag, group.rank])
    requests = [
        group.p2p_records.Isend(record, dest=dst, tag=tag),
        group.comm.Isend(_to_buffer(tensor), dest=dst, tag=tag),
    ]
    _wait(requests, f"send to rank {dst}", lambda: [dst])


def recv(tensor: tg.Tensor, src: int | None = None, tag: int = 0) -> int:
    """Receives into ``tensor`` from rank ``src`` (any rank when None).

    Returns:
        The sender's rank.

    Raises:
        ShapeError, DTypeError: When the sent tensor differs from ``tensor`` (the data
            is received and dropped, so the sender does not hang).
    """
    _check_tensor(tensor, "recv: tensor")
    if src is not None:
        _check_rank(src, "recv: src")
    group = _current()
    mine = _record("recv", tensor, [tag])
    record = np.empty_like(mine)
    source = group.mpi.ANY_SOURCE if src is None else src
    request = group.p2p_records.Irecv(record, source=source, tag=tag)
    who = "any rank" if src is None else f"rank {src}"
    _wait([request], f"recv from {who}", lambda: [] if src is None else [src])
    sender = int(record[_EXTRAS_AT + 2])
    shape, dtype = _record_layout(record)
    same = (shape, dtype) == _record_layout(mine)
    buffer = _to_buffer(tensor) if same else np.empty(shape, dtype)
    _wait(
        [group.comm.Irecv(buffer, source=sender, tag=tag)],
        f"recv from rank {sender}",
        lambda: [sender],
    )
    if not same:
        kind = DTypeError if dtype != _record_layout(mine)[1] else ShapeError
        raise kind(
            f"recv: rank {sender} sent {_describe(record)}, the receiving tensor "
            f"has {_describe(mine)}"
        )
    _from_buffer(tensor, buffer)
    return sender


# ---- Python objects, pickled (as PyTorch does)


def all_gather_object(object_list: list[Any], obj: Any) -> None:
    """Fills ``object_list[r]`` with rank ``r``'s picklable ``obj``, on every rank."""
    group = _current()
    error = None
    if not isinstance(object_list, list) or len(object_list) != group.size:
        error = f"object_list must be a list of world size ({group.size}) entries"
    payload = np.frombuffer(pickle.dumps(obj), np.uint8)
    _agree("all_gather_object", local_error=error, check_tensor=False)
    sizes = np.empty(group.size, np.int64)
    _wait(
        [group.comm.Iallgather(np.array([payload.size], np.int64), sizes)],
        "all_gather_object",
    )
    gathered = np.empty(int(sizes.sum()), np.uint8)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    _wait(
        [group.comm.Iallgatherv(payload, [gathered, sizes, offsets, group.mpi.BYTE])],
        "all_gather_object",
    )
    for r in range(group.size):
        start = int(offsets[r])
        object_list[r] = pickle.loads(gathered[start : start + int(sizes[r])].tobytes())


def broadcast_object_list(object_list: list[Any], src: int = 0) -> None:
    """Replaces the entries of ``object_list`` by rank ``src``'s (picklable) ones."""
    _check_rank(src, "broadcast_object_list: src")
    group = _current()
    error = None if isinstance(object_list, list) else "object_list must be a list"
    count = len(object_list) if error is None else 0
    _agree(
        "broadcast_object_list",
        extras=[src, count],
        extra_names=["src", "len(object_list)"],
        local_error=error,
        check_tensor=False,
    )
    payload = (
        np.frombuffer(pickle.dumps(list(object_list)), np.uint8)
        if group.rank == src
        else np.empty(0, np.uint8)
    )
    size = np.array([payload.size], np.int64)
    _wait([group.comm.Ibcast(size, root=src)], "broadcast_object_list")
    if group.rank != src:
        payload = np.empty(int(size[0]), np.uint8)
    _wait([group.comm.Ibcast(payload, root=src)], "broadcast_object_list")
    if group.rank != src:
        object_list[:] = pickle.loads(payload.tobytes())
