"""Pooling and padding: gradients against finite differences and PyTorch parity."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg
from helpers import raises
from tapegrad import nn
from tapegrad.nn import functional as F
from tapegrad.testing import gradcheck, gradgradcheck


def _t(shape, seed=0, requires_grad=True):
    values = np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape)
    # Distinct values (no ties) keep finite differences of max away from kinks.
    return tg.tensor(values / 7.0, dtype=tg.float64, requires_grad=requires_grad)


MAX_GRID = [
    ((1, 2, 5, 6), {"kernel_size": 2}),
    ((2, 1, 7, 7), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ((1, 2, 7, 6), {"kernel_size": (3, 2), "stride": (2, 1), "dilation": (2, 1)}),
    ((1, 1, 5, 5), {"kernel_size": 2, "ceil_mode": True}),
    ((2, 6, 6), {"kernel_size": 3, "stride": 3, "padding": 1, "ceil_mode": True}),
]

AVG_GRID = [
    ((1, 2, 5, 6), {"kernel_size": 2}),
    ((1, 1, 7, 7), {"kernel_size": 3, "stride": 2, "padding": 1}),
    (
        (1, 1, 7, 7),
        {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    ),
    ((1, 1, 5, 5), {"kernel_size": 2, "ceil_mode": True}),
    (
        (1, 1, 6, 5),
        {
            "kernel_size": 3,
            "stride": 2,
            "padding": 1,
            "ceil_mode": True,
            "count_include_pad": False,
        },
    ),
    ((1, 2, 5, 5), {"kernel_size": 3, "padding": 1, "divisor_override": 4}),
]


@pytest.mark.parametrize(("shape", "kw"), MAX_GRID)
def test_max_pool2d_gradients_and_second_derivatives(shape, kw):
    x = _t(shape)
    assert gradcheck(lambda x: F.max_pool2d(x, **kw), [x])
    assert gradgradcheck(lambda x: F.max_pool2d(x, **kw) ** 2, [x])


@pytest.mark.parametrize(("shape", "kw"), AVG_GRID)
def test_avg_pool2d_gradients(shape, kw):
    x = _t(shape)
    assert gradcheck(lambda x: F.avg_pool2d(x, **kw), [x])


def test_max_pool_ties_send_the_gradient_to_the_first_index():
    x = tg.tensor([[[[1.0, 1.0], [1.0, 1.0]]]], requires_grad=True)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    out.sum().backward()
    assert idx.detach().numpy().tolist() == [[[[0.0]]]]
    assert x.grad.detach().numpy().ravel().tolist() == [1.0, 0.0, 0.0, 0.0]


def test_max_pool_1d_and_modules():
    x = _t((2, 3, 9))
    assert F.max_pool1d(x, 3, 2, 1).shape == (2, 3, 5)
    assert gradcheck(lambda x: F.max_pool1d(x, 2, dilation=2), [x])
    assert gradcheck(lambda x: F.avg_pool1d(x, 3, 2, 1), [x])
    assert nn.MaxPool2d(2)(_t((1, 1, 4, 4))).shape == (1, 1, 2, 2)
    assert nn.AvgPool2d(2)(_t((1, 1, 4, 4))).shape == (1, 1, 2, 2)
    assert nn.AdaptiveAvgPool2d((1, None))(_t((1, 2, 4, 5))).shape == (1, 2, 1, 5)
    assert nn.Unflatten(1, (2, 3))(_t((4, 6))).shape == (4, 2, 3)


@pytest.mark.parametrize("out", [(1, 1), (2, 3), (3, 5), (4, 4)])
def test_adaptive_avg_pool_gradients(out):
    x = _t((1, 2, 5, 7))
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, out), [x])


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradients(mode):
    x = _t((1, 2, 4, 5))
    pads = (1, 2, 3, 1) if mode != "reflect" else (1, 3, 3, 2)
    assert gradcheck(lambda x: F.pad(x, pads, mode, value=0.5), [x])


def test_pooling_and_padding_errors_name_the_values():
    x = _t((1, 1, 4, 4))
    with raises(tg.ArgumentError, "padding", "half"):
        F.max_pool2d(x, 2, padding=2)
    with raises(tg.ShapeError, "3-D or 4-D", "(4,)"):
        F.max_pool2d(_t((4,)), 2)
    with raises(tg.ShapeError, "reflect", "less than", "4"):
        F.pad(x, (4, 0, 0, 0), "reflect")
    with raises(tg.ArgumentError, "mode", "wrap"):
        F.pad(x, (1, 1), "wrap")


def _torch():
    return pytest.importorskip("torch")


def _parity(fn_ours, fn_theirs, shape, dtype="float64"):
    torch = _torch()
    tol = {"float32": 1e-5, "float64": 1e-10}[dtype]
    x = (np.random.default_rng(3).standard_normal(shape)).astype(dtype)
    ours = tg.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    y, yt = fn_ours(ours), fn_theirs(theirs)
    np.testing.assert_allclose(
        y.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol
    )
    g = np.random.default_rng(4).standard_normal(tuple(yt.shape)).astype(dtype)
    y.backward(tg.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(
        ours.grad.detach().numpy(), theirs.grad.detach().numpy(), rtol=tol, atol=tol
    )


@pytest.mark.parametrize(("shape", "kw"), MAX_GRID)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_pool2d_matches_torch(shape, kw, dtype):
    torch = _torch()
    _parity(
        lambda x: F.max_pool2d(x, **kw),
        lambda x: torch.nn.functional.max_pool2d(x, **kw),
        shape,
        dtype,
    )


@pytest.mark.parametrize(("shape", "kw"), AVG_GRID)
def test_avg_pool2d_matches_torch(shape, kw):
    torch = _torch()
    _parity(
        lambda x: F.avg_pool2d(x, **kw),
        lambda x: torch.nn.functional.avg_pool2d(x, **kw),
        shape,
    )


def test_max_pool_indices_match_torch_with_ties():
    torch = _torch()
    x = np.round(np.random.default_rng(0).standard_normal((2, 3, 6, 7)))
    _, idx = F.max_pool2d(tg.tensor(x), 3, 2, 1, return_indices=True)
    _, ref = torch.nn.functional.max_pool2d(
        torch.tensor(x), 3, 2, 1, return_indices=True
    )
    np.testing.assert_array_equal(idx.detach().numpy(), ref.detach().numpy())


@pytest.mark.parametrize("out", [(1, 1), (2, 3), (3, 5)])
def test_adaptive_avg_pool_matches_torch(out):
    torch = _torch()
    _parity(
        lambda x: F.adaptive_avg_pool2d(x, out),
        lambda x: torch.nn.functional.adaptive_avg_pool2d(x, out),
        (2, 2, 5, 7),
    )
    _parity(
        lambda x: F.adaptive_avg_pool1d(x, out[1]),
        lambda x: torch.nn.functional.adaptive_avg_pool1d(x, out[1]),
        (2, 2, 7),
    )


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_matches_torch(mode):
    torch = _torch()
    pads = (1, 2, 3, 1)
    kw = {"value": 0.5} if mode == "constant" else {}
    _parity(
        lambda x: F.pad(x, pads, mode, **kw),
        lambda x: torch.nn.functional.pad(x, pads, mode, **kw),
        (1, 2, 4, 5),
    )


# Issue 13: empty non-batch dimensions, per op, as PyTorch's kernels check them (only the
# batch may be empty; adaptive average pooling also allows empty channels).
EMPTY_DIMS = [
    ("AdaptiveAvgPool1d", (2,), [(2, 0), (2, 3, 0), (0, 3), (2, 0, 3), (0, 2, 3)]),
    ("AdaptiveAvgPool2d", (2,), [(2, 0, 3), (1, 2, 3, 0), (0, 3, 3), (1, 0, 3, 3)]),
    ("AdaptiveMaxPool1d", (2,), [(2, 0), (2, 0, 3), (2, 3, 0), (0, 3), (0, 2, 3)]),
    ("AdaptiveMaxPool2d", (2,), [(2, 0, 3), (1, 0, 3, 3), (0, 3, 3), (0, 2, 3, 3)]),
    ("AvgPool1d", (2,), [(0, 3), (2, 0, 3), (2, 3, 0), (0, 2, 3)]),
    ("AvgPool2d", (2,), [(0, 3, 3), (1, 0, 3, 3), (1, 2, 0, 3), (0, 2, 3, 3)]),
    ("MaxPool1d", (2,), [(0, 3), (2, 0, 3), (2, 3, 0), (0, 2, 3)]),
    ("MaxPool2d", (2,), [(0, 3, 3), (1, 0, 3, 3), (1, 2, 3, 0), (0, 2, 3, 3)]),
    ("Conv1d", (2, 2, 2), [(2, 0), (2, 2, 0), (0, 2, 3)]),
    ("Conv2d", (2, 2, 2), [(2, 0, 3), (1, 2, 3, 0), (0, 2, 3, 3)]),
    ("ConvTranspose1d", (2, 2, 2), [(2, 0), (2, 2, 0), (0, 2, 3)]),
    ("ConvTranspose2d", (2, 2, 2), [(2, 0, 3), (1, 2, 0, 3), (0, 2, 3, 3)]),
]


@pytest.mark.parametrize(
    "name,args,shape",
    [(n, a, s) for n, a, shapes in EMPTY_DIMS for s in shapes],
)
def test_empty_non_batch_dims_raise_or_pool_as_torch(name, args, shape):
    torch = pytest.importorskip("torch")
    try:
        want = tuple(getattr(torch.nn, name)(*args)(torch.zeros(*shape)).shape)
    except RuntimeError:
        want = None
    module = getattr(nn, name)(*args)
    if want is None:
        with pytest.raises(tg.ShapeError, match=r"empty|0 dim batch|larger|shape"):
            module(tg.zeros(*shape))
    else:
        assert tuple(module(tg.zeros(*shape)).shape) == want


def test_adaptive_avg_pool_of_an_empty_length_names_it():
    # Was ZeroDivisionError (the averaging matrix divided by an empty window).
    with pytest.raises(tg.ShapeError, match=r"non-zero size .* dimension 1 being"):
        nn.AdaptiveAvgPool1d(2)(tg.zeros(2, 0))
