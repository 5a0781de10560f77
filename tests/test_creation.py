"""Creating tensors and getting data out: any NumPy layout in, plain data out."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg
from helpers import assert_close, raises

# ---------------------------------------------------------------- tensor()


def test_from_python_scalars_and_nested_lists():
    x = tg.tensor(2.5)
    assert x.shape == () and x.ndim == 0 and x.numel() == 1 and x.item() == 2.5
    y = tg.tensor([[1, 2, 3], [4.5, 5, 6]])
    assert y.shape == (2, 3) and y.dtype == tg.float32
    assert_close(y, [[1, 2, 3], [4.5, 5, 6]])
    assert tg.tensor([]).shape == (0,)
    assert tg.tensor([[], []]).shape == (2, 0)
    assert tg.tensor((1.0, 2.0)).shape == (2,)
    assert tg.tensor(3).item() == 3.0


def _readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def _layouts():
    base = np.arange(24.0).reshape(4, 6) / 7.0
    unaligned = np.frombuffer(b"\0" + base.tobytes(), dtype=np.float64, offset=1)
    return {
        "c": base,
        "fortran": np.asfortranarray(base),
        "transposed": base.T,
        "strided": base[:, ::2],
        "negative-strides": base[::-1, ::-3],
        "zero-strides": np.broadcast_to(base[0], (3, 6)),
        "big-endian": base.astype(">f8"),
        "big-endian-f4": base.astype(">f4"),
        "big-endian-strided": base.astype(">f8")[::2, 1::2],
        "unaligned": unaligned.reshape(4, 6),
        "readonly": _readonly(base),
        "0-d": np.array(1.25),
        "size-0": np.zeros((3, 0)),
        "3-d-transposed": np.arange(24.0).reshape(2, 3, 4).transpose(2, 0, 1),
    }


@pytest.mark.parametrize(
    ("name", "array"), list(_layouts().items()), ids=list(_layouts())
)
def test_numpy_input_in_any_layout(name, array):
    expected = np.array(array, dtype=np.float64)
    want_dtype = tg.float32 if array.dtype.itemsize == 4 else tg.float64
    # from_numpy shares memory, so it refuses what cannot be shared (tests/test_zero_copy.py)
    shareable = array.flags.writeable and array.flags.aligned and array.dtype.isnative
    shareable = shareable and all(s >= 0 for s in array.strides)
    for make in (tg.tensor, tg.from_numpy) if shareable else (tg.tensor,):
        x = make(array)
        assert x.shape == array.shape
        assert x.dtype == want_dtype
        assert_close(x, expected)
    if not shareable:
        with pytest.raises(tg.ArgumentError):
            tg.from_numpy(array)
    assert tg.tensor(np.arange(6.0).astype(">f8")).tolist() == [0, 1, 2, 3, 4, 5]


def test_tensor_copies_and_from_numpy_shares():
    a = np.array([1.0, 2.0, 3.0])
    x = tg.tensor(a)
    y = tg.from_numpy(a)
    a[0] = 100.0
    assert x.tolist()[0] == 1.0 and y.tolist()[0] == 100.0


@pytest.mark.parametrize("np_dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_integer_and_bool_arrays_keep_their_dtype(np_dtype):
    data = np.array([[1, 0], [3, 4]]).astype(np_dtype)
    x = tg.tensor(data)
    assert x.dtype.name == np.dtype(np_dtype).name
    assert x.tolist() == data.tolist()


def test_dtype_argument_converts():
    x = tg.tensor([1.0, 2.0], dtype="float64")
    assert x.dtype == tg.float64
    y = tg.tensor(np.array([1.0, 1.0 + 1e-12]), dtype=tg.float32)
    assert y.dtype == tg.float32 and y.tolist() == [1.0, 1.0]
    assert tg.tensor([1.0], dtype=np.float64, requires_grad=True).requires_grad


# ---------------------------------------------------------------- factories


@pytest.mark.parametrize("dtype", [None, tg.float64])
def test_zeros_ones_full_like(dtype):
    want = tg.float32 if dtype is None else dtype
    for make, value in ((tg.zeros, 0.0), (tg.ones, 1.0)):
        a, b = make(2, 3, dtype=dtype), make((2, 3), dtype=dtype)
        for x in (a, b):
            assert x.shape == (2, 3) and x.dtype == want
            assert_close(x, np.full((2, 3), value))
        assert make(0).shape == (0,) and make().shape == ()
    f = tg.full((2, 2), 7.5, dtype=dtype, requires_grad=True)
    assert f.requires_grad and f.dtype == want
    assert_close(f.detach(), np.full((2, 2), 7.5))
    src = tg.rand(3, 2, dtype=tg.float64)
    for like, value in ((tg.zeros_like, 0.0), (tg.ones_like, 1.0)):
        y = like(src)
        assert y.shape == (3, 2) and y.dtype == tg.float64 and not y.requires_grad
        assert_close(y, np.full((3, 2), value))
        assert like(src, requires_grad=True).requires_grad
    assert tg.zeros(2, requires_grad=True).is_leaf


@pytest.mark.parametrize(
    "args", [(5,), (2, 7), (1.0, 2.0, 0.25), (5, 0, -1), (0,), (3, 3), (0.0, 1.0, 0.3)]
)
def test_arange_matches_numpy(args):
    x = tg.arange(*args)
    expected = np.arange(*args, dtype=np.float64)
    integers = all(isinstance(a, int) for a in args)  # int64, as in PyTorch
    assert x.shape == expected.shape
    assert x.dtype == (tg.int64 if integers else tg.float32)
    assert_close(x, expected, rtol=1e-6)
    assert tg.arange(*args, dtype=tg.float64).dtype == tg.float64


def test_arange_zero_step():
    with raises(tg.ArgumentError, "step"):
        tg.arange(0, 5, 0)


def test_eye():
    assert_close(tg.eye(3), np.eye(3))
    assert_close(tg.eye(2, 4), np.eye(2, 4))
    assert tg.eye(0).shape == (0, 0)
    assert tg.eye(2, dtype=tg.float64).dtype == tg.float64


def test_rand_randn_and_manual_seed():
    tg.manual_seed(1234)
    a, b = tg.rand(1000), tg.randn(1000, dtype=tg.float64)
    tg.manual_seed(1234)
    assert a.tolist() == tg.rand(1000).tolist()
    assert b.tolist() == tg.randn(1000, dtype=tg.float64).tolist()
    assert tg.rand(1000).tolist() != a.tolist()  # the stream moves on
    tg.manual_seed(99)
    assert tg.rand(1000).tolist() != a.tolist()
    u, n = a.numpy(), b.numpy()
    assert u.min() >= 0.0 and u.max() < 1.0 and 0.45 < u.mean() < 0.55
    assert abs(n.mean()) < 0.15 and 0.85 < n.std() < 1.15
    assert a.dtype == tg.float32 and tg.randn(2, 3).shape == (2, 3)
    assert tg.rand(2, requires_grad=True).requires_grad


# ---------------------------------------------------------------- data out


def test_numpy_out():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=tg.float64)
    a = x.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float64 and a.shape == (2, 2)
    assert tg.ones(2).numpy().dtype == np.float32
    assert a.flags.writeable  # shares x's memory, as in PyTorch (tests/test_zero_copy.py)
    a[0, 0] = 99.0
    assert x.numpy()[0, 0] == 99.0 and x[0, 0].item() == 99.0
    y = tg.tensor([1.0], requires_grad=True)
    with raises(tg.GraphError, "detach"):
        y.numpy()
    assert y.detach().numpy().tolist() == [1.0]


def test_array_protocol():
    x = tg.tensor([1.5, 2.5])
    a = np.asarray(x)
    assert a.dtype == np.float32 and a.tolist() == [1.5, 2.5]
    b = np.asarray(x, dtype=np.float64)
    assert b.dtype == np.float64 and b.tolist() == [1.5, 2.5]
    c = np.array(x, copy=True)
    c[0] = 0.0
    assert x.tolist() == [1.5, 2.5]
    assert x.__array__().dtype == np.float32
    assert x.__array__(np.float64, copy=None).dtype == np.float64
    try:
        d = np.array(x, copy=False)
    except ValueError:
        pass  # NumPy's contract when a copy cannot be avoided
    else:
        assert d.tolist() == [1.5, 2.5]
    # A ufunc applied to a tensor raises rather than return an array cut from the graph
    # (tests/test_numpy_operands.py); conversion stays explicit.
    with pytest.raises(TypeError, match="does not support ufuncs"):
        np.add(x, 1.0)
    assert np.add(np.asarray(x), 1.0).tolist() == [2.5, 3.5]


def test_item_and_tolist():
    assert tg.tensor(2.5).item() == 2.5 and isinstance(tg.tensor(2.5).item(), float)
    assert tg.tensor([[3.0]]).item() == 3.0
    assert tg.tensor(2.5).tolist() == 2.5
    nested = tg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=tg.float64).tolist()
    assert nested == [[1.0, 2.0], [3.0, 4.0]]
    assert all(type(v) is float for row in nested for v in row)
    assert tg.zeros(2, 0).tolist() == [[], []]
    assert tg.tensor([0.1], dtype=tg.float32).item() == float(np.float32(0.1))
    y = tg.tensor([[1.5, 2.5]], dtype=tg.float64, requires_grad=True)
    assert y.tolist() == [[1.5, 2.5]] and y[0, 1].item() == 2.5  # no detach needed


def test_shape_attributes():
    x = tg.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and isinstance(x.shape, tuple)
    assert x.ndim == 3 and x.numel() == 24 and len(x) == 2
    assert tg.zeros(0, 5).numel() == 0 and len(tg.zeros(0, 5)) == 0
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.dim() == 3
    with pytest.raises(TypeError):
        len(tg.tensor(1.0))


def test_repr():
    r = repr(tg.tensor([1.5, -2.0]))
    assert r.startswith("tensor(") and "1.5" in r and "-2" in r
    assert "requires_grad=True" in repr(tg.tensor([1.0], requires_grad=True))
    assert "float64" in repr(tg.tensor([1.0], dtype=tg.float64))
    big = repr(tg.zeros(1000, 1000))
    assert len(big) < 5000
