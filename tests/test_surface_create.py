"""Creation, shape and misc PyTorch names of tapegrad/_surface.py and _printing.py: values
against NumPy and hand values, views, dtypes, errors, and parity with PyTorch when it is
installed. Gradients and error messages of the differentiable ones run through their
OpSpec entries in tests/op_specs.py."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tapegrad as tg
from tapegrad.testing import gradcheck


def _np(t):
    return t.detach().numpy()


# ---- creation ------------------------------------------------------------------------


def test_linspace_and_logspace_values_and_dtypes():
    np.testing.assert_allclose(_np(tg.linspace(0, 1, 5)), np.linspace(0, 1, 5))
    assert tg.linspace(0, 10, 4).dtype == tg.float32  # ints still give the default
    assert _np(tg.linspace(0, 10, 4, dtype=tg.int64)).tolist() == [0, 3, 6, 10]
    assert _np(tg.linspace(3, 7, 1)).tolist() == [3.0]
    assert tg.linspace(0, 1, 0).shape == (0,)
    x = tg.linspace(tg.tensor(0.0), tg.tensor(2.0), 3, requires_grad=True)
    assert x.is_leaf and x.requires_grad and _np(x).tolist() == [0.0, 1.0, 2.0]
    assert _np(tg.logspace(0, 3, 4, dtype=tg.int64)).tolist() == [1, 10, 100, 1000]
    np.testing.assert_allclose(_np(tg.logspace(0, 3, 4, base=2)), [1, 2, 4, 8])
    assert tg.linspace(0, 1, 3, dtype=tg.float64, device="cpu").dtype == tg.float64


def test_linspace_errors():
    with pytest.raises(tg.ArgumentError, match="number of steps must be non-negative"):
        tg.linspace(0, 1, -1)
    with pytest.raises(tg.ShapeError, match="0-dimensional start and end tensors"):
        tg.linspace(tg.ones(2), 1, 3)


def test_as_tensor_shares_a_tensor_of_the_same_dtype():
    x = tg.ones(3, requires_grad=True)
    assert tg.as_tensor(x) is x
    assert tg.as_tensor(x, dtype=tg.float32) is x
    y = tg.as_tensor(x, dtype=tg.float64)
    assert y.dtype == tg.float64 and y.grad_fn is not None  # `to` keeps the graph
    assert tg.as_tensor([1, 2]).dtype == tg.int64
    assert tg.as_tensor(np.ones(2, np.float64)).dtype == tg.float64


def test_legacy_tensor_constructor():
    a = tg.Tensor([1, 2])
    assert a.dtype == tg.float32 and _np(a).tolist() == [1.0, 2.0]
    b = tg.Tensor(2, 3)
    assert b.shape == (2, 3) and b.dtype == tg.float32
    assert tg.Tensor().shape == (0,)
    assert tg.Tensor((2, 3)).shape == (2,)  # a tuple is data, as in PyTorch
    source = tg.ones(2)
    alias = tg.Tensor(source)
    alias.add_(1.0)
    assert _np(source).tolist() == [2.0, 2.0]  # shares storage, as PyTorch
    assert isinstance(b, tg.Tensor) and type(b) is tg.Tensor
    with pytest.raises(tg.DTypeError, match="expected a float32 tensor"):
        tg.Tensor(tg.arange(3))
    with pytest.raises(tg.DTypeError, match="sizes"):
        tg.Tensor(2.5)


def test_parameter_still_constructs():
    p = tg.nn.Parameter(tg.ones(2))
    assert type(p) is tg.nn.Parameter and p.requires_grad


@pytest.mark.parametrize("offset", [-2, -1, 0, 1, 3])
@pytest.mark.parametrize(("row", "col"), [(3, 4), (4, 3), (0, 2), (3, 3)])
def test_triangle_indices_match_numpy(row, col, offset):
    lower = tg.tril_indices(row, col, offset)
    upper = tg.triu_indices(row, col, offset)
    assert lower.dtype == tg.int64 and lower.shape[0] == 2
    np.testing.assert_array_equal(_np(lower), np.array(np.tril_indices(row, offset, col)))
    np.testing.assert_array_equal(_np(upper), np.array(np.triu_indices(row, offset, col)))
    assert tg.tril_indices(row, col, offset, dtype=tg.int32).dtype == tg.int32


def test_triangle_indices_errors():
    with pytest.raises(tg.ArgumentError, match="row must be non-negative"):
        tg.tril_indices(-1, 3)
    with pytest.raises(tg.DTypeError, match="not implemented"):
        tg.triu_indices(3, 3, dtype=tg.float32)


def test_vander_values_dtype_and_gradient():
    x = tg.tensor([1, 2, 3])
    np.testing.assert_array_equal(_np(tg.vander(x)), np.vander([1, 2, 3]))
    assert tg.vander(x).dtype == tg.int64
    assert tg.vander(tg.tensor([1, 2], dtype=tg.int32)).dtype == tg.int64
    assert tg.vander(tg.ones(2), N=0).shape == (2, 0)
    xf = tg.tensor([0.0, 0.5, -1.5], dtype=tg.float64, requires_grad=True)
    assert gradcheck(lambda v: tg.vander(v, N=4), (xf,))  # finite at x = 0


# ---- grids and products ----------------------------------------------------------------


def test_meshgrid_warns_without_indexing_and_matches_numpy():
    a, b = tg.arange(2.0), tg.arange(3.0)
    with pytest.warns(UserWarning, match="indexing argument"):
        ij = tg.meshgrid(a, b)
    for got, want in zip(ij, np.meshgrid(_np(a), _np(b), indexing="ij")):
        np.testing.assert_array_equal(_np(got), want)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        xy = tg.meshgrid([a, b], indexing="xy")
    for got, want in zip(xy, np.meshgrid(_np(a), _np(b))):
        np.testing.assert_array_equal(_np(got), want)
    c = tg.arange(4.0)
    for got, want in zip(
        tg.meshgrid(a, b, c, indexing="xy"), np.meshgrid(_np(a), _np(b), _np(c))
    ):
        np.testing.assert_array_equal(_np(got), want)
    with pytest.raises(tg.DTypeError, match="same dtype"):
        tg.meshgrid(a, tg.arange(3), indexing="ij")
    with pytest.raises(tg.ShapeError, match="0D or 1D"):
        tg.meshgrid(tg.ones(2, 2), indexing="ij")
    with pytest.raises(tg.ArgumentError, match="non-empty"):
        tg.meshgrid(indexing="ij")


def test_cartesian_prod_and_combinations():
    a, b = tg.tensor([1, 2]), tg.tensor([3, 4, 5])
    assert _np(tg.cartesian_prod(a, b)).tolist() == [
        [1, 3], [1, 4], [1, 5], [2, 3], [2, 4], [2, 5]
    ]
    assert tg.cartesian_prod(a) is a
    x = tg.tensor([1, 2, 3])
    assert _np(tg.combinations(x)).tolist() == [[1, 2], [1, 3], [2, 3]]
    assert _np(tg.combinations(x, 2, with_replacement=True)).tolist() == [
        [1, 1], [1, 2], [1, 3], [2, 2], [2, 3], [3, 3]
    ]
    assert tg.combinations(x, r=0).shape == (0,)
    assert tg.combinations(tg.tensor([1, 2]), r=3).shape == (0, 3)


def test_block_diag_promotes_and_places():
    out = tg.block_diag(tg.tensor(1), tg.tensor([2.0, 3.0]), tg.ones(2, 1, dtype=tg.int64))
    assert out.dtype == tg.float32
    np.testing.assert_array_equal(
        _np(out), [[1, 0, 0, 0], [0, 2, 3, 0], [0, 0, 0, 1], [0, 0, 0, 1]]
    )
    assert tg.block_diag().shape == (1, 0)


def test_broadcast_shapes_and_tensors():
    assert tg.broadcast_shapes((2, 1), (3,)) == (2, 3)
    assert tg.broadcast_shapes(2, (1,)) == (2,)
    assert tg.broadcast_shapes() == ()
    with pytest.raises(tg.ShapeError, match="Mismatching argument at index 1"):
        tg.broadcast_shapes((2,), (3,))
    x = tg.ones(2, 1)
    a, b = tg.broadcast_tensors(x, tg.ones(3))
    assert a.shape == b.shape == (2, 3) and a._base is not None  # an expand: a view


# ---- shapes ----------------------------------------------------------------------------


def test_select_and_unfold_are_views():
    base = tg.zeros(2, 3)
    base.select(1, 1).fill_(3.0)
    assert _np(base)[:, 1].tolist() == [3.0, 3.0]
    seq = tg.zeros(5)
    windows = seq.unfold(0, 2, 1)
    with tg.no_grad():
        seq[1] = 7.0
    assert _np(windows).tolist() == [[0, 7], [7, 0], [0, 0], [0, 0]]
    assert windows._base is not None
    sub = tg.zeros(4, 4)[:, 1:]
    assert sub.unfold(0, 2, 2).stride() == (8, 1, 4)  # PyTorch's strides
    assert _np(tg.tensor(5.0).unfold(0, 1, 1)).tolist() == [5.0]


def test_unfold_overlapping_windows_add_their_gradients():
    x = tg.arange(6.0, dtype=tg.float64).requires_grad_()
    x.unfold(0, 3, 1).sum().backward()
    assert _np(x.grad).tolist() == [1, 2, 3, 3, 2, 1]
    y = tg.tensor(np.random.default_rng(0).normal(size=(3, 7)), requires_grad=True)
    assert gradcheck(lambda v: v.unfold(1, 3, 2) * 1.5, (y,))


def test_ravel_moveaxis_t_and_aliases():
    x = tg.arange(6.0).reshape(2, 3)
    assert x.ravel()._base is not None  # contiguous: a view
    assert _np(x.t().ravel()).tolist() == [0, 3, 1, 4, 2, 5]
    assert tg.moveaxis(tg.ones(2, 3, 4), 0, -1).shape == (3, 4, 2)
    assert tg.ones(2, 3, 4).moveaxis([0, 1], [2, 0]).shape == (3, 4, 2)
    assert tg.t(x).shape == (3, 2)
    assert tg.concat([x, x], dim=1).shape == (2, 6)
    assert tg.concatenate([x, x], axis=0).shape == (4, 3)
    assert tg.row_stack([tg.ones(3), tg.ones(3)]).shape == (2, 3)
    assert x.ndimension() == 2 and tg.tensor(1.0).ndimension() == 0


def test_sum_to_size_inverts_expand():
    x = tg.ones(4, 2, 3)
    assert _np(x.sum_to_size(2, 1)).tolist() == [[12.0], [12.0]]
    assert x.sum_to_size((1, 1, 1)).shape == (1, 1, 1)
    with pytest.raises(tg.ShapeError, match=r"size \{\[2, 1, 3, 3\]\} is not expandable"):
        x.sum_to_size(2, 1, 3, 3)


# ---- misc --------------------------------------------------------------------------------


def test_is_nonzero():
    assert tg.is_nonzero(tg.tensor([2.0])) and not tg.tensor(0).is_nonzero()
    with pytest.raises(tg.GraphError, match="more than one value is ambiguous"):
        tg.is_nonzero(tg.ones(2))
    with pytest.raises(tg.GraphError, match="no values is ambiguous"):
        tg.is_nonzero(tg.ones(0))


def test_real_tensor_predicates_and_no_ops():
    x = tg.arange(6.0).reshape(2, 3)
    assert not x.is_complex() and not x.is_shared() and not x.is_pinned()
    assert x.share_memory_() is x and x.pin_memory() is x
    assert x.conj() is x and x.resolve_conj() is x and x.real is x
    assert x.resolve_neg() is x and not x.is_conj() and not x.is_neg()
    assert x.H.shape == (3, 2) and x.H._base is not None
    assert x.reshape(1, 2, 3).mH.shape == (1, 3, 2)
    with pytest.raises(tg.DTypeError, match="imag is not implemented"):
        _ = x.imag
    with pytest.raises(tg.ShapeError, match="only supported on matrices"):
        _ = tg.ones(2, 2, 2).H


def test_set_printoptions_changes_repr():
    x = tg.tensor([1.23456789, 2.0])
    before = repr(x)
    try:
        tg.set_printoptions(precision=2)
        assert repr(x) == "tensor([1.23, 2.00])"  # PyTorch's layout
        tg.set_printoptions(threshold=5, edgeitems=1)
        assert repr(tg.arange(10.0)) == "tensor([0.,  ..., 9.])"
        tg.set_printoptions(sci_mode=True)
        assert "e+00" in repr(x)
        tg.set_printoptions(profile="full")
        assert "..." not in repr(tg.arange(2000.0))
        with pytest.raises(tg.ArgumentError, match="profile"):
            tg.set_printoptions(profile="long")
    finally:
        tg.set_printoptions(profile="default")
    assert repr(x) == before
    assert "..." in repr(tg.arange(2000.0))


def test_deterministic_flag_is_recorded():
    assert not tg.are_deterministic_algorithms_enabled()
    try:
        tg.use_deterministic_algorithms(True, warn_only=True)
        assert tg.are_deterministic_algorithms_enabled()
        assert tg.is_deterministic_algorithms_warn_only_enabled()
    finally:
        tg.use_deterministic_algorithms(False)
    assert not tg.are_deterministic_algorithms_enabled()
    with pytest.raises(tg.DTypeError, match="bool"):
        tg.use_deterministic_algorithms("yes")


def test_compile_returns_the_model():
    model = tg.nn.Linear(2, 2)
    assert tg.compile(model) is model
    assert tg.compile(model, mode="max-autotune", fullgraph=True) is model

    @tg.compile
    def f(x):
        return x * 2

    @tg.compile(dynamic=True)
    def g(x):
        return x + 1

    assert _np(f(tg.ones(1))).tolist() == [2.0] and _np(g(tg.ones(1))).tolist() == [2.0]
    with pytest.raises(tg.DTypeError, match="callable"):
        tg.compile(3)


# ---- parity with PyTorch ----------------------------------------------------------------


def test_matches_pytorch():
    torch = pytest.importorskip("torch")

    def same(ours, theirs):
        np.testing.assert_allclose(_np(ours), theirs.numpy(), rtol=1e-6, atol=1e-6)
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]

    for args in [(0, 1, 7), (-3.5, 2.25, 11), (5, -5, 4), (0, 1, 2)]:
        same(tg.linspace(*args), torch.linspace(*args))
        same(tg.logspace(*args, base=3), torch.logspace(*args, base=3))
        same(
            tg.linspace(*args, dtype=tg.int64), torch.linspace(*args, dtype=torch.int64)
        )
    for row, col, off in [(3, 4, 1), (5, 2, -1), (4, 4, 0)]:
        same(tg.tril_indices(row, col, off), torch.tril_indices(row, col, off))
        same(tg.triu_indices(row, col, off), torch.triu_indices(row, col, off))
    v = np.array([1.5, -2.0, 0.5])
    same(tg.vander(tg.tensor(v), 4, True), torch.vander(torch.tensor(v), 4, True))
    same(tg.vander(tg.tensor([1, 2])), torch.vander(torch.tensor([1, 2])))
    x = np.arange(12.0).reshape(3, 4)
    same(tg.tensor(x).unfold(1, 2, 1), torch.tensor(x).unfold(1, 2, 1))
    same(tg.tensor(x).unfold(0, 2, 2), torch.tensor(x).unfold(0, 2, 2))
    assert tg.tensor(x).T.unfold(0, 3, 1).stride() == torch.tensor(x).T.unfold(
        0, 3, 1
    ).stride()
    same(tg.tensor(x).sum_to_size(1, 4), torch.tensor(x).sum_to_size(1, 4))
    ours = tg.block_diag(tg.tensor(x), tg.tensor([1, 2]))
    same(ours, torch.block_diag(torch.tensor(x), torch.tensor([1, 2])))
    a = np.array([1, 2, 3])
    same(
        tg.combinations(tg.tensor(a), 2, True),
        torch.combinations(torch.tensor(a), 2, True),
    )
    same(tg.Tensor([[1, 2], [3, 4]]), torch.Tensor([[1, 2], [3, 4]]))
    assert tg.broadcast_shapes((5, 1, 3), (4, 1)) == tuple(
        torch.broadcast_shapes((5, 1, 3), (4, 1))
    )
    for ours, theirs in zip(
        tg.hsplit(tg.tensor(x), [1, 3]), torch.hsplit(torch.tensor(x), [1, 3])
    ):
        same(ours, theirs)
