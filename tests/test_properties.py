"""Hypothesis properties: broadcasting binary ops, reductions, VJP linearity."""

from __future__ import annotations

import numpy as np
import tapegrad as tg
from helpers import values
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from op_specs import OPS, make_arrays

NP_OF = {tg.float32: np.float32, tg.float64: np.float64}
TOL = {
    tg.float32: {"rtol": 2e-5, "atol": 1e-5},
    tg.float64: {"rtol": 1e-10, "atol": 1e-12},
}


def _sum_to(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Undo broadcasting: sum over the leading and the stretched axes."""
    lead = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(lead)))
    stretched = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True)


def _tie(a, b):
    return (a == b).astype(np.float64)


# name: (tapegrad op, forward reference, (grad_a, grad_b) reference, domain of b)
BINARY = {
    "add": (lambda a, b: a + b, np.add, lambda g, a, b: (g, g)),
    "sub": (lambda a, b: a - b, np.subtract, lambda g, a, b: (g, -g)),
    "mul": (lambda a, b: a * b, np.multiply, lambda g, a, b: (g * b, g * a)),
    "truediv": (
        lambda a, b: a / b,
        np.divide,
        lambda g, a, b: (g / b, -g * a / (b * b)),
    ),
    "pow": (
        lambda a, b: a**b,
        np.power,
        lambda g, a, b: (g * b * a ** (b - 1), g * a**b * np.log(a)),
    ),
    "maximum": (
        tg.maximum,
        np.maximum,
        lambda g, a, b: (
            g * ((a > b) + 0.5 * _tie(a, b)),
            g * ((b > a) + 0.5 * _tie(a, b)),
        ),
    ),
    "minimum": (
        tg.minimum,
        np.minimum,
        lambda g, a, b: (
            g * ((a < b) + 0.5 * _tie(a, b)),
            g * ((b < a) + 0.5 * _tie(a, b)),
        ),
    ),
}

DTYPE_PAIRS = st.sampled_from(
    [
        (tg.float32, tg.float32),
        (tg.float64, tg.float64),
        (tg.float32, tg.float64),
        (tg.float64, tg.float32),
    ]
)
SHAPES = hnp.mutually_broadcastable_shapes(
    num_shapes=2, min_dims=0, max_dims=4, max_side=3
)


def _values(shape, positive_only=False):
    lo = 0.25 if positive_only else -3.0
    # Small integers divided by 4 make ties (maximum, minimum) likely.
    quarter = st.integers(int(lo * 4), 12).map(lambda k: k / 4.0)
    return hnp.arrays(np.float64, shape, elements=quarter | st.floats(lo, 3.0))


@given(
    name=st.sampled_from(sorted(BINARY)),
    shapes=SHAPES,
    dtypes=DTYPE_PAIRS,
    data=st.data(),
)
def test_binary_ops_broadcast_like_numpy(name, shapes, dtypes, data):
    op, ref, vjp = BINARY[name]
    shape_a, shape_b = shapes.input_shapes
    a_np = data.draw(_values(shape_a, positive_only=name == "pow"), label="a")
    b_np = data.draw(_values(shape_b, positive_only=name == "truediv"), label="b")
    a_np = a_np.astype(NP_OF[dtypes[0]]).astype(np.float64)
    b_np = b_np.astype(NP_OF[dtypes[1]]).astype(np.float64)
    a = tg.tensor(a_np, dtype=dtypes[0], requires_grad=True)
    b = tg.tensor(b_np, dtype=dtypes[1], requires_grad=True)

    out = op(a, b)
    promoted = tg.result_type(a, b)  # a 0-d operand only raises the category
    assert out.dtype == promoted
    assert tuple(out.shape) == shapes.result_shape
    # The op computes in the promoted dtype: the reference sees the operands rounded to it
    # (a float64 0-d operand of a float32 tensor is computed in float32, as in PyTorch).
    a_np = a_np.astype(NP_OF[promoted]).astype(np.float64)
    b_np = b_np.astype(NP_OF[promoted]).astype(np.float64)
    np.testing.assert_allclose(values(out), ref(a_np, b_np), **TOL[promoted])

    g = data.draw(_values(shapes.result_shape), label="grad_output")
    g = g.astype(NP_OF[promoted]).astype(np.float64)
    out.backward(gradient=tg.tensor(g, dtype=promoted))
    want_a, want_b = (
        _sum_to(np.broadcast_to(w, g.shape), s)
        for w, s in zip(vjp(g, a_np, b_np), (shape_a, shape_b))
    )
    for x, want in ((a, want_a), (b, want_b)):
        assert tuple(x.grad.shape) == tuple(x.shape)
        assert x.grad.dtype == x.dtype
        np.testing.assert_allclose(values(x.grad), want, rtol=1e-4, atol=1e-4)


@given(
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3),
    data=st.data(),
    keepdim=st.booleans(),
    dtype=st.sampled_from([tg.float32, tg.float64]),
    reduce=st.sampled_from(["sum", "mean", "max", "min", "logsumexp"]),
)
def test_reductions_over_random_dims(shape, data, keepdim, dtype, reduce):
    ndim = len(shape)
    dims = data.draw(
        st.lists(st.integers(0, max(ndim - 1, 0)), unique=True, max_size=ndim)
        if ndim
        else st.just([])
    )
    reduced = [shape[d] for d in dims] if dims else list(shape)
    assume(reduce in ("sum",) or all(reduced))  # empty mean/max/min/logsumexp differ
    assume(ndim or reduce != "logsumexp")  # logsumexp needs a dim
    negative = data.draw(
        st.lists(st.booleans(), min_size=len(dims), max_size=len(dims))
    )
    dim = tuple(d - ndim if neg else d for d, neg in zip(dims, negative))
    x_np = data.draw(_values(shape)).astype(NP_OF[dtype]).astype(np.float64)
    x = tg.tensor(x_np, dtype=dtype, requires_grad=True)

    kwargs = {"keepdim": keepdim}
    if dims or reduce == "logsumexp":
        kwargs["dim"] = dim if dims else tuple(range(ndim))
    axis = kwargs.get("dim")
    # The reductions over several dims are amax/amin (max(dim) takes one dim).
    method = {"max": "amax", "min": "amin"}.get(reduce, reduce)
    out = getattr(x, method)(**kwargs)
    if reduce == "logsumexp":
        m = np.max(x_np, axis=axis, keepdims=True) if x_np.size else 0.0
        expected = np.log(np.sum(np.exp(x_np - m), axis=axis, keepdims=True)) + m
        expected = expected if keepdim else np.squeeze(expected, axis=axis)
    else:
        expected = getattr(np, reduce)(x_np, axis=axis, keepdims=keepdim)
    assert out.dtype == dtype
    assert tuple(out.shape) == np.shape(expected)
    np.testing.assert_allclose(values(out), expected, **TOL[dtype])
    out.sum().backward()
    assert tuple(x.grad.shape) == shape and x.grad.dtype == dtype
    if reduce == "sum":
        np.testing.assert_array_equal(values(x.grad), np.ones(shape))


LINEAR_CASES = [(spec, sample) for spec in OPS for sample in spec.samples]


@given(
    case=st.sampled_from(LINEAR_CASES),
    alpha=st.floats(-3, 3),
    beta=st.floats(-3, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_vjp_is_linear_in_grad_output(case, alpha, beta, seed):
    spec, sample = case
    arrays = make_arrays(spec, sample, np.float64, f"{spec.id}/{sample.label()}")
    inputs = [tg.tensor(a, requires_grad=True) for a in arrays]
    out = spec.op(*inputs, **sample.kwargs)
    rng = np.random.default_rng(seed)
    g1, g2 = rng.standard_normal((2, *out.shape))

    def vjp(g):
        cotangent = tg.tensor(np.asarray(g, dtype=np.float64), dtype=out.dtype)
        grads = tg.grad(out, inputs, grad_outputs=cotangent, retain_graph=True)
        for x, grad in zip(inputs, grads):
            assert tuple(grad.shape) == tuple(x.shape) and grad.dtype == x.dtype
        return [values(grad) for grad in grads]

    combined = vjp(alpha * g1 + beta * g2)
    tol = 1e-9 if out.dtype == tg.float64 else 1e-5
    for got, v1, v2 in zip(combined, vjp(g1), vjp(g2)):
        np.testing.assert_allclose(got, alpha * v1 + beta * v2, rtol=tol, atol=tol)


def _slice_bound():
    return st.none() | st.integers(-7, 7) | st.sampled_from([-(2**63), 2**63, 2**70])


def _step():
    return st.none() | st.sampled_from([1, 2, 3, -1, -2, -3, 2**62, -(2**63)])


def _basic_index(ndim):
    part = st.one_of(
        st.builds(slice, _slice_bound(), _slice_bound(), _step()),
        st.none(),
        st.integers(-1, 0),
    )
    return st.lists(part, max_size=ndim + 1).flatmap(
        lambda parts: (
            st.integers(0, len(parts)).map(
                lambda at: tuple(parts[:at]) + (Ellipsis,) + tuple(parts[at:])
            )
            | st.just(tuple(parts))
        )
    )


@given(
    data=st.data(),
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5),
)
def test_basic_indexing_matches_numpy(data, shape):
    x_np = np.arange(float(np.prod(shape))).reshape(shape)
    index = data.draw(_basic_index(len(shape)), label="index")
    ints = sum(isinstance(i, int) for i in index)
    assume(ints <= len(shape) - sum(isinstance(i, slice) for i in index))
    expected = x_np[index]
    x = tg.tensor(x_np, requires_grad=True)
    out = x[index]
    assert tuple(out.shape) == expected.shape
    np.testing.assert_array_equal(values(out), expected)
    g = np.arange(1.0, expected.size + 1).reshape(expected.shape)
    out.backward(gradient=tg.tensor(g))
    want = np.zeros(shape)
    want[index] += g  # basic indexing never repeats an element
    np.testing.assert_array_equal(values(x.grad), want)


@given(
    data=st.data(),
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
)
def test_integer_array_index_matches_numpy(data, shape):
    axis = data.draw(st.integers(0, len(shape) - 1), label="axis")
    n = shape[axis]
    picks = data.draw(
        hnp.arrays(
            np.int64,
            hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=4),
            elements=st.integers(-n, n - 1),
        ),
        label="picks",
    )
    index = (slice(None),) * axis + (picks,)
    x_np = np.arange(float(np.prod(shape))).reshape(shape)
    expected = x_np[index]
    x = tg.tensor(x_np, requires_grad=True)
    out = x[index]
    np.testing.assert_array_equal(values(out), expected)
    g = np.arange(1.0, expected.size + 1).reshape(expected.shape)
    out.backward(gradient=tg.tensor(g))
    want = np.zeros(shape)
    np.add.at(want, index, g)  # repeated picks accumulate
    np.testing.assert_array_equal(values(x.grad), want)
