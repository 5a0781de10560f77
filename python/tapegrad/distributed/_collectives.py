"""Collectives with ``torch.distributed``'s names (point to point: ``_p2p.py``).

Each collective prepares its buffers (so that nothing can fail on one rank after the
records are out), then checks its arguments on every rank of its group (``_records.py``),
then runs MPI's non-blocking version directly on the tensors' memory (``_buffers.py``)
and, unless ``async_op=True`` asks for a ``Work`` to wait on, waits for it with the
group's deadline. Results are written into the tensors in place (their version counter
moves). On a rank that ``group`` leaves out, a collective does nothing and returns None,
as in PyTorch.
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad._errors import ArgumentError

from ._buffers import _mpi_buffer, _write, _written
from ._group import ProcessGroup, _ProcessGroup, _resolve
from ._records import _Agreement
from ._work import Work, _run

__all__ = [
    "ReduceOp",
    "all_gather",
    "all_gather_into_tensor",
    "all_reduce",
    "barrier",
    "broadcast",
    "gather",
    "reduce_scatter_tensor",
    "scatter",
]


class ReduceOp(enum.Enum):
    """How ``all_reduce`` and ``reduce_scatter_tensor`` combine the ranks' values."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4


ReduceOp.__module__ = "tapegrad.distributed"


def _mpi_op(op: Any, group: _ProcessGroup) -> Any:
    if not isinstance(op, ReduceOp):
        raise ArgumentError(f"op must be a tapegrad.distributed.ReduceOp, got {op!r}")
    mpi = group.mpi
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


def _root(value: Any, group: _ProcessGroup, what: str) -> int:
    """The group rank of the job's rank ``value`` (a ``src`` or ``dst``)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ArgumentError(f"{what} must be a rank (an int), got {value!r}")
    return group.group_rank(value, what)


def barrier(
    group: ProcessGroup | None = None, async_op: bool = False, device_ids: Any = None
) -> Work | None:
    """Returns once every rank of ``group`` has called it (or raises after the
    timeout)."""
    impl = _resolve(group)
    if impl is None:
        return None
    return _run(async_op, _Agreement("barrier", check_tensor=False, group=impl), list)


def all_reduce(
    tensor: tg.Tensor,
    op: ReduceOp = ReduceOp.SUM,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Combines ``tensor`` across ranks with ``op``; every rank gets the result in place.

    Returns:
        A ``Work`` to ``wait()`` on with ``async_op=True``, else None (it is done).

    Raises:
        ShapeError, DTypeError: On every rank, when the ranks' tensors differ.
        DistBackendError: When a rank does not arrive within the timeout.
    """
    _check_tensor(tensor, "all_reduce: tensor")
    impl = _resolve(group)
    if impl is None:
        return None
    mpi_op = _mpi_op(op, impl)
    shared, buffer = _mpi_buffer(tensor)
    agreement = _Agreement("all_reduce", tensor, [op.value], ["op"], group=impl)

    def finish() -> None:
        if op is ReduceOp.AVG:
            np.divide(buffer, impl.size, out=buffer, casting="unsafe")
        _written(tensor, shared, buffer)

    def launch() -> list[Any]:
        return [impl.comm.Iallreduce(impl.mpi.IN_PLACE, buffer, mpi_op)]

    return _run(async_op, agreement, launch, finish)


def broadcast(
    tensor: tg.Tensor,
    src: int,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Copies rank ``src``'s ``tensor`` into ``tensor`` on every other rank."""
    _check_tensor(tensor, "broadcast: tensor")
    impl = _resolve(group)
    if impl is None:
        return None
    root = _root(src, impl, "broadcast: src")
    shared, buffer = _mpi_buffer(tensor)
    agreement = _Agreement("broadcast", tensor, [src], ["src"], group=impl)

    def finish() -> None:
        if impl.rank != root:
            _written(tensor, shared, buffer)

    def launch() -> list[Any]:
        return [impl.comm.Ibcast(buffer, root=root)]

    return _run(async_op, agreement, launch, finish)


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


def _stacked(send: np.ndarray, count: int) -> np.ndarray:
    """A receive buffer for ``count`` arrays like ``send``."""
    return np.empty((count, *send.shape), send.dtype)


def all_gather(
    tensor_list: list[tg.Tensor],
    tensor: tg.Tensor,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Fills ``tensor_list[r]`` with rank ``r``'s ``tensor``, on every rank."""
    _check_tensor(tensor, "all_gather: tensor")
    impl = _resolve(group)
    if impl is None:
        return None
    error = _outputs_error(tensor_list, tensor, impl.size, "tensor_list")
    send = _mpi_buffer(tensor)[1]
    gathered = _stacked(send, impl.size)
    agreement = _Agreement("all_gather", tensor, local_error=error, group=impl)

    def finish() -> None:
        for out, part in zip(tensor_list, gathered):
            _write(out, part)

    def launch() -> list[Any]:
        return [impl.comm.Iallgather(send, gathered)]

    return _run(async_op, agreement, launch, finish)


def _sized_error(
    big: tg.Tensor, small: tg.Tensor, big_name: str, small_name: str, size: int
) -> str | None:
    """Why ``big`` cannot hold world-size copies of ``small``."""
    if big.dtype != small.dtype:
        return f"{big_name} is {big.dtype.name}, {small_name} is {small.dtype.name}"
    if big.numel() != size * small.numel():
        return (
            f"{big_name} of shape {tuple(big.shape)} must have world size ({size}) "
            f"times the elements of {small_name} of shape {tuple(small.shape)}"
        )
    return None


def all_gather_into_tensor(
    output_tensor: tg.Tensor,
    input_tensor: tg.Tensor,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Concatenates every rank's ``input_tensor`` (rank order) into ``output_tensor``.

    ``output_tensor`` has world-size times the elements: shape ``(size * n, ...)`` for
    concatenation or ``(size, n, ...)`` for stacking, as in PyTorch.
    """
    _check_tensor(output_tensor, "all_gather_into_tensor: output_tensor")
    _check_tensor(input_tensor, "all_gather_into_tensor: input_tensor")
    impl = _resolve(group)
    if impl is None:
        return None
    error = _sized_error(
        output_tensor, input_tensor, "output_tensor", "input_tensor", impl.size
    )
    send = _mpi_buffer(input_tensor)[1]
    shared, gathered = _mpi_buffer(output_tensor)
    agreement = _Agreement(
        "all_gather_into_tensor", input_tensor, local_error=error, group=impl
    )

    def launch() -> list[Any]:
        return [impl.comm.Iallgather(send, gathered)]

    return _run(
        async_op, agreement, launch, lambda: _written(output_tensor, shared, gathered)
    )


def reduce_scatter_tensor(
    output: tg.Tensor,
    input: tg.Tensor,
    op: ReduceOp = ReduceOp.SUM,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Reduces ``input`` across ranks with ``op`` and gives rank ``r`` its ``r``-th
    block (``input`` holds world-size blocks of ``output``'s size, in order)."""
    _check_tensor(output, "reduce_scatter_tensor: output")
    _check_tensor(input, "reduce_scatter_tensor: input")
    impl = _resolve(group)
    if impl is None:
        return None
    mpi_op = _mpi_op(op, impl)
    error = _sized_error(input, output, "input", "output", impl.size)
    send = _mpi_buffer(input)[1]
    shared, block = _mpi_buffer(output)
    agreement = _Agreement(
        "reduce_scatter_tensor", input, [op.value], ["op"], error, group=impl
    )

    def finish() -> None:
        if op is ReduceOp.AVG:
            np.divide(block, impl.size, out=block, casting="unsafe")
        _written(output, shared, block)

    def launch() -> list[Any]:
        return [impl.comm.Ireduce_scatter_block(send, block, mpi_op)]

    return _run(async_op, agreement, launch, finish)


def gather(
    tensor: tg.Tensor,
    gather_list: list[tg.Tensor] | None = None,
    dst: int = 0,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Collects every rank's ``tensor`` into ``gather_list`` on rank ``dst`` only."""
    _check_tensor(tensor, "gather: tensor")
    impl = _resolve(group)
    if impl is None:
        return None
    root = _root(dst, impl, "gather: dst")
    error = None
    if impl.rank == root:
        error = _outputs_error(gather_list, tensor, impl.size, "gather_list")
    elif gather_list is not None:
        error = "gather_list must be None on ranks other than dst"
    send = _mpi_buffer(tensor)[1]
    gathered = _stacked(send, impl.size) if impl.rank == root else None
    agreement = _Agreement("gather", tensor, [dst], ["dst"], error, group=impl)

    def finish() -> None:
        if gathered is not None and gather_list is not None:
            for out, part in zip(gather_list, gathered):
                _write(out, part)

    def launch() -> list[Any]:
        return [impl.comm.Igather(send, gathered, root=root)]

    return _run(async_op, agreement, launch, finish)


def scatter(
    tensor: tg.Tensor,
    scatter_list: list[tg.Tensor] | None = None,
    src: int = 0,
    group: ProcessGroup | None = None,
    async_op: bool = False,
) -> Work | None:
    """Gives rank ``r`` the tensor ``scatter_list[r]`` of rank ``src``, in
    ``tensor``."""
    _check_tensor(tensor, "scatter: tensor")
    impl = _resolve(group)
    if impl is None:
        return None
    root = _root(src, impl, "scatter: src")
    error = None
    if impl.rank == root:
        error = _outputs_error(scatter_list, tensor, impl.size, "scatter_list")
    elif scatter_list is not None:
        error = "scatter_list must be None on ranks other than src"
    shared, block = _mpi_buffer(tensor)
    parts = None
    if impl.rank == root and scatter_list is not None and error is None:
        parts = _stacked(block, impl.size)
        for part, t in zip(parts, scatter_list):
            part[...] = _mpi_buffer(t)[0]
    agreement = _Agreement("scatter", tensor, [src], ["src"], error, group=impl)

    def launch() -> list[Any]:
        return [impl.comm.Iscatter(parts, block, root=root)]

    return _run(async_op, agreement, launch, lambda: _written(tensor, shared, block))
