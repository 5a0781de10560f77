"""The metadata exchange that makes every collective check its arguments on every rank.

Every collective first exchanges a small fixed-size record (which collective, shape,
dtype, op, root) with every other rank of its group, point to point on a communicator
of its own. That costs one small message per peer and buys three things: all ranks see
all records, so a mismatch raises the same clear error everywhere instead of a hang or
a wrong reduction; the records that did not arrive before the deadline name the ranks
that are late; and MPI never sees a collective whose buffers disagree.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad._errors import ArgumentError, DTypeError, ShapeError

from ._group import DistError, _current, _ProcessGroup, _wait

__all__: list[str] = []

_MAX_DIMS = 16
# Record layout: seq, collective, dtype, ndim, shape[16], then extras.
_SHAPE_AT = 4
_EXTRAS_AT = _SHAPE_AT + _MAX_DIMS
_RECORD_LEN = _EXTRAS_AT + 4
_DTYPES = ["float32", "float64", "float16", "int64", "int32", "int8", "uint8", "bool"]


class _Exchange:
    """One record per rank, sent to every other rank of the group without blocking."""

    def __init__(
        self, collective: str, record: np.ndarray, group: _ProcessGroup | None = None
    ) -> None:
        group = group or _current()
        self.group = group
        self.collective = collective
        self.table = np.empty((group.size, _RECORD_LEN), np.int64)
        self.table[group.rank] = record
        self.peers = [r for r in range(group.size) if r != group.rank]
        comm = group.records
        self.receives = [comm.Irecv(self.table[r], source=r, tag=7) for r in self.peers]
        self.sends = [
            comm.Isend(self.table[group.rank], dest=r, tag=7) for r in self.peers
        ]

    def late(self) -> list[int]:
        """The job's ranks whose record has not arrived."""
        return [
            self.group.ranks[r]
            for r, req in zip(self.peers, self.receives)
            if not req.Test()
        ]

    def done(self) -> bool:
        return bool(self.group.mpi.Request.Testall(self.receives + self.sends))

    def wait(self) -> np.ndarray:
        _wait(self.receives + self.sends, self.collective, self.late, self.group)
        return self.table


def _record(
    collective: str,
    tensor: tg.Tensor | None = None,
    extras: Sequence[int] = (),
    error: bool = False,
    group: _ProcessGroup | None = None,
) -> np.ndarray:
    group = group or _current()
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


class _Agreement:
    """A collective's records, posted to every rank of its group; ``check`` raises the
    same error on every rank when they disagree.

    ``local_error`` is this rank's own argument error: ``check`` raises it here, and
    the other ranks raise an error naming this rank, so none of them waits for it.
    """

    def __init__(
        self,
        collective: str,
        tensor: tg.Tensor | None = None,
        extras: Sequence[int] = (),
        extra_names: Sequence[str] = (),
        local_error: str | None = None,
        check_tensor: bool = True,
        group: _ProcessGroup | None = None,
    ) -> None:
        self.group = group or _current()
        self.collective = collective
        self.extra_names = extra_names
        self.local_error = local_error
        self.check_tensor = check_tensor
        failed = local_error is not None
        record = _record(collective, tensor, extras, failed, self.group)
        if self.group.size == 1:
            self.exchange = None
            self.table = record[None, :]
        else:
            self.exchange = _Exchange(collective, record, self.group)
            self.table = self.exchange.table

    def done(self) -> bool:
        return self.exchange is None or self.exchange.done()

    def late(self) -> list[int]:
        return [] if self.exchange is None else self.exchange.late()

    def wait(self) -> None:
        if self.exchange is not None:
            self.exchange.wait()

    def check(self) -> None:
        """Raises when a rank's arguments are wrong or the ranks' records differ."""
        group, collective, table = self.group, self.collective, self.table
        if self.local_error is not None:
            raise ArgumentError(
                f"{collective} on rank {group.ranks[group.rank]}: {self.local_error}"
            )
        failed = [group.ranks[r] for r in range(group.size) if table[r, _EXTRAS_AT]]
        if failed:
            raise ArgumentError(
                f"{collective}: rank(s) {failed} passed invalid arguments (their error "
                f"says which); no data was exchanged"
            )
        first, zero = table[0], group.ranks[0]
        for r in range(1, group.size):
            row, rank = table[r], group.ranks[r]
            if row[0] != first[0] or row[1] != first[1]:
                raise DistError(
                    f"{collective}: the ranks are not in the same collective call "
                    f"(call number {first[0]} on rank {zero}, {row[0]} on rank {rank}, "
                    f"with different collectives): every rank must issue collectives "
                    f"in the same order"
                )
            if self.check_tensor and row[2] != first[2]:
                raise DTypeError(
                    f"{collective}: tensors differ in dtype across ranks: rank {zero} "
                    f"has {_describe(first)}, rank {rank} has {_describe(row)}"
                )
            if self.check_tensor and not np.array_equal(
                row[3:_EXTRAS_AT], first[3:_EXTRAS_AT]
            ):
                raise ShapeError(
                    f"{collective}: tensors differ in shape across ranks: rank {zero} "
                    f"has {_describe(first)}, rank {rank} has {_describe(row)}"
                )
            for k, name in enumerate(self.extra_names):
                a, b = first[_EXTRAS_AT + 1 + k], row[_EXTRAS_AT + 1 + k]
                if a != b:
                    raise ArgumentError(
                        f"{collective}: {name} differs across ranks: {a} on rank "
                        f"{zero}, {b} on rank {rank}"
                    )


def _agree(collective: str, *args: Any, **kwargs: Any) -> np.ndarray:
    """Exchanges records (``_Agreement``'s arguments), waiting for every rank, and
    raises on every rank when they disagree; returns the table (one row per rank)."""
    agreement = _Agreement(collective, *args, **kwargs)
    agreement.wait()
    agreement.check()
    return agreement.table
