"""Gradient checkpointing: the same gradients for less memory, and a plan that says how much.

``checkpoint(fn, *args)`` keeps only the inputs and re-runs ``fn`` inside backward;
``checkpoint_sequential`` splits a chain of layers into balanced segments, predicts the
peak of saved bytes from each layer's measured bytes, and picks the fewest segments that
fit a budget. Gradients are compared in float64 with and without checkpointing.
"""

from __future__ import annotations

import gc
import math

import numpy as np
import pytest
import tapegrad as tg
from helpers import raises, values
from tapegrad import GraphError, memory, nn
from tapegrad._errors import ArgumentError, DTypeError

F64 = tg.float64


def assert_same_gradients(got, want, rtol=1e-12):
    """Each pair agrees to ``rtol`` relative to the larger entry of the reference."""
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, f"gradient {i}: shape {g.shape} != {w.shape}"
        scale = max(float(np.max(np.abs(w))), 1e-300) if w.size else 1.0
        error = float(np.max(np.abs(g - w))) / scale if w.size else 0.0
        assert error <= rtol, f"gradient {i}: relative error {error:.3g} > {rtol:g}"
        assert np.any(w != 0), (
            f"gradient {i} is zero: the comparison would prove nothing"
        )


def grads_of(tensors):
    return [values(t.grad) for t in tensors]


class Counting:
    """A layer that counts its calls."""

    def __init__(self, fn):
        self.fn = fn
        self.calls = 0

    def __call__(self, h):
        self.calls += 1
        return self.fn(h)


@pytest.fixture
def baseline() -> int:
    gc.collect()
    return memory.saved_bytes()


# ---- checkpoint


class Problem:
    """A segment that uses an argument, the parameters of an nn module it closes over,
    and a non-leaf tensor it captures (built from a leaf ``a`` outside the segment)."""

    def __init__(self):
        tg.manual_seed(1)
        self.lin = nn.Linear(5, 5, dtype=F64)
        self.x = tg.randn(4, 5, dtype=F64).requires_grad_()
        self.a = tg.randn(4, 5, dtype=F64).requires_grad_()
        self.leaves = [self.x, self.a, *self.lin.parameters()]

    def loss(self, checkpointed: bool):
        for t in self.leaves:
            t.grad = None
        captured = (self.a * 2.0).tanh()  # a non-leaf, used by the segment from outside

        def segment(h):
            return (self.lin(h) * captured).tanh().sin()

        y = tg.checkpoint(segment, self.x) if checkpointed else segment(self.x)
        return (y * y).sum() + captured.sum()


def test_backward_gradients_are_the_same_with_and_without_checkpoint():
    p = Problem()
    p.loss(False).backward()
    want = grads_of(p.leaves)
    p.loss(True).backward()
    assert_same_gradients(grads_of(p.leaves), want)


def test_tg_grad_gradients_are_the_same_with_and_without_checkpoint():
    p = Problem()
    want = [values(g) for g in tg.grad(p.loss(False), p.leaves)]
    got = [values(g) for g in tg.grad(p.loss(True), p.leaves)]
    assert_same_gradients(got, want)
    assert all(t.grad is None for t in p.leaves)  # tg.grad touches no .grad


def test_a_non_leaf_argument_and_several_outputs():
    tg.manual_seed(2)
    w = tg.randn(3, 3, dtype=F64).requires_grad_()
    x = tg.randn(2, 3, dtype=F64).requires_grad_()

    def two(h):
        return (h @ w).exp(), (h * h).sum(dim=1)

    def loss(checkpointed):
        h = (x * 3.0).sin()  # a non-leaf argument
        first, second = tg.checkpoint(two, h) if checkpointed else two(h)
        return (first.sum() * second).sum()

    want = [values(g) for g in tg.grad(loss(False), [x, w])]
    got = [values(g) for g in tg.grad(loss(True), [x, w])]
    assert_same_gradients(got, want)


def test_dropout_sees_the_same_random_numbers_when_re_run():
    tg.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(6, 8, dtype=F64),
        nn.Dropout(0.5),
        nn.Tanh(),
        nn.Linear(8, 6, dtype=F64),
        nn.Dropout(0.3),
    )
    x = tg.randn(5, 6, dtype=F64).requires_grad_()
    leaves = [x, *net.parameters()]

    def step(checkpointed):
        for t in leaves:
            t.grad = None
        tg.manual_seed(123)
        y = tg.checkpoint(net, x) if checkpointed else net(x)
        y.sin().sum().backward()
        after = tg.rand(4).numpy()  # where the generator stands after the step
        return values(y), grads_of(leaves), after

    y0, g0, after0 = step(False)
    y1, g1, after1 = step(True)
    assert np.array_equal(y0, y1)
    assert np.mean(y0 == 0) > 0.1  # dropout did drop (p = 0.3 last)
    assert_same_gradients(g1, g0)
    # The re-run restored the generator: the step draws what the plain step draws.
    np.testing.assert_array_equal(after1, after0)


def test_nested_checkpoints():
    tg.manual_seed(3)
    lin1, lin2 = nn.Linear(6, 6, dtype=F64), nn.Linear(6, 6, dtype=F64)
    x = tg.randn(4, 6, dtype=F64).requires_grad_()
    leaves = [x, *lin1.parameters(), *lin2.parameters()]
    calls = Counting(lambda h: lin2(h).tanh())

    def outer(h):
        return tg.checkpoint(calls, lin1(h).sin()) * 2.0

    def step(checkpointed):
        for t in leaves:
            t.grad = None
        y = tg.checkpoint(outer, x) if checkpointed else outer(x)
        (y * y).sum().backward()
        return grads_of(leaves)

    want = step(False)
    calls.calls = 0
    got = step(True)
    assert_same_gradients(got, want)
    # forward, the outer re-run (which re-runs the inner forward), the inner re-run
    assert calls.calls == 3


def test_backward_with_create_graph_through_a_checkpoint_gives_first_derivatives():
    tg.manual_seed(4)
    lin = nn.Linear(4, 4, dtype=F64)
    x = tg.randn(3, 4, dtype=F64).requires_grad_()

    def segment(h):
        return lin(h).tanh().sin()

    def first(checkpointed):
        x.grad = None
        y = tg.checkpoint(segment, x) if checkpointed else segment(x)
        (y * y).sum().backward(create_graph=True)
        return x.grad

    assert_same_gradients([values(first(True))], [values(first(False))])
    assert first(True).requires_grad  # a graph was recorded


def test_second_derivatives_through_a_checkpoint():
    tg.manual_seed(4)
    lin = nn.Linear(4, 4, dtype=F64)
    x = tg.randn(3, 4, dtype=F64).requires_grad_()

    def segment(h):
        return lin(h).tanh().sin()

    def second(checkpointed):
        y = tg.checkpoint(segment, x) if checkpointed else segment(x)
        (g,) = tg.grad((y * y).sum(), x, create_graph=True)
        return [values(h) for h in tg.grad((g * g).sum(), [x, lin.weight, lin.bias])]

    assert_same_gradients(second(True), second(False))


def test_the_segment_keeps_only_its_input(baseline):
    tg.manual_seed(5)
    layers = [nn.Linear(16, 16, dtype=F64) for _ in range(6)]
    x = tg.randn(8, 16, dtype=F64)  # data: needs no grad, but the re-run needs it

    def deep(h):
        for layer in layers:
            h = layer(h).tanh()
        return h

    plain = tg.memory_bill(deep(x)).total_bytes
    y = tg.checkpoint(deep, x)
    (row,) = tg.memory_bill(y).rows
    assert row.op == "CheckpointBackward"
    assert row.saved == (("saved by ctx", (8, 16), "float64", 8 * 16 * 8),)
    assert memory.saved_bytes() - baseline == 8 * 16 * 8 < plain / 10

    memory.reset_peak()
    y.sum().backward()  # sum keeps nothing: the peak is the re-run's
    assert memory.peak_saved_bytes() - baseline == 8 * 16 * 8 + plain
    assert memory.saved_bytes() == baseline
    assert all(layer.weight.grad is not None for layer in layers)


def test_an_input_changed_in_place_before_backward_is_caught():
    lin = nn.Linear(4, 4, dtype=F64)
    x = tg.randn(3, 4, dtype=F64)
    y = tg.checkpoint(lin, x)
    x._assign(tg.randn(3, 4, dtype=F64))
    with raises(GraphError, "CheckpointBackward", "modified by an inplace operation"):
        y.sum().backward()


def test_the_function_runs_once_without_grad_and_twice_with_it():
    lin = nn.Linear(3, 3, dtype=F64)
    layer = Counting(lin)
    x = tg.randn(2, 3, dtype=F64)
    with tg.no_grad():
        out = tg.checkpoint(layer, x)
    assert layer.calls == 1 and not out.requires_grad and out.grad_fn is None
    y = tg.checkpoint(layer, x)
    assert layer.calls == 2 and y.grad_fn is not None
    y.sum().backward()
    assert layer.calls == 3


def test_a_segment_that_needs_no_gradient_is_not_checkpointed():
    x = tg.randn(2, 3, dtype=F64)
    out = tg.checkpoint(lambda h: h.exp(), x)
    assert not out.requires_grad and out.grad_fn is None


def test_checkpoint_rejects_a_non_callable():
    with raises(DTypeError, "checkpoint", "callable", "int"):
        tg.checkpoint(3, tg.randn(2))


# ---- checkpoint_sequential


def mlp_layers(n_blocks=5, width=8, dtype=F64, dropout=0.0):
    """Linear, ReLU (and Dropout) layers: a chain whose layers save different bytes."""
    tg.manual_seed(7)
    layers = []
    for _ in range(n_blocks):
        layers += [nn.Linear(width, width, dtype=dtype), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
    return layers


def run_plain(layers, x):
    for layer in layers:
        x = layer(x)
    return x


def leaves_of(layers, x):
    return [x, *(p for layer in layers for p in layer.parameters())]


@pytest.mark.parametrize("segments", ["sqrt", 1, 2, 3, 7, 10])
def test_sequential_gradients_equal_the_plain_ones(segments):
    layers = mlp_layers()
    x = tg.randn(6, 8, dtype=F64).requires_grad_()
    leaves = leaves_of(layers, x)
    run_plain(layers, x).sin().sum().backward()
    want = grads_of(leaves)
    for t in leaves:
        t.grad = None
    out = tg.checkpoint_sequential(layers, x, segments)
    out.sin().sum().backward()
    assert_same_gradients(grads_of(leaves), want)


def test_sequential_with_dropout_draws_the_same_numbers():
    layers = mlp_layers(n_blocks=3, dropout=0.4)
    x = tg.randn(6, 8, dtype=F64).requires_grad_()
    leaves = leaves_of(layers, x)

    def step(run):
        for t in leaves:
            t.grad = None
        tg.manual_seed(11)
        y = run()
        y.sum().backward()
        return values(y), grads_of(leaves), tg.rand(3).numpy()

    want = step(lambda: run_plain(layers, x))
    # return_plan and budget_bytes add a measuring pass: it must not shift the generator.
    for run in (
        lambda: tg.checkpoint_sequential(layers, x, 3),
        lambda: tg.checkpoint_sequential(layers, x, return_plan=True)[0],
        lambda: tg.checkpoint_sequential(layers, x, budget_bytes=10**9),
    ):
        y, grads, after = step(run)
        assert np.array_equal(y, want[0])
        assert_same_gradients(grads, want[1])
        np.testing.assert_array_equal(after, want[2])


def test_sequential_accepts_an_nn_sequential():
    tg.manual_seed(8)
    model = nn.Sequential(
        nn.Linear(4, 4, dtype=F64), nn.Tanh(), nn.Linear(4, 2, dtype=F64)
    )
    x = tg.randn(3, 4, dtype=F64)
    want = values(model(x))
    assert np.array_equal(values(tg.checkpoint_sequential(model, x, 2)), want)


@pytest.mark.parametrize("n", range(1, 13))
def test_segments_are_balanced(n):
    layers = [lambda h: h * 1.5 for _ in range(n)]
    x = tg.ones(2, dtype=F64).requires_grad_()
    for k in range(1, n + 1):
        _, plan = tg.checkpoint_sequential(layers, x, k, return_plan=True)
        assert plan.segments == len(plan.sizes) == k
        assert sum(plan.sizes) == n
        assert max(plan.sizes) - min(plan.sizes) <= 1


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, 1),
        (2, 2),
        (4, 2),
        (5, 3),
        (9, 3),
        (10, 4),
        (16, 4),
        (17, 5),
        (64, 8),
        (65, 9),
    ],
)
def test_sqrt_means_the_ceiling_of_the_square_root(n, expected):
    assert expected == math.ceil(math.sqrt(n))
    layers = [lambda h: h * 1.5 for _ in range(n)]
    x = tg.ones(2, dtype=F64).requires_grad_()
    _, plan = tg.checkpoint_sequential(layers, x, "sqrt", return_plan=True)
    assert plan.segments == expected
    _, default = tg.checkpoint_sequential(layers, x, return_plan=True)
    assert default.sizes == plan.sizes


def test_each_layer_runs_once_forward_and_once_more_if_checkpointed():
    layers = [Counting(f) for f in mlp_layers(n_blocks=3)]  # 6 layers
    x = tg.randn(4, 8, dtype=F64)
    out = tg.checkpoint_sequential(layers, x, 3)  # [2, 2, 2]
    assert [f.calls for f in layers] == [1] * 6  # no measuring pass without a plan
    out.sum().backward()
    assert [f.calls for f in layers] == [2, 2, 2, 2, 1, 1]  # the last segment is kept
    tg.checkpoint_sequential(layers, x, 3, return_plan=True)
    assert [f.calls for f in layers] == [4, 4, 4, 4, 3, 3]  # plus the measuring pass


@pytest.mark.parametrize("input_requires_grad", [True, False])
def test_the_plan_predicts_the_measured_peak(baseline, input_requires_grad):
    """The prediction is exact here (observed: 0 bytes off for every split), since
    these layers save the same bytes whatever their input's values."""
    layers = mlp_layers(n_blocks=5)  # 10 layers, 1536 and 1024 bytes each
    x = tg.randn(16, 8, dtype=F64).requires_grad_(input_requires_grad)
    keep_alive = (tg.randn(10, dtype=F64).requires_grad_() * 2.0).exp()  # other graphs
    held = memory.saved_bytes()
    assert held > baseline
    for k in range(1, 11):
        out, plan = tg.checkpoint_sequential(layers, x, k, return_plan=True)
        assert plan.measured_peak_bytes is None
        assert plan.predicted_peak_bytes > 0
        out.sum().backward()
        measured = plan.measure()
        assert measured == plan.measured_peak_bytes
        assert measured == plan.predicted_peak_bytes, (k, plan.sizes)
        assert memory.saved_bytes() == held  # what was held before is not counted
    del keep_alive


def test_the_plan_reports_the_layers_bytes_and_prints_itself():
    layers = mlp_layers(n_blocks=2)  # Linear, ReLU, Linear, ReLU
    x = tg.randn(16, 8, dtype=F64).requires_grad_()
    out, plan = tg.checkpoint_sequential(layers, x, 2, return_plan=True)
    activation, weight = 16 * 8 * 8, 8 * 8 * 8
    assert plan.layer_bytes == [activation + weight, activation] * 2
    assert plan.sizes == [2, 2]
    # The first segment keeps its input; the last keeps its activations.
    assert plan.predicted_peak_bytes == activation + (2 * activation + weight)
    text = str(plan)
    assert text.startswith("2 segments of [2, 2] layers: predicted peak ")
    assert f"{plan.predicted_peak_bytes:,} B" in text and "measured" not in text
    out.sum().backward()
    plan.measure()
    assert f"measured peak {plan.measured_peak_bytes:,} B" in str(plan)


def test_a_budget_picks_the_fewest_segments_that_fit():
    layers = mlp_layers(n_blocks=5)
    x = tg.randn(16, 8, dtype=F64).requires_grad_()
    leaves = leaves_of(layers, x)
    run_plain(layers, x).sum().backward()
    want = grads_of(leaves)
    predicted = {}
    for k in range(1, 11):
        _, plan = tg.checkpoint_sequential(layers, x, k, return_plan=True)
        predicted[k] = plan.predicted_peak_bytes
    # Not monotone: many segments keep many inputs.
    assert predicted[10] > min(predicted.values())
    for budget in sorted(set(predicted.values())) + [
        min(predicted.values()) + 1,
        10**9,
    ]:
        fewest = min(k for k, p in predicted.items() if p <= budget)
        for t in leaves:
            t.grad = None
        out, plan = tg.checkpoint_sequential(
            layers, x, budget_bytes=budget, return_plan=True
        )
        assert plan.segments == fewest, budget
        assert plan.predicted_peak_bytes == predicted[fewest] <= budget
        out.sum().backward()
        assert plan.measure() <= budget
        assert_same_gradients(grads_of(leaves), want)
    # Without return_plan, the budget still chooses (and only the output comes back).
    out = tg.checkpoint_sequential(layers, x, budget_bytes=10**9)
    assert isinstance(out, tg.Tensor)


def test_a_budget_below_the_minimum_names_the_minimum(baseline):
    layers = [Counting(f) for f in mlp_layers(n_blocks=5)]
    x = tg.randn(16, 8, dtype=F64).requires_grad_()
    least = min(
        tg.checkpoint_sequential(layers, x, k, return_plan=True)[1].predicted_peak_bytes
        for k in range(1, 11)
    )
    assert least == 5632
    for f in layers:
        f.calls = 0
    tg.manual_seed(9)
    expected_draw = tg.rand(3).numpy()
    tg.manual_seed(9)
    with raises(
        ArgumentError, "budget_bytes=5,631", "below the minimum", "5,632 bytes"
    ):
        tg.checkpoint_sequential(layers, x, budget_bytes=least - 1)
    # Only the measuring pass ran (one call per layer); it kept no graph and drew no
    # random numbers for good.
    assert [f.calls for f in layers] == [1] * 10
    assert memory.saved_bytes() == baseline
    np.testing.assert_array_equal(tg.rand(3).numpy(), expected_draw)
    _, plan = tg.checkpoint_sequential(layers, x, budget_bytes=least, return_plan=True)
    assert plan.predicted_peak_bytes == least


def _called(layers):
    return [f.calls for f in layers]


@pytest.mark.parametrize(
    ("make", "kwargs", "error", "fragments"),
    [
        (
            lambda fs: [fs[0], 3, fs[1]],
            {},
            DTypeError,
            ["functions[1] is int", "callable"],
        ),
        (lambda fs: [fs[0], None], {}, DTypeError, ["functions[1] is NoneType"]),
        (lambda fs: [], {}, ArgumentError, ["functions is empty"]),
        (
            lambda fs: fs,
            {"segments": 0},
            ArgumentError,
            ["segments=0", "between 1 and the number of functions (3)"],
        ),
        (lambda fs: fs, {"segments": -2}, ArgumentError, ["segments=-2", "between 1"]),
        (
            lambda fs: fs,
            {"segments": 4},
            ArgumentError,
            ["segments=4", "number of functions (3)"],
        ),
        (
            lambda fs: fs,
            {"segments": "half"},
            ArgumentError,
            ["positive int or 'sqrt'", "'half'"],
        ),
        (
            lambda fs: fs,
            {"segments": 2.0},
            ArgumentError,
            ["positive int or 'sqrt'", "2.0"],
        ),
        (lambda fs: fs, {"segments": True}, ArgumentError, ["positive int or 'sqrt'"]),
        (
            lambda fs: fs,
            {"budget_bytes": 0},
            ArgumentError,
            ["budget_bytes must be a positive int", "0"],
        ),
        (
            lambda fs: fs,
            {"budget_bytes": -100},
            ArgumentError,
            ["budget_bytes", "-100"],
        ),
        (
            lambda fs: fs,
            {"budget_bytes": "1MB"},
            ArgumentError,
            ["budget_bytes must be a positive int", "'1MB'"],
        ),
        (lambda fs: fs, {"budget_bytes": True}, ArgumentError, ["budget_bytes"]),
    ],
)
def test_bad_input_is_rejected_before_any_layer_runs(
    baseline, make, kwargs, error, fragments
):
    layers = [Counting(lambda h: h * 2.0) for _ in range(3)]
    x = tg.randn(2, 2, dtype=F64).requires_grad_()
    with raises(error, "checkpoint_sequential", *fragments):
        tg.checkpoint_sequential(make(layers), x, **kwargs)
    assert _called(layers) == [0, 0, 0]
    assert memory.saved_bytes() == baseline


def test_the_public_names():
    from tapegrad import _checkpoint

    assert tg.checkpoint is _checkpoint.checkpoint
    assert tg.checkpoint_sequential is _checkpoint.checkpoint_sequential
    assert set(_checkpoint.__all__) == {
        "checkpoint",
        "checkpoint_sequential",
        "CheckpointPlan",
    }
