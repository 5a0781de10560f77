"""nn.utils.rnn: pad_sequence, pack_padded_sequence, pad_packed_sequence,
pack_sequence, and RNN/LSTM/GRU on PackedSequence, against PyTorch when installed."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg
from helpers import raises
from tapegrad import nn
from tapegrad.nn.utils import rnn as R
from tapegrad.testing import gradcheck


def _t(*shape, seed=0, requires_grad=False):
    x = np.random.default_rng(seed).standard_normal(shape)
    return tg.tensor(x, dtype=tg.float64, requires_grad=requires_grad)


def test_pack_and_pad_round_trip_in_the_callers_order():
    x = _t(4, 3, 2)
    packed = R.pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
    assert packed.batch_sizes.numpy().tolist() == [3, 2, 1, 1]
    assert packed.batch_sizes.dtype == tg.int64
    assert packed.sorted_indices.numpy().tolist() == [1, 0, 2]
    assert packed.unsorted_indices.numpy().tolist() == [1, 0, 2]
    assert tuple(packed.data.shape) == (7, 2)
    padded, lengths = R.pad_packed_sequence(packed, total_length=5, padding_value=-1)
    assert lengths.numpy().tolist() == [2, 4, 1] and lengths.dtype == tg.int64
    expected = np.full((5, 3, 2), -1.0)
    for b, n in enumerate([2, 4, 1]):
        expected[:n, b] = x.numpy()[:n, b]
    np.testing.assert_array_equal(padded.numpy(), expected)


def test_pad_sequence_and_pack_sequence():
    a, b = _t(3, 2, seed=1), _t(1, 2, seed=2)
    padded = R.pad_sequence([a, b], batch_first=True, padding_value=9.0)
    assert tuple(padded.shape) == (2, 3, 2) and padded.numpy()[1, 2, 0] == 9.0
    left = R.pad_sequence([a, b], padding_side="left")
    np.testing.assert_array_equal(left.numpy()[2, 1], b.numpy()[0])
    packed = R.pack_sequence([a, b])
    assert packed.batch_sizes.numpy().tolist() == [2, 1, 1]
    assert packed.sorted_indices is None


def test_errors_name_the_problem():
    with raises(tg.ArgumentError, "decreasing", "enforce_sorted"):
        R.pack_padded_sequence(_t(3, 2, 1), [1, 3])
    with raises(tg.ShapeError, "lengths", "between 1 and", "3"):
        R.pack_padded_sequence(_t(3, 2, 1), [4, 1])
    with raises(tg.ShapeError, "2 integers"):
        R.pack_padded_sequence(_t(3, 2, 1), [3])
    with raises(tg.ShapeError, "trailing", "(3, 2)", "(3, 1)"):
        R.pad_sequence([_t(3, 2), _t(3, 1)])
    with raises(tg.ArgumentError, "total_length"):
        R.pad_packed_sequence(R.pack_sequence([_t(3, 2)]), total_length=2)


def test_a_packed_lstm_is_differentiable():
    lstm = nn.LSTM(2, 3, bidirectional=True, dtype=tg.float64)

    def fn(x):
        packed = R.pack_padded_sequence(x, [3, 1], enforce_sorted=False)
        out, (h, c) = lstm(packed)
        padded, _ = R.pad_packed_sequence(out)
        return padded.sum() + h.sum() + c.sum()

    assert gradcheck(fn, [_t(3, 2, 2, requires_grad=True)])


def test_a_packed_sequence_runs_only_its_own_steps():
    # h_n of each sequence equals running it alone, unpadded.
    gru = nn.GRU(2, 3, num_layers=2, dtype=tg.float64)
    x = _t(4, 2, 2, seed=3)
    _, h = gru(R.pack_padded_sequence(x, [4, 2]))
    _, alone = gru(x[:2, 1:2])
    np.testing.assert_allclose(
        h.detach().numpy()[:, 1], alone.detach().numpy()[:, 0], atol=1e-12
    )


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_packed_recurrent_layers_match_torch(mode, bidirectional, enforce_sorted):
    torch = pytest.importorskip("torch")
    from torch.nn.utils import rnn as TR

    theirs = getattr(torch.nn, mode)(
        3, 4, num_layers=2, bidirectional=bidirectional, batch_first=True
    ).double()
    ours = getattr(nn, mode)(
        3,
        4,
        num_layers=2,
        bidirectional=bidirectional,
        batch_first=True,
        dtype=tg.float64,
    )
    ours.load_state_dict(
        {k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    )
    lengths = [5, 3, 2] if enforce_sorted else [2, 5, 3]
    x = np.random.default_rng(0).standard_normal((3, 5, 3))
    gx, tx = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    states = 2 * (2 if bidirectional else 1)
    h0 = np.random.default_rng(1).standard_normal((states, 3, 4))
    gh0 = tg.tensor(h0, requires_grad=True)
    th0 = torch.tensor(h0, requires_grad=True)
    hx = (gh0, gh0 * 0.5) if mode == "LSTM" else gh0
    thx = (th0, th0 * 0.5) if mode == "LSTM" else th0
    kw = {"batch_first": True, "enforce_sorted": enforce_sorted}
    out, h = ours(R.pack_padded_sequence(gx, lengths, **kw), hx)
    tout, th = theirs(TR.pack_padded_sequence(tx, lengths, **kw), thx)
    np.testing.assert_allclose(
        out.data.detach().numpy(), tout.data.detach().numpy(), atol=1e-12
    )
    padded, _ = R.pad_packed_sequence(out, batch_first=True)
    tpadded, _ = TR.pad_packed_sequence(tout, batch_first=True)
    np.testing.assert_allclose(
        padded.detach().numpy(), tpadded.detach().numpy(), atol=1e-12
    )
    if mode == "LSTM":
        h, th = h[0] + h[1], th[0] + th[1]
    np.testing.assert_allclose(h.detach().numpy(), th.detach().numpy(), atol=1e-12)
    ((padded**2).sum() + (h**3).sum()).backward()
    ((tpadded**2).sum() + (th**3).sum()).backward()
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(gh0.grad.numpy(), th0.grad.numpy(), atol=1e-12)
