"""More scenarios for ``mpiexec -n N`` (see distributed_worker.py, whose helpers these
reuse): DDP's gradient_as_bucket_view, async_op=True and Work, process groups
(new_group), and a CNN trained on 1 and 2 ranks.

``python distributed_worker_more.py SCENARIO [ARGS...]``
"""

from __future__ import annotations

import sys
import time

import numpy as np
import tapegrad as tg
import tapegrad.distributed as dist
from distributed_worker import batch, expect, local, make_model, values
from tapegrad import nn

DDP = nn.parallel.DistributedDataParallel


def scenario_bucket_view(dtype_name: str) -> None:
    """With gradient_as_bucket_view=True each .grad is its slice of the bucket, and
    training gives exactly what the default (copied .grad) gives."""
    dtype = tg.float64 if dtype_name == "float64" else tg.float32
    plain = DDP(make_model(dtype))
    viewed = DDP(make_model(dtype), gradient_as_bucket_view=True, bucket_cap_mb=0.0001)
    assert viewed.gradient_as_bucket_view and len(viewed._reducer.buckets) > 2
    optimizers = [
        tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for model in (plain, viewed)
    ]
    loss_fn = nn.CrossEntropyLoss()
    for step in range(6):
        x, y = local(*batch(step, 32, dtype))
        for model, opt in zip((plain, viewed), optimizers):
            opt.zero_grad(set_to_none=step % 2 == 0)
            loss_fn(model(x), y).backward()
        for i, (p, q) in enumerate(zip(plain.parameters(), viewed.parameters())):
            assert np.array_equal(values(p.grad), values(q.grad)), i
            bucket, k = viewed._reducer.where[i]
            assert q.grad._is_view() and q.grad._shares_storage(bucket.tensor)
            assert q.grad.storage_offset() == bucket.views[k].storage_offset()
            assert tuple(q.grad.shape) == tuple(q.shape)
            own, _ = plain._reducer.where[i]
            assert not p.grad._shares_storage(own.tensor)
        for opt in optimizers:
            opt.step()
    for p, q in zip(plain.parameters(), viewed.parameters()):
        assert np.array_equal(values(p), values(q))
    # As in PyTorch, a .grad kept across steps is the bucket: the next synchronised
    # backward overwrites it in place.
    first = next(iter(viewed.parameters()))
    kept = first.grad
    before = values(kept).copy()
    viewed.zero_grad()
    x, y = local(*batch(9, 32, dtype))
    loss_fn(viewed(x), y).backward()
    assert np.array_equal(values(kept), values(first.grad))
    assert not np.array_equal(values(kept), before)
    # Gradients that exist when the model is wrapped move into the buckets.
    net = make_model(dtype)
    net(x).sum().backward()
    grads = [values(p.grad).copy() for p in net.parameters()]
    wrapped = DDP(net, gradient_as_bucket_view=True)
    for i, p in enumerate(net.parameters()):
        assert p.grad._shares_storage(wrapped._reducer.where[i][0].tensor)
        assert np.array_equal(values(p.grad), grads[i])


def scenario_async_ops() -> None:
    rank, size = dist.get_rank(), dist.get_world_size()
    if rank == 1:
        time.sleep(1.0)  # rank 0 issues both collectives well before rank 1 does
    a = tg.full((5,), float(rank + 1))
    b = tg.full((3, 2), 10.0 * (rank + 1), dtype=tg.float64)
    work_a = dist.all_reduce(a, async_op=True)
    work_b = dist.all_reduce(b, op=dist.ReduceOp.MAX, async_op=True)
    assert isinstance(work_a, dist.Work) and isinstance(work_b, dist.Work)
    if rank == 0 and size > 1:
        assert not work_a.is_completed()  # rank 1 is still asleep
    # Waited in the opposite order on rank 0: the collectives still start in the
    # order they were issued, on every rank (else the two would be mismatched).
    for work in (work_b, work_a) if rank == 0 else (work_a, work_b):
        assert work.wait() is True
    assert work_a.is_completed() and work_b.is_completed()
    assert values(a).tolist() == [size * (size + 1) / 2] * 5
    assert values(b).tolist() == [[10.0 * size] * 2] * 3
    # A synchronous collective issued while an asynchronous one is pending comes
    # after it; the asynchronous one's result is there once waited for.
    c = tg.full((4,), float(rank))
    work_c = dist.broadcast(c, src=size - 1, async_op=True)
    d = tg.ones(2) * (rank + 1)
    assert dist.all_reduce(d) is None
    assert values(d).tolist() == [size * (size + 1) / 2] * 2
    work_c.wait()
    assert values(c).tolist() == [float(size - 1)] * 4
    # The other collectives, asynchronously.
    out = tg.zeros(2 * size)
    dist.all_gather_into_tensor(out, tg.full((2,), float(rank)), async_op=True).wait()
    assert values(out).tolist() == [float(r) for r in range(size) for _ in range(2)]
    block = tg.zeros(2)
    big = tg.arange(2.0 * size) * (rank + 1)
    dist.reduce_scatter_tensor(block, big, async_op=True).wait()
    total = size * (size + 1) / 2
    assert values(block).tolist() == [total * (2 * rank + j) for j in range(2)]
    parts = [tg.zeros(2) for _ in range(size)]
    dist.all_gather(parts, tg.full((2,), float(rank)), async_op=True).wait()
    assert [values(p).tolist() for p in parts] == [[float(r)] * 2 for r in range(size)]
    dist.barrier(async_op=True).wait()
    # A mismatch is raised by wait(), on every rank, and the group still works.
    if size > 1:
        work = dist.all_reduce(tg.zeros(2 + rank), async_op=True)
        expect(tg.ShapeError, "differ in shape", work.wait)
    # wait(timeout) raises while a rank is late; the collective goes on and a later
    # wait() finishes it.
    e = tg.ones(3)
    if rank == 1:
        time.sleep(1.5)
    work = dist.all_reduce(e, async_op=True)
    if rank == 0 and size > 1:
        message = expect(dist.DistBackendError, "timed out after 0.3 s", work.wait, 0.3)
        assert "ranks that did not arrive: [1]" in message, message
    work.wait()
    assert values(e).tolist() == [float(size)] * 3
    # MPI writes the tensor's memory behind the core's back, and the write still counts:
    # a tensor saved for backward and then overwritten by a collective makes it raise.
    x = tg.ones(3, requires_grad=True)
    y = x * 2.0
    loss = (y * y).sum()  # saves y
    dist.all_reduce(y.detach())
    assert values(y).tolist() == [2.0 * size] * 3
    try:
        loss.backward()
    except RuntimeError as exc:
        assert "modified by an inplace operation" in str(exc) or "version" in str(exc)
    else:
        raise AssertionError("backward did not see the all_reduce's write")


def scenario_groups() -> None:
    """3 ranks; the group holds ranks 0 and 2."""
    rank = dist.get_rank()
    assert dist.get_world_size() == 3
    expect(tg.ArgumentError, "distinct ranks", dist.new_group, [0, 0])
    expect(tg.ArgumentError, "must be a ProcessGroup", dist.get_rank, "world")
    group = dist.new_group([2, 0])
    t = tg.full((3,), float(rank))
    if rank == 1:
        assert group is dist.GroupMember.NON_GROUP_MEMBER
        assert dist.get_rank(group) == -1 and dist.get_world_size(group) == -1
        assert dist.all_reduce(t, group=group) is None
        assert values(t).tolist() == [1.0] * 3  # left alone
    else:
        assert isinstance(group, dist.ProcessGroup)
        assert dist.get_rank(group) == group.rank() == rank // 2
        assert dist.get_world_size(group) == group.size() == 2
        assert dist.get_process_group_ranks(group) == [0, 2]
        assert dist.get_global_rank(group, 1) == 2
        assert dist.get_group_rank(group, 2) == 1
        dist.all_reduce(t, group=group)
        assert values(t).tolist() == [2.0] * 3  # 0 + 2: rank 1 is not in it
        b = tg.full((2,), float(rank))
        dist.broadcast(b, src=2, group=group)  # src is the job's rank
        assert values(b).tolist() == [2.0] * 2
        message = "not a rank of this group"
        expect(tg.ArgumentError, message, dist.broadcast, b, 1, group)
        objects: list = [None, None]
        dist.all_gather_object(objects, f"r{rank}", group=group)
        assert objects == ["r0", "r2"]
        work = dist.all_reduce(b, group=group, async_op=True)
        work.wait()
        assert values(b).tolist() == [4.0] * 2
        if rank == 0:
            dist.send(tg.full((2,), 7.0), dst=2, group=group)
        else:
            into = tg.zeros(2)
            assert dist.recv(into, group=group) == 0
            assert values(into).tolist() == [7.0, 7.0]
    # The default group still works alongside.
    w = tg.ones(1)
    dist.all_reduce(w)
    assert values(w).tolist() == [3.0]
    # With use_local_synchronization=True only the members call new_group.
    if rank in (0, 1):
        pair = dist.new_group([0, 1], use_local_synchronization=True)
        x = tg.full((1,), float(rank + 1))
        dist.all_reduce(x, group=pair)
        assert values(x).tolist() == [3.0]
    # DDP on a group: ranks 0 and 2 average their half-batches between themselves,
    # which gives the full batch's gradient.
    if rank != 1:
        model = DDP(make_model(tg.float64), process_group=group)
        x, y = batch(0, 16, tg.float64)
        half = 8 * (rank // 2)
        loss_fn = nn.CrossEntropyLoss()
        loss_fn(model(x[half : half + 8]), y[half : half + 8].tolist()).backward()
        reference = make_model(tg.float64)
        reference.load_state_dict(model.module.state_dict())
        loss_fn(reference(x), y.tolist()).backward()
        for p, q in zip(model.parameters(), reference.parameters()):
            np.testing.assert_allclose(values(p.grad), values(q.grad), rtol=1e-12)
    dist.barrier()


def scenario_cnn(optimizer: str, out: str) -> None:
    """10 steps of a small CNN (float64): the parameters are saved for the test to
    compare between 1 and 2 ranks, and checked to be bitwise identical on every rank."""
    tg.manual_seed(7 + dist.get_rank())  # DDP makes them rank 0's
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(6 * 2 * 2, 3),
    ).double()
    model = DDP(net, bucket_cap_mb=0.0005)
    params = list(model.parameters())
    opt = (
        tg.optim.SGD(params, lr=0.1, momentum=0.9)
        if optimizer == "sgd"
        else tg.optim.Adam(params, lr=0.01)
    )
    loss_fn = nn.CrossEntropyLoss()
    rank, size = dist.get_rank(), dist.get_world_size()
    for step in range(10):
        rng = np.random.default_rng(step)
        x = rng.standard_normal((16, 1, 8, 8))
        y = rng.integers(0, 3, 16)
        n = 16 // size
        mine = slice(rank * n, (rank + 1) * n)
        opt.zero_grad()
        loss_fn(model(tg.tensor(x[mine])), y[mine].tolist()).backward()
        opt.step()
    final = {name: values(p) for name, p in net.named_parameters()}
    everyone: list = [None] * size
    dist.all_gather_object(everyone, final)
    for other in everyone[1:]:
        for name in final:
            assert np.array_equal(other[name], everyone[0][name]), name
    if rank == 0:
        np.savez(out, **final)


SCENARIOS = {
    name[len("scenario_") :]: fn
    for name, fn in globals().items()
    if name.startswith("scenario_")
}

if __name__ == "__main__":
    dist.init_process_group("mpi", timeout=60.0)
    SCENARIOS[sys.argv[1]](*sys.argv[2:])
    print(f"OK rank {dist.get_rank()}", flush=True)
    dist.destroy_process_group()
