"""Ops on integer and bool tensors: bool comparisons, where, integer sums, logical
functions, argmax/argmin, and a training loop with int64 labels as in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64"]


def test_comparisons_return_bool_tensors_for_every_dtype():
    for name in NAMES:
        x = tg.tensor([0, 1, 1], dtype=getattr(tg, name))
        for result in (x < 1, x <= 0, x > 0, x >= 1, x == 1, x != 1, x.eq(x)):
            assert result.dtype == tg.bool and result.grad_fn is None
        assert (x == 1).tolist() == [False, True, True]
    a = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = a > 1.5
    assert mask.dtype == tg.bool and not mask.requires_grad
    assert (a > tg.tensor([2])).tolist() == [False, False, True]  # int64 promotes


def test_masks_multiply_into_float_ops_and_gradients_still_flow():
    x = tg.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    (x * (x > 0)).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0]
    y = tg.tensor([1.0, 3.0, 3.0], requires_grad=True)
    y.max().backward()  # ties share the gradient: masks are cast inside the rule
    assert y.grad.tolist() == [0.0, 0.5, 0.5]
    z = tg.tensor([2.0, 2.0], requires_grad=True)
    tg.maximum(z, tg.tensor([2.0, 1.0])).sum().backward()
    assert z.grad.tolist() == [0.5, 1.0]


def test_where_keeps_a_bool_condition_and_takes_any_dtype():
    cond = tg.tensor([True, False, True])
    assert tg.where(cond, tg.tensor([1, 2, 3]), tg.tensor([7, 8, 9])).tolist() == [
        1,
        8,
        3,
    ]
    assert tg.where(cond, 1, 0).dtype == tg.int64
    x = tg.ones(1000, requires_grad=True)
    y = tg.where(x > 0, x, 0.0)
    row = next(r for r in tg.memory_bill(y).rows if r.op == "WhereBackward")
    assert [(why, dtype, size) for why, _, dtype, size in row.saved] == [
        ("condition", "bool", 1000)
    ]


def test_integer_and_bool_sums_give_int64():
    assert tg.tensor([True, True, False]).sum().item() == 2
    assert tg.tensor([True, True, False]).sum().dtype == tg.int64
    big = tg.tensor([2**62, 2**62], dtype=tg.int64)
    assert big.sum().item() == -(2**63)  # wraps, as PyTorch
    m = tg.tensor([[1, 2], [3, 4]], dtype=tg.int8)
    assert m.sum(0).tolist() == [4, 6] and m.sum(1, keepdim=True).tolist() == [[3], [7]]
    with pytest.raises(tg.DTypeError, match="mean.*int64"):
        tg.tensor([1, 2]).mean()


def test_logical_functions_and_predicates():
    a, b = tg.tensor([0, 1, 2, 0]), tg.tensor([True, True, False, False])
    assert tg.logical_and(a, b).tolist() == [False, True, False, False]
    assert tg.logical_or(a, b).tolist() == [True, True, True, False]
    assert tg.logical_xor(a, b).tolist() == [True, False, True, False]
    assert tg.logical_not(a).tolist() == [True, False, False, True]
    x = tg.tensor([1.0, float("nan"), float("inf"), -float("inf")])
    assert tg.isnan(x).tolist() == [False, True, False, False]
    assert tg.isinf(x).tolist() == [False, False, True, True]
    assert tg.isfinite(x).tolist() == [True, False, False, False]
    assert tg.isfinite(tg.tensor([1, 2])).tolist() == [True, True]
    assert tg.any(b).item() is True and tg.all(b).item() is False
    assert tg.any(tg.tensor([[0, 1], [0, 0]]), dim=1).tolist() == [True, False]
    assert tg.count_nonzero(a).item() == 2 and tg.count_nonzero(a).dtype == tg.int64
    assert tg.equal(a, tg.tensor([0, 1, 2, 0])) and not tg.equal(a, a[:2])
    assert tg.isclose(x, x).tolist() == [True, False, True, True]
    assert tg.isclose(x, x, equal_nan=True).tolist() == [True] * 4
    assert tg.allclose(tg.tensor([1.0]), tg.tensor([1.0 + 1e-7]))


def test_logical_functions_match_torch():
    torch = pytest.importorskip("torch")
    a = np.array([0, 1, 2, 0, -3])
    b = np.array([1.5, 0.0, float("nan"), 2.0, float("inf")])
    for name in ("logical_and", "logical_or", "logical_xor"):
        ours = getattr(tg, name)(tg.tensor(a), tg.tensor(b)).tolist()
        assert ours == getattr(torch, name)(torch.tensor(a), torch.tensor(b)).tolist()
    for name in ("isnan", "isinf", "isfinite"):
        ours = getattr(tg, name)(tg.tensor(b)).tolist()
        assert ours == getattr(torch, name)(torch.tensor(b)).tolist()


def test_argmax_and_argmin():
    x = tg.tensor([[1.0, 5.0, 5.0], [7.0, 0.0, -1.0]])
    assert x.argmax().item() == 3 and x.argmax().dtype == tg.int64
    assert x.argmax(1).tolist() == [1, 0]  # first index on ties
    assert x.argmin(dim=1, keepdim=True).tolist() == [[0], [2]]
    assert x.argmax(0).tolist() == [1, 0, 0]
    assert tg.tensor([1.0, float("nan"), 3.0]).argmax().item() == 1
    assert tg.tensor([3, 9, 2], dtype=tg.int16).argmin().item() == 2
    with pytest.raises(tg.ShapeError, match="argmax.*size 0"):
        tg.zeros(2, 0).argmax(1)
    with pytest.raises(tg.AxisError):
        x.argmax(2)


def test_argmax_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    data = rng.integers(0, 4, size=(5, 6)).astype(np.float32)  # many ties
    for dim in (None, 0, 1, -1):
        # keepdim with dim=None keeps a 1 per dimension in torch: not supported yet
        for keepdim in (False,) if dim is None else (False, True):
            for op in ("argmax", "argmin"):
                ours = getattr(tg.tensor(data), op)(dim, keepdim)
                theirs = getattr(torch.tensor(data), op)(dim, keepdim)
                assert ours.tolist() == theirs.tolist() and ours.shape == theirs.shape


def test_training_loop_with_int64_labels_runs_as_in_pytorch():
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    features = rng.normal(size=(128, 4)).astype(np.float32)
    x = tg.tensor(features)
    y = tg.tensor((features[:, 0] + features[:, 1] > 0).astype(np.int64))
    assert y.dtype == tg.int64
    model = tg.nn.Sequential(tg.nn.Linear(4, 16), tg.nn.ReLU(), tg.nn.Linear(16, 2))
    optimizer = tg.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(60):
        logits = model(x)
        loss = tg.nn.functional.cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    accuracy = (logits.argmax(1) == y).float().mean()
    assert accuracy.dtype == tg.float32 and accuracy.item() > 0.9
