"""``tapegrad.special`` and the gamma family (lgamma, digamma, polygamma): values against
SciPy, gradients of every order against finite differences, PyTorch's names and dtypes."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import gradcheck, gradgradcheck

scipy_special = pytest.importorskip("scipy.special")

X = np.array([0.05, 0.3, 1.0, 2.5, 7.0, 31.0, -0.5, -2.3, -7.75])


@pytest.mark.parametrize(
    ("ours", "ref"),
    [
        (lambda t: t.lgamma(), lambda a: scipy_special.gammaln(a)),
        (lambda t: t.digamma(), scipy_special.digamma),
        (lambda t: tg.polygamma(1, t), lambda a: scipy_special.polygamma(1, a)),
        (lambda t: tg.polygamma(2, t), lambda a: scipy_special.polygamma(2, a)),
        (lambda t: tg.polygamma(4, t), lambda a: scipy_special.polygamma(4, a)),
        (lambda t: tg.special.gammaln(t), lambda a: scipy_special.gammaln(a)),
        (lambda t: tg.special.psi(t), scipy_special.digamma),
        (lambda t: tg.special.ndtr(t), scipy_special.ndtr),
        (lambda t: tg.special.entr(t.abs()), lambda a: scipy_special.entr(np.abs(a))),
        (lambda t: tg.special.expit(t), scipy_special.expit),
    ],
)
def test_values_match_scipy_to_float64_accuracy(ours, ref):
    got = ours(tg.tensor(X, dtype=tg.float64)).numpy()
    np.testing.assert_allclose(got, ref(X), rtol=1e-12, atol=1e-300)


def test_poles_and_domain_edges_follow_pytorch():
    zero_and_negatives = tg.tensor([0.0, -1.0, -2.0], dtype=tg.float64)
    np.testing.assert_array_equal(zero_and_negatives.digamma().numpy(), [-np.inf, np.nan, np.nan])
    np.testing.assert_array_equal(zero_and_negatives.lgamma().numpy(), [np.inf] * 3)
    assert np.isinf(tg.polygamma(1, tg.tensor([0.0, -3.0])).numpy()).all()
    with pytest.raises(tg.ArgumentError, match="does not support negative n, got n = -1"):
        tg.polygamma(-1, tg.tensor([1.0]))


def test_integer_inputs_promote_to_the_default_float_dtype():
    ints = tg.tensor([1, 2, 3])
    for out in (ints.lgamma(), ints.digamma(), ints.polygamma(1), tg.special.gammaln(ints),
                tg.deg2rad(ints)):
        assert out.dtype == tg.float32
    np.testing.assert_allclose(tg.deg2rad(tg.tensor([180])).numpy(), [np.pi], rtol=1e-6)
    np.testing.assert_allclose(tg.tensor([np.pi]).rad2deg().numpy(), [180.0], rtol=1e-6)


@pytest.mark.parametrize("fn", [
    lambda t: t.lgamma(), lambda t: t.digamma(), lambda t: t.polygamma(1),
    lambda t: tg.polygamma(3, t), lambda t: tg.special.multigammaln(t + 2.0, 3),
    lambda t: tg.special.entr(t), lambda t: tg.special.ndtr(t),
])
def test_gradients_of_every_order_are_the_next_member_of_the_family(fn):
    t = tg.tensor([0.7, 2.3, 5.0, 0.4], dtype=tg.float64, requires_grad=True)
    assert gradcheck(fn, (t,))
    assert gradgradcheck(fn, (t,))


def test_multigammaln_is_a_sum_of_shifted_lgammas_and_checks_its_domain():
    a = np.array([2.5, 3.0, 10.0])
    np.testing.assert_allclose(
        tg.special.multigammaln(tg.tensor(a, dtype=tg.float64), 3).numpy(),
        np.array([scipy_special.multigammaln(v, 3) for v in a]), rtol=1e-12)
    with pytest.raises(tg.ArgumentError, match=r"greater than \(p-1\)/2 = 1.0"):
        tg.special.multigammaln(tg.tensor([0.5]), 3)


def test_against_pytorch_when_installed():
    torch = pytest.importorskip("torch")
    x = np.array([0.3, 1.5, 4.0, -0.5])
    for name in ("lgamma", "digamma"):
        np.testing.assert_allclose(getattr(tg.tensor(x), name)().numpy(),
                                   getattr(torch.tensor(x), name)().numpy(), rtol=1e-10)
    ours = tg.tensor(x[:3], dtype=tg.float64, requires_grad=True)
    theirs = torch.tensor(x[:3], requires_grad=True)
    tg.special.gammaln(ours).sum().backward()
    torch.special.gammaln(theirs).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10)
    assert tg.special.digamma(tg.tensor([1, 2])).dtype == tg.float32
    assert torch.special.digamma(torch.tensor([1, 2])).dtype == torch.float32
