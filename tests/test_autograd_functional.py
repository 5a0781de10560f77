"""tg.autograd.functional, tg.autograd.grad/backward, tg.inference_mode,
tg.utils.checkpoint and ``python -m tapegrad --version``: PyTorch's signatures."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tapegrad as tg
from helpers import raises, values
from tapegrad.autograd import functional as AF

F64 = tg.float64
RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 3))
X = RNG.standard_normal(3)
Y = RNG.standard_normal(2)


def t(array, requires_grad=False):
    return tg.tensor(np.asarray(array), dtype=F64, requires_grad=requires_grad)


def cubic(x):
    """f(x) = sum(x^3) + x0 * x1: gradient 3x^2 + (x1, x0, 0), Hessian
    diag(6x) + [[0,1,0],[1,0,0],[0,0,0]]."""
    return (x**3).sum() + x[0] * x[1]


def cubic_hessian(x):
    h = np.diag(6 * x)
    h[0, 1] = h[1, 0] = 1.0
    return h


def two_inputs(x, y):
    """A scalar of two inputs: sum(tanh(A x)) * sum(y^2)."""
    return (t(A) @ x).tanh().sum() * (y * y).sum()


def numeric_jacobian(f, xs, eps=1e-6):
    """Central differences: blocks[i][j] of f's outputs (a tuple) by inputs xs."""
    outs = [np.asarray(o) for o in f(*xs)]
    blocks = [[np.zeros(o.shape + x.shape) for x in xs] for o in outs]
    for j, x in enumerate(xs):
        for k in np.ndindex(x.shape):
            up = [v.copy() for v in xs]
            down = [v.copy() for v in xs]
            up[j][k] += eps
            down[j][k] -= eps
            for i, (a, b) in enumerate(zip(f(*up), f(*down))):
                blocks[i][j][(...,) + k] = (np.asarray(a) - np.asarray(b)) / (2 * eps)
    return blocks


def np_outputs(x, y):
    return (np.sin(x) * y[0], np.array((x * x).sum() + y[1]))


def tg_outputs(x, y):
    return (x.sin() * y[0], (x * x).sum() + y[1])


# ---- jacobian and hessian


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_jacobian_structures_match_finite_differences(strategy):
    expected = numeric_jacobian(np_outputs, [X, Y])
    both = AF.jacobian(tg_outputs, (t(X), t(Y)), strategy=strategy)
    assert isinstance(both, tuple) and len(both) == 2
    for i in range(2):
        for j in range(2):
            assert both[i][j].shape == expected[i][j].shape
            np.testing.assert_allclose(values(both[i][j]), expected[i][j], atol=1e-8)
    # One input, one output: a single tensor of shape out.shape + in.shape.
    single = AF.jacobian(lambda x: x.sin() * 2.0, t(X), strategy=strategy)
    np.testing.assert_allclose(values(single), np.diag(2 * np.cos(X)), atol=1e-12)
    # Tuple of inputs, one output: a tuple over the inputs.
    per_input = AF.jacobian(lambda x, y: x * y[0], (t(X), t(Y)), strategy=strategy)
    assert isinstance(per_input, tuple) and per_input[1].shape == (3, 2)
    np.testing.assert_allclose(values(per_input[1])[:, 0], X, atol=1e-12)
    assert not values(per_input[1])[:, 1].any()  # independent: zeros


def test_hessian_of_one_and_of_several_inputs():
    for strategy in ("reverse-mode", "forward-mode"):
        h = AF.hessian(cubic, t(X), outer_jacobian_strategy=strategy)
        np.testing.assert_allclose(values(h), cubic_hessian(X), atol=1e-12)
    blocks = AF.hessian(two_inputs, (t(X), t(Y)), vectorize=True)
    expected = numeric_jacobian(
        lambda x, y: tuple(
            values(g) for g in tg.func.grad(two_inputs, argnums=(0, 1))(t(x), t(y))
        ),
        [X, Y],
    )
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(values(blocks[i][j]), expected[i][j], atol=1e-7)
    with raises(tg.ShapeError, "should contain a single element", "(3,)"):
        AF.hessian(lambda x: x * 2.0, t(X))


# ---- products


def test_vjp_jvp_hvp_vhp_values():
    v3 = RNG.standard_normal(3)
    out, vjp = AF.vjp(lambda x: x.sin() * 2.0, t(X), t(v3))
    np.testing.assert_allclose(values(out), 2 * np.sin(X), atol=1e-12)
    np.testing.assert_allclose(values(vjp), v3 * 2 * np.cos(X), atol=1e-12)
    out, jvp = AF.jvp(lambda x: x.sin() * 2.0, t(X), t(v3))
    np.testing.assert_allclose(values(jvp), v3 * 2 * np.cos(X), atol=1e-12)

    value, hv = AF.hvp(cubic, t(X), t(v3))
    np.testing.assert_allclose(values(value), (X**3).sum() + X[0] * X[1], atol=1e-12)
    np.testing.assert_allclose(values(hv), cubic_hessian(X) @ v3, atol=1e-12)
    value, vh = AF.vhp(cubic, t(X), t(v3))
    np.testing.assert_allclose(values(vh), v3 @ cubic_hessian(X), atol=1e-12)

    # Tuples in, tuples out; v may be None for a one-element output.
    _, grads = AF.vjp(two_inputs, (t(X), t(Y)))
    expected = tg.func.grad(two_inputs, argnums=(0, 1))(t(X), t(Y))
    assert isinstance(grads, tuple) and len(grads) == 2
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(values(g), values(e), atol=1e-12)
    _, hvs = AF.hvp(two_inputs, (t(X), t(Y)), (t(v3), t(Y)))
    blocks = AF.hessian(two_inputs, (t(X), t(Y)))
    for i in range(2):
        direct = values(blocks[i][0]) @ v3 + values(blocks[i][1]) @ Y
        np.testing.assert_allclose(values(hvs[i]), direct, atol=1e-10)
    out, tangents = AF.jvp(tg_outputs, (t(X), t(Y)), (t(v3), t(Y)))
    assert isinstance(out, tuple) and isinstance(tangents, tuple)


def test_create_graph_keeps_results_differentiable():
    x = t(X, requires_grad=True)
    _, g = AF.vjp(cubic, x)
    assert not g.requires_grad  # PyTorch detaches without create_graph
    _, g = AF.vjp(cubic, x, create_graph=True)
    assert g.requires_grad
    g.sum().backward()  # d/dx sum(grad) = H @ 1
    np.testing.assert_allclose(values(x.grad), cubic_hessian(X).sum(1), atol=1e-12)
    h = AF.hessian(cubic, x, create_graph=True)
    assert h.requires_grad and not AF.hessian(cubic, x).requires_grad


def test_strict_mode_and_bad_arguments():
    with raises(tg.GraphError, "independent of input 1", "strict mode"):
        AF.vjp(lambda x, y: x * 2.0, (t(X), t(Y)), t(X), strict=True)
    with raises(tg.GraphError, "independent of input 0"):
        AF.jacobian(lambda x: t(X) * 2.0, t(X), strict=True)
    with raises(tg.GraphError, "hessian", "independent of input 0"):
        AF.hessian(lambda x: x.sum() * 2.0, t(X), strict=True)  # linear: H = 0
    AF.jacobian(lambda x: x * 2.0, t(X), strict=True)  # dependent: fine
    with raises(tg.ArgumentError, "v can only be None"):
        AF.vjp(lambda x: x * 2.0, t(X))
    with raises(tg.ArgumentError, "v can only be None"):
        AF.jvp(lambda x: x * 2.0, t(X))
    with raises(tg.ShapeError, "entry 0 of v has shape (2,)", "(3,)"):
        AF.jvp(lambda x: x * 2.0, t(X), t(Y))
    with raises(tg.DTypeError, "Tensor or a tuple of Tensors", "index 1", "int"):
        AF.jacobian(lambda x, y: x, (t(X), 3))
    with raises(tg.ArgumentError, "strategy"):
        AF.jacobian(lambda x: x, t(X), strategy="sideways")


def test_functional_against_torch():
    torch = pytest.importorskip("torch")
    taf = torch.autograd.functional
    v3 = RNG.standard_normal(3)

    def both(lib, tensor):
        def f(x, y):
            return (tensor(A) @ x).tanh().sum() * (y * y).sum() + (x**3).sum()

        return f

    def tt(a):
        return torch.tensor(a, dtype=torch.float64)

    ours, theirs = both(tg, t), both(torch, tt)
    expected = taf.hessian(theirs, (tt(X), tt(Y)))
    got = AF.hessian(ours, (t(X), t(Y)))
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(values(got[i][j]), expected[i][j].numpy(), 1e-10)
    _, expected = taf.hvp(theirs, (tt(X), tt(Y)), (tt(v3), tt(Y)))
    _, got = AF.hvp(ours, (t(X), t(Y)), (t(v3), t(Y)))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(values(g), e.numpy(), 1e-10)
    expected = taf.jacobian(lambda x: torch.sin(x) * x, tt(X))
    got = AF.jacobian(lambda x: x.sin() * x, t(X))
    np.testing.assert_allclose(values(got), expected.numpy(), 1e-12)
    _, expected = taf.vhp(theirs, (tt(X), tt(Y)), (tt(v3), tt(Y)))
    _, got = AF.vhp(ours, (t(X), t(Y)), (t(v3), t(Y)))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(values(g), e.numpy(), 1e-10)

    def pair(lib_sin):
        return lambda x, y: (lib_sin(x) * y[0], (x * x).sum() * y[1])

    ours, theirs = pair(lambda x: x.sin()), pair(torch.sin)
    v = (RNG.standard_normal(3), np.array(0.7))
    _, expected = taf.vjp(theirs, (tt(X), tt(Y)), tuple(tt(a) for a in v))
    _, got = AF.vjp(ours, (t(X), t(Y)), tuple(t(a) for a in v))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(values(g), e.numpy(), 1e-12)
    w = (v3, RNG.standard_normal(2))
    _, expected = taf.jvp(theirs, (tt(X), tt(Y)), tuple(tt(a) for a in w))
    _, got = AF.jvp(ours, (t(X), t(Y)), tuple(t(a) for a in w))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(values(g), e.numpy(), 1e-12)
    expected = taf.jacobian(theirs, (tt(X), tt(Y)))
    for strategy in ("reverse-mode", "forward-mode"):
        got = AF.jacobian(ours, (t(X), t(Y)), strategy=strategy)
        for i in range(2):
            for j in range(2):
                np.testing.assert_allclose(
                    values(got[i][j]), expected[i][j].numpy(), 1e-12
                )


# ---- tg.autograd.grad and tg.autograd.backward


def test_autograd_grad_signature_and_options():
    x = t(X, requires_grad=True)
    unused = t(Y, requires_grad=True)
    y = (x * x).sum()
    (g,) = tg.autograd.grad(y, x, retain_graph=True)
    np.testing.assert_allclose(values(g), 2 * X)
    g, none = tg.autograd.grad([y], [x, unused], allow_unused=True, retain_graph=True)
    assert none is None
    g, zeros = tg.autograd.grad(y, [x, unused], materialize_grads=True)
    assert values(zeros).tolist() == [0.0, 0.0]
    with raises(tg.GraphError):
        tg.autograd.grad((x * x).sum(), [x, unused])
    with raises(tg.ArgumentError, "materialize_grads"):
        tg.autograd.grad(y, x, allow_unused=False, materialize_grads=True)

    # is_grads_batched: each row of grad_outputs is one cotangent.
    z = x * t([1.0, 2.0, 3.0])
    (rows,) = tg.autograd.grad(z, x, tg.eye(3, dtype=F64), is_grads_batched=True)
    np.testing.assert_allclose(values(rows), np.diag([1.0, 2.0, 3.0]))
    (second,) = tg.autograd.grad(
        tg.autograd.grad((x**3).sum(), x, create_graph=True)[0].sum(), x
    )
    np.testing.assert_allclose(values(second), 6 * X)


def test_autograd_backward_roots_seeds_and_inputs():
    x = t(X, requires_grad=True)
    w = t(Y, requires_grad=True)
    a = (x * x).sum()
    b = x * 3.0
    tg.autograd.backward([a, b], [None, t([1.0, 0.0, 2.0])])
    np.testing.assert_allclose(values(x.grad), 2 * X + np.array([3.0, 0.0, 6.0]))
    x.grad = None
    c = (x * w.sum()).sum()
    tg.autograd.backward(c, inputs=[w])  # only w accumulates
    assert x.grad is None
    np.testing.assert_allclose(values(w.grad), [X.sum()] * 2)
    roots = [(x * 2.0).sum(), (x * 3.0).sum()]
    with tg.no_grad():  # backward still works inside no_grad, as in PyTorch
        tg.autograd.backward(roots)
    np.testing.assert_allclose(values(x.grad), [5.0] * 3)
    with raises(tg.ShapeError, "implicitly created only for scalar outputs"):
        tg.autograd.backward(x * 2.0)
    with raises(tg.GraphError, "element 0 of tensors does not require grad"):
        tg.autograd.backward(t(X).sum())
    with raises(tg.ArgumentError, "2 gradient tensor(s) for 1 output"):
        tg.autograd.backward([a], [None, None])


# ---- inference_mode


def test_inference_mode_is_no_grad_in_every_spelling():
    x = t(X, requires_grad=True)
    with tg.inference_mode():
        assert not (x * 2.0).requires_grad and tg.is_inference_mode_enabled()
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled() and not tg.is_inference_mode_enabled()
    with tg.inference_mode(mode=False):
        assert (x * 2.0).requires_grad and not tg.is_inference_mode_enabled()

    @tg.inference_mode
    def bare():
        return (x * 2.0).requires_grad

    @tg.inference_mode()
    def called():
        return (x * 2.0).requires_grad

    @tg.inference_mode(False)
    def off():
        return (x * 2.0).requires_grad

    assert (bare(), called(), off()) == (False, False, True)
    assert bare.__name__ == "bare"


# ---- tg.utils.checkpoint


def test_utils_checkpoint_takes_pytorchs_argument_order():
    from tapegrad.utils.checkpoint import checkpoint, checkpoint_sequential

    tg.manual_seed(0)
    layers = [tg.nn.Linear(4, 4, dtype=F64) for _ in range(4)]
    model = tg.nn.Sequential(*layers)
    x = tg.randn(2, 4, dtype=F64, requires_grad=True)
    model(x).sum().backward()
    expected = [values(p.grad) for p in model.parameters()] + [values(x.grad)]

    for run in (
        lambda: checkpoint_sequential(model, 2, x, use_reentrant=False),
        lambda: checkpoint_sequential(layers, 3, x, use_reentrant=True),
        lambda: checkpoint(model, x, use_reentrant=False, preserve_rng_state=True),
    ):
        model.zero_grad()
        x.grad = None
        run().sum().backward()
        got = [values(p.grad) for p in model.parameters()] + [values(x.grad)]
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-12)

    with raises(tg.DTypeError, "segments must be an int", "functions, segments, input"):
        checkpoint_sequential(model, x, 2)
    with raises(tg.DTypeError, "tapegrad.utils.checkpoint.checkpoint_sequential"):
        tg.checkpoint_sequential(layers, 2, x)  # PyTorch's order on tapegrad's own
    with raises(tg.ArgumentError, "unexpected keyword argument 'context_fn'"):
        checkpoint(model, x, context_fn=None)
    with raises(tg.ArgumentError, "preserve_rng_state=False is not supported"):
        checkpoint(model, x, preserve_rng_state=False)
    with raises(tg.ArgumentError, "segments=5"):
        checkpoint_sequential(layers, 5, x)


# ---- python -m tapegrad --version


def test_version_flag():
    done = subprocess.run(
        [sys.executable, "-m", "tapegrad", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.strip() == f"tapegrad {tg.__version__}"
