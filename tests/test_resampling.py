"""Transposed convolutions, fold/unfold, adaptive max pooling, max unpooling,
interpolation and pixel shuffles: float64 gradcheck, second derivatives, errors and
PyTorch parity (when installed). Forward and first derivatives of conv_transpose*,
unfold and pixel_shuffle also run from the OpSpec table (tests/op_specs.py)."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg
from helpers import raises
from tapegrad import nn
from tapegrad.nn import functional as F
from tapegrad.testing import gradcheck, gradgradcheck


def _t(shape, seed=0, requires_grad=True):
    rng = np.random.default_rng(seed)
    return tg.tensor(
        rng.standard_normal(shape), dtype=tg.float64, requires_grad=requires_grad
    )


def _distinct(shape, seed=0):
    values = np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape)
    return tg.tensor(values / 7.0, dtype=tg.float64, requires_grad=True)


TRANSPOSE_GRID = [
    ((1, 2, 3, 3), (2, 3, 3, 3), {}),
    ((2, 2, 3, 2), (2, 1, 2, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((1, 4, 2, 3), (4, 1, 3, 2), {"groups": 2, "dilation": (1, 2), "stride": (2, 1)}),
    ((1, 2, 2, 2), (2, 2, 2, 2), {"stride": 1, "dilation": 3, "output_padding": 2}),
]


@pytest.mark.parametrize(("xs", "ws", "kw"), TRANSPOSE_GRID)
def test_conv_transpose2d_double_backward_matches_finite_differences(xs, ws, kw):
    x, w = _t(xs, 1), _t(ws, 2)
    b = _t((ws[1] * kw.get("groups", 1),), 3)
    fn = lambda x, w, b: F.conv_transpose2d(x, w, b, **kw)
    assert gradcheck(fn, [x, w, b])
    assert gradgradcheck(fn, [x, w, b])


def test_conv_transpose1d_double_backward_matches_finite_differences():
    x, w = _t((2, 2, 4), 1), _t((2, 3, 3), 2)
    fn = lambda x, w: F.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1)
    assert gradgradcheck(fn, [x, w])


def test_conv_transpose_is_the_adjoint_of_conv():
    # <conv(x, w), y> = <x, conv_transpose(y, w)> for every x, y: the same kernel.
    x, w = _t((2, 3, 8, 6), 1, False), _t((4, 3, 3, 2), 2, False)
    out = F.conv2d(x, w, stride=2, padding=1)
    y = _t(tuple(out.shape), 3, False)
    back = F.conv_transpose2d(y, w, stride=2, padding=1, output_padding=(1, 0))
    assert tuple(back.shape) == tuple(x.shape)
    left = float((out * y).sum())
    right = float((x * back).sum())
    assert abs(left - right) < 1e-9 * max(1.0, abs(left))


def test_conv_transpose_records_one_convolution_node():
    x, w = _t((1, 2, 3, 3)), _t((2, 2, 2, 2))
    y = F.conv_transpose2d(x, w)
    assert y.grad_fn.name() == "ConvolutionBackward"


def test_conv_transpose_module_shapes_init_and_output_size():
    _ = tg.manual_seed(0)
    m = nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2, dtype=tg.float64)
    assert tuple(m.weight.shape) == (4, 3, 3, 3) and tuple(m.bias.shape) == (6,)
    bound = 1.0 / np.sqrt(3 * 9)
    assert np.abs(m.bias.detach().numpy()).max() <= bound
    x = _t((1, 4, 5, 5), requires_grad=False)
    assert tuple(m(x).shape) == (1, 6, 11, 11)
    assert tuple(m(x, output_size=(12, 11)).shape) == (1, 6, 12, 11)
    with raises(tg.ShapeError, "output_size", "[11, 12]"):
        m(x, output_size=(13, 11))
    with raises(tg.ArgumentError, "padding"):
        nn.ConvTranspose1d(2, 2, 3, padding="same")
    m1 = nn.ConvTranspose1d(2, 4, 3, output_padding=1, stride=2)
    assert tuple(m1.weight.shape) == (2, 4, 3)
    assert tuple(m1(tg.zeros(1, 2, 5)).shape) == (1, 4, 12)


def test_unfold_and_fold_are_adjoint_and_differentiable():
    x = _t((2, 3, 5, 6), 1)
    kw = {"kernel_size": (2, 3), "dilation": (1, 2), "padding": 1, "stride": (2, 1)}
    cols = F.unfold(x, **kw)
    y = _t(tuple(cols.shape), 2, False)
    back = F.fold(y, (5, 6), **kw)
    assert tuple(back.shape) == (2, 3, 5, 6)
    left, right = float((cols * y).sum()), float((x * back).sum())
    assert abs(left - right) < 1e-9 * max(1.0, abs(left))
    assert gradcheck(lambda x: F.unfold(x, **kw), [x])
    assert gradgradcheck(
        lambda y: F.fold(y, (5, 6), **kw) ** 2, [_t(tuple(cols.shape))]
    )


def test_fold_refuses_columns_that_do_not_fit():
    with raises(tg.ShapeError, "fold", "(1, 8, 5)", "blocks"):
        F.fold(tg.zeros(1, 8, 5), (3, 3), 2)
    with raises(tg.ShapeError, "fold", "3-D"):
        F.fold(tg.zeros(1, 1, 8, 4), (3, 3), 2)


def test_adaptive_max_pool_gradients_and_int64_indices():
    x = _distinct((2, 3, 7, 5))
    out, idx = F.adaptive_max_pool2d(x, (3, None), return_indices=True)
    assert tuple(out.shape) == (2, 3, 3, 5) and idx.dtype == tg.int64
    assert gradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 2)), [x])
    assert gradgradcheck(lambda x: F.adaptive_max_pool2d(x, 4) ** 2, [x])
    x1 = _distinct((2, 3, 7))
    assert gradcheck(lambda x: F.adaptive_max_pool1d(x, 3), [x1])
    with raises(tg.ShapeError, "adaptive_max_pool2d", "(2, 3)"):
        F.adaptive_max_pool2d(tg.zeros(2, 3), 1)


def test_max_pool_indices_are_int64():
    x = tg.tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    _, idx = F.max_pool2d(x, 2, return_indices=True)
    assert idx.dtype == tg.int64
    assert idx.numpy().tolist() == [[[[5, 7], [13, 15]]]]


def test_max_unpool_scatters_at_the_indices_and_its_gradient_gathers():
    x = _distinct((2, 2, 5, 6))
    pooled, idx = F.max_pool2d(x, 2, return_indices=True)
    up = F.max_unpool2d(pooled, idx, 2, output_size=(5, 6))
    assert tuple(up.shape) == (2, 2, 5, 6)
    mask = np.zeros((2, 2, 30))
    np.put_along_axis(mask, idx.numpy().reshape(2, 2, -1), 1.0, axis=-1)
    expected = x.detach().numpy() * mask.reshape(2, 2, 5, 6)
    np.testing.assert_array_equal(up.detach().numpy(), expected)
    p = _t(tuple(pooled.shape), 3)
    assert gradcheck(lambda p: F.max_unpool2d(p, idx, 2), [p])
    assert gradgradcheck(lambda p: F.max_unpool2d(p, idx, 2) ** 2, [p])
    p1, i1 = F.max_pool1d(_distinct((1, 2, 7)), 3, 2, return_indices=True)
    assert tuple(F.max_unpool1d(p1, i1, 3, 2).shape) == (1, 2, 7)


def test_max_unpool_refuses_bad_indices_and_sizes():
    x = tg.zeros(1, 1, 2, 2)
    with raises(IndexError, "max_unpool2d", "index 16", "16"):
        F.max_unpool2d(x, tg.tensor([[[[0, 1], [2, 16]]]]), 2)
    with raises(tg.DTypeError, "integer"):
        F.max_unpool2d(x, tg.zeros(1, 1, 2, 2), 2)
    with raises(tg.ShapeError, "indices", "(1, 1, 2)"):
        F.max_unpool2d(x, tg.tensor([[[0, 1]]]), 2)
    with raises(tg.ShapeError, "output_size", "(9, 4)"):
        F.max_unpool2d(x, tg.tensor([[[[0, 1], [2, 3]]]]), 2, output_size=(9, 4))


INTERPOLATE_GRID = [
    ((1, 2, 5), {"size": 8, "mode": "linear"}),
    ((1, 2, 5), {"scale_factor": 0.6, "mode": "linear", "align_corners": True}),
    ((2, 1, 4, 3), {"size": (6, 5), "mode": "bilinear"}),
    ((1, 2, 4, 3), {"scale_factor": (1.5, 2.0), "mode": "bilinear"}),
    ((1, 1, 3, 4), {"size": (5, 2), "mode": "bilinear", "align_corners": True}),
    ((1, 2, 3, 4), {"scale_factor": 2, "mode": "nearest"}),
    ((1, 2, 5), {"size": 3, "mode": "nearest"}),
    ((1, 1, 3, 5), {"size": (4, 7), "mode": "nearest-exact"}),
]


@pytest.mark.parametrize(("shape", "kw"), INTERPOLATE_GRID)
def test_interpolate_gradients(shape, kw):
    x = _t(shape)
    assert gradcheck(lambda x: F.interpolate(x, **kw), [x])


def test_interpolate_refuses_bad_arguments():
    x = tg.zeros(1, 1, 4, 4)
    with raises(tg.ArgumentError, "exactly one", "size"):
        F.interpolate(x)
    with raises(tg.ArgumentError, "mode", "bicubic"):
        F.interpolate(x, size=2, mode="bicubic")
    with raises(tg.ShapeError, "linear", "3-D", "(1, 1, 4, 4)"):
        F.interpolate(x, size=2, mode="linear")
    with raises(tg.ArgumentError, "align_corners"):
        F.interpolate(x, size=2, align_corners=True)
    with raises(tg.ShapeError, "empty"):
        F.interpolate(x, scale_factor=0.1)


def test_pixel_shuffle_round_trip_and_errors():
    x = _t((2, 12, 2, 3))
    y = F.pixel_shuffle(x, 2)
    assert tuple(y.shape) == (2, 3, 4, 6)
    np.testing.assert_array_equal(F.pixel_unshuffle(y, 2).detach().numpy(), x.detach().numpy())
    assert gradcheck(lambda x: F.pixel_unshuffle(x, 2), [_t((1, 2, 4, 2))])
    with raises(tg.ShapeError, "pixel_unshuffle", "(1, 2, 3, 2)"):
        F.pixel_unshuffle(tg.zeros(1, 2, 3, 2), 2)
    with raises(tg.ArgumentError, "upscale_factor"):
        F.pixel_shuffle(tg.zeros(1, 4, 2, 2), 0)


def test_layers_wrap_their_functionals():
    x = _distinct((1, 4, 4, 4))
    assert tuple(nn.Upsample(scale_factor=2, mode="bilinear")(x).shape) == (1, 4, 8, 8)
    assert tuple(nn.PixelShuffle(2)(x).shape) == (1, 1, 8, 8)
    assert tuple(nn.PixelUnshuffle(2)(x).shape) == (1, 16, 2, 2)
    cols = nn.Unfold(2, stride=2)(x)
    assert tuple(cols.shape) == (1, 16, 4)
    assert tuple(nn.Fold((4, 4), 2, stride=2)(cols).shape) == (1, 4, 4, 4)
    out, idx = nn.AdaptiveMaxPool2d(2, return_indices=True)(x)
    assert tuple(nn.MaxUnpool2d(2)(out, idx).shape) == (1, 4, 4, 4)
    assert tuple(nn.AdaptiveMaxPool1d(3)(x[0]).shape) == (4, 4, 3)
    assert "scale_factor=2.0" in repr(nn.Upsample(scale_factor=2))


# ------------------------------------------------------------------ PyTorch parity


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _pair(torch, array, dtype=np.float64):
    array = np.asarray(array, dtype=dtype)
    return (
        tg.tensor(array, requires_grad=True),
        torch.tensor(array, requires_grad=True),
    )


def _close(a, b, dtype):
    tol = 1e-10 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(
        a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("xs", "ws", "kw"), TRANSPOSE_GRID)
def test_conv_transpose2d_matches_torch(torch, xs, ws, kw, dtype):
    rng = np.random.default_rng(0)
    groups = kw.get("groups", 1)
    (x, tx), (w, tw) = (
        _pair(torch, rng.standard_normal(xs), dtype),
        _pair(torch, rng.standard_normal(ws), dtype),
    )
    b, tb = _pair(torch, rng.standard_normal(ws[1] * groups), dtype)
    out = F.conv_transpose2d(x, w, b, **kw)
    ref = torch.nn.functional.conv_transpose2d(tx, tw, tb, **kw)
    _close(out, ref, dtype)
    (out**2).sum().backward()
    (ref**2).sum().backward()
    for mine, theirs in ((x, tx), (w, tw), (b, tb)):
        _close(mine.grad, theirs.grad, dtype)


def test_conv_transpose_modules_load_a_torch_state_dict(torch):
    rng = np.random.default_rng(0)
    for dims in (1, 2):
        theirs = getattr(torch.nn, f"ConvTranspose{dims}d")(
            4, 6, 3, stride=2, padding=1, output_padding=1, groups=2
        ).double()
        mine = getattr(nn, f"ConvTranspose{dims}d")(
            4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dtype=tg.float64
        )
        mine.load_state_dict(
            {k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
        )
        x = rng.standard_normal((2, 4) + (5,) * dims)
        _close(mine(tg.tensor(x)), theirs(torch.tensor(x)), np.float64)


def test_fold_unfold_match_torch(torch):
    rng = np.random.default_rng(1)
    kw = {"kernel_size": (2, 3), "dilation": (2, 1), "padding": (1, 0), "stride": 2}
    x, tx = _pair(torch, rng.standard_normal((2, 3, 6, 7)))
    cols = F.unfold(x, **kw)
    ref = torch.nn.functional.unfold(tx, **kw)
    _close(cols, ref, np.float64)
    y, ty = _pair(torch, rng.standard_normal(tuple(ref.shape)))
    folded, tfolded = (
        F.fold(y, (6, 7), **kw),
        torch.nn.functional.fold(ty, (6, 7), **kw),
    )
    _close(folded, tfolded, np.float64)
    (F.fold(y, (6, 7), **kw) ** 2).sum().backward()
    (torch.nn.functional.fold(ty, (6, 7), **kw) ** 2).sum().backward()
    _close(y.grad, ty.grad, np.float64)


@pytest.mark.parametrize("one_d", [False, True])
def test_adaptive_max_pool_and_unpool_match_torch(torch, one_d):
    rng = np.random.default_rng(2)
    shape = (2, 3, 9) if one_d else (2, 3, 7, 9)
    size = 4 if one_d else (3, 4)
    n = 1 if one_d else 2
    x, tx = _pair(torch, rng.standard_normal(shape))
    out, idx = getattr(F, f"adaptive_max_pool{n}d")(x, size, return_indices=True)
    tout, tidx = getattr(torch.nn.functional, f"adaptive_max_pool{n}d")(
        tx, size, return_indices=True
    )
    _close(out, tout, np.float64)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    pooled, pidx = getattr(F, f"max_pool{n}d")(x, 2, return_indices=True)
    tpooled, tpidx = getattr(torch.nn.functional, f"max_pool{n}d")(
        tx, 2, return_indices=True
    )
    np.testing.assert_array_equal(pidx.numpy(), tpidx.numpy())
    up = getattr(F, f"max_unpool{n}d")(pooled, pidx, 2, output_size=shape[2:])
    tup = getattr(torch.nn.functional, f"max_unpool{n}d")(
        tpooled, tpidx, 2, output_size=shape[2:]
    )
    _close(up, tup, np.float64)
    ((up * up).sum() + (out**3).sum()).backward()
    ((tup * tup).sum() + (tout**3).sum()).backward()
    _close(x.grad, tx.grad, np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("shape", "kw"), INTERPOLATE_GRID)
def test_interpolate_matches_torch(torch, shape, kw, dtype):
    x, tx = _pair(torch, np.random.default_rng(3).standard_normal(shape), dtype)
    out = F.interpolate(x, **kw)
    ref = torch.nn.functional.interpolate(tx, **kw)
    _close(out, ref, dtype)
    (out**2).sum().backward()
    (ref**2).sum().backward()
    _close(x.grad, tx.grad, dtype)


def test_pixel_shuffle_matches_torch(torch):
    x, tx = _pair(torch, np.random.default_rng(4).standard_normal((2, 18, 2, 3)))
    _close(F.pixel_shuffle(x, 3), torch.nn.functional.pixel_shuffle(tx, 3), np.float64)
    y, ty = _pair(torch, np.random.default_rng(5).standard_normal((2, 2, 4, 6)))
    _close(
        F.pixel_unshuffle(y, 2), torch.nn.functional.pixel_unshuffle(ty, 2), np.float64
    )
