"""The sweep's leaf phase: post-accumulate hooks, deterministic hook order, anomaly mode."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tapegrad as tg


def _six_leaf_loss(leaves: list[tg.Tensor]) -> tg.Tensor:
    """A small DAG over six leaves, with shared and unshared paths."""
    a, b, c, d, e, f = leaves
    h1 = (a * b).tanh()
    h2 = (h1 + c).exp()
    h3 = (d * h1).sigmoid() + e
    return (h2 * h3 + f * a).sum()


def _leaves() -> list[tg.Tensor]:
    tg.manual_seed(3)
    return [tg.randn(3, dtype=tg.float64, requires_grad=True) for _ in range(6)]


def test_post_accumulate_hook_sees_the_accumulated_grad_once_per_backward():
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    seen: list[list[float]] = []
    handle = x.register_post_accumulate_grad_hook(
        lambda t: seen.append(t.grad.tolist())
    )
    (x * x).sum().backward()
    assert seen == [[2.0, 4.0]]
    # A second backward accumulates, and the hook sees the sum.
    (x * 3).sum().backward()
    assert seen == [[2.0, 4.0], [5.0, 7.0]]
    handle.remove()
    (x * 3).sum().backward()
    assert len(seen) == 2


def test_post_accumulate_hook_does_not_fire_for_grad():
    x = tg.tensor([1.0], requires_grad=True)
    fired: list[int] = []
    x.register_post_accumulate_grad_hook(lambda t: fired.append(1))
    tg.grad((x * x).sum(), x)
    assert fired == []


def test_post_accumulate_hook_refuses_non_leaves_and_non_callables():
    x = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(tg.GraphError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(tg.DTypeError, match="callable"):
        x.register_post_accumulate_grad_hook(3)
    with pytest.raises(tg.GraphError, match="does not require grad"):
        tg.tensor([1.0]).register_post_accumulate_grad_hook(lambda t: None)


def test_leaves_are_finished_during_the_sweep_in_the_same_order_every_run():
    orders = []
    for _ in range(5):
        leaves = _leaves()
        order: list[int] = []
        for i, leaf in enumerate(leaves):
            leaf.register_hook(lambda g, i=i: order.append(i))
            leaf.register_post_accumulate_grad_hook(lambda t, i=i: order.append(10 + i))
        _six_leaf_loss(leaves).backward()
        orders.append(order)
    assert all(o == orders[0] for o in orders), orders
    # Each leaf's hook runs right before its post-accumulate hook.
    first = orders[0]
    for i in range(6):
        assert first.index(10 + i) == first.index(i) + 1
    # The leaf used only by the last op (f, through f * a) is finished before the leaves
    # that the deeper part of the graph feeds (a, b): accumulation happens during the sweep.
    assert first.index(5) < first.index(1)


def test_post_accumulate_hooks_fire_while_the_sweep_goes_on():
    # When w1's hook fires, the gradient of the layer below (w0) is not computed yet: the
    # event is usable for overlapping communication with the rest of backward.
    w0 = tg.tensor([[0.5, -0.2], [0.3, 0.8]], dtype=tg.float64, requires_grad=True)
    w1 = tg.tensor([[1.0, 2.0], [-1.0, 0.5]], dtype=tg.float64, requires_grad=True)
    x = tg.tensor([[1.0, 2.0]], dtype=tg.float64)
    w0_grad_when_w1_ready: list[object] = []
    w1.register_post_accumulate_grad_hook(
        lambda t: w0_grad_when_w1_ready.append(w0.grad)
    )
    ((x @ w0).tanh() @ w1).sum().backward()
    assert w0_grad_when_w1_ready == [None]
    assert w0.grad is not None


def test_an_exception_in_a_post_accumulate_hook_reaches_the_caller():
    x = tg.tensor([1.0], requires_grad=True)

    def boom(t: tg.Tensor) -> None:
        raise KeyError("from the hook")

    x.register_post_accumulate_grad_hook(boom)
    with pytest.raises(KeyError, match="from the hook"):
        (x * 2).sum().backward()


def _nan_backward() -> tuple[tg.Tensor, tg.Tensor]:
    x = tg.tensor([0.0, 1.0], dtype=tg.float64, requires_grad=True)
    # d sqrt/dx at 0 is inf, times the zero coming from `* 0`: NaN in SqrtBackward's output.
    y = (x.sqrt() * 0.0).sum()
    return x, y


def test_without_anomaly_mode_the_nan_goes_through():
    x, y = _nan_backward()
    y.backward()
    assert math.isnan(x.grad.tolist()[0])


def test_detect_anomaly_names_the_node_and_where_it_was_created():
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        with tg.autograd.detect_anomaly():
            assert tg._anomaly.is_anomaly_enabled()
            x, y = _nan_backward()
            with pytest.raises(tg.GraphError) as info:
                y.backward()
    assert not tg._anomaly.is_anomaly_enabled()
    message = str(info.value)
    assert "Function 'SqrtBackward' returned nan values in its 0th output." in message
    # The forward traceback points at the line that called sqrt.
    assert "test_engine_phases.py" in message and "x.sqrt()" in message


def test_detect_anomaly_stops_at_the_first_infinite_gradient():
    x = tg.tensor([0.0, 1.0], dtype=tg.float64, requires_grad=True)
    y = x.sqrt().sum()  # d sqrt/dx at 0 is +inf: no NaN anywhere, but the gradient blows up
    with pytest.warns(UserWarning):
        with tg.autograd.detect_anomaly():
            with pytest.raises(tg.GraphError, match="'SqrtBackward' returned inf values in its 0th"):
                y.backward()
    assert x.grad is None
    x.sqrt().sum().backward()  # without anomaly mode the infinity goes through
    assert x.grad.tolist()[0] == float("inf")


def test_set_detect_anomaly_with_and_without_nan_checks():
    with tg.autograd.set_detect_anomaly(True, check_nan=False):
        x, y = _nan_backward()
        y.backward()  # no check: the NaN goes through
        assert np.isnan(x.grad.numpy()[0])
    assert not tg._anomaly.is_anomaly_enabled()
    tg.autograd.set_detect_anomaly(True)
    try:
        x, y = _nan_backward()
        with pytest.raises(tg.GraphError, match="SqrtBackward"):
            y.backward()
    finally:
        tg.autograd.set_detect_anomaly(False)
    assert not tg._anomaly.is_anomaly_enabled()


def test_detect_anomaly_as_a_decorator():
    @tg.autograd.detect_anomaly()
    def step() -> None:
        x, y = _nan_backward()
        y.backward()

    with pytest.warns(UserWarning):
        with pytest.raises(tg.GraphError, match="nan values"):
            step()
    assert not tg._anomaly.is_anomaly_enabled()
