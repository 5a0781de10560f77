"""Tensor hooks: ``x.register_hook(fn)`` sees (and may replace) x's gradient."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg
from helpers import assert_close, raises, values


def leaf(data):
    return tg.tensor(np.asarray(data, dtype=np.float64), requires_grad=True)


def test_a_leaf_hook_sees_the_gradient_and_returning_none_keeps_it():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(values(g)))
    (x * x).sum().backward()
    assert len(seen) == 1
    assert_close(seen[0], [2.0, 4.0])
    assert_close(x.grad, [2.0, 4.0])


def test_a_leaf_hook_replaces_the_gradient():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: g * 10.0)
    (x * x).sum().backward()
    assert_close(x.grad, [20.0, 40.0])


def test_a_leaf_hook_sees_the_total_gradient_once():
    """x is used three times; the hook runs once, on the summed gradient."""
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(values(g)))
    (x * 2.0 + x.exp() + x * x).sum().backward()
    assert len(seen) == 1
    assert_close(seen[0], 2.0 + np.exp([1.0, 2.0]) + 2 * np.array([1.0, 2.0]))


def test_a_non_leaf_hook_changes_what_flows_upstream():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    y.register_hook(lambda g: g + 1.0)
    (y * y).sum().backward()  # dL/dy = 2y + 1, then dL/dx = 3 (2y + 1)
    assert_close(x.grad, 3 * (2 * 3 * np.array([1.0, 2.0]) + 1))


def test_a_non_leaf_hook_also_changes_retained_grad():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    y.retain_grad()
    y.register_hook(lambda g: g * 0.5)
    y.sum().backward()
    assert_close(y.grad, [0.5, 0.5])
    assert_close(x.grad, [1.5, 1.5])


def test_hooks_run_in_registration_order_each_seeing_the_previous_result():
    x = leaf([1.0])
    order = []

    def record(name, change):
        def hook(g):
            order.append((name, float(values(g)[0])))
            return change(g)

        return hook

    x.register_hook(record("first", lambda g: g + 1.0))
    x.register_hook(record("second", lambda g: None))
    x.register_hook(record("third", lambda g: g * 10.0))
    (x * 2.0).sum().backward()
    assert order == [("first", 2.0), ("second", 3.0), ("third", 3.0)]
    assert_close(x.grad, [30.0])


def test_handle_remove_unregisters_only_that_hook():
    x = leaf([1.0, 2.0])
    calls = []
    doubling = x.register_hook(lambda g: g * 2.0)
    x.register_hook(lambda g: calls.append(1))
    (x * 1.0).sum().backward()
    assert_close(x.grad, [2.0, 2.0])
    doubling.remove()
    doubling.remove()  # harmless the second time
    x.grad = None
    (x * 1.0).sum().backward()
    assert_close(x.grad, [1.0, 1.0])
    assert len(calls) == 2


def test_handle_remove_on_a_non_leaf():
    x = leaf([1.0, 2.0])
    y = x * 1.0
    handle = y.register_hook(lambda g: g * 0.0)
    handle.remove()
    y.sum().backward()
    assert_close(x.grad, [1.0, 1.0])


def test_hooks_apply_to_tg_grad_too():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: g * 0.0 + 7.0)
    (g,) = tg.grad((x * x).sum(), [x])
    assert_close(g, [7.0, 7.0])
    assert x.grad is None


def test_a_hook_stays_for_later_backward_calls():
    x = leaf([1.0])
    count = []
    x.register_hook(lambda g: count.append(1))
    for _ in range(3):
        (x * 2.0).sum().backward()
    assert len(count) == 3
    assert_close(x.grad, [6.0])


def test_hook_with_create_graph_sees_a_differentiable_gradient():
    x = leaf([0.5, 1.5])
    seen = []
    x.register_hook(lambda g: seen.append(g.requires_grad))
    (g,) = tg.grad((x**3).sum(), [x], create_graph=True)
    assert seen == [True]
    (gg,) = tg.grad(g.sum(), [x])
    assert_close(gg, 6 * np.array([0.5, 1.5]))


def test_a_hook_on_a_custom_function_output():
    class Double(tg.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2.0

        @staticmethod
        def backward(ctx, grad):
            return grad * 2.0

    x = leaf([1.0])
    y = Double.apply(x)
    y.register_hook(lambda g: g * 5.0)
    y.sum().backward()
    assert_close(x.grad, [10.0])


def test_an_exception_in_a_hook_propagates_unchanged():
    class HookFailed(Exception):
        pass

    error = HookFailed("in a hook")

    def hook(g):
        raise error

    x = leaf([1.0, 2.0])
    y = x * 2.0
    y.register_hook(hook)
    with pytest.raises(HookFailed) as info:
        y.sum().backward()
    assert info.value is error
    assert x.grad is None

    z = leaf([1.0])
    z.register_hook(hook)
    with pytest.raises(HookFailed) as info:
        tg.grad((z * z).sum(), [z])
    assert info.value is error
    assert tg.is_grad_enabled()


def test_a_hook_returning_the_wrong_shape():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    y.register_hook(lambda g: g.sum())
    with raises(tg.ShapeError, "hook", "()", "(2,)"):
        y.sum().backward()


def test_a_hook_returning_a_non_tensor():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: 5.0)
    with raises(TypeError, "hook", "None or a Tensor"):
        (x * 1.0).sum().backward()


def test_register_hook_needs_a_callable_and_requires_grad():
    with raises(tg.GraphError, "hook", "does not require grad"):
        tg.tensor([1.0]).register_hook(lambda g: g)
    with raises(tg.DTypeError, "register_hook", "callable"):
        leaf([1.0]).register_hook(5)
