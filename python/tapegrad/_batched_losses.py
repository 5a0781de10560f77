"""Losses under ``vmap`` whose fused kernels take constant (NumPy) targets: the same
formulas written with Tensor ops, which all have batching rules, so that the target may
be batched too (per-sample gradients with ``F.cross_entropy(logits, y)``)."""

from __future__ import annotations

from typing import Any

from ._batched import BatchedTensor

__all__ = ["cross_entropy"]


def cross_entropy(
    input: Any,
    target: Any,
    weight: Any,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
    class_dim: int,
) -> Any:
    """PyTorch's cross-entropy of logits: class indices (whole-number floats or ints,
    ``ignore_index`` masked, the mean divided by the targets' total weight) or class
    probabilities (same shape as ``input``)."""
    import tapegrad as tg

    classes = input.shape[class_dim]
    logp = input.log_softmax(class_dim)
    along = [1] * input.ndim
    along[class_dim] = classes
    dtype = input.dtype
    wvec = 1.0 if weight is None else tg.tensor(weight, dtype=dtype).reshape(*along)
    if hasattr(target, "shape") and tuple(target.shape) == tuple(input.shape):
        probs = target * (1.0 - label_smoothing) + label_smoothing / classes
        elem = -(logp * probs * wvec).sum(class_dim)
        if reduction == "none":
            return elem
        return elem.sum() if reduction == "sum" else elem.sum() / (elem.numel() or 1)
    if not isinstance(target, (tg.Tensor, BatchedTensor)):  # a list or NumPy array
        target = tg.tensor(target, dtype=dtype)
    labels = target.unsqueeze(class_dim)
    onehot = (labels == tg.arange(classes, dtype=dtype).reshape(*along)).to(dtype)
    keep = (target != ignore_index).to(dtype)
    nll = -(logp * onehot * wvec).sum(class_dim)
    smooth = -(logp * wvec).sum(class_dim) / classes
    elem = ((1.0 - label_smoothing) * nll + label_smoothing * smooth) * keep
    if reduction == "none":
        return elem
    if reduction == "sum":
        return elem.sum()
    return elem.sum() / ((onehot * wvec).sum(class_dim) * keep).sum()
