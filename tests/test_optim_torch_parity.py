"""The optimisers and schedules beyond SGD/Adam against PyTorch: same weights, same
steps, same parameters and rates. Skipped cleanly when torch is not installed."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tapegrad as tg
from tapegrad import nn
from test_training_torch_parity import X, Y, relative_error, twin_mlps


@pytest.fixture(autouse=True)
def float64_scalars():
    # PyTorch keeps some optimiser scalars (NAdam's μ product, ASGD's η and μ) as
    # tensors of the default dtype: float64 makes them comparable at 1e-10.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


OPTIMIZERS = [
    ("RMSprop", {"lr": 1e-2}),
    ("RMSprop", {"lr": 1e-2, "centered": True, "momentum": 0.9, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 1e-2, "maximize": True}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("Adadelta", {"lr": 1.0, "rho": 0.8, "weight_decay": 0.01}),
    ("Adamax", {"lr": 1e-2, "betas": (0.8, 0.99), "weight_decay": 0.01}),
    ("NAdam", {"lr": 1e-2, "weight_decay": 0.01, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 1e-2, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 1e-2}),
    ("RAdam", {"lr": 1e-2, "betas": (0.5, 0.9), "weight_decay": 0.1}),
    ("RAdam", {"lr": 1e-2, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("ASGD", {"lr": 0.05, "lambd": 1e-3, "t0": 5, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "foreach": False}),
    ("Adam", {"lr": 1e-2, "foreach": False, "fused": None}),
    # maximize on the loss's negative: the same descent, through each sign flip
    ("Adagrad", {"lr": 0.1, "maximize": True, "weight_decay": 0.01}),
    ("Adadelta", {"maximize": True}),
    ("Adamax", {"lr": 1e-2, "maximize": True}),
    ("NAdam", {"lr": 1e-2, "maximize": True}),
    ("RAdam", {"lr": 1e-2, "maximize": True}),
    ("ASGD", {"lr": 0.05, "maximize": True}),
]


@pytest.mark.parametrize(("name", "options"), OPTIMIZERS, ids=str)
def test_twenty_steps_match_pytorch(name, options):
    ours, theirs = twin_mlps()
    opt = getattr(tg.optim, name)(ours.parameters(), **options)
    their_opt = getattr(torch.optim, name)(theirs.parameters(), **options)
    x, their_x, their_y = tg.tensor(X), torch.from_numpy(X), torch.from_numpy(Y)
    for _ in range(20):
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(ours(x), Y)
        loss.backward()
        opt.step()
        their_opt.zero_grad()
        their_loss = torch.nn.CrossEntropyLoss()(theirs(their_x), their_y)
        their_loss.backward()
        their_opt.step()
        assert abs(loss.item() - their_loss.item()) <= 1e-10 * abs(their_loss.item())
    assert relative_error(ours, theirs) <= 1e-10


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_matches_pytorch(line_search_fn):
    ours, theirs = twin_mlps()
    options = {"lr": 0.5, "history_size": 4, "max_iter": 5}
    opt = tg.optim.LBFGS(ours.parameters(), line_search_fn=line_search_fn, **options)
    their_opt = torch.optim.LBFGS(
        theirs.parameters(), line_search_fn=line_search_fn, **options
    )
    x, their_x, their_y = tg.tensor(X), torch.from_numpy(X), torch.from_numpy(Y)

    def closure():
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(ours(x), Y)
        loss.backward()
        return loss

    def their_closure():
        their_opt.zero_grad()
        loss = torch.nn.CrossEntropyLoss()(theirs(their_x), their_y)
        loss.backward()
        return loss

    for _ in range(4):
        loss, their_loss = opt.step(closure), their_opt.step(their_closure)
        assert abs(loss.item() - their_loss.item()) <= 1e-9 * abs(their_loss.item())
    assert relative_error(ours, theirs) <= 1e-9
    state = opt.state[next(iter(ours.parameters()))]
    their_state = their_opt.state[next(iter(theirs.parameters()))]
    assert state["func_evals"] == their_state["func_evals"]
    assert state["n_iter"] == their_state["n_iter"]


def schedules(lib, opt):
    s = lib.optim.lr_scheduler
    return {
        "lambda": lambda: s.LambdaLR(opt, lambda t: 0.95**t),
        "multiplicative": lambda: s.MultiplicativeLR(opt, lambda t: 0.9),
        "multistep": lambda: s.MultiStepLR(opt, [3, 5, 5], gamma=0.5),
        "constant": lambda: s.ConstantLR(opt, factor=0.3, total_iters=4),
        "linear": lambda: s.LinearLR(opt, 0.1, 0.8, total_iters=6),
        "polynomial": lambda: s.PolynomialLR(opt, total_iters=8, power=1.5),
        "onecycle": lambda: s.OneCycleLR(opt, max_lr=[0.5, 0.2], total_steps=16),
        "onecycle3": lambda: s.OneCycleLR(
            opt, 0.5, epochs=4, steps_per_epoch=4, three_phase=True,
            anneal_strategy="linear",
        ),
        "cyclic": lambda: s.CyclicLR(opt, 0.01, 0.2, step_size_up=3, mode="triangular2"),
        "cyclic_exp": lambda: s.CyclicLR(
            opt, [0.01, 0.02], 0.2, step_size_up=2, step_size_down=4,
            mode="exp_range", gamma=0.95,
        ),
        "restarts": lambda: s.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.01),
        "sequential": lambda: s.SequentialLR(
            opt,
            [s.LinearLR(opt, 0.2, total_iters=3), s.CosineAnnealingLR(opt, T_max=6)],
            milestones=[4],
        ),
        "chained": lambda: s.ChainedScheduler(
            [s.ConstantLR(opt, 0.5, total_iters=3), s.ExponentialLR(opt, 0.9)]
        ),
    }  # fmt: skip


@pytest.mark.parametrize("kind", list(schedules(tg, None)))
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_schedules_match_pytorch(kind, optimizer):
    options = {"lr": 0.1}
    if optimizer == "SGD":
        options["momentum"] = 0.9
    ours = getattr(tg.optim, optimizer)(
        [{"params": [tg.zeros(2, requires_grad=True)]},
         {"params": [tg.zeros(1, requires_grad=True)], "lr": 0.3}],
        **options,
    )  # fmt: skip
    theirs = getattr(torch.optim, optimizer)(
        [{"params": [torch.zeros(2, requires_grad=True)]},
         {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.3}],
        **options,
    )  # fmt: skip
    schedule, their_schedule = (
        schedules(tg, ours)[kind](),
        schedules(torch, theirs)[kind](),
    )
    for _ in range(15):
        np.testing.assert_allclose(
            schedule.get_last_lr(), their_schedule.get_last_lr(), rtol=1e-13
        )
        for group, their_group in zip(ours.param_groups, theirs.param_groups):
            for key in ("momentum", "betas"):
                if key in group:
                    np.testing.assert_allclose(group[key], their_group[key], rtol=1e-13)
        ours.step()
        theirs.step()
        schedule.step()
        their_schedule.step()


def test_reduce_on_plateau_matches_pytorch():
    ours = tg.optim.SGD([tg.zeros(1, requires_grad=True)], lr=1.0)
    theirs = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    options = {"factor": 0.5, "patience": 2, "cooldown": 1, "threshold": 0.01}
    schedule = tg.optim.lr_scheduler.ReduceLROnPlateau(ours, **options)
    their_schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **options)
    metrics = np.random.default_rng(0).uniform(0.9, 1.1, 40)
    for k, metric in enumerate(metrics):
        metric = metric - 0.005 * k
        schedule.step(metric)
        their_schedule.step(metric)
        assert schedule.get_last_lr() == their_schedule.get_last_lr()
