"""Convolutions: double backward, modules, state_dict loading and PyTorch parity.

Forward, float64 gradcheck, JVPs and error messages of ``conv1d``/``conv2d`` run from
their OpSpec entries (tests/op_specs.py); this file covers what the table does not.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import tapegrad as tg
from helpers import raises
from tapegrad import nn
from tapegrad.nn import functional as F
from tapegrad.testing import gradcheck, gradgradcheck

# (input shape, weight shape, kwargs): strides, paddings, dilations and groups.
GRID = [
    ((2, 3, 6, 5), (4, 3, 3, 3), {}),
    ((1, 2, 7, 6), (4, 2, 3, 2), {"stride": 2, "padding": 1}),
    ((1, 2, 7, 7), (2, 2, 3, 3), {"dilation": (2, 1), "padding": "same"}),
    ((2, 4, 5, 5), (6, 2, 3, 3), {"groups": 2, "stride": (1, 2)}),
    ((1, 3, 5, 5), (3, 1, 3, 3), {"groups": 3, "padding": 1}),
]


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape)


@pytest.mark.parametrize(("xs", "ws", "kw"), GRID)
def test_conv2d_double_backward_matches_finite_differences(xs, ws, kw):
    x = tg.tensor(_rand(*xs, seed=1), dtype=tg.float64, requires_grad=True)
    w = tg.tensor(_rand(*ws, seed=2), dtype=tg.float64, requires_grad=True)
    b = tg.tensor(_rand(ws[0], seed=3), dtype=tg.float64, requires_grad=True)
    fn = lambda x, w, b: F.conv2d(x, w, b, **kw)
    assert gradcheck(fn, [x, w, b])
    assert gradgradcheck(fn, [x, w, b])


def test_conv1d_double_backward_matches_finite_differences():
    x = tg.tensor(_rand(2, 2, 7, seed=1), dtype=tg.float64, requires_grad=True)
    w = tg.tensor(_rand(4, 1, 3, seed=2), dtype=tg.float64, requires_grad=True)
    fn = lambda x, w: F.conv1d(x, w, stride=2, padding=1, dilation=2, groups=2)
    assert gradgradcheck(fn, [x, w])


def test_gradient_nodes_are_convolutions_too():
    x = tg.randn(1, 1, 4, 4, requires_grad=True)
    w = tg.randn(1, 1, 3, 3, requires_grad=True)
    y = F.conv2d(x, w)
    assert y.grad_fn.name() == "ConvolutionBackward"
    (gx,) = tg.autograd.grad(y.sum(), [x], create_graph=True)
    assert gx.grad_fn is not None


def test_conv2d_module_has_pytorch_parameter_shapes_and_init_bounds():
    tg.manual_seed(0)
    conv = nn.Conv2d(4, 6, (3, 2), groups=2)
    assert tuple(conv.weight.shape) == (6, 2, 3, 2)
    assert tuple(conv.bias.shape) == (6,)
    assert [name for name, _ in conv.named_parameters()] == ["weight", "bias"]
    bound = 1 / math.sqrt(2 * 3 * 2)  # kaiming_uniform_(a=√5) gives 1/√fan_in
    assert np.abs(conv.weight.detach().numpy()).max() <= bound
    assert np.abs(conv.bias.detach().numpy()).max() <= bound
    assert conv(tg.randn(2, 4, 5, 5)).shape == (2, 6, 3, 4)
    assert nn.Conv1d(2, 3, 3, bias=False).bias is None
    assert "kernel_size=(3, 2)" in repr(conv)


def test_conv_module_refuses_bad_arguments():
    with raises(tg.ArgumentError, "divisible", "groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with raises(tg.ArgumentError, "padding_mode", "reflect"):
        nn.Conv2d(3, 4, 3, padding_mode="reflect")
    with raises(tg.ArgumentError, "kernel_size"):
        nn.Conv1d(3, 4, 0)


def _torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize(("xs", "ws", "kw"), GRID)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d_matches_torch_outputs_and_gradients(xs, ws, kw, dtype):
    torch = _torch()
    tol = {"float32": 1e-5, "float64": 1e-10}[dtype]
    arrays = [_rand(*xs, seed=1), _rand(*ws, seed=2), _rand(ws[0], seed=3)]
    arrays = [a.astype(dtype) for a in arrays]
    ours = [tg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = F.conv2d(*ours, **kw)
    yt = torch.nn.functional.conv2d(*theirs, **kw)
    np.testing.assert_allclose(
        y.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol
    )
    g = _rand(*yt.shape, seed=4).astype(dtype)
    y.backward(tg.tensor(g))
    yt.backward(torch.tensor(g))
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(
            a.grad.detach().numpy(), b.grad.detach().numpy(), rtol=tol, atol=tol
        )


def test_a_pytorch_state_dict_loads_and_gives_the_same_outputs():
    torch = _torch()
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(4, 2, 3, stride=2),
        torch.nn.Flatten(),
        torch.nn.Identity(),
    ).double()
    ours = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, dtype=tg.float64),
        nn.ReLU(),
        nn.Conv2d(4, 2, 3, stride=2, dtype=tg.float64),
        nn.Flatten(),
        nn.Identity(),
    )
    ours.load_state_dict(
        {k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    )
    x = _rand(3, 1, 7, 7, seed=5)
    np.testing.assert_allclose(
        ours(tg.tensor(x)).detach().numpy(),
        theirs(torch.tensor(x)).detach().numpy(),
        rtol=1e-12,
        atol=1e-12,
    )


def test_conv1d_matches_torch():
    torch = _torch()
    x, w, b = _rand(2, 4, 9, seed=1), _rand(6, 2, 3, seed=2), _rand(6, seed=3)
    kw = {"stride": 2, "padding": 2, "dilation": 2, "groups": 2}
    ours = F.conv1d(tg.tensor(x), tg.tensor(w), tg.tensor(b), **kw)
    theirs = torch.nn.functional.conv1d(
        torch.tensor(x), torch.tensor(w), torch.tensor(b), **kw
    )
    np.testing.assert_allclose(
        ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12
    )
