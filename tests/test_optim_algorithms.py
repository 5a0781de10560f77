"""The optimisers beyond SGD/Adam against NumPy transcriptions of PyTorch's documented
algorithms: 20 float64 steps on the same gradients agree to 1e-10 relative."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tapegrad as tg
from helpers import assert_close, raises, values
from tapegrad import optim

RNG = np.random.default_rng(7)
A = RNG.standard_normal((6, 4))
B = RNG.standard_normal(6)
START = RNG.standard_normal(4)


def gradient(x: np.ndarray) -> np.ndarray:
    """Gradient of ½|Ax - b|² + ¼ Σx⁴, a non-quadratic bowl."""
    return A.T @ (A @ x - B) + x**3


# ---- NumPy references, one per documented algorithm: each takes (x, g, state, options)
# and returns the new x.


def ref_rmsprop(
    x,
    g,
    s,
    lr=1e-2,
    alpha=0.99,
    eps=1e-8,
    weight_decay=0.0,
    momentum=0.0,
    centered=False,
    maximize=False,
):
    g = -g if maximize else g
    g = g + weight_decay * x
    s["v"] = alpha * s.get("v", 0.0) + (1 - alpha) * g * g
    if centered:
        s["m"] = s.get("m", 0.0) + (1 - alpha) * (g - s.get("m", 0.0))
        denom = np.sqrt(s["v"] - s["m"] ** 2) + eps
    else:
        denom = np.sqrt(s["v"]) + eps
    if momentum > 0:
        s["b"] = momentum * s.get("b", 0.0) + g / denom
        return x - lr * s["b"]
    return x - lr * g / denom


def ref_adagrad(
    x,
    g,
    s,
    lr=1e-2,
    lr_decay=0.0,
    weight_decay=0.0,
    initial_accumulator_value=0.0,
    eps=1e-10,
    maximize=False,
):
    s["t"] = s.get("t", 0) + 1
    g = (-g if maximize else g) + weight_decay * x
    clr = lr / (1 + (s["t"] - 1) * lr_decay)
    s["sum"] = s.get("sum", initial_accumulator_value) + g * g
    return x - clr * g / (np.sqrt(s["sum"]) + eps)


def ref_adadelta(x, g, s, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    g = (-g if maximize else g) + weight_decay * x
    s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
    delta = np.sqrt(s.get("u", 0.0) + eps) / np.sqrt(s["v"] + eps) * g
    s["u"] = rho * s.get("u", 0.0) + (1 - rho) * delta * delta
    return x - lr * delta


def ref_adamax(
    x, g, s, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False
):
    b1, b2 = betas
    s["t"] = t = s.get("t", 0) + 1
    g = (-g if maximize else g) + weight_decay * x
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["u"] = np.maximum(b2 * s.get("u", 0.0), np.abs(g) + eps)
    return x - lr / (1 - b1**t) * s["m"] / s["u"]


def _decay(x, g, lr, weight_decay, decoupled, maximize):
    g = -g if maximize else g
    if decoupled:
        return x * (1 - lr * weight_decay), g
    return x, g + weight_decay * x


def ref_nadam(
    x,
    g,
    s,
    lr=2e-3,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    momentum_decay=4e-3,
    decoupled_weight_decay=False,
    maximize=False,
):
    b1, b2 = betas
    s["t"] = t = s.get("t", 0) + 1
    x, g = _decay(x, g, lr, weight_decay, decoupled_weight_decay, maximize)
    mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    s["prod"] = s.get("prod", 1.0) * mu
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
    denom = np.sqrt(s["v"] / (1 - b2**t)) + eps
    x = x - lr * (1 - mu) / (1 - s["prod"]) * g / denom
    return x - lr * mu_next / (1 - s["prod"] * mu_next) * s["m"] / denom


def ref_radam(
    x,
    g,
    s,
    lr=1e-3,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    decoupled_weight_decay=False,
    maximize=False,
):
    b1, b2 = betas
    s["t"] = t = s.get("t", 0) + 1
    x, g = _decay(x, g, lr, weight_decay, decoupled_weight_decay, maximize)
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
    m_hat = s["m"] / (1 - b1**t)
    rho_inf = 2 / (1 - b2) - 1
    rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
    if rho <= 5:
        return x - lr * m_hat
    r = math.sqrt(
        (rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)
    )
    return x - lr * m_hat * math.sqrt(1 - b2**t) / (np.sqrt(s["v"]) + eps) * r


def ref_asgd(
    x, g, s, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, maximize=False
):
    s["t"] = t = s.get("t", 0) + 1
    eta, mu = s.get("eta", lr), s.get("mu", 1.0)
    g = (-g if maximize else g) + weight_decay * x
    x = x * (1 - lambd * eta) - eta * g
    s["ax"] = x.copy() if mu == 1 else s["ax"] + mu * (x - s["ax"])
    s["eta"] = lr / (1 + lambd * lr * t) ** alpha
    s["mu"] = 1 / max(1, t - t0)
    return x


CASES = [
    ("RMSprop", ref_rmsprop, {}),
    ("RMSprop", ref_rmsprop, {"centered": True, "momentum": 0.9, "weight_decay": 0.1}),
    ("RMSprop", ref_rmsprop, {"lr": 0.03, "alpha": 0.9, "momentum": 0.5}),
    ("RMSprop", ref_rmsprop, {"centered": True, "maximize": True}),
    ("Adagrad", ref_adagrad, {"lr": 0.1}),
    (
        "Adagrad",
        ref_adagrad,
        {
            "lr": 0.1,
            "lr_decay": 0.05,
            "weight_decay": 0.1,
            "initial_accumulator_value": 0.5,
        },
    ),
    ("Adadelta", ref_adadelta, {}),
    ("Adadelta", ref_adadelta, {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1}),
    ("Adamax", ref_adamax, {"lr": 0.05}),
    ("Adamax", ref_adamax, {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    ("NAdam", ref_nadam, {"lr": 0.05}),
    ("NAdam", ref_nadam, {"lr": 0.05, "weight_decay": 0.1, "momentum_decay": 0.01}),
    (
        "NAdam",
        ref_nadam,
        {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True},
    ),
    ("RAdam", ref_radam, {"lr": 0.05}),
    ("RAdam", ref_radam, {"lr": 0.05, "betas": (0.5, 0.9), "weight_decay": 0.1}),
    (
        "RAdam",
        ref_radam,
        {
            "lr": 0.05,
            "betas": (0.5, 0.9),
            "weight_decay": 0.1,
            "decoupled_weight_decay": True,
            "maximize": True,
        },
    ),
    ("ASGD", ref_asgd, {"lr": 0.05}),
    ("ASGD", ref_asgd, {"lr": 0.05, "lambd": 0.01, "t0": 5, "weight_decay": 0.1}),
]


@pytest.mark.parametrize(("name", "reference", "options"), CASES, ids=str)
def test_twenty_steps_match_the_documented_algorithm(name, reference, options):
    p = tg.tensor(START, requires_grad=True)
    opt = getattr(optim, name)([p], **options, foreach=None)
    x, s = START.copy(), {}
    for _ in range(20):
        p.grad = tg.tensor(gradient(values(p)))
        version = p._version
        opt.step()
        assert p._version > version  # updated in place
        x = reference(x, gradient(x), s, **options)
        assert_close(p, x, rtol=1e-10, atol=0.0)
    if name == "ASGD":
        assert_close(opt.state[p]["ax"], s["ax"], rtol=1e-10, atol=0.0)


@pytest.mark.parametrize(("name", "reference", "options"), CASES[::3], ids=str)
def test_state_dict_round_trips_through_save_and_load(
    name, reference, options, tmp_path
):
    p = tg.tensor(START, requires_grad=True)
    opt = getattr(optim, name)([p], **options)
    for _ in range(3):
        p.grad = tg.tensor(gradient(values(p)))
        opt.step()
    tg.save({"optim": opt.state_dict(), "p": p.detach()}, tmp_path / "ckpt.safetensors")
    saved = tg.load(tmp_path / "ckpt.safetensors")
    q = tg.tensor(values(saved["p"]), requires_grad=True)
    resumed = getattr(optim, name)([q], **options)
    resumed.load_state_dict(saved["optim"])
    for _ in range(3):
        p.grad = tg.tensor(gradient(values(p)))
        q.grad = tg.tensor(gradient(values(q)))
        opt.step()
        resumed.step()
    np.testing.assert_array_equal(values(p), values(q))


def test_add_param_group_takes_its_own_hyperparameters():
    p, q = tg.tensor(START, requires_grad=True), tg.tensor(START, requires_grad=True)
    opt = optim.RMSprop([p], lr=0.01)
    opt.add_param_group({"params": [q], "lr": 0.05, "centered": True})
    assert opt.param_groups[1]["alpha"] == 0.99
    x, y, sx, sy = START.copy(), START.copy(), {}, {}
    for _ in range(5):
        p.grad, q.grad = tg.tensor(gradient(values(p))), tg.tensor(gradient(values(q)))
        opt.step()
        x = ref_rmsprop(x, gradient(x), sx, lr=0.01)
        y = ref_rmsprop(y, gradient(y), sy, lr=0.05, centered=True)
    assert_close(p, x)
    assert_close(q, y)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: optim.RMSprop(p, lr=-1.0), "learning rate"),
        (lambda p: optim.RMSprop(p, alpha=-0.1), "alpha"),
        (lambda p: optim.Adagrad(p, lr_decay=-1.0), "lr_decay"),
        (lambda p: optim.Adadelta(p, rho=1.5), "rho"),
        (lambda p: optim.Adamax(p, betas=(1.0, 0.9)), "beta parameter at index 0"),
        (lambda p: optim.NAdam(p, momentum_decay=-1.0), "momentum_decay"),
        (lambda p: optim.RAdam(p, eps=-1.0), "epsilon"),
        (lambda p: optim.ASGD(p, weight_decay=-1.0), "weight_decay"),
        (lambda p: optim.LBFGS(p, line_search_fn="armijo"), "strong_wolfe"),
        (lambda p: optim.LBFGS(p, history_size=0), "history_size"),
    ],
)
def test_invalid_hyperparameters_are_refused(make, fragment):
    with raises(ValueError, fragment):
        make([tg.tensor(START, requires_grad=True)])


# ---- L-BFGS


def rosenbrock(x: np.ndarray) -> tuple[float, np.ndarray]:
    a, b = x[:-1], x[1:]
    value = float(np.sum(100 * (b - a * a) ** 2 + (1 - a) ** 2))
    grad = np.zeros_like(x)
    grad[:-1] += -400 * a * (b - a * a) - 2 * (1 - a)
    grad[1:] += 200 * (b - a * a)
    return value, grad


def lbfgs_closure(p: tg.Tensor):
    def closure():
        p.grad = None
        a, b = p[:-1], p[1:]
        loss = (100 * (b - a * a) ** 2 + (1 - a) ** 2).sum()
        loss.backward()
        return loss

    return closure


def test_lbfgs_with_strong_wolfe_minimises_rosenbrock():
    p = tg.tensor([-1.2, 1.0, -0.5, 0.8], dtype=tg.float64, requires_grad=True)
    opt = optim.LBFGS([p], history_size=5, line_search_fn="strong_wolfe")
    closure = lbfgs_closure(p)
    first = opt.step(closure).item()
    for _ in range(30):
        opt.step(closure)
    # from 282 to below 1e-9 (where the directional derivative falls under
    # tolerance_change and the iterations stop)
    assert first > 100 and closure().item() < 1e-9
    assert_close(p, np.ones(4), rtol=0.0, atol=1e-4)
    assert opt.state[p]["n_iter"] > 0 and len(opt.state[p]["old_dirs"]) <= 5


def test_lbfgs_with_a_fixed_step_minimises_a_bowl():
    p = tg.tensor(START, requires_grad=True)
    opt = optim.LBFGS([p], history_size=5)

    def closure():
        opt.zero_grad()
        residual = tg.tensor(A) @ p - tg.tensor(B)
        loss = 0.5 * (residual * residual).sum() + 0.25 * (p**4).sum()
        loss.backward()
        return loss

    for _ in range(10):
        opt.step(closure)
    assert np.abs(gradient(values(p))).max() < 1e-4
    assert opt.state[p]["func_evals"] > 20


def test_lbfgs_two_loop_recursion_by_hand():
    """Three iterations with a fixed step, against algorithm 7.4 written in NumPy."""
    p = tg.tensor([-1.2, 1.0, -0.5], dtype=tg.float64, requires_grad=True)
    opt = optim.LBFGS([p], lr=0.01, max_iter=3, max_eval=10, history_size=2)
    opt.step(lbfgs_closure(p))
    x = np.array([-1.2, 1.0, -0.5])
    g_prev = None
    _, g = rosenbrock(x)
    dirs, steps = [], []
    d, t = -g, min(1.0, 1.0 / np.abs(g).sum()) * 0.01
    for k in range(3):
        if k:
            y, s = g - g_prev, d * t
            dirs, steps = (dirs + [y])[-2:], (steps + [s])[-2:]
            q, alphas = -g, []
            for y_i, s_i in reversed(list(zip(dirs, steps))):
                alphas.insert(0, (s_i @ q) / (y_i @ s_i))
                q = q - alphas[0] * y_i
            d = q * (y @ s) / (y @ y)
            for (y_i, s_i), a_i in zip(zip(dirs, steps), alphas):
                d = d + (a_i - (y_i @ d) / (y_i @ s_i)) * s_i
            t = 0.01
        g_prev = g
        x = x + t * d
        _, g = rosenbrock(x)
    assert_close(p, x)


def test_lbfgs_state_dict_round_trips(tmp_path):
    p = tg.tensor([-1.2, 1.0, 0.3], dtype=tg.float64, requires_grad=True)
    opt = optim.LBFGS([p], max_iter=4, line_search_fn="strong_wolfe")
    opt.step(lbfgs_closure(p))
    tg.save(
        {"optim": opt.state_dict(), "p": p.detach()}, tmp_path / "lbfgs.safetensors"
    )
    saved = tg.load(tmp_path / "lbfgs.safetensors")
    q = tg.tensor(values(saved["p"]), requires_grad=True)
    resumed = optim.LBFGS([q], max_iter=4, line_search_fn="strong_wolfe")
    resumed.load_state_dict(saved["optim"])
    opt.step(lbfgs_closure(p))
    resumed.step(lbfgs_closure(q))
    np.testing.assert_array_equal(values(p), values(q))


def test_lbfgs_needs_a_closure_and_one_group():
    p = tg.tensor([1.0], requires_grad=True)
    with raises(ValueError, "closure"):
        optim.LBFGS([p]).step()
    with raises(ValueError, "parameter groups"):
        optim.LBFGS(
            [{"params": [p]}, {"params": [tg.tensor([2.0], requires_grad=True)]}]
        )


def test_a_custom_optimizer_keeps_its_own_hyperparameters_unchecked():
    class Adan(optim.Optimizer):  # three betas: not Adam's pair
        def __init__(self, params, betas=(0.98, 0.92, 0.99)):
            super().__init__(params, {"betas": betas})

        def _update(self, param, grad, group, state):
            param._assign(param - 0.1 * grad)

    p = tg.tensor([1.0], requires_grad=True)
    opt = Adan([p])
    p.grad = tg.tensor([1.0])
    opt.step()
    assert_close(p, [0.9], rtol=1e-6)
    assert opt.param_groups[0]["betas"] == (0.98, 0.92, 0.99)
