"""tg.linalg: forward values against NumPy, gradients (and second derivatives) against
float64 finite differences, JVPs against finite differences, errors like PyTorch's.
Parity with torch.linalg is in test_linalg_torch.py."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import tapegrad as tg
from tapegrad.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(18)


def well_conditioned(*shape: int) -> np.ndarray:
    """Random square matrices with singular values in [1, 3] (up to sign)."""
    *batch, n, _ = shape
    q1, _ = np.linalg.qr(RNG.normal(size=(*batch, n, n)))
    q2, _ = np.linalg.qr(RNG.normal(size=(*batch, n, n)))
    s = RNG.uniform(1.0, 3.0, size=(*batch, n))
    return (q1 * s[..., None, :]) @ q2


def spd(*shape: int) -> np.ndarray:
    """Random symmetric positive-definite matrices."""
    m = RNG.normal(size=shape)
    n = shape[-1]
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


def triangular(*shape: int, upper: bool) -> np.ndarray:
    a = RNG.normal(size=shape) * 0.3
    n = shape[-1]
    a = np.triu(a) if upper else np.tril(a)
    return a + np.eye(n) * np.sign(RNG.normal(size=shape[:-1]))[..., None] * 1.5


def leaf(a: np.ndarray, dtype=tg.float64) -> tg.Tensor:
    return tg.tensor(a, dtype=dtype, requires_grad=True)


def sym(x: tg.Tensor) -> tg.Tensor:
    """``x + xᵀ``: cholesky's input as a function of all of ``x``'s entries."""
    return x + x.transpose(-2, -1)


def check_jvp(f: Callable[..., tg.Tensor], arrays: list[np.ndarray], eps=1e-6) -> None:
    """tg.func.jvp against central differences along a random direction."""
    primals = [tg.tensor(a, dtype=tg.float64) for a in arrays]
    dirs = [RNG.normal(size=a.shape) for a in arrays]
    tangents = [tg.tensor(d, dtype=tg.float64) for d in dirs]
    _, jt = tg.func.jvp(f, primals, tangents)

    def at(sign: float) -> np.ndarray:
        moved = [tg.tensor(a + sign * eps * d) for a, d in zip(arrays, dirs)]
        return f(*moved).numpy()

    numeric = (at(1.0) - at(-1.0)) / (2 * eps)
    np.testing.assert_allclose(jt.numpy(), numeric, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ forward


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
@pytest.mark.parametrize("batch", [(), (3,), (2, 2)])
def test_forward_matches_numpy(dtype, batch):
    a, s = well_conditioned(*batch, 4, 4), spd(*batch, 4, 4)
    b = RNG.normal(size=(*batch, 4, 2))
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == tg.float32 else {"rtol": 1e-10}
    A, S, B = (tg.tensor(x, dtype=dtype) for x in (a, s, b))
    np.testing.assert_allclose(
        tg.linalg.solve(A, B).numpy(), np.linalg.solve(a, b), **tol
    )
    np.testing.assert_allclose(tg.linalg.inv(A).numpy(), np.linalg.inv(a), **tol)
    np.testing.assert_allclose(tg.linalg.det(A).numpy(), np.linalg.det(a), **tol)
    sign, logabs = tg.linalg.slogdet(A)
    np_sign, np_logabs = np.linalg.slogdet(a)
    np.testing.assert_array_equal(sign.numpy(), np_sign)
    np.testing.assert_allclose(logabs.numpy(), np_logabs, **tol)
    np.testing.assert_allclose(
        tg.linalg.cholesky(S).numpy(), np.linalg.cholesky(s), **tol
    )
    up = tg.linalg.cholesky(S, upper=True).numpy()
    np.testing.assert_allclose(up, np.swapaxes(np.linalg.cholesky(s), -1, -2), **tol)
    for out in (tg.linalg.solve(A, B), tg.linalg.det(A), tg.linalg.cholesky(S)):
        assert out.dtype == dtype


def test_solve_vector_rhs_broadcast_and_left():
    a, b = well_conditioned(3, 4, 4), RNG.normal(size=(4,))
    x = tg.linalg.solve(tg.tensor(a), tg.tensor(b))
    assert x.shape == (3, 4)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b[None, :, None])[..., 0])
    bb = RNG.normal(size=(3, 4))  # a batch of vectors: B.shape == A.shape[:-1]
    x = tg.linalg.solve(tg.tensor(a), tg.tensor(bb))
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, bb[..., None])[..., 0])
    m = RNG.normal(size=(2, 4))  # X A = M
    x = tg.linalg.solve(tg.tensor(a[0]), tg.tensor(m), left=False)
    np.testing.assert_allclose(x.numpy() @ a[0], m, atol=1e-12)
    b2 = RNG.normal(size=(2, 1, 4, 3))  # batch dimensions broadcast
    x = tg.linalg.solve(tg.tensor(a), tg.tensor(b2))
    assert x.shape == (2, 3, 4, 3)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b2))


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [False, True])
def test_solve_triangular_forward(upper, left, unit):
    a = triangular(2, 4, 4, upper=upper)
    garbage = a + (
        np.tril(RNG.normal(size=a.shape), -1)
        if upper
        else np.triu(RNG.normal(size=a.shape), 1)
    )  # the other triangle must be ignored
    b = RNG.normal(size=(2, 4, 3) if left else (2, 3, 4))
    x = tg.linalg.solve_triangular(
        tg.tensor(garbage), tg.tensor(b), upper=upper, left=left, unitriangular=unit
    ).numpy()
    t = a.copy()
    if unit:
        t[..., range(4), range(4)] = 1.0
    np.testing.assert_allclose(t @ x if left else x @ t, b, atol=1e-12)


def test_det_slogdet_of_singular_and_empty():
    z = tg.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=tg.float64)
    assert tg.linalg.det(z).item() == 0.0
    sign, logabs = tg.linalg.slogdet(z)
    assert sign.item() == 0.0 and logabs.item() == -np.inf
    assert tg.linalg.det(tg.zeros((3, 0, 0))).numpy().tolist() == [1.0, 1.0, 1.0]
    assert tg.linalg.inv(tg.zeros((0, 2, 2))).shape == (0, 2, 2)
    p = tg.tensor([[0.0, 1.0], [1.0, 0.0]])  # a permutation: det -1
    assert tg.linalg.det(p).item() == -1.0
    assert tg.linalg.slogdet(p).sign.item() == -1.0


# ------------------------------------------------------------------ gradients


def test_gradcheck_and_gradgradcheck_solve_inv_det():
    a, b = leaf(well_conditioned(2, 3, 3)), leaf(RNG.normal(size=(2, 3, 2)))
    for f, args in (
        (tg.linalg.solve, (a, b)),
        (tg.linalg.inv, (a,)),
        (tg.linalg.det, (a,)),
        (lambda x: tg.linalg.slogdet(x).logabsdet, (a,)),
    ):
        assert gradcheck(f, args)
        assert gradgradcheck(f, args)


def test_gradcheck_solve_broadcast_and_vector():
    a, b = leaf(well_conditioned(3, 3)), leaf(RNG.normal(size=(2, 3, 2)))
    assert gradcheck(tg.linalg.solve, (a, b))
    v = leaf(RNG.normal(size=(3,)))
    assert gradcheck(tg.linalg.solve, (a, v))


def test_gradcheck_and_gradgradcheck_cholesky():
    x = leaf(spd(2, 3, 3) / 2)
    assert gradcheck(lambda x: tg.linalg.cholesky(sym(x)), (x,))
    assert gradgradcheck(lambda x: tg.linalg.cholesky(sym(x)), (x,))
    assert gradcheck(lambda x: tg.linalg.cholesky(sym(x), upper=True), (x,))


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [False, True])
def test_gradcheck_solve_triangular(upper, left, unit):
    a = leaf(triangular(2, 3, 3, upper=upper))
    b = leaf(RNG.normal(size=(2, 3, 2) if left else (2, 2, 3)))

    def f(a, b):
        return tg.linalg.solve_triangular(
            a, b, upper=upper, left=left, unitriangular=unit
        )

    assert gradcheck(f, (a, b))
    grad_a = tg.autograd.grad(f(a, b).sum(), a)[0].numpy()
    other = np.tril(grad_a, -1) if upper else np.triu(grad_a, 1)
    assert not other.any()  # the triangle the op does not read gets no gradient
    if unit:
        assert not np.diagonal(grad_a, axis1=-2, axis2=-1).any()
    assert gradgradcheck(f, (a, b))


def test_jvps_match_finite_differences():
    a, b = well_conditioned(2, 3, 3), RNG.normal(size=(2, 3, 2))
    check_jvp(tg.linalg.solve, [a, b])
    check_jvp(tg.linalg.inv, [a])
    check_jvp(tg.linalg.det, [a])
    check_jvp(lambda x: tg.linalg.slogdet(x).logabsdet, [a])
    check_jvp(lambda x: tg.linalg.cholesky(sym(x)), [spd(2, 3, 3) / 2])
    t = triangular(2, 3, 3, upper=True)
    check_jvp(lambda x, y: tg.linalg.solve_triangular(x, y, upper=True), [t, b])


def test_float32_gradients_flow():
    a = leaf(well_conditioned(3, 3), dtype=tg.float32)
    tg.linalg.inv(a).sum().backward()
    assert a.grad.dtype == tg.float32
    inv = np.linalg.inv(a.detach().numpy().astype(np.float64))
    expect = -(inv.T @ np.ones((3, 3)) @ inv.T)
    np.testing.assert_allclose(a.grad.numpy(), expect, rtol=1e-4, atol=1e-5)


def test_grad_fn_names():
    a = leaf(well_conditioned(3, 3))
    assert tg.linalg.solve(a, a).grad_fn.name() == "LinalgSolveBackward"
    assert tg.linalg.inv(a).grad_fn.name() == "LinalgInvBackward"
    assert tg.linalg.det(a).grad_fn.name() == "LinalgDetBackward"
    assert tg.linalg.slogdet(a).sign.requires_grad is False


# ------------------------------------------------------------------ errors


def test_singular_matrix_errors_like_pytorch():
    z = tg.tensor([[1.0, 2.0], [2.0, 4.0]])
    msg = (
        "linalg.inv: The diagonal element 2 is zero, the inversion could not be "
        "completed because the input matrix is singular."
    )
    with pytest.raises(tg.ArgumentError, match=msg.replace(".", r"\.")):
        tg.linalg.inv(z)
    with pytest.raises(
        ValueError, match="linalg.solve: The diagonal element 2 is zero"
    ):
        tg.linalg.solve(z, tg.ones((2, 1)))
    batch = tg.stack([tg.eye(2), z])
    with pytest.raises(
        tg.ArgumentError, match=r"\(Batch element 1\): The diagonal element"
    ):
        tg.linalg.inv(batch)


def test_cholesky_names_the_failing_minor():
    a = tg.tensor([[4.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    with pytest.raises(tg.ArgumentError, match="leading minor of order 2 is not"):
        tg.linalg.cholesky(a)
    with pytest.raises(tg.ArgumentError, match="order 1 is not positive-definite"):
        tg.linalg.cholesky(-tg.eye(2))


@pytest.mark.parametrize(
    "call",
    [
        lambda m: tg.linalg.inv(m),
        lambda m: tg.linalg.det(m),
        lambda m: tg.linalg.slogdet(m),
        lambda m: tg.linalg.cholesky(m),
        lambda m: tg.linalg.solve(m, tg.ones((2, 1))),
        lambda m: tg.linalg.solve_triangular(m, tg.ones((2, 1)), upper=True),
    ],
)
def test_non_square_inputs_name_the_shape(call):
    with pytest.raises(tg.ShapeError, match=r"2 by 3 matrices \(shape \(2, 3\)\)"):
        call(tg.ones((2, 3)))
    with pytest.raises(tg.ShapeError, match="at least 2 dimensions"):
        call(tg.ones((3,)))


def test_solve_shape_mismatch():
    with pytest.raises(tg.ShapeError, match=r"AX = B \(\(3, 3\) and \(2, 1\)\)"):
        tg.linalg.solve(tg.eye(3), tg.ones((2, 1)))


def test_public_names():
    assert set(tg.linalg.__all__) <= set(dir(tg.linalg))
    assert "linalg" in tg.__all__
    assert not [n for n in tg.linalg.__all__ if n.startswith("_")]
