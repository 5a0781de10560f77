"""The device API with PyTorch's spelling, for a CPU-only library (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg
from tapegrad import nn

FACTORIES = {
    "tensor": lambda **kw: tg.tensor([1.0, 2.0], **kw),
    "zeros": lambda **kw: tg.zeros(2, 3, **kw),
    "ones": lambda **kw: tg.ones((2,), **kw),
    "full": lambda **kw: tg.full((2,), 1.5, **kw),
    "empty": lambda **kw: tg.empty(2, 2, **kw),
    "arange": lambda **kw: tg.arange(3, **kw),
    "eye": lambda **kw: tg.eye(2, **kw),
    "rand": lambda **kw: tg.rand(2, **kw),
    "randn": lambda **kw: tg.randn(2, **kw),
    "zeros_like": lambda **kw: tg.zeros_like(tg.ones(2), **kw),
    "ones_like": lambda **kw: tg.ones_like(tg.ones(2), **kw),
    "empty_like": lambda **kw: tg.empty_like(tg.ones(2), **kw),
    "full_like": lambda **kw: tg.full_like(tg.ones(2), 7.0, **kw),
}


def test_device_object_matches_torch_spelling():
    cpu = tg.device("cpu")
    assert cpu.type == "cpu" and cpu.index is None
    assert repr(cpu) == "device(type='cpu')" and str(cpu) == "cpu"
    assert tg.device("cpu:0") == tg.device("cpu", 0)
    assert cpu == "cpu" and cpu != "cuda"
    assert tg.device(cpu) == cpu
    assert hash(tg.device("cpu")) == hash(cpu)


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "mps", "xpu"])
def test_other_devices_raise_one_clear_error(name):
    with pytest.raises(tg.ArgumentError, match="tapegrad runs on CPUs only"):
        tg.device(name)
    with pytest.raises(tg.ArgumentError, match="tapegrad runs on CPUs only"):
        tg.zeros(2, device=name)
    with pytest.raises(tg.ArgumentError, match="tapegrad runs on CPUs only"):
        tg.ones(2).to(name)


def test_bad_device_strings():
    with pytest.raises(tg.ArgumentError, match="only one CPU"):
        tg.device("cpu:1")
    with pytest.raises(tg.ArgumentError, match="invalid device string"):
        tg.device("cpu:x")
    with pytest.raises(tg.ArgumentError, match="expected a string"):
        tg.device(1.5)


@pytest.mark.parametrize("name", list(FACTORIES))
@pytest.mark.parametrize("device", [None, "cpu", "cpu:0"])
def test_every_factory_accepts_device(name, device):
    t = FACTORIES[name](device=device if device is None else tg.device(device))
    assert t.device == tg.device("cpu")
    t = FACTORIES[name](device=device)
    assert isinstance(t, tg.Tensor)


def test_factory_signatures_show_device():
    import inspect

    for name in FACTORIES:
        assert "device" in inspect.signature(getattr(tg, name)).parameters, name


def test_empty_and_full_like_values():
    assert tg.empty(2, 3).shape == (2, 3)
    t = tg.full_like(tg.ones(2, dtype=tg.float64), 7.0)
    assert t.dtype == tg.float64 and t.tolist() == [7.0, 7.0]
    assert tg.empty_like(tg.ones(3), dtype=tg.float64).dtype == tg.float64


def test_tensor_to_device_and_dtype():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert x.to("cpu") is x
    assert x.to(tg.device("cpu")) is x
    assert x.cpu() is x
    assert x.to(x.dtype) is x
    y = x.to("cpu", tg.float64)
    assert y.dtype == tg.float64 and y.grad_fn is not None
    assert x.to(device="cpu", dtype=tg.float64).dtype == tg.float64
    assert x.to(tg.ones(1, dtype=tg.float64)).dtype == tg.float64
    assert x.to(tg.float64, non_blocking=True).dtype == tg.float64
    assert x.to("float64").dtype == tg.float64
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0] and x.grad.dtype == tg.float32
    with pytest.raises(tg.ArgumentError, match="unexpected keyword"):
        x.to(dtype=tg.float64, colour="red")


def test_module_to_device():
    model = nn.Linear(2, 3)
    assert model.to("cpu") is model
    assert model.to(tg.device("cpu")) is model
    with pytest.raises(tg.ArgumentError, match="tapegrad runs on CPUs only"):
        model.to("cuda")


def test_default_device_and_backend_queries():
    tg.set_default_device("cpu")
    tg.set_default_device(None)
    assert tg.get_default_device() == tg.device("cpu")
    with pytest.raises(tg.ArgumentError, match="CPUs only"):
        tg.set_default_device("cuda")
    assert tg.cuda.is_available() is False
    assert tg.cuda.device_count() == 0
    assert tg.cuda.manual_seed(0) is None
    assert tg.cuda.manual_seed_all(0) is None
    assert tg.backends.mps.is_available() is False
    device = "cuda" if tg.cuda.is_available() else "cpu"
    assert tg.ones(1, device=device).device.type == "cpu"


def test_tensor_predicates_and_sizes():
    x = tg.ones(2, 3, dtype=tg.float64)
    assert tg.is_tensor(x) and not tg.is_tensor(np.ones(2))
    assert tg.is_tensor(nn.Parameter(tg.ones(1)))
    assert tg.is_floating_point(x) and x.is_floating_point()
    assert tg.numel(x) == 6 and x.nelement() == 6
    assert x.element_size() == 8 and tg.ones(1).element_size() == 4


def test_new_factories_take_dtype_from_the_tensor():
    x = tg.ones(2, dtype=tg.float64)
    for t in (x.new_zeros(2, 3), x.new_ones((2, 3)), x.new_empty(2, 3)):
        assert t.shape == (2, 3) and t.dtype == tg.float64 and t.is_leaf
    assert x.new_zeros(2).tolist() == [0.0, 0.0]
    assert x.new_ones(2).tolist() == [1.0, 1.0]
    full = x.new_full((2,), 3.0, requires_grad=True)
    assert full.tolist() == [3.0, 3.0] and full.requires_grad
    assert x.new_full((2,), 3.0, dtype=tg.float32).dtype == tg.float32
    t = x.new_tensor([1, 2])
    assert t.dtype == tg.float64 and t.tolist() == [1.0, 2.0]
    assert x.new_zeros(2, device="cpu").device == tg.device("cpu")
    with pytest.raises(tg.ArgumentError, match="CPUs only"):
        x.new_ones(2, device="cuda")


def test_clone_is_a_differentiable_copy():
    x = tg.tensor([1.0, -2.0], requires_grad=True)
    y = x.clone()
    assert y.grad_fn.name() == "CloneBackward" and y.tolist() == [1.0, -2.0]
    (y * y).sum().backward()
    assert x.grad.tolist() == [2.0, -4.0]
    assert tg.tensor([1.0]).clone().grad_fn is None


def test_as_methods():
    x = tg.arange(6, dtype=tg.float64, requires_grad=True)
    other = tg.zeros(2, 3)
    assert x.view_as(other).shape == (2, 3)
    assert x.reshape_as(other).shape == (2, 3)
    assert x.type_as(other).dtype == tg.float32
    row = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    wide = row.expand_as(other)
    assert wide.shape == (2, 3)
    wide.sum().backward()
    assert row.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(tg.ShapeError):
        x.view_as(tg.zeros(4))


def test_format_of_a_0d_tensor():
    loss = tg.tensor(0.123456)
    assert f"{loss:.4f}" == "0.1235"
    assert f"{loss:>8.2f}" == "    0.12"
    assert format(tg.ones(2)) == str(tg.ones(2))
    with pytest.raises(TypeError, match="only 0-d tensors"):
        f"{tg.ones(2):.3f}"
