"""Activation functions and modules (issue 15): values against NumPy references and
PyTorch (when installed), gradients against finite differences, modules against their
functions, and bad arguments."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad import nn
from tapegrad.testing import gradcheck

X = np.array([-25.0, -3.5, -1.2, -0.4, 0.3, 0.9, 2.6, 4.0, 7.5, 30.0])
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _softplus(x, beta=1.0, threshold=20.0):
    z = beta * x
    return np.where(z > threshold, x, np.logaddexp(0.0, z) / beta)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# name -> (tapegrad function, kwargs, NumPy reference, module factory or None)
CASES = {
    "silu": (F.silu, {}, lambda x: x * _sigmoid(x), nn.SiLU),
    "softplus": (F.softplus, {}, _softplus, nn.Softplus),
    "softplus-beta": (
        F.softplus,
        {"beta": 2.0, "threshold": 5.0},
        lambda x: _softplus(x, 2.0, 5.0),
        lambda: nn.Softplus(2.0, 5.0),
    ),
    "mish": (F.mish, {}, lambda x: x * np.tanh(_softplus(x)), nn.Mish),
    "elu": (F.elu, {}, lambda x: np.where(x > 0, x, np.expm1(x)), nn.ELU),
    "elu-alpha": (
        F.elu,
        {"alpha": 0.5},
        lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)),
        lambda: nn.ELU(0.5),
    ),
    "selu": (
        F.selu,
        {},
        lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
        nn.SELU,
    ),
    "celu": (
        F.celu,
        {"alpha": 2.0},
        lambda x: np.where(x > 0, x, 2.0 * np.expm1(x / 2.0)),
        lambda: nn.CELU(2.0),
    ),
    "leaky_relu": (
        F.leaky_relu,
        {"negative_slope": 0.2},
        lambda x: np.where(x > 0, x, 0.2 * x),
        lambda: nn.LeakyReLU(0.2),
    ),
    "hardtanh": (F.hardtanh, {}, lambda x: np.clip(x, -1, 1), nn.Hardtanh),
    "relu6": (F.relu6, {}, lambda x: np.clip(x, 0, 6), nn.ReLU6),
    "hardsigmoid": (
        F.hardsigmoid,
        {},
        lambda x: np.clip(x / 6 + 0.5, 0, 1),
        nn.Hardsigmoid,
    ),
    "hardswish": (
        F.hardswish,
        {},
        lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
        nn.Hardswish,
    ),
    "logsigmoid": (F.logsigmoid, {}, lambda x: -np.logaddexp(0.0, -x), nn.LogSigmoid),
    "softsign": (F.softsign, {}, lambda x: x / (1 + np.abs(x)), nn.Softsign),
    "tanhshrink": (F.tanhshrink, {}, lambda x: x - np.tanh(x), nn.Tanhshrink),
    "threshold": (
        F.threshold,
        {"threshold": 0.5, "value": -1.0},
        lambda x: np.where(x > 0.5, x, -1.0),
        lambda: nn.Threshold(0.5, -1.0),
    ),
    "gelu-tanh": (
        F.gelu,
        {"approximate": "tanh"},
        lambda x: (
            0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
        ),
        lambda: nn.GELU(approximate="tanh"),
    ),
}
TORCH_NAMES = {"softplus-beta": "softplus", "elu-alpha": "elu", "gelu-tanh": "gelu"}


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
@pytest.mark.parametrize("name", list(CASES))
def test_values_match_reference_and_module(name, dtype):
    fn, kwargs, ref, module = CASES[name]
    x = tg.tensor(X, dtype=dtype)
    out = fn(x, **kwargs)
    assert out.dtype == dtype and out.shape == X.shape
    tol = 1e-5 if dtype == tg.float32 else 1e-12
    np.testing.assert_allclose(out.numpy(), ref(X), rtol=tol, atol=tol)
    np.testing.assert_allclose(module()(x).numpy(), out.numpy(), rtol=0, atol=0)


@pytest.mark.parametrize("name", list(CASES))
def test_gradients_match_finite_differences(name):
    fn, kwargs, _, _ = CASES[name]
    # Away from the kinks at 0, ±1, ±3, 6 and the thresholds.
    x = tg.tensor([-3.7, -1.6, -0.55, 0.2, 0.75, 1.4, 2.2, 3.3, 5.1], dtype=tg.float64)
    x.requires_grad_(True)
    assert gradcheck(lambda t: fn(t, **kwargs), (x,))


@pytest.mark.parametrize("name", ["elu", "selu", "celu", "softplus", "mish", "silu"])
def test_second_derivatives_match_finite_differences(name):
    fn, kwargs, _, _ = CASES[name]
    x = tg.tensor([-2.1, -0.6, 0.4, 1.7], dtype=tg.float64, requires_grad=True)

    def first(t):
        (g,) = tg.grad(fn(t, **kwargs).sum(), t, create_graph=True)
        return g

    assert gradcheck(first, (x,))


@pytest.mark.parametrize("name", ["elu", "selu", "celu", "softplus", "mish"])
def test_no_nan_gradient_from_the_branch_not_taken(name):
    fn, kwargs, _, _ = CASES[name]
    x = tg.tensor([-800.0, 800.0], dtype=tg.float64, requires_grad=True)
    fn(x, **kwargs).sum().backward()
    assert np.all(np.isfinite(x.grad.numpy())), x.grad


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    fn, kwargs, _, _ = CASES[name]
    torch_fn = getattr(torch.nn.functional, TORCH_NAMES.get(name, name))
    x = tg.tensor(X, dtype=tg.float64, requires_grad=True)
    xt = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    out, out_t = fn(x, **kwargs), torch_fn(xt, **kwargs)
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), rtol=1e-12)
    weights = np.linspace(-1, 1, X.size)
    (out * tg.tensor(weights, dtype=tg.float64)).sum().backward()
    (out_t * torch.tensor(weights)).sum().backward()
    # PyTorch's hardsigmoid/hardswish backward uses 1/6 rounded to float32: 3e-8 apart.
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-7, atol=1e-14)


def test_glu_prelu_softmin():
    x = tg.tensor(np.linspace(-2, 2, 24).reshape(2, 4, 3), dtype=tg.float64)
    a, b = x.numpy()[:, :2], x.numpy()[:, 2:]
    np.testing.assert_allclose(F.glu(x, dim=1).numpy(), a * _sigmoid(b), rtol=1e-12)
    np.testing.assert_allclose(nn.GLU(1)(x).numpy(), a * _sigmoid(b), rtol=1e-12)
    w = tg.tensor([0.1, 0.2, 0.3, 0.4], dtype=tg.float64)
    expected = np.where(x.numpy() > 0, x.numpy(), w.numpy()[None, :, None] * x.numpy())
    np.testing.assert_allclose(F.prelu(x, w).numpy(), expected, rtol=1e-12)
    sm = F.softmin(x, dim=2).numpy()
    e = np.exp(-x.numpy())
    np.testing.assert_allclose(sm, e / e.sum(axis=2, keepdims=True), rtol=1e-12)
    # PyTorch's legacy implicit dim: 0 for 3-d inputs
    np.testing.assert_allclose(
        nn.Softmin()(x).numpy(), F.softmin(x, dim=0).numpy(), rtol=0
    )

    xg = tg.tensor(np.linspace(-1.9, 2.1, 8).reshape(2, 4), dtype=tg.float64)
    xg.requires_grad_(True)
    wg = tg.tensor([0.1, 0.2, 0.3, 0.4], dtype=tg.float64, requires_grad=True)
    assert gradcheck(lambda t: F.glu(t, dim=-1), (xg,))
    assert gradcheck(F.prelu, (xg, wg))
    assert gradcheck(lambda t: F.softmin(t, dim=1), (xg,))


def test_prelu_module_learns_its_slope():
    m = nn.PReLU()
    assert [tuple(p.shape) for p in m.parameters()] == [(1,)]
    out = m(tg.tensor([-2.0, 3.0]))
    assert out.tolist() == [-0.5, 3.0]
    out.sum().backward()
    assert m.weight.grad.tolist() == [-2.0]
    assert [tuple(p.shape) for p in nn.PReLU(4).parameters()] == [(4,)]


def test_glu_prelu_match_torch():
    torch = pytest.importorskip("torch")
    data = np.linspace(-2, 2, 24).reshape(2, 4, 3)
    x, xt = tg.tensor(data, dtype=tg.float64), torch.tensor(data)
    np.testing.assert_allclose(
        F.glu(x, 1).numpy(), torch.nn.functional.glu(xt, 1).numpy(), rtol=1e-12
    )
    w = np.array([0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(
        F.prelu(x, tg.tensor(w, dtype=tg.float64)).numpy(),
        torch.nn.functional.prelu(xt, torch.tensor(w)).numpy(),
        rtol=1e-12,
    )


def test_bad_arguments():
    x = tg.ones(2, 3)
    with pytest.raises(
        tg.ShapeError, match=r"dimension 1 of input \(2, 3\) has odd size 3"
    ):
        F.glu(x, dim=1)
    with pytest.raises(tg.AxisError, match="dim 2 is out of range"):
        F.glu(x, dim=2)
    with pytest.raises(tg.ShapeError, match=r"weight of 2 elements .* 3 channels"):
        F.prelu(tg.ones(4, 3), tg.ones(2))
    with pytest.raises(tg.ArgumentError, match="min_val"):
        F.hardtanh(x, 1.0, -1.0)
    with pytest.raises(tg.ArgumentError, match="alpha must not be 0"):
        F.celu(x, alpha=0.0)


# The activations PyTorch gives an ``inplace`` flag (functional and module).
INPLACE = [
    name
    for name in CASES
    if TORCH_NAMES.get(name, name)
    in (
        "silu mish elu selu celu leaky_relu hardtanh relu6 hardsigmoid hardswish "
        "threshold"
    ).split()
]


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_writes_the_input_and_keeps_gradients(name):
    fn, kwargs, ref, _ = CASES[name]
    x = tg.tensor([-3.7, -1.6, -0.55, 0.2, 0.75, 1.4, 2.2, 3.3, 5.1], dtype=tg.float64)
    x.requires_grad_(True)
    hidden = x * 1.5  # in place on a non-leaf, as after a Linear or BatchNorm
    out = fn(hidden, inplace=True, **kwargs)
    assert out is hidden and out._version > 0
    np.testing.assert_allclose(out.detach().numpy(), ref(1.5 * x.detach().numpy()))
    weights = tg.tensor(np.linspace(-1, 1, 9))
    (out * weights).sum().backward()
    (expected,) = tg.grad((fn(x * 1.5, **kwargs) * weights).sum(), x)
    np.testing.assert_allclose(x.grad.numpy(), expected.numpy(), rtol=1e-12)
    assert gradcheck(lambda t: fn(t * 1.0, inplace=True, **kwargs), (x,))
    with pytest.raises(tg.GraphError, match="leaf Variable that requires grad"):
        fn(x, inplace=True, **kwargs)


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_modules_match_torch_repr(name):
    torch = pytest.importorskip("torch")
    _, kwargs, _, _ = CASES[name]
    cls = type(CASES[name][3]())
    torch_cls = getattr(torch.nn, cls.__name__)
    args = tuple(kwargs.values())
    for inplace in (False, True):
        module = cls(*args, inplace=inplace)
        assert module.inplace is inplace
        assert repr(module) == repr(torch_cls(*args, inplace=inplace))
        x = tg.tensor(X) * 1.0
        out = module(x)
        assert (out is x) is inplace


def test_relu_and_dropout_inplace_as_in_a_pytorch_mlp():
    # nn.ReLU(inplace=True) after BatchNorm1d is the examples' MNIST MLP: it used to
    # raise TypeError (no inplace argument) in every module and function.
    x = tg.tensor(np.linspace(-2, 2, 12).reshape(3, 4), requires_grad=True)
    hidden = x * 2.0
    assert F.relu(hidden, inplace=True) is hidden
    np.testing.assert_array_equal(hidden.detach().numpy(), np.maximum(2 * X12, 0))
    hidden.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2.0 * (X12 > 0))
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)" and repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.Dropout(0.25)) == "Dropout(p=0.25, inplace=False)"
    assert repr(nn.Dropout2d(inplace=True)) == "Dropout2d(p=0.5, inplace=True)"

    _ = tg.manual_seed(0)
    y = x.detach() * 1.0
    dropped = nn.Dropout(0.5, inplace=True)(y)
    assert dropped is y
    kept = y.numpy() != 0
    assert 0 < kept.sum() < kept.size
    np.testing.assert_allclose(y.numpy()[kept], 2 * X12[kept])
    z = x * 1.0
    out = F.dropout(z, 0.5, training=True, inplace=True)
    assert out is z
    out.sum().backward()
    assert set(np.unique(x.grad.numpy() - 2.0 * (X12 > 0))) <= {0.0, 2.0}
    channels = tg.ones(2, 3, 4, 4) * 1.0
    assert F.dropout2d(channels, 0.5, True, True) is channels
    assert nn.Dropout(0.5, inplace=True).eval()(y) is y


X12 = np.linspace(-2, 2, 12).reshape(3, 4)
