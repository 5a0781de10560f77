"""tg.linalg's decompositions (eigh, svd, qr) and the functions composed from the
primitives (pinv, lstsq, matrix_power, matrix_exp, norm, cond, cross): values against
NumPy, gradients and JVPs against float64 finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tapegrad as tg
from tapegrad.testing import gradcheck, gradgradcheck
from test_linalg import check_jvp, leaf, spd, sym, well_conditioned

RNG = np.random.default_rng(1818)


def distinct_spectrum(*shape: int) -> np.ndarray:
    """Symmetric matrices with well-separated eigenvalues."""
    *batch, n, _ = shape
    q, _ = np.linalg.qr(RNG.normal(size=(*batch, n, n)))
    w = np.arange(1, n + 1) * 1.5 + RNG.uniform(-0.3, 0.3, size=(*batch, n))
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


def fix_sign(vectors: tg.Tensor) -> tg.Tensor:
    """Columns scaled so that their first entry is positive (the sign gauge)."""
    first = vectors[..., 0:1, :].detach()
    return vectors * (first.gt(0.0) * 2.0 - 1.0)


# ------------------------------------------------------------------ eigh


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_eigh_matches_numpy(dtype):
    a = distinct_spectrum(2, 4, 4)
    garbage = a + np.triu(RNG.normal(size=a.shape), 1)  # the upper triangle is ignored
    w, v = tg.linalg.eigh(tg.tensor(garbage, dtype=dtype))
    tol = 1e-4 if dtype == tg.float32 else 1e-10
    np.testing.assert_allclose(w.numpy(), np.linalg.eigvalsh(a), rtol=tol, atol=tol)
    rebuilt = (v.numpy() * w.numpy()[..., None, :]) @ np.swapaxes(v.numpy(), -1, -2)
    np.testing.assert_allclose(rebuilt, a, atol=tol * 10)
    assert w.dtype == dtype and v.shape == (2, 4, 4)
    upper = tg.linalg.eigvalsh(tg.tensor(np.swapaxes(garbage, -1, -2)), UPLO="U")
    np.testing.assert_allclose(upper.numpy(), np.linalg.eigvalsh(a), atol=1e-10)


def test_eigh_gradients_and_jvp():
    x = leaf(distinct_spectrum(2, 3, 3) / 2)
    assert gradcheck(lambda x: tg.linalg.eigvalsh(sym(x)), (x,))
    assert gradcheck(lambda x: fix_sign(tg.linalg.eigh(sym(x)).eigenvectors), (x,))
    assert gradgradcheck(lambda x: tg.linalg.eigvalsh(sym(x)), (x,))
    check_jvp(lambda x: tg.linalg.eigvalsh(sym(x)), [x.detach().numpy()])
    check_jvp(
        lambda x: fix_sign(tg.linalg.eigh(sym(x)).eigenvectors), [x.detach().numpy()]
    )


def test_eigvalsh_gradient_is_defined_for_repeated_eigenvalues():
    a = leaf(np.eye(3) * 2.0)
    tg.linalg.eigvalsh(a).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.eye(3))


# ------------------------------------------------------------------ svd


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 4, 3)])
def test_svd_matches_numpy(shape):
    a = RNG.normal(size=shape)
    U, S, Vh = tg.linalg.svd(tg.tensor(a), full_matrices=False)
    np.testing.assert_allclose(
        S.numpy(), np.linalg.svd(a, compute_uv=False), atol=1e-12
    )
    rebuilt = (U.numpy() * S.numpy()[..., None, :]) @ Vh.numpy()
    np.testing.assert_allclose(rebuilt, a, atol=1e-12)
    k = min(shape[-2:])
    assert U.shape == (*shape[:-1], k) and Vh.shape == (*shape[:-2], k, shape[-1])
    np.testing.assert_allclose(tg.linalg.svdvals(tg.tensor(a)).numpy(), S.numpy())


@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (3, 4)])
def test_svd_gradients_and_jvp(shape):
    a = leaf(RNG.normal(size=shape))
    assert gradcheck(tg.linalg.svdvals, (a,))

    def gauge_free(a):
        U, S, Vh = tg.linalg.svd(a, full_matrices=False)
        sign = U[..., 0:1, :].detach().gt(0.0) * 2.0 - 1.0
        return U * sign, S, Vh * sign.transpose(-2, -1)

    assert gradcheck(gauge_free, (a,))
    check_jvp(tg.linalg.svdvals, [a.detach().numpy()])
    check_jvp(lambda a: gauge_free(a)[0], [a.detach().numpy()])
    check_jvp(lambda a: gauge_free(a)[2], [a.detach().numpy()])


def test_svd_full_matrices_needs_square():
    with pytest.raises(
        tg.ArgumentError, match="full_matrices=True is not supported for 3 by 2"
    ):
        tg.linalg.svd(tg.ones((3, 2)))
    assert tg.linalg.svd(tg.eye(2)).S.shape == (2,)


# ------------------------------------------------------------------ qr


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 4, 3)])
def test_qr_matches_numpy(shape):
    a = RNG.normal(size=shape)
    Q, R = tg.linalg.qr(tg.tensor(a))
    np.testing.assert_allclose(Q.numpy() @ R.numpy(), a, atol=1e-12)
    k = min(shape[-2:])
    np.testing.assert_allclose(
        np.swapaxes(Q.numpy(), -1, -2) @ Q.numpy(),
        np.broadcast_to(np.eye(k), (*shape[:-2], k, k)),
        atol=1e-12,
    )
    assert not np.tril(R.numpy(), -1).any()
    np.testing.assert_allclose(
        np.abs(R.numpy()), np.abs(np.linalg.qr(a)[1]), atol=1e-12
    )


def test_qr_gradients_and_jvp():
    a = leaf(RNG.normal(size=(2, 4, 3)))
    assert gradcheck(lambda a: tg.linalg.qr(a), (a,))
    check_jvp(lambda a: tg.linalg.qr(a).Q, [a.detach().numpy()])
    check_jvp(lambda a: tg.linalg.qr(a).R, [a.detach().numpy()])
    wide = leaf(RNG.normal(size=(2, 3)))
    with pytest.raises(tg.ArgumentError, match="more columns than rows"):
        tg.linalg.qr(wide).R.sum().backward()
    with pytest.raises(tg.ArgumentError, match="mode must be"):
        tg.linalg.qr(wide, mode="full")


# ------------------------------------------------------------------ composed


def test_pinv_and_lstsq():
    a = RNG.normal(size=(5, 3))
    np.testing.assert_allclose(tg.linalg.pinv(tg.tensor(a)).numpy(), np.linalg.pinv(a))
    rank1 = np.outer(RNG.normal(size=4), RNG.normal(size=3))
    np.testing.assert_allclose(
        tg.linalg.pinv(tg.tensor(rank1)).numpy(), np.linalg.pinv(rank1), atol=1e-12
    )
    b = RNG.normal(size=(5, 2))
    x = tg.linalg.lstsq(tg.tensor(a), tg.tensor(b)).solution
    np.testing.assert_allclose(x.numpy(), np.linalg.lstsq(a, b, rcond=None)[0])
    wide = RNG.normal(size=(2, 4))
    x = tg.linalg.lstsq(tg.tensor(wide), tg.tensor(b[:2])).solution
    np.testing.assert_allclose(x.numpy(), np.linalg.lstsq(wide, b[:2], rcond=None)[0])
    A, B = leaf(a), leaf(b)
    assert gradcheck(tg.linalg.pinv, (A,))
    assert gradcheck(lambda A, B: tg.linalg.lstsq(A, B).solution, (A, B))


def test_matrix_power():
    a = well_conditioned(2, 3, 3)
    A = tg.tensor(a)
    for n in (0, 1, 2, 5, -1, -3):
        np.testing.assert_allclose(
            tg.linalg.matrix_power(A, n).numpy(),
            np.linalg.matrix_power(a, n),
            rtol=1e-10,
        )
    assert gradcheck(lambda A: tg.linalg.matrix_power(A, 3), (leaf(a),))
    assert gradcheck(lambda A: tg.linalg.matrix_power(A, -2), (leaf(a),))
    with pytest.raises(tg.ArgumentError, match="n must be an int"):
        tg.linalg.matrix_power(A, 1.5)


def test_matrix_exp():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    for scale in (0.1, 1.0, 20.0):
        a = RNG.normal(size=(2, 4, 4)) * scale
        got = tg.linalg.matrix_exp(tg.tensor(a)).numpy()
        want = np.stack([scipy_linalg.expm(m) for m in a])
        np.testing.assert_allclose(
            got, want, rtol=1e-9, atol=1e-12 * np.abs(want).max()
        )


def test_matrix_exp_closed_forms_and_gradient():
    t = 0.7  # exp of a rotation generator is the rotation
    got = tg.linalg.matrix_exp(tg.tensor([[0.0, -t], [t, 0.0]])).numpy()
    np.testing.assert_allclose(
        got, [[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]]
    )
    d = RNG.normal(size=3)
    np.testing.assert_allclose(
        tg.linalg.matrix_exp(tg.tensor(np.diag(d))).numpy(),
        np.diag(np.exp(d)),
        rtol=1e-12,
    )
    a = leaf(RNG.normal(size=(3, 3)))
    assert gradcheck(tg.linalg.matrix_exp, (a,))
    check_jvp(tg.linalg.matrix_exp, [a.detach().numpy()])


@pytest.mark.parametrize("ord", [None, "fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf])
def test_matrix_norms(ord):
    a = RNG.normal(size=(4, 3))
    np.testing.assert_allclose(
        tg.linalg.norm(tg.tensor(a), ord).numpy(), np.linalg.norm(a, ord), rtol=1e-12
    )
    assert gradcheck(lambda a: tg.linalg.norm(a, ord), (leaf(a),))


@pytest.mark.parametrize("ord", [2, 1, 3, math.inf, -math.inf, 0.5])
def test_vector_norms(ord):
    x = RNG.normal(size=(3, 5))
    got = tg.linalg.norm(tg.tensor(x), ord, dim=1).numpy()
    np.testing.assert_allclose(got, np.linalg.norm(x, ord, axis=1), rtol=1e-12)
    got = tg.linalg.vector_norm(tg.tensor(x), ord, dim=(0, 1)).numpy()
    np.testing.assert_allclose(got, np.linalg.norm(x.ravel(), ord), rtol=1e-12)
    assert gradcheck(lambda x: tg.linalg.norm(x, ord, dim=1), (leaf(x),))
    np.testing.assert_allclose(
        tg.linalg.norm(tg.tensor(x)).numpy(), np.linalg.norm(x), rtol=1e-12
    )


@pytest.mark.parametrize("p", [None, 2, -2, "fro", 1, math.inf])
def test_cond(p):
    a = well_conditioned(2, 3, 3)
    got = tg.linalg.cond(tg.tensor(a), p).numpy()
    np.testing.assert_allclose(got, np.linalg.cond(a, p), rtol=1e-10)
    assert gradcheck(lambda a: tg.linalg.cond(a, p), (leaf(a[0]),))


def test_cross():
    a, b = RNG.normal(size=(4, 3)), RNG.normal(size=(3,))
    got = tg.linalg.cross(tg.tensor(a), tg.tensor(b)).numpy()
    np.testing.assert_allclose(got, np.cross(a, b))
    got = tg.linalg.cross(tg.tensor(a.T), tg.tensor(a.T[:, ::-1].copy()), dim=0).numpy()
    np.testing.assert_allclose(got, np.cross(a.T, a.T[:, ::-1], axis=0))
    assert gradcheck(tg.linalg.cross, (leaf(a), leaf(b)))
    with pytest.raises(tg.ShapeError, match="3 elements along dim -1"):
        tg.linalg.cross(tg.ones((2, 4)), tg.ones((2, 4)))


def test_spd_helpers_consistent():
    s = spd(3, 3)
    np.testing.assert_allclose(
        tg.linalg.eigvalsh(tg.tensor(s)).numpy().prod(), np.linalg.det(s), rtol=1e-10
    )
