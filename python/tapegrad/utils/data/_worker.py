"""Background workers for ``DataLoader(num_workers=n)``: threads, not processes.

Why threads: tapegrad's heavy native ops release the GIL, and so do NumPy's and most
file and image decoders, so threads load in parallel where it counts; and they avoid
what processes would bring here: forking a process whose Rust thread pool is running
can deadlock the child, and spawning would pickle every dataset and batch across the
process boundary. A dataset whose ``__getitem__`` is pure Python code
gains little from threads; it still overlaps loading with the training step.

The protocol (PyTorch's, in threads): the main thread sends tasks (a batch's indices,
or "your next batch" for an iterable dataset) round-robin to the workers' own task
queues, keeping ``prefetch_factor * num_workers`` of them in flight; the workers put
``(epoch, task, kind, payload)`` on one shared result queue; the main thread hands the
results out in task order, holding back any that arrive early. Workers are daemon
threads that stop on a ``None`` task; the iterator sends those when it is exhausted,
closed, garbage collected (a loop left by ``break``) or at interpreter exit, so
neither a broken loop nor the end of the program waits for them.
"""

from __future__ import annotations

import atexit
import itertools
import queue
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["WorkerInfo", "get_worker_info"]

_local = threading.local()
_JOIN_SECONDS = 5.0


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker knows about itself (``get_worker_info()`` inside a worker).

    Attributes:
        id: This worker's number, ``0 .. num_workers - 1``.
        num_workers: How many workers the loader runs.
        seed: ``base_seed + id``, a distinct seed per worker and epoch (workers share
            the process's random state: seed your own ``numpy.random.Generator``
            from it for per-worker augmentation).
        dataset: The loader's dataset (the same object in every worker: they are
            threads).
    """

    id: int
    num_workers: int
    seed: int
    dataset: Any


def get_worker_info() -> WorkerInfo | None:
    """The :class:`WorkerInfo` of the calling worker thread; None outside workers."""
    return getattr(_local, "info", None)


@dataclass
class Fetcher:
    """What a worker does with a task: reads samples and collates them."""

    dataset: Any
    iterable: bool
    auto_collation: bool
    collate_fn: Callable[[Any], Any]
    batch_size: int | None
    drop_last: bool


class _Exhausted(Exception):
    """An iterable dataset's worker has no more batches this epoch."""


class _Stream:
    """One worker's iterator over an iterable dataset, restarted each epoch."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self.epoch = -1
        self.iterator: Any = None
        self.ended = False

    def next_batch(self, epoch: int) -> Any:
        f = self.fetcher
        if epoch != self.epoch:
            self.epoch, self.iterator, self.ended = epoch, iter(f.dataset), False
        if self.ended:
            raise _Exhausted
        if not f.auto_collation:
            try:
                return f.collate_fn(next(self.iterator))
            except StopIteration:
                self.ended = True
                raise _Exhausted from None
        batch = list(itertools.islice(self.iterator, f.batch_size))
        if len(batch) < (f.batch_size or 0):
            self.ended = True
        if not batch or (f.drop_last and len(batch) < (f.batch_size or 0)):
            raise _Exhausted
        return f.collate_fn(batch)


def fetch(fetcher: Fetcher, indices: Any) -> Any:
    """A map-style dataset's batch (or sample, without auto-collation)."""
    if fetcher.auto_collation:
        return fetcher.collate_fn([fetcher.dataset[i] for i in indices])
    return fetcher.collate_fn(fetcher.dataset[indices])


def _worker_loop(
    info: WorkerInfo,
    fetcher: Fetcher,
    tasks: queue.SimpleQueue,
    results: queue.SimpleQueue,
    current_epoch: list[int],
    init_fn: Callable[[int], None] | None,
) -> None:
    _local.info = info
    stream = _Stream(fetcher) if fetcher.iterable else None
    failure: BaseException | None = None
    if init_fn is not None:
        try:
            init_fn(info.id)
        except Exception as error:  # noqa: BLE001  (each task will report it)
            failure = error
    while True:
        task = tasks.get()
        if task is None:
            return
        epoch, task_id, indices = task
        if epoch != current_epoch[0]:
            continue  # a task of an epoch left early: nobody waits for it
        try:
            if failure is not None:
                # A new error each time: the one raised in the main thread gets a
                # traceback through the iterator, which this thread must not keep.
                raise RuntimeError(
                    f"DataLoader worker {info.id}: worker_init_fn raised {failure!r}"
                ) from failure
            if stream is not None:
                payload, kind = stream.next_batch(epoch), "data"
            else:
                payload, kind = fetch(fetcher, indices), "data"
        except _Exhausted:
            payload, kind = None, "exhausted"
        except BaseException as error:  # noqa: BLE001  (the main thread re-raises)
            payload, kind = error, "error"
        results.put((epoch, task_id, kind, payload))
        del payload


class WorkerPool:
    """The worker threads of one loader iterator, and the queues to them."""

    def __init__(
        self,
        fetcher: Fetcher,
        num_workers: int,
        base_seed: int,
        init_fn: Callable[[int], None] | None,
    ) -> None:
        self.tasks: list[queue.SimpleQueue] = [
            queue.SimpleQueue() for _ in range(num_workers)
        ]
        self.results: queue.SimpleQueue = queue.SimpleQueue()
        self.current_epoch = [0]  # read by the workers to skip stale tasks
        self.threads = []
        for i in range(num_workers):
            info = WorkerInfo(i, num_workers, base_seed + i, fetcher.dataset)
            thread = threading.Thread(
                target=_worker_loop,
                args=(
                    info,
                    fetcher,
                    self.tasks[i],
                    self.results,
                    self.current_epoch,
                    init_fn,
                ),
                name=f"tapegrad-DataLoader-worker-{i}",
                daemon=True,
            )
            thread.start()
            self.threads.append(thread)
        self.closed = False
        _live_pools.add(self)

    def get(self, timeout: float) -> tuple[int, int, str, Any]:
        """The next result from any worker; waits at most ``timeout`` s if > 0."""
        try:
            return self.results.get(timeout=timeout if timeout > 0 else None)
        except queue.Empty:
            raise RuntimeError(
                f"DataLoader timed out after {timeout} seconds waiting for a batch"
            ) from None

    def shutdown(self, wait: bool = True) -> None:
        """Stops the workers: each finishes its current task, then exits. With
        ``wait``, waits for that (at most ``_JOIN_SECONDS`` in all)."""
        if self.closed:
            return
        self.closed = True
        self.current_epoch[0] = -1  # pending tasks are skipped
        for tasks in self.tasks:
            tasks.put(None)
        _live_pools.discard(self)
        if not wait:
            return
        deadline = time.monotonic() + _JOIN_SECONDS
        me = threading.current_thread()
        for thread in self.threads:
            if thread is not me:
                thread.join(max(0.0, deadline - time.monotonic()))

    def __del__(self) -> None:
        self.shutdown()


_live_pools: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


@atexit.register
def _shutdown_all() -> None:
    # No waiting: the workers are daemon threads, and a worker busy with a slow
    # sample must not hold up the end of the program.
    for pool in list(_live_pools):
        pool.shutdown(wait=False)
