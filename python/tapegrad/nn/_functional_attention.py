"""``scaled_dot_product_attention`` of ``tapegrad.nn.functional``, as PyTorch's.

Without dropout it is one fused native primitive (``AttentionBackward``): the forward
keeps one (L, S) block at a time and saves the inputs, the output and one log-sum-exp
per query row; the backward recomputes the attention weights block by block. With
``dropout_p > 0`` it is composed from ``softmax``, ``dropout`` and two products.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad import _native
from tapegrad._errors import ArgumentError, ShapeError

__all__ = ["scaled_dot_product_attention"]


def additive_mask(mask: Any, dtype: Any, allowed_when_true: bool = True) -> tg.Tensor:
    """A mask as an additive float tensor: 0 where attention is allowed, -inf elsewhere.

    A float tapegrad tensor is taken as already additive. A boolean mask (a bool tensor, a
    NumPy bool array, or nested Python bools) allows the positions that are True (SDPA's
    convention) or, with ``allowed_when_true=False``, those that are False
    (``nn.MultiheadAttention``'s convention).
    """
    if isinstance(mask, tg.Tensor):
        if mask.dtype != tg.bool:
            return mask
        allowed_t = mask if allowed_when_true else tg.logical_not(mask)
        zero = tg.zeros(tuple(mask.shape), dtype=dtype)
        return tg.where(allowed_t, zero, tg.full(tuple(mask.shape), -np.inf, dtype=dtype))
    array = np.asarray(mask)
    if array.dtype != np.bool_:
        return tg.tensor(array.astype(np.float64), dtype=dtype)
    allowed = array if allowed_when_true else ~array
    return tg.tensor(np.where(allowed, 0.0, -np.inf), dtype=dtype)


def _broadcast(query: tg.Tensor, key: tg.Tensor, value: tg.Tensor) -> list[tg.Tensor]:
    try:
        batch = np.broadcast_shapes(
            tuple(query.shape[:-2]), tuple(key.shape[:-2]), tuple(value.shape[:-2])
        )
    except ValueError:
        raise ShapeError(
            f"scaled_dot_product_attention: the batch dimensions of query "
            f"{tuple(query.shape)}, key {tuple(key.shape)} and value "
            f"{tuple(value.shape)} do not broadcast"
        ) from None
    return [
        t if tuple(t.shape[:-2]) == batch else t.expand(*batch, *t.shape[-2:])
        for t in (query, key, value)
    ]


def scaled_dot_product_attention(
    query: tg.Tensor,
    key: tg.Tensor,
    value: tg.Tensor,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
) -> tg.Tensor:
    """``softmax(query @ key.T * scale + mask) @ value``, as PyTorch's.

    Args:
        query: (..., L, E) queries.
        key: (..., S, E) keys.
        value: (..., S, Ev) values.
        attn_mask: None; a boolean mask (NumPy bool array or nested bools, True =
            may attend) or an additive float tensor, broadcastable to (..., L, S).
            An additive tensor that requires grad gets a gradient.
        dropout_p: Dropout probability on the attention weights.
        is_causal: Mask out keys after each query (top-left aligned, as PyTorch);
            not with ``attn_mask``.
        scale: Factor on the scores; ``1/√E`` by default.

    Returns:
        The (..., L, Ev) attention output.
    """
    for name, t in (("query", query), ("key", key), ("value", value)):
        if t.ndim < 2:
            raise ShapeError(
                f"scaled_dot_product_attention: {name} must be at least 2-D, got shape "
                f"{tuple(t.shape)}"
            )
    if not 0.0 <= dropout_p <= 1.0:
        raise ArgumentError(
            f"scaled_dot_product_attention: dropout_p must be in [0, 1], got {dropout_p}"
        )
    if is_causal and attn_mask is not None:
        raise ArgumentError(
            "scaled_dot_product_attention: an explicit attn_mask should not be set "
            "when is_causal=True"
        )
    query, key, value = _broadcast(query, key, value)
    length, source = query.shape[-2], key.shape[-2]
    mask = None
    if is_causal:
        mask = additive_mask(
            np.tril(np.ones((length, source), dtype=bool)), query.dtype
        )
    elif attn_mask is not None:
        mask = additive_mask(attn_mask, query.dtype)
    factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    if dropout_p > 0.0:
        scores = (query @ key.transpose(-2, -1)) * factor
        if mask is not None:
            scores = scores + mask
        weights = tg.nn.functional.dropout(scores.softmax(-1), dropout_p, True)
        return weights @ value
    return _native._scaled_dot_product_attention(query, key, value, mask, factor)
