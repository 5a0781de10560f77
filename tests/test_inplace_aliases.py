"""The in-place forms PyTorch has of ops tapegrad has (found by comparing
``dir(torch.Tensor)`` with ``dir(tapegrad.Tensor)``): each is its op written back through
the one in-place mechanism, checked against torch for values, dtype, identity and version,
and for gradients through a non-leaf."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)
UNIT = rng.uniform(-0.9, 0.9, size=(3, 4))  # inside every domain below
ABOVE_ONE = rng.uniform(1.1, 3.0, size=(3, 4))
POSITIVE = rng.uniform(0.5, 2.0, size=(3, 4))
INTS = rng.integers(1, 20, size=(3, 4))
SQUARE = rng.normal(size=(3, 3))
BATCH = rng.normal(size=(2, 3, 3))


def _t(value):
    """A (tapegrad, torch) pair of a NumPy value, or the value itself."""
    if isinstance(value, np.ndarray):
        return tg.tensor(value), torch.tensor(value)
    return value, value


# name -> (self, arguments, keywords, differentiable)
CASES = {
    "absolute_": (UNIT, (), {}, True),
    "negative_": (UNIT, (), {}, True),
    "fix_": (UNIT * 5, (), {}, False),
    "arcsin_": (UNIT, (), {}, True),
    "arccos_": (UNIT, (), {}, True),
    "arctan_": (UNIT, (), {}, True),
    "arcsinh_": (UNIT, (), {}, True),
    "arccosh_": (ABOVE_ONE, (), {}, True),
    "arctanh_": (UNIT, (), {}, True),
    "arctan2_": (UNIT, (POSITIVE,), {}, True),
    "multiply_": (UNIT, (POSITIVE,), {}, True),
    "divide_": (UNIT, (POSITIVE,), {}, True),
    "true_divide_": (UNIT, (POSITIVE,), {}, True),
    "subtract_": (UNIT, (POSITIVE,), {"alpha": 2}, True),
    "eq_": (INTS, (INTS[::-1].copy(),), {}, False),
    "ne_": (UNIT, (0.1,), {}, False),
    "lt_": (UNIT, (POSITIVE - 1,), {}, False),
    "le_": (UNIT, (0.0,), {}, False),
    "gt_": (UNIT, (POSITIVE - 1,), {}, False),
    "ge_": (UNIT, (0.0,), {}, False),
    "greater_": (UNIT, (0.0,), {}, False),
    "greater_equal_": (UNIT, (0.0,), {}, False),
    "less_": (UNIT, (0.0,), {}, False),
    "less_equal_": (UNIT, (0.0,), {}, False),
    "not_equal_": (INTS, (3,), {}, False),
    "gcd_": (INTS, (INTS[::-1].copy(),), {}, False),
    "lcm_": (INTS, (INTS[::-1].copy(),), {}, False),
    "heaviside_": (UNIT, (POSITIVE,), {}, False),
    "i0_": (UNIT, (), {}, True),
    "ldexp_": (UNIT, (INTS % 4,), {}, True),
    "nextafter_": (UNIT, (POSITIVE,), {}, False),
    "mvlgamma_": (ABOVE_ONE, (), {"p": 2}, True),
    "polygamma_": (POSITIVE, (1,), {}, True),
    "cumsum_": (UNIT, (1,), {}, True),
    "cumprod_": (UNIT, (1,), {}, True),
    "tril_": (UNIT, (), {"diagonal": 1}, True),
    "triu_": (UNIT, (), {"diagonal": -1}, True),
    "renorm_": (UNIT, (2, 0, 1.0), {}, True),
    "addmm_": (SQUARE, (SQUARE, SQUARE.T.copy()), {"beta": 0.5, "alpha": 2}, True),
    "addmv_": (SQUARE[0].copy(), (SQUARE, SQUARE[1].copy()), {}, True),
    "addbmm_": (SQUARE, (BATCH, BATCH), {}, True),
    "baddbmm_": (BATCH, (BATCH, BATCH), {"alpha": 0.5}, True),
    "addr_": (SQUARE, (SQUARE[0].copy(), SQUARE[1].copy()), {}, True),
}


def _numpy(t):
    return t.detach().numpy()


def test_every_in_place_form_of_an_op_tapegrad_has_exists():
    missing = [
        n
        for n in dir(torch.Tensor)
        if n.endswith("_")
        and not n.startswith("_")
        and hasattr(tg.Tensor, n[:-1])
        and not hasattr(tg.Tensor, n)
    ]
    # detach_ changes a tensor's autograd identity, not its values: not an op written back
    assert missing in ([], ["detach_"]), missing


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    value, args, kwargs, _ = CASES[name]
    a, b = _t(value.copy())
    pairs = [_t(v) for v in args]
    version = a._version
    assert getattr(a, name)(*[p[0] for p in pairs], **kwargs) is a
    getattr(b, name)(*[p[1] for p in pairs], **kwargs)
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    # (polygamma agrees with torch's to 1e-9)
    np.testing.assert_allclose(_numpy(a), _numpy(b), rtol=1e-8, atol=1e-12)
    assert a._version == version + 1


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c[3]))
def test_gradient_through_a_non_leaf_matches_torch(name):
    """The in-place op's gradient is the out-of-place op's (torch's reference is the
    out-of-place op: it lacks some in-place derivatives, such as ``arccosh_``'s)."""
    value, args, kwargs, _ = CASES[name]
    grads = []
    for side, lib in ((0, tg), (1, torch)):
        x = lib.tensor(value, requires_grad=True)
        y = x * 1.0
        arguments = [_t(v)[side] for v in args]
        if side == 0:
            getattr(y, name)(*arguments, **kwargs)
        else:
            y = getattr(y, name[:-1])(*arguments, **kwargs)
        assert not y.is_leaf
        weights = lib.tensor(np.linspace(0.5, 1.5, y.numel()).reshape(tuple(y.shape)))
        (y * weights).sum().backward()
        grads.append(_numpy(x.grad))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-9, atol=1e-12)


def test_leaf_that_requires_grad_refuses():
    x = tg.tensor(UNIT, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        x.arcsin_()
    assert x._version == 0


def test_comparison_into_an_integer_tensor_keeps_its_dtype():
    a = tg.tensor(INTS)
    a.gt_(10)
    assert a.dtype == tg.int64
    np.testing.assert_array_equal(a.numpy(), (INTS > 10).astype(np.int64))
