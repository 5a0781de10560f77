"""Fused scaled dot-product attention, MultiheadAttention and the transformer encoder."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg
from helpers import raises
from tapegrad import nn
from tapegrad.nn import functional as F
from tapegrad.testing import gradcheck, gradgradcheck


def _t(*shape, seed=0, requires_grad=True):
    x = np.random.default_rng(seed).standard_normal(shape)
    return tg.tensor(x, dtype=tg.float64, requires_grad=requires_grad)


def _qkv(batch=(2, 3), length=4, source=5, e=3, ev=2):
    return (
        _t(*batch, length, e, seed=1),
        _t(*batch, source, e, seed=2),
        _t(*batch, source, ev, seed=3),
    )


def test_one_fused_node_and_a_small_memory_bill():
    q, k, v = _qkv()
    out = F.scaled_dot_product_attention(q, k, v)
    assert out.grad_fn.name() == "AttentionBackward"
    assert out.shape == (2, 3, 4, 2)


@pytest.mark.parametrize("causal", [False, True])
def test_gradients_and_second_derivatives(causal):
    q, k, v = _qkv(batch=(2,), length=4, source=4)
    fn = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    assert gradcheck(fn, [q, k, v])
    assert gradgradcheck(fn, [q, k, v])


def test_an_additive_mask_gets_a_gradient_through_broadcasting():
    q, k, v = _qkv()
    mask = _t(4, 5, seed=4)
    fn = lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m, scale=0.7)
    assert gradcheck(fn, [q, k, v, mask])


def test_forward_mode_matches_reverse_mode():
    q, k, v = _qkv(batch=(2,))
    mask = _t(4, 5, seed=4)
    fn = lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m)
    tangents = [
        _t(*t.shape, seed=9 + i, requires_grad=False)
        for i, t in enumerate((q, k, v, mask))
    ]
    _, jvp_out = tg.func.jvp(fn, (q, k, v, mask), tuple(tangents))
    cot = _t(*jvp_out.shape, seed=20, requires_grad=False)
    grads = tg.autograd.grad((fn(q, k, v, mask) * cot).sum(), [q, k, v, mask])
    lhs = float((jvp_out * cot).sum().item())
    rhs = sum(float((g * t).sum().item()) for g, t in zip(grads, tangents, strict=True))
    assert abs(lhs - rhs) < 1e-9 * max(1.0, abs(lhs))


def test_boolean_mask_allows_the_true_positions():
    q, k, v = _qkv(batch=(1,), length=2, source=3)
    allowed = np.array([[True, False, False], [True, True, False]])
    out = F.scaled_dot_product_attention(q, k, v, allowed)
    # The first query can only see the first key: its output is that value.
    np.testing.assert_allclose(out.detach().numpy()[0, 0], v.detach().numpy()[0, 0])


def test_errors_name_the_shapes():
    q, k, v = _qkv()
    with raises(tg.ShapeError, "(2, 3, 4, 3)", "(2, 3, 2, 5)"):
        F.scaled_dot_product_attention(q, v.transpose(-1, -2), v)
    with raises(tg.ShapeError, "attn_mask", "(3, 5)"):
        F.scaled_dot_product_attention(q, k, v, _t(3, 5))
    with raises(tg.ArgumentError, "is_causal"):
        F.scaled_dot_product_attention(q, k, v, _t(4, 5), is_causal=True)


def test_multihead_attention_parameters_and_shapes():
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    names = {n: tuple(p.shape) for n, p in mha.named_parameters()}
    assert names == {
        "in_proj_weight": (24, 8),
        "in_proj_bias": (24,),
        "out_proj.weight": (8, 8),
        "out_proj.bias": (8,),
    }
    x = tg.randn(3, 5, 8)
    out, weights = mha(x, x, x)
    assert out.shape == (3, 5, 8) and weights.shape == (3, 5, 5)
    out, weights = mha(x, x, x, need_weights=False)
    assert weights is None
    with raises(tg.ArgumentError, "divisible"):
        nn.MultiheadAttention(8, 3)


def test_encoder_layers_start_as_copies_and_train():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0)
    encoder = nn.TransformerEncoder(layer, 2)
    a, b = (dict(m.named_parameters()) for m in encoder.layers)
    np.testing.assert_array_equal(
        a["linear1.weight"].detach().numpy(), b["linear1.weight"].detach().numpy()
    )
    out = encoder(tg.randn(5, 3, 8), is_causal=True)
    out.sum().backward()
    assert all(p.grad is not None for p in encoder.parameters())


def _torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", ["plain", "causal", "bool", "float", "scale"])
def test_sdpa_matches_torch(case, dtype):
    torch = _torch()
    tol = {"float32": 1e-5, "float64": 1e-10}[dtype]
    rng = np.random.default_rng(0)
    arrays = [
        rng.standard_normal(s).astype(dtype)
        for s in ((2, 3, 4, 3), (2, 3, 5, 3), (2, 3, 5, 2))
    ]
    if case == "causal":
        arrays = [a[..., :4, :] if i else a for i, a in enumerate(arrays)]
    kwargs_ours, kwargs_theirs = {}, {}
    if case == "causal":
        kwargs_ours = kwargs_theirs = {"is_causal": True}
    elif case == "bool":
        allowed = rng.random((4, 5)) > 0.3
        allowed[:, 0] = True
        kwargs_ours, kwargs_theirs = (
            {"attn_mask": allowed},
            {"attn_mask": torch.tensor(allowed)},
        )
    elif case == "float":
        m = rng.standard_normal((3, 4, 5)).astype(dtype)
        kwargs_ours, kwargs_theirs = (
            {"attn_mask": tg.tensor(m)},
            {"attn_mask": torch.tensor(m)},
        )
    elif case == "scale":
        kwargs_ours = kwargs_theirs = {"scale": 0.3}
    ours = [tg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = F.scaled_dot_product_attention(*ours, **kwargs_ours)
    yt = torch.nn.functional.scaled_dot_product_attention(*theirs, **kwargs_theirs)
    np.testing.assert_allclose(
        y.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol
    )
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    y.backward(tg.tensor(g))
    yt.backward(torch.tensor(g))
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(
            a.grad.detach().numpy(), b.grad.numpy(), rtol=tol, atol=tol
        )


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [False, True])
def test_multihead_attention_matches_torch(batch_first, need_weights):
    torch = _torch()
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first).double()
    ours = nn.MultiheadAttention(8, 2, batch_first=batch_first, dtype=tg.float64)
    ours.load_state_dict(
        {k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 8) if batch_first else (5, 3, 8))
    padding = np.zeros((3, 5), dtype=bool)
    padding[0, 3:] = True
    causal = np.triu(np.ones((5, 5), dtype=bool), 1)
    kw = {"need_weights": need_weights}
    out, w = ours(
        *(tg.tensor(x),) * 3, key_padding_mask=padding, attn_mask=causal, **kw
    )
    xt = torch.tensor(x)
    ref, wr = theirs(
        xt,
        xt,
        xt,
        key_padding_mask=torch.tensor(padding),
        attn_mask=torch.tensor(causal),
        **kw,
    )
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-10)
    if need_weights:
        np.testing.assert_allclose(w.detach().numpy(), wr.detach().numpy(), atol=1e-10)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_matches_torch_outputs_and_gradients(norm_first, activation):
    torch = _torch()
    layer = torch.nn.TransformerEncoderLayer(
        8,
        2,
        16,
        dropout=0.0,
        activation=activation,
        norm_first=norm_first,
        batch_first=True,
    )
    theirs = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).double()
    ours = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(
            8,
            2,
            16,
            dropout=0.0,
            activation=activation,
            norm_first=norm_first,
            batch_first=True,
            dtype=tg.float64,
        ),
        2,
    )
    ours.load_state_dict(
        {k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    )
    x = np.random.default_rng(1).standard_normal((2, 6, 8))
    mask = torch.nn.Transformer.generate_square_subsequent_mask(6).double()
    out = ours(tg.tensor(x), mask=tg.tensor(mask.numpy()))
    ref = theirs(torch.tensor(x), mask=mask)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-9)
    out.sum().backward()
    ref.sum().backward()
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(
            mine[name].grad.detach().numpy(), p.grad.numpy(), atol=1e-9
        )
