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
from collections.abc import Iterator
from typing import Any

import tapegrad as tg
from tapegrad._errors import ArgumentError, DTypeError, ShapeError
from tapegrad.distributed import _group, _work
from tapegrad.distributed._buffers import _shared

from ._reducer import _Reducer
from .module import Module

__all__ = ["DistributedDataParallel"]

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
