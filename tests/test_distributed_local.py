"""The parts of tapegrad.distributed that need no MPI job: DistributedSampler's
arithmetic, argument errors, and the message when mpi4py is missing."""

from __future__ import annotations

import sys

import pytest
import tapegrad as tg
import tapegrad.distributed as dist
from tapegrad.utils.data.distributed import DistributedSampler


def shares(length, replicas, **kwargs):
    return [
        list(DistributedSampler(range(length), replicas, rank, **kwargs))
        for rank in range(replicas)
    ]


@pytest.mark.parametrize("length", [0, 1, 5, 10, 11, 12])
@pytest.mark.parametrize("replicas", [1, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_the_sampler_partitions_like_pytorch(length, replicas, drop_last):
    got = shares(length, replicas, shuffle=False, drop_last=drop_last)
    # PyTorch's rule: pad by repeating the start, or cut the tail with drop_last.
    if drop_last and length % replicas:
        per_rank = (length - 1) // replicas  # ceil((length - replicas) / replicas)
    else:
        per_rank = -(-length // replicas)
    assert [len(s) for s in got] == [per_rank] * replicas
    flat = sorted(i for s in got for i in s)
    if drop_last:
        assert flat == list(range(per_rank * replicas))
    elif length:
        assert set(flat) == set(range(length))
    torch = sys.modules.get("torch")
    if torch is not None and length:
        from torch.utils.data.distributed import DistributedSampler as Reference

        want = [
            list(
                Reference(
                    range(length), replicas, r, shuffle=False, drop_last=drop_last
                )
            )
            for r in range(replicas)
        ]
        assert got == want


def test_the_sampler_shuffles_by_seed_and_epoch_the_same_on_every_rank():
    a = DistributedSampler(range(100), 2, 0, seed=3)
    b = DistributedSampler(range(100), 2, 1, seed=3)
    first = list(a) + list(b)
    assert sorted(first) == list(range(100)) and first != list(range(100))
    assert list(a) == list(DistributedSampler(range(100), 2, 0, seed=3))
    a.set_epoch(1)
    b.set_epoch(1)
    second = list(a) + list(b)
    assert sorted(second) == list(range(100)) and second != first
    assert list(DistributedSampler(range(100), 2, 0, seed=4)) != first[:50]


def test_the_sampler_refuses_bad_arguments():
    with pytest.raises(tg.ArgumentError, match=r"Invalid rank 2, .*\[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(tg.ArgumentError, match="num_replicas must be >= 1"):
        DistributedSampler(range(4), num_replicas=0, rank=0)
    with pytest.raises(tg.DTypeError, match="len"):
        DistributedSampler(iter(range(4)), num_replicas=1, rank=0)
    if not dist.is_initialized():
        with pytest.raises(tg.ArgumentError, match="init_process_group"):
            DistributedSampler(range(4))


def test_collectives_before_init_process_group_raise():
    assert not dist.is_initialized()
    with pytest.raises(tg.ArgumentError, match="has not been initialized"):
        dist.all_reduce(tg.ones(2))
    with pytest.raises(tg.ArgumentError, match="has not been initialized"):
        dist.get_rank()


def test_a_missing_mpi4py_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # makes the import fail
    assert not dist.is_available()
    with pytest.raises(ImportError, match=r'pip install "tapegrad\[distributed\]"'):
        dist.init_process_group("mpi")


def test_init_refuses_other_backends_and_init_methods():
    with pytest.raises(tg.ArgumentError, match="MPI only"):
        dist.init_process_group("gloo")
    with pytest.raises(tg.ArgumentError, match="init_method"):
        dist.init_process_group("mpi", init_method="tcp://10.0.0.1:23456")
    with pytest.raises(tg.ArgumentError, match="timeout must be positive"):
        dist.init_process_group("mpi", timeout=0)


def test_the_public_names():
    assert tg.nn.parallel.__all__ == ["DistributedDataParallel"]
    assert {"all_reduce", "ReduceOp", "init_process_group"} <= set(dist.__all__)
    for name in dist.__all__:
        assert getattr(dist, name).__module__.startswith("tapegrad")


def test_mpi_gets_a_contiguous_tensors_own_memory_and_a_copy_of_a_view():
    from tapegrad.distributed._buffers import _mpi_buffer, _written

    t = tg.arange(6.0).reshape(2, 3)
    shared, buffer = _mpi_buffer(t)
    assert buffer is shared and buffer.ctypes.data == t.data_ptr()  # no copy
    buffer *= 10  # what MPI's write does
    version = t._version
    _written(t, shared, buffer)
    assert t._version > version
    assert t.tolist() == [[0.0, 10.0, 20.0], [30.0, 40.0, 50.0]]
    v = t.T  # not one block: MPI gets a contiguous copy, written back through the view
    shared, buffer = _mpi_buffer(v)
    assert buffer is not shared and buffer.flags.c_contiguous
    buffer[...] = -1.0
    _written(v, shared, buffer)
    assert t.tolist() == [[-1.0] * 3] * 2
