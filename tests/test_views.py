"""Views (issue 12): `_base` is the Python object of the storage's owner, as PyTorch's,
and `diagonal` is a view with PyTorch's semantics (offsets, dims, empty diagonals)."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import tapegrad as tg
from tapegrad.testing import gradcheck, gradgradcheck


def arr(t: tg.Tensor) -> np.ndarray:
    return np.array(t.tolist())


VIEW_OPS = [
    lambda x: x[0],
    lambda x: x[1:, ::2],
    lambda x: x[...],
    lambda x: x.T,
    lambda x: x.t(),
    lambda x: x.mT,
    lambda x: x.transpose(0, 1),
    lambda x: x.permute(1, 0),
    lambda x: x.view(6),
    lambda x: x.reshape(3, 2),
    lambda x: x.flatten(),
    lambda x: x.unsqueeze(0),
    lambda x: x.squeeze(),
    lambda x: x.expand(2, 2, 3),
    lambda x: x.broadcast_to((2, 2, 3)),
    lambda x: x.expand_as(tg.zeros(4, 2, 3)),
    lambda x: x.view_as(tg.zeros(3, 2)),
    lambda x: x.narrow(1, 1, 2),
    lambda x: x.split(1)[1],
    lambda x: x.chunk(2, 1)[0],
    lambda x: x.unbind(1)[2],
    lambda x: x.movedim(0, 1),
    lambda x: x.diagonal(),
    lambda x: tg.diagonal(x, 1),
    lambda x: x.unfold(1, 2, 1),
    lambda x: x.as_strided((2,), (4,), 0),
]


@pytest.mark.parametrize("make_view", VIEW_OPS)
def test_base_is_the_python_object_of_the_storage_owner(make_view):
    # PyTorch: `x[0]._base is x`, and a view of a view has the root as its base.
    x = tg.tensor(np.arange(6.0).reshape(2, 3))
    v = make_view(x)
    assert v._base is x
    assert v[..., None]._base is x and make_view(x)._base is x
    assert x._base is None and x.clone()._base is None and x.detach()._base is None
    p = tg.nn.Parameter(tg.zeros(2, 3))
    assert make_view(p)._base is p


def test_base_of_a_view_made_without_a_python_base_is_still_its_storage_owner():
    v = tg.arange(6.0).reshape(2, 3)  # the arange's object was never kept
    assert v._base is not None and v._base.shape == (6,) and v._base._shares_storage(v)
    assert v._base is v._base and v[0]._base is v._base


def test_diagonal_is_a_view_with_pytorchs_semantics():
    torch = pytest.importorskip("torch")
    values = np.arange(24.0).reshape(2, 3, 4)
    x = tg.tensor(values)
    tx = torch.tensor(values)
    for offset in (-5, -3, -2, -1, 0, 1, 2, 3, 4, 7):
        for dim1, dim2 in ((0, 1), (1, 2), (2, 0), (-1, -2), (0, -1)):
            d = x.diagonal(offset, dim1, dim2)
            want = tx.diagonal(offset, dim1, dim2)
            assert d.shape == tuple(want.shape)
            assert d.stride() == want.stride() or d.numel() == 0
            if d.numel():
                assert d.storage_offset() == want.storage_offset()
            np.testing.assert_array_equal(arr(d), want.numpy())
            assert d._base is x
    with pytest.raises(
        tg.ArgumentError, match="diagonal dimensions cannot be identical"
    ):
        x.diagonal(0, 1, -2)
    with pytest.raises(tg.AxisError):
        x.diagonal(0, 0, 3)
    with pytest.raises(tg.ShapeError, match=r"diagonal: input must be >= 2-d"):
        tg.zeros(3).diagonal()
    # diag of a matrix is a copy, as PyTorch's
    m = tg.tensor(np.arange(6.0).reshape(2, 3))
    d = tg.diag(m, 1)
    assert d._base is None and not d._shares_storage(m)
    np.testing.assert_array_equal(arr(d), [1.0, 5.0])


def test_writes_through_a_diagonal_are_seen_by_the_base_and_share_its_version():
    x = tg.zeros(3, 3)
    d = x.diagonal()
    d.add_(1.0)
    np.testing.assert_array_equal(arr(x), np.eye(3))
    assert x._version == d._version == 1
    x.mul_(2.0)
    np.testing.assert_array_equal(arr(d), [2.0, 2.0, 2.0])
    assert d._version == 2
    # in place through the diagonal of a non-leaf rewrites the base's history (CopySlices)
    w = tg.tensor(np.arange(9.0).reshape(3, 3), dtype=tg.float64, requires_grad=True)
    y = w * 1.0
    y.diagonal().zero_()
    y.sum().backward()
    np.testing.assert_array_equal(arr(w.grad), 1.0 - np.eye(3))


def test_diagonal_gradients_and_forward_mode():
    x = tg.tensor(np.random.default_rng(0).random((3, 4, 5)), requires_grad=True)
    for offset, dim1, dim2 in ((0, 0, 1), (2, 2, 1), (-1, 0, 2), (9, 0, 1)):
        args = (offset, dim1, dim2)
        assert gradcheck(lambda t, args=args: t.diagonal(*args) * 3.0, (x,))
        assert gradgradcheck(lambda t, args=args: t.diagonal(*args) ** 2, (x,))
    t = tg.ones(3, 4, dtype=tg.float64)
    tangent = tg.tensor(np.arange(12.0).reshape(3, 4))
    _, out = tg.func.jvp(lambda a: a.diagonal(1), (t,), (tangent,))
    np.testing.assert_array_equal(arr(out), [1.0, 6.0, 11.0])


def test_a_view_keeps_its_base_object_alive_and_both_are_freed_after():
    x = tg.zeros(1000)
    base = weakref.ref(x)
    v = x[1:]
    del x
    gc.collect()
    assert base() is not None and v._base is base()
    view = weakref.ref(v)
    del v
    gc.collect()
    assert base() is None and view() is None


class _Tagged(tg.Tensor):
    """A Python subclass: it has a ``__dict__``, so it can hold its own view."""


def test_a_cycle_through_a_views_base_is_collected():
    def make():
        x = _Tagged(1000)
        v = x[1:]
        x.view_of_me = v  # x -> v -> (v._base) x: seen by the collector through both
        return weakref.ref(x), weakref.ref(v)

    refs = make()
    gc.collect()
    assert all(r() is None for r in refs)
