"""PyTorch's other maths names (aliases, torch.<linalg> forms, integer and bit functions,
quantiles, histograms, integrals, scattered writes, random fills): values and result
dtypes against PyTorch when it is installed and against NumPy or hand values otherwise,
gradients against finite differences, errors by type and message."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tapegrad as tg
from helpers import assert_close, raises, values
from tapegrad.testing import gradcheck

RNG = np.random.default_rng(11)


def _t(array, requires_grad=False, dtype=None):
    return tg.tensor(np.asarray(array), dtype=dtype, requires_grad=requires_grad)


def _dtype_name(dtype) -> str:
    return str(dtype).rsplit(".", 1)[-1]


# ---- values and dtypes against PyTorch ---------------------------------------------------

F = RNG.normal(size=(3, 4))
I = np.array([[12, -18, 0, 7], [8, 12, 0, -21]])
SPD = (lambda m: m @ m.T + 3 * np.eye(3))(RNG.normal(size=(3, 3)))

# name, call (m is tapegrad or torch), inputs; each result is compared with PyTorch's.
TORCH_CASES = [
    ("clamp_min", lambda m, x: m.clamp_min(x, 0.2), (F,)),
    ("clamp_min-int", lambda m, x: m.clamp_min(x, 2.5), (I,)),
    ("clamp_max-int", lambda m, x: m.clamp_max(x, 3), (I,)),
    ("clamp_min-tensor", lambda m, x, lo: m.clamp_min(x, lo), (F, F[0])),
    ("clamp-tensors", lambda m, x, lo, hi: m.clamp(x, lo, hi), (F, F[0] - 1, F[1] + 1)),
    ("clamp-tensor-number", lambda m, x, lo: m.clamp(x, min=lo, max=m.tensor(0.5)), (F, F[0])),
    ("clip-tensor-max", lambda m, x, hi: x.clip(max=hi), (F, F[:, :1])),
    ("clamp-int-float-tensor", lambda m, x, lo: m.clamp(x, lo), (I, F[:2])),
    ("clamp-int-int-tensor", lambda m, x, lo: m.clamp(x, lo), (I, I[::-1])),
    ("absolute", lambda m, x: m.absolute(x), (I,)),
    ("multiply", lambda m, x, y: m.multiply(x, y), (I, F[:2])),
    ("subtract", lambda m, x, y: m.subtract(x, y, alpha=3), (I, I[::-1])),
    ("negative", lambda m, x: x.negative(), (F,)),
    ("positive", lambda m, x: m.positive(x), (I,)),
    ("greater", lambda m, x: m.greater(x, 0), (F,)),
    ("less", lambda m, x, y: x.less(y), (F, F[0])),
    ("greater_equal", lambda m, x: m.greater_equal(x, 0), (I,)),
    ("less_equal", lambda m, x: x.less_equal(0), (I,)),
    ("not_equal", lambda m, x, y: m.not_equal(x, y), (I, I[::-1])),
    ("fix", lambda m, x: m.fix(x * 3), (F,)),
    ("fix-int", lambda m, x: x.fix(), (I,)),
    ("arctan2", lambda m, x, y: m.arctan2(x, y), (F, F[::-1])),
    ("arcsin", lambda m, x: m.arcsin(x / 4), (F,)),
    ("arccos", lambda m, x: x.arccos(), (F / 4,)),
    ("arctan", lambda m, x: m.arctan(x), (F,)),
    ("arcsinh", lambda m, x: x.arcsinh(), (F,)),
    ("arccosh", lambda m, x: m.arccosh(x.abs() + 1), (F,)),
    ("arctanh", lambda m, x: x.arctanh(), (F / 4,)),
    ("arcsin-int", lambda m, x: m.arcsin(x), (np.array([0, 1, -1]),)),
    ("mvlgamma", lambda m, x: m.mvlgamma(x.abs() + 2, 3), (F,)),
    ("mvlgamma-int", lambda m, x: x.mvlgamma(2), (np.array([3, 4, 7]),)),
    ("det", lambda m, a: m.det(a), (SPD,)),
    ("logdet", lambda m, a: a.logdet(), (SPD,)),
    ("logdet-negative", lambda m, a: m.logdet(a), (-SPD,)),
    ("slogdet", lambda m, a: tuple(m.slogdet(a)), (-SPD,)),
    ("inverse", lambda m, a: a.inverse(), (SPD,)),
    # PyTorch 2 removed torch.cholesky and torch.qr (kept here): compared with torch.linalg.
    ("cholesky", lambda m, a: m.cholesky(a) if m is tg else m.linalg.cholesky(a), (SPD,)),
    ("cholesky-upper", lambda m, a: a.cholesky(True) if m is tg else m.linalg.cholesky(a).mT,
     (SPD,)),
    ("pinverse", lambda m, a: m.pinverse(a), (F,)),
    ("matrix_power", lambda m, a: a.matrix_power(3), (SPD,)),
    ("matrix_power-negative", lambda m, a: m.matrix_power(a, -2), (SPD,)),
    ("matrix_exp", lambda m, a: a.matrix_exp(), (SPD / 10,)),
    ("svd-S", lambda m, a: m.svd(a).S, (F,)),
    ("svd-reconstruct", lambda m, a: (lambda r: (r.U * r.S) @ r.V.mT)(a.svd()), (F,)),
    ("svd-no-uv", lambda m, a: tuple(m.svd(a, compute_uv=False)), (F,)),
    ("qr-reconstruct", lambda m, a: (lambda r: r[0] @ r[1])(m.qr(a) if m is tg else m.linalg.qr(a)),
     (F.T,)),
    ("qr-R-abs", lambda m, a: (a.qr() if m is tg else m.linalg.qr(a)).R.abs(), (F.T,)),
    ("signbit", lambda m, x: m.signbit(x), (np.array([-0.0, 0.0, -2.0, 3.0, -np.inf, np.nan]),)),
    ("signbit-int", lambda m, x: x.signbit(), (I,)),
    ("frexp", lambda m, x: tuple(m.frexp(x)), (np.array([8.0, 0.3, 0.0, -5.0, np.inf, 1e-310]),)),
    ("frexp-float32", lambda m, x: tuple(x.float().frexp()), (F * 100,)),
    ("ldexp", lambda m, x, e: m.ldexp(x, e), (F, np.array([1, -2, 3, 0]))),
    ("ldexp-int", lambda m, x, e: x.ldexp(e), (I, I[::-1] % 5)),
    ("gcd", lambda m, a, b: m.gcd(a, b), (I, I[::-1])),
    ("gcd-broadcast", lambda m, a, b: a.gcd(b), (I, np.array([6]))),
    ("lcm", lambda m, a, b: m.lcm(a, b), (I, I[::-1])),
    ("lcm-int32", lambda m, a, b: m.lcm(a.int(), b.int()), (I, I[::-1])),
    ("nextafter", lambda m, a, b: m.nextafter(a, b), (F, F[::-1])),
    ("nextafter-float32", lambda m, a, b: a.float().nextafter(b.float()), (F, F[::-1])),
    ("i0", lambda m, x: m.i0(x * 10), (F,)),
    ("i0-float32", lambda m, x: (x * 20).float().i0(), (F,)),
    ("i0-int", lambda m, x: x.i0(), (np.array([0, 1, -3, 9]),)),
    ("inner", lambda m, a, b: m.inner(a, b), (F, F[:2])),
    ("inner-int", lambda m, a, b: a.inner(b), (I, I)),
    ("ger", lambda m, a, b: m.ger(a, b), (F[0], F[1])),
    ("addr", lambda m, c, a, b: c.addr(a, b, beta=0.5, alpha=2), (F, F[:, 0], F[0])),
    ("addbmm", lambda m, c, a, b: m.addbmm(c, a, b, alpha=-1),
     (F[:2, :2], RNG.normal(size=(3, 2, 4)), RNG.normal(size=(3, 4, 2)))),
    ("renorm", lambda m, x: m.renorm(x, 2, 1, 1.0), (F,)),
    ("renorm-p1", lambda m, x: x.renorm(1, 0, 2.0), (F,)),
    ("trapezoid", lambda m, y: m.trapezoid(y), (F,)),
    ("trapezoid-int", lambda m, y: m.trapezoid(y, dx=2), (I,)),
    ("trapezoid-x", lambda m, y, x: m.trapezoid(y, x, dim=0), (F, np.array([0.0, 1.0, 3.0]))),
    ("trapezoid-x-full", lambda m, y, x: m.trapezoid(y, x), (F, np.cumsum(F**2, 1))),
    ("trapz", lambda m, y, x: m.trapz(y, x), (F, np.array([0.0, 1.0, 3.0, 3.5]))),
    ("trapz-dx", lambda m, y: m.trapz(y, dx=0.5, dim=0), (F,)),
    ("cumulative_trapezoid", lambda m, y: m.cumulative_trapezoid(y), (F,)),
    ("cumulative_trapezoid-int", lambda m, y: m.cumulative_trapezoid(y, dim=0), (I,)),
    ("cumulative_trapezoid-x", lambda m, y, x: m.cumulative_trapezoid(y, x, dim=0),
     (F, np.array([0.0, 1.0, 3.0]))),
    ("quantile", lambda m, x: m.quantile(x, 0.3), (F,)),
    ("quantile-dim", lambda m, x, q: x.quantile(q, dim=1, keepdim=True), (F, np.array([0.1, 0.5, 1.0]))),
    ("quantile-0d-q", lambda m, x, q: m.quantile(x, q, dim=0), (F, np.array(0.75))),
    ("quantile-lower", lambda m, x: x.quantile(0.4, 1, interpolation="lower"), (F,)),
    ("quantile-higher", lambda m, x: x.quantile(0.4, 1, interpolation="higher"), (F,)),
    ("quantile-midpoint", lambda m, x: x.quantile(0.4, 1, interpolation="midpoint"), (F,)),
    ("quantile-nearest", lambda m, x: x.quantile(0.5, 1, interpolation="nearest"), (F,)),
    ("quantile-keepdim-all", lambda m, x: m.quantile(x, 0.5, keepdim=True), (F,)),
    ("quantile-nan", lambda m, x: x.quantile(0.5, dim=1), (np.where(F > 1, np.nan, F),)),
    ("nanquantile", lambda m, x: x.nanquantile(0.5, dim=1), (np.where(F > 0.5, np.nan, F),)),
    ("nanquantile-q", lambda m, x, q: m.nanquantile(x, q, dim=0, interpolation="nearest"),
     (np.where(F > 0.5, np.nan, F), np.array([0.2, 0.8]))),
    ("histogram", lambda m, x: tuple(m.histogram(x, 5)), (F,)),
    ("histogram-range-weight", lambda m, x, w: tuple(x.histogram(4, range=(-1.0, 1.0), weight=w)),
     (F, np.abs(F))),
    ("histogram-density", lambda m, x: tuple(m.histogram(x, 3, density=True)), (F,)),
    ("histogram-edges", lambda m, x, e: tuple(m.histogram(x, e)), (F, np.array([-3.0, -1.0, 0.0, 4.0]))),
    ("unique_consecutive", lambda m, x: m.unique_consecutive(x, return_inverse=True, return_counts=True),
     (np.array([1, 1, 2, 2, 3, 1, 1, 2]),)),
    ("unique_consecutive-float", lambda m, x: x.unique_consecutive(), (np.array([1.5, 1.5, 2.0, 1.5]),)),
    ("unique_consecutive-dim", lambda m, x: m.unique_consecutive(x, return_counts=True, dim=0),
     (np.array([[1, 2], [1, 2], [3, 4], [1, 2]]),)),
    ("masked_scatter", lambda m, x, s: x.masked_scatter(x > 0, s), (F, F * 10)),
    ("masked_scatter-bigger-mask", lambda m, x, s: m.masked_scatter(x[0], x > 0, s), (F, F * 3)),
    ("fill_diagonal_-int", lambda m, x: x.fill_diagonal_(2.7), (I[:, :2],)),
    ("quantile-0d", lambda m, x: m.quantile(x, 0.5, dim=0, keepdim=True), (np.array(2.0),)),
    ("histogram-empty", lambda m, x: tuple(m.histogram(x, 3)), (np.zeros(0),)),
    ("masked_scatter-broadcast", lambda m, x, s: m.masked_scatter(x, m.tensor([True, False, True, False]), s),
     (F, np.arange(9.0))),
    ("put", lambda m, x, s: x.put(m.tensor([0, -1, 5]), s), (F, np.array([1.0, 2.0, 3.0]))),
    ("put-accumulate", lambda m, x, s: m.put(x, m.tensor([[1, 1], [2, 1]]), s, accumulate=True),
     (F, np.array([[1.0, 2.0], [3.0, 4.0]]))),
    ("index_reduce", lambda m, x, s: x.index_reduce(0, m.tensor([0, 0, 2]), s, "prod"), (F, F * 2)),
    ("index_reduce-mean", lambda m, x, s: x.index_reduce(1, m.tensor([3, 0]), s, "mean", include_self=False),
     (F, F[:, :2])),
    ("index_reduce-amax", lambda m, x, s: m.index_reduce(x, 0, m.tensor([1, 1, 1]), s, "amax"), (F, F * 2)),
    ("index_reduce-amin", lambda m, x, s: x.index_reduce(0, m.tensor([2, 0, 2]), s, "amin", include_self=False),
     (F, -F)),
]


def _compare(ours, theirs, name):
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs), name
        for a, b in zip(ours, theirs):
            _compare(a, b, name)
        return
    assert _dtype_name(ours.dtype) == _dtype_name(theirs.dtype), (
        f"{name}: dtype {ours.dtype} != torch's {theirs.dtype}"
    )
    assert tuple(ours.shape) == tuple(theirs.shape), name
    want = theirs.detach().numpy()
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(ours.numpy(), want, err_msg=name)
    else:
        rtol = 1e-5 if want.dtype == np.float32 else 1e-10
        np.testing.assert_allclose(ours.numpy(), want, rtol=rtol, atol=rtol, equal_nan=True, err_msg=name)


@pytest.mark.parametrize(("name", "call", "inputs"), TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_matches_pytorch(name, call, inputs):
    torch = pytest.importorskip("torch")
    arrays = [np.ascontiguousarray(a) for a in inputs]
    ours = call(tg, *[tg.tensor(a) for a in arrays])
    theirs = call(torch, *[torch.tensor(a) for a in arrays])
    _compare(ours, theirs, name)


# ---- values without PyTorch -------------------------------------------------------------


def test_integer_functions_by_hand():
    a, b = _t([12, -18, 0, 7]), _t([8, 12, 0, -21])
    np.testing.assert_array_equal(tg.gcd(a, b).numpy(), [4, 6, 0, 7])
    np.testing.assert_array_equal(a.lcm(b).numpy(), [24, 36, 0, 21])
    assert tg.gcd(a.int(), b.int()).dtype == tg.int32
    assert tg.gcd(a.int(), b).dtype == tg.int64
    np.testing.assert_array_equal(tg.signbit(_t([-0.0, 0.0, -1.0, 2.0])).numpy(), [1, 0, 1, 0])
    mantissa, exponent = tg.frexp(_t([8.0, -0.375, 0.0], dtype=tg.float32))
    np.testing.assert_array_equal(mantissa.numpy(), [0.5, -0.75, 0.0])
    np.testing.assert_array_equal(exponent.numpy(), [4, -1, 0])
    assert exponent.dtype == tg.int32 and mantissa.dtype == tg.float32
    assert tg.ldexp(_t([1, 3]), _t([3, -1])).dtype == tg.float32
    np.testing.assert_array_equal(tg.ldexp(_t([1, 3]), _t([3, -1])).numpy(), [8.0, 1.5])
    up = tg.nextafter(_t([1.0], dtype=tg.float64), _t([2.0], dtype=tg.float64))
    assert up.item() == np.nextafter(1.0, 2.0)


def test_i0_and_its_gradient_match_numpy_and_scipy():
    x = np.array([-30.0, -8.0, -7.9, -1.0, 0.0, 0.5, 8.0, 8.1, 25.0, 700.0])
    assert_close(tg.i0(_t(x)), np.i0(x), rtol=1e-14)
    special = pytest.importorskip("scipy.special")
    t = _t(x, requires_grad=True)
    t.i0().sum().backward()
    assert_close(t.grad, special.i1(x), rtol=1e-13)
    assert tg.i0(_t([800.0])).item() == math.inf


def test_quantile_against_numpy():
    x = RNG.normal(size=(4, 6))
    for method in ("linear", "lower", "higher", "midpoint", "nearest"):
        got = tg.quantile(_t(x), _t([0.0, 0.25, 0.5, 0.9]), dim=1, interpolation=method)
        assert_close(got, np.quantile(x, [0.0, 0.25, 0.5, 0.9], axis=1, method=method))
    with_nan = np.where(x > 1.0, np.nan, x)
    assert_close(tg.nanquantile(_t(with_nan), 0.5, dim=0), np.nanquantile(with_nan, 0.5, axis=0))
    assert np.isnan(tg.quantile(_t([1.0, np.nan, 2.0]), 0.5).item())
    assert np.isnan(tg.nanquantile(_t([np.nan, np.nan]), 0.5).item())


def test_histogram_and_unique_consecutive_by_hand():
    hist, edges = tg.histogram(_t([1.0, 2.0, 1.0, 4.0]), 3)
    np.testing.assert_array_equal(hist.numpy(), [2.0, 1.0, 1.0])
    np.testing.assert_array_equal(edges.numpy(), [1.0, 2.0, 3.0, 4.0])
    result = tg.histogram(_t([0.5, 0.5]), bins=_t([0.0, 1.0]), weight=_t([2.0, 3.0]))
    assert isinstance(result, tg.return_types.histogram)
    np.testing.assert_array_equal(result.hist.numpy(), [5.0])
    out, inverse, counts = tg.unique_consecutive(
        _t([1, 1, 2, 2, 3, 1, 1, 2]), return_inverse=True, return_counts=True
    )
    np.testing.assert_array_equal(out.numpy(), [1, 2, 3, 1, 2])
    np.testing.assert_array_equal(inverse.numpy(), [0, 0, 1, 1, 2, 3, 3, 4])
    np.testing.assert_array_equal(counts.numpy(), [2, 2, 1, 2, 1])
    assert tg.unique_consecutive(_t(np.zeros(0))).shape == (0,)


def test_integrals_against_numpy():
    y = RNG.normal(size=(3, 5))
    x = np.cumsum(RNG.uniform(0.1, 1.0, size=5))
    assert_close(tg.trapezoid(_t(y), _t(x)), np.trapezoid(y, x))
    assert_close(tg.trapz(_t(y), dx=0.3, dim=0), np.trapezoid(y, dx=0.3, axis=0))
    running = tg.cumulative_trapezoid(_t(y), _t(x))
    assert_close(running[..., -1], np.trapezoid(y, x))
    assert running.shape == (3, 4)
    assert tg.trapezoid(_t([1.0])).item() == 0.0


def test_torch_svd_returns_v_and_reduced_factors():
    a = RNG.normal(size=(4, 3))
    U, S, V = tg.svd(_t(a))
    assert isinstance(tg.svd(_t(a)), tg.return_types.svd)
    assert (U.shape, S.shape, V.shape) == ((4, 3), (3,), (3, 3))
    assert_close((U * S) @ V.transpose(0, 1), a)
    square = RNG.normal(size=(3, 3))
    U, S, V = _t(square).svd(some=False)
    assert_close((U * S) @ V.mT, square)
    U, S, V = tg.svd(_t(a), compute_uv=False)
    assert (U.shape, V.shape) == ((4, 4), (3, 3)) and not U.numpy().any()
    Q, R = tg.qr(_t(a))
    assert isinstance(tg.qr(_t(a)), tg.return_types.qr)
    assert_close(Q @ R, a)


def test_aliases_are_the_same_ops():
    x = _t(RNG.normal(size=(2, 3)))
    y = _t(RNG.normal(size=(2, 3)))
    pairs = [
        (tg.absolute(x), x.abs()), (x.multiply(y), x * y), (tg.subtract(x, y, alpha=2), x - 2 * y),
        (tg.negative(x), -x), (x.fix(), x.trunc()), (tg.arctan2(x, y), x.atan2(y)),
        (x.greater(y), x > y), (tg.less_equal(x, y), x <= y), (x.not_equal(y), x != y),
        (tg.ger(x[0], y[0]), tg.outer(x[0], y[0])), (tg.positive(x), x),
        (x.clamp_min(0.1), x.clamp(min=0.1)), (tg.clamp_max(x, y), tg.minimum(x, y)),
    ]
    for ours, expected in pairs:
        np.testing.assert_array_equal(ours.numpy(), expected.numpy())


# ---- clamp with tensor bounds and the in-place forms ----------------------------------------


def test_clamp_tensor_bounds_gradients_and_ties():
    x = _t([1.0, 2.0, 3.0], requires_grad=True)
    lo = _t([1.0, 2.5, 0.0], requires_grad=True)
    hi = _t([2.0, 2.0, 3.0], requires_grad=True)
    x.clamp(lo, hi).sum().backward()
    # PyTorch shares the gradient at ties: x == lo (element 0), x == hi (element 2).
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 0.0, 0.5])
    np.testing.assert_array_equal(lo.grad.numpy(), [0.5, 0.0, 0.0])
    np.testing.assert_array_equal(hi.grad.numpy(), [0.0, 1.0, 0.5])
    a = RNG.normal(size=(3, 4))
    inputs = [_t(a, requires_grad=True, dtype=tg.float64),
              _t(a[0] - 0.5, requires_grad=True, dtype=tg.float64),
              _t(a[1] + 0.5, requires_grad=True, dtype=tg.float64)]
    assert gradcheck(lambda v, lo, hi: tg.clamp(v, lo, hi), inputs)
    assert gradcheck(lambda v, lo: v.clamp_min(lo), inputs[:2])
    assert gradcheck(lambda v, hi: tg.clamp_max(v, hi), [inputs[0], inputs[2]])


def test_in_place_clamp_min_max_agree_with_the_functions():
    a = RNG.normal(size=(2, 3))
    bound = _t(a[0])
    for name in ("clamp_min", "clamp_max"):
        for value in (0.25, bound):
            x = _t(a)
            out = getattr(x, name + "_")(value)
            assert out is x
            np.testing.assert_array_equal(x.numpy(), getattr(tg, name)(_t(a), value).numpy())


def test_clamp_mixes_a_tensor_and_a_number_bound():
    # PyTorch's clamp takes two tensors or two numbers; mixing them is allowed here.
    a = RNG.normal(size=(2, 3))
    got = tg.clamp(_t(a), min=_t(a[0]), max=0.5)
    np.testing.assert_array_equal(got.numpy(), np.minimum(np.maximum(a, a[0]), 0.5))


def test_clamp_errors():
    x = _t([1.0, 2.0])
    with raises(tg.ArgumentError, "at least one of min and max"):
        tg.clamp(x)
    with raises(tg.ShapeError, "(3,)"):
        x.clamp(_t([0.0, 0.0, 0.0]))
    with raises(tg.DTypeError, "numbers or None|Tensor"):
        x.clamp("a")


def test_in_place_writes():
    a = RNG.normal(size=(2, 3))
    x = _t(a)
    mask = _t(a > 0)
    assert x.masked_scatter_(mask, _t(np.arange(6.0))) is x
    np.testing.assert_array_equal(x.numpy(), tg.masked_scatter(_t(a), mask, _t(np.arange(6.0))).numpy())
    y = _t(a)
    y.put_(_t([0, 0]), _t([1.0, 2.0]), accumulate=True)
    assert y[0, 0].item() == pytest.approx(a[0, 0] + 3.0)
    z = _t(np.ones((3, 2)))
    z.index_reduce_(0, _t([0, 0]), _t([[2.0, 3.0], [4.0, 5.0]]), "prod")
    np.testing.assert_array_equal(z.numpy(), [[8.0, 15.0], [1.0, 1.0], [1.0, 1.0]])


def test_fill_diagonal_by_hand():
    tall = tg.zeros(5, 3).fill_diagonal_(2.0, wrap=True)
    expected = np.zeros((5, 3))
    expected.flat[::4] = 2.0
    np.testing.assert_array_equal(tall.numpy(), expected)
    no_wrap = np.zeros((5, 3))
    np.fill_diagonal(no_wrap, 2.0)
    np.testing.assert_array_equal(tg.zeros(5, 3).fill_diagonal_(2.0).numpy(), no_wrap)
    wide = tg.zeros(2, 4).fill_diagonal_(1)
    np.testing.assert_array_equal(wide.numpy(), np.eye(2, 4))
    cube = tg.zeros(2, 2, 2).fill_diagonal_(1)
    assert cube[0, 0, 0].item() == 1 and cube[1, 1, 1].item() == 1 and cube.sum().item() == 2
    with raises(tg.ShapeError, "equal length"):
        tg.zeros(2, 3, 2).fill_diagonal_(1)
    with raises(tg.ShapeError, "larger than 1"):
        tg.zeros(3).fill_diagonal_(1)


def test_fill_diagonal_matches_pytorch():
    torch = pytest.importorskip("torch")
    for shape, wrap in [((5, 3), True), ((5, 3), False), ((3, 7), True), ((3, 3, 3), False), ((7, 2), True)]:
        ours = tg.zeros(*shape).fill_diagonal_(-1.5, wrap=wrap)
        theirs = torch.zeros(*shape).fill_diagonal_(-1.5, wrap=wrap)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_in_place_writes_record_gradients():
    base = _t(RNG.normal(size=(2, 3)), requires_grad=True, dtype=tg.float64)
    source = _t(RNG.normal(size=(4,)), requires_grad=True, dtype=tg.float64)
    mask = _t(np.array([[True, False, True], [False, True, True]]))
    out = base * 1.0
    out.masked_scatter_(mask, source)
    out.sum().backward()
    np.testing.assert_array_equal(base.grad.numpy(), ~mask.numpy())
    np.testing.assert_array_equal(source.grad.numpy(), [1.0, 1.0, 1.0, 1.0])


# ---- gradients ---------------------------------------------------------------------------


def _f64(a, requires_grad=True):
    return _t(a, requires_grad=requires_grad, dtype=tg.float64)


GRAD_CASES = [
    ("mvlgamma", lambda x: tg.mvlgamma(x, 3), [RNG.uniform(1.5, 4.0, size=(2, 3))]),
    ("ldexp", lambda x, e: tg.ldexp(x, e), [RNG.normal(size=(2, 3)), RNG.normal(size=(3,))]),
    ("i0", lambda x: tg.i0(x), [RNG.uniform(-12.0, 12.0, size=(7,))]),
    ("inner", lambda a, b: tg.inner(a, b), [RNG.normal(size=(2, 3)), RNG.normal(size=(4, 3))]),
    ("addr", lambda c, a, b: tg.addr(c, a, b, beta=0.5, alpha=2.0),
     [RNG.normal(size=(2, 3)), RNG.normal(size=(2,)), RNG.normal(size=(3,))]),
    ("addbmm", lambda c, a, b: tg.addbmm(c, a, b),
     [RNG.normal(size=(2, 4)), RNG.normal(size=(3, 2, 3)), RNG.normal(size=(3, 3, 4))]),
    ("renorm", lambda x: tg.renorm(x, 2, 0, 1.0), [RNG.normal(size=(3, 4))]),
    ("trapezoid", lambda y, x: tg.trapezoid(y, x), [RNG.normal(size=(2, 5)), RNG.normal(size=(5,))]),
    ("cumulative_trapezoid", lambda y, x: tg.cumulative_trapezoid(y, x, dim=0),
     [RNG.normal(size=(4, 2)), RNG.normal(size=(4, 2))]),
    ("quantile", lambda x: tg.quantile(x, _t([0.2, 0.7], dtype=tg.float64), dim=1),
     [RNG.normal(size=(3, 5))]),
    ("nanquantile", lambda x: tg.nanquantile(x, 0.4, dim=0, interpolation="midpoint"),
     [RNG.normal(size=(5, 2))]),
    ("masked_scatter", lambda x, s: x.masked_scatter(x.detach() > 0, s),
     [RNG.normal(size=(2, 3)), RNG.normal(size=(6,))]),
    ("put", lambda x, s: x.put(_t([0, 5, 0]), s, accumulate=True),
     [RNG.normal(size=(2, 3)), RNG.normal(size=(3,))]),
    ("index_reduce", lambda x, s: x.index_reduce(0, _t([0, 0, 2]), s, "prod"),
     [RNG.normal(size=(3, 2)), RNG.normal(size=(3, 2))]),
    ("logdet", lambda a: tg.logdet(a), [SPD]),
    ("cholesky", lambda a: tg.cholesky((a + a.mT) / 2, upper=True), [SPD]),
    ("pinverse", lambda a: a.pinverse(), [RNG.normal(size=(3, 2))]),
    ("svd", lambda a: (lambda r: ((r.U * r.S) @ r.V.mT, r.S))(tg.svd(a)), [RNG.normal(size=(3, 2))]),
    ("qr", lambda a: (lambda r: r.Q @ r.R)(a.qr()), [RNG.normal(size=(3, 2))]),
    ("slogdet", lambda a: a.slogdet()[1], [SPD]),
]


@pytest.mark.parametrize(("name", "fn", "arrays"), GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradients(name, fn, arrays):
    assert gradcheck(fn, [_f64(a) for a in arrays])


def test_i0_gradient_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = RNG.uniform(-20.0, 20.0, size=9)
    ours = _f64(x)
    ours.i0().sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    theirs.i0().sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


# ---- errors ------------------------------------------------------------------------------


def test_errors():
    f, i = _t([1.0, 2.0]), _t([1, 2])
    cases = [
        (lambda: tg.gcd(f, i), tg.DTypeError, "gcd", "integer"),
        (lambda: i.lcm(_t([True, False])), tg.DTypeError, "lcm", "integer"),
        (lambda: tg.gcd(i, _t([1, 2, 3])), tg.ShapeError, "(2,)", "(3,)"),
        (lambda: tg.frexp(i), tg.DTypeError, "floating"),
        (lambda: tg.nextafter(i, i), tg.DTypeError, "floating"),
        (lambda: tg.positive(_t([True])), tg.DTypeError, "bool"),
        (lambda: tg.subtract(_t([True]), _t([False])), tg.DTypeError, "bool"),
        (lambda: tg.mvlgamma(f, 0), tg.ArgumentError, "p has to be greater than or equal to 1"),
        (lambda: tg.quantile(i, 0.5), tg.DTypeError, "float or double"),
        (lambda: tg.quantile(f, 1.5), tg.ArgumentError, "[0, 1]", "1.5"),
        (lambda: tg.quantile(f, _t([0.5, -1.0])), tg.ArgumentError, "q values"),
        (lambda: tg.quantile(f, tg.full((2, 2), 0.5)), tg.ShapeError, "scalar or 1D"),
        (lambda: tg.quantile(f, _t([0.5], dtype=tg.float32)), tg.DTypeError, "same dtype"),
        (lambda: tg.quantile(tg.ones(0), 0.5), tg.ArgumentError, "non-empty"),
        (lambda: tg.nanquantile(f, 0.5, interpolation="foo"), tg.ArgumentError, "interpolation", "foo"),
        (lambda: tg.quantile(f, 0.5, dim=1), tg.AxisError, "dim"),
        (lambda: tg.histogram(i, 3), tg.DTypeError, "floating"),
        (lambda: tg.histogram(f, 0), tg.ArgumentError, "bins"),
        (lambda: tg.histogram(f, 3, range=(2.0, 1.0)), tg.ArgumentError, "min", "max"),
        (lambda: tg.histogram(f, 3, weight=_t([1.0])), tg.ShapeError, "weight"),
        (lambda: tg.inner(tg.ones(2, 3), tg.ones(4, 2)), tg.ShapeError, "last dimension"),
        (lambda: tg.addbmm(tg.ones(2, 2), tg.ones(2, 2), tg.ones(2, 2)), tg.ShapeError, "3-D"),
        (lambda: tg.renorm(i.reshape(1, 2), 2, 0, 1.0), tg.DTypeError, "floating"),
        (lambda: tg.renorm(tg.ones(2, 2), 0, 0, 1.0), tg.ArgumentError, "non-positive"),
        (lambda: tg.renorm(tg.ones(2, 2), 2, 2, 1.0), tg.AxisError, "dim"),
        (lambda: tg.trapezoid(f, f, dx=1.0), tg.ArgumentError, "both x and dx"),
        (lambda: tg.trapezoid(tg.ones(3), tg.ones(2)), tg.ShapeError, "one `x` value"),
        (lambda: tg.masked_scatter(f, _t([1.0, 0.0]), f), tg.DTypeError, "boolean masks"),
        (lambda: tg.masked_scatter(f, _t([True, True]), f.float()), tg.DTypeError, "same dtypes"),
        (lambda: tg.masked_scatter(f, _t([True, True]), _t([1.0])), tg.ShapeError, "number of elements"),
        (lambda: tg.masked_scatter(f, _t([True, True, False]), f), tg.ShapeError, "(3,)", "(2,)"),
        (lambda: f.masked_scatter_(_t([[True], [False]]), f), tg.ShapeError, "(2, 1)", "(2,)"),
        (lambda: tg.trapezoid(_t(1.0)), tg.AxisError, "no dimensions"),
        (lambda: tg.quantile(_t(1.0), 0.5, dim=1), tg.AxisError, "dim"),
        (lambda: f.put(_t([2]), _t([1.0])), tg.AxisError, "out of range", "2"),
        (lambda: f.put(_t([0, 1]), _t([1.0])), tg.ShapeError, "same number of elements"),
        (lambda: f.put(_t([0.0]), _t([1.0])), tg.DTypeError, "integer"),
        (lambda: f.index_reduce(0, _t([0]), _t([1.0]), "sum"), tg.ArgumentError, "prod, mean, amax or amin"),
        (lambda: tg.ones(2, 2).index_reduce(0, _t([0]), tg.ones(2, 2), "prod"), tg.ShapeError, "(2, 2)"),
        (lambda: tg.unique_consecutive(f, dim=1), tg.AxisError, "dim"),
        (lambda: tg.svd(tg.ones(3, 2), some=False), tg.ArgumentError, "full_matrices"),
        (lambda: tg.det(tg.ones(2, 3)), tg.ShapeError, "square|(2, 3)"),
    ]
    for call, exc, *fragments in cases:
        with raises(exc, *fragments):
            call()


# ---- random fills ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args"), [("cauchy_", (0.5, 2.0)), ("geometric_", (0.3,)), ("log_normal_", (0.2, 0.5))]
)
def test_random_fills_are_reproducible(name, args):
    tg.manual_seed(3)
    first = getattr(tg.zeros(50), name)(*args).numpy()
    tg.manual_seed(3)
    second = getattr(tg.zeros(50), name)(*args).numpy()
    np.testing.assert_array_equal(first, second)
    gen = tg.Generator().manual_seed(9)
    third = getattr(tg.zeros(50), name)(*args, generator=gen).numpy()
    gen.manual_seed(9)
    np.testing.assert_array_equal(third, getattr(tg.zeros(50), name)(*args, generator=gen).numpy())
    assert not np.array_equal(first, third)


def test_random_fills_follow_their_distributions():
    tg.manual_seed(0)
    n = 200_000
    cauchy = tg.zeros(n, dtype=tg.float64).cauchy_(1.5, 2.0).numpy()
    assert np.median(cauchy) == pytest.approx(1.5, abs=0.03)
    assert np.quantile(cauchy, 0.75) - np.quantile(cauchy, 0.25) == pytest.approx(4.0, rel=0.03)
    geometric = tg.zeros(n, dtype=tg.int64).geometric_(0.25)
    assert geometric.dtype == tg.int64
    draws = geometric.numpy()
    assert draws.min() == 1 and draws.mean() == pytest.approx(4.0, rel=0.02)
    assert (draws == 1).mean() == pytest.approx(0.25, abs=0.005)
    log_normal = tg.zeros(n).log_normal_(0.5, 0.25).numpy()
    assert log_normal.dtype == np.float32 and log_normal.min() > 0
    assert np.log(log_normal).mean() == pytest.approx(0.5, abs=0.005)
    assert np.log(log_normal).std() == pytest.approx(0.25, rel=0.01)


def test_random_fill_errors():
    cases = [
        (lambda: tg.zeros(2).geometric_(0.0), tg.ArgumentError, "(0, 1)", "p=0.0"),
        (lambda: tg.zeros(2).geometric_(1.0), tg.ArgumentError, "(0, 1)"),
        (lambda: tg.zeros(2).cauchy_(0.0, 0.0), tg.ArgumentError, "sigma > 0.0"),
        (lambda: tg.zeros(2, dtype=tg.int64).cauchy_(), tg.DTypeError, "floating point"),
        (lambda: tg.zeros(2).log_normal_(0.0, -1.0), tg.ArgumentError, "std > 0.0"),
        (lambda: tg.zeros(2, dtype=tg.int64).log_normal_(), tg.DTypeError, "floating point"),
    ]
    for call, exc, *fragments in cases:
        with raises(exc, *fragments):
            call()


# ---- vmap: the elementwise names batch by the elementwise rule -----------------------------

VMAP_CASES = [
    ("clamp_min", lambda a, b: a.clamp_min(b)),
    ("clamp_max", lambda a, b: a.clamp_max(0.1)),
    ("absolute", lambda a, b: a.absolute()),
    ("multiply", lambda a, b: a.multiply(b)),
    ("subtract", lambda a, b: a.subtract(b, alpha=2)),
    ("negative", lambda a, b: a.negative()),
    ("positive", lambda a, b: a.positive()),
    ("greater", lambda a, b: a.greater(b)),
    ("less_equal", lambda a, b: a.less_equal(b)),
    ("not_equal", lambda a, b: a.not_equal(b)),
    ("fix", lambda a, b: (a * 3).fix()),
    ("arctan2", lambda a, b: a.arctan2(b)),
    ("arcsin", lambda a, b: (a / 4).arcsin()),
    ("arcsinh", lambda a, b: a.arcsinh()),
    ("mvlgamma", lambda a, b: (a.abs() + 2).mvlgamma(2)),
    ("ldexp", lambda a, b: a.ldexp(b)),
    ("i0", lambda a, b: a.i0()),
    ("signbit", lambda a, b: a.signbit()),
    ("nextafter", lambda a, b: a.nextafter(b)),
    ("gcd", lambda a, b: (a * 10).long().gcd((b * 10).long())),
]


@pytest.mark.parametrize(("name", "fn"), VMAP_CASES, ids=[c[0] for c in VMAP_CASES])
def test_vmap_matches_a_loop(name, fn):
    a, b = _f64(RNG.normal(size=(4, 3)), False), _f64(RNG.normal(size=(4, 3)), False)
    batched = tg.func.vmap(fn)(a, b)
    looped = tg.stack([fn(a[i], b[i]) for i in range(4)])
    np.testing.assert_array_equal(batched.numpy(), looped.numpy())
