"""nn.Parameter as a class, and the Module utilities: registration, traversal, hooks,
dtype conversion, containers of modules and parameters."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg
from helpers import assert_close, raises, values
from tapegrad import nn

F64 = tg.float64


# ---- Parameter


def test_parameter_is_a_tensor_subclass_and_a_leaf():
    data = tg.tensor([1.0, 2.0], dtype=F64)
    p = nn.Parameter(data)
    assert isinstance(p, nn.Parameter) and isinstance(p, tg.Tensor)
    assert p.is_leaf and p.requires_grad and p.dtype == F64
    assert not data.requires_grad  # the source is left alone
    assert repr(p) == (
        "Parameter containing:\ntensor([1., 2.], dtype=tapegrad.float64, "
        "requires_grad=True)"
    )
    frozen = nn.Parameter(tg.ones(2), requires_grad=False)
    assert isinstance(frozen, nn.Parameter) and not frozen.requires_grad
    assert tuple(nn.Parameter().shape) == (0,)
    assert_close(nn.Parameter([[1.0, 2.0]]), [[1.0, 2.0]])


def test_operations_on_a_parameter_return_plain_tensors_and_reach_its_grad():
    p = nn.Parameter(tg.tensor([1.0, -2.0], dtype=F64))
    out = p * p
    assert type(out) is tg.Tensor and type(p.detach()) is tg.Tensor
    out.sum().backward()
    assert_close(p.grad, [2.0, -4.0])
    opt = tg.optim.SGD([p], lr=0.5)
    opt.step()
    assert isinstance(p, nn.Parameter)
    assert_close(p, [0.0, 0.0])


def test_a_parameter_of_a_non_leaf_is_a_new_leaf():
    x = tg.ones(2, requires_grad=True)
    p = nn.Parameter(x * 3)
    assert p.is_leaf and p.grad_fn is None
    assert_close(p, [3.0, 3.0])


def test_modules_register_parameters_and_keep_their_class():
    model = nn.Linear(2, 3)
    assert all(isinstance(p, nn.Parameter) for p in model.parameters())
    model.extra = nn.Parameter(tg.ones(1), requires_grad=False)  # frozen, registered
    assert "extra" in dict(model.named_parameters())
    model.double()
    assert all(isinstance(p, nn.Parameter) for p in model.parameters())
    assert model.weight.dtype == F64 and not model.extra.requires_grad
