"""In-place view ops (``unsqueeze_``, ``squeeze_``, ``t_``, ``transpose_``, ``swapdims_``,
``swapaxes_``, ``as_strided_``, ``resize_``, ``resize_as_``): the same object gets the new
shape and strides over the same storage, with PyTorch's autograd semantics, versions and
errors (compared with torch)."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg

torch = pytest.importorskip("torch")

X = np.arange(6.0).reshape(2, 3)

# op -> (arguments, input shape)
OPS = {
    "unsqueeze_": ((0,), (2, 3)),
    "squeeze_": ((), (2, 1, 3)),
    "t_": ((), (2, 3)),
    "transpose_": ((0, 1), (2, 3)),
    "swapdims_": ((1, 0), (2, 3)),
    "swapaxes_": ((0, 1), (2, 3)),
    "as_strided_": (((3, 2), (1, 3)), (2, 3)),
}
SQUEEZES = [(), (1,), (0,), ((0, 1),)]


def _pair(shape, requires_grad=False):
    data = np.arange(float(np.prod(shape))).reshape(shape)
    return (
        tg.tensor(data, requires_grad=requires_grad),
        torch.tensor(data, requires_grad=requires_grad),
    )


def _same_layout(a, b):
    assert tuple(a.shape) == tuple(b.shape)
    assert tuple(a.stride()) == tuple(b.stride())
    assert a.storage_offset() == b.storage_offset()
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("op", sorted(OPS))
def test_same_object_same_storage_new_layout(op):
    args, shape = OPS[op]
    a, b = _pair(shape)
    pointer, version = a.data_ptr(), a._version
    assert getattr(a, op)(*args) is a
    assert a.data_ptr() == pointer
    getattr(b, op)(*args)
    _same_layout(a, b)
    assert a._version == version + 1 == b._version
    assert a._base is None and a.is_leaf


@pytest.mark.parametrize("dims", SQUEEZES, ids=str)
def test_squeeze_in_place_dims(dims):
    a, b = _pair((1, 2, 1))
    a.squeeze_(*dims)
    b.squeeze_(*dims)
    _same_layout(a, b)


def test_writes_are_shared_with_the_storage():
    a = tg.tensor(X.copy())
    view = a[0]
    a.t_()
    a[1, 0] = 100.0  # element (0, 1) before the transpose
    assert view[1].item() == 100.0


def test_a_view_stays_a_view_of_its_base():
    a, b = _pair((4, 3))
    va, vb = a[1:3], b[1:3]
    va.t_()
    vb.t_()
    _same_layout(va, vb)
    assert va._is_view() and va._shares_storage(a) and vb._base is b
    va.unsqueeze_(0)
    vb.unsqueeze_(0)
    _same_layout(va, vb)
    va.fill_(-1.0)
    vb.fill_(-1.0)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("op", sorted(OPS))
def test_leaf_that_requires_grad_refuses_with_pytorchs_error(op):
    args, shape = OPS[op]
    a, b = _pair(shape, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad") as got:
        getattr(a, op)(*args)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        getattr(b, op)(*args)
    assert isinstance(got.value, tg.GraphError)
    assert tuple(a.shape) == shape  # unchanged
    with tg.no_grad():
        getattr(a, op)(*args)
    with torch.no_grad():
        getattr(b, op)(*args)
    _same_layout(a, b)
    assert a.is_leaf and a.requires_grad


def test_a_view_of_a_leaf_that_requires_grad_refuses():
    a = tg.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        a[0].unsqueeze_(0)


@pytest.mark.parametrize("op", sorted(OPS))
def test_non_leaf_history_is_the_view_op_and_gradients_match(op):
    args, shape = OPS[op]
    a, b = _pair(shape, requires_grad=True)
    ya, yb = a * 2, b * 2
    getattr(ya, op)(*args)
    getattr(yb, op)(*args)
    assert ya.grad_fn is not None and not ya.is_leaf
    weights = np.random.default_rng(1).normal(size=tuple(yb.shape))
    (ya * tg.tensor(weights)).sum().backward()
    (yb * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("op", sorted(OPS))
def test_grad_fn_is_the_out_of_place_view_ops_node(op):
    args, shape = OPS[op]
    a, _ = _pair(shape, requires_grad=True)
    y = a * 1
    expected = getattr(y, op[:-1])(*args).grad_fn.name()
    getattr(y, op)(*args)
    assert y.grad_fn.name() == expected


def test_a_saved_tensor_restrided_refuses_backward():
    a = tg.tensor(X, requires_grad=True)
    y = a * 2
    z = y * y  # saves y
    y.unsqueeze_(0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_gradient_through_a_view_restrided_then_written():
    a, b = _pair((2, 3), requires_grad=True)
    outs = []
    for x in (a, b):
        y = x * 1
        v = y[:, 1:]
        v.t_()
        v.mul_(3.0)
        outs.append(y)
    outs[0].sum().backward()
    outs[1].sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


def test_errors_leave_the_tensor_unchanged():
    a = tg.tensor(np.ones((2, 3, 4)))
    with pytest.raises(tg.ShapeError, match="<= 2 dimensions"):  # as t()
        a.t_()
    with pytest.raises(IndexError):
        a.transpose_(0, 5)
    with pytest.raises(ValueError):
        a.as_strided_((100,), (1,))
    assert tuple(a.shape) == (2, 3, 4) and a._version == 0


def test_axis_spelling_of_unsqueeze_in_place():
    a = tg.zeros(3)
    assert a.unsqueeze_(axis=1).shape == (3, 1)


# ---- resize_ ------------------------------------------------------------------------------


def test_resize_within_the_storage_and_growing_it():
    a, b = tg.arange(6.0), torch.arange(6.0)
    for shape in [(2, 2), (3, 2), (5,), (3, 3), (2, 2)]:
        assert a.resize_(*shape) is a
        b.resize_(*shape)
        assert tuple(a.shape) == tuple(b.shape) == shape
        assert a._version == b._version
        known = 6  # torch leaves grown elements uninitialised: compare the old ones
        # (torch cannot resize a storage numpy() has seen: compare a copy)
        np.testing.assert_array_equal(
            a.numpy().reshape(-1)[:known], b.clone().numpy().reshape(-1)[:known]
        )
    assert a._storage_nbytes() == 9 * 4 == b.untyped_storage().nbytes()


def test_resize_keeps_the_offset_of_a_view():
    a, b = tg.arange(6.0), torch.arange(6.0)
    va, vb = a[2:], b[2:]
    va.resize_(2, 2)
    vb.resize_(2, 2)
    _same_layout(va, vb)


def test_resize_as_and_sequence_sizes():
    a = tg.zeros(6)
    assert a.resize_as_(tg.ones(2, 3)).shape == (2, 3)
    assert a.resize_((3, 2)).shape == (3, 2)


def test_resize_refuses_tensors_that_require_grad():
    a = tg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
        a.resize_(2)
    with tg.no_grad(), pytest.raises(RuntimeError, match="cannot resize"):
        a.resize_(2)


def test_resize_cannot_grow_memory_shared_with_numpy():
    array = np.zeros(4)
    a = tg.from_numpy(array)
    a.resize_(2, 2)  # within the memory: fine
    a[0, 0] = 5.0
    assert array[0] == 5.0
    with pytest.raises(ValueError, match="not resizable"):
        a.resize_(10)


def test_a_view_made_before_its_base_was_restrided_sees_later_writes():
    """The view's op cannot be replayed on the restrided base: its window is read."""
    grads = []
    for lib in (tg, torch):
        b = lib.arange(6.0, dtype=lib.float64, requires_grad=True)
        y = b * 1
        v = y[0:3]
        y.unsqueeze_(0)
        y.mul_(2)
        v.sum().backward()
        grads.append(b.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
