"""``Work``: a collective under way, and the queue that starts a group's collectives in
the order they were issued.

MPI needs every rank to start a communicator's collectives in the same order. A
collective starts once its records (``_records.py``) have arrived from every rank and
agree, and records can arrive in any order, so each group keeps its collectives in a
queue: ``_progress`` starts them strictly in issue order, then finishes (writes back,
counts the write in the version) those whose data has arrived. MPICH moves transfers
only inside MPI calls, so every ``Work.wait()``, ``Work.is_completed()`` and every new
collective of the group calls ``_progress``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._group import _poll, _ProcessGroup, _seconds
from ._records import _Agreement

__all__ = ["Work"]


class Work:
    """A collective started with ``async_op=True`` (``torch.distributed.Work``).

    Its results are in the output tensors once ``wait()`` returns (or
    ``is_completed()`` is True). An error the collective raises on every rank (a
    shape that differs, say) is raised by ``wait()``.
    """

    def __init__(
        self,
        agreement: _Agreement,
        launch: Callable[[], list[Any]],
        finish: Callable[[], None] | None = None,
    ) -> None:
        self._group = agreement.group
        self._agreement = agreement
        self._launch = launch
        self._finish = finish
        self._requests: list[Any] | None = None
        self._done = False
        self._error: BaseException | None = None
        self._group.queue.append(self)
        _progress(self._group)

    def is_completed(self) -> bool:
        """Whether the collective is over (moves MPI's transfers along, too)."""
        _progress(self._group)
        return self._done

    def wait(self, timeout: Any = None) -> bool:
        """Returns True once the collective is over; raises its error if it failed.

        Args:
            timeout: Seconds or a ``timedelta``; the group's timeout when None.

        Raises:
            DistBackendError: When the ranks do not all arrive within the timeout.
        """
        seconds = None if timeout is None else _seconds(timeout)
        _poll(
            self.is_completed,
            self._agreement.collective,
            self._late,
            self._group,
            seconds,
        )
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return True

    def _late(self) -> list[int]:
        """The ranks this collective waits for: its own records' senders, or those of
        the earliest collective still waiting for records ahead of it."""
        for work in self._group.queue:
            if work._requests is None and not work._done:
                return work._agreement.late()
            if work is self:
                break
        return []

    def __repr__(self) -> str:
        state = "completed" if self._done else "pending"
        return f"Work({self._agreement.collective}, {state})"


Work.__module__ = "tapegrad.distributed"


def _progress(group: _ProcessGroup) -> None:
    """Starts the queued collectives whose records are all in (in issue order, never
    one before an earlier one) and finishes the ones whose transfers are over."""
    for work in group.queue:
        if work._requests is not None or work._done:
            continue
        if not work._agreement.done():
            break
        try:
            work._agreement.check()
            work._requests = work._launch()
        except Exception as exc:  # raised by wait(), on every rank alike
            work._error = exc
            work._done = True
    testall = group.mpi.Request.Testall
    for work in list(group.queue):
        if not work._done and work._requests is not None and testall(work._requests):
            work._requests = []
            try:
                if work._finish is not None:
                    work._finish()
            except Exception as exc:
                work._error = exc
            work._done = True
        if work._done:
            group.queue.remove(work)


def _launch_pending(group: _ProcessGroup, what: str) -> None:
    """Waits until every queued collective has started, so that a collective issued
    outside the queue (DDP's bucket all-reduces) comes after them on every rank."""

    def started() -> bool:
        _progress(group)
        return all(w._requests is not None or w._done for w in group.queue)

    if group.queue:
        _poll(started, what, None, group)


def _run(
    async_op: bool,
    agreement: _Agreement,
    launch: Callable[[], list[Any]],
    finish: Callable[[], None] | None = None,
) -> Work | None:
    """Queues a collective; returns its ``Work`` with ``async_op``, else waits for
    it."""
    work = Work(agreement, launch, finish)
    if async_op:
        return work
    work.wait()
    return None
