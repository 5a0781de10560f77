"""tg.linalg against torch.linalg: values and gradients on the same inputs (gauge-free
functions of the eigen- and singular vectors). Skipped cleanly without torch."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)


def _spd(n: int) -> np.ndarray:
    m = RNG.normal(size=(2, n, n))
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


def _sym_distinct(n: int) -> np.ndarray:
    q, _ = np.linalg.qr(RNG.normal(size=(2, n, n)))
    return (q * (np.arange(1, n + 1) * 1.5)[None, None, :]) @ np.swapaxes(q, -1, -2)


# Each case: name, function of the module (tg or torch) and the input arrays, inputs.
CASES = [
    (
        "solve",
        lambda m, a, b: m.linalg.solve(a, b),
        lambda: (_spd(3), RNG.normal(size=(2, 3, 2))),
    ),
    ("inv", lambda m, a: m.linalg.inv(a), lambda: (_spd(3),)),
    ("det", lambda m, a: m.linalg.det(a), lambda: (RNG.normal(size=(2, 3, 3)),)),
    (
        "slogdet",
        lambda m, a: m.linalg.slogdet(a)[1],
        lambda: (RNG.normal(size=(2, 3, 3)),),
    ),
    (
        "cholesky",
        lambda m, a: m.linalg.cholesky(a @ a.transpose(-2, -1) + 3 * _eye(m, a)),
        lambda: (RNG.normal(size=(2, 3, 3)),),
    ),
    (
        "solve_triangular",
        lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True, left=False),
        lambda: (
            np.triu(RNG.normal(size=(2, 3, 3))) + 3 * np.eye(3),
            RNG.normal(size=(2, 4, 3)),
        ),
    ),
    (
        "eigh",
        lambda m, a: (
            _sign_fixed(m.linalg.eigh(a + a.transpose(-2, -1))[1])
            + m.linalg.eigh(a + a.transpose(-2, -1))[0].unsqueeze(-1)
        ),
        lambda: (_sym_distinct(3) / 2,),
    ),
    (
        "eigvalsh",
        lambda m, a: m.linalg.eigvalsh(a + a.transpose(-2, -1)),
        lambda: (_sym_distinct(3),),
    ),
    (
        "svd",
        lambda m, a: _svd_gauge_free(m, a),
        lambda: (RNG.normal(size=(2, 4, 3)),),
    ),
    (
        "svdvals",
        lambda m, a: m.linalg.svdvals(a),
        lambda: (RNG.normal(size=(2, 3, 4)),),
    ),
    ("qr", lambda m, a: _qr_gauge_free(m, a), lambda: (RNG.normal(size=(2, 4, 3)),)),
    ("pinv", lambda m, a: m.linalg.pinv(a), lambda: (RNG.normal(size=(2, 4, 3)),)),
    (
        "lstsq",
        lambda m, a, b: m.linalg.lstsq(a, b).solution,
        lambda: (RNG.normal(size=(2, 4, 3)), RNG.normal(size=(2, 4, 2))),
    ),
    ("matrix_power", lambda m, a: m.linalg.matrix_power(a, -3), lambda: (_spd(3) / 3,)),
    (
        "matrix_exp",
        lambda m, a: m.linalg.matrix_exp(a),
        lambda: (RNG.normal(size=(2, 3, 3)),),
    ),
    (
        "norm_nuc",
        lambda m, a: m.linalg.norm(a, "nuc", dim=(-2, -1)),
        lambda: (RNG.normal(size=(2, 4, 3)),),
    ),
    (
        "norm_2",
        lambda m, a: m.linalg.norm(a, 2, dim=(-2, -1)),
        lambda: (RNG.normal(size=(2, 4, 3)),),
    ),
    (
        "norm_vec",
        lambda m, a: m.linalg.norm(a, 3, dim=-1),
        lambda: (RNG.normal(size=(2, 4, 3)),),
    ),
    ("cond", lambda m, a: m.linalg.cond(a), lambda: (RNG.normal(size=(2, 3, 3)),)),
    (
        "cond_fro",
        lambda m, a: _cond_fro(m, a),
        lambda: (RNG.normal(size=(2, 3, 3)),),
    ),
    (
        "cross",
        lambda m, a, b: m.linalg.cross(a, b),
        lambda: (RNG.normal(size=(2, 4, 3)), RNG.normal(size=(1, 4, 3))),
    ),
]


def _cond_fro(m, a):
    if m is tg:
        return tg.linalg.cond(a, "fro")
    # torch's own cond(a, "fro") backward fails (an in-place write to inv's output).
    fro = (-2, -1)
    return m.linalg.norm(a, "fro", dim=fro) * m.linalg.norm(
        m.linalg.inv(a), "fro", dim=fro
    )


def _eye(m, a):
    n = a.shape[-1]
    return m.eye(n, dtype=a.dtype)


def _sign_fixed(v):
    return v * ((v[..., 0:1, :].detach() > 0) * 2.0 - 1.0)


def _svd_gauge_free(m, a):
    U, S, Vh = m.linalg.svd(a, full_matrices=False)
    sign = (U[..., 0:1, :].detach() > 0) * 2.0 - 1.0
    return (U * sign).sum(-2) + S + (Vh * sign.transpose(-2, -1)).sum(-1)


def _qr_gauge_free(m, a):
    Q, R = m.linalg.qr(a)
    sign = (R.diagonal(dim1=-2, dim2=-1) if m is torch else _tg_diag(R)).detach()
    sign = (sign > 0) * 2.0 - 1.0
    return (Q * sign.unsqueeze(-2)).sum(-2) + (R * sign.unsqueeze(-1)).sum(-1)


def _tg_diag(R):
    n = R.shape[-1]
    return (R * tg.eye(n, dtype=R.dtype)).sum(-1)


@pytest.mark.parametrize("name,fn,make", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_torch(name, fn, make):
    arrays = make()
    ours = [tg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = fn(tg, *ours), fn(torch, *theirs)
    np.testing.assert_allclose(
        out.detach().numpy(), ref.detach().numpy(), rtol=1e-9, atol=1e-10
    )
    weights = RNG.normal(size=tuple(ref.shape))
    (out * tg.tensor(weights)).sum().backward()
    (ref * torch.tensor(weights)).sum().backward()
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-7, atol=1e-9)


def test_errors_match_torch_messages():
    z = [[1.0, 2.0], [2.0, 4.0]]
    with pytest.raises(RuntimeError) as theirs:
        torch.linalg.inv(torch.tensor(z))
    with pytest.raises(tg.ArgumentError) as ours:
        tg.linalg.inv(tg.tensor(z))
    assert str(ours.value) == str(theirs.value)
    a = [[4.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    with pytest.raises(RuntimeError) as theirs:
        torch.linalg.cholesky(torch.tensor(a))
    with pytest.raises(tg.ArgumentError) as ours:
        tg.linalg.cholesky(tg.tensor(a))
    assert str(ours.value) == str(theirs.value)
