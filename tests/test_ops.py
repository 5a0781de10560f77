"""Table-driven op tests: forward vs NumPy, float64 gradcheck, error inputs.

Every case comes from ``op_specs.OPS``; see that module for how to add an op.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tapegrad as tg
from helpers import raises
from op_specs import NOT_OPS, OPS, PUBLIC_OPS, SPELLINGS, make_arrays
from tapegrad.testing import gradcheck

DTYPES = {"float32": (np.float32, tg.float32), "float64": (np.float64, tg.float64)}

# Forward tolerances against a float64 reference evaluated on the same inputs.
TOLERANCES = {
    tg.float32: {"rtol": 3e-5, "atol": 2e-6},
    tg.float64: {"rtol": 1e-9, "atol": 1e-12},
}

CASES = [
    pytest.param(spec, sample, id=f"{spec.id}-{i}-{sample.label()}")
    for spec in OPS
    for i, sample in enumerate(spec.samples)
]
ERROR_CASES = [
    pytest.param(spec, case, id=f"{spec.id}-{i}-{case.label()}")
    for spec in OPS
    for i, case in enumerate(spec.errors)
]


def _inputs(spec, sample, dtype_name, requires_grad=False):
    np_dtype, tg_dtype = DTYPES[dtype_name]
    seed = f"{spec.id}/{sample.label()}"
    arrays = make_arrays(spec, sample, np_dtype, seed)
    tensors = [
        tg.tensor(a, dtype=tg_dtype, requires_grad=requires_grad) for a in arrays
    ]
    return arrays, tensors


@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
@pytest.mark.parametrize(("spec", "sample"), CASES)
def test_forward_matches_numpy(spec, sample, dtype_name):
    arrays, tensors = _inputs(spec, sample, dtype_name)
    out = spec.op(*tensors, **sample.kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # e.g. mean of nothing
        expected = np.asarray(
            spec.ref(*[a.astype(np.float64) for a in arrays], **sample.kwargs)
        )
    assert isinstance(out, tg.Tensor)
    out_dtype = spec.out_dtype or DTYPES[dtype_name][1]
    assert out.dtype == out_dtype
    assert tuple(out.shape) == expected.shape
    assert out.requires_grad is False
    np.testing.assert_allclose(
        out.numpy(), expected, equal_nan=True, **TOLERANCES[out_dtype]
    )


@pytest.mark.parametrize(("spec", "sample"), CASES)
def test_gradcheck_float64(spec, sample):
    _, tensors = _inputs(spec, sample, "float64", requires_grad=True)
    out = spec.op(*tensors, **sample.kwargs)
    assert out.requires_grad
    fn = lambda *ts: spec.op(*ts, **sample.kwargs)
    assert gradcheck(fn, tensors, **spec.gradcheck_kwargs)


@pytest.mark.parametrize(("spec", "sample"), CASES)
def test_backward_gives_input_shaped_grads(spec, sample):
    """backward() of sum(out) fills every leaf's .grad with its shape and dtype."""
    for dtype_name in DTYPES:
        _, tensors = _inputs(spec, sample, dtype_name, requires_grad=True)
        spec.op(*tensors, **sample.kwargs).sum().backward()
        for x in tensors:
            assert x.grad is not None
            assert tuple(x.grad.shape) == tuple(x.shape)
            assert x.grad.dtype == x.dtype


@pytest.mark.parametrize(
    ("spec", "sample"),
    [case for case in CASES if case.values[0].alternates],
)
def test_alternate_spellings_agree(spec, sample):
    """Method, function and operator spellings of one op give the same values."""
    _, tensors = _inputs(spec, sample, "float64")
    expected = spec.op(*tensors, **sample.kwargs).numpy()
    for alternate in spec.alternates:
        got = alternate(*tensors, **sample.kwargs)
        np.testing.assert_array_equal(got.numpy(), expected)


@pytest.mark.parametrize(("spec", "case"), ERROR_CASES)
def test_error_inputs(spec, case):
    arrays = [np.ones(shape) for shape in case.shapes]
    tensors = [tg.tensor(a, requires_grad=True) for a in arrays]
    with raises(case.exc, *case.fragments):
        spec.op(*tensors, **case.kwargs)


def test_every_public_op_has_a_spec():
    """Fails when a differentiable op is public but missing from OPS."""
    covered = {spec.name for spec in OPS if spec.samples}
    missing = sorted(set(PUBLIC_OPS) - covered)
    assert not missing, f"ops without an OpSpec entry in tests/op_specs.py: {missing}"

    public = {n for n in dir(tg.Tensor) if not n.startswith("_") or n in SPELLINGS}
    public |= {n for n in getattr(tg, "__all__", dir(tg)) if not n.startswith("_")}
    unknown = sorted(
        n for n in public if SPELLINGS.get(n, n) not in covered and n not in NOT_OPS
    )
    assert not unknown, (
        f"public names with no OpSpec entry: {unknown}; add an entry to "
        "tests/op_specs.py, or list the name in NOT_OPS if it is not an op"
    )


def test_public_ops_exist():
    """Each listed op is reachable under the spelling the issue names."""
    x = tg.ones(2, 2)
    methods = set(PUBLIC_OPS) - {
        "add",
        "sub",
        "mul",
        "truediv",
        "pow",
        "neg",
        "getitem",
        "where",
        "cat",
        "stack",
        "maximum",
        "minimum",
        "matmul",
    }
    for name in sorted(methods):
        assert hasattr(x, name), f"Tensor has no {name}"
    for dunder in (
        "__add__",
        "__radd__",
        "__sub__",
        "__rsub__",
        "__mul__",
        "__rmul__",
        "__truediv__",
        "__rtruediv__",
        "__pow__",
        "__rpow__",
        "__matmul__",
        "__neg__",
        "__abs__",
        "__getitem__",
    ):
        assert hasattr(tg.Tensor, dunder), f"Tensor has no {dunder}"
    for name in (
        "where",
        "cat",
        "stack",
        "maximum",
        "minimum",
        "matmul",
        "exp",
        "log",
        "sqrt",
        "sin",
        "cos",
        "tanh",
        "sigmoid",
        "relu",
        "abs",
    ):
        assert callable(getattr(tg, name, None)), f"tapegrad has no {name}()"


# Views made inside tapegrad (strided, transposed, flipped, broadcast): the core
# sees non-contiguous inputs here, which NumPy-side layouts never produce.
VIEWS = {
    "tg-strided": (lambda v: _interleave(v), lambda t: t[..., ::2]),
    "tg-transposed": (
        lambda v: np.ascontiguousarray(np.swapaxes(v, -1, -2)),
        lambda t: t.transpose(-1, -2),
    ),
    "tg-flipped": (lambda v: np.ascontiguousarray(v[::-1]), lambda t: t[::-1]),
    "tg-expanded": (lambda v: v[:1].copy(), lambda t: t.expand(2, *t.shape[1:])),
}


def _interleave(values):
    wide = np.zeros((*values.shape[:-1], 2 * values.shape[-1]))
    wide[..., ::2] = values
    return wide


def _view_applies(view, sample, arrays):
    if sample.layout != "contiguous" or not arrays:
        return False
    if view == "tg-transposed":
        return all(a.ndim >= 2 for a in arrays)
    if view == "tg-expanded":
        return all(a.ndim >= 1 and a.shape[0] == 2 for a in arrays)
    return all(a.ndim >= 1 for a in arrays)


VIEW_CASES = [
    pytest.param(spec, sample, view, id=f"{spec.id}-{i}-{sample.label()}-{view}")
    for spec in OPS
    for i, sample in enumerate(spec.samples)
    for view in VIEWS
    if _view_applies(view, sample, [np.zeros(s) for s in sample.shapes])
    # `view` refuses strides that do not allow its shape, as PyTorch's does (the error is
    # checked in tests/test_inplace.py)
    and not (spec.name == "view" and view in ("tg-transposed", "tg-expanded"))
]


@pytest.mark.parametrize(("spec", "sample", "view"), VIEW_CASES)
def test_ops_on_tapegrad_views(spec, sample, view):
    """Forward and float64 gradcheck when inputs are views of other tensors."""
    to_base, make_view = VIEWS[view]
    arrays = make_arrays(spec, sample, np.float64, f"{spec.id}/{sample.label()}")
    if view == "tg-expanded":
        arrays = [np.broadcast_to(a[:1], a.shape) for a in arrays]
    leaves = [tg.tensor(to_base(a), requires_grad=True) for a in arrays]

    def fn(*bases):
        return spec.op(*[make_view(b) for b in bases], **sample.kwargs)

    with tg.no_grad():
        out = fn(*leaves)
    expected = np.asarray(spec.ref(*arrays, **sample.kwargs))
    assert tuple(out.shape) == expected.shape
    tolerance = TOLERANCES[spec.out_dtype or tg.float64]
    np.testing.assert_allclose(out.numpy(), expected, **tolerance)
    assert gradcheck(fn, leaves, **spec.gradcheck_kwargs)
