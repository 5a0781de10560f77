"""Cycles through Rust are collectable (issue 13): a hook closing over its own tensor.

Python's collector cannot see through the core's reference counts, so a hook that holds
its own tensor kept both alive forever; ``Tensor.__traverse__``/``__clear__`` now show the
collector a leaf's hook callables.
"""

from __future__ import annotations

import gc
import weakref

import tapegrad as tg


def _collected(make):
    ref = make()
    gc.collect()
    return ref() is None


def test_a_hook_holding_its_own_tensor_is_freed():
    def make():
        x = tg.ones(1000, requires_grad=True)
        x.register_hook(lambda g, x=x: g)
        return weakref.ref(x)

    assert _collected(make)


def test_a_post_accumulate_hook_holding_its_own_tensor_is_freed():
    def make():
        x = tg.ones(10, requires_grad=True)
        x.register_post_accumulate_grad_hook(lambda t, x=x: None)
        (x * 2).sum().backward()
        return weakref.ref(x)

    assert _collected(make)


def test_a_collected_cycle_frees_its_hook_callable_too():
    class Hook:
        def __init__(self, x):
            self.x = x

        def __call__(self, g):
            return g

    def make():
        x = tg.ones(10, requires_grad=True)
        hook = Hook(x)
        x.register_hook(hook)
        return weakref.ref(hook)

    assert _collected(make)


def test_hooks_of_a_live_tensor_keep_working_across_collections():
    x = tg.ones(3, requires_grad=True)
    seen = []
    x.register_hook(lambda g, x=x: seen.append(tuple(g.shape)) or g * 2)
    gc.collect()
    (x * 3).sum().backward()
    assert seen == [(3,)]
    assert x.grad.tolist() == [6.0, 6.0, 6.0]


def test_many_self_referencing_hooks_do_not_accumulate():
    def make():
        x = tg.ones(1000, requires_grad=True)
        x.register_hook(lambda g, x=x: g)
        return weakref.ref(x)

    refs = [make() for _ in range(50)]
    gc.collect()
    assert sum(r() is not None for r in refs) == 0


class _SquareSavingOutput(tg.Function):
    @staticmethod
    def forward(ctx, x):
        y = x * x
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return 2 * y / x * g  # uses the saved output: x.grad's graph reaches the node

    @staticmethod
    def jvp(ctx, t):
        x, _ = ctx.saved_tensors
        return 2 * x * t


def test_a_custom_function_under_create_graph_frees_its_leaf():
    from tapegrad.memory import saved_bytes

    before = saved_bytes()

    def make():
        x = tg.ones(1000, dtype=tg.float64, requires_grad=True)
        y = _SquareSavingOutput.apply(x)
        y.sum().backward(create_graph=True)
        assert x.grad.tolist() == [2.0] * 1000
        return weakref.ref(x)

    assert _collected(make)
    assert saved_bytes() == before


def test_a_custom_function_keeps_its_jvp_and_backward_after_the_change():
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    _, tangent = tg.func.jvp(
        _SquareSavingOutput.apply, (x,), (tg.ones(2, dtype=tg.float64),)
    )
    assert tangent.tolist() == [2.0, 4.0]
    (g,) = tg.grad(_SquareSavingOutput.apply(x).sum(), [x], create_graph=True)
    assert g.tolist() == [2.0, 4.0]
    (gg,) = tg.grad(g.sum(), [x])
    assert gg.tolist() == [2.0, 2.0]
