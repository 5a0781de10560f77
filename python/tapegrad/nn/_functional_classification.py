"""Classification losses as functions (re-exported by ``tapegrad.nn.functional``; their
modules are in ``loss.py``), and label checking.

tapegrad has no integer tensors: class labels arrive as integer NumPy arrays, lists, or
float tensors holding whole numbers, and become constant masks over the logits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad import _native
from tapegrad import _batched_losses
from tapegrad._batched import BatchedTensor, unwrap_tensor
from tapegrad._errors import ArgumentError, AxisError, DTypeError, ShapeError

__all__ = [
    "as_class_indices",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "log_sigmoid",
    "mse_loss",
    "nll_loss",
]

_REDUCTIONS = ("mean", "sum", "none")


def as_class_indices(data: Any, caller: str, what: str = "target") -> np.ndarray:
    """Integer labels as an int64 NumPy array, refusing anything that is not whole.

    Accepts integer NumPy arrays, (nested) lists of ints, Python ints, and float
    tensors or arrays whose values are whole numbers.
    """
    if isinstance(data, tg.Tensor):
        data = data.detach().__array__(copy=True)
    array = np.asarray(data)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind != "f" or array.dtype.itemsize < 4:
        raise DTypeError(
            f"{caller}: {what} must hold integer class indices, got NumPy dtype "
            f"{array.dtype}"
        )
    whole = np.isfinite(array) & (np.floor(array) == array)
    if not whole.all():
        position = tuple(int(i) for i in np.argwhere(~whole)[0])
        raise ArgumentError(
            f"{caller}: {what} must hold integer class indices, but element "
            f"{position} is {array[position].item()!r}"
        )
    return array.astype(np.int64)


def _check_reduction(reduction: str, caller: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ArgumentError(
            f"{caller}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
        )


def _reduce(loss: tg.Tensor, reduction: str) -> tg.Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _as_target(target: Any, input: tg.Tensor, caller: str) -> tg.Tensor:
    """``target`` as a tensor of ``input``'s shape (no broadcasting, unlike PyTorch)."""
    if not isinstance(target, (tg.Tensor, BatchedTensor)):
        target = tg.tensor(target, dtype=input.dtype)
    if tuple(target.shape) != tuple(input.shape):
        raise ShapeError(
            f"{caller}: target shape {tuple(target.shape)} differs from input shape "
            f"{tuple(input.shape)}"
        )
    return target


def mse_loss(input: tg.Tensor, target: Any, reduction: str = "mean") -> tg.Tensor:
    """Squared error ``(input - target)²``, averaged (or summed, or kept elementwise)."""
    _check_reduction(reduction, "mse_loss")
    diff = input - _as_target(target, input, "mse_loss")
    return _reduce(diff * diff, reduction)


def log_sigmoid(input: tg.Tensor) -> tg.Tensor:
    """``log σ(x) = min(x, 0) - log(1 + exp(-|x|))``, stable for any ``x``."""
    return input.minimum(0.0) - (-input.abs()).exp().log1p()


def binary_cross_entropy(
    input: tg.Tensor, target: Any, weight: Any = None, reduction: str = "mean"
) -> tg.Tensor:
    """Binary cross-entropy of probabilities ``input`` against ``target``:
    ``-(y log x + (1 - y) log(1 - x))``, times ``weight``, with each log clamped to at
    least -100 (as PyTorch, so that 0 and 1 give finite losses).

    Prefer ``binary_cross_entropy_with_logits`` on logits: it is stable.

    Raises:
        ArgumentError: If an input is outside [0, 1].
    """
    _check_reduction(reduction, "binary_cross_entropy")
    target = _as_target(target, input, "binary_cross_entropy")
    # Under vmap, every example's values (a range check, the same for the whole batch).
    probabilities = unwrap_tensor(input).detach().__array__(copy=True)
    if ((probabilities < 0) | (probabilities > 1)).any():
        raise ArgumentError(
            "binary_cross_entropy: all elements of input should be between 0 and 1"
        )
    loss = -(target * _clamped_log(input) + (1.0 - target) * _clamped_log(1.0 - input))
    if weight is not None:
        loss = loss * _as_tensor(weight, input)
    return _reduce(loss, reduction)


def _clamped_log(x: tg.Tensor) -> tg.Tensor:
    """``max(log x, -100)``, with a zero (not NaN) gradient where ``x`` is 0."""
    floor = math.exp(-100.0)
    above = x > floor
    return tg.where(above, tg.where(above, x, 1.0).log(), -100.0)


def binary_cross_entropy_with_logits(
    input: tg.Tensor,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> tg.Tensor:
    """Binary cross-entropy of ``sigmoid(input)`` against ``target``, computed stably.

    ``loss = (1 - y) x - (1 + (pos_weight - 1) y) log σ(x)``, times ``weight``.

    Args:
        input: Logits.
        target: Probabilities in [0, 1], of ``input``'s shape.
        weight: Optional weight broadcast over the elements.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        pos_weight: Optional weight of positive examples, broadcast over the last
            dimension.
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    target = _as_target(target, input, "binary_cross_entropy_with_logits")
    if pos_weight is None:
        loss = (1.0 - target) * input - log_sigmoid(input)
    else:
        log_weight = (_as_tensor(pos_weight, input) - 1.0) * target + 1.0
        loss = (1.0 - target) * input - log_weight * log_sigmoid(input)
    if weight is not None:
        loss = loss * _as_tensor(weight, input)
    return _reduce(loss, reduction)


def _as_tensor(value: Any, like: tg.Tensor) -> Any:
    """``value``, a tensor (vmap's batched one too), or ``value`` made one."""
    if isinstance(value, (tg.Tensor, BatchedTensor)):
        return value
    return tg.tensor(value, dtype=like.dtype)


def _class_dim(input: tg.Tensor, caller: str) -> int:
    if input.ndim == 0:
        raise ShapeError(
            f"{caller}: input must have a class dimension, got a 0-d tensor"
        )
    return 0 if input.ndim == 1 else 1


def _class_weights(weight: Any, classes: int, caller: str) -> np.ndarray | None:
    if weight is None:
        return None
    values = np.asarray(weight.detach() if isinstance(weight, tg.Tensor) else weight)
    if values.shape != (classes,):
        raise ShapeError(
            f"{caller}: weight must have one entry per class, shape ({classes},), "
            f"got {tuple(values.shape)}"
        )
    return values.astype(np.float64)


def _checked_labels(
    input: tg.Tensor, target: Any, ignore_index: int, caller: str
) -> tuple[np.ndarray, np.ndarray]:
    """Checks the labels against ``input``; returns (labels with ignored ones as 0, valid).

    Both have ``input``'s shape without the class dimension (dimension 1, or 0 for a
    1-D input).
    """
    class_dim = _class_dim(input, caller)
    classes = input.shape[class_dim]
    labels = as_class_indices(target, caller)
    expected = tuple(input.shape[:class_dim] + input.shape[class_dim + 1 :])
    if labels.shape != expected:
        raise ShapeError(
            f"{caller}: target shape {tuple(labels.shape)} does not fit input shape "
            f"{tuple(input.shape)}: class labels need shape {expected}"
        )
    valid = labels != ignore_index
    out_of_range = valid & ((labels < 0) | (labels >= classes))
    if out_of_range.any():
        bad = sorted({int(v) for v in labels[out_of_range]})[:5]
        raise AxisError(
            f"{caller}: target labels {bad} are out of range for {classes} classes "
            f"(valid labels are 0..{classes - 1}, or ignore_index={ignore_index})"
        )
    return np.where(valid, labels, 0), valid


def _label_masks(
    input: tg.Tensor,
    target: Any,
    weight: np.ndarray | None,
    ignore_index: int,
    caller: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checks the labels; returns (one-hot × weight, valid mask, per-sample weight).

    The one-hot mask has ``input``'s shape, with the classes along dimension 1 (or 0
    for a 1-D input); ignored samples get an all-zero row and weight 0.
    """
    class_dim = _class_dim(input, caller)
    classes = input.shape[class_dim]
    safe, valid = _checked_labels(input, target, ignore_index, caller)
    class_weight = np.ones(classes) if weight is None else weight
    sample_weight = class_weight[safe] * valid
    one_hot = np.eye(classes)[safe] * sample_weight[..., None]
    return np.moveaxis(one_hot, -1, class_dim), valid, sample_weight


def nll_loss(
    input: tg.Tensor,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> tg.Tensor:
    """Negative log-likelihood of the target classes, given log-probabilities.

    Args:
        input: Log-probabilities, shape (C,), (N, C) or (N, C, d1, ...).
        target: Class indices of shape (), (N,) or (N, d1, ...) (see
            ``as_class_indices`` for the accepted types).
        weight: Optional per-class weights, shape (C,).
        ignore_index: Label that contributes nothing (and is not counted by "mean").
        reduction: ``"mean"`` (weighted by the samples' class weights), ``"sum"``
            or ``"none"``.
    """
    _check_reduction(reduction, "nll_loss")
    class_dim = _class_dim(input, "nll_loss")
    weights = _class_weights(weight, input.shape[class_dim], "nll_loss")
    mask, _, sample_weight = _label_masks(
        input, target, weights, ignore_index, "nll_loss"
    )
    loss = -(input * tg.tensor(mask, dtype=input.dtype)).sum(class_dim)
    if reduction == "mean":
        return loss.sum() / float(sample_weight.sum())
    return _reduce(loss, reduction)


def cross_entropy(
    input: tg.Tensor,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> tg.Tensor:
    """Cross-entropy of logits against class labels or class probabilities.

    A fused, numerically stable log-softmax followed by the negative log-likelihood,
    with PyTorch's semantics for ``weight``, ``ignore_index``, ``label_smoothing`` and
    each reduction.

    Args:
        input: Unnormalised logits, shape (C,), (N, C) or (N, C, d1, ...).
        target: Class indices of shape (), (N,) or (N, d1, ...): an integer NumPy
            array, a list of ints, or a float tensor of whole numbers. Or class
            probabilities: a float tensor or array of ``input``'s shape.
        weight: Optional per-class weights, shape (C,).
        ignore_index: Label that contributes nothing (class-index targets only).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        label_smoothing: Mixes the target with the uniform distribution, in [0, 1].

    Raises:
        ShapeError: If the target's shape does not fit the input's.
        AxisError: If a label is outside ``0..C-1`` (and is not ``ignore_index``).
        ArgumentError: If a label is not a whole number, or an option is invalid.
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ArgumentError(
            f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}"
        )
    class_dim = _class_dim(input, "cross_entropy")
    if isinstance(target, BatchedTensor) or isinstance(input, BatchedTensor):
        # Under vmap: the same formula written with batched ops (see _batched_losses).
        return _batched_losses.cross_entropy(
            input, target, weight, ignore_index, reduction, label_smoothing, class_dim
        )
    classes = input.shape[class_dim]
    weights = _class_weights(weight, classes, "cross_entropy")
    class_weight = np.ones(classes) if weights is None else weights
    # the class weights along the class dimension, broadcastable against ``input``
    share = np.expand_dims(class_weight, tuple(range(1, input.ndim - class_dim)))

    if _is_probability_target(target, input):
        probs = _as_tensor(target, input)
        if label_smoothing > 0.0:
            probs = probs * (1.0 - label_smoothing) + label_smoothing / classes
        if weights is not None:
            probs = probs * tg.tensor(share, dtype=input.dtype)
        if probs.requires_grad:  # the fused op treats its target as a constant
            loss = -(input.log_softmax(class_dim) * probs).sum(class_dim)
        else:
            loss = _fused_cross_entropy(input, class_dim, dense=probs.__array__(copy=True))
        return _reduce(loss, reduction)

    safe, valid = _checked_labels(input, target, ignore_index, "cross_entropy")
    sample_weight = class_weight[safe] * valid
    if label_smoothing == 0.0:
        loss = _fused_cross_entropy(input, class_dim, labels=(safe, sample_weight))
    else:
        one_hot = np.moveaxis(np.eye(classes)[safe], -1, class_dim)
        mixed = (1.0 - label_smoothing) * one_hot + label_smoothing / classes
        dense = mixed * share * np.expand_dims(valid, class_dim)
        loss = _fused_cross_entropy(input, class_dim, dense=dense)
    if reduction == "mean":
        return loss.sum() / float(sample_weight.sum())
    return _reduce(loss, reduction)


def _fused_cross_entropy(
    input: tg.Tensor,
    class_dim: int,
    labels: tuple[np.ndarray, np.ndarray] | None = None,
    dense: np.ndarray | None = None,
) -> tg.Tensor:
    """The native fused op on ``input`` with its classes moved last and rows flattened.

    ``labels`` is (class per sample, weight per sample); ``dense`` a constant target of
    ``input``'s shape. Returns one loss per sample: ``input``'s shape without the class
    dimension.
    """
    classes = input.shape[class_dim]
    batch_shape = tuple(input.shape[:class_dim] + input.shape[class_dim + 1 :])
    order = [d for d in range(input.ndim) if d != class_dim] + [class_dim]
    moved = input if order == list(range(input.ndim)) else input.permute(*order)
    # Reshapes only when needed: a same-shape reshape records an (identity) node.
    rows = moved if moved.ndim == 2 else moved.reshape(-1, classes)
    if labels is not None:
        safe, sample_weight = labels
        loss = _native._cross_entropy(
            rows,
            labels=np.ascontiguousarray(safe.reshape(-1), dtype=np.int64),
            weights=np.ascontiguousarray(sample_weight.reshape(-1), dtype=np.float64),
        )
    else:
        assert dense is not None
        target = np.moveaxis(dense, class_dim, -1).reshape(-1, classes)
        loss = _native._cross_entropy(rows, target=tg.tensor(target, dtype=input.dtype))
    return loss if tuple(loss.shape) == batch_shape else loss.reshape(batch_shape)


def _is_probability_target(target: Any, input: tg.Tensor) -> bool:
    """Class probabilities (``input``'s shape, floats) rather than class indices."""
    if isinstance(target, (tg.Tensor, BatchedTensor)):
        same_shape = tuple(target.shape) == tuple(input.shape)
        return target.is_floating_point() and same_shape
    if isinstance(target, np.ndarray):
        return target.dtype.kind == "f" and target.shape == tuple(input.shape)
    return False
