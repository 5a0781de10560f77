"""Function transforms (``tapegrad.func``): values against closed forms, finite
differences of gradients and PyTorch; composition; bad input."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pytest
import tapegrad as tg
from helpers import assert_close, raises, values
from op_specs import OPS, make_arrays
from tapegrad import func
from tapegrad.testing import gradgradcheck


def f64(data):
    return tg.tensor(np.asarray(data, dtype=np.float64))


def rand(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------- test functions
#
# Each entry: (tapegrad function of one float64 tensor, the same in torch, a point).
# The torch versions only exist to get torch's Hessian to compare with.

_X_MLP = rand(1, 5, 3)
_Y_MLP = rand(2, 5, 2)
_SHAPES = {"w1": (3, 4), "b1": (4,), "w2": (4, 2), "b2": (2,)}


def _unpack(theta):
    """Splits one flat parameter vector into the MLP's weights (one tensor in, so its
    Hessian is one matrix)."""
    params, start = {}, 0
    for name, shape in _SHAPES.items():
        size = int(np.prod(shape))
        params[name] = theta[start : start + size].reshape(*shape)
        start += size
    return params


N_MLP = sum(int(np.prod(s)) for s in _SHAPES.values())


def mlp_loss(theta):
    """Mean squared error of a 2-layer tanh MLP, as a function of all its weights."""
    p = _unpack(theta)
    hidden = (f64(_X_MLP) @ p["w1"] + p["b1"]).tanh()
    residual = hidden @ p["w2"] + p["b2"] - f64(_Y_MLP)
    return (residual * residual).mean()


def mlp_loss_torch(theta):
    import torch

    p = _unpack(theta)
    x, y = torch.tensor(_X_MLP), torch.tensor(_Y_MLP)
    hidden = torch.tanh(x @ p["w1"] + p["b1"])
    return ((hidden @ p["w2"] + p["b2"] - y) ** 2).mean()


_LABELS = np.array([2, 0, 3])
_ONE_HOT = np.eye(4)[_LABELS]


def cross_entropy(logits):
    """Softmax cross-entropy built from log_softmax (mean over the batch)."""
    return -(logits.log_softmax(dim=1) * f64(_ONE_HOT)).sum() / 3.0


def cross_entropy_torch(logits):
    import torch

    return -(torch.log_softmax(logits, dim=1) * torch.tensor(_ONE_HOT)).sum() / 3.0


_B = rand(3, 3, 3)


def matmul_product(a):
    """sum((A B A)^2): quartic in A, with A on both sides of B."""
    m = a @ f64(_B) @ a
    return (m * m).sum()


def matmul_product_torch(a):
    import torch

    m = a @ torch.tensor(_B) @ a
    return (m * m).sum()


FUNCTIONS = {
    "mlp-tanh-loss": (mlp_loss, mlp_loss_torch, rand(4, N_MLP) * 0.5),
    "logsumexp": (
        lambda x: x.logsumexp(dim=0),
        lambda x: x.logsumexp(dim=0),
        rand(5, 6),
    ),
    "softmax-cross-entropy": (cross_entropy, cross_entropy_torch, rand(6, 3, 4)),
    "matmul-product": (matmul_product, matmul_product_torch, rand(7, 3, 3) * 0.7),
    "x-sin-x": (
        lambda x: (x * x.sin()).sum(),
        lambda x: (x * x.sin()).sum(),
        rand(8, 5) * 2,
    ),
}
FUNCTION_PARAMS = [pytest.param(*v, id=k) for k, v in FUNCTIONS.items()]


def fd_hessian(f, x0, h=1e-5):
    """Central differences of the (reverse-mode) gradient, one column per element."""
    gradient = func.grad(f)
    flat = x0.reshape(-1)
    columns = []
    for k in range(flat.size):
        step = np.zeros_like(flat)
        step[k] = h
        plus = values(gradient(f64((flat + step).reshape(x0.shape))))
        minus = values(gradient(f64((flat - step).reshape(x0.shape))))
        columns.append(((plus - minus) / (2 * h)).reshape(-1))
    return np.stack(columns, axis=1)


@pytest.mark.parametrize(("f", "f_torch", "x0"), FUNCTION_PARAMS)
def test_hessian_matches_finite_differences_of_the_gradient(f, f_torch, x0):
    hess = func.hessian(f)(f64(x0))
    assert tuple(hess.shape) == x0.shape + x0.shape
    n = x0.size
    flat = values(hess).reshape(n, n)
    np.testing.assert_allclose(flat, fd_hessian(f, x0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(flat, flat.T, rtol=1e-12, atol=1e-13)  # symmetric


@pytest.mark.parametrize(("f", "f_torch", "x0"), FUNCTION_PARAMS)
def test_hessian_matches_torch(f, f_torch, x0):
    torch = pytest.importorskip("torch")
    expected = torch.autograd.functional.hessian(f_torch, torch.tensor(x0)).numpy()
    assert_close(func.hessian(f)(f64(x0)), expected, rtol=1e-10, atol=1e-12)


def test_hessian_of_x_sin_x_has_its_closed_form():
    x0 = rand(9, 4)
    # d2/dx2 (x sin x) = 2 cos x - x sin x, on the diagonal only
    expected = np.diag(2 * np.cos(x0) - x0 * np.sin(x0))
    assert_close(func.hessian(FUNCTIONS["x-sin-x"][0])(f64(x0)), expected)


@pytest.mark.parametrize(("f", "f_torch", "x0"), FUNCTION_PARAMS)
def test_hvp_is_the_hessian_times_v(f, f_torch, x0):
    v = rand(10, *x0.shape)
    gradient, product = func.hvp(f, (f64(x0),), (f64(v),))
    hess = values(func.hessian(f)(f64(x0))).reshape(x0.size, x0.size)
    assert_close(
        product, (hess @ v.reshape(-1)).reshape(x0.shape), rtol=1e-9, atol=1e-12
    )
    assert_close(gradient, values(func.grad(f)(f64(x0))))


NESTINGS = {
    "rev-over-rev": lambda f: func.jacrev(func.jacrev(f)),
    "rev-over-fwd": lambda f: func.jacrev(func.jacfwd(f)),
    "fwd-over-fwd": lambda f: func.jacfwd(func.jacfwd(f)),
}


@pytest.mark.parametrize("nesting", NESTINGS)
@pytest.mark.parametrize(("f", "f_torch", "x0"), FUNCTION_PARAMS)
def test_every_nesting_of_jacobians_gives_the_hessian(f, f_torch, x0, nesting):
    """hessian is jacfwd(jacrev(f)); the other three nestings must agree with it."""
    expected = values(func.hessian(f)(f64(x0)))
    got = NESTINGS[nesting](f)(f64(x0))
    assert_close(got, expected, rtol=1e-10, atol=1e-12)


def test_nested_jvp_gives_the_second_directional_derivative():
    """jvp of jvp: d/ds d/dt f(x + s u + t v) = u^T H v (forward over forward)."""
    x, u, v = f64([0.5, 1.0]), f64([1.0, -2.0]), f64([0.5, 3.0])
    f = lambda a: (a * a * a).sum()

    def directional(a):
        return func.jvp(f, (a,), (v,))[1]

    _, second = func.jvp(directional, (x,), (u,))
    assert_close(second, np.sum(6 * values(x) * values(u) * values(v)))


# ---------------------------------------------------------------- perturbation confusion


def _derivative_forward(f):
    return lambda x: func.jvp(f, (x,), (tg.ones_like(x),))[1]


DERIVATIVES = {"fwd": _derivative_forward, "rev": func.grad}


@pytest.mark.parametrize("inner", DERIVATIVES)
@pytest.mark.parametrize("outer", DERIVATIVES)
def test_nested_derivatives_keep_their_variables_apart(outer, inner):
    """Perturbation confusion (Siskind & Pearlmutter): an inner derivative with respect
    to y must not also differentiate the outer x, even where y's value is x's tensor.

    D_x [x * D_y (x + y)] = D_x [x * 1] = 1;
    D_x [D_y (x y^2) at y = x] = D_x [2 x^2] = 4 x = 8 at x = 2."""
    d_outer, d_inner = DERIVATIVES[outer], DERIVATIVES[inner]
    one, two = f64(1.0), f64(2.0)
    assert_close(d_outer(lambda x: x * d_inner(lambda y: x + y)(one))(one), 1.0)
    assert_close(d_outer(lambda x: d_inner(lambda y: x * y * y)(x))(two), 8.0)


def test_differentiating_at_a_tensor_the_function_also_closes_over():
    """grad with respect to the argument only, even when the argument is a tensor
    that requires grad and the function also uses it through a closure."""
    x = tg.tensor(2.0, dtype=tg.float64, requires_grad=True)
    f = lambda y: x * y * y
    assert_close(func.grad(f)(x), 8.0)
    assert_close(func.jacrev(f)(x), 8.0)
    assert_close(func.vjp(f, x)[1](f64(1.0))[0], 8.0)
    assert_close(func.jvp(f, (x,), (f64(1.0),))[1], 8.0)


# ---------------------------------------------------------------- higher order


SECOND_ORDER_CASES = [
    pytest.param(spec, sample, id=f"{spec.id}-{i}-{sample.label()}")
    for spec in OPS
    if spec.out_dtype != tg.float32  # float32 rounding swamps second differences
    for i, sample in enumerate(spec.samples)
]


@pytest.mark.parametrize(("spec", "sample"), SECOND_ORDER_CASES)
def test_gradgradcheck_passes_every_primitive(spec, sample):
    """The shipped checker, with random grad_outputs, over every OpSpec sample: every
    VJP is differentiable (create_graph=True) and its derivative is right.
    (tests/test_higher_order.py checks the same thing by hand.)"""
    arrays = make_arrays(spec, sample, np.float64, f"gg/{spec.id}/{sample.label()}")
    inputs = [tg.tensor(a, requires_grad=True) for a in arrays]
    assert gradgradcheck(lambda *xs: spec.op(*xs, **sample.kwargs), inputs)


# ---------------------------------------------------------------- jacobians


JACOBIAN_CASES = [
    pytest.param(spec, sample, argnum, id=f"{spec.id}-{sample.label()}-arg{argnum}")
    for spec in OPS
    if spec.out_dtype != tg.float32
    for sample in spec.samples[:2]
    for argnum in range(len(sample.shapes))
]


@pytest.mark.parametrize(("spec", "sample", "argnum"), JACOBIAN_CASES)
def test_jacfwd_equals_jacrev_for_every_op(spec, sample, argnum):
    arrays = make_arrays(spec, sample, np.float64, f"jac/{spec.id}/{sample.label()}")
    args = [f64(a) for a in arrays]
    fn = lambda *xs: spec.op(*xs, **sample.kwargs)
    forward = func.jacfwd(fn, argnums=argnum)(*args)
    reverse = func.jacrev(fn, argnums=argnum)(*args)
    out_shape = tuple(fn(*args).shape)
    assert tuple(forward.shape) == out_shape + tuple(args[argnum].shape)
    assert tuple(reverse.shape) == tuple(forward.shape)
    assert_close(forward, values(reverse), rtol=1e-12, atol=1e-14)


def test_jacobian_of_a_map_between_matrices():
    """Jacobian of tanh(W x) for W (4, 3): d out_i / d x_j = (1 - out_i^2) W_ij."""
    w, x = rand(11, 4, 3), rand(12, 3)
    f = lambda v: (f64(w) @ v).tanh()
    out = np.tanh(w @ x)
    expected = (1 - out**2)[:, None] * w
    assert_close(func.jacfwd(f)(f64(x)), expected)
    assert_close(func.jacrev(f)(f64(x)), expected)
    # With respect to a matrix argument: shape out.shape + W.shape.
    g = lambda m, v: (m @ v).tanh()
    jac_w = func.jacrev(g, argnums=0)(f64(w), f64(x))
    assert tuple(jac_w.shape) == (4, 4, 3)
    expected_w = np.einsum("i,ik,j->ikj", 1 - out**2, np.eye(4), x)
    assert_close(jac_w, expected_w)
    assert_close(func.jacfwd(g, argnums=0)(f64(w), f64(x)), expected_w)


def test_jacobians_of_empty_inputs_and_outputs_have_the_right_shape():
    empty, x = f64(np.zeros((0,))), f64([1.0, 2.0])
    assert tuple(func.jacrev(lambda a: a.exp())(empty).shape) == (0, 0)
    assert tuple(func.jacfwd(lambda a: a.exp())(empty).shape) == (0, 0)
    assert tuple(func.jacrev(lambda a: a[:0])(x).shape) == (0, 2)
    assert tuple(func.jacfwd(lambda a: a[:0])(x).shape) == (0, 2)


# ---------------------------------------------------------------- grad and friends


def test_grad_of_grad_of_a_scalar_function():
    f = lambda x: x**3 * x.sin()
    x0 = 0.7
    x = f64(x0)
    df = 3 * x0**2 * np.sin(x0) + x0**3 * np.cos(x0)
    d2f = 6 * x0 * np.sin(x0) + 6 * x0**2 * np.cos(x0) - x0**3 * np.sin(x0)
    d3f = (
        6 * np.sin(x0)
        + 18 * x0 * np.cos(x0)
        - 9 * x0**2 * np.sin(x0)
        - x0**3 * np.cos(x0)
    )
    assert_close(func.grad(f)(x), df)
    assert_close(func.grad(func.grad(f))(x), d2f)
    assert_close(func.grad(func.grad(func.grad(f)))(x), d3f)


def test_grad_of_grad_with_several_arguments():
    # f(a, b) = a^2 b^3: d/db (df/da) = 6 a b^2, d/da (df/da) = 2 b^3
    f = lambda a, b: a * a * b * b * b
    a, b = f64(1.5), f64(-0.5)
    df_da = lambda p, q: func.grad(f, argnums=0)(p, q)
    assert_close(func.grad(df_da, argnums=0)(a, b), 2 * (-0.125))
    assert_close(func.grad(df_da, argnums=1)(a, b), 6 * 1.5 * 0.25)


def test_grad_of_grad_through_a_closure():
    """The outer variable reaches the inner function through a closure, not argnums."""
    f = lambda x, y: x * x * y * y * y
    x0, y0 = f64(1.5), f64(-0.5)
    inner = lambda y: func.grad(lambda x: f(x, y))(x0)
    assert_close(func.grad(inner)(y0), 6 * 1.5 * 0.25)
    # forward over reverse, the same mixed partial
    assert_close(func.jvp(inner, (y0,), (f64(1.0),))[1], 6 * 1.5 * 0.25)


def test_grad_leaves_its_argument_alone():
    x = f64([1.0, 2.0])
    g = func.grad(lambda a: (a * a).sum())(x)
    assert_close(g, [2.0, 4.0])
    assert not x.requires_grad and x.grad is None and x.is_leaf
    assert not g.requires_grad  # nothing outside asked for a graph


def test_grad_of_an_argument_that_requires_grad_is_differentiable_outside():
    """Transforms compose with ordinary autograd: d/dx sum(grad f(x)) = H 1."""
    x = tg.tensor([0.5, 1.0], dtype=tg.float64, requires_grad=True)
    g = func.grad(lambda a: (a * a * a).sum())(x)
    assert g.requires_grad
    assert_close(g, 3 * np.array([0.25, 1.0]))
    g.sum().backward()
    assert_close(x.grad, 6 * np.array([0.5, 1.0]))


def test_value_and_grad():
    x = f64([1.0, -2.0, 0.5])
    value, g = func.value_and_grad(lambda a: (a.exp() * a).sum())(x)
    xs = values(x)
    assert_close(value, np.sum(np.exp(xs) * xs))
    assert_close(g, np.exp(xs) * (1 + xs))


def test_value_and_aux_carry_no_graph_out_of_the_transform():
    """Like jax.value_and_grad / torch.func: when the inputs do not require grad, the
    returned value and aux are plain tensors (no internal graph leaks out)."""
    x = f64([1.0, -2.0])
    (value, aux), _ = func.value_and_grad(
        lambda a: ((a * a).sum(), a.exp()), has_aux=True
    )(x)
    assert not value.requires_grad and value.grad_fn is None
    assert not aux.requires_grad and aux.grad_fn is None


def test_has_aux():
    x = f64([1.0, 2.0])

    def f(a):
        return (a * a).sum(), {"mean": a.mean(), "tag": "ok"}

    g, aux = func.grad(f, has_aux=True)(x)
    assert_close(g, [2.0, 4.0])
    assert aux["tag"] == "ok"
    assert_close(aux["mean"], 1.5)
    (value, aux2), g2 = func.value_and_grad(f, has_aux=True)(x)
    assert_close(value, 5.0)
    assert_close(g2, [2.0, 4.0])
    assert aux2["tag"] == "ok"


def test_argnums_tuple_and_negative():
    a, b, c = f64([1.0, 2.0]), f64([3.0, 4.0]), f64(2.0)
    f = lambda p, q, s: (p * q * s).sum()
    grads = func.grad(f, argnums=(0, 2))(a, b, c)
    assert isinstance(grads, tuple) and len(grads) == 2
    assert_close(grads[0], values(b) * 2.0)
    assert_close(grads[1], np.sum(values(a) * values(b)))
    assert_close(func.grad(f, argnums=-2)(a, b, c), values(a) * 2.0)
    single = func.grad(f, argnums=(1,))(a, b, c)
    assert isinstance(single, tuple) and len(single) == 1


def test_grad_of_an_unused_argument_is_zero():
    a, b = f64([1.0, 2.0]), f64([[3.0]])
    ga, gb = func.grad(lambda p, q: (p * p).sum(), argnums=(0, 1))(a, b)
    assert_close(ga, [2.0, 4.0])
    assert_close(gb, [[0.0]])
    assert gb.dtype == tg.float64


def test_non_tensor_arguments_pass_through():
    x = f64([1.0, 2.0])
    g = func.grad(lambda a, k, mode: (a**k).sum() if mode == "pow" else a.sum(), 0)(
        x, 3, "pow"
    )
    assert_close(g, 3 * values(x) ** 2)


def test_vjp_returns_the_output_and_a_reusable_pullback():
    x, y = f64([0.5, 1.0]), f64([2.0, -1.0])
    out, vjp_fn = func.vjp(lambda a, b: a.sin() * b, x, y)
    assert_close(out, np.sin(values(x)) * values(y))
    u = f64([1.0, 3.0])
    gx, gy = vjp_fn(u)
    assert_close(gx, np.cos(values(x)) * values(y) * values(u))
    assert_close(gy, np.sin(values(x)) * values(u))
    gx2, _ = vjp_fn(u * 2.0)  # the graph is retained: the pullback can be reused
    assert_close(gx2, 2 * values(gx))


def test_vjp_of_several_outputs_takes_one_cotangent_each():
    x = f64([0.5, 1.0])
    (square, total), vjp_fn = func.vjp(lambda a: (a * a, a.sum()), x)
    assert_close(square, values(x) ** 2)
    assert_close(total, 1.5)
    (g,) = vjp_fn(f64([1.0, 1.0]), f64(2.0))
    assert_close(g, 2 * values(x) + 2.0)


def test_vjp_agrees_with_jacrev_and_gradcheck_style_rows():
    x = f64(rand(13, 3))
    f = lambda a: (a.unsqueeze(1) * a.unsqueeze(0)).tanh()
    jac = values(func.jacrev(f)(x))
    _, vjp_fn = func.vjp(f, x)
    u = rand(14, 3, 3)
    (g,) = vjp_fn(f64(u))
    assert_close(g, np.einsum("ij,ijk->k", u, jac))


def test_hvp_of_several_primals():
    # f(a, b) = sum(a^2 b): H = [[2 diag(b), 2 diag(a)], [2 diag(a), 0]]
    a, b = f64([1.0, 2.0]), f64([3.0, -1.0])
    va, vb = f64([0.5, 1.0]), f64([1.0, 2.0])
    grads, products = func.hvp(lambda p, q: (p * p * q).sum(), (a, b), (va, vb))
    assert_close(grads[0], 2 * values(a) * values(b))
    assert_close(grads[1], values(a) ** 2)
    assert_close(products[0], 2 * values(b) * values(va) + 2 * values(a) * values(vb))
    assert_close(products[1], 2 * values(a) * values(va))


def test_hvp_is_forward_over_reverse_not_a_hessian():
    """hvp on a 2000-dim input: H v without forming H (2000 x 2000 would be 32 MB)."""
    n = 2000
    x0, v0 = rand(15, n), rand(16, n)
    f = lambda x: (x.tanh() * x).sum()
    _, product = func.hvp(f, (f64(x0),), (f64(v0),))
    t = np.tanh(x0)
    diagonal = 2 * (1 - t**2) - 2 * x0 * t * (1 - t**2)  # (x tanh x)''
    assert_close(product, diagonal * v0)


def test_transforms_of_a_float32_function_stay_float32():
    x = tg.tensor([0.5, 1.5], dtype=tg.float32)
    f = lambda a: (a * a.sin()).sum()
    assert func.grad(f)(x).dtype == tg.float32
    assert func.hessian(f)(x).dtype == tg.float32
    assert func.jacfwd(lambda a: a.exp())(x).dtype == tg.float32


# ---------------------------------------------------------------- bad input


X = f64([1.0, 2.0])


def test_grad_of_a_non_scalar_function():
    with raises(tg.ShapeError, "grad", "scalar", "(2,)"):
        func.grad(lambda a: a.sin())(X)
    with raises(tg.ShapeError, "scalar", "(2,)"):
        func.hvp(lambda a: a.sin(), (X,), (X,))


def test_grad_of_a_function_that_returns_no_tensor():
    with raises(tg.DTypeError, "grad", "float"):
        func.grad(lambda a: 3.0)(X)
    with raises(tg.DTypeError, "jacrev", "Tensor"):
        func.jacrev(lambda a: [a])(X)


@pytest.mark.parametrize("transform", [func.grad, func.value_and_grad])
def test_argnums_out_of_range(transform):
    f = lambda a: a.sum()
    with raises(tg.ArgumentError, "argnums 1", "out of range", "1 positional"):
        transform(f, argnums=1)(X)
    with raises(tg.ArgumentError, "argnums -2", "out of range"):
        transform(f, argnums=-2)(X)
    with raises(tg.ArgumentError, "argnums 3", "out of range"):
        transform(lambda a, b: (a * b).sum(), argnums=(0, 3))(X, X)
    with raises(tg.ArgumentError, "argnums", "at least one"):
        transform(f, argnums=())(X)


@pytest.mark.parametrize("transform", [func.jacrev, func.jacfwd, func.hessian])
def test_jacobian_argnums_out_of_range(transform):
    with raises(tg.ArgumentError, "argnums 2", "out of range"):
        transform(lambda a: a.sin(), argnums=2)(X)


def test_argnums_of_the_wrong_type():
    with raises((tg.ArgumentError, tg.DTypeError), "argnums"):
        func.grad(lambda a: a.sum(), argnums=1.0)(X)
    with raises((tg.ArgumentError, tg.DTypeError), "argnums"):
        func.grad(lambda a: a.sum(), argnums=("0",))(X)


def test_differentiating_a_non_tensor_argument():
    with raises(tg.DTypeError, "argument 0", "float"):
        func.grad(lambda a: a * 2.0)(3.0)
    with raises(tg.DTypeError, "argument 0", "list"):
        func.jacfwd(lambda a: a)([1.0])


def test_vjp_fn_checks_its_cotangents():
    _, vjp_fn = func.vjp(lambda a: a.sin(), X)
    with raises(tg.ShapeError, "cotangent 0", "(3,)", "(2,)"):
        vjp_fn(f64([1.0, 2.0, 3.0]))
    with raises(tg.ArgumentError, "2 cotangent", "1 output"):
        vjp_fn(X, X)
    with raises(tg.ShapeError, "cotangent 0", "list"):
        vjp_fn([1.0, 2.0])


def test_hvp_tangent_of_the_wrong_shape_or_dtype():
    f = lambda a: (a * a).sum()
    with raises(tg.ShapeError, "(3,)", "(2,)"):
        func.hvp(f, (X,), (f64([1.0, 2.0, 3.0]),))
    with raises(tg.DTypeError, "float32", "float64"):
        func.hvp(f, (X,), (tg.ones(2, dtype=tg.float32),))
    with raises(tg.ArgumentError, "1 primal", "2 tangent"):
        func.hvp(f, (X,), (X, X))


# ---------------------------------------------------------------- documentation


def test_the_transforms_page_examples_run():
    page = Path(__file__).resolve().parent.parent / "docs" / "transforms.md"
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testfile(str(page), module_relative=False, optionflags=flags)
    assert result.attempted > 30 and result.failed == 0


def test_the_transforms_benchmark_runs():
    """benches/transforms.py stays importable and its checked cases run (tiny sizes)."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benches" / "transforms.py"
    spec = importlib.util.spec_from_file_location("bench_transforms", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    row = bench.jacobian_case(3, 5, repeats=1)
    assert row["jacfwd_error"] < 1e-12 and row["jacrev_error"] < 1e-12
    assert row["jacrev_over_jacfwd"] > 0
    table = bench.markdown({"rows": [row, bench.hvp_case(repeats=1)]})
    assert "| n=3, m=5 |" in table and "hvp (forward over reverse)" in table
