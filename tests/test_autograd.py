"""The autograd API: leaves, grad_fn, accumulation, higher order, grad mode."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import tapegrad as tg
from helpers import assert_close, raises, values


def leaf(data):
    return tg.tensor(np.asarray(data, dtype=np.float64), requires_grad=True)


# ---------------------------------------------------------------- leaves, grad_fn


def test_leaves_and_results():
    x, c = leaf([1.0, 2.0]), tg.tensor([3.0, 4.0])
    assert x.is_leaf and c.is_leaf
    assert x.requires_grad and not c.requires_grad
    y = x * c
    assert y.requires_grad and not y.is_leaf
    z = c * c  # nothing requires grad: no node is recorded
    assert z.is_leaf and not z.requires_grad and z.grad_fn is None
    assert x.grad is None and x.grad_fn is None


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda x, y: x * y, "MulBackward"),
        (lambda x, y: x + y, "AddBackward"),
        (lambda x, y: x.exp(), "ExpBackward"),
        (lambda x, y: x.sum(), "SumBackward"),
    ],
    ids=["mul", "add", "exp", "sum"],
)
def test_grad_fn_names(make, name):
    out = make(leaf([1.0, 2.0]), leaf([3.0, 4.0]))
    assert out.grad_fn.name() == name
    assert name in repr(out.grad_fn)


def test_requires_grad_underscore_sets_flag_and_returns_self():
    x = tg.tensor([1.0, 2.0])
    assert x.requires_grad_() is x
    assert x.requires_grad
    (x * 3.0).sum().backward()
    assert_close(x.grad, [3.0, 3.0])
    x.requires_grad_(False)
    assert not x.requires_grad


def test_requires_grad_can_only_be_changed_on_leaves():
    y = leaf([1.0]) * 2.0
    with raises(tg.GraphError, "leaf"):
        y.requires_grad = False
    assert y.requires_grad
    x = tg.tensor([1.0])
    x.requires_grad = True
    assert x.requires_grad and x.is_leaf


def test_detach_shares_values_and_stops_gradient():
    x = leaf([1.0, 2.0])
    d = x.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    assert_close(d, [1.0, 2.0])
    (x * x.detach()).sum().backward()
    assert_close(x.grad, [1.0, 2.0])  # d/dx (x * c) = c, not 2x


# ---------------------------------------------------------------- backward


def test_gradient_accumulates_across_backward_calls():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    assert_close(x.grad, [2.0, 4.0])
    y.backward()
    assert_close(x.grad, [4.0, 8.0])
    (3.0 * x).sum().backward()  # a new graph accumulates into the same slot
    assert_close(x.grad, [7.0, 11.0])


def test_grad_assignment_and_reset():
    x = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    x.grad = tg.ones(2, 3, dtype=tg.float64)
    (2.0 * x).sum().backward()
    assert_close(x.grad, np.full((2, 3), 3.0))
    x.grad = None
    assert x.grad is None
    with raises(tg.ShapeError, "(2, 3)", "(3, 2)"):
        x.grad = tg.ones(3, 2, dtype=tg.float64)


def test_backward_with_explicit_gradient():
    x = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    g = np.arange(6.0).reshape(2, 3)
    (x * 2.0).backward(gradient=tg.tensor(g))
    assert_close(x.grad, 2.0 * g)


def test_backward_of_a_scalar_leaf():
    x = leaf(3.0)
    x.backward()
    assert_close(x.grad, 1.0)


def test_shared_subexpressions_each_edge_once():
    a, b = leaf([2.0]), leaf([5.0])
    h = a * b
    out = (h + a) * h
    out.sum().backward()
    # d(out)/dh = 2h + a; d/da = (2h + a) b + h = 120; d/db = (2h + a) a = 44
    assert_close(a.grad, [120.0])
    assert_close(b.grad, [44.0])


def test_inputs_without_requires_grad_get_no_grad():
    x, c = leaf([1.0]), tg.tensor([2.0], dtype=tg.float64)
    (x * c).sum().backward()
    assert c.grad is None and x.grad is not None


def test_non_leaf_grad_needs_retain_grad():
    x = leaf([1.0, -2.0])
    h = x * 3.0
    kept = x * 2.0
    assert not kept.retains_grad
    kept.retain_grad()
    assert kept.retains_grad and not h.retains_grad
    (h * h + kept * kept).sum().backward()
    assert h.grad is None
    assert_close(kept.grad, 2.0 * values(kept))
    assert_close(x.grad, 18.0 * values(x) + 8.0 * values(x))


def test_backward_twice_is_refused_and_retain_graph_allows_it():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with raises(tg.GraphError, "retain_graph=True"):
        y.backward()
    z = (x.exp() * x).sum()
    z.backward(retain_graph=True)
    z.backward()
    e = np.exp([1.0, 2.0])
    assert_close(x.grad, 3.0 * (e + e * np.array([1.0, 2.0])), rtol=1e-12)


def test_plain_backward_records_nothing():
    x = leaf([1.0, 2.0])
    (x**3).sum().backward()
    assert not x.grad.requires_grad and x.grad.grad_fn is None


# ---------------------------------------------------------------- tg.grad, higher order


def test_grad_returns_a_tuple_and_leaves_dot_grad_alone():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    grads = tg.grad((x * y).sum(), [x, y])
    assert isinstance(grads, tuple) and len(grads) == 2
    assert_close(grads[0], [3.0, 4.0])
    assert_close(grads[1], [1.0, 2.0])
    assert x.grad is None and y.grad is None


def test_grad_with_grad_outputs_and_several_outputs():
    x = leaf([1.0, 2.0])
    a, b = x * 2.0, x * x
    (g,) = tg.grad(
        [a, b],
        [x],
        grad_outputs=[
            tg.tensor([1.0, 10.0], dtype=tg.float64),
            tg.ones(2, dtype=tg.float64),
        ],
    )
    assert_close(g, [2.0 + 2.0, 20.0 + 4.0])


def test_grad_frees_the_graph_unless_retained():
    x = leaf([1.0])
    y = (x * x).sum()
    tg.grad(y, [x], retain_graph=True)
    tg.grad(y, [x])
    with raises(tg.GraphError, "retain_graph"):
        tg.grad(y, [x])


def test_grad_allow_unused():
    x, unused = leaf([1.0]), leaf([2.0])
    y = (x * 2.0).sum()
    gx, gu = tg.grad(y, [x, unused], retain_graph=True, allow_unused=True)
    assert_close(gx, [2.0])
    assert gu is None
    with raises(tg.GraphError, "allow_unused"):
        tg.grad(y, [x, unused])


def test_second_derivative_of_cube():
    x = leaf(2.0)
    (g,) = tg.grad(x**3, [x], create_graph=True)
    assert g.requires_grad
    assert_close(g, 12.0)  # 3 x^2
    (h,) = tg.grad(g, [x])
    assert_close(h, 12.0)  # 6 x


def test_backward_create_graph_gives_differentiable_grad():
    x = leaf([0.5, 1.5])
    (x.sin() * x).sum().backward(create_graph=True)
    g = x.grad  # sin x + x cos x
    assert g.requires_grad
    xv = np.array([0.5, 1.5])
    assert_close(g, np.sin(xv) + xv * np.cos(xv), rtol=1e-12)
    x.grad = None
    g.sum().backward()  # 2 cos x - x sin x
    assert_close(x.grad, 2 * np.cos(xv) - xv * np.sin(xv), rtol=1e-12)


def test_third_derivative_through_tanh():
    x = leaf(0.3)
    (g1,) = tg.grad(x.tanh(), [x], create_graph=True)
    (g2,) = tg.grad(g1, [x], create_graph=True)
    (g3,) = tg.grad(g2, [x])
    t = np.tanh(0.3)
    assert_close(g3, -2 * (1 - t**2) ** 2 + 4 * t**2 * (1 - t**2), rtol=1e-10)


# ---------------------------------------------------------------- grad mode


def test_no_grad_context_and_restore_on_exception():
    x = leaf([1.0])
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2.0
        with tg.enable_grad():
            assert tg.is_grad_enabled()
            z = x * 2.0
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert z.requires_grad
    assert tg.is_grad_enabled()
    with pytest.raises(KeyError), tg.no_grad():
        raise KeyError("boom")
    assert tg.is_grad_enabled()


def test_no_grad_and_enable_grad_as_decorators():
    x = leaf([1.0])

    @tg.no_grad()
    def frozen(t):
        return t * 2.0, tg.is_grad_enabled()

    @tg.enable_grad()
    def live(t):
        return t * 2.0

    out, enabled = frozen(x)
    assert not out.requires_grad and not enabled
    with tg.no_grad():
        assert live(x).requires_grad
        assert not tg.is_grad_enabled()
    assert frozen.__name__ == "frozen"


def test_set_grad_enabled():
    tg.set_grad_enabled(False)
    assert not tg.is_grad_enabled()
    assert not (leaf([1.0]) * 2.0).requires_grad
    tg.set_grad_enabled(True)
    assert tg.is_grad_enabled()


def test_grad_mode_is_per_thread():
    main_inside, worker_inside, release = (threading.Event() for _ in range(3))
    seen = {}

    def worker():
        main_inside.wait(5)
        seen["enabled"] = tg.is_grad_enabled()  # main's no_grad does not leak here
        seen["records"] = (leaf([1.0]) * 2.0).requires_grad
        with tg.no_grad():
            seen["inner"] = tg.is_grad_enabled()
            worker_inside.set()
            release.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        with tg.no_grad():
            main_inside.set()
            assert worker_inside.wait(5)
        # The worker is still inside its no_grad: this thread must not see it.
        assert tg.is_grad_enabled()
        assert (leaf([1.0]) * 2.0).requires_grad
    finally:
        release.set()
        thread.join(5)
    assert seen == {"enabled": True, "records": True, "inner": False}


def test_grad_with_respect_to_an_intermediate():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    y = (h * h).sum()
    gh, gx = tg.grad(y, [h, x])
    assert_close(gh, [6.0, 12.0])  # 2h
    assert_close(gx, [18.0, 36.0])  # 2h * 3


def test_grad_outputs_may_be_none_for_scalar_outputs():
    x = leaf([1.0, 2.0])
    a, b = (x * 2.0).sum(), (x * x).sum()
    (g,) = tg.grad([a, b], [x], grad_outputs=[None, tg.tensor(np.array(2.0))])
    assert_close(g, [2.0 + 4.0, 2.0 + 8.0])


def test_backward_in_concurrent_threads():
    errors, results = [], {}

    def work(k):
        try:
            for _ in range(200):
                x = leaf(np.arange(50.0) + k)
                ((x * x).sum() * 0.5).backward()
                if not np.array_equal(values(x.grad), values(x)):
                    raise AssertionError(f"thread {k}: wrong gradient")
            results[k] = True
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and len(results) == 4, errors


def test_grad_runs_only_the_nodes_between_the_output_and_the_inputs():
    # w is saved by x * w; changing it in place breaks only the gradient that needs x * w's
    # rule. A gradient with respect to `mid` must not run that rule (as in PyTorch).
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = tg.tensor([0.5, 0.5, 0.5])
    mid = (x * w).exp()
    y = (mid * mid).sum()
    w._assign(tg.tensor([9.0, 9.0, 9.0]))
    (g_mid,) = tg.grad(y, [mid], retain_graph=True)
    assert_close(g_mid, 2 * values(mid))
    with raises(tg.GraphError, "modified by an inplace operation"):
        tg.grad(y, [x])


def test_grad_with_respect_to_an_intermediate_leaves_upstream_rules_unrun():
    tg.manual_seed(0)  # float32 tolerances below: inputs that do not depend on test order
    x = tg.randn(4, 3, requires_grad=True)
    w = tg.randn(3, 5, requires_grad=True)
    h = x @ w
    y = h.tanh().sum()
    (g_h,) = tg.grad(y, [h], retain_graph=True)
    # 1 - tanh(h)^2 cancels where |h| is large: float32's absolute error there is ~1e-7
    assert_close(g_h, 1 - np.tanh(values(h)) ** 2, rtol=1e-5, atol=1e-6)
    # the graph upstream of h is intact and still differentiable afterwards
    gx, gw = tg.grad(y, [x, w])
    assert_close(gx, values(g_h) @ values(w).T, rtol=1e-5, atol=1e-6)
    assert_close(gw, values(x).T @ values(g_h), rtol=1e-5, atol=1e-6)


def test_leaves_never_share_a_grad_and_broadcast_grads_are_writable():
    # (a + b) hands both leaves one gradient tensor; PyTorch's AccumulateGrad copies it
    # unless nothing else holds it, so updating a.grad in place leaves b.grad alone.
    a = tg.zeros(3, requires_grad=True)
    b = tg.zeros(3, requires_grad=True)
    (a + b).sum().backward()
    assert not a.grad._shares_storage(b.grad)
    a.grad.add_(1.0)
    assert b.grad.tolist() == [1.0, 1.0, 1.0] and a.grad.tolist() == [2.0, 2.0, 2.0]
    # x.sum()'s gradient is a broadcast 1 (stride 0): .grad is a contiguous tensor
    x = tg.zeros(2, 3, requires_grad=True)
    x.sum().backward()
    assert x.grad.is_contiguous() and x.grad.stride() == (3, 1)
    x.grad.mul_(2.0)
    assert x.grad.tolist() == [[2.0] * 3] * 2
