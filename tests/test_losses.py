"""The losses beyond cross-entropy/MSE, and F.cosine_similarity/pairwise_distance: values
against NumPy references for every reduction, float64 gradchecks, modules, errors, and
PyTorch parity (values and gradients) when torch is installed."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import tapegrad as tg
from helpers import assert_close, raises
from tapegrad import nn
from tapegrad.nn import functional as F
from tapegrad.testing import gradcheck

RNG = np.random.default_rng(11)


def away_from(values, kinks, gap=0.05):
    """Moves values within ``gap`` of a kink away from it (finite differences)."""
    values = values.copy()
    for kink in kinks:
        close = np.abs(values - kink) < gap
        values[close] = kink + np.where(values[close] >= kink, gap, -gap)
    return values


def log_sigmoid(x):
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


X = RNG.standard_normal((4, 3))
Y = RNG.standard_normal((4, 3))
DIFF = away_from(X - Y, [-1.0, -0.7, -0.5, 0.0, 0.5, 0.7, 1.0])
PROB = RNG.uniform(0.05, 0.95, (4, 3))
TARGET01 = RNG.uniform(0, 1, (4, 3))
LABELS01 = (RNG.uniform(size=(4, 3)) > 0.5).astype(float)
SIGNS = np.where(RNG.uniform(size=(4, 3)) > 0.5, 1.0, -1.0)
LOGP = np.log(RNG.dirichlet(np.ones(3), 4))
TARGET_P = RNG.dirichlet(np.ones(3), 4)
TARGET_P[0] = [0.0, 0.3, 0.7]  # a zero target probability
COUNTS = np.array([[0.0, 1.0, 3.0], [2.0, 5.0, 0.0], [1.0, 1.0, 4.0], [7.0, 0.0, 2.0]])
VAR = RNG.uniform(0.5, 2.0, (4, 3))
W3 = np.array([0.5, 1.0, 2.0])
V1, V2, V3 = (RNG.standard_normal((5, 4)) for _ in range(3))
S5 = np.array([1.0, -1.0, -1.0, 1.0, -1.0])
R1 = RNG.standard_normal(5)
R2 = R1 - away_from(R1 - RNG.standard_normal(5) - 0.3 * S5, [0.0]) * S5 - 0.3 * S5
SCORES = RNG.standard_normal((4, 5))
CLASSES = np.array([0.0, 3.0, 4.0, 3.0])


def ref_smooth_l1(d, beta):
    return np.where(np.abs(d) < beta, 0.5 * d * d / beta, np.abs(d) - 0.5 * beta)


def ref_gaussian(mu, y, var, full=False):
    loss = 0.5 * (np.log(var) + (mu - y) ** 2 / var)
    return loss + 0.5 * math.log(2 * math.pi) if full else loss


def ref_pdist(a, b, p=2.0, eps=1e-6):
    return (np.abs(a - b + eps) ** p).sum(-1) ** (1 / p)


def ref_cos(a, b):
    return (a * b).sum(-1) / np.sqrt(
        ((a * a).sum(-1) + 1e-12) * ((b * b).sum(-1) + 1e-12)
    )


def ref_multi_margin(x, y, p, margin, weight):
    y = y.astype(int)
    chosen = x[np.arange(len(y)), y][:, None]
    hinge = np.maximum(0, margin - chosen + x) ** p
    hinge[np.arange(len(y)), y] = 0
    return hinge.sum(1) / x.shape[1] * (1 if weight is None else weight[y])


def ref_poisson_full(x, y):
    stirling = (
        y * np.log(np.where(y > 1, y, 1))
        - y
        + 0.5 * np.log(2 * np.pi * np.where(y > 1, y, 1))
    )
    return np.exp(x) - y * x + np.where(y > 1, stirling, 0)


# (id, function name, arguments (arrays; the first `grads` are differentiated),
#  grads, keyword options, NumPy reference of the unreduced loss)
CASES = [
    ("l1", "l1_loss", [Y + DIFF, Y], 1, {}, lambda x, y: np.abs(x - y)),
    ("smooth_l1", "smooth_l1_loss", [Y + DIFF, Y], 1, {"beta": 0.5},
     lambda x, y: ref_smooth_l1(x - y, 0.5)),
    ("smooth_l1_beta0", "smooth_l1_loss", [Y + DIFF, Y], 1, {"beta": 0.0},
     lambda x, y: np.abs(x - y)),
    ("huber", "huber_loss", [Y + DIFF, Y], 2, {"delta": 0.7},
     lambda x, y: 0.7 * ref_smooth_l1(x - y, 0.7)),
    ("bce", "binary_cross_entropy", [PROB, TARGET01], 2, {"weight": W3},
     lambda x, y: -(y * np.log(x) + (1 - y) * np.log(1 - x)) * W3),
    ("kl_div", "kl_div", [LOGP, TARGET_P], 1, {},
     lambda x, t: np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0) - t * x),
    ("kl_div_log_target", "kl_div", [LOGP, np.log(TARGET_P + 0.1)], 2,
     {"log_target": True}, lambda x, t: np.exp(t) * (t - x)),
    ("poisson", "poisson_nll_loss", [X, COUNTS], 1, {},
     lambda x, y: np.exp(x) - y * x),
    ("poisson_full", "poisson_nll_loss", [X, COUNTS], 1, {"full": True},
     ref_poisson_full),
    ("poisson_rates", "poisson_nll_loss", [PROB * 3, COUNTS], 1, {"log_input": False},
     lambda x, y: x - y * np.log(x + 1e-8)),
    ("gaussian", "gaussian_nll_loss", [X, Y, VAR], 3, {}, ref_gaussian),
    ("gaussian_shared_var", "gaussian_nll_loss", [X, Y, VAR[:, :1]], 3, {"full": True},
     lambda x, y, v: ref_gaussian(x, y, v, True)),
    ("gaussian_dropped_dim", "gaussian_nll_loss", [X, Y, VAR[:, 0]], 2, {},
     lambda x, y, v: ref_gaussian(x, y, v[:, None])),
    ("soft_margin", "soft_margin_loss", [X * 3, SIGNS], 1, {},
     lambda x, y: np.log1p(np.exp(-y * x))),
    ("multilabel_soft_margin", "multilabel_soft_margin_loss", [X * 2, LABELS01], 1,
     {"weight": W3},
     lambda x, y: (-(y * log_sigmoid(x) + (1 - y) * log_sigmoid(-x)) * W3).mean(1)),
    ("multi_margin", "multi_margin_loss", [SCORES, CLASSES], 1, {},
     lambda x, y: ref_multi_margin(x, y, 1, 1.0, None)),
    ("multi_margin_p2", "multi_margin_loss", [SCORES, CLASSES], 1,
     {"p": 2, "margin": 0.5, "weight": np.array([1.0, 2.0, 0.5, 1.5, 1.0])},
     lambda x, y: ref_multi_margin(x, y, 2, 0.5, np.array([1.0, 2.0, 0.5, 1.5, 1.0]))),
    ("margin_ranking", "margin_ranking_loss", [R1, R2, S5], 2, {"margin": 0.3},
     lambda a, b, y: np.maximum(0, -y * (a - b) + 0.3)),
    ("hinge_embedding", "hinge_embedding_loss", [away_from(X, [1.0]), SIGNS], 1, {},
     lambda x, y: np.where(y == 1, x, np.maximum(0, 1 - x))),
    ("cosine_embedding", "cosine_embedding_loss", [V1, V2, S5], 2, {"margin": -0.9},
     lambda a, b, y: np.where(y == 1, 1 - ref_cos(a, b), np.maximum(0, ref_cos(a, b) + 0.9))),
    ("triplet", "triplet_margin_loss", [V1, V2, V3], 3, {"margin": 2.0},
     lambda a, p, n: np.maximum(ref_pdist(a, p) - ref_pdist(a, n) + 2.0, 0)),
    ("triplet_swap_p1", "triplet_margin_loss", [V1, V2, V3], 3,
     {"margin": 3.0, "p": 1.0, "swap": True},
     lambda a, p, n: np.maximum(
         ref_pdist(a, p, 1) - np.minimum(ref_pdist(a, n, 1), ref_pdist(p, n, 1)) + 3.0, 0)),
]  # fmt: skip


def call(name, arrays, grads, options, reduction, lib=tg):
    inputs = [
        lib.tensor(a, requires_grad=k < grads) if lib is tg else _torch(a, k < grads)
        for k, a in enumerate(arrays)
    ]
    if lib is not tg:
        options = {
            key: lib.tensor(v) if isinstance(v, np.ndarray) else v
            for key, v in options.items()
        }
        if name == "multi_margin_loss":
            inputs[1] = inputs[1].long()
    functional = F if lib is tg else lib.nn.functional
    return inputs, getattr(functional, name)(*inputs, reduction=reduction, **options)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize(
    ("name", "arrays", "grads", "options", "reference"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_values_match_the_numpy_reference(
    name, arrays, grads, options, reference, reduction
):
    _, loss = call(name, arrays, grads, options, reduction)
    expected = reference(*arrays)
    expected = {"none": expected, "mean": np.mean(expected), "sum": np.sum(expected)}
    assert_close(loss, expected[reduction], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("name", "arrays", "grads", "options"),
    [case[1:5] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_gradcheck_in_float64(name, arrays, grads, options):
    inputs = [tg.tensor(a, requires_grad=k < grads) for k, a in enumerate(arrays)]
    fn = getattr(F, name)
    assert gradcheck(lambda *xs: fn(*xs, reduction="none", **options), inputs)


def test_distances_values_and_gradients():
    a, b = tg.tensor(V1, requires_grad=True), tg.tensor(V2, requires_grad=True)
    for p in (1.0, 2.0, 3.0):
        assert_close(F.pairwise_distance(a, b, p), ref_pdist(V1, V2, p), rtol=1e-12)
        assert gradcheck(lambda x, y, p=p: F.pairwise_distance(x, y, p), [a, b])
    assert_close(F.pairwise_distance(a, b, math.inf), np.abs(V1 - V2 + 1e-6).max(-1))
    assert F.pairwise_distance(a, b, keepdim=True).shape == (5, 1)
    norms = np.linalg.norm(V1, axis=1) * np.linalg.norm(V2, axis=1)
    assert_close(F.cosine_similarity(a, b), (V1 * V2).sum(1) / norms, rtol=1e-12)
    assert_close(
        F.cosine_similarity(a, b, dim=0),
        (V1 * V2).sum(0) / (np.linalg.norm(V1, axis=0) * np.linalg.norm(V2, axis=0)),
        rtol=1e-12,
    )
    assert gradcheck(lambda x, y: F.cosine_similarity(x, y), [a, b])
    row = tg.tensor(V2[:1], requires_grad=True)  # broadcast against (5, 4)
    assert F.cosine_similarity(a, row).shape == (5,)
    zero = tg.zeros(1, 4, dtype=tg.float64)
    assert_close(F.cosine_similarity(a, zero), np.zeros(5))  # eps keeps it finite


def test_modules_hold_their_options():
    x, y = tg.tensor(Y + DIFF), tg.tensor(Y)
    assert_close(nn.L1Loss(reduction="sum")(x, y), np.abs(DIFF).sum())
    assert_close(nn.SmoothL1Loss(beta=0.5)(x, y), ref_smooth_l1(DIFF, 0.5).mean())
    assert_close(nn.HuberLoss(delta=0.7)(x, y), 0.7 * ref_smooth_l1(DIFF, 0.7).mean())
    bce = nn.BCELoss(weight=tg.tensor(W3))
    assert "weight" in bce.state_dict()
    assert_close(
        bce(tg.tensor(PROB), TARGET01),
        F.binary_cross_entropy(tg.tensor(PROB), TARGET01, W3),
    )
    kl = nn.KLDivLoss(reduction="batchmean", log_target=False)
    expected = np.where(
        TARGET_P > 0, TARGET_P * np.log(np.where(TARGET_P > 0, TARGET_P, 1)), 0
    )
    assert_close(kl(tg.tensor(LOGP), TARGET_P), (expected - TARGET_P * LOGP).sum() / 4)
    assert_close(
        nn.PoissonNLLLoss(full=True)(tg.tensor(X), COUNTS),
        ref_poisson_full(X, COUNTS).mean(),
    )
    assert_close(
        nn.GaussianNLLLoss(full=True)(tg.tensor(X), Y, tg.tensor(VAR)),
        ref_gaussian(X, Y, VAR, True).mean(),
    )
    assert_close(
        nn.SoftMarginLoss()(tg.tensor(X), SIGNS), np.log1p(np.exp(-SIGNS * X)).mean()
    )
    assert_close(
        nn.MultiLabelSoftMarginLoss()(tg.tensor(X), LABELS01),
        F.multilabel_soft_margin_loss(tg.tensor(X), LABELS01),
    )
    assert_close(
        nn.MultiMarginLoss(p=2, margin=0.5)(tg.tensor(SCORES), CLASSES),
        ref_multi_margin(SCORES, CLASSES, 2, 0.5, None).mean(),
    )
    assert_close(
        nn.MarginRankingLoss(0.3)(tg.tensor(R1), tg.tensor(R2), S5),
        np.maximum(0, -S5 * (R1 - R2) + 0.3).mean(),
    )
    assert_close(
        nn.HingeEmbeddingLoss(margin=2.0)(tg.tensor(X), SIGNS),
        np.where(SIGNS == 1, X, np.maximum(0, 2 - X)).mean(),
    )
    assert_close(
        nn.CosineEmbeddingLoss()(tg.tensor(V1), tg.tensor(V2), S5),
        np.where(S5 == 1, 1 - ref_cos(V1, V2), np.maximum(0, ref_cos(V1, V2))).mean(),
    )
    triplet = nn.TripletMarginLoss(margin=2.0, reduction="sum")
    assert_close(
        triplet(tg.tensor(V1), tg.tensor(V2), tg.tensor(V3)),
        np.maximum(ref_pdist(V1, V2) - ref_pdist(V1, V3) + 2.0, 0).sum(),
    )
    assert repr(nn.HuberLoss(reduction="sum")) == "HuberLoss(reduction='sum')"
    # one sample: (D,) inputs with a 0-d target, (C,) scores with a 0-d label
    one = nn.CosineEmbeddingLoss()(tg.tensor(V1[0]), tg.tensor(V2[0]), tg.tensor(1.0))
    assert_close(one, 1 - ref_cos(V1[:1], V2[:1])[0])
    assert_close(
        nn.MultiMarginLoss()(tg.tensor(SCORES[1]), 3),
        ref_multi_margin(SCORES[1:2], CLASSES[1:2], 1, 1.0, None)[0],
    )


def test_bce_at_zero_and_one_is_finite_like_pytorch():
    x = tg.tensor([0.0, 1.0, 0.5], dtype=tg.float64, requires_grad=True)
    loss = F.binary_cross_entropy(x, [1.0, 0.0, 1.0], reduction="none")
    assert_close(loss, [100.0, 100.0, math.log(2)])
    loss.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize(
    ("make", "error", "fragments"),
    [
        (lambda: F.l1_loss(tg.zeros(2, 3), tg.zeros(3)), tg.ShapeError, ("(3,)", "(2, 3)")),
        (lambda: F.huber_loss(tg.zeros(2), tg.zeros(2), reduction="avg"), ValueError, ("reduction", "'avg'")),
        (lambda: F.smooth_l1_loss(tg.zeros(2), tg.zeros(2), beta=-1.0), ValueError, ("non-negative",)),
        (lambda: F.binary_cross_entropy(tg.tensor([1.5]), [1.0]), ValueError, ("between 0 and 1",)),
        (lambda: F.kl_div(tg.zeros(2), tg.zeros(2), reduction="batch"), ValueError, ("batchmean",)),
        (lambda: F.gaussian_nll_loss(tg.zeros(2, 3), tg.zeros(2, 3), tg.ones(3)), tg.ShapeError, ("var of shape (3,)",)),
        (lambda: F.gaussian_nll_loss(tg.zeros(2), tg.zeros(2), -tg.ones(2)), ValueError, ("negative",)),
        (lambda: F.multi_margin_loss(tg.zeros(2, 3), [0, 3]), tg.AxisError, ("0..2", "3")),
        (lambda: F.multi_margin_loss(tg.zeros(2, 3), [0]), tg.ShapeError, ("(1,)", "(2,)")),
        (lambda: F.multi_margin_loss(tg.zeros(2, 3), [0, 1], p=3), ValueError, ("p = 1 and p = 2",)),
        (lambda: F.margin_ranking_loss(tg.zeros(2), tg.zeros(3), [1.0, 1.0]), tg.ShapeError, ("(2,)", "(3,)")),
        (lambda: F.cosine_embedding_loss(tg.zeros(2, 3), tg.zeros(2, 3), [1.0]), tg.ShapeError, ("expected (2,)",)),
        (lambda: F.triplet_margin_loss(tg.zeros(2, 3), tg.zeros(2, 3), tg.zeros(2, 4)), tg.ShapeError, ("(2, 4)",)),
        (lambda: F.pairwise_distance(tg.zeros(2), tg.zeros(2), p=0), ValueError, ("positive",)),
        (lambda: nn.KLDivLoss(reduction="avg"), ValueError, ("batchmean",)),
    ],
)  # fmt: skip
def test_bad_inputs_are_refused(make, error, fragments):
    with raises(error, *fragments):
        make()


# ---- PyTorch parity


def _torch(array, requires_grad):
    torch = pytest.importorskip("torch")
    return torch.tensor(array, dtype=torch.float64, requires_grad=requires_grad)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize(
    ("name", "arrays", "grads", "options"),
    [case[1:5] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_values_and_gradients_match_pytorch(name, arrays, grads, options, reduction):
    torch = pytest.importorskip("torch")
    ours, loss = call(name, arrays, grads, options, reduction)
    with warnings.catch_warnings():  # kl_div's "mean" is deprecated in torch
        warnings.simplefilter("ignore", UserWarning)
        theirs, their_loss = call(name, arrays, grads, options, reduction, lib=torch)
    assert_close(loss, their_loss.detach().numpy(), rtol=1e-12, atol=1e-14)
    seed = RNG.standard_normal(tuple(loss.shape))
    (loss * tg.tensor(seed)).sum().backward()
    (their_loss * torch.tensor(seed)).sum().backward()
    for k in range(grads):
        assert_close(ours[k].grad, theirs[k].grad.numpy(), rtol=1e-10, atol=1e-13)


def test_distances_match_pytorch():
    torch = pytest.importorskip("torch")
    for p in (1.0, 2.0, 3.0, math.inf):
        a, b = tg.tensor(V1, requires_grad=True), tg.tensor(V2, requires_grad=True)
        ta, tb = _torch(V1, True), _torch(V2, True)
        ours = F.pairwise_distance(a, b, p)
        theirs = torch.nn.functional.pairwise_distance(ta, tb, p)
        assert_close(ours, theirs.detach().numpy(), rtol=1e-12)
        ours.sum().backward()
        theirs.sum().backward()
        assert_close(a.grad, ta.grad.numpy(), rtol=1e-10)
    for dim, other in ((1, V2), (0, V2), (1, V2[:1]), (1, np.zeros((1, 4)))):
        a, b = tg.tensor(V1, requires_grad=True), tg.tensor(other, requires_grad=True)
        ta, tb = _torch(V1, True), _torch(other, True)
        ours = F.cosine_similarity(a, b, dim=dim)
        theirs = torch.nn.functional.cosine_similarity(ta, tb, dim=dim)
        assert_close(ours, theirs.detach().numpy(), rtol=1e-12)
        ours.sum().backward()
        theirs.sum().backward()
        assert_close(a.grad, ta.grad.numpy(), rtol=1e-10, atol=1e-14)
        assert_close(b.grad, tb.grad.numpy(), rtol=1e-10, atol=1e-14)
