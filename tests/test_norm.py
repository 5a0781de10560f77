"""Batch, instance and group norm, normalize and channel dropout."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg
from helpers import raises
from tapegrad import nn
from tapegrad.nn import functional as F
from tapegrad.testing import gradcheck, gradgradcheck


def _t(*shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape)
    return tg.tensor(x, dtype=tg.float64, requires_grad=True)


def test_batch_norm_training_gradients_and_second_derivatives():
    x, w, b = _t(4, 3, 2, 2), _t(3, seed=1), _t(3, seed=2)
    fn = lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)
    assert gradcheck(fn, [x, w, b])
    assert gradgradcheck(fn, [x, w, b])


def test_batch_norm_eval_uses_the_running_statistics():
    x = _t(2, 3)
    mean, var = tg.tensor([1.0, 2.0, 3.0]), tg.tensor([4.0, 1.0, 0.25])
    out = F.batch_norm(x, mean, var, eps=0.0)
    expected = (x.detach().numpy() - [1.0, 2.0, 3.0]) / np.sqrt([4.0, 1.0, 0.25])
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-6)


def test_group_and_instance_norm_and_normalize_gradients():
    x, w, b = _t(2, 4, 3), _t(4, seed=1), _t(4, seed=2)
    assert gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), [x, w, b])
    assert gradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [x, w, b])
    assert gradcheck(lambda x: F.normalize(x, dim=1), [x])
    assert gradcheck(lambda x: F.normalize(x, p=3.0, dim=-1), [x])


def test_normalize_of_a_zero_vector_has_a_finite_gradient():
    # As PyTorch: the clamped norm is the constant eps, so the gradient is 1/eps.
    x = tg.zeros(2, 3, dtype=tg.float64, requires_grad=True)
    F.normalize(x, eps=1e-3).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 1e3)


def test_batch_norm_module_buffers_and_errors():
    bn = nn.BatchNorm2d(3)
    assert set(bn.state_dict()) == {
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    }
    bn(tg.randn(4, 3, 2, 2))
    assert bn.num_batches_tracked.item() == 1.0
    with raises(tg.ShapeError, "4D", "3D"):
        bn(tg.randn(4, 3, 2))
    with raises(tg.ArgumentError, "more than 1 value per channel"):
        nn.BatchNorm1d(3)(tg.randn(1, 3))
    assert (
        "running_mean" not in nn.BatchNorm1d(3, track_running_stats=False).state_dict()
    )
    with raises(tg.ArgumentError, "divisible"):
        nn.GroupNorm(3, 4)


def test_channel_dropout_zeroes_whole_channels():
    tg.manual_seed(0)
    out = F.dropout2d(tg.ones(8, 16, 3, 3), p=0.5).detach().numpy()
    per_channel = out.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert (
        F.dropout1d(tg.ones(2, 3, 4), 0.5, training=False).detach().numpy().min() == 1.0
    )
    layer = nn.Dropout2d(0.3)
    layer.eval()
    assert layer(tg.ones(1, 2, 2, 2)).detach().numpy().min() == 1.0


def _torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_module_matches_torch_over_steps(momentum, affine):
    torch = _torch()
    ours = nn.BatchNorm2d(3, momentum=momentum, affine=affine, dtype=tg.float64)
    theirs = torch.nn.BatchNorm2d(3, momentum=momentum, affine=affine).double()
    rng = np.random.default_rng(0)
    for step in range(3):
        x = rng.standard_normal((4, 3, 2, 5)) * (step + 1)
        xo, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yo, yt = ours(xo), theirs(xt)
        np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), atol=1e-10)
        g = rng.standard_normal(x.shape)
        yo.backward(tg.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(
            xo.grad.detach().numpy(), xt.grad.detach().numpy(), atol=1e-10
        )
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(
            getattr(ours, name).detach().numpy(),
            getattr(theirs, name).detach().numpy(),
            atol=1e-10,
        )
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((2, 3, 2, 2))
    np.testing.assert_allclose(
        ours(tg.tensor(x)).detach().numpy(),
        theirs(torch.tensor(x)).detach().numpy(),
        atol=1e-10,
    )


def test_norms_match_torch():
    torch = _torch()
    x = np.random.default_rng(1).standard_normal((2, 4, 3, 5))
    w, b = np.arange(1.0, 5.0), np.arange(4.0) / 3
    tf = torch.nn.functional
    xt = torch.tensor(x)
    pairs = [
        (
            F.group_norm(tg.tensor(x), 2, tg.tensor(w), tg.tensor(b)),
            tf.group_norm(xt, 2, torch.tensor(w), torch.tensor(b)),
        ),
        (F.instance_norm(tg.tensor(x)), tf.instance_norm(xt)),
        (F.normalize(tg.tensor(x), p=3.0, dim=2), tf.normalize(xt, p=3.0, dim=2)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(
            ours.detach().numpy(), theirs.detach().numpy(), atol=1e-10
        )


def test_a_torch_batch_norm_state_dict_loads():
    torch = _torch()
    theirs = torch.nn.BatchNorm1d(3).double()
    theirs(torch.randn(5, 3, dtype=torch.float64))
    theirs.eval()
    ours = nn.BatchNorm1d(3, dtype=tg.float64)
    ours.load_state_dict(
        {
            k: tg.tensor(v.detach().numpy().astype(np.float64))
            for k, v in theirs.state_dict().items()
        }
    )
    ours.eval()
    x = np.random.default_rng(2).standard_normal((4, 3))
    np.testing.assert_allclose(
        ours(tg.tensor(x)).detach().numpy(),
        theirs(torch.tensor(x)).detach().numpy(),
        atol=1e-10,
    )
