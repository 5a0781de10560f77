"""Every VJP rule is itself differentiable (create_graph=True), checked numerically.

For each OpSpec sample, ``(inputs, v) -> J(inputs)^T v`` is built with
``tg.grad(..., create_graph=True)`` and gradchecked against finite differences, with
respect to the inputs and to the cotangent ``v``.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import tapegrad as tg
from op_specs import OPS, make_arrays
from tapegrad.testing import gradcheck

CASES = [
    pytest.param(spec, sample, id=f"{spec.id}-{i}-{sample.label()}")
    for spec in OPS
    if spec.out_dtype != tg.float32  # float32 rounding swamps second differences
    for i, sample in enumerate(spec.samples)
]


@pytest.mark.parametrize(("spec", "sample"), CASES)
def test_vjp_is_differentiable(spec, sample):
    seed = f"{spec.id}/{sample.label()}"
    arrays = make_arrays(spec, sample, np.float64, seed)
    inputs = [tg.tensor(a, requires_grad=True) for a in arrays]
    with tg.no_grad():
        out_shape = tuple(spec.op(*inputs, **sample.kwargs).shape)
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    v = tg.tensor(rng.standard_normal(out_shape), requires_grad=True)

    def vjp(*args):
        *xs, cotangent = args
        out = spec.op(*xs, **sample.kwargs)
        grads = tg.grad(
            out, xs, grad_outputs=cotangent, create_graph=True, allow_unused=True
        )
        return tuple(g for g in grads if g is not None)

    first = vjp(*inputs, v)
    assert any(g.requires_grad for g in first) or all(
        not np.any(g.detach().numpy()) for g in first
    ), "create_graph=True gave gradients that do not depend on the cotangent"
    assert gradcheck(vjp, [*inputs, v], **spec.gradcheck_kwargs)
