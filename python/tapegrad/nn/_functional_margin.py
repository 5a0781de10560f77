"""Margin and embedding losses, and the distances they use, as functions
(re-exported by ``tapegrad.nn.functional``; the loss modules are in ``loss.py``).

Targets of ±1 and class indices are float tensors (or arrays and lists) for now:
tapegrad has no integer tensors.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad._errors import ArgumentError, AxisError, ShapeError

from ._functional_classification import (
    _as_target,
    _as_tensor,
    _check_reduction,
    _class_weights,
    _reduce,
    as_class_indices,
    log_sigmoid,
)

__all__ = [
    "cosine_embedding_loss",
    "cosine_similarity",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_soft_margin_loss",
    "pairwise_distance",
    "soft_margin_loss",
    "triplet_margin_loss",
]


def _norm_passing_gradient(norm: tg.Tensor, eps: float) -> tg.Tensor:
    """``max(norm, eps)`` in value, with the gradient of ``norm`` (PyTorch clamps in
    place under ``no_grad``)."""
    return norm + (norm.detach().clamp(min=eps) - norm.detach())


def _norm(x: tg.Tensor, dim: int) -> tg.Tensor:
    """The 2-norm along ``dim`` (kept), with a zero gradient at a zero vector as
    PyTorch's ``vector_norm`` (the square root's would be infinite)."""
    square = (x * x).sum(dim, keepdim=True)
    positive = square > 0.0
    return tg.where(positive, tg.where(positive, square, 1.0).sqrt(), 0.0)


def cosine_similarity(
    x1: tg.Tensor, x2: tg.Tensor, dim: int = 1, eps: float = 1e-8
) -> tg.Tensor:
    """``x1 · x2 / (max(‖x1‖, eps) · max(‖x2‖, eps))`` along ``dim``, broadcasting the
    two inputs."""
    norm1 = _norm_passing_gradient(_norm(x1, dim), eps)
    norm2 = _norm_passing_gradient(_norm(x2, dim), eps)
    return ((x1 / norm1) * (x2 / norm2)).sum(dim)


def _p_norm(values: tg.Tensor, p: float, dim: int, keepdim: bool) -> tg.Tensor:
    if math.isinf(p) and p > 0:
        return values.abs().amax(dim, keepdim=keepdim)
    if p == 2.0:
        return (values * values).sum(dim, keepdim=keepdim).sqrt()
    if p == 1.0:
        return values.abs().sum(dim, keepdim=keepdim)
    return (values.abs() ** p).sum(dim, keepdim=keepdim) ** (1.0 / p)


def pairwise_distance(
    x1: tg.Tensor,
    x2: tg.Tensor,
    p: float = 2.0,
    eps: float = 1e-6,
    keepdim: bool = False,
) -> tg.Tensor:
    """The p-norm of ``x1 - x2 + eps`` along the last dimension.

    Raises:
        ArgumentError: If ``p`` is not positive.
    """
    if not p > 0:
        raise ArgumentError(f"pairwise_distance: p must be positive, got {p}")
    diff = x1 - x2 + eps
    return _p_norm(diff, p, -1, keepdim)


def soft_margin_loss(
    input: tg.Tensor, target: Any, reduction: str = "mean"
) -> tg.Tensor:
    """Two-class logistic loss ``log(1 + exp(-y x))`` for targets ``y`` of ±1."""
    _check_reduction(reduction, "soft_margin_loss")
    target = _as_target(target, input, "soft_margin_loss")
    return _reduce(-log_sigmoid(target * input), reduction)


def multilabel_soft_margin_loss(
    input: tg.Tensor, target: Any, weight: Any = None, reduction: str = "mean"
) -> tg.Tensor:
    """Per-class logistic loss against 0/1 targets of shape (N, C), averaged over the
    C classes: ``-(y log σ(x) + (1 - y) log σ(-x))``, times ``weight`` per class."""
    _check_reduction(reduction, "multilabel_soft_margin_loss")
    target = _as_target(target, input, "multilabel_soft_margin_loss")
    loss = -(target * log_sigmoid(input) + (1.0 - target) * log_sigmoid(-input))
    if weight is not None:
        loss = loss * _as_tensor(weight, input)
    classes = input.shape[-1] if input.ndim else 1
    return _reduce(
        loss.sum(input.ndim - 1) / classes if input.ndim else loss, reduction
    )


def multi_margin_loss(
    input: tg.Tensor,
    target: Any,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    reduction: str = "mean",
) -> tg.Tensor:
    """Multi-class hinge loss: for each sample with class ``y``,
    ``Σ_{i≠y} max(0, margin - x[y] + x[i])^p / C`` (times ``weight[y]``).

    Args:
        input: Scores of shape (N, C) or (C,).
        target: Class indices of shape (N,) or () (integer arrays or lists, or float
            tensors of whole numbers).
        p: 1 or 2.
        margin: The margin.
        weight: Optional per-class weights, shape (C,).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
    """
    _check_reduction(reduction, "multi_margin_loss")
    if p not in (1, 2):
        raise ArgumentError(
            f"multi_margin_loss: only p = 1 and p = 2 are supported, got {p}"
        )
    if input.ndim not in (1, 2):
        raise ShapeError(
            f"multi_margin_loss: input must be (C,) or (N, C), got {tuple(input.shape)}"
        )
    classes = input.shape[-1]
    labels = as_class_indices(target, "multi_margin_loss")
    if labels.shape != tuple(input.shape[:-1]):
        raise ShapeError(
            f"multi_margin_loss: target shape {tuple(labels.shape)} does not fit input shape "
            f"{tuple(input.shape)}: class labels need shape {tuple(input.shape[:-1])}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise AxisError(
            f"multi_margin_loss: target labels must be in 0..{classes - 1}, got "
            f"{sorted({int(v) for v in labels.reshape(-1)})[:5]}"
        )
    one_hot = np.eye(classes)[labels]
    mask = tg.tensor(one_hot, dtype=input.dtype)
    chosen = (input * mask).sum(-1, keepdim=True)
    hinge = (margin - chosen + input).relu()
    if p == 2:
        hinge = hinge * hinge
    loss = (hinge * (1.0 - mask)).sum(-1) / classes
    weights = _class_weights(weight, classes, "multi_margin_loss")
    if weights is not None:
        loss = loss * tg.tensor(weights[labels], dtype=input.dtype)
    return _reduce(loss, reduction)


def _pair_target(
    target: Any, like: tg.Tensor, shape: tuple[int, ...], caller: str
) -> tg.Tensor:
    target = _as_tensor(target, like)
    if tuple(target.shape) != shape:
        raise ShapeError(
            f"{caller}: target of shape {tuple(target.shape)} does not fit the inputs: "
            f"expected {shape}"
        )
    return target


def margin_ranking_loss(
    input1: tg.Tensor,
    input2: tg.Tensor,
    target: Any,
    margin: float = 0.0,
    reduction: str = "mean",
) -> tg.Tensor:
    """``max(0, -y (x1 - x2) + margin)``: ``y = 1`` ranks ``x1`` first, ``-1`` ``x2``."""
    _check_reduction(reduction, "margin_ranking_loss")
    if tuple(input1.shape) != tuple(input2.shape):
        raise ShapeError(
            f"margin_ranking_loss: input1 {tuple(input1.shape)} and input2 "
            f"{tuple(input2.shape)} differ in shape"
        )
    target = _pair_target(target, input1, tuple(input1.shape), "margin_ranking_loss")
    return _reduce((-target * (input1 - input2) + margin).relu(), reduction)


def hinge_embedding_loss(
    input: tg.Tensor, target: Any, margin: float = 1.0, reduction: str = "mean"
) -> tg.Tensor:
    """``x`` where ``y = 1``, ``max(0, margin - x)`` where ``y = -1`` (PyTorch's
    form: both terms for targets that are neither)."""
    _check_reduction(reduction, "hinge_embedding_loss")
    target = _as_target(target, input, "hinge_embedding_loss")
    margin_term = tg.where(target != 1.0, (margin - input).relu(), 0.0)
    self_term = tg.where(target != -1.0, input, 0.0)
    return _reduce(margin_term + self_term, reduction)


def cosine_embedding_loss(
    input1: tg.Tensor,
    input2: tg.Tensor,
    target: Any,
    margin: float = 0.0,
    reduction: str = "mean",
) -> tg.Tensor:
    """``1 - cos(x1, x2)`` where ``y = 1``, ``max(0, cos(x1, x2) - margin)`` where
    ``y = -1``; inputs (N, D) with targets (N,), or (D,) with a 0-d target."""
    _check_reduction(reduction, "cosine_embedding_loss")
    if tuple(input1.shape) != tuple(input2.shape) or input1.ndim not in (1, 2):
        raise ShapeError(
            f"cosine_embedding_loss: inputs must share a shape (N, D) or (D,), got "
            f"{tuple(input1.shape)} and {tuple(input2.shape)}"
        )
    target = _pair_target(
        target, input1, tuple(input1.shape[:-1]), "cosine_embedding_loss"
    )
    dim = input1.ndim - 1
    tiny = 1e-12  # PyTorch's EPSILON, added to both squared norms
    product = (input1 * input2).sum(dim)
    squares = ((input1 * input1).sum(dim) + tiny) * ((input2 * input2).sum(dim) + tiny)
    cos = product / squares.sqrt()
    loss = tg.where(target == 1.0, 1.0 - cos, 0.0) + tg.where(
        target == -1.0, (cos - margin).relu(), 0.0
    )
    return _reduce(loss, reduction)


def triplet_margin_loss(
    anchor: tg.Tensor,
    positive: tg.Tensor,
    negative: tg.Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: str = "mean",
) -> tg.Tensor:
    """``max(d(a, p) - d(a, n) + margin, 0)`` with ``d`` the ``pairwise_distance``;
    ``swap`` uses ``min(d(a, n), d(p, n))`` for the negative distance."""
    _check_reduction(reduction, "triplet_margin_loss")
    shapes = {tuple(t.shape) for t in (anchor, positive, negative)}
    if len(shapes) != 1 or anchor.ndim not in (1, 2):
        raise ShapeError(
            f"triplet_margin_loss: anchor, positive and negative must share a shape "
            f"(N, D) or (D,), got {sorted(shapes)}"
        )
    positive_distance = pairwise_distance(anchor, positive, p, eps)
    negative_distance = pairwise_distance(anchor, negative, p, eps)
    if swap:
        negative_distance = negative_distance.minimum(
            pairwise_distance(positive, negative, p, eps)
        )
    return _reduce((positive_distance - negative_distance + margin).relu(), reduction)
