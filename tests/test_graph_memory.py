"""Graphs built by ``create_graph=True`` (and by forward mode while recording) must
not leak: no reference cycle between a tensor, its ``.grad``, its tangent and their
nodes.

Two witnesses:

- Sentinels. A hook holds a Python object; the hook lives on the tensor (a leaf) or
  on the tensor's node (a non-leaf). When the tensor or node is freed, the hook and
  the sentinel go with it, so a dead ``weakref`` to the sentinel proves that the Rust
  object is gone; a live one after ``gc.collect()`` is a leak (Python's collector
  cannot see cycles through Rust ``Arc``s).
- Resident memory. Loops over 0.8 MB tensors: a leak of one tensor per iteration
  shows as 24+ MB over 30 iterations; no leak shows as (almost exactly) 0. (Large NumPy-sized buffers are mmapped and
  returned to the OS when freed, so RSS tracks them closely.)
"""

from __future__ import annotations

import gc
import os
import weakref
import zlib

import numpy as np
import pytest
import tapegrad as tg
from helpers import assert_close
from op_specs import OPS, make_arrays
from tapegrad import func


class Sentinel:
    """A weakly referenceable object that a hook keeps alive."""


def watch(tensor) -> weakref.ref:
    """Ties a sentinel's life to ``tensor`` (a leaf) or to its node (a non-leaf)."""
    sentinel = Sentinel()
    tensor.register_hook(lambda g, s=sentinel: None)
    return weakref.ref(sentinel)


def alive(refs) -> list:
    """Indices of the sentinels still alive, after collecting Python-level cycles."""
    if any(r() is not None for r in refs):
        gc.collect()  # only when needed: a full collection costs ~0.1 s here
    return [i for i, r in enumerate(refs) if r() is not None]


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


needs_proc = pytest.mark.skipif(
    not os.path.exists("/proc/self/statm"), reason="resident memory via /proc (Linux)"
)

BIG = 100_000  # float64 elements: 0.8 MB per tensor
MB = 1 << 20


def growth_over(iterations, step) -> float:
    """Resident memory growth (MB) over ``iterations`` calls of ``step``, after a
    warm-up that lets the allocator settle."""
    for _ in range(5):
        step()
    gc.collect()
    before = rss_bytes()
    for _ in range(iterations):
        step()
    gc.collect()
    return (rss_bytes() - before) / MB


def big_leaf(seed=0):
    values = np.random.default_rng(seed).uniform(0.5, 1.5, BIG)
    return tg.tensor(values, requires_grad=True)


def loss(x):
    # exp and tanh save their outputs, mul its inputs: the VJPs of all of them end up
    # in the graph of x.grad.
    return (x.tanh() * x.exp() + x.sin() * x).sum()


# ---------------------------------------------------------------- weakrefs


def test_tensors_support_weakrefs_and_die_when_dropped():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    ref = weakref.ref(x)
    assert ref() is x
    del x
    gc.collect()
    assert ref() is None


def test_backward_create_graph_does_not_keep_the_leaf_alive():
    x = tg.tensor([0.5, 1.5], dtype=tg.float64, requires_grad=True)
    x_ref, x_impl = weakref.ref(x), watch(x)
    loss(x).backward(create_graph=True)
    grad = x.grad
    grad_ref, grad_impl = weakref.ref(grad), watch(grad)
    assert grad.requires_grad  # a graph back to x exists ...
    del x
    assert alive([x_ref, x_impl]) == []  # ... yet it does not keep x alive
    assert grad.detach().numpy().shape == (2,)  # the gradient's values survive
    del grad
    assert alive([grad_ref, grad_impl]) == []


def test_tg_grad_create_graph_does_not_keep_the_leaf_alive():
    x = tg.tensor([0.5, 1.5], dtype=tg.float64, requires_grad=True)
    x_impl = watch(x)
    (g,) = tg.grad(loss(x), [x], create_graph=True)
    (gg,) = tg.grad(g.sum(), [x], create_graph=True)
    g_impl, gg_impl = watch(g), watch(gg)
    del x
    assert alive([x_impl]) == []
    del g, gg
    assert alive([g_impl, gg_impl]) == []


def test_a_graph_and_its_grad_graph_are_freed_together():
    """Leaf, intermediate, loss and x.grad (create_graph) all go after del."""
    x = tg.tensor([0.5, 1.5], dtype=tg.float64, requires_grad=True)
    h = x * 2.0
    refs = [watch(x), watch(h)]
    y = loss(h)
    y.backward(create_graph=True)
    refs.append(watch(x.grad))
    del x, h, y
    assert alive(refs) == []


def test_custom_function_ctx_is_freed_with_its_graph():
    class Cube(tg.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            result = a * a * a
            return result

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return grad * 3.0 * a * a

    contexts = []

    class Watched(Cube):
        @staticmethod
        def forward(ctx, a):
            contexts.append(weakref.ref(ctx))
            return Cube.forward(ctx, a)

    x = tg.tensor([0.5, 1.5], dtype=tg.float64, requires_grad=True)
    Watched.apply(x).sum().backward(create_graph=True)
    x.grad.sum().backward()
    (g,) = tg.grad(Watched.apply(x).sum(), [x], create_graph=True)
    y = Watched.apply(x)  # never backpropagated
    del x, g, y
    assert alive(contexts) == []


# ---------------------------------------------------------------- every primitive


def _first_nonempty_sample(spec):
    for sample in spec.samples:
        if sample.shapes and all(np.prod(s, dtype=int) > 0 for s in sample.shapes):
            return sample
    return None


MEMORY_CASES = [
    pytest.param(spec, sample, id=f"{spec.id}-{sample.label()}")
    for spec in OPS
    if spec.out_dtype != tg.float32
    for sample in [_first_nonempty_sample(spec)]
    if sample is not None
]


def _inputs(spec, sample):
    seed = f"memory/{spec.id}/{sample.label()}"
    arrays = make_arrays(spec, sample, np.float64, seed)
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    return arrays, rng


@pytest.mark.parametrize(("spec", "sample"), MEMORY_CASES)
def test_create_graph_through_every_primitive_frees_everything(spec, sample):
    arrays, rng = _inputs(spec, sample)
    leaves = [tg.tensor(a, requires_grad=True) for a in arrays]
    mids = [leaf * 1.0 for leaf in leaves]
    refs = [watch(t) for t in (*leaves, *mids)]
    out = spec.op(*mids, **sample.kwargs)
    weights = tg.tensor(rng.standard_normal(tuple(out.shape)))
    (out * weights).sum().backward(create_graph=True)
    grads = [leaf.grad for leaf in leaves]
    second = sum((g * g).sum() for g in grads if g is not None and g.requires_grad)
    if isinstance(second, tg.Tensor):
        second.backward()
    del leaves, mids, out, grads, second
    assert alive(refs) == [], "create_graph left part of the graph alive (a cycle)"


@pytest.mark.parametrize(("spec", "sample"), MEMORY_CASES)
def test_forward_mode_while_recording_frees_everything(spec, sample):
    """jvp of primals that require grad records the graph and computes tangents at
    once; the tangents must not form a cycle with the nodes."""
    arrays, rng = _inputs(spec, sample)
    primals = [tg.tensor(a, requires_grad=True) for a in arrays]
    tangents = [tg.tensor(rng.standard_normal(a.shape)) for a in arrays]
    refs = []

    def f(*duals):
        mids = [d * 1.0 for d in duals]
        refs.extend(watch(m) for m in mids)
        return spec.op(*mids, **sample.kwargs)

    out, tangent = func.jvp(f, primals, tangents)
    assert out.requires_grad
    del out, tangent
    assert refs and alive(refs) == [], "forward mode left the graph alive (a cycle)"


@pytest.mark.parametrize(("spec", "sample"), MEMORY_CASES)
def test_hvp_through_every_primitive_frees_everything(spec, sample):
    arrays, rng = _inputs(spec, sample)
    refs = []

    def f(*xs):
        mids = [x * 1.0 for x in xs]
        refs.extend(watch(m) for m in mids)
        out = spec.op(*mids, **sample.kwargs)
        return (out * tg.tensor(weights)).sum()

    with tg.no_grad():
        shape = tuple(spec.op(*[tg.tensor(a) for a in arrays], **sample.kwargs).shape)
    weights = rng.standard_normal(shape)
    primals = [tg.tensor(a) for a in arrays]
    tangents = [tg.tensor(rng.standard_normal(a.shape)) for a in arrays]
    result = func.hvp(f, primals, tangents)
    del result
    assert refs and alive(refs) == [], "hvp left its graph alive (a cycle)"


# ---------------------------------------------------------------- loops, RSS


@needs_proc
def test_backward_create_graph_loop_keeps_memory_flat():
    x = big_leaf()

    def step():
        loss(x).backward(create_graph=True)
        x.grad = None

    assert growth_over(30, step) < 10  # a leak of one tensor per step is 24+ MB


@needs_proc
def test_tg_grad_create_graph_loop_keeps_memory_flat():
    x = big_leaf()

    def step():
        (g,) = tg.grad(loss(x), [x], create_graph=True)
        (gg,) = tg.grad(g.sum(), [x])
        assert gg.shape == (BIG,)

    assert growth_over(30, step) < 10


@needs_proc
def test_fresh_leaves_with_create_graph_loop_keeps_memory_flat():
    """The pattern where x itself is new each time: x, y, x.grad all go away."""

    def step():
        x = big_leaf()
        loss(x).backward(create_graph=True)
        assert x.grad.requires_grad

    assert growth_over(30, step) < 10


@needs_proc
def test_hvp_loop_keeps_memory_flat():
    x = tg.tensor(np.random.default_rng(1).uniform(0.5, 1.5, BIG))
    v = tg.tensor(np.random.default_rng(2).standard_normal(BIG))

    def step():
        _, product = func.hvp(loss, (x,), (v,))
        assert product.shape == (BIG,)

    assert growth_over(30, step) < 10


@needs_proc
def test_jvp_of_primals_that_require_grad_loop_keeps_memory_flat():
    x = big_leaf()
    v = tg.tensor(np.random.default_rng(3).standard_normal(BIG))

    def step():
        out, tangent = func.jvp(loss, (x,), (v,))
        assert tangent.shape == ()
        out.backward()
        x.grad = None

    assert growth_over(30, step) < 10


def test_the_memory_witness_sees_a_real_leak():
    """The sentinel method detects an object kept alive (here on purpose, by a
    Python-side reference cycle through a non-leaf's hook) -- the tests above can fail."""
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    ref = watch(y)
    keeper = []
    y.register_hook(lambda g, k=keeper: None)
    # y -> its node's hook -> keeper -> y: a non-leaf's hooks live on its node, which
    # the collector cannot see (a leaf's can, since issue 13: tests/test_leaks.py).
    keeper.append(y)
    del x, y, keeper
    assert alive([ref]) == [0]


def test_values_survive_the_death_of_their_leaf():
    """With leaves held weakly, a saved copy of a dead leaf is rebuilt on demand:
    backward through a graph whose leaf is gone still works for the other inputs."""
    w = tg.tensor([2.0, 3.0], dtype=tg.float64, requires_grad=True)

    def build():
        x = tg.tensor([0.5, 1.5], dtype=tg.float64, requires_grad=True)
        return (x * w).sum()

    y = build()  # x is gone; its values were saved for w's gradient
    y.backward()
    assert_close(w.grad, [0.5, 1.5])
