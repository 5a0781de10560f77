"""The layers and losses of ``tapegrad.nn`` as functions, as ``torch.nn.functional``.

Every function here is composed from tapegrad's differentiable primitives, so its
gradient (and, with ``create_graph=True``, its second derivative) comes for free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad._batched import BatchedTensor
from tapegrad import _native
from tapegrad._errors import ArgumentError, AxisError, DTypeError, ShapeError

from ._functional_classification import (
    as_class_indices,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    log_sigmoid,
    mse_loss,
    nll_loss,
)
from ._functional_margin import (
    cosine_embedding_loss,
    cosine_similarity,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_soft_margin_loss,
    pairwise_distance,
    soft_margin_loss,
    triplet_margin_loss,
)
from ._functional_regression import (
    gaussian_nll_loss,
    huber_loss,
    kl_div,
    l1_loss,
    poisson_nll_loss,
    smooth_l1_loss,
)

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cosine_similarity",
    "cross_entropy",
    "dropout",
    "embedding",
    "gaussian_nll_loss",
    "gelu",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "linear",
    "log_sigmoid",
    "log_softmax",
    "margin_ranking_loss",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "one_hot",
    "pairwise_distance",
    "poisson_nll_loss",
    "relu",
    "sigmoid",
    "smooth_l1_loss",
    "soft_margin_loss",
    "softmax",
    "tanh",
    "triplet_margin_loss",
]


def linear(
    input: tg.Tensor, weight: tg.Tensor, bias: tg.Tensor | None = None
) -> tg.Tensor:
    """``input @ weight.T + bias``, with ``weight`` of shape (out_features, in_features)."""
    if input.ndim == 0 or weight.ndim != 2 or input.shape[-1] != weight.shape[1]:
        raise ShapeError(
            f"linear: input {tuple(input.shape)} does not fit weight "
            f"{tuple(weight.shape)} (the input's last dimension must equal "
            f"in_features = weight.shape[1])"
        )
    # One recorded op: W's gradient comes back in W's own layout (no transposed view for
    # the optimiser to copy), and the step keeps one node instead of three.
    return _native._linear(input, weight, bias)


def relu(input: tg.Tensor, inplace: bool = False) -> tg.Tensor:
    """``max(input, 0)``; with ``inplace=True`` written into ``input`` (``relu_``)."""
    return input.relu_() if inplace else input.relu()


def tanh(input: tg.Tensor) -> tg.Tensor:
    """Hyperbolic tangent."""
    return input.tanh()


def sigmoid(input: tg.Tensor) -> tg.Tensor:
    """``1 / (1 + exp(-input))``."""
    return input.sigmoid()


def softmax(input: tg.Tensor, dim: int = -1, *, dtype: Any = None) -> tg.Tensor:
    """Softmax along ``dim``, computed in ``dtype`` when given (the input is cast
    first, as PyTorch's ``F.softmax(att, dim=-1, dtype=torch.float32)``)."""
    return (input if dtype is None else input.to(dtype)).softmax(dim)


def log_softmax(input: tg.Tensor, dim: int = -1, *, dtype: Any = None) -> tg.Tensor:
    """Log-softmax along ``dim`` (stable: shifted by the maximum), in ``dtype`` when
    given (the input is cast first)."""
    return (input if dtype is None else input.to(dtype)).log_softmax(dim)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)


def gelu(input: tg.Tensor, approximate: str = "none") -> tg.Tensor:
    """Gaussian error linear unit ``x * Φ(x)``, as PyTorch's.

    Args:
        input: Any tensor.
        approximate: ``"none"`` for the exact ``Φ(x) = (1 + erf(x / √2)) / 2``, or
            ``"tanh"`` for ``0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))``.
    """
    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (input + 0.044715 * input * input * input)
        return 0.5 * input * (1.0 + inner.tanh())
    if approximate != "none":
        raise ArgumentError(
            f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}"
        )
    return input * _normal_cdf(input)


def _normal_cdf(x: tg.Tensor) -> tg.Tensor:
    """Φ(x) = (1 + erf(x / √2)) / 2, differentiable to any order."""
    return 0.5 * (1.0 + (x * _INV_SQRT_2).erf())


def dropout(
    input: tg.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> tg.Tensor:
    """Zeroes each element with probability ``p`` and scales the rest by ``1/(1-p)``.

    The mask comes from ``tapegrad.rand``, so ``tapegrad.manual_seed`` makes it
    reproducible. Outside training (or with ``p = 0``) the input is returned as is.
    With ``inplace=True`` the result is written into ``input`` (``mul_`` by the mask).
    """
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"dropout probability has to be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input.mul_(0.0) if inplace else input * 0.0
    keep = tg.rand(*input.shape, dtype=input.dtype) < (1.0 - p)  # a constant mask
    if inplace:
        return input.mul_(keep * (1.0 / (1.0 - p)))
    return input * keep * (1.0 / (1.0 - p))


def layer_norm(
    input: tg.Tensor,
    normalized_shape: int | Sequence[int],
    weight: tg.Tensor | None = None,
    bias: tg.Tensor | None = None,
    eps: float = 1e-5,
) -> tg.Tensor:
    """Normalises over the last dimensions (mean 0, biased variance 1), then scales.

    Args:
        input: A tensor whose trailing shape is ``normalized_shape``.
        normalized_shape: The trailing dimensions to normalise over.
        weight: Optional elementwise scale of shape ``normalized_shape``.
        bias: Optional elementwise shift of shape ``normalized_shape``.
        eps: Added to the variance before the square root.
    """
    if not isinstance(input, (tg.Tensor, BatchedTensor)):
        raise DTypeError(
            f"layer_norm: input must be a Tensor, got {type(input).__name__}"
        )
    shape = (
        (normalized_shape,)
        if isinstance(normalized_shape, int)
        else tuple(normalized_shape)
    )
    trailing = tuple(input.shape[input.ndim - len(shape) :]) if shape else ()
    if len(shape) > input.ndim or trailing != shape:
        raise ShapeError(
            f"layer_norm: input {tuple(input.shape)} does not end with "
            f"normalized_shape {shape}"
        )
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    centred = input - input.mean(dim=dims, keepdim=True)
    variance = (centred * centred).mean(dim=dims, keepdim=True)
    output = centred / (variance + eps).sqrt()
    if weight is not None:
        output = output * weight
    if bias is not None:
        output = output + bias
    return output


def embedding(
    input: Any, weight: tg.Tensor, padding_idx: int | None = None
) -> tg.Tensor:
    """Rows of ``weight`` picked by integer indices.

    Args:
        input: Integer indices of any shape: a NumPy integer array, a (nested) list,
            or a float tensor holding whole numbers.
        weight: The table, shape (num_embeddings, embedding_dim).
        padding_idx: Rows at this index get no gradient (as in PyTorch).

    Returns:
        A tensor of shape ``input.shape + (embedding_dim,)``; its backward adds each
        output row's gradient into its table row.
    """
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-D, got {tuple(weight.shape)}")
    count = weight.shape[0]
    indices = as_class_indices(input, "embedding", "indices")
    bad = (indices < 0) | (indices >= count)
    if bad.any():
        raise AxisError(
            f"embedding: index {int(indices[bad][0])} is out of range for a table "
            f"of {count} rows"
        )
    flat = indices.reshape(-1)
    rows = weight[flat]
    if padding_idx is not None:
        if not -count <= padding_idx < count:
            raise AxisError(f"embedding: padding_idx {padding_idx} is out of range")
        trained = tg.tensor((flat != padding_idx % count)[:, None], dtype=weight.dtype)
        rows = tg.where(trained, rows, rows.detach())
    return rows.reshape(*indices.shape, weight.shape[1])


def one_hot(labels: Any, num_classes: int = -1, dtype: Any = None) -> tg.Tensor:
    """An int64 tensor (or ``dtype``) with a 1 at each label's class (shape
    ``labels.shape + (C,)``), as PyTorch's.

    ``num_classes=-1`` uses the largest label plus one.
    """
    indices = as_class_indices(labels, "one_hot", "labels")
    if indices.size and indices.min() < 0:
        raise AxisError(
            f"one_hot: class labels must be non-negative, got {indices.min()}"
        )
    if num_classes == -1:
        num_classes = int(indices.max()) + 1 if indices.size else 0
    if indices.size and indices.max() >= num_classes:
        raise AxisError(
            f"one_hot: label {int(indices.max())} is out of range for "
            f"{num_classes} classes"
        )
    return tg.tensor(np.eye(num_classes, dtype=np.int64)[indices], dtype=dtype)


# Convolutions, pooling, normalisation and attention (issue 14) live in their own files.
from ._functional_conv import conv1d, conv2d

__all__ += ["conv1d", "conv2d"]
from ._functional_pool import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
    pad,
)

__all__ += [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "max_pool1d",
    "max_pool2d",
    "pad",
]
from ._functional_norm import (
    batch_norm,
    dropout1d,
    dropout2d,
    group_norm,
    instance_norm,
    normalize,
)

__all__ += [
    "batch_norm",
    "dropout1d",
    "dropout2d",
    "group_norm",
    "instance_norm",
    "normalize",
]
from ._functional_attention import scaled_dot_product_attention

__all__ += ["scaled_dot_product_attention"]

from ._functional_transpose import (  # issue 14 remainder
    conv_transpose1d,
    conv_transpose2d,
    fold,
    unfold,
)
from ._functional_unpool import (
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    max_unpool1d,
    max_unpool2d,
)
from ._functional_upsample import (
    interpolate,
    pixel_shuffle,
    pixel_unshuffle,
)

__all__ += ["conv_transpose1d", "conv_transpose2d", "fold", "unfold"]
__all__ += ["adaptive_max_pool1d", "adaptive_max_pool2d", "max_unpool1d", "max_unpool2d"]
__all__ += ["interpolate", "pixel_shuffle", "pixel_unshuffle"]

from . import _functional_activations  # noqa: E402  (activations, issue 15)
from ._functional_activations import *  # noqa: E402, F403

__all__ += _functional_activations.__all__


def _check_arguments() -> None:
    """Every public functional checks that its Tensor arguments are Tensors."""
    from ._checks import tensor_arguments

    for name in __all__:
        globals()[name] = tensor_arguments(globals()[name])


_check_arguments()


def __dir__() -> list[str]:
    """Public names only (no ``np``, ``math``, ``Any``, ``annotations``...)."""
    return sorted(__all__)
