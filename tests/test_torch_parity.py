"""Same random expressions in tapegrad and PyTorch: same values, same gradients.

Skipped cleanly when torch is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tapegrad as tg

SHAPES = [(3, 4), (4,), (3, 1)]


class Lib:
    """The few spellings where tapegrad and torch differ."""

    def __init__(self, module):
        self.m = module
        self.is_torch = module is torch

    def leaf(self, array):
        if self.is_torch:
            return torch.tensor(array, dtype=torch.float64, requires_grad=True)
        return tg.tensor(array, dtype=tg.float64, requires_grad=True)

    def where(self, a, b):
        cond = a > b
        return self.m.where(cond, a, b * 0.5)

    def flip_last(self, x):
        # torch has no negative-step slicing.
        return torch.flip(x, [-1]) if self.is_torch else x[..., ::-1]

    def amax(self, x, dim):
        return torch.amax(x, dim=dim) if self.is_torch else x.amax(dim=dim)

    def amin(self, x, dim):
        return torch.amin(x, dim=dim) if self.is_torch else x.amin(dim=dim)

    def grad(self, out, leaves):
        if self.is_torch:
            return torch.autograd.grad(out, leaves, allow_unused=True)
        return tg.grad(out, leaves, allow_unused=True)


UNARY = [
    lambda L, x: x.exp() * 0.1,
    lambda L, x: (x * x + 1.0).log(),
    lambda L, x: (x.abs() + 0.5).sqrt(),
    lambda L, x: x.sin(),
    lambda L, x: x.cos(),
    lambda L, x: x.tanh(),
    lambda L, x: x.sigmoid(),
    lambda L, x: x.relu(),
    lambda L, x: x.abs(),
    lambda L, x: -x,
    lambda L, x: x.clamp(-0.5, 0.7),
    lambda L, x: x**2,
    lambda L, x: 2.0**x * 0.25,
    lambda L, x: x.softmax(-1),
    lambda L, x: x.log_softmax(-1),
    lambda L, x: x.transpose(0, -1).transpose(0, -1) if x.ndim == 2 else x,
    lambda L, x: L.flip_last(x) * 1.5,
]

BINARY = [
    lambda L, a, b: a + b,
    lambda L, a, b: a - b,
    lambda L, a, b: a * b,
    lambda L, a, b: a / (b * b + 1.0),
    lambda L, a, b: L.m.maximum(a, b),
    lambda L, a, b: L.m.minimum(a, b),
    lambda L, a, b: L.where(a, b),
    lambda L, a, b: (a * a + 0.5) ** (b.tanh()),
]

REDUCE = [
    lambda L, x: x.sum(),
    lambda L, x: x.mean(),
    lambda L, x: L.amax(x, -1).sum(),
    lambda L, x: L.amin(x, 0).sum() if x.ndim else x,
    lambda L, x: x.logsumexp(dim=-1).sum(),
    lambda L, x: (x * x).sum(dim=0).mean(),
]


def build(seed):
    """A random expression: a deterministic plan that both libraries replay."""
    rng = np.random.default_rng(seed)
    plan = []
    for _ in range(int(rng.integers(3, 9))):
        kind = rng.choice(["unary", "binary"])
        if kind == "unary":
            plan.append(("unary", int(rng.integers(len(UNARY))), int(rng.integers(3))))
        else:
            plan.append(
                (
                    "binary",
                    int(rng.integers(len(BINARY))),
                    int(rng.integers(3)),
                    int(rng.integers(3)),
                )
            )
    plan.append(("reduce", int(rng.integers(len(REDUCE)))))
    arrays = [rng.uniform(-1.5, 1.5, size=s) for s in SHAPES]
    return plan, arrays


def replay(L, plan, arrays):
    leaves = [L.leaf(a) for a in arrays]
    slots = list(leaves)
    for step in plan:
        if step[0] == "unary":
            _, op, i = step
            slots[i] = UNARY[op](L, slots[i])
        elif step[0] == "binary":
            _, op, i, j = step
            slots[i] = BINARY[op](L, slots[i], slots[j])
        else:
            out = REDUCE[step[1]](L, sum(s.sum() * 0.1 for s in slots[1:]) + slots[0])
    return leaves, out


def _np(t):
    return None if t is None else t.detach().numpy()


@pytest.mark.parametrize("seed", range(60))
def test_random_expression_matches_torch(seed):
    plan, arrays = build(seed)
    ours_leaves, ours = replay(Lib(tg), plan, arrays)
    theirs_leaves, theirs = replay(Lib(torch), plan, arrays)
    np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-10, atol=1e-12)
    for g_ours, g_theirs in zip(
        Lib(tg).grad(ours, ours_leaves), Lib(torch).grad(theirs, theirs_leaves)
    ):
        if g_theirs is None:
            assert g_ours is None or not np.any(_np(g_ours))
            continue
        np.testing.assert_allclose(_np(g_ours), _np(g_theirs), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "expr",
    [
        lambda m, a, b: (a @ b.T).tanh().sum(),
        lambda m, a, b: (a.reshape(2, 6) @ b.reshape(6, 2)).exp().mean(),
        lambda m, a, b: m.cat([a, b], dim=0).softmax(dim=1)[1:, ::2].sum(),
        lambda m, a, b: m.stack([a, b], dim=1).permute(2, 0, 1).flatten().sum(),
        lambda m, a, b: (a.unsqueeze(0) * b.unsqueeze(1)).squeeze().sum(),
        lambda m, a, b: a[[0, 2, 0]].expand(2, 3, 4).sum(),
        lambda m, a, b: a.clamp(min=0.0).relu().abs().sum(),
    ],
)
def test_shape_ops_match_torch(expr):
    rng = np.random.default_rng(7)
    a_np, b_np = rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (3, 4))
    results = []
    for m, make in ((tg, Lib(tg).leaf), (torch, Lib(torch).leaf)):
        a, b = make(a_np), make(b_np)
        out = expr(m, a, b)
        out.backward()
        results.append((_np(out), _np(a.grad), _np(b.grad)))
    (o1, ga1, gb1), (o2, ga2, gb2) = results
    np.testing.assert_allclose(o1, o2, rtol=1e-10)
    np.testing.assert_allclose(ga1, ga2, rtol=1e-9, atol=1e-12)
    if gb2 is None:
        assert gb1 is None
    else:
        np.testing.assert_allclose(gb1, gb2, rtol=1e-9, atol=1e-12)
