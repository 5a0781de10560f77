"""``DistributedDataParallel``: one model replica per rank, gradients averaged in buckets.

Every rank runs the same model on its own slice of the batch. During backward, each
parameter's gradient is copied into its bucket (a flat tensor per group of parameters)
as soon as it is ready, divided by the world size on the way, so the sum is the mean; a
bucket whose gradients are all in starts its non-blocking all-reduce, with MPI reading
and writing the bucket tensor's own memory, while the sweep goes on; once the last bucket
is in, ``.grad`` becomes a copy of the bucket's averaged slice, or with
``gradient_as_bucket_view=True`` the slice itself (a view, as in PyTorch).
Buckets hold parameters in reverse registration order (the order backward reaches
them in a feed-forward model) and are reduced in bucket order on every rank, so the
ranks' collectives always match.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad import _native
from tapegrad._errors import ArgumentError, DTypeError, GraphError, ShapeError
from tapegrad.distributed import _group, _records, _work
from tapegrad.distributed._buffers import _shared

from .module import Module

__all__ = ["DistributedDataParallel"]

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


class DistributedDataParallel(Module):
    """Wraps ``module`` so that ``backward`` averages its gradients over all ranks.

    At construction, rank 0's parameters and buffers are copied to every rank, after
    checking that all ranks have the same parameter names, shapes and dtypes. Call
    ``tapegrad.distributed.init_process_group()`` first.

    Args:
        module: The model; it is the ``.module`` attribute afterwards.
        bucket_cap_mb: Bucket size in MiB: bigger buckets mean fewer messages, smaller
            ones start communicating earlier in the sweep.
        broadcast_buffers: Copy rank 0's buffers to every rank at each forward.
        find_unused_parameters: Look, after each forward, for parameters the output
            does not depend on and count them as ready at once (their gradient is
            left alone if no rank used them). Without it, such a parameter makes the
            next forward raise.
        gradient_as_bucket_view: Make each ``.grad`` a view of its slice of the
            bucket once it is reduced, instead of a copy of it: it saves a copy per
            step and the memory of a second set of gradients. As in PyTorch, ``.grad``
            is then overwritten in place by the next synchronised backward (keep a
            ``clone()`` to hold on to a value), and it must not be ``detach_()``-ed.
        process_group: The group whose ranks train together (``new_group``); the
            whole job when None.

    Example:
        >>> # mpiexec -n 2 python train.py
        >>> # dist.init_process_group("mpi")
        >>> # model = nn.parallel.DistributedDataParallel(net)
        >>> # loss_fn(model(x_local), y_local).backward()  # .grad is averaged
    """

    def __init__(
        self,
        module: Module,
        bucket_cap_mb: float = 25,
        broadcast_buffers: bool = True,
        find_unused_parameters: bool = False,
        gradient_as_bucket_view: bool = False,
        process_group: Any = None,
    ) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise DTypeError(
                f"DistributedDataParallel wraps an nn.Module, got {type(module).__name__}"
            )
        if not bucket_cap_mb > 0:
            raise ArgumentError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        group = _group._resolve(process_group)
        if group is None:
            raise ArgumentError(
                "DistributedDataParallel: this rank is not in process_group"
            )
        self.module = module
        object.__setattr__(self, "_group", group)
        object.__setattr__(self, "process_group", process_group)
        object.__setattr__(self, "broadcast_buffers", bool(broadcast_buffers))
        object.__setattr__(self, "find_unused_parameters", bool(find_unused_parameters))
        as_view = bool(gradient_as_bucket_view)
        object.__setattr__(self, "gradient_as_bucket_view", as_view)
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        _check_same_everywhere(
            "parameter",
            [(n, tuple(p.shape), p.dtype.name) for n, p in named],
            process_group,
        )
        _check_same_everywhere(
            "buffer",
            [(n, tuple(b.shape), b.dtype.name) for n, b in module.named_buffers()],
            process_group,
        )
        params = [p for _, p in named]
        _broadcast_coalesced(params + list(module.buffers()), group)
        cap = int(bucket_cap_mb * 1024 * 1024)
        object.__setattr__(self, "_reducer", _Reducer(named, cap, group, as_view))
        object.__setattr__(self, "_require_sync", True)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Runs the wrapped module (after copying rank 0's buffers, if asked)."""
        reducer: _Reducer = self._reducer
        reducer.check_finished()
        reducer.check_same_parameters(self.module)
        if self.broadcast_buffers and self._require_sync:
            _broadcast_coalesced(list(self.module.buffers()), self._group)
        output = self.module(*args, **kwargs)
        sync = self._require_sync and tg.is_grad_enabled()
        reducer.prepare(sync)
        if sync and self.find_unused_parameters:
            reducer.mark_unused(_output_tensors(output))
        return output

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes of forwards run inside accumulate gradients locally; the
        first synchronised backward after it averages the accumulated sums."""
        previous = self._require_sync
        object.__setattr__(self, "_require_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "_require_sync", previous)

    def extra_repr(self) -> str:
        buckets = len(self._reducer.buckets)
        return f"world_size={self._group.size}, buckets={buckets}"


def _output_tensors(output: Any) -> list[tg.Tensor]:
    if isinstance(output, tg.Tensor):
        return [output]
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, (list, tuple)):
        return [t for item in output for t in _output_tensors(item)]
    return []


def _check_same_everywhere(
    kind: str, layout: list[tuple[str, tuple, str]], process_group: Any
) -> None:
    """Raises on every rank when some rank's layout differs from rank 0's."""
    from tapegrad.distributed import all_gather_object

    group = _group._resolve(process_group)
    assert group is not None  # checked by DistributedDataParallel
    layouts: list[Any] = [None] * group.size
    all_gather_object(layouts, layout, group=process_group)
    reference = layouts[0]
    for rank, other in enumerate(layouts[1:], start=1):
        if len(other) != len(reference):
            raise ArgumentError(
                f"DistributedDataParallel: rank {rank} has {len(other)} {kind}s, "
                f"rank 0 has {len(reference)}: every rank must build the same model"
            )
        for mine, theirs in zip(reference, other):
            if mine == theirs:
                continue
            name, shape, dtype = theirs
            if name != mine[0]:
                raise ArgumentError(
                    f"DistributedDataParallel: {kind} names differ: rank {rank} has "
                    f"{name!r} where rank 0 has {mine[0]!r}"
                )
            kind_error = ShapeError if shape != mine[1] else DTypeError
            raise kind_error(
                f"DistributedDataParallel: {kind} {name!r} has shape {shape} {dtype} "
                f"on rank {rank}, {mine[1]} {mine[2]} on rank 0"
            )


def _broadcast_coalesced(tensors: list[tg.Tensor], group: Any) -> None:
    """Copies the group's first rank's values into ``tensors`` on every rank, one
    message per dtype (a flat tensor whose memory MPI writes).

    The ranks' layouts were checked at construction, so no records are exchanged."""
    _work._launch_pending(group, "DistributedDataParallel broadcast")
    for dtype in (tg.float32, tg.float64):
        same = [t for t in tensors if t.dtype == dtype]
        if not same:
            continue
        with tg.no_grad():
            flat = tg.cat([t.detach().reshape(-1) for t in same])
        exported = _shared(flat)
        _group._wait(
            [group.comm.Ibcast(exported, root=0)],
            "DistributedDataParallel broadcast",
            group=group,
        )
        del exported  # the storage turns native again: the reads below copy nothing
        if group.rank != 0:
            offset = 0
            with tg.no_grad():
                for t in same:
                    n = t.numel()
                    t.copy_(flat[offset : offset + n].view(tuple(t.shape)))
                    offset += n


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
