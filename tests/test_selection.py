"""Advanced indexing and selections by index (issue 11): PyTorch parity of values and
gradients, the integer-valued helpers, and error messages. The OpSpec entries in
op_specs.py cover forward values, gradcheck, JVP and higher order for each op."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg
import tapegrad.nn.functional as F
from helpers import raises

RNG = np.random.default_rng(11)
X = RNG.normal(size=(4, 3, 5))

# Index expressions over a (4, 3, 5) tensor, as NumPy/PyTorch write them.
EXPRESSIONS = {
    "idx": lambda i: i([3, 0, 3]),
    "rows,cols": lambda i: (i([0, 1, 3]), i([2, 2, 0])),
    ":,idx": lambda i: (slice(None), i([[1, 0], [2, 2]])),
    "adjacent": lambda i: (slice(None), i([0, 2]), i([4, 4])),
    "separated": lambda i: (i([0, 2]), slice(1, None), i([4, 1])),
    "separated-broadcast": lambda i: (i([[0], [3]]), slice(None), i([1, 2, 3])),
    "int-between": lambda i: (i([0, 2]), 1, i([4, 1])),
    "mask": lambda i: i(X[:, :, 0] > 0),
    "mask,1:": lambda i: (i(X[:, 0, 0] > 0), slice(1, None)),
    "...,mask": lambda i: (Ellipsis, i(np.array([True, False, True, True, False]))),
    "mask-all-dims": lambda i: i(X > 0.5),
    "None,idx": lambda i: (None, i([1, 1]), slice(None, None, 2)),
}


@pytest.mark.parametrize("name", EXPRESSIONS)
def test_advanced_indexing_matches_numpy_for_every_index_kind(name):
    expected = X[EXPRESSIONS[name](np.asarray)]
    x = tg.tensor(X)
    as_tensor = EXPRESSIONS[name](lambda v: tg.tensor(np.asarray(v)))
    as_list = EXPRESSIONS[name](lambda v: np.asarray(v).tolist())
    for key in (EXPRESSIONS[name](np.asarray), as_tensor, as_list):
        np.testing.assert_array_equal(x[key].numpy(), expected)


@pytest.mark.parametrize("name", EXPRESSIONS)
def test_advanced_indexing_matches_pytorch_values_and_gradients(name):
    torch = pytest.importorskip("torch")
    weights = RNG.normal(size=X[EXPRESSIONS[name](np.asarray)].shape)
    x = tg.tensor(X, requires_grad=True)
    out = x[EXPRESSIONS[name](lambda v: tg.tensor(np.asarray(v)))]
    (out * tg.tensor(weights)).sum().backward()
    xt = torch.tensor(X, requires_grad=True)
    ref = xt[EXPRESSIONS[name](lambda v: torch.as_tensor(np.asarray(v)))]
    (ref * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_repeated_indices_accumulate_their_gradients():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[tg.tensor([2, 0, 2, 2])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 3.0])


def test_integer_index_tensors_of_every_integer_dtype():
    x = tg.arange(6.0).reshape(2, 3)
    for dtype in (tg.int64, tg.int32, tg.int16, tg.int8, tg.uint8):
        idx = tg.tensor([1, 0], dtype=dtype)
        np.testing.assert_array_equal(x[:, idx].numpy(), [[1.0, 0.0], [4.0, 3.0]])


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce_matches_pytorch(reduce, include_self):
    torch = pytest.importorskip("torch")
    x = RNG.normal(size=(3, 5))
    src = RNG.normal(size=(3, 4))
    src[0, 1] = src[0, 0]  # a tie in amax/amin: the gradient is shared
    index = np.array([[0, 0, 4, 4], [1, 2, 1, 1], [3, 3, 3, 0]])
    weights = RNG.normal(size=(3, 5))
    a = tg.tensor(x, requires_grad=True)
    b = tg.tensor(src, requires_grad=True)
    out = tg.scatter_reduce(
        a, 1, tg.tensor(index), b, reduce, include_self=include_self
    )
    (out * tg.tensor(weights)).sum().backward()
    at = torch.tensor(x, requires_grad=True)
    bt = torch.tensor(src, requires_grad=True)
    ref = at.scatter_reduce(
        1, torch.tensor(index), bt, reduce, include_self=include_self
    )
    (ref * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), at.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(b.grad.numpy(), bt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_scatter_reduce_amax_shares_the_gradient_between_ties():
    x = tg.tensor([0.0, 0.0], requires_grad=True)
    src = tg.tensor([2.0, 2.0, 1.0], requires_grad=True)
    out = tg.scatter_reduce(x, 0, tg.tensor([0, 0, 0]), src, "amax")
    np.testing.assert_array_equal(out.detach().numpy(), [2.0, 0.0])
    out.sum().backward()
    np.testing.assert_array_equal(src.grad.numpy(), [0.5, 0.5, 0.0])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0])


def test_scatter_and_gather_match_pytorch():
    torch = pytest.importorskip("torch")
    x = RNG.normal(size=(4, 5))
    index = np.array([[0, 1, 2, 3, 0], [3, 2, 1, 0, 1]])
    src = RNG.normal(size=(2, 5))
    ours = tg.scatter(tg.tensor(x), 0, tg.tensor(index), tg.tensor(src))
    ref = torch.tensor(x).scatter(0, torch.tensor(index), torch.tensor(src))
    np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    ours = tg.scatter(tg.tensor(x), 0, tg.tensor(index), value=7.0)
    ref = torch.tensor(x).scatter(0, torch.tensor(index), 7.0)
    np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    got = tg.gather(tg.tensor(x), 1, tg.tensor(index))
    np.testing.assert_array_equal(
        got.numpy(), torch.tensor(x).gather(1, torch.tensor(index))
    )


def test_one_argument_where_and_nonzero_match_numpy():
    data = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    x = tg.tensor(data)
    found = tg.nonzero(x)
    assert found.dtype == tg.int64
    np.testing.assert_array_equal(found.numpy(), np.argwhere(data))
    for ours, ref in zip(tg.where(x != 0), np.nonzero(data)):
        assert ours.dtype == tg.int64
        np.testing.assert_array_equal(ours.numpy(), ref)
    np.testing.assert_array_equal(x.nonzero(as_tuple=True)[1].numpy(), [1, 0, 2])
    with raises(tg.ArgumentError, "both"):
        tg.where(x > 0, x)


def test_unique_with_inverse_counts_and_dim():
    data = np.array([[3, 1, 3], [1, 1, 2], [3, 1, 3]])
    x = tg.tensor(data)
    values, inverse, counts = tg.unique(x, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(values.numpy(), [1, 2, 3])
    assert values.dtype == tg.int64 and inverse.dtype == tg.int64
    np.testing.assert_array_equal(values.numpy()[inverse.numpy()], data)
    np.testing.assert_array_equal(counts.numpy(), [4, 1, 4])
    rows, inverse = x.unique(dim=0, return_inverse=True)
    np.testing.assert_array_equal(rows.numpy(), [[1, 1, 2], [3, 1, 3]])
    np.testing.assert_array_equal(inverse.numpy(), [1, 0, 1])


def test_bincount_histc_searchsorted_bucketize():
    counts = tg.bincount(tg.tensor([1, 1, 4]), minlength=6)
    assert counts.dtype == tg.int64
    np.testing.assert_array_equal(counts.numpy(), [0, 2, 0, 0, 1, 0])
    w = tg.tensor([0.5, 2.0, 1.0], requires_grad=True)
    sums = tg.bincount(tg.tensor([1, 1, 4]), weights=w)
    np.testing.assert_array_equal(sums.detach().numpy(), [0, 2.5, 0, 0, 1.0])
    (sums * tg.tensor([1.0, 2.0, 3.0, 4.0, 5.0])).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 2.0, 5.0])
    hist = tg.histc(tg.tensor([1.0, 2.0, 1.0, 4.0]), bins=4, min=0, max=4)
    np.testing.assert_array_equal(hist.numpy(), [0, 2, 1, 1])
    seq = tg.tensor([1.0, 3.0, 5.0, 7.0])
    values = tg.tensor([[3.0, 6.0], [9.0, 0.0]])
    np.testing.assert_array_equal(
        tg.searchsorted(seq, values).numpy(), [[1, 3], [4, 0]]
    )
    right = tg.searchsorted(seq, values, right=True)
    np.testing.assert_array_equal(right.numpy(), [[2, 3], [4, 0]])
    assert tg.searchsorted(seq, values, out_int32=True).dtype == tg.int32
    np.testing.assert_array_equal(tg.bucketize(values, seq).numpy(), [[1, 3], [4, 0]])


def test_integer_helpers_match_pytorch():
    torch = pytest.importorskip("torch")
    data = np.array([4, 0, 2, 2, 7, 4, 4])
    np.testing.assert_array_equal(
        tg.bincount(tg.tensor(data)).numpy(), torch.bincount(torch.tensor(data)).numpy()
    )
    seq = np.array([[1.0, 2.0, 3.0], [0.0, 5.0, 6.0]])
    values = np.array([[2.0, 3.5], [5.0, -1.0]])
    for right in (False, True):
        ours = tg.searchsorted(tg.tensor(seq), tg.tensor(values), right=right)
        ref = torch.searchsorted(torch.tensor(seq), torch.tensor(values), right=right)
        np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    floats = RNG.normal(size=50)
    np.testing.assert_allclose(
        tg.histc(tg.tensor(floats), bins=7).numpy(),
        torch.histc(torch.tensor(floats), bins=7).numpy(),
    )


def test_one_hot_is_int64_and_labels_may_be_int64_tensors():
    labels = tg.tensor([0, 2, 1])
    hot = F.one_hot(labels, 3)
    assert hot.dtype == tg.int64
    np.testing.assert_array_equal(hot.numpy(), np.eye(3, dtype=np.int64)[[0, 2, 1]])
    logits = tg.tensor(RNG.normal(size=(3, 3)), requires_grad=True)
    for target in (labels, [0, 2, 1], np.array([0, 2, 1])):
        ce = F.cross_entropy(logits, target)
        nll = F.nll_loss(F.log_softmax(logits, 1), target)
        np.testing.assert_allclose(ce.item(), nll.item())
    table = tg.tensor(RNG.normal(size=(5, 2)), requires_grad=True)
    rows = F.embedding(tg.tensor([[4, 0], [4, 4]]), table)
    rows.sum().backward()
    np.testing.assert_array_equal(table.grad.numpy()[:, 0], [1, 0, 0, 0, 3])
    layer = tg.nn.Embedding(5, 2)
    assert layer(tg.tensor([1, 2])).shape == (2, 2)


def test_index_errors_name_the_axis_index_and_size():
    x = tg.zeros(4, 3)
    with raises(tg.AxisError, "index 7", "dimension 1", "size 3"):
        x[:, tg.tensor([0, 7])]
    with raises(tg.AxisError, "index -5", "dimension 0", "size 4"):
        x[[-5]]
    with raises(tg.AxisError, "index 4", "dimension 0", "size 4"):
        tg.gather(x, 0, tg.tensor([[4]]))
    with raises(tg.AxisError, "index 3", "dimension 1"):
        tg.scatter_add(x, 1, tg.tensor([[3]]), tg.ones(1, 1))
    with raises(tg.AxisError, "index 12", "size 12"):
        tg.take(x, tg.tensor([12]))


def test_index_dtype_and_mask_shape_errors():
    x = tg.zeros(4, 3)
    with raises(tg.DTypeError, "float"):
        x[tg.tensor([0.0, 1.0])]
    with raises(tg.DTypeError, "integer"):
        tg.gather(x, 1, tg.tensor([[0.0]]))
    with raises(tg.ShapeError, "(3, 3)", "(4, 3)"):
        x[tg.zeros(3, 3) > 0]
    with raises(tg.ShapeError, "(2,)", "(4, 3)"):
        tg.masked_fill(x, tg.tensor([True, False]), 1.0)
    with raises(tg.DTypeError, "bool"):
        tg.masked_fill(x, tg.ones(4, 3), 1.0)


def test_scatter_reduce_extremes_at_infinity_match_pytorch():
    torch = pytest.importorskip("torch")
    x = np.array([1.0, np.inf, 3.0, -np.inf, 2.0])
    src = np.array([np.inf, np.inf, 2.0, 5.0, -np.inf])
    index = np.array([0, 0, 2, 2, 3])
    for reduce, sign in (("amax", 1.0), ("amin", -1.0)):
        a = tg.tensor(sign * x, requires_grad=True)
        b = tg.tensor(sign * src, requires_grad=True)
        out = tg.scatter_reduce(a, 0, tg.tensor(index), b, reduce)
        out.sum().backward()
        at = torch.tensor(sign * x, requires_grad=True)
        bt = torch.tensor(sign * src, requires_grad=True)
        ref = at.scatter_reduce(0, torch.tensor(index), bt, reduce)
        ref.sum().backward()
        np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
        np.testing.assert_array_equal(a.grad.numpy(), at.grad.numpy())
        np.testing.assert_array_equal(b.grad.numpy(), bt.grad.numpy())
