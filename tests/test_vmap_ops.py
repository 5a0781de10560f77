"""vmap over every op of the OpSpec table, and the rules of issue 18's follow-up
(``quantile``/``nanquantile``, ``inner``, ``renorm``, ``select``, ``unfold``, convolution
with a batched weight) with in_dims in every position and out_dims, against a loop of
unbatched calls and against ``torch.func.vmap``."""

from __future__ import annotations

import importlib
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import tapegrad as tg
from op_specs import OPS, make_arrays
from tapegrad import nn
from tapegrad._batched import BatchedTensor
from tapegrad._batched_extra import composite_function
from tapegrad._batched_native import NoBatchingRule
from tapegrad.func import grad, jacrev, vmap

RNG = np.random.default_rng(1818)
BATCH = 3

# Ops of the table without a batching rule, with the reason; each must raise (naming the
# op) rather than give a wrong result. An op that starts to batch fails the test until it
# leaves this list.
WITHOUT_RULE = {
    "maximum": "the table calls tg.maximum, which is the unbound Tensor.maximum (no "
    "Python wrapper, so no dispatch); x.maximum(y) has the elementwise rule",
    "minimum": "as maximum",
    "masked_select": "its result's length depends on each example's mask",
    "masked_scatter": "how many source elements each example reads depends on its mask",
    "put": "the composite writes through the private _native._put entry point, which "
    "has no rule yet",
    "index_reduce": "the composite calls the private _native._index_reduce entry point, "
    "which has no rule yet",
    "block_diag": "the result's dtype and layout come from tapegrad.result_type of plain "
    "tensors",
}


def _table_cases():
    for spec in OPS:
        for i, sample in enumerate(spec.samples):
            if sample.shapes:
                yield pytest.param(spec, sample, id=f"{spec.id}-{i}-{sample.label()}")


@pytest.mark.parametrize(("spec", "sample"), list(_table_cases()))
def test_every_op_of_the_table_batches_like_a_loop(spec, sample):
    """Every tensor argument batched (in_dims=0): vmap equals the stacked loop, or the op
    is in WITHOUT_RULE and raises naming the missing rule."""
    examples = [
        make_arrays(spec, sample, np.float64, f"{spec.id}/{sample.label()}/{k}")
        for k in range(BATCH)
    ]
    stacked = [
        tg.tensor(np.stack([e[a] for e in examples])) for a in range(len(sample.shapes))
    ]

    def f(*ts):
        return spec.op(*ts, **sample.kwargs)

    if spec.name in WITHOUT_RULE:
        with pytest.raises(NoBatchingRule, match="batching rule"):
            vmap(f)(*stacked)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = [f(*[tg.tensor(a) for a in e]).numpy() for e in examples]
        got = vmap(f)(*stacked)
    np.testing.assert_allclose(
        got.numpy(), np.stack(expected), rtol=1e-10, atol=1e-12, equal_nan=True
    )


def test_composite_methods_run_the_function_the_binding_calls():
    """Each composite Tensor method of rust/python/src runs, under vmap, the Python
    function the binding dispatches to (same module), or a dedicated rule."""
    root = Path(__file__).resolve().parent.parent / "rust" / "python" / "src"
    blocks = []
    for path in root.glob("*.rs"):
        text = path.read_text()
        blocks += re.findall(
            r'composite_methods! \{ "([\w.]+)":(.*?)\n\}', text, re.DOTALL
        )
        for body in re.findall(r"selection_methods! \{(.*?)\n\}", text, re.DOTALL):
            blocks.append(("tapegrad._selection", body))
    assert blocks
    seen = 0
    for module, body in blocks:
        for name in re.findall(r"^\s*(\w+);", body, re.MULTILINE):
            if name.startswith("_"):
                continue  # copy and pickling hooks: no batching meaning
            rule = BatchedTensor.__dict__.get(name)
            assert rule is not None, f"Tensor.{name} ({module}) has no vmap rule"
            if getattr(rule, "by_definition", False):
                bound = getattr(importlib.import_module(module), name)
                assert composite_function(name) is bound, name
            seen += 1
    assert seen > 100


# ---- the rules of the follow-up: in_dims in every position, out_dims -------------------


def t64(*shape):
    return tg.tensor(RNG.standard_normal(shape))


def batched_at(x, dim):
    """``x`` (batch first) with its batch moved to ``dim``."""
    return x if dim is None else x.movedim(0, dim)


def loop(f, args, in_dims):
    rows = []
    for k in range(BATCH):
        rows.append(f(*[a if d is None else a[k] for a, d in zip(args, in_dims)]))
    return tg.stack(rows, 0)


def check(f, args, in_dims, out_dims=0, tol=1e-12):
    """vmap(f, in_dims, out_dims) on the args with their batches moved, against the loop
    over the batch-first args."""
    moved = [batched_at(a, d) for a, d in zip(args, in_dims)]
    got = vmap(f, in_dims=tuple(in_dims), out_dims=out_dims)(*moved)
    expected = loop(f, args, in_dims).movedim(0, out_dims)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=tol, rtol=1e-10)
    return got


@pytest.mark.parametrize("out_dims", [0, 1, -1])
@pytest.mark.parametrize("in_dim", [0, 1, 2, -1])
@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
def test_quantile_rule(name, in_dim, out_dims):
    x = t64(BATCH, 4, 5)
    x = tg.where(x > 1.2, float("nan"), x) if name == "nanquantile" else x
    qs = tg.tensor([0.1, 0.5, 0.9], dtype=tg.float64)
    for kw in ({"dim": 1}, {"dim": -2, "keepdim": True}, {"dim": 0, "interpolation": "lower"},
               {"dim": None}, {"dim": None, "keepdim": True}):  # fmt: skip
        for q in (0.3, qs):
            if out_dims == 1 and getattr(x[0], name)(q, **kw).ndim == 0:
                continue
            method = lambda r, q=q, kw=kw: getattr(r, name)(q, **kw)  # noqa: E731
            function = lambda r, q=q, kw=kw: getattr(tg, name)(r, q, **kw)  # noqa: E731
            check(method, [x], [in_dim], out_dims)
            check(function, [x], [in_dim], out_dims)


def test_quantile_with_a_batched_q_runs_per_example_with_a_warning():
    x, q = t64(BATCH, 6), tg.tensor([0.2, 0.5, 0.7], dtype=tg.float64)
    with pytest.warns(UserWarning, match="once per example"):
        check(lambda r, p: r.quantile(p), [x, q], [0, 0])
    with pytest.warns(UserWarning, match="once per example"):
        check(lambda p: x[0].quantile(p, dim=0), [q], [0])


@pytest.mark.parametrize("out_dims", [0, 1])
@pytest.mark.parametrize(
    "in_dims", [(0, None), (None, 0), (0, 0), (1, -1), (-1, None), (None, 1)]
)
def test_inner_rule(in_dims, out_dims):
    for sa, sb in (((2, 4), (3, 4)), ((4,), (4,)), ((2, 2, 4), (4,)), ((), (3,))):
        a = t64(BATCH, *sa) if in_dims[0] is not None else t64(*sa)
        b = t64(BATCH, *sb) if in_dims[1] is not None else t64(*sb)
        fits = [
            d is None or -(n + 1) <= d <= n for d, n in zip(in_dims, (len(sa), len(sb)))
        ]
        out_ndim = tg.inner(t64(*sa), t64(*sb)).ndim
        if not all(fits) or out_dims > out_ndim:
            continue
        check(lambda x, y: x.inner(y), [a, b], in_dims, out_dims)
        check(lambda x, y: tg.inner(x, y), [a, b], in_dims, out_dims)


@pytest.mark.parametrize("out_dims", [0, 2, -1])
@pytest.mark.parametrize("in_dim", [0, 1, -1])
def test_renorm_select_unfold_rules(in_dim, out_dims):
    x = t64(BATCH, 4, 6) * 2.0
    check(lambda r: r.renorm(2, 0, 1.5), [x], [in_dim], out_dims)
    check(lambda r: r.renorm(1, -1, 2.0), [x], [in_dim], out_dims)
    check(lambda r: tg.renorm(r, 3, 1, 0.5), [x], [in_dim], out_dims)
    for dim, index in ((0, 1), (1, -1), (-1, 4)):
        method = lambda r, d=dim, i=index: r.select(d, i) * 1.0  # noqa: E731
        function = lambda r, d=dim, i=index: tg.select(r, d, i) * 1.0  # noqa: E731
        check(method, [x], [in_dim], min(out_dims, 1))
        check(function, [x], [in_dim], min(out_dims, 1))
    for dim, size, step in ((0, 2, 1), (1, 3, 2), (-1, 6, 1), (1, 0, 1)):
        windows = lambda r, a=(dim, size, step): r.unfold(*a) * 1.0  # noqa: E731
        check(windows, [x], [in_dim], out_dims)


def test_renorm_select_unfold_errors_name_the_logical_shape():
    x = t64(BATCH, 4)
    with pytest.raises(
        tg.AxisError, match=r"index 4 out of range for tensor of size \[4\]"
    ):
        vmap(lambda r: r.select(0, 4))(x)
    with pytest.raises(tg.ShapeError, match="at least 2 dimensions"):
        vmap(lambda r: r.renorm(2, 0, 1.0))(x)
    with pytest.raises(tg.ArgumentError, match="maxnorm"):
        vmap(lambda r: r.view(2, 2).renorm(2, 0, -1.0))(x)
    with pytest.raises(tg.AxisError, match="batch dimension is not counted"):
        vmap(lambda r: r.unfold(1, 2, 1))(x)


CONV_ARGS = (  # (function, input shape, weight shape, output channels, settings)
    ("conv1d", (5, 2, 7), (4, 2, 3), 4, {}),
    ("conv1d", (5, 4, 7), (6, 2, 3), 6, {"groups": 2, "padding": 1}),
    ("conv2d", (2, 3, 5, 6), (4, 3, 2, 3), 4, {"stride": (2, 1), "dilation": (1, 2)}),
    ("conv2d", (2, 4, 5, 5), (6, 2, 3, 3), 6, {"groups": 2, "padding": "same"}),
    ("conv2d", (4, 5, 5), (4, 4, 3, 3), 4, {"padding": 1}),  # unbatched examples
    ("conv_transpose1d", (5, 4, 7), (4, 3, 3), 6, {"groups": 2, "stride": 2}),
    ("conv_transpose2d", (2, 3, 4, 5), (3, 2, 2, 3), 2,
     {"stride": (1, 2), "padding": 1, "output_padding": (0, 1)}),
    ("conv_transpose2d", (4, 3, 3), (4, 2, 3, 3), 4, {"groups": 2}),  # unbatched
)  # fmt: skip


@pytest.mark.parametrize(
    "in_dims", [(None, 0, None), (0, 0, None), (None, 0, 0), (0, 0, 0), (1, -1, None),
                (0, None, 0), (-1, 2, 1)],
)  # fmt: skip
@pytest.mark.parametrize("case", CONV_ARGS, ids=lambda c: f"{c[0]}-{c[4]}")
def test_convolution_with_batched_weights(case, in_dims):
    name, x_shape, w_shape, out_channels, kw = case
    x = t64(BATCH, *x_shape) if in_dims[0] is not None else t64(*x_shape)
    w = t64(BATCH, *w_shape) if in_dims[1] is not None else t64(*w_shape)
    b = t64(BATCH, out_channels) if in_dims[2] is not None else t64(out_channels)
    conv = getattr(nn.functional, name)
    f = lambda xi, wi, bi: conv(xi, wi, bi, **kw)  # noqa: E731
    check(f, [x, w, b], in_dims, 0)
    check(f, [x, w, b], in_dims, 1)


def test_per_sample_gradients_of_a_cnn_and_jacobians_through_conv():
    """vmap(grad) over conv weights shared across the batch: the per-example weights are
    batched inside the transform, so the conv rule with a batched weight runs (and
    jacrev batches the weight basis without falling back to a loop)."""
    params = {"w": t64(4, 2, 3, 3), "b": t64(4), "v": t64(3, 4)}
    x, y = t64(5, 2, 6, 6), t64(5, 3)

    def loss(p, xi, yi):
        h = nn.functional.conv2d(xi, p["w"], p["b"], stride=2).tanh()
        h = nn.functional.max_pool2d(h, 2).reshape(-1)
        return ((p["v"] @ h - yi) ** 2).sum()

    got = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
    for k in range(5):
        one = grad(loss)(params, x[k], y[k])
        for n in params:
            np.testing.assert_allclose(got[n][k].numpy(), one[n].numpy(), atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no per-row fallback
        jac = jacrev(lambda w: nn.functional.conv2d(x[:2], w).sum((0, 2, 3)))(
            params["w"]
        )
    assert tuple(jac.shape) == (4, 4, 2, 3, 3)
    torch = pytest.importorskip("torch")
    from torch.func import grad as tgrad
    from torch.func import vmap as tvmap

    def tloss(p, xi, yi):
        h = torch.nn.functional.conv2d(xi, p["w"], p["b"], stride=2).tanh()
        h = torch.nn.functional.max_pool2d(h, 2).reshape(-1)
        return ((p["v"] @ h - yi) ** 2).sum()

    tp = {k: torch.tensor(v.numpy()) for k, v in params.items()}
    theirs = tvmap(tgrad(tloss), in_dims=(None, 0, 0))(
        tp, torch.tensor(x.numpy()), torch.tensor(y.numpy())
    )
    for n in params:
        np.testing.assert_allclose(got[n].numpy(), theirs[n].numpy(), atol=1e-10)


def test_the_rules_against_torch_func():
    torch = pytest.importorskip("torch")
    from torch.func import vmap as tvmap

    T = lambda t: torch.tensor(t.numpy())  # noqa: E731
    x, w, wb = t64(BATCH, 4, 6), t64(5, 4, 3), t64(BATCH, 5, 4, 3)
    xc = t64(BATCH, 2, 4, 8)
    a, b = t64(BATCH, 2, 6), t64(3, 6)
    qs = tg.tensor([0.25, 0.75], dtype=tg.float64)
    pairs = [
        (lambda r: r.quantile(qs, dim=1), lambda r: r.quantile(T(qs), dim=1), [x], 0, 1),
        (lambda r: r.nanquantile(0.4), lambda r: r.nanquantile(0.4), [x], 1, 0),
        (lambda r, s: r.inner(s), lambda r, s: r.inner(s), [a, b], (0, None), 1),
        (lambda r, s: s.inner(r), lambda r, s: s.inner(r), [a, b], (1, None), 0),
        (lambda r: r.renorm(2, 1, 1.0), lambda r: r.renorm(2, 1, 1.0), [x], 2, 0),
        (lambda r: r.select(1, 3), lambda r: r.select(1, 3), [x], -1, 0),
        (lambda r: r.unfold(1, 3, 2), lambda r: r.unfold(1, 3, 2), [x], 1, -1),
        (lambda xi, wi: nn.functional.conv1d(xi, wi),
         lambda xi, wi: torch.nn.functional.conv1d(xi, wi), [xc, wb], (0, 0), 1),
        (lambda xi, wi: nn.functional.conv1d(xi, wi, groups=2),
         lambda xi, wi: torch.nn.functional.conv1d(xi, wi, groups=2),
         [xc[0], t64(BATCH, 6, 2, 3)], (None, 0), 0),
        (lambda xi, wi: nn.functional.conv1d(xi, wi),
         lambda xi, wi: torch.nn.functional.conv1d(xi, wi), [xc, w], (0, None), 0),
        (lambda xi, wi: nn.functional.conv_transpose1d(xi, wi, groups=2, stride=2),
         lambda xi, wi: torch.nn.functional.conv_transpose1d(xi, wi, groups=2, stride=2),
         [xc[0], t64(BATCH, 4, 3, 2)], (None, 0), 1),
        (lambda xi, wi: nn.functional.conv_transpose1d(xi, wi),
         lambda xi, wi: torch.nn.functional.conv_transpose1d(xi, wi),
         [xc, t64(BATCH, 4, 3, 2)], (0, 0), 0),
    ]  # fmt: skip
    for ours, theirs, args, in_dims, out_dims in pairs:
        got = vmap(ours, in_dims=in_dims, out_dims=out_dims)(*args)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch's quantile fallback
            want = tvmap(theirs, in_dims=in_dims, out_dims=out_dims)(*map(T, args))
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-12)


def test_advanced_indices_apart_put_their_dims_first_as_in_a_loop():
    x = t64(BATCH, 4, 5, 6)
    rows, cols = tg.tensor([0, 2, 3]), tg.tensor([[1, 5, 0]])
    for f in (
        lambda r: r[rows, :, cols],
        lambda r: r[1, :, [0, 4]],
        lambda r: r[rows, 1:3, 2],
        lambda r: r[:, rows[:2], [1, 2]],
    ):
        check(f, [x], [0])
        check(f, [x], [2], 1)


def test_losses_and_layer_norm_take_batched_targets_and_parameters():
    """nn.functional checks that an argument is a Tensor and reads values for range
    checks: a batched tensor passes both (the check sees every example's values)."""
    F = nn.functional
    x, y = t64(BATCH, 4), t64(BATCH, 4)
    for f in (
        lambda r, t: F.mse_loss(r, t),
        lambda r, t: F.huber_loss(r, t, delta=0.5),
        lambda r, t: F.binary_cross_entropy(r.sigmoid(), t.sigmoid()),
        lambda r, t: F.binary_cross_entropy_with_logits(r, t.sigmoid()),
        lambda r, t: F.kl_div(r.log_softmax(-1), t.softmax(-1), reduction="batchmean"),
        lambda r, t: F.gaussian_nll_loss(r, t, t.exp()),
        lambda r, t: F.layer_norm(r, (4,), t, t),
    ):
        check(f, [x, y], [0, 0])
        check(f, [x[0], y], [None, 1])


def test_nested_vmap_through_the_new_rules():
    x, w = t64(2, BATCH, 4, 6), t64(2, BATCH, 3, 4, 2)
    inner = lambda r: (r.quantile(0.25, dim=1) + r.select(0, 1).inner(r).sum(0)  # noqa: E731
                       + r.renorm(2, 0, 1.0).unfold(1, 2, 2).sum((1, 2)))
    got = vmap(vmap(inner))(x)
    expected = np.stack([np.stack([inner(x[i, j]).numpy() for j in range(BATCH)])
                         for i in range(2)])  # fmt: skip
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-12)
    conv = lambda a, b: nn.functional.conv1d(a, b, padding=1)  # noqa: E731
    xs = t64(2, BATCH, 5, 4, 6)
    got = vmap(vmap(conv))(xs, w)
    expected = np.stack([np.stack([conv(xs[i, j], w[i, j]).numpy() for j in range(BATCH)])
                         for i in range(2)])  # fmt: skip
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-12)


@pytest.mark.parametrize("probabilities", [False, True])
def test_cross_entropy_hessian_with_numpy_targets_batches_without_a_loop(probabilities):
    """hessian (vmap of a JVP of a vmap of a VJP) of a loss with NumPy targets: the
    batched formula takes them as constants instead of falling back to one row at a
    time."""
    p = RNG.uniform(size=(4, 3))
    target = p / p.sum(1, keepdims=True) if probabilities else np.array([0, 2, 1, 2])
    x = t64(4, 3)

    def f(t):
        return nn.functional.cross_entropy(t, target, label_smoothing=0.1)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hess = tg.func.hessian(f)(x).reshape(12, 12)
    leaf = x.detach().requires_grad_()
    (g,) = tg.grad(f(leaf), [leaf], create_graph=True)
    rows = [tg.grad(g.reshape(-1)[i], [leaf], retain_graph=True)[0] for i in range(12)]
    expected = np.stack([r.reshape(-1).numpy() for r in rows])
    np.testing.assert_allclose(hess.numpy(), expected, atol=1e-12)


def test_comparisons_integer_methods_factories_and_mT_batch():
    x, y = t64(BATCH, 3, 4), t64(BATCH, 3, 4)
    ints = tg.tensor(RNG.integers(0, 8, (BATCH, 3, 4)))
    for f, args in (
        (lambda a, b: a.eq(b).double() + a.gt(b).double() - a.le(0.5).double(), (x, y)),
        (lambda a, b: a.clip(-0.5, 0.5) + a.divide(b.abs() + 1.0), (x, y)),
        (lambda a, b: a.floor_divide(b.abs() + 0.5) + a.true_divide(2.0), (x, y)),
        (lambda a, b: a.mT @ b + a.contiguous().sum(), (x, y)),
        (lambda a, b: a.new_zeros(3, 4) + b + a.new_full((4,), 2.0), (x, y)),
    ):
        check(f, list(args), [0, 0])
    for f in (
        lambda a: a.bitwise_and(5) + a.bitwise_xor(3) + a.bitwise_left_shift(1),
        lambda a: a.bitwise_not().bitwise_or(a.bitwise_right_shift(1)),
    ):
        got = vmap(f)(ints)
        assert np.array_equal(got.numpy(), loop(f, [ints], [0]).numpy())
