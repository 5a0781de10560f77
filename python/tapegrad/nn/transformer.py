"""Multi-head attention and the transformer encoder, with PyTorch's parameter names.

``MultiheadAttention`` keeps PyTorch's packed ``in_proj_weight`` (3E, E) and
``in_proj_bias`` and an ``out_proj`` Linear, so a PyTorch ``state_dict`` loads.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import tapegrad as tg
from tapegrad._errors import ArgumentError, ShapeError

from . import functional as F
from . import init
from ._functional_attention import additive_mask
from .containers import ModuleList
from .layers import Dropout, LayerNorm, Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention", "TransformerEncoder", "TransformerEncoderLayer"]


class MultiheadAttention(Module):
    """Multi-head attention, as ``torch.nn.MultiheadAttention``.

    Args:
        embed_dim: Model width E (split over the heads).
        num_heads: Number of heads (must divide E).
        dropout: Dropout on the attention weights while training.
        bias: Learn the input and output projection biases.
        batch_first: Inputs are (N, L, E) instead of (L, N, E).
        dtype: ``tapegrad.float32`` (default) or ``tapegrad.float64``.

    ``kdim``/``vdim`` other than ``embed_dim``, ``add_bias_kv`` and ``add_zero_attn``
    are not supported.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if num_heads < 1 or embed_dim % num_heads:
            raise ArgumentError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by "
                f"num_heads ({num_heads})"
            )
        if (
            add_bias_kv
            or add_zero_attn
            or kdim not in (None, embed_dim)
            or vdim not in (None, embed_dim)
        ):
            raise ArgumentError(
                "MultiheadAttention: kdim/vdim other than embed_dim, add_bias_kv and "
                "add_zero_attn are not supported"
            )
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout, self.batch_first = float(dropout), batch_first
        self.in_proj_weight = Parameter(tg.zeros(3 * embed_dim, embed_dim, dtype=dtype))
        if bias:
            self.in_proj_bias = Parameter(tg.zeros(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _project(self, x: tg.Tensor, index: int) -> tg.Tensor:
        """Projection ``index`` (q, k, v) of (N, L, E) input to (N, H, L, D)."""
        e = self.embed_dim
        weight = self.in_proj_weight[index * e : (index + 1) * e]
        bias = None
        if self.in_proj_bias is not None:
            bias = self.in_proj_bias[index * e : (index + 1) * e]
        n, length = x.shape[0], x.shape[1]
        out = F.linear(x, weight, bias).reshape(
            n, length, self.num_heads, self.head_dim
        )
        return out.transpose(1, 2)

    def _mask(
        self,
        attn_mask: Any,
        key_padding_mask: Any,
        n: int,
        length: int,
        source: int,
        dtype: Any,
    ) -> tg.Tensor | None:
        """Both masks as one additive tensor broadcasting to (N, H, L, S)."""
        mask = None
        if attn_mask is not None:
            mask = additive_mask(attn_mask, dtype, allowed_when_true=False)
            if tuple(mask.shape) == (n * self.num_heads, length, source):
                mask = mask.reshape(n, self.num_heads, length, source)
            elif tuple(mask.shape) != (length, source):
                raise ShapeError(
                    f"MultiheadAttention: attn_mask of shape {tuple(mask.shape)} should "
                    f"be ({length}, {source}) or ({n * self.num_heads}, {length}, "
                    f"{source})"
                )
        if key_padding_mask is not None:
            padding = additive_mask(key_padding_mask, dtype, allowed_when_true=False)
            if tuple(padding.shape) != (n, source):
                raise ShapeError(
                    f"MultiheadAttention: key_padding_mask of shape "
                    f"{tuple(padding.shape)} should be ({n}, {source})"
                )
            padding = padding.reshape(n, 1, 1, source)
            mask = padding if mask is None else mask + padding
        return mask

    def forward(
        self,
        query: tg.Tensor,
        key: tg.Tensor,
        value: tg.Tensor,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[tg.Tensor, tg.Tensor | None]:
        """Attends from ``query`` to ``key``/``value``.

        Boolean masks mark with True the positions that may NOT be attended
        (PyTorch's convention here); float masks are added to the scores.

        Returns:
            ``(output, weights)``: output as the query's layout; weights (N, L, S)
            averaged over heads (or (N, H, L, S)) when ``need_weights``, else None.
        """
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = (t.unsqueeze(1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = additive_mask(
                    key_padding_mask, query.dtype, allowed_when_true=False
                ).unsqueeze(0)
        elif self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if query.ndim != 3 or query.shape[-1] != self.embed_dim:
            raise ShapeError(
                f"MultiheadAttention: expected query of shape (L, N, {self.embed_dim}) "
                f"(or (N, L, E) with batch_first), got {tuple(query.shape)}"
            )
        # From here on: (L, N, E) as PyTorch; the projections work on (N, L, E).
        q, k, v = (
            self._project(t.transpose(0, 1), i)
            for i, t in enumerate((query, key, value))
        )
        n, length, source = q.shape[0], q.shape[2], k.shape[2]
        if is_causal and attn_mask is None:
            attn_mask = tg.tensor(
                [
                    [0.0 if j <= i else -math.inf for j in range(source)]
                    for i in range(length)
                ],
                dtype=q.dtype,
            )
        mask = self._mask(attn_mask, key_padding_mask, n, length, source, q.dtype)
        dropout = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
            if mask is not None:
                scores = scores + mask
            weights = scores.softmax(-1)
            out = F.dropout(weights, dropout, dropout > 0.0) @ v
            if average_attn_weights:
                weights = weights.mean(dim=1)
        else:
            out = F.scaled_dot_product_attention(q, k, v, mask, dropout)
        out = self.out_proj(out.transpose(1, 2).reshape(n, length, self.embed_dim))
        if unbatched:
            out = out.squeeze(0)
            weights = weights.squeeze(0) if weights is not None else None
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights


_ACTIVATIONS: dict[str, Callable[[tg.Tensor], tg.Tensor]] = {
    "relu": F.relu,
    "gelu": F.gelu,
}


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward block, as ``torch.nn.TransformerEncoderLayer``.

    Submodules as PyTorch's (``self_attn``, ``linear1``, ``dropout``, ``linear2``,
    ``norm1``, ``norm2``, ``dropout1``, ``dropout2``), so a ``state_dict`` loads.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[tg.Tensor], tg.Tensor] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self._args = (
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
            dtype,
        )
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ArgumentError(
                    f"TransformerEncoderLayer: activation should be relu/gelu, not "
                    f"{activation!r}"
                )
            activation = _ACTIVATIONS[activation]
        self.activation = activation
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout, bias=bias, batch_first=batch_first, dtype=dtype
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)

    def _sa_block(
        self, x: tg.Tensor, mask: Any, padding: Any, causal: bool
    ) -> tg.Tensor:
        out = self.self_attn(
            x,
            x,
            x,
            attn_mask=mask,
            key_padding_mask=padding,
            need_weights=False,
            is_causal=causal,
        )[0]
        return self.dropout1(out)

    def _ff_block(self, x: tg.Tensor) -> tg.Tensor:
        return self.dropout2(
            self.linear2(self.dropout(self.activation(self.linear1(x))))
        )

    def forward(
        self,
        src: tg.Tensor,
        src_mask: Any = None,
        src_key_padding_mask: Any = None,
        is_causal: bool = False,
    ) -> tg.Tensor:
        """One encoder layer (post-norm, or pre-norm with ``norm_first``)."""
        x = src
        if self.norm_first:
            x = x + self._sa_block(
                self.norm1(x), src_mask, src_key_padding_mask, is_causal
            )
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer`` (and an optional norm).

    The copies start with the same weights as ``encoder_layer``, as PyTorch's deep copy.
    """

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(encoder_layer, TransformerEncoderLayer):
            raise ArgumentError(
                "TransformerEncoder: encoder_layer must be a TransformerEncoderLayer"
            )
        state = encoder_layer.state_dict()
        layers = []
        for _ in range(num_layers):
            layer = TransformerEncoderLayer(*encoder_layer._args)
            layer.load_state_dict(state)
            layers.append(layer)
        self.layers = ModuleList(layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        src: tg.Tensor,
        mask: Any = None,
        src_key_padding_mask: Any = None,
        is_causal: bool | None = None,
    ) -> tg.Tensor:
        """Runs the layers in turn, then ``norm``."""
        out = src
        for layer in self.layers:
            out = layer(out, mask, src_key_padding_mask, bool(is_causal))
        return self.norm(out) if self.norm is not None else out
