"""``tapegrad.func.vmap``: batching rules against a loop of single-example calls, and
against ``torch.func.vmap`` when torch is installed; composition with the other
transforms; in_dims/out_dims errors in PyTorch's wording; randomness modes."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import _native, nn
from tapegrad._batched_native import RULES
from tapegrad.func import grad, hessian, jacfwd, jacrev, jvp, vjp, vmap
from tapegrad.nn.utils import functional_call

RNG = np.random.default_rng(18)


def t64(*shape: int) -> tg.Tensor:
    return tg.tensor(RNG.standard_normal(shape))


def loop(f, *args, in_dims=0):
    """The reference: f on each example, stacked."""
    dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
    dims = tuple(None if d is None else d % a.ndim for a, d in zip(args, dims))
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    rows = []
    for i in range(size):
        one = [
            a if d is None else a[(slice(None),) * d + (i,)] for a, d in zip(args, dims)
        ]
        rows.append(f(*one))
    return tg.stack(rows, 0)


def close(a, b, tol=1e-12):
    np.testing.assert_allclose(np.asarray(a.numpy()), np.asarray(b.numpy()), atol=tol)


W = t64(3, 5)
IDX = tg.tensor([[2, 0, 1], [1, 1, 0], [0, 2, 2]])


def _written_in_place(r):
    c = r.clone()
    c[0] = 1.0
    c.add_(r).mul_(2.0)
    c[:, 1] += r[:, 0]
    return c.clamp_(-1.0, 1.0)


CASES = {
    "unary": lambda r: r.exp().tanh().sigmoid(),
    "binary-broadcast": lambda r: r * W[:, 0] + 2.0 - r / 3.0,
    "reductions": lambda r: r.sum() + r.mean(0) * r.amax(-1) + r.logsumexp(1).sum(),
    "softmax": lambda r: r.softmax(-1) - r.log_softmax(0),
    "matmul-vector-matrix": lambda r: r[0] @ W,
    "matmul-matrix-matrix": lambda r: r @ W.T.T.T.T,
    "matmul-vector-vector": lambda r: r[1] @ r[0],
    "shape-ops": lambda r: r.reshape(-1).unsqueeze(0).permute(1, 0).flatten().squeeze(),
    "transpose-expand": lambda r: r.transpose(0, 1).unsqueeze(0).expand(2, 3, 3) * 1.0,
    "indexing": lambda r: r[:, 1:] + r[0:1, ::2].sum(),
    "where-clamp": lambda r: tg.where(r > 0, r, -r).clamp(-0.5, 0.5).maximum(r),
    "linear": lambda r: nn.functional.linear(r, W.T, W[0]),
    "linalg": lambda r: tg.linalg.inv(r.T @ r + tg.eye(3, dtype=tg.float64)),
    "pow-abs": lambda r: (r.abs() + 1.0) ** r,
    "gather-scatter": lambda r: (
        r.gather(1, IDX) + r.scatter_add(0, IDX, r * 2.0) + r.scatter(1, IDX[:, :2], r)
        + r.index_select(1, tg.tensor([2, 0, 0])) + r.index_add(0, tg.tensor([1, 1, 0]), r)
        + r.take(tg.tensor([[-1, 0, 4]])) + r.take_along_dim(IDX, 0)
    ),
    "sort-family": lambda r: (
        r.sort(1).values + r.topk(2, 0).values.sum(0) + r.cummax(0).values
        + r.median(1).values[:, None] + r.take_along_dim(r.argsort(0), 0)
        + r.kthvalue(2, 0).values + r.max(1).values[:, None] + r.min() + r.median()
        + r.argmax(0).double() + r.max(r.T)
    ),
    "in-place": _written_in_place,
    "cat-stack": lambda r: (
        tg.cat([r, W[:, :3], r * 2.0], 1) + tg.stack([r, r.T], -1).sum(-1)[:, :1]
    ),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("in_dim", [0, 1, -1])
def test_vmap_equals_a_loop(name, in_dim):
    f = CASES[name]
    x = t64(2, 3, 3).permute(*{0: (0, 1, 2), 1: (1, 0, 2), -1: (1, 2, 0)}[in_dim])
    close(vmap(f, in_dims=in_dim)(x), loop(f, x, in_dims=in_dim))


def test_batched_index_tensors_equal_a_loop():
    x = t64(4, 3, 5)
    idx = tg.tensor(RNG.integers(0, 5, (4, 3, 2)))
    rows = tg.tensor(RNG.integers(0, 3, (4, 2)))
    src = t64(4, 2, 5)
    for f, args in [
        (lambda a, i: a.gather(1, i), (x, idx)),
        (lambda a, i: a.scatter(1, i, a[:, :2] * 3.0), (x, idx)),
        (lambda a, i, s: a.scatter_reduce(1, i, s[:, :2], "amax"), (x, idx, t64(4, 3, 5))),
        (lambda a, i: a.index_select(0, i), (x, rows)),
        (lambda a, i, s: a.index_add(0, i, s, alpha=-2.0), (x, rows, src)),
        (lambda a, i, s: a.index_copy(0, i, s), (x, tg.tensor([[0, 2], [1, 0], [2, 1], [1, 2]]), src)),
        (lambda a, i: a.take(i), (x, idx)),
        (lambda a, i: a.take_along_dim(i, 1), (x, idx)),
    ]:
        close(vmap(f)(*args), loop(f, *args))
    # the gradient flows through the batched rule as through the loop
    g = vmap(grad(lambda a, i: (a.gather(1, i) ** 2).sum()))(x, idx)
    close(g, loop(grad(lambda a, i: (a.gather(1, i) ** 2).sum()), x, idx))


def test_data_dependent_shapes_and_unbatched_receivers_raise():
    x = t64(4, 3)
    with pytest.raises(tg.ArgumentError, match="masked_select has no batching rule"):
        vmap(lambda a: a.masked_select(a > 0))(x)
    with pytest.raises(tg.ArgumentError, match="bincount has no batching rule"):
        vmap(lambda a: a.bincount())(tg.tensor([[0, 1], [1, 1]]))
    # an in-place write of a batched value into a tensor that is not batched at that level
    with pytest.raises(tg.GraphError, match="not batched"):
        vmap(lambda a: vmap(lambda b: a.add_(b))(x))(x.clone())
    with pytest.raises(tg.ArgumentError, match="batching rule"):
        vmap(lambda a: tg.zeros(3).add_(a))(x)


def test_pooling_and_transposed_convolutions_batch_with_or_without_a_sample_dim():
    F = nn.functional
    weight = t64(2, 3, 3, 3)
    for x in (t64(3, 2, 4, 6), t64(3, 5, 2, 4, 6)):
        values, indices = vmap(lambda a: F.max_pool2d(a, 2, return_indices=True))(x)
        close(vmap(lambda v, i: F.max_unpool2d(v, i, 2))(values, indices),
              loop(lambda a: F.max_unpool2d(*F.max_pool2d(a, 2, return_indices=True), 2), x))
        close(vmap(lambda a: F.conv_transpose2d(a, weight, stride=2))(x),
              loop(lambda a: F.conv_transpose2d(a, weight, stride=2), x))
        close(vmap(lambda a: F.adaptive_max_pool2d(a, (2, 3)))(x),
              loop(lambda a: F.adaptive_max_pool2d(a, (2, 3)), x))


def test_unbatched_arguments_nested_structures_and_out_dims():
    x, y = t64(4, 3), t64(3)
    f = lambda pair, scale: {"a": pair[0] * pair[1] * scale, "b": (pair[0].sum(),)}
    out = vmap(f, in_dims=((0, None), None), out_dims={"a": 1, "b": (0,)})((x, y), 2.0)
    close(out["a"], (x * y * 2.0).T)
    close(out["b"][0], x.sum(1))
    # An output that does not depend on the batch is the same for every example.
    close(vmap(lambda r: y, out_dims=0)(x), y.unsqueeze(0).expand(4, 3))


def test_nested_vmap_and_chunks():
    x = t64(2, 5, 3)
    f = lambda r: (r.sin() @ W).sum()
    close(vmap(vmap(f))(x), loop(lambda a: loop(f, a), x))
    close(vmap(vmap(f), in_dims=1)(x.transpose(0, 1)), loop(lambda a: loop(f, a), x))
    close(vmap(vmap(f), out_dims=1)(x), loop(lambda a: loop(f, a), x).T)
    close(vmap(lambda r: r * 2.0, chunk_size=2)(x[0]), x[0] * 2.0)


def mlp_loss(params, x, y):
    h = nn.functional.linear(x, params["w1"], params["b1"]).tanh()
    logits = nn.functional.linear(h, params["w2"], params["b2"])
    target = (y.unsqueeze(-1) == tg.arange(3, dtype=tg.float64)).double()
    return -(logits.log_softmax(-1) * target).sum()


def mlp_params():
    return {"w1": t64(6, 4), "b1": t64(6), "w2": t64(3, 6), "b2": t64(3)}


def test_per_sample_gradients_equal_a_loop_of_backward_passes():
    params = mlp_params()
    x, y = t64(8, 4), tg.tensor(RNG.integers(0, 3, 8).astype(np.float64))
    batched = vmap(grad(mlp_loss), in_dims=(None, 0, 0))(params, x, y)
    for k in range(8):
        one = {n: p.detach().requires_grad_() for n, p in params.items()}
        mlp_loss(one, x[k], y[k]).backward()
        for n in params:
            close(batched[n][k], one[n].grad)


def test_per_sample_gradients_through_functional_call():
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))
    params = {k: v.detach() for k, v in model.named_parameters()}
    x, t = tg.randn(6, 4), tg.randn(6, 2)

    def loss(p, xi, ti):
        return ((functional_call(model, p, (xi.unsqueeze(0),)) - ti) ** 2).mean()

    grads = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, t)
    for k in range(6):
        model.zero_grad()
        loss(dict(model.named_parameters()), x[k], t[k]).backward()
        for n, p in model.named_parameters():
            close(grads[n][k], p.grad, tol=1e-6)


def test_transforms_compose_both_ways():
    x = t64(4, 3)
    f = lambda r: (r.sin() * r).sum()
    close(vmap(grad(f))(x), loop(grad(f), x))
    close(grad(lambda a: vmap(f)(a).sum())(x), loop(grad(f), x))
    close(vmap(jacrev(lambda r: r.exp() @ W))(x), loop(jacrev(lambda r: r.exp() @ W), x))
    close(vmap(jacfwd(lambda r: r.exp() @ W))(x), loop(jacfwd(lambda r: r.exp() @ W), x))
    close(vmap(hessian(f))(x), loop(hessian(f), x))
    t = t64(4, 3)
    close(vmap(lambda a, b: jvp(f, (a,), (b,))[1])(x, t),
          loop(lambda a, b: jvp(f, (a,), (b,))[1], x, t))  # fmt: skip
    close(vmap(lambda a: vjp(lambda r: r.cos(), a)[1](a)[0])(x),
          loop(lambda a: vjp(lambda r: r.cos(), a)[1](a)[0], x))  # fmt: skip
    close(jacrev(vmap(lambda r: r.exp().sum()))(x),
          jacrev(lambda a: a.exp().sum(1))(x))  # fmt: skip


def test_jacobians_match_the_definition():
    x = t64(3)
    f = lambda r: (r.unsqueeze(1) * W).tanh().sum(0)
    expected = loop(lambda e: jvp(f, (x,), (e,))[1], tg.eye(3, dtype=tg.float64)).T
    close(jacfwd(f)(x), expected)
    close(jacrev(f)(x), expected)


def test_bad_in_dims_raise_like_pytorch():
    x, y = t64(2, 3), t64(3, 3)
    with pytest.raises(ValueError, match=r"in_dims is not compatible with the structure"):
        vmap(lambda a, b: a, in_dims=(0,))(x, y)
    with pytest.raises(ValueError, match=r"Got in_dim=2 for some input, but that input is a Tensor of dimensionality 2 so expected in_dim to satisfy -2 <= in_dim < 2"):  # noqa: E501
        vmap(lambda a: a, in_dims=2)(x)
    with pytest.raises(ValueError, match=r"We cannot vmap over non-Tensor arguments"):
        vmap(lambda a, b: a, in_dims=(0, 0))(x, 1.0)
    with pytest.raises(ValueError, match=r"got sizes \[2, 3\] for the mapped dimension"):
        vmap(lambda a, b: a + b)(x, y)
    with pytest.raises(ValueError, match=r"at least one Tensor to vmap over"):
        vmap(lambda a: a, in_dims=None)(x)
    with pytest.raises(ValueError, match=r"can not return a BatchedTensor when out_dim is"):
        vmap(lambda a: a, out_dims=None)(x)
    with pytest.raises(ValueError, match=r"must only return Tensors, got type"):
        vmap(lambda a: 1.0)(x)
    with pytest.raises(RuntimeError, match=r"Only allowed values for randomness"):
        vmap(lambda a: a, randomness="sometimes")
    with pytest.raises(RuntimeError, match=r"data-dependent control flow"):
        vmap(lambda a: a if a.sum() > 0 else -a)(x)


def test_randomness_modes():
    x = tg.zeros(4, 3)
    with pytest.raises(RuntimeError, match=r"randomness error mode"):
        vmap(lambda r: r + tg.rand(3))(x)
    different = vmap(lambda r: r + tg.rand(3), randomness="different")(x).numpy()
    same = vmap(lambda r: r + tg.randn(3), randomness="same")(x).numpy()
    assert not np.allclose(different[0], different[1])
    assert np.allclose(same, same[0])
    tg.manual_seed(3)
    dropped = vmap(
        lambda r: nn.functional.dropout(r + 1.0, 0.5), randomness="different"
    )(tg.zeros(64, 8)).numpy()
    assert 0.3 < (dropped == 0).mean() < 0.7


def test_every_primitive_has_a_batching_rule():
    """A primitive added to the core's index without a rule here fails this test (the
    core's `PrimitiveInfo` already makes the rule category a required field)."""
    for entry in _native._primitives():
        for name in entry["api"]:
            if (name.startswith("_") and not name.startswith("__")) or name in (
                "cat",
                "stack",
            ):
                assert name in RULES, f"{entry['node']}: no batching rule for {name}"
                assert hasattr(getattr(_native, name), "batching_rule")
            else:
                assert name in tg._batched.BatchedTensor.__dict__, (
                    f"{entry['node']}: no batching rule for Tensor.{name}"
                )


def test_vmap_against_torch_func():
    torch = pytest.importorskip("torch")
    from torch.func import grad as tgrad
    from torch.func import vmap as tvmap

    params = mlp_params()
    x, y = t64(5, 4), tg.tensor(RNG.integers(0, 3, 5).astype(np.float64))
    ours = vmap(grad(mlp_loss), in_dims=(None, 0, 0))(params, x, y)

    def torch_loss(p, xi, yi):
        h = torch.tanh(xi @ p["w1"].T + p["b1"])
        logits = h @ p["w2"].T + p["b2"]
        return torch.nn.functional.cross_entropy(logits, yi.long(), reduction="sum")

    tp = {k: torch.tensor(v.numpy()) for k, v in params.items()}
    theirs = tvmap(tgrad(torch_loss), in_dims=(None, 0, 0))(
        tp, torch.tensor(x.numpy()), torch.tensor(y.numpy())
    )
    for k in params:
        np.testing.assert_allclose(ours[k].numpy(), theirs[k].numpy(), atol=1e-12)


def test_a_custom_function_without_a_rule_loops_with_a_warning():
    class Cube(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3.0 * x * x * grad

    x = t64(4, 3)
    with pytest.warns(UserWarning, match=r"Cube .* has no batching rule"):
        out = vmap(lambda r: Cube.apply(r).sum())(x)
    close(out, (x**3).sum(1))
    with pytest.warns(UserWarning, match=r"once per example"):
        g = vmap(grad(lambda r: Cube.apply(r).sum()))(x)
    close(g, 3.0 * x * x)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_with_batched_targets_equals_the_fused_loss(smoothing, weighted):
    logits = t64(5, 4, 3)
    labels = tg.tensor(RNG.integers(0, 3, (5, 4)).astype(np.float64))
    labels = tg.where(labels == 2.0, -100.0, labels) if not weighted else labels
    weight = np.array([0.5, 1.0, 2.0]) if weighted else None

    def loss(z, y):
        return nn.functional.cross_entropy(z, y, weight=weight, label_smoothing=smoothing)

    expected = tg.stack(
        [loss(logits[k], labels[k].numpy().astype(np.int64)) for k in range(5)]
    )
    close(vmap(loss)(logits, labels), expected)
    grads = vmap(grad(loss))(logits, labels)
    for k in range(5):
        z = logits[k].detach().requires_grad_()
        loss(z, labels[k].numpy().astype(np.int64)).backward()
        close(grads[k], z.grad)


def test_the_dp_sgd_example_learns(capsys):
    pytest.importorskip("sklearn")
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "dp_sgd.py"
    spec = importlib.util.spec_from_file_location("dp_sgd", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--epochs", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert float(lines[0].rsplit("= ", 1)[1]) < 1e-5  # per-sample grads = the loop's
    assert float(lines[-1].rsplit(" ", 1)[1]) > 0.6  # noisy, clipped, still learning
