"""RNN, LSTM and GRU: parameter names, gradients and PyTorch parity."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg
from helpers import raises
from tapegrad import nn
from tapegrad.testing import gradcheck

LAYERS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}


def test_parameter_names_and_shapes_follow_pytorch():
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    shapes = {n: tuple(p.shape) for n, p in lstm.named_parameters()}
    assert shapes["weight_ih_l0"] == (16, 3)
    assert shapes["weight_hh_l0_reverse"] == (16, 4)
    assert shapes["weight_ih_l1"] == (16, 8)
    assert shapes["bias_hh_l1_reverse"] == (16,)
    assert len(shapes) == 16
    assert tuple(nn.GRU(3, 4).weight_ih_l0.shape) == (12, 3)
    assert tuple(nn.GRUCell(3, 4).weight_hh.shape) == (12, 4)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_gradients_match_finite_differences(kind):
    tg.manual_seed(0)
    layer = LAYERS[kind](2, 3, bidirectional=True, dtype=tg.float64)
    x = tg.tensor(
        np.random.default_rng(0).standard_normal((4, 2, 2)), requires_grad=True
    )
    assert gradcheck(lambda x: layer(x)[0], [x])
    out, _ = layer(x)
    out.sum().backward()
    assert all(p.grad is not None for p in layer.parameters())


def test_bad_inputs_name_the_shapes():
    with raises(tg.ShapeError, "(L, N, 3)", "(4, 2, 5)"):
        nn.GRU(3, 4)(tg.randn(4, 2, 5))
    with raises(tg.ShapeError, "hidden state", "(1, 2, 4)"):
        nn.RNN(3, 4)(tg.randn(5, 2, 3), tg.zeros(2, 2, 4))


def _torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"num_layers": 2, "bidirectional": True},
        {"batch_first": True, "bias": False},
    ],
)
def test_outputs_and_all_gradients_match_torch(kind, kw):
    torch = _torch()
    theirs = getattr(torch.nn, kind)(3, 4, **kw).double()
    ours = LAYERS[kind](3, 4, dtype=tg.float64, **kw)
    ours.load_state_dict(
        {k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 3) if kw.get("batch_first") else (5, 2, 3))
    layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    h0 = rng.standard_normal((layers, 2, 4))
    xo, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    if kind == "LSTM":
        c0 = rng.standard_normal((layers, 2, 4))
        out, (h, c) = ours(xo, (tg.tensor(h0), tg.tensor(c0)))
        ref, (hr, cr) = theirs(xt, (torch.tensor(h0), torch.tensor(c0)))
        loss, loss_ref = (
            (out**2).sum() + (c * h).sum(),
            (ref**2).sum() + (cr * hr).sum(),
        )
    else:
        out, h = ours(xo, tg.tensor(h0))
        ref, hr = theirs(xt, torch.tensor(h0))
        loss, loss_ref = (out**2).sum() + h.sum(), (ref**2).sum() + hr.sum()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(h.detach().numpy(), hr.detach().numpy(), atol=1e-10)
    loss.backward()
    loss_ref.backward()
    np.testing.assert_allclose(
        xo.grad.detach().numpy(), xt.grad.detach().numpy(), atol=1e-10
    )
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(
            mine[name].grad.detach().numpy(), p.grad.detach().numpy(), atol=1e-10
        )


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch(kind):
    torch = _torch()
    theirs = getattr(torch.nn, kind)(3, 4).double()
    ours = getattr(nn, kind)(3, 4, dtype=tg.float64)
    ours.load_state_dict(
        {k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    )
    x = np.random.default_rng(1).standard_normal((2, 3))
    out, ref = ours(tg.tensor(x)), theirs(torch.tensor(x))
    if kind == "LSTMCell":
        out, ref = out[1], ref[1]
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-10)


@pytest.mark.parametrize(
    "kw",
    [
        {"proj_size": 2},
        {"proj_size": 3, "num_layers": 2, "bidirectional": True},
        {"proj_size": 1, "batch_first": True, "bias": False, "num_layers": 2},
    ],
)
def test_lstm_with_projections_matches_torch(kw):
    torch = _torch()
    theirs = torch.nn.LSTM(3, 4, **kw).double()
    ours = nn.LSTM(3, 4, dtype=tg.float64, **kw)
    assert [n for n, _ in ours.named_parameters()] == [
        n for n, _ in theirs.named_parameters()
    ]
    assert {n: tuple(p.shape) for n, p in ours.state_dict().items()} == {
        n: tuple(p.shape) for n, p in theirs.state_dict().items()
    }
    ours.load_state_dict(
        {k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    )
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 3) if kw.get("batch_first") else (5, 2, 3))
    layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    h0 = rng.standard_normal((layers, 2, kw["proj_size"]))
    c0 = rng.standard_normal((layers, 2, 4))
    xo, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    for hx_ours, hx_theirs in [
        (None, None),
        ((tg.tensor(h0), tg.tensor(c0)), (torch.tensor(h0), torch.tensor(c0))),
    ]:
        out, (h, c) = ours(xo, hx_ours)
        ref, (hr, cr) = theirs(xt, hx_theirs)
        assert tuple(h.shape) == tuple(hr.shape) and tuple(c.shape) == tuple(cr.shape)
        for mine, theirs_value in [(out, ref), (h, hr), (c, cr)]:
            np.testing.assert_allclose(
                mine.detach().numpy(), theirs_value.detach().numpy(), atol=1e-10
            )
    ((out**2).sum() + (c * h.sum()).sum()).backward()
    ((ref**2).sum() + (cr * hr.sum()).sum()).backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), atol=1e-10)
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(
            mine[name].grad.numpy(), p.grad.numpy(), atol=1e-10, err_msg=name
        )


def test_lstm_projection_gradients_match_finite_differences_and_unbatched_input():
    tg.manual_seed(0)
    lstm = nn.LSTM(2, 3, proj_size=2, bidirectional=True, dtype=tg.float64)
    x = tg.tensor(np.random.default_rng(0).standard_normal((4, 2)), requires_grad=True)
    out, (h, c) = lstm(x)  # unbatched: (L, features)
    assert tuple(out.shape) == (4, 4) and tuple(h.shape) == (2, 2)
    assert tuple(c.shape) == (2, 3)
    assert gradcheck(lambda x: lstm(x)[0], [x])
    assert "proj_size=2" in repr(lstm)


def test_lstm_projection_errors_match_torch():
    with raises(tg.ArgumentError, "proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with raises(tg.ArgumentError, "positive integer or zero"):
        nn.LSTM(3, 4, proj_size=-1)
    with raises(tg.ShapeError, "hidden state", "(1, 2, 2)"):
        nn.LSTM(3, 4, proj_size=2)(
            tg.randn(5, 2, 3), (tg.zeros(1, 2, 4), tg.zeros(1, 2, 4))
        )
