"""Training against PyTorch: same initial weights, same steps, same parameters.

Skipped cleanly when torch is not installed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tapegrad as tg
from helpers import assert_close, values
from tapegrad import nn
from tapegrad.nn import functional as F

F64 = tg.float64
RNG = np.random.default_rng(1234)
X = RNG.standard_normal((32, 5))
Y = RNG.integers(0, 3, 32)


def twin_mlps():
    """A tapegrad MLP in float64 and a PyTorch copy with the same weights."""
    tg.manual_seed(0)
    ours = nn.Sequential(
        nn.Linear(5, 16, dtype=F64),
        nn.Tanh(),
        nn.Linear(16, 16, dtype=F64),
        nn.GELU(),
        nn.Linear(16, 3, dtype=F64),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Linear(5, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 16),
        torch.nn.GELU(),
        torch.nn.Linear(16, 3),
    ).double()
    theirs.load_state_dict(
        {name: torch.from_numpy(values(t)) for name, t in ours.state_dict().items()}
    )
    return ours, theirs


def relative_error(ours: nn.Module, theirs) -> float:
    worst = 0.0
    for (name, a), (other, b) in zip(
        ours.named_parameters(), theirs.named_parameters()
    ):
        assert name == other
        b = b.detach().numpy()
        worst = max(worst, float(np.max(np.abs(values(a) - b)) / np.max(np.abs(b))))
    return worst


OPTIMIZERS = [
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-2}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 1e-3}),
    ("Adam", {"lr": 1e-2}),
    ("Adam", {"lr": 1e-2, "betas": (0.8, 0.95), "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"lr": 1e-2, "weight_decay": 0.1}),
]


@pytest.mark.parametrize(("name", "options"), OPTIMIZERS, ids=lambda v: str(v))
def test_twenty_steps_match_pytorch(name, options):
    ours, theirs = twin_mlps()
    assert relative_error(ours, theirs) == 0.0
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


def test_parameter_groups_and_schedulers_match_pytorch():
    ours, theirs = twin_mlps()
    opt = tg.optim.SGD(
        [
            {"params": ours[0].parameters(), "lr": 0.2},
            {"params": ours[2:].parameters()},
        ],
        lr=0.05,
        momentum=0.9,
    )
    their_opt = torch.optim.SGD(
        [
            {"params": theirs[0].parameters(), "lr": 0.2},
            {"params": theirs[2:].parameters()},
        ],
        lr=0.05,
        momentum=0.9,
    )
    schedule = tg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6, eta_min=0.001)
    their_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        their_opt, T_max=6, eta_min=0.001
    )
    x, their_x, their_y = tg.tensor(X), torch.from_numpy(X), torch.from_numpy(Y)
    for _ in range(15):  # past T_max: the rate rises again
        opt.zero_grad()
        F.cross_entropy(ours(x), Y).backward()
        opt.step()
        schedule.step()
        their_opt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(their_x), their_y).backward()
        their_opt.step()
        their_schedule.step()
        np.testing.assert_allclose(
            schedule.get_last_lr(), their_schedule.get_last_lr(), rtol=1e-13
        )
    assert relative_error(ours, theirs) <= 1e-10


def test_step_lr_matches_pytorch():
    opt = tg.optim.Adam([tg.zeros(1, requires_grad=True)], lr=0.3)
    their_opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=0.3)
    ours = tg.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.7)
    theirs = torch.optim.lr_scheduler.StepLR(their_opt, step_size=3, gamma=0.7)
    for _ in range(10):
        opt.step()
        their_opt.step()
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == theirs.get_last_lr()


CROSS_ENTROPY_CASES = [
    {},
    {"weight": [0.3, 1.0, 2.5, 0.7]},
    {"ignore_index": 2},
    {"label_smoothing": 0.2},
    {"weight": [0.3, 1.0, 2.5, 0.7], "label_smoothing": 0.1, "ignore_index": 1},
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", CROSS_ENTROPY_CASES, ids=str)
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2), (4,)], ids=str)
def test_cross_entropy_and_its_gradient_match_pytorch(reduction, options, shape):
    rng = np.random.default_rng(7)
    logits = rng.standard_normal(shape) * 3
    target_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    labels = rng.integers(0, 4, target_shape)
    ours = tg.tensor(logits, requires_grad=True)
    theirs = torch.tensor(logits, requires_grad=True)
    weight = options.get("weight")
    loss = F.cross_entropy(ours, labels, reduction=reduction, **options)
    their_loss = torch.nn.functional.cross_entropy(
        theirs,
        torch.from_numpy(labels),
        reduction=reduction,
        **{
            **options,
            "weight": None
            if weight is None
            else torch.tensor(weight, dtype=torch.float64),
        },
    )
    assert_close(loss, their_loss.detach().numpy(), rtol=1e-12, atol=1e-14)
    cotangent = rng.standard_normal(tuple(loss.shape))
    loss.backward(tg.tensor(cotangent))
    their_loss.backward(torch.from_numpy(cotangent))
    assert_close(ours.grad, theirs.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_class_probabilities_matches_pytorch(reduction):
    rng = np.random.default_rng(8)
    logits, probs = rng.standard_normal((5, 3)), rng.dirichlet(np.ones(3), 5)
    ours, theirs = (
        tg.tensor(logits, requires_grad=True),
        torch.tensor(logits, requires_grad=True),
    )
    loss = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1)(
        ours, tg.tensor(probs)
    )
    their_loss = torch.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1)(
        theirs, torch.from_numpy(probs)
    )
    assert_close(loss, their_loss.detach().numpy(), rtol=1e-12)
    loss.sum().backward()
    their_loss.sum().backward()
    assert_close(ours.grad, theirs.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_and_mse_match_pytorch(reduction):
    rng = np.random.default_rng(9)
    logits, target = rng.standard_normal((4, 3)) * 4, rng.uniform(size=(4, 3))
    weight, pos_weight = rng.uniform(size=3), np.array([0.5, 2.0, 3.0])
    ours, theirs = (
        tg.tensor(logits, requires_grad=True),
        torch.tensor(logits, requires_grad=True),
    )
    loss = F.binary_cross_entropy_with_logits(
        ours, target, weight=weight, reduction=reduction, pos_weight=pos_weight
    ) + F.mse_loss(ours, target, reduction)
    their_loss = torch.nn.functional.binary_cross_entropy_with_logits(
        theirs,
        torch.from_numpy(target),
        weight=torch.from_numpy(weight),
        reduction=reduction,
        pos_weight=torch.from_numpy(pos_weight),
    ) + torch.nn.functional.mse_loss(
        theirs, torch.from_numpy(target), reduction=reduction
    )
    assert_close(loss, their_loss.detach().numpy(), rtol=1e-12)
    loss.sum().backward()
    their_loss.sum().backward()
    assert_close(ours.grad, theirs.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_layers_match_pytorch_values_and_gradients():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((3, 4, 5))
    ours_norm, their_norm = nn.LayerNorm(5, dtype=F64), torch.nn.LayerNorm(5).double()
    ours_table, their_table = (
        nn.Embedding(7, 5, dtype=F64),
        torch.nn.Embedding(7, 5).double(),
    )
    their_table.load_state_dict({"weight": torch.from_numpy(values(ours_table.weight))})
    indices = np.array([[1, 6, 1, 0], [2, 2, 3, 4], [5, 0, 0, 6]])
    ours_x = tg.tensor(x, requires_grad=True)
    their_x = torch.tensor(x, requires_grad=True)

    def ours_fn(t):
        mixed = ours_norm(t) + ours_table(indices)
        return F.gelu(mixed, "tanh") + F.gelu(mixed)

    def their_fn(t):
        mixed = their_norm(t) + their_table(torch.from_numpy(indices))
        gelu = torch.nn.functional.gelu
        return gelu(mixed, approximate="tanh") + gelu(mixed)

    out, their_out = ours_fn(ours_x), their_fn(their_x)
    assert_close(out, their_out.detach().numpy(), rtol=1e-12, atol=1e-14)
    cotangent = rng.standard_normal(x.shape)
    out.backward(tg.tensor(cotangent))
    their_out.backward(torch.from_numpy(cotangent))
    assert_close(ours_x.grad, their_x.grad.numpy(), rtol=1e-10, atol=1e-13)
    assert_close(
        ours_table.weight.grad, their_table.weight.grad.numpy(), rtol=1e-10, atol=1e-13
    )
    assert_close(
        ours_norm.weight.grad, their_norm.weight.grad.numpy(), rtol=1e-10, atol=1e-13
    )


def test_clip_grad_norm_matches_pytorch():
    ours, theirs = twin_mlps()
    F.cross_entropy(ours(tg.tensor(X)), Y).backward()
    torch.nn.functional.cross_entropy(
        theirs(torch.from_numpy(X)), torch.from_numpy(Y)
    ).backward()
    for norm_type in (2.0, math.inf, 1.0):
        total = nn.utils.clip_grad_norm_(ours.parameters(), 0.05, norm_type=norm_type)
        their_total = torch.nn.utils.clip_grad_norm_(
            theirs.parameters(), 0.05, norm_type=norm_type
        )
        assert_close(total, their_total.numpy(), rtol=1e-12)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert_close(a.grad, b.grad.numpy(), rtol=1e-12, atol=1e-15)
