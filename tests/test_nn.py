"""tapegrad.nn: module registration, state dicts, layers and their gradients."""

from __future__ import annotations

import doctest
import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import tapegrad as tg
from helpers import assert_close, raises, values
from tapegrad import nn
from tapegrad.nn import functional as F
from tapegrad.testing import gradcheck, gradgradcheck

F64 = tg.float64


class TwoLayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(3, 4)
        self.second = nn.Linear(4, 2, bias=False)
        self.scale = nn.Parameter(tg.ones(1))
        self.register_buffer("offset", tg.zeros(2))
        self.note = "not a tensor"

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        return self.second(self.first(x).tanh()) * self.scale + self.offset


def snapshot(model: nn.Module) -> dict[str, tuple[np.ndarray, int]]:
    return {name: (values(t), t._version) for name, t in model._state_tensors()}


# ---- registration and traversal


def test_attributes_register_parameters_buffers_and_modules():
    model = TwoLayer()
    assert [n for n, _ in model.named_parameters()] == [
        "scale",
        "first.weight",
        "first.bias",
        "second.weight",
    ]
    assert [n for n, _ in model.named_buffers()] == ["offset"]
    assert [n for n, _ in model.named_children()] == ["first", "second"]
    assert len(list(model.modules())) == 3
    assert model.second.bias is None
    assert model.note == "not a tensor" and "note" not in model.state_dict()
    assert all(p.is_leaf and p.requires_grad for p in model.parameters())


def test_assigning_replaces_and_deletes_registrations():
    model = TwoLayer()
    model.first = nn.Identity()  # a module replaces a module
    assert "first.weight" not in dict(model.named_parameters())
    model.scale = None
    assert "scale" not in dict(model.named_parameters())
    del model.offset
    assert "offset" not in model.state_dict()
    with pytest.raises(AttributeError, match="no attribute 'offset'"):
        _ = model.offset


def test_plain_tensors_stay_plain_attributes_and_non_leaves_are_refused():
    model = nn.Module()
    model.constant = tg.ones(2)  # no requires_grad: not a parameter
    assert list(model.parameters()) == []
    with raises(tg.DTypeError, "non-leaf", "'w'"):
        model.register_parameter("w", tg.ones(2, requires_grad=True) * 2)
    model.w = nn.Parameter(tg.ones(2))
    with raises(tg.DTypeError, "parameter 'w'"):
        model.w = 3.0
    with raises(tg.DTypeError, "child module 'child'"):
        model.add_module("child", nn.Identity())
        model.child = 1


def test_registering_names_and_buffers_stay_buffers():
    model = nn.Module()
    model.x = 3
    model.register_buffer("x", tg.ones(1))  # replaces the plain attribute
    assert values(model.x).tolist() == [1.0]
    model.x = tg.zeros(1, requires_grad=True)  # still a buffer, not a parameter
    assert list(model.parameters()) == [] and list(model.state_dict()) == ["x"]
    with raises(KeyError, "'forward'", "method"):
        model.register_buffer("forward", tg.ones(1))
    with raises(KeyError, "'a.b'"):
        model.register_parameter("a.b", nn.Parameter(tg.ones(1)))


def test_assigning_before_init_is_explained():
    class Forgot(nn.Module):
        def __init__(self) -> None:
            self.layer = nn.Linear(1, 1)

    with raises(AttributeError, "super().__init__()"):
        Forgot()


def test_shared_parameters_are_listed_once():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.Tanh(), layer)
    assert len(list(model.parameters())) == 2
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_train_eval_and_requires_grad_propagate():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5)))
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_zero_grad_to_none_or_zeros():
    model = nn.Linear(3, 2)
    model(tg.ones(1, 3)).sum().backward()
    model.zero_grad(set_to_none=False)
    assert all(np.all(values(p.grad) == 0) for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_repr_is_readable():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Dropout(0.25))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Dropout(p=0.25, inplace=False)\n"  # as PyTorch prints it
        ")"
    )


def test_forward_is_required():
    with raises(NotImplementedError, "Module has no forward"):
        nn.Module()(1)


def test_to_double_converts_parameters():
    model = TwoLayer().double()
    assert all(t.dtype == F64 for _, t in model._state_tensors())
    assert all(p.requires_grad for p in model.parameters())
    assert model(tg.ones(1, 3, dtype=F64)).dtype == F64


# ---- state dicts


def test_state_dict_round_trip_keeps_parameter_objects():
    source, target = TwoLayer(), TwoLayer()
    before = [id(p) for p in target.parameters()]
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert [id(p) for p in target.parameters()] == before
    for (name, a), (_, b) in zip(source._state_tensors(), target._state_tensors()):
        assert_close(b, values(a)), name
    x = tg.randn(5, 3)
    assert_close(target(x), values(source(x)))


def test_state_dict_shares_storage_and_deepcopy_is_a_snapshot():
    # PyTorch's semantics: state_dict() tensors view the parameters' storage, so an
    # in-place update shows through them; copy.deepcopy takes a snapshot.
    import copy

    model = nn.Linear(2, 2)
    state = model.state_dict()
    saved = copy.deepcopy(state)
    old = values(state["weight"])
    with tg.no_grad():
        model.weight.mul_(0)
    assert_close(state["weight"], np.zeros_like(old))
    assert_close(saved["weight"], old)
    clone = copy.deepcopy(model)
    assert isinstance(clone.weight, nn.Parameter) and clone.weight.requires_grad
    assert not clone.weight._shares_storage(model.weight)


def test_load_with_a_wrong_key_raises_and_changes_nothing():
    model = TwoLayer()
    before = snapshot(model)
    state = TwoLayer().state_dict()
    state["third.weight"] = state.pop("second.weight")
    with raises(
        nn.StateDictError,
        "missing keys ['second.weight']",
        "unexpected keys ['third.weight']",
        "nothing was changed",
    ):
        model.load_state_dict(state)
    assert isinstance(nn.StateDictError("x"), KeyError)
    after = snapshot(model)
    for name in before:
        np.testing.assert_array_equal(after[name][0], before[name][0])
        assert after[name][1] == before[name][1], f"{name} was written"


def test_load_with_a_wrong_shape_raises_and_changes_nothing():
    model = TwoLayer()
    before = snapshot(model)
    state = OrderedDict(TwoLayer().state_dict())
    state["second.weight"] = tg.zeros(3, 4)  # after entries that would load fine
    with raises(tg.ShapeError, "'second.weight'", "(3, 4)", "(2, 4)"):
        model.load_state_dict(state)
    with raises(tg.ShapeError, "(3, 4)"):
        model.load_state_dict(state, strict=False)  # shapes are checked regardless
    after = snapshot(model)
    for name in before:
        np.testing.assert_array_equal(after[name][0], before[name][0])
        assert after[name][1] == before[name][1]


def test_load_non_strict_reports_keys_and_loads_the_rest():
    model = TwoLayer()
    state = TwoLayer().state_dict()
    del state["scale"]
    state["extra"] = tg.ones(1)
    result = model.load_state_dict(state, strict=False)
    assert result == nn.IncompatibleKeys(["scale"], ["extra"])
    assert_close(model.first.weight, values(state["first.weight"]))


def test_load_accepts_numpy_and_converts_dtypes():
    model = nn.Linear(2, 2, dtype=F64)
    state = {
        k: v.numpy().astype(np.float32) for k, v in nn.Linear(2, 2).state_dict().items()
    }
    model.load_state_dict(state)
    assert model.weight.dtype == F64
    assert_close(model.weight, state["weight"].astype(np.float64))
    with raises(tg.DTypeError, "load_state_dict expects a mapping"):
        model.load_state_dict([1, 2])


# ---- layers


def test_linear_matches_numpy_and_pytorch_init_bounds():
    tg.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    weight, bias = values(layer.weight), values(layer.bias)
    assert weight.shape == (300, 400) and bias.shape == (300,)
    assert np.abs(weight).max() <= bound and np.abs(bias).max() <= bound
    assert abs(weight.std() - bound / math.sqrt(3)) < 0.02 * bound  # uniform's std
    x = np.random.default_rng(0).standard_normal((5, 400))
    assert_close(layer(tg.tensor(x)), x @ weight.T + bias, rtol=1e-5, atol=1e-5)
    with raises(tg.ShapeError, "linear", "(5, 3)", "(300, 400)"):
        layer(tg.ones(5, 3))


def test_initialisation_is_seeded():
    tg.manual_seed(7)
    a = values(nn.Linear(3, 3).weight)
    tg.manual_seed(7)
    b = values(nn.Linear(3, 3).weight)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("layer", "reference"),
    [
        (nn.ReLU(), lambda x: np.maximum(x, 0)),
        (nn.Tanh(), np.tanh),
        (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
        (nn.GELU(), lambda x: x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))),
        (
            nn.GELU("tanh"),
            lambda x: (
                0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
            ),
        ),
        (nn.Softmax(1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
        (nn.Flatten(0), lambda x: x.reshape(-1)),
    ],
)
def test_activations_match_numpy_and_gradcheck(layer, reference):
    x = np.random.default_rng(1).standard_normal((3, 4)) * 2
    assert_close(layer(tg.tensor(x)), reference(x))
    assert gradcheck(layer, [tg.tensor(x, requires_grad=True)])


def test_exact_gelu_second_derivative():
    x = tg.tensor([-2.0, -0.3, 0.0, 0.7, 3.0], dtype=F64, requires_grad=True)
    (first,) = tg.grad(F.gelu(x).sum(), x, create_graph=True)
    (second,) = tg.grad(first.sum(), x)
    xs = values(x)
    pdf = np.exp(-xs * xs / 2) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + np.vectorize(math.erf)(xs / math.sqrt(2)))
    assert_close(first, cdf + xs * pdf)
    assert_close(second, 2 * pdf - xs * xs * pdf)  # d/dx (Φ + x φ) = 2φ + x φ'
    with raises(tg.ArgumentError, "approximate"):
        nn.GELU("fast")


def test_dropout_trains_scaled_and_is_identity_in_eval():
    layer = nn.Dropout(0.25)
    x = tg.ones(200, 100)
    tg.manual_seed(3)
    out = values(layer(x))
    assert set(np.unique(out)) <= {0.0, float(np.float32(1 / 0.75))}
    assert abs((out == 0).mean() - 0.25) < 0.02
    tg.manual_seed(3)
    np.testing.assert_array_equal(values(layer(x)), out)  # seeded
    assert layer.eval()(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert np.all(values(nn.Dropout(1.0)(x)) == 0)
    with raises(tg.ArgumentError, "between 0 and 1", "1.5"):
        nn.Dropout(1.5)


def test_dropout_gradient_uses_the_same_mask():
    x = tg.ones(50, requires_grad=True)
    out = F.dropout(x, 0.5)
    out.sum().backward()
    assert_close(x.grad, values(out))  # d(mask · x / (1-p))/dx = mask / (1-p) = out


def test_layer_norm_matches_numpy_and_gradcheck():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 4))
    norm = nn.LayerNorm((3, 4), dtype=F64)
    with tg.no_grad():
        norm.weight._assign(tg.tensor(rng.standard_normal((3, 4))))
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * values(norm.weight)
    assert_close(norm(tg.tensor(x)), expected)
    weight, bias = norm.weight, norm.bias
    assert gradcheck(
        lambda t, w, b: F.layer_norm(t, (3, 4), w, b),
        [tg.tensor(x, requires_grad=True), weight, bias],
    )
    with raises(tg.ShapeError, "(2, 3, 4)", "(4, 3)"):
        F.layer_norm(tg.tensor(x), (4, 3))


def test_embedding_gathers_and_scatter_adds():
    table = nn.Embedding(5, 3, dtype=F64)
    indices = np.array([[0, 2], [2, 4]])
    out = table(indices)
    assert out.shape == (2, 2, 3)
    assert_close(out, values(table.weight)[indices])
    out.sum().backward()
    assert_close(table.weight.grad[:, 0], [1, 0, 2, 0, 1])  # row 2 used twice
    assert_close(table([1, 3]), values(table.weight)[[1, 3]])  # a list
    assert_close(table(tg.tensor([4.0])), values(table.weight)[[4]])  # whole floats


def test_embedding_rejects_bad_indices():
    table = nn.Embedding(5, 3)
    with raises(tg.AxisError, "index 5", "5 rows"):
        table(np.array([1, 5]))
    with raises(tg.ArgumentError, "integer class indices", "1.5"):
        table(tg.tensor([1.5]))
    with raises(tg.DTypeError, "integer class indices", "bool"):
        table(np.array([True]))


def test_embedding_padding_row_is_zero_and_untrained():
    table = nn.Embedding(4, 2, padding_idx=1)
    assert np.all(values(table.weight)[1] == 0)
    table(np.array([1, 1, 2])).sum().backward()
    assert_close(table.weight.grad, [[0, 0], [0, 0], [1, 1], [0, 0]])


def test_sequential_and_module_list_containers():
    first, second = nn.Linear(2, 3), nn.ReLU()
    model = nn.Sequential(first, second)
    assert len(model) == 2 and list(model) == [first, second]
    assert model[0] is first and model[-1] is second
    assert isinstance(model[:1], nn.Sequential) and model[:1][0] is first
    model.append(nn.Linear(3, 1))
    assert model(tg.ones(4, 2)).shape == (4, 1)
    named = nn.Sequential(OrderedDict(a=nn.Linear(1, 1)))
    assert list(named.state_dict()) == ["a.weight", "a.bias"]
    with raises(tg.AxisError, "index 5"):
        model[5]
    with raises(tg.DTypeError, "argument 1"):
        nn.Sequential(first, "relu")
    layers = nn.ModuleList([nn.Linear(1, 1)]).extend([nn.Linear(1, 1)])
    holder = nn.Module()
    holder.layers = layers
    assert len(list(holder.parameters())) == 4 and layers[1] is list(layers)[1]


# ---- losses (PyTorch parity is in test_training_torch_parity.py)


def log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_numpy_with_its_gradient(reduction):
    rng = np.random.default_rng(3)
    logits, labels = rng.standard_normal((6, 4)), np.array([0, 3, 1, 1, 2, 0])
    x = tg.tensor(logits, requires_grad=True)
    loss = nn.CrossEntropyLoss(reduction=reduction)(x, labels)
    per_sample = -log_softmax(logits)[np.arange(6), labels]
    expected = {"mean": per_sample.mean(), "sum": per_sample.sum(), "none": per_sample}
    assert_close(loss, expected[reduction])
    loss.sum().backward()
    grad = np.exp(log_softmax(logits)) - np.eye(4)[labels]  # softmax - one-hot
    assert_close(x.grad, grad / 6 if reduction == "mean" else grad)


def test_cross_entropy_is_stable_for_huge_logits():
    x = tg.tensor([[1e4, -1e4, 0.0], [0.0, 0.0, 5e3]], requires_grad=True)
    loss = F.cross_entropy(x, [1, 2], reduction="none")
    assert_close(loss, [2e4, 0.0], rtol=1e-6)
    loss.sum().backward()
    assert np.all(np.isfinite(values(x.grad)))


def test_cross_entropy_validates_the_target():
    logits = tg.zeros(3, 4)
    with raises(tg.AxisError, "labels [4, 7]", "4 classes"):
        F.cross_entropy(logits, [4, 0, 7])
    with raises(tg.AxisError, "[-1]"):
        F.cross_entropy(logits, [0, -1, 0])
    with raises(tg.ShapeError, "target shape (2,)", "(3, 4)", "(3,)"):
        F.cross_entropy(logits, [0, 1])
    with raises(tg.ArgumentError, "element (1,)", "0.5"):
        F.cross_entropy(logits, tg.tensor([0.0, 0.5, 1.0]))
    with raises(tg.DTypeError, "integer class indices"):
        F.cross_entropy(logits, np.array(["a", "b", "c"]))
    with raises(tg.ArgumentError, "reduction", "'avg'"):
        F.cross_entropy(logits, [0, 1, 2], reduction="avg")
    with raises(tg.ShapeError, "0-d"):
        F.cross_entropy(tg.tensor(1.0), 0)


def test_cross_entropy_float_labels_and_ignore_index():
    logits = np.random.default_rng(4).standard_normal((4, 3))
    labels = [2, -100, 0, 1]
    loss = F.cross_entropy(tg.tensor(logits), tg.tensor([2.0, -100.0, 0.0, 1.0]))
    kept = [0, 2, 3]
    expected = -log_softmax(logits)[kept, [labels[k] for k in kept]].mean()
    assert_close(loss, expected, rtol=1e-6)


def _cross_entropy_reference(logits, target, weight, ignore_index, smoothing, probs):
    """NumPy cross-entropy with PyTorch's semantics (classes along dimension 1, or 0)."""
    class_dim = 0 if logits.ndim == 1 else 1
    classes = logits.shape[class_dim]
    shifted = logits - logits.max(axis=class_dim, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=class_dim, keepdims=True))
    w = np.ones(classes) if weight is None else weight
    w_shape = [1] * logits.ndim
    w_shape[class_dim] = classes
    if probs:
        t = (target * (1 - smoothing) + smoothing / classes) * w.reshape(w_shape)
        loss = -(t * logp).sum(axis=class_dim)
        return loss, loss.size
    valid = target != ignore_index
    safe = np.where(valid, target, 0)
    one_hot = np.moveaxis(np.eye(classes)[safe], -1, class_dim)
    uniform = np.ones_like(one_hot) / classes
    t = ((1 - smoothing) * one_hot + smoothing * uniform) * w.reshape(w_shape)
    t = t * np.expand_dims(valid, class_dim)
    loss = -(t * logp).sum(axis=class_dim)
    return loss, (w[safe] * valid).sum()


CE_OPTIONS = {
    "plain": {},
    "weight": {"weight": np.array([0.5, 2.0, 1.0])},
    "ignore_index": {"ignore_index": 1},
    "smoothing": {"label_smoothing": 0.2},
    "all": {
        "weight": np.array([0.5, 2.0, 1.0]),
        "ignore_index": 2,
        "label_smoothing": 0.1,
    },
    "probabilities": {"probs": True},
    "probabilities, smoothing, weight": {
        "probs": True,
        "label_smoothing": 0.3,
        "weight": np.array([1.0, 0.0, 3.0]),
    },
}


@pytest.mark.parametrize("shape", [(3,), (5, 3), (4, 3, 2)], ids=str)
@pytest.mark.parametrize("name", list(CE_OPTIONS))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_fused_cross_entropy_matches_numpy_and_its_derivatives_check(
    shape, name, reduction
):
    options = dict(CE_OPTIONS[name])
    probs = options.pop("probs", False)
    rng = np.random.default_rng(len(shape) * 7 + len(name))
    logits = rng.standard_normal(shape) * 2
    class_dim = 0 if len(shape) == 1 else 1
    batch = shape[:class_dim] + shape[class_dim + 1 :]
    if probs:
        p = rng.uniform(size=shape)
        target = p / p.sum(axis=class_dim, keepdims=True)
    else:
        target = rng.integers(0, 3, batch)
        if target.size > 1:  # with ignore_index=1 or 2, some samples are ignored
            target.reshape(-1)[0] = 1
            target.reshape(-1)[-1] = 2
        else:
            target[...] = 0

    loss, count = _cross_entropy_reference(
        logits,
        target,
        options.get("weight"),
        options.get("ignore_index", -100),
        options.get("label_smoothing", 0.0),
        probs,
    )
    expected = {"mean": loss.sum() / count, "sum": loss.sum(), "none": loss}[reduction]
    if probs and reduction == "mean":
        expected = loss.mean()

    def f(t):
        return F.cross_entropy(t, target, reduction=reduction, **options)

    x = tg.tensor(logits, requires_grad=True)
    out = f(x)
    assert_close(out, expected, rtol=1e-12, atol=1e-12)
    assert "CrossEntropyBackward" in _graph_names(out)
    assert gradcheck(f, [x])
    assert gradgradcheck(f, [x])
    # forward mode agrees with reverse mode: J·v against the gradient's projection
    v = rng.standard_normal(shape)
    _, tangent = tg.func.jvp(lambda t: f(t).sum(), [tg.tensor(logits)], [tg.tensor(v)])
    x.grad = None
    f(x).sum().backward()
    assert_close(tangent, (values(x.grad) * v).sum(), rtol=1e-12, atol=1e-12)


def _graph_names(t):
    return {row.op for row in tg.memory.memory_bill(t).rows}


@pytest.mark.parametrize("name", ["plain", "all", "probabilities, smoothing, weight"])
def test_fused_cross_entropy_hessian_forward_over_reverse_matches_reverse_over_reverse(
    name,
):
    options = dict(CE_OPTIONS[name])
    rng = np.random.default_rng(11)
    if options.pop("probs", False):
        p = rng.uniform(size=(4, 3))
        target = p / p.sum(axis=1, keepdims=True)
    else:
        target = np.array([0, 2, 1, 2])
    logits = rng.standard_normal((4, 3))

    def f(t):
        return F.cross_entropy(t, target, **options)

    # forward over reverse (tapegrad.func.hessian) against reverse over reverse
    forward = values(tg.func.hessian(f)(tg.tensor(logits))).reshape(12, 12)
    x = tg.tensor(logits, requires_grad=True)
    (g,) = tg.grad(f(x), [x], create_graph=True)
    rows = []
    for i in range(12):
        (h,) = tg.grad(g.reshape(-1)[i], [x], retain_graph=True)
        rows.append(values(h).reshape(-1))
    assert_close(forward, np.array(rows), rtol=1e-12, atol=1e-12)
    assert np.abs(forward).max() > 0.01


def test_fused_cross_entropy_float32_matches_float64():
    rng = np.random.default_rng(8)
    logits, labels = rng.standard_normal((64, 300)) * 5, rng.integers(0, 300, 64)
    x32 = tg.tensor(logits.astype(np.float32), requires_grad=True)
    x64 = tg.tensor(logits, requires_grad=True)
    F.cross_entropy(x32, labels).backward()
    F.cross_entropy(x64, labels).backward()
    assert x32.grad.dtype == tg.float32
    assert_close(x32.grad, values(x64.grad), rtol=1e-5, atol=1e-8)


def test_fused_cross_entropy_skips_zero_targets_at_minus_infinity():
    # A class with logit -inf and target 0 contributes nothing (not 0 * inf = NaN).
    x = tg.tensor([[0.0, -math.inf, 1.0]], requires_grad=True)
    loss = F.cross_entropy(x, [2])
    assert_close(loss, -log_softmax(np.array([[0.0, -1e300, 1.0]]))[0, 2], rtol=1e-6)
    loss.backward()
    assert np.all(np.isfinite(values(x.grad))) and values(x.grad)[0, 1] == 0.0
    probs = F.cross_entropy(x.detach(), np.array([[0.5, 0.0, 0.5]]))
    assert np.isfinite(values(probs))


def test_cross_entropy_probabilities_that_require_grad_get_a_gradient():
    rng = np.random.default_rng(9)
    x = tg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    p = tg.tensor(rng.uniform(size=(4, 3)), requires_grad=True)
    assert gradcheck(lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1), [x, p])


def test_native_cross_entropy_refuses_bad_targets():
    from tapegrad import _native

    x = tg.zeros(2, 3)
    with raises(tg.ShapeError, "logits must be 2-D", "(3,)"):
        _native._cross_entropy(tg.zeros(3), labels=np.array([0]), weights=np.ones(1))
    with raises(tg.ShapeError, "1 labels and 2 weights", "(2, 3)"):
        _native._cross_entropy(x, labels=np.array([0]), weights=np.ones(2))
    with raises(IndexError, "label 3 is out of range for 3 classes"):
        _native._cross_entropy(x, labels=np.array([0, 3]), weights=np.ones(2))
    with raises(IndexError, "label -1 is negative"):
        _native._cross_entropy(x, labels=np.array([0, -1]), weights=np.ones(2))
    with raises(tg.ShapeError, "target of shape (3, 2)", "(2, 3)"):
        _native._cross_entropy(x, target=tg.zeros(3, 2))
    with raises(ValueError, "the target requires grad"):
        _native._cross_entropy(x, target=tg.zeros(2, 3, requires_grad=True))
    with raises(ValueError, "either labels and weights, or a dense target"):
        _native._cross_entropy(x, labels=np.array([0, 1]))


def test_losses_gradcheck_in_float64():
    rng = np.random.default_rng(5)
    logits = tg.tensor(rng.standard_normal((4, 3, 2)), requires_grad=True)
    labels = rng.integers(0, 3, (4, 2))
    weight = np.array([0.2, 1.0, 3.0])
    assert gradcheck(
        lambda t: F.cross_entropy(t, labels, weight=weight, label_smoothing=0.1),
        [logits],
    )
    target = tg.tensor(rng.uniform(size=(4, 3)))
    x = tg.tensor(rng.standard_normal((4, 3)) * 3, requires_grad=True)
    assert gradcheck(lambda t: F.binary_cross_entropy_with_logits(t, target), [x])
    assert gradcheck(lambda t: F.mse_loss(t, target, "sum"), [x])


def test_mse_and_bce_values_and_errors():
    x = np.array([[-50.0, 0.0, 2.0]])
    y = np.array([[1.0, 0.5, 0.0]])
    bce = F.binary_cross_entropy_with_logits(
        tg.tensor(x), tg.tensor(y), reduction="none"
    )
    assert_close(bce, [[50.0, math.log(2), 2.0 + math.log1p(math.exp(-2.0))]])
    tiny = F.binary_cross_entropy_with_logits(tg.tensor([40.0], dtype=F64), [1.0])
    assert_close(
        tiny, math.log1p(math.exp(-40.0)), rtol=1e-12, atol=0
    )  # no cancellation
    assert_close(nn.MSELoss()(tg.tensor(x), y), ((x - y) ** 2).mean())
    with raises(tg.ShapeError, "target shape (3,)", "input shape (1, 3)"):
        F.mse_loss(tg.tensor(x), tg.zeros(3))
    with raises(tg.ArgumentError, "reduction"):
        nn.BCEWithLogitsLoss(reduction="max")


def test_one_hot():
    assert_close(F.one_hot([0, 2]), [[1, 0, 0], [0, 0, 1]])
    assert F.one_hot(np.array([1]), 4).shape == (1, 4)
    with raises(tg.AxisError, "label 4", "3 classes"):
        F.one_hot([4], 3)


# ---- documentation


DOCS = Path(__file__).resolve().parent.parent / "docs" / "training.md"


@pytest.mark.parametrize(
    "source", ["docs/training.md", tg.nn, tg.optim], ids=["training.md", "nn", "optim"]
)
def test_documented_examples_run(source):
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    if isinstance(source, str):
        result = doctest.testfile(str(DOCS), module_relative=False, optionflags=flags)
    else:
        result = doctest.testmod(source, optionflags=flags)
    assert result.attempted > 0 and result.failed == 0


def test_exact_gelu_is_differentiable_to_third_order():
    # gelu = xΦ(x): gelu''' = x φ(x) (x² − 4), with φ the standard normal density.
    xs = np.array([-2.0, -0.3, 0.7, 1.9])
    x = tg.tensor(xs, requires_grad=True)
    (d1,) = tg.grad(F.gelu(x).sum(), [x], create_graph=True)
    (d2,) = tg.grad(d1.sum(), [x], create_graph=True)
    (d3,) = tg.grad(d2.sum(), [x])
    phi = np.exp(-xs * xs / 2) / math.sqrt(2 * math.pi)
    assert_close(d2, phi * (2 - xs * xs), rtol=1e-12, atol=1e-14)
    assert_close(d3, xs * phi * (xs * xs - 4), rtol=1e-12, atol=1e-14)
