"""In-place operations, views sharing storage, version counters and ``__setitem__``
(issue 12): values, aliasing, gradients (finite differences and PyTorch), errors."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tapegrad as tg
from op_specs import INPLACE_SPELLINGS, OPS, make_arrays
from tapegrad.testing import gradcheck

UNARY = ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "neg", "abs",
         "floor", "ceil", "round", "trunc", "reciprocal", "square", "expm1", "log1p"]


def arr(t: tg.Tensor) -> np.ndarray:
    return np.asarray(t.detach().numpy())


# ---- values and versions ------------------------------------------------------------------

_SPECS = {spec.name: spec for spec in OPS if not spec.variant and spec.samples}
INPLACE_CASES = [
    pytest.param(name, _SPECS[base], id=name)
    for name, base in sorted(INPLACE_SPELLINGS.items())
    if base in _SPECS
]


def _in_place_call(spec, name, monkeypatch):
    """The spec's call with its op turned into ``x.<op>_(...)``. A spec whose op calls the
    method (``lambda a, b: a.xlogy(b)``) is called as the in-place method directly; one
    that wraps ``tg.<op>(x, ...)`` (arguments reordered, indices wrapped) runs with
    ``tg.<op>`` replaced by the in-place method."""
    import inspect

    base = INPLACE_SPELLINGS[name]
    try:
        source = inspect.getsource(spec.op)
    except (OSError, TypeError):
        source = ""
    if f"tg.{base}(" not in source:
        return lambda target, *rest, **kwargs: getattr(target, name)(*rest, **kwargs)

    def call(*tensors, **kwargs):
        with monkeypatch.context() as patch:
            patch.setattr(tg, base, lambda x, *a, **k: getattr(x, name)(*a, **k))
            return spec.op(*tensors, **kwargs)

    return call


@pytest.mark.parametrize(("name", "spec"), INPLACE_CASES)
def test_every_in_place_form_equals_its_op_or_refuses_without_writing(name, spec, monkeypatch):
    """``x.name_(*rest)`` is ``x.name(*rest)`` written into ``x`` (version + 1) when the
    result has ``x``'s shape and dtype; otherwise it raises and leaves ``x`` untouched."""
    in_place = _in_place_call(spec, name, monkeypatch)
    for sample in spec.samples:
        arrays = make_arrays(spec, sample, np.float64, f"{spec.id}/{sample.label()}")
        tensors = [tg.tensor(a, dtype=tg.float64) for a in arrays]
        expected = spec.op(*tensors, **sample.kwargs)
        target = tensors[0]
        before = arr(target).copy()
        if tuple(expected.shape) != tuple(target.shape) or expected.dtype != target.dtype:
            with pytest.raises((tg.ShapeError, tg.DTypeError), match="output with shape|can't be cast"):
                in_place(*tensors, **sample.kwargs)
            np.testing.assert_array_equal(arr(target), before)
            assert target._version == 0
            continue
        assert in_place(*tensors, **sample.kwargs) is target
        np.testing.assert_array_equal(arr(target), arr(expected))
        assert target._version == 1


@pytest.mark.parametrize("name", UNARY)
def test_each_unary_in_place_op_equals_its_out_of_place_op_and_bumps_the_version(name):
    x = tg.tensor(np.random.default_rng(0).uniform(0.5, 2.0, (2, 3)))
    expected = arr(getattr(x, name)())
    same = getattr(x, name + "_")()
    assert same is x
    np.testing.assert_array_equal(arr(x), expected)
    assert x._version == 1


@pytest.mark.parametrize(
    "call, reference",
    [
        (lambda x: x.add_(2.0), lambda a: a + 2.0),
        (lambda x: x.add_(tg.ones(3), alpha=-0.5), lambda a: a - 0.5),
        (lambda x: x.sub_(1.0), lambda a: a - 1.0),
        (lambda x: x.mul_(tg.tensor([1.0, 2.0, 3.0])), lambda a: a * [1.0, 2.0, 3.0]),
        (lambda x: x.div_(4.0), lambda a: a / 4.0),
        (lambda x: x.pow_(2), lambda a: a**2),
        (lambda x: x.clamp_(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5)),
        (lambda x: x.clamp_min_(0.0), lambda a: np.maximum(a, 0.0)),
        (lambda x: x.zero_(), lambda a: np.zeros_like(a)),
        (lambda x: x.fill_(3.5), lambda a: np.full_like(a, 3.5)),
        (lambda x: x.copy_(tg.tensor([7.0])), lambda a: np.full_like(a, 7.0)),
        (lambda x: x.masked_fill_(x > 0, 0.0), lambda a: np.where(a > 0, 0.0, a)),
        (lambda x: x.addcmul_(tg.ones(3), tg.ones(3), value=2.0), lambda a: a + 2.0),
        (lambda x: x.lerp_(tg.zeros(3), 0.5), lambda a: a * 0.5),
    ],
)
def test_arithmetic_in_place_ops_match_numpy(call, reference):
    a = np.random.default_rng(1).standard_normal((2, 3))
    x = tg.tensor(a)
    assert call(x) is x
    np.testing.assert_allclose(arr(x), reference(a), rtol=1e-6)
    assert x._version == 1


def test_in_place_arithmetic_without_a_graph_writes_into_the_buffer_it_has():
    x, y = tg.randn(1 << 12), tg.randn(1 << 12)
    address = x.data_ptr()
    x.add_(y)
    x.mul_(2.0)
    x.sub_(y, alpha=0.5)
    x.div_(3.0)
    x.copy_(y)
    x.zero_()
    x += y
    assert x.data_ptr() == address  # no new buffer: nothing was allocated for the result
    assert x._version == 7
    view = x[::2]
    view.add_(1.0)
    assert x.data_ptr() == address and view.data_ptr() == address


def test_augmented_operators_mutate_the_same_object():
    x = tg.tensor([1.0, 2.0, 3.0])
    ident = id(x)
    x += 1
    x -= 0.5
    x *= 2
    x /= 3
    x **= 2
    assert id(x) == ident
    np.testing.assert_allclose(arr(x), ((np.array([1.0, 2.0, 3.0]) + 0.5) * 2 / 3) ** 2, rtol=1e-6)
    assert x._version == 5
    m = tg.eye(2)
    m @= tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(arr(m), [[1.0, 2.0], [3.0, 4.0]])


def test_a_failed_in_place_op_leaves_the_tensor_bitwise_unchanged():
    x = tg.tensor([[1.0, 2.0, 3.0]])
    before = arr(x).copy()
    with pytest.raises(tg.ShapeError, match=r"output with shape \(1, 3\) doesn't match the broadcast shape \(2, 3\)"):
        x.add_(tg.zeros(2, 3))
    i = tg.tensor([1, 2, 3])
    with pytest.raises(tg.DTypeError, match="result type float32 can't be cast to the desired output type int64"):
        i.mul_(1.5)
    e = tg.zeros(1).expand(3)
    with pytest.raises(tg.ArgumentError, match="more than one element of the written-to tensor"):
        e.add_(1)
    np.testing.assert_array_equal(arr(x), before)
    assert x._version == 0 and i._version == 0


# ---- views share storage --------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_view, write",
    [
        (lambda x: x[0], lambda v: v.zero_()),
        (lambda x: x[:, 1], lambda v: v.fill_(9.0)),
        (lambda x: x[1:, ::2], lambda v: v.add_(1.0)),
        (lambda x: x.T, lambda v: v.mul_(2.0)),
        (lambda x: x.t(), lambda v: v.sub_(1.0)),
        (lambda x: x.mT, lambda v: v.mul_(3.0)),
        (lambda x: x.transpose(0, 1), lambda v: v.neg_()),
        (lambda x: x.permute(1, 0), lambda v: v.exp_()),
        (lambda x: x.view(6), lambda v: v.add_(tg.arange(6.0))),
        (lambda x: x.reshape(3, 2), lambda v: v.mul_(0.5)),
        (lambda x: x.unsqueeze(0), lambda v: v.add_(1.0)),
        (lambda x: x[None].squeeze(0), lambda v: v.add_(1.0)),
        (lambda x: x.narrow(1, 1, 2), lambda v: v.zero_()),
        (lambda x: x.detach(), lambda v: v.add_(5.0)),
        (lambda x: x.data, lambda v: v.mul_(-1.0)),
        (lambda x: x[...], lambda v: v.fill_(1.0)),
        (lambda x: x.as_strided((2,), (4,), 0), lambda v: v.fill_(-1.0)),
        (lambda x: x.diagonal(), lambda v: v.fill_(-1.0)),
        (lambda x: x.diagonal(1), lambda v: v.mul_(2.0)),
        (lambda x: tg.diagonal(x, -1, 1, 0), lambda v: v.add_(10.0)),
        (lambda x: x.unfold(1, 1, 2), lambda v: v.add_(1.0)),
    ],
)
def test_a_write_through_a_view_is_seen_by_the_base_and_the_view(make_view, write):
    base_values = np.arange(6.0).reshape(2, 3)
    x = tg.tensor(base_values)
    reference = tg.tensor(base_values)  # the same ops on an independent copy
    v = make_view(x)
    assert v._shares_storage(x)
    expected_view = write(make_view(reference).contiguous().clone())
    write(v)
    np.testing.assert_allclose(arr(v), arr(expected_view), rtol=1e-6)
    # the base sees the write: reading the view again through the base gives the same values
    np.testing.assert_allclose(arr(make_view(x)), arr(expected_view), rtol=1e-6)
    assert x._version == 1 and v._version == 1


def test_as_strided_and_t_are_differentiable_views():
    x = tg.tensor(np.arange(12.0).reshape(3, 4), dtype=tg.float64, requires_grad=True)
    assert gradcheck(lambda t: t.as_strided((2, 3), (4, 1), 1) * 2.0, (x,))
    assert gradcheck(lambda t: t.t() @ t, (x,))
    with pytest.raises(tg.ShapeError, match=r"t\(\) expects a tensor with <= 2 dimensions"):
        tg.zeros(2, 2, 2).t()


def test_views_report_pytorch_strides_offsets_and_contiguity():
    x = tg.zeros(2, 3, 4)
    assert x.stride() == (12, 4, 1) and x.is_contiguous() and x.storage_offset() == 0
    t = x.transpose(0, 2)
    assert t.stride() == (1, 4, 12) and not t.is_contiguous() and t._base._shares_storage(x)
    s = x[1, :, 2:]
    assert s.stride() == (4, 1) and s.storage_offset() == 14 and s.shape == (3, 2)
    assert x.expand(5, 2, 3, 4).stride() == (0, 12, 4, 1)
    assert t.contiguous().is_contiguous() and not t.contiguous()._shares_storage(x)
    assert x.contiguous() is x
    assert x._storage_nbytes() == 24 * 4
    assert x._base is None and x[0]._is_view()
    assert x[0][1]._base is x  # the base is always the storage's owner
    with pytest.raises(tg.ShapeError, match=r"view size is not compatible.*Use \.reshape\(\.\.\.\) instead"):
        t.view(24)
    assert not t.reshape(24)._shares_storage(x)  # reshape copies when it must


# ---- setitem ----------------------------------------------------------------------------------


def test_setitem_with_ints_slices_ellipsis_none_and_masks():
    x = tg.zeros(3, 4)
    x[0] = 1.0
    x[1, 2] = 5.0
    x[:, -1] = tg.tensor([7.0, 8.0, 9.0])
    x[..., 0] = tg.tensor(2.0)
    x[2, None, 1:3] = tg.tensor([[3.0, 4.0]])
    x[x == 0] = -1.0
    expected = np.array([[2, 1, 1, 7], [2, -1, 5, 8], [2, 3, 4, 9]], dtype=np.float32)
    np.testing.assert_array_equal(arr(x), expected)
    y = tg.zeros(2, 2)
    y[0, 1] += 3
    np.testing.assert_array_equal(arr(y), [[0, 3], [0, 0]])
    with pytest.raises(tg.ShapeError, match=r"mask \(3,\) does not match .* \(2, 2\)"):
        y[tg.tensor([True, False, True])] = 1.0


def test_setitem_with_integer_arrays_and_index_put():
    x = tg.zeros(3, 4)
    x[[0, 2], [1, 3]] = tg.tensor([5.0, 6.0])
    x[tg.tensor([1]), :2] = 7.0
    expected = np.zeros((3, 4), np.float32)
    expected[[0, 2], [1, 3]] = [5.0, 6.0]
    expected[[1], :2] = 7.0
    np.testing.assert_array_equal(arr(x), expected)
    y = tg.zeros(4)
    y.index_put_((tg.tensor([0, 0, 2]),), tg.tensor([1.0, 2.0, 3.0]), accumulate=True)
    np.testing.assert_array_equal(arr(y), [3.0, 0.0, 3.0, 0.0])
    m = tg.zeros(2, 3)
    m[m.detach() == 0] = tg.arange(6.0)  # one value per selected element, in order
    np.testing.assert_array_equal(arr(m), np.arange(6.0).reshape(2, 3))


def test_gradients_through_integer_array_setitem_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal(2)

    def program(lib, x, v):
        y = x * 2
        y[[0, 2], [1, 3]] = v
        return (y * y).sum()

    xt = tg.tensor(a, requires_grad=True)
    vt = tg.tensor(b, requires_grad=True)
    program(tg, xt, vt).backward()
    xp, vp = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    program(torch, xp, vp).backward()
    np.testing.assert_allclose(arr(xt.grad), xp.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(arr(vt.grad), vp.grad.numpy(), rtol=1e-12)


# ---- autograd ---------------------------------------------------------------------------------


def test_manual_sgd_in_place_under_no_grad_trains():
    rng = np.random.default_rng(0)
    X = tg.tensor(rng.standard_normal((64, 3)))
    y = X @ tg.tensor([[1.0], [-2.0], [0.5]])
    model = tg.nn.Linear(3, 1)
    losses = []
    for _ in range(50):
        loss = ((model(X) - y) ** 2).mean()
        losses.append(loss.item())
        for p in model.parameters():
            p.grad = None
        loss.backward()
        with tg.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
    assert losses[-1] < 0.01 * losses[0]
    assert model.weight.is_leaf and model.weight.requires_grad


def test_p_data_add_and_grad_zero_update_in_place_anywhere():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    g = w.grad
    w.data.add_(w.grad, alpha=-0.25)  # allowed with grad mode on: .data is cut from the graph
    np.testing.assert_allclose(arr(w), [0.5, 1.0])
    w.grad.zero_()
    assert w.grad is not None and np.all(arr(g) == 0)


def test_in_place_ops_rebase_history_with_gradients_matching_finite_differences():
    def f(x):
        y = x * 1.0
        y.exp_()
        y[1:] *= x[:-1]
        y.add_(x.sin())
        v = y[0]
        v.mul_(3.0)
        return y.sum()

    x = tg.tensor([0.3, -0.2, 0.5, 0.1], dtype=tg.float64, requires_grad=True)
    assert gradcheck(f, (x,))


def test_pytorch_parity_for_in_place_ops_views_and_setitem():
    torch = pytest.importorskip("torch")

    def program(lib, x, w):
        y = x * w
        y[0, 1] = 0.0
        col = y[:, 2]
        col.mul_(w[:, 0])
        y.t().add_(1.0)
        y.mul_(2.0)
        y[y.detach() > 0.5] = 0.5
        return (y * y).sum()

    rng = np.random.default_rng(3)
    xs, ws = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    xt = tg.tensor(xs, dtype=tg.float64, requires_grad=True)
    wt = tg.tensor(ws, dtype=tg.float64, requires_grad=True)
    program(tg, xt, wt).backward()
    xp = torch.tensor(xs, requires_grad=True)
    wp = torch.tensor(ws, requires_grad=True)
    program(torch, xp, wp).backward()
    np.testing.assert_allclose(arr(xt.grad), xp.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(wt.grad), wp.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_the_errors_pytorch_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(tg.GraphError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        x.add_(1)
    with pytest.raises(tg.GraphError, match="a view of a leaf Variable that requires grad"):
        x[0].zero_()
    with pytest.raises(tg.GraphError, match="a leaf Variable that requires grad"):
        x += 1
    y = x.exp()
    y.add_(1)
    with pytest.raises(
        tg.GraphError,
        match=r"modified by an inplace operation: \[float32 \(2,\)\], which is output 0 of "
        r"ExpBackward, is at version 1; expected version 0 instead",
    ):
        y.sum().backward()
    a = x * 2
    b = a * a  # saves a
    a.mul_(2)
    with pytest.raises(tg.GraphError, match="is at version 1; expected version 0"):
        b.sum().backward()


def test_concurrent_in_place_writes_from_threads_never_crash():
    x = tg.zeros(1000)
    views = [x[i::4] for i in range(4)]
    stop = threading.Event()
    errors: list[BaseException] = []

    def work(v: tg.Tensor) -> None:
        try:
            while not stop.is_set():
                v.add_(1.0)
                x.mul_(1.0)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(v,)) for v in views]
    for t in threads:
        t.start()
    threading.Event().wait(1.5)
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert x.shape == (1000,) and np.all(arr(x) >= 1)
