"""tapegrad.optim.lr_scheduler against closed-form schedules, state dicts, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tapegrad as tg
from helpers import raises
from tapegrad.optim import SGD, Adam, lr_scheduler

LR = 0.5


def sgd(lr=LR, groups=1, **options):
    params = [tg.zeros(2, requires_grad=True) for _ in range(groups)]
    return SGD([{"params": [p]} for p in params], lr=lr, **options)


def rates(schedule, steps, metrics=None):
    """The rate of group 0 at epochs 0..steps (the first from construction)."""
    seen = [schedule.get_last_lr()[0]]
    for k in range(steps):
        schedule.optimizer.step()
        schedule.step() if metrics is None else schedule.step(metrics[k])
        seen.append(schedule.get_last_lr()[0])
        assert schedule.get_last_lr() == [
            g["lr"] for g in schedule.optimizer.param_groups
        ]
    return np.array(seen)


def test_lambda_and_multiplicative():
    got = rates(lr_scheduler.LambdaLR(sgd(), lambda t: 1 / (t + 1)), 6)
    np.testing.assert_allclose(got, [LR / (t + 1) for t in range(7)], rtol=1e-15)
    opt = sgd(groups=2)
    per_group = lr_scheduler.LambdaLR(opt, [lambda t: 0.5**t, lambda t: t])
    per_group.step()
    assert per_group.get_last_lr() == [LR * 0.5, LR * 1]
    got = rates(lr_scheduler.MultiplicativeLR(sgd(), lambda t: 0.9), 5)
    np.testing.assert_allclose(got, [LR * 0.9**t for t in range(6)], rtol=1e-14)


def test_multistep_constant_linear_polynomial_closed_forms():
    got = rates(lr_scheduler.MultiStepLR(sgd(), [2, 5, 5], gamma=0.1), 7)
    want = [LR * 0.1 ** (int(t >= 2) + 2 * int(t >= 5)) for t in range(8)]
    np.testing.assert_allclose(got, want, rtol=1e-14)
    got = rates(lr_scheduler.ConstantLR(sgd(), factor=0.25, total_iters=3), 5)
    np.testing.assert_allclose(got, [LR * (0.25 if t < 3 else 1) for t in range(6)])
    got = rates(lr_scheduler.LinearLR(sgd(), 0.2, 0.9, total_iters=4), 7)
    want = [LR * (0.2 + 0.7 * min(t, 4) / 4) for t in range(8)]
    np.testing.assert_allclose(got, want, rtol=1e-14)
    got = rates(lr_scheduler.PolynomialLR(sgd(), total_iters=4, power=2.0), 6)
    want = [LR * (1 - min(t, 4) / 4) ** 2 for t in range(7)]
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-16)


def _cos(start, end, pct):
    return end + (start - end) / 2 * (1 + math.cos(math.pi * pct))


def test_one_cycle_follows_the_two_phase_cosine_and_cycles_momentum():
    opt = sgd(momentum=0.9)
    schedule = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=20)
    assert opt.param_groups[0]["momentum"] == 0.95
    got = rates(schedule, 19)
    np.testing.assert_allclose(
        got, [_one_cycle(t) for t in range(20)], rtol=1e-13, atol=1e-18
    )
    assert math.isclose(opt.param_groups[0]["momentum"], 0.95)
    with raises(ValueError, "tried to step 21 times", "total steps is 20"):
        schedule.step()
        schedule.step()
    adam = Adam([tg.zeros(1, requires_grad=True)], betas=(0.9, 0.99))
    lr_scheduler.OneCycleLR(adam, max_lr=0.1, epochs=2, steps_per_epoch=5).step()
    assert adam.param_groups[0]["betas"][1] == 0.99
    assert adam.param_groups[0]["betas"][0] < 0.95


def _one_cycle(t, total=20, peak=1.0):
    start, low, rise = peak / 25, peak / 25 / 1e4, 0.3 * total - 1
    if t <= rise:
        return _cos(start, peak, t / rise)
    return _cos(peak, low, (t - rise) / (total - 1 - rise))


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclic_lr_is_a_triangle_wave(mode):
    opt = sgd(momentum=0.9)
    schedule = lr_scheduler.CyclicLR(
        opt, base_lr=0.1, max_lr=1.0, step_size_up=3, step_size_down=2, mode=mode,
        gamma=0.9,
    )  # fmt: skip
    got = rates(schedule, 12)
    for t, lr in enumerate(got):
        cycle = math.floor(1 + t / 5)
        x = 1 + t / 5 - cycle
        height = x / 0.6 if x <= 0.6 else (x - 1) / (0.6 - 1)
        scale = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycle - 1),
                 "exp_range": 0.9**t}[mode]  # fmt: skip
        assert math.isclose(lr, 0.1 + 0.9 * height * scale, rel_tol=1e-13)
    assert math.isclose(opt.param_groups[0]["momentum"], 0.9 - 0.1 * height * scale)


def test_warm_restarts_with_growing_periods_and_fractional_epochs():
    schedule = lr_scheduler.CosineAnnealingWarmRestarts(
        sgd(), T_0=2, T_mult=2, eta_min=0.1
    )
    got = rates(schedule, 13)
    starts = [0, 2, 6, 14]
    for t, lr in enumerate(got):
        k = max(i for i, s in enumerate(starts) if s <= t)
        period, t_cur = 2 * 2**k, t - starts[k]
        assert math.isclose(
            lr, 0.1 + (LR - 0.1) * (1 + math.cos(math.pi * t_cur / period)) / 2
        )
    schedule.step(7.5)  # T_cur = 1.5 of a period of 8
    want = 0.1 + (LR - 0.1) * (1 + math.cos(math.pi * 1.5 / 8)) / 2
    assert math.isclose(schedule.get_last_lr()[0], want)
    assert schedule.last_epoch == 7


def test_reduce_on_plateau_waits_patience_then_cools_down():
    opt = sgd(groups=2)
    schedule = lr_scheduler.ReduceLROnPlateau(
        opt, factor=0.5, patience=2, cooldown=1, min_lr=[0.0, 0.2]
    )
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]
    got = rates(schedule, len(metrics), metrics)
    # bad epochs at 3, 4, 5 -> reduce after the third; cooldown 1; three more -> again
    np.testing.assert_allclose(got, [LR] * 5 + [LR / 2] * 4 + [LR / 4] * 2)
    assert schedule.get_last_lr()[1] == 0.2  # held at its min_lr
    maximise = lr_scheduler.ReduceLROnPlateau(
        sgd(), mode="max", patience=0, threshold=0.1, threshold_mode="abs"
    )
    maximise.step(1.0)
    maximise.step(1.05)  # not better by more than 0.1
    assert maximise.get_last_lr() == [LR * 0.1]


def test_sequential_warmup_then_decay_and_chained():
    opt = sgd()
    warmup = lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=3)
    decay = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    got = rates(lr_scheduler.SequentialLR(opt, [warmup, decay], milestones=[3]), 6)
    want = [LR * (0.1 + 0.9 * t / 3) for t in range(3)] + [
        LR * 0.5**k for k in range(4)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-14)
    opt = sgd()
    chained = lr_scheduler.ChainedScheduler(
        [lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2),
         lr_scheduler.ExponentialLR(opt, gamma=0.9)]
    )  # fmt: skip
    got = rates(chained, 4)
    want = [LR * 0.9**t * (0.5 if t < 2 else 1) for t in range(5)]
    np.testing.assert_allclose(got, want, rtol=1e-14)


def make_all(opt):
    return [
        lr_scheduler.MultiStepLR(opt, [2, 4]),
        lr_scheduler.LinearLR(opt),
        lr_scheduler.PolynomialLR(opt, power=0.5),
        lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=30),
        lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=3),
        lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2),
        lr_scheduler.ReduceLROnPlateau(opt, patience=1),
        lr_scheduler.SequentialLR(
            opt,
            [lr_scheduler.ConstantLR(opt), lr_scheduler.StepLR(opt, 2)],
            milestones=[3],
        ),
        lr_scheduler.ChainedScheduler(
            [lr_scheduler.LinearLR(opt), lr_scheduler.ExponentialLR(opt, 0.9)]
        ),
    ]


@pytest.mark.parametrize("index", range(9))
def test_state_dicts_round_trip_through_save_and_load(index, tmp_path):
    def advance(schedule, n):
        for k in range(n):
            if isinstance(schedule, lr_scheduler.ReduceLROnPlateau):
                schedule.step(1.0 + k % 2)
            else:
                schedule.step()

    opt = sgd(momentum=0.9)
    schedule = make_all(opt)[index]
    advance(schedule, 5)
    tg.save({"s": schedule.state_dict(), "o": opt.state_dict()}, tmp_path / "s.st")
    saved = tg.load(tmp_path / "s.st")
    fresh_opt = sgd(momentum=0.9)
    fresh = make_all(fresh_opt)[index]
    fresh_opt.load_state_dict(saved["o"])
    fresh.load_state_dict(saved["s"])
    advance(schedule, 4)
    advance(fresh, 4)
    assert fresh.get_last_lr() == schedule.get_last_lr()
    assert fresh_opt.param_groups[0]["momentum"] == opt.param_groups[0]["momentum"]


def test_lambda_functions_are_left_out_of_the_state_dict():
    schedule = lr_scheduler.LambdaLR(sgd(), lambda t: 0.5)
    assert "lr_lambdas" not in schedule.state_dict()


@pytest.mark.parametrize(
    ("make", "error", "fragments"),
    [
        (lambda o: lr_scheduler.LambdaLR(o, [abs, abs]), ValueError, ("expected 1",)),
        (lambda o: lr_scheduler.ConstantLR(o, factor=2.0), ValueError, ("factor",)),
        (lambda o: lr_scheduler.LinearLR(o, start_factor=0.0), ValueError, ("start_factor",)),
        (lambda o: lr_scheduler.OneCycleLR(o, 1.0), ValueError, ("total_steps",)),
        (lambda o: lr_scheduler.OneCycleLR(o, 1.0, 10, pct_start=2), ValueError, ("pct_start",)),
        (lambda o: lr_scheduler.CyclicLR(o, 0.1, 1.0, mode="saw"), ValueError, ("mode",)),
        (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, ("T_0",)),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError, ("factor",)),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="up"), ValueError, ("mode",)),
        (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)], [1]), ValueError, ("milestones",)),
        (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(sgd(), 2)], []), ValueError, ("another optimizer",)),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused(make, error, fragments):
    with raises(error, *fragments):
        make(sgd())


def test_cycling_momentum_needs_an_optimizer_with_momentum():
    from tapegrad.optim import Adagrad

    opt = Adagrad([tg.zeros(1, requires_grad=True)])
    with raises(ValueError, "momentum or beta1"):
        lr_scheduler.OneCycleLR(opt, 1.0, 10)
    lr_scheduler.OneCycleLR(opt, 1.0, 10, cycle_momentum=False).step()
