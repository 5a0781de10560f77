"""tapegrad.optim: update rules, in-place semantics, validation, state, schedules;
and the gradient utilities of a training loop (clipping, functional_call)."""

from __future__ import annotations

import copy

import math

import numpy as np
import pytest
import tapegrad as tg
from helpers import assert_close, raises, values
from tapegrad import nn
from tapegrad.optim import SGD, Adam, AdamW
from tapegrad.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, StepLR

F64 = tg.float64


def leaf(data) -> tg.Tensor:
    return tg.tensor(data, dtype=F64, requires_grad=True)


def quadratic_step(optimizer, *params) -> None:
    """One step on sum(p²) (gradient 2p)."""
    optimizer.zero_grad()
    sum((p * p).sum() for p in params).backward()
    optimizer.step()


# ---- update rules, by hand


def test_sgd_momentum_nesterov_weight_decay_by_hand():
    p = leaf([1.0, -2.0])
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5, nesterov=True)
    x, buf = np.array([1.0, -2.0]), None
    for _ in range(3):
        quadratic_step(opt, p)
        g = 2 * x + 0.5 * x
        buf = g if buf is None else 0.9 * buf + g
        x = x - 0.1 * (g + 0.9 * buf)
        assert_close(p, x)


def test_sgd_dampening_and_maximize_by_hand():
    p = leaf([1.0])
    opt = SGD([p], lr=0.1, momentum=0.5, dampening=0.3, maximize=True)
    x, buf = 1.0, None
    for _ in range(3):
        quadratic_step(opt, p)
        g = -2 * x
        buf = g if buf is None else 0.5 * buf + 0.7 * g
        x -= 0.1 * buf
        assert_close(p, [x])


def test_adam_by_hand_and_convergence():
    p = leaf([3.0, -1.0])
    opt = Adam([p], lr=0.1, betas=(0.8, 0.9), eps=1e-6)
    x, m, v = np.array([3.0, -1.0]), 0.0, 0.0
    for t in range(1, 4):
        quadratic_step(opt, p)
        g = 2 * x
        m, v = 0.8 * m + 0.2 * g, 0.9 * v + 0.1 * g * g
        x = x - 0.1 / (1 - 0.8**t) * m / (np.sqrt(v) / math.sqrt(1 - 0.9**t) + 1e-6)
        assert_close(p, x)
    assert opt.state[p]["step"] == 3
    for _ in range(300):
        quadratic_step(opt, p)
    assert np.abs(values(p)).max() < 1e-2


def test_adamw_decays_weights_decoupled_from_the_gradient():
    p = leaf([2.0])
    opt = AdamW([p], lr=0.1, weight_decay=0.5)
    p.grad = tg.zeros(1, dtype=F64)  # a zero gradient: the Adam step is zero
    opt.step()
    assert_close(p, [2.0 * (1 - 0.1 * 0.5)])
    coupled = leaf([2.0])
    adam = Adam([coupled], lr=0.1, weight_decay=0.5)
    coupled.grad = tg.zeros(1, dtype=F64)
    adam.step()  # L2 in the gradient: a full normalised Adam step of -lr
    assert_close(coupled, [2.0 - 0.1], rtol=1e-6)


def test_amsgrad_keeps_the_largest_second_moment():
    p = leaf([1.0])
    opt = Adam([p], lr=0.01, amsgrad=True)
    for g in (10.0, 0.1):
        p.grad = tg.tensor([g], dtype=F64)
        opt.step()
    state = opt.state[p]
    assert values(state["max_exp_avg_sq"])[0] > values(state["exp_avg_sq"])[0]


# ---- in place, skipping, grads


def test_step_updates_in_place_and_bumps_the_version():
    model = nn.Linear(2, 1)
    weight, version = model.weight, model.weight._version
    opt = SGD(model.parameters(), lr=0.1)
    saved = (model.weight * model.weight).sum()  # the graph saved the weight
    model(tg.ones(1, 2)).sum().backward()
    opt.step()
    assert model.weight is weight and weight._version == version + 1
    assert weight.is_leaf and weight.requires_grad
    with raises(tg.GraphError):
        saved.backward()  # the saved value was replaced


def test_step_skips_parameters_without_gradients():
    used, unused = leaf([1.0]), leaf([5.0])
    opt = Adam([used, unused], lr=0.1)
    quadratic_step(opt, used)
    assert unused._version == 0 and unused not in opt.state
    assert_close(unused, [5.0])
    assert used._version == 1


def test_zero_grad_and_closure():
    p = leaf([1.0, 2.0])
    opt = SGD([p], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert_close(opt.step(closure), 5.0)
    assert_close(p, [0.0, 0.0])
    opt.zero_grad(set_to_none=False)
    assert_close(p.grad, [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None


def test_parameter_groups_have_their_own_hyperparameters():
    a, b = leaf([1.0]), leaf([1.0])
    opt = SGD([{"params": [a]}, {"params": b, "lr": 0.01}], lr=0.1, momentum=0.0)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["lr"] == 0.01
    assert opt.param_groups[1]["momentum"] == 0.0
    quadratic_step(opt, a, b)
    assert_close(a, [0.8])
    assert_close(b, [0.98])
    c = leaf([1.0])
    opt.add_param_group({"params": [c], "momentum": 0.9})
    assert opt.param_groups[2]["lr"] == 0.1


# ---- validation


@pytest.mark.parametrize(
    ("make", "error", "fragments"),
    [
        (lambda p: SGD(p, lr=-0.1), tg.ArgumentError, ["learning rate", "-0.1"]),
        (lambda p: SGD(p, lr=math.nan), tg.ArgumentError, ["learning rate", "nan"]),
        (lambda p: SGD(p, lr="fast"), tg.DTypeError, ["learning rate", "str"]),
        (lambda p: SGD(p, momentum=-1), tg.ArgumentError, ["momentum"]),
        (lambda p: SGD(p, weight_decay=-1), tg.ArgumentError, ["weight_decay"]),
        (lambda p: SGD(p, nesterov=True), tg.ArgumentError, ["Nesterov", "momentum=0"]),
        (
            lambda p: SGD(p, momentum=0.9, dampening=0.1, nesterov=True),
            tg.ArgumentError,
            ["dampening=0.1"],
        ),
        (lambda p: Adam(p, lr=-1), tg.ArgumentError, ["learning rate"]),
        (lambda p: Adam(p, betas=(1.0, 0.9)), tg.ArgumentError, ["index 0", "1.0"]),
        (lambda p: Adam(p, betas=(0.9, -0.1)), tg.ArgumentError, ["index 1", "-0.1"]),
        (lambda p: Adam(p, betas=0.9), tg.DTypeError, ["betas"]),
        (lambda p: Adam(p, eps=-1e-8), tg.ArgumentError, ["epsilon"]),
        (lambda p: AdamW(p, weight_decay=-0.1), tg.ArgumentError, ["weight_decay"]),
    ],
)
def test_invalid_hyperparameters_are_refused(make, error, fragments):
    with raises(error, *fragments):
        make([leaf([1.0])])


def test_invalid_parameter_lists_are_refused():
    p = leaf([1.0])
    with raises(tg.ArgumentError, "empty parameter list"):
        SGD([], lr=0.1)
    with raises(tg.DTypeError, "iterable of Tensors", "got a Tensor"):
        SGD(p, lr=0.1)
    with raises(tg.ArgumentError, "non-leaf", "MulBackward"):
        SGD([p * 2], lr=0.1)
    with raises(tg.DTypeError, "only optimize Tensors", "float"):
        SGD([1.0], lr=0.1)
    with raises(tg.DTypeError, "ordered collections"):
        SGD([{"params": {p}}], lr=0.1)
    with raises(tg.ArgumentError, "more than once"):
        SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with raises(tg.ArgumentError, "learning rate"):
        SGD([{"params": [p], "lr": -5}], lr=0.1)  # group overrides are checked too
    assert isinstance(tg.ArgumentError("x"), ValueError)


# ---- state dicts


def train(model, opt, steps, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = tg.tensor(rng.standard_normal((8, 3)))
        y = rng.integers(0, 2, 8)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


@pytest.mark.parametrize(
    "make",
    [lambda p: SGD(p, lr=0.1, momentum=0.9), lambda p: Adam(p, lr=0.01, amsgrad=True)],
)
def test_optimizer_state_dict_resumes_identically(make):
    tg.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(3, 4, dtype=F64), nn.Tanh(), nn.Linear(4, 2, dtype=F64)
    )
    opt = make(model.parameters())
    train(model, opt, 3)
    # deepcopy: as in PyTorch, state dicts share the tensors that training updates in place
    model_state, opt_state = copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict())
    train(model, opt, 3, seed=1)

    resumed = nn.Sequential(
        nn.Linear(3, 4, dtype=F64), nn.Tanh(), nn.Linear(4, 2, dtype=F64)
    )
    resumed.load_state_dict(model_state)
    resumed_opt = make(resumed.parameters())
    resumed_opt.load_state_dict(opt_state)
    train(resumed, resumed_opt, 3, seed=1)
    for a, b in zip(model.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(values(a), values(b))


def test_state_dict_refers_to_parameters_by_position():
    a, b = leaf([1.0]), leaf([2.0, 3.0])
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    quadratic_step(opt, a, b)
    state = opt.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [[0], [1]]
    assert state["param_groups"][1]["lr"] == 0.5
    assert_close(state["state"][1]["momentum_buffer"], [4.0, 6.0])


def test_optimizer_load_state_dict_checks_before_changing():
    a, b = leaf([1.0]), leaf([2.0, 3.0])
    opt = SGD([a, b], lr=0.1, momentum=0.9)
    quadratic_step(opt, a, b)
    good = opt.state_dict()
    other = SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
    with raises(tg.ArgumentError, "2 parameter groups", "1"):
        opt.load_state_dict(other.state_dict())
    with raises(tg.ArgumentError, "has 2 parameters", "optimizer's has 1"):
        SGD([a], lr=0.1).load_state_dict(good)
    bad = {
        "state": {0: good["state"][0], 1: {"momentum_buffer": tg.zeros(5)}},
        "param_groups": [dict(good["param_groups"][0], lr=0.7)],
    }
    with raises(tg.ShapeError, "momentum_buffer", "(5,)", "(2,)"):
        opt.load_state_dict(bad)
    assert opt.param_groups[0]["lr"] == 0.1  # unchanged
    with raises(tg.ArgumentError, "'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


# ---- schedules


def lrs(scheduler, optimizer, epochs):
    out = []
    for _ in range(epochs):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return out


def test_step_lr_by_hand():
    opt = SGD([leaf([1.0])], lr=1.0)
    got = lrs(StepLR(opt, step_size=2, gamma=0.5), opt, 6)
    assert got == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    with raises(tg.ArgumentError, "step_size"):
        StepLR(opt, step_size=0)


def test_exponential_lr_by_hand():
    opt = SGD([leaf([1.0])], lr=1.0)
    assert lrs(ExponentialLR(opt, gamma=0.5), opt, 3) == [1.0, 0.5, 0.25]


def test_cosine_annealing_follows_the_closed_form():
    opt = SGD([leaf([1.0])], lr=0.1)
    scheduler = CosineAnnealingLR(opt, T_max=10, eta_min=0.01)
    got = lrs(scheduler, opt, 11)
    expected = [0.01 + 0.09 * (1 + math.cos(math.pi * t / 10)) / 2 for t in range(11)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert scheduler.get_last_lr() == [opt.param_groups[0]["lr"]]


def test_scheduler_state_round_trip_and_resume_rules():
    opt = SGD([leaf([1.0])], lr=1.0)
    scheduler = StepLR(opt, step_size=1, gamma=0.5)
    lrs(scheduler, opt, 3)
    state = scheduler.state_dict()
    assert state["last_epoch"] == 3 and "optimizer" not in state
    fresh_opt = SGD([leaf([1.0])], lr=1.0)
    with raises(KeyError, "initial_lr"):
        StepLR(fresh_opt, step_size=1, last_epoch=3)
    fresh = StepLR(fresh_opt, step_size=1, gamma=0.5)
    fresh.load_state_dict(state)
    assert fresh.last_epoch == 3 and fresh.get_last_lr() == scheduler.get_last_lr()


# ---- gradient utilities (tapegrad.nn.utils)


def test_clip_grad_norm_scales_to_max_norm():
    a, b = tg.ones(3, requires_grad=True), tg.ones(4, requires_grad=True)
    a.grad, b.grad = tg.full((3,), 3.0), tg.full((4,), 4.0)
    total = nn.utils.clip_grad_norm_([a, b, tg.ones(1, requires_grad=True)], 1.0)
    assert_close(total, math.sqrt(27 + 64), rtol=1e-6)
    norm = math.sqrt(float((values(a.grad) ** 2).sum() + (values(b.grad) ** 2).sum()))
    assert abs(norm - 1.0) < 1e-5
    a.grad = tg.tensor([1.0, -5.0, 2.0])
    assert_close(nn.utils.clip_grad_norm_(a, 10.0, norm_type=math.inf), 5.0)
    assert_close(a.grad, [1.0, -5.0, 2.0], rtol=1e-6)  # under max_norm: unchanged
    a.grad = tg.tensor([math.inf, 0.0, 0.0])
    with raises(tg.GraphError, "inf"):
        nn.utils.clip_grad_norm_(a, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_and_vector_round_trip():
    model = nn.Linear(2, 2)
    model(tg.full((1, 2), 10.0)).sum().backward()
    nn.utils.clip_grad_value_(model.parameters(), 0.5)
    assert all(np.abs(values(p.grad)).max() <= 0.5 for p in model.parameters())
    vector = nn.utils.parameters_to_vector(model.parameters())
    assert vector.shape == (6,)
    nn.utils.vector_to_parameters(vector.detach() * 0 + 1, model.parameters())
    assert all(np.all(values(p) == 1) for p in model.parameters())


def test_functional_call_swaps_and_restores():
    model = nn.Linear(2, 1, bias=False)
    original = model.weight
    out = nn.utils.functional_call(
        model, {"weight": tg.tensor([[1.0, 2.0]])}, tg.ones(1, 2)
    )
    assert_close(out, [[3.0]])
    assert model.weight is original
    with pytest.raises(tg.ShapeError):
        nn.utils.functional_call(model, {"weight": tg.ones(3, 3)}, tg.ones(1, 2))
    assert model.weight is original  # restored after the error too
    with raises(nn.StateDictError, "['nope']"):
        nn.utils.functional_call(model, {"nope": tg.ones(1)}, tg.ones(1, 2))


def test_zero_grad_without_set_to_none_zeroes_the_same_grad_tensor_in_place():
    w = tg.nn.Parameter(tg.ones(3))
    (w * 2.0).sum().backward()
    grad = w.grad
    tg.optim.SGD([w], lr=0.1).zero_grad(set_to_none=False)
    assert w.grad is grad or w.grad._shares_storage(grad)
    assert grad.tolist() == [0.0, 0.0, 0.0]
    model = tg.nn.Linear(2, 1)
    model(tg.ones(1, 2)).sum().backward()
    held = model.weight.grad
    model.zero_grad(set_to_none=False)
    assert held.tolist() == [[0.0, 0.0]] and model.weight.grad._shares_storage(held)
