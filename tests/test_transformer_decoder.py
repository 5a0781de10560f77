"""TransformerDecoderLayer, TransformerDecoder and Transformer: shapes, names, training,
errors and PyTorch parity of outputs and every parameter's gradient; the fused
attention's mask gradient only when the mask requires one."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tapegrad as tg
from helpers import raises
from tapegrad import nn
from tapegrad.nn import functional as F
from tapegrad.testing import gradcheck


def _t(*shape, seed=0, requires_grad=False):
    x = np.random.default_rng(seed).standard_normal(shape)
    return tg.tensor(x, dtype=tg.float64, requires_grad=requires_grad)


def _small(**kw):
    return nn.Transformer(
        d_model=8,
        nhead=2,
        num_encoder_layers=2,
        num_decoder_layers=1,
        dim_feedforward=16,
        dropout=0.0,
        dtype=tg.float64,
        **kw,
    )


def test_parameter_names_are_pytorch_s():
    names = set(_small().state_dict())
    for name in (
        "encoder.layers.1.self_attn.in_proj_weight",
        "encoder.norm.weight",
        "decoder.layers.0.multihead_attn.out_proj.bias",
        "decoder.layers.0.norm3.bias",
        "decoder.norm.weight",
    ):
        assert name in names


def test_square_subsequent_mask():
    mask = nn.Transformer.generate_square_subsequent_mask(3).numpy()
    assert mask[0, 0] == 0.0 and mask[2, 1] == 0.0 and mask[1, 2] == -math.inf


def test_decoder_layers_start_as_copies_and_the_model_trains():
    layer = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, dtype=tg.float64)
    decoder = nn.TransformerDecoder(layer, 2, norm=nn.LayerNorm(8, dtype=tg.float64))
    first, second = (dict(m.named_parameters()) for m in decoder.layers)
    for name, p in first.items():
        np.testing.assert_array_equal(p.detach().numpy(), second[name].detach().numpy())
    model = _small(batch_first=True)
    src, tgt, goal = _t(2, 5, 8, seed=1), _t(2, 3, 8, seed=2), _t(2, 3, 8, seed=3)
    optimizer = tg.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        loss = ((model(src, tgt) - goal) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < 0.7 * losses[0]


def test_a_decoder_layer_is_differentiable_in_its_inputs():
    layer = nn.TransformerDecoderLayer(
        4, 2, 6, dropout=0.0, norm_first=True, dtype=tg.float64
    )
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=tg.float64)
    fn = lambda tgt, memory: layer(tgt, memory, tgt_mask=mask)
    assert gradcheck(fn, [_t(3, 2, 4, seed=1, requires_grad=True), _t(4, 2, 4, seed=2)])


def test_errors_name_the_shapes():
    model = _small()
    with raises(tg.ShapeError, "batch size", "(5, 2, 8)", "(3, 3, 8)"):
        model(tg.zeros(5, 2, 8, dtype=tg.float64), tg.zeros(3, 3, 8, dtype=tg.float64))
    with raises(tg.ShapeError, "d_model", "(5, 2, 6)"):
        model(tg.zeros(5, 2, 6, dtype=tg.float64), tg.zeros(3, 2, 8, dtype=tg.float64))
    with raises(tg.ArgumentError, "TransformerDecoderLayer"):
        nn.TransformerDecoder(nn.Linear(2, 2), 2)
    with raises(tg.ArgumentError, "activation", "tanh"):
        nn.TransformerDecoderLayer(8, 2, activation="tanh")


def test_a_mask_that_needs_no_gradient_gets_none_and_changes_nothing_else():
    q, k, v = (_t(2, 3, 4, seed=s, requires_grad=True) for s in (1, 2, 3))
    grads = []
    for needs_mask_grad in (False, True):
        mask = _t(3, 3, seed=4, requires_grad=needs_mask_grad)
        out = F.scaled_dot_product_attention(q, k, v, mask)
        got = tg.autograd.grad((out**2).sum(), [q, k, v], retain_graph=True)
        grads.append([g.detach().numpy() for g in got])
        if not needs_mask_grad:
            (out**2).sum().backward()
            assert mask.grad is None and q.grad is not None
    for mine, theirs in zip(*grads, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch_outputs_and_gradients(norm_first, batch_first):
    torch = pytest.importorskip("torch")
    kw = {
        "d_model": 8,
        "nhead": 2,
        "num_encoder_layers": 2,
        "num_decoder_layers": 2,
        "dim_feedforward": 16,
        "dropout": 0.0,
        "norm_first": norm_first,
        "batch_first": batch_first,
    }
    theirs = torch.nn.Transformer(**kw).double()
    ours = nn.Transformer(**kw, dtype=tg.float64)
    ours.load_state_dict(
        {k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    )
    rng = np.random.default_rng(0)
    src, tgt = rng.standard_normal((5, 3, 8)), rng.standard_normal((4, 3, 8))
    if batch_first:
        src, tgt = src.transpose(1, 0, 2).copy(), tgt.transpose(1, 0, 2).copy()
    padding = np.zeros((3, 5), bool)
    padding[1, 3:] = True
    mask = nn.Transformer.generate_square_subsequent_mask(4, dtype=tg.float64)
    out = ours(
        tg.tensor(src),
        tg.tensor(tgt),
        tgt_mask=mask,
        src_key_padding_mask=tg.tensor(padding),
        memory_key_padding_mask=tg.tensor(padding),
    )
    ref = theirs(
        torch.tensor(src),
        torch.tensor(tgt),
        tgt_mask=torch.tensor(mask.numpy()),
        src_key_padding_mask=torch.tensor(padding),
        memory_key_padding_mask=torch.tensor(padding),
    )
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-10)
    (out**2).sum().backward()
    (ref**2).sum().backward()
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(
            mine[name].grad.numpy(), p.grad.numpy(), rtol=1e-9, atol=1e-10
        )
