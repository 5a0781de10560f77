"""Zero-copy interop with NumPy and DLPack (issue 12): shared memory both ways, lifetimes,
views, dtypes, errors, threads and autograd on shared tensors."""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

import numpy as np
import pytest

import tapegrad as tg

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64"]


def _values(dtype: str, n: int = 6) -> np.ndarray:
    if dtype == "bool":
        return np.arange(n) % 2 == 0
    return np.arange(n).astype(dtype)


def _other(a: np.ndarray) -> np.ndarray:
    return ~a if a.dtype == bool else (a + 1).astype(a.dtype)


# ---- export: t.numpy(), np.asarray(t) ------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_shares_memory_both_ways(dtype: str) -> None:
    t = tg.tensor(_values(dtype))
    a = t.numpy()
    assert a.dtype == np.dtype(dtype) and a.flags.writeable
    assert a.ctypes.data == t.data_ptr()
    b = np.asarray(t)
    assert np.shares_memory(a, b)
    # Write on the NumPy side, read through the tensor.
    a[...] = _other(_values(dtype))
    np.testing.assert_array_equal(np.array(t.tolist(), dtype=dtype), _other(_values(dtype)))
    # Write through the tensor, read on the NumPy side.
    t.copy_(tg.tensor(_values(dtype)))
    np.testing.assert_array_equal(a, _values(dtype))
    np.testing.assert_array_equal(b, _values(dtype))


def test_inplace_ops_and_setitem_reach_the_numpy_array() -> None:
    t = tg.zeros(2, 3)
    a = t.numpy()
    t.add_(1)
    t[0, 1] = 5.0
    t[:, 2] *= 3
    t.mul_(tg.tensor([1.0, 2.0, 1.0]))
    np.testing.assert_array_equal(a, [[1, 10, 3], [1, 2, 3]])
    t.zero_()
    assert not a.any()
    v0 = t._version
    a[1, 1] = 7  # NumPy writes are not counted (as in PyTorch)
    assert t._version == v0 and t[1, 1].item() == 7


def test_asarray_copy_flags() -> None:
    t = tg.arange(6.0)
    assert np.shares_memory(np.asarray(t), t.numpy())
    assert np.shares_memory(np.asarray(t, copy=False), t.numpy())
    c = np.asarray(t, copy=True)
    assert not np.shares_memory(c, t.numpy())
    d = np.asarray(t, dtype=np.float64)  # a conversion copies
    assert d.dtype == np.float64 and not np.shares_memory(d, t.numpy())
    with pytest.raises(ValueError):
        np.asarray(t, dtype=np.float64, copy=False)


def test_views_export_with_strides() -> None:
    base = tg.arange(24.0).reshape(2, 3, 4)
    a = base.numpy()
    for view, ref in [
        (base.transpose(0, 2), a.transpose(2, 1, 0)),
        (base[:, 1], a[:, 1]),
        (base[..., ::2], a[..., ::2]),
        (base.permute(1, 2, 0), a.transpose(1, 2, 0)),
        (base[1, 2, 3], a[1, 2, 3]),
        (base[:, :0], a[:, :0]),
    ]:
        v = view.numpy()
        assert v.shape == ref.shape and v.strides == ref.strides
        np.testing.assert_array_equal(v, ref)
        if v.size:
            assert np.shares_memory(v, a)
    col = base[:, 1].numpy()
    col[...] = -1
    assert (base[:, 1] == -1).all().item()
    e = tg.tensor([1.0, 2.0]).expand(3, 2).numpy()
    assert e.strides == (0, 4)


def test_a_transposed_result_is_exported_in_standard_order() -> None:
    x = tg.arange(6.0).reshape(2, 3)
    y = x.t().contiguous() * 1  # whatever layout the kernel chose
    a = y.numpy()
    np.testing.assert_array_equal(a, np.arange(6.0).reshape(2, 3).T)
    y.add_(1)
    np.testing.assert_array_equal(a, np.arange(6.0).reshape(2, 3).T + 1)


def test_lifetime_of_exported_memory() -> None:
    t = tg.arange(1000.0)
    a = t.numpy()
    v = t[10:20].numpy()
    del t
    gc.collect()
    a += 1  # the memory outlives the tensor
    assert a[999] == 1000.0 and v[0] == 11.0
    t2 = tg.ones(3)
    b = t2.numpy()
    del b
    gc.collect()
    t2.add_(1)  # and the tensor outlives the array
    assert t2.tolist() == [2.0, 2.0, 2.0]


def test_earlier_reads_keep_their_values() -> None:
    t = tg.arange(4.0)
    y = t * 1
    snapshot = t.clone()
    a = t.numpy()
    a[0] = 100
    t.add_(1)
    assert y.tolist() == [0, 1, 2, 3] and snapshot.tolist() == [0, 1, 2, 3]
    assert t.tolist() == [101, 2, 3, 4]


def test_numpy_refuses_requires_grad() -> None:
    w = tg.ones(3, requires_grad=True)
    with pytest.raises(tg.GraphError, match="detach"):
        w.numpy()
    assert np.shares_memory(w.detach().numpy(), w.detach().numpy())


# ---- import: tg.from_numpy -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_from_numpy_shares_memory_both_ways(dtype: str) -> None:
    a = _values(dtype)
    t = tg.from_numpy(a)
    assert t.dtype == getattr(tg, dtype) and t.data_ptr() == a.ctypes.data
    assert np.shares_memory(t.numpy(), a)
    a[...] = _other(_values(dtype))
    np.testing.assert_array_equal(np.array(t.tolist(), dtype=dtype), _other(_values(dtype)))
    t.copy_(tg.tensor(_values(dtype)))
    np.testing.assert_array_equal(a, _values(dtype))


def test_from_numpy_strided_arrays() -> None:
    a = np.arange(24.0).reshape(4, 6)
    for view in [a[:, 1], a.T, a[::2, 1::3], a[1:3], a[:0]]:
        t = tg.from_numpy(view)
        assert t.shape == view.shape
        np.testing.assert_array_equal(np.array(t.tolist()).reshape(view.shape), view)
    t = tg.from_numpy(a.T)
    t[0] = -1.0  # a.T[0] is a[:, 0]
    np.testing.assert_array_equal(a[:, 0], -1.0)
    t2 = tg.from_numpy(a[::2, 1::3])
    t2.add_(100)
    assert a[2, 4] == 116.0 and a[1, 1] == 7.0


def test_from_numpy_lifetime() -> None:
    a = np.arange(5.0)
    t = tg.from_numpy(a)
    del a
    gc.collect()
    t.mul_(2)  # the tensor keeps the array alive
    assert t.tolist() == [0, 2, 4, 6, 8]
    b = np.zeros(3)
    t2 = tg.from_numpy(b)
    del t2
    gc.collect()
    b[0] = 1  # and the array is still fine without the tensor
    assert b[0] == 1


def test_reads_see_numpy_writes_made_later() -> None:
    a = np.zeros((2, 2), dtype=np.float32)
    t = tg.from_numpy(a)
    col = t[:, 1]
    s0 = col.sum().item()
    a[:, 1] = 3
    assert s0 == 0 and col.sum().item() == 6 and (t + 0)[1, 1].item() == 3


@pytest.mark.parametrize(
    "array, error, match",
    [
        (np.arange(3, dtype=np.float16), tg.DTypeError, "float16"),
        (np.arange(3, dtype=np.complex64), tg.DTypeError, "complex64"),
        (np.arange(3, dtype=np.uint16), tg.DTypeError, "uint16"),
        (np.arange(3.0, dtype=">f8"), tg.ArgumentError, "byte order"),
        (np.arange(6.0)[::-1], tg.ArgumentError, "negative"),
        (np.frombuffer(b"\0" * 33, dtype=np.float64, count=4, offset=1), tg.ArgumentError, "not writable"),
    ],
)
def test_from_numpy_refusals(array: np.ndarray, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        tg.from_numpy(array)


def test_from_numpy_refuses_read_only_and_misaligned_arrays() -> None:
    ro = np.arange(3.0)
    ro.flags.writeable = False
    with pytest.raises(tg.ArgumentError, match="not writable"):
        tg.from_numpy(ro)
    with pytest.raises(tg.ArgumentError, match="not writable"):
        tg.from_numpy(np.broadcast_to(np.arange(3.0), (2, 3)))
    raw = np.zeros(33, dtype=np.uint8)
    misaligned = raw[1:].view(np.float64)
    with pytest.raises(tg.ArgumentError, match="aligned"):
        tg.from_numpy(misaligned)
    with pytest.raises(tg.DTypeError, match="ndarray"):
        tg.from_numpy([1.0, 2.0])  # type: ignore[arg-type]
    assert tg.tensor(ro).tolist() == [0, 1, 2]  # tg.tensor copies anything


# ---- autograd on shared tensors ------------------------------------------------------------


def test_from_numpy_leaf_with_autograd() -> None:
    a = np.array([1.0, 2.0, 3.0])
    w = tg.from_numpy(a, requires_grad=True)
    assert w.is_leaf and w.requires_grad
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * a)
    v0 = w._version
    with tg.no_grad():
        w -= 0.5 * w.grad
    assert w._version == v0 + 1
    np.testing.assert_allclose(a, [0.0, 0.0, 0.0])


def test_an_inplace_write_after_saving_is_detected() -> None:
    a = np.array([1.0, 2.0])
    x = tg.from_numpy(a)
    w = tg.ones(2, requires_grad=True)
    y = w * x  # saves x
    x.add_(1)
    with pytest.raises(tg.GraphError, match="modified by an inplace operation"):
        y.sum().backward()


def test_optimizer_steps_update_shared_parameters() -> None:
    a = np.ones(4, dtype=np.float32)
    p = tg.from_numpy(a).requires_grad_()
    opt = tg.optim.SGD([p], lr=0.5)
    (p * 2).sum().backward()
    opt.step()
    np.testing.assert_allclose(a, 0.0)


# ---- threads -------------------------------------------------------------------------------


def test_four_threads_writing_shared_memory() -> None:
    a = np.zeros((64, 64), dtype=np.float32)
    t = tg.from_numpy(a)
    out = t.numpy()
    stop = time.monotonic() + 2.0
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            while time.monotonic() < stop:
                if k == 0:
                    t.add_(1)
                elif k == 1:
                    t[:, k] = float(k)
                elif k == 2:
                    out[k] += 1.0
                else:
                    t.t().mul_(1.0)
                assert t.shape == (64, 64) and (t + 0).shape == (64, 64)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert t.shape == (64, 64) and np.isfinite(out).all()
    assert np.shares_memory(out, a)


# ---- DLPack --------------------------------------------------------------------------------


def test_dlpack_device() -> None:
    assert tg.ones(2).__dlpack_device__() == (1, 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_np_from_dlpack_shares_memory(dtype: str) -> None:
    t = tg.tensor(_values(dtype))
    a = np.from_dlpack(t)
    assert a.dtype == np.dtype(dtype) and np.shares_memory(a, t.numpy())
    t.copy_(tg.tensor(_other(_values(dtype))))
    np.testing.assert_array_equal(a, _other(_values(dtype)))


def test_dlpack_views_and_round_trips() -> None:
    base = tg.arange(12.0).reshape(3, 4)
    v = np.from_dlpack(base.t())
    np.testing.assert_array_equal(v, np.arange(12.0).reshape(3, 4).T)
    back = tg.from_dlpack(v)
    back[0, 0] = 99.0
    assert base[0, 0].item() == 99.0
    a = np.arange(6.0)
    t = tg.from_dlpack(a)
    a[2] = -1
    assert t[2].item() == -1
    t.add_(1)
    assert a[0] == 1.0
    del a
    gc.collect()
    assert t.sum().item() == 1 + 2 + 0 + 4 + 5 + 6


def test_dlpack_legacy_and_versioned_capsules() -> None:
    t = tg.arange(3.0)
    legacy = t.__dlpack__()
    versioned = t.__dlpack__(max_version=(1, 0))
    assert "dltensor" in repr(legacy) and "dltensor_versioned" in repr(versioned)
    u = tg.from_dlpack(legacy)
    w = tg.from_dlpack(versioned)
    u.add_(1)
    w.add_(1)
    assert t.tolist() == [2.0, 3.0, 4.0]
    with pytest.raises(tg.ArgumentError, match="consumed"):
        tg.from_dlpack(legacy)
    del u, w, legacy, versioned
    gc.collect()
    _ = t.__dlpack__()  # an unconsumed capsule is freed by its destructor
    gc.collect()


def test_dlpack_refusals() -> None:
    with pytest.raises(tg.GraphError):
        tg.ones(2, requires_grad=True).__dlpack__()
    with pytest.raises(tg.ArgumentError, match="stream"):
        tg.ones(2).__dlpack__(stream=1)
    with pytest.raises(tg.ArgumentError, match="CPU"):
        tg.ones(2).__dlpack__(dl_device=(2, 0))
    with pytest.raises(tg.ArgumentError, match="__dlpack__"):
        tg.from_dlpack([1, 2])
    ro = np.arange(3.0)
    ro.flags.writeable = False
    with pytest.raises(tg.ArgumentError, match="read-only|readonly"):
        tg.from_dlpack(ro)
    with pytest.raises(tg.DTypeError, match="not supported"):
        tg.from_dlpack(np.arange(3, dtype=np.float16))


def _torch() -> Any:
    return pytest.importorskip("torch")


def test_torch_from_dlpack_shares_memory() -> None:
    torch = _torch()
    t = tg.arange(6.0).reshape(2, 3)
    pt = torch.from_dlpack(t)
    assert pt.shape == (2, 3) and pt.dtype == torch.float32
    pt[1, 2] = 42.0
    assert t[1, 2].item() == 42.0
    t.mul_(2)
    assert pt[1, 2].item() == 84.0
    view = torch.from_dlpack(t.t())
    assert view.stride() == (1, 3)


def test_tg_from_dlpack_of_a_torch_tensor() -> None:
    torch = _torch()
    for dtype in [torch.float32, torch.float64, torch.int64, torch.uint8, torch.bool]:
        pt = torch.zeros(2, 3, dtype=dtype)
        t = tg.from_dlpack(pt)
        assert t.shape == (2, 3) and t.dtype.name == str(dtype).removeprefix("torch.")
        t.fill_(1)
        assert bool((pt == 1).all())
    pt = torch.arange(12.0).reshape(3, 4).t()
    t = tg.from_dlpack(pt)
    assert t.stride() == (1, 4)
    pt.add_(1)
    assert t[0, 0].item() == 1.0


def test_as_tensor_shares_a_numpy_arrays_memory_when_it_can():
    a = np.arange(4.0)
    t = tg.as_tensor(a)
    a[0] = 7.0
    assert t.tolist()[0] == 7.0 and t.dtype == tg.float64
    assert tg.as_tensor(a, dtype=tg.float64).tolist()[0] == 7.0  # same dtype: shared
    converted = tg.as_tensor(a, dtype=tg.float32)  # another dtype: a converted copy
    a[1] = -1.0
    assert converted.tolist()[1] == 1.0
    frozen = np.arange(3)
    frozen.flags.writeable = False
    copy = tg.as_tensor(frozen)  # not shareable: copied, as README says
    assert copy.tolist() == [0, 1, 2] and copy.dtype == tg.int64
