"""Forward mode agrees with reverse mode, op by op, from the one OpSpec table.

For a function f with Jacobian J at x, forward mode gives ``J v`` (``func.jvp``) and
reverse mode gives ``J^T u`` (``tg.grad`` with ``grad_outputs=u``); for any u, v the
two must satisfy ``<u, J v> = <J^T u, v>``. Every OpSpec sample is swept, so an op
added to ``op_specs.OPS`` is checked here without touching this file. A primitive
whose JVP is missing or wrong (a zero tangent, a wrong sign, a lost broadcast) breaks
the identity for random u, v.

The second sweep does the same one level up: the JVP of the VJP (forward over
reverse, what ``hvp`` uses) against the VJP of the VJP (reverse over reverse). It
reaches the JVP rules of the primitives that only appear inside backward passes
(``slice_scatter``, ``index_add``, ``sum_to_shape``...).
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import tapegrad as tg
from helpers import assert_close, raises, values
from op_specs import OPS, PUBLIC_OPS, ZERO_DERIVATIVE, make_arrays
from tapegrad import func

CASES = [
    pytest.param(spec, sample, id=f"{spec.id}-{i}-{sample.label()}")
    for spec in OPS
    for i, sample in enumerate(spec.samples)
]
FLOAT64_CASES = [case for case in CASES if case.values[0].out_dtype != tg.float32]

# <u, Jv> and <J^T u, v> are each a float64 sum; a cast through float32 rounds.
RTOL = {tg.float64: 1e-10, tg.float32: 1e-5}


def _setup(spec, sample, salt=""):
    """Deterministic float64 inputs, tangents v (one per input) and a cotangent u."""
    seed = f"{spec.id}/{sample.label()}{salt}"
    arrays = make_arrays(spec, sample, np.float64, seed)
    rng = np.random.default_rng(zlib.crc32(("uv/" + seed).encode()))
    with tg.no_grad():
        out = spec.op(*[tg.tensor(a) for a in arrays], **sample.kwargs)
    tangents = [rng.standard_normal(a.shape) for a in arrays]
    cotangent = rng.standard_normal(tuple(out.shape))
    return arrays, tangents, cotangent, out


def _norm(arrays):
    return float(np.sqrt(sum(np.sum(np.square(a)) for a in arrays)))


def _assert_pairing_equal(forward_side, reverse_side, scale, floor, rtol, what):
    """|<u, Jv> - <J^T u, v>| small relative to ``scale`` = max(|u| |Jv|, |J^T u| |v|)
    (Cauchy-Schwarz bounds of each side), plus a rounding floor ~ eps |u| |v| for the
    cancellations inside saturated ops (softmax of large inputs), where both sides are
    1e-31 and all rounding."""
    tolerance = rtol * max(scale, abs(forward_side), abs(reverse_side)) + 1e-13 * floor
    assert abs(forward_side - reverse_side) <= tolerance, (
        f"{what}: forward <u, Jv> = {forward_side!r} but reverse <J^T u, v> = "
        f"{reverse_side!r} (difference {abs(forward_side - reverse_side):.3e})"
    )


def _check_jvp_against_vjp(fn, arrays, tangents, u, what, expected_out=None):
    """Asserts <u, J v> (one forward-mode pass) == <J^T u, v> (one backward sweep)."""
    # Forward: one pass carrying tangents; nothing requires grad, so no graph at all.
    primals = [tg.tensor(a) for a in arrays]
    out, tangent_out = func.jvp(fn, primals, [tg.tensor(v) for v in tangents])
    assert not out.requires_grad and out.grad_fn is None
    if expected_out is not None:
        np.testing.assert_array_equal(out.numpy(), expected_out.numpy())
    assert tuple(tangent_out.shape) == tuple(out.shape)
    assert tangent_out.dtype == out.dtype
    forward_side = float(np.sum(u * values(tangent_out)))

    # Reverse: one backward sweep with cotangent u.
    leaves = [tg.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*leaves)
    grads = tg.grad(
        y, leaves, grad_outputs=tg.tensor(u, dtype=y.dtype), allow_unused=True
    )
    reverse_side = sum(
        float(np.sum(values(g) * v)) for g, v in zip(grads, tangents) if g is not None
    )
    live = [values(g) for g in grads if g is not None]
    scale = max(
        _norm([u]) * _norm([values(tangent_out)]), _norm(live) * _norm(tangents)
    )
    _assert_pairing_equal(
        forward_side,
        reverse_side,
        scale,
        _norm([u]) * _norm(tangents),
        RTOL[out.dtype],
        what,
    )


@pytest.mark.parametrize(("spec", "sample"), CASES)
def test_jvp_agrees_with_vjp(spec, sample):
    arrays, tangents, u, expected_out = _setup(spec, sample)
    _check_jvp_against_vjp(
        lambda *xs: spec.op(*xs, **sample.kwargs),
        arrays,
        tangents,
        u,
        f"{spec.id} {sample.label()}",
        expected_out,
    )


class _ScaledSin(tg.Function):
    """sin with a correct backward and a JVP rule off by a factor: what the sweep
    must catch."""

    factor = 1.0

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cos()

    @staticmethod
    def jvp(ctx, tangent):
        (x,) = ctx.saved_tensors
        return tangent * x.cos() * _ScaledSin.factor


def test_the_consistency_check_catches_a_wrong_jvp(monkeypatch):
    rng = np.random.default_rng(7)
    x, v, u = (rng.standard_normal(4) for _ in range(3))
    _check_jvp_against_vjp(_ScaledSin.apply, [x], [v], u, "right jvp")
    monkeypatch.setattr(_ScaledSin, "factor", 1.0 + 1e-7)
    with pytest.raises(AssertionError, match="forward <u, Jv>"):
        _check_jvp_against_vjp(_ScaledSin.apply, [x], [v], u, "wrong jvp")


@pytest.mark.parametrize(("spec", "sample"), FLOAT64_CASES)
def test_forward_over_reverse_agrees_with_reverse_over_reverse(spec, sample):
    """G(x, u) = J(x)^T u; <w, dG[vx, vu]> by jvp-of-vjp = <G'^T w, (vx, vu)> by
    grad-of-grad."""
    arrays, tangents, u, _ = _setup(spec, sample, salt="/second")
    n = len(arrays)
    rng = np.random.default_rng(zlib.crc32(f"w/{spec.id}/{sample.label()}".encode()))
    u_tangent = rng.standard_normal(u.shape)
    w = [rng.standard_normal(a.shape) for a in arrays]  # cotangent of G's outputs

    def vjp_of_op(*args):
        xs, cotangent = args[:n], args[n]
        _, pullback = func.vjp(lambda *ys: spec.op(*ys, **sample.kwargs), *xs)
        return pullback(cotangent)

    # Forward over reverse: the tangents ride through the backward pass.
    primals = [tg.tensor(a) for a in arrays] + [tg.tensor(u)]
    directions = [tg.tensor(v) for v in tangents] + [tg.tensor(u_tangent)]
    _, grad_tangents = func.jvp(vjp_of_op, primals, directions)
    forward_side = sum(float(np.sum(wi * values(t))) for wi, t in zip(w, grad_tangents))

    # Reverse over reverse: differentiate <w, J^T u> with respect to (x, u).
    leaves = [tg.tensor(a, requires_grad=True) for a in arrays]
    cotangent = tg.tensor(u, requires_grad=True)
    y = spec.op(*leaves, **sample.kwargs)
    first = tg.grad(y, leaves, cotangent, create_graph=True, allow_unused=True)
    pairing = sum((g * tg.tensor(wi)).sum() for g, wi in zip(first, w) if g is not None)
    if not isinstance(pairing, tg.Tensor) or not pairing.requires_grad:
        reverse_side = 0.0  # G is identically zero here (e.g. an empty input)
    else:
        second = tg.grad(pairing, [*leaves, cotangent], allow_unused=True)
        reverse_side = sum(
            float(np.sum(values(g) * v))
            for g, v in zip(second, [*tangents, u_tangent])
            if g is not None
        )
    scale = _norm(w) * _norm([values(t) for t in grad_tangents])
    floor = _norm(w) * _norm([*tangents, u_tangent]) * max(1.0, _norm([u]))
    _assert_pairing_equal(
        forward_side, reverse_side, scale, floor, 1e-10, f"{spec.id} {sample.label()}"
    )


def test_the_sweep_covers_every_op_with_a_nonempty_sample():
    """Every OpSpec entry (hence every public op) is swept on at least one sample
    with nonempty inputs and output, so no entry passes vacuously."""
    swept = {case.values[0].id for case in CASES}
    assert swept == {spec.id for spec in OPS}
    for spec in OPS:
        nonempty = [
            sample
            for sample in spec.samples
            if sample.shapes
            and all(np.prod(s, dtype=int) > 0 for s in sample.shapes)
            and _setup(spec, sample)[3].numel() > 0
        ]
        assert nonempty, f"{spec.id}: every sample is empty, the sweep checks nothing"
    assert set(PUBLIC_OPS) <= {spec.name for spec in OPS}


def test_every_primitive_computes_a_nonzero_tangent():
    """A JVP rule returning "no tangent" (zero) is caught even where u happens to be
    orthogonal: every op has a sample whose tangent output is nonzero (one sample
    may legitimately give zero, e.g. relu of a negative number)."""
    zero = []
    for spec in OPS:
        if spec.id in ZERO_DERIVATIVE:
            continue  # checked to be exactly zero below
        nonzero = False
        for sample in spec.samples:
            arrays, tangents, _, _ = _setup(spec, sample)
            _, t = func.jvp(
                lambda *xs: spec.op(*xs, **sample.kwargs),  # noqa: B023
                [tg.tensor(a) for a in arrays],
                [tg.tensor(v) for v in tangents],
            )
            if np.any(values(t)):
                nonzero = True
                break
        if not nonzero:
            zero.append(spec.id)
    assert not zero, f"ops whose tangent is always zero (missing JVP?): {zero}"


# ---------------------------------------------------------------- jvp semantics


def f64(data):
    return tg.tensor(np.asarray(data, dtype=np.float64))


def test_jvp_is_one_forward_pass_with_tangents_on_intermediates():
    x, v = f64([0.5, -1.0, 2.0]), f64([1.0, 2.0, -0.5])
    seen = []

    def f(a):
        h = a.sin()
        seen.append(h._tangent)
        return (h * a).sum()

    out, t = func.jvp(f, (x,), (v,))
    # d/dx sum(x sin x) . v = sum((sin x + x cos x) v)
    xs, vs = values(x), values(v)
    assert_close(out, np.sum(xs * np.sin(xs)))
    assert_close(t, np.sum((np.sin(xs) + xs * np.cos(xs)) * vs))
    assert_close(seen[0], np.cos(xs) * vs)  # the tangent existed during the forward
    assert x._tangent is None  # the caller's primal is left untouched
    assert not out.requires_grad and not t.requires_grad


def test_jvp_outside_a_dual_level_carries_no_tangent():
    x = f64([1.0, 2.0])
    assert (x.exp())._tangent is None
    with raises(tg.GraphError, "dual level"):
        tg._native._make_dual(x, x)


def test_jvp_of_several_inputs_and_outputs():
    a, b = f64([1.0, 2.0]), f64([3.0, -1.0])
    va, vb = f64([0.1, 0.2]), f64([-0.3, 0.4])
    outs, tangents = func.jvp(lambda p, q: (p * q, p.exp()), (a, b), (va, vb))
    assert isinstance(outs, tuple) and isinstance(tangents, tuple)
    assert_close(tangents[0], values(va) * values(b) + values(a) * values(vb))
    assert_close(tangents[1], np.exp(values(a)) * values(va))


def test_jvp_of_an_output_independent_of_the_input_is_zero():
    x = f64([1.0, 2.0])
    const = f64([[5.0, 6.0]])
    out, t = func.jvp(lambda a: const * 2.0, (x,), (f64([1.0, 1.0]),))
    assert_close(out, [[10.0, 12.0]])
    assert_close(t, [[0.0, 0.0]])


def test_jvp_is_linear_in_the_tangent():
    x = f64([[0.3, -0.7], [1.1, 0.4]])
    f = lambda a: (a @ a).tanh().logsumexp(dim=1)
    v1, v2 = f64([[1.0, 0.0], [0.5, -2.0]]), f64([[0.0, 3.0], [1.0, 1.0]])
    _, t1 = func.jvp(f, (x,), (v1,))
    _, t2 = func.jvp(f, (x,), (v2,))
    _, t12 = func.jvp(f, (x,), (v1 * 2.0 + v2,))
    assert_close(t12, 2.0 * values(t1) + values(t2))


def test_jvp_of_float32_inputs_keeps_float32():
    x = tg.tensor([0.5, 1.5], dtype=tg.float32)
    out, t = func.jvp(lambda a: a.exp(), (x,), (tg.ones(2, dtype=tg.float32),))
    assert out.dtype == tg.float32 and t.dtype == tg.float32
    np.testing.assert_allclose(t.numpy(), np.exp([0.5, 1.5]), rtol=1e-6)


def test_jvp_with_primals_that_require_grad_keeps_their_graph():
    """Forward and reverse mode mix: the primal output still backpropagates to x."""
    x = tg.tensor([0.5, 1.0], dtype=tg.float64, requires_grad=True)
    out, t = func.jvp(lambda a: (a.sin() * a).sum(), (x,), (f64([1.0, 0.0]),))
    assert out.requires_grad
    out.backward()
    xs = np.array([0.5, 1.0])
    assert_close(x.grad, np.sin(xs) + xs * np.cos(xs))
    assert_close(t, np.sin(0.5) + 0.5 * np.cos(0.5))


def test_dual_level_nests_and_restores():
    x = f64([1.0])
    with func.dual_level():
        with func.dual_level():
            d = tg._native._make_dual(x, f64([2.0]))
            assert_close(d.exp()._tangent, [2.0 * np.e])
        # still inside the outer level
        assert_close(tg._native._make_dual(x, f64([1.0])).exp()._tangent, [np.e])
    with raises(tg.GraphError, "dual level"):
        tg._native._make_dual(x, x)


def test_dual_level_is_restored_after_an_exception():
    x = f64([1.0])
    with pytest.raises(ZeroDivisionError):
        func.jvp(lambda a: 1 / 0, (x,), (x,))
    with raises(tg.GraphError, "dual level"):
        tg._native._make_dual(x, x)


# ---------------------------------------------------------------- bad input


def test_jvp_tangent_of_the_wrong_shape():
    with raises(tg.ShapeError, "jvp", "(3,)", "(2,)"):
        func.jvp(lambda a: a.sin(), (f64([1.0, 2.0]),), (f64([1.0, 2.0, 3.0]),))


def test_jvp_tangent_of_the_wrong_dtype():
    x = f64([1.0, 2.0])
    with raises(tg.DTypeError, "jvp", "float32", "float64"):
        func.jvp(lambda a: a.sin(), (x,), (tg.ones(2, dtype=tg.float32),))


def test_jvp_primal_and_tangent_counts_must_match():
    x = f64([1.0, 2.0])
    with raises(tg.ArgumentError, "1 primal", "2 tangent"):
        func.jvp(lambda a: a.sin(), (x,), (x, x))
    with raises(tg.ArgumentError, "2 primal", "1 tangent"):
        func.jvp(lambda a, b: a * b, (x, x), (x,))


def test_jvp_rejects_non_tensors():
    x = f64([1.0, 2.0])
    with raises(tg.DTypeError, "tangent 0", "list"):
        func.jvp(lambda a: a.sin(), (x,), ([1.0, 1.0],))
    with raises(tg.DTypeError, "primal 0", "float"):
        func.jvp(lambda a: a.sin(), (2.0,), (x,))


def test_jvp_errors_are_typed_errors_of_the_builtin_families():
    """ShapeError is a ValueError, DTypeError a TypeError: except clauses keep working."""
    x = f64([1.0, 2.0])
    with pytest.raises(ValueError):
        func.jvp(lambda a: a, (x,), (f64([1.0]),))
    with pytest.raises(TypeError):
        func.jvp(lambda a: a, (x,), (tg.ones(2, dtype=tg.float32),))


def test_jvp_of_a_function_that_returns_no_tensor():
    """As grad does: a typed error naming what came back, not an AttributeError."""
    x = f64([1.0, 2.0])
    with raises(tg.DTypeError, "jvp", "float"):
        func.jvp(lambda a: 3.0, (x,), (x,))
    with raises(tg.DTypeError, "jvp", "float"):
        func.jvp(lambda a: (a, 2.0), (x,), (x,))


def test_ops_with_a_zero_derivative_have_a_zero_tangent():
    """floor, sign and their kin are flat almost everywhere: their tangent is exactly 0."""
    for spec in OPS:
        if spec.id not in ZERO_DERIVATIVE:
            continue
        for sample in spec.samples:
            arrays, tangents, _, _ = _setup(spec, sample)
            _, t = func.jvp(
                lambda *xs: spec.op(*xs, **sample.kwargs),  # noqa: B023
                [tg.tensor(a) for a in arrays],
                [tg.tensor(v) for v in tangents],
            )
            assert not np.any(values(t)), spec.id
