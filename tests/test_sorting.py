"""Selections along a dimension: the indices they return, the named tuples, NaN order,
stability, gradients through the indices, and parity with PyTorch (values, indices and
gradients) where torch is installed. The values of every op are also driven through the
OpSpec table (tests/op_specs.py, SORT_SPECS)."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg
from tapegrad.testing import gradcheck

NAN = float("nan")


def _grad(fn, values):
    x = tg.tensor(values, dtype=tg.float64, requires_grad=True)
    fn(x).sum().backward()
    return x.grad.numpy()


def test_max_with_dim_is_a_named_tuple_of_values_and_int64_indices():
    x = tg.tensor([[1.0, 5.0, 5.0], [7.0, 2.0, 7.0]])
    out = x.max(dim=1)
    assert isinstance(out, tg.return_types.max)
    values, indices = out
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert indices.dtype == tg.int64 and out.indices is indices
    assert x.min(0).indices.tolist() == [0, 1, 0]
    assert x.max(1, keepdim=True).values.shape == (2, 1)
    assert x.max(dim=-1)[0].tolist() == [5.0, 7.0]


def test_max_without_dim_and_with_a_tensor():
    x = tg.tensor([[1.0, 5.0], [7.0, 2.0]])
    assert isinstance(x.max(), tg.Tensor) and x.max().item() == 7.0
    assert tg.max(x, tg.tensor([3.0, 3.0])).tolist() == [[3.0, 5.0], [7.0, 3.0]]
    assert tg.min(x, tg.tensor([3.0, 3.0])).tolist() == [[1.0, 3.0], [3.0, 2.0]]
    with pytest.raises(tg.DTypeError, match="dim must be an int"):
        x.max(0.5)
    with pytest.raises(tg.ArgumentError, match="keepdim"):
        x.max(keepdim=True)


def test_max_dim_gives_the_gradient_to_the_returned_index_only():
    # amax splits ties; max(dim) sends everything to the first maximum, as PyTorch does.
    g = _grad(lambda x: x.max(1).values, [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    assert g.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    g = _grad(lambda x: x.amax(1), [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    assert g.tolist() == [[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]]
    g = _grad(lambda x: x.max(), [1.0, 3.0, 3.0])  # no dim: ties share, as PyTorch
    assert g.tolist() == [0.0, 0.5, 0.5]


def test_sort_is_stable_in_both_directions_and_nan_sorts_largest():
    x = tg.tensor([2.0, NAN, 1.0, 2.0, -0.0, 0.0, NAN])
    values, indices = x.sort()
    assert indices.tolist() == [4, 5, 2, 0, 3, 1, 6]
    assert np.isnan(values.numpy()[-2:]).all()
    assert x.sort(descending=True).indices.tolist() == [1, 6, 0, 3, 2, 4, 5]
    assert x.argsort(descending=True).tolist() == [1, 6, 0, 3, 2, 4, 5]
    assert tg.argsort(x, stable=True).tolist() == [4, 5, 2, 0, 3, 1, 6]


def test_sort_of_long_lanes_and_of_every_dtype():
    rng = np.random.default_rng(0)
    data = rng.integers(-50, 50, size=(3, 2000))
    for dtype in (tg.int64, tg.int32, tg.int16, tg.int8, tg.float32, tg.float64):
        x = tg.tensor(data, dtype=dtype)
        values, indices = x.sort(dim=1, descending=True)
        expected = np.argsort(-data, axis=1, kind="stable")
        np.testing.assert_array_equal(indices.numpy(), expected)
        assert values.dtype == dtype
    u = tg.tensor(rng.integers(0, 255, size=500), dtype=tg.uint8)
    np.testing.assert_array_equal(
        u.argsort().numpy(), np.argsort(u.numpy(), kind="stable")
    )
    b = tg.tensor([True, False, True, False])
    assert b.sort().indices.tolist() == [1, 3, 0, 2]


def test_gradients_flow_through_the_indices():
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.normal(size=(3, 5)), requires_grad=True)
    w = tg.tensor(rng.normal(size=(3, 5)))
    ops = [
        lambda t: t.sort(1, descending=True).values * w,
        lambda t: t.topk(2, 0).values,
        lambda t: t.kthvalue(3, 1).values,
        lambda t: t.median(0).values,
        lambda t: t.cummax(1).values * w,
        lambda t: t.cummin(0).values * w,
        lambda t: t.max(0).values * t.min(1, keepdim=True).values.sum(),
    ]
    for op in ops:
        assert gradcheck(op, [x])
    # gradients of gradients: the scatter's VJP is the gather
    assert gradcheck(
        lambda t: tg.autograd.grad(
            (t.sort(1).values ** 3).sum(), [t], create_graph=True
        )[0],
        [x],
    )


def test_selections_on_ties_and_nan():
    x = tg.tensor([3.0, 1.0, NAN, 1.0, 3.0, NAN, 0.0])
    assert np.isnan(x.median().item())
    values, indices = x.median(0)
    assert np.isnan(values.item()) and indices.item() == 2
    assert x.nanmedian().item() == 1.0
    assert x.nanmedian(0).values.item() == 1.0
    assert np.isnan(tg.tensor([NAN, NAN]).nanmedian(0).values.item())
    assert x.topk(2).indices.tolist() == [2, 5]
    y = tg.tensor([2.0, 1.0, 2.0, 1.0, 5.0])
    mode = y.mode(0)  # the smallest of the most frequent values, at its last index
    assert (mode.values.item(), mode.indices.item()) == (1.0, 3)
    z = tg.tensor([1.0, 3.0, 3.0, NAN, 2.0, NAN, 5.0])
    assert z.cummax(0).indices.tolist() == [0, 1, 2, 3, 3, 5, 5]
    assert tg.tensor([3.0, 1.0, 1.0, 2.0]).cummin(0).indices.tolist() == [0, 1, 2, 2]
    mn, mx = tg.tensor([[2, 1], [0, 5]]).aminmax(dim=0)
    assert mn.tolist() == [0, 1] and mx.tolist() == [2, 5]
    assert tg.aminmax(tg.tensor([4.0, -1.0])).max.item() == 4.0


def test_integer_selections_keep_their_dtype_and_record_nothing():
    x = tg.tensor([[4, 1, 3], [2, 2, 9]])
    values, indices = x.sort(1)
    assert values.dtype == tg.int64 and values.tolist() == [[1, 3, 4], [2, 2, 9]]
    assert indices.tolist() == [[1, 2, 0], [0, 1, 2]]
    assert values.grad_fn is None
    assert x.topk(1, 1).values.tolist() == [[4], [9]]
    assert x.median().item() == 2  # the lower median of 1, 2, 2, 3, 4, 9
    assert x.msort().tolist() == [[2, 1, 3], [4, 2, 9]]


def test_0d_and_empty_inputs():
    s = tg.tensor(3.0)
    assert s.sort().values.item() == 3.0 and s.sort().indices.item() == 0
    assert s.max(0).indices.shape == ()
    e = tg.zeros(0, 3)
    assert e.sort(0).values.shape == (0, 3) and e.topk(0, 1).values.shape == (0, 0)
    assert np.isnan(tg.zeros(0).median().item())
    with pytest.raises(tg.AxisError, match="non-zero size"):
        e.max(0)
    with pytest.raises(tg.AxisError, match="non-zero size"):
        e.mode(0)


def test_the_memory_bill_shows_the_indices_as_int64():
    x = tg.tensor(np.arange(8.0).reshape(2, 4), requires_grad=True)
    bill = tg.memory_bill(x.sort(1).values)
    (row,) = [r for r in bill.rows if r.op == "TakeAlongAxisBackward"]
    assert row.saved == (("indices", (2, 4), "int64", 64),)


# ---------------------------------------------------------------- parity with PyTorch


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def test_max_dim_ties_match_pytorch(torch):
    data = np.array(
        [[1.0, 5.0, 5.0, 2.0], [7.0, 7.0, 7.0, 0.0], [0.0, -1.0, 0.0, -1.0]]
    )
    for dim in (0, 1):
        for which in ("max", "min"):
            x = tg.tensor(data, requires_grad=True)
            t = torch.tensor(data, requires_grad=True)
            ours, theirs = getattr(x, which)(dim), getattr(t, which)(dim)
            assert ours.indices.tolist() == theirs.indices.tolist()
            np.testing.assert_array_equal(
                ours.values.detach().numpy(), theirs.values.detach().numpy()
            )
            (ours.values * 3).sum().backward()
            (theirs.values * 3).sum().backward()
            np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_sort_stability_matches_pytorch(torch):
    rng = np.random.default_rng(2)
    data = rng.integers(0, 4, size=(3, 600)).astype(np.float64)
    data[0, ::7] = np.nan
    for descending in (False, True):
        for dim in (0, 1):
            ours = tg.tensor(data).sort(dim, descending, stable=True)
            theirs = torch.tensor(data).sort(
                dim=dim, descending=descending, stable=True
            )
            np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
            np.testing.assert_array_equal(
                ours.values.detach().numpy(), theirs.values.detach().numpy()
            )


def test_topk_matches_pytorch(torch):
    rng = np.random.default_rng(3)
    data = rng.permutation(60).reshape(5, 12).astype(np.float64)  # distinct values
    for k, dim, largest in [(3, 1, True), (2, 0, False), (12, 1, False), (1, 0, True)]:
        x = tg.tensor(data, requires_grad=True)
        t = torch.tensor(data, requires_grad=True)
        ours, theirs = x.topk(k, dim, largest), t.topk(k, dim, largest)
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
        np.testing.assert_array_equal(
            ours.values.detach().numpy(), theirs.values.detach().numpy()
        )
        w = rng.normal(size=tuple(theirs.values.shape))
        (ours.values * tg.tensor(w)).sum().backward()
        (theirs.values * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


def test_scans_and_medians_match_pytorch(torch):
    data = np.array([[1.0, 3.0, 3.0, np.nan, 2.0, np.nan, 5.0], [3, 1, 1, 2, 0, 0, 4]])
    for name in ("cummax", "cummin"):
        ours, theirs = (
            getattr(tg.tensor(data), name)(1),
            getattr(torch.tensor(data), name)(1),
        )
        assert ours.indices.tolist() == theirs.indices.tolist()
        np.testing.assert_array_equal(
                ours.values.detach().numpy(), theirs.values.detach().numpy()
            )
    for name in ("median", "nanmedian"):
        ours, theirs = (
            getattr(tg.tensor(data), name)(1),
            getattr(torch.tensor(data), name)(1),
        )
        np.testing.assert_array_equal(
                ours.values.detach().numpy(), theirs.values.detach().numpy()
            )
        np.testing.assert_array_equal(
            getattr(tg.tensor(data), name)().numpy(),
            getattr(torch.tensor(data), name)().numpy(),
        )


def test_integer_extremes():
    x = tg.tensor([[4, -1, 3], [2, 2, 9]], dtype=tg.int32)
    assert x.max().item() == 9 and x.min().dtype == tg.int32
    mn, mx = x.aminmax()
    assert (mn.item(), mx.item()) == (-1, 9)
    mn, mx = x.aminmax(dim=1, keepdim=True)
    assert mn.tolist() == [[-1], [2]] and mx.tolist() == [[4], [9]]
    assert tg.tensor([True, False]).aminmax().max.item() is True


def test_argmax_on_every_layout_matches_numpy():
    rng = np.random.default_rng(4)
    data = rng.integers(0, 5, size=(6, 7, 5)).astype(np.float64)
    data[1, 2, 3] = np.nan
    x = tg.tensor(data)
    for view, ref in [
        (x, data),
        (x.transpose(0, 2), data.transpose(2, 1, 0)),
        (x[:, ::2], data[:, ::2]),
    ]:
        for dim in range(3):
            expected = np.argmax(np.nan_to_num(ref, nan=np.inf), axis=dim)
            np.testing.assert_array_equal(view.argmax(dim).numpy(), expected)
            keep = view.argmin(dim, keepdim=True).numpy()
            expected_min = np.argmin(np.nan_to_num(ref, nan=-np.inf), axis=dim)
            np.testing.assert_array_equal(keep, np.expand_dims(expected_min, dim))
