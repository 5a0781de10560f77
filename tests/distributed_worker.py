"""Scenarios that tests/test_distributed.py runs under ``mpiexec -n N``.

``python distributed_worker.py SCENARIO [ARGS...]``: every rank runs the scenario; an
assertion that fails ends the whole job (init_process_group installs the abort hook),
so the test sees a non-zero exit code and the failing rank's traceback.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import tapegrad as tg
import tapegrad.distributed as dist
from tapegrad import nn
from tapegrad.utils.data.distributed import DistributedSampler

ReduceOp = dist.ReduceOp


def values(t: tg.Tensor) -> np.ndarray:
    return t.detach().numpy()


def expect(exc_type: type, match: str, fn, *args, **kwargs) -> str:
    try:
        fn(*args, **kwargs)
    except exc_type as exc:
        assert match in str(exc), f"{match!r} not in {exc}"
        return str(exc)
    raise AssertionError(f"{fn.__name__} did not raise {exc_type.__name__}")


def scenario_collectives() -> None:
    rank, size = dist.get_rank(), dist.get_world_size()
    assert dist.is_available() and dist.is_initialized()
    assert 0 <= dist.get_local_rank() < size
    # The values every rank contributes: rank r holds base + r (so no two are equal).
    base = np.arange(6.0).reshape(2, 3) - 2.5
    contributions = [base + r for r in range(size)]
    expected = {
        ReduceOp.SUM: sum(contributions),
        ReduceOp.AVG: sum(contributions) / size,
        ReduceOp.PRODUCT: np.prod(contributions, axis=0),
        ReduceOp.MIN: np.min(contributions, axis=0),
        ReduceOp.MAX: np.max(contributions, axis=0),
    }
    for dtype, np_dtype in ((tg.float32, np.float32), (tg.float64, np.float64)):
        for op, want in expected.items():
            t = tg.tensor(contributions[rank], dtype=dtype)
            version = t._version
            dist.all_reduce(t, op)
            assert t.dtype == dtype and t._version > version
            np.testing.assert_allclose(values(t), want.astype(np_dtype), rtol=1e-6)
            # Non-contiguous: a transposed view and a strided slice.
            # The result is written through the view into its base, as in PyTorch.
            whole = tg.tensor(contributions[rank].T.copy(), dtype=dtype)
            v = whole.T
            dist.all_reduce(v, op)
            np.testing.assert_allclose(values(v), want.astype(np_dtype), rtol=1e-6)
            np.testing.assert_allclose(values(whole), want.T.astype(np_dtype), rtol=1e-6)
            wide = tg.tensor(np.repeat(contributions[rank], 2, axis=1), dtype=dtype)
            s = wide[:, ::2]
            dist.all_reduce(s, op)
            np.testing.assert_allclose(values(s), want.astype(np_dtype), rtol=1e-6)
            untouched = np.repeat(contributions[rank], 2, axis=1)[:, 1::2]
            np.testing.assert_array_equal(values(wide)[:, 1::2], untouched.astype(np_dtype))
            np.testing.assert_allclose(values(wide)[:, ::2], want.astype(np_dtype), rtol=1e-6)

        mine = tg.tensor(base + rank, dtype=dtype).T  # non-contiguous input
        b = tg.tensor(base.T * 0 + rank, dtype=dtype)
        dist.broadcast(b, src=size - 1)
        np.testing.assert_array_equal(values(b), base.T * 0 + size - 1)

        outs = [tg.zeros(3, 2, dtype=dtype) for _ in range(size)]
        dist.all_gather(outs, mine)
        for r in range(size):
            np.testing.assert_array_equal(values(outs[r]), (base + r).T)

        cat = tg.zeros(3 * size, 2, dtype=dtype)
        dist.all_gather_into_tensor(cat, mine)
        np.testing.assert_array_equal(
            values(cat), np.concatenate([(base + r).T for r in range(size)])
        )
        stacked = tg.zeros(size, 3, 2, dtype=dtype)
        dist.all_gather_into_tensor(stacked, mine)
        np.testing.assert_array_equal(values(stacked), values(cat).reshape(size, 3, 2))

        for op in (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.MAX):
            big = tg.tensor(np.arange(4.0 * size) * (rank + 1), dtype=dtype)
            block = tg.zeros(4, dtype=dtype)
            dist.reduce_scatter_tensor(block, big, op)
            rows = [np.arange(4.0 * size) * (r + 1) for r in range(size)]
            full = {
                ReduceOp.SUM: sum(rows),
                ReduceOp.AVG: sum(rows) / size,
                ReduceOp.MAX: np.max(rows, axis=0),
            }[op]
            np.testing.assert_allclose(values(block), full[4 * rank : 4 * rank + 4])

        dst = size - 1
        gathered = [tg.zeros(3, 2, dtype=dtype) for _ in range(size)]
        dist.gather(mine, gathered if rank == dst else None, dst=dst)
        if rank == dst:
            for r in range(size):
                np.testing.assert_array_equal(values(gathered[r]), (base + r).T)

        parts = [tg.full((2, 3), 10.0 + r, dtype=dtype).T for r in range(size)]
        got = tg.zeros(3, 2, dtype=dtype)
        dist.scatter(got, parts if rank == 0 else None, src=0)
        np.testing.assert_array_equal(values(got), np.full((3, 2), 10.0 + rank))

        if size > 1:
            if rank == 0:
                dist.send(tg.tensor(base, dtype=dtype).T, dst=1, tag=3)
            elif rank == 1:
                into = tg.zeros(3, 2, dtype=dtype)
                assert dist.recv(into, tag=3) == 0
                np.testing.assert_array_equal(values(into), base.T)

    objects: list = [None] * size
    dist.all_gather_object(objects, {"rank": rank, "text": "x" * rank})
    assert objects == [{"rank": r, "text": "x" * r} for r in range(size)]
    shared = [rank, "from", (rank,)] if rank == 0 else [None, None, None]
    dist.broadcast_object_list(shared, src=0)
    assert shared == [0, "from", (0,)]
    dist.barrier()
    assert tg.get_num_threads() >= 1


def scenario_mismatch() -> None:
    rank = dist.get_rank()
    message = expect(
        tg.ShapeError, "differ in shape", dist.all_reduce, tg.zeros(3 + rank)
    )
    assert "rank 0 has shape (3,) float32, rank 1 has shape (4,) float32" in message
    dtype = tg.float64 if rank else tg.float32
    expect(tg.DTypeError, "differ in dtype", dist.all_reduce, tg.zeros(3, dtype=dtype))
    expect(tg.ArgumentError, "src differs", dist.broadcast, tg.zeros(2), src=rank)
    outs = [tg.zeros(2)] * (1 if rank else 2)
    expect(
        tg.ArgumentError,
        "rank(s) [1]" if rank == 0 else "tensor_list",
        dist.all_gather,
        outs,
        tg.zeros(2),
    )
    # The group still works afterwards: nothing was left half-done.
    t = tg.ones(2)
    dist.all_reduce(t)
    assert values(t).tolist() == [2.0, 2.0]
    # DistributedDataParallel refuses replicas that differ, naming the parameter.
    model = nn.Sequential(nn.Linear(4, 3 + rank), nn.Linear(3 + rank, 2))
    message = expect(
        tg.ShapeError, "'0.weight'", nn.parallel.DistributedDataParallel, model
    )
    assert "(4, 4) float32 on rank 1, (3, 4) float32 on rank 0" in message


def scenario_timeout() -> None:
    if dist.get_rank() == 1:
        time.sleep(3.0)  # misses the all_reduce below
        return
    start = time.monotonic()
    message = expect(
        dist.DistBackendError,
        "all_reduce timed out after 1 s",
        dist.all_reduce,
        tg.ones(2),
    )
    assert "ranks that did not arrive: [1]" in message, message
    assert 0.9 < time.monotonic() - start < 10
    print("TIMEOUT-RAISED", flush=True)


def scenario_failing_rank() -> None:
    if dist.get_rank() == 1:
        raise RuntimeError("boom from rank 1")
    dist.barrier()  # would wait for the whole (10 minute) timeout without the abort


# ---- DistributedDataParallel


def make_model(dtype: tg.dtype) -> nn.Module:
    tg.manual_seed(
        1234 + dist.get_rank()
    )  # different on purpose: DDP broadcasts rank 0's
    return nn.Sequential(
        nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3)
    ).to(dtype)


def batch(step: int, size: int, dtype: tg.dtype):
    rng = np.random.default_rng(step)
    x = rng.standard_normal((size, 8))
    y = rng.integers(0, 3, size)
    return tg.tensor(x, dtype=dtype), y


def local(x: tg.Tensor, y: np.ndarray):
    rank, size = dist.get_rank(), dist.get_world_size()
    n = len(y) // size
    return x[rank * n : (rank + 1) * n], y[rank * n : (rank + 1) * n].tolist()


def scenario_train(optimizer: str, dtype_name: str, out: str, bucket_mb: str) -> None:
    dtype = tg.float64 if dtype_name == "float64" else tg.float32
    model = nn.parallel.DistributedDataParallel(
        make_model(dtype), bucket_cap_mb=float(bucket_mb)
    )
    params = list(model.parameters())
    if float(bucket_mb) < 0.001:  # several all-reduces in flight, not one
        assert len(model._reducer.buckets) > 2, model._reducer.buckets
    opt = (
        tg.optim.SGD(params, lr=0.1, momentum=0.9)
        if optimizer == "sgd"
        else tg.optim.Adam(params, lr=0.01)
    )
    loss_fn = nn.CrossEntropyLoss()
    for step in range(10):
        x, y = local(*batch(step, 32, dtype))
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    final = {name: values(p) for name, p in model.module.named_parameters()}
    everyone: list = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, final)
    for other in everyone[1:]:  # bitwise identical on every rank
        for name in final:
            assert np.array_equal(other[name], everyone[0][name]), name
    if dist.get_rank() == 0:
        np.savez(out, **final)


def scenario_no_sync(dtype_name: str) -> None:
    dtype = tg.float64 if dtype_name == "float64" else tg.float32
    rtol = 1e-12 if dtype == tg.float64 else 1e-6
    model = nn.parallel.DistributedDataParallel(make_model(dtype))
    loss_fn = nn.CrossEntropyLoss()
    x, y = local(*batch(0, 64, dtype))
    loss_fn(model(x), y).backward()
    big = [values(p.grad) for p in model.parameters()]
    model.zero_grad()
    for k in range(4):  # four micro-batches of 8, the last one synchronised
        part = slice(8 * k, 8 * k + 8)
        context = model.no_sync() if k < 3 else _nothing()
        with context:
            (loss_fn(model(x[part]), y[part]) * 0.25).backward()
    for p, want in zip(model.parameters(), big):
        # Relative to the gradient's scale: the micro-batch sums round differently.
        scale = np.abs(want).max()
        np.testing.assert_allclose(values(p.grad), want, rtol=rtol, atol=rtol * scale)
    # Inside no_sync the gradients really stayed local (they differ between ranks).
    model.zero_grad()
    with model.no_sync():
        loss_fn(model(x), y).backward()
    grads: list = [None] * dist.get_world_size()
    dist.all_gather_object(grads, values(next(iter(model.parameters())).grad))
    assert not np.array_equal(grads[0], grads[1])


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def scenario_unused() -> None:
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(4, 4)
            self.head = nn.Linear(4, 2)
            self.spare = nn.Linear(4, 2)

        def forward(self, x):
            return self.head(self.body(x))

    tg.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(TwoHeads(), find_unused_parameters=True)
    x = tg.ones(2, 4) * (dist.get_rank() + 1)
    model(x).sum().backward()
    assert model.module.spare.weight.grad is None  # no rank used it
    assert model.module.head.weight.grad is not None
    strict = nn.parallel.DistributedDataParallel(TwoHeads())
    strict(x).sum().backward()
    expect(tg.GraphError, "find_unused_parameters=True", strict, x)
    # Converting after wrapping replaces the parameters DDP watches: refused.
    late = nn.parallel.DistributedDataParallel(TwoHeads())
    late.double()
    expect(tg.GraphError, "before wrapping", late, x.double())


def scenario_buffers() -> None:
    """Rank 0's parameters and buffers reach every rank, at construction and (buffers)
    at each forward; state_dict keys carry the ``module.`` prefix, as in PyTorch."""
    rank = dist.get_rank()

    class Counting(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3, 2)
            self.register_buffer("seen", tg.full((2,), float(rank)))

        def forward(self, x):
            return self.linear(x) + self.seen

    tg.manual_seed(rank)
    model = nn.parallel.DistributedDataParallel(Counting())
    everyone: list = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, values(model.module.linear.weight))
    assert all(np.array_equal(w, everyone[0]) for w in everyone)
    assert values(model.module.seen).tolist() == [0.0, 0.0]
    model.module.seen = tg.full((2,), 5.0 + rank)  # drifts apart between forwards
    model(tg.ones(1, 3))
    assert values(model.module.seen).tolist() == [5.0, 5.0]
    keys = {"module.seen", "module.linear.weight", "module.linear.bias"}
    assert set(model.state_dict()) == keys


def scenario_checkpoint() -> None:
    """A model that checkpoints a block inside DDP gets the gradients it gets without."""

    class Blocks(nn.Module):
        def __init__(self, use_checkpoint):
            super().__init__()
            self.use_checkpoint = use_checkpoint
            self.first = nn.Sequential(nn.Linear(8, 16), nn.Tanh())
            self.second = nn.Sequential(nn.Linear(16, 16), nn.Tanh())
            self.head = nn.Linear(16, 3)

        def forward(self, x):
            h = self.first(x)
            h = tg.checkpoint(self.second, h) if self.use_checkpoint else self.second(h)
            return self.head(h)

    grads = []
    for use_checkpoint in (False, True):
        tg.manual_seed(0)
        model = nn.parallel.DistributedDataParallel(Blocks(use_checkpoint).double())
        x, y = local(*batch(0, 16, tg.float64))
        nn.CrossEntropyLoss()(model(x), y).backward()
        grads.append([values(p.grad) for p in model.parameters()])
    for plain, checkpointed in zip(*grads):
        np.testing.assert_allclose(checkpointed, plain, rtol=1e-12)


def scenario_sampler() -> None:
    size = dist.get_world_size()
    for length in (10, 11, 3):
        for drop_last in (False, True):
            sampler = DistributedSampler(
                range(length), shuffle=True, seed=5, drop_last=drop_last
            )
            shares: list = [None] * size
            for epoch in (0, 1):
                sampler.set_epoch(epoch)
                mine = list(sampler)
                assert len(mine) == len(sampler)
                dist.all_gather_object(shares, mine)
                union = sorted(i for share in shares for i in share)
                if drop_last:
                    assert len(set(union)) == len(union) == size * len(sampler)
                else:  # every index, plus padding repeating the first ones
                    assert set(union) == set(range(length))
                    assert len(union) == size * len(sampler)
                if epoch == 0:
                    first = list(shares)
                else:
                    assert shares != first or length < 4  # reshuffled


def scenario_threads(expected: str) -> None:
    assert tg.get_num_threads() == int(expected), (tg.get_num_threads(), expected)


SCENARIOS = {
    name[len("scenario_") :]: fn
    for name, fn in globals().items()
    if name.startswith("scenario_")
}

if __name__ == "__main__":
    timeout = 1.0 if sys.argv[1] == "timeout" else 600.0
    dist.init_process_group("mpi", timeout=timeout)
    SCENARIOS[sys.argv[1]](*sys.argv[2:])
    print(f"OK rank {dist.get_rank()}", flush=True)
    dist.destroy_process_group()
