"""The reducer behind ``DistributedDataParallel``: buckets of gradients, filled as
backward makes them ready and all-reduced while the sweep goes on (see parallel.py and
docs/distributed.md, "Buckets and overlap")."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad import _native
from tapegrad._errors import GraphError
from tapegrad.distributed import _group, _records, _work
from tapegrad.distributed._buffers import _shared

from .module import Module

__all__: list[str] = []

# PyTorch's cap for the first bucket: small, so that communication starts early.
_FIRST_BUCKET_BYTES = 1024 * 1024


class _Bucket:
    """Parameters of one dtype whose gradients are reduced together, in one flat tensor.

    ``views[k]`` is the slice of ``tensor`` holding parameter ``indices[k]``'s gradient,
    shaped like it. While an all-reduce runs, ``exported`` is the NumPy array sharing
    ``tensor``'s memory that MPI reads and writes; it is dropped once the all-reduce is
    over, so the tensor's storage turns native again (reads without copies)."""

    def __init__(self, indices: list[int], params: list[tg.Tensor]) -> None:
        self.indices = indices
        offsets = np.cumsum([0] + [params[i].numel() for i in indices]).tolist()
        self.tensor = tg.zeros(offsets[-1], dtype=params[indices[0]].dtype)
        self.views = [
            self.tensor[offsets[k] : offsets[k + 1]].view(tuple(params[i].shape))
            for k, i in enumerate(indices)
        ]
        self.exported: np.ndarray | None = None
        self.pending = len(indices)
        self.request: Any = None

    def memory(self) -> np.ndarray:
        """The bucket tensor's memory, shared with NumPy (and MPI) until ``release``."""
        if self.exported is None:
            self.exported = _shared(self.tensor)
        return self.exported

    def slot(self, k: int) -> np.ndarray:
        """Parameter ``indices[k]``'s part of the shared memory, flat."""
        start = self.views[k].storage_offset()
        return self.memory()[start : start + self.views[k].numel()]

    def copy(self, k: int) -> tg.Tensor:
        """A copy of ``views[k]`` in memory of its own. (``clone()`` would share the
        bucket's buffer until one of them is written, and then the next all-reduce's
        export of the bucket would copy all of it.)"""
        view = self.views[k]
        return tg.empty(tuple(view.shape), dtype=view.dtype).copy_(view)

    def release(self) -> None:
        """Drops MPI's hold on the memory, counting its writes in the version."""
        if self.exported is not None:
            self.exported = None
            self.tensor._increment_version()
        self.request = None


def _assign_buckets(params: list[tg.Tensor], cap_bytes: int) -> list[list[int]]:
    """Parameter indices in buckets: reverse registration order, one dtype per bucket,
    a bucket closed once it reaches its byte cap (at most 1 MiB for the first one)."""
    buckets: list[list[int]] = []
    open_buckets: dict[str, tuple[list[int], int]] = {}
    for i in reversed(range(len(params))):
        key = params[i].dtype.name
        members, size = open_buckets.get(key, ([], 0))
        members.append(i)
        size += params[i].numel() * params[i].dtype.itemsize
        cap = min(_FIRST_BUCKET_BYTES, cap_bytes) if not buckets else cap_bytes
        if size >= cap:
            buckets.append(members)
            open_buckets.pop(key, None)
        else:
            open_buckets[key] = (members, size)
    buckets.extend(members for members, _ in open_buckets.values())
    return buckets


class _Reducer:
    """Buckets gradients as they become ready and averages them across ranks."""

    def __init__(
        self,
        named: list[tuple[str, tg.Tensor]],
        cap_bytes: int,
        group: Any,
        as_view: bool,
    ) -> None:
        self.group = group
        self.as_view = as_view
        self.names = [n for n, _ in named]
        self.params = [p for _, p in named]
        self.buckets = [
            _Bucket(indices, self.params)
            for indices in _assign_buckets(self.params, cap_bytes)
        ]
        self.where = {}  # parameter index -> (bucket, position in it)
        for bucket in self.buckets:
            for k, i in enumerate(bucket.indices):
                self.where[i] = (bucket, k)
        self.used = np.ones(len(self.params), np.uint8)
        self.ready = [False] * len(self.params)
        self.sync = False
        self.next_bucket = 0
        self.arrival: Any = None
        self.exposed_wait_s = 0.0
        self.handles = [self._install(i, p) for i, p in enumerate(self.params)]
        if as_view:  # gradients that exist already move into their buckets (PyTorch)
            for i, param in enumerate(self.params):
                bucket, k = self.where[i]
                if param.grad is not None:
                    bucket.views[k].copy_(param.grad)
                    param.grad = bucket.views[k]

    # ---- gradient-ready events

    def _install(self, index: int, param: tg.Tensor) -> Any:
        def hook(_: tg.Tensor) -> None:
            self._on_grad_ready(index)

        return param.register_post_accumulate_grad_hook(hook)

    def _on_grad_ready(self, index: int) -> None:
        """Called by backward right after parameter ``index``'s ``.grad`` is
        accumulated: copies it into its bucket (divided by the world size, as PyTorch's
        reducer does) and launches the buckets that are complete."""
        if not self.sync:
            return
        bucket, k = self.where[index]
        grad = self.params[index].grad
        self._fill(bucket, k, grad)
        self._mark_ready(index)

    def _fill(self, bucket: _Bucket, k: int, grad: tg.Tensor | None) -> None:
        """Writes ``grad`` divided by the world size into its slot, in one pass (no
        NumPy array outlives the call: the last one to go lets the bucket's storage,
        and the gradient's, turn native again, which ``_finish`` relies on)."""
        slot = bucket.slot(k)
        if grad is None:  # a hook registered before ours cleared it: counts as zeros
            slot[...] = 0
        else:
            values = _shared(grad).reshape(-1)
            np.multiply(values, 1.0 / self.group.size, out=slot, casting="unsafe")

    def _mark_ready(self, index: int) -> None:
        """Counts parameter ``index`` in; launches every complete bucket, in bucket
        order; finishes once the last one is launched."""
        if self.ready[index]:
            raise GraphError(
                f"DistributedDataParallel: the gradient of parameter "
                f"{self.names[index]!r} became ready twice in one iteration (two "
                f"backward passes without a forward through the wrapper in between?)"
            )
        self.ready[index] = True
        bucket, _ = self.where[index]
        bucket.pending -= 1
        self._launch_ready_buckets()
        if self.next_bucket == len(self.buckets):
            self._finish()

    def _launch_ready_buckets(self) -> None:
        mpi, comm = self.group.mpi, self.group.comm
        while (
            self.next_bucket < len(self.buckets)
            and self.buckets[self.next_bucket].pending == 0
        ):
            if self.arrival is None and self.group.size > 1:
                _work._launch_pending(self.group, "DistributedDataParallel")
                self.arrival = _records._Exchange(
                    "DistributedDataParallel gradient all_reduce",
                    _records._record("DistributedDataParallel", group=self.group),
                    self.group,
                )
            bucket = self.buckets[self.next_bucket]
            bucket.request = comm.Iallreduce(mpi.IN_PLACE, bucket.memory(), mpi.SUM)
            self.next_bucket += 1
        # MPICH moves non-blocking collectives forward only inside MPI calls.
        launched = [b.request for b in self.buckets[: self.next_bucket]]
        mpi.Request.Testall(launched)

    def _finish(self) -> None:
        """Waits for every bucket and writes the averages into ``.grad``."""
        name = "DistributedDataParallel gradient all_reduce"
        requests = [b.request for b in self.buckets]
        if self.arrival is not None:
            self.arrival.wait()
        if self.find_unused:
            requests.append(
                self.group.comm.Iallreduce(
                    self.group.mpi.IN_PLACE, self.used, self.group.mpi.MAX
                )
            )
        start = time.perf_counter()
        _group._wait(requests, name, group=self.group)
        # What the sweep could not hide: read by benches/distributed.py.
        self.exposed_wait_s = time.perf_counter() - start
        requests.clear()
        for bucket in self.buckets:
            bucket.release()
            for k, i in enumerate(bucket.indices):
                if not self.used[i]:
                    continue  # no rank used it: its .grad is left alone
                grad = bucket.views[k] if self.as_view else bucket.copy(k)
                self.params[i].grad = grad
        self._reset(sync=False)

    # ---- iteration bookkeeping

    find_unused = False

    def _reset(self, sync: bool) -> None:
        for bucket in self.buckets:
            bucket.pending = len(bucket.indices)
            bucket.release()
        self.ready = [False] * len(self.params)
        self.used[:] = 1
        self.find_unused = False
        self.next_bucket = 0
        self.arrival = None
        self.sync = sync

    def check_finished(self) -> None:
        """Raises when the last synchronised backward left gradients unreduced."""
        if self.sync and any(self.ready):
            missing = [n for n, r in zip(self.names, self.ready) if not r]
            raise GraphError(
                f"DistributedDataParallel: the previous backward did not produce "
                f"gradients for {missing}, so its reduction never finished. Pass "
                f"find_unused_parameters=True if the model does not use every "
                f"parameter in every forward"
            )

    def check_same_parameters(self, module: Module) -> None:
        """Raises when the module's parameters are no longer the ones hooked."""
        current = [p for p in module.parameters() if p.requires_grad]
        if len(current) != len(self.params) or any(
            a is not b for a, b in zip(current, self.params)
        ):
            raise GraphError(
                "DistributedDataParallel: the wrapped module's parameters were "
                "replaced after wrapping (by .to(), .double() or assignment), so their "
                "gradients would not be averaged; convert or change the model before "
                "wrapping it"
            )

    def prepare(self, sync: bool) -> None:
        self._reset(sync)

    def mark_unused(self, outputs: list[tg.Tensor]) -> None:
        """Marks the parameters ``outputs`` do not depend on as ready (zeros)."""
        self.find_unused = True
        for index in _unused(outputs, list(range(len(self.params))), self.params):
            self.used[index] = 0
            bucket, k = self.where[index]
            bucket.slot(k)[...] = 0
            self._mark_ready(index)
            if not self.sync:  # that was the last one: nothing in this forward is used
                return


def _unused(
    outputs: list[tg.Tensor], indices: list[int], params: list[tg.Tensor]
) -> list[int]:
    """The parameters ``outputs`` do not depend on, by counting what excluding a
    subset removes from the graph's leaves (one graph walk when all are used)."""
    total = len(_native._external_inputs(outputs, 0, []))

    def split(subset: list[int]) -> list[int]:
        kept = len(_native._external_inputs(outputs, 0, [params[i] for i in subset]))
        used = total - kept
        if used == len(subset):
            return []
        if used == 0:
            return subset
        half = len(subset) // 2
        return split(subset[:half]) + split(subset[half:])

    return split(indices) if indices else []
