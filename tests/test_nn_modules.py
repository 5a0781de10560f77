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


# ---- registration and traversal


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Linear(2, 2, dtype=F64)
        self.register_buffer("running", tg.zeros(2))
        self.register_buffer("scratch", tg.ones(2), persistent=False)

    def forward(self, x):
        return self.inner(x) + self.running

    def extra_repr(self) -> str:
        return "block=1"


def test_non_persistent_buffers_stay_out_of_the_state_dict():
    block = Block()
    assert [name for name, _ in block.named_buffers()] == ["running", "scratch"]
    assert list(block.state_dict()) == ["running", "inner.weight", "inner.bias"]
    block.scratch = tg.zeros(2)  # reassigning keeps it non-persistent
    assert "scratch" not in block.state_dict()
    block.load_state_dict(Block().state_dict())  # strict: scratch is not expected
    block.register_buffer("scratch", tg.ones(2), persistent=True)
    assert "scratch" in block.state_dict()


def test_register_module_get_submodule_and_named_modules():
    model = nn.Sequential(Block(), nn.Tanh())
    model.register_module("head", nn.Linear(2, 1))
    assert model.get_submodule("0.inner") is model[0].inner
    assert model.get_submodule("") is model
    with raises(AttributeError, "Linear has no attribute `nope`"):
        model.get_submodule("0.inner.nope")
    with raises(AttributeError, "`weight` is not an nn.Module"):
        model.get_submodule("0.inner.weight")
    names = [name for name, _ in model.named_modules()]
    assert names == ["", "0", "0.inner", "1", "head"]
    assert [name for name, _ in model.named_modules(prefix="m")][:2] == ["m", "m.0"]
    shared = nn.Linear(1, 1)
    twice = nn.Sequential(shared, shared)
    assert len(list(twice.named_modules())) == 2
    assert len(list(twice.named_modules(remove_duplicate=False))) == 3
    assert [n for n, _ in twice.named_children()] == ["0"]
    assert list(model.children())[1] is model[1]


def test_apply_requires_grad_zero_grad_and_extra_repr():
    model = nn.Sequential(Block(), Block())
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "Block", "Linear", "Block", "Sequential"]
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    model.requires_grad_()
    model(tg.ones(1, 2, dtype=F64)).sum().backward()
    model.zero_grad(set_to_none=False)
    assert all(values(p.grad).sum() == 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert "(0): Block(\n    block=1\n    (inner): Linear" in repr(model)


def test_half_is_refused_clearly_and_float_double_convert():
    model = Block()
    with raises(tg.DTypeError, "Block.half()", "float32 and float64"):
        model.half()
    with raises(TypeError, "bfloat16"):
        model.bfloat16()
    assert model.float().inner.weight.dtype == tg.float32
    assert model.double().running.dtype == F64


# ---- hooks


def test_forward_pre_hooks_and_forward_hooks_in_order_and_removable():
    model = nn.Linear(2, 2, dtype=F64)
    calls = []
    first = model.register_forward_pre_hook(lambda m, args: calls.append("pre"))
    model.register_forward_pre_hook(
        lambda m, args: (args[0] * 2,)  # doubles the input
    )
    model.register_forward_pre_hook(
        lambda m, args: calls.append("prepended"), prepend=True
    )
    model.register_forward_hook(lambda m, args, out: out + 1.0)
    model.register_forward_hook(
        lambda m, args, kwargs, out: calls.append(("kwargs", kwargs)), with_kwargs=True
    )
    x = tg.ones(1, 2, dtype=F64)
    plain = F_linear(model, x * 2) + 1.0
    assert_close(model(x), values(plain))
    assert calls == ["prepended", "pre", ("kwargs", {})]
    first.remove()
    first.remove()  # twice is harmless
    calls.clear()
    model(x)
    assert calls == ["prepended", ("kwargs", {})]
    with model.register_forward_hook(lambda m, a, o: o * 0.0):
        assert values(model(x)).sum() == 0.0
    assert values(model(x)).sum() != 0.0


def F_linear(layer, x):
    return nn.functional.linear(x, layer.weight, layer.bias)


def test_full_backward_hook_sees_and_replaces_input_gradients():
    tg.manual_seed(0)
    model = nn.Linear(3, 2, dtype=F64)
    seen = []
    model.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go)))
    x = tg.randn(4, 3, dtype=F64, requires_grad=True)
    model(x).sum().backward()
    (grad_input,), (grad_output,) = seen[0]
    assert_close(grad_output, np.ones((4, 2)))
    assert_close(grad_input, np.ones((4, 2)) @ values(model.weight))
    assert_close(x.grad, values(grad_input))
    # an input that does not require grad: grad_input is (None,)
    seen.clear()
    model(tg.randn(4, 3, dtype=F64)).sum().backward()
    assert seen[0][0] == (None,)
    # a hook returning a replacement
    model.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0.0,))
    x.grad = None
    model(x).sum().backward()
    assert values(x.grad).sum() == 0.0
    assert model.weight.grad is not None  # parameters' gradients are untouched


# ---- containers


def test_module_dict():
    layers = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.Tanh()})
    layers["c"] = nn.Linear(2, 1)
    assert list(layers) == ["a", "b", "c"] and "b" in layers and len(layers) == 3
    assert [name for name, _ in layers.named_parameters()][:2] == ["a.weight", "a.bias"]
    assert isinstance(layers.pop("b"), nn.Tanh) and list(layers.keys()) == ["a", "c"]
    layers.update([("d", nn.Identity())])
    assert [type(m).__name__ for m in layers.values()] == [
        "Linear",
        "Linear",
        "Identity",
    ]
    with raises(KeyError, "'zz'"):
        layers["zz"]
    with raises(tg.DTypeError, "not a Module"):
        layers["e"] = 3
    layers.clear()
    assert len(layers) == 0 and list(layers.parameters()) == []


def test_parameter_list_and_dict():
    plist = nn.ParameterList([tg.ones(2), nn.Parameter(tg.zeros(3))])
    plist.append(tg.ones(1))
    assert len(plist) == 3 and all(isinstance(p, nn.Parameter) for p in plist)
    assert [name for name, _ in plist.named_parameters()] == ["0", "1", "2"]
    assert plist[-1].shape == (1,)
    plist[0] = tg.zeros(4)
    assert plist[0].shape == (4,) and isinstance(plist[0], nn.Parameter)
    with raises(IndexError, "index 3"):
        plist[3]
    assert "(1): Parameter containing: [tapegrad.Tensor of size 3" in repr(plist)
    pdict = nn.ParameterDict({"w": tg.ones(2), "b": nn.Parameter(tg.zeros(1))})
    pdict["s"] = tg.ones(1)
    assert list(pdict) == ["w", "b", "s"] and isinstance(pdict["s"], nn.Parameter)
    assert [name for name, _ in pdict.named_parameters()] == ["w", "b", "s"]
    assert pdict.get("nope") is None and "w" in pdict
    assert isinstance(pdict.pop("w"), nn.Parameter) and pdict.keys() == ["b", "s"]
    model = nn.Module()
    model.params = pdict
    assert list(model.state_dict()) == ["params.b", "params.s"]
    optimizer = tg.optim.Adam(model.parameters())
    assert len(optimizer.param_groups[0]["params"]) == 2


def test_vector_to_parameters_writes_into_parameters_in_place():
    model = nn.Linear(2, 3, dtype=F64)
    weight = model.weight
    vector = nn.utils.parameters_to_vector(model.parameters())
    nn.utils.vector_to_parameters(vector * 2.0, model.parameters())
    assert model.weight is weight and isinstance(weight, nn.Parameter)
    assert_close(nn.utils.parameters_to_vector(model.parameters()), values(vector) * 2)


def test_hooks_match_pytorch():
    torch = pytest.importorskip("torch")
    tg.manual_seed(1)
    ours = nn.Linear(3, 2, dtype=F64)
    theirs = torch.nn.Linear(3, 2).double()
    theirs.load_state_dict(
        {k: torch.from_numpy(values(v)) for k, v in ours.state_dict().items()}
    )
    x = np.random.default_rng(0).standard_normal((4, 3))
    seen, their_seen = [], []
    for module, log, lib in ((ours, seen, tg), (theirs, their_seen, torch)):
        module.register_forward_pre_hook(lambda m, args: (args[0] * 2.0,))
        module.register_forward_hook(lambda m, args, out: out * out)
        module.register_full_backward_hook(
            lambda m, gi, go, log=log: log.append((gi, go)) or (gi[0] * 3.0,)
        )
    a = tg.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    ours(a).sum().backward()
    theirs(b).sum().backward()
    assert_close(a.grad, b.grad.numpy())
    assert_close(seen[0][0][0], their_seen[0][0][0].numpy())
    assert_close(seen[0][1][0], their_seen[0][1][0].numpy())
    assert_close(ours.weight.grad, theirs.weight.grad.numpy())
