"""``DataLoader``: batches from a dataset, in the foreground or from worker threads."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from tapegrad._errors import ArgumentError

from . import _random
from ._collate import default_collate, default_convert
from ._worker import Fetcher, WorkerPool, _Exhausted, _Stream, fetch
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader"]

T_co = TypeVar("T_co", covariant=True)

# Set once at construction, as PyTorch: changing them later would desynchronise the
# sampler, the batch sampler and the workers.
_FROZEN = (
    "batch_size",
    "batch_sampler",
    "sampler",
    "drop_last",
    "dataset",
    "persistent_workers",
)


class DataLoader(Generic[T_co]):
    """Iterates over a dataset in batches, as ``torch.utils.data.DataLoader``.

    Args:
        dataset: A map-style :class:`Dataset` (anything with ``__getitem__`` and
            ``__len__``) or an :class:`IterableDataset`.
        batch_size: Samples per batch; None turns batching off (each sample goes
            through ``collate_fn``, by default ``default_convert``).
        shuffle: A new random order every epoch (map-style datasets only).
        sampler: The order of the indices (a :class:`Sampler` or any iterable);
            excludes ``shuffle``.
        batch_sampler: Yields lists of indices; excludes ``batch_size``, ``shuffle``,
            ``sampler`` and ``drop_last``.
        num_workers: Background worker threads (0: load in the calling thread).
            Threads, not processes: see ``tapegrad.utils.data._worker``.
        collate_fn: Makes a batch from a list of samples (``default_collate``).
        pin_memory: Accepted and ignored: tapegrad runs on CPUs only.
        drop_last: Drop a last batch smaller than ``batch_size``.
        timeout: Seconds to wait for a worker's batch before raising (0: forever).
        worker_init_fn: Called as ``worker_init_fn(worker_id)`` in each worker
            before it loads anything.
        multiprocessing_context: Accepted and ignored (workers are threads).
        generator: Shuffling and worker seeds: a ``numpy.random.Generator``, an int
            seed, or None (seeds drawn from tapegrad's global stream, set by
            ``tg.manual_seed``). tapegrad has no ``Generator`` object yet.
        prefetch_factor: Batches each worker loads ahead (default 2 with workers).
        persistent_workers: Keep the workers between epochs.
        pin_memory_device: Accepted and ignored.
        in_order: With workers, hand out batches in the sampler's order (True) or
            as soon as each is ready (False).

    Raises:
        ArgumentError: For contradictory options, with PyTorch's messages.
    """

    def __init__(
        self,
        dataset: Dataset[T_co] | Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler[Any] | Iterable[Any] | None = None,
        batch_sampler: Sampler[list[Any]] | Iterable[list[Any]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: _random.GeneratorLike = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if isinstance(num_workers, bool) or operator.index(num_workers) < 0:
            raise ArgumentError(
                "num_workers option should be non-negative; use num_workers=0 to "
                "disable multiprocessing."
            )
        if timeout < 0:
            raise ArgumentError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ArgumentError(
                "prefetch_factor option could only be specified in multiprocessing. "
                "let num_workers > 0 to enable multiprocessing, otherwise set "
                "prefetch_factor to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 1:
            raise ArgumentError(
                f"prefetch_factor option should be a positive integer (batches each "
                f"worker loads ahead), got {prefetch_factor!r}"
            )
        if persistent_workers and num_workers == 0:
            raise ArgumentError("persistent_workers option needs num_workers > 0")

        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            for name, value in (
                ("shuffle", shuffle),
                ("sampler", sampler),
                ("batch_sampler", batch_sampler),
            ):
                if value is not None and value is not False:
                    raise ArgumentError(
                        f"DataLoader with IterableDataset: expected unspecified {name} "
                        f"option, but got {name}={value!r}"
                    )
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ArgumentError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ArgumentError(
                    "batch_sampler option is mutually exclusive with batch_size, "
                    "shuffle, sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ArgumentError(
                "batch_size=None option disables auto-batching and is mutually "
                "exclusive with drop_last"
            )

        self.generator = _random.as_generator(generator, "DataLoader")
        if sampler is None and not iterable:
            if shuffle:
                sampler = RandomSampler(dataset, generator=self.generator)  # type: ignore[arg-type]
            else:
                sampler = SequentialSampler(dataset)  # type: ignore[arg-type]
        if batch_size is not None and batch_sampler is None and not iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # type: ignore[arg-type]

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn or (
            default_collate if self._auto_collation else default_convert
        )
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._iterator: _ThreadedIterator | None = None
        self._initialized = True

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_initialized", False) and name in _FROZEN:
            raise ArgumentError(
                f"{name} attribute should not be set after DataLoader is initialized"
            )
        super().__setattr__(name, value)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (
            isinstance(self.dataset, IterableDataset) and self.batch_size is not None
        )

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def _fetcher(self) -> Fetcher:
        return Fetcher(
            self.dataset,
            isinstance(self.dataset, IterableDataset),
            self._auto_collation,
            self.collate_fn,
            self.batch_size,
            self.drop_last,
        )

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers == 0:
            return _SingleThreadIterator(self)
        if not self.persistent_workers:
            return _ThreadedIterator(self)
        if self._iterator is None:
            self._iterator = _ThreadedIterator(self)
        else:
            self._iterator._reset(self)
        return self._iterator

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # type: ignore[arg-type]
            if self.batch_size is None:
                return n
            if self.drop_last:
                return n // self.batch_size
            return (n + self.batch_size - 1) // self.batch_size
        return len(self._index_sampler)


class _SingleThreadIterator:
    """Loads each batch on demand, in the calling thread."""

    def __init__(self, loader: DataLoader[Any]) -> None:
        self._fetcher = loader._fetcher()
        if self._fetcher.iterable:
            self._stream: _Stream | None = _Stream(self._fetcher)
            self._indices: Iterator[Any] | None = None
        else:
            self._stream = None
            self._indices = iter(loader._index_sampler)

    def __iter__(self) -> _SingleThreadIterator:
        return self

    def __next__(self) -> Any:
        if self._stream is not None:
            try:
                return self._stream.next_batch(0)
            except _Exhausted:
                raise StopIteration from None
        return fetch(self._fetcher, next(self._indices))  # type: ignore[arg-type]


class _ThreadedIterator:
    """Hands out the workers' batches in order; see ``_worker`` for the protocol."""

    def __init__(self, loader: DataLoader[Any]) -> None:
        fetcher = loader._fetcher()
        base_seed = _random.resolve(loader.generator).integers(0, 2**62)
        self._pool = WorkerPool(
            fetcher, loader.num_workers, int(base_seed), loader.worker_init_fn
        )
        self._iterable = fetcher.iterable
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        self._in_order = loader.in_order
        self._in_flight = loader.prefetch_factor * loader.num_workers  # type: ignore[operator]
        self._epoch = 0
        self._start_epoch(loader)

    def _start_epoch(self, loader: DataLoader[Any]) -> None:
        self._epoch += 1
        self._pool.current_epoch[0] = self._epoch
        self._indices = None if self._iterable else iter(loader._index_sampler)
        self._active = [True] * len(self._pool.threads)
        self._worker_of: dict[int, int] = {}
        self._early: dict[int, tuple[str, Any]] = {}
        self._sent = self._received = 0
        self._next_worker = 0
        for _ in range(self._in_flight):
            self._send_task()

    def _reset(self, loader: DataLoader[Any]) -> None:
        """A new epoch with the same (persistent) workers."""
        self._start_epoch(loader)

    def _send_task(self) -> None:
        """Gives the next batch's task to the next active worker, round-robin."""
        workers = len(self._active)
        for _ in range(workers):
            worker = self._next_worker
            self._next_worker = (worker + 1) % workers
            if self._active[worker]:
                break
        else:
            return  # every worker's stream has ended
        if self._indices is None:
            indices = None
        else:
            indices = next(self._indices, _END)
            if indices is _END:
                return
        self._pool.tasks[worker].put((self._epoch, self._sent, indices))
        self._worker_of[self._sent] = worker
        self._sent += 1

    def __iter__(self) -> _ThreadedIterator:
        return self

    def __next__(self) -> Any:
        while True:
            if self._pool.closed or self._received == self._sent:
                if not self._persistent:
                    self._pool.shutdown()
                raise StopIteration
            task = self._received
            if task in self._early:
                kind, payload = self._early.pop(task)
            else:
                epoch, done, kind, payload = self._pool.get(self._timeout)
                if epoch != self._epoch:
                    continue
                if not self._in_order:
                    task = done  # whichever batch is ready first
                elif done != task:
                    self._early[done] = (kind, payload)
                    continue
            self._received += 1
            worker = self._worker_of.pop(task)
            if kind == "exhausted":
                self._active[worker] = False
            self._send_task()
            if kind == "error":
                raise payload
            if kind == "data":
                return payload

    def close(self) -> None:
        """Stops the workers now (also done when the iterator is garbage collected)."""
        self._pool.shutdown()

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown()


_END = object()
